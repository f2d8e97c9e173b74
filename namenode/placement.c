/* placement.c: where new replicas go: distinct live in-service datanodes
 * (not decommissioning, with room for a block when they report space), most
 * remaining space first (minus what was scheduled on them since their last
 * heartbeat, which spreads a burst of new blocks), honouring the client's
 * exclude list. When every datanode that could take the block is out of
 * room the answer is -ENOSPC, what the writer's program should see. */
#include "namenode/dnmgr.h"

#include "common/errors.h"

#include <errno.h>
#include <string.h>

static bool excluded(const struct datanode *d, int idx, char *const *exclude, size_t n_ex,
		     const int *skip, size_t n_skip)
{
	for (size_t i = 0; i < n_ex; i++)
		if (exclude[i] && strcmp(exclude[i], d->uuid) == 0)
			return true;
	for (size_t i = 0; i < n_skip; i++)
		if (skip[i] == idx)
			return true;
	return false;
}

static uint64_t score(const struct datanode *d)
{
	return d->remaining > d->pending_bytes ? d->remaining - d->pending_bytes : 0;
}

int placement_choose(struct dnmgr *m, unsigned want, char *const *exclude, size_t n_exclude,
		     const int *skip, size_t n_skip, uint64_t block_size, int *out)
{
	unsigned got = 0;
	bool full = false; /* a datanode left out only for lack of room */
	while (got < want) {
		int best = -1;
		for (size_t i = 0; i < m->n_dns; i++) {
			struct datanode *d = &m->dns[i];
			if (!d->live || d->admin != DN_ADMIN_NORMAL ||
			    excluded(d, (int)i, exclude, n_exclude, skip, n_skip))
				continue;
			if (d->capacity > 0 && d->remaining < block_size) {
				full = true;
				continue;
			}
			bool taken = false;
			for (unsigned j = 0; j < got; j++)
				taken |= out[j] == (int)i;
			if (taken)
				continue;
			if (best < 0 || score(d) > score(&m->dns[best]))
				best = (int)i;
		}
		if (best < 0)
			break;
		out[got++] = best;
		m->dns[best].pending_bytes += block_size;
	}
	if (got == 0)
		return full ? -ENOSPC : -DFS_ENODATANODES;
	return (int)got;
}
