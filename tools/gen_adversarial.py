#!/usr/bin/python3
"""Writes tests/data/adversarial.jsonl: texts that stress every rule of the ALBERT tokenizer.

    /usr/bin/python3 tools/gen_adversarial.py [--out tests/data/adversarial.jsonl]
    /usr/bin/python3 tools/gen_adversarial.py --sweep > sweep.jsonl

One {"text": ...} per line (JSONL, so texts may hold \\n, \\r, U+2028 and
friends). Deterministic: fixed lists, code point ranges written out here (no
dependence on the Python's Unicode database), a seeded RNG, and the vocabulary
of ../shared/models/albert-base-v2/tokenizer.json (for the Viterbi near-ties).
tests/oracle/check_tokenizer.sh feeds the file to `albertc tokenize --jsonl`
and to Hugging Face's engine (tools/hf_tokenize.js) and compares the ids.

--sweep writes, instead, every Unicode scalar value alone and between letters
("a<c>b"), 32 to a line, then the first two planes in grapheme contexts
(78,000 lines): the exhaustive per-character check. --pairs writes 4,000
pairs of the texts of the committed adversarial.jsonl ({"text", "text_pair"}).
"""
import argparse
import json
import random
import sys

SEED = 20261127

# ---------------------------------------------------------------- fixed cases
KNOWN = ["Hello World", "How are you doing?", "Hello, how are you?", "生活的真谛是", "", " ", "a"]

ACCENTED = [
    "café", "cafe\u0301", "naïve", "naı\u0308ve", "résumé", "Résumé", "RÉSUMÉ", "über", "Über", "Ångström",
    "São Paulo", "Kraków", "Łódź", "Dvořák", "Ærøskøbing", "crème brûlée", "façade", "jalapeño", "piñata",
    "Zoë", "coöperate", "Ñandú", "ǅemal", "Ǆ", "ǆ", "ĳssel", "Ĳssel", "ŉ", "ſ", "ẞ", "ß", "STRASSE", "straße",
    "ǰ", "ẖ", "ẗ", "ẘ", "ẙ", "ẚ", "ﬀ", "ﬁ", "ﬂ", "ﬃ", "ﬄ", "ﬅ", "ﬆ", "ﬁnance", "oﬃce", "Œuvre", "œuvre",
    "æther", "Æther", "Ø", "ø", "Đ", "đ", "Ħ", "ħ", "Ŧ", "ŧ", "ƀ", "ɨ", "ʉ", "Ȼ", "ȼ", "Ⱥ", "ⱥ", "Ɐ", "ɐ",
    "a\u0300\u0301\u0302\u0303\u0304", "e\u0327\u0306", "\u0301", "\u0301a", " \u0301", "\u0301 \u0301",
    "o\u0338", "=\u0338", "<\u0338", "\u2260", "\u226e", "A\u030a", "\u212b", "\u2126", "\u212a", "K",
    "ḱ", "ǵ", "ṕ", "ẁ", "ỳ", "ǹ", "Ḿ", "ǘ", "ǜ", "ǚ", "ǖ", "ȁ", "ȅ", "ȉ", "ȍ", "ȑ", "ȕ", "ṩ", "ḉ",
    "Việt Nam", "Tiếng Việt", "người", "ươ", "Ư", "ơ",
]

LIGATURES_AND_COMPAT = [
    "ﬁ", "ﬂ", "ﬀ", "ﬃ", "ﬄ", "ﬅ", "ﬆ", "ﬓ", "ﬔ", "ﬕ", "ﬖ", "ﬗ", "Ǳ", "ǲ", "ǳ", "Ǉ", "ǈ", "ǉ", "Ǌ", "ǋ",
    "ǌ", "№", "℃", "℉", "™", "℠", "℡", "㎏", "㎞", "㏄", "㍿", "㈱", "㈜", "①", "②", "⑳", "㉑", "⓪", "⒜",
    "⑴", "⒈", "Ⅰ", "Ⅻ", "ⅻ", "ↀ", "½", "¼", "¾", "⅓", "⅞", "↉", "²", "³", "¹", "⁴", "₀", "₉", "ª", "º",
    "µ", "μ", "Å", "…", "‥", "′", "″", "‴", "⁗", "‼", "⁇", "⁈", "⁉", "ſt", "ﬅ", "ℌ", "ℍ", "ℕ", "ℙ", "ℚ",
    "ℝ", "ℤ", "𝐀", "𝐚", "𝔄", "𝕬", "𝖆", "𝗔", "𝘼", "𝙖", "𝚊", "𝟎", "𝟗", "𝟘", "𝟡", "𝟬", "ℎ", "ℏ", "ı", "ȷ",
    "ℊ", "ℓ", "℘", "ℯ", "ℴ", "ℹ", "Ⓐ", "ⓐ", "🄰", "🅐", "🅰", "🄐", "ᴬ", "ᵃ", "ₐ", "ᵢ", "ⁱ", "ⁿ", "ˢ", "ˣ",
    "ǂ", "ʰ", "ʲ", "ʳ", "ʷ", "ʸ", "ˡ", "ꟸ", "ꟹ", "ꭜ", "ꭝ", "ꭞ", "ꭟ", "ﹰ", "ﻻ", "ﷺ", "ﷻ", "﷽", "ﬡ", "ﬢ",
    "ﬣ", "ﬤ", "ﬥ", "ﬦ", "ﬧ", "ﬨ", "﬩", "ﬠ", "ﭏ", "ﹼ", "ﹽ", "ﹾ", "ﹿ", "︐", "︑", "︒", "︓", "︔", "︕",
    "︖", "︗", "︘", "︙", "︰", "︱", "︲", "︳", "︴", "︵", "︶", "﹇", "﹈", "﹐", "﹑", "﹒", "﹔", "﹕", "﹖",
    "﹗", "﹘", "﹙", "﹚", "﹟", "﹠", "﹡", "﹢", "﹣", "﹤", "﹥", "﹦", "﹨", "﹩", "﹪", "﹫",
]

FULLWIDTH = (
    ["".join(chr(0xFF21 + i) for i in range(26)), "".join(chr(0xFF41 + i) for i in range(26)),
     "".join(chr(0xFF10 + i) for i in range(10)), "ＨＥＬＬＯ　ＷＯＲＬＤ", "Ｈｅｌｌｏ，　ｗｏｒｌｄ！",
     "１３，０００", "１，", "＄１，０００．００", "（括弧）", "ｈｔｔｐｓ：／／ｅｘａｍｐｌｅ．ｃｏｍ",
     "ｶﾀｶﾅ", "ﾊﾟﾋﾟﾌﾟﾍﾟﾎﾟ", "ｶﾞｷﾞ", "ﾞ", "ﾟ", "ｰ", "･", "｡", "｢｣", "､", "ￂ", "ￃ", "ￄ", "ﾡ", "ￜ", "￠", "￡",
     "￢", "￣", "￤", "￥", "￦", "￨", "￩", "￪", "￫", "￬", "￭", "￮", "＂ｑｕｏｔｅ＂", "｀｀ｑｕｏｔｅ＇＇", "＇＇"]
    + [chr(c) for c in range(0xFF01, 0xFF5F)]
)

CJK = [
    "生活的真谛是", "你好，世界！", "我的卡丢了。", "東京都", "日本語のテキスト", "ひらがな", "カタカナ", "한국어",
    "안녕하세요", "한국어 텍스트", "ㄱㄴㄷ", "ᄀᄁᄂ", "\u1100\u1161\u11a8", "각", "\u3131\u314f", "中文 English 混合",
    "中a文b", "a中", "中a", "一二三四五六七八九十", "〇", "々", "〆", "〻", "ー", "ヽヾゝゞ", "㐀", "䶵", "𠀀", "𪛖",
    "𫝀", "𰀀", "鿿", "⺀", "⼀", "⿕", "㆐", "㆑", "㆒", "㆟", "㈀", "㋿", "㍻", "㍼", "㍽", "㍾", "㌀", "㌔", "㍱",
    "「引用」", "『二重』", "【括弧】", "〔〕", "〈〉", "《》", "・", "、", "。", "〜", "～", "ฺ", "กรุงเทพ", "ภาษาไทย",
    "ພາສາລາວ", "ភាសាខ្មែរ", "မြန်မာ", "བོད་ཡིག", "ᠮᠣᠩᠭᠣᠯ", "ꡀ", "ᚠᚢᚦ", "ᛗᛁᚾ",
]

EMOJI = [
    "😀", "😀😀", "hi😀", "😀hi", "hi 😀 there", "👍", "👍🏽", "👍🏿", "👨\u200d👩\u200d👧\u200d👦", "👩\u200d💻",
    "🏳\ufe0f\u200d🌈", "🏴\u200d☠\ufe0f", "❤", "❤\ufe0f", "❤️ you", "I ❤\ufe0f NY", "☺", "☺\ufe0f", "☺\ufe0e",
    "✔", "✔\ufe0f", "1\ufe0f\u20e3", "#\ufe0f\u20e3", "*\u20e3", "5\u20e3", "🇺🇸", "🇬🇧🇫🇷", "🇦", "🏴󠁧󠁢󠁳󠁣󠁴󠁿",
    "\U000e0067\U000e0062", "🤷\u200d♀\ufe0f", "🤦🏻\u200d♂️", "🧑\u200d🤝\u200d🧑", "💳", "💳 card", "card💳",
    "🏦", "💰💰💰", "€", "€100", "£5", "$5", "¥5", "₹500", "₿", "©", "®", "™", "↔", "→", "⇒", "★", "☆", "♥",
    "♡", "♠", "✨", "🔥", "💯", "🆗", "🆘", "🈁", "🈂\ufe0f", "🉐", "🅿", "🅿\ufe0f", "Ⓜ\ufe0f", "ℹ\ufe0f",
    "\ufe0f", "\ufe0e", "\ufe0fa", "a\ufe0f", "a\ufe0fb", "\u200d", "a\u200db", "😀\u200d", "\U0001f3fb",
    "a\U0001f3fbb", "🫠", "🫶🏼", "🪿", "🥹",
]

COMBINING = [
    "a\u0300", "a\u034f", "a\u034fb", "\u034f", "a\u20dd", "a\u20ddb", "\u20e3", "a\u0489", "a\u0488b",
    "zalgo z\u0351\u0346\u0336a\u0315\u0360l\u0358g\u0362o\u0327", "a" + "\u0301" * 20,
    "हिन्दी", "नमस्ते", "क्ष", "कि", "की", "\u093f", "मैं", "ক্", "বাংলা", "தமிழ்", "తెలుగు", "ಕನ್ನಡ", "മലയാളം",
    "ગુજરાતી", "ਪੰਜਾਬੀ", "ଓଡ଼ିଆ", "සිංහල", "العربية", "مَرْحَبًا", "بِسْمِ", "\u064b", "ـ", "عـربـي", "עִבְרִית",
    "שָׁלוֹם", "\u05b0", "ܐܪܡܝܐ", "ދިވެހި", "ߒߞߏ", "Ελληνικά", "ελληνικά", "ά", "ΐ", "ΰ", "Ά", "ᾼ", "ᾳ", "ῼ",
    "ᾈ", "ᾀ", "\u0345", "\u0344", "\u0343", "\u0340", "\u0341", "\u0374", "\u037e", "\u0387", "ϐ", "ϑ",
    "ϒ", "ϓ", "ϔ", "ϕ", "ϖ", "ϰ", "ϱ", "ϲ", "ϴ", "ϵ", "Ϲ", "ẛ", "ẛ̣", "Русский", "ёлка", "ЁЛКА", "й", "Й",
    "ї", "Ї", "ў", "Ў", "ѐ", "Ѐ", "ӂ", "ӑ", "ӓ", "ӗ", "Ә", "ә", "Ӛ", "ӛ", "Ӝ", "ӝ", "ԁ", "Ꙁ", "ꙁ", "ꚜ", "ꚝ",
    "\u0903", "\u093e", "a\u0903", "a\u093e", "\u1dc0", "\u1ab0", "\u20d0", "\ufe20", "\U0001d165", "\U0001d16d",
    "\U0001e000", "\U000e0100", "a\U000e0100", "\u180b", "\u180e", "a\u180eb", "\u0f71\u0f72", "\u0f73",
    "\u0f75", "\u0f81", "ཱི", "\u1100", "\u1160", "\u11a8", "\u3164", "\uffa0", "a\u3164b", "a\uffa0b",
]

CASING = [
    "İ", "İstanbul", "İSTANBUL", "ISTANBUL", "ı", "ıi", "Iı", "i̇", "I\u0307", "ǰ", "İi", "DİYARBAKIR", "ŞEHİR",
    "ΟΔΟΣ", "ΟΔΟΣ ΟΔΟΣ", "Σ", "σ", "ς", "ΑΣ.", "ΑΣΑ", "Σa", "ΜΆΙΟΣ", "ᾈ", "ᾼ", "ῌ", "ῼ", "Ω", "Ω", "K", "Å",
    "ᏣᎳᎩ", "Ꭰ", "ꭰ", "ᏸ", "Ᏸ", "ᲐᲑᲒ", "Ა", "ა", "Ჿ", "Ⴀ", "ⴀ", "𐐀", "𐐨", "𐒰", "𐓘", "𐲀", "𐳀", "𑢠", "𑣀",
    "𖹀", "𖹠", "𞤀", "𞤢", "Ꞔ", "ꞔ", "Ꞓ", "ꞓ", "Ꞵ", "ꞵ", "Ꟑ", "ꟑ", "Ꟗ", "ꟗ", "Ꟙ", "ꟙ", "Ᶎ", "ᶎ", "Ʞ", "ʞ",
    "Ʝ", "ʝ", "Ꭓ", "ꭓ", "Ɪ", "ɪ", "Ʇ", "ʇ", "Ɡ", "ɡ", "Ɦ", "ɦ", "Ɥ", "ɥ", "Ɬ", "ɬ", "Ɜ", "ɜ", "Ȿ", "ȿ",
    "Ɀ", "ɀ", "Ɑ", "ɑ", "Ɒ", "ɒ", "Ɱ", "ɱ", "Ɽ", "ɽ", "Ⱨ", "ⱨ", "ǅ", "ǈ", "ǋ", "ǲ", "ᾈ", "ᾏ", "ᾘ", "ᾟ",
    "ᾨ", "ᾯ", "ΆΈΉΊΌΎΏ", "ϏϗϘϙ", "Ͱͱ", "Ͳͳ", "Ͷͷ", "Ϳϳ", "ꙋ", "Ꙋ", "ᲀ", "ᲁ", "ᲂ", "ᲃ", "ᲄ", "ᲅ", "ᲆ", "ᲇ",
    "ᲈ", "ẞ", "ᵹ", "Ᵹ", "ꞹ", "Ꞹ", "ꟊ", "Ꟊ", "Ꟶ", "ꟶ", "Ⓐ", "ⓐ", "🄰", "Ⅰ", "ⅰ", "ↄ", "Ↄ", "ⰰ", "Ⰰ",
    "Ⱟ", "ⱟ", "𐕰", "𐖗", "𞀰", "ꙮ", "HELLO WORLD", "hElLo WoRlD", "CamelCaseWord", "XMLHttpRequest",
]

SPACES = [
    "\t", "\n", "\r", "\r\n", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f", "\x85", "\xa0", "\u1680",
    "\u2000", "\u2001", "\u2002", "\u2003", "\u2004", "\u2005", "\u2006", "\u2007", "\u2008", "\u2009",
    "\u200a", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000", "\u200b", "\u200c", "\u200d", "\u2060",
    "\ufeff", "\u180e", "\u00ad", "\u200e", "\u200f", "\u202a", "\u202b", "\u202c", "\u202d", "\u202e",
    "\u2061", "\u2062", "\u2063", "\u2064", "\u2066", "\u2067", "\u2068", "\u2069", "\u206a", "\u206f",
    "\ufff9", "\ufffa", "\ufffb", "\ufffc", "\ufffd", "\u034f", "\u115f", "\u1160", "\u17b4", "\u17b5",
    "\x00", "\x01", "\x07", "\x08", "\x1b", "\x7f", "\x80", "\x9f", "\u2800", "\u3164", "\uffa0",
    "\U0001d159", "\U0001d173", "\U0001d17a", "\U000e0001", "\U000e0020", "\U000e007f", "\u061c", "\u070f",
    "\u08e2", "\u0600", "\u06dd", "\U000110bd", "\ufe00", "\ufe0f", "\U000f0000", "\U0010fffd", "\ue000",
    "\uf8ff", "\ufffe", "\uffff", "\U0001fffe", "\U0010ffff", "\u0378", "\u0e00", "\U000e0080",
]

DIGITS = [
    "1,000", "13,", "12,345,678", "a1,b", "1,", ",1", "1,,", "1,,2", "$1,000.00", "€1,000", "£1,000,000",
    "1,000,000,000,000", "0,", "00,", "9,9,9,9", "100,000.", "I paid 1,500, then 2,000,", "a1,", "1a,",
    "x13,y", "13,card", "13 , 14", "13 ,14", "13, 14", "1.5", "1.000,50", "3,14", "١٢٣,", "١٢٣٬٤٥٦", "१२३,",
    "１３，", "１３,", "13，", "²,", "½,", "①,", "Ⅻ,", "𝟏𝟑,", "0x1F,", "1e10,", "-1,", "+1,", "(1,)", "[1,2,3]",
    "{1,2}", "1,2,3,4,5,6,7,8,9,10", "2019,2020,2021", "12:30,", "12/31/2020,", "50%,", "#1,", "no.1,",
    "1st,", "2nd,", "3rd,", "4th,", "1,a", "1,1", "11,11", "111,111", "1111,1111", "11111,", "123456789,",
    "0,0", "00000,00000", "4,000 euros", "1,23,456", "1 000", "1\u00a0000", "1\u202f000", "1'000", "1_000",
]
DIGITS += [f"{n}," for n in range(0, 130)] + [f"▁{n}," for n in (1, 13, 42)] + [f"x{n}," for n in range(0, 30)]

QUOTES = [
    "``hello''", "``", "''", "'''", "''''", "'''''", "```", "````", "`````", "`", "'", "\"", "\"\"", "`'",
    "'`", "``''", "''``", "`` ``", "'' ''", "a``b", "a''b", "don't", "can''t", "rock 'n' roll", "'tis",
    "the `code`", "``quoted'' text", "He said ``yes''.", "`single'", "“curly”", "‘curly’", "„low“", "«guillemets»",
    "‹single›", "″", "‶", "‷", "‵", "ʻokina", "ʼ", "ˮ", "ʹ", "ʺ", "＇＇", "｀｀", "\u2018\u2018", "\u2019\u2019",
    "' '", "` `", "'\u0301'", "'\u00a0'", "''\u0301", "`\u0301`", "'" * 7, "`" * 7, "``" * 4 + "''" * 4,
]

SPECIAL = [
    "[MASK]", "[mask]", "[Mask]", "<pad>", "<PAD>", "<Pad>", "<unk>", "<UNK>", "[CLS]", "[cls]", "[SEP]", "[sep]",
    "[CLS]inside", "in[CLS]side", "inside[CLS]", "a [MASK] b", "a[MASK]b", "  [MASK]  ", "[MASK][MASK]",
    "[MASK] [MASK]", "[[MASK]]", "<pad><pad>", "<pad> <pad>", "[MASK", "MASK]", "[ MASK ]", "< pad >", "<pad",
    "pad>", "▁", "▁▁", "▁hello", "hello▁world", "▁ ▁", "[SEP][CLS]", "x[SEP]y", "x [SEP] y", "\t[MASK]\t",
    "\u00a0[MASK]\u00a0", "\u3000[MASK]", "\u200b[MASK]", "\n[MASK]\n", "[MASK]\u0301", "[MASK]'s", "<unk>s",
    "a<unk>", "[UNK]", "[PAD]", "</s>", "<s>", "<mask>", "[MASK]card", "card[MASK]", "card [MASK]card",
    "what is [MASK]?", "[CLS] hello [SEP] world [SEP]", "<pad>hello", "hello<pad>", "hello <pad> world",
    "1,[MASK]", "13,[MASK]", "[MASK]13,", "``[MASK]''", "[MASK]``", "''[MASK]", "[ＭＡＳＫ]", "［MASK］",
    "[MAS\u200bK]", "[MASK\u0301]", "<pa\u0301d>", "<PAD>s", "<PaD>", "<pAD>", "<UNK> <unk>",
]

TIES = []
for ch in "!?.,-=*#~_+:;/\\|^%&@$<>()[]{}'\"`":
    for n in range(1, 13):
        TIES.append(ch * n)
        TIES.append("card" + ch * n)
        TIES.append("CARD" + ch * n)
for n in range(1, 13):
    TIES += ["ha" * n, "lol" * n, "a" * n, "ab" * n, "x" * n + "!", "1" * n, "0" * n, "9" * n, "." * n + "a"]
TIES += ["CARD!!!!!", "card!!!!!", "CARD!!!!! please", "why?!?!?!", "...?", "?!", "!?", "--->", "<---", "<=>",
         "===>", "...", "…", "......", "!!!!!!!!!!!!!!!!!!!!", "wait...what", "a.b.c.d.e.f", "u.s.a.", "e.g.",
         "i.e.", "etc.", "Mr.", "Dr.", "vs.", "a-b-c-d", "well-known", "state-of-the-art", "re-enter", "co-op"]

LONG = [
    "a" * 200, "ab" * 150, "x" * 500, "1" * 300, "!" * 200, "supercalifragilisticexpialidocious" * 5,
    "pneumonoultramicroscopicsilicovolcanoconiosis", "https://www.example.com/path/to/some/page?query=1&x=2#frag",
    "user.name+tag@example-domain.co.uk", "#hashtag #AnotherOne @mention", "C:\\Users\\name\\file.txt",
    "/usr/local/bin/albertc", "SELECT * FROM cards WHERE id=1;", "{\"json\": [1, 2, 3]}", "<html><body></body></html>",
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore "
    "magna aliqua. " * 4, "中" * 300, "😀" * 100, "\u0301" * 100, "\u200b" * 100, " " * 300 + "a" + " " * 300,
    "word " * 200, "a\u0301" * 100, "İ" * 100, "ﬃ" * 100, "１" * 100 + "，",
]

# Pools for random mixtures: short pieces of every kind above plus plain words.
WORDS = ("my card was declined why is there a fee on my statement how do i top up transfer money account "
         "exchange rate cash withdrawal pending refund app verify identity lost stolen contactless payment "
         "apple pay google pay virtual disposable pin blocked").split()
RANDOM_RANGES = [(0x20, 0x7E), (0xA0, 0x24F), (0x250, 0x36F), (0x370, 0x52F), (0x590, 0x6FF), (0x900, 0xDFF),
                 (0x1100, 0x11FF), (0x1D00, 0x1FFF), (0x2000, 0x2BFF), (0x2E80, 0x33FF), (0x3400, 0x4DBF),
                 (0x4E00, 0x9FFF), (0xA640, 0xA7FF), (0xAC00, 0xD7A3), (0xF900, 0xFFFD), (0x10000, 0x1FAFF),
                 (0x20000, 0x2A6DF), (0xE0000, 0xE01EF), (0xF0000, 0xF00FF), (0x10FF00, 0x10FFFF)]


def engine_score(x):
    """The double Hugging Face's engine holds for a score x written to
    tokenizer.json: serde_json (without float_roundtrip) parses the shortest
    decimal as (double)significand / 10^k, two roundings, 1 ulp off x for
    about a quarter of the pieces."""
    text = repr(abs(x))
    mantissa, _, exp = text.partition("e")
    whole, _, frac = mantissa.partition(".")
    e10 = (int(exp) if exp else 0) - len(frac)
    value = float(int(whole + frac))
    value = value * float(f"1e{e10}") if e10 >= 0 else value / float(f"1e{-e10}")
    return -value if x < 0 else value


def viterbi(word, scores, max_len):
    """tokenizers' Unigram encode_optimized (first candidate wins ties); pieces only, no <unk> fusing."""
    n = len(word)
    best = [(0.0, -1)] + [None] * n
    for start in range(n):
        if best[start] is None:
            continue
        here = best[start][0]
        for end in range(start + 1, min(n, start + max_len) + 1):
            s = scores.get(word[start:end])
            if s is not None and (best[end] is None or s + here > best[end][0]):
                best[end] = (s + here, start)
    if best[n] is None:
        return None
    cuts, end = [], n
    while end > 0:
        cuts.append(end)
        end = best[end][1]
    return cuts


def near_ties(rng, want=60, tries=200000):
    """Words whose segmentation flips between the pieces' exact float scores and
    the engine's (engine_score): random short punctuation pieces around a run
    like "+++" (fast "++ +" or "+ ++", decided by the last bit of a double sum)."""
    import os
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "models",
                        "albert-base-v2", "tokenizer.json")
    with open(path, encoding="utf-8") as f:
        vocab = json.load(f)["model"]["vocab"]
    exact = {p: s for p, s in vocab}
    engine = {p: engine_score(s) for p, s in vocab}
    max_len = max(len(p) for p in exact)
    pool = sorted(p.replace("\u2581", "") for p in exact if 0 < len(p.replace("\u2581", "")) <= 3
                  and not any(c.isalnum() for c in p))
    runs = [c * n for c in sorted(set("".join(pool))) for n in range(3, 7) if c in exact and c * 2 in exact]
    found = []
    for _ in range(tries):
        word = ("".join(rng.choice(pool) for _ in range(rng.randint(0, 10))) + rng.choice(runs) +
                "".join(rng.choice(pool) for _ in range(rng.randint(0, 3))))
        w = "\u2581" + word
        if viterbi(w, exact, max_len) != viterbi(w, engine, max_len):
            found.append(word)
            if len(found) == want:
                break
    return found


def random_char(rng):
    lo, hi = rng.choice(RANDOM_RANGES)
    cp = rng.randint(lo, hi)
    return chr(cp) if not 0xD800 <= cp <= 0xDFFF else "?"


def random_mixture(rng, pools):
    parts = []
    for _ in range(rng.randint(1, 8)):
        kind = rng.random()
        if kind < 0.35:
            parts.append(rng.choice(WORDS) if rng.random() < 0.7 else rng.choice(WORDS).upper())
        elif kind < 0.75:
            parts.append(rng.choice(rng.choice(pools)))
        else:
            parts.append("".join(random_char(rng) for _ in range(rng.randint(1, 4))))
        parts.append(rng.choice(["", " ", " ", " ", "  ", "\t", "\u00a0", "\u3000", "\n", "\u200b", "\x0b"]))
    return "".join(parts)


def texts():
    rng = random.Random(SEED)
    fixed = [KNOWN, ACCENTED, LIGATURES_AND_COMPAT, FULLWIDTH, CJK, EMOJI, COMBINING, CASING, SPACES, DIGITS,
             QUOTES, SPECIAL, TIES, LONG]
    out = []
    for group in fixed:
        out += group
    # Each odd character alone, inside a word, between words, at both ends.
    for s in SPACES + COMBINING[:12] + EMOJI[:40] + QUOTES[:20] + SPECIAL[:30]:
        out += [f"a{s}b", f"a {s} b", f"{s}a", f"a{s}", f"{s}{s}", f" {s} "]
    # Every printable ASCII pair and each Latin-1 character in a word.
    printable = [chr(c) for c in range(0x20, 0x7F)]
    out += [a + b for a in printable for b in printable]
    out += [f"x{chr(c)}y" for c in range(0x80, 0x250)]
    # Whitespace of every kind around literal special tokens ([MASK] strips spaces on its left).
    for w in SPACES[:45]:
        for sp in ("[MASK]", "<pad>", "[CLS]", "<unk>"):
            out += [f"a{w}{sp}", f"a{w}{w}{sp}b", f"{sp}{w}b", f"{w}{sp}{w}", f"{sp}{w}{sp}"]
    # Viterbi ties and near-ties: random words over small alphabets of frequent pieces.
    for alphabet in ("!?.", "!.", "ab!", "-'.,", "0123456789,", "1,", "aeiou", "thersn", "x!", "ing", "(-)",
                     "\"'`", "£€$1,.", "ca rd"):
        for _ in range(150):
            out.append("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 25))))
    # Segmentations decided by the last bit of a double sum (see engine_score).
    out += ["+++", ".+$?+*+++: &($//", "((***+(?'+++()\u2013://", "**$\u20ac\u2013***+++ ,%\u20ac?'$[](];\u20ac $+$$$]:&) #",
            "**)+&***+++ +*$(*[]!'\"];", "/!!!!%[(* =-?'++%+++[]?'[+( &'++[]]; \u2013"]
    out += near_ties(random.Random(SEED + 2))
    # Random mixtures.
    pools = [ACCENTED, LIGATURES_AND_COMPAT, FULLWIDTH, CJK, EMOJI, COMBINING, CASING, SPACES, DIGITS, QUOTES,
             SPECIAL, TIES]
    out += [random_mixture(rng, pools) for _ in range(4000)]
    return out


def sweep(per_line=32):
    """Every scalar value, per_line to a line, alone and between letters; the
    words are space-separated, so each is tokenized on its own. Then the first
    two planes again in grapheme contexts (the charsmap step works on grapheme
    clusters): before U+200C (Extend) and after U+0600 (Prepend)."""
    chars = [chr(cp) for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF]
    for i in range(0, len(chars), per_line):
        group = chars[i:i + per_line]
        yield " ".join(group)
        yield " ".join(f"a{c}b" for c in group)
    chars = [c for c in chars if ord(c) < 0x20000]
    for i in range(0, len(chars), per_line):
        group = chars[i:i + per_line]
        yield " ".join(f"{c}\u200c" for c in group)
        yield " ".join(f"\u0600{c}" for c in group)


def pairs(corpus, n=4000):
    """n deterministic pairs of texts from corpus (a list of strings)."""
    rng = random.Random(SEED + 1)
    for _ in range(n):
        yield rng.choice(corpus), rng.choice(corpus)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="tests/data/adversarial.jsonl", help="the corpus written (read by --pairs)")
    ap.add_argument("--sweep", action="store_true", help="write the per-code-point sweep to stdout")
    ap.add_argument("--pairs", action="store_true", help='write {"text", "text_pair"} lines to stdout')
    ap.add_argument("--random", type=int, metavar="N", help="write N random mixtures to stdout (long runs by hand)")
    ap.add_argument("--seed", type=int, default=SEED, help="seed for --random")
    args = ap.parse_args()
    if args.random:
        rng = random.Random(args.seed)
        pools = [ACCENTED, LIGATURES_AND_COMPAT, FULLWIDTH, CJK, EMOJI, COMBINING, CASING, SPACES, DIGITS, QUOTES,
                 SPECIAL, TIES]
        for _ in range(args.random):
            sys.stdout.write(json.dumps({"text": random_mixture(rng, pools)}) + "\n")
        return
    if args.sweep:
        out = sys.stdout
        for t in sweep():
            out.write(json.dumps({"text": t}) + "\n")
        return
    if args.pairs:
        with open(args.out, encoding="utf-8") as f:
            corpus = [json.loads(line)["text"] for line in f]
        out = sys.stdout
        for a, b in pairs(corpus):
            out.write(json.dumps({"text": a, "text_pair": b}) + "\n")
        return
    with open(args.out, "w", encoding="utf-8") as f:
        for t in texts():
            f.write(json.dumps({"text": t}) + "\n")


if __name__ == "__main__":
    main()
