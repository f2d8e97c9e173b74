/* blockscan.c: scans a data directory into the replica map (see
 * blockscan.h).
 *
 * Leftover rbw/ replicas (a create stream cut by a crash or restart) are
 * RECOVERED, not dropped: each is cut to the longest prefix whose chunks
 * match their stored checksums (the durable, verifiable length), fsynced
 * and finalized into current/ with the genstamp of its meta header. The
 * full block report then tells the namenode its genstamp and length, and
 * the namenode decides (keep it, or delete it as stale / too short). A
 * replica whose meta header is unreadable is dropped.
 *
 * Replicas in the directories of layout 1 (leaf named after the block
 * id's low byte) are first moved where dn_store_path puts them now. */
#include "datanode/blockscan.h"
#include "datanode/blockmeta.h"
#include "common/crc32c.h"
#include "common/errors.h"
#include "common/log.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SCAN_VERIFY_BUF (1u << 20)

/* Parses "blk_<id>" (no suffix) into *id. */
static int parse_name(const char *name, uint64_t *id)
{
	if (strncmp(name, "blk_", 4) != 0 || name[4] < '0' || name[4] > '9')
		return 0;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(name + 4, &end, 10);
	if (errno != 0 || *end != '\0')
		return 0;
	*id = v;
	return 1;
}

/* Adds r to the map; of two replicas of one id the newer genstamp wins
 * and the other's files are removed. Takes ownership of r. */
static void add_replica(struct dn_store *s, struct dn_replica *r)
{
	char p[DN_PATH_MAX];
	struct dn_replica *old = dn_store_find_locked(s, r->id);
	if (old != NULL) {
		struct dn_replica *loser = old->genstamp >= r->genstamp ? r : old;
		DFS_WARN("blk_%" PRIu64 " in %s and %s: dropping genstamp %" PRIu64, r->id,
			 s->dirs[old->dir], s->dirs[r->dir], loser->genstamp);
		for (int m = 0; m < 2; m++) {
			dn_store_path(s, loser->dir, DN_RS_FINALIZED, loser->id, m, p, sizeof(p));
			unlink(p);
		}
		if (loser == r) {
			free(r);
			return;
		}
		dn_store_remove_locked(s, old);
		free(old);
	}
	if (dn_store_insert_locked(s, r) < 0)
		free(r);
}

/* Reads one finalized replica's sizes and genstamp. */
static int load_replica(struct dn_store *s, int dir, uint64_t id)
{
	char data[DN_PATH_MAX], meta[DN_PATH_MAX];
	dn_store_path(s, dir, DN_RS_FINALIZED, id, 0, data, sizeof(data));
	dn_store_path(s, dir, DN_RS_FINALIZED, id, 1, meta, sizeof(meta));
	struct stat ds, ms;
	uint64_t gs = 0;
	int fd = open(meta, O_RDONLY | O_CLOEXEC);
	int rc = fd < 0 ? DFS_ERRNO() : dfs_meta_read_header(fd, &gs);
	if (rc == 0 && (fstat(fd, &ms) < 0 || stat(data, &ds) < 0))
		rc = DFS_ERRNO();
	if (fd >= 0)
		close(fd);
	if (rc == 0 && (uint64_t)ms.st_size < dn_meta_crc_offset(dn_meta_chunks((uint64_t)ds.st_size)))
		rc = -EIO;
	if (rc < 0) {
		dfs_log_err(DFS_LOG_WARN, rc, "skipping damaged replica %s", data);
		return 0;
	}
	struct dn_replica *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return -ENOMEM;
	r->id = id;
	r->genstamp = gs;
	r->length = (uint64_t)ds.st_size;
	r->dir = (uint16_t)dir;
	r->state = DN_RS_FINALIZED;
	add_replica(s, r);
	return 0;
}

uint64_t dn_scan_verified_length(int data_fd, int meta_fd, uint64_t length)
{
	uint8_t *buf = malloc(SCAN_VERIFY_BUF);
	uint32_t crcs[SCAN_VERIFY_BUF / DFS_CHUNK_SIZE];
	uint64_t off = 0;
	if (buf == NULL)
		return 0;
	while (off < length) {
		size_t n = length - off < SCAN_VERIFY_BUF ? (size_t)(length - off) : SCAN_VERIFY_BUF;
		size_t k = (size_t)dn_meta_chunks(n);
		if (dfs_pread_full(data_fd, buf, n, off) < 0 ||
		    dfs_meta_read_crcs(meta_fd, off / DFS_CHUNK_SIZE, crcs, k) < 0)
			break;
		size_t i = 0;
		for (; i < k; i++) {
			size_t len = i + 1 < k ? DFS_CHUNK_SIZE : n - i * DFS_CHUNK_SIZE;
			if (dfs_crc32c(0, buf + i * DFS_CHUNK_SIZE, len) != crcs[i])
				break;
		}
		if (i < k) {
			off += (uint64_t)i * DFS_CHUNK_SIZE;
			break;
		}
		off += n;
	}
	free(buf);
	return off < length ? off : length;
}

/* Cuts an rbw replica to its verified length and moves it into current/.
 * Returns the recovered length, or a negative errno (files dropped). */
static int64_t recover_files(struct dn_store *s, int dir, uint64_t id, uint64_t *gs)
{
	char data[DN_PATH_MAX], meta[DN_PATH_MAX], to[DN_PATH_MAX];
	dn_store_path(s, dir, DN_RS_RBW, id, 0, data, sizeof(data));
	dn_store_path(s, dir, DN_RS_RBW, id, 1, meta, sizeof(meta));
	int dfd = open(data, O_RDWR | O_CLOEXEC), mfd = open(meta, O_RDWR | O_CLOEXEC);
	struct stat ds, ms;
	int64_t rc = (dfd < 0 || mfd < 0) ? DFS_ERRNO() : dfs_meta_read_header(mfd, gs);
	if (rc == 0 && (fstat(dfd, &ds) < 0 || fstat(mfd, &ms) < 0))
		rc = DFS_ERRNO();
	uint64_t len = 0;
	if (rc == 0) {
		uint64_t covered = ((uint64_t)ms.st_size - DN_META_HEADER_SIZE) / 4 * DFS_CHUNK_SIZE;
		len = (uint64_t)ds.st_size < covered ? (uint64_t)ds.st_size : covered;
		len = dn_scan_verified_length(dfd, mfd, len);
		if (ftruncate(dfd, (off_t)len) < 0 ||
		    ftruncate(mfd, (off_t)dn_meta_crc_offset(dn_meta_chunks(len))) < 0 ||
		    fsync(dfd) < 0 || fsync(mfd) < 0)
			rc = DFS_ERRNO();
	}
	if (rc == 0)
		rc = dn_store_make_parent(s, dir, id);
	if (rc == 0) {
		dn_store_path(s, dir, DN_RS_FINALIZED, id, 1, to, sizeof(to));
		if (rename(meta, to) < 0)
			rc = DFS_ERRNO();
		dn_store_path(s, dir, DN_RS_FINALIZED, id, 0, to, sizeof(to));
		if (rc == 0 && rename(data, to) < 0)
			rc = DFS_ERRNO();
	}
	if (dfd >= 0)
		close(dfd);
	if (mfd >= 0)
		close(mfd);
	if (rc < 0) {
		dfs_log_err(DFS_LOG_WARN, (int)rc, "dropping unrecoverable rbw replica %s", data);
		unlink(data);
		unlink(meta);
		return rc;
	}
	return (int64_t)len;
}

static int recover_rbw(struct dn_store *s, int dir, uint64_t id)
{
	uint64_t gs = 0;
	struct dn_replica *old = dn_store_find_locked(s, id);
	char data[DN_PATH_MAX];
	int64_t len = recover_files(s, dir, id, &gs);
	if (len < 0)
		return 0;
	dn_store_path(s, dir, DN_RS_FINALIZED, id, 0, data, sizeof(data));
	DFS_NOTICE("recovered rbw replica blk_%" PRIu64 " genstamp %" PRIu64 " length %" PRId64,
		   id, gs, len);
	if (old != NULL && old->dir == dir) {
		/* the rename replaced the finalized files of an older version */
		dn_store_remove_locked(s, old);
		free(old);
	}
	return load_replica(s, dir, id);
}

static int scan_leaf(struct dn_store *s, int dir, const char *path, int rbw)
{
	DIR *d = opendir(path);
	if (d == NULL)
		return errno == ENOENT ? 0 : DFS_ERRNO();
	int rc = 0;
	struct dirent *e;
	while (rc == 0 && (e = readdir(d)) != NULL) {
		uint64_t id;
		if (!parse_name(e->d_name, &id))
			continue;
		rc = rbw ? recover_rbw(s, dir, id) : load_replica(s, dir, id);
	}
	closedir(d);
	return rc;
}

static int is_hex2(const char *n)
{
	return strlen(n) == 2 && strspn(n, "0123456789abcdef") == 2;
}

/* Calls fn for each leaf directory current/<hex2>/<hex2> of s->dirs[dir]
 * until it returns non-zero (returned). */
static int each_leaf(struct dn_store *s, int dir,
		     int (*fn)(struct dn_store *s, int dir, const char *mid, const char *leaf,
			       void *arg),
		     void *arg)
{
	char p[DN_PATH_MAX];
	snprintf(p, sizeof(p), "%s/current", s->dirs[dir]);
	DIR *top = opendir(p);
	if (top == NULL)
		return DFS_ERRNO();
	int rc = 0;
	struct dirent *a;
	while (rc == 0 && (a = readdir(top)) != NULL) {
		if (!is_hex2(a->d_name))
			continue;
		snprintf(p, sizeof(p), "%s/current/%s", s->dirs[dir], a->d_name);
		DIR *mid = opendir(p);
		if (mid == NULL)
			continue;
		struct dirent *b;
		while (rc == 0 && (b = readdir(mid)) != NULL)
			if (is_hex2(b->d_name))
				rc = fn(s, dir, a->d_name, b->d_name, arg);
		closedir(mid);
	}
	closedir(top);
	return rc;
}

static int load_leaf(struct dn_store *s, int dir, const char *mid, const char *leaf, void *arg)
{
	(void)arg;
	char p[DN_PATH_MAX];
	snprintf(p, sizeof(p), "%s/current/%s/%s", s->dirs[dir], mid, leaf);
	return scan_leaf(s, dir, p, 0);
}

/* ---- layout 1 -> 2 (see dn_store_leaf) ---- */

#define LAYOUT_MARKER "layout-2" /* in current/: every replica is in place */

struct misplaced {
	uint64_t id;
	char mid[3], leaf[3];
};

struct misplaced_list {
	struct misplaced *v;
	size_t n, cap;
};

static int find_misplaced(struct dn_store *s, int dir, const char *mid, const char *leaf,
			  void *arg)
{
	struct misplaced_list *l = arg;
	char p[DN_PATH_MAX];
	snprintf(p, sizeof(p), "%s/current/%s/%s", s->dirs[dir], mid, leaf);
	DIR *d = opendir(p);
	if (d == NULL)
		return 0;
	unsigned want_mid = (unsigned)strtoul(mid, NULL, 16);
	unsigned want_leaf = (unsigned)strtoul(leaf, NULL, 16);
	struct dirent *e;
	int rc = 0;
	while (rc == 0 && (e = readdir(d)) != NULL) {
		uint64_t id;
		unsigned a, b;
		if (!parse_name(e->d_name, &id))
			continue;
		dn_store_leaf(id, &a, &b);
		if (a == want_mid && b == want_leaf)
			continue;
		if (l->n == l->cap) {
			size_t cap = l->cap ? 2 * l->cap : 256;
			struct misplaced *v = realloc(l->v, cap * sizeof(*v));
			if (v == NULL) {
				rc = -ENOMEM;
				break;
			}
			l->v = v;
			l->cap = cap;
		}
		struct misplaced *m = &l->v[l->n++];
		m->id = id;
		snprintf(m->mid, sizeof(m->mid), "%s", mid);
		snprintf(m->leaf, sizeof(m->leaf), "%s", leaf);
	}
	closedir(d);
	return rc;
}

/* Moves one replica where dn_store_path says, meta file first: the scan
 * finds a replica by its data file, so after a crash between the two
 * renames the next start moves the rest. */
static int relocate(struct dn_store *s, int dir, const struct misplaced *m)
{
	char old[DN_PATH_MAX], from[DN_PATH_MAX], to[DN_PATH_MAX];
	snprintf(old, sizeof(old), "%s/current/%s/%s", s->dirs[dir], m->mid, m->leaf);
	int rc = dn_store_make_parent(s, dir, m->id);
	for (int meta = 1; meta >= 0 && rc == 0; meta--) {
		snprintf(from, sizeof(from), "%s/current/%s/%s/blk_%" PRIu64 "%s", s->dirs[dir],
			 m->mid, m->leaf, m->id, meta ? ".meta" : "");
		dn_store_path(s, dir, DN_RS_FINALIZED, m->id, meta, to, sizeof(to));
		if (rename(from, to) < 0 && errno != ENOENT)
			rc = DFS_ERRNO();
	}
	if (rc == 0) {
		*strrchr(to, '/') = '\0';
		rc = dn_fsync_dir(to);
	}
	if (rc == 0)
		rc = dn_fsync_dir(old);
	return rc;
}

/* Layout 1 named the leaf directory after a block id's low byte, so each
 * new block of a young cluster made a directory (an inode, and a
 * directory fsync) of its own. Moves such replicas once; the marker says
 * it is done. */
static int relocate_layout1(struct dn_store *s, int dir)
{
	char marker[DN_PATH_MAX], cur[DN_PATH_MAX];
	snprintf(cur, sizeof(cur), "%s/current", s->dirs[dir]);
	snprintf(marker, sizeof(marker), "%s/current/" LAYOUT_MARKER, s->dirs[dir]);
	if (access(marker, F_OK) == 0)
		return 0;
	struct misplaced_list l = {0};
	int rc = each_leaf(s, dir, find_misplaced, &l);
	for (size_t i = 0; i < l.n && rc == 0; i++)
		rc = relocate(s, dir, &l.v[i]);
	if (rc == 0 && l.n > 0)
		DFS_NOTICE("%s: moved %zu replicas to directories of 256 consecutive blocks",
			   s->dirs[dir], l.n);
	free(l.v);
	if (rc == 0) {
		int fd = open(marker, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || write(fd, "2\n", 2) != 2 || fsync(fd) < 0)
			rc = DFS_ERRNO();
		if (fd >= 0)
			close(fd);
	}
	if (rc == 0)
		rc = dn_fsync_dir(cur);
	if (rc < 0)
		dfs_log_err(DFS_LOG_ERR, rc, "%s: cannot move replicas to layout 2", s->dirs[dir]);
	return rc;
}

int dn_scan_dir(struct dn_store *s, int dir)
{
	char p[DN_PATH_MAX];
	int rc = relocate_layout1(s, dir);
	if (rc == 0)
		rc = each_leaf(s, dir, load_leaf, NULL);
	snprintf(p, sizeof(p), "%s/rbw", s->dirs[dir]);
	if (rc == 0)
		rc = scan_leaf(s, dir, p, 1);
	return rc;
}
