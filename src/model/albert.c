/* ALBERT forward pass. See albert.h for the contract and
 * ../shared/docs/reference.md for the math; tools/albert_ref.py is the PyTorch
 * reference this file is tested against (tests/test_albert.c). */
#include "model/albert.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include <omp.h>
#include <xxhash.h>

#include "io/safetensors.h"
#include "util/bf16.h"

typedef struct {
    const float *w;  /* [out, in] */
    const float *b;  /* [out] */
    int in, out;
} Linear;

typedef struct {
    const float *g, *b;  /* [n] */
    int n;
} Norm;

typedef struct {
    Linear query, key, value, dense;
    Norm attn_norm;
    Linear ffn, ffn_output;
    Norm full_norm;
} Layer;

struct AlbertModel {
    AlbertConfig c;
    AlbDtype dtype;
    SafeTensors st;
    float **owned;  /* converted weight copies (bf16-rounded, unaligned or non-F32) */
    int n_owned;
    XXH3_state_t *hash_state;
    char hash[33];

    const float *word, *pos, *type0;  /* [V,E], [P,E], [E] (token type 0 only) */
    Norm emb_norm;
    Linear mapping;                   /* E -> H */
    Layer *layers;                    /* [num_hidden_groups * inner_group_num] */
    Linear pooler;

    /* activations, for up to cap_tokens tokens (B*L), cap_len positions, cap_threads threads */
    int cap_tokens, cap_len, cap_threads;
    float *e;          /* [T, E] */
    float *h;          /* [T, H] */
    float *q, *k, *v;  /* [T, H] */
    float *ctx;        /* [T, H] */
    float *a;          /* [T, H] */
    float *tmp;        /* [T, H] */
    float *f;          /* [T, I] */
    float *scores;     /* [threads, L, L] */
    float *mask_add;   /* [T]: 0 or finfo(dtype).min per key */
};

/* ------------------------------------------------------------------ loading */

static int take(AlbertModel *m, const char *name, int ndim, int64_t d0, int64_t d1, const float **out,
                AlbError *err) {
    int64_t shape[2] = {d0, d1};
    float *owned = NULL;
    if (st_get_f32(&m->st, name, "albert.", ndim, shape, out, &owned, err)) return -1;
    size_t n = (size_t)d0 * (size_t)(ndim == 2 ? d1 : 1);
    XXH3_128bits_update(m->hash_state, name, strlen(name) + 1);
    XXH3_128bits_update(m->hash_state, *out, n * sizeof(float));
    if (m->dtype == ALB_BF16) {
        if (!owned) {
            owned = alb_xmalloc(n * sizeof(float));
            memcpy(owned, *out, n * sizeof(float));
        }
        bf16_round_array(owned, (long)n);
    }
    if (owned) {
        m->owned = alb_xrealloc(m->owned, (size_t)(m->n_owned + 1) * sizeof *m->owned);
        m->owned[m->n_owned++] = owned;
        *out = owned;
    }
    return 0;
}

static int take_linear(AlbertModel *m, const char *prefix, int in, int out, Linear *l, AlbError *err) {
    char name[256];
    l->in = in;
    l->out = out;
    snprintf(name, sizeof name, "%s.weight", prefix);
    if (take(m, name, 2, out, in, &l->w, err)) return -1;
    snprintf(name, sizeof name, "%s.bias", prefix);
    return take(m, name, 1, out, 0, &l->b, err);
}

static int take_norm(AlbertModel *m, const char *prefix, int n, Norm *nm, AlbError *err) {
    char name[256];
    nm->n = n;
    snprintf(name, sizeof name, "%s.weight", prefix);
    if (take(m, name, 1, n, 0, &nm->g, err)) return -1;
    snprintf(name, sizeof name, "%s.bias", prefix);
    return take(m, name, 1, n, 0, &nm->b, err);
}

static int load_all(AlbertModel *m, AlbError *err) {
    const AlbertConfig *c = &m->c;
    int E = c->embedding_size, H = c->hidden_size, Inter = c->intermediate_size;
    const float *types;
    if (take(m, "embeddings.word_embeddings.weight", 2, c->vocab_size, E, &m->word, err) ||
        take(m, "embeddings.position_embeddings.weight", 2, c->max_position_embeddings, E, &m->pos, err) ||
        take(m, "embeddings.token_type_embeddings.weight", 2, c->type_vocab_size, E, &types, err) ||
        take_norm(m, "embeddings.LayerNorm", E, &m->emb_norm, err) ||
        take_linear(m, "encoder.embedding_hidden_mapping_in", E, H, &m->mapping, err))
        return -1;
    m->type0 = types;
    m->layers = alb_xcalloc((size_t)c->num_hidden_groups * (size_t)c->inner_group_num, sizeof(Layer));
    for (int g = 0; g < c->num_hidden_groups; g++) {
        for (int i = 0; i < c->inner_group_num; i++) {
            Layer *ly = &m->layers[g * c->inner_group_num + i];
            char p[160], name[200];
            snprintf(p, sizeof p, "encoder.albert_layer_groups.%d.albert_layers.%d", g, i);
#define LIN(field, part, in, out)                                   \
    snprintf(name, sizeof name, "%s.%s", p, part);                  \
    if (take_linear(m, name, in, out, &ly->field, err)) return -1;
#define NORM(field, part, n)                                        \
    snprintf(name, sizeof name, "%s.%s", p, part);                  \
    if (take_norm(m, name, n, &ly->field, err)) return -1;
            LIN(query, "attention.query", H, H)
            LIN(key, "attention.key", H, H)
            LIN(value, "attention.value", H, H)
            LIN(dense, "attention.dense", H, H)
            NORM(attn_norm, "attention.LayerNorm", H)
            LIN(ffn, "ffn", H, Inter)
            LIN(ffn_output, "ffn_output", Inter, H)
            NORM(full_norm, "full_layer_layer_norm", H)
#undef LIN
#undef NORM
        }
    }
    return take_linear(m, "pooler", H, H, &m->pooler, err);
}

static void hash_config(XXH3_state_t *s, const AlbertConfig *c) {
    char buf[512];
    int n = snprintf(buf, sizeof buf,
                     "albert vocab=%d emb=%d hidden=%d layers=%d groups=%d heads=%d inter=%d inner=%d "
                     "maxpos=%d types=%d eps=%.9g act=%s",
                     c->vocab_size, c->embedding_size, c->hidden_size, c->num_hidden_layers,
                     c->num_hidden_groups, c->num_attention_heads, c->intermediate_size, c->inner_group_num,
                     c->max_position_embeddings, c->type_vocab_size, (double)c->layer_norm_eps, c->hidden_act);
    XXH3_128bits_update(s, buf, (size_t)n);
}

int albert_load_weights(AlbertModel **out, const AlbertConfig *config, const char *weights_path, AlbDtype dtype,
                        AlbError *err) {
    *out = NULL;
    const AlbertConfig *c = config;
    if (c->hidden_size % c->num_attention_heads || c->num_hidden_groups <= 0 ||
        c->num_hidden_layers % c->num_hidden_groups || c->type_vocab_size < 1)
        return alb_fail(err, "%s: inconsistent config (hidden %d, heads %d, layers %d, groups %d)", weights_path,
                        c->hidden_size, c->num_attention_heads, c->num_hidden_layers, c->num_hidden_groups);
    if (strcmp(c->hidden_act, "gelu_new") && strcmp(c->hidden_act, "gelu_pytorch_tanh") &&
        strcmp(c->hidden_act, "gelu") && strcmp(c->hidden_act, "relu"))
        return alb_fail(err, "%s: hidden_act '%s' is not supported (gelu_new, gelu_pytorch_tanh, gelu, relu)",
                        weights_path, c->hidden_act);
    AlbertModel *m = alb_xcalloc(1, sizeof *m);
    m->c = *config;
    m->dtype = dtype;
    if (st_open(&m->st, weights_path, err)) {
        free(m);
        return -1;
    }
    m->hash_state = XXH3_createState();
    if (!m->hash_state) abort();
    XXH3_128bits_reset(m->hash_state);
    hash_config(m->hash_state, c);
    if (load_all(m, err)) {
        albert_free(m);
        return -1;
    }
    XXH128_hash_t hv = XXH3_128bits_digest(m->hash_state);
    snprintf(m->hash, sizeof m->hash, "%016llx%016llx", (unsigned long long)hv.high64,
             (unsigned long long)hv.low64);
    *out = m;
    return 0;
}

int albert_load(AlbertModel **out, const char *dir, AlbDtype dtype, AlbError *err) {
    char path[4096];
    AlbertConfig c;
    snprintf(path, sizeof path, "%s/config.json", dir);
    if (albert_config_load(&c, path, err)) return -1;
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    return albert_load_weights(out, &c, path, dtype, err);
}

static void free_activations(AlbertModel *m) {
    float **bufs[] = {&m->e, &m->h, &m->q, &m->k, &m->v, &m->ctx, &m->a, &m->tmp, &m->f,
                      &m->scores, &m->mask_add};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) {
        free(*bufs[i]);
        *bufs[i] = NULL;
    }
}

void albert_free(AlbertModel *m) {
    if (!m) return;
    for (int i = 0; i < m->n_owned; i++) free(m->owned[i]);
    free(m->owned);
    free(m->layers);
    free_activations(m);
    if (m->hash_state) XXH3_freeState(m->hash_state);
    st_close(&m->st);
    free(m);
}

const AlbertConfig *albert_config(const AlbertModel *m) { return &m->c; }
AlbDtype albert_dtype(const AlbertModel *m) { return m->dtype; }
const char *albert_weights_hash(const AlbertModel *m) { return m->hash; }

/* Buffers sized for T tokens of length L and the current OpenMP thread
 * count: grown, never shrunk. */
static void reserve(AlbertModel *m, int T, int L) {
    int threads = omp_get_max_threads();
    if (T <= m->cap_tokens && L <= m->cap_len && threads <= m->cap_threads) return;
    if (T < m->cap_tokens) T = m->cap_tokens;
    if (L < m->cap_len) L = m->cap_len;
    if (threads < m->cap_threads) threads = m->cap_threads;
    free_activations(m);
    size_t t = (size_t)T, E = (size_t)m->c.embedding_size, H = (size_t)m->c.hidden_size;
    m->e = alb_xmalloc(t * E * sizeof(float));
    m->h = alb_xmalloc(t * H * sizeof(float));
    m->q = alb_xmalloc(t * H * sizeof(float));
    m->k = alb_xmalloc(t * H * sizeof(float));
    m->v = alb_xmalloc(t * H * sizeof(float));
    m->ctx = alb_xmalloc(t * H * sizeof(float));
    m->a = alb_xmalloc(t * H * sizeof(float));
    m->tmp = alb_xmalloc(t * H * sizeof(float));
    m->f = alb_xmalloc(t * (size_t)m->c.intermediate_size * sizeof(float));
    m->scores = alb_xmalloc((size_t)threads * (size_t)L * (size_t)L * sizeof(float));
    m->mask_add = alb_xmalloc(t * sizeof(float));
    m->cap_tokens = T;
    m->cap_len = L;
    m->cap_threads = threads;
}

/* ------------------------------------------------------------------ ops
 * Each op reads like torch's: compute in fp32, and in bf16 mode round the
 * op's output once (round_out), exactly where a bf16 torch tensor is stored. */

static inline float rnd(const AlbertModel *m, float x) { return m->dtype == ALB_BF16 ? bf16_round(x) : x; }

static void round_out(const AlbertModel *m, float *x, long n) {
    if (m->dtype == ALB_BF16) bf16_round_array(x, n);
}

/* y[T, out] = x[T, in] W^T + b: one sgemm over all tokens (torch addmm).
 * The threads split the output columns, each running a single-threaded
 * OpenBLAS call on its slice and adding the bias there: one thread pool
 * (OpenMP) for everything, so no BLAS thread spins while our loops run. */
static void linear(const AlbertModel *m, const Linear *l, const float *x, float *y, int T) {
    int bf = m->dtype == ALB_BF16;
#pragma omp parallel if ((long)T * l->out * l->in > (1L << 20))
    {
        int nt = omp_get_num_threads(), id = omp_get_thread_num();
        int chunk = ((l->out + nt - 1) / nt + 15) / 16 * 16;
        int j0 = id * chunk, j1 = j0 + chunk < l->out ? j0 + chunk : l->out;
        if (j0 < j1) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, j1 - j0, l->in, 1.0f, x, l->in,
                        l->w + (size_t)j0 * l->in, l->in, 0.0f, y + j0, l->out);
            for (int t = 0; t < T; t++) {
                float *row = y + (size_t)t * l->out;
                if (bf)
                    for (int j = j0; j < j1; j++) row[j] = bf16_round(row[j] + l->b[j]);
                else
                    for (int j = j0; j < j1; j++) row[j] += l->b[j];
            }
        }
    }
}

/* out = x + y, elementwise over n (the residual adds). */
static void add(const AlbertModel *m, const float *x, const float *y, float *out, long n) {
    for (long i = 0; i < n; i++) out[i] = x[i] + y[i];
    round_out(m, out, n);
}

/* torch 1.13's RowwiseMoments for bf16 input: Welford on 16-lane vectors in
 * chunks of 16, merged by a cascade, then the N % 16 tail and the lanes; with
 * T = BFloat16 every arithmetic step rounds to bf16. Returns mean, biased var. */
enum { MOM_LANES = 16, MOM_CHUNK = 16, MOM_DEPTH = 64 };
#define R bf16_round

static void bf16_add_moments(long m0_add, float m1_add, float m2_add, long *m0, float *m1, float *m2) {
    long n = *m0 + m0_add;
    float c = n == 0 ? 0.0f : R(R((float)m0_add) / R((float)n));
    float delta = R(m1_add - *m1);
    *m1 = R(*m1 + R(c * delta));
    *m2 = R(*m2 + R(m2_add + R(R(R(delta * delta) * c) * R((float)*m0))));
    *m0 = n;
}

typedef struct {
    long m0;
    float m1[MOM_LANES], m2[MOM_LANES];
} Moments;

/* AddMomentsVec: every lane merges with the same counts. */
static void bf16_add_moments_vec(const Moments *add, Moments *acc) {
    for (int l = 0; l < MOM_LANES; l++) {
        long m0 = acc->m0;
        bf16_add_moments(add->m0, add->m1[l], add->m2[l], &m0, &acc->m1[l], &acc->m2[l]);
    }
    acc->m0 += add->m0;
}

static void bf16_moments(const float *x, int N, float *mean, float *var) {
    int n = N / MOM_LANES, chunks = (n + MOM_CHUNK - 1) / MOM_CHUNK, depth = 0;
    while ((1 << depth) < chunks) depth++;
    Moments stk[MOM_DEPTH];
    memset(stk, 0, sizeof(Moments) * (size_t)(depth > 0 ? depth : 1));
    for (int i = 0; i < chunks; i++) {
        int m0 = n - i * MOM_CHUNK < MOM_CHUNK ? n - i * MOM_CHUNK : MOM_CHUNK;
        Moments cur = {.m0 = m0};
        for (int j = 0; j < m0; j++) {
            const float *xv = x + (size_t)(i * MOM_CHUNK + j) * MOM_LANES;
            float c = R(1.0f / (float)(j + 1));
            for (int l = 0; l < MOM_LANES; l++) {
                float d = R(xv[l] - cur.m1[l]);
                cur.m1[l] = R(cur.m1[l] + R(d * c));
                cur.m2[l] = R(cur.m2[l] + R(d * R(xv[l] - cur.m1[l])));
            }
        }
        bf16_add_moments_vec(&cur, &stk[0]);
        for (int j = 1, mask = i + 1; j < depth && (mask & 1) == 0; j++, mask >>= 1) {
            bf16_add_moments_vec(&stk[j - 1], &stk[j]);
            memset(&stk[j - 1], 0, sizeof(Moments));
        }
    }
    for (int i = 1; i < depth; i++) bf16_add_moments_vec(&stk[i], &stk[0]);
    long m0 = 0;
    float m1 = 0.0f, m2 = 0.0f;
    for (int i = n * MOM_LANES; i < N; i++) {
        float d = R(x[i] - m1);
        m0++;
        m1 = R(m1 + R(d / R((float)m0)));
        m2 = R(m2 + R(d * R(x[i] - m1)));
    }
    for (int l = 0; l < MOM_LANES; l++) bf16_add_moments(n, stk[0].m1[l], stk[0].m2[l], &m0, &m1, &m2);
    *mean = m1;
    *var = R(m2 / R((float)N));
}

/* y[T, n] = LayerNorm(x) * g + b, biased variance. */
static void layer_norm(const AlbertModel *m, const Norm *nm, const float *x, float *y, int T) {
    int n = nm->n;
    float eps = m->c.layer_norm_eps;
#pragma omp parallel for if ((long)T * n > 65536)
    for (int t = 0; t < T; t++) {
        const float *xr = x + (size_t)t * n;
        float *yr = y + (size_t)t * n;
        if (m->dtype == ALB_BF16) {
            /* torch 1.13, T = BFloat16: rstd and the shift are bf16 scalars,
             * the affine map runs in fp32 and is rounded once. */
            float mean, var;
            bf16_moments(xr, n, &mean, &var);
            float rstd = R(1.0f / R(sqrtf(R(var + R(eps)))));
            float shift = R(-rstd * mean);
            for (int j = 0; j < n; j++) yr[j] = R((xr[j] * rstd + shift) * nm->g[j] + nm->b[j]);
        } else {
            double s = 0.0, ss = 0.0;
            for (int j = 0; j < n; j++) s += xr[j];
            double mean = s / n;
            for (int j = 0; j < n; j++) ss += (xr[j] - mean) * (xr[j] - mean);
            float rstd = (float)(1.0 / sqrt(ss / n + (double)eps));
            float fmean = (float)mean;
            for (int j = 0; j < n; j++) yr[j] = (xr[j] - fmean) * rstd * nm->g[j] + nm->b[j];
        }
    }
}
#undef R

/* The activation, in place over n values. gelu_new is NewGELUActivation's
 * Python formula, one torch op at a time (each rounds in bf16 mode, with the
 * Python scalars as bf16); torch's fused gelu(approximate="tanh") kernel does
 * the same steps in bf16, so gelu_pytorch_tanh shares the code. */
static void activation(const AlbertModel *m, float *x, long n) {
    const char *act = m->c.hidden_act;
    if (!strcmp(act, "relu")) {
        for (long i = 0; i < n; i++) x[i] = x[i] > 0.0f ? x[i] : 0.0f;
    } else if (!strcmp(act, "gelu")) { /* exact (erf) form: one torch op */
        for (long i = 0; i < n; i++) x[i] = rnd(m, 0.5f * x[i] * (1.0f + erff(x[i] * (float)M_SQRT1_2)));
    } else { /* gelu_new, gelu_pytorch_tanh: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
        const float c3 = rnd(m, 0.044715f), k = rnd(m, (float)sqrt(2.0 / M_PI));
#pragma omp parallel for if (n > 65536)
        for (long i = 0; i < n; i++) {
            float xi = x[i];
            float cube = rnd(m, rnd(m, xi * xi) * xi);
            float inner = rnd(m, rnd(m, xi + rnd(m, cube * c3)) * k);
            float t = rnd(m, 1.0f + rnd(m, tanhf(inner)));
            x[i] = rnd(m, rnd(m, 0.5f * xi) * t);
        }
    }
}

/* Multi-head self-attention core: ctx[b, i, head] = softmax(q k^T / sqrt(d) + mask_add) v,
 * one (batch, head) pair per iteration, heads merged back into [T, H]. */
static void attention(AlbertModel *m, int B, int L) {
    int H = m->c.hidden_size, nh = m->c.num_attention_heads, d = H / nh;
    float scale_div = rnd(m, (float)sqrt((double)d));
#pragma omp parallel for schedule(dynamic) if ((long)B * L * L * H > 65536)
    for (int bh = 0; bh < B * nh; bh++) {
        int b = bh / nh, head = bh % nh;
        float *s = m->scores + (size_t)omp_get_thread_num() * (size_t)L * (size_t)L;
        const float *q = m->q + (size_t)b * L * H + head * d;
        const float *k = m->k + (size_t)b * L * H + head * d;
        const float *v = m->v + (size_t)b * L * H + head * d;
        const float *madd = m->mask_add + (size_t)b * L;
        float *ctx = m->ctx + (size_t)b * L * H + head * d;
        for (int i = 0; i < L; i++) {
            float *si = s + (size_t)i * L;
            /* s = q k^T  [L, L]; s = s / sqrt(d); s = s + mask_add  (three torch ops) */
            float mx = -INFINITY;
            for (int j = 0; j < L; j++) {
                float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
                for (int c = 0; c < d; c++) acc += q[(size_t)i * H + c] * k[(size_t)j * H + c];
                float sc = rnd(m, rnd(m, rnd(m, acc) / scale_div) + madd[j]);
                si[j] = sc;
                if (sc > mx) mx = sc;
            }
            /* softmax in fp32, rounded once */
            float sum = 0.0f;
            for (int j = 0; j < L; j++) {
                si[j] = expf(si[j] - mx);
                sum += si[j];
            }
            float inv = 1.0f / sum;
            for (int j = 0; j < L; j++) si[j] = rnd(m, si[j] * inv);
            /* ctx_i = p_i v  [d] */
            float *ci = ctx + (size_t)i * H;
            for (int c = 0; c < d; c++) ci[c] = 0.0f;
            for (int j = 0; j < L; j++) {
                float p = si[j];
                if (p == 0.0f) continue;
                const float *vj = v + (size_t)j * H;
#pragma omp simd
                for (int c = 0; c < d; c++) ci[c] += p * vj[c];
            }
            for (int c = 0; c < d; c++) ci[c] = rnd(m, ci[c]);
        }
    }
}

/* One AlbertLayer on h [T, H], in place. */
static void layer_forward(AlbertModel *m, const Layer *ly, int B, int L) {
    int T = B * L, H = m->c.hidden_size, Inter = m->c.intermediate_size;
    linear(m, &ly->query, m->h, m->q, T);  /* [T, H] */
    linear(m, &ly->key, m->h, m->k, T);
    linear(m, &ly->value, m->h, m->v, T);
    attention(m, B, L);                                  /* ctx [T, H] */
    linear(m, &ly->dense, m->ctx, m->tmp, T);            /* [T, H] */
    add(m, m->h, m->tmp, m->tmp, (long)T * H);           /* h + dense(ctx) */
    layer_norm(m, &ly->attn_norm, m->tmp, m->a, T);      /* a [T, H] */
    linear(m, &ly->ffn, m->a, m->f, T);                  /* [T, I] */
    activation(m, m->f, (long)T * Inter);
    linear(m, &ly->ffn_output, m->f, m->tmp, T);         /* [T, H] */
    add(m, m->tmp, m->a, m->tmp, (long)T * H);           /* ffn(a) + a */
    layer_norm(m, &ly->full_norm, m->tmp, m->h, T);      /* h [T, H] */
}

int albert_forward(AlbertModel *m, int B, int L, const int32_t *ids, const int32_t *mask,
                   float *last_hidden, float *cls, float *pooler, AlbError *err) {
    const AlbertConfig *c = &m->c;
    if (B <= 0 || L <= 0) return alb_fail(err, "albert_forward: empty batch (B=%d, L=%d)", B, L);
    if (L > c->max_position_embeddings)
        return alb_fail(err, "albert_forward: sequence length %d exceeds max_position_embeddings %d", L,
                        c->max_position_embeddings);
    for (long i = 0; i < (long)B * L; i++)
        if (ids[i] < 0 || ids[i] >= c->vocab_size)
            return alb_fail(err, "albert_forward: token id %d at [%ld, %ld] outside the vocabulary [0, %d)",
                            (int)ids[i], i / L, i % L, c->vocab_size);
    int T = B * L, E = c->embedding_size, H = c->hidden_size;
    reserve(m, T, L);
    int blas_threads = openblas_get_num_threads();
    openblas_set_num_threads(1);  /* linear() runs one BLAS call per OpenMP thread */

    /* e = LayerNorm((word[x] + type[0]) + pos[i])  [T, E]: two adds, each a torch op */
#pragma omp parallel for if ((long)T * E > 65536)
    for (int t = 0; t < T; t++) {
        const float *w = m->word + (size_t)ids[t] * E, *p = m->pos + (size_t)(t % L) * E;
        float *e = m->e + (size_t)t * E;
        for (int j = 0; j < E; j++) e[j] = rnd(m, rnd(m, w[j] + m->type0[j]) + p[j]);
    }
    layer_norm(m, &m->emb_norm, m->e, m->e, T);
    linear(m, &m->mapping, m->e, m->h, T);  /* h [T, H] */

    /* extended mask: (1 - m) * finfo(dtype).min, added to every query's scores */
    float neg = m->dtype == ALB_BF16 ? f32_from_bf16(0xff7f) : -FLT_MAX;
    for (int t = 0; t < T; t++) m->mask_add[t] = (!mask || mask[t]) ? 0.0f : neg;

    int per_group = c->num_hidden_layers / c->num_hidden_groups;
    for (int l = 0; l < c->num_hidden_layers; l++) {
        int g = l / per_group;
        for (int i = 0; i < c->inner_group_num; i++) layer_forward(m, &m->layers[g * c->inner_group_num + i], B, L);
    }

    if (last_hidden) memcpy(last_hidden, m->h, (size_t)T * H * sizeof(float));
    float *cls_rows = m->tmp;  /* h[:, 0]  [B, H] */
    for (int b = 0; b < B; b++) memcpy(cls_rows + (size_t)b * H, m->h + (size_t)b * L * H, H * sizeof(float));
    if (cls) memcpy(cls, cls_rows, (size_t)B * H * sizeof(float));
    if (pooler) {
        /* pooler = tanh(h[:, 0] Wp^T + bp)  [B, H] */
        linear(m, &m->pooler, cls_rows, pooler, B);
        for (long i = 0; i < (long)B * H; i++) pooler[i] = rnd(m, tanhf(pooler[i]));
    }
    openblas_set_num_threads(blas_threads);
    return 0;
}
