#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_location.h"
#include "data/dataset.h"
#include "data/file_format.h"
#include "testutil.h"

static LabelSet banking77_labels(void) {
    LabelSet ls;
    AlbError err;
    cr_assert_eq(labels_load(&ls, test_shared_path("data/banking77/labels.txt"), &err), 0, "%s", err.msg);
    return ls;
}

static void assert_same(const Dataset *a, const Dataset *b) {
    cr_assert_eq(a->n, b->n);
    cr_assert_eq(a->num_labels, b->num_labels);
    for (int i = 0; i < a->n; i++) {
        cr_assert_str_eq(a->texts[i], b->texts[i], "row %d", i);
        cr_assert_eq(a->labels[i], b->labels[i], "row %d", i);
    }
    for (int i = 0; i < a->num_labels; i++) cr_assert_str_eq(a->label_names[i], b->label_names[i]);
}

Test(dataset, banking77_csv_equals_jsonl) {
    LabelSet ls = banking77_labels();
    cr_assert_eq(ls.n, 77);
    cr_assert_eq(labels_find(&ls, "card_arrival"), 11);
    DatasetOptions opt = {.labels = &ls};
    const char *splits[2][3] = {{"data/banking77/train.jsonl", "data/banking77/train.csv", "10003"},
                                {"data/banking77/test.jsonl", "data/banking77/test.csv", "3080"}};
    for (int s = 0; s < 2; s++) {
        Dataset j, c;
        AlbError err;
        cr_assert_eq(dataset_load(&j, test_shared_path(splits[s][0]), &opt, &err), 0, "%s", err.msg);
        cr_assert_eq(dataset_load(&c, test_shared_path(splits[s][1]), &opt, &err), 0, "%s", err.msg);
        cr_assert_eq(j.n, atoi(splits[s][2]));
        cr_assert_eq(j.num_labels, 77);
        cr_assert_eq(j.n_skipped, 0);
        assert_same(&j, &c);
        cr_assert_str_eq(j.label_names[11], "card_arrival");
        dataset_free(&j);
        dataset_free(&c);
    }
    labels_free(&ls);
}

Test(dataset, banking77_first_rows_and_multiline_text) {
    LabelSet ls = banking77_labels();
    DatasetOptions opt = {.labels = &ls};
    Dataset d;
    AlbError err;
    cr_assert_eq(dataset_load(&d, test_shared_path("data/banking77/train.csv"), &opt, &err), 0, "%s", err.msg);
    cr_assert_str_eq(d.texts[0], "I am still waiting on my card?");
    cr_assert_eq(d.labels[0], 11);
    int multiline = 0;
    for (int i = 0; i < d.n; i++) multiline += strchr(d.texts[i], '\n') != NULL;
    cr_assert_gt(multiline, 0, "train.csv has texts spanning lines");
    dataset_free(&d);
    labels_free(&ls);
}

Test(dataset, splits_from_a_directory) {
    AlbError err;
    DatasetSplits spec = {test_shared_path("data/banking77"), "", "", "", "labels.txt", {0}};
    Dataset train, eval;
    cr_assert_eq(dataset_load_splits(&spec, &train, &eval, &err), 0, "%s", err.msg);
    cr_assert_eq(train.n, 10003);
    cr_assert_eq(eval.n, 3080);
    cr_assert_eq(train.num_labels, 77);
    cr_assert_eq(eval.num_labels, 77);
    cr_assert_str_eq(eval.texts[0], "How do I locate my card?");
    dataset_free(&train);
    dataset_free(&eval);
    /* the CSV files through train_file / eval_file give the same rows */
    spec.train_file = "train.csv";
    spec.eval_file = "test.csv";
    Dataset train2, eval2;
    cr_assert_eq(dataset_load_splits(&spec, &train2, &eval2, &err), 0, "%s", err.msg);
    cr_assert_eq(train2.n, 10003);
    cr_assert_eq(eval2.n, 3080);
    dataset_free(&train2);
    dataset_free(&eval2);
}

Test(dataset, banking77_is_found_beside_the_clone) {
    if (strcmp(test_shared_dir(), "../shared")) return;  /* the search looks in ../shared only */
    AlbError err;
    char dir[4096];
    cr_assert_eq(data_location_resolve("", "banking77", dir, sizeof dir, &err), 0, "%s", err.msg);
    cr_assert_str_eq(dir, "../shared/data/banking77");
}

Test(dataset, data_dir_resolution) {
    AlbError err;
    char dir[4096], missing[4200];
    char *tmp = test_mkdtemp();
    cr_assert_eq(data_location_resolve(tmp, "mteb/banking77", dir, sizeof dir, &err), 0, "%s", err.msg);
    cr_assert_str_eq(dir, tmp);
    snprintf(missing, sizeof missing, "%s/missing", tmp);
    cr_assert_eq(data_location_resolve(missing, "mteb/banking77", dir, sizeof dir, &err), -1);
    cr_assert(strstr(err.msg, "missing"), "%s", err.msg);
    cr_assert_eq(data_location_resolve("", tmp, dir, sizeof dir, &err), 0, "%s", err.msg);  /* a directory as dataset_id */
    cr_assert_str_eq(dir, tmp);
    test_rmtree(tmp);
    free(tmp);
}

Test(dataset, data_dir_from_the_hf_cache) {
    char *tmp = test_mkdtemp();
    char snap[1024];
    snprintf(snap, sizeof snap, "%s/datasets--org--custom/snapshots/abc123", tmp);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", snap);
    cr_assert_eq(test_run(cmd, NULL, NULL), 0);
    setenv("HF_HUB_CACHE", tmp, 1);
    AlbError err;
    char dir[4096];
    cr_assert_eq(data_location_resolve("", "org/custom", dir, sizeof dir, &err), 0, "%s", err.msg);
    cr_assert(strstr(dir, "datasets--org--custom/snapshots/abc123"), "%s", dir);
    cr_assert_eq(data_location_resolve("", "org/other", dir, sizeof dir, &err), -1);
    cr_assert(strstr(err.msg, "org/other"), "%s", err.msg);
    test_rmtree(tmp);
    free(tmp);
}

static const char *const NAMES[] = {"alpha", "beta", "gamma"};
static const LabelSet SMALL = {3, (char **)NAMES};

static int parse(Dataset *d, const char *text, DataFormat f, int skip, AlbError *err) {
    DatasetOptions opt = {.labels = &SMALL, .skip_bad_rows = skip};
    return dataset_parse(d, text, strlen(text), "x.data", f, &opt, err);
}

Test(dataset, csv_quoting) {
    const char *csv =
        "text,category\r\n"
        "plain,alpha\r\n"
        "\"with, comma\",beta\n"
        "\"two\nlines \"\"quoted\"\"\",gamma\n"
        "\n"
        "\"\"\"\",alpha\n"
        "last,1";
    Dataset d;
    AlbError err;
    cr_assert_eq(parse(&d, csv, DATA_CSV, 0, &err), 0, "%s", err.msg);
    cr_assert_eq(d.n, 5);
    cr_assert_str_eq(d.texts[0], "plain");
    cr_assert_str_eq(d.texts[1], "with, comma");
    cr_assert_str_eq(d.texts[2], "two\nlines \"quoted\"");
    cr_assert_str_eq(d.texts[3], "\"");
    cr_assert_str_eq(d.texts[4], "last");
    int want[] = {0, 1, 2, 0, 1};
    for (int i = 0; i < 5; i++) cr_assert_eq(d.labels[i], want[i]);
    dataset_free(&d);
}

Test(dataset, csv_bad_rows_name_the_starting_line) {
    const char *csv = "text,category\n\"a\nb\nc\",alpha\n\"x\ny\",delta\nok,beta\n";
    Dataset d;
    AlbError err;
    cr_assert_eq(parse(&d, csv, DATA_CSV, 0, &err), -1);
    cr_assert_str_eq(err.msg, "x.data:5: unknown label 'delta'");
    cr_assert_eq(d.n, 0);
    cr_assert_eq(parse(&d, csv, DATA_CSV, 1, &err), 0, "%s", err.msg);
    cr_assert_eq(d.n, 2);
    cr_assert_eq(d.n_skipped, 1);
    dataset_free(&d);

    cr_assert_eq(parse(&d, "text,category\nok,alpha\n\"open,beta\n", DATA_CSV, 1, &err), -1);
    cr_assert_str_eq(err.msg, "x.data:3: quoted field not closed before the end of the file");
    cr_assert_eq(parse(&d, "words,category\nok,alpha\n", DATA_CSV, 0, &err), -1);
    cr_assert_str_eq(err.msg, "x.data:1: the header has no column 'text'");
    cr_assert_eq(parse(&d, "text,category\nok,alpha,extra\n", DATA_CSV, 0, &err), -1);
    cr_assert_str_eq(err.msg, "x.data:2: 3 fields, the header has 2");
    cr_assert_eq(parse(&d, "text,category\n  ,alpha\n", DATA_CSV, 0, &err), -1);
    cr_assert_str_eq(err.msg, "x.data:2: empty text");
    cr_assert_eq(parse(&d, "text,category\nok,7\n", DATA_CSV, 0, &err), -1);
    cr_assert_str_eq(err.msg, "x.data:2: label 7 out of range [0, 3)");
    cr_assert_eq(parse(&d, "text,category\n\xff,alpha\n", DATA_CSV, 0, &err), -1);
    cr_assert_str_eq(err.msg, "x.data:2: text is not valid UTF-8");
}

Test(dataset, jsonl_bad_rows) {
    struct { const char *line, *msg; } cases[] = {
        {"{\"text\": \"a\", \"label\": 1", "x.data:2: invalid JSON: '}' expected near end of file"},
        {"{\"label\": 1}", "x.data:2: missing field 'text'"},
        {"{\"text\": \"a\"}", "x.data:2: missing field 'label'"},
        {"{\"text\": 5, \"label\": 1}", "x.data:2: field 'text' is not a string"},
        {"{\"text\": \"a\", \"label\": 1.5}", "x.data:2: field 'label' is neither an integer id nor a label name"},
        {"{\"text\": \"\", \"label\": 1}", "x.data:2: empty text"},
        {"{\"text\": \"a\", \"label\": 3}", "x.data:2: label 3 out of range [0, 3)"},
        {"{\"text\": \"a\", \"label\": -1}", "x.data:2: label -1 out of range [0, 3)"},
        {"{\"text\": \"a\", \"label\": \"delta\"}", "x.data:2: unknown label 'delta'"},
        {"{\"text\": \"a\", \"label\": 1, \"label_text\": \"alpha\"}", "x.data:2: label 1 is 'beta' but label_text is 'alpha'"},
        {"[1, 2]", "x.data:2: expected a JSON object"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[512];
        snprintf(text, sizeof text, "{\"text\": \"fine\", \"label\": 0}\n%s\n\n{\"text\": \"b\", \"label\": \"gamma\"}\n",
                 cases[i].line);
        Dataset d;
        AlbError err;
        cr_assert_eq(parse(&d, text, DATA_JSONL, 0, &err), -1, "%s", cases[i].line);
        cr_assert_str_eq(err.msg, cases[i].msg);
        cr_assert_eq(parse(&d, text, DATA_JSONL, 1, &err), 0, "%s", err.msg);
        cr_assert_eq(d.n, 2);
        cr_assert_eq(d.n_skipped, 1);
        cr_assert_eq(d.labels[1], 2);
        dataset_free(&d);
    }
}

Test(dataset, jsonl_without_label_list) {
    const char *text = "{\"text\": \"a\", \"label\": 4, \"label_text\": \"four\"}\n{\"text\": \"b\", \"label\": 1}\n";
    Dataset d;
    AlbError err;
    cr_assert_eq(dataset_parse(&d, text, strlen(text), "x.jsonl", DATA_AUTO, NULL, &err), 0, "%s", err.msg);
    cr_assert_eq(d.n, 2);
    cr_assert_eq(d.num_labels, 5);
    cr_assert_str_eq(d.label_names[4], "four");
    cr_assert_null(d.label_names[0]);
    dataset_free(&d);
    const char *clash = "{\"text\": \"a\", \"label\": 4, \"label_text\": \"four\"}\n{\"text\": \"b\", \"label\": 4, \"label_text\": \"five\"}\n";
    cr_assert_eq(dataset_parse(&d, clash, strlen(clash), "x.jsonl", DATA_AUTO, NULL, &err), -1);
    cr_assert_str_eq(err.msg, "x.jsonl:2: label 4 is 'four' but label_text is 'five'");
    const char *names = "text,category\nhi,alpha\n";
    cr_assert_eq(dataset_parse(&d, names, strlen(names), "x.csv", DATA_AUTO, NULL, &err), -1);
    cr_assert_str_eq(err.msg, "x.csv:2: label 'alpha' is a name, but there is no label list (labels.txt) to map it to an id");
}

/* One list of extensions for both readers (data/file_format.h); a dataset
 * without a JSONL or CSV extension (.txt included) goes by its first byte. */
Test(dataset, format_by_extension_then_content) {
    static const struct { const char *path; DataFileKind kind; } kinds[] = {
        {"a.jsonl", DATA_FILE_JSONL}, {"dir/a.json", DATA_FILE_JSONL}, {"a.csv", DATA_FILE_CSV},
        {"a.txt", DATA_FILE_LINES},   {"a", DATA_FILE_OTHER},          {"runs.v2/a", DATA_FILE_OTHER},
        {"a.CSV", DATA_FILE_OTHER},   {"a.tsv", DATA_FILE_OTHER},      {"dir/.jsonl", DATA_FILE_JSONL},
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        cr_expect_eq(data_file_kind(kinds[i].path), kinds[i].kind, "%s", kinds[i].path);
    DatasetOptions opt = {.labels = &SMALL};
    const char *jsonl = " {\"text\": \"a\", \"label\": \"beta\"}\n", *csv = "text,label\nb,alpha\n";
    static const struct { const char *name; int is_jsonl; } files[] = {
        {"x.txt", 1}, {"x.txt", 0}, {"x", 1}, {"x", 0}, {"x.json", 1}, {"x.csv", 0},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        const char *text = files[i].is_jsonl ? jsonl : csv;
        Dataset d;
        AlbError err;
        cr_assert_eq(dataset_parse(&d, text, strlen(text), files[i].name, DATA_AUTO, &opt, &err), 0, "%s: %s",
                     files[i].name, err.msg);
        cr_expect_eq(d.labels[0], files[i].is_jsonl ? 1 : 0, "%s", files[i].name);
        dataset_free(&d);
    }
    Dataset d;
    AlbError err;
    cr_expect_eq(dataset_parse(&d, jsonl, strlen(jsonl), "x.csv", DATA_AUTO, &opt, &err), -1);  /* the extension wins */
}

Test(dataset, custom_fields) {
    const char *text = "{\"sentence\": \"a\", \"intent\": \"beta\"}\n";
    DatasetOptions opt = {.text_field = "sentence", .label_field = "intent", .labels = &SMALL};
    Dataset d;
    AlbError err;
    cr_assert_eq(dataset_parse(&d, text, strlen(text), "x.jsonl", DATA_AUTO, &opt, &err), 0, "%s", err.msg);
    cr_assert_eq(d.labels[0], 1);
    dataset_free(&d);
    cr_assert_eq(dataset_parse(&d, "", 0, "x.jsonl", DATA_AUTO, &opt, &err), -1);
    cr_assert_str_eq(err.msg, "x.jsonl: no rows");
}

Test(dataset, labels_file_errors) {
    char *dir = test_mkdtemp();
    char path[512];
    snprintf(path, sizeof path, "%s/labels.txt", dir);
    LabelSet ls;
    AlbError err;
    test_write_file(path, "a\nb\na\n", 6);
    cr_assert_eq(labels_load(&ls, path, &err), -1);
    cr_assert(strstr(err.msg, ":3: label 'a' listed twice"), "%s", err.msg);
    test_write_file(path, "a\n\nb\n", 5);
    cr_assert_eq(labels_load(&ls, path, &err), -1);
    cr_assert(strstr(err.msg, ":2: empty label name"), "%s", err.msg);
    test_write_file(path, "a\r\nb", 4);
    cr_assert_eq(labels_load(&ls, path, &err), 0, "%s", err.msg);
    cr_assert_eq(ls.n, 2);
    cr_assert_str_eq(ls.names[0], "a");
    cr_assert_str_eq(ls.names[1], "b");
    labels_free(&ls);
    test_rmtree(dir);
    free(dir);
}
