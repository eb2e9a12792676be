/* libFuzzer: the training config reader (YAML file, then each line as a --set). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/train_config.h"

static void check_one_line(const AlbError *err) {
    if (strchr(err->msg, '\n')) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static TrainConfig c;
    AlbError err;
    train_config_defaults(&c);
    if (train_config_parse(&c, (const char *)data, size, "fuzz.yaml", &err) == 0) {
        if (train_config_validate(&c, &err) == 0) {
            json_t *j = train_config_to_json(&c);
            if (!j) abort();
            json_decref(j);
        } else {
            check_one_line(&err);
        }
    } else {
        check_one_line(&err);
    }
    /* The same bytes as --set assignments, one per line. */
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = 0;
    int lines = 0;
    for (char *line = strtok(text, "\n"); line && lines < 16; line = strtok(NULL, "\n"), lines++)
        if (train_config_set(&c, line, &err)) check_one_line(&err);
    free(text);
    return 0;
}
