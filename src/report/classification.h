/* Classification metrics of a labelled evaluation: the confusion matrix and
 * scikit-learn's classification_report, same numbers and same text.
 *
 * The report is sklearn 1.2's
 *   classification_report(gold, pred, labels=range(C), target_names=names,
 *                         digits=d, zero_division="warn")
 * over every label of the model, so labels with no support and labels never
 * predicted get rows (their undefined precision, recall or F1 are 0.0, as
 * sklearn sets them). As in sklearn, the "accuracy" line becomes "micro avg"
 * when some label appears neither in gold nor in predictions. Averages sum as
 * numpy does (pairwise), so the JSON values are sklearn's to the last bit and
 * the text to the last digit. */
#ifndef ALB_REPORT_CLASSIFICATION_H
#define ALB_REPORT_CLASSIFICATION_H

#include <jansson.h>

typedef struct {
    double precision, recall, f1;
    long support;
} ClassScores;

typedef struct {
    int n_labels;          /* C */
    long n;                /* examples */
    long correct;
    long *confusion;       /* [C, C]: gold row, predicted column */
    ClassScores *per_label;  /* [C] */
    int micro_is_accuracy; /* every label occurs in gold or predictions */
    ClassScores micro, macro, weighted;  /* support: n */
} ClassReport;

typedef struct {
    int gold, predicted;
    long count;
} ConfusedPair;

/* gold[i], pred[i] in [0, C) (checked by the caller). n may be 0. */
void class_report_compute(ClassReport *r, const int *gold, const int *pred, long n, int n_labels);
void class_report_free(ClassReport *r);
double class_report_accuracy(const ClassReport *r);

/* sklearn's text layout with `digits` decimals. malloc'ed. */
char *class_report_text(const ClassReport *r, const char *const *names, int digits);
/* output_dict=True's shape: {name: {precision, recall, f1-score, support}, ...,
 * "accuracy": x (or "micro avg": {...}), "macro avg": {...}, "weighted avg": {...}}. */
json_t *class_report_json(const ClassReport *r, const char *const *names);
/* The off-diagonal cells, most frequent first (ties: by gold, then predicted
 * label); at most max_pairs of them into pairs[]. Returns how many. */
int class_report_confused_pairs(const ClassReport *r, ConfusedPair *pairs, int max_pairs);

#endif
