#include "tokenizer/utf8.h"

#include <string.h>
#include "util/error.h"

/* Length of the valid sequence at s[0..avail), or -(bytes of its maximal
 * valid prefix, at least 1) when it is invalid. Unicode Table 3-7. */
static int sequence_len(const unsigned char *s, size_t avail) {
    unsigned char b = s[0];
    if (b < 0x80) return 1;
    int need;
    unsigned char lo = 0x80, hi = 0xbf;  /* range of the second byte */
    if (b >= 0xc2 && b <= 0xdf) need = 2;
    else if (b == 0xe0) need = 3, lo = 0xa0;
    else if (b == 0xed) need = 3, hi = 0x9f;
    else if (b >= 0xe1 && b <= 0xef) need = 3;
    else if (b == 0xf0) need = 4, lo = 0x90;
    else if (b == 0xf4) need = 4, hi = 0x8f;
    else if (b >= 0xf1 && b <= 0xf3) need = 4;
    else return -1;
    for (int i = 1; i < need; i++) {
        if ((size_t)i >= avail) return -i;
        unsigned char c = s[i];
        if (i == 1 ? (c < lo || c > hi) : (c < 0x80 || c > 0xbf)) return -i;
    }
    return need;
}

int utf8_valid(const char *s, size_t len) {
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        int n = sequence_len(p + i, len - i);
        if (n < 0) return 0;
        i += (size_t)n;
    }
    return 1;
}

char *utf8_sanitize(const char *s, size_t len, size_t *out_len, size_t *orig_of) {
    const unsigned char *p = (const unsigned char *)s;
    /* each invalid byte becomes at most 3 bytes */
    char *out = alb_xmalloc(3 * len + 1);
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        int n = sequence_len(p + i, len - i);
        if (orig_of) orig_of[o] = i;
        if (n > 0) {
            memcpy(out + o, p + i, (size_t)n);
            o += (size_t)n;
            i += (size_t)n;
        } else {
            memcpy(out + o, "\xef\xbf\xbd", 3);
            o += 3;
            i += (size_t)-n;
        }
    }
    out[o] = '\0';
    if (orig_of) orig_of[o] = len;
    *out_len = o;
    return out;
}

int utf8_decode(const char *s, int32_t *cp) {
    const unsigned char *p = (const unsigned char *)s;
    if (p[0] < 0x80) { *cp = p[0]; return 1; }
    if (p[0] < 0xe0) { *cp = (p[0] & 0x1f) << 6 | (p[1] & 0x3f); return 2; }
    if (p[0] < 0xf0) { *cp = (p[0] & 0x0f) << 12 | (p[1] & 0x3f) << 6 | (p[2] & 0x3f); return 3; }
    *cp = (p[0] & 0x07) << 18 | (p[1] & 0x3f) << 12 | (p[2] & 0x3f) << 6 | (p[3] & 0x3f);
    return 4;
}

int utf8_encode(int32_t cp, char *out) {
    if (cp < 0x80) { out[0] = (char)cp; return 1; }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}
