/* CRC-32C; see crc32c.h. */
#include "util/crc32c.h"

#include <string.h>

#define POLY 0x82F63B78u

static uint32_t table[256];

static void table_init(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ POLY : c >> 1;
        if (i < 255) table[i] = c;
        else __atomic_store_n(&table[i], c, __ATOMIC_RELEASE);  /* the "filled" mark, after the rest */
    }
}

uint32_t crc32c_update_portable(uint32_t crc, const void *buf, size_t n) {
    /* Filled on first use; concurrent first calls write the same values, and
     * table[255] (never 0) is stored last with release order, so a filled table is seen whole. */
    if (!__atomic_load_n(&table[255], __ATOMIC_ACQUIRE)) table_init();
    const unsigned char *p = buf;
    crc = ~crc;
    for (size_t i = 0; i < n; i++) crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}

#if defined(__x86_64__)
#include <nmmintrin.h>

__attribute__((target("sse4.2"))) static uint32_t crc32c_sse42(uint32_t crc, const void *buf, size_t n) {
    const unsigned char *p = buf;
    uint64_t c = ~crc;
    for (; n >= 8; n -= 8, p += 8) {
        uint64_t w;
        memcpy(&w, p, 8);  /* unaligned-safe load */
        c = _mm_crc32_u64(c, w);
    }
    uint32_t c32 = (uint32_t)c;
    for (; n; n--, p++) c32 = _mm_crc32_u8(c32, *p);
    return ~c32;
}

uint32_t crc32c_update(uint32_t crc, const void *buf, size_t n) {
    return __builtin_cpu_supports("sse4.2") ? crc32c_sse42(crc, buf, n) : crc32c_update_portable(crc, buf, n);
}
#else
uint32_t crc32c_update(uint32_t crc, const void *buf, size_t n) { return crc32c_update_portable(crc, buf, n); }
#endif
