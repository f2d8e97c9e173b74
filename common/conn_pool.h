/* conn_pool.h: idle TCP connections at a request boundary, kept per
 * host:port for the next request (a datanode serves any number of requests
 * on one connection), so a reader or a write pipeline does not pay a TCP
 * connect and a datanode thread per block. Any thread; the pool's mutex
 * guards it. */
#ifndef DFS_COMMON_CONN_POOL_H
#define DFS_COMMON_CONN_POOL_H
#include "common/net.h"

#include <pthread.h>
#include <stdint.h>

#define DFS_CONN_POOL_MAX 32 /* idle connections kept */

struct dfs_conn_pool {
	pthread_mutex_t mu;
	int64_t idle_max_ms; /* an entry idle longer is dropped, not reused */
	int n;
	struct {
		int fd;
		char host[DFS_HOST_MAX];
		uint16_t port;
		int64_t idle_since_ms;
	} e[DFS_CONN_POOL_MAX];
};

/* idle_max_ms must stay below the peer's idle timeout. 0 or -errno. */
int dfs_conn_pool_init(struct dfs_conn_pool *p, int64_t idle_max_ms);
/* A live idle connection to host:port taken out of the pool, or -1.
 * Entries found stale or closed by the peer on the way are closed. */
int dfs_conn_pool_get(struct dfs_conn_pool *p, const char *host, uint16_t port);
/* Gives fd (idle, at a request boundary) to the pool, which owns it from
 * then on; a full pool closes its oldest entry. */
void dfs_conn_pool_put(struct dfs_conn_pool *p, int fd, const char *host, uint16_t port);
/* Closes every entry and frees the mutex. */
void dfs_conn_pool_destroy(struct dfs_conn_pool *p);

#endif
