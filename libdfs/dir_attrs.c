/*
 * libdfs/dir_attrs.c - the directory attributes of this client's last
 * namespace change (dfs_dir_stat_recent).
 *
 * Owns: a record of at most two directories (a rename's source and
 * destination) as the namenode's reply to the client's latest successful
 * entry change left them (NsReply.dir_attr / new_dir_attr), with the time
 * the change was sent. A kernel mount re-reads a directory's attributes
 * after every change in it; answering that from the reply of the change
 * saves a namenode round trip per create or unlink through dfs-fuse.
 *
 * Any other mutation of the client (a failed or unknown outcome too)
 * empties the record, with these exceptions: block operations (add / open
 * block, complete) change only files and leave it; setattr and the xattr
 * calls by inode change only their target, whose entry alone goes (tar
 * sets a file's times, owner and mode after writing it, between two
 * creates in one directory). Two mutations in flight at
 * once leave it empty too: each one notes the generation at its start
 * and may fill the record only if no other mutation ended meanwhile, so
 * replies that arrive out of order never put older attributes back.
 */
#include "libdfs/internal.h"

#include <errno.h>
#include <string.h>

static bool keeps_record(uint32_t method)
{
	return method == DFS_M_ADD_BLOCK || method == DFS_M_OPEN_BLOCK ||
	       method == DFS_M_COMPLETE;
}

uint64_t dfsc_dir_attrs_begin(dfs_client *c, uint32_t method)
{
	if (!dfsc_method_mutates(method) || keeps_record(method))
		return 0;
	pthread_mutex_lock(&c->dir_mu);
	uint64_t gen = c->dir_gen;
	pthread_mutex_unlock(&c->dir_mu);
	return gen;
}

/* The only inode a request can change, if it changes just its target:
 * setattr and xattrs named by inode. 0 otherwise. */
static uint64_t sole_target(uint32_t method, const Dfs__NsRequest *req)
{
	bool by_ino = req->has_ino && req->ino != 0 && (req->path == NULL || req->path[0] == '\0');
	return by_ino && (method == DFS_M_SETATTR || method == DFS_M_SETXATTR ||
			  method == DFS_M_REMOVEXATTR) ? req->ino : 0;
}

void dfsc_dir_attrs_end(dfs_client *c, uint32_t method, const Dfs__NsRequest *req, uint64_t gen,
			int64_t sent_ms, const Dfs__NsReply *reply)
{
	if (!dfsc_method_mutates(method) || keeps_record(method))
		return;
	uint64_t target = sole_target(method, req);
	pthread_mutex_lock(&c->dir_mu);
	bool alone = c->dir_gen == gen;
	c->dir_gen++;
	if (target != 0) {
		int kept = 0;
		for (int i = 0; i < c->n_dirs; i++)
			if (c->dirs[i].st.ino != target)
				c->dirs[kept++] = c->dirs[i];
		c->n_dirs = kept;
		pthread_mutex_unlock(&c->dir_mu);
		return;
	}
	c->n_dirs = 0;
	if (alone && reply != NULL && reply->status == 0) {
		const Dfs__Attr *dirs[2] = {reply->dir_attr, reply->new_dir_attr};
		for (int i = 0; i < 2; i++) {
			if (dirs[i] == NULL)
				continue;
			struct dfsc_dir_attr *d = &c->dirs[c->n_dirs++];
			dfsc_attr_to_stat(dirs[i], &d->st);
			d->sent_ms = sent_ms;
		}
	}
	pthread_mutex_unlock(&c->dir_mu);
}

int dfs_dir_stat_recent(dfs_client *c, uint64_t ino, unsigned max_age_ms, struct dfs_stat *st)
{
	int rc = -ENOENT;
	int64_t now = dfsc_now_ms();
	pthread_mutex_lock(&c->dir_mu);
	/* A rename within one directory names it twice: the last is newest. */
	for (int i = c->n_dirs - 1; i >= 0; i--) {
		const struct dfsc_dir_attr *d = &c->dirs[i];
		if (d->st.ino == ino && now - d->sent_ms <= (int64_t)max_age_ms) {
			*st = d->st;
			rc = 0;
			break;
		}
	}
	pthread_mutex_unlock(&c->dir_mu);
	return rc;
}
