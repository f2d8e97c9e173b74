/* blockmap.c: block id -> replicas (soft state, see dnmgr.h): a chained
 * hash table that grows, replica updates from reports, DELETE batching and
 * the locations handed to clients. */
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
		return;
	}
}

void bm_drop_datanode(struct dnmgr *m, int dn)
{
	for (size_t k = 0; k < m->n_buckets; k++)
		for (struct bm_block *b = m->buckets[k]; b; b = b->next)
			bm_drop_replica(m, b, dn);
	m->dns[dn].blocks = 0;
}

int bm_full_report(struct dnmgr *m, int dn, Dfs__BlockRef **refs, size_t n)
{
	bm_drop_datanode(m, dn);
	for (size_t i = 0; i < n; i++) {
		int rc = bm_set_replica(m, refs[i]->block_id, dn, refs[i]->genstamp,
					refs[i]->length, true);
		if (rc < 0)
			return rc;
	}
	return 0;
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
	if (!out->locations)
		return -ENOMEM;
	for (int pass = 0; pass < 2; pass++) /* confirmed replicas first */
		for (uint32_t i = 0; i < b->n; i++) {
			const struct bm_replica *r = &b->r[i];
			if (r->confirmed != (pass == 0) || r->genstamp != gs ||
			    !m->dns[r->dn].live)
				continue;
			Dfs__DatanodeId *dn = dnmgr_id(m, r->dn);
			if (!dn)
				return -ENOMEM;
			out->locations[out->n_locations++] = dn;
		}
	return 0;
}
