/* The ALBERT forward pass against tools/albert_ref.py (PyTorch), through the
 * goldens tests/goldens/albert_{a,b,c,d,e}.safetensors (tools/gen_albert_goldens.py).
 * Compared: last_hidden_state at real positions and pooler_output.
 *
 * fp32 against the exact result (the golden is the float64 run, rounded to
 * float when stored): max abs error <= 1e-5, a statistical bound, not a worst
 * case. Our matrix products are oneDNN brgemm (or, without AVX512, OpenBLAS)
 * calls whose summation order depends on the machine's kernel; every other op
 * computes the same function as the reference. Per product output s = sum_{i<K} a_i w_i, any order gives
 * |fl(s) - s| <= gamma_K sum |a_i w_i| (gamma_K = K u / (1 - K u), u = 2^-24);
 * here K <= 96, weights have std 1/sqrt(K) and inputs are LayerNorm'd
 * (|a| ~ 1), so sum |a_i w_i| ~ 0.64 sqrt(K) ~ 6: <= 3.5e-5 per output,
 * reached only if every rounding error has the same sign and its maximum
 * size. Whatever the order, the K rounding errors of a sum of O(1) partial
 * sums are of either sign: their sum has standard deviation ~ u sqrt(K / 3)
 * ~ 3.4e-7 (Higham & Mary, SIAM J. Sci. Comput. 41(5), 2019, give the matching
 * bound lambda sqrt(K) u sum |a_i w_i| with probability >= 1 - 2
 * exp(-lambda^2 / 2)). A few products in series per layer (LayerNorm rescales
 * by 1/std ~ 1): ~1e-6 standard deviation, so 1e-5 is ~10 of them. Measured:
 * <= 1.4e-6 under the Haswell, SkylakeX, Cooperlake and Zen kernels (torch's
 * own fp32: <= 1.3e-6). The golden does not depend on where it is generated.
 *
 * bf16: albert.c reproduces torch's bf16 op by op (same roundings, LayerNorm's
 * bf16 Welford statistics included) and, on AVX512_BF16, its matrix products
 * in the same oneDNN brgemm kernels and its attention products and softmax
 * sums in the same order; the outputs are bit-identical to torch's (0
 * differing values on all the goldens, every padding/batching variant; at base
 * size: tests/oracle/check_bf16_torch.sh). Elsewhere the products are emulated
 * (fp32 sums of bf16 values in another order: oneDNN's f32 brgemm without
 * AVX512_BF16, OpenBLAS without AVX512), which flips a bf16 rounding now and
 * then (goldens_without_avx512_bf16, goldens_avx2_only below). So the test
 * asks for <= 2% differing values and max abs <= 2^-4 (4 ulps at |x| in [2, 4)). A max-abs bound alone
 * could not tell emulation from plain fp32: fp32 rounded to bf16 at the end
 * differs from torch bf16 by only 0.03-0.08 here, but in 78-85% of the values.
 * At albert-base scale the emulation's flips do add up (measured before the
 * native engine, tools/check_albert_embed.py, random init-model weights, 200
 * Banking77 texts): a flipped input of a bf16 LayerNorm can move its bf16
 * mean/variance and so the whole row, and after 12 layers most values differed
 * from torch bf16 by an ulp or two (max abs 0.078 / 0.104 for init std 0.02 /
 * 0.1), about as far as torch bf16 is from torch fp32 (0.069 / 0.29). fp32 there: 1.9e-6 / 2.7e-5 (torch's own fp32,
 * batched vs alone: 1.7e-6 / 1.9e-5). */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dnnl.h>

#include "io/safetensors.h"
#include "model/albert.h"
#include "model/config.h"
#include "testutil.h"

#define F32_TOL ENCODER_F32_TOL
#define BF16_TOL 0.0625f
#define BF16_MAX_DIFFERING 0.02

typedef struct {
    char path[256];
    SafeTensors st;
    AlbertConfig cfg;
    int B, L, H;
    int32_t *ids, *mask, *types;
    int *lengths;
} Golden;

static void read_ints(const SafeTensors *st, const char *name, int32_t *out, int64_t n) {
    const StTensor *t = st_find(st, name);
    cr_assert(t && t->dtype == ST_I64 && t->numel == n, "%s", name);
    for (int64_t i = 0; i < n; i++) {
        int64_t v;
        memcpy(&v, (const char *)t->data + i * 8, 8);
        out[i] = (int32_t)v;
    }
}

static void golden_open(Golden *g, const char *name) {
    AlbError err;
    snprintf(g->path, sizeof g->path, "tests/goldens/albert_%s.safetensors", name);
    cr_assert_eq(st_open(&g->st, g->path, &err), 0, "%s", err.msg);
    const char *cj = st_meta(&g->st, "config");
    cr_assert(cj);
    cr_assert_eq(albert_config_parse(&g->cfg, cj, strlen(cj), g->path, &err), 0, "%s", err.msg);
    const StTensor *t = st_find(&g->st, "input_ids");
    cr_assert(t && t->ndim == 2);
    g->B = (int)t->shape[0];
    g->L = (int)t->shape[1];
    g->H = g->cfg.hidden_size;
    g->ids = malloc(sizeof(int32_t) * g->B * g->L);
    g->mask = malloc(sizeof(int32_t) * g->B * g->L);
    g->types = malloc(sizeof(int32_t) * g->B * g->L);
    g->lengths = calloc((size_t)g->B, sizeof(int));
    read_ints(&g->st, "input_ids", g->ids, (int64_t)g->B * g->L);
    read_ints(&g->st, "attention_mask", g->mask, (int64_t)g->B * g->L);
    read_ints(&g->st, "token_type_ids", g->types, (int64_t)g->B * g->L);
    for (int i = 0; i < g->B * g->L; i++) g->lengths[i / g->L] += g->mask[i];
}

static void golden_close(Golden *g) {
    st_close(&g->st);
    free(g->ids);
    free(g->mask);
    free(g->types);
    free(g->lengths);
}

static const float *expected(const Golden *g, const char *tag, const char *what) {
    char name[128];
    snprintf(name, sizeof name, "%s.%s", tag, what);
    const float *data;
    float *owned;
    AlbError err;
    cr_assert_eq(st_get_f32(&g->st, name, NULL, -1, NULL, &data, &owned, &err), 0, "%s", err.msg);
    cr_assert_null(owned);  /* aligned F32: zero-copy */
    return data;
}

static AlbertModel *golden_model(const Golden *g, AlbDtype dt) {
    AlbertModel *m;
    AlbError err;
    cr_assert_eq(albert_load_weights(&m, &g->cfg, g->path, dt, &err), 0, "%s", err.msg);
    return m;
}

typedef struct {
    float max_abs;
    long differing, total;
} Error;

static void compare(Error *e, float got, float want) {
    float d = fabsf(got - want);
    if (!(d <= e->max_abs)) e->max_abs = d;  /* NaN counts as the worst */
    e->differing += got != want;
    e->total++;
}

/* Errors of a batch's outputs over the real positions of the golden's
 * sequences. rows[b] = which golden sequence row b holds; hidden is [B, L, H]. */
static Error batch_error(const Golden *g, const char *tag, int B, int L, const int *rows, const float *hidden,
                         const float *pooler) {
    const float *eh = expected(g, tag, "last_hidden_state"), *ep = expected(g, tag, "pooler_output");
    Error e = {0};
    for (int b = 0; b < B; b++) {
        int r = rows[b];
        for (int i = 0; i < g->lengths[r]; i++)
            for (int j = 0; j < g->H; j++)
                compare(&e, hidden[((size_t)b * L + i) * g->H + j], eh[((size_t)r * g->L + i) * g->H + j]);
        for (int j = 0; j < g->H; j++) compare(&e, pooler[(size_t)b * g->H + j], ep[(size_t)r * g->H + j]);
    }
    return e;
}

/* Forward a batch built from golden rows, padded to L with pad_id, and return
 * its error. Token types go in as the golden has them (pad: 0), or as NULL
 * (all 0) when every one is 0: the single-text rows run both ways. */
static Error run_rows(const Golden *g, AlbertModel *m, const char *tag, int B, const int *rows, int L, int pad_id) {
    int32_t *ids = malloc(sizeof(int32_t) * B * L), *mask = malloc(sizeof(int32_t) * B * L),
            *types = malloc(sizeof(int32_t) * B * L);
    int any_type = 0;
    for (int b = 0; b < B; b++)
        for (int i = 0; i < L; i++) {
            int real = i < g->lengths[rows[b]];
            ids[b * L + i] = real ? g->ids[rows[b] * g->L + i] : pad_id;
            mask[b * L + i] = real;
            types[b * L + i] = real ? g->types[rows[b] * g->L + i] : 0;
            any_type |= types[b * L + i];
        }
    float *hidden = malloc(sizeof(float) * B * L * g->H), *cls = malloc(sizeof(float) * B * g->H),
          *pooler = malloc(sizeof(float) * B * g->H);
    AlbError err;
    cr_assert_eq(albert_forward(m, B, L, ids, any_type ? types : NULL, mask, hidden, cls, pooler, &err), 0, "%s",
                 err.msg);
    for (int b = 0; b < B; b++)
        cr_assert_eq(memcmp(cls + b * g->H, hidden + (size_t)b * L * g->H, sizeof(float) * g->H), 0);
    /* without last_hidden the last layer carries only the [CLS] rows on: the same bits */
    float *cls_only = malloc(sizeof(float) * B * g->H), *pooler_only = malloc(sizeof(float) * B * g->H);
    cr_assert_eq(albert_forward(m, B, L, ids, any_type ? types : NULL, mask, NULL, cls_only, pooler_only, &err), 0,
                 "%s", err.msg);
    cr_expect_eq(memcmp(cls_only, cls, sizeof(float) * B * g->H), 0, "%s: [CLS] differs without last_hidden", tag);
    cr_expect_eq(memcmp(pooler_only, pooler, sizeof(float) * B * g->H), 0, "%s: pooler differs without last_hidden",
                 tag);
    free(cls_only);
    free(pooler_only);
    Error e = batch_error(g, tag, B, L, rows, hidden, pooler);
    free(ids);
    free(mask);
    free(types);
    free(hidden);
    free(cls);
    free(pooler);
    return e;
}

static void expect_close(Error e, AlbDtype dt, const char *what) {
    if (dt == ALB_F32) {
        cr_expect_leq(e.max_abs, F32_TOL, "%s: max abs error %g > %g", what, e.max_abs, F32_TOL);
    } else {
        cr_expect_leq(e.max_abs, BF16_TOL, "%s: max abs error %g > %g", what, e.max_abs, BF16_TOL);
        cr_expect_leq(e.differing, BF16_MAX_DIFFERING * e.total, "%s: %ld of %ld values differ from torch bf16",
                      what, e.differing, e.total);
    }
}

static void check_golden(const char *name, AlbDtype dt) {
    Golden g;
    golden_open(&g, name);
    AlbertModel *m = golden_model(&g, dt);
    const char *tag = dt == ALB_BF16 ? "bf16" : "f32";
    char what[128];
    int rows[8];
    for (int b = 0; b < g.B; b++) rows[b] = b;

    /* the golden batch as torch saw it (pad id 0) */
    Error e = run_rows(&g, m, tag, g.B, rows, g.L, 0);
    cr_log_info("albert_%s %s: max abs error %.3g, %ld/%ld values differ", name, tag, e.max_abs, e.differing,
                e.total);
    snprintf(what, sizeof what, "albert_%s %s", name, tag);
    expect_close(e, dt, what);
    /* pad id 3 ([SEP], the reference's pad) and a longer padded length */
    snprintf(what, sizeof what, "albert_%s %s pad id 3", name, tag);
    expect_close(run_rows(&g, m, tag, g.B, rows, g.L, 3), dt, what);
    snprintf(what, sizeof what, "albert_%s %s padded to L+4", name, tag);
    expect_close(run_rows(&g, m, tag, g.B, rows, g.L + 4, 3), dt, what);
    /* batch companions: each sequence alone, unpadded, and the batch reversed */
    for (int b = 0; b < g.B; b++) {
        snprintf(what, sizeof what, "albert_%s %s row %d alone", name, tag, b);
        expect_close(run_rows(&g, m, tag, 1, &rows[b], g.lengths[b], 0), dt, what);
    }
    int rev[8];
    for (int b = 0; b < g.B; b++) rev[b] = g.B - 1 - b;
    snprintf(what, sizeof what, "albert_%s %s reversed batch", name, tag);
    expect_close(run_rows(&g, m, tag, g.B, rev, g.L, 0), dt, what);

    albert_free(m);
    golden_close(&g);
}

Test(albert, golden_a_f32) { check_golden("a", ALB_F32); }
Test(albert, golden_b_f32) { check_golden("b", ALB_F32); }
Test(albert, golden_c_f32) { check_golden("c", ALB_F32); }
Test(albert, golden_d_f32) { check_golden("d", ALB_F32); }
Test(albert, golden_e_f32) { check_golden("e", ALB_F32); }
Test(albert, golden_a_bf16) { check_golden("a", ALB_BF16); }
Test(albert, golden_b_bf16) { check_golden("b", ALB_BF16); }
Test(albert, golden_c_bf16) { check_golden("c", ALB_BF16); }
Test(albert, golden_d_bf16) { check_golden("d", ALB_BF16); }
Test(albert, golden_e_bf16) { check_golden("e", ALB_BF16); }

/* bf16 outputs are bf16 values, and plain fp32 would not pass the bf16 test:
 * the emulation is what makes the difference. */
Test(albert, bf16_outputs_are_bf16_and_differ_from_f32) {
    Golden g;
    golden_open(&g, "b");
    AlbertModel *m32 = golden_model(&g, ALB_F32), *m16 = golden_model(&g, ALB_BF16);
    size_t n = (size_t)g.B * g.L * g.H;
    float *h32 = malloc(n * sizeof(float)), *h16 = malloc(n * sizeof(float));
    AlbError err;
    cr_assert_eq(albert_forward(m32, g.B, g.L, g.ids, NULL, g.mask, h32, NULL, NULL, &err), 0, "%s", err.msg);
    cr_assert_eq(albert_forward(m16, g.B, g.L, g.ids, NULL, g.mask, h16, NULL, NULL, &err), 0, "%s", err.msg);
    float worst = 0.0f;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &h16[i], 4);
        cr_assert_eq(u & 0xffffu, 0u, "bf16 output %zu is not a bf16 value", i);
        if (g.mask[i / g.H]) worst = fmaxf(worst, fabsf(h32[i] - h16[i]));
    }
    cr_log_info("albert_b: |fp32 - bf16| max %.3g", worst);
    cr_expect_gt(worst, 1e-3f);
    cr_expect_str_eq(albert_weights_hash(m32), albert_weights_hash(m16));
    free(h32);
    free(h16);
    albert_free(m32);
    albert_free(m16);
    golden_close(&g);
}

Test(albert, weights_hash) {
    Golden a, b;
    golden_open(&a, "a");
    golden_open(&b, "d");
    AlbertModel *ma = golden_model(&a, ALB_F32), *ma2 = golden_model(&a, ALB_F32), *md = golden_model(&b, ALB_F32);
    const char *h = albert_weights_hash(ma);
    cr_assert_eq(strlen(h), 32);
    cr_assert_eq(strspn(h, "0123456789abcdef"), 32);
    cr_expect_str_eq(h, albert_weights_hash(ma2));
    cr_expect_str_neq(h, albert_weights_hash(md));
    albert_free(ma);
    albert_free(ma2);
    albert_free(md);
    golden_close(&a);
    golden_close(&b);
}

Test(albert, forward_rejects_bad_input) {
    Golden g;
    golden_open(&g, "a");
    AlbertModel *m = golden_model(&g, ALB_F32);
    AlbError err;
    int32_t ids[2] = {2, 40};
    float out[64];
    cr_expect_eq(albert_forward(m, 1, 2, ids, NULL, NULL, NULL, out, NULL, &err), -1);
    cr_expect(strstr(err.msg, "token id 40") && strstr(err.msg, "[0, 40)"), "%s", err.msg);
    ids[1] = -1;
    cr_expect_eq(albert_forward(m, 1, 2, ids, NULL, NULL, NULL, out, NULL, &err), -1);
    int32_t long_ids[17] = {2};
    cr_expect_eq(albert_forward(m, 1, 17, long_ids, NULL, NULL, NULL, out, NULL, &err), -1);
    cr_expect(strstr(err.msg, "max_position_embeddings 16"), "%s", err.msg);
    int32_t ok_ids[2] = {2, 7}, bad_types[2] = {0, 2};  /* type_vocab_size 2 */
    cr_expect_eq(albert_forward(m, 1, 2, ok_ids, bad_types, NULL, NULL, out, NULL, &err), -1);
    cr_expect(strstr(err.msg, "token type id 2") && strstr(err.msg, "[0, 2)"), "%s", err.msg);
    /* a fully masked row is computed like torch (uniform attention), not rejected */
    int32_t ok[2] = {2, 7}, zero[2] = {0, 0};
    cr_expect_eq(albert_forward(m, 1, 2, ok, NULL, zero, NULL, out, NULL, &err), 0, "%s", err.msg);
    for (int j = 0; j < 32; j++) cr_expect(isfinite(out[j]));
    albert_free(m);
    golden_close(&g);
}

/* A model directory made from golden a's weights, minus or altering one tensor. */
static char *write_model_dir(const Golden *g, const char *drop, const char *reshape) {
    char *dir = test_mkdtemp(), path[512];
    AlbError err;
    snprintf(path, sizeof path, "%s/config.json", dir);
    cr_assert_eq(albert_config_save(&g->cfg, path, &err), 0, "%s", err.msg);
    StWriter *w = st_writer_new();
    for (int i = 0; i < g->st.n_tensors; i++) {
        const StTensor *t = &g->st.tensors[i];
        if (drop && !strcmp(t->name, drop)) continue;
        int64_t shape[ST_MAX_DIMS];
        memcpy(shape, t->shape, sizeof shape);
        int ndim = t->ndim;
        if (reshape && !strcmp(t->name, reshape)) { /* same bytes, [a, b] -> [b, a] */
            shape[0] = t->shape[1];
            shape[1] = t->shape[0];
        }
        st_writer_add(w, t->name, t->dtype, ndim, shape, t->data);
    }
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    cr_assert_eq(st_writer_save(w, path, &err), 0, "%s", err.msg);
    st_writer_free(w);
    return dir;
}

Test(albert, load_errors_name_file_and_tensor) {
    Golden g;
    golden_open(&g, "a");
    AlbertModel *m = NULL;
    AlbError err;

    /* missing directory / config */
    cr_expect_eq(albert_load(&m, "/nonexistent/albert-model", ALB_F32, &err), -1);
    cr_expect(strstr(err.msg, "/nonexistent/albert-model/config.json"), "%s", err.msg);
    cr_expect_null(m);

    /* complete copy loads, and gives the same hash as the golden file */
    char *dir = write_model_dir(&g, NULL, NULL);
    cr_assert_eq(albert_load(&m, dir, ALB_F32, &err), 0, "%s", err.msg);
    AlbertModel *ref = golden_model(&g, ALB_F32);
    cr_expect_str_eq(albert_weights_hash(m), albert_weights_hash(ref));
    albert_free(ref);
    albert_free(m);

    /* missing weights file */
    char path[512];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    remove(path);
    cr_expect_eq(albert_load(&m, dir, ALB_F32, &err), -1);
    cr_expect(strstr(err.msg, path), "%s", err.msg);
    test_rmtree(dir);
    free(dir);

    /* missing tensor */
    dir = write_model_dir(&g, "albert.pooler.bias", NULL);
    cr_expect_eq(albert_load(&m, dir, ALB_BF16, &err), -1);
    cr_expect(strstr(err.msg, "model.safetensors") && strstr(err.msg, "pooler.bias") && strstr(err.msg, "not found"),
              "%s", err.msg);
    test_rmtree(dir);
    free(dir);

    /* wrong shape */
    dir = write_model_dir(&g, NULL, "albert.encoder.albert_layer_groups.0.albert_layers.0.ffn.weight");
    cr_expect_eq(albert_load(&m, dir, ALB_F32, &err), -1);
    cr_expect(strstr(err.msg, "ffn.weight") && strstr(err.msg, "shape") && strstr(err.msg, "[64,32]"), "%s",
              err.msg);
    test_rmtree(dir);
    free(dir);
    golden_close(&g);
}

/* CPUs without AVX512_BF16 (oneDNN limited before its first primitive; each
 * Criterion test runs in a process of its own): bf16 emulated on the float32
 * brgemm (AVX512_CORE) or OpenBLAS (AVX2) stays within the bf16 bounds above,
 * fp32 within F32_TOL, and albert_engine() names what computes. */
static void golden_limited(dnnl_cpu_isa_t isa, const char *f32_engine, const char *bf16_engine) {
    if (dnnl_set_max_cpu_isa(isa) != dnnl_success || dnnl_get_effective_cpu_isa() != isa) {
        cr_log_warn("this CPU cannot run oneDNN at ISA %d: skipped", (int)isa);
        return;
    }
    Golden g;
    golden_open(&g, "a");
    AlbertModel *m32 = golden_model(&g, ALB_F32), *m16 = golden_model(&g, ALB_BF16);
    cr_expect_str_eq(albert_engine(m32), f32_engine);
    cr_expect_str_eq(albert_engine(m16), bf16_engine);
    albert_free(m32);
    albert_free(m16);
    golden_close(&g);
    const char *names[] = {"a", "b", "c", "d", "e"};
    for (int i = 0; i < 5; i++) {
        check_golden(names[i], ALB_F32);
        check_golden(names[i], ALB_BF16);
    }
}

Test(albert, goldens_without_avx512_bf16) {
    golden_limited(dnnl_cpu_isa_avx512_core, "float32/onednn-avx512_core", "bfloat16/emulated-onednn-avx512_core");
}
Test(albert, goldens_avx2_only) { golden_limited(dnnl_cpu_isa_avx2, "float32/openblas", "bfloat16/emulated-openblas"); }
