/* namespace.c: the namespace calls of dfs.h (stat, lookup, setattr family,
 * mkdir, mknod, unlink, rmdir, delete, rename, symlink, readlink, link).
 * Names and paths are validated here before any RPC. */
#include "libdfs/internal.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* Names an entry as (dir_ino, name), or as a path when dir_ino is 0. */
static int set_entry(Dfs__NsRequest *req, uint64_t dir_ino, const char *name)
{
	int rc;
	if (dir_ino == 0) {
		rc = dfsc_check_path(name);
		req->path = (char *)name;
	} else {
		rc = dfsc_check_name(name);
		req->has_parent = 1;
		req->parent = dir_ino;
		req->name = (char *)name;
	}
	return rc;
}

int dfsc_set_inode(Dfs__NsRequest *req, uint64_t ino, const char *path)
{
	if (ino != 0) {
		req->has_ino = 1;
		req->ino = ino;
		return 0;
	}
	req->path = (char *)path;
	return dfsc_check_path(path);
}

/* Owner of a new entry: the calling thread's credentials. */
static void set_owner(dfs_client *c, Dfs__NsRequest *req, uint32_t mode)
{
	const struct dfsc_cred *cr = dfsc_cred(c);
	req->has_uid = req->has_gid = req->has_mode = 1;
	req->uid = cr->uid;
	req->gid = cr->gid;
	req->mode = mode;
}

int dfs_stat(dfs_client *c, const char *path, struct dfs_stat *st)
{
	Dfs__NsRequest req = DFS__NS_REQUEST__INIT;
	int rc = dfsc_set_inode(&req, 0, path);
	return rc < 0 ? rc : dfsc_call_attr(c, DFS_M_GETATTR, &req, st);
}

int dfs_lookup(dfs_client *c, uint64_t dir_ino, const char *name, struct dfs_stat *st)
{
	Dfs__NsRequest req = DFS__NS_REQUEST__INIT;
	int rc = set_entry(&req, dir_ino, name);
	if (rc < 0)
		return rc;
	return dfsc_call_attr(c, dir_ino == 0 ? DFS_M_GETATTR : DFS_M_LOOKUP, &req, st);
}

int dfs_stat_ino(dfs_client *c, uint64_t ino, struct dfs_stat *st)
{
	Dfs__NsRequest req = DFS__NS_REQUEST__INIT;
	if (ino == 0)
		return -EINVAL;
	dfsc_set_inode(&req, ino, NULL);
	return dfsc_call_attr(c, DFS_M_GETATTR, &req, st);
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return dfsc_ts_to_ns(&ts);
}

void dfsc_setattr_to_req(const struct dfs_setattr *sa, Dfs__NsRequest *req)
{
	uint32_t flags = 0;
	if (sa->valid & DFS_SET_MODE) {
		flags |= DFS__NS_FLAG__NSF_SET_MODE;
		req->has_mode = 1;
		req->mode = sa->mode & 07777;
	}
	if (sa->valid & DFS_SET_UID) {
		flags |= DFS__NS_FLAG__NSF_SET_UID;
		req->has_uid = 1;
		req->uid = sa->uid;
	}
	if (sa->valid & DFS_SET_GID) {
		flags |= DFS__NS_FLAG__NSF_SET_GID;
		req->has_gid = 1;
		req->gid = sa->gid;
	}
	if (sa->valid & DFS_SET_SIZE) {
		flags |= DFS__NS_FLAG__NSF_SET_SIZE;
		req->has_size = 1;
		req->size = sa->size;
	}
	if (sa->valid & (DFS_SET_ATIME | DFS_SET_ATIME_NOW)) {
		flags |= DFS__NS_FLAG__NSF_SET_ATIME;
		req->has_atime_ns = 1;
		req->atime_ns = (sa->valid & DFS_SET_ATIME_NOW) ? now_ns() : dfsc_ts_to_ns(&sa->atime);
	}
	if (sa->valid & (DFS_SET_MTIME | DFS_SET_MTIME_NOW)) {
		flags |= DFS__NS_FLAG__NSF_SET_MTIME;
		req->has_mtime_ns = 1;
		req->mtime_ns = (sa->valid & DFS_SET_MTIME_NOW) ? now_ns() : dfsc_ts_to_ns(&sa->mtime);
	}
	req->has_flags = 1;
	req->flags |= flags;
}

int dfs_setattr(dfs_client *c, uint64_t ino, const char *path, const struct dfs_setattr *sa,
		struct dfs_stat *st)
{
	Dfs__NsRequest req = DFS__NS_REQUEST__INIT;
	int rc = dfsc_set_inode(&req, ino, path);
	if (rc < 0)
		return rc;
	dfsc_setattr_to_req(sa, &req);
	return dfsc_call_attr(c, DFS_M_SETATTR, &req, st);
}

int dfs_chmod(dfs_client *c, const char *path, uint32_t mode)
{
	struct dfs_setattr sa = { .valid = DFS_SET_MODE, .mode = mode };
	return dfs_setattr(c, 0, path, &sa, NULL);
}

int dfs_chown(dfs_client *c, const char *path, uint32_t uid, uint32_t gid)
{
	struct dfs_setattr sa = { .uid = uid, .gid = gid };
	if (uid != (uint32_t)-1)
		sa.valid |= DFS_SET_UID;
	if (gid != (uint32_t)-1)
		sa.valid |= DFS_SET_GID;
	if (sa.valid == 0)
		return dfs_stat(c, path, NULL);
	return dfs_setattr(c, 0, path, &sa, NULL);
}

int dfs_utimens(dfs_client *c, const char *path, const struct timespec times[2])
{
	struct dfs_setattr sa = { 0 };
	if (times == NULL) {
		sa.valid = DFS_SET_ATIME_NOW | DFS_SET_MTIME_NOW;
	} else {
		if (times[0].tv_nsec == UTIME_NOW)
			sa.valid |= DFS_SET_ATIME_NOW;
		else if (times[0].tv_nsec != UTIME_OMIT)
			sa.valid |= DFS_SET_ATIME;
		if (times[1].tv_nsec == UTIME_NOW)
			sa.valid |= DFS_SET_MTIME_NOW;
		else if (times[1].tv_nsec != UTIME_OMIT)
			sa.valid |= DFS_SET_MTIME;
		sa.atime = times[0];
		sa.mtime = times[1];
	}
	if (sa.valid == 0)
		return dfs_stat(c, path, NULL);
	return dfs_setattr(c, 0, path, &sa, NULL);
}

int dfs_truncate(dfs_client *c, const char *path, uint64_t size)
{
	struct dfs_setattr sa = { .valid = DFS_SET_SIZE, .size = size };
	return dfs_setattr(c, 0, path, &sa, NULL);
}

int dfs_setrep(dfs_client *c, const char *path, unsigned replication)
{
	Dfs__NsRequest req = DFS__NS_REQUEST__INIT;
	if (replication < 1 || replication > DFSC_REPLICATION_MAX)
		return -EINVAL;
	int rc = dfsc_set_inode(&req, 0, path);
	if (rc < 0)
		return rc;
	req.has_replication = 1;
	req.replication = replication;
	return dfsc_call_attr(c, DFS_M_SETREP, &req, NULL);
}

int dfs_mkdir_at(dfs_client *c, uint64_t dir_ino, const char *name, uint32_t mode,
		 unsigned flags, struct dfs_stat *st)
{
	Dfs__NsRequest req = DFS__NS_REQUEST__INIT;
	int rc = set_entry(&req, dir_ino, name);
	if (rc < 0)
		return rc;
	if (dir_ino == 0 && strcmp(name, "/") == 0 && !(flags & DFS_MKDIR_PARENTS))
		return -EEXIST;
	set_owner(c, &req, mode & 07777);
	if (flags & DFS_MKDIR_PARENTS) {
		req.has_flags = 1;
		req.flags = DFS__NS_FLAG__NSF_PARENTS;
	}
	return dfsc_call_attr(c, DFS_M_MKDIR, &req, st);
}

int dfs_mkdir(dfs_client *c, const char *path, uint32_t mode, unsigned flags)
{
	return dfs_mkdir_at(c, 0, path, mode, flags, NULL);
}

int dfs_mknod_at(dfs_client *c, uint64_t dir_ino, const char *name, uint32_t mode,
		 uint64_t rdev, struct dfs_stat *st)
{
	Dfs__NsRequest req = DFS__NS_REQUEST__INIT;
	uint32_t type = mode & S_IFMT;
	if (type != S_IFIFO && type != S_IFSOCK && type != S_IFCHR && type != S_IFBLK &&
	    type != S_IFREG)
		return -EINVAL;
	int rc = set_entry(&req, dir_ino, name);
	if (rc < 0)
		return rc;
	/* MKNOD's mode carries the S_IFMT type bits too. */
	set_owner(c, &req, mode & (S_IFMT | 07777));
	req.has_rdev = 1;
	req.rdev = rdev;
	return dfsc_call_attr(c, DFS_M_MKNOD, &req, st);
}

static int remove_entry(dfs_client *c, uint32_t method, uint64_t dir_ino, const char *name)
{
	Dfs__NsRequest req = DFS__NS_REQUEST__INIT;
	int rc = set_entry(&req, dir_ino, name);
	if (rc < 0)
		return rc;
	if (dir_ino == 0 && strcmp(name, "/") == 0)
		return method == DFS_M_RMDIR ? -EBUSY : -EISDIR;
	return dfsc_call_attr(c, method, &req, NULL);
}

int dfs_unlink_at(dfs_client *c, uint64_t dir_ino, const char *name)
{
	return remove_entry(c, DFS_M_UNLINK, dir_ino, name);
}

int dfs_unlink(dfs_client *c, const char *path)
{
	return remove_entry(c, DFS_M_UNLINK, 0, path);
}

int dfs_rmdir_at(dfs_client *c, uint64_t dir_ino, const char *name)
{
	return remove_entry(c, DFS_M_RMDIR, dir_ino, name);
}

int dfs_rmdir(dfs_client *c, const char *path)
{
	return remove_entry(c, DFS_M_RMDIR, 0, path);
}

int dfs_delete(dfs_client *c, const char *path, int recursive)
{
	Dfs__NsRequest req = DFS__NS_REQUEST__INIT;
	int rc = set_entry(&req, 0, path);
	if (rc < 0)
		return rc;
	if (strcmp(path, "/") == 0)
		return -EBUSY;
	if (recursive) {
		req.has_flags = 1;
		req.flags = DFS__NS_FLAG__NSF_RECURSIVE;
	}
	return dfsc_call_attr(c, DFS_M_DELETE, &req, NULL);
}

int dfs_rename_at(dfs_client *c, uint64_t dir_ino, const char *name, uint64_t new_dir_ino,
		  const char *new_name, unsigned flags)
{
	Dfs__NsRequest req = DFS__NS_REQUEST__INIT;
	int rc = set_entry(&req, dir_ino, name);
	if (rc < 0)
		return rc;
	if (new_dir_ino == 0) {
		rc = dfsc_check_path(new_name);
		req.target = (char *)new_name;
	} else {
		rc = dfsc_check_name(new_name);
		req.has_new_parent = 1;
		req.new_parent = new_dir_ino;
		req.new_name = (char *)new_name;
	}
	if (rc < 0)
		return rc;
	if (flags & DFS_RENAME_NOREPLACE) {
		req.has_flags = 1;
		req.flags = DFS__NS_FLAG__NSF_NOREPLACE;
	}
	return dfsc_call_attr(c, DFS_M_RENAME, &req, NULL);
}

int dfs_rename(dfs_client *c, const char *from, const char *to, unsigned flags)
{
	return dfs_rename_at(c, 0, from, 0, to, flags);
}

#define DFSC_SYMLINK_MAX 4095

int dfs_symlink_at(dfs_client *c, const char *target, uint64_t dir_ino, const char *name,
		   struct dfs_stat *st)
{
	Dfs__NsRequest req = DFS__NS_REQUEST__INIT;
	if (target == NULL || target[0] == '\0')
		return -EINVAL;
	if (strlen(target) > DFSC_SYMLINK_MAX)
		return -ENAMETOOLONG;
	int rc = set_entry(&req, dir_ino, name);
	if (rc < 0)
		return rc;
	set_owner(c, &req, 0777);
	req.target = (char *)target;
	return dfsc_call_attr(c, DFS_M_SYMLINK, &req, st);
}

int dfs_symlink(dfs_client *c, const char *target, const char *linkpath)
{
	return dfs_symlink_at(c, target, 0, linkpath, NULL);
}

int dfs_readlink(dfs_client *c, uint64_t ino, const char *path, char *buf, size_t size)
{
	Dfs__NsRequest req = DFS__NS_REQUEST__INIT;
	Dfs__NsReply *reply;
	int rc = dfsc_set_inode(&req, ino, path);
	if (rc < 0)
		return rc;
	rc = dfsc_call(c, DFS_M_READLINK, &req, &reply);
	if (rc < 0)
		return rc;
	if (reply->target == NULL) {
		rc = -DFS_EPROTOCOL;
	} else {
		size_t len = strlen(reply->target);
		if (size > 0) {
			size_t n = len < size ? len : size;
			memcpy(buf, reply->target, n);
			if (len < size)
				buf[len] = '\0';
		}
		rc = len > INT32_MAX ? -EOVERFLOW : (int)len;
	}
	dfs__ns_reply__free_unpacked(reply, NULL);
	return rc;
}

int dfs_link_at(dfs_client *c, uint64_t ino, uint64_t new_dir_ino, const char *new_name,
		struct dfs_stat *st)
{
	Dfs__NsRequest req = DFS__NS_REQUEST__INIT;
	if (ino == 0 || new_dir_ino == 0)
		return -EINVAL;
	int rc = dfsc_check_name(new_name);
	if (rc < 0)
		return rc;
	req.has_ino = 1;
	req.ino = ino;
	req.has_new_parent = 1;
	req.new_parent = new_dir_ino;
	req.new_name = (char *)new_name;
	return dfsc_call_attr(c, DFS_M_LINK, &req, st);
}

int dfs_link(dfs_client *c, const char *existing, const char *newpath)
{
	Dfs__NsRequest req = DFS__NS_REQUEST__INIT;
	int rc = dfsc_check_path(existing);
	if (rc == 0)
		rc = dfsc_check_path(newpath);
	if (rc < 0)
		return rc;
	req.path = (char *)existing;
	req.target = (char *)newpath;
	return dfsc_call_attr(c, DFS_M_LINK, &req, NULL);
}
