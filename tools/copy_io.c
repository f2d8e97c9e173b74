/* copy_io.c: the copy engine of put/get/cp/cat (copy_io.h): endpoint
 * reads and writes, the buffered copy loop with its progress bar, and the
 * write-to-temporary-then-rename store of a remote file. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tools/copy_io.h"
#include "tools/progress.h"

static ssize_t ep_read(struct endpoint *e, void *buf, size_t n)
{
	if (e->fd < 0)
		return dfs_read(e->f, buf, n);
	for (;;) {
		ssize_t r = read(e->fd, buf, n);
		if (r >= 0)
			return r;
		if (errno != EINTR || cli_interrupted())
			return -errno;
	}
}

static int ep_write_all(struct endpoint *e, const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t w = e->fd < 0 ? dfs_write(e->f, buf, n) : write(e->fd, buf, n);
		if (w < 0 && e->fd >= 0 && errno == EINTR && !cli_interrupted())
			continue;
		if (w < 0)
			return e->fd < 0 ? (int)w : -errno;
		if (w == 0)
			return -EIO;
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Fills buf as far as possible (a pipe or dfs_read may return short), so
 * every write to a dfs_file is a big one. Returns bytes read or -errno. */
static ssize_t ep_read_full(struct endpoint *e, char *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = ep_read(e, buf + got, n - got);
		if (r < 0)
			return r;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

int64_t copy_stream(struct cli *cli, struct endpoint *src, struct endpoint *dst,
		    uint64_t total, const char *label, enum copy_side *failed_side)
{
	char *buf = cli_buffer(cli);
	*failed_side = COPY_SRC;
	if (buf == NULL)
		return -ENOMEM;
	struct progress p;
	progress_start(&p, label, total);
	int64_t done = 0;
	for (;;) {
		if (cli_interrupted()) {
			progress_end(&p, 0);
			return -EINTR;
		}
		ssize_t r = ep_read_full(src, buf, CLI_COPY_BUF_BYTES);
		if (r < 0) {
			progress_end(&p, 0);
			return r;
		}
		if (r == 0)
			break;
		int rc = ep_write_all(dst, buf, (size_t)r);
		if (rc < 0) {
			*failed_side = COPY_DST;
			progress_end(&p, 0);
			return rc;
		}
		done += r;
		progress_add(&p, (uint64_t)r);
	}
	progress_end(&p, 1);
	return done;
}

/* Checks the target of a store: -EEXIST / -EISDIR / 0 (absent or may be
 * replaced), or another negative errno from dfs_stat. */
static int store_check_target(dfs_client *c, const struct store_req *req)
{
	struct dfs_stat st;
	int rc = dfs_stat(c, req->target, &st);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	if (S_ISDIR(st.mode))
		return -EISDIR;
	return req->force ? 0 : -EEXIST;
}

/* The temporary name beside target, or target itself when the longer
 * name would not fit (then the write goes straight to the target). */
static void store_tmp_name(const char *target, char tmp[CLI_PATH_MAX])
{
	char base[CLI_PATH_MAX];
	size_t tl = strlen(target);
	if (cli_path_basename(target, base, sizeof(base)) < 0 ||
	    strlen(base) + strlen(COPY_TMP_SUFFIX) > 255 ||
	    tl + strlen(COPY_TMP_SUFFIX) + 1 > CLI_PATH_MAX) {
		memcpy(tmp, target, tl + 1);
		return;
	}
	memcpy(tmp, target, tl);
	memcpy(tmp + tl, COPY_TMP_SUFFIX, strlen(COPY_TMP_SUFFIX) + 1);
}

/* Copies into the open remote file f; closes it. Reports errors. */
static int store_fill(struct cli *cli, const struct store_req *req, dfs_file *f)
{
	struct endpoint dst = {.fd = -1, .f = f};
	enum copy_side side;
	int64_t n = copy_stream(cli, req->src, &dst, req->total, req->target, &side);
	int crc = dfs_close(f);
	if (n < 0) {
		if (side == COPY_SRC)
			return cli_error(cli, req->src_name, (int)n);
		return cli_error(cli, req->target, (int)n);
	}
	if (crc < 0)
		return cli_error(cli, req->target, crc);
	return CLI_OK;
}

int remote_store(struct cli *cli, const struct store_req *req)
{
	dfs_client *c = cli_client(cli);
	if (c == NULL)
		return CLI_FAIL;
	int rc = store_check_target(c, req);
	if (rc < 0)
		return cli_error(cli, req->target, rc);
	char tmp[CLI_PATH_MAX];
	if (req->direct)
		snprintf(tmp, sizeof(tmp), "%s", req->target);
	else
		store_tmp_name(req->target, tmp);
	int direct = strcmp(tmp, req->target) == 0;
	int flags = O_WRONLY | O_CREAT | O_TRUNC | (direct && !req->force ? O_EXCL : 0);
	dfs_file *f = NULL;
	rc = dfs_open_ex(c, tmp, flags, req->mode & 07777, req->replication, req->block_size, &f);
	if (rc < 0)
		return cli_error(cli, req->target, rc);
	if (store_fill(cli, req, f) != CLI_OK)
		goto err_remove_tmp;
	if (!direct) {
		rc = dfs_rename(c, tmp, req->target, req->force ? 0 : DFS_RENAME_NOREPLACE);
		if (rc < 0) {
			cli_error(cli, req->target, rc);
			goto err_remove_tmp;
		}
	}
	return CLI_OK;

err_remove_tmp:
	dfs_unlink(c, tmp);
	return CLI_FAIL;
}
