/* ALBERT config.json: every field the forward pass uses.
 *
 * Absent fields take the Hugging Face AlbertConfig defaults (those are the
 * xxlarge values: hidden 4096, 64 heads, intermediate 16384, ...). Values the
 * forward pass cannot honour (another hidden_act, groups that do not divide
 * the layers, heads that do not divide hidden_size) and sizes beyond this
 * program's bounds are rejected by name. */
#ifndef ALB_MODEL_CONFIG_H
#define ALB_MODEL_CONFIG_H

#include "util/error.h"

typedef struct {
    int vocab_size;
    int embedding_size;
    int hidden_size;
    int num_hidden_layers;
    int num_hidden_groups;
    int num_attention_heads;
    int intermediate_size;
    int inner_group_num;
    int max_position_embeddings;
    int type_vocab_size;
    int pad_token_id;
    float layer_norm_eps;
    float initializer_range;
    char hidden_act[32];  /* "gelu_new" = "gelu_pytorch_tanh" (tanh form); "gelu" (exact erf); "relu" */
} AlbertConfig;

void albert_config_defaults(AlbertConfig *c);
/* Built-in geometries for init-model: "base" (albert-base-v2) and "tiny". */
int albert_config_preset(AlbertConfig *c, const char *name);  /* -1: unknown name */
/* Every integer within this program's bound (config.c: far above any
 * published ALBERT), the geometry consistent, at most ALBERT_MAX_PARAMETERS
 * weights; one error naming path, the key and the bound otherwise. */
#define ALBERT_MAX_PARAMETERS (1LL << 32)
int albert_config_check(const AlbertConfig *c, const char *path, AlbError *err);
/* Unknown fields are ignored (HF files carry many); path only names the file in errors. */
int albert_config_parse(AlbertConfig *c, const char *json, size_t len, const char *path, AlbError *err);
int albert_config_load(AlbertConfig *c, const char *path, AlbError *err);
/* What every config must satisfy for the forward pass: each size at least 1,
 * a supported hidden_act, heads dividing hidden_size, groups dividing the
 * layers, pad_token_id inside the vocabulary. The one place these are
 * checked: albert_config_parse ends with it, and albert_load_weights runs it
 * on configs made in code. path names the config in errors. */
int albert_config_check(const AlbertConfig *c, const char *path, AlbError *err);
/* Writes config.json as transformers does (model_type "albert"). */
int albert_config_save(const AlbertConfig *c, const char *path, AlbError *err);

#endif
