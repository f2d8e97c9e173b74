/* journal.h: a data directory's replica journal, where a small new replica
 * becomes durable with one write and one fdatasync of a file the disk has
 * already allocated, instead of creating two files, fdatasyncing both and
 * the directory they are renamed into (three file-system journal commits,
 * 1.5-1.8 ms here when three datanodes share a disk, against 0.1-0.15 ms).
 *
 * File <dir>/journal, made once at full size and zero-filled (so that an
 * append never changes the file's size or extents):
 *   [0, 4096)        superblock: magic, version, capacity, tail (below)
 *   [4096, 4096+cap) a ring of records, addressed by a byte position that
 *                    only grows (lpos); lpos p lives at 4096 + p % cap and a
 *                    record may wrap around the end.
 * A record: header {magic, crc32c, lpos, block id, genstamp, length} and
 * the replica's bytes. The CRC covers the header (from lpos on) and the
 * bytes; a record is valid only where its own lpos says it is, so leftovers
 * of an earlier lap never pass for new ones. Fields are in host byte
 * order: a journal does not move between machines.
 *
 * Life of a journaled replica (replica_write.c): a new replica that stays
 * within DN_JOURNAL_REPLICA_MAX has no files while it is written, only a
 * copy of its bytes in memory; at the last packet the whole replica is
 * appended here and synced (appends of concurrent streams share one
 * fdatasync); the write is acked, then its files are written straight
 * into current/ (dn_journal_place) without any sync, while readers of it
 * wait. No rbw/ files and no renames. A replica that needs its files
 * earlier (a sync before the last packet, say) gets rbw/ files from the
 * copy, is appended the same way at its last packet and renamed into
 * current/ before the ack. A checkpoint, run by this journal's thread once
 * half the ring is in use (and at close), syncs the file system (syncfs),
 * which makes every such replica durable in its own files, then moves the
 * superblock's tail past their records, freeing the space. At start, the
 * records from the tail on are replayed (open): each replica is rewritten
 * into current/ unless a newer genstamp of it is there, and synced.
 *
 * Invariants:
 *   - tail <= synced <= head and head - tail <= cap;
 *   - every record in [tail, synced) is durable and was acked only after
 *     its fdatasync; a record is overwritten only after a durable
 *     superblock puts the tail past it;
 *   - the superblock's tail only moves past records whose replica files
 *     were in place before the syncfs that preceded it (a stream holds the
 *     apply lock from its append until its files are written or renamed);
 *   - a replica's files in current/ that no checkpoint synced yet have a
 *     durable record: they are written only after its append returned.
 *
 * Threads: appends from any thread (the lock serialises writes into the
 * ring; the fdatasync runs outside it); one checkpoint thread per journal. */
#ifndef DFS_DATANODE_JOURNAL_H
#define DFS_DATANODE_JOURNAL_H
#include <stddef.h>
#include <stdint.h>

struct dn_store;
struct dn_journal;

/* Largest replica that goes through the journal: beyond it the copy into
 * the journal costs more than the file syncs it saves. */
#define DN_JOURNAL_REPLICA_MAX (256u << 10)
/* Smallest journal (a smaller size is raised to this). */
#define DN_JOURNAL_MIN_BYTES (1u << 20)

/* Opens (or makes, zero-filled) dir's journal of cap_bytes (a journal of
 * another size is replayed, then remade at this size), replays the records
 * from its tail into the store's directory `dir` (before the directory is
 * scanned) and starts the checkpoint thread. Returns 0 and *out, or a
 * negative errno (nothing left open). */
int dn_journal_open(struct dn_store *s, int dir, uint64_t cap_bytes, struct dn_journal **out);

/* With the journal turned off: replays dir's journal if it has one, then
 * removes it. 0 or a negative errno. */
int dn_journal_remove(struct dn_store *s, int dir);

/* Checkpoints (the replicas' own files become durable and the ring empty),
 * stops the thread and frees j. NULL is fine. */
void dn_journal_close(struct dn_journal *j);

/* A stream about to journal a replica takes the apply lock first and
 * releases it once the replica is in place, so that a checkpoint never
 * frees a record whose replica is not in its final files yet. */
void dn_journal_begin(struct dn_journal *j);
void dn_journal_end(struct dn_journal *j);

/* Appends replica (id, genstamp, data[0, len)) and returns once it is
 * durable; *gen gets the checkpoint generation of the record (for
 * dn_journal_covers). -ENOSPC: no room until the next checkpoint
 * (nothing written; sync the replica's own files instead); -EIO: the
 * journal failed (it takes no more records). len <=
 * dn_journal_replica_max(j). */
int dn_journal_write(struct dn_journal *j, uint64_t id, uint64_t genstamp, const void *data,
		     size_t len, uint32_t *gen);

/* Whether a checkpoint has made the files of records of generation gen
 * durable (then a rewrite of such a replica need not sync its name). */
int dn_journal_covers(struct dn_journal *j, uint32_t gen);

/* Largest replica this journal takes (DN_JOURNAL_REPLICA_MAX, or less for
 * a small ring). */
size_t dn_journal_replica_max(const struct dn_journal *j);

struct dn_journal_stats {
	uint64_t records;     /* appended since open */
	uint64_t syncs;       /* fdatasyncs they took */
	uint64_t checkpoints; /* since open */
	uint64_t full;        /* appends refused for lack of room */
	uint64_t replayed;    /* records replayed at open */
	uint64_t used_bytes;  /* head - tail now */
};
void dn_journal_get_stats(struct dn_journal *j, struct dn_journal_stats *out);

/* Runs a checkpoint now (tests, close). 0 or a negative errno. */
int dn_journal_checkpoint(struct dn_journal *j);

/* Writes replica (id, genstamp, data[0, len)) into its files in dir's
 * current/ (the leaf directory made if need be), unsynced: what a
 * journaled replica needs once its record is durable (and what replay
 * does). 0 or a negative errno. */
int dn_journal_place(struct dn_store *s, int dir, uint64_t id, uint64_t genstamp,
		     const uint8_t *data, uint64_t len);

#endif
