/* xattr.c: the extended attribute calls of dfs.h (dfs_setxattr,
 * dfs_getxattr, dfs_listxattr, dfs_removexattr) over SETXATTR, GETXATTR,
 * LISTXATTR and REMOVEXATTR. Name and size limits are checked here before
 * any RPC; the namenode checks them again with the namespace rules
 * (namenode/ns_xattr.c). Set and remove are mutations: retried with the
 * same client id and sequence number, they apply once. */
#include "libdfs/internal.h"

#include <errno.h>
#include <string.h>

/* A request for name of (ino or path); the name's length is checked as
 * setxattr(2) does: empty or over DFS_XATTR_NAME_MAX is -ERANGE. */
static int xattr_req(Dfs__NsRequest *req, uint64_t ino, const char *path, const char *name)
{
	if (name == NULL)
		return -EINVAL;
	size_t n = strnlen(name, DFS_XATTR_NAME_MAX + 1);
	if (n == 0 || n > DFS_XATTR_NAME_MAX)
		return -ERANGE;
	req->xattr_name = (char *)name;
	return dfsc_set_inode(req, ino, path);
}

int dfs_setxattr(dfs_client *c, uint64_t ino, const char *path, const char *name,
		 const void *value, size_t size, int flags)
{
	Dfs__NsRequest req = DFS__NS_REQUEST__INIT;
	int rc = xattr_req(&req, ino, path, name);
	if (rc < 0)
		return rc;
	if (size > DFS_XATTR_SIZE_MAX)
		return -E2BIG;
	if (size > 0 && value == NULL)
		return -EFAULT;
	if (flags & ~(DFS_XATTR_CREATE | DFS_XATTR_REPLACE))
		return -EINVAL;
	req.has_xattr_value = 1;
	req.xattr_value.data = (uint8_t *)(value != NULL ? value : ""); /* never NULL */
	req.xattr_value.len = size;
	req.has_flags = 1;
	req.flags = ((flags & DFS_XATTR_CREATE) ? DFS__NS_FLAG__NSF_XATTR_CREATE : 0) |
		    ((flags & DFS_XATTR_REPLACE) ? DFS__NS_FLAG__NSF_XATTR_REPLACE : 0);
	return dfsc_call_attr(c, DFS_M_SETXATTR, &req, NULL);
}

/* Copies len bytes to out when size allows: len, or -ERANGE if size is
 * non-zero and too small (size 0 asks for the length only). */
static ssize_t copy_out(void *out, size_t size, const void *src, size_t len)
{
	if (size == 0)
		return (ssize_t)len;
	if (len > size)
		return -ERANGE;
	if (len > 0)
		memcpy(out, src, len);
	return (ssize_t)len;
}

ssize_t dfs_getxattr(dfs_client *c, uint64_t ino, const char *path, const char *name,
		     void *value, size_t size)
{
	Dfs__NsRequest req = DFS__NS_REQUEST__INIT;
	Dfs__NsReply *reply;
	int rc = xattr_req(&req, ino, path, name);
	if (rc < 0)
		return rc;
	if (size > 0 && value == NULL)
		return -EFAULT;
	if ((rc = dfsc_call(c, DFS_M_GETXATTR, &req, &reply)) < 0)
		return rc;
	ssize_t n;
	if (reply->n_xattrs != 1 || !reply->xattrs[0]->has_value ||
	    reply->xattrs[0]->value.len > DFS_XATTR_SIZE_MAX)
		n = -DFS_EPROTOCOL;
	else
		n = copy_out(value, size, reply->xattrs[0]->value.data,
			     reply->xattrs[0]->value.len);
	dfs__ns_reply__free_unpacked(reply, NULL);
	return n;
}

/* The names of reply as a NUL-separated list into out (size > 0: room
 * for size bytes). Returns the list's length, -ERANGE or -DFS_EPROTOCOL. */
static ssize_t list_out(const Dfs__NsReply *reply, char *out, size_t size)
{
	size_t len = 0;
	for (size_t i = 0; i < reply->n_xattrs; i++)
		len += strlen(reply->xattrs[i]->name) + 1;
	if (len > DFS_XATTR_LIST_MAX)
		return -DFS_EPROTOCOL;
	if (size == 0)
		return (ssize_t)len;
	if (len > size)
		return -ERANGE;
	char *p = out;
	for (size_t i = 0; i < reply->n_xattrs; i++) {
		size_t n = strlen(reply->xattrs[i]->name) + 1;
		memcpy(p, reply->xattrs[i]->name, n);
		p += n;
	}
	return (ssize_t)len;
}

ssize_t dfs_listxattr(dfs_client *c, uint64_t ino, const char *path, char *list, size_t size)
{
	Dfs__NsRequest req = DFS__NS_REQUEST__INIT;
	Dfs__NsReply *reply;
	int rc = dfsc_set_inode(&req, ino, path);
	if (rc < 0)
		return rc;
	if (size > 0 && list == NULL)
		return -EFAULT;
	if ((rc = dfsc_call(c, DFS_M_LISTXATTR, &req, &reply)) < 0)
		return rc;
	ssize_t n = list_out(reply, list, size);
	dfs__ns_reply__free_unpacked(reply, NULL);
	return n;
}

int dfs_removexattr(dfs_client *c, uint64_t ino, const char *path, const char *name)
{
	Dfs__NsRequest req = DFS__NS_REQUEST__INIT;
	int rc = xattr_req(&req, ino, path, name);
	return rc < 0 ? rc : dfsc_call_attr(c, DFS_M_REMOVEXATTR, &req, NULL);
}
