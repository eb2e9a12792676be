#!/bin/sh
# int8 against fp32 at base size (bench/int8_accuracy.py): [CLS] cosine of every
# Banking77 text (train + test, 13,083) on a random base encoder, and the
# test-split agreement of heads trained on each. Takes ~10 minutes on 2 cores.
#   CONFIG=base|tiny|config.json  SEED=0  TRAIN_LIMIT=0 TEST_LIMIT=0 (0: all)
#   EPOCHS=5  JSON=out.json
set -eu
cd "$(dirname "$0")/.."
ALBERTC=${ALBERTC:-build/albertc}
PYTHON=${PYTHON:-/usr/bin/python3}
exec "$PYTHON" bench/int8_accuracy.py --albertc "$ALBERTC" --config "${CONFIG:-base}" --seed "${SEED:-0}" \
    --train-limit "${TRAIN_LIMIT:-0}" --test-limit "${TEST_LIMIT:-0}" --epochs "${EPOCHS:-5}" \
    ${JSON:+--json "$JSON"}
