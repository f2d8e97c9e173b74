/*
 * raft/wal.c - the write-ahead log: segment files of CRC32C-protected
 * entry records plus an atomically replaced meta file (see raft/wal.h for
 * the format and the durability contract).
 *
 * Owns: segment creation, rotation, group-commit appends, truncation of a
 * conflicting suffix, dropping a compacted prefix, recovery (cutting a
 * torn or corrupt tail), and the meta file (hard state and snapshot).
 * Unlike the rest of raft/, this file does I/O.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "raft/wal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <isa-l/crc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SEG_MAGIC 0x314c41575246444full  /* "DFRWAL1" */
#define META_MAGIC 0x3154454d5246444full /* "DFRMET1" */
#define SEG_HEADER_SIZE 32
#define REC_HEADER_SIZE 8
#define REC_FIXED_SIZE 17 /* index, term, type */
#define META_SIZE (8 + 8 * 5 + RAFT_CONFIG_ENCODED_MAX + 4)
#define PATH_SIZE_MAX 4096
/* Zeros written ahead of the records in the active segment, so that an
 * append overwrites blocks the file already has and its fdatasync writes
 * the data alone, not the file size too (a second device write on ext4
 * without a journal). */
#define ZERO_AHEAD_BYTES (1u << 20)

struct wal_segment {
	uint64_t seq;
	raft_index first;
	raft_index next; /* index the next record appended here must have */
	uint64_t size;
};

struct wal_pos {
	uint32_t seg; /* index into segs */
	uint64_t off;
};

struct wal {
	char *dir;
	int dirfd;
	size_t segment_size_max;
	struct raft_hard_state hs;
	struct raft_snapshot_meta snap;
	uint64_t min_seq;
	uint64_t next_seq;
	bool unsynced;
	struct wal_segment *segs;
	size_t n_segs, cap_segs;
	int active_fd; /* the last segment, or -1 */
	uint64_t active_end; /* its file size: records, then zeros */
	bool dir_dirty;
	bool broken;
	struct wal_pos *pos; /* pos[k]: entry snap.index + 1 + k ... */
	raft_index pos_first; /* index of pos[0] */
	size_t n_pos, cap_pos;
};

uint32_t wal_crc32c(uint32_t crc, const void *buf, size_t len)
{
	return ~crc32_iscsi((unsigned char *)buf, (int)len, ~crc);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int k = 0; k < 4; k++)
		p[k] = (uint8_t)(v >> (8 * k));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int k = 0; k < 8; k++)
		p[k] = (uint8_t)(v >> (8 * k));
}

static uint32_t get32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return get32(p) | (uint64_t)get32(p + 4) << 32;
}

static int full_write(int fd, const void *buf, size_t len, off_t off)
{
	const uint8_t *p = buf;
	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

static void seg_name(char *buf, uint64_t seq)
{
	snprintf(buf, 32, "seg-%016llx", (unsigned long long)seq);
}

/* ---- meta file ---- */

static int meta_write(struct wal *w, const struct raft_hard_state *hs,
		      const struct raft_snapshot_meta *snap, uint64_t min_seq)
{
	uint8_t buf[META_SIZE] = {0};
	put64(buf, META_MAGIC);
	put64(buf + 8, hs->term);
	put64(buf + 16, hs->vote);
	put64(buf + 24, snap->index);
	put64(buf + 32, snap->term);
	put64(buf + 40, min_seq);
	raft_config_encode(&snap->conf, buf + 48);
	put32(buf + META_SIZE - 4, wal_crc32c(0, buf, META_SIZE - 4));
	int fd = openat(w->dirfd, "meta.tmp",
			O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	int rv = full_write(fd, buf, sizeof(buf), 0);
	if (rv == 0 && fsync(fd) != 0)
		rv = -errno;
	close(fd);
	if (rv == 0 && renameat(w->dirfd, "meta.tmp", w->dirfd, "meta") != 0)
		rv = -errno;
	if (rv == 0 && fsync(w->dirfd) != 0)
		rv = -errno;
	if (rv != 0)
		return rv;
	w->hs = *hs;
	w->snap = *snap;
	w->min_seq = min_seq;
	return 0;
}

static int meta_read(struct wal *w)
{
	uint8_t buf[META_SIZE];
	int fd = openat(w->dirfd, "meta", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	ssize_t n = pread(fd, buf, sizeof(buf), 0);
	int err = errno;
	close(fd);
	if (n < 0)
		return -err;
	if (n != META_SIZE || get64(buf) != META_MAGIC ||
	    get32(buf + META_SIZE - 4) != wal_crc32c(0, buf, META_SIZE - 4))
		return -RAFT_ECORRUPT;
	w->hs.term = get64(buf + 8);
	w->hs.vote = get64(buf + 16);
	w->snap.index = get64(buf + 24);
	w->snap.term = get64(buf + 32);
	w->min_seq = get64(buf + 40);
	uint32_t nv = get32(buf + 48);
	if (nv > RAFT_VOTERS_MAX ||
	    raft_config_decode(buf + 48, 4 + 8 * (size_t)nv, &w->snap.conf))
		return -RAFT_ECORRUPT;
	return 0;
}

/* ---- in-memory index of entry positions ---- */

static raft_index last_index(const struct wal *w)
{
	return w->n_pos ? w->pos_first + w->n_pos - 1 : w->snap.index;
}

static int pos_push(struct wal *w, raft_index index, uint32_t seg,
		    uint64_t off)
{
	if (w->n_pos == 0)
		w->pos_first = index;
	if (w->n_pos == w->cap_pos) {
		size_t cap = w->cap_pos ? w->cap_pos * 2 : 1024;
		struct wal_pos *p = realloc(w->pos, cap * sizeof(*p));
		if (p == NULL)
			return -ENOMEM;
		w->pos = p;
		w->cap_pos = cap;
	}
	w->pos[w->n_pos].seg = seg;
	w->pos[w->n_pos].off = off;
	w->n_pos++;
	return 0;
}

static int seg_push(struct wal *w, uint64_t seq, raft_index first,
		    raft_index next, uint64_t size)
{
	if (w->n_segs == w->cap_segs) {
		size_t cap = w->cap_segs ? w->cap_segs * 2 : 16;
		struct wal_segment *p = realloc(w->segs, cap * sizeof(*p));
		if (p == NULL)
			return -ENOMEM;
		w->segs = p;
		w->cap_segs = cap;
	}
	w->segs[w->n_segs++] =
		(struct wal_segment){
			.seq = seq, .first = first, .next = next, .size = size};
	if (seq >= w->next_seq)
		w->next_seq = seq + 1;
	return 0;
}

static int seg_unlink(struct wal *w, uint64_t seq)
{
	char name[32];
	seg_name(name, seq);
	if (unlinkat(w->dirfd, name, 0) != 0 && errno != ENOENT)
		return -errno;
	w->dir_dirty = true;
	return 0;
}

static int seg_open_fd(struct wal *w, uint64_t seq, int flags)
{
	char name[32];
	seg_name(name, seq);
	int fd = openat(w->dirfd, name, flags | O_CLOEXEC, 0644);
	return fd < 0 ? -errno : fd;
}

static void close_active(struct wal *w)
{
	if (w->active_fd >= 0)
		close(w->active_fd);
	w->active_fd = -1;
	w->active_end = 0;
}

/* Makes the active segment's file reach past `end` with zeros (see
 * ZERO_AHEAD_BYTES); the next wal_sync makes them durable with the
 * records. A zero record length ends the log on recovery, which then cuts
 * the zeros like any tail, without counting them as dropped. */
static int zero_ahead(struct wal *w, uint64_t end)
{
	static const uint8_t zeros[64 << 10];
	if (end <= w->active_end)
		return 0;
	uint64_t to = (end + ZERO_AHEAD_BYTES + sizeof(zeros) - 1) / sizeof(zeros) * sizeof(zeros);
	for (uint64_t off = w->active_end; off < to;) {
		size_t n = to - off < sizeof(zeros) ? (size_t)(to - off) : sizeof(zeros);
		int rv = full_write(w->active_fd, zeros, n, (off_t)off);
		if (rv != 0)
			return rv; /* the records are written over it, or cut */
		off += n;
		w->active_end = off;
	}
	return 0;
}

/* The active segment (the last one) ends at its records again: done when
 * it stops being active on purpose, so that only a crash leaves zeros. */
static void cut_zeros(struct wal *w)
{
	if (w->active_fd < 0 || w->n_segs == 0)
		return;
	uint64_t size = w->segs[w->n_segs - 1].size;
	if (w->active_end > size && ftruncate(w->active_fd, (off_t)size) == 0)
		w->active_end = size;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			return false;
	return true;
}

/* Delete leading segments whose entries are all <= the snapshot index. */
static void drop_compacted_segments(struct wal *w)
{
	while (w->n_segs >= 2 && w->segs[1].first <= w->snap.index + 1) {
		if (seg_unlink(w, w->segs[0].seq) != 0)
			return; /* retried at the next compaction or open */
		memmove(w->segs, w->segs + 1,
			(w->n_segs - 1) * sizeof(*w->segs));
		w->n_segs--;
		for (size_t k = 0; k < w->n_pos; k++)
			w->pos[k].seg--;
	}
}

/* ---- recovery ---- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int list_segments(struct wal *w, uint64_t **out, size_t *n_out)
{
	int fd = dup(w->dirfd);
	if (fd < 0)
		return -errno;
	DIR *d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return -errno;
	}
	uint64_t *seqs = NULL;
	size_t n = 0, cap = 0;
	int rv = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		char *end;
		if (strncmp(de->d_name, "seg-", 4) != 0 ||
		    strlen(de->d_name) != 20)
			continue;
		uint64_t seq = strtoull(de->d_name + 4, &end, 16);
		if (*end != '\0')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			uint64_t *p = realloc(seqs, cap * sizeof(*p));
			if (p == NULL) {
				rv = -ENOMEM;
				break;
			}
			seqs = p;
		}
		seqs[n++] = seq;
	}
	closedir(d);
	if (rv != 0) {
		free(seqs);
		return rv;
	}
	if (n > 1)
		qsort(seqs, n, sizeof(*seqs), cmp_u64);
	*out = seqs;
	*n_out = n;
	return 0;
}

static int read_all(struct wal *w, uint64_t seq, uint8_t **buf, size_t *len)
{
	int fd = seg_open_fd(w, seq, O_RDONLY);
	if (fd < 0)
		return fd;
	struct stat st;
	int rv = 0;
	uint8_t *p = NULL;
	if (fstat(fd, &st) != 0) {
		rv = -errno;
		goto out_close;
	}
	p = malloc((size_t)st.st_size + 1);
	if (p == NULL) {
		rv = -ENOMEM;
		goto out_close;
	}
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t k = pread(fd, p + got, (size_t)st.st_size - got,
				  (off_t)got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			rv = k < 0 ? -errno : -EIO;
			free(p);
			goto out_close;
		}
		got += (size_t)k;
	}
	*buf = p;
	*len = got;
out_close:
	close(fd);
	return rv;
}

static int rec_push(struct wal_recovered *rec, size_t *cap, raft_index index,
		    raft_term term, uint8_t type, const uint8_t *data,
		    size_t len)
{
	if (rec->n == *cap) {
		size_t c = *cap ? *cap * 2 : 256;
		struct raft_entry *p = realloc(rec->entries, c * sizeof(*p));
		if (p == NULL)
			return -ENOMEM;
		rec->entries = p;
		*cap = c;
	}
	struct raft_entry *e = &rec->entries[rec->n];
	*e = (struct raft_entry){.index = index, .term = term, .type = type};
	if (len) {
		e->data.base = malloc(len);
		if (e->data.base == NULL)
			return -ENOMEM;
		memcpy(e->data.base, data, len);
		e->data.len = len;
	}
	rec->n++;
	return 0;
}

struct load_ctx {
	struct wal_recovered *rec;
	size_t cap;
	raft_index expect; /* 0: take the first segment's first index */
};

/* Parse records from off; returns the length of the valid prefix. */
static int load_records(struct wal *w, struct load_ctx *c, const uint8_t *buf,
			size_t len, uint64_t *good)
{
	size_t off = SEG_HEADER_SIZE;
	uint32_t segi = (uint32_t)w->n_segs;
	while (off + REC_HEADER_SIZE <= len) {
		uint32_t rlen = get32(buf + off);
		if (rlen < REC_FIXED_SIZE ||
		    rlen > WAL_RECORD_SIZE_MAX + REC_FIXED_SIZE ||
		    rlen > len - off - REC_HEADER_SIZE)
			break;
		uint32_t crc = wal_crc32c(0, buf + off, 4);
		crc = wal_crc32c(crc, buf + off + 8, rlen);
		const uint8_t *p = buf + off + REC_HEADER_SIZE;
		if (crc != get32(buf + off + 4) || get64(p) != c->expect)
			break;
		if (c->expect > w->snap.index) {
			int rv = rec_push(c->rec, &c->cap, c->expect,
					  get64(p + 8), p[16], p + 17,
					  rlen - REC_FIXED_SIZE);
			if (rv == 0)
				rv = pos_push(w, c->expect, segi, off);
			if (rv != 0)
				return rv;
		}
		c->expect++;
		off += REC_HEADER_SIZE + rlen;
	}
	*good = off;
	return 0;
}

static bool header_ok(const uint8_t *buf, size_t len, uint64_t seq)
{
	return len >= SEG_HEADER_SIZE && get64(buf) == SEG_MAGIC &&
	       get64(buf + 8) == seq && get32(buf + 28) == 0 &&
	       get32(buf + 24) == wal_crc32c(0, buf, 24);
}

/* Load one segment; *cut is set when the log must end here. */
static int load_segment(struct wal *w, struct load_ctx *c, uint64_t seq,
			bool *cut)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int rv = read_all(w, seq, &buf, &len);
	if (rv != 0)
		return rv;
	uint64_t good = 0;
	raft_index first = header_ok(buf, len, seq) ? get64(buf + 16) : 0;
	if (first == 0 || (c->expect != 0 && first != c->expect)) {
		c->rec->dropped_bytes += len;
		*cut = true;
		free(buf);
		return seg_unlink(w, seq);
	}
	if (c->expect == 0)
		c->expect = first;
	rv = load_records(w, c, buf, len, &good);
	/* Zeros only after the records: the zero-ahead of a segment written up
	 * to there, a clean end (a later segment may follow). */
	bool zeros = rv == 0 && good < len && all_zero(buf + good, len - good);
	free(buf);
	if (rv != 0)
		return rv;
	if (good < len) {
		if (!zeros) {
			c->rec->dropped_bytes += len - good;
			*cut = true;
		}
		int fd = seg_open_fd(w, seq, O_RDWR);
		if (fd < 0)
			return fd;
		if (ftruncate(fd, (off_t)good) != 0 || fsync(fd) != 0)
			rv = -errno;
		close(fd);
		if (rv != 0)
			return rv;
	}
	return seg_push(w, seq, first, c->expect, good);
}

static int recover(struct wal *w, struct wal_recovered *rec)
{
	uint64_t *seqs = NULL;
	size_t n = 0;
	int rv = list_segments(w, &seqs, &n);
	if (rv != 0)
		return rv;
	struct load_ctx c = {.rec = rec};
	bool cut = false;
	for (size_t k = 0; k < n && rv == 0; k++) {
		if (seqs[k] >= w->next_seq)
			w->next_seq = seqs[k] + 1;
		if (seqs[k] < w->min_seq || cut)
			rv = seg_unlink(w, seqs[k]);
		else
			rv = load_segment(w, &c, seqs[k], &cut);
	}
	free(seqs);
	if (rv != 0)
		return rv;
	if (rec->n && rec->entries[0].index != w->snap.index + 1)
		return -RAFT_ECORRUPT; /* a hole between snapshot and log */
	drop_compacted_segments(w);
	if (w->dir_dirty && fsync(w->dirfd) != 0)
		return -errno;
	w->dir_dirty = false;
	if (w->n_segs) {
		int fd = seg_open_fd(w, w->segs[w->n_segs - 1].seq, O_RDWR);
		if (fd < 0)
			return fd;
		w->active_fd = fd;
		w->active_end = w->segs[w->n_segs - 1].size; /* any tail was cut */
	}
	return 0;
}

void wal_recovered_free(struct wal_recovered *rec)
{
	for (size_t k = 0; k < rec->n; k++)
		free(rec->entries[k].data.base);
	free(rec->entries);
	memset(rec, 0, sizeof(*rec));
}

void wal_close(struct wal *w)
{
	if (w == NULL)
		return;
	cut_zeros(w);
	close_active(w);
	if (w->dirfd >= 0)
		close(w->dirfd);
	free(w->segs);
	free(w->pos);
	free(w->dir);
	free(w);
}

int wal_open(const char *dir, const struct wal_options *o, struct wal **out,
	     struct wal_recovered *rec)
{
	memset(rec, 0, sizeof(*rec));
	struct wal *w = calloc(1, sizeof(*w));
	if (w == NULL)
		return -ENOMEM;
	w->dirfd = w->active_fd = -1;
	w->segment_size_max = o && o->segment_size_max
				      ? o->segment_size_max
				      : WAL_SEGMENT_SIZE_DEFAULT;
	int rv = -ENOMEM;
	w->dir = strdup(dir);
	if (w->dir == NULL)
		goto err_after_alloc;
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		rv = -errno;
		goto err_after_alloc;
	}
	w->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (w->dirfd < 0) {
		rv = -errno;
		goto err_after_alloc;
	}
	unlinkat(w->dirfd, "meta.tmp", 0);
	rv = meta_read(w);
	if (rv == 0)
		rv = recover(w, rec);
	if (rv != 0)
		goto err_after_recover;
	if (w->next_seq < w->min_seq)
		w->next_seq = w->min_seq;
	rec->hs = w->hs;
	rec->snap = w->snap;
	*out = w;
	return 0;
err_after_recover:
	wal_recovered_free(rec);
err_after_alloc:
	wal_close(w);
	return rv;
}

/* ---- writing ---- */

static int new_segment(struct wal *w, raft_index first)
{
	if (w->active_fd >= 0 && w->unsynced && fdatasync(w->active_fd) != 0)
		return -errno;
	cut_zeros(w);
	close_active(w);
	uint64_t seq = w->next_seq;
	int fd = seg_open_fd(w, seq, O_RDWR | O_CREAT | O_EXCL);
	if (fd < 0)
		return fd;
	uint8_t hdr[SEG_HEADER_SIZE] = {0};
	put64(hdr, SEG_MAGIC);
	put64(hdr + 8, seq);
	put64(hdr + 16, first);
	put32(hdr + 24, wal_crc32c(0, hdr, 24));
	int rv = full_write(fd, hdr, sizeof(hdr), 0);
	if (rv == 0)
		rv = seg_push(w, seq, first, first, SEG_HEADER_SIZE);
	if (rv != 0) {
		close(fd);
		seg_unlink(w, seq);
		return rv;
	}
	w->active_fd = fd;
	w->active_end = SEG_HEADER_SIZE;
	w->dir_dirty = true;
	w->unsynced = true;
	return 0;
}

static size_t encode_records(uint8_t *buf, const struct raft_entry *ents,
			     size_t n)
{
	size_t off = 0;
	for (size_t k = 0; k < n; k++) {
		const struct raft_entry *e = &ents[k];
		uint8_t *p = buf + off;
		uint32_t rlen = (uint32_t)(REC_FIXED_SIZE + e->data.len);
		put32(p, rlen);
		put64(p + 8, e->index);
		put64(p + 16, e->term);
		p[24] = e->type;
		if (e->data.len)
			memcpy(p + 25, e->data.base, e->data.len);
		uint32_t crc = wal_crc32c(0, p, 4);
		put32(p + 4, wal_crc32c(crc, p + 8, rlen));
		off += REC_HEADER_SIZE + rlen;
	}
	return off;
}

static int check_batch(const struct wal *w, const struct raft_entry *ents,
		       size_t n, size_t *bytes)
{
	*bytes = 0;
	for (size_t k = 0; k < n; k++) {
		if (ents[k].index != ents[0].index + k ||
		    ents[k].data.len > WAL_RECORD_SIZE_MAX)
			return -EINVAL;
		*bytes += REC_HEADER_SIZE + REC_FIXED_SIZE + ents[k].data.len;
	}
	if (ents[0].index <= w->snap.index)
		return -EINVAL;
	return 0;
}

int wal_append(struct wal *w, const struct raft_entry *ents, size_t n)
{
	if (w->broken)
		return -EIO;
	if (n == 0)
		return 0;
	size_t bytes;
	int rv = check_batch(w, ents, n, &bytes);
	if (rv == 0 && ents[0].index <= last_index(w))
		rv = wal_truncate(w, ents[0].index);
	if (rv != 0)
		return rv;
	if (ents[0].index != last_index(w) + 1)
		return -EINVAL;
	struct wal_segment *s = w->n_segs ? &w->segs[w->n_segs - 1] : NULL;
	if (s == NULL || w->active_fd < 0 || s->next != ents[0].index ||
	    s->size >= w->segment_size_max) {
		rv = new_segment(w, ents[0].index);
		if (rv != 0)
			return rv;
		s = &w->segs[w->n_segs - 1];
	}
	uint8_t *buf = malloc(bytes);
	if (buf == NULL)
		return -ENOMEM;
	encode_records(buf, ents, n);
	rv = zero_ahead(w, s->size + bytes);
	if (rv == 0)
		rv = full_write(w->active_fd, buf, bytes, (off_t)s->size);
	free(buf);
	if (rv != 0) {
		if (ftruncate(w->active_fd, (off_t)s->size) != 0)
			w->broken = true;
		w->active_end = s->size;
		return rv;
	}
	uint64_t off = s->size;
	for (size_t k = 0; k < n; k++) {
		rv = pos_push(w, ents[k].index, (uint32_t)(w->n_segs - 1), off);
		if (rv != 0) {
			w->broken = true; /* index and file disagree */
			return rv;
		}
		off += REC_HEADER_SIZE + REC_FIXED_SIZE + ents[k].data.len;
	}
	s->size = off;
	s->next = ents[n - 1].index + 1;
	w->unsynced = true;
	return 0;
}

int wal_sync(struct wal *w)
{
	if (w->broken)
		return -EIO;
	if (w->unsynced && w->active_fd >= 0 && fdatasync(w->active_fd) != 0)
		return -errno;
	w->unsynced = false;
	if (w->dir_dirty && fsync(w->dirfd) != 0)
		return -errno;
	w->dir_dirty = false;
	return 0;
}

int wal_sync_fd(const struct wal *w)
{
	return w->broken || w->dir_dirty ? -1 : w->active_fd;
}

int wal_truncate(struct wal *w, raft_index from)
{
	if (w->broken)
		return -EIO;
	if (from <= w->snap.index)
		return -EINVAL;
	if (from > last_index(w))
		return 0;
	struct wal_pos p = w->pos[from - w->pos_first];
	int rv = 0;
	for (size_t k = w->n_segs - 1; k > p.seg && rv == 0; k--) {
		rv = seg_unlink(w, w->segs[k].seq);
		if (rv == 0)
			w->n_segs--;
	}
	close_active(w);
	if (rv != 0)
		return rv;
	int fd = seg_open_fd(w, w->segs[p.seg].seq, O_RDWR);
	if (fd < 0)
		return fd;
	w->active_fd = fd;
	w->active_end = p.off;
	if (ftruncate(fd, (off_t)p.off) != 0 || fsync(fd) != 0)
		return -errno;
	w->segs[p.seg].size = p.off;
	w->segs[p.seg].next = from;
	w->n_pos = (size_t)(from - w->pos_first);
	w->unsynced = false;
	return wal_sync(w);
}

int wal_set_hard_state(struct wal *w, const struct raft_hard_state *hs)
{
	return meta_write(w, hs, &w->snap, w->min_seq);
}

int wal_install_snapshot(struct wal *w, const struct raft_snapshot_meta *snap)
{
	uint64_t min_seq = w->next_seq;
	int rv = meta_write(w, &w->hs, snap, min_seq);
	if (rv != 0)
		return rv;
	/* Old segments are now invalid whatever happens below. */
	close_active(w);
	for (size_t k = 0; k < w->n_segs; k++)
		seg_unlink(w, w->segs[k].seq);
	w->n_segs = 0;
	w->n_pos = 0;
	w->unsynced = false;
	return wal_sync(w);
}

int wal_compact(struct wal *w, const struct raft_snapshot_meta *snap)
{
	if (snap->index <= w->snap.index)
		return 0;
	if (snap->index > last_index(w))
		return wal_install_snapshot(w, snap);
	int rv = meta_write(w, &w->hs, snap, w->min_seq);
	if (rv != 0)
		return rv;
	size_t drop = (size_t)(snap->index - w->pos_first + 1);
	memmove(w->pos, w->pos + drop, (w->n_pos - drop) * sizeof(*w->pos));
	w->n_pos -= drop;
	w->pos_first = snap->index + 1;
	drop_compacted_segments(w);
	if (w->dir_dirty && fsync(w->dirfd) != 0)
		return -errno;
	w->dir_dirty = false;
	return 0;
}

int wal_save_ready(struct wal *w, const struct raft_ready *rd)
{
	int rv = 0;
	if (rd->snapshot != NULL)
		rv = wal_install_snapshot(w, rd->snapshot);
	if (rv == 0 && rd->hs_changed)
		rv = wal_set_hard_state(w, &rd->hs);
	if (rv == 0 && rd->n_entries)
		rv = wal_append(w, rd->entries, rd->n_entries);
	if (rv == 0)
		rv = wal_sync(w);
	return rv;
}

raft_index wal_last_index(const struct wal *w)
{
	return last_index(w);
}

raft_index wal_snapshot_index(const struct wal *w)
{
	return w->snap.index;
}
