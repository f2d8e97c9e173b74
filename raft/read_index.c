/*
 * raft/read_index.c - linearizable reads with ReadIndex (dissertation 6.4).
 *
 * Owns: the leader's queue of pending reads, each tied to a heartbeat
 * round (ctx) that a quorum must acknowledge before the read index (the
 * commit index when the read arrived) is released; forwarding from
 * followers; and the ready list of (request id, read index) pairs.
 */
#include "raft/raft_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void raft_read_index_push(struct raft *r, uint64_t id, raft_index index)
{
	if (r->n_reads_ready == r->cap_reads_ready) {
		size_t cap = r->cap_reads_ready ? r->cap_reads_ready * 2 : 8;
		struct raft_read_state *p =
			realloc(r->reads_ready, cap * sizeof(*p));
		if (p == NULL)
			return; /* the caller's read times out */
		r->reads_ready = p;
		r->cap_reads_ready = cap;
	}
	r->reads_ready[r->n_reads_ready].id = id;
	r->reads_ready[r->n_reads_ready].index = index;
	r->n_reads_ready++;
}

static void complete(struct raft *r, raft_id from, uint64_t id,
		     raft_index index)
{
	if (from == r->id) {
		raft_read_index_push(r, id, index);
		return;
	}
	struct raft_msg m = {.type = RAFT_MSG_READ_INDEX_RESP, .to = from,
			     .ctx = id, .index = index};
	raft_send(r, &m);
}

/* Lease reads (see raft_options.lease_reads): the newest heartbeat round
 * acknowledged by a quorum, and whether its lease still runs. */
static bool lease_valid(const struct raft *r)
{
	unsigned margin = r->o.election_ticks / 4 ? r->o.election_ticks / 4 : 1;
	return r->o.lease_reads && r->o.check_quorum && r->role == RAFT_LEADER &&
	       r->lease_held && r->transferee == 0 &&
	       r->now + margin < r->lease_start + r->o.election_ticks;
}

static int cmp_desc_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? 1 : x > y ? -1 : 0;
}

static void lease_on_ack(struct raft *r)
{
	uint64_t acked[RAFT_VOTERS_MAX];
	unsigned n = 0, q = raft_quorum(r);
	for (unsigned k = 0; k < r->n_prs; k++) {
		const struct raft_progress *pr = &r->prs[k];
		acked[n++] = pr->id == r->id ? r->read_seq : pr->read_acked;
	}
	if (q == 0 || n < q)
		return;
	qsort(acked, n, sizeof(acked[0]), cmp_desc_u64);
	uint64_t seq = acked[q - 1];
	if (seq <= r->lease_seq || r->read_seq - seq >= RAFT_HEARTBEAT_RING)
		return;
	r->lease_seq = seq;
	r->lease_start = r->hb_sent[seq % RAFT_HEARTBEAT_RING];
	r->lease_held = true;
}

void raft_lease_drop(struct raft *r)
{
	r->lease_held = false;
}

static int forward(struct raft *r, uint64_t id)
{
	if (r->leader == 0)
		return -RAFT_ENOLEADER;
	struct raft_msg m = {.type = RAFT_MSG_READ_INDEX, .to = r->leader,
			     .ctx = id};
	raft_send(r, &m);
	return 0;
}

int raft_read_index_request(struct raft *r, raft_id from, uint64_t id)
{
	if (r->role != RAFT_LEADER)
		return from == r->id ? forward(r, id) : 0;
	/* The commit index is only known to be current once the leader has
	 * committed an entry of its own term (its no-op). */
	if (r->commit < r->term_start)
		return -RAFT_ENOTREADY;
	if ((raft_config_has(&r->conf, r->id) && raft_quorum(r) == 1) || lease_valid(r)) {
		complete(r, from, id, r->commit);
		return 0;
	}
	if (r->n_reads_pending == RAFT_PENDING_READS_MAX)
		return -RAFT_EBUSY;
	if (r->reads_pending == NULL) {
		r->reads_pending =
			calloc(RAFT_PENDING_READS_MAX, sizeof(*r->reads_pending));
		if (r->reads_pending == NULL)
			return -ENOMEM;
	}
	struct raft_pending_read *p = &r->reads_pending[r->n_reads_pending++];
	p->id = id;
	p->from = from;
	p->index = r->commit;
	p->seq = ++r->read_seq;
	raft_repl_broadcast_heartbeat(r, r->read_seq);
	return 0;
}

void raft_read_index_recv(struct raft *r, const struct raft_msg *m)
{
	if (r->role == RAFT_LEADER)
		raft_read_index_request(r, m->from, m->ctx);
}

void raft_read_index_recv_resp(struct raft *r, const struct raft_msg *m)
{
	if (r->role == RAFT_FOLLOWER && m->from == r->leader)
		raft_read_index_push(r, m->ctx, m->index);
}

static bool confirmed(const struct raft *r, uint64_t seq)
{
	unsigned acks = 0;
	for (unsigned k = 0; k < r->n_prs; k++) {
		const struct raft_progress *pr = &r->prs[k];
		if (pr->id == r->id || pr->read_acked >= seq)
			acks++;
	}
	return acks >= raft_quorum(r);
}

/* Pending reads have increasing seq: release the confirmed prefix. */
void raft_read_index_on_ack(struct raft *r)
{
	lease_on_ack(r);
	if (r->n_reads_pending == 0)
		return; /* every heartbeat round is acknowledged, most without reads */
	size_t k = 0;
	while (k < r->n_reads_pending &&
	       confirmed(r, r->reads_pending[k].seq)) {
		struct raft_pending_read *p = &r->reads_pending[k];
		complete(r, p->from, p->id, p->index);
		k++;
	}
	memmove(r->reads_pending, r->reads_pending + k,
		(r->n_reads_pending - k) * sizeof(*r->reads_pending));
	r->n_reads_pending -= k;
}

void raft_read_index_reset(struct raft *r)
{
	r->n_reads_pending = 0;
}
