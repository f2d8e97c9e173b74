/* lookahead.c: the window of names listed ahead of a directory scan
 * (lookahead.h says when one is fetched and served). */
#include "fuse/lookahead.h"
#include "fuse/dfs_fuse.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fuse/logger.h"
#include "common/clock.h"

/* How long an entry may be served: the shorter of the kernel's caches;
 * 0 turns lookahead off. */
static int64_t serve_ms(const struct dfs_fuse *fs)
{
	double s = fs->opts.entry_timeout < fs->opts.attr_timeout ? fs->opts.entry_timeout
								   : fs->opts.attr_timeout;
	return s > 0 ? (int64_t)(s * 1000) : 0;
}

static void free_entries(struct dfsf_la_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(e[i].name);
	free(e);
}

/* Drops the window (lock held). */
static void drop_window(struct dfsf_lookahead *la)
{
	free_entries(la->e, la->n);
	la->e = NULL;
	la->n = 0;
	la->dir = 0;
}

void dfsf_la_init(struct dfsf_lookahead *la)
{
	memset(la, 0, sizeof(*la));
	pthread_mutex_init(&la->lock, NULL);
}

void dfsf_la_fini(struct dfsf_lookahead *la)
{
	drop_window(la);
	pthread_mutex_destroy(&la->lock);
}

void dfsf_la_change_begin(struct dfsf_lookahead *la)
{
	pthread_mutex_lock(&la->lock);
	la->gen++;
	la->changing++;
	pthread_mutex_unlock(&la->lock);
}

void dfsf_la_change_end(struct dfsf_lookahead *la)
{
	pthread_mutex_lock(&la->lock);
	la->gen++;
	la->changing--;
	drop_window(la);
	pthread_mutex_unlock(&la->lock);
}

void dfsf_la_forget(struct dfsf_lookahead *la)
{
	pthread_mutex_lock(&la->lock);
	la->gen++;
	drop_window(la);
	pthread_mutex_unlock(&la->lock);
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct dfsf_la_entry *)a)->name,
		      ((const struct dfsf_la_entry *)b)->name);
}

int dfsf_la_find(struct dfs_fuse *fs, uint64_t parent, const char *name, struct dfs_stat *st,
		 uint64_t *changes_before, double *age_s, char *next_after)
{
	struct dfsf_lookahead *la = &fs->la;
	int64_t limit = serve_ms(fs), age;
	int found = 0;
	next_after[0] = '\0';
	pthread_mutex_lock(&la->lock);
	age = dfs_mono_ms() - la->fetched_ms;
	if (la->dir == parent && parent != 0 && la->changing == 0 && la->win_gen == la->gen &&
	    age < limit) {
		struct dfsf_la_entry key = { .name = (char *)name };
		struct dfsf_la_entry *hit = bsearch(&key, la->e, la->n, sizeof(*la->e), cmp_entry);
		if (hit != NULL) {
			found = 1;
			*st = hit->st;
			*changes_before = la->win_changes;
			*age_s = (double)age / 1000.0;
			la->hits++;
			size_t i = (size_t)(hit - la->e);
			/* the next window starts after this name, so the rest of
			 * this one stays served once it is replaced */
			if (!la->win_last && !la->fetching && i >= la->n - la->n / 4)
				snprintf(next_after, DFSF_LA_NAME_MAX, "%s", name);
		}
	}
	pthread_mutex_unlock(&la->lock);
	return found;
}

bool dfsf_la_note_lookup(struct dfs_fuse *fs, uint64_t parent, const char *name, bool found)
{
	struct dfsf_lookahead *la = &fs->la;
	bool start = false;
	if (serve_ms(fs) == 0 || strlen(name) >= DFSF_LA_NAME_MAX)
		return false;
	pthread_mutex_lock(&la->lock);
	if (!found) {
		la->run = 0;
	} else if (la->run > 0 && la->run_dir == parent && la->run_gen == la->gen &&
		   strcmp(name, la->run_last) > 0) {
		la->run++;
	} else {
		la->run = 1;
		la->run_dir = parent;
		la->run_gen = la->gen;
	}
	if (found)
		snprintf(la->run_last, sizeof(la->run_last), "%s", name);
	if (la->run >= DFSF_LA_RUN && !la->fetching) {
		la->run = 0;
		start = true;
	}
	pthread_mutex_unlock(&la->lock);
	return start;
}

/* Lists up to DFSF_LA_MAX names after `after` with their attributes.
 * Returns the count (*out from malloc, sorted) or a negative errno;
 * *last set when the directory ended. */
static int list_after(struct dfs_fuse *fs, uint64_t parent, const char *after,
		      struct dfsf_la_entry **out, bool *last)
{
	dfs_dir *d;
	struct dfs_dirent de;
	int rc = dfs_opendir(fs->client, parent, NULL, &d);
	if (rc < 0)
		return rc;
	rc = dfs_seekdir_name(d, after);
	struct dfsf_la_entry *e = rc < 0 ? NULL : malloc(DFSF_LA_MAX * sizeof(*e));
	size_t n = 0;
	if (rc == 0 && e == NULL)
		rc = -ENOMEM;
	*last = false;
	while (rc == 0 && n < DFSF_LA_MAX) {
		int r = dfs_readdir(d, &de);
		if (r <= 0) {
			rc = r;
			*last = r == 0;
			break;
		}
		if ((e[n].name = strdup(de.name)) == NULL) {
			rc = -ENOMEM;
			break;
		}
		e[n++].st = de.st;
	}
	dfs_closedir(d);
	if (rc < 0) {
		free_entries(e, n);
		return rc;
	}
	qsort(e, n, sizeof(*e), cmp_entry);
	*out = e;
	return (int)n;
}

void dfsf_la_fetch(struct dfs_fuse *fs, uint64_t parent, const char *after)
{
	struct dfsf_lookahead *la = &fs->la;
	pthread_mutex_lock(&la->lock);
	bool go = !la->fetching && la->changing == 0;
	uint64_t gen = la->gen;
	if (go)
		la->fetching = 1;
	pthread_mutex_unlock(&la->lock);
	if (!go)
		return;
	int64_t t0 = dfs_mono_ms();
	uint64_t changes = dfsf_handles_changes(&fs->handles);
	struct dfsf_la_entry *e = NULL;
	bool last = false;
	int n = list_after(fs, parent, after, &e, &last);
	pthread_mutex_lock(&la->lock);
	la->fetching = 0;
	if (n > 0 && la->gen == gen && la->changing == 0) {
		drop_window(la);
		la->dir = parent;
		la->e = e;
		la->n = (size_t)n;
		la->fetched_ms = t0;
		la->win_gen = gen;
		la->win_changes = changes;
		la->win_last = last;
		la->windows++;
		e = NULL;
	} else if (n == 0 && la->dir == parent) {
		la->win_last = true; /* nothing after the window: stop asking */
	}
	pthread_mutex_unlock(&la->lock);
	if (e != NULL)
		free_entries(e, (size_t)n);
	if (n < 0)
		DFSF_LOG(DFSF_DEBUG, "lookahead in directory %llu after '%s': %s",
			 (unsigned long long)parent, after, dfs_strerror(n));
}
