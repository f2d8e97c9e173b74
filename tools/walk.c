/* walk.c: pre-order walk of a remote directory tree through dfs_opendir /
 * dfs_readdir, for the recursive commands (chmod -R, du, get, cp, ...).
 * One open listing per level of depth; the walk never follows symlinks. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tools/cli.h"

/* Deepest directory nesting the walk descends into. */
#define CLI_WALK_DEPTH_MAX 1024

struct walk {
	struct cli *cli;
	cli_walk_fn fn;
	void *arg;
	int failed;
};

static int walk_dir(struct walk *w, const char *path, int depth);

/* Returns 0 to go on or CLI_WALK_STOP. */
static int walk_entry(struct walk *w, const char *path, const struct dfs_stat *st, int depth)
{
	if (cli_interrupted()) {
		w->failed = 1;
		return CLI_WALK_STOP;
	}
	int rc = w->fn(w->cli, path, st, w->arg);
	if (rc == CLI_WALK_STOP) {
		w->failed = 1;
		return CLI_WALK_STOP;
	}
	if (rc != CLI_WALK_OK) {
		w->failed = 1;
		return 0;
	}
	if (!S_ISDIR(st->mode))
		return 0;
	if (depth >= CLI_WALK_DEPTH_MAX) {
		w->failed = 1;
		cli_error(w->cli, path, -ELOOP);
		return 0;
	}
	return walk_dir(w, path, depth + 1);
}

static int walk_dir(struct walk *w, const char *path, int depth)
{
	dfs_client *c = cli_client(w->cli);
	if (c == NULL)
		return CLI_WALK_STOP;
	dfs_dir *d = NULL;
	int rc = dfs_opendir(c, 0, path, &d);
	if (rc < 0) {
		w->failed = 1;
		cli_error(w->cli, path, rc);
		return 0;
	}
	char *child = malloc(CLI_PATH_MAX);
	if (child == NULL) {
		dfs_closedir(d);
		cli_error(w->cli, path, -ENOMEM);
		return CLI_WALK_STOP;
	}
	struct dfs_dirent ent;
	int stop = 0;
	while (stop == 0 && (rc = dfs_readdir(d, &ent)) > 0) {
		if (cli_path_join(path, ent.name, child, CLI_PATH_MAX) < 0) {
			w->failed = 1;
			cli_error(w->cli, path, -ENAMETOOLONG);
			continue;
		}
		struct dfs_stat st = ent.st;
		stop = walk_entry(w, child, &st, depth);
	}
	if (rc < 0) {
		w->failed = 1;
		cli_error(w->cli, path, rc);
	}
	free(child);
	dfs_closedir(d);
	return stop;
}

int cli_walk(struct cli *cli, const char *path, const struct dfs_stat *st, cli_walk_fn fn,
	     void *arg)
{
	struct walk w = {.cli = cli, .fn = fn, .arg = arg, .failed = 0};
	walk_entry(&w, path, st, 0);
	return w.failed ? CLI_FAIL : CLI_OK;
}
