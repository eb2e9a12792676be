#include "util/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int alb_fail(AlbError *err, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

const char *alb_shown(const char *s, char buf[ALB_SHOWN_SIZE]) {
    size_t n = 0;
    for (; s[n] && n < 60; n++) buf[n] = (unsigned char)s[n] < 0x20 ? '?' : s[n];
    if (s[n]) { memcpy(buf + n, "...", 3); n += 3; }
    buf[n] = 0;
    return buf;
}

void *alb_xnonnull(void *p, const char *what) {
    if (!p) {
        fprintf(stderr, "albertc: out of memory (%s)\n", what);
        abort();
    }
    return p;
}

static void *check_alloc(void *p, size_t n) {
    if (!p && n) {
        char what[32];
        snprintf(what, sizeof what, "%zu bytes", n);
        alb_xnonnull(NULL, what);
    }
    return p;
}

void *alb_xmalloc(size_t n) { return check_alloc(malloc(n ? n : 1), n); }
void *alb_xcalloc(size_t count, size_t size) { return check_alloc(calloc(count ? count : 1, size ? size : 1), count * size); }
void *alb_xrealloc(void *p, size_t n) { return check_alloc(realloc(p, n ? n : 1), n); }
char *alb_xstrdup(const char *s) { return check_alloc(strdup(s), strlen(s) + 1); }
