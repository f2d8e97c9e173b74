/*
 * raft/raft_int.h - internal layout of struct raft, shared by the core's
 * files only (never included outside raft/ except by white-box tests).
 *
 * Owns: struct raft, struct raft_log, struct raft_progress and the
 * prototypes each core file exports to the others.
 *
 * Invariants (checked by raft_invariants() under assert):
 *  I1 log.offset <= commit <= log last index (after restore)
 *  I2 applied <= commit, applied >= log.offset
 *  I3 log.durable <= log.stable <= last index
 *  I4 a leader's term_start is an entry of its own term in its log
 *  I5 conf is the latest config entry in the log, or the snapshot's
 */
#ifndef DFS_RAFT_RAFT_INT_H
#define DFS_RAFT_RAFT_INT_H

#include "raft/raft.h"

/* ---- log.c: in-memory log after the snapshot point ---- */
struct raft_log {
	struct raft_entry *ents; /* ents[k].index == offset + 1 + k */
	size_t n;
	size_t cap;
	raft_index offset;      /* snapshot index */
	raft_term offset_term;  /* snapshot term */
	struct raft_config snap_conf;
	raft_index stable;      /* last index handed out in a ready and advanced */
	raft_index durable;     /* last index reported durable (<= stable); only
				 * a leader's unsynced advance leaves it behind */
};

void raft_log_init(struct raft_log *l);
void raft_log_free(struct raft_log *l);
raft_index raft_log_last_index(const struct raft_log *l);
raft_term raft_log_last_term(const struct raft_log *l);
/* Term of index; 0 when compacted (below offset) or beyond the end. */
raft_term raft_log_term(const struct raft_log *l, raft_index i);
struct raft_entry *raft_log_get(const struct raft_log *l, raft_index i);
/* Append a copy of e (index must be last + 1); -ENOMEM. */
int raft_log_append_copy(struct raft_log *l, const struct raft_entry *e);
/* Drop entries >= i; lowers stable and durable if needed. */
void raft_log_truncate(struct raft_log *l, raft_index i);
/* Drop entries <= i (i <= last, with term t). */
void raft_log_compact(struct raft_log *l, raft_index i, raft_term t,
		 const struct raft_config *c);
/* Drop everything; the log starts after (i, t). */
void raft_log_reset(struct raft_log *l, raft_index i, raft_term t,
	       const struct raft_config *c);
bool raft_log_is_up_to_date(const struct raft_log *l, raft_index last,
		       raft_term term);
void raft_entry_free_data(struct raft_entry *e);
int raft_entry_copy(struct raft_entry *dst, const struct raft_entry *src);

/* ---- per-follower replication progress (replication.c) ---- */
enum { PR_PROBE = 0, PR_REPLICATE, PR_SNAPSHOT };

struct raft_progress {
	raft_id id;
	raft_index match;
	raft_index next;
	uint8_t state;
	bool probe_sent;    /* PROBE: paused until a response */
	bool recent_active; /* heard from since the last quorum check */
	unsigned n_inflight;
	unsigned inflight_head;
	raft_index inflight[RAFT_INFLIGHT_MAX]; /* last index of each append */
	raft_index pending_snapshot;
	unsigned snapshot_ticks;
	uint64_t read_acked; /* highest heartbeat ctx acknowledged */
};

struct raft_pending_read {
	uint64_t id;
	raft_id from; /* requester: self or a follower */
	raft_index index;
	uint64_t seq; /* heartbeat round that must be acknowledged */
};

struct raft {
	struct raft_options o;
	uint64_t rng;
	raft_id id;
	int role;
	raft_term term;
	raft_id vote;
	raft_id leader;
	struct raft_hard_state persisted_hs;
	struct raft_log log;
	raft_index commit;
	raft_index applied;

	/* membership (membership.c) */
	struct raft_config conf;
	raft_index conf_index; /* index of the entry that set conf; 0: snap */

	/* timers (election.c) */
	unsigned election_elapsed;
	unsigned heartbeat_elapsed;
	unsigned randomized_timeout;
	unsigned votes_granted;
	unsigned votes_rejected;
	raft_id voters_seen[RAFT_VOTERS_MAX];
	unsigned n_voters_seen;

	/* leader state */
	struct raft_progress prs[RAFT_VOTERS_MAX];
	unsigned n_prs;
	raft_index term_start; /* index of the leader's no-op */
	raft_id transferee;
	unsigned transfer_elapsed;
	bool bcast_pending; /* new entries not yet offered to followers */

	/* read index (read_index.c) */
	struct raft_pending_read *reads_pending;
	size_t n_reads_pending;
	uint64_t read_seq;       /* seq of the last heartbeat round sent */
	uint64_t now;            /* ticks since raft_new */
	uint64_t hb_sent[RAFT_HEARTBEAT_RING]; /* tick round seq was sent, by seq % ring */
	uint64_t lease_seq;      /* newest round acknowledged by a quorum */
	uint64_t lease_start;    /* the tick it was sent */
	bool lease_held;         /* lease_start is of this term's rounds */
	struct raft_read_state *reads_ready;
	size_t n_reads_ready, cap_reads_ready;

	/* snapshot to install (snapshot.c) */
	bool snap_pending;
	struct raft_snapshot_meta snap;

	/* outbox */
	struct raft_msg *msgs;
	size_t n_msgs, cap_msgs;
	bool in_ready;
	raft_index ready_stable; /* last index handed out in ready */
	raft_index ready_applied;
};

/* raft.c */
void raft_logf(struct raft *r, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Queue a message (entries deep-copied).  On ENOMEM the message is dropped,
 * which Raft tolerates like any network loss. */
void raft_send(struct raft *r, struct raft_msg *m);
uint64_t raft_rand(struct raft *r);
unsigned raft_quorum(const struct raft *r);
bool raft_invariants(const struct raft *r);

/* election.c */
void raft_election_become_follower(struct raft *r, raft_term term, raft_id leader);
void raft_election_tick(struct raft *r);
void raft_election_start(struct raft *r, bool pre, bool transfer);
void raft_election_recv_vote(struct raft *r, const struct raft_msg *m);
void raft_election_recv_vote_resp(struct raft *r, const struct raft_msg *m);
void raft_election_reset_timeout(struct raft *r);
bool raft_election_in_lease(const struct raft *r);

/* replication.c */
void raft_repl_become_leader(struct raft *r);
void raft_repl_tick(struct raft *r);
struct raft_progress *raft_repl_progress(struct raft *r, raft_id id);
void raft_repl_reset_progress(struct raft *r, struct raft_progress *pr);
bool raft_repl_send_append(struct raft *r, struct raft_progress *pr, bool empty_ok);
void raft_repl_broadcast_append(struct raft *r);
void raft_repl_on_commit(struct raft *r); /* commit moved: send what is pending */
void raft_repl_broadcast_heartbeat(struct raft *r, uint64_t ctx);
bool raft_repl_maybe_commit(struct raft *r);
int raft_repl_leader_append(struct raft *r, uint8_t type, const void *data,
		       size_t len, raft_index *index);
void raft_repl_recv_append(struct raft *r, const struct raft_msg *m);
void raft_repl_recv_append_resp(struct raft *r, const struct raft_msg *m);
void raft_repl_recv_heartbeat(struct raft *r, const struct raft_msg *m);
void raft_repl_recv_heartbeat_resp(struct raft *r, const struct raft_msg *m);
void raft_repl_commit_to(struct raft *r, raft_index commit);
void raft_repl_flush(struct raft *r);

/* membership.c */
void raft_membership_set(struct raft *r, const struct raft_config *c,
		    raft_index index);
void raft_membership_on_append(struct raft *r, const struct raft_entry *e);
void raft_membership_on_truncate(struct raft *r);
void raft_membership_on_commit(struct raft *r);
int raft_membership_change(struct raft *r, raft_id id, bool add,
		      raft_index *index);
bool raft_membership_promotable(const struct raft *r);

/* read_index.c */
int raft_read_index_request(struct raft *r, raft_id from, uint64_t id);
void raft_read_index_recv(struct raft *r, const struct raft_msg *m);
void raft_read_index_recv_resp(struct raft *r, const struct raft_msg *m);
void raft_read_index_on_ack(struct raft *r);
void raft_read_index_push(struct raft *r, uint64_t id, raft_index index);
void raft_read_index_reset(struct raft *r);

/* snapshot.c */
void raft_snapshot_send(struct raft *r, struct raft_progress *pr);
void raft_snapshot_recv(struct raft *r, const struct raft_msg *m);
void raft_snapshot_tick(struct raft *r, struct raft_progress *pr);

/* transfer (in election.c) */
void raft_transfer_recv_timeout_now(struct raft *r, const struct raft_msg *m);
void raft_transfer_check(struct raft *r, struct raft_progress *pr);
void raft_transfer_abort(struct raft *r);

#endif
