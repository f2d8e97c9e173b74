/* replmon.c: the replication monitor, run every replication_check_ms on
 * the event-loop thread. It walks a bounded slice of the block map per
 * pass (NN_REPLMON_SCAN_MAX blocks, resuming where it stopped) and for
 * each block not busy (being written, or a copy in flight):
 *  - not in the namespace (orphan, e.g. of a deleted file): DELETE on
 *    every holder;
 *  - replicas with an older genstamp than the namespace's: DELETE;
 *  - fewer good replicas than the file's replication: COPY from a good
 *    replica to new targets (not in the first datanode_dead_ms after the
 *    start, while the datanodes' reports are still arriving);
 *  - more: DELETE the extra ones (on the fullest datanodes).
 * Commands wait in the datanodes' queues and leave with their heartbeats,
 * DN_CMDS_PER_HEARTBEAT at a time. */
#include "namenode/nn.h"

#include "common/errors.h"
#include "common/log.h"

#include <stdlib.h>

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

static void fix_count(struct nn *nn, struct bm_block *b, uint64_t gs, uint64_t len,
		      uint32_t rep, int64_t now)
{
	int good[BM_REPLICAS_MAX], ng = 0, holders[BM_REPLICAS_MAX];
	for (uint32_t i = 0; i < b->n; i++) {
		holders[i] = b->r[i].dn;
		if (b->r[i].confirmed && b->r[i].genstamp == gs && nn->dm.dns[b->r[i].dn].live)
			good[ng++] = b->r[i].dn;
	}
	if (ng == 0 || rep == 0)
		return;
	if ((uint32_t)ng < rep) {
		if (now < nn->copy_after_ms)
			return;
		int targets[NS_REPLICATION_MAX];
		int nt = placement_choose(&nn->dm, rep - (uint32_t)ng, NULL, 0, holders, b->n,
					  len, targets);
		if (nt > 0 && queue_copy(nn, b, good[0], gs, len, targets, nt) == 0)
			b->busy_until_ms = now + NN_COPY_PENDING_MS;
		return;
	}
	while ((uint32_t)ng > rep) { /* drop the replica on the fullest datanode */
		int worst = 0;
		for (int i = 1; i < ng; i++)
			if (nn->dm.dns[good[i]].remaining < nn->dm.dns[good[worst]].remaining)
				worst = i;
		DFS_INFO("block %llu: over-replicated, deleting the replica on %s",
			 (unsigned long long)b->id, nn->dm.dns[good[worst]].uuid);
		bm_queue_delete(&nn->dm, good[worst], b->id, gs);
		bm_drop_replica(&nn->dm, b, good[worst]);
		good[worst] = good[--ng];
	}
}

/* Returns 1 if the block was removed from the map. */
static int check_block(struct nn *nn, struct bm_block *b, int64_t now)
{
	uint64_t gs, len;
	uint32_t rep;
	int rc = ns_block_info(nn->ns, b->id, &gs, &len, &rep);
	if (rc == -ENOENT) {
		for (uint32_t i = 0; i < b->n; i++)
			if (b->r[i].confirmed && nn->dm.dns[b->r[i].dn].live)
				bm_queue_delete(&nn->dm, b->r[i].dn, b->id, b->r[i].genstamp);
		DFS_DEBUG("block %llu: orphan, deleting its replicas", (unsigned long long)b->id);
		bm_remove(&nn->dm, b->id);
		return 1;
	}
	if (rc < 0)
		return 0;
	for (uint32_t i = 0; i < b->n;) {
		struct bm_replica *r = &b->r[i];
		bool stale = r->confirmed && r->genstamp < gs;
		if (!r->confirmed || stale) { /* expected but never reported, or stale */
			if (stale && nn->dm.dns[r->dn].live)
				bm_queue_delete(&nn->dm, r->dn, b->id, r->genstamp);
			bm_drop_replica(&nn->dm, b, r->dn);
			continue;
		}
		i++;
	}
	fix_count(nn, b, gs, len, rep, now);
	if (b->n == 0) {
		bm_remove(&nn->dm, b->id);
		return 1;
	}
	return 0;
}

void replmon_run(struct nn *nn, int64_t now_ms)
{
	struct dnmgr *m = &nn->dm;
	size_t seen = 0, buckets = 0;
	while (seen < NN_REPLMON_SCAN_MAX && buckets < m->n_buckets) {
		size_t k = m->scan_bucket++ & (m->n_buckets - 1);
		buckets++;
		for (struct bm_block *b = m->buckets[k], *next; b; b = next) {
			next = b->next;
			seen++;
			if (b->busy_until_ms > now_ms)
				continue;
			check_block(nn, b, now_ms);
		}
	}
}
