#define _POSIX_C_SOURCE 200809L
#include "util/fileio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int alb_read_file(const char *path, char **data, size_t *len, AlbError *err) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return alb_fail(err, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *buf = alb_xmalloc(cap);
    for (;;) {
        if (n + 1 >= cap) buf = alb_xrealloc(buf, cap *= 2);
        size_t got = fread(buf + n, 1, cap - n - 1, fp);
        n += got;
        if (got == 0) break;
    }
    int failed = ferror(fp), e = errno;
    fclose(fp);
    if (failed) {
        free(buf);
        return alb_fail(err, "%s: read error: %s", path, strerror(e));
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return 0;
}

int alb_fsync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    errno = e;
    return rc;
}

static int fsync_parent_dir(const char *path) {
    char *copy = alb_xstrdup(path);
    int rc = alb_fsync_dir(dirname(copy));
    int e = errno;
    free(copy);
    errno = e;
    return rc;
}

/* path with its symbolic links followed, to the file a dangling one would
 * create; malloc'ed, NULL (err set) on a loop or an unreadable link. */
static char *follow_symlinks(const char *path, AlbError *err) {
    char *cur = alb_xstrdup(path);
    for (int hops = 0;; hops++) {
        struct stat st;
        if (lstat(cur, &st) != 0 || !S_ISLNK(st.st_mode)) return cur;
        char link[4096];
        ssize_t n = hops < 40 ? readlink(cur, link, sizeof link - 1) : -1;
        if (n < 0) {
            alb_fail(err, "%s: cannot follow the symbolic link: %s", path, strerror(hops < 40 ? errno : ELOOP));
            free(cur);
            return NULL;
        }
        link[n] = '\0';
        char *next;
        if (link[0] == '/') {
            next = alb_xstrdup(link);
        } else {
            char *copy = alb_xstrdup(cur);
            next = alb_path_join(dirname(copy), link);
            free(copy);
        }
        free(cur);
        cur = next;
    }
}

typedef enum { OUT_REPLACE, OUT_STREAM, OUT_STDOUT } OutputKind;

/* What atomic_open does with path: returns what to open (malloc'ed; NULL with
 * err set when path is refused), *mode the existing file's mode (0: none). A
 * FIFO or a device is opened through path itself (/dev/stdout's /proc links
 * cannot be followed by readlink); a regular file's symlinks are followed to
 * find where to rename. */
static char *output_kind(const char *path, OutputKind *kind, mode_t *mode, AlbError *err) {
    *kind = OUT_REPLACE;
    *mode = 0;
    if (strcmp(path, "-") == 0) {
        *kind = OUT_STDOUT;
        return alb_xstrdup(path);
    }
    struct stat st;
    if (stat(path, &st) == 0) {
        if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) {
            *kind = OUT_STREAM;
            return alb_xstrdup(path);
        }
        if (!S_ISREG(st.st_mode)) {
            const char *what = S_ISDIR(st.st_mode) ? "a directory" : S_ISSOCK(st.st_mode) ? "a socket"
                             : S_ISBLK(st.st_mode) ? "a block device" : "not a file";
            alb_fail(err, "%s: is %s; an output must be a regular file (replaced atomically), a FIFO, a "
                          "character device or '-' (stdout)", path, what);
            return NULL;
        }
        *mode = st.st_mode;
    }
    return follow_symlinks(path, err);
}

int alb_output_check(const char *path, AlbError *err) {
    OutputKind kind;
    mode_t mode;
    char *dest = output_kind(path, &kind, &mode, err);
    int ok = dest != NULL;
    free(dest);
    return ok ? 0 : -1;
}

int atomic_open(AtomicFile *af, const char *path, AlbError *err) {
    memset(af, 0, sizeof *af);
    OutputKind kind;
    mode_t mode;
    char *dest = output_kind(path, &kind, &mode, err);
    if (!dest) return -1;
    if (kind != OUT_REPLACE) {
        af->fp = kind == OUT_STDOUT ? stdout : fopen(dest, "wb");
        free(dest);
    } else {
        size_t n = strlen(dest) + 32;
        af->tmp_path = alb_xmalloc(n);
        snprintf(af->tmp_path, n, "%s.tmp.%ld", dest, (long)getpid());
        af->dest = dest;
        af->fp = fopen(af->tmp_path, "wb");
        if (af->fp && mode) fchmod(fileno(af->fp), mode & 07777);  /* best effort: the old file's bits */
    }
    if (!af->fp) {
        int e = errno;
        free(af->dest);
        free(af->tmp_path);
        memset(af, 0, sizeof *af);
        return alb_fail(err, "%s: cannot create: %s", path, strerror(e));
    }
    af->path = alb_xstrdup(path);
    return 0;
}

static void atomic_free(AtomicFile *af) {
    free(af->path);
    free(af->dest);
    free(af->tmp_path);
    memset(af, 0, sizeof *af);
}

int atomic_commit(AtomicFile *af, AlbError *err) {
    int ok = fflush(af->fp) == 0 && !ferror(af->fp) && (!af->tmp_path || fsync(fileno(af->fp)) == 0);
    int e = errno;
    if (af->fp != stdout && fclose(af->fp) != 0 && ok) { ok = 0; e = errno; }
    af->fp = NULL;
    if (ok && af->tmp_path && rename(af->tmp_path, af->dest) != 0) { ok = 0; e = errno; }
    if (!ok) {
        alb_fail(err, "%s: write failed: %s", af->path, strerror(e));
        if (af->tmp_path) unlink(af->tmp_path);
        atomic_free(af);
        return -1;
    }
    int rc = 0;
    if (af->tmp_path && fsync_parent_dir(af->dest) != 0)
        rc = alb_fail(err, "%s: written, but its directory could not be synced: %s", af->path, strerror(errno));
    atomic_free(af);
    return rc;
}

void atomic_abort(AtomicFile *af) {
    if (af->fp && af->fp != stdout) fclose(af->fp);
    if (af->tmp_path) unlink(af->tmp_path);
    atomic_free(af);
}

int atomic_write_file(const char *path, const void *data, size_t len, AlbError *err) {
    AtomicFile af;
    if (atomic_open(&af, path, err)) return -1;
    if (len && fwrite(data, 1, len, af.fp) != len) {
        atomic_abort(&af);
        return alb_fail(err, "%s: write failed", path);
    }
    return atomic_commit(&af, err);
}

int alb_copy_file(const char *from, const char *to, AlbError *err) {
    char *data;
    size_t len;
    if (alb_read_file(from, &data, &len, err)) return -1;
    int rc = atomic_write_file(to, data, len, err);
    free(data);
    return rc;
}

int alb_write_json(const char *path, json_t *o, size_t flags, AlbError *err) {
    char *text = json_dumps(o, flags);
    json_decref(o);
    if (!text) return alb_fail(err, "%s: cannot serialise the JSON (out of memory, or a string that is not UTF-8)",
                               path);
    size_t n = strlen(text);
    text = alb_xrealloc(text, n + 2);
    text[n] = '\n';
    int rc = atomic_write_file(path, text, n + 1, err);
    free(text);
    return rc;
}

int alb_mkdirs(const char *path, AlbError *err) {
    char *p = alb_xstrdup(path);
    for (char *s = p + 1; ; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(p, 0777) != 0 && errno != EEXIST) {
                int e = errno;
                alb_fail(err, "%s: cannot create directory: %s", p, strerror(e));
                free(p);
                return -1;
            }
            *s = c;
            if (c == '\0') break;
        }
    }
    free(p);
    if (!alb_dir_exists(path)) return alb_fail(err, "%s: exists and is not a directory", path);
    return 0;
}

int alb_file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int alb_dir_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

char *alb_path_join(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = alb_xmalloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* The pid of a "<name>.tmp.<pid>" file name (as atomic_open makes them), else 0. */
static long tmp_pid(const char *name) {
    const char *tmp = NULL;
    for (const char *p = name; (p = strstr(p, ".tmp.")); p++) tmp = p;
    if (!tmp || tmp == name || !tmp[5]) return 0;
    char *end;
    long pid = strtol(tmp + 5, &end, 10);
    return *end || tmp[5] < '1' || tmp[5] > '9' || pid > INT_MAX ? 0 : pid;
}

int alb_remove_stale_tmp(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int removed = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        long pid = tmp_pid(e->d_name);
        /* Our own pid cannot have written it yet: it is a dead process's whose pid was reused. */
        int dead = pid > 0 && (pid == (long)getpid() || (kill((pid_t)pid, 0) != 0 && errno == ESRCH));
        struct stat st;
        if (dead && fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
            unlinkat(dirfd(d), e->d_name, 0) == 0)
            removed++;
    }
    closedir(d);
    return removed;
}
