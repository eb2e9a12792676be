#!/usr/bin/env node
// The token-id oracle: Hugging Face's tokenizers (the Rust engine behind
// AlbertTokenizerFast, through its Node bindings) running tokenizer.json.
//
//   node tools/hf_tokenize.js [--tokenizer FILE] [--detail] < texts.jsonl > ids.jsonl
//       one {"input_ids":[...],"attention_mask":[...]} per {"text": ...} line,
//       the format of `albertc tokenize --jsonl`; --detail adds "tokens" and
//       "normalized" (the normalizer's output) for reading differences.
//   node tools/hf_tokenize.js [--tokenizer FILE] --compare GOT.jsonl [--show N] < texts.jsonl
//       tokenizes the texts itself and compares with GOT (one line per text,
//       e.g. albertc's output): prints the first N differences (text, expected
//       and got ids, expected pieces) and "<passed> <failed>" as its last line;
//       exits 1 when any line differs.
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

function readTexts() {
  const lines = fs.readFileSync(0, 'utf8').split('\n');
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  return lines.map((line, i) => {
    try {
      const text = JSON.parse(line).text;
      if (typeof text !== 'string') throw new Error('no "text" string');
      return text;
    } catch (e) {
      throw new Error(`stdin:${i + 1}: ${e.message}`);
    }
  });
}

async function encodeAll(tokenizer, texts) {
  const encodings = [];
  const chunk = 2048;
  for (let i = 0; i < texts.length; i += chunk) {
    encodings.push(...(await tokenizer.encodeBatch(texts.slice(i, i + chunk))));
  }
  return encodings;
}

function sameArray(a, b) {
  return Array.isArray(b) && a.length === b.length && a.every((x, i) => x === b[i]);
}

async function main() {
  if (args.includes('--lowercase')) return tableMode(tk.lowercase());
  if (args.includes('--strip-accents')) {
    return tableMode(tk.sequenceNormalizer([tk.nfkdNormalizer(), tk.stripAccentsNormalizer()]));
  }
  const tokenizer = tk.Tokenizer.fromFile(tokenizerPath);
  const texts = readTexts();
  const encodings = await encodeAll(tokenizer, texts);
  const gotPath = option('--compare', null);

  if (!gotPath) {
    const detail = args.includes('--detail');
    const normalizer = tokenizer.getNormalizer();
    const out = encodings.map((e, i) => {
      const row = { input_ids: e.getIds(), attention_mask: e.getAttentionMask() };
      if (detail) {
        row.tokens = e.getTokens();
        row.normalized = normalizer.normalizeString(texts[i]);
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
    if (row && sameArray(ids, row.input_ids) && sameArray(mask, row.attention_mask)) {
      passed++;
      return;
    }
    failed++;
    if (failed > show) return;
    console.log(`line ${i + 1}: text ${JSON.stringify(texts[i])}`);
    console.log(`  normalized ${JSON.stringify(normalizer.normalizeString(texts[i]))}`);
    console.log(`  expected   ${JSON.stringify(ids)}`);
    console.log(`  pieces     ${JSON.stringify(e.getTokens())}`);
    console.log(`  got        ${row ? JSON.stringify(row.input_ids) : JSON.stringify(got[i] === undefined ? null : got[i])}`);
    if (row && !sameArray(mask, row.attention_mask)) console.log(`  got mask   ${JSON.stringify(row.attention_mask)}`);
  });
  console.log(`${passed} ${failed}`);
  process.exitCode = failed ? 1 : 0;
}

main().catch((e) => {
  console.error(`hf_tokenize.js: ${e.message}`);
  process.exit(2);
});
