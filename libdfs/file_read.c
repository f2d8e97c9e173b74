/* file_read.c: the read path of a dfs_file. Located blocks come from
 * GET_BLOCKS and are cached per handle (refreshed after writes and on
 * failures). A read is cut at block boundaries; a missing block (a hole)
 * and the bytes past a block's length read as zeros; reads stop at the
 * file size. A sequential reader keeps one stream per block that asks for
 * the rest of the block; a random read asks only for its range. A replica
 * that fails (connection, status, checksum) is skipped for the next; one
 * whose data failed its checksums is reported (BAD_REPLICA) once another
 * replica has served the bytes. */
#include "libdfs/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"

#define DFSC_FETCH_BLOCKS_MIN 16 /* blocks asked for per GET_BLOCKS, at least */
#define DFSC_READ_REFRESH_MAX 3  /* re-fetch locations this often per block read */
#define DFSC_READ_REFRESH_WAIT_MS 100 /* before the 2nd refresh; doubles after */

void dfsc_file_cache_invalidate(dfs_file *f)
{
	f->cache_valid = false;
	f->n_cache = 0;
	dfsc_breader_close(&f->br);
}

void dfsc_file_read_free(dfs_file *f)
{
	dfsc_breader_free(&f->br);
	free(f->cache);
	f->cache = NULL;
	f->n_cache = 0;
}

int dfsc_file_fetch_blocks(dfs_file *f, uint64_t off, uint64_t len)
{
	Dfs__NsRequest req = DFS__NS_REQUEST__INIT;
	Dfs__NsReply *reply;
	req.has_ino = req.has_offset = req.has_length = 1;
	req.ino = f->ino;
	req.offset = off;
	req.length = len;
	f->cache_valid = false;
	dfsc_req_set_cred(&req, &f->cred);
	int rc = dfsc_call(f->c, DFS_M_GET_BLOCKS, &req, &reply);
	if (rc < 0)
		return rc;
	if (f->cache == NULL) {
		f->cache = malloc(DFSC_BLOCKS_CACHE_MAX * sizeof(*f->cache));
		if (f->cache == NULL) {
			rc = -ENOMEM;
			goto out;
		}
	}
	f->n_cache = 0;
	f->cache_lo = off;
	f->cache_hi = off + len < off ? UINT64_MAX : off + len;
	for (size_t i = 0; i < reply->n_blocks; i++) {
		if (f->n_cache == DFSC_BLOCKS_CACHE_MAX) {
			/* cover only what fits */
			f->cache_hi = f->cache[f->n_cache - 1].index * f->block_size +
				      f->block_size;
			break;
		}
		struct dfsc_lblock *b = &f->cache[f->n_cache];
		if (dfsc_lblock_from_pb(reply->blocks[i], b) < 0)
			continue;
		/* keep the cache sorted by index */
		if (f->n_cache > 0 && b->index <= f->cache[f->n_cache - 1].index) {
			rc = -DFS_EPROTOCOL;
			goto out;
		}
		f->n_cache++;
	}
	if (reply->attr != NULL && !dfsc_file_dirty(f))
		f->size = reply->attr->size;
	f->cache_valid = true;
out:
	dfs__ns_reply__free_unpacked(reply, NULL);
	return rc;
}

const struct dfsc_lblock *dfsc_file_cached_block(const dfs_file *f, uint64_t idx)
{
	size_t lo = 0, hi = f->n_cache;
	if (!f->cache_valid)
		return NULL;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (f->cache[mid].index == idx)
			return &f->cache[mid];
		if (f->cache[mid].index < idx)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* One pass over the replicas of b for block bytes [boff, end). */
static int read_replicas(dfs_file *f, const struct dfsc_lblock *b, uint64_t boff, uint64_t end,
			 uint8_t *dst, bool sequential)
{
	int err = -EIO;
	bool bad_sum = false;
	int bad[DFSC_LOCATIONS_MAX], n_bad = 0;
	struct dfsc_breader *r = &f->br;
	bool same = r->fd >= 0 && r->block_id == b->block_id && r->genstamp == b->genstamp;
	int first = same ? r->loc : 0;
	for (int k = 0; k < b->n_locs; k++) {
		int loc = (first + k) % b->n_locs;
		int rc = -ESPIPE;
		if (same && loc == r->loc)
			rc = dfsc_breader_read(f->c, r, boff, dst, (size_t)(end - boff));
		if (rc == -ESPIPE) {
			rc = dfsc_breader_open(f->c, r, b, loc, boff, sequential ? b->length : end);
			if (rc == 0)
				rc = dfsc_breader_read(f->c, r, boff, dst, (size_t)(end - boff));
		}
		if (rc == 0) {
			/* good bytes from another replica: now report the bad ones */
			dfsc_report_bad_replicas(f->c, b, bad, n_bad);
			return 0;
		}
		dfsc_log(f->c, DFS_LOG_WARN, "block %llu: reading from %s:%u: %s",
			 (unsigned long long)b->block_id, b->locs[loc].host, b->locs[loc].port,
			 dfs_strerror(rc));
		dfsc_breader_abort(r);
		same = false;
		if (rc == -DFS_ECHECKSUM) {
			bad_sum = true;
			bad[n_bad++] = loc;
		}
		err = rc;
	}
	if (b->n_locs == 0)
		dfsc_log(f->c, DFS_LOG_ERR, "block %llu: no live replica",
			 (unsigned long long)b->block_id);
	return bad_sum ? -DFS_ECHECKSUM : (err == -ESPIPE ? -EIO : err);
}

static void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Reads len bytes of block idx at boff (inside the block) into dst. A
 * failure on every replica re-fetches the locations (a writer may have
 * bumped the genstamp, a replica may have moved) up to
 * DFSC_READ_REFRESH_MAX times, waiting a little from the second time. */
static int read_in_block(dfs_file *f, uint64_t idx, uint64_t boff, size_t len, uint8_t *dst,
			 bool sequential)
{
	int rc = 0;
	for (int attempt = 0; attempt <= DFSC_READ_REFRESH_MAX; attempt++) {
		uint64_t pos = idx * f->block_size + boff;
		if (attempt > 1) /* replicas may be re-registering: give them a moment */
			sleep_ms(DFSC_READ_REFRESH_WAIT_MS << (attempt - 2));
		if (attempt > 0 || !f->cache_valid || pos < f->cache_lo || pos + len > f->cache_hi) {
			uint64_t want = (uint64_t)DFSC_FETCH_BLOCKS_MIN * f->block_size;
			rc = dfsc_file_fetch_blocks(f, pos, want > len ? want : len);
			if (rc < 0)
				return rc;
		}
		const struct dfsc_lblock *b = dfsc_file_cached_block(f, idx);
		uint64_t data_end = b == NULL ? boff : (b->length < boff + len ? b->length : boff + len);
		if (data_end < boff)
			data_end = boff;
		memset(dst + (data_end - boff), 0, (size_t)(boff + len - data_end));
		if (data_end == boff)
			return 0; /* a hole, or past the block's length */
		struct dfsc_lblock copy = *b;
		if (attempt == 0 && dfsc_local_read(f->c, &copy, boff, data_end, dst, sequential) == 0)
			return 0;
		rc = read_replicas(f, &copy, boff, data_end, dst, sequential);
		if (rc == 0)
			return 0;
	}
	return rc;
}

ssize_t dfsc_file_pread(dfs_file *f, void *buf, size_t n, uint64_t off)
{
	uint8_t *dst = buf;
	if (dfsc_file_dirty(f)) {
		/* Read your own writes: end the stream so the replicas are
		 * finalized with their new genstamp, and COMPLETE the lengths. */
		int rc = dfsc_file_flush(f, false, true);
		if (rc < 0)
			return rc;
	}
	if (off >= f->size || n == 0)
		return 0;
	if (n > f->size - off)
		n = (size_t)(f->size - off);
	if (n > SSIZE_MAX)
		n = SSIZE_MAX;
	bool sequential = off == f->last_read_end;
	size_t done = 0;
	while (done < n) {
		uint64_t pos = off + done;
		uint64_t idx = pos / f->block_size;
		uint64_t boff = pos % f->block_size;
		size_t take = n - done;
		if (take > f->block_size - boff)
			take = (size_t)(f->block_size - boff);
		int rc = read_in_block(f, idx, boff, take, dst + done, sequential);
		if (rc < 0)
			return done > 0 ? (ssize_t)done : rc;
		done += take;
	}
	f->last_read_end = off + done;
	return (ssize_t)done;
}
