"""How far int8 features are from fp32 ones, and whether a head cares.

On a random encoder (`albertc init-model --config CONFIG --seed SEED`) and
Banking77 texts (train and test splits, or every k-th line of each with
--train-limit / --test-limit):
  1. [CLS] features of every text with `albertc embed --dtype float32` and
     `--dtype int8` (max_length 128, as training): cosine similarity per
     text, mean and minimum;
  2. a head trained by `albertc train` on each (the same config and seed,
     fp32 head, the test split as eval), and the test-split predictions of
     both final heads: agreement (the fraction of texts given the same label)
     and each head's accuracy;
  3. what that agreement is made of: the fp32 head on the int8 test features
     (the features alone, no training in between: a classifier trained in
     fp32 and served in int8), and two controls: a head trained on the fp32
     features plus random noise of the int8 error's size per text (the
     training's own sensitivity to any perturbation that large), and a head
     trained on the bf16 encoder's features (the seed's own dtype; fp32 head)
     with its agreement to the fp32 head (--no-bf16-control skips it).
Exits 1 when the mean cosine or the agreement (2) is under its bound.
Usage: bench/int8_accuracy.py --albertc build/albertc [--config base] [--json OUT]
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from albert_ref import read_safetensors, write_safetensors  # noqa: E402

DATA = "../shared/data/banking77"
SPIECE = "../shared/models/albert-base-v2/spiece.model"


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        sys.exit(f"int8_accuracy: {' '.join(cmd)} failed ({r.returncode}): {r.stderr.strip()[-2000:]}")
    return r.stdout


def subset(split, limit, out):
    """Every k-th line of the split (the files are grouped by intent: a stride keeps every intent)."""
    rows = open(f"{DATA}/{split}.jsonl").read().splitlines()
    if limit and limit < len(rows):
        step = len(rows) / limit
        rows = [rows[int(i * step)] for i in range(limit)]
    open(out, "w").write("\n".join(rows) + "\n")
    return np.array([json.loads(r)["label"] for r in rows], dtype=np.int64)


def train_head(a, work, name, train_x, test_x, labels):
    """`albertc train` on features files; the project directory."""
    project = f"{work}/run_{name}"
    for split, x in (("train", train_x), ("test", test_x)):
        write_safetensors(f"{work}/{split}_{name}_features.safetensors", {"features": x, "labels": labels[split]})
    yaml = (f"train_features: {work}/train_{name}_features.safetensors\n"
            f"eval_features: {work}/test_{name}_features.safetensors\n"
            f"num_labels: 77\ndtype: float32\nseed: {a.seed}\nnum_epochs: {a.epochs}\n"
            f"project_dir: {project}\nprogress: false\n")
    open(f"{work}/{name}.yaml", "w").write(yaml)
    run([a.albertc, "train", "--config", f"{work}/{name}.yaml"])
    return project


def head_predictions(project, x):
    """argmax of the final checkpoint's head, Linear -> GELU (erf) -> Linear, on x [N, H] (float64)."""
    hist = json.load(open(f"{project}/checkpoints/checkpoint_history.json"))
    t = read_safetensors(hist["checkpoints"][-1]["path"])[0]
    w1, b1, w2, b2 = (t[k].astype(np.float64) for k in ("classifier.0.weight", "classifier.0.bias",
                                                         "classifier.2.weight", "classifier.2.bias"))
    pre = x @ w1.T + b1
    act = 0.5 * pre * (1.0 + np.vectorize(math.erf)(pre / math.sqrt(2.0)))
    return np.argmax(act @ w2.T + b2, axis=1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--albertc", default="build/albertc")
    ap.add_argument("--config", default="base", help="init-model --config: base or tiny")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--train-limit", type=int, default=0, help="0: all 10003 train texts")
    ap.add_argument("--test-limit", type=int, default=0, help="0: all 3080 test texts")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--min-mean-cosine", type=float, default=0.999)
    ap.add_argument("--min-agreement", type=float, default=0.99)
    ap.add_argument("--no-bf16-control", action="store_true", help="skip the bf16 features' head")
    ap.add_argument("--json", help="write the numbers here too")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="albertc-int8-") as work:
        enc = f"{work}/encoder"
        run([a.albertc, "init-model", "--config", a.config, "--seed", str(a.seed), "--out", enc, "--tokenizer", SPIECE])
        labels = {s: subset(s, lim, f"{work}/{s}.jsonl") for s, lim in (("train", a.train_limit), ("test", a.test_limit))}
        cls = {}
        dtypes = ("float32", "int8") if a.no_bf16_control else ("float32", "int8", "bfloat16")
        for dtype in dtypes:
            for split in ("train", "test"):
                out = f"{work}/{split}_{dtype}.safetensors"
                run([a.albertc, "embed", "--model", enc, "--input", f"{work}/{split}.jsonl", "--output", out,
                     "--dtype", dtype, "--max-length", "128"])
                cls[split, dtype] = read_safetensors(out)[0]["cls"]
        x32 = np.concatenate([cls["train", "float32"], cls["test", "float32"]]).astype(np.float64)
        x8 = np.concatenate([cls["train", "int8"], cls["test", "int8"]]).astype(np.float64)
        cos = (x32 * x8).sum(1) / (np.linalg.norm(x32, axis=1) * np.linalg.norm(x8, axis=1))
        preds, projects = {}, {}
        for dtype in dtypes:
            projects[dtype] = train_head(a, work, dtype, cls["train", dtype], cls["test", dtype], labels)
            preds[dtype] = head_predictions(projects[dtype], cls["test", dtype].astype(np.float64))
        fp32_head_on_int8 = head_predictions(projects["float32"], cls["test", "int8"].astype(np.float64))
        rng = np.random.default_rng(a.seed)
        noisy = {}
        for split in ("train", "test"):  # per text: a random direction, the int8 error's norm
            x, err = cls[split, "float32"], cls[split, "int8"].astype(np.float64) - cls[split, "float32"]
            d = rng.normal(size=x.shape)
            d *= (np.linalg.norm(err, axis=1) / np.linalg.norm(d, axis=1))[:, None]
            noisy[split] = (x + d).astype(np.float32)
        control = head_predictions(train_head(a, work, "noise", noisy["train"], noisy["test"], labels),
                                   noisy["test"].astype(np.float64))
        y = labels["test"]
        result = {
            "config": a.config, "seed": a.seed, "texts": int(len(cos)), "test_texts": int(len(y)),
            "cosine_mean": float(cos.mean()), "cosine_min": float(cos.min()),
            "cosine_p001": float(np.quantile(cos, 0.001)),
            "agreement": float((preds["float32"] == preds["int8"]).mean()),
            "agreement_fp32_head_on_int8_features": float((fp32_head_on_int8 == preds["float32"]).mean()),
            "agreement_control_noise": float((control == preds["float32"]).mean()),
            "accuracy_float32": float((preds["float32"] == y).mean()),
            "accuracy_int8": float((preds["int8"] == y).mean()),
        }
        if "bfloat16" in preds:
            xb = np.concatenate([cls["train", "bfloat16"], cls["test", "bfloat16"]]).astype(np.float64)
            cos_b = (x32 * xb).sum(1) / (np.linalg.norm(x32, axis=1) * np.linalg.norm(xb, axis=1))
            result["bfloat16_cosine_mean"] = float(cos_b.mean())
            result["bfloat16_cosine_min"] = float(cos_b.min())
            result["agreement_bfloat16"] = float((preds["float32"] == preds["bfloat16"]).mean())
            result["accuracy_bfloat16"] = float((preds["bfloat16"] == y).mean())
    print(f"int8 vs float32 [CLS] features, {a.config} random encoder (seed {a.seed}), {result['texts']} Banking77 "
          f"texts: cosine mean {result['cosine_mean']:.6f}, min {result['cosine_min']:.6f}, "
          f"0.1% quantile {result['cosine_p001']:.6f}")
    print(f"heads trained on each ({a.epochs} epochs, seed {a.seed}), {result['test_texts']} test texts: "
          f"agreement {100 * result['agreement']:.2f}%, accuracy float32 {100 * result['accuracy_float32']:.2f}%, "
          f"int8 {100 * result['accuracy_int8']:.2f}%")
    print(f"  the fp32 head on int8 test features: {100 * result['agreement_fp32_head_on_int8_features']:.2f}% "
          f"agreement; control, a head trained on fp32 features + noise of the int8 error's norm: "
          f"{100 * result['agreement_control_noise']:.2f}%")
    if "agreement_bfloat16" in result:
        print(f"  control, the seed's own dtype: bf16 features, cosine to fp32 mean {result['bfloat16_cosine_mean']:.6f} "
              f"min {result['bfloat16_cosine_min']:.6f}; a head trained on them agrees "
              f"{100 * result['agreement_bfloat16']:.2f}% with the fp32 head (accuracy "
              f"{100 * result['accuracy_bfloat16']:.2f}%)")
    if a.json:
        json.dump(result, open(a.json, "w"), indent=1)
    ok = result["cosine_mean"] >= a.min_mean_cosine and result["agreement"] >= a.min_agreement
    if not ok:
        print(f"int8_accuracy: under the bounds (mean cosine >= {a.min_mean_cosine}, agreement >= {a.min_agreement})")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
