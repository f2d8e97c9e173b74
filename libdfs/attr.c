/* attr.c: conversions between the wire Attr and struct dfs_stat, and the
 * client-side validation of names and paths (so a bad name fails before
 * any RPC, with the codes dfs.h documents). */
#include "libdfs/internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define DFSC_NAME_MAX 255

int dfsc_check_name(const char *name)
{
	if (name == NULL || name[0] == '\0')
		return -EINVAL;
	size_t len = strlen(name);
	if (len > DFSC_NAME_MAX)
		return -ENAMETOOLONG;
	if (strchr(name, '/') != NULL)
		return -EINVAL;
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return -EINVAL;
	return 0;
}

int dfsc_check_path(const char *path)
{
	if (path == NULL || path[0] != '/')
		return -EINVAL;
	const char *p = path + 1;
	while (*p != '\0') {
		const char *slash = strchr(p, '/');
		size_t len = slash != NULL ? (size_t)(slash - p) : strlen(p);
		if (len == 0)
			return -EINVAL; /* "//" */
		if (len > DFSC_NAME_MAX)
			return -ENAMETOOLONG;
		if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
			return -EINVAL;
		if (slash == NULL)
			break;
		p = slash + 1; /* a trailing '/' ends the loop on '\0' */
	}
	return 0;
}

uint32_t dfsc_type_to_mode(uint32_t type)
{
	switch (type) {
	case DFS__FILE_TYPE__FT_REG: return S_IFREG;
	case DFS__FILE_TYPE__FT_DIR: return S_IFDIR;
	case DFS__FILE_TYPE__FT_LNK: return S_IFLNK;
	case DFS__FILE_TYPE__FT_FIFO: return S_IFIFO;
	case DFS__FILE_TYPE__FT_SOCK: return S_IFSOCK;
	case DFS__FILE_TYPE__FT_CHR: return S_IFCHR;
	case DFS__FILE_TYPE__FT_BLK: return S_IFBLK;
	default: return 0;
	}
}

uint32_t dfsc_mode_to_type(uint32_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG: return DFS__FILE_TYPE__FT_REG;
	case S_IFDIR: return DFS__FILE_TYPE__FT_DIR;
	case S_IFLNK: return DFS__FILE_TYPE__FT_LNK;
	case S_IFIFO: return DFS__FILE_TYPE__FT_FIFO;
	case S_IFSOCK: return DFS__FILE_TYPE__FT_SOCK;
	case S_IFCHR: return DFS__FILE_TYPE__FT_CHR;
	case S_IFBLK: return DFS__FILE_TYPE__FT_BLK;
	default: return DFS__FILE_TYPE__FT_NONE;
	}
}

static struct timespec ns_to_ts(int64_t ns)
{
	struct timespec ts;
	ts.tv_sec = (time_t)(ns / 1000000000);
	ts.tv_nsec = (long)(ns % 1000000000);
	if (ts.tv_nsec < 0) {
		ts.tv_nsec += 1000000000;
		ts.tv_sec -= 1;
	}
	return ts;
}

int64_t dfsc_ts_to_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

void dfsc_attr_to_stat(const Dfs__Attr *a, struct dfs_stat *st)
{
	memset(st, 0, sizeof(*st));
	st->ino = a->ino;
	st->mode = dfsc_type_to_mode(a->type) | (a->mode & 07777);
	st->nlink = a->nlink;
	st->uid = a->uid;
	st->gid = a->gid;
	st->size = a->size;
	st->rdev = a->has_rdev ? a->rdev : 0;
	st->atime = ns_to_ts(a->atime_ns);
	st->mtime = ns_to_ts(a->mtime_ns);
	st->ctime = ns_to_ts(a->ctime_ns);
	st->replication = a->replication;
	st->block_size = a->block_size;
}

int dfsc_lblock_from_pb(const Dfs__LocatedBlock *lb, struct dfsc_lblock *b)
{
	memset(b, 0, sizeof(*b));
	if (lb == NULL || lb->block == NULL)
		return -DFS_EPROTOCOL;
	b->index = lb->index;
	b->block_id = lb->block->block_id;
	b->genstamp = lb->block->genstamp;
	b->length = lb->block->length;
	for (size_t i = 0; i < lb->n_locations && b->n_locs < DFSC_LOCATIONS_MAX; i++) {
		const Dfs__DatanodeId *d = lb->locations[i];
		struct dfsc_loc *l = &b->locs[b->n_locs];
		if (d == NULL || d->host == NULL || d->port == 0 || d->port > 65535)
			continue;
		snprintf(l->uuid, sizeof(l->uuid), "%s", d->uuid != NULL ? d->uuid : "");
		snprintf(l->host, sizeof(l->host), "%s", d->host);
		l->port = (uint16_t)d->port;
		b->n_locs++;
	}
	return 0;
}
