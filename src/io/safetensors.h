/* safetensors: read (mmap, zero-copy) and write (atomic) Hugging Face tensor files.
 *
 * Format: u64 LE header length N, N bytes of JSON
 *   {"__metadata__": {"k": "v", ...}, "name": {"dtype": "F32", "shape": [..],
 *    "data_offsets": [begin, end]}, ...}
 * then the raw little-endian C-order data; offsets are relative to the end of
 * the header. The reader validates everything before handing out a pointer:
 * header length, JSON, dtypes, shape x dtype size == end - begin (no overflow),
 * offsets inside the file, no overlaps. Written by hand because no Debian
 * library reads this format from C. */
#ifndef ALB_IO_SAFETENSORS_H
#define ALB_IO_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>
#include "util/error.h"

typedef enum { ST_F32, ST_F16, ST_BF16, ST_F64, ST_I64, ST_I32, ST_I16, ST_I8, ST_U8, ST_BOOL } StDtype;

#define ST_MAX_DIMS 8

typedef struct {
    char *name;
    StDtype dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    int64_t numel;
    const void *data;  /* points into the mapping; not aligned in general */
    size_t nbytes;
} StTensor;

typedef struct {
    char *path;
    void *map;          /* mmap of the whole file (or the caller's buffer) */
    size_t map_size;
    int owns_map;
    int n_tensors;
    StTensor *tensors;
    int n_meta;
    char **meta_keys;   /* __metadata__ (string values only, as the format says) */
    char **meta_values;
} SafeTensors;

const char *st_dtype_name(StDtype dt);
size_t st_dtype_size(StDtype dt);

int st_open(SafeTensors *st, const char *path, AlbError *err);
/* Parses a buffer the caller keeps alive (tests and the fuzzer use this). */
int st_parse(SafeTensors *st, const void *buf, size_t len, const char *name_for_errors, AlbError *err);
void st_close(SafeTensors *st);

const StTensor *st_find(const SafeTensors *st, const char *name);
const char *st_meta(const SafeTensors *st, const char *key);  /* NULL if absent */

/* Finds `name` (trying also "<prefix>name", or name without the prefix when
 * it has it), checks dtype-convertibility and
 * the exact shape, and returns float32 data: the mapping itself for aligned
 * F32 (*owned = NULL), else a converted malloc'ed copy (*owned = that copy).
 * Errors name the file and the tensor. Pass ndim = -1 to skip the shape check. */
int st_get_f32(const SafeTensors *st, const char *name, const char *alt_prefix, int ndim,
               const int64_t *shape, const float **data, float **owned, AlbError *err);

/* Writer: collect tensors (copied or borrowed) and metadata, then save atomically.
 * The file is laid out as Hugging Face writes it: header padded with spaces to
 * a multiple of 8 bytes, tensors in sorted name order. Adding a name (or a
 * metadata key) again replaces it. A bad dtype/shape given to an add is
 * reported by st_writer_save. */
typedef struct StWriter StWriter;
StWriter *st_writer_new(void);
/* data is copied. */
void st_writer_add(StWriter *w, const char *name, StDtype dtype, int ndim, const int64_t *shape, const void *data);
void st_writer_add_f32(StWriter *w, const char *name, int ndim, const int64_t *shape, const float *data);
/* data is not copied: it must stay alive until st_writer_save returns. */
void st_writer_add_borrowed(StWriter *w, const char *name, StDtype dtype, int ndim, const int64_t *shape,
                            const void *data);
void st_writer_set_meta(StWriter *w, const char *key, const char *value);
int st_writer_save(StWriter *w, const char *path, AlbError *err);
void st_writer_free(StWriter *w);

#endif
