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

static inline void bf16_round_array(float *x, long n) {
    for (long i = 0; i < n; i++) x[i] = bf16_round(x[i]);
}

#endif
