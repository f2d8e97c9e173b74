/* journal.c: a data directory's replica journal: the ring file, group-
 * committed appends, checkpoints and replay at start (see journal.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* syncfs */
#endif
#include "datanode/journal.h"
#include "datanode/blockmeta.h"
#include "datanode/blockstore.h"
#include "common/crc32c.h"
#include "common/errors.h"
#include "common/log.h"
#include "common/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define JNL_MAGIC 0x314c4e524a534644ull /* "DFSJRNL1" */
#define JNL_VERSION 1u
#define JNL_BASE 4096u                  /* the ring starts here */
#define JREC_MAGIC 0x4345524au          /* "JREC" */
#define JNL_ZERO_CHUNK (1u << 20)
/* A ring with records older than this is checkpointed even if it is not
 * half full, so that a restart replays little. */
#define JNL_CHECKPOINT_AGE_MS 30000
#define JNL_IDLE_WAIT_MS 1000

struct jnl_super {
	uint64_t magic;
	uint32_t version;
	uint32_t pad;
	uint64_t cap;
	uint64_t tail;
	uint32_t crc; /* of the fields above */
	uint32_t pad2;
};

struct jrec_hdr {
	uint32_t magic;
	uint32_t crc; /* of the rest of the header and the data */
	uint64_t lpos;
	uint64_t block_id;
	uint64_t genstamp;
	uint64_t length;
};

struct dn_journal {
	struct dn_store *s;
	int dir;
	int fd;
	char path[DN_PATH_MAX];
	uint64_t cap;
	pthread_mutex_t lock;
	pthread_cond_t cond;    /* synced moved, or the thread is wanted */
	pthread_rwlock_t apply; /* read: a stream between append and rename */
	uint64_t head, synced, tail;
	int syncing; /* an append runs the fdatasync for all */
	int wanted;  /* an append found no room: checkpoint now */
	pthread_mutex_t ckpt; /* one checkpoint at a time */
	int err;     /* the journal failed: no more appends */
	uint32_t gen;      /* checkpoint generation of new records (>= 1) */
	uint32_t done_gen; /* records up to this generation are checkpointed */
	int stop;
	int64_t oldest_ms; /* when the first record after the tail came (0: none) */
	struct dn_journal_stats st;
	pthread_t thread;
	int thread_started;
};

static uint64_t rec_size(uint64_t len)
{
	return (sizeof(struct jrec_hdr) + len + 7) & ~(uint64_t)7;
}

size_t dn_journal_replica_max(const struct dn_journal *j)
{
	uint64_t m = j->cap / 8 > sizeof(struct jrec_hdr) ? j->cap / 8 - sizeof(struct jrec_hdr) : 0;
	return (size_t)(m < DN_JOURNAL_REPLICA_MAX ? m : DN_JOURNAL_REPLICA_MAX);
}

/* ---- the ring: reads and writes at a logical position ---- */

static int ring_io(struct dn_journal *j, uint64_t lpos, void *buf, size_t len, bool write)
{
	uint8_t *p = buf;
	while (len > 0) {
		uint64_t at = lpos % j->cap;
		size_t n = (size_t)(j->cap - at < len ? j->cap - at : len);
		int rc = write ? dn_pwrite_full(j->fd, p, n, JNL_BASE + at)
			       : dfs_pread_full(j->fd, p, n, JNL_BASE + at);
		if (rc < 0)
			return rc;
		p += n;
		lpos += n;
		len -= n;
	}
	return 0;
}

static uint32_t super_crc(const struct jnl_super *sb)
{
	return dfs_crc32c(0, sb, offsetof(struct jnl_super, crc));
}

static int super_write(struct dn_journal *j, uint64_t tail)
{
	struct jnl_super sb = { .magic = JNL_MAGIC, .version = JNL_VERSION, .cap = j->cap,
				.tail = tail };
	sb.crc = super_crc(&sb);
	int rc = dn_pwrite_full(j->fd, &sb, sizeof(sb), 0);
	if (rc == 0 && fdatasync(j->fd) < 0)
		rc = DFS_ERRNO();
	return rc;
}

/* Reads the superblock: 0, or -EINVAL if it is not a journal's. */
static int super_read(int fd, struct jnl_super *sb)
{
	int rc = dfs_pread_full(fd, sb, sizeof(*sb), 0);
	if (rc < 0)
		return rc;
	if (sb->magic != JNL_MAGIC || sb->version != JNL_VERSION || sb->crc != super_crc(sb) ||
	    sb->cap < DN_JOURNAL_MIN_BYTES / 2)
		return -EINVAL;
	return 0;
}

/* ---- making a journal ---- */

/* Writes a zero-filled journal of cap bytes at path (through a temporary
 * name and a rename, so a crash never leaves half a journal) and opens it. */
static int make_file(struct dn_journal *j)
{
	char tmp[DN_PATH_MAX + 8];
	snprintf(tmp, sizeof(tmp), "%s.new", j->path);
	int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return DFS_ERRNO();
	uint8_t *zeros = calloc(1, JNL_ZERO_CHUNK);
	int rc = zeros == NULL ? -ENOMEM : 0;
	for (uint64_t off = 0; rc == 0 && off < JNL_BASE + j->cap; off += JNL_ZERO_CHUNK) {
		uint64_t n = JNL_BASE + j->cap - off;
		rc = dn_pwrite_full(fd, zeros, (size_t)(n < JNL_ZERO_CHUNK ? n : JNL_ZERO_CHUNK),
				    off);
	}
	free(zeros);
	j->fd = fd;
	if (rc == 0)
		rc = super_write(j, 0);
	if (rc == 0 && rename(tmp, j->path) < 0)
		rc = DFS_ERRNO();
	if (rc == 0)
		rc = dn_fsync_dir(j->s->dirs[j->dir]);
	if (rc < 0) {
		close(fd);
		j->fd = -1;
		unlink(tmp);
	}
	return rc;
}

/* ---- replay ---- */

/* Genstamp in the meta header at path; 0 if there is no readable one. */
static uint64_t genstamp_at(const char *meta_path)
{
	int fd = open(meta_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	uint64_t gs = 0;
	if (dfs_meta_read_header(fd, &gs) < 0)
		gs = 0;
	close(fd);
	return gs;
}

static int write_file(const char *path, uint64_t genstamp, const uint8_t *data, uint64_t len,
		      bool meta)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return DFS_ERRNO();
	int rc = meta ? dn_meta_write_whole(fd, genstamp, data, len)
		      : len > 0 ? dn_pwrite_full(fd, data, (size_t)len, 0) : 0;
	close(fd);
	return rc;
}

int dn_journal_place(struct dn_store *s, int dir, uint64_t id, uint64_t genstamp,
		     const uint8_t *data, uint64_t len)
{
	char dpath[DN_PATH_MAX], mpath[DN_PATH_MAX];
	dn_store_path(s, dir, DN_RS_FINALIZED, id, 0, dpath, sizeof(dpath));
	dn_store_path(s, dir, DN_RS_FINALIZED, id, 1, mpath, sizeof(mpath));
	int rc = write_file(dpath, genstamp, data, len, false);
	/* the first of 256 blocks of its directory: make it */
	if (rc == -ENOENT && (rc = dn_store_make_parent(s, dir, id)) == 0)
		rc = write_file(dpath, genstamp, data, len, false);
	if (rc == 0)
		rc = write_file(mpath, genstamp, data, len, true);
	if (rc < 0) { /* no half replica under its final name */
		unlink(dpath);
		unlink(mpath);
	}
	return rc;
}

/* Puts a journaled replica back into its files in current/, unless the
 * directory holds a newer genstamp of it; leftover rbw/ files of it (a
 * rename the crash lost) go. Returns 1 if written, 0 if skipped. (The
 * files replay writes are made durable by one syncfs at its end.) */
static int replay_one(struct dn_journal *j, const struct jrec_hdr *h, const uint8_t *data)
{
	struct dn_store *s = j->s;
	char dpath[DN_PATH_MAX], mpath[DN_PATH_MAX];
	dn_store_path(s, j->dir, DN_RS_RBW, h->block_id, 1, mpath, sizeof(mpath));
	if (genstamp_at(mpath) <= h->genstamp) {
		dn_store_path(s, j->dir, DN_RS_RBW, h->block_id, 0, dpath, sizeof(dpath));
		unlink(dpath);
		unlink(mpath);
	}
	dn_store_path(s, j->dir, DN_RS_FINALIZED, h->block_id, 1, mpath, sizeof(mpath));
	if (genstamp_at(mpath) > h->genstamp)
		return 0;
	int rc = dn_journal_place(s, j->dir, h->block_id, h->genstamp, data, h->length);
	return rc < 0 ? rc : 1;
}

/* Reads the record at lpos: 1 and *h / *data (malloc'd) if a valid one is
 * there, 0 at the end of the log. */
static int read_record(struct dn_journal *j, uint64_t lpos, struct jrec_hdr *h, uint8_t **data)
{
	if (ring_io(j, lpos, h, sizeof(*h), false) < 0)
		return 0;
	if (h->magic != JREC_MAGIC || h->lpos != lpos || rec_size(h->length) > j->cap / 2)
		return 0;
	uint8_t *buf = malloc(h->length ? h->length : 1);
	if (buf == NULL || ring_io(j, lpos + sizeof(*h), buf, (size_t)h->length, false) < 0) {
		free(buf);
		return 0;
	}
	uint32_t crc = dfs_crc32c(0, (const uint8_t *)h + 8, sizeof(*h) - 8);
	if (dfs_crc32c(crc, buf, (size_t)h->length) != h->crc) {
		free(buf);
		return 0;
	}
	*data = buf;
	return 1;
}

/* Replays every valid record from the tail; then the ring is empty at the
 * position after the last one. */
static int replay(struct dn_journal *j, uint64_t tail)
{
	uint64_t p = tail, n = 0, written = 0;
	struct jrec_hdr h;
	uint8_t *data;
	int rc = 0;
	while (rc == 0 && read_record(j, p, &h, &data) == 1) {
		rc = replay_one(j, &h, data);
		free(data);
		if (rc < 0) {
			dfs_log_err(DFS_LOG_ERR, rc, "%s: cannot replay blk_%" PRIu64, j->path,
				    h.block_id);
			break;
		}
		written += (uint64_t)rc;
		rc = 0;
		n++;
		p += rec_size(h.length);
	}
	if (rc == 0 && written > 0 && syncfs(j->fd) < 0) /* the files and their names */
		rc = DFS_ERRNO();
	if (rc == 0 && p != tail)
		rc = super_write(j, p);
	if (rc < 0)
		return rc;
	if (n > 0)
		DFS_NOTICE("%s: replayed %" PRIu64 " journaled replicas (%" PRIu64
			   " rewritten, %" PRIu64 " superseded)",
			   j->path, n, written, n - written);
	j->head = j->synced = j->tail = p;
	j->st.replayed = n;
	return 0;
}

/* ---- appends ---- */

void dn_journal_begin(struct dn_journal *j)
{
	pthread_rwlock_rdlock(&j->apply);
}

void dn_journal_end(struct dn_journal *j)
{
	pthread_rwlock_unlock(&j->apply);
}

/* Waits (lock held) until everything up to end is synced, running the
 * fdatasync itself when nobody else does. */
static int sync_upto_locked(struct dn_journal *j, uint64_t end)
{
	while (j->synced < end && j->err == 0) {
		if (j->syncing) {
			pthread_cond_wait(&j->cond, &j->lock);
			continue;
		}
		uint64_t target = j->head;
		j->syncing = 1;
		pthread_mutex_unlock(&j->lock);
		int rc = fdatasync(j->fd) < 0 ? DFS_ERRNO() : 0;
		pthread_mutex_lock(&j->lock);
		j->syncing = 0;
		j->st.syncs++;
		if (rc < 0) {
			dfs_log_err(DFS_LOG_ERR, rc, "%s: fdatasync", j->path);
			j->err = -EIO;
		} else if (target > j->synced) {
			j->synced = target;
		}
		pthread_cond_broadcast(&j->cond);
	}
	return j->synced >= end ? 0 : j->err;
}

int dn_journal_covers(struct dn_journal *j, uint32_t gen)
{
	pthread_mutex_lock(&j->lock);
	int covered = gen <= j->done_gen;
	pthread_mutex_unlock(&j->lock);
	return covered;
}

int dn_journal_write(struct dn_journal *j, uint64_t id, uint64_t genstamp, const void *data,
		     size_t len, uint32_t *gen)
{
	if (len > dn_journal_replica_max(j))
		return -ENOSPC;
	uint64_t size = rec_size(len);
	uint8_t *rec = calloc(1, (size_t)size);
	if (rec == NULL)
		return -ENOMEM;
	struct jrec_hdr h = { .magic = JREC_MAGIC, .block_id = id, .genstamp = genstamp,
			      .length = len };
	memcpy(rec + sizeof(h), data, len);
	pthread_mutex_lock(&j->lock);
	int rc = j->err;
	if (rc == 0 && j->head + size - j->tail > j->cap) {
		j->st.full++;
		j->wanted = 1;
		pthread_cond_broadcast(&j->cond); /* the thread: checkpoint */
		rc = -ENOSPC;
	}
	if (rc == 0) {
		h.lpos = j->head;
		h.crc = dfs_crc32c(dfs_crc32c(0, (const uint8_t *)&h + 8, sizeof(h) - 8), data, len);
		memcpy(rec, &h, sizeof(h));
		rc = ring_io(j, j->head, rec, (size_t)size, true);
		if (rc < 0) {
			dfs_log_err(DFS_LOG_ERR, rc, "%s: write", j->path);
			j->err = rc = -EIO;
		}
	}
	if (rc == 0) {
		if (j->head == j->tail)
			j->oldest_ms = dfs_mono_ms();
		*gen = j->gen;
		j->head += size;
		j->st.records++;
		if (j->head - j->tail > j->cap / 2)
			pthread_cond_broadcast(&j->cond);
		rc = sync_upto_locked(j, j->head);
	}
	pthread_mutex_unlock(&j->lock);
	free(rec);
	return rc;
}

/* ---- checkpoints ---- */


static int checkpoint(struct dn_journal *j)
{
	/* Once the write lock is ours, every record below head has its
	 * replica renamed into place: the syncfs below covers them all. */
	pthread_rwlock_wrlock(&j->apply);
	pthread_mutex_lock(&j->lock);
	uint64_t upto = j->synced;
	uint32_t gen = j->gen++; /* records from now on are the next one's */
	int rc = j->err;
	pthread_mutex_unlock(&j->lock);
	pthread_rwlock_unlock(&j->apply);
	if (rc == 0 && upto == j->tail) { /* nothing new: all checkpointed */
		pthread_mutex_lock(&j->lock);
		j->done_gen = gen;
		pthread_mutex_unlock(&j->lock);
	}
	if (rc < 0 || upto == j->tail)
		return rc;
	if (syncfs(j->fd) < 0)
		rc = DFS_ERRNO();
	if (rc == 0)
		rc = super_write(j, upto);
	pthread_mutex_lock(&j->lock);
	if (rc < 0) {
		dfs_log_err(DFS_LOG_ERR, rc, "%s: checkpoint", j->path);
		j->err = -EIO;
	} else {
		j->tail = upto;
		j->done_gen = gen;
		j->oldest_ms = j->head == j->tail ? 0 : dfs_mono_ms();
		j->st.checkpoints++;
	}
	pthread_mutex_unlock(&j->lock);
	return rc;
}

int dn_journal_checkpoint(struct dn_journal *j)
{
	pthread_mutex_lock(&j->ckpt);
	int rc = checkpoint(j);
	pthread_mutex_unlock(&j->ckpt);
	return rc;
}

static bool checkpoint_due_locked(const struct dn_journal *j)
{
	if (j->err != 0 || j->synced == j->tail)
		return false;
	return j->head - j->tail > j->cap / 2 || j->wanted ||
	       dfs_mono_ms() - j->oldest_ms >= JNL_CHECKPOINT_AGE_MS;
}

static void *checkpoint_main(void *arg)
{
	struct dn_journal *j = arg;
	pthread_mutex_lock(&j->lock);
	while (!j->stop) {
		if (!checkpoint_due_locked(j)) {
			struct timespec until;
			dfs_cond_deadline(&until, JNL_IDLE_WAIT_MS);
			pthread_cond_timedwait(&j->cond, &j->lock, &until);
			continue;
		}
		pthread_mutex_unlock(&j->lock);
		dn_journal_checkpoint(j);
		pthread_mutex_lock(&j->lock);
		j->wanted = 0;
	}
	pthread_mutex_unlock(&j->lock);
	return NULL;
}

/* ---- open / close ---- */

static void free_journal(struct dn_journal *j)
{
	if (j->fd >= 0)
		close(j->fd);
	pthread_mutex_destroy(&j->lock);
	pthread_mutex_destroy(&j->ckpt);
	pthread_cond_destroy(&j->cond);
	pthread_rwlock_destroy(&j->apply);
	free(j);
}

/* Opens an existing journal and replays it: 0, or 1 if there is none (or
 * not a valid one) and a new one must be made. */
static int open_existing(struct dn_journal *j, uint64_t want_cap)
{
	int fd = open(j->path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 1 : DFS_ERRNO();
	struct jnl_super sb;
	struct stat st;
	int rc = super_read(fd, &sb);
	if (rc == 0 && (fstat(fd, &st) < 0 || (uint64_t)st.st_size < JNL_BASE + sb.cap))
		rc = -EINVAL;
	if (rc < 0) {
		close(fd);
		DFS_WARN("%s: not a valid journal (%s): making a new one", j->path,
			 dfs_strerror(rc));
		return 1;
	}
	j->fd = fd;
	j->cap = sb.cap;
	rc = replay(j, sb.tail);
	if (rc < 0)
		return rc;
	if (j->cap == want_cap)
		return 0;
	DFS_NOTICE("%s: resizing from %" PRIu64 " to %" PRIu64 " bytes", j->path, j->cap,
		   want_cap);
	close(j->fd);
	j->fd = -1;
	j->cap = want_cap;
	return 1;
}

/* A journal of data dir `dir`, nothing opened yet; NULL without memory. */
static struct dn_journal *new_journal(struct dn_store *s, int dir)
{
	struct dn_journal *j = calloc(1, sizeof(*j));
	if (j == NULL)
		return NULL;
	j->s = s;
	j->dir = dir;
	j->fd = -1;
	j->gen = 1;
	snprintf(j->path, sizeof(j->path), "%s/journal", s->dirs[dir]);
	pthread_mutex_init(&j->lock, NULL);
	pthread_mutex_init(&j->ckpt, NULL);
	pthread_cond_init(&j->cond, NULL);
	pthread_rwlockattr_t ra;
	pthread_rwlockattr_init(&ra);
	/* a checkpoint must not wait behind an endless stream of appends */
	pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&j->apply, &ra);
	pthread_rwlockattr_destroy(&ra);
	return j;
}

int dn_journal_open(struct dn_store *s, int dir, uint64_t cap_bytes, struct dn_journal **out)
{
	struct dn_journal *j = new_journal(s, dir);
	if (j == NULL)
		return -ENOMEM;
	j->cap = cap_bytes < DN_JOURNAL_MIN_BYTES ? DN_JOURNAL_MIN_BYTES : cap_bytes & ~4095ull;
	uint64_t want = j->cap;
	int rc = open_existing(j, want);
	if (rc == 1) {
		j->cap = want;
		j->head = j->synced = j->tail = 0;
		rc = make_file(j);
	}
	if (rc == 0) {
		rc = -pthread_create(&j->thread, NULL, checkpoint_main, j);
		j->thread_started = rc == 0;
	}
	if (rc < 0) {
		dfs_log_err(DFS_LOG_ERR, rc, "%s", j->path);
		free_journal(j);
		return rc;
	}
	*out = j;
	return 0;
}

int dn_journal_remove(struct dn_store *s, int dir)
{
	struct dn_journal *j = new_journal(s, dir);
	if (j == NULL)
		return -ENOMEM;
	int rc = open_existing(j, 0);
	if (rc == 1 && j->fd < 0 && access(j->path, F_OK) < 0)
		rc = 0; /* there was none */
	else if (rc >= 0 && unlink(j->path) == 0)
		rc = dn_fsync_dir(s->dirs[dir]);
	free_journal(j);
	return rc < 0 ? rc : 0;
}

void dn_journal_close(struct dn_journal *j)
{
	if (j == NULL)
		return;
	if (j->thread_started) {
		pthread_mutex_lock(&j->lock);
		j->stop = 1;
		pthread_cond_broadcast(&j->cond);
		pthread_mutex_unlock(&j->lock);
		pthread_join(j->thread, NULL);
	}
	dn_journal_checkpoint(j);
	free_journal(j);
}

void dn_journal_get_stats(struct dn_journal *j, struct dn_journal_stats *out)
{
	pthread_mutex_lock(&j->lock);
	*out = j->st;
	out->used_bytes = j->head - j->tail;
	pthread_mutex_unlock(&j->lock);
}
