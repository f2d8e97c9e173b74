/* block_writer.c: one write stream into one block through a pipeline of
 * datanodes: the WRITE_BLOCK header to the first, then WRITE_PACKET frames
 * (data + CRC32C per chunk piece) with up to DFSC_WRITE_WINDOW_MAX packets
 * in flight, WRITE_ACKs read as they arrive, in order.
 *
 * Failure model: every packet stays in w->pk until acked. A failed ack
 * (a datanode's status, the connection, or no ack for
 * pipeline_ack_timeout_ms) names the failed pipeline position (the first
 * one when the connection itself failed) and starts pipeline recovery
 * (pipeline_recovery.c), which goes on with the remaining datanodes. Only
 * when none is left does the stream fail: -EIO, or -ENOSPC/-EDQUOT when
 * that was why. Never a hang: every socket operation has a timeout. */
#include "libdfs/internal.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/crc32c.h"
#include "common/log.h"

#define DFSC_DATA_SOCKBUF_BYTES (4 << 20)

void dfsc_bwriter_init(struct dfsc_bwriter *w)
{
	memset(w, 0, sizeof(*w));
	w->fd = -1;
}

int dfsc_packet_checksums(uint64_t off, const void *data, size_t len, uint32_t **out,
			  size_t *cap)
{
	size_t n = dfs_crc32c_pieces(off, len);
	if (n > *cap) {
		uint32_t *p = realloc(*out, n * sizeof(*p));
		if (p == NULL)
			return -ENOMEM;
		*out = p;
		*cap = n;
	}
	return (int)dfs_crc32c_chunks(off, data, len, *out);
}

void dfsc_bwriter_abort(struct dfsc_bwriter *w)
{
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
}

void dfsc_bwriter_free(struct dfsc_bwriter *w)
{
	dfsc_bwriter_abort(w);
	dfs_frame_release(&w->rx);
	free(w->csum);
	w->csum = NULL;
	w->csum_cap = 0;
	for (int i = 0; i < DFSC_WRITE_WINDOW_MAX; i++) {
		free(w->pk[i].data);
		w->pk[i].data = NULL;
	}
}

static int send_header(dfs_client *c, struct dfsc_bwriter *w, bool create,
		       uint64_t prev_genstamp)
{
	Dfs__WriteBlockHeader h = DFS__WRITE_BLOCK_HEADER__INIT;
	Dfs__BlockRef ref = DFS__BLOCK_REF__INIT;
	Dfs__DatanodeId ids[DFSC_LOCATIONS_MAX];
	Dfs__DatanodeId *down[DFSC_LOCATIONS_MAX];
	ref.block_id = w->blk.block_id;
	ref.genstamp = w->blk.genstamp;
	ref.length = w->recorded_len;
	h.block = &ref;
	h.create = create;
	if (!create) {
		h.has_prev_genstamp = 1;
		h.prev_genstamp = prev_genstamp;
	}
	h.client_name = c->client_name;
	for (int i = 1; i < w->blk.n_locs; i++) {
		dfs__datanode_id__init(&ids[i - 1]);
		ids[i - 1].uuid = w->blk.locs[i].uuid;
		ids[i - 1].host = w->blk.locs[i].host;
		ids[i - 1].port = w->blk.locs[i].port;
		down[i - 1] = &ids[i - 1];
	}
	h.n_downstream = (size_t)(w->blk.n_locs - 1);
	h.downstream = down;
	return dfs_frame_send(w->fd, DFS_M_WRITE_BLOCK, 0, &h.base, NULL, 0);
}

int dfsc_bwriter_connect(dfs_client *c, struct dfsc_bwriter *w, bool create,
			 uint64_t prev_genstamp)
{
	const struct dfsc_loc *first = &w->blk.locs[0];
	dfsc_bwriter_abort(w);
	w->timeout_ms = c->set.pipeline_ack_timeout_ms > 0 ? c->set.pipeline_ack_timeout_ms
							    : c->set.rpc_timeout_ms;
	w->peer = *first;
	/* An idle connection of an earlier block first: no TCP connect and no
	 * new datanode thread. If the datanode dropped it meanwhile, a new one. */
	int fd = dfs_conn_pool_get(&c->dn_pool, first->host, first->port);
	if (fd >= 0) {
		w->fd = fd;
		if (dfs_net_set_timeouts(fd, w->timeout_ms) == 0 &&
		    send_header(c, w, create, prev_genstamp) == 0)
			return 0;
		dfsc_bwriter_abort(w);
	}
	fd = dfs_net_connect(first->host, first->port, c->set.rpc_timeout_ms);
	if (fd < 0) {
		dfsc_log(c, DFS_LOG_ERR, "block %llu: connect to datanode %s:%u: %s",
			 (unsigned long long)w->blk.block_id, first->host, first->port,
			 dfs_strerror(fd));
		return -EIO;
	}
	w->fd = fd;
	dfs_net_set_buffers(fd, DFSC_DATA_SOCKBUF_BYTES);
	int rc = dfs_net_set_timeouts(fd, w->timeout_ms);
	if (rc == 0)
		rc = send_header(c, w, create, prev_genstamp);
	if (rc < 0) {
		dfsc_log(c, DFS_LOG_ERR, "block %llu: write header to %s:%u: %s",
			 (unsigned long long)w->blk.block_id, first->host, first->port,
			 dfs_strerror(rc));
		dfsc_bwriter_abort(w);
		return -EIO;
	}
	return 0;
}

int dfsc_bwriter_open(dfs_client *c, struct dfsc_bwriter *w, const struct dfsc_lblock *blk,
		      bool create, uint64_t prev_genstamp, uint64_t recorded_len)
{
	dfsc_bwriter_abort(w);
	if (blk->n_locs == 0) {
		dfsc_log(c, DFS_LOG_ERR, "block %llu: no datanodes to write to",
			 (unsigned long long)blk->block_id);
		return -DFS_ENODATANODES;
	}
	w->blk = *blk;
	w->recorded_len = recorded_len;
	w->max_end = 0;
	w->next_seq = 0;
	w->acked = 0;
	w->truncate_pending = false;
	w->create = create;
	/* What a recovery names as prev: a datanode takes a replica at this
	 * genstamp or at any later one of this writer's streams. */
	w->base_gs = create ? blk->genstamp : prev_genstamp;
	w->cur_len = w->acked_len = create ? 0 : recorded_len;
	w->bad_pos = -1;
	w->bad_status = 0;
	w->recoveries = 0;
	int rc = dfsc_bwriter_connect(c, w, create, prev_genstamp);
	if (rc < 0 && blk->n_locs > 1) {
		/* the first datanode is unreachable: recover without it */
		w->bad_pos = 0;
		w->bad_status = rc;
		while ((rc = dfsc_bwriter_recover(c, w)) == 1)
			;
	}
	return rc;
}

/* Reads one WRITE_ACK, which must be for the oldest packet in flight. On
 * failure, w->bad_pos / bad_status say which datanode failed and why. */
static int read_ack(dfs_client *c, struct dfsc_bwriter *w)
{
	unsigned long long id = (unsigned long long)w->blk.block_id;
	w->bad_pos = 0;
	int rc = dfs_frame_recv(w->fd, &w->rx);
	if (rc < 0) {
		w->bad_status = rc == -EAGAIN ? -ETIMEDOUT : rc;
		dfsc_log(c, DFS_LOG_WARN, "block %llu: waiting for ack %llu from %s:%u: %s", id,
			 (unsigned long long)w->acked, w->blk.locs[0].host, w->blk.locs[0].port,
			 dfs_strerror(w->bad_status));
		return -EIO;
	}
	w->bad_status = -DFS_EPROTOCOL;
	if (w->rx.h.method != DFS_M_WRITE_ACK) {
		dfsc_log(c, DFS_LOG_WARN, "block %llu: unexpected %s frame in a write stream", id,
			 dfs_method_name(w->rx.h.method));
		return -EIO;
	}
	Dfs__WriteAck *ack = (Dfs__WriteAck *)dfs_frame_unpack(&w->rx, &dfs__write_ack__descriptor);
	if (ack == NULL)
		return -EIO;
	rc = 0;
	if (ack->seqno != w->acked) {
		dfsc_log(c, DFS_LOG_WARN, "block %llu: ack for packet %llu, expected %llu", id,
			 (unsigned long long)ack->seqno, (unsigned long long)w->acked);
		rc = -EIO;
	}
	for (size_t i = 0; rc == 0 && i < ack->n_statuses; i++) {
		if (ack->statuses[i] == 0)
			continue;
		w->bad_pos = i < (size_t)w->blk.n_locs ? (int)i : w->blk.n_locs - 1;
		w->bad_status = ack->statuses[i];
		const struct dfsc_loc *l = &w->blk.locs[w->bad_pos];
		dfsc_log(c, DFS_LOG_WARN, "block %llu: datanode %s:%u (pipeline position %zu) "
			 "failed packet %llu: %s", id, l->host, l->port, i,
			 (unsigned long long)ack->seqno, dfs_strerror(ack->statuses[i]));
		rc = -EIO;
	}
	if (rc == 0 && ack->n_statuses < (size_t)w->blk.n_locs) {
		dfsc_log(c, DFS_LOG_WARN, "block %llu: ack %llu has %zu statuses for a pipeline "
			 "of %d", id, (unsigned long long)ack->seqno, ack->n_statuses,
			 w->blk.n_locs);
		w->bad_pos = (int)ack->n_statuses;
		rc = -EIO;
	}
	dfs__write_ack__free_unpacked(ack, NULL);
	if (rc == 0) {
		w->acked_len = w->pk[w->acked % DFSC_WRITE_WINDOW_MAX].len_after;
		w->acked++;
		w->bad_pos = -1;
		w->bad_status = 0;
	}
	return rc;
}

/* Recovers the pipeline until it is open again or cannot be. */
static int recover(dfs_client *c, struct dfsc_bwriter *w)
{
	int rc;
	while ((rc = dfsc_bwriter_recover(c, w)) == 1)
		;
	return rc;
}

/* One ack, recovering the pipeline if it failed. */
static int ack_one(dfs_client *c, struct dfsc_bwriter *w)
{
	int rc = read_ack(c, w);
	return rc < 0 ? recover(c, w) : 0;
}

/* Reads the acks that have already arrived, without blocking. */
static int read_ready_acks(dfs_client *c, struct dfsc_bwriter *w)
{
	while (w->acked < w->next_seq) {
		struct pollfd p = { .fd = w->fd, .events = POLLIN };
		if (poll(&p, 1, 0) <= 0)
			return 0;
		int rc = ack_one(c, w);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int dfsc_bwriter_drain(dfs_client *c, struct dfsc_bwriter *w)
{
	while (w->fd >= 0 && w->acked < w->next_seq) {
		int rc = ack_one(c, w);
		if (rc < 0) {
			dfsc_bwriter_abort(w);
			return rc;
		}
	}
	return 0;
}

int dfsc_bwriter_send(dfs_client *c, struct dfsc_bwriter *w, uint64_t seq, bool with_trunc,
		      uint64_t trunc)
{
	Dfs__WritePacket p = DFS__WRITE_PACKET__INIT;
	const struct dfsc_wpkt *k = &w->pk[seq % DFSC_WRITE_WINDOW_MAX];
	int rc = dfsc_packet_checksums(k->off, k->data, k->len, &w->csum, &w->csum_cap);
	if (rc < 0)
		return rc;
	p.n_checksums = (size_t)rc;
	p.checksums = w->csum;
	p.seqno = seq;
	p.offset = k->off;
	p.last = k->last;
	p.has_sync = k->sync;
	p.sync = k->sync;
	if (with_trunc || k->has_trunc) {
		p.has_truncate = 1;
		p.truncate = with_trunc && !k->has_trunc ? trunc : k->trunc;
	}
	rc = dfs_frame_send(w->fd, DFS_M_WRITE_PACKET, 0, &p.base, k->data, k->len);
	if (rc < 0)
		dfsc_log(c, DFS_LOG_WARN, "block %llu: sending packet %llu to %s:%u: %s",
			 (unsigned long long)w->blk.block_id, (unsigned long long)seq,
			 w->blk.locs[0].host, w->blk.locs[0].port, dfs_strerror(rc));
	return rc;
}

/* Keeps packet next_seq in the window until it is acked: a copy of data,
 * or with swap the caller's buffer *swap itself (no copy), *swap getting
 * the slot's old one. */
static int keep_packet(struct dfsc_bwriter *w, uint64_t off, const void *data, size_t len,
		       bool sync, bool last, uint8_t **swap)
{
	struct dfsc_wpkt *k = &w->pk[w->next_seq % DFSC_WRITE_WINDOW_MAX];
	if (k->data == NULL && (k->data = malloc(DFSC_PACKET_DATA_MAX)) == NULL)
		return -ENOMEM;
	if (len > DFSC_PACKET_DATA_MAX)
		return -EINVAL;
	if (swap != NULL) {
		uint8_t *mine = k->data;
		k->data = *swap;
		*swap = mine;
	} else if (len > 0) {
		memcpy(k->data, data, len);
	}
	k->off = off;
	k->len = len;
	k->sync = sync;
	k->last = last;
	k->has_trunc = w->truncate_pending;
	k->trunc = w->truncate_to;
	w->truncate_pending = false;
	uint64_t base = k->has_trunc ? k->trunc : w->cur_len;
	k->len_after = len > 0 && off + len > base ? off + len : base;
	w->cur_len = k->len_after;
	return 0;
}

static int send_packet(dfs_client *c, struct dfsc_bwriter *w, uint64_t off, const void *data,
		       size_t len, bool sync, bool last, uint8_t **swap);

int dfsc_bwriter_packet(dfs_client *c, struct dfsc_bwriter *w, uint64_t off, const void *data,
			size_t len, bool sync, bool last)
{
	return send_packet(c, w, off, data, len, sync, last, NULL);
}

int dfsc_bwriter_packet_swap(dfs_client *c, struct dfsc_bwriter *w, uint64_t off,
			     uint8_t **buf, size_t len, bool sync, bool last)
{
	return send_packet(c, w, off, *buf, len, sync, last, buf);
}

static int send_packet(dfs_client *c, struct dfsc_bwriter *w, uint64_t off, const void *data,
		       size_t len, bool sync, bool last, uint8_t **swap)
{
	int rc;
	if (w->fd < 0)
		return -EIO;
	while (w->next_seq - w->acked >= DFSC_WRITE_WINDOW_MAX) {
		rc = ack_one(c, w);
		if (rc < 0)
			goto fail;
	}
	rc = keep_packet(w, off, data, len, sync, last, swap);
	if (rc < 0)
		goto fail;
	w->next_seq++;
	if (len > 0 && off + len > w->max_end)
		w->max_end = off + len;
	if (dfsc_bwriter_send(c, w, w->next_seq - 1, false, 0) < 0) {
		/* the acks already sent say which datanode failed and why (a
		 * full disk ends the stream); recovery then resends this packet
		 * with every other unacked one */
		while (w->acked < w->next_seq && read_ack(c, w) == 0)
			;
		if (w->bad_pos < 0) {
			w->bad_pos = 0;
			w->bad_status = -EIO;
		}
		rc = recover(c, w);
		if (rc < 0)
			goto fail;
	}
	rc = last ? dfsc_bwriter_drain(c, w) : read_ready_acks(c, w);
	if (rc < 0)
		goto fail;
	if (last) { /* every ack read: the connection is at a request boundary */
		dfs_conn_pool_put(&c->dn_pool, w->fd, w->peer.host, w->peer.port);
		w->fd = -1;
	}
	return 0;
fail:
	dfsc_bwriter_abort(w);
	return rc;
}
