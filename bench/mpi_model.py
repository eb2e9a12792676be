"""Cost model of the feature pass over N MPI ranks (bench/mpi_bench.sh runs it).

The work of a pass is its encoder batches: each rank forwards the batches it is
dealt (src/pipeline/encode.c, encode_plan: the single-process batches of at
most 64 texts and 1024 padded tokens, length-sorted, each dealt to the rank with
the fewest padded tokens so far). Modelled time of the pass on N ranks:

    T(N) = max_r W_r / (rate * min(1, cores / N))      the slowest rank's batches
         + bytes / bandwidth - overlap                  the gather into rank 0
    bytes = N_texts * hidden * 4                        ([CLS] features, fp32)

W_r = padded tokens (B * L) of rank r's batches, from the real token lengths;
rate = padded tokens per second of one rank with one thread, fitted on the
1-rank run. The gather streams while the ranks compute (rounds of 4 batches per
rank), so only what exceeds the compute time, plus the last round, is added.
Outside the pass, the tokenizing (encode_make_plan): each rank tokenizes a 1/N
share for the lengths, the lengths are all-gathered (4 bytes a text), and each
rank tokenizes its own batches' texts again before it encodes them, about 2/N
of the texts per rank:

    T_tok(N) = N_texts / (N * tokenizer_rate)           the shares, for the lengths
             + 4 * N_texts * (N - 1) / N / bandwidth    the lengths' all-gather
    and rank r's own texts / tokenizer_rate, added to its W_r / rate in the max

Alone, one rank tokenizes every text once and nothing is gathered.

Usage: mpi_model.py TRAIN.jsonl TEST.jsonl MODEL_DIR ALBERTC RESULTS ALL_LENGTHS TOKENIZE_SPEED CORES
"""
import heapq
import json
import subprocess
import sys
from collections import Counter

MAX_BATCH, MAX_TOKENS, MAX_LENGTH, HIDDEN, ROUND = 64, 1024, 128, 768, 4
BANDWIDTH = 1.25e9  # bytes/s into rank 0: 10 Gb Ethernet (an assumption, not measured)


def batches_of(hist):
    """The single-process batches of a length histogram {length: count}, as
    (multiplicity, B, L): greedy over the length-sorted texts, as encode_plan
    (a batch takes the next text while B < 64 and (B + 1) * its length <= 1024)."""
    out, B, L = [], 0, 0
    for length in sorted(hist):
        c = hist[length]
        cap = max(1, min(MAX_BATCH, MAX_TOKENS // length))  # the most texts a batch this long holds
        while c:
            if B and B < cap:  # the open batch takes texts of this length while they fit
                k = min(c, cap - B)
                B, L, c = B + k, length, c - k
                continue
            if B:
                out.append((1, B, L))
            full, rest = divmod(c, cap)
            if full > 1:
                out.append((full - 1, cap, length))
            B, L, c = (cap, length, rest) if full else (rest, length, 0)
    if B:
        out.append((1, B, L))
    return out


def deal(batches, ranks):
    """(padded tokens, texts) per rank, by padded tokens: each batch to the least
    loaded rank (ties: lowest)."""
    heap = [(0, r, 0) for r in range(ranks)]
    for mult, B, L in batches:
        for _ in range(mult):
            load, r, texts = heapq.heappop(heap)
            heapq.heappush(heap, (load + B * L, r, texts + B))
    return sorted((load, texts) for load, _, texts in heap)


def lengths_of(paths, model, albertc):
    texts = []
    for p in paths:
        texts += [json.loads(l)["text"] for l in open(p)]
    texts = list(dict.fromkeys(texts))  # the feature cache encodes each distinct text once
    feed = "".join(json.dumps({"text": t}) + "\n" for t in texts)
    out = subprocess.run([albertc, "tokenize", "--model", model, "--max-length", str(MAX_LENGTH), "--jsonl"],
                         input=feed, capture_output=True, text=True, check=True).stdout
    return [len(json.loads(l)["input_ids"]) for l in out.splitlines()]


def main():
    train, test, model, albertc, results, all_lengths, tok_speed, cores = sys.argv[1:9]
    cores = int(cores)
    runs = {}
    for line in open(results):
        f = line.split()
        runs[f[0]] = (float(f[1]), float(f[2]), f[3:])
    sub = Counter(lengths_of([train, test], model, albertc))
    n_sub = sum(sub.values())
    sub_batches = batches_of(sub)
    work1 = deal(sub_batches, 1)[0][0]
    rate = work1 / runs["r1t1"][0]
    print(f"\nsubset: {n_sub} distinct texts, {sum(m for m, _, _ in sub_batches)} batches, "
          f"{work1} padded tokens; fitted rate {rate:.0f} padded tokens/s per 1-thread rank")
    print("\n| run | measured pass (s) | model (s) | speed-up measured | wall incl. launch (s) | per-rank shares |")
    print("|---|---|---|---|---|---|")
    for name, ranks, threads in (("r1t1", 1, 1), ("r1t2", 1, 2), ("r2t1", 2, 1), ("r3t1", 3, 1), ("halves", 0, 1)):
        if name not in runs:
            continue
        loads = deal(sub_batches, max(ranks, 1))
        model_s = loads[-1][0] / (rate * min(1.0, cores / ranks)) if threads == 1 and ranks else float("nan")
        p, wall, shares = runs[name]
        label = (f"{ranks} rank{'s' if ranks > 1 else ''} x {threads} thread{'s' if threads > 1 else ''}" if ranks
                 else "2 independent processes, a half each")
        model_txt = f"{model_s:.2f}" if threads == 1 and ranks else "-"
        share_txt = ", ".join(s.replace(":", " texts in ") + " s" for s in shares) or "-"
        print(f"| {label} | {p:.2f} | {model_txt} | {runs['r1t1'][0] / p:.2f}x | {wall:.2f} | {share_txt} |")

    lengths = [int(l) for l in open(all_lengths)]
    words = open(tok_speed).read().split()  # tokenize + count: N texts in S s
    tok_n, tok_s = float(words[3]), float(words[6])
    tok_rate = tok_n / tok_s
    full = Counter(lengths)
    big = 10 ** 8
    scale = big / len(lengths)
    big_hist = {L: round(c * scale) for L, c in full.items()}
    print(f"\nBanking77: {len(lengths)} texts, mean {sum(lengths) / len(lengths):.1f} tokens, max {max(lengths)}; "
          f"tokenizer {tok_rate:.0f} texts/s (each rank: a 1/N share, then its own batches' texts); "
          f"gather and all-gather at {BANDWIDTH / 1e9:.2f} GB/s")
    print("\n| corpus | ranks | batches | load imbalance (max/mean) | gathered | compute (s) | gather beyond compute (s) "
          "| tokenize, slowest rank (s) | lengths all-gathered (s) | expected speed-up |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, hist in (("Banking77 (13,083 texts)", full), ("10^8 Banking77-like texts", big_hist)):
        batches = batches_of(hist)
        n_batches = sum(m for m, _, _ in batches)
        n = sum(hist.values())
        total = sum(m * B * L for m, B, L in batches)
        t1 = n / tok_rate + total / rate  # alone: every text tokenized once
        gathered = n * HIDDEN * 4
        for ranks in (8, 64, 512):
            loads = deal(batches, ranks)
            compute = loads[-1][0] / rate
            share = n / ranks / tok_rate  # each rank's 1/N, tokenized for the lengths
            allgather = 4 * n * (ranks - 1) / ranks / BANDWIDTH
            own = max(texts / tok_rate + load / rate for load, texts in loads)  # its batches' texts, then them
            tok = share + max(texts for _, texts in loads) / tok_rate
            mean = total / ranks
            last_round = ROUND * MAX_BATCH * HIDDEN * 4 * ranks / BANDWIDTH  # one round of every rank's batches
            beyond = max(0.0, gathered / BANDWIDTH - compute) + last_round
            tn = share + allgather + own + beyond
            print(f"| {name} | {ranks} | {n_batches} | {loads[-1][0] / mean:.2f} | {gathered / 1e9:.3g} GB | "
                  f"{compute:.4g} | {beyond:.3g} | {tok:.4g} | {allgather:.3g} | {t1 / tn:.1f}x |")


main()
