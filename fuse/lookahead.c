/* lookahead.c: the window of names listed ahead of a directory scan or
 * fill, and the touches of this mount's changes that it must not hide
 * (lookahead.h says when one is fetched and what it answers). */
#include "fuse/lookahead.h"
#include "fuse/dfs_fuse.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fuse/logger.h"
#include "common/clock.h"

/* How long an entry may be served: the shorter of the kernel's caches;
 * 0 turns lookahead off. */
static int64_t serve_ms(const struct dfs_fuse *fs)
{
	double s = fs->opts.entry_timeout < fs->opts.attr_timeout ? fs->opts.entry_timeout
								   : fs->opts.attr_timeout;
	return s > 0 ? (int64_t)(s * 1000) : 0;
}

/* How long a name may be answered missing. */
static int64_t missing_ms(const struct dfs_fuse *fs)
{
	double s = fs->opts.negative_timeout;
	return s > 0 ? (int64_t)(s * 1000) : 0;
}

/* --- touch keys: a hash of an inode or of dir/name; a collision only
 * sends a lookup to the namenode. Key 0 stands for "every entry with more
 * than one link". --- */

#define KEY_MULTILINK 0

static uint64_t mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

static uint64_t nonzero(uint64_t k)
{
	return k == KEY_MULTILINK ? 1 : k;
}

static uint64_t ino_key(uint64_t ino)
{
	return nonzero(mix(ino) & ~(1ull << 63));
}

static uint64_t name_key(uint64_t dir, const char *name)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 0x100000001b3ull;
	return mix(h ^ mix(dir)) | (1ull << 63);
}

static bool touched_has(const struct dfsf_lookahead *la, uint64_t key)
{
	if (la->touched_n == 0)
		return false;
	size_t mask = la->touched_cap - 1;
	for (size_t i = (size_t)key & mask;; i = (i + 1) & mask) {
		if (la->touched[i] == key)
			return true;
		if (la->touched[i] == 0)
			return false;
	}
}

static void free_entries(struct dfsf_la_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(e[i].name);
	free(e);
}

/* Drops the window (lock held). */
static void drop_window(struct dfsf_lookahead *la)
{
	free_entries(la->e, la->n);
	free(la->touched);
	la->e = NULL;
	la->n = 0;
	la->dir = 0;
	la->touched = NULL;
	la->touched_cap = la->touched_n = 0;
	la->multilink = false;
}

/* Puts key (not there yet, not 0) into an open-addressing table of cap
 * slots (a power of two) with a free one. */
static void probe_insert(uint64_t *t, size_t cap, uint64_t key)
{
	size_t i = (size_t)key & (cap - 1);
	while (t[i] != 0)
		i = (i + 1) & (cap - 1);
	t[i] = key;
}

/* Adds key to the window's touched set; false when it cannot (lock held). */
static bool touched_add(struct dfsf_lookahead *la, uint64_t key)
{
	if (key == KEY_MULTILINK) {
		la->multilink = true;
		return true;
	}
	if (touched_has(la, key))
		return true;
	if (2 * (la->touched_n + 1) > la->touched_cap) {
		size_t cap = la->touched_cap ? 2 * la->touched_cap : 64;
		if (cap > 2 * DFSF_LA_TOUCHED_MAX)
			return false;
		uint64_t *t = calloc(cap, sizeof(*t));
		if (t == NULL)
			return false;
		for (size_t i = 0; i < la->touched_cap; i++)
			if (la->touched[i] != 0)
				probe_insert(t, cap, la->touched[i]);
		free(la->touched);
		la->touched = t;
		la->touched_cap = cap;
	}
	probe_insert(la->touched, la->touched_cap, key);
	la->touched_n++;
	return true;
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct dfsf_la_entry *)a)->name,
		      ((const struct dfsf_la_entry *)b)->name);
}

static struct dfsf_la_entry *window_entry(const struct dfsf_lookahead *la, const char *name)
{
	struct dfsf_la_entry key = { .name = (char *)name };
	return la->n ? bsearch(&key, la->e, la->n, sizeof(*la->e), cmp_entry) : NULL;
}

/* Records one key of a change (lock held). */
static void record(struct dfsf_lookahead *la, uint64_t key)
{
	la->ring[la->seq % DFSF_LA_RING] = key;
	la->seq++;
	if (la->dir != 0 && !touched_add(la, key))
		drop_window(la);
}

void dfsf_la_init(struct dfsf_lookahead *la)
{
	memset(la, 0, sizeof(*la));
	la->seq = 1;
	pthread_mutex_init(&la->lock, NULL);
}

void dfsf_la_fini(struct dfsf_lookahead *la)
{
	drop_window(la);
	pthread_mutex_destroy(&la->lock);
}

int dfsf_la_change_begin(struct dfsf_lookahead *la, const struct dfsf_la_touch *t, int n)
{
	int token = -1;
	pthread_mutex_lock(&la->lock);
	for (int i = 0; i < DFSF_LA_INFLIGHT; i++)
		if (la->inflight[i] == 0) {
			la->inflight[i] = la->seq;
			token = i;
			break;
		}
	for (int i = 0; i < n; i++) {
		if (t[i].name == NULL) {
			record(la, ino_key(t[i].ino));
			continue;
		}
		record(la, name_key(t[i].dir, t[i].name));
		if (t[i].removes) {
			/* the inode losing this name changes (nlink, ctime) */
			const struct dfsf_la_entry *e =
				la->dir == t[i].dir ? window_entry(la, t[i].name) : NULL;
			record(la, e ? ino_key(e->st.ino) : KEY_MULTILINK);
		}
	}
	if (token < 0) { /* no slot: no listing starts until it ends */
		la->untracked++;
		token = DFSF_LA_UNTRACKED;
	}
	pthread_mutex_unlock(&la->lock);
	return token;
}

void dfsf_la_change_end(struct dfsf_lookahead *la, int token)
{
	if (token == DFSF_LA_NONE)
		return;
	pthread_mutex_lock(&la->lock);
	if (token == DFSF_LA_UNTRACKED)
		la->untracked--;
	else
		la->inflight[token] = 0;
	pthread_mutex_unlock(&la->lock);
}

void dfsf_la_forget(struct dfsf_lookahead *la)
{
	pthread_mutex_lock(&la->lock);
	drop_window(la);
	pthread_mutex_unlock(&la->lock);
}

static bool hidden(const char *name)
{
	return strncmp(name, DFSF_HIDDEN_PREFIX, strlen(DFSF_HIDDEN_PREFIX)) == 0;
}

/* Whether the window's range covers name (lock held). */
static bool in_range(const struct dfsf_lookahead *la, const char *name)
{
	return strcmp(name, la->lo) > 0 &&
	       (la->win_last || (la->n > 0 && strcmp(name, la->e[la->n - 1].name) <= 0));
}

enum dfsf_la_answer dfsf_la_find(struct dfs_fuse *fs, uint64_t parent, const char *name,
				 struct dfs_stat *st, uint64_t *changes_before, double *age_s,
				 char *next_after)
{
	struct dfsf_lookahead *la = &fs->la;
	enum dfsf_la_answer answer = DFSF_LA_ASK;
	next_after[0] = '\0';
	if (parent == 0 || hidden(name))
		return answer;
	pthread_mutex_lock(&la->lock);
	int64_t age = dfs_mono_ms() - la->fetched_ms;
	if (la->dir != parent || touched_has(la, name_key(parent, name)))
		goto out;
	struct dfsf_la_entry *hit = window_entry(la, name);
	if (hit != NULL) {
		if (age >= serve_ms(fs) || touched_has(la, ino_key(hit->st.ino)) ||
		    (la->multilink && hit->st.nlink > 1 && !S_ISDIR(hit->st.mode)))
			goto out;
		answer = DFSF_LA_FOUND;
		*st = hit->st;
		*changes_before = la->win_changes;
		la->hits++;
		size_t i = (size_t)(hit - la->e);
		/* the next window starts after this name, so the rest of
		 * this one stays served once it is replaced */
		if (!la->win_last && !la->fetching && i >= la->n - la->n / 4)
			snprintf(next_after, DFSF_LA_NAME_MAX, "%s", name);
	} else if (age < missing_ms(fs) && in_range(la, name)) {
		answer = DFSF_LA_MISSING;
		la->misses++;
	}
	*age_s = (double)age / 1000.0;
out:
	pthread_mutex_unlock(&la->lock);
	return answer;
}

bool dfsf_la_note_lookup(struct dfs_fuse *fs, uint64_t parent, const char *name, bool found,
			 char *after)
{
	struct dfsf_lookahead *la = &fs->la;
	bool start = false;
	if (serve_ms(fs) == 0 || strlen(name) >= DFSF_LA_NAME_MAX || hidden(name))
		return false;
	pthread_mutex_lock(&la->lock);
	if (found) {
		if (la->run > 0 && la->run_dir == parent && strcmp(name, la->run_last) > 0) {
			la->run++;
		} else {
			la->run = 1;
			la->run_dir = parent;
		}
		snprintf(la->run_last, sizeof(la->run_last), "%s", name);
		if (la->run >= DFSF_LA_RUN && !la->fetching) {
			la->run = 0;
			snprintf(after, DFSF_LA_NAME_MAX, "%s", name);
			start = true;
		}
	} else if (missing_ms(fs) > 0) {
		if (la->miss_run > 0 && la->miss_dir == parent) {
			la->miss_run++;
			la->miss_ascending = la->miss_ascending && strcmp(name, la->miss_last) > 0;
		} else {
			la->miss_run = 1;
			la->miss_dir = parent;
			la->miss_ascending = true;
		}
		snprintf(la->miss_last, sizeof(la->miss_last), "%s", name);
		bool random_in_big = !la->miss_ascending && la->miss_big_dir == parent;
		if (la->miss_run >= DFSF_LA_RUN && !la->fetching && !random_in_big) {
			la->miss_run = 0;
			/* after this name when ascending (the names to come), else
			 * the whole directory */
			snprintf(after, DFSF_LA_NAME_MAX, "%s", la->miss_ascending ? name : "");
			start = true;
		}
	}
	pthread_mutex_unlock(&la->lock);
	return start;
}

/* Lists up to DFSF_LA_MAX names after `after` with their attributes.
 * Returns the count (*out from malloc, sorted) or a negative errno;
 * *last set when the directory ended. */
static int list_after(struct dfs_fuse *fs, uint64_t parent, const char *after,
		      struct dfsf_la_entry **out, bool *last)
{
	dfs_dir *d;
	struct dfs_dirent de;
	int rc = dfs_opendir(fs->client, parent, NULL, &d);
	if (rc < 0)
		return rc;
	rc = after[0] ? dfs_seekdir_name(d, after) : 0;
	struct dfsf_la_entry *e = rc < 0 ? NULL : malloc(DFSF_LA_MAX * sizeof(*e));
	size_t n = 0;
	if (rc == 0 && e == NULL)
		rc = -ENOMEM;
	*last = false;
	while (rc == 0 && n < DFSF_LA_MAX) {
		int r = dfs_readdir(d, &de);
		if (r <= 0) {
			rc = r;
			*last = r == 0;
			break;
		}
		if ((e[n].name = strdup(de.name)) == NULL) {
			rc = -ENOMEM;
			break;
		}
		e[n++].st = de.st;
	}
	dfs_closedir(d);
	if (rc < 0) {
		free_entries(e, n);
		return rc;
	}
	qsort(e, n, sizeof(*e), cmp_entry);
	*out = e;
	return (int)n;
}

/* Installs a listing as the window with the touches since scan_from
 * (lock held); false when those are no longer all in the ring. */
static bool install(struct dfsf_lookahead *la, uint64_t parent, const char *after,
		    struct dfsf_la_entry *e, size_t n, bool last, int64_t t0, uint64_t changes,
		    uint64_t scan_from)
{
	if (la->seq - scan_from > DFSF_LA_RING)
		return false;
	drop_window(la);
	la->dir = parent;
	la->e = e;
	la->n = n;
	snprintf(la->lo, sizeof(la->lo), "%s", after);
	la->fetched_ms = t0;
	la->win_changes = changes;
	la->win_last = last;
	for (uint64_t s = scan_from; s < la->seq; s++)
		if (!touched_add(la, la->ring[s % DFSF_LA_RING])) {
			la->e = NULL; /* the caller frees the listing */
			la->n = 0;
			drop_window(la);
			return false;
		}
	la->windows++;
	return true;
}

void dfsf_la_fetch(struct dfs_fuse *fs, uint64_t parent, const char *after)
{
	struct dfsf_lookahead *la = &fs->la;
	pthread_mutex_lock(&la->lock);
	/* A change without a slot has no begin seq to replay from; one that
	 * begins during the listing has its touches after scan_from. */
	bool go = !la->fetching && la->untracked == 0;
	uint64_t scan_from = la->seq; /* touches of changes in flight too */
	for (int i = 0; i < DFSF_LA_INFLIGHT; i++)
		if (la->inflight[i] != 0 && la->inflight[i] < scan_from)
			scan_from = la->inflight[i];
	if (go)
		la->fetching = 1;
	pthread_mutex_unlock(&la->lock);
	if (!go)
		return;
	int64_t t0 = dfs_mono_ms();
	uint64_t changes = dfsf_handles_changes(&fs->handles);
	struct dfsf_la_entry *e = NULL;
	bool last = false;
	int n = list_after(fs, parent, after, &e, &last);
	pthread_mutex_lock(&la->lock);
	la->fetching = 0;
	bool kept = false;
	if (n >= 0 && after[0] == '\0' && !last)
		la->miss_big_dir = parent; /* not one listing: no more from the start */
	else if (n >= 0)
		kept = install(la, parent, after, e, (size_t)n, last, t0, changes, scan_from);
	pthread_mutex_unlock(&la->lock);
	if (!kept && n >= 0)
		free_entries(e, (size_t)n);
	if (n < 0)
		DFSF_LOG(DFSF_DEBUG, "lookahead in directory %llu after '%s': %s",
			 (unsigned long long)parent, after, dfs_strerror(n));
}
