/* pipeline_recovery.c: a write pipeline goes on without a datanode that
 * died, stalled or refused a packet (HDFS pipeline recovery):
 *   1. drop the failed datanode from the pipeline (w->blk.locs);
 *   2. OPEN_BLOCK with exclude_nodes = it: the namenode bumps the block's
 *      genstamp, so the dropped replica is stale from now on (a block no
 *      COMPLETE recorded yet is named in full, NSF_UNRECORDED: the leader
 *      answers from memory, block_alloc.c);
 *   3. reopen the stream to the remaining datanodes with create = false,
 *      prev_genstamp = the genstamp the stream started from (w->base_gs).
 *      A datanode takes a replica at that genstamp or at one of this
 *      writer's later ones: a survivor may never have seen the failed
 *      stream's header (its first datanode was already dead) or may have
 *      finished that stream (its last packet went through before the ack
 *      that showed the failure). A new replica of which nothing was acked
 *      yet is simply created again;
 *   4. resend every packet not yet acked by all, the first one truncating
 *      the replicas to the length the acked packets made (acked_len), so
 *      no byte is lost or duplicated and nothing unacked survives.
 * Re-replication later restores the replica count (namenode side). */
#include "libdfs/internal.h"

#include <errno.h>
#include <string.h>

#include "common/log.h"

/* The error a stream that lost every datanode returns. */
static int final_error(int status)
{
	return status == -ENOSPC || status == -EDQUOT ? status : -EIO;
}

/* OPEN_BLOCK excluding `bad`: the block's new genstamp in *gs. */
static int new_genstamp(dfs_client *c, struct dfsc_bwriter *w, const char *bad, uint64_t *gs)
{
	Dfs__NsRequest req = DFS__NS_REQUEST__INIT;
	Dfs__NsReply *reply;
	char *excl[1] = { (char *)bad };
	req.has_ino = req.has_block_index = 1;
	req.ino = w->ino;
	req.block_index = w->index;
	req.n_exclude_nodes = 1;
	req.exclude_nodes = excl;
	Dfs__BlockRef cur = DFS__BLOCK_REF__INIT, *curp = &cur;
	if (w->unrecorded) { /* the namenode knows it only from us */
		cur.block_id = w->blk.block_id;
		cur.genstamp = w->blk.genstamp;
		cur.length = w->acked_len;
		req.has_flags = 1;
		req.flags = DFS__NS_FLAG__NSF_UNRECORDED;
		req.n_blocks = 1;
		req.blocks = &curp;
	}
	if (w->cred != NULL)
		dfsc_req_set_cred(&req, w->cred);
	int rc = dfsc_call(c, DFS_M_OPEN_BLOCK, &req, &reply);
	if (rc < 0)
		return rc;
	if (reply->block == NULL || reply->block->block == NULL ||
	    reply->block->block->block_id != w->blk.block_id)
		rc = -DFS_EPROTOCOL;
	else
		*gs = reply->block->block->genstamp;
	dfs__ns_reply__free_unpacked(reply, NULL);
	return rc;
}

static void drop_location(struct dfsc_bwriter *w, int pos)
{
	for (int i = pos; i + 1 < w->blk.n_locs; i++)
		w->blk.locs[i] = w->blk.locs[i + 1];
	w->blk.n_locs--;
}

int dfsc_bwriter_recover(dfs_client *c, struct dfsc_bwriter *w)
{
	unsigned long long id = (unsigned long long)w->blk.block_id;
	int pos = w->bad_pos < 0 ? 0 : w->bad_pos;
	if (pos >= w->blk.n_locs)
		pos = w->blk.n_locs - 1;
	int why = w->bad_status;
	struct dfsc_loc bad = w->blk.locs[pos];
	dfsc_bwriter_abort(w);
	drop_location(w, pos);
	if (w->blk.n_locs == 0 || ++w->recoveries > DFSC_RECOVERY_MAX) {
		dfsc_log(c, DFS_LOG_ERR, "block %llu: datanode %s:%u failed (%s) and no datanode "
			 "is left in the pipeline", id, bad.host, bad.port, dfs_strerror(why));
		return final_error(why);
	}
	dfsc_log(c, DFS_LOG_WARN, "block %llu: datanode %s:%u (pipeline position %d) failed "
		 "(%s): recovering the pipeline with %d datanode(s)", id, bad.host, bad.port, pos,
		 dfs_strerror(why), w->blk.n_locs);
	uint64_t gs, prev = w->blk.genstamp;
	int rc = new_genstamp(c, w, bad.uuid, &gs);
	if (rc < 0) {
		dfsc_log(c, DFS_LOG_ERR, "block %llu: pipeline recovery: OPEN_BLOCK: %s", id,
			 dfs_strerror(rc));
		return rc;
	}
	w->blk.genstamp = gs;
	bool create = w->create && w->acked == 0;
	if (dfsc_bwriter_connect(c, w, create, w->base_gs) < 0) {
		w->bad_pos = 0;
		w->bad_status = -EHOSTUNREACH;
		return 1;
	}
	w->create = create;
	for (uint64_t s = w->acked; s < w->next_seq; s++) {
		if (dfsc_bwriter_send(c, w, s, s == w->acked, w->acked_len) < 0) {
			w->bad_pos = 0;
			w->bad_status = -EIO;
			return 1;
		}
	}
	w->bad_pos = -1;
	w->bad_status = 0;
	dfsc_log(c, DFS_LOG_NOTICE, "block %llu: pipeline recovered: genstamp %llu -> %llu, "
		 "%d datanode(s), %llu packet(s) resent from length %llu", id,
		 (unsigned long long)prev, (unsigned long long)gs, w->blk.n_locs,
		 (unsigned long long)(w->next_seq - w->acked), (unsigned long long)w->acked_len);
	return 0;
}
