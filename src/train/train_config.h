/* The `albertc train` configuration: the reference's YAML keys, our additions,
 * and where each value came from.
 *
 * Building a config, in this order (each step overrides the one before):
 *   train_config_defaults   the seed table's defaults (+ the reference's code
 *                           defaults where the table is silent: val_steps_freq 25)
 *   train_config_load       a YAML file (the base config)
 *   train_config_load       again for a test overlay (--test-config): its
 *                           top-level keys override, and a `test_config:` mapping
 *                           (e.g. {max_steps_per_epoch: 15}) is applied the same way
 *   train_config_set        "key=value" (--set), the value read with YAML scalar
 *                           rules; "test_config.key=value" and
 *                           "test_config={key: value}" are accepted too
 *   train_config_validate   cross-key checks; nothing may start before it passes
 * train_config_build does all of it. Every function stops at the FIRST error and
 * returns -1 with one line in err:
 *   "FILE:LINE: unknown key 'lerning_rate' (did you mean 'learning_rate'?)"
 *   "FILE:LINE: batch_size: expected an integer, got 'eight'"
 *   "FILE:LINE: batch_size must be >= 1, got 0"
 *   "FILE:LINE: resume_option must be one of last, best, path; got 'first'"
 *   "--set: learning_rate must be >= 0, got -1"   (--set has no line)
 * Type and range checks run when a value is read; validate names the file and
 * line where the offending key was last set.
 *
 * Values: numbers may be plain or quoted ("1e-3" is a float, as pydantic reads
 * PyYAML's string); booleans are YAML 1.1 (true/True/yes/on/...). Relative paths
 * are relative to the current directory, as in the reference.
 * mlp_hidden_dim is another name for mlp_hidden_size (the reference's code reads
 * one, its yaml sets the other: both mean the head's hidden width here).
 * checkpoint_metric "eval/loss" is the reference's name for the metric it logs
 * as "val/loss"; it is stored as "val/loss" so best-checkpoint tracking works.
 *
 * Keys that mean nothing for this program (use_tt, framework, mesh_*, wandb_*,
 * training_type, deterministic, storage_backend 'local', ...) are accepted and
 * recorded in not_applicable[] with the reason, for the trainer to log once. */
#ifndef ALB_TRAIN_TRAIN_CONFIG_H
#define ALB_TRAIN_TRAIN_CONFIG_H

#include <stdint.h>
#include <stdio.h>
#include <jansson.h>
#include "data/dataset.h"
#include "model/albert.h"
#include "util/error.h"

#define TC_STR 512          /* every string value, NUL included */
#define TC_MAX_KEYS 80
#define TC_MAX_SOURCES 8
#define TC_MAX_NOT_APPLICABLE 32

typedef struct {
    char key[64];
    char value[256];        /* the value as YAML text, e.g. "true", "[test]" */
    const char *reason;     /* static string: why it does nothing here */
} TrainConfigNote;

typedef struct {
    /* --- data --- */
    char dataset_id[TC_STR];       /* "mteb/banking77"; "banking77" is the same set */
    char data_dir[TC_STR];         /* "" = found from dataset_id (data/data_location.h) */
    char train_file[TC_STR];       /* in data_dir; "" = train.jsonl, else train.csv */
    char eval_file[TC_STR];        /* in data_dir; "" = test.jsonl, else test.csv */
    char labels_file[TC_STR];      /* in data_dir; "labels.txt" (names in id order; optional for JSONL) */
    char text_field[TC_STR];       /* "text" */
    char label_field[TC_STR];      /* "label" (a CSV without it: "category"); int id or label name */
    char label_text_field[TC_STR]; /* "label_text": checked against label names when both known */
    int skip_bad_rows;             /* 0: a bad row fails the load; 1: skipped and counted */
    int shuffle;                   /* shuffle the train split each epoch (1) */
    char train_features[TC_STR];   /* "" or a safetensors file of precomputed train features */
    char eval_features[TC_STR];    /* "" or the same for the eval split */
    char cache_dir[TC_STR];        /* feature cache; "" until validate: $XDG_CACHE_HOME/albertc or ~/.cache/albertc */
    /* --- model --- */
    char model_name[TC_STR];       /* hub id or directory: "albert/albert-base-v2" */
    int max_length;                /* 128: cap on tokens per text ([CLS]/[SEP] included) */
    int num_labels;                /* 77 */
    int mlp_hidden_size;           /* 256 (alias mlp_hidden_dim) */
    AlbDtype dtype;                /* the encoder's (alb_dtype_parse's names); the head's is alb_head_dtype of it */
    char init_head[TC_STR];        /* "" or a safetensors file with the head's initial weights */
    /* --- training --- */
    double learning_rate;          /* 1e-3, >= 0 */
    double weight_decay;           /* 0.01, >= 0 */
    int batch_size;                /* 8, >= 1 */
    int gradient_accumulation_steps; /* 1, >= 1 */
    int num_epochs;                /* 5, >= 1 */
    char optim[TC_STR];            /* "adamw_torch" (also adamw, adamw_torch_fused: same math) */
    int64_t seed;                  /* 23, >= 0 */
    int max_steps_per_epoch;       /* 0 = whole epoch; > 0 limits batches per epoch (test mode) */
    int threads;                   /* 0 = OMP_NUM_THREADS, else all cores (trainer_use_threads) */
    /* --- logging --- */
    char log_level[TC_STR];        /* DEBUG/INFO/WARNING/ERROR/CRITICAL, stored upper-case */
    int steps_freq;                /* 10: train/loss logging (and step checkpoints); at most 2^20 */
    int val_steps_freq;            /* 25: validation every N steps (and at step 0) */
    int epoch_freq;                /* 1: epoch checkpoints */
    int progress;                  /* -1 auto (stderr is a tty), 0 off, 1 on ("auto"/false/true) */
    /* --- checkpoints --- */
    int resume_from_checkpoint;    /* 0 */
    char resume_option[TC_STR];    /* "last" | "best" | "path" */
    char checkpoint_path[TC_STR];  /* needed when resuming with resume_option "path" */
    char checkpoint_metric[TC_STR];/* "val/loss" | "val/accuracy" | "train/loss" ("eval/loss" -> "val/loss") */
    char checkpoint_metric_mode[TC_STR]; /* "min" | "max" */
    int keep_last_n;               /* 3, 0 keeps all */
    int keep_best_n;               /* 1 */
    char save_strategy[TC_STR];    /* "epoch" | "step" */
    char project_dir[TC_STR];      /* outputs: <project_dir>/checkpoints/ ... */
    int save_optim;                /* 0 */
    int sync_to_storage;           /* 0: 1 mirrors every checkpoint into remote_path */
    int load_from_storage;         /* 0: 1 resumes from remote_path's history */
    char remote_path[TC_STR];      /* "" or the mirror directory (storage_backend local) */

    /* Keys read that do nothing here, with the reason (see header comment). */
    TrainConfigNote not_applicable[TC_MAX_NOT_APPLICABLE];
    int n_not_applicable;

    /* Where each key was last set (private to train_config.c: use for messages only). */
    struct {
        char sources[TC_MAX_SOURCES][TC_STR]; /* [0] = "defaults" */
        int n_sources;
        signed char source[TC_MAX_KEYS];      /* index into sources, per key */
        int line[TC_MAX_KEYS];                /* 1-based, 0 = none */
    } origin;
} TrainConfig;

void train_config_defaults(TrainConfig *c);
/* Applies a YAML file on top of c (base config or test overlay). */
int train_config_load(TrainConfig *c, const char *path, AlbError *err);
/* The same from memory; name is used in messages (the fuzz target's entry). */
int train_config_parse(TrainConfig *c, const char *yaml, size_t len, const char *name, AlbError *err);
/* One "key=value" override. */
int train_config_set(TrainConfig *c, const char *assignment, AlbError *err);
/* Cross-key checks; fills cache_dir when empty. */
int train_config_validate(TrainConfig *c, AlbError *err);
/* defaults -> path -> test_config (may be NULL) -> sets[0..n_sets) -> validate. */
int train_config_build(TrainConfig *c, const char *path, const char *test_config,
                       const char *const *sets, int n_sets, AlbError *err);

/* The dataset files this config names, for dataset_load_splits. The strings
 * point into c. */
DatasetSplits train_config_splits(const TrainConfig *c);

/* One line for the log: "use_tt: True: not applicable here (no Tenstorrent device: ...)". */
void train_config_describe_note(const TrainConfigNote *n, char *buf, size_t size);

/* The effective config as a JSON object (every key, not_applicable included),
 * for checkpoint metadata. New reference; caller decrefs. */
json_t *train_config_to_json(const TrainConfig *c);
/* The effective config as YAML that train_config_load reads back to the same
 * values: "key: value" lines, one per key, in the order of the struct;
 * strings double-quoted, numbers in their shortest exact form. */
void train_config_print(const TrainConfig *c, FILE *fp);

#endif
