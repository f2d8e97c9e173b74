/* cmd_raft.c: `dfs admin raft ...`, the namenode Raft group seen and
 * steered from the command line: status (one line per namenode), add and
 * remove a voter, leadership transfer, and the drop-peers fault hook of the
 * tests. The status line format is documented in dfs(1) and parsed by
 * dfs-cluster and the integration tests: keep them in step. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tools/cli.h"

/* How long `transfer` waits for the new leader to show up in the status. */
#define RAFT_TRANSFER_WAIT_MS 10000
#define RAFT_POLL_MS 100
/* Node ids given to drop-peers at most. */
#define RAFT_DROP_MAX 16

static int parse_id(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v == 0 || s[0] == '-')
		return -EINVAL;
	*out = v;
	return 0;
}

static void print_member(const struct dfs_raft_member *m)
{
	printf("id=%" PRIu64 " addr=%.280s role=%.16s term=%" PRIu64 " commit=%" PRIu64
	       " applied=%" PRIu64 " lag=%" PRId64 " leader=%" PRIu64 " last=%" PRIu64
	       " snapshot=%" PRIu64 " voter=%d effects=%" PRIu64 " unsynced=%" PRIu64 "%s\n",
	       m->id, m->addr, m->role[0] ? m->role : "-", m->term, m->commit_index,
	       m->applied_index, m->lag, m->leader_id, m->last_index, m->snapshot_index, m->voter,
	       m->from_effects, m->unsynced_writes, m->reachable ? "" : " unreachable");
}

/* The id of the leader the reachable members agree on (a member that
 * calls itself leader), 0 if none. */
static uint64_t leader_of(const struct dfs_raft_member *v, size_t n)
{
	uint64_t id = 0, term = 0;
	for (size_t i = 0; i < n; i++)
		if (v[i].reachable && strcmp(v[i].role, "leader") == 0 && v[i].term >= term) {
			id = v[i].id;
			term = v[i].term;
		}
	return id;
}

static int raft_status(struct cli *cli)
{
	dfs_client *c = cli_client(cli);
	if (c == NULL)
		return CLI_FAIL;
	struct dfs_raft_member *v = NULL;
	size_t n = 0, up = 0;
	int rc = dfs_raft_status(c, &v, &n);
	if (rc < 0)
		return cli_error(cli, "status", rc);
	for (size_t i = 0; i < n; i++) {
		print_member(&v[i]);
		up += v[i].reachable != 0;
	}
	free(v);
	if (up == 0)
		return cli_errorf(cli, "status: no namenode answered");
	return CLI_OK;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Polls the status until a leader other than old (or exactly want, if
 * not 0) is in charge; prints it. */
static int wait_new_leader(struct cli *cli, uint64_t old, uint64_t want)
{
	for (long waited = 0; waited <= RAFT_TRANSFER_WAIT_MS && !cli_interrupted();
	     waited += RAFT_POLL_MS) {
		struct dfs_raft_member *v = NULL;
		size_t n = 0;
		uint64_t now = 0;
		if (dfs_raft_status(cli_client(cli), &v, &n) == 0)
			now = leader_of(v, n);
		free(v);
		if (now != 0 && (want != 0 ? now == want : now != old)) {
			printf("leader=%" PRIu64 "\n", now);
			return CLI_OK;
		}
		sleep_ms(RAFT_POLL_MS);
	}
	return cli_errorf(cli, "transfer: no new leader after %d ms", RAFT_TRANSFER_WAIT_MS);
}

static int raft_transfer(struct cli *cli, int argc, char **argv)
{
	uint64_t to = 0, old = 0;
	if (argc > 2)
		return cli_usage(cli, "transfer takes at most one node id");
	if (argc == 2 && parse_id(argv[1], &to) < 0)
		return cli_usage(cli, "'%s' is not a node id", argv[1]);
	dfs_client *c = cli_client(cli);
	if (c == NULL)
		return CLI_FAIL;
	struct dfs_raft_member *v = NULL;
	size_t n = 0;
	if (dfs_raft_status(c, &v, &n) == 0)
		old = leader_of(v, n);
	free(v);
	if (to != 0 && to == old) {
		printf("leader=%" PRIu64 "\n", old);
		return CLI_OK;
	}
	int rc = dfs_raft_transfer(c, to);
	if (rc < 0)
		return cli_error(cli, "transfer", rc);
	return wait_new_leader(cli, old, to);
}

static int raft_drop(struct cli *cli, int argc, char **argv)
{
	uint64_t ids[RAFT_DROP_MAX];
	size_t n = 0;
	if (argc < 2)
		return cli_usage(cli, "drop-peers needs HOST:PORT");
	for (int i = 2; i < argc; i++) {
		if (n >= RAFT_DROP_MAX)
			return cli_usage(cli, "at most %d node ids", RAFT_DROP_MAX);
		if (parse_id(argv[i], &ids[n++]) < 0)
			return cli_usage(cli, "'%s' is not a node id", argv[i]);
	}
	dfs_client *c = cli_client(cli);
	if (c == NULL)
		return CLI_FAIL;
	int rc = dfs_raft_drop_peers(c, argv[1], ids, n);
	return rc < 0 ? cli_error(cli, argv[1], rc) : CLI_OK;
}

/* argv[0] = "raft", argv[1] = the subcommand. */
int cmd_raft(struct cli *cli, int argc, char **argv)
{
	if (argc < 2)
		return cli_usage(cli, "missing raft command (status, add, remove, transfer)");
	const char *sub = argv[1];
	uint64_t id;
	if (strcmp(sub, "status") == 0 && argc == 2)
		return raft_status(cli);
	if (strcmp(sub, "transfer") == 0)
		return raft_transfer(cli, argc - 1, argv + 1);
	if (strcmp(sub, "drop-peers") == 0)
		return raft_drop(cli, argc - 1, argv + 1);
	if (strcmp(sub, "add") == 0 && argc == 4) {
		if (parse_id(argv[2], &id) < 0)
			return cli_usage(cli, "'%s' is not a node id", argv[2]);
		dfs_client *c = cli_client(cli);
		if (c == NULL)
			return CLI_FAIL;
		int rc = dfs_raft_add(c, id, argv[3]);
		return rc < 0 ? cli_error(cli, argv[3], rc) : CLI_OK;
	}
	if (strcmp(sub, "remove") == 0 && argc == 3) {
		if (parse_id(argv[2], &id) < 0)
			return cli_usage(cli, "'%s' is not a node id", argv[2]);
		dfs_client *c = cli_client(cli);
		if (c == NULL)
			return CLI_FAIL;
		int rc = dfs_raft_remove(c, id);
		return rc < 0 ? cli_error(cli, argv[2], rc) : CLI_OK;
	}
	return cli_usage(cli, "bad raft command '%s'", sub);
}
