#!/usr/bin/env node
// The token-id oracle: Hugging Face's tokenizers (the Rust engine behind
// AlbertTokenizerFast, through its Node bindings) running tokenizer.json.
//
//   node tools/hf_tokenize.js [--tokenizer FILE] [--max-length N] [--detail] < texts.jsonl > ids.jsonl
//       one {"input_ids":[...],"attention_mask":[...]} per {"text": ...} line
//       (with "text_pair": the pair, and "token_type_ids"), the format of
//       `albertc tokenize --jsonl`; --max-length N truncates to N ids
//       (longest first, [CLS]/[SEP] included); --detail adds "tokens" and
//       "normalized" (the normalizer's output) for reading differences.
//   node tools/hf_tokenize.js [--tokenizer FILE] --compare GOT.jsonl [--show N] < texts.jsonl
//       tokenizes the texts itself and compares with GOT (one line per text,
//       e.g. albertc's output; token_type_ids too for pairs; "offsets" too
//       where GOT's line has them, as byte offsets: the engine's offsets
//       (Rust's Encoding.offsets, which the Node bindings give in characters)
//       turned back into UTF-8 bytes, as TEI's /tokenize gives them): prints the
//       first N differences (text, expected and got ids, expected pieces) and
//       "<passed> <failed>" as its last line; exits 1 when any line differs.
//   node tools/hf_tokenize.js --lowercase   one line per code point whose
//       Lowercase normalizer output differs from itself: "XXXX<TAB>YYYY ZZZZ"
//       (hex code points), for tests/oracle/check_lowercase.sh.
//   node tools/hf_tokenize.js --strip-accents   the same for NFKD + StripAccents
//       (the two steps that precede Lowercase): "XXXX<TAB>..." for every code
//       point that does not survive unchanged ("-" for an empty result).
'use strict';
const fs = require('fs');
const path = require('path');
const tk = require('tokenizers');

const args = process.argv.slice(2);
function option(name, fallback) {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
}
const tokenizerPath = option('--tokenizer',
  path.join(__dirname, '..', '..', 'shared', 'models', 'albert-base-v2', 'tokenizer.json'));

function hex(s) {
  return Array.from(s, (c) => c.codePointAt(0).toString(16).toUpperCase().padStart(4, '0')).join(' ');
}

// Every Unicode scalar value (no surrogates), as a string.
function* allCodePoints() {
  for (let cp = 0; cp <= 0x10ffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    yield String.fromCodePoint(cp);
  }
}

function tableMode(normalizer) {
  const out = [];
  for (const c of allCodePoints()) {
    const n = normalizer.normalizeString(c);
    if (n !== c) out.push(hex(c) + '\t' + (n.length ? hex(n) : '-'));
  }
  process.stdout.write(out.join('\n') + '\n');
}

// Inputs for encodeBatch: a text, or [text, text_pair].
function readInputs() {
  const lines = fs.readFileSync(0, 'utf8').split('\n');
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  return lines.map((line, i) => {
    try {
      const row = JSON.parse(line);
      if (typeof row.text !== 'string') throw new Error('no "text" string');
      if (row.text_pair === undefined) return row.text;
      if (typeof row.text_pair !== 'string') throw new Error('"text_pair" is not a string');
      return [row.text, row.text_pair];
    } catch (e) {
      throw new Error(`stdin:${i + 1}: ${e.message}`);
    }
  });
}

// Single texts in batches; pairs one by one (the bindings' encodeBatch takes
// strings only).
async function encodeAll(tokenizer, inputs) {
  const encodings = [];
  const chunk = 2048;
  for (let i = 0; i < inputs.length; i += chunk) {
    const part = inputs.slice(i, i + chunk);
    if (part.some(Array.isArray)) {
      for (const x of part) encodings.push(await (Array.isArray(x) ? tokenizer.encode(x[0], x[1]) : tokenizer.encode(x)));
    } else {
      encodings.push(...(await tokenizer.encodeBatch(part)));
    }
  }
  return encodings;
}

function normalizedOf(normalizer, input) {
  return Array.isArray(input) ? input.map((t) => normalizer.normalizeString(t)) : normalizer.normalizeString(input);
}

function sameArray(a, b) {
  return Array.isArray(b) && a.length === b.length && a.every((x, i) => x === b[i]);
}

// Character offsets [[start, end], ...] into text -> UTF-8 byte offsets.
function byteOffsets(text, offsets) {
  const at = [0];
  for (const c of text) {
    const cp = c.codePointAt(0);
    at.push(at[at.length - 1] + (cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4));
  }
  return offsets.map(([s, e]) => [at[s], at[e]]);
}

function sameOffsets(a, b) {
  return Array.isArray(b) && a.length === b.length && a.every((x, i) => sameArray(x, b[i]));
}

async function main() {
  if (args.includes('--lowercase')) return tableMode(tk.lowercase());
  if (args.includes('--strip-accents')) {
    return tableMode(tk.sequenceNormalizer([tk.nfkdNormalizer(), tk.stripAccentsNormalizer()]));
  }
  const tokenizer = tk.Tokenizer.fromFile(tokenizerPath);
  const maxLength = Number(option('--max-length', '0'));
  if (maxLength > 0) tokenizer.setTruncation(maxLength);
  const texts = readInputs();
  const encodings = await encodeAll(tokenizer, texts);
  const gotPath = option('--compare', null);

  if (!gotPath) {
    const detail = args.includes('--detail');
    const normalizer = tokenizer.getNormalizer();
    const out = encodings.map((e, i) => {
      const row = { input_ids: e.getIds(), attention_mask: e.getAttentionMask() };
      if (Array.isArray(texts[i])) row.token_type_ids = e.getTypeIds();
      if (detail) {
        row.tokens = e.getTokens();
        row.normalized = normalizedOf(normalizer, texts[i]);
      }
      return JSON.stringify(row);
    });
    process.stdout.write(out.join('\n') + (out.length ? '\n' : ''));
    return;
  }

  const show = Number(option('--show', '5'));
  const got = fs.readFileSync(gotPath, 'utf8').split('\n');
  if (got.length && got[got.length - 1] === '') got.pop();
  if (got.length !== texts.length) {
    console.log(`line count differs: ${texts.length} texts, ${got.length} lines in ${gotPath}`);
  }
  let passed = 0, failed = 0;
  const normalizer = tokenizer.getNormalizer();
  encodings.forEach((e, i) => {
    let row = null;
    try { row = JSON.parse(got[i]); } catch (err) { row = null; }
    const ids = e.getIds(), mask = e.getAttentionMask();
    const pair = Array.isArray(texts[i]);
    const types = e.getTypeIds();
    const offsets = row && row.offsets !== undefined && !pair ? byteOffsets(texts[i], e.getOffsets()) : null;
    if (row && sameArray(ids, row.input_ids) && sameArray(mask, row.attention_mask) &&
        (!pair || sameArray(types, row.token_type_ids)) && (!offsets || sameOffsets(offsets, row.offsets))) {
      passed++;
      return;
    }
    failed++;
    if (failed > show) return;
    console.log(`line ${i + 1}: ${pair ? 'pair' : 'text'} ${JSON.stringify(texts[i])}`);
    console.log(`  normalized ${JSON.stringify(normalizedOf(normalizer, texts[i]))}`);
    console.log(`  expected   ${JSON.stringify(ids)}`);
    console.log(`  pieces     ${JSON.stringify(e.getTokens())}`);
    console.log(`  got        ${row ? JSON.stringify(row.input_ids) : JSON.stringify(got[i] === undefined ? null : got[i])}`);
    if (row && !sameArray(mask, row.attention_mask)) console.log(`  got mask   ${JSON.stringify(row.attention_mask)}`);
    if (offsets && !sameOffsets(offsets, row.offsets)) {
      console.log(`  offsets    ${JSON.stringify(offsets)}`);
      console.log(`  got        ${JSON.stringify(row.offsets)}`);
    }
    if (row && pair && !sameArray(types, row.token_type_ids)) {
      console.log(`  types      ${JSON.stringify(types)}`);
      console.log(`  got types  ${JSON.stringify(row.token_type_ids)}`);
    }
  });
  if (got.length > texts.length) failed += got.length - texts.length;  // extra lines are failures too
  console.log(`${passed} ${failed}`);
  process.exitCode = failed ? 1 : 0;
}

main().catch((e) => {
  console.error(`hf_tokenize.js: ${e.message}`);
  process.exit(2);
});
