/* crc32c: CRC-32C (Castagnoli), as used by the journal. Hardware (SSE4.2) when the CPU has
 * it, detected at run time; a table-driven fallback otherwise. crc32c_extend(0, p, n)
 * gives the standard CRC-32C of p (crc32c("123456789") == 0xE3069283). */
#ifndef EVD_CRC32C_H
#define EVD_CRC32C_H

#include <stddef.h>
#include <stdint.h>

uint32_t crc32c_extend(uint32_t crc, const void *p, size_t n);

#endif
