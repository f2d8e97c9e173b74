/* raft_effects.c: the effects of applied log entries (what ns_apply
 * wrote), carried from the leader to its followers. See raft_node.h.
 *
 * One ring per node, in index order, bounded by NN_RAFT_FX_MAX entries and
 * NN_RAFT_FX_BYTES_MAX bytes (the oldest go first). On the leader it holds
 * what it applied, and each peer's fx_next says where that peer's next
 * message starts; effects ride on AppendEntries and heartbeats, which a
 * follower needs anyway to learn the commit index, so they cost no message
 * of their own. On a follower the ring holds what arrived, until applied.
 * Losing some (a full ring, a dropped connection, a new leader) only means
 * a follower runs those commands itself. Event-loop thread only. */
#include "namenode/raft_node.h"

#include <stdlib.h>
#include <string.h>

static struct nn_raft_fx *fx_at(struct nn_raft *rn, size_t k)
{
	return &rn->fx[(rn->fx_head + k) % NN_RAFT_FX_MAX];
}

static void fx_pop(struct nn_raft *rn)
{
	struct nn_raft_fx *f = fx_at(rn, 0);
	rn->fx_bytes -= f->len;
	free(f->data);
	f->data = NULL;
	rn->fx_head = (rn->fx_head + 1) % NN_RAFT_FX_MAX;
	rn->n_fx--;
}

void nn_raft_fx_clear(struct nn_raft *rn)
{
	while (rn->n_fx)
		fx_pop(rn);
	free(rn->fx);
	rn->fx = NULL;
}

/* Appends a copy; anything at or after index goes first (a log rewritten
 * from there), the oldest when full. */
static void fx_push(struct nn_raft *rn, uint64_t index, uint64_t term, const uint8_t *data,
		    size_t len)
{
	if (len > NN_RAFT_FX_BYTES_MAX)
		return;
	if (!rn->fx && !(rn->fx = calloc(NN_RAFT_FX_MAX, sizeof(*rn->fx))))
		return;
	while (rn->n_fx && fx_at(rn, rn->n_fx - 1)->index >= index) {
		struct nn_raft_fx *last = fx_at(rn, rn->n_fx - 1);
		rn->fx_bytes -= last->len;
		free(last->data);
		last->data = NULL;
		rn->n_fx--;
	}
	while (rn->n_fx && (rn->n_fx == NN_RAFT_FX_MAX || rn->fx_bytes + len > NN_RAFT_FX_BYTES_MAX))
		fx_pop(rn);
	uint8_t *copy = malloc(len ? len : 1);
	if (!copy)
		return;
	memcpy(copy, data, len);
	*fx_at(rn, rn->n_fx++) = (struct nn_raft_fx){index, term, copy, len};
	rn->fx_bytes += len;
}

void nn_raft_fx_keep(struct nn_raft *rn, uint64_t index, uint64_t term, const uint8_t *data,
		     size_t len)
{
	fx_push(rn, index, term, data, len);
}

void nn_raft_fx_attach(struct nn_raft *rn, struct nn_raft_peer *p, Dfs__RaftMsg *pb)
{
	size_t lo = 0, hi = rn->n_fx, n = 0, bytes = 0;
	while (lo < hi) { /* the first kept at or after p->fx_next */
		size_t mid = lo + (hi - lo) / 2;
		if (fx_at(rn, mid)->index < p->fx_next)
			lo = mid + 1;
		else
			hi = mid;
	}
	size_t first = lo;
	while (first + n < rn->n_fx && bytes < NN_RAFT_FX_SEND_MAX)
		bytes += fx_at(rn, first + n++)->len;
	if (n == 0)
		return;
	Dfs__RaftEffects *ev = calloc(n, sizeof(*ev));
	Dfs__RaftEffects **pv = calloc(n, sizeof(*pv));
	if (!ev || !pv) {
		free(ev);
		free(pv);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const struct nn_raft_fx *f = fx_at(rn, first + i);
		dfs__raft_effects__init(&ev[i]);
		ev[i].index = f->index;
		ev[i].term = f->term;
		ev[i].data.data = f->data;
		ev[i].data.len = f->len;
		pv[i] = &ev[i];
	}
	pb->effects = pv;
	pb->n_effects = n;
	p->fx_next = ev[n - 1].index + 1;
}

void nn_raft_fx_sent(Dfs__RaftMsg *pb)
{
	if (pb->effects)
		free(pb->effects[0]);
	free(pb->effects);
	pb->effects = NULL;
	pb->n_effects = 0;
}

void nn_raft_fx_receive(struct nn_raft *rn, const Dfs__RaftMsg *pb)
{
	for (size_t i = 0; i < pb->n_effects; i++) {
		const Dfs__RaftEffects *e = pb->effects[i];
		if (e->index > rn->applied)
			fx_push(rn, e->index, e->term, e->data.data, e->data.len);
	}
}

const struct nn_raft_fx *nn_raft_fx_for(struct nn_raft *rn, uint64_t index, uint64_t term)
{
	while (rn->n_fx && fx_at(rn, 0)->index < index)
		fx_pop(rn);
	if (rn->n_fx && fx_at(rn, 0)->index == index && fx_at(rn, 0)->term == term)
		return fx_at(rn, 0);
	return NULL;
}
