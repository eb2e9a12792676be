/* The trained classifier end to end, through the CLI: train on a tiny random
 * encoder (4 Banking77 intents) writes <project_dir>/model/ and eval/; predict,
 * eval and export use them; bad model directories and bad data fail with one
 * line naming the file. (tests/test_report.c checks the report's numbers
 * against scikit-learn; tests/oracle/check_model_dir.sh the directory against
 * torch.) */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/classifier.h"
#include "testutil.h"
#include "tiny_classifier.h"
#include "util/fileio.h"

TestSuite(classifier, .init = test_tmp_setup, .fini = test_tmp_teardown, .timeout = 120);


static json_t *load_json(const char *path) {
    json_error_t e;
    json_t *j = json_load_file(path, 0, &e);
    cr_assert(j, "%s: %s", path, e.text);
    return j;
}

/* The JSON values of one key on every line of a JSONL text. */
static json_t *lines(const char *text) {
    json_t *a = json_array();
    for (const char *p = text; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        json_error_t e;
        json_t *j = json_loadb(p, n, 0, &e);
        cr_assert(j, "not JSON: %.*s", (int)n, p);
        json_array_append_new(a, j);
        p = nl ? nl + 1 : NULL;
    }
    return a;
}

static char *read_text(const char *path) {
    FILE *fp = fopen(path, "r");
    cr_assert(fp, "%s", path);
    char *s = NULL;
    size_t n = 0;
    cr_assert(getdelim(&s, &n, '\0', fp) >= 0 || feof(fp));
    fclose(fp);
    return s;
}

Test(classifier, train_writes_model_and_eval_with_the_final_accuracy) {
    tiny_classifier_train();
    json_t *config = load_json(test_tmp_path("run/model/config.json"));
    cr_expect_str_eq(json_string_value(json_array_get(json_object_get(config, "architectures"), 0)), "AlbertModel");
    cr_expect_eq(json_integer_value(json_object_get(config, "num_labels")), 4);
    for (int i = 0; i < 4; i++) {
        char key[16];
        snprintf(key, sizeof key, "%d", i);
        cr_expect_str_eq(json_string_value(json_object_get(json_object_get(config, "id2label"), key)), TINY_LABELS[i]);
        cr_expect_eq(json_integer_value(json_object_get(json_object_get(config, "label2id"), TINY_LABELS[i])), i);
    }
    json_t *block = json_object_get(config, "albertc");
    cr_expect_eq(json_integer_value(json_object_get(block, "format_version")), 1);
    cr_expect_str_eq(json_string_value(json_object_get(block, "dtype")), "float32");
    const char *engine = json_string_value(json_object_get(block, "engine"));
    cr_expect(engine && !strncmp(engine, "float32/", 8), "engine %s", engine ? engine : "(none)");
    cr_expect_eq(json_integer_value(json_object_get(json_object_get(block, "source"), "step")), 30);
    json_decref(config);
    /* eval/ on the test split: its accuracy is the final val/accuracy of metrics.jsonl */
    json_t *summary = load_json(test_tmp_path("run/eval/summary.json"));
    char *metrics = read_text(test_tmp_path("run/metrics.jsonl"));
    json_t *m = lines(metrics);
    double final_accuracy = -1;
    for (size_t i = 0; i < json_array_size(m); i++) {
        json_t *v = json_object_get(json_array_get(m, i), "val/accuracy");
        if (v) final_accuracy = json_number_value(v);
    }
    long n = json_integer_value(json_object_get(summary, "count"));
    double acc = json_number_value(json_object_get(summary, "accuracy"));
    cr_expect_eq(n, 40);
    cr_expect_eq(lround(acc * n), lround(final_accuracy * n), "eval accuracy %.6f vs final val/accuracy %.6f", acc,
                 final_accuracy);
    const char *files[] = {"classification_report.json", "confusion_matrix.csv", "errors.jsonl", "predictions.jsonl"};
    for (int i = 0; i < 4; i++) {
        char path[600];
        snprintf(path, sizeof path, "run/eval/%s", files[i]);
        FILE *fp = fopen(test_tmp_path(path), "r");
        cr_expect(fp, "%s missing", path);
        if (fp) fclose(fp);
    }
    free(metrics);
    json_decref(m);
    json_decref(summary);
}

/* predict, with features computed afresh, gives the predictions train's
 * validation made (eval/predictions.jsonl holds them, from the cache). */
Test(classifier, predict_reproduces_the_validation_predictions) {
    tiny_classifier_train();
    char *out = NULL, *err = NULL;
    cr_assert_eq(test_albertc_run(&out, &err, "predict --model %s --input %s", test_tmp_path("run/model"),
                         test_tmp_path("test.jsonl")),
                 0, "%s", err);
    char *want_text = read_text(test_tmp_path("run/eval/predictions.jsonl"));
    json_t *got = lines(out), *want = lines(want_text);
    cr_assert_eq(json_array_size(got), 40);
    cr_assert_eq(json_array_size(want), 40);
    for (size_t i = 0; i < 40; i++) {
        json_t *answer = json_array_get(got, i);
        cr_assert_eq(json_array_size(answer), 1, "top-k 1 by default");
        cr_expect_str_eq(json_string_value(json_object_get(json_array_get(answer, 0), "label")),
                         json_string_value(json_object_get(json_array_get(want, i), "predicted")), "text %zu", i);
        /* train encoded these texts among the train split's (other batches): the features
         * differ by rounding only (ENCODER_F32_PAIR_TOL a value, 32 of them); through a head
         * of 32 -> 256 -> 4 with weights of order 0.1 the probabilities move by far less
         * than this bound, which a wrong feature or head would exceed by orders */
        cr_expect_float_eq(json_number_value(json_object_get(json_array_get(answer, 0), "score")),
                           json_number_value(json_object_get(json_array_get(want, i), "score")), 1e-4);
    }
    free(out);
    free(err);
    free(want_text);
    json_decref(got);
    json_decref(want);
}

Test(classifier, predict_answers_as_the_pipeline) {
    tiny_classifier_train();
    char *model = strdup(test_tmp_path("run/model"));  /* test_tmp_path's buffers rotate */
    char *out = NULL, *err = NULL;
    cr_assert_eq(test_albertc_run(&out, &err, "predict --model %s --text 'where is my card?' --text 'rate for euros' --top-k 0",
                         model),
                 0, "%s", err);
    json_t *all = lines(out);
    cr_assert_eq(json_array_size(all), 2);
    for (size_t t = 0; t < 2; t++) {
        json_t *a = json_array_get(all, t);
        cr_assert_eq(json_array_size(a), 4);
        double sum = 0, prev = 2;
        for (size_t j = 0; j < 4; j++) {
            json_t *e = json_array_get(a, j);
            cr_expect_eq(json_object_size(e), 2);
            double s = json_number_value(json_object_get(e, "score"));
            cr_expect(s <= prev, "sorted by score");
            prev = s;
            sum += s;
        }
        cr_expect_float_eq(sum, 1.0, 1e-6);
    }
    free(out);
    /* --raw-scores: logits, whose softmax is the scores above */
    cr_assert_eq(test_albertc_run(&out, NULL, "predict --model %s --text 'where is my card?' --top-k 0 --raw-scores", model), 0);
    json_t *raw = json_array_get(lines(out), 0), *probs = json_array_get(all, 0);
    double mx = json_number_value(json_object_get(json_array_get(raw, 0), "score")), z = 0;
    for (size_t j = 0; j < 4; j++) z += exp(json_number_value(json_object_get(json_array_get(raw, j), "score")) - mx);
    for (size_t j = 0; j < 4; j++) {
        cr_expect_str_eq(json_string_value(json_object_get(json_array_get(raw, j), "label")),
                         json_string_value(json_object_get(json_array_get(probs, j), "label")));
        double p = exp(json_number_value(json_object_get(json_array_get(raw, j), "score")) - mx) / z;
        cr_expect_float_eq(p, json_number_value(json_object_get(json_array_get(probs, j), "score")), 1e-6);
    }
    free(out);
    /* the same texts as plain lines, CSV and stdin, written to a file: the same answers */
    test_write_file(test_tmp_path("t.txt"), "where is my card?\nrate for euros\n", 33);
    test_write_file(test_tmp_path("t.csv"), "id,body\n1,where is my card?\n2,\"rate for euros\"\n", 47);
    const char *variants[] = {"--input %s/t.txt", "--input %s/t.csv --text-field body", "--input - < %s/t.txt"};
    char *first = NULL;
    cr_assert_eq(test_albertc_run(&first, NULL, "predict --model %s --text 'where is my card?' --text 'rate for euros'", model),
                 0);
    for (int v = 0; v < 3; v++) {
        char args[1024], fmt[256];
        snprintf(fmt, sizeof fmt, "predict --model %%s %s --output %%s/out.jsonl", variants[v]);
        snprintf(args, sizeof args, fmt, model, test_tmp_dir, test_tmp_dir);
        cr_assert_eq(test_albertc_run(NULL, &err, "%s", args), 0, "%s: %s", args, err);
        char *written = read_text(test_tmp_path("out.jsonl"));
        cr_expect_str_eq(written, first, "%s", args);
        free(written);
    }
    free(first);
    free(err);
    free(model);
    json_decref(all);
}

/* The classifier directory's failures: one line naming the file, exit 1. */
Test(classifier, bad_model_directories) {
    tiny_classifier_train();
    char *err = NULL;
    /* a plain encoder: fine for embed, an error for predict and eval */
    cr_expect_eq(test_albertc_run(NULL, &err, "predict --model %s --text hi", test_tmp_path("encoder")), 1);
    cr_expect(strstr(err, "not a classifier"), "%s", err);
    free(err);
    test_write_file(test_tmp_path("in.jsonl"), "{\"text\": \"hi\"}\n", 15);
    cr_expect_eq(test_albertc_run(NULL, &err, "embed --model %s --input %s --output %s", test_tmp_path("run/model"),
                         test_tmp_path("in.jsonl"), test_tmp_path("f.safetensors")),
                 0, "a classifier directory is an encoder for embed: %s", err);
    free(err);
    /* id2label with 3 labels against a head of 4 */
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "cp -r %s/run/model %s/m3 && sed -i 's/\"3\": \"lost_or_stolen_card\"//; s/\"exchange_rate\",$/\"exchange_rate\"/' "
             "%s/m3/config.json",
             test_tmp_dir, test_tmp_dir, test_tmp_dir);
    cr_assert_eq(test_run(cmd, NULL, NULL), 0);
    cr_expect_eq(test_albertc_run(NULL, &err, "predict --model %s --text hi", test_tmp_path("m3")), 1);
    cr_expect(strstr(err, "m3/config.json: id2label") || strstr(err, "disagree"), "%s", err);
    free(err);
    /* no tokenizer */
    snprintf(cmd, sizeof cmd, "cp -r %s/run/model %s/nospm && rm %s/nospm/spiece.model", test_tmp_dir, test_tmp_dir,
             test_tmp_dir);
    cr_assert_eq(test_run(cmd, NULL, NULL), 0);
    cr_expect_eq(test_albertc_run(NULL, &err, "predict --model %s --text hi", test_tmp_path("nospm")), 1);
    cr_expect(strstr(err, "nospm/spiece.model"), "%s", err);
    cr_expect_null(strchr(err, '\n') == err + strlen(err) - 1 ? NULL : strchr(err, '\n'), "one line: %s", err);
    free(err);
    /* usage errors exit 2 */
    cr_expect_eq(test_albertc_run(NULL, &err, "predict --model %s", test_tmp_path("run/model")), 2);
    free(err);
    cr_expect_eq(test_albertc_run(NULL, &err, "predict --model %s --text x --top-k -1", test_tmp_path("run/model")), 2);
    free(err);
    cr_expect_eq(test_albertc_run(NULL, &err, "predict --bogus"), 2);
    cr_expect(strstr(err, "--bogus"), "%s", err);
    free(err);
}

static void expect_eval_error(const char *name, const char *content, size_t len, const char *want) {
    test_write_file(test_tmp_path(name), content, len);
    char *out = NULL, *err = NULL;
    cr_expect_eq(test_albertc_run(&out, &err, "eval --model %s --data %s --output %s/bad-out", test_tmp_path("run/model"),
                         test_tmp_path(name), test_tmp_dir),
                 1, "%s", name);
    cr_expect(strstr(err, want), "%s: '%s' lacks '%s'", name, err, want);
    char check[700];
    snprintf(check, sizeof check, "test -e %s/bad-out", test_tmp_dir);
    cr_expect_neq(test_run(check, NULL, NULL), 0, "%s: nothing half-written", name);
    free(out);
    free(err);
}

Test(classifier, eval_report_files_and_bad_data) {
    tiny_classifier_train();
    char *out = NULL, *err = NULL;
    cr_assert_eq(test_albertc_run(&out, &err, "eval --model %s --data %s --output %s/ev --no-cache", test_tmp_path("run/model"),
                         test_tmp_path("test.jsonl"), test_tmp_dir),
                 0, "%s", err);
    cr_expect(strstr(out, "    accuracy    ") || strstr(out, "micro avg"), "%s", out);
    cr_expect(strstr(out, "weighted avg"), "%s", out);
    json_t *report = load_json(test_tmp_path("ev/classification_report.json"));
    json_t *summary = load_json(test_tmp_path("ev/summary.json"));
    json_t *train_summary = load_json(test_tmp_path("run/eval/summary.json"));
    cr_expect_float_eq(json_number_value(json_object_get(summary, "accuracy")),
                       json_number_value(json_object_get(train_summary, "accuracy")), 1e-12);
    for (int i = 0; i < 4; i++) cr_expect(json_object_get(report, TINY_LABELS[i]), "%s", TINY_LABELS[i]);
    char *csv = read_text(test_tmp_path("ev/confusion_matrix.csv"));
    cr_expect(!strncmp(csv, "gold\\predicted,card_arrival,card_linking,exchange_rate,lost_or_stolen_card\n", 74),
              "%s", csv);
    free(csv);
    free(out);
    free(err);
    json_decref(report);
    json_decref(summary);
    json_decref(train_summary);
    expect_eval_error("unknown.jsonl", "{\"text\": \"a\", \"label\": \"card_arrival\"}\n{\"text\": \"b\", \"label\": \"pizza\"}\n",
                      71, "unknown.jsonl:2");
    expect_eval_error("notext.jsonl", "{\"label\": \"card_arrival\"}\n", 26, "notext.jsonl:1");
    expect_eval_error("utf8.csv", "text,label\nbad \xff,card_arrival\n", 30, "utf8.csv:2");
}

Test(classifier, export_any_checkpoint) {
    tiny_classifier_train();
    json_t *hist = load_json(test_tmp_path("run/checkpoints/checkpoint_history.json"));
    const char *first = json_string_value(json_object_get(json_array_get(json_object_get(hist, "checkpoints"), 0), "path"));
    cr_assert(first);
    char *err = NULL, *out = NULL;
    cr_expect_eq(test_albertc_run(NULL, &err, "export --checkpoint %s --out %s", first, test_tmp_path("early")), 0, "%s", err);
    free(err);
    cr_expect_eq(test_albertc_run(&out, &err, "predict --model %s --text 'my card has not arrived'", test_tmp_path("early")), 0,
                 "%s", err);
    free(out);
    free(err);
    /* exporting again replaces the directory whole */
    cr_expect_eq(test_albertc_run(NULL, &err, "export --checkpoint %s --out %s", first, test_tmp_path("early")), 0, "%s", err);
    free(err);
    /* another encoder than the one trained on: refused */
    cr_assert_eq(test_albertc_run(NULL, NULL, "init-model --config tiny --seed 6 --out %s --tokenizer %s", test_tmp_path("other"),
                         test_shared_path("models/albert-base-v2/spiece.model")),
                 0);
    cr_expect_eq(test_albertc_run(NULL, &err, "export --checkpoint %s --out %s --model %s", first, test_tmp_path("wrong"),
                         test_tmp_path("other")),
                 1);
    cr_expect(strstr(err, "hash"), "%s", err);
    free(err);
    /* a head that learnt from another engine's features (another machine's): refused, naming both */
    char *data, engine[64];
    size_t len;
    AlbError e;
    cr_assert_eq(alb_read_file(first, &data, &len, &e), 0, "%s", e.msg);
    char *value = memmem(data, len, "\"engine\"", 8);
    cr_assert(value);
    value = strchr(strchr(value + 8, '"') + 1, '/') + 1;  /* the variant, after "<dtype>/" */
    snprintf(engine, sizeof engine, "%.*s", (int)strcspn(value - 8, "\""), value - 8);
    memset(value, 'x', strcspn(value, "\""));
    test_write_file(test_tmp_path("elsewhere.safetensors"), data, len);
    free(data);
    cr_expect_eq(test_albertc_run(NULL, &err, "export --checkpoint %s --out %s", test_tmp_path("elsewhere.safetensors"),
                                  test_tmp_path("mixed")),
                 1);
    cr_expect(strstr(err, "float32/xxx") && strstr(err, engine) && strstr(err, "refusing"), "%s (engine %s)", err,
              engine);
    free(err);
    cr_expect_eq(test_albertc_run(NULL, &err, "export --out %s", test_tmp_path("x")), 2);
    free(err);
    json_decref(hist);
}

/* Sets (engine non-NULL) or removes the albertc.engine of the tiny classifier's config.json. */
static void set_recorded_engine(const char *engine) {
    json_t *config = load_json(test_tmp_path("run/model/config.json"));
    json_t *block = json_object_get(config, "albertc");
    if (engine) json_object_set_new(block, "engine", json_string(engine));
    else json_object_del(block, "engine");
    cr_assert_eq(json_dump_file(config, test_tmp_path("run/model/config.json"), 0), 0);
    json_decref(config);
}

/* The number of times needle occurs in text. */
static int occurrences(const char *text, const char *needle) {
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle)) n++;
    return n;
}

/* predict and eval on features of another engine than the head's: one
 * warning line naming both, and the answers all the same (exit 0). A
 * directory that records no engine (older) warns of nothing. */
Test(classifier, another_engine_warns_once_and_goes_on) {
    tiny_classifier_train();
    char model[4096], *out, *err, *want;
    snprintf(model, sizeof model, "%s", test_tmp_path("run/model"));  /* test_tmp_path's buffers are reused */
    cr_assert_eq(test_albertc_run(&want, &err, "predict --model %s --input %s", model, test_tmp_path("test.jsonl")), 0,
                 "%s", err);
    cr_expect_eq(occurrences(err, "trained on features"), 0, "the engine of this machine: %s", err);
    free(err);
    const struct {
        const char *engine, *says;
    } cases[] = {{"float32/elsewhere", "predictions may differ in rare near-ties"},
                 {"bfloat16/elsewhere", "another dtype, predictions may differ where scores are close (--dtype "
                                        "bfloat16 is the training's)"}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        set_recorded_engine(cases[k].engine);
        char line[256];
        snprintf(line, sizeof line, "albertc predict: warning: this classifier was trained on features from %s; "
                                    "this machine computes float32/", cases[k].engine);
        cr_assert_eq(test_albertc_run(&out, &err, "predict --model %s --input %s", model, test_tmp_path("test.jsonl")),
                     0, "%s", err);
        cr_expect(strstr(err, line) && strstr(err, cases[k].says), "%s", err);
        cr_expect_eq(occurrences(err, "trained on features"), 1, "%s", err);
        cr_expect_str_eq(out, want, "the same predictions");
        free(out);
        free(err);
        cr_assert_eq(test_albertc_run(NULL, &err, "eval --model %s --data %s --no-cache", model,
                                      test_tmp_path("test.jsonl")),
                     0, "%s", err);
        cr_expect(strstr(err, "albertc eval: warning: this classifier was trained on features from"), "%s", err);
        cr_expect_eq(occurrences(err, "trained on features"), 1, "%s", err);
        free(err);
    }
    set_recorded_engine(NULL);
    cr_assert_eq(test_albertc_run(&out, &err, "predict --model %s --input %s", model, test_tmp_path("test.jsonl")), 0,
                 "%s", err);
    cr_expect_eq(occurrences(err, "trained on features"), 0, "no engine recorded: %s", err);
    cr_expect_str_eq(out, want);
    free(out);
    free(err);
    free(want);
}

/* config.json's classifier part, without files. */
static int parse_config(const char *json, ClassifierConfig *cc, AlbError *err) {
    return classifier_config_parse(cc, json, strlen(json), "m/config.json", err);
}

Test(classifier, config_parse) {
    ClassifierConfig cc;
    AlbError err;
    const char *ok = "{\"model_type\": \"albert\", \"id2label\": {\"1\": \"b\", \"0\": \"a\"}, \"albertc\": "
                     "{\"format_version\": 1, \"head\": {\"hidden_size\": 8}, \"dtype\": \"bfloat16\", "
                     "\"max_length\": 64, \"random_encoder\": true}}";
    cr_assert_eq(parse_config(ok, &cc, &err), 0, "%s", err.msg);
    cr_expect(cc.has_head && cc.num_labels == 2 && cc.max_length == 64 && cc.random_encoder && cc.head_hidden == 8);
    cr_expect_str_eq(cc.labels[0], "a");
    cr_expect_str_eq(cc.labels[1], "b");
    cr_expect_str_eq(cc.dtype, "bfloat16");
    classifier_config_free(&cc);
    cr_assert_eq(parse_config("{\"model_type\": \"albert\"}", &cc, &err), 0, "%s", err.msg);
    cr_expect(!cc.has_head && cc.num_labels == 0);
    cr_expect_str_eq(cc.dtype, "float32");
    classifier_config_free(&cc);
    const char *bad[][2] = {
        {"[1]", "m/config.json:"},
        {"{\"a\": 1, \"a\": 2}", "m/config.json:1: invalid JSON"},
        {"{\"albertc\": 3}", "format_version"},
        {"{\"albertc\": {\"format_version\": 2}}", "format_version is not 1"},
        {"{\"albertc\": {\"format_version\": 1, \"head\": {}, \"dtype\": \"int4\", \"max_length\": 8}}", "dtype"},
        {"{\"albertc\": {\"format_version\": 1, \"head\": {}, \"dtype\": \"float32\", \"max_length\": 1}}", "max_length"},
        {"{\"albertc\": {\"format_version\": 1, \"head\": {}, \"dtype\": \"float32\", \"max_length\": 8}}", "id2label"},
        {"{\"id2label\": {\"0\": \"a\", \"2\": \"c\"}, \"albertc\": {\"format_version\": 1, \"head\": {}, "
         "\"dtype\": \"float32\", \"max_length\": 8}}", "no name for id 1"},
        {"{\"id2label\": {\"0\": \"a\", \"1\": \"b\"}, \"albertc\": {\"format_version\": 1, \"head\": "
         "{\"hidden_size\": -1}, \"dtype\": \"float32\", \"max_length\": 8}}", "hidden_size"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cr_expect_eq(parse_config(bad[i][0], &cc, &err), -1, "%s", bad[i][0]);
        cr_expect(strstr(err.msg, bad[i][1]) && !strncmp(err.msg, "m/config.json", 13), "%s: %s", bad[i][0], err.msg);
    }
}
