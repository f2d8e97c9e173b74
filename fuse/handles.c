/* handles.c: dfs-fuse's open-file table (see handles.h). */
#include "fuse/handles.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuse/logger.h"

static size_t bucket_of(uint64_t ino)
{
	return (size_t)((ino * 0x9E3779B97F4A7C15ull) >> 54) % DFSF_HANDLE_BUCKETS;
}

void dfsf_handles_init(struct dfsf_handles *h, dfs_client *c)
{
	h->client = c;
	pthread_mutex_init(&h->lock, NULL);
	for (size_t i = 0; i < DFSF_HANDLE_BUCKETS; i++) {
		h->buckets[i] = NULL;
		h->epochs[i] = 0;
	}
	h->count = 0;
}

uint64_t dfsf_handles_epoch(struct dfsf_handles *h, uint64_t ino)
{
	return __atomic_load_n(&h->epochs[bucket_of(ino)], __ATOMIC_ACQUIRE);
}

void dfsf_handles_bump(struct dfsf_handles *h, uint64_t ino)
{
	__atomic_add_fetch(&h->epochs[bucket_of(ino)], 1, __ATOMIC_ACQ_REL);
}

int dfsf_fh_refresh(struct dfsf_handles *h, dfs_client *c, struct dfsf_fh *fh)
{
	uint64_t epoch = dfsf_handles_epoch(h, fh->ino);
	dfs_file *nf = NULL;
	if (dfsf_fh_is_dirty(fh) || epoch == fh->epoch)
		return 0;
	int rc = dfs_open_ino(c, fh->ino, fh->flags & ~O_TRUNC, &nf);
	if (rc < 0)
		return rc;
	dfs_close(fh->f); /* clean: nothing to flush */
	fh->f = nf;
	fh->epoch = epoch;
	return 0;
}

/* Another registered handle of ino, or NULL. Table lock held. */
static struct dfsf_fh *find_open(struct dfsf_handles *h, uint64_t ino)
{
	for (struct dfsf_fh *fh = h->buckets[bucket_of(ino)]; fh; fh = fh->next)
		if (fh->ino == ino)
			return fh;
	return NULL;
}

int dfsf_handles_is_open(struct dfsf_handles *h, uint64_t ino)
{
	pthread_mutex_lock(&h->lock);
	int open = find_open(h, ino) != NULL;
	pthread_mutex_unlock(&h->lock);
	return open;
}

int dfsf_handles_hide(struct dfsf_handles *h, uint64_t ino, uint64_t dir, const char *name)
{
	int taken = 0;
	pthread_mutex_lock(&h->lock);
	for (struct dfsf_fh *fh = h->buckets[bucket_of(ino)]; fh; fh = fh->next) {
		if (fh->ino != ino)
			continue;
		fh->hidden_dir = dir;
		snprintf(fh->hidden_name, sizeof(fh->hidden_name), "%s", name);
		taken = 1;
	}
	pthread_mutex_unlock(&h->lock);
	return taken;
}

/* The last handle of a hidden inode removes its hidden name. */
static void unlink_hidden(struct dfsf_handles *h, struct dfsf_fh *fh)
{
	pthread_mutex_lock(&h->lock);
	int last = fh->hidden_name[0] != '\0' && find_open(h, fh->ino) == NULL;
	pthread_mutex_unlock(&h->lock);
	if (!last)
		return;
	int rc = dfs_unlink_at(h->client, fh->hidden_dir, fh->hidden_name);
	if (rc < 0 && rc != -ENOENT)
		dfsf_log_err(DFSF_WARN, rc, "removing %s in directory %llu", fh->hidden_name,
			     (unsigned long long)fh->hidden_dir);
}

static int fh_free(struct dfsf_handles *h, struct dfsf_fh *fh)
{
	int rc = dfs_close(fh->f);
	unlink_hidden(h, fh);
	if (dfsf_fh_is_dirty(fh))
		dfsf_handles_bump(h, fh->ino);
	if (rc < 0)
		dfsf_log_err(DFSF_WARN, rc, "close of inode %llu", (unsigned long long)fh->ino);
	pthread_mutex_destroy(&fh->lock);
	free(fh);
	return rc;
}

void dfsf_handles_fini(struct dfsf_handles *h)
{
	for (size_t i = 0; i < DFSF_HANDLE_BUCKETS; i++) {
		struct dfsf_fh *fh = h->buckets[i];
		h->buckets[i] = NULL; /* detached: each is the last of its inode */
		while (fh) {
			struct dfsf_fh *next = fh->next;
			fh_free(h, fh);
			fh = next;
		}
		h->buckets[i] = NULL;
	}
	h->count = 0;
	pthread_mutex_destroy(&h->lock);
}

struct dfsf_fh *dfsf_fh_new(struct dfsf_handles *h, dfs_file *f, uint64_t ino, int flags)
{
	struct dfsf_fh *fh = calloc(1, sizeof(*fh));
	if (!fh) {
		dfs_close(f);
		return NULL;
	}
	pthread_mutex_init(&fh->lock, NULL);
	fh->f = f;
	fh->ino = ino;
	fh->flags = flags;
	fh->refs = 1;
	fh->epoch = dfsf_handles_epoch(h, ino);
	pthread_mutex_lock(&h->lock);
	size_t b = bucket_of(ino);
	fh->next = h->buckets[b];
	h->buckets[b] = fh;
	h->count++;
	pthread_mutex_unlock(&h->lock);
	return fh;
}

/* Drops one reference; the caller must not hold the table lock. */
static int fh_put(struct dfsf_handles *h, struct dfsf_fh *fh)
{
	pthread_mutex_lock(&h->lock);
	unsigned left = --fh->refs;
	pthread_mutex_unlock(&h->lock);
	return left == 0 ? fh_free(h, fh) : 0;
}

int dfsf_fh_release(struct dfsf_handles *h, struct dfsf_fh *fh)
{
	pthread_mutex_lock(&h->lock);
	struct dfsf_fh **pp = &h->buckets[bucket_of(fh->ino)];
	while (*pp && *pp != fh)
		pp = &(*pp)->next;
	if (*pp) {
		*pp = fh->next;
		fh->next = NULL;
		h->count--;
	}
	pthread_mutex_unlock(&h->lock);
	return fh_put(h, fh);
}

int dfsf_fh_sync(struct dfsf_handles *h, struct dfsf_fh *fh)
{
	int rc = 0;
	pthread_mutex_lock(&fh->lock);
	if (dfsf_fh_is_dirty(fh)) {
		rc = dfs_fsync(fh->f);
		if (rc == 0) {
			dfsf_fh_set_dirty(fh, 0);
			dfsf_handles_bump(h, fh->ino);
		}
	}
	pthread_mutex_unlock(&fh->lock);
	return rc;
}

/* Takes a reference on up to DFSF_HANDLES_PER_INO_MAX dirty handles of ino
 * (except `except`) into out; returns how many. */
static size_t collect_dirty(struct dfsf_handles *h, uint64_t ino, struct dfsf_fh *except,
			    struct dfsf_fh **out)
{
	size_t n = 0;
	pthread_mutex_lock(&h->lock);
	for (struct dfsf_fh *fh = h->buckets[bucket_of(ino)]; fh; fh = fh->next) {
		if (fh->ino != ino || fh == except || !dfsf_fh_is_dirty(fh))
			continue;
		if (n == DFSF_HANDLES_PER_INO_MAX) {
			DFSF_LOG(DFSF_WARN, "inode %llu: more than %d dirty handles",
				 (unsigned long long)ino, DFSF_HANDLES_PER_INO_MAX);
			break;
		}
		fh->refs++;
		out[n++] = fh;
	}
	pthread_mutex_unlock(&h->lock);
	return n;
}

int dfsf_handles_sync_ino(struct dfsf_handles *h, uint64_t ino, struct dfsf_fh *except)
{
	struct dfsf_fh *list[DFSF_HANDLES_PER_INO_MAX];
	size_t n = collect_dirty(h, ino, except, list);
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		int r = dfsf_fh_sync(h, list[i]);
		if (r < 0 && rc == 0)
			rc = r;
		fh_put(h, list[i]);
	}
	return rc;
}

int dfsf_handles_dirty_size(struct dfsf_handles *h, uint64_t ino, uint64_t *size)
{
	struct dfsf_fh *list[DFSF_HANDLES_PER_INO_MAX];
	size_t n = collect_dirty(h, ino, NULL, list);
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		if (rc == 0) {
			struct dfs_stat st;
			pthread_mutex_lock(&list[i]->lock);
			int r = dfs_fstat(list[i]->f, &st);
			pthread_mutex_unlock(&list[i]->lock);
			if (r < 0) {
				rc = r;
			} else {
				*size = st.size;
				rc = 1;
			}
		}
		fh_put(h, list[i]);
	}
	return rc;
}
