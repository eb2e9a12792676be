"""Writes tests/goldens/head_f32.safetensors and head_bf16.safetensors (tests/test_head.c).

A head H=64, M=32, C=77 (every matmul product above oneDNN's 16^3 threshold, like
the real 768/256/77 head) with torch's default nn.Linear init (seed 1234),
bf16-exact features, and 25 AdamW steps: batch sizes 8, 5 and 7, steps 1-10
without weight decay, 11-25 with lr 0.02 and weight decay 0.3 (1 - lr*wd =
0.994 is visible in bf16), and steps 12 and 25 accumulate two micro-batches.

File contents (float32 unless said):
  init.<name>                    the head before training
  features [N,H], labels [N] I64 rows are consumed in order
  schedule.sizes [S,2] I64       micro-batch sizes (second 0: no accumulation)
  schedule.lr [S], schedule.wd [S] F64
  loss [S,2]                     each micro-batch's mean loss (unscaled)
  logits.step1 [8,C]             first micro-batch of step 1
  step{s}.grad.<name>            gradients before the update of step s
  step{s}.param.<name>           parameters after step s
  step{s}.exp_avg.<name>, step{s}.exp_avg_sq.<name>   (s = 25 only)
for s in SNAPSHOTS; losses for every step.

head_f32 holds the run computed in float64 (rounded to float32 when stored):
albertc's fp32 products sum in a fixed order, the same on every machine, and a
float64 reference is the same whatever order the generating machine's BLAS uses
(torch fp32 is not). tests/test_head.c derives its bounds against it.
head_bf16 holds torch's bf16 run, which albertc replays bit for bit.
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from albert_ref import write_safetensors  # noqa: E402
from head_ref import NAMES, Head, run  # noqa: E402

H, M, C = 64, 32, 77
SNAPSHOTS = (1, 2, 3, 10, 12, 25)
OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "goldens")


def schedule():
    sizes = [8, 5, 7]
    steps = []
    for s in range(1, 26):
        micro = [8, 5] if s in (12, 25) else [sizes[(s - 1) % 3]]
        lr, wd = (0.01, 0.0) if s <= 10 else (0.02, 0.3)
        steps.append((micro, lr, wd))
    return steps


def main():
    torch.manual_seed(1234)
    head = Head(H, M, C)
    init = {n: p.detach().numpy().copy() for n, p in head.named_parameters()}
    sched = schedule()
    n_rows = sum(sum(m) for m, _, _ in sched)
    gen = torch.Generator().manual_seed(99)
    # features look like encoder outputs (scale ~1), bf16-exact so both dtypes see the same input
    features = (torch.randn(n_rows, H, generator=gen) * 0.8).to(torch.bfloat16).float().numpy()
    labels = torch.randint(0, C, (n_rows,), generator=gen).numpy().astype(np.int64)

    sizes = np.zeros((len(sched), 2), dtype=np.int64)
    for i, (m, _, _) in enumerate(sched):
        sizes[i, :len(m)] = m
    for tag, dtype in (("f32", torch.float64), ("bf16", torch.bfloat16)):
        steps = run(init, features, labels, sched, dtype)
        t = {"features": features, "labels": labels, "schedule.sizes": sizes,
             "schedule.lr": np.array([lr for _, lr, _ in sched], dtype=np.float64),
             "schedule.wd": np.array([wd for _, _, wd in sched], dtype=np.float64)}
        for n in NAMES:
            t["init." + n] = init[n]
        loss = np.zeros((len(sched), 2), dtype=np.float32)
        for i, st in enumerate(steps):
            loss[i, :len(st["losses"])] = st["losses"]
        t["loss"] = loss
        t["logits.step1"] = steps[0]["logits"]
        for s in SNAPSHOTS:
            st = steps[s - 1]
            for n in NAMES:
                t[f"step{s}.grad.{n}"] = st["grads"][n]
                t[f"step{s}.param.{n}"] = st["params"][n]
                if s == SNAPSHOTS[-1]:
                    t[f"step{s}.exp_avg.{n}"] = st["exp_avg"][n]
                    t[f"step{s}.exp_avg_sq.{n}"] = st["exp_avg_sq"][n]
        path = os.path.join(OUT, f"head_{tag}.safetensors")
        write_safetensors(path, t, {"generator": "tools/gen_head_goldens.py", "torch": torch.__version__,
                                    "reference_dtype": str(dtype).replace("torch.", "")})
        print(path, os.path.getsize(path), "bytes; losses", [round(float(v), 4) for v in loss[:, 0]])


if __name__ == "__main__":
    main()
