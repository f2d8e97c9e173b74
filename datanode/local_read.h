/* local_read.h: short-circuit reads. A thread serves LOCAL_OPEN on the
 * datanode's local socket (common/local_sock.h): a client on this machine
 * names a replica (id and genstamp) and gets its data and meta files as
 * open descriptors, then reads and checks them without a data connection.
 * Only FINALIZED replicas with exactly that genstamp, not marked corrupt,
 * are handed out. Off with local_reads = 0. */
#ifndef DFS_DATANODE_LOCAL_READ_H
#define DFS_DATANODE_LOCAL_READ_H
#include "datanode/datanode.h"

/* After dn_xfer_start (it needs dn->host/port). Main thread. A socket that
 * cannot be made is logged and leaves local reads off: never fatal. */
int dn_local_read_start(struct datanode *dn);
void dn_local_read_stop(struct datanode *dn);

#endif
