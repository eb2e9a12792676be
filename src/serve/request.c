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

static void store_text(char **text, size_t *len, json_t *s) {
    *len = json_string_length(s);
    *text = alb_xmalloc(*len + 1);
    memcpy(*text, json_string_value(s), *len + 1);
}

static void alloc_texts(ServeRequest *r, size_t n, int pairs) {
    r->n = (int)n;
    r->texts = alb_xcalloc(n, sizeof(char *));
    r->lens = alb_xcalloc(n, sizeof(size_t));
    if (pairs) {
        r->pairs = alb_xcalloc(n, sizeof(char *));
        r->pair_lens = alb_xcalloc(n, sizeof(size_t));
    }
}

/* /embed, /tokenize: str | [str]. */
static RequestStatus parse_texts(ServeRequest *r, json_t *inputs, AlbError *err) {
    if (json_is_string(inputs)) {
        alloc_texts(r, 1, 0);
        store_text(&r->texts[0], &r->lens[0], inputs);
        return REQ_OK;
    }
    if (!json_is_array(inputs)) return alb_fail(err, "inputs: expected a string or a list of strings");
    size_t n = json_array_size(inputs);
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(inputs, i);
        if (json_is_array(v)) return alb_fail(err, "inputs[%zu]: sentence pairs are taken by /predict only", i);
        if (!json_is_string(v)) return alb_fail(err, "inputs[%zu]: expected a string", i);
    }
    r->batched = 1;
    alloc_texts(r, n, 0);
    for (size_t i = 0; i < n; i++) store_text(&r->texts[i], &r->lens[i], json_array_get(inputs, i));
    return REQ_OK;
}

/* One /predict input from a list of strings: [text] or [text, text_pair];
 * where names it in errors. */
static int check_sequence(json_t *list, const char *where, AlbError *err) {
    size_t n = json_array_size(list);
    for (size_t j = 0; j < n; j++)
        if (!json_is_string(json_array_get(list, j))) return alb_fail(err, "%s[%zu]: expected a string", where, j);
    if (n < 1 || n > 2)
        return alb_fail(err, "%s: %zu strings; an input is [text] or a pair [text, text_pair] (a batch: a list of those)",
                        where, n);
    return 0;
}

static void store_sequence(ServeRequest *r, int i, json_t *list) {
    store_text(&r->texts[i], &r->lens[i], json_array_get(list, 0));
    if (json_array_size(list) == 2) store_text(&r->pairs[i], &r->pair_lens[i], json_array_get(list, 1));
}

/* /predict, as TEI reads it: a string, or a list of 1 or 2 strings (a text or
 * a pair), is one input; a list of such lists is a batch. */
static RequestStatus parse_sequences(ServeRequest *r, json_t *inputs, AlbError *err) {
    if (json_is_string(inputs)) {
        alloc_texts(r, 1, 1);
        store_text(&r->texts[0], &r->lens[0], inputs);
        return REQ_OK;
    }
    if (!json_is_array(inputs))
        return alb_fail(err, "inputs: expected a string, a pair [text, text_pair] or a batch [[text], [text, text_pair], ...]");
    size_t n = json_array_size(inputs);
    if (!json_is_array(json_array_get(inputs, 0))) {
        if (check_sequence(inputs, "inputs", err)) return REQ_VALIDATION;
        alloc_texts(r, 1, 1);
        store_sequence(r, 0, inputs);
        return REQ_OK;
    }
    for (size_t i = 0; i < n; i++) {
        char where[40];
        snprintf(where, sizeof where, "inputs[%zu]", i);
        json_t *v = json_array_get(inputs, i);
        if (!json_is_array(v)) return alb_fail(err, "%s: expected a list [text] or [text, text_pair] in a batch", where);
        if (check_sequence(v, where, err)) return REQ_VALIDATION;
    }
    r->batched = 1;
    alloc_texts(r, n, 1);
    for (size_t i = 0; i < n; i++) store_sequence(r, (int)i, json_array_get(inputs, i));
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
    else if (json_is_array(inputs) && json_array_size(inputs) == 0) {
        alb_fail(err, "`%s` cannot be empty", field);
        rc = REQ_EMPTY;
    } else if (route == ROUTE_DECODE) rc = parse_ids(r, inputs, vocab_size, err);
    else rc = route == ROUTE_PREDICT ? parse_sequences(r, inputs, err) : parse_texts(r, inputs, err);
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
        if (r->pairs) free(r->pairs[i]);
        if (r->ids) free(r->ids[i]);
    }
    free(r->texts);
    free(r->lens);
    free(r->pairs);
    free(r->pair_lens);
    free(r->ids);
    free(r->n_ids);
    *r = (ServeRequest){.route = r->route};
}
