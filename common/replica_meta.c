/* replica_meta.c: decoding a replica meta file's header (see
 * replica_meta.h). */
#include "common/replica_meta.h"
#include "common/crc32c.h"
#include "common/errors.h"

#include <endian.h>
#include <string.h>

int dfs_meta_header_decode(const uint8_t h[DFS_META_HEADER_SIZE], uint64_t *genstamp)
{
	uint32_t magic, version, chunk, crc;
	uint64_t gs;
	memcpy(&magic, h, 4);
	memcpy(&version, h + 4, 4);
	memcpy(&gs, h + 8, 8);
	memcpy(&chunk, h + 16, 4);
	memcpy(&crc, h + 20, 4);
	if (le32toh(crc) != dfs_crc32c(0, h, 20))
		return -DFS_ECHECKSUM;
	if (le32toh(magic) != DFS_META_MAGIC || le32toh(version) != DFS_META_VERSION ||
	    le32toh(chunk) != DFS_CHUNK_SIZE)
		return -EINVAL;
	*genstamp = le64toh(gs);
	return 0;
}
