/* CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of
 * TFRecord framing (TensorBoard event files) among others.
 *
 * crc32c_update(0, buf, n) is the CRC of buf; feeding a buffer in pieces,
 * each call given the previous result, gives the CRC of the whole. The SSE4.2
 * crc32 instruction is used when the running CPU has it (checked once at run
 * time, so a PORTABLE build and an older CPU both work); otherwise a
 * byte-wise table. Both give the same value (tests/test_tb_events.c). */
#ifndef ALB_UTIL_CRC32C_H
#define ALB_UTIL_CRC32C_H

#include <stddef.h>
#include <stdint.h>

uint32_t crc32c_update(uint32_t crc, const void *buf, size_t n);
/* The portable table version, exposed so tests can compare the two paths. */
uint32_t crc32c_update_portable(uint32_t crc, const void *buf, size_t n);

#endif
