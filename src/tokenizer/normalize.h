/* The fast ALBERT normalizer (tokenizer.json's Sequence):
 *   Replace("``" -> "\""), Replace("''" -> "\""), NFKD, StripAccents,
 *   Lowercase, Precompiled(precompiled_charsmap).
 * Input and output are valid UTF-8; a normalizer holds no mutable state, so
 * one may serve many threads. */
#ifndef ALB_TOKENIZER_NORMALIZE_H
#define ALB_TOKENIZER_NORMALIZE_H

#include <stddef.h>
#include <stdint.h>
#include "tokenizer/utf8.h"
#include "util/error.h"

typedef struct {
    char *data;
    size_t len, cap;
} TextBuf;

void textbuf_reserve(TextBuf *b, size_t extra);
void textbuf_append(TextBuf *b, const char *s, size_t n);
void textbuf_free(TextBuf *b);

/* Alignments: per byte of a normalized text, the span of the input it came
 * from, kept as Hugging Face's NormalizedString keeps its alignments (the
 * engine's token offsets are read from them). Each step follows the engine's
 * transform rules (normalizer.rs): a character that becomes several takes
 * the span of the one it came from; a replacement's extra characters take the
 * span of the character before them; a removal leaves the others' spans. */
typedef struct {
    ByteSpan *v;
    size_t len, cap;
} SpanBuf;

/* n copies of span. */
void spanbuf_push(SpanBuf *b, ByteSpan span, size_t n);
void spanbuf_free(SpanBuf *b);

/* SentencePiece's precompiled charsmap: u32 LE trie size in bytes, a Darts
 * double-array trie over UTF-8 bytes (u32 units), then the NUL-separated
 * replacement strings the trie's values point into. */
typedef struct {
    const uint32_t *units;   /* points into blob */
    size_t n_units;
    const char *strings;     /* replacement strings */
    size_t strings_len;
    uint32_t *blob;          /* owned, aligned copy */
    int64_t ascii_off[128];  /* per ASCII byte: offset of its replacement in strings, -1: none */
    size_t ascii_len[128];
} Charsmap;

/* An empty charsmap (len 0) is valid and maps nothing. */
int charsmap_init(Charsmap *c, const uint8_t *data, size_t len, const char *path, AlbError *err);
void charsmap_free(Charsmap *c);

/* Appends the normalized form of s[0..len) (valid UTF-8) to out; with align
 * (NULL: none), appends each output byte's span of s to it. */
void normalize_text(const Charsmap *c, const char *s, size_t len, TextBuf *out, SpanBuf *align);

/* The steps, exposed for tests. normalize_chars' spans are offsets in s;
 * normalize_precompiled takes s's own spans (in_align[len], needed with align)
 * and carries them through. */
void normalize_chars(const char *s, size_t len, TextBuf *out, SpanBuf *align);  /* Replace..Lowercase */
void normalize_precompiled(const Charsmap *c, const char *s, size_t len, TextBuf *out, const ByteSpan *in_align,
                           SpanBuf *align);
/* Rust's char::is_whitespace (Unicode White_Space). */
int unicode_is_whitespace(int32_t cp);

#endif
