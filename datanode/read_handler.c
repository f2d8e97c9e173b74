/* read_handler.c: READ_BLOCK. Streams READ_PACKET frames from the
 * chunk-aligned offset at or below the requested one to the end of the
 * requested range rounded up to a chunk (capped at the replica length),
 * each with the stored CRC of every chunk it carries; the client verifies.
 * Errors (missing replica: -ENOENT; genstamp differs: -DFS_ESTALE; damaged
 * or short files: -EIO) come as one ReadPacket with that status and
 * last = true. */
#include "datanode/replica_read.h"
#include "datanode/xfer_server.h"
#include "common/crc32c.h"
#include "common/errors.h"
#include "common/log.h"
#include "common/proto/datanode.pb-c.h"

#include <inttypes.h>
#include <stdlib.h>

static int send_status(int fd, uint64_t call_id, int status, uint64_t offset, uint64_t length)
{
	Dfs__ReadPacket p = DFS__READ_PACKET__INIT;
	p.status = status;
	p.offset = offset;
	p.last = 1;
	p.has_replica_length = status == 0;
	p.replica_length = length;
	return dfs_frame_send(fd, DFS_M_READ_PACKET, call_id, &p.base, NULL, 0);
}

/* Sends [off, end) in packets of at most pkt bytes. */
static int stream(struct datanode *dn, int fd, uint64_t call_id, struct dn_reader *r, uint64_t off,
		  uint64_t end)
{
	size_t pkt = (size_t)dn->cfg.read_packet_size;
	uint8_t *buf = malloc(pkt);
	uint32_t *crcs = malloc(sizeof(uint32_t) * (pkt / DFS_CHUNK_SIZE));
	int rc = buf == NULL || crcs == NULL ? -ENOMEM : 0;
	while (rc == 0 && off < end) {
		size_t want = end - off < pkt ? (size_t)(end - off) : pkt;
		want = (want + DFS_CHUNK_SIZE - 1) / DFS_CHUNK_SIZE * DFS_CHUNK_SIZE;
		ssize_t n = dn_reader_read(r, off, buf, want, crcs);
		if (n < 0) {
			dfs_log_err(DFS_LOG_WARN, (int)n, "blk_%" PRIu64 ": read at %" PRIu64, r->id,
				    off);
			send_status(fd, call_id, (int)n, off, r->length);
			rc = (int)n;
			break;
		}
		Dfs__ReadPacket p = DFS__READ_PACKET__INIT;
		p.offset = off;
		p.checksums = crcs;
		p.n_checksums = (size_t)((n + DFS_CHUNK_SIZE - 1) / DFS_CHUNK_SIZE);
		p.last = off + (uint64_t)n >= end;
		p.has_replica_length = 1;
		p.replica_length = r->length;
		rc = dfs_frame_send(fd, DFS_M_READ_PACKET, call_id, &p.base, buf, (size_t)n);
		off += (uint64_t)n;
	}
	free(buf);
	free(crcs);
	return rc;
}

int dn_read_block(struct datanode *dn, int fd, struct dfs_frame *req)
{
	Dfs__ReadBlockRequest *q = (Dfs__ReadBlockRequest *)dfs_frame_unpack(
		req, &dfs__read_block_request__descriptor);
	if (q == NULL)
		return -DFS_EPROTOCOL;
	uint64_t id = q->block->block_id, gs = q->block->genstamp;
	uint64_t off = q->offset, len = q->length;
	protobuf_c_message_free_unpacked(&q->base, NULL);

	struct dn_reader r;
	int rc = dn_reader_open(&dn->store, id, gs, &r);
	if (rc < 0) {
		DFS_DEBUG("read blk_%" PRIu64 " genstamp %" PRIu64 ": %s", id, gs, dfs_strerror(rc));
		return send_status(fd, req->h.call_id, rc, off, 0);
	}
	uint64_t start = off / DFS_CHUNK_SIZE * DFS_CHUNK_SIZE;
	uint64_t end = len > r.length || off > r.length - len ? r.length : off + len;
	end = (end + DFS_CHUNK_SIZE - 1) / DFS_CHUNK_SIZE * DFS_CHUNK_SIZE;
	if (end > r.length)
		end = r.length;
	if (start >= end)
		rc = send_status(fd, req->h.call_id, 0, start, r.length);
	else
		rc = stream(dn, fd, req->h.call_id, &r, start, end);
	dn_reader_close(&r);
	return rc;
}
