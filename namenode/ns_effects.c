/* ns_effects.c: what applying a command did to the namespace, as bytes
 * that another node holding the same state can apply instead of running
 * the command again (see ns.h, "effects").
 *
 * Applying is deterministic: every namenode of a group that has applied
 * the same log prefix holds the same LevelDB state, so the writes the
 * leader's ns_apply made for entry i are exactly the writes a follower's
 * ns_apply would make. A follower that has them skips the command's path
 * resolution, permission checks and retry-cache lookup (most of its CPU);
 * one that has not runs the command as before.
 *
 * Encoding, records one after the other:
 *   'P' <be32 klen> key <be32 vlen> value   a put
 *   'D' <be32 klen> key                     a delete
 *   'F' <be64 block id> <be64 genstamp>     a freed block (ns->freed)
 *   'C' <7 x be64>                          the counters after a commit
 * in the order the commits wrote them. */
#include "namenode/ns_txn.h"

#include "common/errors.h"
#include "common/log.h"

#include <stdlib.h>
#include <string.h>

#define FX_COUNTERS 7

static void fx_reserve(struct ns *ns, size_t more)
{
	struct ns_effects *fx = &ns->fx;
	if (fx->bad || fx->len + more <= fx->cap)
		return;
	size_t cap = fx->cap ? fx->cap : 4096;
	while (cap < fx->len + more)
		cap *= 2;
	uint8_t *n = cap <= NS_EFFECTS_MAX ? realloc(fx->buf, cap) : NULL;
	if (!n) {
		fx->bad = true; /* too big or no memory: the follower runs it */
		return;
	}
	fx->buf = n;
	fx->cap = cap;
}

static void fx_bytes(struct ns *ns, const void *p, size_t n)
{
	fx_reserve(ns, n);
	if (ns->fx.bad)
		return;
	memcpy(ns->fx.buf + ns->fx.len, p, n);
	ns->fx.len += n;
}

static void fx_u32(struct ns *ns, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	fx_bytes(ns, b, 4);
}

static void fx_u64(struct ns *ns, uint64_t v)
{
	char b[8];
	ns_put_be64(b, v);
	fx_bytes(ns, b, 8);
}

static void on_put(void *arg, const char *k, size_t kl, const char *v, size_t vl)
{
	struct ns *ns = arg;
	fx_bytes(ns, "P", 1);
	fx_u32(ns, (uint32_t)kl);
	fx_bytes(ns, k, kl);
	fx_u32(ns, (uint32_t)vl);
	fx_bytes(ns, v, vl);
}

static void on_del(void *arg, const char *k, size_t kl)
{
	struct ns *ns = arg;
	fx_bytes(ns, "D", 1);
	fx_u32(ns, (uint32_t)kl);
	fx_bytes(ns, k, kl);
}

void ns_effects_begin(struct ns *ns)
{
	ns->fx.on = true;
	ns->fx.bad = false;
	ns->fx.len = 0;
}

void ns_effects_note_commit(struct ns *ns, leveldb_writebatch_t *wb, const struct ns_freed *freed,
			    size_t n_freed)
{
	if (!ns->fx.on)
		return;
	leveldb_writebatch_iterate(wb, ns, on_put, on_del);
	for (size_t i = 0; i < n_freed; i++) {
		fx_bytes(ns, "F", 1);
		fx_u64(ns, freed[i].block_id);
		fx_u64(ns, freed[i].genstamp);
	}
	const struct ns_counters *c = &ns->c;
	const uint64_t v[FX_COUNTERS] = {c->next_ino, c->next_block, c->next_gs, c->applied,
					 c->inodes, c->blocks, c->garbage};
	fx_bytes(ns, "C", 1);
	for (int i = 0; i < FX_COUNTERS; i++)
		fx_u64(ns, v[i]);
}

void ns_effects_fail(struct ns *ns)
{
	ns->fx.bad = true;
}

int ns_effects_end(struct ns *ns, const uint8_t **buf, size_t *len)
{
	struct ns_effects *fx = &ns->fx;
	fx->on = false;
	if (fx->bad || fx->len == 0)
		return -ENODATA;
	*buf = fx->buf;
	*len = fx->len;
	return 0;
}

/* ---- applying ---- */

struct fx_reader {
	const uint8_t *p, *end;
};

static bool rd_take(struct fx_reader *r, size_t n, const uint8_t **out)
{
	if ((size_t)(r->end - r->p) < n)
		return false;
	*out = r->p;
	r->p += n;
	return true;
}

static bool rd_u32(struct fx_reader *r, uint32_t *v)
{
	const uint8_t *b;
	if (!rd_take(r, 4, &b))
		return false;
	*v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
	return true;
}

static bool rd_u64(struct fx_reader *r, uint64_t *v)
{
	const uint8_t *b;
	if (!rd_take(r, 8, &b))
		return false;
	*v = ns_get_be64((const char *)b);
	return true;
}

enum fx_pass {
	FX_CHECK, /* parse only: is it whole, and the effects of this entry? */
	FX_WRITE, /* into the WriteBatch */
	FX_AFTER, /* once written: the record cache and the freed blocks */
};

static bool rd_record(struct ns *ns, struct fx_reader *r, enum fx_pass pass,
		      leveldb_writebatch_t *wb, struct ns_counters *c, bool *have_c)
{
	const uint8_t *tag, *k, *v;
	uint32_t kl, vl;
	uint64_t a[FX_COUNTERS];
	if (!rd_take(r, 1, &tag))
		return false;
	switch (*tag) {
	case 'P':
		if (!rd_u32(r, &kl) || !rd_take(r, kl, &k) || !rd_u32(r, &vl) || !rd_take(r, vl, &v))
			return false;
		if (pass == FX_WRITE)
			leveldb_writebatch_put(wb, (const char *)k, kl, (const char *)v, vl);
		else if (pass == FX_AFTER)
			ns_cache_put(ns, (const char *)k, kl, (const char *)v, vl);
		return true;
	case 'D':
		if (!rd_u32(r, &kl) || !rd_take(r, kl, &k))
			return false;
		if (pass == FX_WRITE)
			leveldb_writebatch_delete(wb, (const char *)k, kl);
		else if (pass == FX_AFTER)
			ns_cache_put(ns, (const char *)k, kl, NULL, 0);
		return true;
	case 'F':
		if (!rd_u64(r, &a[0]) || !rd_u64(r, &a[1]))
			return false;
		if (pass == FX_AFTER) {
			struct ns_freed f = {a[0], a[1]};
			if (ns_freed_add(ns, &f, 1) < 0)
				DFS_WARN("out of memory: freed block %llu left to the orphan scan",
					 (unsigned long long)a[0]);
		}
		return true;
	case 'C':
		for (int i = 0; i < FX_COUNTERS; i++)
			if (!rd_u64(r, &a[i]))
				return false;
		*c = (struct ns_counters){.next_ino = a[0], .next_block = a[1], .next_gs = a[2],
					  .applied = a[3], .inodes = a[4], .blocks = a[5],
					  .garbage = a[6]};
		*have_c = true;
		return true;
	default:
		return false;
	}
}

static bool fx_pass(struct ns *ns, const uint8_t *buf, size_t len, enum fx_pass pass,
		    leveldb_writebatch_t *wb, struct ns_counters *c, bool *have_c)
{
	struct fx_reader r = {buf, buf + len};
	while (r.p < r.end)
		if (!rd_record(ns, &r, pass, wb, c, have_c))
			return false;
	return true;
}

int ns_apply_effects(struct ns *ns, const uint8_t *buf, size_t len, uint64_t index)
{
	struct ns_counters c;
	bool have_c = false;
	if (!fx_pass(ns, buf, len, FX_CHECK, NULL, &c, &have_c) || !have_c || c.applied != index)
		return -DFS_EPROTOCOL; /* damaged, or not the effects of this entry */
	if (!ns->fx.pending && !(ns->fx.pending = leveldb_writebatch_create()))
		return -ENOMEM;
	fx_pass(ns, buf, len, FX_WRITE, ns->fx.pending, &c, &have_c);
	fx_pass(ns, buf, len, FX_AFTER, NULL, &c, &have_c);
	ns->c = c;
	/* The retry-cache expiry hints may be out of date now: forget them (a
	 * command run here later seeks from the start, as after a restart). */
	ns->retry_floor_len = 0;
	ns->retry_oldest_known = false;
	return 0;
}

int ns_effects_flush(struct ns *ns)
{
	leveldb_writebatch_t *wb = ns->fx.pending;
	if (!wb)
		return 0;
	ns->fx.pending = NULL;
	int rc = ns_db_write(ns, wb, false);
	leveldb_writebatch_destroy(wb);
	return rc;
}
