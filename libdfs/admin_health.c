/* admin_health.c: the cluster-health admin calls: safe mode
 * (DFS_M_SAFEMODE), decommission (DFS_M_DECOMMISSION) and the per-block
 * replica health that `dfs fsck` is built on (GET_BLOCKS with the
 * namenode's count of good replicas and its list of corrupt ones). */
#include "libdfs/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int dfs_safemode(dfs_client *c, int op, struct dfs_safemode_info *out)
{
	if (op != DFS_SAFEMODE_GET && op != DFS_SAFEMODE_ENTER && op != DFS_SAFEMODE_LEAVE)
		return -EINVAL;
	Dfs__NsRequest req = DFS__NS_REQUEST__INIT;
	Dfs__NsReply *reply;
	req.has_flags = 1;
	req.flags = (uint32_t)op;
	int rc = dfsc_call(c, DFS_M_SAFEMODE, &req, &reply);
	if (rc < 0)
		return rc;
	const Dfs__SafeModeStatus *s = reply->safemode;
	if (s == NULL) {
		rc = -DFS_EPROTOCOL;
	} else if (out != NULL) {
		memset(out, 0, sizeof(*out));
		out->on = s->on;
		out->manual = s->manual;
		out->blocks_total = s->blocks_total;
		out->blocks_reported = s->blocks_reported;
		out->live_datanodes = s->live_datanodes;
		out->min_datanodes = s->min_datanodes;
		out->threshold = s->threshold;
		out->extension_left_ms = s->extension_left_ms;
	}
	dfs__ns_reply__free_unpacked(reply, NULL);
	return rc;
}

int dfs_decommission(dfs_client *c, const char *datanode, int recommission)
{
	if (datanode == NULL || *datanode == '\0')
		return -EINVAL;
	Dfs__NsRequest req = DFS__NS_REQUEST__INIT;
	Dfs__NsReply *reply;
	req.target = (char *)datanode;
	req.has_flags = 1;
	req.flags = recommission ? 1 : 0;
	int rc = dfsc_call(c, DFS_M_DECOMMISSION, &req, &reply);
	if (rc == 0)
		dfs__ns_reply__free_unpacked(reply, NULL);
	return rc;
}

static void addr_of(const Dfs__DatanodeId *id, char out[80])
{
	snprintf(out, 80, "%.60s:%u", id && id->host ? id->host : "?", id ? id->port : 0);
}

static void health_from_pb(const Dfs__LocatedBlock *lb, struct dfs_block_health *o)
{
	o->index = lb->index;
	o->block_id = lb->block->block_id;
	o->genstamp = lb->block->genstamp;
	o->length = lb->block->length;
	o->good = lb->has_good_replicas ? lb->good_replicas : (unsigned)lb->n_locations;
	for (size_t j = 0; j < lb->n_locations && o->nlocations < DFS_HEALTH_LOCATIONS_MAX; j++)
		addr_of(lb->locations[j], o->locations[o->nlocations++]);
	for (size_t j = 0; j < lb->n_corrupt && o->ncorrupt < DFS_HEALTH_LOCATIONS_MAX; j++)
		addr_of(lb->corrupt[j], o->corrupt[o->ncorrupt++]);
}

int dfs_block_health(dfs_client *c, const char *path, unsigned *replication,
		     struct dfs_block_health **out, size_t *count)
{
	Dfs__NsReply *reply;
	struct dfs_stat st;
	*out = NULL;
	*count = 0;
	int rc = dfs_stat(c, path, &st);
	if (rc < 0)
		return rc;
	if (!S_ISREG(st.mode))
		return -EINVAL;
	*replication = st.replication;
	if (st.size == 0)
		return 0;
	rc = dfsc_get_all_blocks(c, &st, &reply);
	if (rc < 0)
		return rc;
	struct dfs_block_health *v = calloc(reply->n_blocks + 1, sizeof(*v));
	if (v == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	size_t n = 0;
	for (size_t i = 0; i < reply->n_blocks; i++)
		if (reply->blocks[i] && reply->blocks[i]->block)
			health_from_pb(reply->blocks[i], &v[n++]);
	*out = v;
	*count = n;
out:
	dfs__ns_reply__free_unpacked(reply, NULL);
	return rc;
}
