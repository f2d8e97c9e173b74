/* dir.c: directory listings, fetched from the namenode in pages of
 * DFSC_READDIR_PAGE entries; the cookie of the next page is the last name
 * returned, so a listing needs memory for one page only. */
#include "libdfs/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define DFSC_READDIR_PAGE 1000

struct dfs_dir {
	dfs_client *c;
	uint64_t ino;
	char *path;          /* when opened by path */
	char *cookie;        /* last name handed out ("" = start) */
	Dfs__NsReply *page;  /* current page, or NULL */
	size_t next;         /* index of the next entry in page */
	bool eof;            /* the namenode said no entries follow page */
};

int dfs_opendir(dfs_client *c, uint64_t ino, const char *path, dfs_dir **out)
{
	struct dfs_stat st;
	int rc;
	*out = NULL;
	if (ino != 0)
		rc = dfs_stat_ino(c, ino, &st);
	else
		rc = dfs_stat(c, path, &st);
	if (rc < 0)
		return rc;
	if ((st.mode & 0170000) != 0040000)
		return -ENOTDIR;
	dfs_dir *d = calloc(1, sizeof(*d));
	if (d == NULL)
		return -ENOMEM;
	d->c = c;
	d->ino = st.ino;
	d->cookie = strdup("");
	if (d->cookie == NULL) {
		free(d);
		return -ENOMEM;
	}
	*out = d;
	return 0;
}

static void drop_page(dfs_dir *d)
{
	if (d->page != NULL)
		dfs__ns_reply__free_unpacked(d->page, NULL);
	d->page = NULL;
	d->next = 0;
}

int dfs_seekdir_name(dfs_dir *d, const char *after)
{
	char *cookie = strdup(after != NULL ? after : "");
	if (cookie == NULL)
		return -ENOMEM;
	free(d->cookie);
	d->cookie = cookie;
	drop_page(d);
	d->eof = false;
	return 0;
}

static int fetch_page(dfs_dir *d)
{
	Dfs__NsRequest req = DFS__NS_REQUEST__INIT;
	Dfs__NsReply *reply;
	req.has_ino = 1;
	req.ino = d->ino;
	req.cookie = d->cookie;
	req.has_max_entries = 1;
	req.max_entries = DFSC_READDIR_PAGE;
	int rc = dfsc_call(d->c, DFS_M_READDIR, &req, &reply);
	if (rc < 0)
		return rc;
	drop_page(d);
	d->page = reply;
	/* An empty page ends the listing even without eof, so a confused
	 * namenode cannot make us loop. */
	d->eof = (reply->has_eof && reply->eof) || reply->n_entries == 0;
	return 0;
}

int dfs_readdir(dfs_dir *d, struct dfs_dirent *ent)
{
	for (;;) {
		if (d->page != NULL && d->next < d->page->n_entries) {
			const Dfs__DirEntry *e = d->page->entries[d->next++];
			if (e == NULL || e->name == NULL || e->attr == NULL)
				return -DFS_EPROTOCOL;
			char *cookie = strdup(e->name);
			if (cookie == NULL)
				return -ENOMEM;
			free(d->cookie);
			d->cookie = cookie;
			ent->name = d->cookie;
			dfsc_attr_to_stat(e->attr, &ent->st);
			return 1;
		}
		if (d->eof)
			return 0;
		int rc = fetch_page(d);
		if (rc < 0)
			return rc;
	}
}

void dfs_closedir(dfs_dir *d)
{
	if (d == NULL)
		return;
	drop_page(d);
	free(d->cookie);
	free(d->path);
	free(d);
}
