/* test-blockstore.c: the datanode block store on real temporary
 * directories: writes, rewrites, truncates, gaps, checksums, restarts,
 * several data dirs, stale genstamps, rbw recovery and the move of
 * replicas from the layout-1 directories. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/crc32c.h"
#include "common/errors.h"
#include "datanode/blockmeta.h"
#include "datanode/blockscan.h"
#include "datanode/blockstore.h"
#include "datanode/replica_read.h"
#include "datanode/replica_write.h"
#include "tests/unit/replica-check.h"


struct fixture {
	char root[256];
	char dirs[512];
	struct dn_store s;
};

static int rm_rf(const char *path)
{
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	return system(cmd);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	snprintf(f->root, sizeof(f->root), "%s/dfs-bs-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(f->root) == NULL)
		return -1;
	snprintf(f->dirs, sizeof(f->dirs), "%s/d1", f->root);
	if (dn_store_open(&f->s, f->dirs, 0) != 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	dn_store_close(&f->s);
	rm_rf(f->root);
	free(f);
	return 0;
}

static void reopen(struct fixture *f)
{
	dn_store_close(&f->s);
	assert_int_equal(dn_store_open(&f->s, f->dirs, 0), 0);
}

static void fill(uint8_t *buf, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(seed * 31 + i * 7 + (i >> 12));
}

/* Writes buf at off through a writer, with the CRCs a client would send. */
static void put(struct dn_writer *w, uint64_t off, const uint8_t *buf, size_t len)
{
	uint32_t *crcs = malloc(sizeof(uint32_t) * (dfs_crc32c_pieces(off, len) + 1));
	dfs_crc32c_chunks(off, buf, len, crcs);
	assert_int_equal(dn_writer_write(w, off, buf, len, crcs), 0);
	free(crcs);
}

static void test_create_write_read(void **state)
{
	struct fixture *f = *state;
	struct dn_writer *w;
	size_t len = 3 * 65536 + 1000;
	uint8_t *data = malloc(len);
	fill(data, len, 1);
	assert_int_equal(dn_writer_open(&f->s, 7, 1001, 1, 0, &w), 0);
	for (size_t off = 0; off < len; off += 65536)
		put(w, off, data + off, len - off < 65536 ? len - off : 65536);
	struct dn_replica_info info;
	assert_int_equal(dn_writer_finish(w, &info), 0);
	assert_int_equal(info.length, len);
	assert_int_equal(info.state, DN_RS_FINALIZED);
	expect_replica(&f->s, 7, 1001, data, len);
	/* the files are under current/<xx>/<yy>/ */
	char p[DN_PATH_MAX];
	struct stat st;
	snprintf(p, sizeof(p), "%s/current/00/00/blk_7.meta", f->dirs);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_size, DN_META_HEADER_SIZE + 4 * dn_meta_chunks(len));
	free(data);
}

static void test_partial_rewrite(void **state)
{
	struct fixture *f = *state;
	struct dn_writer *w;
	size_t len = 5 * DFS_CHUNK_SIZE + 123;
	uint8_t *data = malloc(len), patch[6000];
	fill(data, len, 2);
	assert_int_equal(dn_writer_open(&f->s, 8, 1, 1, 0, &w), 0);
	put(w, 0, data, len);
	assert_int_equal(dn_writer_finish(w, NULL), 0);

	/* unaligned write spanning two partial chunks, at a new genstamp */
	fill(patch, sizeof(patch), 3);
	assert_int_equal(dn_writer_open(&f->s, 8, 2, 0, 2, &w), -DFS_ESTALE);
	assert_int_equal(dn_writer_open(&f->s, 8, 2, 0, 1, &w), 0);
	put(w, 1000, patch, sizeof(patch));
	/* and one into the partial last chunk, extending it */
	put(w, len - 50, patch, 100);
	assert_int_equal(dn_writer_finish(w, NULL), 0);
	memcpy(data + 1000, patch, sizeof(patch));
	data = realloc(data, len + 50);
	memcpy(data + len - 50, patch, 100);
	/* the old genstamp is stale now, for readers and for the meta header */
	struct dn_reader r;
	assert_int_equal(dn_reader_open(&f->s, 8, 1, &r), -DFS_ESTALE);
	expect_replica(&f->s, 8, 2, data, len + 50);
	reopen(f);
	expect_replica(&f->s, 8, 2, data, len + 50);
	free(data);
}

/* Pipeline recovery names the genstamp its rewrite started from, while a
 * survivor may have finished the failed stream already (its last packet
 * went through before the ack that showed a datanode failed) or cut it
 * short: both continue; a replica older than that start, or a genstamp
 * that is not newer than the replica's, is refused. */
static void test_recovery_genstamps(void **state)
{
	struct fixture *f = *state;
	struct dn_writer *w;
	size_t len = 3 * DFS_CHUNK_SIZE + 10;
	uint8_t patch[5000], *data = malloc(len + sizeof(patch));
	fill(data, len, 6);
	assert_int_equal(dn_writer_open(&f->s, 13, 1, 1, 0, &w), 0);
	put(w, 0, data, len);
	assert_int_equal(dn_writer_finish(w, NULL), 0);

	/* the failed stream (genstamp 2, from 1) finished here */
	fill(patch, sizeof(patch), 7);
	assert_int_equal(dn_writer_open(&f->s, 13, 2, 0, 1, &w), 0);
	put(w, len, patch, sizeof(patch));
	assert_int_equal(dn_writer_finish(w, NULL), 0);
	/* its recovery (genstamp 3, from 1): back to the acked length, resent */
	assert_int_equal(dn_writer_open(&f->s, 13, 3, 0, 1, &w), 0);
	assert_int_equal(dn_writer_truncate(w, len), 0);
	put(w, len, patch, sizeof(patch));
	assert_int_equal(dn_writer_finish(w, NULL), 0);
	memcpy(data + len, patch, sizeof(patch));
	expect_replica(&f->s, 13, 3, data, len + sizeof(patch));

	/* older than the writer's start: stale; not newer than the replica */
	assert_int_equal(dn_writer_open(&f->s, 13, 5, 0, 4, &w), -DFS_ESTALE);
	assert_int_equal(dn_writer_open(&f->s, 13, 3, 0, 1, &w), -DFS_ESTALE);
	/* a rewrite cut short (4, from 3) leaves 3 on disk; the namenode may
	 * know 4, and either start continues */
	assert_int_equal(dn_writer_open(&f->s, 13, 4, 0, 3, &w), 0);
	put(w, 0, patch, 100);
	dn_writer_abort(w);
	assert_int_equal(dn_writer_open(&f->s, 13, 5, 0, 4, &w), 0);
	dn_writer_abort(w);
	assert_int_equal(dn_writer_open(&f->s, 13, 6, 0, 3, &w), 0);
	assert_int_equal(dn_writer_finish(w, NULL), 0);
	memcpy(data, patch, 100);
	expect_replica(&f->s, 13, 6, data, len + sizeof(patch));
	free(data);
}

static void test_truncate_and_gap(void **state)
{
	struct fixture *f = *state;
	struct dn_writer *w;
	size_t len = 4 * DFS_CHUNK_SIZE;
	size_t gap_at = 10 * DFS_CHUNK_SIZE + 17;
	uint8_t *data = calloc(1, gap_at + 100), tail[100];
	fill(data, len, 4);
	fill(tail, sizeof(tail), 5);
	assert_int_equal(dn_writer_open(&f->s, 9, 1, 1, 0, &w), 0);
	put(w, 0, data, len);
	assert_int_equal(dn_writer_finish(w, NULL), 0);

	/* cut into the middle of a chunk: old bytes must not come back */
	assert_int_equal(dn_writer_open(&f->s, 9, 2, 0, 1, &w), 0);
	assert_int_equal(dn_writer_truncate(w, 2 * DFS_CHUNK_SIZE + 5), 0);
	assert_int_equal(dn_writer_length(w), 2 * DFS_CHUNK_SIZE + 5);
	/* write past the end: [2*4096+5, gap_at) reads as zeros */
	put(w, gap_at, tail, sizeof(tail));
	assert_int_equal(dn_writer_finish(w, NULL), 0);
	memset(data + 2 * DFS_CHUNK_SIZE + 5, 0, gap_at - (2 * DFS_CHUNK_SIZE + 5));
	memcpy(data + gap_at, tail, sizeof(tail));
	expect_replica(&f->s, 9, 2, data, gap_at + sizeof(tail));

	/* truncate that extends */
	assert_int_equal(dn_writer_open(&f->s, 9, 3, 0, 2, &w), 0);
	assert_int_equal(dn_writer_truncate(w, 100), 0);
	assert_int_equal(dn_writer_truncate(w, 3 * DFS_CHUNK_SIZE), 0);
	assert_int_equal(dn_writer_finish(w, NULL), 0);
	memset(data + 100, 0, 3 * DFS_CHUNK_SIZE - 100);
	expect_replica(&f->s, 9, 3, data, 3 * DFS_CHUNK_SIZE);
	free(data);
}

static void test_corruption_detected(void **state)
{
	struct fixture *f = *state;
	struct dn_writer *w;
	size_t len = 8 * DFS_CHUNK_SIZE;
	uint8_t *data = malloc(len);
	fill(data, len, 6);
	assert_int_equal(dn_writer_open(&f->s, 10, 1, 1, 0, &w), 0);
	put(w, 0, data, len);
	assert_int_equal(dn_writer_finish(w, NULL), 0);

	char p[DN_PATH_MAX];
	dn_store_path(&f->s, 0, DN_RS_FINALIZED, 10, 0, p, sizeof(p));
	int fd = open(p, O_RDWR);
	uint8_t b;
	assert_int_equal(pread(fd, &b, 1, 5 * DFS_CHUNK_SIZE + 9), 1);
	b ^= 0x20;
	assert_int_equal(pwrite(fd, &b, 1, 5 * DFS_CHUNK_SIZE + 9), 1);
	close(fd);

	struct dn_reader r;
	uint8_t *buf = malloc(len);
	uint32_t crcs[8];
	assert_int_equal(dn_reader_open(&f->s, 10, 1, &r), 0);
	assert_int_equal(dn_reader_read(&r, 0, buf, len, crcs), (ssize_t)len);
	int bad = -1;
	for (int i = 0; i < 8; i++)
		if (dfs_crc32c(0, buf + i * DFS_CHUNK_SIZE, DFS_CHUNK_SIZE) != crcs[i])
			bad = bad < 0 ? i : 99;
	assert_int_equal(bad, 5);
	assert_int_equal(dn_scan_verified_length(r.data_fd, r.meta_fd, len),
			 5 * DFS_CHUNK_SIZE);
	dn_reader_close(&r);
	free(buf);
	free(data);
}

static void test_restart_and_two_dirs(void **state)
{
	struct fixture *f = *state;
	struct dn_writer *w;
	uint8_t data[10000];
	fill(data, sizeof(data), 7);
	char uuid[DN_UUID_MAX];
	snprintf(uuid, sizeof(uuid), "%s", f->s.uuid);
	assert_int_equal(dn_writer_open(&f->s, 0x1234, 5, 1, 0, &w), 0);
	put(w, 0, data, sizeof(data));
	assert_int_equal(dn_writer_finish(w, NULL), 0);

	/* add a second dir, move the replica there by hand */
	char d2[300], from[DN_PATH_MAX], to[DN_PATH_MAX];
	snprintf(d2, sizeof(d2), "%s/d2", f->root);
	snprintf(f->dirs + strlen(f->dirs), sizeof(f->dirs) - strlen(f->dirs), ",%s", d2);
	reopen(f);
	assert_int_equal(f->s.n_dirs, 2);
	assert_string_equal(f->s.uuid, uuid);
	assert_int_equal(dn_store_make_parent(&f->s, 1, 0x1234), 0);
	for (int m = 0; m < 2; m++) {
		dn_store_path(&f->s, 0, DN_RS_FINALIZED, 0x1234, m, from, sizeof(from));
		dn_store_path(&f->s, 1, DN_RS_FINALIZED, 0x1234, m, to, sizeof(to));
		assert_int_equal(rename(from, to), 0);
	}
	assert_non_null(strstr(to, "/d2/current/00/12/blk_4660.meta"));
	reopen(f);
	struct dn_replica_info info;
	assert_int_equal(dn_store_lookup(&f->s, 0x1234, &info), 0);
	assert_int_equal(info.dir, 1);
	assert_int_equal(info.genstamp, 5);
	assert_int_equal(info.length, sizeof(data));
	expect_replica(&f->s, 0x1234, 5, data, sizeof(data));
	/* a second dir of another datanode is refused */
	struct dn_store other;
	char odir[300], both[700];
	snprintf(odir, sizeof(odir), "%s/o", f->root);
	assert_int_equal(dn_store_open(&other, odir, 0), 0);
	dn_store_close(&other);
	snprintf(both, sizeof(both), "%s,%s", f->dirs, odir);
	assert_int_equal(dn_store_open(&other, both, 0), -EINVAL);
}

static void test_stale_and_missing(void **state)
{
	struct fixture *f = *state;
	struct dn_writer *w;
	struct dn_reader r;
	uint8_t data[100] = { 1 };
	assert_int_equal(dn_reader_open(&f->s, 11, 1, &r), -ENOENT);
	assert_int_equal(dn_writer_open(&f->s, 11, 2, 0, 1, &w), -ENOENT);
	assert_int_equal(dn_writer_open(&f->s, 11, 5, 1, 0, &w), 0);
	put(w, 0, data, sizeof(data));
	assert_int_equal(dn_writer_finish(w, NULL), 0);
	assert_int_equal(dn_reader_open(&f->s, 11, 4, &r), -DFS_ESTALE);
	assert_int_equal(dn_reader_open(&f->s, 11, 6, &r), -DFS_ESTALE);
	/* create over a replica that is as new: refused; older: replaced */
	assert_int_equal(dn_writer_open(&f->s, 11, 5, 1, 0, &w), -EEXIST);
	assert_int_equal(dn_writer_open(&f->s, 11, 7, 1, 0, &w), 0);
	put(w, 0, data, 50);
	assert_int_equal(dn_writer_finish(w, NULL), 0);
	expect_replica(&f->s, 11, 7, data, 50);
	/* delete: not with an older genstamp, yes with the current one */
	assert_int_equal(dn_store_delete(&f->s, 11, 6, NULL), -DFS_ESTALE);
	assert_int_equal(dn_store_delete(&f->s, 11, 7, NULL), 0);
	assert_int_equal(dn_reader_open(&f->s, 11, 7, &r), -ENOENT);
	reopen(f);
	assert_int_equal(dn_reader_open(&f->s, 11, 7, &r), -ENOENT);
}

static void test_rbw_recovery(void **state)
{
	struct fixture *f = *state;
	struct dn_writer *w;
	size_t len = 6 * DFS_CHUNK_SIZE + 10;
	uint8_t *data = malloc(len);
	fill(data, len, 8);
	assert_int_equal(dn_writer_open(&f->s, 12, 3, 1, 0, &w), 0);
	put(w, 0, data, len);
	/* a second writer is refused while the first holds the replica */
	struct dn_writer *w2;
	assert_int_equal(dn_writer_open(&f->s, 12, 4, 0, 3, &w2), -EBUSY);
	dn_writer_abort(w); /* stream cut: stays RBW */
	struct dn_replica_info info;
	assert_int_equal(dn_store_lookup(&f->s, 12, &info), 0);
	assert_int_equal(info.state, DN_RS_RBW);
	/* damage chunk 4 of the rbw file: recovery keeps chunks 0..3 */
	char p[DN_PATH_MAX];
	dn_store_path(&f->s, 0, DN_RS_RBW, 12, 0, p, sizeof(p));
	int fd = open(p, O_RDWR);
	assert_int_equal(pwrite(fd, "XYZ", 3, 4 * DFS_CHUNK_SIZE + 1), 3);
	close(fd);
	reopen(f);
	assert_int_equal(dn_store_lookup(&f->s, 12, &info), 0);
	assert_int_equal(info.state, DN_RS_FINALIZED);
	assert_int_equal(info.length, 4 * DFS_CHUNK_SIZE);
	expect_replica(&f->s, 12, 3, data, 4 * DFS_CHUNK_SIZE);
	assert_int_equal(access(p, F_OK), -1);
	free(data);
}

/* Puts replica id's files where layout 1 had them (leaf named after the
 * low byte); with data_only, only the data file (a move cut short after
 * the meta file). */
static void to_layout1(struct fixture *f, uint64_t id, int data_only)
{
	char from[DN_PATH_MAX], to[DN_PATH_MAX];
	snprintf(to, sizeof(to), "%s/current/%02x", f->dirs, (unsigned)((id >> 8) & 0xff));
	mkdir(to, 0755);
	snprintf(to, sizeof(to), "%s/current/%02x/%02x", f->dirs, (unsigned)((id >> 8) & 0xff),
		 (unsigned)(id & 0xff));
	mkdir(to, 0755);
	for (int m = 0; m < (data_only ? 1 : 2); m++) {
		dn_store_path(&f->s, 0, DN_RS_FINALIZED, id, m, from, sizeof(from));
		snprintf(to, sizeof(to), "%s/current/%02x/%02x/blk_%llu%s", f->dirs,
			 (unsigned)((id >> 8) & 0xff), (unsigned)(id & 0xff), (unsigned long long)id,
			 m ? ".meta" : "");
		assert_int_equal(rename(from, to), 0);
	}
}

static void test_layout1_moved(void **state)
{
	struct fixture *f = *state;
	static const uint64_t ids[] = {0x1234, 0x20305, 7};
	uint8_t data[3][5000];
	char marker[DN_PATH_MAX], p[DN_PATH_MAX];
	snprintf(marker, sizeof(marker), "%s/current/layout-2", f->dirs);
	assert_int_equal(access(marker, F_OK), 0); /* a new store is in layout 2 */
	for (int i = 0; i < 3; i++) {
		struct dn_writer *w;
		fill(data[i], sizeof(data[i]), (unsigned)i + 20);
		assert_int_equal(dn_writer_open(&f->s, ids[i], 3, 1, 0, &w), 0);
		put(w, 0, data[i], sizeof(data[i]));
		assert_int_equal(dn_writer_finish(w, NULL), 0);
	}
	/* 256 consecutive ids share a directory */
	dn_store_path(&f->s, 0, DN_RS_FINALIZED, 0x20305, 0, p, sizeof(p));
	assert_non_null(strstr(p, "/current/02/03/blk_131845"));
	/* a store written by layout 1, where moving blk 7 was cut short */
	dn_store_close(&f->s);
	assert_int_equal(dn_store_open(&f->s, f->dirs, 0), 0);
	to_layout1(f, 0x1234, 0);
	to_layout1(f, 0x20305, 0);
	to_layout1(f, 7, 1);
	assert_int_equal(unlink(marker), 0);
	reopen(f);
	assert_int_equal(access(marker, F_OK), 0);
	for (int i = 0; i < 3; i++) {
		struct dn_replica_info info;
		assert_int_equal(dn_store_lookup(&f->s, ids[i], &info), 0);
		assert_int_equal(info.length, sizeof(data[i]));
		expect_replica(&f->s, ids[i], 3, data[i], sizeof(data[i]));
		for (int m = 0; m < 2; m++) {
			dn_store_path(&f->s, 0, DN_RS_FINALIZED, ids[i], m, p, sizeof(p));
			assert_int_equal(access(p, F_OK), 0);
			snprintf(p, sizeof(p), "%s/current/%02x/%02x/blk_%llu%s", f->dirs,
				 (unsigned)((ids[i] >> 8) & 0xff), (unsigned)(ids[i] & 0xff),
				 (unsigned long long)ids[i], m ? ".meta" : "");
			assert_int_equal(access(p, F_OK), -1);
		}
	}
}

static void test_cluster_id(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(dn_store_check_cluster(&f->s, "c1"), 0);
	assert_int_equal(dn_store_check_cluster(&f->s, "c1"), 0);
	assert_int_equal(dn_store_check_cluster(&f->s, "c2"), -EXDEV);
	reopen(f);
	assert_string_equal(f->s.cluster_id, "c1");
	assert_int_equal(dn_store_check_cluster(&f->s, "c2"), -EXDEV);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_write_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_partial_rewrite, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recovery_genstamps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncate_and_gap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corruption_detected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart_and_two_dirs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_and_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rbw_recovery, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cluster_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_layout1_moved, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
