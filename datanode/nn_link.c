/* nn_link.c: one thread per namenode: registration, heartbeats, block
 * reports, reconnection (see nn_link.h). Commands from heartbeat replies
 * are handed to commands.c. */
#include "datanode/nn_link.h"
#include "datanode/commands.h"
#include "datanode/xfer_server.h"
#include "datanode/volumes.h"
#include "common/errors.h"
#include "common/frame.h"
#include "common/log.h"
#include "common/proto/namenode.pb-c.h"
#include "common/clock.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Positive return of an RPC helper: the namenode asked us to register
 * again (it lost track of us). */
#define NN_REREGISTER 1

struct ref {
	uint64_t id, genstamp, length;
};

struct ref_vec {
	struct ref *v;
	size_t n, cap;
};

struct dn_nn_link {
	struct datanode *dn;
	char name[DFS_HOST_MAX + 8]; /* "host:port" for logs */
	char host[DFS_HOST_MAX];
	uint16_t port;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* CLOCK_MONOTONIC */
	int fd;              /* under lock for shutdown() by stop */
	uint64_t call_id;
	struct ref_vec received, deleted; /* under lock */
	int64_t first_queued_ms;          /* under lock: when received/deleted
					     last went from empty to not */
	struct ref_vec bad;               /* under lock: BAD_REPLICA to send */
	const char *bad_reason;           /* under lock */
	int need_full;                    /* under lock */
	int need_register;                /* under lock */
	int stop;                         /* under lock */
	int down_logged;
	int started;
};

struct dn_nn {
	struct dn_nn_link links[DN_NN_MAX];
	size_t n;
};

static void vec_push(struct ref_vec *v, const struct dn_replica_info *r)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 64;
		struct ref *p = realloc(v->v, cap * sizeof(*p));
		if (p == NULL)
			return; /* a full report will repair it */
		v->v = p;
		v->cap = cap;
	}
	v->v[v->n++] = (struct ref){ r->id, r->genstamp, r->length };
}

static void queue_report(struct datanode *dn, const struct dn_replica_info *r, int deleted)
{
	struct dn_nn *nn = dn->nn;
	for (size_t i = 0; nn != NULL && i < nn->n; i++) {
		struct dn_nn_link *l = &nn->links[i];
		pthread_mutex_lock(&l->lock);
		struct ref_vec *v = deleted ? &l->deleted : &l->received;
		/* Only the first report of a batch wakes the link, to wait until
		 * report_delay_ms from now; the rest ride along. A wakeup per
		 * replica and namenode was three thread switches per replica. */
		bool wake = l->received.n + l->deleted.n == 0;
		if (wake)
			l->first_queued_ms = dfs_mono_ms();
		if (l->received.n + l->deleted.n >= DN_NN_PENDING_MAX) {
			l->received.n = l->deleted.n = 0;
			l->need_full = 1;
			wake = true;
		} else {
			vec_push(v, r);
		}
		if (wake)
			pthread_cond_broadcast(&l->cond);
		pthread_mutex_unlock(&l->lock);
	}
}

void dn_nn_report_received(struct datanode *dn, const struct dn_replica_info *r)
{
	queue_report(dn, r, 0);
}

void dn_nn_report_deleted(struct datanode *dn, const struct dn_replica_info *r)
{
	queue_report(dn, r, 1);
}

void dn_nn_report_bad(struct datanode *dn, const struct dn_replica_info *r, const char *reason)
{
	struct dn_nn *nn = dn->nn;
	for (size_t i = 0; nn != NULL && i < nn->n; i++) {
		struct dn_nn_link *l = &nn->links[i];
		pthread_mutex_lock(&l->lock);
		if (l->bad.n < DN_NN_PENDING_MAX)
			vec_push(&l->bad, r);
		l->bad_reason = reason;
		pthread_cond_broadcast(&l->cond);
		pthread_mutex_unlock(&l->lock);
	}
}

/* ---- RPC ---- */

static void link_close(struct dn_nn_link *l)
{
	pthread_mutex_lock(&l->lock);
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	l->need_register = 1;
	pthread_mutex_unlock(&l->lock);
}

/* One request / reply. Returns 0 and *out (free with
 * protobuf_c_message_free_unpacked), or a negative code. */
static int rpc_any(struct dn_nn_link *l, uint32_t method, const ProtobufCMessage *msg,
		   const ProtobufCMessageDescriptor *d, ProtobufCMessage **out)
{
	struct dfs_frame f = { 0 };
	uint64_t call_id = ++l->call_id;
	int rc = dfs_frame_send(l->fd, method, call_id, msg, NULL, 0);
	while (rc == 0) {
		rc = dfs_frame_recv(l->fd, &f);
		if (rc == 0 && f.h.call_id == call_id)
			break;
	}
	if (rc == 0) {
		*out = dfs_frame_unpack(&f, d);
		if (*out == NULL)
			rc = -DFS_EPROTOCOL;
	}
	dfs_frame_release(&f);
	return rc;
}

static int rpc(struct dn_nn_link *l, uint32_t method, const ProtobufCMessage *msg, Dfs__DnReply **out)
{
	return rpc_any(l, method, msg, &dfs__dn_reply__descriptor, (ProtobufCMessage **)out);
}

static void fill_id(struct dn_nn_link *l, Dfs__DatanodeId *id)
{
	id->uuid = l->dn->store.uuid;
	id->host = l->dn->host;
	id->port = l->dn->port;
}

static int do_register(struct dn_nn_link *l)
{
	Dfs__DnRegister m = DFS__DN_REGISTER__INIT;
	Dfs__DatanodeId id = DFS__DATANODE_ID__INIT;
	Dfs__DnReply *reply;
	fill_id(l, &id);
	m.id = &id;
	dn_store_space(&l->dn->store, &m.capacity, &m.used, &m.remaining);
	int rc = rpc(l, DFS_M_DN_REGISTER, &m.base, &reply);
	if (rc < 0)
		return rc;
	rc = reply->status;
	if (rc == 0 && reply->cluster_id != NULL && reply->cluster_id[0] != '\0') {
		rc = dn_store_check_cluster(&l->dn->store, reply->cluster_id);
		if (rc == -EXDEV && !l->down_logged)
			DFS_ERR("namenode %s is of cluster %s, this datanode of %s: refusing it",
				l->name, reply->cluster_id, l->dn->store.cluster_id);
	}
	protobuf_c_message_free_unpacked(&reply->base, NULL);
	return rc;
}

/* Sends refs as a report (full or incremental); corrupt (may be NULL)
 * lists the replicas known bad (full reports). */
static int send_report(struct dn_nn_link *l, int full, struct ref_vec *recv, struct ref_vec *del,
		       struct ref_vec *corrupt)
{
	Dfs__DnBlockReport m = DFS__DN_BLOCK_REPORT__INIT;
	Dfs__DatanodeId id = DFS__DATANODE_ID__INIT;
	size_t n_bad = corrupt != NULL ? corrupt->n : 0;
	size_t n = recv->n + del->n + n_bad;
	Dfs__BlockRef *refs = malloc((n ? n : 1) * sizeof(*refs));
	Dfs__BlockRef **ptrs = malloc((n ? n : 1) * sizeof(*ptrs));
	int rc = refs == NULL || ptrs == NULL ? -ENOMEM : 0;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		const struct ref *r = i < recv->n		 ? &recv->v[i]
				      : i < recv->n + del->n ? &del->v[i - recv->n]
							     : &corrupt->v[i - recv->n - del->n];
		dfs__block_ref__init(&refs[i]);
		refs[i].block_id = r->id;
		refs[i].genstamp = r->genstamp;
		refs[i].length = r->length;
		ptrs[i] = &refs[i];
	}
	if (rc == 0) {
		fill_id(l, &id);
		m.id = &id;
		m.full = full;
		m.received = ptrs;
		m.n_received = recv->n;
		m.deleted = ptrs + recv->n;
		m.n_deleted = del->n;
		m.corrupt = ptrs + recv->n + del->n;
		m.n_corrupt = n_bad;
		Dfs__DnReply *reply;
		rc = rpc(l, DFS_M_DN_REPORT, &m.base, &reply);
		if (rc == 0) {
			rc = reply->status;
			for (size_t i = 0; rc == 0 && i < reply->n_commands; i++)
				if (reply->commands[i]->kind == DFS__DN_COMMAND__KIND__REREGISTER)
					rc = NN_REREGISTER;
			protobuf_c_message_free_unpacked(&reply->base, NULL);
		}
	}
	free(refs);
	free(ptrs);
	return rc;
}

struct full_vecs {
	struct ref_vec all, corrupt;
};

static void collect(void *arg, const struct dn_replica_info *r)
{
	struct full_vecs *v = arg;
	vec_push(&v->all, r);
	if (r->corrupt)
		vec_push(&v->corrupt, r);
}

static int full_report(struct dn_nn_link *l)
{
	struct full_vecs v = { 0 };
	struct ref_vec none = { 0 };
	pthread_mutex_lock(&l->lock);
	l->received.n = l->deleted.n = 0; /* covered by the full report */
	l->need_full = 0;
	pthread_mutex_unlock(&l->lock);
	dn_store_foreach(&l->dn->store, collect, &v);
	int rc = send_report(l, 1, &v.all, &none, &v.corrupt);
	DFS_DEBUG("full block report to %s: %zu replicas, %zu corrupt", l->name, v.all.n,
		  v.corrupt.n);
	free(v.all.v);
	free(v.corrupt.v);
	return rc;
}

static int incremental_report(struct dn_nn_link *l)
{
	struct ref_vec recv, del;
	pthread_mutex_lock(&l->lock);
	recv = l->received;
	del = l->deleted;
	memset(&l->received, 0, sizeof(l->received));
	memset(&l->deleted, 0, sizeof(l->deleted));
	pthread_mutex_unlock(&l->lock);
	int rc = recv.n + del.n > 0 ? send_report(l, 0, &recv, &del, NULL) : 0;
	free(recv.v);
	free(del.v);
	return rc;
}

/* Sends the queued BAD_REPLICA reports, once: a namenode that cannot take
 * them (not the leader, older version) learns them from the next full
 * report. Only transport errors are returned. */
static int bad_report(struct dn_nn_link *l)
{
	Dfs__BadReplicaReport m = DFS__BAD_REPLICA_REPORT__INIT;
	struct ref_vec bad;
	pthread_mutex_lock(&l->lock);
	bad = l->bad;
	const char *reason = l->bad_reason;
	memset(&l->bad, 0, sizeof(l->bad));
	pthread_mutex_unlock(&l->lock);
	if (bad.n == 0)
		return 0;
	Dfs__BlockRef *refs = calloc(bad.n, sizeof(*refs));
	Dfs__BlockRef **ptrs = calloc(bad.n, sizeof(*ptrs));
	char **uuids = calloc(bad.n, sizeof(*uuids));
	int rc = refs == NULL || ptrs == NULL || uuids == NULL ? -ENOMEM : 0;
	for (size_t i = 0; rc == 0 && i < bad.n; i++) {
		dfs__block_ref__init(&refs[i]);
		refs[i].block_id = bad.v[i].id;
		refs[i].genstamp = bad.v[i].genstamp;
		refs[i].length = bad.v[i].length;
		ptrs[i] = &refs[i];
		uuids[i] = l->dn->store.uuid;
	}
	if (rc == 0) {
		m.blocks = ptrs;
		m.n_blocks = bad.n;
		m.datanode_uuids = uuids;
		m.n_datanode_uuids = bad.n;
		m.reporter = l->dn->store.uuid;
		m.reason = (char *)(reason != NULL ? reason : "corrupt");
		Dfs__NsReply *reply;
		rc = rpc_any(l, DFS_M_BAD_REPLICA, &m.base, &dfs__ns_reply__descriptor,
			     (ProtobufCMessage **)&reply);
		if (rc == 0) {
			if (reply->status != 0 && reply->status != -DFS_ENOTLEADER)
				DFS_WARN("namenode %s: BAD_REPLICA for %zu replicas: %s", l->name,
					 bad.n, dfs_strerror(reply->status));
			else if (reply->status == 0)
				DFS_INFO("reported %zu corrupt replicas to namenode %s", bad.n,
					 l->name);
			protobuf_c_message_free_unpacked(&reply->base, NULL);
		}
	}
	free(refs);
	free(ptrs);
	free(uuids);
	free(bad.v);
	return rc == -ENOMEM ? 0 : rc;
}

static int heartbeat(struct dn_nn_link *l)
{
	Dfs__DnHeartbeat m = DFS__DN_HEARTBEAT__INIT;
	Dfs__DatanodeId id = DFS__DATANODE_ID__INIT;
	Dfs__DnReply *reply;
	fill_id(l, &id);
	m.id = &id;
	dn_store_space(&l->dn->store, &m.capacity, &m.used, &m.remaining);
	m.active_transfers = dn_xfer_active(l->dn);
	const char *failed[DN_DIRS_MAX];
	m.n_failed_dirs = dn_volumes_failed_dirs(l->dn, failed, DN_DIRS_MAX);
	m.failed_dirs = (char **)failed;
	m.has_volumes = 1;
	m.volumes = (uint32_t)(l->dn->store.n_dirs - m.n_failed_dirs);
	int rc = rpc(l, DFS_M_DN_HEARTBEAT, &m.base, &reply);
	if (rc < 0)
		return rc;
	rc = reply->status == -DFS_ENOTLEADER ? 0 : reply->status;
	for (size_t i = 0; rc == 0 && i < reply->n_commands; i++) {
		if (reply->commands[i]->kind == DFS__DN_COMMAND__KIND__REREGISTER) {
			DFS_INFO("namenode %s asks to re-register", l->name);
			rc = NN_REREGISTER;
		} else {
			dn_commands_execute(l->dn, reply->commands[i]);
		}
	}
	protobuf_c_message_free_unpacked(&reply->base, NULL);
	return rc;
}

/* ---- the link thread ---- */

static void stop_link(struct dn_nn_link *l);

/* Waits until deadline_ms (monotonic) or until woken (report queued,
 * stop). Returns 1 if stopping. */
static int wait_until(struct dn_nn_link *l, int64_t deadline_ms, int for_reports)
{
	pthread_mutex_lock(&l->lock);
	for (;;) {
		int64_t now = dfs_mono_ms(), until = deadline_ms;
		if (l->stop || now >= deadline_ms)
			break;
		if (for_reports && (l->bad.n > 0 || l->need_full))
			break;
		if (for_reports && l->received.n + l->deleted.n > 0) {
			/* what the next few ms add goes in the same report */
			int64_t due = l->first_queued_ms + l->dn->cfg.report_delay_ms;
			if (now >= due)
				break;
			if (due < until)
				until = due;
		}
		struct timespec ts = { .tv_sec = until / 1000,
				       .tv_nsec = (until % 1000) * 1000000L };
		pthread_cond_timedwait(&l->cond, &l->lock, &ts);
	}
	int stop = l->stop;
	pthread_mutex_unlock(&l->lock);
	return stop;
}

/* Connects and registers; returns 0 or a negative code (logged once). */
static int establish(struct dn_nn_link *l)
{
	int fd = dfs_net_connect(l->host, l->port, (int)l->dn->cfg.connect_timeout_ms);
	int rc = fd < 0 ? fd : 0;
	if (rc == 0) {
		dfs_net_set_timeouts(fd, DN_NN_RPC_TIMEOUT_MS);
		pthread_mutex_lock(&l->lock);
		l->fd = fd;
		pthread_mutex_unlock(&l->lock);
		rc = do_register(l);
	}
	if (rc == 0)
		rc = full_report(l);
	if (rc == NN_REREGISTER)
		rc = -EAGAIN;
	if (rc < 0) {
		if (!l->down_logged)
			dfs_log_err(DFS_LOG_WARN, rc, "namenode %s unavailable (retrying quietly)",
				    l->name);
		l->down_logged = 1;
		link_close(l);
		return rc;
	}
	pthread_mutex_lock(&l->lock);
	l->need_register = 0;
	pthread_mutex_unlock(&l->lock);
	l->down_logged = 0;
	DFS_NOTICE("registered with namenode %s as %s (%s:%u)", l->name, l->dn->store.uuid,
		   l->dn->host, l->dn->port);
	return 0;
}

/* Registered: heartbeats and reports until an error or stop. */
static void serve(struct dn_nn_link *l)
{
	int64_t next_hb = dfs_mono_ms(), next_full = dfs_mono_ms() + l->dn->cfg.block_report_ms;
	for (;;) {
		if (wait_until(l, next_hb, 1))
			return;
		pthread_mutex_lock(&l->lock);
		int full = l->need_full || l->need_register;
		pthread_mutex_unlock(&l->lock);
		int rc = 0;
		if (full || dfs_mono_ms() >= next_full) {
			rc = full_report(l);
			next_full = dfs_mono_ms() + l->dn->cfg.block_report_ms;
		}
		if (rc == 0)
			rc = incremental_report(l);
		if (rc == 0)
			rc = bad_report(l);
		if (rc == 0 && dfs_mono_ms() >= next_hb) {
			rc = heartbeat(l);
			next_hb = dfs_mono_ms() + l->dn->cfg.heartbeat_ms;
		}
		if (rc == NN_REREGISTER) {
			link_close(l);
			return;
		}
		if (rc < 0) {
			dfs_log_err(DFS_LOG_WARN, rc, "lost namenode %s", l->name);
			l->down_logged = 1;
			link_close(l);
			return;
		}
	}
}

static void *link_main(void *arg)
{
	struct dn_nn_link *l = arg;
	int64_t backoff = DN_NN_BACKOFF_MIN_MS;
	for (;;) {
		pthread_mutex_lock(&l->lock);
		int stop = l->stop;
		pthread_mutex_unlock(&l->lock);
		if (stop)
			break;
		if (establish(l) < 0) {
			if (wait_until(l, dfs_mono_ms() + backoff, 0))
				break;
			backoff = backoff * 2 > DN_NN_BACKOFF_MAX_MS ? DN_NN_BACKOFF_MAX_MS
								     : backoff * 2;
			continue;
		}
		backoff = DN_NN_BACKOFF_MIN_MS;
		serve(l);
	}
	link_close(l);
	return NULL;
}

static int link_init(struct datanode *dn, struct dn_nn_link *l, const char *hostport)
{
	memset(l, 0, sizeof(*l));
	l->dn = dn;
	l->fd = -1;
	l->need_register = 1;
	int rc = dfs_net_parse_hostport(hostport, l->host, sizeof(l->host), &l->port);
	if (rc < 0) {
		DFS_ERR("namenodes: bad address '%s'", hostport);
		return rc;
	}
	char name[sizeof(l->name)];
	snprintf(name, sizeof(name), "%s:%u", l->host, l->port);
	memcpy(l->name, name, sizeof(name));
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&l->cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&l->lock, NULL);
	return 0;
}

static int parse_namenodes(struct datanode *dn, struct dn_nn *nn)
{
	char *copy = strdup(dn->cfg.namenodes != NULL ? dn->cfg.namenodes : "");
	char *save = NULL;
	int rc = copy == NULL ? -ENOMEM : 0;
	for (char *t = copy ? strtok_r(copy, ", ", &save) : NULL; t != NULL && rc == 0;
	     t = strtok_r(NULL, ", ", &save)) {
		if (nn->n == DN_NN_MAX) {
			DFS_ERR("namenodes: more than %d", DN_NN_MAX);
			rc = -E2BIG;
			break;
		}
		rc = link_init(dn, &nn->links[nn->n], t);
		if (rc == 0)
			nn->n++;
	}
	free(copy);
	return rc;
}

int dn_nn_init(struct datanode *dn)
{
	struct dn_nn *nn = calloc(1, sizeof(*nn));
	if (nn == NULL)
		return -ENOMEM;
	int rc = parse_namenodes(dn, nn);
	if (rc < 0) {
		dn->nn = nn;
		dn_nn_free(dn);
		return rc;
	}
	if (nn->n == 0)
		DFS_WARN("no namenodes configured: serving data only");
	dn->nn = nn;
	return 0;
}

int dn_nn_start(struct datanode *dn)
{
	struct dn_nn *nn = dn->nn;
	for (size_t i = 0; i < nn->n; i++) {
		int rc = -pthread_create(&nn->links[i].thread, NULL, link_main, &nn->links[i]);
		if (rc < 0) {
			for (size_t k = 0; k < i; k++)
				stop_link(&nn->links[k]);
			return rc;
		}
		nn->links[i].started = 1;
	}
	return 0;
}

static void stop_link(struct dn_nn_link *l)
{
	pthread_mutex_lock(&l->lock);
	l->stop = 1;
	if (l->fd >= 0)
		shutdown(l->fd, SHUT_RDWR);
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->lock);
	pthread_join(l->thread, NULL);
	l->started = 0;
}

void dn_nn_stop(struct datanode *dn)
{
	struct dn_nn *nn = dn->nn;
	for (size_t i = 0; nn != NULL && i < nn->n; i++)
		if (nn->links[i].started)
			stop_link(&nn->links[i]);
}

void dn_nn_free(struct datanode *dn)
{
	struct dn_nn *nn = dn->nn;
	if (nn == NULL)
		return;
	for (size_t i = 0; i < nn->n; i++) {
		struct dn_nn_link *l = &nn->links[i];
		free(l->received.v);
		free(l->deleted.v);
		free(l->bad.v);
		pthread_mutex_destroy(&l->lock);
		pthread_cond_destroy(&l->cond);
	}
	dn->nn = NULL;
	free(nn);
}
