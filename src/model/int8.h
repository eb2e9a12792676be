/* int8 matrix products for the encoder's ALB_INT8 dtype (model/albert.h).
 *
 * A linear layer y = x W^T + b, W [N, K] (out, in), runs as
 *
 *   weights, once at load, symmetric per output channel:
 *     w_scale[n] = max_k |W[n,k]| / 127        Wq[n,k] = round(W[n,k] / w_scale[n])  in [-127, 127]
 *     w_sum[n]   = sum_k Wq[n,k]               (the zero-point compensation, exact)
 *   activations, per token (row m) at run time, asymmetric u8 (VNNI multiplies
 *   u8 by s8; a per-row zero point spends all 256 levels on the row's range,
 *   which for GELU's output is mostly one-sided):
 *     lo = min(0, min_k x[m,k])  hi = max(0, max_k x[m,k])
 *     a_scale[m] = (hi - lo) / 255             a_zp[m] = round(-lo * (1 / a_scale[m]))  in [0, 255]
 *     Xq[m,k] = clamp(round(x[m,k] * (1 / a_scale[m])) + a_zp[m], 0, 255)
 *   product, oneDNN's u8 x s8 -> s32 matmul (exact integer sums; model/matmul.h,
 *   MM_S8 weights, which quantizes them with int8_quantize_weights):
 *     acc[m,n] = sum_k Xq[m,k] Wq[n,k]
 *   dequantization and the bias, in the caller's epilogue (then GELU):
 *     y[m,n] = (acc[m,n] - a_zp[m] w_sum[n]) * a_scale[m] * w_scale[n] + b[n]
 *
 * Every step is a function of one row (a token) and fixed weights, and the
 * integer sums are exact in any order: a text's int8 features are the same
 * bits whatever batch it is in and whatever the thread count. rounding is
 * nearbyintf (ties to even). |acc| <= 255 * 127 * K: K is at most 65535. */
#ifndef ALB_MODEL_INT8_H
#define ALB_MODEL_INT8_H

#include <stdint.h>

#define INT8_MAX_K 65535

/* Wq [N, K], w_scale [N], w_sum [N] from W [N, K] (a zero row: scale 1, all 0). */
void int8_quantize_weights(const float *w, int N, int K, int8_t *wq, float *w_scale, int32_t *w_sum);
/* One activation row x [K] -> q [K], its scale and zero point (a zero row: scale 1, zero point 0). */
void int8_quantize_row(const float *x, int K, uint8_t *q, float *scale, int32_t *zp);
/* y [N] = (acc [N] - zp * w_sum) * scale * w_scale + bias: one row of the dequantization. */
void int8_dequantize_row(const int32_t *acc, int N, float scale, int32_t zp, const float *w_scale,
                         const int32_t *w_sum, const float *bias, float *y);

#endif
