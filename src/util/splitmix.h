/* SplitMix64 (Steele, Lea, Flood 2014): advances *state by the golden gamma and
 * returns a well-mixed 64-bit value. The seeded streams of the head init, the
 * epoch shuffle and the xoshiro seeding all come from it, so they must not change. */
#ifndef ALB_UTIL_SPLITMIX_H
#define ALB_UTIL_SPLITMIX_H

#include <stdint.h>

static inline uint64_t splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

#endif
