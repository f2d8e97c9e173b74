/* test-namespace.c: the namenode's namespace (namenode/ns*.c) on a real
 * LevelDB in a mkdtemp directory: every operation and its error codes,
 * readdir paging, rename rules, recursive delete, block genstamps,
 * extended attributes (rules, bounds, freed with their inode),
 * determinism (same commands -> same key/value dump), a command's
 * effects applied on a second store, and reopening. */
#include "namenode/ns.h"

#include <leveldb/c.h>

#include "common/errors.h"
#include "common/frame.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

struct fx {
	char dir[64];
	struct ns *ns;
	uint64_t index;
	int64_t now;
	struct fx *mirror; /* gets each mutation's effects (test_effects) */
};

static void mirror_effects(struct fx *f);

/* ns_apply at the next index (and on f->mirror through its effects). */
static int apply_next(struct fx *f, Dfs__NsCommand *cmd, Dfs__NsReply *r)
{
	if (f->mirror)
		ns_effects_begin(f->ns);
	int rc = ns_apply(f->ns, cmd, ++f->index, r);
	assert_int_equal(f->ns->c.applied, f->index);
	if (f->mirror)
		mirror_effects(f);
	return rc;
}

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/test-namespace-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	char path[128];
	snprintf(path, sizeof(path), "%s/name", f->dir);
	assert_int_equal(ns_format(path, "test-cluster", 1000, 0, 0, 0), 0);
	assert_int_equal(ns_format(path, "test-cluster", 1000, 0, 0, 0), -EEXIST);
	assert_int_equal(ns_open(path, &f->ns), 0);
	f->now = 1000000;
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;
	ns_close(f->ns);
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* Applies (mutations) or reads; returns the status, *attr (if given) gets
 * the reply attributes. */
static int op(struct fx *f, uint32_t method, Dfs__NsRequest *req, Dfs__Attr *attr)
{
	Dfs__NsReply r = DFS__NS_REPLY__INIT;
	int rc;
	if (ns_is_mutation(method)) {
		Dfs__NsCommand cmd = DFS__NS_COMMAND__INIT;
		cmd.method = method;
		cmd.req = req;
		cmd.now_ns = f->now += 1000;
		rc = apply_next(f, &cmd, &r);
	} else {
		rc = ns_read(f->ns, method, req, &r);
	}
	assert_int_equal(rc, r.status);
	if (attr && r.attr)
		*attr = *r.attr;
	ns_reply_clear(&r);
	return rc;
}

static int path_op(struct fx *f, uint32_t method, const char *path, uint32_t flags,
		   Dfs__Attr *a)
{
	Dfs__NsRequest req = DFS__NS_REQUEST__INIT;
	req.path = (char *)path;
	req.has_flags = true;
	req.flags = flags;
	req.has_mode = true;
	req.mode = method == DFS_M_MKDIR ? 0755 : 0644;
	return op(f, method, &req, a);
}

static int mkdir_p(struct fx *f, const char *p) { return path_op(f, DFS_M_MKDIR, p, 4, NULL); }
static int mkd(struct fx *f, const char *p) { return path_op(f, DFS_M_MKDIR, p, 0, NULL); }
static int creat_(struct fx *f, const char *p, uint32_t fl)
{
	return path_op(f, DFS_M_CREATE, p, fl, NULL);
}
/* Sets the mode and owner of path (as the superuser). */
static void chmod_(struct fx *f, const char *path, uint32_t mode, uint32_t uid)
{
	Dfs__NsRequest s = DFS__NS_REQUEST__INIT;
	s.path = (char *)path;
	s.has_flags = true;
	s.flags = DFS__NS_FLAG__NSF_SET_MODE | DFS__NS_FLAG__NSF_SET_UID;
	s.has_mode = s.has_uid = true;
	s.mode = mode;
	s.uid = uid;
	assert_int_equal(op(f, DFS_M_SETATTR, &s, NULL), 0);
}
static int stat_(struct fx *f, const char *p, Dfs__Attr *a)
{
	return path_op(f, DFS_M_GETATTR, p, 0, a);
}

static int two_path(struct fx *f, uint32_t method, const char *a, const char *b, uint32_t fl)
{
	Dfs__NsRequest req = DFS__NS_REQUEST__INIT;
	req.path = (char *)a;
	req.target = (char *)b;
	req.has_flags = true;
	req.flags = fl;
	return op(f, method, &req, NULL);
}

static void test_mkdir_create_lookup(void **state)
{
	struct fx *f = *state;
	Dfs__Attr a;
	assert_int_equal(mkd(f, "/a"), 0);
	assert_int_equal(mkd(f, "/a"), -EEXIST);
	assert_int_equal(mkd(f, "/x/y"), -ENOENT);
	assert_int_equal(mkdir_p(f, "/x/y/z"), 0);
	assert_int_equal(mkdir_p(f, "/x/y/z"), 0);
	assert_int_equal(mkdir_p(f, "/"), 0);
	assert_int_equal(stat_(f, "/x/y/z", &a), 0);
	assert_int_equal(a.type, DFS__FILE_TYPE__FT_DIR);
	assert_int_equal(a.nlink, 2);
	assert_int_equal(stat_(f, "/x", &a), 0);
	assert_int_equal(a.nlink, 3);
	assert_int_equal(creat_(f, "/a/f", 1), 0);
	assert_int_equal(creat_(f, "/a/f", 1), -EEXIST);
	assert_int_equal(creat_(f, "/a/f", 0), 0);
	assert_int_equal(creat_(f, "/a", 0), -EISDIR);
	assert_int_equal(mkdir_p(f, "/a/f/g"), -ENOTDIR);
	assert_int_equal(mkdir_p(f, "/a/f"), -EEXIST);
	assert_int_equal(creat_(f, "/a/f/g", 0), -ENOTDIR);
	assert_int_equal(stat_(f, "/a/f", &a), 0);
	assert_int_equal(a.type, DFS__FILE_TYPE__FT_REG);
	assert_int_equal(a.mode, 0644);
	assert_int_equal(a.nlink, 1);
	assert_int_equal(a.replication, 3);
	/* lookup by parent + name */
	Dfs__Attr dir;
	assert_int_equal(stat_(f, "/a", &dir), 0);
	Dfs__NsRequest req = DFS__NS_REQUEST__INIT;
	req.has_parent = true;
	req.parent = dir.ino;
	req.name = "f";
	Dfs__Attr b;
	assert_int_equal(op(f, DFS_M_LOOKUP, &req, &b), 0);
	assert_int_equal(b.ino, a.ino);
	req.name = "nope";
	assert_int_equal(op(f, DFS_M_LOOKUP, &req, NULL), -ENOENT);
	/* getattr by ino */
	Dfs__NsRequest g = DFS__NS_REQUEST__INIT;
	g.has_ino = true;
	g.ino = a.ino;
	assert_int_equal(op(f, DFS_M_GETATTR, &g, &b), 0);
	assert_int_equal(b.ino, a.ino);
	g.ino = 999999;
	assert_int_equal(op(f, DFS_M_GETATTR, &g, NULL), -ENOENT);
}

static void test_bad_names(void **state)
{
	struct fx *f = *state;
	char longname[300];
	memset(longname, 'n', 256);
	longname[0] = '/';
	longname[257] = '\0';
	memset(longname + 1, 'n', 256);
	assert_int_equal(mkd(f, longname), -ENAMETOOLONG);
	longname[256] = '\0'; /* 255 bytes: fine */
	assert_int_equal(mkd(f, longname), 0);
	assert_int_equal(mkd(f, "/./b"), -EINVAL);
	assert_int_equal(mkd(f, "/nope/./b"), -ENOENT);
	assert_int_equal(mkd(f, "/.."), -EINVAL);
	assert_int_equal(mkd(f, "relative"), -EINVAL);
	Dfs__NsRequest req = DFS__NS_REQUEST__INIT;
	req.has_parent = true;
	req.parent = 1;
	const char *bad[] = {"", ".", "..", "a/b"};
	for (size_t i = 0; i < 4; i++) {
		req.name = (char *)bad[i];
		assert_int_equal(op(f, DFS_M_MKDIR, &req, NULL), -EINVAL);
		assert_int_equal(op(f, DFS_M_CREATE, &req, NULL), -EINVAL);
	}
}

static void test_setattr_truncate(void **state)
{
	struct fx *f = *state;
	Dfs__Attr a;
	Dfs__NsRequest req = DFS__NS_REQUEST__INIT;
	req.path = "/f";
	req.has_block_size = true;
	req.block_size = 1000;
	assert_int_equal(op(f, DFS_M_CREATE, &req, &a), 0);
	assert_int_equal(a.block_size, 1000);
	/* three blocks, complete with lengths 1000, 1000, 500 */
	Dfs__BlockRef refs[3], *rp[3];
	for (int i = 0; i < 3; i++) {
		Dfs__NsRequest ab = DFS__NS_REQUEST__INIT;
		ab.path = "/f";
		ab.has_block_index = true;
		ab.block_index = (uint64_t)i;
		Dfs__NsReply r = DFS__NS_REPLY__INIT;
		Dfs__NsCommand cmd = DFS__NS_COMMAND__INIT;
		cmd.method = DFS_M_ADD_BLOCK;
		cmd.req = &ab;
		cmd.now_ns = ++f->now;
		assert_int_equal(apply_next(f, &cmd, &r), 0);
		dfs__block_ref__init(&refs[i]);
		refs[i].block_id = r.block->block->block_id;
		refs[i].genstamp = r.block->block->genstamp;
		refs[i].length = i < 2 ? 1000 : 500;
		rp[i] = &refs[i];
		ns_reply_clear(&r);
	}
	Dfs__NsRequest c = DFS__NS_REQUEST__INIT;
	c.path = "/f";
	c.n_blocks = 3;
	c.blocks = rp;
	c.has_size = true;
	c.size = 2500;
	assert_int_equal(op(f, DFS_M_COMPLETE, &c, &a), 0);
	assert_int_equal(a.size, 2500);
	assert_int_equal(f->ns->c.blocks, 3);
	/* truncate to 1200: block 2 freed, block 1 recorded as 200 bytes */
	Dfs__NsRequest s = DFS__NS_REQUEST__INIT;
	s.path = "/f";
	s.has_flags = true;
	s.flags = DFS__NS_FLAG__NSF_SET_SIZE;
	s.has_size = true;
	s.size = 1200;
	ns_freed_clear(f->ns);
	assert_int_equal(op(f, DFS_M_SETATTR, &s, &a), 0);
	assert_int_equal(a.size, 1200);
	assert_int_equal(f->ns->n_freed, 1);
	assert_int_equal(f->ns->freed[0].block_id, refs[2].block_id);
	assert_int_equal(f->ns->c.blocks, 2);
	Dfs__NsRequest gb = DFS__NS_REQUEST__INIT;
	gb.path = "/f";
	Dfs__NsReply r = DFS__NS_REPLY__INIT;
	assert_int_equal(ns_read(f->ns, DFS_M_GET_BLOCKS, &gb, &r), 0);
	assert_int_equal(r.n_blocks, 2);
	assert_int_equal(r.blocks[0]->index, 0);
	assert_int_equal(r.blocks[1]->index, 1);
	assert_int_equal(r.blocks[1]->block->length, 200);
	assert_int_equal(r.attr->size, 1200);
	ns_reply_clear(&r);
	/* only the range asked for */
	gb.has_offset = true;
	gb.offset = 1100;
	gb.has_length = true;
	gb.length = 10;
	assert_int_equal(ns_read(f->ns, DFS_M_GET_BLOCKS, &gb, &r), 0);
	assert_int_equal(r.n_blocks, 1);
	assert_int_equal(r.blocks[0]->index, 1);
	ns_reply_clear(&r);
}

static void test_setattr_attrs(void **state)
{
	struct fx *f = *state;
	Dfs__Attr a;
	assert_int_equal(creat_(f, "/f", 0), 0);
	Dfs__NsRequest s = DFS__NS_REQUEST__INIT;
	s.path = "/f";
	s.has_flags = true;
	s.flags = DFS__NS_FLAG__NSF_SET_SIZE;
	s.has_size = true;
	/* extend, chmod, times, on a directory */
	s.size = 5000;
	s.flags |= DFS__NS_FLAG__NSF_SET_MODE | DFS__NS_FLAG__NSF_SET_MTIME;
	s.has_mode = true;
	s.mode = 0600;
	s.has_mtime_ns = true;
	s.mtime_ns = 42;
	assert_int_equal(op(f, DFS_M_SETATTR, &s, &a), 0);
	assert_int_equal(a.size, 5000);
	assert_int_equal(a.mode, 0600);
	assert_int_equal(a.mtime_ns, 42);
	s.flags = DFS__NS_FLAG__NSF_SET_ATIME; /* no value: the command's time */
	assert_int_equal(op(f, DFS_M_SETATTR, &s, &a), 0);
	assert_int_equal(a.atime_ns, f->now);
	assert_int_equal(mkd(f, "/d"), 0);
	s.path = "/d";
	s.flags = DFS__NS_FLAG__NSF_SET_SIZE;
	assert_int_equal(op(f, DFS_M_SETATTR, &s, NULL), -EISDIR);
	/* permissions: chmod by a non-owner, chown by non-root */
	s.path = "/f";
	s.flags = DFS__NS_FLAG__NSF_SET_MODE;
	s.has_caller_uid = true;
	s.caller_uid = 1000;
	assert_int_equal(op(f, DFS_M_SETATTR, &s, NULL), -EPERM);
	s.flags = DFS__NS_FLAG__NSF_SET_UID;
	s.has_uid = true;
	s.uid = 1000;
	assert_int_equal(op(f, DFS_M_SETATTR, &s, NULL), -EPERM);
	s.caller_uid = 0;
	assert_int_equal(op(f, DFS_M_SETATTR, &s, &a), 0);
	assert_int_equal(a.uid, 1000);
}

static void test_permissions(void **state)
{
	struct fx *f = *state;
	assert_int_equal(mkd(f, "/priv"), 0);
	Dfs__NsRequest s = DFS__NS_REQUEST__INIT;
	s.path = "/priv";
	s.has_flags = true;
	s.flags = DFS__NS_FLAG__NSF_SET_MODE;
	s.has_mode = true;
	s.mode = 0700;
	assert_int_equal(op(f, DFS_M_SETATTR, &s, NULL), 0);
	Dfs__NsRequest req = DFS__NS_REQUEST__INIT;
	req.path = "/priv/x";
	req.has_caller_uid = true;
	req.caller_uid = 1000;
	req.has_caller_gid = true;
	req.caller_gid = 1000;
	assert_int_equal(op(f, DFS_M_CREATE, &req, NULL), -EACCES);
	assert_int_equal(op(f, DFS_M_MKDIR, &req, NULL), -EACCES);
	req.caller_uid = 0;
	Dfs__Attr a;
	assert_int_equal(op(f, DFS_M_CREATE, &req, &a), 0);
	assert_int_equal(a.uid, 0);
	req.caller_uid = 1000;
	assert_int_equal(op(f, DFS_M_GETATTR, &req, NULL), -EACCES);
	/* a user creating in a world-writable dir owns the entry */
	s.path = "/pub";
	assert_int_equal(mkd(f, "/pub"), 0);
	s.mode = 0777;
	assert_int_equal(op(f, DFS_M_SETATTR, &s, NULL), 0);
	req.path = "/pub/mine";
	assert_int_equal(op(f, DFS_M_CREATE, &req, &a), 0);
	assert_int_equal(a.uid, 1000);
	assert_int_equal(a.gid, 1000);
}

static int readdir_all(struct fx *f, const char *path, uint32_t page, char ***names)
{
	size_t n = 0, cap = 0;
	char *cookie = NULL;
	*names = NULL;
	for (;;) {
		Dfs__NsRequest req = DFS__NS_REQUEST__INIT;
		req.path = (char *)path;
		req.cookie = cookie;
		req.has_max_entries = true;
		req.max_entries = page;
		Dfs__NsReply r = DFS__NS_REPLY__INIT;
		int rc = ns_read(f->ns, DFS_M_READDIR, &req, &r);
		if (rc < 0)
			return rc;
		assert_true(r.n_entries <= page);
		for (size_t i = 0; i < r.n_entries; i++) {
			if (n == cap) {
				cap = cap ? 2 * cap : 64;
				*names = realloc(*names, cap * sizeof(char *));
			}
			(*names)[n++] = strdup(r.entries[i]->name);
		}
		bool eof = r.eof;
		free(cookie);
		cookie = n ? strdup((*names)[n - 1]) : NULL;
		ns_reply_clear(&r);
		if (eof)
			break;
	}
	free(cookie);
	return (int)n;
}

static void free_names(char **names, int n)
{
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static void test_readdir_paging(void **state)
{
	struct fx *f = *state;
	assert_int_equal(mkd(f, "/big"), 0);
	char p[64];
	for (int i = 0; i < 2500; i++) {
		snprintf(p, sizeof(p), "/big/file-%05d", (i * 7919) % 2500);
		assert_int_equal(creat_(f, p, 1), 0);
	}
	char **names;
	int n = readdir_all(f, "/big", 1000, &names);
	assert_int_equal(n, 2500);
	for (int i = 0; i < n; i++) {
		snprintf(p, sizeof(p), "file-%05d", i);
		assert_string_equal(names[i], p);
	}
	free_names(names, n);
	/* a cookie that is no longer there still resumes after it */
	Dfs__NsRequest req = DFS__NS_REQUEST__INIT;
	req.path = "/big";
	req.cookie = "file-00999x";
	req.has_max_entries = true;
	req.max_entries = 2;
	Dfs__NsReply r = DFS__NS_REPLY__INIT;
	assert_int_equal(ns_read(f->ns, DFS_M_READDIR, &req, &r), 0);
	assert_int_equal(r.n_entries, 2);
	assert_string_equal(r.entries[0]->name, "file-01000");
	assert_false(r.eof);
	ns_reply_clear(&r);
	assert_int_equal(creat_(f, "/plain", 0), 0);
	req.path = "/plain";
	req.cookie = NULL;
	assert_int_equal(ns_read(f->ns, DFS_M_READDIR, &req, &r), -ENOTDIR);
	ns_reply_clear(&r);
	n = readdir_all(f, "/", 1, &names);
	assert_int_equal(n, 2);
	free_names(names, n);
}

static void test_rename(void **state)
{
	struct fx *f = *state;
	Dfs__Attr a, b;
	assert_int_equal(mkdir_p(f, "/d1/sub"), 0);
	assert_int_equal(mkdir_p(f, "/d2"), 0);
	assert_int_equal(creat_(f, "/d1/f", 0), 0);
	assert_int_equal(creat_(f, "/d2/g", 0), 0);
	assert_int_equal(stat_(f, "/d1/f", &a), 0);
	/* file over file */
	assert_int_equal(two_path(f, DFS_M_RENAME, "/d1/f", "/d2/g", 0), 0);
	assert_int_equal(stat_(f, "/d1/f", NULL), -ENOENT);
	assert_int_equal(stat_(f, "/d2/g", &b), 0);
	assert_int_equal(b.ino, a.ino);
	assert_int_equal(f->ns->c.inodes, 5);
	/* NOREPLACE */
	assert_int_equal(creat_(f, "/d2/h", 0), 0);
	assert_int_equal(two_path(f, DFS_M_RENAME, "/d2/g", "/d2/h", DFS__NS_FLAG__NSF_NOREPLACE),
			 -EEXIST);
	/* types */
	assert_int_equal(two_path(f, DFS_M_RENAME, "/d2/g", "/d1/sub", 0), -EISDIR);
	assert_int_equal(two_path(f, DFS_M_RENAME, "/d1/sub", "/d2/g", 0), -ENOTDIR);
	assert_int_equal(two_path(f, DFS_M_RENAME, "/nope", "/d2/x", 0), -ENOENT);
	/* dir under itself */
	assert_int_equal(two_path(f, DFS_M_RENAME, "/d1", "/d1/sub/x", 0), -EINVAL);
	assert_int_equal(two_path(f, DFS_M_RENAME, "/d1", "/d1/x", 0), -EINVAL);
	/* dir over non-empty dir, then over empty dir (nlinks follow) */
	assert_int_equal(mkdir_p(f, "/d3/full/x"), 0);
	assert_int_equal(two_path(f, DFS_M_RENAME, "/d1/sub", "/d3/full", 0), -ENOTEMPTY);
	assert_int_equal(mkdir_p(f, "/d3/empty"), 0);
	assert_int_equal(stat_(f, "/d1/sub", &a), 0);
	assert_int_equal(two_path(f, DFS_M_RENAME, "/d1/sub", "/d3/empty", 0), 0);
	assert_int_equal(stat_(f, "/d3/empty", &b), 0);
	assert_int_equal(b.ino, a.ino);
	assert_int_equal(stat_(f, "/d1", &a), 0);
	assert_int_equal(a.nlink, 2);
	assert_int_equal(stat_(f, "/d3", &a), 0);
	assert_int_equal(a.nlink, 4);
	/* move a dir to another parent: nlink moves too; and it is found */
	assert_int_equal(two_path(f, DFS_M_RENAME, "/d3/empty", "/d1/back", 0), 0);
	assert_int_equal(stat_(f, "/d1", &a), 0);
	assert_int_equal(a.nlink, 3);
	assert_int_equal(stat_(f, "/d3", &a), 0);
	assert_int_equal(a.nlink, 3);
	/* the moved dir's new parent counts for the under-itself check */
	assert_int_equal(two_path(f, DFS_M_RENAME, "/d1", "/d1/back/deeper", 0), -EINVAL);
	/* rename onto itself */
	assert_int_equal(two_path(f, DFS_M_RENAME, "/d2/h", "/d2/h", 0), 0);
	assert_int_equal(two_path(f, DFS_M_RENAME, "/", "/x", 0), -EBUSY);
}

static void test_unlink_rmdir_delete(void **state)
{
	struct fx *f = *state;
	assert_int_equal(mkdir_p(f, "/t/a/b"), 0);
	assert_int_equal(creat_(f, "/t/a/b/f", 0), 0);
	assert_int_equal(creat_(f, "/t/file", 0), 0);
	assert_int_equal(path_op(f, DFS_M_UNLINK, "/t/a", 0, NULL), -EISDIR);
	assert_int_equal(path_op(f, DFS_M_RMDIR, "/t/file", 0, NULL), -ENOTDIR);
	assert_int_equal(path_op(f, DFS_M_RMDIR, "/t/a/b", 0, NULL), -ENOTEMPTY);
	assert_int_equal(path_op(f, DFS_M_UNLINK, "/t/a/b/f", 0, NULL), 0);
	assert_int_equal(path_op(f, DFS_M_UNLINK, "/t/a/b/f", 0, NULL), -ENOENT);
	assert_int_equal(path_op(f, DFS_M_RMDIR, "/t/a/b", 0, NULL), 0);
	assert_int_equal(path_op(f, DFS_M_RMDIR, "/", 0, NULL), -EBUSY);
	assert_int_equal(path_op(f, DFS_M_DELETE, "/t", 0, NULL), -ENOTEMPTY);
	/* recursive delete of a tree */
	char p[64];
	for (int i = 0; i < 20; i++) {
		snprintf(p, sizeof(p), "/t/a/d%d/e", i);
		assert_int_equal(mkdir_p(f, p), 0);
		snprintf(p, sizeof(p), "/t/a/d%d/e/f", i);
		assert_int_equal(creat_(f, p, 0), 0);
	}
	uint64_t before = f->ns->c.inodes;
	assert_int_equal(path_op(f, DFS_M_DELETE, "/t", DFS__NS_FLAG__NSF_RECURSIVE, NULL), 0);
	assert_int_equal(stat_(f, "/t", NULL), -ENOENT);
	assert_int_equal(f->ns->c.inodes, before - 63);
	assert_int_equal(f->ns->c.inodes, 1);
	assert_false(ns_gc_pending(f->ns));
	Dfs__Attr root;
	assert_int_equal(stat_(f, "/", &root), 0);
	assert_int_equal(root.nlink, 2);
	assert_int_equal(path_op(f, DFS_M_DELETE, "/t", DFS__NS_FLAG__NSF_RECURSIVE, NULL),
			 -ENOENT);
}

static int count_keys(void *arg, const char *k, size_t kl, const char *v, size_t vl)
{
	(void)k;
	(void)kl;
	(void)v;
	(void)vl;
	(*(size_t *)arg)++;
	return 0;
}

static void test_delete_large_tree(void **state)
{
	struct fx *f = *state;
	size_t keys0 = 0;
	assert_int_equal(ns_foreach(f->ns, count_keys, &keys0), 0);
	char p[64];
	Dfs__Attr big;
	assert_int_equal(mkdir_p(f, "/big/sub"), 0);
	assert_int_equal(stat_(f, "/big", &big), 0);
	for (int i = 0; i < 12000; i++) {
		snprintf(p, sizeof(p), "/big/%s%d", i % 2 ? "sub/" : "", i);
		assert_int_equal(creat_(f, p, 0), 0);
	}
	assert_int_equal(path_op(f, DFS_M_DELETE, "/big", DFS__NS_FLAG__NSF_RECURSIVE, NULL), 0);
	assert_int_equal(stat_(f, "/big", NULL), -ENOENT);
	assert_true(ns_gc_pending(f->ns)); /* more than one batch */
	/* the detached directory takes no new entries by its inode number */
	Dfs__NsRequest in = DFS__NS_REQUEST__INIT;
	in.has_parent = true;
	in.parent = big.ino;
	in.name = "late";
	assert_int_equal(op(f, DFS_M_CREATE, &in, NULL), -ENOENT);
	int rounds = 0;
	while (ns_gc_pending(f->ns) && rounds++ < 100) {
		Dfs__NsRequest req = DFS__NS_REQUEST__INIT;
		assert_int_equal(op(f, NS_M_GC, &req, NULL), 0);
	}
	assert_false(ns_gc_pending(f->ns));
	assert_int_equal(f->ns->c.inodes, 1);
	size_t keys1 = 0;
	assert_int_equal(ns_foreach(f->ns, count_keys, &keys1), 0);
	assert_int_equal(keys1, keys0);
}

static void test_symlink_link_mknod(void **state)
{
	struct fx *f = *state;
	Dfs__Attr a;
	assert_int_equal(two_path(f, DFS_M_SYMLINK, "/ln", "", 0), -EINVAL);
	Dfs__NsRequest req = DFS__NS_REQUEST__INIT;
	req.path = "/ln";
	req.target = "some/target";
	assert_int_equal(op(f, DFS_M_SYMLINK, &req, &a), 0);
	assert_int_equal(a.type, DFS__FILE_TYPE__FT_LNK);
	assert_int_equal(a.size, 11);
	assert_int_equal(op(f, DFS_M_SYMLINK, &req, NULL), -EEXIST);
	Dfs__NsReply r = DFS__NS_REPLY__INIT;
	Dfs__NsRequest rl = DFS__NS_REQUEST__INIT;
	rl.path = "/ln";
	assert_int_equal(ns_read(f->ns, DFS_M_READLINK, &rl, &r), 0);
	assert_string_equal(r.target, "some/target");
	ns_reply_clear(&r);
	assert_int_equal(creat_(f, "/file", 0), 0);
	rl.path = "/file";
	assert_int_equal(ns_read(f->ns, DFS_M_READLINK, &rl, &r), -EINVAL);
	ns_reply_clear(&r);
	/* hard links */
	assert_int_equal(two_path(f, DFS_M_LINK, "/file", "/file2", 0), 0);
	assert_int_equal(two_path(f, DFS_M_LINK, "/file", "/file3", 0), 0);
	assert_int_equal(two_path(f, DFS_M_LINK, "/file", "/file3", 0), -EEXIST);
	assert_int_equal(stat_(f, "/file", &a), 0);
	assert_int_equal(a.nlink, 3);
	assert_int_equal(mkd(f, "/dir"), 0);
	assert_int_equal(two_path(f, DFS_M_LINK, "/dir", "/dir2", 0), -EPERM);
	assert_int_equal(path_op(f, DFS_M_UNLINK, "/file", 0, NULL), 0);
	assert_int_equal(stat_(f, "/file2", &a), 0);
	assert_int_equal(a.nlink, 2);
	/* rename one link over another of the same inode: nothing happens */
	assert_int_equal(two_path(f, DFS_M_RENAME, "/file2", "/file3", 0), 0);
	assert_int_equal(stat_(f, "/file2", &a), 0);
	assert_int_equal(a.nlink, 2);
	uint64_t inodes = f->ns->c.inodes;
	assert_int_equal(path_op(f, DFS_M_UNLINK, "/file2", 0, NULL), 0);
	assert_int_equal(f->ns->c.inodes, inodes);
	assert_int_equal(path_op(f, DFS_M_UNLINK, "/file3", 0, NULL), 0);
	assert_int_equal(f->ns->c.inodes, inodes - 1);
	/* mknod */
	Dfs__NsRequest mk = DFS__NS_REQUEST__INIT;
	mk.path = "/fifo";
	mk.has_mode = true;
	mk.mode = S_IFIFO | 0600;
	assert_int_equal(op(f, DFS_M_MKNOD, &mk, &a), 0);
	assert_int_equal(a.type, DFS__FILE_TYPE__FT_FIFO);
	assert_int_equal(a.mode, 0600);
	mk.path = "/chr";
	mk.mode = S_IFCHR | 0600;
	mk.has_rdev = true;
	mk.rdev = 0x0501;
	assert_int_equal(op(f, DFS_M_MKNOD, &mk, &a), 0);
	assert_int_equal(a.type, DFS__FILE_TYPE__FT_CHR);
	assert_int_equal(a.rdev, 0x0501);
	mk.path = "/bad";
	mk.mode = S_IFDIR | 0600;
	assert_int_equal(op(f, DFS_M_MKNOD, &mk, NULL), -EINVAL);
}

static int block_op(struct fx *f, uint32_t method, const char *path, uint64_t index,
		    Dfs__BlockRef *out)
{
	Dfs__NsRequest req = DFS__NS_REQUEST__INIT;
	req.path = (char *)path;
	req.has_block_index = true;
	req.block_index = index;
	Dfs__NsReply r = DFS__NS_REPLY__INIT;
	Dfs__NsCommand cmd = DFS__NS_COMMAND__INIT;
	cmd.method = method;
	cmd.req = &req;
	cmd.now_ns = ++f->now;
	int rc = apply_next(f, &cmd, &r);
	if (rc == 0) {
		assert_non_null(r.block);
		assert_int_equal(r.block->index, index);
		*out = *r.block->block;
	}
	ns_reply_clear(&r);
	return rc;
}

/* COMPLETE of path with one block (*rp) and the file size. */
static Dfs__NsRequest complete_req(const char *path, Dfs__BlockRef **rp, uint64_t size)
{
	Dfs__NsRequest c = DFS__NS_REQUEST__INIT;
	c.path = (char *)path;
	c.n_blocks = 1;
	c.blocks = rp;
	c.has_size = true;
	c.size = size;
	return c;
}

static void test_blocks(void **state)
{
	struct fx *f = *state;
	Dfs__BlockRef b0, b1, b0b, b0c;
	assert_int_equal(creat_(f, "/f", 0), 0);
	assert_int_equal(mkd(f, "/d"), 0);
	assert_int_equal(block_op(f, DFS_M_ADD_BLOCK, "/d", 0, &b0), -EISDIR);
	assert_int_equal(block_op(f, DFS_M_OPEN_BLOCK, "/f", 0, &b0), -ENOENT);
	assert_int_equal(block_op(f, DFS_M_ADD_BLOCK, "/f", 0, &b0), 0);
	assert_int_equal(block_op(f, DFS_M_ADD_BLOCK, "/f", 1, &b1), 0);
	assert_int_not_equal(b0.block_id, b1.block_id);
	assert_true(b1.genstamp > b0.genstamp);
	assert_int_equal(b0.length, 0);
	/* open_block bumps the genstamp, keeps the id */
	assert_int_equal(block_op(f, DFS_M_OPEN_BLOCK, "/f", 0, &b0b), 0);
	assert_int_equal(b0b.block_id, b0.block_id);
	assert_true(b0b.genstamp > b1.genstamp);
	assert_int_equal(f->ns->last_prev_genstamp, b0.genstamp);
	/* complete with the stale genstamp fails; with the current one works */
	Dfs__BlockRef ref = b0, *rp = &ref;
	ref.length = 77;
	Dfs__NsRequest c = complete_req("/f", &rp, 77);
	assert_int_equal(op(f, DFS_M_COMPLETE, &c, NULL), -DFS_ESTALE);
	ref.genstamp = b0b.genstamp;
	Dfs__Attr a;
	assert_int_equal(op(f, DFS_M_COMPLETE, &c, &a), 0);
	assert_int_equal(a.size, 77);
	uint64_t gs;
	uint64_t len;
	uint32_t rep;
	assert_int_equal(ns_block_info(f->ns, b0.block_id, &gs, &len, &rep), 0);
	assert_int_equal(gs, b0b.genstamp);
	assert_int_equal(len, 77);
	assert_int_equal(rep, 3);
	/* a second add_block at index 0 replaces (and frees) the old block */
	ns_freed_clear(f->ns);
	assert_int_equal(block_op(f, DFS_M_ADD_BLOCK, "/f", 0, &b0c), 0);
	assert_int_equal(f->ns->n_freed, 1);
	assert_int_equal(f->ns->freed[0].block_id, b0.block_id);
	assert_int_equal(ns_block_info(f->ns, b0.block_id, &gs, &len, &rep), -ENOENT);
	/* setrep */
	Dfs__NsRequest sr = DFS__NS_REQUEST__INIT;
	sr.path = "/f";
	sr.has_replication = true;
	sr.replication = 0;
	assert_int_equal(op(f, DFS_M_SETREP, &sr, NULL), -EINVAL);
	sr.replication = 2;
	assert_int_equal(op(f, DFS_M_SETREP, &sr, &a), 0);
	assert_int_equal(a.replication, 2);
	/* overwrite frees every block; unlink of a file frees its blocks */
	ns_freed_clear(f->ns);
	assert_int_equal(creat_(f, "/f", DFS__NS_FLAG__NSF_OVERWRITE), 0);
	assert_int_equal(f->ns->n_freed, 2);
	assert_int_equal(f->ns->c.blocks, 0);
	assert_int_equal(block_op(f, DFS_M_ADD_BLOCK, "/f", 0, &b0), 0);
	ns_freed_clear(f->ns);
	assert_int_equal(path_op(f, DFS_M_UNLINK, "/f", 0, NULL), 0);
	assert_int_equal(f->ns->n_freed, 1);
}


/* COMPLETE of a block the leader handed out without a log entry (ids and
 * genstamps of (term << NS_UNRECORDED_SHIFT) | n): recorded at its index,
 * a retry changes nothing, an id from the counters' range is refused, a
 * new block at the same index frees the old, and a later OPEN_BLOCK gets
 * a newer genstamp than the recorded one. */
static void test_complete_records_unrecorded(void **state)
{
	struct fx *f = *state;
	assert_int_equal(creat_(f, "/u", 0), 0);
	Dfs__BlockRef ref = DFS__BLOCK_REF__INIT, *rp = &ref;
	ref.block_id = ref.genstamp = (7ull << NS_UNRECORDED_SHIFT) | 5;
	ref.length = 1000;
	uint64_t idx = 0;
	Dfs__NsRequest c = complete_req("/u", &rp, 1000);
	c.n_block_indexes = 1;
	c.block_indexes = &idx;
	uint64_t blocks0 = f->ns->c.blocks;
	Dfs__Attr a;
	assert_int_equal(op(f, DFS_M_COMPLETE, &c, &a), 0);
	assert_int_equal(a.size, 1000);
	assert_int_equal(f->ns->c.blocks, blocks0 + 1);
	uint64_t gs, len;
	uint32_t rep;
	assert_int_equal(ns_block_info(f->ns, ref.block_id, &gs, &len, &rep), 0);
	assert_int_equal(gs, ref.genstamp);
	assert_int_equal(len, 1000);
	/* the same COMPLETE again (a retry, or a later fsync): a length update */
	ref.length = 1500;
	c.size = 1500;
	assert_int_equal(op(f, DFS_M_COMPLETE, &c, NULL), 0);
	assert_int_equal(f->ns->c.blocks, blocks0 + 1);
	assert_int_equal(ns_block_info(f->ns, ref.block_id, &gs, &len, &rep), 0);
	assert_int_equal(len, 1500);
	/* an unknown id below the allocator's range is not the writer's */
	Dfs__BlockRef bad = ref, *bp = &bad;
	bad.block_id = 12345;
	Dfs__NsRequest cb = complete_req("/u", &bp, 10);
	cb.n_block_indexes = 1;
	cb.block_indexes = &idx;
	assert_int_equal(op(f, DFS_M_COMPLETE, &cb, NULL), -DFS_ESTALE);
	/* a later OPEN_BLOCK gets a genstamp above the recorded one */
	Dfs__BlockRef ob;
	assert_int_equal(block_op(f, DFS_M_OPEN_BLOCK, "/u", 0, &ob), 0);
	assert_int_equal(ob.block_id, ref.block_id);
	assert_true(ob.genstamp > ref.genstamp);
	/* a new unrecorded block at index 0 replaces and frees it */
	Dfs__BlockRef nb = ref, *np = &nb;
	nb.block_id = nb.genstamp = (8ull << NS_UNRECORDED_SHIFT) | 1;
	nb.length = 10;
	Dfs__NsRequest cn = complete_req("/u", &np, 10);
	cn.n_block_indexes = 1;
	cn.block_indexes = &idx;
	ns_freed_clear(f->ns);
	assert_int_equal(op(f, DFS_M_COMPLETE, &cn, NULL), 0);
	assert_int_equal(f->ns->n_freed, 1);
	assert_int_equal(f->ns->freed[0].block_id, ref.block_id);
	assert_int_equal(f->ns->c.blocks, blocks0 + 1);
	assert_int_equal(ns_block_info(f->ns, ref.block_id, &gs, &len, &rep), -ENOENT);
	assert_int_equal(ns_block_info(f->ns, nb.block_id, &gs, &len, &rep), 0);
}

/* COMPLETE by the owner of a file made read-only since the open passes and
 * applies the attribute changes kept with it (mode, times); by another
 * user it is refused; changes the caller may not make are left out while
 * the data still lands. */
static void test_complete_kept_attrs(void **state)
{
	struct fx *f = *state;
	Dfs__BlockRef b;
	assert_int_equal(mkd(f, "/pub"), 0);
	chmod_(f, "/pub", 0777, 0);
	Dfs__NsRequest req = DFS__NS_REQUEST__INIT;
	req.path = "/pub/ro";
	req.has_mode = true;
	req.mode = 0600;
	req.has_caller_uid = req.has_caller_gid = true;
	req.caller_uid = req.caller_gid = 1000;
	assert_int_equal(op(f, DFS_M_CREATE, &req, NULL), 0);
	assert_int_equal(block_op(f, DFS_M_ADD_BLOCK, "/pub/ro", 0, &b), 0);
	chmod_(f, "/pub/ro", 0400, 1000);
	Dfs__BlockRef ref = b, *rp = &ref;
	ref.length = 10;
	Dfs__NsRequest c = complete_req("/pub/ro", &rp, 10);
	c.has_caller_uid = c.has_caller_gid = true;
	c.caller_uid = c.caller_gid = 2000;
	assert_int_equal(op(f, DFS_M_COMPLETE, &c, NULL), -EACCES); /* not the owner */
	c.caller_uid = c.caller_gid = 1000;
	c.has_flags = true;
	c.flags = DFS__NS_FLAG__NSF_SET_MODE | DFS__NS_FLAG__NSF_SET_MTIME;
	c.has_mode = true;
	c.mode = 0444;
	c.has_mtime_ns = true;
	c.mtime_ns = 123456789;
	Dfs__Attr a;
	assert_int_equal(op(f, DFS_M_COMPLETE, &c, &a), 0);
	assert_int_equal(a.size, 10);
	assert_int_equal(a.mode, 0444);
	assert_int_equal(a.mtime_ns, 123456789);
	/* a mode the caller may not set (root's file): left out, data lands */
	req.path = "/pub/roots";
	req.caller_uid = req.caller_gid = 0;
	req.mode = 0666;
	assert_int_equal(op(f, DFS_M_CREATE, &req, NULL), 0);
	assert_int_equal(block_op(f, DFS_M_ADD_BLOCK, "/pub/roots", 0, &b), 0);
	ref = b;
	ref.length = 20;
	c.path = "/pub/roots";
	c.size = 20;
	c.mode = 0777;
	assert_int_equal(op(f, DFS_M_COMPLETE, &c, &a), 0);
	assert_int_equal(a.size, 20);
	assert_int_equal(a.mode, 0666);
	assert_true(a.mtime_ns != 123456789);
}

static int count_prefix(void *arg, const char *k, size_t kl, const char *v, size_t vl)
{
	(void)v;
	(void)vl;
	if (kl > 2 && k[0] == 'r' && k[1] == '/')
		(*(size_t *)arg)++;
	return 0;
}

static int tagged(struct fx *f, uint32_t method, const char *path, uint32_t flags,
		  uint64_t seq, Dfs__Attr *a)
{
	Dfs__NsRequest req = DFS__NS_REQUEST__INIT;
	req.path = (char *)path;
	req.has_flags = true;
	req.flags = flags;
	req.has_client_id = true;
	req.client_id.data = (uint8_t *)"client-0123456789";
	req.client_id.len = 17;
	req.has_seq = true;
	req.seq = seq;
	return op(f, method, &req, a);
}

static void test_retry_cache(void **state)
{
	struct fx *f = *state;
	Dfs__Attr a, b;
	/* a retried exclusive create gets its first reply, not EEXIST */
	assert_int_equal(tagged(f, DFS_M_CREATE, "/f", DFS__NS_FLAG__NSF_EXCL, 1, &a), 0);
	uint64_t inodes = f->ns->c.inodes;
	assert_int_equal(tagged(f, DFS_M_CREATE, "/f", DFS__NS_FLAG__NSF_EXCL, 1, &b), 0);
	assert_int_equal(b.ino, a.ino);
	assert_int_equal(f->ns->c.inodes, inodes);
	assert_int_equal(tagged(f, DFS_M_CREATE, "/f", DFS__NS_FLAG__NSF_EXCL, 2, NULL), -EEXIST);
	/* a retried unlink succeeds again; failures are replayed as failures */
	assert_int_equal(tagged(f, DFS_M_UNLINK, "/f", 0, 3, NULL), 0);
	assert_int_equal(tagged(f, DFS_M_UNLINK, "/f", 0, 3, NULL), 0);
	assert_int_equal(tagged(f, DFS_M_UNLINK, "/f", 0, 2, NULL), -EEXIST);
	assert_int_equal(tagged(f, DFS_M_UNLINK, "/f", 0, 4, NULL), -ENOENT);
	size_t n = 0;
	assert_int_equal(ns_foreach(f->ns, count_prefix, &n), 0);
	assert_int_equal(n, 4);
	/* entries expire with command time */
	f->now += 200ll * 1000000000;
	for (int i = 0; i < 3; i++)
		assert_int_equal(mkd(f, i == 0 ? "/x" : i == 1 ? "/y" : "/z"), 0);
	n = 0;
	assert_int_equal(ns_foreach(f->ns, count_prefix, &n), 0);
	assert_int_equal(n, 0);
}

struct dump {
	char *buf;
	size_t len;
};
static struct dump dump_of(struct fx *f);
static void assert_dumps_equal(const struct dump *a, const struct dump *b);

static size_t retry_entries(struct fx *f)
{
	size_t n = 0;
	assert_int_equal(ns_foreach(f->ns, count_prefix, &n), 0);
	return n;
}

static void reopen(struct fx *f)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/name", f->dir);
	assert_int_equal(ns_sync(f->ns), 0);
	ns_close(f->ns);
	assert_int_equal(ns_open(path, &f->ns), 0);
}

/* Expiry with a clock that steps back (a new leader's): ten entries
 * expire, a command dated before them records one more, and later
 * commands expire it. do_reopen drops the in-memory expiry hint midway,
 * as a restarted node has none. */
static void expiry_workload(struct fx *f, int do_reopen)
{
	int64_t t0 = f->now;
	for (uint64_t seq = 1; seq <= 10; seq++)
		assert_int_equal(tagged(f, DFS_M_CREATE, "/e", 0, seq, NULL), 0);
	assert_int_equal(retry_entries(f), 10);
	f->now = t0 + 200ll * 1000000000;
	for (int i = 0; i < 3; i++) /* 4 expire per command */
		assert_int_equal(path_op(f, DFS_M_SETATTR, "/e", 0, NULL), 0);
	assert_int_equal(retry_entries(f), 0);
	f->now = t0 - 500000; /* before every entry so far */
	assert_int_equal(tagged(f, DFS_M_CREATE, "/e", 0, 11, NULL), 0);
	assert_int_equal(retry_entries(f), 1);
	if (do_reopen)
		reopen(f);
	f->now = t0 + 300ll * 1000000000;
	assert_int_equal(path_op(f, DFS_M_SETATTR, "/e", 0, NULL), 0);
	assert_int_equal(retry_entries(f), 0);
}

static void test_retry_expiry_clock_behind(void **state)
{
	struct fx *f = *state;
	struct fx *g;
	fx_setup((void **)&g);
	expiry_workload(f, 0);
	expiry_workload(g, 1);
	struct dump d1 = dump_of(f), d2 = dump_of(g);
	assert_dumps_equal(&d1, &d2);
	free(d1.buf);
	free(d2.buf);
	fx_teardown((void **)&g);
}

/* GETATTR of (parent inode, name), the way the FUSE client looks up. */
static int lookup_at(struct fx *f, uint64_t parent, const char *name, Dfs__Attr *a)
{
	Dfs__NsRequest req = DFS__NS_REQUEST__INIT;
	req.has_parent = true;
	req.parent = parent;
	req.name = (char *)name;
	return op(f, DFS_M_GETATTR, &req, a);
}

/* The record cache must never answer for what a command removed, in
 * particular entries a recursive delete frees without reading them
 * (renames and unlinks behind cached records: test_rename and others). */
static void test_record_cache_after_delete(void **state)
{
	struct fx *f = *state;
	Dfs__Attr d, sub, file;
	assert_int_equal(mkdir_p(f, "/d/sub"), 0);
	assert_int_equal(creat_(f, "/d/sub/f", 0), 0);
	assert_int_equal(stat_(f, "/d", &d), 0);
	assert_int_equal(lookup_at(f, d.ino, "sub", &sub), 0);
	assert_int_equal(lookup_at(f, sub.ino, "f", &file), 0);
	assert_int_equal(path_op(f, DFS_M_DELETE, "/d", DFS__NS_FLAG__NSF_RECURSIVE, NULL), 0);
	assert_int_equal(lookup_at(f, d.ino, "sub", NULL), -ENOENT);
	assert_int_equal(lookup_at(f, sub.ino, "f", NULL), -ENOENT);
	assert_int_equal(stat_(f, "/d", NULL), -ENOENT);
	/* a reopened namespace (empty cache) reads the same */
	reopen(f);
	assert_int_equal(lookup_at(f, sub.ino, "f", NULL), -ENOENT);
	assert_int_equal(stat_(f, "/d", NULL), -ENOENT);
}

static void workload(struct fx *f);

/* A layout-1 namespace (one key per counter) is moved to layout 2 (one
 * record) when opened: the state reads exactly as it was, record for
 * record, and goes on from the same counters. */
static void test_layout1_counters_migrate(void **state)
{
	struct fx *f = *state;
	static const char *const keys[] = {"m/next_ino", "m/next_block", "m/next_gs",
					   "m/applied", "m/inodes", "m/blocks", "m/garbage"};
	workload(f);
	struct dump before = dump_of(f);
	char path[128];
	snprintf(path, sizeof(path), "%s/name", f->dir);
	assert_int_equal(ns_sync(f->ns), 0);
	ns_close(f->ns);
	f->ns = NULL;
	/* rewrite it as layout 1 wrote it */
	char *err = NULL;
	leveldb_options_t *o = leveldb_options_create();
	leveldb_t *db = leveldb_open(o, path, &err);
	assert_null(err);
	leveldb_readoptions_t *ro = leveldb_readoptions_create();
	leveldb_writeoptions_t *wo = leveldb_writeoptions_create();
	size_t vl;
	char *v = leveldb_get(db, ro, "m/counters", 10, &vl, &err);
	assert_non_null(v);
	assert_int_equal(vl, 8 * 7);
	leveldb_writebatch_t *wb = leveldb_writebatch_create();
	for (size_t i = 0; i < 7; i++)
		leveldb_writebatch_put(wb, keys[i], strlen(keys[i]), v + 8 * i, 8);
	leveldb_free(v);
	leveldb_writebatch_delete(wb, "m/counters", 10);
	const char one[8] = {0, 0, 0, 0, 0, 0, 0, 1};
	leveldb_writebatch_put(wb, "m/layout", 8, one, 8);
	leveldb_write(db, wo, wb, &err);
	assert_null(err);
	leveldb_writebatch_destroy(wb);
	leveldb_writeoptions_destroy(wo);
	leveldb_readoptions_destroy(ro);
	leveldb_close(db);
	leveldb_options_destroy(o);
	assert_int_equal(ns_open(path, &f->ns), 0);
	struct dump after = dump_of(f);
	assert_dumps_equal(&before, &after);
	free(after.buf);
	/* and once more, now at layout 2: nothing to move */
	reopen(f);
	after = dump_of(f);
	assert_dumps_equal(&before, &after);
	free(before.buf);
	free(after.buf);
	Dfs__Attr a;
	assert_int_equal(creat_(f, "/after-migration", 0), 0);
	assert_int_equal(stat_(f, "/after-migration", &a), 0);
}

/* ---- extended attributes ---- */

/* A request naming path (or ino when path is NULL) and attribute name,
 * as caller uid (0: no caller, no checks). */
static void xa_init(Dfs__NsRequest *req, const char *path, uint64_t ino, const char *name,
		    uint32_t uid)
{
	dfs__ns_request__init(req);
	req->path = (char *)path;
	req->has_ino = path == NULL;
	req->ino = ino;
	req->xattr_name = (char *)name;
	if (uid) {
		req->has_caller_uid = req->has_caller_gid = true;
		req->caller_uid = req->caller_gid = uid;
	}
}

static int xa_set_as(struct fx *f, const char *path, const char *name, const void *v,
		     size_t vl, uint32_t flags, uint32_t uid)
{
	Dfs__NsRequest req;
	xa_init(&req, path, 0, name, uid);
	req.has_xattr_value = true;
	req.xattr_value.data = (uint8_t *)v;
	req.xattr_value.len = vl;
	req.has_flags = true;
	req.flags = flags;
	return op(f, DFS_M_SETXATTR, &req, NULL);
}

static int xa_set(struct fx *f, const char *path, const char *name, const char *v,
		  uint32_t flags)
{
	return xa_set_as(f, path, name, v, strlen(v), flags, 0);
}

static int xa_rm(struct fx *f, const char *path, const char *name, uint32_t uid)
{
	Dfs__NsRequest req;
	xa_init(&req, path, 0, name, uid);
	return op(f, DFS_M_REMOVEXATTR, &req, NULL);
}

/* GETXATTR: the value's length (copied into buf, NUL-terminated if it
 * fits) or the error. */
static int xa_get_as(struct fx *f, const char *path, const char *name, char *buf, size_t cap,
		     uint32_t uid)
{
	Dfs__NsRequest req;
	Dfs__NsReply r = DFS__NS_REPLY__INIT;
	xa_init(&req, path, 0, name, uid);
	int rc = ns_read(f->ns, DFS_M_GETXATTR, &req, &r);
	assert_int_equal(rc, r.status);
	if (rc == 0) {
		assert_int_equal(r.n_xattrs, 1);
		assert_string_equal(r.xattrs[0]->name, name);
		assert_true(r.xattrs[0]->has_value);
		rc = (int)r.xattrs[0]->value.len;
		if (buf && (size_t)rc < cap) {
			memcpy(buf, r.xattrs[0]->value.data, (size_t)rc);
			buf[rc] = '\0';
		}
	}
	ns_reply_clear(&r);
	return rc;
}

static int xa_get(struct fx *f, const char *path, const char *name, char *buf, size_t cap)
{
	return xa_get_as(f, path, name, buf, cap, 0);
}

/* LISTXATTR: the names joined with ',' into out; returns their count. */
static int xa_list_as(struct fx *f, const char *path, char *out, size_t cap, uint32_t uid)
{
	Dfs__NsRequest req;
	Dfs__NsReply r = DFS__NS_REPLY__INIT;
	xa_init(&req, path, 0, NULL, uid);
	int rc = ns_read(f->ns, DFS_M_LISTXATTR, &req, &r);
	assert_int_equal(rc, r.status);
	out[0] = '\0';
	for (size_t i = 0; rc == 0 && i < r.n_xattrs; i++) {
		assert_false(r.xattrs[i]->has_value);
		snprintf(out + strlen(out), cap - strlen(out), "%s%s", i ? "," : "",
			 r.xattrs[i]->name);
	}
	if (rc == 0)
		rc = (int)r.n_xattrs;
	ns_reply_clear(&r);
	return rc;
}

static int xa_list(struct fx *f, const char *path, char *out, size_t cap)
{
	return xa_list_as(f, path, out, cap, 0);
}

static int count_xattr_keys(void *arg, const char *k, size_t kl, const char *v, size_t vl)
{
	(void)v;
	(void)vl;
	if (kl > 2 && k[0] == 'x' && k[1] == '/')
		(*(size_t *)arg)++;
	return 0;
}

static size_t xattr_keys(struct fx *f)
{
	size_t n = 0;
	assert_int_equal(ns_foreach(f->ns, count_xattr_keys, &n), 0);
	return n;
}

static void test_xattr_set_get_list(void **state)
{
	struct fx *f = *state;
	char buf[256], list[1024];
	Dfs__Attr a0, a1;
	assert_int_equal(creat_(f, "/f", 0), 0);
	assert_int_equal(stat_(f, "/f", &a0), 0);
	assert_int_equal(xa_list(f, "/f", list, sizeof(list)), 0);
	assert_int_equal(xa_get(f, "/f", "user.a", buf, sizeof(buf)), -ENODATA);
	assert_int_equal(xa_set(f, "/f", "user.a", "hello", 0), 0);
	assert_int_equal(xa_get(f, "/f", "user.a", buf, sizeof(buf)), 5);
	assert_string_equal(buf, "hello");
	assert_int_equal(stat_(f, "/f", &a1), 0);
	assert_true(a1.ctime_ns > a0.ctime_ns); /* a change of the inode */
	assert_int_equal(a1.mtime_ns, a0.mtime_ns);
	/* create-only / replace-only */
	assert_int_equal(xa_set(f, "/f", "user.a", "x", DFS__NS_FLAG__NSF_XATTR_CREATE), -EEXIST);
	assert_int_equal(xa_set(f, "/f", "user.b", "x", DFS__NS_FLAG__NSF_XATTR_REPLACE),
			 -ENODATA);
	assert_int_equal(xa_set(f, "/f", "user.a", "bye", DFS__NS_FLAG__NSF_XATTR_REPLACE), 0);
	assert_int_equal(xa_get(f, "/f", "user.a", buf, sizeof(buf)), 3);
	assert_string_equal(buf, "bye");
	assert_int_equal(xa_set(f, "/f", "user.b", "", DFS__NS_FLAG__NSF_XATTR_CREATE), 0);
	assert_int_equal(xa_get(f, "/f", "user.b", buf, sizeof(buf)), 0);
	/* names come back sorted, whatever the order they were set in */
	assert_int_equal(xa_set(f, "/f", "user.c", "3", 0), 0);
	assert_int_equal(xa_set(f, "/f", "user.aa", "2", 0), 0);
	assert_int_equal(xa_list(f, "/f", list, sizeof(list)), 4);
	assert_string_equal(list, "user.a,user.aa,user.b,user.c");
	/* binary values with NULs, by inode number too */
	const char bin[] = {0, 1, 2, (char)0xff, 0, 'z'};
	assert_int_equal(xa_set_as(f, "/f", "user.bin", bin, sizeof(bin), 0, 0), 0);
	Dfs__NsRequest req;
	Dfs__NsReply r = DFS__NS_REPLY__INIT;
	xa_init(&req, NULL, a0.ino, "user.bin", 0);
	assert_int_equal(ns_read(f->ns, DFS_M_GETXATTR, &req, &r), 0);
	assert_int_equal(r.xattrs[0]->value.len, sizeof(bin));
	assert_memory_equal(r.xattrs[0]->value.data, bin, sizeof(bin));
	ns_reply_clear(&r);
	/* remove */
	assert_int_equal(xa_rm(f, "/f", "user.nope", 0), -ENODATA);
	assert_int_equal(xa_rm(f, "/f", "user.aa", 0), 0);
	assert_int_equal(xa_get(f, "/f", "user.aa", buf, sizeof(buf)), -ENODATA);
	assert_int_equal(xa_list(f, "/f", list, sizeof(list)), 4);
	assert_string_equal(list, "user.a,user.b,user.bin,user.c");
	assert_int_equal(xattr_keys(f), 1);
	const char *all[] = {"user.a", "user.b", "user.bin", "user.c"};
	for (int i = 0; i < 4; i++)
		assert_int_equal(xa_rm(f, "/f", all[i], 0), 0);
	assert_int_equal(xa_list(f, "/f", list, sizeof(list)), 0);
	assert_int_equal(xattr_keys(f), 0); /* the last one removed drops the key */
	/* directories carry them too; a missing inode is ENOENT */
	assert_int_equal(mkd(f, "/d"), 0);
	assert_int_equal(xa_set(f, "/d", "user.dir", "yes", 0), 0);
	assert_int_equal(xa_get(f, "/d", "user.dir", buf, sizeof(buf)), 3);
	assert_int_equal(xa_set(f, "/none", "user.a", "x", 0), -ENOENT);
	assert_int_equal(xa_get(f, "/none", "user.a", buf, sizeof(buf)), -ENOENT);
}

static void test_xattr_names_and_bounds(void **state)
{
	struct fx *f = *state;
	char buf[64], name[NS_XATTR_NAME_MAX + 2];
	assert_int_equal(creat_(f, "/f", 0), 0);
	const char *other[] = {"trusted.x", "security.selinux", "system.posix_acl_access",
			       "User.x", "user", "x"};
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		assert_int_equal(xa_set(f, "/f", other[i], "v", 0), -EOPNOTSUPP);
		assert_int_equal(xa_get(f, "/f", other[i], buf, sizeof(buf)), -EOPNOTSUPP);
		assert_int_equal(xa_rm(f, "/f", other[i], 0), -EOPNOTSUPP);
	}
	assert_int_equal(xa_set(f, "/f", "user.", "v", 0), -EINVAL);
	assert_int_equal(xa_set(f, "/f", "", "v", 0), -ERANGE);
	assert_int_equal(xa_set(f, "/f", NULL, "v", 0), -EINVAL);
	/* name length: 255 bytes in all, not more */
	memcpy(name, "user.", 5);
	memset(name + 5, 'n', sizeof(name) - 5);
	name[NS_XATTR_NAME_MAX] = '\0';
	assert_int_equal(xa_set(f, "/f", name, "v", 0), 0);
	assert_int_equal(xa_get(f, "/f", name, buf, sizeof(buf)), 1);
	name[NS_XATTR_NAME_MAX] = 'n';
	name[NS_XATTR_NAME_MAX + 1] = '\0';
	assert_int_equal(xa_set(f, "/f", name, "v", 0), -ERANGE);
	assert_int_equal(xa_get(f, "/f", name, buf, sizeof(buf)), -ERANGE);
	name[NS_XATTR_NAME_MAX] = '\0';
	assert_int_equal(xa_rm(f, "/f", name, 0), 0);
	/* value size: 64 KiB, not more; two of them fit, a third does not */
	char *big = calloc(1, NS_XATTR_VALUE_MAX + 1);
	assert_int_equal(xa_set_as(f, "/f", "user.big", big, NS_XATTR_VALUE_MAX + 1, 0, 0), -E2BIG);
	assert_int_equal(xa_set_as(f, "/f", "user.big", big, NS_XATTR_VALUE_MAX, 0, 0), 0);
	assert_int_equal(xa_get(f, "/f", "user.big", NULL, 0), NS_XATTR_VALUE_MAX);
	assert_int_equal(xa_set_as(f, "/f", "user.big2", big, NS_XATTR_VALUE_MAX - 64, 0, 0), 0);
	assert_int_equal(xa_set_as(f, "/f", "user.big3", big, 64, 0, 0), -ENOSPC);
	/* replacing a value by one of the same size is not "more" */
	assert_int_equal(xa_set_as(f, "/f", "user.big", big, NS_XATTR_VALUE_MAX, 0, 0), 0);
	assert_int_equal(xa_rm(f, "/f", "user.big", 0), 0);
	assert_int_equal(xa_rm(f, "/f", "user.big2", 0), 0);
	free(big);
	/* the name list (names + NULs) stays within 64 KiB: 256 names of 255 */
	for (int i = 0;; i++) {
		snprintf(name, sizeof(name), "user.%03d", i);
		memset(name + 8, 'n', NS_XATTR_NAME_MAX - 8);
		name[NS_XATTR_NAME_MAX] = '\0';
		int rc = xa_set(f, "/f", name, "", 0);
		if (i < NS_XATTR_LIST_MAX / (NS_XATTR_NAME_MAX + 1)) {
			assert_int_equal(rc, 0);
		} else {
			assert_int_equal(rc, -ENOSPC);
			break;
		}
	}
	char *list = malloc(NS_XATTR_LIST_MAX + 1024);
	assert_int_equal(xa_list(f, "/f", list, NS_XATTR_LIST_MAX + 1024), 256);
	free(list);
	/* other types: no attributes (EPERM to set, ENODATA to read) */
	Dfs__NsRequest req = DFS__NS_REQUEST__INIT;
	req.path = "/ln";
	req.target = "/f";
	assert_int_equal(op(f, DFS_M_SYMLINK, &req, NULL), 0);
	assert_int_equal(xa_set(f, "/ln", "user.a", "v", 0), -EPERM);
	assert_int_equal(xa_get(f, "/ln", "user.a", buf, sizeof(buf)), -ENODATA);
	assert_int_equal(xa_rm(f, "/ln", "user.a", 0), -EPERM);
	assert_int_equal(xa_list(f, "/ln", buf, sizeof(buf)), 0);
}

static void test_xattr_permissions(void **state)
{
	struct fx *f = *state;
	char buf[64];
	const uint32_t u = 1000;
	assert_int_equal(creat_(f, "/pub", 0), 0); /* 0644, root's */
	assert_int_equal(xa_set(f, "/pub", "user.a", "root", 0), 0);
	assert_int_equal(xa_set_as(f, "/pub", "user.a", "u", 1, 0, u), -EACCES);
	assert_int_equal(xa_rm(f, "/pub", "user.a", u), -EACCES);
	assert_int_equal(xa_get_as(f, "/pub", "user.a", buf, sizeof(buf), u), 4);
	assert_int_equal(xa_list_as(f, "/pub", buf, sizeof(buf), u), 1);
	/* no read permission: get refused, list still allowed (as on Linux) */
	chmod_(f, "/pub", 0600, 0);
	assert_int_equal(xa_get_as(f, "/pub", "user.a", buf, sizeof(buf), u), -EACCES);
	assert_int_equal(xa_list_as(f, "/pub", buf, sizeof(buf), u), 1);
	/* write permission is enough, ownership is not needed */
	chmod_(f, "/pub", 0666, 0);
	assert_int_equal(xa_set_as(f, "/pub", "user.b", "u", 1, 0, u), 0);
	assert_int_equal(xa_rm(f, "/pub", "user.a", u), 0);
	/* the owner without write permission: EACCES as well */
	chmod_(f, "/pub", 0444, u);
	assert_int_equal(xa_set_as(f, "/pub", "user.c", "u", 1, 0, u), -EACCES);
	/* a sticky directory: only its owner (or root) */
	assert_int_equal(mkd(f, "/tmp"), 0);
	chmod_(f, "/tmp", 01777, 0);
	assert_int_equal(xa_set_as(f, "/tmp", "user.a", "u", 1, 0, u), -EPERM);
	assert_int_equal(xa_set(f, "/tmp", "user.a", "root", 0), 0);
	assert_int_equal(xa_rm(f, "/tmp", "user.a", u), -EPERM);
	chmod_(f, "/tmp", 01777, u);
	assert_int_equal(xa_set_as(f, "/tmp", "user.b", "u", 1, 0, u), 0);
	/* search permission on the way */
	assert_int_equal(mkd(f, "/closed"), 0);
	assert_int_equal(creat_(f, "/closed/f", 0), 0);
	chmod_(f, "/closed", 0700, 0);
	assert_int_equal(xa_list_as(f, "/closed/f", buf, sizeof(buf), u), -EACCES);
}

static void test_xattr_freed_with_inode(void **state)
{
	struct fx *f = *state;
	char buf[64];
	/* hard links share the attributes; they go with the last link */
	assert_int_equal(creat_(f, "/f", 0), 0);
	assert_int_equal(xa_set(f, "/f", "user.a", "1", 0), 0);
	assert_int_equal(two_path(f, DFS_M_LINK, "/f", "/g", 0), 0);
	assert_int_equal(xa_get(f, "/g", "user.a", buf, sizeof(buf)), 1);
	assert_int_equal(path_op(f, DFS_M_UNLINK, "/f", 0, NULL), 0);
	assert_int_equal(xattr_keys(f), 1);
	assert_int_equal(path_op(f, DFS_M_UNLINK, "/g", 0, NULL), 0);
	assert_int_equal(xattr_keys(f), 0);
	/* a file of the same name made again starts without any */
	assert_int_equal(creat_(f, "/f", 0), 0);
	assert_int_equal(xa_list(f, "/f", buf, sizeof(buf)), 0);
	/* rmdir; rename over a file and over an empty directory */
	assert_int_equal(mkd(f, "/d"), 0);
	assert_int_equal(xa_set(f, "/d", "user.a", "1", 0), 0);
	assert_int_equal(path_op(f, DFS_M_RMDIR, "/d", 0, NULL), 0);
	assert_int_equal(xattr_keys(f), 0);
	assert_int_equal(creat_(f, "/victim", 0), 0);
	assert_int_equal(xa_set(f, "/victim", "user.a", "1", 0), 0);
	assert_int_equal(two_path(f, DFS_M_RENAME, "/f", "/victim", 0), 0);
	assert_int_equal(xattr_keys(f), 0);
	assert_int_equal(mkd(f, "/d1"), 0);
	assert_int_equal(mkd(f, "/d2"), 0);
	assert_int_equal(xa_set(f, "/d2", "user.a", "1", 0), 0);
	assert_int_equal(xa_set(f, "/d1", "user.keep", "1", 0), 0);
	assert_int_equal(two_path(f, DFS_M_RENAME, "/d1", "/d2", 0), 0);
	assert_int_equal(xattr_keys(f), 1);
	assert_int_equal(xa_list(f, "/d2", buf, sizeof(buf)), 1);
	assert_string_equal(buf, "user.keep"); /* the renamed one's, not the replaced */
	/* recursive delete of a tree, through GC batches */
	assert_int_equal(mkdir_p(f, "/t/a/b"), 0);
	char path[64];
	for (int i = 0; i < 50; i++) {
		snprintf(path, sizeof(path), "/t/a/b/f%d", i);
		assert_int_equal(creat_(f, path, 0), 0);
		assert_int_equal(xa_set(f, path, "user.n", "v", 0), 0);
	}
	assert_int_equal(xa_set(f, "/t/a", "user.n", "v", 0), 0);
	assert_int_equal(path_op(f, DFS_M_DELETE, "/t", DFS__NS_FLAG__NSF_RECURSIVE, NULL), 0);
	while (ns_gc_pending(f->ns)) {
		Dfs__NsRequest req = DFS__NS_REQUEST__INIT;
		assert_int_equal(op(f, NS_M_GC, &req, NULL), 0);
	}
	assert_int_equal(xattr_keys(f), 1); /* /d2's */
}

static void test_xattr_retry(void **state)
{
	struct fx *f = *state;
	assert_int_equal(creat_(f, "/f", 0), 0);
	Dfs__NsRequest req;
	xa_init(&req, "/f", 0, "user.once", 0);
	req.has_xattr_value = true;
	req.xattr_value.data = (uint8_t *)"v";
	req.xattr_value.len = 1;
	req.has_flags = true;
	req.flags = DFS__NS_FLAG__NSF_XATTR_CREATE;
	req.has_client_id = true;
	req.client_id.data = (uint8_t *)"client-0123456789";
	req.client_id.len = 17;
	req.has_seq = true;
	req.seq = 7;
	/* a create-only set retried after a lost reply: its first answer */
	assert_int_equal(op(f, DFS_M_SETXATTR, &req, NULL), 0);
	assert_int_equal(op(f, DFS_M_SETXATTR, &req, NULL), 0);
	req.seq = 8;
	assert_int_equal(op(f, DFS_M_SETXATTR, &req, NULL), -EEXIST);
	/* and a remove retried is not ENODATA */
	xa_init(&req, "/f", 0, "user.once", 0);
	req.has_client_id = true;
	req.client_id.data = (uint8_t *)"client-0123456789";
	req.client_id.len = 17;
	req.has_seq = true;
	req.seq = 9;
	assert_int_equal(op(f, DFS_M_REMOVEXATTR, &req, NULL), 0);
	assert_int_equal(op(f, DFS_M_REMOVEXATTR, &req, NULL), 0);
	req.seq = 10;
	assert_int_equal(op(f, DFS_M_REMOVEXATTR, &req, NULL), -ENODATA);
}

/* ---- determinism and reopen ---- */

static int dump_kv(void *arg, const char *k, size_t kl, const char *v, size_t vl)
{
	struct dump *d = arg;
	if (kl >= 2 && k[0] == 's' && k[1] == '/')
		return 0; /* the sync marker is not state */
	d->buf = realloc(d->buf, d->len + kl + vl + 16);
	memcpy(d->buf + d->len, &kl, sizeof(kl));
	d->len += sizeof(kl);
	memcpy(d->buf + d->len, k, kl);
	d->len += kl;
	memcpy(d->buf + d->len, v, vl);
	d->len += vl;
	return 0;
}

/* Every key and value of f's namespace (the sync marker aside). */
static struct dump dump_of(struct fx *f)
{
	struct dump d = {0};
	assert_int_equal(ns_foreach(f->ns, dump_kv, &d), 0);
	return d;
}

static void assert_dumps_equal(const struct dump *a, const struct dump *b)
{
	assert_int_equal(a->len, b->len);
	assert_memory_equal(a->buf, b->buf, a->len);
}

static void workload(struct fx *f)
{
	Dfs__BlockRef b;
	mkdir_p(f, "/a/b/c");
	creat_(f, "/a/f", 0);
	creat_(f, "/a/f", 1); /* fails: still recorded */
	block_op(f, DFS_M_ADD_BLOCK, "/a/f", 0, &b);
	block_op(f, DFS_M_OPEN_BLOCK, "/a/f", 0, &b);
	two_path(f, DFS_M_LINK, "/a/f", "/a/b/g", 0);
	two_path(f, DFS_M_RENAME, "/a/b", "/x", 0);
	Dfs__NsRequest req = DFS__NS_REQUEST__INIT;
	req.path = "/ln";
	req.target = "/x";
	op(f, DFS_M_SYMLINK, &req, NULL);
	path_op(f, DFS_M_DELETE, "/x", DFS__NS_FLAG__NSF_RECURSIVE, NULL);
	path_op(f, DFS_M_UNLINK, "/nothing", 0, NULL);
	xa_set(f, "/a/f", "user.b", "2", 0);
	xa_set(f, "/a/f", "user.a", "1", 0);
	xa_set(f, "/a/f", "user.a", "1", DFS__NS_FLAG__NSF_XATTR_CREATE); /* fails */
	xa_rm(f, "/a/f", "user.b", 0);
}

static void test_determinism(void **state)
{
	struct fx *f = *state;
	struct fx *g;
	fx_setup((void **)&g);
	/* same command list, same times: the two stores are byte-identical
	 * except for the cluster id (identical too here) */
	workload(f);
	workload(g);
	struct dump d1 = dump_of(f), d2 = dump_of(g);
	assert_dumps_equal(&d1, &d2);
	free(d2.buf);
	/* reopen: everything is still there */
	char path[128];
	snprintf(path, sizeof(path), "%s/name", f->dir);
	struct ns_counters c = f->ns->c;
	reopen(f);
	assert_memory_equal(&c, &f->ns->c, sizeof(c));
	assert_string_equal(f->ns->cluster_id, "test-cluster");
	Dfs__Attr a;
	assert_int_equal(stat_(f, "/a/f", &a), 0);
	assert_int_equal(a.nlink, 1);
	assert_int_equal(stat_(f, "/x", NULL), -ENOENT);
	assert_int_equal(stat_(f, "/ln", NULL), 0);
	char xv[8];
	assert_int_equal(xa_get(f, "/a/f", "user.a", xv, sizeof(xv)), 1);
	assert_int_equal(xa_get(f, "/a/f", "user.b", xv, sizeof(xv)), -ENODATA);
	d2 = dump_of(f);
	assert_dumps_equal(&d1, &d2);
	free(d1.buf);
	free(d2.buf);
	fx_teardown((void **)&g);
	/* a directory without a namespace is refused */
	struct ns *none;
	assert_int_equal(ns_open(f->dir, &none), -DFS_ENOTFORMATTED);
	assert_int_equal(ns_format(f->dir, "x", 1, 0, 0, 0), -ENOTEMPTY); /* holds "name/" */
	ns_close(f->ns);
	assert_int_equal(ns_format(path, "other", 1, 0, 0, 0), -EEXIST);
	assert_int_equal(ns_format(path, "other", 1, 0, 0, 1), 0);
	assert_int_equal(ns_open(path, &f->ns), 0);
	assert_string_equal(f->ns->cluster_id, "other");
	assert_int_equal(f->ns->c.inodes, 1);
}

/* ---- effects: a follower applying what the leader's apply wrote ---- */

struct dump;
static struct dump dump_of(struct fx *f);
static void assert_dumps_equal(const struct dump *a, const struct dump *b);

/* Applies the effects of f's last command to f->mirror, checks that it is
 * refused for another index or when cut short, and that both stores then
 * hold the same counters and freed blocks. The writes of four entries at a
 * time go to LevelDB together, as a follower's ready writes its run. */
static void mirror_effects(struct fx *f)
{
	struct fx *m = f->mirror;
	const uint8_t *buf;
	size_t len;
	assert_int_equal(ns_effects_end(f->ns, &buf, &len), 0);
	assert_int_equal(ns_apply_effects(m->ns, buf, len, f->index + 1), -DFS_EPROTOCOL);
	assert_int_equal(ns_apply_effects(m->ns, buf, len - 1, f->index), -DFS_EPROTOCOL);
	assert_int_equal(m->ns->c.applied, f->index - 1);
	assert_int_equal(ns_apply_effects(m->ns, buf, len, f->index), 0);
	if (f->index % 4 == 0)
		assert_int_equal(ns_effects_flush(m->ns), 0);
	m->index = f->index;
	m->now = f->now;
	assert_memory_equal(&m->ns->c, &f->ns->c, sizeof(f->ns->c));
	assert_int_equal(m->ns->n_freed, f->ns->n_freed);
	if (f->ns->n_freed)
		assert_memory_equal(m->ns->freed, f->ns->freed,
				    f->ns->n_freed * sizeof(*f->ns->freed));
	ns_freed_clear(f->ns);
	ns_freed_clear(m->ns);
}

static void test_effects(void **state)
{
	struct fx *f = *state;
	struct fx *g;
	fx_setup((void **)&g);
	f->mirror = g;
	/* every kind of command, failures, retries, expiry, a tree to reclaim */
	workload(f);
	assert_int_equal(tagged(f, DFS_M_CREATE, "/t", DFS__NS_FLAG__NSF_EXCL, 100, NULL), 0);
	assert_int_equal(tagged(f, DFS_M_CREATE, "/t", DFS__NS_FLAG__NSF_EXCL, 100, NULL), 0);
	assert_int_equal(tagged(f, DFS_M_CREATE, "/t", DFS__NS_FLAG__NSF_EXCL, 101, NULL),
			 -EEXIST);
	f->now += 200ll * 1000000000; /* those two expire */
	assert_int_equal(mkd(f, "/u"), 0);
	expiry_workload(f, 0);
	char p[64];
	assert_int_equal(mkdir_p(f, "/big/d"), 0);
	for (int i = 0; i < 40; i++) {
		Dfs__BlockRef b;
		snprintf(p, sizeof(p), "/big/d/f%d", i);
		assert_int_equal(creat_(f, p, 0), 0);
		assert_int_equal(block_op(f, DFS_M_ADD_BLOCK, p, 0, &b), 0);
	}
	assert_int_equal(path_op(f, DFS_M_DELETE, "/big", DFS__NS_FLAG__NSF_RECURSIVE, NULL), 0);
	Dfs__NsRequest gc = DFS__NS_REQUEST__INIT;
	while (ns_gc_pending(f->ns))
		assert_int_equal(op(f, NS_M_GC, &gc, NULL), 0);
	f->mirror = NULL;
	assert_int_equal(ns_effects_flush(g->ns), 0);
	struct dump d1 = dump_of(f), d2 = dump_of(g);
	assert_dumps_equal(&d1, &d2);
	free(d1.buf);
	free(d2.buf);
	/* the mirror reads what it was given (its record cache included) */
	Dfs__Attr a, b;
	assert_int_equal(stat_(f, "/a/f", &a), 0);
	assert_int_equal(stat_(g, "/a/f", &b), 0);
	assert_int_equal(a.ino, b.ino);
	assert_int_equal(a.nlink, b.nlink);
	assert_int_equal(stat_(g, "/x", NULL), -ENOENT);
	assert_int_equal(stat_(g, "/big", NULL), -ENOENT);
	/* and running commands itself from there (a follower that became
	 * leader) it stays identical, retry-cache expiry included */
	workload(f);
	workload(g);
	expiry_workload(f, 0);
	expiry_workload(g, 0);
	d1 = dump_of(f);
	d2 = dump_of(g);
	assert_dumps_equal(&d1, &d2);
	free(d1.buf);
	free(d2.buf);
	fx_teardown((void **)&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
		T(test_mkdir_create_lookup), T(test_bad_names), T(test_setattr_truncate),
		T(test_setattr_attrs),
		T(test_permissions), T(test_readdir_paging), T(test_rename),
		T(test_unlink_rmdir_delete), T(test_delete_large_tree),
		T(test_symlink_link_mknod), T(test_blocks), T(test_complete_records_unrecorded),
		T(test_complete_kept_attrs),
		T(test_retry_cache),
		T(test_retry_expiry_clock_behind), T(test_record_cache_after_delete),
		T(test_layout1_counters_migrate),
		T(test_xattr_set_get_list), T(test_xattr_names_and_bounds),
		T(test_xattr_permissions), T(test_xattr_freed_with_inode), T(test_xattr_retry),
		T(test_determinism), T(test_effects),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
