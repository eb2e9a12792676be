/* The trained text classifier: an ALBERT encoder, its tokenizer, the MLP head
 * on [CLS] and the label names, as one model directory. predict, eval and
 * serve load it; train and export write it.
 *
 * A classifier directory (Hugging Face style, written atomically):
 *   config.json        the encoder's ALBERT config as it was, with
 *                      "architectures": ["AlbertModel"] (what transformers can
 *                      load from it: the head is not one of its classes),
 *                      "num_labels", "id2label", "label2id", and our block
 *                      "albertc": {"format_version", "head": {"input": "cls",
 *                      "hidden_size", "activation": "gelu", "tensors"},
 *                      "dtype" (the encoder's), "engine" (albert_engine of the
 *                      features the head learnt from, "" when unknown),
 *                      "max_length", "encoder_id", "encoder_hash",
 *                      "random_encoder", "source": {...}}
 *   model.safetensors  the encoder's tensors under their hub names
 *                      ("albert." prefix; an MLM head is left out) and the
 *                      head's classifier.{0,2}.{weight,bias}
 *   spiece.model       and tokenizer.json / tokenizer_config.json when the
 *                      encoder's directory has them
 * transformers' AlbertModel.from_pretrained(DIR) loads the encoder from it
 * and ignores the head's tensors. A directory without the "albertc" block is
 * a plain encoder: classifier_load takes it when no head is required.
 *
 * Texts go text -> ids (truncated to max_length as in training) -> length-
 * sorted batches of ENCODE_BATCH sequences / ENCODE_TOKENS padded tokens ->
 * encoder -> [CLS] -> head, the batching train's feature pass uses: the same
 * texts give the same features, bit for bit. */
#ifndef ALB_PIPELINE_CLASSIFIER_H
#define ALB_PIPELINE_CLASSIFIER_H

#include <jansson.h>

#include "io/safetensors.h"
#include "model/albert.h"
#include "model/head.h"
#include "pipeline/encode.h"
#include "tokenizer/tokenizer.h"
#include "util/error.h"
#include "util/progress.h"

#define CLASSIFIER_FORMAT_VERSION 1

/* What config.json says of the classifier, read before anything is loaded. */
typedef struct {
    int has_head;             /* the "albertc" block is there */
    int num_labels;
    char **labels;            /* [num_labels], from id2label */
    int max_length;           /* 0 for a plain encoder */
    char dtype[16];           /* the encoder's: alb_dtype_name's ("float32" for a plain encoder); the head's is alb_head_dtype of it */
    int random_encoder;
    long head_hidden;         /* albertc.head.hidden_size, 0 when absent */
    char engine[64];          /* albertc.engine: the head's features' albert_engine, "" when unknown */
} ClassifierConfig;

/* Any JSON to a ClassifierConfig, or -1 with one line naming `name` (the fuzz
 * target's entry). A config without the albertc block is a plain encoder's. */
int classifier_config_parse(ClassifierConfig *cc, const char *json, size_t len, const char *name, AlbError *err);
void classifier_config_free(ClassifierConfig *cc);

typedef struct {
    char dir[4096];           /* the resolved directory */
    ClassifierConfig config;
    AlbertModel *encoder;
    AlbertTokenizer *tok;
    char spiece_path[4200];
    int has_head;
    Head head;                /* when has_head */
    int num_labels;
    char **labels;            /* [num_labels] (owned by config) */
    int max_length;           /* tokens per text, specials included (may be lowered by the caller) */
    int random_encoder;       /* the encoder was randomly initialised: its predictions mean little */
} Classifier;

/* dir_or_id: a directory or a hub id (model/hub.h). dtype: a name
 * alb_dtype_parse takes, or NULL for the directory's own (a plain encoder:
 * float32). The head runs in alb_head_dtype of it.
 * need_head: a directory without a head is then an error. */
int classifier_load(Classifier *c, const char *dir_or_id, const char *dtype, int need_head, AlbError *err);
void classifier_free(Classifier *c);

/* Whether c's features may differ from those its head learnt from: when the
 * engine the head was trained on (config.engine) is not the one c->encoder
 * computes with (albert_engine: another machine's CPU, another dtype), 1 and
 * msg = one line saying both and what it means, for predict, eval and serve
 * to warn with (they go on: a feature differs from the training's by
 * rounding, which moves a prediction only in a rare near-tie; by more when
 * the dtype differs). 0 when they are the same, and when the recorded engine
 * is unknown ("": a directory written before classifiers recorded it, or a
 * head trained from features files): nothing to compare, and a warning on
 * every run of such a directory would be one nobody can act on. */
int classifier_engine_mismatch(const Classifier *c, char *msg, size_t size);

/* [CLS] features [n, H] of n texts (NUL-terminated UTF-8). cache_dir: look
 * the texts up in the feature cache there and add the missing ones, as train
 * does (pipeline/feature_cache.h: the features train used, bit for bit);
 * NULL: encode every text. bar (NULL: none) shows the texts encoded, of n.
 * Collective under mpirun (util/dist.h): every rank calls it with the same
 * texts, each encodes its share, and only rank 0's features are written. */
int classifier_features(Classifier *c, const char *const *texts, int n, const char *cache_dir, float *features,
                        Progress *bar, AlbError *err);
/* [CLS] features [n, H] of token sequences already made with c->tok and
 * c->max_length (serve tokenizes on its HTTP threads, off the encoder's):
 * the batching classifier_features uses, which calls it. */
int classifier_features_seqs(Classifier *c, const EncodeSeq *seqs, int n, float *features, AlbError *err);
/* logits [n, C] = head(features [n, H]). */
void classifier_head_logits(Classifier *c, const float *features, int n, float *logits);
/* One text's answer as transformers' text-classification pipeline gives it
 * (and predict prints, and serve's /predict returns): [{"label", "score"}, ...]
 * sorted by score (ties: label order), the k best (0: every label); scores a
 * softmax over logits [C], or the logits themselves when raw_scores. */
/* config.json's id2label {"0": name, ...} and label2id {name: 0, ...} (new
 * references), as write_config writes them and serve's /info answers them. */
void classifier_label_maps(const char *const *labels, int n, json_t **id2label, json_t **label2id);
json_t *classifier_scores_json(const Classifier *c, const float *logits, int top_k, int raw_scores);

/* What a classifier directory is made of. */
typedef struct {
    const char *encoder_dir;       /* config.json, model.safetensors (+ tokenizer files) */
    const char *spiece_path;       /* the tokenizer the features were made with */
    const SafeTensors *head;       /* holds classifier.{0,2}.{weight,bias} (a checkpoint) */
    const char *const *labels;
    int num_labels;
    const char *dtype;             /* the encoder's, alb_dtype_name's (the head's: alb_head_dtype of it) */
    const char *engine;            /* albert_engine of the head's features, "" when unknown */
    int max_length;
    const char *encoder_id, *encoder_hash;
    int random_encoder;
    const char *source_json;       /* a JSON object: where the head came from (run, checkpoint, step) */
} ClassifierDirSpec;

/* Writes the directory out_dir atomically: built beside it, then renamed into
 * place (an existing directory is replaced in one step). */
int classifier_dir_write(const ClassifierDirSpec *spec, const char *out_dir, AlbError *err);

#endif
