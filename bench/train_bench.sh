#!/bin/sh
# Training-loop cost of `albertc train` without the encoder: the seed's schedule
# (5 epochs of Banking77-sized splits, batch 8, bf16, validation every 25 and
# every 10 steps) on random [10003,768] / [3080,768] features.
# Usage: sh bench/train_bench.sh [ALBERTC]   (prints seconds of training and peak RSS)
set -e
albertc=${1:-build/albertc}
dir=$(mktemp -d /tmp/albertc-train-bench-XXXXXX)
trap 'rm -rf "$dir"' EXIT
${PYTHON:-/usr/bin/python3} bench/gen_train_features.py "$dir/features"
for freq in 25 10; do
    for dtype in bfloat16 float32; do
        "$albertc" train --config configs/banking77.yaml --json --set log_level=WARNING \
            --set train_features="$dir/features/train.safetensors" --set eval_features="$dir/features/eval.safetensors" \
            --set project_dir="$dir/run" --set val_steps_freq=$freq --set dtype=$dtype |
            ${PYTHON:-/usr/bin/python3} -c "import json,sys; d=json.load(sys.stdin); print('train bench: val_steps_freq $freq $dtype: %.1f s training, %d steps, peak RSS %.0f MB' % (d['seconds']['training'], d['steps'], d['peak_rss_mb']))"
        rm -rf "$dir/run"
    done
done
