/* int8 matrix products; see int8.h for the math. */
#include "model/int8.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>

/* ------------------------------------------------------------------ kernels */

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

void int8_quantize_row(const float *x, int K, uint8_t *q, float *scale, int32_t *zp) {
    float lo = 0.0f, hi = 0.0f;
    for (int k = 0; k < K; k++) {
        lo = fminf(lo, x[k]);
        hi = fmaxf(hi, x[k]);
    }
    float s = hi > lo ? (hi - lo) / 255.0f : 1.0f;
    float z = fminf(fmaxf(nearbyintf(-lo / s), 0.0f), 255.0f);
#pragma omp simd
    for (int k = 0; k < K; k++) q[k] = (uint8_t)fminf(fmaxf(nearbyintf(x[k] / s) + z, 0.0f), 255.0f);
    *scale = s;
    *zp = (int32_t)z;
}

void int8_dequantize_row(const int32_t *acc, int N, float scale, int32_t zp, const float *w_scale,
                         const int32_t *w_sum, float *y) {
#pragma omp simd
    for (int n = 0; n < N; n++) y[n] = (float)(acc[n] - zp * w_sum[n]) * scale * w_scale[n];
}

/* ------------------------------------------------------------------ oneDNN */

/* The CPU engine, made once for the process. */
static dnnl_engine_t g_engine;
static dnnl_status_t g_engine_status;
static pthread_once_t g_engine_once = PTHREAD_ONCE_INIT;
static void engine_make(void) { g_engine_status = dnnl_engine_create(&g_engine, dnnl_cpu, 0); }

static int dnnl_fail(AlbError *err, const char *what, dnnl_status_t s) {
    return alb_fail(err, "oneDNN int8 matmul: %s failed: %s", what, dnnl_status2str(s));
}

#define DNNL_TRY(call, what)                                      \
    do {                                                          \
        dnnl_status_t s_ = (call);                                \
        if (s_ != dnnl_success) return dnnl_fail(err, what, s_);  \
    } while (0)

/* Primitives for the most recent row counts: the encoder calls each layer
 * with the same M for every layer of a forward, and ALBERT shares the layers. */
enum { PRIMITIVES = 8 };

struct Int8Linear {
    int N, K;
    float *w_scale;          /* [N] */
    int32_t *w_sum;          /* [N] */
    void *w_blocked;         /* Wq in w_md's layout */
    dnnl_memory_desc_t w_md; /* dims {K, N}, oneDNN's preferred layout */
    dnnl_memory_t w_mem;
    dnnl_stream_t stream;
    struct {
        int M;
        dnnl_primitive_t p;
    } cache[PRIMITIVES];
    int next;                /* the slot the next new M replaces */
    char isa[48];            /* of the implementation oneDNN chose, "brg:avx512_core_vnni" -> "avx512_core_vnni" */
};

const char *int8_linear_isa(const Int8Linear *l) { return l->isa; }
const float *int8_linear_w_scale(const Int8Linear *l) { return l->w_scale; }
const int32_t *int8_linear_w_sum(const Int8Linear *l) { return l->w_sum; }

/* The matmul [M, K] u8 x [K, N] s8 -> [M, N] s32; w_md NULL: oneDNN chooses the weights' layout. */
static int matmul_pd(const Int8Linear *l, int M, const dnnl_memory_desc_t *w_md, dnnl_primitive_desc_t *pd,
                     AlbError *err) {
    dnnl_memory_desc_t a, b, c;
    dnnl_dims_t ad = {M, l->K}, bd = {l->K, l->N}, cd = {M, l->N};
    DNNL_TRY(dnnl_memory_desc_init_by_tag(&a, 2, ad, dnnl_u8, dnnl_ab), "source descriptor");
    if (w_md) b = *w_md;
    else DNNL_TRY(dnnl_memory_desc_init_by_tag(&b, 2, bd, dnnl_s8, dnnl_format_tag_any), "weights descriptor");
    DNNL_TRY(dnnl_memory_desc_init_by_tag(&c, 2, cd, dnnl_s32, dnnl_ab), "destination descriptor");
    dnnl_matmul_desc_t md;
    DNNL_TRY(dnnl_matmul_desc_init(&md, &a, &b, NULL, &c), "matmul descriptor");
    DNNL_TRY(dnnl_primitive_desc_create(pd, &md, NULL, g_engine, NULL), "matmul primitive descriptor");
    return 0;
}

/* Wq [N, K] row-major is the [K, N] matrix in layout "ba": reordered once into
 * the layout oneDNN's matmul picks for a large M (the same for every M). */
static int reorder_weights(Int8Linear *l, const int8_t *wq, AlbError *err) {
    enum { REFERENCE_M = 512 };
    dnnl_primitive_desc_t pd, rpd;
    if (matmul_pd(l, REFERENCE_M, NULL, &pd, err)) return -1;
    l->w_md = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    const char *impl = "?";
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
    snprintf(l->isa, sizeof l->isa, "%s", strchr(impl, ':') ? strchr(impl, ':') + 1 : impl);
    dnnl_primitive_desc_destroy(pd);
    dnnl_memory_desc_t plain;
    dnnl_dims_t dims = {l->K, l->N};
    DNNL_TRY(dnnl_memory_desc_init_by_tag(&plain, 2, dims, dnnl_s8, dnnl_ba), "plain weights descriptor");
    l->w_blocked = alb_xcalloc(dnnl_memory_desc_get_size(&l->w_md), 1);
    dnnl_memory_t src;
    DNNL_TRY(dnnl_memory_create(&src, &plain, g_engine, (void *)wq), "plain weights memory");
    dnnl_status_t s = dnnl_memory_create(&l->w_mem, &l->w_md, g_engine, l->w_blocked);
    dnnl_primitive_t r = NULL;
    if (s == dnnl_success) s = dnnl_reorder_primitive_desc_create(&rpd, &plain, g_engine, &l->w_md, g_engine, NULL);
    if (s == dnnl_success) {
        s = dnnl_primitive_create(&r, rpd);
        dnnl_primitive_desc_destroy(rpd);
    }
    dnnl_exec_arg_t args[] = {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, l->w_mem}};
    if (s == dnnl_success) s = dnnl_primitive_execute(r, l->stream, 2, args);
    if (s == dnnl_success) s = dnnl_stream_wait(l->stream);
    if (r) dnnl_primitive_destroy(r);
    dnnl_memory_destroy(src);
    return s == dnnl_success ? 0 : dnnl_fail(err, "weights reorder", s);
}

int int8_linear_create(Int8Linear **out, const float *w, int N, int K, AlbError *err) {
    *out = NULL;
    if (N < 1 || K < 1 || K > INT8_MAX_K)
        return alb_fail(err, "int8 linear layer [%d, %d]: the input width must be in [1, %d]", N, K, INT8_MAX_K);
    pthread_once(&g_engine_once, engine_make);
    if (g_engine_status != dnnl_success) return dnnl_fail(err, "CPU engine", g_engine_status);
    Int8Linear *l = alb_xcalloc(1, sizeof *l);
    l->N = N;
    l->K = K;
    l->w_scale = alb_xmalloc(sizeof(float) * (size_t)N);
    l->w_sum = alb_xmalloc(sizeof(int32_t) * (size_t)N);
    int8_t *wq = alb_xmalloc((size_t)N * (size_t)K);
    int8_quantize_weights(w, N, K, wq, l->w_scale, l->w_sum);
    dnnl_status_t s = dnnl_stream_create(&l->stream, g_engine, dnnl_stream_default_flags);
    int rc = s == dnnl_success ? reorder_weights(l, wq, err) : dnnl_fail(err, "stream", s);
    free(wq);
    if (rc) {
        int8_linear_free(l);
        return -1;
    }
    *out = l;
    return 0;
}

void int8_linear_free(Int8Linear *l) {
    if (!l) return;
    for (int i = 0; i < PRIMITIVES; i++)
        if (l->cache[i].p) dnnl_primitive_destroy(l->cache[i].p);
    if (l->w_mem) dnnl_memory_destroy(l->w_mem);
    if (l->stream) dnnl_stream_destroy(l->stream);
    free(l->w_blocked);
    free(l->w_scale);
    free(l->w_sum);
    free(l);
}

static int primitive_for(Int8Linear *l, int M, dnnl_primitive_t *p, AlbError *err) {
    for (int i = 0; i < PRIMITIVES; i++)
        if (l->cache[i].p && l->cache[i].M == M) {
            *p = l->cache[i].p;
            return 0;
        }
    dnnl_primitive_desc_t pd;
    if (matmul_pd(l, M, &l->w_md, &pd, err)) return -1;
    dnnl_status_t s = dnnl_primitive_create(p, pd);
    dnnl_primitive_desc_destroy(pd);
    if (s != dnnl_success) return dnnl_fail(err, "matmul primitive", s);
    int slot = l->next;
    l->next = (slot + 1) % PRIMITIVES;
    if (l->cache[slot].p) dnnl_primitive_destroy(l->cache[slot].p);
    l->cache[slot].M = M;
    l->cache[slot].p = *p;
    return 0;
}

int int8_linear_matmul(Int8Linear *l, const uint8_t *xq, int M, int32_t *acc, AlbError *err) {
    dnnl_primitive_t p;
    if (primitive_for(l, M, &p, err)) return -1;
    dnnl_memory_desc_t a, c;
    dnnl_dims_t ad = {M, l->K}, cd = {M, l->N};
    DNNL_TRY(dnnl_memory_desc_init_by_tag(&a, 2, ad, dnnl_u8, dnnl_ab), "source descriptor");
    DNNL_TRY(dnnl_memory_desc_init_by_tag(&c, 2, cd, dnnl_s32, dnnl_ab), "destination descriptor");
    dnnl_memory_t src = NULL, dst = NULL;
    dnnl_status_t s = dnnl_memory_create(&src, &a, g_engine, (void *)xq);
    if (s == dnnl_success) s = dnnl_memory_create(&dst, &c, g_engine, acc);
    dnnl_exec_arg_t args[] = {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, l->w_mem}, {DNNL_ARG_DST, dst}};
    if (s == dnnl_success) s = dnnl_primitive_execute(p, l->stream, 3, args);
    if (s == dnnl_success) s = dnnl_stream_wait(l->stream);
    if (src) dnnl_memory_destroy(src);
    if (dst) dnnl_memory_destroy(dst);
    return s == dnnl_success ? 0 : dnnl_fail(err, "execution", s);
}
