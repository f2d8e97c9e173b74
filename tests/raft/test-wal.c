/*
 * tests/raft/test-wal.c - cmocka tests of the write-ahead log: CRC32C
 * convention, round trips, torn and corrupt tails, conflicting-suffix
 * truncation, segment rotation with compaction, snapshot install, and a
 * damaged meta file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "raft/wal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct fixture {
	char dir[256];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");
	snprintf(f->dir, sizeof(f->dir), "%s/test-wal-XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	DIR *d = opendir(f->dir);
	struct dirent *de;
	char path[600];
	while (d && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", f->dir, de->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(f->dir);
	free(f);
	return 0;
}

static struct raft_entry make_entry(raft_index i, raft_term t, char *buf,
				    size_t cap)
{
	int n = snprintf(buf, cap, "entry-%llu-term-%llu",
			 (unsigned long long)i, (unsigned long long)t);
	return (struct raft_entry){.index = i, .term = t,
				   .type = RAFT_ENTRY_NORMAL,
				   .data = {.base = buf, .len = (size_t)n}};
}

/* Append [from, to] with term t in batches of `batch`, one sync each. */
static void append_range(struct wal *w, raft_index from, raft_index to,
			 raft_term t, size_t batch)
{
	static char bufs[64][64];
	struct raft_entry ents[64];
	for (raft_index i = from; i <= to;) {
		size_t n = 0;
		while (n < batch && i <= to) {
			ents[n] = make_entry(i, t, bufs[n], sizeof(bufs[n]));
			n++;
			i++;
		}
		assert_int_equal(wal_append(w, ents, n), 0);
		assert_int_equal(wal_sync(w), 0);
	}
}

static void check_entry(const struct raft_entry *e, raft_index i, raft_term t)
{
	char buf[64];
	struct raft_entry want = make_entry(i, t, buf, sizeof(buf));
	assert_int_equal(e->index, i);
	assert_int_equal(e->term, t);
	assert_int_equal(e->type, RAFT_ENTRY_NORMAL);
	assert_int_equal(e->data.len, want.data.len);
	assert_memory_equal(e->data.base, want.data.base, want.data.len);
}

static struct wal *reopen(struct fixture *f, struct wal *w,
			  struct wal_recovered *rec, size_t seg_max)
{
	struct wal_options o = {.segment_size_max = seg_max};
	if (w != NULL)
		wal_close(w);
	assert_int_equal(wal_open(f->dir, &o, &w, rec), 0);
	return w;
}

/* The last (highest) segment file's path. */
static void last_segment(struct fixture *f, char *path, size_t cap)
{
	DIR *d = opendir(f->dir);
	struct dirent *de;
	char best[256] = "";
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, "seg-", 4) == 0 &&
		    strcmp(de->d_name, best) > 0)
			snprintf(best, sizeof(best), "%s", de->d_name);
	closedir(d);
	assert_true(best[0] != '\0');
	snprintf(path, cap, "%s/%s", f->dir, best);
}

static int count_segments(struct fixture *f)
{
	DIR *d = opendir(f->dir);
	struct dirent *de;
	int n = 0;
	while ((de = readdir(d)) != NULL)
		n += strncmp(de->d_name, "seg-", 4) == 0;
	closedir(d);
	return n;
}

static void test_crc32c_vector(void **state)
{
	(void)state;
	assert_int_equal(wal_crc32c(0, "123456789", 9), 0xE3069283u);
	uint32_t c = wal_crc32c(0, "1234", 4);
	assert_int_equal(wal_crc32c(c, "56789", 5), 0xE3069283u);
	assert_int_equal(wal_crc32c(0, "", 0), 0);
}

static void test_round_trip(void **state)
{
	struct fixture *f = *state;
	struct wal_recovered rec;
	struct wal *w = reopen(f, NULL, &rec, 0);
	assert_int_equal(rec.n, 0);
	assert_int_equal(rec.hs.term, 0);
	wal_recovered_free(&rec);
	append_range(w, 1, 10, 1, 4);
	struct raft_hard_state hs = {.term = 3, .vote = 2};
	assert_int_equal(wal_set_hard_state(w, &hs), 0);
	w = reopen(f, w, &rec, 0);
	assert_int_equal(rec.hs.term, 3);
	assert_int_equal(rec.hs.vote, 2);
	assert_int_equal(rec.n, 10);
	assert_int_equal(rec.dropped_bytes, 0);
	for (size_t k = 0; k < 10; k++)
		check_entry(&rec.entries[k], k + 1, 1);
	wal_recovered_free(&rec);
	assert_int_equal(wal_last_index(w), 10);
	wal_close(w);
}

/* wal_sync_fd: -1 while a new segment's directory entry is not durable
 * (only wal_sync covers that), else the active segment's descriptor, which
 * another thread may dup and fdatasync. */
static void test_sync_fd(void **state)
{
	struct fixture *f = *state;
	struct wal_recovered rec;
	struct wal *w = reopen(f, NULL, &rec, 0);
	wal_recovered_free(&rec);
	char b1[64], b2[64];
	struct raft_entry e1 = make_entry(1, 1, b1, sizeof(b1));
	assert_int_equal(wal_append(w, &e1, 1), 0);
	assert_int_equal(wal_sync_fd(w), -1); /* a new segment */
	assert_int_equal(wal_sync(w), 0);
	struct raft_entry e2 = make_entry(2, 1, b2, sizeof(b2));
	assert_int_equal(wal_append(w, &e2, 1), 0);
	int fd = wal_sync_fd(w);
	assert_true(fd >= 0);
	int d = dup(fd);
	assert_true(d >= 0);
	assert_int_equal(fdatasync(d), 0);
	close(d);
	w = reopen(f, w, &rec, 0);
	assert_int_equal(rec.n, 2);
	check_entry(&rec.entries[1], 2, 1);
	wal_recovered_free(&rec);
	wal_close(w);
}

static void test_torn_tail_truncated(void **state)
{
	struct fixture *f = *state;
	struct wal_recovered rec;
	struct wal *w = reopen(f, NULL, &rec, 0);
	append_range(w, 1, 5, 1, 5);
	wal_close(w);
	char path[600];
	last_segment(f, path, sizeof(path));
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(truncate(path, st.st_size - 5), 0); /* mid-record */
	w = reopen(f, NULL, &rec, 0);
	assert_int_equal(rec.n, 4);
	assert_true(rec.dropped_bytes > 0);
	for (size_t k = 0; k < 4; k++)
		check_entry(&rec.entries[k], k + 1, 1);
	wal_recovered_free(&rec);
	/* The tail was cut on disk: appending continues cleanly. */
	append_range(w, 5, 7, 2, 3);
	w = reopen(f, w, &rec, 0);
	assert_int_equal(rec.n, 7);
	assert_int_equal(rec.dropped_bytes, 0);
	check_entry(&rec.entries[4], 5, 2);
	check_entry(&rec.entries[6], 7, 2);
	wal_recovered_free(&rec);
	wal_close(w);
}

static void test_flipped_byte_in_last_record(void **state)
{
	struct fixture *f = *state;
	struct wal_recovered rec;
	struct wal *w = reopen(f, NULL, &rec, 0);
	append_range(w, 1, 6, 1, 6);
	wal_close(w);
	char path[600];
	last_segment(f, path, sizeof(path));
	int fd = open(path, O_RDWR);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	uint8_t b;
	off_t off = st.st_size - 3; /* inside the last record's payload */
	assert_int_equal(pread(fd, &b, 1, off), 1);
	b ^= 0x40;
	assert_int_equal(pwrite(fd, &b, 1, off), 1);
	close(fd);
	w = reopen(f, NULL, &rec, 0);
	assert_int_equal(rec.n, 5);
	assert_true(rec.dropped_bytes > 0);
	check_entry(&rec.entries[4], 5, 1);
	wal_recovered_free(&rec);
	/* and never comes back */
	w = reopen(f, w, &rec, 0);
	assert_int_equal(rec.n, 5);
	assert_int_equal(rec.dropped_bytes, 0);
	wal_recovered_free(&rec);
	wal_close(w);
}

static void test_conflicting_suffix(void **state)
{
	struct fixture *f = *state;
	struct wal_recovered rec;
	struct wal *w = reopen(f, NULL, &rec, 200); /* several segments */
	append_range(w, 1, 20, 1, 3);
	assert_true(count_segments(f) > 2);
	append_range(w, 6, 8, 2, 3); /* overwrites 6..20 */
	assert_int_equal(wal_last_index(w), 8);
	w = reopen(f, w, &rec, 200);
	assert_int_equal(rec.n, 8);
	check_entry(&rec.entries[4], 5, 1);
	check_entry(&rec.entries[5], 6, 2);
	check_entry(&rec.entries[7], 8, 2);
	wal_recovered_free(&rec);
	assert_int_equal(wal_truncate(w, 7), 0);
	w = reopen(f, w, &rec, 200);
	assert_int_equal(rec.n, 6);
	wal_recovered_free(&rec);
	wal_close(w);
}

static void test_compaction_deletes_segments(void **state)
{
	struct fixture *f = *state;
	struct wal_recovered rec;
	struct wal *w = reopen(f, NULL, &rec, 256);
	append_range(w, 1, 100, 1, 4);
	int before = count_segments(f);
	assert_true(before > 5);
	struct raft_snapshot_meta snap = {
		.index = 50, .term = 1, .conf = {.n = 3, .voters = {1, 2, 3}}};
	assert_int_equal(wal_compact(w, &snap), 0);
	assert_true(count_segments(f) < before);
	assert_int_equal(wal_snapshot_index(w), 50);
	w = reopen(f, w, &rec, 256);
	assert_int_equal(rec.snap.index, 50);
	assert_int_equal(rec.snap.term, 1);
	assert_int_equal(rec.snap.conf.n, 3);
	assert_int_equal(rec.snap.conf.voters[2], 3);
	assert_int_equal(rec.n, 50);
	check_entry(&rec.entries[0], 51, 1);
	check_entry(&rec.entries[49], 100, 1);
	wal_recovered_free(&rec);
	append_range(w, 101, 110, 2, 5);
	w = reopen(f, w, &rec, 256);
	assert_int_equal(rec.n, 60);
	wal_recovered_free(&rec);
	wal_close(w);
}

/* Every segment file ends at its last record after a clean close; a crash
 * leaves the active one with the zeros written ahead of its records.
 * Zeros after the records are a clean end, not a torn tail: nothing is
 * counted as dropped, and the segments after a zero tail are kept. */
static void test_zero_tails_are_clean_ends(void **state)
{
	struct fixture *f = *state;
	struct wal_recovered rec;
	struct wal *w = reopen(f, NULL, &rec, 256);
	append_range(w, 1, 40, 1, 4);
	assert_int_equal(wal_sync(w), 0);
	wal_close(w);
	assert_true(count_segments(f) > 3);
	DIR *d = opendir(f->dir);
	struct dirent *de;
	int padded = 0;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "seg-", 4) != 0)
			continue;
		char path[600];
		snprintf(path, sizeof(path), "%s/%s", f->dir, de->d_name);
		struct stat st;
		assert_int_equal(stat(path, &st), 0);
		/* closed cleanly: no zeros written ahead are left (1 MiB) */
		assert_true(st.st_size < 4096);
		int fd = open(path, O_RDWR);
		assert_true(fd >= 0);
		/* what a crash leaves: zeros after the records, in every segment */
		static const uint8_t zeros[5000];
		assert_int_equal(pwrite(fd, zeros, sizeof(zeros), st.st_size), (ssize_t)sizeof(zeros));
		close(fd);
		padded++;
	}
	closedir(d);
	assert_true(padded > 3);
	w = reopen(f, NULL, &rec, 256);
	assert_int_equal(rec.dropped_bytes, 0);
	assert_int_equal(rec.n, 40);
	for (size_t k = 0; k < 40; k++)
		check_entry(&rec.entries[k], k + 1, 1);
	wal_recovered_free(&rec);
	/* the cut tail leaves a log that appends and reopens cleanly */
	append_range(w, 41, 45, 2, 3);
	w = reopen(f, w, &rec, 256);
	assert_int_equal(rec.n, 45);
	assert_int_equal(rec.dropped_bytes, 0);
	check_entry(&rec.entries[44], 45, 2);
	wal_recovered_free(&rec);
	wal_close(w);
}

static void test_install_snapshot_drops_log(void **state)
{
	struct fixture *f = *state;
	struct wal_recovered rec;
	struct wal *w = reopen(f, NULL, &rec, 0);
	append_range(w, 1, 10, 1, 10);
	struct raft_snapshot_meta snap = {
		.index = 7, .term = 3, .conf = {.n = 1, .voters = {9}}};
	assert_int_equal(wal_install_snapshot(w, &snap), 0);
	assert_int_equal(count_segments(f), 0);
	w = reopen(f, w, &rec, 0);
	assert_int_equal(rec.n, 0);
	assert_int_equal(rec.snap.index, 7);
	assert_int_equal(rec.snap.term, 3);
	wal_recovered_free(&rec);
	append_range(w, 8, 9, 3, 2);
	w = reopen(f, w, &rec, 0);
	assert_int_equal(rec.n, 2);
	check_entry(&rec.entries[0], 8, 3);
	wal_recovered_free(&rec);
	wal_close(w);
}

static void test_bad_meta_is_an_error(void **state)
{
	struct fixture *f = *state;
	struct wal_recovered rec;
	struct wal *w = reopen(f, NULL, &rec, 0);
	struct raft_hard_state hs = {.term = 1, .vote = 1};
	assert_int_equal(wal_set_hard_state(w, &hs), 0);
	wal_close(w);
	char path[600];
	snprintf(path, sizeof(path), "%s/meta", f->dir);
	int fd = open(path, O_RDWR);
	uint8_t b = 0xff;
	assert_int_equal(pwrite(fd, &b, 1, 9), 1);
	close(fd);
	assert_int_equal(wal_open(f->dir, NULL, &w, &rec), -RAFT_ECORRUPT);
}

static void test_misuse(void **state)
{
	struct fixture *f = *state;
	struct wal_recovered rec;
	struct wal *w = reopen(f, NULL, &rec, 0);
	char buf[64];
	struct raft_entry e = make_entry(5, 1, buf, sizeof(buf));
	assert_int_equal(wal_append(w, &e, 1), -EINVAL); /* gap */
	assert_int_equal(wal_truncate(w, 0), -EINVAL);
	struct raft_ready rd = {.hs_changed = true, .hs = {.term = 2}};
	e = make_entry(1, 2, buf, sizeof(buf));
	rd.entries = &e;
	rd.n_entries = 1;
	assert_int_equal(wal_save_ready(w, &rd), 0);
	w = reopen(f, w, &rec, 0);
	assert_int_equal(rec.hs.term, 2);
	assert_int_equal(rec.n, 1);
	wal_recovered_free(&rec);
	wal_close(w);
}

static void write_file(const char *path, const uint8_t *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

/* Fault loop (after SQLite's): cut the segment at every byte and flip
 * every byte; recovery must return a prefix of what was written, intact,
 * and the cut must grow monotonically with the bytes kept. */
static void test_every_torn_length_and_flip(void **state)
{
	struct fixture *f = *state;
	struct wal_recovered rec;
	struct wal *w = reopen(f, NULL, &rec, 0);
	append_range(w, 1, 12, 1, 3);
	wal_close(w);
	char path[600];
	last_segment(f, path, sizeof(path));
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	size_t len = (size_t)st.st_size;
	uint8_t *orig = malloc(len);
	int fd = open(path, O_RDONLY);
	assert_int_equal(read(fd, orig, len), (ssize_t)len);
	close(fd);
	size_t prev_n = 0;
	for (size_t cut = 0; cut <= len; cut++) {
		write_file(path, orig, cut);
		assert_int_equal(wal_open(f->dir, NULL, &w, &rec), 0);
		assert_true(rec.n >= prev_n && rec.n <= 12);
		for (size_t k = 0; k < rec.n; k++)
			check_entry(&rec.entries[k], k + 1, 1);
		prev_n = rec.n;
		wal_recovered_free(&rec);
		wal_close(w);
	}
	assert_int_equal(prev_n, 12);
	for (size_t at = 0; at < len; at++) {
		write_file(path, orig, len);
		fd = open(path, O_RDWR);
		uint8_t b = orig[at] ^ 0x01;
		assert_int_equal(pwrite(fd, &b, 1, (off_t)at), 1);
		close(fd);
		assert_int_equal(wal_open(f->dir, NULL, &w, &rec), 0);
		assert_true(rec.n < 12); /* the damaged record and after go */
		for (size_t k = 0; k < rec.n; k++)
			check_entry(&rec.entries[k], k + 1, 1);
		wal_recovered_free(&rec);
		wal_close(w);
	}
	free(orig);
}

/* The glue end to end: a single-voter core persists every ready batch
 * through wal_save_ready(); after a "restart" the core restored from the
 * WAL has the same term, vote and log. */
static void test_core_restart_from_wal(void **state)
{
	struct fixture *f = *state;
	struct wal_recovered rec;
	struct wal *w = reopen(f, NULL, &rec, 0);
	struct raft_options o;
	raft_options_default(&o, 1, 42);
	struct raft *r = raft_new(&o);
	struct raft_snapshot_meta boot = {.conf = {.n = 1, .voters = {1}}};
	assert_int_equal(raft_restore(r, &boot, &rec.hs, NULL, 0), 0);
	wal_recovered_free(&rec);
	for (int k = 0; k < 30 && raft_role(r) != RAFT_LEADER; k++)
		raft_tick(r);
	assert_int_equal(raft_role(r), RAFT_LEADER);
	for (int k = 0; k < 5; k++) {
		assert_int_equal(raft_propose(r, "abc", 3, NULL), 0);
		while (raft_has_ready(r)) {
			struct raft_ready rd;
			raft_ready(r, &rd);
			assert_int_equal(wal_save_ready(w, &rd), 0);
			raft_advance(r, &rd);
		}
	}
	raft_term term = raft_term_of(r);
	raft_index last = raft_last_index(r);
	raft_free(r);
	w = reopen(f, w, &rec, 0);
	r = raft_new(&o);
	assert_int_equal(
		raft_restore(r, &boot, &rec.hs, rec.entries, rec.n), 0);
	assert_int_equal(raft_term_of(r), term);
	assert_int_equal(rec.hs.vote, 1);
	assert_int_equal(raft_last_index(r), last);
	assert_int_equal(raft_term_at(r, last), term);
	wal_recovered_free(&rec);
	raft_free(r);
	wal_close(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32c_vector),
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_round_trip), T(test_sync_fd),
		T(test_torn_tail_truncated),
		T(test_flipped_byte_in_last_record),
		T(test_conflicting_suffix),
		T(test_compaction_deletes_segments),
		T(test_zero_tails_are_clean_ends),
		T(test_install_snapshot_drops_log),
		T(test_bad_meta_is_an_error),
		T(test_misuse),
		T(test_core_restart_from_wal),
		T(test_every_torn_length_and_flip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
