/* blockmeta.c: encode/decode of blk_<id>.meta (see blockmeta.h). */
#include "datanode/blockmeta.h"
#include "common/crc32c.h"
#include "common/errors.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* CRCs are converted in batches of this many through a stack buffer. */
#define META_BATCH 1024

uint64_t dn_meta_chunks(uint64_t length)
{
	return (length + DFS_CHUNK_SIZE - 1) / DFS_CHUNK_SIZE;
}

int dn_pwrite_full(int fd, const void *buf, size_t len, uint64_t off)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return DFS_ERRNO();
		}
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static void encode_header(uint8_t *h, uint64_t genstamp)
{
	uint32_t v32 = htole32(DN_META_MAGIC);
	memcpy(h, &v32, 4);
	v32 = htole32(DN_META_VERSION);
	memcpy(h + 4, &v32, 4);
	uint64_t v64 = htole64(genstamp);
	memcpy(h + 8, &v64, 8);
	v32 = htole32(DFS_CHUNK_SIZE);
	memcpy(h + 16, &v32, 4);
	v32 = htole32(dfs_crc32c(0, h, 20));
	memcpy(h + 20, &v32, 4);
}

int dn_meta_write_header(int fd, uint64_t genstamp)
{
	uint8_t h[DN_META_HEADER_SIZE];
	encode_header(h, genstamp);
	return dn_pwrite_full(fd, h, sizeof(h), 0);
}

int dn_meta_write_whole(int fd, uint64_t genstamp, const uint8_t *data, uint64_t len)
{
	size_t n = len > 0 ? dfs_crc32c_pieces(0, (size_t)len) : 0;
	size_t size = (size_t)dn_meta_crc_offset(n);
	uint8_t *buf = malloc(size);
	uint32_t *crcs = calloc(n + 1, sizeof(*crcs));
	int rc = -ENOMEM;
	if (buf != NULL && crcs != NULL) {
		encode_header(buf, genstamp);
		if (n > 0)
			dfs_crc32c_chunks(0, data, (size_t)len, crcs);
		for (size_t i = 0; i < n; i++) {
			uint32_t v = htole32(crcs[i]);
			memcpy(buf + dn_meta_crc_offset(i), &v, 4);
		}
		rc = dn_pwrite_full(fd, buf, size, 0);
	}
	free(buf);
	free(crcs);
	return rc;
}

int dn_meta_write_crcs(int fd, uint64_t first, const uint32_t *crcs, size_t n)
{
	uint32_t buf[META_BATCH];
	while (n > 0) {
		size_t k = n < META_BATCH ? n : META_BATCH;
		for (size_t i = 0; i < k; i++)
			buf[i] = htole32(crcs[i]);
		int rc = dn_pwrite_full(fd, buf, k * 4, dn_meta_crc_offset(first));
		if (rc < 0)
			return rc;
		n -= k;
		crcs += k;
		first += k;
	}
	return 0;
}

uint32_t dn_meta_zero_chunk_crc(void)
{
	static const uint8_t zeros[DFS_CHUNK_SIZE];
	return dfs_crc32c(0, zeros, sizeof(zeros));
}
