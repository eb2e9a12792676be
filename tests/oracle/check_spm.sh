#!/bin/sh
# albertc tokenize against the SLOW AlbertTokenizer path: the real SentencePiece
# library (python3-sentencepiece) plus transformers' documented Python steps
# (tools/spm_tokenize.py: remove_space, `` '' -> ", NFKD, drop combining marks,
# lower-case, SentencePiece, digit-comma split, [CLS] ... [SEP]) on every
# Banking77 text (train + test: 13,083).
# The target is the fast tokenizer (check_tokenizer.sh proves albertc equals
# it); the texts where slow and fast differ are listed, with the reason, in
# tests/data/slow_vs_fast_banking77.tsv. A text passes when albertc equals the
# slow path or is listed there; a listed text that no longer differs fails, so
# the list stays true. Prints the slow-vs-fast differences and, last, exactly
# "spm-oracle: N passed, N failed"; exits 1 when any text fails.
# Needs: $ALBERTC (default build/albertc), $PYTHON with sentencepiece.
cd "$(dirname "$0")/../.." || exit 2
ORACLE=spm-oracle SCRIPT=check_spm
. tests/oracle/common.sh
KNOWN=tests/data/slow_vs_fast_banking77.tsv
need_albertc
"$PYTHON" -c 'import sentencepiece' 2>/dev/null || fail_setup "$PYTHON: no sentencepiece (install python3-sentencepiece)"

make_tmp
cat "$DATA/train.jsonl" "$DATA/test.jsonl" > "$tmp/banking77.jsonl" || fail_setup "cannot read $DATA"
timeout 60 "$ALBERTC" tokenize --model "$MODEL" --jsonl < "$tmp/banking77.jsonl" > "$tmp/albertc.jsonl" \
    2> "$tmp/albertc.err" || fail_setup "albertc tokenize failed: $(head -c 300 "$tmp/albertc.err")"

"$PYTHON" - "$MODEL/spiece.model" "$tmp/banking77.jsonl" "$tmp/albertc.jsonl" "$KNOWN" <<'PY'
import json
import sys

sys.path.insert(0, "tools")
import sentencepiece as spm
from spm_tokenize import preprocess, tokenize

model, texts_path, got_path, known_path = sys.argv[1:]
sp = spm.SentencePieceProcessor(model_file=model)
texts = [json.loads(line)["text"] for line in open(texts_path, encoding="utf-8")]
got = [json.loads(line)["input_ids"] for line in open(got_path, encoding="utf-8")]
known = {}
for line in open(known_path, encoding="utf-8"):
    if line.strip() and not line.startswith("#"):
        number, reason = line.rstrip("\n").split("\t", 1)
        known[int(number)] = reason
if len(got) != len(texts):
    sys.exit(f"check_spm: albertc wrote {len(got)} lines for {len(texts)} texts\nspm-oracle: 0 passed, 1 failed")

passed = failed = differ = raw_differ = 0
for n, (text, ids) in enumerate(zip(texts, got), 1):
    slow = [sp.piece_to_id(t) for t in tokenize(sp, text)]
    # SentencePiece alone, without the digit-comma step: for the count only.
    raw_differ += ids != [2] + sp.encode(preprocess(text)) + [3]
    if ids == slow:
        if n in known:
            failed += 1
            print(f"line {n}: listed in {known_path} but albertc now equals the slow path: {text[:80]!r}")
        else:
            passed += 1
        continue
    differ += 1
    if n in known:
        passed += 1
        print(f"line {n}: slow != fast, known: {known[n][:100]}")
    else:
        failed += 1
        print(f"line {n}: albertc differs from the slow path (not listed in {known_path}): {text[:120]!r}")
        print(f"  albertc {ids}\n  slow    {slow}\n  pieces  {tokenize(sp, text)}")
for n in sorted(set(known) - set(range(1, len(texts) + 1))):
    failed += 1
    print(f"line {n}: listed in {known_path} but Banking77 has {len(texts)} texts")
print(f"banking77: {differ} of {len(texts)} texts differ slow vs albertc (= fast), {len(known)} listed; "
      f"SentencePiece without the digit-comma step: {raw_differ}")
print(f"spm-oracle: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
