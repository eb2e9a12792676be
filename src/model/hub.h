/* Where models are: a directory, or a Hugging Face hub id in the local cache.
 *
 * "albert/albert-base-v2" -> $HF_HUB_CACHE, else $HF_HOME/hub, else
 * ~/.cache/huggingface/hub, folder models--albert--albert-base-v2/snapshots/
 * <contents of refs/main>/ (or the only snapshot). An id that cannot be
 * resolved gives one error listing every place looked at. */
#ifndef ALB_MODEL_HUB_H
#define ALB_MODEL_HUB_H

#include <stddef.h>
#include "util/error.h"

/* kind is "models" or "datasets". Fills out (a directory path). An id must be
 * "org/name" or "name"; ids with empty, "." or ".." parts are rejected. */
int hub_resolve(const char *id_or_dir, const char *kind, char *out, size_t out_size, AlbError *err);

#endif
