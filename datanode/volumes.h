/* volumes.h: data directories that fail one at a time. A health thread
 * probes every data dir in service each disk_check_ms (and at once when a
 * reader or writer saw an I/O error, dn_volumes_check_soon): it writes,
 * fsyncs and removes a probe file under current/ and rbw/. A dir that
 * fails is taken out of service (dn_store_fail_dir: no new replicas, its
 * replicas leave the map), the lost replicas are reported deleted to every
 * namenode (which re-replicates them), heartbeats name the dir, and a WARN
 * line says which dir and why. When fewer than min_data_dirs remain, the
 * datanode stops with an error.
 *
 * Threads: one health thread; dn_volumes_check_soon and
 * dn_volumes_failed_dirs from any thread (they take only v->lock, a leaf). */
#ifndef DFS_DATANODE_VOLUMES_H
#define DFS_DATANODE_VOLUMES_H
#include <stddef.h>

#include "datanode/datanode.h"

/* Main thread: starts / stops (joins) the health thread. */
int dn_volumes_start(struct datanode *dn);
void dn_volumes_stop(struct datanode *dn);

/* Asks for a health check of every dir now. Any thread; no-op if the
 * thread is not running. */
void dn_volumes_check_soon(struct datanode *dn);

/* Takes dir out of service (see above), with `why` for the log. Any
 * thread; a second call for the same dir does nothing. */
void dn_volumes_fail(struct datanode *dn, int dir, int why);

/* Fills names[0..max) with the paths of failed dirs (pointers into the
 * store, valid while it is open); returns how many. Any thread. */
size_t dn_volumes_failed_dirs(struct datanode *dn, const char **names, size_t max);

#endif
