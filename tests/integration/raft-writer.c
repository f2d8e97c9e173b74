/* raft-writer.c: the load and the bookkeeping of the namenode failover
 * tests (test-raft-*.sh), over libdfs with several threads, each with its
 * own dfs_client.
 *
 *   raft-writer write -l LOGDIR [-t THREADS] [-n PER_THREAD] [-p PREFIX]
 *                     [-s STOPFILE] [-T RPC_TIMEOUT_MS] [-m]
 *     thread k creates PREFIX<k>/f<i> (-m: makes it a directory) (i = 0, 1, ...) with O_CREAT|O_EXCL
 *     until it made PER_THREAD of them or STOPFILE exists. Every create the
 *     cluster acknowledged is appended to LOGDIR/ack.<k> as
 *     "PATH START_MS END_MS" (CLOCK_REALTIME), every failed one to
 *     LOGDIR/err.<k> as "PATH ERRNO" (its outcome is unknown: it may or may
 *     not have been applied). -EEXIST means a retried create was applied
 *     twice: it is logged as "PATH EEXIST" and makes the exit status 3.
 *   raft-writer check -l LOGDIR [-t THREADS] [-p PREFIX]
 *     every acknowledged file exists, and each PREFIX<k> holds nothing but
 *     acknowledged files and files whose create failed. Prints
 *     "acked=N present=N unknown_present=N missing=N extra=N"; exit 1 if
 *     something is missing or extra.
 *   raft-writer tree PATH
 *     prints every entry under PATH, depth first in name order, as
 *     "PATH TYPE SIZE" (a namespace dump to compare two namenodes).
 *
 * Connects with $DFS_CONF. Exit 0 ok, 1 check failed, 2 usage, 3 duplicate
 * create. */
#include <dfs.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define WRITER_THREADS_MAX 64
#define WRITER_PATH_MAX 512
/* Pause after a failed create, so a client without a leader does not spin. */
#define WRITER_ERROR_PAUSE_MS 50
#define TREE_DEPTH_MAX 64
#define WRITER_MKDIR_ATTEMPTS_MAX 100

struct writer_opts {
	int mkdirs; /* -m: make directories instead of files (one RPC each) */
	const char *logdir;
	const char *prefix;
	const char *stopfile;
	unsigned threads;
	unsigned long per_thread;
	int rpc_timeout_ms;
};

struct writer_thread {
	const struct writer_opts *o;
	unsigned k;
	unsigned long acked, failed, dups;
	int setup_rc;
};

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void pause_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static int connect_client(int rpc_timeout_ms, dfs_client **c)
{
	struct dfs_options opts;
	memset(&opts, 0, sizeof(opts));
	opts.rpc_timeout_ms = rpc_timeout_ms;
	return dfs_connect(&opts, c);
}

static FILE *open_log(const char *dir, const char *kind, unsigned k, const char *mode)
{
	char path[WRITER_PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s.%u", dir, kind, k);
	return fopen(path, mode);
}

static int create_one(dfs_client *c, const char *path)
{
	dfs_file *f;
	int rc = dfs_open(c, path, O_WRONLY | O_CREAT | O_EXCL, 0644, &f);
	if (rc == 0)
		rc = dfs_close(f);
	return rc;
}

static void *writer_main(void *arg)
{
	struct writer_thread *w = arg;
	const struct writer_opts *o = w->o;
	dfs_client *c = NULL;
	FILE *ack = open_log(o->logdir, "ack", w->k, "w");
	FILE *err = open_log(o->logdir, "err", w->k, "w");
	char dir[WRITER_PATH_MAX], path[WRITER_PATH_MAX];
	if (ack == NULL || err == NULL) {
		w->setup_rc = -errno;
		goto out;
	}
	w->setup_rc = connect_client(o->rpc_timeout_ms, &c);
	if (w->setup_rc < 0)
		goto out;
	snprintf(dir, sizeof(dir), "%s%u", o->prefix, w->k);
	for (int attempt = 0; (w->setup_rc = dfs_mkdir(c, dir, 0755, DFS_MKDIR_PARENTS)) < 0;
	     attempt++) {
		if (attempt >= WRITER_MKDIR_ATTEMPTS_MAX ||
		    (o->stopfile[0] && access(o->stopfile, F_OK) == 0))
			goto out;
		pause_ms(WRITER_ERROR_PAUSE_MS);
	}
	for (unsigned long i = 0; i < o->per_thread; i++) {
		if (o->stopfile[0] && access(o->stopfile, F_OK) == 0)
			break;
		if (snprintf(path, sizeof(path), "%s/f%lu", dir, i) >= (int)sizeof(path))
			break;
		long long t0 = now_ms();
		int rc = o->mkdirs ? dfs_mkdir(c, path, 0755, 0) : create_one(c, path);
		long long t1 = now_ms();
		if (rc == 0) {
			fprintf(ack, "%s %lld %lld\n", path, t0, t1);
			fflush(ack);
			w->acked++;
		} else {
			fprintf(err, "%s %s\n", path, rc == -EEXIST ? "EEXIST" : dfs_strerror(rc));
			fflush(err);
			w->failed++;
			w->dups += rc == -EEXIST;
			pause_ms(WRITER_ERROR_PAUSE_MS);
		}
	}
out:
	if (ack != NULL)
		fclose(ack);
	if (err != NULL)
		fclose(err);
	dfs_disconnect(c);
	return NULL;
}

static int run_write(const struct writer_opts *o)
{
	struct writer_thread w[WRITER_THREADS_MAX];
	pthread_t tid[WRITER_THREADS_MAX];
	unsigned long acked = 0, failed = 0, dups = 0;
	int status = 0;
	for (unsigned k = 0; k < o->threads; k++) {
		w[k] = (struct writer_thread){.o = o, .k = k};
		if (pthread_create(&tid[k], NULL, writer_main, &w[k]) != 0) {
			fprintf(stderr, "raft-writer: pthread_create failed\n");
			return 1;
		}
	}
	for (unsigned k = 0; k < o->threads; k++) {
		pthread_join(tid[k], NULL);
		if (w[k].setup_rc < 0) {
			fprintf(stderr, "raft-writer: thread %u: %s\n", k, dfs_strerror(w[k].setup_rc));
			status = 1;
		}
		acked += w[k].acked;
		failed += w[k].failed;
		dups += w[k].dups;
	}
	printf("acked=%lu failed=%lu duplicates=%lu\n", acked, failed, dups);
	return dups ? 3 : status;
}

/* ---- check ---- */

/* Reads LOGDIR/KIND.k: the set of paths (first word of each line). */
static int read_paths(const char *dir, const char *kind, unsigned k, char ***out, size_t *n)
{
	FILE *f = open_log(dir, kind, k, "r");
	char line[WRITER_PATH_MAX * 2];
	size_t cap = 0;
	*out = NULL;
	*n = 0;
	if (f == NULL)
		return errno == ENOENT ? 0 : -errno;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *sp = strchr(line, ' ');
		if (sp == NULL)
			continue;
		*sp = '\0';
		if (*n == cap) {
			cap = cap ? cap * 2 : 1024;
			char **v = realloc(*out, cap * sizeof(*v));
			if (v == NULL)
				break;
			*out = v;
		}
		(*out)[(*n)++] = strdup(line);
	}
	fclose(f);
	return 0;
}

static int in_list(char **v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] != NULL && strcmp(v[i], s) == 0)
			return 1;
	return 0;
}

static void free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

struct check_totals {
	unsigned long acked, present, unknown_present, missing, extra;
};

/* Lists PREFIX<k>: every entry must be acked or unknown; every acked
 * entry must be there. Entry names are f<i>, so a bitmap over i marks the
 * acked ones and keeps this linear. */
static int check_thread(dfs_client *c, const struct writer_opts *o, unsigned k,
			struct check_totals *t)
{
	char **ack, **err, dir[WRITER_PATH_MAX], path[WRITER_PATH_MAX];
	size_t nack, nerr;
	int rc = read_paths(o->logdir, "ack", k, &ack, &nack);
	if (rc == 0)
		rc = read_paths(o->logdir, "err", k, &err, &nerr);
	if (rc < 0)
		return rc;
	snprintf(dir, sizeof(dir), "%s%u", o->prefix, k);
	size_t maxi = nack + nerr + 1;
	unsigned char *seen = calloc(maxi, 1), *acked = calloc(maxi, 1);
	for (size_t i = 0; i < nack; i++) {
		unsigned long idx = strtoul(strrchr(ack[i], 'f') + 1, NULL, 10);
		if (idx < maxi)
			acked[idx] = 1;
	}
	dfs_dir *d = NULL;
	struct dfs_dirent ent;
	rc = dfs_opendir(c, 0, dir, &d);
	while (rc == 0 && (rc = dfs_readdir(d, &ent)) > 0) {
		unsigned long idx = ent.name[0] == 'f' ? strtoul(ent.name + 1, NULL, 10) : maxi;
		if (snprintf(path, sizeof(path), "%s/%s", dir, ent.name) >= (int)sizeof(path))
			path[0] = '\0';
		if (idx < maxi && acked[idx]) {
			seen[idx] = 1;
			t->present++;
		} else if (in_list(err, nerr, path)) {
			t->unknown_present++;
		} else {
			printf("extra: %s\n", path);
			t->extra++;
		}
		rc = 0;
	}
	if (d != NULL)
		dfs_closedir(d);
	for (size_t i = 0; i < nack; i++) {
		unsigned long idx = strtoul(strrchr(ack[i], 'f') + 1, NULL, 10);
		if (idx >= maxi || !seen[idx]) {
			printf("missing: %s\n", ack[i]);
			t->missing++;
		}
	}
	t->acked += nack;
	free(seen);
	free(acked);
	free_list(ack, nack);
	free_list(err, nerr);
	return rc == -ENOENT && nack == 0 ? 0 : rc;
}

static int run_check(const struct writer_opts *o)
{
	dfs_client *c;
	struct check_totals t = {0};
	int rc = connect_client(o->rpc_timeout_ms, &c);
	if (rc < 0) {
		fprintf(stderr, "raft-writer: connect: %s\n", dfs_strerror(rc));
		return 1;
	}
	for (unsigned k = 0; k < o->threads && rc == 0; k++)
		rc = check_thread(c, o, k, &t);
	dfs_disconnect(c);
	if (rc < 0) {
		fprintf(stderr, "raft-writer: check: %s\n", dfs_strerror(rc));
		return 1;
	}
	printf("acked=%lu present=%lu unknown_present=%lu missing=%lu extra=%lu\n", t.acked,
	       t.present, t.unknown_present, t.missing, t.extra);
	return t.missing || t.extra || t.present != t.acked ? 1 : 0;
}

/* ---- tree ---- */

static int tree(dfs_client *c, const char *path, int depth)
{
	dfs_dir *d = NULL;
	struct dfs_dirent ent;
	char child[WRITER_PATH_MAX];
	int rc = dfs_opendir(c, 0, path, &d);
	if (rc < 0)
		return rc;
	while ((rc = dfs_readdir(d, &ent)) > 0) {
		if (snprintf(child, sizeof(child), "%s/%s", strcmp(path, "/") ? path : "",
			     ent.name) >= (int)sizeof(child))
			continue;
		char type = S_ISDIR(ent.st.mode) ? 'd' : S_ISLNK(ent.st.mode) ? 'l' : 'f';
		printf("%s %c %llu\n", child, type, (unsigned long long)ent.st.size);
		if (type == 'd' && depth < TREE_DEPTH_MAX && (rc = tree(c, child, depth + 1)) < 0)
			break;
	}
	dfs_closedir(d);
	return rc;
}

static int run_tree(const struct writer_opts *o, const char *path)
{
	dfs_client *c;
	int rc = connect_client(o->rpc_timeout_ms, &c);
	if (rc == 0)
		rc = tree(c, path, 0);
	dfs_disconnect(c);
	if (rc < 0)
		fprintf(stderr, "raft-writer: tree %s: %s\n", path, dfs_strerror(rc));
	return rc < 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: raft-writer write|check -l LOGDIR [-t THREADS] [-n PER_THREAD]\n"
			"                   [-p PREFIX] [-s STOPFILE] [-T RPC_TIMEOUT_MS] [-m]\n"
			"       raft-writer tree PATH\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct writer_opts o = {.prefix = "/w", .stopfile = "", .threads = 4,
				.per_thread = 1000000, .rpc_timeout_ms = 2000};
	if (argc < 2)
		return usage();
	const char *mode = argv[1];
	int ch;
	optind = 2;
	while ((ch = getopt(argc, argv, "l:t:n:p:s:T:m")) != -1) {
		switch (ch) {
		case 'l': o.logdir = optarg; break;
		case 't': o.threads = (unsigned)atoi(optarg); break;
		case 'n': o.per_thread = strtoul(optarg, NULL, 10); break;
		case 'p': o.prefix = optarg; break;
		case 's': o.stopfile = optarg; break;
		case 'T': o.rpc_timeout_ms = atoi(optarg); break;
		case 'm': o.mkdirs = 1; break;
		default: return usage();
		}
	}
	if (strcmp(mode, "tree") == 0 && optind < argc)
		return run_tree(&o, argv[optind]);
	if (o.logdir == NULL || o.threads == 0 || o.threads > WRITER_THREADS_MAX)
		return usage();
	if (strcmp(mode, "write") == 0)
		return run_write(&o);
	if (strcmp(mode, "check") == 0)
		return run_check(&o);
	return usage();
}
