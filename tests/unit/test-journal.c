/* test-journal.c: the datanode's replica journal (datanode/journal.h) on
 * real temporary directories. A "crash" is a forked child that writes
 * through the store and _exits without closing it (no checkpoint); the
 * parent then removes the replica files the page cache would have lost
 * and reopens the store, which must put back every journaled replica. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/crc32c.h"
#include "common/errors.h"
#include "datanode/blockmeta.h"
#include "datanode/blockstore.h"
#include "datanode/journal.h"
#include "datanode/replica_read.h"
#include "datanode/replica_write.h"
#include "tests/unit/replica-check.h"

#define JOURNAL_BYTES (1u << 20)
#define LEN_MAX (256u << 10)

struct fixture {
	char root[256];
	char dir[512];
	struct dn_store s;
	int open;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	snprintf(f->root, sizeof(f->root), "%s/dfs-jnl-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(f->root) == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/d1", f->root);
	if (dn_store_open(&f->s, f->dir, JOURNAL_BYTES) != 0)
		return -1;
	f->open = 1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[600];
	if (f->open)
		dn_store_close(&f->s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->root);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static void fill(uint8_t *buf, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(seed * 131 + i * 7 + (i >> 9));
}

/* A whole create stream: open, packets of 64K, journaled finish. */
static int write_replica(struct dn_store *s, uint64_t id, uint64_t gs, const uint8_t *data,
			 size_t len)
{
	struct dn_writer *w;
	int rc = dn_writer_open(s, id, gs, 1, 0, &w);
	if (rc < 0)
		return rc;
	for (size_t off = 0; off < len; off += 65536) {
		size_t n = len - off < 65536 ? len - off : 65536;
		uint32_t *crcs = malloc(sizeof(uint32_t) * (dfs_crc32c_pieces(off, n) + 1));
		dfs_crc32c_chunks(off, data + off, n, crcs);
		rc = dn_writer_write(w, off, data + off, n, crcs);
		free(crcs);
		if (rc < 0) {
			dn_writer_abort(w);
			return rc;
		}
	}
	rc = dn_writer_finish_synced(w, NULL);
	return rc == DN_WRITER_PLACE ? dn_writer_place(w, NULL) : rc;
}

/* The finalized files of replica id (the store may be closed). */
static void replica_paths(struct fixture *f, uint64_t id, char *data, char *meta)
{
	unsigned a, b;
	dn_store_leaf(id, &a, &b);
	snprintf(data, DN_PATH_MAX, "%s/current/%02x/%02x/blk_%llu", f->dir, a, b,
		 (unsigned long long)id);
	snprintf(meta, DN_PATH_MAX, "%s/current/%02x/%02x/blk_%llu.meta", f->dir, a, b,
		 (unsigned long long)id);
}

/* What a power loss does to a replica whose files were never synced: its
 * names and bytes are gone (the data file may also come back empty). */
static void lose_files(struct fixture *f, uint64_t id, int truncate_instead)
{
	char data[DN_PATH_MAX], meta[DN_PATH_MAX];
	replica_paths(f, id, data, meta);
	if (truncate_instead) {
		assert_int_equal(truncate(data, 0), 0);
		return;
	}
	assert_int_equal(unlink(data), 0);
	assert_int_equal(unlink(meta), 0);
}

struct crash_plan {
	uint64_t id[8], gs[8];
	size_t len[8];
	unsigned seed[8];
	int n;
};

/* Runs the plan's writes in a child that then dies without closing the
 * store: nothing is checkpointed. The parent's store is closed first and
 * reopened by the caller. */
static void crash_after(struct fixture *f, const struct crash_plan *p)
{
	if (f->open)
		dn_store_close(&f->s);
	f->open = 0;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct dn_store s;
		if (dn_store_open(&s, f->dir, JOURNAL_BYTES) != 0)
			_exit(10);
		uint8_t *buf = malloc(LEN_MAX);
		for (int i = 0; i < p->n; i++) {
			fill(buf, p->len[i], p->seed[i]);
			if (write_replica(&s, p->id[i], p->gs[i], buf, p->len[i]) != 0)
				_exit(20 + i);
		}
		_exit(0);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void reopen(struct fixture *f)
{
	assert_int_equal(dn_store_open(&f->s, f->dir, JOURNAL_BYTES), 0);
	f->open = 1;
}

static void expect_seeded(struct fixture *f, uint64_t id, uint64_t gs, size_t len,
			  unsigned seed)
{
	uint8_t *buf = malloc(LEN_MAX);
	fill(buf, len, seed);
	expect_replica(&f->s, id, gs, buf, len);
	free(buf);
}

static void test_small_create_goes_through_journal(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[10000];
	fill(buf, sizeof(buf), 1);
	assert_int_equal(write_replica(&f->s, 5, 100, buf, sizeof(buf)), 0);
	struct dn_journal_stats st;
	dn_journal_get_stats(f->s.journal[0], &st);
	assert_int_equal(st.records, 1);
	assert_true(st.used_bytes > sizeof(buf));
	expect_replica(&f->s, 5, 100, buf, sizeof(buf));
	/* its files are synced by the next checkpoint, not before */
	pthread_mutex_lock(&f->s.lock);
	uint32_t gen = dn_store_find_locked(&f->s, 5)->jgen;
	pthread_mutex_unlock(&f->s.lock);
	assert_true(gen != 0);
	assert_false(dn_journal_covers(f->s.journal[0], gen));
	assert_int_equal(dn_journal_checkpoint(f->s.journal[0]), 0);
	assert_true(dn_journal_covers(f->s.journal[0], gen));
	dn_journal_get_stats(f->s.journal[0], &st);
	assert_int_equal(st.used_bytes, 0);
	/* a clean close checkpoints: the next open has nothing to replay */
	dn_store_close(&f->s);
	f->open = 0;
	reopen(f);
	dn_journal_get_stats(f->s.journal[0], &st);
	assert_int_equal(st.replayed, 0);
	assert_int_equal(st.used_bytes, 0);
	expect_replica(&f->s, 5, 100, buf, sizeof(buf));
}

/* Number of entries in dir (not . and ..). */
static int count_entries(const char *dir)
{
	char cmd[700];
	snprintf(cmd, sizeof(cmd), "ls -A '%s' | wc -l", dir);
	FILE *p = popen(cmd, "r");
	int n = -1;
	if (p == NULL || fscanf(p, "%d", &n) != 1)
		n = -1;
	if (p != NULL)
		pclose(p);
	return n;
}

struct reader_arg {
	struct dn_store *s;
	uint64_t id, gs;
	_Atomic pid_t tid;
	_Atomic int done;
	int rc;
	uint64_t length;
};

static void *read_replica_main(void *p)
{
	struct reader_arg *a = p;
	struct dn_reader r;
	a->tid = gettid();
	a->rc = dn_reader_open(a->s, a->id, a->gs, &r);
	if (a->rc == 0) {
		a->length = r.length;
		dn_reader_close(&r);
	}
	a->done = 1;
	return NULL;
}

/* The scheduler state of thread tid of this process ('S': asleep). */
static char thread_state(pid_t tid)
{
	char path[64], buf[256];
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return '?';
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *paren = strrchr(buf, ')'); /* "tid (comm) S ..." */
	return paren != NULL && paren[1] == ' ' ? paren[2] : '?';
}

/* A new small replica has no files while it is written; once the journal
 * holds it, it is acked before its files are written straight into
 * current/ (no rbw/ files, no renames), and a reader that comes in
 * between waits for them instead of finding nothing. */
static void test_journaled_replica_is_placed_after_ack(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[20000];
	char rbw[600];
	fill(buf, sizeof(buf), 9);
	snprintf(rbw, sizeof(rbw), "%s/rbw", f->dir);
	struct dn_writer *w;
	assert_int_equal(dn_writer_open(&f->s, 7, 300, 1, 0, &w), 0);
	uint32_t crcs[64];
	dfs_crc32c_chunks(0, buf, sizeof(buf), crcs);
	int wrote = dn_writer_write(w, 0, buf, sizeof(buf), crcs);
	int rbw_files = count_entries(rbw);
	int rc = dn_writer_finish_synced(w, NULL);
	bool waited = false;
	struct reader_arg a = { .s = &f->s, .id = 7, .gs = 300 };
	if (rc == DN_WRITER_PLACE) { /* w (and the journal's apply lock) until placed */
		pthread_t t;
		if (pthread_create(&t, NULL, read_replica_main, &a) == 0) {
			/* until the reader is asleep (waiting) or has answered */
			for (int i = 0; i < 10000 && !a.done &&
					(a.tid == 0 || thread_state(a.tid) != 'S');
			     i++)
				usleep(1000);
			waited = !a.done; /* else it found no files, or never waited */
			rc = dn_writer_place(w, NULL);
			pthread_join(t, NULL);
		} else {
			rc = dn_writer_place(w, NULL);
		}
	}
	assert_int_equal(wrote, 0);
	assert_int_equal(rbw_files, 0);
	assert_int_equal(rc, 0);
	assert_true(waited);
	struct dn_journal_stats st;
	dn_journal_get_stats(f->s.journal[0], &st);
	assert_int_equal(st.records, 1);
	assert_int_equal(a.rc, 0);
	assert_int_equal(a.length, sizeof(buf));
	assert_int_equal(count_entries(rbw), 0);
	expect_replica(&f->s, 7, 300, buf, sizeof(buf));
}

/* A new small replica that must be synced before its last packet (an
 * fsync mid-block) gets its rbw/ files then, and still ends journaled. */
static void test_synced_small_replica_gets_rbw_files(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[12000];
	char rbw[600];
	fill(buf, sizeof(buf), 11);
	snprintf(rbw, sizeof(rbw), "%s/rbw", f->dir);
	struct dn_writer *w;
	uint32_t crcs[64];
	assert_int_equal(dn_writer_open(&f->s, 8, 400, 1, 0, &w), 0);
	dfs_crc32c_chunks(0, buf, 5000, crcs);
	assert_int_equal(dn_writer_write(w, 0, buf, 5000, crcs), 0);
	assert_int_equal(dn_writer_sync(w), 0);
	assert_int_equal(count_entries(rbw), 2); /* data and meta */
	dfs_crc32c_chunks(5000, buf + 5000, sizeof(buf) - 5000, crcs);
	assert_int_equal(dn_writer_write(w, 5000, buf + 5000, sizeof(buf) - 5000, crcs), 0);
	assert_int_equal(dn_writer_finish_synced(w, NULL), 0);
	assert_int_equal(count_entries(rbw), 0);
	expect_replica(&f->s, 8, 400, buf, sizeof(buf));
}

static void test_replay_restores_lost_replicas(void **state)
{
	struct fixture *f = *state;
	struct crash_plan p = { .n = 3 };
	for (int i = 0; i < p.n; i++) {
		p.id[i] = 10 + (uint64_t)i;
		p.gs[i] = 200 + (uint64_t)i;
		p.len[i] = i == 0 ? 1 : (size_t)(i * 50000 + 13);
		p.seed[i] = 7 + (unsigned)i;
	}
	crash_after(f, &p);
	lose_files(f, 10, 0);
	lose_files(f, 11, 1);
	/* 12 keeps its files: the replay rewrites them alike */
	reopen(f);
	struct dn_journal_stats st;
	dn_journal_get_stats(f->s.journal[0], &st);
	assert_int_equal(st.replayed, 3);
	for (int i = 0; i < p.n; i++)
		expect_seeded(f, p.id[i], p.gs[i], p.len[i], p.seed[i]);
	/* and the ring is empty again: a second start replays nothing */
	dn_store_close(&f->s);
	f->open = 0;
	lose_files(f, 10, 0);
	reopen(f);
	dn_journal_get_stats(f->s.journal[0], &st);
	assert_int_equal(st.replayed, 0);
	struct dn_replica_info info;
	assert_int_equal(dn_store_lookup(&f->s, 10, &info), -ENOENT);
}

static void test_replay_keeps_newer_genstamp(void **state)
{
	struct fixture *f = *state;
	/* the same block written twice: the later (newer) record wins */
	struct crash_plan p = { .n = 2, .id = { 30, 30 }, .gs = { 300, 301 },
				.len = { 5000, 7000 }, .seed = { 1, 2 } };
	crash_after(f, &p);
	lose_files(f, 30, 0);
	reopen(f);
	expect_seeded(f, 30, 301, 7000, 2);
	/* a newer replica on disk than a record: the record is skipped */
	struct crash_plan q = { .n = 1, .id = { 31 }, .gs = { 400 }, .len = { 3000 },
				.seed = { 3 } };
	crash_after(f, &q);
	char data[DN_PATH_MAX], meta[DN_PATH_MAX];
	replica_paths(f, 31, data, meta);
	int fd = open(meta, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(dn_meta_write_header(fd, 401), 0);
	close(fd);
	reopen(f);
	struct dn_replica_info info;
	assert_int_equal(dn_store_lookup(&f->s, 31, &info), 0);
	assert_int_equal(info.genstamp, 401);
}

/* A journaled replica rewritten in place (an append: the classic synced
 * finish) before any checkpoint: the replay after a crash must keep the
 * rewrite, not put the journal's older version back. */
static void test_rewrite_after_journal_survives_replay(void **state)
{
	struct fixture *f = *state;
	dn_store_close(&f->s);
	f->open = 0;
	uint8_t *all = malloc(12000);
	fill(all, 12000, 21);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct dn_store s;
		struct dn_writer *w;
		if (dn_store_open(&s, f->dir, JOURNAL_BYTES) != 0 ||
		    write_replica(&s, 90, 1100, all, 8000) != 0 ||
		    dn_writer_open(&s, 90, 1101, 0, 1100, &w) != 0)
			_exit(10);
		uint32_t crcs[4];
		dfs_crc32c_chunks(8000, all + 8000, 4000, crcs);
		if (dn_writer_write(w, 8000, all + 8000, 4000, crcs) != 0 ||
		    dn_writer_finish(w, NULL) != 0)
			_exit(11);
		_exit(0);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	reopen(f);
	struct dn_journal_stats st;
	dn_journal_get_stats(f->s.journal[0], &st);
	assert_int_equal(st.replayed, 1);
	expect_replica(&f->s, 90, 1101, all, 12000);
	free(all);
}

static void test_torn_record_ends_the_log(void **state)
{
	struct fixture *f = *state;
	struct crash_plan p = { .n = 3, .id = { 40, 41, 42 }, .gs = { 500, 501, 502 },
				.len = { 4096, 8192, 12288 }, .seed = { 4, 5, 6 } };
	crash_after(f, &p);
	/* flip a byte inside the second record's data */
	char jpath[600];
	snprintf(jpath, sizeof(jpath), "%s/journal", f->dir);
	int fd = open(jpath, O_RDWR);
	assert_true(fd >= 0);
	off_t at = 4096 + 40 + 4096 + 40 + 100; /* base, rec 1, header 2, into data */
	uint8_t b;
	assert_int_equal(pread(fd, &b, 1, at), 1);
	b ^= 0xff;
	assert_int_equal(pwrite(fd, &b, 1, at), 1);
	close(fd);
	for (int i = 0; i < 3; i++)
		lose_files(f, p.id[i], 0);
	reopen(f);
	struct dn_journal_stats st;
	dn_journal_get_stats(f->s.journal[0], &st);
	assert_int_equal(st.replayed, 1);
	expect_seeded(f, 40, 500, 4096, 4);
	struct dn_replica_info info;
	assert_int_equal(dn_store_lookup(&f->s, 41, &info), -ENOENT);
	assert_int_equal(dn_store_lookup(&f->s, 42, &info), -ENOENT);
}

static void test_ring_wraps_with_checkpoints(void **state)
{
	struct fixture *f = *state;
	/* 40 replicas of 100K through a 1M ring: it fills and wraps several
	 * times; every write succeeds (journaled, or synced in its own files
	 * while the ring is full) and reads back. */
	size_t len = 100000;
	uint8_t *buf = malloc(len);
	for (unsigned i = 0; i < 40; i++) {
		fill(buf, len, 50 + i);
		assert_int_equal(write_replica(&f->s, 100 + i, 600 + i, buf, len), 0);
	}
	struct dn_journal_stats st;
	dn_journal_get_stats(f->s.journal[0], &st);
	assert_true(st.records >= 10);
	assert_int_equal(st.records + st.full, 40);
	assert_true(st.checkpoints >= 1);
	for (unsigned i = 0; i < 40; i++)
		expect_seeded(f, 100 + i, 600 + i, len, 50 + i);
	free(buf);
	/* after a crash, what the ring still holds comes back */
	struct crash_plan p = { .n = 4, .id = { 200, 201, 202, 203 },
				.gs = { 700, 701, 702, 703 },
				.len = { 90000, 90000, 90000, 90000 },
				.seed = { 9, 10, 11, 12 } };
	crash_after(f, &p);
	for (int i = 0; i < 4; i++)
		lose_files(f, p.id[i], 0);
	reopen(f);
	for (int i = 0; i < 4; i++)
		expect_seeded(f, p.id[i], p.gs[i], p.len[i], p.seed[i]);
}

static void test_large_replica_skips_journal(void **state)
{
	struct fixture *f = *state;
	size_t len = 200000; /* above a 1M ring's per-replica limit */
	assert_true(len > dn_journal_replica_max(f->s.journal[0]));
	uint8_t *buf = malloc(len);
	fill(buf, len, 77);
	assert_int_equal(write_replica(&f->s, 60, 800, buf, len), 0);
	struct dn_journal_stats st;
	dn_journal_get_stats(f->s.journal[0], &st);
	assert_int_equal(st.records, 0);
	expect_replica(&f->s, 60, 800, buf, len);
	free(buf);
}

static void test_turning_journal_off_replays_it(void **state)
{
	struct fixture *f = *state;
	struct crash_plan p = { .n = 1, .id = { 70 }, .gs = { 900 }, .len = { 2000 },
				.seed = { 13 } };
	crash_after(f, &p);
	lose_files(f, 70, 0);
	assert_int_equal(dn_store_open(&f->s, f->dir, 0), 0);
	f->open = 1;
	assert_null(f->s.journal[0]);
	expect_seeded(f, 70, 900, 2000, 13);
	char jpath[600];
	struct stat sb;
	snprintf(jpath, sizeof(jpath), "%s/journal", f->dir);
	assert_int_equal(stat(jpath, &sb), -1);
}

static void test_bad_superblock_makes_new_journal(void **state)
{
	struct fixture *f = *state;
	dn_store_close(&f->s);
	f->open = 0;
	char jpath[600];
	snprintf(jpath, sizeof(jpath), "%s/journal", f->dir);
	int fd = open(jpath, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "garbage!", 8, 0), 8);
	close(fd);
	reopen(f);
	uint8_t buf[3000];
	fill(buf, sizeof(buf), 14);
	assert_int_equal(write_replica(&f->s, 80, 1000, buf, sizeof(buf)), 0);
	expect_replica(&f->s, 80, 1000, buf, sizeof(buf));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_small_create_goes_through_journal, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_journaled_replica_is_placed_after_ack, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_synced_small_replica_gets_rbw_files, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_replay_restores_lost_replicas, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_replay_keeps_newer_genstamp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rewrite_after_journal_survives_replay, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_torn_record_ends_the_log, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ring_wraps_with_checkpoints, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_replica_skips_journal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_turning_journal_off_replays_it, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bad_superblock_makes_new_journal, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
