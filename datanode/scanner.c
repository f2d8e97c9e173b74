/* scanner.c: the block scanner thread (see scanner.h). */
#include "datanode/scanner.h"
#include "datanode/blockmeta.h"
#include "datanode/nn_link.h"
#include "datanode/replica_read.h"
#include "datanode/volumes.h"
#include "common/crc32c.h"
#include "common/errors.h"
#include "common/log.h"
#include "common/clock.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#define SCAN_PIECE (1u << 20) /* bytes read and checked at a time */

struct scan_ref {
	uint64_t id, genstamp;
};

struct dn_scanner {
	struct datanode *dn;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* CLOCK_MONOTONIC */
	int stop;            /* under lock */
	uint64_t bytes_per_s;
	int64_t window_start_ms; /* throttle: bytes read since window_start */
	uint64_t window_bytes;
	struct scan_ref *refs; /* this pass */
	size_t n_refs, cap_refs;
	uint8_t *buf;
	uint32_t *crcs;
};

/* Sleeps until deadline or stop; 1 if stopping. */
static int nap(struct dn_scanner *sc, int64_t deadline)
{
	pthread_mutex_lock(&sc->lock);
	while (!sc->stop && dfs_mono_ms() < deadline) {
		struct timespec ts = { .tv_sec = deadline / 1000,
				       .tv_nsec = (deadline % 1000) * 1000000L };
		pthread_cond_timedwait(&sc->cond, &sc->lock, &ts);
	}
	int stop = sc->stop;
	pthread_mutex_unlock(&sc->lock);
	return stop;
}

/* Accounts n bytes read and waits as long as the rate requires. */
static int throttle(struct dn_scanner *sc, size_t n)
{
	if (sc->bytes_per_s == 0)
		return 0;
	sc->window_bytes += n;
	int64_t due = sc->window_start_ms +
		      (int64_t)(sc->window_bytes * 1000 / sc->bytes_per_s);
	if (dfs_mono_ms() - sc->window_start_ms > 10000) { /* keep the window short */
		sc->window_start_ms = dfs_mono_ms();
		sc->window_bytes = 0;
	}
	return nap(sc, due) ? -ECANCELED : 0;
}

static int check_piece(const uint8_t *buf, size_t n, const uint32_t *crcs)
{
	for (size_t i = 0; i * DFS_CHUNK_SIZE < n; i++) {
		size_t len = n - i * DFS_CHUNK_SIZE < DFS_CHUNK_SIZE ? n - i * DFS_CHUNK_SIZE
								      : DFS_CHUNK_SIZE;
		if (dfs_crc32c(0, buf + i * DFS_CHUNK_SIZE, len) != crcs[i])
			return -DFS_ECHECKSUM;
	}
	return 0;
}

static int scan_with(struct dn_store *s, uint64_t id, uint64_t genstamp, struct dn_scanner *sc,
		     uint8_t *buf, uint32_t *crcs)
{
	struct dn_reader r;
	int rc = dn_reader_open(s, id, genstamp, &r);
	if (rc < 0)
		return rc;
	struct dn_replica_info info;
	if (dn_store_lookup(s, id, &info) == 0 && info.length > r.length)
		rc = -DFS_ECHECKSUM; /* data file shorter than the replica */
	for (uint64_t off = 0; rc == 0 && off < r.length;) {
		ssize_t n = dn_reader_read(&r, off, buf, SCAN_PIECE, crcs);
		if (n < 0) {
			rc = n == -EIO ? -DFS_ECHECKSUM : (int)n;
			break;
		}
		rc = check_piece(buf, (size_t)n, crcs);
		if (rc < 0)
			DFS_WARN("blk_%" PRIu64 ": checksum mismatch near offset %" PRIu64, id, off);
		off += (uint64_t)n;
		if (rc == 0 && sc != NULL)
			rc = throttle(sc, (size_t)n);
	}
	dn_reader_close(&r);
	return rc;
}

int dn_scan_replica(struct dn_store *s, uint64_t id, uint64_t genstamp, struct dn_scanner *sc)
{
	if (sc != NULL)
		return scan_with(s, id, genstamp, sc, sc->buf, sc->crcs);
	uint8_t *buf = malloc(SCAN_PIECE);
	uint32_t *crcs = malloc(SCAN_PIECE / DFS_CHUNK_SIZE * sizeof(uint32_t));
	int rc = buf == NULL || crcs == NULL ? -ENOMEM : scan_with(s, id, genstamp, NULL, buf, crcs);
	free(buf);
	free(crcs);
	return rc;
}

int dn_scanner_condemn(struct datanode *dn, uint64_t id, uint64_t genstamp, uint64_t length,
		       const char *reason)
{
	struct dn_replica_info info;
	if (dn_store_lookup(&dn->store, id, &info) < 0 || info.writing ||
	    info.genstamp != genstamp)
		return 0; /* rewritten or gone meanwhile: not rot */
	if (dn_store_mark_corrupt(&dn->store, id, genstamp) != 0)
		return 0;
	DFS_WARN("blk_%" PRIu64 " genstamp %" PRIu64 " is corrupt (%s): no longer served, "
		 "reported to the namenodes", id, genstamp, reason);
	info.length = length ? length : info.length;
	dn_nn_report_bad(dn, &info, reason);
	return 1;
}

static void collect(void *arg, const struct dn_replica_info *r)
{
	struct dn_scanner *sc = arg;
	if (r->corrupt || r->writing)
		return;
	if (sc->n_refs == sc->cap_refs) {
		size_t cap = sc->cap_refs ? sc->cap_refs * 2 : 256;
		struct scan_ref *p = realloc(sc->refs, cap * sizeof(*p));
		if (p == NULL)
			return; /* scanned next pass */
		sc->refs = p;
		sc->cap_refs = cap;
	}
	sc->refs[sc->n_refs++] = (struct scan_ref){ r->id, r->genstamp };
}

/* One pass over every finalized replica; 1 if stopping. */
static int pass(struct dn_scanner *sc)
{
	struct datanode *dn = sc->dn;
	size_t bad = 0, done = 0;
	int64_t t0 = dfs_mono_ms();
	sc->n_refs = 0;
	dn_store_foreach(&dn->store, collect, sc);
	sc->window_start_ms = dfs_mono_ms();
	sc->window_bytes = 0;
	for (size_t i = 0; i < sc->n_refs; i++) {
		const struct scan_ref *r = &sc->refs[i];
		int rc = dn_scan_replica(&dn->store, r->id, r->genstamp, sc);
		if (rc == -ECANCELED)
			return 1;
		if (rc == -DFS_ECHECKSUM)
			bad += (size_t)dn_scanner_condemn(dn, r->id, r->genstamp, 0, "scanner");
		else if (rc < 0 && rc != -ENOENT && rc != -DFS_ESTALE)
			dn_volumes_check_soon(dn);
		done++;
	}
	DFS_DEBUG("block scanner: pass over %zu replicas in %" PRId64 " ms, %zu corrupt", done,
		  dfs_mono_ms() - t0, bad);
	return 0;
}

static void *scanner_main(void *arg)
{
	struct dn_scanner *sc = arg;
	while (!pass(sc))
		if (nap(sc, dfs_mono_ms() + sc->dn->cfg.scan_period_ms))
			break;
	return NULL;
}

int dn_scanner_start(struct datanode *dn)
{
	if (dn->cfg.scan_bytes_per_s == 0) {
		DFS_INFO("block scanner disabled (scan_bytes_per_s = 0)");
		return 0;
	}
	struct dn_scanner *sc = calloc(1, sizeof(*sc));
	if (sc == NULL)
		return -ENOMEM;
	sc->dn = dn;
	sc->bytes_per_s = dn->cfg.scan_bytes_per_s;
	sc->buf = malloc(SCAN_PIECE);
	sc->crcs = malloc(SCAN_PIECE / DFS_CHUNK_SIZE * sizeof(uint32_t));
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&sc->cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&sc->lock, NULL);
	int rc = sc->buf == NULL || sc->crcs == NULL ? -ENOMEM : 0;
	if (rc == 0)
		rc = -pthread_create(&sc->thread, NULL, scanner_main, sc);
	if (rc < 0) {
		pthread_cond_destroy(&sc->cond);
		pthread_mutex_destroy(&sc->lock);
		free(sc->buf);
		free(sc->crcs);
		free(sc);
		return rc;
	}
	dn->scan = sc;
	return 0;
}

void dn_scanner_stop(struct datanode *dn)
{
	struct dn_scanner *sc = dn->scan;
	if (sc == NULL)
		return;
	pthread_mutex_lock(&sc->lock);
	sc->stop = 1;
	pthread_cond_broadcast(&sc->cond);
	pthread_mutex_unlock(&sc->lock);
	pthread_join(sc->thread, NULL);
	dn->scan = NULL;
	pthread_cond_destroy(&sc->cond);
	pthread_mutex_destroy(&sc->lock);
	free(sc->refs);
	free(sc->buf);
	free(sc->crcs);
	free(sc);
}
