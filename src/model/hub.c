#include "model/hub.h"

#include <ctype.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/fileio.h"

/* printf into a malloc'ed string. */
__attribute__((format(printf, 1, 2))) static char *str_printf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *s;
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0) {
        fprintf(stderr, "albertc: out of memory\n");
        abort();
    }
    return s;
}

/* Appends to the "a, b, c" list of places looked at. */
static void looked_add(char **looked, const char *what, const char *path) {
    char *s = str_printf("%s%s%s%s", *looked ? *looked : "", *looked ? ", " : "", what, path);
    free(*looked);
    *looked = s;
}

/* An id is "name" or "org/name"; no empty, "." or ".." parts (the id becomes part of a path). */
static int valid_id(const char *id) {
    int slashes = 0;
    const char *part = id;
    for (const char *p = id;; p++) {
        if (*p == '/' || *p == '\0') {
            size_t n = (size_t)(p - part);
            if (n == 0 || (n == 1 && part[0] == '.') || (n == 2 && part[0] == '.' && part[1] == '.')) return 0;
            if (*p == '\0') break;
            slashes++;
            part = p + 1;
        }
    }
    return slashes <= 1;
}

static char *cache_root(void) {
    const char *hub = getenv("HF_HUB_CACHE"), *home = getenv("HF_HOME"), *user = getenv("HOME");
    if (hub && *hub) return str_printf("%s", hub);
    if (home && *home) return str_printf("%s/hub", home);
    return str_printf("%s/.cache/huggingface/hub", user ? user : "");
}

/* refs/main holds the snapshot's commit hash; trimmed, and it must be a plain name. */
static int read_ref(const char *path, char *ref, size_t size) {
    FILE *fp = fopen(path, "r");
    if (!fp) return -1;
    char line[256] = "";
    int ok = fgets(line, sizeof line, fp) != NULL;
    fclose(fp);
    char *s = line, *e;
    while (isspace((unsigned char)*s)) s++;
    for (e = s + strlen(s); e > s && isspace((unsigned char)e[-1]); e--) {}
    *e = '\0';
    if (!ok || !*s || strchr(s, '/') || strcmp(s, ".") == 0 || strcmp(s, "..") == 0) return -1;
    snprintf(ref, size, "%s", s);
    return 0;
}

/* The single directory under snapshots/ (malloc'ed path); NULL when there are none or several. */
static char *only_snapshot(const char *snapshots) {
    DIR *d = opendir(snapshots);
    if (!d) return NULL;
    char *found = NULL;
    int count = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        char *path = str_printf("%s/%s", snapshots, e->d_name);
        if (alb_dir_exists(path) && count++ == 0) {
            found = path;
        } else {
            free(path);
        }
    }
    closedir(d);
    if (count == 1) return found;
    free(found);
    return NULL;
}

static int copy_out(char *out, size_t out_size, const char *path, AlbError *err) {
    if (strlen(path) >= out_size) return alb_fail(err, "%s: path too long", path);
    memcpy(out, path, strlen(path) + 1);
    return 0;
}

/* The snapshot folder of repo (malloc'ed), or NULL after adding what was tried to *looked. */
static char *find_snapshot(const char *repo, char **looked) {
    char *ref_path = str_printf("%s/refs/main", repo), *snapshots = str_printf("%s/snapshots", repo), *snap;
    char ref[256];
    if (read_ref(ref_path, ref, sizeof ref) == 0) {
        snap = str_printf("%s/%s", snapshots, ref);
        if (!alb_dir_exists(snap)) {
            looked_add(looked, "", snap);
            free(snap);
            snap = NULL;
        }
    } else {
        snap = only_snapshot(snapshots);
        if (!snap) {
            looked_add(looked, "", ref_path);
            looked_add(looked, "the only folder in ", snapshots);
        }
    }
    free(ref_path);
    free(snapshots);
    return snap;
}

int hub_resolve(const char *id_or_dir, const char *kind, char *out, size_t out_size, AlbError *err) {
    const char *what = strcmp(kind, "datasets") == 0 ? "dataset" : "model";
    if (alb_dir_exists(id_or_dir)) return copy_out(out, out_size, id_or_dir, err);
    if (!valid_id(id_or_dir))
        return alb_fail(err, "cannot find %s '%s': not a directory, and not a Hugging Face id (\"org/name\" or "
                             "\"name\", no '.' or '..' parts)", what, id_or_dir);

    /* <root>/models--org--name */
    char *root = cache_root(), *repo;
    const char *slash = strchr(id_or_dir, '/');
    if (slash)
        repo = str_printf("%s/%s--%.*s--%s", root, kind, (int)(slash - id_or_dir), id_or_dir, slash + 1);
    else
        repo = str_printf("%s/%s--%s", root, kind, id_or_dir);

    char *looked = NULL, *snap = NULL;
    looked_add(&looked, "", id_or_dir);
    if (alb_dir_exists(repo))
        snap = find_snapshot(repo, &looked);
    else
        looked_add(&looked, "", repo);
    int rc = snap ? copy_out(out, out_size, snap, err)
                  : alb_fail(err, "cannot find %s '%s': not a directory, and not in the Hugging Face cache "
                                  "(looked in: %s)", what, id_or_dir, looked);
    free(snap);
    free(looked);
    free(repo);
    free(root);
    return rc;
}
