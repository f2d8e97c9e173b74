/* block_writer.c: one write stream into one block through a pipeline of
 * datanodes: the WRITE_BLOCK header to the first, then WRITE_PACKET frames
 * (data + CRC32C per chunk piece) with up to DFSC_WRITE_WINDOW_MAX packets
 * in flight, WRITE_ACKs read as they arrive, in order. A new block written
 * whole by its first packet (at most DFSC_FANOUT_MAX bytes, sync + last)
 * goes by fan-out instead: header and packet to every datanode at once,
 * each a pipeline of one, and an ack from each.
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
	w->deferred = false;
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

/* Sends the WRITE_BLOCK header to the datanode at pipeline position pos,
 * with the positions after it as its downstream (chain) or none (fan-out:
 * that datanode is a pipeline of one), and with first (may be NULL: none)
 * that stream's first packet in the same writev. */
static int send_header(dfs_client *c, struct dfsc_bwriter *w, int fd, int pos, bool chain,
		       bool create, uint64_t prev_genstamp, const Dfs__WritePacket *first)
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
	size_t n = 0;
	for (int i = pos + 1; chain && i < w->blk.n_locs; i++, n++) {
		dfs__datanode_id__init(&ids[n]);
		ids[n].uuid = w->blk.locs[i].uuid;
		ids[n].host = w->blk.locs[i].host;
		ids[n].port = w->blk.locs[i].port;
		down[n] = &ids[n];
	}
	h.n_downstream = n;
	h.downstream = down;
	if (n > 0) {
		/* This client gives up on the first datanode after timeout_ms;
		 * each node below waits a step less for its downstream, so a
		 * stalled node is reported by the one just above it. */
		h.has_ack_timeout_ms = 1;
		h.ack_timeout_ms = dfs_ack_timeout_step((uint32_t)w->timeout_ms);
	}
	struct dfs_frame_out out[2] = { { .method = DFS_M_WRITE_BLOCK, .msg = &h.base } };
	if (first != NULL) {
		const struct dfsc_wpkt *k = &w->pk[first->seqno % DFSC_WRITE_WINDOW_MAX];
		out[1] = (struct dfs_frame_out){ .method = DFS_M_WRITE_PACKET, .msg = &first->base,
						 .data = k->data, .data_len = k->len };
	}
	return dfs_frame_sendv(fd, out, first != NULL ? 2 : 1);
}

/* How long a datanode of a stream may take to ack a packet. */
static int ack_timeout_ms(const dfs_client *c)
{
	return c->set.pipeline_ack_timeout_ms > 0 ? c->set.pipeline_ack_timeout_ms
						  : c->set.rpc_timeout_ms;
}

/* A connection to the datanode at position pos with the header (and
 * first, if not NULL) sent: an idle connection of an earlier block first
 * (no TCP connect and no new datanode thread), else a new one. The fd, or
 * -EIO (logged). */
static int open_conn(dfs_client *c, struct dfsc_bwriter *w, int pos, bool chain, bool create,
		     uint64_t prev_genstamp, const Dfs__WritePacket *first)
{
	const struct dfsc_loc *l = &w->blk.locs[pos];
	int fd = dfs_conn_pool_get(&c->dn_pool, l->host, l->port);
	if (fd >= 0) {
		if (dfs_net_set_timeouts(fd, w->timeout_ms) == 0 &&
		    send_header(c, w, fd, pos, chain, create, prev_genstamp, first) == 0)
			return fd;
		close(fd); /* the datanode dropped it meanwhile */
	}
	fd = dfs_net_connect(l->host, l->port, c->set.rpc_timeout_ms);
	if (fd < 0) {
		dfsc_log(c, DFS_LOG_ERR, "block %llu: connect to datanode %s:%u: %s",
			 (unsigned long long)w->blk.block_id, l->host, l->port, dfs_strerror(fd));
		return -EIO;
	}
	dfs_net_set_buffers(fd, DFSC_DATA_SOCKBUF_BYTES);
	int rc = dfs_net_set_timeouts(fd, w->timeout_ms);
	if (rc == 0)
		rc = send_header(c, w, fd, pos, chain, create, prev_genstamp, first);
	if (rc < 0) {
		dfsc_log(c, DFS_LOG_ERR, "block %llu: write header to %s:%u: %s",
			 (unsigned long long)w->blk.block_id, l->host, l->port, dfs_strerror(rc));
		close(fd);
		return -EIO;
	}
	return fd;
}

int dfsc_bwriter_connect(dfs_client *c, struct dfsc_bwriter *w, bool create,
			 uint64_t prev_genstamp)
{
	dfsc_bwriter_abort(w);
	int fd = open_conn(c, w, 0, true, create, prev_genstamp, NULL);
	if (fd < 0)
		return fd;
	w->fd = fd;
	w->peer = w->blk.locs[0];
	return 0;
}

/* Opens the chain; an unreachable first datanode is recovered without. */
static int connect_chain(dfs_client *c, struct dfsc_bwriter *w, uint64_t prev_genstamp)
{
	int rc = dfsc_bwriter_connect(c, w, w->create, prev_genstamp);
	if (rc < 0 && w->blk.n_locs > 1) {
		w->bad_pos = 0;
		w->bad_status = rc;
		while ((rc = dfsc_bwriter_recover(c, w)) == 1)
			;
	}
	return rc;
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
	w->timeout_ms = ack_timeout_ms(c);
	if (create) { /* the first packet says how: fan-out or chain */
		w->deferred = true;
		return 0;
	}
	return connect_chain(c, w, prev_genstamp);
}

bool dfsc_bwriter_is_open(const struct dfsc_bwriter *w)
{
	return w->fd >= 0 || w->deferred;
}

/* Reads one WRITE_ACK from fd, the connection to pipeline position pos
 * whose ack covers n positions, which must be for the oldest packet in
 * flight. 0, or -EIO with w->bad_pos / bad_status saying which datanode
 * failed and why. */
static int check_ack(dfs_client *c, struct dfsc_bwriter *w, int fd, int pos, int n)
{
	unsigned long long id = (unsigned long long)w->blk.block_id;
	const struct dfsc_loc *peer = &w->blk.locs[pos];
	w->bad_pos = pos;
	int rc = dfs_frame_recv(fd, &w->rx);
	if (rc < 0) {
		w->bad_status = rc == -EAGAIN ? -ETIMEDOUT : rc;
		dfsc_log(c, DFS_LOG_WARN, "block %llu: waiting for ack %llu from %s:%u: %s", id,
			 (unsigned long long)w->acked, peer->host, peer->port,
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
		w->bad_pos = pos + (i < (size_t)n ? (int)i : n - 1);
		w->bad_status = ack->statuses[i];
		const struct dfsc_loc *l = &w->blk.locs[w->bad_pos];
		dfsc_log(c, DFS_LOG_WARN, "block %llu: datanode %s:%u (pipeline position %d) "
			 "failed packet %llu: %s", id, l->host, l->port, w->bad_pos,
			 (unsigned long long)ack->seqno, dfs_strerror(ack->statuses[i]));
		rc = -EIO;
	}
	if (rc == 0 && ack->n_statuses < (size_t)n) {
		dfsc_log(c, DFS_LOG_WARN, "block %llu: ack %llu has %zu statuses for a pipeline "
			 "of %d", id, (unsigned long long)ack->seqno, ack->n_statuses, n);
		w->bad_pos = pos + (int)ack->n_statuses;
		rc = -EIO;
	}
	dfs__write_ack__free_unpacked(ack, NULL);
	if (rc == 0) {
		w->bad_pos = -1;
		w->bad_status = 0;
	}
	return rc;
}

/* The oldest packet in flight is acked by every datanode. */
static void acked_one(struct dfsc_bwriter *w)
{
	w->acked_len = w->pk[w->acked % DFSC_WRITE_WINDOW_MAX].len_after;
	w->acked++;
}

/* Reads the chain's ack of the oldest packet in flight. */
static int read_ack(dfs_client *c, struct dfsc_bwriter *w)
{
	int rc = check_ack(c, w, w->fd, 0, w->blk.n_locs);
	if (rc == 0)
		acked_one(w);
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

/* Fills *p for packet seq (held in pk), its checksums in w->csum (valid
 * until the next call); with_trunc: carry truncate = trunc instead of the
 * packet's own. 0 or -ENOMEM. */
static int build_packet(struct dfsc_bwriter *w, uint64_t seq, bool with_trunc, uint64_t trunc,
			Dfs__WritePacket *p)
{
	const struct dfsc_wpkt *k = &w->pk[seq % DFSC_WRITE_WINDOW_MAX];
	int rc = dfsc_packet_checksums(k->off, k->data, k->len, &w->csum, &w->csum_cap);
	if (rc < 0)
		return rc;
	dfs__write_packet__init(p);
	p->n_checksums = (size_t)rc;
	p->checksums = w->csum;
	p->seqno = seq;
	p->offset = k->off;
	p->last = k->last;
	p->has_sync = k->sync;
	p->sync = k->sync;
	if (with_trunc || k->has_trunc) {
		p->has_truncate = 1;
		p->truncate = with_trunc && !k->has_trunc ? trunc : k->trunc;
	}
	return 0;
}

/* Sends the built packet p (with its data from pk) on fd, the connection
 * to position pos. */
static int send_to(dfs_client *c, struct dfsc_bwriter *w, int fd, int pos,
		   const Dfs__WritePacket *p)
{
	const struct dfsc_wpkt *k = &w->pk[p->seqno % DFSC_WRITE_WINDOW_MAX];
	int rc = dfs_frame_send(fd, DFS_M_WRITE_PACKET, 0, &p->base, k->data, k->len);
	if (rc < 0)
		dfsc_log(c, DFS_LOG_WARN, "block %llu: sending packet %llu to %s:%u: %s",
			 (unsigned long long)w->blk.block_id, (unsigned long long)p->seqno,
			 w->blk.locs[pos].host, w->blk.locs[pos].port, dfs_strerror(rc));
	return rc;
}

int dfsc_bwriter_send(dfs_client *c, struct dfsc_bwriter *w, uint64_t seq, bool with_trunc,
		      uint64_t trunc)
{
	Dfs__WritePacket p;
	int rc = build_packet(w, seq, with_trunc, trunc, &p);
	return rc < 0 ? rc : send_to(c, w, w->fd, 0, &p);
}

/* Whether packet 0 of a stream is best sent by fan-out: it is the whole
 * of a new small block, and durable when acked. Its datanodes then write
 * it side by side, each acking the client itself: two one-way hops and
 * the slowest sync, where a chain of three costs six hops, a responder
 * thread on each inner node, and the same syncs. A chain stays for
 * everything larger, so that a client's uplink carries a big block once,
 * not once per replica. */
static bool fanout_fits(const struct dfsc_bwriter *w, size_t len, bool sync, bool last)
{
	return w->deferred && w->next_seq == 0 && sync && last && len <= DFSC_FANOUT_MAX &&
	       w->blk.n_locs > 1;
}

/* Writes packet 0 (the whole block) to every datanode at once, each as a
 * pipeline of one, and reads every ack. 0: acked by all. -EIO: the first
 * datanode that failed is w->bad_pos (why: bad_status), nothing counts as
 * acked, and pipeline recovery writes the block again to the others as a
 * chain (a survivor takes the new genstamp over its finished replica). */
static int fanout_send(dfs_client *c, struct dfsc_bwriter *w)
{
	int fds[DFSC_LOCATIONS_MAX];
	int n = w->blk.n_locs, bad = -1, bad_status = 0;
	Dfs__WritePacket p; /* one packet, checksummed once */
	if (build_packet(w, 0, false, 0, &p) < 0) {
		w->bad_pos = 0; /* as if nothing could be sent */
		w->bad_status = -ENOMEM;
		return -EIO;
	}
	/* header and packet in one writev: the datanode wakes once */
	for (int k = 0; k < n; k++)
		fds[k] = open_conn(c, w, k, false, true, 0, &p);
	for (int k = 0; k < n; k++) {
		int rc = fds[k] < 0 ? fds[k] : check_ack(c, w, fds[k], k, 1);
		if (rc == 0) { /* the ack was read: at a request boundary */
			dfs_conn_pool_put(&c->dn_pool, fds[k], w->blk.locs[k].host,
					  w->blk.locs[k].port);
			continue;
		}
		if (fds[k] >= 0)
			close(fds[k]);
		if (bad < 0) {
			bad = k;
			bad_status = fds[k] < 0 ? -EHOSTUNREACH : w->bad_status;
		}
	}
	if (bad >= 0) {
		w->bad_pos = bad;
		w->bad_status = bad_status;
		return -EIO;
	}
	acked_one(w);
	return 0;
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
	bool fan = fanout_fits(w, len, sync, last);
	if (w->deferred && !fan) {
		w->deferred = false;
		rc = connect_chain(c, w, 0);
		if (rc < 0)
			goto fail;
	}
	w->deferred = false;
	if (w->fd < 0 && !fan)
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
	if (fan) {
		if (fanout_send(c, w) < 0 && (rc = recover(c, w)) < 0)
			goto fail;
	} else if (dfsc_bwriter_send(c, w, w->next_seq - 1, false, 0) < 0) {
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
	if (last && w->fd >= 0) { /* every ack read: at a request boundary */
		dfs_conn_pool_put(&c->dn_pool, w->fd, w->peer.host, w->peer.port);
		w->fd = -1;
	}
	return 0;
fail:
	dfsc_bwriter_abort(w);
	return rc;
}
