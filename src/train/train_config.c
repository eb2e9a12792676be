#include "train/train_config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "pipeline/feature_cache.h"
#include "util/fileio.h"

/* ---------------------------------------------------------------- key table */

typedef enum { K_STR, K_INT, K_INT64, K_FLOAT, K_BOOL, K_CHOICE, K_DTYPE, K_PROGRESS, K_NOTE } KeyKind;

typedef struct {
    const char *name;
    KeyKind kind;
    size_t offset;        /* into TrainConfig; unused for K_NOTE */
    double min, max;      /* K_INT, K_INT64, K_FLOAT */
    const char *choices;  /* K_CHOICE: "a,b,c"; K_NOTE: allowed values or NULL (any) */
    const char *reason;   /* K_NOTE */
    int alias;            /* another name for the key before it: not printed */
} KeySpec;

#define OFF(f) offsetof(TrainConfig, f)
#define STR(k, f) {k, K_STR, OFF(f), 0, 0, NULL, NULL, 0}
#define INT(k, f, lo, hi) {k, K_INT, OFF(f), lo, hi, NULL, NULL, 0}
#define FLT(k, f, lo, hi) {k, K_FLOAT, OFF(f), lo, hi, NULL, NULL, 0}
#define BOOL(k, f) {k, K_BOOL, OFF(f), 0, 0, NULL, NULL, 0}
#define CHOICE(k, f, c) {k, K_CHOICE, OFF(f), 0, 0, c, NULL, 0}
#define NOTE(k, allowed, why) {k, K_NOTE, 0, 0, 0, allowed, why, 0}

static const char WHY_WANDB[] = "Weights & Biases is not used (no network); metrics go to the console log, metrics.jsonl and "
                                 "tensorboard/ (`wandb sync <project_dir>/tensorboard` uploads them)";
static const char WHY_MESH[] = "one CPU process, no device mesh or tensor-parallel sharding";
static const char WHY_STORAGE[] = "local is the only storage backend (remote_path is a directory)";

static const KeySpec KEYS[] = {
    STR("dataset_id", dataset_id),
    STR("data_dir", data_dir),
    STR("train_file", train_file),
    STR("eval_file", eval_file),
    STR("labels_file", labels_file),
    STR("text_field", text_field),
    STR("label_field", label_field),
    STR("label_text_field", label_text_field),
    BOOL("skip_bad_rows", skip_bad_rows),
    BOOL("shuffle", shuffle),
    STR("train_features", train_features),
    STR("eval_features", eval_features),
    STR("cache_dir", cache_dir),
    STR("model_name", model_name),
    INT("max_length", max_length, 2, 1 << 20),
    INT("num_labels", num_labels, 2, 1 << 20),
    INT("mlp_hidden_size", mlp_hidden_size, 1, 1 << 20),
    {"mlp_hidden_dim", K_INT, OFF(mlp_hidden_size), 1, 1 << 20, NULL, NULL, 1},
    {"dtype", K_DTYPE, OFF(dtype), 0, 0, NULL, NULL, 0},
    STR("init_head", init_head),
    FLT("learning_rate", learning_rate, 0, 1e6),
    FLT("weight_decay", weight_decay, 0, 1e6),
    INT("batch_size", batch_size, 1, 1 << 20),
    INT("gradient_accumulation_steps", gradient_accumulation_steps, 1, 1 << 20),
    INT("num_epochs", num_epochs, 1, 1 << 20),
    CHOICE("optim", optim, "adamw_torch,adamw_torch_fused,adamw"),
    {"seed", K_INT64, OFF(seed), 0, 9.2e18, NULL, NULL, 0},
    INT("max_steps_per_epoch", max_steps_per_epoch, 0, 2147483647),
    INT("threads", threads, 0, 4096),
    CHOICE("log_level", log_level, "DEBUG,INFO,WARNING,ERROR,CRITICAL"),
    /* steps_freq sizes the train/loss window: that many doubles in memory, and up to
     * that many numbers in a checkpoint's data_order (a safetensors header, capped at 100 MB) */
    INT("steps_freq", steps_freq, 1, 1 << 20),
    INT("val_steps_freq", val_steps_freq, 1, 2147483647),
    INT("epoch_freq", epoch_freq, 1, 2147483647),
    {"progress", K_PROGRESS, OFF(progress), 0, 0, NULL, NULL, 0},
    BOOL("resume_from_checkpoint", resume_from_checkpoint),
    CHOICE("resume_option", resume_option, "last,best,path"),
    STR("checkpoint_path", checkpoint_path),
    CHOICE("checkpoint_metric", checkpoint_metric, "val/loss,eval/loss,val/accuracy,train/loss"),
    CHOICE("checkpoint_metric_mode", checkpoint_metric_mode, "min,max"),
    INT("keep_last_n", keep_last_n, 0, 2147483647),
    INT("keep_best_n", keep_best_n, 0, 2147483647),
    CHOICE("save_strategy", save_strategy, "epoch,step"),
    STR("project_dir", project_dir),
    BOOL("save_optim", save_optim),
    BOOL("sync_to_storage", sync_to_storage),
    BOOL("load_from_storage", load_from_storage),
    STR("remote_path", remote_path),
    NOTE("training_type", NULL, "only the classification head trains, on a frozen encoder (no LoRA adapters)"),
    NOTE("gradient_checkpointing", NULL, "the encoder is frozen: no encoder activations are kept for a backward pass"),
    NOTE("deterministic", NULL, "runs are always deterministic: the same seed and data give the same numbers"),
    NOTE("framework", NULL, "this is the C implementation; there is no framework to choose"),
    NOTE("use_tt", NULL, "no Tenstorrent device: everything runs on the CPU"),
    NOTE("mesh_shape", NULL, WHY_MESH),
    NOTE("mesh_axis_names", NULL, WHY_MESH),
    NOTE("tp_sharding_specs", NULL, WHY_MESH),
    NOTE("use_wandb", NULL, WHY_WANDB),
    NOTE("log_on_wandb", NULL, WHY_WANDB),
    NOTE("model_to_wandb", NULL, WHY_WANDB),
    NOTE("storage_backend", "local", WHY_STORAGE),
};
#define N_KEYS ((int)(sizeof KEYS / sizeof KEYS[0]))
_Static_assert(sizeof KEYS / sizeof KEYS[0] <= TC_MAX_KEYS, "raise TC_MAX_KEYS");

/* Any other wandb_* key (wandb_project, wandb_tags, ...). */
static const KeySpec WANDB_ANY = NOTE("wandb_*", NULL, WHY_WANDB);
static const char TEST_CONFIG_KEY[] = "test_config";

static int find_key(const char *name) {
    for (int i = 0; i < N_KEYS; i++)
        if (strcmp(KEYS[i].name, name) == 0) return i;
    return -1;
}

/* ------------------------------------------------------------------ helpers */

static int levenshtein(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64) return 1000;
    int row[65];
    for (size_t j = 0; j <= lb; j++) row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j];
            int best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

static const char *nearest_key(const char *name) {
    const char *best = NULL;
    int best_d = (int)strlen(name) / 3 > 2 ? (int)strlen(name) / 3 : 2;
    for (int i = 0; i <= N_KEYS; i++) {
        const char *k = i < N_KEYS ? KEYS[i].name : TEST_CONFIG_KEY;
        int d = levenshtein(name, k);
        if (d <= best_d && (!best || d < best_d)) { best = k; best_d = d; }
    }
    return best;
}

/* Copies src into a TC_STR field; fails when it does not fit. */
static int set_str(char *dst, const char *src) {
    size_t n = strlen(src);
    if (n >= TC_STR) return -1;
    memcpy(dst, src, n + 1);
    return 0;
}

/* Copies at most cap-1 bytes without splitting a UTF-8 sequence. */
static void copy_utf8(char *dst, size_t cap, const char *src, size_t n) {
    if (n >= cap) {
        n = cap - 1;
        while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80) n--;
    }
    memcpy(dst, src, n);
    dst[n] = 0;
}

/* ----------------------------------------------------------------- scalars */

/* One value to apply: a YAML node, with where it came from. */
typedef struct {
    yaml_document_t *doc;
    yaml_node_t *node;
    const char *source;   /* file name or "--set" */
    int line;             /* 1-based, 0 = none */
} Value;

static int fail_at(AlbError *err, const char *source, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail_at(AlbError *err, const char *source, int line, const char *fmt, ...) {
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (line > 0) return alb_fail(err, "%s:%d: %s", source, line, msg);
    return alb_fail(err, "%s: %s", source, msg);
}

static int is_scalar(const Value *v) { return v->node->type == YAML_SCALAR_NODE; }
static const char *scalar(const Value *v) { return (const char *)v->node->data.scalar.value; }
static int is_plain(const Value *v) { return v->node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE; }

static int is_null(const Value *v) {
    if (!is_scalar(v) || !is_plain(v)) return 0;
    const char *s = scalar(v);
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL");
}

/* YAML 1.1 booleans, as PyYAML reads them. */
static int parse_bool(const char *s, int *out) {
    static const char *yes[] = {"true", "yes", "on"}, *no[] = {"false", "no", "off"};
    for (int i = 0; i < 3; i++) {
        if (!strcasecmp(s, yes[i])) { *out = 1; return 0; }
        if (!strcasecmp(s, no[i])) { *out = 0; return 0; }
    }
    return -1;
}

static int parse_int64(const char *s, long long *out) {
    if (!*s || isspace((unsigned char)*s)) return -1;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*end || errno) return -1;
    *out = v;
    return 0;
}

/* A finite decimal number: digits, sign, point, exponent (no hex, inf, nan). */
static int parse_double(const char *s, double *out) {
    if (!*s) return -1;
    for (const char *p = s; *p; p++)
        if (!strchr("0123456789+-.eE", *p)) return -1;
    char *end;
    double v = strtod(s, &end);
    if (*end || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

static void put(char *buf, size_t cap, size_t *len, const char *s) {
    size_t n = strlen(s);
    if (*len + n >= cap) n = cap - 1 - *len;
    memcpy(buf + *len, s, n);
    *len += n;
    buf[*len] = 0;
}

/* The value as YAML text, for the not-applicable notes (flow style, bounded). */
static void render(yaml_document_t *doc, yaml_node_t *node, char *buf, size_t cap, size_t *len, int depth) {
#define PUT(s) put(buf, cap, len, s)
    if (!node || depth > 4 || *len + 1 >= cap) { PUT("..."); return; }
    if (node->type == YAML_SCALAR_NODE) {
        PUT((const char *)node->data.scalar.value);
    } else if (node->type == YAML_SEQUENCE_NODE) {
        PUT("[");
        for (yaml_node_item_t *it = node->data.sequence.items.start; it < node->data.sequence.items.top; it++) {
            if (it != node->data.sequence.items.start) PUT(", ");
            render(doc, yaml_document_get_node(doc, *it), buf, cap, len, depth + 1);
            if (*len + 1 >= cap) break;
        }
        PUT("]");
    } else {
        PUT("{");
        for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top; p++) {
            if (p != node->data.mapping.pairs.start) PUT(", ");
            render(doc, yaml_document_get_node(doc, p->key), buf, cap, len, depth + 1);
            PUT(": ");
            render(doc, yaml_document_get_node(doc, p->value), buf, cap, len, depth + 1);
            if (*len + 1 >= cap) break;
        }
        PUT("}");
    }
#undef PUT
}

/* ------------------------------------------------------------------- apply */

static int add_source(TrainConfig *c, const char *name, AlbError *err) {
    for (int i = 0; i < c->origin.n_sources; i++)
        if (!strcmp(c->origin.sources[i], name)) return i;
    if (c->origin.n_sources == TC_MAX_SOURCES)
        return alb_fail(err, "%s: too many configuration files (at most %d)", name, TC_MAX_SOURCES - 1);
    if (set_str(c->origin.sources[c->origin.n_sources], name))
        return alb_fail(err, "configuration file name too long");
    return c->origin.n_sources++;
}

static void note(TrainConfig *c, const KeySpec *spec, const char *key, const Value *v) {
    int i = 0;
    while (i < c->n_not_applicable && strcmp(c->not_applicable[i].key, key)) i++;
    if (i == TC_MAX_NOT_APPLICABLE) return; /* more wandb_* keys than slots: they do nothing anyway */
    if (i == c->n_not_applicable) c->n_not_applicable++;
    TrainConfigNote *n = &c->not_applicable[i];
    copy_utf8(n->key, sizeof n->key, key, strlen(key));
    char text[sizeof n->value];
    size_t len = 0;
    text[0] = 0;
    render(v->doc, v->node, text, sizeof text, &len, 0);
    copy_utf8(n->value, sizeof n->value, text, len);
    n->reason = spec->reason;
}

static int in_choices(const char *choices, const char *s, int ignore_case) {
    size_t n = strlen(s);
    for (const char *p = choices; *p;) {
        const char *e = strchr(p, ',');
        size_t m = e ? (size_t)(e - p) : strlen(p);
        if (m == n && (ignore_case ? !strncasecmp(p, s, n) : !strncmp(p, s, n))) return 1;
        p += m + (e != NULL);
    }
    return 0;
}

/* Reads v into the key's field, checking type and range. */
static int apply(TrainConfig *c, int k, const char *key, const KeySpec *spec, const Value *v, AlbError *err) {
    const char *src = v->source;
    int line = v->line;
    char b1[ALB_SHOWN_SIZE];
    char *field = (char *)c + spec->offset;

    if (spec->kind == K_NOTE) {
        if (spec->choices && (!is_scalar(v) || !in_choices(spec->choices, scalar(v), 0)))
            return fail_at(err, src, line, "%s must be '%s' (the only one supported), got '%s'", key,
                           spec->choices, is_scalar(v) ? alb_shown(scalar(v), b1) : "a list or mapping");
        note(c, spec, key, v);
        return 0;
    }
    if (!is_scalar(v)) return fail_at(err, src, line, "%s: expected a single value, got a list or mapping", key);
    const char *s = scalar(v);
    if (is_null(v) && spec->kind != K_STR)
        return fail_at(err, src, line, "%s: a value is required", key);

    switch (spec->kind) {
    case K_STR:
        if (set_str(field, is_null(v) ? "" : s))
            return fail_at(err, src, line, "%s: value longer than %d bytes", key, TC_STR - 1);
        break;
    case K_BOOL:
        if (parse_bool(s, (int *)field))
            return fail_at(err, src, line, "%s: expected true or false, got '%s'", key, alb_shown(s, b1));
        break;
    case K_PROGRESS:
        if (!strcasecmp(s, "auto")) *(int *)field = -1;
        else if (parse_bool(s, (int *)field))
            return fail_at(err, src, line, "%s: expected true, false or auto, got '%s'", key, alb_shown(s, b1));
        break;
    case K_INT:
    case K_INT64: {
        long long x;
        if (parse_int64(s, &x))
            return fail_at(err, src, line, "%s: expected an integer, got '%s'", key, alb_shown(s, b1));
        if ((double)x < spec->min) return fail_at(err, src, line, "%s must be >= %.0f, got %lld", key, spec->min, x);
        if ((double)x > spec->max) return fail_at(err, src, line, "%s must be <= %.0f, got %lld", key, spec->max, x);
        if (spec->kind == K_INT) *(int *)field = (int)x;
        else *(int64_t *)field = x;
        break;
    }
    case K_FLOAT: {
        double x;
        if (parse_double(s, &x))
            return fail_at(err, src, line, "%s: expected a number, got '%s'", key, alb_shown(s, b1));
        if (x < spec->min) return fail_at(err, src, line, "%s must be >= %g, got %g", key, spec->min, x);
        if (x > spec->max) return fail_at(err, src, line, "%s must be <= %g, got %g", key, spec->max, x);
        *(double *)field = x;
        break;
    }
    case K_DTYPE:
        if (alb_dtype_parse(s, &c->dtype))
            return fail_at(err, src, line, "dtype must be one of " ALB_DTYPE_CHOICES " (or torch.float32, "
                                           "torch.bfloat16); got '%s'", alb_shown(s, b1));
        break;
    case K_CHOICE: {
        int ignore_case = !strcmp(key, "log_level");
        if (!in_choices(spec->choices, s, ignore_case)) {
            char list[128];
            snprintf(list, sizeof list, "%s", spec->choices);
            for (char *p = list; (p = strchr(p, ',')); ) { memmove(p + 1, p, strlen(p) + 1); p[1] = ' '; p += 2; }
            return fail_at(err, src, line, "%s must be one of %s; got '%s'", key, list, alb_shown(s, b1));
        }
        set_str(field, !strcmp(s, "eval/loss") ? "val/loss" : s);
        if (ignore_case)
            for (char *p = field; *p; p++) *p = (char)toupper((unsigned char)*p);
        break;
    }
    case K_NOTE:
        break;
    }
    int canonical = k;
    while (KEYS[canonical].alias) canonical--;
    int sidx = add_source(c, src, err);
    if (sidx < 0) return -1;
    c->origin.source[canonical] = (signed char)sidx;
    c->origin.line[canonical] = line;
    return 0;
}

/* Applies one "key: value" (key already a string). seen[] catches duplicates within a mapping. */
static int apply_key(TrainConfig *c, const char *key, Value *v, int *seen, AlbError *err) {
    char b1[ALB_SHOWN_SIZE];
    int k = find_key(key);
    const KeySpec *spec = k >= 0 ? &KEYS[k] : NULL;
    if (!spec && !strncmp(key, "wandb_", 6)) spec = &WANDB_ANY;
    if (!spec) {
        const char *near = nearest_key(key);
        if (near)
            return fail_at(err, v->source, v->line, "unknown key '%s' (did you mean '%s'?)", alb_shown(key, b1), near);
        return fail_at(err, v->source, v->line, "unknown key '%s'", alb_shown(key, b1));
    }
    if (k >= 0 && seen) {
        if (seen[k]) return fail_at(err, v->source, v->line, "duplicate key '%s' (first set at line %d)", key, seen[k]);
        seen[k] = v->line > 0 ? v->line : 1;
    }
    return apply(c, k, key, spec, v, err);
}

/* A mapping of keys; test_config (allowed at the top only) is applied after the rest. */
static int apply_mapping(TrainConfig *c, yaml_document_t *doc, yaml_node_t *map, const char *source, int top,
                         AlbError *err) {
    int seen[TC_MAX_KEYS] = {0};
    yaml_node_t *test_config = NULL;
    int test_config_line = 0;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(doc, p->key);
        int line = strcmp(source, "--set") ? (int)kn->start_mark.line + 1 : 0;
        Value v = {doc, yaml_document_get_node(doc, p->value), source, line};
        if (kn->type != YAML_SCALAR_NODE)
            return fail_at(err, source, v.line, "a key must be a plain name, not a list or mapping");
        const char *key = (const char *)kn->data.scalar.value;
        if (!top && !strcmp(key, TEST_CONFIG_KEY))
            return fail_at(err, source, v.line, "test_config inside test_config");
        if (top && !strcmp(key, TEST_CONFIG_KEY)) {
            if (test_config) return fail_at(err, source, v.line, "duplicate key 'test_config' (first set at line %d)", test_config_line);
            if (v.node->type != YAML_MAPPING_NODE && !is_null(&v))
                return fail_at(err, source, v.line, "test_config: expected a mapping of key: value");
            test_config = v.node;
            test_config_line = v.line;
            continue;
        }
        if (apply_key(c, key, &v, seen, err)) return -1;
    }
    if (test_config && test_config->type == YAML_MAPPING_NODE)
        return apply_mapping(c, doc, test_config, source, 0, err);
    return 0;
}

/* Parses one YAML document from memory; root is NULL for an empty document. */
static int load_document(yaml_document_t *doc, const char *text, size_t len, const char *name, AlbError *err) {
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) return alb_fail(err, "%s: cannot start the YAML parser", name);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    int ok = yaml_parser_load(&parser, doc);
    if (!ok) {
        char b1[ALB_SHOWN_SIZE];
        int line = (int)(parser.problem_mark.line + 1);
        fail_at(err, name, line, "invalid YAML: %s", alb_shown(parser.problem ? parser.problem : "?", b1));
        yaml_parser_delete(&parser);
        return -1;
    }
    /* A second document in the same file is a mistake, not something to ignore. */
    yaml_document_t next;
    int more = 0;
    if (yaml_parser_load(&parser, &next)) {
        more = yaml_document_get_root_node(&next) != NULL;
        yaml_document_delete(&next);
    }
    yaml_parser_delete(&parser);
    if (more) {
        yaml_document_delete(doc);
        return alb_fail(err, "%s: more than one YAML document", name);
    }
    return 0;
}

/* -------------------------------------------------------------------- API */

void train_config_defaults(TrainConfig *c) {
    memset(c, 0, sizeof *c);
    set_str(c->dataset_id, "mteb/banking77");
    set_str(c->labels_file, "labels.txt");
    set_str(c->text_field, "text");
    set_str(c->label_field, "label");
    set_str(c->label_text_field, "label_text");
    c->shuffle = 1;
    set_str(c->model_name, "albert/albert-base-v2");
    c->max_length = 128;
    c->num_labels = 77;
    c->mlp_hidden_size = 256;
    c->dtype = ALB_BF16;
    c->learning_rate = 1e-3;
    c->weight_decay = 0.01;
    c->batch_size = 8;
    c->gradient_accumulation_steps = 1;
    c->num_epochs = 5;
    set_str(c->optim, "adamw_torch");
    c->seed = 23;
    set_str(c->log_level, "INFO");
    c->steps_freq = 10;
    c->val_steps_freq = 25;
    c->epoch_freq = 1;
    c->progress = -1;
    set_str(c->resume_option, "last");
    set_str(c->checkpoint_metric, "val/loss");
    set_str(c->checkpoint_metric_mode, "min");
    c->keep_last_n = 3;
    c->keep_best_n = 1;
    set_str(c->save_strategy, "epoch");
    set_str(c->project_dir, "blacksmith/experiments/torch/albert");
    set_str(c->origin.sources[0], "defaults");
    c->origin.n_sources = 1;
}

int train_config_parse(TrainConfig *c, const char *yaml, size_t len, const char *name, AlbError *err) {
    yaml_document_t doc;
    if (load_document(&doc, yaml, len, name, err)) return -1;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    int rc = 0;
    if (root) {
        Value v = {&doc, root, name, (int)root->start_mark.line + 1};
        if (root->type == YAML_MAPPING_NODE) rc = apply_mapping(c, &doc, root, name, 1, err);
        else if (!is_null(&v)) rc = fail_at(err, name, v.line, "expected a mapping of key: value at the top level");
    }
    yaml_document_delete(&doc);
    return rc;
}

int train_config_load(TrainConfig *c, const char *path, AlbError *err) {
    char *text;
    size_t len;
    if (alb_read_file(path, &text, &len, err)) return -1;
    int rc = train_config_parse(c, text, len, path, err);
    free(text);
    return rc;
}

int train_config_set(TrainConfig *c, const char *assignment, AlbError *err) {
    char b1[ALB_SHOWN_SIZE];
    const char *eq = strchr(assignment, '=');
    if (!eq || eq == assignment)
        return alb_fail(err, "--set: expected key=value, got '%s'", alb_shown(assignment, b1));
    size_t klen = (size_t)(eq - assignment);
    char key[128];
    if (klen >= sizeof key) return alb_fail(err, "--set: key too long");
    memcpy(key, assignment, klen);
    key[klen] = 0;
    const char *k = key;
    if (!strncmp(k, "test_config.", 12)) k += 12;

    yaml_document_t doc;
    if (load_document(&doc, eq + 1, strlen(eq + 1), "--set", err)) return -1;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    int rc;
    if (!root) {
        /* "key=" is an empty (null) value */
        yaml_document_delete(&doc);
        yaml_document_initialize(&doc, NULL, NULL, NULL, 1, 1);
        int id = yaml_document_add_scalar(&doc, NULL, (yaml_char_t *)"", 0, YAML_PLAIN_SCALAR_STYLE);
        root = yaml_document_get_node(&doc, id);
    }
    Value v = {&doc, root, "--set", 0};
    if (!strcmp(k, TEST_CONFIG_KEY))
        rc = root->type == YAML_MAPPING_NODE ? apply_mapping(c, &doc, root, "--set", 0, err)
                                             : alb_fail(err, "--set: test_config: expected a mapping like {max_steps_per_epoch: 10}");
    else
        rc = apply_key(c, k, &v, NULL, err);
    yaml_document_delete(&doc);
    return rc;
}

static int fail_key(const TrainConfig *c, const char *key, AlbError *err, const char *msg) {
    int k = find_key(key);
    return fail_at(err, c->origin.sources[c->origin.source[k]], c->origin.line[k], "%s", msg);
}

int train_config_validate(TrainConfig *c, AlbError *err) {
    if (c->resume_from_checkpoint && !strcmp(c->resume_option, "path") && !c->checkpoint_path[0])
        return fail_key(c, "resume_option", err,
                        "resume_option is 'path' but checkpoint_path is empty (needed to resume from a path)");
    if ((c->sync_to_storage || c->load_from_storage) && !c->remote_path[0])
        return fail_key(c, c->sync_to_storage ? "sync_to_storage" : "load_from_storage", err,
                        "sync_to_storage / load_from_storage need remote_path (the mirror directory)");
    if (c->gradient_accumulation_steps > 1 && c->max_steps_per_epoch > 0 &&
        c->max_steps_per_epoch < c->gradient_accumulation_steps)
        return fail_key(c, "max_steps_per_epoch", err,
                        "max_steps_per_epoch is smaller than gradient_accumulation_steps: no update would happen");
    if (!c->cache_dir[0]) {
        char dir[2 * TC_STR];
        if (feature_cache_default_dir(dir, sizeof dir)) snprintf(dir, sizeof dir, "%s/cache", c->project_dir);
        if (set_str(c->cache_dir, dir)) return alb_fail(err, "cache_dir: path too long: %.60s...", dir);
    }
    return 0;
}

int train_config_build(TrainConfig *c, const char *path, const char *test_config,
                       const char *const *sets, int n_sets, AlbError *err) {
    train_config_defaults(c);
    if (path && train_config_load(c, path, err)) return -1;
    if (test_config && train_config_load(c, test_config, err)) return -1;
    for (int i = 0; i < n_sets; i++)
        if (train_config_set(c, sets[i], err)) return -1;
    return train_config_validate(c, err);
}

DatasetSplits train_config_splits(const TrainConfig *c) {
    return (DatasetSplits){c->data_dir, c->dataset_id, c->train_file, c->eval_file, c->labels_file,
                           {DATA_AUTO, c->text_field, c->label_field, c->label_text_field, NULL, c->skip_bad_rows}};
}

/* ------------------------------------------------------------- json, print */

void train_config_describe_note(const TrainConfigNote *n, char *buf, size_t size) {
    snprintf(buf, size, "%s: %s: not applicable here (%s)", n->key, n->value, n->reason);
}

static json_t *value_json(const TrainConfig *c, const KeySpec *k) {
    const char *field = (const char *)c + k->offset;
    switch (k->kind) {
    case K_STR:
    case K_CHOICE: return json_string(field);
    case K_INT: return json_integer(*(const int *)field);
    case K_INT64: return json_integer(*(const int64_t *)field);
    case K_FLOAT: return json_real(*(const double *)field);
    case K_BOOL: return json_boolean(*(const int *)field);
    case K_DTYPE: return json_string(alb_dtype_name(c->dtype));
    case K_PROGRESS: return c->progress < 0 ? json_string("auto") : json_boolean(c->progress);
    case K_NOTE: break;
    }
    return json_null();
}

json_t *train_config_to_json(const TrainConfig *c) {
    json_t *o = json_object();
    for (int i = 0; i < N_KEYS; i++) {
        if (KEYS[i].kind == K_NOTE || KEYS[i].alias) continue;
        json_t *v = value_json(c, &KEYS[i]);
        json_object_set_new(o, KEYS[i].name, v ? v : json_null());
    }
    json_t *na = json_object();
    for (int i = 0; i < c->n_not_applicable; i++) {
        const TrainConfigNote *n = &c->not_applicable[i];
        json_t *value = json_string(n->value);
        json_object_set_new(na, n->key, json_pack("{s:o,s:s}", "value", value ? value : json_null(), "reason", n->reason));
    }
    json_object_set_new(o, "not_applicable", na);
    return o;
}

/* A string as a YAML double-quoted scalar: JSON's escapes are YAML's too. */
static void print_quoted(FILE *fp, const char *s) {
    json_t *j = json_string(s);
    char *text = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
    fputs(text ? text : "\"\"", fp);  /* only a string that is not UTF-8 has no JSON form */
    free(text);
    json_decref(j);
}

/* The shortest decimal that reads back as the same double. */
static void print_double(FILE *fp, double x) {
    char buf[32];
    for (int digits = 1; digits <= 17; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, x);
        if (strtod(buf, NULL) == x) break;
    }
    fputs(buf, fp);
}

void train_config_print(const TrainConfig *c, FILE *fp) {
    for (int i = 0; i < N_KEYS; i++) {
        const KeySpec *k = &KEYS[i];
        if (k->kind == K_NOTE || k->alias) continue;
        const char *field = (const char *)c + k->offset;
        fprintf(fp, "%s: ", k->name);
        switch (k->kind) {
        case K_STR:
        case K_CHOICE: print_quoted(fp, field); break;
        case K_INT: fprintf(fp, "%d", *(const int *)field); break;
        case K_INT64: fprintf(fp, "%lld", (long long)*(const int64_t *)field); break;
        case K_FLOAT: print_double(fp, *(const double *)field); break;
        case K_BOOL: fputs(*(const int *)field ? "true" : "false", fp); break;
        case K_DTYPE: fputs(alb_dtype_name(c->dtype), fp); break;
        case K_PROGRESS: fputs(c->progress < 0 ? "auto" : c->progress ? "true" : "false", fp); break;
        case K_NOTE: break;
        }
        fputc('\n', fp);
    }
}
