/* The fast tokenizer's normalizer, one character at a time.
 *
 * NFKD is applied per character without canonical reordering: reordering only
 * permutes runs of characters with a non-zero combining class, and every such
 * character is a General_Category M character, which StripAccents deletes
 * right after (tests check this over all of Unicode). So decomposing, dropping
 * marks and lower-casing each character in turn equals the three passes. */
#include "tokenizer/normalize.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>
#include "tokenizer/unicode_fixes.h"
#include "tokenizer/utf8.h"

void textbuf_reserve(TextBuf *b, size_t extra) {
    if (b->len + extra + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1) cap *= 2;
    b->data = alb_xrealloc(b->data, cap);
    b->cap = cap;
}

void textbuf_append(TextBuf *b, const char *s, size_t n) {
    textbuf_reserve(b, n);
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void textbuf_free(TextBuf *b) {
    free(b->data);
    memset(b, 0, sizeof *b);
}

void spanbuf_push(SpanBuf *b, ByteSpan span, size_t n) {
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n) cap *= 2;
        b->v = alb_xrealloc(b->v, cap * sizeof *b->v);
        b->cap = cap;
    }
    for (size_t k = 0; k < n; k++) b->v[b->len++] = span;
}

void spanbuf_free(SpanBuf *b) {
    free(b->v);
    memset(b, 0, sizeof *b);
}

/* ---- Precompiled charsmap (Darts double array) ---- */

static inline uint32_t unit_has_leaf(uint32_t u) { return (u >> 8) & 1; }
static inline uint32_t unit_value(uint32_t u) { return u & 0x7fffffffu; }
static inline uint32_t unit_label(uint32_t u) { return u & (0x80000000u | 0xffu); }
static inline uint32_t unit_offset(uint32_t u) { return (u >> 10) << ((u & (1u << 9)) >> 6); }

/* The replacement string starting at strings[value] (up to its NUL), or NULL
 * when the value points outside the strings or not at a whole UTF-8 string. */
static const char *replacement_at(const Charsmap *c, uint32_t value, size_t *out_len) {
    if (value >= c->strings_len) return NULL;
    const char *s = c->strings + value;
    const char *nul = memchr(s, '\0', c->strings_len - value);
    size_t n = nul ? (size_t)(nul - s) : c->strings_len - value;
    if (!utf8_valid(s, n) || (n && (s[0] & 0xc0) == 0x80)) return NULL;
    *out_len = n;
    return s;
}

/* The replacement of the SHORTEST key that is a prefix of s[0..len) (as the
 * spm_precompiled crate that tokenizers uses; SentencePiece itself takes the
 * longest), or NULL. The search stops at a NUL byte. */
static const char *trie_prefix(const Charsmap *c, const char *s, size_t len, size_t *out_len) {
    if (c->n_units == 0) return NULL;
    size_t node = unit_offset(c->units[0]);
    for (size_t i = 0; i < len; i++) {
        uint8_t byte = (uint8_t)s[i];
        if (byte == 0) return NULL;
        node ^= byte;
        if (node >= c->n_units) return NULL;
        uint32_t unit = c->units[node];
        if (unit_label(unit) != byte) return NULL;
        node ^= unit_offset(unit);
        if (node >= c->n_units) return NULL;
        if (unit_has_leaf(unit)) return replacement_at(c, unit_value(c->units[node]), out_len);
    }
    return NULL;
}

int charsmap_init(Charsmap *c, const uint8_t *data, size_t len, const char *path, AlbError *err) {
    memset(c, 0, sizeof *c);
    for (int b = 0; b < 128; b++) c->ascii_off[b] = -1;
    if (len == 0) return 0;
    if (len < 4) return alb_fail(err, "%s: precompiled_charsmap is truncated (%zu bytes)", path, len);
    uint32_t trie_size = (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 |
                         (uint32_t)data[3] << 24;
    if (trie_size > len - 4) {
        return alb_fail(err, "%s: precompiled_charsmap trie of %u bytes exceeds its %zu bytes", path, trie_size,
                        len - 4);
    }
    /* units are little-endian u32; copy so they are aligned and in host order */
    c->n_units = trie_size / 4;
    size_t strings_len = len - 4 - trie_size;
    c->blob = alb_xmalloc(c->n_units * 4 + strings_len + 1);
    for (size_t i = 0; i < c->n_units; i++) {
        const uint8_t *p = data + 4 + 4 * i;
        c->blob[i] = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    }
    char *strings = (char *)(c->blob + c->n_units);
    memcpy(strings, data + 4 + trie_size, strings_len);
    strings[strings_len] = '\0';
    c->units = c->blob;
    c->strings = strings;
    c->strings_len = strings_len;
    if (!utf8_valid(strings, strings_len)) {
        charsmap_free(c);
        return alb_fail(err, "%s: precompiled_charsmap replacement strings are not valid UTF-8", path);
    }
    for (int b = 1; b < 128; b++) {
        char ch = (char)b;
        size_t n = 0;
        const char *r = trie_prefix(c, &ch, 1, &n);
        if (r) {
            c->ascii_off[b] = (int64_t)(r - c->strings);
            c->ascii_len[b] = n;
        }
    }
    return 0;
}

void charsmap_free(Charsmap *c) {
    free(c->blob);
    memset(c, 0, sizeof *c);
    for (int b = 0; b < 128; b++) c->ascii_off[b] = -1;
}

/* ---- Replace, NFKD, StripAccents, Lowercase ---- */

static const UnicodeFix *find_fix(const UnicodeFix *table, size_t n, int32_t cp) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (table[mid].cp == cp) return &table[mid];
        if (table[mid].cp < cp) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

/* StripAccents drops every General_Category M character (Mn, Mc, Me: also
 * U+FE0F, U+034F, U+20E3); the slow tokenizer keeps marks whose canonical
 * combining class is 0 (Python's unicodedata.combining). */
static int is_mark(int32_t cp) {
    utf8proc_category_t cat = utf8proc_category(cp);
    return cat == UTF8PROC_CATEGORY_MN || cat == UTF8PROC_CATEGORY_MC || cat == UTF8PROC_CATEGORY_ME;
}

/* Rust's char::to_lowercase: full mapping (U+0130 -> "i\u0307" is in the
 * fixes), newer Unicode than utf8proc's simple mapping. */
static void append_lowercase(int32_t cp, TextBuf *out) {
    char buf[16];
    int n = 0;
    const UnicodeFix *fix = find_fix(FIX_LOWER, sizeof FIX_LOWER / sizeof FIX_LOWER[0], cp);
    if (fix) {
        for (int k = 0; k < fix->n; k++) n += utf8_encode(fix->out[k], buf + n);
    } else {
        n = utf8_encode(utf8proc_tolower(cp), buf);
    }
    textbuf_append(out, buf, (size_t)n);
}

/* NFKD of one character without its marks, as the engine's (older) tables have it. */
static int decompose_strip(int32_t cp, int32_t out[32]) {
    const UnicodeFix *fix = find_fix(FIX_NFKD_STRIP, sizeof FIX_NFKD_STRIP / sizeof FIX_NFKD_STRIP[0], cp);
    if (fix) {
        for (int k = 0; k < fix->n; k++) out[k] = fix->out[k];
        return fix->n;
    }
    int32_t decomposed[32];
    int boundclass = 0;
    utf8proc_ssize_t n = utf8proc_decompose_char(cp, decomposed, 32, UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT, &boundclass);
    if (n < 0 || n > 32) {  /* cannot happen with Unicode's decompositions (the longest is 18) */
        decomposed[0] = cp;
        n = 1;
    }
    int kept = 0;
    for (utf8proc_ssize_t k = 0; k < n; k++) {
        if (!is_mark(decomposed[k])) out[kept++] = decomposed[k];
    }
    return kept;
}

/* Each input character's output takes its span (NFKD's, StripAccents' and
 * Lowercase's transforms: added characters copy the one before, removed ones
 * vanish); Replace's '"' takes the span of the second quote it replaces. */
void normalize_chars(const char *s, size_t len, TextBuf *out, SpanBuf *align) {
    textbuf_reserve(out, len);
    for (size_t i = 0; i < len;) {
        size_t before = out->len;
        ByteSpan from = {(int32_t)i, 0};
        unsigned char b = (unsigned char)s[i];
        if ((b == '`' || b == '\'') && i + 1 < len && (unsigned char)s[i + 1] == b) {
            textbuf_append(out, "\"", 1);
            from.start = (int32_t)i + 1;
            i += 2;
        } else if (b < 0x80) {
            char lower = (char)(b >= 'A' && b <= 'Z' ? b + 32 : b);
            textbuf_append(out, &lower, 1);
            i++;
        } else {
            int32_t cp, chars[32];
            i += (size_t)utf8_decode(s + i, &cp);
            int n = decompose_strip(cp, chars);
            for (int k = 0; k < n; k++) append_lowercase(chars[k], out);
        }
        from.end = (int32_t)i;
        if (align) spanbuf_push(align, from, out->len - before);
    }
}

/* ---- Precompiled, grapheme by grapheme ---- */

/* The engine's record of a Precompiled pass (tokenizers' precompiled.rs), for
 * the spans: per output character its bytes and its change (0: it replaces
 * the next input character; 1: it is inserted; -k: it replaces the next one
 * and removes k more). */
typedef struct {
    int *bytes, *change;
    size_t n, cap;
} Changes;

static void changes_push(Changes *c, int bytes, int change) {
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 256;
        c->bytes = alb_xrealloc(c->bytes, c->cap * sizeof *c->bytes);
        c->change = alb_xrealloc(c->change, c->cap * sizeof *c->change);
    }
    c->bytes[c->n] = bytes;
    c->change[c->n++] = change;
}

/* precompiled.rs's replace(): old_chars input characters become r[0..rn).
 * The last (new - old) new ones are inserted; when fewer come out, the last
 * character recorded so far (of an earlier cluster, maybe) removes the rest,
 * and at the very start there is none: the engine drops the removal, and the
 * characters after it take the spans of the ones before them. */
static void changes_replace(Changes *c, int old_chars, const char *r, size_t rn) {
    int new_chars = 0;
    for (size_t k = 0; k < rn; k += (size_t)utf8_char_len((unsigned char)r[k]), new_chars++)
        changes_push(c, utf8_char_len((unsigned char)r[k]), 0);
    int diff = new_chars - old_chars;
    if (diff > 0)
        for (size_t k = c->n - (size_t)diff; k < c->n; k++) c->change[k] = 1;
    else if (diff < 0 && c->n)
        c->change[c->n - 1] += diff;
}

/* NormalizedString::transform of s[0..len) (spans in) by the changes: a
 * replacing character takes the span of the input character it replaces, an
 * inserted one the span of the input byte before it ({0, 0} at the start). */
static void apply_changes(const Changes *c, const char *s, size_t len, const ByteSpan *in, SpanBuf *align) {
    size_t k = 0;  /* input bytes consumed */
    for (size_t i = 0; i < c->n; i++) {
        ByteSpan span = {0, 0};
        if (c->change[i] > 0) {
            if (k > 0) span = in[k - 1];
        } else if (k < len) {
            span = in[k];
            k += (size_t)utf8_char_len((unsigned char)s[k]);
            for (int r = 0; r < -c->change[i] && k < len; r++) k += (size_t)utf8_char_len((unsigned char)s[k]);
        }
        spanbuf_push(align, span, (size_t)c->bytes[i]);
    }
}

/* One character s[0..n) mapped alone (its rule's output, or itself). */
static void append_char_mapped(const Charsmap *c, const char *s, int n, TextBuf *out, Changes *ch) {
    size_t rn = 0;
    const char *r;
    unsigned char b = (unsigned char)s[0];
    if (b < 0x80) {  /* the table charsmap_init made */
        r = c->ascii_off[b] >= 0 ? c->strings + c->ascii_off[b] : NULL;
        rn = c->ascii_len[b];
    } else {
        r = trie_prefix(c, s, (size_t)n, &rn);
    }
    if (r) textbuf_append(out, r, rn);
    else textbuf_append(out, s, (size_t)n);
    if (!ch) return;
    if (r) changes_replace(ch, 1, r, rn);
    else changes_push(ch, n, 0);
}

/* Unassigned code points that Unicode's GraphemeBreakProperty.txt lists as
 * Control (utf8proc classes them Other): a cluster always ends around them. */
static int is_unassigned_control(int32_t cp) {
    return cp == 0x2065 || (cp >= 0xfff0 && cp <= 0xfff8) || cp == 0xe0000 || (cp >= 0xe0002 && cp <= 0xe001f) ||
           (cp >= 0xe0080 && cp <= 0xe00ff) || (cp >= 0xe01f0 && cp <= 0xe0fff);
}

static int grapheme_break(int32_t prev, int32_t next, utf8proc_int32_t *state) {
    return is_unassigned_control(prev) || is_unassigned_control(next) ||
           utf8proc_grapheme_break_stateful(prev, next, state);
}

/* As tokenizers' Precompiled normalizer: a grapheme cluster shorter than 6
 * bytes whose prefix has a rule is replaced WHOLE by that rule's output (the
 * shortest matching key wins); otherwise each character is mapped alone. */
void normalize_precompiled(const Charsmap *c, const char *s, size_t len, TextBuf *out, const ByteSpan *in_align,
                           SpanBuf *align) {
    textbuf_reserve(out, len);
    Changes changes = {0}, *ch = align ? &changes : NULL;
    size_t i = 0;
    while (i < len) {
        unsigned char b = (unsigned char)s[i];
        /* ASCII followed by ASCII (except CR LF) is a one-character cluster */
        if (b < 0x80 && (i + 1 == len || ((unsigned char)s[i + 1] < 0x80 && !(b == '\r' && s[i + 1] == '\n')))) {
            append_char_mapped(c, s + i, 1, out, ch);
            i++;
            continue;
        }
        /* the cluster s[i..end) */
        utf8proc_int32_t state = 0;
        int32_t cp;
        size_t end = i + (size_t)utf8_decode(s + i, &cp);
        int chars = 1;
        while (end < len) {
            int32_t next;
            int n = utf8_decode(s + end, &next);
            if (grapheme_break(cp, next, &state)) break;
            cp = next;
            end += (size_t)n;
            chars++;
        }
        size_t rn = 0;
        const char *r = end - i < 6 ? trie_prefix(c, s + i, end - i, &rn) : NULL;
        if (r) {
            textbuf_append(out, r, rn);
            if (ch) changes_replace(ch, chars, r, rn);
        } else {
            for (size_t k = i; k < end;) {
                int n = utf8_char_len((unsigned char)s[k]);
                append_char_mapped(c, s + k, n, out, ch);
                k += (size_t)n;
            }
        }
        i = end;
    }
    if (ch) {
        apply_changes(ch, s, len, in_align, align);
        free(changes.bytes);
        free(changes.change);
    }
}

void normalize_text(const Charsmap *c, const char *s, size_t len, TextBuf *out, SpanBuf *align) {
    TextBuf mid = {0};
    SpanBuf mid_align = {0};
    normalize_chars(s, len, &mid, align ? &mid_align : NULL);
    normalize_precompiled(c, mid.data ? mid.data : "", mid.len, out, mid_align.v, align);
    textbuf_free(&mid);
    spanbuf_free(&mid_align);
}

int unicode_is_whitespace(int32_t cp) {
    if (cp < 0x80) return cp == ' ' || (cp >= 0x09 && cp <= 0x0d);
    switch (cp) {
    case 0x85: case 0xa0: case 0x1680: case 0x2028: case 0x2029: case 0x202f: case 0x205f: case 0x3000:
        return 1;
    default:
        return cp >= 0x2000 && cp <= 0x200a;
    }
}
