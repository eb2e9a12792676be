"""Our PyTorch reference of Hugging Face's AlbertModel (eval mode), forward only.

Written from docs/reference.md and transformers' modeling_albert (4.36) op by op,
in the same order, so that `model.to(torch.bfloat16)` rounds exactly where the
real module rounds (torch CPU kernels compute in fp32 and round each op's output):
  embeddings = LayerNorm((word[x] + type[t]) + pos[i])     two adds, each rounded
  h = Linear_map(e)                                         addmm: rounded once
  per layer: q,k,v = Linear(h); s = (q k^T) / sqrt(d); s = s + ext_mask;
             p = softmax(s); ctx = p v; a = LayerNorm(h + Linear_d(ctx));
             f = Linear_2(act(Linear_1(a))); h = LayerNorm(f + a)
  pooler = tanh(Linear_p(h[:, 0]))
ext_mask = (1 - mask) * finfo(dtype).min in the model's dtype (bf16: -3.3895e38).
gelu_new is the Python formula of NewGELUActivation (each op rounded in bf16).

Also: safetensors read/write with numpy + json (no safetensors package here).
"""
import json
import math
import struct

import numpy as np
import torch
from torch import nn

# ---------------------------------------------------------------- safetensors

_NP_OF = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32,
          "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_, "F16": np.float16}
_ST_OF = {np.dtype(v): k for k, v in _NP_OF.items()}


def read_safetensors(path):
    """-> (dict name -> np.ndarray (BF16 returned as float32), metadata dict)."""
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack("<Q", buf[:8])
    header = json.loads(buf[8:8 + n])
    meta = header.pop("__metadata__", {}) or {}
    base = 8 + n
    out = {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        raw = buf[base + b:base + e]
        if info["dtype"] == "BF16":
            u = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            arr = u.view(np.float32)
        else:
            arr = np.frombuffer(raw, dtype=np.dtype(_NP_OF[info["dtype"]]).newbyteorder("<"))
        out[name] = arr.reshape(info["shape"]).copy()
    return out, meta


def write_safetensors(path, tensors, metadata=None):
    """Hugging Face layout: header padded with spaces to 8 bytes, names sorted."""
    header, blobs, off = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name])
        data = a.astype(a.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": _ST_OF[a.dtype], "shape": list(a.shape),
                        "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


# ---------------------------------------------------------------- model

def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


ACTIVATIONS = {
    "gelu_new": gelu_new,
    "gelu": nn.functional.gelu,
    "gelu_pytorch_tanh": lambda x: nn.functional.gelu(x, approximate="tanh"),
    "relu": nn.functional.relu,
}


class AlbertLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        H, I, eps = c["hidden_size"], c["intermediate_size"], c["layer_norm_eps"]
        self.heads = c["num_attention_heads"]
        self.head_dim = H // self.heads
        self.query, self.key, self.value, self.dense = (nn.Linear(H, H) for _ in range(4))
        self.attn_norm = nn.LayerNorm(H, eps=eps)
        self.ffn = nn.Linear(H, I)
        self.ffn_output = nn.Linear(I, H)
        self.full_norm = nn.LayerNorm(H, eps=eps)
        self.act = ACTIVATIONS[c["hidden_act"]]

    def split(self, x):  # [B, L, H] -> [B, heads, L, d]
        B, L, _ = x.shape
        return x.view(B, L, self.heads, self.head_dim).permute(0, 2, 1, 3)

    def forward(self, h, ext_mask):
        q, k, v = self.split(self.query(h)), self.split(self.key(h)), self.split(self.value(h))
        s = torch.matmul(q, k.transpose(-1, -2))
        s = s / math.sqrt(self.head_dim)
        s = s + ext_mask
        p = nn.functional.softmax(s, dim=-1)
        ctx = torch.matmul(p, v).transpose(2, 1).flatten(2)
        a = self.attn_norm(h + self.dense(ctx))
        f = self.ffn_output(self.act(self.ffn(a)))
        return self.full_norm(f + a)


class AlbertRef(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        E, H = c["embedding_size"], c["hidden_size"]
        self.word = nn.Embedding(c["vocab_size"], E)
        self.pos = nn.Embedding(c["max_position_embeddings"], E)
        self.token_type = nn.Embedding(c["type_vocab_size"], E)
        self.emb_norm = nn.LayerNorm(E, eps=c["layer_norm_eps"])
        self.mapping = nn.Linear(E, H)
        self.groups = nn.ModuleList(
            nn.ModuleList(AlbertLayer(c) for _ in range(c["inner_group_num"]))
            for _ in range(c["num_hidden_groups"]))
        self.pooler = nn.Linear(H, H)

    def forward(self, ids, mask, types=None):
        c = self.c
        B, L = ids.shape
        dtype = self.mapping.weight.dtype
        pos_ids = torch.arange(L).unsqueeze(0).expand(B, L)
        e = self.word(ids) + self.token_type(torch.zeros_like(ids) if types is None else types)
        e = e + self.pos(pos_ids)
        h = self.mapping(self.emb_norm(e))
        ext = mask[:, None, None, :].to(dtype)
        ext = (1.0 - ext) * torch.finfo(dtype).min
        nl, ng = c["num_hidden_layers"], c["num_hidden_groups"]
        for i in range(nl):
            for layer in self.groups[int(i / (nl / ng))]:
                h = layer(h, ext)
        pooled = torch.tanh(self.pooler(h[:, 0]))
        return h, pooled

    # Hugging Face tensor names (without the "albert." prefix) -> our parameters.
    def hf_names(self):
        names = {
            "embeddings.word_embeddings.weight": self.word.weight,
            "embeddings.position_embeddings.weight": self.pos.weight,
            "embeddings.token_type_embeddings.weight": self.token_type.weight,
            "embeddings.LayerNorm.weight": self.emb_norm.weight,
            "embeddings.LayerNorm.bias": self.emb_norm.bias,
            "encoder.embedding_hidden_mapping_in.weight": self.mapping.weight,
            "encoder.embedding_hidden_mapping_in.bias": self.mapping.bias,
            "pooler.weight": self.pooler.weight,
            "pooler.bias": self.pooler.bias,
        }
        parts = {"attention.query": "query", "attention.key": "key", "attention.value": "value",
                 "attention.dense": "dense", "attention.LayerNorm": "attn_norm", "ffn": "ffn",
                 "ffn_output": "ffn_output", "full_layer_layer_norm": "full_norm"}
        for g, group in enumerate(self.groups):
            for i, layer in enumerate(group):
                for hf, ours in parts.items():
                    mod = getattr(layer, ours)
                    for wb in ("weight", "bias"):
                        names[f"encoder.albert_layer_groups.{g}.albert_layers.{i}.{hf}.{wb}"] = getattr(mod, wb)
        return names

    def load_hf(self, tensors):
        with torch.no_grad():
            for name, p in self.hf_names().items():
                t = tensors.get(name, tensors.get("albert." + name))
                if t is None:
                    raise KeyError(name)
                p.copy_(torch.from_numpy(np.asarray(t, dtype=np.float32)).reshape(p.shape))


def load_model(config, tensors, dtype=torch.float32):
    m = AlbertRef(config)
    m.load_hf(tensors)
    return m.to(dtype).eval()


def run(model, ids, mask, types=None):
    """ids, mask, types (token_type_ids, None: all 0): int arrays [B, L]
    -> (last_hidden [B,L,H], pooler [B,H]) float32 numpy."""
    with torch.no_grad():
        h, p = model(torch.as_tensor(ids, dtype=torch.long), torch.as_tensor(mask, dtype=torch.long),
                     None if types is None else torch.as_tensor(types, dtype=torch.long))
    return h.float().numpy(), p.float().numpy()


def run_padded(model, seqs, batch_size, pad_id=0):
    """seqs: token id lists, run in input order in right-padded batches of
    batch_size -> per sequence (last_hidden [n, H], pooler [H]) float32 numpy."""
    out = []
    for start in range(0, len(seqs), batch_size):
        batch = seqs[start:start + batch_size]
        L = max(len(s) for s in batch)
        ids = np.full((len(batch), L), pad_id, np.int64)
        mask = np.zeros((len(batch), L), np.int64)
        for b, s in enumerate(batch):
            ids[b, :len(s)] = s
            mask[b, :len(s)] = 1
        h, p = run(model, ids, mask)
        out.extend((h[b, :len(s)].copy(), p[b].copy()) for b, s in enumerate(batch))
    return out
