/* cmd_admin.c: the commands about space and placement: du, df, blocks
 * (each block of a file with its replicas) and `admin report` (the
 * datanodes and cluster totals). Output formats are documented in dfs(1)
 * and are relied on by the integration tests: keep them in step. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tools/cli.h"

/* Deepest directory nesting du descends into. */
#define DU_DEPTH_MAX 1024

static void fmt_size(uint64_t n, int human, char *out, size_t len)
{
	if (human)
		cli_human_size(n, out, len);
	else
		snprintf(out, len, "%llu", (unsigned long long)n);
}

/* ---- du ---- */

struct du_ctx {
	struct cli *cli;
	int summary, human;
	int status;
};

static void du_print(const struct du_ctx *x, uint64_t size, const char *path)
{
	char s[32];
	fmt_size(size, x->human, s, sizeof(s));
	printf("%s\t%s\n", s, path);
}

/* Total apparent size of the tree at path; prints each directory's total
 * after its contents unless -s. */
static uint64_t du_dir(struct du_ctx *x, const char *path, int depth)
{
	dfs_dir *d = NULL;
	uint64_t total = 0;
	int rc = dfs_opendir(cli_client(x->cli), 0, path, &d);
	if (rc < 0) {
		x->status = cli_error(x->cli, path, rc);
		return 0;
	}
	struct dfs_dirent ent;
	char child[CLI_PATH_MAX];
	while ((rc = dfs_readdir(d, &ent)) > 0) {
		if (!S_ISDIR(ent.st.mode)) {
			total += S_ISLNK(ent.st.mode) ? 0 : ent.st.size;
			continue;
		}
		if (depth >= DU_DEPTH_MAX || cli_path_join(path, ent.name, child, sizeof(child)) < 0) {
			x->status = cli_error(x->cli, path, -ENAMETOOLONG);
			continue;
		}
		total += du_dir(x, child, depth + 1);
	}
	if (rc < 0)
		x->status = cli_error(x->cli, path, rc);
	dfs_closedir(d);
	if (!x->summary || depth == 0)
		du_print(x, total, path);
	return total;
}

int cmd_du(struct cli *cli, int argc, char **argv)
{
	struct du_ctx x = {.cli = cli, .status = CLI_OK};
	int ch;
	while ((ch = getopt(argc, argv, "shx")) != -1) {
		if (ch == 's')
			x.summary = 1;
		else if (ch == 'h')
			x.human = 1;
		else if (ch != 'x')
			return cli_usage(cli, NULL);
	}
	dfs_client *c = cli_client(cli);
	if (c == NULL)
		return CLI_FAIL;
	char *def[] = {"/"};
	char **ops = optind < argc ? argv + optind : def;
	int n = optind < argc ? argc - optind : 1;
	for (int i = 0; i < n; i++) {
		char path[CLI_PATH_MAX];
		struct dfs_stat st;
		int rc = cli_path_normalize(ops[i], path, sizeof(path));
		if (rc == 0)
			rc = dfs_stat(c, path, &st);
		if (rc < 0)
			x.status = cli_error(cli, ops[i], rc);
		else if (S_ISDIR(st.mode))
			du_dir(&x, path, 0);
		else
			du_print(&x, st.size, path);
	}
	return x.status;
}

/* ---- df ---- */

int cmd_df(struct cli *cli, int argc, char **argv)
{
	int human = 0, ch;
	while ((ch = getopt(argc, argv, "h")) != -1) {
		if (ch != 'h')
			return cli_usage(cli, NULL);
		human = 1;
	}
	dfs_client *c = cli_client(cli);
	if (c == NULL)
		return CLI_FAIL;
	struct dfs_statfs sf;
	int rc = dfs_statfs(c, &sf);
	if (rc < 0)
		return cli_error(cli, NULL, rc);
	char cap[32], used[32], rem[32];
	fmt_size(sf.capacity, human, cap, sizeof(cap));
	fmt_size(sf.used, human, used, sizeof(used));
	fmt_size(sf.remaining, human, rem, sizeof(rem));
	unsigned pct = sf.capacity ? (unsigned)((sf.used * 100 + sf.capacity - 1) / sf.capacity) : 0;
	printf("%-12s %14s %14s %14s %5s\n", "Filesystem", "Size", "Used", "Available", "Use%");
	printf("%-12s %14s %14s %14s %4u%%\n", "dfs", cap, used, rem, pct);
	return CLI_OK;
}

/* ---- blocks ---- */

static int blocks_one(struct cli *cli, const char *arg, int header)
{
	char path[CLI_PATH_MAX];
	struct dfs_block_location *bl = NULL;
	size_t count = 0;
	int rc = cli_path_normalize(arg, path, sizeof(path));
	if (rc == 0)
		rc = dfs_block_locations(cli_client(cli), path, &bl, &count);
	if (rc < 0)
		return cli_error(cli, arg, rc);
	if (header)
		printf("%s:\n", arg);
	for (size_t i = 0; i < count; i++) {
		printf("block=%llu id=%llu genstamp=%llu length=%llu replicas=%u locations=",
		       (unsigned long long)bl[i].index, (unsigned long long)bl[i].block_id,
		       (unsigned long long)bl[i].genstamp, (unsigned long long)bl[i].length,
		       bl[i].nlocations);
		for (unsigned j = 0; j < bl[i].nlocations && j < 16; j++)
			printf("%s%.80s", j ? "," : "", bl[i].locations[j]);
		putchar('\n');
	}
	free(bl);
	return CLI_OK;
}

int cmd_blocks(struct cli *cli, int argc, char **argv)
{
	if (argc < 2)
		return cli_usage(cli, "missing operand");
	if (cli_client(cli) == NULL)
		return CLI_FAIL;
	int status = CLI_OK;
	for (int i = 1; i < argc; i++)
		if (blocks_one(cli, argv[i], argc > 2) != CLI_OK)
			status = CLI_FAIL;
	return status;
}

/* ---- admin report ---- */

static void report_datanode(const struct dfs_datanode_info *d, int human)
{
	char cap[32], used[32], rem[32];
	fmt_size(d->capacity, human, cap, sizeof(cap));
	fmt_size(d->used, human, used, sizeof(used));
	fmt_size(d->remaining, human, rem, sizeof(rem));
	printf("datanode=%.256s:%u uuid=%.64s state=%.32s capacity=%s used=%s remaining=%s "
	       "blocks=%llu last_heartbeat_ms=%lld\n",
	       d->host, d->port, d->uuid[0] ? d->uuid : "-", d->state[0] ? d->state : "-", cap, used,
	       rem, (unsigned long long)d->blocks, (long long)d->last_heartbeat_ms_ago);
}

static int admin_report(struct cli *cli, int human)
{
	dfs_client *c = cli_client(cli);
	if (c == NULL)
		return CLI_FAIL;
	struct dfs_datanode_info *dn = NULL;
	size_t n = 0;
	struct dfs_statfs sf;
	int rc = dfs_datanode_report(c, &dn, &n);
	if (rc < 0)
		return cli_error(cli, "report", rc);
	for (size_t i = 0; i < n; i++)
		report_datanode(&dn[i], human);
	free(dn);
	rc = dfs_statfs(c, &sf);
	if (rc < 0)
		return cli_error(cli, "report", rc);
	char cap[32], used[32], rem[32];
	fmt_size(sf.capacity, human, cap, sizeof(cap));
	fmt_size(sf.used, human, used, sizeof(used));
	fmt_size(sf.remaining, human, rem, sizeof(rem));
	printf("total datanodes=%zu live=%u dead=%u capacity=%s used=%s remaining=%s blocks=%llu "
	       "files=%llu\n",
	       n, sf.live_datanodes, sf.dead_datanodes, cap, used, rem,
	       (unsigned long long)sf.blocks, (unsigned long long)sf.files);
	return CLI_OK;
}

int cmd_admin(struct cli *cli, int argc, char **argv)
{
	int human = 0;
	const char *sub = NULL;
	if (argc >= 2 && strcmp(argv[1], "raft") == 0)
		return cmd_raft(cli, argc - 1, argv + 1); /* cmd_raft.c */
	if (argc >= 2 && strcmp(argv[1], "safemode") == 0) /* cmd_safemode.c */
		return cmd_admin_safemode(cli, argc - 1, argv + 1);
	if (argc >= 2 && (strcmp(argv[1], "decommission") == 0 ||
			  strcmp(argv[1], "recommission") == 0))
		return cmd_admin_decommission(cli, argc - 1, argv + 1);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0)
			human = 1;
		else if (sub == NULL && (argv[i][0] != '-' || strcmp(argv[i], "-report") == 0))
			sub = argv[i];
		else
			return cli_usage(cli, "unexpected '%s'", argv[i]);
	}
	if (sub != NULL && (strcmp(sub, "report") == 0 || strcmp(sub, "-report") == 0))
		return admin_report(cli, human);
	return cli_usage(cli, sub ? "unknown admin command '%s'" : "missing admin command", sub);
}
