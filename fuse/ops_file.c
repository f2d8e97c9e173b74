/* ops_file.c: FUSE operations on open files: open, create, read, write,
 * flush, release, fsync. fi->fh is a struct dfsf_fh (handles.h). Each
 * operation replies exactly once. */
#include "fuse/dfs_fuse.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuse/logger.h"

#define DFSF_OPEN_FLAGS (O_ACCMODE | O_TRUNC | O_APPEND)

static struct dfsf_fh *fh_of(struct fuse_file_info *fi)
{
	return (struct dfsf_fh *)(uintptr_t)fi->fh;
}

/* The flags libdfs gets for an open(2) with `flags`. With the writeback
 * cache the kernel reads pages of write-only files and handles O_APPEND
 * itself, so files are opened read-write and without O_APPEND. */
static int open_flags(const struct dfs_fuse *fs, int flags)
{
	int f = flags & DFSF_OPEN_FLAGS;
	if (fs->opts.writeback) {
		if ((f & O_ACCMODE) == O_WRONLY)
			f = (f & ~O_ACCMODE) | O_RDWR;
		f &= ~O_APPEND;
	}
	return f;
}

/* Registers f as fi's handle. Returns 0 or -ENOMEM (f is closed then). */
static int attach(struct dfs_fuse *fs, dfs_file *f, uint64_t ino, int flags,
		  struct fuse_file_info *fi)
{
	/* A truncating open changed the file under the other streams. */
	if ((flags & O_TRUNC) && (flags & O_ACCMODE) != O_RDONLY)
		dfsf_handles_bump(&fs->handles, ino);
	struct dfsf_fh *fh = dfsf_fh_new(&fs->handles, f, ino, flags);
	if (!fh)
		return -ENOMEM;
	fi->fh = (uint64_t)(uintptr_t)fh;
	fi->keep_cache = 0; /* close-to-open: drop cached pages at each open */
	fi->direct_io = 0;
	return 0;
}

void dfsf_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct dfs_fuse *fs = dfsf_of(req);
	dfs_file *f = NULL;
	int flags = open_flags(fs, fi->flags);
	int rc = dfsf_set_cred(fs, req);
	if (rc == 0 && (flags & O_TRUNC))
		rc = dfsf_handles_sync_ino(&fs->handles, ino);
	if (rc == 0)
		rc = dfs_open_ino(fs->client, ino, flags, &f);
	/* an open right after another mount's rename over the name gets the
	 * new file (close-to-open) */
	rc = dfsf_inode_gone(fs, rc);
	if (rc == 0)
		rc = attach(fs, f, ino, flags, fi);
	if (rc < 0) {
		dfsf_reply_fail(req, "open", ino, NULL, rc, DFSF_NODES_NS);
		return;
	}
	if (fuse_reply_open(req, fi) != 0) /* interrupted: nobody owns it */
		dfsf_fh_release(&fs->handles, fh_of(fi));
}

void dfsf_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		 struct fuse_file_info *fi)
{
	struct dfs_fuse *fs = dfsf_of(req);
	struct fuse_entry_param e;
	struct dfs_stat ds;
	dfs_file *f = NULL;
	int flags = open_flags(fs, fi->flags) | (fi->flags & O_EXCL);
	int rc = dfsf_set_cred(fs, req);
	if (rc == 0)
		rc = dfs_create_at(fs->client, parent, name, flags | O_CREAT, mode & 07777, &f, &ds);
	int existed = rc == -EEXIST && !(flags & O_EXCL);
	uint64_t changes = dfsf_handles_changes(&fs->handles);
	if (existed) {
		/* Lost a race with another creator: open what is there. */
		rc = dfs_lookup(fs->client, parent, name, &ds);
		if (rc == 0)
			rc = S_ISDIR(ds.mode) ? -EISDIR : dfs_open_ino(fs->client, ds.ino, flags, &f);
	}
	if (rc == 0)
		rc = attach(fs, f, ds.ino, flags, fi);
	/* A file made by this call and opened write-only (tar, cp, a shell's
	 * redirection) is written with direct_io: each write(2) is one WRITE,
	 * where the page cache path split an unaligned one in two and asked
	 * for security.capability before each. Its owner is the writer, so
	 * there is no set-id bit for a write to clear; readers elsewhere on
	 * this mount see the writes through the mtime each one sets
	 * (dfs_fstat) and auto_inval_data. */
	if (rc == 0 && !existed && (flags & O_ACCMODE) == O_WRONLY && !fs->opts.writeback)
		fi->direct_io = 1;
	if (rc == 0 && existed && !(flags & O_TRUNC)) /* it may be being written here */
		dfsf_attr_live(fs, &ds, changes);
	if (rc < 0) {
		dfsf_reply_fail(req, "create", parent, name, rc, DFSF_NODES_NS);
		return;
	}
	dfsf_fill_entry(fs, &ds, &e);
	if (fuse_reply_create(req, &e, fi) != 0)
		dfsf_fh_release(&fs->handles, fh_of(fi));
}

void dfsf_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct dfs_fuse *fs = dfsf_of(req);
	struct dfsf_fh *fh = fh_of(fi);
	size_t got = 0;
	char *buf = malloc(size ? size : 1);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	/* Bytes the inode's writer buffered must be readable here; a
	 * writable handle reads through the writer itself. */
	struct dfsf_stream *s = dfsf_fh_stream(fh);
	int rc = fh->w ? 0 : dfsf_handles_sync_ino(&fs->handles, ino);
	if (rc < 0)
		goto fail;
	pthread_mutex_lock(&s->lock);
	rc = dfsf_stream_refresh(&fs->handles, s);
	while (rc == 0 && got < size) {
		ssize_t n = dfs_pread(s->f, buf + got, size - got, (uint64_t)off + got);
		if (n < 0) {
			rc = (int)n;
			break;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	pthread_mutex_unlock(&s->lock);
	if (rc < 0)
		goto fail;
	fuse_reply_buf(req, buf, got);
	free(buf);
	return;
fail:
	free(buf);
	dfsf_reply_fail(req, "read", ino, NULL, rc, DFSF_NODES_DATA);
}

void dfsf_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		struct fuse_file_info *fi)
{
	struct dfs_fuse *fs = dfsf_of(req);
	struct dfsf_fh *fh = fh_of(fi);
	struct dfsf_stream *s = dfsf_fh_stream(fh);
	size_t done = 0;
	pthread_mutex_lock(&s->lock);
	int rc = dfsf_stream_refresh(&fs->handles, s);
	if (rc == 0 && (fh->flags & O_APPEND)) { /* at the real end, not the kernel's */
		int64_t end = dfs_lseek(s->f, 0, SEEK_END);
		if (end < 0)
			rc = (int)end;
		else
			off = (off_t)end;
	}
	if (rc == 0)
		dfsf_stream_set_dirty(s, 1);
	while (rc == 0 && done < size) {
		ssize_t n = dfs_pwrite(s->f, buf + done, size - done, (uint64_t)off + done);
		if (n <= 0) {
			rc = n < 0 ? (int)n : -EIO;
			break;
		}
		done += (size_t)n;
	}
	pthread_mutex_unlock(&s->lock);
	if (done == 0 && rc < 0) {
		dfsf_reply_fail(req, "write", ino, NULL, rc, DFSF_NODES_DATA);
		return;
	}
	fuse_reply_write(req, done);
}

void dfsf_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	/* close(2): make the data durable and visible to the next open
	 * (close-to-open), and report a failure to the closer. */
	int rc = dfsf_stream_sync(&dfsf_of(req)->handles, dfsf_fh_stream(fh_of(fi)));
	if (rc < 0)
		dfsf_reply_fail(req, "flush", ino, NULL, rc, DFSF_NODES_DATA);
	else
		fuse_reply_err(req, 0);
}

void dfsf_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct dfs_fuse *fs = dfsf_of(req);
	dfsf_set_cred(fs, req); /* the last release may remove a hidden name */
	int rc = dfsf_fh_release(&fs->handles, fh_of(fi));
	if (rc < 0)
		dfsf_log_err(DFSF_WARN, rc, "release(%llu)", (unsigned long long)ino);
	fuse_reply_err(req, 0);
}

void dfsf_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	(void)datasync;
	int rc = dfsf_stream_sync(&dfsf_of(req)->handles, dfsf_fh_stream(fh_of(fi)));
	if (rc < 0)
		dfsf_reply_fail(req, "fsync", ino, NULL, rc, DFSF_NODES_DATA);
	else
		fuse_reply_err(req, 0);
}
