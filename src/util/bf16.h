/* bfloat16 as the reference's torch CPU kernels produce it: the top 16 bits
 * of a float32, rounded to nearest even; NaN stays a (quiet) NaN. */
#ifndef ALB_UTIL_BF16_H
#define ALB_UTIL_BF16_H

#include <stdint.h>
#include <string.h>

/* Branch-free (a select for NaN), so that loops around it vectorize. */
static inline uint16_t bf16_from_f32(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16, quiet = (u >> 16) | 0x40u;
    return (uint16_t)((u & 0x7fffffffu) > 0x7f800000u ? quiet : rounded);
}

static inline float f32_from_bf16(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* Round a float32 to the nearest bf16 value, kept in a float32. */
static inline float bf16_round(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u, quiet = (u | 0x00400000u) & 0xffff0000u;
    u = (u & 0x7fffffffu) > 0x7f800000u ? quiet : rounded;
    memcpy(&f, &u, 4);
    return f;
}

#ifdef __AVX512F__
#include <immintrin.h>
/* bf16_round of 16 floats at once, the same bits: for loops whose values
 * must stay in registers (the compiler's vectorization of bf16_round keeps
 * them in memory across a recurrence). */
static inline __m512 bf16_round_avx512(__m512 f) {
    __m512i u = _mm512_castps_si512(f), high = _mm512_set1_epi32((int)0xffff0000u);
    __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
    __m512i rounded = _mm512_and_si512(_mm512_add_epi32(_mm512_add_epi32(u, _mm512_set1_epi32(0x7fff)), lsb), high);
    __m512i quiet = _mm512_and_si512(_mm512_or_si512(u, _mm512_set1_epi32(0x00400000)), high);
    __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, _mm512_set1_epi32(0x7fffffff)),
                                            _mm512_set1_epi32(0x7f800000));
    return _mm512_castsi512_ps(_mm512_mask_mov_epi32(rounded, nan, quiet));
}
#endif

static inline void bf16_round_array(float *x, long n) {
    for (long i = 0; i < n; i++) x[i] = bf16_round(x[i]);
}

#endif
