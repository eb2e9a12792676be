#!/bin/sh
# The feature pass across MPI ranks (util/dist.h): `albertc train` on a
# Banking77 subset with a random base-size encoder (DTYPE, default float32),
# a fresh feature cache each run, as
#   1 rank x 1 thread | 1 rank x 2 threads | mpirun -n 2 x 1 thread | mpirun -n 3 x 1 thread
#   | two independent 1-thread processes on the two halves at once (the best 2 ranks can do
#     on this machine as it is: a shared machine may not give the job its second core)
# The best of REPEATS runs of each, then the cost model of bench/mpi_model.py
# fitted on the 1-rank run, checked against the 2- and 3-rank runs, and
# extrapolated to 8, 64 and 512 ranks.
# Usage: [DTYPE=bfloat16] sh bench/mpi_bench.sh [ALBERTC] [TEXTS] [REPEATS]   (defaults: build/albertc 320 3)
set -e
albertc=${1:-build/albertc}
texts=${2:-320}
dtype=${DTYPE:-float32}
repeats=${3:-3}
py=${PYTHON:-/usr/bin/python3}
data=../shared/data/banking77
dir=$(mktemp -d /tmp/albertc-mpi-bench-XXXXXX)
trap 'rm -rf "$dir"' EXIT
cores=$(nproc)

"$albertc" init-model --config base --seed 1 --out "$dir/base" --tokenizer ../shared/models/albert-base-v2/spiece.model
# a strided subset (train.jsonl is grouped by label: every k-th row keeps the length mix), 16 eval rows
mkdir -p "$dir/data"
"$py" - "$data" "$dir/data" "$texts" <<'PY'
import os, sys
src, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
rows = open(f"{src}/train.jsonl").readlines()
step = max(1, len(rows) // n)
test = open(f"{src}/test.jsonl").readlines()[::193][:16]
labels = open(f"{src}/labels.txt").read()
for d, part in (("", rows[::step][:n]), ("/a", rows[::step][:n][0::2]), ("/b", rows[::step][:n][1::2])):
    os.makedirs(out + d, exist_ok=True)
    open(f"{out}{d}/train.jsonl", "w").writelines(part)
    open(f"{out}{d}/test.jsonl", "w").writelines(test[0::2] if d == "/a" else test[1::2] if d == "/b" else test)
    open(f"{out}{d}/labels.txt", "w").write(labels)
PY
# every Banking77 text's token count (max_length 128), and the tokenizer's speed, for the model
start=$(date +%s.%N)
cat "$data/train.jsonl" "$data/test.jsonl" | "$albertc" tokenize --model "$dir/base" --max-length 128 --jsonl |
    "$py" -c 'import json,sys; [print(len(json.loads(l)["input_ids"])) for l in sys.stdin]' >"$dir/all_lengths"
end=$(date +%s.%N)
"$py" -c "import sys; print('tokenize + count: %d texts in %.2f s' % (sum(1 for _ in open('$dir/all_lengths')), $end - $start))" \
    >"$dir/tokenize_speed"

# train DATA LOG THREADS [LAUNCHER...]: one run with a fresh cache
train() {
    data=$1 log=$2 threads=$3
    shift 3
    rm -rf "$data.cache" "$data.p"
    OMP_NUM_THREADS=$threads "$@" "$albertc" train --config configs/banking77.yaml --set model_name="$dir/base" \
        --set data_dir="$data" --set cache_dir="$data.cache" --set project_dir="$data.p" --set threads="$threads" \
        --set dtype="$dtype" --set num_epochs=1 --set max_steps_per_epoch=1 --set progress=false 2>"$log" >/dev/null
}
# run NAME RANKS THREADS: prints "NAME seconds_of_the_pass wall_seconds rank_shares"
# (RANKS 0: the two halves as two independent processes at once; the pass is the slower one)
run() {
    name=$1 ranks=$2 threads=$3
    best_pass= best_wall= best_shares=
    for r in $(seq "$repeats"); do
        start=$(date +%s.%N)
        if [ "$ranks" = 0 ]; then
            train "$dir/data/a" "$dir/log" 1 & train "$dir/data/b" "$dir/log.b" 1
            wait
            cat "$dir/log.b" >>"$dir/log"
        elif [ "$ranks" = 1 ]; then
            train "$dir/data" "$dir/log" "$threads"
        else
            # --bind-to none: Open MPI pins 2 ranks to a core each, which a shared machine's other load then slows
            train "$dir/data" "$dir/log" "$threads" mpirun --oversubscribe --allow-run-as-root --bind-to none \
                -x OMP_NUM_THREADS -n "$ranks"
        fi
        end=$(date +%s.%N)
        pass=$(sed -n 's/.*feature cache: computed [0-9]* texts ([0-9]* tokens) in \([0-9.]*\) s.*/\1/p' "$dir/log" |
            sort -n | tail -1)
        shares=$(sed -n 's/.*encoded my share of \([0-9]*\) texts ([0-9]* tokens) in \([0-9.]*\) s.*/\1:\2/p' "$dir/log" |
            tr '\n' ' ')
        wall=$("$py" -c "print('%.2f' % ($end - $start))")
        if [ -z "$best_pass" ] || "$py" -c "import sys; sys.exit(0 if $pass < $best_pass else 1)"; then
            best_pass=$pass best_wall=$wall best_shares=$shares
        fi
    done
    echo "$name $best_pass $best_wall $best_shares" | tee -a "$dir/results"
}
: >"$dir/results"
echo "feature pass of $texts Banking77 texts, base geometry, $dtype; best of $repeats; $cores cores ($(date -u +%F))"
uptime
run r1t1 1 1
run r1t2 1 2
run r2t1 2 1
run r3t1 3 1
run halves 0 1
uptime
cat "$dir/tokenize_speed"
"$py" bench/mpi_model.py "$dir/data/train.jsonl" "$dir/data/test.jsonl" "$dir/base" "$albertc" "$dir/results" \
    "$dir/all_lengths" "$dir/tokenize_speed" "$cores"
