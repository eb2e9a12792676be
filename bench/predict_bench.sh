#!/bin/sh
# predict's speed against the encoder alone (issue: predict over the 3,080 Banking77
# test texts at >= 90% of the encoder's sorted-batch throughput; a one-text predict
# process <= 150 ms), on a random base-geometry classifier: a head trained briefly
# on 2 texts per intent, written as a classifier directory by train.
#
#   DTYPE=float32|bfloat16   (default float32)
#   LIMIT=N                  only the first N test texts (default 0: all 3080)
#   RUNS=N                   one-text predict processes to time (default 10)
# Prints the rows and the ratios; see bench/README.md.
set -eu
cd "$(dirname "$0")/.."
BENCH=predict-bench LIMIT=${LIMIT:-0}
RUNS=${RUNS:-10}
. bench/common.sh
now() { date +%s.%N; }

. bench/base_classifier.sh
n=$(wc -l < "$work/test.jsonl")
encoder_alone
t0=$(now)
"$ALBERTC" predict --model "$work/run/model" --input "$work/test.jsonl" > "$work/predict.jsonl"
t1=$(now)
i=0
: > "$work/one.txt"
while [ "$i" -lt "$RUNS" ]; do
    s=$(now)
    "$ALBERTC" predict --model "$work/run/model" --text "I am still waiting on my card?" > /dev/null
    e=$(now)
    echo "$s $e" >> "$work/one.txt"
    i=$((i + 1))
done
"$PYTHON" - "$encoder_texts_per_s" "$t0" "$t1" "$n" "$work/one.txt" <<'PY'
import sys
enc = float(sys.argv[1])
secs = float(sys.argv[3]) - float(sys.argv[2])
n = int(sys.argv[4])
one = sorted(float(e) - float(s) for s, e in (l.split() for l in open(sys.argv[5])))
print(f"albertc predict, {n} texts, whole process:                        {n / secs:.1f} texts/s "
      f"({secs:.1f} s) = {n / secs / enc:.0%} of the encoder")
print(f"albertc predict, one text, whole process: median {one[len(one) // 2] * 1e3:.0f} ms, "
      f"min {one[0] * 1e3:.0f} ms, max {one[-1] * 1e3:.0f} ms over {len(one)} runs")
PY
