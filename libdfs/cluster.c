/* cluster.c: cluster-wide queries: statfs, the datanode report and where a
 * file's blocks live. */
#include "libdfs/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int dfs_statfs(dfs_client *c, struct dfs_statfs *sf)
{
	Dfs__NsRequest req = DFS__NS_REQUEST__INIT;
	Dfs__NsReply *reply;
	int rc = dfsc_call(c, DFS_M_STATFS, &req, &reply);
	if (rc < 0)
		return rc;
	const Dfs__StatFs *s = reply->statfs;
	if (s == NULL) {
		rc = -DFS_EPROTOCOL;
	} else {
		sf->capacity = s->capacity;
		sf->used = s->used;
		sf->remaining = s->remaining;
		sf->files = s->files;
		sf->blocks = s->blocks;
		sf->live_datanodes = s->live_datanodes;
		sf->dead_datanodes = s->dead_datanodes;
	}
	dfs__ns_reply__free_unpacked(reply, NULL);
	return rc;
}

int dfs_datanode_report(dfs_client *c, struct dfs_datanode_info **out, size_t *count)
{
	Dfs__NsRequest req = DFS__NS_REQUEST__INIT;
	Dfs__NsReply *reply;
	*out = NULL;
	*count = 0;
	int rc = dfsc_call(c, DFS_M_REPORT, &req, &reply);
	if (rc < 0)
		return rc;
	struct dfs_datanode_info *v = calloc(reply->n_datanodes + 1, sizeof(*v));
	if (v == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	size_t n = 0;
	for (size_t i = 0; i < reply->n_datanodes; i++) {
		const Dfs__DatanodeInfo *d = reply->datanodes[i];
		if (d == NULL || d->id == NULL)
			continue;
		struct dfs_datanode_info *o = &v[n++];
		snprintf(o->uuid, sizeof(o->uuid), "%s", d->id->uuid ? d->id->uuid : "");
		snprintf(o->host, sizeof(o->host), "%s", d->id->host ? d->id->host : "");
		o->port = d->id->port;
		snprintf(o->state, sizeof(o->state), "%s", d->state ? d->state : "");
		o->capacity = d->capacity;
		o->used = d->used;
		o->remaining = d->remaining;
		o->blocks = d->blocks;
		o->last_heartbeat_ms_ago = d->last_heartbeat_ms_ago;
	}
	*out = v;
	*count = n;
out:
	dfs__ns_reply__free_unpacked(reply, NULL);
	return rc;
}

int dfsc_get_all_blocks(dfs_client *c, const struct dfs_stat *st, Dfs__NsReply **reply)
{
	Dfs__NsRequest req = DFS__NS_REQUEST__INIT;
	req.has_ino = req.has_offset = req.has_length = 1;
	req.ino = st->ino;
	req.offset = 0;
	req.length = st->size;
	return dfsc_call(c, DFS_M_GET_BLOCKS, &req, reply);
}

int dfs_block_locations(dfs_client *c, const char *path, struct dfs_block_location **out,
			size_t *count)
{
	Dfs__NsReply *reply;
	struct dfs_stat st;
	*out = NULL;
	*count = 0;
	int rc = dfs_stat(c, path, &st);
	if (rc < 0)
		return rc;
	if (S_ISDIR(st.mode))
		return -EISDIR;
	rc = dfsc_get_all_blocks(c, &st, &reply);
	if (rc < 0)
		return rc;
	struct dfs_block_location *v = calloc(reply->n_blocks + 1, sizeof(*v));
	if (v == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	size_t n = 0;
	for (size_t i = 0; i < reply->n_blocks; i++) {
		struct dfsc_lblock b;
		if (dfsc_lblock_from_pb(reply->blocks[i], &b) < 0)
			continue;
		struct dfs_block_location *o = &v[n++];
		o->index = b.index;
		o->block_id = b.block_id;
		o->genstamp = b.genstamp;
		o->length = b.length;
		o->nlocations = (unsigned)b.n_locs;
		for (int j = 0; j < b.n_locs; j++)
			snprintf(o->locations[j], sizeof(o->locations[j]), "%s:%u",
				 b.locs[j].host, b.locs[j].port);
	}
	*out = v;
	*count = n;
out:
	dfs__ns_reply__free_unpacked(reply, NULL);
	return rc;
}
