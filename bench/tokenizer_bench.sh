#!/bin/sh
# Tokenizer speed: `albertc tokenize --jsonl` vs SentencePiece's C++ spm_encode on
# the same texts in the same run: every Banking77 text (train + test, 13,083),
# repeated REPEAT times (default 10). albertc does all of its work (JSON in,
# normalisation, Viterbi, JSON out); spm_encode gets the texts already
# whitespace-collapsed and lower-cased, one per line (the slow tokenizer's
# Python steps, not timed), and prints ids. Prints tokens/s of each (tokens
# include [CLS] and [SEP]; spm_encode's count adds 2 per text) and the ratio.
cd "$(dirname "$0")/.." || exit 2
ALBERTC=${ALBERTC:-build/albertc}
PYTHON=${PYTHON:-/usr/bin/python3}
REPEAT=${REPEAT:-10}
MODEL=../shared/models/albert-base-v2
DATA=../shared/data/banking77
command -v spm_encode >/dev/null 2>&1 || { echo "tokenizer_bench: spm_encode not found (apt install sentencepiece)"; exit 2; }
[ -x "$ALBERTC" ] || { echo "tokenizer_bench: $ALBERTC not built"; exit 2; }

tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT INT TERM
"$PYTHON" - "$DATA" "$REPEAT" "$tmp" <<'EOF' || exit 2
import json, sys, unicodedata
data, repeat, tmp = sys.argv[1], int(sys.argv[2]), sys.argv[3]
texts = [json.loads(l)["text"] for split in ("train", "test") for l in open(f"{data}/{split}.jsonl", encoding="utf-8")]
def slow_pre(t):
    t = " ".join(t.strip().split()).replace("``", '"').replace("''", '"')
    t = "".join(c for c in unicodedata.normalize("NFKD", t) if not unicodedata.combining(c))
    return t.lower()
with open(f"{tmp}/texts.jsonl", "w", encoding="utf-8") as f:
    f.write("".join(json.dumps({"text": t}) + "\n" for t in texts) * repeat)
with open(f"{tmp}/texts.txt", "w", encoding="utf-8") as f:
    f.write("".join(slow_pre(t) + "\n" for t in texts) * repeat)
EOF

now() { date +%s%N; }
t0=$(now)
"$ALBERTC" tokenize --model "$MODEL" --jsonl < "$tmp/texts.jsonl" > "$tmp/albertc.out" || { echo "tokenizer_bench: albertc tokenize failed"; exit 1; }
t1=$(now)
spm_encode --model "$MODEL/spiece.model" --output_format=id < "$tmp/texts.txt" > "$tmp/spm.out" || { echo "tokenizer_bench: spm_encode failed"; exit 1; }
t2=$(now)

texts=$(wc -l < "$tmp/texts.txt")
albertc_tokens=$("$PYTHON" -c 'import json, sys; print(sum(len(json.loads(l)["input_ids"]) for l in sys.stdin))' \
    < "$tmp/albertc.out") || exit 1
spm_tokens=$(( $(wc -w < "$tmp/spm.out") + 2 * texts ))
awk -v n="$texts" -v at="$albertc_tokens" -v st="$spm_tokens" -v a="$((t1 - t0))" -v s="$((t2 - t1))" 'BEGIN {
    a /= 1e9; s /= 1e9
    printf "tokenizer bench: %d texts (Banking77 x %d)\n", n, n / 13083
    printf "  albertc tokenize  %8.3f s  %10.0f tokens/s  (%d tokens)\n", a, at / a, at
    printf "  spm_encode (C++)  %8.3f s  %10.0f tokens/s  (%d tokens)\n", s, st / s, st
    printf "  albertc / spm_encode speed: %.2fx\n", (at / a) / (st / s)
}'
