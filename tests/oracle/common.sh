# Sourced by every oracle check (not a check itself: run.sh runs check_*.sh).
# Set ORACLE (the "name-oracle" of the result line) and SCRIPT (the prefix of
# messages) before sourcing. Every check ends with exactly one result line,
# "$ORACLE: N passed, N failed", or "$ORACLE: skipped (why)" where a tool it
# needs is not installed (exit 0: `make test` passes on a machine without it).
ALBERTC=${ALBERTC:-build/albertc}
PYTHON=${PYTHON:-/usr/bin/python3}
DATA=../shared/data/banking77
MODEL=../shared/models/albert-base-v2
SPIECE=$MODEL/spiece.model

# The check could not run (setup failed): one failure, with the reason.
fail_setup() {
    echo "$SCRIPT: $1"
    echo "$ORACLE: 0 passed, 1 failed"
    exit 1
}

# The check cannot run here because an optional tool is missing: WHY names it
# and how to install it.
skip() {
    echo "$ORACLE: skipped ($1)"
    exit 0
}

# need_python_modules MODULE...: skip unless $PYTHON imports every MODULE;
# the line names the missing ones and their Debian packages.
need_python_modules() {
    missing= packages=
    for m in "$@"; do
        "$PYTHON" -c "import $m" 2>/dev/null && continue
        missing="${missing:+$missing, }$m"
        case $m in
        google.protobuf) packages="$packages python3-protobuf" ;;
        *) packages="$packages python3-$m" ;;
        esac
    done
    [ -z "$missing" ] || skip "$PYTHON has no $missing: apt-get install$packages"
}

need_albertc() {
    [ -x "$ALBERTC" ] || fail_setup "$ALBERTC not built"
}

# Hugging Face's engine (npm tokenizers, tools/hf_tokenize.js): required, not skipped.
need_node_tokenizers() {
    command -v node >/dev/null 2>&1 || fail_setup "node not found (install nodejs)"
    [ -d tools/node_modules/tokenizers ] || fail_setup "tools/node_modules/tokenizers missing: run 'npm ci --prefix tools'"
}

# make_tmp: $tmp, a new directory, removed when the script ends, also on
# SIGINT/SIGTERM (which then end it: 130/143); KEEP=1 keeps it and says where.
make_tmp() {
    tmp=$(mktemp -d) || exit 2
    if [ -n "${KEEP:-}" ]; then
        echo "$SCRIPT: KEEP is set: keeping $tmp"
        return
    fi
    trap 'rm -rf "$tmp"' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# tiny_classifier TRAIN TEST FREQ: a quickly trained classifier in $tmp/run
# (model/ and eval/ included, float32): a tiny random encoder ($tmp/encoder,
# seed 5) and a head trained for 2 epochs on the first TRAIN texts of each of
# 4 Banking77 intents ($tmp/train.jsonl; the first TEST of each are
# $tmp/test.jsonl, the validation split; $tmp/labels.txt), logging and
# validating every FREQ steps. After make_tmp.
tiny_classifier() {
    "$PYTHON" - "$DATA" "$tmp" "$1" "$2" <<'PY' || fail_setup "cannot make the dataset"
import json, sys
data, out, per_label = sys.argv[1], sys.argv[2], {"train": int(sys.argv[3]), "test": int(sys.argv[4])}
labels = ["card_arrival", "card_linking", "exchange_rate", "lost_or_stolen_card"]
for split, n in per_label.items():
    rows = [json.loads(l) for l in open(f"{data}/{split}.jsonl")]
    rows = [r for l in labels for r in [r for r in rows if r["label_text"] == l][:n]]
    with open(f"{out}/{split}.jsonl", "w") as f:
        for r in rows:
            f.write(json.dumps({"text": r["text"], "label": r["label_text"]}) + "\n")
open(f"{out}/labels.txt", "w").write("\n".join(labels) + "\n")
PY
    "$ALBERTC" init-model --config tiny --seed 5 --out "$tmp/encoder" --tokenizer "$SPIECE" 2>"$tmp/err" ||
        fail_setup "init-model: $(head -c 300 "$tmp/err")"
    OMP_NUM_THREADS=2 "$ALBERTC" train --config /dev/null --set "model_name=$tmp/encoder" --set "data_dir=$tmp" \
        --set labels_file=labels.txt --set num_labels=4 --set batch_size=8 --set num_epochs=2 --set learning_rate=0.01 \
        --set "val_steps_freq=$3" --set "steps_freq=$3" --set "project_dir=$tmp/run" --set "cache_dir=$tmp/cache" \
        --set dtype=float32 --set progress=false 2>"$tmp/err" || fail_setup "train: $(tail -c 300 "$tmp/err")"
}
