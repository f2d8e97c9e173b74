/* test-common.c: unit tests of the common layer: CRC32C, framing (header
 * codec, send/recv over a socketpair, protobuf round trip, malformed and
 * truncated frames), config parsing, host:port parsing and dfs_strerror. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/config.h"
#include "common/conn_pool.h"
#include "common/crc32c.h"
#include "common/errors.h"
#include "common/frame.h"
#include "common/net.h"
#include "common/proto/namenode.pb-c.h"

/* ---- CRC32C ---- */

static void test_crc32c_vectors(void **state)
{
	(void)state;
	assert_int_equal(dfs_crc32c(0, "123456789", 9), 0xE3069283u);
	assert_int_equal(dfs_crc32c(0, "", 0), 0);
	uint8_t zeros[32] = { 0 };
	assert_int_equal(dfs_crc32c(0, zeros, 32), 0x8A9136AAu); /* RFC 3720 B.4 */
	uint8_t ones[32];
	memset(ones, 0xff, sizeof(ones));
	assert_int_equal(dfs_crc32c(0, ones, 32), 0x62A8AB43u);
	uint8_t inc[32];
	for (int i = 0; i < 32; i++)
		inc[i] = (uint8_t)i;
	assert_int_equal(dfs_crc32c(0, inc, 32), 0x46DD794Eu);
}

static void test_crc32c_chained(void **state)
{
	(void)state;
	uint8_t buf[10000];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7 + 3);
	uint32_t whole = dfs_crc32c(0, buf, sizeof(buf));
	for (size_t cut = 0; cut <= sizeof(buf); cut += 997) {
		uint32_t c = dfs_crc32c(dfs_crc32c(0, buf, cut), buf + cut, sizeof(buf) - cut);
		assert_int_equal(c, whole);
	}
}

static void check_chunks(uint64_t offset, const uint8_t *buf, size_t len)
{
	size_t n = dfs_crc32c_pieces(offset, len);
	uint32_t *out = calloc(n + 1, sizeof(*out));
	assert_non_null(out);
	assert_int_equal(dfs_crc32c_chunks(offset, buf, len, out), n);
	size_t pos = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t abs = offset + pos;
		size_t piece = DFS_CHUNK_SIZE - (size_t)(abs % DFS_CHUNK_SIZE);
		if (piece > len - pos)
			piece = len - pos;
		assert_true(piece > 0);
		assert_int_equal(out[i], dfs_crc32c(0, buf + pos, piece));
		pos += piece;
	}
	assert_int_equal(pos, len);
	free(out);
}

static void test_crc32c_chunks(void **state)
{
	(void)state;
	size_t len = 3 * DFS_CHUNK_SIZE + 123;
	uint8_t *buf = malloc(len);
	assert_non_null(buf);
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(i ^ (i >> 8));
	assert_int_equal(dfs_crc32c_pieces(0, DFS_CHUNK_SIZE), 1);
	assert_int_equal(dfs_crc32c_pieces(0, DFS_CHUNK_SIZE + 1), 2);
	assert_int_equal(dfs_crc32c_pieces(DFS_CHUNK_SIZE - 1, 2), 2);
	assert_int_equal(dfs_crc32c_pieces(100, 10), 1);
	check_chunks(0, buf, len);
	check_chunks(0, buf, DFS_CHUNK_SIZE);
	check_chunks(1, buf, len - 1);
	check_chunks(DFS_CHUNK_SIZE - 1, buf, 2);
	check_chunks(5 * DFS_CHUNK_SIZE + 17, buf, 2 * DFS_CHUNK_SIZE);
	check_chunks(64ull << 20, buf, 1);
	free(buf);
}

/* ---- frames ---- */

static void test_frame_header_roundtrip(void **state)
{
	(void)state;
	struct dfs_frame_header h = { .method = DFS_M_WRITE_PACKET, .proto_len = 77,
				      .data_len = 1u << 20, .call_id = 0x0102030405060708ull };
	uint8_t raw[DFS_FRAME_HEADER_SIZE];
	dfs_frame_header_encode(&h, raw);
	/* big-endian magic "DFS1" first */
	assert_memory_equal(raw, "DFS1", 4);
	struct dfs_frame_header d;
	assert_int_equal(dfs_frame_header_decode(raw, &d), 0);
	assert_int_equal(d.method, h.method);
	assert_int_equal(d.proto_len, h.proto_len);
	assert_int_equal(d.data_len, h.data_len);
	assert_true(d.call_id == h.call_id);
}

static void test_frame_header_rejects(void **state)
{
	(void)state;
	struct dfs_frame_header h = { .method = DFS_M_PING, .proto_len = 1, .data_len = 1 };
	uint8_t raw[DFS_FRAME_HEADER_SIZE];
	struct dfs_frame_header d;

	dfs_frame_header_encode(&h, raw);
	raw[0] ^= 0x40; /* bad magic */
	assert_int_equal(dfs_frame_header_decode(raw, &d), -DFS_EPROTOCOL);

	h.proto_len = DFS_FRAME_PROTO_MAX + 1;
	dfs_frame_header_encode(&h, raw);
	assert_int_equal(dfs_frame_header_decode(raw, &d), -DFS_EPROTOCOL);

	h.proto_len = DFS_FRAME_PROTO_MAX;
	h.data_len = DFS_FRAME_DATA_MAX + 1;
	dfs_frame_header_encode(&h, raw);
	assert_int_equal(dfs_frame_header_decode(raw, &d), -DFS_EPROTOCOL);

	h.data_len = UINT32_MAX;
	dfs_frame_header_encode(&h, raw);
	assert_int_equal(dfs_frame_header_decode(raw, &d), -DFS_EPROTOCOL);

	h.data_len = DFS_FRAME_DATA_MAX; /* the maxima themselves are allowed */
	dfs_frame_header_encode(&h, raw);
	assert_int_equal(dfs_frame_header_decode(raw, &d), 0);
}

static void test_frame_socketpair(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);

	Dfs__NsRequest req = DFS__NS_REQUEST__INIT;
	req.path = "/a/b";
	req.has_replication = 1;
	req.replication = 3;
	req.has_block_size = 1;
	req.block_size = 64ull << 20;
	const char data[] = "raw block bytes";
	assert_int_equal(dfs_frame_send(sv[0], DFS_M_CREATE, 42, &req.base, data, sizeof(data)), 0);
	/* and an empty frame: no protobuf, no data */
	assert_int_equal(dfs_frame_send(sv[0], DFS_M_PING, 43, NULL, NULL, 0), 0);

	struct dfs_frame f;
	memset(&f, 0, sizeof(f));
	assert_int_equal(dfs_frame_recv(sv[1], &f), 0);
	assert_int_equal(f.h.method, DFS_M_CREATE);
	assert_true(f.h.call_id == 42);
	assert_int_equal(f.h.data_len, sizeof(data));
	assert_memory_equal(f.data, data, sizeof(data));
	Dfs__NsRequest *got =
		(Dfs__NsRequest *)dfs_frame_unpack(&f, &dfs__ns_request__descriptor);
	assert_non_null(got);
	assert_string_equal(got->path, "/a/b");
	assert_true(got->has_replication && got->replication == 3);
	assert_true(got->block_size == (64ull << 20));
	protobuf_c_message_free_unpacked(&got->base, NULL);

	assert_int_equal(dfs_frame_recv(sv[1], &f), 0);
	assert_int_equal(f.h.method, DFS_M_PING);
	assert_true(f.h.call_id == 43);
	assert_int_equal(f.h.proto_len, 0);
	assert_int_equal(f.h.data_len, 0);

	/* undecodable protobuf: unpack refuses it */
	uint8_t junk[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	struct dfs_frame_header h = { .method = DFS_M_CREATE, .proto_len = sizeof(junk) };
	uint8_t raw[DFS_FRAME_HEADER_SIZE];
	dfs_frame_header_encode(&h, raw);
	assert_int_equal(write(sv[0], raw, sizeof(raw)), sizeof(raw));
	assert_int_equal(write(sv[0], junk, sizeof(junk)), sizeof(junk));
	assert_int_equal(dfs_frame_recv(sv[1], &f), 0);
	assert_null(dfs_frame_unpack(&f, &dfs__ns_request__descriptor));

	dfs_frame_release(&f);
	close(sv[0]);
	close(sv[1]);
}

static void test_frame_truncated(void **state)
{
	(void)state;
	struct dfs_frame f;
	memset(&f, 0, sizeof(f));
	uint8_t raw[DFS_FRAME_HEADER_SIZE];
	int sv[2];

	/* header promises 100 proto bytes, only 10 arrive */
	struct dfs_frame_header h = { .method = DFS_M_MKDIR, .proto_len = 100, .call_id = 1 };
	dfs_frame_header_encode(&h, raw);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(write(sv[0], raw, sizeof(raw)), sizeof(raw));
	assert_int_equal(write(sv[0], raw, 10), 10);
	close(sv[0]);
	assert_true(dfs_frame_recv(sv[1], &f) < 0);
	close(sv[1]);

	/* half a header */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(write(sv[0], raw, 12), 12);
	close(sv[0]);
	assert_true(dfs_frame_recv(sv[1], &f) < 0);
	close(sv[1]);

	/* bad magic on the wire */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	raw[1] = 'X';
	assert_int_equal(write(sv[0], raw, sizeof(raw)), sizeof(raw));
	assert_int_equal(dfs_frame_recv(sv[1], &f), -DFS_EPROTOCOL);
	close(sv[0]);
	close(sv[1]);

	/* peer closed before anything */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	close(sv[0]);
	assert_int_equal(dfs_frame_recv(sv[1], &f), -ECONNRESET);
	close(sv[1]);
	dfs_frame_release(&f);
}

/* ---- config ---- */

struct test_cfg {
	char *name;
	int64_t count;
	uint64_t size;
	int64_t timeout_ms;
	int64_t period_s;
	int flag;
};

static const struct dfs_config_option test_opts[] = {
	{ "name", DFS_CFG_STRING, "dflt", offsetof(struct test_cfg, name), "a string", 0, 0 },
	{ "count", DFS_CFG_INT, "3", offsetof(struct test_cfg, count), "an int", 1, 16 },
	{ "size", DFS_CFG_SIZE, "64M", offsetof(struct test_cfg, size), "a size", 0, 0 },
	{ "timeout_ms", DFS_CFG_DURATION, "1000", offsetof(struct test_cfg, timeout_ms),
	  "a duration", 0, 0 },
	{ "period_s", DFS_CFG_DURATION, "2", offsetof(struct test_cfg, period_s), "seconds", 0, 0 },
	{ "flag", DFS_CFG_BOOL, "no", offsetof(struct test_cfg, flag), "a bool", 0, 0 },
};
#define N_OPTS (sizeof(test_opts) / sizeof(test_opts[0]))

static int set(struct test_cfg *c, const char *k, const char *v)
{
	char err[256];
	return dfs_config_set(test_opts, N_OPTS, c, k, v, err, sizeof(err));
}

static void test_config_defaults_and_set(void **state)
{
	(void)state;
	struct test_cfg c;
	memset(&c, 0, sizeof(c));
	assert_int_equal(dfs_config_defaults(test_opts, N_OPTS, &c), 0);
	assert_string_equal(c.name, "dflt");
	assert_int_equal(c.count, 3);
	assert_true(c.size == 64ull << 20);
	assert_int_equal(c.timeout_ms, 1000);
	assert_int_equal(c.flag, 0);

	assert_int_equal(set(&c, "size", "1G"), 0);
	assert_true(c.size == 1ull << 30);
	assert_int_equal(set(&c, "size", "4k"), 0);
	assert_true(c.size == 4096);
	assert_int_equal(set(&c, "size", "12"), 0);
	assert_true(c.size == 12);
	assert_int_equal(set(&c, "size", "12X"), -EINVAL);
	assert_int_equal(set(&c, "size", "-1"), -EINVAL);
	assert_int_equal(set(&c, "timeout_ms", "10s"), 0);
	assert_int_equal(c.timeout_ms, 10000);
	assert_int_equal(set(&c, "timeout_ms", "250ms"), 0);
	assert_int_equal(c.timeout_ms, 250);
	assert_int_equal(set(&c, "timeout_ms", "2m"), 0);
	assert_int_equal(c.timeout_ms, 120000);
	assert_int_equal(set(&c, "timeout_ms", "soon"), -EINVAL);
	assert_int_equal(set(&c, "period_s", "5"), 0); /* unit from the _s suffix */
	assert_int_equal(c.period_s, 5000);
	assert_int_equal(set(&c, "flag", "yes"), 0);
	assert_int_equal(c.flag, 1);
	assert_int_equal(set(&c, "flag", "false"), 0);
	assert_int_equal(c.flag, 0);
	assert_int_equal(set(&c, "flag", "maybe"), -EINVAL);
	assert_int_equal(set(&c, "count", "17"), -EINVAL); /* out of range */
	assert_int_equal(set(&c, "count", "x"), -EINVAL);
	assert_int_equal(set(&c, "name", "other"), 0);
	assert_string_equal(c.name, "other");

	char err[256] = "";
	assert_int_equal(dfs_config_set(test_opts, N_OPTS, &c, "bogus", "1", err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "bogus"));
	dfs_config_free(test_opts, N_OPTS, &c);
}

static char *write_tmp(const char *text)
{
	char *path = strdup("/tmp/dfs-test-config.XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void test_config_file(void **state)
{
	(void)state;
	struct test_cfg c;
	memset(&c, 0, sizeof(c));
	char err[512] = "";
	assert_int_equal(dfs_config_defaults(test_opts, N_OPTS, &c), 0);
	char *p = write_tmp("# a comment\n\n  name = from file  \ncount=7\n"
			    "   # indented comment\nsize = 32M\nflag = true\n");
	assert_int_equal(dfs_config_load(test_opts, N_OPTS, &c, p, err, sizeof(err)), 0);
	assert_string_equal(c.name, "from file");
	assert_int_equal(c.count, 7);
	assert_true(c.size == 32ull << 20);
	assert_int_equal(c.flag, 1);
	unlink(p);
	free(p);

	p = write_tmp("count = 2\n# ok\nnope = 1\n");
	assert_int_equal(dfs_config_load(test_opts, N_OPTS, &c, p, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, ":3:")); /* line number of the unknown key */
	assert_non_null(strstr(err, "nope"));
	unlink(p);
	free(p);

	p = write_tmp("size = lots\n");
	assert_int_equal(dfs_config_load(test_opts, N_OPTS, &c, p, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, ":1:"));
	unlink(p);
	free(p);

	p = write_tmp("just words\n");
	assert_int_equal(dfs_config_load(test_opts, N_OPTS, &c, p, err, sizeof(err)), -EINVAL);
	unlink(p);
	free(p);

	assert_int_equal(dfs_config_load(test_opts, N_OPTS, &c, "/nonexistent/dfs.conf", err,
					 sizeof(err)),
			 -ENOENT);
	dfs_config_free(test_opts, N_OPTS, &c);
}

static void test_config_dump_reloads(void **state)
{
	(void)state;
	struct test_cfg a, b;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	assert_int_equal(dfs_config_defaults(test_opts, N_OPTS, &a), 0);
	assert_int_equal(set(&a, "count", "9"), 0);
	assert_int_equal(set(&a, "timeout_ms", "3s"), 0);
	char path[] = "/tmp/dfs-test-dump.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	dfs_config_dump(test_opts, N_OPTS, &a, f);
	fclose(f);
	char err[256];
	assert_int_equal(dfs_config_defaults(test_opts, N_OPTS, &b), 0);
	assert_int_equal(dfs_config_load(test_opts, N_OPTS, &b, path, err, sizeof(err)), 0);
	assert_int_equal(b.count, 9);
	assert_int_equal(b.timeout_ms, 3000);
	unlink(path);
	dfs_config_free(test_opts, N_OPTS, &a);
	dfs_config_free(test_opts, N_OPTS, &b);
}

/* ---- host:port ---- */

static void test_hostport(void **state)
{
	(void)state;
	char host[DFS_HOST_MAX];
	uint16_t port = 0;
	assert_int_equal(dfs_net_parse_hostport("127.0.0.1:8020", host, sizeof(host), &port), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 8020);
	assert_int_equal(dfs_net_parse_hostport("nn1.example:65535", host, sizeof(host), &port), 0);
	assert_string_equal(host, "nn1.example");
	assert_int_equal(port, 65535);
	assert_int_equal(dfs_net_parse_hostport("[::1]:9866", host, sizeof(host), &port), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 9866);

	const char *bad[] = { "", "host", "host:", ":80", "host:0", "host:65536", "host:80x",
			      "host:-1", "host:+80", "[::1]80", "[::1", "host: 80" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(dfs_net_parse_hostport(bad[i], host, sizeof(host), &port), -EINVAL);
	char tiny[4];
	assert_int_equal(dfs_net_parse_hostport("longhost:80", tiny, sizeof(tiny), &port), -EINVAL);
}

/* ---- errors ---- */

static void test_strerror(void **state)
{
	(void)state;
	assert_string_equal(dfs_strerror(-ENOENT), strerror(ENOENT));
	assert_string_equal(dfs_strerror(ENOENT), strerror(ENOENT));
	assert_string_equal(dfs_strerror(-ENAMETOOLONG), "File name too long");
	assert_string_equal(dfs_strerror(0), "Success");
	int codes[] = { DFS_ENOTLEADER, DFS_ECHECKSUM, DFS_EPROTOCOL, DFS_ESTALE,
			DFS_ENODATANODES, DFS_ESAFEMODE, DFS_ENOTFORMATTED };
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		const char *s = dfs_strerror(-codes[i]);
		assert_non_null(s);
		assert_true(strlen(s) > 0);
		assert_string_equal(s, dfs_strerror(codes[i]));
		assert_null(strstr(s, "Unknown"));
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(s, dfs_strerror(-codes[j]));
	}
	assert_string_equal(dfs_strerror(-DFS_ECHECKSUM), "Checksum mismatch");
	assert_non_null(dfs_strerror(-DFS_E_MAX));
	assert_non_null(dfs_strerror(-DFS_E_BASE));
	assert_non_null(dfs_strerror(-99999));
}

/* The idle connection pool: a connection comes back only for its own
 * host:port, one the peer has closed is dropped, and a full pool drops its
 * oldest. socketpairs stand in for TCP connections. */
static void test_conn_pool(void **state)
{
	(void)state;
	struct dfs_conn_pool p;
	int a[2], b[2], d[2];
	assert_int_equal(dfs_conn_pool_init(&p, 10000), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, a), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, b), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, d), 0);
	assert_int_equal(dfs_conn_pool_get(&p, "127.0.0.1", 9866), -1);
	dfs_conn_pool_put(&p, a[0], "127.0.0.1", 9866);
	dfs_conn_pool_put(&p, b[0], "127.0.0.1", 9867);
	assert_int_equal(dfs_conn_pool_get(&p, "127.0.0.2", 9866), -1);
	assert_int_equal(dfs_conn_pool_get(&p, "127.0.0.1", 9867), b[0]);
	assert_int_equal(dfs_conn_pool_get(&p, "127.0.0.1", 9867), -1); /* taken */
	/* the peer closed it while it was idle: not handed out */
	close(a[1]);
	assert_int_equal(dfs_conn_pool_get(&p, "127.0.0.1", 9866), -1);
	assert_int_equal(p.n, 0);
	/* unexpected bytes on an idle connection: not handed out either */
	dfs_conn_pool_put(&p, d[0], "127.0.0.1", 9866);
	assert_int_equal(write(d[1], "x", 1), 1);
	assert_int_equal(dfs_conn_pool_get(&p, "127.0.0.1", 9866), -1);
	/* full: the oldest goes */
	int fds[DFS_CONN_POOL_MAX + 1][2];
	for (int i = 0; i <= DFS_CONN_POOL_MAX; i++) {
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds[i]), 0);
		dfs_conn_pool_put(&p, fds[i][0], "10.0.0.1", (uint16_t)(1000 + i));
		p.e[p.n - 1].idle_since_ms -= DFS_CONN_POOL_MAX - i; /* older first */
	}
	assert_int_equal(p.n, DFS_CONN_POOL_MAX);
	assert_int_equal(dfs_conn_pool_get(&p, "10.0.0.1", 1000), -1);
	assert_int_equal(dfs_conn_pool_get(&p, "10.0.0.1", 1001), fds[1][0]);
	close(fds[1][0]);
	/* idle too long: dropped */
	for (int i = 0; i < p.n; i++)
		p.e[i].idle_since_ms -= 10000 + 1;
	assert_int_equal(dfs_conn_pool_get(&p, "10.0.0.1", 1002), -1);
	assert_int_equal(p.n, 0);
	dfs_conn_pool_destroy(&p);
	for (int i = 0; i <= DFS_CONN_POOL_MAX; i++)
		close(fds[i][1]);
	close(b[0]);
	close(b[1]);
	close(d[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32c_vectors),
		cmocka_unit_test(test_crc32c_chained),
		cmocka_unit_test(test_crc32c_chunks),
		cmocka_unit_test(test_frame_header_roundtrip),
		cmocka_unit_test(test_frame_header_rejects),
		cmocka_unit_test(test_frame_socketpair),
		cmocka_unit_test(test_frame_truncated),
		cmocka_unit_test(test_config_defaults_and_set),
		cmocka_unit_test(test_config_file),
		cmocka_unit_test(test_config_dump_reloads),
		cmocka_unit_test(test_hostport),
		cmocka_unit_test(test_conn_pool),
		cmocka_unit_test(test_strerror),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
