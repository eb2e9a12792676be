/* src/report/classification.c against scikit-learn 1.2's classification_report
 * and confusion_matrix on the cases of tests/goldens/classification_report.json
 * (tools/gen_report_goldens.py): the text byte for byte, the dict's numbers
 * bit for bit (sums in numpy's order; the bound 1e-12 the issue allows is not
 * needed), supports with sklearn's int/float type, the confusion matrix cell
 * for cell. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report/classification.h"

typedef struct {
    const char *name;
    int n_labels;
    long n;
    const char **names;
    int *gold, *pred;
    ClassReport report;
} Case;

static json_t *load_cases(void) {
    json_error_t e;
    json_t *cases = json_load_file("tests/goldens/classification_report.json", 0, &e);
    cr_assert(json_is_array(cases), "tests/goldens/classification_report.json: %s", e.text);
    cr_assert_geq(json_array_size(cases), 7);
    return cases;
}

static void case_open(Case *c, json_t *golden) {
    json_t *names = json_object_get(golden, "names"), *gold = json_object_get(golden, "gold"),
           *pred = json_object_get(golden, "pred");
    c->name = json_string_value(json_object_get(golden, "case"));
    c->n_labels = (int)json_array_size(names);
    c->n = (long)json_array_size(gold);
    c->names = malloc(sizeof(char *) * (size_t)c->n_labels);
    for (int i = 0; i < c->n_labels; i++) c->names[i] = json_string_value(json_array_get(names, (size_t)i));
    c->gold = malloc(sizeof(int) * (size_t)c->n);
    c->pred = malloc(sizeof(int) * (size_t)c->n);
    for (long i = 0; i < c->n; i++) {
        c->gold[i] = (int)json_integer_value(json_array_get(gold, (size_t)i));
        c->pred[i] = (int)json_integer_value(json_array_get(pred, (size_t)i));
    }
    class_report_compute(&c->report, c->gold, c->pred, c->n, c->n_labels);
}

static void case_close(Case *c) {
    class_report_free(&c->report);
    free(c->names);
    free(c->gold);
    free(c->pred);
}

Test(report, text_equals_sklearn) {
    json_t *cases = load_cases();
    for (size_t k = 0; k < json_array_size(cases); k++) {
        json_t *g = json_array_get(cases, k);
        Case c;
        case_open(&c, g);
        char *text = class_report_text(&c.report, c.names, (int)json_integer_value(json_object_get(g, "digits")));
        cr_expect_str_eq(text, json_string_value(json_object_get(g, "text")), "%s: ours\n%s", c.name, text);
        free(text);
        case_close(&c);
    }
    json_decref(cases);
}

static void expect_same_number(const char *where, json_t *got, json_t *want) {
    cr_assert(json_is_number(got), "%s: missing or not a number", where);
    /* sklearn's supports are ints, or floats when nothing is right (np.bincount of nothing) */
    cr_expect_eq(json_is_integer(got), json_is_integer(want), "%s: int vs float", where);
    cr_expect_eq(json_number_value(got), json_number_value(want), "%s: %.17g vs %.17g", where,
                 json_number_value(got), json_number_value(want));
}

Test(report, dict_equals_sklearn) {
    json_t *cases = load_cases();
    for (size_t k = 0; k < json_array_size(cases); k++) {
        json_t *g = json_array_get(cases, k);
        Case c;
        case_open(&c, g);
        json_t *ours = class_report_json(&c.report, c.names), *want = json_object_get(g, "dict");
        cr_expect_eq(json_object_size(ours), json_object_size(want), "%s: keys", c.name);
        const char *key;
        json_t *value;
        json_object_foreach(want, key, value) {
            char where[256];
            json_t *got = json_object_get(ours, key);
            if (json_is_number(value)) {
                snprintf(where, sizeof where, "%s: %s", c.name, key);
                expect_same_number(where, got, value);
                continue;
            }
            const char *field;
            json_t *number;
            json_object_foreach(value, field, number) {
                snprintf(where, sizeof where, "%s: %s.%s", c.name, key, field);
                expect_same_number(where, json_object_get(got, field), number);
            }
        }
        json_decref(ours);
        case_close(&c);
    }
    json_decref(cases);
}

Test(report, confusion_matrix_equals_sklearn) {
    json_t *cases = load_cases();
    for (size_t k = 0; k < json_array_size(cases); k++) {
        json_t *g = json_array_get(cases, k), *cm = json_object_get(g, "confusion");
        Case c;
        case_open(&c, g);
        for (int i = 0; i < c.n_labels; i++)
            for (int j = 0; j < c.n_labels; j++)
                cr_expect_eq(c.report.confusion[(size_t)i * c.n_labels + j],
                             json_integer_value(json_array_get(json_array_get(cm, (size_t)i), (size_t)j)),
                             "%s: [%d][%d]", c.name, i, j);
        case_close(&c);
    }
    json_decref(cases);
}

Test(report, confused_pairs_most_frequent_first) {
    /* gold 0 -> 1 three times, 2 -> 0 twice, 1 -> 2 twice, 0 -> 2 once */
    int gold[] = {0, 0, 0, 2, 2, 1, 1, 0, 1};
    int pred[] = {1, 1, 1, 0, 0, 2, 2, 2, 1};
    ClassReport r;
    class_report_compute(&r, gold, pred, 9, 3);
    ConfusedPair p[8];
    int n = class_report_confused_pairs(&r, p, 8);
    cr_assert_eq(n, 4);
    int want[4][3] = {{0, 1, 3}, {1, 2, 2}, {2, 0, 2}, {0, 2, 1}};
    for (int i = 0; i < 4; i++) {
        cr_expect_eq(p[i].gold, want[i][0], "pair %d", i);
        cr_expect_eq(p[i].predicted, want[i][1], "pair %d", i);
        cr_expect_eq(p[i].count, want[i][2], "pair %d", i);
    }
    cr_expect_eq(class_report_confused_pairs(&r, p, 2), 2);
    cr_expect_eq(r.correct, 1);
    cr_expect_float_eq(class_report_accuracy(&r), 1.0 / 9, 0);
    class_report_free(&r);
}

Test(report, no_examples) {
    ClassReport r;
    class_report_compute(&r, NULL, NULL, 0, 3);
    const char *names[] = {"a", "b", "c"};
    char *text = class_report_text(&r, names, 2);
    cr_expect(strstr(text, "micro avg") != NULL, "%s", text);  /* no label occurs */
    cr_expect_eq(class_report_accuracy(&r), 0.0);
    free(text);
    class_report_free(&r);
}
