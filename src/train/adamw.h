/* AdamW exactly as torch.optim.AdamW in torch 1.13 on CPU (foreach=None ->
 * the single-tensor implementation, amsgrad off, maximize off), for step t:
 *   p *= 1 - lr*wd                         (one rounding)
 *   m  = m*b1; m += g*(1-b1)               (mul_ then add_: two roundings)
 *   v  = v*b2; v += g*g*(1-b2)             (mul_ then addcmul_)
 *   denom = sqrt(v) / sqrt(1 - b2^t) + eps (sqrt, div, add_: three roundings)
 *   p += -(lr / (1 - b1^t)) * m / denom    (addcdiv_)
 * The scalars (1 - lr*wd, b1^t, step size, sqrt(1 - b2^t)) are Python doubles;
 * the tensor ops round their result to float32, or to bf16 when bf16 is set
 * (the moments are zeros_like(param), hence bf16 under model.to(bfloat16)).
 * In bf16, torch also rounds the scalar of mul_, add_'s alpha, div and add_
 * (eps) to bf16 (so b2 = 0.999 and 1 - 1e-3*0.01 act as 1.0: v never decays
 * and weight decay does nothing at the reference's settings), while
 * addcmul_/addcdiv_ compute in fp32 with an fp32 value.
 * Element-wise over one flat array holding all parameters, except for one
 * per-tensor detail of bf16: torch's vectorized loop covers each tensor's
 * first numel - numel % 32 elements, and its scalar tail loop rounds
 * add_(g, alpha) twice (alpha*g, then the sum) where the vector loop fuses
 * it. So the optimizer knows the tensor sizes. lr and weight_decay may be
 * changed between steps. */
#ifndef ALB_TRAIN_ADAMW_H
#define ALB_TRAIN_ADAMW_H

#define ADAMW_MAX_TENSORS 16

typedef struct {
    double lr, beta1, beta2, eps, weight_decay;
    int bf16;          /* round every op to bf16 (torch bfloat16 params) */
    long step;         /* completed steps (torch's state['step']) */
    long n;            /* number of parameters (sum of tensor_numel) */
    int n_tensors;
    long tensor_numel[ADAMW_MAX_TENSORS]; /* the flat array's tensors, in order */
    float *exp_avg;    /* [n] first moment m */
    float *exp_avg_sq; /* [n] second moment v */
} AdamW;

/* Moments start at zero, step at 0. n_tensors <= ADAMW_MAX_TENSORS. */
void adamw_create(AdamW *opt, int n_tensors, const long *tensor_numel, double lr, double beta1,
                  double beta2, double eps, double weight_decay, int bf16);
void adamw_free(AdamW *opt);
/* One update of params[n] with grads[n]. */
void adamw_step(AdamW *opt, float *params, const float *grads);

#endif
