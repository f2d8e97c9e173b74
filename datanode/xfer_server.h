/* xfer_server.h: the data-transfer listener: an accept thread and one
 * detached thread per connection (at most cfg.max_connections; more are
 * refused with a log line), each reading request frames and dispatching
 * WRITE_BLOCK (write_pipeline.c), READ_BLOCK (read_handler.c) and
 * BLOCK_INFO. Any malformed frame closes that connection. */
#ifndef DFS_DATANODE_XFER_SERVER_H
#define DFS_DATANODE_XFER_SERVER_H
#include "datanode/datanode.h"
#include "common/frame.h"

/* Listens on cfg.listen_host:cfg.port, sets dn->host/port and starts the
 * accept thread. Main thread. Returns 0 or a negative errno. */
int dn_xfer_start(struct datanode *dn);

/* Stops accepting, shuts every connection down and waits (bounded) for
 * their threads. Main thread. */
void dn_xfer_stop(struct datanode *dn);

/* Number of open data-transfer connections (for heartbeats). */
unsigned dn_xfer_active(struct datanode *dn);

/* Request handlers, called on a connection thread with the request frame
 * already read. Return 0 to keep the connection for another request, or
 * a negative code to close it. */
int dn_write_block(struct datanode *dn, int fd, struct dfs_frame *req);
int dn_read_block(struct datanode *dn, int fd, struct dfs_frame *req);

/* Accepts on listen_fd until wake_fd turns readable, giving each new
 * connection to on_conn (which owns the fd); a full fd table backs off
 * 100 ms. The accept threads of the data-transfer and local-read sockets. */
void dn_accept_loop(int listen_fd, int wake_fd, void (*on_conn)(void *arg, int fd), void *arg);

/* Sends a frame as received (header, protobuf, data) to fd. */
int dn_frame_forward(int fd, const struct dfs_frame *f);

#endif
