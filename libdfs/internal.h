/* internal.h: the client library's private types and the contracts between
 * its files. Nothing here is part of the public API (<dfs.h>); internal
 * functions use the dfsc_ prefix so that only dfs_* symbols are exported.
 *
 * Files:
 *   settings.c     client options + dfs.conf -> struct dfsc_settings
 *   attr.c         Attr <-> struct dfs_stat, name and path validation
 *   rpc.c          namenode connection pool, call ids, retry and failover
 *   client.c       dfs_connect/dfs_disconnect, thread credentials
 *   namespace.c    path and *_at namespace calls, setattr family
 *   dir.c          paged directory listing
 *   cluster.c      statfs, datanode report, block locations
 *   file.c         dfs_file lifetime: open/create/close/seek/fsync/truncate
 *   file_write.c   write buffer, packets, block switching, COMPLETE
 *   block_writer.c one pipeline stream into one block (packets + acks)
 *   pipeline_recovery.c  drop a failed datanode, new genstamp, resend
 *   bad_replica.c  BAD_REPLICA reports of corrupt replicas read
 *   file_read.c    located-block cache, pread across blocks, holes
 *   block_reader.c one READ_BLOCK stream from one replica, CRC checks
 *
 * Threads: a dfs_client is shared by any number of threads (its mutable
 * state is the connection pool, under pool_mu, and atomics). A dfs_file or
 * dfs_dir belongs to one thread at a time, so they take no locks.
 */
#ifndef DFS_LIBDFS_INTERNAL_H
#define DFS_LIBDFS_INTERNAL_H

#include <dfs.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/conn_pool.h"
#include "common/frame.h"
#include "common/net.h"
#include "common/proto/common.pb-c.h"
#include "common/proto/datanode.pb-c.h"
#include "common/proto/namenode.pb-c.h"

/* ---- settings (settings.c) ---- */

#define DFSC_NAMENODES_MAX 16
#define DFSC_DEFAULT_PORT 8020
#define DFSC_DEFAULT_RPC_TIMEOUT_MS 30000
#define DFSC_DEFAULT_RETRY_TOTAL_MS 60000
#define DFSC_DEFAULT_PIPELINE_ACK_TIMEOUT_MS 15000
#define DFSC_DEFAULT_BLOCK_SIZE (64ull << 20)
#define DFSC_REPLICATION_MAX 16
#define DFSC_GROUPS_MAX 32

struct dfsc_addr {
	char host[DFS_HOST_MAX];
	uint16_t port;
};

struct dfsc_settings {
	struct dfsc_addr nn[DFSC_NAMENODES_MAX];
	/* Entries below n_nn never change; a namenode named as the leader but
	 * missing from the list is appended (dfsc_learn_namenode), so n_nn only
	 * grows, and an entry is written before the count that covers it. */
	_Atomic int n_nn;
	int rpc_timeout_ms;
	int retry_total_ms; /* -1: one pass over the namenodes, no waiting */
	unsigned replication; /* 0: the cluster's default */
	uint64_t block_size;  /* 0: the cluster's default */
	int pipeline_ack_timeout_ms; /* a write pipeline silent this long has failed */
	bool local_reads; /* read replicas of this machine's datanodes directly */
};

/* Resolves opts (may be NULL) and the client config file into s. Returns 0,
 * or a negative errno with a message in err: -EINVAL for a bad value or
 * namenode list, -ENOENT for a named config file that does not exist (only
 * when opts gives no namenodes). Reads the environment ($DFS_CONF). */
int dfsc_settings_load(const struct dfs_options *opts, struct dfsc_settings *s, char *err,
		       size_t err_len);

/* Parses "host:port[,host:port...]" (spaces allowed around entries; a
 * missing port means DFSC_DEFAULT_PORT) into s->nn. 0 or -EINVAL. */
int dfsc_parse_namenodes(const char *list, struct dfsc_settings *s);

/* ---- attributes and names (attr.c) ---- */

/* Checks one name component: -EINVAL (NULL, empty, containing '/', "." or
 * "..") or -ENAMETOOLONG (over 255 bytes). A C string cannot hold a NUL;
 * the namenode checks names that arrive with one on the wire. */
int dfsc_check_name(const char *name);
/* Checks an absolute path: starts with '/', every component valid, no
 * empty components except a trailing slash. "/" is valid. */
int dfsc_check_path(const char *path);
/* Attr -> dfs_stat (st_mode = S_IF* type bits | permission bits). */
void dfsc_attr_to_stat(const Dfs__Attr *a, struct dfs_stat *st);
/* S_IF* bits of an Attr type; 0 for an unknown type. */
uint32_t dfsc_type_to_mode(uint32_t type);
/* Attr type of st_mode's S_IFMT bits; DFS__FILE_TYPE__FT_NONE if unknown. */
uint32_t dfsc_mode_to_type(uint32_t mode);
/* timespec <-> ns since the epoch. */
int64_t dfsc_ts_to_ns(const struct timespec *ts);

/* ---- the client and RPC (client.c, rpc.c) ---- */

#define DFSC_POOL_IDLE_MAX 16      /* idle namenode connections kept */
#define DFSC_RETRY_BACKOFF_MIN_MS 20
#define DFSC_RETRY_BACKOFF_MAX_MS 1000
#define DFSC_CLIENT_ID_LEN 16

struct dfsc_conn {
	int fd;
	int nn;               /* index into settings.nn */
	struct dfsc_conn *next;
};

struct dfsc_cred {
	uint32_t uid, gid;
	uint32_t groups[DFSC_GROUPS_MAX];
	int ngroups;
};

/* Idle datanode connections (common/conn_pool.h): block readers and
 * writers leave theirs at a request boundary for the next block. */
#define DFSC_DN_POOL_IDLE_MS 10000   /* dropped after this long unused */

struct dfsc_dir_attr {
	struct dfs_stat st;
	int64_t sent_ms; /* when the change was sent (dfsc_now_ms) */
};

struct dfs_client {
	struct dfsc_settings set;
	void (*log)(void *arg, int level, const char *msg);
	void *log_arg;
	uint8_t client_id[DFSC_CLIENT_ID_LEN];
	char client_name[64]; /* "dfs-<pid>-<hex id>", lease holder name */
	atomic_uint_fast64_t next_call_id;
	atomic_uint_fast64_t next_seq;
	atomic_int leader; /* index into set.nn believed to be the leader */
	pthread_mutex_t pool_mu;
	struct dfsc_conn *idle; /* under pool_mu */
	int n_idle;             /* under pool_mu */
	pthread_key_t cred_key; /* struct dfsc_cred * of this thread, or NULL */
	struct dfsc_cred default_cred;
	struct dfs_conn_pool dn_pool;   /* idle datanode connections */
	pthread_mutex_t dir_mu;
	uint64_t dir_gen;               /* under dir_mu: mutations ended */
	struct dfsc_dir_attr dirs[2];   /* under dir_mu (dir_attrs.c) */
	int n_dirs;                     /* under dir_mu */
	struct dfsc_local *local;       /* local_read.c (NULL: local reads off) */
	atomic_int created_written;     /* file.c: recent created files that got
					   data (up) or none (down) */
};

/* The directories of the client's last entry change (dir_attrs.c).
 * begin: before a namespace call is sent, returns the generation to give
 * end; end: with the reply (NULL: none, the outcome is unknown). Any
 * thread; no-ops for reads. */
uint64_t dfsc_dir_attrs_begin(dfs_client *c, uint32_t method);
void dfsc_dir_attrs_end(dfs_client *c, uint32_t method, const Dfs__NsRequest *req, uint64_t gen,
			int64_t sent_ms, const Dfs__NsReply *reply);


/* Reports a diagnostic through the client's callback (no-op without one).
 * level: DFS_LOG_* of common/log.h (0 debug .. 4 error). Any thread. */
void dfsc_log(const dfs_client *c, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The calling thread's credentials (the default ones if none were set). */
const struct dfsc_cred *dfsc_cred(dfs_client *c);

/* True for methods that change the namespace (they carry client_id+seq). */
bool dfsc_method_mutates(uint32_t method);

/* Makes req carry cr as its caller instead of the thread's credentials. */
void dfsc_req_set_cred(Dfs__NsRequest *req, const struct dfsc_cred *cr);

/* Performs one namespace RPC. Fills in the caller credentials (the
 * thread's, unless dfsc_req_set_cred named others), and for
 * mutating methods client_id and a fresh seq (the same on every retry).
 * Connection failures and timeouts are retried on the next namenode until
 * retry_total_ms; NOT_LEADER replies move to the named leader. Returns 0
 * with *out the reply (free with dfs__ns_reply__free_unpacked(*out, NULL)),
 * or a negative errno: the reply's status (no *out then) or the last
 * transport error. req is modified (credentials) but not freed. */
int dfsc_call(dfs_client *c, uint32_t method, Dfs__NsRequest *req, Dfs__NsReply **out);

/* dfsc_call for replies that only carry attributes: *st (may be NULL) gets
 * the reply's Attr (-DFS_EPROTOCOL if the reply has none but st wants it). */
int dfsc_call_attr(dfs_client *c, uint32_t method, Dfs__NsRequest *req, struct dfs_stat *st);

/* Sets the fields and NSF_SET_* flags of sa in req (namespace.c). */
void dfsc_setattr_to_req(const struct dfs_setattr *sa, Dfs__NsRequest *req);

/* Names an inode in req: ino, or the entry at path when ino is 0 (path
 * checked). 0 or a negative errno. (namespace.c) */
int dfsc_set_inode(Dfs__NsRequest *req, uint64_t ino, const char *path);

/* Frees every idle connection. */
void dfsc_pool_destroy(dfs_client *c);

/* Milliseconds of CLOCK_MONOTONIC. */
int64_t dfsc_now_ms(void);

/* ---- located blocks (file_read.c, used by the writer too) ---- */

#define DFSC_LOCATIONS_MAX 16

struct dfsc_loc {
	char uuid[64];
	char host[DFS_HOST_MAX];
	uint16_t port;
};

struct dfsc_lblock {
	uint64_t index;
	uint64_t block_id;
	uint64_t genstamp;
	uint64_t length;
	int n_locs;
	struct dfsc_loc locs[DFSC_LOCATIONS_MAX];
};

/* Short-circuit reads (local_read.c). init: with the client (a no-op when
 * local_reads is off); destroy: with it. read: block bytes [boff, end) of
 * b into dst from a replica on this machine's datanode, every chunk
 * checked (sequential: read ahead of it): 0, or a negative errno (-EAGAIN: no local replica) after which
 * the caller reads over the network. Any thread. */
int dfsc_local_init(dfs_client *c);
void dfsc_local_destroy(dfs_client *c);
int dfsc_local_read(dfs_client *c, const struct dfsc_lblock *b, uint64_t boff, uint64_t end,
		    uint8_t *dst, bool sequential);

/* Copies a LocatedBlock into b. -DFS_EPROTOCOL if it has no BlockRef. */
int dfsc_lblock_from_pb(const Dfs__LocatedBlock *lb, struct dfsc_lblock *b);

/* GET_BLOCKS over the whole of the file st describes: 0 with *reply (free
 * with dfs__ns_reply__free_unpacked), or a negative errno. (cluster.c) */
int dfsc_get_all_blocks(dfs_client *c, const struct dfs_stat *st, Dfs__NsReply **reply);

/* ---- block writer (block_writer.c) ---- */

#define DFSC_PACKET_DATA_MAX (1u << 20) /* bytes of data per WRITE_PACKET */
#define DFSC_WRITE_WINDOW_MAX 8         /* packets in flight per pipeline */
#define DFSC_FANOUT_MAX (256u << 10)    /* a new block of at most this many bytes,
					 * written whole by one packet, goes to
					 * its datanodes by fan-out (block_writer.c) */

/* A packet kept until every datanode of the pipeline acked it, so that
 * pipeline recovery can send it again. */
struct dfsc_wpkt {
	uint64_t off;       /* block offset of the data */
	size_t len;
	bool sync, last, has_trunc;
	uint64_t trunc;
	uint64_t len_after; /* replica length once this packet is applied */
	uint8_t *data;      /* DFSC_PACKET_DATA_MAX bytes, allocated once */
};

#define DFSC_RECOVERY_MAX 8 /* pipeline recoveries per stream */

/* One open pipeline stream into one block. States:
 *   closed (fd < 0) -> open (header sent, packets flow) -> closed;
 *   a new block's stream starts deferred (no connection yet): its first
 *   packet either is the whole block, sent by fan-out (every datanode at
 *   once, each a pipeline of one) which ends the stream, or opens the chain;
 *   open --a datanode fails--> recovering (pipeline_recovery.c: drop it,
 *   new genstamp, reconnect to the rest, resend unacked) -> open.
 * Invariants while open: acked <= next_seq; next_seq - acked <=
 * DFSC_WRITE_WINDOW_MAX; pk[s % DFSC_WRITE_WINDOW_MAX] holds packet s for
 * every s in [acked, next_seq); acked_len is the replica length after
 * packet acked-1 on every datanode of the pipeline. */
struct dfsc_bwriter {
	int fd;
	bool deferred;           /* open, connection left to the first packet */
	struct dfsc_loc peer;    /* the datanode fd is connected to */
	struct dfsc_lblock blk;  /* id, genstamp being written, pipeline */
	uint64_t recorded_len;   /* the block's length before this stream */
	uint64_t max_end;        /* highest block offset written + 1 */
	uint64_t next_seq;       /* seqno of the next packet */
	uint64_t acked;          /* packets acked so far (seqnos 0..acked-1) */
	bool truncate_pending;   /* first packet must carry truncate */
	uint64_t truncate_to;
	struct dfs_frame rx;
	uint32_t *csum;          /* scratch for checksums */
	size_t csum_cap;
	int timeout_ms;
	/* pipeline recovery */
	struct dfsc_wpkt pk[DFSC_WRITE_WINDOW_MAX];
	bool create;             /* the stream creates the replica */
	uint64_t base_gs;        /* genstamp the stream started from: what a
				  * recovery names as prev (datanodes take
				  * this writer's later genstamps too) */
	uint64_t cur_len;        /* replica length after the last packet sent */
	uint64_t acked_len;      /* replica length after the last acked packet */
	uint64_t ino, index;     /* the block's file and index (set by the caller) */
	const struct dfsc_cred *cred; /* whose OPEN_BLOCK a recovery sends (set by
				       * the caller; NULL: the thread's) */
	bool unrecorded;         /* from ADD_BLOCK, no COMPLETE has recorded it
				  * yet: a recovery's OPEN_BLOCK names it
				  * (NSF_UNRECORDED) (set by the caller) */
	int bad_pos;             /* pipeline position that failed, -1: unknown */
	int bad_status;          /* why */
	int recoveries;
};

/* Recovers w after a failure at w->bad_pos: drops that datanode, gets a
 * new genstamp (OPEN_BLOCK excluding it), reopens the stream to the
 * others and resends every unacked packet. 0: open again; 1: that attempt
 * failed in a way a new one may fix (bad_pos/bad_status say why); < 0:
 * give up with this error (no datanode left: -EIO or the datanodes'
 * -ENOSPC/-EDQUOT). (pipeline_recovery.c) */
int dfsc_bwriter_recover(dfs_client *c, struct dfsc_bwriter *w);
/* Connects to blk.locs[0] and sends the header (pipeline = blk.locs).
 * 0 or -EIO (logged). (block_writer.c) */
int dfsc_bwriter_connect(dfs_client *c, struct dfsc_bwriter *w, bool create,
			 uint64_t prev_genstamp);
/* Sends packet seq (held in pk) into the open stream; with_trunc: carry
 * truncate = trunc instead of the packet's own. 0 or a transport error. */
int dfsc_bwriter_send(dfs_client *c, struct dfsc_bwriter *w, uint64_t seq, bool with_trunc,
		      uint64_t trunc);

/* ---- bad replicas (bad_replica.c) ---- */

/* Tells the namenode (BAD_REPLICA) that block b is corrupt on the
 * datanodes b->locs[locs[i]], i < n. Bounded: one pass over the
 * namenodes with a short timeout; failures are only logged (the datanode
 * scanner finds the replica again). Any thread. */
void dfsc_report_bad_replicas(dfs_client *c, const struct dfsc_lblock *b, const int *locs, int n);

void dfsc_bwriter_init(struct dfsc_bwriter *w);
/* Opens the pipeline for blk (locs[0] first, the rest downstream). create:
 * a new block, whose connections wait for the first packet (fan-out or
 * chain); otherwise prev_genstamp is the replica's genstamp now and
 * recorded_len its length. 0 or a negative errno (nothing stays open). */
int dfsc_bwriter_open(dfs_client *c, struct dfsc_bwriter *w, const struct dfsc_lblock *blk,
		      bool create, uint64_t prev_genstamp, uint64_t recorded_len);
/* Sends one packet of len (<= DFSC_PACKET_DATA_MAX) bytes at block offset
 * off, reading acks so that at most DFSC_WRITE_WINDOW_MAX stay in flight.
 * sync/last as in WritePacket. On error the stream is closed. */
int dfsc_bwriter_packet(dfs_client *c, struct dfsc_bwriter *w, uint64_t off, const void *data,
			size_t len, bool sync, bool last);
/* The same without a copy: *buf (DFSC_PACKET_DATA_MAX bytes from malloc)
 * holds the data and, once the packet is in the window (whatever the
 * result after that), is owned by w; *buf then gets a buffer of the same
 * size in exchange (never NULL). If the packet never got into the window,
 * *buf is left as it was. */
int dfsc_bwriter_packet_swap(dfs_client *c, struct dfsc_bwriter *w, uint64_t off,
			     uint8_t **buf, size_t len, bool sync, bool last);
/* Whether the stream is open (connected, or waiting for its first packet). */
bool dfsc_bwriter_is_open(const struct dfsc_bwriter *w);
/* Waits for every outstanding ack. On error the stream is closed. */
int dfsc_bwriter_drain(dfs_client *c, struct dfsc_bwriter *w);
/* Closes the connection without waiting (after errors). */
void dfsc_bwriter_abort(struct dfsc_bwriter *w);
void dfsc_bwriter_free(struct dfsc_bwriter *w);
/* Checksums for a packet at block offset off: fills *out (grown as
 * needed) and returns the count, or -ENOMEM. */
int dfsc_packet_checksums(uint64_t off, const void *data, size_t len, uint32_t **out,
			  size_t *cap);

/* ---- block reader (block_reader.c) ---- */

#define DFSC_READ_SKIP_MAX (1u << 20) /* read ahead this far instead of reseeking */

/* One READ_BLOCK stream from one replica. Packet data is verified against
 * its checksums before anything is copied out. */
struct dfsc_breader {
	int fd;
	dfs_client *c;       /* whose pool gets the connection back */
	struct dfsc_loc peer; /* the datanode fd is connected to */
	uint64_t block_id;
	uint64_t genstamp;
	int loc;             /* which location it reads from */
	uint64_t end;        /* block offset where the requested range ends */
	uint64_t pkt_off;    /* block offset of the current packet's data */
	size_t pkt_len;
	bool done;           /* the last packet has arrived */
	struct dfs_frame rx;
	uint32_t *csum;
	size_t csum_cap;
	int timeout_ms;
};

void dfsc_breader_init(struct dfsc_breader *r);
/* Starts streaming [off, end) of blk from blk->locs[loc]. */
int dfsc_breader_open(dfs_client *c, struct dfsc_breader *r, const struct dfsc_lblock *blk,
		      int loc, uint64_t off, uint64_t end);
/* Copies block bytes [off, off+len) into buf from the stream, consuming
 * packets; off must be >= the current packet's start and below r->end.
 * Returns 0, -ESPIPE if the stream cannot serve off (caller reopens),
 * -DFS_ECHECKSUM on a bad packet, or another negative errno. */
int dfsc_breader_read(dfs_client *c, struct dfsc_breader *r, uint64_t off, void *buf,
		      size_t len);
/* Ends the stream: a stream read to its last packet gives its connection
 * to the client's pool, any other is closed. */
void dfsc_breader_close(struct dfsc_breader *r);
/* Closes the connection (after an error: it is in no known state). */
void dfsc_breader_abort(struct dfsc_breader *r);
void dfsc_breader_free(struct dfsc_breader *r);
/* Verifies data (starting at block offset off) against checksums; 0 or
 * -DFS_ECHECKSUM. */
int dfsc_verify_checksums(uint64_t off, const void *data, size_t len, const uint32_t *sums,
			  size_t n_sums);

/* ---- files (file.c, file_write.c, file_read.c) ---- */

#define DFSC_BLOCKS_CACHE_MAX 1024   /* located blocks cached per handle */
#define DFSC_PENDING_MAX 4096        /* blocks written since the last COMPLETE */
#define DFSC_STREAMS_MAX 16          /* blocks a handle writes at once */
#define DFSC_CREATED_WRITTEN_MAX 8   /* file.c: memory of alloc_with_create */
/* A block allocated with the CREATE is used only this soon after it (the
 * open's attr_ms): the namenode keeps an unrecorded block's expected
 * replicas from the orphan check for a minute from its allocation, and a
 * 64 MiB block may take a while to write. */
#define DFSC_FIRST_BLOCK_MAX_AGE_MS 10000

struct dfs_file {
	dfs_client *c;
	uint64_t ino;
	int flags;
	struct dfsc_cred cred; /* the opener's: the handle's own namenode calls
				  (blocks, COMPLETE) are made with them, from
				  whichever thread, as a local fd keeps the
				  rights it was opened with */
	struct dfs_stat attr; /* as of the open and this handle's own changes
				 (the size is in size) */
	int64_t attr_ms;      /* when the open got attr (dfsc_now_ms) */
	struct dfs_setattr pend; /* attribute changes kept for the next
				    COMPLETE (dfs_fsetattr_deferred) */
	uint64_t pos;
	uint64_t size;        /* file size as this handle knows it */
	uint64_t block_size;
	bool size_dirty;      /* size changed since the last COMPLETE */
	bool fresh;           /* the open created the file empty and no block
				 was added since: a first block needs no
				 GET_BLOCKS to know it is new */
	bool created;         /* this open made the file (O_EXCL or O_TRUNC) */
	bool wrote;           /* a block stream was opened */
	struct dfsc_lblock *first_block; /* block 0, allocated by the CREATE
					    (NSF_ALLOC_BLOCK), not used yet */
	int write_err;        /* sticky error of the write path */
	/* write buffer: contiguous bytes at file offset wbuf_off */
	uint8_t *wbuf;
	size_t wbuf_len;
	uint64_t wbuf_off;
	/* open pipeline streams, one per block being written: a random
	 * writer keeps several blocks open instead of ending a stream (and
	 * reopening the block with OPEN_BLOCK) at every jump between blocks.
	 * A slot is open while bw[i] && bw[i]->fd >= 0; each is allocated at
	 * its first stream (all 16 were 94 KiB zeroed at every open). */
	struct dfsc_bwriter *bw[DFSC_STREAMS_MAX];
	uint64_t bw_index[DFSC_STREAMS_MAX]; /* block index of each stream */
	uint64_t bw_used[DFSC_STREAMS_MAX];  /* last use (bw_tick), for LRU */
	uint64_t bw_end[DFSC_STREAMS_MAX];   /* block offset its last packet ended at */
	uint64_t bw_tick;
	/* blocks written since the last COMPLETE */
	Dfs__BlockRef *pending;
	uint64_t *pending_idx; /* block index of each pending entry */
	size_t n_pending, pending_cap;
	/* located-block cache: blocks of [cache_lo, cache_hi), sorted */
	struct dfsc_lblock *cache;
	size_t n_cache;
	uint64_t cache_lo, cache_hi;
	bool cache_valid;
	struct dfsc_breader br;
	struct dfsc_lblock br_blk;
	uint64_t last_read_end;
};

/* Write path (file_write.c). */
ssize_t dfsc_file_pwrite(dfs_file *f, const void *buf, size_t n, uint64_t off);
/* Sends buffered data, closes (last) or syncs the open stream and waits for
 * every ack, then COMPLETEs. sync: make durable. close_stream: end it. */
int dfsc_file_flush(dfs_file *f, bool sync, bool close_stream);
/* True when something was written that is not yet COMPLETEd. */
bool dfsc_file_dirty(const dfs_file *f);
/* True when bytes or a size were written that are not yet COMPLETEd. */
bool dfsc_file_unpublished(const dfs_file *f);
void dfsc_file_write_free(dfs_file *f);

/* Read path (file_read.c). */
ssize_t dfsc_file_pread(dfs_file *f, void *buf, size_t n, uint64_t off);
void dfsc_file_cache_invalidate(dfs_file *f);
/* Fetches located blocks of [off, off+len) into the cache. */
int dfsc_file_fetch_blocks(dfs_file *f, uint64_t off, uint64_t len);
/* The cached block of index idx, or NULL (a hole, or not cached). */
const struct dfsc_lblock *dfsc_file_cached_block(const dfs_file *f, uint64_t idx);
void dfsc_file_read_free(dfs_file *f);

#endif
