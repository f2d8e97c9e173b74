/* handles.c: dfs-fuse's open-file table and the writer each inode's
 * writable handles share (see handles.h). */
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

static int is_writable(int flags)
{
	return (flags & O_ACCMODE) == O_WRONLY || (flags & O_ACCMODE) == O_RDWR;
}

void dfsf_handles_init(struct dfsf_handles *h, dfs_client *c)
{
	h->client = c;
	pthread_mutex_init(&h->lock, NULL);
	for (size_t i = 0; i < DFSF_HANDLE_BUCKETS; i++) {
		h->buckets[i] = NULL;
		h->writers[i] = NULL;
		h->epochs[i] = 0;
		h->bumped_at[i] = 0;
	}
	h->changes = 0;
	h->count = 0;
}

uint64_t dfsf_handles_epoch(struct dfsf_handles *h, uint64_t ino)
{
	return __atomic_load_n(&h->epochs[bucket_of(ino)], __ATOMIC_ACQUIRE);
}

uint64_t dfsf_handles_bump(struct dfsf_handles *h, uint64_t ino)
{
	size_t b = bucket_of(ino);
	uint64_t now = __atomic_add_fetch(&h->changes, 1, __ATOMIC_ACQ_REL);
	uint64_t seen = __atomic_load_n(&h->bumped_at[b], __ATOMIC_ACQUIRE);
	while (seen < now && !__atomic_compare_exchange_n(&h->bumped_at[b], &seen, now, 0,
							  __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		; /* keep the highest */
	return __atomic_add_fetch(&h->epochs[b], 1, __ATOMIC_ACQ_REL);
}

uint64_t dfsf_handles_changes(struct dfsf_handles *h)
{
	return __atomic_load_n(&h->changes, __ATOMIC_ACQUIRE);
}

int dfsf_handles_changed_since(struct dfsf_handles *h, uint64_t ino, uint64_t changes_before)
{
	return __atomic_load_n(&h->bumped_at[bucket_of(ino)], __ATOMIC_ACQUIRE) > changes_before;
}

static void stream_init(struct dfsf_handles *h, struct dfsf_stream *s, dfs_file *f,
			uint64_t ino, int flags)
{
	pthread_mutex_init(&s->lock, NULL);
	s->f = f;
	s->ino = ino;
	s->flags = flags & ~O_TRUNC;
	s->dirty = 0;
	s->epoch = dfsf_handles_epoch(h, ino);
}

/* Closes s's file; a dirty stream's close publishes its writes. */
static int stream_close(struct dfsf_handles *h, struct dfsf_stream *s)
{
	int rc = dfs_close(s->f);
	s->f = NULL;
	if (dfsf_stream_is_dirty(s))
		dfsf_handles_bump(h, s->ino);
	if (rc < 0)
		dfsf_log_err(DFSF_WARN, rc, "close of inode %llu", (unsigned long long)s->ino);
	pthread_mutex_destroy(&s->lock);
	return rc;
}

int dfsf_stream_refresh(struct dfsf_handles *h, struct dfsf_stream *s)
{
	uint64_t epoch = dfsf_handles_epoch(h, s->ino);
	dfs_file *nf = NULL;
	if (dfsf_stream_is_dirty(s) || epoch == s->epoch)
		return 0;
	int rc = dfs_open_ino(h->client, s->ino, s->flags, &nf);
	if (rc < 0)
		return rc;
	dfs_close(s->f); /* clean: nothing to flush */
	s->f = nf;
	s->epoch = epoch;
	return 0;
}

int dfsf_stream_sync_locked(struct dfsf_handles *h, struct dfsf_stream *s)
{
	if (!dfsf_stream_is_dirty(s))
		return 0;
	int rc = dfs_fsync(s->f);
	if (rc < 0)
		return rc;
	dfsf_stream_set_dirty(s, 0);
	/* Own bump: the stream saw its writes, it need not reopen for them. */
	uint64_t before = s->epoch;
	uint64_t now = dfsf_handles_bump(h, s->ino);
	if (now == before + 1)
		s->epoch = now;
	return 0;
}

int dfsf_stream_sync(struct dfsf_handles *h, struct dfsf_stream *s)
{
	pthread_mutex_lock(&s->lock);
	int rc = dfsf_stream_sync_locked(h, s);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

/* A registered handle of ino, or NULL. Table lock held. */
static struct dfsf_fh *find_open(struct dfsf_handles *h, uint64_t ino)
{
	for (struct dfsf_fh *fh = h->buckets[bucket_of(ino)]; fh; fh = fh->next)
		if (fh->ino == ino)
			return fh;
	return NULL;
}

/* The writer of ino, or NULL. Table lock held. */
static struct dfsf_writer *find_writer(struct dfsf_handles *h, uint64_t ino)
{
	for (struct dfsf_writer *w = h->writers[bucket_of(ino)]; w; w = w->next)
		if (w->s.ino == ino)
			return w;
	return NULL;
}

/* ino's writer with a reference taken, or NULL. */
static struct dfsf_writer *writer_get(struct dfsf_handles *h, uint64_t ino)
{
	pthread_mutex_lock(&h->lock);
	struct dfsf_writer *w = find_writer(h, ino);
	if (w)
		w->refs++;
	pthread_mutex_unlock(&h->lock);
	return w;
}

/* Drops a reference; the last one unchains and closes the writer. The
 * caller must not hold the table lock. */
static int writer_put(struct dfsf_handles *h, struct dfsf_writer *w)
{
	pthread_mutex_lock(&h->lock);
	unsigned left = --w->refs;
	if (left == 0) {
		struct dfsf_writer **pp = &h->writers[bucket_of(w->s.ino)];
		while (*pp && *pp != w)
			pp = &(*pp)->next;
		if (*pp)
			*pp = w->next;
	}
	pthread_mutex_unlock(&h->lock);
	if (left > 0)
		return 0;
	int rc = stream_close(h, &w->s);
	free(w);
	return rc;
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

/* After fh left the table: the last handle of a hidden inode removes its
 * hidden name. */
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

/* Closes fh's file (or its share of the writer) and frees fh. */
static int fh_free(struct dfsf_handles *h, struct dfsf_fh *fh)
{
	int rc = fh->w ? writer_put(h, fh->w) : stream_close(h, &fh->own);
	unlink_hidden(h, fh);
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
	}
	h->count = 0;
	pthread_mutex_destroy(&h->lock);
}

struct dfsf_fh *dfsf_fh_new(struct dfsf_handles *h, dfs_file *f, uint64_t ino, int flags)
{
	struct dfsf_fh *fh = calloc(1, sizeof(*fh));
	struct dfsf_writer *nw = is_writable(flags) ? calloc(1, sizeof(*nw)) : NULL;
	if (!fh || (is_writable(flags) && !nw)) {
		free(fh);
		free(nw);
		dfs_close(f);
		return NULL;
	}
	fh->ino = ino;
	fh->flags = flags;
	if (nw) /* O_APPEND is the handle's business: the writer writes at offsets */
		stream_init(h, &nw->s, f, ino, flags & O_ACCMODE);
	else
		stream_init(h, &fh->own, f, ino, flags);
	pthread_mutex_lock(&h->lock);
	size_t b = bucket_of(ino);
	if (nw) {
		fh->w = find_writer(h, ino);
		if (fh->w) {
			fh->w->refs++;
		} else {
			nw->refs = 1;
			nw->next = h->writers[b];
			h->writers[b] = nw;
			fh->w = nw;
			nw = NULL;
		}
	}
	fh->next = h->buckets[b];
	h->buckets[b] = fh;
	h->count++;
	pthread_mutex_unlock(&h->lock);
	if (nw) { /* joined the inode's writer: this file is not needed */
		stream_close(h, &nw->s);
		free(nw);
	}
	return fh;
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
	return fh_free(h, fh);
}

int dfsf_handles_sync_ino(struct dfsf_handles *h, uint64_t ino)
{
	struct dfsf_writer *w = writer_get(h, ino);
	if (!w)
		return 0;
	int rc = dfsf_stream_sync(h, &w->s);
	int r = writer_put(h, w);
	return rc < 0 ? rc : r;
}

/* ino's writer if it is dirty, with a reference and its stream lock held
 * (end with dirty_writer_end). Clean: the last sync published everything.
 * Dirty: under the lock a sync under way ends first. NULL if ino has no
 * dirty writer; *rc is then 0 or the error of dropping the reference. */
static struct dfsf_writer *dirty_writer_begin(struct dfsf_handles *h, uint64_t ino, int *rc)
{
	struct dfsf_writer *w = writer_get(h, ino);
	*rc = 0;
	if (!w)
		return NULL;
	if (!dfsf_stream_is_dirty(&w->s)) {
		*rc = writer_put(h, w);
		return NULL;
	}
	pthread_mutex_lock(&w->s.lock);
	return w;
}

/* Ends dirty_writer_begin; returns rc, or if it is 0 the error of dropping
 * the reference. */
static int dirty_writer_end(struct dfsf_handles *h, struct dfsf_writer *w, int rc)
{
	pthread_mutex_unlock(&w->s.lock);
	int r = writer_put(h, w);
	return rc != 0 ? rc : r;
}

int dfsf_handles_dirty_stat(struct dfsf_handles *h, uint64_t ino, unsigned max_age_ms,
			    struct dfs_stat *st)
{
	int rc;
	struct dfsf_writer *w = dirty_writer_begin(h, ino, &rc);
	if (!w)
		return rc;
	rc = dfs_fstat_recent(w->s.f, max_age_ms, st);
	if (rc == -ESTALE)
		rc = dfs_fstat(w->s.f, st);
	return dirty_writer_end(h, w, rc < 0 ? rc : 1);
}

int dfsf_handles_defer_setattr(struct dfsf_handles *h, uint64_t ino, const struct dfs_setattr *sa,
			       struct dfs_stat *st)
{
	int rc;
	struct dfsf_writer *w = dirty_writer_begin(h, ino, &rc);
	if (!w)
		return rc;
	return dirty_writer_end(h, w, dfs_fsetattr_deferred(w->s.f, sa, st));
}

int dfsf_handles_reply_current(struct dfsf_handles *h, uint64_t ino, uint64_t changes_before)
{
	struct dfsf_writer *w = writer_get(h, ino);
	int clean = 1;
	if (w) {
		/* under the lock: a sync under way ends first, bump included */
		pthread_mutex_lock(&w->s.lock);
		clean = !dfsf_stream_is_dirty(&w->s);
		pthread_mutex_unlock(&w->s.lock);
		if (writer_put(h, w) < 0)
			clean = 0;
	}
	return clean && !dfsf_handles_changed_since(h, ino, changes_before);
}

int dfsf_handles_has_writer(struct dfsf_handles *h, uint64_t ino)
{
	pthread_mutex_lock(&h->lock);
	int has = find_writer(h, ino) != NULL;
	pthread_mutex_unlock(&h->lock);
	return has;
}
