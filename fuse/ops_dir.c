/* ops_dir.c: FUSE directory listings: opendir, readdir, readdirplus,
 * releasedir, fsyncdir.
 *
 * A listing handle wraps one dfs_dir (pages from the namenode, name order).
 * Offsets are a per-handle entry counter: "." is entry 0, ".." entry 1, the
 * dfs entries follow; the entry at counter n is sent with offset n + 1 (the
 * offset of the one after it). A readdir at the offset where the previous
 * one stopped continues; any other offset restarts the listing and skips
 * to it (seekdir is rare). An entry fetched that did not fit in the reply
 * buffer is kept for the next call. */
#include "fuse/dfs_fuse.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuse/logger.h"

struct dfsf_dirh {
	pthread_mutex_t lock; /* guards everything below */
	dfs_dir *d;
	uint64_t ino;
	uint64_t pos;     /* entries handed out so far, "." and ".." included */
	int have_pending; /* pending_* holds the entry at pos */
	char pending_name[DFSF_READDIR_NAME_MAX];
	struct dfs_stat pending_st;
};

struct dir_entry {
	const char *name;
	struct dfs_stat st;
};

static struct dfsf_dirh *dirh_of(struct fuse_file_info *fi)
{
	return (struct dfsf_dirh *)(uintptr_t)fi->fh;
}

void dfsf_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct dfs_fuse *fs = dfsf_of(req);
	struct dfsf_dirh *dh = calloc(1, sizeof(*dh));
	int rc = dh ? dfsf_set_cred(fs, req) : -ENOMEM;
	if (rc == 0)
		rc = dfs_opendir(fs->client, ino, NULL, &dh->d);
	if (rc < 0) {
		free(dh);
		dfsf_reply_fail(req, "opendir", ino, NULL, rc, DFSF_NODES_NS);
		return;
	}
	pthread_mutex_init(&dh->lock, NULL);
	dh->ino = ino;
	fi->fh = (uint64_t)(uintptr_t)dh;
	fi->cache_readdir = 0;
	if (fuse_reply_open(req, fi) != 0) {
		dfs_closedir(dh->d);
		pthread_mutex_destroy(&dh->lock);
		free(dh);
	}
}

/* The entry at dh->pos: 1 and *ent, 0 at the end, or a negative errno.
 * Does not advance pos. */
static int dirh_peek(struct dfsf_dirh *dh, struct dir_entry *ent)
{
	if (dh->pos < 2) {
		memset(&ent->st, 0, sizeof(ent->st));
		ent->name = dh->pos == 0 ? "." : "..";
		ent->st.ino = dh->ino; /* ".." of a listing: the parent is unknown */
		ent->st.mode = S_IFDIR;
		return 1;
	}
	if (!dh->have_pending) {
		struct dfs_dirent de;
		int rc = dfs_readdir(dh->d, &de);
		if (rc <= 0)
			return rc;
		size_t len = strlen(de.name);
		if (len >= sizeof(dh->pending_name))
			return -ENAMETOOLONG;
		memcpy(dh->pending_name, de.name, len + 1);
		dh->pending_st = de.st;
		dh->have_pending = 1;
	}
	ent->name = dh->pending_name;
	ent->st = dh->pending_st;
	return 1;
}

static void dirh_advance(struct dfsf_dirh *dh)
{
	if (dh->pos >= 2)
		dh->have_pending = 0;
	dh->pos++;
}

/* Positions dh at entry `off`: restarts and skips when off is not where
 * the listing stands. */
static int dirh_seek(struct dfsf_dirh *dh, uint64_t off)
{
	if (off == dh->pos)
		return 0;
	int rc = dfs_seekdir_name(dh->d, "");
	if (rc < 0)
		return rc;
	dh->pos = 0;
	dh->have_pending = 0;
	while (dh->pos < off) {
		struct dir_entry ent;
		rc = dirh_peek(dh, &ent);
		if (rc <= 0)
			return rc;
		dirh_advance(dh);
	}
	return 0;
}

/* Adds the entry to buf; returns its size, or more than rem if it does
 * not fit (nothing added then). changes: dfsf_handles_changes() before
 * the entry was read from the namenode. */
static size_t add_entry(struct dfs_fuse *fs, fuse_req_t req, int plus, char *buf, size_t rem,
			const struct dir_entry *ent, off_t next, uint64_t changes)
{
	if (!plus) {
		struct stat st;
		memset(&st, 0, sizeof(st));
		st.st_ino = (ino_t)ent->st.ino;
		st.st_mode = (mode_t)ent->st.mode;
		return fuse_add_direntry(req, buf, rem, ent->name, &st, next);
	}
	struct fuse_entry_param e;
	struct dfs_stat st = ent->st;
	/* A file being written here: its size, not the namenode's (the
	 * kernel takes it as the file's). On failure the listing's. */
	dfsf_attr_live(fs, &st, changes);
	dfsf_fill_entry(fs, &st, &e);
	if (strcmp(ent->name, ".") == 0 || strcmp(ent->name, "..") == 0) {
		/* No lookup reference for the dot entries. */
		e.ino = 0;
		e.attr_timeout = 0;
		e.entry_timeout = 0;
	}
	return fuse_add_direntry_plus(req, buf, rem, ent->name, &e, next);
}

static void do_readdir(fuse_req_t req, size_t size, off_t off, struct fuse_file_info *fi,
		       int plus)
{
	struct dfs_fuse *fs = dfsf_of(req);
	struct dfsf_dirh *dh = dirh_of(fi);
	size_t used = 0;
	char *buf = malloc(size ? size : 1);
	int rc = buf ? 0 : -ENOMEM;
	if (rc == 0)
		rc = dfsf_set_cred(fs, req);
	if (rc < 0)
		goto fail;
	/* (entries of a page fetched by an earlier call are older than this) */
	uint64_t changes = dfsf_handles_changes(&fs->handles);
	pthread_mutex_lock(&dh->lock);
	rc = dirh_seek(dh, (uint64_t)off);
	while (rc >= 0) {
		struct dir_entry ent;
		rc = dirh_peek(dh, &ent);
		if (rc <= 0)
			break;
		size_t n = add_entry(fs, req, plus, buf + used, size - used, &ent,
				     (off_t)(dh->pos + 1), changes);
		if (n > size - used)
			break; /* kept as pending for the next call */
		used += n;
		dirh_advance(dh);
	}
	pthread_mutex_unlock(&dh->lock);
	/* An error after some entries: hand those out, the next call fails. */
	if (rc < 0 && used == 0)
		goto fail;
	fuse_reply_buf(req, buf, used);
	free(buf);
	return;
fail:
	free(buf);
	dfsf_reply_fail(req, "readdir", dh->ino, NULL, rc, DFSF_NODES_NS);
}

void dfsf_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		  struct fuse_file_info *fi)
{
	(void)ino;
	do_readdir(req, size, off, fi, 0);
}

void dfsf_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		      struct fuse_file_info *fi)
{
	(void)ino;
	do_readdir(req, size, off, fi, 1);
}

void dfsf_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct dfsf_dirh *dh = dirh_of(fi);
	(void)ino;
	dfs_closedir(dh->d);
	pthread_mutex_destroy(&dh->lock);
	free(dh);
	fuse_reply_err(req, 0);
}

void dfsf_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	/* Namespace changes are durable (committed by the namenodes) before
	 * their call returns: nothing is pending. */
	(void)ino;
	(void)datasync;
	(void)fi;
	fuse_reply_err(req, 0);
}
