/* cmd_ls.c: `dfs ls [-l] [-n] [-R] [-h] [-d] PATH...`, listing in the
 * manner of coreutils ls: names one per line, or with -l
 * "MODE LINKS OWNER GROUP SIZE YYYY-MM-DD HH:MM NAME[ -> TARGET]".
 * Directories stream from dfs_readdir in name order (bounded memory); -R
 * remembers only the subdirectory names of the directory being listed. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tools/cli.h"

struct ls_opts {
	int longfmt;   /* -l */
	int numeric;   /* -n: numeric uid/gid (implies -l) */
	int recursive; /* -R */
	int human;     /* -h */
	int dir_only;  /* -d */
};

struct ls_ctx {
	struct cli *cli;
	struct ls_opts o;
	int headers; /* print "PATH:" before directory listings */
	int printed; /* something was printed (for the blank line) */
	int status;
};

/* Prints one entry; path is what to show, full the remote path (for
 * readlink). */
static void ls_print(struct ls_ctx *x, const char *name, const char *full,
		     const struct dfs_stat *st)
{
	if (!x->o.longfmt) {
		printf("%s\n", name);
		return;
	}
	char mode[11], owner[64], group[64], size[32], when[32];
	cli_mode_string(st->mode, mode);
	if (x->o.numeric) {
		snprintf(owner, sizeof(owner), "%u", st->uid);
		snprintf(group, sizeof(group), "%u", st->gid);
	} else {
		cli_user_name(x->cli, st->uid, owner, sizeof(owner));
		cli_group_name(x->cli, st->gid, group, sizeof(group));
	}
	if (x->o.human)
		cli_human_size(st->size, size, sizeof(size));
	else
		snprintf(size, sizeof(size), "%llu", (unsigned long long)st->size);
	cli_time_short(&st->mtime, when, sizeof(when));
	printf("%s %3u %-8s %-8s %10s %s %s", mode, st->nlink, owner, group, size, when, name);
	if (S_ISLNK(st->mode)) {
		char target[CLI_PATH_MAX];
		int n = dfs_readlink(cli_client(x->cli), st->ino, full, target, sizeof(target));
		if (n >= 0)
			printf(" -> %s", target);
	}
	putchar('\n');
}

/* A growable list of subdirectory paths, for -R. */
struct name_list {
	char **v;
	size_t n, cap;
};

static int list_push(struct name_list *l, const char *s)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		char **v = realloc(l->v, cap * sizeof(*v));
		if (v == NULL)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n] = strdup(s);
	return l->v[l->n++] == NULL ? -ENOMEM : 0;
}

static void list_free(struct name_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

/* Lists the directory at path (its entries), then recurses with -R. */
static void ls_dir(struct ls_ctx *x, const char *path, int depth)
{
	dfs_dir *d = NULL;
	int rc = dfs_opendir(cli_client(x->cli), 0, path, &d);
	if (rc < 0) {
		x->status = cli_error(x->cli, path, rc);
		return;
	}
	if (x->headers)
		printf("%s%s:\n", x->printed ? "\n" : "", path);
	x->printed = 1;
	struct name_list subdirs = {NULL, 0, 0};
	struct dfs_dirent ent;
	char full[CLI_PATH_MAX];
	while ((rc = dfs_readdir(d, &ent)) > 0) {
		if (cli_path_join(path, ent.name, full, sizeof(full)) < 0) {
			x->status = cli_error(x->cli, path, -ENAMETOOLONG);
			continue;
		}
		ls_print(x, ent.name, full, &ent.st);
		if (x->o.recursive && S_ISDIR(ent.st.mode) && list_push(&subdirs, full) < 0)
			rc = -ENOMEM;
	}
	if (rc < 0)
		x->status = cli_error(x->cli, path, rc);
	dfs_closedir(d);
	for (size_t i = 0; i < subdirs.n && depth < 1024; i++)
		ls_dir(x, subdirs.v[i], depth + 1);
	list_free(&subdirs);
}

static int ls_parse(struct cli *cli, int argc, char **argv, struct ls_opts *o)
{
	int ch;
	memset(o, 0, sizeof(*o));
	while ((ch = getopt(argc, argv, "lnRhdC1")) != -1) {
		switch (ch) {
		case 'l': o->longfmt = 1; break;
		case 'n': o->numeric = o->longfmt = 1; break;
		case 'R': o->recursive = 1; break;
		case 'h': o->human = 1; break;
		case 'd': o->dir_only = 1; break;
		case 'C': case '1': break;
		default: return -1;
		}
	}
	if (cli->hadoop) /* `dfs -ls` is always long, like hdfs dfs -ls */
		o->longfmt = 1;
	return optind;
}

int cmd_ls(struct cli *cli, int argc, char **argv)
{
	struct ls_ctx x = {.cli = cli, .status = CLI_OK};
	int first = ls_parse(cli, argc, argv, &x.o);
	if (first < 0)
		return cli_usage(cli, NULL);
	if (cli_client(cli) == NULL)
		return CLI_FAIL;
	char *def[] = {"/"};
	char **args = first < argc ? argv + first : def;
	int nargs = first < argc ? argc - first : 1;
	x.headers = nargs > 1 || x.o.recursive;
	/* Files first, then directories, as coreutils does. */
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < nargs; i++) {
			char path[CLI_PATH_MAX];
			struct dfs_stat st;
			int rc = cli_path_normalize(args[i], path, sizeof(path));
			if (rc == 0)
				rc = dfs_stat(cli->client, path, &st);
			if (rc < 0) {
				if (pass == 0)
					x.status = cli_error(cli, args[i], rc);
				continue;
			}
			int as_dir = S_ISDIR(st.mode) && !x.o.dir_only;
			if (pass == 0 && !as_dir) {
				ls_print(&x, args[i], path, &st);
				x.printed = 1;
			} else if (pass == 1 && as_dir) {
				ls_dir(&x, path, 0);
			}
		}
	}
	return x.status;
}
