#!/bin/sh
# albertc tokenize against Hugging Face's engine (AlbertTokenizerFast's Rust
# core via npm `tokenizers`, tools/hf_tokenize.js, running tokenizer.json) on
#   - every Banking77 text (train + test: 13,083),
#   - tests/data/adversarial.jsonl (tools/gen_adversarial.py),
#   - every Unicode scalar value alone, between letters and in grapheme
#     contexts (gen_adversarial.py --sweep),
#   - 4,000 pairs of adversarial texts (--pairs: [CLS] a [SEP] b [SEP], type ids),
#   - Banking77, adversarial and pairs again truncated (--max-length 16, 12, 6/10/20),
#     and below or at the special tokens' count (adversarial 1/2, pairs 1/2/3),
#   - Banking77, adversarial and the sweep again with --offsets: each id's
#     byte offsets in the text (tokenizer_encode_spans, TEI's /tokenize
#     start/stop) against the engine's offsets.
# Prints the first differences of each corpus and, last, exactly
# "tokenizer-oracle: N passed, N failed"; exits 1 when any text differs.
# Needs: node, `npm ci --prefix tools`, $ALBERTC (default build/albertc), $PYTHON.
cd "$(dirname "$0")/../.." || exit 2
ORACLE=tokenizer-oracle SCRIPT=check_tokenizer
. tests/oracle/common.sh
SHOW=${SHOW:-5}
need_node_tokenizers
need_albertc

make_tmp
cat "$DATA/train.jsonl" "$DATA/test.jsonl" > "$tmp/banking77.jsonl" || fail_setup "cannot read $DATA"
cp tests/data/adversarial.jsonl "$tmp/adversarial.jsonl" || fail_setup "cannot read tests/data/adversarial.jsonl"
"$PYTHON" tools/gen_adversarial.py --sweep > "$tmp/sweep.jsonl" || fail_setup "gen_adversarial.py --sweep failed"
"$PYTHON" tools/gen_adversarial.py --pairs > "$tmp/pairs.jsonl" || fail_setup "gen_adversarial.py --pairs failed"

passed=0
failed=0
# check NAME INPUT MAX_LENGTH [--offsets]: one corpus through both, counts added to the totals.
check() {
    name=$1 in=$2 max=$3 offsets=${4:-}
    timeout 600 "$ALBERTC" tokenize --model "$MODEL" --jsonl --max-length "$max" $offsets < "$in" \
        > "$tmp/$name.got" 2> "$tmp/$name.err"
    rc=$?
    node tools/hf_tokenize.js --max-length "$max" --compare "$tmp/$name.got" --show "$SHOW" < "$in" > "$tmp/$name.cmp"
    counts=$(tail -n 1 "$tmp/$name.cmp")
    p=${counts% *}
    f=${counts#* }
    case "$p$f" in *[!0-9]*|"") fail_setup "$name: hf_tokenize.js failed: $counts" ;; esac
    if [ "$rc" -ne 0 ]; then
        echo "$name: albertc tokenize exited $rc: $(head -c 300 "$tmp/$name.err")"
        [ "$f" -eq 0 ] && f=1
    fi
    echo "$name: $p passed, $f failed"
    if [ "$f" -ne 0 ]; then sed '$d' "$tmp/$name.cmp"; fi
    passed=$((passed + p))
    failed=$((failed + f))
}
check banking77 "$tmp/banking77.jsonl" 0
check adversarial "$tmp/adversarial.jsonl" 0
check sweep "$tmp/sweep.jsonl" 0
check pairs "$tmp/pairs.jsonl" 0
check banking77-max16 "$tmp/banking77.jsonl" 16
check adversarial-max12 "$tmp/adversarial.jsonl" 12
check pairs-max6 "$tmp/pairs.jsonl" 6
check pairs-max10 "$tmp/pairs.jsonl" 10
check pairs-max20 "$tmp/pairs.jsonl" 20
check adversarial-max1 "$tmp/adversarial.jsonl" 1
check adversarial-max2 "$tmp/adversarial.jsonl" 2
check pairs-max1 "$tmp/pairs.jsonl" 1
check pairs-max2 "$tmp/pairs.jsonl" 2
check pairs-max3 "$tmp/pairs.jsonl" 3
check banking77-offsets "$tmp/banking77.jsonl" 0 --offsets
check adversarial-offsets "$tmp/adversarial.jsonl" 0 --offsets
check sweep-offsets "$tmp/sweep.jsonl" 0 --offsets
echo "tokenizer-oracle: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
