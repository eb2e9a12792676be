#!/bin/sh
# make bench: encoder speed of albertc against the PyTorch baseline, on the same
# random base-geometry weights and the same batches (Banking77 test texts).
#
#   LIMIT=N     only the first N texts (default 0: all 3080)
#   REPEAT=N    time each row N times, keep the fastest (default 1)
#   DTYPES=...  albertc dtypes (default float32,bfloat16,int8)
#   TORCH=0     skip the PyTorch baselines (fp32 and bf16)
#   OPENBLAS=0  skip the fp32 rows on the OpenBLAS fallback (ALBERTC_MATMUL=openblas)
#   EMBED=N     time N whole `albertc embed` processes per dtype on the first
#               EMBED_TEXTS texts (default 1, 400 texts; 0: none)
# See bench/README.md for what the numbers mean.
set -eu
cd "$(dirname "$0")/.."
ALBERTC=${ALBERTC:-build/albertc}
PYTHON=${PYTHON:-/usr/bin/python3}
LIMIT=${LIMIT:-0}
REPEAT=${REPEAT:-1}
DTYPES=${DTYPES:-float32,bfloat16,int8}
TORCH=${TORCH:-1}
OPENBLAS=${OPENBLAS:-1}
EMBED=${EMBED:-1}
EMBED_TEXTS=${EMBED_TEXTS:-400}
DATA=../shared/data/banking77/test.jsonl
SPIECE=../shared/models/albert-base-v2/spiece.model

work=$(mktemp -d /tmp/albertc-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
limit=
[ "$LIMIT" -gt 0 ] && limit="--limit $LIMIT"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "environment: $(env | grep '^OPENBLAS_' | sort | tr '\n' ' ')"
"$ALBERTC" init-model --config base --out "$work/model" --seed 0
"$ALBERTC" tokenize --jsonl --model "$SPIECE" <"$DATA" >"$work/ids.jsonl"

# shellcheck disable=SC2086
"$ALBERTC" bench --model "$work/model" --input "$work/ids.jsonl" $limit --repeat "$REPEAT" \
    --dtype "$DTYPES" --threads 2,1 --json >"$work/albertc.json"
if [ "$OPENBLAS" = 1 ]; then
    # fp32 on the OpenBLAS fallback too: the measurement that chose the engine
    # shellcheck disable=SC2086
    ALBERTC_MATMUL=openblas "$ALBERTC" bench --model "$work/model" --input "$work/ids.jsonl" $limit \
        --repeat "$REPEAT" --dtype float32 --threads 2,1 --json >"$work/openblas.json"
    "$PYTHON" - "$work/albertc.json" "$work/openblas.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
a["rows"] += b["rows"]
json.dump(a, open(sys.argv[1], "w"), indent=1)
PY
fi
# whole `albertc embed` processes (model load included) at --batch-size 8 on 2
# threads: wall, CPU and peak RSS from /usr/bin/time
: >"$work/embed.json"
if [ "$EMBED" -gt 0 ]; then
    head -n "$EMBED_TEXTS" "$work/ids.jsonl" >"$work/embed_ids.jsonl"
    for dtype in $(echo "$DTYPES" | tr ',' ' '); do
        best=
        for _ in $(seq "$EMBED"); do
            OMP_NUM_THREADS=2 /usr/bin/time -f '%e %U %S %M' -o "$work/time" "$ALBERTC" embed --model "$work/model" \
                --input "$work/embed_ids.jsonl" --output "$work/embed.safetensors" --batch-size 8 \
                --dtype "$dtype" 2>/dev/null
            t=$(cat "$work/time")
            if [ -z "$best" ] || [ "$(echo "$t $best" | awk '{print ($1 < $5)}')" = 1 ]; then best=$t; fi
        done
        engine=$("$ALBERTC" bench --model "$work/model" --input "$work/embed_ids.jsonl" --limit 8 --threads 1 \
            --dtype "$dtype" --batching padded --json 2>/dev/null | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["rows"][0]["engine"])')
        echo "$best" | awk -v d="$dtype" -v n="$(wc -l <"$work/embed_ids.jsonl")" -v e="$engine" \
            '{printf "{\"dtype\": \"%s\", \"texts\": %d, \"batch_size\": 8, \"threads\": 2, \"seconds\": %s, \"cpu_seconds\": %s, \"max_rss_kb\": %d, \"engine\": \"%s\"}\n", d, n, $1, $2 + $3, $4, e}' \
            >>"$work/embed.json"
    done
fi
torch=
[ "$TORCH" = 1 ] || torch=--no-torch
# shellcheck disable=SC2086
"$PYTHON" bench/torch_bench.py --model "$work/model" --input "$work/ids.jsonl" $limit \
    --repeat "$REPEAT" --threads 2,1 --compare "$work/albertc.json" --embed "$work/embed.json" $torch
