/* Files: whole-file reads and crash-safe writes.
 *
 * Every output the tool writes (checkpoints, caches, history, model files,
 * embed --output) is opened with atomic_open, which looks at what the path is:
 *   - a regular file, or nothing yet: data is written to "<path>.tmp.<pid>",
 *     flushed and fsync'ed, renamed over <path>, and the directory is
 *     fsync'ed. A crash at any instant leaves either the old file or the new
 *     one, never a torn one. An existing file's permission bits are kept.
 *   - a symbolic link: followed (to the file a dangling one would create);
 *     its target is replaced as above, the link stays a link.
 *   - a FIFO, a character device (/dev/null, /dev/stdout) or "-" (stdout):
 *     written in place as a stream (nothing to rename).
 *   - anything else (a directory, a socket, a block device) is refused. */
#ifndef ALB_UTIL_FILEIO_H
#define ALB_UTIL_FILEIO_H

#include <jansson.h>
#include <stdio.h>
#include <stddef.h>
#include "util/error.h"

/* Reads a whole file into a NUL-terminated malloc'ed buffer. */
int alb_read_file(const char *path, char **data, size_t *len, AlbError *err);

typedef struct {
    FILE *fp;          /* write through this */
    char *path;        /* the path as given (errors name it) */
    char *dest;        /* the file renamed over: path with symlinks followed (NULL when streaming) */
    char *tmp_path;    /* temporary beside dest (NULL when streaming) */
} AtomicFile;

/* Fails with one line naming path when it is not something atomic_open
 * writes (see above); opens nothing, so a command can check its outputs
 * before it starts working. */
int alb_output_check(const char *path, AlbError *err);
int atomic_open(AtomicFile *af, const char *path, AlbError *err);
/* Flush and, for a regular file, fsync, rename, fsync the directory. Closes af
 * in every case (stdout is flushed, not closed). */
int atomic_commit(AtomicFile *af, AlbError *err);
/* Closes and deletes the temporary file. Safe to call after a failed commit. */
void atomic_abort(AtomicFile *af);
/* Convenience: the whole content at once. */
int atomic_write_file(const char *path, const void *data, size_t len, AlbError *err);
/* from's bytes to `to`, written as atomic_write_file writes. */
int alb_copy_file(const char *from, const char *to, AlbError *err);
/* o as JSON text (jansson's json_dumps flags) and a final newline, written as
 * atomic_write_file writes; takes the reference to o in every case. */
int alb_write_json(const char *path, json_t *o, size_t flags, AlbError *err);

/* fsync of a directory (its entries: after a rename); -1 with errno on failure. */
int alb_fsync_dir(const char *dir);

/* Removes from dir the temporary files "<name>.tmp.<pid>" that atomic writes of
 * processes no longer alive left (killed mid-write). A file whose process is
 * alive may be another run's write in progress, so it stays; so does anything
 * that is not a regular file. Best effort: returns how many were removed. */
int alb_remove_stale_tmp(const char *dir);
/* mkdir -p */
int alb_mkdirs(const char *path, AlbError *err);
int alb_file_exists(const char *path);
int alb_dir_exists(const char *path);
/* "dir/name" in a new malloc'ed string (the caller frees it). */
char *alb_path_join(const char *dir, const char *name);

#endif
