/* rpc_handlers.c: what the namenode does with each request frame:
 * namespace mutations go through nn_apply() (ns_apply plus the soft-state
 * follow-up: pipeline targets, freed blocks), reads through ns_read(), and
 * datanode registration / heartbeats / block reports update the datanode
 * manager and block map. Event-loop thread only. */
#include "namenode/heal.h"
#include "namenode/nn.h"
#include "namenode/raft_node.h"
#include "namenode/wire_check.h"

#include "common/daemon.h"
#include "common/errors.h"
#include "common/log.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t nn_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t nn_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t nn_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void release_freed(struct nn *nn)
{
	for (size_t i = 0; i < nn->ns->n_freed; i++)
		bm_free_block(&nn->dm, nn->ns->freed[i].block_id, nn->ns->freed[i].genstamp);
	ns_freed_clear(nn->ns);
}

int nn_choose_targets(struct nn *nn, const Dfs__Attr *file, const Dfs__NsRequest *req,
		      int *targets)
{
	unsigned want = file->replication ? file->replication : 1;
	return placement_choose(&nn->dm, want, req->exclude_nodes, req->n_exclude_nodes, NULL, 0,
				file->block_size, targets);
}

/* ADD_BLOCK recorded in the namespace (no Raft group: unit tests): targets
 * are chosen before the block exists, so a cluster without datanodes gets
 * -DFS_ENODATANODES and no dangling block. */
static int choose_targets(struct nn *nn, const Dfs__NsRequest *req, int *targets)
{
	Dfs__NsReply r = DFS__NS_REPLY__INIT;
	int rc = ns_read(nn->ns, DFS_M_GETATTR, req, &r);
	if (rc == 0)
		rc = nn_choose_targets(nn, r.attr, req, targets);
	ns_reply_clear(&r);
	return rc;
}

int nn_attach_targets(struct nn *nn, Dfs__LocatedBlock *lb, const int *t, int n, int64_t now)
{
	lb->locations = calloc((size_t)n, sizeof(*lb->locations));
	if (!lb->locations)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		bm_set_replica(&nn->dm, lb->block->block_id, t[i], lb->block->genstamp, 0, false);
		if (!(lb->locations[lb->n_locations++] = dnmgr_id(&nn->dm, t[i])))
			return -ENOMEM;
	}
	struct bm_block *b = bm_find(&nn->dm, lb->block->block_id);
	if (b)
		b->busy_until_ms = now + NN_BUSY_AFTER_ALLOC_MS;
	return 0;
}

static bool in_list(char *const *list, size_t n, const char *uuid)
{
	for (size_t i = 0; i < n; i++)
		if (list[i] && strcmp(list[i], uuid) == 0)
			return true;
	return false;
}

/* OPEN_BLOCK: the live good replicas at the old genstamp, minus the
 * client's exclude_nodes (pipeline recovery: the failed ones), are the
 * pipeline; they are expected at the new genstamp from now on and are the
 * reply's locations. The others stay at the old genstamp: stale. */
int nn_attach_replicas(struct nn *nn, Dfs__LocatedBlock *lb, uint64_t prev_gs, int64_t now,
		       const Dfs__NsRequest *req)
{
	struct bm_block *b = bm_find(&nn->dm, lb->block->block_id);
	if (!b)
		return 0;
	for (uint32_t i = 0; i < b->n; i++)
		if (b->r[i].genstamp == prev_gs && !b->r[i].corrupt &&
		    nn->dm.dns[b->r[i].dn].live &&
		    !in_list(req->exclude_nodes, req->n_exclude_nodes, nn->dm.dns[b->r[i].dn].uuid)) {
			b->r[i].genstamp = lb->block->genstamp;
			b->r[i].confirmed = false;
		}
	b->busy_until_ms = now + NN_BUSY_AFTER_ALLOC_MS;
	bm_touch(&nn->dm, b);
	return bm_locate(&nn->dm, lb->block->block_id, lb->block->genstamp, lb);
}

static void completed(struct nn *nn, const Dfs__NsRequest *req, int64_t now)
{
	for (size_t i = 0; i < req->n_blocks; i++) {
		struct bm_block *b = bm_find(&nn->dm, req->blocks[i]->block_id);
		if (b) {
			b->busy_until_ms = now + NN_BUSY_AFTER_COMPLETE_MS;
			bm_touch(&nn->dm, b); /* examined once the reports are in */
		}
	}
}

int nn_prepare(struct nn *nn, uint32_t method, Dfs__NsRequest *req, int *targets)
{
	if (method == DFS_M_CREATE || method == DFS_M_MKNOD) {
		if (!req->has_replication || !req->replication) {
			req->has_replication = true;
			req->replication = (uint32_t)nn->cfg.default_replication;
		}
		if (!req->has_block_size || !req->block_size) {
			req->has_block_size = true;
			req->block_size = nn->cfg.default_block_size;
		}
	}
	if (method == DFS_M_ADD_BLOCK)
		return choose_targets(nn, req, targets);
	return 0;
}

int nn_apply_cmd(struct nn *nn, const Dfs__NsCommand *cmd, uint64_t index,
		 Dfs__NsReply *reply, const int *targets, int nt, bool local)
{
	int64_t now = nn_now_ms();
	int rc = ns_apply(nn->ns, cmd, index, reply);
	nn->dirty = true;
	release_freed(nn);
	if (rc < 0 || !local)
		return rc;
	if (cmd->method == DFS_M_ADD_BLOCK)
		rc = nn_attach_targets(nn, reply->block, targets, nt, now);
	else if (cmd->method == DFS_M_OPEN_BLOCK)
		rc = nn_attach_replicas(nn, reply->block, nn->ns->last_prev_genstamp, now, cmd->req);
	else if (cmd->method == DFS_M_COMPLETE)
		completed(nn, cmd->req, now);
	else if (cmd->method == DFS_M_CREATE)
		nn_alloc_with_create(nn, cmd->req, reply);
	else if (cmd->method == DFS_M_SETREP)
		nn->dm.rescan = true; /* every block of the file may be short or over */
	return reply->status = rc;
}

int nn_apply_effects(struct nn *nn, const uint8_t *data, size_t len, uint64_t index)
{
	int rc = ns_apply_effects(nn->ns, data, len, index);
	if (rc == 0) {
		nn->dirty = true;
		release_freed(nn);
	}
	return rc;
}

int nn_apply(struct nn *nn, uint32_t method, Dfs__NsRequest *req, Dfs__NsReply *reply)
{
	int targets[NS_REPLICATION_MAX];
	int nt = nn_prepare(nn, method, req, targets);
	if (nt < 0)
		return reply->status = nt;
	Dfs__NsCommand cmd = DFS__NS_COMMAND__INIT;
	cmd.method = method;
	cmd.req = req;
	cmd.now_ns = nn_now_ns();
	return nn_apply_cmd(nn, &cmd, nn->ns->c.applied + 1, reply, targets, nt, true);
}

static int ns_locate(struct nn *nn, Dfs__NsReply *r)
{
	for (size_t i = 0; i < r->n_blocks; i++) {
		Dfs__LocatedBlock *lb = r->blocks[i];
		int rc = bm_locate(&nn->dm, lb->block->block_id, lb->block->genstamp, lb);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int nn_handle_ns(struct nn *nn, uint32_t method, Dfs__NsRequest *req, Dfs__NsReply *r)
{
	/* the user the namenode runs as is the superuser (as in HDFS) */
	if (req->has_caller_uid && req->caller_uid == nn->superuser_uid)
		req->caller_uid = 0;
	if (method == DFS_M_SAFEMODE || method == DFS_M_DECOMMISSION)
		return nn_handle_admin(nn, method, req, r);
	if (nn_safemode_refuses(nn, method))
		return r->status = -DFS_ESAFEMODE;
	if (nn_alloc_applies(nn, method, req))
		return nn_alloc_block(nn, method, req, r);
	if (ns_is_mutation(method) && method != NS_M_GC)
		return nn_apply(nn, method, req, r);
	int rc;
	switch (method) {
	case DFS_M_REPORT:
		rc = dnmgr_report(&nn->dm, nn_now_ms(), r);
		break;
	case DFS_M_GET_BLOCKS:
		rc = ns_read(nn->ns, method, req, r);
		if (rc == 0)
			rc = ns_locate(nn, r);
		break;
	case DFS_M_STATFS:
		rc = ns_read(nn->ns, method, req, r);
		if (rc == 0)
			dnmgr_statfs(&nn->dm, r->statfs);
		break;
	default:
		rc = ns_read(nn->ns, method, req, r);
		break;
	}
	if (rc < 0)
		ns_reply_clear(r);
	return r->status = rc;
}

static Dfs__DnCommand *reregister_cmd(void)
{
	Dfs__DnCommand *c = malloc(sizeof(*c));
	if (c) {
		dfs__dn_command__init(c);
		c->kind = DFS__DN_COMMAND__KIND__REREGISTER;
	}
	return c;
}

/* Unknown (or dead) datanode: tell it to register and report again. */
static int ask_reregister(Dfs__DnReply *r)
{
	r->commands = malloc(sizeof(*r->commands));
	if (!r->commands || !(r->commands[0] = reregister_cmd()))
		return -ENOMEM;
	r->n_commands = 1;
	return 0;
}

static int dn_report(struct nn *nn, int dn, const Dfs__DnBlockReport *rep)
{
	if (rep->full) {
		DFS_INFO("datanode %s: full block report, %zu replicas", nn->dm.dns[dn].uuid,
			 rep->n_received);
		return bm_full_report(&nn->dm, dn, rep->received, rep->n_received, rep->corrupt,
				      rep->n_corrupt);
	}
	int64_t now = nn_now_ms();
	for (size_t i = 0; i < rep->n_received; i++) {
		const Dfs__BlockRef *b = rep->received[i];
		int rc = bm_set_replica(&nn->dm, b->block_id, dn, b->genstamp, b->length, true);
		if (rc < 0)
			return rc;
		nn_alloc_reported(nn, b->block_id, now);
	}
	for (size_t i = 0; i < rep->n_deleted; i++)
		bm_replica_deleted(&nn->dm, rep->deleted[i]->block_id, dn,
				   rep->deleted[i]->genstamp);
	return 0;
}

int nn_handle_dn(struct nn *nn, uint32_t method, const uint8_t *p, size_t len,
		 Dfs__DnReply *r)
{
	int64_t now = nn_now_ms();
	ProtobufCMessage *m = NULL;
	int rc = 0, dn;
	if (method == DFS_M_DN_REGISTER) {
		Dfs__DnRegister *reg = dfs__dn_register__unpack(NULL, len, p);
		if (!reg)
			return -DFS_EPROTOCOL;
		m = &reg->base;
		rc = dnmgr_register(&nn->dm, reg->id, reg->capacity, reg->used, reg->remaining, now);
		if (nn->ns)
			r->cluster_id = strdup(nn->ns->cluster_id);
		else /* joining: no state yet, register again later */
			rc = -EAGAIN;
	} else if (method == DFS_M_DN_HEARTBEAT) {
		Dfs__DnHeartbeat *hb = dfs__dn_heartbeat__unpack(NULL, len, p);
		if (!hb)
			return -DFS_EPROTOCOL;
		m = &hb->base;
		dn = hb->id && hb->id->uuid ? dnmgr_find(&nn->dm, hb->id->uuid) : -1;
		if (dn < 0 || !nn->dm.dns[dn].live) {
			rc = ask_reregister(r);
		} else {
			struct datanode *d = &nn->dm.dns[dn];
			d->capacity = hb->capacity;
			d->used = hb->used;
			d->remaining = hb->remaining;
			d->active_transfers = hb->active_transfers;
			if (hb->n_failed_dirs != d->failed_dirs)
				DFS_WARN("datanode %s: %zu failed data dir(s)%s%s", d->uuid,
					 hb->n_failed_dirs, hb->n_failed_dirs ? ", e.g. " : "",
					 hb->n_failed_dirs ? hb->failed_dirs[0] : "");
			d->failed_dirs = (uint32_t)hb->n_failed_dirs;
			d->last_seen_ms = now;
			d->pending_bytes = 0;
			if (nn_is_leader(nn)) /* a standby sends no commands */
				rc = dnmgr_take_commands(&nn->dm, dn, r);
		}
	} else {
		Dfs__DnBlockReport *rep = dfs__dn_block_report__unpack(NULL, len, p);
		if (!rep)
			return -DFS_EPROTOCOL;
		m = &rep->base;
		dn = rep->id && rep->id->uuid ? dnmgr_find(&nn->dm, rep->id->uuid) : -1;
		if (dn < 0 || !nn->dm.dns[dn].live) {
			rc = ask_reregister(r);
		} else {
			nn->dm.dns[dn].last_seen_ms = now;
			rc = dn_report(nn, dn, rep);
		}
	}
	protobuf_c_message_free_unpacked(m, NULL);
	return r->status = rc < 0 ? rc : 0;
}

int nn_handle(void *arg, struct rpc_conn *c, const struct dfs_frame_header *h,
	      const uint8_t *proto, const uint8_t *data)
{
	struct nn *nn = arg;
	if (h->method >= DFS_M_RAFT_MSG && h->method <= DFS_M_RAFT_ADMIN)
		return nn_raft_handle(nn, c, h, proto);
	if (h->method >= DFS_M_DN_REGISTER && h->method <= DFS_M_DN_REPORT) {
		Dfs__DnReply r = DFS__DN_REPLY__INIT;
		int rc = nn_handle_dn(nn, h->method, proto, h->proto_len, &r);
		if (rc == -DFS_EPROTOCOL)
			return rc;
		rc = rpc_conn_reply(c, h->method, h->call_id, &r.base);
		for (size_t i = 0; i < r.n_commands; i++)
			dfs__dn_command__free_unpacked(r.commands[i], NULL);
		free(r.commands);
		free(r.cluster_id);
		return rc;
	}
	if (h->method == DFS_M_BAD_REPLICA) {
		Dfs__NsReply br = DFS__NS_REPLY__INIT;
		br.status = nn_handle_bad_replica(nn, proto, h->proto_len);
		if (br.status == -DFS_EPROTOCOL)
			return br.status;
		return rpc_conn_reply(c, h->method, h->call_id, &br.base);
	}
	Dfs__NsReply r = DFS__NS_REPLY__INIT;
	int rc = 1;
	Dfs__NsRequest *req = dfs__ns_request__unpack(NULL, h->proto_len, proto);
	if (!req)
		return -DFS_EPROTOCOL;
	if (h->method == DFS_M_NONE || h->method > DFS_M_NS_LAST)
		r.status = -EOPNOTSUPP;
	else if (nn_wire_check_names(proto, h->proto_len) < 0)
		r.status = -EINVAL;
	else if ((r.status = nn_admin_precheck(nn, h->method, req, &r)) < 0)
		; /* manual safe mode, unknown datanode (admin_handlers.c) */
	else if (nn->raft && (rc = nn_raft_submit(nn, c, h->method, h->call_id, req)) == 0)
		return 0; /* proposed or queued for a read index: req is taken */
	else if (nn->raft && rc < 0)
		nn_raft_error_reply(nn, rc, &r);
	else
		nn_handle_ns(nn, h->method, req, &r);
	DFS_DEBUG("%s path=%s ino=%llu parent=%llu name=%s index=%llu: %s",
		  dfs_method_name(h->method), req->path ? req->path : "-",
		  (unsigned long long)req->ino, (unsigned long long)req->parent,
		  req->name ? req->name : "-", (unsigned long long)req->block_index,
		  r.status ? dfs_strerror(r.status) : "ok");
	rc = rpc_conn_reply(c, h->method, h->call_id, &r.base);
	ns_reply_clear(&r);
	dfs__ns_request__free_unpacked(req, NULL);
	return rc;
}

void nn_commit(void *arg)
{
	struct nn *nn = arg;
	if (nn->raft) {
		nn_raft_commit(nn); /* WAL fsync, apply, replies */
		return;
	}
	if (!nn->dirty)
		return;
	if (ns_sync(nn->ns) < 0) {
		DFS_ERR("cannot make the namespace durable: stopping");
		dfs_daemon_request_stop();
	}
	nn->dirty = false;
}

int nn_tick(void *arg)
{
	struct nn *nn = arg;
	int64_t now = nn_now_ms();
	int raft_wait = nn->raft ? nn_raft_tick(nn, now) : INT32_MAX;
	if (nn->raft && nn->ns && ns_gc_pending(nn->ns) && nn_is_leader(nn)) {
		nn_raft_propose_gc(nn);
	} else if (!nn->raft && ns_gc_pending(nn->ns)) {
		Dfs__NsRequest req = DFS__NS_REQUEST__INIT;
		Dfs__NsReply r = DFS__NS_REPLY__INIT;
		nn_apply(nn, NS_M_GC, &req, &r);
		ns_reply_clear(&r);
	}
	if (now >= nn->next_check_ms) {
		dnmgr_check_dead(&nn->dm, now);
		if (nn_is_leader(nn) && nn->ns)
			replmon_run(nn, now);
		else
			bm_untouch_all(&nn->dm);
		nn->next_check_ms = now + nn->cfg.replication_check_ms;
	}
	if (!nn->raft && (nn->dirty || ns_gc_pending(nn->ns)))
		return 0;
	int64_t wait = nn->next_check_ms - now;
	if (wait > raft_wait)
		wait = raft_wait;
	return wait < 0 ? 0 : (int)wait;
}
