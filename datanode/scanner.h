/* scanner.h: the block scanner. A background thread re-reads every
 * finalized replica, at most scan_bytes_per_s, and checks each chunk
 * against its stored CRC32C; one full pass, then scan_period_ms of rest.
 * A replica that fails (CRC mismatch, or files shorter than the replica)
 * is marked corrupt in the store (READ_BLOCK then answers -DFS_ECHECKSUM
 * at once, so readers fail over fast; COPY refuses it), reported to every
 * namenode as BAD_REPLICA (reporter = this datanode, reason "scanner"),
 * and kept until a namenode says DELETE. An I/O error reading a replica
 * asks the volume checker to probe the disks. scan_bytes_per_s = 0
 * disables the scanner.
 *
 * Threads: one scanner thread, started and stopped by the main thread. */
#ifndef DFS_DATANODE_SCANNER_H
#define DFS_DATANODE_SCANNER_H
#include <stdint.h>

#include "datanode/datanode.h"

int dn_scanner_start(struct datanode *dn);
void dn_scanner_stop(struct datanode *dn);

struct dn_scanner;

/* Checks one replica (id, genstamp) against its checksums. sc (may be
 * NULL: no limit) throttles to its rate and may interrupt. Returns 0
 * (good), -DFS_ECHECKSUM (data does not match, or files shorter than the
 * replica), -ECANCELED (stopping), or another negative errno (missing,
 * stale, already marked corrupt, I/O error opening it). Any thread. */
int dn_scan_replica(struct dn_store *s, uint64_t id, uint64_t genstamp, struct dn_scanner *sc);

/* Marks (id, genstamp) corrupt unless a writer holds it or its genstamp
 * moved on (then the mismatch was a concurrent rewrite), and reports it
 * to the namenodes once. Returns 1 if marked now. Any thread. */
int dn_scanner_condemn(struct datanode *dn, uint64_t id, uint64_t genstamp, uint64_t length,
		       const char *reason);

#endif
