/* main.c: dfs-namenode: the config table, the init steps (namespace,
 * datanode manager, Raft member, RPC listener) for the shared daemon skeleton, and
 * --format. The run loop is rpc_server_run() on this (the only) thread. */
#include "namenode/nn.h"
#include "namenode/raft_node.h"

#include "common/daemon.h"
#include "common/errors.h"
#include "common/log.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define OPT(k, t, d, f, h, lo, hi) {k, t, d, offsetof(struct nn_config, f), h, lo, hi}

static const struct dfs_config_option nn_options[] = {
	OPT("name_dir", DFS_CFG_STRING, "/var/lib/dfs/name", name_dir,
	    "directory of the namespace (LevelDB)", 0, 0),
	OPT("listen_host", DFS_CFG_STRING, "127.0.0.1", listen_host, "address to listen on", 0, 0),
	OPT("port", DFS_CFG_INT, "8020", port, "RPC port (0: ephemeral)", 0, 65535),
	OPT("default_replication", DFS_CFG_INT, "3", default_replication,
	    "replication of files created without one", 1, NS_REPLICATION_MAX),
	OPT("default_block_size", DFS_CFG_SIZE, "64M", default_block_size,
	    "block size of files created without one", 0, 0),
	OPT("datanode_heartbeat_ms", DFS_CFG_DURATION, "1000", datanode_heartbeat_ms,
	    "heartbeat interval expected from datanodes", 0, 0),
	OPT("datanode_dead_ms", DFS_CFG_DURATION, "10000", datanode_dead_ms,
	    "a datanode silent this long is dead", 0, 0),
	OPT("replication_check_ms", DFS_CFG_DURATION, "1000", replication_check_ms,
	    "interval of the replication monitor", 0, 0),
	OPT("safemode_threshold", DFS_CFG_STRING, SAFEMODE_THRESHOLD_DEFAULT, safemode_threshold,
	    "fraction of blocks reported before safe mode ends (0..1)", 0, 0),
	OPT("safemode_extension_ms", DFS_CFG_DURATION, "5000", safemode_extension_ms,
	    "safe mode lasts this long after the threshold is reached", 0, 0),
	OPT("safemode_min_datanodes", DFS_CFG_INT, "0", safemode_min_datanodes,
	    "live datanodes needed before safe mode ends", 0, DN_MAX),
	OPT("max_copies_per_datanode", DFS_CFG_INT, "4", max_copies_per_datanode,
	    "re-replication copies in flight per source datanode", 1, 1024),
	OPT("replication_timeout_ms", DFS_CFG_DURATION, "30000", replication_timeout_ms,
	    "a re-replication copy not reported by then is issued again", 0, 0),
	OPT("node_id", DFS_CFG_INT, "1", node_id, "this namenode's id in the Raft group (1..)", 1,
	    1000000),
	OPT("peers", DFS_CFG_STRING, "", peers,
	    "Raft group: ID=HOST:PORT,... of every namenode (empty: a group of one)", 0, 0),
	OPT("raft_dir", DFS_CFG_STRING, "", raft_dir, "Raft WAL directory (empty: name_dir/raft)",
	    0, 0),
	OPT("raft_tick_ms", DFS_CFG_DURATION, "100", raft_tick_ms, "Raft clock tick", 0, 0),
	OPT("raft_election_ticks", DFS_CFG_INT, "10", raft_election_ticks,
	    "election timeout in ticks (drawn from [n, 2n))", 2, 1000),
	OPT("raft_heartbeat_ticks", DFS_CFG_INT, "1", raft_heartbeat_ticks,
	    "leader heartbeat interval in ticks (< raft_election_ticks)", 1, 999),
	OPT("raft_lease_reads", DFS_CFG_BOOL, "1", raft_lease_reads,
	    "the leader answers reads from its heartbeat lease, without a round per read "
	    "(assumes clocks run at the same rate within a quarter of the election timeout)",
	    0, 0),
	OPT("snapshot_entries", DFS_CFG_INT, "10000", snapshot_entries,
	    "compact the Raft log after this many applied entries (0: never)", 0, INT64_MAX),
	OPT("raft_drop_peers", DFS_CFG_STRING, "", raft_drop_peers,
	    "fault hook for tests: drop Raft traffic to/from these ids (\"2,3\")", 0, 0),
	OPT("log_level", DFS_CFG_STRING, "info", log_level, "debug, info, notice, warn, err", 0, 0),
	OPT("log_file", DFS_CFG_STRING, "", log_file, "log file (empty: stderr)", 0, 0),
};

static int nn_flag(void *ctx, const char *flag)
{
	struct nn *nn = ctx;
	if (strcmp(flag, "--format") == 0)
		return nn->format = true, 1;
	if (strcmp(flag, "--force") == 0)
		return nn->force = true, 1;
	if (strcmp(flag, "--join") == 0)
		return nn->join = true, 1;
	if (strncmp(flag, "--dump-namespace=", 17) == 0)
		return nn->dump_dir = (char *)flag + 17, 1;
	return 0;
}

static void new_cluster_id(char *out, size_t len)
{
	unsigned char r[16] = {0};
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, r, sizeof(r)) != (ssize_t)sizeof(r)) {
		int64_t t = nn_now_ns();
		memcpy(r, &t, sizeof(t));
	}
	if (fd >= 0)
		close(fd);
	r[6] = (r[6] & 0x0f) | 0x40;
	r[8] = (r[8] & 0x3f) | 0x80;
	snprintf(out, len,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", r[0],
		 r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13],
		 r[14], r[15]);
}

/* True if dir holds only what a namenode puts there (or nothing). */
static bool name_dir_ours(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT;
	struct dirent *e;
	bool ours = true;
	while (ours && (e = readdir(d)) != NULL)
		ours = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
		       strcmp(e->d_name, "ns") == 0 || strcmp(e->d_name, "raft") == 0 ||
		       strcmp(e->d_name, "snap.tmp") == 0 || strcmp(e->d_name, "ns.old") == 0;
	closedir(d);
	return ours;
}

static void ns_dir_of(const struct nn *nn, char *out, size_t len)
{
	snprintf(out, len, "%s/ns", nn->cfg.name_dir);
}

static int do_format(struct nn *nn)
{
	char id[64], dir[PATH_MAX];
	new_cluster_id(id, sizeof(id));
	if (!nn->force && !name_dir_ours(nn->cfg.name_dir)) {
		DFS_ERR("name_dir %s is not empty and holds no namespace: use --format --force "
			"to format it anyway", nn->cfg.name_dir);
		return -ENOTEMPTY;
	}
	if (mkdir(nn->cfg.name_dir, 0700) < 0 && errno != EEXIST) {
		dfs_log_err(DFS_LOG_ERR, DFS_ERRNO(), "cannot create %s", nn->cfg.name_dir);
		return DFS_ERRNO();
	}
	ns_dir_of(nn, dir, sizeof(dir));
	int rc = ns_format(dir, id, nn_now_ns(), geteuid(), getegid(), nn->force);
	if (rc == -EEXIST) {
		DFS_ERR("name_dir %s already holds a namespace: use --format --force to wipe it",
			nn->cfg.name_dir);
		return rc;
	}
	if (rc == -ENOTEMPTY) {
		DFS_ERR("name_dir %s is not empty and holds no namespace: use --format --force "
			"to format it anyway", nn->cfg.name_dir);
		return rc;
	}
	if (rc < 0) {
		dfs_log_err(DFS_LOG_ERR, rc, "cannot format %s", nn->cfg.name_dir);
		return rc;
	}
	if ((rc = nn_raft_format(nn)) < 0)
		return rc;
	DFS_NOTICE("formatted %s: cluster id %s", nn->cfg.name_dir, id);
	return 0;
}

static int check_config(const struct nn_config *c)
{
	if (c->replication_check_ms <= 0 || c->datanode_dead_ms <= 0 ||
	    c->datanode_heartbeat_ms <= 0) {
		DFS_ERR("replication_check_ms, datanode_dead_ms and datanode_heartbeat_ms must be > 0");
		return -EINVAL;
	}
	if (c->default_block_size == 0 || c->default_block_size > (1ull << 40)) {
		DFS_ERR("default_block_size must be between 1 and 1T");
		return -EINVAL;
	}
	double th;
	if (safemode_parse_threshold(c->safemode_threshold, &th) < 0) {
		DFS_ERR("safemode_threshold must be a number between 0 and 1");
		return -EINVAL;
	}
	if (!c->name_dir[0]) {
		DFS_ERR("name_dir is not set");
		return -EINVAL;
	}
	if (c->raft_tick_ms <= 0 || c->raft_heartbeat_ticks >= c->raft_election_ticks) {
		DFS_ERR("raft_tick_ms must be > 0 and raft_heartbeat_ticks < raft_election_ticks");
		return -EINVAL;
	}
	return 0;
}

static int step_namespace(void *ctx)
{
	struct nn *nn = ctx;
	int rc = check_config(&nn->cfg);
	if (rc < 0)
		return rc;
	if (nn->format)
		return do_format(nn);
	nn->superuser_uid = geteuid();
	char dir[PATH_MAX];
	ns_dir_of(nn, dir, sizeof(dir));
	if (nn->dump_dir)
		return 0;
	rc = ns_open(dir, &nn->ns);
	if (rc == -DFS_ENOTFORMATTED && (nn->join || nn->cfg.peers[0]) && !nn->ns &&
	    name_dir_ours(nn->cfg.name_dir)) {
		mkdir(nn->cfg.name_dir, 0700);
		DFS_NOTICE("name_dir %s holds no namespace: joining the group", nn->cfg.name_dir);
		return 0; /* joining: the leader's snapshot brings the state */
	}
	if (rc == -DFS_ENOTFORMATTED) {
		DFS_ERR("name_dir %s is not formatted: run dfs-namenode --format",
			nn->cfg.name_dir);
		return rc;
	}
	if (rc < 0) {
		dfs_log_err(DFS_LOG_ERR, rc, "cannot open the namespace in %s", nn->cfg.name_dir);
		return rc;
	}
	DFS_NOTICE("namespace %s: cluster %s, %llu inodes, %llu blocks, applied index %llu",
		   nn->cfg.name_dir, nn->ns->cluster_id, (unsigned long long)nn->ns->c.inodes,
		   (unsigned long long)nn->ns->c.blocks, (unsigned long long)nn->ns->c.applied);
	return 0;
}

static void fini_namespace(void *ctx)
{
	struct nn *nn = ctx;
	if (nn->ns)
		ns_sync(nn->ns);
	ns_close(nn->ns);
	nn->ns = NULL;
}

static int step_dnmgr(void *ctx)
{
	struct nn *nn = ctx;
	if (nn->format)
		return 0;
	int rc = dnmgr_init(&nn->dm, nn->cfg.datanode_dead_ms);
	nn->dm_ready = rc == 0;
	/* until every datanode had the time to report, a block only looks
	 * under-replicated: no COPY before then (deletes are safe) */
	nn->copy_after_ms = nn_now_ms() + nn->cfg.datanode_dead_ms;
	return rc;
}

static void fini_dnmgr(void *ctx)
{
	struct nn *nn = ctx;
	if (nn->dm_ready)
		dnmgr_fini(&nn->dm);
	nn->dm_ready = false;
}

static int step_raft(void *ctx)
{
	struct nn *nn = ctx;
	if (nn->format || nn->dump_dir)
		return 0;
	return nn_raft_open(nn);
}

static void fini_raft(void *ctx) { nn_raft_close(ctx); }

static int dump_kv(void *arg, const char *k, size_t kl, const char *v, size_t vl)
{
	(void)arg;
	if (kl == 8 && memcmp(k, "s/synced", 8) == 0)
		return 0;
	for (size_t i = 0; i < kl; i++)
		printf("%02x", (unsigned char)k[i]);
	putchar(' ');
	for (size_t i = 0; i < vl; i++)
		printf("%02x", (unsigned char)v[i]);
	putchar('\n');
	return 0;
}

/* --dump-namespace=DIR: every key/value of the LevelDB namespace in DIR
 * (a name_dir or its ns/), hex, one per line, in key order; for tests that
 * compare the state of the group's members. */
static int do_dump(struct nn *nn)
{
	char dir[PATH_MAX];
	struct ns *ns;
	snprintf(dir, sizeof(dir), "%s/ns", nn->dump_dir);
	int rc = ns_open(dir, &ns);
	if (rc == -DFS_ENOTFORMATTED)
		rc = ns_open(nn->dump_dir, &ns);
	if (rc < 0) {
		dfs_log_err(DFS_LOG_ERR, rc, "cannot open a namespace in %s", nn->dump_dir);
		return rc;
	}
	rc = ns_foreach(ns, dump_kv, NULL);
	ns_close(ns);
	return fflush(stdout) == 0 ? rc : -EIO;
}

static int step_listen(void *ctx)
{
	struct nn *nn = ctx;
	if (nn->format || nn->dump_dir)
		return 0;
	struct rpc_handlers h = {nn_handle, nn_commit, nn_tick, nn};
	int rc = rpc_server_create(nn->cfg.listen_host, (uint16_t)nn->cfg.port, &h, &nn->srv,
				   &nn->port);
	if (rc < 0) {
		dfs_log_err(DFS_LOG_ERR, rc, "cannot listen on %s:%lld", nn->cfg.listen_host,
			    (long long)nn->cfg.port);
		return rc;
	}
	int wake = nn_raft_wake_fd(nn);
	if (wake >= 0 && (rc = rpc_server_watch(nn->srv, wake)) < 0)
		return rc;
	DFS_NOTICE("listening on %s:%u", nn->cfg.listen_host, nn->port);
	return dfs_daemon_announce(nn->cfg.listen_host, nn->port);
}

static void fini_listen(void *ctx)
{
	struct nn *nn = ctx;
	rpc_server_destroy(nn->srv);
	nn->srv = NULL;
}

static int nn_run(void *ctx)
{
	struct nn *nn = ctx;
	if (nn->dump_dir)
		return do_dump(nn);
	if (nn->format)
		return 0;
	int rc = rpc_server_run(nn->srv, dfs_daemon_stop_fd());
	if (rc < 0)
		dfs_log_err(DFS_LOG_ERR, rc, "event loop failed");
	return rc;
}

static const struct dfs_daemon_step nn_steps[] = {
	{"namespace", step_namespace, fini_namespace},
	{"datanode manager", step_dnmgr, fini_dnmgr},
	{"raft", step_raft, fini_raft},
	{"rpc listener", step_listen, fini_listen},
};

int main(int argc, char **argv)
{
	static struct nn nn;
	const struct dfs_daemon d = {
		.name = "dfs-namenode",
		.summary = "the dfs namenode: namespace, block and datanode manager",
		.options = nn_options,
		.n_options = sizeof(nn_options) / sizeof(nn_options[0]),
		.config = &nn.cfg,
		.steps = nn_steps,
		.n_steps = sizeof(nn_steps) / sizeof(nn_steps[0]),
		.run = nn_run,
		.ctx = &nn,
		.flag = nn_flag,
		.flags_help = "  --format           create a new namespace in name_dir and exit\n"
			      "  --force            with --format: wipe an existing namespace\n"
			      "  --join             start empty and receive the state from the\n"
			      "                     group's leader (implied for an empty name_dir\n"
			      "                     when peers is set)\n"
			      "  --dump-namespace=DIR  print the namespace in DIR (hex key value\n"
			      "                     per line) and exit\n",
	};
	return dfs_daemon_main(&d, argc, argv);
}
