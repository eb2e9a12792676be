/* The training loop (src/train/trainer.c) and `albertc train` on fixed features.
 *
 * Goldens: tools/gen_train_goldens.py replays whole runs in torch on the
 * features stored in tests/goldens/train_{f32,bf16}.safetensors; our metric
 * history must equal it (bf16: the same %.9g text; fp32: see FP32_TOL).
 * The rest runs the CLI on those features: checkpoint rules, resume options,
 * kill-and-resume equality, signals, config errors. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "io/safetensors.h"
#include "testutil.h"
#include "train/checkpoint.h"
#include "train/trainer.h"
#include "util/fileio.h"

#define GOLDEN_F32 "tests/goldens/train_f32.safetensors"
#define GOLDEN_BF16 "tests/goldens/train_bf16.safetensors"

/* ------------------------------------------------------------------ helpers */

static const float *f32_of(const SafeTensors *st, const char *name, int64_t *n) {
    const StTensor *t = st_find(st, name);
    cr_assert(t && t->dtype == ST_F32, "%s missing", name);
    *n = t->shape[0];
    return t->data;
}

static int *labels_of(const SafeTensors *st, const char *name, int64_t *n) {
    const StTensor *t = st_find(st, name);
    cr_assert(t && t->dtype == ST_I64, "%s missing", name);
    *n = t->numel;
    int *y = malloc(sizeof(int) * (size_t)t->numel);
    for (int64_t i = 0; i < t->numel; i++) {
        int64_t v;
        memcpy(&v, (const char *)t->data + 8 * i, 8);
        y[i] = (int)v;
    }
    return y;
}

static char *slurp(const char *path) {
    char *data = NULL;
    size_t len;
    AlbError err;
    if (alb_read_file(path, &data, &len, &err)) return NULL;
    return data;
}

static char *path_in(const char *dir, const char *name) {
    char *p = malloc(strlen(dir) + strlen(name) + 2);
    sprintf(p, "%s/%s", dir, name);
    return p;
}

/* Runs the trainer in-process on a golden file's features with its run's
 * config, as features of engine (albert_engine, "" unknown), resuming when
 * resume; returns trainer_run's result. */
static int train_golden(const char *golden, const char *run, int bf16, const char *dir, const char *engine, int resume,
                        AlbError *error) {
    SafeTensors st;
    AlbError err;
    cr_assert_eq(st_open(&st, golden, &err), 0, "%s", err.msg);
    char key[64];
    snprintf(key, sizeof key, "%s.config", run);
    json_t *sets = json_loads(st_meta(&st, key), 0, NULL);
    cr_assert(json_is_array(sets));
    TrainConfig *c = malloc(sizeof *c);
    train_config_defaults(c);
    char buf[600];
    for (size_t i = 0; i < json_array_size(sets); i++)
        cr_assert_eq(train_config_set(c, json_string_value(json_array_get(sets, i)), &err), 0, "%s", err.msg);
    json_decref(sets);
    const char *extra[] = {"seed=5", "shuffle=true", "mlp_hidden_size=32", "num_labels=77", "log_level=ERROR",
                           bf16 ? "dtype=bfloat16" : "dtype=float32", "keep_last_n=1", "keep_best_n=0",
                           resume ? "resume_from_checkpoint=true" : "resume_from_checkpoint=false"};
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++)
        cr_assert_eq(train_config_set(c, extra[i], &err), 0, "%s", err.msg);
    snprintf(buf, sizeof buf, "init_head=%s", golden);
    cr_assert_eq(train_config_set(c, buf, &err), 0);
    snprintf(buf, sizeof buf, "project_dir=%s", dir);
    cr_assert_eq(train_config_set(c, buf, &err), 0);
    cr_assert_eq(train_config_validate(c, &err), 0, "%s", err.msg);

    int64_t n_train, n_eval;
    const float *xtr = f32_of(&st, "features", &n_train), *xev = f32_of(&st, "eval.features", &n_eval);
    int *ytr = labels_of(&st, "labels", &n_train), *yev = labels_of(&st, "eval.labels", &n_eval);
    FILE *devnull = fopen("/dev/null", "w");
    Logger lg = {devnull, LOG_ERROR, 0};
    TrainerInputs in = {.cfg = c, .hidden = 64, .train = {(int)n_train, xtr, ytr}, .eval = {(int)n_eval, xev, yev},
                        .num_labels = 77, .encoder_id = "golden", .encoder_hash = "", .encoder_engine = engine,
                        .log = &lg};
    TrainSummary sum;
    int rc = trainer_run(&in, &sum, error);
    fclose(devnull);
    free(ytr);
    free(yev);
    free(c);
    st_close(&st);
    return rc;
}

static void run_golden(const char *golden, const char *run, int bf16, const char *dir) {
    AlbError err;
    cr_assert_eq(train_golden(golden, run, bf16, dir, "", 0, &err), 0, "%s", err.msg);
}

/* fp32 runs against the exact (float64) run: relative bound on each loss,
 * accuracy equal. No useful a-priori bound exists for a trained trajectory
 * (AdamW divides each gradient element by its own RMS, so rounding noise in a
 * near-zero gradient moves that parameter by a fraction of lr; see
 * TRAJECTORY_TOL in test_head.c). The bound is safe because both sides are
 * fixed: the head's products sum in a fixed order (bit-identical on every
 * machine, BLAS kernel and thread count) and the float64 reference moves with
 * its BLAS's summation order by ~1e-14, so the compared difference is the same
 * number everywhere. 1e-4 is 10x ours (1.03e-5, run b) and 9x torch's own fp32
 * under the Haswell, SkylakeX, Cooperlake and Zen kernels (<= 1.2e-5); 1% more
 * learning rate moves these metrics by >= 5e-3. */
#define FP32_TOL 1e-4

/* Compares <dir>/metrics.jsonl with the golden run, in file order. */
static void check_history(const char *golden, const char *run, const char *dir, int exact) {
    SafeTensors st;
    AlbError err;
    cr_assert_eq(st_open(&st, golden, &err), 0);
    char name[64];
    const StTensor *ts, *tl, *vs, *vl, *va;
    snprintf(name, sizeof name, "%s.train.step", run), ts = st_find(&st, name);
    snprintf(name, sizeof name, "%s.train.loss", run), tl = st_find(&st, name);
    snprintf(name, sizeof name, "%s.val.step", run), vs = st_find(&st, name);
    snprintf(name, sizeof name, "%s.val.loss", run), vl = st_find(&st, name);
    snprintf(name, sizeof name, "%s.val.accuracy", run), va = st_find(&st, name);
    cr_assert(ts && tl && vs && vl && va);
    char *path = path_in(dir, "metrics.jsonl");
    char *text = slurp(path);
    cr_assert_not_null(text, "%s", path);
    int n_train = 0, n_val = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        json_t *o = json_loads(line, JSON_DECODE_ANY, NULL);
        cr_assert(json_is_object(o), "bad line %s", line);
        long step = (long)json_integer_value(json_object_get(o, "step"));
        const char *keys[2];
        double want[2], got[2];
        int n = 0;
        if (json_object_get(o, "train/loss")) {
            cr_assert_lt(n_train, ts->numel, "more train/loss lines than the golden");
            cr_assert_eq(step, ((const int64_t *)ts->data)[n_train], "train/loss at step %ld", step);
            keys[n] = "train/loss", want[n] = ((const double *)tl->data)[n_train++], n++;
        } else {
            cr_assert_lt(n_val, vs->numel, "more val lines than the golden");
            cr_assert_eq(step, ((const int64_t *)vs->data)[n_val], "val at step %ld", step);
            keys[n] = "val/loss", want[n] = ((const double *)vl->data)[n_val], n++;
            keys[n] = "val/accuracy", want[n] = ((const double *)va->data)[n_val++], n++;
        }
        for (int i = 0; i < n; i++) {
            got[i] = json_number_value(json_object_get(o, keys[i]));
            if (exact) {
                char a[64], b[64];
                snprintf(a, sizeof a, "%.9g", got[i]);
                snprintf(b, sizeof b, "%.9g", want[i]);
                cr_expect_str_eq(a, b, "%s run %s step %ld %s", golden, run, step, keys[i]);
            } else {
                cr_expect_leq(fabs(got[i] - want[i]), FP32_TOL * fabs(want[i]), "%s run %s step %ld %s: %.9g vs %.9g",
                              golden, run, step, keys[i], got[i], want[i]);
            }
        }
        json_decref(o);
    }
    cr_assert_eq(n_train, ts->numel);
    cr_assert_eq(n_val, vs->numel);
    free(text);
    free(path);
    st_close(&st);
}

static void golden_case(const char *golden, const char *run, int bf16) {
    char *dir = test_mkdtemp();
    run_golden(golden, run, bf16, dir);
    check_history(golden, run, dir, bf16);
    test_rmtree(dir);
    free(dir);
}

Test(trainer, golden_f32_a) { golden_case(GOLDEN_F32, "a", 0); }
Test(trainer, golden_f32_b_accumulation) { golden_case(GOLDEN_F32, "b", 0); }
Test(trainer, golden_bf16_a) { golden_case(GOLDEN_BF16, "a", 1); }
Test(trainer, golden_bf16_b_accumulation) { golden_case(GOLDEN_BF16, "b", 1); }

Test(trainer, permutation_is_a_permutation_and_depends_on_epoch) {
    int a[50], b[50], seen[50] = {0};
    trainer_permutation(a, 50, trainer_epoch_seed(23, 1));
    trainer_permutation(b, 50, trainer_epoch_seed(23, 2));
    int same = 1;
    for (int i = 0; i < 50; i++) {
        seen[a[i]]++;
        same &= a[i] == b[i];
    }
    for (int i = 0; i < 50; i++) cr_assert_eq(seen[i], 1);
    cr_assert(!same);
}

/* ------------------------------------------------------------------ CLI on feature files */

typedef struct {
    char *dir;        /* temp dir: features, config */
    char *config;     /* config.yaml */
    char options[4200]; /* "--test-config overlay.yaml" with the test's own keys, or "" */
} Fixture;

/* Writes train/eval feature files from the f32 golden and a config with run a's schedule. */
static Fixture fixture(const char *extra_yaml) {
    Fixture f = {test_mkdtemp(), NULL, ""};
    SafeTensors st;
    AlbError err;
    cr_assert_eq(st_open(&st, GOLDEN_F32, &err), 0);
    const char *names[2][3] = {{"train.safetensors", "features", "labels"},
                               {"eval.safetensors", "eval.features", "eval.labels"}};
    for (int s = 0; s < 2; s++) {
        const StTensor *x = st_find(&st, names[s][1]), *y = st_find(&st, names[s][2]);
        StWriter *w = st_writer_new();
        st_writer_add(w, "features", ST_F32, 2, x->shape, x->data);
        st_writer_add(w, "labels", ST_I64, 1, y->shape, y->data);
        char *p = path_in(f.dir, names[s][0]);
        cr_assert_eq(st_writer_save(w, p, &err), 0, "%s", err.msg);
        st_writer_free(w);
        free(p);
    }
    st_close(&st);
    f.config = path_in(f.dir, "config.yaml");
    char yaml[4096];
    snprintf(yaml, sizeof yaml,
             "train_features: %s/train.safetensors\neval_features: %s/eval.safetensors\n"
             "num_labels: 77\nmlp_hidden_size: 32\ndtype: bfloat16\nbatch_size: 8\nnum_epochs: 3\n"
             "steps_freq: 3\nval_steps_freq: 4\nlearning_rate: 0.01\nweight_decay: 0.05\nseed: 5\n"
             "init_head: %s\nsave_optim: true\nsave_strategy: step\nkeep_last_n: 2\nkeep_best_n: 1\n"
             "progress: false\n",
             f.dir, f.dir, GOLDEN_F32);
    test_write_file(f.config, yaml, strlen(yaml));
    if (extra_yaml) {  /* an overlay, as --test-config: its keys override */
        char *overlay = path_in(f.dir, "overlay.yaml");
        test_write_file(overlay, extra_yaml, strlen(extra_yaml));
        snprintf(f.options, sizeof f.options, "--test-config %s", overlay);
        free(overlay);
    }
    return f;
}

static void fixture_free(Fixture *f) {
    test_rmtree(f->dir);
    free(f->dir);
    free(f->config);
}

/* albertc train --config <fixture> --set project_dir=<dir>/<project> [more]; returns the exit code. */
static int train_cli(const Fixture *f, const char *project, const char *env, const char *more, char **out,
                     char **err) {
    char cmd[20000];
    snprintf(cmd, sizeof cmd, "%s OMP_NUM_THREADS=1 %s train --config %s %s --set project_dir=%s/%s %s",
             env ? env : "", test_albertc(), f->config, f->options, f->dir, project, more ? more : "");
    return test_run(cmd, out, err);
}

static json_t *history(const Fixture *f, const char *project) {
    char p[4096];
    snprintf(p, sizeof p, "%s/%s/checkpoints/checkpoint_history.json", f->dir, project);
    json_t *h = json_load_file(p, 0, NULL);
    cr_assert_not_null(h, "%s", p);
    return h;
}

static int n_files(const Fixture *f, const char *project) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "ls %s/%s/checkpoints/*.safetensors | wc -l", f->dir, project);
    char *out;
    test_run(cmd, &out, NULL);
    int n = atoi(out);
    free(out);
    return n;
}

/* The final checkpoint (last history entry) of a project. */
static char *final_checkpoint(const Fixture *f, const char *project) {
    json_t *h = history(f, project);
    json_t *items = json_object_get(h, "checkpoints");
    const char *p = json_string_value(json_object_get(json_array_get(items, json_array_size(items) - 1), "path"));
    char *path = strdup(p);
    json_decref(h);
    return path;
}

static void expect_same_tensors(const char *a, const char *b) {
    SafeTensors sa, sb;
    AlbError err;
    cr_assert_eq(st_open(&sa, a, &err), 0, "%s", err.msg);
    cr_assert_eq(st_open(&sb, b, &err), 0, "%s", err.msg);
    cr_assert_eq(sa.n_tensors, sb.n_tensors);
    for (int i = 0; i < sa.n_tensors; i++) {
        const StTensor *t = st_find(&sb, sa.tensors[i].name);
        cr_assert_not_null(t, "%s", sa.tensors[i].name);
        cr_assert_eq(t->nbytes, sa.tensors[i].nbytes);
        cr_expect(!memcmp(t->data, sa.tensors[i].data, t->nbytes), "%s differs between %s and %s", t->name, a, b);
    }
    st_close(&sa);
    st_close(&sb);
}

static void expect_same_outputs(const Fixture *f, const char *p1, const char *p2) {
    static const char *const files[] = {"metrics.jsonl", "train_loss.csv", "val_loss.csv", "val_accuracy.csv"};
    for (int i = 0; i < 4; i++) {
        char a[4096], b[4096];
        snprintf(a, sizeof a, "%s/%s/%s", f->dir, p1, files[i]);
        snprintf(b, sizeof b, "%s/%s/%s", f->dir, p2, files[i]);
        char *ta = slurp(a), *tb = slurp(b);
        cr_assert(ta && tb, "%s / %s", a, b);
        cr_expect_str_eq(ta, tb, "%s differs from %s", b, a);
        free(ta);
        free(tb);
    }
    char *ca = final_checkpoint(f, p1), *cb = final_checkpoint(f, p2);
    expect_same_tensors(ca, cb);
    free(ca);
    free(cb);
}

static char *project_path(const Fixture *f, const char *project) { return path_in(f->dir, project); }

Test(trainer, cli_matches_golden_and_writes_csvs) {
    Fixture f = fixture(NULL);
    char *out, *err;
    cr_assert_eq(train_cli(&f, "p", NULL, "--json", &out, &err), 0, "%s", err);
    char *dir = project_path(&f, "p");
    check_history(GOLDEN_BF16, "a", dir, 1);
    json_t *summary = json_loads(out, 0, NULL);
    cr_assert(json_is_object(summary), "--json: %s", out);
    cr_assert_str_eq(json_string_value(json_object_get(summary, "status")), "ok");
    cr_assert_eq(json_integer_value(json_object_get(summary, "steps")), 24);
    cr_assert(json_is_number(json_object_get(summary, "val/accuracy")));
    json_decref(summary);
    cr_assert(strstr(err, "Step 3 | train/loss: "), "%s", err);
    cr_assert(strstr(err, "Step 0 | val/accuracy: "), "%s", err);
    char *csv = path_in(dir, "train_loss.csv"), *text = slurp(csv);
    cr_assert(text && !strncmp(text, "_step,train/loss\n3,", 19), "%s", text);
    free(text);
    free(csv);
    free(dir);
    free(out);
    free(err);
    fixture_free(&f);
}

/* val/loss of the latest validation at step s (validations every 4 steps). */
static double val_loss_at(const Fixture *f, const char *project, long s) {
    char p[4096];
    snprintf(p, sizeof p, "%s/%s/val_loss.csv", f->dir, project);
    FILE *fp = fopen(p, "r");
    cr_assert_not_null(fp);
    char line[256];
    double v = NAN;
    while (fgets(line, sizeof line, fp)) {
        long step;
        double x;
        if (sscanf(line, "%ld,%lf", &step, &x) == 2 && step <= s) v = x;
    }
    fclose(fp);
    return v;
}

Test(trainer, checkpoints_step_strategy_keep_last_and_best) {
    Fixture f = fixture(NULL);
    char *err;
    cr_assert_eq(train_cli(&f, "p", NULL, NULL, NULL, &err), 0, "%s", err);
    json_t *h = history(&f, "p");
    json_t *items = json_object_get(h, "checkpoints"), *best = json_object_get(h, "best_checkpoints");
    /* saves at 3, 6, ..., 21 and the final one (step 24); 2 newest kept plus the best */
    size_t n = json_array_size(items);
    cr_assert_eq(n, 2, "%zu entries", n);
    cr_assert_eq(json_array_size(best), 1);
    cr_assert_eq(json_integer_value(json_object_get(json_array_get(items, n - 1), "step")), 24);
    cr_assert_eq(json_integer_value(json_object_get(json_array_get(items, n - 2), "step")), 21);
    /* files: the 2 newest and the best when it is not one of them */
    const char *best_path = json_string_value(json_object_get(json_array_get(best, 0), "path"));
    int best_listed = 0;
    for (size_t i = 0; i < n; i++)
        best_listed |= !strcmp(best_path, json_string_value(json_object_get(json_array_get(items, i), "path")));
    cr_assert_eq(n_files(&f, "p"), (int)n + !best_listed);
    double min = INFINITY;
    for (long s = 3; s <= 24; s += 3) min = fmin(min, val_loss_at(&f, "p", s));
    double got = json_number_value(json_object_get(json_object_get(json_array_get(best, 0), "metrics"), "val/loss"));
    cr_assert_eq(got, min, "best val/loss %.9g, expected %.9g", got, min);
    CheckpointMeta m;
    AlbError e;
    char *last = final_checkpoint(&f, "p");
    cr_assert_eq(checkpoint_read_meta(last, &m, &e), 0, "%s", e.msg);
    cr_assert_eq(m.final, 1);
    cr_assert_eq(m.step, 24);
    checkpoint_meta_free(&m);
    free(last);
    json_decref(h);
    free(err);
    fixture_free(&f);
}

Test(trainer, checkpoints_keep_all_and_best_by_accuracy_max) {
    Fixture f = fixture("keep_last_n: 0\nkeep_best_n: 2\ncheckpoint_metric: val/accuracy\ncheckpoint_metric_mode: max\n");
    char *err;
    cr_assert_eq(train_cli(&f, "p", NULL, NULL, NULL, &err), 0, "%s", err);
    json_t *h = history(&f, "p");
    cr_assert_eq(json_array_size(json_object_get(h, "checkpoints")), 8);
    cr_assert_eq(n_files(&f, "p"), 8);
    json_t *best = json_object_get(h, "best_checkpoints");
    cr_assert_eq(json_array_size(best), 2);
    double a0 = json_number_value(json_object_get(json_object_get(json_array_get(best, 0), "metrics"), "val/accuracy"));
    double a1 = json_number_value(json_object_get(json_object_get(json_array_get(best, 1), "metrics"), "val/accuracy"));
    cr_assert_geq(a0, a1);
    json_t *items = json_object_get(h, "checkpoints");
    for (size_t i = 0; i < json_array_size(items); i++)
        cr_assert_geq(a0, json_number_value(json_object_get(json_object_get(json_array_get(items, i), "metrics"),
                                                            "val/accuracy")));
    json_decref(h);
    free(err);
    fixture_free(&f);
}

Test(trainer, checkpoints_epoch_strategy_and_final) {
    Fixture f = fixture("save_strategy: epoch\nepoch_freq: 2\nkeep_last_n: 0\n");
    char *err;
    cr_assert_eq(train_cli(&f, "p", NULL, NULL, NULL, &err), 0, "%s", err);
    json_t *h = history(&f, "p"), *items = json_object_get(h, "checkpoints");
    cr_assert_eq(json_array_size(items), 2);
    cr_assert_eq(json_integer_value(json_object_get(json_array_get(items, 0), "step")), 16);  /* end of epoch 2 */
    cr_assert_eq(json_integer_value(json_object_get(json_array_get(items, 0), "epoch")), 2);
    cr_assert_eq(json_integer_value(json_object_get(json_array_get(items, 1), "step")), 24);  /* final */
    json_decref(h);
    free(err);
    fixture_free(&f);
}

/* When the last step is also a step or epoch checkpoint, the final save is its only checkpoint: it was
 * saved twice (checkpoint_step24_... and ..._2), the copy taking one of the keep_last_n slots. */
Test(trainer, last_step_is_saved_once) {
    const char *overlays[] = {"save_strategy: epoch\nkeep_last_n: 0\n", "save_strategy: step\nkeep_last_n: 0\n"};
    const long n_saves[] = {3, 8};  /* epochs 1, 2 and the final; steps 3, 6, ..., 21 and the final */
    for (int k = 0; k < 2; k++) {
        Fixture f = fixture(overlays[k]);
        char *err;
        cr_assert_eq(train_cli(&f, "p", NULL, NULL, NULL, &err), 0, "%s", err);
        free(err);
        json_t *h = history(&f, "p"), *items = json_object_get(h, "checkpoints");
        cr_assert_eq((long)json_array_size(items), n_saves[k], "%s: %zu entries", overlays[k], json_array_size(items));
        for (size_t i = 1; i < json_array_size(items); i++)
            cr_assert_lt(json_integer_value(json_object_get(json_array_get(items, i - 1), "step")),
                         json_integer_value(json_object_get(json_array_get(items, i), "step")), "%s", overlays[k]);
        cr_assert_eq(n_files(&f, "p"), n_saves[k]);
        char *last = final_checkpoint(&f, "p");
        CheckpointMeta m;
        AlbError e;
        cr_assert_eq(checkpoint_read_meta(last, &m, &e), 0, "%s", e.msg);
        cr_assert(m.final && m.step == 24);
        checkpoint_meta_free(&m);
        free(last);
        json_decref(h);
        fixture_free(&f);
    }
}

static const char *const METRIC_FILES[4][2] = {
    {"metrics", ".jsonl"}, {"train_loss", ".csv"}, {"val_loss", ".csv"}, {"val_accuracy", ".csv"}};

/* The suffix of the one archived history in <project>/checkpoints ("" when there is none). */
static void archive_suffix(const Fixture *f, const char *project, char *suffix, size_t size) {
    char cmd[4096], *out;
    snprintf(cmd, sizeof cmd, "cd %s/%s/checkpoints && ls checkpoint_history.*.json metrics.*.jsonl 2>/dev/null | head -1",
             f->dir, project);
    test_run(cmd, &out, NULL);
    char *dot = strchr(out, '.'), *end = strrchr(out, '.');
    snprintf(suffix, size, "%.*s", dot && end > dot ? (int)(end - dot - 1) : 0, dot ? dot + 1 : "");
    free(out);
}

/* Each metric file of project as the earlier run left it (first[i]), archived beside the history. */
static void expect_metrics_archived(const Fixture *f, const char *project, char *const first[4]) {
    char suffix[64];
    archive_suffix(f, project, suffix, sizeof suffix);
    cr_assert(suffix[0], "nothing archived in %s/%s/checkpoints", f->dir, project);
    for (int i = 0; i < 4; i++) {
        char p[4200];
        snprintf(p, sizeof p, "%s/%s/checkpoints/%s.%s%s", f->dir, project, METRIC_FILES[i][0], suffix, METRIC_FILES[i][1]);
        char *kept = slurp(p);
        cr_assert_not_null(kept, "%s missing", p);
        cr_expect_str_eq(kept, first[i], "%s", p);
        free(kept);
    }
}

static void read_metric_files(const Fixture *f, const char *project, char *text[4]) {
    for (int i = 0; i < 4; i++) {
        char p[4200];
        snprintf(p, sizeof p, "%s/%s/%s%s", f->dir, project, METRIC_FILES[i][0], METRIC_FILES[i][1]);
        text[i] = slurp(p);
        cr_assert_not_null(text[i], "%s", p);
    }
}

/* A second fresh run in the same project starts its own history; the first's is archived, its files
 * kept, and its metric files (they were truncated) archived beside the history with the same suffix. */
Test(trainer, fresh_run_archives_earlier_history) {
    Fixture f = fixture("save_strategy: epoch\nkeep_last_n: 0\n");
    char *err;
    cr_assert_eq(train_cli(&f, "p", NULL, NULL, NULL, &err), 0, "%s", err);
    free(err);
    int files_first = n_files(&f, "p");
    cr_assert_eq(files_first, 3);  /* epochs 1, 2 + final */
    char *first[4];
    read_metric_files(&f, "p", first);
    cr_assert_eq(train_cli(&f, "p", NULL, "--set learning_rate=0.02", NULL, &err), 0, "%s", err);
    cr_assert(strstr(err, "starts a new history") != NULL, "%s", err);
    free(err);
    json_t *h = history(&f, "p");
    cr_assert_eq(json_array_size(json_object_get(h, "checkpoints")), 3);
    cr_assert_eq(json_array_size(json_object_get(h, "best_checkpoints")), 1);
    json_decref(h);
    cr_assert_eq(n_files(&f, "p"), 2 * files_first);
    char cmd[4096], *out;
    snprintf(cmd, sizeof cmd, "ls %s/p/checkpoints/checkpoint_history.*.json | wc -l", f.dir);
    test_run(cmd, &out, NULL);
    cr_assert_eq(atoi(out), 1);
    free(out);
    expect_metrics_archived(&f, "p", first);
    char *now[4];
    read_metric_files(&f, "p", now);
    cr_expect_str_neq(now[0], first[0], "metrics.jsonl is the second run's");
    for (int i = 0; i < 4; i++) free(first[i]), free(now[i]);
    fixture_free(&f);
}

/* A run killed before its first checkpoint has metrics but no history: a fresh run keeps them too. */
Test(trainer, fresh_run_keeps_metrics_of_a_run_without_checkpoints) {
    Fixture f = fixture(NULL);
    cr_assert_eq(train_cli(&f, "p", "ALBERTC_TEST_KILL_AT_STEP=2", NULL, NULL, NULL), 128 + SIGKILL);
    char *first[4], *err;
    read_metric_files(&f, "p", first);
    cr_assert(strstr(first[0], "\"step\": 0"), "%s", first[0]);
    cr_assert_eq(train_cli(&f, "p", NULL, NULL, NULL, &err), 0, "%s", err);
    free(err);
    expect_metrics_archived(&f, "p", first);
    for (int i = 0; i < 4; i++) free(first[i]);
    fixture_free(&f);
}

/* Temporary files that killed runs left (name.tmp.<pid>) are removed when the next run starts, in the
 * project and its checkpoint directory; one whose process is alive is another writer's: it stays. */
Test(trainer, next_run_removes_temporary_files_of_dead_runs) {
    Fixture f = fixture(NULL);
    pid_t child = fork();
    if (child == 0) _exit(0);
    waitpid(child, NULL, 0);  /* a pid that is no longer alive */
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "mkdir -p %s/p/checkpoints && cd %s/p && touch metrics.jsonl.tmp.%d checkpoints/checkpoint_history.json.tmp.%d "
             "checkpoints/c.safetensors.tmp.%d checkpoints/c.safetensors.tmp.%d checkpoints/keep.tmp.x",
             f.dir, f.dir, (int)child, (int)child, (int)child, (int)getpid());
    cr_assert_eq(test_run(cmd, NULL, NULL), 0);
    char *err, *out;
    cr_assert_eq(train_cli(&f, "p", NULL, NULL, NULL, &err), 0, "%s", err);
    free(err);
    snprintf(cmd, sizeof cmd, "cd %s/p && ls *.tmp.* checkpoints/*.tmp.* 2>/dev/null", f.dir);
    test_run(cmd, &out, NULL);
    char want[256];
    snprintf(want, sizeof want, "checkpoints/c.safetensors.tmp.%d\ncheckpoints/keep.tmp.x\n", (int)getpid());
    cr_expect_str_eq(out, want);
    free(out);
    fixture_free(&f);
}

/* Killed right after step N (test hook), resumed from the last checkpoint: equal to an uninterrupted run. */
static void kill_and_resume(long kill_step, const char *extra_yaml) {
    Fixture f = fixture(extra_yaml);
    char *err, env[64];
    cr_assert_eq(train_cli(&f, "full", NULL, NULL, NULL, &err), 0, "%s", err);
    free(err);
    snprintf(env, sizeof env, "ALBERTC_TEST_KILL_AT_STEP=%ld", kill_step);
    cr_assert_eq(train_cli(&f, "k", env, NULL, NULL, NULL), 128 + SIGKILL);
    cr_assert_eq(train_cli(&f, "k", NULL, "--set resume_from_checkpoint=true", NULL, &err), 0, "%s", err);
    cr_assert(strstr(err, "resumed from"), "%s", err);
    free(err);
    expect_same_outputs(&f, "full", "k");
    fixture_free(&f);
}

Test(trainer, kill_at_step_4_resume_equal) { kill_and_resume(4, NULL); }
Test(trainer, kill_at_step_13_resume_equal) { kill_and_resume(13, NULL); }
Test(trainer, kill_at_last_step_resume_equal) { kill_and_resume(24, NULL); }
Test(trainer, kill_with_accumulation_resume_equal) {
    kill_and_resume(7, "gradient_accumulation_steps: 2\nmax_steps_per_epoch: 7\nsteps_freq: 2\n");
}

/* SIGKILL at a random moment of the run, resumed: equal to an uninterrupted run. The kill falls 0-200 ms
 * after the first checkpoint is in the history, and ALBERTC_TEST_STEP_DELAY_MS=1 makes the 235 steps
 * left after it last at least 235 ms: the kill always lands mid-run and the resume always happens (the
 * run could end before the kill, or be killed before any checkpoint, and the test passed without one). */
Test(trainer, kill_at_random_moment_resume_equal) {
    Fixture f = fixture("num_epochs: 30\nsteps_freq: 5\nval_steps_freq: 20\n");
    char *err;
    cr_assert_eq(train_cli(&f, "full", NULL, NULL, NULL, &err), 0, "%s", err);
    free(err);
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    int delay_ms = rand() % 200;
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "ALBERTC_TEST_STEP_DELAY_MS=1 OMP_NUM_THREADS=1 %s train --config %s %s --set project_dir=%s/k & pid=$!; "
             "while [ ! -s %s/k/checkpoints/checkpoint_history.json ] && kill -0 $pid 2>/dev/null; do sleep 0.001; done; "
             "sleep %d.%03d; kill -9 $pid; wait $pid",
             test_albertc(), f.config, f.options, f.dir, f.dir, delay_ms / 1000, delay_ms % 1000);
    int rc = test_run(cmd, NULL, NULL);
    cr_assert_eq(rc, 128 + SIGKILL, "rc %d: the run was not killed %d ms after its first checkpoint", rc, delay_ms);
    cr_assert_eq(train_cli(&f, "k", NULL, "--set resume_from_checkpoint=true", NULL, &err), 0,
                 "after a kill at %d ms: %s", delay_ms, err);
    cr_assert(strstr(err, "resumed from"), "%s", err);
    free(err);
    expect_same_outputs(&f, "full", "k");
    fixture_free(&f);
}

Test(trainer, sigint_saves_and_exits_130_then_resumes_equal) {
    Fixture f = fixture("keep_last_n: 0\n");
    char *err;
    cr_assert_eq(train_cli(&f, "full", NULL, NULL, NULL, &err), 0, "%s", err);
    free(err);
    cr_assert_eq(train_cli(&f, "k", "ALBERTC_TEST_KILL_AT_STEP=10 ALBERTC_TEST_KILL_SIGNAL=2", NULL, NULL, &err), 130,
                 "%s", err);
    cr_assert(strstr(err, "interrupted"), "%s", err);
    free(err);
    json_t *h = history(&f, "k");
    json_t *items = json_object_get(h, "checkpoints");
    cr_assert_eq(json_integer_value(json_object_get(json_array_get(items, json_array_size(items) - 1), "step")), 10);
    json_decref(h);
    cr_assert_eq(train_cli(&f, "k", NULL, "--set resume_from_checkpoint=true", NULL, &err), 0, "%s", err);
    free(err);
    expect_same_outputs(&f, "full", "k");
    fixture_free(&f);
}

Test(trainer, resume_options_best_and_path) {
    Fixture f = fixture("keep_last_n: 0\n");
    char *err, more[4096];
    cr_assert_eq(train_cli(&f, "full", NULL, NULL, NULL, &err), 0, "%s", err);
    free(err);
    cr_assert_eq(train_cli(&f, "k", "ALBERTC_TEST_KILL_AT_STEP=13", NULL, NULL, NULL), 128 + SIGKILL);
    /* best: the checkpoint best_checkpoints[0] names */
    json_t *h = history(&f, "k");
    const char *best = json_string_value(json_object_get(json_array_get(json_object_get(h, "best_checkpoints"), 0), "path"));
    cr_assert_not_null(best);
    char *best_copy = strdup(best);
    const char *step6 = NULL;
    json_t *items = json_object_get(h, "checkpoints");
    for (size_t i = 0; i < json_array_size(items); i++)
        if (json_integer_value(json_object_get(json_array_get(items, i), "step")) == 6)
            step6 = json_string_value(json_object_get(json_array_get(items, i), "path"));
    cr_assert_not_null(step6);
    char *step6_copy = strdup(step6);
    json_decref(h);
    cr_assert_eq(train_cli(&f, "k", NULL, "--set resume_from_checkpoint=true --set resume_option=best", NULL, &err), 0,
                 "%s", err);
    cr_assert(strstr(err, best_copy), "resume best: %s", err);
    free(err);
    expect_same_outputs(&f, "full", "k");
    snprintf(more, sizeof more, "--set resume_from_checkpoint=true --set resume_option=path --set checkpoint_path=%s",
             step6_copy);
    cr_assert_eq(train_cli(&f, "k", NULL, more, NULL, &err), 0, "%s", err);
    cr_assert(strstr(err, "resumed from") && strstr(err, "step 6,"), "resume path: %s", err);
    free(err);
    expect_same_outputs(&f, "full", "k");
    free(best_copy);
    free(step6_copy);
    fixture_free(&f);
}

Test(trainer, resume_without_optimizer_state_warns) {
    Fixture f = fixture("save_optim: false\n");
    char *err;
    cr_assert_eq(train_cli(&f, "k", "ALBERTC_TEST_KILL_AT_STEP=13", NULL, NULL, NULL), 128 + SIGKILL);
    cr_assert_eq(train_cli(&f, "k", NULL, "--set resume_from_checkpoint=true", NULL, &err), 0, "%s", err);
    cr_assert(strstr(err, "WARNING") && strstr(err, "no optimizer state"), "%s", err);
    free(err);
    fixture_free(&f);
}

Test(trainer, resume_with_nothing_to_resume_fails_before_the_features) {
    Fixture f = fixture(NULL);
    char *err;
    cr_assert_eq(train_cli(&f, "k", NULL, "--set resume_from_checkpoint=true", NULL, &err), 2, "%s", err);
    cr_assert(strstr(err, "albertc train: ") && strstr(err, "no checkpoint"), "%s", err);
    cr_assert_null(strstr(err, "features:"), "the features were loaded: %s", err);
    free(err);
    fixture_free(&f);
}

/* A resume must continue the interrupted run's data order and schedule: every key that shapes them,
 * changed, is refused (exit 2, naming the key and both values; all but the train split's size
 * before the features are read or computed) before anything is read past perm[] or
 * written past the train/loss window. The checkpoint is epoch 1's (step 8), whose window holds the
 * losses of steps 7 and 8: resumed with steps_freq 4, steps 9-11 were written into a window of 4
 * (a heap overflow under ASan). */
Test(trainer, resume_with_a_different_data_order_or_schedule_exits_2) {
    Fixture f = fixture("save_strategy: epoch\n");
    cr_assert_eq(train_cli(&f, "k", "ALBERTC_TEST_KILL_AT_STEP=13", NULL, NULL, NULL), 128 + SIGKILL);
    char fewer_rows[4200];  /* the eval split's 21 rows as the train split: 2 batches an epoch instead of 8 */
    snprintf(fewer_rows, sizeof fewer_rows, "--set train_features=%s/eval.safetensors", f.dir);
    const struct { const char *set, *key, *saved, *now; } cases[] = {
        {"--set steps_freq=4", "steps_freq", "3", "4"},
        {"--set val_steps_freq=5", "val_steps_freq", "4", "5"},
        {"--set batch_size=4", "batch_size", "8", "4"},
        {"--set gradient_accumulation_steps=2", "gradient_accumulation_steps", "1", "2"},
        {"--set max_steps_per_epoch=5", "max_steps_per_epoch", "0", "5"},
        {"--set num_epochs=4", "num_epochs", "3", "4"},
        {"--set seed=6", "seed", "5", "6"},
        {"--set shuffle=false", "shuffle", "1", "0"},
        {fewer_rows, "train_rows", "70", "21"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char more[4400], *err;
        snprintf(more, sizeof more, "--set resume_from_checkpoint=true %s", cases[i].set);
        int rc = train_cli(&f, "k", NULL, more, NULL, &err);
        cr_assert_eq(rc, 2, "%s: exit %d: %s", cases[i].key, rc, err);
        char want[256];
        snprintf(want, sizeof want, "%s %s, this run has %s", cases[i].key, cases[i].saved, cases[i].now);
        cr_assert(strstr(err, want) && strstr(err, "checkpoint_step8_"), "%s: expected '%s' in: %s",
                  cases[i].key, want, err);
        /* only the train split's size needs the data: the rest is refused before it is read */
        if (strcmp(cases[i].key, "train_rows"))
            cr_assert_null(strstr(err, "features:"), "%s: refused only after the features: %s", cases[i].key, err);
        free(err);
    }
    /* nothing was changed: the same configuration still resumes and ends equal to an uninterrupted run */
    char *err;
    cr_assert_eq(train_cli(&f, "full", NULL, NULL, NULL, &err), 0, "%s", err);
    free(err);
    cr_assert_eq(train_cli(&f, "k", NULL, "--set resume_from_checkpoint=true", NULL, &err), 0, "%s", err);
    free(err);
    expect_same_outputs(&f, "full", "k");
    fixture_free(&f);
}

/* Rewrites the last checkpoint of project (killed at step 13: step 12's) with edit applied to its metadata. */
static char *edit_last_checkpoint(const Fixture *f, const char *project, void (*edit)(CheckpointMeta *)) {
    char *last = final_checkpoint(f, project);
    Head h;
    AdamW opt;
    CheckpointMeta m;
    AlbError e;
    cr_assert_eq(head_create_from_file(&h, last, 1, 8, &e), 0, "%s", e.msg);
    adamw_create(&opt, HEAD_N_TENSORS, h.numel, 0.01, 0.9, 0.999, 1e-8, 0.05, 1);
    cr_assert_eq(checkpoint_load(last, &h, &opt, &m, &e), 0, "%s", e.msg);
    edit(&m);
    cr_assert_eq(checkpoint_save(last, &h, &opt, &m, &e), 0, "%s", e.msg);
    checkpoint_meta_free(&m);
    adamw_free(&opt);
    head_free(&h);
    return last;
}

static void drop_steps_freq(CheckpointMeta *m) {
    json_t *order = json_loads(m->data_order, 0, NULL);
    cr_assert_eq(json_object_del(order, "steps_freq"), 0, "data_order has no steps_freq: %s", m->data_order);
    free(m->data_order);
    m->data_order = json_dumps(order, JSON_COMPACT);
    json_decref(order);
}

static void position_past_the_epoch(CheckpointMeta *m) { m->epoch_position = 1000; }



/* Resuming the edited last checkpoint fails with exit 1 and an error naming it and containing needle. */
static void expect_resume_fails(void (*edit)(CheckpointMeta *), const char *needle) {
    Fixture f = fixture(NULL);
    cr_assert_eq(train_cli(&f, "k", "ALBERTC_TEST_KILL_AT_STEP=13", NULL, NULL, NULL), 128 + SIGKILL);
    char *last = edit_last_checkpoint(&f, "k", edit), *err;
    cr_assert_eq(train_cli(&f, "k", NULL, "--set resume_from_checkpoint=true", NULL, &err), 1, "%s", err);
    cr_assert(strstr(err, last) && strstr(err, needle), "expected '%s' in: %s", needle, err);
    free(err);
    free(last);
    fixture_free(&f);
}

/* A checkpoint written before data_order recorded the schedule cannot be checked: a clear error. */
Test(trainer, resume_from_a_checkpoint_without_the_schedule_fails) {
    expect_resume_fails(drop_steps_freq, "data_order has no steps_freq (written by an older albertc)");
}

/* step, epoch and epoch_position index perm[]: ones that do not fit the schedule are refused. */
Test(trainer, resume_from_a_position_outside_the_schedule_fails) {
    expect_resume_fails(position_past_the_epoch, "epoch_position 1000 do not fit the schedule");
}

/* A head that learnt from another engine's features (int8, bf16 emulated or
 * native) is not resumed on these; the same engine resumes. */
Test(trainer, resume_on_another_engine_fails) {
    char *dir = test_mkdtemp();
    AlbError err;
    cr_assert_eq(train_golden(GOLDEN_F32, "a", 0, dir, "float32/here", 0, &err), 0, "%s", err.msg);
    cr_expect_eq(train_golden(GOLDEN_F32, "a", 0, dir, "int8/onednn-elsewhere", 1, &err), -1);
    cr_expect(strstr(err.msg, "learnt from float32/here features, this run computes int8/onednn-elsewhere features"),
              "%s", err.msg);
    cr_expect_eq(train_golden(GOLDEN_F32, "a", 0, dir, "float32/here", 1, &err), 0, "%s", err.msg);
    test_rmtree(dir);
    free(dir);
}

Test(trainer, remote_mirror_and_load_from_storage) {
    Fixture f = fixture(NULL);
    char *err, more[4096];
    snprintf(more, sizeof more, "--set sync_to_storage=true --set remote_path=%s/remote", f.dir);
    cr_assert_eq(train_cli(&f, "full", NULL, more, NULL, &err), 0, "%s", err);
    free(err);
    cr_assert_eq(train_cli(&f, "k", "ALBERTC_TEST_KILL_AT_STEP=13", more, NULL, NULL), 128 + SIGKILL);
    /* lose the local checkpoints: resume from the mirror */
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf %s/k/checkpoints", f.dir);
    cr_assert_eq(test_run(cmd, NULL, NULL), 0);
    snprintf(more, sizeof more, "--set load_from_storage=true --set remote_path=%s/remote --set resume_from_checkpoint=true",
             f.dir);
    cr_assert_eq(train_cli(&f, "k", NULL, more, NULL, &err), 0, "%s", err);
    cr_assert(strstr(err, "resumed from") && strstr(err, "/remote/"), "%s", err);
    free(err);
    char a[4096], b[4096];
    snprintf(a, sizeof a, "%s/full/metrics.jsonl", f.dir);
    snprintf(b, sizeof b, "%s/k/metrics.jsonl", f.dir);
    char *ta = slurp(a), *tb = slurp(b);
    cr_assert_str_eq(ta, tb);
    free(ta);
    free(tb);
    fixture_free(&f);
}

/* Every file of a project's checkpoint directory holds finite weights. */
static void expect_finite_checkpoints(const Fixture *f, const char *project) {
    char cmd[4200], *out;
    snprintf(cmd, sizeof cmd, "ls %s/%s/checkpoints/*.safetensors 2>/dev/null", f->dir, project);
    test_run(cmd, &out, NULL);
    for (char *path = strtok(out, "\n"); path; path = strtok(NULL, "\n")) {
        Head h;
        AlbError e;
        cr_assert_eq(head_create_from_file(&h, path, 1, 8, &e), 0, "%s", e.msg);
        cr_assert_eq(head_load(&h, path, &e), 0, "%s", e.msg);
        for (long i = 0; i < h.n_params; i++) cr_assert(isfinite(h.params[i]), "%s: params[%ld] = %g", path, i, h.params[i]);
        head_free(&h);
    }
    free(out);
}

/* A learning rate this large (with weight decay 0.05 each step multiplies the weights by -5e4) overflows
 * within a few steps: the run stops with exit 1, naming the step, keeps its last good checkpoint, writes
 * none of the diverged weights, and every metrics.jsonl line stays JSON (jansson refuses nan). With
 * validation at every step the validation loss goes first; without it, the next step's train loss,
 * before that step's checkpoint. */
Test(trainer, diverging_run_stops_with_valid_metrics) {
    const char *overlays[] = {"learning_rate: 1000000\nsteps_freq: 1\nval_steps_freq: 1\nkeep_last_n: 0\n",
                              "learning_rate: 1000000\nsteps_freq: 1\nval_steps_freq: 1000\nkeep_last_n: 0\n"};
    for (int k = 0; k < 2; k++) {
        Fixture f = fixture(overlays[k]);
        char *err;
        int rc = train_cli(&f, "p", NULL, NULL, NULL, &err);
        cr_assert_eq(rc, 1, "exit %d: %s", rc, err);
        cr_assert(strstr(err, "albertc train: ") && strstr(err, "diverged at step "), "%s", err);
        free(err);
        char *path = path_in(f.dir, "p/metrics.jsonl"), *text = slurp(path);
        cr_assert_not_null(text);
        int lines = 0;
        for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"), lines++) {
            json_error_t je;
            json_t *o = json_loads(line, 0, &je);
            cr_assert(json_is_object(o), "%s: line %d is not JSON (%s): %s", path, lines + 1, je.text, line);
            json_decref(o);
        }
        cr_assert_gt(lines, 2, "%s", path);
        free(text);
        free(path);
        json_t *h = history(&f, "p");
        cr_assert_gt(json_array_size(json_object_get(h, "checkpoints")), 0, "the last good checkpoint is kept");
        json_decref(h);
        expect_finite_checkpoints(&f, "p");
        fixture_free(&f);
    }
}

/* Features of 1e30 (finite: accepted) square to inf in AdamW's second moment while the loss stays finite:
 * no checkpoint may hold that state (the first step checkpoint did). */
Test(trainer, overflowing_optimizer_state_is_not_saved) {
    Fixture f = fixture(NULL);
    const char *names[2] = {"train.safetensors", "eval.safetensors"};
    for (int s = 0; s < 2; s++) {
        char *p = path_in(f.dir, names[s]);
        SafeTensors st;
        AlbError e;
        cr_assert_eq(st_open(&st, p, &e), 0, "%s", e.msg);
        const StTensor *x = st_find(&st, "features"), *y = st_find(&st, "labels");
        float *big = malloc(x->nbytes);
        for (int64_t i = 0; i < x->numel; i++) big[i] = ((const float *)x->data)[i] * 1e30f;
        StWriter *w = st_writer_new();
        st_writer_add_f32(w, "features", 2, x->shape, big);
        st_writer_add(w, "labels", ST_I64, 1, y->shape, y->data);
        char *q = path_in(f.dir, s ? "eval_big.safetensors" : "train_big.safetensors");
        cr_assert_eq(st_writer_save(w, q, &e), 0, "%s", e.msg);
        st_writer_free(w);
        st_close(&st);
        free(big);
        free(p);
        free(q);
    }
    char more[4200], *err;
    snprintf(more, sizeof more, "--set train_features=%s/train_big.safetensors --set eval_features=%s/eval_big.safetensors",
             f.dir, f.dir);
    cr_assert_eq(train_cli(&f, "p", NULL, more, NULL, &err), 1, "%s", err);
    cr_assert(strstr(err, "diverged at step 3: an AdamW moment is inf"), "%s", err);
    free(err);
    char cmd[4200], *out;
    snprintf(cmd, sizeof cmd, "ls %s/p/checkpoints/*.safetensors 2>/dev/null | wc -l", f.dir);
    test_run(cmd, &out, NULL);
    cr_assert_eq(atoi(out), 0, "a checkpoint was saved");
    free(out);
    fixture_free(&f);
}

Test(trainer, huge_batch_validates_on_small_thread_stacks) {
    char *dir = test_mkdtemp();
    const int n = 1 << 19;
    float *x = malloc(sizeof(float) * (size_t)n);
    int64_t *y = malloc(sizeof(int64_t) * (size_t)n);
    for (int i = 0; i < n; i++) x[i] = (float)(i % 7) * 0.25f, y[i] = i % 2;
    const char *names[2] = {"train.safetensors", "eval.safetensors"};
    for (int s = 0; s < 2; s++) {
        StWriter *w = st_writer_new();
        int64_t xs[2] = {n, 1}, ys[1] = {n};
        st_writer_add_f32(w, "features", 2, xs, x);
        st_writer_add(w, "labels", ST_I64, 1, ys, y);
        char *p = path_in(dir, names[s]);
        AlbError e;
        cr_assert_eq(st_writer_save(w, p, &e), 0, "%s", e.msg);
        st_writer_free(w);
        free(p);
    }
    free(x);
    free(y);
    char cmd[8192], *err;
    snprintf(cmd, sizeof cmd,
             "ulimit -s 1024 && OMP_NUM_THREADS=2 %s train --config /dev/null --set train_features=%s/train.safetensors "
             "--set eval_features=%s/eval.safetensors --set num_labels=2 --set mlp_hidden_size=1 --set batch_size=%d "
             "--set num_epochs=1 --set dtype=float32 --set progress=false --set project_dir=%s/p",
             test_albertc(), dir, dir, n, dir);
    int rc = test_run(cmd, NULL, &err);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, err);
    free(err);
    test_rmtree(dir);
    free(dir);
}

/* threads is applied (it was parsed, validated and saved, never used): it overrides OMP_NUM_THREADS. */
Test(trainer, threads_setting_is_applied) {
    Fixture f = fixture(NULL);
    char *err;
    cr_assert_eq(train_cli(&f, "p", NULL, "--set threads=3", NULL, &err), 0, "%s", err);
    cr_assert(strstr(err, ", 3 threads)"), "%s", err);
    free(err);
    fixture_free(&f);
}

/* metrics.jsonl and the CSVs print doubles so that they read back to the same bits (%.9g did not). */
Test(trainer, metric_files_round_trip_doubles) {
    char *dir = test_mkdtemp();
    MetricsLog ml;
    AlbError e;
    const double loss = 1.0 / 3.0, accuracy = 0.1 + 0.2;
    cr_assert_eq(metrics_log_open(&ml, dir, -1, &e), 0, "%s", e.msg);
    cr_assert_eq(metrics_log_val(&ml, 7, loss, accuracy, &e), 0, "%s", e.msg);
    cr_assert_eq(metrics_log_train(&ml, 7, loss, &e), 0, "%s", e.msg);
    metrics_log_close(&ml);
    char *path = path_in(dir, "metrics.jsonl"), *text = slurp(path);
    char *second = strchr(text, '\n');
    cr_assert_not_null(second);
    *second++ = '\0';
    json_t *val = json_loads(text, 0, NULL), *train = json_loads(second, 0, NULL);
    cr_assert(json_is_object(val) && json_is_object(train), "%s", path);
    cr_expect_eq(json_real_value(json_object_get(val, "val/loss")), loss);
    cr_expect_eq(json_real_value(json_object_get(val, "val/accuracy")), accuracy);
    cr_expect_eq(json_real_value(json_object_get(train, "train/loss")), loss);
    json_decref(val);
    json_decref(train);
    free(text);
    free(path);
    const char *csvs[3] = {"val_loss.csv", "val_accuracy.csv", "train_loss.csv"};
    const double want[3] = {loss, accuracy, loss};
    for (int i = 0; i < 3; i++) {
        path = path_in(dir, csvs[i]);
        text = slurp(path);
        char *comma = strchr(text, ',') ? strchr(strchr(text, '\n'), ',') : NULL;
        cr_assert_not_null(comma, "%s", path);
        cr_expect_eq(strtod(comma + 1, NULL), want[i], "%s: %s", path, text);
        free(text);
        free(path);
    }
    test_rmtree(dir);
    free(dir);
}

Test(trainer, determinism_across_thread_counts) {
    Fixture f = fixture(NULL);
    char *err, cmd[8192];
    cr_assert_eq(train_cli(&f, "one", NULL, NULL, NULL, &err), 0, "%s", err);
    free(err);
    snprintf(cmd, sizeof cmd, "OMP_NUM_THREADS=3 %s train --config %s %s --set project_dir=%s/three", test_albertc(),
             f.config, f.options, f.dir);
    cr_assert_eq(test_run(cmd, NULL, &err), 0, "%s", err);
    free(err);
    expect_same_outputs(&f, "one", "three");
    fixture_free(&f);
}

/* ------------------------------------------------------------------ errors */

static void expect_exit(const char *extra_yaml, const char *more, int code, const char *needle) {
    Fixture f = fixture(extra_yaml);
    char *err;
    int rc = train_cli(&f, "p", NULL, more, NULL, &err);
    cr_assert_eq(rc, code, "exit %d, expected %d: %s", rc, code, err);
    cr_assert(strstr(err, needle), "expected '%s' in: %s", needle, err);
    free(err);
    fixture_free(&f);
}

Test(trainer, config_errors_exit_2) {
    expect_exit(NULL, "--set batch_size=0", 2, "batch_size must be >= 1");
    expect_exit("lerning_rate: 1\n", NULL, 2, "did you mean 'learning_rate'");
    expect_exit(NULL, "--set eval_features=", 2, "train_features and eval_features go together");
    expect_exit(NULL, "--set resume_from_checkpoint=true --set resume_option=path", 2, "checkpoint_path is empty");
    expect_exit(NULL, "--set storage_backend=s3", 2, "storage_backend");
    expect_exit(NULL, "--bogus", 2, "unknown option");
}

Test(trainer, bad_features_exit_1) {
    expect_exit(NULL, "--set num_labels=10 --set init_head=", 1, "outside [0, num_labels 10)");
    expect_exit(NULL, "--set eval_features=/nonexistent.safetensors", 1, "/nonexistent.safetensors");
}

/* Each of these is found before the features are read ("features:" is the
 * first line the feature step logs), with exit 2. */
Test(trainer, unusable_outputs_and_inputs_fail_before_the_features) {
    Fixture f = fixture(NULL);
    char *file = path_in(f.dir, "a_file"), more[8192];
    test_write_file(file, "x", 1);
    const char *cases[][2] = {
        {"--set project_dir=%s/below", "project_dir"},
        {"--set sync_to_storage=true --set remote_path=%s/below", "a_file"},
        {"--set resume_from_checkpoint=true --set resume_option=path --set checkpoint_path=%s.missing",
         "checkpoint not found"},
        {"--set resume_from_checkpoint=true --set resume_option=best", "no best checkpoint"},
        {"--set init_head=%s.missing", "a_file.missing"},
        {"--set init_head=%s", "a_file"},
        {"--set mlp_hidden_size=16", "mlp_hidden_size 16"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *err;
        snprintf(more, sizeof more, cases[i][0], file);
        int rc = train_cli(&f, "p", NULL, more, NULL, &err);
        cr_assert_eq(rc, 2, "%s: exit %d: %s", more, rc, err);
        cr_assert(strstr(err, cases[i][1]), "%s: expected '%s' in: %s", more, cases[i][1], err);
        cr_assert_null(strstr(err, "features:"), "%s: the features were loaded: %s", more, err);
        free(err);
    }
    free(file);
    fixture_free(&f);
}

/* A run that hangs at step 10 (stopped by SIGSTOP, as a stuck checkpoint
 * write would) gets SIGINT and SIGTERM: the first asks for a checkpoint, the
 * second must exit 130 at once, so no step-10 checkpoint is written. */
Test(trainer, second_signal_during_training_exits_at_once) {
    Fixture f = fixture("keep_last_n: 0\n");
    char cmd[16384], *out, *err;
    snprintf(cmd, sizeof cmd,
             "ALBERTC_TEST_KILL_AT_STEP=10 ALBERTC_TEST_KILL_SIGNAL=%d OMP_NUM_THREADS=1 %s train --config %s %s "
             "--set project_dir=%s/k 2>%s/stderr & pid=$!\n"
             /* at most 30 s: a run that died (no /proc entry) must not hang the suite */
             "i=0; while [ \"$(cut -d' ' -f3 /proc/$pid/stat 2>/dev/null)\" != T ] && [ $i -lt 3000 ]; do\n"
             "  i=$((i + 1)); sleep 0.01; done\n"
             "kill -INT $pid; kill -TERM $pid; kill -CONT $pid; wait $pid; echo $?",
             SIGSTOP, test_albertc(), f.config, f.options, f.dir, f.dir);
    cr_assert_eq(test_run(cmd, &out, NULL), 0);
    cr_assert_eq(atoi(out), 130, "exit %s", out);
    free(out);
    char *stderr_path = path_in(f.dir, "stderr");
    err = slurp(stderr_path);
    cr_assert(strstr(err, "interrupted again"), "%s", err);
    free(err);
    free(stderr_path);
    json_t *h = history(&f, "k");
    json_t *items = json_object_get(h, "checkpoints");
    long last = json_integer_value(json_object_get(json_array_get(items, json_array_size(items) - 1), "step"));
    cr_assert_lt(last, 10, "a checkpoint was saved at step %ld after the second signal", last);
    json_decref(h);
    fixture_free(&f);
}

Test(trainer, print_config_shows_the_effective_config_and_does_nothing) {
    Fixture f = fixture("batch_size: 4\n");
    char *out, *err, more[4200];
    cr_assert_eq(train_cli(&f, "p", NULL, "--set learning_rate=0.25 --print-config", &out, &err), 0, "%s", err);
    cr_assert(strstr(out, "\nbatch_size: 4\n") && strstr(out, "\nlearning_rate: 0.25\n"), "%s", out);
    cr_assert(strstr(out, "\nproject_dir: \""), "%s", out);
    cr_assert_str_eq(err, "");
    char *p = project_path(&f, "p");
    cr_assert_not(alb_dir_exists(p), "--print-config made %s", p);
    /* the YAML reads back to the same configuration */
    char *printed = path_in(f.dir, "printed.yaml");
    test_write_file(printed, out, strlen(out));
    free(out);
    free(err);
    char cmd[8192], *again;
    snprintf(cmd, sizeof cmd, "%s train --config %s --print-config", test_albertc(), printed);
    cr_assert_eq(test_run(cmd, &again, NULL), 0);
    cr_assert_eq(train_cli(&f, "p", NULL, "--set learning_rate=0.25 --print-config", &out, NULL), 0);
    cr_assert_str_eq(again, out);
    free(again);
    free(out);
    snprintf(more, sizeof more, "--print-config --json --set seed=9");
    cr_assert_eq(train_cli(&f, "p", NULL, more, &out, NULL), 0);
    json_t *j = json_loads(out, 0, NULL);
    cr_assert_not_null(j, "%s", out);
    cr_assert_eq(json_integer_value(json_object_get(j, "seed")), 9);
    cr_assert_eq(json_integer_value(json_object_get(j, "batch_size")), 4);
    json_decref(j);
    free(out);
    cr_assert_eq(train_cli(&f, "p", NULL, "--print-config --set batch_size=0", NULL, &err), 2);
    cr_assert(strstr(err, "batch_size must be >= 1"), "%s", err);
    free(err);
    free(printed);
    free(p);
    fixture_free(&f);
}

Test(trainer, help_exits_0) {
    char *out;
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s train --help", test_albertc());
    cr_assert_eq(test_run(cmd, &out, NULL), 0);
    cr_assert(strstr(out, "Exit codes") && strstr(out, "ALBERTC_TEST_KILL_AT_STEP"));
    free(out);
}
