#include "pipeline/classifier.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/hub.h"
#include "pipeline/encode.h"
#include "pipeline/feature_cache.h"
#include "util/atomic_dir.h"
#include "util/dist.h"
#include "util/fileio.h"

/* Rows per head forward: bounds the head's activation buffers. */
#define HEAD_CHUNK 256

static const char *const TOKENIZER_EXTRAS[] = {"tokenizer.json", "tokenizer_config.json"};

/* ------------------------------------------------------------------ loading */

/* id2label {"0": name, ...} -> labels[0..n); every id once. */
static int read_labels(ClassifierConfig *cc, json_t *id2label, const char *name, AlbError *err) {
    int n = (int)json_object_size(id2label);
    if (!json_is_object(id2label) || n < 2 || n > (1 << 20))
        return alb_fail(err, "%s: id2label must map the ids 0..N-1 (N >= 2) to label names", name);
    cc->labels = alb_xcalloc((size_t)n, sizeof(char *));
    cc->num_labels = n;
    for (int i = 0; i < n; i++) {
        char key[16];
        snprintf(key, sizeof key, "%d", i);
        json_t *label = json_object_get(id2label, key);
        if (!json_is_string(label) || !json_string_length(label))
            return alb_fail(err, "%s: id2label has no name for id %d", name, i);
        cc->labels[i] = alb_xstrdup(json_string_value(label));
    }
    return 0;
}

/* The "albertc" block: format, head, dtype, max_length; and the labels. */
static int read_block(ClassifierConfig *cc, json_t *config, json_t *block, const char *name, AlbError *err) {
    json_t *version = json_object_get(block, "format_version"), *head = json_object_get(block, "head");
    json_t *max_length = json_object_get(block, "max_length"), *dtype = json_object_get(block, "dtype");
    json_t *hidden = json_object_get(head, "hidden_size"), *engine = json_object_get(block, "engine");
    AlbDtype dt;
    if (!json_is_object(block) || json_integer_value(version) != CLASSIFIER_FORMAT_VERSION)
        return alb_fail(err, "%s: albertc.format_version is not %d", name, CLASSIFIER_FORMAT_VERSION);
    if (!json_is_object(head) || !json_is_integer(max_length) || !json_is_string(dtype) ||
        alb_dtype_parse(json_string_value(dtype), &dt))
        return alb_fail(err, "%s: the albertc block needs head, max_length and dtype (" ALB_DTYPE_CHOICES ")", name);
    if (json_integer_value(max_length) < 2 || json_integer_value(max_length) > (1 << 20))
        return alb_fail(err, "%s: albertc.max_length must be an integer in [2, 2^20]", name);
    if (hidden && (!json_is_integer(hidden) || json_integer_value(hidden) < 1))
        return alb_fail(err, "%s: albertc.head.hidden_size must be a positive integer", name);
    if (engine && (!json_is_string(engine) || json_string_length(engine) >= sizeof cc->engine))
        return alb_fail(err, "%s: albertc.engine must be a string of at most %zu bytes", name, sizeof cc->engine - 1);
    if (engine) snprintf(cc->engine, sizeof cc->engine, "%s", json_string_value(engine));
    cc->has_head = 1;
    cc->max_length = (int)json_integer_value(max_length);
    snprintf(cc->dtype, sizeof cc->dtype, "%s", alb_dtype_name(dt));
    cc->random_encoder = json_is_true(json_object_get(block, "random_encoder"));
    cc->head_hidden = (long)json_integer_value(hidden);
    return read_labels(cc, json_object_get(config, "id2label"), name, err);
}

int classifier_config_parse(ClassifierConfig *cc, const char *json, size_t len, const char *name, AlbError *err) {
    memset(cc, 0, sizeof *cc);
    snprintf(cc->dtype, sizeof cc->dtype, "float32");
    json_error_t jerr;
    json_t *config = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    json_t *block = json_object_get(config, "albertc");
    int rc = 0;
    char shown[ALB_SHOWN_SIZE];
    if (!json_is_object(config)) rc = alb_fail(err, "%s:%d: invalid JSON: %s", name, jerr.line, alb_shown(jerr.text, shown));
    else if (block) rc = read_block(cc, config, block, name, err);
    json_decref(config);
    if (rc) classifier_config_free(cc);
    return rc;
}

void classifier_config_free(ClassifierConfig *cc) {
    for (int i = 0; i < cc->num_labels; i++) free(cc->labels[i]);
    free(cc->labels);
    memset(cc, 0, sizeof *cc);
}

/* The head's tensors in model.safetensors, whose shapes must agree with config.json. */
static int load_head(Classifier *c, AlbDtype dtype, AlbError *err) {
    char weights[4200];
    snprintf(weights, sizeof weights, "%s/model.safetensors", c->dir);
    if (head_create_from_file(&c->head, weights, alb_head_dtype(dtype) == ALB_BF16, HEAD_CHUNK, err)) return -1;
    c->has_head = 1;
    const AlbertConfig *ac = albert_config(c->encoder);
    long mlp = c->config.head_hidden;
    if (c->head.classes != c->config.num_labels || c->head.hidden != ac->hidden_size || (mlp && mlp != c->head.mlp))
        return alb_fail(err, "%s: the head's tensors ([%d,%d] -> %d labels) disagree with config.json (hidden %d, %d "
                             "labels, head hidden_size %ld)",
                        weights, c->head.hidden, c->head.mlp, c->head.classes, ac->hidden_size, c->config.num_labels,
                        mlp);
    return 0;
}

int classifier_load(Classifier *c, const char *dir_or_id, const char *dtype, int need_head, AlbError *err) {
    memset(c, 0, sizeof *c);
    if (hub_resolve(dir_or_id, "models", c->dir, sizeof c->dir, err)) return -1;
    char path[4200];
    snprintf(path, sizeof path, "%s/config.json", c->dir);
    char *json;
    size_t len;
    if (alb_read_file(path, &json, &len, err)) return -1;
    int rc = classifier_config_parse(&c->config, json, len, path, err);
    free(json);
    if (rc) return -1;
    ClassifierConfig *cc = &c->config;
    AlbDtype dt;
    if (!dtype) dtype = cc->dtype;
    rc = -1;
    if (need_head && !cc->has_head)
        alb_fail(err, "%s: a plain encoder, not a classifier (no \"albertc\" head block): train one with albertc "
                      "train, or export a checkpoint with albertc export", path);
    else if (alb_dtype_parse(dtype, &dt))
        alb_fail(err, "dtype '%s' is not one of " ALB_DTYPE_CHOICES, dtype);
    else if (albert_load(&c->encoder, c->dir, dt, err) == 0) {
        snprintf(c->spiece_path, sizeof c->spiece_path, "%s/spiece.model", c->dir);
        if (tokenizer_load(&c->tok, c->spiece_path, err) == 0) rc = cc->has_head ? load_head(c, dt, err) : 0;
    }
    int max_position = c->encoder ? albert_config(c->encoder)->max_position_embeddings : 0;
    if (!rc && cc->max_length > max_position)
        rc = alb_fail(err, "%s: albertc.max_length %d exceeds max_position_embeddings %d", path, cc->max_length,
                      max_position);
    if (!rc) {
        c->max_length = cc->max_length ? cc->max_length : max_position;
        c->num_labels = cc->num_labels;
        c->labels = cc->labels;
        c->random_encoder = cc->random_encoder;
    } else {
        classifier_free(c);
    }
    return rc;
}

void classifier_free(Classifier *c) {
    if (c->encoder) albert_free(c->encoder);
    if (c->tok) tokenizer_free(c->tok);
    if (c->has_head) head_free(&c->head);
    classifier_config_free(&c->config);
    memset(c, 0, sizeof *c);
}

int classifier_engine_mismatch(const Classifier *c, char *msg, size_t size) {
    const char *trained = c->config.engine, *here = albert_engine(c->encoder);
    if (!trained[0] || !strcmp(trained, here)) return 0;
    AlbDtype then, now;
    if (!alb_engine_dtype(trained, &then) && !alb_engine_dtype(here, &now) && then != now)
        snprintf(msg, size, "this classifier was trained on features from %s; this machine computes %s: another "
                            "dtype, predictions may differ where scores are close (--dtype %s is the training's)",
                 trained, here, alb_dtype_name(then));
    else
        snprintf(msg, size, "this classifier was trained on features from %s; this machine computes %s: "
                            "predictions may differ in rare near-ties", trained, here);
    return 1;
}

/* -------------------------------------------------------------- inference */

/* The bar of classifier_features through the cache, which reports the texts
 * done of those it encodes (without the cache: encode_progress_batch). */
static void cache_progress(void *ctx, int done, int total, long tokens, double seconds) {
    (void)tokens, (void)seconds;
    Progress *bar = ctx;
    bar->total = total;
    progress_update(bar, done);
}

static int cached_features(Classifier *c, const char *const *texts, int n, const char *cache_dir, float *features,
                           Progress *bar, AlbError *err) {
    FeatureCacheOptions o = {.cache_dir = cache_dir, .model = c->encoder, .tok = c->tok, .max_length = c->max_length,
                             .batch_size = ENCODE_BATCH, .max_tokens = ENCODE_TOKENS, .save_every_s = 60.0,
                             .progress = bar ? cache_progress : NULL, .ctx = bar};
    FeatureCacheResult res;
    FeatureCacheStats stats;
    if (feature_cache_get(&o, texts, n, &res, &stats, err)) return -1;
    if (dist_rank() == 0) feature_cache_gather(&res, 0, n, features);  /* the other ranks get none */
    feature_cache_result_free(&res);
    return 0;
}

int classifier_features(Classifier *c, const char *const *texts, int n, const char *cache_dir, float *features,
                        Progress *bar, AlbError *err) {
    if (cache_dir) return cached_features(c, texts, n, cache_dir, features, bar, err);
    /* in a job each rank tokenizes a share and its own batches, not every text (encode_make_plan) */
    EncodeSeq *seqs = alb_xcalloc((size_t)(n ? n : 1), sizeof *seqs);
    EncodePlan plan;
    EncodeTexts tokenize = {c->tok, texts, NULL, c->max_length, 0};  /* albert_forward checks the ids */
    EncodeProgress p = {bar, 0};
    EncodeOut out = {.cls = features};
    int rc = encode_make_plan(encode_make_text, &tokenize, n, ENCODE_BATCH, ENCODE_TOKENS, seqs, &plan, NULL, err);
    if (!rc) rc = encode_run(c->encoder, seqs, &plan, &out, bar ? encode_progress_batch : NULL, &p, NULL, err);
    encode_seqs_free(seqs, n);
    free(seqs);
    encode_plan_free(&plan);
    return rc;
}

int classifier_features_seqs(Classifier *c, const EncodeSeq *seqs, int n, float *features, AlbError *err) {
    return encode_cls(c->encoder, seqs, n, ENCODE_BATCH, ENCODE_TOKENS, features, NULL, NULL, err);
}

void classifier_head_logits(Classifier *c, const float *features, int n, float *logits) {
    int H = c->head.hidden, C = c->head.classes;
    for (int first = 0; first < n; first += HEAD_CHUNK) {
        int B = n - first < HEAD_CHUNK ? n - first : HEAD_CHUNK;
        head_forward(&c->head, features + (size_t)first * H, B);
        memcpy(logits + (size_t)first * C, c->head.logits, sizeof(float) * (size_t)B * C);
    }
}

typedef struct {
    int id;
    double score;
} Scored;

static int by_score(const void *a, const void *b) {
    const Scored *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

void classifier_label_maps(const char *const *labels, int n, json_t **id2label, json_t **label2id) {
    *id2label = json_object();
    *label2id = json_object();
    for (int i = 0; i < n; i++) {
        char key[16];
        snprintf(key, sizeof key, "%d", i);
        json_object_set_new(*id2label, key, json_string(labels[i]));
        json_object_set_new(*label2id, labels[i], json_integer(i));
    }
}

json_t *classifier_scores_json(const Classifier *c, const float *z, int top_k, int raw_scores) {
    int C = c->num_labels;
    Scored *scored = alb_xmalloc(sizeof(Scored) * (size_t)C);
    double mx = z[0], sum = 0.0;
    for (int j = 1; j < C; j++) mx = z[j] > mx ? z[j] : mx;
    for (int j = 0; j < C; j++) sum += exp(z[j] - mx);
    for (int j = 0; j < C; j++) scored[j] = (Scored){j, raw_scores ? z[j] : exp(z[j] - mx) / sum};
    qsort(scored, (size_t)C, sizeof *scored, by_score);
    int k = top_k == 0 || top_k > C ? C : top_k;
    json_t *answer = json_array();
    for (int j = 0; j < k; j++)
        json_array_append_new(answer, json_pack("{s:s, s:f}", "label", c->labels[scored[j].id], "score",
                                                (double)(float)scored[j].score));
    free(scored);
    return answer;
}

/* ------------------------------------------------------------------ writing */

static int write_config(const ClassifierDirSpec *s, const char *to, AlbError *err) {
    char path[4200];
    snprintf(path, sizeof path, "%s/config.json", s->encoder_dir);
    json_error_t jerr;
    json_t *config = json_load_file(path, 0, &jerr);
    if (!json_is_object(config)) {
        json_decref(config);
        char shown[ALB_SHOWN_SIZE];
        return alb_fail(err, "%s:%d: invalid JSON: %s", path, jerr.line, alb_shown(jerr.text, shown));
    }
    json_t *id2label, *label2id;
    classifier_label_maps(s->labels, s->num_labels, &id2label, &label2id);
    const StTensor *w1 = st_find(s->head, HEAD_TENSOR_NAMES[0]);
    json_t *source = s->source_json ? json_loads(s->source_json, 0, NULL) : NULL;
    json_object_set_new(config, "architectures", json_pack("[s]", "AlbertModel"));
    json_object_set_new(config, "num_labels", json_integer(s->num_labels));
    json_object_set_new(config, "id2label", id2label);
    json_object_set_new(config, "label2id", label2id);
    json_object_set_new(
        config, "albertc",
        json_pack("{s:i, s:{s:s, s:I, s:s, s:[s,s,s,s]}, s:s, s:s, s:i, s:s, s:s, s:b, s:o}", "format_version",
                  CLASSIFIER_FORMAT_VERSION, "head", "input", "cls", "hidden_size", (json_int_t)w1->shape[0],
                  "activation", "gelu", "tensors", HEAD_TENSOR_NAMES[0], HEAD_TENSOR_NAMES[1], HEAD_TENSOR_NAMES[2],
                  HEAD_TENSOR_NAMES[3], "dtype", s->dtype, "engine", s->engine ? s->engine : "", "max_length",
                  s->max_length, "encoder_id",
                  s->encoder_id ? s->encoder_id : "", "encoder_hash", s->encoder_hash ? s->encoder_hash : "",
                  "random_encoder", s->random_encoder, "source", source ? source : json_object()));
    return alb_write_json(to, config, JSON_INDENT(2) | JSON_SORT_KEYS, err);
}

/* The encoder's own tensors under hub names ("albert." + embeddings / encoder
 * / pooler), borrowed from its file; anything else (an MLM head) is left out. */
static void add_encoder_tensors(StWriter *w, const SafeTensors *st, char ***names, int *n_names) {
    static const char *const parts[] = {"embeddings.", "encoder.", "pooler."};
    for (int i = 0; i < st->n_tensors; i++) {
        const StTensor *t = &st->tensors[i];
        const char *base = strncmp(t->name, "albert.", 7) ? t->name : t->name + 7;
        for (size_t p = 0; p < sizeof parts / sizeof *parts; p++) {
            if (strncmp(base, parts[p], strlen(parts[p]))) continue;
            size_t len = strlen(base) + 8;
            char *name = alb_xmalloc(len);
            snprintf(name, len, "albert.%s", base);
            st_writer_add_borrowed(w, name, t->dtype, t->ndim, t->shape, t->data);
            *names = alb_xrealloc(*names, sizeof(char *) * (size_t)(*n_names + 1));
            (*names)[(*n_names)++] = name;
        }
    }
}

static int write_weights(const ClassifierDirSpec *s, const char *to, AlbError *err) {
    char path[4200];
    snprintf(path, sizeof path, "%s/model.safetensors", s->encoder_dir);
    SafeTensors st;
    if (st_open(&st, path, err)) return -1;
    StWriter *w = st_writer_new();
    char **names = NULL;
    int n_names = 0, rc = 0;
    add_encoder_tensors(w, &st, &names, &n_names);
    for (int i = 0; i < HEAD_N_TENSORS && !rc; i++) {
        const StTensor *t = st_find(s->head, HEAD_TENSOR_NAMES[i]);
        if (!t) rc = alb_fail(err, "%s: no tensor %s", s->head->path, HEAD_TENSOR_NAMES[i]);
        else st_writer_add_borrowed(w, t->name, t->dtype, t->ndim, t->shape, t->data);
    }
    st_writer_set_meta(w, "format", "pt");
    if (!rc) rc = st_writer_save(w, to, err);
    st_writer_free(w);
    for (int i = 0; i < n_names; i++) free(names[i]);
    free(names);
    st_close(&st);
    return rc;
}

int classifier_dir_write(const ClassifierDirSpec *s, const char *out_dir, AlbError *err) {
    if (!st_find(s->head, HEAD_TENSOR_NAMES[0]))
        return alb_fail(err, "%s: no tensor %s: not a classification head", s->head->path, HEAD_TENSOR_NAMES[0]);
    AtomicDir d;
    if (atomic_dir_open(&d, out_dir, err)) return -1;
    const char *names[] = {"config.json", "model.safetensors", "spiece.model"};
    char *files[3];
    for (int i = 0; i < 3; i++) files[i] = atomic_dir_file(&d, names[i]);
    int rc = write_config(s, files[0], err) || write_weights(s, files[1], err) ||
             alb_copy_file(s->spiece_path, files[2], err);
    for (size_t i = 0; !rc && i < sizeof TOKENIZER_EXTRAS / sizeof *TOKENIZER_EXTRAS; i++) {
        char *from = alb_path_join(s->encoder_dir, TOKENIZER_EXTRAS[i]), *to = atomic_dir_file(&d, TOKENIZER_EXTRAS[i]);
        if (alb_file_exists(from)) rc = alb_copy_file(from, to, err);
        free(from);
        free(to);
    }
    for (int i = 0; i < 3; i++) free(files[i]);
    if (rc) {
        atomic_dir_abort(&d);
        return -1;
    }
    return atomic_dir_commit(&d, err);
}
