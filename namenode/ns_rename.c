/* ns_rename.c: RENAME, atomic, with the POSIX replacement rules: a file
 * replaces a file, a directory replaces an empty directory (ENOTDIR,
 * EISDIR, ENOTEMPTY otherwise), NSF_NOREPLACE refuses an existing target,
 * and a directory cannot move below itself (EINVAL). */
#include "namenode/ns_txn.h"

#include "common/errors.h"

#include <string.h>

/* -EINVAL if dir is `ancestor` or lies below it. */
static int check_not_below(struct ns_txn *t, uint64_t dir, uint64_t ancestor)
{
	for (int depth = 0; depth < NS_PATH_DEPTH_MAX; depth++) {
		if (dir == ancestor)
			return -EINVAL;
		if (dir == DFS_ROOT_INO)
			return 0;
		struct ns_inode in;
		int rc = ns_inode_get(t, dir, &in);
		if (rc < 0)
			return rc;
		dir = in.parent;
	}
	return -ELOOP;
}

static int check_target(struct ns_txn *t, const struct ns_ent *src, const struct ns_ent *dst)
{
	bool sdir = src->in.a.type == DFS__FILE_TYPE__FT_DIR;
	bool ddir = dst->in.a.type == DFS__FILE_TYPE__FT_DIR;
	if (sdir && !ddir)
		return -ENOTDIR;
	if (!sdir && ddir)
		return -EISDIR;
	if (ddir) {
		int rc = ns_dir_nonempty(t, dst->ino);
		if (rc != 0)
			return rc < 0 ? rc : -ENOTEMPTY;
	}
	return 0;
}

/* Adds delta to a directory's nlink and stamps its times; *out gets it. */
static int touch_dir(struct ns_txn *t, uint64_t dir, int delta, struct ns_inode *out)
{
	int rc = ns_inode_get(t, dir, out);
	if (rc < 0)
		return rc;
	out->a.nlink = (uint32_t)((int64_t)out->a.nlink + delta);
	out->a.mtime_ns = out->a.ctime_ns = t->now;
	ns_inode_put(t, out);
	return t->err;
}

static int resolve_both(struct ns_txn *t, const Dfs__NsRequest *req, const struct ns_cred *cr,
			struct ns_ent *src, struct ns_ent *dst)
{
	int rc = ns_resolve_ent(t, cr, req, false, src);
	if (rc < 0)
		return rc;
	if (src->is_root)
		return -EBUSY;
	if (!src->exists)
		return -ENOENT;
	if ((rc = ns_resolve_ent(t, cr, req, true, dst)) < 0)
		return rc;
	if (dst->is_root)
		return -EBUSY;
	if ((rc = ns_perm(cr, &src->pdir.a, NS_W | NS_X)) < 0)
		return rc;
	return ns_perm(cr, &dst->pdir.a, NS_W | NS_X);
}

int ns_op_rename(struct ns_txn *t, const Dfs__NsRequest *req, const struct ns_cred *cr,
		 Dfs__NsReply *r)
{
	struct ns_ent src, dst;
	int rc = resolve_both(t, req, cr, &src, &dst);
	if (rc < 0)
		return rc;
	bool sdir = src.in.a.type == DFS__FILE_TYPE__FT_DIR;
	if (sdir && (rc = check_not_below(t, dst.parent, src.ino)) < 0)
		return rc;
	if (dst.exists && dst.ino == src.ino) /* same entry, or two links of one file */
		return (req->flags & DFS__NS_FLAG__NSF_NOREPLACE) && strcmp(src.name, dst.name)
			       ? -EEXIST
			       : ns_reply_attr(r, &src.in.a);
	int dst_delta = sdir ? 1 : 0;
	if (dst.exists) {
		if (req->flags & DFS__NS_FLAG__NSF_NOREPLACE)
			return -EEXIST;
		if ((rc = check_target(t, &src, &dst)) < 0)
			return rc;
		if (sdir) {
			struct ns_key k;
			ns_key_inode(&k, dst.ino);
			ns_txn_del(t, &k);
			ns_xattr_drop(t, dst.ino);
			t->c.inodes--;
			dst_delta--;
		} else if ((rc = ns_drop_link(t, &dst.in)) < 0) {
			return rc;
		}
	}
	ns_dirent_del(t, src.parent, src.name);
	ns_dirent_put(t, dst.parent, dst.name, src.ino, src.in.a.type);
	src.in.a.ctime_ns = t->now;
	if (sdir)
		src.in.parent = dst.parent;
	ns_inode_put(t, &src.in);
	struct ns_inode sd, dd;
	if ((rc = touch_dir(t, src.parent, sdir ? -1 : 0, &sd)) < 0)
		return rc;
	if ((rc = touch_dir(t, dst.parent, dst_delta, &dd)) < 0)
		return rc;
	/* one directory: the second touch saw the first's change */
	ns_reply_dir(r, src.parent == dst.parent ? &dd.a : &sd.a, false);
	ns_reply_dir(r, &dd.a, true);
	return t->err < 0 ? t->err : ns_reply_attr(r, &src.in.a);
}
