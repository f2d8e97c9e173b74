/* test-libdfs-io.c: the libdfs data path against a real cluster.
 *
 * Starts one dfs-namenode (formatted into a temp dir) and three
 * dfs-datanodes on ephemeral loopback ports, waits until the namenode
 * reports three live datanodes, then writes and reads files through
 * libdfs and compares every byte with an in-memory model: several sizes
 * (0 .. several 1 MiB blocks), random pwrite into existing data, sparse
 * files, truncate shrink and grow, append, read-your-writes in one handle.
 * It checks that blocks have three distinct replicas, SIGKILLs one
 * datanode and reads everything again. Random data comes from a printed
 * fixed seed (DFS_TEST_SEED=N runs another).
 *
 * Binaries: $DFS_BUILDDIR/namenode/dfs-namenode and
 * $DFS_BUILDDIR/datanode/dfs-datanode. Every process is killed and
 * reaped and the temp dir removed on any exit (atexit + signals). */
#include <dfs.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define N_DATANODES 3
#define BLOCK_SIZE (1u << 20)
#define START_TIMEOUT_MS 30000
#define LIVE_TIMEOUT_MS 30000
#define TEST_TIMEOUT_S 600
#define FILES_MAX 16

static char tmpdir[256];
static pid_t nn_pid = -1;
static pid_t dn_pid[N_DATANODES] = { -1, -1, -1 };
static uint64_t seed;
static uint64_t rng;
static bool verbose;

/* ---- cleanup: every exit path kills, reaps and removes ---- */

static void kill_reap(pid_t *pid)
{
	if (*pid > 0) {
		kill(*pid, SIGKILL);
		waitpid(*pid, NULL, 0);
	}
	*pid = -1;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(path);
}

static void cleanup(void)
{
	for (int i = 0; i < N_DATANODES; i++)
		kill_reap(&dn_pid[i]);
	kill_reap(&nn_pid);
	if (tmpdir[0] != '\0' && getenv("DFS_TEST_KEEP") == NULL)
		nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	tmpdir[0] = '\0';
}

static void on_signal(int sig)
{
	(void)sig;
	cleanup(); /* not strictly async-signal-safe (nftw), but we exit next */
	_exit(sig == SIGALRM ? 3 : sig == SIGABRT || sig == SIGSEGV ? 134 : 2);
}

static void tail_log(const char *name)
{
	char path[512], line[1024];
	snprintf(path, sizeof(path), "%s/%s.log", tmpdir, name);
	FILE *fp = fopen(path, "r");
	if (fp == NULL)
		return;
	long n = 0;
	while (fgets(line, sizeof(line), fp) != NULL)
		n++;
	rewind(fp);
	fprintf(stderr, "---- last lines of %s.log ----\n", name);
	for (long i = 0; fgets(line, sizeof(line), fp) != NULL; i++)
		if (i >= n - 25)
			fputs(line, stderr);
	fclose(fp);
}

static void fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), noreturn));
static void fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "FAIL %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(reproduce with DFS_TEST_SEED=%" PRIu64 ")\n", seed);
	tail_log("namenode");
	for (int i = 0; i < N_DATANODES; i++) {
		char n[32];
		snprintf(n, sizeof(n), "datanode%d", i);
		tail_log(n);
	}
	exit(1);
}

#define CHECK(cond, ...) do { if (!(cond)) fail(__FILE__, __LINE__, __VA_ARGS__); } while (0)
/* Evaluates rc once: it is often a call such as dfs_close(f). */
#define CHECK_RC(rc, what)                                                           \
	do {                                                                         \
		long long rc_ = (long long)(rc);                                     \
		CHECK(rc_ >= 0, "%s: %s (%lld)", (what), dfs_strerror((int)rc_), rc_); \
	} while (0)

/* ---- processes ---- */

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

static pid_t spawn(char *const argv[], const char *log_name)
{
	char log[512];
	snprintf(log, sizeof(log), "%s/%s.log", tmpdir, log_name);
	pid_t pid = fork();
	CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		/* Dies with the test even when the test cannot run its atexit
		 * cleanup (a sanitizer report ends it with _exit). */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execv(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	return pid;
}

/* Waits until path holds "host:port\n"; copies it (without newline) to out. */
static void wait_port_file(const char *path, pid_t pid, const char *name, char *out, size_t len)
{
	int64_t deadline = now_ms() + START_TIMEOUT_MS;
	while (now_ms() < deadline) {
		FILE *fp = fopen(path, "r");
		if (fp != NULL) {
			char buf[300];
			bool ok = fgets(buf, sizeof(buf), fp) != NULL && strchr(buf, '\n') != NULL;
			fclose(fp);
			if (ok) {
				buf[strcspn(buf, "\n")] = '\0';
				snprintf(out, len, "%s", buf);
				return;
			}
		}
		int status;
		CHECK(waitpid(pid, &status, WNOHANG) == 0, "%s exited before listening (status %d)",
		      name, status);
		sleep_ms(20);
	}
	fail(__FILE__, __LINE__, "%s did not write %s within %d ms", name, path, START_TIMEOUT_MS);
}

static void write_text(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");
	CHECK(fp != NULL, "%s: %s", path, strerror(errno));
	fputs(text, fp);
	fclose(fp);
}

static void start_namenode(const char *bindir, char *addr, size_t addr_len)
{
	char bin[512], conf[512], text[1024], portf[512];
	snprintf(bin, sizeof(bin), "%s/namenode/dfs-namenode", bindir);
	snprintf(conf, sizeof(conf), "%s/namenode.conf", tmpdir);
	snprintf(portf, sizeof(portf), "%s/namenode.port", tmpdir);
	snprintf(text, sizeof(text),
		 "name_dir = %s/name\nlisten_host = 127.0.0.1\nport = 0\n"
		 "default_replication = 3\n", tmpdir);
	write_text(conf, text);
	char *fmt_argv[] = { bin, "-c", conf, "--format", NULL };
	pid_t pid = spawn(fmt_argv, "namenode-format");
	int status = 0;
	int64_t deadline = now_ms() + START_TIMEOUT_MS;
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (now_ms() > deadline) {
			kill_reap(&pid);
			tail_log("namenode-format");
			fail(__FILE__, __LINE__, "dfs-namenode --format did not finish");
		}
		sleep_ms(20);
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		tail_log("namenode-format");
		fail(__FILE__, __LINE__, "dfs-namenode --format failed (status %d)", status);
	}
	char *argv[] = { bin, "-c", conf, "-s", "port=0", "--port-file", portf, NULL };
	nn_pid = spawn(argv, "namenode");
	wait_port_file(portf, nn_pid, "dfs-namenode", addr, addr_len);
}

static void start_datanode(const char *bindir, int i, const char *nn_addr)
{
	char bin[512], conf[512], text[1024], portf[512], name[32], addr[300];
	snprintf(bin, sizeof(bin), "%s/datanode/dfs-datanode", bindir);
	snprintf(conf, sizeof(conf), "%s/datanode%d.conf", tmpdir, i);
	snprintf(portf, sizeof(portf), "%s/datanode%d.port", tmpdir, i);
	snprintf(name, sizeof(name), "datanode%d", i);
	snprintf(text, sizeof(text),
		 "data_dirs = %s/data%d\nnamenodes = %s\nlisten_host = 127.0.0.1\nport = 0\n"
		 "heartbeat_ms = 200\n", tmpdir, i, nn_addr);
	write_text(conf, text);
	char *argv[] = { bin, "-c", conf, "-s", "port=0", "--port-file", portf, NULL };
	dn_pid[i] = spawn(argv, name);
	wait_port_file(portf, dn_pid[i], name, addr, sizeof(addr));
	if (verbose)
		printf("datanode%d at %s\n", i, addr);
}

static void client_log(void *arg, int level, const char *msg)
{
	(void)arg;
	if (level >= 4 || verbose)
		fprintf(stderr, "libdfs[%d]: %s\n", level, msg);
}

static unsigned count_live(dfs_client *c)
{
	struct dfs_datanode_info *dn;
	size_t n;
	unsigned live = 0;
	if (dfs_datanode_report(c, &dn, &n) < 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (strcmp(dn[i].state, "live") == 0)
			live++;
	free(dn);
	return live;
}

/* ---- the model: what each file must hold ---- */

struct model {
	char path[64];
	uint8_t *data;
	size_t size;
};

static struct model files[FILES_MAX];
static int n_files;

static uint64_t next_rand(void)
{
	/* xorshift64* */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 2685821657736338717ull;
}

static void fill_random(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(next_rand() >> 56);
}

static struct model *new_model(const char *path)
{
	CHECK(n_files < FILES_MAX, "too many files");
	struct model *m = &files[n_files++];
	snprintf(m->path, sizeof(m->path), "%s", path);
	m->data = NULL;
	m->size = 0;
	return m;
}

static void model_resize(struct model *m, size_t size)
{
	m->data = realloc(m->data, size + 1);
	CHECK(m->data != NULL, "out of memory");
	if (size > m->size)
		memset(m->data + m->size, 0, size - m->size);
	m->size = size;
}

/* Writes len random bytes at off through f and into m. */
static void write_at(dfs_file *f, struct model *m, size_t off, size_t len)
{
	uint8_t *buf = malloc(len + 1);
	CHECK(buf != NULL, "out of memory");
	fill_random(buf, len);
	size_t done = 0;
	while (done < len) { /* in pieces of random sizes, like a real writer */
		size_t piece = 1 + (size_t)(next_rand() % (300 * 1024));
		if (piece > len - done)
			piece = len - done;
		ssize_t n = dfs_pwrite(f, buf + done, piece, off + done);
		CHECK_RC(n, "dfs_pwrite");
		CHECK((size_t)n == piece, "short write %zd of %zu", n, piece);
		done += piece;
	}
	if (off + len > m->size)
		model_resize(m, off + len);
	memcpy(m->data + off, buf, len);
	free(buf);
}

static void compare(const struct model *m, const uint8_t *got, size_t off, size_t len,
		    const char *how)
{
	if (len == 0 || memcmp(m->data + off, got, len) == 0)
		return;
	size_t i = 0;
	while (m->data[off + i] == got[i])
		i++;
	fail(__FILE__, __LINE__, "%s: %s: byte %zu is 0x%02x, expected 0x%02x", m->path, how,
	     off + i, got[i], m->data[off + i]);
}

/* Reads the whole file sequentially (odd chunk sizes) and at random
 * offsets, and checks its size. */
static void verify(dfs_client *c, const struct model *m)
{
	struct dfs_stat st;
	dfs_file *f;
	CHECK_RC(dfs_stat(c, m->path, &st), m->path);
	CHECK(st.size == m->size, "%s: size %" PRIu64 ", expected %zu", m->path, st.size, m->size);
	CHECK_RC(dfs_open(c, m->path, O_RDONLY, 0, &f), m->path);
	uint8_t *buf = malloc(m->size + 70000);
	CHECK(buf != NULL, "out of memory");
	size_t done = 0;
	for (;;) {
		size_t want = 1 + (size_t)(next_rand() % 70000);
		ssize_t n = dfs_read(f, buf + done, want);
		CHECK_RC(n, "dfs_read");
		if (n == 0)
			break;
		done += (size_t)n;
		CHECK(done <= m->size, "%s: read past the end", m->path);
	}
	CHECK(done == m->size, "%s: read %zu bytes, expected %zu", m->path, done, m->size);
	compare(m, buf, 0, m->size, "sequential read");
	for (int i = 0; i < 20 && m->size > 0; i++) {
		size_t off = (size_t)(next_rand() % m->size);
		size_t len = 1 + (size_t)(next_rand() % 70000);
		ssize_t n = dfs_pread(f, buf, len, off);
		CHECK_RC(n, "dfs_pread");
		size_t expect = len < m->size - off ? len : m->size - off;
		CHECK((size_t)n == expect, "%s: pread %zu at %zu gave %zd", m->path, len, off, n);
		compare(m, buf, off, expect, "random read");
	}
	CHECK(dfs_pread(f, buf, 10, m->size) == 0, "%s: read at EOF not 0", m->path);
	CHECK_RC(dfs_close(f), "close after read");
	free(buf);
}

/* ---- the scenarios ---- */

static void test_sizes(dfs_client *c)
{
	static const size_t sizes[] = { 0, 1, 4095, 4096, (1u << 20) + 3,
					3 * (1u << 20) + (1u << 19) + 17 };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char path[64];
		dfs_file *f;
		snprintf(path, sizeof(path), "/io/size-%zu", sizes[i]);
		struct model *m = new_model(path);
		CHECK_RC(dfs_open_ex(c, path, O_WRONLY | O_CREAT | O_EXCL, 0644, 3, BLOCK_SIZE, &f),
			 path);
		if (sizes[i] > 0)
			write_at(f, m, 0, sizes[i]);
		CHECK_RC(dfs_close(f), "close");
		verify(c, m);
	}
	dfs_file *f;
	CHECK(dfs_open(c, "/io/size-1", O_WRONLY | O_CREAT | O_EXCL, 0644, &f) == -EEXIST,
	      "O_EXCL on an existing file must fail");
}

static struct model *find_model(const char *path)
{
	for (int i = 0; i < n_files; i++)
		if (strcmp(files[i].path, path) == 0)
			return &files[i];
	fail(__FILE__, __LINE__, "no model for %s", path);
}

static void test_random_writes(dfs_client *c)
{
	struct model *m = find_model("/io/size-3670033");
	dfs_file *f;
	uint8_t buf[5000];
	CHECK_RC(dfs_open(c, m->path, O_RDWR, 0, &f), m->path);
	for (int i = 0; i < 12; i++) {
		size_t off = (size_t)(next_rand() % (m->size + 100000));
		size_t len = 1 + (size_t)(next_rand() % 300000);
		if (i == 0) { /* straddle a block boundary */
			off = BLOCK_SIZE - 1000;
			len = 5000;
		}
		write_at(f, m, off, len);
		/* read your own writes in the same handle */
		size_t rl = len < sizeof(buf) ? len : sizeof(buf);
		ssize_t n = dfs_pread(f, buf, rl, off);
		CHECK(n == (ssize_t)rl, "pread after pwrite: %zd", n);
		compare(m, buf, off, rl, "read after write in one handle");
	}
	CHECK_RC(dfs_close(f), "close");
	verify(c, m);
	/* O_CREAT of a file that exists opens it: a write into its first
	 * block rewrites that block (a handle that created the file would
	 * add it without looking) */
	CHECK_RC(dfs_open(c, m->path, O_WRONLY | O_CREAT, 0644, &f), m->path);
	write_at(f, m, 10, 100);
	CHECK_RC(dfs_close(f), "close after O_CREAT of an existing file");
	verify(c, m);
}

/* Small random writes over more blocks than a handle keeps streams open
 * (DFSC_STREAMS_MAX is 16): streams are ended for others and blocks
 * written, ended and then written again are reopened, with an fsync in
 * the middle and no read in between to end them early. */
static void test_many_blocks(dfs_client *c)
{
	enum { BLOCKS = 40, WRITES = 3000 };
	struct model *m = new_model("/io/many-blocks");
	dfs_file *f;
	CHECK_RC(dfs_open_ex(c, m->path, O_RDWR | O_CREAT | O_EXCL, 0644, 3, BLOCK_SIZE, &f),
		 m->path);
	write_at(f, m, 0, (size_t)BLOCKS * BLOCK_SIZE - 12345); /* every block exists */
	CHECK_RC(dfs_close(f), "close after the sequential fill");
	CHECK_RC(dfs_open(c, m->path, O_RDWR, 0, &f), m->path);
	for (int i = 0; i < WRITES; i++) {
		size_t off = (size_t)(next_rand() % ((size_t)BLOCKS * BLOCK_SIZE + 50000));
		size_t len = 1 + (size_t)(next_rand() % 8192);
		write_at(f, m, off, len);
		if (i == WRITES / 2)
			CHECK_RC(dfs_fsync(f), "fsync among random writes");
	}
	CHECK_RC(dfs_close(f), "close");
	verify(c, m);
}

static void test_sparse(dfs_client *c)
{
	struct model *m = new_model("/io/sparse");
	dfs_file *f;
	CHECK_RC(dfs_open_ex(c, m->path, O_RDWR | O_CREAT, 0600, 3, BLOCK_SIZE, &f), m->path);
	write_at(f, m, 5 * BLOCK_SIZE + 100, 3000);       /* blocks 0..4 are holes */
	write_at(f, m, BLOCK_SIZE + BLOCK_SIZE / 2, 100); /* half of block 1 a gap */
	write_at(f, m, 7 * BLOCK_SIZE - 10, 20);          /* crosses into block 7 */
	CHECK_RC(dfs_fsync(f), "fsync");
	CHECK_RC(dfs_close(f), "close");
	verify(c, m);
	struct dfs_block_location *bl;
	size_t n;
	CHECK_RC(dfs_block_locations(c, m->path, &bl, &n), "block locations");
	CHECK(n == 4, "sparse file has %zu blocks, expected 4 (1, 5, 6, 7)", n);
	free(bl);
}

static void test_truncate(dfs_client *c)
{
	struct model *m = find_model("/io/size-1048579");
	dfs_file *f;
	CHECK_RC(dfs_truncate(c, m->path, 300000), "truncate shrink");
	model_resize(m, 300000);
	verify(c, m);
	CHECK_RC(dfs_open(c, m->path, O_RDWR, 0, &f), m->path);
	CHECK_RC(dfs_ftruncate(f, 2 * BLOCK_SIZE + 5), "ftruncate grow");
	model_resize(m, 2 * BLOCK_SIZE + 5);
	write_at(f, m, 2 * BLOCK_SIZE, 3); /* inside the grown, never-written tail */
	struct dfs_stat st;
	CHECK_RC(dfs_fstat(f, &st), "fstat");
	CHECK(st.size == m->size, "fstat size %" PRIu64 ", expected %zu", st.size, m->size);
	CHECK_RC(dfs_close(f), "close");
	verify(c, m);
	/* shrink inside a block, then grow again: the old bytes must not return */
	CHECK_RC(dfs_truncate(c, m->path, 1000), "truncate shrink 2");
	model_resize(m, 1000);
	CHECK_RC(dfs_truncate(c, m->path, 200000), "truncate grow 2");
	model_resize(m, 200000);
	verify(c, m);
	/* shrink, then write past the new end inside the same block: the
	 * old bytes in between must read as zeros (WritePacket.truncate) */
	CHECK_RC(dfs_truncate(c, m->path, 500), "truncate shrink 3");
	model_resize(m, 500);
	CHECK_RC(dfs_open(c, m->path, O_WRONLY, 0, &f), m->path);
	write_at(f, m, 150000, 10);
	CHECK_RC(dfs_close(f), "close");
	verify(c, m);
	/* O_TRUNC */
	CHECK_RC(dfs_open(c, "/io/size-4096", O_WRONLY | O_TRUNC, 0, &f), "O_TRUNC");
	CHECK_RC(dfs_close(f), "close");
	model_resize(find_model("/io/size-4096"), 0);
	verify(c, find_model("/io/size-4096"));
}

/* A handle keeps the credentials it was opened with, as a local fd does:
 * its block calls and COMPLETE succeed although the file was made
 * read-only after the open and the thread now acts for a user who may not
 * touch the file (dfs-fuse serves one handle from many threads, each set
 * to the uid of its current request). */
static void test_handle_cred(dfs_client *c)
{
	dfs_file *f;
	CHECK_RC(dfs_mkdir(c, "/io/cred", 0777, 0), "mkdir /io/cred");
	CHECK_RC(dfs_set_thread_cred(c, 1000, 1000, NULL, 0), "cred 1000");
	struct model *m = new_model("/io/cred/ro");
	CHECK_RC(dfs_open(c, m->path, O_WRONLY | O_CREAT | O_EXCL, 0600, &f), m->path);
	write_at(f, m, 0, BLOCK_SIZE + 1000);
	CHECK_RC(dfs_chmod(c, m->path, 0400), "chmod 0400 by the owner");
	CHECK_RC(dfs_set_thread_cred(c, 2000, 2000, NULL, 0), "cred 2000");
	write_at(f, m, BLOCK_SIZE + 1000, 2 * BLOCK_SIZE); /* new blocks: ADD_BLOCK */
	CHECK_RC(dfs_fsync(f), "fsync as another thread user");
	write_at(f, m, 10, 100); /* reopens block 0: OPEN_BLOCK */
	CHECK_RC(dfs_close(f), "close as another thread user");
	/* a handle of uid 2000 itself is refused at its first block call */
	CHECK_RC(dfs_open(c, m->path, O_WRONLY, 0, &f), "open as 2000");
	CHECK(dfs_pwrite(f, "x", 1, 0) == 1, "buffered write");
	int rc = dfs_close(f);
	CHECK(rc == -EACCES, "uid 2000 wrote a 0400 file of uid 1000: %d", rc);
	CHECK_RC(dfs_set_thread_cred(c, 0, 0, NULL, 0), "cred 0");
	verify(c, m);
}

/* dfs_fsetattr_deferred: what a writer may keep for its COMPLETE is kept
 * (the namenode still has the old attributes, fstat shows the new), lands
 * with the close, and a write after utimes makes the mtime the close's;
 * what would take a right away, or meets no unpublished write, is not. */
static void test_deferred_attrs(dfs_client *c)
{
	dfs_file *f;
	struct dfs_stat st;
	struct model *m = new_model("/io/kept-attrs");
	CHECK_RC(dfs_open(c, m->path, O_WRONLY | O_CREAT | O_EXCL, 0600, &f), m->path);
	struct dfs_setattr sa = { .valid = DFS_SET_MODE, .mode = 0644 };
	CHECK(dfs_fsetattr_deferred(f, &sa, &st) == 0, "kept with nothing written");
	write_at(f, m, 0, 5000);
	sa = (struct dfs_setattr){ .valid = DFS_SET_MTIME | DFS_SET_ATIME,
				   .mtime = { 1000000000, 5 }, .atime = { 1000000001, 0 } };
	CHECK(dfs_fsetattr_deferred(f, &sa, &st) == 1, "utimes not kept");
	CHECK(st.mtime.tv_sec == 1000000000 && st.size == 5000, "kept attributes");
	sa = (struct dfs_setattr){ .valid = DFS_SET_UID | DFS_SET_GID, .uid = st.uid, .gid = st.gid };
	CHECK(dfs_fsetattr_deferred(f, &sa, &st) == 1, "chown to the owner not kept");
	sa = (struct dfs_setattr){ .valid = DFS_SET_MODE, .mode = 0644 };
	CHECK(dfs_fsetattr_deferred(f, &sa, &st) == 1, "chmod 0644 not kept");
	CHECK((st.mode & 07777) == 0644, "kept mode %o", st.mode & 07777);
	sa.mode = 0640; /* takes o+r away: at once or never */
	CHECK(dfs_fsetattr_deferred(f, &sa, NULL) == 0, "chmod 0640 kept");
	sa = (struct dfs_setattr){ .valid = DFS_SET_UID, .uid = 4321 };
	CHECK(dfs_fsetattr_deferred(f, &sa, NULL) == 0, "chown to another kept");
	CHECK_RC(dfs_stat(c, m->path, &st), "stat");
	CHECK((st.mode & 07777) == 0600 && st.mtime.tv_sec != 1000000000,
	      "published before the close: mode %o", st.mode & 07777);
	CHECK_RC(dfs_fstat(f, &st), "fstat");
	CHECK((st.mode & 07777) == 0644 && st.mtime.tv_sec == 1000000000 && st.size == 5000,
	      "fstat of the writer: mode %o mtime %lld", st.mode & 07777,
	      (long long)st.mtime.tv_sec);
	/* the same from the handle alone, while its open is recent enough */
	memset(&st, 0, sizeof(st));
	CHECK_RC(dfs_fstat_recent(f, 600000, &st), "fstat_recent");
	CHECK((st.mode & 07777) == 0644 && st.mtime.tv_sec == 1000000000 && st.size == 5000 &&
	      st.ino != 0 && S_ISREG(st.mode),
	      "fstat_recent of the writer: mode %o mtime %lld size %llu", st.mode & 07777,
	      (long long)st.mtime.tv_sec, (unsigned long long)st.size);
	struct timespec two_ms = { 0, 2000000 }; /* ages the open past 1 ms */
	nanosleep(&two_ms, NULL);
	CHECK(dfs_fstat_recent(f, 1, &st) == -ESTALE, "fstat_recent of an old open");
	CHECK_RC(dfs_close(f), "close");
	CHECK_RC(dfs_stat(c, m->path, &st), "stat");
	CHECK((st.mode & 07777) == 0644 && st.mtime.tv_sec == 1000000000 &&
	      st.mtime.tv_nsec == 5 && st.atime.tv_sec == 1000000001,
	      "after the close: mode %o mtime %lld.%ld", st.mode & 07777,
	      (long long)st.mtime.tv_sec, st.mtime.tv_nsec);
	verify(c, m);
	/* a write after the utimes: the close stamps its own time */
	CHECK_RC(dfs_open(c, m->path, O_WRONLY, 0, &f), m->path);
	write_at(f, m, 100, 10);
	sa = (struct dfs_setattr){ .valid = DFS_SET_MTIME, .mtime = { 1000000000, 0 } };
	CHECK(dfs_fsetattr_deferred(f, &sa, NULL) == 1, "utimes not kept");
	write_at(f, m, 200, 10);
	CHECK_RC(dfs_close(f), "close");
	CHECK_RC(dfs_stat(c, m->path, &st), "stat");
	CHECK(st.mtime.tv_sec > 1500000000, "a write after utimes kept mtime %lld",
	      (long long)st.mtime.tv_sec);
	verify(c, m);
}

static void test_append(dfs_client *c)
{
	struct model *m = find_model("/io/size-4095");
	dfs_file *f;
	CHECK_RC(dfs_open(c, m->path, O_WRONLY | O_APPEND, 0, &f), m->path);
	for (int i = 0; i < 3; i++) {
		size_t len = 1 + (size_t)(next_rand() % 700000);
		uint8_t *buf = malloc(len);
		CHECK(buf != NULL, "out of memory");
		fill_random(buf, len);
		ssize_t n = dfs_write(f, buf, len);
		CHECK(n == (ssize_t)len, "append write: %zd", n);
		size_t old = m->size;
		model_resize(m, old + len);
		memcpy(m->data + old, buf, len);
		free(buf);
		CHECK(dfs_lseek(f, 0, SEEK_END) == (int64_t)m->size, "SEEK_END after append");
	}
	CHECK_RC(dfs_close(f), "close");
	verify(c, m);
	/* small appends, each through a new handle (echo >> file) */
	m = new_model("/io/log");
	for (int i = 0; i < 4; i++) {
		char line[16];
		int len = snprintf(line, sizeof(line), "line%d\n", i);
		int flags = i == 0 ? O_WRONLY | O_CREAT | O_TRUNC : O_WRONLY | O_APPEND;
		CHECK_RC(dfs_open(c, m->path, flags, 0644, &f), m->path);
		CHECK(dfs_write(f, line, (size_t)len) == len, "append line %d", i);
		CHECK_RC(dfs_close(f), "close");
		model_resize(m, m->size + (size_t)len);
		memcpy(m->data + m->size - (size_t)len, line, (size_t)len);
		verify(c, m);
	}
}

static void check_replicas(dfs_client *c, const char *path, unsigned want)
{
	struct dfs_block_location *bl;
	size_t n;
	CHECK_RC(dfs_block_locations(c, path, &bl, &n), "block locations");
	CHECK(n > 0, "%s: no blocks", path);
	for (size_t i = 0; i < n; i++) {
		CHECK(bl[i].nlocations == want, "%s block %" PRIu64 ": %u replicas, expected %u",
		      path, bl[i].index, bl[i].nlocations, want);
		for (unsigned a = 0; a < bl[i].nlocations; a++)
			for (unsigned b = a + 1; b < bl[i].nlocations; b++)
				CHECK(strcmp(bl[i].locations[a], bl[i].locations[b]) != 0,
				      "%s block %" PRIu64 ": replica %s twice", path, bl[i].index,
				      bl[i].locations[a]);
	}
	free(bl);
}

/* Which of our datanodes holds the first listed replica of path's first
 * block (last_block: the last listed replica of its last block): killing
 * the first forces readers over to another replica; the last is the tail
 * of the pipeline that rewrites that block. */
static int replica_datanode(dfs_client *c, const char *path, bool last_block)
{
	struct dfs_block_location *bl;
	size_t n;
	CHECK_RC(dfs_block_locations(c, path, &bl, &n), "block locations");
	size_t b = last_block ? n - 1 : 0;
	CHECK(n > 0 && bl[b].nlocations > 0, "%s: no replicas", path);
	const char *first = bl[b].locations[last_block ? bl[b].nlocations - 1 : 0];
	int found = -1;
	for (int i = 0; i < N_DATANODES && found < 0; i++) {
		char portf[512], addr[300];
		snprintf(portf, sizeof(portf), "%s/datanode%d.port", tmpdir, i);
		wait_port_file(portf, dn_pid[i], "datanode", addr, sizeof(addr));
		if (strcmp(addr, first) == 0)
			found = i;
	}
	CHECK(found >= 0, "%s: first replica %s is none of our datanodes", path, first);
	free(bl);
	return found;
}

/* A datanode of an open pipeline dies (every datanode holds a replica at
 * replication 3 on three datanodes): pipeline recovery drops it and the
 * write goes on with the others; fsync and close succeed and, checked by
 * the final verify() of every model, not a byte is lost or duplicated. */
static void test_pipeline_failure(dfs_client *c)
{
	const size_t len = 3 * BLOCK_SIZE / 2;
	dfs_file *f;
	struct model *m = new_model("/io/recovered");
	CHECK_RC(dfs_open_ex(c, m->path, O_WRONLY | O_CREAT, 0644, 3, BLOCK_SIZE, &f), m->path);
	write_at(f, m, 0, len);
	CHECK_RC(dfs_fsync(f), "fsync before the kill");
	/* The next write rewrites the partial last block, and the last
	 * datanode of that pipeline is dead (when the namenode had heard from
	 * every replica: it lists confirmed ones first). The client sends the
	 * block's last packet before it reads the ack that shows the failure,
	 * so the others finish the failed stream, and the recovery must still
	 * take their replicas. The pipelines of the new blocks after it hold
	 * the dead datanode anywhere, first included, until the namenode
	 * notices. */
	int victim = replica_datanode(c, m->path, true);
	kill_reap(&dn_pid[victim]);
	printf("killed datanode%d (last replica of the last block of %s)\n", victim, m->path);
	int64_t t0 = now_ms();
	for (int i = 1; i <= 4; i++)
		write_at(f, m, i * len, len);
	CHECK_RC(dfs_fsync(f), "fsync after the kill");
	CHECK_RC(dfs_close(f), "close after the kill");
	printf("pipeline recovery: %lld ms for %zu bytes after the kill\n",
	       (long long)(now_ms() - t0), 4 * len);
	CHECK(now_ms() - t0 < 30000, "writing past the dead datanode took %lld ms",
	      (long long)(now_ms() - t0));
}

/* The namespace calls through the library (the namenode's own tests go
 * deeper): paths and *_at forms, symlinks, links, rename, paged readdir. */
static void test_namespace(dfs_client *c)
{
	struct dfs_stat st, st2;
	char buf[256];
	dfs_file *f;
	CHECK_RC(dfs_mkdir(c, "/ns/a/b", 0750, DFS_MKDIR_PARENTS), "mkdir -p");
	CHECK(dfs_mkdir(c, "/ns/a", 0750, 0) == -EEXIST, "mkdir existing");
	CHECK_RC(dfs_mkdir(c, "/ns/a", 0750, DFS_MKDIR_PARENTS), "mkdir -p existing");
	CHECK_RC(dfs_stat(c, "/ns/a/b", &st), "stat");
	CHECK(S_ISDIR(st.mode) && (st.mode & 07777) == 0750, "mode %o", st.mode);
	CHECK(dfs_lookup(c, st.ino, "..", &st2) == -EINVAL, "lookup ..");
	CHECK(dfs_mkdir(c, "/ns/x/../y", 0700, 0) == -EINVAL, "dot-dot path");
	char longp[300];
	longp[0] = '/';
	memset(longp + 1, 'n', 256); /* a 256-byte name */
	longp[257] = '\0';
	CHECK(dfs_mkdir(c, longp, 0700, 0) == -ENAMETOOLONG, "long name");
	longp[256] = '\0'; /* 255 bytes: allowed */
	CHECK_RC(dfs_mkdir(c, longp, 0700, 0), "255-byte name");
	CHECK_RC(dfs_rmdir(c, longp), "rmdir 255-byte name");
	CHECK_RC(dfs_create_at(c, st.ino, "f", O_RDWR | O_CREAT, 0640, &f, &st2), "create_at");
	CHECK(dfs_write(f, "hello", 5) == 5, "write");
	CHECK_RC(dfs_close(f), "close");
	CHECK_RC(dfs_lookup(c, st.ino, "f", &st2), "lookup");
	CHECK(S_ISREG(st2.mode) && st2.size == 5, "size %" PRIu64, st2.size);
	CHECK_RC(dfs_symlink(c, "b/f", "/ns/a/lnk"), "symlink");
	CHECK(dfs_readlink(c, 0, "/ns/a/lnk", buf, sizeof(buf)) == 3 && strcmp(buf, "b/f") == 0,
	      "readlink");
	CHECK_RC(dfs_open(c, "/ns/a/lnk", O_RDONLY, 0, &f), "open through symlink");
	CHECK(dfs_read(f, buf, sizeof(buf)) == 5 && memcmp(buf, "hello", 5) == 0, "read link");
	CHECK_RC(dfs_close(f), "close");
	CHECK_RC(dfs_open(c, "/ns/a/lnk", O_WRONLY | O_CREAT | O_TRUNC, 0644, &f), "creat link");
	CHECK(dfs_write(f, "bye", 3) == 3, "write through link");
	CHECK_RC(dfs_close(f), "close");
	CHECK_RC(dfs_stat(c, "/ns/a/b/f", &st2), "stat target");
	CHECK(st2.size == 3, "O_CREAT|O_TRUNC through a symlink: target size %" PRIu64, st2.size);
	CHECK_RC(dfs_link(c, "/ns/a/b/f", "/ns/a/hard"), "link");
	CHECK_RC(dfs_stat(c, "/ns/a/hard", &st2), "stat hard");
	CHECK(st2.nlink == 2, "nlink %u", st2.nlink);
	CHECK_RC(dfs_rename(c, "/ns/a/hard", "/ns/hard2", 0), "rename");
	CHECK(dfs_rename(c, "/ns/hard2", "/ns/a/b/f", DFS_RENAME_NOREPLACE) == -EEXIST,
	      "rename noreplace");
	CHECK(dfs_rmdir(c, "/ns/a") == -ENOTEMPTY, "rmdir non-empty");
	CHECK_RC(dfs_chmod(c, "/ns/hard2", 0600), "chmod");
	CHECK_RC(dfs_stat(c, "/ns/hard2", &st2), "stat");
	CHECK((st2.mode & 07777) == 0600, "chmod mode %o", st2.mode);
	struct timespec ts[2] = { { 1000, 5 }, { 2000, 7 } };
	CHECK_RC(dfs_utimens(c, "/ns/hard2", ts), "utimens");
	CHECK_RC(dfs_stat(c, "/ns/hard2", &st2), "stat");
	CHECK(st2.mtime.tv_sec == 2000 && st2.mtime.tv_nsec == 7, "mtime");
	CHECK_RC(dfs_unlink(c, "/ns/hard2"), "unlink");

	/* a listing longer than several readdir pages */
	const int n_entries = 2345;
	CHECK_RC(dfs_mkdir(c, "/ns/many", 0755, 0), "mkdir many");
	CHECK_RC(dfs_stat(c, "/ns/many", &st), "stat many");
	for (int i = 0; i < n_entries; i++) {
		char name[32];
		snprintf(name, sizeof(name), "e%05d", i);
		CHECK_RC(dfs_mknod_at(c, st.ino, name, S_IFIFO | 0644, 0, NULL), "mknod");
	}
	dfs_dir *d;
	struct dfs_dirent ent;
	int count = 0, r;
	char prev[32] = "";
	CHECK_RC(dfs_opendir(c, 0, "/ns/many", &d), "opendir");
	while ((r = dfs_readdir(d, &ent)) == 1) {
		CHECK(strcmp(prev, ent.name) < 0, "readdir order: %s after %s", ent.name, prev);
		CHECK(S_ISFIFO(ent.st.mode), "entry type");
		snprintf(prev, sizeof(prev), "%s", ent.name);
		count++;
	}
	CHECK_RC(r, "readdir");
	CHECK(count == n_entries, "readdir gave %d entries, expected %d", count, n_entries);
	CHECK_RC(dfs_seekdir_name(d, "e02000"), "seekdir");
	CHECK(dfs_readdir(d, &ent) == 1 && strcmp(ent.name, "e02001") == 0, "after seekdir");
	dfs_closedir(d);
	CHECK(dfs_opendir(c, 0, "/ns/a/b/f", &d) == -ENOTDIR, "opendir on a file");
	CHECK_RC(dfs_delete(c, "/ns", 1), "delete -r");
	CHECK(dfs_stat(c, "/ns", &st) == -ENOENT, "deleted tree still there");
	struct dfs_statfs sf;
	CHECK_RC(dfs_statfs(c, &sf), "statfs");
	CHECK(sf.live_datanodes == N_DATANODES && sf.capacity > 0, "statfs: %u live",
	      sf.live_datanodes);
}

/* The record of dfs_dir_stat_recent equals what the namenode says of the
 * directory right after each kind of entry change; other mutations empty
 * it, and it ages out. */
static void check_recent(dfs_client *c, uint64_t dir, const char *what)
{
	struct dfs_stat rec, live;
	CHECK(dfs_dir_stat_recent(c, dir, 60000, &rec) == 0, "%s: no record of the directory", what);
	CHECK_RC(dfs_stat_ino(c, dir, &live), what);
	CHECK(rec.ino == live.ino && rec.mode == live.mode && rec.nlink == live.nlink &&
	      rec.uid == live.uid && rec.gid == live.gid &&
	      rec.mtime.tv_sec == live.mtime.tv_sec && rec.mtime.tv_nsec == live.mtime.tv_nsec &&
	      rec.ctime.tv_sec == live.ctime.tv_sec && rec.ctime.tv_nsec == live.ctime.tv_nsec,
	      "%s: recorded nlink %u mtime %lld.%09ld, namenode nlink %u mtime %lld.%09ld", what,
	      rec.nlink, (long long)rec.mtime.tv_sec, rec.mtime.tv_nsec, live.nlink,
	      (long long)live.mtime.tv_sec, live.mtime.tv_nsec);
}

static void test_dir_recent(dfs_client *c)
{
	struct dfs_stat d1, d2, st;
	dfs_file *f;
	CHECK_RC(dfs_mkdir(c, "/recent", 0755, 0), "mkdir");
	CHECK_RC(dfs_mkdir(c, "/recent/d1", 0755, 0), "mkdir d1");
	CHECK_RC(dfs_mkdir(c, "/recent/d2", 0755, 0), "mkdir d2");
	CHECK_RC(dfs_stat(c, "/recent/d1", &d1), "stat d1");
	CHECK_RC(dfs_stat(c, "/recent/d2", &d2), "stat d2");
	CHECK(dfs_dir_stat_recent(c, d1.ino, 60000, &st) == -ENOENT, "record before any change");
	CHECK_RC(dfs_create_at(c, d1.ino, "f", O_WRONLY | O_CREAT | O_EXCL, 0644, &f, &st),
		 "create_at");
	check_recent(c, d1.ino, "create");
	CHECK(dfs_write(f, "x", 1) == 1, "write");
	CHECK_RC(dfs_close(f), "close"); /* block ops keep the record */
	check_recent(c, d1.ino, "create, then write and close");
	CHECK_RC(dfs_mkdir_at(c, d1.ino, "sub", 0755, 0, NULL), "mkdir_at");
	check_recent(c, d1.ino, "mkdir");
	CHECK(dfs_dir_stat_recent(c, d2.ino, 60000, &st) == -ENOENT, "record of an unchanged dir");
	CHECK_RC(dfs_rename_at(c, d1.ino, "sub", d2.ino, "sub2", 0), "rename_at");
	check_recent(c, d1.ino, "rename, source");
	check_recent(c, d2.ino, "rename, destination");
	CHECK_RC(dfs_rename_at(c, d2.ino, "sub2", d2.ino, "sub3", 0), "rename in one dir");
	check_recent(c, d2.ino, "rename within one directory");
	CHECK_RC(dfs_rmdir_at(c, d2.ino, "sub3"), "rmdir_at");
	check_recent(c, d2.ino, "rmdir");
	CHECK_RC(dfs_symlink_at(c, "f", d1.ino, "l", NULL), "symlink_at");
	check_recent(c, d1.ino, "symlink");
	CHECK_RC(dfs_unlink_at(c, d1.ino, "l"), "unlink_at");
	check_recent(c, d1.ino, "unlink");
	/* a setattr or xattr call by inode changes only its target: one on a
	 * file in the directory keeps the record, one on the directory drops
	 * its entry */
	struct dfs_stat fst;
	struct dfs_setattr sa = {.valid = DFS_SET_MODE, .mode = 0600};
	CHECK_RC(dfs_stat(c, "/recent/d1/f", &fst), "stat f");
	CHECK_RC(dfs_setattr(c, fst.ino, NULL, &sa, NULL), "setattr of f by inode");
	check_recent(c, d1.ino, "setattr of a file in it");
	CHECK_RC(dfs_setxattr(c, fst.ino, NULL, "user.k", "v", 1, 0), "setxattr of f");
	check_recent(c, d1.ino, "setxattr of a file in it");
	sa.mode = 0750;
	CHECK_RC(dfs_setattr(c, d1.ino, NULL, &sa, NULL), "setattr of d1 by inode");
	CHECK(dfs_dir_stat_recent(c, d1.ino, 60000, &st) == -ENOENT, "record after its own setattr");
	CHECK_RC(dfs_chmod(c, "/recent/d1", 0700), "chmod");
	CHECK(dfs_dir_stat_recent(c, d1.ino, 60000, &st) == -ENOENT, "record after a setattr");
	CHECK(dfs_unlink_at(c, d1.ino, "missing") == -ENOENT, "unlink missing");
	CHECK(dfs_dir_stat_recent(c, d1.ino, 60000, &st) == -ENOENT, "record after a failure");
	CHECK_RC(dfs_mknod_at(c, d1.ino, "p", S_IFIFO | 0600, 0, NULL), "mknod_at");
	check_recent(c, d1.ino, "mknod");
	CHECK(dfs_dir_stat_recent(c, d1.ino, 60000, &st) == 0 && (st.mode & 07777) == 0700,
	      "record after chmod then mknod: mode %o", st.mode & 07777);
	int64_t deadline = now_ms() + 10000;
	while (dfs_dir_stat_recent(c, d1.ino, 20, &st) == 0)
		CHECK(now_ms() < deadline, "the record does not age out");
	CHECK_RC(dfs_delete(c, "/recent", 1), "delete");
}

/* One client shared by several threads, each with its own files. */
#define THREADS 4
#define THREAD_FILES 25

struct thread_arg {
	dfs_client *c;
	int id;
	char err[256];
};

static void *thread_main(void *p)
{
	struct thread_arg *a = p;
	uint8_t data[10000], back[10000];
	for (int i = 0; i < THREAD_FILES && a->err[0] == '\0'; i++) {
		char path[64];
		dfs_file *f;
		struct dfs_stat st;
		for (size_t k = 0; k < sizeof(data); k++)
			data[k] = (uint8_t)(a->id * 31 + i * 7 + k);
		snprintf(path, sizeof(path), "/io/t%d-%d", a->id, i);
		int rc = dfs_open_ex(a->c, path, O_RDWR | O_CREAT | O_EXCL, 0644, 3, BLOCK_SIZE, &f);
		if (rc == 0 && dfs_write(f, data, sizeof(data)) != (ssize_t)sizeof(data))
			rc = -EIO;
		if (rc == 0 && dfs_pread(f, back, sizeof(back), 0) != (ssize_t)sizeof(back))
			rc = -EIO;
		if (rc == 0)
			rc = dfs_close(f);
		if (rc == 0)
			rc = dfs_stat(a->c, path, &st);
		if (rc == 0 && (st.size != sizeof(data) || memcmp(data, back, sizeof(data)) != 0))
			rc = -EIO;
		if (rc == 0)
			rc = dfs_unlink(a->c, path);
		if (rc < 0)
			snprintf(a->err, sizeof(a->err), "%s: %s", path, dfs_strerror(rc));
	}
	return NULL;
}

static void test_threads(dfs_client *c)
{
	pthread_t th[THREADS];
	struct thread_arg args[THREADS];
	for (int i = 0; i < THREADS; i++) {
		args[i].c = c;
		args[i].id = i;
		args[i].err[0] = '\0';
		CHECK(pthread_create(&th[i], NULL, thread_main, &args[i]) == 0, "pthread_create");
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < THREADS; i++)
		CHECK(args[i].err[0] == '\0', "thread %d: %s", i, args[i].err);
}

/* Finds <tmpdir>/data<dn>/.../blk_<id> (the data file of a replica). */
static char found_path[1024];
static char want_name[64];

static int find_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	if (flag == FTW_F && strcmp(path + ftw->base, want_name) == 0) {
		snprintf(found_path, sizeof(found_path), "%s", path);
		return 1;
	}
	return 0;
}

/* Flips one byte of block_id's replica on datanode dn; false if absent. */
static bool corrupt_replica(int dn, uint64_t block_id, uint64_t off)
{
	char dir[512];
	snprintf(dir, sizeof(dir), "%s/data%d", tmpdir, dn);
	snprintf(want_name, sizeof(want_name), "blk_%" PRIu64, block_id);
	found_path[0] = '\0';
	if (nftw(dir, find_one, 16, FTW_PHYS) != 1)
		return false;
	int fd = open(found_path, O_RDWR);
	CHECK(fd >= 0, "%s: %s", found_path, strerror(errno));
	uint8_t b;
	CHECK(pread(fd, &b, 1, (off_t)off) == 1, "read %s", found_path);
	b ^= 0x40;
	CHECK(pwrite(fd, &b, 1, (off_t)off) == 1, "write %s", found_path);
	close(fd);
	return true;
}

/* A corrupted replica is skipped for a good one; when every replica is
 * corrupt the read fails with -DFS_ECHECKSUM. */
static void test_checksums(dfs_client *c)
{
	struct model *m = new_model("/io/corrupt");
	struct dfs_block_location *bl;
	size_t n;
	dfs_file *f;
	CHECK_RC(dfs_open_ex(c, m->path, O_WRONLY | O_CREAT, 0644, 3, BLOCK_SIZE, &f), m->path);
	write_at(f, m, 0, 100000);
	CHECK_RC(dfs_close(f), "close");
	CHECK_RC(dfs_block_locations(c, m->path, &bl, &n), "block locations");
	CHECK(n == 1, "blocks %zu", n);
	uint64_t id = bl[0].block_id;
	free(bl);
	int first = replica_datanode(c, m->path, false);
	CHECK(corrupt_replica(first, id, 5000), "no replica of block %" PRIu64 " on datanode%d",
	      id, first);
	verify(c, m); /* served by another replica */
	int corrupted = 1;
	for (int i = 0; i < N_DATANODES; i++)
		if (i != first && corrupt_replica(i, id, 5000))
			corrupted++;
	CHECK(corrupted == 3, "found %d replicas of block %" PRIu64, corrupted, id);
	uint8_t buf[100];
	CHECK_RC(dfs_open(c, m->path, O_RDONLY, 0, &f), m->path);
	ssize_t r = dfs_pread(f, buf, sizeof(buf), 4990);
	CHECK(r == -DFS_ECHECKSUM, "read of a block corrupt everywhere: %zd (%s)", r,
	      dfs_strerror((int)r));
	CHECK(dfs_pread(f, buf, sizeof(buf), 50000) == (ssize_t)sizeof(buf),
	      "a clean chunk of a corrupt block must still read");
	compare(m, buf, 50000, sizeof(buf), "clean chunk");
	CHECK_RC(dfs_close(f), "close");
	CHECK_RC(dfs_unlink(c, m->path), "unlink corrupt");
	n_files--; /* no longer part of the model */
	free(m->data);
}

/* Every file of the model read again over data connections: with local
 * reads on, the other tests read this machine's replicas from their files. */
static void verify_over_network(const char *nn_addr)
{
	char conf[600];
	snprintf(conf, sizeof(conf), "%s/no-local-reads.conf", tmpdir);
	write_text(conf, "local_reads = 0\n");
	struct dfs_options o = { .namenodes = nn_addr, .conf_path = conf, .retry_total_ms = 10000,
				 .rpc_timeout_ms = 10000, .log = client_log };
	dfs_client *n;
	CHECK_RC(dfs_connect(&o, &n), "dfs_connect");
	for (int i = 0; i < n_files; i++)
		verify(n, &files[i]);
	dfs_disconnect(n);
}

static void signal_datanodes(int sig)
{
	for (int i = 0; i < N_DATANODES; i++)
		CHECK(kill(dn_pid[i], sig) == 0, "kill datanode%d: %s", i, strerror(errno));
}

/* Short-circuit reads: once a block's replica files are open, reading it
 * needs no datanode (all of them are stopped), and every chunk is still
 * checked: bytes corrupted on disk are never returned (the local read
 * comes first; the network's fails on every replica too). A client of its
 * own, whose table of open replicas starts empty. */
static void test_local_reads(const char *nn_addr)
{
	struct model *m = new_model("/io/local");
	dfs_client *q;
	dfs_file *f;
	struct dfs_options o = { .namenodes = nn_addr, .retry_total_ms = 10000,
				 .rpc_timeout_ms = 10000, .log = client_log };
	CHECK_RC(dfs_connect(&o, &q), "dfs_connect");
	CHECK_RC(dfs_open_ex(q, m->path, O_WRONLY | O_CREAT, 0644, 3, BLOCK_SIZE, &f), m->path);
	write_at(f, m, 0, 2 * BLOCK_SIZE + 12345);
	CHECK_RC(dfs_close(f), "close");
	verify(q, m); /* opens each block's replica on a datanode of this machine */
	signal_datanodes(SIGSTOP);
	verify(q, m); /* nobody answers a data connection now */
	signal_datanodes(SIGCONT);
	struct dfs_block_location *bl;
	size_t n;
	CHECK_RC(dfs_block_locations(q, m->path, &bl, &n), "block locations");
	CHECK(n == 3, "blocks %zu", n);
	uint64_t id = bl[1].block_id;
	free(bl);
	for (int i = 0; i < N_DATANODES; i++)
		CHECK(corrupt_replica(i, id, 5000), "no replica of block %" PRIu64 " on datanode%d",
		      id, i);
	uint8_t buf[100];
	CHECK_RC(dfs_open(q, m->path, O_RDONLY, 0, &f), m->path);
	ssize_t r = dfs_pread(f, buf, sizeof(buf), BLOCK_SIZE + 4990);
	CHECK(r == -DFS_ECHECKSUM, "a read of bytes corrupt on every replica: %zd (%s)", r,
	      dfs_strerror((int)r));
	CHECK(dfs_pread(f, buf, sizeof(buf), 20000) == (ssize_t)sizeof(buf),
	      "block 0 must still read");
	compare(m, buf, 20000, sizeof(buf), "block 0");
	CHECK_RC(dfs_close(f), "close");
	CHECK_RC(dfs_unlink(q, m->path), "unlink");
	dfs_disconnect(q);
	n_files--; /* no longer part of the model */
	free(m->data);
}

/* Prints write and read throughput of one bigger file (information only). */
static void measure(dfs_client *c)
{
	const size_t total = 16u << 20, chunk = 1u << 20;
	uint8_t *buf = malloc(chunk);
	dfs_file *f;
	CHECK(buf != NULL, "out of memory");
	fill_random(buf, chunk);
	int64_t t0 = now_ms();
	CHECK_RC(dfs_open_ex(c, "/io/big", O_WRONLY | O_CREAT, 0644, 3, 4 * BLOCK_SIZE, &f), "big");
	for (size_t done = 0; done < total; done += chunk)
		CHECK(dfs_write(f, buf, chunk) == (ssize_t)chunk, "big write");
	CHECK_RC(dfs_close(f), "close big");
	int64_t t1 = now_ms();
	CHECK_RC(dfs_open(c, "/io/big", O_RDONLY, 0, &f), "big");
	size_t got = 0;
	ssize_t n;
	while ((n = dfs_read(f, buf, chunk)) > 0)
		got += (size_t)n;
	CHECK_RC(n, "big read");
	CHECK(got == total, "big read %zu", got);
	CHECK_RC(dfs_close(f), "close big");
	int64_t t2 = now_ms();
	printf("throughput: write %.1f MiB/s (3 replicas, close included), read %.1f MiB/s\n",
	       16.0 * 1000 / (double)(t1 - t0 + 1), 16.0 * 1000 / (double)(t2 - t1 + 1));
	free(buf);
	CHECK_RC(dfs_unlink(c, "/io/big"), "unlink big");
}

int main(void)
{
	const char *bindir = getenv("DFS_BUILDDIR");
	char bin[512], nn_addr[300];
	verbose = getenv("DFS_TEST_VERBOSE") != NULL;
	if (bindir == NULL)
		bindir = ".";
	snprintf(bin, sizeof(bin), "%s/namenode/dfs-namenode", bindir);
	if (access(bin, X_OK) != 0) {
		printf("SKIP: %s not built\n", bin);
		return 77;
	}
	snprintf(bin, sizeof(bin), "%s/datanode/dfs-datanode", bindir);
	if (access(bin, X_OK) != 0) {
		printf("SKIP: %s not built\n", bin);
		return 77;
	}
	const char *s = getenv("DFS_TEST_SEED");
	seed = s != NULL ? strtoull(s, NULL, 10) : 20261126; /* fixed: every run the same */
	rng = seed != 0 ? seed : 1;
	printf("seed %" PRIu64 "\n", seed);
	fflush(stdout);

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test-libdfs-io-XXXXXX");
	CHECK(mkdtemp(tmpdir) != NULL, "mkdtemp: %s", strerror(errno));
	atexit(cleanup);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGALRM, on_signal);
	signal(SIGABRT, on_signal); /* sanitizers and assert() abort */
	signal(SIGSEGV, on_signal);
	signal(SIGPIPE, SIG_IGN);
	alarm(TEST_TIMEOUT_S);

	start_namenode(bindir, nn_addr, sizeof(nn_addr));
	for (int i = 0; i < N_DATANODES; i++)
		start_datanode(bindir, i, nn_addr);

	dfs_client *c;
	struct dfs_options o = { .namenodes = nn_addr, .retry_total_ms = 10000,
				 .rpc_timeout_ms = 10000, .log = client_log };
	CHECK_RC(dfs_connect(&o, &c), "dfs_connect");
	int64_t deadline = now_ms() + LIVE_TIMEOUT_MS;
	while (count_live(c) < N_DATANODES) {
		CHECK(now_ms() < deadline, "only %u of %d datanodes live after %d ms",
		      count_live(c), N_DATANODES, LIVE_TIMEOUT_MS);
		sleep_ms(50);
	}
	CHECK_RC(dfs_mkdir(c, "/io", 0755, 0), "mkdir /io");
	test_namespace(c);
	printf("ok namespace\n");
	test_dir_recent(c);
	printf("ok directory attributes of the last change\n");

	test_sizes(c);
	printf("ok sizes\n");
	check_replicas(c, "/io/size-3670033", 3);
	printf("ok replicas\n");
	test_random_writes(c);
	test_many_blocks(c);
	printf("ok random writes\n");
	test_sparse(c);
	printf("ok sparse\n");
	test_truncate(c);
	printf("ok truncate\n");
	test_handle_cred(c);
	printf("ok a handle keeps its opener's credentials\n");
	test_deferred_attrs(c);
	printf("ok attribute changes kept for the COMPLETE\n");
	test_append(c);
	printf("ok append\n");
	test_checksums(c);
	printf("ok checksums\n");
	test_local_reads(nn_addr);
	printf("ok local reads: no datanode needed once open, corrupt bytes never returned\n");
	verify_over_network(nn_addr);
	printf("ok every file again over data connections\n");
	test_threads(c);
	printf("ok %d threads sharing one client\n", THREADS);
	measure(c);

	test_pipeline_failure(c);
	printf("ok write goes on when a pipeline datanode dies\n");
	for (int i = 0; i < n_files; i++)
		verify(c, &files[i]);
	printf("ok reads with one datanode down\n");

	dfs_disconnect(c);
	for (int i = 0; i < n_files; i++)
		free(files[i].data);
	printf("PASS\n");
	return 0;
}
