/* raft_transport.c: how Raft messages leave a namenode: one sender thread
 * per peer with a bounded queue of encoded frames (NN_RAFT_TX_BYTES_MAX /
 * NN_RAFT_TX_FRAMES_MAX), a blocking connection with timeouts, and the
 * RaftMsg <-> struct raft_msg codec. A frame that cannot be queued or sent
 * is dropped (Raft retries); after a failed send the queue is emptied and
 * the connection reopened for the next frame. Incoming messages arrive on
 * the ordinary RPC port (rpc_server.c) as one-way DFS_M_RAFT_* frames.
 * Threads: nn_raft_tx_send/queued/start/stop from the loop thread; the
 * sender thread touches only its struct nn_raft_tx (lock tx->mu, leaf). The
 * loop thread writes a frame itself (non-blocking, under mu) when the queue
 * is empty and the thread idle on an open connection (try_send_now). */
#include "namenode/raft_node.h"

#include "common/errors.h"
#include "common/log.h"
#include "common/net.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct tx_frame {
	struct tx_frame *next;
	size_t len;
	uint8_t b[];
};

struct nn_raft_tx {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct tx_frame *head, *tail; /* under mu */
	size_t bytes, n;              /* under mu */
	bool stop;                    /* under mu */
	int fd;                       /* under mu: the connection, -1: none */
	bool sending;                 /* under mu: the thread writes (fd is its own) */
	atomic_bool connected;
	char host[DFS_HOST_MAX];
	uint16_t port;
	uint64_t id;
};

static void tx_clear(struct nn_raft_tx *t)
{
	while (t->head) {
		struct tx_frame *f = t->head;
		t->head = f->next;
		free(f);
	}
	t->tail = NULL;
	t->bytes = t->n = 0;
}

static void *tx_main(void *arg)
{
	struct nn_raft_tx *t = arg;
	int fd = -1;
	bool warned = false;
	pthread_mutex_lock(&t->mu);
	for (;;) {
		while (!t->stop && !t->head)
			pthread_cond_wait(&t->cv, &t->mu);
		if (t->stop)
			break;
		struct tx_frame *f = t->head;
		t->head = f->next;
		if (!t->head)
			t->tail = NULL;
		t->bytes -= f->len;
		t->n--;
		t->sending = true;
		pthread_mutex_unlock(&t->mu);
		int rc = 0;
		if (fd < 0) {
			fd = dfs_net_connect(t->host, t->port, NN_RAFT_CONNECT_TIMEOUT_MS);
			if (fd >= 0 && (rc = dfs_net_set_timeouts(fd, NN_RAFT_CONNECT_TIMEOUT_MS)) < 0) {
				close(fd);
				fd = -1;
			}
			if (fd < 0 && !warned)
				DFS_INFO("raft: peer %llu (%s:%u) unreachable: %s",
					 (unsigned long long)t->id, t->host, t->port,
					 dfs_strerror(fd < 0 ? fd : rc));
			warned = fd < 0;
			if (fd >= 0)
				DFS_INFO("raft: connected to peer %llu (%s:%u)",
					 (unsigned long long)t->id, t->host, t->port);
		}
		if (fd >= 0 && (rc = dfs_net_write_full(fd, f->b, f->len)) < 0) {
			close(fd);
			fd = -1;
		}
		atomic_store(&t->connected, fd >= 0);
		free(f);
		pthread_mutex_lock(&t->mu);
		t->sending = false;
		t->fd = fd;
		if (fd < 0) {
			tx_clear(t); /* stale by the time we could send them */
			pthread_mutex_unlock(&t->mu);
			usleep(50 * 1000); /* bounded reconnect rate */
			pthread_mutex_lock(&t->mu);
		}
	}
	tx_clear(t);
	t->fd = -1;
	pthread_mutex_unlock(&t->mu);
	if (fd >= 0)
		close(fd);
	return NULL;
}

int nn_raft_tx_start(struct nn_raft_peer *p)
{
	struct nn_raft_tx *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	if (dfs_net_parse_hostport(p->addr, t->host, sizeof(t->host), &t->port) < 0) {
		free(t);
		return -EINVAL;
	}
	t->id = p->id;
	t->fd = -1;
	pthread_mutex_init(&t->mu, NULL);
	pthread_cond_init(&t->cv, NULL);
	int rc = pthread_create(&t->th, NULL, tx_main, t);
	if (rc != 0) {
		pthread_mutex_destroy(&t->mu);
		pthread_cond_destroy(&t->cv);
		free(t);
		return -rc;
	}
	p->tx = t;
	return 0;
}

void nn_raft_tx_stop(struct nn_raft_peer *p)
{
	struct nn_raft_tx *t = p->tx;
	if (!t)
		return;
	pthread_mutex_lock(&t->mu);
	t->stop = true;
	pthread_cond_signal(&t->cv);
	pthread_mutex_unlock(&t->mu);
	pthread_join(t->th, NULL);
	pthread_mutex_destroy(&t->mu);
	pthread_cond_destroy(&t->cv);
	free(t);
	p->tx = NULL;
}

/* Fast path (mu held): with nothing queued and the thread idle on an open
 * connection, writes f at once without blocking, saving the wakeup of the
 * sender thread on every Raft message. True if all of f left; otherwise f
 * keeps what is left to send (in order: the queue is empty) for the thread,
 * which also deals with any error. */
static bool try_send_now(struct nn_raft_tx *t, struct tx_frame *f)
{
	if (t->head || t->sending || t->fd < 0)
		return false;
	ssize_t n = send(t->fd, f->b, f->len, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n == (ssize_t)f->len)
		return true;
	if (n > 0) {
		f->len -= (size_t)n;
		memmove(f->b, f->b + n, f->len);
	}
	return false;
}

int nn_raft_tx_send(struct nn_raft_peer *p, uint32_t method, const ProtobufCMessage *msg)
{
	struct nn_raft_tx *t = p->tx;
	if (!t || p->drop)
		return -ENOBUFS;
	size_t plen = protobuf_c_message_get_packed_size(msg);
	if (plen > DFS_FRAME_PROTO_MAX)
		return -EMSGSIZE;
	struct tx_frame *f = malloc(sizeof(*f) + DFS_FRAME_HEADER_SIZE + plen);
	if (!f)
		return -ENOMEM;
	struct dfs_frame_header h = {method, (uint32_t)plen, 0, 0};
	dfs_frame_header_encode(&h, f->b);
	protobuf_c_message_pack(msg, f->b + DFS_FRAME_HEADER_SIZE);
	f->len = DFS_FRAME_HEADER_SIZE + plen;
	f->next = NULL;
	pthread_mutex_lock(&t->mu);
	if (try_send_now(t, f)) {
		pthread_mutex_unlock(&t->mu);
		free(f);
		return 0;
	}
	if (t->bytes + f->len > NN_RAFT_TX_BYTES_MAX || t->n >= NN_RAFT_TX_FRAMES_MAX) {
		pthread_mutex_unlock(&t->mu);
		free(f);
		return -ENOBUFS;
	}
	if (t->tail)
		t->tail->next = f;
	else
		t->head = f;
	t->tail = f;
	t->bytes += f->len;
	t->n++;
	pthread_cond_signal(&t->cv);
	pthread_mutex_unlock(&t->mu);
	return 0;
}

size_t nn_raft_tx_queued(struct nn_raft_peer *p)
{
	if (!p->tx)
		return 0;
	pthread_mutex_lock(&p->tx->mu);
	size_t b = p->tx->bytes;
	pthread_mutex_unlock(&p->tx->mu);
	return b;
}

bool nn_raft_tx_connected(struct nn_raft_peer *p)
{
	return p->tx && atomic_load(&p->tx->connected);
}

/* ---- codec ---- */

static Dfs__RaftSnapMeta *meta_to_pb(const struct raft_snapshot_meta *s)
{
	Dfs__RaftSnapMeta *pm = calloc(1, sizeof(*pm));
	Dfs__RaftConfig *pc = calloc(1, sizeof(*pc));
	uint64_t *v = calloc(RAFT_VOTERS_MAX, sizeof(*v));
	if (!pm || !pc || !v) {
		free(pm);
		free(pc);
		free(v);
		return NULL;
	}
	dfs__raft_snap_meta__init(pm);
	dfs__raft_config__init(pc);
	pm->index = s->index;
	pm->term = s->term;
	memcpy(v, s->conf.voters, s->conf.n * sizeof(*v));
	pc->voters = v;
	pc->n_voters = s->conf.n;
	pm->conf = pc;
	return pm;
}

int nn_raft_msg_to_pb(const struct raft_msg *m, Dfs__RaftMsg *pb)
{
	dfs__raft_msg__init(pb);
	pb->type = m->type;
	pb->from = m->from;
	pb->to = m->to;
	pb->term = m->term;
	pb->has_log_term = pb->has_index = pb->has_commit = pb->has_hint = 1;
	pb->has_ctx = pb->has_reject = pb->has_transfer = 1;
	pb->log_term = m->log_term;
	pb->index = m->index;
	pb->commit = m->commit;
	pb->hint = m->hint;
	pb->ctx = m->ctx;
	pb->reject = m->reject;
	pb->transfer = m->transfer;
	if (m->type == RAFT_MSG_SNAPSHOT && !(pb->snap = meta_to_pb(&m->snap)))
		return -ENOMEM;
	if (m->n_entries) {
		Dfs__RaftEntry *ev = calloc(m->n_entries, sizeof(*ev));
		pb->entries = calloc(m->n_entries, sizeof(*pb->entries));
		if (!ev || !pb->entries) {
			free(ev);
			return -ENOMEM;
		}
		for (uint32_t i = 0; i < m->n_entries; i++) {
			const struct raft_entry *e = &m->entries[i];
			dfs__raft_entry__init(&ev[i]);
			ev[i].term = e->term;
			ev[i].index = e->index;
			ev[i].type = e->type;
			ev[i].has_data = 1;
			ev[i].data.data = e->data.base;
			ev[i].data.len = e->data.len;
			pb->entries[i] = &ev[i];
		}
		pb->n_entries = m->n_entries;
	}
	return 0;
}

void nn_raft_msg_pb_free(Dfs__RaftMsg *pb)
{
	if (pb->snap) {
		if (pb->snap->conf)
			free(pb->snap->conf->voters);
		free(pb->snap->conf);
		free(pb->snap);
	}
	if (pb->entries)
		free(pb->entries[0]);
	free(pb->entries);
	pb->snap = NULL;
	pb->entries = NULL;
}

int nn_raft_msg_from_pb(const Dfs__RaftMsg *pb, struct raft_msg *m)
{
	memset(m, 0, sizeof(*m));
	if (pb->type > 255 || pb->n_entries > UINT32_MAX)
		return -DFS_EPROTOCOL;
	m->type = (uint8_t)pb->type;
	m->from = pb->from;
	m->to = pb->to;
	m->term = pb->term;
	m->log_term = pb->log_term;
	m->index = pb->index;
	m->commit = pb->commit;
	m->hint = pb->hint;
	m->ctx = pb->ctx;
	m->reject = pb->reject;
	m->transfer = pb->transfer;
	if (pb->snap) {
		m->snap.index = pb->snap->index;
		m->snap.term = pb->snap->term;
		if (pb->snap->conf) {
			if (pb->snap->conf->n_voters > RAFT_VOTERS_MAX)
				return -DFS_EPROTOCOL;
			m->snap.conf.n = (uint32_t)pb->snap->conf->n_voters;
			memcpy(m->snap.conf.voters, pb->snap->conf->voters,
			       m->snap.conf.n * sizeof(uint64_t));
		}
	}
	if (pb->n_entries) {
		m->entries = calloc(pb->n_entries, sizeof(*m->entries));
		if (!m->entries)
			return -ENOMEM;
		for (size_t i = 0; i < pb->n_entries; i++) {
			const Dfs__RaftEntry *e = pb->entries[i];
			if (e->type > 255)
				return free(m->entries), m->entries = NULL, -DFS_EPROTOCOL;
			m->entries[i].term = e->term;
			m->entries[i].index = e->index;
			m->entries[i].type = (uint8_t)e->type;
			m->entries[i].data.base = e->data.data;
			m->entries[i].data.len = e->data.len;
		}
		m->n_entries = (uint32_t)pb->n_entries;
	}
	return 0;
}

void nn_raft_msg_free(struct raft_msg *m)
{
	free(m->entries);
	m->entries = NULL;
	m->n_entries = 0;
}
