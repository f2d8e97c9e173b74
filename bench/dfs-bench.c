/* dfs-bench.c: measures dfs through libdfs beside the same workload on a
 * local-disk directory, in the same run, and prints both with their ratio.
 * It prints numbers; it never passes or fails on them.
 *
 * Workloads: sequential write and read of SIZE bytes at each replication
 * factor given, and create / stat / rename / delete rates for N empty
 * files from 1 and from several concurrent clients (threads; on dfs each
 * with its own dfs_client, on the local disk plain syscalls).
 * Before each read the page cache is dropped (when running as root) so
 * neither side reads from memory what it just wrote. The sequential part
 * runs --rounds times (default 3), local and dfs interleaved, and prints
 * the medians and each round's ratio. */
#include <dfs.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <pthread.h>
#include <unistd.h>

#define BENCH_IO_SIZE (1u << 20)
#define BENCH_THREADS_MAX 64 /* concurrent clients of the metadata part */
#define BENCH_THREAD_COUNTS_MAX 4
#define BENCH_ROUNDS_MAX 9 /* --rounds of the sequential part */

struct bench_opts {
	uint64_t size_bytes;
	unsigned nfiles;
	const char *local_dir;
	const char *dfs_dir;
	unsigned replications[4];
	unsigned nreplications;
	int drop_caches;
	unsigned threads[BENCH_THREAD_COUNTS_MAX]; /* --threads: client counts */
	unsigned nthreads;
	int seq, meta;       /* parts to run (--only seq|meta) */
	const char *label;   /* --label: appended to the metadata rows */
	unsigned rounds;     /* --rounds: sequential rounds; medians printed */
};

struct bench_result {
	double local;
	double dfs;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "dfs-bench: %s: %s\n", what, dfs_strerror(err));
	exit(1);
}

static void drop_caches(const struct bench_opts *o)
{
	if (!o->drop_caches)
		return;
	sync();
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
	if (fd < 0)
		return;
	if (write(fd, "3\n", 2) < 0)
		perror("dfs-bench: drop_caches");
	close(fd);
}

static void fill(char *buf, size_t n, uint64_t seed)
{
	uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
	for (size_t i = 0; i + 8 <= n; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(buf + i, &x, 8);
	}
}

static double local_write(const struct bench_opts *o, const char *path, char *buf)
{
	double t0 = now_s();
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		die(path, -errno);
	for (uint64_t done = 0; done < o->size_bytes; done += BENCH_IO_SIZE)
		if (write(fd, buf, BENCH_IO_SIZE) != BENCH_IO_SIZE)
			die("local write", -errno);
	if (fsync(fd) < 0)
		die("local fsync", -errno);
	close(fd);
	return now_s() - t0;
}

static double local_read(const struct bench_opts *o, const char *path, char *buf)
{
	drop_caches(o);
	double t0 = now_s();
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		die(path, -errno);
	uint64_t total = 0;
	ssize_t n;
	while ((n = read(fd, buf, BENCH_IO_SIZE)) > 0)
		total += (uint64_t)n;
	close(fd);
	if (total != o->size_bytes)
		die("local read: short file", -EIO);
	return now_s() - t0;
}

static double dfs_seq_write(dfs_client *c, const struct bench_opts *o, const char *path,
			    unsigned rep, char *buf)
{
	dfs_file *f;
	double t0 = now_s();
	int rc = dfs_open_ex(c, path, O_WRONLY | O_CREAT | O_TRUNC, 0644, rep, 0, &f);
	if (rc < 0)
		die(path, rc);
	for (uint64_t done = 0; done < o->size_bytes; done += BENCH_IO_SIZE) {
		ssize_t w = dfs_write(f, buf, BENCH_IO_SIZE);
		if (w != BENCH_IO_SIZE)
			die("dfs write", w < 0 ? (int)w : -EIO);
	}
	rc = dfs_close(f);
	if (rc < 0)
		die("dfs close", rc);
	return now_s() - t0;
}

static double dfs_seq_read(dfs_client *c, const struct bench_opts *o, const char *path, char *buf)
{
	dfs_file *f;
	drop_caches(o);
	double t0 = now_s();
	int rc = dfs_open(c, path, O_RDONLY, 0, &f);
	if (rc < 0)
		die(path, rc);
	uint64_t total = 0;
	ssize_t n;
	while ((n = dfs_read(f, buf, BENCH_IO_SIZE)) > 0)
		total += (uint64_t)n;
	if (n < 0)
		die("dfs read", (int)n);
	dfs_close(f);
	if (total != o->size_bytes)
		die("dfs read: short file", -EIO);
	return now_s() - t0;
}

static void print_row(const char *name, const char *unit, struct bench_result r)
{
	printf("%-46s %12.1f %12.1f %8.0f%%\n", name, r.local, r.dfs,
	       r.local > 0 ? 100.0 * r.dfs / r.local : 0.0);
	(void)unit;
	fflush(stdout);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(const double *v, unsigned n)
{
	double s[BENCH_ROUNDS_MAX];
	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/* One sequential row: the medians of the rounds, their ratio, then the
 * ratio of each round (the disk's own rate moves by half from one run to
 * the next on a shared machine; the median of interleaved rounds does not). */
static void print_seq_row(const char *name, const double *local, const double *dfs,
			  unsigned rounds)
{
	char each[16 * BENCH_ROUNDS_MAX] = "";
	size_t len = 0;
	for (unsigned i = 0; i < rounds && len < sizeof(each); i++)
		len += (size_t)snprintf(each + len, sizeof(each) - len, "%s%.0f", i ? "/" : "",
					local[i] > 0 ? 100.0 * dfs[i] / local[i] : 0.0);
	double l = median(local, rounds), d = median(dfs, rounds);
	printf("%-46s %12.1f %12.1f %8.0f%%  rounds %s%%\n", name, l, d,
	       l > 0 ? 100.0 * d / l : 0.0, each);
	fflush(stdout);
}

/* Sequential write and read, local disk and each replication factor in
 * turn, o->rounds times over (interleaved, so a slow minute of the shared
 * disk hits both sides alike). */
static void bench_sequential(dfs_client *c, const struct bench_opts *o)
{
	char *buf = malloc(BENCH_IO_SIZE);
	char local_path[4096], dfs_path[4096], name[128];
	if (buf == NULL)
		die("malloc", -ENOMEM);
	fill(buf, BENCH_IO_SIZE, 42);
	double mib = (double)o->size_bytes / (1 << 20);
	double lw[BENCH_ROUNDS_MAX], lr[BENCH_ROUNDS_MAX];
	double dw[4][BENCH_ROUNDS_MAX], dr[4][BENCH_ROUNDS_MAX];
	snprintf(local_path, sizeof(local_path), "%s/seq.bin", o->local_dir);
	for (unsigned k = 0; k < o->rounds; k++) {
		lw[k] = mib / local_write(o, local_path, buf);
		lr[k] = mib / local_read(o, local_path, buf);
		unlink(local_path);
		for (unsigned i = 0; i < o->nreplications; i++) {
			unsigned rep = o->replications[i];
			snprintf(dfs_path, sizeof(dfs_path), "%s/seq-r%u.bin", o->dfs_dir, rep);
			dw[i][k] = mib / dfs_seq_write(c, o, dfs_path, rep, buf);
			dr[i][k] = mib / dfs_seq_read(c, o, dfs_path, buf);
			dfs_unlink(c, dfs_path);
		}
		fprintf(stderr, "dfs-bench: sequential round %u of %u done\n", k + 1, o->rounds);
	}
	for (unsigned i = 0; i < o->nreplications; i++) {
		unsigned rep = o->replications[i];
		snprintf(name, sizeof(name), "seq write %.0f MiB, rep %u (MiB/s)", mib, rep);
		print_seq_row(name, lw, dw[i], o->rounds);
		snprintf(name, sizeof(name), "seq read %.0f MiB, rep %u (MiB/s)", mib, rep);
		print_seq_row(name, lr, dr[i], o->rounds);
	}
	free(buf);
}

/* ---- metadata rates from 1 and from N concurrent clients ---- */

enum meta_op { META_CREATE, META_STAT, META_RENAME, META_DELETE, META_NOPS };

/* One timed pass of one operation over o->nfiles files split among
 * `threads` workers; each dfs worker uses its own dfs_client. */
struct meta_run {
	const struct bench_opts *o;
	enum meta_op op;
	int local;
	unsigned threads;
	dfs_client **clients;
	pthread_barrier_t start;
};

struct meta_worker {
	struct meta_run *run;
	unsigned t;
	int rc;
	char failed_path[256];
};

static int meta_local_one(const char *base, enum meta_op op, unsigned i)
{
	char path[4096], to[4096];
	struct stat st;
	snprintf(path, sizeof(path), "%s/meta/f%07u", base, i);
	snprintf(to, sizeof(to), "%s/meta/r%07u", base, i);
	switch (op) {
	case META_CREATE: {
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
		return fd < 0 ? -errno : close(fd);
	}
	case META_STAT: return lstat(path, &st) < 0 ? -errno : 0;
	case META_RENAME: return rename(path, to) < 0 ? -errno : 0;
	default: return unlink(to) < 0 ? -errno : 0;
	}
}

static int meta_dfs_one(dfs_client *c, const char *base, enum meta_op op, unsigned i)
{
	char path[4096], to[4096];
	struct dfs_stat st;
	snprintf(path, sizeof(path), "%s/meta/f%07u", base, i);
	snprintf(to, sizeof(to), "%s/meta/r%07u", base, i);
	switch (op) {
	case META_CREATE: {
		dfs_file *f;
		int rc = dfs_open(c, path, O_WRONLY | O_CREAT | O_EXCL, 0644, &f);
		return rc == 0 ? dfs_close(f) : rc;
	}
	case META_STAT: return dfs_stat(c, path, &st);
	case META_RENAME: return dfs_rename(c, path, to, 0);
	default: return dfs_unlink(c, to);
	}
}

static void *meta_worker_main(void *arg)
{
	struct meta_worker *w = arg;
	struct meta_run *r = w->run;
	unsigned n = r->o->nfiles, lo = n * w->t / r->threads, hi = n * (w->t + 1) / r->threads;
	pthread_barrier_wait(&r->start);
	for (unsigned i = lo; i < hi && w->rc == 0; i++) {
		w->rc = r->local ? meta_local_one(r->o->local_dir, r->op, i)
				 : meta_dfs_one(r->clients[w->t], r->o->dfs_dir, r->op, i);
		if (w->rc < 0)
			snprintf(w->failed_path, sizeof(w->failed_path), "file %u", i);
	}
	return NULL;
}

/* Runs one pass; returns ops/s. */
static double meta_pass(const struct bench_opts *o, dfs_client **clients, unsigned threads,
			enum meta_op op, int local)
{
	struct meta_run r = {.o = o, .op = op, .local = local, .threads = threads,
			     .clients = clients};
	struct meta_worker w[BENCH_THREADS_MAX];
	pthread_t tid[BENCH_THREADS_MAX];
	pthread_barrier_init(&r.start, NULL, threads + 1);
	for (unsigned t = 0; t < threads; t++) {
		w[t] = (struct meta_worker){.run = &r, .t = t};
		if (pthread_create(&tid[t], NULL, meta_worker_main, &w[t]) != 0)
			die("pthread_create", -EAGAIN);
	}
	pthread_barrier_wait(&r.start);
	double t0 = now_s();
	for (unsigned t = 0; t < threads; t++)
		pthread_join(tid[t], NULL);
	if (local && op == META_CREATE) {
		/* What dfs promises on create: durable when it returns. */
		char path[4096];
		snprintf(path, sizeof(path), "%s/meta", o->local_dir);
		int fd = open(path, O_RDONLY | O_DIRECTORY);
		if (fd >= 0) {
			fsync(fd);
			close(fd);
		}
	}
	double dt = now_s() - t0;
	pthread_barrier_destroy(&r.start);
	for (unsigned t = 0; t < threads; t++)
		if (w[t].rc < 0)
			die(w[t].failed_path, w[t].rc);
	return (double)o->nfiles / dt;
}

static void bench_metadata(const struct bench_opts *o)
{
	static const char *const names[] = { "create", "stat", "rename", "delete" };
	char path[4096], name[128];
	dfs_client *clients[BENCH_THREADS_MAX];
	unsigned maxt = 1;
	for (unsigned k = 0; k < o->nthreads; k++)
		maxt = o->threads[k] > maxt ? o->threads[k] : maxt;
	for (unsigned t = 0; t < maxt; t++) {
		int rc = dfs_connect(NULL, &clients[t]);
		if (rc < 0)
			die("connect", rc);
	}
	snprintf(path, sizeof(path), "%s/meta", o->local_dir);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		die(path, -errno);
	snprintf(path, sizeof(path), "%s/meta", o->dfs_dir);
	int rc = dfs_mkdir(clients[0], path, 0755, DFS_MKDIR_PARENTS);
	if (rc < 0)
		die(path, rc);
	for (unsigned k = 0; k < o->nthreads; k++) {
		unsigned threads = o->threads[k];
		for (int op = META_CREATE; op < META_NOPS; op++) {
			struct bench_result r;
			r.local = meta_pass(o, clients, threads, (enum meta_op)op, 1);
			r.dfs = meta_pass(o, clients, threads, (enum meta_op)op, 0);
			snprintf(name, sizeof(name), "%s %u files, %u client%s%s%s (ops/s)", names[op],
				 o->nfiles, threads, threads == 1 ? "" : "s", o->label ? ", " : "",
				 o->label ? o->label : "");
			print_row(name, "ops/s", r);
		}
	}
	snprintf(path, sizeof(path), "%s/meta", o->local_dir);
	rmdir(path);
	for (unsigned t = 0; t < maxt; t++)
		dfs_disconnect(clients[t]);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: dfs-bench --local-dir DIR [--dfs-dir PATH] [--size SIZE_MIB]\n"
		"                 [--files N] [--replication R[,R...]] [--no-drop-caches]\n"
		"                 [--threads T[,T...]] [--only seq|meta] [--label TEXT]\n"
		"                 [--rounds N]\n"
		"Connects with $DFS_CONF. Prints MiB/s and ops/s for local disk and dfs.\n");
	exit(2);
}

/* Parses "A,B,..." into v (at most max numbers, each 1..limit). */
static unsigned parse_list(char *arg, unsigned *v, unsigned max, unsigned limit)
{
	unsigned n = 0;
	for (char *tok = strtok(arg, ","); tok != NULL && n < max; tok = strtok(NULL, ",")) {
		int x = atoi(tok);
		if (x < 1 || (unsigned)x > limit)
			usage();
		v[n++] = (unsigned)x;
	}
	return n;
}

static void parse_args(int argc, char **argv, struct bench_opts *o)
{
	static const struct option longopts[] = {
		{ "local-dir", required_argument, NULL, 'l' },
		{ "dfs-dir", required_argument, NULL, 'd' },
		{ "size", required_argument, NULL, 's' },
		{ "files", required_argument, NULL, 'f' },
		{ "replication", required_argument, NULL, 'r' },
		{ "no-drop-caches", no_argument, NULL, 'n' },
		{ "threads", required_argument, NULL, 't' },
		{ "only", required_argument, NULL, 'o' },
		{ "label", required_argument, NULL, 'L' },
		{ "rounds", required_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'l': o->local_dir = optarg; break;
		case 'd': o->dfs_dir = optarg; break;
		case 's': o->size_bytes = strtoull(optarg, NULL, 10) << 20; break;
		case 'f': o->nfiles = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'n': o->drop_caches = 0; break;
		case 'r': o->nreplications = parse_list(optarg, o->replications, 4, 16); break;
		case 't':
			o->nthreads = parse_list(optarg, o->threads, BENCH_THREAD_COUNTS_MAX,
						 BENCH_THREADS_MAX);
			break;
		case 'o':
			o->seq = strcmp(optarg, "seq") == 0;
			o->meta = strcmp(optarg, "meta") == 0;
			if (!o->seq && !o->meta)
				usage();
			break;
		case 'L': o->label = optarg; break;
		case 'R':
			o->rounds = (unsigned)strtoul(optarg, NULL, 10);
			if (o->rounds < 1 || o->rounds > BENCH_ROUNDS_MAX)
				usage();
			break;
		default: usage();
		}
	}
	if (o->local_dir == NULL || o->size_bytes == 0 || o->nreplications == 0 ||
	    o->nthreads == 0 || o->nfiles == 0)
		usage();
}

int main(int argc, char **argv)
{
	struct bench_opts o = {
		.size_bytes = 1024ull << 20, .nfiles = 10000, .dfs_dir = "/bench",
		.replications = { 1, 3 }, .nreplications = 2, .drop_caches = geteuid() == 0,
		.threads = { 1, 8 }, .nthreads = 2, .seq = 1, .meta = 1, .rounds = 3,
	};
	parse_args(argc, argv, &o);
	dfs_client *c;
	int rc = dfs_connect(NULL, &c);
	if (rc < 0)
		die("connect", rc);
	rc = dfs_mkdir(c, o.dfs_dir, 0755, DFS_MKDIR_PARENTS);
	if (rc < 0)
		die(o.dfs_dir, rc);
	printf("%-46s %12s %12s %9s\n", "workload", "local disk", "dfs", "dfs/local");
	if (o.seq)
		bench_sequential(c, &o);
	if (o.meta)
		bench_metadata(&o);
	dfs_delete(c, o.dfs_dir, 1);
	dfs_disconnect(c);
	return 0;
}
