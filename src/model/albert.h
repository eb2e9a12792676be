/* The ALBERT encoder (Hugging Face AlbertModel, eval mode), forward only.
 *
 * Weights come memory-mapped from model.safetensors (F32 zero-copy; F16/BF16
 * converted once). Names with or without the "albert." prefix. The general
 * grouping is supported: layer l uses group l * num_hidden_groups /
 * num_hidden_layers, and each group holds inner_group_num layers.
 *
 * The linear layers run on model/matmul.h: oneDNN's brgemm matmul, weights
 * reordered once at load (bf16 weights: 2 bytes each), OpenBLAS for float32
 * and bf16 emulation where oneDNN has no brgemm (CPUs without AVX512).
 *
 * dtype ALB_BF16 reproduces torch CPU's model.to(torch.bfloat16): weights and
 * every op's output rounded to bf16 (nearest even), arithmetic in fp32, and
 * LayerNorm's mean/variance computed as torch 1.13 does for bf16 (a Welford
 * recurrence whose every step is rounded to bf16). On AVX512_BF16 the matrix
 * products are native bf16 (vdpbf16ps, fp32 accumulation) in the very
 * oneDNN kernels torch 1.13 uses, the attention products and the softmax
 * sum in torch's order: each text's outputs are torch's bits for that text
 * alone (tests/oracle/check_bf16_torch.sh).
 *
 * A text's outputs do not depend on its batch (other texts, padding, batch
 * size) nor on the thread count, bit for bit, wherever the products run on
 * oneDNN (AVX512 CPUs); on the OpenBLAS fallback (AVX2 only) only up to
 * OpenBLAS's own row sums, which may depend on a row's place in the batch.
 *
 * dtype ALB_INT8 runs the linear layers (embedding mapping, QKV, attention
 * output, FFN, FFN output, pooler) as u8 x s8 -> s32 matrix products
 * (model/int8.h: s8 weights per output channel, computed at load; activations
 * quantized per token at run time), everything else in fp32 as ALB_F32 does.
 * Its features approximate fp32's (mean [CLS] cosine 0.9997 on a random base
 * encoder, bench/int8_accuracy.sh), not any torch run's; a text's int8
 * features are the same bits in any batch and at any thread count.
 *
 * A model is not reentrant: albert_forward uses activation buffers owned by
 * the model (grown to the largest batch seen). It parallelises internally
 * with OpenMP (omp_get_max_threads() threads), every matrix product included
 * (oneDNN runs on the same libgomp pool; the OpenBLAS fallback is set to one
 * thread per call, one call per OpenMP thread). */
#ifndef ALB_MODEL_ALBERT_H
#define ALB_MODEL_ALBERT_H

#include <stdint.h>
#include "model/config.h"
#include "util/error.h"

typedef enum { ALB_F32 = 0, ALB_BF16 = 1, ALB_INT8 = 2 } AlbDtype;
/* The name files and reports use: torch's dtype name without "torch.". */
static inline const char *alb_dtype_name(AlbDtype d) {
    return d == ALB_BF16 ? "bfloat16" : d == ALB_INT8 ? "int8" : "float32";
}
/* The names every command, config key and file takes, for messages. */
#define ALB_DTYPE_CHOICES "float32, bfloat16, int8"
/* The one parser of a dtype name: alb_dtype_name's names, and torch's
 * "torch.float32" / "torch.bfloat16" (the reference's config spells them so).
 * 0 and *out, or -1 for anything else. */
int alb_dtype_parse(const char *name, AlbDtype *out);
/* The head's dtype for features of the encoder dtype d: bf16 only on the bf16
 * encoder (the reference's model.to(bfloat16)); an int8 encoder's features are
 * fp32 values, and its head trains in fp32. */
static inline AlbDtype alb_head_dtype(AlbDtype d) { return d == ALB_BF16 ? ALB_BF16 : ALB_F32; }

typedef struct AlbertModel AlbertModel;

/* dir holds config.json and model.safetensors. */
int albert_load(AlbertModel **out, const char *dir, AlbDtype dtype, AlbError *err);
/* The same from an already parsed config and any safetensors file holding the
 * weights (other tensors in it are ignored). */
int albert_load_weights(AlbertModel **out, const AlbertConfig *config, const char *weights_path, AlbDtype dtype,
                        AlbError *err);
void albert_free(AlbertModel *m);
const AlbertConfig *albert_config(const AlbertModel *m);
AlbDtype albert_dtype(const AlbertModel *m);
/* A 128-bit hash (XXH3) of the config fields + every weight the encoder uses
 * (names and float32 values as loaded, before any bf16 rounding), as 32 hex
 * chars: the encoder's identity for caches and checkpoints. It does not
 * include the dtype: key caches on (hash, dtype). */
const char *albert_weights_hash(const AlbertModel *m);
/* The dtype and the engine variant that compute the features, as one short
 * stable string, "<dtype>/<mm_engine>" (model/matmul.h):
 * "bfloat16/onednn-avx512_core_bf16" (native), "bfloat16/emulated-onednn-
 * avx512_core", "float32/onednn-avx512_core", "float32/openblas",
 * "bfloat16/emulated-openblas": features of different engines may differ in
 * their last bits, so caches and checkpoints record it and never mix two. */
const char *albert_engine(const AlbertModel *m);
/* The dtype an albert_engine string names (its part before '/'): 0, or -1
 * when it names none. */
int alb_engine_dtype(const char *engine, AlbDtype *out);

/* Forward B sequences of padded length L.
 *   ids      [B, L]  token ids (positions 0..L-1)
 *   type_ids [B, L]  token_type_ids in [0, type_vocab_size) (NULL: all 0)
 *   mask     [B, L]  1 real, 0 pad (NULL: all real)
 * Outputs (any may be NULL):
 *   last_hidden [B, L, H], cls [B, H] (= last_hidden[:, 0]), pooler [B, H]
 * Values are float32 (bf16-representable in ALB_BF16 mode). Only real
 * positions (mask 1) and position 0 are computed: they equal torch's, as pad
 * keys get probability exactly 0; last_hidden rows at other pad positions are
 * 0 (torch computes values there that no real row depends on). A sequence
 * with no real position is computed whole, as torch does. Without
 * last_hidden the last layer carries only position 0 on past its keys and
 * values (nothing else is read): the same cls and pooler bits, and
 * (n - 1) / n of that layer's attention output and FFN saved for n rows.
 * Errors: an id outside [0, vocab_size), a type id outside its table,
 * L > max_position_embeddings. */
int albert_forward(AlbertModel *m, int B, int L, const int32_t *ids, const int32_t *type_ids, const int32_t *mask,
                   float *last_hidden, float *cls, float *pooler, AlbError *err);

#endif
