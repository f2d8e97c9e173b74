/* ops_entry.c: FUSE operations on names and attributes: lookup, forget,
 * getattr, setattr, readlink, mknod, mkdir, unlink, rmdir, symlink, rename,
 * link, statfs, access. Each replies exactly once. */
#include "fuse/dfs_fuse.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuse/logger.h"

#define DFSF_HIDE_ATTEMPTS_MAX 4 /* hidden names tried per unlink */

/* A missing name: the kernel caches its absence for `timeout`. */
static void reply_missing(fuse_req_t req, double timeout)
{
	struct fuse_entry_param e;
	memset(&e, 0, sizeof(e));
	e.ino = 0;
	e.entry_timeout = timeout;
	fuse_reply_entry(req, &e);
}

/* A lookup answered from the lookahead window: the reply's timeouts are
 * cut by the window's age. 1 if replied. */
static int lookup_ahead(struct dfs_fuse *fs, fuse_req_t req, fuse_ino_t parent,
			const char *name, char *next_after)
{
	struct dfs_stat ds;
	uint64_t changes;
	double age;
	switch (dfsf_la_find(fs, parent, name, &ds, &changes, &age, next_after)) {
	case DFSF_LA_ASK:
		return 0;
	case DFSF_LA_MISSING:
		reply_missing(req, fs->opts.negative_timeout - age);
		return 1;
	case DFSF_LA_FOUND:
		break;
	}
	if (dfsf_attr_live(fs, &ds, changes) < 0) {
		next_after[0] = '\0';
		return 0; /* the namenode's own answer then */
	}
	struct fuse_entry_param e;
	dfsf_fill_entry(fs, &ds, &e);
	e.entry_timeout = e.entry_timeout > age ? e.entry_timeout - age : 0;
	e.attr_timeout = e.attr_timeout > age ? e.attr_timeout - age : 0;
	fuse_reply_entry(req, &e);
	return 1;
}

void dfsf_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct dfs_fuse *fs = dfsf_of(req);
	struct dfs_stat ds;
	char next_after[DFSF_LA_NAME_MAX], after[DFSF_LA_NAME_MAX];
	if (dfsf_begin(fs, req, "lookup"))
		return;
	if (lookup_ahead(fs, req, parent, name, next_after)) {
		if (next_after[0] != '\0') /* near the window's end: the next one */
			dfsf_la_fetch(fs, parent, next_after);
		return;
	}
	uint64_t changes = dfsf_handles_changes(&fs->handles);
	int rc = dfs_lookup(fs->client, parent, name, &ds);
	if (rc == 0)
		rc = dfsf_attr_live(fs, &ds, changes);
	bool fetch = (rc == 0 || rc == -ENOENT) &&
		     dfsf_la_note_lookup(fs, parent, name, rc == 0, after);
	if (rc == -ENOENT && fs->opts.negative_timeout > 0)
		reply_missing(req, fs->opts.negative_timeout);
	else if (rc < 0)
		dfsf_reply_fail(req, "lookup", parent, name, rc, DFSF_NODES_NS);
	else
		dfsf_reply_entry(fs, req, &ds);
	if (fetch) /* a scan or a fill: list what comes next, after replying */
		dfsf_la_fetch(fs, parent, after);
}

void dfsf_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	/* libdfs is stateless by inode number: nothing to drop. */
	(void)ino;
	(void)nlookup;
	fuse_reply_none(req);
}

void dfsf_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	(void)count;
	(void)forgets;
	fuse_reply_none(req);
}

void dfsf_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct dfs_fuse *fs = dfsf_of(req);
	struct dfs_stat ds;
	struct stat st;
	if (dfsf_begin(fs, req, "getattr"))
		return;
	/* After each change in a directory the kernel drops its attributes
	 * and asks again (for the permission check of the next lookup in
	 * it): the change's own reply has them, as fresh as attr_timeout
	 * allows anyway. Saves a namenode round trip per create or unlink. */
	unsigned max_age_ms = (unsigned)(fs->opts.attr_timeout * 1000);
	int rc = max_age_ms > 0 ? dfs_dir_stat_recent(fs->client, ino, max_age_ms, &ds) : -ENOENT;
	if (rc < 0)
		rc = dfsf_stat_live(fs, ino, &ds);
	if (rc < 0 && fi == NULL) /* stat of a name another mount replaced */
		rc = dfsf_inode_gone(fs, rc);
	if (rc < 0) {
		dfsf_reply_fail(req, "getattr", ino, NULL, rc, DFSF_NODES_NS);
		return;
	}
	dfsf_stat_to_posix(&ds, &st);
	fuse_reply_attr(req, &st, fs->opts.attr_timeout);
}

/* Translates FUSE setattr bits into a dfs_setattr. */
static void setattr_from_fuse(const struct stat *attr, int to_set, struct dfs_setattr *sa)
{
	memset(sa, 0, sizeof(*sa));
	if (to_set & FUSE_SET_ATTR_MODE) {
		sa->valid |= DFS_SET_MODE;
		sa->mode = attr->st_mode & 07777;
	}
	if (to_set & FUSE_SET_ATTR_UID) {
		sa->valid |= DFS_SET_UID;
		sa->uid = attr->st_uid;
	}
	if (to_set & FUSE_SET_ATTR_GID) {
		sa->valid |= DFS_SET_GID;
		sa->gid = attr->st_gid;
	}
	if (to_set & FUSE_SET_ATTR_SIZE) {
		sa->valid |= DFS_SET_SIZE;
		sa->size = (uint64_t)attr->st_size;
	}
	if (to_set & FUSE_SET_ATTR_ATIME_NOW) {
		sa->valid |= DFS_SET_ATIME_NOW;
	} else if (to_set & FUSE_SET_ATTR_ATIME) {
		sa->valid |= DFS_SET_ATIME;
		sa->atime = attr->st_atim;
	}
	if (to_set & FUSE_SET_ATTR_MTIME_NOW) {
		sa->valid |= DFS_SET_MTIME_NOW;
	} else if (to_set & FUSE_SET_ATTR_MTIME) {
		sa->valid |= DFS_SET_MTIME;
		sa->mtime = attr->st_mtim;
	}
}

/* A size change: through the caller's writable handle when there is one
 * (the inode's writer keeps its own view of the file consistent), else
 * after making the writer durable so its buffered bytes land first. */
static int setattr_size(struct dfs_fuse *fs, uint64_t ino, struct dfsf_fh *fh, uint64_t size)
{
	if (!fh || !fh->w)
		return dfsf_handles_sync_ino(&fs->handles, ino);
	struct dfsf_stream *s = &fh->w->s;
	pthread_mutex_lock(&s->lock);
	int rc = dfsf_stream_refresh(&fs->handles, s);
	if (rc == 0) {
		dfsf_stream_set_dirty(s, 1); /* the sync below publishes the size */
		rc = dfs_ftruncate(s->f, size);
	}
	if (rc == 0)
		rc = dfsf_stream_sync_locked(&fs->handles, s);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

void dfsf_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		  struct fuse_file_info *fi)
{
	struct dfs_fuse *fs = dfsf_of(req);
	struct dfsf_fh *fh = fi ? (struct dfsf_fh *)(uintptr_t)fi->fh : NULL;
	struct dfs_setattr sa;
	struct dfs_stat ds;
	struct stat st;
	int rc;
	if (dfsf_begin(fs, req, "setattr"))
		return;
	setattr_from_fuse(attr, to_set, &sa);
	/* tar, cp -p and rsync set times, owner and mode of each file they
	 * write before closing it: the writer keeps what it may for the
	 * COMPLETE of the close, one namespace change instead of four. */
	rc = sa.valid & DFS_SET_SIZE ? 0 : dfsf_handles_defer_setattr(&fs->handles, ino, &sa, &ds);
	if (rc < 0)
		goto fail;
	if (rc == 1) {
		dfsf_stat_to_posix(&ds, &st);
		fuse_reply_attr(req, &st, fs->opts.attr_timeout);
		return;
	}
	if (sa.valid & DFS_SET_SIZE) {
		rc = setattr_size(fs, ino, fh, sa.size);
		if (rc < 0)
			goto fail;
		if (fh && fh->w)
			sa.valid &= ~(unsigned)DFS_SET_SIZE;
	}
	if (sa.valid & DFS_SET_MTIME) {
		/* An explicit mtime (tar, cp -p, rsync -t, touch -d) must not be
		 * overwritten by the close of data written before it: the
		 * COMPLETE that publishes buffered writes stamps the time. */
		rc = dfsf_handles_sync_ino(&fs->handles, ino);
		if (rc < 0)
			goto fail;
	}
	if (sa.valid) {
		uint64_t changes = dfsf_handles_changes(&fs->handles);
		rc = dfs_setattr(fs->client, ino, NULL, &sa, &ds);
		if (rc == 0 && (sa.valid & DFS_SET_SIZE))
			dfsf_handles_bump(&fs->handles, ino);
		else if (rc == 0) /* chmod of a file being written: its size (done
				     even if that fails: then the namenode's) */
			dfsf_attr_live(fs, &ds, changes);
	} else {
		rc = dfsf_stat_live(fs, ino, &ds);
	}
	if (rc < 0)
		goto fail;
	dfsf_stat_to_posix(&ds, &st);
	fuse_reply_attr(req, &st, fs->opts.attr_timeout);
	return;
fail:
	if (fh == NULL) /* chmod or touch of a name another mount replaced */
		rc = dfsf_inode_gone(fs, rc);
	dfsf_reply_fail(req, "setattr", ino, NULL, rc, DFSF_NODES_NS);
}

void dfsf_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct dfs_fuse *fs = dfsf_of(req);
	char buf[PATH_MAX + 1];
	if (dfsf_begin(fs, req, "readlink"))
		return;
	int rc = dfsf_inode_gone(fs, dfs_readlink(fs->client, ino, NULL, buf, sizeof(buf)));
	if (rc < 0) {
		dfsf_reply_fail(req, "readlink", ino, NULL, rc, DFSF_NODES_NS);
		return;
	}
	if ((size_t)rc >= sizeof(buf)) {
		fuse_reply_err(req, ENAMETOOLONG);
		return;
	}
	buf[rc] = '\0';
	fuse_reply_readlink(req, buf);
}

void dfsf_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	struct dfs_fuse *fs = dfsf_of(req);
	struct dfs_stat ds;
	int rc;
	if (dfsf_begin(fs, req, "mknod"))
		return;
	if (S_ISREG(mode)) {
		/* mknod(2) of a regular file: create it and close it at once. */
		dfs_file *f = NULL;
		rc = dfs_create_at(fs->client, parent, name, O_WRONLY | O_EXCL, mode & 07777, &f,
				   &ds);
		if (rc == 0)
			rc = dfs_close(f);
	} else {
		rc = dfs_mknod_at(fs->client, parent, name, mode, (uint64_t)rdev, &ds);
	}
	if (rc < 0) {
		dfsf_reply_fail(req, "mknod", parent, name, rc, DFSF_NODES_NS);
		return;
	}
	dfsf_reply_entry(fs, req, &ds);
}

void dfsf_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct dfs_fuse *fs = dfsf_of(req);
	struct dfs_stat ds;
	if (dfsf_begin(fs, req, "mkdir"))
		return;
	int rc = dfs_mkdir_at(fs->client, parent, name, mode & 07777, 0, &ds);
	if (rc < 0) {
		dfsf_reply_fail(req, "mkdir", parent, name, rc, DFSF_NODES_NS);
		return;
	}
	dfsf_reply_entry(fs, req, &ds);
}

/* Unlink of a file open through this mount: renames it to a hidden name
 * that the last handle removes (see handles.h). Returns 1 if it did, 0 if
 * the file is not open here (plain unlink), or a negative errno. */
static int unlink_open(struct dfs_fuse *fs, uint64_t parent, const char *name)
{
	static unsigned counter; /* uniqueness of hidden names (atomic) */
	struct dfs_stat ds;
	char hidden[DFSF_HIDDEN_NAME_MAX];
	if (__atomic_load_n(&fs->handles.count, __ATOMIC_RELAXED) == 0 ||
	    strncmp(name, DFSF_HIDDEN_PREFIX, strlen(DFSF_HIDDEN_PREFIX)) == 0)
		return 0;
	int rc = dfs_lookup(fs->client, parent, name, &ds);
	if (rc < 0)
		return rc == -ENOENT ? rc : 0;
	if (!S_ISREG(ds.mode) || ds.nlink > 1 || !dfsf_handles_is_open(&fs->handles, ds.ino))
		return 0;
	for (int attempt = 0; attempt < DFSF_HIDE_ATTEMPTS_MAX; attempt++) {
		snprintf(hidden, sizeof(hidden), "%s%llx.%x.%x", DFSF_HIDDEN_PREFIX,
			 (unsigned long long)ds.ino, (unsigned)getpid(),
			 __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED));
		rc = dfs_rename_at(fs->client, parent, name, parent, hidden, DFS_RENAME_NOREPLACE);
		if (rc != -EEXIST)
			break;
	}
	if (rc < 0)
		return rc;
	DFSF_DEBUG_LOG("unlink of open inode %llu: kept as %s", (unsigned long long)ds.ino, hidden);
	if (!dfsf_handles_hide(&fs->handles, ds.ino, parent, hidden))
		dfs_unlink_at(fs->client, parent, hidden); /* closed meanwhile */
	return 1;
}

void dfsf_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct dfs_fuse *fs = dfsf_of(req);
	if (dfsf_begin(fs, req, "unlink"))
		return;
	int rc = unlink_open(fs, parent, name);
	if (rc == 0)
		rc = dfs_unlink_at(fs->client, parent, name);
	else if (rc == 1)
		rc = 0;
	if (rc < 0)
		dfsf_reply_fail(req, "unlink", parent, name, rc, DFSF_NODES_NS);
	else
		fuse_reply_err(req, 0);
}

void dfsf_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct dfs_fuse *fs = dfsf_of(req);
	if (dfsf_begin(fs, req, "rmdir"))
		return;
	int rc = dfs_rmdir_at(fs->client, parent, name);
	if (rc < 0)
		dfsf_reply_fail(req, "rmdir", parent, name, rc, DFSF_NODES_NS);
	else
		fuse_reply_err(req, 0);
}

void dfsf_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	struct dfs_fuse *fs = dfsf_of(req);
	struct dfs_stat ds;
	if (dfsf_begin(fs, req, "symlink"))
		return;
	int rc = dfs_symlink_at(fs->client, link, parent, name, &ds);
	if (rc < 0) {
		dfsf_reply_fail(req, "symlink", parent, name, rc, DFSF_NODES_NS);
		return;
	}
	dfsf_reply_entry(fs, req, &ds);
}

void dfsf_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		 const char *newname, unsigned int flags)
{
	struct dfs_fuse *fs = dfsf_of(req);
	unsigned dflags = 0;
	if (flags & ~(unsigned)RENAME_NOREPLACE) {
		/* RENAME_EXCHANGE, RENAME_WHITEOUT: not supported. */
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (flags & RENAME_NOREPLACE)
		dflags |= DFS_RENAME_NOREPLACE;
	if (dfsf_begin(fs, req, "rename"))
		return;
	int rc = dfs_rename_at(fs->client, parent, name, newparent, newname, dflags);
	if (rc < 0)
		dfsf_reply_fail(req, "rename", parent, name, rc, DFSF_NODES_NS);
	else
		fuse_reply_err(req, 0);
}

void dfsf_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	struct dfs_fuse *fs = dfsf_of(req);
	struct dfs_stat ds;
	if (dfsf_begin(fs, req, "link"))
		return;
	uint64_t changes = dfsf_handles_changes(&fs->handles);
	int rc = dfs_link_at(fs->client, ino, newparent, newname, &ds);
	if (rc == 0) /* linked even if this fails: then the namenode's size */
		dfsf_attr_live(fs, &ds, changes);
	if (rc < 0) {
		dfsf_reply_fail(req, "link", ino, newname, rc, DFSF_NODES_NS);
		return;
	}
	dfsf_reply_entry(fs, req, &ds);
}

#define DFSF_STATFS_BLOCK 4096u            /* f_bsize / f_frsize */
#define DFSF_STATFS_FREE_INODES (1ull << 32) /* the namespace has no inode limit */

void dfsf_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct dfs_fuse *fs = dfsf_of(req);
	struct dfs_statfs sf;
	struct statvfs sv;
	(void)ino;
	if (dfsf_begin(fs, req, "statfs"))
		return;
	int rc = dfs_statfs(fs->client, &sf);
	if (rc < 0) {
		dfsf_reply_fail(req, "statfs", ino, NULL, rc, DFSF_NODES_NS);
		return;
	}
	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = DFSF_STATFS_BLOCK;
	sv.f_frsize = DFSF_STATFS_BLOCK;
	sv.f_blocks = sf.capacity / DFSF_STATFS_BLOCK;
	sv.f_bfree = sf.remaining / DFSF_STATFS_BLOCK;
	sv.f_bavail = sv.f_bfree;
	sv.f_files = sf.files + DFSF_STATFS_FREE_INODES;
	sv.f_ffree = DFSF_STATFS_FREE_INODES;
	sv.f_favail = DFSF_STATFS_FREE_INODES;
	sv.f_namemax = 255;
	fuse_reply_statfs(req, &sv);
}

/* access(2) from the attributes, as the kernel does with
 * default_permissions (it only gets here without that option). */
static int access_check(const struct fuse_ctx *ctx, const struct dfs_stat *ds, int mask)
{
	if (mask == F_OK)
		return 0;
	if (ctx->uid == 0) {
		/* root: anything but executing a file nobody may execute. */
		if ((mask & X_OK) && !S_ISDIR(ds->mode) && !(ds->mode & 0111))
			return -EACCES;
		return 0;
	}
	unsigned bits;
	if (ctx->uid == ds->uid)
		bits = (ds->mode >> 6) & 7;
	else if (ctx->gid == ds->gid)
		bits = (ds->mode >> 3) & 7;
	else
		bits = ds->mode & 7;
	return ((unsigned)mask & ~bits & 7) ? -EACCES : 0;
}

void dfsf_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	struct dfs_fuse *fs = dfsf_of(req);
	struct dfs_stat ds;
	if (dfsf_begin(fs, req, "access"))
		return;
	int rc = dfs_stat_ino(fs->client, ino, &ds);
	if (rc == 0)
		rc = access_check(fuse_req_ctx(req), &ds, mask);
	if (rc < 0)
		dfsf_reply_fail(req, "access", ino, NULL, rc, DFSF_NODES_NS);
	else
		fuse_reply_err(req, 0);
}
