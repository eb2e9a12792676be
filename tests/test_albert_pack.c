/* albert_forward's speed machinery, on the golden models of test_albert.c:
 * only real rows are computed (pad rows of last_hidden are 0, position 0 is
 * always computed, a fully masked sequence does not disturb its batch), and
 * the thread count changes no bit of the output (oneDNN's brgemm sums K in
 * the same order whatever M and the thread count, tests/test_matmul.c; our
 * threads share attention heads and rows, never a sum), so features and caches
 * do not depend on the machine's core count. The OpenBLAS fallback (no AVX512)
 * keeps fixed column slices for the same reason: with slices that followed the
 * thread count, this failed under OpenBLAS's Haswell and Zen kernels, whose
 * sums depend on the call's width. */
#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"
#include "model/albert.h"
#include "model/config.h"
#include "model/init.h"
#include "testutil.h"
#include "util/splitmix.h"

typedef struct {
    SafeTensors st;
    AlbertConfig cfg;
    int B, L, H;
    int32_t *ids, *mask;
} Golden;

static void golden_open(Golden *g, const char *path) {
    AlbError err;
    cr_assert_eq(st_open(&g->st, path, &err), 0, "%s", err.msg);
    const char *cj = st_meta(&g->st, "config");
    cr_assert(cj);
    cr_assert_eq(albert_config_parse(&g->cfg, cj, strlen(cj), path, &err), 0, "%s", err.msg);
    const StTensor *ids = st_find(&g->st, "input_ids"), *mask = st_find(&g->st, "attention_mask");
    cr_assert(ids && mask && ids->ndim == 2 && ids->dtype == ST_I64 && mask->numel == ids->numel);
    g->B = (int)ids->shape[0];
    g->L = (int)ids->shape[1];
    g->H = g->cfg.hidden_size;
    g->ids = malloc(sizeof(int32_t) * (size_t)ids->numel);
    g->mask = malloc(sizeof(int32_t) * (size_t)ids->numel);
    for (int64_t i = 0; i < ids->numel; i++) {
        int64_t v, w;
        memcpy(&v, (const char *)ids->data + 8 * i, 8);
        memcpy(&w, (const char *)mask->data + 8 * i, 8);
        g->ids[i] = (int32_t)v;
        g->mask[i] = (int32_t)w;
    }
}

static void golden_close(Golden *g) {
    st_close(&g->st);
    free(g->ids);
    free(g->mask);
}

static AlbertModel *load(const Golden *g, AlbDtype dt) {
    AlbertModel *m;
    AlbError err;
    cr_assert_eq(albert_load_weights(&m, &g->cfg, "tests/goldens/albert_a.safetensors", dt, &err), 0, "%s",
                 err.msg);
    return m;
}

typedef struct {
    float *hidden, *cls, *pooler;
} Out;

/* Every output; and, forwarded again without last_hidden (the last layer then
 * carries only the [CLS] rows on), the same [CLS] and pooler bits. */
static Out forward(AlbertModel *m, int B, int L, const int32_t *ids, const int32_t *mask, int H) {
    Out o = {malloc(sizeof(float) * (size_t)B * L * H), malloc(sizeof(float) * (size_t)B * H),
             malloc(sizeof(float) * (size_t)B * H)};
    AlbError err;
    cr_assert_eq(albert_forward(m, B, L, ids, NULL, mask, o.hidden, o.cls, o.pooler, &err), 0, "%s", err.msg);
    float *cls = malloc(sizeof(float) * (size_t)B * H), *pooler = malloc(sizeof(float) * (size_t)B * H);
    cr_assert_eq(albert_forward(m, B, L, ids, NULL, mask, NULL, cls, pooler, &err), 0, "%s", err.msg);
    cr_expect_eq(memcmp(cls, o.cls, sizeof(float) * (size_t)B * H), 0, "[CLS] differs without last_hidden");
    cr_expect_eq(memcmp(pooler, o.pooler, sizeof(float) * (size_t)B * H), 0, "pooler differs without last_hidden");
    free(cls);
    free(pooler);
    return o;
}

static void out_free(Out *o) {
    free(o->hidden);
    free(o->cls);
    free(o->pooler);
}

static int real_len(const Golden *g, int row) {
    int n = 0;
    for (int i = 0; i < g->L; i++) n += g->mask[row * g->L + i];
    return n;
}

/* Golden a's batch repeated REPEAT times: T = 22 * REPEAT computed rows. The
 * thresholds where albert.c's loops start their threads (src/model/albert.c:
 * linear T*out*in > 2^20, LayerNorm T*n > 65536, embeddings T*E > 65536) are
 * all crossed for golden a's smallest widths (E = 16, H = 32, out*in >= 512)
 * once T > 4096. */
enum { REPEAT = 200, CROSSES_ALL = 4096 };

static void thread_count_invariance(AlbDtype dt) {
    Golden g;
    golden_open(&g, "tests/goldens/albert_a.safetensors");
    AlbertModel *m = load(&g, dt);
    int B = g.B * REPEAT, T = 0;
    size_t n = (size_t)g.B * g.L;
    int32_t *ids = malloc(sizeof(int32_t) * n * REPEAT), *mask = malloc(sizeof(int32_t) * n * REPEAT);
    for (int r = 0; r < REPEAT; r++) {
        memcpy(ids + r * n, g.ids, sizeof(int32_t) * n);
        memcpy(mask + r * n, g.mask, sizeof(int32_t) * n);
    }
    for (size_t i = 0; i < n * REPEAT; i++) T += mask[i];
    cr_assert_gt(T, CROSSES_ALL);
    enum { RUNS = 3 };
    int threads[RUNS] = {1, 2, 3}, saved = omp_get_max_threads();
    Out out[RUNS];
    for (int r = 0; r < RUNS; r++) {
        omp_set_num_threads(threads[r]);  /* then more threads than the buffers were first sized for */
        out[r] = forward(m, B, g.L, ids, mask, g.H);
    }
    omp_set_num_threads(saved);
    for (int r = 1; r < RUNS; r++) {
        cr_expect_eq(memcmp(out[0].hidden, out[r].hidden, sizeof(float) * (size_t)B * g.L * g.H), 0, "%d threads",
                     threads[r]);
        cr_expect_eq(memcmp(out[0].pooler, out[r].pooler, sizeof(float) * (size_t)B * g.H), 0, "%d threads",
                     threads[r]);
    }
    for (int r = 0; r < RUNS; r++) out_free(&out[r]);
    free(ids);
    free(mask);
    albert_free(m);
    golden_close(&g);
}

Test(albert_pack, thread_count_changes_no_bit_f32) { thread_count_invariance(ALB_F32); }
Test(albert_pack, thread_count_changes_no_bit_bf16) { thread_count_invariance(ALB_BF16); }
Test(albert_pack, thread_count_changes_no_bit_int8) { thread_count_invariance(ALB_INT8); }

/* int8 quantizes per token and sums integers exactly, so a text's outputs
 * are the same bits alone (unpadded) and in golden a's padded batch, at any
 * thread count; and close to fp32's. */
Test(albert_pack, int8_text_alone_equals_text_in_batch) {
    Golden g;
    golden_open(&g, "tests/goldens/albert_a.safetensors");
    AlbertModel *m = load(&g, ALB_INT8), *m32 = load(&g, ALB_F32);
    cr_expect_eq(strncmp(albert_engine(m), "int8/onednn-", 12), 0, "%s", albert_engine(m));
    int saved = omp_get_max_threads(), H = g.H;
    omp_set_num_threads(2);
    Out all = forward(m, g.B, g.L, g.ids, g.mask, H), ref = forward(m32, g.B, g.L, g.ids, g.mask, H);
    for (int b = 0; b < g.B; b++) {
        int n = real_len(&g, b), first = 0;
        while (!g.mask[b * g.L + first]) first++;  /* left padding too */
        omp_set_num_threads(1 + b % 2);
        Out one = forward(m, 1, n, g.ids + b * g.L + first, NULL, H);
        cr_expect_eq(memcmp(one.cls, all.cls + (size_t)b * H, sizeof(float) * H), 0, "text %d", b);
        cr_expect_eq(memcmp(one.pooler, all.pooler + (size_t)b * H, sizeof(float) * H), 0, "text %d", b);
        out_free(&one);
        double dot = 0, na = 0, nb = 0;
        for (int j = 0; j < H; j++) {
            double x = all.cls[(size_t)b * H + j], y = ref.cls[(size_t)b * H + j];
            dot += x * y;
            na += x * x;
            nb += y * y;
        }
        cr_expect_gt(dot / sqrt(na * nb), 0.999, "text %d: int8 [CLS] cosine to fp32 %.6f", b, dot / sqrt(na * nb));
    }
    omp_set_num_threads(saved);
    out_free(&all);
    out_free(&ref);
    albert_free(m);
    albert_free(m32);
    golden_close(&g);
}

/* Row 0 right-padded, and the same tokens left-padded (pad at position 0). */
Test(albert_pack, pad_rows_are_zero_and_position_0_is_computed) {
    Golden g;
    golden_open(&g, "tests/goldens/albert_a.safetensors");
    AlbertModel *m = load(&g, ALB_F32);
    int n = real_len(&g, 0), pad = 3, L = n + pad, H = g.H;
    int32_t *ids = calloc((size_t)2 * L, sizeof(int32_t)), *mask = calloc((size_t)2 * L, sizeof(int32_t));
    for (int i = 0; i < n; i++) {
        ids[i] = ids[L + pad + i] = g.ids[i];
        mask[i] = mask[L + pad + i] = 1;
    }
    Out o = forward(m, 2, L, ids, mask, H);
    for (int b = 0; b < 2; b++)
        for (int i = 0; i < L; i++) {
            const float *row = o.hidden + ((size_t)b * L + i) * H;
            int computed = mask[b * L + i] || i == 0, zero = 1, finite = 1;
            for (int j = 0; j < H; j++) {
                zero &= row[j] == 0.0f;
                finite &= isfinite(row[j]) != 0;
            }
            cr_expect(finite, "row [%d, %d] is not finite", b, i);
            cr_expect(computed ? !zero : zero, "row [%d, %d]: computed %d but zero %d", b, i, computed, zero);
        }
    out_free(&o);
    free(ids);
    free(mask);
    albert_free(m);
    golden_close(&g);
}

/* A sequence with no real token next to row 0: row 0's outputs stay those of
 * row 0 alone, and the empty one is computed whole (finite, non-zero). */
Test(albert_pack, fully_masked_sequence_leaves_its_batch_alone) {
    Golden g;
    golden_open(&g, "tests/goldens/albert_a.safetensors");
    AlbertModel *m = load(&g, ALB_F32);
    int n = real_len(&g, 0), L = n, H = g.H;
    int32_t *ids = calloc((size_t)2 * L, sizeof(int32_t)), *mask = calloc((size_t)2 * L, sizeof(int32_t));
    for (int i = 0; i < n; i++) {
        ids[i] = ids[L + i] = g.ids[i];
        mask[i] = 1;
    }
    Out alone = forward(m, 1, L, ids, mask, H);
    Out both = forward(m, 2, L, ids, mask, H);
    float worst = 0.0f;
    for (size_t i = 0; i < (size_t)L * H; i++) worst = fmaxf(worst, fabsf(alone.hidden[i] - both.hidden[i]));
    for (int j = 0; j < H; j++) worst = fmaxf(worst, fabsf(alone.pooler[j] - both.pooler[j]));
    /* The same bits on oneDNN (base_batch_and_threads_change_no_bit_*); on the
     * OpenBLAS fallback a different batch shape may change its blocking, hence
     * its sums' order: two fp32 evaluations of the same row, each within
     * test_albert.c's statistical bound of the exact result (F32_TOL there, 10
     * standard deviations of ~1e-6; their difference: 7 of ~1.4e-6). */
    cr_expect_leq(worst, 1e-5f, "row 0 moved by %g next to an empty sequence", worst);
    int nonzero = 0;
    for (size_t i = (size_t)L * H; i < (size_t)2 * L * H; i++) {
        cr_assert(isfinite(both.hidden[i]));
        nonzero += both.hidden[i] != 0.0f;
    }
    cr_expect_gt(nonzero, 0);
    out_free(&alone);
    out_free(&both);
    free(ids);
    free(mask);
    albert_free(m);
    golden_close(&g);
}

/* At base geometry (random init-model weights), what serve, predict and the
 * feature cache rely on: a text's outputs are the same bits whatever its
 * batch (alone, unpadded; with companions, padded; in another order with
 * more padding) and whatever the thread count (1-4). Lengths cross the
 * softmax's 8-lane vectors and oneDNN's blocks of rows. */
static void base_batch_invariance(AlbDtype dt) {
    AlbertConfig c;
    cr_assert_eq(albert_config_preset(&c, "base"), 0);
    char *dir = test_mkdtemp();
    AlbError err;
    cr_assert_eq(albert_init_model_dir(&c, 0, dir, NULL, &err), 0, "%s", err.msg);
    AlbertModel *m;
    cr_assert_eq(albert_load(&m, dir, dt, &err), 0, "%s", err.msg);
    enum { N = 6 };
    const int len[N] = {1, 7, 8, 17, 33, 12};
    int H = c.hidden_size, L = 0;
    for (int i = 0; i < N; i++) L = len[i] > L ? len[i] : L;
    uint64_t s = 7;
    int32_t *tok[N];
    for (int i = 0; i < N; i++) {
        tok[i] = malloc(sizeof(int32_t) * (size_t)len[i]);
        tok[i][0] = 2;
        for (int j = 1; j < len[i]; j++) tok[i][j] = 5 + (int32_t)(splitmix64(&s) % (uint64_t)(c.vocab_size - 5));
    }
    /* each alone, 1 thread: the reference */
    int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    Out ref[N];
    for (int i = 0; i < N; i++) {
        int32_t *mask = malloc(sizeof(int32_t) * (size_t)len[i]);
        for (int j = 0; j < len[i]; j++) mask[j] = 1;
        ref[i] = forward(m, 1, len[i], tok[i], mask, H);
        free(mask);
    }
    /* all in one batch, padded to L + extra, in order or reversed, 1-4 threads */
    for (int run = 0; run < 5; run++) {
        int threads = run < 4 ? run + 1 : 2, reversed = run >= 2, Lb = L + (reversed ? 5 : 0);
        omp_set_num_threads(threads);
        int32_t *ids = calloc((size_t)N * Lb, sizeof(int32_t)), *mask = calloc((size_t)N * Lb, sizeof(int32_t));
        for (int b = 0; b < N; b++) {
            int i = reversed ? N - 1 - b : b;
            for (int j = 0; j < len[i]; j++) {
                ids[b * Lb + j] = tok[i][j];
                mask[b * Lb + j] = 1;
            }
        }
        Out o = forward(m, N, Lb, ids, mask, H);
        for (int b = 0; b < N; b++) {
            int i = reversed ? N - 1 - b : b;
            cr_expect_eq(memcmp(o.hidden + (size_t)b * Lb * H, ref[i].hidden, sizeof(float) * (size_t)len[i] * H), 0,
                         "%s text %d (length %d): hidden differs in a batch of %d (L %d, %d threads)",
                         dt == ALB_BF16 ? "bf16" : "f32", i, len[i], N, Lb, threads);
            cr_expect_eq(memcmp(o.cls + (size_t)b * H, ref[i].cls, sizeof(float) * (size_t)H), 0,
                         "text %d: cls differs (%d threads)", i, threads);
            cr_expect_eq(memcmp(o.pooler + (size_t)b * H, ref[i].pooler, sizeof(float) * (size_t)H), 0,
                         "text %d: pooler differs (%d threads)", i, threads);
        }
        out_free(&o);
        free(ids);
        free(mask);
    }
    omp_set_num_threads(saved);
    for (int i = 0; i < N; i++) {
        out_free(&ref[i]);
        free(tok[i]);
    }
    albert_free(m);
    test_rmtree(dir);
    free(dir);
}

Test(albert_pack, base_batch_and_threads_change_no_bit_f32, .timeout = 120) { base_batch_invariance(ALB_F32); }
Test(albert_pack, base_batch_and_threads_change_no_bit_bf16, .timeout = 120) { base_batch_invariance(ALB_BF16); }
