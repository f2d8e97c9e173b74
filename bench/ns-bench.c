/* ns-bench.c: the cost of applying namespace commands, without network,
 * Raft or fsync: formats a namespace (real LevelDB) in a temp dir, applies
 * N creates, N stats, N renames and N unlinks in one directory, as the
 * namenode's state machine does on every node of a group, and prints the
 * CPU time of each per operation. Under
 *   valgrind --tool=callgrind bench/ns-bench 3000
 * the instruction counts are the same from run to run, which a shared
 * machine's timings are not. Prints figures; never passes or fails. */
#include "namenode/ns.h"
#include "common/errors.h"
#include "common/frame.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct run {
	struct ns *ns;
	uint64_t index;
	int64_t now;
	uint64_t seq;
};

static double cpu_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Applies one mutation tagged like a libdfs call (client id + seq). */
static int apply(struct run *r, uint32_t method, const char *path, const char *target)
{
	Dfs__NsRequest req = DFS__NS_REQUEST__INIT;
	req.path = (char *)path;
	req.target = (char *)target;
	req.has_mode = true;
	req.mode = method == DFS_M_MKDIR ? 0755 : 0644;
	req.has_client_id = true;
	req.client_id.data = (uint8_t *)"ns-bench-client-0000";
	req.client_id.len = 20;
	req.has_seq = true;
	req.seq = ++r->seq;
	Dfs__NsCommand cmd = DFS__NS_COMMAND__INIT;
	cmd.method = method;
	cmd.req = &req;
	cmd.now_ns = r->now += 100000;
	Dfs__NsReply reply = DFS__NS_REPLY__INIT;
	int rc = ns_apply(r->ns, &cmd, ++r->index, &reply);
	ns_reply_clear(&reply);
	return rc;
}

static int stat_path(struct run *r, const char *path)
{
	Dfs__NsRequest req = DFS__NS_REQUEST__INIT;
	req.path = (char *)path;
	Dfs__NsReply reply = DFS__NS_REPLY__INIT;
	int rc = ns_read(r->ns, DFS_M_GETATTR, &req, &reply);
	ns_reply_clear(&reply);
	return rc;
}

enum op { OP_CREATE, OP_STAT, OP_RENAME, OP_UNLINK, OP_N };
static const char *const op_names[OP_N] = { "create", "stat", "rename", "unlink" };

static int run_one(struct run *r, enum op op, int i)
{
	char a[64], b[64];
	snprintf(a, sizeof(a), "/bench/f%07d", i);
	snprintf(b, sizeof(b), "/bench/g%07d", i);
	switch (op) {
	case OP_CREATE: return apply(r, DFS_M_CREATE, a, NULL);
	case OP_STAT: return stat_path(r, a);
	case OP_RENAME: return apply(r, DFS_M_RENAME, a, b);
	default: return apply(r, DFS_M_UNLINK, b, NULL);
	}
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 10000;
	if (n <= 0) {
		fprintf(stderr, "usage: ns-bench [N]\n");
		return 2;
	}
	char dir[] = "/tmp/ns-bench-XXXXXX", path[64], cmd[96];
	if (!mkdtemp(dir)) {
		perror("ns-bench: mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/name", dir);
	struct run r = { .now = 1000000 };
	int rc = ns_format(path, "ns-bench", 1000, 0, 0, 0);
	if (rc == 0)
		rc = ns_open(path, &r.ns);
	if (rc == 0)
		rc = apply(&r, DFS_M_MKDIR, "/bench", NULL);
	for (int op = 0; op < OP_N && rc == 0; op++) {
		double t0 = cpu_s();
		for (int i = 0; i < n && rc == 0; i++)
			rc = run_one(&r, (enum op)op, i);
		if (rc == 0)
			printf("%-8s %8.1f us CPU/op (%d ops)\n", op_names[op],
			       (cpu_s() - t0) * 1e6 / n, n);
	}
	if (rc < 0)
		fprintf(stderr, "ns-bench: %s\n", dfs_strerror(rc));
	ns_close(r.ns);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "ns-bench: could not remove %s\n", dir);
	return rc < 0 ? 1 : 0;
}
