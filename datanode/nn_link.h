/* nn_link.h: the datanode's side of the namenode protocol. One thread per
 * namenode in cfg.namenodes: connect, DN_REGISTER (learning and checking
 * the cluster id), full block report at registration and every
 * block_report_ms, DN_HEARTBEAT every heartbeat_ms (executing the
 * commands in the replies through commands.c), incremental reports of
 * received / deleted replicas as soon as they happen, BAD_REPLICA reports
 * of corrupt replicas (scanner, copy), failed data dirs in heartbeats, and reconnection
 * with exponential backoff (logged once per outage). */
#ifndef DFS_DATANODE_NN_LINK_H
#define DFS_DATANODE_NN_LINK_H
#include "datanode/datanode.h"

/* Pending incremental report entries per namenode; past this the queue is
 * dropped and a full report sent instead. */
#define DN_NN_PENDING_MAX 65536
#define DN_NN_BACKOFF_MIN_MS 100
#define DN_NN_BACKOFF_MAX_MS 5000
#define DN_NN_RPC_TIMEOUT_MS 10000
#define DN_NN_MAX 16

/* Parses cfg.namenodes into dn->nn (no threads yet). Main thread. */
int dn_nn_init(struct datanode *dn);
/* Starts one thread per namenode (needs dn->host/port). Main thread. */
int dn_nn_start(struct datanode *dn);
/* Stops and joins the threads. Main thread. */
void dn_nn_stop(struct datanode *dn);
/* Frees dn->nn, once no thread can report any more. Main thread. */
void dn_nn_free(struct datanode *dn);

/* Queue an incremental report to every namenode. Any thread; takes only
 * the link locks (leaves). */
void dn_nn_report_received(struct datanode *dn, const struct dn_replica_info *r);
void dn_nn_report_deleted(struct datanode *dn, const struct dn_replica_info *r);
/* Queue a BAD_REPLICA report (r is corrupt here) to every namenode; sent
 * once (a namenode that misses it learns it from the next full report's
 * corrupt list). reason: a static string. Any thread. */
void dn_nn_report_bad(struct datanode *dn, const struct dn_replica_info *r, const char *reason);

#endif
