/* file.c: the life of a dfs_file: open (with create, exclusive create,
 * truncate and symlink following), the position, fstat, fsync, ftruncate,
 * attribute changes kept for the next COMPLETE, and close. Data moves in
 * file_write.c and file_read.c. */
#include "libdfs/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define DFSC_SYMLINK_FOLLOW_MAX 16

/* fresh: the open created the file (or emptied it) itself, so it has no
 * block yet; first (may be NULL; taken over) its block 0 from the CREATE. */
static int new_file(dfs_client *c, const struct dfs_stat *st, int flags, bool fresh,
		    struct dfsc_lblock *first, dfs_file **out)
{
	if (!S_ISREG(st->mode)) {
		free(first);
		return S_ISDIR(st->mode) ? -EISDIR : -EINVAL;
	}
	dfs_file *f = calloc(1, sizeof(*f));
	if (f == NULL) {
		free(first);
		return -ENOMEM;
	}
	f->c = c;
	f->ino = st->ino;
	f->flags = flags;
	f->cred = *dfsc_cred(c);
	f->attr = *st;
	f->attr_ms = dfsc_now_ms();
	f->size = st->size;
	f->fresh = fresh;
	f->created = fresh;
	f->first_block = first;
	f->block_size = st->block_size != 0 ? st->block_size
			: c->set.block_size != 0 ? c->set.block_size : DFSC_DEFAULT_BLOCK_SIZE;
	dfsc_breader_init(&f->br);
	*out = f;
	return 0;
}

static bool writable(int flags)
{
	return (flags & O_ACCMODE) == O_WRONLY || (flags & O_ACCMODE) == O_RDWR;
}

static int truncate_ino(dfs_client *c, struct dfs_stat *st)
{
	struct dfs_setattr sa = { .valid = DFS_SET_SIZE, .size = 0 };
	if (st->size == 0)
		return 0;
	return dfs_setattr(c, st->ino, NULL, &sa, st);
}

/* Joins a symlink's target to the directory of link_path, resolving "."
 * and ".." lexically. Returns a malloc'd absolute path or NULL. */
static char *resolve_link(const char *link_path, const char *target)
{
	size_t cap = strlen(link_path) + strlen(target) + 2;
	char *in = malloc(cap), *outp = malloc(cap + 1);
	if (in == NULL || outp == NULL)
		goto fail;
	if (target[0] == '/') {
		strcpy(in, target);
	} else {
		strcpy(in, link_path);
		char *slash = strrchr(in, '/');
		strcpy(slash + 1, target);
	}
	size_t o = 0;
	for (char *tok = strtok(in, "/"); tok != NULL; tok = strtok(NULL, "/")) {
		if (strcmp(tok, ".") == 0)
			continue;
		if (strcmp(tok, "..") == 0) {
			while (o > 0 && outp[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
			continue;
		}
		outp[o++] = '/';
		size_t l = strlen(tok);
		memcpy(outp + o, tok, l);
		o += l;
	}
	if (o == 0)
		outp[o++] = '/';
	outp[o] = '\0';
	free(in);
	return outp;
fail:
	free(in);
	free(outp);
	return NULL;
}

/* Stats path, following a final symlink up to DFSC_SYMLINK_FOLLOW_MAX times. */
static int stat_follow(dfs_client *c, const char *path, struct dfs_stat *st)
{
	char *cur = NULL;
	char target[4096];
	int rc = dfs_stat(c, path, st);
	for (int hops = 0; rc == 0 && S_ISLNK(st->mode); hops++) {
		if (hops == DFSC_SYMLINK_FOLLOW_MAX) {
			rc = -ELOOP;
			break;
		}
		rc = dfs_readlink(c, st->ino, NULL, target, sizeof(target));
		if (rc < 0)
			break;
		if ((size_t)rc >= sizeof(target)) {
			rc = -ENAMETOOLONG;
			break;
		}
		char *next = resolve_link(cur != NULL ? cur : path, target);
		free(cur);
		cur = next;
		if (cur == NULL) {
			rc = -ENOMEM;
			break;
		}
		rc = dfs_stat(c, cur, st);
	}
	free(cur);
	return rc;
}

static int create_flags(int flags)
{
	int nf = 0;
	if (flags & O_EXCL)
		nf |= DFS__NS_FLAG__NSF_EXCL;
	if ((flags & O_TRUNC) && writable(flags))
		nf |= DFS__NS_FLAG__NSF_OVERWRITE;
	return nf;
}

/* Whether a CREATE for writing should ask for the new file's block 0
 * (NSF_ALLOC_BLOCK): yes while most files this client created lately got
 * data (tar, cp, a build: the writer then asks for nothing more before
 * its data goes out), no after a run of files closed empty (touch, lock
 * files), whose blocks would only be allocated to be dropped. */
static bool alloc_with_create(dfs_client *c)
{
	return atomic_load(&c->created_written) > 0;
}

/* A file this client created was closed: wrote, or left empty. */
static void learn_created(dfs_client *c, bool wrote)
{
	int v = atomic_load(&c->created_written);
	int next = wrote ? (v < DFSC_CREATED_WRITTEN_MAX ? v + 1 : v)
			 : (v > -DFSC_CREATED_WRITTEN_MAX ? v - 1 : v);
	atomic_compare_exchange_strong(&c->created_written, &v, next); /* a lost race is fine */
}

/* CREATE request common to the path and *_at forms; on an existing file
 * (without O_EXCL) falls back to looking it up. *fresh: the file has no
 * block, the namenode made it (O_EXCL) or emptied it (O_TRUNC) for this
 * call (a CREATE without either also answers for a file that exists).
 * *first: NULL, or (malloc'd) block 0 the namenode allocated with it. */
static int do_create(dfs_client *c, Dfs__NsRequest *req, int flags, uint32_t mode,
		     unsigned replication, uint64_t block_size, struct dfs_stat *st, bool *fresh,
		     struct dfsc_lblock **first)
{
	*fresh = false;
	*first = NULL;
	const struct dfsc_cred *cr = dfsc_cred(c);
	req->has_mode = req->has_uid = req->has_gid = req->has_flags = 1;
	req->mode = mode & 07777;
	req->uid = cr->uid;
	req->gid = cr->gid;
	req->flags = (uint32_t)create_flags(flags);
	if (replication == 0)
		replication = c->set.replication;
	if (block_size == 0)
		block_size = c->set.block_size;
	if (replication > DFSC_REPLICATION_MAX)
		return -EINVAL;
	if (replication != 0) {
		req->has_replication = 1;
		req->replication = replication;
	}
	if (block_size != 0) {
		req->has_block_size = 1;
		req->block_size = block_size;
	}
	if (writable(flags) && req->flags != 0 && alloc_with_create(c))
		req->flags |= DFS__NS_FLAG__NSF_ALLOC_BLOCK;
	Dfs__NsReply *reply;
	int rc = dfsc_call(c, DFS_M_CREATE, req, &reply);
	if (rc == 0) {
		if (reply->attr == NULL)
			rc = -DFS_EPROTOCOL;
		else
			dfsc_attr_to_stat(reply->attr, st);
		if (rc == 0 && reply->block != NULL && reply->block->index == 0 &&
		    (*first = malloc(sizeof(**first))) != NULL &&
		    dfsc_lblock_from_pb(reply->block, *first) < 0) {
			free(*first);
			*first = NULL;
		}
		dfs__ns_reply__free_unpacked(reply, NULL);
	}
	*fresh = rc == 0 && (req->flags & (DFS__NS_FLAG__NSF_EXCL | DFS__NS_FLAG__NSF_OVERWRITE));
	if (rc != -EEXIST || (flags & O_EXCL))
		return rc;
	Dfs__NsRequest look = DFS__NS_REQUEST__INIT;
	look.path = req->path;
	look.has_parent = req->has_parent;
	look.parent = req->parent;
	look.name = req->name;
	rc = dfsc_call_attr(c, req->path != NULL ? DFS_M_GETATTR : DFS_M_LOOKUP, &look, st);
	if (rc == 0 && (flags & O_TRUNC) && writable(flags) && S_ISREG(st->mode))
		rc = truncate_ino(c, st);
	return rc;
}

static int check_flags(int flags)
{
	int acc = flags & O_ACCMODE;
	if (acc != O_RDONLY && acc != O_WRONLY && acc != O_RDWR)
		return -EINVAL;
	return 0;
}

int dfs_open_ex(dfs_client *c, const char *path, int flags, uint32_t mode,
		unsigned replication, uint64_t block_size, dfs_file **out)
{
	struct dfs_stat st;
	bool fresh = false;
	struct dfsc_lblock *first = NULL;
	int rc = dfsc_check_path(path);
	*out = NULL;
	if (rc == 0)
		rc = check_flags(flags);
	if (rc < 0)
		return rc;
	if (flags & O_CREAT) {
		Dfs__NsRequest req = DFS__NS_REQUEST__INIT;
		req.path = (char *)path;
		rc = do_create(c, &req, flags, mode, replication, block_size, &st, &fresh, &first);
		if (rc == 0 && S_ISLNK(st.mode) && !(flags & O_EXCL)) {
			fresh = false;
			/* an existing symlink: open what it points to */
			rc = stat_follow(c, path, &st);
			if (rc == 0 && (flags & O_TRUNC) && writable(flags) && S_ISREG(st.mode))
				rc = truncate_ino(c, &st);
		}
	} else {
		rc = stat_follow(c, path, &st);
		if (rc == 0 && (flags & O_TRUNC) && writable(flags) && S_ISREG(st.mode))
			rc = truncate_ino(c, &st);
	}
	if (rc == 0 && S_ISDIR(st.mode) && !writable(flags))
		rc = -EISDIR;
	if (rc < 0) {
		free(first);
		return rc;
	}
	return new_file(c, &st, flags, fresh, first, out);
}

int dfs_open(dfs_client *c, const char *path, int flags, uint32_t mode, dfs_file **out)
{
	return dfs_open_ex(c, path, flags, mode, 0, 0, out);
}

int dfs_open_ino(dfs_client *c, uint64_t ino, int flags, dfs_file **out)
{
	struct dfs_stat st;
	*out = NULL;
	int rc = check_flags(flags);
	if (rc == 0)
		rc = dfs_stat_ino(c, ino, &st);
	if (rc == 0 && (flags & O_TRUNC) && writable(flags) && S_ISREG(st.mode))
		rc = truncate_ino(c, &st);
	if (rc < 0)
		return rc;
	return new_file(c, &st, flags & ~O_CREAT, false, NULL, out);
}

int dfs_create_at(dfs_client *c, uint64_t dir_ino, const char *name, int flags,
		  uint32_t mode, dfs_file **out, struct dfs_stat *st)
{
	Dfs__NsRequest req = DFS__NS_REQUEST__INIT;
	struct dfs_stat tmp;
	*out = NULL;
	int rc = check_flags(flags);
	if (rc < 0)
		return rc;
	if (dir_ino == 0) {
		rc = dfsc_check_path(name);
		req.path = (char *)name;
	} else {
		rc = dfsc_check_name(name);
		req.has_parent = 1;
		req.parent = dir_ino;
		req.name = (char *)name;
	}
	if (rc < 0)
		return rc;
	bool fresh;
	struct dfsc_lblock *first;
	rc = do_create(c, &req, flags, mode, 0, 0, &tmp, &fresh, &first);
	if (rc < 0)
		return rc;
	rc = new_file(c, &tmp, flags, fresh, first, out);
	if (rc == 0 && st != NULL)
		*st = tmp;
	return rc;
}

ssize_t dfs_pread(dfs_file *f, void *buf, size_t n, uint64_t off)
{
	if ((f->flags & O_ACCMODE) == O_WRONLY)
		return -EBADF;
	return dfsc_file_pread(f, buf, n, off);
}

ssize_t dfs_read(dfs_file *f, void *buf, size_t n)
{
	ssize_t got = dfs_pread(f, buf, n, f->pos);
	if (got > 0)
		f->pos += (uint64_t)got;
	return got;
}

ssize_t dfs_pwrite(dfs_file *f, const void *buf, size_t n, uint64_t off)
{
	if (!writable(f->flags))
		return -EBADF;
	return dfsc_file_pwrite(f, buf, n, off);
}

ssize_t dfs_write(dfs_file *f, const void *buf, size_t n)
{
	if (!writable(f->flags))
		return -EBADF;
	uint64_t off = (f->flags & O_APPEND) ? f->size : f->pos;
	ssize_t done = dfsc_file_pwrite(f, buf, n, off);
	if (done > 0)
		f->pos = off + (uint64_t)done;
	return done;
}

int64_t dfs_lseek(dfs_file *f, int64_t off, int whence)
{
	int64_t base;
	switch (whence) {
	case SEEK_SET: base = 0; break;
	case SEEK_CUR: base = (int64_t)f->pos; break;
	case SEEK_END: base = (int64_t)f->size; break;
	default: return -EINVAL;
	}
	if ((off > 0 && base > INT64_MAX - off) || base + off < 0)
		return -EINVAL;
	f->pos = (uint64_t)(base + off);
	return (int64_t)f->pos;
}

int dfs_fsync(dfs_file *f)
{
	if (!writable(f->flags))
		return 0;
	/* The stream ends here (last + sync) rather than staying open: a
	 * handle is clean after fsync, so its close does nothing. FUSE
	 * flushes (fsync) at close(2) but releases later, possibly after
	 * another handle reopened the block with a newer genstamp; a
	 * COMPLETE at release would then fail with DFS_ESTALE. Writing after
	 * fsync reopens the block (OPEN_BLOCK). */
	return dfsc_file_flush(f, true, true);
}

int dfs_ftruncate(dfs_file *f, uint64_t size)
{
	if (!writable(f->flags))
		return -EBADF;
	int rc = dfsc_file_flush(f, false, true);
	if (rc < 0)
		return rc;
	f->fresh = false;
	struct dfs_setattr sa = { .valid = DFS_SET_SIZE, .size = size };
	rc = dfs_setattr(f->c, f->ino, NULL, &sa, NULL);
	if (rc < 0)
		return rc;
	f->size = size;
	dfsc_file_cache_invalidate(f);
	return 0;
}

static bool later(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec != b->tv_sec ? a->tv_sec > b->tv_sec : a->tv_nsec > b->tv_nsec;
}

int dfs_fstat(dfs_file *f, struct dfs_stat *st)
{
	int rc = dfs_stat_ino(f->c, f->ino, st);
	if (rc == 0 && dfsc_file_dirty(f))
		st->size = f->size;
	if (rc == 0 && (f->pend.valid & DFS_SET_MODE))
		st->mode = (st->mode & ~07777u) | (f->pend.mode & 07777);
	if (rc == 0 && (f->pend.valid & DFS_SET_ATIME))
		st->atime = f->pend.atime;
	if (rc == 0 && (f->pend.valid & DFS_SET_MTIME))
		st->mtime = f->pend.mtime;
	else if (rc == 0 && dfsc_file_dirty(f) && later(&f->attr.mtime, &st->mtime))
		st->mtime = st->ctime = f->attr.mtime; /* its last write's */
	return rc;
}

int dfs_fstat_recent(dfs_file *f, unsigned max_age_ms, struct dfs_stat *st)
{
	if (dfsc_now_ms() - f->attr_ms > (int64_t)max_age_ms)
		return -ESTALE;
	*st = f->attr; /* kept changes are in it already */
	st->size = f->size;
	return 0;
}

/* A change dfs_fsetattr_deferred may keep: explicit times, a mode that
 * adds permission bits only, a chown to the present owner and group, made
 * by the handle's opener as the file's owner (or root), while the handle
 * holds writes not yet published. Kept, it takes from nobody a right they
 * have now, so publishing it later opens no window. */
static bool deferrable(dfs_file *f, const struct dfs_setattr *sa)
{
	const struct dfsc_cred *cr = dfsc_cred(f->c);
	const unsigned ok = DFS_SET_MODE | DFS_SET_UID | DFS_SET_GID | DFS_SET_ATIME |
			    DFS_SET_MTIME;
	if ((sa->valid & ~ok) != 0 || sa->valid == 0 || !writable(f->flags) || f->write_err < 0)
		return false;
	if (cr->uid != f->cred.uid || (cr->uid != 0 && cr->uid != f->attr.uid))
		return false;
	if ((sa->valid & DFS_SET_UID) && sa->uid != f->attr.uid)
		return false;
	if ((sa->valid & DFS_SET_GID) && sa->gid != f->attr.gid)
		return false;
	uint32_t old = f->attr.mode & 07777, new = sa->mode & 07777;
	if ((sa->valid & DFS_SET_MODE) && ((old & ~new) != 0 || ((old ^ new) & 07000) != 0))
		return false;
	return dfsc_file_unpublished(f);
}

int dfs_fsetattr_deferred(dfs_file *f, const struct dfs_setattr *sa, struct dfs_stat *st)
{
	if (!deferrable(f, sa))
		return 0;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	if (sa->valid & DFS_SET_MODE) {
		f->pend.valid |= DFS_SET_MODE;
		f->pend.mode = sa->mode & 07777;
		f->attr.mode = (f->attr.mode & ~07777u) | f->pend.mode;
	}
	if (sa->valid & DFS_SET_ATIME) {
		f->pend.valid |= DFS_SET_ATIME;
		f->attr.atime = f->pend.atime = sa->atime;
	}
	if (sa->valid & DFS_SET_MTIME) {
		f->pend.valid |= DFS_SET_MTIME;
		f->attr.mtime = f->pend.mtime = sa->mtime;
	}
	f->attr.ctime = now; /* the COMPLETE stamps its own, later */
	if (st != NULL) {
		*st = f->attr;
		st->size = f->size;
	}
	return 1;
}

int dfs_close(dfs_file *f)
{
	int rc = 0;
	if (f == NULL)
		return 0;
	if (writable(f->flags))
		rc = dfsc_file_flush(f, true, true);
	if (f->created)
		learn_created(f->c, f->wrote);
	free(f->first_block);
	dfsc_file_write_free(f);
	dfsc_file_read_free(f);
	free(f);
	return rc;
}
