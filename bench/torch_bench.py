"""PyTorch fp32 and bf16 baselines for `albertc bench`: the same weights, the same batches.

Runs tools/albert_ref.py's AlbertRef (our op-by-op reimplementation of Hugging
Face's AlbertModel; transformers is not installed here) over token ids in
batches of --batch-size in input order, each right-padded to its longest
sequence with [SEP] (id 3) and mask 0, as the reference experiment batches.
It computes last_hidden_state for every position (pad rows included) and the
pooler, as HF's AlbertModel does.

Threads: torch here is Debian's build. In fp32 its matrix products run in the
system OpenBLAS (pthreads) while its other ops run on torch's OpenMP pool. A
row with N threads sets both to N (torch.set_num_threads and
openblas_set_num_threads, as `albertc bench` does). With N = 2 the two pools
spin against each other on a 2-core machine, so one more row gives torch's
fastest fp32 setting: 1 torch thread, 2 OpenBLAS threads. In bf16
(model.to(torch.bfloat16), --dtypes) its matrix products run in the system
oneDNN (the same libdnnl 2.6.3 as albertc, brgemm on AVX512_BF16) on torch's
own OpenMP pool: N threads is torch.set_num_threads(N), one pool.

Reports real tokens/s, examples/s and effective GFLOPS with the FLOP count of
`albertc bench` (matrix products at each sequence's real length, from the
config), so the two tools' numbers compare directly.

  /usr/bin/python3 bench/torch_bench.py --model DIR --input IDS.jsonl [--limit N]
      [--threads 2,1] [--dtypes float32,bfloat16] [--batch-size 8] [--repeat N] [--json]

IDS.jsonl: {"input_ids": [...]} lines (`albertc tokenize --jsonl` writes them).
--compare ALBERTC.json (the output of `albertc bench --json` on the same input)
prints both tools' rows and the speed ratios albertc / PyTorch; --embed
EMBED.json (bench/run.sh: whole `albertc embed` processes, timed) adds those.
"""
import argparse
import ctypes
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from albert_ref import load_model, read_safetensors  # noqa: E402

PAD_ID = 3  # the reference sets pad_token = eos_token ([SEP])


def sequence_flops(c, n):
    """Matrix-product FLOPs of one sequence of n tokens, as `albertc bench` counts them."""
    H, E, I = c["hidden_size"], c["embedding_size"], c["intermediate_size"]
    layer = 8.0 * n * H * H + 4.0 * n * n * H + 4.0 * n * H * I
    return 2.0 * n * E * H + c["num_hidden_layers"] * c.get("inner_group_num", 1) * layer


def read_ids(path, limit):
    seqs = []
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            seqs.append(json.loads(line)["input_ids"])
            if limit and len(seqs) == limit:
                break
    return seqs


def batches(seqs, batch_size):
    for s in range(0, len(seqs), batch_size):
        group = seqs[s:s + batch_size]
        L = max(len(x) for x in group)
        ids = np.full((len(group), L), PAD_ID, dtype=np.int64)
        mask = np.zeros((len(group), L), dtype=np.int64)
        for b, x in enumerate(group):
            ids[b, :len(x)] = x
            mask[b, :len(x)] = 1
        yield torch.from_numpy(ids), torch.from_numpy(mask)


def openblas():
    """The OpenBLAS library torch's matrix products run in (None if not OpenBLAS)."""
    with open("/proc/self/maps") as f:
        paths = {line.split()[-1] for line in f if "libopenblas" in line}
    return ctypes.CDLL(sorted(paths)[0]) if paths else None


HF_QUOTED = {"examples_per_s": 11.0, "gflops": 51.0}  # docs/reference.md: HF fp32, batch 8, this machine


def row_name(r):
    if r["batching"] == "padded":
        return f"batch {r['batch_size']} padded, in order"
    return f"sorted, <= {r['token_budget']} tokens/batch"


def compare(albertc, torch_rows, embed=None):
    """Prints every row of both tools and the ratios at batch 8 (padded, input order), per dtype."""
    print(f"albertc: {albertc['texts']} texts, {albertc['real_tokens']} real tokens, "
          f"{albertc['flop_per_token'] * 1e-6:.1f} MFLOP per real token (matrix products at real lengths); "
          f"{albertc['openblas_config']} (kernel {albertc['openblas_core']})")
    print(f"\n{'tool':8}  {'dtype':8}  {'batching':28}  {'threads':>7}  {'tokens/s':>9}  {'examples/s':>10}"
          f"  {'GFLOPS':>7}  {'cpu %':>6}  engine")
    for r in albertc["rows"]:
        print(f"{'albertc':8}  {r['dtype']:8}  {row_name(r):28}  {r['threads']:7d}  {r['tokens_per_s']:9.0f}"
              f"  {r['examples_per_s']:10.1f}  {r['gflops']:7.1f}  {100 * r['cpu_seconds'] / r['seconds']:6.0f}"
              f"  {r.get('engine', '')}")
    for r in torch_rows:
        threads = f"{r['threads']}+{r['blas_threads']}" if r["blas_threads"] else str(r["threads"])
        engine = "torch/openblas" if r["dtype"] == "float32" else "torch/onednn"
        print(f"{'torch':8}  {r['dtype']:8}  {row_name(r):28}  {threads:>7}  {r['tokens_per_s']:9.0f}"
              f"  {r['examples_per_s']:10.1f}  {r['gflops']:7.1f}  {100 * r['cpu_seconds'] / r['seconds']:6.0f}"
              f"  {engine}")
    print(f"{'HF':8}  {'float32':8}  {'batch 8 padded, in order':28}  {'2':>7}  {'':9}  "
          f"{HF_QUOTED['examples_per_s']:10.1f}  {HF_QUOTED['gflops']:7.1f}   (quoted: docs/reference.md)")
    for e in embed or []:
        print(f"{'embed':8}  {e['dtype']:8}  {'whole process, --batch-size %d' % e['batch_size']:28}  "
              f"{e['threads']:7d}  {'':9}  {e['texts'] / e['seconds']:10.1f}  {'':7}  "
              f"{100 * e['cpu_seconds'] / e['seconds']:6.0f}  {e['engine']}, peak RSS {e['max_rss_kb'] / 1024:.0f} MB")
    print("\nthreads: albertc N = N OpenMP threads (its matrix products included); torch A+B = A torch threads, "
          "B OpenBLAS threads (fp32); torch N (bf16) = N threads of torch's pool, oneDNN's included")
    for dtype in ("float32", "bfloat16", "int8"):
        ours = {r["threads"]: r for r in albertc["rows"] if r["dtype"] == dtype and r["batching"] == "padded"
                and r.get("engine", "").split("/")[-1] != "openblas"}
        theirs = [t for t in torch_rows if t["dtype"] == dtype] or [t for t in torch_rows if t["dtype"] == "bfloat16"]
        if not ours or not theirs:
            continue
        print(f"speed-up of albertc {dtype} over PyTorch {theirs[0]['dtype']}, batch 8 padded, input order "
              f"(examples/s ratio):")
        for t in theirs:
            a = ours.get(max(t["threads"], t["blas_threads"] or 0))
            if a:
                tt = f"{t['threads']}+{t['blas_threads']}" if t["blas_threads"] else str(t["threads"])
                print(f"  albertc {a['threads']} thread(s) / torch {tt}: "
                      f"{a['examples_per_s'] / t['examples_per_s']:.2f}x")
        for e in embed or []:
            if e["dtype"] != dtype:
                continue
            t = max(theirs, key=lambda r: r["examples_per_s"])
            tt = f"{t['threads']}+{t['blas_threads']}" if t["blas_threads"] else str(t["threads"])
            print(f"  whole albertc embed process ({e['threads']} threads, --batch-size {e['batch_size']}) / "
                  f"torch {tt} (its fastest row): {e['texts'] / e['seconds'] / t['examples_per_s']:.2f}x")
    if 2 in {r["threads"] for r in albertc["rows"]}:
        ours32 = [r for r in albertc["rows"] if r["dtype"] == "float32" and r["batching"] == "padded"
                  and r["threads"] == 2]
        for r in ours32:
            print(f"  albertc fp32 ({r.get('engine', '')}) 2 threads / HF transformers (quoted "
                  f"{HF_QUOTED['examples_per_s']} examples/s): {r['examples_per_s'] / HF_QUOTED['examples_per_s']:.2f}x")
    for dtype in ("float32", "bfloat16", "int8"):
        best = max((r for r in albertc["rows"] if r["dtype"] == dtype), key=lambda r: r["gflops"], default=None)
        if best:
            print(f"best albertc {dtype} row: {best['gflops']:.1f} effective GFLOPS ({row_name(best)}, "
                  f"{best['threads']} threads, {best.get('engine', '')})")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="directory with config.json and model.safetensors")
    ap.add_argument("--input", required=True, help="JSONL of input_ids")
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--threads", default="2,1")
    ap.add_argument("--dtypes", default="float32,bfloat16", help="torch dtypes: float32 and/or bfloat16")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=1, help="runs per row; the fastest is kept")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--compare", metavar="ALBERTC_JSON", help="also print albertc's rows and the ratios")
    ap.add_argument("--no-torch", action="store_true", help="with --compare: print albertc's rows only")
    ap.add_argument("--embed", metavar="EMBED_JSON", help="with --compare: whole albertc embed processes (run.sh)")
    a = ap.parse_args()

    with open(os.path.join(a.model, "config.json")) as f:
        config = json.load(f)
    tensors, _ = read_safetensors(os.path.join(a.model, "model.safetensors"))
    dtypes = a.dtypes.split(",")
    models = {d: load_model(config, tensors, getattr(torch, d)) for d in dtypes}
    del tensors
    seqs = read_ids(a.input, a.limit)
    data = list(batches(seqs, a.batch_size))
    real_tokens = sum(len(x) for x in seqs)
    padded_tokens = sum(ids.numel() for ids, _ in data)
    flops = sum(sequence_flops(config, len(x)) for x in seqs)

    blas = openblas()
    threads = [int(t) for t in a.threads.split(",")]
    configs = []  # (dtype, torch threads, OpenBLAS threads or None)
    if "float32" in dtypes:
        configs += [("float32", n, n) for n in threads]
        if blas and max(threads) > 1:
            configs.append(("float32", 1, max(threads)))
    if "bfloat16" in dtypes:
        configs += [("bfloat16", n, None) for n in threads]
    if a.no_torch:
        configs = []
    rows = []
    for dtype, torch_threads, blas_threads in configs:
        model = models[dtype]
        torch.set_num_threads(torch_threads)
        if blas and blas_threads:
            blas.openblas_set_num_threads(blas_threads)
        with torch.no_grad():
            model(*data[0])  # warm-up
            runs = []
            for _ in range(a.repeat):
                t0, c0 = time.perf_counter(), time.process_time()
                for ids, mask in data:
                    model(ids, mask)
                runs.append((time.perf_counter() - t0, time.process_time() - c0))
            seconds, cpu = min(runs)  # the fastest run: the least disturbed by other processes
        rows.append({"dtype": dtype, "batching": "padded", "batch_size": a.batch_size,
                     "threads": torch_threads, "blas_threads": blas_threads if blas else None, "repeat": a.repeat,
                     "batches": len(data), "padded_tokens": padded_tokens, "seconds": seconds,
                     "cpu_seconds": cpu, "tokens_per_s": real_tokens / seconds,
                     "examples_per_s": len(seqs) / seconds, "gflops": flops / seconds * 1e-9})
        if not a.json and not a.compare:
            r = rows[-1]
            if len(rows) == 1:
                print(f"torch {torch.__version__}, {len(seqs)} texts, {real_tokens} real tokens, "
                      f"{flops / real_tokens * 1e-6:.1f} MFLOP per real token")
                print(f"{'dtype':8}  {'batching':26}  {'threads':>7}  {'BLAS':>4}  {'pad %':>7}  {'time s':>8}"
                      f"  {'tokens/s':>9}  {'examples/s':>10}  {'GFLOPS':>7}  {'cpu %':>6}")
            print(f"{dtype:8}  {'batch %d padded, in order' % a.batch_size:26}  {torch_threads:7d}  "
                  f"{(blas_threads or '-') if blas else '?':>4}  "
                  f"{100.0 * (padded_tokens - real_tokens) / padded_tokens:7.1f}  {seconds:8.2f}  "
                  f"{r['tokens_per_s']:9.0f}  {r['examples_per_s']:10.1f}  {r['gflops']:7.1f}  "
                  f"{100.0 * cpu / seconds:6.0f}", flush=True)
    if a.compare:
        embed = None
        if a.embed:
            with open(a.embed) as f:
                embed = [json.loads(line) for line in f if line.strip()]
        with open(a.compare) as f:
            compare(json.load(f), rows, embed)
    elif a.json:
        print(json.dumps({"torch": torch.__version__, "texts": len(seqs), "real_tokens": real_tokens,
                          "flop_per_token": flops / real_tokens, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
