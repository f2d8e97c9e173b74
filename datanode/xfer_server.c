/* xfer_server.c: the data-transfer listener, its connection threads and
 * request dispatch, and the BLOCK_INFO handler (see xfer_server.h). */
#include "datanode/xfer_server.h"
#include "common/errors.h"
#include "common/log.h"
#include "common/clock.h"
#include "common/proto/datanode.pb-c.h"

#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define XFER_BACKLOG 128
/* How long dn_xfer_stop() waits for connection threads to end. */
#define XFER_STOP_WAIT_MS 5000

struct dn_xfer_server {
	struct datanode *dn;
	int listen_fd;
	int wake[2]; /* pipe: stop the accept thread */
	pthread_t accept_thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int *conn_fds; /* cfg.max_connections slots, -1 free */
	unsigned n_conns;
	int stopping;
};

struct conn {
	struct dn_xfer_server *x;
	int fd;
	int slot;
};

int dn_frame_forward(int fd, const struct dfs_frame *f)
{
	uint8_t header[DFS_FRAME_HEADER_SIZE];
	dfs_frame_header_encode(&f->h, header);
	struct iovec iov[3] = {
		{ .iov_base = header, .iov_len = sizeof(header) },
		{ .iov_base = f->proto, .iov_len = f->h.proto_len },
		{ .iov_base = f->data, .iov_len = f->h.data_len },
	};
	return dfs_net_writev_full(fd, iov, f->h.data_len > 0 ? 3 : 2);
}

static int block_info(struct datanode *dn, int fd, struct dfs_frame *req)
{
	Dfs__BlockInfoRequest *r = (Dfs__BlockInfoRequest *)dfs_frame_unpack(
		req, &dfs__block_info_request__descriptor);
	if (r == NULL)
		return -DFS_EPROTOCOL;
	Dfs__BlockInfoReply reply = DFS__BLOCK_INFO_REPLY__INIT;
	Dfs__BlockRef ref = DFS__BLOCK_REF__INIT;
	struct dn_replica_info info;
	reply.status = dn_store_lookup(&dn->store, r->block_id, &info);
	if (reply.status == 0) {
		ref.block_id = info.id;
		ref.genstamp = info.genstamp;
		ref.length = info.length;
		reply.block = &ref;
	}
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return dfs_frame_send(fd, DFS_M_BLOCK_INFO, req->h.call_id, &reply.base, NULL, 0);
}

static int dispatch(struct datanode *dn, int fd, struct dfs_frame *f)
{
	switch (f->h.method) {
	case DFS_M_WRITE_BLOCK:
		return dn_write_block(dn, fd, f);
	case DFS_M_READ_BLOCK:
		return dn_read_block(dn, fd, f);
	case DFS_M_BLOCK_INFO:
		return block_info(dn, fd, f);
	default:
		return -DFS_EPROTOCOL;
	}
}

static void *conn_main(void *arg)
{
	struct conn *c = arg;
	struct dn_xfer_server *x = c->x;
	struct datanode *dn = x->dn;
	struct dfs_frame f = { 0 };
	dfs_net_set_timeouts(c->fd, (int)dn->cfg.io_timeout_ms);
	dfs_net_set_buffers(c->fd, (int)dn->cfg.socket_buffer_size);
	for (;;) {
		int rc = dfs_frame_recv(c->fd, &f);
		if (rc == -ECONNRESET)
			break; /* peer done */
		if (rc == -EAGAIN || rc == -ETIMEDOUT) {
			/* a client's pooled read connection left idle */
			DFS_DEBUG("data connection idle for %" PRId64 " ms: closed", dn->cfg.io_timeout_ms);
			break;
		}
		if (rc == 0)
			rc = dispatch(dn, c->fd, &f);
		if (rc < 0) {
			if (rc != -ECONNRESET && rc != -EPIPE)
				dfs_log_err(DFS_LOG_WARN, rc, "data connection: %s request failed",
					    dfs_method_name(f.h.method));
			break;
		}
	}
	dfs_frame_release(&f);
	pthread_mutex_lock(&x->lock);
	x->conn_fds[c->slot] = -1;
	close(c->fd);
	x->n_conns--;
	pthread_cond_broadcast(&x->cond);
	pthread_mutex_unlock(&x->lock);
	free(c);
	return NULL;
}

/* Registers fd in a free slot and starts its thread; closes it when the
 * server is full. */
static void start_conn(struct dn_xfer_server *x, int fd)
{
	int max = (int)x->dn->cfg.max_connections, slot = -1;
	pthread_mutex_lock(&x->lock);
	for (int i = 0; i < max && slot < 0; i++)
		if (x->conn_fds[i] < 0)
			slot = i;
	if (slot >= 0) {
		x->conn_fds[slot] = fd;
		x->n_conns++;
	}
	pthread_mutex_unlock(&x->lock);
	if (slot < 0) {
		DFS_WARN("refusing data connection: max_connections (%d) reached", max);
		close(fd);
		return;
	}
	struct conn *c = malloc(sizeof(*c));
	pthread_t t;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (c != NULL) {
		*c = (struct conn){ .x = x, .fd = fd, .slot = slot };
		if (pthread_create(&t, &attr, conn_main, c) == 0) {
			pthread_attr_destroy(&attr);
			return;
		}
	}
	pthread_attr_destroy(&attr);
	DFS_WARN("cannot start a connection thread");
	free(c);
	pthread_mutex_lock(&x->lock);
	x->conn_fds[slot] = -1;
	x->n_conns--;
	close(fd);
	pthread_mutex_unlock(&x->lock);
}

void dn_accept_loop(int listen_fd, int wake_fd, void (*on_conn)(void *arg, int fd), void *arg)
{
	struct pollfd p[2] = { { .fd = listen_fd, .events = POLLIN },
			       { .fd = wake_fd, .events = POLLIN } };
	for (;;) {
		int n = poll(p, 2, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || p[1].revents != 0)
			break;
		int fd = dfs_net_accept(listen_fd);
		if (fd < 0) {
			dfs_log_err(DFS_LOG_WARN, fd, "accept");
			if (fd == -EMFILE || fd == -ENFILE)
				poll(NULL, 0, 100);
			continue;
		}
		on_conn(arg, fd);
	}
}

static void on_xfer_conn(void *arg, int fd)
{
	start_conn(arg, fd);
}

static void *accept_main(void *arg)
{
	struct dn_xfer_server *x = arg;
	dn_accept_loop(x->listen_fd, x->wake[0], on_xfer_conn, x);
	return NULL;
}

int dn_xfer_start(struct datanode *dn)
{
	struct dn_xfer_server *x = calloc(1, sizeof(*x));
	if (x == NULL)
		return -ENOMEM;
	x->dn = dn;
	x->wake[0] = x->wake[1] = -1;
	/* below the next datanode's idle timeout, which is the same setting */
	int rc = dfs_conn_pool_init(&dn->downstream, dn->cfg.io_timeout_ms / 2);
	if (rc < 0) {
		free(x);
		return rc;
	}
	pthread_mutex_init(&x->lock, NULL);
	pthread_cond_init(&x->cond, NULL);
	rc = -ENOMEM;
	x->conn_fds = malloc(sizeof(int) * (size_t)dn->cfg.max_connections);
	if (x->conn_fds == NULL)
		goto err;
	for (int64_t i = 0; i < dn->cfg.max_connections; i++)
		x->conn_fds[i] = -1;
	x->listen_fd = dfs_net_listen(dn->cfg.listen_host, (uint16_t)dn->cfg.port, XFER_BACKLOG,
				      &dn->port);
	if (x->listen_fd < 0) {
		rc = x->listen_fd;
		dfs_log_err(DFS_LOG_ERR, rc, "cannot listen on %s:%" PRId64, dn->cfg.listen_host,
			    dn->cfg.port);
		goto err;
	}
	snprintf(dn->host, sizeof(dn->host), "%s", dn->cfg.listen_host);
	if (pipe2(x->wake, O_CLOEXEC) < 0 ||
	    (rc = -pthread_create(&x->accept_thread, NULL, accept_main, x)) < 0) {
		rc = rc < 0 ? rc : DFS_ERRNO();
		goto err_after_listen;
	}
	dn->xfer = x;
	DFS_INFO("data transfer server listening on %s:%u", dn->host, dn->port);
	return 0;

err_after_listen:
	close(x->listen_fd);
	if (x->wake[0] >= 0) {
		close(x->wake[0]);
		close(x->wake[1]);
	}
err:
	free(x->conn_fds);
	free(x);
	dfs_conn_pool_destroy(&dn->downstream);
	return rc;
}

void dn_xfer_stop(struct datanode *dn)
{
	struct dn_xfer_server *x = dn->xfer;
	if (x == NULL)
		return;
	if (write(x->wake[1], "x", 1) < 0)
		DFS_WARN("cannot wake the accept thread");
	pthread_join(x->accept_thread, NULL);
	close(x->listen_fd);
	struct timespec deadline;
	dfs_cond_deadline(&deadline, XFER_STOP_WAIT_MS);
	pthread_mutex_lock(&x->lock);
	x->stopping = 1;
	for (int64_t i = 0; i < dn->cfg.max_connections; i++)
		if (x->conn_fds[i] >= 0)
			shutdown(x->conn_fds[i], SHUT_RDWR);
	while (x->n_conns > 0)
		if (pthread_cond_timedwait(&x->cond, &x->lock, &deadline) == ETIMEDOUT)
			break;
	unsigned left = x->n_conns;
	pthread_mutex_unlock(&x->lock);
	close(x->wake[0]);
	close(x->wake[1]);
	if (left > 0) {
		/* threads still hold x: leak it rather than free under them */
		DFS_WARN("%u data connections did not end in time", left);
		return;
	}
	free(x->conn_fds);
	pthread_mutex_destroy(&x->lock);
	pthread_cond_destroy(&x->cond);
	free(x);
	dn->xfer = NULL;
	dfs_conn_pool_destroy(&dn->downstream);
}

unsigned dn_xfer_active(struct datanode *dn)
{
	struct dn_xfer_server *x = dn->xfer;
	if (x == NULL)
		return 0;
	pthread_mutex_lock(&x->lock);
	unsigned n = x->n_conns;
	pthread_mutex_unlock(&x->lock);
	return n;
}
