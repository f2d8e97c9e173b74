/* handles.h: dfs-fuse's open files, indexed by inode.
 *
 * Each FUSE open/create gets a dfsf_fh (fi->fh points to it) wrapping one
 * dfs_file. A dfs_file buffers writes until dfs_fsync/dfs_close, so the
 * namenode's size of a file that is being written lags behind what was
 * written through the mount. The table lets the other operations of the
 * same inode see those writes: getattr takes the size from a dirty handle,
 * and reads, truncates and renames over the file first make the other
 * dirty handles of the inode durable (dfsf_handles_sync_ino).
 *
 * Readers: a dfs_file knows the file size from its open (and its own
 * writes). So that a handle sees what other handles of the same mount made
 * durable since, each inode has a write epoch (a counter per hash bucket;
 * a collision only costs a needless refresh) bumped whenever a dirty
 * handle is synced or closed or the size is set; a clean handle whose
 * epoch is older reopens its dfs_file before reading (dfsf_fh_refresh).
 *
 * Unlink of an open file: the namenode frees an inode with its last name,
 * so unlinking a file that is open here renames it to a hidden name in the
 * same directory instead (DFSF_HIDDEN_PREFIX, like libfuse's .fuse_hidden);
 * the last handle of the inode to go removes that name.
 *
 * Locking: the table lock guards the hash chains and every fh's refs; an
 * fh's own lock guards its dfs_file. Order: never take the table lock while
 * holding an fh lock. dirty is atomic.
 *
 * Ownership: the table holds one reference of each registered fh;
 * helpers that work on an fh outside the table lock hold another. The last
 * reference dfs_close()s the file and frees the fh.
 */
#ifndef DFS_FUSE_HANDLES_H
#define DFS_FUSE_HANDLES_H

#include <dfs.h>
#include <pthread.h>
#include <stdint.h>

#define DFSF_HANDLE_BUCKETS 1024     /* hash chains of the open-file table */
#define DFSF_HANDLES_PER_INO_MAX 64 /* handles of one inode one call visits */
#define DFSF_HIDDEN_PREFIX ".dfs_hidden."
#define DFSF_HIDDEN_NAME_MAX 64

struct dfsf_fh {
	pthread_mutex_t lock; /* guards f */
	dfs_file *f;
	uint64_t ino;
	int flags;            /* open(2) flags the file was opened with */
	int dirty;            /* written since the last fsync (atomic) */
	unsigned refs;        /* under the table lock */
	uint64_t epoch;       /* write epoch of ino when f was opened (under lock) */
	uint64_t hidden_dir;  /* unlinked while open: its hidden name (table lock) */
	char hidden_name[DFSF_HIDDEN_NAME_MAX];
	struct dfsf_fh *next; /* hash chain */
};

struct dfsf_handles {
	dfs_client *client; /* for the removal of hidden names */
	pthread_mutex_t lock;
	struct dfsf_fh *buckets[DFSF_HANDLE_BUCKETS];
	uint64_t epochs[DFSF_HANDLE_BUCKETS]; /* write epochs (atomic) */
	size_t count;
};

void dfsf_handles_init(struct dfsf_handles *h, dfs_client *c);
/* Closes and frees every handle still open (at unmount). */
void dfsf_handles_fini(struct dfsf_handles *h);

/* Wraps f (ownership moves to the table) and registers it under ino.
 * Returns NULL (and closes f) when out of memory. */
struct dfsf_fh *dfsf_fh_new(struct dfsf_handles *h, dfs_file *f, uint64_t ino, int flags);
/* Unregisters fh and drops the table's reference. Returns the result of
 * dfs_close when this was the last reference, else 0. */
int dfsf_fh_release(struct dfsf_handles *h, struct dfsf_fh *fh);

static inline void dfsf_fh_set_dirty(struct dfsf_fh *fh, int dirty)
{
	__atomic_store_n(&fh->dirty, dirty, __ATOMIC_RELEASE);
}
static inline int dfsf_fh_is_dirty(struct dfsf_fh *fh)
{
	return __atomic_load_n(&fh->dirty, __ATOMIC_ACQUIRE);
}

/* 1 if ino has open handles. */
int dfsf_handles_is_open(struct dfsf_handles *h, uint64_t ino);
/* Records that ino's handles keep it alive under (dir, name); the last
 * one to be freed unlinks that name. Returns 1 if some handle took it,
 * 0 if none is open any more (the caller unlinks it at once). */
int dfsf_handles_hide(struct dfsf_handles *h, uint64_t ino, uint64_t dir, const char *name);

/* Write epoch of ino; bumping it tells the clean handles of ino to
 * refresh before their next read. */
uint64_t dfsf_handles_epoch(struct dfsf_handles *h, uint64_t ino);
void dfsf_handles_bump(struct dfsf_handles *h, uint64_t ino);

/* With fh->lock held: if fh is clean and its epoch is older than the
 * inode's, reopens its dfs_file on c (flags without O_TRUNC) so it sees
 * the current size and blocks. 0 or a negative errno (fh unchanged). */
int dfsf_fh_refresh(struct dfsf_handles *h, dfs_client *c, struct dfsf_fh *fh);

/* dfs_fsync()s fh under its lock if it is dirty. 0 or a negative errno. */
int dfsf_fh_sync(struct dfsf_handles *h, struct dfsf_fh *fh);

/* Makes every dirty handle of ino except `except` (may be NULL) durable.
 * Returns 0 or the first error. */
int dfsf_handles_sync_ino(struct dfsf_handles *h, uint64_t ino, struct dfsf_fh *except);

/* If a dirty handle of ino exists, stores its size (what was written
 * through it, not yet on the namenode) in *size and returns 1; 0 if none;
 * or a negative errno. */
int dfsf_handles_dirty_size(struct dfsf_handles *h, uint64_t ino, uint64_t *size);

#endif
