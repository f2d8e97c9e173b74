/* block_alloc.c: blocks for a writer without a log entry. The Raft leader
 * answers ADD_BLOCK, and the OPEN_BLOCK of a pipeline recovery for a block
 * no COMPLETE recorded yet, from memory: id and genstamps
 * (term << NS_UNRECORDED_SHIFT) | n (ns.h), pipeline targets from the
 * datanode manager, the block expected on them in the block map (busy:
 * not re-replicated nor deleted as an orphan while it is written). The
 * writer's COMPLETE records the block, so a file written and closed in
 * one go takes one log entry for its data instead of two.
 *
 * A block nobody records (its writer died) is an orphan: its replicas are
 * deleted once the block map's busy time is over. Event-loop thread. */
#include "namenode/nn.h"
#include "namenode/raft_node.h"

#include "common/errors.h"
#include "common/log.h"

#include <inttypes.h>

bool nn_alloc_applies(const struct nn *nn, uint32_t method, const Dfs__NsRequest *req)
{
	return nn->raft != NULL &&
	       (method == DFS_M_ADD_BLOCK ||
		(method == DFS_M_OPEN_BLOCK && (req->flags & DFS__NS_FLAG__NSF_UNRECORDED)));
}

/* The next id / genstamp of this leader's term. */
static uint64_t next_value(struct nn *nn)
{
	uint64_t term = nn_raft_term(nn);
	if (term != nn->alloc_term) {
		nn->alloc_term = term;
		nn->alloc_next = 0;
	}
	return (term << NS_UNRECORDED_SHIFT) | nn->alloc_next++;
}

static int add_block(struct nn *nn, const Dfs__NsRequest *req, Dfs__NsReply *r, int64_t now)
{
	int targets[NS_REPLICATION_MAX];
	int nt = nn_choose_targets(nn, r->attr, req, targets);
	if (nt < 0)
		return nt;
	Dfs__BlockRef b = DFS__BLOCK_REF__INIT;
	b.block_id = b.genstamp = next_value(nn);
	int rc = ns_reply_block(r, req->block_index, &b);
	return rc < 0 ? rc : nn_attach_targets(nn, r->block, targets, nt, now);
}

/* A new genstamp for blocks[0], which must not be recorded yet; its live
 * replicas at the old genstamp, minus exclude_nodes, expect the new one. */
static int open_unrecorded(struct nn *nn, const Dfs__NsRequest *req, Dfs__NsReply *r,
			   int64_t now)
{
	if (req->n_blocks != 1 || req->blocks[0]->block_id < NS_UNRECORDED_ID_MIN)
		return -EINVAL;
	const Dfs__BlockRef *cur = req->blocks[0];
	uint64_t gs, len;
	uint32_t rep;
	int rc = ns_block_info(nn->ns, cur->block_id, &gs, &len, &rep);
	if (rc == 0)
		return -DFS_ESTALE; /* recorded meanwhile: not this writer's alone */
	if (rc != -ENOENT)
		return rc;
	Dfs__BlockRef b = DFS__BLOCK_REF__INIT;
	b.block_id = cur->block_id;
	b.genstamp = next_value(nn);
	b.length = cur->length;
	if (b.genstamp <= cur->genstamp)
		return -DFS_ENOTLEADER; /* a later term's block: we are not leading */
	rc = ns_reply_block(r, req->block_index, &b);
	return rc < 0 ? rc : nn_attach_replicas(nn, r->block, cur->genstamp, now, req);
}

int nn_alloc_block(struct nn *nn, uint32_t method, const Dfs__NsRequest *req, Dfs__NsReply *r)
{
	int rc = ns_read_written_file(nn->ns, req, r);
	if (rc == 0)
		rc = method == DFS_M_ADD_BLOCK ? add_block(nn, req, r, nn_now_ms())
					       : open_unrecorded(nn, req, r, nn_now_ms());
	if (rc < 0)
		ns_reply_clear(r);
	return r->status = rc;
}

void nn_alloc_with_create(struct nn *nn, const Dfs__NsRequest *req, Dfs__NsReply *r)
{
	if (nn->raft == NULL || !(req->flags & DFS__NS_FLAG__NSF_ALLOC_BLOCK) ||
	    r->attr == NULL || r->attr->type != DFS__FILE_TYPE__FT_REG || r->attr->size != 0)
		return;
	Dfs__NsRequest first = *req; /* the writer's placement hints, block 0 */
	first.has_block_index = 1;
	first.block_index = 0;
	if (add_block(nn, &first, r, nn_now_ms()) < 0) {
		if (r->block != NULL)
			dfs__located_block__free_unpacked(r->block, NULL);
		r->block = NULL; /* the writer asks with ADD_BLOCK */
		return;
	}
	DFS_DEBUG("inode %" PRIu64 ": block 0 allocated with its create: id=%" PRIu64,
		  r->attr->ino, r->block->block->block_id);
}

void nn_alloc_reported(struct nn *nn, uint64_t block_id, int64_t now)
{
	if (block_id < NS_UNRECORDED_ID_MIN)
		return;
	uint64_t gs, len;
	uint32_t rep;
	struct bm_block *b = bm_find(&nn->dm, block_id);
	if (b == NULL || ns_block_info(nn->ns, block_id, &gs, &len, &rep) != -ENOENT)
		return;
	if (b->busy_until_ms < now + NN_BUSY_AFTER_ALLOC_MS)
		b->busy_until_ms = now + NN_BUSY_AFTER_ALLOC_MS;
}
