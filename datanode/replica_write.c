/* replica_write.c: a write stream into one replica: placement, rbw/ files,
 * in-place rewrites with read-modify-write of partial chunks, truncate,
 * zero-filled gaps and finalization (see replica_write.h).
 *
 * Direct writes: a packet whose data, offset and length are aligned to
 * DIRECT_ALIGN and at least DIRECT_MIN_BYTES long is written through a
 * second descriptor opened with O_DIRECT, so the disk takes it from the
 * packet buffer without a copy into the page cache (that copy was half of
 * a datanode's CPU in a replicated sequential write). Everything else,
 * and every file system that refuses O_DIRECT (tmpfs), stays buffered;
 * the kernel keeps the two views of the file coherent. Durability is the
 * same: dn_writer_sync's fdatasync covers both. */
#include "datanode/replica_write.h"
#include "datanode/blockmeta.h"
#include "datanode/journal.h"
#include "common/crc32c.h"
#include "common/errors.h"
#include "common/clock.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CRC_BATCH 1024
/* Dirty data bytes of a replica after which writeback is started
 * (sync_file_range), so the fsync at the end of the block finds little
 * left to write and the disk works while packets are still arriving. */
#define WRITEBACK_KICK_BYTES (8u << 20)
#define DIRECT_ALIGN 4096u              /* offset, length and buffer alignment */
#define DIRECT_MIN_BYTES (64u << 10)    /* smaller packets: buffered */

struct dn_writer;
static void writer_end(struct dn_writer *w, int discard);

struct dn_writer {
	struct dn_store *s;
	struct dn_replica *r; /* map entry, pinned by r->writing */
	uint64_t id, genstamp;
	int create;
	int replacing; /* create over an older FINALIZED replica: r describes the old one */
	int dir, state; /* where our files are */
	int data_fd, meta_fd;
	int direct_fd;       /* data file with O_DIRECT: -1 not yet, -2 refused */
	uint64_t length;
	uint64_t dirty_lo, dirty_hi; /* range written since the last writeback kick */
	uint64_t dirty_bytes;        /* bytes written into it (rewrites count again) */
	/* A create small enough for the data dir's journal keeps a copy of
	 * its bytes for it (jbuf[0, length)); NULL once it is not. */
	uint8_t *jbuf;
	size_t jcap, jmax, jlen;
	uint32_t jgen; /* the journal record's checkpoint generation (0: none) */
	/* A new replica (no map entry before) whose journal may take it has
	 * no files while it is written: its bytes are in jbuf alone, and once
	 * journaled they go straight into current/ (journal.h). Whatever
	 * needs the files earlier makes its rbw/ files from jbuf first
	 * (materialize). */
	int deferred;
	int fresh; /* claim made the map entry */
};

/* Waits (lock held) until no writer holds id's replica; returns it (or
 * NULL) or -EBUSY through *rc after DN_WRITER_WAIT_MS. */
static struct dn_replica *wait_idle_locked(struct dn_store *s, uint64_t id, int *rc)
{
	struct timespec deadline;
	dfs_cond_deadline(&deadline, DN_WRITER_WAIT_MS);
	*rc = 0;
	for (;;) {
		struct dn_replica *r = dn_store_find_locked(s, id);
		if (r == NULL || !r->writing)
			return r;
		if (pthread_cond_timedwait(&s->cond, &s->lock, &deadline) == ETIMEDOUT) {
			*rc = -EBUSY;
			return NULL;
		}
	}
}

/* Whether a replica at genstamp gs may take a rewrite to next that names
 * prev as the genstamp its writer started from. The writer's own streams
 * since then had genstamps in between: pipeline recovery names the start
 * (the genstamp the namenode had when the rewrite began) while a survivor
 * may already have finished the failed stream, at that stream's genstamp,
 * because the ack showing the failure came after its last packet. A
 * replica older than prev missed writes: stale. pending_gs, the genstamp
 * of a rewrite cut short here, may also be what the namenode knows. */
static bool continues(uint64_t gs, uint64_t prev, uint64_t next)
{
	return gs != 0 && gs >= prev && gs < next;
}

/* Claims (or creates) the map entry for a new writer. Lock held. */
static int claim_locked(struct dn_writer *w, uint64_t prev_genstamp)
{
	struct dn_store *s = w->s;
	int rc;
	struct dn_replica *r = wait_idle_locked(s, w->id, &rc);
	if (rc < 0)
		return rc;
	if (!w->create) {
		if (r == NULL)
			return -ENOENT;
		if (!continues(r->genstamp, prev_genstamp, w->genstamp) &&
		    !continues(r->pending_gs, prev_genstamp, w->genstamp))
			return -DFS_ESTALE;
		if (s->dir_failed[r->dir])
			return -EIO;
		w->dir = r->dir;
		w->state = r->state;
		w->length = r->length;
	} else if (r != NULL && r->state == DN_RS_FINALIZED) {
		if (r->genstamp >= w->genstamp)
			return -EEXIST;
		w->replacing = 1;
		if ((w->dir = dn_store_pick_dir(s)) < 0)
			return w->dir;
		w->state = DN_RS_RBW;
	} else if (r != NULL) { /* an abandoned RBW: start it over */
		if (s->dir_failed[r->dir])
			return -EIO;
		s->bytes_used -= r->length;
		r->length = 0;
		r->genstamp = w->genstamp;
		w->dir = r->dir;
		w->state = DN_RS_RBW;
	} else {
		if ((w->dir = dn_store_pick_dir(s)) < 0)
			return w->dir;
		r = calloc(1, sizeof(*r));
		if (r == NULL)
			return -ENOMEM;
		r->id = w->id;
		r->genstamp = w->genstamp;
		r->dir = (uint16_t)w->dir;
		r->state = DN_RS_RBW;
		w->state = DN_RS_RBW;
		w->fresh = 1;
		if (dn_store_insert_locked(s, r) < 0) {
			free(r);
			return -ENOMEM;
		}
	}
	r->writing = 1;
	if (w->create)
		r->pending_gs = 0;
	w->r = r;
	return 0;
}

static void release_locked(struct dn_writer *w)
{
	w->r->writing = 0;
	pthread_cond_broadcast(&w->s->cond);
}

static int open_files(struct dn_writer *w)
{
	char p[DN_PATH_MAX];
	int flags = O_RDWR | O_CLOEXEC | (w->create ? O_CREAT | O_TRUNC : 0);
	dn_store_path(w->s, w->dir, w->state, w->id, 0, p, sizeof(p));
	w->data_fd = open(p, flags, 0644);
	if (w->data_fd < 0)
		return DFS_ERRNO();
	dn_store_path(w->s, w->dir, w->state, w->id, 1, p, sizeof(p));
	w->meta_fd = open(p, flags, 0644);
	if (w->meta_fd < 0)
		return DFS_ERRNO();
	if (w->create)
		return dn_meta_write_header(w->meta_fd, w->genstamp);
	uint64_t gs;
	int rc = dfs_meta_read_header(w->meta_fd, &gs);
	if (rc == 0 && gs != w->r->genstamp)
		rc = -DFS_ESTALE;
	return rc;
}

int dn_writer_open(struct dn_store *s, uint64_t id, uint64_t genstamp, int create,
		   uint64_t prev_genstamp, struct dn_writer **out)
{
	struct dn_writer *w = calloc(1, sizeof(*w));
	if (w == NULL)
		return -ENOMEM;
	w->s = s;
	w->id = id;
	w->genstamp = genstamp;
	w->create = create;
	w->data_fd = w->meta_fd = -1;
	w->direct_fd = s->direct_writes ? -1 : -2;
	pthread_mutex_lock(&s->lock);
	int rc = claim_locked(w, prev_genstamp);
	pthread_mutex_unlock(&s->lock);
	if (rc < 0) {
		free(w);
		return rc;
	}
	struct dn_journal *j = create ? s->journal[w->dir] : NULL;
	w->jmax = j != NULL ? dn_journal_replica_max(j) : 0;
	w->deferred = w->fresh && w->jmax > 0;
	rc = w->deferred ? 0 : open_files(w);
	if (rc < 0) {
		dfs_log_err(DFS_LOG_WARN, rc, "blk_%" PRIu64 ": cannot open for writing", id);
		dn_writer_abort(w);
		return rc;
	}
	*out = w;
	return 0;
}

/* Keeps the journal's copy of the replica at `len` bytes after a write of
 * data[0, n) at off (data NULL: a truncate or gap); a replica growing past
 * jmax drops the copy and will be synced in its own files. */
static void journal_copy(struct dn_writer *w, uint64_t off, const void *data, size_t n,
			 uint64_t len)
{
	if (w->jmax == 0)
		return;
	uint8_t *b = w->jbuf;
	size_t cap = w->jcap ? w->jcap : 16384;
	while (cap < len)
		cap *= 2;
	if (len > w->jmax || (cap > w->jcap && (b = realloc(w->jbuf, cap)) == NULL)) {
		free(w->jbuf); /* too large (or no memory) for the journal */
		w->jbuf = NULL;
		w->jmax = 0;
		return;
	}
	w->jbuf = b;
	w->jcap = cap;
	if (len > w->jlen) /* a gap or an extension reads as zeros */
		memset(w->jbuf + w->jlen, 0, len - w->jlen);
	if (data != NULL)
		memcpy(w->jbuf + off, data, n);
	w->jlen = (size_t)len;
}

/* Gives a deferred replica its rbw/ files, holding jbuf's bytes. */
static int materialize(struct dn_writer *w)
{
	if (!w->deferred)
		return 0;
	w->deferred = 0;
	if (w->jbuf == NULL && w->length > 0)
		return -ENOMEM; /* the copy was lost */
	int rc = open_files(w);
	if (rc == 0 && w->length > 0)
		rc = dn_pwrite_full(w->data_fd, w->jbuf, (size_t)w->length, 0);
	if (rc == 0)
		rc = dn_meta_write_whole(w->meta_fd, w->genstamp, w->jbuf, w->length);
	return rc;
}

/* Records the new length in the map (not while replacing: the entry still
 * describes the old replica). */
static void set_length(struct dn_writer *w, uint64_t len)
{
	w->length = len;
	if (w->replacing)
		return;
	pthread_mutex_lock(&w->s->lock);
	w->s->bytes_used = w->s->bytes_used - w->r->length + len;
	w->r->length = len;
	pthread_mutex_unlock(&w->s->lock);
}

/* A deferred replica's write or truncate: the copy is the replica, now
 * len bytes long (gaps read as zeros). */
static int copy_only(struct dn_writer *w, uint64_t off, const void *data, size_t n,
		     uint64_t len)
{
	journal_copy(w, off, data, n, len);
	if (w->jbuf == NULL)
		return -ENOMEM;
	set_length(w, len);
	return 0;
}

/* CRC of chunk c as it is in the data file, whose length is `len`. */
static int chunk_crc_from_file(struct dn_writer *w, uint64_t c, uint64_t len, uint32_t *crc)
{
	uint8_t buf[DFS_CHUNK_SIZE];
	uint64_t cs = c * DFS_CHUNK_SIZE;
	size_t n = (size_t)(len - cs < DFS_CHUNK_SIZE ? len - cs : DFS_CHUNK_SIZE);
	int rc = dfs_pread_full(w->data_fd, buf, n, cs);
	if (rc < 0)
		return rc;
	*crc = dfs_crc32c(0, buf, n);
	return 0;
}

/* Extends the replica with zeros to `target` (> length), with CRCs. */
static int extend_to(struct dn_writer *w, uint64_t target)
{
	static const uint8_t zeros[DFS_CHUNK_SIZE];
	uint32_t crcs[CRC_BATCH], zero_crc = dn_meta_zero_chunk_crc();
	uint64_t old = w->length;
	if (ftruncate(w->data_fd, (off_t)target) < 0)
		return DFS_ERRNO();
	uint64_t c = old / DFS_CHUNK_SIZE, last = (target - 1) / DFS_CHUNK_SIZE, first = c;
	size_t k = 0;
	for (; c <= last; c++) {
		uint64_t cs = c * DFS_CHUNK_SIZE, ce = cs + DFS_CHUNK_SIZE;
		if (ce > target)
			ce = target;
		int rc = 0;
		if (cs < old)
			rc = chunk_crc_from_file(w, c, target, &crcs[k]);
		else
			crcs[k] = ce - cs == DFS_CHUNK_SIZE ? zero_crc
							    : dfs_crc32c(0, zeros, (size_t)(ce - cs));
		if (rc == 0 && ++k == CRC_BATCH) {
			rc = dn_meta_write_crcs(w->meta_fd, first, crcs, k);
			first += k;
			k = 0;
		}
		if (rc < 0)
			return rc;
	}
	int rc = k > 0 ? dn_meta_write_crcs(w->meta_fd, first, crcs, k) : 0;
	if (rc == 0)
		set_length(w, target);
	return rc;
}

int dn_writer_truncate(struct dn_writer *w, uint64_t length)
{
	int rc;
	if (w->deferred && length > w->jmax && (rc = materialize(w)) < 0)
		return rc;
	if (w->deferred)
		return copy_only(w, 0, NULL, 0, length);
	journal_copy(w, 0, NULL, 0, length);
	if (length > w->length)
		return extend_to(w, length);
	if (length == w->length)
		return 0;
	if (ftruncate(w->data_fd, (off_t)length) < 0 ||
	    ftruncate(w->meta_fd, (off_t)dn_meta_crc_offset(dn_meta_chunks(length))) < 0)
		return DFS_ERRNO();
	if (length % DFS_CHUNK_SIZE != 0) {
		uint32_t crc;
		uint64_t c = length / DFS_CHUNK_SIZE;
		rc = chunk_crc_from_file(w, c, length, &crc);
		if (rc == 0)
			rc = dn_meta_write_crcs(w->meta_fd, c, &crc, 1);
		if (rc < 0)
			return rc;
	}
	set_length(w, length);
	return 0;
}

/* Stores the checksums of chunks touched by a write of [off, off+len) into
 * a replica now `new_len` long: the sender's piece CRC where the piece is
 * the whole chunk, else the chunk re-read from the file. */
static int store_crcs(struct dn_writer *w, uint64_t off, size_t len, const uint32_t *crcs,
		      uint64_t new_len)
{
	uint32_t out[CRC_BATCH];
	uint64_t first = off / DFS_CHUNK_SIZE, last = (off + len - 1) / DFS_CHUNK_SIZE;
	uint64_t batch_first = first;
	size_t k = 0;
	for (uint64_t c = first; c <= last; c++) {
		uint64_t cs = c * DFS_CHUNK_SIZE, ce = cs + DFS_CHUNK_SIZE;
		if (ce > new_len)
			ce = new_len;
		uint64_t ps = off > cs ? off : cs, pe = off + len < ce ? off + len : ce;
		int rc = 0;
		if (ps == cs && pe == ce)
			out[k] = crcs[c - first];
		else
			rc = chunk_crc_from_file(w, c, new_len, &out[k]);
		if (rc == 0 && ++k == CRC_BATCH) {
			rc = dn_meta_write_crcs(w->meta_fd, batch_first, out, k);
			batch_first += k;
			k = 0;
		}
		if (rc < 0)
			return rc;
	}
	return k > 0 ? dn_meta_write_crcs(w->meta_fd, batch_first, out, k) : 0;
}

/* Starts (does not wait for) writeback of the data written since the last
 * kick once WRITEBACK_KICK_BYTES of it were written. Durability still
 * comes only from dn_writer_sync; this only makes that fsync shorter.
 * Counted in bytes written, not in the range they span: scattered small
 * writes (random 4 KiB writes into a block) span 8 MiB after a few
 * packets, and kicking then cost a device submission per packet (14% of
 * all CPU with 16 random writers in flight). */
static void kick_writeback(struct dn_writer *w, uint64_t offset, size_t len)
{
	if (w->dirty_bytes == 0) {
		w->dirty_lo = offset;
		w->dirty_hi = offset + len;
	} else {
		w->dirty_lo = offset < w->dirty_lo ? offset : w->dirty_lo;
		w->dirty_hi = offset + len > w->dirty_hi ? offset + len : w->dirty_hi;
	}
	w->dirty_bytes += len;
	if (w->dirty_bytes < WRITEBACK_KICK_BYTES)
		return;
	/* advisory: an error here shows up again at fsync */
	(void)sync_file_range(w->data_fd, (off_t)w->dirty_lo, (off_t)(w->dirty_hi - w->dirty_lo),
			      SYNC_FILE_RANGE_WRITE);
	w->dirty_lo = w->dirty_hi = w->dirty_bytes = 0;
}

/* Writes an aligned packet with O_DIRECT. Returns 1 if it did, 0 if the
 * packet must go the buffered way, or a negative errno. */
static int write_direct(struct dn_writer *w, uint64_t offset, const void *data, size_t len)
{
	if (w->direct_fd == -2 || len < DIRECT_MIN_BYTES || offset % DIRECT_ALIGN != 0 ||
	    len % DIRECT_ALIGN != 0 || (uintptr_t)data % DIRECT_ALIGN != 0)
		return 0;
	/* A replica the journal may still take is made durable there: a
	 * direct write would be a second, synchronous device write of it. */
	if (w->jmax > 0 && offset + len <= w->jmax)
		return 0;
	if (w->direct_fd == -1) {
		char self[64];
		snprintf(self, sizeof(self), "/proc/self/fd/%d", w->data_fd);
		w->direct_fd = open(self, O_WRONLY | O_DIRECT | O_CLOEXEC);
		if (w->direct_fd < 0) {
			DFS_DEBUG("blk_%" PRIu64 ": no O_DIRECT (%s): buffered writes", w->id,
				  strerror(errno));
			w->direct_fd = -2;
			return 0;
		}
	}
	int rc = dn_pwrite_full(w->direct_fd, data, len, offset);
	if (rc == -EINVAL) { /* the file system takes no direct I/O after all */
		close(w->direct_fd);
		w->direct_fd = -2;
		return 0;
	}
	return rc < 0 ? rc : 1;
}

int dn_writer_write(struct dn_writer *w, uint64_t offset, const void *data, size_t len,
		    const uint32_t *crcs)
{
	int rc;
	if (len == 0)
		return 0;
	if (w->deferred && offset + len > w->jmax && (rc = materialize(w)) < 0)
		return rc;
	if (w->deferred)
		return copy_only(w, offset, data, len,
				 offset + len > w->length ? offset + len : w->length);
	if (offset > w->length && (rc = extend_to(w, offset)) < 0)
		return rc;
	rc = write_direct(w, offset, data, len);
	if (rc == 0) {
		rc = dn_pwrite_full(w->data_fd, data, len, offset);
		if (rc == 0)
			kick_writeback(w, offset, len);
	}
	if (rc < 0)
		return rc;
	uint64_t new_len = offset + len > w->length ? offset + len : w->length;
	journal_copy(w, offset, data, len, new_len);
	rc = store_crcs(w, offset, len, crcs, new_len);
	if (rc < 0)
		return rc;
	if (new_len != w->length)
		set_length(w, new_len);
	return 0;
}

int dn_writer_sync(struct dn_writer *w)
{
	int rc = materialize(w);
	if (rc < 0)
		return rc;
	/* Start writeback of both files first: their block allocations then
	 * join the journal transaction the first fdatasync commits, and the
	 * second usually finds nothing left to commit (one journal commit
	 * instead of two for a new replica). Advisory: errors show up at the
	 * fdatasync. */
	(void)sync_file_range(w->data_fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	(void)sync_file_range(w->meta_fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	if (fdatasync(w->data_fd) < 0 || fdatasync(w->meta_fd) < 0)
		return DFS_ERRNO();
	return 0;
}

uint64_t dn_writer_length(const struct dn_writer *w)
{
	return w->length;
}

static void close_files(struct dn_writer *w)
{
	if (w->direct_fd >= 0)
		close(w->direct_fd);
	w->direct_fd = -2;
	if (w->data_fd >= 0)
		close(w->data_fd);
	if (w->meta_fd >= 0)
		close(w->meta_fd);
	w->data_fd = w->meta_fd = -1;
}

/* Makes a rename into path's directory durable: the replica was acked as
 * durable, so its name must survive a crash too (ext4 commits the rbw/
 * removal in the same journal transaction). */
static int fsync_parent(const char *path)
{
	char dir[DN_PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash == NULL)
		return 0;
	*slash = '\0';
	return dn_fsync_dir(dir);
}

/* Moves a create's rbw/ files into current/ (replacing an older version
 * in the same dir); with sync_dir, durably (else the journal holds the
 * replica until a checkpoint). */
static int rename_into_place(struct dn_writer *w, bool sync_dir)
{
	char from[DN_PATH_MAX], to[DN_PATH_MAX];
	int rc = 0;
	for (int meta = 0; meta < 2 && rc == 0; meta++) {
		dn_store_path(w->s, w->dir, DN_RS_RBW, w->id, meta, from, sizeof(from));
		dn_store_path(w->s, w->dir, DN_RS_FINALIZED, w->id, meta, to, sizeof(to));
		if (rename(from, to) == 0)
			continue;
		rc = DFS_ERRNO();
		/* the first of 256 blocks of its directory: make it, durably */
		if (rc == -ENOENT && meta == 0 && (rc = dn_store_make_parent(w->s, w->dir, w->id)) == 0)
			rc = rename(from, to) < 0 ? DFS_ERRNO() : 0;
	}
	if (rc == 0 && sync_dir)
		rc = fsync_parent(to);
	return rc;
}

/* Updates the map entry to the finalized replica; returns in old_* the
 * files of a replaced replica in another dir that must be removed. */
static void finalize_entry(struct dn_writer *w, struct dn_replica_info *final, char *old_data,
			   char *old_meta)
{
	struct dn_store *s = w->s;
	struct dn_replica *r = w->r;
	old_data[0] = old_meta[0] = '\0';
	pthread_mutex_lock(&s->lock);
	if (w->replacing && r->dir != w->dir) {
		dn_store_path(s, r->dir, DN_RS_FINALIZED, w->id, 0, old_data, DN_PATH_MAX);
		dn_store_path(s, r->dir, DN_RS_FINALIZED, w->id, 1, old_meta, DN_PATH_MAX);
	}
	s->bytes_used = s->bytes_used - r->length + w->length;
	r->length = w->length;
	r->genstamp = w->genstamp;
	r->dir = (uint16_t)w->dir;
	r->state = DN_RS_FINALIZED;
	r->pending_gs = 0;
	r->placing = 0;
	r->jgen = w->jgen; /* 0: durable in its own files, name included */
	if (w->create)
		r->corrupt = 0; /* new files */
	if (final != NULL) {
		final->id = r->id;
		final->genstamp = r->genstamp;
		final->length = r->length;
		final->dir = r->dir;
		final->state = r->state;
		final->writing = 0;
	}
	release_locked(w);
	pthread_mutex_unlock(&s->lock);
}

/* The end of finish once the replica is durable (in its files, or in the
 * journal with journaled): into place, and into the map. */
static int finish_durable(struct dn_writer *w, struct dn_replica_info *final, bool journaled)
{
	char old_data[DN_PATH_MAX], old_meta[DN_PATH_MAX];
	int rc = 0;
	if (w->state == DN_RS_RBW)
		rc = rename_into_place(w, !journaled);
	if (rc == 0 && dn_store_dir_failed(w->s, w->dir))
		rc = -EIO; /* its disk was taken out of service meanwhile */
	if (rc < 0) {
		dfs_log_err(DFS_LOG_ERR, rc, "blk_%" PRIu64 ": cannot finalize", w->id);
		dn_writer_abort(w);
		return rc;
	}
	close_files(w);
	finalize_entry(w, final, old_data, old_meta);
	if (old_data[0] != '\0') {
		unlink(old_data);
		unlink(old_meta);
	}
	free(w->jbuf);
	free(w);
	return 0;
}

int dn_writer_finish(struct dn_writer *w, struct dn_replica_info *final)
{
	int rc = materialize(w);
	if (rc == 0 && !w->create) {
		/* the new genstamp becomes visible only once durable */
		rc = dn_writer_sync(w);
		if (rc == 0)
			rc = dn_meta_write_header(w->meta_fd, w->genstamp);
		if (rc == 0 && fdatasync(w->meta_fd) < 0)
			rc = DFS_ERRNO();
		/* A replica the journal made durable and no checkpoint synced
		 * since sits under a rename not synced yet: its name must
		 * survive a crash as well as the bytes just acked (a replay
		 * would put the journal's older version back under it). */
		struct dn_journal *j = w->s->journal[w->dir];
		if (rc == 0 && w->state == DN_RS_FINALIZED && w->r->jgen != 0 && j != NULL &&
		    !dn_journal_covers(j, w->r->jgen)) {
			char p[DN_PATH_MAX];
			dn_store_path(w->s, w->dir, w->state, w->id, 0, p, sizeof(p));
			rc = fsync_parent(p);
		}
	}
	if (rc < 0) {
		dfs_log_err(DFS_LOG_ERR, rc, "blk_%" PRIu64 ": cannot finalize", w->id);
		dn_writer_abort(w);
		return rc;
	}
	return finish_durable(w, final, false);
}

int dn_writer_finish_synced(struct dn_writer *w, struct dn_replica_info *final)
{
	struct dn_journal *j = w->jbuf != NULL && w->jlen == w->length && w->state == DN_RS_RBW
				       ? w->s->journal[w->dir]
				       : NULL;
	if (j != NULL) {
		dn_journal_begin(j);
		int rc = dn_journal_write(j, w->id, w->genstamp, w->jbuf, w->jlen, &w->jgen);
		if (rc == 0 && w->deferred) {
			/* durable: the caller acks, then dn_writer_place writes
			 * the files (the apply lock stays held until then) */
			pthread_mutex_lock(&w->s->lock);
			w->r->placing = 1;
			pthread_mutex_unlock(&w->s->lock);
			return DN_WRITER_PLACE;
		}
		if (rc == 0)
			rc = finish_durable(w, final, true);
		else if (rc != -ENOSPC)
			dn_writer_abort(w);
		dn_journal_end(j);
		if (rc != -ENOSPC)
			return rc;
		/* no room until the next checkpoint: the replica's own files */
	}
	int rc = materialize(w);
	if (rc == 0)
		rc = dn_writer_sync(w);
	if (rc < 0) {
		dfs_log_err(DFS_LOG_ERR, rc, "blk_%" PRIu64 ": cannot sync", w->id);
		dn_writer_abort(w);
		return rc;
	}
	return dn_writer_finish(w, final);
}

int dn_writer_place(struct dn_writer *w, struct dn_replica_info *final)
{
	struct dn_journal *j = w->s->journal[w->dir];
	int rc = dn_journal_place(w->s, w->dir, w->id, w->genstamp, w->jbuf, w->jlen);
	w->deferred = 0;
	if (rc == 0) {
		w->state = DN_RS_FINALIZED; /* where the files are */
		rc = finish_durable(w, final, true);
	} else {
		/* acked already: the record brings it back at the next start */
		dfs_log_err(DFS_LOG_ERR, rc, "blk_%" PRIu64 ": journaled, but its files cannot "
			    "be written", w->id);
		dn_writer_discard(w);
	}
	dn_journal_end(j);
	return rc;
}

void dn_writer_abort(struct dn_writer *w)
{
	writer_end(w, 0);
}

void dn_writer_discard(struct dn_writer *w)
{
	writer_end(w, 1);
}

static void writer_end(struct dn_writer *w, int discard)
{
	char p[DN_PATH_MAX];
	struct dn_store *s = w->s;
	/* a deferred create that holds bytes stays an RBW like any other (a
	 * pipeline recovery may rewrite it): it gets its files now */
	bool lost = w->deferred && (discard || w->length == 0 || materialize(w) < 0);
	close_files(w);
	if (w->replacing) {
		/* our rbw/ files were never visible: the old replica stays */
		for (int meta = 0; meta < 2; meta++) {
			dn_store_path(s, w->dir, DN_RS_RBW, w->id, meta, p, sizeof(p));
			unlink(p);
		}
	}
	/* a create stays an RBW replica (open to a rewrite with its genstamp)
	 * unless it holds nothing; a rewrite leaves the replica with its old
	 * genstamp: visibly stale */
	int drop = w->create && !w->replacing && (w->length == 0 || discard || lost);
	pthread_mutex_lock(&s->lock);
	w->r->placing = 0;
	release_locked(w);
	if (s->dir_failed[w->r->dir] && !w->replacing)
		drop = 1; /* its disk is out of service: forget it */
	else if (!w->create)
		w->r->pending_gs = w->genstamp;
	if (drop) {
		dn_store_remove_locked(s, w->r);
		free(w->r);
	}
	pthread_mutex_unlock(&s->lock);
	for (int meta = 0; drop && meta < 2; meta++) {
		dn_store_path(s, w->dir, DN_RS_RBW, w->id, meta, p, sizeof(p));
		unlink(p);
	}
	free(w->jbuf);
	free(w);
}
