/* raft_node.c: the namenode's Raft member: bootstrap and restore, the
 * address table, proposals and their deferred replies, ReadIndex reads,
 * the ready loop (WAL fsync, send, apply) and the status / admin calls.
 * See raft_node.h for the model. Event-loop thread only. */
#include "namenode/raft_node.h"

#include "common/daemon.h"
#include "common/errors.h"
#include "common/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void raft_log(void *ctx, int level, const char *msg)
{
	(void)ctx;
	int l = level == RAFT_DEBUG ? DFS_LOG_DEBUG : level == RAFT_INFO ? DFS_LOG_INFO
		: level == RAFT_NOTICE ? DFS_LOG_NOTICE : DFS_LOG_WARN;
	dfs_log(l, "raft: %s", msg);
}

/* ---- address table ---- */

struct nn_raft_peer *nn_raft_peer(struct nn_raft *rn, uint64_t id)
{
	for (size_t i = 0; i < rn->n_peers; i++)
		if (rn->peers[i].id == id)
			return &rn->peers[i];
	return NULL;
}

static void peers_save(struct nn_raft *rn)
{
	char p[PATH_MAX + 16], tmp[PATH_MAX + 16];
	snprintf(p, sizeof(p), "%s/peers", rn->raft_dir);
	snprintf(tmp, sizeof(tmp), "%s/peers.tmp", rn->raft_dir);
	FILE *f = fopen(tmp, "w");
	if (!f)
		return;
	for (size_t i = 0; i < rn->n_peers; i++)
		fprintf(f, "%llu %s\n", (unsigned long long)rn->peers[i].id, rn->peers[i].addr);
	if (fflush(f) == 0 && fsync(fileno(f)) == 0 && fclose(f) == 0)
		rename(tmp, p);
	else
		fclose(f);
}

/* Adds or updates id -> addr; starts its sender. 0 or a negative errno. */
int nn_raft_peer_set(struct nn_raft *rn, uint64_t id, const char *addr)
{
	struct nn_raft_peer *p = nn_raft_peer(rn, id);
	if (p && strcmp(p->addr, addr) == 0)
		return 0;
	if (!p) {
		if (rn->n_peers >= NN_RAFT_PEERS_MAX)
			return -ENOSPC;
		p = &rn->peers[rn->n_peers++];
		memset(p, 0, sizeof(*p));
		p->id = id;
	}
	nn_raft_tx_stop(p);
	snprintf(p->addr, sizeof(p->addr), "%s", addr);
	DFS_NOTICE("raft: peer %llu is at %s", (unsigned long long)id, addr);
	if (rn->w)
		peers_save(rn);
	return id == rn->id ? 0 : nn_raft_tx_start(p);
}

/* "1=host:port,2=host:port" */
static int peers_parse(struct nn_raft *rn, const char *list)
{
	char *dup = strdup(list), *save = NULL;
	if (!dup)
		return -ENOMEM;
	int rc = 0;
	for (char *tok = strtok_r(dup, ", ", &save); tok && rc == 0;
	     tok = strtok_r(NULL, ", ", &save)) {
		char *eq = strchr(tok, '=');
		char *end;
		unsigned long long id = eq ? strtoull(tok, &end, 10) : 0;
		if (!eq || end != eq || id == 0) {
			DFS_ERR("peers: bad entry '%s' (want ID=HOST:PORT)", tok);
			rc = -EINVAL;
			break;
		}
		rc = nn_raft_peer_set(rn, id, eq + 1);
	}
	free(dup);
	return rc;
}

static void peers_load(struct nn_raft *rn)
{
	char p[PATH_MAX + 16], line[400];
	snprintf(p, sizeof(p), "%s/peers", rn->raft_dir);
	FILE *f = fopen(p, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long id;
		char addr[300];
		if (sscanf(line, "%llu %299s", &id, addr) == 2 && id && !nn_raft_peer(rn, id))
			nn_raft_peer_set(rn, id, addr);
	}
	fclose(f);
}

static int drop_parse(struct nn_raft *rn, const char *list)
{
	for (size_t i = 0; i < rn->n_peers; i++)
		rn->peers[i].drop = false;
	for (const char *s = list; s && *s;) {
		char *end;
		unsigned long long id = strtoull(s, &end, 10);
		if (end == s)
			return -EINVAL;
		struct nn_raft_peer *p = nn_raft_peer(rn, id);
		if (p)
			p->drop = true;
		s = end;
		while (*s == ',' || *s == ' ')
			s++;
	}
	return 0;
}

const char *nn_raft_leader_addr(const struct nn *nn)
{
	if (!nn->raft)
		return "";
	struct nn_raft_peer *p = nn_raft_peer(nn->raft, raft_leader(nn->raft->r));
	return p ? p->addr : "";
}

bool nn_is_leader(const struct nn *nn)
{
	return !nn->raft || raft_role(nn->raft->r) == RAFT_LEADER;
}

/* ---- bootstrap, open, close ---- */

static void paths(struct nn_raft *rn, const struct nn_config *cfg)
{
	snprintf(rn->name_dir, sizeof(rn->name_dir), "%s", cfg->name_dir);
	snprintf(rn->ns_dir, sizeof(rn->ns_dir), "%s/ns", cfg->name_dir);
	snprintf(rn->snap_dir, sizeof(rn->snap_dir), "%s/snap.tmp", cfg->name_dir);
	if (cfg->raft_dir && cfg->raft_dir[0])
		snprintf(rn->raft_dir, sizeof(rn->raft_dir), "%s", cfg->raft_dir);
	else
		snprintf(rn->raft_dir, sizeof(rn->raft_dir), "%s/raft", cfg->name_dir);
}

static void voters_of(const struct nn_raft *rn, struct raft_config *c)
{
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < rn->n_peers && c->n < RAFT_VOTERS_MAX; i++)
		c->voters[c->n++] = rn->peers[i].id;
	if (c->n == 0)
		c->voters[c->n++] = rn->id;
}

/* Writes snapshot meta {index, 1, conf} and hard state {1, 0}. */
static int wal_bootstrap(struct wal *w, uint64_t index, const struct raft_config *conf)
{
	struct raft_snapshot_meta s = {.index = index, .term = 1, .conf = *conf};
	struct raft_hard_state hs = {.term = 1, .vote = 0};
	int rc = wal_install_snapshot(w, &s);
	return rc < 0 ? rc : wal_set_hard_state(w, &hs);
}

static void rm_dir_files(const char *dir)
{
	char cmd[PATH_MAX + 32];
	/* only the WAL's own files: meta, meta.tmp, seg-*, peers */
	snprintf(cmd, sizeof(cmd), "%s/meta", dir);
	unlink(cmd);
	snprintf(cmd, sizeof(cmd), "%s/peers", dir);
	unlink(cmd);
	struct wal *w;
	struct wal_recovered rec;
	if (wal_open(dir, NULL, &w, &rec) == 0) { /* an empty meta: drop segments */
		struct raft_snapshot_meta z = {0};
		wal_install_snapshot(w, &z);
		wal_recovered_free(&rec);
		wal_close(w);
	}
}

int nn_raft_format(struct nn *nn)
{
	struct nn_raft rn;
	memset(&rn, 0, sizeof(rn));
	rn.id = (uint64_t)nn->cfg.node_id;
	paths(&rn, &nn->cfg);
	mkdir(rn.raft_dir, 0700);
	if (nn->force)
		rm_dir_files(rn.raft_dir);
	int rc = peers_parse(&rn, nn->cfg.peers);
	for (size_t i = 0; i < rn.n_peers; i++)
		nn_raft_tx_stop(&rn.peers[i]);
	if (rc < 0)
		return rc;
	struct wal *w;
	struct wal_recovered rec;
	if ((rc = wal_open(rn.raft_dir, NULL, &w, &rec)) < 0) {
		dfs_log_err(DFS_LOG_ERR, rc, "cannot open the WAL in %s", rn.raft_dir);
		return rc;
	}
	if (rec.snap.index || rec.n || rec.hs.term) {
		DFS_ERR("%s already holds a Raft log: use --format --force to wipe it", rn.raft_dir);
		rc = -EEXIST;
	}
	struct raft_config conf;
	voters_of(&rn, &conf);
	if (rc == 0)
		rc = wal_bootstrap(w, 1, &conf);
	wal_recovered_free(&rec);
	wal_close(w);
	rn.w = (struct wal *)1; /* peers_save: the directory exists */
	peers_save(&rn);
	if (rc == 0)
		DFS_NOTICE("raft: bootstrapped group of %u voter(s) in %s", conf.n, rn.raft_dir);
	return rc;
}

/* Decides what the recovered WAL means for this node (see raft_node.h). */
static int settle_state(struct nn *nn, struct nn_raft *rn, struct wal_recovered *rec)
{
	bool empty = !rec->snap.index && !rec->n && !rec->hs.term;
	if (nn->ns && empty) {
		if (nn->cfg.peers[0]) {
			DFS_ERR("%s holds a namespace but no Raft state: format one node "
				"with --format, start the others empty with --join", rn->name_dir);
			return -EINVAL;
		}
		struct raft_config conf;
		voters_of(rn, &conf);
		uint64_t at = nn->ns->c.applied > 1 ? nn->ns->c.applied : 1;
		int rc = wal_bootstrap(rn->w, at, &conf);
		if (rc < 0)
			return rc;
		rec->snap = (struct raft_snapshot_meta){.index = at, .term = 1, .conf = conf};
		rec->hs = (struct raft_hard_state){.term = 1};
		DFS_NOTICE("raft: single-node group created at index %llu", (unsigned long long)at);
		return 0;
	}
	if (!nn->ns) {
		if (!empty && (rec->snap.index || rec->n)) {
			/* a state machine lost half-way: start over, keep term+vote */
			struct raft_snapshot_meta z = {0};
			int rc = wal_install_snapshot(rn->w, &z);
			if (rc < 0)
				return rc;
			free(rec->entries);
			rec->entries = NULL;
			rec->n = 0;
			memset(&rec->snap, 0, sizeof(rec->snap));
		}
		rn->joining = true;
		DFS_NOTICE("raft: node %llu joining: waiting for the leader's snapshot",
			   (unsigned long long)rn->id);
	}
	return 0;
}

int nn_raft_open(struct nn *nn)
{
	struct nn_raft *rn = calloc(1, sizeof(*rn));
	if (!rn)
		return -ENOMEM;
	rn->id = (uint64_t)nn->cfg.node_id;
	paths(rn, &nn->cfg);
	rn->tick_ms = nn->cfg.raft_tick_ms;
	rn->election_ticks = (unsigned)nn->cfg.raft_election_ticks;
	rn->snapshot_entries = (uint64_t)nn->cfg.snapshot_entries;
	nn->raft = rn;
	mkdir(rn->raft_dir, 0700);
	int rc = peers_parse(rn, nn->cfg.peers);
	if (rc == 0 && !nn_raft_peer(rn, rn->id) && nn->cfg.peers[0]) {
		DFS_ERR("peers does not list node_id %lld", (long long)nn->cfg.node_id);
		rc = -EINVAL;
	}
	if (rc < 0)
		goto err;
	peers_load(rn);
	drop_parse(rn, nn->cfg.raft_drop_peers);
	struct wal_recovered rec;
	if ((rc = wal_open(rn->raft_dir, NULL, &rn->w, &rec)) < 0) {
		dfs_log_err(DFS_LOG_ERR, rc, "cannot open the WAL in %s", rn->raft_dir);
		goto err;
	}
	if (rec.dropped_bytes)
		DFS_WARN("raft: WAL had a torn tail of %llu bytes: cut off",
			 (unsigned long long)rec.dropped_bytes);
	peers_save(rn);
	if ((rc = settle_state(nn, rn, &rec)) < 0) {
		wal_recovered_free(&rec);
		goto err;
	}
	struct raft_options o;
	raft_options_default(&o, rn->id, (uint64_t)nn_now_ns() ^ rn->id);
	o.election_ticks = rn->election_ticks;
	o.heartbeat_ticks = (unsigned)nn->cfg.raft_heartbeat_ticks;
	o.lease_reads = nn->cfg.raft_lease_reads != 0;
	o.log_fn = raft_log;
	rn->r = raft_new(&o);
	rc = rn->r ? raft_restore(rn->r, &rec.snap, &rec.hs, rec.entries, rec.n) : -ENOMEM;
	rn->applied = rec.snap.index;
	DFS_NOTICE("raft: node %llu restored: term %llu, snapshot %llu, %zu log entries, %u voter(s)",
		   (unsigned long long)rn->id, (unsigned long long)rec.hs.term,
		   (unsigned long long)rec.snap.index, rec.n, raft_config_of(rn->r)->n);
	wal_recovered_free(&rec);
	if (rc < 0)
		goto err;
	rn->last_conf = *raft_config_of(rn->r);
	const struct raft_config *c = raft_config_of(rn->r);
	if (c->n == 1 && c->voters[0] == rn->id) /* alone: lead at once */
		for (unsigned i = 0; i < 2 * rn->election_ticks + 2; i++)
			raft_tick(rn->r);
	rn->next_tick_ms = nn_now_ms() + rn->tick_ms;
	if ((rc = wal_syncer_start(&rn->syncer)) < 0) {
		dfs_log_err(DFS_LOG_ERR, rc, "raft: cannot start the WAL syncer thread");
		goto err;
	}
	return 0;
err:
	nn_raft_close(nn);
	return rc;
}

int nn_raft_wake_fd(const struct nn *nn)
{
	return nn->raft && nn->raft->syncer ? wal_syncer_fd(nn->raft->syncer) : -1;
}

static void fail_pending(struct nn_raft *rn, struct nn_raft_pending *p, int status);

int nn_raft_fatal(struct nn_raft *rn, int rc, const char *what)
{
	dfs_log_err(DFS_LOG_ERR, rc, "raft: cannot %s: stopping", what);
	rn->fatal = true;
	dfs_daemon_request_stop();
	return rc;
}

void nn_raft_close(struct nn *nn)
{
	struct nn_raft *rn = nn->raft;
	if (!rn)
		return;
	for (size_t i = 0; i < rn->n_peers; i++)
		nn_raft_tx_stop(&rn->peers[i]);
	for (size_t i = 0; i < NN_RAFT_PEERS_MAX; i++)
		nn_raft_snap_stop(rn, i);
	nn_raft_snap_in_abort(rn);
	wal_syncer_stop(rn->syncer);
	while (rn->n_pend) {
		fail_pending(rn, &rn->pend[rn->pend_head], -DFS_ENOTLEADER);
		rn->pend_head = (rn->pend_head + 1) % rn->cap_pend;
		rn->n_pend--;
	}
	free(rn->pend);
	for (size_t i = 0; i < rn->n_reads; i++) {
		rpc_conn_release(rn->reads[i].c);
		dfs__ns_request__free_unpacked(rn->reads[i].req, NULL);
	}
	free(rn->reads);
	nn_raft_fx_clear(rn);
	if (rn->w)
		wal_close(rn->w);
	raft_free(rn->r);
	free(rn);
	nn->raft = NULL;
}

/* ---- proposals and their replies ---- */

static void not_leader_reply(struct nn_raft *rn, Dfs__NsReply *r)
{
	r->status = -DFS_ENOTLEADER;
	struct nn_raft_peer *p = nn_raft_peer(rn, raft_leader(rn->r));
	if (p && raft_leader(rn->r) != rn->id)
		r->leader = strdup(p->addr);
}

void nn_raft_error_reply(struct nn *nn, int status, Dfs__NsReply *r)
{
	ns_reply_clear(r);
	if (status == -DFS_ENOTLEADER)
		not_leader_reply(nn->raft, r);
	r->status = status;
}

static void fail_pending(struct nn_raft *rn, struct nn_raft_pending *p, int status)
{
	if (p->method == DFS_M_RAFT_ADMIN) {
		Dfs__RaftAdminReply a = DFS__RAFT_ADMIN_REPLY__INIT;
		a.status = status;
		rpc_conn_reply(p->c, p->method, p->call_id, &a.base);
	} else if (p->c) {
		Dfs__NsReply r = DFS__NS_REPLY__INIT;
		if (status == -DFS_ENOTLEADER)
			not_leader_reply(rn, &r);
		r.status = status;
		rpc_conn_reply(p->c, p->method, p->call_id, &r.base);
		ns_reply_clear(&r);
	}
	if (p->c)
		rpc_conn_release(p->c);
	p->c = NULL;
}

static struct nn_raft_pending *pend_at(struct nn_raft *rn, size_t k)
{
	return &rn->pend[(rn->pend_head + k) % rn->cap_pend];
}

static int pend_grow(struct nn_raft *rn)
{
	size_t cap = rn->cap_pend ? 2 * rn->cap_pend : 64;
	if (cap > NN_RAFT_PENDING_MAX)
		return -EAGAIN;
	struct nn_raft_pending *n = calloc(cap, sizeof(*n));
	if (!n)
		return -ENOMEM;
	for (size_t k = 0; k < rn->n_pend; k++)
		n[k] = *pend_at(rn, k);
	free(rn->pend);
	rn->pend = n;
	rn->pend_head = 0;
	rn->cap_pend = cap;
	return 0;
}

/* Records that the reply for a proposal at index is owed to c. */
static int pend_push(struct nn_raft *rn, const struct nn_raft_pending *p)
{
	/* an index proposed again: the older proposal was truncated away */
	while (rn->n_pend && pend_at(rn, rn->n_pend - 1)->index >= p->index) {
		fail_pending(rn, pend_at(rn, rn->n_pend - 1), -DFS_ENOTLEADER);
		rn->n_pend--;
	}
	if (rn->n_pend == rn->cap_pend) {
		int rc = pend_grow(rn);
		if (rc < 0)
			return rc;
	}
	*pend_at(rn, rn->n_pend++) = *p;
	if (p->c)
		rpc_conn_hold(p->c);
	return 0;
}

/* The pending proposal for entry e, if this node proposed it (popped;
 * earlier ones that lost their slot are failed). NULL otherwise. */
static bool pend_take(struct nn_raft *rn, const struct raft_entry *e, struct nn_raft_pending *out)
{
	while (rn->n_pend && rn->pend[rn->pend_head].index <= e->index) {
		struct nn_raft_pending *p = &rn->pend[rn->pend_head];
		rn->pend_head = (rn->pend_head + 1) % rn->cap_pend;
		rn->n_pend--;
		if (p->index == e->index && p->term == e->term) {
			*out = *p;
			return true;
		}
		fail_pending(rn, p, -DFS_ENOTLEADER);
	}
	return false;
}

static int propose_cmd(struct nn_raft *rn, const Dfs__NsCommand *cmd, uint64_t *index)
{
	size_t len = 1 + dfs__ns_command__get_packed_size(cmd);
	uint8_t *buf = malloc(len);
	if (!buf)
		return -ENOMEM;
	buf[0] = NN_ENTRY_CMD;
	dfs__ns_command__pack(cmd, buf + 1);
	raft_index idx = 0;
	int rc = raft_propose(rn->r, buf, len, &idx);
	free(buf);
	if (rc == -ENOMEM)
		return rc;
	if (rc < 0)
		return -DFS_ENOTLEADER;
	*index = idx;
	return 0;
}

static int submit_mutation(struct nn *nn, struct rpc_conn *c, uint32_t method,
			   uint64_t call_id, Dfs__NsRequest *req)
{
	struct nn_raft *rn = nn->raft;
	struct nn_raft_pending p = {.c = c, .call_id = call_id, .method = method};
	if (!nn->ns || raft_role(rn->r) != RAFT_LEADER)
		return -DFS_ENOTLEADER;
	if (rn->n_pend >= NN_RAFT_PENDING_MAX)
		return -EAGAIN;
	int nt = nn_prepare(nn, method, req, p.targets);
	if (nt < 0)
		return nt;
	p.nt = nt;
	Dfs__NsCommand cmd = DFS__NS_COMMAND__INIT;
	cmd.method = method;
	cmd.req = req;
	cmd.now_ns = nn_now_ns();
	int rc = propose_cmd(rn, &cmd, &p.index);
	if (rc < 0)
		return rc;
	p.term = raft_term_of(rn->r);
	if ((rc = pend_push(rn, &p)) < 0)
		return rc; /* it will apply; the client retries and hits the cache */
	dfs__ns_request__free_unpacked(req, NULL);
	return 0;
}

static int submit_read(struct nn *nn, struct rpc_conn *c, uint32_t method, uint64_t call_id,
		       Dfs__NsRequest *req)
{
	struct nn_raft *rn = nn->raft;
	if (method == DFS_M_PING || method == DFS_M_REPORT)
		return 1; /* soft state or liveness: any member answers */
	if (!nn->ns || raft_role(rn->r) != RAFT_LEADER)
		return -DFS_ENOTLEADER;
	if (raft_config_of(rn->r)->n == 1)
		return 1; /* alone: nobody else can lead, every commit is applied */
	if (rn->n_reads >= NN_RAFT_READS_MAX)
		return -EAGAIN;
	if (rn->n_reads == rn->cap_reads) {
		size_t cap = rn->cap_reads ? 2 * rn->cap_reads : 64;
		struct nn_raft_read *n = realloc(rn->reads, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		rn->reads = n;
		rn->cap_reads = cap;
	}
	if (!rn->batch_open)
		rn->read_batch++;
	rn->batch_open = true;
	rn->reads[rn->n_reads++] = (struct nn_raft_read){
		.batch = rn->read_batch, .since_ms = nn_now_ms(), .c = c,
		.call_id = call_id, .method = method, .req = req};
	rpc_conn_hold(c);
	return 0;
}

uint64_t nn_raft_term(const struct nn *nn)
{
	return raft_term_of(nn->raft->r);
}

int nn_raft_submit(struct nn *nn, struct rpc_conn *c, uint32_t method, uint64_t call_id,
		   Dfs__NsRequest *req)
{
	if (nn->raft->fatal)
		return -EIO;
	if (nn_alloc_applies(nn, method, req)) /* block_alloc.c: no log entry */
		return nn->ns && raft_role(nn->raft->r) == RAFT_LEADER ? 1 : -DFS_ENOTLEADER;
	if (ns_is_mutation(method) && method != NS_M_GC)
		return submit_mutation(nn, c, method, call_id, req);
	return submit_read(nn, c, method, call_id, req);
}

void nn_raft_propose_gc(struct nn *nn)
{
	struct nn_raft *rn = nn->raft;
	if (rn->gc_inflight && rn->gc_index > rn->applied)
		return;
	Dfs__NsRequest req = DFS__NS_REQUEST__INIT;
	Dfs__NsCommand cmd = DFS__NS_COMMAND__INIT;
	cmd.method = NS_M_GC;
	cmd.req = &req;
	cmd.now_ns = nn_now_ns();
	rn->gc_inflight = propose_cmd(rn, &cmd, &rn->gc_index) == 0;
}

/* ---- reads ---- */

static void serve_read(struct nn *nn, struct nn_raft_read *rd, int status)
{
	Dfs__NsReply r = DFS__NS_REPLY__INIT;
	if (status == 0)
		nn_handle_ns(nn, rd->method, rd->req, &r);
	else
		nn_raft_error_reply(nn, status, &r);
	rpc_conn_reply(rd->c, rd->method, rd->call_id, &r.base);
	ns_reply_clear(&r);
	rpc_conn_release(rd->c);
	dfs__ns_request__free_unpacked(rd->req, NULL);
}

/* Serves reads whose read index is applied, fails stale ones. */
static void reads_progress(struct nn *nn, int64_t now)
{
	struct nn_raft *rn = nn->raft;
	int64_t stale_ms = 2 * (int64_t)rn->election_ticks * rn->tick_ms;
	size_t k = 0;
	for (size_t i = 0; i < rn->n_reads; i++) {
		struct nn_raft_read *rd = &rn->reads[i];
		if (rd->read_index && rd->read_index <= rn->applied && nn->ns)
			serve_read(nn, rd, 0);
		else if (now - rd->since_ms > stale_ms)
			serve_read(nn, rd, -DFS_ENOTLEADER);
		else
			rn->reads[k++] = *rd;
	}
	rn->n_reads = k;
}

static void reads_confirm(struct nn_raft *rn, uint64_t batch, uint64_t index)
{
	for (size_t i = 0; i < rn->n_reads; i++)
		if (rn->reads[i].batch == batch)
			rn->reads[i].read_index = index ? index : 1;
}

static void reads_fail_batch(struct nn *nn, uint64_t batch)
{
	struct nn_raft *rn = nn->raft;
	size_t k = 0;
	for (size_t i = 0; i < rn->n_reads; i++) {
		if (rn->reads[i].batch == batch)
			serve_read(nn, &rn->reads[i], -DFS_ENOTLEADER);
		else
			rn->reads[k++] = rn->reads[i];
	}
	rn->n_reads = k;
}

/* One read-index request for every read queued this turn. */
static void reads_request(struct nn *nn)
{
	struct nn_raft *rn = nn->raft;
	if (!rn->batch_open)
		return;
	if (nn_now_ms() - rn->next_tick_ms > rn->tick_ms)
		raft_lease_drop(rn->r); /* ticks are behind: the lease may be over */
	int rc = raft_read_index(rn->r, rn->read_batch);
	if (rc == -RAFT_ENOTREADY)
		return; /* new leader: retried next turn */
	rn->batch_open = false;
	if (rc < 0)
		reads_fail_batch(nn, rn->read_batch);
}

/* ---- apply ---- */

/* A follower's entry from the leader's effects of it: true if applied. */
static bool apply_from_effects(struct nn *nn, const struct raft_entry *e)
{
	struct nn_raft *rn = nn->raft;
	if (!nn->ns || raft_role(rn->r) == RAFT_LEADER || e->index <= nn->ns->c.applied)
		return false;
	const struct nn_raft_fx *fx = nn_raft_fx_for(rn, e->index, e->term);
	if (!fx || nn_apply_effects(nn, fx->data, fx->len, e->index) < 0)
		return false; /* run the command instead */
	rn->fx_applied++;
	return true;
}

/* Writes the entries applied from effects so far (ns_effects_flush): before
 * anything reads LevelDB, and at the end of each ready. A namenode that
 * cannot write its state stops; its WAL replays the entries on restart. */
static int flush_effects(struct nn *nn)
{
	int rc = nn->ns ? ns_effects_flush(nn->ns) : 0;
	return rc < 0 ? nn_raft_fatal(nn->raft, rc, "write applied entries to the namespace") : 0;
}

static void apply_cmd_entry(struct nn *nn, const struct raft_entry *e)
{
	struct nn_raft *rn = nn->raft;
	struct nn_raft_pending p;
	bool mine = pend_take(rn, e, &p);
	if (!mine && apply_from_effects(nn, e))
		return;
	if (flush_effects(nn) < 0) {
		if (mine)
			fail_pending(rn, &p, -EIO);
		return;
	}
	const uint8_t *d = e->data.base;
	Dfs__NsCommand *cmd = e->data.len > 1 && d[0] == NN_ENTRY_CMD
				      ? dfs__ns_command__unpack(NULL, e->data.len - 1, d + 1) : NULL;
	if (!cmd || !nn->ns) {
		DFS_ERR("raft: entry %llu cannot be applied (%s)", (unsigned long long)e->index,
			cmd ? "no namespace" : "undecodable");
		if (mine)
			fail_pending(rn, &p, -EIO);
		goto out;
	}
	if (cmd->method == NS_M_RAFT_PEER && cmd->req && cmd->req->target)
		nn_raft_peer_set(rn, cmd->req->ino, cmd->req->target);
	if (e->index <= nn->ns->c.applied) { /* already in LevelDB (replay) */
		if (mine)
			fail_pending(rn, &p, -DFS_ENOTLEADER);
		goto out;
	}
	Dfs__NsReply r = DFS__NS_REPLY__INIT;
	/* a leader keeps what the command wrote, for its followers */
	bool keep = raft_role(rn->r) == RAFT_LEADER && rn->n_peers > 1 &&
		    cmd->method != NS_M_RAFT_PEER;
	if (keep)
		ns_effects_begin(nn->ns);
	nn_apply_cmd(nn, cmd, e->index, &r, p.targets, mine ? p.nt : 0, mine);
	const uint8_t *fx;
	size_t fx_len;
	if (keep && ns_effects_end(nn->ns, &fx, &fx_len) == 0)
		nn_raft_fx_keep(rn, e->index, e->term, fx, fx_len);
	if (cmd->method == NS_M_GC && e->index == rn->gc_index)
		rn->gc_inflight = false;
	if (mine && p.c) {
		rpc_conn_reply(p.c, p.method, p.call_id, &r.base);
		rpc_conn_release(p.c);
	}
	ns_reply_clear(&r);
out:
	if (cmd)
		dfs__ns_command__free_unpacked(cmd, NULL);
}

static void apply_entry(struct nn *nn, const struct raft_entry *e)
{
	struct nn_raft *rn = nn->raft;
	if (e->type == RAFT_ENTRY_NORMAL) {
		apply_cmd_entry(nn, e);
	} else {
		struct nn_raft_pending p;
		if (pend_take(rn, e, &p))
			fail_pending(rn, &p, 0); /* an admin change, now committed */
		if (e->type == RAFT_ENTRY_CONFIG) {
			struct raft_config c;
			if (raft_config_decode(e->data.base, e->data.len, &c) == 0) {
				char b[256] = "";
				for (uint32_t i = 0; i < c.n; i++)
					snprintf(b + strlen(b), sizeof(b) - strlen(b), "%s%llu",
						 i ? "," : "", (unsigned long long)c.voters[i]);
				DFS_NOTICE("raft: membership change committed at %llu: voters %s",
					   (unsigned long long)e->index, b);
			}
		}
	}
	rn->applied = e->index;
}

/* ---- the ready loop ---- */

static void send_msg(struct nn *nn, const struct raft_msg *m)
{
	struct nn_raft *rn = nn->raft;
	if (m->type == RAFT_MSG_SNAPSHOT) {
		nn_raft_snap_start(nn, m);
		return;
	}
	struct nn_raft_peer *p = nn_raft_peer(rn, m->to);
	if (!p || !p->tx)
		return;
	Dfs__RaftMsg pb;
	if (nn_raft_msg_to_pb(m, &pb) == 0) {
		if (raft_role(rn->r) == RAFT_LEADER &&
		    (m->type == RAFT_MSG_APPEND || m->type == RAFT_MSG_HEARTBEAT)) {
			/* Followers learn an entry is committed once its
			 * effects can go with the news: an append that leaves
			 * before this ready applies its newly committed
			 * entries says the last applied index instead (any
			 * index up to the commit index is correct to send). */
			if (pb.commit > rn->applied)
				pb.commit = rn->applied;
			nn_raft_fx_attach(rn, p, &pb);
		}
		nn_raft_tx_send(p, DFS_M_RAFT_MSG, &pb.base);
		nn_raft_fx_sent(&pb);
	}
	nn_raft_msg_pb_free(&pb);
}

static void log_changes(struct nn_raft *rn)
{
	int role = raft_role(rn->r);
	uint64_t term = raft_term_of(rn->r), leader = raft_leader(rn->r);
	if (role != rn->last_role || term != rn->last_term || leader != rn->last_leader) {
		struct nn_raft_peer *p = nn_raft_peer(rn, leader);
		DFS_NOTICE("raft: node %llu is %s in term %llu (leader: %llu%s%s)",
			   (unsigned long long)rn->id, raft_role_name(role),
			   (unsigned long long)term, (unsigned long long)leader,
			   p ? " at " : "", p ? p->addr : "");
		rn->last_role = role;
		rn->last_term = term;
		rn->last_leader = leader;
	}
	const struct raft_config *c = raft_config_of(rn->r);
	if (memcmp(c, &rn->last_conf, sizeof(*c)) != 0) {
		char b[256] = "";
		for (uint32_t i = 0; i < c->n; i++)
			snprintf(b + strlen(b), sizeof(b) - strlen(b), "%s%llu", i ? "," : "",
				 (unsigned long long)c->voters[i]);
		DFS_NOTICE("raft: configuration now: voters %s", b);
		rn->last_conf = *c;
	}
}

/* A leader's AppendEntries and heartbeats may leave before its own new
 * entries are durable (Raft thesis 10.2.1), so that the followers' fsync
 * runs while the leader's does instead of after it. Safe with this core:
 * the leader counts its own copy only at its stable mark (set in
 * raft_advance, after the WAL fsync below), followers ack only what they
 * made durable, and an entry is applied (and answered) only once durable
 * here too. A ready that changes term or vote, or installs a snapshot,
 * keeps the plain order: everything durable before anything is sent. */
static bool send_before_sync(bool leader, const struct raft_ready *rd, const struct raft_msg *m)
{
	return leader && !rd->hs_changed && !rd->snapshot &&
	       (m->type == RAFT_MSG_APPEND || m->type == RAFT_MSG_HEARTBEAT);
}

/* How a ready's entries become durable on the leader. */
enum wal_mode {
	WAL_SYNC_HERE, /* wal_save_ready: fdatasync in the loop, raft_advance */
	WAL_SYNCER,    /* write, the syncer thread syncs, raft_advance_unsynced */
	WAL_LAZY,      /* write, sync later (lazy_check), raft_advance_unsynced */
};

/* Anything but a leader's plain ready (a vote, a term, a snapshot, a
 * follower's appends) syncs in the loop, and that fdatasync also covers
 * what was written before it. So does a group of one, which commits on its
 * own copy alone (8 clients: 5% more creates through the syncer, for 20%
 * more CPU). A ready with no entries has nothing to sync. Entries that
 * several clients wait for go to the syncer thread, so that the loop goes
 * on meanwhile. Those of a lone client are written without a sync when the
 * followers alone make a quorum: their copies commit them (three fsyncs at
 * once on one disk took 156 us each, one alone 85 us), and the leader syncs
 * them a little later, or at once when the followers are late (and then,
 * for a while, in the loop: handing a lone client's fsync to the thread
 * made it 5% slower). */
static enum wal_mode wal_mode_of(struct nn_raft *rn, const struct raft_ready *rd, int64_t now_ns)
{
	uint32_t voters = raft_config_of(rn->r)->n;
	if (!rd->may_sync_later || !rn->syncer || voters == 1)
		return WAL_SYNC_HERE;
	if (rd->n_entries == 0 || rn->n_pend > 1 || wal_syncer_busy(rn->syncer))
		return WAL_SYNCER;
	if (voters - 1 < voters / 2 + 1 || (rn->lazy.off && now_ns < rn->lazy.retry_ns))
		return WAL_SYNC_HERE; /* the followers alone are no quorum, or were late */
	return WAL_LAZY;
}

/* Hands the fdatasync of every append so far, the last being (index,
 * term), to the syncer; syncs here if it cannot. 0 or a negative errno;
 * *synced_here tells which. */
static int sync_later(struct nn_raft *rn, uint64_t index, uint64_t term, bool *synced_here)
{
	int fd = wal_sync_fd(rn->w);
	*synced_here = false;
	rn->lazy.on = false; /* this sync covers those too */
	if (fd >= 0 && wal_syncer_submit(rn->syncer, fd, index, term) == 0)
		return 0;
	*synced_here = true;
	return wal_sync(rn->w);
}

/* A ready's entries in WAL_SYNCER or WAL_LAZY mode; *mode turns to
 * WAL_SYNC_HERE when the WAL had to sync here (a new segment). */
static int write_unsynced(struct nn_raft *rn, const struct raft_ready *rd, enum wal_mode *mode,
			  int64_t now_ns)
{
	if (rd->n_entries == 0)
		return 0;
	int rc = wal_append(rn->w, rd->entries, rd->n_entries);
	if (rc < 0)
		return rc;
	const struct raft_entry *last = &rd->entries[rd->n_entries - 1];
	bool here = false;
	if (*mode == WAL_LAZY && wal_sync_fd(rn->w) >= 0) {
		if (!rn->lazy.on)
			rn->lazy.first_ns = now_ns;
		rn->lazy.on = true;
		rn->lazy.index = last->index;
		rn->lazy.term = last->term;
		rn->lazy.last_ns = now_ns;
	} else {
		rc = sync_later(rn, last->index, last->term, &here);
	}
	if (here)
		*mode = WAL_SYNC_HERE;
	else
		rn->unsynced_writes++;
	return rc;
}

/* A lone client's entries written without a sync: once committed, synced
 * within NN_RAFT_LAZY_MAX_MS; not committed by the followers within
 * NN_RAFT_LAZY_WAIT_MS (one is down or slow), synced now, and the next
 * NN_RAFT_LAZY_RETRY_MS of lone writes sync in the loop. */
static void lazy_check(struct nn_raft *rn, int64_t now_ns)
{
	if (!rn->lazy.on)
		return;
	bool committed = raft_commit_index(rn->r) >= rn->lazy.index;
	if (committed)
		rn->lazy.off = false;
	if (committed ? now_ns - rn->lazy.first_ns < NN_RAFT_LAZY_MAX_MS * 1000000ll
		      : now_ns - rn->lazy.last_ns < NN_RAFT_LAZY_WAIT_MS * 1000000ll)
		return;
	if (!committed) {
		rn->lazy.off = true;
		rn->lazy.retry_ns = now_ns + NN_RAFT_LAZY_RETRY_MS * 1000000ll;
		DFS_DEBUG("raft: followers did not commit %llu within %d ms: syncing here",
			  (unsigned long long)rn->lazy.index, NN_RAFT_LAZY_WAIT_MS);
	}
	bool here;
	uint64_t index = rn->lazy.index, term = rn->lazy.term;
	int rc = sync_later(rn, index, term, &here);
	if (rc < 0)
		nn_raft_fatal(rn, rc, "sync the WAL");
	else if (here)
		raft_synced(rn->r, index, term);
}

/* What the syncer made durable since the last turn, told to the core. */
static void collect_synced(struct nn_raft *rn)
{
	uint64_t index, term;
	int err;
	if (!rn->syncer || !wal_syncer_take(rn->syncer, &index, &term, &err))
		return;
	if (err < 0)
		nn_raft_fatal(rn, err, "sync the WAL");
	else
		raft_synced(rn->r, index, term);
}

static int ready_once(struct nn *nn)
{
	struct nn_raft *rn = nn->raft;
	struct raft_ready rd;
	bool leader = raft_role(rn->r) == RAFT_LEADER; /* before: rd pins the core */
	raft_ready(rn->r, &rd);
	int64_t now_ns = nn_mono_ns();
	enum wal_mode mode = wal_mode_of(rn, &rd, now_ns);
	/* A leader's ready with nothing new to store mostly tells followers a
	 * new commit index: answer the clients first, tell the followers after
	 * (they need it only to apply; the two sends were a tenth of a
	 * replicated create's latency). */
	bool answer_first = leader && rd.n_entries == 0 && !rd.hs_changed && !rd.snapshot;
	for (size_t i = 0; i < rd.n_msgs && !answer_first; i++)
		if (send_before_sync(leader, &rd, &rd.msgs[i]))
			send_msg(nn, &rd.msgs[i]);
	int rc = mode != WAL_SYNC_HERE ? write_unsynced(rn, &rd, &mode, now_ns)
				       : wal_save_ready(rn->w, &rd);
	if (mode == WAL_SYNC_HERE)
		rn->lazy.on = false; /* that fdatasync covered them */
	if (rc < 0) {
		nn_raft_fatal(rn, rc, "write the WAL");
		return rc;
	}
	if (rd.snapshot) {
		rn->applied = rd.snapshot->index;
		DFS_NOTICE("raft: installed snapshot at index %llu (term %llu)",
			   (unsigned long long)rd.snapshot->index,
			   (unsigned long long)rd.snapshot->term);
	}
	for (size_t i = 0; i < rd.n_msgs && !answer_first; i++)
		if (!send_before_sync(leader, &rd, &rd.msgs[i]))
			send_msg(nn, &rd.msgs[i]);
	for (size_t i = 0; i < rd.n_committed && !rn->fatal; i++)
		apply_entry(nn, &rd.committed[i]);
	if (flush_effects(nn) < 0)
		return -EIO;
	for (size_t i = 0; i < rd.n_reads; i++)
		reads_confirm(rn, rd.reads[i].id, rd.reads[i].index);
	for (size_t i = 0; i < rd.n_msgs && answer_first; i++)
		send_msg(nn, &rd.msgs[i]);
	if (mode != WAL_SYNC_HERE)
		raft_advance_unsynced(rn->r, &rd);
	else
		raft_advance(rn->r, &rd);
	return 0;
}

void nn_raft_commit(struct nn *nn)
{
	struct nn_raft *rn = nn->raft;
	if (rn->fatal)
		return;
	collect_synced(rn);
	lazy_check(rn, nn_mono_ns());
	if (rn->fatal)
		return;
	if (raft_role(rn->r) == RAFT_LEADER)
		reads_request(nn);
	while (raft_has_ready(rn->r))
		if (ready_once(nn) < 0)
			return;
	reads_progress(nn, nn_now_ms());
	log_changes(rn);
	nn_raft_maybe_compact(nn);
	nn_raft_snap_pump(nn);
}

int nn_raft_tick(struct nn *nn, int64_t now)
{
	struct nn_raft *rn = nn->raft;
	if (rn->fatal)
		return 1000;
	if (now - rn->next_tick_ms > 10 * rn->tick_ms) {
		rn->next_tick_ms = now; /* the loop stalled: no burst of ticks */
		raft_lease_drop(rn->r); /* and our clock lags: no lease reads */
	}
	while (now >= rn->next_tick_ms) {
		raft_tick(rn->r);
		rn->next_tick_ms += rn->tick_ms;
	}
	if (raft_has_ready(rn->r) || rn->batch_open)
		return rn->batch_open ? 2 : 0;
	if (rn->lazy.on)
		return 1; /* lazy_check, from nn_raft_commit */
	int wait = (int)(rn->next_tick_ms - now);
	if (rn->n_reads && wait > 10)
		wait = 10;
	for (size_t i = 0; i < NN_RAFT_PEERS_MAX; i++)
		if (rn->out[i].active)
			return 2;
	return wait;
}

/* ---- incoming frames: messages, status, admin ---- */

static int recv_msg(struct nn *nn, const uint8_t *proto, size_t len)
{
	struct nn_raft *rn = nn->raft;
	Dfs__RaftMsg *pb = dfs__raft_msg__unpack(NULL, len, proto);
	if (!pb)
		return -DFS_EPROTOCOL;
	struct nn_raft_peer *p = nn_raft_peer(rn, pb->from);
	struct raft_msg m;
	int rc = 0;
	if (p && p->drop)
		goto out;
	if (p)
		p->last_recv_ms = nn_now_ms();
	if (pb->n_effects)
		nn_raft_fx_receive(rn, pb);
	if ((rc = nn_raft_msg_from_pb(pb, &m)) == 0) {
		if (!rn->fatal && raft_step(rn->r, &m) < 0)
			DFS_DEBUG("raft: refused a malformed message from %llu",
				  (unsigned long long)pb->from);
		nn_raft_msg_free(&m);
	}
out:
	dfs__raft_msg__free_unpacked(pb, NULL);
	return rc == -ENOMEM ? 0 : rc;
}

static int reply_status(struct nn *nn, struct rpc_conn *c, uint64_t call_id)
{
	struct nn_raft *rn = nn->raft;
	Dfs__RaftStatus s = DFS__RAFT_STATUS__INIT;
	Dfs__RaftPeer pv[NN_RAFT_PEERS_MAX], *pp[NN_RAFT_PEERS_MAX];
	Dfs__RaftProgress gv[NN_RAFT_PEERS_MAX], *gp[NN_RAFT_PEERS_MAX];
	uint64_t voters[RAFT_VOTERS_MAX], drops[NN_RAFT_PEERS_MAX];
	const struct raft_config *conf = raft_config_of(rn->r);
	int64_t now = nn_now_ms(), fresh_ms = 2 * (int64_t)rn->election_ticks * rn->tick_ms;
	s.has_id = s.has_term = s.has_leader_id = s.has_commit_index = 1;
	s.has_applied_index = s.has_last_index = s.has_snapshot_index = 1;
	s.id = rn->id;
	s.role = (char *)(rn->joining ? "joining" : raft_role_name(raft_role(rn->r)));
	s.term = raft_term_of(rn->r);
	s.leader_id = raft_leader(rn->r);
	s.leader_addr = (char *)nn_raft_leader_addr(nn);
	s.commit_index = raft_commit_index(rn->r);
	s.applied_index = rn->applied;
	s.last_index = raft_last_index(rn->r);
	s.snapshot_index = raft_snapshot_index(rn->r);
	s.has_from_effects = 1;
	s.from_effects = rn->fx_applied;
	s.has_unsynced_writes = 1;
	s.unsynced_writes = rn->unsynced_writes;
	memcpy(voters, conf->voters, conf->n * sizeof(*voters));
	s.voters = voters;
	s.n_voters = conf->n;
	struct nn_raft_peer *self = nn_raft_peer(rn, rn->id);
	s.addr = self ? self->addr : (char *)"";
	for (size_t i = 0; i < rn->n_peers; i++) {
		struct nn_raft_peer *p = &rn->peers[i];
		dfs__raft_peer__init(&pv[s.n_peers]);
		pv[s.n_peers].id = p->id;
		pv[s.n_peers].addr = p->addr;
		pp[s.n_peers] = &pv[s.n_peers];
		s.n_peers++;
		if (p->drop)
			drops[s.n_drop_peers++] = p->id;
		if (p->id == rn->id)
			continue;
		dfs__raft_progress__init(&gv[s.n_progress]);
		gv[s.n_progress].id = p->id;
		gv[s.n_progress].reachable = p->last_recv_ms && now - p->last_recv_ms < fresh_ms;
		gp[s.n_progress] = &gv[s.n_progress];
		s.n_progress++;
	}
	s.peers = pp;
	s.progress = gp;
	s.drop_peers = drops;
	return rpc_conn_reply(c, DFS_M_RAFT_STATUS, call_id, &s.base);
}

static int admin_error(int rc, bool add)
{
	switch (rc) {
	case -RAFT_ENOTLEADER: case -RAFT_ENOLEADER: return -DFS_ENOTLEADER;
	case -RAFT_EBUSY: case -RAFT_ENOTREADY: return -EBUSY;
	case -RAFT_EBADCONF: return add ? -EEXIST : -ENOENT;
	default: return rc;
	}
}

/* Leader: ADD (address first, replicated) / REMOVE; reply when committed. */
static int admin_change(struct nn *nn, struct rpc_conn *c, uint64_t call_id,
			const Dfs__RaftAdminRequest *q)
{
	struct nn_raft *rn = nn->raft;
	bool add = q->op == DFS__RAFT_ADMIN_REQUEST__OP__ADD;
	raft_index idx = 0;
	int rc;
	if (add) {
		if (!q->addr || !q->addr[0] || q->id == 0)
			return -EINVAL;
		if (raft_config_has(raft_config_of(rn->r), q->id))
			return -EEXIST;
		Dfs__NsRequest req = DFS__NS_REQUEST__INIT;
		Dfs__NsCommand cmd = DFS__NS_COMMAND__INIT;
		req.has_ino = 1;
		req.ino = q->id;
		req.target = q->addr;
		cmd.method = NS_M_RAFT_PEER;
		cmd.req = &req;
		cmd.now_ns = nn_now_ns();
		uint64_t pi;
		if ((rc = nn_raft_peer_set(rn, q->id, q->addr)) < 0 ||
		    (rc = propose_cmd(rn, &cmd, &pi)) < 0)
			return rc;
		rc = raft_add_voter(rn->r, q->id, &idx);
	} else {
		rc = raft_remove_voter(rn->r, q->id, &idx);
	}
	if (rc < 0)
		return admin_error(rc, add);
	DFS_NOTICE("raft: %s voter %llu proposed at index %llu", add ? "adding" : "removing",
		   (unsigned long long)q->id, (unsigned long long)idx);
	struct nn_raft_pending p = {.index = idx, .term = raft_term_of(rn->r), .c = c,
				    .call_id = call_id, .method = DFS_M_RAFT_ADMIN};
	rc = pend_push(rn, &p);
	return rc < 0 ? rc : 1; /* 1: reply owed */
}

static uint64_t transfer_target(struct nn_raft *rn)
{
	const struct raft_config *c = raft_config_of(rn->r);
	uint64_t best = 0;
	int64_t best_ms = 0;
	for (uint32_t i = 0; i < c->n; i++) {
		struct nn_raft_peer *p = nn_raft_peer(rn, c->voters[i]);
		if (p && p->id != rn->id && !p->drop && p->last_recv_ms > best_ms) {
			best = p->id;
			best_ms = p->last_recv_ms;
		}
	}
	return best;
}

static int admin(struct nn *nn, struct rpc_conn *c, uint64_t call_id, const uint8_t *proto,
		 size_t len)
{
	struct nn_raft *rn = nn->raft;
	Dfs__RaftAdminRequest *q = dfs__raft_admin_request__unpack(NULL, len, proto);
	if (!q)
		return -DFS_EPROTOCOL;
	Dfs__RaftAdminReply a = DFS__RAFT_ADMIN_REPLY__INIT;
	int rc = 0;
	if (q->op == DFS__RAFT_ADMIN_REQUEST__OP__DROP_PEERS) {
		for (size_t i = 0; i < rn->n_peers; i++)
			rn->peers[i].drop = false;
		for (size_t i = 0; i < q->n_drop; i++) {
			struct nn_raft_peer *p = nn_raft_peer(rn, q->drop[i]);
			if (p && p->id != rn->id)
				p->drop = true;
		}
		DFS_NOTICE("raft: fault hook: dropping traffic of %zu peer(s)", q->n_drop);
	} else if (raft_role(rn->r) != RAFT_LEADER) {
		rc = -DFS_ENOTLEADER;
	} else if (q->op == DFS__RAFT_ADMIN_REQUEST__OP__TRANSFER) {
		uint64_t to = q->id ? q->id : transfer_target(rn);
		rc = to == 0 || to == rn->id ? -EINVAL : admin_error(raft_transfer(rn->r, to), false);
		if (rc == 0)
			DFS_NOTICE("raft: transferring leadership to %llu", (unsigned long long)to);
	} else if (q->op == DFS__RAFT_ADMIN_REQUEST__OP__ADD ||
		   q->op == DFS__RAFT_ADMIN_REQUEST__OP__REMOVE) {
		rc = admin_change(nn, c, call_id, q);
	} else {
		rc = -EINVAL;
	}
	dfs__raft_admin_request__free_unpacked(q, NULL);
	if (rc == 1)
		return 0;
	a.status = rc;
	if (rc == -DFS_ENOTLEADER && nn_raft_leader_addr(nn)[0])
		a.leader = (char *)nn_raft_leader_addr(nn);
	return rpc_conn_reply(c, DFS_M_RAFT_ADMIN, call_id, &a.base);
}

int nn_raft_handle(struct nn *nn, struct rpc_conn *c, const struct dfs_frame_header *h,
		   const uint8_t *proto)
{
	switch (h->method) {
	case DFS_M_RAFT_MSG:
		return recv_msg(nn, proto, h->proto_len);
	case DFS_M_RAFT_SNAPSHOT:
		return nn_raft_snap_recv(nn, proto, h->proto_len);
	case DFS_M_RAFT_STATUS:
		return reply_status(nn, c, h->call_id);
	case DFS_M_RAFT_ADMIN:
		return admin(nn, c, h->call_id, proto, h->proto_len);
	default:
		return -DFS_EPROTOCOL;
	}
}
