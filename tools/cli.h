/* cli.h: what the parts of the dfs command-line tool share: the per-run
 * context (global flags, the lazily connected client), error reporting in
 * the one format `dfs: CMD: PATH: message`, and the entry point of every
 * subcommand. The tool talks to the cluster only through <dfs.h>.
 *
 * Contract: a command gets argv with argv[0] = its own name, returns the
 * process exit status (CLI_OK, CLI_FAIL after reporting each error, or
 * CLI_USAGE after printing a usage line). Single-threaded. */
#ifndef DFS_TOOLS_CLI_H
#define DFS_TOOLS_CLI_H

#include <dfs.h>
#include <stdint.h>

#include "tools/util.h"

#define CLI_OK 0
#define CLI_FAIL 1
#define CLI_USAGE 2

/* Copy buffer size: large buffers keep the pipelines full. */
#define CLI_COPY_BUF_BYTES (4u << 20)

struct cli {
	const char *conf_path;  /* -c; NULL: $DFS_CONF then /etc/dfs/dfs.conf */
	const char *namenodes;  /* -n; NULL: from the config file */
	int verbose;            /* -v: print libdfs diagnostics on stderr */
	const char *cmd;        /* canonical name of the running command */
	int hadoop;             /* invoked with a Hadoop spelling (-stat ...) */
	dfs_client *client;     /* connected on first use, see cli_client() */
	char *buf;              /* CLI_COPY_BUF_BYTES copy buffer, lazily */
	uint32_t umask;         /* the process umask, applied to new entries */
	/* Last id -> name lookups of cli_user_name/cli_group_name (ls -l asks
	 * for the same few ids over and over). */
	struct {
		int valid;
		uint32_t id;
		char name[64];
	} user_cache, group_cache;
};

/* Returns the connected client, connecting on first use; reports the
 * error and returns NULL when the cluster cannot be reached. */
dfs_client *cli_client(struct cli *cli);
/* The shared copy buffer (CLI_COPY_BUF_BYTES), NULL on ENOMEM. */
char *cli_buffer(struct cli *cli);

/* Prints "dfs: CMD: PATH: strerror(err)" (PATH omitted when NULL) on
 * stderr and returns CLI_FAIL. */
int cli_error(const struct cli *cli, const char *path, int err);
/* Prints "dfs: CMD: message" on stderr and returns CLI_FAIL. */
int cli_errorf(const struct cli *cli, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Prints "dfs: CMD: message" (if fmt) and "usage: dfs <usage of CMD>" on
 * stderr, returns CLI_USAGE. */
int cli_usage(const struct cli *cli, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The one-line usage of a command (without "dfs "), NULL if unknown. */
const char *cli_usage_of(const char *cmd);

/* Normalises a remote path argument into out (CLI_PATH_MAX); reports
 * the error itself. */
int cli_remote(const struct cli *cli, const char *arg, char out[CLI_PATH_MAX]);

/* What a command does to one operand: arg as typed, path normalised.
 * Returns 0, a negative errno (reported against arg), or CLI_FAIL when it
 * reported the failure itself. */
typedef int (*cli_operand_fn)(struct cli *cli, dfs_client *c, const char *arg,
			      const char *path, void *ctx);
/* Connects and runs fn on each of the n operands, going on after
 * failures. Returns CLI_OK or CLI_FAIL (some operand failed). */
int cli_each_operand(struct cli *cli, char **ops, int n, cli_operand_fn fn, void *ctx);

/* How many symlinks cli_resolve follows before -ELOOP. */
#define CLI_SYMLINK_MAX 8

/* Stats path, following a final symlink (relative targets resolve against
 * the link's directory), and stores the normalised path of the entry
 * finally reached in out. Returns 0 or a negative errno (-ELOOP). Does
 * not report. */
int cli_resolve(struct cli *cli, const char *path, char out[CLI_PATH_MAX],
		struct dfs_stat *st);

/* Remote tree walk (walk.c). The callback gets the path and attributes
 * of every entry, a directory before its contents (pre-order), entries of
 * one directory in name order; symlinks are not followed. The callback
 * returns CLI_WALK_OK, CLI_WALK_FAILED (it reported an error: go on, but do
 * not descend into this entry) or CLI_WALK_STOP (give up at once). Errors
 * opening or listing a directory are reported and the walk goes on.
 * cli_walk returns CLI_OK if nothing failed, else CLI_FAIL. */
#define CLI_WALK_OK 0
#define CLI_WALK_FAILED 1
#define CLI_WALK_STOP (-1)
typedef int (*cli_walk_fn)(struct cli *cli, const char *path, const struct dfs_stat *st,
			   void *arg);
int cli_walk(struct cli *cli, const char *path, const struct dfs_stat *st, cli_walk_fn fn,
	     void *arg);

/* getopt_long wrapper state reset: call before parsing a command's args. */
void cli_getopt_reset(void);

/* Subcommands (argv[0] is the command name). */
int cmd_ls(struct cli *cli, int argc, char **argv);
int cmd_put(struct cli *cli, int argc, char **argv);
int cmd_get(struct cli *cli, int argc, char **argv);
int cmd_cat(struct cli *cli, int argc, char **argv);
int cmd_cp(struct cli *cli, int argc, char **argv);
int cmd_mkdir(struct cli *cli, int argc, char **argv);
int cmd_rm(struct cli *cli, int argc, char **argv);
int cmd_rmdir(struct cli *cli, int argc, char **argv);
int cmd_mv(struct cli *cli, int argc, char **argv);
int cmd_ln(struct cli *cli, int argc, char **argv);
int cmd_test(struct cli *cli, int argc, char **argv);
int cmd_chmod(struct cli *cli, int argc, char **argv);
int cmd_chown(struct cli *cli, int argc, char **argv);
int cmd_setrep(struct cli *cli, int argc, char **argv);
int cmd_stat(struct cli *cli, int argc, char **argv);
int cmd_touch(struct cli *cli, int argc, char **argv);
int cmd_touchz(struct cli *cli, int argc, char **argv);
int cmd_truncate(struct cli *cli, int argc, char **argv);
int cmd_du(struct cli *cli, int argc, char **argv);
int cmd_df(struct cli *cli, int argc, char **argv);
int cmd_blocks(struct cli *cli, int argc, char **argv);
int cmd_admin(struct cli *cli, int argc, char **argv);
/* Extended attributes (cmd_xattr.c). */
int cmd_getfattr(struct cli *cli, int argc, char **argv);
int cmd_setfattr(struct cli *cli, int argc, char **argv);
/* `admin raft ...` (argv[0] = "raft"), called by cmd_admin. */
int cmd_raft(struct cli *cli, int argc, char **argv);
/* fsck (cmd_fsck.c); `admin safemode ...`, `admin decommission|recommission
 * ...` (argv[0] = "safemode" / "decommission" / "recommission",
 * cmd_safemode.c), called by cmd_admin. */
int cmd_fsck(struct cli *cli, int argc, char **argv);
int cmd_admin_safemode(struct cli *cli, int argc, char **argv);
int cmd_admin_decommission(struct cli *cli, int argc, char **argv);

/* Formats a time as "YYYY-MM-DD HH:MM" (local time) into out (>= 17). */
void cli_time_short(const struct timespec *ts, char *out, size_t out_len);
/* Formats a time as "YYYY-MM-DD HH:MM:SS.nnnnnnnnn +zzzz" (>= 40). */
void cli_time_full(const struct timespec *ts, char *out, size_t out_len);
/* User / group name of an id, or the number in decimal, into out. */
void cli_user_name(struct cli *cli, uint32_t uid, char *out, size_t out_len);
void cli_group_name(struct cli *cli, uint32_t gid, char *out, size_t out_len);

/* Signals. SIGINT, SIGTERM and SIGHUP only set a flag (once; a second one
 * kills the process): the copy loops check it between buffers, stop with
 * -EINTR, and remove their temporary or partial files. main() then exits
 * with 128 + the signal number. */
void cli_signals_install(void);
/* The signal that arrived, or 0. Async-signal-safe to read. */
int cli_interrupted(void);

#endif
