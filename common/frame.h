/* frame.h: the one framing every dfs connection uses (namenode RPC and
 * datanode data transfer alike):
 *
 *   +-------+--------+-----------+----------+---------+--------+------+
 *   | magic | method | proto_len | data_len | call_id | proto  | data |
 *   |  u32  |  u32   |    u32    |   u32    |   u64   | bytes  | bytes|
 *   +-------+--------+-----------+----------+---------+--------+------+
 *
 * All integers big-endian; the 24-byte header is followed by a protobuf
 * message (proto_len bytes) and raw payload bytes (data_len, block data).
 * A reply carries the request's method and call_id. A frame with a bad
 * magic or over-size lengths is rejected (-DFS_EPROTOCOL) and the
 * connection must be closed. Functions are reentrant; one thread uses one
 * fd at a time. */
#ifndef DFS_COMMON_FRAME_H
#define DFS_COMMON_FRAME_H
#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#define DFS_FRAME_MAGIC 0x44465331u /* "DFS1" */
#define DFS_FRAME_HEADER_SIZE 24
#define DFS_FRAME_PROTO_MAX (16u << 20)
#define DFS_FRAME_DATA_MAX (8u << 20)

/* WriteBlockHeader.ack_timeout_ms along a write chain: a node waits an
 * eighth less for its downstream's ack than the node (or client) above
 * waits for its own, counted from when it forwarded the packet, so the
 * node just above a stalled one gives up first and reports it. */
static inline uint32_t dfs_ack_timeout_step(uint32_t upstream_ms)
{
	return upstream_ms - upstream_ms / 8;
}

/* Method ids: what a frame's protobuf is. Requests and their replies. */
enum dfs_method {
	DFS_M_NONE = 0,
	/* client -> namenode: NsRequest, reply NsReply */
	DFS_M_MKDIR = 1,
	DFS_M_CREATE = 2,
	DFS_M_LOOKUP = 3,
	DFS_M_GETATTR = 4,
	DFS_M_SETATTR = 5,
	DFS_M_READDIR = 6,
	DFS_M_RENAME = 7,
	DFS_M_UNLINK = 8,
	DFS_M_RMDIR = 9,
	DFS_M_DELETE = 10,
	DFS_M_SYMLINK = 11,
	DFS_M_READLINK = 12,
	DFS_M_LINK = 13,
	DFS_M_SETREP = 14,
	DFS_M_ADD_BLOCK = 15,  /* new block at block_index: ids + pipeline */
	DFS_M_OPEN_BLOCK = 16, /* existing block for rewrite: new genstamp */
	DFS_M_COMPLETE = 17,   /* record block lengths and file size */
	DFS_M_GET_BLOCKS = 18,
	DFS_M_STATFS = 19,
	DFS_M_REPORT = 20,
	DFS_M_MKNOD = 21,
	DFS_M_PING = 22,
	/* client or datanode -> namenode: BadReplicaReport, reply NsReply */
	DFS_M_BAD_REPLICA = 23,
	/* admin -> namenode: NsRequest, reply NsReply */
	DFS_M_SAFEMODE = 24,     /* flags 0 get, 1 enter, 2 leave -> NsReply.safemode */
	DFS_M_DECOMMISSION = 25, /* target = datanode uuid or host:port; flags 1: undo */
	/* client -> namenode: extended attributes of an inode (ino or path),
	 * NsRequest.xattr_name / xattr_value, NsReply.xattrs */
	DFS_M_SETXATTR = 26,     /* flags NSF_XATTR_CREATE / NSF_XATTR_REPLACE */
	DFS_M_GETXATTR = 27,     /* -> xattrs[0] = {name, value} */
	DFS_M_LISTXATTR = 28,    /* -> xattrs = the names, no values */
	DFS_M_REMOVEXATTR = 29,
	DFS_M_NS_LAST = 29,      /* highest namespace method id (NsRequest) */
	/* datanode -> namenode */
	DFS_M_DN_REGISTER = 40,  /* DnRegister -> DnReply */
	DFS_M_DN_HEARTBEAT = 41, /* DnHeartbeat -> DnReply (commands) */
	DFS_M_DN_REPORT = 42,    /* DnBlockReport -> DnReply */
	/* anyone -> datanode */
	DFS_M_WRITE_BLOCK = 60,  /* WriteBlockHeader, then packets */
	DFS_M_WRITE_PACKET = 61, /* WritePacket + data */
	DFS_M_WRITE_ACK = 62,    /* WriteAck */
	DFS_M_READ_BLOCK = 63,   /* ReadBlockRequest, reply ReadPacket* */
	DFS_M_READ_PACKET = 64,  /* ReadPacket + data */
	DFS_M_BLOCK_INFO = 65,   /* BlockInfoRequest -> BlockInfoReply */
	DFS_M_LOCAL_OPEN = 66,   /* LocalOpenRequest -> LocalOpenReply + fds (local_sock.h) */
	/* namenode <-> namenode (Raft, common/proto/raft.proto) and admin */
	DFS_M_RAFT_MSG = 80,      /* RaftMsg, one-way (no reply frame) */
	DFS_M_RAFT_SNAPSHOT = 81, /* RaftSnapChunk, one-way */
	DFS_M_RAFT_STATUS = 82,   /* RaftStatusRequest -> RaftStatus */
	DFS_M_RAFT_ADMIN = 83,    /* RaftAdminRequest -> RaftAdminReply */
	DFS_M_MAX = 128,
};

/* Name of a method for logs ("MKDIR"); "?" if unknown. */
const char *dfs_method_name(uint32_t method);

struct dfs_frame_header {
	uint32_t method;
	uint32_t proto_len;
	uint32_t data_len;
	uint64_t call_id;
};

void dfs_frame_header_encode(const struct dfs_frame_header *h, uint8_t out[DFS_FRAME_HEADER_SIZE]);
/* Returns 0, or -DFS_EPROTOCOL on a bad magic or lengths over the maxima. */
int dfs_frame_header_decode(const uint8_t in[DFS_FRAME_HEADER_SIZE], struct dfs_frame_header *h);

/* Sends one frame: msg packed (may be NULL: empty), then data (may be
 * NULL when data_len is 0). One writev. */
int dfs_frame_send(int fd, uint32_t method, uint64_t call_id, const ProtobufCMessage *msg,
		   const void *data, size_t data_len);

/* One frame to send, as dfs_frame_send's arguments. */
struct dfs_frame_out {
	uint32_t method;
	uint64_t call_id;
	const ProtobufCMessage *msg;
	const void *data;
	size_t data_len;
};
#define DFS_FRAME_SENDV_MAX 4

/* Sends n (<= DFS_FRAME_SENDV_MAX) frames with one writev: the receiver
 * gets them in one segment and wakes once, where a send each made it
 * wake per frame (a write stream's header and its only packet, say). */
int dfs_frame_sendv(int fd, const struct dfs_frame_out *frames, int n);

/* A received frame; its buffers are reused across dfs_frame_recv() calls
 * on the same struct and freed by dfs_frame_release(). Zero-initialise. */
#define DFS_FRAME_BUF_ALIGN 4096 /* received proto and data buffers start on a page */

struct dfs_frame {
	struct dfs_frame_header h;
	uint8_t *proto;    /* h.proto_len bytes */
	uint8_t *data;     /* h.data_len bytes */
	size_t proto_cap;
	size_t data_cap;
};

/* Receives one whole frame into f. -ECONNRESET when the peer closed,
 * -DFS_EPROTOCOL on a malformed header, -EAGAIN on timeout. */
int dfs_frame_recv(int fd, struct dfs_frame *f);

/* Receives only the header and the protobuf part; the caller then reads
 * f->h.data_len payload bytes itself (e.g. straight into a user buffer). */
int dfs_frame_recv_head(int fd, struct dfs_frame *f);
/* After dfs_frame_recv_head: receives the payload into f->data. */
int dfs_frame_recv_data(int fd, struct dfs_frame *f);

void dfs_frame_release(struct dfs_frame *f);

/* Unpacks f's protobuf with descriptor d; NULL if malformed or of the wrong
 * type. Free with protobuf_c_message_free_unpacked(m, NULL). */
ProtobufCMessage *dfs_frame_unpack(const struct dfs_frame *f, const ProtobufCMessageDescriptor *d);

#endif
