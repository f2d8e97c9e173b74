/* blockstore.h: the datanode's replicas on local disk.
 *
 * Layout of each data directory:
 *   <dir>/VERSION                        "uuid=...\ncluster_id=...\n"
 *   <dir>/current/<xx>/<yy>/blk_<id>     finalized replica data
 *   <dir>/current/<xx>/<yy>/blk_<id>.meta  header + one CRC32C per chunk
 *   <dir>/rbw/blk_<id>[.meta]            replicas being written
 *   <dir>/journal                        small new replicas until their own
 *                                        files are synced (journal.h)
 * where xx = (id >> 8) & 0xff and yy = id & 0xff in hex, so block ids
 * (sequential counters) spread over 65536 small directories.
 *
 * The replica map (id -> dir, genstamp, length, state) is built by scanning
 * every directory at start and kept in memory, guarded by store->lock.
 *
 * Threads and locks: any thread may call any function. store->lock is a
 * leaf lock: it is held only for map operations and the file renames /
 * opens that must agree with the map, never across network I/O or while
 * taking another lock. Writers wait on store->cond (with that lock) for a
 * replica whose other writer has not finished.
 *
 * Replica states: RBW (under rbw/, being written or a create stream that
 * ended without its last packet: still open to a rewrite with the same
 * genstamp) and FINALIZED (under current/). At most one writer per replica
 * (`writing`). Invariant: a FINALIZED replica's meta header genstamp equals
 * its map genstamp except while a rewrite stream is open on it. */
#ifndef DFS_DATANODE_BLOCKSTORE_H
#define DFS_DATANODE_BLOCKSTORE_H
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define DN_UUID_MAX 64
#define DN_CLUSTER_ID_MAX 128
#define DN_DIRS_MAX 64
#define DN_PATH_MAX 4096
/* How long a second writer waits for the first to finish with a replica. */
#define DN_WRITER_WAIT_MS 3000

enum dn_replica_state { DN_RS_RBW = 1, DN_RS_FINALIZED = 2 };

struct dn_replica {
	uint64_t id;
	uint64_t genstamp;
	uint64_t length;
	uint16_t dir;
	uint8_t state;   /* enum dn_replica_state */
	uint8_t writing; /* a dn_writer owns it */
	uint8_t corrupt; /* failed a checksum check: not served, kept until DELETE */
	uint8_t placing; /* durable in its dir's journal and acked, its files
			  * being written (replica_write.c): readers wait */
	uint32_t jgen;   /* made durable by its dir's journal in that checkpoint
			  * generation (journal.h; 0: by its own files) */
	uint64_t pending_gs; /* genstamp of a rewrite stream that ended early (0: none):
			      * a recovery stream may name it as prev_genstamp */
	struct dn_replica *next;
};

/* A copy of a replica's map entry, safe to use without the lock. */
struct dn_replica_info {
	uint64_t id, genstamp, length;
	int dir;
	int state;
	int writing;
	int corrupt;
};

struct dn_store {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char *dirs[DN_DIRS_MAX];
	size_t n_dirs;
	char uuid[DN_UUID_MAX];
	char cluster_id[DN_CLUSTER_ID_MAX]; /* "" until learnt */
	struct dn_replica **buckets;
	size_t n_buckets; /* power of two */
	size_t n_replicas;
	uint64_t bytes_used; /* sum of replica lengths */
	uint8_t dir_failed[DN_DIRS_MAX]; /* taken out of service (under lock) */
	size_t n_failed;
	uint64_t reserved_bytes; /* a dir with less free space takes no new replica */
	int direct_writes;       /* aligned packets go through O_DIRECT (replica_write.c) */
	size_t next_dir;         /* round-robin placement (under lock) */
	struct dn_journal *journal[DN_DIRS_MAX]; /* journal.h; NULL: turned off */
};

/* Opens the comma-separated data directories (created if missing), reads
 * or writes VERSION (a new random uuid on first start; every directory
 * must carry the same uuid), opens each directory's replica journal of
 * journal_bytes (journal.h; 0: none, and an old one is replayed and
 * removed) and scans the replicas. Returns 0 or a negative errno; on
 * error nothing is left allocated. */
int dn_store_open(struct dn_store *s, const char *data_dirs, uint64_t journal_bytes);
void dn_store_close(struct dn_store *s);

/* Records the cluster id learnt at registration in every VERSION file.
 * Returns 0 if it was unset (now stored) or equal, -EXDEV if the store
 * already belongs to another cluster. */
int dn_store_check_cluster(struct dn_store *s, const char *cluster_id);

/* Path of a replica's data file (meta: 0) or meta file (meta: 1). */
void dn_store_path(const struct dn_store *s, int dir, int state, uint64_t id, int meta,
		   char *out, size_t out_len);

/* Looks a replica up: 0 and *out, or -ENOENT. */
int dn_store_lookup(struct dn_store *s, uint64_t id, struct dn_replica_info *out);

/* Checks that a replica exists with exactly `genstamp` and opens its data
 * and meta files read-only. -ENOENT, -DFS_ESTALE when the genstamps
 * differ, -DFS_ECHECKSUM when it is marked corrupt. The caller closes
 * both fds. */
int dn_store_open_read(struct dn_store *s, uint64_t id, uint64_t genstamp,
		       struct dn_replica_info *out, int *data_fd, int *meta_fd);

/* Deletes a replica whose genstamp is <= genstamp and that no writer
 * holds. Returns 0 and the deleted entry in *out (may be NULL), -ENOENT,
 * -EBUSY (being written) or -DFS_ESTALE (replica is newer). */
int dn_store_delete(struct dn_store *s, uint64_t id, uint64_t genstamp, struct dn_replica_info *out);

/* Calls fn for every FINALIZED replica, with the lock held: fn must not
 * call back into the store. */
void dn_store_foreach(struct dn_store *s, void (*fn)(void *arg, const struct dn_replica_info *r),
		      void *arg);

/* Capacity and free space of the filesystems holding the data dirs (each
 * filesystem counted once) and the bytes held in replicas. */
void dn_store_space(struct dn_store *s, uint64_t *capacity, uint64_t *used, uint64_t *remaining);

/* Marks replica (id, genstamp) corrupt: 0 if newly marked, 1 if it was
 * already, -ENOENT if there is no such replica (or another genstamp). */
int dn_store_mark_corrupt(struct dn_store *s, uint64_t id, uint64_t genstamp);

/* Takes data dir `dir` out of service: no new replicas go there, and its
 * replicas leave the map (those being written stay until their writer
 * ends, which then fails). *lost (malloc'd, caller frees) gets the removed
 * replicas, *n_lost their count. Returns the number of dirs still in
 * service, or -EALREADY if dir was already failed. */
int dn_store_fail_dir(struct dn_store *s, int dir, struct dn_replica_info **lost,
		      size_t *n_lost);

/* 1 if dir is out of service. */
int dn_store_dir_failed(struct dn_store *s, int dir);

/* ---- used by replica_write.c (lock held by the caller: *_locked) ---- */
struct dn_replica *dn_store_find_locked(struct dn_store *s, uint64_t id);
int dn_store_insert_locked(struct dn_store *s, struct dn_replica *r);
void dn_store_remove_locked(struct dn_store *s, struct dn_replica *r);
/* Index of the next data dir (round robin) in service with more free
 * space than reserved_bytes, or -ENOSPC (none has room) / -EIO (none in
 * service). Lock held. */
int dn_store_pick_dir(struct dn_store *s);
/* mkdir -p the directory holding a FINALIZED replica's files (a directory
 * it creates is made durable). */
int dn_store_make_parent(const struct dn_store *s, int dir, uint64_t id);
/* The two levels under current/ of block id's directory (layout 2). */
void dn_store_leaf(uint64_t id, unsigned *mid, unsigned *leaf);
/* fsync of a directory. 0 or a negative errno. */
int dn_fsync_dir(const char *path);

#endif
