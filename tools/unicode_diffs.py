#!/usr/bin/python3
"""Where utf8proc's per-character Unicode answers differ from Hugging Face's engine.

    unicode_diffs.py HF_LOWER HF_STRIP U8_LOWER U8_STRIP > diffs.tsv
    unicode_diffs.py --python-lower HF_LOWER      (count of str.lower() vs HF differences)

Inputs are tables "XXXX<TAB>YYYY ZZZZ" ("-" = empty) listing the code points
each side changes (tools/hf_tokenize.js --lowercase / --strip-accents,
tools/utf8proc_tables.c lower / strip). Output: one line per difference,
"<step><TAB>XXXX<TAB><utf8proc answer><TAB><HF answer>", step "lower"
(Lowercase) or "strip" (NFKD then StripAccents). The fast tokenizer's
StripAccents and NFKD come from the crate unicode-normalization-alignments,
whose tables are older than utf8proc's; its Lowercase is Rust's std
char::to_lowercase (full mapping, newer Unicode). tests/data/utf8proc_vs_hf.tsv
holds the expected list; tests/oracle/check_lowercase.sh compares.
"""
import sys


def load(path):
    table = {}
    with open(path, encoding="ascii") as f:
        for line in f:
            cp, mapped = line.rstrip("\n").split("\t")
            table[int(cp, 16)] = mapped
    return table


def diffs(step, u8, hf):
    for cp in sorted(set(u8) | set(hf)):
        same = "%04X" % cp
        a, b = u8.get(cp, same), hf.get(cp, same)
        if a != b:
            yield f"{step}\t{cp:04X}\t{a}\t{b}"


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--python-lower":
        hf = load(sys.argv[2])
        n = 0
        for cp in range(0x110000):
            if 0xD800 <= cp <= 0xDFFF:
                continue
            c = chr(cp)
            py = " ".join("%04X" % ord(x) for x in c.lower())
            if py != hf.get(cp, "%04X" % cp):
                n += 1
        print(n)
        return
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    hf_lower, hf_strip, u8_lower, u8_strip = (load(p) for p in sys.argv[1:])
    for line in diffs("lower", u8_lower, hf_lower):
        print(line)
    for line in diffs("strip", u8_strip, hf_strip):
        print(line)


if __name__ == "__main__":
    main()
