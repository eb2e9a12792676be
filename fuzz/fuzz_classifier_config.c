/* libFuzzer: a classifier directory's config.json (id2label and the albertc
 * block), as classifier_load reads it before loading anything. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/classifier.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ClassifierConfig cc;
    AlbError err;
    if (classifier_config_parse(&cc, (const char *)data, size, "fuzz", &err) == 0) {
        if (cc.has_head && (cc.num_labels < 2 || cc.max_length < 2)) abort();
        for (int i = 0; i < cc.num_labels; i++)
            if (!cc.labels[i] || !cc.labels[i][0]) abort();
        classifier_config_free(&cc);
    } else if (strchr(err.msg, '\n') || strncmp(err.msg, "fuzz", 4)) {
        abort();
    }
    return 0;
}
