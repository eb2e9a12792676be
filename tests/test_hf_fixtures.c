/* The encoder and tokenizer against Hugging Face transformers itself:
 * ../shared/fixtures/hf-albert/{tiny,tiny_sharp} hold two small random ALBERT
 * models (HF names, "albert." prefix, gelu_new) and what AlbertModel v4.36.2
 * computed for them in float64, float32 and bfloat16 (see that README). The
 * model directories are loaded as a user's would be (albert_load: config.json +
 * model.safetensors), Banking77 test texts are tokenized with the real
 * spiece.model, and "many" goes through encode_cls, the length-sorted batching
 * that train and embed use.
 *
 * fp32 bounds, derived (not fitted), against the float64 outputs, which are the
 * exact function up to ~1e-15:
 *  - Worst case. A sum of K products in float32, in any order a correct BLAS
 *    may choose, is off by at most gamma_K * sum |a_i b_i|, gamma_K = K u / (1 - K u),
 *    u = 2^-24 (Higham, Accuracy and Stability, 3.1). Every output row is a
 *    LayerNorm output (|x| <= a few), reached through P = 1 + 7 * layers
 *    matrix products (embedding mapping; Q, K, V, scores, context, attention
 *    output, FFN in, FFN out: 8 per layer, Q/K/V counted as one fused product
 *    of the same K) whose longest sum is Kmax = max(hidden, intermediate,
 *    padded length). Taking each product's error relative to the scale of the
 *    normalised activations it feeds, and the elementwise ops (softmax, GELU,
 *    LayerNorm: a few u each) as one more gamma per product, the output error
 *    is at most 2 P gamma_Kmax max|x|. For tiny (2 layers, Kmax 128, max|x| ~4)
 *    that is 1.4e-4; transformers' own fp32 is 1.2e-6 from float64 here.
 *  - Typical case, which catches what the worst case is too wide to see (a
 *    gelu vs gelu_new mix-up moves values by ~1e-4). Over thousands of values
 *    the RMS error of an evaluation order is stable; orders differ in how the
 *    rounding errors of one sum add up: K-step sequential accumulation gives
 *    an RMS ~sqrt(K) u, pairwise ~sqrt(log2 K) u, so two correct orders' RMS
 *    errors differ by at most sqrt(Kmax / log2 Kmax) = 4.3 (Kmax 128). The test
 *    asks RMS(ours - fp64) <= 8 RMS(transformers fp32 - fp64), also checked
 *    of transformers itself against the worst-case bound.
 *
 * bf16: the fixtures were made on a CPU without native bf16, where oneDNN
 * computes bf16 matrix products in fp32 from bf16 inputs: the semantics
 * albert.c replays. Only the fp32 summation order differs, which flips a bf16
 * rounding now and then (a flip before a LayerNorm can move a whole row by an
 * ulp): at most 2% of values may differ, by at most 2^-4 (4 ulps in [2, 4)).
 * One exception, torch's and not ours: torch 1.13 hands a bf16 matmul to
 * oneDNN only above 16^3 multiply-adds (checksize() in its Blas.cpp); below,
 * its own bf16 gemm keeps the running sum in bf16. b1_nopad's attention
 * products (batch*heads x 9 x 8 x 9 = 2592) fall below, so there most values
 * differ by an ulp or a few and only the 2^-4 bound is asked. albert.c always
 * sums in fp32, as torch does at albert-base size, where the smallest product
 * (12 heads x 3 x 64 x 3 tokens = 6912) is above the threshold. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"
#include "model/albert.h"
#include "pipeline/encode.h"
#include "testutil.h"
#include "tokenizer/tokenizer.h"

#define U_F32 0x1p-24
#define RMS_RATIO_MAX 8.0
#define BF16_TOL 0.0625
#define BF16_MAX_DIFFERING 0.02
#define TORCH_ONEDNN_MIN_MACS (16 * 16 * 16)

typedef struct {
    char dir[512];
    SafeTensors forward;
    AlbertModel *model;
    const AlbertConfig *cfg;
} Fixture;

static void fixture_open(Fixture *f, const char *name, AlbDtype dtype) {
    AlbError err;
    snprintf(f->dir, sizeof f->dir, "%s", test_shared_path("fixtures/hf-albert"));
    size_t n = strlen(f->dir);
    snprintf(f->dir + n, sizeof f->dir - n, "/%s", name);
    char path[600];
    snprintf(path, sizeof path, "%s/forward.safetensors", f->dir);
    cr_assert_eq(st_open(&f->forward, path, &err), 0, "%s", err.msg);
    cr_assert_eq(albert_load(&f->model, f->dir, dtype, &err), 0, "%s", err.msg);
    f->cfg = albert_config(f->model);
}

static void fixture_close(Fixture *f) {
    albert_free(f->model);
    st_close(&f->forward);
}

static const StTensor *tensor(const Fixture *f, const char *c, const char *what) {
    char name[128];
    snprintf(name, sizeof name, "%s.%s", c, what);
    const StTensor *t = st_find(&f->forward, name);
    cr_assert(t, "%s/forward.safetensors has no %s", f->dir, name);
    return t;
}

/* Any float tensor of the fixture as doubles (F64 kept exact). malloc'ed. */
static double *values(const Fixture *f, const char *c, const char *what, int64_t *n) {
    const StTensor *t = tensor(f, c, what);
    double *out = malloc(sizeof(double) * (size_t)t->numel);
    if (t->dtype == ST_F64) {
        memcpy(out, t->data, sizeof(double) * (size_t)t->numel);
    } else {
        const float *data;
        float *owned;
        AlbError err;
        cr_assert_eq(st_get_f32(&f->forward, t->name, NULL, -1, NULL, &data, &owned, &err), 0, "%s", err.msg);
        for (int64_t i = 0; i < t->numel; i++) out[i] = data[i];
        free(owned);
    }
    *n = t->numel;
    return out;
}

static int32_t *ints(const Fixture *f, const char *c, const char *what, int *rows, int *cols) {
    const StTensor *t = tensor(f, c, what);
    cr_assert_eq(t->dtype, ST_I64);
    int32_t *out = malloc(sizeof(int32_t) * (size_t)t->numel);
    for (int64_t i = 0; i < t->numel; i++) {
        int64_t v;
        memcpy(&v, (const char *)t->data + i * 8, 8);
        out[i] = (int32_t)v;
    }
    *rows = (int)t->shape[0];
    *cols = t->ndim > 1 ? (int)t->shape[1] : 1;
    return out;
}

/* 2 P gamma_Kmax max|x| (header comment) for a batch padded to L. */
static double worst_case_bound(const AlbertConfig *cfg, int L, double max_abs) {
    int k = cfg->hidden_size;
    if (cfg->intermediate_size > k) k = cfg->intermediate_size;
    if (L > k) k = L;
    double gamma = k * U_F32 / (1.0 - k * U_F32);
    int products = 1 + 7 * cfg->num_hidden_layers;
    return 2.0 * products * gamma * max_abs;
}

typedef struct {
    double max_abs, sum_sq;
    long n, differing;
} Diff;

static void diff_add(Diff *d, double got, double want) {
    double e = fabs(got - want);
    if (!(e <= d->max_abs)) d->max_abs = e;  /* NaN counts as the worst */
    d->sum_sq += e * e;
    d->differing += got != want;
    d->n++;
}

static double diff_rms(const Diff *d) { return d->n ? sqrt(d->sum_sq / (double)d->n) : 0.0; }

/* Ours, transformers fp32 and |x| over the real positions of a case. */
typedef struct {
    Diff ours, theirs;
    double max_x;
} Fp32Check;

static void check_fp32(const char *model, const char *c) {
    Fixture f;
    fixture_open(&f, model, ALB_F32);
    int B, L, H = f.cfg->hidden_size;
    int32_t *ids = ints(&f, c, "input_ids", &B, &L), *mask = ints(&f, c, "attention_mask", &B, &L);
    float *hidden = malloc(sizeof(float) * (size_t)B * L * H), *pooler = malloc(sizeof(float) * (size_t)B * H);
    AlbError err;
    cr_assert_eq(albert_forward(f.model, B, L, ids, NULL, mask, hidden, NULL, pooler, &err), 0, "%s", err.msg);
    int64_t n;
    double *exact = values(&f, c, "fp64.last_hidden_state", &n), *torch = values(&f, c, "fp32.last_hidden_state", &n);
    double *torch_pooler = values(&f, c, "fp32.pooler_output", &n);
    Fp32Check k = {0};
    for (long i = 0; i < (long)B * L; i++) {
        if (!mask[i]) continue;  /* pad rows: torch computes values there that nothing reads */
        for (int h = 0; h < H; h++) {
            long j = i * H + h;
            diff_add(&k.ours, hidden[j], exact[j]);
            diff_add(&k.theirs, torch[j], exact[j]);
            if (fabs(exact[j]) > k.max_x) k.max_x = fabs(exact[j]);
        }
    }
    double bound = worst_case_bound(f.cfg, L, k.max_x);
    cr_log_info("%s %s fp32 vs fp64 (%ld values): ours max %.3g rms %.3g, transformers max %.3g rms %.3g, bound %.3g",
                model, c, k.ours.n, k.ours.max_abs, diff_rms(&k.ours), k.theirs.max_abs, diff_rms(&k.theirs), bound);
    cr_expect_leq(k.theirs.max_abs, bound, "%s %s: transformers itself breaks the derived bound", model, c);
    cr_expect_leq(k.ours.max_abs, bound, "%s %s: max |ours - fp64| %.3g > %.3g", model, c, k.ours.max_abs, bound);
    cr_expect_leq(diff_rms(&k.ours), RMS_RATIO_MAX * diff_rms(&k.theirs), "%s %s: rms error %.3g vs transformers %.3g",
                  model, c, diff_rms(&k.ours), diff_rms(&k.theirs));
    /* pooler = tanh(dense(cls)): one more product, tanh contracts */
    Diff p = {0};
    for (long i = 0; i < (long)B * H; i++) diff_add(&p, pooler[i], torch_pooler[i]);
    cr_expect_leq(p.max_abs, 2 * bound, "%s %s: pooler_output max diff %.3g", model, c, p.max_abs);
    free(exact);
    free(torch);
    free(torch_pooler);
    free(hidden);
    free(pooler);
    free(ids);
    free(mask);
    fixture_close(&f);
}

static void check_bf16(const char *model, const char *c) {
    Fixture f;
    fixture_open(&f, model, ALB_BF16);
    int B, L, H = f.cfg->hidden_size;
    int32_t *ids = ints(&f, c, "input_ids", &B, &L), *mask = ints(&f, c, "attention_mask", &B, &L);
    float *hidden = malloc(sizeof(float) * (size_t)B * L * H);
    AlbError err;
    cr_assert_eq(albert_forward(f.model, B, L, ids, NULL, mask, hidden, NULL, NULL, &err), 0, "%s", err.msg);
    int64_t n;
    double *torch = values(&f, c, "bf16.last_hidden_state", &n);
    Diff d = {0};
    for (long i = 0; i < (long)B * L; i++)
        for (int h = 0; mask[i] && h < H; h++) diff_add(&d, hidden[i * H + h], torch[i * H + h]);
    cr_log_info("%s %s bf16: %ld of %ld values differ, max %.3g", model, c, d.differing, d.n, d.max_abs);
    cr_expect_leq(d.max_abs, BF16_TOL, "%s %s: bf16 max diff %.3g", model, c, d.max_abs);
    int heads = f.cfg->num_attention_heads, head_dim = f.cfg->hidden_size / heads;
    if ((long)B * heads * L * head_dim * L > TORCH_ONEDNN_MIN_MACS)
        cr_expect_leq((double)d.differing, BF16_MAX_DIFFERING * (double)d.n, "%s %s: %ld of %ld bf16 values differ",
                  model, c, d.differing, d.n);
    free(torch);
    free(hidden);
    free(ids);
    free(mask);
    fixture_close(&f);
}

static const char *const CASES[] = {"b1_nopad", "b8_pad3", "b8_pad0", "b4_len128_pad3", "r8_random_pad3"};
#define N_CASES (sizeof CASES / sizeof *CASES)

Test(hf_fixtures, tiny_fp32) {
    for (size_t i = 0; i < N_CASES; i++) check_fp32("tiny", CASES[i]);
}
Test(hf_fixtures, tiny_sharp_fp32) {
    for (size_t i = 0; i < N_CASES; i++) check_fp32("tiny_sharp", CASES[i]);
}
Test(hf_fixtures, tiny_bf16) {
    for (size_t i = 0; i < N_CASES; i++) check_bf16("tiny", CASES[i]);
}
Test(hf_fixtures, tiny_sharp_bf16) {
    for (size_t i = 0; i < N_CASES; i++) check_bf16("tiny_sharp", CASES[i]);
}

/* Banking77 test texts, by row, from the JSONL file. */
static char **test_texts(int *n) {
    char path[600];
    snprintf(path, sizeof path, "%s", test_shared_path("data/banking77/test.jsonl"));
    FILE *fp = fopen(path, "r");
    cr_assert(fp, "%s", path);
    char **texts = NULL, *line = NULL;
    size_t cap = 0;
    *n = 0;
    while (getline(&line, &cap, fp) > 0) {
        json_t *o = json_loads(line, 0, NULL);
        cr_assert(json_is_string(json_object_get(o, "text")), "%s: line %d", path, *n + 1);
        texts = realloc(texts, sizeof(char *) * (size_t)(*n + 1));
        texts[(*n)++] = strdup(json_string_value(json_object_get(o, "text")));
        json_decref(o);
    }
    free(line);
    fclose(fp);
    return texts;
}

/* The texts behind each case, tokenized with the real spiece.model, give the
 * fixture's ids (transformers' slow tokenizer) and, padded, its mask. */
Test(hf_fixtures, token_ids) {
    AlbertTokenizer *tok;
    AlbError err;
    cr_assert_eq(tokenizer_load(&tok, test_shared_path("models/albert-base-v2/spiece.model"), &err), 0, "%s", err.msg);
    int n_texts;
    char **texts = test_texts(&n_texts);
    Fixture f;
    fixture_open(&f, "tiny", ALB_F32);
    const char *cases[] = {"b1_nopad", "b8_pad3", "b8_pad0", "b4_len128_pad3", "many"};
    long compared = 0;
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        int B, L, nr, one;
        int32_t *ids = ints(&f, cases[c], "input_ids", &B, &L), *mask = ints(&f, cases[c], "attention_mask", &B, &L);
        int32_t *rows = ints(&f, cases[c], "test_row", &nr, &one);
        cr_assert_eq(nr, B);
        for (int b = 0; b < B; b++) {
            cr_assert(rows[b] >= 0 && rows[b] < n_texts, "%s row %d", cases[c], rows[b]);
            TokenIds t = {0};
            const char *text = texts[rows[b]];
            tokenizer_encode(tok, text, strlen(text), L, &t);
            for (int j = 0; j < L; j++) {
                int real = j < t.n;
                cr_expect_eq(mask[b * L + j], real, "%s seq %d pos %d: mask", cases[c], b, j);
                if (real) cr_expect_eq(t.ids[j], ids[b * L + j], "%s seq %d (test row %d) pos %d", cases[c], b, rows[b], j);
            }
            compared += t.n;
            token_ids_free(&t);
        }
        free(ids);
        free(mask);
        free(rows);
    }
    cr_log_info("token ids: %ld compared", compared);
    fixture_close(&f);
    for (int i = 0; i < n_texts; i++) free(texts[i]);
    free(texts);
    tokenizer_free(tok);
}

/* "many": 64 texts through encode_cls (length-sorted batches of 8, each padded
 * to its own longest member, not the fixture's 51/62), against transformers'
 * [CLS] rows. No float64 here: the bound is the worst case of both sides. */
static void check_many(const char *model, AlbDtype dtype) {
    Fixture f;
    fixture_open(&f, model, dtype);
    int B, L, H = f.cfg->hidden_size;
    int32_t *ids = ints(&f, "many", "input_ids", &B, &L), *mask = ints(&f, "many", "attention_mask", &B, &L);
    EncodeSeq *seqs = calloc((size_t)B, sizeof *seqs);
    for (int b = 0; b < B; b++) {
        seqs[b].ids = ids + (size_t)b * L;
        while (seqs[b].n < L && mask[b * L + seqs[b].n]) seqs[b].n++;
    }
    float *cls = malloc(sizeof(float) * (size_t)B * H);
    AlbError err;
    cr_assert_eq(encode_cls(f.model, seqs, B, 8, 0, cls, NULL, NULL, &err), 0, "%s", err.msg);
    int64_t n;
    double *torch = values(&f, "many", dtype == ALB_BF16 ? "bf16.cls" : "fp32.cls", &n);
    Diff d = {0};
    double max_x = 0;
    for (long i = 0; i < (long)B * H; i++) {
        diff_add(&d, cls[i], torch[i]);
        if (fabs(torch[i]) > max_x) max_x = fabs(torch[i]);
    }
    cr_log_info("%s many %s: %ld of %ld differ, max %.3g, rms %.3g", model, alb_dtype_name(dtype), d.differing, d.n,
                d.max_abs, diff_rms(&d));
    if (dtype == ALB_BF16) {
        cr_expect_leq(d.max_abs, BF16_TOL, "%s many bf16: max %.3g", model, d.max_abs);
        cr_expect_leq((double)d.differing, BF16_MAX_DIFFERING * (double)d.n, "%s many bf16: %ld of %ld differ", model,
                      d.differing, d.n);
    } else {
        cr_expect_leq(d.max_abs, 2 * worst_case_bound(f.cfg, L, max_x), "%s many fp32: max %.3g", model, d.max_abs);
    }
    free(torch);
    free(cls);
    free(seqs);
    free(ids);
    free(mask);
    fixture_close(&f);
}

Test(hf_fixtures, many_through_encode_cls) {
    check_many("tiny", ALB_F32);
    check_many("tiny_sharp", ALB_F32);
    check_many("tiny", ALB_BF16);
    check_many("tiny_sharp", ALB_BF16);
}
