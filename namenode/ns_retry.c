/* ns_retry.c: the retry cache (Raft paper §6.3, HDFS RetryCache). A
 * mutation tagged with (client_id, seq) records its reply in the same
 * WriteBatch as its effects:
 *   r/<u8 id length><client id><be64 seq> -> be64 now_ns | packed NsReply
 *   q/<be64 now_ns><u8 id length><client id><be64 seq> -> ""   (expiry order)
 * A retried call (same client_id and seq, e.g. after a lost reply or a
 * failover) gets the recorded reply instead of being applied twice. Entries
 * live NS_RETRY_KEEP_NS of command time; each command expires at most
 * NS_RETRY_EXPIRE_PER_CMD old ones, so the cache never needs a big batch.
 * Everything here is part of the deterministic state.
 *
 * Expiry seeks from ns->retry_floor, not from "q/": deleted keys stay in
 * LevelDB as deletion markers until a compaction drops them, and a seek
 * walks over every one in its way, so after two minutes of steady writes
 * seeking from "q/" cost more than the rest of the command (80% of a
 * follower's CPU after ten minutes of creates). The floor is a hint kept
 * in memory, true on every node: no q/ key sorts before it. It moves to
 * the last key a committed command expired and falls back to "q/" when a
 * command records a key below it (a new leader's clock may be behind), so
 * a node that restarts, with no floor, expires the very same keys.
 * A second hint, the time of the oldest entry, lets a command skip the
 * seek (and the LevelDB iterator, a tenth of a command's instructions)
 * while nothing is old enough to go; a command recording an entry older
 * than it moves it back. */
#include "namenode/ns_txn.h"

#include "common/errors.h"

#include <stdlib.h>
#include <string.h>

#define NS_RETRY_ID_MAX 64
#define NS_RETRY_KEEP_NS (120ll * 1000000000)
#define NS_RETRY_EXPIRE_PER_CMD 4
#define NS_RETRY_REPLY_MAX 1024
_Static_assert(2 + 8 + 1 + NS_RETRY_ID_MAX + 8 <= NS_RETRY_QKEY_MAX, "q/ key fits the floor");

/* Bytewise order of LevelDB's default comparator. */
static int key_cmp(const char *a, size_t al, const char *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);
	return c != 0 ? c : (al > bl) - (al < bl);
}

/* The "<u8 len><id><be64 seq>" part of both keys; false if untagged. */
static bool retry_suffix(const Dfs__NsRequest *req, char *out, size_t *len)
{
	if (!req->has_client_id || !req->has_seq || req->client_id.len == 0 ||
	    req->client_id.len > NS_RETRY_ID_MAX)
		return false;
	out[0] = (char)req->client_id.len;
	memcpy(out + 1, req->client_id.data, req->client_id.len);
	ns_put_be64(out + 1 + req->client_id.len, req->seq);
	*len = 1 + req->client_id.len + 8;
	return true;
}

static bool retry_key(const Dfs__NsRequest *req, struct ns_key *k)
{
	size_t n;
	if (!retry_suffix(req, k->b + 2, &n))
		return false;
	k->b[0] = 'r';
	k->b[1] = '/';
	k->len = 2 + n;
	return true;
}

int ns_retry_lookup(struct ns_txn *t, const Dfs__NsRequest *req, Dfs__NsReply *reply)
{
	struct ns_key k;
	char *v;
	size_t vl;
	if (!retry_key(req, &k))
		return 0;
	int rc = ns_txn_get(t, &k, &v, &vl);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	Dfs__NsReply *r = vl > 8 ? dfs__ns_reply__unpack(NULL, vl - 8, (uint8_t *)v + 8) : NULL;
	free(v);
	if (!r)
		return -EIO;
	int status = r->status;
	if (status == 0 && r->attr)
		rc = ns_reply_attr(reply, r->attr);
	if (rc == 0 && status == 0 && r->block)
		rc = ns_reply_block(reply, r->block->index, r->block->block);
	dfs__ns_reply__free_unpacked(r, NULL);
	reply->status = status;
	return rc < 0 ? rc : 1;
}

void ns_retry_record(struct ns_txn *t, const Dfs__NsRequest *req, const Dfs__NsReply *reply)
{
	struct ns_key k, q;
	uint8_t v[8 + NS_RETRY_REPLY_MAX];
	if (!retry_key(req, &k))
		return;
	Dfs__NsReply r = DFS__NS_REPLY__INIT; /* what a retry needs, nothing else */
	r.status = reply->status;
	r.attr = reply->attr;
	r.block = reply->block;
	if (protobuf_c_message_get_packed_size(&r.base) > NS_RETRY_REPLY_MAX)
		return;
	ns_put_be64((char *)v, (uint64_t)t->now);
	size_t n = dfs__ns_reply__pack(&r, v + 8);
	ns_txn_put(t, &k, v, 8 + n);
	q.b[0] = 'q';
	q.b[1] = '/';
	ns_put_be64(q.b + 2, (uint64_t)t->now);
	memcpy(q.b + 10, k.b + 2, k.len - 2);
	q.len = 10 + k.len - 2;
	ns_txn_put(t, &q, "", 0);
	struct ns *ns = t->ns;
	if (ns->retry_floor_len > 0 && key_cmp(q.b, q.len, ns->retry_floor, ns->retry_floor_len) < 0)
		t->retry_floor_op = -1;
	t->retry_recorded = true;
}

/* Where the expiry scan stopped tells the oldest entry left: the key the
 * iterator is on (none: no entry at all). */
static void note_oldest(struct ns_txn *t, leveldb_iterator_t *it)
{
	size_t kl = 0;
	const char *key = leveldb_iter_valid(it) ? leveldb_iter_key(it, &kl) : NULL;
	t->retry_oldest_op = 1;
	if (!key || kl < 2 || memcmp(key, "q/", 2) != 0)
		t->retry_oldest = INT64_MAX;
	else if (kl >= 11)
		t->retry_oldest = (int64_t)ns_get_be64(key + 2);
	else
		t->retry_oldest_op = -1; /* malformed: seek every time */
}

void ns_retry_expire(struct ns_txn *t)
{
	struct ns_key pre = {.b = "q/", .len = 2};
	struct ns *ns = t->ns;
	if (ns->retry_oldest_known && ns->retry_oldest > t->now - NS_RETRY_KEEP_NS)
		return; /* nothing is old enough yet */
	if (!t->aux_it)
		t->aux_it = leveldb_create_iterator(ns->db, ns->ropts);
	leveldb_iterator_t *it = t->aux_it;
	int n = 0;
	if (ns->retry_floor_len > 0)
		leveldb_iter_seek(it, ns->retry_floor, ns->retry_floor_len);
	else
		leveldb_iter_seek(it, pre.b, pre.len);
	for (; leveldb_iter_valid(it) && n < NS_RETRY_EXPIRE_PER_CMD; leveldb_iter_next(it), n++) {
		size_t kl;
		const char *key = leveldb_iter_key(it, &kl);
		if (kl < 11 || kl > NS_KEY_MAX || memcmp(key, pre.b, 2) != 0)
			break;
		if ((int64_t)ns_get_be64(key + 2) > t->now - NS_RETRY_KEEP_NS)
			break;
		struct ns_key q = {.len = kl}, r = {.len = kl - 8};
		memcpy(q.b, key, kl);
		r.b[0] = 'r';
		r.b[1] = '/';
		memcpy(r.b + 2, key + 10, kl - 10);
		ns_txn_del_blind(t, &q);
		ns_txn_del_blind(t, &r);
		if (t->retry_floor_op >= 0 && kl <= sizeof(t->retry_floor)) {
			memcpy(t->retry_floor, key, kl);
			t->retry_floor_len = kl;
			t->retry_floor_op = 1;
		}
	}
	note_oldest(t, it);
}

void ns_retry_commit(struct ns_txn *t)
{
	struct ns *ns = t->ns;
	if (t->retry_floor_op < 0) {
		ns->retry_floor_len = 0;
	} else if (t->retry_floor_op > 0) {
		memcpy(ns->retry_floor, t->retry_floor, t->retry_floor_len);
		ns->retry_floor_len = t->retry_floor_len;
	}
	if (t->retry_oldest_op > 0) {
		ns->retry_oldest = t->retry_oldest;
		ns->retry_oldest_known = true;
	} else if (t->retry_oldest_op < 0) {
		ns->retry_oldest_known = false;
	}
	if (t->retry_recorded && ns->retry_oldest_known && t->now < ns->retry_oldest)
		ns->retry_oldest = t->now;
}
