/* replica_write.h: one write stream into one replica (create or rewrite).
 *
 * State machine of a writer:
 *   dn_writer_open -> OPEN --write/truncate/sync--> OPEN
 *                     OPEN --dn_writer_finish--> FINALIZED (freed)
 *                     OPEN --dn_writer_abort---> replica left as it is (freed)
 * While OPEN the replica's map entry has `writing` set: no other writer,
 * no delete. A create writes under rbw/ with the new genstamp in its meta
 * header; finish renames into current/. A new replica the journal may
 * take has no files until its last packet (only a copy of its bytes):
 * journaled, it is written straight into current/ (journal.h); anything
 * that needs its files sooner makes the rbw/ ones first. A rewrite works
 * in place and puts the new genstamp into the meta header (fsynced) only
 * at finish, so a stream that dies midway leaves a replica that is
 * visibly stale.
 * Invariant after every call: the meta file holds the correct CRC32C of
 * every chunk of data [0, length) (of a replica with files).
 *
 * A writer is used by one thread at a time. */
#ifndef DFS_DATANODE_REPLICA_WRITE_H
#define DFS_DATANODE_REPLICA_WRITE_H
#include <stddef.h>
#include <stdint.h>

#include "datanode/blockstore.h"

struct dn_writer;

#define DN_WRITER_PLACE 1 /* dn_writer_finish_synced: durable, files to write */

/* Opens a write stream on block id with the new genstamp.
 * create: a new replica (an existing one with a lower genstamp, or an RBW
 *   one, is replaced at finish; -EEXIST if a finalized replica with the
 *   same or a newer genstamp exists).
 * !create: the replica must exist with a genstamp from prev_genstamp up
 *   to (not including) genstamp: the writer's starting point or one of its
 *   own later streams (else -ENOENT / -DFS_ESTALE).
 * Waits up to DN_WRITER_WAIT_MS for another writer of the same replica,
 * then -EBUSY. On success *out is owned by the caller until finish/abort. */
int dn_writer_open(struct dn_store *s, uint64_t id, uint64_t genstamp, int create,
		   uint64_t prev_genstamp, struct dn_writer **out);

/* Sets the replica length (cut, or extend with zeros). */
int dn_writer_truncate(struct dn_writer *w, uint64_t length);

/* Writes data at offset; crcs are the CRC32C of data cut at chunk
 * boundaries (dfs_crc32c_chunks(offset, data, len)), already verified by
 * the caller. A write past the end leaves a zero-filled gap. */
int dn_writer_write(struct dn_writer *w, uint64_t offset, const void *data, size_t len,
		    const uint32_t *crcs);

/* fsyncs data and checksums. */
int dn_writer_sync(struct dn_writer *w);

/* Current replica length. */
uint64_t dn_writer_length(const struct dn_writer *w);

/* Makes the replica durable (fsync) and final with the new genstamp, and
 * frees w. On error the replica is left as after abort. *final (may be
 * NULL) receives the finalized replica. */
int dn_writer_finish(struct dn_writer *w, struct dn_replica_info *final);

/* dn_writer_sync then dn_writer_finish, for a stream's last packet: a
 * create small enough for its data dir's journal is made durable there
 * instead, with one append, and its own files are synced by the journal's
 * next checkpoint (journal.h). Frees w, as finish does, except when it
 * returns DN_WRITER_PLACE: the replica is durable but its files are still
 * to be written; the caller acks it, then calls dn_writer_place (readers
 * of the replica wait until then). */
int dn_writer_finish_synced(struct dn_writer *w, struct dn_replica_info *final);

/* Ends the stream without finishing; frees w. A rewrite's replica keeps
 * its old genstamp and remembers the stream's genstamp (pending_gs) so
 * that a pipeline-recovery stream naming it is accepted. */
void dn_writer_abort(struct dn_writer *w);

/* Like abort, but a create's half-written replica is removed (after
 * ENOSPC: nothing half-written is left behind). */
void dn_writer_discard(struct dn_writer *w);

/* After DN_WRITER_PLACE: writes the replica into its files in current/
 * and finalizes it, as finish does (*final may be NULL). Frees w. On
 * error the replica is dropped until the journal's replay at the next
 * start brings it back. */
int dn_writer_place(struct dn_writer *w, struct dn_replica_info *final);

#endif
