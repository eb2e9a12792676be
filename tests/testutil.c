#include "testutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

const char *test_shared_dir(void) {
    const char *s = getenv("ALBERT_SHARED");
    return s && *s ? s : "../shared";
}

const char *test_shared_path(const char *rel) {
    static char bufs[8][4096];
    static int next;
    char *b = bufs[next++ % 8];
    snprintf(b, sizeof bufs[0], "%s/%s", test_shared_dir(), rel);
    return b;
}

const char *test_albertc(void) {
    const char *s = getenv("ALBERTC");
    return s && *s ? s : "build/albertc";
}

char *test_mkdtemp(void) {
    char *d = strdup("/tmp/albertc-test-XXXXXX");
    if (!mkdtemp(d)) abort();
    return d;
}

void test_rmtree(const char *dir) {
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "warning: cannot remove %s\n", dir);
}

char *test_tmp_dir;

void test_tmp_setup(void) { test_tmp_dir = test_mkdtemp(); }

void test_tmp_teardown(void) {
    test_rmtree(test_tmp_dir);
    free(test_tmp_dir);
    test_tmp_dir = NULL;
}

const char *test_tmp_path(const char *name) {
    static char bufs[4][4096];
    static int next;
    char *b = bufs[next++ % 4];
    snprintf(b, sizeof bufs[0], "%s/%s", test_tmp_dir, name);
    return b;
}

static char *slurp(const char *path) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return strdup("");
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    size_t got = fread(b, 1, (size_t)n, fp);
    b[got] = '\0';
    fclose(fp);
    return b;
}

int test_run(const char *cmd, char **out, char **err) {
    char *dir = test_mkdtemp();
    size_t n = strlen(cmd) + strlen(dir) * 2 + 64;
    char *full = malloc(n);
    snprintf(full, n, "(%s) >'%s/out' 2>'%s/err'", cmd, dir, dir);
    int st = system(full);
    free(full);
    char path[4200];
    if (out) { snprintf(path, sizeof path, "%s/out", dir); *out = slurp(path); }
    if (err) { snprintf(path, sizeof path, "%s/err", dir); *err = slurp(path); }
    test_rmtree(dir);
    free(dir);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int test_albertc_run(char **out, char **err, const char *fmt, ...) {
    char args[8192], cmd[9000];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "OMP_NUM_THREADS=1 %s %s", test_albertc(), args);
    return test_run(cmd, out, err);
}

void test_write_file(const char *path, const void *data, size_t len) {
    FILE *fp = fopen(path, "wb");
    if (!fp) abort();
    if (len) fwrite(data, 1, len, fp);
    fclose(fp);
}
