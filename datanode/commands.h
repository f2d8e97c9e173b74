/* commands.h: executing the DnCommands a namenode sends in heartbeat
 * replies. DELETE runs inline (unlinks are cheap) and is reported as an
 * incremental "deleted"; COPY runs on its own thread, at most
 * cfg.max_copies at once (more are dropped with a log line: the namenode
 * asks again); REREGISTER is handled by nn_link.c. */
#ifndef DFS_DATANODE_COMMANDS_H
#define DFS_DATANODE_COMMANDS_H
#include "datanode/datanode.h"
#include "common/proto/namenode.pb-c.h"

/* Main thread. */
int dn_commands_init(struct datanode *dn);
/* Waits (bounded) for running copies. Main thread, after the namenode
 * links stopped. */
void dn_commands_fini(struct datanode *dn);

/* Executes c (copied as needed: c may be freed on return). Called from a
 * namenode link thread. */
void dn_commands_execute(struct datanode *dn, const Dfs__DnCommand *c);

/* Copies replica (id, genstamp) to targets[0..n) through a WRITE_BLOCK
 * pipeline (create = true, same genstamp), checking every chunk against
 * its stored CRC on the way. Returns 0 once every target acked the last
 * packet. Any thread. (copy.c) */
int dn_copy_block(struct datanode *dn, uint64_t id, uint64_t genstamp,
		  Dfs__DatanodeId **targets, size_t n);

#endif
