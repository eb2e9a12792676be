#include "report/classification.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "util/error.h"

/* numpy's sum of a float64 array (pairwise_sum in its umath loops): blocks of
 * up to 128 summed with 8 accumulators, larger arrays split in two. Averages
 * summed this way equal sklearn's bit for bit. */
static double numpy_sum(const double *a, long n) {
    if (n < 8) {
        double s = 0.0;
        for (long i = 0; i < n; i++) s += a[i];
        return s;
    }
    if (n <= 128) {
        double r[8];
        memcpy(r, a, sizeof r);
        long i = 8;
        for (; i < n - n % 8; i += 8)
            for (int j = 0; j < 8; j++) r[j] += a[i + j];
        double s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++) s += a[i];
        return s;
    }
    long half = n / 2;
    half -= half % 8;
    return numpy_sum(a, half) + numpy_sum(a + half, n - half);
}

/* sklearn's _prf_divide with zero_division "warn": 0/0 is 0.0. */
static double prf_divide(long num, long den) { return den ? (double)num / (double)den : 0.0; }

/* F1 as sklearn's (1 + beta^2) p r / (beta^2 p + r), denominator 0 -> 1. */
static double f1_score(double p, double r) {
    double den = p + r;
    return 2.0 * p * r / (den == 0.0 ? 1.0 : den);
}

/* np.average over the labels, plain or weighted by support. */
static double average(const ClassReport *r, size_t field, int weighted, double *scratch) {
    int C = r->n_labels;
    for (int c = 0; c < C; c++) {
        double v;
        memcpy(&v, (const char *)&r->per_label[c] + field, sizeof v);
        scratch[c] = weighted ? v * (double)r->per_label[c].support : v;
    }
    return numpy_sum(scratch, C) / (weighted ? (double)r->n : (double)C);
}

void class_report_compute(ClassReport *r, const int *gold, const int *pred, long n, int n_labels) {
    int C = n_labels;
    memset(r, 0, sizeof *r);
    r->n_labels = C;
    r->n = n;
    r->confusion = alb_xcalloc((size_t)C * (size_t)C, sizeof(long));
    r->per_label = alb_xcalloc((size_t)C, sizeof(ClassScores));
    for (long i = 0; i < n; i++) r->confusion[(size_t)gold[i] * (size_t)C + (size_t)pred[i]]++;
    long *predicted = alb_xcalloc((size_t)C, sizeof(long));
    r->micro_is_accuracy = 1;
    for (int g = 0; g < C; g++) {
        for (int p = 0; p < C; p++) {
            r->per_label[g].support += r->confusion[(size_t)g * C + p];
            predicted[p] += r->confusion[(size_t)g * C + p];
        }
        r->correct += r->confusion[(size_t)g * C + g];
    }
    for (int c = 0; c < C; c++) {
        ClassScores *s = &r->per_label[c];
        long tp = r->confusion[(size_t)c * C + c];
        s->precision = prf_divide(tp, predicted[c]);
        s->recall = prf_divide(tp, s->support);
        s->f1 = f1_score(s->precision, s->recall);
        if (!s->support && !predicted[c]) r->micro_is_accuracy = 0;
    }
    free(predicted);
    /* micro over all labels: tp = correct, predicted = true = n */
    double acc = prf_divide(r->correct, n);
    r->micro = (ClassScores){acc, acc, f1_score(acc, acc), n};
    double *scratch = alb_xmalloc((size_t)C * sizeof(double));
    size_t fields[3] = {offsetof(ClassScores, precision), offsetof(ClassScores, recall), offsetof(ClassScores, f1)};
    double macro[3], weighted[3];
    for (int k = 0; k < 3; k++) {
        macro[k] = average(r, fields[k], 0, scratch);
        /* sklearn: no support at all gives 0.0 (zero_division "warn") */
        weighted[k] = n ? average(r, fields[k], 1, scratch) : 0.0;
    }
    free(scratch);
    r->macro = (ClassScores){macro[0], macro[1], macro[2], n};
    r->weighted = (ClassScores){weighted[0], weighted[1], weighted[2], n};
}

void class_report_free(ClassReport *r) {
    free(r->confusion);
    free(r->per_label);
    memset(r, 0, sizeof *r);
}

double class_report_accuracy(const ClassReport *r) { return r->micro.precision; }

/* A growing string, for the report's text. */
typedef struct {
    char *s;
    size_t len, cap;
} Text;

static void text_printf(Text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void text_printf(Text *t, const char *fmt, ...) {
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (k >= 0 && (size_t)k < t->cap - t->len) {
            t->len += (size_t)k;
            return;
        }
        t->cap = t->cap * 2 + (size_t)(k > 0 ? k : 0) + 64;
        t->s = alb_xrealloc(t->s, t->cap);
    }
}

/* Characters, not bytes, as Python's str.format pads. */
static int utf8_chars(const char *s) {
    int n = 0;
    for (; *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* "{:>{width}s} " */
static void text_name(Text *t, int width, const char *name) {
    text_printf(t, "%*s%s ", width - utf8_chars(name) > 0 ? width - utf8_chars(name) : 0, "", name);
}

/* sklearn counts true positives with np.bincount, which returns floats for an
 * empty input: with no correct prediction at all, every support is a float
 * ("2.0") in sklearn's text and dict. Reproduced, as users diff the two. */
static int support_is_float(const ClassReport *r) { return r->correct == 0; }

static void text_support(Text *t, const ClassReport *r, long support) {
    if (support_is_float(r))
        text_printf(t, " %9.1f\n", (double)support);
    else
        text_printf(t, " %9ld\n", support);
}

static void text_row(Text *t, const ClassReport *r, int width, const char *name, const ClassScores *s, int digits) {
    text_name(t, width, name);
    text_printf(t, " %9.*f %9.*f %9.*f", digits, s->precision, digits, s->recall, digits, s->f1);
    text_support(t, r, s->support);
}

char *class_report_text(const ClassReport *r, const char *const *names, int digits) {
    /* sklearn: width = max(longest name, len("weighted avg"), digits) */
    int width = (int)strlen("weighted avg");
    if (digits > width) width = digits;
    for (int c = 0; c < r->n_labels; c++)
        if (utf8_chars(names[c]) > width) width = utf8_chars(names[c]);
    Text t = {alb_xmalloc(256), 0, 256};
    t.s[0] = '\0';
    text_name(&t, width, "");
    text_printf(&t, " %9s %9s %9s %9s\n\n", "precision", "recall", "f1-score", "support");
    for (int c = 0; c < r->n_labels; c++) text_row(&t, r, width, names[c], &r->per_label[c], digits);
    text_printf(&t, "\n");
    if (r->micro_is_accuracy) {  /* precision and recall columns left empty */
        text_name(&t, width, "accuracy");
        text_printf(&t, " %9s %9s %9.*f", "", "", digits, r->micro.f1);
        text_support(&t, r, r->n);
    } else {
        text_row(&t, r, width, "micro avg", &r->micro, digits);
    }
    text_row(&t, r, width, "macro avg", &r->macro, digits);
    text_row(&t, r, width, "weighted avg", &r->weighted, digits);
    return t.s;
}

static json_t *scores_json(const ClassReport *r, const ClassScores *s) {
    json_t *support = support_is_float(r) ? json_real((double)s->support) : json_integer((json_int_t)s->support);
    return json_pack("{s:f, s:f, s:f, s:o}", "precision", s->precision, "recall", s->recall, "f1-score", s->f1,
                     "support", support);
}

json_t *class_report_json(const ClassReport *r, const char *const *names) {
    json_t *o = json_object();
    for (int c = 0; c < r->n_labels; c++) json_object_set_new(o, names[c], scores_json(r, &r->per_label[c]));
    if (r->micro_is_accuracy)
        json_object_set_new(o, "accuracy", json_real(r->micro.precision));
    else
        json_object_set_new(o, "micro avg", scores_json(r, &r->micro));
    json_object_set_new(o, "macro avg", scores_json(r, &r->macro));
    json_object_set_new(o, "weighted avg", scores_json(r, &r->weighted));
    return o;
}

static int pair_order(const void *a, const void *b) {
    const ConfusedPair *x = a, *y = b;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    if (x->gold != y->gold) return x->gold < y->gold ? -1 : 1;
    return (x->predicted > y->predicted) - (x->predicted < y->predicted);
}

int class_report_confused_pairs(const ClassReport *r, ConfusedPair *pairs, int max_pairs) {
    int C = r->n_labels;
    long n_cells = 0;
    for (long i = 0; i < (long)C * C; i++) n_cells += i / C != i % C && r->confusion[i] > 0;
    ConfusedPair *all = alb_xmalloc((size_t)(n_cells ? n_cells : 1) * sizeof *all);
    long k = 0;
    for (int g = 0; g < C; g++)
        for (int p = 0; p < C; p++)
            if (g != p && r->confusion[(size_t)g * C + p] > 0)
                all[k++] = (ConfusedPair){g, p, r->confusion[(size_t)g * C + p]};
    qsort(all, (size_t)n_cells, sizeof *all, pair_order);
    int m = n_cells < max_pairs ? (int)n_cells : max_pairs;
    memcpy(pairs, all, (size_t)m * sizeof *pairs);
    free(all);
    return m;
}
