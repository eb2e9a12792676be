#!/bin/sh
# TensorBoard event files of `albertc train` against an independent reader
# (tools/tb_events.py: python3-protobuf with TensorBoard's Event/Summary
# messages, CRC-32C in Python). On tiny random features (a second's work):
#   - an uninterrupted run: framing and every CRC valid, first record
#     file_version "brain.Event:2", every scalar of metrics.jsonl present once
#     with the value float(metrics.jsonl's), the extra tags and the config text;
#   - a run killed (SIGKILL) after a validation past its last checkpoint, then
#     a torn record appended to its event file (a write cut short): the reader
#     stops before the torn record; the resumed run cuts the old file to the
#     checkpoint's steps, drops the torn tail and appends a new file, and the
#     files together hold each (tag, step) once, equal to the uninterrupted run's;
#   - a fresh run in the same project_dir moves the earlier tensorboard/ aside.
# Prints exactly "tensorboard-oracle: N passed, N failed" last.
cd "$(dirname "$0")/../.." || exit 2
ORACLE=tensorboard-oracle SCRIPT=check_tensorboard
. tests/oracle/common.sh
need_python_modules google.protobuf
make_tmp
"$PYTHON" - "$tmp" <<'PY' || fail_setup "cannot make the features"
import json, random, struct, sys
out = sys.argv[1]
random.seed(1)
def features(path, n, h, labels):
    x = [random.gauss(0, 1) for _ in range(n * h)]
    y = [random.randrange(labels) for _ in range(n)]
    hdr = {"features": {"dtype": "F32", "shape": [n, h], "data_offsets": [0, 4 * n * h]},
           "labels": {"dtype": "I64", "shape": [n], "data_offsets": [4 * n * h, 4 * n * h + 8 * n]}}
    hb = json.dumps(hdr).encode()
    hb += b" " * (-len(hb) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)) + hb + struct.pack(f"<{n * h}f", *x) + struct.pack(f"<{n}q", *y))
features(f"{out}/train.safetensors", 64, 16, 4)
features(f"{out}/eval.safetensors", 24, 16, 4)
PY
# 16 steps an epoch, 32 in all; train/loss every 2 steps, validation every 3,
# a checkpoint every 2: killed after step 9, the run resumes at 8 and step 9's
# validation, already logged, must not appear twice.
train() {
    project=$1
    shift
    OMP_NUM_THREADS=1 "$ALBERTC" train --config /dev/null --set "train_features=$tmp/train.safetensors" \
        --set "eval_features=$tmp/eval.safetensors" --set num_labels=4 --set mlp_hidden_size=8 --set batch_size=4 \
        --set num_epochs=2 --set steps_freq=2 --set val_steps_freq=3 --set save_strategy=step --set save_optim=true \
        --set progress=false --set "project_dir=$tmp/$project" "$@" >/dev/null 2>>"$tmp/log"
}
train whole; whole=$?
ALBERTC_TEST_KILL_AT_STEP=9 train killed; killed=$?
# A torn record: the first 20 bytes of a valid one, as a kill mid-write leaves it.
for f in "$tmp"/killed/tensorboard/*; do head -c 20 "$f" >> "$f"; done
"$PYTHON" tools/tb_events.py "$tmp/killed/tensorboard" > "$tmp/killed.jsonl" 2>>"$tmp/log"
train killed --set resume_from_checkpoint=true; resumed=$?
cp -r "$tmp/whole" "$tmp/again"
train again; again=$?  # a fresh run where one was: the earlier event files are archived
"$PYTHON" - "$tmp" "$whole" "$killed" "$resumed" "$again" <<'PY'
import glob, json, os, struct, sys
sys.path.insert(0, "tools")
import tb_events
from oracle_checks import Checks
tmp, (whole_rc, killed_rc, resumed_rc, again_rc) = sys.argv[1], map(int, sys.argv[2:6])
check = Checks("check_tensorboard", "tensorboard-oracle")

def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]

def metrics(run):
    out = {}
    for line in open(f"{tmp}/{run}/metrics.jsonl"):
        d = json.loads(line)
        for k, v in d.items():
            if k != "step":
                out[(k, d["step"])] = v
    return out

def scalars(run):
    """{(tag, step): [values]} over the run's files in name order; (file tails, first records, texts)."""
    out, tails, firsts, texts = {}, [], [], []
    for path in tb_events.event_files(f"{tmp}/{run}/tensorboard"):
        evs, tail = tb_events.events(path)
        tails.append(tail)
        firsts.append(evs[0] if evs else {})
        for e in evs:
            for tag, v in e.get("scalars", {}).items():
                out.setdefault((tag, e["step"]), []).append(v)
            texts += [(tag, t, e["step"]) for tag, t in e.get("text", {}).items()]
    return out, tails, firsts, texts

check(whole_rc == 0, f"uninterrupted run exit {whole_rc}")
check(killed_rc == 137, f"killed run exit {killed_rc} (SIGKILL expected)")
check(resumed_rc == 0, f"resumed run exit {resumed_rc}")

m = metrics("whole")
s, tails, firsts, texts = scalars("whole")
check(len(tails) == 1 and tails == [None], f"one file, clean end: {tails}")
check(all(f.get("file_version") == "brain.Event:2" for f in firsts), f"first records {firsts}")
mine = {k: v for k, v in s.items() if k[0] in ("train/loss", "val/loss", "val/accuracy")}
check(set(mine) == set(m), f"(tag, step) of metrics.jsonl vs events: {sorted(set(mine) ^ set(m))[:5]}")
bad = [(k, m[k], v) for k, v in mine.items() if k in m and v != [f32(m[k])]]
check(not bad, f"values differ from float(metrics.jsonl): {bad[:3]}")
for tag in ("train/learning_rate", "train/epoch", "train/examples_per_s"):
    steps = sorted(st for t, st in s if t == tag)
    check(steps == sorted(st for t, st in m if t == "train/loss"), f"{tag} at every train/loss step: {steps}")
check(s.get(("train/learning_rate", 2)) == [f32(0.001)], "learning rate 1e-3")
check(s.get(("train/epoch", 32)) == [2.0] and s.get(("train/epoch", 8)) == [0.5], "epoch fraction")
check(len(texts) == 1 and texts[0][0] == "config" and texts[0][1]["plugin"] == "text" and texts[0][1]["dtype"] == 7
      and '"num_labels": 4' in texts[0][1]["value"], f"config text {texts[:1]}")

# The killed run, before the resume: the reader stops at the torn record.
killed = [json.loads(l) for l in open(f"{tmp}/killed.jsonl")]
check([k.get("tail") for k in killed if "tail" in k] == ["torn"], "the reader reports the torn record")
check(any(k.get("step") == 9 and "val/loss" in k.get("scalars", {}) for k in killed),
      "the killed run logged step 9's validation")

s2, tails2, firsts2, texts2 = scalars("killed")
check(tails2 == [None, None], f"after the resume: two files, both clean: {tails2}")
check(all(f.get("file_version") == "brain.Event:2" for f in firsts2), "first records of the resumed files")
dup = {k: v for k, v in s2.items() if len(v) != 1}
check(not dup, f"a (tag, step) written twice: {sorted(dup)[:5]}")
mine2 = {k: v for k, v in s2.items() if k[0] in ("train/loss", "val/loss", "val/accuracy")}
check(mine2 == {k: [f32(v)] for k, v in m.items()}, "the killed + resumed run's scalars equal the uninterrupted run's")
check(set(s2) == set(s), "the same (tag, step) set as the uninterrupted run")
files = tb_events.event_files(f"{tmp}/killed/tensorboard")
first_steps = [e["step"] for e in tb_events.events(files[1])[0] if "scalars" in e]
check(first_steps and min(first_steps) == 9, f"the resumed file starts after the checkpoint (step 8): {first_steps[:3]}")
check([t[2] for t in texts2] == [0, 8], f"config texts at the steps each file starts from: {texts2}")
check(not glob.glob(f"{tmp}/killed/tensorboard/*.tmp.*"), "no temporary file left")
archived = glob.glob(f"{tmp}/again/checkpoints/tensorboard.*")
check(again_rc == 0 and len(archived) == 1 and len(tb_events.event_files(archived[0])) == 1
      and len(tb_events.event_files(f"{tmp}/again/tensorboard")) == 1,
      f"a fresh run archives the earlier tensorboard/ with its history (TensorBoard shows it as its own run): {archived}")
check.finish()
PY
