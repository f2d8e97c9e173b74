/* datanode.h: the dfs-datanode process context shared by its modules:
 * configuration, the block store, the data-transfer server, the namenode
 * links and the command executor.
 *
 * Threads: the main thread (daemon skeleton: init steps, run, fini), one
 * accept thread, one thread per data-transfer connection (bounded by
 * max_connections) plus one ack responder per write stream with a
 * downstream (write_pipeline.c), one thread
 * per namenode, up to max_copies COPY threads, the data-dir health thread
 * (volumes.h), the block scanner (scanner.h) and a checkpoint thread per
 * data dir's replica journal (journal.h).
 * Lock order (a thread holding a lock never takes one to its left):
 *   xfer server lock | nn link lock | commands lock   ->   store lock
 * In practice every lock is a leaf: none is held across network I/O or
 * while another is taken. */
#ifndef DFS_DATANODE_DATANODE_H
#define DFS_DATANODE_DATANODE_H
#include <stdint.h>

#include "datanode/blockstore.h"
#include "common/conn_pool.h"
#include "common/net.h"

struct dn_config {
	char *data_dirs;
	char *namenodes;
	char *listen_host;
	int64_t port;
	int64_t heartbeat_ms;
	int64_t block_report_ms;
	int64_t report_delay_ms;
	int64_t max_connections;
	int64_t max_copies;
	int64_t io_timeout_ms;
	int64_t connect_timeout_ms;
	uint64_t socket_buffer_size;
	uint64_t read_packet_size;
	uint64_t scan_bytes_per_s;
	int64_t scan_period_ms;
	int64_t disk_check_ms;
	int64_t min_data_dirs;
	uint64_t reserved_bytes;
	int direct_writes;
	uint64_t journal_size;
	int local_reads;
	char *log_level;
	char *log_file;
};

struct dn_xfer_server;
struct dn_nn;
struct dn_commands;
struct dn_volumes;
struct dn_scanner;
struct dn_local_read;

struct datanode {
	struct dn_config cfg;
	struct dn_store store;
	int store_open;
	char host[DFS_HOST_MAX]; /* advertised data-transfer address */
	uint16_t port;
	struct dn_xfer_server *xfer;
	struct dfs_conn_pool downstream; /* idle connections of write pipelines
					    to the next datanode (xfer_server.c
					    owns it, write_pipeline.c uses it) */
	struct dn_nn *nn;
	struct dn_commands *cmds;
	struct dn_volumes *vol;  /* volumes.c: data-dir health thread */
	struct dn_scanner *scan; /* scanner.c: block scanner thread (NULL: off) */
	struct dn_local_read *local; /* local_read.c: LOCAL_OPEN thread (NULL: off) */
	int fatal;               /* set before a self-requested stop: exit status */
};

/* Largest replica the datanode accepts to write (bounds offsets and
 * truncates coming from the network). */
#define DN_REPLICA_SIZE_MAX (64ull << 30)

#endif
