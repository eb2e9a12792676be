#!/bin/sh
# bench/int8_accuracy.py reduced to seconds: a small random encoder (hidden
# 128, 4 layers, initializer_range 0.1 so that its features differ between
# texts), 1500 train and 400 test Banking77 texts, 3 epochs. Bounds: the mean
# [CLS] cosine of int8 to fp32 >= 0.999 (measured 0.99973), and the agreement
# of heads trained on each >= 85% (measured 93.25%; a head trained on the fp32
# features plus random noise of the int8 error's norm agrees 94.25%: on a
# random encoder the heads are that sensitive; bench/README.md). A broken
# quantization (a wrong scale, zero point or layout) falls far below both.
# Skipped where $PYTHON has no numpy. Prints "int8-accuracy-oracle: N passed, N failed" last.
cd "$(dirname "$0")/../.." || exit 2
ORACLE=int8-accuracy-oracle SCRIPT=check_int8_accuracy
. tests/oracle/common.sh
need_python_modules numpy
need_albertc
make_tmp
"$PYTHON" - "$tmp/small.json" <<'PY' || fail_setup "cannot write the config"
import json, sys
c = json.load(open("../shared/models/albert-base-v2/config.json"))
c.update(embedding_size=32, hidden_size=128, num_attention_heads=4, intermediate_size=512, num_hidden_layers=4,
         initializer_range=0.1)
json.dump(c, open(sys.argv[1], "w"))
PY
if "$PYTHON" bench/int8_accuracy.py --albertc "$ALBERTC" --config "$tmp/small.json" --train-limit 1500 \
    --test-limit 400 --epochs 3 --no-bf16-control --min-mean-cosine 0.999 --min-agreement 0.85; then
    echo "int8-accuracy-oracle: 1 passed, 0 failed"
else
    echo "int8-accuracy-oracle: 0 passed, 1 failed"
    exit 1
fi
