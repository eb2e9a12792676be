#!/bin/sh
# make bench: encoder speed of albertc against the PyTorch baseline, on the same
# random base-geometry weights and the same batches (Banking77 test texts).
#
#   LIMIT=N     only the first N texts (default 0: all 3080)
#   REPEAT=N    time each row N times, keep the fastest (default 1)
#   DTYPES=...  albertc dtypes (default float32,bfloat16,int8)
#   TORCH=0     skip the PyTorch baseline
# See bench/README.md for what the numbers mean.
set -eu
cd "$(dirname "$0")/.."
ALBERTC=${ALBERTC:-build/albertc}
PYTHON=${PYTHON:-/usr/bin/python3}
LIMIT=${LIMIT:-0}
REPEAT=${REPEAT:-1}
DTYPES=${DTYPES:-float32,bfloat16,int8}
TORCH=${TORCH:-1}
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
torch=
[ "$TORCH" = 1 ] || torch=--no-torch
# shellcheck disable=SC2086
"$PYTHON" bench/torch_bench.py --model "$work/model" --input "$work/ids.jsonl" $limit \
    --repeat "$REPEAT" --threads 2,1 --compare "$work/albertc.json" $torch
