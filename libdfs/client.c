/* client.c: dfs_connect/dfs_disconnect and per-thread credentials. */
#include "libdfs/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "common/log.h"

static void cred_free(void *p)
{
	free(p);
}

static void default_cred(struct dfsc_cred *cr)
{
	gid_t groups[DFSC_GROUPS_MAX];
	cr->uid = (uint32_t)geteuid();
	cr->gid = (uint32_t)getegid();
	int n = getgroups(DFSC_GROUPS_MAX, groups);
	cr->ngroups = 0;
	for (int i = 0; i < n; i++)
		cr->groups[cr->ngroups++] = (uint32_t)groups[i];
}

static void make_client_id(dfs_client *c)
{
	size_t got = 0;
	while (got < sizeof(c->client_id)) {
		ssize_t n = getrandom(c->client_id + got, sizeof(c->client_id) - got, 0);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got < sizeof(c->client_id)) {
		/* no entropy source: still unique enough per process and time */
		uint64_t v = (uint64_t)getpid() << 32 ^ (uint64_t)dfsc_now_ms() ^ (uintptr_t)c;
		memcpy(c->client_id, &v, sizeof(v));
	}
	snprintf(c->client_name, sizeof(c->client_name), "dfs-%d-%02x%02x%02x%02x", (int)getpid(),
		 c->client_id[0], c->client_id[1], c->client_id[2], c->client_id[3]);
}

/* Asks the namenodes for PING; any reply (even an error status) proves one
 * answers. Transport failures are what we report. */
static int probe(dfs_client *c)
{
	Dfs__NsRequest req = DFS__NS_REQUEST__INIT;
	Dfs__NsReply *reply;
	int rc = dfsc_call(c, DFS_M_PING, &req, &reply);
	if (rc == 0) {
		dfs__ns_reply__free_unpacked(reply, NULL);
		return 0;
	}
	if (rc == -ECONNREFUSED || rc == -ETIMEDOUT || rc == -ECONNRESET || rc == -EPIPE ||
	    rc == -EHOSTUNREACH || rc == -ENETUNREACH || rc == -DFS_EPROTOCOL ||
	    rc == -DFS_ENOTLEADER || rc == -EADDRNOTAVAIL)
		return rc;
	return 0;
}

int dfs_connect(const struct dfs_options *opts, dfs_client **out)
{
	char err[256];
	*out = NULL;
	dfs_client *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	if (opts != NULL) {
		c->log = opts->log;
		c->log_arg = opts->log_arg;
	}
	int rc = dfsc_settings_load(opts, &c->set, err, sizeof(err));
	if (rc < 0) {
		dfsc_log(c, DFS_LOG_ERR, "client config: %s", err);
		free(c);
		return rc;
	}
	make_client_id(c);
	default_cred(&c->default_cred);
	atomic_init(&c->next_call_id, 1);
	atomic_init(&c->next_seq, 1);
	atomic_init(&c->leader, 0);
	rc = -pthread_mutex_init(&c->pool_mu, NULL);
	if (rc < 0)
		goto err_free;
	rc = dfs_conn_pool_init(&c->dn_pool, DFSC_DN_POOL_IDLE_MS);
	if (rc < 0) {
		pthread_mutex_destroy(&c->pool_mu);
		goto err_free;
	}
	rc = -pthread_mutex_init(&c->dir_mu, NULL);
	if (rc < 0) {
		dfs_conn_pool_destroy(&c->dn_pool);
		pthread_mutex_destroy(&c->pool_mu);
		goto err_free;
	}
	rc = -pthread_key_create(&c->cred_key, cred_free);
	if (rc < 0)
		goto err_mutex;
	rc = dfsc_local_init(c);
	if (rc < 0) {
		pthread_key_delete(c->cred_key);
		goto err_mutex;
	}
	rc = probe(c);
	if (rc < 0)
		goto err_key;
	*out = c;
	return 0;
err_key:
	dfsc_local_destroy(c);
	dfsc_pool_destroy(c);
	pthread_key_delete(c->cred_key);
err_mutex:
	pthread_mutex_destroy(&c->dir_mu);
	dfs_conn_pool_destroy(&c->dn_pool);
	pthread_mutex_destroy(&c->pool_mu);
err_free:
	free(c);
	return rc;
}

void dfs_disconnect(dfs_client *c)
{
	if (c == NULL)
		return;
	dfsc_pool_destroy(c);
	dfs_conn_pool_destroy(&c->dn_pool);
	dfsc_local_destroy(c);
	pthread_mutex_destroy(&c->dir_mu);
	/* Only the calling thread's credentials can be found here; other
	 * threads' are freed when those threads exit. */
	free(pthread_getspecific(c->cred_key));
	pthread_setspecific(c->cred_key, NULL);
	pthread_key_delete(c->cred_key);
	pthread_mutex_destroy(&c->pool_mu);
	free(c);
}

const struct dfsc_cred *dfsc_cred(dfs_client *c)
{
	const struct dfsc_cred *cr = pthread_getspecific(c->cred_key);
	return cr != NULL ? cr : &c->default_cred;
}

int dfs_set_thread_cred(dfs_client *c, uint32_t uid, uint32_t gid, const uint32_t *groups,
			int ngroups)
{
	if (c == NULL || ngroups < 0 || ngroups > DFSC_GROUPS_MAX ||
	    (ngroups > 0 && groups == NULL))
		return -EINVAL;
	struct dfsc_cred *cr = pthread_getspecific(c->cred_key);
	if (cr == NULL) {
		cr = calloc(1, sizeof(*cr));
		if (cr == NULL)
			return -ENOMEM;
		int rc = pthread_setspecific(c->cred_key, cr);
		if (rc != 0) {
			free(cr);
			return -rc;
		}
	}
	cr->uid = uid;
	cr->gid = gid;
	cr->ngroups = ngroups;
	if (ngroups > 0)
		memcpy(cr->groups, groups, (size_t)ngroups * sizeof(*groups));
	return 0;
}
