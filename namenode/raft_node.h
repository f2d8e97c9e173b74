/* raft_node.h: the namenode's embedding of the pure Raft core (raft/raft.h)
 * and its WAL (raft/wal.h): the replicated namespace.
 *
 * Files: raft_node.c (lifecycle, bootstrap, the ready loop, proposals,
 * reads, status/admin), raft_transport.c (peer sender threads, RaftMsg
 * codec), raft_snapshot.c (compaction, streaming a snapshot to a peer,
 * receiving and swapping one in).
 *
 * Model (see docs/ARCHITECTURE.md "Raft in the namenode"):
 *  - Every namenode process is a member of a group; without `peers` it is
 *    a group of one (node_id alone) and becomes leader at once.
 *  - On-disk: <name_dir>/ns is the LevelDB namespace, <raft_dir> (default
 *    <name_dir>/raft) the WAL. The WAL is the durable log (one fsync per
 *    ready batch = group commit); LevelDB writes are unsynced and record
 *    the applied index, so a restart replays the WAL entries after it.
 *    A leader's fdatasync runs on the syncer thread (wal_syncer.h) while
 *    the loop goes on: its entries commit on the followers' copies, or on
 *    its own once the syncer reports them durable.
 *  - A mutation becomes a NORMAL entry (u8 NN_ENTRY_CMD + packed
 *    NsCommand{method, req, leader's now_ns}); the leader replies once the
 *    entry is applied locally. A follower answers -DFS_ENOTLEADER with the
 *    leader's address. Reads go through ReadIndex on the leader.
 *  - The address table (node id -> host:port) starts from `peers` and is
 *    extended by replicated NS_M_RAFT_PEER commands (dfs_raft_add).
 *
 * Threads: everything here runs on the event-loop thread, except the
 * per-peer sender threads of raft_transport.c, which only see the frames
 * queued for them (lock: tx->mu, a leaf lock), and the WAL syncer, which
 * only sees the descriptors handed to it.
 */
#ifndef DFS_NAMENODE_RAFT_NODE_H
#define DFS_NAMENODE_RAFT_NODE_H
#include "namenode/nn.h"
#include "raft/raft.h"
#include "raft/wal.h"
#include "namenode/wal_syncer.h"
#include "common/proto/raft.pb-c.h"

#include <leveldb/c.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define NS_M_RAFT_PEER 121               /* command: req.ino = id, req.target = addr */
#define NN_ENTRY_CMD 1                   /* first byte of a NORMAL entry */
#define NN_RAFT_PEERS_MAX 16             /* address table entries */
#define NN_RAFT_PENDING_MAX 65536        /* proposals awaiting apply */
#define NN_RAFT_LAZY_WAIT_MS 2   /* a lone client's entry not committed by the
				  * followers by then: the leader syncs it */
#define NN_RAFT_LAZY_MAX_MS 10   /* committed entries the leader has not
				  * synced yet, at most this long */
#define NN_RAFT_LAZY_RETRY_MS 100 /* after a miss, sync in the loop this long */
#define NN_RAFT_READS_MAX 65536          /* reads awaiting their read index */
#define NN_RAFT_TX_BYTES_MAX (32u << 20) /* bytes queued per peer sender */
#define NN_RAFT_TX_FRAMES_MAX 8192       /* frames queued per peer sender */
#define NN_RAFT_CONNECT_TIMEOUT_MS 1000
#define NN_RAFT_SNAP_CHUNK_BYTES (1u << 20)
#define NN_RAFT_SNAP_QUEUE_BYTES (4u << 20) /* snapshot bytes queued before pausing */
#define NN_RAFT_FX_MAX 4096                 /* effects kept (raft_effects.c) */
#define NN_RAFT_FX_BYTES_MAX (16u << 20)    /* ... and their bytes */
#define NN_RAFT_FX_SEND_MAX (1u << 20)      /* effects bytes added to one message */

struct nn_raft_tx; /* raft_transport.c */

struct nn_raft_peer {
	uint64_t id;
	char addr[280];
	struct nn_raft_tx *tx; /* NULL for ourselves */
	int64_t last_recv_ms;
	bool drop; /* fault hook: drop traffic to and from it */
	uint64_t fx_next; /* leader: first log index whose effects it lacks */
};

/* The effects of one applied log entry (ns_effects.c bytes). */
struct nn_raft_fx {
	uint64_t index, term;
	uint8_t *data;
	size_t len;
};

struct nn_raft_pending {
	uint64_t index, term;
	struct rpc_conn *c; /* held */
	uint64_t call_id;
	uint32_t method;
	int nt;
	int targets[NS_REPLICATION_MAX];
};

struct nn_raft_read {
	uint64_t batch;      /* read-index request id */
	uint64_t read_index; /* 0 until confirmed */
	int64_t since_ms;
	struct rpc_conn *c;  /* held */
	uint64_t call_id;
	uint32_t method;
	Dfs__NsRequest *req; /* owned */
};

struct nn_raft_snap_out {
	bool active;
	uint64_t to, stream_id, seq;
	const leveldb_snapshot_t *snap;
	leveldb_readoptions_t *ro;
	leveldb_iterator_t *it;
	struct raft_msg msg; /* the RAFT_MSG_SNAPSHOT (no entries) */
};

struct nn_raft_snap_in {
	bool active;
	uint64_t from, stream_id, next_seq, applied;
	leveldb_t *db;
	leveldb_options_t *opts;
	leveldb_writeoptions_t *wo;
};

struct nn_raft {
	struct raft *r;
	struct wal *w;
	struct wal_syncer *syncer; /* a leader's fdatasync off the loop */
	uint64_t id;
	char ns_dir[PATH_MAX];
	char raft_dir[PATH_MAX];
	char snap_dir[PATH_MAX]; /* <name_dir>/snap.tmp */
	char name_dir[PATH_MAX];
	struct nn_raft_peer peers[NN_RAFT_PEERS_MAX];
	size_t n_peers;
	uint64_t applied; /* raft index applied (any entry type) */
	bool joining;     /* no state yet: waiting for a snapshot */
	int64_t tick_ms, next_tick_ms;
	unsigned election_ticks;
	uint64_t snapshot_entries;
	/* proposals in index order */
	struct nn_raft_pending *pend;
	size_t pend_head, n_pend, cap_pend;
	/* reads */
	struct nn_raft_read *reads;
	size_t n_reads, cap_reads;
	uint64_t read_batch;   /* id of the batch being filled */
	bool batch_open;       /* reads were queued into read_batch */
	bool gc_inflight;
	uint64_t gc_index;
	/* logging of changes */
	int last_role;
	uint64_t last_term, last_leader;
	struct raft_config last_conf;
	/* effects of recent entries, in index order: the leader's own, to
	 * send; a follower's, received, to apply (raft_effects.c) */
	struct nn_raft_fx *fx;
	size_t fx_head, n_fx;
	size_t fx_bytes;
	uint64_t fx_applied; /* entries this node applied from effects */
	uint64_t unsynced_writes; /* leader readies written ahead of their fsync */
	/* A lone client's entries, written without an fsync: they commit on
	 * the followers' copies, and the leader syncs them later (lazy_check
	 * in raft_node.c). */
	struct {
		bool on;           /* entries up to (index, term) await a sync */
		uint64_t index, term;
		int64_t first_ns;  /* when the oldest of them was written */
		int64_t last_ns;   /* when the newest was */
		bool off;          /* the followers did not commit in time */
		int64_t retry_ns;  /* when off: the time to try again */
	} lazy;
	/* snapshots */
	struct nn_raft_snap_out out[NN_RAFT_PEERS_MAX];
	struct nn_raft_snap_in in;
	uint64_t next_stream;
	bool fatal;
};

/* ---- raft_effects.c: applied entries' effects, leader to followers ----
 * The leader records what applying each entry wrote and sends it with its
 * next AppendEntries or heartbeat; a follower applies an entry from them
 * when it has them for that very entry (index and term), and otherwise
 * runs the command as before. Applying is deterministic, so both give
 * the same state: the effects only spare a follower the work. */
/* Leader, after applying entry (index, term): keeps its effects. */
void nn_raft_fx_keep(struct nn_raft *rn, uint64_t index, uint64_t term, const uint8_t *data,
		     size_t len);
/* Leader: adds the effects p lacks to pb (a message to p); returns what
 * to free once pb is packed (nn_raft_fx_sent). */
void nn_raft_fx_attach(struct nn_raft *rn, struct nn_raft_peer *p, Dfs__RaftMsg *pb);
void nn_raft_fx_sent(Dfs__RaftMsg *pb);
/* Follower: keeps the effects that came with a message. */
void nn_raft_fx_receive(struct nn_raft *rn, const Dfs__RaftMsg *pb);
/* The effects for entry (index, term), if any (valid until the next
 * call here); drops those of earlier entries. */
const struct nn_raft_fx *nn_raft_fx_for(struct nn_raft *rn, uint64_t index, uint64_t term);
void nn_raft_fx_clear(struct nn_raft *rn);

/* ---- raft_node.c ---- */
/* After --format created the namespace: bootstrap the WAL (snapshot index
 * 1 = the formatted state, every configured peer a voter). */
int nn_raft_format(struct nn *nn);
/* Opens the WAL, restores the core; nn->ns may be NULL (joining). */
int nn_raft_open(struct nn *nn);
void nn_raft_close(struct nn *nn);
/* Logs "raft: cannot WHAT: stopping" with rc, marks the node fatal (no
 * more readies) and asks the daemon to stop. Returns rc. */
int nn_raft_fatal(struct nn_raft *rn, int rc, const char *what);
/* The descriptor the event loop watches for the WAL syncer (readable
 * when a leader's fdatasync completed; nn_raft_commit takes it). */
int nn_raft_wake_fd(const struct nn *nn);
/* The current term (block_alloc.c). */
uint64_t nn_raft_term(const struct nn *nn);
/* A namespace request on the Raft path. 0: taken (req now owned, reply
 * later); 1: serve it here and now; < 0: reply with that status. */
int nn_raft_submit(struct nn *nn, struct rpc_conn *c, uint32_t method, uint64_t call_id,
		   Dfs__NsRequest *req);
/* Fills r for an error from nn_raft_submit (leader address for NOTLEADER). */
void nn_raft_error_reply(struct nn *nn, int status, Dfs__NsReply *r);
/* DFS_M_RAFT_* frames. < 0 closes the connection. */
int nn_raft_handle(struct nn *nn, struct rpc_conn *c, const struct dfs_frame_header *h,
		   const uint8_t *proto);
/* End of a loop turn: read-index batch, ready loop (fsync, send, apply,
 * replies), compaction, snapshot streams. */
void nn_raft_commit(struct nn *nn);
/* Ticks the core as time passed; returns ms until it wants to run. */
int nn_raft_tick(struct nn *nn, int64_t now_ms);
/* Leader: propose one NS_M_GC (if none is in flight). */
void nn_raft_propose_gc(struct nn *nn);
/* Address of the leader ("" if unknown). */
const char *nn_raft_leader_addr(const struct nn *nn);
struct nn_raft_peer *nn_raft_peer(struct nn_raft *rn, uint64_t id);
int nn_raft_peer_set(struct nn_raft *rn, uint64_t id, const char *addr);

/* ---- raft_transport.c ---- */
int nn_raft_tx_start(struct nn_raft_peer *p);
void nn_raft_tx_stop(struct nn_raft_peer *p);
/* Queues one frame (copied) for the peer; -ENOBUFS when the queue is full
 * (the message is dropped, as a network may). */
int nn_raft_tx_send(struct nn_raft_peer *p, uint32_t method, const ProtobufCMessage *msg);
size_t nn_raft_tx_queued(struct nn_raft_peer *p);
bool nn_raft_tx_connected(struct nn_raft_peer *p);
/* raft_msg <-> RaftMsg. to_pb allocates (free with nn_raft_msg_pb_free);
 * from_pb fills m with entries pointing into pb (valid while pb is). */
int nn_raft_msg_to_pb(const struct raft_msg *m, Dfs__RaftMsg *pb);
void nn_raft_msg_pb_free(Dfs__RaftMsg *pb);
int nn_raft_msg_from_pb(const Dfs__RaftMsg *pb, struct raft_msg *m);
void nn_raft_msg_free(struct raft_msg *m);

/* ---- raft_snapshot.c ---- */
/* Compacts the log if it grew past snapshot_entries. */
void nn_raft_maybe_compact(struct nn *nn);
/* Leader: start streaming the state to m->to (m is RAFT_MSG_SNAPSHOT). */
void nn_raft_snap_start(struct nn *nn, const struct raft_msg *m);
/* Pushes more chunks of active streams; true if some stream is active. */
bool nn_raft_snap_pump(struct nn *nn);
void nn_raft_snap_stop(struct nn_raft *rn, size_t slot);
/* One received chunk. */
int nn_raft_snap_recv(struct nn *nn, const uint8_t *proto, size_t len);
void nn_raft_snap_in_abort(struct nn_raft *rn);

#endif
