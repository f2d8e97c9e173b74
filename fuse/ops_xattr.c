/* ops_xattr.c: FUSE operations on extended attributes: setxattr,
 * getxattr, listxattr, removexattr, over libdfs's dfs_*xattr calls by
 * inode. The namenode keeps user.* attributes only, with Linux's rules
 * for them (libdfs/include/dfs.h); the kernel (default_permissions)
 * checks the same permissions first. Nothing is cached: another mount's
 * change is seen by the next call. Each operation replies exactly once.
 *
 * getxattr of a name outside user.* answers ENODATA at once, without an
 * RPC: nothing can be stored under such a name, and the kernel asks for
 * some very often (security.capability before every write(2), since FUSE
 * clears SB_NOSEC; security.selinux and system.posix_acl_* from ls and
 * cp). ENOSYS would make the kernel stop sending getxattr for the whole
 * mount, user.* included, and EOPNOTSUPP makes `cp -a` and `ls` complain;
 * ENODATA ("no such attribute") is what they expect. setxattr and
 * removexattr of such names get the namenode's EOPNOTSUPP. */
#include "fuse/dfs_fuse.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "fuse/logger.h"

#define DFSF_XATTR_USER_PREFIX "user."

static int is_user_name(const char *name)
{
	return strncmp(name, DFSF_XATTR_USER_PREFIX, sizeof(DFSF_XATTR_USER_PREFIX) - 1) == 0;
}

void dfsf_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
		   size_t size, int flags)
{
	struct dfs_fuse *fs = dfsf_of(req);
	if (dfsf_begin(fs, req, "setxattr"))
		return;
	if (flags & ~(XATTR_CREATE | XATTR_REPLACE)) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	int dflags = ((flags & XATTR_CREATE) ? DFS_XATTR_CREATE : 0) |
		     ((flags & XATTR_REPLACE) ? DFS_XATTR_REPLACE : 0);
	int rc = dfs_setxattr(fs->client, ino, NULL, name, value, size, dflags);
	if (rc < 0)
		dfsf_reply_fail(req, "setxattr", ino, name, rc, DFSF_NODES_NS);
	else
		fuse_reply_err(req, 0);
}

/* Replies with n bytes of buf, or only the length n when the kernel asked
 * with size 0 (buf NULL). */
static void reply_bytes(fuse_req_t req, const char *buf, ssize_t n)
{
	if (buf == NULL)
		fuse_reply_xattr(req, (size_t)n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
}

void dfsf_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct dfs_fuse *fs = dfsf_of(req);
	if (!is_user_name(name)) {
		fuse_reply_err(req, ENODATA);
		return;
	}
	if (dfsf_begin(fs, req, "getxattr"))
		return;
	if (size > DFS_XATTR_SIZE_MAX)
		size = DFS_XATTR_SIZE_MAX;
	char *buf = size ? malloc(size) : NULL;
	if (size && buf == NULL) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	ssize_t n = dfs_getxattr(fs->client, ino, NULL, name, buf, size);
	if (n < 0)
		dfsf_reply_fail(req, "getxattr", ino, name, (int)n, DFSF_NODES_NS);
	else
		reply_bytes(req, buf, n);
	free(buf);
}

void dfsf_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct dfs_fuse *fs = dfsf_of(req);
	if (dfsf_begin(fs, req, "listxattr"))
		return;
	if (size > DFS_XATTR_LIST_MAX)
		size = DFS_XATTR_LIST_MAX;
	char *buf = size ? malloc(size) : NULL;
	if (size && buf == NULL) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	ssize_t n = dfs_listxattr(fs->client, ino, NULL, buf, size);
	if (n < 0)
		dfsf_reply_fail(req, "listxattr", ino, NULL, (int)n, DFSF_NODES_NS);
	else
		reply_bytes(req, buf, n);
	free(buf);
}

void dfsf_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct dfs_fuse *fs = dfsf_of(req);
	if (dfsf_begin(fs, req, "removexattr"))
		return;
	int rc = dfs_removexattr(fs->client, ino, NULL, name);
	if (rc < 0)
		dfsf_reply_fail(req, "removexattr", ino, name, rc, DFSF_NODES_NS);
	else
		fuse_reply_err(req, 0);
}
