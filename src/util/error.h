/* Error reporting shared by every module.
 *
 * Library functions never print and never exit: on failure they fill an
 * AlbError with one line that names the file (and line, where there is one)
 * and what is wrong, and return -1. The CLI prints it as "albertc: <msg>". */
#ifndef ALB_UTIL_ERROR_H
#define ALB_UTIL_ERROR_H

#include <stddef.h>

typedef struct {
    char msg[1024];
} AlbError;

/* printf-style; always returns -1 so callers can write `return alb_fail(...)`. */
int alb_fail(AlbError *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* s as quoted into an error message: its first 60 bytes (then "..."), control
 * bytes as '?', so a huge or binary value keeps the message one short line.
 * Returns buf. */
#define ALB_SHOWN_SIZE 72
const char *alb_shown(const char *s, char buf[ALB_SHOWN_SIZE]);

/* Allocation that never returns NULL: out of memory is not recoverable here. */
void *alb_xmalloc(size_t n);
void *alb_xcalloc(size_t count, size_t size);
void *alb_xrealloc(void *p, size_t n);
char *alb_xstrdup(const char *s);
/* p, or the same out-of-memory exit when p is NULL: for other libraries' allocators. */
void *alb_xnonnull(void *p, const char *what);

#endif
