/* local_sock.h: the datanode's local-read socket (short-circuit reads).
 *
 * A datanode listening for data transfer on host:port also listens on the
 * abstract Unix socket "@dfs-datanode/<host>:<port>" (no file, gone with
 * the process, one per network namespace). A client on the same machine
 * asks it for a replica's files by LOCAL_OPEN and gets them as open file
 * descriptors (SCM_RIGHTS), then reads and checks the replica itself.
 * Messages are ordinary frames without a data part. Any thread. */
#ifndef DFS_COMMON_LOCAL_SOCK_H
#define DFS_COMMON_LOCAL_SOCK_H
#include <stdint.h>

#include "common/frame.h"

/* Listens on the socket of data-transfer address host:port: fd or -errno
 * (-EADDRINUSE: another process has it). */
int dfs_local_sock_listen(const char *host, uint16_t port);

/* Connects to it: fd or -errno (-ECONNREFUSED: no such datanode here). */
int dfs_local_sock_connect(const char *host, uint16_t port);

/* Sends a frame (no data part) with n_fds descriptors attached. */
int dfs_local_sock_send(int fd, uint32_t method, uint64_t call_id, const ProtobufCMessage *msg,
			const int *fds, int n_fds);

/* Receives a frame (no data part, protobuf at most 4 KiB) into f and the
 * descriptors that came with it into fds (up to max_fds, *n_fds set; any
 * more are closed). The caller owns the descriptors. 0 or -errno. */
int dfs_local_sock_recv(int fd, struct dfs_frame *f, int *fds, int max_fds, int *n_fds);

#endif
