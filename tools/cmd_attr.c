/* cmd_attr.c: the commands that read or change attributes: chmod, chown,
 * touch, touchz, truncate and setrep (with -w, waiting until every block
 * has its replicas). stat lives in cmd_stat.c. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "tools/cli.h"

/* setrep -w: how often the block map is polled, and the default deadline. */
#define SETREP_POLL_MS 500
#define SETREP_TIMEOUT_S_DEFAULT 600

/* Parses leading -R / -f / -v / -h flags by hand, so that a symbolic mode
 * such as "-w" is not taken for an option. Returns the first operand. */
static int recursive_flags(int argc, char **argv, int *recursive)
{
	int i = 1;
	*recursive = 0;
	for (; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return i + 1;
		if (strcmp(argv[i], "-R") == 0 || strcmp(argv[i], "-r") == 0)
			*recursive = 1;
		else if (strcmp(argv[i], "-f") != 0 && strcmp(argv[i], "-v") != 0 &&
			 strcmp(argv[i], "-h") != 0)
			break;
	}
	return i;
}

/* Applies fn to each operand, walking trees with -R. */
static int for_each_operand(struct cli *cli, char **ops, int n, int recursive, cli_walk_fn fn,
			    void *arg)
{
	dfs_client *c = cli_client(cli);
	if (c == NULL)
		return CLI_FAIL;
	int status = CLI_OK;
	for (int i = 0; i < n; i++) {
		char path[CLI_PATH_MAX];
		struct dfs_stat st;
		if (cli_remote(cli, ops[i], path) != CLI_OK) {
			status = CLI_FAIL;
			continue;
		}
		int rc = dfs_stat(c, path, &st);
		if (rc < 0) {
			status = cli_error(cli, ops[i], rc);
			continue;
		}
		if (recursive)
			rc = cli_walk(cli, path, &st, fn, arg);
		else
			rc = fn(cli, path, &st, arg) == CLI_WALK_OK ? CLI_OK : CLI_FAIL;
		if (rc != CLI_OK)
			status = CLI_FAIL;
	}
	return status;
}

/* ---- chmod ---- */

static int chmod_entry(struct cli *cli, const char *path, const struct dfs_stat *st, void *arg)
{
	const char *spec = arg;
	uint32_t mode;
	if (S_ISLNK(st->mode))
		return CLI_WALK_OK; /* links have no mode of their own */
	if (cli_mode_parse(spec, st->mode, &mode) < 0)
		return CLI_WALK_STOP;
	int rc = dfs_chmod(cli_client(cli), path, mode);
	if (rc < 0) {
		cli_error(cli, path, rc);
		return CLI_WALK_FAILED;
	}
	return CLI_WALK_OK;
}

int cmd_chmod(struct cli *cli, int argc, char **argv)
{
	int recursive;
	int i = recursive_flags(argc, argv, &recursive);
	if (argc - i < 2)
		return cli_usage(cli, "missing operand");
	uint32_t probe;
	if (cli_mode_parse(argv[i], S_IFREG, &probe) < 0)
		return cli_usage(cli, "invalid mode '%s'", argv[i]);
	return for_each_operand(cli, argv + i + 1, argc - i - 1, recursive, chmod_entry, argv[i]);
}

/* ---- chown ---- */

struct owner {
	uint32_t uid, gid; /* (uint32_t)-1: unchanged */
};

/* Parses a user or group: a name, or a number. */
static int parse_id(const char *s, int is_group, uint32_t *out)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	if (*s != '\0' && *end == '\0' && v < UINT32_MAX) {
		*out = (uint32_t)v;
		return 0;
	}
	if (is_group) {
		struct group *gr = getgrnam(s);
		if (gr == NULL)
			return -EINVAL;
		*out = gr->gr_gid;
	} else {
		struct passwd *pw = getpwnam(s);
		if (pw == NULL)
			return -EINVAL;
		*out = pw->pw_uid;
	}
	return 0;
}

static int parse_owner(const char *spec, struct owner *o)
{
	char user[256];
	const char *colon = strchr(spec, ':');
	if (colon == NULL)
		colon = strchr(spec, '.');
	size_t ul = colon ? (size_t)(colon - spec) : strlen(spec);
	o->uid = o->gid = (uint32_t)-1;
	if (ul >= sizeof(user) || (ul == 0 && (colon == NULL || colon[1] == '\0')))
		return -EINVAL;
	memcpy(user, spec, ul);
	user[ul] = '\0';
	if (ul > 0 && parse_id(user, 0, &o->uid) < 0)
		return -EINVAL;
	if (colon != NULL && colon[1] != '\0')
		return parse_id(colon + 1, 1, &o->gid);
	if (colon != NULL) { /* "user:" means the user's login group */
		struct passwd *pw = getpwuid(o->uid);
		if (pw == NULL)
			return -EINVAL;
		o->gid = pw->pw_gid;
	}
	return 0;
}

static int chown_entry(struct cli *cli, const char *path, const struct dfs_stat *st, void *arg)
{
	const struct owner *o = arg;
	int rc = dfs_chown(cli_client(cli), path, o->uid, o->gid);
	if (rc < 0) {
		cli_error(cli, path, rc);
		return CLI_WALK_FAILED;
	}
	return CLI_WALK_OK;
}

int cmd_chown(struct cli *cli, int argc, char **argv)
{
	int recursive;
	int i = recursive_flags(argc, argv, &recursive);
	if (argc - i < 2)
		return cli_usage(cli, "missing operand");
	struct owner o;
	if (parse_owner(argv[i], &o) < 0)
		return cli_usage(cli, "invalid owner '%s'", argv[i]);
	return for_each_operand(cli, argv + i + 1, argc - i - 1, recursive, chown_entry, &o);
}

/* ---- touch, touchz, truncate ---- */

static int create_empty(struct cli *cli, const char *path)
{
	dfs_file *f = NULL;
	int rc = dfs_open(cli_client(cli), path, O_WRONLY | O_CREAT, 0666 & ~cli->umask, &f);
	if (rc < 0)
		return rc;
	return dfs_close(f);
}

static int touch_one(struct cli *cli, dfs_client *c, const char *arg, const char *path,
		     void *ctx)
{
	const int *no_create = ctx;
	(void)arg;
	int rc = dfs_utimens(c, path, NULL);
	if (rc == -ENOENT)
		rc = *no_create ? 0 : create_empty(cli, path);
	return rc;
}

int cmd_touch(struct cli *cli, int argc, char **argv)
{
	int no_create = 0, ch;
	while ((ch = getopt(argc, argv, "cam")) != -1) {
		if (ch == 'c')
			no_create = 1;
		else if (ch == '?')
			return cli_usage(cli, NULL);
	}
	if (optind >= argc)
		return cli_usage(cli, "missing operand");
	return cli_each_operand(cli, argv + optind, argc - optind, touch_one, &no_create);
}

static int touchz_one(struct cli *cli, dfs_client *c, const char *arg, const char *path,
		      void *ctx)
{
	struct dfs_stat st;
	(void)ctx;
	int rc = dfs_stat(c, path, &st);
	if (rc == -ENOENT)
		return create_empty(cli, path);
	if (rc < 0)
		return rc;
	if (S_ISDIR(st.mode))
		return -EISDIR;
	if (st.size > 0)
		return cli_errorf(cli, "%s: Not a zero-length file", arg);
	return dfs_utimens(c, path, NULL);
}

int cmd_touchz(struct cli *cli, int argc, char **argv)
{
	if (argc < 2)
		return cli_usage(cli, "missing operand");
	return cli_each_operand(cli, argv + 1, argc - 1, touchz_one, NULL);
}

struct truncate_ctx {
	uint64_t size;
	int no_create;
};

static int truncate_one(struct cli *cli, dfs_client *c, const char *arg, const char *path,
			void *ctx)
{
	const struct truncate_ctx *t = ctx;
	(void)arg;
	int rc = dfs_truncate(c, path, t->size);
	if (rc != -ENOENT)
		return rc;
	if (t->no_create)
		return 0;
	rc = create_empty(cli, path);
	return rc < 0 ? rc : dfs_truncate(c, path, t->size);
}

int cmd_truncate(struct cli *cli, int argc, char **argv)
{
	struct truncate_ctx t = { 0 };
	int have_size = 0, ch;
	while ((ch = getopt(argc, argv, "s:c")) != -1) {
		if (ch == 'c') {
			t.no_create = 1;
		} else if (ch == 's' && cli_parse_size(optarg, &t.size) == 0) {
			have_size = 1;
		} else {
			return cli_usage(cli, ch == 's' ? "invalid size '%s'" : NULL, optarg);
		}
	}
	if (!have_size || optind >= argc)
		return cli_usage(cli, have_size ? "missing operand" : "-s SIZE is required");
	return cli_each_operand(cli, argv + optind, argc - optind, truncate_one, &t);
}

/* ---- setrep ---- */

struct setrep_ctx {
	unsigned n;          /* target replication */
	int wait;            /* -w */
	uint64_t deadline_ms; /* CLOCK_MONOTONIC ms, for -w */
	unsigned timeout_s;
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Counts the blocks of path that have exactly n replicas. */
static int setrep_count(dfs_client *c, const char *path, unsigned n, size_t *done,
			size_t *total)
{
	struct dfs_block_location *bl = NULL;
	size_t count = 0;
	int rc = dfs_block_locations(c, path, &bl, &count);
	if (rc < 0)
		return rc;
	*done = 0;
	for (size_t i = 0; i < count; i++)
		if (bl[i].nlocations == n)
			(*done)++;
	*total = count;
	free(bl);
	return 0;
}

/* Polls until every block of path has x->n replicas or the deadline
 * passes; progress lines go to stderr. */
static int setrep_wait(struct cli *cli, const char *path, const struct setrep_ctx *x)
{
	dfs_client *c = cli_client(cli);
	size_t done = 0, total = 0, shown = (size_t)-1;
	for (;;) {
		int rc = setrep_count(c, path, x->n, &done, &total);
		if (rc < 0)
			return cli_error(cli, path, rc);
		if (done == total)
			break;
		if (done != shown) {
			fprintf(stderr, "Waiting for %s: %zu of %zu blocks have %u replicas\n", path,
				done, total, x->n);
			shown = done;
		}
		if (cli_interrupted())
			return CLI_FAIL;
		if (now_ms() >= x->deadline_ms)
			return cli_errorf(cli, "%s: timed out after %us: %zu of %zu blocks have %u replicas",
					  path, x->timeout_s, done, total, x->n);
		struct timespec ts = {SETREP_POLL_MS / 1000, (SETREP_POLL_MS % 1000) * 1000000L};
		nanosleep(&ts, NULL);
	}
	if (shown != (size_t)-1)
		fprintf(stderr, "Waiting for %s: done\n", path);
	return CLI_OK;
}

static int setrep_entry(struct cli *cli, const char *path, const struct dfs_stat *st, void *arg)
{
	struct setrep_ctx *x = arg;
	if (!S_ISREG(st->mode))
		return CLI_WALK_OK; /* directories: their files are set */
	int rc = dfs_setrep(cli_client(cli), path, x->n);
	if (rc < 0) {
		cli_error(cli, path, rc);
		return CLI_WALK_FAILED;
	}
	printf("Replication %u set: %s\n", x->n, path);
	if (x->wait && setrep_wait(cli, path, x) != CLI_OK)
		return CLI_WALK_FAILED;
	return CLI_WALK_OK;
}

int cmd_setrep(struct cli *cli, int argc, char **argv)
{
	struct setrep_ctx x = {.timeout_s = SETREP_TIMEOUT_S_DEFAULT};
	int ch;
	uint64_t v;
	while ((ch = getopt(argc, argv, "+Rwt:")) != -1) {
		if (ch == 'w')
			x.wait = 1;
		else if (ch == 't' && cli_parse_size(optarg, &v) == 0 && v <= 86400 * 365)
			x.timeout_s = (unsigned)v;
		else if (ch != 'R')
			return cli_usage(cli, NULL);
	}
	if (argc - optind < 2)
		return cli_usage(cli, "missing operand");
	if (cli_parse_size(argv[optind], &v) < 0 || v < 1 || v > 16)
		return cli_usage(cli, "invalid replication '%s' (1..16)", argv[optind]);
	x.n = (unsigned)v;
	x.deadline_ms = now_ms() + (uint64_t)x.timeout_s * 1000;
	fflush(stdout);
	/* Directories always apply to every file below them, as in Hadoop. */
	return for_each_operand(cli, argv + optind + 1, argc - optind - 1, 1, setrep_entry, &x);
}
