/* safemode.h: the namenode's safe mode (HDFS SafeModeInfo).
 *
 * Startup safe mode: a namenode that just started (or just became the
 * leader) knows the namespace but not yet where the replicas are; until
 * the datanodes have reported, every block looks under-replicated and
 * every replica an orphan. So while safe mode is on, the replication
 * monitor orders no COPY and no DELETE (freed blocks of files deleted by
 * clients are still deleted: that is what the client asked). Namespace
 * operations are served at once: the cluster is usable during the reports.
 *
 * It ends when, for safemode_extension_ms in a row, both hold:
 *   - at least safemode_min_datanodes datanodes are live, and
 *   - reported >= threshold * total, where total = blocks in the namespace
 *     and reported = those with at least one good replica reported
 *     (counted over one full cycle of the replication monitor).
 *
 * Manual safe mode (`dfs admin safemode enter`): also refuses namespace
 * mutations with -DFS_ESAFEMODE (as HDFS does), and only `leave` ends it.
 *
 * Owned by the event-loop thread; pure arithmetic plus logging. */
#ifndef DFS_NAMENODE_SAFEMODE_H
#define DFS_NAMENODE_SAFEMODE_H
#include "common/proto/namenode.pb-c.h"

#include <stdbool.h>
#include <stdint.h>

#define SAFEMODE_THRESHOLD_DEFAULT "0.999"

struct safemode {
	bool started;         /* safemode_start() ran */
	bool on;
	bool manual;
	double threshold;     /* 0..1 */
	int64_t extension_ms;
	uint32_t min_datanodes;
	int64_t since_ms;     /* entered at */
	int64_t reached_ms;   /* conditions met since; -1: not met */
	uint64_t total, reported; /* last evaluation */
	uint32_t live;
	int64_t last_run_ms;  /* last replication monitor pass (replmon.c) */
};

/* Parses a threshold ("0.999"); 0 or -EINVAL if not a number in [0, 1]. */
int safemode_parse_threshold(const char *s, double *out);
/* Enters startup safe mode (at start, or on becoming the leader). */
void safemode_start(struct safemode *sm, double threshold, int64_t extension_ms,
		    uint32_t min_datanodes, int64_t now_ms);
/* True if the counts meet the threshold and the datanode minimum. */
bool safemode_met(const struct safemode *sm, uint64_t total, uint64_t reported,
		  uint32_t live);
/* New counts: may start the extension or leave (logged). Manual safe mode
 * is never left here. Returns true while safe mode is on. */
bool safemode_update(struct safemode *sm, uint64_t total, uint64_t reported, uint32_t live,
		     int64_t now_ms);
void safemode_enter_manual(struct safemode *sm, int64_t now_ms);
void safemode_leave(struct safemode *sm, int64_t now_ms);
/* Fills a status (init'ed by the caller). */
void safemode_status(const struct safemode *sm, int64_t now_ms, Dfs__SafeModeStatus *st);

#endif
