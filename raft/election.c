/*
 * raft/election.c - leader election, pre-vote, leases and leader transfer.
 *
 * Owns: role changes to follower / pre-candidate / candidate, randomized
 * election timeouts, vote granting (paper 5.2, 5.4.1), the pre-vote phase
 * (dissertation 9.6), the check-quorum lease, and TimeoutNow handling for
 * leader transfer (dissertation 3.10).  Becoming leader is replication.c's.
 */
#include "raft/raft_int.h"

#include <assert.h>
#include <string.h>

void raft_election_reset_timeout(struct raft *r)
{
	unsigned e = r->o.election_ticks;
	r->randomized_timeout = e + (unsigned)(raft_rand(r) % e);
}

void raft_election_become_follower(struct raft *r, raft_term term, raft_id leader)
{
	if (term > r->term) {
		r->term = term;
		r->vote = 0;
	}
	if (r->role != RAFT_FOLLOWER || r->leader != leader)
		raft_logf(r, RAFT_INFO, "%llu: follower in term %llu (leader %llu)",
			  (unsigned long long)r->id, (unsigned long long)r->term,
			  (unsigned long long)leader);
	if (r->role == RAFT_LEADER)
		raft_read_index_reset(r);
	r->role = RAFT_FOLLOWER;
	r->leader = leader;
	r->election_elapsed = 0;
	r->transferee = 0;
	raft_election_reset_timeout(r);
}

/* Followers (and the leader itself) ignore disruptive vote requests while
 * they have heard from a leader within the minimum election timeout. */
bool raft_election_in_lease(const struct raft *r)
{
	/* With lease reads a node that just started may have acknowledged
	 * a leader's round before a crash: it waits out a lease first. */
	if (r->o.check_quorum && r->o.lease_reads && r->now < r->o.election_ticks)
		return true;
	return r->o.check_quorum && r->leader != 0 &&
	       r->election_elapsed < r->o.election_ticks;
}

void raft_election_tick(struct raft *r)
{
	r->election_elapsed++;
	if (r->election_elapsed < r->randomized_timeout)
		return;
	r->election_elapsed = 0;
	if (!raft_membership_promotable(r)) {
		raft_election_reset_timeout(r);
		return;
	}
	raft_election_start(r, r->o.pre_vote, false);
}

static void tally_reset(struct raft *r)
{
	r->votes_granted = 0;
	r->votes_rejected = 0;
	r->n_voters_seen = 0;
}

/* Count one response; returns false for a duplicate or a non-voter. */
static bool tally(struct raft *r, raft_id from, bool granted)
{
	if (!raft_config_has(&r->conf, from))
		return false;
	for (unsigned k = 0; k < r->n_voters_seen; k++)
		if (r->voters_seen[k] == from)
			return false;
	r->voters_seen[r->n_voters_seen++] = from;
	if (granted)
		r->votes_granted++;
	else
		r->votes_rejected++;
	return true;
}

static void raft_election_won(struct raft *r, bool pre, bool transfer)
{
	if (pre)
		raft_election_start(r, false, transfer);
	else
		raft_repl_become_leader(r);
}

void raft_election_start(struct raft *r, bool pre, bool transfer)
{
	assert(raft_membership_promotable(r));
	if (r->role == RAFT_LEADER)
		raft_read_index_reset(r);
	r->leader = 0;
	r->election_elapsed = 0;
	raft_election_reset_timeout(r);
	tally_reset(r);
	raft_term term = r->term + 1;
	if (pre) {
		r->role = RAFT_PRECANDIDATE;
	} else {
		r->role = RAFT_CANDIDATE;
		r->term = term;
		r->vote = r->id;
	}
	raft_logf(r, RAFT_INFO, "%llu: %s for term %llu",
		  (unsigned long long)r->id, raft_role_name(r->role),
		  (unsigned long long)term);
	tally(r, r->id, true);
	if (r->votes_granted >= raft_quorum(r)) {
		raft_election_won(r, pre, transfer);
		return;
	}
	for (uint32_t k = 0; k < r->conf.n; k++) {
		if (r->conf.voters[k] == r->id)
			continue;
		struct raft_msg m = {
			.type = pre ? RAFT_MSG_PREVOTE : RAFT_MSG_VOTE,
			.to = r->conf.voters[k],
			.term = term,
			.index = raft_log_last_index(&r->log),
			.log_term = raft_log_last_term(&r->log),
			.transfer = transfer,
		};
		raft_send(r, &m);
	}
}

/* Vote and pre-vote requests (term >= ours after raft.c's term rules). */
void raft_election_recv_vote(struct raft *r, const struct raft_msg *m)
{
	bool pre = m->type == RAFT_MSG_PREVOTE;
	bool can_vote = r->vote == m->from ||
			(r->vote == 0 && r->leader == 0) ||
			(pre && m->term > r->term);
	bool grant = can_vote &&
		     raft_log_is_up_to_date(&r->log, m->index, m->log_term);
	struct raft_msg resp = {
		.type = pre ? RAFT_MSG_PREVOTE_RESP : RAFT_MSG_VOTE_RESP,
		.to = m->from,
		.term = grant ? m->term : r->term,
		.reject = !grant,
	};
	if (grant && !pre) {
		r->vote = m->from;
		r->election_elapsed = 0;
	}
	raft_send(r, &resp);
}

void raft_election_recv_vote_resp(struct raft *r, const struct raft_msg *m)
{
	bool pre = m->type == RAFT_MSG_PREVOTE_RESP;
	if (pre ? r->role != RAFT_PRECANDIDATE : r->role != RAFT_CANDIDATE)
		return;
	if (pre && !m->reject && m->term != r->term + 1)
		return;
	if (!tally(r, m->from, !m->reject))
		return;
	if (r->votes_granted >= raft_quorum(r))
		raft_election_won(r, pre, false);
	else if (r->votes_rejected >= raft_quorum(r))
		raft_election_become_follower(r, r->term, 0);
}

void raft_transfer_recv_timeout_now(struct raft *r, const struct raft_msg *m)
{
	(void)m;
	if (r->role == RAFT_LEADER || !raft_membership_promotable(r))
		return;
	raft_logf(r, RAFT_INFO, "%llu: TimeoutNow from %llu",
		  (unsigned long long)r->id, (unsigned long long)m->from);
	raft_election_start(r, false, true);
}

void raft_transfer_check(struct raft *r, struct raft_progress *pr)
{
	if (r->transferee != pr->id ||
	    pr->match != raft_log_last_index(&r->log))
		return;
	struct raft_msg m = {.type = RAFT_MSG_TIMEOUT_NOW, .to = pr->id};
	raft_send(r, &m);
}

void raft_transfer_abort(struct raft *r)
{
	r->transferee = 0;
	r->transfer_elapsed = 0;
}

int raft_transfer(struct raft *r, raft_id target)
{
	assert(!r->in_ready);
	if (r->role != RAFT_LEADER)
		return -RAFT_ENOTLEADER;
	if (target == r->id)
		return 0;
	struct raft_progress *pr = raft_repl_progress(r, target);
	if (pr == NULL)
		return -RAFT_EBADCONF;
	if (r->transferee == target)
		return 0;
	r->transferee = target;
	r->transfer_elapsed = 0;
	r->lease_held = false; /* the target's election ignores leases */
	raft_logf(r, RAFT_INFO, "%llu: transferring leadership to %llu",
		  (unsigned long long)r->id, (unsigned long long)target);
	if (pr->match == raft_log_last_index(&r->log))
		raft_transfer_check(r, pr);
	else
		raft_repl_send_append(r, pr, true);
	return 0;
}
