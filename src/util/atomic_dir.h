/* Directories written atomically: the contents are built in a temporary
 * directory beside the destination ("<dir>.tmp.<pid>"), fsync'ed, and renamed
 * into place; an existing destination is exchanged with the new one in one
 * step (renameat2 RENAME_EXCHANGE) and then removed, so at every instant the
 * path holds the old directory or the new one, whole. Where the filesystem
 * cannot exchange, the old one is first renamed aside ("<dir>.old.<pid>"). */
#ifndef ALB_UTIL_ATOMIC_DIR_H
#define ALB_UTIL_ATOMIC_DIR_H

#include <stddef.h>
#include "util/error.h"

typedef struct {
    char *path;      /* the destination */
    char *tmp_path;  /* where the contents are written until commit */
} AtomicDir;

/* Creates tmp_path (a stale one of this pid is removed first) and the parents of path. */
int atomic_dir_open(AtomicDir *d, const char *path, AlbError *err);
/* "<tmp_path>/<name>", malloc'ed: where to write a file of the directory. */
char *atomic_dir_file(const AtomicDir *d, const char *name);
/* fsync the files' directory, move it into place, fsync the parent. Frees d
 * in every case (on failure the temporary directory is removed). */
int atomic_dir_commit(AtomicDir *d, AlbError *err);
/* Removes the temporary directory and frees d. */
void atomic_dir_abort(AtomicDir *d);
/* rm -r: 0, or -1 with errno (a missing path is not an error). */
int alb_rmtree(const char *path);

#endif
