/* Parsing the JSONL input of `albertc embed`; see embed_input.h. */
#include "pipeline/embed_input.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/fileio.h"

/* A JSON array of integers into out[n] (malloc'ed); each value checked in [lo, hi). */
static int int_array(const json_t *arr, const char *key, long lo, long hi, int32_t **out, int *n, AlbError *err,
                     const char *where) {
    if (!json_is_array(arr)) return alb_fail(err, "%s: \"%s\" must be an array of integers", where, key);
    size_t len = json_array_size(arr);
    *out = alb_xmalloc((len ? len : 1) * sizeof(int32_t));
    *n = (int)len;
    for (size_t i = 0; i < len; i++) {
        const json_t *v = json_array_get(arr, i);
        if (!json_is_integer(v)) return alb_fail(err, "%s: \"%s\"[%zu] is not an integer", where, key, i);
        json_int_t x = json_integer_value(v);
        if (x < lo || x >= hi)
            return alb_fail(err, "%s: \"%s\"[%zu] = %lld is outside [%ld, %ld)", where, key, i, (long long)x, lo,
                            hi);
        (*out)[i] = (int32_t)x;
    }
    return 0;
}

static int text_sequence(EmbedInput *in, const json_t *text, EmbedSeq *s, AlbError *err, const char *where) {
    if (!json_is_string(text)) return alb_fail(err, "%s: \"text\" must be a string", where);
    if (!in->spiece_path) return alb_fail(err, "%s: text lines need a tokenizer (spiece.model)", where);
    if (!in->tok && tokenizer_load(&in->tok, in->spiece_path, err)) return -1;
    TokenIds ids = {0};
    tokenizer_encode(in->tok, json_string_value(text), json_string_length(text), in->max_length, &ids);
    s->n = ids.n;
    s->ids = alb_xmalloc(sizeof(int32_t) * (size_t)(ids.n ? ids.n : 1));
    memcpy(s->ids, ids.ids, sizeof(int32_t) * (size_t)ids.n);
    token_ids_free(&ids);
    for (int i = 0; i < s->n; i++)
        if (s->ids[i] >= in->vocab_size)
            return alb_fail(err, "%s: the tokenizer gave id %d, outside the model's vocabulary [0, %d)", where,
                            s->ids[i], in->vocab_size);
    return 0;
}

static int ids_sequence(EmbedInput *in, const json_t *obj, EmbedSeq *s, AlbError *err, const char *where) {
    if (int_array(json_object_get(obj, "input_ids"), "input_ids", 0, in->vocab_size, &s->ids, &s->n, err, where))
        return -1;
    if (s->n == 0) return alb_fail(err, "%s: \"input_ids\" is empty", where);
    if (s->n > in->max_length)
        return alb_fail(err, "%s: %d input_ids exceed the maximum length %d", where, s->n, in->max_length);
    const json_t *mask = json_object_get(obj, "attention_mask"), *types = json_object_get(obj, "token_type_ids");
    int n;
    if (mask) {
        if (int_array(mask, "attention_mask", 0, 2, &s->mask, &n, err, where)) return -1;
        if (n != s->n)
            return alb_fail(err, "%s: attention_mask has %d values but input_ids has %d", where, n, s->n);
    }
    if (types) {
        int32_t *t = NULL;
        int rc = int_array(types, "token_type_ids", 0, 1, &t, &n, err, where);
        free(t);
        if (rc) return alb_fail(err, "%s: token_type_ids must all be 0 (sentence pairs are not supported)", where);
        if (n != s->n)
            return alb_fail(err, "%s: token_type_ids has %d values but input_ids has %d", where, n, s->n);
    }
    return 0;
}

/* One line into a sequence. */
static int parse_line(EmbedInput *in, const char *line, size_t len, long lineno, EmbedSeq *s, AlbError *err) {
    char where[4200];
    snprintf(where, sizeof where, "%s:%ld", in->path, lineno);
    json_error_t jerr;
    json_t *obj = json_loadb(line, len, 0, &jerr);
    char shown[ALB_SHOWN_SIZE];
    if (!obj) return alb_fail(err, "%s: invalid JSON: %s", where, alb_shown(jerr.text, shown));
    int rc;
    const json_t *text = json_object_get(obj, "text"), *ids = json_object_get(obj, "input_ids");
    if (!json_is_object(obj) || (!text && !ids))
        rc = alb_fail(err, "%s: expected an object with \"input_ids\" or \"text\"", where);
    else if (text && ids)
        rc = alb_fail(err, "%s: give \"input_ids\" or \"text\", not both", where);
    else
        rc = text ? text_sequence(in, text, s, err, where) : ids_sequence(in, obj, s, err, where);
    json_decref(obj);
    if (!rc && !s->mask) {
        s->mask = alb_xmalloc(sizeof(int32_t) * (size_t)(s->n ? s->n : 1));
        for (int i = 0; i < s->n; i++) s->mask[i] = 1;
    }
    return rc;
}

int embed_input_parse(EmbedInput *in, const char *data, size_t len, AlbError *err) {
    long lineno = 0;
    int rc = 0;
    for (size_t pos = 0; pos < len && !rc;) {
        const char *line = data + pos, *nl = memchr(line, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - line) : len - pos;
        pos += n + (nl != NULL);
        lineno++;
        if (n && line[n - 1] == '\r') n--;
        if (in->n == in->cap) {
            in->cap = in->cap ? 2 * in->cap : 64;
            in->seqs = alb_xrealloc(in->seqs, sizeof(EmbedSeq) * (size_t)in->cap);
        }
        EmbedSeq *s = &in->seqs[in->n++];
        memset(s, 0, sizeof *s);
        rc = parse_line(in, line, n, lineno, s, err);
    }
    if (!rc && in->n == 0) rc = alb_fail(err, "%s: no input lines", in->path);
    return rc;
}

int embed_input_read(EmbedInput *in, AlbError *err) {
    char *data;
    size_t len;
    if (alb_read_file(in->path, &data, &len, err)) return -1;
    int rc = embed_input_parse(in, data, len, err);
    free(data);
    return rc;
}

void embed_input_free(EmbedInput *in) {
    for (int i = 0; i < in->n; i++) {
        free(in->seqs[i].ids);
        free(in->seqs[i].mask);
    }
    free(in->seqs);
    tokenizer_free(in->tok);
    in->seqs = NULL;
    in->tok = NULL;
    in->n = in->cap = 0;
}
