/* The ALBERT tokenizer against answers of Hugging Face's AlbertTokenizerFast
 * (the Rust engine through npm `tokenizers`, running tokenizer.json), the
 * reader of spiece.model on malformed files, and albertc tokenize.
 * The expected ids below were produced by that engine; tests/oracle/ checks
 * whole corpora the same way. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "testutil.h"
#include "tokenizer/normalize.h"
#include "tokenizer/spiece.h"
#include "util/fileio.h"
#include "tokenizer/tokenizer.h"

static AlbertTokenizer *tok;
static TokenIds ids;

static const char *spiece(void) { return test_shared_path("models/albert-base-v2/spiece.model"); }

static void load_real(void) {
    AlbError err;
    cr_assert_eq(tokenizer_load(&tok, spiece(), &err), 0, "%s", err.msg);
}

static void teardown(void) {
    tokenizer_free(tok);
    tok = NULL;
    token_ids_free(&ids);
}

/* ids as "2 10975 126 3" */
static char *joined(const TokenIds *t) {
    static char buf[1 << 16];
    size_t o = 0;
    buf[0] = '\0';
    for (int i = 0; i < t->n && o < sizeof buf - 16; i++) o += (size_t)sprintf(buf + o, i ? " %d" : "%d", t->ids[i]);
    return buf;
}

static void expect_bytes(const char *text, size_t len, const char *want) {
    tokenizer_encode(tok, text, len, 0, &ids);
    cr_expect_str_eq(joined(&ids), want, "text \"%s\"", text);
}

static void expect(const char *text, const char *want) { expect_bytes(text, strlen(text), want); }

static void expect_pieces(const char *text, const char *want) {
    tokenizer_encode(tok, text, strlen(text), 0, &ids);
    char buf[4096] = "";
    for (int i = 0; i < ids.n; i++) {
        if (i) strcat(buf, " ");
        strcat(buf, tokenizer_piece(tok, ids.ids[i]));
    }
    cr_expect_str_eq(buf, want, "text \"%s\"", text);
}

TestSuite(tokenizer, .init = load_real, .fini = teardown, .timeout = 60);

Test(tokenizer, reference_answers) {
    expect("Hello World", "2 10975 126 3");
    expect("How are you doing?", "2 184 50 42 845 60 3");
    expect("Hello, how are you?", "2 10975 15 184 50 42 60 3");
    expect("生活的真谛是", "2 13 1 3");
}

Test(tokenizer, model_facts) {
    cr_expect_eq(tokenizer_vocab_size(tok), 30000);
    cr_expect_eq(tokenizer_cls_id(tok), 2);
    cr_expect_eq(tokenizer_sep_id(tok), 3);
    cr_expect_eq(tokenizer_pad_id(tok), 0);
    cr_expect_str_eq(tokenizer_piece(tok, 13), "\xe2\x96\x81");
    cr_expect_str_eq(tokenizer_piece(tok, 4), "[MASK]");
    cr_expect_null(tokenizer_piece(tok, 30000));
    cr_expect_null(tokenizer_piece(tok, -1));
    cr_expect_eq(strlen(tokenizer_hash(tok)), 16);
    AlbertTokenizer *again;
    AlbError err;
    cr_assert_eq(tokenizer_load(&again, spiece(), &err), 0, "%s", err.msg);
    cr_expect_str_eq(tokenizer_hash(again), tokenizer_hash(tok));
    tokenizer_free(again);
}

/* Fast scores paths in double, first candidate wins ties; slow gives "▁card !!! !!". */
Test(tokenizer, viterbi_tie_as_fast) {
    expect_pieces("CARD!!!!!", "[CLS] \xe2\x96\x81" "card !! !!! [SEP]");
    expect("CARD!!!!!", "2 2056 19015 28116 3");
    /* decided by the last bits of the scores as the engine parses them from
     * tokenizer.json ("++" "+" here; the exact float scores give "+" "++") */
    expect(".+$?+*+++: &($//", "2 13 9 2430 4403 60 2430 2483 20512 2430 45 279 5 4403 118 118 3");
}

Test(tokenizer, special_tokens_case_sensitive) {
    expect("<pad>", "2 0 3");
    expect("<PAD>", "2 13 0 3");  /* lower-cased to the vocabulary piece "<pad>" after "▁" */
    expect("[CLS]<unk><UNK>x", "2 2 1 13 1 396 3");
}

Test(tokenizer, mask_strips_whitespace_on_its_left) {
    expect("a [MASK] b", "2 21 4 334 3");
    expect("a\xe3\x80\x80 [MASK]", "2 21 4 3");
    expect("[MASK]  [MASK]x", "2 4 4 993 3");
}

Test(tokenizer, digit_comma_pieces_split) {
    expect_pieces("I paid 13, then 1,000,000.",
                  "[CLS] \xe2\x96\x81i \xe2\x96\x81paid \xe2\x96\x81" "13 , \xe2\x96\x81then \xe2\x96\x81" "1 ,000,000 . [SEP]");
    expect("I paid 13, then 1,000,000.", "2 31 2192 539 15 94 137 11623 9 3");
}

Test(tokenizer, normalization) {
    expect("``hi'' \xe2\x96\x81x", "2 13 7 1822 7 993 3");
    expect("caf\xc3\xa9 \xc4\xb0stanbul \xef\xac\x81ne \xe2\x91\xa0", "2 6241 10617 1123 137 3");
}

Test(tokenizer, empty_and_whitespace) {
    expect("", "2 3");
    expect(" \t\n ", "2 3");
}

Test(tokenizer, invalid_utf8_and_nul) {
    expect("a\xef\xbf\xbd" "b", "2 21 334 3");  /* U+FFFD maps to a space in the charsmap */
    expect("a\xff" "b", "2 21 334 3");
    expect("a\xe2\x82" "b", "2 21 334 3");
    expect_bytes("a\0b", 3, "2 21 1 220 3");
    const char junk[] = "\xc0\x80\xed\xa0\x80\xf4\x90\x80\x80\xf8\xfe";
    expect_bytes(junk, sizeof junk - 1, "2 3");
}

Test(tokenizer, one_megabyte) {
    size_t n = 1 << 20;
    char *text = malloc(n);
    /* one 1 MB word: the Viterbi pass stays linear */
    memset(text, 'a', n);
    tokenizer_encode(tok, text, n, 0, &ids);
    cr_expect_gt(ids.n, 2);
    cr_expect_eq(ids.ids[0], 2);
    cr_expect_eq(ids.ids[ids.n - 1], 3);
    /* 1 MB of "hello ": one piece per word */
    for (size_t i = 0; i < n; i++) text[i] = "hello "[i % 6];
    tokenizer_encode(tok, text, n, 0, &ids);
    cr_expect_eq(ids.n, 2 + (int)((n + 5) / 6));
    cr_expect_eq(ids.ids[1], 10975);
    /* 1 MB of arbitrary bytes: no crash, well-formed output */
    uint32_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        text[i] = (char)(x >> 16);
    }
    tokenizer_encode(tok, text, n, 0, &ids);
    cr_expect_eq(ids.ids[0], 2);
    for (int i = 0; i < ids.n; i++) cr_assert(ids.ids[i] >= 0 && ids.ids[i] < 30000);
    free(text);
}

Test(tokenizer, truncation_single) {
    const char *a = "the quick brown fox jumps over the lazy dog";
    tokenizer_encode(tok, a, strlen(a), 5, &ids);
    cr_expect_str_eq(joined(&ids), "2 14 2231 886 3");
    tokenizer_encode(tok, a, strlen(a), 10, &ids);
    cr_expect_str_eq(joined(&ids), "2 14 2231 886 2385 17659 84 14 16792 3");
    tokenizer_encode(tok, a, strlen(a), 100, &ids);
    cr_expect_str_eq(joined(&ids), "2 14 2231 886 2385 17659 84 14 16792 1952 3");
    /* as the engine (tools/hf_tokenize.js): max_length 2 keeps only the specials; 1, below them,
     * truncates nothing and only stops the text after its first piece */
    tokenizer_encode(tok, a, strlen(a), 2, &ids);
    cr_expect_str_eq(joined(&ids), "2 3");
    tokenizer_encode(tok, a, strlen(a), 1, &ids);
    cr_expect_str_eq(joined(&ids), "2 14 3");
}

Test(tokenizer, pair_longest_first) {
    const char *a = "the quick brown fox jumps over the lazy dog", *b = "hello world how are you";
    static const struct {
        int max;
        const char *ab, *ab_types, *ba;
    } cases[] = {
        /* below the 3 specials the engine truncates nothing (each text stops early); at 3 only they remain */
        {1, "2 14 3 10975 3", "0 0 0 1 1", "2 10975 3 14 3"},
        {2, "2 14 2231 3 10975 126 3", "0 0 0 0 1 1 1", "2 10975 126 3 14 2231 3"},
        {3, "2 3 3", "0 0 1", "2 3 3"},
        {5, "2 14 3 10975 3", "0 0 0 1 1", "2 10975 3 14 3"},
        {8, "2 14 2231 886 3 10975 126 3", "0 0 0 0 0 1 1 1", "2 10975 126 3 14 2231 886 3"},
        {10, "2 14 2231 886 2385 3 10975 126 184 3", "0 0 0 0 0 0 1 1 1 1", "2 10975 126 184 3 14 2231 886 2385 3"},
        {12, "2 14 2231 886 2385 17659 3 10975 126 184 50 3", NULL, "2 10975 126 184 50 3 14 2231 886 2385 17659 3"},
        {15, "2 14 2231 886 2385 17659 84 14 3 10975 126 184 50 42 3", NULL,
         "2 10975 126 184 50 42 3 14 2231 886 2385 17659 84 14 3"},
        {100, "2 14 2231 886 2385 17659 84 14 16792 1952 3 10975 126 184 50 42 3", "0 0 0 0 0 0 0 0 0 0 0 1 1 1 1 1 1",
         "2 10975 126 184 50 42 3 14 2231 886 2385 17659 84 14 16792 1952 3"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tokenizer_encode_pair(tok, a, strlen(a), b, strlen(b), cases[i].max, &ids);
        cr_expect_str_eq(joined(&ids), cases[i].ab, "max_length %d", cases[i].max);
        if (cases[i].ab_types) {
            TokenIds types = {.ids = ids.type_ids, .n = ids.n};
            cr_expect_str_eq(joined(&types), cases[i].ab_types, "max_length %d", cases[i].max);
        }
        tokenizer_encode_pair(tok, b, strlen(b), a, strlen(a), cases[i].max, &ids);
        cr_expect_str_eq(joined(&ids), cases[i].ba, "max_length %d (swapped)", cases[i].max);
    }
}

/* Spans (tokenizer_encode_spans) as the engine's byte offsets, cases read
 * off the oracle (tools/hf_tokenize.js, offsets in bytes; tests/oracle checks
 * every corpus): "start-end" per id, [CLS] and [SEP] 0-0. */
static void expect_spans(const char *text, const char *want) {
    size_t len = strlen(text);
    tokenizer_encode_spans(tok, text, len, 0, &ids);
    char got[1024];
    size_t o = 0;
    for (int i = 0; i < ids.n && o < sizeof got - 32; i++)
        o += (size_t)sprintf(got + o, i ? " %d-%d" : "%d-%d", ids.spans[i].start, ids.spans[i].end);
    cr_expect_str_eq(got, want, "text \"%s\"", text);
    /* the same ids as tokenizer_encode */
    TokenIds plain = {0};
    tokenizer_encode(tok, text, len, 0, &plain);
    cr_expect_eq(plain.n, ids.n);
    cr_expect_arr_eq(plain.ids, ids.ids, sizeof(int32_t) * (size_t)ids.n);
    token_ids_free(&plain);
}

Test(tokenizer, spans_follow_the_engine, .init = load_real, .fini = teardown) {
    /* é -> e + U+0301 (stripped): the e covers é; ’ (no piece) is <unk>; ﬁ -> fi
     * covers ﬁ; '' -> " covers the second quote; each word's "▁" covers its first character */
    expect_spans("caf\xc3\xa9\xe2\x80\x99s \xef\xac\x81ne ''quoted'' x", "0-0 0-5 5-8 8-9 10-15 17-18 17-18 18-21 21-24 25-26 27-28 0-0");
    /* ½ -> 1⁄2 (three pieces, each the whole ½), ㎏ -> kg, Ǆ -> dz (NFKD, caron
     * stripped, lower-cased): "▁" and "d" cover Ǆ, "za" reaches into the a */
    expect_spans("x \xc2\xbd \xe3\x8e\x8f \xc7\x84" "a", "0-0 0-1 2-4 2-4 2-4 5-8 9-11 9-11 9-12 0-0");
    /* "▁" alone, then the CJK run, then a word after it */
    expect_spans("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e test", "0-0 0-3 0-9 10-14 0-0");
    /* combining marks stripped inside a word: the token still ends past them */
    expect_spans("a\xcc\x81\xcc\x81" "b \xc3\xb1", "0-0 0-6 7-9 7-9 0-0");
    /* the charsmap deletes U+0001: first in the text, the engine records no
     * removal and every later character takes the span of the one before it */
    expect_spans("\x01" "ab cd", "0-0 0-2 3-5 0-0");
    expect_spans("x \x01\x01" "ab", "0-0 0-1 4-6 0-0");
    /* special tokens written in the text: their own bytes, [MASK] with the
     * whitespace it strips; <unk> between letters */
    expect_spans("[MASK]  a<unk>b [CLS]", "0-0 0-6 8-9 9-14 14-15 16-21 0-0");
    expect_spans("  [MASK]", "0-0 0-8 0-0");
    /* invalid bytes become U+FFFD (3 bytes, a space to the charsmap): spans
     * still count the input's bytes */
    expect_spans("a\xff\xfe" "bc", "0-0 0-1 3-5 0-0");
    expect_spans("", "0-0 0-0");
}

/* n copies of `word` joined by spaces: one id each ("hello" 10975, "world" 126). */
static char *repeat_word(const char *word, int n) {
    size_t len = strlen(word);
    char *s = malloc((len + 1) * (size_t)n + 1);
    cr_assert(s);
    s[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (i) strcat(s, " ");
        strcat(s, word);
    }
    return s;
}

/* How many ids of A and of B survive truncate_encodings' LongestFirst, as
 * the engine answered for "hello" x n1 and "world" x n2 (budget = max - 3):
 * odd and even budgets, ties (B gets the odd id), one side within half the
 * budget (kept whole), and sides longer than max_length (counted as max_length
 * ids, since the engine stops tokenizing there: 9 vs 6 is a tie at max 6). */
Test(tokenizer, pair_truncation_lengths) {
    static const struct {
        int max, n1, n2, k1, k2;
    } cases[] = {
        {6, 0, 0, 0, 0},    {6, 3, 0, 3, 0},   {6, 5, 0, 3, 0},    {6, 2, 2, 1, 2},   {6, 3, 3, 1, 2},
        {6, 4, 4, 1, 2},    {6, 5, 4, 2, 1},   {6, 4, 5, 1, 2},    {6, 8, 5, 2, 1},   {6, 9, 6, 1, 2},
        {6, 6, 9, 1, 2},    {6, 1, 8, 1, 2},   {6, 8, 1, 2, 1},    {10, 7, 6, 4, 3},  {10, 6, 7, 3, 4},
        {10, 10, 10, 3, 4}, {10, 11, 10, 3, 4}, {10, 12, 9, 4, 3}, {10, 12, 10, 3, 4}, {10, 2, 8, 2, 5},
        {10, 3, 5, 3, 4},   {10, 4, 4, 3, 4},  {10, 20, 3, 4, 3},  {7, 5, 4, 2, 2},   {7, 8, 1, 3, 1},
        {7, 1, 1, 1, 1},    {7, 6, 6, 2, 2},   {9, 9, 8, 3, 3},    {3, 2, 2, 0, 0},   {3, 0, 5, 0, 0},
        {4, 3, 3, 0, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *a = repeat_word("hello", cases[i].n1), *b = repeat_word("world", cases[i].n2);
        tokenizer_encode_pair(tok, a, strlen(a), b, strlen(b), cases[i].max, &ids);
        int k1 = cases[i].k1, k2 = cases[i].k2, ok = ids.n == k1 + k2 + 3;
        for (int j = 0; ok && j < ids.n; j++) {
            int want = j == 0 ? 2 : j <= k1 ? 10975 : j == k1 + 1 || j == ids.n - 1 ? 3 : 126;
            ok = ids.ids[j] == want && ids.type_ids[j] == (j > k1 + 1);
        }
        cr_expect(ok, "max_length %d, %d + %d ids: want %d + %d, got %s", cases[i].max, cases[i].n1, cases[i].n2, k1,
                  k2, joined(&ids));
        free(a);
        free(b);
    }
}

/* Pairs from the oracle's corpus (tests/oracle, --max-length 6 and 10) where
 * the stopping point, not the full length, decides which side is longer:
 * the engine stops a text after the first piece that brings it to max_length
 * ids. A (one word, 12 ids) is longer than B (13 ids, but 8 at the end of
 * "```````Ә") at max 6 and 8; ".....a" (7 ids, one word) beats B's 6 at
 * "card". Special tokens count but are no stopping point. */
Test(tokenizer, pair_truncation_stops_early) {
    static const struct {
        const char *a, *b;
        int max;
        const char *ids;
    } cases[] = {
        {"aiieuoauoaaiuioeoauue", "x15,\u00a0```````\u04d8 why\u00a0appleREFUND\n\u205f\nexchange\u200b", 6,
         "2 21 49 3 993 3"},
        {"aiieuoauoaaiuioeoauue", "x15,\u00a0```````\u04d8 why\u00a0appleREFUND\n\u205f\nexchange\u200b", 8,
         "2 21 49 660 3 993 1193 3"},
        {"aiieuoauoaaiuioeoauue", "x15,\u00a0```````\u04d8 why\u00a0appleREFUND\n\u205f\nexchange\u200b", 10,
         "2 21 49 660 3 993 1193 15 13 3"},
        {"aiieuoauoaaiuioeoauue", "x15,\u00a0```````\u04d8 why\u00a0appleREFUND\n\u205f\nexchange\u200b", 14,
         "2 21 49 660 13324 1346 3 993 1193 15 13 7 7 3"},
        {".....a", "card!!!!!\u3000CASH DISPOSABLE\u3000card\n\u11dd\t\u09ac\u09be\u0982\u09b2\u09be\u00a0", 6,
         "2 13 9 3 2056 3"},
        /* 6 ids at the 4th "hello" (the [MASK]s count): a tie with B */
        {"[MASK] [MASK] hello hello hello hello hello", "world world world world world world", 6, "2 4 3 126 126 3"},
        /* no stop at the [MASK] (6th id): A is 7 against B's 6 */
        {"hello hello hello hello hello [MASK] hello", "world world world world world world world world", 6,
         "2 10975 10975 3 126 3"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *a = cases[i].a, *b = cases[i].b;
        tokenizer_encode_pair(tok, a, strlen(a), b, strlen(b), cases[i].max, &ids);
        cr_expect_str_eq(joined(&ids), cases[i].ids, "case %zu, max_length %d", i, cases[i].max);
    }
}

Test(tokenizer, decode) {
    static const int32_t hello[] = {2, 10975, 126, 3}, odd[] = {13, 1, 10975, 4, 99999};
    char *s = tokenizer_decode(tok, hello, 4, 1);
    cr_expect_str_eq(s, "hello world");
    free(s);
    s = tokenizer_decode(tok, hello, 4, 0);
    cr_expect_str_eq(s, "[CLS] hello world[SEP]");
    free(s);
    s = tokenizer_decode(tok, odd, 5, 1);
    cr_expect_str_eq(s, " hello");
    free(s);
    s = tokenizer_decode(tok, odd, 5, 0);
    cr_expect_str_eq(s, "<unk> hello[MASK]");
    free(s);
    s = tokenizer_decode(tok, odd, 0, 0);
    cr_expect_str_eq(s, "");
    free(s);
}

/* normalize.c applies NFKD per character without canonical reordering; that
 * is exact only if every character with a combining class is a mark
 * (StripAccents deletes marks right after). */
Test(tokenizer, combining_class_implies_mark) {
    for (int32_t cp = 0; cp < 0x110000; cp++) {
        const utf8proc_property_t *p = utf8proc_get_property(cp);
        if (!p->combining_class) continue;
        cr_assert(p->category == UTF8PROC_CATEGORY_MN || p->category == UTF8PROC_CATEGORY_MC ||
                      p->category == UTF8PROC_CATEGORY_ME,
                  "U+%04X", cp);
    }
}

Test(tokenizer, lowercase_and_strip_fixes) {
    TextBuf out = {0};
    normalize_chars("\xc4\xb0", 2, &out, NULL);  /* U+0130 -> i, its dot stripped by NFKD first */
    cr_expect_str_eq(out.data, "i");
    out.len = 0;
    normalize_chars("\xea\x9f\x8b", 3, &out, NULL);  /* U+A7CB (Unicode 16) -> U+0264 as Rust lower-cases */
    cr_expect_str_eq(out.data, "\xc9\xa4");
    out.len = 0;
    normalize_chars("\xdf\xbd", 2, &out, NULL);  /* U+07FD: not a mark in the engine's older tables */
    cr_expect_str_eq(out.data, "\xdf\xbd");
    textbuf_free(&out);
}

/* The charsmap runs per grapheme cluster: a cluster under 6 bytes whose
 * first character has a rule is replaced whole (U+200C -> " " swallows the
 * U+07FD that extends it); otherwise each character maps alone. */
Test(tokenizer, precompiled_per_cluster) {
    char *data;
    size_t len;
    AlbError err;
    SpmModel m;
    Charsmap c;
    TextBuf out = {0};
    cr_assert_eq(alb_read_file(spiece(), &data, &len, &err), 0, "%s", err.msg);
    cr_assert_eq(spm_parse(&m, (const uint8_t *)data, len, spiece(), &err), 0, "%s", err.msg);
    cr_assert_eq(charsmap_init(&c, m.charsmap, m.charsmap_len, spiece(), &err), 0, "%s", err.msg);
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"\xe2\x80\x8c\xdf\xbd", " "},                 /* U+200C U+07FD: one cluster, replaced whole */
        {"a\xe2\x80\x8c\xdf\xbd", "a \xdf\xbd"},       /* a U+200C U+07FD: 6 bytes, per character */
        {"\xe2\x81\xa5\xe2\x80\x8c\xdf\xbd", "\xe2\x81\xa5 "}, /* unassigned U+2065 is Control: a break */
        {"x\r\ny\x0bz\t\xe2\x96\x81", "x yz  "},         /* CR LF one cluster; \v deleted; U+2581 -> space */
        {"\xef\xbf\xbd\xe2\x80\x8b", "  "},              /* U+FFFD, U+200B -> spaces */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        out.len = 0;
        normalize_precompiled(&c, cases[i].in, strlen(cases[i].in), &out, NULL, NULL);
        cr_expect_str_eq(out.data, cases[i].want, "case %zu", i);
    }
    textbuf_free(&out);
    charsmap_free(&c);
    spm_free(&m);
    free(data);
}

/* unicode_fixes.h is generated from the oracle's table of utf8proc-vs-engine
 * differences (tests/oracle/check_lowercase.sh keeps that table current). */
Test(tokenizer, unicode_fixes_are_current) {
    char *out, *err;
    int rc = test_run("/usr/bin/python3 tools/gen_unicode_fixes.py | cmp - src/tokenizer/unicode_fixes.h", &out, &err);
    cr_expect_eq(rc, 0, "src/tokenizer/unicode_fixes.h is stale: run tools/gen_unicode_fixes.py (%s%s)", out, err);
    free(out);
    free(err);
}

/* ---- synthetic models: a protobuf writer for the few fields we need ---- */

typedef struct {
    uint8_t b[8192];
    size_t n;
} Pb;

static void pb_varint(Pb *p, uint64_t v) {
    do {
        p->b[p->n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
}
static void pb_key(Pb *p, int field, int wire) { pb_varint(p, (uint64_t)field << 3 | (uint64_t)wire); }
static void pb_bytes(Pb *p, int field, const void *s, size_t n) {
    pb_key(p, field, 2);
    pb_varint(p, n);
    memcpy(p->b + p->n, s, n);
    p->n += n;
}
static void pb_piece(Pb *p, const char *text, float score, int type) {
    Pb m = {.n = 0};
    pb_bytes(&m, 1, text, strlen(text));
    pb_key(&m, 2, 5);
    memcpy(m.b + m.n, &score, 4);
    m.n += 4;
    pb_key(&m, 3, 0);
    pb_varint(&m, (uint64_t)type);
    pb_bytes(p, 1, m.b, m.n);
}

typedef struct {
    const char *text;
    float score;
} SynthPiece;

/* pieces, then trainer_spec {model_type, unk_id, byte_fallback}; no charsmap */
static char *write_model(const char *dir, const SynthPiece *pieces, int n, int model_type, int byte_fallback,
                         const Pb *extra) {
    Pb p = {.n = 0}, t = {.n = 0};
    for (int i = 0; i < n; i++) pb_piece(&p, pieces[i].text, pieces[i].score, i < 3 ? 3 : 1);
    pb_key(&t, 3, 0), pb_varint(&t, (uint64_t)model_type);
    pb_key(&t, 35, 0), pb_varint(&t, (uint64_t)byte_fallback);
    pb_key(&t, 40, 0), pb_varint(&t, 0);
    pb_key(&t, 42, 0), pb_varint(&t, (uint64_t)-1);  /* negative int32: 10 bytes */
    pb_bytes(&p, 2, t.b, t.n);
    if (extra) memcpy(p.b + p.n, extra->b, extra->n), p.n += extra->n;
    char *path = malloc(strlen(dir) + 32);
    sprintf(path, "%s/spiece.model", dir);
    test_write_file(path, p.b, p.n);
    return path;
}

static const SynthPiece small_vocab[] = {
    {"<unk>", 0}, {"[CLS]", 0}, {"[SEP]", 0}, {"\xe2\x96\x81", -1}, {"\xe2\x96\x81" "ab", -2}, {"\xe2\x96\x81" "a", -1},
    {"b", -1}, {"<0x78>", -5}, {"\xe2\x96\x81" "7,", -1}, {"\xe2\x96\x81" "7", -3}, {",", -3},
};

static AlbertTokenizer *load_synth(const char *dir, int byte_fallback) {
    char *path = write_model(dir, small_vocab, sizeof small_vocab / sizeof small_vocab[0], 1, byte_fallback, NULL);
    AlbertTokenizer *t;
    AlbError err;
    cr_assert_eq(tokenizer_load(&t, path, &err), 0, "%s", err.msg);
    free(path);
    return t;
}

Test(tokenizer, synthetic_model_viterbi) {
    char *dir = test_mkdtemp();
    tokenizer_free(tok);
    tok = load_synth(dir, 0);
    cr_expect_eq(tokenizer_vocab_size(tok), 11);
    /* "▁ab" (-2) ties "▁a" "b" (-1 -1): the first candidate, "▁ab", stays */
    expect("ab", "1 4 2");
    /* no pieces for x, y, z: one fused <unk> after "▁" */
    expect("xyz", "1 3 0 2");
    expect("AB xYz b", "1 4 3 0 3 6 2");
    /* "▁7," (-1) loses 100 as a digit-comma piece: "▁7" "," (-6) wins */
    expect("7,", "1 9 10 2");
    test_rmtree(dir);
    free(dir);
}

Test(tokenizer, synthetic_model_byte_fallback) {
    char *dir = test_mkdtemp();
    tokenizer_free(tok);
    tok = load_synth(dir, 1);
    expect("x", "1 3 7 2");   /* <0x78> */
    expect("xy", "1 3 0 2");  /* no <0x79>: <unk> */
    test_rmtree(dir);
    free(dir);
}

static void expect_load_error(const char *path, const char *needle) {
    AlbertTokenizer *t = NULL;
    AlbError err = {{0}};
    cr_expect_eq(tokenizer_load(&t, path, &err), -1, "%s loaded", path);
    cr_expect_null(t);
    cr_expect(strstr(err.msg, path) != NULL, "message does not name the file: %s", err.msg);
    cr_expect(strstr(err.msg, needle) != NULL, "message lacks \"%s\": %s", needle, err.msg);
}

Test(tokenizer, rejects_bpe_and_missing_pieces) {
    char *dir = test_mkdtemp();
    char *path = write_model(dir, small_vocab, 11, 2, 0, NULL);
    expect_load_error(path, "BPE");
    free(path);
    path = write_model(dir, small_vocab, 1, 1, 0, NULL);
    expect_load_error(path, "[CLS]");
    free(path);
    path = write_model(dir, small_vocab, 0, 1, 0, NULL);
    expect_load_error(path, "no pieces");
    free(path);
    test_rmtree(dir);
    free(dir);
}

Test(tokenizer, skips_unknown_fields_of_every_wire_type) {
    char *dir = test_mkdtemp();
    Pb extra = {.n = 0};
    pb_key(&extra, 9, 0), pb_varint(&extra, 300);
    pb_key(&extra, 10, 1), memset(extra.b + extra.n, 7, 8), extra.n += 8;
    pb_key(&extra, 11, 5), memset(extra.b + extra.n, 7, 4), extra.n += 4;
    pb_bytes(&extra, 12, "zz", 2);
    pb_key(&extra, 13, 3), pb_key(&extra, 1, 0), pb_varint(&extra, 1), pb_key(&extra, 13, 4);
    char *path = write_model(dir, small_vocab, 11, 1, 0, &extra);
    AlbertTokenizer *t;
    AlbError err;
    cr_expect_eq(tokenizer_load(&t, path, &err), 0, "%s", err.msg);
    tokenizer_free(t);
    free(path);
    /* wire type 7 does not exist; a group must end with its own field number */
    Pb bad = {.n = 0};
    pb_key(&bad, 9, 7);
    path = write_model(dir, small_vocab, 11, 1, 0, &bad);
    expect_load_error(path, "wire type");
    free(path);
    bad.n = 0;
    pb_key(&bad, 13, 3), pb_key(&bad, 14, 4);
    path = write_model(dir, small_vocab, 11, 1, 0, &bad);
    expect_load_error(path, "group");
    free(path);
    test_rmtree(dir);
    free(dir);
}

Test(tokenizer, rejects_truncated_and_garbage_files) {
    char *data;
    size_t len;
    AlbError err;
    FILE *fp = fopen(spiece(), "rb");
    cr_assert(fp);
    fseek(fp, 0, SEEK_END);
    len = (size_t)ftell(fp);
    fseek(fp, 0, SEEK_SET);
    data = malloc(len);
    cr_assert_eq(fread(data, 1, len, fp), len);
    fclose(fp);
    char *dir = test_mkdtemp();
    char path[4200];
    snprintf(path, sizeof path, "%s/spiece.model", dir);
    /* cut inside the normalizer_spec (the last field) */
    test_write_file(path, data, len - 10);
    expect_load_error(path, "truncated");
    /* cut inside the first piece */
    test_write_file(path, data, 5);
    expect_load_error(path, "truncated");
    /* any prefix fails cleanly or loads (a cut between pieces is a valid, smaller model) */
    for (size_t cut = 0; cut < len; cut += 7919) {
        test_write_file(path, data, cut);
        AlbertTokenizer *t = NULL;
        if (tokenizer_load(&t, path, &err) == 0) tokenizer_free(t);
        else cr_expect(strstr(err.msg, path) != NULL, "%s", err.msg);
    }
    test_write_file(path, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 11);
    expect_load_error(path, "varint");
    expect_load_error("/nonexistent/spiece.model", "/nonexistent/spiece.model");
    free(data);
    test_rmtree(dir);
    free(dir);
}

/* ---- albertc tokenize ---- */

static int run_cli(const char *args, const char *input, char **out, char **err) {
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "printf '%s' | %s tokenize %s", input, test_albertc(), args);
    return test_run(cmd, out, err);
}

Test(tokenizer, cli_lines) {
    char *out, *err, args[4200];
    snprintf(args, sizeof args, "--model %s", spiece());
    cr_assert_eq(run_cli(args, "Hello World\\r\\nHow are you doing?\\n\\nCARD!!!!!", &out, &err), 0, "%s", err);
    cr_expect_str_eq(out, "2 10975 126 3\n2 184 50 42 845 60 3\n2 3\n2 2056 19015 28116 3\n");
    free(out), free(err);
    snprintf(args, sizeof args, "--model %s --pieces --max-length 4", test_shared_path("models/albert-base-v2"));
    cr_assert_eq(run_cli(args, "How are you doing?\\n", &out, &err), 0, "%s", err);
    cr_expect_str_eq(out, "[CLS] \xe2\x96\x81how \xe2\x96\x81" "are [SEP]\n");
    free(out), free(err);
    snprintf(args, sizeof args, "--model %s --text 'Hello World'", spiece());
    cr_assert_eq(run_cli(args, "", &out, &err), 0, "%s", err);
    cr_expect_str_eq(out, "2 10975 126 3\n");
    free(out), free(err);
}

Test(tokenizer, cli_jsonl) {
    char *out, *err, args[4200];
    snprintf(args, sizeof args, "--model %s --jsonl", spiece());
    cr_assert_eq(run_cli(args, "{\"text\": \"Hello World\"}\\n{\"text\": \"a\\\\u0000b\", \"text_pair\": \"x\"}\\n", &out, &err),
                 0, "%s", err);
    cr_expect_str_eq(out,
                     "{\"input_ids\": [2, 10975, 126, 3], \"attention_mask\": [1, 1, 1, 1]}\n"
                     "{\"input_ids\": [2, 21, 1, 220, 3, 993, 3], \"token_type_ids\": [0, 0, 0, 0, 0, 1, 1], "
                     "\"attention_mask\": [1, 1, 1, 1, 1, 1, 1]}\n");
    free(out), free(err);
    cr_expect_eq(run_cli(args, "{\"text\": \"ok\"}\\n{\"text\": 3}\\n", &out, &err), 1);
    cr_expect(strstr(err, "stdin:2:") != NULL, "%s", err);
    free(out), free(err);
    cr_expect_eq(run_cli(args, "{\"text\": \"ok\"}\\nnot json\\n", &out, &err), 1);
    cr_expect(strstr(err, "stdin:2: invalid JSON") != NULL, "%s", err);
    free(out), free(err);
}

Test(tokenizer, cli_errors) {
    char *out, *err;
    cr_expect_eq(run_cli("--model /nonexistent/spiece.model.d", "", &out, &err), 2);
    cr_expect(strstr(err, "albertc tokenize: ") != NULL, "%s", err);
    free(out), free(err);
    cr_expect_eq(run_cli("", "", &out, &err), 2);
    cr_expect(strstr(err, "--model") != NULL, "%s", err);
    free(out), free(err);
    cr_expect_eq(run_cli("--help", "", &out, &err), 0);
    cr_expect(strstr(out, "Usage: albertc tokenize") != NULL, "%s", out);
    free(out), free(err);
    /* a model file that exists but is corrupt is a failure while running, not bad usage */
    char *dir = test_mkdtemp(), path[4200], args[4300];
    snprintf(path, sizeof path, "%s/spiece.model", dir);
    test_write_file(path, "\x0a\x40short", 7);
    snprintf(args, sizeof args, "--model %s --text hi", path);
    cr_expect_eq(run_cli(args, "", &out, &err), 1);
    cr_expect(strstr(err, path) != NULL && strchr(err, '\n') == err + strlen(err) - 1, "%s", err);
    free(out), free(err);
    /* a read error on stdin (a directory) is an error, not an empty input */
    for (int jsonl = 0; jsonl < 2; jsonl++) {
        char cmd[4400];
        snprintf(cmd, sizeof cmd, "%s tokenize --model %s %s < %s", test_albertc(), spiece(), jsonl ? "--jsonl" : "",
                 dir);
        cr_expect_eq(test_run(cmd, &out, &err), 1, "%s", cmd);
        cr_expect_str_eq(err, "albertc tokenize: stdin: read error: Is a directory\n");
        cr_expect_str_eq(out, "");
        free(out), free(err);
    }
    test_rmtree(dir);
    free(dir);
}
