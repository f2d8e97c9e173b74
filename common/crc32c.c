/* crc32c.c: CRC32C through ISA-L's crc32_iscsi, with the standard
 * pre/post inversion so values match every other CRC32C implementation. */
#include "common/crc32c.h"

#include <isa-l/crc.h>

uint32_t dfs_crc32c(uint32_t crc, const void *buf, size_t len)
{
	return ~crc32_iscsi((unsigned char *)buf, (int)len, ~crc);
}

size_t dfs_crc32c_pieces(uint64_t offset, size_t len)
{
	if (len == 0)
		return 0;
	uint64_t first = offset / DFS_CHUNK_SIZE;
	uint64_t last = (offset + len - 1) / DFS_CHUNK_SIZE;
	return (size_t)(last - first + 1);
}

size_t dfs_crc32c_chunks(uint64_t offset, const void *buf, size_t len, uint32_t *out)
{
	const unsigned char *p = buf;
	size_t n = 0;
	while (len > 0) {
		size_t room = DFS_CHUNK_SIZE - (size_t)(offset % DFS_CHUNK_SIZE);
		size_t piece = len < room ? len : room;
		out[n++] = dfs_crc32c(0, p, piece);
		p += piece;
		offset += piece;
		len -= piece;
	}
	return n;
}
