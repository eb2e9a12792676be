/* The classification head: Linear(H, M) -> GELU (exact, erf) -> Linear(M, C)
 * on the [CLS] feature of the frozen encoder, trained with mean cross-entropy.
 *
 * Same parameter names and layouts as the reference's nn.Sequential:
 *   classifier.0.weight [M,H]  classifier.0.bias [M]
 *   classifier.2.weight [C,M]  classifier.2.bias [C]
 * All parameters live in one flat buffer `params` in that order (the
 * gradients in `grads`, same layout), so the optimizer runs over one array.
 *
 * bf16 mode replays the reference's model.to(torch.bfloat16) on torch 1.13
 * CPU: parameters, gradients, inputs and every intermediate tensor are bf16
 * values (stored here as float32 holding exactly a bf16 value), and each torch
 * op rounds its output to bf16 where torch does. GELU replays the oneDNN
 * kernel torch calls; logits, loss and gradients differ from torch's by float
 * summation order only (the matrix products are ours, in a fixed order: see
 * head.c).
 *
 * Training step with gradient accumulation over k micro-batches, as the HF
 * Trainer does: head_zero_grad; k times { head_forward; head_loss;
 * head_backward(scale = 1/k) }; optimizer step. Gradients sum over the
 * micro-batches, each scaled by 1/k, so k batches of b rows give the same
 * update as one batch of k*b rows (up to rounding). */
#ifndef ALB_MODEL_HEAD_H
#define ALB_MODEL_HEAD_H

#include <stdint.h>
#include "io/safetensors.h"
#include "model/albert.h"
#include "util/error.h"

#define HEAD_N_TENSORS 4
extern const char *const HEAD_TENSOR_NAMES[HEAD_N_TENSORS];

typedef struct {
    int hidden;        /* H: encoder hidden size (768 for albert-base) */
    int mlp;           /* M: hidden units of the head (reference: 256) */
    int classes;       /* C: number of labels */
    int bf16;          /* 1: torch bfloat16 semantics, 0: float32 */
    int max_batch;     /* rows per forward call, at most */

    long n_params;     /* M*H + M + C*M + C */
    long numel[HEAD_N_TENSORS];   /* M*H, M, C*M, C (for adamw_create) */
    float *params;     /* [n_params]: w1 | b1 | w2 | b2 */
    float *grads;      /* [n_params], same layout; accumulated by head_backward */
    float *grads_new;  /* [n_params] scratch: this backward's gradient before it is added */
    float *w1, *b1, *w2, *b2;     /* views into params */
    float *gw1, *gb1, *gw2, *gb2; /* views into grads */

    /* activations of the last forward, for backward (allocated for max_batch) */
    int batch;         /* rows in the last forward */
    float *x;          /* [B,H] input features (bf16-rounded in bf16 mode) */
    float *pre;        /* [B,M] x w1^T + b1 */
    float *act;        /* [B,M] gelu(pre) */
    float *logits;     /* [B,C] act w2^T + b2 */
    float *logp;       /* [B,C] log_softmax(logits), filled by head_loss */
    float *dlogits;    /* [B,C] scratch for backward */
    float *dact;       /* [B,M] scratch for backward */
    float *xt, *yt;    /* [B*max(H,M)], [B*max(M,C)]: transposed operands of the forward products */
} Head;

/* "bfloat16" or "float32", as alb_dtype_name names the head's dtype. */
static inline const char *head_dtype_name(const Head *h) { return alb_dtype_name(h->bf16 ? ALB_BF16 : ALB_F32); }

/* Allocates a head with zero parameters and gradients. Returns -1 (err set) on
 * nonsensical sizes. */
int head_create(Head *h, int hidden, int mlp, int classes, int bf16, int max_batch, AlbError *err);
void head_free(Head *h);

/* torch's default nn.Linear init: weight and bias ~ U(-1/sqrt(fan_in), +1/sqrt(fan_in))
 * (kaiming_uniform_(a=sqrt(5)) reduces to that), drawn from our own PRNG, a
 * SplitMix64 stream seeded with `seed`: u = (splitmix64() >> 40) * 2^-24 in
 * [0,1), value = bound * (2u - 1), in the order w1, b1, w2, b2 row-major.
 * Not bit-equal to torch's RNG; to start from torch's exact init, load an
 * init_head file with head_load. Rounded to bf16 in bf16 mode. */
void head_init_params(Head *h, uint64_t seed);

/* The one place that knows how the head's tensors are stored: an array laid
 * out like h->params (w1 | b1 | w2 | b2: the parameters, or an optimizer
 * moment) as 4 tensors named <prefix><HEAD_TENSOR_NAMES[i]><suffix> with the
 * parameters' shapes. Adding writes BF16 in bf16 mode, else F32; reading
 * takes any float dtype and requires the exact shapes (errors name the file
 * and tensor). */
void head_add_tensors(const Head *h, StWriter *w, const float *values, const char *prefix, const char *suffix);
int head_read_tensors(const Head *h, const SafeTensors *st, const char *prefix, const char *suffix, float *values,
                      AlbError *err);

/* Reads the 4 parameter tensors into h; in bf16 mode the values are rounded
 * to bf16; non-finite values are an error. */
int head_load_from(Head *h, const SafeTensors *st, AlbError *err);
int head_load(Head *h, const char *path, AlbError *err);
/* Opens `path` and creates h with the sizes found there (H, M, C from the shapes). */
int head_create_from_file(Head *h, const char *path, int bf16, int max_batch, AlbError *err);
int head_save(const Head *h, const char *path, AlbError *err);

/* Forward for B <= max_batch rows of features x [B,H]; fills h->logits [B,C]. */
void head_forward(Head *h, const float *x, int B);
/* Mean cross-entropy of the last forward's logits against labels[B] (each in
 * [0,C), checked by the caller); fills h->logp. Returns the loss (a bf16
 * value in bf16 mode). */
float head_loss(Head *h, const int *labels);
/* Backward of (scale * mean loss) for the last forward + head_loss; adds the
 * parameter gradients into h->grads (torch's .grad accumulation). */
void head_backward(Head *h, const int *labels, float scale);
void head_zero_grad(Head *h);
/* argmax over the last forward's logits, first maximum on ties (torch.argmax). */
void head_predict(const Head *h, int *pred);
/* The same for one row of C logits; NaN counts as the maximum, as in torch. */
int head_argmax(const float *z, int C);

#endif
