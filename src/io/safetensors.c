#include "io/safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/bf16.h"
#include "util/fileio.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors data is little-endian; this reader hands out the mapping as-is"
#endif

/* A larger header is a corrupt file, not a model: HF's own reader caps it too. */
#define ST_MAX_HEADER_BYTES (100u * 1000 * 1000)

static const struct { const char *name; size_t size; } dtype_info[] = {
    [ST_F32] = {"F32", 4}, [ST_F16] = {"F16", 2}, [ST_BF16] = {"BF16", 2}, [ST_F64] = {"F64", 8},
    [ST_I64] = {"I64", 8}, [ST_I32] = {"I32", 4}, [ST_I16] = {"I16", 2},  [ST_I8] = {"I8", 1},
    [ST_U8] = {"U8", 1},   [ST_BOOL] = {"BOOL", 1},
};
#define ST_N_DTYPES ((int)(sizeof dtype_info / sizeof dtype_info[0]))

const char *st_dtype_name(StDtype dt) { return dtype_info[dt].name; }
size_t st_dtype_size(StDtype dt) { return dtype_info[dt].size; }

static int dtype_from_name(const char *s, StDtype *dt) {
    for (int i = 0; i < ST_N_DTYPES; i++)
        if (strcmp(s, dtype_info[i].name) == 0) { *dt = (StDtype)i; return 0; }
    return -1;
}

/* numel = prod(shape) and nbytes = numel * elem_size, or -1 on overflow of size_t / int64. */
static int shape_sizes(int ndim, const int64_t *shape, size_t elem_size, int64_t *numel, size_t *nbytes) {
    uint64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0) return -1;
        if (shape[i] != 0 && n > (uint64_t)INT64_MAX / (uint64_t)shape[i]) return -1;
        n *= (uint64_t)shape[i];
    }
    if (n > SIZE_MAX / elem_size) return -1;
    *numel = (int64_t)n;
    *nbytes = (size_t)n * elem_size;
    return 0;
}

/* "[768,128]" into buf. */
static const char *shape_str(char *buf, size_t size, int ndim, const int64_t *shape) {
    size_t k = (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < ndim && k < size; i++)
        k += (size_t)snprintf(buf + k, size - k, "%s%lld", i ? "," : "", (long long)shape[i]);
    if (k < size) snprintf(buf + k, size - k, "]");
    return buf;
}

/* ---------------------------------------------------------------- reader */

static void st_free_contents(SafeTensors *st) {
    for (int i = 0; i < st->n_tensors; i++) free(st->tensors[i].name);
    free(st->tensors);
    for (int i = 0; i < st->n_meta; i++) {
        free(st->meta_keys[i]);
        free(st->meta_values[i]);
    }
    free(st->meta_keys);
    free(st->meta_values);
    free(st->path);
}

static int parse_metadata(SafeTensors *st, json_t *meta, AlbError *err) {
    if (!json_is_object(meta)) return alb_fail(err, "%s: __metadata__ must be an object of strings", st->path);
    size_t n = json_object_size(meta);
    st->meta_keys = alb_xcalloc(n, sizeof(char *));
    st->meta_values = alb_xcalloc(n, sizeof(char *));
    const char *key;
    json_t *value;
    json_object_foreach(meta, key, value) {
        if (!json_is_string(value))
            return alb_fail(err, "%s: __metadata__ value of '%s' must be a string", st->path, key);
        st->meta_keys[st->n_meta] = alb_xstrdup(key);
        st->meta_values[st->n_meta] = alb_xstrdup(json_string_value(value));
        st->n_meta++;
    }
    return 0;
}

/* Reads a non-negative JSON integer array of at most max_len entries. */
static int int_array(json_t *arr, int max_len, int64_t *out, int *len) {
    if (!json_is_array(arr) || json_array_size(arr) > (size_t)max_len) return -1;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *v = json_array_get(arr, i);
        if (!json_is_integer(v) || json_integer_value(v) < 0) return -1;
        out[i] = json_integer_value(v);
    }
    *len = (int)json_array_size(arr);
    return 0;
}

/* One "name": {"dtype", "shape", "data_offsets"} entry; offsets checked against data_size. */
static int parse_tensor(SafeTensors *st, const char *name, json_t *info, const uint8_t *data, size_t data_size,
                        AlbError *err) {
    const char *path = st->path;
    if (!json_is_object(info)) return alb_fail(err, "%s: tensor %s: entry must be an object", path, name);
    StTensor *t = &st->tensors[st->n_tensors];
    json_t *dtype = json_object_get(info, "dtype");
    if (!json_is_string(dtype)) return alb_fail(err, "%s: tensor %s: missing or non-string dtype", path, name);
    if (dtype_from_name(json_string_value(dtype), &t->dtype))
        return alb_fail(err, "%s: tensor %s: unknown dtype '%s' (supported: F32 F16 BF16 F64 I64 I32 I16 I8 U8 BOOL)",
                        path, name, json_string_value(dtype));
    json_t *shape = json_object_get(info, "shape");
    if (int_array(shape, ST_MAX_DIMS, t->shape, &t->ndim))
        return alb_fail(err, "%s: tensor %s: shape must be an array of at most %d non-negative integers", path, name,
                        ST_MAX_DIMS);
    int64_t offsets[2];
    int n_offsets = 0;
    if (int_array(json_object_get(info, "data_offsets"), 2, offsets, &n_offsets) || n_offsets != 2)
        return alb_fail(err, "%s: tensor %s: data_offsets must be two non-negative integers [begin, end]", path, name);
    char sbuf[256];
    if (shape_sizes(t->ndim, t->shape, st_dtype_size(t->dtype), &t->numel, &t->nbytes))
        return alb_fail(err, "%s: tensor %s: shape %s is too large (size overflows)", path, name,
                        shape_str(sbuf, sizeof sbuf, t->ndim, t->shape));
    if (offsets[1] < offsets[0])
        return alb_fail(err, "%s: tensor %s: data_offsets [%lld,%lld] end before begin", path, name,
                        (long long)offsets[0], (long long)offsets[1]);
    if ((uint64_t)offsets[1] > data_size)
        return alb_fail(err, "%s: tensor %s: data_offsets [%lld,%lld] outside the data area (%zu bytes)", path, name,
                        (long long)offsets[0], (long long)offsets[1], data_size);
    size_t span = (size_t)(offsets[1] - offsets[0]);
    if (span != t->nbytes)
        return alb_fail(err, "%s: tensor %s: %s %s needs %zu bytes but data_offsets [%lld,%lld] hold %zu", path, name,
                        st_dtype_name(t->dtype), shape_str(sbuf, sizeof sbuf, t->ndim, t->shape), t->nbytes,
                        (long long)offsets[0], (long long)offsets[1], span);
    t->name = alb_xstrdup(name);
    t->data = data + offsets[0];
    st->n_tensors++;
    return 0;
}

static int cmp_by_begin(const void *a, const void *b) {
    const StTensor *x = a, *y = b;
    if (x->data != y->data) return (const uint8_t *)x->data < (const uint8_t *)y->data ? -1 : 1;
    return x->nbytes < y->nbytes ? -1 : x->nbytes > y->nbytes;
}

static int cmp_by_name(const void *a, const void *b) {
    return strcmp(((const StTensor *)a)->name, ((const StTensor *)b)->name);
}

static int parse_header(SafeTensors *st, const uint8_t *buf, size_t len, AlbError *err) {
    const char *path = st->path;
    if (len < 8)
        return alb_fail(err, "%s: file is %zu bytes, too short for a safetensors header (at least 8)", path, len);
    uint64_t header_len = 0;
    for (int i = 7; i >= 0; i--) header_len = header_len << 8 | buf[i];
    if (header_len > len - 8)
        return alb_fail(err, "%s: header length %llu exceeds the file size (%zu bytes): not a safetensors file?", path,
                        (unsigned long long)header_len, len);
    if (header_len > ST_MAX_HEADER_BYTES)
        return alb_fail(err, "%s: header length %llu is above the %u-byte limit", path,
                        (unsigned long long)header_len, ST_MAX_HEADER_BYTES);
    const uint8_t *data = buf + 8 + header_len;
    size_t data_size = len - 8 - (size_t)header_len;

    json_error_t jerr;
    json_t *root = json_loadb((const char *)buf + 8, (size_t)header_len, JSON_REJECT_DUPLICATES, &jerr);
    char shown[ALB_SHOWN_SIZE];
    if (!root) return alb_fail(err, "%s: header JSON, byte %d: %s", path, jerr.position, alb_shown(jerr.text, shown));
    int rc = 0;
    if (!json_is_object(root)) {
        rc = alb_fail(err, "%s: header JSON must be an object", path);
        goto done;
    }
    st->tensors = alb_xcalloc(json_object_size(root), sizeof(StTensor));
    const char *key;
    json_t *value;
    json_object_foreach(root, key, value) {
        rc = strcmp(key, "__metadata__") == 0 ? parse_metadata(st, value, err)
                                               : parse_tensor(st, key, value, data, data_size, err);
        if (rc) goto done;
    }
    /* Overlap check: after sorting by start, each tensor must start at or after the previous end. */
    qsort(st->tensors, (size_t)st->n_tensors, sizeof(StTensor), cmp_by_begin);
    for (int i = 1; i < st->n_tensors; i++) {
        const StTensor *a = &st->tensors[i - 1], *b = &st->tensors[i];
        if ((const uint8_t *)b->data < (const uint8_t *)a->data + a->nbytes) {
            rc = alb_fail(err, "%s: tensors %s and %s overlap in the data area", path, a->name, b->name);
            goto done;
        }
    }
    qsort(st->tensors, (size_t)st->n_tensors, sizeof(StTensor), cmp_by_name);
done:
    json_decref(root);
    return rc;
}

int st_parse(SafeTensors *st, const void *buf, size_t len, const char *name_for_errors, AlbError *err) {
    memset(st, 0, sizeof *st);
    st->path = alb_xstrdup(name_for_errors ? name_for_errors : "<buffer>");
    st->map = (void *)buf;
    st->map_size = len;
    if (parse_header(st, buf, len, err)) {
        st_free_contents(st);
        memset(st, 0, sizeof *st);
        return -1;
    }
    return 0;
}

int st_open(SafeTensors *st, const char *path, AlbError *err) {
    memset(st, 0, sizeof *st);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return alb_fail(err, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return alb_fail(err, "%s: not a regular file", path);
    }
    size_t size = (size_t)sb.st_size;
    if (size < 8) {
        close(fd);
        return alb_fail(err, "%s: file is %zu bytes, too short for a safetensors header (at least 8)", path, size);
    }
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (map == MAP_FAILED) return alb_fail(err, "%s: cannot mmap: %s", path, strerror(e));
    if (st_parse(st, map, size, path, err)) {
        munmap(map, size);
        return -1;
    }
    st->owns_map = 1;
    return 0;
}

void st_close(SafeTensors *st) {
    if (st->owns_map && st->map) munmap(st->map, st->map_size);
    st_free_contents(st);
    memset(st, 0, sizeof *st);
}

const StTensor *st_find(const SafeTensors *st, const char *name) {
    StTensor key = {.name = (char *)name};
    if (st->n_tensors == 0) return NULL;
    return bsearch(&key, st->tensors, (size_t)st->n_tensors, sizeof(StTensor), cmp_by_name);
}

const char *st_meta(const SafeTensors *st, const char *key) {
    for (int i = 0; i < st->n_meta; i++)
        if (strcmp(st->meta_keys[i], key) == 0) return st->meta_values[i];
    return NULL;
}

/* IEEE half to float, subnormals, infinities and NaN included. */
static float f32_from_f16(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu, u;
    if (exp == 0x1f) {
        u = sign | 0x7f800000u | mant << 13;
    } else if (exp != 0) {
        u = sign | (exp + 112) << 23 | mant << 13;
    } else if (mant == 0) {
        u = sign;
    } else {  /* subnormal: normalise the mantissa */
        int e = -1;
        do { mant <<= 1; e++; } while (!(mant & 0x400u));
        u = sign | (uint32_t)(112 - e) << 23 | (mant & 0x3ffu) << 13;
    }
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* Looks up name, then the name with alt_prefix added or (if it has it) removed. */
static const StTensor *find_with_prefix(const SafeTensors *st, const char *name, const char *alt_prefix,
                                        char *alt, size_t alt_size) {
    alt[0] = '\0';
    const StTensor *t = st_find(st, name);
    if (t || !alt_prefix || !*alt_prefix) return t;
    size_t plen = strlen(alt_prefix);
    if (strncmp(name, alt_prefix, plen) == 0)
        snprintf(alt, alt_size, "%s", name + plen);
    else
        snprintf(alt, alt_size, "%s%s", alt_prefix, name);
    return st_find(st, alt);
}

int st_get_f32(const SafeTensors *st, const char *name, const char *alt_prefix, int ndim, const int64_t *shape,
               const float **data, float **owned, AlbError *err) {
    *data = NULL;
    *owned = NULL;
    char alt[512];
    const StTensor *t = find_with_prefix(st, name, alt_prefix, alt, sizeof alt);
    if (!t) {
        if (alt[0]) return alb_fail(err, "%s: tensor %s not found (nor %s)", st->path, name, alt);
        return alb_fail(err, "%s: tensor %s not found", st->path, name);
    }
    if (t->dtype != ST_F32 && t->dtype != ST_F16 && t->dtype != ST_BF16 && t->dtype != ST_F64)
        return alb_fail(err, "%s: tensor %s has dtype %s, expected a float dtype (F32, F16, BF16, F64)", st->path,
                        t->name, st_dtype_name(t->dtype));
    if (ndim >= 0) {
        int same = t->ndim == ndim;
        for (int i = 0; same && i < ndim; i++) same = t->shape[i] == shape[i];
        if (!same) {
            char got[256], want[256];
            return alb_fail(err, "%s: tensor %s has shape %s, expected %s", st->path, t->name,
                            shape_str(got, sizeof got, t->ndim, t->shape), shape_str(want, sizeof want, ndim, shape));
        }
    }
    if (t->dtype == ST_F32 && (uintptr_t)t->data % _Alignof(float) == 0) {
        *data = t->data;
        return 0;
    }
    float *out = alb_xmalloc((size_t)t->numel * sizeof(float));
    const uint8_t *src = t->data;
    for (int64_t i = 0; i < t->numel; i++) {
        switch (t->dtype) {
        case ST_F32: memcpy(&out[i], src + 4 * i, 4); break;
        case ST_F64: { double d; memcpy(&d, src + 8 * i, 8); out[i] = (float)d; break; }
        case ST_F16: { uint16_t h; memcpy(&h, src + 2 * i, 2); out[i] = f32_from_f16(h); break; }
        case ST_BF16: { uint16_t h; memcpy(&h, src + 2 * i, 2); out[i] = f32_from_bf16(h); break; }
        default: break;  /* excluded above */
        }
    }
    *data = out;
    *owned = out;
    return 0;
}

/* ---------------------------------------------------------------- writer */

typedef struct {
    char *key, *value;
} StMetaPair;

typedef struct {
    char *name;
    StDtype dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    size_t nbytes;
    const void *data;
    void *copy;  /* == data when the writer owns it, NULL when borrowed */
} WEntry;

struct StWriter {
    int n, cap;
    WEntry *entries;
    int n_meta;
    StMetaPair *meta;
    char error[512];  /* first bad add, reported by save: adds cannot fail */
};

StWriter *st_writer_new(void) { return alb_xcalloc(1, sizeof(StWriter)); }

static void add_entry(StWriter *w, const char *name, StDtype dtype, int ndim, const int64_t *shape, const void *data,
                      int borrow) {
    int64_t numel;
    size_t nbytes;
    if ((int)dtype < 0 || (int)dtype >= ST_N_DTYPES || ndim < 0 || ndim > ST_MAX_DIMS ||
        shape_sizes(ndim, shape, st_dtype_size(dtype), &numel, &nbytes)) {
        if (!w->error[0]) snprintf(w->error, sizeof w->error, "tensor %s: bad dtype or shape", name);
        return;
    }
    WEntry *e = NULL;
    for (int i = 0; i < w->n; i++)  /* adding a name again replaces it */
        if (strcmp(w->entries[i].name, name) == 0) {
            e = &w->entries[i];
            free(e->copy);
            free(e->name);
        }
    if (!e) {
        if (w->n == w->cap) w->entries = alb_xrealloc(w->entries, (size_t)(w->cap = w->cap ? 2 * w->cap : 16) * sizeof(WEntry));
        e = &w->entries[w->n++];
    }
    memset(e, 0, sizeof *e);
    e->name = alb_xstrdup(name);
    e->dtype = dtype;
    e->ndim = ndim;
    if (ndim) memcpy(e->shape, shape, (size_t)ndim * sizeof(int64_t));
    e->nbytes = nbytes;
    if (borrow) {
        e->data = data;
    } else {
        e->copy = alb_xmalloc(nbytes);
        if (nbytes) memcpy(e->copy, data, nbytes);
        e->data = e->copy;
    }
}

void st_writer_add(StWriter *w, const char *name, StDtype dtype, int ndim, const int64_t *shape, const void *data) {
    add_entry(w, name, dtype, ndim, shape, data, 0);
}

void st_writer_add_borrowed(StWriter *w, const char *name, StDtype dtype, int ndim, const int64_t *shape,
                            const void *data) {
    add_entry(w, name, dtype, ndim, shape, data, 1);
}

void st_writer_add_f32(StWriter *w, const char *name, int ndim, const int64_t *shape, const float *data) {
    add_entry(w, name, ST_F32, ndim, shape, data, 0);
}

void st_writer_set_meta(StWriter *w, const char *key, const char *value) {
    for (int i = 0; i < w->n_meta; i++)
        if (strcmp(w->meta[i].key, key) == 0) {
            free(w->meta[i].value);
            w->meta[i].value = alb_xstrdup(value);
            return;
        }
    w->meta = alb_xrealloc(w->meta, (size_t)(w->n_meta + 1) * sizeof(StMetaPair));
    w->meta[w->n_meta].key = alb_xstrdup(key);
    w->meta[w->n_meta].value = alb_xstrdup(value);
    w->n_meta++;
}

static int cmp_entry_name(const void *a, const void *b) {
    return strcmp(((const WEntry *)a)->name, ((const WEntry *)b)->name);
}

static int cmp_meta_key(const void *a, const void *b) {
    return strcmp(((const StMetaPair *)a)->key, ((const StMetaPair *)b)->key);
}

/* The header JSON: __metadata__ (sorted keys) first, then tensors in name order, as the data is laid out. */
static char *build_header(StWriter *w, const char *path, AlbError *err) {
    json_t *root = json_object();
    int bad = 0;
    if (w->n_meta) {
        json_t *meta = json_object();
        for (int i = 0; i < w->n_meta && !bad; i++)
            bad = json_object_set_new(meta, w->meta[i].key, json_string(w->meta[i].value));
        bad |= json_object_set_new(root, "__metadata__", meta);
    }
    size_t offset = 0;
    for (int i = 0; i < w->n && !bad; i++) {
        const WEntry *e = &w->entries[i];
        json_t *shape = json_array();
        for (int d = 0; d < e->ndim; d++) json_array_append_new(shape, json_integer(e->shape[d]));
        json_t *info = json_pack("{s:s, s:o, s:[I,I]}", "dtype", st_dtype_name(e->dtype), "shape", shape,
                                 "data_offsets", (json_int_t)offset, (json_int_t)(offset + e->nbytes));
        bad = !info || json_object_set_new(root, e->name, info);
        offset += e->nbytes;
    }
    char *text = bad ? NULL : json_dumps(root, JSON_COMPACT);
    json_decref(root);
    if (!text) alb_fail(err, "%s: cannot encode the header (tensor names and metadata must be UTF-8)", path);
    return text;
}

int st_writer_save(StWriter *w, const char *path, AlbError *err) {
    if (w->error[0]) return alb_fail(err, "%s: %s", path, w->error);
    if (w->n) qsort(w->entries, (size_t)w->n, sizeof(WEntry), cmp_entry_name);
    if (w->n_meta) qsort(w->meta, (size_t)w->n_meta, sizeof(StMetaPair), cmp_meta_key);
    char *header = build_header(w, path, err);
    if (!header) return -1;
    size_t n = strlen(header), padded = (n + 7) / 8 * 8;  /* data starts 8-aligned, as HF writes it */
    uint8_t len_le[8];
    for (int i = 0; i < 8; i++) len_le[i] = (uint8_t)((uint64_t)padded >> (8 * i));
    AtomicFile af;
    if (atomic_open(&af, path, err)) {
        free(header);
        return -1;
    }
    int ok = fwrite(len_le, 1, 8, af.fp) == 8 && fwrite(header, 1, n, af.fp) == n;
    for (size_t i = n; ok && i < padded; i++) ok = fputc(' ', af.fp) != EOF;
    for (int i = 0; ok && i < w->n; i++)
        ok = w->entries[i].nbytes == 0 || fwrite(w->entries[i].data, 1, w->entries[i].nbytes, af.fp) == w->entries[i].nbytes;
    free(header);
    if (!ok) {
        atomic_abort(&af);
        return alb_fail(err, "%s: write failed: %s", path, strerror(errno));
    }
    return atomic_commit(&af, err);
}

void st_writer_free(StWriter *w) {
    if (!w) return;
    for (int i = 0; i < w->n; i++) {
        free(w->entries[i].name);
        free(w->entries[i].copy);
    }
    free(w->entries);
    for (int i = 0; i < w->n_meta; i++) {
        free(w->meta[i].key);
        free(w->meta[i].value);
    }
    free(w->meta);
    free(w);
}
