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
 * finds a just-written block before the datanodes' reports arrive. */
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
	Dfs__DnCommand **cmds; /* FIFO queue, bounded by DN_CMDQ_MAX */
	size_t n_cmds, cap_cmds;
};

struct bm_replica {
	int32_t dn;
	bool confirmed;
	uint64_t genstamp;
	uint64_t length;
};

struct bm_block {
	uint64_t id;
	struct bm_block *next;   /* hash chain */
	int64_t busy_until_ms;   /* being written, or a copy is in flight */
	uint32_t n;
	struct bm_replica r[BM_REPLICAS_MAX];
};

struct dnmgr {
	struct datanode *dns;
	size_t n_dns;
	int64_t dead_ms;
	/* block map: chained hash table, power-of-two buckets */
	struct bm_block **buckets;
	size_t n_buckets, n_blocks;
	size_t scan_bucket; /* replication monitor cursor */
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
/* Report entries (admin REPORT): reply->datanodes. */
int dnmgr_report(const struct dnmgr *m, int64_t now_ms, Dfs__NsReply *reply);
void dnmgr_statfs(const struct dnmgr *m, Dfs__StatFs *sf);

/* ---- placement.c ---- */
/* Chooses up to want distinct live datanodes (most remaining space first,
 * spread by pending work), none in exclude (uuids) nor in skip (indexes).
 * Returns how many were written to out, or -DFS_ENODATANODES if none. */
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
/* Drops every replica of dn (dead datanode). */
void bm_drop_datanode(struct dnmgr *m, int dn);
/* Full report: dn holds exactly these replicas. */
int bm_full_report(struct dnmgr *m, int dn, Dfs__BlockRef **refs, size_t n);
/* Queues DELETE of (id, gs) on dn, batching into the last DELETE command. */
int bm_queue_delete(struct dnmgr *m, int dn, uint64_t id, uint64_t gs);
/* A freed block: delete it on every holder and forget it. */
void bm_free_block(struct dnmgr *m, uint64_t id, uint64_t gs);
/* Live replicas holding genstamp gs into out (LocatedBlock locations). */
int bm_locate(struct dnmgr *m, uint64_t id, uint64_t gs, Dfs__LocatedBlock *out);

#endif
