/* volumes.c: the data-dir health thread and taking a failed dir out of
 * service (see volumes.h). */
#include "datanode/volumes.h"
#include "datanode/nn_link.h"
#include "common/daemon.h"
#include "common/errors.h"
#include "common/log.h"
#include "common/clock.h"

#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define PROBE_NAME ".dn_probe"

struct dn_volumes {
	struct datanode *dn;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* CLOCK_MONOTONIC */
	int stop, kick;      /* under lock */
};

/* Writes, fsyncs and removes a probe file in dir/sub. */
static int probe(const char *dir, const char *sub)
{
	char p[DN_PATH_MAX];
	static const char bytes[8] = "dfsprobe";
	snprintf(p, sizeof(p), "%s/%s/%s", dir, sub, PROBE_NAME);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return DFS_ERRNO();
	int rc = 0;
	if (write(fd, bytes, sizeof(bytes)) != (ssize_t)sizeof(bytes) || fsync(fd) < 0)
		rc = errno != 0 ? DFS_ERRNO() : -EIO;
	close(fd);
	if (unlink(p) < 0 && rc == 0)
		rc = DFS_ERRNO();
	return rc;
}

void dn_volumes_fail(struct datanode *dn, int dir, int why)
{
	struct dn_replica_info *lost;
	size_t n_lost;
	int left = dn_store_fail_dir(&dn->store, dir, &lost, &n_lost);
	if (left == -EALREADY)
		return;
	dfs_log_err(DFS_LOG_WARN, why,
		    "data dir %s failed: taken out of service, %zu replicas lost, %d of %zu "
		    "dirs left", dn->store.dirs[dir], n_lost, left, dn->store.n_dirs);
	for (size_t i = 0; i < n_lost; i++)
		dn_nn_report_deleted(dn, &lost[i]);
	free(lost);
	if (left < dn->cfg.min_data_dirs) {
		DFS_ERR("only %d data dirs left in service, min_data_dirs is %" PRId64
			": stopping", left, dn->cfg.min_data_dirs);
		dn->fatal = -EIO;
		dfs_daemon_request_stop();
	}
}

static void check_all(struct dn_volumes *v)
{
	struct dn_store *s = &v->dn->store;
	for (size_t i = 0; i < s->n_dirs; i++) {
		if (dn_store_dir_failed(s, (int)i))
			continue;
		int rc = probe(s->dirs[i], "current");
		if (rc == 0)
			rc = probe(s->dirs[i], "rbw");
		if (rc == -ENOSPC || rc == -EDQUOT)
			continue; /* full is not failed */
		if (rc < 0)
			dn_volumes_fail(v->dn, (int)i, rc);
	}
}

static void *volumes_main(void *arg)
{
	struct dn_volumes *v = arg;
	for (;;) {
		int64_t deadline = dfs_mono_ms() + v->dn->cfg.disk_check_ms;
		pthread_mutex_lock(&v->lock);
		while (!v->stop && !v->kick && dfs_mono_ms() < deadline) {
			struct timespec ts = { .tv_sec = deadline / 1000,
					       .tv_nsec = (deadline % 1000) * 1000000L };
			pthread_cond_timedwait(&v->cond, &v->lock, &ts);
		}
		int stop = v->stop;
		v->kick = 0;
		pthread_mutex_unlock(&v->lock);
		if (stop)
			break;
		check_all(v);
	}
	return NULL;
}

int dn_volumes_start(struct datanode *dn)
{
	struct dn_volumes *v = calloc(1, sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	v->dn = dn;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&v->cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&v->lock, NULL);
	int rc = -pthread_create(&v->thread, NULL, volumes_main, v);
	if (rc < 0) {
		pthread_cond_destroy(&v->cond);
		pthread_mutex_destroy(&v->lock);
		free(v);
		return rc;
	}
	dn->vol = v;
	return 0;
}

void dn_volumes_stop(struct datanode *dn)
{
	struct dn_volumes *v = dn->vol;
	if (v == NULL)
		return;
	pthread_mutex_lock(&v->lock);
	v->stop = 1;
	pthread_cond_broadcast(&v->cond);
	pthread_mutex_unlock(&v->lock);
	pthread_join(v->thread, NULL);
	/* v stays allocated: a connection thread that outlived its stop
	 * deadline may still kick it (harmless once the thread is gone) */
}

void dn_volumes_check_soon(struct datanode *dn)
{
	struct dn_volumes *v = dn->vol;
	if (v == NULL)
		return;
	pthread_mutex_lock(&v->lock);
	v->kick = 1;
	pthread_cond_broadcast(&v->cond);
	pthread_mutex_unlock(&v->lock);
}

size_t dn_volumes_failed_dirs(struct datanode *dn, const char **names, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < dn->store.n_dirs && n < max; i++)
		if (dn_store_dir_failed(&dn->store, (int)i))
			names[n++] = dn->store.dirs[i];
	return n;
}
