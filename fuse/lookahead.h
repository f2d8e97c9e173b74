/* lookahead.h: names looked up ahead in a directory being scanned, and
 * names known to be missing from one being filled.
 *
 * A program that stats a directory's files one after the other (find, du,
 * rsync, git status, ls without -l's readdirplus) sends the kernel's
 * LOOKUP for each name once its entry_timeout is over: one namenode round
 * trip a name. A program that creates files (cp -r, tar -x, a build)
 * sends a LOOKUP for each new name first, which the namenode answers
 * "missing". After DFSF_LA_RUN lookups in one directory that found names
 * in ascending order, or that found names missing, dfs-fuse lists up to
 * DFSF_LA_MAX names with their attributes in one call (the window) and
 * answers the following lookups from it:
 *  - a name in the window: its entry (a hit in the window's last quarter
 *    lists the names after that hit as the next window);
 *  - a name the window's range covers but that is not in it: missing.
 *    The range runs from the name the listing started after ("" for the
 *    directory's start) to its last name, or to the end when the listing
 *    reached it. Missing names are answered while the window is younger
 *    than negative_timeout (0 turns that off).
 * An ascending run of missing names lists the names after the last one
 * (a loop creating f0001, f0002 … finds none); missing names in any other
 * order list the directory from its start, kept only when that one
 * listing holds the whole directory.
 *
 * Staleness stays what the kernel's own cache allows: an entry is served
 * only while younger than min(entry_timeout, attr_timeout) (missing:
 * negative_timeout), counted from before the listing was asked for, and
 * its reply's timeouts are cut by that age.
 *
 * Changes through this mount keep the window but are never hidden by it.
 * Every operation that may change the namespace or attributes declares,
 * before it runs (dfsf_la_change_begin), what it touches: names of a
 * directory (created, removed or replaced) and inodes whose attributes
 * change. From then on the window answers nothing about a touched name or
 * inode: those lookups go to the namenode. Removing or replacing a name
 * also touches the inode the window lists under it, or, when the window
 * does not list it, every entry with more than one link (nlink changes).
 * A create counts as adding its name even when it finds the name made
 * meanwhile elsewhere and opens (and truncates) that file: entries of the
 * file's other links then get its size from the open handle
 * (dfsf_attr_live), and its flush and release touch the inode.
 * A listing that ran while changes were in flight or began takes the
 * touches of all of them (a ring of the last DFSF_LA_RING touches; a
 * listing older than that is dropped). Names with DFSF_HIDDEN_PREFIX (an
 * open file's unlinked name) are never answered from the window.
 * Sizes of files being written here come from their handles
 * (dfsf_attr_live), as for a namenode reply. Permissions: the mount has
 * default_permissions, so the kernel checks search permission on the
 * directory before a lookup reaches dfs-fuse, whoever listed the window;
 * the listing runs with the caller's credential (without read permission
 * there is no window).
 *
 * Thread-safe: one lock guards the state; no call is made under it. */
#ifndef DFS_FUSE_LOOKAHEAD_H
#define DFS_FUSE_LOOKAHEAD_H

#include <dfs.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define DFSF_LA_RUN 4        /* lookups in a directory before a window */
#define DFSF_LA_MAX 1000     /* names in a window (one namenode page) */
#define DFSF_LA_NAME_MAX 256
#define DFSF_LA_RING 8192    /* touches kept for a listing in flight */
#define DFSF_LA_INFLIGHT 64  /* changes tracked in flight at once */
#define DFSF_LA_TOUCHED_MAX 32768 /* touches a window takes, then it is dropped */

struct dfsf_la_entry {
	char *name;
	struct dfs_stat st;
};

/* What a change touches: with name NULL, the attributes of inode `ino`;
 * else the name dir/name, created (removes false) or removed or replaced
 * (removes true, which also touches the inode listed under it). */
struct dfsf_la_touch {
	uint64_t ino;
	uint64_t dir;
	const char *name;
	bool removes;
};

enum dfsf_la_answer { DFSF_LA_ASK, DFSF_LA_FOUND, DFSF_LA_MISSING };

struct dfsf_lookahead {
	pthread_mutex_t lock;
	/* touches of every change, for listings in flight */
	uint64_t seq;                    /* touches so far (+1) */
	uint64_t ring[DFSF_LA_RING];     /* key of touch s at s % DFSF_LA_RING */
	uint64_t inflight[DFSF_LA_INFLIGHT]; /* seq at a change's begin; 0 free */
	int untracked;                   /* changes in flight without a slot */
	int fetching;                    /* a window is being listed */
	/* the window */
	uint64_t dir;        /* 0: none */
	struct dfsf_la_entry *e;
	size_t n;
	char lo[DFSF_LA_NAME_MAX]; /* the range: names after lo ("": all) … */
	bool win_last;       /* … to the directory's end; else to e[n-1] */
	int64_t fetched_ms;  /* monotonic, taken before the listing */
	uint64_t win_changes; /* dfsf_handles_changes() before the listing */
	uint64_t *touched;   /* keys touched since, open addressing, 0 empty */
	size_t touched_cap, touched_n;
	bool multilink;      /* entries with nlink > 1 are touched */
	/* the runs of lookups that may start one */
	uint64_t run_dir;    /* names found, ascending */
	int run;
	char run_last[DFSF_LA_NAME_MAX];
	uint64_t miss_dir;   /* names missing */
	int miss_run;
	bool miss_ascending;
	uint64_t miss_big_dir; /* listed from the start and too big: skip */
	char miss_last[DFSF_LA_NAME_MAX];
	/* counters, for the unmount log line */
	uint64_t hits, misses, windows;
};

struct dfs_fuse;

void dfsf_la_init(struct dfsf_lookahead *la);
void dfsf_la_fini(struct dfsf_lookahead *la);
#define DFSF_LA_NONE (-1)      /* a token for dfsf_la_change_end: no change */
#define DFSF_LA_UNTRACKED (-2) /* a change that found no in-flight slot */
/* Declares the n touches of a change about to run; returns the token for
 * dfsf_la_change_end, called once it has replied. */
int dfsf_la_change_begin(struct dfsf_lookahead *la, const struct dfsf_la_touch *t, int n);
void dfsf_la_change_end(struct dfsf_lookahead *la, int token);
/* Drops the window: what it said proved stale (an open found its inode
 * gone). */
void dfsf_la_forget(struct dfsf_lookahead *la);
/* What the window says of parent/name: DFSF_LA_FOUND with *st and
 * *changes_before (for dfsf_attr_live), DFSF_LA_MISSING, or DFSF_LA_ASK
 * (ask the namenode); *age_s is the window's age. next_after (of
 * DFSF_LA_NAME_MAX bytes) gets name when a hit is in the window's last
 * quarter and the directory goes on (then call dfsf_la_fetch with it
 * after replying), else "". */
enum dfsf_la_answer dfsf_la_find(struct dfs_fuse *fs, uint64_t parent, const char *name,
				 struct dfs_stat *st, uint64_t *changes_before, double *age_s,
				 char *next_after);
/* Notes a lookup the namenode answered (found: it exists). When it
 * completes a run, returns true with *after set to where the window's
 * listing starts (of DFSF_LA_NAME_MAX bytes). */
bool dfsf_la_note_lookup(struct dfs_fuse *fs, uint64_t parent, const char *name, bool found,
			 char *after);
/* Lists up to DFSF_LA_MAX names of parent after `after` into the window,
 * with the calling thread's credential (call it after replying). */
void dfsf_la_fetch(struct dfs_fuse *fs, uint64_t parent, const char *after);

#endif
