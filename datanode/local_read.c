/* local_read.c: LOCAL_OPEN, the datanode side of short-circuit reads (see
 * local_read.h). One thread: each request is a lookup, two opens and one
 * message, so clients are served one at a time, each connection for one
 * request, with a short timeout against a client that sends nothing. */
#include "datanode/local_read.h"
#include "datanode/blockstore.h"
#include "datanode/xfer_server.h"
#include "common/errors.h"
#include "common/local_sock.h"
#include "common/log.h"
#include "common/net.h"
#include "common/proto/datanode.pb-c.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#define LOCAL_REQUEST_TIMEOUT_MS 1000

struct dn_local_read {
	struct datanode *dn;
	int listen_fd;
	int wake[2];
	pthread_t thread;
};

static void serve_one(struct datanode *dn, int fd)
{
	struct dfs_frame f = {0};
	int fds[2] = {-1, -1}, got = 0, stray[2];
	Dfs__LocalOpenReply reply = DFS__LOCAL_OPEN_REPLY__INIT;
	dfs_net_set_timeouts(fd, LOCAL_REQUEST_TIMEOUT_MS);
	int rc = dfs_local_sock_recv(fd, &f, stray, 2, &got);
	for (int i = 0; i < got; i++)
		close(stray[i]); /* a client has nothing to give us */
	if (rc < 0)
		goto out;
	Dfs__LocalOpenRequest *req = f.h.method == DFS_M_LOCAL_OPEN
		? (Dfs__LocalOpenRequest *)dfs_frame_unpack(&f, &dfs__local_open_request__descriptor)
		: NULL;
	if (req == NULL || req->block == NULL) {
		reply.status = -DFS_EPROTOCOL;
	} else {
		struct dn_replica_info info;
		reply.status = dn_store_open_read(&dn->store, req->block->block_id,
						  req->block->genstamp, &info, &fds[0], &fds[1]);
		if (reply.status == 0 && info.state != DN_RS_FINALIZED) {
			reply.status = -DFS_ESTALE; /* still being written */
			close(fds[0]);
			close(fds[1]);
			fds[0] = fds[1] = -1;
		}
		reply.has_replica_length = reply.status == 0;
		reply.replica_length = info.length;
		DFS_DEBUG("local read of block %" PRIu64 " genstamp %" PRIu64 ": %s",
			  req->block->block_id, req->block->genstamp,
			  reply.status ? dfs_strerror(reply.status) : "descriptors sent");
	}
	if (req != NULL)
		dfs__local_open_request__free_unpacked(req, NULL);
	dfs_local_sock_send(fd, DFS_M_LOCAL_OPEN, f.h.call_id, &reply.base, fds,
			    reply.status == 0 ? 2 : 0);
	if (fds[0] >= 0) {
		close(fds[0]);
		close(fds[1]);
	}
out:
	dfs_frame_release(&f);
}

static void on_local_conn(void *arg, int fd)
{
	serve_one(arg, fd);
	close(fd);
}

static void *serve_main(void *arg)
{
	struct dn_local_read *s = arg;
	dn_accept_loop(s->listen_fd, s->wake[0], on_local_conn, s->dn);
	return NULL;
}

int dn_local_read_start(struct datanode *dn)
{
	if (!dn->cfg.local_reads)
		return 0;
	struct dn_local_read *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	s->dn = dn;
	s->wake[0] = s->wake[1] = -1;
	s->listen_fd = dfs_local_sock_listen(dn->host, dn->port);
	if (s->listen_fd < 0) {
		dfs_log_err(DFS_LOG_WARN, s->listen_fd,
			    "local reads off: no local socket for %s:%u", dn->host, dn->port);
		free(s);
		return 0;
	}
	int rc = pipe2(s->wake, O_CLOEXEC) < 0 ? DFS_ERRNO() : 0;
	if (rc == 0)
		rc = -pthread_create(&s->thread, NULL, serve_main, s);
	if (rc < 0) {
		dfs_log_err(DFS_LOG_WARN, rc, "local reads off");
		close(s->listen_fd);
		if (s->wake[0] >= 0) {
			close(s->wake[0]);
			close(s->wake[1]);
		}
		free(s);
		return 0;
	}
	dn->local = s;
	DFS_INFO("local reads: serving replica descriptors on @dfs-datanode/%s:%u", dn->host,
		 dn->port);
	return 0;
}

void dn_local_read_stop(struct datanode *dn)
{
	struct dn_local_read *s = dn->local;
	if (s == NULL)
		return;
	if (write(s->wake[1], "x", 1) < 0)
		DFS_WARN("cannot wake the local-read thread");
	pthread_join(s->thread, NULL);
	close(s->listen_fd);
	close(s->wake[0]);
	close(s->wake[1]);
	free(s);
	dn->local = NULL;
}
