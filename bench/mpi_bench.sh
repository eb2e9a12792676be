#!/bin/sh
# The feature pass across MPI ranks (util/dist.h): `albertc train` on a
# Banking77 subset with a random base-size encoder (bf16, the seed's dtype),
# a fresh feature cache each run, as
#   1 rank x 1 thread | 1 rank x 2 threads | mpirun -n 2 x 1 thread | mpirun -n 3 x 1 thread
# The best of REPEATS runs of each (the machine may be shared), then the cost
# model of bench/mpi_model.py fitted on the 1-rank run, checked against the
# 2- and 3-rank runs, and extrapolated to 8, 64 and 512 ranks.
# Usage: sh bench/mpi_bench.sh [ALBERTC] [TEXTS] [REPEATS]   (defaults: build/albertc 640 3)
set -e
albertc=${1:-build/albertc}
texts=${2:-640}
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
import sys
src, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
rows = open(f"{src}/train.jsonl").readlines()
step = max(1, len(rows) // n)
open(f"{out}/train.jsonl", "w").writelines(rows[::step][:n])
open(f"{out}/test.jsonl", "w").writelines(open(f"{src}/test.jsonl").readlines()[::193][:16])
open(f"{out}/labels.txt", "w").write(open(f"{src}/labels.txt").read())
PY
# every Banking77 text's token count (max_length 128), and the tokenizer's speed, for the model
start=$(date +%s.%N)
cat "$data/train.jsonl" "$data/test.jsonl" | "$albertc" tokenize --model "$dir/base" --max-length 128 --jsonl |
    "$py" -c 'import json,sys; [print(len(json.loads(l)["input_ids"])) for l in sys.stdin]' >"$dir/all_lengths"
end=$(date +%s.%N)
"$py" -c "import sys; print('tokenize + count: %d texts in %.2f s' % (sum(1 for _ in open('$dir/all_lengths')), $end - $start))" \
    >"$dir/tokenize_speed"

# run NAME RANKS THREADS: prints "NAME seconds_of_the_pass wall_seconds rank_shares"
run() {
    name=$1 ranks=$2 threads=$3
    best_pass= best_wall= best_shares=
    for r in $(seq "$repeats"); do
        rm -rf "$dir/cache" "$dir/p"
        launch=
        # --bind-to none: Open MPI pins 2 ranks to a core each, which a shared machine's other load then slows
        [ "$ranks" -gt 1 ] && launch="mpirun --oversubscribe --allow-run-as-root --bind-to none -x OMP_NUM_THREADS -n $ranks"
        start=$(date +%s.%N)
        OMP_NUM_THREADS=$threads $launch "$albertc" train --config configs/banking77.yaml --set model_name="$dir/base" \
            --set data_dir="$dir/data" --set cache_dir="$dir/cache" --set project_dir="$dir/p" --set threads="$threads" \
            --set num_epochs=1 --set max_steps_per_epoch=1 --set progress=false 2>"$dir/log" >/dev/null
        end=$(date +%s.%N)
        pass=$(sed -n 's/.*feature cache: computed [0-9]* texts ([0-9]* tokens) in \([0-9.]*\) s.*/\1/p' "$dir/log")
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
echo "feature pass of $texts Banking77 texts, base geometry, bf16; best of $repeats; $cores cores ($(date -u +%F))"
run r1t1 1 1
run r1t2 1 2
run r2t1 2 1
run r3t1 3 1
cat "$dir/tokenize_speed"
"$py" bench/mpi_model.py "$dir/data/train.jsonl" "$dir/data/test.jsonl" "$dir/base" "$albertc" "$dir/results" \
    "$dir/all_lengths" "$dir/tokenize_speed" "$cores"
