/* libFuzzer: st_parse on arbitrary bytes, then every accessor on whatever it accepted. */
#include <stdint.h>
#include <stdlib.h>

#include "io/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    SafeTensors st;
    AlbError err;
    if (st_parse(&st, data, size, "fuzz.safetensors", &err)) return 0;
    for (int i = 0; i < st.n_tensors; i++) {
        const StTensor *t = &st.tensors[i];
        if (st_find(&st, t->name) != t) abort();
        const float *f;
        float *owned;
        if (st_get_f32(&st, t->name, "albert.", t->ndim, t->shape, &f, &owned, &err) == 0) {
            volatile float sink = 0;
            for (int64_t k = 0; k < t->numel; k++) sink += f[k];
            free(owned);
        }
    }
    for (int i = 0; i < st.n_meta; i++)
        if (!st_meta(&st, st.meta_keys[i])) abort();
    st_close(&st);
    return 0;
}
