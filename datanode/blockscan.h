/* blockscan.h: building the replica map from one data directory at start,
 * including the recovery of replicas left in rbw/ by a crash. Called from
 * dn_store_open() only, before any other thread uses the store. */
#ifndef DFS_DATANODE_BLOCKSCAN_H
#define DFS_DATANODE_BLOCKSCAN_H
#include "datanode/blockstore.h"

/* Adds every replica of s->dirs[dir] to the map. Damaged replicas are
 * logged and skipped. Returns 0 or a negative errno (I/O on the dir). */
int dn_scan_dir(struct dn_store *s, int dir);

/* Length of the longest prefix of the data whose chunks match the stored
 * checksums (at most `length`). */
uint64_t dn_scan_verified_length(int data_fd, int meta_fd, uint64_t length);

#endif
