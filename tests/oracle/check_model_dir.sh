#!/bin/sh
# A classifier directory against torch (tools/check_model_dir.py): train a
# head on a tiny random encoder (4 Banking77 intents, 30 texts each: common.sh's
# tiny_classifier), then check that transformers'
# AlbertModel.from_pretrained would load the encoder from
# <project_dir>/model/ as it is (keys, config) and that our torch reference,
# loaded from that directory, gives the logits `albertc predict --raw-scores`
# gives. Skipped (with a line saying so) where $PYTHON has no torch: CI
# installs python3-torch; `make test` on a machine without it still passes.
# Prints exactly "model-dir-oracle: N passed, N failed" last.
cd "$(dirname "$0")/../.." || exit 2
ORACLE=model-dir-oracle SCRIPT=check_model_dir
. tests/oracle/common.sh
need_python_modules torch numpy
need_albertc
make_tmp
tiny_classifier 30 10 10
"$ALBERTC" tokenize --model "$tmp/run/model" --jsonl < "$tmp/test.jsonl" > "$tmp/ids.jsonl" ||
    fail_setup "tokenize failed"
"$ALBERTC" predict --model "$tmp/run/model" --input "$tmp/test.jsonl" --raw-scores --top-k 0 > "$tmp/predict.jsonl" ||
    fail_setup "predict failed"
if "$PYTHON" tools/check_model_dir.py "$tmp/run/model" "$tmp/ids.jsonl" "$tmp/predict.jsonl"; then
    exit 0
fi
echo "model-dir-oracle: 0 passed, 1 failed"
exit 1
