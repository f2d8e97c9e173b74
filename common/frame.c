/* frame.c: encoding, sending and receiving dfs frames (see frame.h). */
#include "common/frame.h"
#include "common/errors.h"
#include "common/net.h"

#include <stdlib.h>
#include <string.h>

static const char *const method_names[DFS_M_MAX] = {
	[DFS_M_MKDIR] = "MKDIR", [DFS_M_CREATE] = "CREATE", [DFS_M_LOOKUP] = "LOOKUP",
	[DFS_M_GETATTR] = "GETATTR", [DFS_M_SETATTR] = "SETATTR", [DFS_M_READDIR] = "READDIR",
	[DFS_M_RENAME] = "RENAME", [DFS_M_UNLINK] = "UNLINK", [DFS_M_RMDIR] = "RMDIR",
	[DFS_M_DELETE] = "DELETE", [DFS_M_SYMLINK] = "SYMLINK", [DFS_M_READLINK] = "READLINK",
	[DFS_M_LINK] = "LINK", [DFS_M_SETREP] = "SETREP", [DFS_M_ADD_BLOCK] = "ADD_BLOCK",
	[DFS_M_OPEN_BLOCK] = "OPEN_BLOCK", [DFS_M_COMPLETE] = "COMPLETE",
	[DFS_M_GET_BLOCKS] = "GET_BLOCKS", [DFS_M_STATFS] = "STATFS", [DFS_M_REPORT] = "REPORT",
	[DFS_M_MKNOD] = "MKNOD", [DFS_M_PING] = "PING",
	[DFS_M_BAD_REPLICA] = "BAD_REPLICA",
	[DFS_M_SAFEMODE] = "SAFEMODE", [DFS_M_DECOMMISSION] = "DECOMMISSION",
	[DFS_M_SETXATTR] = "SETXATTR", [DFS_M_GETXATTR] = "GETXATTR",
	[DFS_M_LISTXATTR] = "LISTXATTR", [DFS_M_REMOVEXATTR] = "REMOVEXATTR",
	[DFS_M_DN_REGISTER] = "DN_REGISTER", [DFS_M_DN_HEARTBEAT] = "DN_HEARTBEAT",
	[DFS_M_DN_REPORT] = "DN_REPORT", [DFS_M_WRITE_BLOCK] = "WRITE_BLOCK",
	[DFS_M_WRITE_PACKET] = "WRITE_PACKET", [DFS_M_WRITE_ACK] = "WRITE_ACK",
	[DFS_M_READ_BLOCK] = "READ_BLOCK", [DFS_M_READ_PACKET] = "READ_PACKET",
	[DFS_M_BLOCK_INFO] = "BLOCK_INFO",
	[DFS_M_LOCAL_OPEN] = "LOCAL_OPEN",
	[DFS_M_RAFT_MSG] = "RAFT_MSG", [DFS_M_RAFT_SNAPSHOT] = "RAFT_SNAPSHOT",
	[DFS_M_RAFT_STATUS] = "RAFT_STATUS", [DFS_M_RAFT_ADMIN] = "RAFT_ADMIN",
};

const char *dfs_method_name(uint32_t method)
{
	if (method < DFS_M_MAX && method_names[method] != NULL)
		return method_names[method];
	return "?";
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void dfs_frame_header_encode(const struct dfs_frame_header *h, uint8_t out[DFS_FRAME_HEADER_SIZE])
{
	put32(out, DFS_FRAME_MAGIC);
	put32(out + 4, h->method);
	put32(out + 8, h->proto_len);
	put32(out + 12, h->data_len);
	put32(out + 16, (uint32_t)(h->call_id >> 32));
	put32(out + 20, (uint32_t)h->call_id);
}

int dfs_frame_header_decode(const uint8_t in[DFS_FRAME_HEADER_SIZE], struct dfs_frame_header *h)
{
	if (get32(in) != DFS_FRAME_MAGIC)
		return -DFS_EPROTOCOL;
	h->method = get32(in + 4);
	h->proto_len = get32(in + 8);
	h->data_len = get32(in + 12);
	h->call_id = (uint64_t)get32(in + 16) << 32 | get32(in + 20);
	if (h->method >= DFS_M_MAX || h->proto_len > DFS_FRAME_PROTO_MAX ||
	    h->data_len > DFS_FRAME_DATA_MAX)
		return -DFS_EPROTOCOL;
	return 0;
}

int dfs_frame_sendv(int fd, const struct dfs_frame_out *frames, int n)
{
	uint8_t headers[DFS_FRAME_SENDV_MAX][DFS_FRAME_HEADER_SIZE];
	uint8_t small[DFS_FRAME_SENDV_MAX][512];
	uint8_t *packed[DFS_FRAME_SENDV_MAX];
	struct iovec iov[3 * DFS_FRAME_SENDV_MAX];
	int niov = 0, rc = 0, k;
	if (n < 1 || n > DFS_FRAME_SENDV_MAX)
		return -EINVAL;
	for (k = 0; k < n; k++) {
		const struct dfs_frame_out *o = &frames[k];
		size_t plen = o->msg != NULL ? protobuf_c_message_get_packed_size(o->msg) : 0;
		packed[k] = small[k];
		if (plen > DFS_FRAME_PROTO_MAX || o->data_len > DFS_FRAME_DATA_MAX) {
			rc = -EMSGSIZE;
			break;
		}
		if (plen > sizeof(small[k]) && (packed[k] = malloc(plen)) == NULL) {
			rc = -ENOMEM;
			break;
		}
		if (plen > 0)
			protobuf_c_message_pack(o->msg, packed[k]);
		struct dfs_frame_header h = {
			.method = o->method, .proto_len = (uint32_t)plen,
			.data_len = (uint32_t)o->data_len, .call_id = o->call_id,
		};
		dfs_frame_header_encode(&h, headers[k]);
		iov[niov++] = (struct iovec){ .iov_base = headers[k],
					      .iov_len = sizeof(headers[k]) };
		iov[niov++] = (struct iovec){ .iov_base = packed[k], .iov_len = plen };
		if (o->data_len > 0)
			iov[niov++] = (struct iovec){ .iov_base = (void *)o->data,
						      .iov_len = o->data_len };
	}
	if (rc == 0)
		rc = dfs_net_writev_full(fd, iov, niov);
	for (int i = 0; i < k; i++)
		if (packed[i] != small[i])
			free(packed[i]);
	return rc;
}

int dfs_frame_send(int fd, uint32_t method, uint64_t call_id, const ProtobufCMessage *msg,
		   const void *data, size_t data_len)
{
	struct dfs_frame_out f = { .method = method, .call_id = call_id, .msg = msg,
				   .data = data, .data_len = data_len };
	return dfs_frame_sendv(fd, &f, 1);
}

/* Grows *buf to hold need bytes; the old contents are not kept. Buffers
 * are page-aligned so that a datanode can hand received packet data to
 * an O_DIRECT write as it is. */
static int ensure_cap(uint8_t **buf, size_t *cap, size_t need)
{
	if (need <= *cap && *buf != NULL)
		return 0;
	size_t n = need < DFS_FRAME_BUF_ALIGN ? DFS_FRAME_BUF_ALIGN : need;
	void *p = NULL;
	if (posix_memalign(&p, DFS_FRAME_BUF_ALIGN, n) != 0)
		return -ENOMEM;
	free(*buf);
	*buf = p;
	*cap = n;
	return 0;
}

int dfs_frame_recv_head(int fd, struct dfs_frame *f)
{
	uint8_t header[DFS_FRAME_HEADER_SIZE];
	int rc = dfs_net_read_full(fd, header, sizeof(header));
	if (rc < 0)
		return rc;
	rc = dfs_frame_header_decode(header, &f->h);
	if (rc < 0)
		return rc;
	rc = ensure_cap(&f->proto, &f->proto_cap, f->h.proto_len);
	if (rc < 0)
		return rc;
	return dfs_net_read_full(fd, f->proto, f->h.proto_len);
}

int dfs_frame_recv_data(int fd, struct dfs_frame *f)
{
	int rc = ensure_cap(&f->data, &f->data_cap, f->h.data_len);
	if (rc < 0)
		return rc;
	return dfs_net_read_full(fd, f->data, f->h.data_len);
}

int dfs_frame_recv(int fd, struct dfs_frame *f)
{
	int rc = dfs_frame_recv_head(fd, f);
	return rc < 0 ? rc : dfs_frame_recv_data(fd, f);
}

void dfs_frame_release(struct dfs_frame *f)
{
	free(f->proto);
	free(f->data);
	memset(f, 0, sizeof(*f));
}

ProtobufCMessage *dfs_frame_unpack(const struct dfs_frame *f, const ProtobufCMessageDescriptor *d)
{
	return protobuf_c_message_unpack(d, NULL, f->h.proto_len, f->proto);
}
