/* daemon.h: the shared daemon skeleton (after MooseFS mfscommon/main.c).
 * One main(): flags, config (defaults, then -c FILE, then -s KEY=VALUE),
 * logging, signals, an ordered table of init steps torn down in reverse,
 * and the daemon's run() loop in between.
 *
 * Usage:
 *   int main(int argc, char **argv) { return dfs_daemon_main(&my_daemon, argc, argv); }
 *
 * Contract:
 * - dfs_daemon_main() is called once, from the main thread, and returns the
 *   process exit status: 0 after a clean run, 1 when an init step or run()
 *   failed, 2 for a usage or configuration error (with a message on stderr).
 * - Steps: init(ctx) returns 0 or a negative errno / DFS_E* code. On failure
 *   it logs "<step> failed: <error>", runs fini of the steps already
 *   completed in reverse order (not of the failed one) and returns 1.
 *   fini may be NULL. After run() returns, every fini runs in reverse.
 * - The config struct (d->config) must have string options "log_level" and
 *   "log_file" in d->options; they are found by key name. The skeleton owns
 *   the strings in the struct and frees them (dfs_config_free) before it
 *   returns.
 * - SIGPIPE is ignored (writes return -EPIPE). SIGTERM/SIGINT make
 *   dfs_daemon_stop_fd() readable (a self-pipe; never read from it) and
 *   dfs_daemon_stopping() return 1. Both may be called from any thread.
 * - Logs "<name> starting" once logging is set up and "<name> stopped" at
 *   the end. */
#ifndef DFS_COMMON_DAEMON_H
#define DFS_COMMON_DAEMON_H
#include <stddef.h>
#include <stdint.h>

#include "common/config.h"

struct dfs_daemon_step {
	const char *name;
	int (*init)(void *ctx);
	void (*fini)(void *ctx);
};

struct dfs_daemon {
	const char *name;    /* "dfs-namenode" */
	const char *summary; /* one line for --help */
	const struct dfs_config_option *options;
	size_t n_options;
	void *config;
	/* config struct must contain `char *log_level; char *log_file;` options too */
	const struct dfs_daemon_step *steps;
	size_t n_steps; /* init in order, fini reverse */
	int (*run)(void *ctx); /* main loop; return when stop fd is readable */
	void *ctx;
	/* extra flags such as --format: return 1 if consumed (0 not mine, <0 error) */
	int (*flag)(void *ctx, const char *flag);
	const char *flags_help; /* lines for --help describing d->flag's flags, or NULL */
};

/* Flags handled: -c/--conf FILE, -s/--set KEY=VALUE (repeatable),
 * --dump-config, --port-file FILE, -h/--help, --version, and d->flag for
 * the rest. Returns the exit status (see above). */
int dfs_daemon_main(const struct dfs_daemon *d, int argc, char **argv);

/* Readable once SIGTERM/SIGINT arrived (put it in poll/epoll). -1 before
 * dfs_daemon_main() set it up. Any thread. */
int dfs_daemon_stop_fd(void);

/* 1 once a stop was requested (signal or dfs_daemon_request_stop()). Any thread. */
int dfs_daemon_stopping(void);

/* Requests a stop as if SIGTERM arrived (for tests and fatal errors). Any thread,
 * async-signal-safe. */
void dfs_daemon_request_stop(void);

/* --port-file path or NULL. Valid during dfs_daemon_main(). */
const char *dfs_daemon_port_file(void);

/* Writes "host:port\n" atomically (tmp + rename) to the --port-file, if one
 * was given; does nothing otherwise. Returns 0 or a negative errno. */
int dfs_daemon_announce(const char *host, uint16_t port);

#endif
