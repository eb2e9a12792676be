#!/bin/sh
# A classifier directory against torch (tools/check_model_dir.py): train a
# head on a tiny random encoder (4 Banking77 intents), then check that
# transformers' AlbertModel.from_pretrained would load the encoder from
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
"$PYTHON" - "$DATA" "$tmp" <<'PY' || fail_setup "cannot make the dataset"
import json, sys
data, out = sys.argv[1], sys.argv[2]
labels = ["card_arrival", "card_linking", "exchange_rate", "lost_or_stolen_card"]
for split, n in (("train", 120), ("test", 40)):
    rows = [json.loads(l) for l in open(f"{data}/{split}.jsonl")]
    rows = [r for r in rows if r["label_text"] in labels][:n]
    with open(f"{out}/{split}.jsonl", "w") as f:
        for r in rows:
            f.write(json.dumps({"text": r["text"], "label": r["label_text"]}) + "\n")
open(f"{out}/labels.txt", "w").write("\n".join(labels) + "\n")
PY
"$ALBERTC" init-model --config tiny --seed 5 --out "$tmp/encoder" --tokenizer "$SPIECE" 2>"$tmp/err" ||
    fail_setup "init-model: $(head -c 300 "$tmp/err")"
cat > "$tmp/run.yaml" <<YAML
model_name: $tmp/encoder
data_dir: $tmp
labels_file: labels.txt
num_labels: 4
batch_size: 8
num_epochs: 2
learning_rate: 0.01
val_steps_freq: 10
steps_freq: 10
project_dir: $tmp/run
cache_dir: $tmp/cache
dtype: float32
progress: false
YAML
"$ALBERTC" train --config "$tmp/run.yaml" 2>"$tmp/err" || fail_setup "train: $(tail -c 300 "$tmp/err")"
"$ALBERTC" tokenize --model "$tmp/run/model" --jsonl < "$tmp/test.jsonl" > "$tmp/ids.jsonl" ||
    fail_setup "tokenize failed"
"$ALBERTC" predict --model "$tmp/run/model" --input "$tmp/test.jsonl" --raw-scores --top-k 0 > "$tmp/predict.jsonl" ||
    fail_setup "predict failed"
if "$PYTHON" tools/check_model_dir.py "$tmp/run/model" "$tmp/ids.jsonl" "$tmp/predict.jsonl"; then
    exit 0
fi
echo "model-dir-oracle: 0 passed, 1 failed"
exit 1
