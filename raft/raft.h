/*
 * raft/raft.h - public API of the pure Raft core.
 *
 * Owns: the types (entries, messages, configurations, ready batches) and the
 * contract between the core and the program that embeds it.
 *
 * The core is a pure state machine in the shape of etcd's RawNode: it does no
 * I/O, reads no clock, draws randomness only from a PRNG inside struct raft
 * seeded by the caller, and never logs by itself (optional callback).  The
 * embedder feeds it ticks (raft_tick), peer messages (raft_step), client
 * proposals (raft_propose*, raft_read_index, raft_transfer) and collects the
 * resulting work with raft_ready()/raft_advance().
 *
 * THE READY CONTRACT (order matters for safety):
 *
 *   while (raft_has_ready(r)) {
 *       struct raft_ready rd;
 *       raft_ready(r, &rd);
 *       1. if rd.snapshot: install the snapshot data received with the
 *          RAFT_MSG_SNAPSHOT that produced it into the state machine, and
 *          record its metadata durably; drop every stored log entry.
 *       2. if rd.n_entries: truncate stored log from rd.entries[0].index on,
 *          then append rd.entries.
 *       3. if rd.hs_changed: store rd.hs (term, vote).
 *          Steps 1-3 must be durable (fsync) before step 4. One exception
 *          (Raft thesis 10.2.1): a LEADER may send its append and heartbeat
 *          messages before its own fsync of the same entries when this
 *          ready has no snapshot and no hard-state change, because the core
 *          counts the leader's own copy toward commit only after
 *          raft_advance() says it is durable. dfs-namenode does this.
 *       4. send rd.msgs (in any order; they may be lost, never corrupted).
 *       5. apply rd.committed in order; answer rd.reads (a read with index
 *          i may be served once the local state machine has applied >= i).
 *       6. raft_advance(r, &rd).
 *   }
 *
 * ASYNCHRONOUS LEADER WRITES (Raft thesis 10.2.1, etcd's async storage
 * writes): when rd.may_sync_later is set (a leader's ready with no
 * snapshot and no hard-state change), the embedder may write rd.entries
 * without waiting for them to be durable, do steps 4 and 5, and call
 * raft_advance_unsynced() instead of raft_advance(). The core then counts
 * its own copy toward commit only up to what a later raft_synced(r, i, t)
 * reports durable, so entries commit on the followers' copies alone
 * meanwhile, and rd.committed may hold entries not yet durable here (they
 * are on a quorum). raft_advance() after a ready that is not
 * may_sync_later declares every entry handed out so far durable: the
 * embedder makes the earlier unsynced writes durable before it, as one
 * fsync of the same log does. A raft_synced() arriving after that, or for
 * an entry no longer in the log, is ignored.
 *
 * Between raft_ready() and raft_advance() no other function may be called on
 * r; every pointer inside rd stays valid until raft_advance() returns.
 * Entries sent in messages are deep copies owned by the core and freed in
 * raft_advance(): serialize them before advancing.
 *
 * THREADS: a struct raft is not thread-safe.  One thread owns it and makes
 * every call; different struct raft instances are independent.
 *
 * ERRORS: functions return 0 or a negative value: -errno (-ENOMEM, -EINVAL)
 * or -RAFT_E* (see raft_strerror()).  On error no state changes unless
 * stated otherwise.
 */
#ifndef DFS_RAFT_RAFT_H
#define DFS_RAFT_RAFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint64_t raft_id;    /* node id; 0 means "none" */
typedef uint64_t raft_index; /* log index; first entry is 1 */
typedef uint64_t raft_term;

/* Error codes outside the errno range. */
enum {
	RAFT_ENOTLEADER = 1000, /* this node is not the leader */
	RAFT_ENOLEADER,         /* no leader known to forward to */
	RAFT_EBUSY,             /* a config change / transfer is in progress */
	RAFT_ENOTREADY,         /* leader has not committed in its term yet */
	RAFT_ECOMPACTED,        /* index is at or before the snapshot */
	RAFT_EUNAVAIL,          /* index beyond the log */
	RAFT_ECORRUPT,          /* persistent data failed a checksum */
	RAFT_EBADCONF,          /* invalid membership change */
};

/* Return a static string for 0, -errno or -RAFT_E*. */
const char *raft_strerror(int err);

/* Maximum voters in a configuration (and so in a cluster). */
#define RAFT_VOTERS_MAX 9
/* Named bound on AppendEntries in flight per follower (pipelining). */
#define RAFT_INFLIGHT_MAX 64
/* Named bound on ReadIndex requests a leader holds unconfirmed. */
#define RAFT_PENDING_READS_MAX 1024
/* Heartbeat rounds whose send tick a leader remembers (lease reads). */
#define RAFT_HEARTBEAT_RING 64

struct raft_config {
	uint32_t n;
	raft_id voters[RAFT_VOTERS_MAX];
};

bool raft_config_has(const struct raft_config *c, raft_id id);
/* Encoding of a configuration as stored in a RAFT_ENTRY_CONFIG payload:
 * u32 n (little endian) then n u64 ids.  encode returns the bytes written
 * (buf must hold RAFT_CONFIG_ENCODED_MAX); decode returns 0 or -EINVAL. */
#define RAFT_CONFIG_ENCODED_MAX (4 + 8 * RAFT_VOTERS_MAX)
size_t raft_config_encode(const struct raft_config *c, uint8_t *buf);
int raft_config_decode(const void *buf, size_t len, struct raft_config *c);

enum raft_entry_type {
	RAFT_ENTRY_NORMAL = 1,
	RAFT_ENTRY_NOOP = 2,   /* appended by every new leader */
	RAFT_ENTRY_CONFIG = 3, /* payload: raft_config_encode() of new config */
};

struct raft_buf {
	void *base;
	size_t len;
};

struct raft_entry {
	raft_term term;
	raft_index index;
	uint8_t type; /* enum raft_entry_type */
	struct raft_buf data;
};

/* Snapshot metadata: the state machine as of index/term, with its config. */
struct raft_snapshot_meta {
	raft_index index;
	raft_term term;
	struct raft_config conf;
};

enum raft_msg_type {
	RAFT_MSG_PREVOTE = 1,    /* term=candidate term+1, index/log_term=last */
	RAFT_MSG_PREVOTE_RESP,   /* reject */
	RAFT_MSG_VOTE,           /* index/log_term=last, transfer */
	RAFT_MSG_VOTE_RESP,      /* reject */
	RAFT_MSG_APPEND,         /* index/log_term=prev, commit, entries */
	RAFT_MSG_APPEND_RESP,    /* index=last matched or rejected prev, reject,
				    hint=follower's suggested last index */
	RAFT_MSG_HEARTBEAT,      /* commit, ctx=read round */
	RAFT_MSG_HEARTBEAT_RESP, /* ctx */
	RAFT_MSG_SNAPSHOT,       /* snap (index, term, conf); the embedder
				    streams the data it stored for snap.index */
	RAFT_MSG_TIMEOUT_NOW,    /* leader transfer: campaign now */
	RAFT_MSG_READ_INDEX,     /* follower -> leader, ctx=request id */
	RAFT_MSG_READ_INDEX_RESP,/* ctx=request id, index=read index */
};

/* A message between cores.  Every field is a scalar, a config or an entry
 * list so that a protobuf schema can mirror it one to one. */
struct raft_msg {
	uint8_t type; /* enum raft_msg_type */
	raft_id from;
	raft_id to;
	raft_term term;
	raft_term log_term;
	raft_index index;
	raft_index commit;
	raft_index hint;
	uint64_t ctx;
	bool reject;
	bool transfer;
	struct raft_snapshot_meta snap;
	uint32_t n_entries;
	struct raft_entry *entries;
};

struct raft_hard_state {
	raft_term term;
	raft_id vote;
};

struct raft_read_state {
	uint64_t id;      /* the caller's request id */
	raft_index index; /* serve once applied index >= this */
};

enum raft_role {
	RAFT_FOLLOWER = 0,
	RAFT_PRECANDIDATE,
	RAFT_CANDIDATE,
	RAFT_LEADER,
};
const char *raft_role_name(int role);

struct raft_ready {
	bool hs_changed;
	struct raft_hard_state hs;
	const struct raft_snapshot_meta *snapshot; /* NULL: none */
	const struct raft_entry *entries;
	size_t n_entries;
	const struct raft_msg *msgs;
	size_t n_msgs;
	const struct raft_entry *committed;
	size_t n_committed;
	const struct raft_read_state *reads;
	size_t n_reads;
	bool may_sync_later; /* raft_advance_unsynced() is allowed */
};

enum raft_log_level { RAFT_DEBUG, RAFT_INFO, RAFT_NOTICE, RAFT_WARN };
typedef void (*raft_log_fn)(void *ctx, int level, const char *msg);

struct raft_options {
	raft_id id;
	unsigned election_ticks;    /* timeout drawn from [e, 2e) */
	unsigned heartbeat_ticks;   /* < election_ticks */
	unsigned max_batch_entries; /* per AppendEntries */
	size_t max_batch_bytes;     /* per AppendEntries (payload bytes) */
	unsigned max_inflight;      /* <= RAFT_INFLIGHT_MAX */
	bool pre_vote;
	bool check_quorum; /* leader steps down without a quorum; lease */
	/* With check_quorum: a leader whose heartbeat round sent at tick T
	 * was acknowledged by a quorum answers reads at once (no heartbeat
	 * round per read) until T + election_ticks - election_ticks / 4:
	 * those voters refuse other candidates until election_ticks after
	 * they heard it, and a node refuses votes for election_ticks after
	 * it starts. Assumes the nodes' ticks run at the same rate within
	 * that quarter; a leader whose clock may have stalled calls
	 * raft_lease_drop. Off by default. */
	bool lease_reads;
	uint64_t seed;     /* seeds the internal PRNG */
	raft_log_fn log_fn;
	void *log_ctx;
};

/* Fill o with defaults: election 10, heartbeat 1, batch 64 entries / 1 MiB,
 * inflight 16, pre_vote and check_quorum on. */
void raft_options_default(struct raft_options *o, raft_id id, uint64_t seed);

struct raft; /* opaque; see raft/raft_int.h for the layout */

/* Allocate a core.  Returns NULL on ENOMEM.  Free with raft_free(). */
struct raft *raft_new(const struct raft_options *o);
void raft_free(struct raft *r);

/* Restore persisted state before the first tick/step: the latest snapshot
 * metadata (index 0 and the initial configuration to bootstrap a new
 * cluster; an empty configuration for a node that will be added), hard
 * state and the entries stored after the snapshot, contiguous from
 * snap->index + 1.  Entry payloads are copied.  The state machine must
 * already reflect snap; committed entries are re-delivered from there. */
int raft_restore(struct raft *r, const struct raft_snapshot_meta *snap,
		 const struct raft_hard_state *hs, const struct raft_entry *ents,
		 size_t n);

/* One logical clock tick. */
void raft_tick(struct raft *r);

/* Hand in a message from a peer.  m and its entries are only read (copied
 * as needed).  Returns 0, or -EINVAL for a malformed message (unknown type,
 * from 0 or from ourselves, to someone else, term 0, entries missing, a
 * snapshot configuration over RAFT_VOTERS_MAX).  Running out of memory
 * while handling a message drops it, as the network may. */
int raft_step(struct raft *r, const struct raft_msg *m);

/* Leader only: append a normal entry whose payload is copied.  On success
 * *index (if not NULL) receives the entry's index; the entry is durable and
 * committed once it comes back in ready.committed.  Entries proposed
 * before the next raft_ready() are sent to followers together (batching).
 * -RAFT_ENOTLEADER, -RAFT_EBUSY while a transfer runs, -ENOMEM. */
int raft_propose(struct raft *r, const void *data, size_t len,
		 raft_index *index);

/* Leader only: add or remove one voter (single-server change).  The new
 * configuration takes effect on every node as soon as it is appended.
 * -RAFT_EBUSY if an uncommitted change exists or the leader has not yet
 * committed in its term; -RAFT_EBADCONF if id already is / is not a voter. */
int raft_add_voter(struct raft *r, raft_id id, raft_index *index);
int raft_remove_voter(struct raft *r, raft_id id, raft_index *index);

/* Leader only: hand leadership to target (TimeoutNow once it is caught
 * up).  Proposals fail with -RAFT_EBUSY until the transfer ends or times
 * out after one election timeout. */
int raft_transfer(struct raft *r, raft_id target);

/* Linearizable read: request id is the caller's.  On a leader, the read
 * index is returned in a later ready.reads once a quorum acknowledged a
 * heartbeat round sent after the request; a follower forwards it to the
 * leader and gets the answer in its own ready.reads.  A read whose
 * messages are lost, or whose leader steps down, is never answered: the
 * caller times out and retries with a new id.  -RAFT_ENOLEADER,
 * -RAFT_ENOTREADY (leader has not committed in its term yet), -RAFT_EBUSY
 * (RAFT_PENDING_READS_MAX reads pending), -ENOMEM. */
int raft_read_index(struct raft *r, uint64_t id);
/* Forgets the leader's read lease (its ticks may lag real time); reads
 * take a heartbeat round until the next one is acknowledged. */
void raft_lease_drop(struct raft *r);

/* The embedder took a snapshot of its state machine at index (<= applied
 * and durable): the core drops log entries <= index.  term/conf must be the
 * term of that entry and the configuration in effect at it (see
 * raft_conf_at()).  The WAL may then drop its prefix too. */
int raft_compact(struct raft *r, raft_index index, raft_term term,
		 const struct raft_config *conf);
/* The configuration in effect at index (latest config entry <= index or the
 * snapshot's).  -RAFT_ECOMPACTED / -RAFT_EUNAVAIL. */
int raft_conf_at(const struct raft *r, raft_index index, struct raft_config *c);

/* Leader: the transport failed to deliver a snapshot to peer; go back to
 * probing it. */
void raft_report_snapshot_failed(struct raft *r, raft_id peer);

bool raft_has_ready(const struct raft *r);
void raft_ready(struct raft *r, struct raft_ready *rd);
void raft_advance(struct raft *r, const struct raft_ready *rd);
/* Asynchronous leader writes (see the contract above). */
void raft_advance_unsynced(struct raft *r, const struct raft_ready *rd);
/* Entries up to index, whose entry has term `term`, are durable here. */
void raft_synced(struct raft *r, raft_index index, raft_term term);

/* Introspection (for embedders, tests and the simulator). */
raft_id raft_id_of(const struct raft *r);
int raft_role(const struct raft *r);
raft_term raft_term_of(const struct raft *r);
raft_id raft_leader(const struct raft *r);
raft_index raft_commit_index(const struct raft *r);
raft_index raft_applied_index(const struct raft *r);
/* Last index known durable here (behind the log only after
 * raft_advance_unsynced, until raft_synced). */
raft_index raft_durable_index(const struct raft *r);
raft_index raft_last_index(const struct raft *r);
raft_index raft_snapshot_index(const struct raft *r);
/* Term of entry index; 0 if unknown (compacted or beyond the log). */
raft_term raft_term_at(const struct raft *r, raft_index index);
/* Entry at index, or NULL (compacted or beyond the log). */
const struct raft_entry *raft_entry_at(const struct raft *r, raft_index index);
const struct raft_config *raft_config_of(const struct raft *r);

#endif
