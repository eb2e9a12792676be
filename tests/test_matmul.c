/* src/model/matmul.c: oneDNN matmul against a scalar reference, and the
 * invariant the encoder's callers rely on: a row's result does not depend on
 * M (the other rows of the batch) nor on the thread count. */
#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <dnnl.h>

#include "model/matmul.h"
#include "util/bf16.h"
#include "util/splitmix.h"

static float uniform(uint64_t *s, float scale) {
    return ((float)(splitmix64(s) >> 40) / (float)(1 << 24) - 0.5f) * 2.0f * scale;
}

typedef struct {
    int M, K, N;
    float *x, *w, *b; /* x [M, K], w [N, K], b [N]: bf16-representable */
    uint16_t *xb;
} Case;

static void case_init(Case *c, int M, int K, int N, uint64_t seed) {
    c->M = M, c->K = K, c->N = N;
    c->x = malloc((size_t)M * K * sizeof(float));
    c->w = malloc((size_t)N * K * sizeof(float));
    c->b = malloc((size_t)N * sizeof(float));
    c->xb = malloc((size_t)M * K * sizeof(uint16_t));
    for (long i = 0; i < (long)M * K; i++) c->x[i] = bf16_round(uniform(&seed, 2.0f));
    for (long i = 0; i < (long)N * K; i++) c->w[i] = bf16_round(uniform(&seed, 1.0f / sqrtf((float)K)));
    for (int i = 0; i < N; i++) c->b[i] = bf16_round(uniform(&seed, 0.5f));
    mm_f32_to_bf16(c->x, c->xb, (long)M * K);
}

static void case_free(Case *c) {
    free(c->x);
    free(c->w);
    free(c->b);
    free(c->xb);
}

/* Products of bf16 values are exact in double; the sum's error is tiny. */
static double ref(const Case *c, int i, int j) {
    double s = c->b[j];
    for (int k = 0; k < c->K; k++) s += (double)c->x[(size_t)i * c->K + k] * c->w[(size_t)j * c->K + k];
    return s;
}

static void check_type_inv(MmType t, MmType dst, int invariance) {
    const int shapes[][2] = {{128, 768}, {768, 2304}, {3072, 768}, {96, 40}};
    for (size_t sh = 0; sh < sizeof shapes / sizeof shapes[0]; sh++) {
        MmSpec spec = {.N = shapes[sh][1], .K = shapes[sh][0], .wei = t, .src = t, .dst = dst};
        if (!mm_available(&spec)) {
            cr_log_warn("no oneDNN matmul for type %d on this CPU: skipped", (int)t);
            return;
        }
        Case c;
        int Mmax = 300;
        case_init(&c, Mmax, spec.K, spec.N, 42 + sh);
        AlbError err;
        MmWeights *w;
        cr_assert_eq(mm_prepare(&w, &spec, c.w, c.b, &err), 0, "%s", err.msg);
        size_t out_size = dst == MM_BF16 ? 2 : 4;
        char *full = malloc((size_t)Mmax * spec.N * out_size), *part = malloc((size_t)Mmax * spec.N * out_size);
        const void *x = t == MM_BF16 ? (const void *)c.xb : (const void *)c.x;
        size_t x_row = (size_t)spec.K * (t == MM_BF16 ? 2 : 4);
        int saved = omp_get_max_threads();
        omp_set_num_threads(1);
        cr_assert_eq(mm_run(w, Mmax, x, full, &err), 0, "%s", err.msg);
        /* against the exact sum: fp32 accumulation of K exact products */
        double max_err = 0;
        for (int i = 0; i < Mmax; i += 7)
            for (int j = 0; j < spec.N; j++) {
                double r = ref(&c, i, j), got;
                if (dst == MM_BF16) {
                    uint16_t h;
                    memcpy(&h, full + ((size_t)i * spec.N + j) * 2, 2);
                    got = f32_from_bf16(h);
                    r = bf16_round((float)r);
                } else {
                    float f;
                    memcpy(&f, full + ((size_t)i * spec.N + j) * 4, 4);
                    got = f;
                }
                double e = fabs(got - r) / (1.0 + fabs(r));
                if (e > max_err) max_err = e;
            }
        cr_expect_leq(max_err, dst == MM_BF16 ? 1.0 / 128 : 1e-5, "K %d N %d: max rel error %g", spec.K,
                      spec.N, max_err);
        /* every M and thread count: the same bits per row (rows at offset r0) */
        const int Ms[] = {1, 2, 3, 8, 15, 16, 17, 64, 100, 255};
        for (int threads = 1; threads <= 4 && invariance; threads++) {
            omp_set_num_threads(threads);
            for (size_t mi = 0; mi < sizeof Ms / sizeof Ms[0]; mi++) {
                int M = Ms[mi], r0 = (int)(mi * 3) % (Mmax - M + 1);
                cr_assert_eq(mm_run(w, M, (const char *)x + (size_t)r0 * x_row, part, &err), 0, "%s",
                             err.msg);
                size_t row = (size_t)spec.N * out_size;
                cr_expect_eq(memcmp(part, full + (size_t)r0 * row, (size_t)M * row), 0,
                             "K %d N %d: rows %d..%d computed with M = %d, %d threads differ from M = %d, 1 "
                             "thread",
                             spec.K, spec.N, r0, r0 + M - 1, M, threads, Mmax);
            }
        }
        omp_set_num_threads(saved);
        free(full);
        free(part);
        mm_free(w);
        case_free(&c);
    }
}

static void check_type(MmType t, MmType dst) { check_type_inv(t, dst, 1); }

Test(matmul, f32) { check_type(MM_F32, MM_F32); }
Test(matmul, bf16_to_f32) { check_type(MM_BF16, MM_F32); }
Test(matmul, bf16_to_bf16) { check_type(MM_BF16, MM_BF16); }

/* A bf16 dst is the f32 dst rounded once (bias added in fp32 first), as
 * torch's bf16 nn.Linear (bias in the bf16 output, product summed onto it). */
Test(matmul, bf16_dst_is_rounded_f32_dst) {
    MmSpec s32 = {.N = 768, .K = 768, .wei = MM_BF16, .src = MM_BF16, .dst = MM_F32}, s16 = s32;
    s16.dst = MM_BF16;
    if (!mm_available(&s32)) return;
    Case c;
    case_init(&c, 50, 768, 768, 7);
    AlbError err;
    MmWeights *a, *b;
    cr_assert_eq(mm_prepare(&a, &s32, c.w, c.b, &err), 0, "%s", err.msg);
    cr_assert_eq(mm_prepare(&b, &s16, c.w, c.b, &err), 0, "%s", err.msg);
    float *y32 = malloc(50 * 768 * sizeof(float));
    uint16_t *y16 = malloc(50 * 768 * sizeof(uint16_t));
    cr_assert_eq(mm_run(a, 50, c.xb, y32, &err), 0, "%s", err.msg);
    cr_assert_eq(mm_run(b, 50, c.xb, y16, &err), 0, "%s", err.msg);
    long diff = 0;
    for (long i = 0; i < 50 * 768; i++) diff += bf16_from_f32(y32[i]) != y16[i];
    cr_expect_eq(diff, 0, "%ld of %d values differ", diff, 50 * 768);
    free(y32);
    free(y16);
    mm_free(a);
    mm_free(b);
    case_free(&c);
}

Test(matmul, impl_names) {
    MmSpec f = {.N = 768, .K = 768, .wei = MM_F32, .src = MM_F32, .dst = MM_F32};
    cr_expect(mm_available(&f));
    cr_expect_str_neq(mm_impl(&f), "none");
    MmSpec bad = {.N = 0, .K = 768, .wei = MM_F32, .src = MM_F32, .dst = MM_F32};
    cr_expect(!mm_available(&bad));
    cr_expect_str_eq(mm_impl(&bad), "none");
    AlbError err;
    MmWeights *w;
    cr_expect_eq(mm_prepare(&w, &bad, NULL, NULL, &err), -1);
}

/* CPUs without AVX512_BF16 (oneDNN limited to an older ISA before its first
 * primitive; Criterion runs each test in a process of its own): bf16 runs
 * emulated on the float32 brgemm (AVX512_CORE, rows still independent of M
 * and threads), or on OpenBLAS (AVX2: no brgemm at all; OpenBLAS's row sums
 * may depend on the batch, so only accuracy is checked there). */
static int limit_isa(dnnl_cpu_isa_t isa) {
    if (dnnl_set_max_cpu_isa(isa) != dnnl_success) return 0;
    return (int)(dnnl_get_effective_cpu_isa() == isa);
}

Test(matmul, without_avx512_bf16) {
    if (!limit_isa(dnnl_cpu_isa_avx512_core)) {
        cr_log_warn("this CPU has no AVX512_CORE: skipped");
        return;
    }
    cr_expect(!mm_bf16_native());
    cr_expect_str_eq(mm_engine(MM_F32), "onednn-avx512_core");
    cr_expect_str_eq(mm_engine(MM_BF16), "emulated-onednn-avx512_core");
    MmSpec s = {.N = 64, .K = 64, .wei = MM_BF16, .src = MM_BF16, .dst = MM_F32};
    cr_expect_str_eq(mm_impl(&s), "emulated:brg:avx512_core");
    check_type(MM_F32, MM_F32);
    check_type(MM_BF16, MM_F32);
    check_type(MM_BF16, MM_BF16);
}

Test(matmul, avx2_only) {
    if (!limit_isa(dnnl_cpu_isa_avx2)) {
        cr_log_warn("this CPU has no AVX2: skipped");
        return;
    }
    cr_expect(!mm_bf16_native());
    cr_expect_str_eq(mm_engine(MM_F32), "openblas");
    cr_expect_str_eq(mm_engine(MM_BF16), "emulated-openblas");
    check_type_inv(MM_F32, MM_F32, 0);
    check_type_inv(MM_BF16, MM_F32, 0);
    check_type_inv(MM_BF16, MM_BF16, 0);
}

/* Where AVX512_BF16 is there, the bf16 products are native. */
Test(matmul, native_bf16_where_the_cpu_has_it) {
    if (dnnl_get_effective_cpu_isa() < dnnl_cpu_isa_avx512_core_bf16 || getenv("ONEDNN_MAX_CPU_ISA") ||
        getenv("ALBERTC_MATMUL")) {
        cr_log_warn("no AVX512_BF16 here (or limited): skipped");
        return;
    }
    cr_expect(mm_bf16_native());
    cr_expect_str_eq(mm_engine(MM_BF16), "onednn-avx512_core_bf16");
}
