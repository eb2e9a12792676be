# Sourced by predict_bench.sh and serve_bench.sh, under set -eu from the
# repository root, with BENCH (the work directory's name) set: their
# environment (ALBERTC, PYTHON, DTYPE, DATA, SPIECE), $work (a new directory
# under ${TMPDIR:-/tmp}, removed when the script ends, also on SIGINT/SIGTERM,
# which end it; a script with more to clean up redefines bench_cleanup), and
# the machine line. Then bench/base_classifier.sh builds the classifier and
# encoder_alone times the encoder the scripts compare with.
ALBERTC=${ALBERTC:-build/albertc}
PYTHON=${PYTHON:-/usr/bin/python3}
DTYPE=${DTYPE:-float32}
DATA=../shared/data/banking77
SPIECE=../shared/models/albert-base-v2/spiece.model

work=$(mktemp -d "${TMPDIR:-/tmp}/albertc-$BENCH.XXXXXX")
bench_cleanup() { :; }
trap 'bench_cleanup; rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); dtype $DTYPE"

# encoder_alone: the encoder's own throughput on $work/test.jsonl (albertc
# bench: sorted batches of <= 1024 tokens, 2 threads, the serving batching),
# printed, and left in $encoder_texts_per_s for the scripts' ratios.
encoder_alone() {
    "$ALBERTC" bench --model "$work/encoder" --input "$work/test.jsonl" --tokenizer "$SPIECE" --dtype "$DTYPE" \
        --threads 2 --batching sorted --sorted-tokens 1024 --json > "$work/bench.json"
    encoder_texts_per_s=$("$PYTHON" -c '
import json, sys
print(max(r["examples_per_s"] for r in json.load(open(sys.argv[1]))["rows"] if r["batching"] == "sorted"))
' "$work/bench.json")
    "$PYTHON" -c 'import sys; print(f"encoder alone (albertc bench, sorted batches of <= 1024 tokens, 2 threads): "
                   f"{float(sys.argv[1]):.1f} texts/s")' "$encoder_texts_per_s"
}
