/*
 * libdfs/local_read.c - short-circuit reads: a block whose replica sits on
 * a datanode of this machine is read straight from the replica's files.
 *
 * Owns: the client's table of open replicas (data and meta descriptors
 * handed over by the datanode's LOCAL_OPEN, common/local_sock.h) and of
 * datanodes found to have no local socket. A read checks every chunk
 * against the stored CRC32C itself, as a data connection's reader does;
 * any failure (no local replica, a short file, a checksum mismatch) makes
 * the caller read over the network instead, where a bad replica is found
 * again, reported and healed as usual. A replica's files are immutable for
 * its genstamp, so descriptors stay good until the entry is dropped: it is
 * closed after DFSC_LOCAL_IDLE_MS unused, or when the table is full.
 */
#include "libdfs/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/crc32c.h"
#include "common/local_sock.h"
#include "common/log.h"
#include "common/replica_meta.h"

#define DFSC_LOCAL_FILES_MAX 32
#define DFSC_LOCAL_IDLE_MS 10000   /* an unused replica is closed after */
#define DFSC_LOCAL_MISS_MAX 16
#define DFSC_LOCAL_MISS_MS 10000   /* a datanode with no local socket: not asked for */
#define DFSC_LOCAL_TIMEOUT_MS 2000 /* LOCAL_OPEN round trip */
#define DFSC_LOCAL_NONE_MS 1000    /* a replica no local datanode had: not asked for */
#define DFSC_LOCAL_CRCS_MAX 256    /* checksums read per pread of the meta file */
#define DFSC_LOCAL_AHEAD_BYTES (8u << 20) /* a sequential reader's read-ahead */

struct dfsc_local_file {
	uint64_t block_id, genstamp, length;
	int data_fd, meta_fd; /* -1: no datanode here has it (for DFSC_LOCAL_NONE_MS) */
	uint64_t ahead; /* read-ahead asked for up to here (under the client's mu) */
	int refs;       /* reads in progress */
	bool dropped;   /* out of the table: the last read closes it */
	int64_t used_ms;
};

struct dfsc_local_miss {
	char host[DFS_HOST_MAX];
	uint16_t port;
	int64_t until_ms;
};

struct dfsc_local {
	pthread_mutex_t mu;
	struct dfsc_local_file *files[DFSC_LOCAL_FILES_MAX];
	int n_files;
	struct dfsc_local_miss miss[DFSC_LOCAL_MISS_MAX];
	int n_miss;
};

int dfsc_local_init(dfs_client *c)
{
	if (!c->set.local_reads)
		return 0;
	struct dfsc_local *l = calloc(1, sizeof(*l));
	if (l == NULL)
		return -ENOMEM;
	int rc = -pthread_mutex_init(&l->mu, NULL);
	if (rc < 0) {
		free(l);
		return rc;
	}
	c->local = l;
	return 0;
}

static void file_close(struct dfsc_local_file *f)
{
	if (f->data_fd >= 0) {
		close(f->data_fd);
		close(f->meta_fd);
	}
	free(f);
}

void dfsc_local_destroy(dfs_client *c)
{
	struct dfsc_local *l = c->local;
	if (l == NULL)
		return;
	for (int i = 0; i < l->n_files; i++)
		file_close(l->files[i]); /* no read runs once the client goes */
	pthread_mutex_destroy(&l->mu);
	free(l);
	c->local = NULL;
}

/* Under l->mu. Drops entry i: closed now, or by its last reader. */
static void drop_locked(struct dfsc_local *l, int i)
{
	struct dfsc_local_file *f = l->files[i];
	l->files[i] = l->files[--l->n_files];
	if (f->refs == 0)
		file_close(f);
	else
		f->dropped = true;
}

static bool missed_locked(struct dfsc_local *l, const struct dfsc_loc *loc, int64_t now)
{
	for (int i = 0; i < l->n_miss; i++)
		if (l->miss[i].port == loc->port && strcmp(l->miss[i].host, loc->host) == 0)
			return now < l->miss[i].until_ms;
	return false;
}

static void note_miss(struct dfsc_local *l, const struct dfsc_loc *loc)
{
	int64_t now = dfsc_now_ms();
	pthread_mutex_lock(&l->mu);
	int k = 0;
	while (k < l->n_miss &&
	       !(l->miss[k].port == loc->port && strcmp(l->miss[k].host, loc->host) == 0))
		k++;
	if (k == l->n_miss) {
		if (l->n_miss < DFSC_LOCAL_MISS_MAX)
			l->n_miss++;
		else
			k = 0; /* full: forget the first */
	}
	snprintf(l->miss[k].host, sizeof(l->miss[k].host), "%s", loc->host);
	l->miss[k].port = loc->port;
	l->miss[k].until_ms = now + DFSC_LOCAL_MISS_MS;
	pthread_mutex_unlock(&l->mu);
}

/* The meta file's header must be ours and name this genstamp. */
static int check_meta_header(int fd, uint64_t genstamp)
{
	uint64_t gs;
	int rc = dfs_meta_read_header(fd, &gs);
	return rc < 0 ? rc : gs == genstamp ? 0 : -DFS_ESTALE;
}

/* LOCAL_OPEN on one datanode: 0 with *out filled, or a negative errno;
 * *no_socket tells that the datanode has no local socket here at all (as
 * opposed to not having this replica). */
static int local_open(dfs_client *c, const struct dfsc_lblock *b, const struct dfsc_loc *loc,
		      struct dfsc_local_file *out, bool *no_socket)
{
	int fd = dfs_local_sock_connect(loc->host, loc->port);
	*no_socket = fd < 0;
	if (fd < 0)
		return fd;
	dfs_net_set_timeouts(fd, DFSC_LOCAL_TIMEOUT_MS);
	Dfs__BlockRef ref = DFS__BLOCK_REF__INIT;
	ref.block_id = b->block_id;
	ref.genstamp = b->genstamp;
	ref.length = b->length;
	Dfs__LocalOpenRequest req = DFS__LOCAL_OPEN_REQUEST__INIT;
	req.block = &ref;
	struct dfs_frame f = {0};
	int fds[2], n_fds = 0;
	int rc = dfs_local_sock_send(fd, DFS_M_LOCAL_OPEN, 0, &req.base, NULL, 0);
	if (rc == 0)
		rc = dfs_local_sock_recv(fd, &f, fds, 2, &n_fds);
	close(fd);
	Dfs__LocalOpenReply *r = NULL;
	if (rc == 0 && (f.h.method != DFS_M_LOCAL_OPEN ||
			(r = (Dfs__LocalOpenReply *)dfs_frame_unpack(
				 &f, &dfs__local_open_reply__descriptor)) == NULL))
		rc = -DFS_EPROTOCOL;
	if (rc == 0 && r->status < 0)
		rc = r->status;
	if (rc == 0 && (n_fds != 2 || !r->has_replica_length))
		rc = -DFS_EPROTOCOL;
	if (rc == 0)
		rc = check_meta_header(fds[1], b->genstamp);
	if (rc == 0) {
		*out = (struct dfsc_local_file){ .block_id = b->block_id, .genstamp = b->genstamp,
						 .length = r->replica_length, .data_fd = fds[0],
						 .meta_fd = fds[1] };
		n_fds = 0;
	}
	for (int i = 0; i < n_fds; i++)
		close(fds[i]);
	if (r != NULL)
		dfs__local_open_reply__free_unpacked(r, NULL);
	dfs_frame_release(&f);
	return rc;
}

/* Under l->mu: adds f, dropping the least recently used entry if full. */
static void add_locked(struct dfsc_local *l, struct dfsc_local_file *f)
{
	if (l->n_files == DFSC_LOCAL_FILES_MAX) {
		int oldest = 0;
		for (int i = 1; i < l->n_files; i++)
			if (l->files[i]->used_ms < l->files[oldest]->used_ms)
				oldest = i;
		drop_locked(l, oldest);
	}
	l->files[l->n_files++] = f;
}

/* The open replica of b, held (refs + 1) for one read; NULL if no datanode
 * of this machine has it (a replica being written, a remote one). */
static struct dfsc_local_file *acquire(dfs_client *c, const struct dfsc_lblock *b)
{
	struct dfsc_local *l = c->local;
	int64_t now = dfsc_now_ms();
	pthread_mutex_lock(&l->mu);
	for (int i = 0; i < l->n_files; i++) {
		struct dfsc_local_file *f = l->files[i];
		if (f->block_id == b->block_id && f->genstamp == b->genstamp &&
		    (f->data_fd >= 0 || now - f->used_ms <= DFSC_LOCAL_NONE_MS)) {
			if (f->data_fd < 0) {
				pthread_mutex_unlock(&l->mu);
				return NULL;
			}
			f->refs++;
			f->used_ms = now;
			pthread_mutex_unlock(&l->mu);
			return f;
		}
	}
	for (int i = l->n_files - 1; i >= 0; i--) {
		struct dfsc_local_file *f = l->files[i];
		if (now - f->used_ms > (f->data_fd >= 0 ? DFSC_LOCAL_IDLE_MS : DFSC_LOCAL_NONE_MS))
			drop_locked(l, i);
	}
	bool try[DFSC_LOCATIONS_MAX];
	int n_try = 0;
	for (int k = 0; k < b->n_locs; k++)
		n_try += try[k] = !missed_locked(l, &b->locs[k], now);
	pthread_mutex_unlock(&l->mu);
	if (n_try == 0)
		return NULL;
	struct dfsc_local_file got;
	int k;
	for (k = 0; k < b->n_locs; k++) {
		if (!try[k])
			continue;
		bool no_socket;
		if (local_open(c, b, &b->locs[k], &got, &no_socket) == 0)
			break;
		if (no_socket)
			note_miss(l, &b->locs[k]);
	}
	bool none = k == b->n_locs;
	struct dfsc_local_file *f = malloc(sizeof(*f));
	if (f == NULL) {
		if (!none) {
			close(got.data_fd);
			close(got.meta_fd);
		}
		return NULL;
	}
	if (none)
		got = (struct dfsc_local_file){ .block_id = b->block_id, .genstamp = b->genstamp,
						.data_fd = -1, .meta_fd = -1 };
	*f = got;
	f->refs = none ? 0 : 1;
	f->used_ms = now;
	pthread_mutex_lock(&l->mu);
	add_locked(l, f);
	pthread_mutex_unlock(&l->mu);
	return none ? NULL : f;
}

static void release(dfs_client *c, struct dfsc_local_file *f, bool bad)
{
	struct dfsc_local *l = c->local;
	pthread_mutex_lock(&l->mu);
	if (bad && !f->dropped)
		for (int i = 0; i < l->n_files; i++)
			if (l->files[i] == f) {
				drop_locked(l, i); /* refs > 0: only marks it */
				break;
			}
	bool last = --f->refs == 0 && f->dropped;
	pthread_mutex_unlock(&l->mu);
	if (last)
		file_close(f);
}

/* Checks the chunks of buf (block bytes [off, off + len), off chunk-aligned)
 * against the stored CRCs. */
static int verify(const struct dfsc_local_file *f, const uint8_t *buf, uint64_t off, size_t len)
{
	uint32_t stored[DFSC_LOCAL_CRCS_MAX];
	uint64_t chunk = off / DFS_CHUNK_SIZE;
	size_t done = 0;
	while (done < len) {
		size_t n = (len - done + DFS_CHUNK_SIZE - 1) / DFS_CHUNK_SIZE;
		if (n > DFSC_LOCAL_CRCS_MAX)
			n = DFSC_LOCAL_CRCS_MAX;
		int rc = dfs_meta_read_crcs(f->meta_fd, chunk, stored, n);
		if (rc < 0)
			return rc;
		for (size_t i = 0; i < n; i++) {
			size_t piece = len - done < DFS_CHUNK_SIZE ? len - done : DFS_CHUNK_SIZE;
			if (dfs_crc32c(0, buf + done, piece) != stored[i])
				return -DFS_ECHECKSUM;
			done += piece;
		}
		chunk += n;
	}
	return 0;
}

/* A sequential reader: asks the kernel to bring the next
 * DFSC_LOCAL_AHEAD_BYTES of the replica into the page cache in the
 * background (as the datanode does for a stream), a half at a time. */
static void read_ahead(dfs_client *c, struct dfsc_local_file *f, uint64_t end)
{
	uint64_t want = end + DFSC_LOCAL_AHEAD_BYTES;
	if (want > f->length)
		want = f->length;
	pthread_mutex_lock(&c->local->mu);
	uint64_t from = f->ahead > end ? f->ahead : end;
	bool go = want > from && (want >= f->length || want - from >= DFSC_LOCAL_AHEAD_BYTES / 2);
	if (go)
		f->ahead = want;
	pthread_mutex_unlock(&c->local->mu);
	if (go)
		(void)posix_fadvise(f->data_fd, (off_t)from, (off_t)(want - from),
				    POSIX_FADV_WILLNEED);
}

int dfsc_local_read(dfs_client *c, const struct dfsc_lblock *b, uint64_t boff, uint64_t end,
		    uint8_t *dst, bool sequential)
{
	if (c->local == NULL || end <= boff)
		return -EAGAIN;
	struct dfsc_local_file *f = acquire(c, b);
	if (f == NULL)
		return -EAGAIN;
	int rc = 0;
	if (end > f->length) {
		rc = -EIO; /* the replica is shorter than the namenode says */
		goto out;
	}
	if (sequential)
		read_ahead(c, f, end);
	/* Whole chunks around [boff, end): straight into dst when aligned. */
	uint64_t lo = boff - boff % DFS_CHUNK_SIZE;
	uint64_t hi = end % DFS_CHUNK_SIZE == 0 || end == f->length
		? end : end - end % DFS_CHUNK_SIZE + DFS_CHUNK_SIZE;
	if (hi > f->length)
		hi = f->length;
	uint8_t *buf = dst;
	if (lo != boff || hi != end) {
		buf = malloc((size_t)(hi - lo));
		if (buf == NULL) {
			rc = -ENOMEM;
			goto out;
		}
	}
	rc = dfs_pread_full(f->data_fd, buf, (size_t)(hi - lo), lo);
	if (rc == 0)
		rc = verify(f, buf, lo, (size_t)(hi - lo));
	if (rc == 0 && buf != dst)
		memcpy(dst, buf + (boff - lo), (size_t)(end - boff));
	if (buf != dst)
		free(buf);
out:
	if (rc < 0)
		dfsc_log(c, rc == -DFS_ECHECKSUM ? DFS_LOG_WARN : DFS_LOG_DEBUG,
			 "block %llu: local read: %s; reading over the network",
			 (unsigned long long)b->block_id, dfs_strerror(rc));
	release(c, f, rc < 0);
	return rc;
}
