/* ns_modify.c: mutations that change an existing inode: SETATTR (chmod,
 * chown, truncate/extend, times), SETREP, and the block operations of a
 * file: ADD_BLOCK, OPEN_BLOCK, COMPLETE. */
#include "namenode/ns_txn.h"

#include "common/errors.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static bool is_owner(const struct ns_cred *cr, const Dfs__Attr *a)
{
	return !cr->check || cr->uid == 0 || cr->uid == a->uid;
}

static bool is_root(const struct ns_cred *cr) { return !cr->check || cr->uid == 0; }

/* Cuts or extends a regular file to size; frees blocks past the end and
 * records the shortened length of a partial last block. */
static int set_size(struct ns_txn *t, struct ns_inode *in, uint64_t size)
{
	uint64_t bs = in->a.block_size ? in->a.block_size : 1;
	uint64_t keep = size / bs + (size % bs ? 1 : 0);
	int rc = ns_blocks_free_from(t, in->a.ino, keep);
	if (rc < 0)
		return rc;
	if (size % bs) {
		Dfs__BlockRef b;
		rc = ns_block_get(t, in->a.ino, size / bs, &b);
		if (rc == 0 && b.length > size % bs) {
			b.length = size % bs;
			ns_block_put(t, in->a.ino, size / bs, &b);
		} else if (rc < 0 && rc != -ENOENT) {
			return rc;
		}
	}
	in->a.size = size;
	in->a.mtime_ns = t->now;
	return 0;
}

/* May cr make the changes of flags f (NSF_SET_*) to in? */
static int check_setattr(const Dfs__NsRequest *req, uint32_t f, const struct ns_cred *cr,
			 const struct ns_inode *in)
{
	int rc;
	if ((f & DFS__NS_FLAG__NSF_SET_MODE) && !is_owner(cr, &in->a))
		return -EPERM;
	if ((f & DFS__NS_FLAG__NSF_SET_UID) && !is_root(cr) && req->uid != in->a.uid)
		return -EPERM;
	if ((f & DFS__NS_FLAG__NSF_SET_GID) && !is_root(cr) && req->gid != in->a.gid &&
	    (!is_owner(cr, &in->a) || !ns_cred_in_group(cr, req->gid)))
		return -EPERM;
	if (f & DFS__NS_FLAG__NSF_SET_SIZE) {
		if (in->a.type == DFS__FILE_TYPE__FT_DIR)
			return -EISDIR;
		if (in->a.type != DFS__FILE_TYPE__FT_REG)
			return -EINVAL;
		if ((rc = ns_perm(cr, &in->a, NS_W)) < 0)
			return rc;
	}
	bool explicit_time = ((f & DFS__NS_FLAG__NSF_SET_ATIME) && req->has_atime_ns) ||
			     ((f & DFS__NS_FLAG__NSF_SET_MTIME) && req->has_mtime_ns);
	bool any_time = f & (DFS__NS_FLAG__NSF_SET_ATIME | DFS__NS_FLAG__NSF_SET_MTIME);
	if (explicit_time && !is_owner(cr, &in->a))
		return -EPERM;
	if (any_time && !is_owner(cr, &in->a) && ns_perm(cr, &in->a, NS_W) < 0)
		return -EACCES;
	return 0;
}

/* Makes the changes of flags f to *in (checked). Times: an explicit
 * value, or (flag without value) the command's now. */
static int set_attrs(struct ns_txn *t, const Dfs__NsRequest *req, uint32_t f,
		     const struct ns_cred *cr, struct ns_inode *in)
{
	int rc;
	if (f & DFS__NS_FLAG__NSF_SET_MODE) {
		in->a.mode = req->mode & 07777;
		if (cr->check && cr->uid != 0 && !ns_cred_in_group(cr, in->a.gid))
			in->a.mode &= ~(uint32_t)S_ISGID;
	}
	if (f & DFS__NS_FLAG__NSF_SET_UID)
		in->a.uid = req->uid;
	if (f & DFS__NS_FLAG__NSF_SET_GID)
		in->a.gid = req->gid;
	if ((f & DFS__NS_FLAG__NSF_SET_SIZE) && (rc = set_size(t, in, req->size)) < 0)
		return rc;
	if (f & DFS__NS_FLAG__NSF_SET_ATIME)
		in->a.atime_ns = req->has_atime_ns ? req->atime_ns : t->now;
	if (f & DFS__NS_FLAG__NSF_SET_MTIME)
		in->a.mtime_ns = req->has_mtime_ns ? req->mtime_ns : t->now;
	in->a.ctime_ns = t->now;
	return 0;
}

int ns_op_setattr(struct ns_txn *t, const Dfs__NsRequest *req, const struct ns_cred *cr,
		  Dfs__NsReply *r)
{
	struct ns_inode in;
	int rc = ns_resolve_inode(t, cr, req, &in);
	if (rc < 0)
		return rc;
	if ((rc = check_setattr(req, req->flags, cr, &in)) < 0)
		return rc;
	if ((rc = set_attrs(t, req, req->flags, cr, &in)) < 0)
		return rc;
	ns_inode_put(t, &in);
	return t->err < 0 ? t->err : ns_reply_attr(r, &in.a);
}

/* Resolves a regular file; the caller may write it or, with owner_may,
 * owns it. */
static int regular_file(struct ns_txn *t, const Dfs__NsRequest *req, const struct ns_cred *cr,
			bool owner_may, struct ns_inode *in)
{
	int rc = ns_resolve_inode(t, cr, req, in);
	if (rc < 0)
		return rc;
	if (in->a.type == DFS__FILE_TYPE__FT_DIR)
		return -EISDIR;
	if (in->a.type != DFS__FILE_TYPE__FT_REG)
		return -EINVAL;
	return owner_may && is_owner(cr, &in->a) ? 0 : ns_perm(cr, &in->a, NS_W);
}

int ns_op_setrep(struct ns_txn *t, const Dfs__NsRequest *req, const struct ns_cred *cr,
		 Dfs__NsReply *r)
{
	struct ns_inode in;
	int rc = regular_file(t, req, cr, false, &in);
	if (rc < 0)
		return rc;
	if (!req->has_replication || req->replication < 1 ||
	    req->replication > NS_REPLICATION_MAX)
		return -EINVAL;
	in.a.replication = req->replication;
	in.a.ctime_ns = t->now;
	ns_inode_put(t, &in);
	return t->err < 0 ? t->err : ns_reply_attr(r, &in.a);
}

/* The file of a writer's block call (ADD_BLOCK, OPEN_BLOCK, COMPLETE): one
 * the caller may write or owns. Write permission is checked when a file is
 * opened (or created); its owner may make it read-only while writing
 * through a handle (cp of a read-only file: create, write, fchmod 0444,
 * close) and must still be able to finish, as with a local fd. An owner
 * could chmod u+w anyway, so this grants nothing new. */
int ns_written_file(struct ns_txn *t, const Dfs__NsRequest *req, const struct ns_cred *cr,
		    struct ns_inode *in)
{
	return regular_file(t, req, cr, true, in);
}

/* The file of a block operation: written, and the request names a block. */
static int block_file(struct ns_txn *t, const Dfs__NsRequest *req, const struct ns_cred *cr,
		      struct ns_inode *in)
{
	int rc = ns_written_file(t, req, cr, in);
	if (rc < 0)
		return rc;
	return req->has_block_index ? 0 : -EINVAL;
}

/* Stores block b at block_index and replies with the file and the block. */
static int put_block_reply(struct ns_txn *t, const Dfs__NsRequest *req,
			   const struct ns_inode *in, const Dfs__BlockRef *b, Dfs__NsReply *r)
{
	ns_block_put(t, in->a.ino, req->block_index, b);
	if (t->err < 0)
		return t->err;
	int rc = ns_reply_attr(r, &in->a);
	return rc < 0 ? rc : ns_reply_block(r, req->block_index, b);
}

/* A new block (fresh id and genstamp, length 0) at block_index; a block
 * already there is replaced and freed (an abandoned pipeline). */
int ns_op_add_block(struct ns_txn *t, const Dfs__NsRequest *req, const struct ns_cred *cr,
		    Dfs__NsReply *r)
{
	struct ns_inode in;
	int rc = block_file(t, req, cr, &in);
	if (rc < 0)
		return rc;
	Dfs__BlockRef b;
	rc = ns_block_get(t, in.a.ino, req->block_index, &b);
	if (rc == 0)
		rc = ns_txn_free_block(t, b.block_id, b.genstamp);
	else if (rc == -ENOENT)
		rc = 0;
	if (rc < 0)
		return rc;
	t->c.blocks++;
	dfs__block_ref__init(&b);
	b.block_id = t->c.next_block++;
	b.genstamp = t->c.next_gs++;
	b.length = 0;
	return put_block_reply(t, req, &in, &b, r);
}

/* Bumps the genstamp of an existing block before it is rewritten. */
int ns_op_open_block(struct ns_txn *t, const Dfs__NsRequest *req, const struct ns_cred *cr,
		     Dfs__NsReply *r)
{
	struct ns_inode in;
	int rc = block_file(t, req, cr, &in);
	if (rc < 0)
		return rc;
	Dfs__BlockRef b;
	if ((rc = ns_block_get(t, in.a.ino, req->block_index, &b)) < 0)
		return rc;
	t->ns->last_prev_genstamp = b.genstamp;
	b.genstamp = t->c.next_gs++;
	return put_block_reply(t, req, &in, &b, r);
}

static int complete_block(struct ns_txn *t, const struct ns_inode *in, const Dfs__BlockRef *ref)
{
	struct ns_key k;
	char *v;
	size_t vl;
	ns_key_blkidx(&k, ref->block_id);
	int rc = ns_txn_get(t, &k, &v, &vl);
	if (rc == -ENOENT)
		return -DFS_ESTALE;
	if (rc < 0)
		return rc;
	uint64_t ino = vl == 16 ? ns_get_be64(v) : 0, index = vl == 16 ? ns_get_be64(v + 8) : 0;
	free(v);
	if (ino != in->a.ino)
		return -DFS_ESTALE;
	Dfs__BlockRef cur;
	if ((rc = ns_block_get(t, ino, index, &cur)) < 0)
		return rc;
	if (cur.genstamp != ref->genstamp)
		return -DFS_ESTALE;
	if (ref->length > in->a.block_size)
		return -EINVAL;
	cur.length = ref->length;
	ns_block_put(t, ino, index, &cur);
	return t->err;
}

/* Whether block ref is recorded (some file's block at the index its
 * blkidx key names has its id). */
static int recorded(struct ns_txn *t, uint64_t block_id)
{
	struct ns_key k;
	char *v;
	size_t vl;
	ns_key_blkidx(&k, block_id);
	int rc = ns_txn_get(t, &k, &v, &vl);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	uint64_t ino = vl == 16 ? ns_get_be64(v) : 0, index = vl == 16 ? ns_get_be64(v + 8) : 0;
	free(v);
	Dfs__BlockRef cur;
	rc = ns_block_get(t, ino, index, &cur);
	if (rc == -ENOENT)
		return 0;
	return rc < 0 ? rc : cur.block_id == block_id;
}

/* Records a block the leader allocated without a log entry (ns.h) at
 * index: the block there before (an abandoned pipeline) is freed. The
 * counters move past its genstamp, so that a later OPEN_BLOCK of it gets
 * a newer one. */
static int record_block(struct ns_txn *t, const struct ns_inode *in, uint64_t index,
			const Dfs__BlockRef *ref)
{
	if (ref->block_id < NS_UNRECORDED_ID_MIN || ref->genstamp < NS_UNRECORDED_ID_MIN)
		return -DFS_ESTALE; /* not one of the allocator's */
	if (ref->length > in->a.block_size)
		return -EINVAL;
	Dfs__BlockRef old, b;
	int rc = ns_block_get(t, in->a.ino, index, &old);
	if (rc == 0)
		rc = ns_txn_free_block(t, old.block_id, old.genstamp);
	else if (rc == -ENOENT)
		rc = 0;
	else
		return rc;
	if (rc < 0)
		return rc;
	t->c.blocks++; /* a replaced block was counted out by its free */
	dfs__block_ref__init(&b);
	b.block_id = ref->block_id;
	b.genstamp = ref->genstamp;
	b.length = ref->length;
	ns_block_put(t, in->a.ino, index, &b);
	if (t->c.next_gs <= ref->genstamp)
		t->c.next_gs = ref->genstamp + 1;
	if (t->c.next_block <= ref->block_id)
		t->c.next_block = ref->block_id + 1;
	return t->err;
}

/* Records the final lengths of written blocks (and the blocks themselves
 * where no COMPLETE recorded them yet), the new file size and the
 * attribute changes kept with them. */
int ns_op_complete(struct ns_txn *t, const Dfs__NsRequest *req, const struct ns_cred *cr,
		   Dfs__NsReply *r)
{
	struct ns_inode in;
	int rc = ns_written_file(t, req, cr, &in);
	if (rc < 0)
		return rc;
	bool indexed = req->n_block_indexes == req->n_blocks;
	for (size_t i = 0; i < req->n_blocks; i++) {
		rc = indexed ? recorded(t, req->blocks[i]->block_id) : 1;
		if (rc == 1)
			rc = complete_block(t, &in, req->blocks[i]);
		else if (rc == 0)
			rc = record_block(t, &in, req->block_indexes[i], req->blocks[i]);
		if (rc < 0)
			return rc;
	}
	if (req->has_size)
		in.a.size = req->size;
	in.a.mtime_ns = in.a.ctime_ns = t->now;
	/* Attribute changes the writer kept for this COMPLETE (libdfs's
	 * dfs_fsetattr_deferred: tar's utimes, chown and chmod of each file
	 * it writes). Made where a SETATTR by the caller would be allowed,
	 * else left out: the data lands either way. */
	uint32_t kept = req->flags & (DFS__NS_FLAG__NSF_SET_MODE | DFS__NS_FLAG__NSF_SET_UID |
				      DFS__NS_FLAG__NSF_SET_GID | DFS__NS_FLAG__NSF_SET_ATIME |
				      DFS__NS_FLAG__NSF_SET_MTIME);
	if (kept && check_setattr(req, kept, cr, &in) == 0 &&
	    (rc = set_attrs(t, req, kept, cr, &in)) < 0)
		return rc;
	ns_inode_put(t, &in);
	return t->err < 0 ? t->err : ns_reply_attr(r, &in.a);
}
