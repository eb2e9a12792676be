/* The feature cache (src/pipeline/feature_cache.c) on a tiny random model, and
 * `albertc train` from text: the seed yamls, bad rows, model resolution. */
#include <criterion/criterion.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io/safetensors.h"
#include "model/config.h"
#include "pipeline/encode.h"
#include "model/init.h"
#include "testutil.h"
#include "pipeline/feature_cache.h"
#include "util/fileio.h"

static const char *const TEXTS[] = {
    "I am still waiting on my card?",
    "What can I do if my card still hasn't arrived after 2 weeks?",
    "I have been waiting over a week. Is the card still coming?",
    "How do I top up my account?",
    "I am still waiting on my card?",  /* duplicate */
    "Can I use Apple Pay?",
    "Why was I charged a fee for my transfer?",
    "My card was declined at the shop, twice, and I don't know why this keeps happening to me.",
    "How do I top up my account?",     /* duplicate */
    "What is the exchange rate?",
    "hello",
    "Where is my money? I sent it three days ago and it still has not arrived in the other account.",
};
#define N_TEXTS ((int)(sizeof TEXTS / sizeof TEXTS[0]))
#define N_DISTINCT 10

typedef struct {
    char *dir;          /* temp: model/, cache/ */
    char model[4200];
    char cache[4200];
    AlbertModel *m;
    AlbertTokenizer *tok;
    char log[8192];     /* warnings and infos, one per line */
} Env;

static void collect(void *ctx, int is_warning, const char *msg) {
    Env *e = ctx;
    size_t n = strlen(e->log);
    snprintf(e->log + n, sizeof e->log - n, "%s%s\n", is_warning ? "WARNING " : "", msg);
}

static void make_model(const char *dir, uint64_t seed) {
    AlbertConfig c;
    AlbError err;
    cr_assert_eq(albert_config_preset(&c, "tiny"), 0);
    cr_assert_eq(albert_init_model_dir(&c, seed, dir, test_shared_path("models/albert-base-v2/spiece.model"), &err), 0,
                 "%s", err.msg);
}

static void env_load(Env *e, AlbDtype dtype) {
    AlbError err;
    if (e->m) albert_free(e->m);
    cr_assert_eq(albert_load(&e->m, e->model, dtype, &err), 0, "%s", err.msg);
    if (!e->tok) {
        char sp[4300];
        snprintf(sp, sizeof sp, "%s/spiece.model", e->model);
        cr_assert_eq(tokenizer_load(&e->tok, sp, &err), 0, "%s", err.msg);
    }
}

static Env env_new(void) {
    Env e = {0};
    e.dir = test_mkdtemp();
    snprintf(e.model, sizeof e.model, "%s/model", e.dir);
    snprintf(e.cache, sizeof e.cache, "%s/cache", e.dir);
    make_model(e.model, 1);
    env_load(&e, ALB_F32);
    return e;
}

static void env_free(Env *e) {
    albert_free(e->m);
    tokenizer_free(e->tok);
    test_rmtree(e->dir);
    free(e->dir);
}

static FeatureCacheOptions options(Env *e, int max_length) {
    return (FeatureCacheOptions){e->cache, e->m, e->tok, max_length, 4, 0, 60.0, collect, NULL, e, NULL};
}

/* Features of TEXTS [N_TEXTS, H], malloc'ed. */
static float *get(Env *e, const FeatureCacheOptions *o, FeatureCacheStats *st) {
    AlbError err;
    float *out = malloc(sizeof(float) * N_TEXTS * (size_t)albert_config(e->m)->hidden_size);
    e->log[0] = 0;
    FeatureCacheResult r;
    cr_assert_eq(feature_cache_get(o, (const char *const *)TEXTS, N_TEXTS, &r, st, &err), 0, "%s", err.msg);
    cr_assert_eq(r.H, albert_config(e->m)->hidden_size);
    cr_assert_geq(r.n_entries, N_DISTINCT);
    feature_cache_gather(&r, 0, N_TEXTS, out);
    feature_cache_result_free(&r);
    return out;
}

static size_t feat_bytes(const Env *e) { return sizeof(float) * N_TEXTS * (size_t)albert_config(e->m)->hidden_size; }

/* A stop request (a signal) ends the pass after the current batch and saves it: the next run starts there. */
Test(feature_cache, stop_saves_the_work_done) {
    Env e = env_new();
    FeatureCacheOptions o = options(&e, 128);
    volatile sig_atomic_t stop = 1;
    o.stop = &stop;
    FeatureCacheResult r;
    FeatureCacheStats st;
    AlbError err;
    cr_assert_eq(feature_cache_get(&o, (const char *const *)TEXTS, N_TEXTS, &r, &st, &err), 1);
    cr_assert_eq(st.n_computed, 4, "one batch of 4");
    o.stop = NULL;
    float *all = get(&e, &o, &st);
    cr_assert_eq(st.n_cached, 4);
    cr_assert_eq(st.n_computed, N_DISTINCT - 4);
    free(all);
    env_free(&e);
}

Test(feature_cache, second_run_computes_nothing) {
    Env e = env_new();
    FeatureCacheOptions o = options(&e, 128);
    FeatureCacheStats s1, s2;
    float *a = get(&e, &o, &s1);
    cr_assert_eq(s1.n_texts, N_TEXTS);
    cr_assert_eq(s1.n_distinct, N_DISTINCT);
    cr_assert_eq(s1.n_computed, N_DISTINCT, "duplicates are encoded once");
    cr_assert_eq(s1.n_cached, 0);
    /* duplicates get the same row */
    int H = albert_config(e.m)->hidden_size;
    cr_assert(!memcmp(a, a + 4 * H, sizeof(float) * H));
    float *b = get(&e, &o, &s2);
    cr_assert_eq(s2.n_computed, 0);
    cr_assert_eq(s2.n_cached, N_DISTINCT);
    cr_assert(!memcmp(a, b, feat_bytes(&e)));
    cr_assert(strstr(e.log, "10 found, 0 to compute"), "%s", e.log);
    free(a);
    free(b);
    env_free(&e);
}

Test(feature_cache, features_equal_a_direct_forward) {
    Env e = env_new();
    FeatureCacheOptions o = options(&e, 128);
    FeatureCacheStats st;
    float *a = get(&e, &o, &st);
    int H = albert_config(e.m)->hidden_size;
    for (int i = 0; i < N_TEXTS; i += 5) {
        TokenIds ids = {0};
        tokenizer_encode(e.tok, TEXTS[i], strlen(TEXTS[i]), 128, &ids);
        float cls[64];
        AlbError err;
        cr_assert_eq(albert_forward(e.m, 1, ids.n, ids.ids, NULL, NULL, NULL, cls, NULL, &err), 0);
        for (int j = 0; j < H; j++) cr_assert_float_eq(a[(size_t)i * H + j], cls[j], ENCODER_F32_PAIR_TOL, "text %d dim %d", i, j);
        token_ids_free(&ids);
    }
    free(a);
    env_free(&e);
}

Test(feature_cache, other_dtype_max_length_or_model_recompute) {
    Env e = env_new();
    FeatureCacheStats st;
    FeatureCacheOptions o = options(&e, 128);
    free(get(&e, &o, &st));
    char first[4096];
    snprintf(first, sizeof first, "%s", st.path);

    o = options(&e, 8);  /* max_length: truncates the long texts, another namespace */
    float *short8 = get(&e, &o, &st);
    cr_assert_eq(st.n_computed, N_DISTINCT);
    cr_assert_str_neq(st.path, first);
    free(short8);

    env_load(&e, ALB_BF16);
    o = options(&e, 128);
    free(get(&e, &o, &st));
    cr_assert_eq(st.n_computed, N_DISTINCT, "bf16 is another namespace");

    make_model(e.model, 2);  /* other weights, same directory */
    env_load(&e, ALB_F32);
    o = options(&e, 128);
    free(get(&e, &o, &st));
    cr_assert_eq(st.n_computed, N_DISTINCT, "other weights are another namespace");
    cr_assert_str_neq(st.path, first);
    env_free(&e);
}

/* The engine (albert_engine: dtype and engine variant) is part of the key: an
 * int8 run computes its own features, and a file of another engine found
 * under its name is refused (its metadata names the other engine), a miss. */
Test(feature_cache, another_engine_is_a_miss_never_a_hit) {
    Env e = env_new();
    FeatureCacheOptions o = options(&e, 128);
    FeatureCacheStats st;
    free(get(&e, &o, &st));
    char f32_path[4096], f32_engine[64];
    snprintf(f32_path, sizeof f32_path, "%s", st.path);
    snprintf(f32_engine, sizeof f32_engine, "%s", albert_engine(e.m));

    env_load(&e, ALB_INT8);
    o = options(&e, 128);
    float *a = get(&e, &o, &st);
    cr_assert_eq(st.n_computed, N_DISTINCT, "int8 is another namespace");
    cr_assert_str_neq(st.path, f32_path);
    SafeTensors sf;
    AlbError err;
    cr_assert_eq(st_open(&sf, st.path, &err), 0, "%s", err.msg);
    cr_expect_str_eq(st_meta(&sf, "engine"), albert_engine(e.m));
    st_close(&sf);

    char *f32_bytes;
    size_t len;
    cr_assert_eq(alb_read_file(f32_path, &f32_bytes, &len, &err), 0, "%s", err.msg);
    test_write_file(st.path, f32_bytes, len);  /* the fp32 file under the int8 name */
    free(f32_bytes);
    float *b = get(&e, &o, &st);
    cr_expect_eq(st.n_cached, 0);
    cr_expect_eq(st.n_computed, N_DISTINCT);
    char want[256];
    snprintf(want, sizeof want, "metadata engine is '%s', expected '%s'", f32_engine, albert_engine(e.m));
    cr_expect(strstr(e.log, want), "%s", e.log);
    cr_expect(!memcmp(a, b, feat_bytes(&e)), "int8 features are the same bits in any batch");
    free(a);
    free(b);
    env_free(&e);
}

static void flip_byte(const char *path, long from_end) {
    FILE *fp = fopen(path, "r+b");
    cr_assert_not_null(fp);
    fseek(fp, -from_end, SEEK_END);
    int c = fgetc(fp);
    fseek(fp, -from_end, SEEK_END);
    fputc(c ^ 0x10, fp);
    fclose(fp);
}

Test(feature_cache, corrupt_file_is_detected_and_rebuilt) {
    Env e = env_new();
    FeatureCacheOptions o = options(&e, 128);
    FeatureCacheStats st;
    float *a = get(&e, &o, &st);
    flip_byte(st.path, 17);  /* inside the features data */
    float *b = get(&e, &o, &st);
    cr_assert(strstr(e.log, "WARNING") && strstr(e.log, "checksum"), "%s", e.log);
    cr_assert_eq(st.n_computed, N_DISTINCT);
    cr_assert(!memcmp(a, b, feat_bytes(&e)));
    free(b);
    b = get(&e, &o, &st);  /* the rebuilt file is trusted again */
    cr_assert_eq(st.n_computed, 0);
    /* a truncated file: unreadable, reported, rebuilt */
    cr_assert_eq(truncate(st.path, 100), 0);
    free(b);
    b = get(&e, &o, &st);
    cr_assert(strstr(e.log, "WARNING"), "%s", e.log);
    cr_assert_eq(st.n_computed, N_DISTINCT);
    cr_assert(!memcmp(a, b, feat_bytes(&e)));
    free(a);
    free(b);
    env_free(&e);
}

/* ------------------------------------------------------------------ CLI from text */

static char *write_data(const char *dir, const char *bad_row) {
    char *data = malloc(strlen(dir) + 8);
    sprintf(data, "%s/data", dir);
    mkdir(data, 0777);
    char path[4200], buf[8192];
    size_t n = 0;
    for (int i = 0; i < N_TEXTS; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "{\"text\": \"%s\", \"label\": %d}\n", TEXTS[i], i % 3);
    if (bad_row) n += (size_t)snprintf(buf + n, sizeof buf - n, "%s\n", bad_row);
    snprintf(path, sizeof path, "%s/train.jsonl", data);
    test_write_file(path, buf, n);
    n = 0;
    for (int i = 0; i < 5; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "{\"text\": \"%s\", \"label\": %d}\n", TEXTS[i + 3], i % 3);
    snprintf(path, sizeof path, "%s/test.jsonl", data);
    test_write_file(path, buf, n);
    return data;
}

static int train_text(const char *dir, const char *model, const char *env, const char *more, char **err) {
    char cmd[16384];
    snprintf(cmd, sizeof cmd,
             "%s OMP_NUM_THREADS=1 %s train --config %s/configs/banking77.yaml --set data_dir=%s/data --set num_labels=3 "
             "--set model_name=%s --set cache_dir=%s/cache --set project_dir=%s/p --set batch_size=2 "
             "--set num_epochs=2 --set steps_freq=2 --set val_steps_freq=3 --set progress=false %s",
             env ? env : "", test_albertc(), getenv("PWD") ? getenv("PWD") : ".", dir, model, dir, dir,
             more ? more : "");
    return test_run(cmd, NULL, err);
}

Test(feature_cache, cli_text_run_then_cached_run_same_metrics) {
    char *dir = test_mkdtemp(), model[4200], *err;
    snprintf(model, sizeof model, "%s/model", dir);
    make_model(model, 3);
    free(write_data(dir, NULL));
    cr_assert_eq(train_text(dir, model, NULL, NULL, &err), 0, "%s", err);
    cr_assert(strstr(err, "10 distinct: 0 found, 10 to compute"), "%s", err);
    free(err);
    char a[4300], b[4300];
    snprintf(a, sizeof a, "%s/p/metrics.jsonl", dir);
    char *first, *second;
    size_t len;
    AlbError e;
    cr_assert_eq(alb_read_file(a, &first, &len, &e), 0);
    cr_assert_eq(train_text(dir, model, NULL, NULL, &err), 0, "%s", err);
    cr_assert(strstr(err, " found, 0 to compute"), "%s", err);
    free(err);
    snprintf(b, sizeof b, "%s/p/metrics.jsonl", dir);
    cr_assert_eq(alb_read_file(b, &second, &len, &e), 0);
    cr_assert_str_eq(first, second);
    free(first);
    free(second);
    test_rmtree(dir);
    free(dir);
}

Test(feature_cache, cli_bad_rows_fail_or_skip) {
    char *dir = test_mkdtemp(), model[4200], *err;
    snprintf(model, sizeof model, "%s/model", dir);
    make_model(model, 3);
    free(write_data(dir, "{\"text\": \"no label\"}"));
    cr_assert_eq(train_text(dir, model, NULL, NULL, &err), 1, "%s", err);
    cr_assert(strstr(err, "train.jsonl:13:"), "%s", err);
    free(err);
    cr_assert_eq(train_text(dir, model, NULL, "--set skip_bad_rows=true", &err), 0, "%s", err);
    cr_assert(strstr(err, "WARNING | skipped bad rows: 1 in the train split"), "%s", err);
    free(err);
    test_rmtree(dir);
    free(dir);
}

Test(feature_cache, cli_model_and_label_errors_exit_2) {
    char *dir = test_mkdtemp(), model[4200], *err;
    snprintf(model, sizeof model, "%s/model", dir);
    make_model(model, 3);
    free(write_data(dir, NULL));
    cr_assert_eq(train_text(dir, "no-such-org/no-such-model", NULL, NULL, &err), 2, "%s", err);
    cr_assert(strstr(err, "no-such-org/no-such-model"), "%s", err);
    free(err);
    cr_assert_eq(train_text(dir, model, NULL, "--set num_labels=4", &err), 2, "%s", err);
    cr_assert(strstr(err, "num_labels is 4 but the dataset has 3 labels"), "%s", err);
    free(err);
    test_rmtree(dir);
    free(dir);
}

/* An unusable project_dir or cache_dir is found before the model is loaded
 * or any text encoded (the first of those logs "encoder"). */
Test(feature_cache, cli_unusable_dirs_fail_before_encoding) {
    char *dir = test_mkdtemp(), model[4200], file[4200], more[8600], *err;
    snprintf(model, sizeof model, "%s/model", dir);
    make_model(model, 3);
    free(write_data(dir, NULL));
    snprintf(file, sizeof file, "%s/a_file", dir);
    test_write_file(file, "x", 1);
    const char *settings[] = {"project_dir", "cache_dir"};
    for (int i = 0; i < 2; i++) {
        snprintf(more, sizeof more, "--set %s=%s/below", settings[i], file);
        cr_assert_eq(train_text(dir, model, NULL, more, &err), 2, "%s: %s", more, err);
        cr_assert(strstr(err, settings[i]) && strstr(err, "a_file"), "%s: %s", more, err);
        cr_assert_null(strstr(err, "encoder"), "%s: the encoder was loaded: %s", more, err);
        cr_assert_null(strstr(err, "feature cache"), "%s: %s", more, err);
        free(err);
    }
    test_rmtree(dir);
    free(dir);
}

Test(feature_cache, cli_default_model_missing_makes_a_random_base_model, .timeout = 120) {
    char *dir = test_mkdtemp(), *err;
    free(write_data(dir, NULL));
    /* the default model id, with an empty hub cache */
    char full[20000];
    snprintf(full, sizeof full,
             "HF_HUB_CACHE=%s/hub HF_HOME=%s/hf OMP_NUM_THREADS=2 %s train --config configs/banking77.yaml "
             "--set data_dir=%s/data --set num_labels=3 --set cache_dir=%s/cache --set project_dir=%s/p "
             "--set batch_size=2 --set num_epochs=1 --set max_steps_per_epoch=2 --set progress=false --set seed=7 "
             "--set max_length=16",
             dir, dir, test_albertc(), dir, dir, dir);
    cr_assert_eq(test_run(full, NULL, &err), 0, "%s", err);
    cr_assert(strstr(err, "WARNING | random weights"), "%s", err);
    char *last = strstr(err, "random weights");
    cr_assert(last && strstr(last + 1, "random weights"), "the summary repeats the warning: %s", err);
    char probe[4400];
    snprintf(probe, sizeof probe, "%s/cache/random-albert-base-v2-seed7/model.safetensors", dir);
    cr_assert(alb_file_exists(probe));
    free(err);
    test_rmtree(dir);
    free(dir);
}

Test(feature_cache, seed_yamls_run_with_test_config, .timeout = 120) {
    char *dir = test_mkdtemp(), model[4200], cmd[16384], *err;
    snprintf(model, sizeof model, "%s/model", dir);
    make_model(model, 4);
    snprintf(cmd, sizeof cmd,
             "OMP_NUM_THREADS=1 %s train --config %s --test-config %s --set model_name=%s --set cache_dir=%s/cache "
             "--set project_dir=%s/p --set progress=false --json",
             test_albertc(), test_shared_path("seed/test_albert_finetuning.yaml"),
             test_shared_path("seed/test-config-ci.yaml"), model, dir, dir);
    char *out;
    cr_assert_eq(test_run(cmd, &out, &err), 0, "%s", err);
    cr_assert(strstr(out, "\"steps\":15"), "%s", out);
    cr_assert(strstr(err, "Step 15 | val/accuracy: "), "%s", err);
    cr_assert(strstr(err, "use_tt: true: not applicable here"), "%s", err);
    free(out);
    free(err);
    test_rmtree(dir);
    free(dir);
}

/* The feature pass killed after 2 encoder batches (64 texts each), saving after every batch:
 * the first batch's save survives intact and the finished run equals a clean one. (Through the
 * CLI: a forked child must not run OpenMP code after its parent did.) */
Test(feature_cache, crash_mid_pass_keeps_saved_work, .timeout = 120) {
    char *dir = test_mkdtemp(), model[4200], path[4300], more[9000], *err;
    snprintf(model, sizeof model, "%s/model", dir);
    make_model(model, 5);
    snprintf(path, sizeof path, "%s/data", dir);
    mkdir(path, 0777);
    char *buf = malloc(1 << 16);
    size_t n = 0, first10 = 0;
    for (int i = 0; i < 200; i++) {
        n += (size_t)sprintf(buf + n, "{\"text\": \"message %d: where is card number %d?\", \"label\": %d}\n", i,
                             i * 7, i % 3);
        if (i == 9) first10 = n;
    }
    snprintf(path, sizeof path, "%s/data/train.jsonl", dir);
    test_write_file(path, buf, n);
    snprintf(path, sizeof path, "%s/data/test.jsonl", dir);
    test_write_file(path, buf, first10);
    free(buf);

    snprintf(more, sizeof more, "--set cache_dir=%s/clean_cache --set project_dir=%s/clean", dir, dir);
    cr_assert_eq(train_text(dir, model, NULL, more, &err), 0, "%s", err);
    cr_assert(strstr(err, "0 found, 200 to compute"), "%s", err);
    free(err);
    cr_assert_eq(train_text(dir, model, "ALBERTC_TEST_KILL_AFTER_BATCHES=2 ALBERTC_CACHE_SAVE_SECONDS=0", NULL, &err),
                 128 + SIGKILL, "%s", err);
    free(err);
    /* one intact file, no temporary left behind */
    char cmd[4500], *out;
    snprintf(cmd, sizeof cmd, "ls %s/cache", dir);
    cr_assert_eq(test_run(cmd, &out, NULL), 0);
    cr_assert(strstr(out, ".safetensors\n") && !strstr(out, ".tmp") && strchr(out, '\n') == strrchr(out, '\n'), "%s",
              out);
    free(out);
    cr_assert_eq(train_text(dir, model, NULL, NULL, &err), 0, "%s", err);
    cr_assert(strstr(err, "64 found, 136 to compute"), "%s", err);
    free(err);
    char a[4400], b[4400], *ta, *tb;
    size_t len;
    AlbError e;
    snprintf(a, sizeof a, "%s/clean/metrics.jsonl", dir);
    snprintf(b, sizeof b, "%s/p/metrics.jsonl", dir);
    cr_assert_eq(alb_read_file(a, &ta, &len, &e), 0);
    cr_assert_eq(alb_read_file(b, &tb, &len, &e), 0);
    cr_assert_str_eq(ta, tb, "the resumed pass forms the same batches, so the same features");
    free(ta);
    free(tb);
    test_rmtree(dir);
    free(dir);
}

/* ------------------------------------------------------------------ encode_cls */

typedef struct {
    const EncodeSeq *seqs;
    int max_tokens, n_batches, n_rows;
} BatchLog;

static int check_batch(void *ctx, const int *rows, int B, long tokens) {
    BatchLog *l = ctx;
    int L = 0;
    long real = 0;
    for (int b = 0; b < B; b++) {
        L = l->seqs[rows[b]].n > L ? l->seqs[rows[b]].n : L;
        real += l->seqs[rows[b]].n;
    }
    cr_assert(B == 1 || (long)B * L <= l->max_tokens, "batch of %d x %d over the budget %d", B, L, l->max_tokens);
    cr_assert_eq(tokens, real);
    l->n_batches++;
    l->n_rows += B;
    return 0;
}

Test(feature_cache, encode_token_budget_and_batch_independence) {
    Env e = env_new();
    EncodeSeq seqs[N_TEXTS];
    TokenIds ids[N_TEXTS];
    for (int i = 0; i < N_TEXTS; i++) {
        memset(&ids[i], 0, sizeof ids[i]);
        tokenizer_encode(e.tok, TEXTS[i], strlen(TEXTS[i]), 128, &ids[i]);
        seqs[i] = (EncodeSeq){.n = ids[i].n, .ids = ids[i].ids};
    }
    int H = albert_config(e.m)->hidden_size;
    float *a = malloc(sizeof(float) * N_TEXTS * H), *b = malloc(sizeof(float) * N_TEXTS * H);
    AlbError err;
    BatchLog l = {seqs, 40, 0, 0};
    cr_assert_eq(encode_cls(e.m, seqs, N_TEXTS, 8, 40, a, check_batch, &l, &err), 0, "%s", err.msg);
    cr_assert_eq(l.n_rows, N_TEXTS);
    cr_assert_gt(l.n_batches, 2);
    cr_assert_eq(encode_cls(e.m, seqs, N_TEXTS, 1, 0, b, NULL, NULL, &err), 0, "%s", err.msg);
    /* batching changes GEMM shapes, hence summation order: equal up to rounding, not bitwise */
    float worst = 0;
    for (int i = 0; i < N_TEXTS * H; i++) worst = fmaxf(worst, fabsf(a[i] - b[i]));
    cr_assert_leq(worst, ENCODER_F32_PAIR_TOL, "batched vs one at a time: max difference %g", worst);
    for (int i = 0; i < N_TEXTS; i++) token_ids_free(&ids[i]);
    free(a);
    free(b);
    env_free(&e);
}

/* encode_seqs one sequence per batch is albert_forward on that sequence alone:
 * every output bit for bit, in input order, the caller's mask (holes
 * included) passed through, hidden rows past each length left alone. */
Test(feature_cache, encode_seqs_outputs_and_mask_equal_single_forwards) {
    Env e = env_new();
    static const int32_t ids0[] = {2, 10, 11, 12, 13, 14, 3}, ids1[] = {2, 3}, ids2[] = {2, 20, 21, 22, 3};
    static const int32_t mask0[] = {1, 1, 0, 1, 0, 1, 1}, mask2[] = {0, 0, 0, 0, 0};
    static const int32_t types0[] = {0, 0, 0, 1, 1, 1, 1};  /* a pair's A and B */
    const EncodeSeq seqs[3] = {{7, ids0, mask0, types0}, {2, ids1, NULL, NULL}, {5, ids2, mask2, NULL}};
    const int32_t ones[2] = {1, 1}, *masks[3] = {mask0, ones, mask2}, *types[3] = {types0, NULL, NULL};
    enum { N = 3, ROWS = 8 };
    int H = albert_config(e.m)->hidden_size;
    float *cls = malloc(sizeof(float) * N * H), *pooler = malloc(sizeof(float) * N * H);
    float *hidden = malloc(sizeof(float) * N * ROWS * H), *cls_only = malloc(sizeof(float) * N * H);
    float *want_hidden = malloc(sizeof(float) * ROWS * H), want_cls[512], want_pooler[512];
    cr_assert_leq(H, 512);
    for (int i = 0; i < N * ROWS * H; i++) hidden[i] = -7.0f;
    AlbError err;
    EncodeOut out = {.cls = cls, .pooler = pooler, .hidden = hidden, .hidden_rows = ROWS};
    cr_assert_eq(encode_seqs(e.m, seqs, N, 1, 0, &out, NULL, NULL, &err), 0, "%s", err.msg);
    cr_assert_eq(encode_cls(e.m, seqs, N, 1, 0, cls_only, NULL, NULL, &err), 0, "%s", err.msg);
    for (int s = 0; s < N; s++) {
        int n = seqs[s].n;
        cr_assert_eq(albert_forward(e.m, 1, n, seqs[s].ids, types[s], masks[s], want_hidden, want_cls, want_pooler, &err), 0,
                     "%s", err.msg);
        cr_expect_arr_eq(cls + (size_t)s * H, want_cls, sizeof(float) * H, "cls of sequence %d", s);
        cr_expect_arr_eq(cls_only + (size_t)s * H, want_cls, sizeof(float) * H, "encode_cls of sequence %d", s);
        cr_expect_arr_eq(pooler + (size_t)s * H, want_pooler, sizeof(float) * H, "pooler of sequence %d", s);
        cr_expect_arr_eq(hidden + (size_t)s * ROWS * H, want_hidden, sizeof(float) * n * H, "hidden of %d", s);
        for (int i = n * H; i < ROWS * H; i++) cr_assert_eq(hidden[(size_t)s * ROWS * H + i], -7.0f);
    }
    /* a mask hole changes the result: the mask is not replaced by a prefix */
    const EncodeSeq full = {7, ids0, NULL, NULL};
    float full_cls[512];
    cr_assert_eq(encode_cls(e.m, &full, 1, 1, 0, full_cls, NULL, NULL, &err), 0, "%s", err.msg);
    cr_expect_neq(memcmp(full_cls, cls, sizeof(float) * H), 0);
    /* and so do the token types: they reach the encoder */
    const EncodeSeq untyped = {7, ids0, mask0, NULL};
    cr_assert_eq(encode_cls(e.m, &untyped, 1, 1, 0, full_cls, NULL, NULL, &err), 0, "%s", err.msg);
    cr_expect_neq(memcmp(full_cls, cls, sizeof(float) * H), 0);
    out.hidden_rows = 6;
    cr_expect_eq(encode_seqs(e.m, seqs, N, 1, 0, &out, NULL, NULL, &err), -1);
    cr_expect(strstr(err.msg, "sequence 0 has 7 tokens, more than the 6 hidden rows"), "%s", err.msg);
    free(cls);
    free(pooler);
    free(hidden);
    free(cls_only);
    free(want_hidden);
    env_free(&e);
}
