/* crc32c.h: CRC32C (Castagnoli) over byte buffers, the checksum that covers
 * every block byte at rest and in flight. Backed by ISA-L. */
#ifndef DFS_COMMON_CRC32C_H
#define DFS_COMMON_CRC32C_H
#include <stddef.h>
#include <stdint.h>

/* Bytes covered by one stored checksum in a block file. */
#define DFS_CHUNK_SIZE 4096u

/* Returns the CRC32C of buf[0..len) continuing from crc (pass 0 to start).
 * crc32c("123456789") == 0xE3069283. Chainable: crc(a+b) ==
 * dfs_crc32c(dfs_crc32c(0, a), b). Any thread. */
uint32_t dfs_crc32c(uint32_t crc, const void *buf, size_t len);

/* Fills out[] with the CRC32C of each piece of buf when buf, which starts
 * at byte `offset` of a block, is cut at multiples of DFS_CHUNK_SIZE. The
 * first and last piece may be partial. Returns the number of pieces; out
 * must have room for dfs_crc32c_pieces(offset, len). */
size_t dfs_crc32c_chunks(uint64_t offset, const void *buf, size_t len, uint32_t *out);

/* Number of pieces dfs_crc32c_chunks() produces for that range. */
size_t dfs_crc32c_pieces(uint64_t offset, size_t len);

#endif
