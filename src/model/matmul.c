/* Linear layers on oneDNN's matmul primitive (C API). See matmul.h. */
#include "model/matmul.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include <dnnl.h>
#include <omp.h>

#include "model/int8.h"
#include "util/bf16.h"

/* One primitive per (M, thread count): oneDNN's brgemm matmul fixes its
 * thread partition at creation (same bits whatever it is, but an OMP_NUM_THREADS
 * change must be obeyed). */
typedef struct {
    int M, threads;
    dnnl_primitive_t prim;
} MmPrim;

typedef enum { BE_ONEDNN, BE_OPENBLAS } Backend;

struct MmWeights {
    MmSpec spec;    /* what the caller asked for */
    MmSpec run;     /* what computes: spec, or its float32 twin when emulated */
    Backend be;
    int emulated;   /* bf16 spec on float32 arithmetic */
    /* BE_ONEDNN */
    dnnl_memory_desc_t wmd;  /* the layout the primitive prefers */
    dnnl_memory_t wmem, bmem; /* bmem NULL without a bias */
    dnnl_stream_t stream;
    MmPrim *prims;
    int n_prims, cap_prims;
    /* BE_OPENBLAS: W [N, K] and the bias (NULL: none) */
    float *w32, *b32;
    /* emulation: x and y as float32 */
    float *xbuf, *ybuf;
    size_t xcap, ycap;
    /* MM_S8: the per-output-channel scales and sums (model/int8.h) */
    float *w_scale;
    int32_t *w_sum;
};

/* At most this many primitives per weight: past it the oldest half goes
 * (a server sees every M up to its batch limit; each primitive holds its
 * JIT kernels' references, a few KB). */
enum { MM_MAX_PRIMS = 256 };

static dnnl_engine_t g_engine;
static dnnl_status_t g_engine_status;
static pthread_once_t g_engine_once = PTHREAD_ONCE_INIT;

static void engine_init(void) { g_engine_status = dnnl_engine_create(&g_engine, dnnl_cpu, 0); }

static dnnl_engine_t engine(void) {
    pthread_once(&g_engine_once, engine_init);
    return g_engine_status == dnnl_success ? g_engine : NULL;
}

/* ---------------------------------------------------------------- backends
 * Chosen once per process, from a probe primitive: oneDNN where its matmul is
 * a brgemm one ("brg:<isa>"), else OpenBLAS (float32) or emulation (bf16). */
static struct {
    int f32_onednn, bf16_native;
    char f32_impl[48], bf16_impl[64];        /* mm_impl's names */
    char f32_engine[64], bf16_engine[80];    /* mm_engine's names */
    char s8_impl[48], s8_engine[64];         /* int8: oneDNN's whatever it is ("none" without one) */
} g_be;
static pthread_once_t g_be_once = PTHREAD_ONCE_INIT;

static dnnl_status_t make_pd(dnnl_primitive_desc_t *pd, const MmSpec *s, int M, const dnnl_memory_desc_t *wmd,
                             int bias);

/* oneDNN's implementation for spec ("brg:avx512_core"), "" if none. */
static void probe(const MmSpec *spec, char *impl, size_t size) {
    dnnl_primitive_desc_t pd;
    const char *name = NULL;
    impl[0] = 0;
    if (make_pd(&pd, spec, 32, NULL, 1) != dnnl_success) return;
    if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name) == dnnl_success && name)
        snprintf(impl, size, "%s", name);
    dnnl_primitive_desc_destroy(pd);
}

static void backends_init(void) {
    const char *force = getenv("ALBERTC_MATMUL");
    int openblas = force && !strcmp(force, "openblas");
    char impl[48];
    MmSpec f32 = {.N = 64, .K = 64, .wei = MM_F32, .src = MM_F32, .dst = MM_F32};
    MmSpec bf16 = {.N = 64, .K = 64, .wei = MM_BF16, .src = MM_BF16, .dst = MM_F32};
    probe(&f32, impl, sizeof impl);
    g_be.f32_onednn = !openblas && !strncmp(impl, "brg:", 4);
    if (g_be.f32_onednn) {
        snprintf(g_be.f32_impl, sizeof g_be.f32_impl, "%s", impl);
        snprintf(g_be.f32_engine, sizeof g_be.f32_engine, "onednn-%s", impl + 4);
    } else {
        snprintf(g_be.f32_impl, sizeof g_be.f32_impl, "openblas");
        snprintf(g_be.f32_engine, sizeof g_be.f32_engine, "openblas");
    }
    probe(&bf16, impl, sizeof impl);
    g_be.bf16_native = !openblas && !strncmp(impl, "brg:", 4);
    if (g_be.bf16_native) {
        snprintf(g_be.bf16_impl, sizeof g_be.bf16_impl, "%s", impl);
        snprintf(g_be.bf16_engine, sizeof g_be.bf16_engine, "onednn-%s", impl + 4);
    } else {
        snprintf(g_be.bf16_impl, sizeof g_be.bf16_impl, "emulated:%s", g_be.f32_impl);
        snprintf(g_be.bf16_engine, sizeof g_be.bf16_engine, "emulated-%s", g_be.f32_engine);
    }
    /* int8 sums are exact integers in any order, so any oneDNN matmul keeps a
     * row's bits; the ISA still names the variant: without VNNI u8 x s8 pairs
     * are summed in s16, saturating, and the sums may differ */
    MmSpec s8 = {.N = 64, .K = 64, .wei = MM_S8, .src = MM_U8, .dst = MM_S32};
    probe(&s8, impl, sizeof impl);
    const char *colon = strchr(impl, ':');
    snprintf(g_be.s8_impl, sizeof g_be.s8_impl, "%s", impl[0] ? impl : "none");
    snprintf(g_be.s8_engine, sizeof g_be.s8_engine, impl[0] ? "onednn-%s" : "none", colon ? colon + 1 : impl);
}

static void backends(void) { pthread_once(&g_be_once, backends_init); }

int mm_bf16_native(void) {
    backends();
    return g_be.bf16_native;
}

const char *mm_engine(MmType wei) {
    backends();
    return wei == MM_BF16 ? g_be.bf16_engine : wei == MM_F32 ? g_be.f32_engine : wei == MM_S8 ? g_be.s8_engine : "none";
}

static int dnnl_fail(AlbError *err, const char *what, dnnl_status_t s) {
    return alb_fail(err, "oneDNN: %s failed (dnnl_status %d)", what, (int)s);
}
#define DNNL_TRY(call, what)                         \
    do {                                             \
        dnnl_status_t s_ = (call);                   \
        if (s_ != dnnl_success) return dnnl_fail(err, what, s_); \
    } while (0)

static dnnl_data_type_t dnnl_type(MmType t) {
    switch (t) {
    case MM_F32: return dnnl_f32;
    case MM_BF16: return dnnl_bf16;
    case MM_S8: return dnnl_s8;
    case MM_U8: return dnnl_u8;
    case MM_S32: return dnnl_s32;
    }
    return dnnl_data_type_undef;
}

static int spec_valid(const MmSpec *s) {
    if (s->N <= 0 || s->K <= 0) return 0;
    if (s->wei == MM_F32) return s->src == MM_F32 && s->dst == MM_F32;
    if (s->wei == MM_BF16) return s->src == MM_BF16 && (s->dst == MM_F32 || s->dst == MM_BF16);
    if (s->wei == MM_S8) return s->src == MM_U8 && s->dst == MM_S32 && s->K <= INT8_MAX_K;
    return 0;
}

/* The matmul's primitive descriptor for M rows; wmd NULL: weights in the
 * layout oneDNN prefers (format_tag any). */
static dnnl_status_t make_pd(dnnl_primitive_desc_t *pd, const MmSpec *s, int M, const dnnl_memory_desc_t *wmd,
                             int bias) {
    dnnl_engine_t eng = engine();
    if (!eng) return g_engine_status;
    dnnl_memory_desc_t src, wei, dst, b;
    dnnl_dims_t sd = {M, s->K}, wd = {s->K, s->N}, dd = {M, s->N}, bd = {1, s->N};
    dnnl_status_t st;
    if ((st = dnnl_memory_desc_init_by_tag(&src, 2, sd, dnnl_type(s->src), dnnl_ab))) return st;
    if (wmd) wei = *wmd;
    else if ((st = dnnl_memory_desc_init_by_tag(&wei, 2, wd, dnnl_type(s->wei), dnnl_format_tag_any)))
        return st;
    if ((st = dnnl_memory_desc_init_by_tag(&dst, 2, dd, dnnl_type(s->dst), dnnl_ab))) return st;
    if ((st = dnnl_memory_desc_init_by_tag(&b, 2, bd, dnnl_f32, dnnl_ab))) return st;
    dnnl_matmul_desc_t md;
    if ((st = dnnl_matmul_desc_init(&md, &src, &wei, bias ? &b : NULL, &dst))) return st;
    return dnnl_primitive_desc_create(pd, &md, NULL, eng, NULL);
}

/* The M a weight's layout is chosen for (the layout is the same for every M). */
enum { MM_PROBE_M = 128 };

int mm_available(const MmSpec *spec) {
    if (!spec_valid(spec)) return 0;
    backends();
    if (spec->wei == MM_F32 || spec->wei == MM_BF16) return 1; /* OpenBLAS and emulation have every shape */
    dnnl_primitive_desc_t pd;
    if (make_pd(&pd, spec, MM_PROBE_M, NULL, 1) != dnnl_success) return 0;
    dnnl_primitive_desc_destroy(pd);
    return 1;
}

const char *mm_impl(const MmSpec *spec) {
    if (!spec_valid(spec)) return "none";
    backends();
    if (spec->wei == MM_F32) return g_be.f32_impl;
    if (spec->wei == MM_BF16) return g_be.bf16_impl;
    return g_be.s8_impl;
}

const MmSpec *mm_spec(const MmWeights *w) { return &w->spec; }
const float *mm_w_scale(const MmWeights *w) { return w->w_scale; }
const int32_t *mm_w_sum(const MmWeights *w) { return w->w_sum; }

void mm_f32_to_bf16(const float *x, uint16_t *y, long n) {
#pragma omp simd
    for (long i = 0; i < n; i++) y[i] = bf16_from_f32(x[i]);
}

void mm_bf16_to_f32(const uint16_t *x, float *y, long n) {
#pragma omp simd
    for (long i = 0; i < n; i++) y[i] = f32_from_bf16(x[i]);
}

/* Reorders the [N, K] row-major weight (as type t, at data) into w->wmem. */
static int reorder_weights(MmWeights *w, const void *data, AlbError *err) {
    const MmSpec *s = &w->run;
    dnnl_engine_t eng = engine();
    dnnl_memory_desc_t user;
    dnnl_dims_t wd = {s->K, s->N};
    DNNL_TRY(dnnl_memory_desc_init_by_tag(&user, 2, wd, dnnl_type(s->wei), dnnl_ba), "weight descriptor");
    dnnl_memory_t um;
    DNNL_TRY(dnnl_memory_create(&um, &user, eng, (void *)data), "weight memory");
    dnnl_primitive_desc_t rpd;
    dnnl_status_t st = dnnl_reorder_primitive_desc_create(&rpd, &user, eng, &w->wmd, eng, NULL);
    dnnl_primitive_t r = NULL;
    if (st == dnnl_success) {
        st = dnnl_primitive_create(&r, rpd);
        dnnl_primitive_desc_destroy(rpd);
    }
    if (st == dnnl_success) {
        dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, um}, {DNNL_ARG_TO, w->wmem}};
        st = dnnl_primitive_execute(r, w->stream, 2, args);
        if (st == dnnl_success) st = dnnl_stream_wait(w->stream);
    }
    if (r) dnnl_primitive_destroy(r);
    dnnl_memory_destroy(um);
    return st == dnnl_success ? 0 : dnnl_fail(err, "weight reorder", st);
}

/* w (float32 [N, K]) and bias for OpenBLAS, as the arithmetic sees them:
 * bf16-rounded when emulating bf16. */
static void prepare_openblas(MmWeights *m, const float *w, const float *bias) {
    size_t nk = (size_t)m->spec.N * (size_t)m->spec.K;
    m->w32 = alb_xmalloc(nk * sizeof(float));
    for (size_t i = 0; i < nk; i++) m->w32[i] = m->emulated ? bf16_round(w[i]) : w[i];
    if (bias) {
        m->b32 = alb_xmalloc((size_t)m->spec.N * sizeof(float));
        for (int j = 0; j < m->spec.N; j++) m->b32[j] = m->emulated ? bf16_round(bias[j]) : bias[j];
    }
}

static int prepare_onednn(MmWeights *m, const float *w, const float *bias, AlbError *err) {
    const MmSpec *spec = &m->run;
    dnnl_engine_t eng = engine();
    if (!eng) return dnnl_fail(err, "engine creation", g_engine_status);
    dnnl_primitive_desc_t pd;
    DNNL_TRY(make_pd(&pd, spec, MM_PROBE_M, NULL, bias != NULL), "matmul descriptor");
    m->wmd = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    dnnl_primitive_desc_destroy(pd);
    int rc = -1, round = m->spec.wei == MM_BF16; /* bf16 values, native or emulated */
    size_t nk = (size_t)spec->N * (size_t)spec->K;
    void *conv = NULL;
    const void *src = w;
    dnnl_status_t st;
    if ((st = dnnl_stream_create(&m->stream, eng, dnnl_stream_default_flags))) {
        dnnl_fail(err, "stream creation", st);
        goto out;
    }
    if ((st = dnnl_memory_create(&m->wmem, &m->wmd, eng, DNNL_MEMORY_ALLOCATE))) {
        dnnl_fail(err, "weight allocation", st);
        goto out;
    }
    if (spec->wei == MM_BF16) {
        uint16_t *wb = alb_xmalloc(nk * sizeof *wb);
        mm_f32_to_bf16(w, wb, (long)nk);
        src = conv = wb;
    } else if (round) {
        float *wr = alb_xmalloc(nk * sizeof *wr);
        for (size_t i = 0; i < nk; i++) wr[i] = bf16_round(w[i]);
        src = conv = wr;
    } else if (spec->wei == MM_S8) {
        int8_t *wq = alb_xmalloc(nk);
        m->w_scale = alb_xmalloc(sizeof(float) * (size_t)spec->N);
        m->w_sum = alb_xmalloc(sizeof(int32_t) * (size_t)spec->N);
        int8_quantize_weights(w, spec->N, spec->K, wq, m->w_scale, m->w_sum);
        src = conv = wq;
    }
    if (reorder_weights(m, src, err)) goto out;
    if (bias) {
        dnnl_memory_desc_t bmd;
        dnnl_dims_t bd = {1, spec->N};
        float *bp = NULL;
        if ((st = dnnl_memory_desc_init_by_tag(&bmd, 2, bd, dnnl_f32, dnnl_ab)) ||
            (st = dnnl_memory_create(&m->bmem, &bmd, eng, DNNL_MEMORY_ALLOCATE)) ||
            (st = dnnl_memory_get_data_handle(m->bmem, (void **)&bp))) {
            dnnl_fail(err, "bias allocation", st);
            goto out;
        }
        for (int j = 0; j < spec->N; j++) bp[j] = round ? bf16_round(bias[j]) : bias[j];
    }
    rc = 0;
out:
    free(conv);
    return rc;
}

int mm_prepare(MmWeights **out, const MmSpec *spec, const float *w, const float *bias, AlbError *err) {
    *out = NULL;
    if (!spec_valid(spec) || (spec->wei == MM_S8 && bias))
        return alb_fail(err, "matmul: unsupported types (weights %d, src %d, dst %d, bias %s) or shape [%d, %d]",
                        (int)spec->wei, (int)spec->src, (int)spec->dst, bias ? "yes" : "no", spec->N, spec->K);
    backends();
    MmWeights *m = alb_xcalloc(1, sizeof *m);
    m->spec = m->run = *spec;
    m->be = BE_ONEDNN;
    if (spec->wei == MM_BF16 && !g_be.bf16_native) {
        m->emulated = 1;
        m->run = (MmSpec){.N = spec->N, .K = spec->K, .wei = MM_F32, .src = MM_F32, .dst = MM_F32};
    }
    if (m->run.wei == MM_F32 && !g_be.f32_onednn) m->be = BE_OPENBLAS;
    int rc = 0;
    if (m->be == BE_OPENBLAS) prepare_openblas(m, w, bias);
    else rc = prepare_onednn(m, w, bias, err);
    if (rc) mm_free(m);
    else *out = m;
    return rc;
}

void mm_free(MmWeights *w) {
    if (!w) return;
    for (int i = 0; i < w->n_prims; i++) dnnl_primitive_destroy(w->prims[i].prim);
    free(w->prims);
    if (w->wmem) dnnl_memory_destroy(w->wmem);
    if (w->bmem) dnnl_memory_destroy(w->bmem);
    if (w->stream) dnnl_stream_destroy(w->stream);
    free(w->w32);
    free(w->b32);
    free(w->xbuf);
    free(w->ybuf);
    free(w->w_scale);
    free(w->w_sum);
    free(w);
}

static int get_prim(MmWeights *w, int M, dnnl_primitive_t *out, AlbError *err) {
    int threads = omp_get_max_threads();
    for (int i = w->n_prims - 1; i >= 0; i--)
        if (w->prims[i].M == M && w->prims[i].threads == threads) {
            *out = w->prims[i].prim;
            return 0;
        }
    dnnl_primitive_desc_t pd;
    DNNL_TRY(make_pd(&pd, &w->run, M, &w->wmd, w->bmem != NULL), "matmul descriptor");
    dnnl_primitive_t p;
    dnnl_status_t st = dnnl_primitive_create(&p, pd);
    dnnl_primitive_desc_destroy(pd);
    if (st != dnnl_success) return dnnl_fail(err, "matmul primitive creation", st);
    if (w->n_prims == MM_MAX_PRIMS) {
        int half = MM_MAX_PRIMS / 2;
        for (int i = 0; i < half; i++) dnnl_primitive_destroy(w->prims[i].prim);
        memmove(w->prims, w->prims + half, (size_t)(w->n_prims - half) * sizeof *w->prims);
        w->n_prims -= half;
    }
    if (w->n_prims == w->cap_prims) {
        w->cap_prims = w->cap_prims ? 2 * w->cap_prims : 8;
        w->prims = alb_xrealloc(w->prims, (size_t)w->cap_prims * sizeof *w->prims);
    }
    w->prims[w->n_prims++] = (MmPrim){.M = M, .threads = threads, .prim = p};
    *out = p;
    return 0;
}

static int run_onednn(MmWeights *w, int M, const void *x, void *y, AlbError *err) {
    const MmSpec *s = &w->run;
    dnnl_primitive_t p = NULL;
    if (get_prim(w, M, &p, err)) return -1;
    dnnl_engine_t eng = engine();
    dnnl_memory_desc_t smd, dmd;
    dnnl_dims_t sd = {M, s->K}, dd = {M, s->N};
    DNNL_TRY(dnnl_memory_desc_init_by_tag(&smd, 2, sd, dnnl_type(s->src), dnnl_ab), "src descriptor");
    DNNL_TRY(dnnl_memory_desc_init_by_tag(&dmd, 2, dd, dnnl_type(s->dst), dnnl_ab), "dst descriptor");
    dnnl_memory_t sm = NULL, dm = NULL;
    dnnl_status_t st = dnnl_memory_create(&sm, &smd, eng, (void *)x);
    if (st == dnnl_success) st = dnnl_memory_create(&dm, &dmd, eng, y);
    if (st == dnnl_success) {
        dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, sm}, {DNNL_ARG_WEIGHTS, w->wmem}, {DNNL_ARG_DST, dm},
                                   {DNNL_ARG_BIAS, w->bmem}};
        st = dnnl_primitive_execute(p, w->stream, w->bmem ? 4 : 3, args);
        if (st == dnnl_success) st = dnnl_stream_wait(w->stream);
    }
    if (sm) dnnl_memory_destroy(sm);
    if (dm) dnnl_memory_destroy(dm);
    return st == dnnl_success ? 0 : dnnl_fail(err, "matmul execution", st);
}

/* OpenBLAS (float32 where oneDNN has no brgemm matmul, i.e. CPUs without
 * AVX512): OPENBLAS_SLICES column slices (widths multiples of 16) that the
 * OpenMP threads share, each a single-threaded sgemm over all rows followed
 * by the bias while the slice is in cache. The slices are the same whatever
 * the thread count (some kernels sum a column in another order when the
 * call's width differs). A row's bits may still depend on the batch: OpenBLAS
 * kernels sum a row in another order in a partial block of rows (0.3.21's
 * Haswell kernel: blocks of 12, 8, 4, 2, 1 rows) and in small-matrix paths. */
#define OPENBLAS_SLICES 4

static void run_openblas(const MmWeights *w, int M, const float *x, float *y) {
    int N = w->spec.N, K = w->spec.K;
    int width = ((N + OPENBLAS_SLICES - 1) / OPENBLAS_SLICES + 15) / 16 * 16;
    int blas_threads = openblas_get_num_threads();
    openblas_set_num_threads(1);
#pragma omp parallel for schedule(static) if ((long)M * N * K > (1L << 20))
    for (int s = 0; s < OPENBLAS_SLICES; s++) {
        int j0 = s * width, j1 = j0 + width < N ? j0 + width : N;
        if (j0 >= j1) continue;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, j1 - j0, K, 1.0f, x, K, w->w32 + (size_t)j0 * K, K,
                    0.0f, y + j0, N);
        if (w->b32)
            for (int t = 0; t < M; t++) {
                float *row = y + (size_t)t * N;
#pragma omp simd
                for (int j = j0; j < j1; j++) row[j] += w->b32[j];
            }
    }
    openblas_set_num_threads(blas_threads);
}

static float *grow(float **buf, size_t *cap, size_t n) {
    if (n > *cap) {
        free(*buf);
        *buf = alb_xmalloc(n * sizeof(float));
        *cap = n;
    }
    return *buf;
}

int mm_run(MmWeights *w, int M, const void *x, void *y, AlbError *err) {
    const MmSpec *s = &w->spec;
    if (M <= 0) return alb_fail(err, "matmul: M = %d", M);
    const void *xr = x;
    void *yr = y;
    if (w->emulated) {
        float *xf = grow(&w->xbuf, &w->xcap, (size_t)M * s->K);
        mm_bf16_to_f32(x, xf, (long)M * s->K);
        xr = xf;
        if (s->dst == MM_BF16) yr = grow(&w->ybuf, &w->ycap, (size_t)M * s->N);
    }
    if (w->be == BE_OPENBLAS) run_openblas(w, M, xr, yr);
    else if (run_onednn(w, M, xr, yr, err)) return -1;
    if (yr != y) mm_f32_to_bf16(yr, y, (long)M * s->N);
    return 0;
}
