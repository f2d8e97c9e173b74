/* dfs.h: the public C API of dfs, the distributed file system.
 *
 * Everything that talks to a dfs cluster goes through this library: the dfs
 * command-line tool, dfs-fuse and batch jobs. Link with `pkg-config --libs dfs`.
 *
 * Conventions:
 *  - Every call returns 0 (or a byte count) on success and a negative errno
 *    (-ENOENT, -EEXIST, -EIO, ...) on failure, the same codes POSIX uses.
 *    Conditions that have no errno use the DFS_E* codes below;
 *    dfs_strerror() describes any of them.
 *  - A dfs_client is thread-safe: any number of threads may use one client
 *    at once. A dfs_file or dfs_dir is used by one thread at a time.
 *  - Paths are absolute ("/a/b"), "/"-separated. A name (one path
 *    component) is 1..255 bytes without '/' or NUL and is not "." or "..":
 *    other names get -EINVAL, longer ones -ENAMETOOLONG.
 *  - The *_at calls name an entry as (directory inode, name), the way
 *    dfs-fuse sees the namespace. DFS_ROOT_INO is the root directory.
 *  - Objects returned through an out-pointer are owned by the caller, who
 *    releases them with the matching close/free call.
 */
#ifndef DFS_H
#define DFS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- errors ---- */

/* dfs-specific error codes, returned negated; outside the errno range. */
#define DFS_E_BASE 1000
#define DFS_ENOTLEADER 1001    /* the namenode asked is not the leader */
#define DFS_ECHECKSUM 1002     /* data failed its CRC32C check */
#define DFS_EPROTOCOL 1003     /* malformed or unexpected message */
#define DFS_ESTALE 1004        /* replica's generation stamp is stale */
#define DFS_ENODATANODES 1005  /* not enough live datanodes for a block */
#define DFS_ESAFEMODE 1006     /* namenode is in safe mode */
#define DFS_ENOTFORMATTED 1007 /* storage directory is not formatted */
#define DFS_E_MAX 1008

/* Describes err (negative or positive errno or DFS_E* code). Never NULL;
 * the string is static. Any thread. */
const char *dfs_strerror(int err);

/* ---- connecting ---- */

typedef struct dfs_client dfs_client;
typedef struct dfs_file dfs_file;
typedef struct dfs_dir dfs_dir;

#define DFS_ROOT_INO 1

struct dfs_options {
	/* "host:port[,host:port...]" of the namenodes. NULL: the `namenodes`
	 * key of the config file below. */
	const char *namenodes;
	/* Client config file. NULL: $DFS_CONF, then /etc/dfs/dfs.conf; a
	 * missing file is not an error when namenodes is given. */
	const char *conf_path;
	/* How long one RPC may take before it is retried, in ms (0: default
	 * 30000). */
	int rpc_timeout_ms;
	/* How long to keep retrying while no namenode answers, in ms (0:
	 * default 60000; -1: fail at once). */
	int retry_total_ms;
	/* Replication and block size for files created without explicit
	 * values (0: the cluster's defaults). */
	unsigned replication;
	uint64_t block_size;
	/* Optional sink for the library's diagnostics (never writes to stderr
	 * itself). level: 0 debug .. 4 error. */
	void (*log)(void *arg, int level, const char *msg);
	void *log_arg;
};

/* Connects to the cluster. opts may be NULL (all defaults). On success
 * *out is a new client, freed with dfs_disconnect(). Fails with -ECONNREFUSED
 * (or another negative errno) when no namenode answers within the retry
 * time, -EINVAL on a bad namenode list. */
int dfs_connect(const struct dfs_options *opts, dfs_client **out);

/* Closes every connection and frees the client. Files and directories
 * still open on it must be closed first. NULL is allowed. */
void dfs_disconnect(dfs_client *c);

/* Sets the identity (uid, gid, supplementary groups) that the calling
 * thread's requests carry: owner of new entries and subject of permission
 * checks. Default: the process's own. ngroups <= 32. An open dfs_file
 * keeps the identity it was opened with for its own writes, fsync and
 * close. */
int dfs_set_thread_cred(dfs_client *c, uint32_t uid, uint32_t gid,
			const uint32_t *groups, int ngroups);

/* ---- attributes ---- */

struct dfs_stat {
	uint64_t ino;
	uint32_t mode;      /* st_mode: S_IFMT type bits and permission bits */
	uint32_t nlink;
	uint32_t uid;
	uint32_t gid;
	uint64_t size;
	uint64_t rdev;
	struct timespec atime;
	struct timespec mtime;
	struct timespec ctime;
	uint32_t replication; /* regular files */
	uint64_t block_size;  /* regular files */
};

/* Attributes of the entry at path; a final symlink is not followed. */
int dfs_stat(dfs_client *c, const char *path, struct dfs_stat *st);
/* Attributes of (dir_ino, name); dir_ino 0 means name is a path. */
int dfs_lookup(dfs_client *c, uint64_t dir_ino, const char *name, struct dfs_stat *st);
/* Attributes of an inode. */
int dfs_stat_ino(dfs_client *c, uint64_t ino, struct dfs_stat *st);
/* Attributes of directory ino as this client's own last namespace change
 * left it, when that change was made in it (a create, mkdir, mknod,
 * symlink, link, unlink, rmdir, or either side of a rename) and sent at
 * most max_age_ms ago: 0, or -ENOENT. Nothing is asked of the namenode,
 * and changes by other clients are not seen: for callers that may show
 * attributes up to max_age_ms old (dfs-fuse answers the kernel's re-read
 * of a directory after each change in it from this). Any thread. */
int dfs_dir_stat_recent(dfs_client *c, uint64_t ino, unsigned max_age_ms, struct dfs_stat *st);

/* Which fields of a dfs_setattr to apply. */
#define DFS_SET_MODE 0x01
#define DFS_SET_UID 0x02
#define DFS_SET_GID 0x04
#define DFS_SET_SIZE 0x08
#define DFS_SET_ATIME 0x10
#define DFS_SET_MTIME 0x20
#define DFS_SET_ATIME_NOW 0x40
#define DFS_SET_MTIME_NOW 0x80

struct dfs_setattr {
	unsigned valid; /* DFS_SET_* bits */
	uint32_t mode;  /* permission bits */
	uint32_t uid;
	uint32_t gid;
	uint64_t size;  /* truncate or extend; blocks past it are freed */
	struct timespec atime;
	struct timespec mtime;
};

/* Changes attributes of an inode (ino) or, when ino is 0, of path. On
 * success, *st (if not NULL) holds the new attributes. */
int dfs_setattr(dfs_client *c, uint64_t ino, const char *path,
		const struct dfs_setattr *sa, struct dfs_stat *st);

int dfs_chmod(dfs_client *c, const char *path, uint32_t mode);
/* uid or gid of (uint32_t)-1 leaves that one unchanged. */
int dfs_chown(dfs_client *c, const char *path, uint32_t uid, uint32_t gid);
/* times[0] atime, times[1] mtime; tv_nsec may be UTIME_NOW or UTIME_OMIT.
 * times NULL: both now. */
int dfs_utimens(dfs_client *c, const char *path, const struct timespec times[2]);
int dfs_truncate(dfs_client *c, const char *path, uint64_t size);
/* Sets the replication factor of a file (1..16); existing blocks are
 * brought to it in the background. */
int dfs_setrep(dfs_client *c, const char *path, unsigned replication);

/* ---- namespace ---- */

#define DFS_MKDIR_PARENTS 0x1 /* make missing parents; no error if it exists */

/* Makes a directory (dir_ino 0: name is a path). *st (may be NULL) gets the
 * new directory's attributes. */
int dfs_mkdir_at(dfs_client *c, uint64_t dir_ino, const char *name, uint32_t mode,
		 unsigned flags, struct dfs_stat *st);
int dfs_mkdir(dfs_client *c, const char *path, uint32_t mode, unsigned flags);

/* Makes a FIFO, socket or device node (mode carries S_IFIFO etc.). */
int dfs_mknod_at(dfs_client *c, uint64_t dir_ino, const char *name, uint32_t mode,
		 uint64_t rdev, struct dfs_stat *st);

/* Removes a non-directory entry; the inode goes when its last link does. */
int dfs_unlink_at(dfs_client *c, uint64_t dir_ino, const char *name);
int dfs_unlink(dfs_client *c, const char *path);
/* Removes an empty directory (-ENOTEMPTY otherwise). */
int dfs_rmdir_at(dfs_client *c, uint64_t dir_ino, const char *name);
int dfs_rmdir(dfs_client *c, const char *path);
/* Removes path; with recursive, a whole directory tree, in one atomic
 * namespace operation. */
int dfs_delete(dfs_client *c, const char *path, int recursive);

#define DFS_RENAME_NOREPLACE 0x1

/* Renames atomically with POSIX rules: an existing target is replaced when
 * types agree (a directory only if empty); a directory cannot move under
 * itself (-EINVAL). */
int dfs_rename_at(dfs_client *c, uint64_t dir_ino, const char *name, uint64_t new_dir_ino,
		  const char *new_name, unsigned flags);
int dfs_rename(dfs_client *c, const char *from, const char *to, unsigned flags);

int dfs_symlink_at(dfs_client *c, const char *target, uint64_t dir_ino, const char *name,
		   struct dfs_stat *st);
int dfs_symlink(dfs_client *c, const char *target, const char *linkpath);
/* Copies the target into buf (NUL-terminated if it fits); returns its
 * length or a negative errno. ino 0: use path. */
int dfs_readlink(dfs_client *c, uint64_t ino, const char *path, char *buf, size_t size);

/* Makes a hard link to a non-directory inode. */
int dfs_link_at(dfs_client *c, uint64_t ino, uint64_t new_dir_ino, const char *new_name,
		struct dfs_stat *st);
int dfs_link(dfs_client *c, const char *existing, const char *newpath);

/* ---- extended attributes ---- */

/* Extended attributes of regular files and directories, with the rules of
 * setxattr(2) for the user.* namespace, the only one supported (any other
 * name: -EOPNOTSUPP). A name is "user." and 1..250 more bytes (empty or
 * longer: -ERANGE), a value 0..DFS_XATTR_SIZE_MAX bytes of any kind
 * (longer: -E2BIG). Setting or removing one needs write permission on the
 * inode (-EACCES) and, on a sticky directory, its ownership (-EPERM);
 * getting one needs read permission; listing needs none. Other file types
 * carry none: setting is -EPERM, getting -ENODATA. Per inode the names
 * with their NULs stay within DFS_XATTR_LIST_MAX bytes and names plus
 * values within 128 KiB (-ENOSPC). Attributes belong to the inode (all
 * its hard links) and go with it. Changes are replicated like every
 * namespace change and visible to every client at once (nothing caches
 * them). ino 0: the entry at path, a final symlink not followed (like
 * lsetxattr(2)). */
#define DFS_XATTR_NAME_MAX 255   /* bytes of a name, "user." included */
#define DFS_XATTR_SIZE_MAX 65536 /* bytes of a value */
#define DFS_XATTR_LIST_MAX 65536 /* bytes of a dfs_listxattr list */
#define DFS_XATTR_CREATE 0x1     /* setxattr: -EEXIST if it exists */
#define DFS_XATTR_REPLACE 0x2    /* setxattr: -ENODATA if it does not */

/* Sets attribute name to the size bytes at value. flags: 0 (create or
 * replace), DFS_XATTR_CREATE or DFS_XATTR_REPLACE. Changes ctime. */
int dfs_setxattr(dfs_client *c, uint64_t ino, const char *path, const char *name,
		 const void *value, size_t size, int flags);
/* Copies the value of attribute name into value and returns its length;
 * size 0 returns the length only. -ERANGE if size is not 0 but too small,
 * -ENODATA if the inode has no such attribute. */
ssize_t dfs_getxattr(dfs_client *c, uint64_t ino, const char *path, const char *name,
		     void *value, size_t size);
/* Copies the attribute names, each followed by a NUL, in byte order, into
 * list and returns their total length; size 0 returns the length only.
 * -ERANGE if size is not 0 but too small. */
ssize_t dfs_listxattr(dfs_client *c, uint64_t ino, const char *path, char *list, size_t size);
/* Removes attribute name; -ENODATA if the inode has no such attribute.
 * Changes ctime. */
int dfs_removexattr(dfs_client *c, uint64_t ino, const char *path, const char *name);

/* ---- directories ---- */

struct dfs_dirent {
	const char *name; /* valid until the next dfs_readdir or dfs_closedir */
	struct dfs_stat st;
};

/* Opens a directory for listing (ino 0: use path). Entries arrive in pages
 * from the namenode, so a directory of millions lists in bounded memory. */
int dfs_opendir(dfs_client *c, uint64_t ino, const char *path, dfs_dir **out);
/* Positions the listing after the entry named `after` ("" = start). */
int dfs_seekdir_name(dfs_dir *d, const char *after);
/* Returns 1 and fills *ent with the next entry, 0 at the end, or a
 * negative errno. Entries come in name order, "." and ".." excluded. */
int dfs_readdir(dfs_dir *d, struct dfs_dirent *ent);
void dfs_closedir(dfs_dir *d);

/* ---- files ---- */

/* Opens path. flags: O_RDONLY, O_WRONLY or O_RDWR, with O_CREAT, O_EXCL,
 * O_TRUNC, O_APPEND. replication and block_size apply to a file created
 * here (0: defaults). */
int dfs_open(dfs_client *c, const char *path, int flags, uint32_t mode, dfs_file **out);
int dfs_open_ex(dfs_client *c, const char *path, int flags, uint32_t mode,
		unsigned replication, uint64_t block_size, dfs_file **out);
/* Opens an inode (no O_CREAT). */
int dfs_open_ino(dfs_client *c, uint64_t ino, int flags, dfs_file **out);
/* Creates (dir_ino, name) and opens it; *st gets its attributes. */
int dfs_create_at(dfs_client *c, uint64_t dir_ino, const char *name, int flags,
		  uint32_t mode, dfs_file **out, struct dfs_stat *st);

/* Reads up to n bytes at the file position / at off. Returns the count (0
 * at end of file) or a negative errno. Holes read as zeros. */
ssize_t dfs_read(dfs_file *f, void *buf, size_t n);
ssize_t dfs_pread(dfs_file *f, void *buf, size_t n, uint64_t off);
/* Writes n bytes at the file position (the end with O_APPEND) / at off.
 * Data is buffered and streamed to the datanodes; it is durable on every
 * replica once dfs_fsync or dfs_close returns 0. A datanode of the write
 * pipeline failing fails the write with -EIO (-ENOSPC for a full disk),
 * possibly reported only by a later write, dfs_fsync or dfs_close; after
 * that every write call on f fails with the same error. Reads on a handle
 * see its own writes. */
ssize_t dfs_write(dfs_file *f, const void *buf, size_t n);
ssize_t dfs_pwrite(dfs_file *f, const void *buf, size_t n, uint64_t off);
/* SEEK_SET, SEEK_CUR, SEEK_END; returns the new position. */
int64_t dfs_lseek(dfs_file *f, int64_t off, int whence);
/* Makes everything written so far durable on every replica and visible
 * to the next open. */
int dfs_fsync(dfs_file *f);
int dfs_ftruncate(dfs_file *f, uint64_t size);
/* Keeps attribute changes with f's writes not yet published, for the
 * COMPLETE that publishes them (dfs_fsync, dfs_close): one namespace
 * change instead of two, as tar, cp -p and rsync set times, owner and mode
 * on each file they write. Only changes that take no right from anyone
 * are kept: explicit atime / mtime, a mode that adds permission bits, a
 * chown to the present owner and group, by f's opener as the owner (or
 * root); a later write makes the mtime the COMPLETE's. Returns 1 (kept;
 * *st, if not NULL, gets the attributes f will publish), 0 (not kept:
 * apply them with dfs_setattr, after dfs_fsync when they set a time), or
 * a negative errno. dfs_fstat on f shows kept changes. */
int dfs_fsetattr_deferred(dfs_file *f, const struct dfs_setattr *sa, struct dfs_stat *st);
/* The namenode's attributes of f with what f has not published yet: its
 * size, kept changes, and (unless an explicit mtime is kept) the time of
 * its last write as mtime and ctime. */
int dfs_fstat(dfs_file *f, struct dfs_stat *st);
/* dfs_fstat without a namenode call: f's attributes as its open (or
 * create) got them and as its own changes left them, the size as f knows
 * it, if the open was at most max_age_ms ago; -ESTALE if it was longer
 * ago (then dfs_fstat). Changes by other clients are not seen: for
 * callers that may show attributes that old (dfs-fuse answers the
 * kernel's re-read of a file it is writing from this). */
int dfs_fstat_recent(dfs_file *f, unsigned max_age_ms, struct dfs_stat *st);
/* Flushes, makes durable, and frees f, even when it fails. */
int dfs_close(dfs_file *f);

/* ---- cluster ---- */

struct dfs_statfs {
	uint64_t capacity;  /* bytes */
	uint64_t used;
	uint64_t remaining;
	uint64_t files;
	uint64_t blocks;
	uint32_t live_datanodes;
	uint32_t dead_datanodes;
};
int dfs_statfs(dfs_client *c, struct dfs_statfs *sf);

struct dfs_datanode_info {
	char uuid[64];
	char host[256];
	unsigned port;
	char state[32]; /* "live", "dead", ... */
	uint64_t capacity;
	uint64_t used;
	uint64_t remaining;
	uint64_t blocks;
	int64_t last_heartbeat_ms_ago;
};
/* Lists the datanodes the namenode knows: *out (free() it) gets *count
 * entries. */
int dfs_datanode_report(dfs_client *c, struct dfs_datanode_info **out, size_t *count);

/* Where the blocks of a file live, for tools and tests. */
struct dfs_block_location {
	uint64_t index;
	uint64_t block_id;
	uint64_t genstamp;
	uint64_t length;
	unsigned nlocations;
	char locations[16][80]; /* "host:port" of each replica */
};
/* *out (free() it) gets *count blocks of path. */
int dfs_block_locations(dfs_client *c, const char *path, struct dfs_block_location **out,
			size_t *count);

/* ---- the namenode Raft group (admin) ---- */

/* One namenode of the Raft group as seen by asking it (DFS_M_RAFT_STATUS). */
struct dfs_raft_member {
	uint64_t id;            /* node id (0: did not answer, id unknown) */
	char addr[280];         /* "host:port" of its RPC port */
	char role[16];          /* "leader", "follower", "candidate", "joining",
				   "unreachable" */
	uint64_t term;
	uint64_t leader_id;     /* the leader it knows (0: none) */
	uint64_t commit_index;
	uint64_t applied_index;
	uint64_t last_index;    /* last log index */
	uint64_t snapshot_index;
	int64_t lag;            /* highest commit index seen in the group minus
				   its applied index; -1 if unreachable */
	int reachable;          /* 1 if it answered */
	int voter;              /* 1 if a voter in the configuration the
				   answering nodes report */
	uint64_t from_effects;  /* log entries it applied from the leader's
				   effects instead of running them (since
				   it started) */
	uint64_t unsynced_writes; /* batches it wrote as leader and went on
				     before their fsync ended (since it
				     started) */
};

/* Status of every namenode of the group: the client's namenode list plus
 * every peer address the answering namenodes know, each asked directly
 * (each call bounded by min(rpc_timeout_ms, 2000) ms). Sorted by id, the
 * unreachable ones last. *out: free(). 0 or a negative errno (-ENOMEM); a
 * group where nobody answers gives 0 with every member unreachable. */
int dfs_raft_status(dfs_client *c, struct dfs_raft_member **out, size_t *count);
/* Adds node `id` (not yet a voter, started with dfs-namenode --join) at
 * host_port as a voter; returns once the change is committed. -EEXIST if
 * id is a voter already, -EBUSY while another change is in progress. */
int dfs_raft_add(dfs_client *c, uint64_t id, const char *host_port);
/* Removes voter `id` (may be the leader: it steps down once committed). */
int dfs_raft_remove(dfs_client *c, uint64_t id);
/* Hands leadership to to_id (0: the most caught-up follower); returns once
 * the leader asked has started the transfer (poll dfs_raft_status). */
int dfs_raft_transfer(dfs_client *c, uint64_t to_id);
/* Fault hook for tests: the namenode at host_port drops every Raft message
 * to and from the nodes in drop[0..n) (n 0: heal). Not persistent. */
int dfs_raft_drop_peers(dfs_client *c, const char *host_port, const uint64_t *drop, size_t n);

/* ---- cluster health (admin) ---- */

/* Safe mode of the namenode: while on, no replica is copied or deleted;
 * entered by an admin (manual), namespace changes fail with
 * -DFS_ESAFEMODE too. A namenode starts in safe mode and leaves it once
 * the datanodes have reported (threshold, min datanodes, extension). */
#define DFS_SAFEMODE_GET 0
#define DFS_SAFEMODE_ENTER 1
#define DFS_SAFEMODE_LEAVE 2
struct dfs_safemode_info {
	int on;
	int manual;
	uint64_t blocks_total;      /* blocks in the namespace */
	uint64_t blocks_reported;   /* ... with a good replica reported */
	unsigned live_datanodes;
	unsigned min_datanodes;
	double threshold;           /* fraction of blocks_total needed */
	int64_t extension_left_ms;  /* -1: threshold not reached yet */
};
/* op: DFS_SAFEMODE_*; *out (may be NULL) gets the state after op.
 * ENTER/LEAVE need the superuser (-EPERM). */
int dfs_safemode(dfs_client *c, int op, struct dfs_safemode_info *out);

/* Starts decommissioning a datanode ("uuid" or "host:port"), or ends it
 * (recommission != 0). Returns once recorded; the datanode's state in
 * dfs_datanode_report() then goes "decommissioning" -> "decommissioned".
 * -ENOENT: no such datanode; -EPERM: not the superuser. */
int dfs_decommission(dfs_client *c, const char *datanode, int recommission);

/* Replica health of each block of a regular file (dfs fsck). */
#define DFS_HEALTH_LOCATIONS_MAX 16
struct dfs_block_health {
	uint64_t index;
	uint64_t block_id;
	uint64_t genstamp;
	uint64_t length;
	unsigned good;        /* good replicas (confirmed, in service) */
	unsigned nlocations;  /* readable replicas, "host:port" */
	char locations[DFS_HEALTH_LOCATIONS_MAX][80];
	unsigned ncorrupt;    /* replicas known corrupt */
	char corrupt[DFS_HEALTH_LOCATIONS_MAX][80];
};
/* *out (free() it) gets *count blocks of path, *replication the file's
 * replication. -EINVAL if path is not a regular file. */
int dfs_block_health(dfs_client *c, const char *path, unsigned *replication,
		     struct dfs_block_health **out, size_t *count);

#ifdef __cplusplus
}
#endif
#endif
