/* test-libdfs-bounds.c: how long a libdfs call takes to fail when the
 * namenodes stop answering (dfs-fuse turns that failure into EIO, so this
 * bound is how long a call through a mount can hang).
 *
 * A mute namenode accepts connections but never replies (a SIGSTOPped
 * process, or a partition after the handshake). A call must then fail
 * with -ETIMEDOUT within retry_total_ms plus the attempt under way
 * (rpc_timeout_ms to connect, rpc_timeout_ms for the reply), however many
 * idle connections to that namenode the client's pool holds: each of them
 * used to cost a full rpc_timeout_ms. A namenode that is gone (its
 * connections reset, new ones refused) makes a call fail with
 * -ECONNREFUSED within the same bound.
 *
 * The fake namenode is one thread polling its listening socket and its
 * connections; it replies to GETATTR/PING with a directory. Its gate
 * holds replies until gate_n requests are pending, so that gate_n client
 * threads each hold a connection of their own at once: afterwards the
 * client's pool has gate_n idle connections to it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/frame.h"
#include "common/net.h"
#include "common/proto/namenode.pb-c.h"
#include <dfs.h>

#define MUTE_CONNS_MAX 64
#define POOL_THREADS 12  /* idle connections left in the client's pool */
#define RPC_TIMEOUT_MS 1000
#define RETRY_TOTAL_MS 1000
/* retry_total_ms + one attempt (connect + reply) + scheduling slack; with
 * the bug, POOL_THREADS * RPC_TIMEOUT_MS = 12 s. */
#define CALL_BOUND_MS (RETRY_TOTAL_MS + 2 * RPC_TIMEOUT_MS + 2000)

enum mute_mode { MUTE_SERVE, MUTE_GATE, MUTE_SILENT };

struct pending {
	int fd;
	uint32_t method;
	uint64_t call_id;
};

struct mute_nn {
	int lfd;
	uint16_t port;
	atomic_int mode;
	atomic_bool stop;
	int gate_n;
	pthread_t th;
	int fds[MUTE_CONNS_MAX]; /* the server thread's only */
	int n_fds;
	struct pending pend[MUTE_CONNS_MAX];
	int n_pend;
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void reply_dir(int fd, uint32_t method, uint64_t call_id)
{
	Dfs__NsReply r = DFS__NS_REPLY__INIT;
	Dfs__Attr a = DFS__ATTR__INIT;
	a.ino = 1;
	a.type = DFS__FILE_TYPE__FT_DIR;
	a.mode = 0755;
	r.attr = &a;
	dfs_frame_send(fd, method, call_id, &r.base, NULL, 0);
}

static void drop_conn(struct mute_nn *m, int i)
{
	close(m->fds[i]);
	m->fds[i] = m->fds[--m->n_fds];
}

/* One request from connection i: answered now, or held by the gate. */
static void serve_one(struct mute_nn *m, int i)
{
	struct dfs_frame f = { 0 };
	if (dfs_frame_recv(m->fds[i], &f) < 0) {
		dfs_frame_release(&f);
		drop_conn(m, i);
		return;
	}
	if (atomic_load(&m->mode) == MUTE_GATE) {
		m->pend[m->n_pend++] = (struct pending){ m->fds[i], f.h.method, f.h.call_id };
		if (m->n_pend == m->gate_n) {
			/* open before replying: the callers check it on return */
			atomic_store(&m->mode, MUTE_SERVE);
			for (int k = 0; k < m->n_pend; k++)
				reply_dir(m->pend[k].fd, m->pend[k].method, m->pend[k].call_id);
			m->n_pend = 0;
		}
	} else {
		reply_dir(m->fds[i], f.h.method, f.h.call_id);
	}
	dfs_frame_release(&f);
}

static void *mute_main(void *arg)
{
	struct mute_nn *m = arg;
	while (!atomic_load(&m->stop)) {
		struct pollfd p[MUTE_CONNS_MAX + 1];
		int n = 0;
		bool silent = atomic_load(&m->mode) == MUTE_SILENT;
		p[n++] = (struct pollfd){ .fd = m->lfd, .events = POLLIN };
		for (int i = 0; i < m->n_fds && !silent; i++)
			p[n++] = (struct pollfd){ .fd = m->fds[i], .events = POLLIN };
		if (poll(p, (nfds_t)n, 20) <= 0)
			continue;
		if ((p[0].revents & POLLIN) && m->n_fds < MUTE_CONNS_MAX) {
			int fd = dfs_net_accept(m->lfd);
			if (fd >= 0)
				m->fds[m->n_fds++] = fd;
		}
		/* (the mode may have turned silent during the poll) */
		for (int i = n - 1; i >= 1 && atomic_load(&m->mode) != MUTE_SILENT; i--)
			if (p[i].revents & (POLLIN | POLLHUP | POLLERR))
				serve_one(m, i - 1); /* backwards: drop_conn moves the last */
	}
	for (int i = 0; i < m->n_fds; i++)
		close(m->fds[i]);
	m->n_fds = 0;
	return NULL;
}

static void mute_start(struct mute_nn *m)
{
	memset(m, 0, sizeof(*m));
	m->lfd = dfs_net_listen("127.0.0.1", 0, 64, &m->port);
	assert_true(m->lfd >= 0);
	assert_int_equal(pthread_create(&m->th, NULL, mute_main, m), 0);
}

/* Stops the thread, closing (resetting) every connection and the
 * listening socket: new connections are refused. */
static void mute_stop(struct mute_nn *m)
{
	atomic_store(&m->stop, true);
	pthread_join(m->th, NULL);
	close(m->lfd);
}

static void *stat_root(void *arg)
{
	struct dfs_stat st;
	intptr_t rc = dfs_stat_ino((dfs_client *)arg, DFS_ROOT_INO, &st);
	return (void *)rc;
}

static dfs_client *connect_to(const struct mute_nn *m)
{
	char list[64];
	dfs_client *c = NULL;
	snprintf(list, sizeof(list), "127.0.0.1:%u", m->port);
	struct dfs_options o = { .namenodes = list, .rpc_timeout_ms = RPC_TIMEOUT_MS,
				 .retry_total_ms = RETRY_TOTAL_MS };
	assert_int_equal(dfs_connect(&o, &c), 0);
	return c;
}

/* POOL_THREADS calls at once, each on a connection of its own. */
static void fill_pool(struct mute_nn *m, dfs_client *c)
{
	pthread_t th[POOL_THREADS];
	m->gate_n = POOL_THREADS;
	atomic_store(&m->mode, MUTE_GATE);
	for (int i = 0; i < POOL_THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, stat_root, c), 0);
	for (int i = 0; i < POOL_THREADS; i++) {
		void *rc;
		pthread_join(th[i], &rc);
		assert_int_equal((intptr_t)rc, 0);
	}
	assert_int_equal(atomic_load(&m->mode), MUTE_SERVE); /* the gate opened */
}

static void test_mute_namenode_bounded(void **state)
{
	(void)state;
	struct mute_nn m;
	struct dfs_stat st;
	mute_start(&m);
	dfs_client *c = connect_to(&m);
	fill_pool(&m, c);
	atomic_store(&m.mode, MUTE_SILENT);
	int64_t t0 = now_ms();
	assert_int_equal(dfs_stat_ino(c, DFS_ROOT_INO, &st), -ETIMEDOUT);
	int64_t took = now_ms() - t0;
	print_message("mute namenode, %d idle connections: failed after %lld ms (bound %d)\n",
		      POOL_THREADS, (long long)took, CALL_BOUND_MS);
	assert_true(took < CALL_BOUND_MS);
	/* It answers again: so does the client. */
	atomic_store(&m.mode, MUTE_SERVE);
	assert_int_equal(dfs_stat_ino(c, DFS_ROOT_INO, &st), 0);
	dfs_disconnect(c);
	mute_stop(&m);
}

static void test_gone_namenode_bounded(void **state)
{
	(void)state;
	struct mute_nn m;
	struct dfs_stat st;
	mute_start(&m);
	dfs_client *c = connect_to(&m);
	fill_pool(&m, c);
	mute_stop(&m);
	int64_t t0 = now_ms();
	assert_int_equal(dfs_stat_ino(c, DFS_ROOT_INO, &st), -ECONNREFUSED);
	int64_t took = now_ms() - t0;
	print_message("gone namenode, %d idle connections: failed after %lld ms (bound %d)\n",
		      POOL_THREADS, (long long)took, CALL_BOUND_MS);
	assert_true(took < CALL_BOUND_MS);
	dfs_disconnect(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mute_namenode_bounded),
		cmocka_unit_test(test_gone_namenode_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
