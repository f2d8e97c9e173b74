/* net.h: TCP sockets over blocking file descriptors: listen, connect with a
 * deadline, full reads and writes, host:port parsing. Any thread; every
 * function returns 0 (or an fd) or a negative errno. */
#ifndef DFS_COMMON_NET_H
#define DFS_COMMON_NET_H
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define DFS_HOST_MAX 256

/* Listens on host:port (port 0: an ephemeral port, written to *bound_port
 * if not NULL). Returns the listening fd (CLOEXEC, SO_REUSEADDR). */
int dfs_net_listen(const char *host, uint16_t port, int backlog, uint16_t *bound_port);

/* Accepts one connection (CLOEXEC, TCP_NODELAY); retries on EINTR. */
int dfs_net_accept(int listen_fd);

/* Connects to host:port within timeout_ms; returns a blocking fd with
 * TCP_NODELAY, or -ETIMEDOUT / -ECONNREFUSED / ... */
int dfs_net_connect(const char *host, uint16_t port, int timeout_ms);

/* Sets send and receive timeouts (0: none); a read that times out then
 * fails with -EAGAIN. */
int dfs_net_set_timeouts(int fd, int timeout_ms);

/* Sets SO_SNDBUF/SO_RCVBUF, for bulk data streams. */
void dfs_net_set_buffers(int fd, int bytes);

/* Reads exactly len bytes. -ECONNRESET if the peer closed first. */
int dfs_net_read_full(int fd, void *buf, size_t len);
/* Writes exactly len bytes (MSG_NOSIGNAL: a closed peer is -EPIPE). */
int dfs_net_write_full(int fd, const void *buf, size_t len);
/* Writes all iovecs (the array is modified). */
int dfs_net_writev_full(int fd, struct iovec *iov, int iovcnt);

/* Splits "host:port" (or "[v6]:port"); -EINVAL if malformed. */
int dfs_net_parse_hostport(const char *s, char *host, size_t host_len, uint16_t *port);

#endif
