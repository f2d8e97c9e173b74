/* cmd_ns.c: the namespace commands that move no file data: mkdir, rm,
 * rmdir, mv, ln and test. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "tools/cli.h"

struct mkdir_ctx {
	uint32_t mode;
	unsigned flags;
};

static int mkdir_one(struct cli *cli, dfs_client *c, const char *arg, const char *path,
		     void *ctx)
{
	const struct mkdir_ctx *m = ctx;
	(void)cli;
	(void)arg;
	return dfs_mkdir(c, path, m->mode, m->flags);
}

int cmd_mkdir(struct cli *cli, int argc, char **argv)
{
	unsigned flags = 0;
	uint32_t mode = 0777 & ~cli->umask;
	int ch;
	while ((ch = getopt(argc, argv, "pm:")) != -1) {
		switch (ch) {
		case 'p': flags |= DFS_MKDIR_PARENTS; break;
		case 'm':
			if (cli_mode_parse(optarg, S_IFDIR | 0777, &mode) < 0)
				return cli_usage(cli, "invalid mode '%s'", optarg);
			break;
		default: return cli_usage(cli, NULL);
		}
	}
	if (optind >= argc)
		return cli_usage(cli, "missing operand");
	struct mkdir_ctx m = { .mode = mode, .flags = flags };
	return cli_each_operand(cli, argv + optind, argc - optind, mkdir_one, &m);
}

struct rm_ctx {
	int recursive, force;
};

/* Removes one path; returns 0 or a negative errno. */
static int rm_path(dfs_client *c, const char *path, int recursive)
{
	struct dfs_stat st;
	int rc = dfs_stat(c, path, &st);
	if (rc < 0)
		return rc;
	if (strcmp(path, "/") == 0)
		return -EBUSY; /* never the root, even with -r */
	if (S_ISDIR(st.mode) && !recursive)
		return -EISDIR;
	return dfs_delete(c, path, recursive);
}

static int rm_one(struct cli *cli, dfs_client *c, const char *arg, const char *path, void *ctx)
{
	const struct rm_ctx *r = ctx;
	(void)cli;
	(void)arg;
	int rc = rm_path(c, path, r->recursive);
	return r->force && rc == -ENOENT ? 0 : rc;
}

int cmd_rm(struct cli *cli, int argc, char **argv)
{
	int recursive = 0, force = 0, ch;
	while ((ch = getopt(argc, argv, "rRf")) != -1) {
		switch (ch) {
		case 'r': case 'R': recursive = 1; break;
		case 'f': force = 1; break;
		default: return cli_usage(cli, NULL);
		}
	}
	if (optind >= argc)
		return force ? CLI_OK : cli_usage(cli, "missing operand");
	struct rm_ctx r = { .recursive = recursive, .force = force };
	return cli_each_operand(cli, argv + optind, argc - optind, rm_one, &r);
}

int cmd_rmdir(struct cli *cli, int argc, char **argv)
{
	if (argc < 2)
		return cli_usage(cli, "missing operand");
	dfs_client *c = cli_client(cli);
	if (c == NULL)
		return CLI_FAIL;
	int status = CLI_OK;
	for (int i = 1; i < argc; i++) {
		char path[CLI_PATH_MAX];
		int rc = cli_path_normalize(argv[i], path, sizeof(path));
		if (rc == 0)
			rc = dfs_rmdir(c, path);
		if (rc < 0)
			status = cli_error(cli, argv[i], rc);
	}
	return status;
}

/* Destination of src moved to dest: dest/basename(src) when dest is an
 * existing directory. */
static int move_target(dfs_client *c, const char *src, const char *dest, int *dest_dir,
		       char out[CLI_PATH_MAX])
{
	struct dfs_stat st;
	int rc = dfs_stat(c, dest, &st);
	*dest_dir = rc == 0 && S_ISDIR(st.mode);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	if (!*dest_dir)
		return cli_path_normalize(dest, out, CLI_PATH_MAX);
	char base[CLI_PATH_MAX];
	rc = cli_path_basename(src, base, sizeof(base));
	return rc < 0 ? rc : cli_path_join(dest, base, out, CLI_PATH_MAX);
}

int cmd_mv(struct cli *cli, int argc, char **argv)
{
	int ch;
	while ((ch = getopt(argc, argv, "f")) != -1)
		if (ch != 'f')
			return cli_usage(cli, NULL);
	if (argc - optind < 2)
		return cli_usage(cli, "missing %s", argc == optind ? "operands" : "destination");
	dfs_client *c = cli_client(cli);
	if (c == NULL)
		return CLI_FAIL;
	char dest[CLI_PATH_MAX], src[CLI_PATH_MAX], target[CLI_PATH_MAX];
	if (cli_remote(cli, argv[argc - 1], dest) != CLI_OK)
		return CLI_FAIL;
	struct dfs_stat dst;
	if (argc - optind > 2 && (dfs_stat(c, dest, &dst) < 0 || !S_ISDIR(dst.mode)))
		return cli_error(cli, argv[argc - 1], -ENOTDIR);
	int status = CLI_OK;
	for (int i = optind; i < argc - 1; i++) {
		int dest_dir = 0;
		if (cli_remote(cli, argv[i], src) != CLI_OK) {
			status = CLI_FAIL;
			continue;
		}
		int rc = move_target(c, src, dest, &dest_dir, target);
		if (rc < 0) {
			status = cli_error(cli, argv[argc - 1], rc);
			continue;
		}
		rc = dfs_rename(c, src, target, 0);
		if (rc < 0)
			status = cli_error(cli, argv[i], rc);
	}
	return status;
}

int cmd_ln(struct cli *cli, int argc, char **argv)
{
	int sym = 0, ch;
	while ((ch = getopt(argc, argv, "s")) != -1) {
		if (ch != 's')
			return cli_usage(cli, NULL);
		sym = 1;
	}
	if (argc - optind != 2)
		return cli_usage(cli, "need TARGET and LINK");
	dfs_client *c = cli_client(cli);
	if (c == NULL)
		return CLI_FAIL;
	char link[CLI_PATH_MAX], existing[CLI_PATH_MAX];
	if (cli_remote(cli, argv[optind + 1], link) != CLI_OK)
		return CLI_FAIL;
	int rc;
	if (sym) {
		rc = dfs_symlink(c, argv[optind], link); /* the target is stored verbatim */
	} else {
		if (cli_remote(cli, argv[optind], existing) != CLI_OK)
			return CLI_FAIL;
		rc = dfs_link(c, existing, link);
	}
	return rc < 0 ? cli_error(cli, argv[optind + 1], rc) : CLI_OK;
}

/* `test -e|-d|-f|-s|-z PATH`: exit 0 when true, 1 when false; errors
 * other than a missing path are reported. */
int cmd_test(struct cli *cli, int argc, char **argv)
{
	if (argc != 3 || argv[1][0] != '-' || strchr("edfsz", argv[1][1]) == NULL ||
	    argv[1][1] == '\0' || argv[1][2] != '\0')
		return cli_usage(cli, NULL);
	dfs_client *c = cli_client(cli);
	if (c == NULL)
		return CLI_FAIL;
	char path[CLI_PATH_MAX];
	struct dfs_stat st;
	if (cli_remote(cli, argv[2], path) != CLI_OK)
		return CLI_FAIL;
	int rc = dfs_stat(c, path, &st);
	if (rc == -ENOENT || rc == -ENOTDIR)
		return CLI_FAIL;
	if (rc < 0)
		return cli_error(cli, argv[2], rc);
	switch (argv[1][1]) {
	case 'd': return S_ISDIR(st.mode) ? CLI_OK : CLI_FAIL;
	case 'f': return S_ISREG(st.mode) ? CLI_OK : CLI_FAIL;
	case 's': return st.size > 0 ? CLI_OK : CLI_FAIL;
	case 'z': return st.size == 0 ? CLI_OK : CLI_FAIL;
	default: return CLI_OK;
	}
}
