/* commands.c: DELETE / COPY commands from the namenode (see commands.h). */
#include "datanode/commands.h"
#include "datanode/nn_link.h"
#include "common/errors.h"
#include "common/clock.h"
#include "common/log.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define COPY_STOP_WAIT_MS 10000

struct dn_commands {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned running;
};

struct copy_job {
	struct datanode *dn;
	uint64_t id, genstamp;
	size_t n;
	Dfs__DatanodeId *targets;  /* n, strings owned */
	Dfs__DatanodeId **ptrs;
};

int dn_commands_init(struct datanode *dn)
{
	struct dn_commands *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	dn->cmds = c;
	return 0;
}

void dn_commands_fini(struct datanode *dn)
{
	struct dn_commands *c = dn->cmds;
	if (c == NULL)
		return;
	struct timespec deadline;
	dfs_cond_deadline(&deadline, COPY_STOP_WAIT_MS);
	pthread_mutex_lock(&c->lock);
	while (c->running > 0)
		if (pthread_cond_timedwait(&c->cond, &c->lock, &deadline) == ETIMEDOUT)
			break;
	unsigned left = c->running;
	pthread_mutex_unlock(&c->lock);
	if (left > 0) {
		DFS_WARN("%u block copies still running at exit", left);
		return; /* leak c: copy threads still use it */
	}
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cond);
	free(c);
	dn->cmds = NULL;
}

static void do_delete(struct datanode *dn, const Dfs__DnCommand *c)
{
	for (size_t i = 0; i < c->n_blocks; i++) {
		const Dfs__BlockRef *b = c->blocks[i];
		struct dn_replica_info info;
		int rc = dn_store_delete(&dn->store, b->block_id, b->genstamp, &info);
		if (rc == 0) {
			DFS_DEBUG("deleted blk_%" PRIu64 " genstamp %" PRIu64, info.id, info.genstamp);
			dn_nn_report_deleted(dn, &info);
		} else if (rc == -ENOENT) {
			/* already gone: say so, the namenode may have missed it */
			info = (struct dn_replica_info){ .id = b->block_id, .genstamp = b->genstamp };
			dn_nn_report_deleted(dn, &info);
		} else {
			dfs_log_err(DFS_LOG_WARN, rc, "delete blk_%" PRIu64 " genstamp %" PRIu64,
				    b->block_id, b->genstamp);
		}
	}
}

static void free_job(struct copy_job *j)
{
	for (size_t i = 0; i < j->n; i++) {
		free(j->targets[i].uuid);
		free(j->targets[i].host);
	}
	free(j->targets);
	free(j->ptrs);
	free(j);
}

static void *copy_main(void *arg)
{
	struct copy_job *j = arg;
	struct datanode *dn = j->dn;
	int rc = dn_copy_block(dn, j->id, j->genstamp, j->ptrs, j->n);
	if (rc < 0)
		dfs_log_err(DFS_LOG_WARN, rc, "copy of blk_%" PRIu64 " to %s:%u failed", j->id,
			    j->targets[0].host, j->targets[0].port);
	else
		DFS_DEBUG("copied blk_%" PRIu64 " to %s:%u (+%zu)", j->id, j->targets[0].host,
			  j->targets[0].port, j->n - 1);
	free_job(j);
	struct dn_commands *c = dn->cmds;
	pthread_mutex_lock(&c->lock);
	c->running--;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

static struct copy_job *make_job(struct datanode *dn, const Dfs__DnCommand *c)
{
	struct copy_job *j = calloc(1, sizeof(*j));
	if (j == NULL)
		return NULL;
	j->dn = dn;
	j->id = c->blocks[0]->block_id;
	j->genstamp = c->blocks[0]->genstamp;
	j->targets = calloc(c->n_targets, sizeof(*j->targets));
	j->ptrs = calloc(c->n_targets, sizeof(*j->ptrs));
	if (j->targets == NULL || j->ptrs == NULL) {
		free_job(j);
		return NULL;
	}
	for (size_t i = 0; i < c->n_targets; i++) {
		Dfs__DatanodeId *t = &j->targets[i];
		dfs__datanode_id__init(t);
		t->uuid = strdup(c->targets[i]->uuid);
		t->host = strdup(c->targets[i]->host);
		t->port = c->targets[i]->port;
		j->ptrs[i] = t;
		j->n++;
		if (t->uuid == NULL || t->host == NULL) {
			free_job(j);
			return NULL;
		}
	}
	return j;
}

static void do_copy(struct datanode *dn, const Dfs__DnCommand *c)
{
	struct dn_commands *cm = dn->cmds;
	if (c->n_blocks == 0 || c->n_targets == 0)
		return;
	pthread_mutex_lock(&cm->lock);
	int full = cm->running >= (unsigned)dn->cfg.max_copies;
	if (!full)
		cm->running++;
	pthread_mutex_unlock(&cm->lock);
	if (full) {
		DFS_INFO("dropping copy of blk_%" PRIu64 ": max_copies (%" PRId64 ") running",
			 c->blocks[0]->block_id, dn->cfg.max_copies);
		return;
	}
	struct copy_job *j = make_job(dn, c);
	pthread_t t;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (j != NULL && pthread_create(&t, &attr, copy_main, j) == 0) {
		pthread_attr_destroy(&attr);
		return;
	}
	pthread_attr_destroy(&attr);
	DFS_WARN("cannot start a copy of blk_%" PRIu64, c->blocks[0]->block_id);
	if (j != NULL)
		free_job(j);
	pthread_mutex_lock(&cm->lock);
	cm->running--;
	pthread_mutex_unlock(&cm->lock);
}

void dn_commands_execute(struct datanode *dn, const Dfs__DnCommand *c)
{
	switch (c->kind) {
	case DFS__DN_COMMAND__KIND__DELETE:
		do_delete(dn, c);
		break;
	case DFS__DN_COMMAND__KIND__COPY:
		do_copy(dn, c);
		break;
	default:
		break;
	}
}
