/* settings.c: the client's settings, from struct dfs_options and the client
 * config file (dfs.conf: namenodes, replication, block_size,
 * rpc_timeout_ms, retry_total_ms, pipeline_ack_timeout_ms, local_reads). Options given in dfs_options win over
 * the file; the file wins over built-in defaults. */
#include "libdfs/internal.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"

#define DFSC_SYSTEM_CONF "/etc/dfs/dfs.conf"

struct dfsc_file_config {
	char *namenodes;
	int64_t replication;
	uint64_t block_size;
	int64_t rpc_timeout_ms;
	int64_t retry_total_ms;
	int64_t pipeline_ack_timeout_ms;
	int local_reads;
};

static const struct dfs_config_option dfsc_config_table[] = {
	{ "namenodes", DFS_CFG_STRING, "127.0.0.1:8020",
	  offsetof(struct dfsc_file_config, namenodes),
	  "comma-separated host:port of the namenodes", 0, 0 },
	{ "replication", DFS_CFG_INT, "0", offsetof(struct dfsc_file_config, replication),
	  "replication of new files (0: the cluster's default)", 0, DFSC_REPLICATION_MAX },
	{ "block_size", DFS_CFG_SIZE, "0", offsetof(struct dfsc_file_config, block_size),
	  "block size of new files (0: the cluster's default)", 0, 0 },
	{ "rpc_timeout_ms", DFS_CFG_DURATION, "30s",
	  offsetof(struct dfsc_file_config, rpc_timeout_ms),
	  "how long one RPC may take before it is retried", 0, 0 },
	{ "retry_total_ms", DFS_CFG_DURATION, "60s",
	  offsetof(struct dfsc_file_config, retry_total_ms),
	  "how long to keep retrying while no namenode answers", 0, 0 },
	{ "pipeline_ack_timeout_ms", DFS_CFG_DURATION, "15s",
	  offsetof(struct dfsc_file_config, pipeline_ack_timeout_ms),
	  "a write pipeline that acks nothing this long loses its first datanode", 0, 0 },
	{ "local_reads", DFS_CFG_BOOL, "1", offsetof(struct dfsc_file_config, local_reads),
	  "read replicas on this machine's datanodes from their files (short-circuit)", 0, 0 },
};
#define DFSC_CONFIG_N (sizeof(dfsc_config_table) / sizeof(dfsc_config_table[0]))

static int parse_one_namenode(const char *s, size_t len, struct dfsc_addr *a)
{
	char buf[DFS_HOST_MAX + 16];
	while (len > 0 && isspace((unsigned char)*s)) {
		s++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	if (len == 0 || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)buf[i]) && strchr(".-_:[]%", buf[i]) == NULL)
			return -EINVAL;
	/* "host" alone (no colon, not bracketed v6): the default port. */
	if (strchr(buf, ':') == NULL) {
		if (len >= sizeof(a->host))
			return -EINVAL;
		memcpy(a->host, buf, len + 1);
		a->port = DFSC_DEFAULT_PORT;
		return 0;
	}
	return dfs_net_parse_hostport(buf, a->host, sizeof(a->host), &a->port);
}

int dfsc_parse_namenodes(const char *list, struct dfsc_settings *s)
{
	int n = 0;
	const char *p = list;
	if (list == NULL)
		return -EINVAL;
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if (n == DFSC_NAMENODES_MAX)
			return -EINVAL;
		int rc = parse_one_namenode(p, len, &s->nn[n]);
		if (rc < 0)
			return rc;
		n++;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	s->n_nn = n;
	return 0;
}

/* Loads the config file into fc. Which file: opts->conf_path, $DFS_CONF,
 * then the system one. A missing named file is an error unless
 * have_namenodes; a missing system file never is. */
static int load_file(const struct dfs_options *opts, struct dfsc_file_config *fc,
		     bool have_namenodes, char *err, size_t err_len)
{
	const char *path = opts != NULL ? opts->conf_path : NULL;
	bool named = true;
	if (path == NULL || path[0] == '\0')
		path = getenv("DFS_CONF");
	if (path == NULL || path[0] == '\0') {
		path = DFSC_SYSTEM_CONF;
		named = false;
	}
	int rc = dfs_config_load(dfsc_config_table, DFSC_CONFIG_N, fc, path, err, err_len);
	if (rc == -ENOENT) {
		if (!named || have_namenodes)
			return 0;
		snprintf(err, err_len, "%s: no such config file", path);
	}
	return rc;
}

int dfsc_settings_load(const struct dfs_options *opts, struct dfsc_settings *s, char *err,
		       size_t err_len)
{
	struct dfsc_file_config fc = { 0 };
	bool have_nn = opts != NULL && opts->namenodes != NULL;
	memset(s, 0, sizeof(*s));
	err[0] = '\0';
	int rc = dfs_config_defaults(dfsc_config_table, DFSC_CONFIG_N, &fc);
	if (rc < 0)
		return rc;
	rc = load_file(opts, &fc, have_nn, err, err_len);
	if (rc < 0)
		goto out;
	const char *list = have_nn ? opts->namenodes : fc.namenodes;
	rc = dfsc_parse_namenodes(list, s);
	if (rc < 0) {
		snprintf(err, err_len, "bad namenode list \"%s\"", list);
		goto out;
	}
	s->replication = (unsigned)fc.replication;
	s->block_size = fc.block_size;
	s->rpc_timeout_ms = fc.rpc_timeout_ms > 0 && fc.rpc_timeout_ms < INT32_MAX
				    ? (int)fc.rpc_timeout_ms : DFSC_DEFAULT_RPC_TIMEOUT_MS;
	s->retry_total_ms = fc.retry_total_ms >= 0 && fc.retry_total_ms < INT32_MAX
				    ? (int)fc.retry_total_ms : DFSC_DEFAULT_RETRY_TOTAL_MS;
	s->pipeline_ack_timeout_ms =
		fc.pipeline_ack_timeout_ms > 0 && fc.pipeline_ack_timeout_ms < INT32_MAX
			? (int)fc.pipeline_ack_timeout_ms : DFSC_DEFAULT_PIPELINE_ACK_TIMEOUT_MS;
	s->local_reads = fc.local_reads != 0;
	if (opts != NULL) {
		if (opts->rpc_timeout_ms > 0)
			s->rpc_timeout_ms = opts->rpc_timeout_ms;
		if (opts->retry_total_ms != 0)
			s->retry_total_ms = opts->retry_total_ms < 0 ? -1 : opts->retry_total_ms;
		if (opts->replication != 0)
			s->replication = opts->replication;
		if (opts->block_size != 0)
			s->block_size = opts->block_size;
	}
	if (s->replication > DFSC_REPLICATION_MAX) {
		snprintf(err, err_len, "replication %u out of range 1..%d", s->replication,
			 DFSC_REPLICATION_MAX);
		rc = -EINVAL;
	}
out:
	dfs_config_free(dfsc_config_table, DFSC_CONFIG_N, &fc);
	return rc;
}
