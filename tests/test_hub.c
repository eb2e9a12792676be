#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "model/hub.h"
#include "testutil.h"
#include "util/fileio.h"

/* Each test runs in its own process (Criterion forks), so setenv does not leak between tests. */
static char *tmp_dir;

static void setup(void) {
    tmp_dir = test_mkdtemp();
    unsetenv("HF_HUB_CACHE");
    unsetenv("HF_HOME");
}
static void teardown(void) {
    test_rmtree(tmp_dir);
    free(tmp_dir);
}

TestSuite(hub, .init = setup, .fini = teardown);

/* "<tmp>/<fmt...>" in a rotating static buffer. */
static const char *tmp(const char *fmt, ...) {
    static char bufs[8][4096];
    static int next;
    char *b = bufs[next++ % 8];
    int k = snprintf(b, sizeof bufs[0], "%s/", tmp_dir);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b + k, sizeof bufs[0] - (size_t)k, fmt, ap);
    va_end(ap);
    return b;
}

static void mkdirs(const char *path) {
    AlbError err;
    cr_assert_eq(alb_mkdirs(path, &err), 0, "%s", err.msg);
}

/* <root>/<repo>/snapshots/<rev>/ and, if ref is not NULL, refs/main containing ref. */
static void make_repo(const char *root, const char *repo, const char *rev, const char *ref) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s/snapshots/%s", root, repo, rev);
    mkdirs(path);
    if (ref) {
        snprintf(path, sizeof path, "%s/%s/refs", root, repo);
        mkdirs(path);
        snprintf(path, sizeof path, "%s/%s/refs/main", root, repo);
        test_write_file(path, ref, strlen(ref));
    }
}

static void expect_resolves(const char *id, const char *kind, const char *want) {
    char out[4096];
    AlbError err = {""};
    cr_assert_eq(hub_resolve(id, kind, out, sizeof out, &err), 0, "%s", err.msg);
    cr_assert_str_eq(out, want);
}

static void expect_error(const char *id, const char *kind, const char *want) {
    char out[4096];
    AlbError err = {""};
    cr_assert_eq(hub_resolve(id, kind, out, sizeof out, &err), -1, "resolved %s to %s", id, out);
    cr_assert_str_eq(err.msg, want);
}

Test(hub, existing_directory_is_returned) {
    mkdirs(tmp("my-model"));
    expect_resolves(tmp("my-model"), "models", tmp("my-model"));
}

Test(hub, hf_hub_cache_with_refs_main) {
    const char *root = tmp("cache");
    make_repo(root, "models--albert--albert-base-v2", "0123abcd", "0123abcd\n");
    make_repo(root, "models--albert--albert-base-v2", "older", NULL);
    setenv("HF_HUB_CACHE", root, 1);
    setenv("HF_HOME", tmp("elsewhere"), 1);  /* HF_HUB_CACHE wins */
    expect_resolves("albert/albert-base-v2", "models", tmp("cache/models--albert--albert-base-v2/snapshots/0123abcd"));
}

Test(hub, hf_home) {
    make_repo(tmp("hfhome/hub"), "datasets--mteb--banking77", "c0ffee", "  c0ffee  \r\n");
    setenv("HF_HOME", tmp("hfhome"), 1);
    expect_resolves("mteb/banking77", "datasets", tmp("hfhome/hub/datasets--mteb--banking77/snapshots/c0ffee"));
}

Test(hub, home_cache_default) {
    make_repo(tmp("home/.cache/huggingface/hub"), "models--albert-base-v2", "abc", "abc");
    setenv("HOME", tmp("home"), 1);
    expect_resolves("albert-base-v2", "models", tmp("home/.cache/huggingface/hub/models--albert-base-v2/snapshots/abc"));
}

Test(hub, only_snapshot_without_refs) {
    make_repo(tmp("c"), "models--org--m", "deadbeef", NULL);
    test_write_file(tmp("c/models--org--m/snapshots/stray-file"), "x", 1);  /* files are not snapshots */
    setenv("HF_HUB_CACHE", tmp("c"), 1);
    expect_resolves("org/m", "models", tmp("c/models--org--m/snapshots/deadbeef"));
}

Test(hub, several_snapshots_without_refs) {
    make_repo(tmp("c"), "models--org--m", "one", NULL);
    make_repo(tmp("c"), "models--org--m", "two", NULL);
    setenv("HF_HUB_CACHE", tmp("c"), 1);
    char want[8192];
    snprintf(want, sizeof want, "cannot find model 'org/m': not a directory, and not in the Hugging Face cache "
             "(looked in: org/m, %s, the only folder in %s)", tmp("c/models--org--m/refs/main"),
             tmp("c/models--org--m/snapshots"));
    expect_error("org/m", "models", want);
}

Test(hub, refs_main_to_missing_snapshot) {
    make_repo(tmp("c"), "models--org--m", "present", "gone\n");
    setenv("HF_HUB_CACHE", tmp("c"), 1);
    char want[8192];
    snprintf(want, sizeof want, "cannot find model 'org/m': not a directory, and not in the Hugging Face cache "
             "(looked in: org/m, %s)", tmp("c/models--org--m/snapshots/gone"));
    expect_error("org/m", "models", want);
}

Test(hub, refs_main_cannot_escape) {
    make_repo(tmp("c"), "models--org--m", "x", "../../../etc\n");
    setenv("HF_HUB_CACHE", tmp("c"), 1);
    /* A bad ref counts as no ref: the only snapshot is used. */
    expect_resolves("org/m", "models", tmp("c/models--org--m/snapshots/x"));
}

Test(hub, not_found_lists_paths) {
    setenv("HF_HUB_CACHE", tmp("c"), 1);
    char want[8192];
    snprintf(want, sizeof want, "cannot find model 'org/none': not a directory, and not in the Hugging Face cache "
             "(looked in: org/none, %s)", tmp("c/models--org--none"));
    expect_error("org/none", "models", want);
    snprintf(want, sizeof want, "cannot find dataset 'mteb/banking77': not a directory, and not in the Hugging Face "
             "cache (looked in: mteb/banking77, %s)", tmp("c/datasets--mteb--banking77"));
    expect_error("mteb/banking77", "datasets", want);
}

Test(hub, rejects_path_like_ids) {
    setenv("HF_HUB_CACHE", tmp("c"), 1);
    mkdirs(tmp("c/models--x"));
    /* relative ids must not meet real directories around the checkout (../x, ./m, b) */
    mkdirs(tmp("cwd"));
    cr_assert_eq(chdir(tmp("cwd")), 0);
    const char *bad[] = {"../x", "org/..", "a/../b", "a//b", "/no/such/dir", "a/b/c", "", "./m"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char want[1024];
        snprintf(want, sizeof want, "cannot find model '%s': not a directory, and not a Hugging Face id "
                 "(\"org/name\" or \"name\", no '.' or '..' parts)", bad[i]);
        expect_error(bad[i], "models", want);
    }
}

Test(hub, output_too_small) {
    mkdirs(tmp("a-rather-long-directory-name"));
    char out[8];
    AlbError err;
    cr_assert_eq(hub_resolve(tmp("a-rather-long-directory-name"), "models", out, sizeof out, &err), -1);
    cr_assert(strstr(err.msg, "path too long"), "%s", err.msg);
}
