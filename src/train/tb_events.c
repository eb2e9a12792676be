/* TensorBoard event files; see tb_events.h. */
#include "train/tb_events.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "util/crc32c.h"
#include "util/fileio.h"

#define FILE_PREFIX "events.out.tfevents."

/* ------------------------------------------------------------------ protobuf */

typedef struct {
    unsigned char *p;
    size_t n, cap;
} Buf;

static void put(Buf *b, const void *data, size_t n) {
    if (!n) return;  /* an empty message's data is NULL: memcpy must not see it */
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = alb_xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, data, n);
    b->n += n;
}

static void put_varint(Buf *b, uint64_t v) {
    unsigned char tmp[10];
    size_t n = 0;
    do {
        tmp[n++] = (unsigned char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    put(b, tmp, n);
}

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

static void put_key(Buf *b, int field, int wire) { put_varint(b, (uint64_t)field << 3 | (uint64_t)wire); }

static void put_bytes(Buf *b, int field, const void *data, size_t n) {
    put_key(b, field, WT_LEN);
    put_varint(b, n);
    put(b, data, n);
}

static void put_string(Buf *b, int field, const char *s) { put_bytes(b, field, s, strlen(s)); }

/* Fixed-width fields are little-endian on the wire, as on x86-64 and arm64 here. */
static void put_double(Buf *b, int field, double v) {
    put_key(b, field, WT_I64);
    put(b, &v, 8);
}

static void put_float(Buf *b, int field, float v) {
    put_key(b, field, WT_I32);
    put(b, &v, 4);
}

/* Moves the bytes of sub into b as field `field`; frees sub. */
static void put_message(Buf *b, int field, Buf *sub) {
    put_bytes(b, field, sub->p, sub->n);
    free(sub->p);
    *sub = (Buf){0};
}

static double wall_time(void) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + 1e-6 * (double)tv.tv_usec;
}

/* Event {wall_time, step, [summary]} without its summary field. */
static Buf event_head(long step) {
    Buf e = {0};
    put_double(&e, 1, wall_time());
    if (step) {  /* proto3: a default value is left out */
        put_key(&e, 2, WT_VARINT);
        put_varint(&e, (uint64_t)step);
    }
    return e;
}

/* ------------------------------------------------------------------ records */

static uint32_t masked_crc(const void *data, size_t n) {
    uint32_t c = crc32c_update(0, data, n);
    return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

static int write_record(TbWriter *w, Buf *event, AlbError *err) {
    Buf r = {0};
    uint64_t len = event->n;
    uint32_t len_crc = masked_crc(&len, 8), data_crc = masked_crc(event->p, event->n);
    put(&r, &len, 8);
    put(&r, &len_crc, 4);
    put(&r, event->p, event->n);
    put(&r, &data_crc, 4);
    int bad = fwrite(r.p, 1, r.n, w->fp) != r.n;
    free(r.p);
    free(event->p);
    *event = (Buf){0};
    return bad ? alb_fail(err, "%s: write failed: %s", w->path, strerror(errno)) : 0;
}

int tb_scalar(TbWriter *w, long step, const char *tag, double value, AlbError *err) {
    Buf v = {0}, s = {0}, e = event_head(step);
    put_string(&v, 1, tag);
    put_float(&v, 2, (float)value);
    put_message(&s, 1, &v);
    put_message(&e, 5, &s);
    return write_record(w, &e, err);
}

int tb_text(TbWriter *w, long step, const char *tag, const char *text, AlbError *err) {
    Buf plugin = {0}, meta = {0}, shape = {0}, tensor = {0}, v = {0}, s = {0}, e = event_head(step);
    put_string(&plugin, 1, "text");
    put_message(&meta, 1, &plugin);
    put_key(&tensor, 1, WT_VARINT);
    put_varint(&tensor, 7);             /* DT_STRING */
    put_message(&tensor, 2, &shape);    /* an empty shape: a scalar string */
    put_string(&tensor, 8, text);
    put_string(&v, 1, tag);
    put_message(&v, 9, &meta);
    put_message(&v, 8, &tensor);
    put_message(&s, 1, &v);
    put_message(&e, 5, &s);
    return write_record(w, &e, err);
}

int tb_flush(TbWriter *w, AlbError *err) {
    if (fflush(w->fp) || fsync(fileno(w->fp))) return alb_fail(err, "%s: write failed: %s", w->path, strerror(errno));
    return 0;
}

void tb_close(TbWriter *w) {
    if (w->fp) fclose(w->fp);
    free(w->path);
    *w = (TbWriter){0};
}

int tb_open(TbWriter *w, const char *dir, AlbError *err) {
    *w = (TbWriter){0};
    if (alb_mkdirs(dir, err)) return -1;
    char host[256] = "localhost", name[512];
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    long now = (long)time(NULL);
    /* <n> makes the name new: train opens a second file (the eval scalars) within the same second. */
    for (int n = 0; !w->path || alb_file_exists(w->path); n++) {
        free(w->path);
        snprintf(name, sizeof name, FILE_PREFIX "%ld.%s.%ld.%d", now, host, (long)getpid(), n);
        w->path = alb_path_join(dir, name);
    }
    if (!(w->fp = fopen(w->path, "wbx"))) {
        int rc = alb_fail(err, "%s: cannot create: %s", w->path, strerror(errno));
        tb_close(w);
        return rc;
    }
    Buf e = event_head(0);
    put_string(&e, 3, "brain.Event:2");
    if (write_record(w, &e, err) || tb_flush(w, err)) {
        tb_close(w);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ reader */

static uint64_t get_u64(const unsigned char *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static uint32_t get_u32(const unsigned char *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

int tb_record_next(const unsigned char *buf, size_t len, size_t *pos, const unsigned char **data, size_t *n) {
    size_t p = *pos;
    if (p == len) return 0;
    if (len - p < 12 || get_u32(buf + p + 8) != masked_crc(buf + p, 8)) return -1;
    uint64_t m = get_u64(buf + p);
    if (m > len - p - 12 || len - p - 12 - m < 4) return -1;
    if (get_u32(buf + p + 12 + m) != masked_crc(buf + p + 12, m)) return -1;
    *data = buf + p + 12;
    *n = (size_t)m;
    *pos = p + 16 + (size_t)m;
    return 1;
}

static int get_varint(const unsigned char *d, size_t n, size_t *i, uint64_t *v) {
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*i >= n) return -1;
        unsigned char c = d[(*i)++];
        *v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) return 0;
    }
    return -1;
}

int tb_event_step(const unsigned char *d, size_t n, int64_t *step) {
    *step = 0;
    for (size_t i = 0; i < n;) {
        uint64_t key, v;
        if (get_varint(d, n, &i, &key) || key >> 3 == 0) return -1;
        switch (key & 7) {
        case WT_VARINT:
            if (get_varint(d, n, &i, &v)) return -1;
            if (key >> 3 == 2) *step = (int64_t)v;
            break;
        case WT_I64:
        case WT_I32: {
            size_t w = (key & 7) == WT_I64 ? 8 : 4;
            if (n - i < w) return -1;
            i += w;
            break;
        }
        case WT_LEN:
            if (get_varint(d, n, &i, &v) || v > n - i) return -1;
            i += (size_t)v;
            break;
        default:
            return -1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ resume */

/* Keeps the whole records of steps <= keep_step, up to the first torn or corrupt one. */
static int truncate_file(const char *path, long keep_step, AlbError *err) {
    char *buf;
    size_t len, pos = 0, kept = 0;
    if (alb_read_file(path, &buf, &len, err)) return -1;
    const unsigned char *b = (const unsigned char *)buf, *data;
    size_t n, start = 0;
    int changed = 0, r;
    while ((r = tb_record_next(b, len, &pos, &data, &n)) == 1) {
        int64_t step;
        if (tb_event_step(data, n, &step) || step > keep_step) {
            changed = 1;
        } else {
            memmove(buf + kept, buf + start, pos - start);
            kept += pos - start;
        }
        start = pos;
    }
    int rc = r < 0 || changed ? atomic_write_file(path, buf, kept, err) : 0;
    free(buf);
    return rc;
}

int tb_truncate_dir(const char *dir, long keep_step, AlbError *err) {
    DIR *d = opendir(dir);
    if (!d) return errno == ENOENT ? 0 : alb_fail(err, "%s: cannot read: %s", dir, strerror(errno));
    int rc = 0;
    for (struct dirent *e; !rc && (e = readdir(d));) {
        if (strncmp(e->d_name, FILE_PREFIX, strlen(FILE_PREFIX)) || strstr(e->d_name, ".tmp.")) continue;
        char *path = alb_path_join(dir, e->d_name);
        rc = truncate_file(path, keep_step, err);
        free(path);
    }
    closedir(d);
    return rc;
}
