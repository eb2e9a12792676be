#include "serve/request.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* key -> *out when the key is there; a wrong type is a Validation error. */
static int get_bool(json_t *root, const char *key, int *out, AlbError *err) {
    json_t *v = json_object_get(root, key);
    if (!v) return 0;
    if (!json_is_boolean(v)) return alb_fail(err, "%s: expected a boolean", key);
    *out = json_is_true(v);
    return 0;
}

static void store_text(ServeRequest *r, int i, json_t *s) {
    r->lens[i] = json_string_length(s);
    r->texts[i] = alb_xmalloc(r->lens[i] + 1);
    memcpy(r->texts[i], json_string_value(s), r->lens[i] + 1);
}

static RequestStatus parse_texts(ServeRequest *r, json_t *inputs, AlbError *err) {
    if (json_is_string(inputs)) {
        r->n = 1;
        r->texts = alb_xcalloc(1, sizeof(char *));
        r->lens = alb_xcalloc(1, sizeof(size_t));
        store_text(r, 0, inputs);
        return REQ_OK;
    }
    if (!json_is_array(inputs)) return alb_fail(err, "inputs: expected a string or a list of strings");
    size_t n = json_array_size(inputs);
    if (n == 0) {
        alb_fail(err, "`inputs` cannot be empty");
        return REQ_EMPTY;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(inputs, i);
        if (json_is_array(v)) return alb_fail(err, "inputs[%zu]: sentence pairs are not supported", i);
        if (!json_is_string(v)) return alb_fail(err, "inputs[%zu]: expected a string", i);
    }
    r->batched = 1;
    r->n = (int)n;
    r->texts = alb_xcalloc(n, sizeof(char *));
    r->lens = alb_xcalloc(n, sizeof(size_t));
    for (size_t i = 0; i < n; i++) store_text(r, (int)i, json_array_get(inputs, i));
    return REQ_OK;
}

/* One id list; where names it in errors ("ids" or "ids[3]"). */
static int check_ids(json_t *list, int vocab_size, const char *where, AlbError *err) {
    for (size_t j = 0; j < json_array_size(list); j++) {
        json_t *v = json_array_get(list, j);
        if (!json_is_integer(v)) return alb_fail(err, "%s[%zu]: expected an integer token id", where, j);
        if (json_integer_value(v) < 0 || json_integer_value(v) >= vocab_size)
            return alb_fail(err, "%s[%zu]: token id %lld is not in [0, %d)", where, j,
                            (long long)json_integer_value(v), vocab_size);
    }
    return 0;
}

static RequestStatus parse_ids(ServeRequest *r, json_t *ids, int vocab_size, AlbError *err) {
    if (!json_is_array(ids)) return alb_fail(err, "ids: expected a list of token ids or a list of such lists");
    size_t n = json_array_size(ids);
    if (n == 0) {
        alb_fail(err, "`ids` cannot be empty");
        return REQ_EMPTY;
    }
    r->batched = json_is_array(json_array_get(ids, 0));
    for (size_t i = 0; i < (r->batched ? n : 1); i++) {
        json_t *list = r->batched ? json_array_get(ids, i) : ids;
        char where[40];
        snprintf(where, sizeof where, r->batched ? "ids[%zu]" : "ids", i);
        if (!json_is_array(list)) return alb_fail(err, "%s: expected a list of token ids", where);
        if (check_ids(list, vocab_size, where, err)) return REQ_VALIDATION;
    }
    r->n = r->batched ? (int)n : 1;
    r->ids = alb_xcalloc((size_t)r->n, sizeof(int32_t *));
    r->n_ids = alb_xcalloc((size_t)r->n, sizeof(int));
    for (int i = 0; i < r->n; i++) {
        json_t *list = r->batched ? json_array_get(ids, (size_t)i) : ids;
        r->n_ids[i] = (int)json_array_size(list);
        r->ids[i] = alb_xmalloc(sizeof(int32_t) * (size_t)(r->n_ids[i] ? r->n_ids[i] : 1));
        for (int j = 0; j < r->n_ids[i]; j++) r->ids[i][j] = (int32_t)json_integer_value(json_array_get(list, (size_t)j));
    }
    return REQ_OK;
}

RequestStatus serve_request_parse(ServeRequest *r, ServeRoute route, const char *body, size_t len, int vocab_size,
                                  AlbError *err) {
    *r = (ServeRequest){.route = route, .truncate = -1, .normalize = 1, .add_special_tokens = 1,
                        .skip_special_tokens = 1};
    json_error_t jerr;
    json_t *root = json_loadb(body, len, 0, &jerr);
    char shown[ALB_SHOWN_SIZE];
    if (!root)
        return alb_fail(err, "invalid JSON at line %d, column %d: %s", jerr.line, jerr.column, alb_shown(jerr.text, shown));
    RequestStatus rc = REQ_OK;
    const char *field = route == ROUTE_DECODE ? "ids" : "inputs";
    json_t *inputs = json_object_get(root, field);
    if (!json_is_object(root)) rc = alb_fail(err, "expected a JSON object with `%s`", field);
    else if (!inputs) rc = alb_fail(err, "missing field `%s`", field);
    else if (get_bool(root, "truncate", &r->truncate, err) || get_bool(root, "raw_scores", &r->raw_scores, err) ||
             get_bool(root, "normalize", &r->normalize, err) ||
             get_bool(root, "add_special_tokens", &r->add_special_tokens, err) ||
             get_bool(root, "skip_special_tokens", &r->skip_special_tokens, err))
        rc = REQ_VALIDATION;
    else rc = route == ROUTE_DECODE ? parse_ids(r, inputs, vocab_size, err) : parse_texts(r, inputs, err);
    json_decref(root);
    if (rc != REQ_OK) {
        serve_request_free(r);
        *r = (ServeRequest){.route = route};
    }
    return rc;
}

void serve_request_free(ServeRequest *r) {
    for (int i = 0; i < r->n; i++) {
        if (r->texts) free(r->texts[i]);
        if (r->ids) free(r->ids[i]);
    }
    free(r->texts);
    free(r->lens);
    free(r->ids);
    free(r->n_ids);
    *r = (ServeRequest){.route = r->route};
}
