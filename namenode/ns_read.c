/* ns_read.c: read-only namespace methods: LOOKUP, GETATTR, READDIR (paged
 * straight off a LevelDB iterator: a directory of millions is never loaded
 * whole), READLINK, GET_BLOCKS (the block list; locations are added by the
 * block manager) and the namespace half of STATFS. */
#include "namenode/ns_txn.h"

#include "common/errors.h"
#include "common/frame.h"

#include <stdlib.h>
#include <string.h>

static int read_lookup(struct ns_txn *t, const Dfs__NsRequest *req, const struct ns_cred *cr,
		       Dfs__NsReply *r)
{
	struct ns_ent e;
	int rc = ns_resolve_ent(t, cr, req, false, &e);
	if (rc < 0)
		return rc;
	if (!e.exists)
		return -ENOENT;
	return ns_reply_attr(r, &e.in.a);
}

static int read_getattr(struct ns_txn *t, const Dfs__NsRequest *req, const struct ns_cred *cr,
			Dfs__NsReply *r)
{
	struct ns_inode in;
	int rc = ns_resolve_inode(t, cr, req, &in);
	return rc < 0 ? rc : ns_reply_attr(r, &in.a);
}

static int add_dirent(Dfs__NsReply *r, const char *name, size_t len, const Dfs__Attr *a)
{
	Dfs__DirEntry *de = malloc(sizeof(*de));
	Dfs__Attr *ac = malloc(sizeof(*ac));
	char *n = strndup(name, len);
	if (!de || !ac || !n) {
		free(de);
		free(ac);
		free(n);
		return -ENOMEM;
	}
	dfs__dir_entry__init(de);
	*ac = *a;
	ac->base = (ProtobufCMessage)PROTOBUF_C_MESSAGE_INIT(&dfs__attr__descriptor);
	de->name = n;
	de->attr = ac;
	r->entries[r->n_entries++] = de;
	return 0;
}

/* Fills one page from the iterator positioned at or after the cookie. */
static int readdir_page(struct ns_txn *t, leveldb_iterator_t *it, const struct ns_key *pre,
			const char *cookie, uint32_t max, Dfs__NsReply *r)
{
	size_t cl = cookie ? strlen(cookie) : 0;
	r->has_eof = true;
	r->eof = true;
	for (; leveldb_iter_valid(it); leveldb_iter_next(it)) {
		size_t kl, vl;
		const char *k = leveldb_iter_key(it, &kl);
		if (kl <= pre->len || memcmp(k, pre->b, pre->len) != 0)
			break;
		const char *name = k + pre->len;
		size_t nl = kl - pre->len;
		if (cl && nl == cl && memcmp(name, cookie, cl) == 0)
			continue;
		if (r->n_entries == max) {
			r->eof = false;
			break;
		}
		const char *v = leveldb_iter_value(it, &vl);
		struct ns_inode in;
		if (vl != 9 || ns_inode_get(t, ns_get_be64(v), &in) < 0)
			return -EIO;
		int rc = add_dirent(r, name, nl, &in.a);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int read_readdir(struct ns_txn *t, const Dfs__NsRequest *req, const struct ns_cred *cr,
			Dfs__NsReply *r)
{
	struct ns_inode dir;
	int rc = ns_resolve_inode(t, cr, req, &dir);
	if (rc < 0)
		return rc;
	if (dir.a.type != DFS__FILE_TYPE__FT_DIR)
		return -ENOTDIR;
	if ((rc = ns_perm(cr, &dir.a, NS_R)) < 0)
		return rc;
	uint32_t max = req->has_max_entries && req->max_entries ? req->max_entries
								: NS_READDIR_DEFAULT;
	if (max > NS_READDIR_MAX)
		max = NS_READDIR_MAX;
	struct ns_key pre, start;
	ns_key_dir_prefix(&pre, dir.a.ino);
	start = pre;
	if (req->cookie && req->cookie[0]) {
		size_t cl = strnlen(req->cookie, NS_NAME_MAX + 1);
		if (cl > NS_NAME_MAX)
			return -ENAMETOOLONG;
		ns_key_dirent(&start, dir.a.ino, req->cookie);
	}
	r->entries = calloc(max, sizeof(*r->entries));
	if (!r->entries)
		return -ENOMEM;
	leveldb_iterator_t *it = leveldb_create_iterator(t->ns->db, t->ns->ropts);
	leveldb_iter_seek(it, start.b, start.len);
	rc = readdir_page(t, it, &pre, req->cookie, max, r);
	leveldb_iter_destroy(it);
	if (rc == 0)
		rc = ns_reply_attr(r, &dir.a);
	return rc;
}

static int read_readlink(struct ns_txn *t, const Dfs__NsRequest *req, const struct ns_cred *cr,
			 Dfs__NsReply *r)
{
	struct ns_inode in;
	int rc = ns_resolve_inode(t, cr, req, &in);
	if (rc < 0)
		return rc;
	if (in.a.type != DFS__FILE_TYPE__FT_LNK)
		return -EINVAL;
	struct ns_key k;
	char *v;
	size_t vl;
	ns_key_link(&k, in.a.ino);
	if ((rc = ns_txn_get(t, &k, &v, &vl)) < 0)
		return rc == -ENOENT ? -EIO : rc;
	r->target = strndup(v, vl);
	free(v);
	if (!r->target)
		return -ENOMEM;
	return ns_reply_attr(r, &in.a);
}

static int add_located(Dfs__NsReply *r, size_t *cap, uint64_t index, const Dfs__BlockRef *b)
{
	if (r->n_blocks == *cap) {
		size_t nc = *cap ? 2 * *cap : 8;
		Dfs__LocatedBlock **n = realloc(r->blocks, nc * sizeof(*n));
		if (!n)
			return -ENOMEM;
		r->blocks = n;
		*cap = nc;
	}
	Dfs__LocatedBlock *save = r->block;
	r->block = NULL;
	int rc = ns_reply_block(r, index, b);
	if (rc == 0)
		r->blocks[r->n_blocks++] = r->block;
	r->block = save;
	return rc;
}

/* Blocks overlapping [offset, offset + length) (length 0 or absent: to the
 * end), sorted by index; reply attr carries the size. */
static int read_get_blocks(struct ns_txn *t, const Dfs__NsRequest *req,
			   const struct ns_cred *cr, Dfs__NsReply *r)
{
	struct ns_inode in;
	int rc = ns_resolve_inode(t, cr, req, &in);
	if (rc < 0)
		return rc;
	if (in.a.type == DFS__FILE_TYPE__FT_DIR)
		return -EISDIR;
	if (in.a.type != DFS__FILE_TYPE__FT_REG)
		return -EINVAL;
	uint64_t bs = in.a.block_size ? in.a.block_size : 1;
	uint64_t first = req->has_offset ? req->offset / bs : 0;
	uint64_t last = UINT64_MAX;
	if (req->has_length && req->length > 0 && req->offset + req->length > req->offset)
		last = (req->offset + req->length - 1) / bs;
	struct ns_key pre, start;
	ns_key_block_prefix(&pre, in.a.ino);
	ns_key_block(&start, in.a.ino, first);
	leveldb_iterator_t *it = leveldb_create_iterator(t->ns->db, t->ns->ropts);
	size_t cap = 0;
	for (leveldb_iter_seek(it, start.b, start.len); rc == 0 && leveldb_iter_valid(it);
	     leveldb_iter_next(it)) {
		size_t kl, vl;
		const char *k = leveldb_iter_key(it, &kl);
		if (kl != pre.len + 8 || memcmp(k, pre.b, pre.len) != 0)
			break;
		uint64_t index = ns_get_be64(k + pre.len);
		if (index > last)
			break;
		const char *v = leveldb_iter_value(it, &vl);
		Dfs__BlockRef *b = dfs__block_ref__unpack(NULL, vl, (const uint8_t *)v);
		if (!b) {
			rc = -EIO;
			break;
		}
		rc = add_located(r, &cap, index, b);
		dfs__block_ref__free_unpacked(b, NULL);
	}
	leveldb_iter_destroy(it);
	return rc < 0 ? rc : ns_reply_attr(r, &in.a);
}

static int read_statfs(struct ns_txn *t, Dfs__NsReply *r)
{
	r->statfs = malloc(sizeof(*r->statfs));
	if (!r->statfs)
		return -ENOMEM;
	dfs__stat_fs__init(r->statfs);
	r->statfs->files = t->ns->c.inodes;
	r->statfs->blocks = t->ns->c.blocks;
	return 0;
}

int ns_read(struct ns *ns, uint32_t method, const Dfs__NsRequest *req, Dfs__NsReply *reply)
{
	struct ns_txn t;
	struct ns_cred cr;
	int rc;
	ns_cred_from_req(&cr, req);
	ns_txn_begin(&t, ns, 0, false);
	switch (method) {
	case DFS_M_LOOKUP: rc = read_lookup(&t, req, &cr, reply); break;
	case DFS_M_GETATTR: rc = read_getattr(&t, req, &cr, reply); break;
	case DFS_M_READDIR: rc = read_readdir(&t, req, &cr, reply); break;
	case DFS_M_READLINK: rc = read_readlink(&t, req, &cr, reply); break;
	case DFS_M_GET_BLOCKS: rc = read_get_blocks(&t, req, &cr, reply); break;
	case DFS_M_STATFS: rc = read_statfs(&t, reply); break;
	case DFS_M_GETXATTR: rc = ns_read_getxattr(&t, req, &cr, reply); break;
	case DFS_M_LISTXATTR: rc = ns_read_listxattr(&t, req, &cr, reply); break;
	case DFS_M_PING: rc = 0; break;
	default: rc = -EOPNOTSUPP; break;
	}
	ns_txn_end(&t);
	if (rc < 0)
		ns_reply_clear(reply);
	reply->status = rc;
	return rc;
}

int ns_read_written_file(struct ns *ns, const Dfs__NsRequest *req, Dfs__NsReply *reply)
{
	struct ns_txn t;
	struct ns_cred cr;
	struct ns_inode in;
	ns_cred_from_req(&cr, req);
	ns_txn_begin(&t, ns, 0, false);
	int rc = req->has_block_index ? ns_written_file(&t, req, &cr, &in) : -EINVAL;
	if (rc == 0)
		rc = ns_reply_attr(reply, &in.a);
	ns_txn_end(&t);
	if (rc < 0)
		ns_reply_clear(reply);
	return reply->status = rc;
}

int ns_block_info(struct ns *ns, uint64_t block_id, uint64_t *genstamp, uint64_t *length,
		  uint32_t *replication)
{
	struct ns_txn t;
	struct ns_key k;
	char *v;
	size_t vl;
	ns_txn_begin(&t, ns, 0, false);
	ns_key_blkidx(&k, block_id);
	int rc = ns_txn_get(&t, &k, &v, &vl);
	if (rc < 0)
		goto out;
	uint64_t ino = vl == 16 ? ns_get_be64(v) : 0, index = vl == 16 ? ns_get_be64(v + 8) : 0;
	free(v);
	Dfs__BlockRef b;
	struct ns_inode in;
	if ((rc = ns_block_get(&t, ino, index, &b)) < 0 || (rc = ns_inode_get(&t, ino, &in)) < 0)
		goto out;
	if (b.block_id != block_id) {
		rc = -ENOENT;
		goto out;
	}
	*genstamp = b.genstamp;
	*length = b.length;
	*replication = in.a.replication;
out:
	ns_txn_end(&t);
	return rc;
}
