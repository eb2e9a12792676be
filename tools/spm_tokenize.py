#!/usr/bin/python3
"""The slow ALBERT tokenizer: SentencePiece (C++) + the documented Python steps.

    /usr/bin/python3 tools/spm_tokenize.py [--model spiece.model] [--detail] < texts.jsonl > ids.jsonl

Reads {"text": ...} lines, writes {"input_ids": [...], "attention_mask": [...]}
lines (the format of `albertc tokenize --jsonl`); --detail adds "tokens".
This is the slow path of transformers' AlbertTokenizer, written from its
documented behaviour (docs/reference.md); it is a second opinion, not the
target: where it differs from the fast tokenizer (tools/hf_tokenize.js), fast
wins. Needs python3-sentencepiece.
"""
import argparse
import json
import os
import sys
import unicodedata

import sentencepiece as spm

SPECIALS = ["<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]"]
LSTRIP = {"[MASK]"}  # the only special token with lstrip (tokenizer.json added_tokens)
UNDERLINE = "\u2581"


def preprocess(text):
    """remove_space, `` and '' -> ", NFKD, drop combining marks, lower-case."""
    text = " ".join(text.strip().split())
    text = text.replace("``", '"').replace("''", '"')
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return text.lower()


def split_specials(text):
    """Literal special tokens (case-sensitive, leftmost first) split the text into segments."""
    parts = []
    start = i = 0
    while i < len(text):
        hit = next((s for s in SPECIALS if text.startswith(s, i)), None)
        if hit is None:
            i += 1
            continue
        before = text[start:i]
        if hit in LSTRIP:
            before = before.rstrip()
        parts.append(before)
        parts.append((hit,))
        i += len(hit)
        start = i
    parts.append(text[start:])
    return parts


def sp_pieces(sp, text):
    """SentencePiece pieces with the digit-comma rule (`▁13,` -> `▁13` `,`)."""
    pieces = []
    for piece in sp.encode(preprocess(text), out_type=str):
        if len(piece) > 1 and piece[-1] == "," and piece[-2].isdigit():
            cur = sp.encode(piece[:-1].replace(UNDERLINE, ""), out_type=str)
            if piece[0] != UNDERLINE and cur and cur[0][0] == UNDERLINE:
                cur = cur[1:] if len(cur[0]) == 1 else [cur[0][1:]] + cur[1:]
            pieces.extend(cur)
            pieces.append(piece[-1])
        else:
            pieces.append(piece)
    return pieces


def tokenize(sp, text):
    tokens = ["[CLS]"]
    for part in split_specials(text):
        tokens.extend(part if isinstance(part, tuple) else sp_pieces(sp, part))
    tokens.append("[SEP]")
    return tokens


def main():
    default_model = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "models",
                                 "albert-base-v2", "spiece.model")
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=default_model)
    ap.add_argument("--detail", action="store_true", help='add "tokens" to each line')
    args = ap.parse_args()
    sp = spm.SentencePieceProcessor(model_file=args.model)
    out = sys.stdout
    for n, line in enumerate(sys.stdin, 1):
        try:
            text = json.loads(line)["text"]
        except (ValueError, KeyError, TypeError) as e:
            sys.exit(f"spm_tokenize.py: stdin:{n}: {e}")
        tokens = tokenize(sp, text)
        ids = [sp.piece_to_id(t) for t in tokens]
        row = {"input_ids": ids, "attention_mask": [1] * len(ids)}
        if args.detail:
            row["tokens"] = tokens
        out.write(json.dumps(row, separators=(",", ":"), ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
