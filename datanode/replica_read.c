/* replica_read.c: chunk-aligned reads of a replica with its stored CRCs
 * (see replica_read.h). The client verifies; we only make sure a short or
 * damaged file is an error, never a crash. */
#include "datanode/replica_read.h"
#include "datanode/blockmeta.h"
#include "common/crc32c.h"
#include "common/errors.h"

#include <sys/stat.h>
#include <unistd.h>

int dn_reader_open(struct dn_store *s, uint64_t id, uint64_t genstamp, struct dn_reader *r)
{
	struct dn_replica_info info;
	int rc = dn_store_open_read(s, id, genstamp, &info, &r->data_fd, &r->meta_fd);
	if (rc < 0)
		return rc;
	r->id = id;
	r->genstamp = genstamp;
	/* never promise more than the file holds (damaged or cut file) */
	struct stat st;
	r->length = info.length;
	if (fstat(r->data_fd, &st) == 0 && (uint64_t)st.st_size < r->length)
		r->length = (uint64_t)st.st_size;
	return 0;
}

ssize_t dn_reader_read(struct dn_reader *r, uint64_t off, void *buf, size_t max, uint32_t *crcs)
{
	if (off % DFS_CHUNK_SIZE != 0 || off >= r->length || max < DFS_CHUNK_SIZE)
		return -EINVAL;
	size_t n = r->length - off < max ? (size_t)(r->length - off) : max;
	int rc = dfs_pread_full(r->data_fd, buf, n, off);
	if (rc == 0)
		rc = dfs_meta_read_crcs(r->meta_fd, off / DFS_CHUNK_SIZE, crcs,
				       (size_t)dn_meta_chunks(n));
	return rc < 0 ? rc : (ssize_t)n;
}

void dn_reader_close(struct dn_reader *r)
{
	if (r->data_fd >= 0)
		close(r->data_fd);
	if (r->meta_fd >= 0)
		close(r->meta_fd);
	r->data_fd = r->meta_fd = -1;
}
