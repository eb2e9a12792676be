#include "train/adamw.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "util/bf16.h"
#include "util/clones.h"
#include "util/error.h"

/* torch's cpu_kernel_vec runs 2 vectors of 16 bf16 (AVX2) per iteration and
 * leaves the rest of each tensor to a scalar loop. */
#define TORCH_VEC_BLOCK 32

void adamw_create(AdamW *opt, int n_tensors, const long *tensor_numel, double lr, double beta1,
                  double beta2, double eps, double weight_decay, int bf16) {
    memset(opt, 0, sizeof *opt);
    opt->lr = lr;
    opt->beta1 = beta1;
    opt->beta2 = beta2;
    opt->eps = eps;
    opt->weight_decay = weight_decay;
    opt->bf16 = bf16;
    opt->n_tensors = n_tensors < ADAMW_MAX_TENSORS ? n_tensors : ADAMW_MAX_TENSORS;
    for (int i = 0; i < opt->n_tensors; i++) {
        opt->tensor_numel[i] = tensor_numel[i];
        opt->n += tensor_numel[i];
    }
    opt->exp_avg = alb_xcalloc((size_t)opt->n + 1, sizeof(float));
    opt->exp_avg_sq = alb_xcalloc((size_t)opt->n + 1, sizeof(float));
}

void adamw_free(AdamW *opt) {
    free(opt->exp_avg);
    free(opt->exp_avg_sq);
    memset(opt, 0, sizeof *opt);
}

/* The per-step scalars as torch holds them: Python doubles, then converted to
 * the tensor's type by each op (float, or bf16 for mul_/add_/div/add_ scalars). */
typedef struct {
    float decay;      /* 1 - lr*wd */
    float beta1, one_minus_beta1, beta2;
    float one_minus_beta2;    /* addcmul_ value: fp32 in both modes */
    float bias_correction2_sqrt, eps;
    float neg_step_size;      /* addcdiv_ value: fp32 in both modes */
} AdamScalars;

static AdamScalars adam_scalars(const AdamW *o) {
    double t = (double)o->step;
    double step_size = o->lr / (1.0 - pow(o->beta1, t));
    double bias_correction2_sqrt = sqrt(1.0 - pow(o->beta2, t));
    AdamScalars s = {
        .decay = (float)(1.0 - o->lr * o->weight_decay),
        .beta1 = (float)o->beta1,
        .one_minus_beta1 = (float)(1.0 - o->beta1),
        .beta2 = (float)o->beta2,
        .one_minus_beta2 = (float)(1.0 - o->beta2),
        .bias_correction2_sqrt = (float)bias_correction2_sqrt,
        .eps = (float)o->eps,
        .neg_step_size = (float)(-step_size),
    };
    if (o->bf16) {
        s.decay = bf16_round(s.decay);
        s.beta1 = bf16_round(s.beta1);
        s.one_minus_beta1 = bf16_round(s.one_minus_beta1);
        s.beta2 = bf16_round(s.beta2);
        s.bias_correction2_sqrt = bf16_round(s.bias_correction2_sqrt);
        s.eps = bf16_round(s.eps);
    }
    return s;
}

/* One tensor, fp32: each line is one torch op. The Makefile pins
 * -ffp-contract=off (GCC's -std=c11 implies it, clang's default does not), so
 * a*b + c is never fused behind our back and fmaf marks exactly where torch's
 * kernels are compiled into a fused multiply-add (add_ with alpha; addcmul_ as
 * fma(value*g, g, v)), measured against torch. */
HOT_CLONES static void step_f32(const AdamScalars *s, long n, float *p, const float *g, float *m, float *v) {
    for (long i = 0; i < n; i++) {
        p[i] = p[i] * s->decay;
        m[i] = m[i] * s->beta1;
        m[i] = fmaf(g[i], s->one_minus_beta1, m[i]);
        v[i] = v[i] * s->beta2;
        v[i] = fmaf(s->one_minus_beta2 * g[i], g[i], v[i]);
        float denom = sqrtf(v[i]) / s->bias_correction2_sqrt + s->eps;
        p[i] = p[i] + s->neg_step_size * m[i] / denom;
    }
}

/* One tensor, bf16: every op's result rounded, as the bf16 kernels store it. */
HOT_CLONES static void step_bf16(const AdamScalars *s, long n, float *p, const float *g, float *m, float *v) {
    long vector_end = n - n % TORCH_VEC_BLOCK;
    for (long i = 0; i < n; i++) {
        p[i] = bf16_round(p[i] * s->decay);
        m[i] = bf16_round(m[i] * s->beta1);
        m[i] = i < vector_end ? bf16_round(fmaf(g[i], s->one_minus_beta1, m[i]))
                              : bf16_round(m[i] + bf16_round(s->one_minus_beta1 * g[i]));
        v[i] = bf16_round(v[i] * s->beta2);
        v[i] = bf16_round(fmaf(s->one_minus_beta2 * g[i], g[i], v[i]));
        float denom = bf16_round(sqrtf(v[i]));
        denom = bf16_round(denom / s->bias_correction2_sqrt);
        denom = bf16_round(denom + s->eps);
        p[i] = bf16_round(p[i] + s->neg_step_size * m[i] / denom);
    }
}

void adamw_step(AdamW *opt, float *params, const float *grads) {
    opt->step++;
    AdamScalars s = adam_scalars(opt);
    long off = 0;
    for (int t = 0; t < opt->n_tensors; t++) {
        long n = opt->tensor_numel[t];
        if (opt->bf16)
            step_bf16(&s, n, params + off, grads + off, opt->exp_avg + off, opt->exp_avg_sq + off);
        else
            step_f32(&s, n, params + off, grads + off, opt->exp_avg + off, opt->exp_avg_sq + off);
        off += n;
    }
}
