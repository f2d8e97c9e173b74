/* cmd_fsck.c: `dfs fsck [PATH]`: walks the tree (bounded memory: one
 * directory page and one file's block list at a time) and checks every
 * block of every regular file against the namenode's view of its
 * replicas. Per problem block one line:
 *   PATH: block=I id=ID MISSING|CORRUPT|UNDER-REPLICATED good=G/R
 *     locations=... corrupt=...
 * then a summary ending in "Status: HEALTHY" or "Status: CORRUPT".
 * Exit status: 0 healthy (under-replicated blocks are reported but are
 * not data loss: the namenode is healing them), 1 if a block is missing or
 * has only corrupt replicas (or on errors), 2 usage. Format documented in
 * dfs(1); the integration tests rely on it. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tools/cli.h"

struct fsck {
	struct cli *cli;
	int verbose; /* -v: every block, not only the bad ones */
	uint64_t files, dirs, blocks, bytes;
	uint64_t under, corrupt, missing, failed;
};

static void print_list(const char *what, char (*l)[80], unsigned n)
{
	printf(" %s=", what);
	for (unsigned j = 0; j < n; j++)
		printf("%s%.80s", j ? "," : "", l[j]);
	if (n == 0)
		putchar('-');
}

static void fsck_block(struct fsck *x, const char *path, unsigned rep,
		       struct dfs_block_health *b)
{
	const char *what = NULL;
	x->blocks++;
	if (b->good == 0 && b->ncorrupt > 0 && b->nlocations <= b->ncorrupt) {
		what = "CORRUPT";
		x->corrupt++;
	} else if (b->nlocations == 0) {
		what = "MISSING";
		x->missing++;
	} else if (b->good < rep) {
		what = "UNDER-REPLICATED";
		x->under++;
	}
	if (what == NULL && !x->verbose)
		return;
	printf("%s: block=%llu id=%llu %s good=%u/%u", path, (unsigned long long)b->index,
	       (unsigned long long)b->block_id, what ? what : "OK", b->good, rep);
	print_list("locations", b->locations, b->nlocations);
	print_list("corrupt", b->corrupt, b->ncorrupt);
	putchar('\n');
}

static int fsck_entry(struct cli *cli, const char *path, const struct dfs_stat *st, void *arg)
{
	struct fsck *x = arg;
	if (S_ISDIR(st->mode)) {
		x->dirs++;
		return CLI_WALK_OK;
	}
	if (!S_ISREG(st->mode))
		return CLI_WALK_OK;
	struct dfs_block_health *v = NULL;
	size_t n = 0;
	unsigned rep = 0;
	int rc = dfs_block_health(cli_client(cli), path, &rep, &v, &n);
	if (rc < 0) {
		x->failed++;
		cli_error(cli, path, rc);
		return CLI_WALK_FAILED;
	}
	x->files++;
	x->bytes += st->size;
	for (size_t i = 0; i < n; i++)
		fsck_block(x, path, rep, &v[i]);
	free(v);
	return cli_interrupted() ? CLI_WALK_STOP : CLI_WALK_OK;
}

int cmd_fsck(struct cli *cli, int argc, char **argv)
{
	struct fsck x = {.cli = cli};
	int ch;
	while ((ch = getopt(argc, argv, "v")) != -1) {
		if (ch != 'v')
			return cli_usage(cli, NULL);
		x.verbose = 1;
	}
	if (argc - optind > 1)
		return cli_usage(cli, "one PATH at most");
	char path[CLI_PATH_MAX];
	if (cli_remote(cli, optind < argc ? argv[optind] : "/", path) < 0)
		return CLI_FAIL;
	if (cli_client(cli) == NULL)
		return CLI_FAIL;
	struct dfs_stat st;
	int rc = dfs_stat(cli_client(cli), path, &st);
	if (rc < 0)
		return cli_error(cli, path, rc);
	int wrc = cli_walk(cli, path, &st, fsck_entry, &x);
	printf("Checked %s: %llu files, %llu directories, %llu blocks, %llu bytes\n", path,
	       (unsigned long long)x.files, (unsigned long long)x.dirs,
	       (unsigned long long)x.blocks, (unsigned long long)x.bytes);
	printf("Under-replicated blocks: %llu\nCorrupt blocks: %llu\nMissing blocks: %llu\n",
	       (unsigned long long)x.under, (unsigned long long)x.corrupt,
	       (unsigned long long)x.missing);
	if (x.failed)
		printf("Files not checked (errors): %llu\n", (unsigned long long)x.failed);
	int bad = x.corrupt || x.missing;
	printf("Status: %s\n", bad ? "CORRUPT" : "HEALTHY");
	return bad || wrc != CLI_OK || x.failed ? CLI_FAIL : CLI_OK;
}
