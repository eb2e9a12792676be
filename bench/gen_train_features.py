"""Random encoder-like features for timing `albertc train` without an encoder pass.

Writes OUT/train.safetensors (features [10003,768] F32, labels [10003] I64) and
OUT/eval.safetensors ([3080,768]), the Banking77 split sizes, 77 labels. Each
label has its own random centre, so the head has something to learn.
Usage: /usr/bin/python3 bench/gen_train_features.py OUT [--rows 10003 3080] [--hidden 768]
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from albert_ref import write_safetensors  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--rows", type=int, nargs=2, default=[10003, 3080])
    ap.add_argument("--hidden", type=int, default=768)
    ap.add_argument("--labels", type=int, default=77)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    centres = rng.normal(0, 0.5, (a.labels, a.hidden)).astype(np.float32)
    os.makedirs(a.out, exist_ok=True)
    for name, n in (("train", a.rows[0]), ("eval", a.rows[1])):
        y = rng.integers(0, a.labels, n).astype(np.int64)
        x = (centres[y] + rng.normal(0, 1.0, (n, a.hidden))).astype(np.float32)
        write_safetensors(os.path.join(a.out, f"{name}.safetensors"), {"features": x, "labels": y})


if __name__ == "__main__":
    main()
