/* nn.h: the namenode process: its configuration and the context that the
 * daemon skeleton's steps and the event loop share. Everything in struct
 * nn is owned by the event-loop thread (see rpc_server.h). */
#ifndef DFS_NAMENODE_NN_H
#define DFS_NAMENODE_NN_H
#include "namenode/dnmgr.h"
#include "namenode/ns.h"
#include "namenode/rpc_server.h"
#include "namenode/safemode.h"

#include <stdbool.h>
#include <stdint.h>

#define NN_BUSY_AFTER_ALLOC_MS 60000  /* no re-replication of a block being written */
#define NN_BUSY_AFTER_COMPLETE_MS 5000 /* time for the replicas' reports to arrive */
#define NN_COPY_PENDING_MS 30000      /* a COPY in flight is not re-issued before */
#define NN_REPLMON_SCAN_MAX 100000    /* blocks examined per replication check */
#define NN_REPLMON_SLOW_CYCLE_MS 600000 /* a full cycle when no event asks for more */
#define NN_REPLMON_SLOW_MIN 256       /* blocks walked per check at least */

struct nn_config {
	char *name_dir;
	char *listen_host;
	int64_t port;
	int64_t default_replication;
	uint64_t default_block_size;
	int64_t datanode_heartbeat_ms;
	int64_t datanode_dead_ms;
	int64_t replication_check_ms;
	char *safemode_threshold;       /* "0.999": see safemode.h */
	int64_t safemode_extension_ms;
	int64_t safemode_min_datanodes;
	int64_t max_copies_per_datanode; /* COPY commands in flight per source */
	int64_t replication_timeout_ms;  /* a COPY not done by then is re-issued */
	/* the Raft group (raft_node.h) */
	int64_t node_id;
	char *peers;             /* "1=host:port,2=host:port,..." ("": alone) */
	char *raft_dir;          /* "": <name_dir>/raft */
	int64_t raft_tick_ms;
	int64_t raft_election_ticks;
	int64_t raft_heartbeat_ticks;
	int raft_lease_reads;
	int64_t snapshot_entries;
	char *raft_drop_peers;   /* fault hook: "2,3" */
	char *log_level;
	char *log_file;
};

struct nn {
	struct nn_config cfg;
	bool format, force, join;
	char *dump_dir;          /* --dump-namespace DIR: print and exit */
	struct nn_raft *raft;    /* NULL only in unit tests: apply at once */
	struct ns *ns;           /* NULL while a joining node has no state */
	struct dnmgr dm;
	bool dm_ready;
	struct rpc_server *srv;
	uint16_t port;
	uint32_t superuser_uid;  /* the namenode's own euid: bypasses permissions */
	bool dirty;              /* applied since the last sync */
	int64_t next_check_ms;   /* liveness + replication monitor */
	int64_t copy_after_ms;   /* startup: no re-replication before this */
	struct safemode sm;      /* safemode.h; started lazily by replmon_run */
	uint64_t alloc_term;     /* block_alloc.c: the term alloc_next counts in */
	uint64_t alloc_next;
};

int64_t nn_now_ms(void);   /* monotonic */
int64_t nn_now_ns(void);   /* wall clock, for commands */
int64_t nn_mono_ns(void);  /* monotonic, for short intervals */

/* rpc_handlers.c: the rpc_handlers callbacks (arg = struct nn *). */
int nn_handle(void *arg, struct rpc_conn *c, const struct dfs_frame_header *h,
	      const uint8_t *proto, const uint8_t *data);
void nn_commit(void *arg);
int nn_tick(void *arg);
/* One namespace request (mutation or read); fills r, returns r->status. */
int nn_handle_ns(struct nn *nn, uint32_t method, Dfs__NsRequest *req, Dfs__NsReply *r);
/* One datanode message (packed DnRegister / DnHeartbeat / DnBlockReport);
 * fills r (commands, cluster id). -DFS_EPROTOCOL if it does not decode. */
int nn_handle_dn(struct nn *nn, uint32_t method, const uint8_t *p, size_t len,
		 Dfs__DnReply *r);
/* Applies one command and hands its freed blocks to the block manager. */
int nn_apply(struct nn *nn, uint32_t method, Dfs__NsRequest *req, Dfs__NsReply *reply);

/* True if this namenode leads the Raft group (or runs without one): only
 * the leader sends datanode commands and runs the replication monitor. */
bool nn_is_leader(const struct nn *nn);

/* Split of nn_apply for the Raft path (rpc_handlers.c). nn_prepare runs on
 * the leader before proposing: defaults and pipeline targets (soft state);
 * returns the number of targets or < 0. nn_apply_cmd applies a committed
 * command; local: this node prepared it (targets valid) and owes the
 * reply, so the soft-state follow-up runs. */
int nn_prepare(struct nn *nn, uint32_t method, Dfs__NsRequest *req, int *targets);
int nn_apply_cmd(struct nn *nn, const Dfs__NsCommand *cmd, uint64_t index,
		 Dfs__NsReply *reply, const int *targets, int nt, bool local);
/* Applies log entry `index` from the effects the leader recorded applying
 * it (ns_apply_effects), with the same side effects here as nn_apply_cmd
 * on a node that did not propose it. 0, or < 0 and nothing applied. */
int nn_apply_effects(struct nn *nn, const uint8_t *data, size_t len, uint64_t index);

/* Pipeline targets for a new block of `file` (its replication, block
 * size), avoiding req's exclude_nodes (rpc_handlers.c): their count, or
 * -DFS_ENODATANODES and the like. */
int nn_choose_targets(struct nn *nn, const Dfs__Attr *file, const Dfs__NsRequest *req,
		      int *targets);
/* The block map side of a block handed to a writer (rpc_handlers.c): the
 * targets (ADD_BLOCK) or the live replicas at prev_gs minus the request's
 * exclude_nodes (OPEN_BLOCK) expect lb's genstamp; the block is busy. */
int nn_attach_targets(struct nn *nn, Dfs__LocatedBlock *lb, const int *t, int n, int64_t now);
int nn_attach_replicas(struct nn *nn, Dfs__LocatedBlock *lb, uint64_t prev_gs, int64_t now,
		       const Dfs__NsRequest *req);

/* block_alloc.c: ADD_BLOCK, and OPEN_BLOCK of a block not recorded yet
 * (NSF_UNRECORDED), answered by the Raft leader without a log entry. */
bool nn_alloc_applies(const struct nn *nn, uint32_t method, const Dfs__NsRequest *req);
/* Fills r (file attributes, the block with its pipeline); r->status. */
int nn_alloc_block(struct nn *nn, uint32_t method, const Dfs__NsRequest *req, Dfs__NsReply *r);
/* A datanode reported a replica of block_id: one no COMPLETE recorded yet
 * stays busy a while, so that its writer's COMPLETE (maybe to a new
 * leader) comes before the orphan check. */
void nn_alloc_reported(struct nn *nn, uint64_t block_id, int64_t now);
/* After a CREATE applied on the leader for its client: with NSF_ALLOC_BLOCK
 * and a new empty file, block 0 of it in r->block, as ADD_BLOCK would
 * answer (a small file's writer then asks for nothing before its data
 * goes out). Best effort: without a block the writer asks itself. */
void nn_alloc_with_create(struct nn *nn, const Dfs__NsRequest *req, Dfs__NsReply *r);

/* replmon.c: one pass of the replication monitor. */
void replmon_run(struct nn *nn, int64_t now_ms);

#endif
