#!/bin/sh
# utf8proc (the C tokenizer's Unicode library) against Hugging Face's engine,
# code point by code point over all of Unicode, for the two per-character
# steps of the fast normalizer that utf8proc can stand in for:
#   lower  Lowercase (Rust's char::to_lowercase)
#   strip  NFKD then StripAccents (crate unicode-normalization-alignments)
# The differences are expected to be exactly tests/data/utf8proc_vs_hf.tsv:
# the C tokenizer must override utf8proc there. A new or missing difference
# (another utf8proc or tokenizers version) fails. Also prints how far
# Python's str.lower() (the slow tokenizer's) is from the engine's.
# Last line: "lowercase-oracle: N passed, N failed".
# UPDATE=1 rewrites the expected list from this machine's answers.
cd "$(dirname "$0")/../.." || exit 2
ORACLE=lowercase-oracle SCRIPT=check_lowercase
. tests/oracle/common.sh
CC=${CC:-cc}
EXPECTED=tests/data/utf8proc_vs_hf.tsv
need_node_tokenizers

make_tmp
# shellcheck disable=SC2046
$CC -O2 -std=c11 -Wall -Wextra -Werror tools/utf8proc_tables.c \
    $(pkg-config --cflags --libs libutf8proc) -o "$tmp/utf8proc_tables" || fail_setup "cannot build tools/utf8proc_tables.c"
node tools/hf_tokenize.js --lowercase > "$tmp/hf_lower" || fail_setup "hf_tokenize.js --lowercase failed"
node tools/hf_tokenize.js --strip-accents > "$tmp/hf_strip" || fail_setup "hf_tokenize.js --strip-accents failed"
"$tmp/utf8proc_tables" lower > "$tmp/u8_lower" || fail_setup "utf8proc_tables lower failed"
"$tmp/utf8proc_tables" strip > "$tmp/u8_strip" || fail_setup "utf8proc_tables strip failed"
"$PYTHON" tools/unicode_diffs.py "$tmp/hf_lower" "$tmp/hf_strip" "$tmp/u8_lower" "$tmp/u8_strip" > "$tmp/diffs" ||
    fail_setup "unicode_diffs.py failed"

echo "utf8proc vs HF: $(grep -c '^lower' "$tmp/diffs") lower-case differences," \
     "$(grep -c '^strip' "$tmp/diffs") NFKD+StripAccents differences (all listed in $EXPECTED)"
echo "Python str.lower() vs HF Lowercase: $("$PYTHON" tools/unicode_diffs.py --python-lower "$tmp/hf_lower") code points differ"

if [ "${UPDATE:-0}" = 1 ]; then cp "$tmp/diffs" "$EXPECTED" || exit 2; fi
sort "$EXPECTED" > "$tmp/expected"
sort "$tmp/diffs" > "$tmp/found"
comm -23 "$tmp/found" "$tmp/expected" > "$tmp/new"
comm -13 "$tmp/found" "$tmp/expected" > "$tmp/gone"
failed=$(($(wc -l < "$tmp/new") + $(wc -l < "$tmp/gone")))
passed=$(comm -12 "$tmp/found" "$tmp/expected" | wc -l)
if [ "$failed" -ne 0 ]; then
    echo "differences not in $EXPECTED (step, code point, utf8proc, HF):"
    head -n 10 "$tmp/new"
    echo "entries of $EXPECTED that no longer differ:"
    head -n 10 "$tmp/gone"
fi
echo "lowercase-oracle: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
