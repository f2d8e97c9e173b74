/* fsx-dfs.c: randomized file-operation tester for a dfs-fuse mount, in the
 * spirit of Apple's / xfstests' fsx.
 *
 *   fsx-dfs [-S seed] [-N ops] [-l maxlen] [-o maxoplen] [-v] TESTFILE REFFILE
 *
 * Applies the same seeded random sequence of operations (write at the end,
 * pwrite at random offsets incl. past EOF, ftruncate grow/shrink, read,
 * close/reopen, mmap read, shared writable mmap write with or without
 * msync, fsync) to TESTFILE (in the mount) and REFFILE (on
 * a local file system), keeps an in-memory model too, and after every
 * operation checks sizes; every read compares TESTFILE's bytes with the
 * model and REFFILE's. At the first difference it prints the offset, the
 * last operations and the seed, and exits 1. Exit 0 when all ops pass.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define FSX_HISTORY_MAX 32 /* operations printed on failure */

enum fsx_op {
	OP_WRITE, OP_PWRITE, OP_TRUNCATE, OP_READ, OP_REOPEN, OP_MMAP_READ, OP_FSYNC,
	OP_MMAP_WRITE
};
static const char *const op_names[] = {"write", "pwrite", "truncate", "read",
				       "reopen", "mmapread", "fsync", "mmapwrite"};

struct fsx_hist {
	uint64_t n;
	enum fsx_op op;
	uint64_t off, len;
};

struct fsx {
	uint64_t seed, rng;
	uint64_t nops, maxlen, maxoplen;
	int verbose;
	const char *test_path, *ref_path;
	int tfd, rfd;
	uint8_t *model; /* maxlen bytes: the file as it must be */
	uint64_t size;
	uint8_t *buf, *tbuf, *rbuf; /* maxoplen each */
	struct fsx_hist hist[FSX_HISTORY_MAX];
	uint64_t n;
};

static uint64_t rnd(struct fsx *f)
{
	/* xorshift64* */
	f->rng ^= f->rng >> 12;
	f->rng ^= f->rng << 25;
	f->rng ^= f->rng >> 27;
	return f->rng * 0x2545F4914F6CDD1Dull;
}

static uint64_t rnd_below(struct fsx *f, uint64_t n)
{
	return n ? rnd(f) % n : 0;
}

static void history_dump(const struct fsx *f)
{
	uint64_t first = f->n >= FSX_HISTORY_MAX ? f->n - FSX_HISTORY_MAX + 1 : 0;
	fprintf(stderr, "last operations:\n");
	for (uint64_t i = first; i <= f->n; i++) {
		const struct fsx_hist *h = &f->hist[i % FSX_HISTORY_MAX];
		if (h->n != i)
			continue;
		fprintf(stderr, "  #%" PRIu64 " %-9s off=%" PRIu64 " len=%" PRIu64 "\n", h->n,
			op_names[h->op], h->off, h->len);
	}
}

static void fail(struct fsx *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));
static void fail(struct fsx *f, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "fsx-dfs: FAIL at op #%" PRIu64 ": ", f->n);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	history_dump(f);
	fprintf(stderr, "fsx-dfs: seed=%" PRIu64 " (rerun with -S %" PRIu64 ")\n", f->seed,
		f->seed);
	exit(1);
}

static void open_files(struct fsx *f, int trunc)
{
	int flags = O_RDWR | O_CREAT | (trunc ? O_TRUNC : 0);
	f->tfd = open(f->test_path, flags, 0644);
	if (f->tfd < 0)
		fail(f, "open %s: %s", f->test_path, strerror(errno));
	f->rfd = open(f->ref_path, flags, 0644);
	if (f->rfd < 0)
		fail(f, "open %s: %s", f->ref_path, strerror(errno));
}

static void close_files(struct fsx *f)
{
	if (close(f->tfd) < 0)
		fail(f, "close %s: %s", f->test_path, strerror(errno));
	if (close(f->rfd) < 0)
		fail(f, "close %s: %s", f->ref_path, strerror(errno));
}

static void pwrite_all(struct fsx *f, int fd, const void *buf, size_t len, uint64_t off)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = pwrite(fd, (const uint8_t *)buf + done, len - done, (off_t)(off + done));
		if (n <= 0)
			fail(f, "pwrite(%s, off %" PRIu64 ", len %zu): %s",
			     fd == f->tfd ? "test" : "ref", off + done, len - done,
			     n < 0 ? strerror(errno) : "wrote 0");
		done += (size_t)n;
	}
}

static size_t pread_all(struct fsx *f, int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = pread(fd, (uint8_t *)buf + done, len - done, (off_t)(off + done));
		if (n < 0)
			fail(f, "pread(%s, off %" PRIu64 "): %s", fd == f->tfd ? "test" : "ref",
			     off + done, strerror(errno));
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return done;
}

/* Compares got[0..len) read at off with the model; fails on a difference. */
static void compare(struct fsx *f, const char *what, const uint8_t *got, uint64_t off,
		    uint64_t len)
{
	for (uint64_t i = 0; i < len; i++) {
		if (got[i] != f->model[off + i])
			fail(f, "%s: byte at offset %" PRIu64 " (0x%" PRIx64 ") is 0x%02x, "
				"expected 0x%02x (read off=%" PRIu64 " len=%" PRIu64 ", size %" PRIu64 ")",
			     what, off + i, off + i, got[i], f->model[off + i], off, len, f->size);
	}
}

static void do_write_at(struct fsx *f, uint64_t off, uint64_t len)
{
	for (uint64_t i = 0; i < len; i++)
		f->buf[i] = (uint8_t)(rnd(f) >> 32);
	pwrite_all(f, f->tfd, f->buf, len, off);
	pwrite_all(f, f->rfd, f->buf, len, off);
	if (off > f->size) /* the gap is a hole */
		memset(f->model + f->size, 0, off - f->size);
	memcpy(f->model + off, f->buf, len);
	if (off + len > f->size)
		f->size = off + len;
}

static void do_truncate(struct fsx *f, uint64_t size)
{
	if (ftruncate(f->tfd, (off_t)size) < 0)
		fail(f, "ftruncate(test, %" PRIu64 "): %s", size, strerror(errno));
	if (ftruncate(f->rfd, (off_t)size) < 0)
		fail(f, "ftruncate(ref, %" PRIu64 "): %s", size, strerror(errno));
	if (size > f->size)
		memset(f->model + f->size, 0, size - f->size);
	f->size = size;
}

static void do_read(struct fsx *f, uint64_t off, uint64_t len)
{
	size_t want = off >= f->size ? 0 : (size_t)(len < f->size - off ? len : f->size - off);
	size_t got = pread_all(f, f->tfd, f->tbuf, len, off);
	if (got != want)
		fail(f, "read(test, off %" PRIu64 ", len %" PRIu64 ") returned %zu, expected %zu",
		     off, len, got, want);
	compare(f, "read", f->tbuf, off, got);
	got = pread_all(f, f->rfd, f->rbuf, len, off);
	if (got != want)
		fail(f, "reference file disagrees with the model: read %zu, expected %zu", got, want);
	compare(f, "reference read", f->rbuf, off, got);
}

static void do_mmap_read(struct fsx *f, uint64_t off, uint64_t len)
{
	if (f->size == 0)
		return;
	if (off >= f->size)
		off = rnd_below(f, f->size);
	if (len > f->size - off)
		len = f->size - off;
	if (len == 0)
		return;
	long page = sysconf(_SC_PAGESIZE);
	uint64_t pg_off = off - off % (uint64_t)page;
	size_t map_len = (size_t)(off + len - pg_off);
	uint8_t *p = mmap(NULL, map_len, PROT_READ, MAP_SHARED, f->tfd, (off_t)pg_off);
	if (p == MAP_FAILED)
		fail(f, "mmap(test, off %" PRIu64 ", len %zu): %s", pg_off, map_len, strerror(errno));
	compare(f, "mmap read", p + (off - pg_off), off, len);
	munmap(p, map_len);
}

/* Stores random bytes into [off, off+len) of the file (inside its size)
 * through a MAP_SHARED, PROT_WRITE mapping; msync()s half of the time, so
 * the other half reaches the file through the kernel's own writeback (or
 * the page cache, for the reads that follow). */
static void do_mmap_write(struct fsx *f, uint64_t off, uint64_t len)
{
	if (f->size == 0)
		return;
	if (off >= f->size)
		off = rnd_below(f, f->size);
	if (len > f->size - off)
		len = f->size - off;
	if (len == 0)
		return;
	int sync = (int)rnd_below(f, 2);
	for (uint64_t i = 0; i < len; i++)
		f->buf[i] = (uint8_t)(rnd(f) >> 32);
	long page = sysconf(_SC_PAGESIZE);
	uint64_t pg_off = off - off % (uint64_t)page;
	size_t map_len = (size_t)(off + len - pg_off);
	uint8_t *p = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_SHARED, f->tfd, (off_t)pg_off);
	if (p == MAP_FAILED)
		fail(f, "mmap(test, rw, off %" PRIu64 ", len %zu): %s", pg_off, map_len,
		     strerror(errno));
	memcpy(p + (off - pg_off), f->buf, len);
	if (sync && msync(p, map_len, MS_SYNC) < 0)
		fail(f, "msync(test, off %" PRIu64 "): %s", pg_off, strerror(errno));
	munmap(p, map_len);
	pwrite_all(f, f->rfd, f->buf, len, off);
	memcpy(f->model + off, f->buf, len);
}

static void check_size(struct fsx *f)
{
	struct stat st;
	if (fstat(f->tfd, &st) < 0)
		fail(f, "fstat(test): %s", strerror(errno));
	if ((uint64_t)st.st_size != f->size)
		fail(f, "fstat(test) size %jd, expected %" PRIu64, (intmax_t)st.st_size, f->size);
}

static enum fsx_op pick_op(struct fsx *f)
{
	/* weights: write 15, pwrite 30, truncate 10, read 30, reopen 5, mmap read 7,
	 * fsync 3, mmap write 6 */
	static const unsigned weights[] = {15, 30, 10, 30, 5, 7, 3, 6};
	unsigned total = 0, r;
	for (size_t i = 0; i < sizeof(weights) / sizeof(weights[0]); i++)
		total += weights[i];
	r = (unsigned)rnd_below(f, total);
	for (size_t i = 0;; i++) {
		if (r < weights[i])
			return (enum fsx_op)i;
		r -= weights[i];
	}
}

static void step(struct fsx *f)
{
	enum fsx_op op = pick_op(f);
	uint64_t len = 1 + rnd_below(f, f->maxoplen);
	uint64_t off = rnd_below(f, f->maxlen);
	switch (op) {
	case OP_WRITE:
		off = f->size;
		/* fall through */
	case OP_PWRITE:
		if (off + len > f->maxlen) {
			if (off >= f->maxlen)
				off = f->maxlen - 1;
			len = f->maxlen - off;
		}
		break;
	case OP_TRUNCATE:
		/* mostly shrink or grow a little; sometimes anywhere */
		off = rnd_below(f, 4) ? rnd_below(f, f->size + f->maxoplen + 1) : off;
		if (off > f->maxlen)
			off = f->maxlen;
		len = 0;
		break;
	case OP_READ:
	case OP_MMAP_READ:
	case OP_MMAP_WRITE:
		off = rnd_below(f, f->size + 1 + f->maxoplen / 4);
		break;
	default:
		off = len = 0;
	}
	f->hist[f->n % FSX_HISTORY_MAX] = (struct fsx_hist){f->n, op, off, len};
	if (f->verbose)
		fprintf(stderr, "#%" PRIu64 " %s off=%" PRIu64 " len=%" PRIu64 "\n", f->n,
			op_names[op], off, len);
	switch (op) {
	case OP_WRITE:
	case OP_PWRITE: do_write_at(f, off, len); break;
	case OP_TRUNCATE: do_truncate(f, off); break;
	case OP_READ: do_read(f, off, len); break;
	case OP_MMAP_READ: do_mmap_read(f, off, len); break;
	case OP_MMAP_WRITE: do_mmap_write(f, off, len); break;
	case OP_REOPEN:
		close_files(f);
		open_files(f, 0);
		break;
	case OP_FSYNC:
		if (fsync(f->tfd) < 0)
			fail(f, "fsync(test): %s", strerror(errno));
		break;
	}
	check_size(f);
}

static void usage(void)
{
	fprintf(stderr, "usage: fsx-dfs [-S seed] [-N ops] [-l maxlen] [-o maxoplen] [-v] "
			"TESTFILE REFFILE\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct fsx f;
	int c;
	memset(&f, 0, sizeof(f));
	f.seed = 1;
	f.nops = 20000;
	f.maxlen = 4u << 20;
	f.maxoplen = 128u << 10;
	while ((c = getopt(argc, argv, "S:N:l:o:v")) != -1) {
		switch (c) {
		case 'S': f.seed = strtoull(optarg, NULL, 0); break;
		case 'N': f.nops = strtoull(optarg, NULL, 0); break;
		case 'l': f.maxlen = strtoull(optarg, NULL, 0); break;
		case 'o': f.maxoplen = strtoull(optarg, NULL, 0); break;
		case 'v': f.verbose = 1; break;
		default: usage();
		}
	}
	if (argc - optind != 2 || f.maxlen == 0 || f.maxoplen == 0 || f.maxoplen > f.maxlen)
		usage();
	f.test_path = argv[optind];
	f.ref_path = argv[optind + 1];
	f.rng = f.seed * 0x9E3779B97F4A7C15ull + 1;
	f.model = calloc(1, f.maxlen);
	f.buf = malloc(f.maxoplen);
	f.tbuf = malloc(f.maxoplen);
	f.rbuf = malloc(f.maxoplen);
	if (!f.model || !f.buf || !f.tbuf || !f.rbuf) {
		fprintf(stderr, "fsx-dfs: out of memory\n");
		return 1;
	}
	printf("fsx-dfs: seed=%" PRIu64 " ops=%" PRIu64 " maxlen=%" PRIu64 " maxoplen=%" PRIu64 "\n",
	       f.seed, f.nops, f.maxlen, f.maxoplen);
	fflush(stdout);
	open_files(&f, 1);
	for (f.n = 1; f.n <= f.nops; f.n++)
		step(&f);
	f.n--;
	/* Final check: close, reopen, and read the whole file back. */
	close_files(&f);
	open_files(&f, 0);
	for (uint64_t off = 0; off < f.size; off += f.maxoplen)
		do_read(&f, off, f.maxoplen);
	check_size(&f);
	close_files(&f);
	printf("fsx-dfs: %" PRIu64 " ops passed, final size %" PRIu64 ", seed=%" PRIu64 "\n", f.nops,
	       f.size, f.seed);
	free(f.model);
	free(f.buf);
	free(f.tbuf);
	free(f.rbuf);
	return 0;
}
