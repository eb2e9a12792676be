#include "report/evaluate.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/atomic_dir.h"
#include "util/dist.h"
#include "util/fileio.h"

/* log-sum-exp of one row of logits, in double. */
static double log_sum_exp(const float *z, int C) {
    double mx = z[0], sum = 0.0;
    for (int j = 1; j < C; j++) mx = z[j] > mx ? z[j] : mx;
    for (int j = 0; j < C; j++) sum += exp(z[j] - mx);
    return mx + log(sum);
}

int evaluate(Classifier *c, const Dataset *ds, const char *cache_dir, int progress, Evaluation *ev, AlbError *err) {
    int n = ds->n, H = c->head.hidden;
    float *features = alb_xmalloc(sizeof(float) * ((size_t)n * H + 1));
    Progress bar;
    progress_begin(&bar, progress, "eval", n, "texts");
    int rc = classifier_features(c, (const char *const *)ds->texts, n, cache_dir, features, &bar, err);
    progress_end(&bar, n);
    if (!rc && dist_rank() == 0) evaluate_features(c, ds, features, ev);
    else memset(ev, 0, sizeof *ev);  /* the other ranks of a job only share the encoding */
    free(features);
    return rc;
}

void evaluate_features(Classifier *c, const Dataset *ds, const float *features, Evaluation *ev) {
    memset(ev, 0, sizeof *ev);
    int n = ds->n, C = c->num_labels;
    float *logits = alb_xmalloc(sizeof(float) * ((size_t)n * C + 1));
    classifier_head_logits(c, features, n, logits);
    ev->n = n;
    ev->pred = alb_xmalloc(sizeof(int) * ((size_t)n + 1));
    ev->score = alb_xmalloc(sizeof(float) * ((size_t)n + 1));
    double loss = 0.0;
    for (int i = 0; i < n; i++) {
        const float *z = logits + (size_t)i * C;
        int best = head_argmax(z, C);
        double lse = log_sum_exp(z, C);
        ev->pred[i] = best;
        ev->score[i] = (float)exp(z[best] - lse);
        loss += lse - z[ds->labels[i]];
    }
    free(logits);
    ev->loss = n ? loss / n : 0.0;
    class_report_compute(&ev->report, ds->labels, ev->pred, n, C);
}

void evaluation_free(Evaluation *ev) {
    free(ev->pred);
    free(ev->score);
    class_report_free(&ev->report);
    memset(ev, 0, sizeof *ev);
}

json_t *evaluation_summary(const Evaluation *ev, const Classifier *c) {
    ConfusedPair pairs[EVAL_MOST_CONFUSED];
    int n_pairs = class_report_confused_pairs(&ev->report, pairs, EVAL_MOST_CONFUSED);
    json_t *confused = json_array();
    for (int i = 0; i < n_pairs; i++)
        json_array_append_new(confused, json_pack("{s:s, s:s, s:I}", "gold", c->labels[pairs[i].gold], "predicted",
                                                  c->labels[pairs[i].predicted], "count", (json_int_t)pairs[i].count));
    return json_pack("{s:f, s:f, s:f, s:I, s:o, s:b}", "accuracy", class_report_accuracy(&ev->report), "macro_f1",
                     ev->report.macro.f1, "loss", ev->loss, "count", (json_int_t)ev->n, "most_confused", confused,
                     "random_encoder", c->random_encoder);
}

/* ------------------------------------------------------------------ files */

#define JSON_PRETTY (JSON_INDENT(2) | JSON_REAL_PRECISION(17))

/* A CSV field, quoted when it holds a comma, a quote or a line break. */
static void csv_field(FILE *fp, const char *s) {
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, fp);
        return;
    }
    fputc('"', fp);
    for (; *s; s++) {
        if (*s == '"') fputc('"', fp);
        fputc(*s, fp);
    }
    fputc('"', fp);
}

static int write_confusion(const char *path, const Evaluation *ev, const Classifier *c, AlbError *err) {
    AtomicFile af;
    if (atomic_open(&af, path, err)) return -1;
    int C = c->num_labels;
    fputs("gold\\predicted", af.fp);
    for (int j = 0; j < C; j++) fputc(',', af.fp), csv_field(af.fp, c->labels[j]);
    fputc('\n', af.fp);
    for (int i = 0; i < C; i++) {
        csv_field(af.fp, c->labels[i]);
        for (int j = 0; j < C; j++) fprintf(af.fp, ",%ld", ev->report.confusion[(size_t)i * C + j]);
        fputc('\n', af.fp);
    }
    return atomic_commit(&af, err);
}

/* One JSON line per example (errors_only: the misclassified ones). */
static int write_examples(const char *path, const Evaluation *ev, const Classifier *c, const Dataset *ds,
                          int errors_only, AlbError *err) {
    AtomicFile af;
    if (atomic_open(&af, path, err)) return -1;
    for (long i = 0; i < ev->n; i++) {
        if (errors_only && ev->pred[i] == ds->labels[i]) continue;
        json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:f}", "index", (json_int_t)i, "text", ds->texts[i], "gold",
                              c->labels[ds->labels[i]], "predicted", c->labels[ev->pred[i]], "score",
                              (double)ev->score[i]);
        char *line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9));
        json_decref(o);
        fprintf(af.fp, "%s\n", line);
        free(line);
    }
    return atomic_commit(&af, err);
}

int evaluation_write_dir(const Evaluation *ev, const Classifier *c, const Dataset *ds, const char *out_dir,
                         AlbError *err) {
    AtomicDir d;
    if (atomic_dir_open(&d, out_dir, err)) return -1;
    const char *names[] = {"classification_report.json", "confusion_matrix.csv", "errors.jsonl", "predictions.jsonl",
                           "summary.json"};
    char *p[5];
    for (int i = 0; i < 5; i++) p[i] = atomic_dir_file(&d, names[i]);
    json_t *report = class_report_json(&ev->report, (const char *const *)c->labels);
    int rc = alb_write_json(p[0], report, JSON_PRETTY, err) || write_confusion(p[1], ev, c, err) ||
             write_examples(p[2], ev, c, ds, 1, err) || write_examples(p[3], ev, c, ds, 0, err) ||
             alb_write_json(p[4], evaluation_summary(ev, c), JSON_PRETTY, err);
    for (int i = 0; i < 5; i++) free(p[i]);
    if (rc) {
        atomic_dir_abort(&d);
        return -1;
    }
    return atomic_dir_commit(&d, err);
}
