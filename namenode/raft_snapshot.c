/* raft_snapshot.c: snapshots of the namespace for the Raft group: log
 * compaction (LevelDB synced, then the core and the WAL drop the prefix),
 * streaming the LevelDB state to a follower that is behind the log (a
 * LevelDB snapshot + iterator, NN_RAFT_SNAP_CHUNK_BYTES of key/values per
 * RaftSnapChunk, paced by the sender queue), and receiving one: written
 * into <name_dir>/snap.tmp, then swapped in for <name_dir>/ns (rename),
 * then the RAFT_MSG_SNAPSHOT that closed the stream is stepped into the
 * core. The data sent is the state at the leader's applied index A, which
 * is >= the snapshot index of the message; entries between are skipped on
 * apply because LevelDB records its applied index. Loop thread only. */
#include "namenode/raft_node.h"

#include "common/daemon.h"
#include "common/errors.h"
#include "common/log.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void nn_raft_maybe_compact(struct nn *nn)
{
	struct nn_raft *rn = nn->raft;
	uint64_t at = rn->applied, from = raft_snapshot_index(rn->r);
	if (at > raft_durable_index(rn->r))
		at = raft_durable_index(rn->r); /* a leader applies before its fsync */
	if (!nn->ns || rn->snapshot_entries == 0 || at < from + rn->snapshot_entries)
		return;
	struct raft_snapshot_meta s = {.index = at, .term = raft_term_at(rn->r, at)};
	if (s.term == 0 || raft_conf_at(rn->r, at, &s.conf) < 0)
		return;
	if (ns_sync(nn->ns) < 0) /* LevelDB must hold what the log drops */
		return;
	int rc = raft_compact(rn->r, s.index, s.term, &s.conf);
	if (rc == 0)
		rc = wal_compact(rn->w, &s);
	if (rc < 0)
		dfs_log_err(DFS_LOG_WARN, rc, "raft: compaction at %llu failed",
			    (unsigned long long)at);
	else
		DFS_INFO("raft: log compacted up to index %llu (%llu entries dropped)",
			 (unsigned long long)at, (unsigned long long)(at - from));
}

/* ---- sending ---- */

void nn_raft_snap_stop(struct nn_raft *rn, size_t slot)
{
	struct nn_raft_snap_out *o = &rn->out[slot];
	if (!o->active)
		return;
	leveldb_iter_destroy(o->it);
	leveldb_readoptions_destroy(o->ro);
	o->active = false;
	o->it = NULL;
	o->ro = NULL;
	o->snap = NULL; /* released by the caller that still has the db */
}

static void stop_release(struct nn *nn, size_t slot)
{
	struct nn_raft_snap_out *o = &nn->raft->out[slot];
	const leveldb_snapshot_t *s = o->snap;
	nn_raft_snap_stop(nn->raft, slot);
	if (s && nn->ns)
		leveldb_release_snapshot(nn->ns->db, s);
}

void nn_raft_snap_start(struct nn *nn, const struct raft_msg *m)
{
	struct nn_raft *rn = nn->raft;
	struct nn_raft_peer *p = nn_raft_peer(rn, m->to);
	if (!p || !p->tx || !nn->ns) {
		raft_report_snapshot_failed(rn->r, m->to);
		return;
	}
	size_t slot = (size_t)(p - rn->peers);
	struct nn_raft_snap_out *o = &rn->out[slot];
	stop_release(nn, slot);
	o->snap = leveldb_create_snapshot(nn->ns->db);
	o->ro = leveldb_readoptions_create();
	leveldb_readoptions_set_snapshot(o->ro, o->snap);
	leveldb_readoptions_set_fill_cache(o->ro, 0);
	o->it = leveldb_create_iterator(nn->ns->db, o->ro);
	leveldb_iter_seek_to_first(o->it);
	o->msg = *m;
	o->msg.entries = NULL;
	o->msg.n_entries = 0;
	o->to = m->to;
	o->seq = 0;
	o->stream_id = ++rn->next_stream;
	o->active = true;
	DFS_NOTICE("raft: sending snapshot (index %llu, data at %llu) to node %llu",
		   (unsigned long long)m->snap.index, (unsigned long long)rn->applied,
		   (unsigned long long)m->to);
}

struct chunk_buf {
	ProtobufCBinaryData *k, *v;
	size_t n, cap, bytes;
};

static int chunk_add(struct chunk_buf *b, const char *k, size_t kl, const char *v, size_t vl)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 256;
		ProtobufCBinaryData *nk = realloc(b->k, cap * sizeof(*nk));
		if (nk)
			b->k = nk;
		ProtobufCBinaryData *nv = realloc(b->v, cap * sizeof(*nv));
		if (nv)
			b->v = nv;
		if (!nk || !nv)
			return -ENOMEM;
		b->cap = cap;
	}
	uint8_t *m = malloc(kl + vl + 1);
	if (!m)
		return -ENOMEM;
	memcpy(m, k, kl);
	memcpy(m + kl, v, vl);
	b->k[b->n] = (ProtobufCBinaryData){kl, m};
	b->v[b->n] = (ProtobufCBinaryData){vl, m + kl};
	b->n++;
	b->bytes += kl + vl + 8;
	return 0;
}

static void chunk_free(struct chunk_buf *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->k[i].data);
	free(b->k);
	free(b->v);
}

/* Builds and queues the next chunk of stream slot. 1: more to come, 0:
 * done (last sent), < 0: failed. */
static int send_chunk(struct nn *nn, size_t slot)
{
	struct nn_raft *rn = nn->raft;
	struct nn_raft_snap_out *o = &rn->out[slot];
	struct nn_raft_peer *p = &rn->peers[slot];
	struct chunk_buf b = {0};
	int rc = 0;
	while (rc == 0 && leveldb_iter_valid(o->it) && b.bytes < NN_RAFT_SNAP_CHUNK_BYTES) {
		size_t kl, vl;
		const char *k = leveldb_iter_key(o->it, &kl);
		const char *v = leveldb_iter_value(o->it, &vl);
		if (!(kl == 8 && memcmp(k, "s/synced", 8) == 0))
			rc = chunk_add(&b, k, kl, v, vl);
		leveldb_iter_next(o->it);
	}
	Dfs__RaftSnapChunk c = DFS__RAFT_SNAP_CHUNK__INIT;
	Dfs__RaftMsg pb = DFS__RAFT_MSG__INIT;
	Dfs__RaftPeer pv[NN_RAFT_PEERS_MAX], *pp[NN_RAFT_PEERS_MAX];
	c.from = rn->id;
	c.to = o->to;
	c.stream_id = o->stream_id;
	c.seq = o->seq++;
	c.keys = b.k;
	c.values = b.v;
	c.n_keys = c.n_values = b.n;
	if (c.seq == 0) {
		c.has_applied = 1;
		c.applied = rn->applied;
		for (size_t i = 0; i < rn->n_peers; i++) {
			dfs__raft_peer__init(&pv[i]);
			pv[i].id = rn->peers[i].id;
			pv[i].addr = rn->peers[i].addr;
			pp[i] = &pv[i];
		}
		c.peers = pp;
		c.n_peers = rn->n_peers;
	}
	bool last = !leveldb_iter_valid(o->it);
	if (rc == 0 && last) {
		c.has_last = c.last = 1;
		rc = nn_raft_msg_to_pb(&o->msg, &pb);
		c.msg = &pb;
	}
	if (rc == 0)
		rc = nn_raft_tx_send(p, DFS_M_RAFT_SNAPSHOT, &c.base);
	nn_raft_msg_pb_free(&pb);
	chunk_free(&b);
	if (rc < 0)
		return rc;
	return last ? 0 : 1;
}

bool nn_raft_snap_pump(struct nn *nn)
{
	struct nn_raft *rn = nn->raft;
	bool any = false;
	for (size_t i = 0; i < rn->n_peers; i++) {
		struct nn_raft_snap_out *o = &rn->out[i];
		int rc = 1;
		while (o->active && rc == 1 &&
		       nn_raft_tx_queued(&rn->peers[i]) < NN_RAFT_SNAP_QUEUE_BYTES)
			rc = send_chunk(nn, i);
		if (!o->active)
			continue;
		if (rc <= 0) {
			if (rc < 0) {
				DFS_INFO("raft: snapshot to node %llu abandoned: %s",
					 (unsigned long long)o->to, dfs_strerror(rc));
				raft_report_snapshot_failed(rn->r, o->to);
			} else {
				DFS_NOTICE("raft: snapshot to node %llu sent (%llu chunks)",
					   (unsigned long long)o->to, (unsigned long long)o->seq);
			}
			stop_release(nn, i);
		} else {
			any = true;
		}
	}
	return any;
}

/* ---- receiving ---- */

static void destroy_db(const char *dir)
{
	char *err = NULL;
	leveldb_options_t *o = leveldb_options_create();
	leveldb_destroy_db(o, dir, &err);
	leveldb_options_destroy(o);
	if (err)
		leveldb_free(err);
}

void nn_raft_snap_in_abort(struct nn_raft *rn)
{
	struct nn_raft_snap_in *in = &rn->in;
	if (!in->active)
		return;
	leveldb_close(in->db);
	leveldb_options_destroy(in->opts);
	leveldb_writeoptions_destroy(in->wo);
	memset(in, 0, sizeof(*in));
	destroy_db(rn->snap_dir);
}

static int in_begin(struct nn *nn, const Dfs__RaftSnapChunk *c)
{
	struct nn_raft *rn = nn->raft;
	struct nn_raft_snap_in *in = &rn->in;
	nn_raft_snap_in_abort(rn);
	destroy_db(rn->snap_dir);
	char *err = NULL;
	in->opts = leveldb_options_create();
	leveldb_options_set_create_if_missing(in->opts, 1);
	leveldb_options_set_error_if_exists(in->opts, 1);
	in->wo = leveldb_writeoptions_create();
	in->db = leveldb_open(in->opts, rn->snap_dir, &err);
	if (err) {
		DFS_ERR("raft: cannot create %s: %s", rn->snap_dir, err);
		leveldb_free(err);
		leveldb_options_destroy(in->opts);
		leveldb_writeoptions_destroy(in->wo);
		memset(in, 0, sizeof(*in));
		return -EIO;
	}
	in->active = true;
	in->from = c->from;
	in->stream_id = c->stream_id;
	in->next_seq = 0;
	in->applied = c->applied;
	for (size_t i = 0; i < c->n_peers; i++)
		if (c->peers[i]->id && c->peers[i]->addr)
			nn_raft_peer_set(rn, c->peers[i]->id, c->peers[i]->addr);
	DFS_NOTICE("raft: receiving a snapshot from node %llu (data at %llu)",
		   (unsigned long long)c->from, (unsigned long long)c->applied);
	return 0;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

/* Replaces <name_dir>/ns with the received state and reopens it. */
static int swap_in(struct nn *nn)
{
	struct nn_raft *rn = nn->raft;
	char old[PATH_MAX + 8];
	snprintf(old, sizeof(old), "%s.old", rn->ns_dir);
	for (size_t i = 0; i < NN_RAFT_PEERS_MAX; i++)
		stop_release(nn, i);
	if (nn->ns && ns_sync(nn->ns) == 0) {
		ns_close(nn->ns);
		nn->ns = NULL;
	}
	ns_close(nn->ns);
	nn->ns = NULL;
	destroy_db(old);
	if (rename(rn->ns_dir, old) < 0 && errno != ENOENT)
		return -errno;
	if (rename(rn->snap_dir, rn->ns_dir) < 0)
		return -errno;
	fsync_dir(rn->name_dir);
	destroy_db(old);
	int rc = ns_open(rn->ns_dir, &nn->ns);
	if (rc == 0) {
		rn->joining = false;
		DFS_NOTICE("raft: snapshot swapped in: cluster %s, %llu inodes, applied %llu",
			   nn->ns->cluster_id, (unsigned long long)nn->ns->c.inodes,
			   (unsigned long long)nn->ns->c.applied);
	}
	return rc;
}

/* Would the core install m (so the data must be swapped in first)? */
static bool core_installs(struct nn_raft *rn, const struct raft_msg *m)
{
	return m->type == RAFT_MSG_SNAPSHOT && m->term >= raft_term_of(rn->r) &&
	       raft_role(rn->r) != RAFT_LEADER && m->snap.index > raft_commit_index(rn->r) &&
	       raft_term_at(rn->r, m->snap.index) != m->snap.term && rn->in.applied >= rn->applied;
}

static int in_finish(struct nn *nn, const Dfs__RaftSnapChunk *c)
{
	struct nn_raft *rn = nn->raft;
	struct nn_raft_snap_in *in = &rn->in;
	struct raft_msg m;
	if (!c->msg || nn_raft_msg_from_pb(c->msg, &m) < 0) {
		nn_raft_snap_in_abort(rn);
		return 0;
	}
	leveldb_close(in->db);
	leveldb_options_destroy(in->opts);
	leveldb_writeoptions_destroy(in->wo);
	in->active = false;
	in->db = NULL;
	int rc = 0;
	if (core_installs(rn, &m)) {
		if ((rc = swap_in(nn)) < 0) {
			nn_raft_fatal(rn, rc, "swap the snapshot in");
			nn_raft_msg_free(&m);
			return 0;
		}
	} else {
		DFS_INFO("raft: snapshot from node %llu not needed", (unsigned long long)c->from);
		destroy_db(rn->snap_dir);
	}
	memset(in, 0, sizeof(*in));
	raft_step(rn->r, &m);
	nn_raft_msg_free(&m);
	return 0;
}

int nn_raft_snap_recv(struct nn *nn, const uint8_t *proto, size_t len)
{
	struct nn_raft *rn = nn->raft;
	Dfs__RaftSnapChunk *c = dfs__raft_snap_chunk__unpack(NULL, len, proto);
	if (!c)
		return -DFS_EPROTOCOL;
	struct nn_raft_peer *p = nn_raft_peer(rn, c->from);
	int rc = 0;
	if ((p && p->drop) || c->to != rn->id || rn->fatal || c->n_keys != c->n_values)
		goto out;
	if (p)
		p->last_recv_ms = nn_now_ms();
	if (c->seq == 0 && in_begin(nn, c) < 0)
		goto out;
	struct nn_raft_snap_in *in = &rn->in;
	if (!in->active || in->from != c->from || in->stream_id != c->stream_id ||
	    in->next_seq != c->seq) {
		if (in->active && in->from == c->from)
			nn_raft_snap_in_abort(rn); /* a gap: the leader will resend */
		goto out;
	}
	leveldb_writebatch_t *wb = leveldb_writebatch_create();
	for (size_t i = 0; i < c->n_keys; i++)
		leveldb_writebatch_put(wb, (const char *)c->keys[i].data, c->keys[i].len,
				       (const char *)c->values[i].data, c->values[i].len);
	char *err = NULL;
	leveldb_writeoptions_set_sync(in->wo, c->last);
	leveldb_write(in->db, in->wo, wb, &err);
	leveldb_writebatch_destroy(wb);
	if (err) {
		DFS_ERR("raft: snapshot write: %s", err);
		leveldb_free(err);
		nn_raft_snap_in_abort(rn);
		goto out;
	}
	in->next_seq++;
	if (c->last)
		rc = in_finish(nn, c);
out:
	dfs__raft_snap_chunk__free_unpacked(c, NULL);
	return rc;
}
