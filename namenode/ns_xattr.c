/* ns_xattr.c: extended attributes of inodes. SETXATTR and REMOVEXATTR are
 * mutations (through ns_apply, so they are replicated and deterministic),
 * GETXATTR and LISTXATTR reads; ns_xattr_drop removes them with their
 * inode (ns_delete.c, ns_rename.c).
 *
 * Only the user.* namespace is supported, with the rules Linux applies to
 * it (fs/xattr.c, xattr_permission):
 *   - names are 1..NS_XATTR_NAME_MAX bytes (ERANGE), "user." plus at least
 *     one byte ("user." alone: EINVAL); trusted., security., system. and
 *     anything else: EOPNOTSUPP. Values up to NS_XATTR_VALUE_MAX (E2BIG).
 *   - only regular files and directories carry them: setting or removing
 *     one on another type is EPERM, reading one ENODATA.
 *   - setting and removing need write permission (EACCES) and, on a sticky
 *     directory, ownership (EPERM); reading needs read permission; listing
 *     needs none.
 *   - NSF_XATTR_CREATE: EEXIST if present; NSF_XATTR_REPLACE: ENODATA if
 *     absent; removing a missing one: ENODATA.
 *   - per inode the names with their NULs (what listxattr returns) stay
 *     within NS_XATTR_LIST_MAX and the whole record within
 *     NS_XATTR_TOTAL_MAX: ENOSPC beyond.
 * Setting and removing change the inode's ctime, as on Linux.
 *
 * Record: every attribute of an inode in one value under x/<ino>:
 *   u8 version (1) | entries in name order (memcmp, then length):
 *   u8 name length | name | be32 value length | value
 * One key per inode: freeing an inode costs one delete however many
 * attributes it had (the GC budget stays meaningful), and the bounds are
 * checked from the record alone. An inode without attributes has no key. */
#include "namenode/ns_txn.h"

#include "common/errors.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define XA_VERSION 1
#define XA_USER_PREFIX "user."
#define XA_USER_PREFIX_LEN 5
#define XA_ENTRY_HDR 5 /* u8 name length + be32 value length */

/* One entry of a record: views into the record's buffer. */
struct xa_ent {
	const char *name;
	size_t nl;
	const char *val;
	size_t vl;
};

/* A loaded record (buf NULL: the inode has no attributes). */
struct xa_rec {
	char *buf;
	size_t len;
};

void ns_key_xattr(struct ns_key *k, uint64_t ino)
{
	k->b[0] = 'x';
	k->b[1] = '/';
	ns_put_be64(k->b + 2, ino);
	k->len = 10;
}

static void put_be32(char *p, uint32_t v)
{
	p[0] = (char)(v >> 24);
	p[1] = (char)(v >> 16);
	p[2] = (char)(v >> 8);
	p[3] = (char)v;
}

static uint32_t get_be32(const char *p)
{
	return (uint32_t)(uint8_t)p[0] << 24 | (uint32_t)(uint8_t)p[1] << 16 |
	       (uint32_t)(uint8_t)p[2] << 8 | (uint32_t)(uint8_t)p[3];
}

/* Next entry of rec at *off: 1 with *e, 0 at the end, -EIO if malformed. */
static int rec_next(const struct xa_rec *rec, size_t *off, struct xa_ent *e)
{
	if (*off >= rec->len)
		return 0;
	const char *p = rec->buf + *off;
	size_t left = rec->len - *off;
	if (left < XA_ENTRY_HDR)
		return -EIO;
	e->nl = (uint8_t)p[0];
	if (e->nl == 0 || left < XA_ENTRY_HDR + e->nl)
		return -EIO;
	e->name = p + 1;
	e->vl = get_be32(p + 1 + e->nl);
	if (e->vl > left - XA_ENTRY_HDR - e->nl)
		return -EIO;
	e->val = p + XA_ENTRY_HDR + e->nl;
	*off += XA_ENTRY_HDR + e->nl + e->vl;
	return 1;
}

static int name_cmp(const struct xa_ent *e, const char *name, size_t nl)
{
	int c = memcmp(e->name, name, e->nl < nl ? e->nl : nl);
	if (c != 0)
		return c;
	return e->nl < nl ? -1 : e->nl > nl ? 1 : 0;
}

/* Loads ino's record; an inode without one gets rec->buf NULL. Checks
 * the whole record, so later walks cannot meet a malformed entry. */
static int rec_load(struct ns_txn *t, uint64_t ino, struct xa_rec *rec)
{
	struct ns_key k;
	ns_key_xattr(&k, ino);
	rec->buf = NULL;
	rec->len = 0;
	int rc = ns_txn_get(t, &k, &rec->buf, &rec->len);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	size_t off = 1;
	struct xa_ent e;
	if (rec->len < 1 || rec->buf[0] != XA_VERSION)
		rc = -EIO;
	while (rc == 0 && (rc = rec_next(rec, &off, &e)) == 1)
		rc = 0;
	if (rc < 0) {
		free(rec->buf);
		rec->buf = NULL;
	}
	return rc;
}

/* Finds name in rec: 1 with *out, 0 if absent. */
static int rec_find(const struct xa_rec *rec, const char *name, size_t nl, struct xa_ent *out)
{
	size_t off = 1;
	struct xa_ent e;
	while (rec->buf && rec_next(rec, &off, &e) == 1)
		if (name_cmp(&e, name, nl) == 0) {
			*out = e;
			return 1;
		}
	return 0;
}

static char *put_entry(char *p, const char *name, size_t nl, const void *val, size_t vl)
{
	*p++ = (char)nl;
	memcpy(p, name, nl);
	put_be32(p + nl, (uint32_t)vl);
	if (vl)
		memcpy(p + nl + 4, val, vl);
	return p + nl + 4 + vl;
}

/* Builds rec with name set to val (val NULL: name removed) into *out
 * (malloc'd; length *out_len, 0 when no entry is left) and the size of
 * its name list (names + NULs) into *list_len. */
static int rec_rebuild(const struct xa_rec *rec, const char *name, size_t nl, const void *val,
		       size_t vl, struct xa_rec *out, size_t *list_len)
{
	size_t cap = (rec->buf ? rec->len : 1) + XA_ENTRY_HDR + nl + vl;
	char *b = malloc(cap), *p = b;
	if (!b)
		return -ENOMEM;
	*p++ = XA_VERSION;
	*list_len = 0;
	bool placed = val == NULL;
	size_t off = 1;
	struct xa_ent e;
	while (rec->buf && rec_next(rec, &off, &e) == 1) {
		int c = name_cmp(&e, name, nl);
		if (c >= 0 && !placed) {
			p = put_entry(p, name, nl, val, vl);
			*list_len += nl + 1;
			placed = true;
		}
		if (c == 0)
			continue; /* the old value, replaced or removed */
		p = put_entry(p, e.name, e.nl, e.val, e.vl);
		*list_len += e.nl + 1;
	}
	if (!placed) {
		p = put_entry(p, name, nl, val, vl);
		*list_len += nl + 1;
	}
	out->buf = b;
	out->len = (size_t)(p - b) > 1 ? (size_t)(p - b) : 0;
	return 0;
}

/* Checks req's attribute name: 0 with *nl its length. */
static int check_name(const Dfs__NsRequest *req, size_t *nl)
{
	const char *n = req->xattr_name;
	if (!n)
		return -EINVAL;
	*nl = strnlen(n, NS_XATTR_NAME_MAX + 1);
	if (*nl == 0 || *nl > NS_XATTR_NAME_MAX)
		return -ERANGE;
	if (*nl < XA_USER_PREFIX_LEN || memcmp(n, XA_USER_PREFIX, XA_USER_PREFIX_LEN) != 0)
		return -EOPNOTSUPP;
	if (*nl == XA_USER_PREFIX_LEN)
		return -EINVAL;
	return 0;
}

static bool is_owner(const struct ns_cred *cr, const Dfs__Attr *a)
{
	return !cr->check || cr->uid == 0 || cr->uid == a->uid;
}

/* Resolves the inode of a set/remove and checks the caller may change
 * its attributes. */
static int writable_inode(struct ns_txn *t, const Dfs__NsRequest *req, const struct ns_cred *cr,
			  struct ns_inode *in)
{
	int rc = ns_resolve_inode(t, cr, req, in);
	if (rc < 0)
		return rc;
	if (in->a.type != DFS__FILE_TYPE__FT_REG && in->a.type != DFS__FILE_TYPE__FT_DIR)
		return -EPERM;
	if (in->a.type == DFS__FILE_TYPE__FT_DIR && (in->a.mode & S_ISVTX) &&
	    !is_owner(cr, &in->a))
		return -EPERM;
	return ns_perm(cr, &in->a, NS_W);
}

/* Stores the rebuilt record (or deletes it when empty), touches ctime. */
static int store(struct ns_txn *t, struct ns_inode *in, const struct xa_rec *nrec,
		 Dfs__NsReply *r)
{
	struct ns_key k;
	ns_key_xattr(&k, in->a.ino);
	if (nrec->len)
		ns_txn_put(t, &k, nrec->buf, nrec->len);
	else
		ns_txn_del(t, &k);
	in->a.ctime_ns = t->now;
	ns_inode_put(t, in);
	return t->err < 0 ? t->err : ns_reply_attr(r, &in->a);
}

int ns_op_setxattr(struct ns_txn *t, const Dfs__NsRequest *req, const struct ns_cred *cr,
		   Dfs__NsReply *r)
{
	size_t nl;
	int rc = check_name(req, &nl);
	if (rc < 0)
		return rc;
	size_t vl = req->has_xattr_value ? req->xattr_value.len : 0;
	if (vl > NS_XATTR_VALUE_MAX)
		return -E2BIG;
	struct ns_inode in;
	if ((rc = writable_inode(t, req, cr, &in)) < 0)
		return rc;
	struct xa_rec rec, nrec = {0};
	if ((rc = rec_load(t, in.a.ino, &rec)) < 0)
		return rc;
	struct xa_ent old;
	int found = rec_find(&rec, req->xattr_name, nl, &old);
	size_t list_len = 0;
	if (found && (req->flags & DFS__NS_FLAG__NSF_XATTR_CREATE))
		rc = -EEXIST;
	else if (!found && (req->flags & DFS__NS_FLAG__NSF_XATTR_REPLACE))
		rc = -ENODATA;
	else
		rc = rec_rebuild(&rec, req->xattr_name, nl, vl ? req->xattr_value.data : (void *)"",
				 vl, &nrec, &list_len);
	if (rc == 0 && (list_len > NS_XATTR_LIST_MAX || nrec.len > NS_XATTR_TOTAL_MAX))
		rc = -ENOSPC;
	if (rc == 0)
		rc = store(t, &in, &nrec, r);
	free(rec.buf);
	free(nrec.buf);
	return rc;
}

int ns_op_removexattr(struct ns_txn *t, const Dfs__NsRequest *req, const struct ns_cred *cr,
		      Dfs__NsReply *r)
{
	size_t nl;
	int rc = check_name(req, &nl);
	if (rc < 0)
		return rc;
	struct ns_inode in;
	if ((rc = writable_inode(t, req, cr, &in)) < 0)
		return rc;
	struct xa_rec rec, nrec = {0};
	if ((rc = rec_load(t, in.a.ino, &rec)) < 0)
		return rc;
	struct xa_ent old;
	size_t list_len;
	if (!rec_find(&rec, req->xattr_name, nl, &old))
		rc = -ENODATA;
	else
		rc = rec_rebuild(&rec, req->xattr_name, nl, NULL, 0, &nrec, &list_len);
	if (rc == 0)
		rc = store(t, &in, &nrec, r);
	free(rec.buf);
	free(nrec.buf);
	return rc;
}

/* Appends {name, value (if val)} to r->xattrs, which has room. */
static int reply_add(Dfs__NsReply *r, const struct xa_ent *e, bool with_value)
{
	Dfs__Xattr *x = malloc(sizeof(*x));
	char *name = strndup(e->name, e->nl);
	uint8_t *val = with_value ? malloc(e->vl ? e->vl : 1) : NULL;
	if (!x || !name || (with_value && !val)) {
		free(x);
		free(name);
		free(val);
		return -ENOMEM;
	}
	dfs__xattr__init(x);
	x->name = name;
	if (with_value) {
		memcpy(val, e->val, e->vl);
		x->has_value = true;
		x->value.data = val;
		x->value.len = e->vl;
	}
	r->xattrs[r->n_xattrs++] = x;
	return 0;
}

int ns_read_getxattr(struct ns_txn *t, const Dfs__NsRequest *req, const struct ns_cred *cr,
		     Dfs__NsReply *r)
{
	size_t nl;
	int rc = check_name(req, &nl);
	if (rc < 0)
		return rc;
	struct ns_inode in;
	if ((rc = ns_resolve_inode(t, cr, req, &in)) < 0)
		return rc;
	if (in.a.type != DFS__FILE_TYPE__FT_REG && in.a.type != DFS__FILE_TYPE__FT_DIR)
		return -ENODATA;
	if ((rc = ns_perm(cr, &in.a, NS_R)) < 0)
		return rc;
	struct xa_rec rec;
	if ((rc = rec_load(t, in.a.ino, &rec)) < 0)
		return rc;
	struct xa_ent e;
	if (!rec_find(&rec, req->xattr_name, nl, &e))
		rc = -ENODATA;
	else if (!(r->xattrs = calloc(1, sizeof(*r->xattrs))))
		rc = -ENOMEM;
	else
		rc = reply_add(r, &e, true);
	free(rec.buf);
	return rc;
}

int ns_read_listxattr(struct ns_txn *t, const Dfs__NsRequest *req, const struct ns_cred *cr,
		      Dfs__NsReply *r)
{
	struct ns_inode in;
	int rc = ns_resolve_inode(t, cr, req, &in);
	if (rc < 0)
		return rc;
	struct xa_rec rec;
	if ((rc = rec_load(t, in.a.ino, &rec)) < 0)
		return rc;
	size_t n = 0, off = 1;
	struct xa_ent e;
	while (rec.buf && rec_next(&rec, &off, &e) == 1)
		n++;
	if (n && !(r->xattrs = calloc(n, sizeof(*r->xattrs))))
		rc = -ENOMEM;
	off = 1;
	while (rc == 0 && rec.buf && rec_next(&rec, &off, &e) == 1)
		rc = reply_add(r, &e, false);
	free(rec.buf);
	return rc < 0 ? rc : ns_reply_attr(r, &in.a);
}

void ns_xattr_drop(struct ns_txn *t, uint64_t ino)
{
	struct ns_key k;
	char *v;
	size_t vl;
	ns_key_xattr(&k, ino);
	int rc = ns_txn_get(t, &k, &v, &vl);
	if (rc == 0) {
		free(v);
		ns_txn_del(t, &k);
	} else if (rc != -ENOENT && t->err == 0) {
		t->err = rc;
	}
}

void ns_xattr_reply_clear(Dfs__NsReply *r)
{
	for (size_t i = 0; i < r->n_xattrs; i++) {
		free(r->xattrs[i]->name);
		free(r->xattrs[i]->value.data);
		free(r->xattrs[i]);
	}
	free(r->xattrs);
	r->xattrs = NULL;
	r->n_xattrs = 0;
}
