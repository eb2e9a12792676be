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

static void *check_alloc(void *p, size_t n) {
    if (!p && n) {
        fprintf(stderr, "albertc: out of memory (%zu bytes)\n", n);
        abort();
    }
    return p;
}

void *alb_xmalloc(size_t n) { return check_alloc(malloc(n ? n : 1), n); }
void *alb_xcalloc(size_t count, size_t size) { return check_alloc(calloc(count ? count : 1, size ? size : 1), count * size); }
void *alb_xrealloc(void *p, size_t n) { return check_alloc(realloc(p, n ? n : 1), n); }
char *alb_xstrdup(const char *s) { return check_alloc(strdup(s), strlen(s) + 1); }
