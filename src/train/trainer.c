/* The training loop; see trainer.h. */
#include "train/trainer.h"

#include <cblas.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "io/safetensors.h"
#include "train/adamw.h"
#include "train/checkpoint.h"
#include "model/head.h"
#include "util/clock.h"
#include "util/fileio.h"
#include "util/splitmix.h"

uint64_t trainer_epoch_seed(uint64_t seed, long epoch) {
    uint64_t s = seed ^ ((uint64_t)epoch * 0xD1B54A32D192ED03ull);
    return splitmix64(&s);
}

void trainer_use_threads(int threads) {
    if (threads <= 0) return;
    omp_set_num_threads(threads);
    openblas_set_num_threads(threads);
}

void trainer_permutation(int *perm, int n, uint64_t epoch_seed) {
    uint64_t s = epoch_seed;
    for (int i = 0; i < n; i++) perm[i] = i;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)(((unsigned __int128)splitmix64(&s) * (unsigned)(i + 1)) >> 64);
        int t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

/* ------------------------------------------------------------------ state */

typedef struct {
    const TrainerInputs *in;
    const TrainConfig *cfg;
    Head head;
    AdamW opt;
    CheckpointStore store;
    MetricsLog metrics;
    int batch, accum;             /* B, k */
    long batches_per_epoch;       /* used batches: steps_per_epoch * k */
    long steps_per_epoch, total_steps;
    long step, epoch, position;   /* position: batches of `epoch` consumed */
    double *window;               /* [steps_freq] step losses since the last train/loss line */
    int n_window;
    int have_train, have_val;
    double train_loss, val_loss, val_accuracy;
    long last_val_step;
    long last_log_step;           /* the step and time of the last train/loss line (examples/s since) */
    double last_log_time;
    int *perm;                    /* [train.n] */
    int *labels;                  /* [B] scratch */
    float *xb;                    /* [B, H] scratch */
    /* validation: one head per thread (own activations), params copied in */
    int n_val_heads;
    Head *val_heads;
    int *val_pred;                /* [n_val_heads, B]: each thread's predictions (a VLA of B ints overflowed a worker's stack) */
    double *val_batch_loss;       /* [eval batches] */
    int *val_batch_correct;
    char *config_json, *labels_json;
} Trainer;

static void trainer_free(Trainer *t) {
    head_free(&t->head);
    adamw_free(&t->opt);
    ckpt_store_close(&t->store);
    metrics_log_close(&t->metrics);
    for (int i = 0; i < t->n_val_heads; i++) head_free(&t->val_heads[i]);
    free(t->val_heads);
    free(t->val_pred);
    free(t->val_batch_loss);
    free(t->val_batch_correct);
    free(t->window);
    free(t->perm);
    free(t->labels);
    free(t->xb);
    free(t->config_json);
    free(t->labels_json);
}

/* ------------------------------------------------------------------ validation */

static void validate(Trainer *t) {
    const FeatureSplit *ev = &t->in->eval;
    int B = t->batch, H = t->in->hidden;
    int n_batches = (ev->n + B - 1) / B;
    for (int i = 0; i < t->n_val_heads; i++)
        memcpy(t->val_heads[i].params, t->head.params, sizeof(float) * (size_t)t->head.n_params);
#pragma omp parallel for schedule(dynamic, 4) num_threads(t->n_val_heads)
    for (int b = 0; b < n_batches; b++) {
        Head *h = &t->val_heads[omp_get_thread_num()];
        int *pred = t->val_pred + (size_t)omp_get_thread_num() * B;
        int start = b * B, rows = ev->n - start < B ? ev->n - start : B;
        head_forward(h, ev->x + (size_t)start * H, rows);
        t->val_batch_loss[b] = head_loss(h, ev->y + start);
        head_predict(h, pred);
        int correct = 0;
        for (int r = 0; r < rows; r++) correct += pred[r] == ev->y[start + r];
        t->val_batch_correct[b] = correct;
    }
    double loss = 0.0;
    long correct = 0;
    for (int b = 0; b < n_batches; b++) {  /* in batch order: the same sum for any thread count */
        loss += t->val_batch_loss[b];
        correct += t->val_batch_correct[b];
    }
    t->val_loss = loss / n_batches;
    t->val_accuracy = (double)correct / ev->n;
    t->have_val = 1;
    t->last_val_step = t->step;
}

/* The divergence policy: a non-finite loss (or weights) stops the run before
 * anything is logged or saved from them, so metrics.jsonl stays JSON (it has no
 * NaN), no checkpoint holds them, and the last checkpoint saved stays the one to
 * resume or use. */
static int diverged(const Trainer *t, const char *what, double value, AlbError *err) {
    const CheckpointHistory *h = &t->store.history;
    return alb_fail(err, "training diverged at step %ld: %s is %g (learning_rate too high, or features too large?); "
                    "stopped without logging or saving it; last good checkpoint: %s", t->step, what, value,
                    h->n ? h->items[h->n - 1].path : "none saved");
}

static int check_finite(const Trainer *t, const char *what, const float *x, long n, AlbError *err) {
    for (long i = 0; i < n; i++)
        if (!isfinite(x[i])) return diverged(t, what, x[i], err);
    return 0;
}

static int log_validation(Trainer *t, AlbError *err) {
    validate(t);
    if (!isfinite(t->val_loss)) return diverged(t, "the validation loss", t->val_loss, err);
    log_msg(t->in->log, LOG_INFO, "Step %ld | val/loss: %.4f", t->step, t->val_loss);
    log_msg(t->in->log, LOG_INFO, "Step %ld | val/accuracy: %.4f", t->step, t->val_accuracy);
    return metrics_log_val(&t->metrics, t->step, t->val_loss, t->val_accuracy, err);
}

/* ------------------------------------------------------------------ checkpoints */

static char *metrics_json(const Trainer *t) {
    json_t *o = json_object();
    if (t->have_train) json_object_set_new(o, "train/loss", json_real(t->train_loss));
    if (t->have_val) {
        json_object_set_new(o, "val/loss", json_real(t->val_loss));
        json_object_set_new(o, "val/accuracy", json_real(t->val_accuracy));
    }
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
    json_decref(o);
    return s;
}

/* The run's values that decide which rows each step reads and when train/loss and
 * validation lines fall: a resume must find the same ones in the checkpoint, or its
 * epoch_position would index a different perm[] and its train/loss window would
 * not fit steps_freq. */
typedef struct {
    const char *key;
    long long value;
} ScheduleKey;
#define N_SCHEDULE_KEYS 9

/* train_rows: the train split's size (-1 when not known yet: not compared). */
static void schedule_keys(const TrainConfig *c, long long train_rows, ScheduleKey k[N_SCHEDULE_KEYS]) {
    ScheduleKey all[N_SCHEDULE_KEYS] = {
        {"train_rows", train_rows},             {"shuffle", c->shuffle},
        {"seed", c->seed},                      {"batch_size", c->batch_size},
        {"gradient_accumulation_steps", c->gradient_accumulation_steps},
        {"max_steps_per_epoch", c->max_steps_per_epoch},
        {"num_epochs", c->num_epochs},          {"steps_freq", c->steps_freq},
        {"val_steps_freq", c->val_steps_freq},
    };
    memcpy(k, all, sizeof all);
}

/* data_order: the schedule keys and the train/loss window (the step losses not yet logged). */
static char *data_order_json(const Trainer *t) {
    json_t *o = json_object();
    ScheduleKey k[N_SCHEDULE_KEYS];
    schedule_keys(t->cfg, t->in->train.n, k);
    for (int i = 0; i < N_SCHEDULE_KEYS; i++) json_object_set_new(o, k[i].key, json_integer(k[i].value));
    json_t *w = json_array();
    for (int i = 0; i < t->n_window; i++) json_array_append_new(w, json_real(t->window[i]));
    json_object_set_new(o, "train_loss_window", w);
    char *s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(17));
    json_decref(o);
    return s;
}

static int save_checkpoint(Trainer *t, int final, TrainSummary *sum, AlbError *err) {
    if (check_finite(t, "a head weight", t->head.params, t->head.n_params, err) ||
        (t->cfg->save_optim && (check_finite(t, "an AdamW moment", t->opt.exp_avg, t->opt.n, err) ||
                                check_finite(t, "an AdamW moment", t->opt.exp_avg_sq, t->opt.n, err))))
        return -1;
    char rng[32];
    snprintf(rng, sizeof rng, "%016" PRIx64, trainer_epoch_seed((uint64_t)t->cfg->seed, t->epoch));
    CheckpointMeta m = {
        .step = t->step, .epoch = t->epoch, .epoch_position = t->position, .final = final,
        .dtype = (char *)head_dtype_name(&t->head),
        .metrics_json = metrics_json(t), .label_names_json = t->labels_json, .config_json = t->config_json,
        .encoder_id = (char *)t->in->encoder_id, .encoder_hash = (char *)t->in->encoder_hash,
        .engine = (char *)t->in->encoder_engine,
        .random_encoder = t->in->random_encoder,
        .rng_state = rng, .data_order = data_order_json(t),
    };
    int rc = ckpt_store_save(&t->store, &t->head, t->cfg->save_optim ? &t->opt : NULL, &m, sum->last_checkpoint,
                             sizeof sum->last_checkpoint, err);
    if (!rc) log_msg(t->in->log, LOG_INFO, "checkpoint saved: %s", sum->last_checkpoint);
    free(m.metrics_json);
    free(m.data_order);
    return rc;
}

/* ------------------------------------------------------------------ resume */

/* Compares a checkpoint's data_order with this run's schedule keys.
 * TRAINER_CONFIG_MISMATCH: a key differs; -1: the metadata is unusable. */
static int check_schedule(const json_t *o, const TrainConfig *c, long long train_rows, const char *path,
                          AlbError *err) {
    ScheduleKey k[N_SCHEDULE_KEYS];
    schedule_keys(c, train_rows, k);
    for (int i = 0; i < N_SCHEDULE_KEYS; i++) {
        json_t *v = json_object_get(o, k[i].key);
        if (!json_is_integer(v) && !json_is_boolean(v))  /* older checkpoints stored shuffle as a boolean */
            return alb_fail(err, "%s: checkpoint metadata data_order has no %s (written by an older albertc): "
                            "cannot check that this run continues its data order; start a new run instead", path,
                            k[i].key);
        long long saved = json_is_boolean(v) ? json_boolean_value(v) : json_integer_value(v);
        if (k[i].value >= 0 && saved != k[i].value) {
            alb_fail(err, "%s: cannot resume: the checkpoint was saved with %s %lld, this run has %lld (another "
                     "data order or schedule); set it back, or start a new run", path, k[i].key, saved, k[i].value);
            return TRAINER_CONFIG_MISMATCH;
        }
    }
    return 0;
}

/* Checks data_order against this run and restores the train/loss window. */
static int restore_data_order(Trainer *t, const char *data_order, const char *path, AlbError *err) {
    json_t *o = data_order ? json_loads(data_order, 0, NULL) : NULL;
    int rc = check_schedule(o, t->cfg, t->in->train.n, path, err);
    json_t *w = json_object_get(o, "train_loss_window");
    if (!rc && (!json_is_array(w) || json_array_size(w) >= (size_t)t->cfg->steps_freq))
        rc = alb_fail(err, "%s: checkpoint metadata data_order has no valid train_loss_window", path);
    for (size_t i = 0; !rc && i < json_array_size(w); i++) {
        json_t *x = json_array_get(w, i);
        if (!json_is_number(x) || !isfinite(json_number_value(x)))
            rc = alb_fail(err, "%s: checkpoint metadata data_order: train_loss_window[%zu] is not a finite number", path, i);
        else
            t->window[t->n_window++] = json_number_value(x);
    }
    json_decref(o);
    return rc;
}

/* step, epoch and epoch_position must name a batch boundary of this schedule: they index perm[]. */
static int check_position(const Trainer *t, const CheckpointMeta *m, const char *path, AlbError *err) {
    if (m->epoch < 1 || m->epoch > t->cfg->num_epochs || m->epoch_position > t->batches_per_epoch ||
        m->epoch_position % t->accum ||
        m->step != (m->epoch - 1) * t->steps_per_epoch + m->epoch_position / t->accum)
        return alb_fail(err, "%s: checkpoint metadata step %ld, epoch %ld, epoch_position %ld do not fit the "
                        "schedule (%ld batches per epoch, %d per step, %d epochs)", path, m->step, m->epoch,
                        m->epoch_position, t->batches_per_epoch, t->accum, t->cfg->num_epochs);
    return 0;
}

static void restore_metric(const char *metrics, const char *key, int *have, double *value) {
    if (checkpoint_metric_value(metrics, key, value) == 0) *have = 1;
}

static int resume(Trainer *t, AlbError *err) {
    const TrainConfig *c = t->cfg;
    const TrainerInputs *in = t->in;
    char path[4096];
    if (ckpt_store_resolve(&t->store, c->resume_option, c->checkpoint_path, c->load_from_storage, path, sizeof path,
                           err))
        return -1;
    SafeTensors st;
    if (st_open(&st, path, err)) return -1;
    int has_optim = st_meta(&st, "optimizer_step") != NULL;
    st_close(&st);
    CheckpointMeta m;
    if (checkpoint_load(path, &t->head, has_optim ? &t->opt : NULL, &m, err)) return -1;
    const char *engine = in->encoder_engine ? in->encoder_engine : "";
    int rc = m.engine[0] && engine[0] && strcmp(m.engine, engine)
                 ? alb_fail(err, "%s: its head learnt from %s features, this run computes %s features: they "
                                 "differ in their last bits, refusing to mix them (use the checkpoint's dtype, "
                                 "or start a new run)", path, m.engine, engine)
                 : 0;
    if (!rc) rc = restore_data_order(t, m.data_order, path, err);
    if (!rc) rc = check_position(t, &m, path, err);
    if (!rc) {
        t->step = m.step;
        t->epoch = m.epoch;
        t->position = m.epoch_position;
        if (t->position >= t->batches_per_epoch) {  /* saved at the end of its epoch */
            t->epoch++;
            t->position = 0;
        }
        restore_metric(m.metrics_json, "train/loss", &t->have_train, &t->train_loss);
        restore_metric(m.metrics_json, "val/loss", &t->have_val, &t->val_loss);
        restore_metric(m.metrics_json, "val/accuracy", &t->have_val, &t->val_accuracy);
        /* the last validation: the final save's (after the last step), else the last scheduled one */
        t->last_val_step = m.final ? t->step : t->step - t->step % c->val_steps_freq;
        log_msg(in->log, LOG_INFO, "resumed from %s: step %ld, epoch %ld, %ld batches into it", path, t->step,
                t->epoch, t->position);
        if (!has_optim)
            log_msg(in->log, LOG_WARNING,
                    "%s has no optimizer state (saved without save_optim): AdamW restarts with zero moments and "
                    "step 0, so the run will not match an uninterrupted one",
                    path);
        if (in->encoder_hash && in->encoder_hash[0] && m.encoder_hash && strcmp(m.encoder_hash, in->encoder_hash))
            log_msg(in->log, LOG_WARNING, "%s was trained on encoder %s (%s); this run uses %s (%s)", path,
                    m.encoder_id ? m.encoder_id : "?", m.encoder_hash, in->encoder_id, in->encoder_hash);
        if (m.dtype && strcmp(m.dtype, head_dtype_name(&t->head)))
            log_msg(in->log, LOG_WARNING, "%s was saved in %s; this run trains in %s", path, m.dtype,
                    head_dtype_name(&t->head));
    }
    checkpoint_meta_free(&m);
    return rc;
}

/* ------------------------------------------------------------------ setup */

static CheckpointPolicy checkpoint_policy(const TrainConfig *c) {
    return (CheckpointPolicy){c->keep_last_n, c->keep_best_n, c->checkpoint_metric,
                              !strcmp(c->checkpoint_metric_mode, "max")};
}

static int setup(Trainer *t, const TrainerInputs *in, AlbError *err) {
    const TrainConfig *c = in->cfg;
    t->in = in;
    t->cfg = c;
    t->batch = c->batch_size;
    t->accum = c->gradient_accumulation_steps;
    long batches = in->train.n / t->batch;
    if (c->max_steps_per_epoch > 0 && batches > c->max_steps_per_epoch) batches = c->max_steps_per_epoch;
    t->steps_per_epoch = batches / t->accum;
    if (t->steps_per_epoch < 1)
        return alb_fail(err, "the train split has %d rows: not enough for one step of batch_size %d x "
                        "gradient_accumulation_steps %d", in->train.n, t->batch, t->accum);
    if (in->eval.n < 1) return alb_fail(err, "the eval split is empty");
    t->batches_per_epoch = t->steps_per_epoch * t->accum;
    t->total_steps = t->steps_per_epoch * c->num_epochs;
    int bf16 = alb_head_dtype(c->dtype) == ALB_BF16;
    if (head_create(&t->head, in->hidden, c->mlp_hidden_size, in->num_labels, bf16, t->batch, err)) return -1;
    if (c->init_head[0]) {
        if (head_load(&t->head, c->init_head, err)) return -1;
        log_msg(in->log, LOG_INFO, "head %d -> %d -> %d initialised from %s", in->hidden, c->mlp_hidden_size,
                in->num_labels, c->init_head);
    } else {
        head_init_params(&t->head, (uint64_t)c->seed);
        log_msg(in->log, LOG_INFO, "head %d -> %d -> %d initialised as torch's nn.Linear (seed %lld)", in->hidden,
                c->mlp_hidden_size, in->num_labels, (long long)c->seed);
    }
    adamw_create(&t->opt, HEAD_N_TENSORS, t->head.numel, c->learning_rate, 0.9, 0.999, 1e-8, c->weight_decay, bf16);
    t->n_val_heads = omp_get_max_threads();
    t->val_heads = alb_xcalloc((size_t)t->n_val_heads, sizeof(Head));
    for (int i = 0; i < t->n_val_heads; i++)
        if (head_create(&t->val_heads[i], in->hidden, c->mlp_hidden_size, in->num_labels, bf16, t->batch, err))
            return -1;
    t->val_pred = alb_xmalloc(sizeof(int) * (size_t)t->n_val_heads * (size_t)t->batch);
    int n_val_batches = (in->eval.n + t->batch - 1) / t->batch;
    t->val_batch_loss = alb_xcalloc((size_t)n_val_batches, sizeof(double));
    t->val_batch_correct = alb_xcalloc((size_t)n_val_batches, sizeof(int));
    t->window = alb_xcalloc((size_t)c->steps_freq, sizeof(double));
    t->perm = alb_xmalloc(sizeof(int) * (size_t)in->train.n);
    t->labels = alb_xmalloc(sizeof(int) * (size_t)t->batch);
    t->xb = alb_xmalloc(sizeof(float) * (size_t)t->batch * in->hidden);
    json_t *cj = train_config_to_json(c);
    t->config_json = json_dumps(cj, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(cj);
    json_t *names = json_array();
    for (int i = 0; i < in->num_labels; i++)
        json_array_append_new(names, in->label_names && in->label_names[i] ? json_string(in->label_names[i])
                                                                           : json_null());
    t->labels_json = json_dumps(names, JSON_COMPACT);
    json_decref(names);
    t->epoch = 1;
    t->last_val_step = -1;

    CheckpointPolicy policy = checkpoint_policy(c);
    if (ckpt_store_open(&t->store, c->project_dir, &policy, c->remote_path, c->sync_to_storage, err)) return -1;
    /* What runs killed mid-write left here. Only dead processes' files go: a live one's could be a
     * write in progress of another run sharing the directory, which deleting would turn into its
     * failure rather than ours. */
    alb_remove_stale_tmp(c->project_dir);
    alb_remove_stale_tmp(t->store.dir);
    if (c->resume_from_checkpoint) {
        int rc = resume(t, err);
        if (rc) return rc;
    } else {
        char *metric_files[METRICS_N_FILES], suffix[64];
        int earlier = metrics_log_files(c->project_dir, metric_files);
        int rc = ckpt_store_start_new_run(&t->store, metric_files, earlier ? METRICS_N_FILES : 0, suffix,
                                          sizeof suffix, err);
        for (int i = 0; i < METRICS_N_FILES; i++) free(metric_files[i]);
        if (rc) return -1;
        if (suffix[0])
            log_msg(in->log, LOG_WARNING,
                    "%s held an earlier run: this run starts a new history; the earlier run's history and metric "
                    "files are kept there with the suffix .%s (checkpoint_history.%s.json, metrics.%s.jsonl, "
                    "train_loss.%s.csv, ...), its checkpoint files as they are. To continue that run instead, set "
                    "resume_from_checkpoint: true",
                    t->store.dir, suffix, suffix, suffix, suffix);
    }
    if (metrics_log_open(&t->metrics, c->project_dir, c->resume_from_checkpoint ? t->step : -1, err)) return -1;
    t->last_log_step = t->step;
    t->last_log_time = monotonic_s();
    /* The configuration as TensorBoard's text (markdown: a code block), at the step this run starts from. */
    json_t *config = train_config_to_json(c);
    char *pretty = json_dumps(config, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(config);
    size_t n = strlen(pretty) + 16;
    char *md = alb_xmalloc(n);
    snprintf(md, n, "```\n%s\n```", pretty);
    int rc = metrics_log_tb_text(&t->metrics, t->step, "config", md, err);
    free(md);
    free(pretty);
    return rc;
}

/* ------------------------------------------------------------------ preflight */

/* dir exists (made when missing) and files can be created in it; key names the setting in errors. */
static int writable_dir(const char *dir, const char *key, AlbError *err) {
    AlbError why;
    if (alb_mkdirs(dir, &why)) return alb_fail(err, "%s: %s", key, why.msg);
    if (access(dir, W_OK | X_OK)) return alb_fail(err, "%s: %s is not writable: %s", key, dir, strerror(errno));
    return 0;
}

/* init_head holds a head of the configured sizes; its input width is checked
 * against the features when the trainer loads it. */
static int check_init_head(const TrainConfig *c, AlbError *err) {
    Head h;
    if (head_create_from_file(&h, c->init_head, 0, 1, err)) return -1;
    int rc = 0;
    if (h.mlp != c->mlp_hidden_size || h.classes != c->num_labels)
        rc = alb_fail(err, "init_head %s holds a head of %d hidden units and %d labels, the config asks for "
                      "mlp_hidden_size %d and num_labels %d", c->init_head, h.mlp, h.classes, c->mlp_hidden_size,
                      c->num_labels);
    head_free(&h);
    return rc;
}

/* The checkpoint to resume continues this configuration's schedule (the
 * train split's size is checked once it is loaded, and unusable metadata is
 * reported, at resume). */
static int preflight_schedule(const TrainConfig *c, const char *path, AlbError *err) {
    CheckpointMeta m;
    AlbError ignored;
    if (checkpoint_read_meta(path, &m, &ignored)) return 0;
    json_t *o = m.data_order ? json_loads(m.data_order, 0, NULL) : NULL;
    int rc = check_schedule(o, c, -1, path, err) == TRAINER_CONFIG_MISMATCH ? -1 : 0;
    json_decref(o);
    checkpoint_meta_free(&m);
    return rc;
}

int trainer_preflight(const TrainConfig *c, AlbError *err) {
    if (writable_dir(c->project_dir, "project_dir", err)) return -1;
    if (!c->train_features[0] && writable_dir(c->cache_dir, "cache_dir", err)) return -1;
    CheckpointStore store;
    CheckpointPolicy policy = checkpoint_policy(c);
    if (ckpt_store_open(&store, c->project_dir, &policy, c->remote_path, c->sync_to_storage, err)) return -1;
    int rc = writable_dir(store.dir, "project_dir", err);
    if (!rc && store.sync_to_remote) rc = writable_dir(store.remote_dir, "remote_path", err);
    char path[4096];
    if (!rc && c->resume_from_checkpoint)
        rc = ckpt_store_resolve(&store, c->resume_option, c->checkpoint_path, c->load_from_storage, path, sizeof path,
                                err);
    ckpt_store_close(&store);
    if (!rc && c->resume_from_checkpoint) rc = preflight_schedule(c, path, err);
    if (!rc && c->init_head[0]) rc = check_init_head(c, err);
    return rc;
}

/* ------------------------------------------------------------------ the loop */

/* One optimizer step over k micro-batches starting at batch index `first` of the epoch. */
static double train_step(Trainer *t, long first) {
    const FeatureSplit *tr = &t->in->train;
    int B = t->batch, H = t->in->hidden;
    double loss = 0.0;
    head_zero_grad(&t->head);
    for (int j = 0; j < t->accum; j++) {
        const int *rows = t->perm + (first + j) * B;
        for (int r = 0; r < B; r++) {  /* xb [B, H] */
            memcpy(t->xb + (size_t)r * H, tr->x + (size_t)rows[r] * H, sizeof(float) * (size_t)H);
            t->labels[r] = tr->y[rows[r]];
        }
        head_forward(&t->head, t->xb, B);
        loss += head_loss(&t->head, t->labels);
        head_backward(&t->head, t->labels, 1.0f / (float)t->accum);
    }
    adamw_step(&t->opt, t->head.params, t->head.grads);
    return loss / t->accum;
}

/* TensorBoard's scalars beside train/loss: the (constant) learning rate, the
 * epoch as a fraction, and examples/s since the last train/loss line (wall
 * time, validations included: what the run costs, not the head alone). */
static int log_tb_extras(Trainer *t, AlbError *err) {
    double now = monotonic_s();
    double examples = (double)(t->step - t->last_log_step) * t->batch * t->accum;
    double values[3] = {t->cfg->learning_rate, (double)(t->epoch - 1) + (double)t->position / t->batches_per_epoch,
                        now > t->last_log_time ? examples / (now - t->last_log_time) : 0.0};
    t->last_log_step = t->step;
    t->last_log_time = now;
    return metrics_log_tb_scalars(&t->metrics, t->step, 3,
                                  (const char *const[]){"train/learning_rate", "train/epoch", "train/examples_per_s"},
                                  values, err);
}

static int after_step(Trainer *t, double loss, AlbError *err) {
    const TrainConfig *c = t->cfg;
    if (!isfinite(loss)) return diverged(t, "the train loss", loss, err);
    t->window[t->n_window++] = loss;
    if (t->step % c->steps_freq == 0) {
        double sum = 0.0;
        for (int i = 0; i < t->n_window; i++) sum += t->window[i];
        t->train_loss = sum / t->n_window;
        t->have_train = 1;
        t->n_window = 0;
        log_msg(t->in->log, LOG_INFO, "Step %ld | train/loss: %.4f", t->step, t->train_loss);
        if (metrics_log_train(&t->metrics, t->step, t->train_loss, err) || log_tb_extras(t, err)) return -1;
    }
    if (t->step % c->val_steps_freq == 0 && log_validation(t, err)) return -1;
    return 0;
}

/* The final save (after the loop) records the last step: a step or epoch save
 * there too would be a second file of the same weights, taking a keep_last_n slot. */
static int last_step(const Trainer *t) { return t->step == t->total_steps; }

int trainer_run(const TrainerInputs *in, TrainSummary *sum, AlbError *err) {
    memset(sum, 0, sizeof *sum);
    Trainer t = {0};
    double start = monotonic_s();
    int rc = setup(&t, in, err);
    const TrainConfig *c = in->cfg;
    sum->start_step = t.step;
    sum->total_steps = t.total_steps;
    if (!rc) {
        log_msg(in->log, LOG_INFO,
                "training: %d train rows, %d eval rows, %ld steps per epoch x %d epochs = %ld steps (batch %d, "
                "accumulation %d, %s, %d threads)",
                in->train.n, in->eval.n, t.steps_per_epoch, c->num_epochs, t.total_steps, t.batch, t.accum,
                head_dtype_name(&t.head), t.n_val_heads);
        if (t.step == 0) rc = log_validation(&t, err);
    }
    int stopped = 0;
    Progress bar;
    progress_begin(&bar, in->progress, "train", (double)(t.total_steps - t.step), "steps");
    for (; !rc && !stopped && t.epoch <= c->num_epochs; t.epoch++, t.position = 0) {
        if (c->shuffle)
            trainer_permutation(t.perm, in->train.n, trainer_epoch_seed((uint64_t)c->seed, t.epoch));
        else
            for (int i = 0; i < in->train.n; i++) t.perm[i] = i;
        while (!rc && t.position < t.batches_per_epoch) {
            double loss = train_step(&t, t.position);
            t.step++;
            t.position += t.accum;
            rc = after_step(&t, loss, err);
            log_progress_show(in->log, &bar, (double)(t.step - sum->start_step), 0);
            if (in->step_delay_ms > 0)
                nanosleep(&(struct timespec){in->step_delay_ms / 1000, in->step_delay_ms % 1000 * 1000000L}, NULL);
            if (!rc && !strcmp(c->save_strategy, "step") && t.step % c->steps_freq == 0 && !last_step(&t))
                rc = save_checkpoint(&t, 0, sum, err);
            if (in->kill_at_step > 0 && t.step == in->kill_at_step) raise(in->kill_signal ? in->kill_signal : SIGKILL);
            if (!rc && in->stop && *in->stop) {
                log_msg(in->log, LOG_WARNING, "interrupted: saving a checkpoint at step %ld", t.step);
                rc = save_checkpoint(&t, 0, sum, err);
                stopped = 1;
                break;
            }
        }
        if (!rc && !stopped && !strcmp(c->save_strategy, "epoch") && t.epoch % c->epoch_freq == 0 && !last_step(&t))
            rc = save_checkpoint(&t, 0, sum, err);
        if (stopped) break;
    }
    if (!rc && !stopped) {
        t.epoch = c->num_epochs;
        t.position = t.batches_per_epoch;
        if (t.last_val_step != t.step) rc = log_validation(&t, err);
        if (!rc) rc = save_checkpoint(&t, 1, sum, err);
    }
    log_progress_show(in->log, &bar, (double)(t.step - sum->start_step), 1);
    sum->steps = t.step;
    sum->have_val = t.have_val;
    sum->val_loss = t.val_loss;
    sum->val_accuracy = t.val_accuracy;
    sum->seconds = monotonic_s() - start;
    if (t.store.dir) {
        snprintf(sum->checkpoint_dir, sizeof sum->checkpoint_dir, "%s", t.store.dir);
        if (t.store.history.n_best) {
            const CheckpointEntry *b = &t.store.history.best[0];
            snprintf(sum->best_checkpoint, sizeof sum->best_checkpoint, "%s", b->path);
            sum->have_best = checkpoint_metric_value(b->metrics_json, c->checkpoint_metric, &sum->best_value) == 0;
        }
    }
    snprintf(sum->metrics_path, sizeof sum->metrics_path, "%s/metrics.jsonl", c->project_dir);
    trainer_free(&t);
    return rc == TRAINER_CONFIG_MISMATCH ? rc : rc ? -1 : stopped;
}
