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
 * Element-wise, so one flat array of all parameters behaves as the
 * per-tensor loop does. */
#ifndef ALB_TRAIN_ADAMW_H
#define ALB_TRAIN_ADAMW_H

typedef struct {
    double lr, beta1, beta2, eps, weight_decay;
    int bf16;          /* round every op to bf16 (torch bfloat16 params) */
    long step;         /* completed steps (torch's state['step']) */
    long n;            /* number of parameters */
    float *exp_avg;    /* [n] first moment m */
    float *exp_avg_sq; /* [n] second moment v */
} AdamW;

/* Moments start at zero, step at 0. */
void adamw_create(AdamW *opt, long n, double lr, double beta1, double beta2, double eps,
                  double weight_decay, int bf16);
void adamw_free(AdamW *opt);
/* One update of params[n] with grads[n]. */
void adamw_step(AdamW *opt, float *params, const float *grads);

#endif
