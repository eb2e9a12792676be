/* Linear layers: y[M, N] = x[M, K] W^T (+ bias), W a torch nn.Linear weight
 * [N, K], on oneDNN's matmul (brgemm kernels), OpenBLAS where oneDNN has no
 * brgemm for the type.
 *
 * Contract:
 * - Weights are prepared once, at load (mm_prepare): converted from float32
 *   to the engine's dtype (bf16: rounded to nearest even) and reordered into
 *   the blocked layout oneDNN's matmul prefers for them (the same for every
 *   M). The caller may drop its float32 copy afterwards.
 * - One call computes a whole product (mm_run). Primitives are created on
 *   first use for each (M, thread count) and kept with the weights (oneDNN
 *   2.6's brgemm matmul has no runtime M: a runtime-M primitive is gemm:jit).
 * - A row's result depends on that row only: the brgemm kernels sum K in the
 *   same order for every M and thread count (tests/test_matmul.c checks it),
 *   so a text's features depend neither on its batch nor on OMP_NUM_THREADS.
 *   oneDNN's other matmuls do not keep this (gemm:jit: M = 1 takes a gemv
 *   path; its avx2 sgemm splits K by thread count), so only brgemm is used:
 *   float32 falls back to OpenBLAS (fixed column slices, one single-threaded
 *   call per OpenMP thread), bfloat16 to emulation (bf16 values, fp32
 *   products and sums on the float32 engine: fp32 accumulation in another
 *   order, so the last bits may differ from native).
 * - Everything runs on the process's OpenMP pool (libgomp: oneDNN's and
 *   ours): call mm_run from outside a parallel region.
 * - Not reentrant per MmWeights (its primitive cache); distinct MmWeights
 *   may be used from distinct threads.
 *
 * Types (MmSpec): wei and src name the storage of W and x, dst that of y.
 *   MM_F32  : F32 x -> F32 y                        (float32 model)
 *   MM_BF16 : BF16 x (uint16_t) -> F32 or BF16 y     (bf16 model: fp32
 *             accumulation; the bias is added in fp32 before the single
 *             rounding to a BF16 dst: the same bits as torch's bf16 nn.Linear,
 *             bias written into the bf16 output, product summed onto it; with
 *             an F32 dst nothing is rounded: the caller rounds, same bits)
 *   MM_S8   : U8 x -> S32 y, the exact integer product x Wq^T of the int8
 *             model (model/int8.h): mm_prepare quantizes W per output
 *             channel (int8_quantize_weights), the caller quantizes x per row
 *             (int8_quantize_row) and dequantizes y in its own epilogue with
 *             mm_w_scale and mm_w_sum (int8_dequantize_row), where it adds
 *             the bias (NULL here) and the activation: the per-row scales
 *             never reach oneDNN.
 *
 * ALBERTC_MATMUL=openblas in the environment makes float32 use OpenBLAS (and
 * so bfloat16 its emulation on it): for benchmarks and tests of that path. */
#ifndef ALB_MODEL_MATMUL_H
#define ALB_MODEL_MATMUL_H

#include <stdint.h>
#include "util/error.h"

typedef enum { MM_F32 = 0, MM_BF16, MM_S8, MM_U8, MM_S32 } MmType;

typedef struct {
    int N, K;      /* W is [N, K] */
    MmType wei;    /* MM_F32, MM_BF16, MM_S8 */
    MmType src;    /* activations x [M, K]: same as wei for F32 and BF16, MM_U8 for MM_S8 */
    MmType dst;    /* y [M, N]: MM_F32, or MM_BF16 with BF16 weights, MM_S32 for MM_S8 */
} MmSpec;

typedef struct MmWeights MmWeights;

/* w [N, K] float32 row-major; bias [N] float32 or NULL (rounded to bf16 with
 * BF16 weights, as the model's bias is). */
int mm_prepare(MmWeights **out, const MmSpec *spec, const float *w, const float *bias, AlbError *err);
void mm_free(MmWeights *w);
const MmSpec *mm_spec(const MmWeights *w);
/* MM_S8 weights' per-output-channel scales and sums [N] (model/int8.h); NULL otherwise. */
const float *mm_w_scale(const MmWeights *w);
const int32_t *mm_w_sum(const MmWeights *w);

/* y = x W^T (+ bias), x [M, K] and y [M, N] dense row-major in the spec's
 * types. M >= 1. */
int mm_run(MmWeights *w, int M, const void *x, void *y, AlbError *err);

/* 1 when mm_prepare can serve spec on this CPU (natively or emulated). */
int mm_available(const MmSpec *spec);
/* What computes spec's products: oneDNN's implementation name as its verbose
 * mode prints it ("brg:avx512_core_bf16"), "openblas", prefixed by
 * "emulated:" for bf16 on fp32 arithmetic, or "none". Static storage. */
const char *mm_impl(const MmSpec *spec);
/* The engine variant of a weight type, short and stable, for albert_engine()
 * and the caches keyed on it: "onednn-avx512_core_bf16",
 * "emulated-onednn-avx512_core", "onednn-avx512_core", "openblas",
 * "emulated-openblas". Static storage. */
const char *mm_engine(MmType wei);
/* 1 when bf16 products run on native bf16 instructions (AVX512_BF16 here). */
int mm_bf16_native(void);

/* bf16 <-> f32 rows: exact for bf16-representable floats (x's values in a bf16 model). */
void mm_f32_to_bf16(const float *x, uint16_t *y, long n);
void mm_bf16_to_f32(const uint16_t *x, float *y, long n);

#endif
