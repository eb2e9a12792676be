/* AlbertTokenizerFast in C. For one text:
 *
 *   bytes --(invalid UTF-8 -> U+FFFD)--> text
 *   text  --(added tokens, matched case-sensitively on the raw text)--> segments and special ids
 *   segment --normalize_text--> --WhitespaceSplit--> words --Metaspace--> pieces
 *   piece --unigram Viterbi--> ids;   [CLS] ids [SEP]
 *
 * Every step follows tokenizer.json as the Rust `tokenizers` engine runs it,
 * which is what AlbertTokenizerFast does. The slow tokenizer (SentencePiece +
 * Python) differs; where it does, the comment says so. */
#include "tokenizer/tokenizer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>
#include <xxhash.h>
#include "tokenizer/normalize.h"
#include "tokenizer/spiece.h"
#include "tokenizer/utf8.h"
#include "util/fileio.h"

#define META "\xe2\x96\x81" /* U+2581 "▁", Metaspace's replacement for a space */
enum { META_LEN = 3 };

/* Unknown characters score below every piece: min_score - 10 (tokenizers'
 * K_UNK_PENALTY, as SentencePiece's kUnkPenalty). */
static const double UNK_PENALTY = 10.0;

/* ---- piece lookup: a hash map text -> id, and a byte trie for prefixes ---- */

typedef struct {
    int32_t *slots;   /* piece id or -1 */
    size_t mask;
} PieceMap;

typedef struct {
    uint64_t *keys;   /* parent node << 8 | byte, +1 so that 0 means empty */
    int32_t *child;
    size_t mask;
    int32_t *piece;   /* per node: the piece id ending here, or -1 */
    int n_nodes;
} PieceTrie;

typedef struct {
    const char *text;
    size_t len;
    int id;
    int lstrip;   /* also takes the whitespace before it */
} AddedToken;

struct AlbertTokenizer {
    SpmModel spm;
    int n_pieces;
    double *scores;       /* as the engine reads tokenizer.json: float score (digit-comma pieces - 100) */
    double unk_score;
    int unk_id, cls_id, sep_id, pad_id;
    int byte_fallback;
    int32_t byte_ids[256]; /* "<0xXX>" pieces, -1 when missing */
    Charsmap charsmap;
    PieceMap map;
    PieceTrie trie;
    AddedToken added[5];
    int n_added;
    char hash[17];
};

static uint64_t hash_bytes(const char *s, size_t n) { return XXH3_64bits(s, n); }

static int32_t map_find(const AlbertTokenizer *t, const char *s, size_t n) {
    for (size_t h = hash_bytes(s, n) & t->map.mask;; h = (h + 1) & t->map.mask) {
        int32_t id = t->map.slots[h];
        if (id < 0) return -1;
        const SpmPiece *p = &t->spm.pieces[id];
        if (p->len == n && memcmp(p->text, s, n) == 0) return id;
    }
}

/* Later duplicates replace earlier ones, as in tokenizers' token_to_ids. */
static void map_build(AlbertTokenizer *t) {
    size_t size = 16;
    while (size < 2 * (size_t)t->n_pieces) size *= 2;
    t->map.slots = alb_xmalloc(size * sizeof(int32_t));
    memset(t->map.slots, 0xff, size * sizeof(int32_t));
    t->map.mask = size - 1;
    for (int id = 0; id < t->n_pieces; id++) {
        const SpmPiece *p = &t->spm.pieces[id];
        for (size_t h = hash_bytes(p->text, p->len) & t->map.mask;; h = (h + 1) & t->map.mask) {
            int32_t other = t->map.slots[h];
            if (other < 0 || (t->spm.pieces[other].len == p->len && memcmp(t->spm.pieces[other].text, p->text, p->len) == 0)) {
                t->map.slots[h] = id;
                break;
            }
        }
    }
}

static inline size_t trie_slot(uint64_t key, size_t mask) {
    return (size_t)((key * 0x9e3779b97f4a7c15ull) >> 20) & mask;
}

static inline int32_t trie_child(const PieceTrie *tr, int32_t node, uint8_t byte) {
    uint64_t key = ((uint64_t)node << 8 | byte) + 1;
    for (size_t h = trie_slot(key, tr->mask);; h = (h + 1) & tr->mask) {
        if (tr->keys[h] == key) return tr->child[h];
        if (tr->keys[h] == 0) return -1;
    }
}

static void trie_build(AlbertTokenizer *t) {
    PieceTrie *tr = &t->trie;
    size_t total = 1;
    for (int id = 0; id < t->n_pieces; id++) total += t->spm.pieces[id].len;
    size_t size = 16;
    while (size < 2 * total) size *= 2;
    tr->keys = alb_xcalloc(size, sizeof *tr->keys);
    tr->child = alb_xmalloc(size * sizeof *tr->child);
    tr->mask = size - 1;
    tr->piece = alb_xmalloc(total * sizeof *tr->piece);
    tr->piece[0] = -1;
    tr->n_nodes = 1;
    for (int id = 0; id < t->n_pieces; id++) {
        const SpmPiece *p = &t->spm.pieces[id];
        if (p->len == 0) continue;  /* an empty piece never matches */
        int32_t node = 0;
        for (uint32_t i = 0; i < p->len; i++) {
            uint64_t key = ((uint64_t)node << 8 | (uint8_t)p->text[i]) + 1;
            size_t h = trie_slot(key, tr->mask);
            while (tr->keys[h] != 0 && tr->keys[h] != key) h = (h + 1) & tr->mask;
            if (tr->keys[h] == 0) {
                tr->keys[h] = key;
                tr->child[h] = tr->n_nodes;
                tr->piece[tr->n_nodes++] = -1;
            }
            node = tr->child[h];
        }
        tr->piece[node] = map_find(t, p->text, p->len);
    }
}

/* ---- loading ---- */

/* Python's str.isdigit: Nd plus the Numeric_Type=Digit characters. */
static int python_isdigit(int32_t cp) {
    static const int32_t ranges[][2] = {
        {0xB2, 0xB3}, {0xB9, 0xB9}, {0x1369, 0x1371}, {0x19DA, 0x19DA}, {0x2070, 0x2070},
        {0x2074, 0x2079}, {0x2080, 0x2089}, {0x2460, 0x2468}, {0x2474, 0x247C}, {0x2488, 0x2490},
        {0x24EA, 0x24EA}, {0x24F5, 0x24FD}, {0x24FF, 0x24FF}, {0x2776, 0x277E}, {0x2780, 0x2788},
        {0x278A, 0x2792}, {0x10A40, 0x10A43}, {0x10E60, 0x10E68}, {0x11052, 0x1105A}, {0x1F100, 0x1F10A},
    };
    if (utf8proc_category(cp) == UTF8PROC_CATEGORY_ND) return 1;
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
        if (cp >= ranges[i][0] && cp <= ranges[i][1]) return 1;
    }
    return 0;
}

/* transformers' AlbertConverter: a piece ending in digit + "," loses 100, so
 * "▁13," never beats "▁13" ","; the slow tokenizer splits such pieces after
 * the Viterbi pass instead (the results agree except on ties). */
static int ends_in_digit_comma(const SpmPiece *p) {
    if (p->len < 2 || p->text[p->len - 1] != ',') return 0;
    size_t k = p->len - 1;
    do k--; while (k > 0 && ((unsigned char)p->text[k] & 0xc0) == 0x80);
    int32_t cp;
    utf8_decode(p->text + k, &cp);
    return python_isdigit(cp);
}

/* The double that Hugging Face's engine holds for score x. tokenizer.json
 * stores x as its shortest round-trip decimal (ryu), and serde_json, built
 * without float_roundtrip, reads "d.ddd" back as (double)digits / 10^k: two
 * roundings, one ulp off x for about a quarter of the pieces. Near-ties in
 * the Viterbi pass ("+++" -> "++" "+") follow those last bits. */
static double engine_score(double x) {
    if (x == 0.0 || !isfinite(x)) return x;
    /* the shortest decimal that reads back as x: 17 digits always do; drop
     * digits while the correctly rounded shorter form still reads back */
    char buf[40], shorter[40];
    snprintf(buf, sizeof buf, "%.16e", x);
    for (int precision = 15; precision >= 0; precision--) {
        snprintf(shorter, sizeof shorter, "%.*e", precision, x);
        if (strtod(shorter, NULL) != x) break;
        memcpy(buf, shorter, sizeof buf);
    }
    uint64_t digits = 0;
    int n_digits = 0;
    const char *c = buf + (buf[0] == '-');
    for (; *c && *c != 'e'; c++) {
        if (*c != '.') digits = digits * 10 + (uint64_t)(*c - '0'), n_digits++;
    }
    int k = atoi(c + 1) - (n_digits - 1);  /* x ~ digits * 10^k */
    char pow10_text[16];
    snprintf(pow10_text, sizeof pow10_text, "1e%d", k < 0 ? -k : k);
    double pow10 = strtod(pow10_text, NULL);  /* serde_json's POW10 table: correctly rounded */
    double v = k < 0 ? (double)digits / pow10 : (double)digits * pow10;
    return x < 0 ? -v : v;
}

static int find_special(AlbertTokenizer *t, const char *text, const char *path, AlbError *err) {
    int id = map_find(t, text, strlen(text));
    if (id < 0) return alb_fail(err, "%s: the model has no %s piece", path, text);
    return id;
}

static int setup(AlbertTokenizer *t, const char *path, AlbError *err) {
    SpmModel *m = &t->spm;
    t->n_pieces = m->n_pieces;
    t->unk_id = m->unk_id;
    t->byte_fallback = m->byte_fallback;
    t->scores = alb_xmalloc((size_t)t->n_pieces * sizeof *t->scores);
    double min_score = 1e300;
    for (int id = 0; id < t->n_pieces; id++) {
        double s = (double)m->pieces[id].score;
        if (ends_in_digit_comma(&m->pieces[id])) s -= 100.0;
        s = engine_score(s);
        t->scores[id] = s;
        if (s < min_score) min_score = s;
    }
    t->unk_score = min_score - UNK_PENALTY;
    /* Every piece is matchable, as in tokenizers' Unigram: control pieces too
     * ("<PAD>" lower-cases to the piece "<pad>"), and user-defined pieces
     * compete on their score (0) where SentencePiece matches them greedily. */
    map_build(t);
    trie_build(t);
    for (int b = 0; b < 256; b++) {
        char name[8];
        snprintf(name, sizeof name, "<0x%02X>", b);
        t->byte_ids[b] = map_find(t, name, 6);
    }
    if (charsmap_init(&t->charsmap, m->charsmap, m->charsmap_len, path, err)) return -1;
    if ((t->cls_id = find_special(t, "[CLS]", path, err)) < 0) return -1;
    if ((t->sep_id = find_special(t, "[SEP]", path, err)) < 0) return -1;
    t->pad_id = map_find(t, "<pad>", 5);
    if (t->pad_id < 0) t->pad_id = m->pad_id >= 0 && m->pad_id < t->n_pieces ? m->pad_id : t->sep_id;
    /* AlbertTokenizerFast's special tokens; only [MASK] strips whitespace on its left. */
    static const char *names[] = {"<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]"};
    for (int i = 0; i < 5; i++) {
        int id = map_find(t, names[i], strlen(names[i]));
        if (id < 0) continue;
        t->added[t->n_added++] = (AddedToken){names[i], strlen(names[i]), id, strcmp(names[i], "[MASK]") == 0};
    }
    return 0;
}

int tokenizer_load_buffer(AlbertTokenizer **out, const void *data, size_t len, const char *name, AlbError *err) {
    *out = NULL;
    AlbertTokenizer *t = alb_xcalloc(1, sizeof *t);
    snprintf(t->hash, sizeof t->hash, "%016llx", (unsigned long long)XXH3_64bits(data, len));
    if (spm_parse(&t->spm, data, len, name, err) || setup(t, name, err)) {
        tokenizer_free(t);
        return -1;
    }
    *out = t;
    return 0;
}

int tokenizer_load(AlbertTokenizer **out, const char *spiece_path, AlbError *err) {
    *out = NULL;
    char *data = NULL;
    size_t len = 0;
    if (alb_read_file(spiece_path, &data, &len, err)) return -1;
    int rc = tokenizer_load_buffer(out, data, len, spiece_path, err);
    free(data);
    return rc;
}

void tokenizer_free(AlbertTokenizer *t) {
    if (!t) return;
    spm_free(&t->spm);
    free(t->scores);
    charsmap_free(&t->charsmap);
    free(t->map.slots);
    free(t->trie.keys);
    free(t->trie.child);
    free(t->trie.piece);
    free(t);
}

const char *tokenizer_hash(const AlbertTokenizer *t) { return t->hash; }
int tokenizer_vocab_size(const AlbertTokenizer *t) { return t->n_pieces; }
int tokenizer_cls_id(const AlbertTokenizer *t) { return t->cls_id; }
int tokenizer_sep_id(const AlbertTokenizer *t) { return t->sep_id; }
int tokenizer_pad_id(const AlbertTokenizer *t) { return t->pad_id; }

const char *tokenizer_piece(const AlbertTokenizer *t, int id) {
    return id >= 0 && id < t->n_pieces ? t->spm.pieces[id].text : NULL;
}

/* ---- encoding ---- */

typedef struct {
    int32_t *v;
    int n, cap;
} IdList;

static void ids_push(IdList *l, int32_t id) {
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->v = alb_xrealloc(l->v, (size_t)l->cap * sizeof *l->v);
    }
    l->v[l->n++] = id;
}

static void push_token(IdList *l, int start, int end, int32_t id) {
    ids_push(l, start);
    ids_push(l, end);
    ids_push(l, id);
}

/* Per-call scratch, so that one tokenizer serves any number of threads. */
typedef struct {
    TextBuf normalized, word;
    double *score;         /* best path score ending at byte i */
    int32_t *from, *id;    /* where that path's last token starts (-1: none yet), and its id */
    size_t cap;
    IdList tokens;         /* the Viterbi backtrack */
    /* with spans (NULL: not kept): per id pushed, its start and end in the text */
    IdList *spans;
    SpanBuf align, word_align;  /* the spans of normalized's and word's bytes */
} Scratch;

static void scratch_free(Scratch *s) {
    textbuf_free(&s->normalized);
    textbuf_free(&s->word);
    spanbuf_free(&s->align);
    spanbuf_free(&s->word_align);
    free(s->score);
    free(s->from);
    free(s->id);
    free(s->tokens.v);
}

/* One token covering w[start, end): unknown runs are looked up as a whole
 * (a fused run is usually not a piece), then fall back to bytes (each with
 * the run's span, as the engine's byte tokens) or <unk>. */
static void emit_unknown(const AlbertTokenizer *t, const char *w, int start, int end, IdList *out) {
    int32_t id = map_find(t, w + start, (size_t)(end - start));
    if (id >= 0) {
        ids_push(out, id);
        return;
    }
    if (t->byte_fallback) {
        int all = 1;
        for (int i = start; i < end; i++) all &= t->byte_ids[(uint8_t)w[i]] >= 0;
        if (all) {
            for (int i = start; i < end; i++) ids_push(out, t->byte_ids[(uint8_t)w[i]]);
            return;
        }
    }
    ids_push(out, t->unk_id);
}

/* tokenizers' Unigram::encode_optimized on one pre-tokenized piece w[0, n):
 * best path by the sum of scores in double; at equal scores the candidate
 * seen first (earlier start, then shorter piece) stays. SentencePiece sums in
 * float, so the slow tokenizer can break near-ties the other way
 * ("CARD!!!!!": fast "▁card !! !!!", slow "▁card !!! !!"). A character with
 * no single-character piece gets an <unk> edge; adjacent <unk> tokens fuse. */
static void viterbi(const AlbertTokenizer *t, const char *w, int n, const ByteSpan *w_align, Scratch *s,
                    IdList *out) {
    if ((size_t)n + 1 > s->cap) {
        s->cap = (size_t)n + 1;
        s->score = alb_xrealloc(s->score, s->cap * sizeof *s->score);
        s->from = alb_xrealloc(s->from, s->cap * sizeof *s->from);
        s->id = alb_xrealloc(s->id, s->cap * sizeof *s->id);
    }
    for (int i = 0; i <= n; i++) s->from[i] = -1;
    s->score[0] = 0.0;
    for (int pos = 0; pos < n; pos = pos + utf8_char_len((unsigned char)w[pos])) {
        int char_len = utf8_char_len((unsigned char)w[pos]);
        double here = s->score[pos];
        int has_single = 0;
        int32_t node = 0;
        for (int end = pos; end < n;) {
            node = trie_child(&t->trie, node, (uint8_t)w[end++]);
            if (node < 0) break;
            int32_t id = t->trie.piece[node];
            if (id < 0) continue;
            double cand = t->scores[id] + here;
            if (s->from[end] < 0 || cand > s->score[end]) {
                s->score[end] = cand;
                s->from[end] = pos;
                s->id[end] = id;
            }
            if (end - pos == char_len) has_single = 1;
        }
        if (!has_single) {
            int end = pos + char_len;
            double cand = t->unk_score + here;
            if (s->from[end] < 0 || cand > s->score[end]) {
                s->score[end] = cand;
                s->from[end] = pos;
                s->id[end] = t->unk_id;
            }
        }
    }
    /* backtrack; a run of tokens whose id is <unk> (unknown characters, or the
     * piece "<unk>" itself) becomes one token, looked up again as a whole */
    IdList *bt = &s->tokens;  /* (start, end, id or -1 for a run) triples, last token first */
    bt->n = 0;
    int run_end = -1;         /* end of the <unk> run being collected */
    for (int end = n; end > 0;) {
        int start = s->from[end];
        if (s->id[end] == t->unk_id) {
            if (run_end < 0) run_end = end;
        } else {
            if (run_end >= 0) push_token(bt, end, run_end, -1);
            run_end = -1;
            push_token(bt, start, end, s->id[end]);
        }
        end = start;
    }
    if (run_end >= 0) push_token(bt, 0, run_end, -1);
    for (int k = bt->n - 3; k >= 0; k -= 3) {
        int before = out->n, start = bt->v[k], end = bt->v[k + 1];
        if (bt->v[k + 2] >= 0) ids_push(out, bt->v[k + 2]);
        else emit_unknown(t, w, start, end, out);
        /* a token's span: its first byte's start to its last byte's end */
        for (int i = before; s->spans && i < out->n; i++) {
            ids_push(s->spans, w_align[start].start);
            ids_push(s->spans, w_align[end - 1].end);
        }
    }
}

/* The engine stops tokenizing a sequence early: after each piece the model
 * tokenized (not after a special token), once the sequence holds `limit`
 * (the max_length) tokens or more, the rest of the text is dropped. Returns 1
 * when that point is reached; limit 0 never stops. */
static int stop_here(const IdList *out, int limit) { return limit > 0 && out->n >= limit; }

/* WhitespaceSplit (Rust's char::is_whitespace) then Metaspace (prepend "▁"
 * unless the word starts with one; split before every "▁"), then the model on
 * each piece, until stop_here. The slow tokenizer splits with Python's
 * str.split() before the charsmap instead: \v and \x1c-\x1f, which the
 * charsmap deletes and which are not whitespace here, separate words there
 * and join them here. With spans, the "▁" Metaspace prepends takes the span
 * of the word's first character (the engine's prepend()). */
static int tokenize_normalized(const AlbertTokenizer *t, const char *s, size_t len, int limit, Scratch *sc,
                               IdList *out) {
    size_t i = 0;
    while (i < len) {
        int32_t cp;
        int n = utf8_decode(s + i, &cp);
        if (unicode_is_whitespace(cp)) {
            i += (size_t)n;
            continue;
        }
        size_t start = i;
        while (i < len) {
            n = utf8_decode(s + i, &cp);
            if (unicode_is_whitespace(cp)) break;
            i += (size_t)n;
        }
        TextBuf *w = &sc->word;
        SpanBuf *wa = &sc->word_align;
        w->len = wa->len = 0;
        if (i - start < META_LEN || memcmp(s + start, META, META_LEN) != 0) {
            textbuf_append(w, META, META_LEN);
            if (sc->spans) spanbuf_push(wa, sc->align.v[start], META_LEN);
        }
        textbuf_append(w, s + start, i - start);
        for (size_t k = start; sc->spans && k < i; k++) spanbuf_push(wa, sc->align.v[k], 1);
        size_t piece = 0;
        for (size_t k = META_LEN; k + META_LEN <= w->len; k++) {
            if (memcmp(w->data + k, META, META_LEN) == 0) {
                viterbi(t, w->data + piece, (int)(k - piece), sc->spans ? wa->v + piece : NULL, sc, out);
                if (stop_here(out, limit)) return 1;
                piece = k;
                k += META_LEN - 1;
            }
        }
        viterbi(t, w->data + piece, (int)(w->len - piece), sc->spans ? wa->v + piece : NULL, sc, out);
        if (stop_here(out, limit)) return 1;
    }
    return 0;
}

/* The text s[0..len) that starts `base` bytes into the whole text. */
static int tokenize_segment(const AlbertTokenizer *t, const char *s, size_t len, size_t base, int limit,
                            Scratch *sc, IdList *out) {
    if (len == 0) return 0;
    sc->normalized.len = sc->align.len = 0;
    normalize_text(&t->charsmap, s, len, &sc->normalized, sc->spans ? &sc->align : NULL);
    for (size_t k = 0; k < sc->align.len; k++) {
        sc->align.v[k].start += (int32_t)base;
        sc->align.v[k].end += (int32_t)base;
    }
    return tokenize_normalized(t, sc->normalized.data, sc->normalized.len, limit, sc, out);
}

/* The whitespace run ending at `end`, not before `floor`: where an lstrip token starts. */
static size_t strip_left(const char *s, size_t floor, size_t end) {
    while (end > floor) {
        size_t k = end - 1;
        while (k > floor && ((unsigned char)s[k] & 0xc0) == 0x80) k--;
        int32_t cp;
        utf8_decode(s + k, &cp);
        if (!unicode_is_whitespace(cp)) break;
        end = k;
    }
    return end;
}

/* tokenizers' AddedVocabulary: special tokens are found in the raw text
 * (leftmost, then longest), the text between them is tokenized on its own.
 * A special token's span is its text, with the whitespace lstrip took. */
static void tokenize_text(const AlbertTokenizer *t, const char *text, size_t len, int limit, Scratch *sc,
                          IdList *out) {
    size_t done = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] != '<' && text[i] != '[') continue;  /* how every added token starts */
        const AddedToken *best = NULL;
        for (int k = 0; k < t->n_added; k++) {
            const AddedToken *a = &t->added[k];
            if (a->len <= len - i && memcmp(text + i, a->text, a->len) == 0 && (!best || a->len > best->len)) best = a;
        }
        if (!best) continue;
        size_t start = best->lstrip ? strip_left(text, done, i) : i;
        if (tokenize_segment(t, text + done, start - done, done, limit, sc, out)) return;
        ids_push(out, best->id);
        if (sc->spans) {
            ids_push(sc->spans, (int32_t)start);
            ids_push(sc->spans, (int32_t)(i + best->len));
        }
        done = i + best->len;
        i = done - 1;
    }
    tokenize_segment(t, text + done, len - done, done, limit, sc, out);
}

/* The ids of one text, without specials; `limit` as in stop_here. spans
 * (NULL: none) gets each id's start and end in text: a U+FFFD that replaced
 * invalid bytes stands for them. */
static void encode_ids(const AlbertTokenizer *t, const char *text, size_t len, int limit, Scratch *sc, IdList *out,
                       IdList *spans) {
    sc->spans = spans;
    if (utf8_valid(text, len)) {
        tokenize_text(t, text, len, limit, sc, out);
        return;
    }
    size_t clean_len, *orig_of = spans ? alb_xmalloc(sizeof(size_t) * (3 * len + 1)) : NULL;
    char *clean = utf8_sanitize(text, len, &clean_len, orig_of);
    tokenize_text(t, clean, clean_len, limit, sc, out);
    for (int k = 0; spans && k < spans->n; k++) spans->v[k] = (int32_t)orig_of[spans->v[k]];
    free(orig_of);
    free(clean);
}

/* span: its start and end, or NULL for {0, 0} (the specials' and where spans are not kept). */
static void out_push(TokenIds *out, int32_t id, int32_t type_id, const int32_t *span) {
    if (out->n == out->cap) {
        out->cap = out->cap ? 2 * out->cap : 64;
        out->ids = alb_xrealloc(out->ids, (size_t)out->cap * sizeof *out->ids);
        out->type_ids = alb_xrealloc(out->type_ids, (size_t)out->cap * sizeof *out->type_ids);
        out->spans = alb_xrealloc(out->spans, (size_t)out->cap * sizeof *out->spans);
    }
    out->ids[out->n] = id;
    out->type_ids[out->n] = type_id;
    out->spans[out->n] = span ? (ByteSpan){span[0], span[1]} : (ByteSpan){0, 0};
    out->n++;
}

static void encode_one(const AlbertTokenizer *t, const char *text, size_t len, int max_length, TokenIds *out,
                       int with_spans) {
    Scratch sc = {0};
    IdList a = {0}, spans = {0};
    encode_ids(t, text, len, max_length, &sc, &a, with_spans ? &spans : NULL);
    /* truncation keeps room for [CLS] and [SEP]; a max_length below them truncates nothing (see tokenizer.h) */
    if (max_length >= 2 && a.n > max_length - 2) a.n = max_length - 2;
    out->n = 0;
    out_push(out, t->cls_id, 0, NULL);
    for (int i = 0; i < a.n; i++) out_push(out, a.v[i], 0, with_spans ? spans.v + 2 * i : NULL);
    out_push(out, t->sep_id, 0, NULL);
    free(a.v);
    free(spans.v);
    scratch_free(&sc);
}

void tokenizer_encode(const AlbertTokenizer *t, const char *text, size_t len, int max_length, TokenIds *out) {
    encode_one(t, text, len, max_length, out, 0);
}

void tokenizer_encode_spans(const AlbertTokenizer *t, const char *text, size_t len, int max_length, TokenIds *out) {
    encode_one(t, text, len, max_length, out, 1);
}

/* tokenizers' TruncationStrategy::LongestFirst for a budget of `max` ids
 * (truncate_encodings, stride 0, direction right: each side keeps its first
 * ids). With the shorter side (the first on a tie) n1 and the longer n2:
 * when n1 + n2 fits, nothing changes; when n1 <= max / 2, n1 stays and n2
 * gets max - n1; otherwise n1 gets max / 2 and n2 the rest, max / 2 + max % 2
 * (an odd budget gives the extra id to the longer side, to B on a tie).
 * The lengths are those after stop_here: with max_length 6 (budget 3), A of
 * 9 ids and B of 6 both stop at 6, tie, and A keeps 1, B 2. */
static void truncate_longest_first(int *n1, int *n2, int max) {
    if (*n1 + *n2 <= max) return;
    int swap = *n1 > *n2;
    int shorter = swap ? *n2 : *n1, longer;
    if (shorter > max) longer = shorter;
    else longer = shorter > max - shorter ? shorter : max - shorter;
    if (shorter + longer > max) {
        shorter = max / 2;
        longer = shorter + max % 2;
    }
    int k1 = swap ? longer : shorter, k2 = swap ? shorter : longer;
    if (*n1 > k1) *n1 = k1;
    if (*n2 > k2) *n2 = k2;
}

void tokenizer_encode_pair(const AlbertTokenizer *t, const char *a, size_t alen, const char *b, size_t blen,
                           int max_length, TokenIds *out) {
    Scratch sc = {0};
    IdList ia = {0}, ib = {0};
    encode_ids(t, a, alen, max_length, &sc, &ia, NULL);
    encode_ids(t, b, blen, max_length, &sc, &ib, NULL);
    if (max_length >= 3) truncate_longest_first(&ia.n, &ib.n, max_length - 3);
    out->n = 0;
    out_push(out, t->cls_id, 0, NULL);
    for (int i = 0; i < ia.n; i++) out_push(out, ia.v[i], 0, NULL);
    out_push(out, t->sep_id, 0, NULL);
    for (int i = 0; i < ib.n; i++) out_push(out, ib.v[i], 1, NULL);
    out_push(out, t->sep_id, 1, NULL);
    free(ia.v);
    free(ib.v);
    scratch_free(&sc);
}

void token_ids_free(TokenIds *ids) {
    free(ids->ids);
    free(ids->type_ids);
    free(ids->spans);
    memset(ids, 0, sizeof *ids);
}

/* ---- decoding ---- */

static int is_added(const AlbertTokenizer *t, int id) {
    for (int k = 0; k < t->n_added; k++) {
        if (t->added[k].id == id) return 1;
    }
    return 0;
}

/* tokenizers' Metaspace decoder: "▁" becomes a space, except in the first
 * token, where it is dropped. Ids outside the vocabulary are skipped. */
char *tokenizer_decode(const AlbertTokenizer *t, const int32_t *ids, int n, int skip_special) {
    TextBuf out = {0};
    textbuf_reserve(&out, 16);
    out.data[0] = '\0';
    int first = 1;
    for (int i = 0; i < n; i++) {
        const char *piece = tokenizer_piece(t, ids[i]);
        if (!piece || (skip_special && is_added(t, ids[i]))) continue;
        const SpmPiece *p = &t->spm.pieces[ids[i]];
        for (uint32_t k = 0; k < p->len;) {
            if (k + META_LEN <= p->len && memcmp(p->text + k, META, META_LEN) == 0) {
                if (!first) textbuf_append(&out, " ", 1);
                k += META_LEN;
            } else {
                textbuf_append(&out, p->text + k, 1);
                k++;
            }
        }
        first = 0;
    }
    return out.data;
}
