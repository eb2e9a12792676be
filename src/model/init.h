/* Random ALBERT weights, initialised as transformers' AlbertPreTrainedModel
 * does: Linear and Embedding weights ~ normal(0, initializer_range), biases 0,
 * LayerNorm weight 1 and bias 0, the word embedding row pad_token_id zeroed.
 *
 * The random numbers are ours (bit-equality with torch's generator is not a
 * goal): xoshiro256** seeded through splitmix64(seed), uniform doubles from
 * the top 53 bits, normals by Box-Muller (both values of each pair used).
 * Tensors are drawn in the fixed order of albert_init_names() below, so a
 * (config, seed) pair always gives the same file. */
#ifndef ALB_MODEL_INIT_H
#define ALB_MODEL_INIT_H

#include <stdint.h>
#include "model/config.h"
#include "util/error.h"

/* Writes model.safetensors at path (atomic), tensor names with the "albert."
 * prefix as on the hub, metadata {"format": "pt"}. */
int albert_init_weights(const AlbertConfig *c, uint64_t seed, const char *path, AlbError *err);

/* A model directory: DIR/config.json, DIR/model.safetensors and, when
 * tokenizer_path is not NULL, a copy of it as DIR/spiece.model (copied as is:
 * the caller checks it). c must pass albert_config_check. The files are
 * written whole in a staging directory (beside a new DIR, inside an existing
 * one), then moved into place: a failure leaves no half-made DIR, and an
 * existing DIR as it was (its other files are kept). */
int albert_init_model_dir(const AlbertConfig *c, uint64_t seed, const char *dir, const char *tokenizer_path,
                          AlbError *err);

#endif
