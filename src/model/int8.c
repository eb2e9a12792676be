/* int8 matrix products; see int8.h for the math. */
#include "model/int8.h"

#include <math.h>
#include <stddef.h>

void int8_quantize_weights(const float *w, int N, int K, int8_t *wq, float *w_scale, int32_t *w_sum) {
    for (int n = 0; n < N; n++) {
        const float *row = w + (size_t)n * K;
        float amax = 0.0f;
        for (int k = 0; k < K; k++) amax = fmaxf(amax, fabsf(row[k]));
        float scale = amax > 0.0f ? amax / 127.0f : 1.0f;
        int32_t sum = 0;
        for (int k = 0; k < K; k++) {
            float q = nearbyintf(row[k] / scale);  /* |q| <= 127: |row[k]| <= amax */
            wq[(size_t)n * K + k] = (int8_t)q;
            sum += (int32_t)q;
        }
        w_scale[n] = scale;
        w_sum[n] = sum;
    }
}

/* Comparisons, not fminf/fmaxf (NaN rules keep those scalar calls): this
 * runs on every linear layer's input, and vectorized it is ~10x faster. */
static inline float clamp_u8(float v) { return v < 0.0f ? 0.0f : v > 255.0f ? 255.0f : v; }

void int8_quantize_row(const float *x, int K, uint8_t *q, float *scale, int32_t *zp) {
    float lo = 0.0f, hi = 0.0f;
#pragma omp simd reduction(min : lo) reduction(max : hi)
    for (int k = 0; k < K; k++) {
        lo = x[k] < lo ? x[k] : lo;
        hi = x[k] > hi ? x[k] : hi;
    }
    float s = hi > lo ? (hi - lo) / 255.0f : 1.0f, inv = 1.0f / s;
    float z = clamp_u8(nearbyintf(-lo * inv));
#pragma omp simd
    for (int k = 0; k < K; k++) q[k] = (uint8_t)clamp_u8(nearbyintf(x[k] * inv) + z);
    *scale = s;
    *zp = (int32_t)z;
}

void int8_dequantize_row(const int32_t *acc, int N, float scale, int32_t zp, const float *w_scale,
                         const int32_t *w_sum, const float *bias, float *y) {
#pragma omp simd
    for (int n = 0; n < N; n++) y[n] = (float)(acc[n] - zp * w_sum[n]) * scale * w_scale[n] + bias[n];
}
