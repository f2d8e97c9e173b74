/* admin_raft.c: the namenode Raft group seen from a client: status of
 * every namenode (DFS_M_RAFT_STATUS, asked of each one directly), and the
 * admin calls (DFS_M_RAFT_ADMIN: add / remove a voter, transfer
 * leadership, the drop-peers fault hook). These calls use their own short
 * connections, not the namespace connection pool: they must reach one
 * particular namenode, not "the leader". Any thread. */
#include "libdfs/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/proto/raft.pb-c.h"

#define DFSC_RAFT_STATUS_TIMEOUT_MS 2000 /* per namenode asked for status */
#define DFSC_RAFT_MEMBERS_MAX 32         /* namenodes listed by dfs_raft_status */

/* One request/reply with the namenode at host:port. 0 with *out (free
 * with protobuf_c_message_free_unpacked), or a negative errno. */
static int call_addr(const char *host, uint16_t port, int timeout_ms, uint32_t method,
		     const ProtobufCMessage *req, const ProtobufCMessageDescriptor *rd,
		     ProtobufCMessage **out)
{
	struct dfs_frame f = {0};
	*out = NULL;
	int fd = dfs_net_connect(host, port, timeout_ms);
	if (fd < 0)
		return fd;
	int rc = dfs_net_set_timeouts(fd, timeout_ms);
	if (rc == 0)
		rc = dfs_frame_send(fd, method, 1, req, NULL, 0);
	if (rc == 0)
		rc = dfs_frame_recv(fd, &f);
	if (rc == 0 && (f.h.method != method || f.h.call_id != 1))
		rc = -DFS_EPROTOCOL;
	if (rc == 0 && (*out = dfs_frame_unpack(&f, rd)) == NULL)
		rc = -DFS_EPROTOCOL;
	dfs_frame_release(&f);
	close(fd);
	if (rc == -EAGAIN || rc == -EWOULDBLOCK)
		rc = -ETIMEDOUT;
	return rc;
}

static int call_hostport(const char *hostport, int timeout_ms, uint32_t method,
			 const ProtobufCMessage *req, const ProtobufCMessageDescriptor *rd,
			 ProtobufCMessage **out)
{
	char host[DFS_HOST_MAX];
	uint16_t port;
	if (dfs_net_parse_hostport(hostport, host, sizeof(host), &port) < 0)
		return -EINVAL;
	return call_addr(host, port, timeout_ms, method, req, rd, out);
}

struct members {
	struct dfs_raft_member *v;
	size_t n;
	uint64_t voters[DFSC_RAFT_MEMBERS_MAX];
	size_t n_voters;
};

static struct dfs_raft_member *member_for(struct members *m, const char *addr)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->v[i].addr, addr) == 0)
			return &m->v[i];
	if (m->n >= DFSC_RAFT_MEMBERS_MAX)
		return NULL;
	struct dfs_raft_member *e = &m->v[m->n++];
	memset(e, 0, sizeof(*e));
	snprintf(e->addr, sizeof(e->addr), "%s", addr);
	snprintf(e->role, sizeof(e->role), "unreachable");
	e->lag = -1;
	return e;
}

static void ask_one(struct members *m, size_t i, int timeout_ms)
{
	Dfs__RaftStatusRequest req = DFS__RAFT_STATUS_REQUEST__INIT;
	ProtobufCMessage *pm;
	struct dfs_raft_member *e = &m->v[i];
	if (call_hostport(e->addr, timeout_ms, DFS_M_RAFT_STATUS, &req.base,
			  &dfs__raft_status__descriptor, &pm) < 0)
		return;
	Dfs__RaftStatus *s = (Dfs__RaftStatus *)pm;
	if (s->status == 0) {
		e->reachable = 1;
		e->id = s->id;
		snprintf(e->role, sizeof(e->role), "%s", s->role ? s->role : "?");
		e->term = s->term;
		e->leader_id = s->leader_id;
		e->commit_index = s->commit_index;
		e->applied_index = s->applied_index;
		e->last_index = s->last_index;
		e->snapshot_index = s->snapshot_index;
		e->from_effects = s->from_effects;
		e->unsynced_writes = s->unsynced_writes;
		for (size_t k = 0; k < s->n_peers; k++)
			if (s->peers[k]->addr && s->peers[k]->addr[0])
				member_for(m, s->peers[k]->addr);
		/* the leader's configuration wins; else the first one heard */
		if (s->role && (strcmp(s->role, "leader") == 0 || m->n_voters == 0)) {
			m->n_voters = 0;
			for (size_t k = 0; k < s->n_voters && k < DFSC_RAFT_MEMBERS_MAX; k++)
				m->voters[m->n_voters++] = s->voters[k];
		}
	}
	protobuf_c_message_free_unpacked(pm, NULL);
}

static int member_cmp(const void *a, const void *b)
{
	const struct dfs_raft_member *x = a, *y = b;
	if (x->reachable != y->reachable)
		return y->reachable - x->reachable;
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return strcmp(x->addr, y->addr);
}

int dfs_raft_status(dfs_client *c, struct dfs_raft_member **out, size_t *count)
{
	struct members m = {0};
	*out = NULL;
	*count = 0;
	m.v = calloc(DFSC_RAFT_MEMBERS_MAX, sizeof(*m.v));
	if (m.v == NULL)
		return -ENOMEM;
	int timeout = c->set.rpc_timeout_ms < DFSC_RAFT_STATUS_TIMEOUT_MS
			      ? c->set.rpc_timeout_ms : DFSC_RAFT_STATUS_TIMEOUT_MS;
	for (int i = 0; i < c->set.n_nn; i++) {
		char a[DFS_HOST_MAX + 8];
		snprintf(a, sizeof(a), "%s:%u", c->set.nn[i].host, c->set.nn[i].port);
		member_for(&m, a);
	}
	for (size_t i = 0; i < m.n; i++) /* m.n grows as peers are learnt */
		ask_one(&m, i, timeout);
	uint64_t top = 0;
	for (size_t i = 0; i < m.n; i++)
		if (m.v[i].reachable && m.v[i].commit_index > top)
			top = m.v[i].commit_index;
	for (size_t i = 0; i < m.n; i++) {
		struct dfs_raft_member *e = &m.v[i];
		if (e->reachable)
			e->lag = (int64_t)(top > e->applied_index ? top - e->applied_index : 0);
		for (size_t k = 0; k < m.n_voters; k++)
			if (e->id && e->id == m.voters[k])
				e->voter = 1;
	}
	qsort(m.v, m.n, sizeof(*m.v), member_cmp);
	*out = m.v;
	*count = m.n;
	return 0;
}

/* Sends an admin request to the leader, following NOT_LEADER, retrying
 * unreachable namenodes until the client's retry_total_ms. */
static int admin_call(dfs_client *c, Dfs__RaftAdminRequest *req)
{
	int64_t deadline = dfsc_now_ms() + (c->set.retry_total_ms > 0 ? c->set.retry_total_ms : 0);
	char next[DFS_HOST_MAX + 8] = "";
	int rc = -ECONNREFUSED, i = atomic_load(&c->leader);
	for (int tries = 0;; tries++) {
		char a[DFS_HOST_MAX + 8];
		if (next[0]) {
			snprintf(a, sizeof(a), "%s", next);
			next[0] = '\0';
		} else {
			i = (i + (tries ? 1 : 0)) % c->set.n_nn;
			snprintf(a, sizeof(a), "%s:%u", c->set.nn[i].host, c->set.nn[i].port);
		}
		ProtobufCMessage *pm;
		rc = call_hostport(a, c->set.rpc_timeout_ms, DFS_M_RAFT_ADMIN, &req->base,
				   &dfs__raft_admin_reply__descriptor, &pm);
		if (rc == 0) {
			Dfs__RaftAdminReply *r = (Dfs__RaftAdminReply *)pm;
			rc = r->status;
			if (rc == -DFS_ENOTLEADER && r->leader && r->leader[0])
				snprintf(next, sizeof(next), "%s", r->leader);
			if (r->message)
				dfsc_log(c, DFS_LOG_INFO, "raft admin at %s: %s", a, r->message);
			protobuf_c_message_free_unpacked(pm, NULL);
			if (rc != -DFS_ENOTLEADER && rc != -EAGAIN)
				return rc;
		}
		if (c->set.retry_total_ms < 0 && tries + 1 >= c->set.n_nn)
			return rc;
		if (dfsc_now_ms() >= deadline)
			return rc;
		if (!next[0] && (tries + 1) % c->set.n_nn == 0)
			usleep(100 * 1000);
	}
}

int dfs_raft_add(dfs_client *c, uint64_t id, const char *host_port)
{
	char host[DFS_HOST_MAX];
	uint16_t port;
	if (id == 0 || host_port == NULL ||
	    dfs_net_parse_hostport(host_port, host, sizeof(host), &port) < 0)
		return -EINVAL;
	Dfs__RaftAdminRequest req = DFS__RAFT_ADMIN_REQUEST__INIT;
	req.op = DFS__RAFT_ADMIN_REQUEST__OP__ADD;
	req.has_id = 1;
	req.id = id;
	req.addr = (char *)host_port;
	return admin_call(c, &req);
}

int dfs_raft_remove(dfs_client *c, uint64_t id)
{
	if (id == 0)
		return -EINVAL;
	Dfs__RaftAdminRequest req = DFS__RAFT_ADMIN_REQUEST__INIT;
	req.op = DFS__RAFT_ADMIN_REQUEST__OP__REMOVE;
	req.has_id = 1;
	req.id = id;
	return admin_call(c, &req);
}

int dfs_raft_transfer(dfs_client *c, uint64_t to_id)
{
	Dfs__RaftAdminRequest req = DFS__RAFT_ADMIN_REQUEST__INIT;
	req.op = DFS__RAFT_ADMIN_REQUEST__OP__TRANSFER;
	req.has_id = 1;
	req.id = to_id;
	return admin_call(c, &req);
}

int dfs_raft_drop_peers(dfs_client *c, const char *host_port, const uint64_t *drop, size_t n)
{
	Dfs__RaftAdminRequest req = DFS__RAFT_ADMIN_REQUEST__INIT;
	req.op = DFS__RAFT_ADMIN_REQUEST__OP__DROP_PEERS;
	req.n_drop = n;
	req.drop = (uint64_t *)drop;
	ProtobufCMessage *pm;
	int rc = call_hostport(host_port, c->set.rpc_timeout_ms, DFS_M_RAFT_ADMIN, &req.base,
			       &dfs__raft_admin_reply__descriptor, &pm);
	if (rc < 0)
		return rc;
	rc = ((Dfs__RaftAdminReply *)pm)->status;
	protobuf_c_message_free_unpacked(pm, NULL);
	return rc;
}
