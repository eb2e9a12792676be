/* The training loop of `albertc train` on precomputed encoder features.
 *
 * Head (head_init_params with the config seed, or the init_head file) and
 * AdamW(lr, (0.9, 0.999), 1e-8, weight_decay), bf16 per the config's dtype.
 * An epoch: the train split in the order of that epoch's permutation
 * (trainer_permutation; the identity when shuffle is off), batches of
 * batch_size rows, the last partial batch dropped, at most
 * max_steps_per_epoch batches (0: all). One optimizer step ("step") per
 * gradient_accumulation_steps = k batches (micro-batches; leftover batches at
 * the end of an epoch are not used). A step's loss is the mean of its k
 * micro-batch losses; train/loss, logged every steps_freq steps, is the mean
 * of the last steps_freq step losses (summed in double, in order).
 * Validation at step 0 and every val_steps_freq steps (and after the last
 * step when that is not one already) over every eval row, batch_size rows per
 * forward: val/loss = mean of the per-batch mean losses, val/accuracy =
 * correct / total.
 *
 * Order of one step's work: update; train/loss line; validation; step
 * checkpoint (save_strategy step, step % steps_freq == 0); the test hook
 * kill_at_step; the stop request (checkpoint, return 1). At the end of an
 * epoch: epoch checkpoint (save_strategy epoch, epoch % epoch_freq == 0).
 * After training: the final checkpoint (always, the history's last entry; the
 * last step gets no step or epoch checkpoint of its own).
 *
 * Divergence: a non-finite step loss or validation loss, or non-finite weights
 * (or saved moments) at a checkpoint, stop the run with an error (-1) before
 * anything is logged or saved from them: metrics files hold finite numbers
 * only, and the last checkpoint saved is the last good one.
 *
 * A checkpoint holds the head, the optimizer when save_optim, and everything
 * needed to continue exactly: step, epoch, position in the epoch (batches
 * consumed), the epoch permutation's seed (rng_state), and in data_order the
 * values that decide the data order and schedule (train rows, shuffle, seed,
 * batch_size, gradient_accumulation_steps, max_steps_per_epoch, num_epochs,
 * steps_freq, val_steps_freq) with the unlogged train losses. Resuming checks
 * that this run has the same values (else TRAINER_CONFIG_MISMATCH) and
 * continues there; with the optimizer state, the weights and metric history
 * end bit-identical to an uninterrupted run.
 *
 * The head phase is single-threaded BLAS (the head is small): results do not
 * depend on the thread count. Validation batches run in parallel (OpenMP)
 * with per-thread buffers and are summed in batch order, so they do not either. */
#ifndef ALB_TRAIN_TRAINER_H
#define ALB_TRAIN_TRAINER_H

#include <signal.h>
#include <stdint.h>
#include "train/metrics_log.h"
#include "train/train_config.h"
#include "util/error.h"

typedef struct {
    int n;
    const float *x;   /* [n, hidden] */
    const int *y;     /* [n], each in [0, num_labels) */
} FeatureSplit;

typedef struct {
    const TrainConfig *cfg;
    int hidden;
    FeatureSplit train, eval;
    int num_labels;
    char *const *label_names;     /* [num_labels] (entries may be NULL), or NULL */
    const char *encoder_id;       /* model id/directory, or the features files */
    const char *encoder_hash;     /* albert_weights_hash, or "" when unknown */
    const char *encoder_engine;   /* albert_engine of the features, or "" when unknown: a resume from a
                                   * checkpoint of another (known) engine is refused */
    int random_encoder;           /* the encoder has random weights (recorded in checkpoints) */
    Logger *log;
    int progress;                 /* PROGRESS_OFF, _BAR or _LINES (util/progress.h): the steps' progress */
    volatile sig_atomic_t *stop;  /* when it becomes nonzero: finish the step, checkpoint, return 1 */
    long kill_at_step;            /* test hook (0: off): raise(kill_signal) right after step N's work */
    int kill_signal;              /* 0 = SIGKILL */
    long step_delay_ms;           /* test hook (0: off): sleep after each step, so a run outlasts a test's random kill */
} TrainerInputs;

typedef struct {
    long start_step;              /* 0, or the step resumed from */
    long steps, total_steps;
    int have_val;
    double val_loss, val_accuracy;   /* the last validation */
    int have_best;
    double best_value;            /* checkpoint_metric of the best checkpoint */
    char best_checkpoint[4096];
    char last_checkpoint[4096];
    char checkpoint_dir[4096];
    char metrics_path[4096];
    double seconds;               /* training loop wall time */
} TrainSummary;

/* What can be checked before the feature pass, so that a run never fails late
 * on its configuration: project_dir, <project_dir>/checkpoints/, remote_path
 * (when syncing) and cache_dir (when features come from text) are made and
 * writable; the checkpoint histories are valid; with resume_from_checkpoint
 * the checkpoint to resume from exists (as trainer_run will look it up) and
 * was saved with this configuration's schedule (all but train_rows, which
 * needs the data);
 * init_head holds a head of mlp_hidden_size units and num_labels labels.
 * 0, or -1 with the first problem in err. */
int trainer_preflight(const TrainConfig *c, AlbError *err);

/* 0: done; 1: stopped on request (checkpoint saved); -1: error (err set);
 * TRAINER_CONFIG_MISMATCH: resuming a checkpoint saved with another data order
 * or schedule (err names the key and both values; nothing was written). */
enum { TRAINER_CONFIG_MISMATCH = -2 };
int trainer_run(const TrainerInputs *in, TrainSummary *sum, AlbError *err);

/* The `threads` setting, applied where training or encoding starts: n > 0 runs
 * OpenMP (encoder, validation batches) and OpenBLAS with n threads; 0 leaves
 * their defaults (OMP_NUM_THREADS / OPENBLAS_NUM_THREADS when set, else all cores). */
void trainer_use_threads(int threads);

/* The seed of epoch e's permutation (SplitMix64 of seed and epoch). */
uint64_t trainer_epoch_seed(uint64_t seed, long epoch);
/* Fisher-Yates on 0..n-1 with a SplitMix64 stream started at epoch_seed:
 * for i = n-1 down to 1, j = (splitmix64() * (i+1)) >> 64, swap(i, j). */
void trainer_permutation(int *perm, int n, uint64_t epoch_seed);

#endif
