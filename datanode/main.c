/* main.c: dfs-datanode: the configuration table, the init steps (block
 * store, namenode list, data-transfer server, command executor, namenode
 * threads) and the run loop, on the shared daemon skeleton. */
#include "datanode/commands.h"
#include "datanode/datanode.h"
#include "datanode/local_read.h"
#include "datanode/nn_link.h"
#include "datanode/xfer_server.h"
#include "datanode/scanner.h"
#include "datanode/volumes.h"
#include "common/daemon.h"
#include "common/errors.h"
#include "common/log.h"

#include <inttypes.h>
#include <poll.h>
#include <stddef.h>

#define OPT(k, t, d, f, h, lo, hi) { k, t, d, offsetof(struct dn_config, f), h, lo, hi }

static const struct dfs_config_option options[] = {
	OPT("data_dirs", DFS_CFG_STRING, "/var/lib/dfs/data", data_dirs,
	    "comma-separated block directories (new replicas go round robin over those with room)",
	    0, 0),
	OPT("namenodes", DFS_CFG_STRING, "127.0.0.1:8020", namenodes,
	    "comma-separated host:port of every namenode (all get heartbeats and reports)", 0, 0),
	OPT("listen_host", DFS_CFG_STRING, "127.0.0.1", listen_host,
	    "address to listen on for data transfer, also the address advertised", 0, 0),
	OPT("port", DFS_CFG_INT, "9866", port, "data-transfer port (0: ephemeral)", 0, 65535),
	OPT("heartbeat_ms", DFS_CFG_DURATION, "1000", heartbeat_ms,
	    "interval between heartbeats to each namenode", 0, 0),
	OPT("block_report_ms", DFS_CFG_DURATION, "600000", block_report_ms,
	    "interval between full block reports", 0, 0),
	OPT("report_delay_ms", DFS_CFG_DURATION, "10", report_delay_ms,
	    "an incremental block report waits this long for more replicas (0: none)", 0, 0),
	OPT("max_connections", DFS_CFG_INT, "256", max_connections,
	    "data-transfer connections served at once; more are refused", 1, 65536),
	OPT("max_copies", DFS_CFG_INT, "4", max_copies,
	    "re-replication copies (COPY commands) run at once", 1, 1024),
	OPT("io_timeout_ms", DFS_CFG_DURATION, "60000", io_timeout_ms,
	    "a data connection idle this long (read or write) is closed", 0, 0),
	OPT("connect_timeout_ms", DFS_CFG_DURATION, "3000", connect_timeout_ms,
	    "timeout to connect to a downstream datanode or a namenode", 0, 0),
	OPT("socket_buffer_size", DFS_CFG_SIZE, "4M", socket_buffer_size,
	    "SO_SNDBUF/SO_RCVBUF of data connections", 0, 0),
	OPT("read_packet_size", DFS_CFG_SIZE, "1M", read_packet_size,
	    "data bytes per READ_PACKET (multiple of 4K, at most 8M)", 0, 0),
	OPT("scan_bytes_per_s", DFS_CFG_SIZE, "8M", scan_bytes_per_s,
	    "block scanner: bytes of replicas re-read and checked per second (0: off)", 0, 0),
	OPT("scan_period_ms", DFS_CFG_DURATION, "1h", scan_period_ms,
	    "block scanner: rest between two full passes", 0, 0),
	OPT("disk_check_ms", DFS_CFG_DURATION, "10s", disk_check_ms,
	    "interval between data-dir health probes (also run at once after an I/O error)",
	    0, 0),
	OPT("min_data_dirs", DFS_CFG_INT, "1", min_data_dirs,
	    "stop with an error when fewer data dirs than this remain in service", 1,
	    DN_DIRS_MAX),
	OPT("reserved_bytes", DFS_CFG_SIZE, "0", reserved_bytes,
	    "free space per data dir below which it takes no new replicas", 0, 0),
	OPT("direct_writes", DFS_CFG_BOOL, "1", direct_writes,
	    "write whole aligned packets with O_DIRECT (no page-cache copy; 0: always buffered)",
	    0, 0),
	OPT("journal_size", DFS_CFG_SIZE, "32M", journal_size,
	    "replica journal per data dir, where small new replicas are made durable with one "
	    "fdatasync (0: off; at least 1M)", 0, 0),
	OPT("local_reads", DFS_CFG_BOOL, "1", local_reads,
	    "hand replica files to clients on this machine (short-circuit reads)", 0, 0),
	OPT("log_level", DFS_CFG_STRING, "info", log_level, "debug, info, notice, warn or err",
	    0, 0),
	OPT("log_file", DFS_CFG_STRING, "", log_file, "log file (empty: stderr)", 0, 0),
};

static int check_config(struct datanode *dn)
{
	struct dn_config *c = &dn->cfg;
	if (c->read_packet_size < 4096 || c->read_packet_size > (8u << 20) ||
	    c->read_packet_size % 4096 != 0) {
		DFS_ERR("read_packet_size must be a multiple of 4K between 4K and 8M");
		return -EINVAL;
	}
	if (c->heartbeat_ms <= 0 || c->block_report_ms <= 0 || c->connect_timeout_ms <= 0 ||
	    c->disk_check_ms <= 0 || c->scan_period_ms <= 0) {
		DFS_ERR("heartbeat_ms, block_report_ms, connect_timeout_ms, disk_check_ms and "
			"scan_period_ms must be > 0");
		return -EINVAL;
	}
	return 0;
}

static int store_init(void *ctx)
{
	struct datanode *dn = ctx;
	int rc = check_config(dn);
	if (rc == 0)
		rc = dn_store_open(&dn->store, dn->cfg.data_dirs, dn->cfg.journal_size);
	dn->store_open = rc == 0;
	if (rc == 0 && (int64_t)dn->store.n_dirs < dn->cfg.min_data_dirs) {
		DFS_ERR("%zu data dirs, min_data_dirs is %" PRId64, dn->store.n_dirs,
			dn->cfg.min_data_dirs);
		rc = -EINVAL;
	}
	dn->store.reserved_bytes = dn->cfg.reserved_bytes;
	dn->store.direct_writes = dn->cfg.direct_writes;
	return rc;
}

/* 1 if a connection or copy thread outlived its stop deadline: then the
 * state it uses is left allocated rather than freed under it. */
static int threads_left(const struct datanode *dn)
{
	return dn->xfer != NULL || dn->cmds != NULL;
}

static void store_fini(void *ctx)
{
	struct datanode *dn = ctx;
	if (dn->store_open && !threads_left(dn))
		dn_store_close(&dn->store);
	dn->store_open = 0;
}

static int nn_init(void *ctx) { return dn_nn_init(ctx); }
static void nn_free(void *ctx)
{
	if (!threads_left(ctx))
		dn_nn_free(ctx);
}

static int xfer_init(void *ctx)
{
	struct datanode *dn = ctx;
	int rc = dn_xfer_start(dn);
	if (rc == 0)
		rc = dfs_daemon_announce(dn->host, dn->port);
	if (rc < 0)
		dn_xfer_stop(dn);
	return rc;
}

static void xfer_fini(void *ctx) { dn_xfer_stop(ctx); }
static int cmds_init(void *ctx) { return dn_commands_init(ctx); }
static void cmds_fini(void *ctx) { dn_commands_fini(ctx); }
static int vol_init(void *ctx) { return dn_volumes_start(ctx); }
static void vol_fini(void *ctx) { dn_volumes_stop(ctx); }
static int scan_init(void *ctx) { return dn_scanner_start(ctx); }
static void scan_fini(void *ctx) { dn_scanner_stop(ctx); }
static int local_init(void *ctx) { return dn_local_read_start(ctx); }
static void local_fini(void *ctx) { dn_local_read_stop(ctx); }
static int links_init(void *ctx) { return dn_nn_start(ctx); }
static void links_fini(void *ctx) { dn_nn_stop(ctx); }

static const struct dfs_daemon_step steps[] = {
	{ "block store", store_init, store_fini },
	{ "namenode list", nn_init, nn_free },
	{ "data dir health", vol_init, vol_fini },
	{ "data transfer server", xfer_init, xfer_fini },
	{ "local reads", local_init, local_fini },
	{ "commands", cmds_init, cmds_fini },
	{ "namenode links", links_init, links_fini },
	{ "block scanner", scan_init, scan_fini },
};

static int run(void *ctx)
{
	struct datanode *dn = ctx;
	struct pollfd p = { .fd = dfs_daemon_stop_fd(), .events = POLLIN };
	while (!dfs_daemon_stopping()) {
		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			return DFS_ERRNO();
	}
	return dn->fatal;
}

int main(int argc, char **argv)
{
	static struct datanode dn;
	const struct dfs_daemon d = {
		.name = "dfs-datanode",
		.summary = "dfs block server: stores replicas, serves reads and write pipelines",
		.options = options,
		.n_options = sizeof(options) / sizeof(options[0]),
		.config = &dn.cfg,
		.steps = steps,
		.n_steps = sizeof(steps) / sizeof(steps[0]),
		.run = run,
		.ctx = &dn,
	};
	return dfs_daemon_main(&d, argc, argv);
}
