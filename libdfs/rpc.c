/* rpc.c: namespace RPCs to the namenodes. A mutex-protected free list of
 * connections (each to one namenode) is shared by every thread of the
 * client; a call takes a connection, sends one NsRequest frame with a
 * unique call_id, reads the NsReply and returns the connection. Transport
 * failures close the connection and retry on the next namenode, NOT_LEADER
 * replies follow NsReply.leader, both until retry_total_ms has passed.
 * A call that no namenode answers returns after at most retry_total_ms
 * plus the attempt under way then (connect and reply, rpc_timeout_ms
 * each). */
#include "libdfs/internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

int64_t dfsc_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void dfsc_log(const dfs_client *c, int level, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	if (c == NULL || c->log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->log(c->log_arg, level, msg);
}

bool dfsc_method_mutates(uint32_t method)
{
	switch (method) {
	case DFS_M_MKDIR: case DFS_M_CREATE: case DFS_M_SETATTR: case DFS_M_RENAME:
	case DFS_M_UNLINK: case DFS_M_RMDIR: case DFS_M_DELETE: case DFS_M_SYMLINK:
	case DFS_M_LINK: case DFS_M_SETREP: case DFS_M_ADD_BLOCK: case DFS_M_OPEN_BLOCK:
	case DFS_M_COMPLETE: case DFS_M_MKNOD: case DFS_M_SETXATTR: case DFS_M_REMOVEXATTR:
		return true;
	default:
		return false;
	}
}

static void conn_close(struct dfsc_conn *k)
{
	close(k->fd);
	free(k);
}

void dfsc_pool_destroy(dfs_client *c)
{
	pthread_mutex_lock(&c->pool_mu);
	struct dfsc_conn *k = c->idle;
	c->idle = NULL;
	c->n_idle = 0;
	pthread_mutex_unlock(&c->pool_mu);
	while (k != NULL) {
		struct dfsc_conn *next = k->next;
		conn_close(k);
		k = next;
	}
}

/* Takes an idle connection to namenode nn or opens one. *reused tells
 * whether it came from the pool (it may have gone stale while idle). */
static int conn_get(dfs_client *c, int nn, struct dfsc_conn **out, bool *reused)
{
	struct dfsc_conn *stale = NULL;
	struct dfsc_conn *k = NULL;
	pthread_mutex_lock(&c->pool_mu);
	while (c->idle != NULL) {
		struct dfsc_conn *p = c->idle;
		c->idle = p->next;
		c->n_idle--;
		if (p->nn == nn) {
			k = p;
			break;
		}
		p->next = stale; /* to a namenode we no longer use */
		stale = p;
	}
	pthread_mutex_unlock(&c->pool_mu);
	while (stale != NULL) {
		struct dfsc_conn *next = stale->next;
		conn_close(stale);
		stale = next;
	}
	*reused = k != NULL;
	if (k != NULL) {
		*out = k;
		return 0;
	}
	const struct dfsc_addr *a = &c->set.nn[nn];
	int fd = dfs_net_connect(a->host, a->port, c->set.rpc_timeout_ms);
	if (fd < 0)
		return fd;
	int rc = dfs_net_set_timeouts(fd, c->set.rpc_timeout_ms);
	if (rc < 0 || (k = calloc(1, sizeof(*k))) == NULL) {
		close(fd);
		return rc < 0 ? rc : -ENOMEM;
	}
	k->fd = fd;
	k->nn = nn;
	*out = k;
	return 0;
}

static void conn_put(dfs_client *c, struct dfsc_conn *k)
{
	pthread_mutex_lock(&c->pool_mu);
	if (c->n_idle < DFSC_POOL_IDLE_MAX) {
		k->next = c->idle;
		c->idle = k;
		c->n_idle++;
		k = NULL;
	}
	pthread_mutex_unlock(&c->pool_mu);
	if (k != NULL)
		conn_close(k);
}

/* One request/reply exchange on k. 0 with *out, or a transport error. */
static int call_once(dfs_client *c, struct dfsc_conn *k, uint32_t method,
		     const Dfs__NsRequest *req, Dfs__NsReply **out)
{
	struct dfs_frame f = { 0 };
	uint64_t call_id = atomic_fetch_add(&c->next_call_id, 1);
	int rc = dfs_frame_send(k->fd, method, call_id, &req->base, NULL, 0);
	if (rc < 0)
		goto out;
	rc = dfs_frame_recv(k->fd, &f);
	if (rc < 0)
		goto out;
	if (f.h.call_id != call_id || f.h.method != method) {
		rc = -DFS_EPROTOCOL;
		goto out;
	}
	*out = (Dfs__NsReply *)dfs_frame_unpack(&f, &dfs__ns_reply__descriptor);
	if (*out == NULL)
		rc = -DFS_EPROTOCOL;
out:
	dfs_frame_release(&f);
	if (rc == -EAGAIN || rc == -EWOULDBLOCK)
		rc = -ETIMEDOUT;
	return rc;
}

static int find_namenode(const dfs_client *c, const char *hostport)
{
	struct dfsc_addr a;
	if (hostport == NULL ||
	    dfs_net_parse_hostport(hostport, a.host, sizeof(a.host), &a.port) < 0)
		return -1;
	for (int i = 0; i < c->set.n_nn; i++)
		if (c->set.nn[i].port == a.port && strcmp(c->set.nn[i].host, a.host) == 0)
			return i;
	return -1;
}

void dfsc_req_set_cred(Dfs__NsRequest *req, const struct dfsc_cred *cr)
{
	req->has_caller_uid = req->has_caller_gid = 1;
	req->caller_uid = cr->uid;
	req->caller_gid = cr->gid;
	req->n_caller_groups = (size_t)cr->ngroups;
	req->caller_groups = (uint32_t *)cr->groups;
}

static void fill_identity(dfs_client *c, uint32_t method, Dfs__NsRequest *req)
{
	if (!req->has_caller_uid)
		dfsc_req_set_cred(req, dfsc_cred(c));
	if (dfsc_method_mutates(method)) {
		req->has_client_id = 1;
		req->client_id.len = DFSC_CLIENT_ID_LEN;
		req->client_id.data = c->client_id;
		req->has_seq = 1;
		req->seq = atomic_fetch_add(&c->next_seq, 1);
		if (req->client_name == NULL)
			req->client_name = c->client_name;
	}
}

static void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Adds hostport (a leader some namenode named) to the client's namenode
 * list if it is not there: a namenode added to the group after this client
 * connected is reachable too. Returns its index, or -1 (malformed, or the
 * list is full). Any thread. */
static int learn_namenode(dfs_client *c, const char *hostport)
{
	struct dfsc_addr a;
	if (hostport == NULL ||
	    dfs_net_parse_hostport(hostport, a.host, sizeof(a.host), &a.port) < 0)
		return -1;
	pthread_mutex_lock(&c->pool_mu);
	int idx = find_namenode(c, hostport);
	if (idx < 0 && c->set.n_nn < DFSC_NAMENODES_MAX) {
		idx = c->set.n_nn;
		c->set.nn[idx] = a;
		c->set.n_nn = idx + 1; /* atomic store, after the entry */
		dfsc_log(c, DFS_LOG_INFO, "learnt namenode %s from a leader hint", hostport);
	}
	pthread_mutex_unlock(&c->pool_mu);
	return idx;
}

/* A reply arrived: 1 = retry elsewhere (not leader), else the final rc. */
static int handle_reply(dfs_client *c, int nn, uint32_t method, Dfs__NsReply *reply,
			Dfs__NsReply **out)
{
	int status = reply->status;
	if (status == -DFS_ENOTLEADER) {
		int idx = find_namenode(c, reply->leader);
		if (idx < 0)
			idx = learn_namenode(c, reply->leader);
		int want = idx >= 0 ? idx : (nn + 1) % c->set.n_nn;
		atomic_compare_exchange_strong(&c->leader, &nn, want);
		dfsc_log(c, DFS_LOG_DEBUG, "%s: namenode %s:%u is not the leader (leader: %s)",
			 dfs_method_name(method), c->set.nn[nn].host, c->set.nn[nn].port,
			 reply->leader != NULL ? reply->leader : "unknown");
		dfs__ns_reply__free_unpacked(reply, NULL);
		return 1;
	}
	if (status < 0) {
		if (reply->message != NULL)
			dfsc_log(c, DFS_LOG_DEBUG, "%s: %s", dfs_method_name(method),
				 reply->message);
		dfs__ns_reply__free_unpacked(reply, NULL);
		return status;
	}
	*out = reply;
	return 0;
}

static int call_retrying(dfs_client *c, uint32_t method, Dfs__NsRequest *req,
			 Dfs__NsReply **out, int64_t start)
{
	int64_t deadline = start + (c->set.retry_total_ms > 0 ? c->set.retry_total_ms : 0);
	int backoff_ms = DFSC_RETRY_BACKOFF_MIN_MS;
	int last_err = -ECONNREFUSED;
	int tries = 0;
	for (;;) {
		int nn = atomic_load(&c->leader);
		struct dfsc_conn *k;
		bool reused = false;
		Dfs__NsReply *reply = NULL;
		int rc = conn_get(c, nn, &k, &reused);
		if (rc == 0) {
			rc = call_once(c, k, method, req, &reply);
			if (rc == 0) {
				conn_put(c, k);
				rc = handle_reply(c, nn, method, reply, out);
				if (rc != 1)
					return rc;
				rc = -DFS_ENOTLEADER;
			} else {
				conn_close(k);
				/* Closed while idle (the namenode restarted): try a
				 * fresh one at once. Not after a timeout: that is a
				 * namenode not answering, and each idle connection
				 * to it would cost rpc_timeout_ms again. */
				if (reused && rc != -ETIMEDOUT)
					continue;
			}
		}
		last_err = rc;
		if (rc != -DFS_ENOTLEADER) {
			int next = (nn + 1) % c->set.n_nn;
			atomic_compare_exchange_strong(&c->leader, &nn, next);
			dfsc_log(c, DFS_LOG_DEBUG, "%s: namenode %s:%u: %s",
				 dfs_method_name(method), c->set.nn[nn].host,
				 c->set.nn[nn].port, dfs_strerror(rc));
		}
		tries++;
		if (c->set.retry_total_ms < 0 && tries >= c->set.n_nn)
			break;
		int64_t left = deadline - dfsc_now_ms();
		if (left <= 0)
			break;
		if (tries % c->set.n_nn == 0) {
			sleep_ms(backoff_ms < left ? backoff_ms : (int)left);
			backoff_ms = backoff_ms * 2 > DFSC_RETRY_BACKOFF_MAX_MS
					     ? DFSC_RETRY_BACKOFF_MAX_MS : backoff_ms * 2;
		}
	}
	dfsc_log(c, DFS_LOG_WARN, "%s: namenodes unreachable for %lld ms (%d tries, %d namenodes), "
		 "giving up: %s", dfs_method_name(method), (long long)(dfsc_now_ms() - start),
		 tries, (int)c->set.n_nn, dfs_strerror(last_err));
	return last_err;
}

int dfsc_call(dfs_client *c, uint32_t method, Dfs__NsRequest *req, Dfs__NsReply **out)
{
	int64_t start = dfsc_now_ms();
	*out = NULL;
	fill_identity(c, method, req);
	uint64_t gen = dfsc_dir_attrs_begin(c, method);
	int rc = call_retrying(c, method, req, out, start);
	dfsc_dir_attrs_end(c, method, req, gen, start, rc == 0 ? *out : NULL);
	return rc;
}

int dfsc_call_attr(dfs_client *c, uint32_t method, Dfs__NsRequest *req, struct dfs_stat *st)
{
	Dfs__NsReply *reply;
	int rc = dfsc_call(c, method, req, &reply);
	if (rc < 0)
		return rc;
	if (st != NULL) {
		if (reply->attr == NULL)
			rc = -DFS_EPROTOCOL;
		else
			dfsc_attr_to_stat(reply->attr, st);
	}
	dfs__ns_reply__free_unpacked(reply, NULL);
	return rc;
}
