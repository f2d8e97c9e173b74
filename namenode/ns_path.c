/* ns_path.c: names, path resolution and permission checks of the
 * namespace. Paths are absolute; empty components ("//", a trailing '/')
 * are skipped; "." and ".." are invalid names (-EINVAL). Symlinks inside
 * a path are not followed (the client resolves them): -ENOTDIR. */
#include "namenode/ns_txn.h"

#include "common/errors.h"

#include <limits.h>
#include <string.h>

void ns_cred_from_req(struct ns_cred *cr, const Dfs__NsRequest *req)
{
	cr->check = req->has_caller_uid;
	cr->uid = req->caller_uid;
	cr->gid = req->has_caller_gid ? req->caller_gid : 0;
	cr->groups = req->caller_groups;
	cr->ngroups = req->n_caller_groups;
}

bool ns_cred_in_group(const struct ns_cred *cr, uint32_t gid)
{
	if (cr->gid == gid)
		return true;
	for (size_t i = 0; i < cr->ngroups; i++)
		if (cr->groups[i] == gid)
			return true;
	return false;
}

int ns_perm(const struct ns_cred *cr, const Dfs__Attr *a, int want)
{
	if (!cr->check || cr->uid == 0)
		return 0;
	unsigned bits;
	if (cr->uid == a->uid)
		bits = (a->mode >> 6) & 7;
	else if (ns_cred_in_group(cr, a->gid))
		bits = (a->mode >> 3) & 7;
	else
		bits = a->mode & 7;
	return ((bits & (unsigned)want) == (unsigned)want) ? 0 : -EACCES;
}

int ns_check_name(const char *name, size_t len)
{
	if (len == 0 || (len == 1 && name[0] == '.') ||
	    (len == 2 && name[0] == '.' && name[1] == '.'))
		return -EINVAL;
	if (memchr(name, '/', len))
		return -EINVAL;
	if (len > NS_NAME_MAX)
		return -ENAMETOOLONG;
	return 0;
}

/* Next component of *p: sets comp/len and advances; 0 at end. */
static int next_comp(const char **p, const char **comp, size_t *len)
{
	const char *s = *p;
	while (*s == '/')
		s++;
	if (*s == '\0')
		return 0;
	const char *e = strchrnul(s, '/');
	*comp = s;
	*len = (size_t)(e - s);
	*p = e;
	return 1;
}

/* Steps from directory `dir` into child name; checks search permission. */
static int step(struct ns_txn *t, const struct ns_cred *cr, struct ns_inode *dir,
		const char *comp, size_t len, struct ns_inode *out)
{
	char name[NS_NAME_MAX + 1];
	int rc = ns_check_name(comp, len);
	if (rc < 0)
		return rc;
	if (dir->a.type != DFS__FILE_TYPE__FT_DIR)
		return -ENOTDIR;
	rc = ns_perm(cr, &dir->a, NS_X);
	if (rc < 0)
		return rc;
	memcpy(name, comp, len);
	name[len] = '\0';
	uint64_t ino;
	rc = ns_dirent_get(t, dir->a.ino, name, &ino, NULL);
	if (rc < 0)
		return rc;
	return ns_inode_get(t, ino, out);
}

int ns_resolve_path(struct ns_txn *t, const struct ns_cred *cr, const char *path,
		    struct ns_inode *out)
{
	if (!path || path[0] != '/')
		return -EINVAL;
	int rc = ns_inode_get(t, DFS_ROOT_INO, out);
	const char *comp;
	size_t len;
	int depth = 0;
	while (rc == 0 && next_comp(&path, &comp, &len)) {
		if (++depth > NS_PATH_DEPTH_MAX)
			return -ELOOP;
		struct ns_inode next;
		rc = step(t, cr, out, comp, len, &next);
		if (rc == 0)
			*out = next;
	}
	return rc;
}

/* Splits path into its parent part (resolved) and last name. */
static int resolve_path_ent(struct ns_txn *t, const struct ns_cred *cr, const char *path,
			    struct ns_ent *e)
{
	if (!path || path[0] != '/')
		return -EINVAL;
	const char *end = path + strlen(path);
	while (end > path && end[-1] == '/')
		end--;
	if (end == path) { /* "/" */
		e->is_root = true;
		e->exists = true;
		e->ino = DFS_ROOT_INO;
		e->parent = DFS_ROOT_INO;
		int rc = ns_inode_get(t, DFS_ROOT_INO, &e->in);
		e->pdir = e->in;
		return rc;
	}
	const char *last = end;
	while (last[-1] != '/')
		last--;
	size_t len = (size_t)(end - last);
	int rc = ns_check_name(last, len);
	if (rc < 0)
		return rc;
	memcpy(e->name, last, len);
	e->name[len] = '\0';
	char dir[PATH_MAX];
	size_t dl = (size_t)(last - path);
	if (dl >= sizeof(dir))
		return -ENAMETOOLONG;
	memcpy(dir, path, dl);
	dir[dl] = '\0';
	return ns_resolve_path(t, cr, dir, &e->pdir);
}

int ns_resolve_ent(struct ns_txn *t, const struct ns_cred *cr, const Dfs__NsRequest *req,
		   bool second, struct ns_ent *e)
{
	memset(e, 0, sizeof(*e));
	const char *path = second ? req->target : req->path;
	bool has_parent = second ? req->has_new_parent : req->has_parent;
	const char *name = second ? req->new_name : req->name;
	int rc;
	if (path && !has_parent) {
		rc = resolve_path_ent(t, cr, path, e);
		if (rc < 0 || e->is_root)
			return rc;
	} else if (has_parent && name) {
		size_t len = strlen(name);
		rc = ns_check_name(name, len);
		if (rc < 0)
			return rc;
		memcpy(e->name, name, len + 1);
		rc = ns_inode_get(t, second ? req->new_parent : req->parent, &e->pdir);
		if (rc < 0)
			return rc;
	} else {
		return -EINVAL;
	}
	if (e->pdir.a.type != DFS__FILE_TYPE__FT_DIR)
		return -ENOTDIR;
	if (e->pdir.a.nlink == 0) /* a deleted directory, reached by inode */
		return -ENOENT;
	e->parent = e->pdir.a.ino;
	rc = ns_perm(cr, &e->pdir.a, NS_X);
	if (rc < 0)
		return rc;
	rc = ns_dirent_get(t, e->parent, e->name, &e->ino, NULL);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	e->exists = true;
	return ns_inode_get(t, e->ino, &e->in);
}

int ns_resolve_inode(struct ns_txn *t, const struct ns_cred *cr, const Dfs__NsRequest *req,
		     struct ns_inode *out)
{
	if (req->has_ino)
		return ns_inode_get(t, req->ino, out);
	if (req->path)
		return ns_resolve_path(t, cr, req->path, out);
	if (req->has_parent && req->name) {
		struct ns_ent e;
		int rc = ns_resolve_ent(t, cr, req, false, &e);
		if (rc < 0)
			return rc;
		if (!e.exists)
			return -ENOENT;
		*out = e.in;
		return 0;
	}
	return -EINVAL;
}
