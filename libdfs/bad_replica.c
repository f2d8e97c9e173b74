/* bad_replica.c: BAD_REPLICA reports from readers. A reader that found a
 * replica whose data does not match its checksums (or that its datanode
 * already knows is corrupt) tells the namenode, which copies a good
 * replica elsewhere and then deletes the bad one. The report is inline
 * and bounded: one pass over the namenodes (following a NOT_LEADER hint
 * once) with a short timeout each; a failure is only logged, since the
 * datanode's block scanner reports the replica too. */
#include "libdfs/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"

#define DFSC_BAD_REPLICA_TIMEOUT_MS 5000

/* One exchange with namenode nn: the reply's status, or a transport error;
 * *leader gets the NOT_LEADER hint (malloc'd) if any. */
static int send_to(dfs_client *c, int nn, const Dfs__BadReplicaReport *m, char **leader)
{
	const struct dfsc_addr *a = &c->set.nn[nn];
	int tmo = c->set.rpc_timeout_ms < DFSC_BAD_REPLICA_TIMEOUT_MS ? c->set.rpc_timeout_ms
								      : DFSC_BAD_REPLICA_TIMEOUT_MS;
	struct dfs_frame f = { 0 };
	int fd = dfs_net_connect(a->host, a->port, tmo);
	if (fd < 0)
		return fd;
	uint64_t call_id = atomic_fetch_add(&c->next_call_id, 1);
	int rc = dfs_net_set_timeouts(fd, tmo);
	if (rc == 0)
		rc = dfs_frame_send(fd, DFS_M_BAD_REPLICA, call_id, &m->base, NULL, 0);
	if (rc == 0)
		rc = dfs_frame_recv(fd, &f);
	if (rc == 0) {
		Dfs__NsReply *r = (Dfs__NsReply *)dfs_frame_unpack(&f, &dfs__ns_reply__descriptor);
		if (r == NULL) {
			rc = -DFS_EPROTOCOL;
		} else {
			rc = r->status;
			if (rc == -DFS_ENOTLEADER && r->leader != NULL)
				*leader = strdup(r->leader);
			dfs__ns_reply__free_unpacked(r, NULL);
		}
	}
	dfs_frame_release(&f);
	close(fd);
	return rc;
}

static int find_nn(const dfs_client *c, const char *hostport)
{
	struct dfsc_addr a;
	if (dfs_net_parse_hostport(hostport, a.host, sizeof(a.host), &a.port) < 0)
		return -1;
	for (int i = 0; i < c->set.n_nn; i++)
		if (c->set.nn[i].port == a.port && strcmp(c->set.nn[i].host, a.host) == 0)
			return i;
	return -1;
}

void dfsc_report_bad_replicas(dfs_client *c, const struct dfsc_lblock *b, const int *locs, int n)
{
	Dfs__BadReplicaReport m = DFS__BAD_REPLICA_REPORT__INIT;
	Dfs__BlockRef ref = DFS__BLOCK_REF__INIT;
	Dfs__BlockRef *refs[DFSC_LOCATIONS_MAX];
	char *uuids[DFSC_LOCATIONS_MAX];
	if (n <= 0 || c->set.n_nn == 0)
		return;
	if (n > DFSC_LOCATIONS_MAX)
		n = DFSC_LOCATIONS_MAX;
	ref.block_id = b->block_id;
	ref.genstamp = b->genstamp;
	ref.length = b->length;
	for (int i = 0; i < n; i++) {
		refs[i] = &ref;
		uuids[i] = (char *)b->locs[locs[i]].uuid;
		dfsc_log(c, DFS_LOG_WARN, "block %llu genstamp %llu: replica on %s:%u is corrupt: "
			 "reporting it", (unsigned long long)b->block_id,
			 (unsigned long long)b->genstamp, b->locs[locs[i]].host,
			 b->locs[locs[i]].port);
	}
	m.n_blocks = m.n_datanode_uuids = (size_t)n;
	m.blocks = refs;
	m.datanode_uuids = uuids;
	m.reporter = c->client_name;
	m.reason = "checksum";
	int nn = atomic_load(&c->leader), rc = -ECONNREFUSED;
	for (int tries = 0; tries <= c->set.n_nn; tries++) {
		char *leader = NULL;
		rc = send_to(c, nn, &m, &leader);
		if (rc == 0)
			break;
		int hint = leader != NULL ? find_nn(c, leader) : -1;
		free(leader);
		nn = hint >= 0 ? hint : (nn + 1) % c->set.n_nn;
	}
	if (rc < 0)
		dfsc_log(c, DFS_LOG_WARN, "block %llu: BAD_REPLICA report: %s",
			 (unsigned long long)b->block_id, dfs_strerror(rc));
}
