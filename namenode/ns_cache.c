/* ns_cache.c: a cache of committed inode and directory-entry records in
 * front of LevelDB (see ns_txn.h).
 *
 * Every path a command names is resolved record by record from the root,
 * so the same few inodes (the root, the working directory) and entries are
 * read by nearly every command, and each LevelDB get walks the memtable and
 * every level. A namespace replicated on three namenodes pays that three
 * times: LevelDB gets were a third of the instructions of applying a
 * command.
 *
 * The table is direct-mapped (a slot per key hash, the newest record
 * wins) and holds short records only; it also remembers keys known to be
 * absent, and keeps inode records decoded as well (unpacking the protobuf
 * attributes cost as much as the LevelDB get).
 *
 * Invariant: a filled slot holds exactly what LevelDB holds for its key.
 * Slots are filled from LevelDB reads (committed state) and, when a
 * command commits, from its overlay (ns_txn_commit); a command that
 * deletes keys without recording them in the overlay empties the table.
 * The table lives in memory only and never changes what a command reads,
 * only how fast it reads it, so nodes stay identical. */
#include "namenode/ns_txn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NS_CACHE_SLOTS (1u << 16) /* a power of two; ~20 MiB in all */
#define NS_CACHE_KEY_MAX 40       /* "d/<parent>/" + a name of up to 29 bytes */
#define NS_CACHE_VAL_MAX 112      /* an inode record is about 60 to 90 */

enum { SLOT_EMPTY, SLOT_VALUE, SLOT_ABSENT };

struct ns_cache_slot {
	uint8_t state;
	uint8_t klen;
	uint8_t vlen;
	bool decoded; /* inode records: `in` holds val decoded */
	char key[NS_CACHE_KEY_MAX];
	char val[NS_CACHE_VAL_MAX];
	struct ns_inode in;
};

struct ns_cache {
	struct ns_cache_slot slot[NS_CACHE_SLOTS];
};

int ns_cache_create(struct ns *ns)
{
	ns->rec_cache = calloc(1, sizeof(*ns->rec_cache));
	return ns->rec_cache ? 0 : -ENOMEM;
}

void ns_cache_destroy(struct ns *ns)
{
	free(ns->rec_cache);
	ns->rec_cache = NULL;
}

void ns_cache_clear(struct ns *ns)
{
	if (ns->rec_cache)
		memset(ns->rec_cache, 0, sizeof(*ns->rec_cache));
}

bool ns_cache_holds(const char *k, size_t kl)
{
	return kl >= 2 && kl <= NS_CACHE_KEY_MAX && (k[0] == 'i' || k[0] == 'd') && k[1] == '/';
}

static struct ns_cache_slot *slot_of(struct ns *ns, const char *k, size_t kl)
{
	return &ns->rec_cache->slot[ns_key_hash(k, kl) & (NS_CACHE_SLOTS - 1)];
}

/* The slot holding k, or NULL. */
static struct ns_cache_slot *find(struct ns *ns, const char *k, size_t kl)
{
	if (!ns->rec_cache || !ns_cache_holds(k, kl))
		return NULL;
	struct ns_cache_slot *s = slot_of(ns, k, kl);
	if (s->state == SLOT_EMPTY || s->klen != kl || memcmp(s->key, k, kl) != 0)
		return NULL;
	return s;
}

int ns_cache_get(struct ns *ns, const char *k, size_t kl, char **val, size_t *vl)
{
	struct ns_cache_slot *s = find(ns, k, kl);
	if (!s)
		return 1;
	if (s->state == SLOT_ABSENT)
		return -ENOENT;
	*val = malloc(s->vlen ? s->vlen : 1);
	if (!*val)
		return -ENOMEM;
	memcpy(*val, s->val, s->vlen);
	*vl = s->vlen;
	return 0;
}

void ns_cache_put(struct ns *ns, const char *k, size_t kl, const char *v, size_t vl)
{
	if (!ns->rec_cache || !ns_cache_holds(k, kl))
		return;
	struct ns_cache_slot *s = slot_of(ns, k, kl);
	if (v && vl > NS_CACHE_VAL_MAX) {
		/* too long to keep: the slot must not keep an older value */
		if (s->state != SLOT_EMPTY && s->klen == kl && memcmp(s->key, k, kl) == 0)
			s->state = SLOT_EMPTY;
		return;
	}
	s->state = v ? SLOT_VALUE : SLOT_ABSENT;
	s->decoded = false;
	s->klen = (uint8_t)kl;
	memcpy(s->key, k, kl);
	s->vlen = (uint8_t)(v ? vl : 0);
	if (v)
		memcpy(s->val, v, vl);
}

int ns_cache_get_inode(struct ns *ns, const char *k, size_t kl, struct ns_inode *out)
{
	struct ns_cache_slot *s = find(ns, k, kl);
	if (!s || (s->state == SLOT_VALUE && !s->decoded))
		return 1;
	if (s->state == SLOT_ABSENT)
		return -ENOENT;
	*out = s->in;
	return 0;
}

void ns_cache_put_inode(struct ns *ns, const char *k, size_t kl, const struct ns_inode *in)
{
	struct ns_cache_slot *s = find(ns, k, kl);
	if (s && s->state == SLOT_VALUE) {
		s->in = *in;
		s->decoded = true;
	}
}
