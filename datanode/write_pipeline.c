/* write_pipeline.c: one WRITE_BLOCK stream through this datanode.
 *
 * Two threads per stream with a downstream:
 * - the receiver (the connection thread) reads each WRITE_PACKET, checks
 *   its CRCs against its data, forwards the frame as received to
 *   downstream[0], writes it locally (truncate, pwrite, fsync if sync,
 *   finalize if last) and queues {seqno, local status};
 * - the responder pops the queue in order, reads downstream's WRITE_ACK for
 *   that packet and sends upstream WRITE_ACK {seqno, [mine, downstream's...]}.
 * So the upstream sees an ack only once both the local write and every
 * node below are done, while several packets are in flight. The tail of
 * the pipeline has nothing to wait for: its receiver acks each packet
 * itself once written (no thread to start, no handoff before the ack
 * that the whole pipeline waits for).
 *
 * Errors: a setup failure here (replica cannot be opened) or a checksum
 * mismatch is reported in the ack of the packet concerned, then the stream
 * and the connection end. A downstream that cannot be reached or fails is
 * reported as its status (second entry) in every following ack, while this
 * node keeps writing locally, so the client can go on without it. The
 * statuses list stops at the first failed node (entries after it are
 * unknown).
 *
 * Invariants: q holds at most WP_QUEUE_MAX entries in seqno arrival order;
 * an entry with `forwarded` set has exactly one ack coming from downstream;
 * the responder ends after sending the entry marked `end`. */
#include "datanode/xfer_server.h"
#include "datanode/nn_link.h"
#include "datanode/replica_write.h"
#include "datanode/volumes.h"
#include "common/crc32c.h"
#include "common/errors.h"
#include "common/log.h"
#include "common/proto/datanode.pb-c.h"
#include "common/clock.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define WP_QUEUE_MAX 256
#define WP_STATUSES_MAX 32
#define WP_ACK_SLACK_MS 20 /* a later look at an ack polls to the deadline */

struct wp_entry {
	uint64_t seqno;
	int status;
	int forwarded;
	int64_t fwd_ms; /* when it went downstream (monotonic) */
	int end; /* last packet or fatal error: the responder stops after it */
};

struct wp_stream {
	struct datanode *dn;
	int up_fd;
	int ds_fd; /* -1: none or failed */
	char ds_host[DFS_HOST_MAX]; /* where ds_fd goes */
	uint16_t ds_port;
	int ds_wait_ms; /* how long downstream may take to ack a packet */
	size_t n_down;
	int ds_status; /* 0, or why downstream is out */
	uint64_t call_id;
	struct dn_writer *w;
	uint64_t block_id, genstamp;
	int up_lost;   /* the upstream connection failed */
	int local_err; /* first local write error (ENOSPC: discard the replica) */
	uint32_t *crcs;
	size_t crcs_cap;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct wp_entry q[WP_QUEUE_MAX];
	size_t head, count;
	int receiver_done;
	int responder_done; /* no more pops: push() drops entries */
};

static void push(struct wp_stream *st, const struct wp_entry *e)
{
	pthread_mutex_lock(&st->lock);
	while (st->count == WP_QUEUE_MAX && !st->responder_done)
		pthread_cond_wait(&st->cond, &st->lock);
	if (st->responder_done) {
		pthread_mutex_unlock(&st->lock);
		return;
	}
	st->q[(st->head + st->count) % WP_QUEUE_MAX] = *e;
	st->count++;
	pthread_cond_broadcast(&st->cond);
	pthread_mutex_unlock(&st->lock);
}

/* Next entry, or 0 when the receiver ended with nothing more queued. */
static int pop(struct wp_stream *st, struct wp_entry *e)
{
	pthread_mutex_lock(&st->lock);
	while (st->count == 0 && !st->receiver_done)
		pthread_cond_wait(&st->cond, &st->lock);
	int got = st->count > 0;
	if (got) {
		*e = st->q[st->head];
		st->head = (st->head + 1) % WP_QUEUE_MAX;
		st->count--;
		pthread_cond_broadcast(&st->cond);
	}
	pthread_mutex_unlock(&st->lock);
	return got;
}

static void ds_fail(struct wp_stream *st, int status)
{
	pthread_mutex_lock(&st->lock);
	if (st->ds_status == 0) {
		st->ds_status = status == -EAGAIN ? -ETIMEDOUT : status != 0 ? status : -EIO;
		dfs_log_err(DFS_LOG_WARN, st->ds_status, "blk_%" PRIu64 ": downstream %s:%u failed",
			    st->block_id, st->ds_host, st->ds_port);
		if (st->ds_fd >= 0)
			shutdown(st->ds_fd, SHUT_RDWR);
	}
	pthread_mutex_unlock(&st->lock);
}

static int ds_status(struct wp_stream *st)
{
	pthread_mutex_lock(&st->lock);
	int s = st->ds_status;
	pthread_mutex_unlock(&st->lock);
	return s;
}

/* Waits until downstream's ack of a packet forwarded at fwd_ms starts to
 * arrive, at most until fwd_ms + ds_wait_ms: counted from the forward,
 * not from when this node's own write let the responder look, so this
 * node's deadline stays before the one upstream of it. A responder that
 * looks within WP_ACK_SLACK_MS of the forward (nearly always) leaves the
 * wait to the socket's own timeout (ds_wait_ms), with no extra call per
 * packet. 0 or -ETIMEDOUT. */
static int wait_ds_ack(struct wp_stream *st, int64_t fwd_ms)
{
	if (dfs_mono_ms() - fwd_ms <= WP_ACK_SLACK_MS)
		return 0;
	for (;;) {
		int64_t left = fwd_ms + st->ds_wait_ms - dfs_mono_ms();
		struct pollfd p = { .fd = st->ds_fd, .events = POLLIN };
		int r = poll(&p, 1, left > 0 ? (int)left : 0);
		if (r > 0)
			return 0;
		if (r == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

/* Reads downstream's ack of entry e and appends its statuses. */
static size_t read_ds_ack(struct wp_stream *st, const struct wp_entry *e, int32_t *out,
			  size_t n, struct dfs_frame *f)
{
	uint64_t seqno = e->seqno;
	int rc = wait_ds_ack(st, e->fwd_ms);
	if (rc == 0)
		rc = dfs_frame_recv(st->ds_fd, f);
	Dfs__WriteAck *a = NULL;
	if (rc == 0 && f->h.method == DFS_M_WRITE_ACK)
		a = (Dfs__WriteAck *)dfs_frame_unpack(f, &dfs__write_ack__descriptor);
	if (a == NULL || a->seqno != seqno || a->n_statuses == 0) {
		ds_fail(st, rc < 0 ? rc : -DFS_EPROTOCOL);
		out[n++] = ds_status(st);
	} else {
		for (size_t i = 0; i < a->n_statuses && n < WP_STATUSES_MAX; i++)
			out[n++] = a->statuses[i];
	}
	if (a != NULL)
		protobuf_c_message_free_unpacked(&a->base, NULL);
	return n;
}

/* Sends upstream the ack of entry e: its local status, then downstream's
 * (read here for a forwarded packet). < 0 if upstream is gone. */
static int send_ack(struct wp_stream *st, const struct wp_entry *e, struct dfs_frame *f)
{
	int32_t statuses[WP_STATUSES_MAX];
	size_t n = 0;
	statuses[n++] = e->status;
	if (e->forwarded)
		n = read_ds_ack(st, e, statuses, n, f);
	else if (st->n_down > 0 && ds_status(st) != 0)
		statuses[n++] = ds_status(st);
	Dfs__WriteAck ack = DFS__WRITE_ACK__INIT;
	ack.seqno = e->seqno;
	ack.statuses = statuses;
	ack.n_statuses = n;
	int rc = dfs_frame_send(st->up_fd, DFS_M_WRITE_ACK, st->call_id, &ack.base, NULL, 0);
	if (rc < 0) /* upstream gone: wake the receiver, which then aborts */
		shutdown(st->up_fd, SHUT_RDWR);
	return rc;
}

static void *responder_main(void *arg)
{
	struct wp_stream *st = arg;
	struct dfs_frame f = { 0 };
	struct wp_entry e;
	while (pop(st, &e)) {
		if (send_ack(st, &e, &f) < 0 || e.end)
			break;
	}
	pthread_mutex_lock(&st->lock);
	st->responder_done = 1;
	pthread_cond_broadcast(&st->cond);
	pthread_mutex_unlock(&st->lock);
	dfs_frame_release(&f);
	return NULL;
}

/* Connects to downstream[0] (an idle connection of an earlier stream
 * first: no TCP connect and no new thread there) and sends it the header
 * minus itself. */
static void connect_downstream(struct wp_stream *st, Dfs__WriteBlockHeader *h)
{
	Dfs__DatanodeId *next = h->downstream[0];
	Dfs__WriteBlockHeader fwd = *h;
	fwd.downstream = h->downstream + 1;
	fwd.n_downstream = h->n_downstream - 1;
	/* The writer's timeout steps down along the chain (datanode.proto):
	 * the next node waits an eighth less for its own downstream. */
	int wait_ms = (int)st->dn->cfg.io_timeout_ms;
	if (h->has_ack_timeout_ms && h->ack_timeout_ms > 0) {
		wait_ms = (int)h->ack_timeout_ms;
		fwd.ack_timeout_ms = dfs_ack_timeout_step(h->ack_timeout_ms);
		fwd.has_ack_timeout_ms = fwd.n_downstream > 0;
	}
	st->ds_wait_ms = wait_ms;
	snprintf(st->ds_host, sizeof(st->ds_host), "%s", next->host);
	st->ds_port = (uint16_t)next->port;
	int fd = dfs_conn_pool_get(&st->dn->downstream, st->ds_host, st->ds_port);
	if (fd >= 0 && dfs_net_set_timeouts(fd, wait_ms) == 0 &&
	    dfs_frame_send(fd, DFS_M_WRITE_BLOCK, st->call_id, &fwd.base, NULL, 0) == 0) {
		st->ds_fd = fd;
		return;
	}
	if (fd >= 0)
		close(fd); /* the next datanode dropped it meanwhile */
	fd = dfs_net_connect(st->ds_host, st->ds_port, (int)st->dn->cfg.connect_timeout_ms);
	if (fd < 0) {
		ds_fail(st, fd);
		return;
	}
	dfs_net_set_timeouts(fd, wait_ms);
	dfs_net_set_buffers(fd, (int)st->dn->cfg.socket_buffer_size);
	int rc = dfs_frame_send(fd, DFS_M_WRITE_BLOCK, st->call_id, &fwd.base, NULL, 0);
	if (rc < 0) {
		close(fd);
		ds_fail(st, rc);
		return;
	}
	st->ds_fd = fd;
}

/* Checks the packet's CRCs against its data. */
static int verify(struct wp_stream *st, const Dfs__WritePacket *p, const struct dfs_frame *f)
{
	size_t len = f->h.data_len;
	if (p->offset > DN_REPLICA_SIZE_MAX || len > DN_REPLICA_SIZE_MAX - p->offset ||
	    (p->has_truncate && p->truncate > DN_REPLICA_SIZE_MAX))
		return -EFBIG;
	size_t n = len > 0 ? dfs_crc32c_pieces(p->offset, len) : 0;
	if (p->n_checksums != n)
		return -DFS_ECHECKSUM;
	if (n > st->crcs_cap) {
		uint32_t *c = realloc(st->crcs, n * sizeof(*c));
		if (c == NULL)
			return -ENOMEM;
		st->crcs = c;
		st->crcs_cap = n;
	}
	if (n == 0)
		return 0; /* an empty packet: nothing to check (and no arrays) */
	dfs_crc32c_chunks(p->offset, f->data, len, st->crcs);
	return memcmp(st->crcs, p->checksums, n * sizeof(uint32_t)) == 0 ? 0 : -DFS_ECHECKSUM;
}

static void received(struct wp_stream *st, const struct dn_replica_info *info)
{
	DFS_DEBUG("received blk_%" PRIu64 " genstamp %" PRIu64 " length %" PRIu64, info->id,
		  info->genstamp, info->length);
	dn_nn_report_received(st->dn, info);
}

/* Local part of one packet: truncate, write, sync, finalize. Returns
 * DN_WRITER_PLACE when the replica is durable but its files are to be
 * written once it is acked (place_replica). */
static int write_local(struct wp_stream *st, const Dfs__WritePacket *p, const struct dfs_frame *f)
{
	int rc = 0;
	if (p->has_truncate)
		rc = dn_writer_truncate(st->w, p->truncate);
	if (rc == 0 && f->h.data_len > 0)
		rc = dn_writer_write(st->w, p->offset, f->data, f->h.data_len, st->crcs);
	bool sync = p->has_sync && p->sync;
	if (rc == 0 && sync && !p->last)
		rc = dn_writer_sync(st->w);
	if (rc == 0 && p->last) {
		struct dn_replica_info info;
		rc = sync ? dn_writer_finish_synced(st->w, &info) : dn_writer_finish(st->w, &info);
		if (rc == DN_WRITER_PLACE)
			return rc;
		st->w = NULL;
		if (rc == 0)
			received(st, &info);
	}
	return rc;
}

/* Writes the files of a replica acked from the journal: off the ack's
 * path, which saves the writer their creation (readers wait for them). */
static void place_replica(struct wp_stream *st)
{
	struct dn_replica_info info;
	int rc = dn_writer_place(st->w, &info);
	st->w = NULL;
	if (rc == 0)
		received(st, &info);
	else if (rc != -ENOSPC && rc != -EDQUOT)
		dn_volumes_check_soon(st->dn);
}

/* One packet: returns 1 when the stream ended, 0 to go on. */
static int handle_packet(struct wp_stream *st, struct dfs_frame *f, int setup_rc)
{
	Dfs__WritePacket *p = NULL;
	if (f->h.method == DFS_M_WRITE_PACKET)
		p = (Dfs__WritePacket *)dfs_frame_unpack(f, &dfs__write_packet__descriptor);
	if (p == NULL) {
		DFS_WARN("blk_%" PRIu64 ": malformed write packet (%s), closing", st->block_id,
			 dfs_method_name(f->h.method));
		return 1;
	}
	struct wp_entry e = { .seqno = p->seqno, .status = setup_rc };
	if (e.status == 0)
		e.status = verify(st, p, f);
	if (e.status == -DFS_ECHECKSUM)
		DFS_WARN("blk_%" PRIu64 ": checksum mismatch in packet %" PRIu64, st->block_id,
			 p->seqno);
	if (e.status == 0 && st->ds_fd >= 0 && ds_status(st) == 0) {
		int rc = dn_frame_forward(st->ds_fd, f);
		if (rc < 0) {
			ds_fail(st, rc);
		} else {
			e.forwarded = 1;
			e.fwd_ms = dfs_mono_ms();
		}
	}
	bool place = false;
	if (e.status == 0) {
		e.status = write_local(st, p, f);
		place = e.status == DN_WRITER_PLACE;
		if (place)
			e.status = 0;
		if (e.status < 0 && st->local_err == 0) {
			st->local_err = e.status;
			dfs_log_err(DFS_LOG_WARN, e.status, "blk_%" PRIu64 ": local write failed",
				    st->block_id);
			if (e.status != -ENOSPC && e.status != -EDQUOT)
				dn_volumes_check_soon(st->dn);
		}
	}
	e.end = p->last || e.status < 0;
	protobuf_c_message_free_unpacked(&p->base, NULL);
	if (st->n_down > 0)
		push(st, &e);
	else if (send_ack(st, &e, NULL) < 0) /* the tail acks as it goes */
		e.end = 1;
	if (place)
		place_replica(st);
	return e.end;
}

/* Reads packets until the stream ends. Returns 0 if it ended with a
 * successful last packet. */
static int receive_packets(struct wp_stream *st, int setup_rc)
{
	struct dfs_frame f = { 0 };
	int rc = 0;
	for (;;) {
		rc = dfs_frame_recv(st->up_fd, &f);
		if (rc < 0) {
			st->up_lost = 1;
			break;
		}
		if (handle_packet(st, &f, setup_rc)) {
			rc = st->w == NULL && setup_rc == 0 ? 0 : -EIO;
			break;
		}
	}
	dfs_frame_release(&f);
	return rc;
}

/* Passes the header downstream first, so every node of the pipeline
 * sets up its replica at the same time rather than one after the other
 * (file creation was most of a small block's setup; a new replica the
 * journal may take now has no files until its last packet). If the local
 * open then fails, no packet is forwarded and downstream's stream ends
 * when this one closes the connection. */
static int open_stream(struct wp_stream *st, Dfs__WriteBlockHeader *h)
{
	if (st->n_down > 0)
		connect_downstream(st, h);
	uint64_t prev = h->has_prev_genstamp ? h->prev_genstamp : h->block->genstamp;
	int rc = dn_writer_open(&st->dn->store, st->block_id, st->genstamp, h->create, prev,
				&st->w);
	if (rc < 0) {
		dfs_log_err(DFS_LOG_WARN, rc, "blk_%" PRIu64 ": write refused", st->block_id);
		if (rc == -EIO)
			dn_volumes_check_soon(st->dn);
		return rc;
	}
	return 0;
}

int dn_write_block(struct datanode *dn, int fd, struct dfs_frame *req)
{
	Dfs__WriteBlockHeader *h = (Dfs__WriteBlockHeader *)dfs_frame_unpack(
		req, &dfs__write_block_header__descriptor);
	if (h == NULL || h->n_downstream >= WP_STATUSES_MAX) {
		if (h != NULL)
			protobuf_c_message_free_unpacked(&h->base, NULL);
		return -DFS_EPROTOCOL;
	}
	struct wp_stream *st = calloc(1, sizeof(*st));
	if (st == NULL) {
		protobuf_c_message_free_unpacked(&h->base, NULL);
		return -ENOMEM;
	}
	st->dn = dn;
	st->up_fd = fd;
	st->ds_fd = -1;
	st->n_down = h->n_downstream;
	st->call_id = req->h.call_id;
	st->block_id = h->block->block_id;
	st->genstamp = h->block->genstamp;
	pthread_mutex_init(&st->lock, NULL);
	pthread_cond_init(&st->cond, NULL);
	int setup_rc = open_stream(st, h);
	protobuf_c_message_free_unpacked(&h->base, NULL);

	pthread_t responder;
	int rc = 0;
	if (st->n_down == 0) { /* nothing to wait for below: no responder */
		rc = receive_packets(st, setup_rc);
	} else if ((rc = -pthread_create(&responder, NULL, responder_main, st)) == 0) {
		rc = receive_packets(st, setup_rc);
		if (st->up_lost && st->ds_fd >= 0) /* upstream gone: end downstream's now */
			shutdown(st->ds_fd, SHUT_RDWR);
		pthread_mutex_lock(&st->lock);
		st->receiver_done = 1;
		pthread_cond_broadcast(&st->cond);
		pthread_mutex_unlock(&st->lock);
		pthread_join(responder, NULL);
	}
	if (st->w != NULL) {
		DFS_INFO("blk_%" PRIu64 ": write stream ended early", st->block_id);
		if (st->local_err == -ENOSPC || st->local_err == -EDQUOT)
			dn_writer_discard(st->w);
		else
			dn_writer_abort(st->w);
	}
	/* A stream that ended well left downstream at a request boundary
	 * (its ack of the last packet was read): the next stream to that
	 * datanode reuses the connection. */
	if (st->ds_fd >= 0 && rc == 0 && ds_status(st) == 0)
		dfs_conn_pool_put(&dn->downstream, st->ds_fd, st->ds_host, st->ds_port);
	else if (st->ds_fd >= 0)
		close(st->ds_fd);
	free(st->crcs);
	pthread_mutex_destroy(&st->lock);
	pthread_cond_destroy(&st->cond);
	free(st);
	return rc;
}
