#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "train/train_config.h"
#include "util/fileio.h"

/* Parses yaml (named "cfg.yaml" in messages) over the defaults. */
static int parse(TrainConfig *c, const char *yaml, AlbError *err) {
    train_config_defaults(c);
    return train_config_parse(c, yaml, strlen(yaml), "cfg.yaml", err);
}

/* The yaml must be rejected with exactly this message. */
static void expect_error(const char *yaml, const char *msg) {
    TrainConfig c;
    AlbError err = {{0}};
    int rc = parse(&c, yaml, &err);
    if (rc == 0) rc = train_config_validate(&c, &err);
    cr_assert_eq(rc, -1, "accepted: %s", yaml);
    cr_assert_str_eq(err.msg, msg);
}

static const char *note_reason(const TrainConfig *c, const char *key, const char **value) {
    for (int i = 0; i < c->n_not_applicable; i++)
        if (!strcmp(c->not_applicable[i].key, key)) {
            if (value) *value = c->not_applicable[i].value;
            return c->not_applicable[i].reason;
        }
    return NULL;
}

Test(train_config, defaults_follow_the_seed_table) {
    TrainConfig c;
    AlbError err;
    train_config_defaults(&c);
    cr_assert_str_eq(c.dataset_id, "mteb/banking77");
    cr_assert_str_eq(c.model_name, "albert/albert-base-v2");
    cr_assert_eq(c.max_length, 128);
    cr_assert_eq(c.num_labels, 77);
    cr_assert_eq(c.mlp_hidden_size, 256);
    cr_assert_eq(c.dtype, ALB_BF16);
    cr_assert_float_eq(c.learning_rate, 1e-3, 1e-15);
    cr_assert_float_eq(c.weight_decay, 0.01, 1e-15);
    cr_assert_eq(c.batch_size, 8);
    cr_assert_eq(c.gradient_accumulation_steps, 1);
    cr_assert_eq(c.num_epochs, 5);
    cr_assert_str_eq(c.optim, "adamw_torch");
    cr_assert_str_eq(c.log_level, "INFO");
    cr_assert_eq(c.steps_freq, 10);
    cr_assert_eq(c.val_steps_freq, 25);
    cr_assert_eq(c.epoch_freq, 1);
    cr_assert_eq(c.resume_from_checkpoint, 0);
    cr_assert_str_eq(c.resume_option, "last");
    cr_assert_str_eq(c.checkpoint_path, "");
    cr_assert_str_eq(c.checkpoint_metric, "val/loss");
    cr_assert_str_eq(c.checkpoint_metric_mode, "min");
    cr_assert_eq(c.keep_last_n, 3);
    cr_assert_eq(c.keep_best_n, 1);
    cr_assert_str_eq(c.save_strategy, "epoch");
    cr_assert_str_eq(c.project_dir, "blacksmith/experiments/torch/albert");
    cr_assert_eq(c.save_optim, 0);
    cr_assert_eq(c.seed, 23);
    cr_assert_eq(c.shuffle, 1);
    cr_assert_eq(c.skip_bad_rows, 0);
    cr_assert_eq(c.max_steps_per_epoch, 0);
    cr_assert_str_eq(c.text_field, "text");
    cr_assert_str_eq(c.label_field, "label");
    cr_assert_str_eq(c.labels_file, "labels.txt");
    cr_assert_eq(c.n_not_applicable, 0);
    cr_assert_eq(train_config_validate(&c, &err), 0, "%s", err.msg);
    cr_assert_neq(c.cache_dir[0], 0);
}

Test(train_config, seed_yaml_loads_unchanged) {
    TrainConfig c;
    AlbError err;
    cr_assert_eq(train_config_build(&c, test_shared_path("seed/test_albert_finetuning.yaml"), NULL, NULL, 0, &err), 0,
                 "%s", err.msg);
    cr_assert_str_eq(c.dataset_id, "banking77");
    cr_assert_eq(c.num_epochs, 5);
    cr_assert_eq(c.val_steps_freq, 25);   /* not in the yaml: the code default */
    cr_assert_float_eq(c.learning_rate, 1e-3, 1e-15);
    cr_assert_eq(c.dtype, ALB_BF16);
    cr_assert_str_eq(c.checkpoint_metric, "val/loss");  /* eval/loss */
    const char *v;
    cr_assert_not_null(note_reason(&c, "use_tt", &v));
    cr_assert_str_eq(v, "True");
    cr_assert_not_null(note_reason(&c, "wandb_tags", &v));
    cr_assert_str_eq(v, "[test]");
    cr_assert_not_null(note_reason(&c, "wandb_project", NULL));
    cr_assert_not_null(note_reason(&c, "training_type", &v));
    cr_assert_str_eq(v, "lora");
    cr_assert_not_null(note_reason(&c, "mesh_shape", NULL));
    cr_assert_not_null(note_reason(&c, "storage_backend", NULL));
    cr_assert_null(note_reason(&c, "learning_rate", NULL));
    char line[512];
    train_config_describe_note(&c.not_applicable[c.n_not_applicable - 1], line, sizeof line);
    cr_assert_str_eq(line, "use_tt: True: not applicable here (no Tenstorrent device: everything runs on the CPU)");
}

Test(train_config, ci_overlay_applies_test_config) {
    TrainConfig c;
    AlbError err;
    cr_assert_eq(train_config_build(&c, test_shared_path("seed/test_albert_finetuning.yaml"),
                                    test_shared_path("seed/test-config-ci.yaml"), NULL, 0, &err), 0, "%s", err.msg);
    cr_assert_eq(c.max_steps_per_epoch, 15);
    cr_assert_eq(c.steps_freq, 5);
    cr_assert_eq(c.val_steps_freq, 5);
    cr_assert_eq(c.num_epochs, 1);
    cr_assert_eq(c.batch_size, 8);       /* untouched keys keep the base value */
    cr_assert_not_null(note_reason(&c, "log_on_wandb", NULL));
}

Test(train_config, project_config_loads) {
    TrainConfig c;
    AlbError err;
    cr_assert_eq(train_config_build(&c, "configs/banking77.yaml", NULL, NULL, 0, &err), 0, "%s", err.msg);
    cr_assert_str_eq(c.project_dir, "runs/banking77");
    cr_assert_eq(c.mlp_hidden_size, 256);
}

Test(train_config, sets_override_in_order) {
    TrainConfig c;
    AlbError err;
    const char *sets[] = {"batch_size=16", "learning_rate=5e-4", "dtype=float32", "project_dir=runs/x",
                          "test_config.max_steps_per_epoch=3", "wandb_tags=[a, b]", "batch_size=32",
                          "checkpoint_path=", "shuffle=no", "progress=auto"};
    cr_assert_eq(train_config_build(&c, test_shared_path("seed/test_albert_finetuning.yaml"),
                                    test_shared_path("seed/test-config-ci.yaml"), sets, 10, &err), 0, "%s", err.msg);
    cr_assert_eq(c.batch_size, 32);
    cr_assert_float_eq(c.learning_rate, 5e-4, 1e-15);
    cr_assert_eq(c.dtype, ALB_F32);
    cr_assert_str_eq(c.project_dir, "runs/x");
    cr_assert_eq(c.max_steps_per_epoch, 3);
    cr_assert_eq(c.shuffle, 0);
    cr_assert_eq(c.progress, -1);
    const char *v;
    cr_assert_not_null(note_reason(&c, "wandb_tags", &v));
    cr_assert_str_eq(v, "[a, b]");
}

Test(train_config, mlp_hidden_dim_is_mlp_hidden_size) {
    TrainConfig c;
    AlbError err;
    cr_assert_eq(parse(&c, "mlp_hidden_dim: 64\n", &err), 0, "%s", err.msg);
    cr_assert_eq(c.mlp_hidden_size, 64);
    cr_assert_eq(train_config_set(&c, "mlp_hidden_size=32", &err), 0, "%s", err.msg);
    cr_assert_eq(c.mlp_hidden_size, 32);
}

Test(train_config, dtype_spellings) {
    const char *names[] = {"torch.bfloat16", "bfloat16", "torch.float32", "float32", "int8"};
    const AlbDtype want[] = {ALB_BF16, ALB_BF16, ALB_F32, ALB_F32, ALB_INT8};
    for (int i = 0; i < 5; i++) {
        TrainConfig c;
        AlbError err;
        char yaml[64];
        snprintf(yaml, sizeof yaml, "dtype: \"%s\"\n", names[i]);
        train_config_defaults(&c);
        c.dtype = want[i] == ALB_BF16 ? ALB_F32 : ALB_BF16;
        cr_assert_eq(train_config_parse(&c, yaml, strlen(yaml), "cfg.yaml", &err), 0, "%s", err.msg);
        cr_assert_eq(c.dtype, want[i], "%s", names[i]);
    }
    expect_error("dtype: float16\n",
                 "cfg.yaml:1: dtype must be one of float32, bfloat16, int8 (or torch.float32, torch.bfloat16); got "
                 "'float16'");
}

Test(train_config, yaml_scalar_rules) {
    TrainConfig c;
    AlbError err;
    cr_assert_eq(parse(&c, "save_optim: yes\nshuffle: Off\nlearning_rate: \"2e-3\"\nweight_decay: 0\n"
                           "seed: 12345678901\nlog_level: debug\ncheckpoint_path: ~\nmax_length: +64\n", &err), 0,
                 "%s", err.msg);
    cr_assert_eq(c.save_optim, 1);
    cr_assert_eq(c.shuffle, 0);
    cr_assert_float_eq(c.learning_rate, 2e-3, 1e-15);
    cr_assert_float_eq(c.weight_decay, 0.0, 1e-15);
    cr_assert_eq(c.seed, 12345678901LL);
    cr_assert_str_eq(c.log_level, "DEBUG");
    cr_assert_str_eq(c.checkpoint_path, "");
    cr_assert_eq(c.max_length, 64);
}

Test(train_config, unknown_key_suggests_the_nearest) {
    expect_error("batch_size: 8\nlerning_rate: 1e-3\n",
                 "cfg.yaml:2: unknown key 'lerning_rate' (did you mean 'learning_rate'?)");
    expect_error("mlp_hiden_dim: 3\n", "cfg.yaml:1: unknown key 'mlp_hiden_dim' (did you mean 'mlp_hidden_dim'?)");
    expect_error("test_confg:\n  max_steps_per_epoch: 2\n",
                 "cfg.yaml:1: unknown key 'test_confg' (did you mean 'test_config'?)");
    expect_error("zzzzzz: 1\n", "cfg.yaml:1: unknown key 'zzzzzz'");
    expect_error("test_config:\n  max_step_per_epoch: 2\n",
                 "cfg.yaml:2: unknown key 'max_step_per_epoch' (did you mean 'max_steps_per_epoch'?)");
}

Test(train_config, wrong_types) {
    expect_error("batch_size: eight\n", "cfg.yaml:1: batch_size: expected an integer, got 'eight'");
    expect_error("batch_size: 8.5\n", "cfg.yaml:1: batch_size: expected an integer, got '8.5'");
    expect_error("\n\nlearning_rate: fast\n", "cfg.yaml:3: learning_rate: expected a number, got 'fast'");
    expect_error("learning_rate: .inf\n", "cfg.yaml:1: learning_rate: expected a number, got '.inf'");
    expect_error("save_optim: maybe\n", "cfg.yaml:1: save_optim: expected true or false, got 'maybe'");
    expect_error("num_epochs: [1, 2]\n", "cfg.yaml:1: num_epochs: expected a single value, got a list or mapping");
    expect_error("num_epochs:\n", "cfg.yaml:1: num_epochs: a value is required");
    expect_error("test_config: 3\n", "cfg.yaml:1: test_config: expected a mapping of key: value");
    expect_error("- a\n- b\n", "cfg.yaml:1: expected a mapping of key: value at the top level");
    expect_error("batch_size: 8\nbatch_size: 4\n", "cfg.yaml:2: duplicate key 'batch_size' (first set at line 1)");
}

Test(train_config, out_of_range_values) {
    expect_error("batch_size: 0\n", "cfg.yaml:1: batch_size must be >= 1, got 0");
    expect_error("learning_rate: -1e-3\n", "cfg.yaml:1: learning_rate must be >= 0, got -0.001");
    expect_error("num_labels: 1\n", "cfg.yaml:1: num_labels must be >= 2, got 1");
    expect_error("keep_last_n: -1\n", "cfg.yaml:1: keep_last_n must be >= 0, got -1");
    /* steps_freq sizes the train/loss window: INT_MAX allocated 16 GB */
    expect_error("steps_freq: 2147483647\n", "cfg.yaml:1: steps_freq must be <= 1048576, got 2147483647");
    expect_error("resume_option: first\n", "cfg.yaml:1: resume_option must be one of last, best, path; got 'first'");
    expect_error("checkpoint_metric_mode: lowest\n",
                 "cfg.yaml:1: checkpoint_metric_mode must be one of min, max; got 'lowest'");
    expect_error("save_strategy: steps\n", "cfg.yaml:1: save_strategy must be one of epoch, step; got 'steps'");
    expect_error("checkpoint_metric: val/f1\n",
                 "cfg.yaml:1: checkpoint_metric must be one of val/loss, eval/loss, val/accuracy, train/loss; got 'val/f1'");
    expect_error("optim: sgd\n", "cfg.yaml:1: optim must be one of adamw_torch, adamw_torch_fused, adamw; got 'sgd'");
    expect_error("storage_backend: s3\n", "cfg.yaml:1: storage_backend must be 'local' (the only one supported), got 's3'");
}

Test(train_config, validate_names_where_the_key_was_set) {
    expect_error("seed: 1\nresume_from_checkpoint: true\nresume_option: path\n",
                 "cfg.yaml:3: resume_option is 'path' but checkpoint_path is empty (needed to resume from a path)");
    TrainConfig c;
    AlbError err;
    cr_assert_eq(parse(&c, "resume_from_checkpoint: true\n", &err), 0);
    cr_assert_eq(train_config_set(&c, "resume_option=path", &err), 0, "%s", err.msg);
    cr_assert_eq(train_config_validate(&c, &err), -1);
    cr_assert_str_eq(err.msg, "--set: resume_option is 'path' but checkpoint_path is empty (needed to resume from a path)");
    cr_assert_eq(train_config_set(&c, "checkpoint_path=runs/x/checkpoints/a", &err), 0);
    cr_assert_eq(train_config_validate(&c, &err), 0, "%s", err.msg);
}

Test(train_config, set_errors_name_set) {
    TrainConfig c;
    AlbError err;
    train_config_defaults(&c);
    cr_assert_eq(train_config_set(&c, "batch_size=0", &err), -1);
    cr_assert_str_eq(err.msg, "--set: batch_size must be >= 1, got 0");
    cr_assert_eq(train_config_set(&c, "lerning_rate=1", &err), -1);
    cr_assert_str_eq(err.msg, "--set: unknown key 'lerning_rate' (did you mean 'learning_rate'?)");
    cr_assert_eq(train_config_set(&c, "batch_size", &err), -1);
    cr_assert_str_eq(err.msg, "--set: expected key=value, got 'batch_size'");
    cr_assert_eq(train_config_set(&c, "batch_size=[1", &err), -1);
    cr_assert(strstr(err.msg, "--set") == err.msg, "%s", err.msg);
    cr_assert_eq(c.batch_size, 8);
    cr_assert_eq(train_config_set(&c, "test_config={max_steps_per_epoch: 4, steps_freq: 2}", &err), 0, "%s", err.msg);
    cr_assert_eq(c.max_steps_per_epoch, 4);
    cr_assert_eq(c.steps_freq, 2);
    cr_assert_eq(train_config_set(&c, "test_config={max_steps_per_epoch: -4}", &err), -1);
    cr_assert_str_eq(err.msg, "--set: max_steps_per_epoch must be >= 0, got -4");
    cr_assert_eq(train_config_set(&c, "test_config=4", &err), -1);
    cr_assert_str_eq(err.msg, "--set: test_config: expected a mapping like {max_steps_per_epoch: 10}");
    expect_error("test_config:\n  test_config: {}\n", "cfg.yaml:2: test_config inside test_config");
}

Test(train_config, file_errors) {
    TrainConfig c;
    AlbError err;
    train_config_defaults(&c);
    cr_assert_eq(train_config_load(&c, "/nonexistent/cfg.yaml", &err), -1);
    cr_assert(strstr(err.msg, "/nonexistent/cfg.yaml"), "%s", err.msg);
    expect_error("a: [1, 2\n", "cfg.yaml:2: invalid YAML: did not find expected ',' or ']'");
    expect_error("a: 1\n---\nb: 2\n", "cfg.yaml: more than one YAML document");
    TrainConfig d;
    cr_assert_eq(parse(&d, "# only a comment\n", &err), 0, "%s", err.msg);
    cr_assert_eq(d.batch_size, 8);
}

Test(train_config, json_and_print) {
    TrainConfig c;
    AlbError err;
    cr_assert_eq(train_config_build(&c, test_shared_path("seed/test_albert_finetuning.yaml"), NULL, NULL, 0, &err), 0);
    json_t *j = train_config_to_json(&c);
    cr_assert_eq(json_integer_value(json_object_get(j, "batch_size")), 8);
    cr_assert_float_eq(json_real_value(json_object_get(j, "learning_rate")), 1e-3, 1e-15);
    cr_assert_str_eq(json_string_value(json_object_get(j, "dtype")), "bfloat16");
    cr_assert(json_is_false(json_object_get(j, "save_optim")));
    cr_assert_null(json_object_get(j, "mlp_hidden_dim"));
    json_t *na = json_object_get(json_object_get(j, "not_applicable"), "use_tt");
    cr_assert_str_eq(json_string_value(json_object_get(na, "value")), "True");
    cr_assert_not_null(json_string_value(json_object_get(na, "reason")));
    json_decref(j);

    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    train_config_print(&c, fp);
    fclose(fp);
    cr_assert(strstr(buf, "\nbatch_size: 8\n"), "%s", buf);
    cr_assert(strstr(buf, "\ndtype: bfloat16\n"), "%s", buf);
    cr_assert(strstr(buf, "\ncheckpoint_path: \"\"\n"), "%s", buf);
    free(buf);
}

/* docs/config.md documents every key the parser knows (train_config_print lists them all). */
Test(train_config, every_key_is_documented) {
    TrainConfig c;
    train_config_defaults(&c);
    char *keys = NULL, *doc;
    size_t len = 0;
    FILE *fp = open_memstream(&keys, &len);
    train_config_print(&c, fp);
    fclose(fp);
    AlbError err;
    cr_assert_eq(alb_read_file("docs/config.md", &doc, &len, &err), 0, "%s", err.msg);
    int n = 0;
    for (char *line = strtok(keys, "\n"); line; line = strtok(NULL, "\n"), n++) {
        char row[128];
        snprintf(row, sizeof row, "| `%.*s` |", (int)strcspn(line, ":"), line);
        cr_expect(strstr(doc, row), "docs/config.md has no row %s", row);
    }
    cr_assert_gt(n, 40);
    free(keys);
    free(doc);
}
