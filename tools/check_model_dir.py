"""Oracle for a classifier directory (pipeline/classifier.h), with torch:

1. transformers' AlbertModel.from_pretrained(DIR) would load the encoder as it
   is: replayed from transformers 4.36's rules (modeling_utils
   _load_pretrained_model): the checkpoint's keys carry the base-model prefix
   "albert." and AlbertModel's own keys do not, so the prefix is stripped and
   keys without it are "unexpected" (ignored). We check that the stripped keys
   are exactly AlbertModel's parameters (none missing, which transformers
   would silently initialise at random) and that the unexpected ones are
   exactly the head's four tensors; and that config.json holds what
   AlbertConfig reads (model_type, id2label with string keys).
2. Our torch reference (tools/albert_ref.py + tools/head_ref.py), loaded from
   DIR as transformers would, gives the logits albertc predict --raw-scores
   gives, to float32 rounding.

usage: check_model_dir.py DIR IDS.jsonl PREDICT.jsonl
  IDS.jsonl      albertc tokenize --jsonl output for the texts
  PREDICT.jsonl  albertc predict --raw-scores --top-k 0 output for the same texts
Prints one line and exits 1 on any difference."""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import albert_ref  # noqa: E402
import head_ref  # noqa: E402

PREFIX = "albert."
# fp32 logits of the same weights and ids: albertc and torch sum in other
# orders; encoder features agree to ~1e-6 (tests/test_hf_fixtures.c derives the
# bound), the head's two products (K = hidden, mlp) add at most ~K u |x| |w|.
LOGIT_TOL = 1e-4


def fail(msg):
    print(f"check_model_dir: {msg}")
    sys.exit(1)


def main():
    model_dir, ids_path, predict_path = sys.argv[1:4]
    config = json.load(open(os.path.join(model_dir, "config.json")))
    if config.get("model_type") != "albert":
        fail("config.json: model_type is not albert")
    id2label = config.get("id2label", {})
    if sorted(id2label, key=int) != [str(i) for i in range(len(id2label))]:
        fail("config.json: id2label keys are not the strings 0..N-1")
    tensors, _ = albert_ref.read_safetensors(os.path.join(model_dir, "model.safetensors"))
    ref = albert_ref.AlbertRef(config)
    expected = set(ref.hf_names())
    loaded = set(tensors)
    stripped = {k[len(PREFIX):] for k in loaded if k.startswith(PREFIX)}
    unexpected = {k for k in loaded if not k.startswith(PREFIX)}
    if expected - stripped:
        fail(f"AlbertModel.from_pretrained would miss {sorted(expected - stripped)[:3]}")
    if stripped - expected:
        fail(f"AlbertModel.from_pretrained would find unknown encoder keys {sorted(stripped - expected)[:3]}")
    if unexpected != set(head_ref.NAMES):
        fail(f"keys outside the encoder are {sorted(unexpected)}, expected the head's {head_ref.NAMES}")
    encoder = albert_ref.load_model(config, tensors)
    head = head_ref.make_head({n: tensors[n] for n in head_ref.NAMES}, torch.float32)
    labels = [id2label[str(i)] for i in range(len(id2label))]
    worst, n = 0.0, 0
    for line, answer in zip(open(ids_path), open(predict_path)):
        ids = json.loads(line)["input_ids"]
        hidden, _pooled = albert_ref.run(encoder, np.array([ids]), np.ones((1, len(ids)), dtype=np.int64))
        with torch.no_grad():
            logits = head(torch.from_numpy(hidden[:, 0])).numpy()[0]
        got = {a["label"]: a["score"] for a in json.loads(answer)}
        if sorted(got) != sorted(labels):
            fail(f"line {n + 1}: predict gave labels {sorted(got)[:3]}..., config has {labels[:3]}...")
        worst = max(worst, max(abs(got[labels[j]] - float(logits[j])) for j in range(len(labels))))
        n += 1
    if n == 0:
        fail("no texts compared")
    if not worst <= LOGIT_TOL:
        fail(f"logits differ from the torch reference by {worst:.3g} (> {LOGIT_TOL})")
    print(f"check_model_dir: encoder keys as AlbertModel.from_pretrained loads them, "
          f"logits within {worst:.2g} of torch")
    print(f"model-dir-oracle: {n} passed, 0 failed")


if __name__ == "__main__":
    main()
