/* ns_apply.c: the one deterministic entry point of namespace mutations
 * (ns_apply) and the operations that make new entries: MKDIR, CREATE,
 * MKNOD, SYMLINK, LINK. Nothing here reads a clock, draws random numbers or
 * looks at soft state: time is cmd->now_ns, ids come from the counters. */
#include "namenode/ns_decom.h"
#include "namenode/ns_txn.h"

#include "common/errors.h"
#include "common/frame.h"
#include "common/log.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define NS_DEFAULT_REPLICATION 3
#define NS_DEFAULT_BLOCK_SIZE (64ull << 20)

/* Makes a new inode named e->name in directory e->pdir (which is updated).
 * *out comes in with the fields of its type set (replication and block
 * size, rdev, a symlink's size) and is stored once, whole. */
static int make_inode(struct ns_txn *t, struct ns_ent *e, const Dfs__NsRequest *req,
		      const struct ns_cred *cr, uint32_t type, uint32_t mode,
		      struct ns_inode *out)
{
	struct ns_inode in = *out;
	in.a.ino = t->c.next_ino++;
	t->c.inodes++;
	in.a.type = type;
	in.a.mode = mode & 07777;
	in.a.uid = req->has_uid ? req->uid : cr->uid;
	in.a.gid = req->has_gid ? req->gid : cr->gid;
	if (!req->has_gid && (e->pdir.a.mode & S_ISGID))
		in.a.gid = e->pdir.a.gid;
	in.a.nlink = type == DFS__FILE_TYPE__FT_DIR ? 2 : 1;
	in.a.atime_ns = in.a.mtime_ns = in.a.ctime_ns = t->now;
	if (type == DFS__FILE_TYPE__FT_DIR) {
		in.parent = e->parent;
		e->pdir.a.nlink++;
	}
	ns_inode_put(t, &in);
	ns_dirent_put(t, e->parent, e->name, in.a.ino, type);
	e->pdir.a.mtime_ns = e->pdir.a.ctime_ns = t->now;
	ns_inode_put(t, &e->pdir);
	*out = in;
	return t->err;
}

static int mkdir_parents(struct ns_txn *t, const Dfs__NsRequest *req, const struct ns_cred *cr,
			 Dfs__NsReply *r)
{
	struct ns_ent e;
	memset(&e, 0, sizeof(e));
	int rc = ns_inode_get(t, DFS_ROOT_INO, &e.in);
	const char *p = req->path;
	int depth = 0;
	while (rc == 0 && *p) {
		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		const char *end = strchrnul(p, '/');
		size_t len = (size_t)(end - p);
		if ((rc = ns_check_name(p, len)) < 0)
			return rc;
		if (++depth > NS_PATH_DEPTH_MAX)
			return -ELOOP;
		if (e.in.a.type != DFS__FILE_TYPE__FT_DIR)
			return -ENOTDIR;
		if ((rc = ns_perm(cr, &e.in.a, NS_X)) < 0)
			return rc;
		e.pdir = e.in;
		e.parent = e.in.a.ino;
		memcpy(e.name, p, len);
		e.name[len] = '\0';
		p = end;
		uint64_t ino;
		rc = ns_dirent_get(t, e.parent, e.name, &ino, NULL);
		if (rc == 0) {
			rc = ns_inode_get(t, ino, &e.in);
			continue;
		}
		if (rc != -ENOENT)
			return rc;
		if ((rc = ns_perm(cr, &e.pdir.a, NS_W | NS_X)) < 0)
			return rc;
		uint32_t mode = *p ? (req->mode | 0300) : req->mode;
		e.in = (struct ns_inode){.a = DFS__ATTR__INIT};
		rc = make_inode(t, &e, req, cr, DFS__FILE_TYPE__FT_DIR, mode, &e.in);
	}
	if (rc == 0 && e.in.a.type != DFS__FILE_TYPE__FT_DIR)
		return -EEXIST;
	return rc < 0 ? rc : ns_reply_attr(r, &e.in.a);
}

int ns_op_mkdir(struct ns_txn *t, const Dfs__NsRequest *req, const struct ns_cred *cr,
		Dfs__NsReply *r)
{
	bool parents = req->flags & DFS__NS_FLAG__NSF_PARENTS;
	if (parents && req->path && !req->has_parent)
		return mkdir_parents(t, req, cr, r);
	struct ns_ent e;
	int rc = ns_resolve_ent(t, cr, req, false, &e);
	if (rc < 0)
		return rc;
	if (e.exists) {
		if (parents && e.in.a.type == DFS__FILE_TYPE__FT_DIR)
			return ns_reply_attr(r, &e.in.a);
		return -EEXIST;
	}
	if ((rc = ns_perm(cr, &e.pdir.a, NS_W | NS_X)) < 0)
		return rc;
	struct ns_inode in = {.a = DFS__ATTR__INIT};
	rc = make_inode(t, &e, req, cr, DFS__FILE_TYPE__FT_DIR, req->mode, &in);
	if (rc < 0)
		return rc;
	ns_reply_dir(r, &e.pdir.a, false);
	return ns_reply_attr(r, &in.a);
}

static int truncate_to_zero(struct ns_txn *t, struct ns_inode *in)
{
	int rc = ns_blocks_free_from(t, in->a.ino, 0);
	in->a.size = 0;
	in->a.mtime_ns = in->a.ctime_ns = t->now;
	ns_inode_put(t, in);
	return rc < 0 ? rc : t->err;
}

int ns_op_create(struct ns_txn *t, const Dfs__NsRequest *req, const struct ns_cred *cr,
		 Dfs__NsReply *r)
{
	struct ns_ent e;
	int rc = ns_resolve_ent(t, cr, req, false, &e);
	if (rc < 0)
		return rc;
	if (e.exists) {
		if (req->flags & DFS__NS_FLAG__NSF_EXCL)
			return -EEXIST;
		if (e.in.a.type == DFS__FILE_TYPE__FT_DIR)
			return -EISDIR;
		if ((req->flags & DFS__NS_FLAG__NSF_OVERWRITE) &&
		    e.in.a.type == DFS__FILE_TYPE__FT_REG) {
			if ((rc = ns_perm(cr, &e.in.a, NS_W)) < 0)
				return rc;
			if ((rc = truncate_to_zero(t, &e.in)) < 0)
				return rc;
		}
		return ns_reply_attr(r, &e.in.a);
	}
	uint32_t rep = req->has_replication && req->replication ? req->replication
								 : NS_DEFAULT_REPLICATION;
	uint64_t bs = req->has_block_size && req->block_size ? req->block_size
							     : NS_DEFAULT_BLOCK_SIZE;
	if (rep > NS_REPLICATION_MAX)
		return -EINVAL;
	if ((rc = ns_perm(cr, &e.pdir.a, NS_W | NS_X)) < 0)
		return rc;
	struct ns_inode in = {.a = DFS__ATTR__INIT};
	in.a.replication = rep;
	in.a.block_size = bs;
	rc = make_inode(t, &e, req, cr, DFS__FILE_TYPE__FT_REG, req->mode, &in);
	if (rc < 0)
		return rc;
	ns_reply_dir(r, &e.pdir.a, false);
	return t->err < 0 ? t->err : ns_reply_attr(r, &in.a);
}

/* Resolves the name a new entry will take: it must not exist, and the
 * caller must be able to write and search its directory. */
static int resolve_new(struct ns_txn *t, const struct ns_cred *cr, const Dfs__NsRequest *req,
		       struct ns_ent *e)
{
	int rc = ns_resolve_ent(t, cr, req, false, e);
	if (rc < 0)
		return rc;
	if (e->exists)
		return -EEXIST;
	return ns_perm(cr, &e->pdir.a, NS_W | NS_X);
}

int ns_op_mknod(struct ns_txn *t, const Dfs__NsRequest *req, const struct ns_cred *cr,
		Dfs__NsReply *r)
{
	uint32_t type;
	switch (req->mode & S_IFMT) {
	case S_IFIFO: type = DFS__FILE_TYPE__FT_FIFO; break;
	case S_IFSOCK: type = DFS__FILE_TYPE__FT_SOCK; break;
	case S_IFCHR: type = DFS__FILE_TYPE__FT_CHR; break;
	case S_IFBLK: type = DFS__FILE_TYPE__FT_BLK; break;
	case 0:
	case S_IFREG: return ns_op_create(t, req, cr, r);
	default: return -EINVAL;
	}
	struct ns_ent e;
	int rc = resolve_new(t, cr, req, &e);
	if (rc < 0)
		return rc;
	struct ns_inode in = {.a = DFS__ATTR__INIT};
	if (type == DFS__FILE_TYPE__FT_CHR || type == DFS__FILE_TYPE__FT_BLK) {
		in.a.has_rdev = req->has_rdev;
		in.a.rdev = req->rdev;
	}
	if ((rc = make_inode(t, &e, req, cr, type, req->mode, &in)) < 0)
		return rc;
	ns_reply_dir(r, &e.pdir.a, false);
	return t->err < 0 ? t->err : ns_reply_attr(r, &in.a);
}

int ns_op_symlink(struct ns_txn *t, const Dfs__NsRequest *req, const struct ns_cred *cr,
		  Dfs__NsReply *r)
{
	if (!req->target || !req->target[0])
		return -EINVAL;
	size_t tl = strlen(req->target);
	if (tl > NS_SYMLINK_MAX)
		return -ENAMETOOLONG;
	struct ns_ent e;
	int rc = resolve_new(t, cr, req, &e);
	if (rc < 0)
		return rc;
	struct ns_inode in = {.a = DFS__ATTR__INIT};
	in.a.size = tl;
	if ((rc = make_inode(t, &e, req, cr, DFS__FILE_TYPE__FT_LNK, 0777, &in)) < 0)
		return rc;
	struct ns_key k;
	ns_key_link(&k, in.a.ino);
	ns_txn_put(t, &k, req->target, tl);
	ns_reply_dir(r, &e.pdir.a, false);
	return t->err < 0 ? t->err : ns_reply_attr(r, &in.a);
}

int ns_op_link(struct ns_txn *t, const Dfs__NsRequest *req, const struct ns_cred *cr,
	       Dfs__NsReply *r)
{
	struct ns_inode src;
	int rc = ns_resolve_inode(t, cr, req, &src);
	if (rc < 0)
		return rc;
	if (src.a.type == DFS__FILE_TYPE__FT_DIR)
		return -EPERM;
	struct ns_ent e;
	if ((rc = ns_resolve_ent(t, cr, req, true, &e)) < 0)
		return rc;
	if (e.exists)
		return -EEXIST;
	if ((rc = ns_perm(cr, &e.pdir.a, NS_W | NS_X)) < 0)
		return rc;
	src.a.nlink++;
	src.a.ctime_ns = t->now;
	ns_inode_put(t, &src);
	ns_dirent_put(t, e.parent, e.name, src.a.ino, src.a.type);
	e.pdir.a.mtime_ns = e.pdir.a.ctime_ns = t->now;
	ns_inode_put(t, &e.pdir);
	ns_reply_dir(r, &e.pdir.a, false);
	return t->err < 0 ? t->err : ns_reply_attr(r, &src.a);
}

int ns_is_mutation(uint32_t m)
{
	switch (m) {
	case DFS_M_MKDIR: case DFS_M_CREATE: case DFS_M_SETATTR: case DFS_M_RENAME:
	case DFS_M_UNLINK: case DFS_M_RMDIR: case DFS_M_DELETE: case DFS_M_SYMLINK:
	case DFS_M_LINK: case DFS_M_SETREP: case DFS_M_ADD_BLOCK: case DFS_M_OPEN_BLOCK:
	case DFS_M_COMPLETE: case DFS_M_MKNOD: case NS_M_GC:
	case DFS_M_DECOMMISSION: case DFS_M_SETXATTR: case DFS_M_REMOVEXATTR:
		return 1;
	default:
		return 0;
	}
}

static ns_op_fn *op_for(uint32_t m)
{
	switch (m) {
	case DFS_M_MKDIR: return ns_op_mkdir;
	case DFS_M_CREATE: return ns_op_create;
	case DFS_M_SETATTR: return ns_op_setattr;
	case DFS_M_RENAME: return ns_op_rename;
	case DFS_M_UNLINK: return ns_op_unlink;
	case DFS_M_RMDIR: return ns_op_rmdir;
	case DFS_M_DELETE: return ns_op_delete;
	case DFS_M_SYMLINK: return ns_op_symlink;
	case DFS_M_LINK: return ns_op_link;
	case DFS_M_SETREP: return ns_op_setrep;
	case DFS_M_ADD_BLOCK: return ns_op_add_block;
	case DFS_M_OPEN_BLOCK: return ns_op_open_block;
	case DFS_M_COMPLETE: return ns_op_complete;
	case DFS_M_MKNOD: return ns_op_mknod;
	case NS_M_GC: return ns_op_gc;
	case DFS_M_DECOMMISSION: return ns_op_decommission;
	case DFS_M_SETXATTR: return ns_op_setxattr;
	case DFS_M_REMOVEXATTR: return ns_op_removexattr;
	default: return NULL;
	}
}

/* Records the applied index of a command that changed nothing: one that
 * failed (cmd given: its failure is recorded for a retry too) or a retry
 * answered from the cache (cmd NULL). */
static int record_failure(struct ns *ns, const Dfs__NsCommand *cmd, uint64_t index, int status)
{
	struct ns_txn t;
	Dfs__NsReply r = DFS__NS_REPLY__INIT;
	r.status = status;
	ns_txn_begin(&t, ns, cmd ? cmd->now_ns : 0, true);
	if (cmd && cmd->req && ns_is_mutation(cmd->method)) {
		ns_retry_record(&t, cmd->req, &r);
		ns_retry_expire(&t);
	}
	int rc = ns_txn_commit(&t, index);
	ns_txn_end(&t);
	return rc;
}

/* Runs the operation in t; 1 if the retry cache answered instead. */
static int run_op(struct ns_txn *t, const Dfs__NsCommand *cmd, Dfs__NsReply *reply)
{
	ns_op_fn *op = op_for(cmd->method);
	struct ns_cred cr;
	if (!op)
		return -EINVAL;
	int rc = ns_retry_lookup(t, cmd->req, reply);
	if (rc != 0)
		return rc;
	ns_cred_from_req(&cr, cmd->req);
	rc = op(t, cmd->req, &cr, reply);
	if (rc == 0) {
		ns_retry_record(t, cmd->req, reply);
		ns_retry_expire(t);
	}
	return rc;
}

int ns_apply(struct ns *ns, const Dfs__NsCommand *cmd, uint64_t index, Dfs__NsReply *reply)
{
	struct ns_txn t;
	if (!cmd->req) {
		reply->status = -DFS_EPROTOCOL;
		return record_failure(ns, cmd, index, reply->status) < 0 ? -EIO : reply->status;
	}
	ns_txn_begin(&t, ns, cmd->now_ns, true);
	int rc = run_op(&t, cmd, reply);
	if (rc == 1) { /* a retry: answered from the cache, nothing applied */
		ns_txn_end(&t);
		rc = reply->status;
		if (record_failure(ns, NULL, index, 0) < 0)
			rc = -EIO;
		return reply->status = rc;
	}
	if (rc == 0)
		rc = ns_txn_commit(&t, index);
	ns_txn_end(&t);
	if (rc < 0) {
		ns_reply_clear(reply);
		if (rc == -EIO || rc == -ENOMEM)
			DFS_ERR("apply %s at index %llu failed: %s", dfs_method_name(cmd->method),
				(unsigned long long)index, dfs_strerror(rc));
		if (record_failure(ns, cmd, index, rc) < 0)
			rc = -EIO;
	}
	reply->status = rc;
	return rc;
}
