/* test-libdfs.c: unit tests of the client library parts that need no
 * cluster: name/path validation, Attr -> dfs_stat, settings from options
 * and config files, packet checksums, and RPC behaviour against an
 * in-process fake namenode (call ids, identity, retry ids, NOT_LEADER). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/crc32c.h"
#include "libdfs/internal.h"

static void test_check_name(void **state)
{
	(void)state;
	char big[300];
	assert_int_equal(dfsc_check_name("a"), 0);
	assert_int_equal(dfsc_check_name("..."), 0);
	assert_int_equal(dfsc_check_name(".hidden"), 0);
	assert_int_equal(dfsc_check_name(""), -EINVAL);
	assert_int_equal(dfsc_check_name(NULL), -EINVAL);
	assert_int_equal(dfsc_check_name("."), -EINVAL);
	assert_int_equal(dfsc_check_name(".."), -EINVAL);
	assert_int_equal(dfsc_check_name("a/b"), -EINVAL);
	memset(big, 'x', 255);
	big[255] = '\0';
	assert_int_equal(dfsc_check_name(big), 0);
	big[255] = 'x';
	big[256] = '\0';
	assert_int_equal(dfsc_check_name(big), -ENAMETOOLONG);
}

static void test_check_path(void **state)
{
	(void)state;
	char big[300];
	assert_int_equal(dfsc_check_path("/"), 0);
	assert_int_equal(dfsc_check_path("/a/b"), 0);
	assert_int_equal(dfsc_check_path("/a/b/"), 0);
	assert_int_equal(dfsc_check_path("a/b"), -EINVAL);
	assert_int_equal(dfsc_check_path(""), -EINVAL);
	assert_int_equal(dfsc_check_path(NULL), -EINVAL);
	assert_int_equal(dfsc_check_path("/a//b"), -EINVAL);
	assert_int_equal(dfsc_check_path("/a/./b"), -EINVAL);
	assert_int_equal(dfsc_check_path("/a/.."), -EINVAL);
	big[0] = '/';
	memset(big + 1, 'y', 256);
	big[257] = '\0';
	assert_int_equal(dfsc_check_path(big), -ENAMETOOLONG);
}

static void test_attr_to_stat(void **state)
{
	(void)state;
	Dfs__Attr a = DFS__ATTR__INIT;
	struct dfs_stat st;
	a.ino = 42;
	a.type = DFS__FILE_TYPE__FT_REG;
	a.mode = 0644 | 0170000; /* stray type bits on the wire are ignored */
	a.uid = 1000;
	a.gid = 100;
	a.size = 12345;
	a.nlink = 2;
	a.atime_ns = 1500000000123456789LL;
	a.mtime_ns = -1; /* before the epoch: normalised timespec */
	a.ctime_ns = 7;
	a.replication = 3;
	a.block_size = 1 << 20;
	dfsc_attr_to_stat(&a, &st);
	assert_int_equal(st.ino, 42);
	assert_int_equal(st.mode, S_IFREG | 0644);
	assert_int_equal(st.uid, 1000);
	assert_int_equal(st.gid, 100);
	assert_int_equal(st.size, 12345);
	assert_int_equal(st.nlink, 2);
	assert_int_equal(st.atime.tv_sec, 1500000000);
	assert_int_equal(st.atime.tv_nsec, 123456789);
	assert_int_equal(st.mtime.tv_sec, -1);
	assert_int_equal(st.mtime.tv_nsec, 999999999);
	assert_int_equal(st.ctime.tv_nsec, 7);
	assert_int_equal(st.replication, 3);
	assert_int_equal(st.block_size, 1 << 20);
	assert_int_equal(st.rdev, 0);
	assert_int_equal(dfsc_ts_to_ns(&st.atime), a.atime_ns);
	assert_int_equal(dfsc_ts_to_ns(&st.mtime), -1);

	a.type = DFS__FILE_TYPE__FT_CHR;
	a.has_rdev = 1;
	a.rdev = 0x0501;
	a.mode = 04755;
	dfsc_attr_to_stat(&a, &st);
	assert_int_equal(st.mode, S_IFCHR | 04755);
	assert_int_equal(st.rdev, 0x0501);

	static const struct { uint32_t type, mode; } map[] = {
		{ DFS__FILE_TYPE__FT_REG, S_IFREG }, { DFS__FILE_TYPE__FT_DIR, S_IFDIR },
		{ DFS__FILE_TYPE__FT_LNK, S_IFLNK }, { DFS__FILE_TYPE__FT_FIFO, S_IFIFO },
		{ DFS__FILE_TYPE__FT_SOCK, S_IFSOCK }, { DFS__FILE_TYPE__FT_CHR, S_IFCHR },
		{ DFS__FILE_TYPE__FT_BLK, S_IFBLK },
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		assert_int_equal(dfsc_type_to_mode(map[i].type), map[i].mode);
		assert_int_equal(dfsc_mode_to_type(map[i].mode | 0755), map[i].type);
	}
	assert_int_equal(dfsc_type_to_mode(99), 0);
}

/* ---- settings ---- */

static char conf_dir[] = "/tmp/test-libdfs-XXXXXX";

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static void test_settings_namenodes(void **state)
{
	(void)state;
	struct dfsc_settings s;
	assert_int_equal(dfsc_parse_namenodes("127.0.0.1:8020", &s), 0);
	assert_int_equal(s.n_nn, 1);
	assert_string_equal(s.nn[0].host, "127.0.0.1");
	assert_int_equal(s.nn[0].port, 8020);
	assert_int_equal(dfsc_parse_namenodes(" a:1 , b:2,[::1]:3,c", &s), 0);
	assert_int_equal(s.n_nn, 4);
	assert_string_equal(s.nn[1].host, "b");
	assert_int_equal(s.nn[1].port, 2);
	assert_string_equal(s.nn[2].host, "::1");
	assert_int_equal(s.nn[2].port, 3);
	assert_string_equal(s.nn[3].host, "c");
	assert_int_equal(s.nn[3].port, DFSC_DEFAULT_PORT);
	assert_int_equal(dfsc_parse_namenodes("", &s), -EINVAL);
	assert_int_equal(dfsc_parse_namenodes("a:1,,b:2", &s), -EINVAL);
	assert_int_equal(dfsc_parse_namenodes("a:0", &s), -EINVAL);
	assert_int_equal(dfsc_parse_namenodes("a:99999", &s), -EINVAL);
	assert_int_equal(dfsc_parse_namenodes("a:x", &s), -EINVAL);
	char many[512] = "";
	for (int i = 0; i <= DFSC_NAMENODES_MAX; i++)
		strcat(many, i == 0 ? "h:1" : ",h:1");
	assert_int_equal(dfsc_parse_namenodes(many, &s), -EINVAL);
}

static void test_settings_load(void **state)
{
	(void)state;
	struct dfsc_settings s;
	char err[256], path[512];
	struct dfs_options o = { 0 };
	snprintf(path, sizeof(path), "%s/dfs.conf", conf_dir);
	write_file(path, "# client\nnamenodes = h1:1,h2:2\nreplication = 2\nblock_size = 1M\n"
			 "rpc_timeout_ms = 2s\nretry_total_ms = 500\n");
	o.conf_path = path;
	assert_int_equal(dfsc_settings_load(&o, &s, err, sizeof(err)), 0);
	assert_int_equal(s.n_nn, 2);
	assert_string_equal(s.nn[1].host, "h2");
	assert_int_equal(s.replication, 2);
	assert_int_equal(s.block_size, 1 << 20);
	assert_int_equal(s.rpc_timeout_ms, 2000);
	assert_int_equal(s.retry_total_ms, 500);

	/* options win over the file */
	o.namenodes = "x:9";
	o.replication = 5;
	o.block_size = 4096;
	o.rpc_timeout_ms = 7;
	o.retry_total_ms = -1;
	assert_int_equal(dfsc_settings_load(&o, &s, err, sizeof(err)), 0);
	assert_int_equal(s.n_nn, 1);
	assert_string_equal(s.nn[0].host, "x");
	assert_int_equal(s.replication, 5);
	assert_int_equal(s.block_size, 4096);
	assert_int_equal(s.rpc_timeout_ms, 7);
	assert_int_equal(s.retry_total_ms, -1);

	/* $DFS_CONF when no conf_path */
	setenv("DFS_CONF", path, 1);
	assert_int_equal(dfsc_settings_load(NULL, &s, err, sizeof(err)), 0);
	assert_int_equal(s.n_nn, 2);
	assert_int_equal(s.retry_total_ms, 500);

	/* unknown keys and bad values are errors, with a message */
	write_file(path, "namenodes = h:1\nbogus = 1\n");
	assert_int_equal(dfsc_settings_load(NULL, &s, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "bogus"));
	write_file(path, "replication = 99\n");
	assert_int_equal(dfsc_settings_load(NULL, &s, err, sizeof(err)), -EINVAL);
	write_file(path, "namenodes = nope\x01:x\n");
	assert_int_equal(dfsc_settings_load(NULL, &s, err, sizeof(err)), -EINVAL);

	/* a named file that is missing: error, unless namenodes are given */
	unlink(path);
	assert_int_equal(dfsc_settings_load(NULL, &s, err, sizeof(err)), -ENOENT);
	struct dfs_options o2 = { .namenodes = "h:1" };
	assert_int_equal(dfsc_settings_load(&o2, &s, err, sizeof(err)), 0);
	assert_int_equal(s.rpc_timeout_ms, DFSC_DEFAULT_RPC_TIMEOUT_MS);
	assert_int_equal(s.retry_total_ms, DFSC_DEFAULT_RETRY_TOTAL_MS);
	unsetenv("DFS_CONF");
}

/* ---- checksums ---- */

static void test_packet_checksums(void **state)
{
	(void)state;
	uint8_t data[3 * DFS_CHUNK_SIZE];
	uint32_t *sums = NULL;
	size_t cap = 0;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 31 + 7);
	/* aligned: one CRC per whole chunk */
	int n = dfsc_packet_checksums(0, data, sizeof(data), &sums, &cap);
	assert_int_equal(n, 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(sums[i], dfs_crc32c(0, data + i * DFS_CHUNK_SIZE, DFS_CHUNK_SIZE));
	assert_int_equal(dfsc_verify_checksums(0, data, sizeof(data), sums, 3), 0);
	/* unaligned start and end: partial first and last pieces */
	uint64_t off = 5 * DFS_CHUNK_SIZE + 100;
	n = dfsc_packet_checksums(off, data, 2 * DFS_CHUNK_SIZE, &sums, &cap);
	assert_int_equal(n, 3);
	assert_int_equal(sums[0], dfs_crc32c(0, data, DFS_CHUNK_SIZE - 100));
	assert_int_equal(sums[1], dfs_crc32c(0, data + DFS_CHUNK_SIZE - 100, DFS_CHUNK_SIZE));
	assert_int_equal(sums[2], dfs_crc32c(0, data + 2 * DFS_CHUNK_SIZE - 100, 100));
	assert_int_equal(dfsc_verify_checksums(off, data, 2 * DFS_CHUNK_SIZE, sums, 3), 0);
	/* a flipped bit, a wrong count: mismatch */
	data[DFS_CHUNK_SIZE] ^= 1;
	assert_int_equal(dfsc_verify_checksums(off, data, 2 * DFS_CHUNK_SIZE, sums, 3),
			 -DFS_ECHECKSUM);
	data[DFS_CHUNK_SIZE] ^= 1;
	assert_int_equal(dfsc_verify_checksums(off, data, 2 * DFS_CHUNK_SIZE, sums, 2),
			 -DFS_ECHECKSUM);
	/* empty packet: no checksums */
	assert_int_equal(dfsc_packet_checksums(7, data, 0, &sums, &cap), 0);
	assert_int_equal(dfsc_verify_checksums(7, data, 0, NULL, 0), 0);
	free(sums);
}

/* ---- connecting without a cluster ---- */

static void test_connect_errors(void **state)
{
	(void)state;
	dfs_client *c = (dfs_client *)0x1;
	struct dfs_options o = { .namenodes = "not a list", .retry_total_ms = -1 };
	assert_int_equal(dfs_connect(&o, &c), -EINVAL);
	assert_null(c);
	/* a port nobody listens on: refused at once with retry -1 */
	uint16_t port;
	int fd = dfs_net_listen("127.0.0.1", 0, 1, &port);
	assert_true(fd >= 0);
	close(fd);
	char nn[64];
	snprintf(nn, sizeof(nn), "127.0.0.1:%u", port);
	o.namenodes = nn;
	assert_int_equal(dfs_connect(&o, &c), -ECONNREFUSED);
	/* with a retry time it keeps trying for about that long */
	o.retry_total_ms = 300;
	int64_t t0 = dfsc_now_ms();
	assert_int_equal(dfs_connect(&o, &c), -ECONNREFUSED);
	int64_t took = dfsc_now_ms() - t0;
	assert_true(took >= 250 && took < 3000);
	dfs_disconnect(NULL);
}

/* ---- RPC against in-process fake namenodes ---- */

enum fake_mode { FAKE_OK, FAKE_NOT_LEADER, FAKE_DROP_FIRST_MUTATION, FAKE_ENOENT };
#define FAKE_REQS_MAX 32

struct fake_req {
	uint32_t method;
	uint64_t call_id;
	bool has_client_id;
	uint8_t client_id[DFSC_CLIENT_ID_LEN];
	bool has_seq;
	uint64_t seq;
	uint32_t caller_uid, uid, mode;
};

struct fake_nn {
	int lfd;
	uint16_t port;
	enum fake_mode mode;
	char leader[64];
	atomic_bool stop;
	pthread_t th;
	pthread_mutex_t mu;
	struct fake_req reqs[FAKE_REQS_MAX];
	int n_reqs;
	int dropped;
};

static int fake_reply(struct fake_nn *fk, int fd, const struct dfs_frame *f, int status)
{
	Dfs__NsReply r = DFS__NS_REPLY__INIT;
	Dfs__Attr a = DFS__ATTR__INIT;
	r.status = status;
	if (status == -DFS_ENOTLEADER)
		r.leader = fk->leader;
	if (status == 0) {
		a.ino = 5;
		a.type = DFS__FILE_TYPE__FT_DIR;
		a.mode = 0755;
		r.attr = &a;
	}
	return dfs_frame_send(fd, f->h.method, f->h.call_id, &r.base, NULL, 0);
}

/* Serves one connection until it closes, times out or is dropped. */
static void fake_serve(struct fake_nn *fk, int fd)
{
	struct dfs_frame f = { 0 };
	while (dfs_frame_recv(fd, &f) == 0) {
		Dfs__NsRequest *q = (Dfs__NsRequest *)dfs_frame_unpack(&f, &dfs__ns_request__descriptor);
		if (q == NULL)
			break;
		pthread_mutex_lock(&fk->mu);
		struct fake_req *r = &fk->reqs[fk->n_reqs < FAKE_REQS_MAX ? fk->n_reqs++ : 0];
		memset(r, 0, sizeof(*r));
		r->method = f.h.method;
		r->call_id = f.h.call_id;
		r->has_client_id = q->has_client_id && q->client_id.len == DFSC_CLIENT_ID_LEN;
		if (r->has_client_id)
			memcpy(r->client_id, q->client_id.data, DFSC_CLIENT_ID_LEN);
		r->has_seq = q->has_seq;
		r->seq = q->seq;
		r->caller_uid = q->caller_uid;
		r->uid = q->uid;
		r->mode = q->mode;
		bool drop = fk->mode == FAKE_DROP_FIRST_MUTATION && dfsc_method_mutates(f.h.method) &&
			    fk->dropped == 0;
		if (drop)
			fk->dropped++;
		pthread_mutex_unlock(&fk->mu);
		dfs__ns_request__free_unpacked(q, NULL);
		if (drop)
			break;
		int status = 0;
		if (fk->mode == FAKE_NOT_LEADER)
			status = -DFS_ENOTLEADER;
		else if (fk->mode == FAKE_ENOENT && f.h.method != DFS_M_PING)
			status = -ENOENT;
		if (fake_reply(fk, fd, &f, status) < 0)
			break;
	}
	dfs_frame_release(&f);
	close(fd);
}

static void *fake_main(void *arg)
{
	struct fake_nn *fk = arg;
	while (!atomic_load(&fk->stop)) {
		struct pollfd p = { .fd = fk->lfd, .events = POLLIN };
		if (poll(&p, 1, 50) <= 0)
			continue;
		int fd = dfs_net_accept(fk->lfd);
		if (fd >= 0) {
			dfs_net_set_timeouts(fd, 200); /* so stop is noticed */
			fake_serve(fk, fd);
		}
	}
	return NULL;
}

static void fake_start(struct fake_nn *fk, enum fake_mode mode)
{
	memset(fk, 0, sizeof(*fk));
	fk->mode = mode;
	fk->lfd = dfs_net_listen("127.0.0.1", 0, 8, &fk->port);
	assert_true(fk->lfd >= 0);
	pthread_mutex_init(&fk->mu, NULL);
	assert_int_equal(pthread_create(&fk->th, NULL, fake_main, fk), 0);
}

static void fake_stop(struct fake_nn *fk)
{
	atomic_store(&fk->stop, true);
	pthread_join(fk->th, NULL);
	close(fk->lfd);
	pthread_mutex_destroy(&fk->mu);
}

static const struct fake_req *fake_find(struct fake_nn *fk, uint32_t method, int nth)
{
	for (int i = 0; i < fk->n_reqs; i++)
		if (fk->reqs[i].method == method && nth-- == 0)
			return &fk->reqs[i];
	return NULL;
}

static void test_rpc_follows_leader(void **state)
{
	(void)state;
	struct fake_nn a, b;
	char list[128];
	dfs_client *c;
	fake_start(&b, FAKE_OK);
	fake_start(&a, FAKE_NOT_LEADER);
	snprintf(a.leader, sizeof(a.leader), "127.0.0.1:%u", b.port);
	snprintf(list, sizeof(list), "127.0.0.1:%u,127.0.0.1:%u", a.port, b.port);
	struct dfs_options o = { .namenodes = list, .retry_total_ms = 2000 };
	assert_int_equal(dfs_connect(&o, &c), 0);
	uint32_t groups[2] = { 7, 8 };
	assert_int_equal(dfs_set_thread_cred(c, 1234, 4321, groups, 2), 0);
	assert_int_equal(dfs_set_thread_cred(c, 1, 1, groups, 33), -EINVAL);
	struct dfs_stat st;
	assert_int_equal(dfs_mkdir_at(c, 0, "/d", 0755, 0, &st), 0);
	assert_int_equal(st.mode, S_IFDIR | 0755);
	assert_int_equal(dfs_mkdir(c, "/e", 0700, 0), 0);
	/* bad names never reach the namenode */
	assert_int_equal(dfs_mkdir(c, "/a/../b", 0700, 0), -EINVAL);
	assert_int_equal(dfs_mkdir_at(c, 1, "x/y", 0700, 0, NULL), -EINVAL);
	dfs_disconnect(c);
	fake_stop(&a);
	fake_stop(&b);
	assert_non_null(fake_find(&a, DFS_M_PING, 0));
	assert_null(fake_find(&a, DFS_M_MKDIR, 0));
	const struct fake_req *m1 = fake_find(&b, DFS_M_MKDIR, 0);
	const struct fake_req *m2 = fake_find(&b, DFS_M_MKDIR, 1);
	assert_non_null(m1);
	assert_non_null(m2);
	assert_null(fake_find(&b, DFS_M_MKDIR, 2));
	assert_true(m1->has_client_id && m1->has_seq && m2->has_seq);
	assert_memory_equal(m1->client_id, m2->client_id, DFSC_CLIENT_ID_LEN);
	assert_true(m2->seq > m1->seq);
	assert_true(m2->call_id != m1->call_id);
	assert_int_equal(m1->caller_uid, 1234);
	assert_int_equal(m1->uid, 1234);
	assert_int_equal(m1->mode, 0755);
	assert_int_equal(m2->mode, 0700);
	/* reads carry no retry ids */
	assert_false(fake_find(&b, DFS_M_PING, 0) != NULL &&
		     fake_find(&b, DFS_M_PING, 0)->has_seq);
}

static void test_rpc_retry_keeps_seq(void **state)
{
	(void)state;
	struct fake_nn k;
	char list[64];
	dfs_client *c;
	fake_start(&k, FAKE_DROP_FIRST_MUTATION);
	snprintf(list, sizeof(list), "127.0.0.1:%u", k.port);
	struct dfs_options o = { .namenodes = list, .retry_total_ms = 3000 };
	assert_int_equal(dfs_connect(&o, &c), 0);
	assert_int_equal(dfs_mkdir(c, "/x", 0755, 0), 0);
	dfs_disconnect(c);
	fake_stop(&k);
	const struct fake_req *m1 = fake_find(&k, DFS_M_MKDIR, 0);
	const struct fake_req *m2 = fake_find(&k, DFS_M_MKDIR, 1);
	assert_non_null(m1);
	assert_non_null(m2);
	assert_int_equal(m1->seq, m2->seq); /* the same call, retried */
	assert_memory_equal(m1->client_id, m2->client_id, DFSC_CLIENT_ID_LEN);
}

static void test_rpc_status_not_retried(void **state)
{
	(void)state;
	struct fake_nn k;
	char list[64];
	dfs_client *c;
	fake_start(&k, FAKE_ENOENT);
	snprintf(list, sizeof(list), "127.0.0.1:%u", k.port);
	struct dfs_options o = { .namenodes = list, .retry_total_ms = 3000 };
	assert_int_equal(dfs_connect(&o, &c), 0);
	struct dfs_stat st;
	assert_int_equal(dfs_stat(c, "/nope", &st), -ENOENT);
	dfs_disconnect(c);
	fake_stop(&k);
	assert_non_null(fake_find(&k, DFS_M_GETATTR, 0));
	assert_null(fake_find(&k, DFS_M_GETATTR, 1));
}

/* Extended attributes: set and remove are mutations (a retry keeps the
 * seq), get is a read; bad names and sizes never reach the namenode. */
static void test_xattr_calls(void **state)
{
	(void)state;
	struct fake_nn k;
	char list[64], name[DFS_XATTR_NAME_MAX + 2];
	dfs_client *c;
	fake_start(&k, FAKE_DROP_FIRST_MUTATION);
	snprintf(list, sizeof(list), "127.0.0.1:%u", k.port);
	struct dfs_options o = { .namenodes = list, .retry_total_ms = 3000 };
	assert_int_equal(dfs_connect(&o, &c), 0);
	assert_int_equal(dfs_setxattr(c, 0, "/x", "user.a", "v", 1, DFS_XATTR_CREATE), 0);
	assert_int_equal(dfs_removexattr(c, 5, NULL, "user.a"), 0);
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	assert_int_equal(dfs_setxattr(c, 5, NULL, name, "v", 1, 0), -ERANGE);
	assert_int_equal(dfs_setxattr(c, 5, NULL, "", "v", 1, 0), -ERANGE);
	assert_int_equal(dfs_setxattr(c, 5, NULL, "user.a", "v", DFS_XATTR_SIZE_MAX + 1, 0),
			 -E2BIG);
	assert_int_equal(dfs_setxattr(c, 5, NULL, "user.a", "v", 1, 4), -EINVAL);
	assert_int_equal(dfs_setxattr(c, 0, "rel", "user.a", "v", 1, 0), -EINVAL);
	assert_int_equal(dfs_getxattr(c, 5, NULL, name, NULL, 0), -ERANGE);
	/* the fake's reply has no attribute in it: a protocol error */
	assert_int_equal(dfs_getxattr(c, 5, NULL, "user.a", NULL, 0), -DFS_EPROTOCOL);
	dfs_disconnect(c);
	fake_stop(&k);
	const struct fake_req *s1 = fake_find(&k, DFS_M_SETXATTR, 0);
	const struct fake_req *s2 = fake_find(&k, DFS_M_SETXATTR, 1);
	const struct fake_req *r1 = fake_find(&k, DFS_M_REMOVEXATTR, 0);
	const struct fake_req *g1 = fake_find(&k, DFS_M_GETXATTR, 0);
	assert_non_null(s1);
	assert_non_null(s2);
	assert_int_equal(s1->seq, s2->seq); /* the same call, retried */
	assert_null(fake_find(&k, DFS_M_SETXATTR, 2));
	assert_non_null(r1);
	assert_true(r1->has_seq && r1->seq != s1->seq);
	assert_non_null(g1);
	assert_false(g1->has_seq);
	assert_null(fake_find(&k, DFS_M_GETXATTR, 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_name),
		cmocka_unit_test(test_check_path),
		cmocka_unit_test(test_attr_to_stat),
		cmocka_unit_test(test_settings_namenodes),
		cmocka_unit_test(test_settings_load),
		cmocka_unit_test(test_packet_checksums),
		cmocka_unit_test(test_connect_errors),
		cmocka_unit_test(test_rpc_follows_leader),
		cmocka_unit_test(test_rpc_retry_keeps_seq),
		cmocka_unit_test(test_rpc_status_not_retried),
		cmocka_unit_test(test_xattr_calls),
	};
	if (mkdtemp(conf_dir) == NULL)
		return 1;
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	char path[600];
	snprintf(path, sizeof(path), "%s/dfs.conf", conf_dir);
	unlink(path);
	rmdir(conf_dir);
	return rc;
}
