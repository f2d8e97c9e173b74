/* rpc_server.c: the namenode's single-threaded epoll loop with group
 * commit (see rpc_server.h for the model). */
#include "namenode/rpc_server.h"

#include "common/errors.h"
#include "common/log.h"
#include "common/net.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define RPC_LISTEN_BACKLOG 512

struct rpc_conn {
	int fd;
	bool dead;
	bool want_out; /* EPOLLOUT registered */
	bool stalled;  /* EPOLLIN off: too many replies queued */
	int refs;      /* rpc_conn_hold() references: freed at 0 once dead */
	bool reaped;   /* dead, fd closed, off the list, waiting for refs 0 */
	uint8_t *in;
	size_t in_len, in_cap;
	uint8_t *out;
	size_t out_off, out_len, out_cap;
	char peer[64];
	struct rpc_conn *next; /* all connections */
};

struct rpc_server {
	int epfd;
	int lfd;
	struct rpc_handlers h;
	struct rpc_conn *conns;
	size_t n_conns;
	char watched; /* its address tags the watched fds' events */
};

static int buf_reserve(uint8_t **b, size_t *cap, size_t need)
{
	if (need <= *cap)
		return 0;
	size_t nc = *cap ? *cap : 4096;
	while (nc < need)
		nc *= 2;
	uint8_t *n = realloc(*b, nc);
	if (!n)
		return -ENOMEM;
	*b = n;
	*cap = nc;
	return 0;
}

static void conn_free(struct rpc_conn *c)
{
	free(c->in);
	free(c->out);
	free(c);
}

void rpc_conn_hold(struct rpc_conn *c) { c->refs++; }

void rpc_conn_release(struct rpc_conn *c)
{
	if (--c->refs == 0 && c->reaped)
		conn_free(c);
}

int rpc_conn_reply(struct rpc_conn *c, uint32_t method, uint64_t call_id,
		   const ProtobufCMessage *msg)
{
	if (c->dead)
		return 0; /* a deferred reply to a connection that went away */
	size_t plen = msg ? protobuf_c_message_get_packed_size(msg) : 0;
	if (buf_reserve(&c->out, &c->out_cap, c->out_len + DFS_FRAME_HEADER_SIZE + plen) < 0)
		return -ENOMEM;
	struct dfs_frame_header h = {method, (uint32_t)plen, 0, call_id};
	dfs_frame_header_encode(&h, c->out + c->out_len);
	c->out_len += DFS_FRAME_HEADER_SIZE;
	if (msg)
		c->out_len += protobuf_c_message_pack(msg, c->out + c->out_len);
	return 0;
}

const char *rpc_conn_peer(const struct rpc_conn *c) { return c->peer; }

static void set_peer(struct rpc_conn *c)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;
	if (getpeername(c->fd, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *a = (struct sockaddr_in *)&ss;
			inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
			port = ntohs(a->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
			inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
			port = ntohs(a->sin6_port);
		}
	}
	snprintf(c->peer, sizeof(c->peer), "%s:%u", host, port);
}

static void accept_all(struct rpc_server *s)
{
	for (;;) {
		int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				dfs_log_err(DFS_LOG_WARN, DFS_ERRNO(), "accept");
			return;
		}
		struct rpc_conn *c = calloc(1, sizeof(*c));
		if (!c || s->n_conns >= RPC_CONNS_MAX) {
			DFS_WARN("refusing connection: %zu connections open", s->n_conns);
			free(c);
			close(fd);
			continue;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->fd = fd;
		set_peer(c);
		struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
		if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			free(c);
			continue;
		}
		c->next = s->conns;
		s->conns = c;
		s->n_conns++;
		DFS_DEBUG("connection from %s", c->peer);
	}
}

/* Hands every complete frame in c->in to the handler. */
static void parse_frames(struct rpc_server *s, struct rpc_conn *c)
{
	size_t off = 0;
	while (!c->dead && c->in_len - off >= DFS_FRAME_HEADER_SIZE) {
		struct dfs_frame_header h;
		if (dfs_frame_header_decode(c->in + off, &h) < 0) {
			DFS_WARN("%s: malformed frame header: closing", c->peer);
			c->dead = true;
			break;
		}
		size_t total = DFS_FRAME_HEADER_SIZE + (size_t)h.proto_len + h.data_len;
		if (c->in_len - off < total) {
			if (buf_reserve(&c->in, &c->in_cap, total + off) < 0)
				c->dead = true;
			break;
		}
		const uint8_t *p = c->in + off + DFS_FRAME_HEADER_SIZE;
		if (s->h.handle(s->h.arg, c, &h, p, p + h.proto_len) < 0) {
			DFS_WARN("%s: bad %s request: closing", c->peer, dfs_method_name(h.method));
			c->dead = true;
		}
		off += total;
	}
	memmove(c->in, c->in + off, c->in_len - off);
	c->in_len -= off;
}

static void read_conn(struct rpc_server *s, struct rpc_conn *c)
{
	while (!c->dead && c->out_len - c->out_off < RPC_OUT_MAX) {
		if (buf_reserve(&c->in, &c->in_cap, c->in_len + RPC_READ_CHUNK) < 0) {
			c->dead = true;
			return;
		}
		size_t room = c->in_cap - c->in_len;
		ssize_t n = read(c->fd, c->in + c->in_len, room);
		if (n > 0) {
			c->in_len += (size_t)n;
			parse_frames(s, c);
			/* a short read drained the socket; epoll is level-triggered
			 * and reports what arrives later, so no read just to see
			 * EAGAIN (half of a busy leader's reads were that) */
			if ((size_t)n < room)
				return;
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			c->dead = true;
		if (n < 0 && errno == EINTR)
			continue;
		return;
	}
}

static void flush_conn(struct rpc_server *s, struct rpc_conn *c)
{
	while (!c->dead && c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL);
		if (n > 0) {
			c->out_off += (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && errno == EAGAIN) {
			break;
		} else {
			c->dead = true;
		}
	}
	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	/* a peer that does not read its replies is not read either */
	bool want = c->out_len > 0, full = c->out_len - c->out_off >= RPC_OUT_MAX;
	if (!c->dead && (want != c->want_out || full != c->stalled)) {
		struct epoll_event ev = {.events = (full ? 0 : EPOLLIN | EPOLLRDHUP) |
						   (want ? EPOLLOUT : 0),
					 .data.ptr = c};
		epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev);
		c->want_out = want;
		c->stalled = full;
	}
}

static void reap(struct rpc_server *s)
{
	for (struct rpc_conn **pp = &s->conns; *pp;) {
		struct rpc_conn *c = *pp;
		if (!c->dead) {
			pp = &c->next;
			continue;
		}
		*pp = c->next;
		DFS_DEBUG("connection from %s closed", c->peer);
		close(c->fd);
		s->n_conns--;
		c->reaped = true;
		if (c->refs == 0)
			conn_free(c);
	}
}

int rpc_server_run(struct rpc_server *s, int stop_fd)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
	if (stop_fd >= 0 && epoll_ctl(s->epfd, EPOLL_CTL_ADD, stop_fd, &ev) < 0)
		return DFS_ERRNO();
	struct epoll_event evs[RPC_EVENTS_MAX];
	int timeout = 0;
	for (;;) {
		int n = epoll_wait(s->epfd, evs, RPC_EVENTS_MAX, timeout);
		if (n < 0 && errno != EINTR)
			return DFS_ERRNO();
		for (int i = 0; i < n; i++) {
			struct rpc_conn *c = evs[i].data.ptr;
			if (c == NULL)
				return 0; /* stop fd */
			if (c == (void *)s) {
				accept_all(s);
				continue;
			}
			if (c == (void *)&s->watched)
				continue; /* a watched fd: the commit hook reads it */
			if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
				read_conn(s, c);
		}
		s->h.commit(s->h.arg);
		for (struct rpc_conn *c = s->conns; c; c = c->next)
			if (c->out_len > c->out_off)
				flush_conn(s, c);
		reap(s);
		timeout = s->h.tick(s->h.arg);
	}
}

int rpc_server_watch(struct rpc_server *s, int fd)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &s->watched};
	return epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? DFS_ERRNO() : 0;
}

int rpc_server_create(const char *host, uint16_t port, const struct rpc_handlers *h,
		      struct rpc_server **out, uint16_t *bound)
{
	struct rpc_server *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->h = *h;
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	int rc = s->epfd < 0 ? DFS_ERRNO() : 0;
	if (rc < 0)
		goto err_after_alloc;
	s->lfd = dfs_net_listen(host, port, RPC_LISTEN_BACKLOG, bound);
	if (s->lfd < 0) {
		rc = s->lfd;
		goto err_after_epoll;
	}
	fcntl(s->lfd, F_SETFL, fcntl(s->lfd, F_GETFL) | O_NONBLOCK);
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = s};
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->lfd, &ev) < 0) {
		rc = DFS_ERRNO();
		close(s->lfd);
		goto err_after_epoll;
	}
	*out = s;
	return 0;
err_after_epoll:
	close(s->epfd);
err_after_alloc:
	free(s);
	return rc;
}

void rpc_server_destroy(struct rpc_server *s)
{
	if (!s)
		return;
	for (struct rpc_conn *c = s->conns; c; c = c->next)
		c->dead = true;
	reap(s);
	close(s->lfd);
	close(s->epfd);
	free(s);
}
