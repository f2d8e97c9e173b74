/* replmon.c: the replication monitor, run every replication_check_ms on
 * the event-loop thread (only on the leader: nn_tick's caller decides).
 *
 * A pass examines the blocks whose replicas changed since they were last
 * found settled (the touched list, dnmgr.h: a report, a datanode's death,
 * a write, a COPY, a corrupt mark), and walks a slice of the block map,
 * resuming where it stopped; the slices of consecutive passes make a full
 * cycle. The slice is NN_REPLMON_SCAN_MAX blocks while a cycle must be
 * fast (safe mode, a decommission, or an event the touched list does not
 * show: a datanode registered, died or changed admin state, a SETREP),
 * else small enough that a full cycle takes NN_REPLMON_SLOW_CYCLE_MS: it
 * only catches what no event announced, and a namenode holding millions
 * of settled blocks does not read each of them from LevelDB every
 * second (it did: 4 µs of CPU per block per pass). For each block not
 * busy (being written, or a COPY in flight whose replication_timeout_ms
 * has not passed):
 *  - not in the namespace (orphan, e.g. of a deleted file): DELETE on
 *    every holder;
 *  - replicas with an older genstamp than the namespace's: DELETE;
 *  - fewer good replicas (bm_replica_good) than the file's replication:
 *    queued for a COPY in one of BM_REPLQ_LEVELS priority buckets (fewest
 *    good replicas first);
 *  - full count of good replicas: corrupt replicas are deleted, and extra
 *    good ones (on the fullest datanodes) too.
 * Then the queue is served in priority order: each COPY reads from a good
 * (or decommissioning) replica whose datanode has fewer than
 * max_copies_per_datanode copies in flight; what finds no free source
 * waits for a later pass.
 * While safe mode is on (safemode.h) nothing is copied or deleted; the
 * pass only counts the blocks that have a good replica. A full cycle also
 * ends the decommission bookkeeping (decommission.c).
 * Commands wait in the datanodes' queues and leave with their heartbeats,
 * DN_CMDS_PER_HEARTBEAT at a time. */
#include "namenode/heal.h"

#include "common/errors.h"
#include "common/log.h"

#include <stdlib.h>

struct pass {
	int64_t now;
	bool hold;           /* safe mode: no COPY, no DELETE */
	uint32_t max_copies; /* per source datanode */
};

static int queue_copy(struct nn *nn, struct bm_block *b, int src, uint64_t gs, uint64_t len,
		      const int *targets, int n)
{
	Dfs__DnCommand *c = calloc(1, sizeof(*c));
	Dfs__BlockRef *ref = calloc(1, sizeof(*ref));
	if (!c || !ref)
		goto err_after_alloc;
	dfs__dn_command__init(c);
	dfs__block_ref__init(ref);
	c->kind = DFS__DN_COMMAND__KIND__COPY;
	ref->block_id = b->id;
	ref->genstamp = gs;
	ref->length = len;
	c->blocks = malloc(sizeof(*c->blocks));
	c->targets = calloc((size_t)n, sizeof(*c->targets));
	if (!c->blocks || !c->targets)
		goto err_after_alloc;
	c->blocks[0] = ref;
	c->n_blocks = 1;
	ref = NULL;
	for (int i = 0; i < n; i++)
		if (!(c->targets[c->n_targets++] = dnmgr_id(&nn->dm, targets[i])))
			goto err_after_alloc;
	DFS_INFO("block %llu: copy from %s to %d more datanode(s)", (unsigned long long)b->id,
		 nn->dm.dns[src].uuid, n);
	return dnmgr_queue(&nn->dm, src, c);
err_after_alloc:
	free(ref);
	if (c)
		dfs__dn_command__free_unpacked(c, NULL);
	return -ENOMEM;
}

/* Queue entries live in m->replq, allocated on first use. */
static void enqueue(struct dnmgr *m, const struct bm_qent *e)
{
	int level = e->good <= 1 ? 0 : e->good * 3 < e->rep * 2 ? 1 : 2;
	if (!m->replq[level])
		m->replq[level] = malloc(BM_REPLQ_MAX * sizeof(struct bm_qent));
	if (!m->replq[level] || m->n_replq[level] >= BM_REPLQ_MAX)
		return; /* the next pass finds it again */
	m->replq[level][m->n_replq[level]++] = *e;
}

/* Deletes the corrupt replicas and the extra good ones of a block that
 * has its full count of good replicas (ng >= rep). */
static void trim(struct nn *nn, struct bm_block *b, uint64_t gs, uint32_t rep, int ng)
{
	for (uint32_t i = 0; i < b->n;) {
		struct bm_replica *r = &b->r[i];
		if (!r->corrupt || !nn->dm.dns[r->dn].live) {
			i++;
			continue;
		}
		DFS_NOTICE("block %llu: %d good replicas, deleting the corrupt one on %s",
			   (unsigned long long)b->id, ng, nn->dm.dns[r->dn].uuid);
		bm_queue_delete(&nn->dm, r->dn, b->id, r->genstamp);
		bm_drop_replica(&nn->dm, b, r->dn);
	}
	while ((uint32_t)ng > rep) { /* drop the replica on the fullest datanode */
		int worst = -1;
		for (uint32_t i = 0; i < b->n; i++)
			if (bm_replica_good(&nn->dm, &b->r[i], gs) &&
			    (worst < 0 || nn->dm.dns[b->r[i].dn].remaining <
						  nn->dm.dns[b->r[worst].dn].remaining))
				worst = (int)i;
		int dn = b->r[worst].dn;
		DFS_INFO("block %llu: over-replicated, deleting the replica on %s",
			 (unsigned long long)b->id, nn->dm.dns[dn].uuid);
		bm_queue_delete(&nn->dm, dn, b->id, gs);
		bm_drop_replica(&nn->dm, b, dn);
		ng--;
	}
}

/* Drops expectations never met and stale replicas (DELETE unless held). */
static void drop_stale(struct nn *nn, struct bm_block *b, uint64_t gs, bool hold)
{
	for (uint32_t i = 0; i < b->n;) {
		struct bm_replica *r = &b->r[i];
		bool stale = r->confirmed && r->genstamp < gs;
		if ((!r->confirmed || stale) && !(stale && hold)) {
			if (stale && nn->dm.dns[r->dn].live)
				bm_queue_delete(&nn->dm, r->dn, b->id, r->genstamp);
			bm_drop_replica(&nn->dm, b, r->dn);
			continue;
		}
		i++;
	}
}

enum check { CHECK_REMOVED, CHECK_SETTLED, CHECK_PENDING };

/* Examines one block not busy: CHECK_PENDING while something is left to
 * do for it (short of replicas, or the namespace could not answer), which
 * keeps it touched. in_cycle: the full cycle's visit, which also counts
 * for safe mode and decommission progress. */
static enum check check_block(struct nn *nn, struct bm_block *b, const struct pass *p,
			      bool in_cycle)
{
	struct dnmgr *m = &nn->dm;
	uint64_t gs, len;
	uint32_t rep;
	m->checks++;
	int rc = ns_block_info(nn->ns, b->id, &gs, &len, &rep);
	if (rc == -ENOENT) {
		if (p->hold)
			return CHECK_PENDING;
		for (uint32_t i = 0; i < b->n; i++)
			if (b->r[i].confirmed && m->dns[b->r[i].dn].live)
				bm_queue_delete(m, b->r[i].dn, b->id, b->r[i].genstamp);
		DFS_DEBUG("block %llu: orphan, deleting its replicas", (unsigned long long)b->id);
		bm_remove(m, b->id);
		return CHECK_REMOVED;
	}
	if (rc < 0)
		return CHECK_PENDING;
	drop_stale(nn, b, gs, p->hold);
	int ng = 0, nsrc = 0;
	for (uint32_t i = 0; i < b->n; i++) {
		const struct bm_replica *r = &b->r[i];
		ng += bm_replica_good(m, r, gs);
		nsrc += r->confirmed && !r->corrupt && r->genstamp == gs && m->dns[r->dn].live;
	}
	if (in_cycle && nsrc > 0)
		m->cycle_reported++;
	for (uint32_t i = 0; in_cycle && i < b->n; i++) /* decommission progress */
		if (m->dns[b->r[i].dn].admin == DN_ADMIN_DECOMMISSIONING && (uint32_t)ng < rep)
			m->dns[b->r[i].dn].decom_count++;
	if (rep > 0 && (uint32_t)ng < rep && nsrc > 0) {
		struct bm_qent e = {b->id, gs, len, rep, (uint32_t)ng};
		enqueue(m, &e);
	} else if (rep > 0 && (uint32_t)ng >= rep && !p->hold) {
		trim(nn, b, gs, rep, ng);
	}
	if (b->n == 0) {
		bm_remove(m, b->id);
		return CHECK_REMOVED;
	}
	return p->hold || (rep > 0 && (uint32_t)ng < rep) ? CHECK_PENDING : CHECK_SETTLED;
}

/* A visit to a block not busy: a COPY whose time is up is forgotten (the
 * block is then judged afresh and copied again if still short). */
static enum check visit(struct nn *nn, struct bm_block *b, const struct pass *p, bool in_cycle)
{
	if (b->copy_src >= 0) {
		DFS_INFO("block %llu: copy from %s timed out, issuing it again",
			 (unsigned long long)b->id, nn->dm.dns[b->copy_src].uuid);
		bm_copy_ended(&nn->dm, b);
	}
	return check_block(nn, b, p, in_cycle);
}

/* The good (or decommissioning) replica with the fewest copies in flight,
 * if its datanode has a free slot; -1 if none. */
static int pick_source(const struct dnmgr *m, const struct bm_block *b, uint64_t gs,
		       uint32_t max_copies)
{
	int best = -1;
	for (uint32_t i = 0; i < b->n; i++) {
		const struct bm_replica *r = &b->r[i];
		const struct datanode *d = &m->dns[r->dn];
		if (!r->confirmed || r->corrupt || r->genstamp != gs || !d->live ||
		    d->copies >= max_copies)
			continue;
		if (best < 0 || d->copies < m->dns[best].copies)
			best = r->dn;
	}
	return best;
}

static void schedule(struct nn *nn, const struct bm_qent *e, const struct pass *p)
{
	struct bm_block *b = bm_find(&nn->dm, e->id);
	if (!b || b->busy_until_ms > p->now)
		return;
	int src = pick_source(&nn->dm, b, e->gs, p->max_copies);
	if (src < 0)
		return; /* every source is busy: a later pass */
	int holders[BM_REPLICAS_MAX], targets[NS_REPLICATION_MAX];
	for (uint32_t i = 0; i < b->n; i++)
		holders[i] = b->r[i].dn;
	uint32_t want = e->rep - e->good;
	if (want > NS_REPLICATION_MAX)
		want = NS_REPLICATION_MAX;
	int nt = placement_choose(&nn->dm, want, NULL, 0, holders, b->n, e->len, targets);
	if (nt > 0 && queue_copy(nn, b, src, e->gs, e->len, targets, nt) == 0) {
		bm_copy_started(&nn->dm, b, src, (uint32_t)nt, e->gs);
		b->busy_until_ms = p->now + (nn->cfg.replication_timeout_ms > 0
						     ? nn->cfg.replication_timeout_ms
						     : NN_COPY_PENDING_MS);
	}
}

static uint32_t live_count(const struct dnmgr *m)
{
	uint32_t n = 0;
	for (size_t i = 0; i < m->n_dns; i++)
		n += m->dns[i].live;
	return n;
}

static void start_safemode(struct nn *nn, int64_t now)
{
	double th = 0;
	if (nn->cfg.safemode_threshold)
		safemode_parse_threshold(nn->cfg.safemode_threshold, &th);
	safemode_start(&nn->sm, th, nn->cfg.safemode_extension_ms,
		       (uint32_t)nn->cfg.safemode_min_datanodes, now);
}

/* Examines the touched blocks (not while holding: the fast cycles of
 * safe mode see everything). A busy block stays listed until it is not;
 * a settled one leaves the list. */
static void examine_touched(struct nn *nn, const struct pass *p)
{
	struct dnmgr *m = &nn->dm;
	if (p->hold)
		return;
	size_t n = m->n_touched, visits = 0;
	uint64_t *ids = m->touched;
	m->touched = NULL; /* what this pass touches goes into a fresh list */
	m->n_touched = m->cap_touched = 0;
	bm_untouch_all(m);
	for (size_t i = 0; i < n; i++) {
		struct bm_block *b = bm_find(m, ids[i]);
		if (!b || b->touched_gen == m->touched_gen)
			continue; /* removed, or listed again already */
		if (b->busy_until_ms > p->now || visits >= NN_REPLMON_SCAN_MAX) {
			bm_touch(m, b); /* a later pass */
			continue;
		}
		visits++;
		if (visit(nn, b, p, false) == CHECK_PENDING)
			bm_touch(m, b);
	}
	free(ids);
}

/* Blocks of the full cycle to walk in one pass. */
static size_t slice(const struct nn *nn, bool fast)
{
	const struct dnmgr *m = &nn->dm;
	if (fast)
		return NN_REPLMON_SCAN_MAX;
	size_t n = (size_t)((double)m->n_blocks * (double)nn->cfg.replication_check_ms /
			    NN_REPLMON_SLOW_CYCLE_MS);
	return n < NN_REPLMON_SLOW_MIN ? NN_REPLMON_SLOW_MIN : n;
}

/* Walks the next slice of the full cycle; true when a cycle ended. */
static bool scan(struct nn *nn, const struct pass *p, bool must_be_fast)
{
	struct dnmgr *m = &nn->dm;
	size_t seen = 0;
	for (;;) {
		if (m->cycle_buckets == 0) { /* a new cycle */
			m->cycle_reported = 0;
			for (size_t i = 0; i < m->n_dns; i++)
				m->dns[i].decom_count = 0;
			m->cycle_fast = m->rescan;
			m->rescan = false;
		}
		if (seen >= slice(nn, must_be_fast || m->cycle_fast || m->rescan))
			return false;
		size_t k = m->scan_bucket++ & (m->n_buckets - 1);
		for (struct bm_block *b = m->buckets[k], *next; b; b = next) {
			next = b->next;
			seen++;
			if (b->busy_until_ms > p->now) { /* being written or copied */
				m->cycle_reported++;
				for (uint32_t i = 0; i < b->n; i++) /* not judged yet */
					if (m->dns[b->r[i].dn].admin == DN_ADMIN_DECOMMISSIONING)
						m->dns[b->r[i].dn].decom_count++;
				continue;
			}
			if (visit(nn, b, p, true) == CHECK_PENDING)
				bm_touch(m, b);
		}
		if (++m->cycle_buckets >= m->n_buckets) {
			m->cycle_buckets = 0;
			return true;
		}
	}
}

void replmon_run(struct nn *nn, int64_t now_ms)
{
	struct dnmgr *m = &nn->dm;
	/* at start, and when this namenode (again) became the leader: the
	 * monitor did not run for a while (standby), so re-learn first */
	int64_t gap = 5 * nn->cfg.replication_check_ms;
	if (gap < nn->cfg.datanode_dead_ms)
		gap = nn->cfg.datanode_dead_ms;
	if (!nn->sm.started ||
	    (!nn->sm.manual && gap > 0 && now_ms - nn->sm.last_run_ms > gap))
		start_safemode(nn, now_ms);
	nn->sm.last_run_ms = now_ms;
	decom_sync(nn);
	uint32_t live = live_count(m);
	/* the counts of the last full cycle (a fresh namespace needs none) */
	safemode_update(&nn->sm, nn->ns->c.blocks, nn->sm.reported, live, now_ms);
	struct pass p = {.now = now_ms, .hold = nn->sm.on,
			 .max_copies = nn->cfg.max_copies_per_datanode > 0
					       ? (uint32_t)nn->cfg.max_copies_per_datanode
					       : DN_COPIES_DEFAULT};
	for (int l = 0; l < BM_REPLQ_LEVELS; l++)
		m->n_replq[l] = 0;
	bool decommissioning = false;
	for (size_t i = 0; i < m->n_dns; i++)
		decommissioning |= m->dns[i].admin == DN_ADMIN_DECOMMISSIONING;
	if (p.hold)
		m->rescan = true; /* the first cycle after safe mode acts on everything */
	examine_touched(nn, &p);
	if (scan(nn, &p, p.hold || decommissioning)) {
		safemode_update(&nn->sm, nn->ns->c.blocks, m->cycle_reported, live, now_ms);
		decom_cycle_end(nn);
	}
	if (p.hold)
		return;
	for (int l = 0; l < BM_REPLQ_LEVELS; l++)
		for (size_t i = 0; i < m->n_replq[l]; i++)
			schedule(nn, &m->replq[l][i], &p);
}
