/* Console log and metric files; see metrics_log.h. */
#include "train/metrics_log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/fileio.h"

static const char *const LEVEL_NAMES[] = {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"};

int log_level_parse(const char *name) {
    for (int i = 0; i < 5; i++)
        if (!strcasecmp(name, LEVEL_NAMES[i])) return i;
    return -1;
}

void log_progress_done(Logger *lg) {
    if (!lg->progress_shown) return;
    fputs("\r\033[K", lg->fp);
    lg->progress_shown = 0;
}

void log_msg(Logger *lg, int level, const char *fmt, ...) {
    if (!lg || level < lg->min_level) return;
    log_progress_done(lg);
    char stamp[32];
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
    fprintf(lg->fp, "%s | %s | ", stamp, LEVEL_NAMES[level]);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(lg->fp, fmt, ap);
    va_end(ap);
    fputc('\n', lg->fp);
    fflush(lg->fp);
}

void log_progress(Logger *lg, const char *fmt, ...) {
    fputs("\r\033[K", lg->fp);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(lg->fp, fmt, ap);
    va_end(ap);
    fflush(lg->fp);
    lg->progress_shown = 1;
}

void log_progress_show(Logger *lg, Progress *p, double done, int final) {
    char buf[256];
    switch (progress_text(p, done, final, buf, sizeof buf)) {
    case PROGRESS_BAR:
        if (final) log_progress_done(lg);
        else log_progress(lg, "%s", buf);
        break;
    case PROGRESS_LINES: log_msg(lg, LOG_INFO, "%s", buf); break;
    }
}

/* ------------------------------------------------------------------ files */

enum { F_JSONL, F_TRAIN, F_VAL_LOSS, F_VAL_ACC, N_FILES, F_TB = N_FILES };
_Static_assert(N_FILES + 1 == METRICS_N_FILES, "METRICS_N_FILES");
static const char *const FILE_NAMES[METRICS_N_FILES] = {"metrics.jsonl", "train_loss.csv", "val_loss.csv",
                                                        "val_accuracy.csv", TB_DIR_NAME};
static const char *const CSV_HEADERS[N_FILES] = {NULL, "_step,train/loss\n", "_step,val/loss\n",
                                                 "_step,val/accuracy\n"};

static FILE **file_slot(MetricsLog *ml, int i) {
    FILE **slots[N_FILES] = {&ml->jsonl, &ml->train_csv, &ml->val_loss_csv, &ml->val_acc_csv};
    return slots[i];
}

/* The step of one line: {"step": N, ...} or "N,value"; -1 for a header or junk. */
static long line_step(const char *line, int jsonl) {
    const char *p = line;
    if (jsonl) {
        p = strstr(line, "\"step\":");
        if (!p) return -1;
        p += 7;
    }
    char *end;
    errno = 0;
    long s = strtol(p, &end, 10);
    if (errno || end == p) return -1;
    return s;
}

/* Rewrites path keeping the header and the lines whose step is <= keep_step. */
static int truncate_history(const char *path, int i, long keep_step, AlbError *err) {
    char *data = NULL;
    size_t len = 0;
    if (alb_file_exists(path) && alb_read_file(path, &data, &len, err)) return -1;
    size_t cap = len + 64, n = 0;
    char *kept = alb_xmalloc(cap);
    if (CSV_HEADERS[i]) n += (size_t)snprintf(kept, cap, "%s", CSV_HEADERS[i]);
    for (size_t pos = 0; pos < len;) {
        char *line = data + pos, *nl = memchr(line, '\n', len - pos);
        if (!nl) break;  /* a torn last line (killed mid-write) is dropped */
        size_t m = (size_t)(nl - line) + 1;
        *nl = '\0';
        long s = line_step(line, i == F_JSONL);
        if (s >= 0 && s <= keep_step) {
            memcpy(kept + n, line, m - 1);
            kept[n + m - 1] = '\n';
            n += m;
        }
        pos += m;
    }
    int rc = atomic_write_file(path, kept, n, err);
    free(data);
    free(kept);
    return rc;
}

int metrics_log_files(const char *project_dir, char *paths[METRICS_N_FILES]) {
    int entries = 0;
    for (int i = 0; i < N_FILES; i++) {
        paths[i] = alb_path_join(project_dir, FILE_NAMES[i]);
        struct stat st;
        entries |= stat(paths[i], &st) == 0 && (size_t)st.st_size > (CSV_HEADERS[i] ? strlen(CSV_HEADERS[i]) : 0);
    }
    paths[F_TB] = alb_path_join(project_dir, FILE_NAMES[F_TB]);
    return entries | alb_dir_exists(paths[F_TB]);
}

int metrics_log_open(MetricsLog *ml, const char *project_dir, long resume_step, AlbError *err) {
    memset(ml, 0, sizeof *ml);
    if (alb_mkdirs(project_dir, err)) return -1;
    ml->dir = alb_xstrdup(project_dir);
    for (int i = 0; i < N_FILES; i++) {
        char *path = alb_path_join(project_dir, FILE_NAMES[i]);
        int rc = resume_step >= 0 ? truncate_history(path, i, resume_step, err)
                                  : atomic_write_file(path, CSV_HEADERS[i], CSV_HEADERS[i] ? strlen(CSV_HEADERS[i]) : 0, err);
        if (!rc && !(*file_slot(ml, i) = fopen(path, "ab"))) rc = alb_fail(err, "%s: cannot open: %s", path, strerror(errno));
        free(path);
        if (rc) {
            metrics_log_close(ml);
            return -1;
        }
    }
    char *tb_dir = alb_path_join(project_dir, FILE_NAMES[F_TB]);
    alb_remove_stale_tmp(tb_dir);  /* a killed resume's rewrite */
    int rc = (resume_step >= 0 && tb_truncate_dir(tb_dir, resume_step, err)) || tb_open(&ml->tb, tb_dir, err);
    free(tb_dir);
    if (rc) metrics_log_close(ml);
    return rc ? -1 : 0;
}

static int append(MetricsLog *ml, int i, AlbError *err, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int append(MetricsLog *ml, int i, AlbError *err, const char *fmt, ...) {
    FILE *fp = *file_slot(ml, i);
    va_list ap;
    va_start(ap, fmt);
    int bad = vfprintf(fp, fmt, ap) < 0;
    va_end(ap);
    if (bad || fflush(fp) || fsync(fileno(fp)))
        return alb_fail(err, "%s/%s: write failed: %s", ml->dir, FILE_NAMES[i], strerror(errno));
    return 0;
}

int metrics_log_tb_scalars(MetricsLog *ml, long step, int n, const char *const *tags, const double *values,
                           AlbError *err) {
    for (int i = 0; i < n; i++)
        if (tb_scalar(&ml->tb, step, tags[i], values[i], err)) return -1;
    return tb_flush(&ml->tb, err);
}

int metrics_log_tb_text(MetricsLog *ml, long step, const char *tag, const char *text, AlbError *err) {
    return tb_text(&ml->tb, step, tag, text, err) || tb_flush(&ml->tb, err) ? -1 : 0;
}

int metrics_log_train(MetricsLog *ml, long step, double loss, AlbError *err) {
    if (append(ml, F_JSONL, err, "{\"step\": %ld, \"train/loss\": %.17g}\n", step, loss)) return -1;
    if (append(ml, F_TRAIN, err, "%ld,%.17g\n", step, loss)) return -1;
    return metrics_log_tb_scalars(ml, step, 1, (const char *const[]){"train/loss"}, &loss, err);
}

int metrics_log_val(MetricsLog *ml, long step, double loss, double accuracy, AlbError *err) {
    if (append(ml, F_JSONL, err, "{\"step\": %ld, \"val/loss\": %.17g, \"val/accuracy\": %.17g}\n", step, loss,
               accuracy))
        return -1;
    if (append(ml, F_VAL_LOSS, err, "%ld,%.17g\n", step, loss)) return -1;
    if (append(ml, F_VAL_ACC, err, "%ld,%.17g\n", step, accuracy)) return -1;
    return metrics_log_tb_scalars(ml, step, 2, (const char *const[]){"val/loss", "val/accuracy"},
                                  (const double[]){loss, accuracy}, err);
}

void metrics_log_close(MetricsLog *ml) {
    for (int i = 0; i < N_FILES; i++) {
        FILE **fp = file_slot(ml, i);
        if (*fp) fclose(*fp);
        *fp = NULL;
    }
    tb_close(&ml->tb);
    free(ml->dir);
    ml->dir = NULL;
}
