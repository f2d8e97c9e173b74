/* wal_syncer.h: a thread that makes a leader's WAL appends durable while
 * the event loop goes on (asynchronous leader writes, raft/raft.h).
 *
 * The loop appends a ready's entries to the WAL, hands the syncer a dup of
 * the segment's descriptor with the last entry's (index, term), and goes
 * on sending, applying and reading. The thread runs fdatasync and posts
 * the (index, term) it covered to an eventfd the loop watches; the loop
 * then tells the core (raft_synced). Requests made while one runs are
 * merged: one fdatasync covers every append made before it began, so the
 * newest request stands for all of them (group commit across loop turns).
 *
 * Threads: submit, take and busy are called by the loop thread only; the
 * syncer thread touches nothing but the descriptors it was given and this
 * struct, under its mutex. */
#ifndef DFS_NAMENODE_WAL_SYNCER_H
#define DFS_NAMENODE_WAL_SYNCER_H

#include <stdbool.h>
#include <stdint.h>

struct wal_syncer;

/* Starts the thread. 0 or a negative errno. */
int wal_syncer_start(struct wal_syncer **out);
/* Waits for a running fdatasync, stops the thread, frees. NULL is fine. */
void wal_syncer_stop(struct wal_syncer *s);
/* Readable when a sync completed (the loop's epoll watches it). */
int wal_syncer_fd(const struct wal_syncer *s);
/* Queues an fdatasync of a dup of fd, covering entries up to (index,
 * term); replaces a request not started yet. 0 or a negative errno (the
 * caller syncs itself). */
int wal_syncer_submit(struct wal_syncer *s, int fd, uint64_t index, uint64_t term);
/* The newest completed sync: true with (index, term), or with *err < 0
 * when an fdatasync failed (the WAL can no longer be trusted). */
bool wal_syncer_take(struct wal_syncer *s, uint64_t *index, uint64_t *term, int *err);
/* A request queued or running. */
bool wal_syncer_busy(struct wal_syncer *s);

#endif
