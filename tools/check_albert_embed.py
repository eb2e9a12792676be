"""Measure `albertc embed` against tools/albert_ref.py on any model directory.

  /usr/bin/python3 tools/check_albert_embed.py MODEL_DIR INPUT.jsonl OUT.safetensors DTYPE
INPUT lines must be {"input_ids": [...]} (texts: run `albertc tokenize --jsonl` first);
OUT is what `albertc embed --all-tokens --dtype DTYPE` wrote. Prints the max abs
error over real positions of last_hidden_state and over pooler_output, the
number of differing values, and (for bf16) the same against the fp32 reference."""
import json
import sys

import numpy as np
import torch

import albert_ref


def main():
    model_dir, inp, out, dtype = sys.argv[1:5]
    config = json.load(open(f"{model_dir}/config.json"))
    weights, _ = albert_ref.read_safetensors(f"{model_dir}/model.safetensors")
    got, meta = albert_ref.read_safetensors(out)
    seqs = [json.loads(line)["input_ids"] for line in open(inp)]
    tdt = torch.bfloat16 if dtype == "bfloat16" else torch.float32
    models = {"ref": albert_ref.load_model(config, weights, tdt)}
    if tdt != torch.float32:
        models["fp32"] = albert_ref.load_model(config, weights, torch.float32)
    for tag, model in models.items():
        eh = ep = 0.0
        nd = total = 0
        # the reference's batch size, padded with id 3
        for i, (h, p) in enumerate(albert_ref.run_padded(model, seqs, 8, pad_id=3)):
            d = np.abs(got["last_hidden_state"][i, :len(h)] - h)
            eh = max(eh, float(d.max()))
            nd += int((d > 0).sum())
            total += d.size
            ep = max(ep, float(np.abs(got["pooler_output"][i] - p).max()))
        print(f"{dtype} albertc vs torch {tag}: max abs hidden {eh:.3g} pooler {ep:.3g}; "
              f"hidden values differing {nd}/{total}")


if __name__ == "__main__":
    torch.set_num_threads(2)
    main()
