/*
 * raft/membership.c - cluster configuration and single-server changes
 * (dissertation 4.1).
 *
 * Owns: struct raft_config helpers and encoding, the configuration in
 * effect (the latest config entry in the log, effective as soon as it is
 * appended, rolled back if truncated), the one-change-at-a-time rule, and
 * a removed leader stepping down once its removal commits.
 */
#include "raft/raft_int.h"

#include <errno.h>
#include <string.h>

bool raft_config_has(const struct raft_config *c, raft_id id)
{
	for (uint32_t k = 0; k < c->n; k++)
		if (c->voters[k] == id)
			return true;
	return false;
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int k = 0; k < 8; k++)
		p[k] = (uint8_t)(v >> (8 * k));
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int k = 7; k >= 0; k--)
		v = (v << 8) | p[k];
	return v;
}

size_t raft_config_encode(const struct raft_config *c, uint8_t *buf)
{
	for (int k = 0; k < 4; k++)
		buf[k] = (uint8_t)(c->n >> (8 * k));
	for (uint32_t k = 0; k < c->n; k++)
		put64(buf + 4 + 8 * k, c->voters[k]);
	return 4 + 8 * (size_t)c->n;
}

int raft_config_decode(const void *buf, size_t len, struct raft_config *c)
{
	const uint8_t *p = buf;
	if (len < 4)
		return -EINVAL;
	uint32_t n = p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
	if (n > RAFT_VOTERS_MAX || len != 4 + 8 * (size_t)n)
		return -EINVAL;
	memset(c, 0, sizeof(*c));
	c->n = n;
	for (uint32_t k = 0; k < n; k++) {
		c->voters[k] = get64(p + 4 + 8 * k);
		if (c->voters[k] == 0)
			return -EINVAL;
	}
	return 0;
}

/* Install c as the configuration in effect; a leader keeps the progress of
 * voters that stay and starts probing new ones. */
void raft_membership_set(struct raft *r, const struct raft_config *c,
		    raft_index index)
{
	r->conf = *c;
	r->conf_index = index;
	if (r->role != RAFT_LEADER)
		return;
	struct raft_progress old[RAFT_VOTERS_MAX];
	unsigned n_old = r->n_prs;
	memcpy(old, r->prs, sizeof(old));
	r->n_prs = 0;
	for (uint32_t k = 0; k < c->n; k++) {
		struct raft_progress *pr = &r->prs[r->n_prs++];
		pr->id = c->voters[k];
		unsigned j;
		for (j = 0; j < n_old && old[j].id != pr->id; j++)
			;
		if (j < n_old)
			*pr = old[j];
		else
			raft_repl_reset_progress(r, pr);
	}
	if (r->transferee && !raft_config_has(c, r->transferee))
		raft_transfer_abort(r);
}

void raft_membership_on_append(struct raft *r, const struct raft_entry *e)
{
	if (e->type != RAFT_ENTRY_CONFIG)
		return;
	struct raft_config c;
	if (raft_config_decode(e->data.base, e->data.len, &c) != 0) {
		raft_logf(r, RAFT_WARN, "bad config entry at %llu",
			  (unsigned long long)e->index);
		return;
	}
	raft_logf(r, RAFT_NOTICE, "%llu: config with %u voters at %llu",
		  (unsigned long long)r->id, c.n, (unsigned long long)e->index);
	raft_membership_set(r, &c, e->index);
}

static bool find_conf(const struct raft *r, raft_index upto,
		      struct raft_config *c, raft_index *at)
{
	for (raft_index i = upto; i > r->log.offset; i--) {
		const struct raft_entry *e = raft_log_get(&r->log, i);
		if (e->type == RAFT_ENTRY_CONFIG &&
		    raft_config_decode(e->data.base, e->data.len, c) == 0) {
			*at = i;
			return true;
		}
	}
	*c = r->log.snap_conf;
	*at = r->log.offset;
	return false;
}

/* The log lost its tail: the configuration reverts to the latest one left. */
void raft_membership_on_truncate(struct raft *r)
{
	struct raft_config c;
	raft_index at;
	find_conf(r, raft_log_last_index(&r->log), &c, &at);
	if (at != r->conf_index || memcmp(&c, &r->conf, sizeof(c)) != 0)
		raft_membership_set(r, &c, at);
}

int raft_conf_at(const struct raft *r, raft_index index, struct raft_config *c)
{
	raft_index at;
	if (index < r->log.offset)
		return -RAFT_ECOMPACTED;
	if (index > raft_log_last_index(&r->log))
		return -RAFT_EUNAVAIL;
	find_conf(r, index, c, &at);
	return 0;
}

void raft_membership_on_commit(struct raft *r)
{
	if (r->role != RAFT_LEADER || r->conf_index > r->commit ||
	    raft_config_has(&r->conf, r->id))
		return;
	raft_logf(r, RAFT_NOTICE, "%llu: removed from the cluster, stepping down",
		  (unsigned long long)r->id);
	raft_election_become_follower(r, r->term, 0);
}

bool raft_membership_promotable(const struct raft *r)
{
	return raft_config_has(&r->conf, r->id);
}

int raft_membership_change(struct raft *r, raft_id id, bool add,
		      raft_index *index)
{
	if (r->role != RAFT_LEADER)
		return -RAFT_ENOTLEADER;
	/* One change at a time, and not before the leader committed in its
	 * term (the single-server change bug fix, raft-dev 2015). */
	if (r->transferee || r->conf_index > r->commit ||
	    r->commit < r->term_start)
		return -RAFT_EBUSY;
	struct raft_config c = r->conf;
	if (id == 0 || raft_config_has(&c, id) == add)
		return -RAFT_EBADCONF;
	if (add) {
		if (c.n == RAFT_VOTERS_MAX)
			return -RAFT_EBADCONF;
		c.voters[c.n++] = id;
	} else {
		if (c.n == 1)
			return -RAFT_EBADCONF;
		uint32_t k;
		for (k = 0; c.voters[k] != id; k++)
			;
		c.voters[k] = c.voters[--c.n];
		c.voters[c.n] = 0;
	}
	uint8_t buf[RAFT_CONFIG_ENCODED_MAX];
	size_t len = raft_config_encode(&c, buf);
	return raft_repl_leader_append(r, RAFT_ENTRY_CONFIG, buf, len, index);
}
