/* blockstore.c: data directories, VERSION files, the in-memory replica map
 * and the lookups / deletes on it (see blockstore.h). Scanning at start
 * lives in blockscan.c, writing in replica_write.c. */
#include "datanode/blockstore.h"
#include "datanode/blockmeta.h"
#include "datanode/blockscan.h"
#include "datanode/journal.h"
#include "common/errors.h"
#include "common/clock.h"
#include "common/log.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define STORE_BUCKETS_MIN 1024
#define VERSION_FILE_MAX 4096

static size_t bucket_of(const struct dn_store *s, uint64_t id)
{
	uint64_t h = id * 0x9E3779B97F4A7C15ull;
	return (size_t)(h >> 32) & (s->n_buckets - 1);
}

struct dn_replica *dn_store_find_locked(struct dn_store *s, uint64_t id)
{
	for (struct dn_replica *r = s->buckets[bucket_of(s, id)]; r != NULL; r = r->next)
		if (r->id == id)
			return r;
	return NULL;
}

static int grow(struct dn_store *s)
{
	size_t n = s->n_buckets * 2;
	struct dn_replica **b = calloc(n, sizeof(*b));
	if (b == NULL)
		return -ENOMEM;
	struct dn_replica **old = s->buckets;
	size_t old_n = s->n_buckets;
	s->buckets = b;
	s->n_buckets = n;
	for (size_t i = 0; i < old_n; i++) {
		struct dn_replica *r = old[i];
		while (r != NULL) {
			struct dn_replica *next = r->next;
			size_t k = bucket_of(s, r->id);
			r->next = b[k];
			b[k] = r;
			r = next;
		}
	}
	free(old);
	return 0;
}

int dn_store_insert_locked(struct dn_store *s, struct dn_replica *r)
{
	if (s->n_replicas + 1 > s->n_buckets && grow(s) < 0)
		return -ENOMEM;
	size_t k = bucket_of(s, r->id);
	r->next = s->buckets[k];
	s->buckets[k] = r;
	s->n_replicas++;
	s->bytes_used += r->length;
	return 0;
}

void dn_store_remove_locked(struct dn_store *s, struct dn_replica *r)
{
	struct dn_replica **pp = &s->buckets[bucket_of(s, r->id)];
	while (*pp != NULL && *pp != r)
		pp = &(*pp)->next;
	if (*pp == r) {
		*pp = r->next;
		s->n_replicas--;
		s->bytes_used -= r->length;
	}
}

static void info_of(const struct dn_replica *r, struct dn_replica_info *out)
{
	out->id = r->id;
	out->genstamp = r->genstamp;
	out->length = r->length;
	out->dir = r->dir;
	out->state = r->state;
	out->writing = r->writing;
	out->corrupt = r->corrupt;
}

/* current/<(id >> 16) & 0xff>/<(id >> 8) & 0xff>/: 256 consecutive block
 * ids share a leaf directory (layout 2). Layout 1 named the leaf after the
 * low byte, so each new block of a young cluster made a directory of its
 * own; dn_scan_dir moves such replicas (blockscan.c). */
void dn_store_leaf(uint64_t id, unsigned *mid, unsigned *leaf)
{
	*mid = (unsigned)((id >> 16) & 0xff);
	*leaf = (unsigned)((id >> 8) & 0xff);
}

void dn_store_path(const struct dn_store *s, int dir, int state, uint64_t id, int meta,
		   char *out, size_t out_len)
{
	unsigned a, b;
	dn_store_leaf(id, &a, &b);
	if (state == DN_RS_RBW)
		snprintf(out, out_len, "%s/rbw/blk_%" PRIu64 "%s", s->dirs[dir], id,
			 meta ? ".meta" : "");
	else
		snprintf(out, out_len, "%s/current/%02x/%02x/blk_%" PRIu64 "%s", s->dirs[dir], a,
			 b, id, meta ? ".meta" : "");
}

static int mkdir_one(const char *path)
{
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return DFS_ERRNO();
	return 0;
}

int dn_fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return DFS_ERRNO();
	int rc = fsync(fd) < 0 ? DFS_ERRNO() : 0;
	close(fd);
	return rc;
}

/* Creates dir/name if missing; a new one is made durable in dir (the
 * replica about to be renamed into it is acked as durable). */
static int mkdir_durable(const char *dir, const char *name)
{
	char p[DN_PATH_MAX];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	if (mkdir(p, 0755) == 0)
		return dn_fsync_dir(dir);
	return errno == EEXIST ? 0 : DFS_ERRNO();
}

int dn_store_make_parent(const struct dn_store *s, int dir, uint64_t id)
{
	char path[DN_PATH_MAX], name[4];
	unsigned a, b;
	dn_store_leaf(id, &a, &b);
	snprintf(path, sizeof(path), "%s/current", s->dirs[dir]);
	snprintf(name, sizeof(name), "%02x", a & 0xff);
	int rc = mkdir_durable(path, name);
	if (rc < 0)
		return rc;
	snprintf(path, sizeof(path), "%s/current/%s", s->dirs[dir], name);
	snprintf(name, sizeof(name), "%02x", b & 0xff);
	return mkdir_durable(path, name);
}

/* ---- VERSION ---- */

static int read_version(const char *dir, char *uuid, char *cluster)
{
	char path[DN_PATH_MAX], buf[VERSION_FILE_MAX];
	snprintf(path, sizeof(path), "%s/VERSION", dir);
	uuid[0] = cluster[0] = '\0';
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : DFS_ERRNO();
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return DFS_ERRNO();
	buf[n] = '\0';
	char *save = NULL;
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "uuid=", 5) == 0)
			snprintf(uuid, DN_UUID_MAX, "%s", line + 5);
		else if (strncmp(line, "cluster_id=", 11) == 0)
			snprintf(cluster, DN_CLUSTER_ID_MAX, "%s", line + 11);
	}
	return 0;
}

/* Atomically (tmp + fsync + rename) writes dir/VERSION. */
static int write_version(const char *dir, const char *uuid, const char *cluster)
{
	char path[DN_PATH_MAX], tmp[DN_PATH_MAX], buf[VERSION_FILE_MAX];
	snprintf(path, sizeof(path), "%s/VERSION", dir);
	snprintf(tmp, sizeof(tmp), "%s/VERSION.tmp", dir);
	int len = snprintf(buf, sizeof(buf), "uuid=%s\ncluster_id=%s\n", uuid, cluster);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return DFS_ERRNO();
	int rc = dn_pwrite_full(fd, buf, (size_t)len, 0);
	if (rc == 0 && fsync(fd) < 0)
		rc = DFS_ERRNO();
	close(fd);
	if (rc == 0 && rename(tmp, path) < 0)
		rc = DFS_ERRNO();
	return rc;
}

static void new_uuid(char *out)
{
	uint8_t b[16];
	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b)) {
		/* never fails for 16 bytes once the pool is up; still be total */
		for (size_t i = 0; i < sizeof(b); i++)
			b[i] = (uint8_t)(rand() ^ (getpid() >> (i % 8)));
	}
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	snprintf(out, DN_UUID_MAX,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
		 b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
		 b[14], b[15]);
}

/* Every directory must agree on uuid and cluster id; new directories
 * (no VERSION) adopt them. */
static int setup_versions(struct dn_store *s)
{
	char uuid[DN_UUID_MAX], cluster[DN_CLUSTER_ID_MAX];
	int missing = 0;
	for (size_t i = 0; i < s->n_dirs; i++) {
		int rc = read_version(s->dirs[i], uuid, cluster);
		if (rc < 0) {
			dfs_log_err(DFS_LOG_ERR, rc, "%s/VERSION", s->dirs[i]);
			return rc;
		}
		if (uuid[0] == '\0') {
			missing = 1;
			continue;
		}
		if (s->uuid[0] != '\0' && strcmp(s->uuid, uuid) != 0) {
			DFS_ERR("%s belongs to datanode %s, not %s", s->dirs[i], uuid, s->uuid);
			return -EINVAL;
		}
		snprintf(s->uuid, sizeof(s->uuid), "%s", uuid);
		if (cluster[0] != '\0' && s->cluster_id[0] != '\0' &&
		    strcmp(cluster, s->cluster_id) != 0) {
			DFS_ERR("%s belongs to cluster %s, not %s", s->dirs[i], cluster,
				s->cluster_id);
			return -EINVAL;
		}
		if (cluster[0] != '\0')
			snprintf(s->cluster_id, sizeof(s->cluster_id), "%s", cluster);
	}
	if (s->uuid[0] == '\0') {
		new_uuid(s->uuid);
		DFS_NOTICE("new datanode uuid %s", s->uuid);
	}
	for (size_t i = 0; missing && i < s->n_dirs; i++) {
		int rc = write_version(s->dirs[i], s->uuid, s->cluster_id);
		if (rc < 0) {
			dfs_log_err(DFS_LOG_ERR, rc, "cannot write %s/VERSION", s->dirs[i]);
			return rc;
		}
	}
	return 0;
}

int dn_store_check_cluster(struct dn_store *s, const char *cluster_id)
{
	int rc = 0;
	pthread_mutex_lock(&s->lock);
	if (s->cluster_id[0] != '\0') {
		rc = strcmp(s->cluster_id, cluster_id) == 0 ? 0 : -EXDEV;
		goto out;
	}
	snprintf(s->cluster_id, sizeof(s->cluster_id), "%s", cluster_id);
	for (size_t i = 0; i < s->n_dirs && rc == 0; i++)
		rc = write_version(s->dirs[i], s->uuid, s->cluster_id);
	if (rc == 0)
		DFS_NOTICE("joined cluster %s", cluster_id);
out:
	pthread_mutex_unlock(&s->lock);
	return rc;
}

/* ---- open / close ---- */

static int add_dir(struct dn_store *s, const char *path)
{
	if (s->n_dirs == DN_DIRS_MAX)
		return -E2BIG;
	char sub[DN_PATH_MAX];
	int rc = mkdir_one(path);
	snprintf(sub, sizeof(sub), "%s/current", path);
	if (rc == 0)
		rc = mkdir_one(sub);
	snprintf(sub, sizeof(sub), "%s/rbw", path);
	if (rc == 0)
		rc = mkdir_one(sub);
	if (rc < 0) {
		dfs_log_err(DFS_LOG_ERR, rc, "data dir %s", path);
		return rc;
	}
	s->dirs[s->n_dirs] = strdup(path);
	if (s->dirs[s->n_dirs] == NULL)
		return -ENOMEM;
	s->n_dirs++;
	return 0;
}

static int parse_dirs(struct dn_store *s, const char *data_dirs)
{
	char *copy = strdup(data_dirs != NULL ? data_dirs : "");
	if (copy == NULL)
		return -ENOMEM;
	int rc = 0;
	char *save = NULL;
	for (char *t = strtok_r(copy, ",", &save); t != NULL && rc == 0;
	     t = strtok_r(NULL, ",", &save)) {
		while (*t == ' ' || *t == '\t')
			t++;
		size_t n = strlen(t);
		while (n > 1 && (t[n - 1] == ' ' || t[n - 1] == '/'))
			t[--n] = '\0';
		if (n > 0)
			rc = add_dir(s, t);
	}
	free(copy);
	if (rc == 0 && s->n_dirs == 0) {
		DFS_ERR("data_dirs is empty");
		rc = -EINVAL;
	}
	return rc;
}

int dn_store_open(struct dn_store *s, const char *data_dirs, uint64_t journal_bytes)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	s->n_buckets = STORE_BUCKETS_MIN;
	s->buckets = calloc(s->n_buckets, sizeof(*s->buckets));
	int rc = s->buckets == NULL ? -ENOMEM : 0;
	if (rc == 0)
		rc = parse_dirs(s, data_dirs);
	if (rc == 0)
		rc = setup_versions(s);
	for (size_t i = 0; i < s->n_dirs && rc == 0; i++) {
		/* the journal's replicas go back into place before the scan */
		rc = journal_bytes > 0 ? dn_journal_open(s, (int)i, journal_bytes, &s->journal[i])
				       : dn_journal_remove(s, (int)i);
		if (rc == 0)
			rc = dn_scan_dir(s, (int)i);
	}
	if (rc < 0) {
		dn_store_close(s);
		return rc;
	}
	DFS_INFO("block store: %zu dirs, %zu replicas, %" PRIu64 " bytes, datanode %s",
		 s->n_dirs, s->n_replicas, s->bytes_used, s->uuid);
	return 0;
}

void dn_store_close(struct dn_store *s)
{
	for (size_t i = 0; i < s->n_dirs; i++) {
		dn_journal_close(s->journal[i]);
		s->journal[i] = NULL;
	}
	for (size_t i = 0; s->buckets != NULL && i < s->n_buckets; i++) {
		struct dn_replica *r = s->buckets[i];
		while (r != NULL) {
			struct dn_replica *next = r->next;
			free(r);
			r = next;
		}
	}
	free(s->buckets);
	s->buckets = NULL;
	for (size_t i = 0; i < s->n_dirs; i++)
		free(s->dirs[i]);
	s->n_dirs = 0;
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
}

/* ---- queries ---- */

int dn_store_lookup(struct dn_store *s, uint64_t id, struct dn_replica_info *out)
{
	pthread_mutex_lock(&s->lock);
	struct dn_replica *r = dn_store_find_locked(s, id);
	if (r != NULL)
		info_of(r, out);
	pthread_mutex_unlock(&s->lock);
	return r != NULL ? 0 : -ENOENT;
}

/* The map entry of id (or NULL), once the files of a replica acked from
 * the journal are written: those take well under a millisecond, so the
 * wait is bounded by DN_WRITER_WAIT_MS only against a stuck disk. */
static struct dn_replica *find_placed_locked(struct dn_store *s, uint64_t id)
{
	struct timespec deadline;
	dfs_cond_deadline(&deadline, DN_WRITER_WAIT_MS);
	for (;;) {
		struct dn_replica *r = dn_store_find_locked(s, id);
		if (r == NULL || !r->placing ||
		    pthread_cond_timedwait(&s->cond, &s->lock, &deadline) == ETIMEDOUT)
			return r;
	}
}

int dn_store_open_read(struct dn_store *s, uint64_t id, uint64_t genstamp,
		       struct dn_replica_info *out, int *data_fd, int *meta_fd)
{
	char p[DN_PATH_MAX];
	int rc = 0;
	*data_fd = *meta_fd = -1;
	pthread_mutex_lock(&s->lock);
	struct dn_replica *r = find_placed_locked(s, id);
	if (r == NULL) {
		rc = -ENOENT;
		goto out;
	}
	info_of(r, out);
	if (r->genstamp != genstamp) {
		rc = -DFS_ESTALE;
		goto out;
	}
	if (r->corrupt) {
		rc = -DFS_ECHECKSUM;
		goto out;
	}
	dn_store_path(s, r->dir, r->state, id, 0, p, sizeof(p));
	*data_fd = open(p, O_RDONLY | O_CLOEXEC);
	dn_store_path(s, r->dir, r->state, id, 1, p, sizeof(p));
	*meta_fd = open(p, O_RDONLY | O_CLOEXEC);
	if (*data_fd < 0 || *meta_fd < 0) {
		rc = DFS_ERRNO();
		if (*data_fd >= 0)
			close(*data_fd);
		if (*meta_fd >= 0)
			close(*meta_fd);
		*data_fd = *meta_fd = -1;
	}
out:
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int dn_store_delete(struct dn_store *s, uint64_t id, uint64_t genstamp, struct dn_replica_info *out)
{
	char data[DN_PATH_MAX], meta[DN_PATH_MAX];
	int rc = 0;
	pthread_mutex_lock(&s->lock);
	struct dn_replica *r = dn_store_find_locked(s, id);
	if (r == NULL)
		rc = -ENOENT;
	else if (r->writing)
		rc = -EBUSY;
	else if (r->genstamp > genstamp)
		rc = -DFS_ESTALE;
	if (rc < 0)
		goto out;
	if (out != NULL)
		info_of(r, out);
	dn_store_path(s, r->dir, r->state, id, 0, data, sizeof(data));
	dn_store_path(s, r->dir, r->state, id, 1, meta, sizeof(meta));
	dn_store_remove_locked(s, r);
	free(r);
	pthread_mutex_unlock(&s->lock);
	/* unlink outside the lock: the map no longer names these files */
	if (unlink(data) < 0 && errno != ENOENT)
		dfs_log_err(DFS_LOG_WARN, DFS_ERRNO(), "unlink %s", data);
	if (unlink(meta) < 0 && errno != ENOENT)
		dfs_log_err(DFS_LOG_WARN, DFS_ERRNO(), "unlink %s", meta);
	return 0;
out:
	pthread_mutex_unlock(&s->lock);
	return rc;
}

void dn_store_foreach(struct dn_store *s, void (*fn)(void *arg, const struct dn_replica_info *r),
		      void *arg)
{
	struct dn_replica_info info;
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->n_buckets; i++)
		for (struct dn_replica *r = s->buckets[i]; r != NULL; r = r->next) {
			if (r->state != DN_RS_FINALIZED)
				continue;
			info_of(r, &info);
			fn(arg, &info);
		}
	pthread_mutex_unlock(&s->lock);
}

void dn_store_space(struct dn_store *s, uint64_t *capacity, uint64_t *used, uint64_t *remaining)
{
	dev_t seen[DN_DIRS_MAX];
	uint8_t failed[DN_DIRS_MAX];
	size_t n_seen = 0;
	*capacity = *remaining = 0;
	pthread_mutex_lock(&s->lock);
	memcpy(failed, s->dir_failed, sizeof(failed));
	pthread_mutex_unlock(&s->lock);
	for (size_t i = 0; i < s->n_dirs; i++) {
		struct stat st;
		struct statvfs v;
		if (failed[i] || stat(s->dirs[i], &st) < 0 || statvfs(s->dirs[i], &v) < 0)
			continue;
		size_t k = 0;
		while (k < n_seen && seen[k] != st.st_dev)
			k++;
		if (k < n_seen)
			continue;
		seen[n_seen++] = st.st_dev;
		*capacity += (uint64_t)v.f_blocks * v.f_frsize;
		*remaining += (uint64_t)v.f_bavail * v.f_frsize;
	}
	pthread_mutex_lock(&s->lock);
	*used = s->bytes_used;
	pthread_mutex_unlock(&s->lock);
}

int dn_store_pick_dir(struct dn_store *s)
{
	int in_service = 0;
	for (size_t k = 0; k < s->n_dirs; k++) {
		size_t i = (s->next_dir + k) % s->n_dirs;
		struct statvfs v;
		if (s->dir_failed[i])
			continue;
		in_service = 1;
		if (statvfs(s->dirs[i], &v) < 0)
			continue;
		uint64_t f = (uint64_t)v.f_bavail * v.f_frsize;
		if (f > s->reserved_bytes) {
			s->next_dir = i + 1;
			return (int)i;
		}
	}
	return in_service ? -ENOSPC : -EIO;
}

int dn_store_mark_corrupt(struct dn_store *s, uint64_t id, uint64_t genstamp)
{
	pthread_mutex_lock(&s->lock);
	struct dn_replica *r = dn_store_find_locked(s, id);
	int rc = r == NULL || r->genstamp != genstamp ? -ENOENT : r->corrupt ? 1 : 0;
	if (rc == 0)
		r->corrupt = 1;
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int dn_store_dir_failed(struct dn_store *s, int dir)
{
	pthread_mutex_lock(&s->lock);
	int failed = dir >= 0 && (size_t)dir < s->n_dirs && s->dir_failed[dir];
	pthread_mutex_unlock(&s->lock);
	return failed;
}

int dn_store_fail_dir(struct dn_store *s, int dir, struct dn_replica_info **lost,
		      size_t *n_lost)
{
	size_t n = 0;
	*lost = NULL;
	*n_lost = 0;
	pthread_mutex_lock(&s->lock);
	if (s->dir_failed[dir]) {
		pthread_mutex_unlock(&s->lock);
		return -EALREADY;
	}
	s->dir_failed[dir] = 1;
	s->n_failed++;
	struct dn_replica_info *v = malloc((s->n_replicas ? s->n_replicas : 1) * sizeof(*v));
	for (size_t i = 0; i < s->n_buckets; i++) {
		struct dn_replica **pp = &s->buckets[i];
		while (*pp != NULL) {
			struct dn_replica *r = *pp;
			if (r->dir != dir || r->writing) {
				pp = &r->next;
				continue;
			}
			if (v != NULL)
				info_of(r, &v[n++]);
			*pp = r->next;
			s->n_replicas--;
			s->bytes_used -= r->length;
			free(r);
		}
	}
	int left = (int)(s->n_dirs - s->n_failed);
	pthread_mutex_unlock(&s->lock);
	*lost = v;
	*n_lost = n;
	return left;
}
