#include "model/head.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "util/bf16.h"
#include "util/clones.h"
#include "util/splitmix.h"

const char *const HEAD_TENSOR_NAMES[HEAD_N_TENSORS] = {
    "classifier.0.weight", "classifier.0.bias", "classifier.2.weight", "classifier.2.bias"};

/* In bf16 mode every torch op stores its result as bf16. */
static void round_if(const Head *h, float *x, long n) {
    if (h->bf16) bf16_round_array(x, n);
}

static void tensor_shape(const Head *h, int i, int *ndim, int64_t shape[2]) {
    int64_t rows[HEAD_N_TENSORS] = {h->mlp, h->mlp, h->classes, h->classes};
    int64_t cols[HEAD_N_TENSORS] = {h->hidden, 0, h->mlp, 0};
    shape[0] = rows[i];
    shape[1] = cols[i];
    *ndim = cols[i] ? 2 : 1;
}

int head_create(Head *h, int hidden, int mlp, int classes, int bf16, int max_batch, AlbError *err) {
    memset(h, 0, sizeof *h);
    if (hidden < 1 || mlp < 1 || classes < 2 || max_batch < 1 || hidden > (1 << 16) || mlp > (1 << 16) ||
        classes > (1 << 20) || max_batch > (1 << 20))
        return alb_fail(err, "head: invalid sizes hidden=%d mlp=%d classes=%d batch=%d", hidden, mlp,
                        classes, max_batch);
    h->hidden = hidden;
    h->mlp = mlp;
    h->classes = classes;
    h->bf16 = bf16 ? 1 : 0;
    h->max_batch = max_batch;
    h->numel[0] = (long)mlp * hidden;
    h->numel[1] = mlp;
    h->numel[2] = (long)classes * mlp;
    h->numel[3] = classes;
    h->n_params = h->numel[0] + h->numel[1] + h->numel[2] + h->numel[3];
    h->params = alb_xcalloc((size_t)h->n_params, sizeof(float));
    h->grads = alb_xcalloc((size_t)h->n_params, sizeof(float));
    h->grads_new = alb_xcalloc((size_t)h->n_params, sizeof(float));
    h->w1 = h->params;
    h->b1 = h->w1 + h->numel[0];
    h->w2 = h->b1 + h->numel[1];
    h->b2 = h->w2 + h->numel[2];
    h->gw1 = h->grads;
    h->gb1 = h->gw1 + h->numel[0];
    h->gw2 = h->gb1 + h->numel[1];
    h->gb2 = h->gw2 + h->numel[2];
    size_t B = (size_t)max_batch;
    h->x = alb_xcalloc(B * hidden, sizeof(float));
    h->pre = alb_xcalloc(B * mlp, sizeof(float));
    h->act = alb_xcalloc(B * mlp, sizeof(float));
    h->logits = alb_xcalloc(B * classes, sizeof(float));
    h->logp = alb_xcalloc(B * classes, sizeof(float));
    h->dlogits = alb_xcalloc(B * classes, sizeof(float));
    h->dact = alb_xcalloc(B * mlp, sizeof(float));
    h->xt = alb_xcalloc(B * (hidden > mlp ? hidden : mlp), sizeof(float));
    h->yt = alb_xcalloc(B * (mlp > classes ? mlp : classes), sizeof(float));
    return 0;
}

void head_free(Head *h) {
    free(h->params);
    free(h->grads);
    free(h->grads_new);
    free(h->x);
    free(h->pre);
    free(h->act);
    free(h->logits);
    free(h->logp);
    free(h->dlogits);
    free(h->dact);
    free(h->xt);
    free(h->yt);
    memset(h, 0, sizeof *h);
}

void head_init_params(Head *h, uint64_t seed) {
    uint64_t state = seed;
    float *tensor = h->params;
    for (int i = 0; i < HEAD_N_TENSORS; i++) {
        int fan_in = i < 2 ? h->hidden : h->mlp;
        float bound = 1.0f / sqrtf((float)fan_in);
        for (long j = 0; j < h->numel[i]; j++) {
            float u = (float)(splitmix64(&state) >> 40) * 0x1p-24f;
            tensor[j] = bound * (2.0f * u - 1.0f);
        }
        tensor += h->numel[i];
    }
    round_if(h, h->params, h->n_params);
}

int head_read_tensors(const Head *h, const SafeTensors *st, const char *prefix, const char *suffix, float *values,
                      AlbError *err) {
    for (int i = 0; i < HEAD_N_TENSORS; i++) {
        int ndim;
        int64_t shape[2];
        tensor_shape(h, i, &ndim, shape);
        char name[256];
        snprintf(name, sizeof name, "%s%s%s", prefix, HEAD_TENSOR_NAMES[i], suffix);
        const float *data;
        float *owned;
        if (st_get_f32(st, name, NULL, ndim, shape, &data, &owned, err)) return -1;
        memcpy(values, data, (size_t)h->numel[i] * sizeof(float));
        free(owned);
        values += h->numel[i];
    }
    return 0;
}

int head_load_from(Head *h, const SafeTensors *st, AlbError *err) {
    if (head_read_tensors(h, st, "", "", h->params, err)) return -1;
    for (long i = 0; i < h->n_params; i++)
        if (!isfinite(h->params[i])) return alb_fail(err, "%s: head parameters are not finite", st->path);
    round_if(h, h->params, h->n_params);
    return 0;
}

int head_load(Head *h, const char *path, AlbError *err) {
    SafeTensors st;
    if (st_open(&st, path, err)) return -1;
    int rc = head_load_from(h, &st, err);
    st_close(&st);
    return rc;
}

int head_create_from_file(Head *h, const char *path, int bf16, int max_batch, AlbError *err) {
    SafeTensors st;
    if (st_open(&st, path, err)) return -1;
    const StTensor *w1 = st_find(&st, HEAD_TENSOR_NAMES[0]);
    const StTensor *w2 = st_find(&st, HEAD_TENSOR_NAMES[2]);
    int rc = -1;
    if (!w1 || !w2 || w1->ndim != 2 || w2->ndim != 2)
        alb_fail(err, "%s: no 2-D %s and %s: not a classification head", path, HEAD_TENSOR_NAMES[0],
                 HEAD_TENSOR_NAMES[2]);
    else if (w2->shape[1] != w1->shape[0] || w1->shape[0] > (1 << 16) || w1->shape[1] > (1 << 16) ||
             w2->shape[0] > (1 << 20))
        alb_fail(err, "%s: head weight shapes [%lld,%lld] and [%lld,%lld] do not chain", path,
                 (long long)w1->shape[0], (long long)w1->shape[1], (long long)w2->shape[0],
                 (long long)w2->shape[1]);
    else if (head_create(h, (int)w1->shape[1], (int)w1->shape[0], (int)w2->shape[0], bf16, max_batch, err) == 0)
        rc = head_load_from(h, &st, err);
    if (rc && h->params) head_free(h);
    st_close(&st);
    return rc;
}

void head_add_tensors(const Head *h, StWriter *w, const float *values, const char *prefix, const char *suffix) {
    uint16_t *bf = h->bf16 ? alb_xmalloc((size_t)h->numel[0] * sizeof(uint16_t)) : NULL;
    for (int i = 0; i < HEAD_N_TENSORS; i++) {
        int ndim;
        int64_t shape[2];
        tensor_shape(h, i, &ndim, shape);
        char name[256];
        snprintf(name, sizeof name, "%s%s%s", prefix, HEAD_TENSOR_NAMES[i], suffix);
        if (h->bf16) {
            long n = h->numel[i];
            if (n > h->numel[0]) bf = alb_xrealloc(bf, (size_t)n * sizeof(uint16_t));
            for (long j = 0; j < n; j++) bf[j] = bf16_from_f32(values[j]);
            st_writer_add(w, name, ST_BF16, ndim, shape, bf);
        } else {
            st_writer_add_f32(w, name, ndim, shape, values);
        }
        values += h->numel[i];
    }
    free(bf);
}

int head_save(const Head *h, const char *path, AlbError *err) {
    StWriter *w = st_writer_new();
    head_add_tensors(h, w, h->params, "", "");
    st_writer_set_meta(w, "format", "pt");
    int rc = st_writer_save(w, path, err);
    st_writer_free(w);
    return rc;
}

/* GELU as torch 1.13 CPU computes it: through oneDNN's eltwise kernel
 * (gelu_erf), whose erf is Abramowitz & Stegun 7.1.26 and whose exp is its
 * own polynomial, all float with FMAs. Replayed step by step so the result is
 * bit-equal to torch fp32 (bf16 rounds this once). */
static float onednn_expf(float v) {
    if (v < -0x1.5d58a0p+6f) return 0.0f;            /* below ln(FLT_MIN) */
    v = fminf(v, 0x1.62e430p+6f);                     /* ln(FLT_MAX) */
    float n = floorf(v * 0x1.715476p+0f + 0.5f);      /* round(v / ln 2) */
    float r = fmaf(-n, 0x1.62e430p-1f, v);            /* v - n ln 2 */
    float p = fmaf(0x1.0f9f9cp-7f, r, 0x1.573a1ap-5f);
    p = fmaf(p, r, 0x1.555a80p-3f);
    p = fmaf(p, r, 0x1.fffdc6p-2f);
    p = fmaf(p, r, 0x1.fffff6p-1f);
    p = fmaf(p, r, 1.0f);
    return p * ldexpf(1.0f, (int)n);
}

/* erf(x) = sign(x) (1 - poly(t) t e^{-x^2}), t = 1 / (1 + p|x|); q = e^{-x^2} given. */
static float onednn_erf(float x, float q) {
    float t = 1.0f / fmaf(0x1.4f740ap-2f, fabsf(x), 1.0f);
    float r = fmaf(0x1.0fb844p+0f, t, -0x1.7401c6p+0f);
    r = fmaf(r, t, 0x1.6be1c6p+0f);
    r = fmaf(r, t, -0x1.23531cp-2f);
    r = fmaf(r, t, 0x1.04f20cp-2f);
    float e = fmaf(-q * t, r, 1.0f);
    return signbit(x) ? -e : e;
}

#define INV_SQRT2 0x1.6a09e6p-1f

/* gelu(s) = s/2 (1 + erf(s / sqrt 2)) */
static float gelu(float s) {
    float x = s * INV_SQRT2;
    float erf = onednn_erf(x, onednn_expf(-(x * x)));
    float half_s = 0.5f * s;
    return fmaf(erf, half_s, half_s);
}

/* dy * gelu'(s), gelu'(s) = (1 + erf(x)) / 2 + x e^{-x^2} / sqrt(pi), x = s / sqrt 2 */
static float gelu_backward(float dy, float s) {
    float x = s * INV_SQRT2;
    float q = onednn_expf(-(x * x));
    float density = x * 0x1.20dd74p-1f * q;  /* x / sqrt(pi) e^{-x^2} */
    float d = fmaf(onednn_erf(x, q), 0.5f, density + 0.5f);
    return d * dy;
}

/* The elementwise GELU loops are functions of their own so that a portable
 * build can clone them (util/clones.h): fmaf is then an instruction. */
HOT_CLONES static void gelu_array(float *act, const float *pre, long n) {
    for (long i = 0; i < n; i++) act[i] = gelu(pre[i]);
}

/* d = dy in, d * gelu'(pre) out */
HOT_CLONES static void gelu_backward_array(float *d, const float *pre, long n) {
    for (long i = 0; i < n; i++) d[i] = gelu_backward(d[i], pre[i]);
}

/* The head's matrix products are our own, not BLAS: every output is one sum
 * in a fixed order, so training results (metrics, checkpoints, resume) are
 * bit-identical on every machine, OpenBLAS kernel, ISA and thread count. A BLAS
 * may sum in any order (kernels differ by CPU), which moves fp32 results by
 * rounding and, through AdamW, whole training runs.
 *
 * y[i,j] = sum over r = 0, 1, ..., R-1 of a(i,r) * b[r,j], each term rounded
 * to float, then added to a float accumulator that starts at 0 (no fused
 * multiply-add: the Makefile pins -ffp-contract=off). a(i,r) = a[i*ai + r*ar],
 * so a may be read transposed; b is [R,J] row-major.
 *
 * Written in axpy form (acc[i][0..J) += a(i,r) * b[r][0..J)): the compiler
 * vectorizes across the outputs j, never inside one sum. Tiles of TI x TJ
 * accumulators stay in registers while r runs; tiling and the split of tiles
 * between threads change which outputs are computed together, never the
 * order of any one sum. */
enum { TI = 8, TJ = 8 };
/* TJ floats: one vector register where the ISA has 256-bit vectors, two of 128 where not. */
typedef float TileRow __attribute__((vector_size(TJ * sizeof(float))));

static inline __attribute__((always_inline)) void product_tile(float *y, const float *a, long ai, long ar,
                                                               const float *b, int J, int R, int i0, int ni,
                                                               int j0, int nj) {
    TileRow acc[TI] = {0}, bv = {0};
    for (int r = 0; r < R; r++) {
        memcpy(&bv, b + (size_t)r * J + j0, (size_t)nj * sizeof(float));
        for (int i = 0; i < ni; i++) acc[i] += a[(i0 + i) * ai + r * ar] * bv;
    }
    for (int i = 0; i < ni; i++) memcpy(y + (size_t)(i0 + i) * J + j0, &acc[i], (size_t)nj * sizeof(float));
}

/* Tile t (row-major over the tile grid) of the product. In a portable build
 * the AVX2 clone is 2x faster. */
HOT_CLONES static void product_tile_at(float *y, const float *a, long ai, long ar, const float *b, int I, int J,
                                       int R, int t) {
    int tiles_j = (J + TJ - 1) / TJ, i0 = t / tiles_j * TI, j0 = t % tiles_j * TJ;
    if (i0 + TI <= I && j0 + TJ <= J)  /* constant sizes: the inlined loops unroll into registers */
        product_tile(y, a, ai, ar, b, J, R, i0, TI, j0, TJ);
    else
        product_tile(y, a, ai, ar, b, J, R, i0, I - i0 < TI ? I - i0 : TI, j0, J - j0 < TJ ? J - j0 : TJ);
}

/* Work (multiply-adds) below which threads cost more than they save (~1 ms).
 * A training step at batch 8 (1.6M for the largest product) stays on one
 * thread: waking a second one for each of its products made the seed's
 * schedule 3x slower on a loaded 2-core machine. */
#define PRODUCT_PARALLEL_WORK (1L << 24)

static void product(float *y, const float *a, long ai, long ar, const float *b, int I, int J, int R) {
    int tiles = (I + TI - 1) / TI * ((J + TJ - 1) / TJ);
    /* tiles are independent outputs: any thread may compute any of them */
#pragma omp parallel for schedule(static) if ((long)I * J * R >= PRODUCT_PARALLEL_WORK)
    for (int t = 0; t < tiles; t++) product_tile_at(y, a, ai, ar, b, I, J, R, t);
}

/* y[B,N] = x[B,K] w[N,K]^T + b[N], as torch's addmm: the product, then the bias
 * added to it. Computed as y^T [N,B] = w xT with xT [K,B] (a transposed copy in
 * `xt`) so the axpy runs along the rows of the batch. */
static void linear(float *y, const float *x, const float *w, const float *b, int B, int N, int K, float *xt,
                   float *yt) {
    for (int i = 0; i < B; i++)
        for (int k = 0; k < K; k++) xt[(size_t)k * B + i] = x[(size_t)i * K + k];
    product(yt, w, K, 1, xt, N, B, K);
    for (int i = 0; i < B; i++)
        for (int n = 0; n < N; n++) y[(size_t)i * N + n] = b[n] + yt[(size_t)n * B + i];
}

void head_forward(Head *h, const float *x, int B) {
    int H = h->hidden, M = h->mlp, C = h->classes;
    h->batch = B;
    memcpy(h->x, x, (size_t)B * H * sizeof(float));
    round_if(h, h->x, (long)B * H);                     /* features.to(dtype) */
    linear(h->pre, h->x, h->w1, h->b1, B, M, H, h->xt, h->yt);  /* pre [B,M] */
    round_if(h, h->pre, (long)B * M);
    gelu_array(h->act, h->pre, (long)B * M);            /* act [B,M] */
    round_if(h, h->act, (long)B * M);
    linear(h->logits, h->act, h->w2, h->b2, B, C, M, h->xt, h->yt);  /* logits [B,C] */
    round_if(h, h->logits, (long)B * C);
}

/* log_softmax of one row. In bf16 torch 1.13 keeps the sum of exponentials and
 * its log as bf16 scalars, and rounds x - max - lse once. */
static void log_softmax_row(const Head *h, const float *z, float *out, int C) {
    float mx = z[0];
    for (int j = 1; j < C; j++) mx = z[j] > mx ? z[j] : mx;
    float sum = 0.0f;
    for (int j = 0; j < C; j++) sum += expf(z[j] - mx);
    float lse = h->bf16 ? bf16_round(logf(bf16_round(sum))) : logf(sum);
    for (int j = 0; j < C; j++) out[j] = z[j] - mx - lse;
    round_if(h, out, C);
}

/* Rounds as the loss's scalar type does: float, or bf16 arithmetic. */
static float scalar_round(const Head *h, float x) { return h->bf16 ? bf16_round(x) : x; }

float head_loss(Head *h, const int *labels) {
    int B = h->batch, C = h->classes;
    for (int i = 0; i < B; i++) log_softmax_row(h, h->logits + (size_t)i * C, h->logp + (size_t)i * C, C);
    /* nll_loss(mean): torch's cascade sum, 8 levels of 16 (batch < 2^32), in the loss's dtype */
    enum { LEVELS = 8, LEVEL_BITS = 4 };
    float partial[LEVELS] = {0};
    for (int b = 0; b < B; b++) {
        partial[0] = scalar_round(h, partial[0] - h->logp[(size_t)b * C + labels[b]]);
        for (int j = 0; j + 1 < LEVELS; j++) {
            if ((unsigned)b & (0xFu << (j * LEVEL_BITS))) break;
            partial[j + 1] = scalar_round(h, partial[j + 1] + partial[j]);
            partial[j] = 0.0f;
        }
    }
    float total = 0.0f;
    for (int j = 0; j < LEVELS; j++) total = scalar_round(h, total + partial[j]);
    return scalar_round(h, total / (float)B);
}

void head_backward(Head *h, const int *labels, float scale) {
    int B = h->batch, H = h->hidden, M = h->mlp, C = h->classes;
    float *gw1 = h->grads_new, *gb1 = gw1 + h->numel[0], *gw2 = gb1 + h->numel[1], *gb2 = gw2 + h->numel[2];
    /* d loss / d logp[b, label_b] = -scale / B (nll_loss backward) */
    float g = scalar_round(h, scalar_round(h, scale) / (float)B);
    /* log_softmax backward: dz = dlogp - exp(logp) * sum(dlogp), sum(dlogp) = -g   [B,C] */
    for (int b = 0; b < B; b++) {
        const float *lp = h->logp + (size_t)b * C;
        float *dz = h->dlogits + (size_t)b * C;
        for (int j = 0; j < C; j++) dz[j] = (j == labels[b] ? -g : 0.0f) - expf(lp[j]) * -g;
    }
    round_if(h, h->dlogits, (long)B * C);
    /* second linear: gw2 [C,M] = dz^T act, gb2 [C] = sum_b dz, dact [B,M] = dz w2 */
    product(gw2, h->dlogits, 1, C, h->act, C, M, B);
    memset(gb2, 0, (size_t)C * sizeof(float));
    for (int b = 0; b < B; b++)
        for (int j = 0; j < C; j++) gb2[j] += h->dlogits[(size_t)b * C + j];
    product(h->dact, h->dlogits, C, 1, h->w2, B, M, C);
    round_if(h, h->dact, (long)B * M);
    /* GELU backward, in place: dact becomes dpre [B,M] */
    gelu_backward_array(h->dact, h->pre, (long)B * M);
    round_if(h, h->dact, (long)B * M);
    /* first linear: gw1 [M,H] = dpre^T x, gb1 [M] = sum_b dpre */
    product(gw1, h->dact, 1, M, h->x, M, H, B);
    memset(gb1, 0, (size_t)M * sizeof(float));
    for (int b = 0; b < B; b++)
        for (int j = 0; j < M; j++) gb1[j] += h->dact[(size_t)b * M + j];
    round_if(h, h->grads_new, h->n_params);
    /* .grad += new gradient (torch's AccumulateGrad), rounded in bf16 */
    for (long i = 0; i < h->n_params; i++) h->grads[i] += h->grads_new[i];
    round_if(h, h->grads, h->n_params);
}

void head_zero_grad(Head *h) { memset(h->grads, 0, (size_t)h->n_params * sizeof(float)); }

int head_argmax(const float *z, int C) {
    int best = 0;
    for (int j = 1; j < C; j++)
        if (!isnan(z[best]) && (z[j] > z[best] || isnan(z[j]))) best = j;
    return best;
}

void head_predict(const Head *h, int *pred) {
    for (int b = 0; b < h->batch; b++) pred[b] = head_argmax(h->logits + (size_t)b * h->classes, h->classes);
}
