/* blockmap.c: block id -> replicas (soft state, see dnmgr.h): a chained
 * hash table that grows, replica updates from reports, corrupt marks,
 * COPY-in-flight accounting, DELETE batching and the locations handed to
 * clients. */
#include "namenode/dnmgr.h"

#include "common/errors.h"
#include "common/log.h"

#include <stdlib.h>
#include <string.h>

static size_t bucket_of(const struct dnmgr *m, uint64_t id)
{
	return (size_t)((id * 0x9E3779B97F4A7C15ull) >> 20) & (m->n_buckets - 1);
}

struct bm_block *bm_find(struct dnmgr *m, uint64_t id)
{
	for (struct bm_block *b = m->buckets[bucket_of(m, id)]; b; b = b->next)
		if (b->id == id)
			return b;
	return NULL;
}

static void grow(struct dnmgr *m)
{
	size_t nb = m->n_buckets * 2;
	struct bm_block **n = calloc(nb, sizeof(*n));
	if (!n)
		return; /* keep the old table: longer chains, still correct */
	struct bm_block **old = m->buckets;
	size_t ob = m->n_buckets;
	m->buckets = n;
	m->n_buckets = nb;
	for (size_t i = 0; i < ob; i++)
		for (struct bm_block *b = old[i], *next; b; b = next) {
			next = b->next;
			size_t k = bucket_of(m, b->id);
			b->next = n[k];
			n[k] = b;
		}
	free(old);
	m->scan_bucket = 0;
	m->cycle_buckets = 0; /* the cycle starts over */
}

struct bm_block *bm_get(struct dnmgr *m, uint64_t id)
{
	struct bm_block *b = bm_find(m, id);
	if (b)
		return b;
	if (m->n_blocks > 2 * m->n_buckets)
		grow(m);
	b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->id = id;
	b->copy_src = -1;
	size_t k = bucket_of(m, id);
	b->next = m->buckets[k];
	m->buckets[k] = b;
	m->n_blocks++;
	return b;
}

void bm_remove(struct dnmgr *m, uint64_t id)
{
	for (struct bm_block **pp = &m->buckets[bucket_of(m, id)]; *pp; pp = &(*pp)->next) {
		struct bm_block *b = *pp;
		if (b->id != id)
			continue;
		bm_copy_ended(m, b);
		for (uint32_t i = 0; i < b->n; i++)
			if (b->r[i].confirmed && m->dns[b->r[i].dn].blocks > 0)
				m->dns[b->r[i].dn].blocks--;
		*pp = b->next;
		free(b);
		m->n_blocks--;
		return;
	}
}

int bm_set_replica(struct dnmgr *m, uint64_t id, int dn, uint64_t gs, uint64_t len,
		   bool confirmed)
{
	struct bm_block *b = bm_get(m, id);
	if (!b)
		return -ENOMEM;
	uint32_t i;
	for (i = 0; i < b->n && b->r[i].dn != dn; i++)
		;
	if (i == b->n) {
		if (b->n == BM_REPLICAS_MAX)
			return -ENOSPC;
		b->n++;
		b->r[i] = (struct bm_replica){.dn = dn};
		bm_touch(m, b);
	}
	/* Genstamps only move forward: a late report of an older version (e.g.
	 * an incremental report that crossed an OPEN_BLOCK) does not replace
	 * the newer version expected or confirmed there; if the rewrite never
	 * reaches that replica, the expectation expires (replmon) and the
	 * next full report shows it stale. */
	if (b->r[i].genstamp > gs)
		return 0;
	if (!confirmed && b->r[i].confirmed && b->r[i].genstamp >= gs)
		return 0;
	if (confirmed && !b->r[i].confirmed)
		m->dns[dn].blocks++;
	/* a COPY's target has it once it reports the copied genstamp (a late
	 * report of an older one is not the copy) */
	bool had_copy = b->r[i].confirmed && b->r[i].genstamp >= b->copy_gs;
	if (confirmed && !had_copy && gs >= b->copy_gs && b->copy_src >= 0 &&
	    b->copy_src != dn && b->copy_targets > 0 && --b->copy_targets == 0) {
		bm_copy_ended(m, b); /* every target of the COPY has it */
		b->busy_until_ms = 0;
	}
	if (b->r[i].genstamp != gs)
		b->r[i].corrupt = false; /* a new version: the mark was for the old */
	b->r[i].unreported = false;
	if (b->r[i].confirmed != confirmed || b->r[i].genstamp != gs || b->r[i].length != len)
		bm_touch(m, b); /* a full report of what is known changes nothing */
	b->r[i].confirmed = confirmed;
	b->r[i].genstamp = gs;
	b->r[i].length = len;
	return 0;
}

void bm_drop_replica(struct dnmgr *m, struct bm_block *b, int dn)
{
	for (uint32_t i = 0; i < b->n; i++) {
		if (b->r[i].dn != dn)
			continue;
		if (b->r[i].confirmed && m->dns[dn].blocks > 0)
			m->dns[dn].blocks--;
		b->r[i] = b->r[--b->n];
		bm_touch(m, b);
		return;
	}
}

void bm_replica_deleted(struct dnmgr *m, uint64_t id, int dn, uint64_t gs)
{
	struct bm_block *b = bm_find(m, id);
	for (uint32_t i = 0; b && i < b->n; i++)
		if (b->r[i].dn == dn) {
			if (b->r[i].genstamp <= gs)
				bm_drop_replica(m, b, dn);
			return;
		}
}

void bm_touch(struct dnmgr *m, struct bm_block *b)
{
	if (b->touched_gen == m->touched_gen)
		return;
	if (m->n_touched == m->cap_touched) {
		size_t cap = m->cap_touched ? 2 * m->cap_touched : 1024;
		uint64_t *t = realloc(m->touched, cap * sizeof(*t));
		if (!t) {
			m->rescan = true; /* the full cycle finds it */
			return;
		}
		m->touched = t;
		m->cap_touched = cap;
	}
	m->touched[m->n_touched++] = b->id;
	b->touched_gen = m->touched_gen;
}

void bm_untouch_all(struct dnmgr *m)
{
	m->n_touched = 0;
	if (++m->touched_gen == 0)
		m->touched_gen = 1;
}

void bm_drop_datanode(struct dnmgr *m, int dn)
{
	for (size_t k = 0; k < m->n_buckets; k++)
		for (struct bm_block *b = m->buckets[k]; b; b = b->next)
			bm_drop_replica(m, b, dn);
	m->dns[dn].blocks = 0;
}

/* Mark and sweep, so that corrupt marks of replicas still held survive. */
int bm_full_report(struct dnmgr *m, int dn, Dfs__BlockRef **refs, size_t n,
		   Dfs__BlockRef **corrupt, size_t nc)
{
	for (size_t k = 0; k < m->n_buckets; k++)
		for (struct bm_block *b = m->buckets[k]; b; b = b->next)
			for (uint32_t i = 0; i < b->n; i++)
				if (b->r[i].dn == dn)
					b->r[i].unreported = true;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = bm_set_replica(m, refs[i]->block_id, dn, refs[i]->genstamp, refs[i]->length,
				    true);
	for (size_t k = 0; k < m->n_buckets; k++)
		for (struct bm_block *b = m->buckets[k]; b; b = b->next)
			for (uint32_t i = 0; i < b->n;) {
				if (b->r[i].dn == dn && b->r[i].unreported &&
				    (rc < 0 || b->r[i].confirmed))
					bm_drop_replica(m, b, dn);
				else
					b->r[i++].unreported = false;
			}
	for (size_t i = 0; i < nc && rc == 0; i++)
		bm_mark_corrupt(m, corrupt[i]->block_id, corrupt[i]->genstamp, dn);
	m->dns[dn].full_reported = rc == 0;
	return rc;
}

int bm_mark_corrupt(struct dnmgr *m, uint64_t id, uint64_t gs, int dn)
{
	struct bm_block *b = bm_find(m, id);
	for (uint32_t i = 0; b && i < b->n; i++) {
		struct bm_replica *r = &b->r[i];
		if (r->dn != dn || r->genstamp != gs)
			continue;
		if (!r->corrupt)
			DFS_WARN("block %llu genstamp %llu: replica on %s is corrupt",
				 (unsigned long long)id, (unsigned long long)gs, m->dns[dn].uuid);
		if (!r->corrupt || !r->confirmed)
			bm_touch(m, b);
		r->corrupt = true;
		r->confirmed = true; /* it is there (bad): do not expire it */
		return 1;
	}
	return 0;
}

bool bm_replica_good(const struct dnmgr *m, const struct bm_replica *r, uint64_t gs)
{
	const struct datanode *d = &m->dns[r->dn];
	return r->confirmed && !r->corrupt && r->genstamp == gs && d->live &&
	       d->admin == DN_ADMIN_NORMAL;
}

void bm_copy_started(struct dnmgr *m, struct bm_block *b, int src, uint32_t nt, uint64_t gs)
{
	bm_copy_ended(m, b);
	b->copy_src = src;
	b->copy_targets = nt;
	b->copy_gs = gs;
	m->dns[src].copies++;
}

void bm_copy_ended(struct dnmgr *m, struct bm_block *b)
{
	if (b->copy_src >= 0 && m->dns[b->copy_src].copies > 0)
		m->dns[b->copy_src].copies--;
	b->copy_src = -1;
	b->copy_targets = 0;
}

int bm_queue_delete(struct dnmgr *m, int dn, uint64_t id, uint64_t gs)
{
	struct datanode *d = &m->dns[dn];
	Dfs__DnCommand *c = d->n_cmds ? d->cmds[d->n_cmds - 1] : NULL;
	if (!c || c->kind != DFS__DN_COMMAND__KIND__DELETE ||
	    c->n_blocks >= DN_DELETE_BLOCKS_MAX) {
		c = malloc(sizeof(*c));
		if (!c)
			return -ENOMEM;
		dfs__dn_command__init(c);
		c->kind = DFS__DN_COMMAND__KIND__DELETE;
		c->blocks = calloc(DN_DELETE_BLOCKS_MAX, sizeof(*c->blocks));
		int rc = c->blocks ? dnmgr_queue(m, dn, c) : -ENOMEM;
		if (rc < 0) {
			if (!c->blocks)
				free(c);
			return rc;
		}
	}
	Dfs__BlockRef *r = malloc(sizeof(*r));
	if (!r)
		return -ENOMEM;
	dfs__block_ref__init(r);
	r->block_id = id;
	r->genstamp = gs;
	c->blocks[c->n_blocks++] = r;
	return 0;
}

void bm_free_block(struct dnmgr *m, uint64_t id, uint64_t gs)
{
	struct bm_block *b = bm_find(m, id);
	if (!b)
		return;
	for (uint32_t i = 0; i < b->n; i++)
		if (m->dns[b->r[i].dn].live)
			bm_queue_delete(m, b->r[i].dn, id, b->r[i].confirmed ? b->r[i].genstamp : gs);
	bm_remove(m, id);
}

int bm_locate(struct dnmgr *m, uint64_t id, uint64_t gs, Dfs__LocatedBlock *out)
{
	struct bm_block *b = bm_find(m, id);
	if (!b)
		return 0;
	out->locations = calloc(b->n ? b->n : 1, sizeof(*out->locations));
	out->corrupt = calloc(b->n ? b->n : 1, sizeof(*out->corrupt));
	if (!out->locations || !out->corrupt)
		return -ENOMEM;
	out->has_good_replicas = true;
	/* confirmed in-service replicas first, then decommissioning ones, then
	 * expected ones; corrupt ones only when nothing else is left */
	for (int pass = 0; pass < 4; pass++)
		for (uint32_t i = 0; i < b->n; i++) {
			const struct bm_replica *r = &b->r[i];
			const struct datanode *d = &m->dns[r->dn];
			if (r->genstamp != gs || !d->live)
				continue;
			if (pass == 0 && bm_replica_good(m, r, gs))
				out->good_replicas++;
			if (pass == 0 && r->corrupt) {
				Dfs__DatanodeId *c = dnmgr_id(m, r->dn);
				if (!c)
					return -ENOMEM;
				out->corrupt[out->n_corrupt++] = c;
			}
			int want = r->corrupt ? 3 : !r->confirmed ? 2
				 : d->admin != DN_ADMIN_NORMAL ? 1 : 0;
			if (want != pass || (pass == 3 && out->n_locations > 0))
				continue;
			Dfs__DatanodeId *dn = dnmgr_id(m, r->dn);
			if (!dn)
				return -ENOMEM;
			out->locations[out->n_locations++] = dn;
		}
	return 0;
}
