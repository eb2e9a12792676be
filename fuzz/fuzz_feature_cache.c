/* libFuzzer: feature_cache_validate on arbitrary bytes (a cache file read back
 * from disk is outside input: it may be truncated or corrupt). The namespace is
 * the one the seeds carry (weights "w", tokenizer "t", engine float32/openblas,
 * max_length 16, hidden 4). */
#include <stdint.h>
#include <stdlib.h>

#include "pipeline/feature_cache.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const FeatureCacheNamespace ns = {"w", "t", "float32/openblas", 16, 4};
    long n = -1;
    AlbError err;
    if (feature_cache_validate(data, size, &ns, "fuzz.safetensors", &n, &err) == 0 && n < 0) abort();
    return 0;
}
