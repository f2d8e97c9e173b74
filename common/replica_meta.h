/* replica_meta.h: the layout of a replica's checksum file, blk_<id>.meta,
 * and the reads of a replica's files, shared by the datanode (which writes
 * them: datanode/blockmeta.c) and libdfs (short-circuit reads).
 *
 *   offset 0  u32 magic "DFM1"     offset 4  u32 version (1)
 *   offset 8  u64 genstamp         offset 16 u32 chunk size (4096)
 *   offset 20 u32 CRC32C of bytes 0..20
 *   offset 24 u32 CRC32C of chunk 0, chunk 1, ...  (one per DFS_CHUNK_SIZE
 *             bytes of data; the last chunk may be partial)
 * All integers little-endian. */
#ifndef DFS_COMMON_REPLICA_META_H
#define DFS_COMMON_REPLICA_META_H
#include <stddef.h>
#include <stdint.h>

#define DFS_META_MAGIC 0x44464d31u
#define DFS_META_VERSION 1u
#define DFS_META_HEADER_SIZE 24u

/* pread of exactly len bytes of a replica's file (EINTR retried): 0,
 * -EIO if the file ends first, or -errno. */
int dfs_pread_full(int fd, void *buf, size_t len, uint64_t off);

/* Reads and checks a meta file's header: 0 and *genstamp, -DFS_ECHECKSUM
 * if its CRC does not match, -EINVAL if it is of another format or chunk
 * size, -errno on I/O errors (-EIO: shorter than a header). */
int dfs_meta_read_header(int fd, uint64_t *genstamp);

/* Byte offset of chunk i's checksum in the meta file. */
static inline uint64_t dfs_meta_crc_offset(uint64_t chunk)
{
	return DFS_META_HEADER_SIZE + 4 * chunk;
}

/* Reads n checksums starting at chunk `first` (host byte order). A short
 * file is -EIO. */
int dfs_meta_read_crcs(int fd, uint64_t first, uint32_t *out, size_t n);

#endif
