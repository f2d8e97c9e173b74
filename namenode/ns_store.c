/* ns_store.c: the LevelDB side of the namespace: opening and formatting
 * the store, key encoding, transactions (WriteBatch + overlay), counters
 * and the inode / dirent / block records. See ns.h for the key schema. */
#include "namenode/ns_txn.h"

#include "common/errors.h"
#include "common/log.h"

#include <dirent.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NS_CACHE_BYTES (64u << 20)
/* LevelDB's memtable (its default is 4 MiB). Every command rewrites a few
 * hot records (the counters, the parent directory's inode) and many keys
 * live briefly (a renamed entry, a retry-cache entry): the bigger the
 * memtable, the more of those versions die in memory instead of being
 * flushed and compacted. Two of them may be in memory at once. */
#define NS_WRITE_BUFFER_BYTES (32u << 20)

/* ---- keys ---- */

void ns_put_be64(char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (char)(v & 0xff);
		v >>= 8;
	}
}

uint64_t ns_get_be64(const char *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | (uint8_t)p[i];
	return v;
}

static void key_u64(struct ns_key *k, char tag, uint64_t v)
{
	k->b[0] = tag;
	k->b[1] = '/';
	ns_put_be64(k->b + 2, v);
	k->len = 10;
}

void ns_key_inode(struct ns_key *k, uint64_t ino) { key_u64(k, 'i', ino); }
void ns_key_blkidx(struct ns_key *k, uint64_t id) { key_u64(k, 'k', id); }
void ns_key_link(struct ns_key *k, uint64_t ino) { key_u64(k, 'l', ino); }
void ns_key_garbage(struct ns_key *k, uint64_t ino) { key_u64(k, 'g', ino); }

void ns_key_dir_prefix(struct ns_key *k, uint64_t parent)
{
	key_u64(k, 'd', parent);
	k->b[k->len++] = '/';
}

void ns_key_dirent(struct ns_key *k, uint64_t parent, const char *name)
{
	size_t n = strnlen(name, NS_NAME_MAX);
	ns_key_dir_prefix(k, parent);
	memcpy(k->b + k->len, name, n);
	k->len += n;
}

void ns_key_block_prefix(struct ns_key *k, uint64_t ino)
{
	key_u64(k, 'b', ino);
	k->b[k->len++] = '/';
}

void ns_key_block(struct ns_key *k, uint64_t ino, uint64_t index)
{
	ns_key_block_prefix(k, ino);
	ns_put_be64(k->b + k->len, index);
	k->len += 8;
}

/* ---- meta ---- */

/* The counters, in this order, as big-endian u64s in one record (layout
 * 2): each command changes m/applied and often one or two more, and every
 * key written is a memtable insert on every namenode. Layout 1 kept one
 * key each; ns_open moves such a namespace to layout 2. */
#define NS_COUNTERS_KEY "m/counters"

static const struct {
	const char *key; /* layout 1 */
	size_t off;
} meta_counters[] = {
	{"m/next_ino", offsetof(struct ns_counters, next_ino)},
	{"m/next_block", offsetof(struct ns_counters, next_block)},
	{"m/next_gs", offsetof(struct ns_counters, next_gs)},
	{"m/applied", offsetof(struct ns_counters, applied)},
	{"m/inodes", offsetof(struct ns_counters, inodes)},
	{"m/blocks", offsetof(struct ns_counters, blocks)},
	{"m/garbage", offsetof(struct ns_counters, garbage)},
};
#define N_META (sizeof(meta_counters) / sizeof(meta_counters[0]))

static uint64_t *counter_of(struct ns_counters *c, size_t i)
{
	return (uint64_t *)((char *)c + meta_counters[i].off);
}

static void counters_to_batch(leveldb_writebatch_t *wb, const struct ns_counters *c,
			      const struct ns_counters *old)
{
	char b[8 * N_META];
	bool changed = old == NULL;
	for (size_t i = 0; i < N_META; i++) {
		uint64_t v = *counter_of((struct ns_counters *)c, i);
		changed |= old != NULL && v != *counter_of((struct ns_counters *)old, i);
		ns_put_be64(b + 8 * i, v);
	}
	if (changed)
		leveldb_writebatch_put(wb, NS_COUNTERS_KEY, strlen(NS_COUNTERS_KEY), b, sizeof(b));
}

static int db_get(struct ns *ns, const char *k, size_t kl, char **val, size_t *vl)
{
	char *err = NULL;
	*val = leveldb_get(ns->db, ns->ropts, k, kl, vl, &err);
	if (err) {
		DFS_ERR("leveldb get: %s", err);
		leveldb_free(err);
		return -EIO;
	}
	return *val ? 0 : -ENOENT;
}

int ns_db_write(struct ns *ns, leveldb_writebatch_t *wb, bool sync)
{
	char *err = NULL;
	leveldb_write(ns->db, sync ? ns->wopts_sync : ns->wopts, wb, &err);
	if (err) {
		DFS_ERR("leveldb write: %s", err);
		leveldb_free(err);
		return -EIO;
	}
	return 0;
}

static int counters_load(struct ns *ns)
{
	char *v;
	size_t vl;
	int rc = db_get(ns, NS_COUNTERS_KEY, strlen(NS_COUNTERS_KEY), &v, &vl);
	if (rc < 0)
		return rc;
	if (vl != 8 * N_META) {
		leveldb_free(v);
		return -EIO;
	}
	for (size_t i = 0; i < N_META; i++)
		*counter_of(&ns->c, i) = ns_get_be64(v + 8 * i);
	leveldb_free(v);
	return 0;
}

/* Layout 1 to 2: the counters from their own keys into one record, in one
 * synced write. Every node of a group does the same to the same state. */
static int counters_migrate(struct ns *ns)
{
	leveldb_writebatch_t *wb = leveldb_writebatch_create();
	int rc = 0;
	for (size_t i = 0; i < N_META && rc == 0; i++) {
		char *v;
		size_t vl;
		rc = db_get(ns, meta_counters[i].key, strlen(meta_counters[i].key), &v, &vl);
		if (rc == 0 && vl != 8)
			rc = -EIO;
		if (rc == 0)
			*counter_of(&ns->c, i) = ns_get_be64(v);
		if (v != NULL)
			leveldb_free(v);
		leveldb_writebatch_delete(wb, meta_counters[i].key, strlen(meta_counters[i].key));
	}
	if (rc == 0) {
		counters_to_batch(wb, &ns->c, NULL);
		char lv[8];
		ns_put_be64(lv, NS_LAYOUT_VERSION);
		leveldb_writebatch_put(wb, "m/layout", 8, lv, 8);
		rc = ns_db_write(ns, wb, true);
	}
	leveldb_writebatch_destroy(wb);
	if (rc == 0)
		DFS_NOTICE("namespace moved to layout %d (counters in one record)",
			   NS_LAYOUT_VERSION);
	return rc;
}

/* ---- open / close / format ---- */

static struct ns *ns_alloc(void)
{
	struct ns *ns = calloc(1, sizeof(*ns));
	if (!ns)
		return NULL;
	if (ns_cache_create(ns) < 0) {
		free(ns);
		return NULL;
	}
	ns->opts = leveldb_options_create();
	ns->cache = leveldb_cache_create_lru(NS_CACHE_BYTES);
	leveldb_options_set_cache(ns->opts, ns->cache);
	/* most commands look up a key that is not there (a new name, a new
	 * retry-cache entry): a bloom filter answers for a table unread */
	ns->filter = leveldb_filterpolicy_create_bloom(10);
	leveldb_options_set_filter_policy(ns->opts, ns->filter);
	/* records are small and mostly unlike each other: snappy saved little
	 * space and cost a tenth of a command's instructions (compactions
	 * compress every table they write, reads decompress every block) */
	leveldb_options_set_compression(ns->opts, leveldb_no_compression);
	leveldb_options_set_write_buffer_size(ns->opts, NS_WRITE_BUFFER_BYTES);
	ns->ropts = leveldb_readoptions_create();
	ns->wopts = leveldb_writeoptions_create();
	ns->wopts_sync = leveldb_writeoptions_create();
	leveldb_writeoptions_set_sync(ns->wopts_sync, 1);
	return ns;
}

void ns_close(struct ns *ns)
{
	if (!ns)
		return;
	if (ns->db && ns_effects_flush(ns) < 0)
		DFS_ERR("namespace: effects applied in memory were not written (the WAL replays them)");
	if (ns->db)
		leveldb_close(ns->db);
	if (ns->fx.pending)
		leveldb_writebatch_destroy(ns->fx.pending);
	leveldb_writeoptions_destroy(ns->wopts);
	leveldb_writeoptions_destroy(ns->wopts_sync);
	leveldb_readoptions_destroy(ns->ropts);
	leveldb_options_destroy(ns->opts);
	leveldb_cache_destroy(ns->cache);
	leveldb_filterpolicy_destroy(ns->filter);
	free(ns->freed);
	free(ns->fx.buf);
	ns_cache_destroy(ns);
	free(ns);
}

static int db_open(struct ns *ns, const char *dir, int create)
{
	char *err = NULL, current[PATH_MAX];
	snprintf(current, sizeof(current), "%s/CURRENT", dir);
	if (!create && access(current, F_OK) < 0)
		return -DFS_ENOTFORMATTED;
	leveldb_options_set_create_if_missing(ns->opts, create);
	leveldb_options_set_error_if_exists(ns->opts, create);
	ns->db = leveldb_open(ns->opts, dir, &err);
	if (err) {
		DFS_ERR("cannot open the namespace in %s: %s", dir, err);
		leveldb_free(err);
		ns->db = NULL;
		return -EIO;
	}
	return 0;
}

/* End sentinels: live keys right after each range ("b/..." < "b0"), so a
 * seek past the end of a range stops there instead of skipping the
 * tombstones of whatever range follows. Not part of the state proper. */
static const char *const range_ends[] = {"b0", "d0", "g0", "i0", "k0", "l0", "q0", "r0",
					 "x0"};

static int put_sentinels(struct ns *ns)
{
	leveldb_writebatch_t *wb = leveldb_writebatch_create();
	for (size_t i = 0; i < sizeof(range_ends) / sizeof(range_ends[0]); i++)
		leveldb_writebatch_put(wb, range_ends[i], 2, "", 0);
	int rc = ns_db_write(ns, wb, false);
	leveldb_writebatch_destroy(wb);
	return rc;
}

static int write_root(struct ns *ns, const char *cluster_id, int64_t now, uint32_t uid,
		      uint32_t gid)
{
	struct ns_txn t;
	struct ns_inode root = {.a = DFS__ATTR__INIT, .parent = DFS_ROOT_INO};
	root.a.ino = DFS_ROOT_INO;
	root.a.type = DFS__FILE_TYPE__FT_DIR;
	root.a.mode = 0755;
	root.a.uid = uid;
	root.a.gid = gid;
	root.a.nlink = 2;
	root.a.atime_ns = root.a.mtime_ns = root.a.ctime_ns = now;
	memset(&ns->c, 0, sizeof(ns->c));
	ns->c.next_ino = DFS_ROOT_INO + 1;
	ns->c.next_block = 1;
	ns->c.next_gs = 1;
	ns_txn_begin(&t, ns, now, true);
	t.c.inodes = 1;
	ns_inode_put(&t, &root);
	leveldb_writebatch_put(t.wb, "m/cluster_id", 12, cluster_id, strlen(cluster_id));
	char lv[8];
	ns_put_be64(lv, NS_LAYOUT_VERSION);
	leveldb_writebatch_put(t.wb, "m/layout", 8, lv, 8);
	counters_to_batch(t.wb, &t.c, NULL);
	int rc = ns_txn_commit(&t, 0);
	ns_txn_end(&t);
	if (rc == 0)
		rc = put_sentinels(ns);
	return rc < 0 ? rc : ns_sync(ns);
}

/* True if dir is missing or has no entries. */
static bool dir_empty(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT;
	struct dirent *e;
	bool empty = true;
	while (empty && (e = readdir(d)) != NULL)
		empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
	closedir(d);
	return empty;
}

int ns_format(const char *dir, const char *cluster_id, int64_t now_ns, uint32_t root_uid,
	      uint32_t root_gid, int force)
{
	struct ns *old = NULL;
	int rc = ns_open(dir, &old);
	ns_close(old);
	if (rc == 0 && !force)
		return -EEXIST;
	if (!force && !dir_empty(dir))
		return -ENOTEMPTY; /* not ours: never wipe it without --force */
	char *err = NULL;
	leveldb_options_t *o = leveldb_options_create();
	leveldb_destroy_db(o, dir, &err);
	leveldb_options_destroy(o);
	if (err) {
		DFS_ERR("cannot wipe %s: %s", dir, err);
		leveldb_free(err);
		return -EIO;
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return DFS_ERRNO();
	struct ns *ns = ns_alloc();
	if (!ns)
		return -ENOMEM;
	rc = db_open(ns, dir, 1);
	if (rc == 0)
		rc = write_root(ns, cluster_id, now_ns, root_uid, root_gid);
	ns_close(ns);
	return rc;
}

int ns_open(const char *dir, struct ns **out)
{
	*out = NULL;
	struct ns *ns = ns_alloc();
	if (!ns)
		return -ENOMEM;
	int rc = db_open(ns, dir, 0);
	if (rc < 0)
		goto err_after_alloc;
	char *v;
	size_t vl;
	rc = db_get(ns, "m/layout", 8, &v, &vl);
	if (rc == -ENOENT)
		rc = -DFS_ENOTFORMATTED;
	if (rc < 0)
		goto err_after_alloc;
	uint64_t layout = vl == 8 ? ns_get_be64(v) : 0;
	leveldb_free(v);
	if (layout != NS_LAYOUT_VERSION && layout != 1) {
		DFS_ERR("%s: unsupported layout version %llu", dir, (unsigned long long)layout);
		rc = -DFS_ENOTFORMATTED;
		goto err_after_alloc;
	}
	rc = db_get(ns, "m/cluster_id", 12, &v, &vl);
	if (rc < 0)
		goto err_after_alloc;
	snprintf(ns->cluster_id, sizeof(ns->cluster_id), "%.*s", (int)vl, v);
	leveldb_free(v);
	rc = layout == 1 ? counters_migrate(ns) : counters_load(ns);
	if (rc == 0)
		rc = put_sentinels(ns); /* idempotent */
	if (rc < 0)
		goto err_after_alloc;
	*out = ns;
	return 0;
err_after_alloc:
	ns_close(ns);
	return rc;
}

int ns_sync(struct ns *ns)
{
	char *err = NULL, b[8];
	ns_put_be64(b, ns->c.applied);
	leveldb_put(ns->db, ns->wopts_sync, "s/synced", 8, b, 8, &err);
	if (err) {
		DFS_ERR("leveldb synced write: %s", err);
		leveldb_free(err);
		return -EIO;
	}
	return 0;
}

void ns_freed_clear(struct ns *ns) { ns->n_freed = 0; }

int ns_foreach(struct ns *ns, int (*fn)(void *, const char *, size_t, const char *, size_t),
	       void *arg)
{
	leveldb_iterator_t *it = leveldb_create_iterator(ns->db, ns->ropts);
	int rc = 0;
	for (leveldb_iter_seek_to_first(it); rc == 0 && leveldb_iter_valid(it);
	     leveldb_iter_next(it)) {
		size_t kl, vl;
		const char *k = leveldb_iter_key(it, &kl);
		const char *v = leveldb_iter_value(it, &vl);
		rc = fn(arg, k, kl, v, vl);
	}
	leveldb_iter_destroy(it);
	return rc;
}

/* ---- transactions ---- */

void ns_txn_begin(struct ns_txn *t, struct ns *ns, int64_t now, bool write)
{
	memset(t, 0, sizeof(*t));
	t->ns = ns;
	t->c = ns->c;
	t->now = now;
	if (write)
		t->wb = leveldb_writebatch_create();
}

uint32_t ns_key_hash(const char *k, size_t n)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)k[i]) * 16777619u;
	return h;
}

static struct ns_ov *ov_find(struct ns_txn *t, const struct ns_key *k)
{
	if (!t->n_slots)
		return NULL;
	uint32_t mask = (uint32_t)t->n_slots - 1;
	for (uint32_t i = ns_key_hash(k->b, k->len) & mask;; i = (i + 1) & mask) {
		uint32_t s = t->slots[i];
		if (s == 0)
			return NULL;
		struct ns_ov *o = &t->ov[s - 1];
		if (o->klen == k->len && memcmp(o->key, k->b, k->len) == 0)
			return o;
	}
}

/* Doubles the entry array and the slot table (load factor <= 1/2). */
static int ov_grow(struct ns_txn *t)
{
	size_t cap = t->n_ov ? 2 * t->n_ov : 16;
	if (cap > NS_OVERLAY_MAX)
		return -ENOMEM;
	struct ns_ov *n = realloc(t->ov, cap * sizeof(*n));
	if (!n)
		return -ENOMEM;
	t->ov = n;
	uint32_t *slots = calloc(2 * cap, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	free(t->slots);
	t->slots = slots;
	t->n_slots = 2 * cap;
	for (size_t e = 0; e < t->n_ov; e++) {
		uint32_t i = ns_key_hash(t->ov[e].key, t->ov[e].klen) & (t->n_slots - 1);
		while (t->slots[i])
			i = (i + 1) & (t->n_slots - 1);
		t->slots[i] = (uint32_t)e + 1;
	}
	return 0;
}

static struct ns_ov *ov_add(struct ns_txn *t, const struct ns_key *k)
{
	if (2 * (t->n_ov + 1) > t->n_slots && (t->err = ov_grow(t)) < 0)
		return NULL;
	struct ns_ov *o = &t->ov[t->n_ov];
	o->key = malloc(k->len);
	if (!o->key) {
		t->err = -ENOMEM;
		return NULL;
	}
	memcpy(o->key, k->b, k->len);
	o->klen = k->len;
	o->val = NULL;
	uint32_t i = ns_key_hash(k->b, k->len) & (t->n_slots - 1);
	while (t->slots[i])
		i = (i + 1) & (t->n_slots - 1);
	t->slots[i] = (uint32_t)++t->n_ov;
	return o;
}

static void ov_set(struct ns_txn *t, const struct ns_key *k, const void *v, size_t vl)
{
	struct ns_ov *o = ov_find(t, k);
	if (!o && !(o = ov_add(t, k)))
		return;
	free(o->val);
	o->val = NULL;
	o->vlen = 0;
	if (v) {
		o->val = malloc(vl ? vl : 1);
		if (!o->val) {
			t->err = -ENOMEM;
			return;
		}
		memcpy(o->val, v, vl);
		o->vlen = vl;
	}
}

bool ns_txn_staged(struct ns_txn *t, const struct ns_key *k)
{
	return ov_find(t, k) != NULL;
}

int ns_txn_get(struct ns_txn *t, const struct ns_key *k, char **val, size_t *vlen)
{
	struct ns_ov *o = ov_find(t, k);
	if (o) {
		if (!o->val)
			return -ENOENT;
		*val = malloc(o->vlen ? o->vlen : 1);
		if (!*val)
			return -ENOMEM;
		memcpy(*val, o->val, o->vlen);
		*vlen = o->vlen;
		return 0;
	}
	int rc = ns_cache_get(t->ns, k->b, k->len, val, vlen);
	if (rc <= 0)
		return rc;
	rc = db_get(t->ns, k->b, k->len, val, vlen);
	if (rc == 0 || rc == -ENOENT)
		ns_cache_put(t->ns, k->b, k->len, rc == 0 ? *val : NULL, rc == 0 ? *vlen : 0);
	return rc;
}

void ns_txn_put(struct ns_txn *t, const struct ns_key *k, const void *v, size_t vlen)
{
	leveldb_writebatch_put(t->wb, k->b, k->len, v, vlen);
	ov_set(t, k, v, vlen);
}

void ns_txn_del(struct ns_txn *t, const struct ns_key *k)
{
	leveldb_writebatch_delete(t->wb, k->b, k->len);
	ov_set(t, k, NULL, 0);
}

void ns_txn_del_blind(struct ns_txn *t, const struct ns_key *k)
{
	leveldb_writebatch_delete(t->wb, k->b, k->len);
	if (ns_cache_holds(k->b, k->len))
		t->rec_cache_flush = true;
}

int ns_txn_free_block(struct ns_txn *t, uint64_t block_id, uint64_t genstamp)
{
	if (t->n_freed == t->cap_freed) {
		size_t cap = t->cap_freed ? 2 * t->cap_freed : 16;
		struct ns_freed *n = realloc(t->freed, cap * sizeof(*n));
		if (!n)
			return t->err = -ENOMEM;
		t->freed = n;
		t->cap_freed = cap;
	}
	t->freed[t->n_freed++] = (struct ns_freed){block_id, genstamp};
	struct ns_key k;
	ns_key_blkidx(&k, block_id);
	ns_txn_del_blind(t, &k);
	if (t->c.blocks > 0)
		t->c.blocks--;
	return 0;
}

int ns_freed_add(struct ns *ns, const struct ns_freed *f, size_t n)
{
	if (n == 0)
		return 0; /* f may be NULL, and memcpy(NULL, ..., 0) is undefined */
	if (ns->n_freed + n > ns->cap_freed) {
		size_t cap = ns->cap_freed ? ns->cap_freed : 64;
		while (cap < ns->n_freed + n)
			cap *= 2;
		struct ns_freed *nf = realloc(ns->freed, cap * sizeof(*nf));
		if (!nf)
			return -ENOMEM;
		ns->freed = nf;
		ns->cap_freed = cap;
	}
	memcpy(ns->freed + ns->n_freed, f, n * sizeof(*f));
	ns->n_freed += n;
	return 0;
}

int ns_txn_commit(struct ns_txn *t, uint64_t index)
{
	if (t->err)
		return t->err;
	t->c.applied = index;
	counters_to_batch(t->wb, &t->c, &t->ns->c);
	if (ns_db_write(t->ns, t->wb, false) < 0) {
		ns_effects_fail(t->ns);
		return -EIO;
	}
	t->ns->c = t->c;
	ns_effects_note_commit(t->ns, t->wb, t->freed, t->n_freed);
	ns_retry_commit(t);
	for (size_t i = 0; i < t->n_ov; i++)
		ns_cache_put(t->ns, t->ov[i].key, t->ov[i].klen, t->ov[i].val, t->ov[i].vlen);
	if (t->rec_cache_flush)
		ns_cache_clear(t->ns);
	if (ns_freed_add(t->ns, t->freed, t->n_freed) < 0)
		DFS_WARN("out of memory: %zu freed blocks left to the orphan scan", t->n_freed);
	return 0;
}

void ns_txn_end(struct ns_txn *t)
{
	for (size_t i = 0; i < t->n_ov; i++) {
		free(t->ov[i].key);
		free(t->ov[i].val);
	}
	free(t->ov);
	free(t->slots);
	free(t->freed);
	if (t->aux_it)
		leveldb_iter_destroy(t->aux_it);
	if (t->wb)
		leveldb_writebatch_destroy(t->wb);
	memset(t, 0, sizeof(*t));
}
