/* rpc_server.h: the namenode's event loop: one epoll set with the
 * listening socket, the daemon stop fd and every connection.
 *
 * Threading model: ONE thread (the daemon's run()) runs rpc_server_run()
 * and owns everything: the namespace (struct ns), the datanode table, the
 * block map. The few helper threads (Raft peer senders, the WAL syncer;
 * see raft_node.h) touch none of it. A watched descriptor
 * (rpc_server_watch) lets such a thread wake the loop. Sockets are
 * non-blocking; each connection has an input buffer parsed frame by frame
 * (dfs_frame_header_decode) and an output queue.
 *
 * Group commit: one loop iteration reads every ready socket and hands
 * every complete frame to handle() (mutations are proposed to Raft), then
 * calls commit() once (one WAL fsync makes all of them durable, committed
 * entries are applied and their replies queued, see raft_node.h), and only
 * then writes the queued replies. So a reply never leaves before what it
 * acknowledges is durable. handle() may keep a reply owed across loop
 * turns (rpc_conn_hold) and queue it from a later commit().
 *
 * A malformed frame (bad magic, over-size, or handle() < 0 for an
 * undecodable protobuf) closes that connection and is logged. */
#ifndef DFS_NAMENODE_RPC_SERVER_H
#define DFS_NAMENODE_RPC_SERVER_H
#include "common/frame.h"

#include <stdint.h>

#define RPC_CONNS_MAX 4096          /* connections; more are refused */
#define RPC_EVENTS_MAX 256          /* epoll events per wait */
#define RPC_READ_CHUNK (64u << 10)  /* bytes read per read() */
#define RPC_OUT_MAX (64u << 20)     /* queued reply bytes before we stop reading */

struct rpc_conn;

struct rpc_handlers {
	/* One complete frame. Return 0, or < 0 to close the connection. */
	int (*handle)(void *arg, struct rpc_conn *c, const struct dfs_frame_header *h,
		      const uint8_t *proto, const uint8_t *data);
	/* After a batch of frames, before their replies are sent. */
	void (*commit)(void *arg);
	/* Periodic work; returns the ms until it wants to run again. */
	int (*tick)(void *arg);
	void *arg;
};

struct rpc_server;

/* Listens on host:port (0: ephemeral); *bound gets the port. */
int rpc_server_create(const char *host, uint16_t port, const struct rpc_handlers *h,
		      struct rpc_server **out, uint16_t *bound);
/* Adds fd to the loop's epoll set: its being readable only ends the wait
 * (the commit hook, which runs next, reads it). 0 or a negative errno. */
int rpc_server_watch(struct rpc_server *s, int fd);
/* Runs until stop_fd is readable. Returns 0 or a negative errno. */
int rpc_server_run(struct rpc_server *s, int stop_fd);
void rpc_server_destroy(struct rpc_server *s);

/* Queues a reply frame on c (sent after the batch's commit). 0 or -ENOMEM. */
int rpc_conn_reply(struct rpc_conn *c, uint32_t method, uint64_t call_id,
		   const ProtobufCMessage *msg);
/* Deferred replies (Raft: the reply leaves once the entry is applied):
 * hold c while a reply is owed; after release, c may be freed. Replying to
 * a connection that closed meanwhile is a silent no-op. Loop thread. */
void rpc_conn_hold(struct rpc_conn *c);
void rpc_conn_release(struct rpc_conn *c);
/* Peer address "host:port" of c, for logs. */
const char *rpc_conn_peer(const struct rpc_conn *c);

#endif
