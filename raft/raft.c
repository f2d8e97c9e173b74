/*
 * raft/raft.c - lifecycle, tick/step dispatch, proposals and the ready
 * batch of the pure Raft core.
 *
 * Owns: raft_new/free/restore, the term rules applied to every incoming
 * message before it reaches a handler, the outbox, the PRNG, ready/advance
 * and the introspection getters.  Role-specific logic lives in
 * election.c, replication.c, membership.c, read_index.c and snapshot.c.
 */
#include "raft/raft_int.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *raft_strerror(int err)
{
	switch (-err) {
	case 0: return "success";
	case ENOMEM: return "out of memory";
	case EINVAL: return "invalid argument";
	case EIO: return "input/output error";
	case RAFT_ENOTLEADER: return "not the leader";
	case RAFT_ENOLEADER: return "no known leader";
	case RAFT_EBUSY: return "membership change or transfer in progress";
	case RAFT_ENOTREADY: return "leader has not committed in its term";
	case RAFT_ECOMPACTED: return "index compacted";
	case RAFT_EUNAVAIL: return "index beyond the log";
	case RAFT_ECORRUPT: return "checksum mismatch";
	case RAFT_EBADCONF: return "invalid membership change";
	default: return "unknown error";
	}
}

const char *raft_role_name(int role)
{
	static const char *const names[] = {"follower", "precandidate",
					    "candidate", "leader"};
	return role >= 0 && role <= RAFT_LEADER ? names[role] : "?";
}

void raft_options_default(struct raft_options *o, raft_id id, uint64_t seed)
{
	memset(o, 0, sizeof(*o));
	o->id = id;
	o->election_ticks = 10;
	o->heartbeat_ticks = 1;
	o->max_batch_entries = 64;
	o->max_batch_bytes = 1 << 20;
	o->max_inflight = 16;
	o->pre_vote = true;
	o->check_quorum = true;
	o->seed = seed;
}

void raft_logf(struct raft *r, int level, const char *fmt, ...)
{
	if (r->o.log_fn == NULL)
		return;
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	r->o.log_fn(r->o.log_ctx, level, buf);
}

/* splitmix64: small, seedable, good enough for timeout jitter. */
uint64_t raft_rand(struct raft *r)
{
	uint64_t z = (r->rng += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

struct raft *raft_new(const struct raft_options *o)
{
	if (o->id == 0 || o->election_ticks < 2 ||
	    o->heartbeat_ticks >= o->election_ticks || o->max_inflight == 0 ||
	    o->max_inflight > RAFT_INFLIGHT_MAX || o->max_batch_entries == 0)
		return NULL;
	struct raft *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	r->o = *o;
	r->id = o->id;
	r->rng = o->seed;
	raft_log_init(&r->log);
	r->role = RAFT_FOLLOWER;
	raft_election_reset_timeout(r);
	return r;
}

static void free_msgs(struct raft *r)
{
	for (size_t k = 0; k < r->n_msgs; k++) {
		struct raft_msg *m = &r->msgs[k];
		for (uint32_t j = 0; j < m->n_entries; j++)
			raft_entry_free_data(&m->entries[j]);
		free(m->entries);
	}
	r->n_msgs = 0;
}

void raft_free(struct raft *r)
{
	if (r == NULL)
		return;
	free_msgs(r);
	free(r->msgs);
	free(r->reads_pending);
	free(r->reads_ready);
	raft_log_free(&r->log);
	free(r);
}

int raft_restore(struct raft *r, const struct raft_snapshot_meta *snap,
		 const struct raft_hard_state *hs, const struct raft_entry *ents,
		 size_t n)
{
	raft_log_reset(&r->log, snap->index, snap->term, &snap->conf);
	for (size_t k = 0; k < n; k++) {
		if (ents[k].index != snap->index + 1 + k)
			return -EINVAL;
		int rv = raft_log_append_copy(&r->log, &ents[k]);
		if (rv != 0)
			return rv;
	}
	r->log.stable = r->log.durable = raft_log_last_index(&r->log);
	r->ready_stable = r->log.stable;
	r->term = hs->term;
	r->vote = hs->vote;
	r->persisted_hs = *hs;
	if (raft_log_last_term(&r->log) > r->term) {
		/* Entries outlived a lost hard-state write: nothing was sent
		 * in that term, so adopting it without a vote is safe, and
		 * log terms must never exceed the current term. */
		r->term = raft_log_last_term(&r->log);
		r->vote = 0;
	}
	r->commit = r->applied = r->ready_applied = snap->index;
	raft_membership_set(r, &snap->conf, 0);
	raft_membership_on_truncate(r); /* pick the latest config entry */
	return 0;
}

void raft_send(struct raft *r, struct raft_msg *m)
{
	m->from = r->id;
	if (m->term == 0)
		m->term = r->term;
	if (r->n_msgs == r->cap_msgs) {
		size_t cap = r->cap_msgs ? r->cap_msgs * 2 : 16;
		struct raft_msg *p = realloc(r->msgs, cap * sizeof(*p));
		if (p == NULL)
			goto err_drop;
		r->msgs = p;
		r->cap_msgs = cap;
	}
	struct raft_entry *copy = NULL;
	if (m->n_entries) {
		copy = calloc(m->n_entries, sizeof(*copy));
		if (copy == NULL)
			goto err_drop;
		for (uint32_t k = 0; k < m->n_entries; k++) {
			if (raft_entry_copy(&copy[k], &m->entries[k]) != 0) {
				while (k-- > 0)
					raft_entry_free_data(&copy[k]);
				free(copy);
				goto err_drop;
			}
		}
	}
	m->entries = copy;
	r->msgs[r->n_msgs++] = *m;
	return;
err_drop:
	raft_logf(r, RAFT_WARN, "dropping message type %d: out of memory",
		  m->type);
}

unsigned raft_quorum(const struct raft *r)
{
	return r->conf.n / 2 + 1;
}

bool raft_invariants(const struct raft *r)
{
	const struct raft_log *l = &r->log;
	if (r->applied > r->commit || r->applied < l->offset)
		return false;
	if (r->commit > raft_log_last_index(l) || l->stable > raft_log_last_index(l) ||
	    l->durable > l->stable)
		return false;
	if (r->role == RAFT_LEADER && r->term_start > l->offset &&
	    raft_log_term(l, r->term_start) != r->term)
		return false;
	return true;
}

void raft_tick(struct raft *r)
{
	assert(!r->in_ready);
	r->now++;
	if (r->role == RAFT_LEADER)
		raft_repl_tick(r);
	else
		raft_election_tick(r);
	assert(raft_invariants(r));
}

/* Messages with a term above ours.  Returns false if m must be ignored. */
static bool step_higher_term(struct raft *r, const struct raft_msg *m)
{
	bool vote_req = m->type == RAFT_MSG_PREVOTE || m->type == RAFT_MSG_VOTE;
	if (vote_req && !m->transfer && raft_election_in_lease(r)) {
		raft_logf(r, RAFT_DEBUG, "ignoring vote from %llu in lease",
			  (unsigned long long)m->from);
		return false;
	}
	if (m->type == RAFT_MSG_PREVOTE)
		return true; /* a pre-vote never changes our term */
	if (m->type == RAFT_MSG_PREVOTE_RESP && !m->reject)
		return true; /* granted pre-votes carry the proposed term */
	bool from_leader = m->type == RAFT_MSG_APPEND ||
			   m->type == RAFT_MSG_HEARTBEAT ||
			   m->type == RAFT_MSG_SNAPSHOT;
	raft_election_become_follower(r, m->term, from_leader ? m->from : 0);
	return true;
}

/* Messages with a term below ours: tell stale leaders and pre-candidates
 * about our term, ignore the rest. */
static void step_lower_term(struct raft *r, const struct raft_msg *m)
{
	struct raft_msg resp = {.to = m->from};
	if (m->type == RAFT_MSG_APPEND || m->type == RAFT_MSG_HEARTBEAT) {
		resp.type = RAFT_MSG_APPEND_RESP;
		resp.reject = true;
		resp.index = m->index;
		resp.hint = raft_log_last_index(&r->log);
		raft_send(r, &resp);
	} else if (m->type == RAFT_MSG_PREVOTE) {
		resp.type = RAFT_MSG_PREVOTE_RESP;
		resp.reject = true;
		raft_send(r, &resp);
	}
}

static void step_dispatch(struct raft *r, const struct raft_msg *m)
{
	switch (m->type) {
	case RAFT_MSG_PREVOTE:
	case RAFT_MSG_VOTE: raft_election_recv_vote(r, m); break;
	case RAFT_MSG_PREVOTE_RESP:
	case RAFT_MSG_VOTE_RESP: raft_election_recv_vote_resp(r, m); break;
	case RAFT_MSG_APPEND: raft_repl_recv_append(r, m); break;
	case RAFT_MSG_APPEND_RESP: raft_repl_recv_append_resp(r, m); break;
	case RAFT_MSG_HEARTBEAT: raft_repl_recv_heartbeat(r, m); break;
	case RAFT_MSG_HEARTBEAT_RESP: raft_repl_recv_heartbeat_resp(r, m); break;
	case RAFT_MSG_SNAPSHOT: raft_snapshot_recv(r, m); break;
	case RAFT_MSG_TIMEOUT_NOW: raft_transfer_recv_timeout_now(r, m); break;
	case RAFT_MSG_READ_INDEX: raft_read_index_recv(r, m); break;
	case RAFT_MSG_READ_INDEX_RESP: raft_read_index_recv_resp(r, m); break;
	}
}

int raft_step(struct raft *r, const struct raft_msg *m)
{
	assert(!r->in_ready);
	if (m->type < RAFT_MSG_PREVOTE || m->type > RAFT_MSG_READ_INDEX_RESP ||
	    m->from == 0 || m->from == r->id || m->term == 0)
		return -EINVAL;
	if ((m->n_entries && m->entries == NULL) || m->to != r->id ||
	    m->snap.conf.n > RAFT_VOTERS_MAX)
		return -EINVAL;
	if (m->term > r->term) {
		if (!step_higher_term(r, m))
			return 0;
	} else if (m->term < r->term) {
		step_lower_term(r, m);
		return 0;
	}
	step_dispatch(r, m);
	assert(raft_invariants(r));
	return 0;
}

int raft_propose(struct raft *r, const void *data, size_t len,
		 raft_index *index)
{
	assert(!r->in_ready);
	if (r->role != RAFT_LEADER)
		return -RAFT_ENOTLEADER;
	if (r->transferee != 0)
		return -RAFT_EBUSY;
	return raft_repl_leader_append(r, RAFT_ENTRY_NORMAL, data, len, index);
}

int raft_add_voter(struct raft *r, raft_id id, raft_index *index)
{
	return raft_membership_change(r, id, true, index);
}

int raft_remove_voter(struct raft *r, raft_id id, raft_index *index)
{
	return raft_membership_change(r, id, false, index);
}

int raft_read_index(struct raft *r, uint64_t id)
{
	assert(!r->in_ready);
	return raft_read_index_request(r, r->id, id);
}

bool raft_has_ready(const struct raft *r)
{
	raft_index upto = r->commit < r->log.stable ? r->commit : r->log.stable;
	return r->n_msgs || r->bcast_pending || r->snap_pending ||
	       r->n_reads_ready ||
	       r->term != r->persisted_hs.term ||
	       r->vote != r->persisted_hs.vote ||
	       raft_log_last_index(&r->log) > r->log.stable || upto > r->applied;
}

void raft_ready(struct raft *r, struct raft_ready *rd)
{
	assert(!r->in_ready);
	raft_repl_flush(r);
	memset(rd, 0, sizeof(*rd));
	r->in_ready = true;
	rd->hs.term = r->term;
	rd->hs.vote = r->vote;
	rd->hs_changed = r->term != r->persisted_hs.term ||
			 r->vote != r->persisted_hs.vote;
	if (r->snap_pending)
		rd->snapshot = &r->snap;
	raft_index last = raft_log_last_index(&r->log);
	if (last > r->log.stable) {
		rd->entries = raft_log_get(&r->log, r->log.stable + 1);
		rd->n_entries = (size_t)(last - r->log.stable);
	}
	r->ready_stable = last;
	rd->may_sync_later = r->role == RAFT_LEADER && !rd->hs_changed && !r->snap_pending;
	raft_index upto = r->commit < r->log.stable ? r->commit : r->log.stable;
	if (upto > r->applied) {
		rd->committed = raft_log_get(&r->log, r->applied + 1);
		rd->n_committed = (size_t)(upto - r->applied);
	}
	r->ready_applied = upto > r->applied ? upto : r->applied;
	rd->msgs = r->msgs;
	rd->n_msgs = r->n_msgs;
	rd->reads = r->reads_ready;
	rd->n_reads = r->n_reads_ready;
}

/* A leader counts its own copy toward commit up to what is durable. */
static void count_own_copy(struct raft *r)
{
	if (r->role != RAFT_LEADER)
		return;
	struct raft_progress *self = raft_repl_progress(r, r->id);
	if (self != NULL && self->match < r->log.durable) {
		self->match = r->log.durable;
		self->next = self->match + 1;
	}
	if (raft_repl_maybe_commit(r))
		raft_repl_on_commit(r);
}

static void advance(struct raft *r, const struct raft_ready *rd, bool synced)
{
	assert(r->in_ready);
	assert(synced || rd->may_sync_later);
	r->in_ready = false;
	if (rd->hs_changed)
		r->persisted_hs = rd->hs;
	r->snap_pending = false;
	r->log.stable = r->ready_stable;
	if (synced)
		r->log.durable = r->log.stable;
	r->applied = r->ready_applied;
	free_msgs(r);
	r->n_reads_ready = 0;
	count_own_copy(r);
	assert(raft_invariants(r));
}

void raft_advance(struct raft *r, const struct raft_ready *rd)
{
	advance(r, rd, true);
}

void raft_advance_unsynced(struct raft *r, const struct raft_ready *rd)
{
	advance(r, rd, false);
}

void raft_synced(struct raft *r, raft_index index, raft_term term)
{
	assert(!r->in_ready);
	if (index <= r->log.durable || index > r->log.stable ||
	    raft_log_term(&r->log, index) != term)
		return; /* already known, or no longer the entry written */
	r->log.durable = index;
	count_own_copy(r);
	assert(raft_invariants(r));
}

int raft_compact(struct raft *r, raft_index index, raft_term term,
		 const struct raft_config *conf)
{
	assert(!r->in_ready);
	if (index <= r->log.offset)
		return -RAFT_ECOMPACTED;
	if (index > r->applied || index > r->log.durable)
		return -RAFT_EUNAVAIL;
	if (raft_log_term(&r->log, index) != term)
		return -EINVAL;
	raft_log_compact(&r->log, index, term, conf);
	return 0;
}

raft_id raft_id_of(const struct raft *r) { return r->id; }
int raft_role(const struct raft *r) { return r->role; }
raft_term raft_term_of(const struct raft *r) { return r->term; }
raft_id raft_leader(const struct raft *r) { return r->leader; }
raft_index raft_commit_index(const struct raft *r) { return r->commit; }
raft_index raft_applied_index(const struct raft *r) { return r->applied; }
raft_index raft_durable_index(const struct raft *r) { return r->log.durable; }
raft_index raft_last_index(const struct raft *r)
{
	return raft_log_last_index(&r->log);
}
raft_index raft_snapshot_index(const struct raft *r) { return r->log.offset; }
raft_term raft_term_at(const struct raft *r, raft_index index)
{
	return raft_log_term(&r->log, index);
}
const struct raft_entry *raft_entry_at(const struct raft *r, raft_index i)
{
	return raft_log_get(&r->log, i);
}
const struct raft_config *raft_config_of(const struct raft *r)
{
	return &r->conf;
}
