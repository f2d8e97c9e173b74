/* cli.c: the shared context of the dfs tool (cli.h): connecting on first
 * use, the error and usage messages, remote path arguments, and the
 * formatting of times and user/group names. */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "tools/cli.h"

static void cli_log(void *arg, int level, const char *msg)
{
	static const char *const names[] = {"debug", "info", "notice", "warn", "error"};
	const struct cli *cli = arg;
	if (cli->verbose)
		fprintf(stderr, "dfs: libdfs %s: %s\n", names[level < 0 ? 0 : level > 4 ? 4 : level],
			msg);
}

dfs_client *cli_client(struct cli *cli)
{
	if (cli->client != NULL)
		return cli->client;
	struct dfs_options o;
	memset(&o, 0, sizeof(o));
	o.namenodes = cli->namenodes;
	o.conf_path = cli->conf_path;
	o.log = cli_log;
	o.log_arg = cli;
	int rc = dfs_connect(&o, &cli->client);
	if (rc < 0) {
		cli->client = NULL;
		if (rc == -ENOENT) { /* the configuration file is missing */
			const char *env = getenv("DFS_CONF");
			const char *conf = cli->conf_path != NULL ? cli->conf_path
					   : env != NULL && *env != '\0' ? env
									 : "/etc/dfs/dfs.conf";
			cli_error(cli, conf, rc);
			return NULL;
		}
		cli_errorf(cli, "cannot connect to %s: %s",
			   cli->namenodes != NULL ? cli->namenodes : "the cluster", dfs_strerror(rc));
		return NULL;
	}
	return cli->client;
}

char *cli_buffer(struct cli *cli)
{
	if (cli->buf == NULL)
		cli->buf = malloc(CLI_COPY_BUF_BYTES);
	return cli->buf;
}

int cli_error(const struct cli *cli, const char *path, int err)
{
	if (path != NULL)
		fprintf(stderr, "dfs: %s: %s: %s\n", cli->cmd, path, dfs_strerror(err));
	else
		fprintf(stderr, "dfs: %s: %s\n", cli->cmd, dfs_strerror(err));
	return CLI_FAIL;
}

int cli_errorf(const struct cli *cli, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "dfs: %s: ", cli->cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CLI_FAIL;
}

int cli_usage(const struct cli *cli, const char *fmt, ...)
{
	if (fmt != NULL) {
		va_list ap;
		fprintf(stderr, "dfs: %s: ", cli->cmd);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	const char *u = cli_usage_of(cli->cmd);
	fprintf(stderr, "usage: dfs %s\n", u != NULL ? u : cli->cmd);
	return CLI_USAGE;
}

int cli_remote(const struct cli *cli, const char *arg, char out[CLI_PATH_MAX])
{
	int rc = cli_path_normalize(arg, out, CLI_PATH_MAX);
	if (rc < 0)
		return cli_error(cli, arg, rc);
	return CLI_OK;
}

int cli_each_operand(struct cli *cli, char **ops, int n, cli_operand_fn fn, void *ctx)
{
	dfs_client *c = cli_client(cli);
	if (c == NULL)
		return CLI_FAIL;
	int status = CLI_OK;
	for (int i = 0; i < n; i++) {
		char path[CLI_PATH_MAX];
		if (cli_remote(cli, ops[i], path) != CLI_OK) {
			status = CLI_FAIL;
			continue;
		}
		int rc = fn(cli, c, ops[i], path, ctx);
		if (rc < 0)
			status = cli_error(cli, ops[i], rc);
		else if (rc != 0)
			status = CLI_FAIL;
	}
	return status;
}

void cli_getopt_reset(void)
{
	optind = 0; /* glibc: 0 re-initialises getopt completely */
	opterr = 1;
}

void cli_time_short(const struct timespec *ts, char *out, size_t out_len)
{
	struct tm tm;
	time_t t = ts->tv_sec;
	if (localtime_r(&t, &tm) == NULL || strftime(out, out_len, "%Y-%m-%d %H:%M", &tm) == 0)
		snprintf(out, out_len, "%lld", (long long)t);
}

void cli_time_full(const struct timespec *ts, char *out, size_t out_len)
{
	struct tm tm;
	time_t t = ts->tv_sec;
	char a[32], z[8];
	if (localtime_r(&t, &tm) == NULL || strftime(a, sizeof(a), "%Y-%m-%d %H:%M:%S", &tm) == 0 ||
	    strftime(z, sizeof(z), "%z", &tm) == 0) {
		snprintf(out, out_len, "%lld", (long long)t);
		return;
	}
	snprintf(out, out_len, "%s.%09ld %s", a, (long)ts->tv_nsec, z);
}

void cli_user_name(struct cli *cli, uint32_t uid, char *out, size_t out_len)
{
	if (!cli->user_cache.valid || cli->user_cache.id != uid) {
		struct passwd *pw = getpwuid(uid);
		if (pw != NULL)
			snprintf(cli->user_cache.name, sizeof(cli->user_cache.name), "%s", pw->pw_name);
		else
			snprintf(cli->user_cache.name, sizeof(cli->user_cache.name), "%u", uid);
		cli->user_cache.id = uid;
		cli->user_cache.valid = 1;
	}
	snprintf(out, out_len, "%s", cli->user_cache.name);
}

void cli_group_name(struct cli *cli, uint32_t gid, char *out, size_t out_len)
{
	if (!cli->group_cache.valid || cli->group_cache.id != gid) {
		struct group *gr = getgrgid(gid);
		if (gr != NULL)
			snprintf(cli->group_cache.name, sizeof(cli->group_cache.name), "%s", gr->gr_name);
		else
			snprintf(cli->group_cache.name, sizeof(cli->group_cache.name), "%u", gid);
		cli->group_cache.id = gid;
		cli->group_cache.valid = 1;
	}
	snprintf(out, out_len, "%s", cli->group_cache.name);
}

/* The one piece of global state: a signal handler can reach nothing else. */
static volatile sig_atomic_t cli_signal;

static void cli_on_signal(int sig)
{
	cli_signal = sig;
}

void cli_signals_install(void)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = cli_on_signal;
	sa.sa_flags = SA_RESETHAND | SA_RESTART; /* a second signal kills */
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

int cli_interrupted(void)
{
	return cli_signal;
}

/* Replaces the symlink path in cur (CLI_PATH_MAX) by the path its target
 * names. */
static int resolve_step(dfs_client *c, char *cur)
{
	char target[CLI_PATH_MAX], joined[CLI_PATH_MAX];
	int n = dfs_readlink(c, 0, cur, target, sizeof(target));
	if (n < 0)
		return n;
	if ((size_t)n >= sizeof(target))
		return -ENAMETOOLONG;
	if (target[0] == '/') {
		memcpy(joined, target, (size_t)n + 1);
	} else {
		char *slash = strrchr(cur, '/');
		*slash = '\0'; /* cur is normalised: absolute */
		int rc = cli_path_join(cur[0] ? cur : "/", target, joined, sizeof(joined));
		if (rc < 0)
			return rc;
	}
	return cli_path_normalize(joined, cur, CLI_PATH_MAX);
}

int cli_resolve(struct cli *cli, const char *path, char out[CLI_PATH_MAX],
		struct dfs_stat *st)
{
	dfs_client *c = cli_client(cli);
	if (c == NULL)
		return -ENOTCONN;
	int rc = cli_path_normalize(path, out, CLI_PATH_MAX);
	for (int i = 0; rc == 0; i++) {
		rc = dfs_stat(c, out, st);
		if (rc < 0 || !S_ISLNK(st->mode))
			return rc;
		if (i == CLI_SYMLINK_MAX)
			return -ELOOP;
		rc = resolve_step(c, out);
	}
	return rc;
}
