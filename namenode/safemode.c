/* safemode.c: safe mode arithmetic and its log lines (see safemode.h). */
#include "namenode/safemode.h"

#include "common/errors.h"
#include "common/log.h"

#include <errno.h>
#include <stdlib.h>

int safemode_parse_threshold(const char *s, double *out)
{
	char *end;
	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || *end || !(v >= 0.0 && v <= 1.0))
		return -EINVAL;
	*out = v;
	return 0;
}

void safemode_start(struct safemode *sm, double threshold, int64_t extension_ms,
		    uint32_t min_datanodes, int64_t now_ms)
{
	*sm = (struct safemode){.started = true, .on = true, .threshold = threshold,
				.extension_ms = extension_ms, .min_datanodes = min_datanodes,
				.since_ms = now_ms, .reached_ms = -1};
	DFS_NOTICE("safe mode ON: no re-replication or deletion until %.4g of the blocks "
		   "are reported by at least %u datanode(s), then %lld ms more",
		   threshold, min_datanodes, (long long)extension_ms);
}

bool safemode_met(const struct safemode *sm, uint64_t total, uint64_t reported, uint32_t live)
{
	if (live < sm->min_datanodes)
		return false;
	/* reported >= threshold * total, in integers where it matters */
	return total == 0 || (double)reported >= sm->threshold * (double)total;
}

bool safemode_update(struct safemode *sm, uint64_t total, uint64_t reported, uint32_t live,
		     int64_t now_ms)
{
	sm->total = total;
	sm->reported = reported;
	sm->live = live;
	if (!sm->on || sm->manual)
		return sm->on;
	/* Once reached, the threshold stays reached: blocks that clients
	 * allocate meanwhile are unreported until written, and under a steady
	 * write load re-checking them kept startup safe mode on for a minute
	 * and more (and logged a flip every pass). */
	if (sm->reached_ms < 0 && !safemode_met(sm, total, reported, live))
		return true;
	if (sm->reached_ms < 0) {
		sm->reached_ms = now_ms;
		if (sm->extension_ms > 0)
			DFS_NOTICE("safe mode: threshold reached (%llu of %llu blocks, %u "
				   "datanodes), leaving in %lld ms", (unsigned long long)reported,
				   (unsigned long long)total, live, (long long)sm->extension_ms);
	}
	if (now_ms - sm->reached_ms < sm->extension_ms)
		return true;
	sm->on = false;
	DFS_NOTICE("safe mode OFF after %lld ms: %llu of %llu blocks reported, %u live "
		   "datanodes", (long long)(now_ms - sm->since_ms), (unsigned long long)reported,
		   (unsigned long long)total, live);
	return false;
}

void safemode_enter_manual(struct safemode *sm, int64_t now_ms)
{
	if (!sm->on)
		sm->since_ms = now_ms;
	sm->on = sm->manual = sm->started = true;
	sm->reached_ms = -1;
	DFS_NOTICE("safe mode ON (manual): namespace changes refused, no re-replication");
}

void safemode_leave(struct safemode *sm, int64_t now_ms)
{
	if (sm->on)
		DFS_NOTICE("safe mode OFF (%s) after %lld ms", sm->manual ? "manual" : "forced",
			   (long long)(now_ms - sm->since_ms));
	sm->on = sm->manual = false;
	sm->started = true;
	sm->reached_ms = -1;
}

void safemode_status(const struct safemode *sm, int64_t now_ms, Dfs__SafeModeStatus *st)
{
	st->on = sm->on;
	st->manual = sm->manual;
	st->blocks_total = sm->total;
	st->blocks_reported = sm->reported;
	st->live_datanodes = sm->live;
	st->threshold = sm->threshold;
	st->min_datanodes = sm->min_datanodes;
	st->extension_left_ms = -1;
	if (sm->on && !sm->manual && sm->reached_ms >= 0) {
		int64_t left = sm->extension_ms - (now_ms - sm->reached_ms);
		st->extension_left_ms = left > 0 ? left : 0;
	}
}
