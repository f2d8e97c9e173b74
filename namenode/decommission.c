/* decommission.c: the datanode admin state machine (see dnmgr.h):
 *
 *   NORMAL --decommission--> DECOMMISSIONING --all blocks safe--> DECOMMISSIONED
 *      ^                            |                                  |
 *      +-------recommission---------+----------------------------------+
 *
 * The list of datanodes to decommission lives in the namespace (x/<uuid>,
 * ns_decom.c), so it survives restarts and failovers; this file maps it
 * onto the soft datanode table. "All blocks safe" is judged by the
 * replication monitor over one full cycle of the block map: each block
 * with a replica on the datanode must have its full count of good replicas
 * on in-service datanodes (decom_count); the datanode must be live and
 * have sent a full block report since it registered, so that the namenode
 * knows every block it holds. */
#include "namenode/heal.h"
#include "namenode/ns_decom.h"

#include "common/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int decom_resolve(const struct dnmgr *m, const char *spec)
{
	if (!spec || !*spec)
		return -1;
	int i = dnmgr_find(m, spec);
	if (i >= 0)
		return i;
	for (size_t k = 0; k < m->n_dns; k++) {
		char hp[300];
		snprintf(hp, sizeof(hp), "%s:%u", m->dns[k].host, m->dns[k].port);
		if (strcmp(hp, spec) == 0)
			return (int)k;
	}
	return -1;
}

/* The list holds uuids (host:port is resolved when the datanode is known,
 * kept as given otherwise). */
static bool listed(const struct dnmgr *m, const struct datanode *d)
{
	char hp[300];
	snprintf(hp, sizeof(hp), "%s:%u", d->host, d->port);
	for (size_t i = 0; i < m->n_decom; i++)
		if (strcmp(m->decom[i], d->uuid) == 0 || strcmp(m->decom[i], hp) == 0)
			return true;
	return false;
}

void decom_sync(struct nn *nn)
{
	struct dnmgr *m = &nn->dm;
	if (m->decom_loaded_at != nn->ns->c.applied + 1) {
		char (*l)[NS_DECOM_UUID_MAX] = NULL;
		size_t n = 0;
		if (ns_decom_list(nn->ns, &l, &n) < 0)
			return; /* keep the old list; logged by the next failure */
		free(m->decom);
		m->decom = l;
		m->n_decom = n;
		m->decom_loaded_at = nn->ns->c.applied + 1;
	}
	for (size_t i = 0; i < m->n_dns; i++) {
		struct datanode *d = &m->dns[i];
		bool want = listed(m, d);
		if (want && d->admin == DN_ADMIN_NORMAL) {
			d->admin = DN_ADMIN_DECOMMISSIONING;
			m->rescan = true;
			m->cycle_buckets = 0; /* a whole cycle must count its blocks */
			d->decom_left = d->blocks;
			d->decom_count = 0;
			DFS_NOTICE("datanode %s (%s:%u) is decommissioning: %llu replicas to move",
				   d->uuid, d->host, d->port, (unsigned long long)d->blocks);
		} else if (!want && d->admin != DN_ADMIN_NORMAL) {
			d->admin = DN_ADMIN_NORMAL;
			m->rescan = true; /* its replicas count again: some are extra */
			DFS_NOTICE("datanode %s (%s:%u) is back in service (recommissioned)",
				   d->uuid, d->host, d->port);
		}
	}
}

void decom_cycle_end(struct nn *nn)
{
	struct dnmgr *m = &nn->dm;
	for (size_t i = 0; i < m->n_dns; i++) {
		struct datanode *d = &m->dns[i];
		if (d->admin != DN_ADMIN_DECOMMISSIONING)
			continue;
		d->decom_left = d->decom_count;
		if (d->live && d->full_reported && d->decom_count == 0) {
			d->admin = DN_ADMIN_DECOMMISSIONED;
			DFS_NOTICE("datanode %s (%s:%u) is decommissioned: every block it holds "
				   "has its replicas elsewhere; it may be switched off",
				   d->uuid, d->host, d->port);
		}
	}
}
