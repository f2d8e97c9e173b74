/* copy_io.h: the byte-moving engine under put, get, cp and cat: an
 * endpoint is a local file descriptor or an open dfs_file, and
 * copy_stream() moves everything from one to the other through the
 * shared 4 MiB buffer, feeding the progress bar. remote_store() writes a
 * remote file the safe way: into "NAME._COPYING_" first, renamed into place
 * once complete, removed on failure.
 *
 * Contract: endpoints are borrowed (never closed here). Errors are
 * returned as negative errno with *failed_side telling which end failed
 * (COPY_SRC or COPY_DST), so the caller names the right path.
 * Single-threaded. */
#ifndef DFS_TOOLS_COPY_IO_H
#define DFS_TOOLS_COPY_IO_H

#include "tools/cli.h"

/* Suffix of the temporary name a remote copy is written under. */
#define COPY_TMP_SUFFIX "._COPYING_"

enum copy_side { COPY_SRC = 0, COPY_DST = 1 };

struct endpoint {
	int fd;      /* >= 0: a local file descriptor */
	dfs_file *f; /* used when fd < 0 */
};

/* Options shared by put, get and cp. */
struct copy_opts {
	int force;            /* -f: overwrite existing targets */
	int preserve;         /* -p: keep times, mode (and owner if root) */
	int direct;           /* -d: write the target directly, no temporary */
	unsigned replication; /* --replication, 0: default */
	uint64_t block_size;  /* --block-size, 0: default */
};

/* Copies src to dst until src ends. total (0 if unknown) sizes the
 * progress bar labelled label. Returns bytes copied or a negative errno. */
int64_t copy_stream(struct cli *cli, struct endpoint *src, struct endpoint *dst,
		    uint64_t total, const char *label, enum copy_side *failed_side);

/* What remote_store writes. */
struct store_req {
	const char *target;   /* remote path of the finished file */
	struct endpoint *src; /* where the bytes come from */
	const char *src_name; /* for error messages */
	uint64_t total;       /* size if known, for the progress bar */
	uint32_t mode;        /* permission bits of the new file */
	unsigned replication; /* 0: default */
	uint64_t block_size;  /* 0: default */
	int force;            /* replace an existing target */
	int direct;           /* write the target itself, no temporary name */
};

/* Writes req->src into req->target via a temporary name and a rename
 * (DFS_RENAME_NOREPLACE unless force). Refuses an existing target without
 * force (-EEXIST) and a directory target always (-EISDIR). Reports its own
 * errors; returns CLI_OK or CLI_FAIL. */
int remote_store(struct cli *cli, const struct store_req *req);

#endif
