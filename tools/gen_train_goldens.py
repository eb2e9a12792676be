"""Writes tests/goldens/train_f32.safetensors and train_bf16.safetensors (tests/test_trainer.c).

A whole `albertc train` loop replayed in torch on fixed features: the head
(tools/head_ref.py: Linear(64, 32) -> GELU -> Linear(32, 77), torch's default
init, seed 321), AdamW, our epoch permutation (SplitMix64 Fisher-Yates, see
src/train/trainer.h), batches with drop_last, gradient accumulation, train/loss
windows, validation at step 0 / every val_steps_freq / after the last step.
Two runs per dtype:
  a: batch 8, 3 epochs of all 8 batches, accumulation 1, steps_freq 3, val every 4
  b: batch 8, max_steps_per_epoch 7, accumulation 2 (3 steps per epoch), 3 epochs,
     steps_freq 2, val every 4 (the last step, 9, gets the final validation)
Every product is above oneDNN's 16^3 threshold (see head_ref.py).

train_f32 holds the run computed in float64 (the exact run, to ~1e-15): albertc's
fp32 sums in a fixed order, so its result is the same on every machine, and the
float64 reference is the same whatever order the generating machine's BLAS uses
(a torch fp32 reference would move with the BLAS kernel by ~1e-5 here, see
tests/test_trainer.c). train_bf16 holds torch's bf16 run, which albertc replays.

File contents:
  features [70,64] F32, labels [70] I64        train split (bf16-exact values)
  eval.features [21,64] F32, eval.labels [21] I64   eval split (last batch partial)
  classifier.{0,2}.{weight,bias}               the initial head (an init_head file)
  {run}.train.step I64, {run}.train.loss F64   the train/loss lines
  {run}.val.step I64, {run}.val.loss F64, {run}.val.accuracy F64
  __metadata__ {run}.config: the --set lines of the run (JSON list)
"""
import json
import os
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from albert_ref import write_safetensors  # noqa: E402
from head_ref import NAMES, Head, make_head  # noqa: E402

H, M, C = 64, 32, 77
N_TRAIN, N_EVAL = 70, 21
SEED = 5
OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "goldens")
M64 = (1 << 64) - 1

RUNS = {
    "a": dict(batch_size=8, num_epochs=3, max_steps_per_epoch=0, gradient_accumulation_steps=1, steps_freq=3,
              val_steps_freq=4, learning_rate=0.01, weight_decay=0.05),
    "b": dict(batch_size=8, num_epochs=3, max_steps_per_epoch=7, gradient_accumulation_steps=2, steps_freq=2,
              val_steps_freq=4, learning_rate=0.02, weight_decay=0.3),
}


def splitmix64(state):
    state = (state + 0x9E3779B97F4A7C15) & M64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return state, z ^ (z >> 31)


def epoch_seed(seed, epoch):
    return splitmix64(seed ^ ((epoch * 0xD1B54A32D192ED03) & M64))[1]


def permutation(n, seed):
    perm, s = list(range(n)), seed
    for i in range(n - 1, 0, -1):
        s, r = splitmix64(s)
        j = (r * (i + 1)) >> 64
        perm[i], perm[j] = perm[j], perm[i]
    return perm


def validate(head, x, y, B):
    losses, correct = [], 0
    with torch.no_grad():
        for start in range(0, len(y), B):
            logits = head(x[start:start + B])
            losses.append(nn.functional.cross_entropy(logits, y[start:start + B]).item())
            correct += int((logits.argmax(dim=1) == y[start:start + B]).sum())
    total = 0.0
    for v in losses:
        total += v
    return total / len(losses), correct / len(y)


def train(init, xtr, ytr, xev, yev, dtype, cfg):
    head = make_head(init, dtype)
    opt = torch.optim.AdamW(head.parameters(), lr=cfg["learning_rate"], betas=(0.9, 0.999), eps=1e-8,
                            weight_decay=cfg["weight_decay"])
    x, y = torch.from_numpy(xtr).to(dtype), torch.from_numpy(ytr)
    xe, ye = torch.from_numpy(xev).to(dtype), torch.from_numpy(yev)
    B, k = cfg["batch_size"], cfg["gradient_accumulation_steps"]
    batches = N_TRAIN // B
    if cfg["max_steps_per_epoch"]:
        batches = min(batches, cfg["max_steps_per_epoch"])
    steps_per_epoch = batches // k
    train_log, val_log, window, step, last_val = [], [], [], 0, -1

    def val():
        nonlocal last_val
        val_log.append((step, *validate(head, xe, ye, B)))
        last_val = step

    val()
    for epoch in range(1, cfg["num_epochs"] + 1):
        perm = permutation(N_TRAIN, epoch_seed(SEED, epoch))
        for s in range(steps_per_epoch):
            opt.zero_grad()
            loss_sum = 0.0
            for j in range(k):
                rows = perm[(s * k + j) * B:(s * k + j + 1) * B]
                loss = nn.functional.cross_entropy(head(x[rows]), y[rows])
                (loss / k if k > 1 else loss).backward()
                loss_sum += loss.item()
            opt.step()
            step += 1
            window.append(loss_sum / k)
            if step % cfg["steps_freq"] == 0:
                total = 0.0
                for v in window:
                    total += v
                train_log.append((step, total / len(window)))
                window = []
            if step % cfg["val_steps_freq"] == 0:
                val()
    if last_val != step:
        val()
    return train_log, val_log


def main():
    torch.manual_seed(321)
    head = Head(H, M, C)
    init = {n: p.detach().numpy().copy() for n, p in head.named_parameters()}
    gen = torch.Generator().manual_seed(77)
    centres = torch.randn(C, H, generator=gen) * 0.5
    ytr = torch.randint(0, C, (N_TRAIN,), generator=gen)
    yev = torch.randint(0, C, (N_EVAL,), generator=gen)
    # encoder-like features around a centre per label, bf16-exact so both dtypes see the same input
    xtr = (centres[ytr] + torch.randn(N_TRAIN, H, generator=gen) * 0.8).to(torch.bfloat16).float().numpy()
    xev = (centres[yev] + torch.randn(N_EVAL, H, generator=gen) * 0.8).to(torch.bfloat16).float().numpy()
    ytr, yev = ytr.numpy().astype(np.int64), yev.numpy().astype(np.int64)
    for tag, dtype in (("f32", torch.float64), ("bf16", torch.bfloat16)):
        t = {"features": xtr, "labels": ytr, "eval.features": xev, "eval.labels": yev}
        t.update({n: init[n] for n in NAMES})
        meta = {"generator": "tools/gen_train_goldens.py", "torch": torch.__version__, "seed": str(SEED),
                "reference_dtype": str(dtype).replace("torch.", "")}
        for run, cfg in RUNS.items():
            train_log, val_log = train(init, xtr, ytr, xev, yev, dtype, cfg)
            t[f"{run}.train.step"] = np.array([s for s, _ in train_log], dtype=np.int64)
            t[f"{run}.train.loss"] = np.array([v for _, v in train_log], dtype=np.float64)
            t[f"{run}.val.step"] = np.array([s for s, _, _ in val_log], dtype=np.int64)
            t[f"{run}.val.loss"] = np.array([v for _, v, _ in val_log], dtype=np.float64)
            t[f"{run}.val.accuracy"] = np.array([a for _, _, a in val_log], dtype=np.float64)
            meta[f"{run}.config"] = json.dumps([f"{k}={v}" for k, v in cfg.items()])
            print(tag, run, "train", [round(v, 4) for _, v in train_log], "val", [round(v, 4) for _, v, _ in val_log])
        path = os.path.join(OUT, f"train_{tag}.safetensors")
        write_safetensors(path, t, meta)
        print(path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
