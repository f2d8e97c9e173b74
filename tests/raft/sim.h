/*
 * tests/raft/sim.h - shared state of the deterministic Raft simulator.
 *
 * Owns: the world (nodes, simulated disks, simulated network, clients) and
 * the bookkeeping the safety checks need.  sim.c drives the world;
 * sim_check.c holds the checks.  Everything random comes from one seed.
 */
#ifndef DFS_TESTS_RAFT_SIM_H
#define DFS_TESTS_RAFT_SIM_H

#include "raft/raft.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_NODES_MAX 7
#define SIM_RSNAP_MAX 4

/* The replicated state machine: the proposal ids applied, in order.  It
 * doubles as the snapshot payload. */
struct sim_sm {
	raft_index applied;
	uint64_t *ids;
	size_t n, cap;
	uint8_t *seen; /* seen[pid] != 0: pid applied */
	size_t seen_cap;
};

/* What survived the last fsync. */
struct sim_disk {
	struct raft_hard_state hs;
	struct raft_snapshot_meta snap;
	struct sim_sm snap_data;
	struct raft_entry *ents; /* contiguous after snap.index */
	size_t n, cap;
};

struct sim_node {
	raft_id id;
	bool started;
	struct raft *r; /* NULL while crashed */
	unsigned down_until;
	struct sim_disk disk;
	/* a leader's entries written without fsync (raft_advance_unsynced),
	 * not yet on disk: a crash keeps a random prefix of them */
	struct sim_disk unsynced;
	struct sim_sm sm;
	int last_role;
	raft_term last_term;
	raft_index checked_commit;
	struct {
		bool valid;
		raft_index index;
		struct sim_sm data;
	} rsnap[SIM_RSNAP_MAX];
	unsigned rsnap_next;
};

struct sim_netmsg {
	struct raft_msg m;
	unsigned at;
	struct sim_sm *snap; /* data streamed with RAFT_MSG_SNAPSHOT */
	bool lost;           /* its sender crashed before it left */
};

struct sim_prop {
	raft_id node;
	raft_index index;
	bool acked;
	raft_index applied_at;
};

struct sim_read {
	raft_id node;
	raft_index min_index;
	bool done;
};

struct sim_applied {
	raft_term term;
	uint8_t type;
	uint64_t pid;
};

struct sim_entry_key {
	raft_index index;
	raft_term term;
	raft_term prev_term; /* 0: unknown */
	uint64_t hash;
};

struct sim {
	uint64_t seed, rng;
	unsigned n_init;
	unsigned steps;
	bool verbose;
	bool pre_vote, check_quorum, lease_reads;
	bool async_writes; /* leaders may advance before their fsync */
	unsigned now;
	bool healing;
	struct sim_node nodes[SIM_NODES_MAX + 1]; /* by id; [0] unused */

	/* network */
	struct sim_netmsg *net;
	size_t n_net, cap_net;
	bool cut[SIM_NODES_MAX + 1][SIM_NODES_MAX + 1];
	unsigned partition_until;
	unsigned loss_pct, dup_pct;

	/* clients */
	struct sim_prop *props; /* by pid; [0] unused */
	size_t n_props, cap_props;
	struct sim_read *reads; /* by read id */
	size_t n_reads, cap_reads;

	/* safety bookkeeping */
	raft_id *leader_of_term;
	size_t cap_terms;
	struct sim_applied *applied; /* by index */
	raft_term *committed_term;   /* by index: entry term */
	raft_term *commit_seen_term; /* by index: term when first seen */
	size_t cap_index;
	raft_index max_committed;
	struct sim_entry_key *emap;
	size_t emap_cap, emap_n;

	/* outcome */
	bool failed;
	char why[512];
	struct {
		unsigned elections, acked, reads, snapshots, compactions,
			conf_changes, transfers, crashes, partitions, msgs,
			unsynced_advances;
	} stats;
};

uint64_t sim_rand(struct sim *s);
void sim_fail(struct sim *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
#define SIM_CHECK(s, cond, ...)                                              \
	do {                                                                 \
		if (!(cond))                                                 \
			sim_fail((s), __VA_ARGS__);                          \
	} while (0)

/* sim_check.c */
void check_grow_index(struct sim *s, raft_index index);
void check_step(struct sim *s);
void check_entries(struct sim *s, struct sim_node *n,
		   const struct raft_entry *e, size_t count);
void check_apply(struct sim *s, struct sim_node *n, const struct raft_entry *e);
void check_read(struct sim *s, struct sim_node *n,
		const struct raft_read_state *rs);
void check_final(struct sim *s);
void check_free(struct sim *s);

/* sm helpers (sim.c) */
void sm_apply_pid(struct sim_sm *sm, uint64_t pid);
bool sm_seen(const struct sim_sm *sm, uint64_t pid);

#endif
