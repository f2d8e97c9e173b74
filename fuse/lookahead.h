/* lookahead.h: names looked up ahead in a directory being scanned.
 *
 * A program that stats a directory's files one after the other (find, du,
 * rsync, git status, ls without -l's readdirplus) sends the kernel's
 * LOOKUP for each name once its entry_timeout is over: one namenode round
 * trip a name. After DFSF_LA_RUN lookups that found names in one
 * directory in ascending order, with nothing changed through this mount
 * in between, dfs-fuse lists the next DFSF_LA_MAX names with their
 * attributes in one call (the window) and answers the following lookups
 * from it; a hit in the window's last quarter lists the names after that
 * hit as the next window.
 *
 * Staleness stays what the kernel's own cache allows: an entry is served
 * only while younger than min(entry_timeout, attr_timeout), counted from
 * before the listing was asked for, and its reply's timeouts are cut by
 * that age. Changes through this mount: every operation that may change
 * the namespace or attributes runs between dfsf_la_change_begin and
 * dfsf_la_change_end; no window is served while one is in flight, a
 * window fetched across one is dropped, and each ends every window.
 * Sizes of files being written here come from their handles
 * (dfsf_attr_live), as for a namenode reply. Only names are served, never
 * their absence. Permissions: the mount has default_permissions, so the
 * kernel checks search permission on the directory before a lookup
 * reaches dfs-fuse, whoever listed the window; the listing runs with the
 * caller's credential (without read permission there is no window).
 *
 * Thread-safe: one lock guards the state; no call is made under it. */
#ifndef DFS_FUSE_LOOKAHEAD_H
#define DFS_FUSE_LOOKAHEAD_H

#include <dfs.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define DFSF_LA_RUN 4   /* ascending lookups in a directory before a window */
#define DFSF_LA_MAX 1000 /* names in a window (one namenode page) */
#define DFSF_LA_NAME_MAX 256

struct dfsf_la_entry {
	char *name;
	struct dfs_stat st;
};

struct dfsf_lookahead {
	pthread_mutex_t lock;
	uint64_t gen;        /* bumped at the start and end of every change */
	int changing;        /* changes in flight */
	int fetching;        /* a window is being listed */
	/* the window */
	uint64_t dir;        /* 0: none */
	struct dfsf_la_entry *e;
	size_t n;
	int64_t fetched_ms;  /* monotonic, taken before the listing */
	uint64_t win_gen;    /* gen it was fetched under */
	uint64_t win_changes; /* dfsf_handles_changes() before the listing */
	bool win_last;       /* the listing reached the directory's end */
	/* the run of lookups that may start one */
	uint64_t run_dir;
	uint64_t run_gen;
	int run;
	char run_last[DFSF_LA_NAME_MAX];
	/* counters, for the unmount log line */
	uint64_t hits, windows;
};

struct dfs_fuse;

void dfsf_la_init(struct dfsf_lookahead *la);
void dfsf_la_fini(struct dfsf_lookahead *la);
void dfsf_la_change_begin(struct dfsf_lookahead *la);
void dfsf_la_change_end(struct dfsf_lookahead *la);
/* Drops the window: what it said proved stale (an open found its inode
 * gone). */
void dfsf_la_forget(struct dfsf_lookahead *la);
/* 1 and *st, *changes_before (for dfsf_attr_live), *age_s filled when the
 * window holds parent/name and may serve it; else 0. next_after (of
 * DFSF_LA_NAME_MAX bytes) gets name when the hit is in the window's last
 * quarter and the directory goes on (then call dfsf_la_fetch with it
 * after replying), else "". */
int dfsf_la_find(struct dfs_fuse *fs, uint64_t parent, const char *name, struct dfs_stat *st,
		 uint64_t *changes_before, double *age_s, char *next_after);
/* Notes a lookup the namenode answered (found: it exists); returns true
 * when it completes a run and a window should be fetched after it. */
bool dfsf_la_note_lookup(struct dfs_fuse *fs, uint64_t parent, const char *name, bool found);
/* Lists up to DFSF_LA_MAX names of parent after `after` into the window,
 * with the calling thread's credential (call it after replying). */
void dfsf_la_fetch(struct dfs_fuse *fs, uint64_t parent, const char *after);

#endif
