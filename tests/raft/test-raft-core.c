/*
 * tests/raft/test-raft-core.c - cmocka unit tests of the pure Raft core,
 * each named after the sentence of the Raft paper (Ongaro & Ousterhout,
 * "In Search of an Understandable Consensus Algorithm", and Ongaro's
 * dissertation) that it checks, in the manner of etcd's raft_paper_test.go.
 *
 * Owns: a tiny in-memory cluster harness (messages queued, delivered on
 * demand, links droppable) and the tests.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "raft/raft.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NODES_MAX 6
#define QUEUE_MAX 4096

struct cluster {
	struct raft *r[NODES_MAX + 1];
	unsigned n;
	bool drop[NODES_MAX + 1][NODES_MAX + 1];
	struct raft_msg q[QUEUE_MAX];
	size_t nq;
	raft_index applied[NODES_MAX + 1];
	struct raft_read_state reads[NODES_MAX + 1][16];
	size_t n_reads[NODES_MAX + 1];
	struct raft_snapshot_meta installed[NODES_MAX + 1];
};

static struct raft *new_core_lease(raft_id id, unsigned n_voters, uint64_t seed,
				   bool pre_vote, bool check_quorum, bool lease_reads)
{
	struct raft_options o;
	raft_options_default(&o, id, seed);
	o.pre_vote = pre_vote;
	o.check_quorum = check_quorum;
	o.lease_reads = lease_reads;
	o.max_inflight = 4;
	struct raft *r = raft_new(&o);
	assert_non_null(r);
	struct raft_snapshot_meta snap = {.conf = {.n = n_voters}};
	for (unsigned k = 0; k < n_voters; k++)
		snap.conf.voters[k] = k + 1;
	struct raft_hard_state hs = {0};
	assert_int_equal(raft_restore(r, &snap, &hs, NULL, 0), 0);
	return r;
}

static struct raft *new_core(raft_id id, unsigned n_voters, uint64_t seed,
			     bool pre_vote, bool check_quorum)
{
	return new_core_lease(id, n_voters, seed, pre_vote, check_quorum, false);
}

static struct cluster *cluster_new(unsigned n, bool pre_vote, bool cq)
{
	struct cluster *c = calloc(1, sizeof(*c));
	c->n = n;
	for (unsigned id = 1; id <= n; id++)
		c->r[id] = new_core(id, n, 1000 + id, pre_vote, cq);
	return c;
}

static void msg_free(struct raft_msg *m)
{
	for (uint32_t k = 0; k < m->n_entries; k++)
		free(m->entries[k].data.base);
	free(m->entries);
}

static void cluster_free(struct cluster *c)
{
	for (size_t k = 0; k < c->nq; k++)
		msg_free(&c->q[k]);
	for (unsigned id = 1; id <= NODES_MAX; id++)
		raft_free(c->r[id]);
	free(c);
}

static void queue_msg(struct cluster *c, const struct raft_msg *m)
{
	assert_true(c->nq < QUEUE_MAX);
	struct raft_msg *d = &c->q[c->nq++];
	*d = *m;
	d->entries = NULL;
	if (m->n_entries) {
		d->entries = calloc(m->n_entries, sizeof(*d->entries));
		for (uint32_t k = 0; k < m->n_entries; k++) {
			d->entries[k] = m->entries[k];
			d->entries[k].data.base = NULL;
			if (m->entries[k].data.len) {
				d->entries[k].data.base =
					malloc(m->entries[k].data.len);
				memcpy(d->entries[k].data.base,
				       m->entries[k].data.base,
				       m->entries[k].data.len);
			}
		}
	}
}

/* Run the ready loop of node id: "persist", queue messages, apply. */
static void flush(struct cluster *c, raft_id id)
{
	struct raft *r = c->r[id];
	while (r && raft_has_ready(r)) {
		struct raft_ready rd;
		raft_ready(r, &rd);
		if (rd.snapshot) {
			c->installed[id] = *rd.snapshot;
			c->applied[id] = rd.snapshot->index;
		}
		for (size_t k = 0; k < rd.n_msgs; k++)
			queue_msg(c, &rd.msgs[k]);
		for (size_t k = 0; k < rd.n_committed; k++) {
			assert_int_equal(rd.committed[k].index,
					 c->applied[id] + 1);
			c->applied[id] = rd.committed[k].index;
		}
		for (size_t k = 0; k < rd.n_reads; k++)
			c->reads[id][c->n_reads[id]++] = rd.reads[k];
		raft_advance(r, &rd);
	}
}

static void flush_all(struct cluster *c)
{
	for (raft_id id = 1; id <= NODES_MAX; id++)
		flush(c, id);
}

/* Deliver queued messages (and whatever they cause) until quiet. */
static void deliver(struct cluster *c)
{
	flush_all(c);
	while (c->nq > 0) {
		struct raft_msg m = c->q[0];
		memmove(c->q, c->q + 1, (c->nq - 1) * sizeof(c->q[0]));
		c->nq--;
		if (c->r[m.to] != NULL && !c->drop[m.from][m.to]) {
			assert_int_equal(raft_step(c->r[m.to], &m), 0);
			flush(c, m.to);
		}
		msg_free(&m);
	}
}

static void drop_queue(struct cluster *c)
{
	flush_all(c);
	for (size_t k = 0; k < c->nq; k++)
		msg_free(&c->q[k]);
	c->nq = 0;
}

static void tick(struct cluster *c, raft_id id, unsigned n)
{
	for (unsigned k = 0; k < n; k++) {
		raft_tick(c->r[id]);
		flush(c, id);
	}
}

static void tick_all(struct cluster *c, unsigned n)
{
	for (unsigned k = 0; k < n; k++) {
		for (raft_id id = 1; id <= NODES_MAX; id++)
			if (c->r[id])
				tick(c, id, 1);
		deliver(c);
	}
}

static void isolate(struct cluster *c, raft_id id, bool on)
{
	for (raft_id k = 1; k <= NODES_MAX; k++) {
		c->drop[id][k] = on;
		c->drop[k][id] = on;
	}
}

/* Make node id leader by running its election timer out. */
static void elect(struct cluster *c, raft_id id)
{
	for (unsigned k = 0; k < 100 && raft_role(c->r[id]) != RAFT_LEADER;
	     k++) {
		tick(c, id, 1);
		deliver(c);
	}
	assert_int_equal(raft_role(c->r[id]), RAFT_LEADER);
	deliver(c);
}

static raft_index propose(struct cluster *c, raft_id id, const char *s)
{
	raft_index index;
	assert_int_equal(raft_propose(c->r[id], s, strlen(s), &index), 0);
	flush(c, id);
	return index;
}

static struct raft_msg *find_msg(struct cluster *c, int type, raft_id to)
{
	flush_all(c);
	for (size_t k = 0; k < c->nq; k++)
		if (c->q[k].type == type && (to == 0 || c->q[k].to == to))
			return &c->q[k];
	return NULL;
}

/* §5.2 "To begin an election, a follower increments its current term and
 * transitions to candidate state. It then votes for itself and issues
 * RequestVote RPCs in parallel to each of the other servers." */
static void test_candidate_increments_term_and_votes_for_itself(void **state)
{
	(void)state;
	struct cluster *c = cluster_new(3, false, false);
	tick(c, 1, 20); /* past any timeout in [10, 20) */
	assert_int_equal(raft_role(c->r[1]), RAFT_CANDIDATE);
	assert_int_equal(raft_term_of(c->r[1]), 1);
	struct raft_msg *m2 = find_msg(c, RAFT_MSG_VOTE, 2);
	struct raft_msg *m3 = find_msg(c, RAFT_MSG_VOTE, 3);
	assert_non_null(m2);
	assert_non_null(m3);
	assert_int_equal(m2->term, 1);
	struct raft_ready rd;
	assert_false(raft_has_ready(c->r[1]));
	(void)rd;
	cluster_free(c);
}

/* §5.2 "Election timeouts are chosen randomly from a fixed interval." */
static void test_election_timeout_is_randomized(void **state)
{
	(void)state;
	bool seen[41] = {false};
	unsigned distinct = 0;
	for (uint64_t seed = 1; seed <= 50; seed++) {
		struct raft *r = new_core(1, 3, seed, false, false);
		unsigned t = 0;
		while (raft_role(r) == RAFT_FOLLOWER && t < 40) {
			raft_tick(r);
			t++;
		}
		assert_true(t >= 10 && t < 20);
		if (!seen[t]) {
			seen[t] = true;
			distinct++;
		}
		raft_free(r);
	}
	assert_true(distinct > 3);
}

/* §5.2 "A candidate wins an election if it receives votes from a majority
 * of the servers in the full cluster for the same term." and "Once a
 * candidate wins an election, it becomes leader. It then sends heartbeat
 * messages to all of the other servers." */
static void test_candidate_wins_with_majority(void **state)
{
	(void)state;
	struct cluster *c = cluster_new(5, false, false);
	isolate(c, 4, true);
	isolate(c, 5, true);
	elect(c, 1); /* 1, 2, 3 are a majority of 5 */
	assert_int_equal(raft_leader(c->r[2]), 1);
	assert_int_equal(raft_leader(c->r[3]), 1);
	tick(c, 1, 2);
	assert_non_null(find_msg(c, RAFT_MSG_HEARTBEAT, 2));
	cluster_free(c);
}

/* §5.2 "Each server will vote for at most one candidate in a given term,
 * on a first-come-first-served basis." */
static void test_vote_once_per_term(void **state)
{
	(void)state;
	struct cluster *c = cluster_new(3, false, false);
	struct raft_msg v = {.type = RAFT_MSG_VOTE, .from = 2, .to = 1,
			     .term = 1};
	assert_int_equal(raft_step(c->r[1], &v), 0);
	struct raft_msg *r = find_msg(c, RAFT_MSG_VOTE_RESP, 2);
	assert_non_null(r);
	assert_false(r->reject);
	drop_queue(c);
	v.from = 3;
	assert_int_equal(raft_step(c->r[1], &v), 0);
	r = find_msg(c, RAFT_MSG_VOTE_RESP, 3);
	assert_non_null(r);
	assert_true(r->reject);
	drop_queue(c);
	v.from = 2; /* a retransmission from the one we voted for */
	assert_int_equal(raft_step(c->r[1], &v), 0);
	r = find_msg(c, RAFT_MSG_VOTE_RESP, 2);
	assert_false(r->reject);
	cluster_free(c);
}

/* §5.4.1 "The voter denies its vote if its own log is more up-to-date
 * than that of the candidate." */
static void test_vote_denied_to_stale_log(void **state)
{
	(void)state;
	struct cluster *c = cluster_new(3, false, false);
	elect(c, 1);
	propose(c, 1, "x");
	deliver(c); /* 1, 2, 3 hold index 2 of term 1 */
	struct raft_msg v = {.type = RAFT_MSG_VOTE, .from = 3, .to = 2,
			     .term = 5, .index = 1, .log_term = 1};
	assert_int_equal(raft_step(c->r[2], &v), 0);
	struct raft_msg *r = find_msg(c, RAFT_MSG_VOTE_RESP, 3);
	assert_true(r->reject);
	drop_queue(c);
	v.index = 2; /* as up-to-date: granted */
	v.term = 6;
	assert_int_equal(raft_step(c->r[2], &v), 0);
	r = find_msg(c, RAFT_MSG_VOTE_RESP, 3);
	assert_false(r->reject);
	cluster_free(c);
}

/* §5.1 "If a candidate or leader discovers that its term is out of date,
 * it immediately reverts to follower state." */
static void test_leader_steps_down_on_higher_term(void **state)
{
	(void)state;
	struct cluster *c = cluster_new(3, false, false);
	elect(c, 1);
	struct raft_msg m = {.type = RAFT_MSG_APPEND_RESP, .from = 2, .to = 1,
			     .term = 9, .reject = true};
	assert_int_equal(raft_step(c->r[1], &m), 0);
	assert_int_equal(raft_role(c->r[1]), RAFT_FOLLOWER);
	assert_int_equal(raft_term_of(c->r[1]), 9);
	cluster_free(c);
}

/* Dissertation 9.6: with pre-vote, "a server that was partitioned ...
 * will not be able to increment its term" and so rejoining does not
 * depose the leader. */
static void test_prevote_rejoining_node_does_not_disrupt(void **state)
{
	(void)state;
	struct cluster *c = cluster_new(3, true, true);
	elect(c, 1);
	raft_term term = raft_term_of(c->r[1]);
	isolate(c, 3, true);
	tick_all(c, 100);
	assert_int_equal(raft_term_of(c->r[3]), term); /* pre-votes failed */
	assert_int_not_equal(raft_role(c->r[3]), RAFT_LEADER);
	isolate(c, 3, false);
	tick_all(c, 30);
	assert_int_equal(raft_role(c->r[1]), RAFT_LEADER);
	assert_int_equal(raft_term_of(c->r[1]), term);
	assert_int_equal(raft_leader(c->r[3]), 1);
	cluster_free(c);
}

/* Dissertation 6.2: a leader that cannot reach a majority within an
 * election timeout steps down (check-quorum). */
static void test_check_quorum_leader_steps_down(void **state)
{
	(void)state;
	struct cluster *c = cluster_new(3, true, true);
	elect(c, 1);
	isolate(c, 1, true);
	tick(c, 1, 25);
	assert_int_equal(raft_role(c->r[1]), RAFT_FOLLOWER);
	cluster_free(c);
}

/* §5.3 "Once the entry has been safely replicated, the leader applies
 * the entry to its state machine" and "Once a follower learns that a log
 * entry is committed, it applies the entry to its local state machine". */
static void test_replication_commits_and_applies(void **state)
{
	(void)state;
	struct cluster *c = cluster_new(3, true, true);
	elect(c, 1);
	raft_index i = propose(c, 1, "hello");
	deliver(c);
	assert_int_equal(raft_commit_index(c->r[1]), i);
	assert_int_equal(c->applied[1], i);
	tick_all(c, 3); /* heartbeats carry the commit index */
	assert_int_equal(c->applied[2], i);
	assert_int_equal(c->applied[3], i);
	const struct raft_entry *e = raft_entry_at(c->r[3], i);
	assert_int_equal(e->data.len, 5);
	assert_memory_equal(e->data.base, "hello", 5);
	cluster_free(c);
}

/* Delivers the queued messages addressed to `to`; runs its ready loop
 * after each unless the test drives that node's readies itself. */
static void deliver_to(struct cluster *c, raft_id to, bool run_ready)
{
	for (size_t k = 0; k < c->nq;) {
		if (c->q[k].to != to) {
			k++;
			continue;
		}
		struct raft_msg m = c->q[k];
		memmove(&c->q[k], &c->q[k + 1], (c->nq - k - 1) * sizeof(c->q[0]));
		c->nq--;
		assert_int_equal(raft_step(c->r[to], &m), 0);
		msg_free(&m);
		if (run_ready)
			flush(c, to);
	}
}

/* A leader's ready handled with raft_advance_unsynced: its messages leave,
 * its entries are not durable yet. */
static void leader_ready_unsynced(struct cluster *c, raft_id id, struct raft_ready *rd)
{
	raft_ready(c->r[id], rd);
	assert_true(rd->may_sync_later);
	for (size_t k = 0; k < rd->n_msgs; k++)
		queue_msg(c, &rd->msgs[k]);
	raft_advance_unsynced(c->r[id], rd);
}

/* Asynchronous leader writes (thesis 10.2.1): a leader that advanced
 * before its fsync counts its own copy only once raft_synced() says it is
 * durable; until then its entries commit on a quorum of followers alone,
 * and come back in ready.committed although not durable on the leader. */
static void test_unsynced_leader_counts_durable_copy_only(void **state)
{
	(void)state;
	struct cluster *c = cluster_new(3, true, true);
	elect(c, 1);
	tick_all(c, 3);
	struct raft *l = c->r[1];
	struct raft_ready rd;
	raft_index i;
	assert_int_equal(raft_propose(l, "u", 1, &i), 0);
	leader_ready_unsynced(c, 1, &rd);
	/* one follower's copy: with the leader's it would be a quorum */
	deliver_to(c, 2, true);
	deliver_to(c, 1, false);
	assert_int_equal(raft_commit_index(l), i - 1);
	raft_synced(l, i, raft_term_of(l) + 1); /* not that entry: ignored */
	assert_int_equal(raft_commit_index(l), i - 1);
	raft_synced(l, i, raft_term_of(l));
	assert_int_equal(raft_commit_index(l), i);
	/* both followers' copies commit without the leader's */
	raft_index j;
	assert_int_equal(raft_propose(l, "v", 1, &j), 0);
	leader_ready_unsynced(c, 1, &rd);
	deliver_to(c, 2, true);
	deliver_to(c, 3, true);
	deliver_to(c, 1, false);
	assert_int_equal(raft_commit_index(l), j);
	raft_ready(l, &rd);
	assert_true(rd.may_sync_later);
	assert_int_equal(rd.n_entries, 0);
	assert_true(rd.n_committed >= 1);
	assert_int_equal(rd.committed[rd.n_committed - 1].index, j);
	raft_advance_unsynced(l, &rd);
	/* a follower's ready is never may_sync_later */
	deliver(c);
	assert_int_equal(raft_propose(l, "w", 1, NULL), 0);
	flush(c, 1);
	deliver_to(c, 2, false);
	assert_true(raft_has_ready(c->r[2]));
	raft_ready(c->r[2], &rd);
	assert_int_equal(rd.n_entries, 1);
	assert_false(rd.may_sync_later);
	raft_advance(c->r[2], &rd);
	cluster_free(c);
}

/* Pipelining: several AppendEntries in flight, bounded by max_inflight
 * (4 here); the rest waits for acknowledgements. */
static void test_pipelining_bounded_by_max_inflight(void **state)
{
	(void)state;
	struct cluster *c = cluster_new(3, false, false);
	elect(c, 1);
	isolate(c, 2, true);
	for (int k = 0; k < 10; k++)
		propose(c, 1, "p");
	size_t to2 = 0;
	for (size_t k = 0; k < c->nq; k++)
		to2 += c->q[k].type == RAFT_MSG_APPEND && c->q[k].to == 2;
	assert_int_equal(to2, 4);
	cluster_free(c);
}

/* Batching: proposals made before the next ready travel in one
 * AppendEntries per follower (bounded by max_batch_entries, 64 here). */
static void test_proposals_are_batched(void **state)
{
	(void)state;
	struct cluster *c = cluster_new(3, true, true);
	elect(c, 1);
	tick_all(c, 3);
	for (int k = 0; k < 10; k++)
		assert_int_equal(raft_propose(c->r[1], "b", 1, NULL), 0);
	flush(c, 1);
	size_t appends = 0;
	for (size_t k = 0; k < c->nq; k++) {
		if (c->q[k].type != RAFT_MSG_APPEND)
			continue;
		appends++;
		assert_int_equal(c->q[k].n_entries, 10);
	}
	assert_int_equal(appends, 2);
	deliver(c);
	assert_int_equal(raft_commit_index(c->r[1]), raft_last_index(c->r[1]));
	cluster_free(c);
}

/* §5.3 "If an existing entry conflicts with a new one (same index but
 * different terms), delete the existing entry and all that follow it." */
static void test_conflicting_entries_are_truncated(void **state)
{
	(void)state;
	struct raft *r = new_core(2, 3, 7, false, false);
	struct raft_entry e[3] = {
		{.term = 1, .index = 1, .type = RAFT_ENTRY_NORMAL},
		{.term = 1, .index = 2, .type = RAFT_ENTRY_NORMAL},
		{.term = 1, .index = 3, .type = RAFT_ENTRY_NORMAL},
	};
	struct raft_msg m = {.type = RAFT_MSG_APPEND, .from = 1, .to = 2,
			     .term = 1, .n_entries = 3, .entries = e};
	assert_int_equal(raft_step(r, &m), 0);
	assert_int_equal(raft_last_index(r), 3);
	struct raft_ready rd;
	raft_ready(r, &rd);
	raft_advance(r, &rd);
	struct raft_entry f = {.term = 2, .index = 2,
			       .type = RAFT_ENTRY_NORMAL};
	struct raft_msg m2 = {.type = RAFT_MSG_APPEND, .from = 3, .to = 2,
			      .term = 2, .index = 1, .log_term = 1,
			      .n_entries = 1, .entries = &f};
	assert_int_equal(raft_step(r, &m2), 0);
	assert_int_equal(raft_last_index(r), 2);
	assert_int_equal(raft_term_at(r, 2), 2);
	raft_ready(r, &rd); /* storage must rewrite from index 2 */
	assert_int_equal(rd.n_entries, 1);
	assert_int_equal(rd.entries[0].index, 2);
	raft_advance(r, &rd);
	/* §5.3 consistency check: "If the follower does not find an entry
	 * in its log with the same index and term, then it refuses". */
	struct raft_msg m3 = {.type = RAFT_MSG_APPEND, .from = 3, .to = 2,
			      .term = 2, .index = 3, .log_term = 2};
	assert_int_equal(raft_step(r, &m3), 0);
	raft_ready(r, &rd);
	assert_int_equal(rd.n_msgs, 1);
	assert_true(rd.msgs[0].reject);
	assert_int_equal(rd.msgs[0].hint, 2);
	raft_advance(r, &rd);
	raft_free(r);
}

/* §5.4.2 / figure 8: "Raft never commits log entries from previous terms
 * by counting replicas. Only log entries from the leader's current term
 * are committed by counting replicas." */
static void test_figure8_no_commit_of_old_term_by_counting(void **state)
{
	(void)state;
	struct raft_options o;
	raft_options_default(&o, 1, 3);
	o.pre_vote = false;
	struct raft *r = raft_new(&o);
	struct raft_snapshot_meta snap = {.conf = {.n = 5,
						   .voters = {1, 2, 3, 4, 5}}};
	struct raft_entry ents[2] = {{.term = 1, .index = 1, .type = 2},
				     {.term = 2, .index = 2, .type = 2}};
	struct raft_hard_state hs = {.term = 3};
	assert_int_equal(raft_restore(r, &snap, &hs, ents, 2), 0);
	for (int k = 0; k < 40 && raft_role(r) != RAFT_CANDIDATE; k++)
		raft_tick(r);
	assert_int_equal(raft_term_of(r), 4);
	for (raft_id v = 2; v <= 3; v++) {
		struct raft_msg g = {.type = RAFT_MSG_VOTE_RESP, .from = v,
				     .to = 1, .term = 4};
		raft_step(r, &g);
	}
	assert_int_equal(raft_role(r), RAFT_LEADER);
	struct raft_ready rd;
	raft_ready(r, &rd); /* persists the no-op at index 3 */
	raft_advance(r, &rd);
	/* A majority (1, 2, 3) now holds the term-2 entry at index 2. */
	for (raft_id v = 2; v <= 3; v++) {
		struct raft_msg a = {.type = RAFT_MSG_APPEND_RESP, .from = v,
				     .to = 1, .term = 4, .index = 2};
		raft_step(r, &a);
	}
	assert_int_equal(raft_commit_index(r), 0);
	/* Once the current-term no-op is on a majority, both commit. */
	struct raft_msg a = {.type = RAFT_MSG_APPEND_RESP, .from = 2, .to = 1,
			     .term = 4, .index = 3};
	raft_step(r, &a);
	assert_int_equal(raft_commit_index(r), 0);
	a.from = 4;
	raft_step(r, &a);
	assert_int_equal(raft_commit_index(r), 3);
	raft_ready(r, &rd);
	raft_advance(r, &rd);
	raft_free(r);
}

/* §7 "the leader must occasionally send snapshots to followers that lag
 * behind" and "the follower discards its entire log; it is all superseded
 * by the snapshot". */
static void test_snapshot_sent_to_lagging_follower(void **state)
{
	(void)state;
	struct cluster *c = cluster_new(3, true, true);
	elect(c, 1);
	isolate(c, 3, true);
	raft_index last = 0;
	for (int k = 0; k < 5; k++)
		last = propose(c, 1, "s");
	deliver(c);
	assert_int_equal(raft_commit_index(c->r[1]), last);
	struct raft_config conf;
	assert_int_equal(raft_conf_at(c->r[1], last, &conf), 0);
	assert_int_equal(raft_compact(c->r[1], last, raft_term_at(c->r[1], last),
				      &conf),
			 0);
	assert_int_equal(raft_compact(c->r[1], last, 1, &conf),
			 -RAFT_ECOMPACTED);
	assert_int_equal(raft_snapshot_index(c->r[1]), last);
	isolate(c, 3, false);
	tick_all(c, 5);
	assert_int_equal(c->installed[3].index, last);
	assert_int_equal(raft_snapshot_index(c->r[3]), last);
	assert_int_equal(c->applied[3], last);
	raft_index next = propose(c, 1, "after");
	tick_all(c, 5);
	assert_int_equal(c->applied[3], next);
	cluster_free(c);
}

/* Dissertation 4.1: "the new configuration takes effect on each server as
 * soon as it is added to that server's log" and "a leader ... will not
 * begin another change until the previous one has committed". */
static void test_membership_add_then_remove(void **state)
{
	(void)state;
	struct cluster *c = cluster_new(3, true, true);
	elect(c, 1);
	tick_all(c, 2);
	c->r[4] = new_core(4, 0, 99, true, true); /* empty configuration */
	raft_index i;
	assert_int_equal(raft_add_voter(c->r[1], 4, &i), 0);
	assert_int_equal(raft_config_of(c->r[1])->n, 4); /* on append */
	assert_int_equal(raft_remove_voter(c->r[1], 2, NULL), -RAFT_EBUSY);
	tick_all(c, 10);
	assert_true(raft_commit_index(c->r[1]) >= i);
	assert_int_equal(raft_add_voter(c->r[1], 4, NULL), -RAFT_EBADCONF);
	assert_int_equal(raft_config_of(c->r[4])->n, 4);
	assert_int_equal(raft_last_index(c->r[4]), raft_last_index(c->r[1]));
	assert_int_equal(raft_remove_voter(c->r[1], 2, &i), 0);
	tick_all(c, 10);
	assert_false(raft_config_has(raft_config_of(c->r[3]), 2));
	cluster_free(c);
}

/* Dissertation 4.2.2: a removed leader "steps down once the Cnew entry is
 * committed". */
static void test_removed_leader_steps_down(void **state)
{
	(void)state;
	struct cluster *c = cluster_new(3, true, true);
	elect(c, 1);
	tick_all(c, 2);
	assert_int_equal(raft_remove_voter(c->r[1], 1, NULL), 0);
	tick_all(c, 5);
	assert_int_not_equal(raft_role(c->r[1]), RAFT_LEADER);
	tick_all(c, 60);
	raft_id l = raft_leader(c->r[2]);
	assert_true(l == 2 || l == 3);
	assert_int_equal(raft_config_of(c->r[l])->n, 2);
	cluster_free(c);
}

/* Dissertation 3.10: the leader "sends it a TimeoutNow request, which
 * causes it to start an election immediately", even within the lease. */
static void test_leader_transfer(void **state)
{
	(void)state;
	struct cluster *c = cluster_new(3, true, true);
	elect(c, 1);
	propose(c, 1, "t");
	deliver(c);
	assert_int_equal(raft_transfer(c->r[1], 9), -RAFT_EBADCONF);
	assert_int_equal(raft_transfer(c->r[1], 3), 0);
	assert_int_equal(raft_propose(c->r[1], "x", 1, NULL), -RAFT_EBUSY);
	deliver(c);
	assert_int_equal(raft_role(c->r[3]), RAFT_LEADER);
	assert_int_equal(raft_leader(c->r[2]), 3);
	assert_int_equal(raft_leader(c->r[1]), 3);
	cluster_free(c);
}

/* Dissertation 6.4: "The leader ... records its current commit index in a
 * local variable readIndex ... sends a new round of heartbeats, and waits
 * for their acknowledgments from a majority." */
static void test_read_index_on_leader_waits_for_quorum(void **state)
{
	(void)state;
	struct cluster *c = cluster_new(3, true, true);
	tick(c, 1, 20);
	assert_int_equal(raft_read_index(c->r[1], 1), -RAFT_ENOLEADER);
	elect(c, 1);
	raft_index commit = raft_commit_index(c->r[1]);
	isolate(c, 2, true);
	isolate(c, 3, true);
	assert_int_equal(raft_read_index(c->r[1], 77), 0);
	deliver(c);
	assert_int_equal(c->n_reads[1], 0); /* no quorum yet */
	isolate(c, 2, false);
	tick_all(c, 2); /* the next heartbeat round carries the context */
	assert_int_equal(c->n_reads[1], 1);
	assert_int_equal(c->reads[1][0].id, 77);
	assert_int_equal(c->reads[1][0].index, commit);
	cluster_free(c);
}

/* Dissertation 6.4: "...the leader could use the normal heartbeat
 * mechanism to maintain a lease... it would then respond to read-only
 * queries without waiting" (lease_reads): a read is answered at once while
 * a quorum acknowledged a round sent less than election_ticks - margin
 * ago, and waits for a round once the lease ran out or a transfer began. */
static void test_lease_read_answered_at_once_while_held(void **state)
{
	(void)state;
	struct cluster *c = calloc(1, sizeof(*c));
	c->n = 3;
	for (raft_id id = 1; id <= 3; id++)
		c->r[id] = new_core_lease(id, 3, 1000 + id, true, true, true);
	raft_id l = 0;
	for (unsigned k = 0; k < 100 && l == 0; k++) {
		tick_all(c, 1);
		for (raft_id id = 1; id <= 3; id++)
			if (raft_role(c->r[id]) == RAFT_LEADER)
				l = id;
	}
	assert_true(l != 0);
	tick_all(c, 3); /* the no-op commits, a round is acknowledged */
	size_t before = c->n_reads[l];
	assert_int_equal(raft_read_index(c->r[l], 7), 0);
	flush(c, l); /* no message delivered: answered from the lease */
	assert_int_equal(c->n_reads[l], before + 1);
	assert_int_equal(c->reads[l][before].id, 7);
	assert_int_equal(c->reads[l][before].index, raft_commit_index(c->r[l]));

	/* cut off: once the lease runs out a read needs a round */
	isolate(c, l, true);
	tick(c, l, 8); /* 10 election ticks minus a margin of 2 */
	before = c->n_reads[l];
	raft_read_index(c->r[l], 8);
	flush(c, l);
	assert_int_equal(c->n_reads[l], before);
	drop_queue(c);

	/* a fresh leader (or the same one) holds a lease again... */
	isolate(c, l, false);
	l = 0;
	for (unsigned k = 0; k < 100 && l == 0; k++) {
		tick_all(c, 1);
		for (raft_id id = 1; id <= 3; id++)
			if (raft_role(c->r[id]) == RAFT_LEADER && raft_commit_index(c->r[id]) > 0)
				l = id;
	}
	assert_true(l != 0);
	tick_all(c, 3);
	before = c->n_reads[l];
	assert_int_equal(raft_read_index(c->r[l], 9), 0);
	flush(c, l);
	assert_int_equal(c->n_reads[l], before + 1);
	/* ...but not while it hands leadership over */
	raft_id to = l == 1 ? 2 : 1;
	isolate(c, to, true);
	assert_int_equal(raft_transfer(c->r[l], to), 0);
	flush(c, l);
	before = c->n_reads[l];
	assert_int_equal(raft_read_index(c->r[l], 10), 0);
	flush(c, l);
	assert_int_equal(c->n_reads[l], before);
	cluster_free(c);
}

/* Dissertation 6.4: "followers ... issue a request to the leader to learn
 * the current readIndex". */
static void test_read_index_forwarded_by_follower(void **state)
{
	(void)state;
	struct cluster *c = cluster_new(3, true, true);
	elect(c, 1);
	propose(c, 1, "r");
	deliver(c);
	assert_int_equal(raft_read_index(c->r[2], 5), 0);
	tick_all(c, 3);
	assert_int_equal(c->n_reads[2], 1);
	assert_int_equal(c->reads[2][0].id, 5);
	assert_int_equal(c->reads[2][0].index, raft_commit_index(c->r[1]));
	cluster_free(c);
}

/* A leader's commit index is only known current after it commits an
 * entry of its own term (dissertation 6.4 step 1). */
static void test_read_index_not_ready_before_noop_commits(void **state)
{
	(void)state;
	struct cluster *c = cluster_new(3, false, false);
	isolate(c, 3, true);
	tick(c, 1, 20);
	struct raft_msg g = {.type = RAFT_MSG_VOTE_RESP, .from = 2, .to = 1,
			     .term = raft_term_of(c->r[1])};
	raft_step(c->r[1], &g);
	assert_int_equal(raft_role(c->r[1]), RAFT_LEADER);
	assert_int_equal(raft_read_index(c->r[1], 1), -RAFT_ENOTREADY);
	cluster_free(c);
}

/* Restore adopts the last log term if the hard state lagged behind it. */
static void test_restore_bumps_term_to_log(void **state)
{
	(void)state;
	struct raft_options o;
	raft_options_default(&o, 1, 3);
	struct raft *r = raft_new(&o);
	struct raft_snapshot_meta snap = {.conf = {.n = 1, .voters = {1}}};
	struct raft_entry e = {.term = 4, .index = 1, .type = 2};
	struct raft_hard_state hs = {.term = 2, .vote = 1};
	assert_int_equal(raft_restore(r, &snap, &hs, &e, 1), 0);
	assert_int_equal(raft_term_of(r), 4);
	raft_free(r);
	assert_string_equal(raft_strerror(-RAFT_ENOTLEADER), "not the leader");
	uint8_t buf[RAFT_CONFIG_ENCODED_MAX];
	struct raft_config in = {.n = 2, .voters = {7, 8}}, out;
	size_t len = raft_config_encode(&in, buf);
	assert_int_equal(raft_config_decode(buf, len, &out), 0);
	assert_int_equal(out.voters[1], 8);
	assert_int_equal(raft_config_decode(buf, len - 1, &out), -EINVAL);
}

/* A single-voter cluster elects itself and commits alone. */
static void test_single_node_cluster(void **state)
{
	(void)state;
	struct cluster *c = cluster_new(1, true, true);
	tick(c, 1, 20);
	assert_int_equal(raft_role(c->r[1]), RAFT_LEADER);
	raft_index i = propose(c, 1, "solo");
	flush(c, 1);
	assert_int_equal(c->applied[1], i);
	assert_int_equal(raft_read_index(c->r[1], 3), 0);
	flush(c, 1);
	assert_int_equal(c->n_reads[1], 1);
	cluster_free(c);
}

/* Bad input from the network is refused, never obeyed or asserted on. */
static void test_malformed_messages_rejected(void **state)
{
	(void)state;
	struct cluster *c = cluster_new(3, true, true);
	elect(c, 1);
	propose(c, 1, "m");
	tick_all(c, 3);
	struct raft *r = c->r[2];
	raft_index commit = raft_commit_index(r);
	assert_true(commit >= 2);
	struct raft_msg m = {.type = RAFT_MSG_APPEND, .from = 1, .to = 3,
			     .term = raft_term_of(r)};
	assert_int_equal(raft_step(r, &m), -EINVAL); /* wrong recipient */
	m.to = 2;
	m.type = 99;
	assert_int_equal(raft_step(r, &m), -EINVAL);
	m.type = RAFT_MSG_APPEND;
	m.n_entries = 1;
	assert_int_equal(raft_step(r, &m), -EINVAL); /* entries missing */
	/* A same-term append rewriting a committed entry is dropped. */
	struct raft_entry e = {.term = raft_term_of(r) + 5, .index = commit,
			       .type = RAFT_ENTRY_NOOP};
	m.index = commit - 1;
	m.log_term = raft_term_at(r, commit - 1);
	m.entries = &e;
	assert_int_equal(raft_step(r, &m), 0);
	assert_int_not_equal(raft_term_at(r, commit), e.term);
	cluster_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_candidate_increments_term_and_votes_for_itself),
		cmocka_unit_test(test_election_timeout_is_randomized),
		cmocka_unit_test(test_candidate_wins_with_majority),
		cmocka_unit_test(test_vote_once_per_term),
		cmocka_unit_test(test_vote_denied_to_stale_log),
		cmocka_unit_test(test_leader_steps_down_on_higher_term),
		cmocka_unit_test(test_prevote_rejoining_node_does_not_disrupt),
		cmocka_unit_test(test_check_quorum_leader_steps_down),
		cmocka_unit_test(test_replication_commits_and_applies),
		cmocka_unit_test(test_pipelining_bounded_by_max_inflight),
		cmocka_unit_test(test_unsynced_leader_counts_durable_copy_only),
		cmocka_unit_test(test_proposals_are_batched),
		cmocka_unit_test(test_conflicting_entries_are_truncated),
		cmocka_unit_test(test_figure8_no_commit_of_old_term_by_counting),
		cmocka_unit_test(test_snapshot_sent_to_lagging_follower),
		cmocka_unit_test(test_membership_add_then_remove),
		cmocka_unit_test(test_removed_leader_steps_down),
		cmocka_unit_test(test_leader_transfer),
		cmocka_unit_test(test_read_index_on_leader_waits_for_quorum),
		cmocka_unit_test(test_read_index_forwarded_by_follower),
		cmocka_unit_test(test_lease_read_answered_at_once_while_held),
		cmocka_unit_test(test_read_index_not_ready_before_noop_commits),
		cmocka_unit_test(test_restore_bumps_term_to_log),
		cmocka_unit_test(test_single_node_cluster),
		cmocka_unit_test(test_malformed_messages_rejected),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
