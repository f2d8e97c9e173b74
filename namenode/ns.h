/* ns.h: the namespace state machine of the namenode, kept in LevelDB.
 *
 * Key schema (all integers big-endian u64, so keys sort numerically):
 *   i/<ino>            -> u8 version (1) | be64 parent dir (dirs; 0 else) | packed Attr
 *   d/<parent>/<name>  -> be64 child ino | u8 FileType
 *   b/<ino>/<index>    -> packed BlockRef (block id, genstamp, recorded length)
 *   k/<block id>       -> be64 ino | be64 index (reverse map: block -> file)
 *   l/<ino>            -> symlink target bytes
 *   g/<ino>            -> "" : detached directory tree still being reclaimed
 *   x/<ino>            -> extended attributes of the inode, all in one record:
 *                         u8 version (1) | per attribute, in name order:
 *                         u8 name length | name | be32 value length | value
 *                         (no key when it has none; ns_xattr.c)
 *   r/..., q/...       -> the retry cache (ns_retry.c)
 *   m/<name>           -> meta: counters (be64), cluster id, layout version
 *   s/synced           -> group-commit marker (not part of the state)
 *   b0 d0 ... x0       -> "" : range-end sentinels (see ns_store.c)
 * Root directory: inode 1 (DFS_ROOT_INO).
 *
 * Contract: one thread owns a struct ns (the namenode event loop). Every
 * mutation goes through ns_apply() (ns_apply.c), which is deterministic:
 * the outcome depends only on the state and the command (ids come from the
 * counters in the state, time only from cmd->now_ns). Each applied command
 * is ONE LevelDB WriteBatch that also records the applied index, written
 * without sync; ns_sync() makes everything written so far durable.
 * Reads (ns_read.c) never write. */
#ifndef DFS_NAMENODE_NS_H
#define DFS_NAMENODE_NS_H
#include "common/proto/namenode.pb-c.h"

#include <leveldb/c.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#define NS_LAYOUT_VERSION 2
#define NS_NAME_MAX 255
#define NS_SYMLINK_MAX 4095
#define NS_PATH_DEPTH_MAX 4096   /* components walked in one path / ancestry */
#define NS_READDIR_MAX 10000     /* entries per readdir page, upper bound */
#define NS_READDIR_DEFAULT 1000
#define NS_GC_BUDGET 20000       /* keys reclaimed per DELETE/GC command */
#define NS_REPLICATION_MAX 16
#define NS_OVERLAY_MAX (1u << 22) /* keys one command stages with read-back */
/* Extended attributes (user.* only), per inode: */
#define NS_XATTR_NAME_MAX 255          /* bytes of a name, "user." included (ERANGE) */
#define NS_XATTR_VALUE_MAX 65536       /* bytes of one value (E2BIG) */
#define NS_XATTR_LIST_MAX 65536        /* names + their NULs, as listed (ENOSPC) */
#define NS_XATTR_TOTAL_MAX (128u << 10) /* the whole x/<ino> record (ENOSPC) */

/* Blocks the leader allocates without a log entry (block_alloc.c) have an
 * id and genstamps of (term << NS_UNRECORDED_SHIFT) | n, term >= 1: unique
 * because a node leads a term at most once, above every id and genstamp
 * the namespace counters hand out. COMPLETE records such a block. */
#define NS_UNRECORDED_SHIFT 40
#define NS_UNRECORDED_ID_MIN (1ull << NS_UNRECORDED_SHIFT)

/* Internal command (never on the wire as a request): reclaim a bounded part
 * of the detached trees left by a recursive DELETE. Issued by the server
 * while ns_gc_pending() is true. */
#define NS_M_GC 120

struct ns_counters {
	uint64_t next_ino;
	uint64_t next_block;
	uint64_t next_gs;
	uint64_t applied;
	uint64_t inodes;  /* live inodes, root included */
	uint64_t blocks;  /* live blocks */
	uint64_t garbage; /* detached trees not yet reclaimed */
};

/* A block whose replicas must be deleted (freed by a mutation). */
struct ns_freed {
	uint64_t block_id;
	uint64_t genstamp;
};

/* Longest retry-cache expiry key: "q/" + be64 time + u8 length + client id
 * (at most 64 bytes) + be64 seq. */
#define NS_RETRY_QKEY_MAX 96

/* Capture of what one command wrote (ns_effects.c). */
struct ns_effects {
	uint8_t *buf;
	size_t len, cap;
	bool on;  /* capturing */
	bool bad; /* too big, out of memory or a failed write: not usable */
	/* A follower's run of entries applied from effects, not yet written
	 * (ns_apply_effects puts them here; ns_effects_flush writes them as
	 * one WriteBatch). NULL: nothing pending. */
	leveldb_writebatch_t *pending;
};
#define NS_EFFECTS_MAX (4u << 20)

struct ns {
	leveldb_t *db;
	leveldb_options_t *opts;
	leveldb_readoptions_t *ropts;
	leveldb_writeoptions_t *wopts;      /* sync = 0 */
	leveldb_writeoptions_t *wopts_sync; /* sync = 1 */
	leveldb_cache_t *cache;
	leveldb_filterpolicy_t *filter;
	struct ns_counters c;
	char cluster_id[64];
	/* Blocks freed by the commands applied since the owner last emptied
	 * this list (the block manager consumes it; ns_freed_clear()). */
	struct ns_freed *freed;
	size_t n_freed, cap_freed;
	/* Genstamp a block had before the last OPEN_BLOCK applied. */
	uint64_t last_prev_genstamp;
	/* Retry-cache expiry hint (ns_retry.c): no q/ key sorts before this
	 * one (length 0: nothing known, seek from "q/"). */
	char retry_floor[NS_RETRY_QKEY_MAX];
	size_t retry_floor_len;
	/* ... and no q/ key is older than this (if retry_oldest_known) */
	int64_t retry_oldest;
	bool retry_oldest_known;
	struct ns_cache *rec_cache; /* committed inode/dirent records (ns_cache.c) */
	struct ns_effects fx;
};

/* ---- ns_store.c ---- */

/* Creates a new namespace in dir: cluster id, root directory (mode 0755,
 * owner root_uid:root_gid, times now_ns). Without force: -EEXIST if dir
 * already holds a namespace, -ENOTEMPTY if it holds anything else; force
 * wipes the LevelDB files there. cluster_id: NUL-terminated, < 64 bytes. */
int ns_format(const char *dir, const char *cluster_id, int64_t now_ns, uint32_t root_uid,
	      uint32_t root_gid, int force);

/* Opens the namespace in dir. -DFS_ENOTFORMATTED if dir holds none (or
 * not one of ours), -EIO with details logged on LevelDB errors. *out is
 * freed by ns_close(). */
int ns_open(const char *dir, struct ns **out);
void ns_close(struct ns *ns);

/* Makes every write so far durable (one synced write). 0 or -EIO. */
int ns_sync(struct ns *ns);

/* True when detached trees wait for NS_M_GC commands. */
static inline int ns_gc_pending(const struct ns *ns) { return ns->c.garbage > 0; }
void ns_freed_clear(struct ns *ns);
/* Appends to ns->freed. 0 or -ENOMEM. */
int ns_freed_add(struct ns *ns, const struct ns_freed *f, size_t n);

/* Visits every key/value in key order (tests: state dumps). Stops when
 * fn returns non-zero and returns that value. */
int ns_foreach(struct ns *ns, int (*fn)(void *arg, const char *k, size_t kl, const char *v,
					size_t vl),
	       void *arg);

/* ---- ns_apply.c ---- */

/* Applies one mutation (cmd->method: a DFS_M_* mutation or NS_M_GC) as
 * one WriteBatch that records `index` as the applied index. reply must be
 * initialised (dfs__ns_reply__init); apply fills status, attr, block.
 * Returns reply->status. A failed command writes nothing but the applied
 * index. -EIO if LevelDB failed (the state is then unchanged). */
int ns_apply(struct ns *ns, const Dfs__NsCommand *cmd, uint64_t index, Dfs__NsReply *reply);

/* ---- ns_effects.c ----
 * The effects of a command: every write its ns_apply made, the blocks it
 * freed and the counters, as bytes. A node whose state is the one the
 * command was applied to (the same log prefix) gets the very state
 * ns_apply would give from ns_apply_effects, without running it. */
void ns_effects_begin(struct ns *ns);
/* 0 with the effects since ns_effects_begin (valid until the next begin),
 * -ENODATA if there are none or they could not be kept. Ends capture. */
int ns_effects_end(struct ns *ns, const uint8_t **buf, size_t *len);
/* Applies effects recorded for log entry `index`. -DFS_EPROTOCOL if they
 * are damaged or not for that index (nothing written), -ENOMEM.
 * The counters and the record cache change at once, but the writes wait
 * in one WriteBatch for ns_effects_flush, so that a run of entries costs
 * one LevelDB write: the caller flushes before anything reads LevelDB
 * (a command, a snapshot, a read) and before it tells anyone the entries
 * are applied. */
int ns_apply_effects(struct ns *ns, const uint8_t *buf, size_t len, uint64_t index);
/* Writes what ns_apply_effects left pending: 0 (also when nothing is) or
 * -EIO, after which the state in memory is ahead of LevelDB: the caller
 * must stop (the WAL replays the entries on restart). */
int ns_effects_flush(struct ns *ns);

/* True for the methods that must go through ns_apply. */
int ns_is_mutation(uint32_t method);

/* ---- ns_read.c ---- */

/* Serves a read-only method (LOOKUP, GETATTR, READDIR, READLINK,
 * GET_BLOCKS without locations, STATFS namespace part, GETXATTR,
 * LISTXATTR). Returns status. */
int ns_read(struct ns *ns, uint32_t method, const Dfs__NsRequest *req, Dfs__NsReply *reply);

/* Namespace view of a block for the block manager: its current genstamp,
 * recorded length and the replication of its file. -ENOENT: not in the
 * namespace (an orphan). */
int ns_block_info(struct ns *ns, uint64_t block_id, uint64_t *genstamp, uint64_t *length,
		  uint32_t *replication);

/* The file of a block allocation (ADD_BLOCK, or OPEN_BLOCK of a block not
 * recorded yet) without a log entry: req->ino names a regular file the
 * caller may write or owns (as for the recorded ADD_BLOCK); its attributes
 * go into reply->attr. Returns status. */
int ns_read_written_file(struct ns *ns, const Dfs__NsRequest *req, Dfs__NsReply *reply);

/* Attaches a located block (index, a copy of b, no locations) to reply. */
int ns_reply_block(Dfs__NsReply *r, uint64_t index, const Dfs__BlockRef *b);

/* Frees what apply/read attached to reply and re-initialises it. */
void ns_reply_clear(Dfs__NsReply *reply);

#endif
