/* model/int8.h's kernels against straightforward references in double (and
 * int64 for the integer product), and the int8 encoder's invariances. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/int8.h"
#include "model/matmul.h"
#include "util/splitmix.h"

/* Values in [-scale, scale), some rows all positive or all zero. */
static float *random_matrix(uint64_t *s, int rows, int cols, float scale) {
    float *x = malloc(sizeof(float) * (size_t)rows * cols);
    for (int r = 0; r < rows; r++) {
        int kind = r % 7;  /* 5: all >= 0 (GELU-like), 6 of the first 7: all zero */
        for (int c = 0; c < cols; c++) {
            float u = (float)((splitmix64(s) >> 40) * 0x1p-24) * 2.0f - 1.0f;
            x[(size_t)r * cols + c] = r == 6 ? 0.0f : kind == 5 ? fabsf(u) * scale : u * scale;
        }
    }
    return x;
}

Test(int8, weights_per_output_channel) {
    uint64_t s = 1;
    enum { N = 13, K = 37 };
    float *w = random_matrix(&s, N, K, 0.05f);
    int8_t wq[N * K];
    float scale[N];
    int32_t sum[N];
    int8_quantize_weights(w, N, K, wq, scale, sum);
    for (int n = 0; n < N; n++) {
        double amax = 0.0;
        long want_sum = 0;
        for (int k = 0; k < K; k++) amax = fmax(amax, fabs((double)w[n * K + k]));
        cr_expect_float_eq(scale[n], amax > 0 ? amax / 127.0 : 1.0, 1e-7 * (amax > 0 ? amax : 1.0), "row %d", n);
        int top = 0;
        for (int k = 0; k < K; k++) {
            int q = wq[n * K + k];
            want_sum += q;
            top |= q == 127 || q == -127;
            cr_expect_leq(fabs(q * (double)scale[n] - w[n * K + k]), 0.5 * scale[n] * (1 + 1e-6), "[%d, %d]", n, k);
        }
        cr_expect_eq(sum[n], want_sum, "row %d", n);
        cr_expect(amax == 0.0 || top, "row %d: its largest weight is not +-127", n);
    }
    free(w);
}

Test(int8, activation_rows_asymmetric_u8) {
    uint64_t s = 2;
    enum { M = 14, K = 50 };
    float *x = random_matrix(&s, M, K, 3.0f);
    x[3 * K + 7] = 1e-30f;  /* a tiny value among normal ones */
    uint8_t q[K];
    for (int m = 0; m < M; m++) {
        float scale;
        int32_t zp;
        int8_quantize_row(x + m * K, K, q, &scale, &zp);
        double lo = 0.0, hi = 0.0;
        for (int k = 0; k < K; k++) {
            lo = fmin(lo, x[m * K + k]);
            hi = fmax(hi, x[m * K + k]);
        }
        double want_scale = hi > lo ? (hi - lo) / 255.0 : 1.0;
        cr_expect_float_eq(scale, want_scale, 1e-6 * want_scale, "row %d", m);
        cr_expect(zp >= 0 && zp <= 255);
        if (lo == 0.0) cr_expect_eq(zp, 0, "row %d is >= 0: zero point %d", m, zp);
        for (int k = 0; k < K; k++)
            /* half a step, and the rounding of x * (1 / scale) (|x / scale| <= 255) */
            cr_expect_leq(fabs((q[k] - zp) * (double)scale - x[m * K + k]), (0.5 + 1e-4) * scale + 1e-30,
                          "[%d, %d]: %g -> %d (scale %g, zero point %d)", m, k, x[m * K + k], q[k], scale, zp);
    }
    free(x);
}

Test(int8, dequantize_row) {
    int32_t acc[3] = {1000, -5, 0}, w_sum[3] = {7, -3, 0};
    float w_scale[3] = {0.5f, 0.25f, 2.0f}, bias[3] = {1.0f, -0.5f, 3.0f}, y[3];
    int8_dequantize_row(acc, 3, 0.125f, 4, w_scale, w_sum, bias, y);
    cr_expect_eq(y[0], (1000 - 28) * 0.125f * 0.5f + 1.0f);
    cr_expect_eq(y[1], (-5 + 12) * 0.125f * 0.25f - 0.5f);
    cr_expect_eq(y[2], 3.0f);
}

/* The s32 product equals the int64 one exactly, for row counts past the
 * primitive cache (8) and shapes with tails. */
static void check_matmul(int N, int K, uint64_t seed) {
    uint64_t s = seed;
    float *w = random_matrix(&s, N, K, 1.0f);
    int8_t *wq = malloc((size_t)N * K);
    float *scale = malloc(sizeof(float) * N);
    int32_t *sum = malloc(sizeof(int32_t) * N);
    int8_quantize_weights(w, N, K, wq, scale, sum);
    MmWeights *l;
    AlbError err;
    MmSpec spec = {N, K, MM_S8, MM_U8, MM_S32};
    cr_assert(mm_available(&spec));
    cr_assert_eq(mm_prepare(&l, &spec, w, NULL, &err), 0, "%s", err.msg);
    for (int n = 0; n < N; n++) {
        cr_expect_eq(mm_w_scale(l)[n], scale[n]);
        cr_expect_eq(mm_w_sum(l)[n], sum[n]);
    }
    int Ms[] = {1, 2, 3, 5, 16, 17, 64, 100, 333, 1, 333};
    for (size_t i = 0; i < sizeof Ms / sizeof Ms[0]; i++) {
        int M = Ms[i];
        uint8_t *xq = malloc((size_t)M * K);
        for (long j = 0; j < (long)M * K; j++) xq[j] = (uint8_t)(splitmix64(&s) >> 56);
        if (i == 0) memset(xq, 255, (size_t)M * K);  /* the largest sums */
        int32_t *acc = malloc(sizeof(int32_t) * (size_t)M * N);
        cr_assert_eq(mm_run(l, M, xq, acc, &err), 0, "%s", err.msg);
        long bad = 0;
        for (int m = 0; m < M; m++)
            for (int n = 0; n < N; n++) {
                int64_t want = 0;
                for (int k = 0; k < K; k++) want += (int64_t)xq[(size_t)m * K + k] * wq[(size_t)n * K + k];
                bad += acc[(size_t)m * N + n] != want;
            }
        cr_expect_eq(bad, 0, "[%d, %d] x [%d, %d]: %ld sums differ", M, K, K, N, bad);
        free(xq);
        free(acc);
    }
    mm_free(l);
    free(w);
    free(wq);
    free(scale);
    free(sum);
}

Test(int8, matmul_is_exact) {
    check_matmul(24, 40, 3);
    check_matmul(96, 768, 4);
    check_matmul(130, 3072, 5);
}

/* The whole linear map x W^T + b against double: |error| <= the quantization
 * error bound sum_k (|x_k| dw_n + |w_nk| dx + dx dw_n), dw = w_scale / 2,
 * dx = a_scale / 2, plus fp32 rounding of the dequantization. */
Test(int8, linear_within_the_quantization_bound) {
    uint64_t s = 6;
    enum { M = 21, N = 48, K = 200 };
    float *w = random_matrix(&s, N, K, 0.05f), *x = random_matrix(&s, M, K, 2.0f), *b = random_matrix(&s, 1, N, 1.0f);
    MmWeights *l;
    AlbError err;
    MmSpec spec = {N, K, MM_S8, MM_U8, MM_S32};
    cr_assert_eq(mm_prepare(&l, &spec, w, NULL, &err), 0, "%s", err.msg);
    uint8_t *xq = malloc((size_t)M * K);
    float xs[M], y[N];
    int32_t zp[M], *acc = malloc(sizeof(int32_t) * M * N);
    for (int m = 0; m < M; m++) int8_quantize_row(x + m * K, K, xq + m * K, &xs[m], &zp[m]);
    cr_assert_eq(mm_run(l, M, xq, acc, &err), 0, "%s", err.msg);
    const float *ws = mm_w_scale(l);
    double worst = 0.0;
    for (int m = 0; m < M; m++) {
        int8_dequantize_row(acc + m * N, N, xs[m], zp[m], ws, mm_w_sum(l), b, y);
        for (int n = 0; n < N; n++) {
            double ref = b[n], bound = 0.0, dx = xs[m] / 2.0, dw = ws[n] / 2.0;
            for (int k = 0; k < K; k++) {
                double xv = x[m * K + k], wv = w[n * K + k];
                ref += xv * wv;
                bound += fabs(xv) * dw + fabs(wv) * dx + dx * dw;
            }
            bound = bound * (1 + 1e-6) + 1e-6 * fabs(ref) + 1e-30;
            cr_expect_leq(fabs(y[n] - ref), bound, "[%d, %d]: %g vs %g (bound %g)", m, n, y[n], ref, bound);
            worst = fmax(worst, fabs(y[n] - ref) / (bound > 0 ? bound : 1));
        }
    }
    cr_log_info("int8 linear: worst error %.2f of the bound", worst);
    mm_free(l);
    free(w);
    free(x);
    free(b);
    free(xq);
    free(acc);
}

/* Past INT8_MAX_K an s32 sum could overflow; the bias is the caller's epilogue. */
Test(int8, refuses_too_wide_inputs_and_a_bias) {
    MmWeights *l;
    AlbError err;
    float w[4] = {1.0f, 2.0f, 3.0f, 4.0f};
    MmSpec wide = {1, INT8_MAX_K + 1, MM_S8, MM_U8, MM_S32}, ok = {2, 2, MM_S8, MM_U8, MM_S32};
    cr_expect_not(mm_available(&wide));
    cr_expect_eq(mm_prepare(&l, &wide, w, NULL, &err), -1);
    cr_expect_eq(mm_prepare(&l, &ok, w, w, &err), -1);
    cr_expect(strstr(err.msg, "bias yes"), "%s", err.msg);
}
