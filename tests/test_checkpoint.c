/* Checkpoint files, checkpoint_history.json, retention and resume lookup. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "train/checkpoint.h"
#include "util/fileio.h"
#include "testutil.h"

TestSuite(checkpoint, .init = test_tmp_setup, .fini = test_tmp_teardown);

/* A head and optimizer that have taken two steps, so every array is non-trivial. */
static void trained(Head *h, AdamW *opt, int bf16) {
    AlbError err;
    cr_assert_eq(head_create(h, 16, 8, 5, bf16, 4, &err), 0, "%s", err.msg);
    head_init_params(h, 3);
    adamw_create(opt, HEAD_N_TENSORS, h->numel, 1e-2, 0.9, 0.999, 1e-8, 0.01, bf16);
    float x[4 * 16];
    for (int i = 0; i < 4 * 16; i++) x[i] = (float)((i * 37) % 11) / 11.0f - 0.5f;
    int labels[4] = {0, 3, 4, 1};
    for (int s = 0; s < 2; s++) {
        head_zero_grad(h);
        head_forward(h, x, 4);
        head_loss(h, labels);
        head_backward(h, labels, 1.0f);
        adamw_step(opt, h->params, h->grads);
    }
}

static CheckpointMeta full_meta(long step, const char *metrics) {
    CheckpointMeta m = {
        .step = step,
        .epoch = 2,
        .epoch_position = 17,
        .final = 0,
        .metrics_json = metrics ? strdup(metrics) : NULL,
        .label_names_json = strdup("[\"a\",\"b\",\"c\",\"d\",\"e\"]"),
        .config_json = strdup("{\"batch_size\":8,\"learning_rate\":0.001}"),
        .encoder_id = strdup("albert/albert-base-v2"),
        .encoder_hash = strdup("xxh64:0123456789abcdef"),
        .engine = strdup("int8/onednn-avx512_core_vnni"),
        .rng_state = strdup("9e3779b97f4a7c15"),
        .data_order = strdup("epoch=2;seed=23"),
    };
    return m;
}

static int count_files(const char *dir, const char *substr) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strstr(e->d_name, substr)) n++;
    closedir(d);
    return n;
}

Test(checkpoint, round_trip_keeps_every_field) {
    for (int bf16 = 0; bf16 <= 1; bf16++) {
        Head h, h2;
        AdamW opt, opt2;
        AlbError err;
        trained(&h, &opt, bf16);
        CheckpointMeta m = full_meta(40, "{\"val/loss\":1.25,\"val/accuracy\":0.5}");
        m.final = 1;
        const char *path = test_tmp_path(bf16 ? "b.safetensors" : "f.safetensors");
        cr_assert_eq(checkpoint_save(path, &h, &opt, &m, &err), 0, "%s", err.msg);

        cr_assert_eq(head_create_from_file(&h2, path, bf16, 4, &err), 0, "%s", err.msg);
        adamw_create(&opt2, HEAD_N_TENSORS, h2.numel, 1e-2, 0.9, 0.999, 1e-8, 0.01, bf16);
        CheckpointMeta back;
        cr_assert_eq(checkpoint_load(path, &h2, &opt2, &back, &err), 0, "%s", err.msg);
        cr_expect_arr_eq(h.params, h2.params, (size_t)h.n_params * sizeof(float));
        cr_expect_arr_eq(opt.exp_avg, opt2.exp_avg, (size_t)opt.n * sizeof(float));
        cr_expect_arr_eq(opt.exp_avg_sq, opt2.exp_avg_sq, (size_t)opt.n * sizeof(float));
        cr_expect_eq(opt2.step, 2);
        cr_expect_eq(back.step, 40);
        cr_expect_eq(back.epoch, 2);
        cr_expect_eq(back.epoch_position, 17);
        cr_expect_eq(back.final, 1);
        cr_expect_str_eq(back.dtype, bf16 ? "bfloat16" : "float32");
        cr_expect_str_eq(back.metrics_json, m.metrics_json);
        cr_expect_str_eq(back.label_names_json, m.label_names_json);
        cr_expect_str_eq(back.config_json, m.config_json);
        cr_expect_str_eq(back.encoder_id, m.encoder_id);
        cr_expect_str_eq(back.encoder_hash, m.encoder_hash);
        cr_expect_str_eq(back.engine, m.engine);
        cr_expect_str_eq(back.rng_state, m.rng_state);
        cr_expect_str_eq(back.data_order, m.data_order);

        CheckpointMeta only;
        cr_assert_eq(checkpoint_read_meta(path, &only, &err), 0, "%s", err.msg);
        cr_expect_eq(only.step, 40);
        checkpoint_meta_free(&only);
        checkpoint_meta_free(&back);
        checkpoint_meta_free(&m);
        adamw_free(&opt);
        adamw_free(&opt2);
        head_free(&h);
        head_free(&h2);
    }
}

Test(checkpoint, optimizer_state_is_optional_and_asked_for) {
    Head h;
    AdamW opt;
    AlbError err;
    trained(&h, &opt, 0);
    CheckpointMeta m = full_meta(5, NULL);
    const char *path = test_tmp_path("no_optim.safetensors");
    cr_assert_eq(checkpoint_save(path, &h, NULL, &m, &err), 0, "%s", err.msg);
    cr_expect_eq(checkpoint_load(path, &h, NULL, NULL, &err), 0, "%s", err.msg);
    cr_expect_eq(checkpoint_load(path, &h, &opt, NULL, &err), -1);
    cr_expect(strstr(err.msg, path) && strstr(err.msg, "save_optim"), "%s", err.msg);
    /* invalid JSON in a JSON field is refused before anything is written */
    free(m.metrics_json);
    m.metrics_json = strdup("{\"val/loss\": ");
    cr_expect_eq(checkpoint_save(test_tmp_path("bad.safetensors"), &h, NULL, &m, &err), -1);
    cr_expect(strstr(err.msg, "metrics"), "%s", err.msg);
    free(m.metrics_json);
    m.metrics_json = strdup("{\"val/loss\": \"low\"}");
    cr_expect_eq(checkpoint_save(test_tmp_path("bad.safetensors"), &h, NULL, &m, &err), -1);
    cr_expect(strstr(err.msg, "object of numbers"), "%s", err.msg);
    cr_expect_eq(alb_file_exists(test_tmp_path("bad.safetensors")), 0);
    checkpoint_meta_free(&m);
    adamw_free(&opt);
    head_free(&h);
}

/* A save that fails half-way (file size limit) leaves the old file intact and no temporary. */
Test(checkpoint, failed_save_leaves_previous_file_and_no_tmp) {
    Head h, big;
    AdamW opt;
    AlbError err;
    trained(&h, &opt, 0);
    cr_assert_eq(head_create(&big, 256, 64, 10, 0, 1, &err), 0, "%s", err.msg);
    head_init_params(&big, 1);
    CheckpointMeta m = full_meta(1, NULL);
    const char *path = test_tmp_path("ckpt.safetensors");
    cr_assert_eq(checkpoint_save(path, &h, &opt, &m, &err), 0, "%s", err.msg);
    char *before;
    size_t before_len;
    cr_assert_eq(alb_read_file(path, &before, &before_len, &err), 0);

    signal(SIGXFSZ, SIG_IGN);
    struct rlimit lim = {.rlim_cur = 32 * 1024, .rlim_max = RLIM_INFINITY};
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    cr_expect_eq(checkpoint_save(path, &big, NULL, &m, &err), -1);
    cr_expect(strstr(err.msg, path), "%s", err.msg);
    lim.rlim_cur = RLIM_INFINITY;
    setrlimit(RLIMIT_FSIZE, &lim);

    char *after;
    size_t after_len;
    cr_assert_eq(alb_read_file(path, &after, &after_len, &err), 0);
    cr_expect_eq(after_len, before_len);
    cr_expect_arr_eq(after, before, before_len);
    cr_expect_eq(count_files(test_tmp_dir, ".tmp"), 0);
    /* a target below a regular file: fails for root too (a read-only directory would not) */
    const char *file = test_tmp_path("file");
    test_write_file(file, "x", 1);
    char p[4200];
    snprintf(p, sizeof p, "%s/x.safetensors", file);
    cr_expect_eq(checkpoint_save(p, &h, NULL, &m, &err), -1);
    cr_expect(strstr(err.msg, p), "%s", err.msg);
    cr_expect_eq(count_files(test_tmp_dir, ".tmp"), 0);
    free(before);
    free(after);
    checkpoint_meta_free(&m);
    adamw_free(&opt);
    head_free(&h);
    head_free(&big);
}

/* Saves one checkpoint per metric value through a store; returns nothing, asserts success. */
static void save_series(CheckpointStore *s, const Head *h, const char *metric, const double *values, int n,
                        long first_step) {
    for (int i = 0; i < n; i++) {
        char metrics[128];
        snprintf(metrics, sizeof metrics, "{\"%s\":%.17g,\"train/loss\":9}", metric, values[i]);
        CheckpointMeta m = full_meta(first_step + i, metrics);
        AlbError err;
        cr_assert_eq(ckpt_store_save(s, h, NULL, &m, NULL, 0, &err), 0, "%s", err.msg);
        checkpoint_meta_free(&m);
    }
}

/* A store in dir without a remote mirror; opening must work. */
static void open_store(CheckpointStore *s, const char *dir, const CheckpointPolicy *pol) {
    AlbError err;
    cr_assert_eq(ckpt_store_open(s, dir, pol, NULL, 0, &err), 0, "%s", err.msg);
}

static int on_disk(const CheckpointStore *s, const CheckpointEntry *e) {
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", s->dir, strrchr(e->path, '/') + 1);
    return alb_file_exists(p);
}

Test(checkpoint, keep_last_n_deletes_older_files) {
    Head h;
    AdamW opt;
    AlbError err;
    trained(&h, &opt, 0);
    CheckpointStore s;
    CheckpointPolicy pol = {.keep_last_n = 2, .keep_best_n = 0, .metric = "val/loss"};
    open_store(&s, test_tmp_dir, &pol);
    double v[5] = {5, 4, 3, 2, 1};
    save_series(&s, &h, "val/loss", v, 5, 10);
    cr_expect_eq(s.history.n, 2);
    cr_expect_eq(s.history.items[0].step, 13);
    cr_expect_eq(s.history.items[1].step, 14);
    cr_expect_eq(s.history.n_best, 0);
    cr_expect_eq(count_files(s.dir, "checkpoint_step"), 2);
    cr_expect(on_disk(&s, &s.history.items[0]) && on_disk(&s, &s.history.items[1]));
    cr_expect_eq(count_files(s.dir, ".tmp"), 0);
    /* the history on disk says the same */
    CheckpointHistory back;
    char hp[4200];
    snprintf(hp, sizeof hp, "%s/%s", s.dir, CHECKPOINT_HISTORY_NAME);
    cr_assert_eq(history_load(&back, hp, &err), 0, "%s", err.msg);
    cr_expect_eq(back.n, 2);
    cr_expect_str_eq(back.items[1].path, s.history.items[1].path);
    cr_expect_str_eq(back.items[1].metrics_json, s.history.items[1].metrics_json);
    history_free(&back);
    ckpt_store_close(&s);
    /* keep_last_n 0 keeps everything */
    char other[4200];
    snprintf(other, sizeof other, "%s/all", test_tmp_dir);
    pol.keep_last_n = 0;
    open_store(&s, other, &pol);
    save_series(&s, &h, "val/loss", v, 5, 1);
    cr_expect_eq(s.history.n, 5);
    cr_expect_eq(count_files(s.dir, "checkpoint_step"), 5);
    ckpt_store_close(&s);
    adamw_free(&opt);
    head_free(&h);
}

Test(checkpoint, keep_best_n_min_survives_keep_last_n) {
    Head h;
    AdamW opt;
    AlbError err;
    trained(&h, &opt, 0);
    CheckpointStore s;
    /* eval/loss (the reference's name) finds val/loss */
    CheckpointPolicy pol = {.keep_last_n = 2, .keep_best_n = 1, .metric = "eval/loss", .metric_max = 0};
    open_store(&s, test_tmp_dir, &pol);
    double v[5] = {3, 1, 2, 5, 4};
    save_series(&s, &h, "val/loss", v, 5, 1);
    cr_expect_eq(s.history.n, 2);
    cr_expect_eq(s.history.n_best, 1);
    cr_expect_eq(s.history.best[0].step, 2);
    cr_expect(on_disk(&s, &s.history.best[0]), "best checkpoint deleted by keep_last_n");
    cr_expect_eq(count_files(s.dir, "checkpoint_step"), 3);
    /* a better one replaces the best: the old best, outside the last 2, goes */
    double better_v[1] = {0.5};
    save_series(&s, &h, "val/loss", better_v, 1, 6);
    cr_expect_eq(s.history.best[0].step, 6);
    cr_expect_eq(count_files(s.dir, "checkpoint_step"), 2);
    char resolved[4200];
    cr_assert_eq(ckpt_store_resolve(&s, "best", NULL, 0, resolved, sizeof resolved, &err), 0, "%s", err.msg);
    cr_expect(strstr(resolved, "checkpoint_step6_epoch2_"), "%s", resolved);
    ckpt_store_close(&s);
    adamw_free(&opt);
    head_free(&h);
}

Test(checkpoint, keep_best_n_max_orders_best_first) {
    Head h;
    AdamW opt;
    trained(&h, &opt, 0);
    CheckpointStore s;
    CheckpointPolicy pol = {.keep_last_n = 1, .keep_best_n = 2, .metric = "val/accuracy", .metric_max = 1};
    open_store(&s, test_tmp_dir, &pol);
    double v[5] = {0.2, 0.7, 0.5, 0.9, 0.1};
    save_series(&s, &h, "val/accuracy", v, 5, 1);
    cr_expect_eq(s.history.n_best, 2);
    cr_expect_eq(s.history.best[0].step, 4);  /* 0.9 */
    cr_expect_eq(s.history.best[1].step, 2);  /* 0.7 */
    cr_expect_eq(s.history.items[s.history.n - 1].step, 5);
    cr_expect_eq(count_files(s.dir, "checkpoint_step"), 3);
    ckpt_store_close(&s);
    /* resumed with keep_best_n 1: the second best leaves the list and the disk */
    pol.keep_best_n = 1;
    open_store(&s, test_tmp_dir, &pol);
    double worse[1] = {0.05};
    save_series(&s, &h, "val/accuracy", worse, 1, 6);
    cr_expect_eq(s.history.n_best, 1);
    cr_expect_eq(s.history.best[0].step, 4);
    cr_expect_eq(count_files(s.dir, "checkpoint_step"), 2);
    ckpt_store_close(&s);
    adamw_free(&opt);
    head_free(&h);
}

Test(checkpoint, final_save_is_last_and_resume_lookup) {
    Head h;
    AdamW opt;
    AlbError err;
    trained(&h, &opt, 0);
    CheckpointStore s;
    CheckpointPolicy pol = {.keep_last_n = 3, .keep_best_n = 1, .metric = "val/loss"};
    open_store(&s, test_tmp_dir, &pol);
    char resolved[4200];
    cr_expect_eq(ckpt_store_resolve(&s, "last", NULL, 0, resolved, sizeof resolved, &err), -1);
    cr_expect(strstr(err.msg, CHECKPOINT_HISTORY_NAME), "%s", err.msg);
    cr_expect_eq(ckpt_store_resolve(&s, "best", NULL, 0, resolved, sizeof resolved, &err), -1);
    double v[2] = {2, 1};
    save_series(&s, &h, "val/loss", v, 2, 1);
    /* the final save at the same step and second as the previous one gets its own name */
    CheckpointMeta m = full_meta(2, "{\"train/loss\":0.3}");
    m.final = 1;
    char final_path[4200];
    cr_assert_eq(ckpt_store_save(&s, &h, &opt, &m, final_path, sizeof final_path, &err), 0, "%s", err.msg);
    checkpoint_meta_free(&m);
    cr_expect_eq(s.history.n, 3);
    cr_expect_str_eq(s.history.items[2].path, final_path);
    cr_expect_str_neq(s.history.items[1].path, final_path);
    cr_assert_eq(ckpt_store_resolve(&s, "last", NULL, 0, resolved, sizeof resolved, &err), 0, "%s", err.msg);
    cr_expect_str_eq(resolved, final_path);
    cr_assert_eq(ckpt_store_resolve(&s, "best", NULL, 0, resolved, sizeof resolved, &err), 0, "%s", err.msg);
    cr_expect_str_eq(resolved, s.history.best[0].path);
    cr_expect_eq(s.history.best[0].step, 2);
    cr_assert_eq(ckpt_store_resolve(&s, "path", final_path, 0, resolved, sizeof resolved, &err), 0, "%s", err.msg);
    cr_expect_eq(
        ckpt_store_resolve(&s, "path", test_tmp_path("nope.safetensors"), 0, resolved, sizeof resolved, &err), -1);
    cr_expect(strstr(err.msg, "nope.safetensors"), "%s", err.msg);
    cr_expect_eq(ckpt_store_resolve(&s, "first", NULL, 0, resolved, sizeof resolved, &err), -1);
    /* a reopened store reads the same history; a listed file that vanished is reported */
    ckpt_store_close(&s);
    open_store(&s, test_tmp_dir, &pol);
    cr_expect_eq(s.history.n, 3);
    unlink(final_path);
    cr_expect_eq(ckpt_store_resolve(&s, "last", NULL, 0, resolved, sizeof resolved, &err), -1);
    cr_expect(strstr(err.msg, "does not exist"), "%s", err.msg);
    ckpt_store_close(&s);
    adamw_free(&opt);
    head_free(&h);
}

/* JSON strings are UTF-8: a path that is not cannot be recorded. It was dropped from the history
 * silently (json_pack failed, its NULL appended to nothing), and json_dumps' NULL went to strlen. */
Test(checkpoint, history_of_a_path_that_is_not_utf8_is_an_error) {
    CheckpointEntry e = {.path = "dir/\xff.safetensors", .step = 1, .epoch = 1, .metrics_json = "{}",
                         .timestamp = "2026-11-27T05:10:00Z"};
    CheckpointHistory hist = {.n = 1, .items = &e};
    AlbError err = {{0}};
    const char *path = test_tmp_path(CHECKPOINT_HISTORY_NAME);
    cr_assert_eq(history_save(&hist, path, &err), -1, "saved without its only entry");
    cr_expect(strstr(err.msg, path) && strstr(err.msg, "UTF-8"), "%s", err.msg);
    cr_expect(!alb_file_exists(path));
    /* and a store whose directory is such a path says so when it opens, before any training */
    CheckpointStore s;
    CheckpointPolicy pol = {.keep_last_n = 3, .keep_best_n = 1, .metric = "val/loss"};
    cr_assert_eq(ckpt_store_open(&s, test_tmp_path("run\xff"), &pol, NULL, 0, &err), -1);
    cr_expect(strstr(err.msg, "UTF-8"), "%s", err.msg);
}

Test(checkpoint, remote_mirror_and_load_from_storage) {
    Head h;
    AdamW opt;
    AlbError err;
    trained(&h, &opt, 1);
    CheckpointStore s;
    CheckpointPolicy pol = {.keep_last_n = 1, .keep_best_n = 0, .metric = "val/loss"};
    char remote[4200];
    snprintf(remote, sizeof remote, "%s/bucket/run1", test_tmp_dir);
    char project[4200];
    snprintf(project, sizeof project, "%s/project", test_tmp_dir);
    cr_assert_eq(ckpt_store_open(&s, project, &pol, remote, 1, &err), 0, "%s", err.msg);
    double v[3] = {3, 2, 1};
    save_series(&s, &h, "val/loss", v, 3, 1);
    cr_expect_eq(count_files(remote, "checkpoint_step"), 1);
    cr_expect_eq(count_files(remote, CHECKPOINT_HISTORY_NAME), 1);
    cr_expect_eq(count_files(remote, ".tmp"), 0);
    ckpt_store_close(&s);
    /* a fresh machine: empty project dir, load from the remote */
    char project2[4200];
    snprintf(project2, sizeof project2, "%s/project2", test_tmp_dir);
    cr_assert_eq(ckpt_store_open(&s, project2, &pol, remote, 0, &err), 0, "%s", err.msg);
    char resolved[4200];
    cr_expect_eq(ckpt_store_resolve(&s, "last", NULL, 0, resolved, sizeof resolved, &err), -1);
    cr_assert_eq(ckpt_store_resolve(&s, "last", NULL, 1, resolved, sizeof resolved, &err), 0, "%s", err.msg);
    cr_expect(strncmp(resolved, remote, strlen(remote)) == 0, "%s", resolved);
    Head back;
    cr_assert_eq(head_create_from_file(&back, resolved, 1, 1, &err), 0, "%s", err.msg);
    cr_expect_arr_eq(back.params, h.params, (size_t)h.n_params * sizeof(float));
    head_free(&back);
    ckpt_store_close(&s);
    adamw_free(&opt);
    head_free(&h);
}

static void expect_history_error(const char *doc, const char *needle) {
    CheckpointHistory hist;
    AlbError err;
    cr_expect_eq(history_parse(&hist, doc, strlen(doc), "hist.json", &err), -1, "accepted: %s", doc);
    cr_expect(strstr(err.msg, "hist.json") && strstr(err.msg, needle), "for %s: %s", doc, err.msg);
}

Test(checkpoint, corrupt_history_is_an_error) {
    const char *entry_ok = "{\"path\":\"c/x.safetensors\",\"step\":1,\"epoch\":1,\"metrics\":{},\"timestamp\":\"t\"}";
    char doc[1024];
    snprintf(doc, sizeof doc, "{\"checkpoints\":[%s],\"best_checkpoints\":[]}", entry_ok);
    CheckpointHistory hist;
    AlbError err;
    cr_assert_eq(history_parse(&hist, doc, strlen(doc), "hist.json", &err), 0, "%s", err.msg);
    cr_expect_eq(hist.n, 1);
    history_free(&hist);

    expect_history_error("{\"checkpoints\":[", "invalid JSON");
    expect_history_error("[]", "object");
    expect_history_error("{\"checkpoints\":[]}", "best_checkpoints");
    expect_history_error("{\"checkpoints\":{},\"best_checkpoints\":[]}", "checkpoints");
    expect_history_error("{\"checkpoints\":[],\"checkpoints\":[],\"best_checkpoints\":[]}", "invalid JSON");
    expect_history_error("{\"checkpoints\":[{\"path\":\"a\",\"step\":-1,\"epoch\":1,\"metrics\":{},\"timestamp\":\"t\"}],"
                         "\"best_checkpoints\":[]}", "checkpoints[0].step");
    expect_history_error("{\"checkpoints\":[{\"path\":\"a\",\"step\":1,\"epoch\":1,\"metrics\":{\"m\":\"x\"},"
                         "\"timestamp\":\"t\"}],\"best_checkpoints\":[]}", "metrics.m");
    expect_history_error("{\"checkpoints\":[],\"best_checkpoints\":[{\"path\":\"a/..\",\"step\":1,\"epoch\":1,"
                         "\"metrics\":{},\"timestamp\":\"t\"}]}", "best_checkpoints[0].path");
    expect_history_error("{\"checkpoints\":[3],\"best_checkpoints\":[]}", "checkpoints[0]");

    /* a store never starts over a corrupt history */
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/checkpoints", test_tmp_dir);
    cr_assert_eq(alb_mkdirs(dir, &err), 0);
    const char *hp = test_tmp_path("checkpoints/" CHECKPOINT_HISTORY_NAME);
    test_write_file(hp, "{\"checkpoints\": [", 17);
    CheckpointStore s;
    CheckpointPolicy pol = {.keep_last_n = 1, .keep_best_n = 1, .metric = "val/loss"};
    cr_expect_eq(ckpt_store_open(&s, test_tmp_dir, &pol, NULL, 0, &err), -1);
    cr_expect(strstr(err.msg, hp), "%s", err.msg);
}

/* Features of another engine must never train one head silently: a checkpoint
 * that does not say which engine made its features is refused; one from
 * features files (engine unknown) says "". */
Test(checkpoint, the_engine_is_required) {
    Head h;
    AdamW opt;
    AlbError err;
    trained(&h, &opt, 0);
    CheckpointMeta m = full_meta(3, NULL), back;
    free(m.engine);
    m.engine = NULL;
    const char *path = test_tmp_path("e.safetensors");
    cr_assert_eq(checkpoint_save(path, &h, &opt, &m, &err), 0, "%s", err.msg);
    cr_assert_eq(checkpoint_read_meta(path, &back, &err), 0, "%s", err.msg);
    cr_expect_str_eq(back.engine, "");
    checkpoint_meta_free(&back);
    char *data;
    size_t len;
    cr_assert_eq(alb_read_file(path, &data, &len, &err), 0);
    char *key = memmem(data, len, "\"engine\"", 8);
    cr_assert(key);
    key[6] = '_';  /* "engin_": the same header, without an engine */
    const char *older = test_tmp_path("older.safetensors");
    test_write_file(older, data, len);
    cr_expect_eq(checkpoint_load(older, &h, &opt, &back, &err), -1);
    cr_expect(strstr(err.msg, "older.safetensors") && strstr(err.msg, "no engine"), "%s", err.msg);
    free(data);
    checkpoint_meta_free(&m);
    adamw_free(&opt);
    head_free(&h);
}

Test(checkpoint, corrupt_checkpoint_is_an_error) {
    Head h;
    AdamW opt;
    AlbError err;
    trained(&h, &opt, 0);
    CheckpointMeta m = full_meta(3, NULL);
    const char *path = test_tmp_path("c.safetensors");
    cr_assert_eq(checkpoint_save(path, &h, &opt, &m, &err), 0, "%s", err.msg);
    char *data;
    size_t len;
    cr_assert_eq(alb_read_file(path, &data, &len, &err), 0);
    const char *cut = test_tmp_path("cut.safetensors");
    test_write_file(cut, data, len - 10);
    cr_expect_eq(checkpoint_load(cut, &h, &opt, NULL, &err), -1);
    cr_expect(strstr(err.msg, "cut.safetensors"), "%s", err.msg);
    /* a plain head file (no checkpoint metadata) is not a checkpoint */
    const char *plain = test_tmp_path("plain.safetensors");
    cr_assert_eq(head_save(&h, plain, &err), 0, "%s", err.msg);
    cr_expect_eq(checkpoint_load(plain, &h, NULL, NULL, &err), -1);
    cr_expect(strstr(err.msg, "plain.safetensors") && strstr(err.msg, "format_version"), "%s", err.msg);
    /* a head of other sizes */
    Head other;
    cr_assert_eq(head_create(&other, 16, 9, 5, 0, 1, &err), 0, "%s", err.msg);
    cr_expect_eq(checkpoint_load(path, &other, NULL, NULL, &err), -1);
    cr_expect(strstr(err.msg, "classifier.0.weight"), "%s", err.msg);
    head_free(&other);
    free(data);
    checkpoint_meta_free(&m);
    adamw_free(&opt);
    head_free(&h);
}
