/* UTF-8 helpers for the tokenizer (and the one validator: data/ checks dataset
 * files with utf8_valid). Text inside the tokenizer is always valid UTF-8:
 * utf8_sanitize is the one place where arbitrary bytes come in. */
#ifndef ALB_TOKENIZER_UTF8_H
#define ALB_TOKENIZER_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* The bytes [start, end) of a text that something came from. */
typedef struct {
    int32_t start, end;
} ByteSpan;

/* Strict validity (no overlongs, no surrogates, nothing above U+10FFFF). */
int utf8_valid(const char *s, size_t len);
/* Copies s into a malloc'ed NUL-terminated buffer, replacing each maximal
 * invalid subsequence by U+FFFD (as Rust's from_utf8_lossy, JS TextDecoder
 * and Python's errors="replace" do). *out_len gets the length. orig_of (NULL,
 * or room for 3 * len + 1): for each output byte offset that starts a
 * character, and for *out_len, the offset in s of what it came from. */
char *utf8_sanitize(const char *s, size_t len, size_t *out_len, size_t *orig_of);
/* Decodes one code point of VALID UTF-8 at s; returns its byte length. */
int utf8_decode(const char *s, int32_t *cp);
/* Encodes cp (a scalar value) at out (room for 4); returns its byte length. */
int utf8_encode(int32_t cp, char *out);
/* Byte length of the character starting with lead byte b (valid UTF-8). */
static inline int utf8_char_len(unsigned char b) {
    return b < 0x80 ? 1 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4;
}

#endif
