/* replica_meta.c: reading a replica's files: whole preads and the meta
 * file's header (see replica_meta.h). */
#include "common/replica_meta.h"
#include "common/crc32c.h"
#include "common/errors.h"

#include <endian.h>
#include <string.h>
#include <unistd.h>

int dfs_pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	char *p = buf;
	while (len > 0) {
		ssize_t n = pread(fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return DFS_ERRNO();
		}
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

int dfs_meta_read_crcs(int fd, uint64_t first, uint32_t *out, size_t n)
{
	int rc = dfs_pread_full(fd, out, n * 4, dfs_meta_crc_offset(first));
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n; i++)
		out[i] = le32toh(out[i]);
	return 0;
}

int dfs_meta_read_header(int fd, uint64_t *genstamp)
{
	uint8_t h[DFS_META_HEADER_SIZE];
	int rc = dfs_pread_full(fd, h, sizeof(h), 0);
	if (rc < 0)
		return rc;
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
