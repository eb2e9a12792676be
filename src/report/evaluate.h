/* Evaluate a classifier on a labelled dataset: predictions, cross-entropy,
 * scikit-learn's report (report/classification.h), and the files of
 * `albertc eval --output DIR` and of train's <project_dir>/eval/:
 *   classification_report.json  sklearn's output_dict shape
 *   confusion_matrix.csv        gold rows x predicted columns, label names as headers
 *   errors.jsonl                every misclassified example: index, text, gold, predicted, score
 *   predictions.jsonl           every example, the same fields
 *   summary.json                accuracy, macro_f1, loss, count, most_confused (gold, predicted, count)
 * The directory is written atomically (util/atomic_dir.h): all files or none. */
#ifndef ALB_REPORT_EVALUATE_H
#define ALB_REPORT_EVALUATE_H

#include "data/dataset.h"
#include "pipeline/classifier.h"
#include "report/classification.h"
#include "util/error.h"

#define EVAL_MOST_CONFUSED 10

typedef struct {
    long n;
    int *pred;          /* [n] argmax of the logits (first maximum) */
    float *score;       /* [n] softmax probability of pred */
    double loss;        /* mean cross-entropy of the gold labels */
    ClassReport report;
} Evaluation;

/* ds's labels must be the classifier's ids (load it with the classifier's
 * label set). cache_dir as in classifier_features. progress: PROGRESS_OFF,
 * _BAR or _LINES (util/progress.h) for the texts encoded. Collective under
 * mpirun (classifier_features): the other ranks than 0 get an empty ev. */
int evaluate(Classifier *c, const Dataset *ds, const char *cache_dir, int progress, Evaluation *ev, AlbError *err);
/* The same from the texts' [CLS] features [ds->n, H], already computed (train
 * has them in memory: the very features its validation used). */
void evaluate_features(Classifier *c, const Dataset *ds, const float *features, Evaluation *ev);
void evaluation_free(Evaluation *ev);
int evaluation_write_dir(const Evaluation *ev, const Classifier *c, const Dataset *ds, const char *out_dir,
                         AlbError *err);
/* summary.json's object (the caller owns it). */
json_t *evaluation_summary(const Evaluation *ev, const Classifier *c);

#endif
