"""PyTorch fp32 baseline for `albertc bench`: the same weights, the same batches.

Runs tools/albert_ref.py's AlbertRef (our op-by-op reimplementation of Hugging
Face's AlbertModel; transformers is not installed here) over token ids in
batches of --batch-size in input order, each right-padded to its longest
sequence with [SEP] (id 3) and mask 0, as the reference experiment batches.
It computes last_hidden_state for every position (pad rows included) and the
pooler, as HF's AlbertModel does.

Threads: torch here is Debian's build, whose matrix products run in the
system OpenBLAS (pthreads, the same library and kernel as albertc) while its
other ops run on torch's OpenMP pool. A row with N threads sets both to N
(torch.set_num_threads and openblas_set_num_threads, as `albertc bench` does).
With N = 2 the two pools spin against each other on a 2-core machine, so one
more row gives torch's fastest setting: 1 torch thread, 2 OpenBLAS threads.

Reports real tokens/s, examples/s and effective GFLOPS with the FLOP count of
`albertc bench` (matrix products at each sequence's real length, from the
config), so the two tools' numbers compare directly.

  /usr/bin/python3 bench/torch_bench.py --model DIR --input IDS.jsonl [--limit N]
      [--threads 2,1] [--batch-size 8] [--repeat N] [--json]

IDS.jsonl: {"input_ids": [...]} lines (`albertc tokenize --jsonl` writes them).
--compare ALBERTC.json (the output of `albertc bench --json` on the same input)
prints both tools' rows and the speed ratios albertc / PyTorch.
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


def compare(albertc, torch_rows):
    """Prints every row of both tools and the ratios at batch 8 (fp32, padded, input order)."""
    print(f"albertc: {albertc['texts']} texts, {albertc['real_tokens']} real tokens, "
          f"{albertc['flop_per_token'] * 1e-6:.1f} MFLOP per real token (matrix products at real lengths); "
          f"{albertc['openblas_config']} (kernel {albertc['openblas_core']})")
    print(f"\n{'tool':8}  {'dtype':8}  {'batching':28}  {'threads':>7}  {'tokens/s':>9}  {'examples/s':>10}"
          f"  {'GFLOPS':>7}  {'cpu %':>6}")
    for r in albertc["rows"]:
        print(f"{'albertc':8}  {r['dtype']:8}  {row_name(r):28}  {r['threads']:7d}  {r['tokens_per_s']:9.0f}"
              f"  {r['examples_per_s']:10.1f}  {r['gflops']:7.1f}  {100 * r['cpu_seconds'] / r['seconds']:6.0f}")
    for r in torch_rows:
        threads = f"{r['threads']}+{r['blas_threads']}" if r["blas_threads"] else str(r["threads"])
        print(f"{'torch':8}  {r['dtype']:8}  {row_name(r):28}  {threads:>7}  {r['tokens_per_s']:9.0f}"
              f"  {r['examples_per_s']:10.1f}  {r['gflops']:7.1f}  {100 * r['cpu_seconds'] / r['seconds']:6.0f}")
    print(f"{'HF':8}  {'float32':8}  {'batch 8 padded, in order':28}  {'2':>7}  {'':9}  "
          f"{HF_QUOTED['examples_per_s']:10.1f}  {HF_QUOTED['gflops']:7.1f}   (quoted: docs/reference.md)")
    print("\nthreads: albertc N = N OpenMP threads (its matrix products included); torch A+B = A torch threads, "
          "B OpenBLAS threads")
    ours = {r["threads"]: r for r in albertc["rows"] if r["dtype"] == "float32" and r["batching"] == "padded"}
    print("speed-up of albertc over PyTorch fp32, batch 8 padded, input order (examples/s ratio):")
    for t in torch_rows:
        a = ours.get(max(t["threads"], t["blas_threads"] or 0))
        if a:
            print(f"  albertc {a['threads']} thread(s) / torch {t['threads']}+{t['blas_threads']}: "
                  f"{a['examples_per_s'] / t['examples_per_s']:.2f}x")
    if 2 in ours:
        print(f"  albertc 2 threads / HF transformers (quoted {HF_QUOTED['examples_per_s']} examples/s): "
              f"{ours[2]['examples_per_s'] / HF_QUOTED['examples_per_s']:.2f}x")
    best = max((r for r in albertc["rows"] if r["dtype"] == "float32"), key=lambda r: r["gflops"], default=None)
    if best:
        print(f"best albertc fp32 row: {best['gflops']:.1f} effective GFLOPS ({row_name(best)}, "
              f"{best['threads']} threads)")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="directory with config.json and model.safetensors")
    ap.add_argument("--input", required=True, help="JSONL of input_ids")
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--threads", default="2,1")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=1, help="runs per row; the fastest is kept")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--compare", metavar="ALBERTC_JSON", help="also print albertc's rows and the ratios")
    ap.add_argument("--no-torch", action="store_true", help="with --compare: print albertc's rows only")
    a = ap.parse_args()

    with open(os.path.join(a.model, "config.json")) as f:
        config = json.load(f)
    tensors, _ = read_safetensors(os.path.join(a.model, "model.safetensors"))
    model = load_model(config, tensors, torch.float32)
    del tensors
    seqs = read_ids(a.input, a.limit)
    data = list(batches(seqs, a.batch_size))
    real_tokens = sum(len(x) for x in seqs)
    padded_tokens = sum(ids.numel() for ids, _ in data)
    flops = sum(sequence_flops(config, len(x)) for x in seqs)

    blas = openblas()
    threads = [int(t) for t in a.threads.split(",")]
    configs = [(n, n) for n in threads]  # (torch threads, OpenBLAS threads)
    if blas and max(threads) > 1:
        configs.append((1, max(threads)))
    if a.no_torch:
        configs = []
    rows = []
    for torch_threads, blas_threads in configs:
        torch.set_num_threads(torch_threads)
        if blas:
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
        rows.append({"dtype": "float32", "batching": "padded", "batch_size": a.batch_size,
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
            print(f"{'float32':8}  {'batch %d padded, in order' % a.batch_size:26}  {torch_threads:7d}  "
                  f"{blas_threads if blas else '?':>4}  "
                  f"{100.0 * (padded_tokens - real_tokens) / padded_tokens:7.1f}  {seconds:8.2f}  "
                  f"{r['tokens_per_s']:9.0f}  {r['examples_per_s']:10.1f}  {r['gflops']:7.1f}  "
                  f"{100.0 * cpu / seconds:6.0f}", flush=True)
    if a.compare:
        with open(a.compare) as f:
            compare(json.load(f), rows)
    elif a.json:
        print(json.dumps({"torch": torch.__version__, "texts": len(seqs), "real_tokens": real_tokens,
                          "flop_per_token": flops / real_tokens, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
