/* conn_pool.c: idle connections kept for reuse (see conn_pool.h). A
 * pooled connection is dropped when it has been idle idle_max_ms or when
 * the peer has closed it (a readable idle socket means EOF or garbage;
 * either way it is not reused). */
#include "common/conn_pool.h"
#include "common/clock.h"

#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Nothing pending on an idle connection: not closed by the peer. */
static bool idle_conn_ok(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLRDHUP };
	return poll(&p, 1, 0) == 0;
}

int dfs_conn_pool_init(struct dfs_conn_pool *p, int64_t idle_max_ms)
{
	p->n = 0;
	p->idle_max_ms = idle_max_ms;
	return -pthread_mutex_init(&p->mu, NULL);
}

int dfs_conn_pool_get(struct dfs_conn_pool *p, const char *host, uint16_t port)
{
	int fd = -1;
	int64_t now = dfs_mono_ms();
	pthread_mutex_lock(&p->mu);
	for (int i = p->n - 1; i >= 0 && fd < 0; i--) {
		bool stale = now - p->e[i].idle_since_ms > p->idle_max_ms;
		bool match = p->e[i].port == port && strcmp(p->e[i].host, host) == 0;
		if (!stale && !match)
			continue;
		int cand = p->e[i].fd;
		p->e[i] = p->e[--p->n];
		if (!stale && idle_conn_ok(cand))
			fd = cand;
		else
			close(cand);
	}
	pthread_mutex_unlock(&p->mu);
	return fd;
}

void dfs_conn_pool_put(struct dfs_conn_pool *p, int fd, const char *host, uint16_t port)
{
	pthread_mutex_lock(&p->mu);
	if (p->n == DFS_CONN_POOL_MAX) { /* make room: drop the oldest */
		int oldest = 0;
		for (int i = 1; i < p->n; i++)
			if (p->e[i].idle_since_ms < p->e[oldest].idle_since_ms)
				oldest = i;
		close(p->e[oldest].fd);
		p->e[oldest] = p->e[--p->n];
	}
	p->e[p->n].fd = fd;
	snprintf(p->e[p->n].host, sizeof(p->e[p->n].host), "%s", host);
	p->e[p->n].port = port;
	p->e[p->n].idle_since_ms = dfs_mono_ms();
	p->n++;
	pthread_mutex_unlock(&p->mu);
}

void dfs_conn_pool_destroy(struct dfs_conn_pool *p)
{
	pthread_mutex_lock(&p->mu);
	for (int i = 0; i < p->n; i++)
		close(p->e[i].fd);
	p->n = 0;
	pthread_mutex_unlock(&p->mu);
	pthread_mutex_destroy(&p->mu);
}
