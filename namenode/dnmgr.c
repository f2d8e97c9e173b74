/* dnmgr.c: the datanode table: registration, liveness (dead after
 * dead_ms of silence, logged), per-datanode command queues and the admin
 * report. See dnmgr.h. */
#include "namenode/dnmgr.h"

#include "common/errors.h"
#include "common/log.h"

#include <stdlib.h>
#include <string.h>

#define BM_BUCKETS_INIT 4096

int dnmgr_init(struct dnmgr *m, int64_t dead_ms)
{
	memset(m, 0, sizeof(*m));
	m->dead_ms = dead_ms;
	m->dns = calloc(DN_MAX, sizeof(*m->dns));
	m->buckets = calloc(BM_BUCKETS_INIT, sizeof(*m->buckets));
	m->n_buckets = BM_BUCKETS_INIT;
	m->touched_gen = 1; /* a new block (0) is not listed */
	m->rescan = true;   /* nothing examined yet */
	if (!m->dns || !m->buckets) {
		dnmgr_fini(m);
		return -ENOMEM;
	}
	return 0;
}

void dnmgr_fini(struct dnmgr *m)
{
	for (size_t i = 0; m->dns && i < m->n_dns; i++) {
		for (size_t j = 0; j < m->dns[i].n_cmds; j++)
			dfs__dn_command__free_unpacked(m->dns[i].cmds[j], NULL);
		free(m->dns[i].cmds);
	}
	for (int l = 0; l < BM_REPLQ_LEVELS; l++)
		free(m->replq[l]);
	free(m->decom);
	free(m->touched);
	for (size_t i = 0; m->buckets && i < m->n_buckets; i++)
		for (struct bm_block *b = m->buckets[i], *n; b; b = n) {
			n = b->next;
			free(b);
		}
	free(m->buckets);
	free(m->dns);
	memset(m, 0, sizeof(*m));
}

int dnmgr_find(const struct dnmgr *m, const char *uuid)
{
	for (size_t i = 0; i < m->n_dns; i++)
		if (strcmp(m->dns[i].uuid, uuid) == 0)
			return (int)i;
	return -1;
}

int dnmgr_register(struct dnmgr *m, const Dfs__DatanodeId *id, uint64_t cap, uint64_t used,
		   uint64_t rem, int64_t now_ms)
{
	if (!id || !id->uuid || !id->host || !id->uuid[0] || strlen(id->uuid) >= 64 ||
	    strlen(id->host) >= 256 || id->port == 0 || id->port > 65535)
		return -EINVAL;
	int i = dnmgr_find(m, id->uuid);
	if (i < 0) {
		if (m->n_dns >= DN_MAX)
			return -ENOSPC;
		i = (int)m->n_dns++;
		snprintf(m->dns[i].uuid, sizeof(m->dns[i].uuid), "%s", id->uuid);
		DFS_NOTICE("datanode %s (%s:%u) registered", id->uuid, id->host, id->port);
		m->rescan = true; /* room for blocks short of replicas */
	} else if (!m->dns[i].live) {
		DFS_NOTICE("datanode %s (%s:%u) is live again", id->uuid, id->host, id->port);
		m->rescan = true;
	} else {
		DFS_INFO("datanode %s (%s:%u) re-registered", id->uuid, id->host, id->port);
	}
	struct datanode *d = &m->dns[i];
	snprintf(d->host, sizeof(d->host), "%s", id->host);
	d->port = id->port;
	d->capacity = cap;
	d->used = used;
	d->remaining = rem;
	d->last_seen_ms = now_ms;
	d->live = true;
	d->full_reported = false;
	return i;
}

void dnmgr_check_dead(struct dnmgr *m, int64_t now_ms)
{
	for (size_t i = 0; i < m->n_dns; i++) {
		struct datanode *d = &m->dns[i];
		if (!d->live || now_ms - d->last_seen_ms <= m->dead_ms)
			continue;
		d->live = false;
		DFS_NOTICE("datanode %s (%s:%u) is dead: no heartbeat for %lld ms", d->uuid,
			   d->host, d->port, (long long)(now_ms - d->last_seen_ms));
		bm_drop_datanode(m, (int)i); /* touches each block it held */
		m->rescan = true;
		d->copies = 0;
		d->full_reported = false;
		for (size_t j = 0; j < d->n_cmds; j++)
			dfs__dn_command__free_unpacked(d->cmds[j], NULL);
		d->n_cmds = 0;
	}
}

int dnmgr_queue(struct dnmgr *m, int dn, Dfs__DnCommand *cmd)
{
	struct datanode *d = &m->dns[dn];
	if (d->n_cmds >= DN_CMDQ_MAX) {
		dfs__dn_command__free_unpacked(cmd, NULL);
		return -ENOSPC;
	}
	if (d->n_cmds == d->cap_cmds) {
		size_t cap = d->cap_cmds ? 2 * d->cap_cmds : 16;
		Dfs__DnCommand **n = realloc(d->cmds, cap * sizeof(*n));
		if (!n) {
			dfs__dn_command__free_unpacked(cmd, NULL);
			return -ENOMEM;
		}
		d->cmds = n;
		d->cap_cmds = cap;
	}
	d->cmds[d->n_cmds++] = cmd;
	return 0;
}

int dnmgr_take_commands(struct dnmgr *m, int dn, Dfs__DnReply *reply)
{
	struct datanode *d = &m->dns[dn];
	size_t n = d->n_cmds < DN_CMDS_PER_HEARTBEAT ? d->n_cmds : DN_CMDS_PER_HEARTBEAT;
	if (n == 0)
		return 0;
	reply->commands = malloc(n * sizeof(*reply->commands));
	if (!reply->commands)
		return -ENOMEM;
	memcpy(reply->commands, d->cmds, n * sizeof(*d->cmds));
	reply->n_commands = n;
	memmove(d->cmds, d->cmds + n, (d->n_cmds - n) * sizeof(*d->cmds));
	d->n_cmds -= n;
	return 0;
}

Dfs__DatanodeId *dnmgr_id(const struct dnmgr *m, int dn)
{
	Dfs__DatanodeId *id = malloc(sizeof(*id));
	if (!id)
		return NULL;
	dfs__datanode_id__init(id);
	id->uuid = strdup(m->dns[dn].uuid);
	id->host = strdup(m->dns[dn].host);
	id->port = m->dns[dn].port;
	if (!id->uuid || !id->host) {
		dfs__datanode_id__free_unpacked(id, NULL);
		return NULL;
	}
	return id;
}

const char *dnmgr_state_name(const struct datanode *d)
{
	if (d->admin == DN_ADMIN_DECOMMISSIONED)
		return "decommissioned";
	if (!d->live)
		return "dead";
	return d->admin == DN_ADMIN_DECOMMISSIONING ? "decommissioning" : "live";
}

static Dfs__DatanodeInfo *dn_info(const struct dnmgr *m, int i, int64_t now_ms)
{
	const struct datanode *d = &m->dns[i];
	Dfs__DatanodeInfo *di = malloc(sizeof(*di));
	if (!di)
		return NULL;
	dfs__datanode_info__init(di);
	di->id = dnmgr_id(m, i);
	di->state = strdup(dnmgr_state_name(d));
	if (!di->id || !di->state) {
		dfs__datanode_info__free_unpacked(di, NULL);
		return NULL;
	}
	di->capacity = d->capacity;
	di->used = d->used;
	di->remaining = d->remaining;
	di->blocks = d->blocks;
	di->last_heartbeat_ms_ago = now_ms - d->last_seen_ms;
	return di;
}

int dnmgr_report(const struct dnmgr *m, int64_t now_ms, Dfs__NsReply *reply)
{
	if (m->n_dns == 0)
		return 0;
	reply->datanodes = calloc(m->n_dns, sizeof(*reply->datanodes));
	if (!reply->datanodes)
		return -ENOMEM;
	for (size_t i = 0; i < m->n_dns; i++) {
		Dfs__DatanodeInfo *di = dn_info(m, (int)i, now_ms);
		if (!di)
			return -ENOMEM;
		reply->datanodes[reply->n_datanodes++] = di;
	}
	return 0;
}

void dnmgr_statfs(const struct dnmgr *m, Dfs__StatFs *sf)
{
	for (size_t i = 0; i < m->n_dns; i++) {
		const struct datanode *d = &m->dns[i];
		if (!d->live) {
			sf->dead_datanodes++;
			continue;
		}
		sf->live_datanodes++;
		sf->capacity += d->capacity;
		sf->used += d->used;
		sf->remaining += d->remaining;
	}
}
