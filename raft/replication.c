/*
 * raft/replication.c - log replication (paper 5.3) and the commit rule
 * (paper 5.4.2).
 *
 * Owns: becoming leader (no-op entry), per-follower progress in the
 * probe / replicate / snapshot states, pipelined and batched
 * AppendEntries bounded by max_inflight, heartbeats, the follower's
 * consistency check and conflict truncation, and commit advancement.
 */
#include "raft/raft_int.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

struct raft_progress *raft_repl_progress(struct raft *r, raft_id id)
{
	for (unsigned k = 0; k < r->n_prs; k++)
		if (r->prs[k].id == id)
			return &r->prs[k];
	return NULL;
}

void raft_repl_reset_progress(struct raft *r, struct raft_progress *pr)
{
	raft_id id = pr->id;
	memset(pr, 0, sizeof(*pr));
	pr->id = id;
	pr->next = raft_log_last_index(&r->log) + 1;
	pr->state = PR_PROBE;
	pr->recent_active = true;
	if (id == r->id)
		pr->match = r->log.durable;
}

void raft_repl_become_leader(struct raft *r)
{
	r->role = RAFT_LEADER;
	r->leader = r->id;
	r->election_elapsed = 0;
	r->heartbeat_elapsed = 0;
	raft_transfer_abort(r);
	raft_read_index_reset(r);
	r->lease_held = false;
	r->lease_seq = r->read_seq; /* rounds of this term only */
	r->n_prs = 0;
	for (uint32_t k = 0; k < r->conf.n; k++) {
		r->prs[r->n_prs].id = r->conf.voters[k];
		raft_repl_reset_progress(r, &r->prs[r->n_prs++]);
	}
	raft_logf(r, RAFT_NOTICE, "%llu: leader in term %llu",
		  (unsigned long long)r->id, (unsigned long long)r->term);
	r->term_start = raft_log_last_index(&r->log) + 1;
	if (raft_repl_leader_append(r, RAFT_ENTRY_NOOP, NULL, 0, NULL) != 0) {
		/* Without its no-op a leader cannot commit: give up. */
		raft_election_become_follower(r, r->term, 0);
	}
}

static void inflight_add(struct raft_progress *pr, raft_index last)
{
	unsigned slot = (pr->inflight_head + pr->n_inflight) % RAFT_INFLIGHT_MAX;
	pr->inflight[slot] = last;
	pr->n_inflight++;
}

static void inflight_free_to(struct raft_progress *pr, raft_index index)
{
	while (pr->n_inflight && pr->inflight[pr->inflight_head] <= index) {
		pr->inflight_head = (pr->inflight_head + 1) % RAFT_INFLIGHT_MAX;
		pr->n_inflight--;
	}
}

static bool progress_paused(const struct raft *r,
			    const struct raft_progress *pr)
{
	switch (pr->state) {
	case PR_PROBE: return pr->probe_sent;
	case PR_REPLICATE: return pr->n_inflight >= r->o.max_inflight;
	default: return true;
	}
}

static void become_probe(struct raft_progress *pr)
{
	pr->state = PR_PROBE;
	pr->probe_sent = false;
	pr->n_inflight = 0;
	pr->inflight_head = 0;
	pr->next = pr->match + 1;
}

static void become_replicate(struct raft_progress *pr)
{
	pr->state = PR_REPLICATE;
	pr->probe_sent = false;
	pr->n_inflight = 0;
	pr->inflight_head = 0;
	pr->next = pr->match + 1;
}

/* How many entries from pr->next fit in one message. */
static uint32_t batch_len(const struct raft *r, raft_index next)
{
	raft_index last = raft_log_last_index(&r->log);
	size_t bytes = 0;
	uint32_t n = 0;
	for (raft_index i = next; i <= last && n < r->o.max_batch_entries;
	     i++) {
		size_t len = raft_log_get(&r->log, i)->data.len;
		if (n > 0 && bytes + len > r->o.max_batch_bytes)
			break;
		bytes += len;
		n++;
	}
	return n;
}

/* Send one AppendEntries (or a snapshot) to pr if its flow allows.
 * Returns true if something was sent. */
bool raft_repl_send_append(struct raft *r, struct raft_progress *pr, bool empty_ok)
{
	if (pr->id == r->id || progress_paused(r, pr))
		return false;
	raft_index prev = pr->next - 1;
	if (prev < r->log.offset) {
		raft_snapshot_send(r, pr);
		return true;
	}
	uint32_t n = batch_len(r, pr->next);
	if (n == 0 && !empty_ok)
		return false;
	struct raft_msg m = {
		.type = RAFT_MSG_APPEND,
		.to = pr->id,
		.index = prev,
		.log_term = raft_log_term(&r->log, prev),
		.commit = r->commit,
		.n_entries = n,
		.entries = n ? raft_log_get(&r->log, pr->next) : NULL,
	};
	raft_send(r, &m);
	if (pr->state == PR_REPLICATE && n > 0) {
		pr->next += n;
		inflight_add(pr, pr->next - 1);
	} else if (pr->state == PR_PROBE) {
		pr->probe_sent = true;
	}
	return true;
}

/* Send to pr as much as the pipeline allows. */
static void send_all(struct raft *r, struct raft_progress *pr, bool empty_ok)
{
	raft_index last = raft_log_last_index(&r->log);
	if (!raft_repl_send_append(r, pr, empty_ok))
		return;
	while (pr->state == PR_REPLICATE && pr->next <= last &&
	       raft_repl_send_append(r, pr, false))
		;
}

void raft_repl_broadcast_append(struct raft *r)
{
	for (unsigned k = 0; k < r->n_prs; k++)
		send_all(r, &r->prs[k], true);
}

/* The commit index moved: send what followers lack, but no empty append
 * just for the new commit index. Followers learn it from the next append
 * or heartbeat (they need it only to apply); the empty appends and their
 * answers were 40% of a busy leader's Raft messages. */
void raft_repl_on_commit(struct raft *r)
{
	for (unsigned k = 0; k < r->n_prs; k++)
		send_all(r, &r->prs[k], false);
}

void raft_repl_broadcast_heartbeat(struct raft *r, uint64_t ctx)
{
	r->hb_sent[ctx % RAFT_HEARTBEAT_RING] = r->now;
	for (unsigned k = 0; k < r->n_prs; k++) {
		struct raft_progress *pr = &r->prs[k];
		if (pr->id == r->id)
			continue;
		struct raft_msg m = {
			.type = RAFT_MSG_HEARTBEAT,
			.to = pr->id,
			.commit = pr->match < r->commit ? pr->match : r->commit,
			.ctx = ctx,
		};
		raft_send(r, &m);
	}
}

static bool quorum_active(struct raft *r)
{
	unsigned active = 0;
	for (unsigned k = 0; k < r->n_prs; k++) {
		struct raft_progress *pr = &r->prs[k];
		if (pr->id == r->id || pr->recent_active)
			active++;
		pr->recent_active = false;
	}
	return active >= raft_quorum(r);
}

void raft_repl_tick(struct raft *r)
{
	r->heartbeat_elapsed++;
	r->election_elapsed++;
	if (r->election_elapsed >= r->o.election_ticks) {
		r->election_elapsed = 0;
		if (r->o.check_quorum && !quorum_active(r)) {
			raft_logf(r, RAFT_WARN, "%llu: lost quorum, stepping down",
				  (unsigned long long)r->id);
			raft_election_become_follower(r, r->term, 0);
			return;
		}
	}
	if (r->transferee && ++r->transfer_elapsed >= r->o.election_ticks)
		raft_transfer_abort(r);
	for (unsigned k = 0; k < r->n_prs; k++)
		raft_snapshot_tick(r, &r->prs[k]);
	if (r->heartbeat_elapsed >= r->o.heartbeat_ticks) {
		r->heartbeat_elapsed = 0;
		/* a fresh round: its send tick dates what its acks prove */
		raft_repl_broadcast_heartbeat(r, ++r->read_seq);
	}
}

static int cmp_desc(const void *a, const void *b)
{
	raft_index x = *(const raft_index *)a, y = *(const raft_index *)b;
	return x < y ? 1 : x > y ? -1 : 0;
}

/* Paper 5.4.2: commit the highest index replicated on a quorum, but only
 * by counting replicas of an entry from the leader's current term. */
bool raft_repl_maybe_commit(struct raft *r)
{
	raft_index m[RAFT_VOTERS_MAX];
	unsigned n = 0;
	for (unsigned k = 0; k < r->n_prs; k++)
		m[n++] = r->prs[k].match;
	if (n == 0)
		return false;
	qsort(m, n, sizeof(m[0]), cmp_desc);
	raft_index idx = m[raft_quorum(r) - 1];
	if (idx <= r->commit || raft_log_term(&r->log, idx) != r->term)
		return false;
	raft_repl_commit_to(r, idx);
	return true;
}

void raft_repl_commit_to(struct raft *r, raft_index commit)
{
	if (commit <= r->commit)
		return;
	assert(commit <= raft_log_last_index(&r->log));
	r->commit = commit;
	raft_membership_on_commit(r);
}

int raft_repl_leader_append(struct raft *r, uint8_t type, const void *data,
		       size_t len, raft_index *index)
{
	struct raft_entry e = {
		.term = r->term,
		.index = raft_log_last_index(&r->log) + 1,
		.type = type,
		.data = {.base = (void *)data, .len = len},
	};
	int rv = raft_log_append_copy(&r->log, &e);
	if (rv != 0)
		return rv;
	if (type == RAFT_ENTRY_CONFIG)
		raft_membership_on_append(r, raft_log_get(&r->log, e.index));
	if (index != NULL)
		*index = e.index;
	/* Batching: entries proposed before the next raft_ready() travel
	 * together (see raft_repl_flush()). */
	r->bcast_pending = true;
	return 0;
}

/* A candidate or pre-candidate that hears from the leader of its term
 * steps back; every follower restarts its election timer. */
static void heard_from_leader(struct raft *r, raft_id leader)
{
	if (r->role != RAFT_FOLLOWER || r->leader != leader)
		raft_election_become_follower(r, r->term, leader);
	r->election_elapsed = 0;
}

/* Where the leader should retry after a mismatch at prev: skip the whole
 * conflicting term (dissertation 5.3 optimisation), never below commit. */
static raft_index reject_hint(const struct raft *r, raft_index prev)
{
	raft_index last = raft_log_last_index(&r->log);
	if (prev > last)
		return last;
	raft_term t = raft_log_term(&r->log, prev);
	raft_index i = prev - 1;
	while (i > r->commit && raft_log_term(&r->log, i) == t)
		i--;
	return i;
}

/* Append m's entries after prev, truncating a conflicting suffix.  Returns
 * false if memory ran out (the message is then treated as lost). */
static bool append_entries(struct raft *r, const struct raft_msg *m)
{
	for (uint32_t k = 0; k < m->n_entries; k++) {
		const struct raft_entry *e = &m->entries[k];
		if (e->index != m->index + 1 + k)
			return false;
		raft_index last = raft_log_last_index(&r->log);
		if (e->index <= last) {
			if (raft_log_term(&r->log, e->index) == e->term)
				continue;
			/* Paper 5.3: delete the conflicting entry and all
			 * that follow it.  Committed entries never conflict:
			 * a message claiming so is dropped, not obeyed. */
			if (e->index <= r->commit) {
				raft_logf(r, RAFT_WARN,
					  "%llu: append conflicts with "
					  "committed index %llu, dropped",
					  (unsigned long long)r->id,
					  (unsigned long long)e->index);
				return false;
			}
			raft_log_truncate(&r->log, e->index);
			raft_membership_on_truncate(r);
		}
		if (raft_log_append_copy(&r->log, e) != 0)
			return false;
		raft_membership_on_append(r, e);
	}
	return true;
}

void raft_repl_recv_append(struct raft *r, const struct raft_msg *m)
{
	if (r->role == RAFT_LEADER)
		return; /* two leaders in one term: impossible, ignore */
	heard_from_leader(r, m->from);
	struct raft_msg resp = {.type = RAFT_MSG_APPEND_RESP, .to = m->from};
	if (m->index < r->commit) {
		resp.index = r->commit;
		raft_send(r, &resp);
		return;
	}
	if (m->index > raft_log_last_index(&r->log) ||
	    raft_log_term(&r->log, m->index) != m->log_term) {
		resp.reject = true;
		resp.index = m->index;
		resp.hint = reject_hint(r, m->index);
		raft_send(r, &resp);
		return;
	}
	if (!append_entries(r, m))
		return;
	raft_index last_new = m->index + m->n_entries;
	raft_repl_commit_to(r, m->commit < last_new ? m->commit : last_new);
	resp.index = last_new;
	raft_send(r, &resp);
}

static void recv_reject(struct raft *r, struct raft_progress *pr,
			const struct raft_msg *m)
{
	if (m->index <= pr->match || pr->state == PR_SNAPSHOT)
		return; /* stale */
	if (pr->state == PR_PROBE && m->index != pr->next - 1)
		return; /* answer to an older probe */
	raft_index next = m->index < m->hint + 1 ? m->index : m->hint + 1;
	if (next < pr->match + 1)
		next = pr->match + 1;
	become_probe(pr);
	pr->next = next;
	raft_repl_send_append(r, pr, true);
}

void raft_repl_recv_append_resp(struct raft *r, const struct raft_msg *m)
{
	if (r->role != RAFT_LEADER)
		return;
	struct raft_progress *pr = raft_repl_progress(r, m->from);
	if (pr == NULL)
		return;
	pr->recent_active = true;
	if (m->reject) {
		recv_reject(r, pr, m);
		return;
	}
	if (m->index > raft_log_last_index(&r->log))
		return; /* cannot be an answer to us */
	if (m->index > pr->match)
		pr->match = m->index;
	if (pr->next < pr->match + 1)
		pr->next = pr->match + 1;
	inflight_free_to(pr, m->index);
	if (pr->state == PR_PROBE ||
	    (pr->state == PR_SNAPSHOT && pr->match >= pr->pending_snapshot))
		become_replicate(pr);
	if (raft_repl_maybe_commit(r)) {
		if (r->role == RAFT_LEADER)
			raft_repl_on_commit(r);
	} else {
		send_all(r, pr, false);
	}
	if (r->role == RAFT_LEADER)
		raft_transfer_check(r, pr);
}

void raft_repl_recv_heartbeat(struct raft *r, const struct raft_msg *m)
{
	if (r->role == RAFT_LEADER)
		return;
	heard_from_leader(r, m->from);
	raft_index last = raft_log_last_index(&r->log);
	raft_repl_commit_to(r, m->commit < last ? m->commit : last);
	struct raft_msg resp = {
		.type = RAFT_MSG_HEARTBEAT_RESP, .to = m->from, .ctx = m->ctx};
	raft_send(r, &resp);
}

void raft_repl_recv_heartbeat_resp(struct raft *r, const struct raft_msg *m)
{
	if (r->role != RAFT_LEADER)
		return;
	struct raft_progress *pr = raft_repl_progress(r, m->from);
	if (pr == NULL)
		return;
	pr->recent_active = true;
	pr->probe_sent = false;
	if (pr->state == PR_REPLICATE && pr->n_inflight >= r->o.max_inflight) {
		/* Free one slot so a lost window cannot stall us: the next
		 * append either fills a gap or is rejected, which re-probes. */
		pr->inflight_head = (pr->inflight_head + 1) % RAFT_INFLIGHT_MAX;
		pr->n_inflight--;
	}
	if (pr->match < raft_log_last_index(&r->log))
		raft_repl_send_append(r, pr, true);
	if (m->ctx > pr->read_acked && m->ctx <= r->read_seq) {
		pr->read_acked = m->ctx;
		raft_read_index_on_ack(r);
	}
}

void raft_repl_flush(struct raft *r)
{
	if (r->bcast_pending && r->role == RAFT_LEADER)
		raft_repl_broadcast_append(r);
	r->bcast_pending = false;
}
