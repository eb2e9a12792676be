/* Where a dataset's files are; see data_location.h. */
#include "data/data_location.h"

#include <stdio.h>
#include <string.h>

#include "model/hub.h"
#include "util/fileio.h"

int data_location_resolve(const char *data_dir, const char *dataset_id, char *out, size_t out_size, AlbError *err) {
    char b1[ALB_SHOWN_SIZE];
    if (data_dir[0]) {
        if (!alb_dir_exists(data_dir)) return alb_fail(err, "data_dir '%s' is not a directory", alb_shown(data_dir, b1));
        if ((size_t)snprintf(out, out_size, "%s", data_dir) >= out_size) return alb_fail(err, "data_dir: path too long");
        return 0;
    }
    /* A directory or a hub id in the HF cache; Banking77 is first looked for where this project keeps it. */
    if (strcmp(dataset_id, "banking77") && strcmp(dataset_id, "mteb/banking77"))
        return hub_resolve(dataset_id, "datasets", out, out_size, err);
    static const char *const local[] = {"../shared/data/banking77", "data/banking77"};
    for (int i = 0; i < 2; i++)
        if (alb_dir_exists(local[i])) {
            snprintf(out, out_size, "%s", local[i]);
            return 0;
        }
    AlbError hub_err;
    if (hub_resolve("mteb/banking77", "datasets", out, out_size, &hub_err) == 0) return 0;
    return alb_fail(err,
                    "dataset '%s' not found: no %s, no %s; %s. To get it: put Banking77's train.jsonl, "
                    "test.jsonl and labels.txt (or train.csv, test.csv) in data/banking77/ (relative to the current "
                    "directory), or set data_dir: DIR, or download mteb/banking77 into the Hugging Face cache",
                    dataset_id, local[0], local[1], hub_err.msg);
}
