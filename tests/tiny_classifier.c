#include "tiny_classifier.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

const char *const TINY_LABELS[4] = {"card_arrival", "card_linking", "exchange_rate", "lost_or_stolen_card"};

/* n rows of the four intents from a Banking77 split, labels by name. */
static void write_split(const char *split, const char *path, int n) {
    char src[600];
    snprintf(src, sizeof src, "%s", test_shared_path("data/banking77/"));
    strncat(src, split, sizeof src - strlen(src) - 1);
    strncat(src, ".jsonl", sizeof src - strlen(src) - 1);
    FILE *in = fopen(src, "r"), *out = fopen(path, "w");
    cr_assert(in && out, "%s", src);
    char *line = NULL;
    size_t cap = 0;
    int kept = 0;
    while (kept < n && getline(&line, &cap, in) > 0) {
        json_t *o = json_loads(line, 0, NULL);
        const char *label = json_string_value(json_object_get(o, "label_text"));
        for (int i = 0; i < 4; i++)
            if (label && !strcmp(label, TINY_LABELS[i])) {
                json_t *row = json_pack("{s:O, s:s}", "text", json_object_get(o, "text"), "label", label);
                char *text = json_dumps(row, JSON_COMPACT);
                fprintf(out, "%s\n", text);
                free(text);
                json_decref(row);
                kept++;
            }
        json_decref(o);
    }
    free(line);
    fclose(in);
    fclose(out);
}

static void albertc_ok(const char *args) {
    char *err = NULL;
    cr_assert_eq(test_albertc_run(NULL, &err, "%s", args), 0, "%s: %s", args, err);
    free(err);
}

void tiny_classifier_train(void) {
    write_split("train", test_tmp_path("train.jsonl"), 120);
    write_split("test", test_tmp_path("test.jsonl"), 40);
    char labels[256] = "";
    for (int i = 0; i < 4; i++) strcat(strcat(labels, TINY_LABELS[i]), "\n");
    test_write_file(test_tmp_path("labels.txt"), labels, strlen(labels));
    char args[8192];
    snprintf(args, sizeof args, "init-model --config tiny --seed 5 --out %s --tokenizer %s", test_tmp_path("encoder"),
             test_shared_path("models/albert-base-v2/spiece.model"));
    albertc_ok(args);
    char yaml[4096];
    snprintf(yaml, sizeof yaml,
             "model_name: %s/encoder\ndata_dir: %s\nlabels_file: labels.txt\nnum_labels: 4\nbatch_size: 8\n"
             "num_epochs: 2\nlearning_rate: 0.01\nval_steps_freq: 10\nsteps_freq: 10\n"
             "project_dir: %s/run\ncache_dir: %s/cache\ndtype: float32\nprogress: false\n",
             test_tmp_dir, test_tmp_dir, test_tmp_dir, test_tmp_dir);
    test_write_file(test_tmp_path("run.yaml"), yaml, strlen(yaml));
    snprintf(args, sizeof args, "train --config %s", test_tmp_path("run.yaml"));
    albertc_ok(args);
}
