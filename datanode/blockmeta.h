/* blockmeta.h: writing the per-replica checksum file, blk_<id>.meta (its
 * layout and the readers are in common/replica_meta.h). Any thread;
 * functions take fds, no state. */
#ifndef DFS_DATANODE_BLOCKMETA_H
#define DFS_DATANODE_BLOCKMETA_H
#include <stddef.h>
#include <stdint.h>

#include "common/replica_meta.h"

#define DN_META_MAGIC DFS_META_MAGIC
#define DN_META_VERSION DFS_META_VERSION
#define DN_META_HEADER_SIZE DFS_META_HEADER_SIZE

/* Byte offset of chunk i's checksum in the meta file. */
static inline uint64_t dn_meta_crc_offset(uint64_t chunk)
{
	return dfs_meta_crc_offset(chunk);
}

/* Number of chunks covering `length` data bytes. */
uint64_t dn_meta_chunks(uint64_t length);

/* Writes the header with genstamp at offset 0. Returns 0 or -errno. */
int dn_meta_write_header(int fd, uint64_t genstamp);

/* Writes n checksums starting at chunk `first`. */
int dn_meta_write_crcs(int fd, uint64_t first, const uint32_t *crcs, size_t n);

/* Writes the whole meta file of a replica holding data[0, len): the
 * header with genstamp and one CRC per chunk, in one write. */
int dn_meta_write_whole(int fd, uint64_t genstamp, const uint8_t *data, uint64_t len);

/* pwrite of exactly len bytes (EINTR retried); reads use dfs_pread_full
 * (common/replica_meta.h). */
int dn_pwrite_full(int fd, const void *buf, size_t len, uint64_t off);

/* CRC32C of a whole chunk of zeros (a gap). */
uint32_t dn_meta_zero_chunk_crc(void);

#endif
