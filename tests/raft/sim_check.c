/*
 * tests/raft/sim_check.c - the safety properties the simulator checks
 * after every step (Raft paper figure 3) plus the client-visible ones.
 *
 * Owns: election safety (one leader per term), log matching (every
 * (index, term) ever persisted has one payload and one predecessor term),
 * leader completeness (a new leader holds every entry committed in an
 * earlier term), state machine safety (one entry per applied index),
 * exactly-once application of every proposal id, and linearizable reads
 * (a read index covers everything committed before the read was issued).
 */
#include "tests/raft/sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *grow(void *p, size_t *cap, size_t need, size_t size)
{
	if (need < *cap)
		return p;
	size_t cap2 = *cap ? *cap : 256;
	while (cap2 <= need)
		cap2 *= 2;
	p = realloc(p, cap2 * size);
	if (p == NULL) {
		fprintf(stderr, "raft-sim: out of memory\n");
		exit(2);
	}
	memset((char *)p + *cap * size, 0, (cap2 - *cap) * size);
	*cap = cap2;
	return p;
}

void check_grow_index(struct sim *s, raft_index index)
{
	if (index < s->cap_index)
		return;
	size_t cap = s->cap_index;
	s->applied = grow(s->applied, &cap, index, sizeof(*s->applied));
	cap = s->cap_index;
	s->committed_term =
		grow(s->committed_term, &cap, index, sizeof(raft_term));
	cap = s->cap_index;
	s->commit_seen_term =
		grow(s->commit_seen_term, &cap, index, sizeof(raft_term));
	s->cap_index = cap;
}

static uint64_t hash_bytes(const void *p, size_t len, uint8_t type)
{
	uint64_t h = 1469598103934665603ull ^ type;
	for (size_t k = 0; k < len; k++)
		h = (h ^ ((const uint8_t *)p)[k]) * 1099511628211ull;
	return h;
}

static struct sim_entry_key *emap_slot(struct sim *s, raft_index i,
				       raft_term t)
{
	size_t mask = s->emap_cap - 1;
	size_t k = (size_t)((i * 0x9E3779B97F4A7C15ull) ^ (t * 0xC2B2AE3D27D4EB4Full)) & mask;
	while (s->emap[k].index != 0 &&
	       (s->emap[k].index != i || s->emap[k].term != t))
		k = (k + 1) & mask;
	return &s->emap[k];
}

static void emap_grow(struct sim *s)
{
	if (s->emap_cap && s->emap_n * 2 < s->emap_cap)
		return;
	struct sim_entry_key *old = s->emap;
	size_t old_cap = s->emap_cap;
	s->emap_cap = old_cap ? old_cap * 2 : 1024;
	s->emap = calloc(s->emap_cap, sizeof(*s->emap));
	if (s->emap == NULL)
		exit(2);
	for (size_t k = 0; k < old_cap; k++)
		if (old[k].index)
			*emap_slot(s, old[k].index, old[k].term) = old[k];
	free(old);
}

/* Log matching: an (index, term) pair names exactly one payload and one
 * predecessor term, on every node, forever. */
void check_entries(struct sim *s, struct sim_node *n,
		   const struct raft_entry *e, size_t count)
{
	for (size_t k = 0; k < count && !s->failed; k++) {
		raft_index i = e[k].index;
		raft_term prev = 0;
		if (k > 0)
			prev = e[k - 1].term;
		else if (i - 1 >= raft_snapshot_index(n->r))
			prev = raft_term_at(n->r, i - 1);
		if (i - 1 == 0)
			prev = 0;
		SIM_CHECK(s, k == 0 || e[k - 1].term <= e[k].term,
			  "node %llu: log terms decrease at %llu",
			  (unsigned long long)n->id, (unsigned long long)i);
		uint64_t h = hash_bytes(e[k].data.base, e[k].data.len,
					e[k].type);
		emap_grow(s);
		struct sim_entry_key *slot = emap_slot(s, i, e[k].term);
		if (slot->index == 0) {
			slot->index = i;
			slot->term = e[k].term;
			slot->prev_term = (k > 0 || i == 1 ||
					   i - 1 >= raft_snapshot_index(n->r))
						  ? prev + 1
						  : 0;
			slot->hash = h;
			s->emap_n++;
			continue;
		}
		SIM_CHECK(s, slot->hash == h,
			  "log matching: node %llu has a different entry at "
			  "index %llu term %llu",
			  (unsigned long long)n->id, (unsigned long long)i,
			  (unsigned long long)e[k].term);
		bool known = k > 0 || i == 1 ||
			     i - 1 >= raft_snapshot_index(n->r);
		SIM_CHECK(s, !known || slot->prev_term == 0 ||
				     slot->prev_term == prev + 1,
			  "log matching: node %llu index %llu term %llu "
			  "follows term %llu, elsewhere %llu",
			  (unsigned long long)n->id, (unsigned long long)i,
			  (unsigned long long)e[k].term,
			  (unsigned long long)prev,
			  (unsigned long long)(slot->prev_term - 1));
	}
}

static void check_leader(struct sim *s, struct sim_node *n)
{
	raft_term t = raft_term_of(n->r);
	size_t cap = s->cap_terms;
	s->leader_of_term = grow(s->leader_of_term, &cap, t,
				 sizeof(*s->leader_of_term));
	s->cap_terms = cap;
	if (s->leader_of_term[t] == 0)
		s->leader_of_term[t] = n->id;
	SIM_CHECK(s, s->leader_of_term[t] == n->id,
		  "election safety: nodes %llu and %llu both leader in term "
		  "%llu",
		  (unsigned long long)s->leader_of_term[t],
		  (unsigned long long)n->id, (unsigned long long)t);
	if (n->last_role == RAFT_LEADER && n->last_term == t)
		return;
	s->stats.elections++;
	/* Leader completeness: every entry committed in an earlier term. */
	raft_index snap = raft_snapshot_index(n->r);
	for (raft_index i = snap + 1; i <= s->max_committed && !s->failed;
	     i++) {
		if (s->commit_seen_term[i] == 0 || s->commit_seen_term[i] >= t)
			continue;
		SIM_CHECK(s, raft_term_at(n->r, i) == s->committed_term[i],
			  "leader completeness: leader %llu of term %llu has "
			  "term %llu at committed index %llu (term %llu)",
			  (unsigned long long)n->id, (unsigned long long)t,
			  (unsigned long long)raft_term_at(n->r, i),
			  (unsigned long long)i,
			  (unsigned long long)s->committed_term[i]);
	}
}

/* Record what each node now considers committed; all must agree. */
static void check_commits(struct sim *s, struct sim_node *n)
{
	raft_index c = raft_commit_index(n->r);
	raft_index snap = raft_snapshot_index(n->r);
	if (n->checked_commit < snap)
		n->checked_commit = snap;
	check_grow_index(s, c);
	for (raft_index i = n->checked_commit + 1; i <= c && !s->failed; i++) {
		raft_term t = raft_term_at(n->r, i);
		if (s->committed_term[i] == 0) {
			s->committed_term[i] = t;
			s->commit_seen_term[i] = raft_term_of(n->r);
		}
		SIM_CHECK(s, s->committed_term[i] == t,
			  "node %llu committed term %llu at %llu, others %llu",
			  (unsigned long long)n->id, (unsigned long long)t,
			  (unsigned long long)i,
			  (unsigned long long)s->committed_term[i]);
		if (raft_term_of(n->r) < s->commit_seen_term[i])
			s->commit_seen_term[i] = raft_term_of(n->r);
	}
	if (c > n->checked_commit)
		n->checked_commit = c;
	if (c > s->max_committed)
		s->max_committed = c;
}

void check_step(struct sim *s)
{
	for (raft_id id = 1; id <= SIM_NODES_MAX && !s->failed; id++) {
		struct sim_node *n = &s->nodes[id];
		if (n->r == NULL)
			continue;
		check_commits(s, n);
		if (raft_role(n->r) == RAFT_LEADER)
			check_leader(s, n);
		n->last_role = raft_role(n->r);
		n->last_term = raft_term_of(n->r);
	}
}

static uint64_t entry_pid(const struct raft_entry *e)
{
	uint64_t pid = 0;
	if (e->type != RAFT_ENTRY_NORMAL || e->data.len != 8)
		return 0;
	memcpy(&pid, e->data.base, 8);
	return pid;
}

/* State machine safety and exactly-once application. */
void check_apply(struct sim *s, struct sim_node *n, const struct raft_entry *e)
{
	SIM_CHECK(s, e->index == n->sm.applied + 1,
		  "node %llu applies %llu after %llu",
		  (unsigned long long)n->id, (unsigned long long)e->index,
		  (unsigned long long)n->sm.applied);
	check_grow_index(s, e->index);
	uint64_t pid = entry_pid(e);
	struct sim_applied *a = &s->applied[e->index];
	if (a->term == 0) {
		a->term = e->term;
		a->type = e->type;
		a->pid = pid;
	}
	SIM_CHECK(s, a->term == e->term && a->type == e->type && a->pid == pid,
		  "state machine safety: node %llu applies term %llu pid %llu "
		  "at %llu, another node applied term %llu pid %llu",
		  (unsigned long long)n->id, (unsigned long long)e->term,
		  (unsigned long long)pid, (unsigned long long)e->index,
		  (unsigned long long)a->term, (unsigned long long)a->pid);
	if (pid == 0)
		return;
	SIM_CHECK(s, pid < s->n_props, "unknown pid %llu",
		  (unsigned long long)pid);
	if (s->failed)
		return;
	SIM_CHECK(s, !sm_seen(&n->sm, pid),
		  "exactly once: node %llu applies pid %llu twice (index %llu)",
		  (unsigned long long)n->id, (unsigned long long)pid,
		  (unsigned long long)e->index);
	struct sim_prop *p = &s->props[pid];
	if (p->applied_at == 0)
		p->applied_at = e->index;
	SIM_CHECK(s, p->applied_at == e->index,
		  "exactly once: pid %llu applied at %llu and %llu",
		  (unsigned long long)pid, (unsigned long long)p->applied_at,
		  (unsigned long long)e->index);
	if (!p->acked && p->node == n->id && p->index == e->index) {
		p->acked = true;
		s->stats.acked++;
	}
}

/* A read index must cover every entry known committed when it was issued. */
void check_read(struct sim *s, struct sim_node *n,
		const struct raft_read_state *rs)
{
	if (rs->id >= s->n_reads || s->reads[rs->id].node != n->id ||
	    s->reads[rs->id].done)
		return;
	struct sim_read *rd = &s->reads[rs->id];
	SIM_CHECK(s, rs->index >= rd->min_index,
		  "linearizability: read %llu on node %llu got index %llu but "
		  "%llu was committed when it was issued",
		  (unsigned long long)rs->id, (unsigned long long)n->id,
		  (unsigned long long)rs->index,
		  (unsigned long long)rd->min_index);
	rd->done = true;
	s->stats.reads++;
}

/* At the end: every acknowledged proposal is in every state machine that
 * got as far as its index, exactly once. */
void check_final(struct sim *s)
{
	for (size_t pid = 1; pid < s->n_props && !s->failed; pid++) {
		struct sim_prop *p = &s->props[pid];
		if (!p->acked)
			continue;
		for (raft_id id = 1; id <= SIM_NODES_MAX; id++) {
			struct sim_node *n = &s->nodes[id];
			if (n->r == NULL || n->sm.applied < p->applied_at)
				continue;
			SIM_CHECK(s, sm_seen(&n->sm, pid),
				  "acknowledged pid %zu (index %llu) missing "
				  "on node %llu",
				  pid, (unsigned long long)p->applied_at,
				  (unsigned long long)id);
		}
	}
}

void check_free(struct sim *s)
{
	free(s->leader_of_term);
	free(s->applied);
	free(s->committed_term);
	free(s->commit_seen_term);
	free(s->emap);
}
