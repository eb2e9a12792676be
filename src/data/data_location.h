/* Where a dataset's files are: the one place that knows where this project
 * keeps Banking77 and how datasets are found in the Hugging Face cache.
 *
 * data_dir when set (it must be a directory). Otherwise by dataset_id: for
 * "banking77" / "mteb/banking77", ../shared/data/banking77 (the shared data
 * beside a clone), else data/banking77, else the HF cache
 * (datasets--mteb--banking77); any other dataset_id: a directory of that
 * name, else the HF cache (hub_resolve(dataset_id, "datasets")). Relative
 * paths are relative to the current directory. On failure, one error line
 * listing what was tried and how to provide the data. */
#ifndef ALB_DATA_DATA_LOCATION_H
#define ALB_DATA_DATA_LOCATION_H

#include <stddef.h>
#include "util/error.h"

int data_location_resolve(const char *data_dir, const char *dataset_id, char *out, size_t out_size, AlbError *err);

#endif
