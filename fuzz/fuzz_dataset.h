/* Shared by fuzz_jsonl.c and fuzz_csv.c: one input parsed with and without a
 * label list, failing and skipping bad rows; every error must be one line. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset.h"

static void fuzz_dataset(const uint8_t *data, size_t size, DataFormat format) {
    static const char *const names[] = {"alpha", "beta", "gamma", "1"};
    static const LabelSet labels = {4, (char **)names};
    for (int variant = 0; variant < 4; variant++) {
        DatasetOptions opt = {.labels = variant & 1 ? &labels : NULL, .skip_bad_rows = variant >> 1};
        Dataset ds;
        AlbError err;
        if (dataset_parse(&ds, (const char *)data, size, "fuzz", format, &opt, &err) == 0) {
            for (int i = 0; i < ds.n; i++)
                if (ds.labels[i] < 0 || ds.labels[i] >= ds.num_labels || !ds.texts[i][0]) abort();
            dataset_free(&ds);
        } else if (strchr(err.msg, '\n') || ds.n != 0) {
            abort();
        }
    }
}
