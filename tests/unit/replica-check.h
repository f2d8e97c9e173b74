/* replica-check.h: a datanode unit test's check that a replica in a block
 * store reads back as expected (test-blockstore, test-journal). Include
 * after <cmocka.h>. */
#ifndef DFS_TESTS_REPLICA_CHECK_H
#define DFS_TESTS_REPLICA_CHECK_H
#include <stdint.h>
#include <stdlib.h>

#include "common/crc32c.h"
#include "datanode/replica_read.h"

#define REPLICA_CHECK_PIECE (64u * 1024)

/* Reads the whole replica (id, gs) through the store, checks every stored
 * CRC against the bytes read and compares them with want[0, len). */
static void expect_replica(struct dn_store *s, uint64_t id, uint64_t gs, const uint8_t *want,
			   size_t len)
{
	struct dn_reader r;
	uint8_t *buf = malloc(REPLICA_CHECK_PIECE);
	uint32_t crcs[REPLICA_CHECK_PIECE / DFS_CHUNK_SIZE];
	assert_int_equal(dn_reader_open(s, id, gs, &r), 0);
	assert_int_equal(r.length, len);
	uint64_t off = 0;
	while (off < len) {
		ssize_t n = dn_reader_read(&r, off, buf, REPLICA_CHECK_PIECE, crcs);
		assert_true(n > 0);
		for (ssize_t i = 0; i * (ssize_t)DFS_CHUNK_SIZE < n; i++) {
			size_t cl = (size_t)(n - i * DFS_CHUNK_SIZE);
			cl = cl < DFS_CHUNK_SIZE ? cl : DFS_CHUNK_SIZE;
			assert_int_equal(dfs_crc32c(0, buf + i * DFS_CHUNK_SIZE, cl), crcs[i]);
		}
		assert_memory_equal(buf, want + off, (size_t)n);
		off += (uint64_t)n;
	}
	dn_reader_close(&r);
	free(buf);
}

#endif
