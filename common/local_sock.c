/* local_sock.c: the datanode's local-read socket (see local_sock.h). */
#include "common/local_sock.h"
#include "common/errors.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define LOCAL_PROTO_MAX 4096
#define LOCAL_FDS_MAX 4

/* The abstract address: sun_path[0] is NUL, the name follows, unterminated. */
static int addr_of(const char *host, uint16_t port, struct sockaddr_un *sa, socklen_t *len)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	int n = snprintf(sa->sun_path + 1, sizeof(sa->sun_path) - 1, "dfs-datanode/%s:%u", host,
			 port);
	if (n < 0 || (size_t)n >= sizeof(sa->sun_path) - 1)
		return -ENAMETOOLONG;
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
	return 0;
}

/* A new socket and the address of host:port's: fd or -errno. */
static int new_socket(const char *host, uint16_t port, struct sockaddr_un *sa, socklen_t *len)
{
	int rc = addr_of(host, port, sa, len);
	if (rc < 0)
		return rc;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	return fd < 0 ? DFS_ERRNO() : fd;
}

int dfs_local_sock_listen(const char *host, uint16_t port)
{
	struct sockaddr_un sa;
	socklen_t len;
	int rc, fd = new_socket(host, port, &sa, &len);
	if (fd < 0)
		return fd;
	if (bind(fd, (struct sockaddr *)&sa, len) < 0 || listen(fd, 64) < 0) {
		rc = DFS_ERRNO();
		close(fd);
		return rc;
	}
	return fd;
}

int dfs_local_sock_connect(const char *host, uint16_t port)
{
	struct sockaddr_un sa;
	socklen_t len;
	int rc, fd = new_socket(host, port, &sa, &len);
	if (fd < 0)
		return fd;
	if (connect(fd, (struct sockaddr *)&sa, len) < 0) {
		rc = DFS_ERRNO();
		close(fd);
		return rc;
	}
	return fd;
}

int dfs_local_sock_send(int fd, uint32_t method, uint64_t call_id, const ProtobufCMessage *msg,
			const int *fds, int n_fds)
{
	uint8_t buf[DFS_FRAME_HEADER_SIZE + LOCAL_PROTO_MAX];
	size_t plen = msg != NULL ? protobuf_c_message_get_packed_size(msg) : 0;
	if (plen > LOCAL_PROTO_MAX || n_fds < 0 || n_fds > LOCAL_FDS_MAX)
		return -EMSGSIZE;
	struct dfs_frame_header h = { .method = method, .proto_len = (uint32_t)plen,
				      .call_id = call_id };
	dfs_frame_header_encode(&h, buf);
	if (msg != NULL)
		protobuf_c_message_pack(msg, buf + DFS_FRAME_HEADER_SIZE);
	struct iovec iov = { .iov_base = buf, .iov_len = DFS_FRAME_HEADER_SIZE + plen };
	union {
		char b[CMSG_SPACE(LOCAL_FDS_MAX * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (n_fds > 0) {
		memset(&ctl, 0, sizeof(ctl));
		m.msg_control = ctl.b;
		m.msg_controllen = CMSG_SPACE((size_t)n_fds * sizeof(int));
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN((size_t)n_fds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, (size_t)n_fds * sizeof(int));
	}
	const uint8_t *p = buf;
	size_t left = iov.iov_len;
	while (left > 0) {
		iov.iov_base = (void *)p;
		iov.iov_len = left;
		ssize_t k = sendmsg(fd, &m, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return DFS_ERRNO();
		/* the descriptors went with the first byte */
		m.msg_control = NULL;
		m.msg_controllen = 0;
		p += k;
		left -= (size_t)k;
	}
	return 0;
}

/* Takes the descriptors of one control message: keeps up to max, closes
 * the rest. */
static void take_fds(struct msghdr *m, int *fds, int max_fds, int *n_fds)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c != NULL; c = CMSG_NXTHDR(m, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int got;
			memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (*n_fds < max_fds)
				fds[(*n_fds)++] = got;
			else
				close(got);
		}
	}
}

int dfs_local_sock_recv(int fd, struct dfs_frame *f, int *fds, int max_fds, int *n_fds)
{
	uint8_t buf[DFS_FRAME_HEADER_SIZE + LOCAL_PROTO_MAX];
	size_t have = 0, want = DFS_FRAME_HEADER_SIZE;
	int rc = 0;
	*n_fds = 0;
	while (have < want) {
		union {
			char b[CMSG_SPACE(LOCAL_FDS_MAX * sizeof(int))];
			struct cmsghdr align;
		} ctl;
		struct iovec iov = { .iov_base = buf + have, .iov_len = want - have };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b,
				    .msg_controllen = sizeof(ctl.b) };
		ssize_t k = recvmsg(fd, &m, MSG_CMSG_CLOEXEC);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			rc = errno == EWOULDBLOCK ? -EAGAIN : DFS_ERRNO();
			break;
		}
		take_fds(&m, fds, max_fds, n_fds);
		if (k == 0) {
			rc = -ECONNRESET;
			break;
		}
		have += (size_t)k;
		if (have == DFS_FRAME_HEADER_SIZE && want == DFS_FRAME_HEADER_SIZE) {
			if ((rc = dfs_frame_header_decode(buf, &f->h)) < 0)
				break;
			if (f->h.proto_len > LOCAL_PROTO_MAX || f->h.data_len != 0) {
				rc = -DFS_EPROTOCOL;
				break;
			}
			want += f->h.proto_len;
		}
	}
	if (rc == 0 && f->h.proto_len > f->proto_cap) {
		uint8_t *p = realloc(f->proto, f->h.proto_len);
		if (p == NULL) {
			rc = -ENOMEM;
		} else {
			f->proto = p;
			f->proto_cap = f->h.proto_len;
		}
	}
	if (rc == 0 && f->h.proto_len > 0)
		memcpy(f->proto, buf + DFS_FRAME_HEADER_SIZE, f->h.proto_len);
	if (rc < 0) {
		for (int i = 0; i < *n_fds; i++)
			close(fds[i]);
		*n_fds = 0;
	}
	return rc;
}
