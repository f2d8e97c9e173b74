/* replica_read.h: reading a replica with its stored checksums, in
 * chunk-aligned pieces (for READ_BLOCK and for COPY). A reader is used by
 * one thread; the files stay readable even if the replica is deleted
 * meanwhile (open fds). */
#ifndef DFS_DATANODE_REPLICA_READ_H
#define DFS_DATANODE_REPLICA_READ_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "datanode/blockstore.h"

struct dn_reader {
	int data_fd, meta_fd;
	uint64_t id, genstamp;
	uint64_t length; /* replica length when opened */
};

/* Opens replica id, which must have exactly `genstamp`: 0, -ENOENT, or
 * -DFS_ESTALE (request or replica is stale). */
int dn_reader_open(struct dn_store *s, uint64_t id, uint64_t genstamp, struct dn_reader *r);

/* Reads up to max bytes (a multiple of DFS_CHUNK_SIZE) at the chunk-aligned
 * offset off (< length) into buf, and the stored checksum of each chunk
 * read into crcs (room for max / DFS_CHUNK_SIZE). Returns the byte count
 * (> 0), or -EIO if the files are shorter than the replica should be. */
ssize_t dn_reader_read(struct dn_reader *r, uint64_t off, void *buf, size_t max, uint32_t *crcs);

void dn_reader_close(struct dn_reader *r);

#endif
