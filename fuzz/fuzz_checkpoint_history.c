/* libFuzzer: history_parse on arbitrary bytes; what it accepts must satisfy the contract. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "train/checkpoint.h"

static void check(const CheckpointEntry *e) {
    double v;
    if (!e->path || !e->path[0] || e->step < 0 || e->epoch < 0 || !e->timestamp || !e->metrics_json ||
        e->metrics_json[0] != '{')
        abort();
    checkpoint_metric_value(e->metrics_json, "eval/loss", &v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    CheckpointHistory h;
    AlbError err;
    if (history_parse(&h, (const char *)data, size, "fuzz.json", &err)) {
        if (!memchr(err.msg, '\0', sizeof err.msg)) abort();
        return 0;
    }
    for (int i = 0; i < h.n; i++) check(&h.items[i]);
    for (int i = 0; i < h.n_best; i++) check(&h.best[i]);
    history_free(&h);
    return 0;
}
