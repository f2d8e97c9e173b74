/*
 * raft/snapshot.c - InstallSnapshot (paper section 7), core side only.
 *
 * Owns: the leader's decision to send a snapshot to a follower whose next
 * entry was compacted away (the embedder streams the data), the timeout
 * that returns such a follower to probing, and the follower's handling of
 * a received snapshot: fast-forward if its log already holds the entry,
 * otherwise reset the log and hand the snapshot to the embedder in ready.
 */
#include "raft/raft_int.h"

void raft_snapshot_send(struct raft *r, struct raft_progress *pr)
{
	struct raft_msg m = {
		.type = RAFT_MSG_SNAPSHOT,
		.to = pr->id,
		.snap = {.index = r->log.offset,
			 .term = r->log.offset_term,
			 .conf = r->log.snap_conf},
	};
	raft_logf(r, RAFT_INFO, "%llu: sending snapshot %llu to %llu",
		  (unsigned long long)r->id, (unsigned long long)r->log.offset,
		  (unsigned long long)pr->id);
	raft_send(r, &m);
	pr->state = PR_SNAPSHOT;
	pr->pending_snapshot = r->log.offset;
	pr->snapshot_ticks = 0;
	pr->n_inflight = 0;
	pr->probe_sent = false;
}

static void back_to_probe(struct raft_progress *pr)
{
	pr->state = PR_PROBE;
	pr->probe_sent = false;
	pr->next = pr->match + 1;
	pr->pending_snapshot = 0;
}

void raft_snapshot_tick(struct raft *r, struct raft_progress *pr)
{
	if (pr->state == PR_SNAPSHOT &&
	    ++pr->snapshot_ticks >= 2 * r->o.election_ticks)
		back_to_probe(pr);
}

void raft_report_snapshot_failed(struct raft *r, raft_id peer)
{
	if (r->role != RAFT_LEADER)
		return;
	struct raft_progress *pr = raft_repl_progress(r, peer);
	if (pr != NULL && pr->state == PR_SNAPSHOT)
		back_to_probe(pr);
}

void raft_snapshot_recv(struct raft *r, const struct raft_msg *m)
{
	if (r->role == RAFT_LEADER)
		return;
	if (r->role != RAFT_FOLLOWER || r->leader != m->from)
		raft_election_become_follower(r, r->term, m->from);
	r->election_elapsed = 0;
	const struct raft_snapshot_meta *s = &m->snap;
	struct raft_msg resp = {.type = RAFT_MSG_APPEND_RESP, .to = m->from};
	if (s->index <= r->commit) {
		resp.index = r->commit;
	} else if (raft_log_term(&r->log, s->index) == s->term) {
		raft_repl_commit_to(r, s->index);
		resp.index = s->index;
	} else {
		raft_logf(r, RAFT_INFO, "%llu: installing snapshot %llu/%llu",
			  (unsigned long long)r->id,
			  (unsigned long long)s->index,
			  (unsigned long long)s->term);
		raft_log_reset(&r->log, s->index, s->term, &s->conf);
		r->commit = r->applied = s->index;
		raft_membership_set(r, &s->conf, s->index);
		r->snap_pending = true;
		r->snap = *s;
		resp.index = s->index;
	}
	raft_send(r, &resp);
}
