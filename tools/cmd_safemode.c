/* cmd_safemode.c: the cluster-health admin subcommands, reached through
 * `dfs admin` (cmd_admin.c):
 *   admin safemode get|enter|leave|wait [-t SECONDS]
 *   admin decommission DATANODE...   (uuid or host:port)
 *   admin recommission DATANODE...
 * `safemode get` prints one line: "Safe mode is ON|OFF (...)"; exit 0.
 * `safemode wait` polls until safe mode is off (exit 1 on timeout). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tools/cli.h"

#define SAFEMODE_WAIT_DEFAULT_S 60
#define SAFEMODE_POLL_MS 200

static void print_safemode(const struct dfs_safemode_info *s)
{
	printf("Safe mode is %s", s->on ? "ON" : "OFF");
	if (s->on)
		printf(" (%s)", s->manual ? "manual" : "startup");
	printf(": %llu of %llu blocks reported (threshold %.4g), %u live datanodes (min %u)",
	       (unsigned long long)s->blocks_reported, (unsigned long long)s->blocks_total,
	       s->threshold, s->live_datanodes, s->min_datanodes);
	if (s->on && !s->manual && s->extension_left_ms >= 0)
		printf(", leaving in %lld ms", (long long)s->extension_left_ms);
	putchar('\n');
}

static int safemode_wait(struct cli *cli, dfs_client *c, long timeout_s)
{
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct dfs_safemode_info s;
		int rc = dfs_safemode(c, DFS_SAFEMODE_GET, &s);
		if (rc < 0)
			return cli_error(cli, "safemode", rc);
		if (!s.on) {
			print_safemode(&s);
			return CLI_OK;
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec >= timeout_s || cli_interrupted())
			return cli_errorf(cli, "safe mode still on after %ld s", timeout_s);
		struct timespec d = {0, SAFEMODE_POLL_MS * 1000000L};
		nanosleep(&d, NULL);
	}
}

int cmd_admin_safemode(struct cli *cli, int argc, char **argv)
{
	if (argc < 2)
		return cli_usage(cli, "safemode: missing get|enter|leave|wait");
	dfs_client *c = cli_client(cli);
	if (c == NULL)
		return CLI_FAIL;
	if (strcmp(argv[1], "wait") == 0) {
		long t = SAFEMODE_WAIT_DEFAULT_S;
		if (argc == 4 && strcmp(argv[2], "-t") == 0)
			t = strtol(argv[3], NULL, 10);
		else if (argc != 2)
			return cli_usage(cli, "safemode wait [-t SECONDS]");
		return safemode_wait(cli, c, t);
	}
	int op = strcmp(argv[1], "get") == 0     ? DFS_SAFEMODE_GET
		 : strcmp(argv[1], "enter") == 0 ? DFS_SAFEMODE_ENTER
		 : strcmp(argv[1], "leave") == 0 ? DFS_SAFEMODE_LEAVE
						 : -1;
	if (op < 0 || argc != 2)
		return cli_usage(cli, "safemode: expected get|enter|leave|wait");
	struct dfs_safemode_info s;
	int rc = dfs_safemode(c, op, &s);
	if (rc < 0)
		return cli_error(cli, "safemode", rc);
	print_safemode(&s);
	return CLI_OK;
}

int cmd_admin_decommission(struct cli *cli, int argc, char **argv)
{
	int undo = strcmp(argv[0], "recommission") == 0;
	if (argc < 2)
		return cli_usage(cli, "%s: missing DATANODE (uuid or host:port)", argv[0]);
	dfs_client *c = cli_client(cli);
	if (c == NULL)
		return CLI_FAIL;
	int status = CLI_OK;
	for (int i = 1; i < argc; i++) {
		int rc = dfs_decommission(c, argv[i], undo);
		if (rc < 0)
			status = cli_error(cli, argv[i], rc);
		else
			printf("%s: %s\n", argv[i], undo ? "recommissioned" : "decommissioning");
	}
	return status;
}
