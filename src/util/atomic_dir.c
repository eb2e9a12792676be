#define _XOPEN_SOURCE 700
#include "util/atomic_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fileio.h"

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

int alb_rmtree(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0) return errno == ENOENT ? 0 : -1;
    return nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static char *suffixed(const char *path, const char *what) {
    size_t n = strlen(path) + 48;
    char *s = alb_xmalloc(n);
    snprintf(s, n, "%s.%s.%ld", path, what, (long)getpid());
    return s;
}

static void atomic_dir_free(AtomicDir *d) {
    free(d->path);
    free(d->tmp_path);
    memset(d, 0, sizeof *d);
}

int atomic_dir_open(AtomicDir *d, const char *path, AlbError *err) {
    d->path = alb_xstrdup(path);  /* without trailing slashes: "<dir>.tmp.<pid>" must be beside it */
    for (size_t k = strlen(d->path); k > 1 && d->path[k - 1] == '/'; k--) d->path[k - 1] = '\0';
    d->tmp_path = suffixed(d->path, "tmp");
    char *parent_copy = alb_xstrdup(d->path);
    int rc = alb_mkdirs(dirname(parent_copy), err);
    free(parent_copy);
    if (!rc && alb_rmtree(d->tmp_path)) rc = alb_fail(err, "%s: cannot remove: %s", d->tmp_path, strerror(errno));
    if (!rc && mkdir(d->tmp_path, 0755)) rc = alb_fail(err, "%s: cannot create: %s", d->tmp_path, strerror(errno));
    if (rc) atomic_dir_free(d);
    return rc;
}

char *atomic_dir_file(const AtomicDir *d, const char *name) { return alb_path_join(d->tmp_path, name); }

static int fsync_path(const char *path) {
    int fd = open(path, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* The destination's parent, for the fsync after the rename. */
static int fsync_parent(const char *path) {
    char *copy = alb_xstrdup(path);
    int rc = fsync_path(dirname(copy));
    free(copy);
    return rc;
}

/* Moves tmp over an existing directory path: exchange, else rename aside. */
static int replace_existing(const char *tmp, const char *path) {
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_EXCHANGE) == 0) return alb_rmtree(tmp);
    if (errno != EINVAL && errno != ENOSYS) return -1;
    char *aside = suffixed(path, "old");
    int rc = rename(path, aside) || rename(tmp, path) || alb_rmtree(aside) ? -1 : 0;
    free(aside);
    return rc;
}

int atomic_dir_commit(AtomicDir *d, AlbError *err) {
    int rc = 0;
    struct stat st;
    if (fsync_path(d->tmp_path)) {
        rc = alb_fail(err, "%s: cannot sync: %s", d->tmp_path, strerror(errno));
    } else if (lstat(d->path, &st) == 0 && !S_ISDIR(st.st_mode)) {
        rc = alb_fail(err, "%s: exists and is not a directory", d->path);
    } else if (lstat(d->path, &st) == 0 ? replace_existing(d->tmp_path, d->path) : rename(d->tmp_path, d->path)) {
        rc = alb_fail(err, "%s: cannot move the new directory into place: %s", d->path, strerror(errno));
    } else if (fsync_parent(d->path)) {
        rc = alb_fail(err, "%s: cannot sync its directory: %s", d->path, strerror(errno));
    }
    if (rc) alb_rmtree(d->tmp_path);
    atomic_dir_free(d);
    return rc;
}

void atomic_dir_abort(AtomicDir *d) {
    if (d->tmp_path) alb_rmtree(d->tmp_path);
    atomic_dir_free(d);
}
