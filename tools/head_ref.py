"""Our PyTorch reference of the trainable part of `albertc train`: the head and AdamW.

The reference training script's head and optimizer, as torch 1.13 runs them on CPU:
  classifier = nn.Sequential(Linear(H, M), GELU(), Linear(M, C))   (exact erf GELU)
  loss = cross_entropy(classifier(features), labels)               (mean)
  opt = torch.optim.AdamW(params, lr, betas, eps, weight_decay)    (foreach=None)
In bf16 the module is `.to(torch.bfloat16)`: parameters, gradients and the Adam
moments (zeros_like(param)) are bf16 and every op rounds its output to bf16.

run() replays a schedule of steps; a step may accumulate k micro-batches, each
loss divided by k before backward (what the HF Trainer does, and what albertc
does for gradient_accumulation_steps), then one optimizer step. Learning rate
and weight decay may change per step (param_groups[0]).

Facts about torch 1.13 CPU bf16 that albertc replays (measured with this file):
  - addmm (Linear) with m*k*n > 16^3 goes through oneDNN: fp32 accumulation,
    one rounding of (x W^T + b); smaller products use a fallback GEMM that
    rounds differently, so golden sizes keep every product above 16^3.
  - GELU (fp32 and bf16) runs through oneDNN's eltwise gelu_erf: erf by
    Abramowitz & Stegun 7.1.26 with oneDNN's own exp polynomial (albertc
    replays it bit for bit); bf16 rounds that fp32 result once.
  - log_softmax: max; s = bf16(sum exp(x - max)) (fp32 sum); lse = bf16(log s);
    out = bf16(x - max - lse) computed in fp32.
  - nll_loss mean: cascade sum in bf16 arithmetic (each add rounded), / bf16(B).
  - AdamW: mul_ by a Python scalar rounds the scalar to bf16 first (b2 = 0.999
    becomes 1.0, 1 - lr*wd = 0.99999 becomes 1.0); add_(g, alpha) is one fused
    rounding with alpha in bf16, except the last n % 32 elements of a tensor
    (scalar tail loop: two roundings); addcmul_ is fma(value*g, g, v) and
    addcdiv_ p + (value*m)/d, in fp32 with the value in fp32; div by a scalar
    and add_(eps) use the scalar in bf16. fp32 add_/addcmul_ are fused too.
"""
import numpy as np
import torch
from torch import nn

NAMES = ["classifier.0.weight", "classifier.0.bias", "classifier.2.weight", "classifier.2.bias"]


class Head(nn.Module):
    def __init__(self, hidden, mlp, classes):
        super().__init__()
        self.classifier = nn.Sequential(nn.Linear(hidden, mlp), nn.GELU(), nn.Linear(mlp, classes))

    def forward(self, x):
        return self.classifier(x)


def make_head(init, dtype):
    """init: dict name -> float32 array (the 4 NAMES)."""
    w1 = init["classifier.0.weight"]
    w2 = init["classifier.2.weight"]
    head = Head(w1.shape[1], w1.shape[0], w2.shape[0])
    with torch.no_grad():
        for name, p in head.named_parameters():
            p.copy_(torch.from_numpy(np.asarray(init[name], dtype=np.float32)))
    return head.to(dtype)


def run(init, features, labels, schedule, dtype, betas=(0.9, 0.999), eps=1e-8):
    """schedule: list of (micro_batch_sizes, lr, weight_decay); rows are taken in order.
    Returns per step: losses of each micro-batch, logits of its first micro-batch,
    grads before the update, params / exp_avg / exp_avg_sq after it (float32 numpy)."""
    head = make_head(init, dtype)
    opt = torch.optim.AdamW(head.parameters(), lr=schedule[0][1], betas=betas, eps=eps,
                            weight_decay=schedule[0][2])
    x_all = torch.from_numpy(features).to(dtype)
    y_all = torch.from_numpy(labels.astype(np.int64))
    row, out = 0, []
    params = dict(head.named_parameters())
    for sizes, lr, wd in schedule:
        opt.param_groups[0]["lr"] = lr
        opt.param_groups[0]["weight_decay"] = wd
        opt.zero_grad()
        losses, first_logits = [], None
        for b in sizes:
            logits = head(x_all[row:row + b])
            loss = nn.functional.cross_entropy(logits, y_all[row:row + b])
            (loss / len(sizes) if len(sizes) > 1 else loss).backward()
            losses.append(loss.float().item())
            if first_logits is None:
                first_logits = logits.detach().float().numpy()
            row += b
        grads = {n: params[n].grad.float().numpy().copy() for n in NAMES}
        opt.step()
        state = opt.state
        out.append({
            "losses": losses,
            "logits": first_logits,
            "grads": grads,
            "params": {n: params[n].detach().float().numpy().copy() for n in NAMES},
            "exp_avg": {n: state[params[n]]["exp_avg"].float().numpy().copy() for n in NAMES},
            "exp_avg_sq": {n: state[params[n]]["exp_avg_sq"].float().numpy().copy() for n in NAMES},
        })
    return out
