/* ALBERT forward pass. See albert.h for the contract and docs/reference.md
 * for the math; tools/albert_ref.py is the PyTorch reference this file is
 * tested against (tests/test_albert.c). */
#include "model/albert.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/mman.h>

#ifdef __AVX512F__
#include <immintrin.h>
#endif
#include <omp.h>
#include <sleef.h>
#include <xxhash.h>

#include "io/safetensors.h"
#include "model/int8.h"
#include "model/matmul.h"
#include "util/bf16.h"

typedef struct {
    const float *w;  /* [out, in] (until prepared: the float32 weight as loaded) */
    const float *b;  /* [out] (int8: added in our epilogue, not by the product) */
    int in, out;
    MmWeights *mm;   /* the weight in the engine's dtype and layout (model/matmul.h) */
} Linear;

typedef struct {
    const float *g, *b;  /* [n] */
    int n;
} Norm;

typedef enum { ACT_GELU_NEW, ACT_GELU, ACT_RELU } Activation;  /* gelu_pytorch_tanh = gelu_new */

typedef struct {
    Linear qkv;  /* query, key, value fused: [3H, H], built at load (one GEMM instead of three) */
    Linear dense;
    Norm attn_norm;
    Linear ffn, ffn_output;
    Norm full_norm;
} Layer;

struct AlbertModel {
    AlbertConfig c;
    AlbDtype dtype;
    Activation act;
    SafeTensors st;
    float **owned;  /* converted weight copies (bf16-rounded, unaligned or non-F32) */
    int n_owned;
    XXH3_state_t *hash_state;
    char hash[33];
    char engine[96];  /* albert_engine */
    uint16_t *act_bf16; /* bf16 mode: the activation of every bf16 value [65536] */

    const float *word, *pos, *types;  /* [V,E], [P,E], [type_vocab_size,E] */
    Norm emb_norm;
    Linear mapping;                   /* E -> H */
    Layer *layers;                    /* [num_hidden_groups * inner_group_num] */
    Linear pooler;

    /* activations for up to cap_tokens computed rows (T), cap_batch sequences
     * of up to cap_len positions, cap_threads threads */
    int cap_tokens, cap_batch, cap_len, cap_threads;
    int *rows;         /* [T]: computed row -> index b * L + i in the [B, L] batch */
    int *seq_start;    /* [B + 1]: sequence b owns rows seq_start[b] .. seq_start[b + 1] - 1 */
    /* activations in the compute dtype: float, or bf16 (uint16_t) in bf16
     * mode, where every op's output is a bf16 value anyway */
    void *e;           /* [T, E] */
    void *h;           /* [T, H] */
    void *qkv;         /* [T, 3H] */
    void *ctx;         /* [T, H] */
    void *a;           /* [T, H] */
    void *tmp;         /* [T, H] (and [B, H] for the pooler) */
    void *f;           /* [T, I] */
    float *work;       /* [threads, work_floats()]: attention's q, keys, v, scores; a LayerNorm row */
    size_t work_per_thread;
    float *mask_add;   /* [T]: 0 or finfo(dtype).min per key */
    /* ALB_INT8: a linear layer's input quantized per row, and its s32 product */
    uint8_t *xq;       /* [T, max(E, H, I)] */
    float *x_scale;    /* [T] */
    int32_t *x_zp;     /* [T] */
    int32_t *acc;      /* [T, max(3H, I)] */
};

/* ------------------------------------------------------------------ loading */

static void own(AlbertModel *m, float *p) {
    m->owned = alb_xrealloc(m->owned, (size_t)(m->n_owned + 1) * sizeof *m->owned);
    m->owned[m->n_owned++] = p;
}

/* Frees p if the model owns it (a converted copy); mapped weights stay. */
static void release(AlbertModel *m, const float *p) {
    for (int i = 0; i < m->n_owned; i++)
        if (m->owned[i] == p) {
            free(m->owned[i]);
            m->owned[i] = m->owned[--m->n_owned];
            return;
        }
}

/* A tensor as float32 (hashed as loaded). In bf16 mode it is rounded in a
 * copy, unless as_loaded (a linear layer's weight: model/matmul rounds it
 * into its own bf16 copy). */
static int take_as(AlbertModel *m, const char *name, int ndim, int64_t d0, int64_t d1, const float **out,
                   int as_loaded, AlbError *err) {
    int64_t shape[2] = {d0, d1};
    float *owned = NULL;
    if (st_get_f32(&m->st, name, "albert.", ndim, shape, out, &owned, err)) return -1;
    size_t n = (size_t)d0 * (size_t)(ndim == 2 ? d1 : 1);
    XXH3_128bits_update(m->hash_state, name, strlen(name) + 1);
    XXH3_128bits_update(m->hash_state, *out, n * sizeof(float));
    if (m->dtype == ALB_BF16 && !as_loaded) {
        if (!owned) {
            owned = alb_xmalloc(n * sizeof(float));
            memcpy(owned, *out, n * sizeof(float));
        }
        bf16_round_array(owned, (long)n);
    }
    if (owned) {
        own(m, owned);
        *out = owned;
    }
    return 0;
}

static int take(AlbertModel *m, const char *name, int ndim, int64_t d0, int64_t d1, const float **out,
                AlbError *err) {
    return take_as(m, name, ndim, d0, d1, out, 0, err);
}

static int take_linear(AlbertModel *m, const char *prefix, int in, int out, Linear *l, AlbError *err) {
    char name[256];
    l->in = in;
    l->out = out;
    snprintf(name, sizeof name, "%s.weight", prefix);
    if (take_as(m, name, 2, out, in, &l->w, 1, err)) return -1;
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

/* qkv = [query; key; value] rows of the weight and the bias (a 3H*H copy:
 * 7 MB for base, the one weight not used in place). */
static void fuse_qkv(AlbertModel *m, const Linear part[3], Linear *qkv) {
    size_t out = (size_t)part[0].out, in = (size_t)part[0].in;
    float *w = alb_xmalloc(3 * out * in * sizeof(float)), *b = alb_xmalloc(3 * out * sizeof(float));
    for (int p = 0; p < 3; p++) {
        memcpy(w + p * out * in, part[p].w, out * in * sizeof(float));
        memcpy(b + p * out, part[p].b, out * sizeof(float));
        release(m, part[p].w);
        release(m, part[p].b);
    }
    own(m, w);
    own(m, b);
    *qkv = (Linear){.w = w, .b = b, .in = (int)in, .out = (int)(3 * out)};
}

static int load_all(AlbertModel *m, AlbError *err) {
    const AlbertConfig *c = &m->c;
    int E = c->embedding_size, H = c->hidden_size, Inter = c->intermediate_size;
    if (take(m, "embeddings.word_embeddings.weight", 2, c->vocab_size, E, &m->word, err) ||
        take(m, "embeddings.position_embeddings.weight", 2, c->max_position_embeddings, E, &m->pos, err) ||
        take(m, "embeddings.token_type_embeddings.weight", 2, c->type_vocab_size, E, &m->types, err) ||
        take_norm(m, "embeddings.LayerNorm", E, &m->emb_norm, err) ||
        take_linear(m, "encoder.embedding_hidden_mapping_in", E, H, &m->mapping, err))
        return -1;
    m->layers = alb_xcalloc((size_t)c->num_hidden_groups * (size_t)c->inner_group_num, sizeof(Layer));
    for (int g = 0; g < c->num_hidden_groups; g++) {
        for (int i = 0; i < c->inner_group_num; i++) {
            Layer *ly = &m->layers[g * c->inner_group_num + i];
            char p[160], name[200];
            snprintf(p, sizeof p, "encoder.albert_layer_groups.%d.albert_layers.%d", g, i);
#define LIN(lin, part, in, out)                                     \
    snprintf(name, sizeof name, "%s.%s", p, part);                  \
    if (take_linear(m, name, in, out, &lin, err)) return -1;
#define NORM(field, part, n)                                        \
    snprintf(name, sizeof name, "%s.%s", p, part);                  \
    if (take_norm(m, name, n, &ly->field, err)) return -1;
            Linear part[3];
            LIN(part[0], "attention.query", H, H)
            LIN(part[1], "attention.key", H, H)
            LIN(part[2], "attention.value", H, H)
            fuse_qkv(m, part, &ly->qkv);
            LIN(ly->dense, "attention.dense", H, H)
            NORM(attn_norm, "attention.LayerNorm", H)
            LIN(ly->ffn, "ffn", H, Inter)
            LIN(ly->ffn_output, "ffn_output", Inter, H)
            NORM(full_norm, "full_layer_layer_norm", H)
#undef LIN
#undef NORM
        }
    }
    return take_linear(m, "pooler", H, H, &m->pooler, err);
}

static uint16_t act_bf16_op_by_op(const AlbertModel *m, uint16_t h);

/* Every linear layer of the model, for what is done to all of them;
 * out holds 2 + 4 * (groups * inner) entries. */
static int all_linears(AlbertModel *m, Linear **out) {
    int n = 0, n_layers = m->c.num_hidden_groups * m->c.inner_group_num;
    out[n++] = &m->mapping;
    out[n++] = &m->pooler;
    for (int i = 0; i < n_layers; i++) {
        Layer *ly = &m->layers[i];
        out[n++] = &ly->qkv;
        out[n++] = &ly->dense;
        out[n++] = &ly->ffn;
        out[n++] = &ly->ffn_output;
    }
    return n;
}

static Linear **linears_alloc(const AlbertModel *m) {
    return alb_xmalloc(sizeof(Linear *) * (size_t)(2 + 4 * m->c.num_hidden_groups * m->c.inner_group_num));
}

/* The matrix-product type of a dtype's weights. */
static MmType mm_type(AlbDtype d) { return d == ALB_BF16 ? MM_BF16 : d == ALB_INT8 ? MM_S8 : MM_F32; }

/* The weights in the engine's dtype and layout (bf16 on oneDNN: 2 bytes a
 * weight; int8: s8 per output channel, the bias left to our epilogue); the
 * float32 copies the model owned are dropped. */
static int prepare_linears(AlbertModel *m, AlbError *err) {
    MmType t = mm_type(m->dtype);
    Linear **all = linears_alloc(m);
    int n = all_linears(m, all), rc = 0;
    for (int i = 0; i < n && !rc; i++) {
        Linear *l = all[i];
        MmSpec spec = {.N = l->out, .K = l->in, .wei = t, .src = t, .dst = t};
        if (t == MM_S8) spec = (MmSpec){.N = l->out, .K = l->in, .wei = MM_S8, .src = MM_U8, .dst = MM_S32};
        rc = mm_prepare(&l->mm, &spec, l->w, t == MM_S8 ? NULL : l->b, err);
        if (!rc) {
            release(m, l->w);
            l->w = NULL;
        }
    }
    free(all);
    return rc;
}

static void free_linears(AlbertModel *m) {
    if (!m->layers) return;
    Linear **all = linears_alloc(m);
    int n = all_linears(m, all);
    for (int i = 0; i < n; i++) mm_free(all[i]->mm);
    free(all);
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
    if (albert_config_check(c, weights_path, err)) return -1;
    AlbertModel *m = alb_xcalloc(1, sizeof *m);
    m->c = *config;
    m->dtype = dtype;
    m->act = !strcmp(c->hidden_act, "gelu") ? ACT_GELU : !strcmp(c->hidden_act, "relu") ? ACT_RELU : ACT_GELU_NEW;
    if (st_open(&m->st, weights_path, err)) {
        free(m);
        return -1;
    }
    m->hash_state = XXH3_createState();
    if (!m->hash_state) abort();
    XXH3_128bits_reset(m->hash_state);
    hash_config(m->hash_state, c);
    if (load_all(m, err) || prepare_linears(m, err)) {
        albert_free(m);
        return -1;
    }
    /* The file's pages: the linear layers now live in oneDNN's copies (and in
     * bf16 mode every tensor in a rounded one), and the hash read them all.
     * Dropped from the process (the mapping is private and read-only: what is
     * still used, fp32 embeddings and norms, faults back in from the page
     * cache, the rows used only); peak RSS is the model's own copies. */
    if (m->st.owns_map && m->st.map) madvise(m->st.map, m->st.map_size, MADV_DONTNEED);
    if (dtype == ALB_BF16) {
        m->act_bf16 = alb_xmalloc(65536 * sizeof(uint16_t));
        for (uint32_t h = 0; h < 65536; h++) m->act_bf16[h] = act_bf16_op_by_op(m, (uint16_t)h);
    }
    snprintf(m->engine, sizeof m->engine, "%s/%s", alb_dtype_name(dtype), mm_engine(mm_type(dtype)));
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
    void **bufs[] = {&m->e, &m->h, &m->qkv, &m->ctx, &m->a, &m->tmp, &m->f};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) {
        free(*bufs[i]);
        *bufs[i] = NULL;
    }
    free(m->work);
    free(m->mask_add);
    free(m->rows);
    free(m->seq_start);
    free(m->xq);
    free(m->x_scale);
    free(m->x_zp);
    free(m->acc);
    m->work = m->mask_add = m->x_scale = NULL;
    m->rows = m->seq_start = NULL;
    m->xq = NULL;
    m->x_zp = m->acc = NULL;
}

void albert_free(AlbertModel *m) {
    if (!m) return;
    for (int i = 0; i < m->n_owned; i++) free(m->owned[i]);
    free(m->owned);
    free_linears(m);
    free(m->act_bf16);
    free(m->layers);
    free_activations(m);
    if (m->hash_state) XXH3_freeState(m->hash_state);
    st_close(&m->st);
    free(m);
}

int alb_dtype_parse(const char *name, AlbDtype *out) {
    static const struct {
        const char *name;
        AlbDtype dtype;
    } names[] = {{"float32", ALB_F32},       {"bfloat16", ALB_BF16},       {"int8", ALB_INT8},
                 {"torch.float32", ALB_F32}, {"torch.bfloat16", ALB_BF16}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(name, names[i].name)) {
            *out = names[i].dtype;
            return 0;
        }
    return -1;
}

int alb_engine_dtype(const char *engine, AlbDtype *out) {
    char name[32];
    size_t n = strcspn(engine, "/");
    if (!engine[n] || n >= sizeof name) return -1;
    memcpy(name, engine, n);
    name[n] = '\0';
    return alb_dtype_parse(name, out);
}

const AlbertConfig *albert_config(const AlbertModel *m) { return &m->c; }
AlbDtype albert_dtype(const AlbertModel *m) { return m->dtype; }
const char *albert_weights_hash(const AlbertModel *m) { return m->hash; }
const char *albert_engine(const AlbertModel *m) { return m->engine; }

static int max_int(int a, int b) { return a > b ? a : b; }

/* The bytes of one activation value: bf16 in bf16 mode, else float. */
static inline size_t act_bytes(const AlbertModel *m) {
    return m->dtype == ALB_BF16 ? sizeof(uint16_t) : sizeof(float);
}

/* Attention's per-thread floats for sequences of up to L positions, head size
 * d: 4 queries' scores [4, L], the head's q, keys transposed and v [L, d]
 * each, one context row [d] (L rounded up to whole vectors of 16). */
static size_t att_work(int L, int d) {
    size_t Lp = ((size_t)L + 15) / 16 * 16;
    return 4 * Lp + 3 * (size_t)d * Lp + (size_t)d + 16;
}

/* Buffers for T computed rows of B sequences of length L: grown, never shrunk. */
static void reserve(AlbertModel *m, int T, int B, int L) {
    int threads = omp_get_max_threads();
    if (T <= m->cap_tokens && B <= m->cap_batch && L <= m->cap_len && threads <= m->cap_threads) return;
    T = max_int(T, m->cap_tokens);
    B = max_int(B, m->cap_batch);
    L = max_int(L, m->cap_len);
    threads = max_int(threads, m->cap_threads);
    free_activations(m);
    size_t t = (size_t)T, E = (size_t)m->c.embedding_size, H = (size_t)m->c.hidden_size;
    m->rows = alb_xmalloc(t * sizeof(int));
    m->seq_start = alb_xmalloc(((size_t)B + 1) * sizeof(int));
    size_t es = act_bytes(m), rows_h = t > (size_t)B ? t : (size_t)B;
    m->e = alb_xmalloc(t * E * es);
    m->h = alb_xmalloc(t * H * es);
    m->qkv = alb_xmalloc(3 * t * H * es);
    m->ctx = alb_xmalloc(t * H * es);
    m->a = alb_xmalloc(t * H * es);
    m->tmp = alb_xmalloc(rows_h * H * es);
    m->f = alb_xmalloc(t * (size_t)m->c.intermediate_size * es);
    size_t att = att_work(L, m->c.hidden_size / m->c.num_attention_heads);
    m->work_per_thread = att > H ? att : H;
    m->work_per_thread = m->work_per_thread > E ? m->work_per_thread : E;
    m->work = alb_xmalloc((size_t)threads * m->work_per_thread * sizeof(float));
    m->mask_add = alb_xmalloc(t * sizeof(float));
    if (m->dtype == ALB_INT8) {
        size_t in = (size_t)max_int(max_int((int)E, (int)H), m->c.intermediate_size);
        m->xq = alb_xmalloc(t * in);
        m->x_scale = alb_xmalloc(t * sizeof(float));
        m->x_zp = alb_xmalloc(t * sizeof(int32_t));
        m->acc = alb_xmalloc(t * (size_t)max_int(3 * (int)H, m->c.intermediate_size) * sizeof(int32_t));
    }
    m->cap_tokens = T;
    m->cap_batch = B;
    m->cap_len = L;
    m->cap_threads = threads;
}

/* ------------------------------------------------------------------ ops
 * Each op reads like torch's: compute in fp32, and in bf16 mode round the
 * op's output once (R), exactly where a bf16 torch tensor is stored. The
 * elementwise kernels take bf as a parameter and are instantiated for 0 and 1
 * (always_inline + constant argument), so the fp32 loops vectorize. */
#define KERNEL static inline __attribute__((always_inline))

KERNEL float R(int bf, float x) { return bf ? bf16_round(x) : x; }

/* Activations: element i of a buffer in the compute dtype (bf: bf16). */
KERNEL float LD(int bf, const void *p, size_t i) {
    return bf ? f32_from_bf16(((const uint16_t *)p)[i]) : ((const float *)p)[i];
}
KERNEL void ST(int bf, void *p, size_t i, float v) {
    if (bf) ((uint16_t *)p)[i] = bf16_from_f32(v);
    else ((float *)p)[i] = v;
}
/* The address of row t of a [T, n] buffer. */
static inline void *ROW(const AlbertModel *m, const void *p, long t, long n) {
    return (char *)p + (size_t)t * (size_t)n * act_bytes(m);
}

static inline float rnd(const AlbertModel *m, float x) { return R(m->dtype == ALB_BF16, x); }

/* tanh for float x, correctly rounded but for rare double roundings (max error
 * 0.5 ulp over all floats; glibc's tanhf: 2.2 ulp, and 10x slower as it does not
 * vectorize): (e - 1) / (e + 1) in double with e = exp(2|x|) = 2^k exp(r),
 * exp(r) - 1 by its Taylor series to r^10 (|r| <= ln2/2: error < 3e-13), so
 * there is no cancellation near 0. |x| is clamped to 9.5 (tanhf is 1 from
 * 9.01 on) with an integer min, which the vectorizer keeps branch-free.
 * NaN gives +-1 (activations are never NaN for finite weights and inputs). */
KERNEL float tanh_f(float x) {
    uint32_t bits;
    memcpy(&bits, &x, sizeof bits);
    bits &= 0x7fffffffu;
    bits = bits < 0x41180000u ? bits : 0x41180000u; /* 9.5f */
    float abs_x;
    memcpy(&abs_x, &bits, sizeof abs_x);
    double y = 2.0 * (double)abs_x;
    int k = (int)(y * 1.4426950408889634 + 0.5); /* round(y / ln2), 0..28 */
    double r = y - (double)k * 0.6931471805599453;
    double q = r * (1.0 + r * (1.0 / 2 + r * (1.0 / 6 + r * (1.0 / 24 + r * (1.0 / 120 + r * (1.0 / 720 +
               r * (1.0 / 5040 + r * (1.0 / 40320 + r * (1.0 / 362880 + r * (1.0 / 3628800))))))))));
    double scale = (double)(1 << k);
    double em1 = (scale - 1.0) + scale * q; /* exp(y) - 1 */
    return (float)copysign(em1 / (em1 + 2.0), (double)x);
}

/* The activation of one value; each torch op of the Python formula rounds in
 * bf16 mode, so gelu_new is spelled out op by op. */
KERNEL float activate(Activation act, int bf, float x) {
    if (act == ACT_RELU) return x > 0.0f ? x : 0.0f;
    if (act == ACT_GELU) return R(bf, 0.5f * x * (1.0f + erff(x * (float)M_SQRT1_2)));
    /* 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))); scalars are bf16 in bf16 mode */
    const float c3 = R(bf, 0.044715f), k = R(bf, 0.7978845608028654f);
    float cube = R(bf, R(bf, x * x) * x);
    float inner = R(bf, R(bf, x + R(bf, cube * c3)) * k);
    float t = R(bf, 1.0f + R(bf, tanh_f(inner)));
    return R(bf, R(bf, 0.5f * x) * t);
}

/* y[n] = act(y): float32 mode, the activation of fp32 values. */
KERNEL void act_f32_kernel(float *y, long n, Activation act) {
#pragma omp simd
    for (long i = 0; i < n; i++) y[i] = activate(act, 0, y[i]);
}

static void act_f32(const AlbertModel *m, float *y, long n) {
    if (m->act == ACT_GELU_NEW) act_f32_kernel(y, n, ACT_GELU_NEW);
    else if (m->act == ACT_GELU) act_f32_kernel(y, n, ACT_GELU);
    else act_f32_kernel(y, n, ACT_RELU);
}

/* The activation of a bf16 value, op by op with bf16 roundings (torch's
 * bf16 ops); bf16 mode looks it up in m->act_bf16, built from this. */
static uint16_t act_bf16_op_by_op(const AlbertModel *m, uint16_t h) {
    float x = f32_from_bf16(h);
    if (m->act == ACT_GELU_NEW) x = activate(ACT_GELU_NEW, 1, x);
    else if (m->act == ACT_GELU) x = activate(ACT_GELU, 1, x);
    else x = activate(ACT_RELU, 1, x);
    return bf16_from_f32(x);
}

/* Rows per block of the elementwise pass after a matrix product. */
#define EPILOGUE_ROWS 16

/* y[T, out] = act(x[T, in] W^T + b) (activation only if apply): one matrix
 * product over all rows (model/matmul.h: the bias added in fp32 and, in bf16
 * mode, the sum rounded once to the bf16 output, as torch's addmm), then the
 * activation per block of rows, on the same OpenMP pool; in bf16 mode the
 * activation of a bf16 value is one lookup (m->act_bf16). In int8 mode
 * (model/int8.h) x (float) is quantized per row, the product is the exact s32
 * one, and each block of rows is dequantized with the bias (float y) before
 * the activation. */
static int linear(AlbertModel *m, const Linear *l, const void *x, void *y, int T, int apply, AlbError *err) {
    int int8 = m->dtype == ALB_INT8;
    if (int8) {
        const float *xf = x;
#pragma omp parallel for schedule(static) if ((long)T * l->in > 65536)
        for (int t = 0; t < T; t++)
            int8_quantize_row(xf + (size_t)t * l->in, l->in, m->xq + (size_t)t * l->in, &m->x_scale[t], &m->x_zp[t]);
    }
    if (mm_run(l->mm, T, int8 ? (const void *)m->xq : x, int8 ? (void *)m->acc : y, err)) return -1;
    if (!apply && !int8) return 0;
    int blocks = (T + EPILOGUE_ROWS - 1) / EPILOGUE_ROWS;
    const float *w_scale = mm_w_scale(l->mm);
    const int32_t *w_sum = mm_w_sum(l->mm);
#pragma omp parallel for schedule(static) if ((long)T * l->out > 65536)
    for (int k = 0; k < blocks; k++) {
        long r0 = (long)k * EPILOGUE_ROWS, r1 = r0 + EPILOGUE_ROWS < T ? r0 + EPILOGUE_ROWS : T;
        if (m->dtype == ALB_BF16) {
            uint16_t *yb = (uint16_t *)y + r0 * l->out;
            for (long i = 0; i < (r1 - r0) * l->out; i++) yb[i] = m->act_bf16[yb[i]];
        } else {
            for (long t = r0; int8 && t < r1; t++)
                int8_dequantize_row(m->acc + t * l->out, l->out, m->x_scale[t], m->x_zp[t], w_scale, w_sum, l->b,
                                    (float *)y + t * l->out);
            if (apply) act_f32(m, (float *)y + r0 * l->out, (r1 - r0) * l->out);
        }
    }
    return 0;
}

/* torch 1.13's RowwiseMoments for bf16 input: Welford on 16-lane vectors in
 * chunks of 16, merged by a cascade, then the N % 16 tail and the lanes; with
 * T = BFloat16 every arithmetic step rounds to bf16. Returns mean, biased var. */
enum { MOM_LANES = 16, MOM_CHUNK = 16, MOM_DEPTH = 64, MOM_ILP = 4 };
#define BR bf16_round

static void bf16_add_moments(long m0_add, float m1_add, float m2_add, long *m0, float *m1, float *m2) {
    long n = *m0 + m0_add;
    float c = n == 0 ? 0.0f : BR(BR((float)m0_add) / BR((float)n));
    float delta = BR(m1_add - *m1);
    *m1 = BR(*m1 + BR(c * delta));
    *m2 = BR(*m2 + BR(m2_add + BR(BR(BR(delta * delta) * c) * BR((float)*m0))));
    *m0 = n;
}

typedef struct {
    long m0;
    float m1[MOM_LANES], m2[MOM_LANES];
} Moments;

/* AddMomentsVec: every lane merges with the same counts (bf16_add_moments
 * lane by lane, the scalars hoisted: the loop vectorizes). */
static inline void bf16_add_moments_vec(const Moments *add, Moments *acc) {
    long n = acc->m0 + add->m0;
    float c = n == 0 ? 0.0f : BR(BR((float)add->m0) / BR((float)n)), m0f = BR((float)acc->m0);
#pragma omp simd
    for (int l = 0; l < MOM_LANES; l++) {
        float delta = BR(add->m1[l] - acc->m1[l]);
        acc->m1[l] = BR(acc->m1[l] + BR(c * delta));
        acc->m2[l] = BR(acc->m2[l] + BR(add->m2[l] + BR(BR(BR(delta * delta) * c) * m0f)));
    }
    acc->m0 = n;
}

#ifdef __AVX512F__
/* The Welford recurrences of K consecutive chunks (x: the first one's
 * values; cur[q].m0 their lengths), step by step together, each a chain of
 * its own in registers (the scalar loop below, vectorised by hand: the
 * compiler kept the chains in memory). */
KERNEL void welford_chunks_avx512(const float *x, int K, Moments *cur) {
    __m512 m1[MOM_ILP], m2[MOM_ILP];
    for (int q = 0; q < K; q++) m1[q] = m2[q] = _mm512_setzero_ps();
    for (int j = 0; j < MOM_CHUNK; j++) {
        __m512 c = _mm512_set1_ps(BR(1.0f / (float)(j + 1)));
        for (int q = 0; q < K; q++) {
            if (j >= cur[q].m0) continue;
            __m512 xv = _mm512_loadu_ps(x + ((size_t)q * MOM_CHUNK + j) * MOM_LANES);
            __m512 d = bf16_round_avx512(_mm512_sub_ps(xv, m1[q]));
            m1[q] = bf16_round_avx512(_mm512_add_ps(m1[q], bf16_round_avx512(_mm512_mul_ps(d, c))));
            __m512 d2 = bf16_round_avx512(_mm512_sub_ps(xv, m1[q]));
            m2[q] = bf16_round_avx512(_mm512_add_ps(m2[q], bf16_round_avx512(_mm512_mul_ps(d, d2))));
        }
    }
    for (int q = 0; q < K; q++) {
        _mm512_storeu_ps(cur[q].m1, m1[q]);
        _mm512_storeu_ps(cur[q].m2, m2[q]);
    }
}
#endif

static void bf16_moments(const float *x, int N, float *mean, float *var) {
    int n = N / MOM_LANES, chunks = (n + MOM_CHUNK - 1) / MOM_CHUNK, depth = 0;
    while ((1 << depth) < chunks) depth++;
    Moments stk[MOM_DEPTH];
    memset(stk, 0, sizeof(Moments) * (size_t)(depth > 0 ? depth : 1));
    /* The chunks' own recurrences are independent: MOM_ILP of them advance
     * step by step together (one dependency chain each, so the CPU overlaps
     * them), then merge one by one in chunk order, as torch does. */
    for (int i0 = 0; i0 < chunks; i0 += MOM_ILP) {
        int k = chunks - i0 < MOM_ILP ? chunks - i0 : MOM_ILP;
        Moments cur[MOM_ILP];
        for (int q = 0; q < k; q++) {
            int left = n - (i0 + q) * MOM_CHUNK;
            cur[q] = (Moments){.m0 = left < MOM_CHUNK ? left : MOM_CHUNK};
        }
#ifdef __AVX512F__
        const float *xc = x + (size_t)i0 * MOM_CHUNK * MOM_LANES;
        switch (k) { /* the chunk count as a constant: the recurrences stay in registers */
        case 1: welford_chunks_avx512(xc, 1, cur); break;
        case 2: welford_chunks_avx512(xc, 2, cur); break;
        case 3: welford_chunks_avx512(xc, 3, cur); break;
        default: welford_chunks_avx512(xc, MOM_ILP, cur); break;
        }
#else
        for (int j = 0; j < MOM_CHUNK; j++) {
            float c = BR(1.0f / (float)(j + 1));
            for (int q = 0; q < k; q++) {
                if (j >= cur[q].m0) continue;
                const float *xv = x + (size_t)((i0 + q) * MOM_CHUNK + j) * MOM_LANES;
                float *m1 = cur[q].m1, *m2 = cur[q].m2;
#pragma omp simd
                for (int l = 0; l < MOM_LANES; l++) {
                    float d = BR(xv[l] - m1[l]);
                    m1[l] = BR(m1[l] + BR(d * c));
                    m2[l] = BR(m2[l] + BR(d * BR(xv[l] - m1[l])));
                }
            }
        }
#endif
        for (int q = 0; q < k; q++) {
            int i = i0 + q;
            bf16_add_moments_vec(&cur[q], &stk[0]);
            for (int j = 1, mask = i + 1; j < depth && (mask & 1) == 0; j++, mask >>= 1) {
                bf16_add_moments_vec(&stk[j - 1], &stk[j]);
                memset(&stk[j - 1], 0, sizeof(Moments));
            }
        }
    }
    for (int i = 1; i < depth; i++) bf16_add_moments_vec(&stk[i], &stk[0]);
    long m0 = 0;
    float m1 = 0.0f, m2 = 0.0f;
    for (int i = n * MOM_LANES; i < N; i++) {
        float d = BR(x[i] - m1);
        m0++;
        m1 = BR(m1 + BR(d / BR((float)m0)));
        m2 = BR(m2 + BR(d * BR(x[i] - m1)));
    }
    for (int l = 0; l < MOM_LANES; l++) bf16_add_moments(n, stk[0].m1[l], stk[0].m2[l], &m0, &m1, &m2);
    *mean = m1;
    *var = BR(m2 / BR((float)N));
}

#undef BR

/* One row: y[n] = LayerNorm(x) * g + b, biased variance; x in fp32 (bf16
 * values in bf16 mode), y in the compute dtype. */
KERNEL void layer_norm_row(const AlbertModel *m, const Norm *nm, const float *x, void *y, int bf) {
    int n = nm->n;
    float eps = m->c.layer_norm_eps;
    if (bf) {
        /* torch 1.13, T = BFloat16: rstd and the shift are bf16 scalars,
         * the affine map runs in fp32 and is rounded once. */
        float mean, var;
        bf16_moments(x, n, &mean, &var);
        float rstd = R(1, 1.0f / R(1, sqrtf(R(1, var + R(1, eps)))));
        float shift = R(1, -rstd * mean);
        uint16_t *yb = y;
#pragma omp simd
        for (int j = 0; j < n; j++) yb[j] = bf16_from_f32((x[j] * rstd + shift) * nm->g[j] + nm->b[j]);
    } else {
        double s = 0.0, ss = 0.0;
#pragma omp simd reduction(+ : s)
        for (int j = 0; j < n; j++) s += x[j];
        double mean = s / n;
#pragma omp simd reduction(+ : ss)
        for (int j = 0; j < n; j++) ss += (x[j] - mean) * (x[j] - mean);
        float rstd = (float)(1.0 / sqrt(ss / n + (double)eps));
        float fmean = (float)mean;
        float *yf = y;
#pragma omp simd
        for (int j = 0; j < n; j++) yf[j] = (x[j] - fmean) * rstd * nm->g[j] + nm->b[j];
    }
}

/* y[T, n] = LayerNorm(x + res) over T rows, res NULL: LayerNorm(x) (y may be
 * x). The residual add is a torch op of its own (rounded in bf16 mode). */
KERNEL void layer_norm_kernel(AlbertModel *m, const Norm *nm, const void *x, const void *res, void *y, int T,
                              int bf) {
    int n = nm->n;
#pragma omp parallel for if ((long)T * n > 65536)
    for (int t = 0; t < T; t++) {
        float *row = m->work + (size_t)omp_get_thread_num() * m->work_per_thread;
        size_t o = (size_t)t * n;
        if (res) {
#pragma omp simd
            for (int j = 0; j < n; j++) row[j] = R(bf, LD(bf, x, o + j) + LD(bf, res, o + j));
        } else {
#pragma omp simd
            for (int j = 0; j < n; j++) row[j] = LD(bf, x, o + j);
        }
        layer_norm_row(m, nm, row, ROW(m, y, t, n), bf);
    }
}

static void layer_norm(AlbertModel *m, const Norm *nm, const void *x, const void *res, void *y, int T) {
    if (m->dtype == ALB_BF16) layer_norm_kernel(m, nm, x, res, y, T, 1);
    else layer_norm_kernel(m, nm, x, res, y, T, 0);
}

/* Multi-head self-attention core over the computed rows: per sequence b and
 * head, ctx = softmax(q k^T / sqrt(d) + mask_add) v  [n_b, d], one query row
 * at a time; q, k, v are column blocks of qkv [T, 3H], heads merged in ctx [T, H].
 *
 * The two products are torch's bf16 bmm, a brgemm with bf16 output on
 * AVX512_BF16 (vdpbf16ps): per output, an fp32 sum over K in pairs of
 * products, the odd-indexed product of a pair added first, each addition
 * rounded, denormal inputs read as 0 (measured equal to oneDNN 2.6.3's
 * brgemm for every K <= 512; the products of bf16 values are exact in fp32).
 * This code sums in that order in plain fp32 (vectorised across outputs:
 * keys for the scores, columns for the context), so its bits are torch's on
 * any CPU; pad keys (torch's extra K) have probability 0 and add nothing.
 * In fp32 mode the same loops run without rounding. */
#define FLUSH(bf, x) ((bf) && fabsf(x) < FLT_MIN ? 0.0f : (x))

/* s[j] = exp(s[j] - mx) for j < nv, as torch 1.13's Vectorized<float>::exp on
 * its AVX2 kernels: SLEEF's expf_u10 (Debian's libsleef, the library torch
 * links). Its scalar FMA variant gives the same bits as the AVX2 one on every
 * non-NaN float (checked exhaustively against Sleef_expf8_u10avx2); a CPU
 * without AVX2 and FMA runs torch's scalar kernels, which call std::exp. */
static void exp_shifted(float *s, int nv, float mx) {
#if defined(__AVX2__) && defined(__FMA__)
    __m256 vmx = _mm256_set1_ps(mx);
    for (int j = 0; j < nv; j += 8)
        _mm256_storeu_ps(s + j, Sleef_expf8_u10avx2(_mm256_sub_ps(_mm256_loadu_ps(s + j), vmx)));
#else
#ifndef FP_FAST_FMA
    /* sleef.h declares the FMA variants only to builds that target FMA; the
     * library always holds them, and this one runs only where the CPU has FMA. */
    extern float Sleef_expf1_u10purecfma(float);
#endif
    int sleef = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    for (int j = 0; j < nv; j++) s[j] = sleef ? Sleef_expf1_u10purecfma(s[j] - mx) : expf(s[j] - mx);
#endif
}

/* max(s[0..n)), n >= 1 (no NaN; which zero wins does not matter to exp(s - max)). */
static inline float max_of(const float *s, int n) {
#ifdef __AVX512F__
    __m512 m = _mm512_set1_ps(-INFINITY);
    int j = 0;
    for (; j + 16 <= n; j += 16) m = _mm512_max_ps(m, _mm512_loadu_ps(s + j));
    __mmask16 tail = (__mmask16)((1u << (n - j)) - 1u);
    if (j < n) m = _mm512_mask_max_ps(m, tail, m, _mm512_maskz_loadu_ps(tail, s + j));
    return _mm512_reduce_max_ps(m);
#else
    float mx = s[0];
    for (int j = 1; j < n; j++) mx = s[j] > mx ? s[j] : mx;
    return mx;
#endif
}

#ifdef __AVX512F__
/* r[16] rows of 16 floats -> columns (unpacks, then 128-bit lane shuffles). */
static inline void transpose16(__m512 r[16]) {
    __m512 t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        r[i] = _mm512_shuffle_ps(t[i], t[i + 2], 0x44);
        r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], 0xEE);
        r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
    for (int h = 0; h < 16; h += 8)
        for (int i = 0; i < 4; i++) {
            t[h + i] = _mm512_shuffle_f32x4(r[h + i], r[h + i + 4], 0x88);
            t[h + i + 4] = _mm512_shuffle_f32x4(r[h + i], r[h + i + 4], 0xdd);
        }
    for (int i = 0; i < 8; i++) {
        r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
        r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xdd);
    }
}
#endif

/* kt[c, j] = k_j[c] (denormals flushed in bf16 mode), j < n, 0 up to np: the
 * keys of one head, k_j at qkv element k0 + j * ld. With AVX512 by 16 x 16
 * tiles (the same values: data movement only). */
KERNEL void keys_transposed(const void *qkv, size_t k0, int ld, int n, int np, int d, float *kt, int bf) {
#ifdef __AVX512F__
    if (d % 16 == 0) {
        const __m512 tiny = _mm512_set1_ps(FLT_MIN);
        for (int j0 = 0; j0 < np; j0 += 16)
            for (int c0 = 0; c0 < d; c0 += 16) {
                __m512 r[16];
                for (int jj = 0; jj < 16; jj++) {
                    size_t at = k0 + (size_t)(j0 + jj) * ld + c0;
                    if (j0 + jj >= n) r[jj] = _mm512_setzero_ps();
                    else if (bf) {
                        __m256i h = _mm256_loadu_si256((const __m256i *)((const uint16_t *)qkv + at));
                        __m512 x = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
                        __mmask16 denormal = _mm512_cmp_ps_mask(_mm512_abs_ps(x), tiny, _CMP_LT_OQ);
                        r[jj] = _mm512_mask_mov_ps(x, denormal, _mm512_setzero_ps());
                    } else {
                        r[jj] = _mm512_loadu_ps((const float *)qkv + at);
                    }
                }
                transpose16(r);
                for (int cc = 0; cc < 16; cc++) _mm512_storeu_ps(kt + (size_t)(c0 + cc) * np + j0, r[cc]);
            }
        return;
    }
#endif
    for (int j = 0; j < n; j++)
#pragma omp simd
        for (int c = 0; c < d; c++) kt[(size_t)c * np + j] = FLUSH(bf, LD(bf, qkv, k0 + (size_t)j * ld + c));
    for (int c = 0; c < d; c++)
        for (int j = n; j < np; j++) kt[(size_t)c * np + j] = 0.0f;
}

/* s[r][0:np] = (q_r kt) for QB query rows r (q [QB, d] dense, s rows np
 * apart), over blocks of 16 keys: per key, pairs of products summed into one
 * fp32 accumulator, the odd-indexed product first. The rows share each load
 * of the keys. */
#define QB 4
KERNEL void scores_rows(const float *q, const float *kt, int np, int d, float *s, int rows) {
    for (int j0 = 0; j0 < np; j0 += 16) {
        float acc[QB][16] = {{0}};
        int c = 0;
        for (; c + 1 < d; c += 2) {
            const float *k1 = kt + (size_t)(c + 1) * np + j0, *k0 = kt + (size_t)c * np + j0;
            for (int r = 0; r < QB; r++) {
                if (r >= rows) break;
                float q1 = q[(size_t)r * d + c + 1], q0 = q[(size_t)r * d + c];
#pragma omp simd
                for (int jj = 0; jj < 16; jj++) {
                    acc[r][jj] += q1 * k1[jj];
                    acc[r][jj] += q0 * k0[jj];
                }
            }
        }
        if (c < d) {
            const float *k0 = kt + (size_t)c * np + j0;
            for (int r = 0; r < rows; r++) {
                float q0 = q[(size_t)r * d + c];
#pragma omp simd
                for (int jj = 0; jj < 16; jj++) acc[r][jj] += q0 * k0[jj];
            }
        }
        for (int r = 0; r < rows; r++)
            for (int jj = 0; jj < 16; jj++) s[(size_t)r * np + j0 + jj] = acc[r][jj];
    }
}

/* ctx[0:d] = p v over n keys (v [n, d] dense), in the same pair order. */
KERNEL void context_row(const float *p, const float *v, int n, int d, float *acc) {
    for (int c = 0; c < d; c++) acc[c] = 0.0f;
    int j = 0;
    for (; j + 1 < n; j += 2) {
        float p1 = p[j + 1], p0 = p[j];
        const float *v1 = v + (size_t)(j + 1) * d, *v0 = v + (size_t)j * d;
#pragma omp simd
        for (int c = 0; c < d; c++) {
            acc[c] += p1 * v1[c];
            acc[c] += p0 * v0[c];
        }
    }
    if (j < n) {
        float p0 = p[j];
        const float *v0 = v + (size_t)j * d;
#pragma omp simd
        for (int c = 0; c < d; c++) acc[c] += p0 * v0[c];
    }
}

KERNEL void attention_head(AlbertModel *m, int b, int head, int cls_only, float *work, int bf) {
    int H = m->c.hidden_size, nh = m->c.num_attention_heads, d = H / nh, ld = 3 * H;
    int r0 = m->seq_start[b], n = m->seq_start[b + 1] - r0, np = (n + 15) / 16 * 16;
    int queries = cls_only ? 1 : n; /* every row is a key and a value; these rows also query */
    float scale_div = R(bf, (float)sqrt((double)d));
    /* the head's q [n, d], keys transposed [d, np] (zero past n) and v [n, d],
     * denormals read as 0 in bf16 mode (as vdpbf16ps does) */
    float *s4 = work, *qh = s4 + (size_t)QB * np, *kt = qh + (size_t)np * d, *vh = kt + (size_t)np * d,
          *ci = vh + (size_t)np * d;
    size_t q0 = (size_t)r0 * ld + (size_t)head * d; /* q, k, v of row j: q0 + j * ld (+ H, + 2H) */
    for (int j = 0; j < n; j++) {
        size_t qj = q0 + (size_t)j * ld;
        float *qo = qh + (size_t)j * d, *vo = vh + (size_t)j * d;
        if (j + 4 < n) { /* rows are a whole qkv row apart: fetch ahead */
            size_t es = act_bytes(m), ahead = (qj + 4 * (size_t)ld) * es;
            for (size_t o = 0; o < (size_t)d * es; o += 64) {
                __builtin_prefetch((const char *)m->qkv + ahead + o);
                __builtin_prefetch((const char *)m->qkv + ahead + (size_t)H * es + o);
                __builtin_prefetch((const char *)m->qkv + ahead + 2 * (size_t)H * es + o);
            }
        }
        if (j < queries)
#pragma omp simd
            for (int c = 0; c < d; c++) qo[c] = FLUSH(bf, LD(bf, m->qkv, qj + c));
#pragma omp simd
        for (int c = 0; c < d; c++) vo[c] = FLUSH(bf, LD(bf, m->qkv, qj + 2 * H + c));
    }
    keys_transposed(m->qkv, q0 + H, ld, n, np, d, kt, bf);
    const float *madd = m->mask_add + r0;
    size_t ctx0 = (size_t)(cls_only ? b : r0) * H + (size_t)head * d;
    for (int i = 0; i < queries; i++) {
        /* s = q_i k^T  [n]; s = s / sqrt(d); s = s + mask_add  (three torch ops);
         * the products for QB queries at a time */
        int r = i % QB;
        if (r == 0) {
            int rows = queries - i < QB ? queries - i : QB;
            if (d == 64 && rows == QB) scores_rows(qh + (size_t)i * d, kt, np, 64, s4, QB);
            else scores_rows(qh + (size_t)i * d, kt, np, d, s4, rows);
        }
        float *s = s4 + (size_t)r * np;
#pragma omp simd
        for (int j = 0; j < n; j++) s[j] = R(bf, R(bf, R(bf, s[j]) / scale_div) + madd[j]);
        float mx = max_of(s, n);
        /* softmax in fp32, rounded once, as torch 1.13's bf16 softmax on its
         * AVX2 kernels: exp and the sum in lanes of 8 over whole vectors, the
         * 8 lanes summed by shuffles, the rest one by one with std::exp */
        int nv = n - n % 8;
        exp_shifted(s, nv, mx);
        float lane[8] = {0};
        for (int j0 = 0; j0 < nv; j0 += 8)
            for (int l = 0; l < 8; l++) lane[l] += s[j0 + l];
        float sum = ((lane[0] + lane[4]) + (lane[2] + lane[6])) + ((lane[1] + lane[5]) + (lane[3] + lane[7]));
        for (int j = nv; j < n; j++) {
            s[j] = expf(s[j] - mx);
            sum += s[j];
        }
        float inv = 1.0f / sum;
#pragma omp simd
        for (int j = 0; j < n; j++) s[j] = FLUSH(bf, R(bf, s[j] * inv));
        /* ctx_i = p_i v  [d] */
        if (d == 64) context_row(s, vh, n, 64, ci);
        else context_row(s, vh, n, d, ci);
#pragma omp simd
        for (int c = 0; c < d; c++) ST(bf, m->ctx, ctx0 + (size_t)i * H + c, ci[c]);
    }
}

/* ctx rows for every row (cls_only 0: ctx [T, H]) or for each sequence's
 * position 0 only (cls_only 1: ctx [B, H], row b for sequence b). */
static void attention(AlbertModel *m, int B, int cls_only) {
    int nh = m->c.num_attention_heads, bf = m->dtype == ALB_BF16;
    size_t per_thread = m->work_per_thread;
#pragma omp parallel for schedule(dynamic, nh) if (m->seq_start[B] > 4)
    for (int bh = 0; bh < B * nh; bh++) {
        float *work = m->work + (size_t)omp_get_thread_num() * per_thread;
        if (bf) attention_head(m, bh / nh, bh % nh, cls_only, work, 1);
        else attention_head(m, bh / nh, bh % nh, cls_only, work, 0);
    }
}

/* h[b] = h[seq_start[b]] for b < B: each sequence's position-0 row moved to
 * row b (seq_start[b] >= b and grows with b, so no row is overwritten before
 * it is read). */
static void keep_cls_rows(AlbertModel *m, int B) {
    size_t row = (size_t)m->c.hidden_size * act_bytes(m);
    for (int b = 0; b < B; b++)
        if (m->seq_start[b] != b) memcpy((char *)m->h + b * row, (char *)m->h + (size_t)m->seq_start[b] * row, row);
}

/* One AlbertLayer on h [T, H], in place. With cls_only (the last layer, when
 * only the [CLS] rows are read) every row still gives its key and value, but
 * only position 0 of each sequence goes on through the attention output, the
 * LayerNorms and the FFN: h becomes [B, H], row b sequence b's [CLS] row, the
 * same bits as computing every row (each of these ops is row by row, and the
 * matrix products give a row the same bits whatever the other rows). */
static int layer_forward(AlbertModel *m, const Layer *ly, int B, int T, int cls_only, AlbError *err) {
    if (linear(m, &ly->qkv, m->h, m->qkv, T, 0, err)) return -1;        /* q | k | v  [T, 3H] */
    attention(m, B, cls_only);                                           /* ctx [R, H] */
    int R = T;                                                           /* the rows that go on */
    if (cls_only) {
        keep_cls_rows(m, B);                                             /* h [B, H] */
        R = B;
    }
    if (linear(m, &ly->dense, m->ctx, m->tmp, R, 0, err)) return -1;    /* [R, H] */
    layer_norm(m, &ly->attn_norm, m->tmp, m->h, m->a, R);                /* a = LN(dense(ctx) + h) */
    if (linear(m, &ly->ffn, m->a, m->f, R, 1, err)) return -1;          /* act(a W1^T + b1)  [R, I] */
    if (linear(m, &ly->ffn_output, m->f, m->tmp, R, 0, err)) return -1; /* [R, H] */
    layer_norm(m, &ly->full_norm, m->tmp, m->a, m->h, R);                /* h = LN(ffn(a) + a) */
    return 0;
}

/* The rows to compute: each sequence's real tokens and its position 0 (the
 * [CLS] row the outputs read). A pad row never changes a real one (as a key
 * its probability is exactly 0 once one real key exists), so skipping pad
 * rows leaves every real row as it was; a sequence with no real token is
 * computed whole (torch then attends uniformly over all its keys).
 * Returns the number of rows T; with rows == NULL only counts. */
static int select_rows(int B, int L, const int32_t *mask, int *rows, int *seq_start) {
    int T = 0;
    for (int b = 0; b < B; b++) {
        const int32_t *mb = mask ? mask + (size_t)b * L : NULL;
        int any = !mb;
        for (int i = 0; i < L && !any; i++) any = mb[i] != 0;
        if (seq_start) seq_start[b] = T;
        for (int i = 0; i < L; i++)
            if (!any || !mb || mb[i] || i == 0) {
                if (rows) rows[T] = b * L + i;
                T++;
            }
    }
    if (seq_start) seq_start[B] = T;
    return T;
}

/* e = LayerNorm((word[x] + type[s]) + pos[i])  [T, E]: two adds, each a torch
 * op (rounded in bf16 mode), the sum and the LayerNorm per row in a
 * thread's scratch row. */
KERNEL void embeddings_kernel(AlbertModel *m, const int32_t *ids, const int32_t *type_ids, int L, int T, int bf) {
    int E = m->c.embedding_size;
#pragma omp parallel for if ((long)T * E > 65536)
    for (int t = 0; t < T; t++) {
        int src = m->rows[t];
        const float *w = m->word + (size_t)ids[src] * E, *p = m->pos + (size_t)(src % L) * E;
        const float *ty = m->types + (size_t)(type_ids ? type_ids[src] : 0) * E;
        float *row = m->work + (size_t)omp_get_thread_num() * m->work_per_thread;
#pragma omp simd
        for (int j = 0; j < E; j++) row[j] = R(bf, R(bf, w[j] + ty[j]) + p[j]);
        layer_norm_row(m, &m->emb_norm, row, ROW(m, m->e, t, E), bf);
    }
}

static void embeddings(AlbertModel *m, const int32_t *ids, const int32_t *type_ids, int L, int T) {
    if (m->dtype == ALB_BF16) embeddings_kernel(m, ids, type_ids, L, T, 1);
    else embeddings_kernel(m, ids, type_ids, L, T, 0);
}

int albert_forward(AlbertModel *m, int B, int L, const int32_t *ids, const int32_t *type_ids, const int32_t *mask,
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
    for (long i = 0; type_ids && i < (long)B * L; i++)
        if (type_ids[i] < 0 || type_ids[i] >= c->type_vocab_size)
            return alb_fail(err, "albert_forward: token type id %d at [%ld, %ld] outside [0, %d)", (int)type_ids[i],
                            i / L, i % L, c->type_vocab_size);
    int H = c->hidden_size;
    int T = select_rows(B, L, mask, NULL, NULL);
    reserve(m, T, B, L);
    select_rows(B, L, mask, m->rows, m->seq_start);

    embeddings(m, ids, type_ids, L, T);                       /* e [T, E] */
    int rc = linear(m, &m->mapping, m->e, m->h, T, 0, err); /* h [T, H] */

    /* extended mask: (1 - m) * finfo(dtype).min, added to every query's scores */
    float neg = m->dtype == ALB_BF16 ? f32_from_bf16(0xff7f) : -FLT_MAX;
    for (int t = 0; t < T; t++) m->mask_add[t] = (!mask || mask[m->rows[t]]) ? 0.0f : neg;

    /* Without last_hidden only the [CLS] rows are read: the last layer
     * carries only them on (h [B, H]) */
    int per_group = c->num_hidden_layers / c->num_hidden_groups, cls_only_last = !last_hidden;
    for (int l = 0; l < c->num_hidden_layers && !rc; l++) {
        int g = l / per_group;
        for (int i = 0; i < c->inner_group_num && !rc; i++) {
            int last = l == c->num_hidden_layers - 1 && i == c->inner_group_num - 1;
            rc = layer_forward(m, &m->layers[g * c->inner_group_num + i], B, T, last && cls_only_last, err);
        }
    }
    if (rc) return -1;

    int bf = m->dtype == ALB_BF16;
    if (last_hidden) {
        memset(last_hidden, 0, (size_t)B * L * H * sizeof(float));
        for (int t = 0; t < T; t++)
            for (int j = 0; j < H; j++) last_hidden[(size_t)m->rows[t] * H + j] = LD(bf, m->h, (size_t)t * H + j);
    }
    for (int b = 0; b < B; b++) { /* [CLS] of sequence b: h row b, or seq_start[b] when every row was kept */
        int row = cls_only_last ? b : m->seq_start[b];
        if (cls)
            for (int j = 0; j < H; j++) cls[(size_t)b * H + j] = LD(bf, m->h, (size_t)row * H + j);
        /* the pooler's input h[:, 0], gathered in a */
        if (pooler) memcpy(ROW(m, m->a, b, H), ROW(m, m->h, row, H), (size_t)H * act_bytes(m));
    }
    if (pooler) {
        /* pooler = tanh(h[:, 0] Wp^T + bp)  [B, H]: the product in tmp */
        if (linear(m, &m->pooler, m->a, m->tmp, B, 0, err)) return -1;
        for (long i = 0; i < (long)B * H; i++) pooler[i] = rnd(m, tanh_f(LD(bf, m->tmp, (size_t)i)));
    }
    return 0;
}
