/* Feature cache; see feature_cache.h. */
#include "pipeline/feature_cache.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xxhash.h>

#include "io/safetensors.h"
#include "pipeline/encode.h"
#include "util/clock.h"
#include "util/dist.h"
#include "util/fileio.h"

typedef struct {
    uint64_t lo, hi;
} Key;

/* All entries of one namespace: the file's, then those added now in the
 * order they are encoded, so the valid ones always form a prefix. */
typedef struct {
    int H;
    int n, cap;
    Key *keys;          /* [cap] */
    float *features;    /* [cap, H] */
    int *slots;         /* open addressing: entry index + 1, 0 = empty */
    size_t n_slots;     /* power of two, > 2 n */
} Table;

/* The namespace fields, NUL-separated: hashed for the file name and as every text key's prefix. */
static size_t namespace_bytes(const FeatureCacheOptions *o, char *buf, size_t size) {
    int n = snprintf(buf, size, "albertc-features-v%s%c%s%c%s%c%s%c%d%c", FEATURE_CACHE_FORMAT_VERSION, 0,
                     albert_weights_hash(o->model), 0, tokenizer_hash(o->tok), 0,
                     albert_engine(o->model), 0, o->max_length, 0);
    return (size_t)n < size ? (size_t)n : size - 1;
}

void feature_cache_path(const FeatureCacheOptions *o, char *out, size_t out_size) {
    char ns[512];
    size_t len = namespace_bytes(o, ns, sizeof ns);
    XXH128_hash_t h = XXH3_128bits(ns, len);
    snprintf(out, out_size, "%s/features-%016llx%016llx.safetensors", o->cache_dir, (unsigned long long)h.high64,
             (unsigned long long)h.low64);
}

/* ------------------------------------------------------------------ table */

static size_t slot_of(const Table *t, Key k) { return (size_t)(k.lo ^ (k.hi * 0x9E3779B97F4A7C15ull)) & (t->n_slots - 1); }

/* Entry index of k, or -1. */
static int table_find(const Table *t, Key k) {
    if (!t->n_slots) return -1;
    for (size_t s = slot_of(t, k);; s = (s + 1) & (t->n_slots - 1)) {
        int e = t->slots[s] - 1;
        if (e < 0) return -1;
        if (t->keys[e].lo == k.lo && t->keys[e].hi == k.hi) return e;
    }
}

static void table_index(Table *t, int e) {
    size_t s = slot_of(t, t->keys[e]);
    while (t->slots[s]) s = (s + 1) & (t->n_slots - 1);
    t->slots[s] = e + 1;
}

/* Appends k (not present) with invalid features; returns its index. */
static int table_add(Table *t, Key k) {
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 1024;
        t->keys = alb_xrealloc(t->keys, sizeof(Key) * (size_t)t->cap);
        t->features = alb_xrealloc(t->features, sizeof(float) * (size_t)t->cap * t->H);
    }
    if (2 * (size_t)(t->n + 1) >= t->n_slots) {
        free(t->slots);
        t->n_slots = t->n_slots ? 2 * t->n_slots : 4096;
        while (2 * (size_t)(t->n + 1) >= t->n_slots) t->n_slots *= 2;
        t->slots = alb_xcalloc(t->n_slots, sizeof(int));
        for (int e = 0; e < t->n; e++) table_index(t, e);
    }
    int e = t->n++;
    t->keys[e] = k;
    table_index(t, e);
    return e;
}

static void table_free(Table *t) {
    free(t->keys);
    free(t->features);
    free(t->slots);
    memset(t, 0, sizeof *t);
}

/* ------------------------------------------------------------------ file */

static void checksum_hex(const Key *keys, const float *features, long n, int H, char out[33]) {
    XXH3_state_t *s = alb_xnonnull(XXH3_createState(), "XXH3 state");
    XXH3_128bits_reset(s);
    XXH3_128bits_update(s, keys, sizeof(Key) * (size_t)n);
    XXH3_128bits_update(s, features, sizeof(float) * (size_t)n * H);
    XXH128_hash_t h = XXH3_128bits_digest(s);
    XXH3_freeState(s);
    snprintf(out, 33, "%016llx%016llx", (unsigned long long)h.high64, (unsigned long long)h.low64);
}

static FeatureCacheNamespace namespace_of(const FeatureCacheOptions *o) {
    return (FeatureCacheNamespace){albert_weights_hash(o->model), tokenizer_hash(o->tok), albert_engine(o->model),
                                   o->max_length,
                                   albert_config(o->model)->hidden_size};
}

/* Why the parsed file st cannot be trusted, in err; 0 when its entries were added to t (empty). */
static int load_from(Table *t, const SafeTensors *st, const FeatureCacheNamespace *ns, AlbError *err) {
    const char *path = st->path;
    char expect[64], checksum[33];
    const char *fields[][2] = {
        {"format_version", FEATURE_CACHE_FORMAT_VERSION},
        {"weights_hash", ns->weights_hash},
        {"tokenizer_hash", ns->tokenizer_hash},
        {"engine", ns->engine},
        {"max_length", expect},
    };
    snprintf(expect, sizeof expect, "%d", ns->max_length);
    int rc = 0;
    for (size_t i = 0; i < sizeof fields / sizeof fields[0] && !rc; i++) {
        const char *v = st_meta(st, fields[i][0]);
        if (!v || strcmp(v, fields[i][1]))
            rc = alb_fail(err, "%s: metadata %s is '%.80s', expected '%s'", path, fields[i][0], v ? v : "(missing)",
                          fields[i][1]);
    }
    const StTensor *keys = st_find(st, "keys"), *feats = st_find(st, "features");
    const char *sum = st_meta(st, "checksum");
    long n = keys && keys->ndim == 2 ? (long)keys->shape[0] : -1;
    if (!rc && (!keys || keys->dtype != ST_I64 || keys->ndim != 2 || keys->shape[1] != 2))
        rc = alb_fail(err, "%s: no keys tensor [N,2] I64", path);
    if (!rc && (!feats || feats->dtype != ST_F32 || feats->ndim != 2 || feats->shape[0] != n ||
                feats->shape[1] != t->H))
        rc = alb_fail(err, "%s: no features tensor [%ld,%d] F32", path, n, t->H);
    if (!rc && n > (1L << 30)) rc = alb_fail(err, "%s: %ld entries is too many", path, n);
    for (long i = 0; !rc && i < n; i++) {
        Key k;
        memcpy(&k, (const char *)keys->data + sizeof(Key) * (size_t)i, sizeof k);
        if (table_find(t, k) >= 0) {
            rc = alb_fail(err, "%s: key %ld appears twice", path, i);
            break;
        }
        int e = table_add(t, k);
        memcpy(t->features + (size_t)e * t->H, (const char *)feats->data + sizeof(float) * (size_t)i * t->H,
               sizeof(float) * (size_t)t->H);
    }
    if (!rc) {
        checksum_hex(t->keys, t->features, n, t->H, checksum);
        if (!sum || strcmp(sum, checksum)) rc = alb_fail(err, "%s: checksum mismatch: the file is corrupt", path);
    }
    if (rc) {  /* start from nothing */
        int H = t->H;
        table_free(t);
        t->H = H;
    }
    return rc;
}

static int load_file(Table *t, const FeatureCacheOptions *o, const char *path, AlbError *err) {
    SafeTensors st;
    if (st_open(&st, path, err)) return -1;
    FeatureCacheNamespace ns = namespace_of(o);
    int rc = load_from(t, &st, &ns, err);
    st_close(&st);
    return rc;
}

int feature_cache_validate(const void *buf, size_t len, const FeatureCacheNamespace *ns, const char *name,
                           long *n_entries, AlbError *err) {
    SafeTensors st;
    if (ns->hidden < 1 || st_parse(&st, buf, len, name, err)) return -1;
    Table t = {.H = ns->hidden};
    int rc = load_from(&t, &st, ns, err);
    *n_entries = t.n;
    table_free(&t);
    st_close(&st);
    return rc;
}

/* Writes the first n_valid entries (straight from the table: no copy). */
static int save_file(const Table *t, int n_valid, const FeatureCacheOptions *o, const char *path, AlbError *err) {
    long n = n_valid;
    const Key *keys = t->keys;
    const float *feats = t->features;
    char checksum[33], text[64];
    checksum_hex(keys, feats, n, t->H, checksum);
    StWriter *w = st_writer_new();
    int64_t kshape[2] = {n, 2}, fshape[2] = {n, t->H};
    st_writer_add_borrowed(w, "keys", ST_I64, 2, kshape, keys);
    st_writer_add_borrowed(w, "features", ST_F32, 2, fshape, feats);
    st_writer_set_meta(w, "format_version", FEATURE_CACHE_FORMAT_VERSION);
    st_writer_set_meta(w, "weights_hash", albert_weights_hash(o->model));
    st_writer_set_meta(w, "tokenizer_hash", tokenizer_hash(o->tok));
    st_writer_set_meta(w, "engine", albert_engine(o->model));
    snprintf(text, sizeof text, "%d", o->max_length);
    st_writer_set_meta(w, "max_length", text);
    snprintf(text, sizeof text, "%d", t->H);
    st_writer_set_meta(w, "hidden", text);
    snprintf(text, sizeof text, "%ld", n);
    st_writer_set_meta(w, "count", text);
    st_writer_set_meta(w, "checksum", checksum);
    int rc = st_writer_save(w, path, err);
    st_writer_free(w);
    return rc;
}

/* ------------------------------------------------------------------ the pass */

/* The missing texts are the table's entries [first, first + n_missing), laid
 * out in the order rank 0 gathers them (encode_plan): after each gathered
 * batch the valid entries are the prefix [0, first + n_done). On the other
 * ranks t is NULL: they count their own batches and save nothing. */
typedef struct {
    const FeatureCacheOptions *o;
    Table *t;
    int first;
    const char *path;
    int n_missing, n_done;
    long tokens;
    double start, last_save;
    AlbError *err;
} Pass;

static int on_batch(void *ctx, const int *rows, int B, long tokens) {
    Pass *p = ctx;
    (void)rows;  /* rank 0: rows are first + n_done ... first + n_done + B - 1, the gather order */
    p->n_done += B;
    p->tokens += tokens;
    double now = monotonic_s();
    if (p->o->progress) p->o->progress(p->o->ctx, p->n_done, p->n_missing, p->tokens, now - p->start);
    if (p->n_done < p->n_missing && p->o->stop && *p->o->stop) return 1;  /* encode_missing saves */
    if (p->t && p->n_done < p->n_missing && now - p->last_save >= p->o->save_every_s) {
        if (save_file(p->t, p->first + p->n_done, p->o, p->path, p->err)) return -1;
        p->last_save = monotonic_s();
    }
    return 0;
}

/* Moves the new entries [first, t->n) so that entry first + p is the one at
 * from[p] (their features too when computed), remapping entry[0..n) and
 * reindexing the table. In place, cycle after cycle of the permutation, with
 * one row aside: rank 0 holds every feature of the pass, and a second copy of
 * the new ones would double its peak memory for a moment. */
static void permute_new_entries(Table *t, int first, const int *from, int computed, int *entry, int n) {
    int m = t->n - first, H = t->H;
    size_t row = sizeof(float) * (size_t)H;
    int *new_pos = alb_xmalloc(sizeof(int) * (size_t)(m ? m : 1));
    unsigned char *placed = alb_xcalloc((size_t)(m ? m : 1), 1);
    float *aside = computed ? alb_xmalloc(row) : NULL, *feats = t->features + (size_t)first * H;
    Key *keys = t->keys + first;
    for (int p = 0; p < m; p++) new_pos[from[p]] = p;
    for (int c = 0; c < m; c++) {
        if (placed[c]) continue;
        /* the cycle through c: each place takes from[place]'s entry, until the one set aside is due */
        Key k = keys[c];
        if (aside) memcpy(aside, feats + (size_t)c * H, row);
        int p = c;
        for (; from[p] != c; p = from[p]) {
            keys[p] = keys[from[p]];
            if (aside) memcpy(feats + (size_t)p * H, feats + (size_t)from[p] * H, row);
            placed[p] = 1;
        }
        keys[p] = k;
        if (aside) memcpy(feats + (size_t)p * H, aside, row);
        placed[p] = 1;
    }
    memset(t->slots, 0, sizeof(int) * t->n_slots);
    for (int e = 0; e < t->n; e++) table_index(t, e);
    for (int i = 0; i < n; i++)
        if (entry[i] >= first) entry[i] = first + new_pos[entry[i] - first];
    free(new_pos);
    free(placed);
    free(aside);
}

/* Lays the new entries and seqs out in the plan's gather order (the plan
 * then lists them in place: order[p] = p), and returns where each must go at
 * the end of the pass: back[p] = the gather position of the p-th in length
 * order, the layout a single process makes (so the cache file is the same
 * bytes whatever the number of ranks). */
static int *lay_out_new_entries(Table *t, int first, EncodeSeq *seqs, int *entry, int n, EncodePlan *plan) {
    int m = t->n - first;
    int *sorted = alb_xmalloc(sizeof(int) * (size_t)m), *pos = alb_xmalloc(sizeof(int) * (size_t)m);
    encode_length_order(seqs, m, sorted);
    EncodeSeq *laid = alb_xmalloc(sizeof(EncodeSeq) * (size_t)m);
    for (int p = 0; p < m; p++) {
        laid[p] = seqs[plan->order[p]];
        pos[plan->order[p]] = p;
    }
    permute_new_entries(t, first, plan->order, 0, entry, n);
    memcpy(seqs, laid, sizeof(EncodeSeq) * (size_t)m);
    for (int p = 0; p < m; p++) {
        plan->order[p] = p;
        sorted[p] = pos[sorted[p]];
    }
    free(pos);
    free(laid);
    return sorted;
}

static Key text_key(XXH3_state_t *s, const char *ns, size_t ns_len, const char *text) {
    XXH3_128bits_reset(s);
    XXH3_128bits_update(s, ns, ns_len);
    XXH3_128bits_update(s, text, strlen(text));
    XXH128_hash_t h = XXH3_128bits_digest(s);
    return (Key){h.low64, h.high64};
}

static void logf_(const FeatureCacheOptions *o, int warning, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void logf_(const FeatureCacheOptions *o, int warning, const char *fmt, ...) {
    if (!o->log) return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    o->log(o->ctx, warning, msg);
}

/* The namespace's entries as its cache file holds them; a file that cannot be
 * trusted is reported and left for the end of the pass to replace. */
static void load_table(const FeatureCacheOptions *o, const char *path, Table *t) {
    if (!alb_file_exists(path)) return;
    AlbError why;
    if (load_file(t, o, path, &why)) logf_(o, 1, "feature cache ignored and rebuilt: %s", why.msg);
}

/* entry[i] = the table entry of texts[i]; a text not in the table gets a new
 * entry (one per distinct text). Counts the distinct texts and those cached. */
static void find_entries(const FeatureCacheOptions *o, Table *t, const char *const *texts, int n, int *entry,
                         FeatureCacheStats *stats) {
    int n_loaded = t->n;
    char ns[512];
    size_t ns_len = namespace_bytes(o, ns, sizeof ns);
    XXH3_state_t *hs = alb_xnonnull(XXH3_createState(), "XXH3 state");
    for (int i = 0; i < n; i++) {
        Key k = text_key(hs, ns, ns_len, texts[i]);
        int e = table_find(t, k);
        if (e < 0) e = table_add(t, k);
        entry[i] = e;
    }
    XXH3_freeState(hs);
    unsigned char *seen = alb_xcalloc((size_t)t->n + 1, 1);
    for (int i = 0; i < n; i++)
        if (!seen[entry[i]]) {
            seen[entry[i]] = 1;
            stats->n_distinct++;
            if (entry[i] < n_loaded) stats->n_cached++;
        }
    free(seen);
    stats->n_texts = n;
}

/* Rank 0's list of the texts to encode, to every rank of a job: their count
 * m, then which[0..m) (the index in texts of each, in the new entries' order;
 * allocated here on the other ranks). 0, 1 (stopped), -1. */
static int share_missing(int *m, int **which, const volatile sig_atomic_t *stop, AlbError *err) {
    int rc = dist_bcast(m, sizeof *m, stop, err);
    if (rc) return rc;
    if (dist_rank() != 0) *which = alb_xmalloc(sizeof(int) * (size_t)(*m ? *m : 1));
    return dist_bcast(*which, sizeof(int) * (size_t)*m, stop, err);
}

/* Tokenizes (each rank a share: encode_make_plan) and encodes
 * texts[which[0..m)] over every rank of the job: on
 * rank 0 (t set) the new entries [first, t->n) of the table in gather order,
 * the file saved as the pass goes (on_batch) and at its end, or up to the
 * last gathered batch when the pass stops or fails; the other ranks (t NULL)
 * encode their batches and save nothing. 0, 1 when stopped through o->stop,
 * -1 on error. */
static int encode_missing(const FeatureCacheOptions *o, Table *t, int first, const char *const *texts, int n,
                          int *entry, const int *which, int m, FeatureCacheStats *stats, AlbError *err) {
    EncodeSeq *seqs = alb_xcalloc((size_t)(m ? m : 1), sizeof *seqs);
    EncodePlan plan;
    EncodeTexts tokenize = {o->tok, texts, which, o->max_length, albert_config(o->model)->vocab_size};
    int rc = encode_make_plan(encode_make_text, &tokenize, m, o->batch_size, o->max_tokens, seqs, &plan, o->stop,
                              err);
    Pass p = {.o = o, .t = t, .first = first, .path = stats->path, .n_missing = m, .err = err};
    p.start = p.last_save = monotonic_s();
    static float not_written;  /* the other ranks' outputs only say what to compute (encode_run) */
    EncodeOut out = {.cls = t ? t->features + (size_t)first * t->H : &not_written};
    int *back = NULL;
    if (!rc) {
        if (t) back = lay_out_new_entries(t, first, seqs, entry, n, &plan);
        if (!t) p.n_missing = encode_plan_share(&plan, dist_rank());
        rc = encode_run(o->model, seqs, &plan, &out, on_batch, &p, o->stop, err);
    }
    stats->seconds = monotonic_s() - p.start;
    stats->n_computed = p.n_done;
    stats->tokens_computed = p.tokens;
    AlbError save_err;
    if (t && !rc && dist_size() > 1) permute_new_entries(t, first, back, 1, entry, n);  /* alone: already so */
    if (t && !rc) rc = save_file(t, t->n, o, stats->path, err);
    else if (t && p.n_done && save_file(t, first + p.n_done, o, stats->path, &save_err))
        logf_(o, 1, "feature cache: %s", save_err.msg);
    double s = stats->seconds > 0 ? stats->seconds : 1e-9;
    if (rc == 1)
        logf_(o, 1, "feature cache: stopped after %d of %d texts (%ld tokens, %.1f s); they are saved in %s",
              p.n_done, m, p.tokens, stats->seconds, stats->path);
    else if (rc && t && p.n_done)
        logf_(o, 1, "feature cache: the %d texts gathered before the failure are saved in %s", p.n_done, stats->path);
    if (!rc)
        logf_(o, 0, "feature cache: %s %d texts (%ld tokens) in %.1f s: %.0f texts/s, %.0f tokens/s",
              t ? "computed" : "encoded my share of", p.n_done, p.tokens, stats->seconds, p.n_done / s, p.tokens / s);
    encode_seqs_free(seqs, m);
    free(seqs);
    free(back);
    encode_plan_free(&plan);
    return rc;
}

/* A rank other than 0: its share of the texts rank 0 found missing; res stays empty. */
static int encode_share(const FeatureCacheOptions *o, const char *const *texts, int n, FeatureCacheStats *stats,
                        AlbError *err) {
    int m = 0, *which = NULL;
    int rc = share_missing(&m, &which, o->stop, err);
    for (int s = 0; s < m && !rc; s++)
        if (which[s] < 0 || which[s] >= n) rc = alb_fail(err, "rank %d: rank 0 asks for text %d of %d: the ranks "
                                                         "read different texts", dist_rank(), which[s], n);
    if (!rc && m) rc = encode_missing(o, NULL, 0, texts, n, NULL, which, m, stats, err);
    free(which);
    return rc;
}

int feature_cache_get(const FeatureCacheOptions *o, const char *const *texts, int n, FeatureCacheResult *res,
                      FeatureCacheStats *stats, AlbError *err) {
    memset(stats, 0, sizeof *stats);
    memset(res, 0, sizeof *res);
    feature_cache_path(o, stats->path, sizeof stats->path);
    if (dist_rank() != 0) return encode_share(o, texts, n, stats, err);
    Table t = {.H = albert_config(o->model)->hidden_size};
    int *entry = alb_xmalloc(sizeof(int) * (size_t)(n ? n : 1));
    int rc = alb_mkdirs(o->cache_dir, err), n_loaded = 0, m = 0, *which = NULL;
    if (!rc) {
        alb_remove_stale_tmp(o->cache_dir);  /* a save that a SIGKILL (e.g. mpirun ending a job) cut short */
        load_table(o, stats->path, &t);
        n_loaded = t.n;
        find_entries(o, &t, texts, n, entry, stats);
        logf_(o, 0, "feature cache %s: %d texts, %d distinct: %d found, %d to compute", stats->path, n,
              stats->n_distinct, stats->n_cached, t.n - n_loaded);
        /* which[s]: the first text of new entry n_loaded + s */
        m = t.n - n_loaded;
        which = alb_xmalloc(sizeof(int) * (size_t)(m ? m : 1));
        for (int s = 0; s < m; s++) which[s] = -1;
        for (int i = 0; i < n; i++)
            if (entry[i] >= n_loaded && which[entry[i] - n_loaded] < 0) which[entry[i] - n_loaded] = i;
    }
    /* the other ranks wait for the list even when rank 0 failed: 0 texts ends their pass */
    if (dist_size() > 1) {
        int shared = rc ? 0 : m, *list = which, brc = share_missing(&shared, &list, o->stop, rc ? &(AlbError){{0}} : err);
        if (!rc) rc = brc;
    }
    if (!rc && m) rc = encode_missing(o, &t, n_loaded, texts, n, entry, which, m, stats, err);
    if (!rc) {  /* hand the features over, without a copy */
        *res = (FeatureCacheResult){t.n, t.H, t.features, entry};
        t.features = NULL;
    } else {
        free(entry);
    }
    free(which);
    table_free(&t);
    return rc;
}

void feature_cache_gather(const FeatureCacheResult *r, int first, int count, float *out) {
    for (int i = 0; i < count; i++)
        memcpy(out + (size_t)i * r->H, r->features + (size_t)r->rows[first + i] * r->H, sizeof(float) * (size_t)r->H);
}

void feature_cache_result_free(FeatureCacheResult *r) {
    free(r->features);
    free(r->rows);
    memset(r, 0, sizeof *r);
}

int feature_cache_default_dir(char *out, size_t out_size) {
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    int n;
    if (xdg && *xdg) n = snprintf(out, out_size, "%s/albertc", xdg);
    else if (home && *home) n = snprintf(out, out_size, "%s/.cache/albertc", home);
    else return -1;
    return n < 0 || (size_t)n >= out_size ? -1 : 0;
}
