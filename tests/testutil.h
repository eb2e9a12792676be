/* Helpers shared by the Criterion tests. Tests run from the repository root. */
#ifndef ALB_TESTS_TESTUTIL_H
#define ALB_TESTS_TESTUTIL_H

#include <stddef.h>

/* ../shared, or $ALBERT_SHARED. */
const char *test_shared_dir(void);
/* "<shared>/<rel>" in a static rotating buffer. */
const char *test_shared_path(const char *rel);
/* The albertc binary under test ($ALBERTC, default build/albertc). */
const char *test_albertc(void);
/* A fresh empty directory under /tmp, removed by test_rmtree. malloc'ed. */
char *test_mkdtemp(void);
void test_rmtree(const char *dir);
/* A fresh temporary directory per test, for suites that declare
 * TestSuite(name, .init = test_tmp_setup, .fini = test_tmp_teardown). */
extern char *test_tmp_dir;
void test_tmp_setup(void);
void test_tmp_teardown(void);
/* "<test_tmp_dir>/<name>" in a static rotating buffer (4 live at a time). */
const char *test_tmp_path(const char *name);
/* Runs `sh -c cmd`, captures stdout and stderr (malloc'ed, may pass NULL), returns the exit code. */
int test_run(const char *cmd, char **out, char **err);
/* Runs `OMP_NUM_THREADS=1 <test_albertc()> <args>` as test_run does (one
 * OpenMP thread: tests run two at a time). */
int test_albertc_run(char **out, char **err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Writes a file (not atomic; tests only). */
void test_write_file(const char *path, const void *data, size_t len);

/* fp32 encoder outputs of the tiny test geometries against the exact result:
 * tests/test_albert.c argues this bound (a statistical one, ~10 standard
 * deviations of the rounding error of any summation order). Two fp32
 * evaluations in different orders (other batch shapes, another OpenBLAS
 * kernel) are each within it of the exact result, so within twice it of each
 * other. */
#define ENCODER_F32_TOL 1e-5f
#define ENCODER_F32_PAIR_TOL (2 * ENCODER_F32_TOL)

#endif
