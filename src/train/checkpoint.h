/* Checkpoints: one safetensors file per save, plus checkpoint_history.json.
 *
 * A checkpoint file (written atomically) holds the head tensors under the
 * reference names (classifier.0.weight, ...), and when the optimizer is saved
 * "optimizer.<name>.exp_avg" / "optimizer.<name>.exp_avg_sq" for each of them
 * (same dtype as the head). Its __metadata__ holds strings: format_version,
 * step, epoch, epoch_position, optimizer_step, dtype, metrics (JSON object),
 * label_names (JSON array), config (JSON), encoder_id, encoder_hash, engine,
 * rng_state, data_order, final ("1" for the end-of-training save),
 * random_encoder ("1" when the encoder had random weights; absent otherwise).
 *
 * Files live in <project_dir>/checkpoints/ and are named like the reference:
 * checkpoint_step{S}_epoch{E}_{YYYYmmdd_HHMMSS}.safetensors (UTC), with "_2", "_3",
 * ... appended before the extension when that name is taken (same second).
 *
 * checkpoint_history.json, next to them, rewritten atomically after each save:
 *   {"checkpoints": [{"path", "step", "epoch", "metrics": {...}, "timestamp"}, ...],
 *    "best_checkpoints": [ same entries, best first ]}
 * "checkpoints" is in save order; the final save is always its last entry.
 * Retention after each save: keep_best_n (> 0) keeps the best entries by
 * metric (mode min or max; "eval/loss" and "val/loss" are the same metric;
 * an entry without the metric never ranks); keep_last_n (> 0) deletes the
 * files of entries older than the newest n, except those in best_checkpoints,
 * and drops them from "checkpoints"; 0 keeps all.
 *
 * Remote mirror (storage "remote_path"): with sync, every saved checkpoint
 * is copied atomically to the remote directory, and that directory gets its
 * own history (same entries, remote paths, same retention). Resume lookup
 * reads the local or the remote history.
 *
 * Reading a history validates it entirely; a corrupt one is an error naming
 * the file, never silently replaced. */
#ifndef ALB_TRAIN_CHECKPOINT_H
#define ALB_TRAIN_CHECKPOINT_H

#include <stddef.h>
#include "util/error.h"
#include "model/head.h"
#include "train/adamw.h"

#define CHECKPOINT_FORMAT_VERSION 1
#define CHECKPOINT_HISTORY_NAME "checkpoint_history.json"

/* Everything but the tensors. Strings are malloc'ed (checkpoint_meta_free);
 * a NULL string is not written and reads back as NULL. JSON fields must hold
 * valid JSON when set (metrics: an object whose values are numbers). */
typedef struct {
    long step;            /* optimizer steps done when saved */
    long epoch;           /* epoch in progress (1-based, as the reference names files) */
    long epoch_position;  /* batches of `epoch` already consumed */
    int final;            /* 1 for the end-of-training save */
    int random_encoder;   /* 1: the encoder had random weights (saved only when 1) */
    char *dtype;          /* "float32" or "bfloat16": filled on load (saving writes the head's) */
    char *metrics_json;   /* {"val/loss": 1.2, "val/accuracy": 0.7, "train/loss": ...} */
    char *label_names_json; /* ["activate_my_card", ...] */
    char *config_json;    /* the run's resolved configuration */
    char *encoder_id;     /* model id or directory */
    char *encoder_hash;   /* albert_weights_hash: the encoder's config and loaded weight values, not its file */
    char *engine;         /* albert_engine of the features the head learnt from ("" when unknown: features
                           * files); required on load (an older checkpoint without it is refused), saved as "" when NULL */
    char *rng_state;      /* trainer's PRNG state, hex */
    char *data_order;     /* trainer's data-order state (opaque string) */
} CheckpointMeta;

void checkpoint_meta_free(CheckpointMeta *m);

/* Writes one checkpoint file atomically: h's parameters, opt's moments and
 * step when opt != NULL, and meta. On failure the target path is untouched
 * and no temporary file is left. */
int checkpoint_save(const char *path, const Head *h, const AdamW *opt, const CheckpointMeta *meta,
                    AlbError *err);
/* Reads a checkpoint into an existing head (sizes must match; see
 * head_create_from_file to size a head from the file), into opt when not NULL
 * (error if the file has no optimizer state; opt must have h->n_params
 * entries), and meta when not NULL. Any missing/invalid field is an error
 * naming the file; h and opt may then hold part of the file. */
int checkpoint_load(const char *path, Head *h, AdamW *opt, CheckpointMeta *meta, AlbError *err);
/* Only the metadata (cheap: header only). */
int checkpoint_read_meta(const char *path, CheckpointMeta *meta, AlbError *err);

/* ---- history ---- */

typedef struct {
    char *path;          /* checkpoint file, as saved (dir/name) */
    long step, epoch;
    char *metrics_json;  /* JSON object, "{}" when none */
    char *timestamp;     /* ISO 8601 UTC, e.g. "2026-11-27T05:10:00Z" */
} CheckpointEntry;

typedef struct {
    int n;
    CheckpointEntry *items;   /* save order */
    int n_best;
    CheckpointEntry *best;    /* best first */
} CheckpointHistory;

/* Validates and parses a history document; name_for_errors names it in errors. */
int history_parse(CheckpointHistory *hist, const char *json, size_t len, const char *name_for_errors,
                  AlbError *err);
/* A missing file gives an empty history; an unreadable or corrupt one an error. */
int history_load(CheckpointHistory *hist, const char *path, AlbError *err);
int history_save(const CheckpointHistory *hist, const char *path, AlbError *err);
void history_free(CheckpointHistory *hist);

typedef struct {
    int keep_last_n;      /* 0 keeps all */
    int keep_best_n;      /* 0: no best tracking */
    const char *metric;   /* e.g. "eval/loss" (alias of "val/loss"), "val/accuracy" */
    int metric_max;       /* 1: higher is better (mode "max"), 0: lower ("min") */
} CheckpointPolicy;

/* The checkpoint directory of one run, with its history and optional mirror. */
typedef struct {
    char *dir;            /* <project_dir>/checkpoints */
    char *remote_dir;     /* NULL: no mirror */
    int sync_to_remote;   /* copy each save to remote_dir */
    CheckpointPolicy policy;  /* metric string is copied */
    CheckpointHistory history;
    CheckpointHistory remote_history;
} CheckpointStore;

/* Creates <project_dir>/checkpoints (and remote_dir when syncing) and loads
 * their histories (validated). remote_dir may be NULL. */
int ckpt_store_open(CheckpointStore *s, const char *project_dir, const CheckpointPolicy *policy,
                    const char *remote_dir, int sync_to_remote, AlbError *err);
void ckpt_store_close(CheckpointStore *s);

/* Saves a new checkpoint (named from meta->step / meta->epoch and the current
 * time), records it with meta->metrics_json in the history, applies
 * retention, writes the history, and mirrors to the remote when syncing.
 * The chosen path is copied to path_out when not NULL. */
int ckpt_store_save(CheckpointStore *s, const Head *h, const AdamW *opt, const CheckpointMeta *meta,
                    char *path_out, size_t path_out_size, AlbError *err);

/* A fresh (not resumed) run where an earlier run left a history or metric files:
 * the earlier checkpoint_history.json (local and remote, when not empty) and
 * each of also[0..n_also) that exists (the earlier run's metric files, and its
 * tensorboard/ directory) are
 * renamed into the store's directory (the remote history into the remote one)
 * as <stem>.<suffix><ext> (checkpoint_history.<suffix>.json, metrics.<suffix>.jsonl),
 * suffix being the UTC time YYYYmmdd_HHMMSS, with _2, _3... appended when one of
 * those names is taken. The store starts empty, so retention and best tracking
 * never mix two runs; no checkpoint file is touched. The suffix goes to suffix
 * (an empty string when nothing was archived). */
int ckpt_store_start_new_run(CheckpointStore *s, char *const *also, int n_also, char *suffix, size_t suffix_size,
                             AlbError *err);

/* Resume lookup. option: "last" (last entry of "checkpoints"), "best" (first
 * of "best_checkpoints"), or "path" (explicit_path, which must exist).
 * from_remote reads the remote history (load_from_storage). The found file
 * must exist. Writes the path to out. */
int ckpt_store_resolve(const CheckpointStore *s, const char *option, const char *explicit_path,
                       int from_remote, char *out, size_t out_size, AlbError *err);

/* "eval/loss" and "val/loss" name the same metric; looks `metric` up in a
 * metrics JSON object. Returns 0 and sets *value, or -1 when absent. */
int checkpoint_metric_value(const char *metrics_json, const char *metric, double *value);

#endif
