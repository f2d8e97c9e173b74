/* handles.h: dfs-fuse's open files, indexed by inode.
 *
 * Each FUSE open/create gets a dfsf_fh (fi->fh points to it). A stream
 * (struct dfsf_stream) is one dfs_file with its lock:
 *  - a read-only handle has a stream of its own;
 *  - every writable handle of an inode shares that inode's one writer
 *    (struct dfsf_writer), so the mount has at most one write pipeline per
 *    block. Two dfs_files writing one block would each reopen it
 *    (OPEN_BLOCK, a new genstamp) and make the other's pipeline stale.
 *    The writer's dfs_file is the one the first writable open made; later
 *    writable opens close theirs and join it.
 *
 * A dfs_file buffers writes until dfs_fsync/dfs_close, so the namenode's
 * size of a file being written lags behind what was written through the
 * mount. The table lets the other operations of the same inode see those
 * writes: every attribute reply takes the size from a dirty writer
 * (dfsf_handles_dirty_stat, through dfsf_stat_live / dfsf_attr_live), and
 * reads through read-only handles, truncates and renames over the file
 * first make the writer durable (dfsf_handles_sync_ino).
 *
 * Epochs: a stream knows the file size from its open (and its own
 * writes). So that it sees what else changed the file since, each inode
 * has a write epoch (a counter per hash bucket; a collision only costs a
 * needless refresh) bumped whenever a writer is synced or closed or the
 * size is set; a clean stream whose epoch is older reopens its dfs_file
 * before use (dfsf_stream_refresh).
 *
 * Unlink of an open file: the namenode frees an inode with its last name,
 * so unlinking a file that is open here renames it to a hidden name in the
 * same directory instead (DFSF_HIDDEN_PREFIX, like libfuse's .fuse_hidden);
 * the last handle of the inode to go removes that name.
 *
 * Locking: the table lock guards the hash chains and the writers' refs; a
 * stream's own lock guards its dfs_file. Order: never take the table lock
 * while holding a stream lock. dirty is atomic.
 *
 * Ownership: an fh belongs to FUSE from open to release (the kernel sends
 * no operation on it after release). A writer is counted: one reference
 * per writable fh, plus one for each helper working on it outside the
 * table lock; the last reference dfs_close()s its file.
 */
#ifndef DFS_FUSE_HANDLES_H
#define DFS_FUSE_HANDLES_H

#include <dfs.h>
#include <pthread.h>
#include <stdint.h>

#define DFSF_HANDLE_BUCKETS 1024     /* hash chains of the open-file table */
#define DFSF_HIDDEN_PREFIX ".dfs_hidden."
#define DFSF_HIDDEN_NAME_MAX 64

struct dfsf_stream {
	pthread_mutex_t lock; /* guards f and epoch */
	dfs_file *f;
	uint64_t ino;
	int flags;            /* what f is reopened with: access mode (+O_APPEND) */
	int dirty;            /* written since the last fsync (atomic) */
	uint64_t epoch;       /* write epoch of ino when f was opened or synced */
};

struct dfsf_writer {
	struct dfsf_stream s;
	unsigned refs;            /* under the table lock */
	struct dfsf_writer *next; /* hash chain */
};

struct dfsf_fh {
	struct dfsf_stream own; /* read-only handles: their own file */
	struct dfsf_writer *w;  /* writable handles: the inode's writer */
	uint64_t ino;
	int flags;              /* open(2) flags the file was opened with */
	uint64_t hidden_dir;    /* unlinked while open: its hidden name (table lock) */
	char hidden_name[DFSF_HIDDEN_NAME_MAX];
	struct dfsf_fh *next;   /* hash chain */
};

struct dfsf_handles {
	dfs_client *client; /* for reopening and removing hidden names */
	pthread_mutex_t lock;
	struct dfsf_fh *buckets[DFSF_HANDLE_BUCKETS];
	struct dfsf_writer *writers[DFSF_HANDLE_BUCKETS];
	uint64_t epochs[DFSF_HANDLE_BUCKETS]; /* write epochs (atomic) */
	uint64_t changes;                     /* bumps of any epoch (atomic) */
	uint64_t bumped_at[DFSF_HANDLE_BUCKETS]; /* changes at a bucket's last bump */
	size_t count;
};

void dfsf_handles_init(struct dfsf_handles *h, dfs_client *c);
/* Closes and frees every handle still open (at unmount). */
void dfsf_handles_fini(struct dfsf_handles *h);

/* Registers a handle of ino opened with `flags` whose file is f
 * (ownership moves to the table: a writable handle joining an existing
 * writer closes f). Returns NULL (and closes f) when out of memory. */
struct dfsf_fh *dfsf_fh_new(struct dfsf_handles *h, dfs_file *f, uint64_t ino, int flags);
/* Unregisters fh and frees it. Returns the result of dfs_close when fh
 * held the last reference of its file, else 0. */
int dfsf_fh_release(struct dfsf_handles *h, struct dfsf_fh *fh);

/* The stream fh reads and writes through. */
static inline struct dfsf_stream *dfsf_fh_stream(struct dfsf_fh *fh)
{
	return fh->w ? &fh->w->s : &fh->own;
}

static inline void dfsf_stream_set_dirty(struct dfsf_stream *s, int dirty)
{
	__atomic_store_n(&s->dirty, dirty, __ATOMIC_RELEASE);
}
static inline int dfsf_stream_is_dirty(struct dfsf_stream *s)
{
	return __atomic_load_n(&s->dirty, __ATOMIC_ACQUIRE);
}

/* 1 if ino has open handles. */
int dfsf_handles_is_open(struct dfsf_handles *h, uint64_t ino);
/* Records that ino's handles keep it alive under (dir, name); the last
 * one to be freed unlinks that name. Returns 1 if some handle took it,
 * 0 if none is open any more (the caller unlinks it at once). */
int dfsf_handles_hide(struct dfsf_handles *h, uint64_t ino, uint64_t dir, const char *name);

/* Write epoch of ino; bumping it tells the clean streams of ino to
 * refresh before their next use. Bump returns the new epoch. */
uint64_t dfsf_handles_epoch(struct dfsf_handles *h, uint64_t ino);
uint64_t dfsf_handles_bump(struct dfsf_handles *h, uint64_t ino);

/* With s->lock held: if s is clean and its epoch is older than the
 * inode's, reopens its dfs_file so it sees the current size and blocks.
 * 0 or a negative errno (s unchanged). */
int dfsf_stream_refresh(struct dfsf_handles *h, struct dfsf_stream *s);

/* With s->lock held: dfs_fsync()s s if it is dirty and bumps the inode's
 * epoch (s keeps up with its own bump). 0 or a negative errno. */
int dfsf_stream_sync_locked(struct dfsf_handles *h, struct dfsf_stream *s);
/* The same, taking s->lock. */
int dfsf_stream_sync(struct dfsf_handles *h, struct dfsf_stream *s);

/* Makes ino's writer durable if it is dirty. 0 or a negative errno. */
int dfsf_handles_sync_ino(struct dfsf_handles *h, uint64_t ino);

/* If ino's writer is dirty, fills *st with ino's attributes and returns
 * 1: the writer's own (dfs_fstat_recent) if its open was at most
 * max_age_ms ago, else the namenode's (dfs_fstat), with the size written
 * through the writer, not yet on the namenode. 0 if ino has no dirty
 * writer; or a negative errno. A writer found clean has published every
 * write: the namenode's attributes read after this call are at least as
 * new. */
int dfsf_handles_dirty_stat(struct dfsf_handles *h, uint64_t ino, unsigned max_age_ms,
			    struct dfs_stat *st);

/* If ino's writer is dirty and keeps sa for the COMPLETE that publishes
 * its writes (dfs_fsetattr_deferred, with the calling thread's
 * credentials), fills *st with the attributes it will publish and
 * returns 1; 0 if nothing was kept (apply sa now); or a negative errno. */
int dfsf_handles_defer_setattr(struct dfsf_handles *h, uint64_t ino, const struct dfs_setattr *sa,
			       struct dfs_stat *st);

/* 1 if a namenode reply about ino asked for after the counter read
 * changes_before is as new as anything this mount knows: ino's writer (if
 * any) is clean and published nothing since. 0: ask again. */
int dfsf_handles_reply_current(struct dfsf_handles *h, uint64_t ino, uint64_t changes_before);

/* 1 if ino has a writer (a writable handle open in this mount). */
int dfsf_handles_has_writer(struct dfsf_handles *h, uint64_t ino);

/* A counter that every dfsf_handles_bump advances, and whether ino's
 * epoch was bumped since the counter read changes_before: if not, no
 * writer of this mount published ino's data (or set its size) since. */
uint64_t dfsf_handles_changes(struct dfsf_handles *h);
int dfsf_handles_changed_since(struct dfsf_handles *h, uint64_t ino, uint64_t changes_before);

#endif
