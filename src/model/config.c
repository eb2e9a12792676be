#include "model/config.h"

#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/fileio.h"

static const char *const supported_acts[] = {"gelu_new", "gelu", "gelu_pytorch_tanh", "relu"};
#define N_SUPPORTED_ACTS (int)(sizeof supported_acts / sizeof supported_acts[0])

void albert_config_defaults(AlbertConfig *c) {
    *c = (AlbertConfig){
        .vocab_size = 30000,
        .embedding_size = 128,
        .hidden_size = 4096,
        .num_hidden_layers = 12,
        .num_hidden_groups = 1,
        .num_attention_heads = 64,
        .intermediate_size = 16384,
        .inner_group_num = 1,
        .max_position_embeddings = 512,
        .type_vocab_size = 2,
        .pad_token_id = 0,
        .layer_norm_eps = 1e-12f,
        .initializer_range = 0.02f,
        .hidden_act = "gelu_new",
    };
}

int albert_config_preset(AlbertConfig *c, const char *name) {
    albert_config_defaults(c);
    if (strcmp(name, "base") == 0) {  /* albert-base-v2's config.json */
        c->hidden_size = 768;
        c->num_attention_heads = 12;
        c->intermediate_size = 3072;
        return 0;
    }
    if (strcmp(name, "tiny") == 0) {  /* test geometry; vocab kept so the real tokenizer fits */
        c->embedding_size = 16;
        c->hidden_size = 32;
        c->num_attention_heads = 2;
        c->intermediate_size = 37;
        c->num_hidden_layers = 3;
        return 0;
    }
    return -1;
}

/* The integer fields, by name, so parse and save walk the same table. The
 * upper bounds are this program's, far above any published ALBERT (xxlarge:
 * vocab 30000, hidden 4096, intermediate 16384, 64 heads, 12 layers, 512
 * positions), low enough that no size computed from them overflows. */
static const struct { const char *name; size_t offset; int min, max; } int_fields[] = {
    {"vocab_size", offsetof(AlbertConfig, vocab_size), 1, 1 << 20},
    {"embedding_size", offsetof(AlbertConfig, embedding_size), 1, 1 << 14},
    {"hidden_size", offsetof(AlbertConfig, hidden_size), 1, 1 << 14},
    {"num_hidden_layers", offsetof(AlbertConfig, num_hidden_layers), 1, 1024},
    {"num_hidden_groups", offsetof(AlbertConfig, num_hidden_groups), 1, 1024},
    {"num_attention_heads", offsetof(AlbertConfig, num_attention_heads), 1, 1024},
    {"intermediate_size", offsetof(AlbertConfig, intermediate_size), 1, 1 << 16},
    {"inner_group_num", offsetof(AlbertConfig, inner_group_num), 1, 64},
    {"max_position_embeddings", offsetof(AlbertConfig, max_position_embeddings), 1, 1 << 16},
    {"type_vocab_size", offsetof(AlbertConfig, type_vocab_size), 1, 1024},
    {"pad_token_id", offsetof(AlbertConfig, pad_token_id), 0, INT_MAX},
};
#define N_INT_FIELDS (int)(sizeof int_fields / sizeof int_fields[0])

static int *int_field(AlbertConfig *c, int i) { return (int *)((char *)c + int_fields[i].offset); }

static int supported_act(const char *name) {
    for (int i = 0; i < N_SUPPORTED_ACTS; i++)
        if (strcmp(name, supported_acts[i]) == 0) return 1;
    return 0;
}

static int check_int_field(int i, long long x, const char *path, AlbError *err) {
    if (x < int_fields[i].min)
        return alb_fail(err, "%s: %s must be %s, got %lld", path, int_fields[i].name,
                        int_fields[i].min ? "a positive integer" : "a non-negative integer", x);
    if (x > int_fields[i].max)
        return alb_fail(err, "%s: %s must be at most %d (this program's bound), got %lld", path, int_fields[i].name,
                        int_fields[i].max, x);
    return 0;
}

/* Weights of the model c describes (shared layers counted once). */
static double parameter_count(const AlbertConfig *c) {
    double V = c->vocab_size, E = c->embedding_size, H = c->hidden_size, F = c->intermediate_size;
    double embeddings = (V + c->max_position_embeddings + c->type_vocab_size + 2) * E + E * H + H;
    double layer = 4 * (H * H + H) + 2 * H + (H * F + F) + (F * H + H) + 2 * H;
    return embeddings + (double)c->num_hidden_groups * c->inner_group_num * layer + H * H + H;
}

int albert_config_check(const AlbertConfig *c, const char *path, AlbError *err) {
    for (int i = 0; i < N_INT_FIELDS; i++)
        if (check_int_field(i, *int_field((AlbertConfig *)c, i), path, err)) return -1;
    if (!supported_act(c->hidden_act))
        return alb_fail(err, "%s: hidden_act \"%s\" is not supported (supported: gelu_new, gelu, "
                             "gelu_pytorch_tanh, relu)", path, c->hidden_act);
    if (c->hidden_size % c->num_attention_heads != 0)
        return alb_fail(err, "%s: hidden_size %d is not divisible by num_attention_heads %d", path, c->hidden_size,
                        c->num_attention_heads);
    if (c->num_hidden_layers % c->num_hidden_groups != 0)
        return alb_fail(err, "%s: num_hidden_layers %d is not divisible by num_hidden_groups %d", path,
                        c->num_hidden_layers, c->num_hidden_groups);
    if (c->pad_token_id >= c->vocab_size)
        return alb_fail(err, "%s: pad_token_id %d is outside the vocabulary (vocab_size %d)", path, c->pad_token_id,
                        c->vocab_size);
    double params = parameter_count(c);
    if (params > ALBERT_MAX_PARAMETERS)
        return alb_fail(err, "%s: the model would have %.0f parameters, more than the %.0f (16 GiB as float32) this "
                             "program accepts", path, params, (double)ALBERT_MAX_PARAMETERS);
    return 0;
}

static const char *json_type_name(const json_t *v) {
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a real number";
    case JSON_TRUE: case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

/* A positive float field (eps, init range), integer or real in the JSON. */
static int parse_float(const json_t *root, const char *key, float *out, int allow_zero, const char *path,
                       AlbError *err) {
    json_t *v = json_object_get(root, key);
    if (!v) return 0;
    if (!json_is_number(v)) return alb_fail(err, "%s: %s must be a number, not %s", path, key, json_type_name(v));
    double d = json_number_value(v);
    if (!(d > 0 || (allow_zero && d == 0)) || !isfinite((float)d))
        return alb_fail(err, "%s: %s must be %s and finite, got %g", path, key, allow_zero ? ">= 0" : "> 0", d);
    *out = (float)d;
    return 0;
}

/* A string field; absent leaves *out NULL. */
static int parse_string(const json_t *root, const char *key, const char **out, const char *path, AlbError *err) {
    json_t *v = json_object_get(root, key);
    *out = NULL;
    if (!v) return 0;
    if (!json_is_string(v)) return alb_fail(err, "%s: %s must be a string, not %s", path, key, json_type_name(v));
    *out = json_string_value(v);
    return 0;
}

static int parse_fields(AlbertConfig *c, const json_t *root, const char *path, AlbError *err) {
    if (!json_is_object(root)) return alb_fail(err, "%s: config must be a JSON object", path);
    const char *s;
    if (parse_string(root, "model_type", &s, path, err)) return -1;
    if (s && strcmp(s, "albert") != 0)
        return alb_fail(err, "%s: model_type is \"%s\", this program reads only \"albert\" models", path, s);
    if (parse_string(root, "position_embedding_type", &s, path, err)) return -1;
    if (s && strcmp(s, "absolute") != 0)
        return alb_fail(err, "%s: position_embedding_type \"%s\" is not supported (only \"absolute\")", path, s);

    for (int i = 0; i < N_INT_FIELDS; i++) {
        const char *key = int_fields[i].name;
        json_t *v = json_object_get(root, key);
        /* transformers writes "pad_token_id": null for "no padding index": the frozen encoder does not care. */
        if (!v || (json_is_null(v) && strcmp(key, "pad_token_id") == 0)) continue;
        if (!json_is_integer(v))
            return alb_fail(err, "%s: %s must be an integer, not %s", path, key, json_type_name(v));
        json_int_t x = json_integer_value(v);
        if (check_int_field(i, (long long)x, path, err)) return -1;
        *int_field(c, i) = (int)x;
    }
    if (parse_float(root, "layer_norm_eps", &c->layer_norm_eps, 0, path, err)) return -1;
    if (parse_float(root, "initializer_range", &c->initializer_range, 1, path, err)) return -1;

    if (parse_string(root, "hidden_act", &s, path, err)) return -1;
    if (s && !supported_act(s))
        return alb_fail(err, "%s: hidden_act \"%s\" is not supported (supported: gelu_new, gelu, "
                             "gelu_pytorch_tanh, relu)", path, s);
    if (s) snprintf(c->hidden_act, sizeof c->hidden_act, "%s", s);
    return albert_config_check(c, path, err);
}

int albert_config_parse(AlbertConfig *c, const char *json, size_t len, const char *path, AlbError *err) {
    if (!path) path = "config.json";
    albert_config_defaults(c);
    json_error_t jerr;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    char shown[ALB_SHOWN_SIZE];
    if (!root) return alb_fail(err, "%s:%d: invalid JSON: %s", path, jerr.line, alb_shown(jerr.text, shown));
    int rc = parse_fields(c, root, path, err);
    json_decref(root);
    if (rc) albert_config_defaults(c);
    return rc;
}

int albert_config_load(AlbertConfig *c, const char *path, AlbError *err) {
    char *text;
    size_t len;
    if (alb_read_file(path, &text, &len, err)) return -1;
    int rc = albert_config_parse(c, text, len, path, err);
    free(text);
    return rc;
}

/* The shortest decimal that reads back as the same float, so 1e-12f is saved as 1e-12. */
static json_t *json_float(float f) {
    char buf[32];
    for (int digits = 1; digits <= 9; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, (double)f);
        if (strtof(buf, NULL) == f) break;
    }
    return json_real(strtod(buf, NULL));
}

int albert_config_save(const AlbertConfig *c, const char *path, AlbError *err) {
    json_t *root = json_object();
    json_object_set_new(root, "architectures", json_pack("[s]", "AlbertModel"));
    json_object_set_new(root, "model_type", json_string("albert"));
    for (int i = 0; i < N_INT_FIELDS; i++)
        json_object_set_new(root, int_fields[i].name, json_integer(*int_field((AlbertConfig *)c, i)));
    json_object_set_new(root, "hidden_act", json_string(c->hidden_act));
    json_object_set_new(root, "layer_norm_eps", json_float(c->layer_norm_eps));
    json_object_set_new(root, "initializer_range", json_float(c->initializer_range));
    json_object_set_new(root, "position_embedding_type", json_string("absolute"));
    /* Inference: the reference runs with dropout off. */
    json_object_set_new(root, "hidden_dropout_prob", json_integer(0));
    json_object_set_new(root, "attention_probs_dropout_prob", json_integer(0));
    /* %.9g is enough for a float and keeps the shortest form json_float chose. */
    return alb_write_json(path, root, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(9), err);
}
