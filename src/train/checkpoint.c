#include "train/checkpoint.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "io/safetensors.h"
#include "util/bf16.h"
#include "util/fileio.h"

/* The optimizer moments are stored as optimizer.<head tensor name>.exp_avg / .exp_avg_sq. */
#define OPTIMIZER_PREFIX "optimizer."

/* ------------------------------------------------------------------ meta */

void checkpoint_meta_free(CheckpointMeta *m) {
    free(m->dtype);
    free(m->metrics_json);
    free(m->label_names_json);
    free(m->config_json);
    free(m->encoder_id);
    free(m->encoder_hash);
    free(m->engine);
    free(m->rng_state);
    free(m->data_order);
    memset(m, 0, sizeof *m);
}

/* The string fields, by metadata key, for saving and loading alike. */
typedef struct {
    const char *key;
    size_t offset;
    int is_json;
} MetaString;

static const MetaString META_STRINGS[] = {
    {"metrics", offsetof(CheckpointMeta, metrics_json), 1},
    {"label_names", offsetof(CheckpointMeta, label_names_json), 1},
    {"config", offsetof(CheckpointMeta, config_json), 1},
    {"encoder_id", offsetof(CheckpointMeta, encoder_id), 0},
    {"encoder_hash", offsetof(CheckpointMeta, encoder_hash), 0},
    {"engine", offsetof(CheckpointMeta, engine), 0},
    {"rng_state", offsetof(CheckpointMeta, rng_state), 0},
    {"data_order", offsetof(CheckpointMeta, data_order), 0},
};
#define N_META_STRINGS (int)(sizeof META_STRINGS / sizeof META_STRINGS[0])

static char **meta_field(CheckpointMeta *m, const MetaString *f) { return (char **)((char *)m + f->offset); }
static const char *meta_field_c(const CheckpointMeta *m, const MetaString *f) {
    return *(char *const *)((const char *)m + f->offset);
}

static int json_is_valid(const char *text) {
    json_t *j = json_loads(text, JSON_DECODE_ANY, NULL);
    json_decref(j);
    return j != NULL;
}

/* Metrics are an object of numbers: the history ranks checkpoints by them. */
static int metrics_are_valid(const char *text) {
    json_t *j = json_loads(text, 0, NULL);
    int ok = json_is_object(j);
    const char *key;
    json_t *v;
    if (ok) json_object_foreach(j, key, v) ok &= json_is_number(v);
    json_decref(j);
    return ok;
}

/* A whole non-negative decimal integer. */
static int parse_count(const char *s, long *out) {
    if (!s || *s < '0' || *s > '9') return -1;
    errno = 0;
    char *end;
    long v = strtol(s, &end, 10);
    if (errno || *end) return -1;
    *out = v;
    return 0;
}

static void set_meta_long(StWriter *w, const char *key, long v) {
    char buf[32];
    snprintf(buf, sizeof buf, "%ld", v);
    st_writer_set_meta(w, key, buf);
}

int checkpoint_save(const char *path, const Head *h, const AdamW *opt, const CheckpointMeta *meta,
                    AlbError *err) {
    for (int i = 0; i < N_META_STRINGS; i++) {
        const char *v = meta_field_c(meta, &META_STRINGS[i]);
        if (v && META_STRINGS[i].is_json && !json_is_valid(v))
            return alb_fail(err, "%s: checkpoint field %s is not valid JSON", path, META_STRINGS[i].key);
    }
    if (meta->metrics_json && !metrics_are_valid(meta->metrics_json))
        return alb_fail(err, "%s: checkpoint metrics must be a JSON object of numbers", path);
    if (opt && opt->n != h->n_params)
        return alb_fail(err, "%s: optimizer has %ld entries, head %ld parameters", path, opt->n, h->n_params);
    StWriter *w = st_writer_new();
    head_add_tensors(h, w, h->params, "", "");
    if (opt) {
        head_add_tensors(h, w, opt->exp_avg, OPTIMIZER_PREFIX, ".exp_avg");
        head_add_tensors(h, w, opt->exp_avg_sq, OPTIMIZER_PREFIX, ".exp_avg_sq");
        set_meta_long(w, "optimizer_step", opt->step);
    }
    st_writer_set_meta(w, "format", "pt");
    set_meta_long(w, "format_version", CHECKPOINT_FORMAT_VERSION);
    set_meta_long(w, "step", meta->step);
    set_meta_long(w, "epoch", meta->epoch);
    set_meta_long(w, "epoch_position", meta->epoch_position);
    set_meta_long(w, "final", meta->final ? 1 : 0);
    if (meta->random_encoder) set_meta_long(w, "random_encoder", 1);
    st_writer_set_meta(w, "dtype", head_dtype_name(h));
    for (int i = 0; i < N_META_STRINGS; i++) {
        const char *v = meta_field_c(meta, &META_STRINGS[i]);
        if (v) st_writer_set_meta(w, META_STRINGS[i].key, v);
    }
    if (!meta->engine) st_writer_set_meta(w, "engine", "");
    int rc = st_writer_save(w, path, err);
    st_writer_free(w);
    return rc;
}

static int read_meta(const SafeTensors *st, CheckpointMeta *m, AlbError *err) {
    memset(m, 0, sizeof *m);
    long version, final;
    if (parse_count(st_meta(st, "format_version"), &version) || version < 1)
        return alb_fail(err, "%s: not an albertc checkpoint (no valid format_version in __metadata__)", st->path);
    if (version > CHECKPOINT_FORMAT_VERSION)
        return alb_fail(err, "%s: checkpoint format_version %ld is newer than this albertc (%d)", st->path, version,
                        CHECKPOINT_FORMAT_VERSION);
    const char *counts[] = {"step", "epoch", "epoch_position", "final"};
    long *dst[] = {&m->step, &m->epoch, &m->epoch_position, &final};
    for (int i = 0; i < 4; i++)
        if (parse_count(st_meta(st, counts[i]), dst[i]))
            return alb_fail(err, "%s: checkpoint metadata %s is missing or not a non-negative integer", st->path,
                            counts[i]);
    m->final = final != 0;
    const char *random_encoder = st_meta(st, "random_encoder");
    m->random_encoder = random_encoder && !strcmp(random_encoder, "1");
    const char *dtype = st_meta(st, "dtype");
    AlbDtype head_dtype;
    if (!dtype || alb_dtype_parse(dtype, &head_dtype) || alb_head_dtype(head_dtype) != head_dtype)
        return alb_fail(err, "%s: checkpoint metadata dtype (the head's) must be float32 or bfloat16", st->path);
    m->dtype = alb_xstrdup(dtype);
    for (int i = 0; i < N_META_STRINGS; i++) {
        const char *v = st_meta(st, META_STRINGS[i].key);
        if (!v) continue;
        if (META_STRINGS[i].is_json && !json_is_valid(v)) {
            checkpoint_meta_free(m);
            return alb_fail(err, "%s: checkpoint metadata %s is not valid JSON", st->path, META_STRINGS[i].key);
        }
        *meta_field(m, &META_STRINGS[i]) = alb_xstrdup(v);
    }
    if (!m->engine) {  /* features of two engines must never mix silently on a resume or an export */
        checkpoint_meta_free(m);
        return alb_fail(err, "%s: checkpoint metadata has no engine (the features' dtype and engine, recorded "
                             "since int8): saved by an older albertc", st->path);
    }
    return 0;
}

int checkpoint_read_meta(const char *path, CheckpointMeta *meta, AlbError *err) {
    SafeTensors st;
    if (st_open(&st, path, err)) return -1;
    int rc = read_meta(&st, meta, err);
    st_close(&st);
    return rc;
}

int checkpoint_load(const char *path, Head *h, AdamW *opt, CheckpointMeta *meta, AlbError *err) {
    SafeTensors st;
    if (st_open(&st, path, err)) return -1;
    CheckpointMeta m;
    int rc = read_meta(&st, &m, err);
    if (rc == 0) rc = head_load_from(h, &st, err);
    if (rc == 0 && opt) {
        long step;
        if (opt->n != h->n_params)
            rc = alb_fail(err, "%s: optimizer has %ld entries, head %ld parameters", path, opt->n, h->n_params);
        else if (parse_count(st_meta(&st, "optimizer_step"), &step))
            rc = alb_fail(err, "%s: checkpoint has no optimizer state (saved without save_optim)", path);
        else if ((rc = head_read_tensors(h, &st, OPTIMIZER_PREFIX, ".exp_avg", opt->exp_avg, err)) == 0 &&
                 (rc = head_read_tensors(h, &st, OPTIMIZER_PREFIX, ".exp_avg_sq", opt->exp_avg_sq, err)) == 0) {
            opt->step = step;
            if (opt->bf16) {
                bf16_round_array(opt->exp_avg, opt->n);
                bf16_round_array(opt->exp_avg_sq, opt->n);
            }
        }
    }
    st_close(&st);
    if (rc == 0 && meta)
        *meta = m;
    else
        checkpoint_meta_free(&m);  /* zeroed when read_meta failed */
    return rc;
}

/* ------------------------------------------------------------------ metrics */

int checkpoint_metric_value(const char *metrics_json, const char *metric, double *value) {
    if (!metrics_json || !metric) return -1;
    json_t *root = json_loads(metrics_json, 0, NULL);
    if (!json_is_object(root)) {
        json_decref(root);
        return -1;
    }
    const char *alias = !strcmp(metric, "eval/loss") ? "val/loss" : !strcmp(metric, "val/loss") ? "eval/loss" : NULL;
    json_t *v = json_object_get(root, metric);
    if (!v && alias) v = json_object_get(root, alias);
    int rc = json_is_number(v) ? 0 : -1;
    if (rc == 0) *value = json_number_value(v);
    json_decref(root);
    return rc;
}

/* ------------------------------------------------------------------ history */

static void entry_free(CheckpointEntry *e) {
    free(e->path);
    free(e->metrics_json);
    free(e->timestamp);
}

static void entry_copy(CheckpointEntry *dst, const CheckpointEntry *src) {
    dst->path = alb_xstrdup(src->path);
    dst->step = src->step;
    dst->epoch = src->epoch;
    dst->metrics_json = alb_xstrdup(src->metrics_json);
    dst->timestamp = alb_xstrdup(src->timestamp);
}

void history_free(CheckpointHistory *hist) {
    for (int i = 0; i < hist->n; i++) entry_free(&hist->items[i]);
    for (int i = 0; i < hist->n_best; i++) entry_free(&hist->best[i]);
    free(hist->items);
    free(hist->best);
    memset(hist, 0, sizeof *hist);
}

static const char *base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static int parse_entry(json_t *obj, CheckpointEntry *e, const char *name, const char *list, size_t index,
                       AlbError *err) {
    memset(e, 0, sizeof *e);
    if (!json_is_object(obj)) return alb_fail(err, "%s: %s[%zu] is not an object", name, list, index);
    json_t *path = json_object_get(obj, "path"), *step = json_object_get(obj, "step");
    json_t *epoch = json_object_get(obj, "epoch"), *metrics = json_object_get(obj, "metrics");
    json_t *ts = json_object_get(obj, "timestamp");
    const char *base = json_is_string(path) ? base_name(json_string_value(path)) : "";
    if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
        return alb_fail(err, "%s: %s[%zu].path must name a checkpoint file", name, list, index);
    if (!json_is_integer(step) || json_integer_value(step) < 0 || json_integer_value(step) > LONG_MAX)
        return alb_fail(err, "%s: %s[%zu].step must be a non-negative integer", name, list, index);
    if (!json_is_integer(epoch) || json_integer_value(epoch) < 0 || json_integer_value(epoch) > LONG_MAX)
        return alb_fail(err, "%s: %s[%zu].epoch must be a non-negative integer", name, list, index);
    if (!json_is_object(metrics))
        return alb_fail(err, "%s: %s[%zu].metrics must be an object", name, list, index);
    const char *key;
    json_t *v;
    json_object_foreach(metrics, key, v) {
        if (!json_is_number(v))
            return alb_fail(err, "%s: %s[%zu].metrics.%s must be a number", name, list, index, key);
    }
    if (!json_is_string(ts)) return alb_fail(err, "%s: %s[%zu].timestamp must be a string", name, list, index);
    e->path = alb_xstrdup(json_string_value(path));
    e->step = (long)json_integer_value(step);
    e->epoch = (long)json_integer_value(epoch);
    e->metrics_json = json_dumps(metrics, JSON_COMPACT);
    e->timestamp = alb_xstrdup(json_string_value(ts));
    return 0;
}

static int parse_list(json_t *root, const char *list, CheckpointEntry **items, int *n, const char *name,
                      AlbError *err) {
    json_t *arr = json_object_get(root, list);
    if (!json_is_array(arr)) return alb_fail(err, "%s: \"%s\" must be an array", name, list);
    size_t count = json_array_size(arr);
    if (count > 1000000) return alb_fail(err, "%s: \"%s\" has %zu entries, too many", name, list, count);
    *items = alb_xcalloc(count + 1, sizeof **items);
    for (size_t i = 0; i < count; i++) {
        if (parse_entry(json_array_get(arr, i), &(*items)[i], name, list, i, err)) return -1;
        (*n)++;
    }
    return 0;
}

int history_parse(CheckpointHistory *hist, const char *json, size_t len, const char *name, AlbError *err) {
    memset(hist, 0, sizeof *hist);
    json_error_t jerr;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    char shown[ALB_SHOWN_SIZE];
    if (!root) return alb_fail(err, "%s:%d:%d: invalid JSON: %s", name, jerr.line, jerr.column, alb_shown(jerr.text, shown));
    int rc = -1;
    if (!json_is_object(root))
        alb_fail(err, "%s: checkpoint history must be a JSON object", name);
    else if (parse_list(root, "checkpoints", &hist->items, &hist->n, name, err) == 0 &&
             parse_list(root, "best_checkpoints", &hist->best, &hist->n_best, name, err) == 0)
        rc = 0;
    json_decref(root);
    if (rc) history_free(hist);
    return rc;
}

int history_load(CheckpointHistory *hist, const char *path, AlbError *err) {
    memset(hist, 0, sizeof *hist);
    if (access(path, F_OK) != 0 && errno == ENOENT) return 0;
    char *data;
    size_t len;
    if (alb_read_file(path, &data, &len, err)) return -1;
    int rc = history_parse(hist, data, len, path, err);
    free(data);
    return rc;
}

/* NULL when an entry cannot be JSON (a path that is not UTF-8): never a history without it. */
static json_t *entries_json(const CheckpointEntry *items, int n) {
    json_t *arr = json_array();
    for (int i = 0; i < n; i++) {
        const CheckpointEntry *e = &items[i];
        json_t *metrics = json_loads(e->metrics_json ? e->metrics_json : "{}", 0, NULL);
        if (!json_is_object(metrics)) {
            json_decref(metrics);
            metrics = json_object();
        }
        json_t *entry = json_pack("{s:s, s:I, s:I, s:o, s:s}", "path", e->path, "step", (json_int_t)e->step,
                                  "epoch", (json_int_t)e->epoch, "metrics", metrics, "timestamp",
                                  e->timestamp ? e->timestamp : "");
        if (json_array_append_new(arr, entry)) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

int history_save(const CheckpointHistory *hist, const char *path, AlbError *err) {
    json_t *items = entries_json(hist->items, hist->n), *best = entries_json(hist->best, hist->n_best);
    char *text = NULL;
    if (items && best) {
        json_t *root = json_pack("{s:O, s:O}", "checkpoints", items, "best_checkpoints", best);
        text = json_dumps(root, JSON_INDENT(2));
        json_decref(root);
    }
    json_decref(items);
    json_decref(best);
    if (!text) return alb_fail(err, "%s: cannot write the history as JSON (a checkpoint path that is not UTF-8?)", path);
    size_t len = strlen(text);
    text[len] = '\n';  /* json_dumps leaves no newline; overwrite the NUL, write len + 1 */
    int rc = atomic_write_file(path, text, len + 1, err);
    free(text);
    return rc;
}

/* ------------------------------------------------------------------ store */

int ckpt_store_open(CheckpointStore *s, const char *project_dir, const CheckpointPolicy *policy,
                    const char *remote_dir, int sync_to_remote, AlbError *err) {
    memset(s, 0, sizeof *s);
    s->dir = alb_path_join(project_dir, "checkpoints");
    s->policy = *policy;
    s->policy.metric = alb_xstrdup(policy->metric ? policy->metric : "val/loss");
    s->remote_dir = remote_dir && *remote_dir ? alb_xstrdup(remote_dir) : NULL;
    s->sync_to_remote = sync_to_remote && s->remote_dir;
    /* The history records paths as JSON strings: find a directory it cannot record now, not after training. */
    json_t *probe = json_pack("[s, s?]", s->dir, s->remote_dir);
    int rc = probe ? 0 : alb_fail(err, "%s: the checkpoint directory (or remote_path) is not valid UTF-8, which "
                                       "checkpoint_history.json cannot record", s->dir);
    json_decref(probe);
    if (rc == 0) rc = alb_mkdirs(s->dir, err);
    if (rc == 0 && s->sync_to_remote) rc = alb_mkdirs(s->remote_dir, err);
    char *hist_path = alb_path_join(s->dir, CHECKPOINT_HISTORY_NAME);
    if (rc == 0) rc = history_load(&s->history, hist_path, err);
    free(hist_path);
    if (rc == 0 && s->remote_dir) {
        hist_path = alb_path_join(s->remote_dir, CHECKPOINT_HISTORY_NAME);
        rc = history_load(&s->remote_history, hist_path, err);
        free(hist_path);
    }
    if (rc) ckpt_store_close(s);
    return rc;
}

void ckpt_store_close(CheckpointStore *s) {
    free(s->dir);
    free(s->remote_dir);
    free((char *)s->policy.metric);
    history_free(&s->history);
    history_free(&s->remote_history);
    memset(s, 0, sizeof *s);
}

/* dir/<stem>.<suffix><ext> for path's base name <stem><ext> (ext: from the last dot). */
static char *archived_path(const char *dir, const char *path, const char *suffix) {
    const char *base = base_name(path), *dot = strrchr(base, '.');
    size_t n = strlen(base) + strlen(suffix) + 2;
    char *name = alb_xmalloc(n);
    snprintf(name, n, "%.*s.%s%s", (int)(dot ? (size_t)(dot - base) : strlen(base)), base, suffix, dot ? dot : "");
    char *p = alb_path_join(dir, name);
    free(name);
    return p;
}

/* also[] holds files and a directory (tensorboard/). */
static int exists(const char *path) { return alb_file_exists(path) || alb_dir_exists(path); }

static int archive_taken(const char *dir, const char *path, const char *suffix) {
    char *p = archived_path(dir, path, suffix);
    int taken = exists(p);
    free(p);
    return taken;
}

static int archive(const char *from, const char *dir, const char *suffix, AlbError *err) {
    char *to = archived_path(dir, from, suffix);
    int rc = rename(from, to) ? alb_fail(err, "%s: cannot rename to %s: %s", from, to, strerror(errno)) : 0;
    free(to);
    return rc;
}

int ckpt_store_start_new_run(CheckpointStore *s, char *const *also, int n_also, char *suffix, size_t suffix_size,
                             AlbError *err) {
    suffix[0] = '\0';
    int local = s->history.n || s->history.n_best;
    int remote = s->remote_dir && (s->remote_history.n || s->remote_history.n_best);
    int files = 0;
    for (int i = 0; i < n_also; i++) files += exists(also[i]);
    if (!local && !remote && !files) return 0;
    char *hist = alb_path_join(s->dir, CHECKPOINT_HISTORY_NAME);
    char *remote_hist = s->remote_dir ? alb_path_join(s->remote_dir, CHECKPOINT_HISTORY_NAME) : NULL;
    time_t now = time(NULL);
    struct tm utc;
    gmtime_r(&now, &utc);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y%m%d_%H%M%S", &utc);
    for (int k = 1;; k++) {  /* one suffix for every archived file: they are one run's records */
        if (k == 1) snprintf(suffix, suffix_size, "%s", stamp);
        else snprintf(suffix, suffix_size, "%s_%d", stamp, k);
        int taken = archive_taken(s->dir, hist, suffix) || (remote_hist && archive_taken(s->remote_dir, remote_hist, suffix));
        for (int i = 0; i < n_also; i++) taken |= archive_taken(s->dir, also[i], suffix);
        if (!taken) break;
    }
    int rc = local ? archive(hist, s->dir, suffix, err) : 0;
    if (!rc && remote) rc = archive(remote_hist, s->remote_dir, suffix, err);
    for (int i = 0; !rc && i < n_also; i++)
        if (exists(also[i])) rc = archive(also[i], s->dir, suffix, err);
    if (!rc) {
        history_free(&s->history);
        history_free(&s->remote_history);
    }
    free(hist);
    free(remote_hist);
    return rc;
}

static int history_has_file(const CheckpointHistory *h, const char *base) {
    for (int i = 0; i < h->n; i++)
        if (!strcmp(base_name(h->items[i].path), base)) return 1;
    for (int i = 0; i < h->n_best; i++)
        if (!strcmp(base_name(h->best[i].path), base)) return 1;
    return 0;
}

/* checkpoint_step{S}_epoch{E}_{YYYYmmdd_HHMMSS UTC}[_k].safetensors, unused here and in the histories. */
static char *new_checkpoint_name(const CheckpointStore *s, long step, long epoch, const struct tm *utc) {
    char stamp[32], name[256];
    strftime(stamp, sizeof stamp, "%Y%m%d_%H%M%S", utc);
    for (int k = 1;; k++) {
        if (k == 1)
            snprintf(name, sizeof name, "checkpoint_step%ld_epoch%ld_%s.safetensors", step, epoch, stamp);
        else
            snprintf(name, sizeof name, "checkpoint_step%ld_epoch%ld_%s_%d.safetensors", step, epoch, stamp, k);
        char *local = alb_path_join(s->dir, name);
        char *remote = s->remote_dir ? alb_path_join(s->remote_dir, name) : NULL;
        int taken = alb_file_exists(local) || (remote && alb_file_exists(remote)) ||
                    history_has_file(&s->history, name) || history_has_file(&s->remote_history, name);
        free(local);
        free(remote);
        if (!taken) return alb_xstrdup(name);
    }
}

/* Is entry a better than b under the policy? Entries without the metric never rank. */
static int better(const CheckpointPolicy *p, const CheckpointEntry *a, const CheckpointEntry *b) {
    double va, vb;
    if (checkpoint_metric_value(a->metrics_json, p->metric, &va)) return 0;
    if (checkpoint_metric_value(b->metrics_json, p->metric, &vb)) return 1;
    return p->metric_max ? va > vb : va < vb;
}

static int file_in(const CheckpointEntry *items, int n, const char *base) {
    for (int i = 0; i < n; i++)
        if (!strcmp(base_name(items[i].path), base)) return 1;
    return 0;
}

/* Adds entry (a copy) to hist and applies retention. Appends to `dropped` the
 * base names of files no longer referenced (to delete once the history is written). */
static void history_add(CheckpointHistory *hist, const CheckpointEntry *entry, const CheckpointPolicy *p,
                        char ***dropped, int *n_dropped) {
    hist->items = alb_xrealloc(hist->items, (size_t)(hist->n + 1) * sizeof *hist->items);
    entry_copy(&hist->items[hist->n++], entry);
    /* best: insert after the entries at least as good, keep keep_best_n */
    CheckpointEntry *removed = alb_xcalloc((size_t)hist->n + (size_t)hist->n_best + 2, sizeof *removed);
    int n_removed = 0;
    double unused;
    if (p->keep_best_n > 0 && checkpoint_metric_value(entry->metrics_json, p->metric, &unused) == 0) {
        int at = 0;
        while (at < hist->n_best && !better(p, entry, &hist->best[at])) at++;
        hist->best = alb_xrealloc(hist->best, (size_t)(hist->n_best + 1) * sizeof *hist->best);
        memmove(&hist->best[at + 1], &hist->best[at], (size_t)(hist->n_best - at) * sizeof *hist->best);
        entry_copy(&hist->best[at], entry);
        hist->n_best++;
    }
    /* also trims a history written under a larger keep_best_n */
    int keep_best = p->keep_best_n > 0 ? p->keep_best_n : 0;
    while (hist->n_best > keep_best) removed[n_removed++] = hist->best[--hist->n_best];
    if (p->keep_last_n > 0 && hist->n > p->keep_last_n) {
        int drop = hist->n - p->keep_last_n;
        for (int i = 0; i < drop; i++) removed[n_removed++] = hist->items[i];
        memmove(hist->items, hist->items + drop, (size_t)p->keep_last_n * sizeof *hist->items);
        hist->n = p->keep_last_n;
    }
    for (int i = 0; i < n_removed; i++) {
        const char *base = base_name(removed[i].path);
        if (!file_in(hist->items, hist->n, base) && !file_in(hist->best, hist->n_best, base)) {
            *dropped = alb_xrealloc(*dropped, (size_t)(*n_dropped + 1) * sizeof **dropped);
            (*dropped)[(*n_dropped)++] = alb_xstrdup(base);
        }
        entry_free(&removed[i]);
    }
    free(removed);
}

static void delete_files(const char *dir, char **names, int n) {
    for (int i = 0; i < n; i++) {
        char *p = alb_path_join(dir, names[i]);
        unlink(p);  /* already gone is fine: retention only frees space */
        free(p);
    }
}

/* Records entry in one directory's history, writes it, then deletes what it dropped. */
static int record(CheckpointHistory *hist, const char *dir, const CheckpointEntry *entry,
                  const CheckpointPolicy *p, AlbError *err) {
    char **dropped = NULL;
    int n_dropped = 0;
    history_add(hist, entry, p, &dropped, &n_dropped);
    char *hist_path = alb_path_join(dir, CHECKPOINT_HISTORY_NAME);
    int rc = history_save(hist, hist_path, err);
    free(hist_path);
    if (rc == 0) delete_files(dir, dropped, n_dropped);
    for (int i = 0; i < n_dropped; i++) free(dropped[i]);
    free(dropped);
    return rc;
}

int ckpt_store_save(CheckpointStore *s, const Head *h, const AdamW *opt, const CheckpointMeta *meta,
                    char *path_out, size_t path_out_size, AlbError *err) {
    time_t now = time(NULL);
    struct tm utc;
    gmtime_r(&now, &utc);
    char iso[32];
    strftime(iso, sizeof iso, "%Y-%m-%dT%H:%M:%SZ", &utc);
    char *name = new_checkpoint_name(s, meta->step, meta->epoch, &utc);
    char *path = alb_path_join(s->dir, name);
    int rc = checkpoint_save(path, h, opt, meta, err);
    CheckpointEntry entry = {.path = path, .step = meta->step, .epoch = meta->epoch,
                             .metrics_json = meta->metrics_json ? meta->metrics_json : "{}", .timestamp = iso};
    if (rc == 0) rc = record(&s->history, s->dir, &entry, &s->policy, err);
    if (rc == 0 && s->sync_to_remote) {
        char *remote = alb_path_join(s->remote_dir, name);
        rc = alb_copy_file(path, remote, err);
        entry.path = remote;
        if (rc == 0) rc = record(&s->remote_history, s->remote_dir, &entry, &s->policy, err);
        free(remote);
    }
    if (rc == 0 && path_out) snprintf(path_out, path_out_size, "%s", path);
    free(name);
    free(path);
    return rc;
}

int ckpt_store_resolve(const CheckpointStore *s, const char *option, const char *explicit_path, int from_remote,
                       char *out, size_t out_size, AlbError *err) {
    if (!strcmp(option, "path")) {
        if (!explicit_path || !*explicit_path) return alb_fail(err, "resume_option is 'path' but no checkpoint_path");
        if (!alb_file_exists(explicit_path)) return alb_fail(err, "%s: checkpoint not found", explicit_path);
        snprintf(out, out_size, "%s", explicit_path);
        return 0;
    }
    if (from_remote && !s->remote_dir) return alb_fail(err, "load_from_storage is set but remote_path is empty");
    const char *dir = from_remote ? s->remote_dir : s->dir;
    const CheckpointHistory *hist = from_remote ? &s->remote_history : &s->history;
    char *hist_path = alb_path_join(dir, CHECKPOINT_HISTORY_NAME);
    const CheckpointEntry *e = NULL;
    int rc = 0;
    if (!strcmp(option, "last")) {
        if (hist->n)
            e = &hist->items[hist->n - 1];
        else
            rc = alb_fail(err, "%s: no checkpoint to resume from (history missing or empty)", hist_path);
    } else if (!strcmp(option, "best")) {
        if (hist->n_best)
            e = &hist->best[0];
        else
            rc = alb_fail(err, "%s: no best checkpoint recorded (keep_best_n 0 or no %s metric yet)", hist_path,
                          s->policy.metric);
    } else {
        rc = alb_fail(err, "resume_option '%s' is not one of last, best, path", option);
    }
    if (e) {
        char *p = alb_path_join(dir, base_name(e->path));
        if (!alb_file_exists(p))
            rc = alb_fail(err, "%s: lists %s, which does not exist", hist_path, p);
        else
            snprintf(out, out_size, "%s", p);
        free(p);
    }
    free(hist_path);
    return rc;
}
