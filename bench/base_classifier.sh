# Sourced by predict_bench.sh and serve_bench.sh after bench/common.sh (which
# sets ALBERTC, PYTHON, DTYPE, DATA, SPIECE and work; LIMIT is the script's): a
# random base-geometry classifier, $work/run/model (a head trained briefly on 2
# texts per intent: its quality does not matter to speed), and $work/test.jsonl
# (the first LIMIT Banking77 test texts, 0: all).
"$ALBERTC" init-model --config base --seed 0 --out "$work/encoder" --tokenizer "$SPIECE" 2>/dev/null
# 2 train texts and 1 eval text per intent: the head's quality does not matter here
"$PYTHON" - "$DATA" "$work" "$LIMIT" <<'PY'
import json, sys
data, out, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
rows = [json.loads(l) for l in open(f"{data}/train.jsonl")]
seen = {}
with open(f"{out}/train.jsonl", "w") as tr, open(f"{out}/eval.jsonl", "w") as ev:
    for r in rows:
        k = seen.get(r["label"], 0)
        if k < 3:
            (tr if k < 2 else ev).write(json.dumps({"text": r["text"], "label": r["label"]}) + "\n")
            seen[r["label"]] = k + 1
test = open(f"{data}/test.jsonl").read().splitlines()
open(f"{out}/test.jsonl", "w").write("\n".join(test[:limit] if limit else test) + "\n")
PY
cat > "$work/run.yaml" <<YAML
model_name: $work/encoder
data_dir: $work
train_file: train.jsonl
eval_file: eval.jsonl
labels_file: $DATA/labels.txt
num_labels: 77
num_epochs: 1
dtype: $DTYPE
project_dir: $work/run
cache_dir: $work/cache
progress: false
YAML
"$ALBERTC" train --config "$work/run.yaml" 2>"$work/train.log" || { tail -5 "$work/train.log"; exit 1; }
