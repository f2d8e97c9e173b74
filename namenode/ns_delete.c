/* ns_delete.c: removing entries: UNLINK, RMDIR, DELETE (recursive) and the
 * reclaiming of detached trees (NS_M_GC).
 *
 * A recursive DELETE detaches the directory from its parent atomically (the
 * reply is final: the tree is gone from the namespace at once) and reclaims
 * up to NS_GC_BUDGET keys of it in the same batch. What remains is listed
 * under g/<ino> and reclaimed by later NS_M_GC commands, each a bounded
 * batch, so a tree of millions never needs one huge WriteBatch. */
#include "namenode/ns_txn.h"

#include "common/errors.h"

#include <string.h>

#define NS_GC_DEPTH_MAX 32 /* recursion within one batch; deeper: g/ roots */

int ns_drop_link(struct ns_txn *t, struct ns_inode *in)
{
	struct ns_key k;
	if (in->a.nlink > 0)
		in->a.nlink--;
	in->a.ctime_ns = t->now;
	if (in->a.nlink > 0) {
		ns_inode_put(t, in);
		return t->err;
	}
	int rc = 0;
	if (in->a.type == DFS__FILE_TYPE__FT_REG)
		rc = ns_blocks_free_from(t, in->a.ino, 0);
	if (in->a.type == DFS__FILE_TYPE__FT_LNK) {
		ns_key_link(&k, in->a.ino);
		ns_txn_del(t, &k);
	}
	ns_xattr_drop(t, in->a.ino);
	ns_key_inode(&k, in->a.ino);
	ns_txn_del(t, &k);
	if (t->c.inodes > 0)
		t->c.inodes--;
	return rc < 0 ? rc : t->err;
}

static void drop_dir_inode(struct ns_txn *t, uint64_t dir)
{
	struct ns_key k;
	ns_key_inode(&k, dir);
	ns_txn_del(t, &k);
	ns_xattr_drop(t, dir);
	if (t->c.inodes > 0)
		t->c.inodes--;
}

/* Lists dir as a detached tree still to reclaim. Its nlink becomes 0, so
 * nothing can be created in it any more through its inode number. */
static void add_garbage(struct ns_txn *t, uint64_t dir)
{
	struct ns_key k;
	struct ns_inode in;
	if (ns_inode_get(t, dir, &in) == 0) {
		in.a.nlink = 0;
		in.a.ctime_ns = t->now;
		ns_inode_put(t, &in);
	}
	ns_key_garbage(&k, dir);
	ns_txn_put(t, &k, "", 0);
	t->c.garbage++;
}

/* One entry of a detached directory. */
static int gc_entry(struct ns_txn *t, uint64_t child, uint32_t type, long *budget, int depth)
{
	if (type == DFS__FILE_TYPE__FT_DIR) {
		int rc = depth < NS_GC_DEPTH_MAX ? ns_gc_dir(t, child, budget, depth + 1) : 0;
		if (rc == 0)
			add_garbage(t, child);
		return rc < 0 ? rc : 0;
	}
	struct ns_inode in;
	int rc = ns_inode_get(t, child, &in);
	(*budget)--;
	if (rc == -ENOENT)
		return 0;
	return rc < 0 ? rc : ns_drop_link(t, &in);
}

int ns_gc_dir(struct ns_txn *t, uint64_t dir, long *budget, int depth)
{
	struct ns_key pre;
	ns_key_dir_prefix(&pre, dir);
	leveldb_iterator_t *it = leveldb_create_iterator(t->ns->db, t->ns->ropts);
	int rc = 1;
	for (leveldb_iter_seek(it, pre.b, pre.len); leveldb_iter_valid(it); leveldb_iter_next(it)) {
		size_t kl, vl;
		const char *key = leveldb_iter_key(it, &kl);
		if (kl < pre.len || kl > NS_KEY_MAX || memcmp(key, pre.b, pre.len) != 0)
			break;
		if (*budget <= 0) {
			rc = 0;
			break;
		}
		const char *v = leveldb_iter_value(it, &vl);
		if (vl != 9) {
			rc = -EIO;
			break;
		}
		struct ns_key k = {.len = kl};
		memcpy(k.b, key, kl);
		ns_txn_del_blind(t, &k);
		(*budget)--;
		rc = gc_entry(t, ns_get_be64(v), (uint8_t)v[8], budget, depth);
		if (rc < 0)
			break;
		rc = 1;
	}
	leveldb_iter_destroy(it);
	if (rc == 1) {
		drop_dir_inode(t, dir);
		(*budget)--;
	}
	return rc < 0 ? rc : (t->err < 0 ? t->err : rc);
}

int ns_op_gc(struct ns_txn *t, const Dfs__NsRequest *req, const struct ns_cred *cr,
	     Dfs__NsReply *r)
{
	struct ns_key pre;
	ns_key_garbage(&pre, 0);
	pre.len = 2; /* "g/" */
	long budget = NS_GC_BUDGET;
	leveldb_iterator_t *it = leveldb_create_iterator(t->ns->db, t->ns->ropts);
	int rc = 0, seen = 0;
	for (leveldb_iter_seek(it, pre.b, pre.len); leveldb_iter_valid(it) && budget > 0;
	     leveldb_iter_next(it)) {
		size_t kl;
		const char *key = leveldb_iter_key(it, &kl);
		if (kl != 10 || memcmp(key, pre.b, pre.len) != 0)
			break;
		seen++;
		uint64_t dir = ns_get_be64(key + 2);
		rc = ns_gc_dir(t, dir, &budget, 0);
		if (rc < 0)
			break;
		if (rc == 1) {
			struct ns_key k;
			ns_key_garbage(&k, dir);
			ns_txn_del(t, &k);
			if (t->c.garbage > 0)
				t->c.garbage--;
		}
		rc = 0;
	}
	leveldb_iter_destroy(it);
	if (rc == 0 && seen == 0)
		t->c.garbage = 0; /* counter repair: nothing is left */
	return rc;
}

/* Resolves an existing, removable entry and checks the parent permission. */
static int removable(struct ns_txn *t, const Dfs__NsRequest *req, const struct ns_cred *cr,
		     struct ns_ent *e)
{
	int rc = ns_resolve_ent(t, cr, req, false, e);
	if (rc < 0)
		return rc;
	if (e->is_root)
		return -EBUSY;
	if (!e->exists)
		return -ENOENT;
	return ns_perm(cr, &e->pdir.a, NS_W | NS_X);
}

/* Removes the entry from its parent; dir: nlink of the parent too. */
static void detach(struct ns_txn *t, struct ns_ent *e)
{
	ns_dirent_del(t, e->parent, e->name);
	if (e->in.a.type == DFS__FILE_TYPE__FT_DIR && e->pdir.a.nlink > 2)
		e->pdir.a.nlink--;
	e->pdir.a.mtime_ns = e->pdir.a.ctime_ns = t->now;
	ns_inode_put(t, &e->pdir);
}

int ns_op_unlink(struct ns_txn *t, const Dfs__NsRequest *req, const struct ns_cred *cr,
		 Dfs__NsReply *r)
{
	struct ns_ent e;
	int rc = removable(t, req, cr, &e);
	if (rc == -EBUSY)
		return -EISDIR;
	if (rc < 0)
		return rc;
	if (e.in.a.type == DFS__FILE_TYPE__FT_DIR)
		return -EISDIR;
	detach(t, &e);
	ns_reply_dir(r, &e.pdir.a, false);
	return ns_drop_link(t, &e.in);
}

int ns_op_rmdir(struct ns_txn *t, const Dfs__NsRequest *req, const struct ns_cred *cr,
		Dfs__NsReply *r)
{
	struct ns_ent e;
	int rc = removable(t, req, cr, &e);
	if (rc < 0)
		return rc;
	if (e.in.a.type != DFS__FILE_TYPE__FT_DIR)
		return -ENOTDIR;
	if ((rc = ns_dir_nonempty(t, e.ino)) != 0)
		return rc < 0 ? rc : -ENOTEMPTY;
	detach(t, &e);
	drop_dir_inode(t, e.ino);
	ns_reply_dir(r, &e.pdir.a, false);
	return t->err;
}

int ns_op_delete(struct ns_txn *t, const Dfs__NsRequest *req, const struct ns_cred *cr,
		 Dfs__NsReply *r)
{
	struct ns_ent e;
	int rc = removable(t, req, cr, &e);
	if (rc < 0)
		return rc;
	if (e.in.a.type != DFS__FILE_TYPE__FT_DIR) {
		detach(t, &e);
		return ns_drop_link(t, &e.in);
	}
	if ((rc = ns_dir_nonempty(t, e.ino)) < 0)
		return rc;
	if (rc && !(req->flags & DFS__NS_FLAG__NSF_RECURSIVE))
		return -ENOTEMPTY;
	detach(t, &e);
	long budget = NS_GC_BUDGET;
	rc = ns_gc_dir(t, e.ino, &budget, 0);
	if (rc == 0)
		add_garbage(t, e.ino);
	return rc < 0 ? rc : t->err;
}
