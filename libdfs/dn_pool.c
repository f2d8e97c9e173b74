/* dn_pool.c: idle datanode connections a client keeps for its next block
 * reads. A READ_BLOCK stream read to its last packet leaves the
 * connection at a request boundary; the datanode serves the next request
 * on it, so a random reader (4 KiB at a time) does not pay a TCP connect
 * and a datanode thread per read. A pooled connection is dropped when it
 * has been idle DFSC_DN_POOL_IDLE_MS (below the datanode's io timeout) or
 * when the datanode has closed it (a readable idle socket means EOF or
 * garbage; either way it is not reused). */
#include "libdfs/internal.h"

#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Nothing pending on an idle connection: not closed by the peer. */
static bool idle_conn_ok(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLRDHUP };
	return poll(&p, 1, 0) == 0;
}

int dfsc_dn_pool_get(dfs_client *c, const char *host, uint16_t port)
{
	int fd = -1;
	int64_t now = dfsc_now_ms();
	pthread_mutex_lock(&c->dn_pool_mu);
	for (int i = c->n_dn_pool - 1; i >= 0 && fd < 0; i--) {
		struct dfsc_dn_conn *e = &c->dn_pool[i];
		bool stale = now - e->idle_since_ms > DFSC_DN_POOL_IDLE_MS;
		bool match = e->port == port && strcmp(e->host, host) == 0;
		if (!stale && !match)
			continue;
		int cand = e->fd;
		c->dn_pool[i] = c->dn_pool[--c->n_dn_pool];
		if (!stale && idle_conn_ok(cand))
			fd = cand;
		else
			close(cand);
	}
	pthread_mutex_unlock(&c->dn_pool_mu);
	return fd;
}

void dfsc_dn_pool_put(dfs_client *c, int fd, const char *host, uint16_t port)
{
	pthread_mutex_lock(&c->dn_pool_mu);
	if (c->n_dn_pool == DFSC_DN_POOL_MAX) { /* make room: drop the oldest */
		int oldest = 0;
		for (int i = 1; i < c->n_dn_pool; i++)
			if (c->dn_pool[i].idle_since_ms < c->dn_pool[oldest].idle_since_ms)
				oldest = i;
		close(c->dn_pool[oldest].fd);
		c->dn_pool[oldest] = c->dn_pool[--c->n_dn_pool];
	}
	struct dfsc_dn_conn *e = &c->dn_pool[c->n_dn_pool++];
	e->fd = fd;
	snprintf(e->host, sizeof(e->host), "%s", host);
	e->port = port;
	e->idle_since_ms = dfsc_now_ms();
	pthread_mutex_unlock(&c->dn_pool_mu);
}

void dfsc_dn_pool_destroy(dfs_client *c)
{
	pthread_mutex_lock(&c->dn_pool_mu);
	for (int i = 0; i < c->n_dn_pool; i++)
		close(c->dn_pool[i].fd);
	c->n_dn_pool = 0;
	pthread_mutex_unlock(&c->dn_pool_mu);
}
