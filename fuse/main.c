/* main.c: dfs-fuse's entry point: mount options, the connection to the
 * cluster (failing fast when no namenode answers), daemonizing, the FUSE
 * session and its multi-threaded loop, and capability negotiation (init).
 *
 * Startup order: parse options -> (background: fork; the parent waits on a
 * pipe for the child's verdict so `mount` fails when mounting fails) ->
 * probe the namenodes with a short retry -> connect -> mount -> serve.
 * The fork comes before libdfs starts any thread. */
#include "fuse/dfs_fuse.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "fuse/logger.h"

#define DFSF_CONNECT_TIMEOUT_MS 3000 /* default mount-time probe */
#define DFSF_DEFAULT_TIMEOUT_S 1.0   /* attr/entry/negative cache */
#define DFSF_MAX_BACKGROUND 64       /* kernel's async requests in flight */
#define DFSF_MAX_THREADS 100000      /* libfuse's own limit of -o max_threads */

enum { KEY_RO, KEY_DEBUG, KEY_HELP_EXTRA };

#define DFSF_OPT(t, p, v) {t, offsetof(struct dfs_fuse_opts, p), v}
static const struct fuse_opt dfsf_opt_spec[] = {
	DFSF_OPT("namenodes=%s", namenodes, 0),
	DFSF_OPT("conf=%s", conf, 0),
	DFSF_OPT("log_level=%s", log_level, 0),
	DFSF_OPT("log_file=%s", log_file, 0),
	DFSF_OPT("attr_timeout=%lf", attr_timeout, 0),
	DFSF_OPT("entry_timeout=%lf", entry_timeout, 0),
	DFSF_OPT("negative_timeout=%lf", negative_timeout, 0),
	DFSF_OPT("connect_timeout_ms=%d", connect_timeout_ms, 0),
	DFSF_OPT("rpc_timeout_ms=%d", rpc_timeout_ms, 0),
	DFSF_OPT("retry_total_ms=%d", retry_total_ms, 0),
	DFSF_OPT("replication=%u", replication, 0),
	DFSF_OPT("block_size=%llu", block_size, 0),
	DFSF_OPT("writeback", writeback, 1),
	DFSF_OPT("no_writeback", writeback, 0),
	FUSE_OPT_KEY("ro", KEY_RO),
	FUSE_OPT_KEY("debug", KEY_DEBUG),
	FUSE_OPT_KEY("-d", KEY_DEBUG),
	FUSE_OPT_END,
};

/* 1 if s is "host:port" (no '='). */
static int is_hostport(const char *s)
{
	const char *colon = strrchr(s, ':');
	if (!colon || colon == s || colon[1] == '\0' || strchr(s, '='))
		return 0;
	for (const char *p = colon + 1; *p; p++)
		if (!isdigit((unsigned char)*p))
			return 0;
	return 1;
}

static int append_namenode(struct dfs_fuse_opts *o, const char *hostport)
{
	size_t len = strlen(o->namenodes) + strlen(hostport) + 2;
	char *list = malloc(len);
	if (!list)
		return -1;
	snprintf(list, len, "%s,%s", o->namenodes, hostport);
	free(o->namenodes);
	o->namenodes = list;
	return 0;
}

static int opt_proc(void *data, const char *arg, int key, struct fuse_args *outargs)
{
	struct dfs_fuse_opts *o = data;
	(void)outargs;
	if (key == KEY_RO)
		o->read_only = 1;
	else if (key == KEY_DEBUG)
		o->debug = 1;
	/* libfuse cuts "-o namenodes=a:1,b:2" at the commas: "b:2" is the
	 * next namenode of the list, not an option. */
	else if (key == FUSE_OPT_KEY_OPT && o->namenodes && is_hostport(arg))
		return append_namenode(o, arg) < 0 ? -1 : 0;
	return 1; /* keep everything else for libfuse */
}

static void usage(const char *prog)
{
	printf("usage: %s MOUNTPOINT [options]\n\n"
	       "Mounts a dfs cluster on MOUNTPOINT.\n\n"
	       "dfs-fuse options:\n"
	       "    -o namenodes=HOST:PORT[,...]  namenodes (default: from the config)\n"
	       "    -o conf=FILE           client config (default $DFS_CONF, /etc/dfs/dfs.conf)\n"
	       "    -o log_level=LEVEL     debug, info, notice, warn, err (default info)\n"
	       "    -o log_file=FILE       log there instead of stderr\n"
	       "    -o attr_timeout=S      attribute cache time (default 1)\n"
	       "    -o entry_timeout=S     name cache time (default 1)\n"
	       "    -o negative_timeout=S  cache time of a missing name (default 1)\n"
	       "    -o connect_timeout_ms=N  give up mounting after N ms without a namenode\n"
	       "    -o rpc_timeout_ms=N, retry_total_ms=N  libdfs retry policy\n"
	       "    -o replication=N, block_size=BYTES  for files created here\n"
	       "    -o writeback           kernel writeback cache (single-client use only)\n\n",
	       prog);
	fuse_cmdline_help();
	fuse_lowlevel_help();
}

static void libdfs_log(void *arg, int level, const char *msg)
{
	(void)arg;
	if (level < 0)
		level = 0;
	if (level > DFSF_ERR)
		level = DFSF_ERR;
	dfsf_log_write((enum dfsf_level)level, "libdfs: %s", msg);
}

static void init_options(struct dfs_fuse *fs, struct dfs_options *o, int retry_total_ms)
{
	memset(o, 0, sizeof(*o));
	o->namenodes = fs->opts.namenodes;
	o->conf_path = fs->opts.conf;
	o->rpc_timeout_ms = retry_total_ms > 0 && fs->opts.rpc_timeout_ms == 0
				    ? retry_total_ms
				    : fs->opts.rpc_timeout_ms;
	o->retry_total_ms = retry_total_ms;
	o->replication = fs->opts.replication;
	o->block_size = fs->opts.block_size;
	o->log = libdfs_log;
	o->log_arg = fs;
}

/* Connects; first checks with a short retry that a namenode answers, so
 * a mount without a cluster fails at once. 0 or a negative errno. */
static int connect_cluster(struct dfs_fuse *fs)
{
	struct dfs_options o;
	struct dfs_stat root;
	dfs_client *probe = NULL;
	int probe_ms = fs->opts.connect_timeout_ms > 0 ? fs->opts.connect_timeout_ms
						       : DFSF_CONNECT_TIMEOUT_MS;
	init_options(fs, &o, probe_ms);
	int rc = dfs_connect(&o, &probe);
	if (rc == 0)
		rc = dfs_stat_ino(probe, DFS_ROOT_INO, &root);
	dfs_disconnect(probe);
	if (rc < 0) {
		dfsf_log_err(DFSF_ERR, rc, "no namenode answered (%s) within %d ms",
			     fs->opts.namenodes ? fs->opts.namenodes : "namenodes from config",
			     probe_ms);
		return rc;
	}
	init_options(fs, &o, fs->opts.retry_total_ms);
	rc = dfs_connect(&o, &fs->client);
	if (rc < 0)
		dfsf_log_err(DFSF_ERR, rc, "connecting to the cluster");
	return rc;
}

static void dfsf_init(void *userdata, struct fuse_conn_info *conn)
{
	struct dfs_fuse *fs = userdata;
	conn->max_write = DFSF_MAX_WRITE_BYTES;
	conn->max_background = DFSF_MAX_BACKGROUND;
	conn->congestion_threshold = DFSF_MAX_BACKGROUND * 3 / 4;
	conn->time_gran = 1;
	unsigned want_caps[] = {FUSE_CAP_ASYNC_READ, FUSE_CAP_ATOMIC_O_TRUNC,
				FUSE_CAP_PARALLEL_DIROPS, FUSE_CAP_READDIRPLUS,
				FUSE_CAP_READDIRPLUS_AUTO, FUSE_CAP_AUTO_INVAL_DATA};
	for (size_t i = 0; i < sizeof(want_caps) / sizeof(want_caps[0]); i++)
		if (conn->capable & want_caps[i])
			conn->want |= want_caps[i];
	/* The kernel clears suid/sgid itself (through setattr). */
	conn->want &= ~(unsigned)FUSE_CAP_HANDLE_KILLPRIV;
	/* The writeback cache makes the kernel the judge of file sizes and
	 * mtimes: wrong as soon as a second client writes. Opt-in only. */
	if (fs->opts.writeback && (conn->capable & FUSE_CAP_WRITEBACK_CACHE))
		conn->want |= FUSE_CAP_WRITEBACK_CACHE;
	else
		conn->want &= ~(unsigned)FUSE_CAP_WRITEBACK_CACHE;
	fs->max_write_bytes = conn->max_write;
	DFSF_LOG(DFSF_INFO, "kernel protocol %u.%u, max_write %u, max_readahead %u, writeback %s%s",
		 conn->proto_major, conn->proto_minor, conn->max_write, conn->max_readahead,
		 (conn->want & FUSE_CAP_WRITEBACK_CACHE) ? "on" : "off",
		 fs->opts.read_only ? ", read-only" : "");
}

static void dfsf_destroy(void *userdata)
{
	struct dfs_fuse *fs = userdata;
	DFSF_LOG(DFSF_INFO, "unmounting; %zu files still open; %llu lookups answered from "
		 "%llu lookahead listings, %llu of them missing names", fs->handles.count,
		 (unsigned long long)(fs->la.hits + fs->la.misses),
		 (unsigned long long)fs->la.windows, (unsigned long long)fs->la.misses);
}

/* Operations that may change names or attributes run as a change for the
 * lookahead window (lookahead.h), declaring first what they touch: the
 * window answers nothing about those names and inodes from then on. fs is
 * taken first: the reply frees req. */
#define DFSF_CHANGE(op, params, args, ...)                                          \
	static void change_##op params                                              \
	{                                                                           \
		struct dfs_fuse *fs = dfsf_of(req);                                 \
		const struct dfsf_la_touch touches[] = { __VA_ARGS__ };             \
		int token = dfsf_la_change_begin(&fs->la, touches,                  \
						 (int)(sizeof(touches) / sizeof(touches[0]))); \
		dfsf_##op args;                                                     \
		dfsf_la_change_end(&fs->la, token);                                 \
	}
#define ATTRS(i) { .ino = (i) }
#define NAME_ADDED(d, n) { .dir = (d), .name = (n) }
#define NAME_REMOVED(d, n) { .dir = (d), .name = (n), .removes = true }
DFSF_CHANGE(setattr, (fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		      struct fuse_file_info *fi), (req, ino, attr, to_set, fi), ATTRS(ino))
DFSF_CHANGE(mknod, (fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		    dev_t rdev), (req, parent, name, mode, rdev),
	    NAME_ADDED(parent, name), ATTRS(parent))
DFSF_CHANGE(mkdir, (fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode),
	    (req, parent, name, mode), NAME_ADDED(parent, name), ATTRS(parent))
DFSF_CHANGE(unlink, (fuse_req_t req, fuse_ino_t parent, const char *name), (req, parent, name),
	    NAME_REMOVED(parent, name), ATTRS(parent))
DFSF_CHANGE(rmdir, (fuse_req_t req, fuse_ino_t parent, const char *name), (req, parent, name),
	    NAME_REMOVED(parent, name), ATTRS(parent))
DFSF_CHANGE(symlink, (fuse_req_t req, const char *link, fuse_ino_t parent, const char *name),
	    (req, link, parent, name), NAME_ADDED(parent, name), ATTRS(parent))
DFSF_CHANGE(rename, (fuse_req_t req, fuse_ino_t parent, const char *name,
		     fuse_ino_t newparent, const char *newname, unsigned int flags),
	    (req, parent, name, newparent, newname, flags),
	    NAME_REMOVED(parent, name), NAME_REMOVED(newparent, newname), ATTRS(parent),
	    ATTRS(newparent))
DFSF_CHANGE(link, (fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname),
	    (req, ino, newparent, newname), NAME_ADDED(newparent, newname), ATTRS(ino),
	    ATTRS(newparent))
DFSF_CHANGE(create, (fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		     struct fuse_file_info *fi), (req, parent, name, mode, fi),
	    NAME_ADDED(parent, name), ATTRS(parent))
DFSF_CHANGE(write, (fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		    struct fuse_file_info *fi), (req, ino, buf, size, off, fi), ATTRS(ino))
DFSF_CHANGE(flush, (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi), (req, ino, fi),
	    ATTRS(ino))
DFSF_CHANGE(release, (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi),
	    (req, ino, fi), ATTRS(ino))
DFSF_CHANGE(fsync, (fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi),
	    (req, ino, datasync, fi), ATTRS(ino))
DFSF_CHANGE(setxattr, (fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
		       size_t size, int flags), (req, ino, name, value, size, flags), ATTRS(ino))
DFSF_CHANGE(removexattr, (fuse_req_t req, fuse_ino_t ino, const char *name), (req, ino, name),
	    ATTRS(ino))

/* An open for writing or with O_TRUNC may change the file. */
static void change_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct dfs_fuse *fs = dfsf_of(req);
	bool change = (fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC);
	const struct dfsf_la_touch touch = ATTRS(ino);
	int token = change ? dfsf_la_change_begin(&fs->la, &touch, 1) : DFSF_LA_NONE;
	dfsf_open(req, ino, fi);
	dfsf_la_change_end(&fs->la, token);
}

static const struct fuse_lowlevel_ops dfsf_ops = {
	.init = dfsf_init,
	.destroy = dfsf_destroy,
	.lookup = dfsf_lookup,
	.forget = dfsf_forget,
	.forget_multi = dfsf_forget_multi,
	.getattr = dfsf_getattr,
	.setattr = change_setattr,
	.readlink = dfsf_readlink,
	.mknod = change_mknod,
	.mkdir = change_mkdir,
	.unlink = change_unlink,
	.rmdir = change_rmdir,
	.symlink = change_symlink,
	.rename = change_rename,
	.link = change_link,
	.open = change_open,
	.read = dfsf_read,
	.write = change_write,
	.flush = change_flush,
	.release = change_release,
	.fsync = change_fsync,
	.opendir = dfsf_opendir,
	.readdir = dfsf_readdir,
	.readdirplus = dfsf_readdirplus,
	.releasedir = dfsf_releasedir,
	.fsyncdir = dfsf_fsyncdir,
	.statfs = dfsf_statfs,
	.access = dfsf_access,
	.create = change_create,
	.setxattr = change_setxattr,
	.getxattr = dfsf_getxattr,
	.listxattr = dfsf_listxattr,
	.removexattr = change_removexattr,
};

/* Background mode: forks; the parent waits for the child to report
 * whether the mount worked (one byte on a pipe) and exits with it. In the
 * child, returns the pipe's write end. */
static int daemonize_start(void)
{
	int p[2];
	if (pipe(p) < 0) {
		perror("dfs-fuse: pipe");
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		perror("dfs-fuse: fork");
		return -1;
	}
	if (pid > 0) {
		char status = 1;
		close(p[1]);
		if (read(p[0], &status, 1) != 1)
			status = 1; /* the child died before mounting */
		_exit(status);
	}
	close(p[0]);
	setsid();
	return p[1];
}

/* Child side once mounted: detach from the terminal, release the parent. */
static void daemonize_finish(int fd)
{
	int nullfd = open("/dev/null", O_RDWR);
	if (chdir("/") < 0)
		DFSF_LOG(DFSF_WARN, "chdir /: %s", strerror(errno));
	if (nullfd >= 0) {
		dup2(nullfd, STDIN_FILENO);
		dup2(nullfd, STDOUT_FILENO);
		/* Always: whoever started us may wait for EOF on our stderr.
		 * log_file= has its own descriptor. */
		dup2(nullfd, STDERR_FILENO);
		if (nullfd > STDERR_FILENO)
			close(nullfd);
	}
	char ok = 0;
	if (write(fd, &ok, 1) != 1)
		DFSF_LOG(DFSF_WARN, "telling the parent: %s", strerror(errno));
	close(fd);
}

static int serve(struct fuse_session *se, const struct fuse_cmdline_opts *cmd)
{
	if (cmd->singlethread)
		return fuse_session_loop(se);
	struct fuse_loop_config *cfg = fuse_loop_cfg_create();
	if (!cfg)
		return -ENOMEM;
	fuse_loop_cfg_set_clone_fd(cfg, (unsigned)cmd->clone_fd);
	if (cmd->max_idle_threads <= DFSF_MAX_THREADS) /* UINT_MAX: not given */
		fuse_loop_cfg_set_idle_threads(cfg, cmd->max_idle_threads);
	if (cmd->max_threads > 0 && cmd->max_threads <= DFSF_MAX_THREADS)
		fuse_loop_cfg_set_max_threads(cfg, cmd->max_threads);
	int rc = fuse_session_loop_mt(se, cfg);
	fuse_loop_cfg_destroy(cfg);
	return rc;
}

/* Parses the command line into fs->opts and cmd; returns 0 to go on, 1 to
 * exit 0 (help, version), -1 on a usage error. */
static int parse_args(struct fuse_args *args, struct dfs_fuse *fs, struct fuse_cmdline_opts *cmd)
{
	fs->opts.attr_timeout = DFSF_DEFAULT_TIMEOUT_S;
	fs->opts.entry_timeout = DFSF_DEFAULT_TIMEOUT_S;
	fs->opts.negative_timeout = DFSF_DEFAULT_TIMEOUT_S;
	if (fuse_opt_parse(args, &fs->opts, dfsf_opt_spec, opt_proc) < 0)
		return -1;
	if (fuse_parse_cmdline(args, cmd) != 0)
		return -1;
	if (cmd->show_help) {
		usage("dfs-fuse");
		return 1;
	}
	if (cmd->show_version) {
		printf("dfs-fuse %s\n", PACKAGE_VERSION);
		fuse_lowlevel_version();
		return 1;
	}
	if (!cmd->mountpoint) {
		fprintf(stderr, "dfs-fuse: no mountpoint (see --help)\n");
		return -1;
	}
	int level = DFSF_INFO;
	if (fs->opts.log_level && (level = dfsf_log_parse_level(fs->opts.log_level)) < 0) {
		fprintf(stderr, "dfs-fuse: bad log_level '%s'\n", fs->opts.log_level);
		return -1;
	}
	if (fs->opts.debug || cmd->debug)
		level = DFSF_DEBUG;
	dfsf_log_set_level((enum dfsf_level)level);
	if (fs->opts.log_file && dfsf_log_open_file(fs->opts.log_file) < 0) {
		fprintf(stderr, "dfs-fuse: cannot open log file %s: %s\n", fs->opts.log_file,
			strerror(errno));
		return -1;
	}
	/* The kernel checks permissions from the attributes we return;
	 * fsname/subtype make the mount show as "dfs" / "fuse.dfs". */
	if (fuse_opt_add_arg(args, "-odefault_permissions,fsname=dfs,subtype=dfs") < 0)
		return -1;
	return 0;
}

static int mount_and_serve(struct dfs_fuse *fs, struct fuse_args *args,
			   const struct fuse_cmdline_opts *cmd, int notify_fd)
{
	int rc = 1;
	struct fuse_session *se = fuse_session_new(args, &dfsf_ops, sizeof(dfsf_ops), fs);
	if (!se)
		return 1;
	if (fuse_set_signal_handlers(se) != 0)
		goto err_after_session;
	if (fuse_session_mount(se, cmd->mountpoint) != 0) {
		DFSF_LOG(DFSF_ERR, "cannot mount on %s", cmd->mountpoint);
		goto err_after_signals;
	}
	DFSF_LOG(DFSF_INFO, "mounted on %s", cmd->mountpoint);
	if (notify_fd >= 0)
		daemonize_finish(notify_fd);
	rc = serve(se, cmd) == 0 ? 0 : 1;
	fuse_session_unmount(se);
	DFSF_LOG(DFSF_INFO, "unmounted %s", cmd->mountpoint);
err_after_signals:
	fuse_remove_signal_handlers(se);
err_after_session:
	fuse_session_destroy(se);
	return rc;
}

int main(int argc, char **argv)
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts cmd;
	struct dfs_fuse fs;
	int notify_fd = -1, rc = 1;
	memset(&fs, 0, sizeof(fs));
	memset(&cmd, 0, sizeof(cmd));
	int r = parse_args(&args, &fs, &cmd);
	if (r != 0) {
		rc = r > 0 ? 0 : 1;
		goto out_args;
	}
	if (!cmd.foreground && (notify_fd = daemonize_start()) < 0)
		goto out_args;
	if (connect_cluster(&fs) < 0) {
		fprintf(stderr, "dfs-fuse: cannot reach the dfs cluster, not mounting %s\n",
			cmd.mountpoint);
		goto out_args;
	}
	dfsf_handles_init(&fs.handles, fs.client);
	dfsf_la_init(&fs.la);
	rc = mount_and_serve(&fs, &args, &cmd, notify_fd);
	dfsf_handles_fini(&fs.handles); /* files close before their client */
	dfsf_la_fini(&fs.la);
	dfs_disconnect(fs.client);
out_args:
	free(cmd.mountpoint);
	fuse_opt_free_args(&args);
	free(fs.opts.namenodes);
	free(fs.opts.conf);
	free(fs.opts.log_level);
	free(fs.opts.log_file);
	return rc;
}
