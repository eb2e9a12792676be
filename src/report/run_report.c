/* The run report; see run_report.h. */
#include "report/run_report.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "data/csv.h"
#include "util/fileio.h"

/* The page's parts, embedded at build time (the Makefile names these files as
 * prerequisites of this object): an installed albertc needs no file beside it. */
#define EMBED(sym, file)                                                                                   \
    __asm__(".section .rodata\n.global " #sym "\n.hidden " #sym "\n" #sym ":\n.incbin \"" file "\"\n"     \
            ".global " #sym "_end\n.hidden " #sym "_end\n" #sym "_end:\n.byte 0\n.previous\n");            \
    extern const char sym[], sym##_end[]
EMBED(alb_report_template, "src/report/report_template.html");
EMBED(alb_chartjs, "third_party/chart.js/chart.umd.min.js");
EMBED(alb_chartjs_matrix, "third_party/chartjs-chart-matrix/chartjs-chart-matrix.min.js");

/* ------------------------------------------------------------------ curves */

typedef struct {
    const char *tag;
    long *step;
    double *value;
    size_t n, cap;
} Series;

enum { S_TRAIN_LOSS, S_VAL_LOSS, S_VAL_ACC, N_SERIES };
static const char *const SERIES_TAGS[N_SERIES] = {"train/loss", "val/loss", "val/accuracy"};

static void series_add(Series *s, long step, double v) {
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 256;
        s->step = alb_xrealloc(s->step, s->cap * sizeof *s->step);
        s->value = alb_xrealloc(s->value, s->cap * sizeof *s->value);
    }
    s->step[s->n] = step;
    s->value[s->n++] = v;
}

static int read_metrics(const char *run_dir, Series s[N_SERIES], AlbError *err) {
    char *path = alb_path_join(run_dir, "metrics.jsonl"), *data;
    size_t len;
    int rc = alb_read_file(path, &data, &len, err);
    for (char *line = rc ? NULL : data, *nl; line && *line; line = nl ? nl + 1 : NULL) {
        nl = strchr(line, '\n');
        if (!nl) break;  /* a torn last line (a killed run's) is not a record */
        json_t *o = json_loadb(line, (size_t)(nl - line), 0, NULL);
        json_t *st = json_object_get(o, "step");
        for (int i = 0; i < N_SERIES && json_is_integer(st); i++) {
            json_t *v = json_object_get(o, SERIES_TAGS[i]);
            if (json_is_number(v)) series_add(&s[i], (long)json_integer_value(st), json_number_value(v));
        }
        json_decref(o);
    }
    free(data);
    free(path);
    return rc;
}

/* Indices of the points to draw: all, or each bucket's lowest and highest (see run_report.h). */
static size_t downsample(const Series *s, size_t *keep) {
    if (s->n <= REPORT_MAX_POINTS) {
        for (size_t i = 0; i < s->n; i++) keep[i] = i;
        return s->n;
    }
    size_t k = 0, buckets = REPORT_MAX_POINTS / 2;
    for (size_t b = 0; b < buckets; b++) {
        size_t lo = s->n * b / buckets, hi = s->n * (b + 1) / buckets, mn = lo, mx = lo;
        for (size_t i = lo; i < hi; i++) {
            if (s->value[i] < s->value[mn]) mn = i;
            if (s->value[i] > s->value[mx]) mx = i;
        }
        keep[k++] = mn < mx ? mn : mx;
        if (mn != mx) keep[k++] = mn < mx ? mx : mn;
    }
    return k;
}

static json_t *series_json(const Series *s) {
    size_t *keep = alb_xmalloc((s->n + 1) * sizeof *keep), k = downsample(s, keep);
    json_t *pts = json_array();
    for (size_t i = 0; i < k; i++)
        json_array_append_new(pts, json_pack("[I,f]", (json_int_t)s->step[keep[i]], s->value[keep[i]]));
    free(keep);
    return json_pack("{s:o,s:I}", "points", pts, "logged", (json_int_t)s->n);
}

/* ------------------------------------------------------------------ SVG */

static const char *const COLORS[] = {"#1f77b4", "#ff7f0e", "#2ca02c"};

/* A line chart of n series (each downsampled as the page's): axes with 5 ticks,
 * a polyline per series, a legend. For export only: the page draws with Chart.js. */
static int write_svg(const char *path, const char *title, const Series *const *s, int n, AlbError *err) {
    const double W = 640, H = 360, L = 70, R = 20, T = 40, B = 50;
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (int j = 0; j < n; j++)
        for (size_t i = 0; i < s[j]->n; i++) {
            x0 = fmin(x0, (double)s[j]->step[i]), x1 = fmax(x1, (double)s[j]->step[i]);
            y0 = fmin(y0, s[j]->value[i]), y1 = fmax(y1, s[j]->value[i]);
        }
    if (!(x0 <= x1)) x0 = 0, x1 = 1, y0 = 0, y1 = 1;  /* nothing logged: empty axes */
    if (x1 == x0) x1 = x0 + 1;
    if (y1 == y0) y0 -= 0.5, y1 += 0.5;
    AtomicFile af;
    if (atomic_open(&af, path, err)) return -1;
    FILE *f = af.fp;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%g\" height=\"%g\" font-family=\"sans-serif\" "
            "font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
            "<text x=\"%g\" y=\"22\" font-size=\"15\">%s</text>\n", W, H, L, title);
    for (int t = 0; t <= 4; t++) {
        double fx = L + (W - L - R) * t / 4, fy = H - B - (H - T - B) * t / 4;
        fprintf(f, "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"#ddd\"/>\n", L, fy, W - R, fy);
        fprintf(f, "<text x=\"%g\" y=\"%g\" text-anchor=\"end\">%.4g</text>\n", L - 6, fy + 4, y0 + (y1 - y0) * t / 4);
        fprintf(f, "<text x=\"%g\" y=\"%g\" text-anchor=\"middle\">%.0f</text>\n", fx, H - B + 18, x0 + (x1 - x0) * t / 4);
    }
    fprintf(f, "<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" fill=\"none\" stroke=\"#333\"/>\n", L, T, W - L - R,
            H - T - B);
    fprintf(f, "<text x=\"%g\" y=\"%g\" text-anchor=\"middle\">step</text>\n", L + (W - L - R) / 2, H - 12);
    for (int j = 0; j < n; j++) {
        size_t *keep = alb_xmalloc((s[j]->n + 1) * sizeof *keep), k = downsample(s[j], keep);
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"", COLORS[j]);
        for (size_t i = 0; i < k; i++)
            fprintf(f, "%.1f,%.1f ", L + (W - L - R) * ((double)s[j]->step[keep[i]] - x0) / (x1 - x0),
                    H - B - (H - T - B) * (s[j]->value[keep[i]] - y0) / (y1 - y0));
        fprintf(f, "\"/>\n<text x=\"%g\" y=\"%g\" fill=\"%s\">%s</text>\n", W - R - 150, T + 16 + 16.0 * j, COLORS[j],
                s[j]->tag);
        free(keep);
    }
    fputs("</svg>\n", f);
    return atomic_commit(&af, err);
}

/* ------------------------------------------------------------------ eval files */

/* path's JSON, or NULL when it is missing (a report without it) or unreadable. */
static json_t *load_optional(const char *dir, const char *name) {
    char *path = alb_path_join(dir, name);
    json_t *o = alb_file_exists(path) ? json_load_file(path, 0, NULL) : NULL;
    free(path);
    return o;
}

/* confusion_matrix.csv as {"labels": [...], "matrix": [[...], ...]}, or NULL. */
static json_t *load_confusion(const char *eval_dir) {
    char *path = alb_path_join(eval_dir, "confusion_matrix.csv"), *data;
    size_t len, pos = 0;
    AlbError ignored;
    json_t *out = NULL;
    if (alb_file_exists(path) && !alb_read_file(path, &data, &len, &ignored)) {
        CsvRecord r = {0};
        int line = 1;
        json_t *labels = json_array(), *matrix = json_array();
        for (int row = 0; pos < len && !csv_record(data, len, &pos, &line, &r) && !csv_blank(&r); row++) {
            json_t *cells = json_array();
            for (int i = 1; i < r.n; i++) {
                char *cell = r.buf + r.start[i], count[32];
                if (row == 0) {
                    json_array_append_new(labels, json_stringn(cell, r.flen[i]));
                } else {  /* fields are not NUL-terminated in r.buf */
                    snprintf(count, sizeof count, "%.*s", (int)r.flen[i], cell);
                    json_array_append_new(cells, json_integer(strtoll(count, NULL, 10)));
                }
            }
            if (row) json_array_append_new(matrix, cells);
            else json_decref(cells);
        }
        csv_record_free(&r);
        free(data);
        out = json_pack("{s:o,s:o}", "labels", labels, "matrix", matrix);
    }
    free(path);
    return out;
}

#define ERROR_SAMPLE 25

/* The first ERROR_SAMPLE lines of errors.jsonl and how many there are, or NULL. */
static json_t *load_errors(const char *eval_dir) {
    char *path = alb_path_join(eval_dir, "errors.jsonl"), *data;
    size_t len;
    AlbError ignored;
    json_t *out = NULL;
    if (alb_file_exists(path) && !alb_read_file(path, &data, &len, &ignored)) {
        json_t *sample = json_array();
        long n = 0;
        for (char *line = data, *nl; (nl = strchr(line, '\n')); line = nl + 1, n++)
            if (n < ERROR_SAMPLE) {
                json_t *o = json_loadb(line, (size_t)(nl - line), 0, NULL);
                if (o) json_array_append_new(sample, o);
            }
        free(data);
        out = json_pack("{s:o,s:I}", "sample", sample, "count", (json_int_t)n);
    }
    free(path);
    return out;
}

/* ------------------------------------------------------------------ page */

/* The template with each "@@NAME@@" replaced by its part. */
static void write_page(FILE *f, const char *data_json) {
    static const struct {
        const char *name, *start, *end;
    } parts[] = {{"@@CHARTJS@@", alb_chartjs, alb_chartjs_end},
                 {"@@CHARTJS_MATRIX@@", alb_chartjs_matrix, alb_chartjs_matrix_end},
                 {"@@DATA@@", NULL, NULL}};
    const char *p = alb_report_template, *end = alb_report_template_end;
    while (p < end) {
        const char *at = memmem(p, (size_t)(end - p), "@@", 2);
        if (!at) at = end;
        fwrite(p, 1, (size_t)(at - p), f);
        p = at;
        if (at == end) break;
        size_t i = 0, n = sizeof parts / sizeof parts[0];
        while (i < n && strncmp(at, parts[i].name, strlen(parts[i].name))) i++;
        if (i == n) {  /* not a marker: the text "@@" itself */
            fwrite("@@", 1, 2, f);
            p += 2;
            continue;
        }
        if (parts[i].start) fwrite(parts[i].start, 1, (size_t)(parts[i].end - parts[i].start), f);
        else fputs(data_json, f);
        p += strlen(parts[i].name);
    }
}

/* out_html without ".html" + suffix. */
static char *beside(const char *out_html, const char *suffix) {
    size_t n = strlen(out_html);
    if (n > 5 && !strcmp(out_html + n - 5, ".html")) n -= 5;
    size_t m = n + strlen(suffix) + 1;
    char *p = alb_xmalloc(m);
    snprintf(p, m, "%.*s%s", (int)n, out_html, suffix);
    return p;
}

int run_report_write(const char *run_dir, const char *out_html, AlbError *err) {
    Series s[N_SERIES] = {{0}};
    for (int i = 0; i < N_SERIES; i++) s[i].tag = SERIES_TAGS[i];
    if (read_metrics(run_dir, s, err)) return -1;
    char *out = out_html ? alb_xstrdup(out_html) : alb_path_join(run_dir, REPORT_NAME);
    char *eval_dir = alb_path_join(run_dir, "eval");
    json_t *run = load_optional(run_dir, RUN_INFO_NAME);
    /* The learning rate is the configured constant (AdamW here has no schedule): a flat line over the steps. */
    Series lr = {.tag = "train/learning_rate"};
    json_t *lr_value = json_object_get(json_object_get(run, "config"), "learning_rate");
    const Series *steps_of = s[S_TRAIN_LOSS].n ? &s[S_TRAIN_LOSS] : &s[S_VAL_LOSS];
    if (json_is_number(lr_value) && steps_of->n) {
        series_add(&lr, steps_of->step[0], json_number_value(lr_value));
        series_add(&lr, steps_of->step[steps_of->n - 1], json_number_value(lr_value));
    }
    json_t *curves = json_object();
    for (int i = 0; i < N_SERIES; i++) json_object_set_new(curves, SERIES_TAGS[i], series_json(&s[i]));
    json_t *eval = json_pack("{s:o*,s:o*,s:o*,s:o*}", "summary", load_optional(eval_dir, "summary.json"), "report",
                             load_optional(eval_dir, "classification_report.json"), "confusion",
                             load_confusion(eval_dir), "errors", load_errors(eval_dir));
    char stamp[32];
    time_t now = time(NULL);
    strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S UTC", gmtime(&now));
    json_t *data = json_pack("{s:s,s:s,s:o*,s:o,s:o,s:i}", "run_dir", run_dir, "generated", stamp, "run", run,
                             "curves", curves, "eval", eval, "max_points", REPORT_MAX_POINTS);
    /* JSON_ESCAPE_SLASH: no "</script>" can end the data block early, whatever the texts hold. */
    char *data_json = json_dumps(data, JSON_COMPACT | JSON_ESCAPE_SLASH | JSON_REAL_PRECISION(17));
    json_decref(data);

    AtomicFile af;
    int rc = atomic_open(&af, out, err);
    if (!rc) {
        write_page(af.fp, data_json);
        rc = atomic_commit(&af, err);
    }
    const struct {
        const char *suffix, *title;
        const Series *series[2];
        int n;
    } svgs[] = {{".loss.svg", "loss (train, validation)", {&s[S_TRAIN_LOSS], &s[S_VAL_LOSS]}, 2},
                {".val_accuracy.svg", "validation accuracy", {&s[S_VAL_ACC]}, 1},
                {".learning_rate.svg", "learning rate", {&lr}, 1}};
    for (size_t i = 0; !rc && i < sizeof svgs / sizeof svgs[0]; i++) {
        char *path = beside(out, svgs[i].suffix);
        rc = write_svg(path, svgs[i].title, svgs[i].series, svgs[i].n, err);
        free(path);
    }
    free(lr.step);
    free(lr.value);
    for (int i = 0; i < N_SERIES; i++) {
        free(s[i].step);
        free(s[i].value);
    }
    free(data_json);
    free(eval_dir);
    free(out);
    return rc;
}
