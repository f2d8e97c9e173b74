/* dnmgr.h: the datanode manager and the block map: the namenode's soft
 * state, rebuilt from registrations, heartbeats and block reports (never
 * stored). Owned by the event-loop thread (see rpc_server.h); no locks.
 *
 * Datanodes are kept in an array and never removed (an index is stable);
 * a datanode silent for longer than dead_ms is dead: its replicas are
 * dropped from the block map and it is not given to clients.
 *
 * The block map: block id -> replicas {datanode, genstamp, length,
 * confirmed}. Confirmed replicas come from block reports; unconfirmed ones
 * are the pipeline targets chosen at ADD_BLOCK / OPEN_BLOCK, so a reader
 * finds a just-written block before the datanodes' reports arrive.
 *
 * Replica states (bm_replica): expected (confirmed = false) -> confirmed
 * (reported) -> corrupt (a reader, the scanner or a full report said so).
 * Invariants: a corrupt replica is never handed to a reader while a good
 * one exists, never counts towards the replication, and is deleted only
 * once the block has its full count of good replicas again.
 *
 * Datanode admin states (datanode.admin, decommission.c):
 *   NORMAL -> DECOMMISSIONING (admin) -> DECOMMISSIONED (every block it
 *   holds has its full count of good replicas on in-service datanodes);
 *   recommission goes back to NORMAL from either. A datanode not NORMAL
 *   gets no new replicas and its replicas do not count towards the
 *   replication, but remain readable and serve as copy sources. */
#ifndef DFS_NAMENODE_DNMGR_H
#define DFS_NAMENODE_DNMGR_H
#include "common/proto/namenode.pb-c.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DN_MAX 4096               /* datanodes known */
#define DN_CMDQ_MAX 4096          /* queued commands per datanode */
#define DN_CMDS_PER_HEARTBEAT 64  /* commands handed out per heartbeat */
#define DN_DELETE_BLOCKS_MAX 256  /* blocks in one DELETE command */
#define BM_REPLICAS_MAX 32        /* replicas tracked per block */
#define DN_COPIES_DEFAULT 4       /* max_copies_per_datanode when unset */
#define BM_REPLQ_LEVELS 3         /* priority buckets of the replication queue */
#define BM_REPLQ_MAX 65536        /* blocks queued per bucket and pass */

enum dn_admin {
	DN_ADMIN_NORMAL = 0,
	DN_ADMIN_DECOMMISSIONING,
	DN_ADMIN_DECOMMISSIONED,
};

struct datanode {
	char uuid[64];
	char host[256];
	uint32_t port;
	uint64_t capacity, used, remaining;
	uint32_t active_transfers;
	int64_t last_seen_ms;
	bool live;
	uint64_t blocks; /* replicas in the block map */
	uint64_t pending_bytes; /* scheduled for it since the last heartbeat */
	uint8_t admin;          /* enum dn_admin */
	bool full_reported;     /* a full block report arrived since it registered */
	uint32_t copies;        /* COPY commands in flight with it as the source */
	uint64_t decom_left;    /* decommissioning: blocks still short elsewhere
				 * (counted by the monitor's last full cycle) */
	uint64_t decom_count;   /* ... being counted in the current cycle */
	uint32_t failed_dirs;   /* data dirs out of service (last heartbeat) */
	Dfs__DnCommand **cmds; /* FIFO queue, bounded by DN_CMDQ_MAX */
	size_t n_cmds, cap_cmds;
};

struct bm_replica {
	int32_t dn;
	bool confirmed;
	bool corrupt;    /* reported bad at this genstamp */
	bool unreported; /* full report in progress: not (yet) listed */
	uint64_t genstamp;
	uint64_t length;
};

struct bm_block {
	uint64_t id;
	struct bm_block *next;   /* hash chain */
	uint32_t touched_gen;    /* == dnmgr.touched_gen: in the touched list */
	int64_t busy_until_ms;   /* being written, or a copy is in flight */
	int32_t copy_src;        /* datanode a COPY in flight reads from, -1 none */
	uint32_t copy_targets;   /* targets of that COPY not yet reported */
	uint64_t copy_gs;        /* the genstamp it copies */
	uint32_t n;
	struct bm_replica r[BM_REPLICAS_MAX];
};

struct bm_qent { /* a block waiting for a COPY (replmon.c) */
	uint64_t id, gs, len;
	uint32_t rep, good;
};

struct dnmgr {
	struct datanode *dns;
	size_t n_dns;
	int64_t dead_ms;
	/* block map: chained hash table, power-of-two buckets */
	struct bm_block **buckets;
	size_t n_buckets, n_blocks;
	size_t scan_bucket; /* replication monitor cursor */
	size_t cycle_buckets;    /* buckets scanned in the current full cycle */
	uint64_t cycle_reported; /* blocks with a good replica seen in it */
	/* Blocks whose replicas changed (bm_touch), for the replication
	 * monitor's next pass: it examines these, and the full cycle only
	 * slowly, unless an event asked for a fast one (rescan). Ids, each
	 * block once: its touched_gen equals touched_gen while listed;
	 * bm_untouch_all empties the list at once by moving touched_gen. */
	uint64_t *touched;
	size_t n_touched, cap_touched;
	uint32_t touched_gen;
	bool rescan;     /* an event since the current cycle began wants a fast one */
	bool cycle_fast; /* the current cycle runs at full speed */
	uint64_t checks; /* blocks examined by the monitor (for tests) */
	/* replication queue of the current pass: block ids by priority
	 * (0: one good replica left ... 2: mildly under-replicated) */
	struct bm_qent *replq[BM_REPLQ_LEVELS];
	size_t n_replq[BM_REPLQ_LEVELS];
	/* decommission list as last loaded from the namespace (uuids) */
	char (*decom)[64];
	size_t n_decom;
	uint64_t decom_loaded_at; /* applied index of that load; 0: never */
};

int dnmgr_init(struct dnmgr *m, int64_t dead_ms);
void dnmgr_fini(struct dnmgr *m);

/* ---- dnmgr.c: datanodes ---- */
/* Registers (or refreshes) a datanode; returns its index or < 0. */
int dnmgr_register(struct dnmgr *m, const Dfs__DatanodeId *id, uint64_t cap, uint64_t used,
		   uint64_t rem, int64_t now_ms);
/* Index of the datanode with that uuid, or -1. */
int dnmgr_find(const struct dnmgr *m, const char *uuid);
/* Marks datanodes silent past dead_ms as dead (logged); drops their replicas. */
void dnmgr_check_dead(struct dnmgr *m, int64_t now_ms);
/* Queues a command (ownership moves to the queue, even on failure). */
int dnmgr_queue(struct dnmgr *m, int dn, Dfs__DnCommand *cmd);
/* Moves up to DN_CMDS_PER_HEARTBEAT queued commands into reply. */
int dnmgr_take_commands(struct dnmgr *m, int dn, Dfs__DnReply *reply);
/* Fills a DatanodeId for a datanode (strings malloc'd). */
Dfs__DatanodeId *dnmgr_id(const struct dnmgr *m, int dn);
/* "live", "dead", "decommissioning" or "decommissioned". */
const char *dnmgr_state_name(const struct datanode *d);
/* Report entries (admin REPORT): reply->datanodes. */
int dnmgr_report(const struct dnmgr *m, int64_t now_ms, Dfs__NsReply *reply);
void dnmgr_statfs(const struct dnmgr *m, Dfs__StatFs *sf);

/* ---- placement.c ---- */
/* Chooses up to want distinct live datanodes (most remaining space first,
 * spread by pending work), none in exclude (uuids) nor in skip (indexes).
 * Returns how many were written to out, or if none: -ENOSPC when live
 * datanodes were left out only for lack of room, else -DFS_ENODATANODES. */
int placement_choose(struct dnmgr *m, unsigned want, char *const *exclude, size_t n_exclude,
		     const int *skip, size_t n_skip, uint64_t block_size, int *out);

/* ---- blockmap.c ---- */
struct bm_block *bm_find(struct dnmgr *m, uint64_t id);
struct bm_block *bm_get(struct dnmgr *m, uint64_t id); /* creates */
void bm_remove(struct dnmgr *m, uint64_t id);
/* Sets (adds or updates) the replica of block id on dn. */
int bm_set_replica(struct dnmgr *m, uint64_t id, int dn, uint64_t gs, uint64_t len,
		   bool confirmed);
void bm_drop_replica(struct dnmgr *m, struct bm_block *b, int dn);
/* dn deleted its replica of block id at genstamp gs: the map forgets the
 * replica unless it holds a newer genstamp there (a copy taken after the
 * deletion, reported in the same batch). */
void bm_replica_deleted(struct dnmgr *m, uint64_t id, int dn, uint64_t gs);
/* Lists b for the replication monitor's next pass (once). */
void bm_touch(struct dnmgr *m, struct bm_block *b);
/* Empties the touched list (a namenode that is not the leader: nobody
 * consumes it; a new leader starts with a fast cycle anyway). */
void bm_untouch_all(struct dnmgr *m);
/* Drops every replica of dn (dead datanode). */
void bm_drop_datanode(struct dnmgr *m, int dn);
/* Full report: dn holds exactly these replicas, of which corrupt[0..nc)
 * are known bad. Corrupt marks of replicas reported again at the same
 * genstamp survive. */
int bm_full_report(struct dnmgr *m, int dn, Dfs__BlockRef **refs, size_t n,
		   Dfs__BlockRef **corrupt, size_t nc);
/* Marks the replica of block id on dn corrupt if it holds genstamp gs.
 * Returns 1 if marked, 0 if unknown or another genstamp. */
int bm_mark_corrupt(struct dnmgr *m, uint64_t id, uint64_t gs, int dn);
/* True if the replica counts towards the replication at genstamp gs:
 * confirmed, not corrupt, on a live NORMAL datanode. */
bool bm_replica_good(const struct dnmgr *m, const struct bm_replica *r, uint64_t gs);
/* A COPY of b at genstamp gs from src to nt targets was queued / has
 * ended. Only a report of gs or newer counts as a target's copy. */
void bm_copy_started(struct dnmgr *m, struct bm_block *b, int src, uint32_t nt, uint64_t gs);
void bm_copy_ended(struct dnmgr *m, struct bm_block *b);
/* Queues DELETE of (id, gs) on dn, batching into the last DELETE command. */
int bm_queue_delete(struct dnmgr *m, int dn, uint64_t id, uint64_t gs);
/* A freed block: delete it on every holder and forget it. */
void bm_free_block(struct dnmgr *m, uint64_t id, uint64_t gs);
/* Live replicas holding genstamp gs into out (LocatedBlock locations),
 * corrupt ones in out->corrupt (and in locations only if no other is
 * left), the count of good ones in out->good_replicas. */
int bm_locate(struct dnmgr *m, uint64_t id, uint64_t gs, Dfs__LocatedBlock *out);

#endif
