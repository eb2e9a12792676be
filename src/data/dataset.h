/* Text classification datasets: JSONL and CSV files of (text, label) rows.
 *
 * JSONL: one object per line, e.g. the mteb/banking77 layout
 *   {"text": "...", "label": 11, "label_text": "card_arrival"}
 * The label is an int id, or a string naming a label. When label names are
 * known and the row also has label_text, the two must agree.
 * CSV: RFC 4180 (a header row; fields quoted with "..." may hold commas,
 * newlines and "" for a quote), e.g. the original Banking77 `text,category`.
 * The label column is label_field, or "category" when label_field is "label"
 * and the header has no such column. A label is a name from the label set,
 * else a decimal id.
 *
 * Label set: labels.txt, one name per line in id order. Without it, a JSONL
 * file's ids stand alone (names from label_text where present); a CSV of names
 * needs it.
 *
 * Bad rows (invalid JSON, missing field, empty text, unknown label, label out
 * of range, label_text disagreeing) fail the load with "FILE:LINE: what" unless
 * skip_bad_rows is set: then they are skipped and counted in n_skipped. For CSV
 * the line is where the record starts. Blank lines in JSONL are not rows. */
#ifndef ALB_DATA_DATASET_H
#define ALB_DATA_DATASET_H

#include <stddef.h>
#include "util/error.h"

typedef struct {
    int n;
    char **names;   /* [n] malloc'ed, in id order */
} LabelSet;

int labels_load(LabelSet *ls, const char *path, AlbError *err);
/* Id of name, or -1. */
int labels_find(const LabelSet *ls, const char *name);
void labels_free(LabelSet *ls);

typedef enum { DATA_AUTO = 0, DATA_JSONL, DATA_CSV } DataFormat;

typedef struct {
    DataFormat format;            /* AUTO: by extension (data/file_format.h), else JSONL when the first
                                     byte that is not white space is '{', CSV otherwise */
    const char *text_field;       /* NULL = "text" */
    const char *label_field;      /* NULL = "label" */
    const char *label_text_field; /* NULL = "label_text" */
    const LabelSet *labels;       /* NULL = unknown */
    int skip_bad_rows;
} DatasetOptions;

typedef struct {
    int n;                /* rows */
    char **texts;         /* [n] malloc'ed UTF-8 */
    int *labels;          /* [n] each in [0, num_labels) */
    int num_labels;       /* the label set's size, or 1 + the largest id when there is none */
    char **label_names;   /* [num_labels] malloc'ed; an entry is NULL when unknown */
    int n_skipped;        /* bad rows skipped (skip_bad_rows) */
} Dataset;

/* Reads path; opt may be NULL (defaults). On error ds is left empty. */
int dataset_load(Dataset *ds, const char *path, const DatasetOptions *opt, AlbError *err);
/* The same from memory; name stands for the file in messages. */
int dataset_parse(Dataset *ds, const char *data, size_t len, const char *name, DataFormat format,
                  const DatasetOptions *opt, AlbError *err);
void dataset_free(Dataset *ds);

/* The train and eval splits of one dataset: files named relative to its
 * directory (data_location_resolve), or paths when they hold a '/'. */
typedef struct {
    const char *data_dir;         /* "" = found from dataset_id */
    const char *dataset_id;       /* e.g. "mteb/banking77" */
    const char *train_file;       /* "" = train.jsonl, else train.csv */
    const char *eval_file;        /* "" = test.jsonl, else test.csv */
    const char *labels_file;      /* "" = none; used when the file exists (optional for JSONL) */
    DatasetOptions rows;          /* fields, skip_bad_rows; labels come from labels_file */
} DatasetSplits;

/* Loads both splits. Both end with the same num_labels and label_names; the
 * caller checks its expected label count against train->num_labels. On error
 * both are left empty. */
int dataset_load_splits(const DatasetSplits *spec, Dataset *train, Dataset *eval, AlbError *err);

#endif
