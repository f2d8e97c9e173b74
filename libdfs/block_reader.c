/* block_reader.c: one READ_BLOCK stream from one replica. The datanode
 * sends READ_PACKET frames from the chunk-aligned offset at or below the
 * one asked for; every packet is checked against its CRC32Cs before any
 * byte of it is handed out, and bytes before the wanted offset are
 * dropped. A stream can serve a sequential reader for a whole block: the
 * kernel's socket buffer is the read-ahead. */
#include "libdfs/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/crc32c.h"
#include "common/log.h"

#define DFSC_READ_SOCKBUF_BYTES (4 << 20)

void dfsc_breader_init(struct dfsc_breader *r)
{
	memset(r, 0, sizeof(*r));
	r->fd = -1;
}

void dfsc_breader_abort(struct dfsc_breader *r)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	r->pkt_len = 0;
	r->done = false;
}

void dfsc_breader_close(struct dfsc_breader *r)
{
	/* A stream read to its last packet is at a request boundary. */
	if (r->fd >= 0 && r->done && r->c != NULL) {
		dfs_conn_pool_put(&r->c->dn_pool, r->fd, r->peer.host, r->peer.port);
		r->fd = -1;
	}
	dfsc_breader_abort(r);
}

void dfsc_breader_free(struct dfsc_breader *r)
{
	dfsc_breader_close(r);
	dfs_frame_release(&r->rx);
	free(r->csum);
	r->csum = NULL;
	r->csum_cap = 0;
}

int dfsc_verify_checksums(uint64_t off, const void *data, size_t len, const uint32_t *sums,
			  size_t n_sums)
{
	const uint8_t *p = data;
	size_t i = 0;
	if (dfs_crc32c_pieces(off, len) != n_sums)
		return -DFS_ECHECKSUM;
	while (len > 0) {
		size_t room = DFS_CHUNK_SIZE - (size_t)(off % DFS_CHUNK_SIZE);
		size_t piece = len < room ? len : room;
		if (dfs_crc32c(0, p, piece) != sums[i])
			return -DFS_ECHECKSUM;
		i++;
		p += piece;
		off += piece;
		len -= piece;
	}
	return 0;
}

/* A new connection to l with the reader's buffers and timeouts. */
static int connect_to(const struct dfsc_loc *l, int timeout_ms)
{
	int fd = dfs_net_connect(l->host, l->port, timeout_ms);
	if (fd < 0)
		return fd;
	dfs_net_set_buffers(fd, DFSC_READ_SOCKBUF_BYTES);
	int rc = dfs_net_set_timeouts(fd, timeout_ms);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}

static int send_request(int fd, const struct dfsc_lblock *blk, uint64_t off, uint64_t end)
{
	Dfs__ReadBlockRequest req = DFS__READ_BLOCK_REQUEST__INIT;
	Dfs__BlockRef ref = DFS__BLOCK_REF__INIT;
	ref.block_id = blk->block_id;
	ref.genstamp = blk->genstamp;
	ref.length = blk->length;
	req.block = &ref;
	req.offset = off;
	req.length = end - off;
	return dfs_frame_send(fd, DFS_M_READ_BLOCK, 0, &req.base, NULL, 0);
}

int dfsc_breader_open(dfs_client *c, struct dfsc_breader *r, const struct dfsc_lblock *blk,
		      int loc, uint64_t off, uint64_t end)
{
	const struct dfsc_loc *l = &blk->locs[loc];
	dfsc_breader_close(r);
	r->timeout_ms = c->set.rpc_timeout_ms;
	/* An idle pooled connection first; if the datanode dropped it
	 * meanwhile, a new one. */
	int fd = dfs_conn_pool_get(&c->dn_pool, l->host, l->port);
	int rc = fd >= 0 ? dfs_net_set_timeouts(fd, r->timeout_ms) : -ENOTCONN;
	if (rc == 0)
		rc = send_request(fd, blk, off, end);
	if (rc < 0) {
		if (fd >= 0)
			close(fd);
		fd = connect_to(l, r->timeout_ms);
		if (fd < 0)
			return fd;
		rc = send_request(fd, blk, off, end);
		if (rc < 0) {
			close(fd);
			return rc;
		}
	}
	r->fd = fd;
	r->c = c;
	r->peer = *l;
	r->block_id = blk->block_id;
	r->genstamp = blk->genstamp;
	r->loc = loc;
	r->end = end;
	r->pkt_off = off;
	r->pkt_len = 0;
	r->done = false;
	return 0;
}

/* Receives and verifies the next packet; it must continue the stream.
 * A packet that starts exactly at dst_off and fits in dst_len bytes is
 * received straight into dst (no copy through the packet buffer): then
 * *direct is its length and the reader's window is empty at its end. */
static int next_packet(dfs_client *c, struct dfsc_breader *r, uint8_t *dst, size_t dst_len,
		       uint64_t dst_off, size_t *direct)
{
	uint64_t want = r->pkt_off + r->pkt_len;
	*direct = 0;
	int rc = dfs_frame_recv_head(r->fd, &r->rx);
	if (rc < 0)
		return rc == -EAGAIN ? -ETIMEDOUT : rc;
	if (r->rx.h.method != DFS_M_READ_PACKET)
		return -DFS_EPROTOCOL;
	Dfs__ReadPacket *p = (Dfs__ReadPacket *)dfs_frame_unpack(&r->rx, &dfs__read_packet__descriptor);
	if (p == NULL)
		return -DFS_EPROTOCOL;
	size_t n = r->rx.h.data_len;
	if (p->status != 0) {
		rc = p->status < 0 ? p->status : -EIO;
	} else if (p->offset > want || p->offset + n < want) {
		dfsc_log(c, DFS_LOG_WARN, "block %llu: packet at %llu+%zu, wanted %llu",
			 (unsigned long long)r->block_id, (unsigned long long)p->offset, n,
			 (unsigned long long)want);
		rc = -DFS_EPROTOCOL;
	} else {
		bool straight = n > 0 && p->offset == dst_off && n <= dst_len;
		uint8_t *into = straight ? dst : NULL;
		rc = straight ? dfs_net_read_full(r->fd, dst, n) : dfs_frame_recv_data(r->fd, &r->rx);
		if (rc == -EAGAIN)
			rc = -ETIMEDOUT;
		if (!straight)
			into = r->rx.data;
		if (rc == 0)
			rc = dfsc_verify_checksums(p->offset, into, n, p->checksums, p->n_checksums);
		if (rc == 0) {
			r->pkt_off = straight ? p->offset + n : p->offset;
			r->pkt_len = straight ? 0 : n;
			r->done = p->last;
			*direct = straight ? n : 0;
		}
	}
	dfs__read_packet__free_unpacked(p, NULL);
	return rc;
}

int dfsc_breader_read(dfs_client *c, struct dfsc_breader *r, uint64_t off, void *buf,
		      size_t len)
{
	uint8_t *dst = buf;
	if (r->fd < 0 || off < r->pkt_off || off >= r->end)
		return -ESPIPE;
	while (len > 0) {
		uint64_t pend = r->pkt_off + r->pkt_len;
		if (off >= r->pkt_off && off < pend) {
			size_t take = pend - off < len ? (size_t)(pend - off) : len;
			memcpy(dst, r->rx.data + (off - r->pkt_off), take);
			dst += take;
			off += take;
			len -= take;
			continue;
		}
		if (off >= r->end || off - pend > DFSC_READ_SKIP_MAX)
			return -ESPIPE;
		if (r->done)
			return -EIO; /* the replica ended before the block's length */
		size_t direct;
		int rc = next_packet(c, r, dst, len, off, &direct);
		if (rc < 0)
			return rc;
		dst += direct;
		off += direct;
		len -= direct;
	}
	return 0;
}
