/* heal.h: how the namenode heals the cluster: the replication monitor's
 * queue (replmon.c), corrupt replica reports, safe mode and decommission
 * admin calls (admin_handlers.c) and the decommission state machine
 * (decommission.c). Everything runs on the event-loop thread (see
 * rpc_server.h) and changes only soft state, except the decommission
 * list, which is namespace state (ns_decom.h) applied through nn_apply. */
#ifndef DFS_NAMENODE_HEAL_H
#define DFS_NAMENODE_HEAL_H
#include "namenode/nn.h"

/* ---- decommission.c ---- */
/* Brings every datanode's admin state in line with the namespace's
 * decommission list (reloaded when the applied index moved). Logged. */
void decom_sync(struct nn *nn);
/* End of a full monitor cycle: a live DECOMMISSIONING datanode whose
 * blocks all have their replicas elsewhere becomes DECOMMISSIONED. */
void decom_cycle_end(struct nn *nn);
/* Resolves "uuid" or "host:port" to a datanode index, or -1. */
int decom_resolve(const struct dnmgr *m, const char *spec);

/* ---- admin_handlers.c ---- */
/* SAFEMODE (req->flags: 0 get, 1 enter, 2 leave) and DECOMMISSION
 * (req->target, req->flags & 1: recommission). Fills r; returns status. */
int nn_handle_admin(struct nn *nn, uint32_t method, Dfs__NsRequest *req, Dfs__NsReply *r);
/* A packed BadReplicaReport: marks the replicas corrupt. 0 or
 * -DFS_EPROTOCOL if it does not decode. */
int nn_handle_bad_replica(struct nn *nn, const uint8_t *p, size_t len);
/* True if manual safe mode refuses this method (a namespace mutation). */
bool nn_safemode_refuses(const struct nn *nn, uint32_t method);
/* Before a request is applied or proposed: -DFS_ESAFEMODE for a mutation
 * in manual safe mode; DECOMMISSION: req->target (uuid or host:port) is
 * replaced by the datanode's uuid, -ENOENT (r->message set) if unknown.
 * 0 otherwise. */
int nn_admin_precheck(struct nn *nn, uint32_t method, Dfs__NsRequest *req, Dfs__NsReply *r);

#endif
