/* ns_decom.h: the decommission list in the namespace state, so that it
 * survives a restart and follows the Raft log to every namenode.
 *
 * Key schema (added to ns.h's): x/<datanode uuid> -> "" : that datanode is
 * being (or has been) decommissioned. Changed only by DFS_M_DECOMMISSION
 * through ns_apply (deterministic, superuser only). */
#ifndef DFS_NAMENODE_NS_DECOM_H
#define DFS_NAMENODE_NS_DECOM_H
#include "namenode/ns.h"

#define NS_DECOM_MAX 4096 /* uuids in the list */
#define NS_DECOM_UUID_MAX 64

/* DECOMMISSION: req->target = uuid; req->flags & 1: remove (recommission),
 * else add. -EPERM unless the caller is the superuser, -EINVAL for a bad
 * uuid, -ENOSPC past NS_DECOM_MAX. Adding twice / removing a missing
 * entry succeed (idempotent). ns_op_fn signature (ns_txn.h). */
struct ns_txn;
struct ns_cred;
int ns_op_decommission(struct ns_txn *t, const Dfs__NsRequest *req, const struct ns_cred *cr,
		       Dfs__NsReply *r);

/* Reads the list: *out (free()) gets *n uuids. 0 or -ENOMEM / -EIO. */
int ns_decom_list(struct ns *ns, char (**out)[NS_DECOM_UUID_MAX], size_t *n);

#endif
