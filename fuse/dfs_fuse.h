/* dfs_fuse.h: the state dfs-fuse shares between its parts, and the
 * low-level operations each part implements.
 *
 * Threading: libfuse's multi-threaded loop calls the operations from many
 * threads at once. struct dfs_fuse is read-only after mount except for the
 * open-file table (handles.c) and the lookahead window (lookahead.c), each
 * with its own lock. A dfs_client is thread-safe; a
 * dfs_file or dfs_dir is used under its handle's lock only.
 *
 * Inode numbers are the namespace's inode ids: FUSE_ROOT_ID (1) is
 * DFS_ROOT_INO. libdfs addresses everything by inode, so dfs-fuse keeps no
 * inode table: forget is a no-op and lookup counts need no bookkeeping.
 */
#ifndef DFS_FUSE_H
#define DFS_FUSE_H

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include <dfs.h>
#include <pthread.h>
#include <stdint.h>

#include "fuse/handles.h"
#include "fuse/lookahead.h"

/* Mount options (-o ...) that are dfs-fuse's own; the rest go to libfuse. */
struct dfs_fuse_opts {
	char *namenodes;         /* namenodes=host:port,...; NULL: from conf */
	char *conf;              /* conf=FILE; NULL: $DFS_CONF, /etc/dfs/dfs.conf */
	char *log_level;         /* log_level=debug|info|notice|warn|err */
	char *log_file;          /* log_file=FILE (default stderr) */
	double attr_timeout;     /* attr_timeout=S: kernel attribute cache (1.0) */
	double entry_timeout;    /* entry_timeout=S: kernel name cache (1.0) */
	double negative_timeout; /* negative_timeout=S: cached ENOENT (1.0) */
	int connect_timeout_ms;  /* connect_timeout_ms=N: mount-time probe (3000) */
	int rpc_timeout_ms;      /* rpc_timeout_ms=N: passed to libdfs (0 default) */
	int retry_total_ms;      /* retry_total_ms=N: passed to libdfs (0 default) */
	unsigned replication;    /* replication=N for new files (0 cluster's) */
	unsigned long long block_size; /* block_size=N for new files */
	int writeback;           /* writeback: FUSE_CAP_WRITEBACK_CACHE (off) */
	int debug;               /* debug / -d: log level debug */
	int read_only;           /* ro (the kernel enforces it; logged at mount) */
};

struct dfs_fuse {
	dfs_client *client;
	struct dfs_fuse_opts opts;
	struct dfsf_handles handles; /* open files by inode (handles.c) */
	struct dfsf_lookahead la;    /* names listed ahead of a scan (lookahead.c) */
	unsigned max_write_bytes;    /* negotiated in init */
};

#define DFSF_MAX_WRITE_BYTES (1024u * 1024u) /* asked for in init */
#define DFSF_READDIR_NAME_MAX 256

/* The dfs_fuse of a request. */
static inline struct dfs_fuse *dfsf_of(fuse_req_t req)
{
	return (struct dfs_fuse *)fuse_req_userdata(req);
}

/* Turns a libdfs result (negative errno or DFS_E* code) into a positive
 * errno for fuse_reply_err: DFS_ENODATANODES -> ENOSPC, other DFS_E* ->
 * EIO, socket errors (the cluster did not answer within libdfs's
 * rpc_timeout_ms / retry_total_ms: ECONNREFUSED, ETIMEDOUT, ...) -> EIO. */
int dfsf_errno(int dfs_err);
/* 1 if dfs_err says the cluster did not answer (a socket error or no
 * leader) once libdfs's retries ran out. */
int dfsf_err_unreachable(int dfs_err);
/* Logs a failed operation and returns the errno to reply with. what names
 * the operation and its arguments ("lookup(1, name)"), nodes who may not
 * have answered ("namenodes"). One line: a warning when the cluster was
 * unreachable or for EIO/ENOSPC/ENOMEM, debug level for the expected
 * errors (ENOENT, EACCES, ...). Any thread. */
int dfsf_fail_errno(const char *what, int dfs_err, const char *nodes);
#define DFSF_NODES_NS "namenodes"                   /* namespace operations */
#define DFSF_NODES_DATA "namenodes or datanodes"    /* reads and writes */
#define DFSF_FAIL_WHAT_MAX 320 /* "op(ino, name)" with a 255-byte name */

/* Replies to a failed request as dfsf_fail_errno decides, naming it
 * "op(ino)" or "op(ino, name)" (name may be NULL). nodes: who may not have
 * answered (DFSF_NODES_*). */
void dfsf_reply_fail(fuse_req_t req, const char *op, uint64_t ino, const char *name, int rc,
		     const char *nodes);
/* Sets the request's credential; on failure replies and returns -1. */
int dfsf_begin(struct dfs_fuse *fs, fuse_req_t req, const char *op);

/* Sets the calling thread's libdfs credential from the request (uid, gid,
 * supplementary groups). Returns 0 or a negative errno. */
int dfsf_set_cred(struct dfs_fuse *fs, fuse_req_t req);

/* Attributes of ino as this mount sees them: with the size written
 * through a dirty writer (not yet on the namenode). 0 or a negative errno.
 * Every attribute reply must carry such sizes: the kernel takes the size
 * of any attribute reply (getattr, lookup, readdirplus, setattr, link)
 * as the file's, so a namenode size sent while a file is being written
 * made stat through the same mount go back (to 0 for a new file) once
 * the name's entry_timeout had passed. */
int dfsf_stat_live(struct dfs_fuse *fs, uint64_t ino, struct dfs_stat *ds);
/* rc of a call on an inode number the kernel looked up from a name, made
 * without an open handle: -ENOENT (the inode is gone: another client
 * replaced or removed the file since the name was looked up, in the
 * kernel's entry cache or the lookahead window) becomes -ESTALE, which
 * makes the kernel look the name up again and retry the call once, so it
 * reaches the file the name holds now; the window is dropped so that the
 * lookup asks the namenode. Other codes pass through. */
int dfsf_inode_gone(struct dfs_fuse *fs, int rc);
/* ds came from the namenode (lookup, listing, setattr, link), read after
 * dfsf_handles_changes() returned changes_before: if ds is a regular file
 * with a dirty writer here, or one whose writer published meanwhile (its
 * close may have ended between the namenode's answer and now), replaces
 * *ds with dfsf_stat_live. A clean writer that published nothing since
 * leaves ds as it is. 0 or a negative errno (*ds then unchanged). */
int dfsf_attr_live(struct dfs_fuse *fs, struct dfs_stat *ds, uint64_t changes_before);

/* Fills a struct stat from a dfs_stat. */
void dfsf_stat_to_posix(const struct dfs_stat *ds, struct stat *st);
/* Replies to an entry request (lookup, mkdir, ...) with ds. */
void dfsf_reply_entry(struct dfs_fuse *fs, fuse_req_t req, const struct dfs_stat *ds);
/* Fills a fuse_entry_param from ds with the mount's timeouts. */
void dfsf_fill_entry(struct dfs_fuse *fs, const struct dfs_stat *ds, struct fuse_entry_param *e);

/* ops_entry.c: names and attributes. */
void dfsf_lookup(fuse_req_t req, fuse_ino_t parent, const char *name);
void dfsf_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup);
void dfsf_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets);
void dfsf_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void dfsf_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		  struct fuse_file_info *fi);
void dfsf_readlink(fuse_req_t req, fuse_ino_t ino);
void dfsf_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev);
void dfsf_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode);
void dfsf_unlink(fuse_req_t req, fuse_ino_t parent, const char *name);
void dfsf_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name);
void dfsf_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name);
void dfsf_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		 const char *newname, unsigned int flags);
void dfsf_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname);
void dfsf_statfs(fuse_req_t req, fuse_ino_t ino);
void dfsf_access(fuse_req_t req, fuse_ino_t ino, int mask);

/* ops_file.c: open files. */
void dfsf_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void dfsf_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		 struct fuse_file_info *fi);
void dfsf_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
	       struct fuse_file_info *fi);
void dfsf_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		struct fuse_file_info *fi);
void dfsf_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void dfsf_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void dfsf_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi);

/* ops_dir.c: directory listings. */
void dfsf_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void dfsf_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		  struct fuse_file_info *fi);
void dfsf_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		      struct fuse_file_info *fi);
void dfsf_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void dfsf_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi);

/* ops_xattr.c: extended attributes (user.* only). */
void dfsf_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
		   size_t size, int flags);
void dfsf_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size);
void dfsf_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);
void dfsf_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name);

#endif
