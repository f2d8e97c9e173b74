/* read_handler.c: READ_BLOCK. Streams READ_PACKET frames from the
 * chunk-aligned offset at or below the requested one to the end of the
 * requested range rounded up to a chunk (capped at the replica length),
 * each with the stored CRC of every chunk it carries; the client verifies.
 * Errors (missing replica: -ENOENT; genstamp differs: -DFS_ESTALE; damaged
 * or short files: -EIO) come as one ReadPacket with that status and
 * last = true. */
#include "datanode/blockmeta.h"
#include "datanode/replica_read.h"
#include "datanode/xfer_server.h"
#include "common/crc32c.h"
#include "common/errors.h"
#include "common/log.h"
#include "common/proto/datanode.pb-c.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <sys/sendfile.h>
#include <sys/socket.h>

/* How far ahead of a long stream the replica is read into the cache. */
#define READ_AHEAD_BYTES (8u << 20)

/* Room for a ReadPacket's protobuf: 8M / 4K checksums of 4 bytes + fields. */
#define READ_PROTO_MAX (8192 + 64)

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

/* Writes all of buf with MSG_MORE: the data follows at once. */
static int send_more(int fd, const uint8_t *buf, size_t len)
{
	while (len > 0) {
		ssize_t k = send(fd, buf, len, MSG_MORE | MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return DFS_ERRNO();
		buf += k;
		len -= (size_t)k;
	}
	return 0;
}

/* Sends one READ_PACKET whose data, n bytes at off, goes from the replica
 * file to the socket by sendfile (no copy through user space). A file
 * that turns out shorter than promised (cut by a concurrent truncate)
 * leaves the frame incomplete: the connection must then be closed. */
static int send_packet(int fd, uint64_t call_id, struct dn_reader *r, uint64_t off, size_t n,
		       uint32_t *crcs, uint64_t end)
{
	Dfs__ReadPacket p = DFS__READ_PACKET__INIT;
	uint8_t head[DFS_FRAME_HEADER_SIZE + READ_PROTO_MAX];
	p.offset = off;
	p.checksums = crcs;
	p.n_checksums = (size_t)dn_meta_chunks(n);
	p.last = off + n >= end;
	p.has_replica_length = 1;
	p.replica_length = r->length;
	size_t plen = protobuf_c_message_get_packed_size(&p.base);
	if (plen > READ_PROTO_MAX)
		return -EMSGSIZE;
	struct dfs_frame_header h = { .method = DFS_M_READ_PACKET, .proto_len = (uint32_t)plen,
				      .data_len = (uint32_t)n, .call_id = call_id };
	dfs_frame_header_encode(&h, head);
	protobuf_c_message_pack(&p.base, head + DFS_FRAME_HEADER_SIZE);
	int rc = send_more(fd, head, DFS_FRAME_HEADER_SIZE + plen);
	off_t pos = (off_t)off;
	while (rc == 0 && n > 0) {
		ssize_t k = sendfile(fd, r->data_fd, &pos, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			rc = k < 0 ? DFS_ERRNO() : -EIO;
		else
			n -= (size_t)k;
	}
	return rc;
}

/* Asks the kernel to read [*ahead, off + READ_AHEAD_BYTES) of a long
 * stream into the page cache in the background (the disk's own readahead
 * window is 128 KiB), half a window at a time. */
static void read_ahead(const struct dn_reader *r, uint64_t off, uint64_t end, uint64_t *ahead)
{
	uint64_t want = end - off > READ_AHEAD_BYTES ? off + READ_AHEAD_BYTES : end;
	if (want < *ahead + READ_AHEAD_BYTES / 2 && want < end)
		return;
	if (want > *ahead) /* advisory: a failure only costs speed */
		(void)posix_fadvise(r->data_fd, (off_t)*ahead, (off_t)(want - *ahead),
				    POSIX_FADV_WILLNEED);
	*ahead = want > *ahead ? want : *ahead;
}

/* Sends [off, end) in packets of at most pkt bytes. */
static int stream(struct datanode *dn, int fd, uint64_t call_id, struct dn_reader *r, uint64_t off,
		  uint64_t end)
{
	size_t pkt = (size_t)dn->cfg.read_packet_size;
	uint32_t *crcs = malloc(sizeof(uint32_t) * (pkt / DFS_CHUNK_SIZE));
	int rc = crcs == NULL ? -ENOMEM : 0;
	uint64_t ahead = off;
	while (rc == 0 && off < end) {
		size_t n = end - off < pkt ? (size_t)(end - off) : pkt;
		if (end - off > pkt) /* a long stream, not a random read */
			read_ahead(r, off, end, &ahead);
		rc = dfs_meta_read_crcs(r->meta_fd, off / DFS_CHUNK_SIZE, crcs,
				       (size_t)dn_meta_chunks(n));
		if (rc < 0) {
			dfs_log_err(DFS_LOG_WARN, rc, "blk_%" PRIu64 ": checksums at %" PRIu64, r->id,
				    off);
			send_status(fd, call_id, rc, off, r->length);
			break;
		}
		rc = send_packet(fd, call_id, r, off, n, crcs, end);
		off += n;
	}
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
