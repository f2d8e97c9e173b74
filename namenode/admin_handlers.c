/* admin_handlers.c: the namenode's side of the durability and admin
 * calls: BAD_REPLICA reports (readers, block scanners), SAFEMODE
 * get/enter/leave and DECOMMISSION / recommission. See heal.h. */
#include "namenode/heal.h"
#include "namenode/ns_decom.h"

#include "common/errors.h"
#include "common/frame.h"
#include "common/log.h"

#include <stdlib.h>
#include <string.h>

#define SAFEMODE_GET 0
#define SAFEMODE_ENTER 1
#define SAFEMODE_LEAVE 2
#define DECOM_UNDO 1u

int nn_handle_bad_replica(struct nn *nn, const uint8_t *p, size_t len)
{
	Dfs__BadReplicaReport *rep = dfs__bad_replica_report__unpack(NULL, len, p);
	if (!rep)
		return -DFS_EPROTOCOL;
	size_t n = rep->n_blocks < rep->n_datanode_uuids ? rep->n_blocks : rep->n_datanode_uuids;
	for (size_t i = 0; i < n; i++) {
		const Dfs__BlockRef *b = rep->blocks[i];
		int dn = rep->datanode_uuids[i] ? dnmgr_find(&nn->dm, rep->datanode_uuids[i]) : -1;
		if (!b || dn < 0)
			continue;
		if (bm_mark_corrupt(&nn->dm, b->block_id, b->genstamp, dn) == 1) {
			DFS_NOTICE("block %llu: bad replica on %s reported by %s (%s)",
				   (unsigned long long)b->block_id, nn->dm.dns[dn].uuid,
				   rep->reporter ? rep->reporter : "?",
				   rep->reason ? rep->reason : "?");
			struct bm_block *bb = bm_find(&nn->dm, b->block_id);
			if (bb && bb->copy_src < 0)
				bb->busy_until_ms = 0; /* re-replicate at the next pass */
		}
	}
	dfs__bad_replica_report__free_unpacked(rep, NULL);
	return 0;
}

bool nn_safemode_refuses(const struct nn *nn, uint32_t method)
{
	return nn->sm.on && nn->sm.manual && ns_is_mutation(method) && method != NS_M_GC &&
	       method != DFS_M_DECOMMISSION;
}

static uint32_t live_datanodes(const struct dnmgr *m)
{
	uint32_t n = 0;
	for (size_t i = 0; i < m->n_dns; i++)
		n += m->dns[i].live;
	return n;
}

static int safemode_call(struct nn *nn, const Dfs__NsRequest *req, Dfs__NsReply *r)
{
	int64_t now = nn_now_ms();
	uint32_t op = req->has_flags ? req->flags : SAFEMODE_GET;
	if (op != SAFEMODE_GET && req->has_caller_uid && req->caller_uid != 0)
		return -EPERM;
	if (op == SAFEMODE_ENTER)
		safemode_enter_manual(&nn->sm, now);
	else if (op == SAFEMODE_LEAVE)
		safemode_leave(&nn->sm, now);
	else if (op != SAFEMODE_GET)
		return -EINVAL;
	r->safemode = malloc(sizeof(*r->safemode));
	if (!r->safemode)
		return -ENOMEM;
	dfs__safe_mode_status__init(r->safemode);
	nn->sm.live = live_datanodes(&nn->dm);
	safemode_status(&nn->sm, now, r->safemode);
	return 0;
}

/* Resolves host:port to the uuid (the list holds uuids). */
static int resolve_target(struct nn *nn, Dfs__NsRequest *req, Dfs__NsReply *r)
{
	int dn = decom_resolve(&nn->dm, req->target);
	if (dn < 0) {
		r->message = strdup("no such datanode (give its uuid or host:port)");
		return -ENOENT;
	}
	if (strcmp(req->target, nn->dm.dns[dn].uuid) == 0)
		return dn;
	char *uuid = strdup(nn->dm.dns[dn].uuid);
	if (!uuid)
		return -ENOMEM;
	free(req->target);
	req->target = uuid;
	return dn;
}

int nn_admin_precheck(struct nn *nn, uint32_t method, Dfs__NsRequest *req, Dfs__NsReply *r)
{
	if (nn_safemode_refuses(nn, method))
		return -DFS_ESAFEMODE;
	if (method == DFS_M_DECOMMISSION) {
		int dn = resolve_target(nn, req, r);
		return dn < 0 ? dn : 0;
	}
	return 0;
}

static int decommission_call(struct nn *nn, Dfs__NsRequest *req, Dfs__NsReply *r)
{
	int dn = resolve_target(nn, req, r);
	if (dn < 0)
		return dn;
	int rc = nn_apply(nn, DFS_M_DECOMMISSION, req, r);
	if (rc == 0) {
		decom_sync(nn);
		const struct datanode *d = &nn->dm.dns[dn];
		DFS_NOTICE("datanode %s: %s requested", d->uuid,
			   req->flags & DECOM_UNDO ? "recommission" : "decommission");
	}
	return rc;
}

int nn_handle_admin(struct nn *nn, uint32_t method, Dfs__NsRequest *req, Dfs__NsReply *r)
{
	int rc = method == DFS_M_SAFEMODE ? safemode_call(nn, req, r)
					  : decommission_call(nn, req, r);
	return r->status = rc;
}
