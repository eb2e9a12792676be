/* albertc train: the Banking77 experiment (or any text classification set) end
 * to end: config, features (feature cache or precomputed files), training,
 * checkpoints, summary. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <omp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "data/dataset.h"
#include "io/safetensors.h"
#include "model/albert.h"
#include "model/config.h"
#include "model/hub.h"
#include "model/init.h"
#include "tokenizer/tokenizer.h"
#include "pipeline/encode.h"
#include "pipeline/classifier.h"
#include "pipeline/feature_cache.h"
#include "report/evaluate.h"
#include "report/run_report.h"
#include "train/export.h"
#include "train/metrics_log.h"
#include "train/tb_events.h"
#include "train/train_config.h"
#include "train/trainer.h"
#include "util/clock.h"
#include "util/dist.h"
#include "util/fileio.h"

static const char *CMD = "train";
static const char DEFAULT_MODEL[] = "albert/albert-base-v2";
static const char SHARED_SPIECE[] = "../shared/models/albert-base-v2/spiece.model";
static const char RANDOM_WARNING[] =
    "random weights: the encoder is a randomly initialised albert-base-v2 (no pretrained weights found); "
    "accuracy means little";
#define CACHE_SAVE_SECONDS 60.0

static void help(void) {
    printf(
        "Usage: albertc train --config FILE [--test-config FILE] [--set key=value ...] [--json]\n"
        "       albertc train --config FILE [...] --print-config [--json]\n"
        "\n"
        "Trains a classification head (Linear -> GELU -> Linear) on the [CLS] features of a\n"
        "frozen ALBERT encoder, as the reference experiment does (configs/banking77.yaml).\n"
        "Every configuration key, its default and meaning: docs/config.md.\n"
        "\n"
        "  --config FILE       the YAML configuration (the reference's keys and ours)\n"
        "  --test-config FILE  an overlay applied on top (its keys, and its test_config: mapping,\n"
        "                      e.g. {max_steps_per_epoch: 15}), as the reference's test mode\n"
        "  --set key=value     override one key (repeatable; YAML scalar rules), after the files\n"
        "  --json              print the final summary as one JSON object on stdout\n"
        "  --print-config      print the effective configuration (after the files and --set) as\n"
        "                      YAML, or JSON with --json, and exit 0 without doing anything\n"
        "  -h, --help          this help\n"
        "\n"
        "Nothing starts until the whole configuration is valid and what it names is usable\n"
        "(project_dir, checkpoints/ and cache_dir writable, the checkpoint to resume from, init_head).\n"
        "Then:\n"
        "  1. Features. With train_features and eval_features (safetensors: features [N,H] F32,\n"
        "     labels [N] I64) those are used and no model or dataset is read. Otherwise the\n"
        "     dataset is loaded (data_dir, or ../shared/data/banking77 for banking77), the model\n"
        "     resolved (a directory or a Hugging Face cache id); when the default\n"
        "     albert/albert-base-v2 is nowhere to be found, a randomly initialised base-size model\n"
        "     is made in <cache_dir>/random-albert-base-v2-seed<seed>/ (with a loud warning: its\n"
        "     accuracy means little). The encoder is frozen, so each distinct text is encoded\n"
        "     once and its [CLS] feature kept in the feature cache (cache_dir, one file per\n"
        "     model+tokenizer+dtype+max_length): later runs compute nothing.\n"
        "  2. Training: AdamW, validation at step 0 and every val_steps_freq steps, metric lines\n"
        "     'Step N | train/loss: x' on stderr, and <project_dir>/metrics.jsonl, train_loss.csv,\n"
        "     val_loss.csv, val_accuracy.csv. A train or validation loss that is not finite (the\n"
        "     run diverged) stops training with exit 1 before it is logged or saved: metrics.jsonl\n"
        "     stays JSON and the last checkpoint stays the last good one.\n"
        "  3. Checkpoints in <project_dir>/checkpoints/ (checkpoint_history.json; save_strategy,\n"
        "     keep_last_n, keep_best_n, save_optim; a final one always). resume_from_checkpoint\n"
        "     continues at the saved step and position in the epoch; with save_optim the result\n"
        "     is bit-identical to an uninterrupted run.\n"
        "\n"
        "Under mpirun -n N (or srun), the texts missing from the feature cache are encoded by\n"
        "the N ranks (whole encoder batches, balanced by tokens; set threads, or OMP_NUM_THREADS,\n"
        "to the cores of one rank) and gathered by rank 0, which alone trains and writes: the\n"
        "same files, bit for bit, as one process. Every rank reads the dataset and the model\n"
        "(a shared file system). A rank that dies ends the job; what was gathered and saved\n"
        "stays in the cache, and a rerun with any N encodes only the rest.\n"
        "\n"
        "SIGINT/SIGTERM: the current step is finished, a checkpoint saved, exit 130. During the\n"
        "feature pass: the current batch is finished and the features so far saved in the cache.\n"
        "A second signal exits 130 at once (the checkpoint or cache save under way is dropped;\n"
        "the files saved before it stay intact).\n"
        "Exit codes: 0 done; 1 failure while running (bad data, I/O, missing files);\n"
        "2 bad command line or configuration (nothing was done); 130 interrupted.\n"
        "\n"
        "Test hooks (environment): ALBERTC_TEST_KILL_AT_STEP=N raises SIGKILL (or signal number\n"
        "ALBERTC_TEST_KILL_SIGNAL) right after step N's work; ALBERTC_TEST_STEP_DELAY_MS=MS sleeps\n"
        "after each step (so a run outlasts a test's kill); ALBERTC_TEST_KILL_AFTER_BATCHES=N\n"
        "raises SIGKILL after N encoder batches of the feature pass (under mpirun: in rank\n"
        "ALBERTC_TEST_KILL_RANK only, when set); ALBERTC_CACHE_SAVE_SECONDS=S saves the feature\n"
        "cache every S seconds of encoding (default 60).\n");
}

/* ------------------------------------------------------------------ signals */

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t in_feature_pass;

/* The first signal asks the feature pass (it saves what it computed) or the
 * training loop (it finishes the step and saves a checkpoint) to stop. A
 * second one exits at once, so that a save that hangs never needs SIGKILL:
 * every file is written atomically, so the feature cache keeps what it last
 * saved and the earlier checkpoints stay as they were. */
static void on_signal(int sig) {
    (void)sig;
    if (stop_requested) {
        static const char features[] = "\nalbertc train: interrupted during the feature pass\n";
        static const char training[] = "\nalbertc train: interrupted again: exit without the checkpoint being saved\n";
        ssize_t ignored = in_feature_pass ? write(STDERR_FILENO, features, sizeof features - 1)
                                          : write(STDERR_FILENO, training, sizeof training - 1);
        (void)ignored;
        _exit(EXIT_INTERRUPTED);
    }
    stop_requested = 1;
}

static int catch_signals(AlbError *err) {
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) || sigaction(SIGTERM, &sa, NULL))
        return alb_fail(err, "cannot handle SIGINT/SIGTERM: %s", strerror(errno));
    return 0;
}

static long env_long(const char *name, long dflt) {
    const char *s = getenv(name);
    return s && *s ? strtol(s, NULL, 10) : dflt;
}

/* ------------------------------------------------------------------ features from files */

typedef struct {
    int n, H;
    float *x;
    int *y;
} Split;

static void split_free(Split *s) {
    free(s->x);
    free(s->y);
    memset(s, 0, sizeof *s);
}

static int load_feature_file(const char *path, int num_labels, Split *s, AlbError *err) {
    SafeTensors st;
    if (st_open(&st, path, err)) return -1;
    const StTensor *f = st_find(&st, "features"), *l = st_find(&st, "labels");
    int rc = 0;
    if (!f || f->dtype != ST_F32 || f->ndim != 2 || f->shape[0] < 1 || f->shape[1] < 1 || f->shape[0] > (1 << 30) ||
        f->shape[1] > (1 << 16))
        rc = alb_fail(err, "%s: expected a tensor 'features' [N,H] F32", path);
    else if (!l || l->dtype != ST_I64 || l->ndim != 1 || l->shape[0] != f->shape[0])
        rc = alb_fail(err, "%s: expected a tensor 'labels' [%lld] I64", path, (long long)f->shape[0]);
    if (!rc) {
        s->n = (int)f->shape[0];
        s->H = (int)f->shape[1];
        s->x = alb_xmalloc(sizeof(float) * (size_t)s->n * s->H);
        memcpy(s->x, f->data, f->nbytes);
        s->y = alb_xmalloc(sizeof(int) * (size_t)s->n);
        for (int i = 0; i < s->n && !rc; i++) {
            int64_t v;
            memcpy(&v, (const char *)l->data + 8 * (size_t)i, 8);
            if (v < 0 || v >= num_labels)
                rc = alb_fail(err, "%s: labels[%d] = %lld is outside [0, num_labels %d)", path, i, (long long)v,
                              num_labels);
            s->y[i] = (int)v;
        }
        for (long i = 0; i < (long)s->n * s->H && !rc; i++)
            if (!isfinite(s->x[i])) rc = alb_fail(err, "%s: features hold a non-finite value at row %ld", path, i / s->H);
    }
    st_close(&st);
    if (rc) split_free(s);
    return rc;
}

/* ------------------------------------------------------------------ features from text */

/* The `progress` key: auto -> a bar on a terminal, else a log line every 10 s; true -> the bar; false -> none. */
static int progress_mode(const TrainConfig *c) {
    return c->progress < 0 ? progress_mode_auto() : c->progress ? PROGRESS_BAR : PROGRESS_OFF;
}

typedef struct {
    Logger *log;
    Progress bar;
    long kill_after_batches, batches;
} FeatureHooks;

static void cache_log(void *ctx, int is_warning, const char *msg) {
    FeatureHooks *h = ctx;
    log_msg(h->log, is_warning ? LOG_WARNING : LOG_INFO, "%s", msg);
}

static void cache_progress(void *ctx, int done, int total, long tokens, double seconds) {
    FeatureHooks *h = ctx;
    if (h->kill_after_batches > 0 && ++h->batches == h->kill_after_batches) raise(SIGKILL);
    (void)tokens, (void)seconds;
    h->bar.total = total;
    log_progress_show(h->log, &h->bar, done, done == total);
}

/* A randomly initialised albert-base-v2 in <cache_dir>/random-albert-base-v2-seed<seed>/, made once. */
static int random_base_model(const TrainConfig *c, char *dir, size_t dir_size, Logger *lg, AlbError *err) {
    snprintf(dir, dir_size, "%s/random-albert-base-v2-seed%lld", c->cache_dir, (long long)c->seed);
    char probe[4400];
    snprintf(probe, sizeof probe, "%s/model.safetensors", dir);
    if (alb_file_exists(probe)) return 0;
    if (!alb_file_exists(SHARED_SPIECE))
        return alb_fail(err, "model '%s' not found, and no tokenizer (%s) to build a random one with", c->model_name,
                        SHARED_SPIECE);
    log_msg(lg, LOG_WARNING, "creating a randomly initialised albert-base-v2 (seed %lld) in %s", (long long)c->seed,
            dir);
    AlbertConfig ac;
    albert_config_preset(&ac, "base");
    /* written beside dir and renamed into place whole (a run killed midway leaves no half model) */
    return albert_init_model_dir(&ac, (uint64_t)c->seed, dir, SHARED_SPIECE, err);
}

typedef struct {
    int random_encoder;
    char encoder_id[4200];
    char encoder_hash[64];
    char engine[64];          /* albert_engine, "" for features files */
} FeatureInfo;

/* What training runs on: both splits' features and where they came from. */
typedef struct {
    Split train, eval;
    Dataset dtrain, deval;  /* the texts (empty with feature files); their label names */
    FeatureInfo info;
} Features;

static void features_free(Features *f) {
    split_free(&f->train);
    split_free(&f->eval);
    dataset_free(&f->dtrain);
    dataset_free(&f->deval);
}

/* Both splits from train_features / eval_features: no model, no dataset. */
static int features_from_files(const TrainConfig *c, Logger *lg, Features *f, AlbError *err) {
    Split *tr = &f->train, *ev = &f->eval;
    snprintf(f->info.encoder_id, sizeof f->info.encoder_id, "features:%s", c->train_features);
    if (load_feature_file(c->train_features, c->num_labels, tr, err) ||
        load_feature_file(c->eval_features, c->num_labels, ev, err))
        return EXIT_FAILURE_RUN;
    if (tr->H != ev->H)
        return alb_fail(err, "%s has %d features per row, %s has %d", c->train_features, tr->H, c->eval_features,
                        ev->H), EXIT_FAILURE_RUN;
    log_msg(lg, LOG_INFO, "features: %s [%d,%d], %s [%d,%d]", c->train_features, tr->n, tr->H, c->eval_features,
            ev->n, ev->H);
    return EXIT_OK;
}

/* The dataset's two splits, with as many labels as the config says. */
static int load_texts(const TrainConfig *c, Logger *lg, Features *f, AlbError *err) {
    DatasetSplits splits = train_config_splits(c);
    if (dataset_load_splits(&splits, &f->dtrain, &f->deval, err)) return EXIT_FAILURE_RUN;
    if (f->dtrain.num_labels != c->num_labels)
        return alb_fail(err, "num_labels is %d but the dataset has %d labels: set num_labels: %d", c->num_labels,
                        f->dtrain.num_labels, f->dtrain.num_labels), EXIT_USAGE;
    if (f->dtrain.n_skipped || f->deval.n_skipped)
        log_msg(lg, LOG_WARNING, "skipped bad rows: %d in the train split, %d in the eval split", f->dtrain.n_skipped,
                f->deval.n_skipped);
    log_msg(lg, LOG_INFO, "dataset: %d train rows, %d eval rows, %d labels", f->dtrain.n, f->deval.n,
            f->dtrain.num_labels);
    return EXIT_OK;
}

/* The encoder's directory and tokenizer file: model_name as a directory or a
 * hub id; the default id, when nowhere to be found, becomes a random base model. */
static int resolve_encoder(const TrainConfig *c, Logger *lg, char *dir, size_t dir_size, char *spiece,
                           size_t spiece_size, FeatureInfo *info, AlbError *err) {
    AlbError hub_err;
    if (hub_resolve(c->model_name, "models", dir, dir_size, &hub_err)) {
        if (strcmp(c->model_name, DEFAULT_MODEL)) {
            *err = hub_err;
            return EXIT_USAGE;
        }
        log_msg(lg, LOG_WARNING, "%s", hub_err.msg);
        if (random_base_model(c, dir, dir_size, lg, err)) return EXIT_FAILURE_RUN;
        info->random_encoder = 1;
        log_msg(lg, LOG_WARNING, "%s", RANDOM_WARNING);
    }
    snprintf(info->encoder_id, sizeof info->encoder_id, "%s", info->random_encoder ? dir : c->model_name);
    snprintf(spiece, spiece_size, "%s/spiece.model", dir);
    if (alb_file_exists(spiece)) return EXIT_OK;
    if (!alb_file_exists(SHARED_SPIECE))
        return alb_fail(err, "%s: no spiece.model (tokenizer), and no %s", dir, SHARED_SPIECE), EXIT_FAILURE_RUN;
    log_msg(lg, LOG_WARNING, "%s has no spiece.model: using %s", dir, SHARED_SPIECE);
    snprintf(spiece, spiece_size, "%s", SHARED_SPIECE);
    return EXIT_OK;
}

/* The encoder and its tokenizer; max_length must fit the model. */
static int load_encoder(const TrainConfig *c, Logger *lg, const char *dir, const char *spiece, AlbertModel **m,
                        AlbertTokenizer **tok, FeatureInfo *info, AlbError *err) {
    if (albert_load(m, dir, c->dtype, err) || tokenizer_load(tok, spiece, err)) return EXIT_FAILURE_RUN;
    const AlbertConfig *ac = albert_config(*m);
    if (c->max_length > ac->max_position_embeddings)
        return alb_fail(err, "max_length %d exceeds the max_position_embeddings %d of model %s: set max_length <= %d",
                        c->max_length, ac->max_position_embeddings, dir, ac->max_position_embeddings), EXIT_USAGE;
    snprintf(info->encoder_hash, sizeof info->encoder_hash, "%s", albert_weights_hash(*m));
    snprintf(info->engine, sizeof info->engine, "%s", albert_engine(*m));
    log_msg(lg, LOG_INFO, "encoder %s (hidden %d, %d layers, %s, weights %s)", dir, ac->hidden_size,
            ac->num_hidden_layers, info->engine, info->encoder_hash);
    return EXIT_OK;
}

/* Every text of both splits through the feature cache: each distinct text is
 * encoded once, ever. */
static int encode_texts(const TrainConfig *c, Logger *lg, AlbertModel *m, const AlbertTokenizer *tok,
                        const Features *f, FeatureCacheResult *res, AlbError *err) {
    const Dataset *dtr = &f->dtrain, *dev = &f->deval;
    int n = dtr->n + dev->n;
    const char **texts = alb_xmalloc(sizeof(char *) * (size_t)n);
    for (int i = 0; i < dtr->n; i++) texts[i] = dtr->texts[i];
    for (int i = 0; i < dev->n; i++) texts[dtr->n + i] = dev->texts[i];
    /* the test hook kills one rank of a job (ALBERTC_TEST_KILL_RANK; default: any, e.g. a process alone) */
    long kill_rank = env_long("ALBERTC_TEST_KILL_RANK", -1);
    FeatureHooks hooks = {.log = lg, .kill_after_batches = kill_rank < 0 || kill_rank == dist_rank()
                                                                 ? env_long("ALBERTC_TEST_KILL_AFTER_BATCHES", 0) : 0};
    progress_begin(&hooks.bar, progress_mode(c), "features", 0, "texts");
    FeatureCacheOptions o = {c->cache_dir, m, tok, c->max_length, ENCODE_BATCH, ENCODE_TOKENS,
                             (double)env_long("ALBERTC_CACHE_SAVE_SECONDS", (long)CACHE_SAVE_SECONDS),
                             cache_log, cache_progress, &hooks, &stop_requested};
    FeatureCacheStats stats;
    in_feature_pass = 1;
    int rc = feature_cache_get(&o, texts, n, res, &stats, err);
    in_feature_pass = 0;
    free(texts);
    if (rc == 1 && dist_size() > 1) {  /* under mpirun a signal also means: the launcher ends the job */
        log_msg(lg, LOG_WARNING, "rank %d of %d: the feature pass stopped: interrupted, or another rank of the job "
                "ended (mpirun names it); the texts gathered so far are in the feature cache, and the next run, "
                "with any number of ranks, encodes only the rest", dist_rank(), dist_size());
        return EXIT_INTERRUPTED;
    }
    if (rc == 1) {
        log_msg(lg, LOG_WARNING, "interrupted during the feature pass: the texts encoded so far are in the "
                "feature cache, and the next run starts from them");
        return EXIT_INTERRUPTED;
    }
    return rc ? EXIT_FAILURE_RUN : EXIT_OK;
}

/* One split's rows of the cache result, with the dataset's labels. */
static void split_from_cache(const FeatureCacheResult *res, int first, const Dataset *d, Split *s) {
    *s = (Split){d->n, res->H, alb_xmalloc(sizeof(float) * (size_t)d->n * res->H),
                 alb_xmalloc(sizeof(int) * (size_t)d->n)};
    feature_cache_gather(res, first, d->n, s->x);
    memcpy(s->y, d->labels, sizeof(int) * (size_t)d->n);
}

/* Both splits from the dataset's texts: load, resolve and load the encoder, encode. */
static int features_from_text(const TrainConfig *c, Logger *lg, Features *f, AlbError *err) {
    char dir[4200], spiece[4300];
    AlbertModel *m = NULL;
    AlbertTokenizer *tok = NULL;
    FeatureCacheResult res;
    int code = load_texts(c, lg, f, err);
    /* rank 0 resolves first: the random model it may create is the one the other ranks load */
    if (!code && dist_rank() != 0 && dist_barrier(&stop_requested, err)) code = EXIT_FAILURE_RUN;
    if (!code) code = resolve_encoder(c, lg, dir, sizeof dir, spiece, sizeof spiece, &f->info, err);
    if (!code && dist_rank() == 0 && dist_barrier(&stop_requested, err)) code = EXIT_FAILURE_RUN;
    if (!code) code = load_encoder(c, lg, dir, spiece, &m, &tok, &f->info, err);
    if (!code) code = encode_texts(c, lg, m, tok, f, &res, err);
    tokenizer_free(tok);
    albert_free(m);  /* before the splits are laid out: the encoder's memory is not needed any more */
    if (code || dist_rank() != 0) return code;  /* the other ranks only share the feature pass */
    split_from_cache(&res, 0, &f->dtrain, &f->train);
    split_from_cache(&res, f->dtrain.n, &f->deval, &f->eval);
    feature_cache_result_free(&res);
    return EXIT_OK;
}

/* ------------------------------------------------------------------ summary */

static long peak_rss_kb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* The run's summary: what --json prints, and (with more: run_info) run.json. */
static json_t *summary_json(const TrainConfig *c, const TrainSummary *s, const FeatureInfo *fi, double feature_s,
                            double total_s, int interrupted) {
    json_t *o = json_pack("{s:s,s:I,s:I,s:I,s:{s:f,s:f,s:f},s:f,s:s,s:s,s:s,s:b}", "status",
                          interrupted ? "interrupted" : "ok", "steps", (json_int_t)s->steps, "total_steps",
                          (json_int_t)s->total_steps, "resumed_from_step", (json_int_t)s->start_step, "seconds",
                          "features", feature_s, "training", s->seconds, "total", total_s, "peak_rss_mb",
                          peak_rss_kb() / 1024.0, "checkpoint_dir", s->checkpoint_dir, "last_checkpoint",
                          s->last_checkpoint, "metrics", s->metrics_path, "random_encoder", fi->random_encoder);
    if (s->have_val) {
        json_object_set_new(o, "val/loss", json_real(s->val_loss));
        json_object_set_new(o, "val/accuracy", json_real(s->val_accuracy));
    }
    if (s->have_best)
        json_object_set_new(o, "best", json_pack("{s:s,s:f,s:s}", "metric", c->checkpoint_metric, "value",
                                                 s->best_value, "checkpoint", s->best_checkpoint));
    if (fi->random_encoder) json_object_set_new(o, "warning", json_string(RANDOM_WARNING));
    return o;
}

static void print_summary(const TrainConfig *c, Logger *lg, const TrainSummary *s, const FeatureInfo *fi,
                          double feature_s, double total_s, int interrupted, int as_json) {
    if (fi->random_encoder) log_msg(lg, LOG_WARNING, "%s", RANDOM_WARNING);
    log_msg(lg, LOG_INFO, "%s after %ld of %ld steps%s", interrupted ? "interrupted" : "done", s->steps,
            s->total_steps, s->start_step ? " (resumed)" : "");
    if (s->have_val)
        log_msg(lg, LOG_INFO, "final val/accuracy: %.4f, val/loss: %.4f", s->val_accuracy, s->val_loss);
    if (s->have_best)
        log_msg(lg, LOG_INFO, "best %s: %.4f (%s)", c->checkpoint_metric, s->best_value, s->best_checkpoint);
    log_msg(lg, LOG_INFO, "time: %.1f s features, %.1f s training, %.1f s total; peak RSS %.1f MB", feature_s,
            s->seconds, total_s, peak_rss_kb() / 1024.0);
    log_msg(lg, LOG_INFO, "checkpoints: %s (last %s); metrics: %s", s->checkpoint_dir, s->last_checkpoint,
            s->metrics_path);
    if (!as_json) return;
    json_t *o = summary_json(c, s, fi, feature_s, total_s, interrupted);
    char *text = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(17));
    printf("%s\n", text);
    fflush(stdout);
    free(text);
    json_decref(o);
}

/* The first "model name" of /proc/cpuinfo, or "unknown". */
static void cpu_name(char *out, size_t size) {
    snprintf(out, size, "unknown");
    FILE *fp = fopen("/proc/cpuinfo", "r");
    char line[512];
    while (fp && fgets(line, sizeof line, fp)) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) || !colon) continue;
        snprintf(out, size, "%s", colon + 2);
        out[strcspn(out, "\n")] = '\0';
        break;
    }
    if (fp) fclose(fp);
}

/* <project_dir>/run.json (what the report shows beyond the metric files) and
 * <project_dir>/report.html. The training's own outputs are complete by now:
 * a failure here is a warning, not a failed run. */
static void write_run_info(const TrainConfig *c, Logger *lg, const TrainSummary *s, const Features *f,
                           double feature_s, double eval_s, double total_s, int interrupted) {
    json_t *o = summary_json(c, s, &f->info, feature_s, total_s, interrupted);
    json_object_set_new(json_object_get(o, "seconds"), "evaluation", eval_s >= 0 ? json_real(eval_s) : json_null());
    json_object_set_new(o, "config", train_config_to_json(c));
    json_object_set_new(o, "dataset", json_pack("{s:i,s:i,s:i}", "train_rows", f->train.n, "eval_rows", f->eval.n,
                                                "num_labels", c->num_labels));
    json_object_set_new(o, "encoder", json_pack("{s:s,s:s,s:s,s:s}", "id", f->info.encoder_id, "hash",
                                                f->info.encoder_hash, "dtype", alb_dtype_name(c->dtype), "engine",
                                                f->info.engine));
    char cpu[256], host[256] = "";
    cpu_name(cpu, sizeof cpu);
    gethostname(host, sizeof host - 1);
    json_object_set_new(o, "hardware", json_pack("{s:s,s:i,s:i,s:s}", "cpu", cpu, "logical_cpus",
                                                 (int)sysconf(_SC_NPROCESSORS_ONLN), "threads", omp_get_max_threads(),
                                                 "host", host));
    char *path = alb_path_join(c->project_dir, RUN_INFO_NAME);
    AlbError why;
    if (alb_write_json(path, o, JSON_INDENT(2) | JSON_REAL_PRECISION(17), &why) ||
        run_report_write(c->project_dir, NULL, &why))
        log_msg(lg, LOG_WARNING, "run report not written: %s", why.msg);
    else
        log_msg(lg, LOG_INFO, "run report: %s/%s (and the curves as SVG beside it); TensorBoard: tensorboard --logdir %s",
                c->project_dir, REPORT_NAME, c->project_dir);
    free(path);
}

/* ------------------------------------------------------------------ main */

typedef struct {
    const char *config, *test_config;
    const char **sets;  /* [n_sets] --set assignments, in order */
    int n_sets, as_json, print_config;
} TrainArgs;

/* -1: go on; otherwise the exit code (after --help, or a usage error). */
static int parse_args(int argc, char **argv, TrainArgs *a) {
    static const struct option opts[] = {
        {"config", required_argument, 0, 'c'}, {"test-config", required_argument, 0, 't'},
        {"set", required_argument, 0, 's'},    {"json", no_argument, 0, 'j'},
        {"print-config", no_argument, 0, 'p'}, {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, CLI_SHORT_OPTS, opts, NULL)) != -1) {
        switch (opt) {
        case 'c': a->config = optarg; break;
        case 't': a->test_config = optarg; break;
        case 's': a->sets[a->n_sets++] = optarg; break;
        case 'j': a->as_json = 1; break;
        case 'p': a->print_config = 1; break;
        case 'h': help(); return EXIT_OK;
        default: return cli_option_error(CMD, opt, argv);
        }
    }
    if (optind < argc) return cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
    if (!a->config) return cli_usage_error(CMD, "--config is required");
    return -1;
}

/* The whole configuration: files, overlay, --set, validation. */
static int configure(const TrainArgs *a, TrainConfig *c, AlbError *err) {
    if (train_config_build(c, a->config, a->test_config, a->sets, a->n_sets, err)) return -1;
    if (!!c->train_features[0] != !!c->eval_features[0])
        return alb_fail(err, "train_features and eval_features go together: set both or neither");
    return 0;
}

/* --print-config: YAML that reads back as a config, or JSON (not-applicable keys included). */
static void print_config(const TrainConfig *c, int as_json) {
    if (!as_json) {
        train_config_print(c, stdout);
        return;
    }
    json_t *j = train_config_to_json(c);
    json_dumpf(j, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
    putchar('\n');
    json_decref(j);
}

/* Keys that do nothing here, once each in the log. */
static void log_not_applicable(const TrainConfig *c, Logger *lg) {
    int noted_checkpointing = 0;
    for (int i = 0; i < c->n_not_applicable; i++) {
        const TrainConfigNote *n = &c->not_applicable[i];
        char line[1024];  /* key[64] + value[256] + a reason of a few dozen characters */
        train_config_describe_note(n, line, sizeof line);
        log_msg(lg, LOG_INFO, "%s", line);
        noted_checkpointing |= !strcmp(n->key, "gradient_checkpointing");
    }
    if (!noted_checkpointing)
        log_msg(lg, LOG_INFO, "gradient_checkpointing: nothing to do (the encoder is frozen and its features are "
                "cached, so no activations are kept for a backward pass)");
}

/* The eval summary as TensorBoard scalars at the last step, in an event file of
 * its own (the trainer's is closed; TensorBoard reads every file of the
 * directory as one run). */
static int log_eval_tb(const TrainConfig *c, long step, const Evaluation *ev, AlbError *err) {
    char *dir = alb_path_join(c->project_dir, TB_DIR_NAME);
    TbWriter w;
    int rc = tb_open(&w, dir, err);
    free(dir);
    if (rc) return -1;
    rc = tb_scalar(&w, step, "eval/accuracy", class_report_accuracy(&ev->report), err) ||
         tb_scalar(&w, step, "eval/macro_f1", ev->report.macro.f1, err) || tb_flush(&w, err);
    tb_close(&w);
    return rc ? -1 : 0;
}

/* The trained classifier as <project_dir>/model/ (from the final checkpoint)
 * and its evaluation on the eval split as <project_dir>/eval/, on the very
 * features validation used (in memory): its accuracy is the final val/accuracy. */
static int publish(const TrainConfig *c, Logger *lg, const TrainSummary *s, const Features *f, double *eval_s,
                   AlbError *err) {
    *eval_s = -1;  /* no evaluation */
    if (!strncmp(f->info.encoder_id, "features:", 9)) {
        log_msg(lg, LOG_INFO, "no model directory: the features were given as files, without their encoder");
        return 0;
    }
    char *model_dir = alb_path_join(c->project_dir, "model"), *eval_dir = alb_path_join(c->project_dir, "eval");
    ExportSpec spec = {.checkpoint = s->last_checkpoint, .run_dir = c->project_dir};
    Classifier cl;
    Evaluation ev;
    int rc = export_checkpoint(&spec, model_dir, err) || classifier_load(&cl, model_dir, NULL, 1, err);
    if (!rc) {
        double t0 = monotonic_s();
        evaluate_features(&cl, &f->deval, f->eval.x, &ev);
        *eval_s = monotonic_s() - t0;
        rc = evaluation_write_dir(&ev, &cl, &f->deval, eval_dir, err) || log_eval_tb(c, s->steps, &ev, err);
        if (!rc)
            log_msg(lg, LOG_INFO, "model: %s; eval on %d texts: accuracy %.4f, macro F1 %.4f (%s)", model_dir,
                    f->deval.n, class_report_accuracy(&ev.report), ev.report.macro.f1, eval_dir);
        evaluation_free(&ev);
        classifier_free(&cl);
    }
    free(model_dir);
    free(eval_dir);
    return rc;
}

/* Training on the features, then the summary. */
static int train_on(const TrainConfig *c, Logger *lg, const Features *f, double t0, double feature_s, int as_json,
                    AlbError *err) {
    TrainerInputs in = {
        .cfg = c, .hidden = f->train.H,
        .train = {f->train.n, f->train.x, f->train.y}, .eval = {f->eval.n, f->eval.x, f->eval.y},
        .num_labels = c->num_labels, .label_names = f->dtrain.n ? f->dtrain.label_names : NULL,
        .encoder_id = f->info.encoder_id, .encoder_hash = f->info.encoder_hash, .encoder_engine = f->info.engine,
        .random_encoder = f->info.random_encoder,
        .log = lg, .progress = progress_mode(c), .stop = &stop_requested,
        .kill_at_step = env_long("ALBERTC_TEST_KILL_AT_STEP", 0),
        .kill_signal = (int)env_long("ALBERTC_TEST_KILL_SIGNAL", SIGKILL),
        .step_delay_ms = env_long("ALBERTC_TEST_STEP_DELAY_MS", 0),
    };
    TrainSummary sum;
    int r = trainer_run(&in, &sum, err);
    if (r < 0) return r == TRAINER_CONFIG_MISMATCH ? EXIT_USAGE : EXIT_FAILURE_RUN;
    double eval_s = -1;
    if (r == 0 && publish(c, lg, &sum, f, &eval_s, err)) return EXIT_FAILURE_RUN;
    write_run_info(c, lg, &sum, f, feature_s, eval_s, monotonic_s() - t0, r == 1);
    print_summary(c, lg, &sum, &f->info, feature_s, monotonic_s() - t0, r == 1, as_json);
    return r == 1 ? EXIT_INTERRUPTED : EXIT_OK;
}

/* Everything after a valid configuration: checks, features, training. */
static int run(const TrainConfig *c, int as_json, AlbError *err) {
    /* under mpirun only rank 0 trains and writes; the others share the feature pass (util/dist.h) */
    int lead = dist_rank() == 0;
    if (lead && trainer_preflight(c, err)) return EXIT_USAGE;
    if (catch_signals(err)) return EXIT_FAILURE_RUN;
    trainer_use_threads(c->threads);
    Logger lg = {stderr, log_level_parse(c->log_level), 0};
    double t0 = monotonic_s();
    if (lead) log_not_applicable(c, &lg);
    Features f = {0};
    int code = c->train_features[0] ? (lead ? features_from_files(c, &lg, &f, err) : EXIT_OK)
                                     : features_from_text(c, &lg, &f, err);
    if (code == EXIT_OK && lead) code = train_on(c, &lg, &f, t0, monotonic_s() - t0, as_json, err);
    features_free(&f);
    return code;
}

int cmd_train(int argc, char **argv) {
    TrainArgs a = {.sets = alb_xcalloc((size_t)argc + 1, sizeof(char *))};
    int code = parse_args(argc, argv, &a);
    if (code >= 0) {
        free(a.sets);
        return code;
    }
    AlbError err = {{0}};
    TrainConfig *c = alb_xmalloc(sizeof *c);
    if (configure(&a, c, &err))
        code = EXIT_USAGE;
    else if (a.print_config)
        code = (print_config(c, a.as_json), EXIT_OK);
    else
        code = run(c, a.as_json, &err);
    free(a.sets);
    free(c);
    if (code == EXIT_OK || code == EXIT_INTERRUPTED) return code;
    return cli_error(CMD, &err, code);
}
