/* ns_txn.h: internals shared by the namespace files: key encoding, the
 * transaction (a WriteBatch plus an overlay so that a command reads back
 * what it wrote), inode/dirent/block records, path resolution and
 * permission checks. Same thread contract as ns.h. */
#ifndef DFS_NAMENODE_NS_TXN_H
#define DFS_NAMENODE_NS_TXN_H
#include "namenode/ns.h"

#include <stdbool.h>

#define NS_KEY_MAX (2 + 8 + 1 + NS_NAME_MAX + 1)

struct ns_key {
	char b[NS_KEY_MAX];
	size_t len;
};

void ns_key_inode(struct ns_key *k, uint64_t ino);
void ns_key_dirent(struct ns_key *k, uint64_t parent, const char *name);
void ns_key_dir_prefix(struct ns_key *k, uint64_t parent); /* "d/<parent>/" */
void ns_key_block(struct ns_key *k, uint64_t ino, uint64_t index);
void ns_key_block_prefix(struct ns_key *k, uint64_t ino);  /* "b/<ino>/" */
void ns_key_blkidx(struct ns_key *k, uint64_t block_id);
void ns_key_link(struct ns_key *k, uint64_t ino);
void ns_key_garbage(struct ns_key *k, uint64_t ino);
void ns_put_be64(char *p, uint64_t v);
/* FNV-1a of a key: the overlay's and the record cache's tables. */
uint32_t ns_key_hash(const char *k, size_t n);
uint64_t ns_get_be64(const char *p);

struct ns_ov {            /* one overlay entry */
	char *key;
	size_t klen;
	char *val;        /* NULL: deleted */
	size_t vlen;
};

/* A command in progress (or a read: wb == NULL). */
struct ns_txn {
	struct ns *ns;
	leveldb_writebatch_t *wb;
	struct ns_counters c;
	struct ns_ov *ov; /* entries, in insertion order */
	size_t n_ov;
	uint32_t *slots;  /* open-addressing hash: entry index + 1, 0 = empty */
	size_t n_slots;
	struct ns_freed *freed;
	size_t n_freed, cap_freed;
	leveldb_iterator_t *aux_it; /* reused by ns_blocks_free_from (the DB does
				     * not change while a command runs) */
	int64_t now;
	int err; /* sticky: -ENOMEM / -EIO met while writing */
	/* ns->retry_floor once committed: 0 keep, 1 set to retry_floor,
	 * -1 reset (a key went in below it) */
	int retry_floor_op;
	char retry_floor[NS_RETRY_QKEY_MAX];
	size_t retry_floor_len;
	/* ns->retry_oldest once committed: 0 keep, 1 set, -1 unknown; and
	 * whether this command recorded an entry (dated t->now) */
	int retry_oldest_op;
	int64_t retry_oldest;
	bool retry_recorded;
	bool rec_cache_flush; /* a blind delete hit a cached kind of key */
};

void ns_txn_begin(struct ns_txn *t, struct ns *ns, int64_t now, bool write);
/* Commits (writes counters + applied index + everything put). */
int ns_txn_commit(struct ns_txn *t, uint64_t index);
void ns_txn_end(struct ns_txn *t); /* frees; discards if not committed */

/* 0 with *val (malloc'd, free()) / -ENOENT / -EIO. */
int ns_txn_get(struct ns_txn *t, const struct ns_key *k, char **val, size_t *vlen);
void ns_txn_put(struct ns_txn *t, const struct ns_key *k, const void *v, size_t vlen);
void ns_txn_del(struct ns_txn *t, const struct ns_key *k);
/* Deletes without recording in the overlay (the command never reads it
 * back): for bulk deletes. */
void ns_txn_del_blind(struct ns_txn *t, const struct ns_key *k);
int ns_txn_free_block(struct ns_txn *t, uint64_t block_id, uint64_t genstamp);

/* One LevelDB write (synced or not); logs a failure. 0 or -EIO. */
int ns_db_write(struct ns *ns, leveldb_writebatch_t *wb, bool sync);

/* ---- ns_effects.c: capture, called by ns_txn_commit ---- */
void ns_effects_note_commit(struct ns *ns, leveldb_writebatch_t *wb, const struct ns_freed *freed,
			    size_t n_freed);
void ns_effects_fail(struct ns *ns);

/* ---- ns_cache.c: committed inode and dirent records in memory ---- */
int ns_cache_create(struct ns *ns);
void ns_cache_destroy(struct ns *ns);
void ns_cache_clear(struct ns *ns);
/* True for the keys the cache keeps (short inode and dirent keys). */
bool ns_cache_holds(const char *k, size_t kl);
/* 0 with *val (malloc'd), -ENOENT (known absent), 1 not cached, -ENOMEM. */
int ns_cache_get(struct ns *ns, const char *k, size_t kl, char **val, size_t *vl);
/* Records what LevelDB now holds for k (v NULL: nothing). */
void ns_cache_put(struct ns *ns, const char *k, size_t kl, const char *v, size_t vl);
struct ns_inode;
/* The same for inode records, decoded: 0 with *out, -ENOENT, 1 not cached. */
int ns_cache_get_inode(struct ns *ns, const char *k, size_t kl, struct ns_inode *out);
/* Adds the decoded form to k's cached record (no-op if it is not cached). */
void ns_cache_put_inode(struct ns *ns, const char *k, size_t kl, const struct ns_inode *in);
/* True if t has written or deleted k (reads of k come from t). */
bool ns_txn_staged(struct ns_txn *t, const struct ns_key *k);

/* ---- records ---- */

struct ns_inode {
	Dfs__Attr a;     /* scalars only */
	uint64_t parent; /* directories: containing directory */
};

int ns_inode_get(struct ns_txn *t, uint64_t ino, struct ns_inode *out);
void ns_inode_put(struct ns_txn *t, const struct ns_inode *in);
/* 0 with *ino (and *type) / -ENOENT / -EIO. */
int ns_dirent_get(struct ns_txn *t, uint64_t parent, const char *name, uint64_t *ino,
		  uint32_t *type);
void ns_dirent_put(struct ns_txn *t, uint64_t parent, const char *name, uint64_t ino,
		   uint32_t type);
void ns_dirent_del(struct ns_txn *t, uint64_t parent, const char *name);
/* 1 if the directory has entries, 0 if empty, <0 on error (DB only). */
int ns_dir_nonempty(struct ns_txn *t, uint64_t dir);
int ns_block_get(struct ns_txn *t, uint64_t ino, uint64_t index, Dfs__BlockRef *out);
void ns_block_put(struct ns_txn *t, uint64_t ino, uint64_t index, const Dfs__BlockRef *b);
/* Frees the blocks of ino with index >= from (DB view). */
int ns_blocks_free_from(struct ns_txn *t, uint64_t ino, uint64_t from);

/* ---- names, paths, permissions (ns_path.c) ---- */

struct ns_cred {
	bool check; /* false: no permission checks (no caller given) */
	uint32_t uid, gid;
	const uint32_t *groups;
	size_t ngroups;
};

#define NS_R 4
#define NS_W 2
#define NS_X 1

void ns_cred_from_req(struct ns_cred *cr, const Dfs__NsRequest *req);
/* The file of a writer's block call (ADD_BLOCK, OPEN_BLOCK, COMPLETE): a
 * regular file the caller may write or owns (ns_modify.c). */
int ns_written_file(struct ns_txn *t, const Dfs__NsRequest *req, const struct ns_cred *cr,
		    struct ns_inode *in);
int ns_perm(const struct ns_cred *cr, const Dfs__Attr *a, int want);
bool ns_cred_in_group(const struct ns_cred *cr, uint32_t gid);
/* 0, -EINVAL (empty, ".", "..", '/'), -ENAMETOOLONG. */
int ns_check_name(const char *name, size_t len);

/* An entry named by (parent dir, name). */
struct ns_ent {
	bool is_root;
	uint64_t parent;
	struct ns_inode pdir;
	char name[NS_NAME_MAX + 1];
	bool exists;
	uint64_t ino;
	struct ns_inode in; /* valid if exists */
};

/* Resolves an absolute path to its inode (search permission on every
 * directory on the way). */
int ns_resolve_path(struct ns_txn *t, const struct ns_cred *cr, const char *path,
		    struct ns_inode *out);
/* Resolves the entry named by path, or by parent+name. second = use the
 * destination fields (target / new_parent + new_name). The parent must
 * exist and be a directory; the entry itself may not exist. */
int ns_resolve_ent(struct ns_txn *t, const struct ns_cred *cr, const Dfs__NsRequest *req,
		   bool second, struct ns_ent *e);
/* Resolves the inode named by ino or path. */
int ns_resolve_inode(struct ns_txn *t, const struct ns_cred *cr, const Dfs__NsRequest *req,
		     struct ns_inode *out);

/* Reply helpers: attach a copy of the attributes / a located block. */
int ns_reply_attr(Dfs__NsReply *r, const Dfs__Attr *a);
/* The changed directory (or rename's destination: NsReply.new_dir_attr).
 * Optional for the client: a failed allocation leaves it out, and never
 * fails the command (every node must apply it alike). */
void ns_reply_dir(Dfs__NsReply *r, const Dfs__Attr *dir, bool new_dir);
/* (ns_reply_block is in ns.h: block_alloc.c builds replies too.) */

/* ---- ns_delete.c ---- */

/* Drops one link to a non-directory inode; frees it (and its blocks) at
 * nlink 0. in is updated. */
int ns_drop_link(struct ns_txn *t, struct ns_inode *in);
/* Reclaims the tree below dir (detached) within *budget keys; 1 if done
 * (dir's own inode removed too), 0 if more remains, <0 on error. */
int ns_gc_dir(struct ns_txn *t, uint64_t dir, long *budget, int depth);

/* ---- ns_retry.c: the retry cache ---- */
/* 1 with reply filled if req (client_id, seq) was applied before, 0 if
 * not (or untagged), < 0 on error. */
int ns_retry_lookup(struct ns_txn *t, const Dfs__NsRequest *req, Dfs__NsReply *reply);
/* Stages the reply of a tagged request; no-op for an untagged one. */
void ns_retry_record(struct ns_txn *t, const Dfs__NsRequest *req, const Dfs__NsReply *reply);
/* Stages the removal of a few entries older than the keep time. */
void ns_retry_expire(struct ns_txn *t);
/* Called by ns_txn_commit once t is written: moves the expiry hints. */
void ns_retry_commit(struct ns_txn *t);

/* ---- operations (ns_apply.c, ns_modify.c, ns_delete.c, ns_rename.c) ----
 * Each validates against the state and stages its writes in t; returns 0
 * or a negative errno (then nothing staged is written). */
typedef int ns_op_fn(struct ns_txn *t, const Dfs__NsRequest *req, const struct ns_cred *cr,
		     Dfs__NsReply *r);
ns_op_fn ns_op_mkdir, ns_op_create, ns_op_mknod, ns_op_symlink, ns_op_link;
ns_op_fn ns_op_setattr, ns_op_setrep, ns_op_add_block, ns_op_open_block, ns_op_complete;
ns_op_fn ns_op_unlink, ns_op_rmdir, ns_op_delete, ns_op_gc, ns_op_rename;

/* ---- ns_xattr.c: extended attributes (x/<ino>, see there) ---- */
void ns_key_xattr(struct ns_key *k, uint64_t ino);
/* Stages the removal of ino's extended attributes, if it has any (with
 * its inode). A read error goes to t->err. */
void ns_xattr_drop(struct ns_txn *t, uint64_t ino);
/* Frees reply->xattrs (ns_reply_clear). */
void ns_xattr_reply_clear(Dfs__NsReply *r);
/* SETXATTR, REMOVEXATTR (mutations) and GETXATTR, LISTXATTR (reads,
 * wb == NULL): same contract as the operations above. */
ns_op_fn ns_op_setxattr, ns_op_removexattr, ns_read_getxattr, ns_read_listxattr;

#endif
