"""albertc's bf16 features against Debian's torch bf16 on the same machine.

  /usr/bin/python3 tools/check_bf16_torch.py MODEL_DIR IDS.jsonl OUT.safetensors [--min-identical F]

MODEL_DIR: config.json + model.safetensors (tests/oracle/check_bf16_torch.sh
writes random base-size weights with `albertc init-model --config base`).
IDS.jsonl: {"input_ids": [...]} per line (`albertc tokenize --jsonl`).
OUT: what `albertc embed --all-tokens --dtype bfloat16` wrote for IDS.

torch runs tools/albert_ref.py (transformers' AlbertModel op by op) with
model.to(torch.bfloat16), twice:
  alone   each text in a batch of its own, unpadded;
  padded  batches of 8 texts in input order, right-padded to the longest
          (the reference experiment's batching).
torch's own bf16 result for a text depends on its batch: its softmax sums
exp() in 8 lanes over the first L - L % 8 keys of the padded length L and
one by one over the rest (and takes exp from SLEEF there, from libm here),
so padding moves real keys between the two. albertc's features do not depend
on the batch (serve and predict rely on it), and equal torch's for the text
alone. So `alone` is the fidelity measure (--min-identical applies to it);
`padded` is reported with torch padded against torch alone beside it, which
is the whole of the difference when albertc equals torch alone.

Compared over every real position: the last hidden state (bit-identical
share, max abs difference), the [CLS] rows (the classifier's features) and
the pooler output; and how many texts have a differing value.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import albert_ref  # noqa: E402


class Compare:
    def __init__(self):
        self.hid_same = self.hid_total = self.cls_same = self.pool_same = self.n = 0
        self.hid_max = self.cls_max = self.pool_max = 0.0
        self.texts = []  # (text index, values differing)

    def add(self, i, h_a, p_a, h_b, p_b):
        same = h_a.view(np.uint32) == h_b.view(np.uint32)
        self.hid_same += int(same.sum())
        self.hid_total += same.size
        self.hid_max = max(self.hid_max, float(np.abs(h_a - h_b).max()))
        if not same.all():
            self.texts.append((i, int((~same).sum())))
        self.cls_same += int(same[0].sum())
        self.cls_max = max(self.cls_max, float(np.abs(h_a[0] - h_b[0]).max()))
        self.pool_same += int((p_a.view(np.uint32) == p_b.view(np.uint32)).sum())
        self.pool_max = max(self.pool_max, float(np.abs(p_a - p_b).max()))
        self.n += 1

    def share(self):
        return self.hid_same / self.hid_total

    def report(self, title, H):
        print(f"{title}:")
        print(f"  last_hidden_state: {self.hid_same}/{self.hid_total} bit-identical ({100 * self.share():.5f}%), "
              f"max abs difference {self.hid_max:.4g}")
        print(f"  [CLS] features:    {self.cls_same}/{self.n * H} bit-identical "
              f"({100 * self.cls_same / (self.n * H):.5f}%), max abs difference {self.cls_max:.4g}")
        print(f"  pooler_output:     {self.pool_same}/{self.n * H} bit-identical "
              f"({100 * self.pool_same / (self.n * H):.5f}%), max abs difference {self.pool_max:.4g}")
        shown = ", ".join(f"{i} ({nd})" for i, nd in self.texts[:8])
        print(f"  texts with a differing value: {len(self.texts)}/{self.n}" + (f": {shown}" if shown else ""))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir")
    ap.add_argument("ids")
    ap.add_argument("out")
    ap.add_argument("--min-identical", type=float, default=0.9999)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-padded", action="store_true", help="skip the padded batches")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)

    config = json.load(open(f"{a.model_dir}/config.json"))
    weights, _ = albert_ref.read_safetensors(f"{a.model_dir}/model.safetensors")
    got, _ = albert_ref.read_safetensors(a.out)
    seqs = [json.loads(line)["input_ids"] for line in open(a.ids)]
    model = albert_ref.load_model(config, weights, torch.bfloat16)
    H = config["hidden_size"]
    ours = [(got["last_hidden_state"][i, :len(s)], got["pooler_output"][i]) for i, s in enumerate(seqs)]

    alone = albert_ref.run_padded(model, seqs, 1)
    vs_alone = Compare()
    for i, ((h, p), (th, tp)) in enumerate(zip(ours, alone)):
        vs_alone.add(i, h, p, th, tp)
    print(f"bf16: albertc against torch {torch.__version__} (oneDNN {torch.backends.mkldnn.is_available() and 'on'}), "
          f"{len(seqs)} Banking77 texts, {a.threads} threads")
    vs_alone.report("albertc vs torch, each text alone", H)
    if not a.no_padded:
        padded = albert_ref.run_padded(model, seqs, 8)
        vs_padded, torch_self = Compare(), Compare()
        for i, ((h, p), (th, tp), (ah, ap_)) in enumerate(zip(ours, padded, alone)):
            vs_padded.add(i, h, p, th, tp)
            torch_self.add(i, ah, ap_, th, tp)
        vs_padded.report("albertc vs torch, batches of 8 padded", H)
        torch_self.report("torch alone vs torch in batches of 8 padded (torch's own batch dependence)", H)
    ok = vs_alone.share() >= a.min_identical
    print(f"bf16-torch-oracle: {1 if ok else 0} passed, {0 if ok else 1} failed "
          f"(bit-identical share vs torch alone {vs_alone.share():.6f}, required >= {a.min_identical})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
