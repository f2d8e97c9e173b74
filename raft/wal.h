/*
 * raft/wal.h - write-ahead log storage for the Raft core's entries and
 * hard state.  This is the only raft code that touches the disk; it lives
 * in raft/libraftwal.a, apart from the pure core (raft/libraft.a), whose
 * types it uses.
 *
 * On-disk layout of a WAL directory:
 *   meta       term, vote, snapshot (index, term, conf) and the lowest
 *              valid segment sequence number; rewritten atomically (write
 *              meta.tmp, fsync, rename, fsync dir) and CRC32C-protected.
 *   seg-<seq>  append-only segments (16 hex digits, increasing): a
 *              32-byte header (magic, seq, first index, CRC32C) then
 *              records: u32 len, u32 crc32c(len || payload), payload =
 *              u64 index, u64 term, u8 type, data.  All little endian.
 *
 * Durability: wal_append() only writes; wal_sync() makes every append
 * since the last sync durable with one fdatasync (group commit: append a
 * whole ready batch, then sync once).  wal_truncate(), wal_set_hard_state(),
 * wal_compact() and wal_install_snapshot() are durable when they return.
 * On open a torn or corrupt tail (short record, bad CRC, bad length, index
 * out of sequence) is cut off (file truncated, later segments deleted) and
 * never returned. The active segment carries zeros ahead of its records
 * (so that fdatasync has no file size to write); zeros alone after the
 * records are a clean end, cut without counting them as dropped.
 *
 * Ownership and threads: a struct wal belongs to one thread at a time.
 * Entries passed in are only read.  struct wal_recovered owns its entries
 * (free with wal_recovered_free()).
 *
 * Errors: 0 or -errno from the failing syscall, -RAFT_ECORRUPT for a
 * damaged meta file or a gap between segments, -EINVAL for misuse.  After
 * a failed write the WAL refuses further writes (-EIO) unless it could
 * restore its previous length.
 */
#ifndef DFS_RAFT_WAL_H
#define DFS_RAFT_WAL_H

#include "raft/raft.h"

#include <stddef.h>
#include <stdint.h>

#define WAL_SEGMENT_SIZE_DEFAULT (64u << 20)
#define WAL_RECORD_SIZE_MAX (64u << 20) /* payload bytes per entry */

struct wal_options {
	size_t segment_size_max; /* start a new segment beyond this */
};

struct wal_recovered {
	struct raft_hard_state hs;
	struct raft_snapshot_meta snap;
	struct raft_entry *entries; /* contiguous from snap.index + 1 */
	size_t n;
	uint64_t dropped_bytes; /* torn or corrupt tail that was cut off */
};

struct wal;

/* Standard CRC32C (Castagnoli; init and final xor 0xFFFFFFFF), chainable:
 * wal_crc32c(wal_crc32c(0, a, n), b, m) == crc of a||b. */
uint32_t wal_crc32c(uint32_t crc, const void *buf, size_t len);

/* Open (creating if needed) the WAL in dir and recover its contents into
 * *rec.  o may be NULL for defaults.  On error nothing is allocated. */
int wal_open(const char *dir, const struct wal_options *o, struct wal **out,
	     struct wal_recovered *rec);
void wal_recovered_free(struct wal_recovered *rec);
void wal_close(struct wal *w);

/* Append entries (contiguous); if ents[0].index <= last index, the
 * conflicting suffix is truncated first.  Not durable until wal_sync(). */
int wal_append(struct wal *w, const struct raft_entry *ents, size_t n);
int wal_sync(struct wal *w);
/* For an fdatasync on another thread: the descriptor whose fdatasync makes
 * every append so far durable (the active segment: a new segment syncs
 * the one before it), or -1 when wal_sync() itself is needed (a new
 * segment's directory entry is not durable yet, no segment, a failed
 * write). Valid until the next call on w; dup() it to keep it. The WAL
 * still counts those appends unsynced: a later wal_sync() syncs again. */
int wal_sync_fd(const struct wal *w);

/* Drop every entry with index >= from (durable). */
int wal_truncate(struct wal *w, raft_index from);

int wal_set_hard_state(struct wal *w, const struct raft_hard_state *hs);

/* The embedder took a snapshot at snap->index (<= last index): record it
 * and delete the segments it makes redundant. */
int wal_compact(struct wal *w, const struct raft_snapshot_meta *snap);

/* A snapshot from the leader replaced the log: record it, drop all
 * entries; the next append starts at snap->index + 1. */
int wal_install_snapshot(struct wal *w, const struct raft_snapshot_meta *snap);

/* Persist a ready batch in the order raft.h requires: snapshot, hard
 * state, entries, one sync. */
int wal_save_ready(struct wal *w, const struct raft_ready *rd);

raft_index wal_last_index(const struct wal *w);
raft_index wal_snapshot_index(const struct wal *w);

#endif
