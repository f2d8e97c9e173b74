/* reply.c: the edge between libdfs and FUSE: error codes, attributes,
 * entry replies and the per-request credential. */
#include "fuse/dfs_fuse.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "fuse/logger.h"

#define DFSF_GROUPS_MAX 32 /* supplementary groups dfs_set_thread_cred takes */

/* Socket errors: libdfs returns the last one when its retries ran out. */
static int is_transport_errno(int e)
{
	switch (e) {
	case ECONNREFUSED: case ECONNRESET: case ECONNABORTED: case ETIMEDOUT:
	case EPIPE: case EHOSTUNREACH: case ENETUNREACH: case ENETDOWN:
	case EHOSTDOWN: case EADDRNOTAVAIL: case ENOTCONN:
		return 1;
	default:
		return 0;
	}
}

int dfsf_err_unreachable(int dfs_err)
{
	int e = dfs_err < 0 ? -dfs_err : dfs_err;
	return e == DFS_ENOTLEADER || is_transport_errno(e);
}

int dfsf_errno(int dfs_err)
{
	int e = dfs_err < 0 ? -dfs_err : dfs_err;
	if (e == DFS_ENODATANODES)
		return ENOSPC;
	/* A file system call has no business returning ECONNREFUSED; ENOTCONN
	 * from a FUSE mount means "the daemon is gone", which it is not. */
	if (e == 0 || e >= DFS_E_BASE || is_transport_errno(e))
		return EIO;
	return e;
}

int dfsf_fail_errno(const char *what, int dfs_err, const char *nodes)
{
	int e = dfsf_errno(dfs_err);
	if (dfsf_err_unreachable(dfs_err)) {
		dfsf_log_write(DFSF_WARN, "%s: %s unreachable (%s); replying %s", what, nodes,
			       dfs_strerror(dfs_err), strerror(e));
	} else {
		enum dfsf_level lvl = (e == EIO || e == ENOSPC || e == ENOMEM) ? DFSF_WARN
									   : DFSF_DEBUG;
		if (lvl >= dfsf_log_get_level())
			dfsf_log_err(lvl, dfs_err, "%s", what);
	}
	return e;
}

int dfsf_set_cred(struct dfs_fuse *fs, fuse_req_t req)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	uint32_t groups[DFSF_GROUPS_MAX];
	int ngroups = 0;
	if (ctx->uid != 0) {
		gid_t list[DFSF_GROUPS_MAX];
		int n = fuse_req_getgroups(req, DFSF_GROUPS_MAX, list);
		/* n > max: the list is cut to the first max groups. A failure
		 * (the caller already exited) leaves only the primary group. */
		if (n > DFSF_GROUPS_MAX)
			n = DFSF_GROUPS_MAX;
		for (int i = 0; i < n; i++)
			groups[ngroups++] = (uint32_t)list[i];
	}
	return dfs_set_thread_cred(fs->client, (uint32_t)ctx->uid, (uint32_t)ctx->gid,
				   ngroups ? groups : NULL, ngroups);
}

static void ts_copy(struct timespec *to, const struct timespec *from)
{
	to->tv_sec = from->tv_sec;
	to->tv_nsec = from->tv_nsec;
}

void dfsf_stat_to_posix(const struct dfs_stat *ds, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = (ino_t)ds->ino;
	st->st_mode = (mode_t)ds->mode;
	st->st_nlink = (nlink_t)ds->nlink;
	st->st_uid = (uid_t)ds->uid;
	st->st_gid = (gid_t)ds->gid;
	st->st_size = (off_t)ds->size;
	st->st_rdev = (dev_t)ds->rdev;
	st->st_blksize = 1 << 20; /* steer cp & co. to large I/O */
	/* Blocks of 512 bytes: allocated bytes are not known per file, so a
	 * file counts as fully allocated (du shows the apparent size). */
	st->st_blocks = (blkcnt_t)((ds->size + 511) / 512);
	ts_copy(&st->st_atim, &ds->atime);
	ts_copy(&st->st_mtim, &ds->mtime);
	ts_copy(&st->st_ctim, &ds->ctime);
}

int dfsf_stat_live(struct dfs_fuse *fs, uint64_t ino, struct dfs_stat *ds)
{
	/* The writer first: a clean one has published its writes, so the
	 * namenode's answer that follows is at least as new. (Namenode first
	 * could pair a size read before a close's COMPLETE with a writer
	 * that became clean since: an old, smaller size.) */
	/* (Within attr_timeout, as the kernel's own cache: tar's fchown after
	 * writing a file asks for its attributes, one namenode call a file.) */
	unsigned max_age_ms = (unsigned)(fs->opts.attr_timeout * 1000);
	int r = dfsf_handles_dirty_stat(&fs->handles, ino, max_age_ms, ds);
	if (r != 0)
		return r < 0 ? r : 0;
	return dfs_stat_ino(fs->client, ino, ds);
}

int dfsf_inode_gone(struct dfs_fuse *fs, int rc)
{
	if (rc != -ENOENT)
		return rc;
	dfsf_la_forget(&fs->la);
	return -ESTALE;
}

int dfsf_attr_live(struct dfs_fuse *fs, struct dfs_stat *ds, uint64_t changes_before)
{
	if (!S_ISREG(ds->mode))
		return 0;
	if (!dfsf_handles_has_writer(&fs->handles, ds->ino) &&
	    !dfsf_handles_changed_since(&fs->handles, ds->ino, changes_before))
		return 0;
	/* A clean writer that published nothing since the call went out: the
	 * reply already is what a GETATTR would say (tar's fchown and fchmod
	 * of a file it wrote and flushed cost one namenode call each, not
	 * two). */
	if (dfsf_handles_reply_current(&fs->handles, ds->ino, changes_before))
		return 0;
	struct dfs_stat live;
	int rc = dfsf_stat_live(fs, ds->ino, &live);
	if (rc == 0)
		*ds = live;
	return rc;
}

void dfsf_fill_entry(struct dfs_fuse *fs, const struct dfs_stat *ds, struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = (fuse_ino_t)ds->ino;
	e->generation = 0; /* inode ids are never reused */
	dfsf_stat_to_posix(ds, &e->attr);
	e->attr_timeout = fs->opts.attr_timeout;
	e->entry_timeout = fs->opts.entry_timeout;
}

void dfsf_reply_entry(struct dfs_fuse *fs, fuse_req_t req, const struct dfs_stat *ds)
{
	struct fuse_entry_param e;
	dfsf_fill_entry(fs, ds, &e);
	fuse_reply_entry(req, &e);
}

void dfsf_reply_fail(fuse_req_t req, const char *op, uint64_t ino, const char *name, int rc,
		     const char *nodes)
{
	char what[DFSF_FAIL_WHAT_MAX];
	snprintf(what, sizeof(what), "%s(%llu%s%s)", op, (unsigned long long)ino,
		 name ? ", " : "", name ? name : "");
	fuse_reply_err(req, dfsf_fail_errno(what, rc, nodes));
}

int dfsf_begin(struct dfs_fuse *fs, fuse_req_t req, const char *op)
{
	int rc = dfsf_set_cred(fs, req);
	if (rc < 0) {
		dfsf_reply_fail(req, op, 0, NULL, rc, DFSF_NODES_NS);
		return -1;
	}
	return 0;
}
