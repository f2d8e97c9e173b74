/*
 * tests/raft/sim.c - deterministic simulator for the Raft core.
 *
 * Owns: the simulated world driven by one seed: N cores (3 or 5) embedded
 * the way a real program would (persist, then send, then apply, then
 * advance), a network that loses, delays, reorders, duplicates and
 * partitions (symmetric and one-way), disks that keep only what was
 * fsynced (crashes can strike before, during or after a ready's writes),
 * leaders that (in half the seeds) advance before their fsync and report
 * it later (raft_advance_unsynced / raft_synced),
 * clients that propose unique ids and issue reads, membership changes,
 * leader transfers and compaction.  Checks run after every step (see
 * sim_check.c); a failure prints the seed that replays it.
 *
 * usage: raft-sim [--seeds=N] [--first=S] [--seed=S] [--steps=K] [-v]
 */
#include "tests/raft/sim.h"
#include "raft/raft_int.h" /* white box: dump() */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ELECTION_TICKS 10
#define HEAL_TICKS_MAX 600 /* liveness bound after healing */
#define SETTLE_TICKS_MIN 50
#define SETTLE_TICKS_MAX 3000

static void *xrealloc(void *p, size_t size)
{
	p = realloc(p, size ? size : 1);
	if (p == NULL) {
		fprintf(stderr, "raft-sim: out of memory\n");
		exit(2);
	}
	return p;
}

uint64_t sim_rand(struct sim *s)
{
	uint64_t z = (s->rng += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static unsigned rnd(struct sim *s, unsigned n)
{
	return (unsigned)(sim_rand(s) % n);
}

static bool chance(struct sim *s, unsigned per_mille)
{
	return rnd(s, 1000) < per_mille;
}

void sim_fail(struct sim *s, const char *fmt, ...)
{
	if (s->failed)
		return;
	s->failed = true;
	va_list ap;
	va_start(ap, fmt);
	int k = snprintf(s->why, sizeof(s->why), "t=%u: ", s->now);
	vsnprintf(s->why + k, sizeof(s->why) - (size_t)k, fmt, ap);
	va_end(ap);
}

static void vlog(struct sim *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void vlog(struct sim *s, const char *fmt, ...)
{
	if (!s->verbose)
		return;
	va_list ap;
	va_start(ap, fmt);
	printf("[%6u] ", s->now);
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
}

static void core_log(void *ctx, int level, const char *msg)
{
	struct sim *s = ctx;
	if (level >= RAFT_INFO)
		vlog(s, "raft: %s", msg);
}

/* ---- state machine ---- */

bool sm_seen(const struct sim_sm *sm, uint64_t pid)
{
	return pid < sm->seen_cap && sm->seen[pid];
}

void sm_apply_pid(struct sim_sm *sm, uint64_t pid)
{
	if (sm->n == sm->cap) {
		sm->cap = sm->cap ? sm->cap * 2 : 64;
		sm->ids = xrealloc(sm->ids, sm->cap * sizeof(*sm->ids));
	}
	sm->ids[sm->n++] = pid;
	if (pid >= sm->seen_cap) {
		size_t cap = sm->seen_cap ? sm->seen_cap : 256;
		while (cap <= pid)
			cap *= 2;
		sm->seen = xrealloc(sm->seen, cap);
		memset(sm->seen + sm->seen_cap, 0, cap - sm->seen_cap);
		sm->seen_cap = cap;
	}
	sm->seen[pid] = 1;
}

static void sm_free(struct sim_sm *sm)
{
	free(sm->ids);
	free(sm->seen);
	memset(sm, 0, sizeof(*sm));
}

static void sm_copy(struct sim_sm *dst, const struct sim_sm *src)
{
	sm_free(dst);
	dst->applied = src->applied;
	for (size_t k = 0; k < src->n; k++)
		sm_apply_pid(dst, src->ids[k]);
}

/* ---- disk ---- */

static void disk_truncate(struct sim_disk *d, raft_index from)
{
	while (d->n && d->ents[d->n - 1].index >= from) {
		free(d->ents[d->n - 1].data.base);
		d->n--;
	}
}

static void disk_append(struct sim_disk *d, const struct raft_entry *e)
{
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 64;
		d->ents = xrealloc(d->ents, d->cap * sizeof(*d->ents));
	}
	struct raft_entry *c = &d->ents[d->n++];
	*c = *e;
	c->data.base = NULL;
	if (e->data.len) {
		c->data.base = xrealloc(NULL, e->data.len);
		memcpy(c->data.base, e->data.base, e->data.len);
	}
}

static void disk_compact(struct sim_disk *d, raft_index upto)
{
	size_t k = 0;
	while (k < d->n && d->ents[k].index <= upto)
		free(d->ents[k++].data.base);
	memmove(d->ents, d->ents + k, (d->n - k) * sizeof(*d->ents));
	d->n -= k;
}

static void disk_free(struct sim_disk *d)
{
	disk_truncate(d, 0);
	free(d->ents);
	sm_free(&d->snap_data);
	memset(d, 0, sizeof(*d));
}

/* ---- nodes ---- */

static void node_boot(struct sim *s, struct sim_node *n)
{
	struct raft_options o;
	raft_options_default(&o, n->id, sim_rand(s));
	o.election_ticks = ELECTION_TICKS;
	o.heartbeat_ticks = 2;
	o.max_batch_entries = 4 + rnd(s, 29);
	o.max_inflight = 1 + rnd(s, 8);
	o.pre_vote = s->pre_vote;
	o.check_quorum = s->check_quorum;
	o.lease_reads = s->lease_reads;
	o.log_fn = core_log;
	o.log_ctx = s;
	n->r = raft_new(&o);
	if (n->r == NULL)
		exit(2);
	int rv = raft_restore(n->r, &n->disk.snap, &n->disk.hs, n->disk.ents,
			      n->disk.n);
	SIM_CHECK(s, rv == 0, "restore node %llu: %s",
		  (unsigned long long)n->id, raft_strerror(rv));
	sm_copy(&n->sm, &n->disk.snap_data);
	n->checked_commit = n->disk.snap.index;
	n->last_role = RAFT_FOLLOWER;
	n->last_term = 0;
}

static void node_start(struct sim *s, raft_id id, const struct raft_config *c)
{
	struct sim_node *n = &s->nodes[id];
	n->id = id;
	n->started = true;
	memset(&n->disk.snap, 0, sizeof(n->disk.snap));
	if (c != NULL)
		n->disk.snap.conf = *c;
	node_boot(s, n);
}

/* Unsynced writes reach the disk: all of them (an fsync), or a random
 * prefix (a crash). */
static void unsynced_to_disk(struct sim *s, struct sim_node *n, bool all)
{
	struct sim_disk *u = &n->unsynced;
	if (u->n == 0)
		return;
	size_t keep = all ? u->n : rnd(s, (unsigned)u->n + 1);
	disk_truncate(&n->disk, u->ents[0].index);
	for (size_t k = 0; k < keep; k++)
		disk_append(&n->disk, &u->ents[k]);
	disk_truncate(u, 0);
}

static void node_crash(struct sim *s, struct sim_node *n, const char *when)
{
	vlog(s, "crash %llu (%s)", (unsigned long long)n->id, when);
	unsynced_to_disk(s, n, false);
	/* A machine that crashes loses what it had not sent yet (seeds with
	 * asynchronous writes: a leader crashing before its fsync must not
	 * count on its appends reaching anyone). */
	for (size_t k = 0; s->async_writes && k < s->n_net; k++)
		if (s->net[k].m.from == n->id && chance(s, 500))
			s->net[k].lost = true;
	raft_free(n->r);
	n->r = NULL;
	n->down_until = s->now + 10 + rnd(s, 100);
	for (int k = 0; k < SIM_RSNAP_MAX; k++) {
		n->rsnap[k].valid = false;
		sm_free(&n->rsnap[k].data);
	}
	s->stats.crashes++;
}

static const struct sim_sm *received_snapshot(struct sim_node *n,
					      raft_index index)
{
	for (int k = 0; k < SIM_RSNAP_MAX; k++)
		if (n->rsnap[k].valid && n->rsnap[k].index == index)
			return &n->rsnap[k].data;
	return NULL;
}

/* ---- network ---- */

static void net_push(struct sim *s, const struct raft_msg *m,
		     const struct sim_sm *snap)
{
	if (s->n_net == s->cap_net) {
		s->cap_net = s->cap_net ? s->cap_net * 2 : 256;
		s->net = xrealloc(s->net, s->cap_net * sizeof(*s->net));
	}
	struct sim_netmsg *nm = &s->net[s->n_net++];
	nm->lost = false;
	nm->m = *m;
	nm->m.entries = NULL;
	if (m->n_entries) {
		nm->m.entries =
			xrealloc(NULL, m->n_entries * sizeof(*m->entries));
		for (uint32_t k = 0; k < m->n_entries; k++) {
			struct raft_entry *e = &nm->m.entries[k];
			*e = m->entries[k];
			e->data.base = NULL;
			if (e->data.len) {
				e->data.base = xrealloc(NULL, e->data.len);
				memcpy(e->data.base, m->entries[k].data.base,
				       e->data.len);
			}
		}
	}
	nm->snap = NULL;
	if (snap != NULL) {
		nm->snap = xrealloc(NULL, sizeof(*nm->snap));
		memset(nm->snap, 0, sizeof(*nm->snap));
		sm_copy(nm->snap, snap);
	}
	unsigned delay = 1 + rnd(s, 3);
	if (!s->healing && chance(s, 50))
		delay += rnd(s, 15); /* reordering */
	nm->at = s->now + delay;
}

static void netmsg_free(struct sim_netmsg *nm)
{
	for (uint32_t k = 0; k < nm->m.n_entries; k++)
		free(nm->m.entries[k].data.base);
	free(nm->m.entries);
	if (nm->snap) {
		sm_free(nm->snap);
		free(nm->snap);
	}
}

static void send_msgs(struct sim *s, struct sim_node *n,
		      const struct raft_ready *rd)
{
	for (size_t k = 0; k < rd->n_msgs; k++) {
		const struct raft_msg *m = &rd->msgs[k];
		const struct sim_sm *snap = NULL;
		if (m->type == RAFT_MSG_SNAPSHOT) {
			SIM_CHECK(s, n->disk.snap.index == m->snap.index,
				  "node %llu sends snapshot %llu, has %llu",
				  (unsigned long long)n->id,
				  (unsigned long long)m->snap.index,
				  (unsigned long long)n->disk.snap.index);
			snap = &n->disk.snap_data;
		}
		if (m->to == 0 || m->to > SIM_NODES_MAX)
			continue;
		s->stats.msgs++;
		if (chance(s, s->loss_pct * 10)) {
			if (snap != NULL)
				raft_report_snapshot_failed(n->r, m->to);
			continue;
		}
		net_push(s, m, snap);
		if (chance(s, s->dup_pct * 10))
			net_push(s, m, snap);
	}
}

/* ---- the embedder loop ---- */

enum { CRASH_NONE, CRASH_BEFORE_SYNC, CRASH_TORN, CRASH_AFTER_SYNC };

static int pick_crash(struct sim *s)
{
	if (s->healing || !chance(s, 2))
		return CRASH_NONE;
	return 1 + (int)rnd(s, 3);
}

static void install_snapshot(struct sim *s, struct sim_node *n,
			     const struct raft_snapshot_meta *meta)
{
	const struct sim_sm *data = received_snapshot(n, meta->index);
	SIM_CHECK(s, data != NULL, "node %llu: snapshot %llu not received",
		  (unsigned long long)n->id, (unsigned long long)meta->index);
	if (data == NULL)
		return;
	SIM_CHECK(s, n->sm.applied < meta->index,
		  "node %llu: snapshot %llu installed over applied %llu",
		  (unsigned long long)n->id, (unsigned long long)meta->index,
		  (unsigned long long)n->sm.applied);
	sm_copy(&n->sm, data);
	n->sm.applied = meta->index;
	n->disk.snap = *meta;
	sm_copy(&n->disk.snap_data, data);
	n->disk.snap_data.applied = meta->index;
	disk_truncate(&n->disk, 0);
	s->stats.snapshots++;
	vlog(s, "node %llu installed snapshot %llu",
	     (unsigned long long)n->id, (unsigned long long)meta->index);
}

/* Persist a ready's entries; with torn, only a random prefix survives. */
static void persist_entries(struct sim *s, struct sim_node *n,
			    const struct raft_ready *rd, bool torn)
{
	if (rd->n_entries == 0)
		return;
	check_entries(s, n, rd->entries, rd->n_entries);
	raft_index first = rd->entries[0].index;
	raft_index disk_last = n->disk.snap.index + n->disk.n;
	SIM_CHECK(s, first > n->disk.snap.index && first <= disk_last + 1,
		  "node %llu persists from %llu, disk has (%llu, %llu]",
		  (unsigned long long)n->id, (unsigned long long)first,
		  (unsigned long long)n->disk.snap.index,
		  (unsigned long long)disk_last);
	if (s->failed)
		return;
	disk_truncate(&n->disk, first);
	size_t keep = torn ? rnd(s, (unsigned)rd->n_entries) : rd->n_entries;
	for (size_t k = 0; k < keep; k++)
		disk_append(&n->disk, &rd->entries[k]);
}

static void apply_committed(struct sim *s, struct sim_node *n,
			    const struct raft_ready *rd)
{
	for (size_t k = 0; k < rd->n_committed && !s->failed; k++) {
		const struct raft_entry *e = &rd->committed[k];
		check_apply(s, n, e);
		if (e->type == RAFT_ENTRY_NORMAL && e->data.len == 8) {
			uint64_t pid;
			memcpy(&pid, e->data.base, 8);
			sm_apply_pid(&n->sm, pid);
		}
		n->sm.applied = e->index;
	}
	for (size_t k = 0; k < rd->n_reads && !s->failed; k++)
		check_read(s, n, &rd->reads[k]);
}

/* A leader's ready written without fsync: sent, applied, advanced; the
 * fsync completes in a later step (sync_unsynced) unless a crash or a
 * synchronous ready comes first. */
static void process_unsynced(struct sim *s, struct sim_node *n, const struct raft_ready *rd)
{
	check_entries(s, n, rd->entries, rd->n_entries);
	const struct sim_disk *u = &n->unsynced;
	raft_index written = u->n ? u->ents[u->n - 1].index : n->disk.snap.index + n->disk.n;
	SIM_CHECK(s, rd->entries[0].index == written + 1,
		  "leader %llu writes from %llu unsynced after %llu",
		  (unsigned long long)n->id, (unsigned long long)rd->entries[0].index,
		  (unsigned long long)written);
	if (s->failed)
		return;
	for (size_t k = 0; k < rd->n_entries; k++)
		disk_append(&n->unsynced, &rd->entries[k]);
	send_msgs(s, n, rd);
	apply_committed(s, n, rd);
	raft_advance_unsynced(n->r, rd);
	s->stats.unsynced_advances++;
	check_step(s);
}

/* The fsync of a node's unsynced writes completes. */
static void sync_unsynced(struct sim *s, struct sim_node *n)
{
	struct sim_disk *u = &n->unsynced;
	if (n->r == NULL || u->n == 0)
		return;
	raft_index index = u->ents[u->n - 1].index;
	raft_term term = u->ents[u->n - 1].term;
	unsynced_to_disk(s, n, true);
	raft_synced(n->r, index, term);
	check_step(s);
}

static void process_ready(struct sim *s, struct sim_node *n)
{
	while (n->r != NULL && !s->failed && raft_has_ready(n->r)) {
		struct raft_ready rd;
		raft_ready(n->r, &rd);
		if (s->async_writes && rd.may_sync_later && rd.n_entries && chance(s, 600)) {
			process_unsynced(s, n, &rd);
			continue;
		}
		int crash = pick_crash(s);
		if (crash == CRASH_BEFORE_SYNC) {
			node_crash(s, n, "before fsync");
			return;
		}
		/* A synchronous ready's fsync covers the earlier writes. */
		unsynced_to_disk(s, n, true);
		if (rd.snapshot != NULL)
			install_snapshot(s, n, rd.snapshot);
		if (rd.hs_changed)
			n->disk.hs = rd.hs;
		persist_entries(s, n, &rd, crash == CRASH_TORN);
		if (crash != CRASH_NONE) {
			node_crash(s, n, crash == CRASH_TORN ? "torn write"
							     : "after fsync");
			return;
		}
		send_msgs(s, n, &rd);
		apply_committed(s, n, &rd);
		raft_advance(n->r, &rd);
		check_step(s);
	}
}

static void deliver(struct sim *s, struct sim_netmsg *nm)
{
	raft_id to = nm->m.to, from = nm->m.from;
	struct sim_node *n = &s->nodes[to];
	if (n->r == NULL || s->cut[from][to] || nm->lost)
		return;
	if (nm->snap != NULL) {
		unsigned k = n->rsnap_next++ % SIM_RSNAP_MAX;
		n->rsnap[k].valid = true;
		n->rsnap[k].index = nm->m.snap.index;
		sm_copy(&n->rsnap[k].data, nm->snap);
	}
	if (s->verbose && getenv("SIM_TRACE"))
		vlog(s, "deliver %llu->%llu type %d term %llu index %llu "
		     "log_term %llu n %u reject %d hint %llu commit %llu",
		     (unsigned long long)from, (unsigned long long)to,
		     nm->m.type, (unsigned long long)nm->m.term,
		     (unsigned long long)nm->m.index,
		     (unsigned long long)nm->m.log_term, nm->m.n_entries,
		     nm->m.reject, (unsigned long long)nm->m.hint,
		     (unsigned long long)nm->m.commit);
	int rv = raft_step(n->r, &nm->m);
	SIM_CHECK(s, rv == 0, "step on %llu: %s", (unsigned long long)to,
		  raft_strerror(rv));
	process_ready(s, n);
}

/* Deliver every message due now, in a random order. */
static void deliver_due(struct sim *s)
{
	size_t n_due = 0;
	for (size_t k = 0; k < s->n_net; k++)
		if (s->net[k].at <= s->now)
			n_due++;
	while (n_due > 0 && !s->failed) {
		unsigned pick = rnd(s, (unsigned)n_due);
		size_t k;
		for (k = 0; k < s->n_net; k++)
			if (s->net[k].at <= s->now && pick-- == 0)
				break;
		struct sim_netmsg nm = s->net[k];
		s->net[k] = s->net[--s->n_net];
		n_due--;
		deliver(s, &nm);
		netmsg_free(&nm);
	}
}

/* ---- clients ---- */

static struct sim_node *find_leader(struct sim *s)
{
	struct sim_node *best = NULL;
	for (raft_id id = 1; id <= SIM_NODES_MAX; id++) {
		struct sim_node *n = &s->nodes[id];
		if (n->r == NULL || raft_role(n->r) != RAFT_LEADER)
			continue;
		if (best == NULL || raft_term_of(n->r) > raft_term_of(best->r))
			best = n;
	}
	return best;
}

static struct sim_node *random_live(struct sim *s)
{
	struct sim_node *live[SIM_NODES_MAX];
	unsigned n = 0;
	for (raft_id id = 1; id <= SIM_NODES_MAX; id++)
		if (s->nodes[id].r != NULL)
			live[n++] = &s->nodes[id];
	return n ? live[rnd(s, n)] : NULL;
}

/* Propose a fresh id on the leader; returns the pid or 0. */
static uint64_t propose(struct sim *s, struct sim_node *l)
{
	if (s->n_props == s->cap_props) {
		s->cap_props = s->cap_props ? s->cap_props * 2 : 256;
		s->props = xrealloc(s->props, s->cap_props * sizeof(*s->props));
	}
	uint64_t pid = s->n_props;
	raft_index index;
	if (raft_propose(l->r, &pid, sizeof(pid), &index) != 0)
		return 0;
	s->props[s->n_props++] = (struct sim_prop){.node = l->id,
						   .index = index};
	process_ready(s, l);
	return pid;
}

static void read_request(struct sim *s, struct sim_node *n)
{
	if (s->n_reads == s->cap_reads) {
		s->cap_reads = s->cap_reads ? s->cap_reads * 2 : 256;
		s->reads = xrealloc(s->reads, s->cap_reads * sizeof(*s->reads));
	}
	uint64_t rid = s->n_reads;
	s->reads[s->n_reads++] = (struct sim_read){
		.node = n->id, .min_index = s->max_committed};
	if (raft_read_index(n->r, rid) != 0)
		s->reads[rid].done = true;
	process_ready(s, n);
}

static void conf_change(struct sim *s, struct sim_node *l)
{
	const struct raft_config *c = raft_config_of(l->r);
	raft_id id = 1 + rnd(s, SIM_NODES_MAX);
	bool add = !raft_config_has(c, id);
	if (add ? c->n >= s->n_init + 2 : c->n <= 3)
		return;
	raft_index index;
	int rv = add ? raft_add_voter(l->r, id, &index)
		     : raft_remove_voter(l->r, id, &index);
	if (rv != 0)
		return;
	vlog(s, "leader %llu: %s voter %llu at %llu",
	     (unsigned long long)l->id, add ? "add" : "remove",
	     (unsigned long long)id, (unsigned long long)index);
	s->stats.conf_changes++;
	if (add && !s->nodes[id].started) {
		struct raft_config empty = {0};
		node_start(s, id, &empty);
	}
	process_ready(s, l);
}

static void compact(struct sim *s, struct sim_node *n)
{
	raft_index a = raft_applied_index(n->r);
	if (a < raft_snapshot_index(n->r) + 20 || n->unsynced.n)
		return; /* a leader may have applied what is not durable yet */
	struct raft_config c;
	if (raft_conf_at(n->r, a, &c) != 0)
		return;
	int rv = raft_compact(n->r, a, raft_term_at(n->r, a), &c);
	SIM_CHECK(s, rv == 0, "compact %llu at %llu: %s",
		  (unsigned long long)n->id, (unsigned long long)a,
		  raft_strerror(rv));
	n->disk.snap = (struct raft_snapshot_meta){
		.index = a, .term = raft_term_at(n->r, a), .conf = c};
	n->disk.snap.term = raft_snapshot_index(n->r) == a
				    ? raft_term_at(n->r, a)
				    : n->disk.snap.term;
	sm_copy(&n->disk.snap_data, &n->sm);
	disk_compact(&n->disk, a);
	s->stats.compactions++;
}

/* ---- faults ---- */

static void partition(struct sim *s)
{
	memset(s->cut, 0, sizeof(s->cut));
	unsigned mode = rnd(s, 3);
	uint8_t side[SIM_NODES_MAX + 1];
	for (raft_id a = 1; a <= SIM_NODES_MAX; a++)
		side[a] = (uint8_t)rnd(s, 2);
	for (raft_id a = 1; a <= SIM_NODES_MAX; a++)
		for (raft_id b = 1; b <= SIM_NODES_MAX; b++) {
			if (mode == 0) /* symmetric split */
				s->cut[a][b] = side[a] != side[b];
			else if (mode == 1) /* one-way: side 0 -> side 1 */
				s->cut[a][b] = side[a] == 0 && side[b] == 1;
			else /* random one-way links */
				s->cut[a][b] = chance(s, 200);
		}
	s->partition_until = s->now + 20 + rnd(s, 150);
	s->stats.partitions++;
	vlog(s, "partition mode %u until %u", mode, s->partition_until);
}

static void faults(struct sim *s)
{
	if (s->partition_until && s->now >= s->partition_until) {
		memset(s->cut, 0, sizeof(s->cut));
		s->partition_until = 0;
		vlog(s, "partition healed");
	} else if (!s->partition_until && chance(s, 8)) {
		partition(s);
	}
	unsigned down = 0;
	for (raft_id id = 1; id <= SIM_NODES_MAX; id++) {
		struct sim_node *n = &s->nodes[id];
		if (n->started && n->r == NULL) {
			if (s->now >= n->down_until)
				node_boot(s, n);
			else
				down++;
		}
	}
	struct sim_node *n = random_live(s);
	if (n != NULL && down < 2 && chance(s, 4))
		node_crash(s, n, "random");
}

static void client_ops(struct sim *s)
{
	struct sim_node *l = find_leader(s);
	if (l != NULL && chance(s, 300))
		for (unsigned k = 1 + rnd(s, 3); k > 0 && l->r; k--)
			propose(s, l);
	struct sim_node *n = random_live(s);
	if (n != NULL && chance(s, 60))
		read_request(s, n);
	l = find_leader(s);
	if (l != NULL && chance(s, 6))
		conf_change(s, l);
	l = find_leader(s);
	if (l != NULL && chance(s, 4)) {
		const struct raft_config *c = raft_config_of(l->r);
		if (c->n > 0) {
			raft_id to = c->voters[rnd(s, c->n)];
			if (raft_transfer(l->r, to) == 0) {
				s->stats.transfers++;
				process_ready(s, l);
			}
		}
	}
	n = random_live(s);
	if (n != NULL && chance(s, 30))
		compact(s, n);
}

static void tick_all(struct sim *s)
{
	raft_id order[SIM_NODES_MAX];
	for (unsigned k = 0; k < SIM_NODES_MAX; k++)
		order[k] = k + 1;
	for (unsigned k = SIM_NODES_MAX - 1; k > 0; k--) {
		unsigned j = rnd(s, k + 1);
		raft_id t = order[k];
		order[k] = order[j];
		order[j] = t;
	}
	for (unsigned k = 0; k < SIM_NODES_MAX && !s->failed; k++) {
		struct sim_node *n = &s->nodes[order[k]];
		if (n->r == NULL)
			continue;
		raft_tick(n->r);
		process_ready(s, n);
	}
}

static void step(struct sim *s)
{
	s->now++;
	if (!s->healing) {
		faults(s);
		client_ops(s);
	}
	for (raft_id id = 1; id <= SIM_NODES_MAX && !s->failed; id++) {
		struct sim_node *n = &s->nodes[id];
		if (!n->unsynced.n || !chance(s, 100))
			continue;
		if (!s->healing && chance(s, 50)) {
			node_crash(s, n, "before its unsynced writes were durable");
			continue;
		}
		sync_unsynced(s, n);
		process_ready(s, n);
	}
	deliver_due(s);
	tick_all(s);
	check_step(s);
}

static bool voters_caught_up(struct sim *s, raft_index target)
{
	struct sim_node *l = find_leader(s);
	if (l == NULL)
		return false;
	const struct raft_config *c = raft_config_of(l->r);
	for (uint32_t k = 0; k < c->n; k++) {
		struct sim_node *n = &s->nodes[c->voters[k]];
		if (n->r == NULL || n->sm.applied < target)
			return false;
	}
	return true;
}

/* Heal every fault, then demand a leader and a committed proposal within
 * HEAL_TICKS_MAX ticks, and convergence of every voter after that. */
static void heal_and_check_liveness(struct sim *s)
{
	s->healing = true;
	s->loss_pct = s->dup_pct = 0;
	memset(s->cut, 0, sizeof(s->cut));
	for (raft_id id = 1; id <= SIM_NODES_MAX; id++)
		if (s->nodes[id].started && s->nodes[id].r == NULL)
			node_boot(s, &s->nodes[id]);
	unsigned start = s->now;
	uint64_t pid = 0;
	while (!s->failed && s->now - start < HEAL_TICKS_MAX) {
		step(s);
		struct sim_node *l = find_leader(s);
		if (l == NULL)
			continue;
		if (pid != 0 && s->props[pid].acked)
			break;
		if (pid == 0 || (s->now - start) % 20 == 0) {
			uint64_t fresh = propose(s, l);
			if (fresh != 0)
				pid = fresh;
		}
	}
	SIM_CHECK(s, pid != 0 && s->props[pid].acked,
		  "liveness: no proposal committed %u ticks after healing",
		  HEAL_TICKS_MAX);
	/* Every voter must then catch up (bounded: slow options may make
	 * followers replay a long backlog one small batch at a time). */
	raft_index target = s->props[pid].applied_at;
	for (unsigned k = 0; k < SETTLE_TICKS_MAX && !s->failed; k++) {
		step(s);
		if (k >= SETTLE_TICKS_MIN && voters_caught_up(s, target))
			break;
	}
	SIM_CHECK(s, find_leader(s) != NULL,
		  "liveness: no leader after settling");
	SIM_CHECK(s, voters_caught_up(s, target),
		  "liveness: voters did not apply %llu within %u ticks",
		  (unsigned long long)target, SETTLE_TICKS_MAX);
	check_final(s);
}

static void sim_free(struct sim *s)
{
	for (raft_id id = 1; id <= SIM_NODES_MAX; id++) {
		struct sim_node *n = &s->nodes[id];
		raft_free(n->r);
		disk_free(&n->disk);
		disk_free(&n->unsynced);
		sm_free(&n->sm);
		for (int k = 0; k < SIM_RSNAP_MAX; k++)
			sm_free(&n->rsnap[k].data);
	}
	for (size_t k = 0; k < s->n_net; k++)
		netmsg_free(&s->net[k]);
	free(s->net);
	free(s->props);
	free(s->reads);
	check_free(s);
}

static void dump(struct sim *s)
{
	for (raft_id id = 1; id <= SIM_NODES_MAX; id++) {
		struct sim_node *n = &s->nodes[id];
		if (!n->started)
			continue;
		if (n->r == NULL) {
			printf("  node %llu: down\n", (unsigned long long)id);
			continue;
		}
		const struct raft_config *c = raft_config_of(n->r);
		printf("  node %llu: %s term %llu leader %llu commit %llu "
		       "applied %llu last %llu snap %llu conf",
		       (unsigned long long)id, raft_role_name(raft_role(n->r)),
		       (unsigned long long)raft_term_of(n->r),
		       (unsigned long long)raft_leader(n->r),
		       (unsigned long long)raft_commit_index(n->r),
		       (unsigned long long)raft_applied_index(n->r),
		       (unsigned long long)raft_last_index(n->r),
		       (unsigned long long)raft_snapshot_index(n->r));
		for (uint32_t k = 0; k < c->n; k++)
			printf(" %llu", (unsigned long long)c->voters[k]);
		printf("\n");
		for (unsigned k = 0; raft_role(n->r) == RAFT_LEADER &&
				     k < n->r->n_prs; k++) {
			const struct raft_progress *pr = &n->r->prs[k];
			printf("    pr %llu: state %d match %llu next %llu "
			       "inflight %u probe_sent %d\n",
			       (unsigned long long)pr->id, pr->state,
			       (unsigned long long)pr->match,
			       (unsigned long long)pr->next, pr->n_inflight,
			       pr->probe_sent);
		}
	}
}

static bool run_seed(uint64_t seed, unsigned steps, bool verbose)
{
	struct sim s = {.seed = seed, .rng = seed, .verbose = verbose};
	s.steps = steps;
	s.n_init = sim_rand(&s) % 2 ? 5 : 3;
	s.loss_pct = rnd(&s, 15);
	s.dup_pct = rnd(&s, 10);
	s.pre_vote = rnd(&s, 4) != 0;
	s.check_quorum = rnd(&s, 4) != 0;
	/* from the seed, not the stream: older seeds replay as before */
	s.lease_reads = s.check_quorum && seed % 2 == 0;
	s.async_writes = (seed >> 1) % 2 == 1;
	s.n_props = s.n_reads = 1; /* id 0 means "none" */
	s.cap_props = s.cap_reads = 0;
	s.props = xrealloc(NULL, sizeof(*s.props));
	s.reads = xrealloc(NULL, sizeof(*s.reads));
	s.cap_props = s.cap_reads = 1;
	struct raft_config c = {.n = s.n_init};
	for (unsigned k = 0; k < s.n_init; k++)
		c.voters[k] = k + 1;
	for (raft_id id = 1; id <= SIM_NODES_MAX; id++)
		s.nodes[id].id = id;
	for (raft_id id = 1; id <= s.n_init; id++)
		node_start(&s, id, &c);
	while (!s.failed && s.now < steps)
		step(&s);
	if (!s.failed)
		heal_and_check_liveness(&s);
	if (s.failed) {
		printf("seed %llu: FAILED: %s\n", (unsigned long long)seed,
		       s.why);
		if (verbose)
			dump(&s);
		printf("reproduce with: tests/raft/raft-sim --seed=%llu\n",
		       (unsigned long long)seed);
	} else if (verbose) {
		printf("seed %llu: ok: %u nodes, pre-vote %d, check-quorum "
		       "%d, lease reads %d, async writes %d (%u), %u elections, %u acked, "
		       "%u reads, %u snapshots, %u compactions, %u conf "
		       "changes, %u transfers, %u crashes, %u partitions, "
		       "%u msgs\n",
		       (unsigned long long)seed, s.n_init, s.pre_vote,
		       s.check_quorum, s.lease_reads, s.async_writes,
		       s.stats.unsynced_advances, s.stats.elections,
		       s.stats.acked, s.stats.reads, s.stats.snapshots,
		       s.stats.compactions, s.stats.conf_changes,
		       s.stats.transfers, s.stats.crashes, s.stats.partitions,
		       s.stats.msgs);
	}
	bool ok = !s.failed;
	sim_free(&s);
	return ok;
}

static bool arg_u64(const char *arg, const char *name, uint64_t *v)
{
	size_t len = strlen(name);
	if (strncmp(arg, name, len) != 0)
		return false;
	char *end;
	*v = strtoull(arg + len, &end, 10);
	if (*end != '\0') {
		fprintf(stderr, "raft-sim: bad value in %s\n", arg);
		exit(2);
	}
	return true;
}

int main(int argc, char **argv)
{
	uint64_t seeds = 500, first = 1, steps = 3000, one = 0, v;
	bool verbose = false, single = false;
	for (int k = 1; k < argc; k++) {
		if (arg_u64(argv[k], "--seeds=", &seeds) ||
		    arg_u64(argv[k], "--first=", &first) ||
		    arg_u64(argv[k], "--steps=", &steps))
			continue;
		if (arg_u64(argv[k], "--seed=", &v)) {
			one = v;
			single = true;
		} else if (strcmp(argv[k], "-v") == 0) {
			verbose = true;
		} else {
			fprintf(stderr, "usage: raft-sim [--seeds=N] "
					"[--first=S] [--seed=S] [--steps=K] "
					"[-v]\n");
			return 2;
		}
	}
	if (single)
		return run_seed(one, (unsigned)steps, verbose) ? 0 : 1;
	unsigned failed = 0;
	for (uint64_t seed = first; seed < first + seeds; seed++)
		if (!run_seed(seed, (unsigned)steps, verbose))
			failed++;
	printf("raft-sim: %llu seeds from %llu, %llu steps each: %u failed\n",
	       (unsigned long long)seeds, (unsigned long long)first,
	       (unsigned long long)steps, failed);
	return failed ? 1 : 0;
}
