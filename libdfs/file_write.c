/* file_write.c: the write path of a dfs_file. Writes are gathered in a
 * buffer of one packet (contiguous bytes, never crossing a block
 * boundary), which is sent into the pipeline stream of its block. A handle
 * keeps up to DFSC_STREAMS_MAX streams open, one per block, so a random
 * writer does not end and reopen a block at every jump; the least
 * recently used stream is ended for a new one, and a sequential writer's
 * stream ends when it moves on past the end of its block. A new
 * block comes from ADD_BLOCK (create=true; on a Raft group the leader
 * hands it out without a log entry and COMPLETE records it, so the blocks
 * already written are completed before the next ADD_BLOCK); an existing
 * one is reopened
 * with OPEN_BLOCK (new genstamp, create=false, the first packet truncating
 * the replica to its recorded length so stale bytes never reappear).
 * Streams of finished blocks are remembered until COMPLETE (on fsync,
 * close, and before a block written here is reopened) records their
 * lengths and the file size.
 *
 * Invariants: wbuf holds [wbuf_off, wbuf_off + wbuf_len) inside one block;
 * an open stream f->bw[i] is for block f->bw_index[i], and no two open
 * streams are for the same block; every block in f->pending was closed
 * with last+sync and is acked by every replica. */
#include "libdfs/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"

static bool stream_open(const dfs_file *f, int i)
{
	return f->bw[i] != NULL && dfsc_bwriter_is_open(f->bw[i]);
}

static bool any_stream_open(const dfs_file *f)
{
	for (int i = 0; i < DFSC_STREAMS_MAX; i++)
		if (stream_open(f, i))
			return true;
	return false;
}

bool dfsc_file_unpublished(const dfs_file *f)
{
	return f->wbuf_len > 0 || any_stream_open(f) || f->n_pending > 0 || f->size_dirty;
}

bool dfsc_file_dirty(const dfs_file *f)
{
	return dfsc_file_unpublished(f) || f->pend.valid != 0;
}

void dfsc_file_write_free(dfs_file *f)
{
	for (int i = 0; i < DFSC_STREAMS_MAX; i++) {
		if (f->bw[i] != NULL)
			dfsc_bwriter_free(f->bw[i]);
		free(f->bw[i]);
		f->bw[i] = NULL;
	}
	free(f->wbuf);
	free(f->pending);
	free(f->pending_idx);
	f->wbuf = NULL;
	f->pending = NULL;
	f->pending_idx = NULL;
	f->n_pending = 0;
}

static void block_ref_of_stream(const struct dfsc_bwriter *w, Dfs__BlockRef *r)
{
	dfs__block_ref__init(r);
	r->block_id = w->blk.block_id;
	r->genstamp = w->blk.genstamp;
	r->length = w->max_end > w->recorded_len ? w->max_end : w->recorded_len;
}

/* COMPLETE: the blocks in pending plus the open streams', the size, and
 * with attrs the attribute changes kept with them (f->pend: only the
 * flush of an fsync or close publishes them, since every COMPLETE without
 * an mtime stamps the time and would undo an earlier one's). The open
 * streams must be drained (every packet acked). */
static int complete(dfs_file *f, bool attrs)
{
	Dfs__NsRequest req = DFS__NS_REQUEST__INIT;
	Dfs__BlockRef open_refs[DFSC_STREAMS_MAX];
	size_t n = f->n_pending;
	Dfs__BlockRef **refs = calloc(n + DFSC_STREAMS_MAX, sizeof(*refs));
	uint64_t *idx = calloc(n + DFSC_STREAMS_MAX, sizeof(*idx));
	if (refs == NULL || idx == NULL) {
		free(refs);
		free(idx);
		return -ENOMEM;
	}
	for (size_t i = 0; i < f->n_pending; i++) {
		refs[i] = &f->pending[i];
		idx[i] = f->pending_idx[i];
	}
	for (int i = 0; i < DFSC_STREAMS_MAX; i++) {
		if (!stream_open(f, i))
			continue;
		block_ref_of_stream(f->bw[i], &open_refs[i]);
		idx[n] = f->bw_index[i];
		refs[n++] = &open_refs[i];
	}
	req.has_ino = 1;
	req.ino = f->ino;
	req.n_blocks = n;
	req.blocks = refs;
	req.n_block_indexes = n; /* where blocks not recorded yet go */
	req.block_indexes = idx;
	req.has_size = 1;
	req.size = f->size;
	struct dfs_setattr none = { 0 };
	const struct dfs_setattr *pend = attrs ? &f->pend : &none;
	dfsc_setattr_to_req(pend, &req);
	dfsc_req_set_cred(&req, &f->cred);
	struct dfs_stat st;
	int rc = dfsc_call_attr(f->c, DFS_M_COMPLETE, &req, pend->valid ? &st : NULL);
	free(refs);
	free(idx);
	for (int i = 0; rc == 0 && i < DFSC_STREAMS_MAX; i++)
		if (stream_open(f, i))
			f->bw[i]->unrecorded = false;
	if (rc < 0) {
		dfsc_log(f->c, DFS_LOG_ERR, "complete inode %llu: %s",
			 (unsigned long long)f->ino, dfs_strerror(rc));
		return rc;
	}
	if ((pend->valid & DFS_SET_MODE) && (st.mode & 07777) != pend->mode)
		dfsc_log(f->c, DFS_LOG_WARN, "inode %llu: mode %o not applied (owner changed?)",
			 (unsigned long long)f->ino, pend->mode);
	if (attrs)
		memset(&f->pend, 0, sizeof(f->pend));
	f->n_pending = 0;
	f->size_dirty = false;
	return 0;
}

/* Records the ended stream i's block as written since the last COMPLETE. */
static int add_pending(dfs_file *f, int i)
{
	if (f->n_pending == f->pending_cap) {
		size_t cap = f->pending_cap == 0 ? 16 : f->pending_cap * 2;
		Dfs__BlockRef *p = realloc(f->pending, cap * sizeof(*p));
		if (p == NULL)
			return -ENOMEM;
		f->pending = p;
		uint64_t *q = realloc(f->pending_idx, cap * sizeof(*q));
		if (q == NULL)
			return -ENOMEM;
		f->pending_idx = q;
		f->pending_cap = cap;
	}
	block_ref_of_stream(f->bw[i], &f->pending[f->n_pending]);
	f->pending_idx[f->n_pending] = f->bw_index[i];
	f->n_pending++;
	if (f->n_pending >= DFSC_PENDING_MAX)
		return complete(f, false);
	return 0;
}

/* Sends one packet into open stream i; with last, the stream ends and
 * its block joins pending. */
static int stream_packet(dfs_file *f, int i, uint64_t boff, const void *data, size_t len,
			 bool sync, bool last)
{
	struct dfsc_bwriter *w = f->bw[i];
	int rc = data == f->wbuf && len > 0
			 ? dfsc_bwriter_packet_swap(f->c, w, boff, &f->wbuf, len, sync, last)
			 : dfsc_bwriter_packet(f->c, w, boff, data, len, sync, last);
	if (rc < 0)
		return rc;
	f->bw_end[i] = boff + len;
	if (!last)
		return 0;
	return add_pending(f, i);
}

/* Ends stream i, if open, durably (sync + last). */
static int close_stream(dfs_file *f, int i)
{
	if (!stream_open(f, i))
		return 0;
	return stream_packet(f, i, f->bw[i]->max_end, NULL, 0, true, true);
}

/* Waits until every packet of every open stream is acked. */
static int drain_streams(dfs_file *f)
{
	for (int i = 0; i < DFSC_STREAMS_MAX; i++) {
		if (!stream_open(f, i))
			continue;
		int rc = dfsc_bwriter_drain(f->c, f->bw[i]);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static bool pending_has(const dfs_file *f, uint64_t idx)
{
	for (size_t i = 0; i < f->n_pending; i++)
		if (f->pending_idx[i] == idx)
			return true;
	return false;
}

/* ADD_BLOCK or OPEN_BLOCK for block idx; 0 with *blk filled. */
static int block_op(dfs_file *f, uint32_t method, uint64_t idx, struct dfsc_lblock *blk)
{
	Dfs__NsRequest req = DFS__NS_REQUEST__INIT;
	Dfs__NsReply *reply;
	req.has_ino = req.has_block_index = 1;
	req.ino = f->ino;
	req.block_index = idx;
	dfsc_req_set_cred(&req, &f->cred);
	int rc = dfsc_call(f->c, method, &req, &reply);
	if (rc < 0) {
		dfsc_log(f->c, DFS_LOG_ERR, "%s inode %llu block %llu: %s",
			 dfs_method_name(method), (unsigned long long)f->ino,
			 (unsigned long long)idx, dfs_strerror(rc));
		return rc;
	}
	rc = dfsc_lblock_from_pb(reply->block, blk);
	dfs__ns_reply__free_unpacked(reply, NULL);
	blk->index = idx;
	return rc;
}

/* The open stream of block idx, or -1. */
static int find_stream(const dfs_file *f, uint64_t idx)
{
	for (int i = 0; i < DFSC_STREAMS_MAX; i++)
		if (stream_open(f, i) && f->bw_index[i] == idx)
			return i;
	return -1;
}

/* A slot for a new stream of block idx: a free one, else the least
 * recently used stream, ended. Ends first the stream of block idx - 1
 * if its last packet reached the block's end: a sequential writer has
 * moved on and that block is done. Returns the slot or a negative errno. */
static int free_slot(dfs_file *f, uint64_t idx)
{
	int prev = idx > 0 ? find_stream(f, idx - 1) : -1;
	if (prev >= 0 && f->bw_end[prev] == f->block_size) {
		int rc = close_stream(f, prev);
		if (rc < 0)
			return rc;
	}
	int slot = -1;
	for (int i = 0; i < DFSC_STREAMS_MAX; i++) {
		if (!stream_open(f, i))
			return i;
		if (slot < 0 || f->bw_used[i] < f->bw_used[slot])
			slot = i;
	}
	int rc = close_stream(f, slot);
	return rc < 0 ? rc : slot;
}

/* Opens stream slot i for block idx: ADD_BLOCK for a new block, else
 * OPEN_BLOCK (a new genstamp) of the existing one. */
static int open_stream(dfs_file *f, int i, uint64_t idx)
{
	struct dfsc_lblock old, blk;
	if (f->bw[i] == NULL) {
		f->bw[i] = malloc(sizeof(*f->bw[i]));
		if (f->bw[i] == NULL)
			return -ENOMEM;
		dfsc_bwriter_init(f->bw[i]);
	}
	struct dfsc_bwriter *w = f->bw[i];
	int rc = 0;
	if (pending_has(f, idx)) {
		/* so the namenode knows the block's length */
		rc = drain_streams(f);
		if (rc == 0)
			rc = complete(f, false);
	}
	if (rc < 0)
		return rc;
	const struct dfsc_lblock *cached = NULL;
	if (!f->fresh) {
		dfsc_file_cache_invalidate(f);
		rc = dfsc_file_fetch_blocks(f, idx * f->block_size, f->block_size);
		if (rc < 0)
			return rc;
		cached = dfsc_file_cached_block(f, idx);
	}
	f->fresh = false; /* from here on blocks exist: ask */
	w->ino = f->ino; /* for pipeline recovery */
	w->index = idx;
	w->cred = &f->cred;
	if (cached == NULL && f->n_pending > 0) {
		/* The namenode records a new block only at COMPLETE: the ones
		 * already written go first, so none stays unrecorded (an orphan
		 * once the block map's busy time is over) while the next is
		 * written. One log entry per block of a multi-block file. */
		rc = drain_streams(f);
		if (rc == 0)
			rc = complete(f, false);
		if (rc < 0)
			return rc;
	}
	f->wrote = true;
	if (cached == NULL) {
		if (idx == 0 && f->first_block != NULL &&
		    dfsc_now_ms() - f->attr_ms < DFSC_FIRST_BLOCK_MAX_AGE_MS)
			blk = *f->first_block; /* allocated by the CREATE */
		else
			rc = block_op(f, DFS_M_ADD_BLOCK, idx, &blk);
		if (rc == 0)
			rc = dfsc_bwriter_open(f->c, w, &blk, true, 0, 0);
		w->unrecorded = true;
	} else {
		old = *cached;
		rc = block_op(f, DFS_M_OPEN_BLOCK, idx, &blk);
		if (rc == 0)
			rc = dfsc_bwriter_open(f->c, w, &blk, false, old.genstamp, old.length);
		w->truncate_pending = true;
		w->truncate_to = old.length;
		w->unrecorded = false;
	}
	free(f->first_block); /* used, or stale once anything was written */
	f->first_block = NULL;
	dfsc_file_cache_invalidate(f);
	if (rc < 0)
		return rc;
	f->bw_index[i] = idx;
	f->bw_end[i] = 0;
	return 0;
}

/* The open stream of block idx, opened if need be; slot or negative errno. */
static int ensure_stream(dfs_file *f, uint64_t idx)
{
	int i = find_stream(f, idx);
	if (i < 0) {
		i = free_slot(f, idx);
		if (i < 0)
			return i;
		int rc = open_stream(f, i, idx);
		if (rc < 0)
			return rc;
	}
	f->bw_used[i] = ++f->bw_tick;
	return i;
}

/* Sends the buffer as one packet of its block's stream (the buffer itself
 * goes into the stream's window; wbuf gets another one of the same size). */
static int send_buffer(dfs_file *f, bool sync, bool last)
{
	uint64_t idx = f->wbuf_off / f->block_size;
	uint64_t boff = f->wbuf_off % f->block_size;
	int i = ensure_stream(f, idx);
	int rc = i < 0 ? i : stream_packet(f, i, boff, f->wbuf, f->wbuf_len, sync, last);
	f->wbuf_len = 0;
	return rc;
}

ssize_t dfsc_file_pwrite(dfs_file *f, const void *buf, size_t n, uint64_t off)
{
	const uint8_t *src = buf;
	size_t done = 0;
	int rc = 0;
	if (f->write_err < 0)
		return f->write_err;
	if (n == 0)
		return 0;
	if (off + n < off || n > SSIZE_MAX)
		return -EFBIG;
	if (f->wbuf == NULL && (f->wbuf = malloc(DFSC_PACKET_DATA_MAX)) == NULL)
		return -ENOMEM;
	f->pend.valid &= ~(unsigned)DFS_SET_MTIME; /* a write after utimes: now */
	while (done < n) {
		uint64_t cur = off + done;
		if (f->wbuf_len > 0 && cur != f->wbuf_off + f->wbuf_len) {
			rc = send_buffer(f, false, false);
			if (rc < 0)
				goto fail;
		}
		if (f->wbuf_len == 0)
			f->wbuf_off = cur;
		uint64_t end = f->wbuf_off + f->wbuf_len;
		uint64_t block_end = (f->wbuf_off / f->block_size + 1) * f->block_size;
		uint64_t room = DFSC_PACKET_DATA_MAX - f->wbuf_len;
		if (block_end - end < room)
			room = block_end - end;
		size_t take = n - done < room ? n - done : (size_t)room;
		memcpy(f->wbuf + f->wbuf_len, src + done, take);
		f->wbuf_len += take;
		done += take;
		if (f->wbuf_len == DFSC_PACKET_DATA_MAX || f->wbuf_off + f->wbuf_len == block_end) {
			rc = send_buffer(f, false, false);
			if (rc < 0)
				goto fail;
		}
	}
	if (off + n > f->size)
		f->size = off + n;
	f->size_dirty = true;
	/* the write's time, shown by dfs_fstat until the COMPLETE sets the
	 * namenode's (a reader's cache sees the file change meanwhile) */
	clock_gettime(CLOCK_REALTIME, &f->attr.mtime);
	f->attr.ctime = f->attr.mtime;
	return (ssize_t)n;
fail:
	f->write_err = rc;
	return rc;
}

int dfsc_file_flush(dfs_file *f, bool sync, bool close_stream_too)
{
	int rc = f->write_err;
	if (rc < 0)
		return rc;
	int sent = -1; /* the stream the buffer went into, with sync/last */
	if (f->wbuf_len > 0) {
		uint64_t idx = f->wbuf_off / f->block_size;
		rc = send_buffer(f, sync, close_stream_too);
		sent = find_stream(f, idx); /* -1 once last ended it */
	}
	for (int i = 0; i < DFSC_STREAMS_MAX && rc == 0; i++)
		if (i != sent && stream_open(f, i))
			rc = stream_packet(f, i, f->bw[i]->max_end, NULL, 0, sync, close_stream_too);
	if (rc == 0)
		rc = drain_streams(f);
	if (rc == 0 &&
	    (f->n_pending > 0 || any_stream_open(f) || f->size_dirty || f->pend.valid))
		rc = complete(f, true);
	if (rc < 0) {
		f->write_err = rc;
		return rc;
	}
	dfsc_file_cache_invalidate(f);
	return 0;
}
