/* Console log and metric files of `albertc train`.
 *
 * Logger: lines "YYYY-mm-dd HH:MM:SS | LEVEL | message" on a stream (stderr),
 * filtered by a minimum level. A progress line (redrawn with \r) may be shown
 * when the stream is a terminal; any log line first clears it.
 *
 * MetricsLog: the metric history of a run in <project_dir>:
 *   metrics.jsonl     {"step": N, "train/loss": x} or {"step": N, "val/loss": x, "val/accuracy": y}
 *                     (doubles printed with %.17g: read back, they are the same bits)
 *   train_loss.csv    _step,train/loss      (the reference's test-mode CSVs)
 *   val_loss.csv      _step,val/loss
 *   val_accuracy.csv  _step,val/accuracy
 * Each line is appended and fsync'ed. Opening for a fresh run empties the
 * files (the trainer first archives an earlier run's, see metrics_log_files);
 * opening to resume at step S first rewrites each (atomically) to keep
 * only the entries with step <= S, so a resumed run's files end equal to an
 * uninterrupted run's.
 *
 *   tensorboard/      TensorBoard event files (train/tb_events.h): the same
 *                     train/loss, val/loss, val/accuracy (as floats), the
 *                     extra scalars and texts of metrics_log_tb_*. A fresh run
 *                     writes one new file; a resume at step S first cuts the
 *                     earlier files to steps <= S (tb_truncate_dir), then
 *                     writes a new file: TensorBoard reads every file of the
 *                     directory as one run, so each step appears once. */
#ifndef ALB_TRAIN_METRICS_LOG_H
#define ALB_TRAIN_METRICS_LOG_H

#include <stdio.h>
#include "train/tb_events.h"
#include "util/error.h"
#include "util/progress.h"

enum { LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERROR, LOG_CRITICAL };

typedef struct {
    FILE *fp;
    int min_level;
    int progress_shown;   /* a \r line is on screen */
} Logger;

/* "DEBUG".."CRITICAL" (case-insensitive) -> level; -1 when unknown. */
int log_level_parse(const char *name);
void log_msg(Logger *lg, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Redraws the progress line (no newline). */
void log_progress(Logger *lg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Ends a progress line if one is shown. */
void log_progress_done(Logger *lg);
/* p's state at `done` through the logger (util/progress.h): a redrawn line
 * (PROGRESS_BAR) or an INFO line at most every 10 s (PROGRESS_LINES); final:
 * the bar cleared, or the last line. */
void log_progress_show(Logger *lg, Progress *p, double done, int final);

typedef struct {
    char *dir;
    FILE *jsonl, *train_csv, *val_loss_csv, *val_acc_csv;
    TbWriter tb;
} MetricsLog;

/* The four metric files and the tensorboard/ directory. */
#define METRICS_N_FILES 5
/* The paths of project_dir's metric files (malloc'ed, into paths[]). Returns 1
 * when one of them holds an entry (a line past its CSV header, or an existing
 * tensorboard/): an earlier run's metrics, which a fresh run must archive
 * before it opens them. */
int metrics_log_files(const char *project_dir, char *paths[METRICS_N_FILES]);

/* resume_step < 0: a fresh run. */
int metrics_log_open(MetricsLog *ml, const char *project_dir, long resume_step, AlbError *err);
int metrics_log_train(MetricsLog *ml, long step, double loss, AlbError *err);
int metrics_log_val(MetricsLog *ml, long step, double loss, double accuracy, AlbError *err);
/* TensorBoard only (values metrics.jsonl does not hold): n scalars of one step,
 * or a text (markdown, TensorBoard's text plugin). Flushed and fsync'ed. */
int metrics_log_tb_scalars(MetricsLog *ml, long step, int n, const char *const *tags, const double *values,
                           AlbError *err);
int metrics_log_tb_text(MetricsLog *ml, long step, const char *tag, const char *text, AlbError *err);
void metrics_log_close(MetricsLog *ml);

#endif
