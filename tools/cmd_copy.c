/* cmd_copy.c: the commands that move file contents: put (local to
 * cluster), get (cluster to local), cp (within the cluster) and cat.
 * Files and whole directory trees; "-" is stdin/stdout. The byte moving
 * itself is copy_io.c. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tools/copy_io.h"

/* Deepest local directory nesting put descends into. */
#define PUT_DEPTH_MAX 1024

enum { OPT_REPLICATION = 256, OPT_BLOCK_SIZE };

/* Parses the copy flags shared by put/get/cp; returns optind or -1 after
 * a usage error. */
static int copy_parse(struct cli *cli, int argc, char **argv, struct copy_opts *o)
{
	static const struct option longopts[] = {
		{"force", no_argument, NULL, 'f'},
		{"recursive", no_argument, NULL, 'r'},
		{"preserve", no_argument, NULL, 'p'},
		{"replication", required_argument, NULL, OPT_REPLICATION},
		{"block-size", required_argument, NULL, OPT_BLOCK_SIZE},
		{NULL, 0, NULL, 0},
	};
	memset(o, 0, sizeof(*o));
	int ch;
	uint64_t v;
	while ((ch = getopt_long(argc, argv, "+frRpdl", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f': o->force = 1; break;
		case 'p': o->preserve = 1; break;
		case 'r': case 'R': case 'l': break; /* trees are always copied */
		case 'd': o->direct = 1; break;
		case OPT_REPLICATION:
			if (cli_parse_size(optarg, &v) < 0 || v < 1 || v > 16)
				return cli_usage(cli, "bad replication '%s' (1..16)", optarg), -1;
			o->replication = (unsigned)v;
			break;
		case OPT_BLOCK_SIZE:
			if (cli_parse_size(optarg, &v) < 0 || v == 0)
				return cli_usage(cli, "bad block size '%s'", optarg), -1;
			o->block_size = v;
			break;
		default: return cli_usage(cli, NULL), -1;
		}
	}
	if (argc - optind < 2)
		return cli_usage(cli, "missing %s", argc - optind == 0 ? "operands" : "destination"),
		       -1;
	return optind;
}

/* Target of source src copied to dest: dest itself, or dest/basename(src)
 * when dest is a directory. */
static int copy_target(const char *dest, int dest_is_dir, const char *src,
		       char out[CLI_PATH_MAX])
{
	if (!dest_is_dir) {
		size_t n = strlen(dest);
		if (n + 1 > CLI_PATH_MAX)
			return -ENAMETOOLONG;
		memcpy(out, dest, n + 1);
		return 0;
	}
	char base[CLI_PATH_MAX];
	int rc = cli_path_basename(src, base, sizeof(base));
	if (rc < 0)
		return rc;
	return cli_path_join(dest, base, out, CLI_PATH_MAX);
}

/* Applies -p to a remote entry: times, mode, and owner when root. */
static int remote_preserve(struct cli *cli, const char *path, const struct stat *lst,
			   const struct dfs_stat *rst)
{
	dfs_client *c = cli_client(cli);
	struct timespec t[2] = {lst ? lst->st_atim : rst->atime, lst ? lst->st_mtim : rst->mtime};
	uint32_t mode = lst ? (uint32_t)lst->st_mode : rst->mode;
	int rc = dfs_utimens(c, path, t);
	if (rc == 0 && !S_ISLNK(mode))
		rc = dfs_chmod(c, path, mode & 07777);
	if (rc == 0 && geteuid() == 0)
		rc = dfs_chown(c, path, lst ? lst->st_uid : rst->uid, lst ? lst->st_gid : rst->gid);
	return rc < 0 ? cli_error(cli, path, rc) : CLI_OK;
}

/* ---- put ---- */

struct put_ctx {
	struct cli *cli;
	const struct copy_opts *o;
};

static int put_file(struct put_ctx *p, const char *local, const struct stat *lst,
		    const char *target)
{
	int fd = strcmp(local, "-") == 0 ? STDIN_FILENO : open(local, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cli_error(p->cli, local, -errno);
	struct endpoint src = {.fd = fd, .f = NULL};
	struct store_req req = {
		.target = target, .src = &src, .src_name = local,
		.total = S_ISREG(lst->st_mode) ? (uint64_t)lst->st_size : 0,
		.mode = p->o->preserve ? (uint32_t)lst->st_mode & 07777 : 0666 & ~p->cli->umask,
		.replication = p->o->replication, .block_size = p->o->block_size,
		.force = p->o->force, .direct = p->o->direct,
	};
	int rc = remote_store(p->cli, &req);
	if (fd != STDIN_FILENO)
		close(fd);
	if (rc == CLI_OK && p->o->preserve && fd != STDIN_FILENO)
		rc = remote_preserve(p->cli, target, lst, NULL);
	return rc;
}

static int put_any(struct put_ctx *p, const char *local, const struct stat *lst,
		   const char *target, int depth);

/* Copies the local directory `local` to the remote directory `target`,
 * merging into it if it exists. */
static int put_tree(struct put_ctx *p, const char *local, const struct stat *lst,
		    const char *target, int depth)
{
	dfs_client *c = cli_client(p->cli);
	if (c == NULL)
		return CLI_FAIL;
	int rc = dfs_mkdir(c, target, (lst->st_mode & 07777) | 0700, DFS_MKDIR_PARENTS);
	if (rc < 0)
		return cli_error(p->cli, target, rc);
	if (depth >= PUT_DEPTH_MAX)
		return cli_error(p->cli, local, -ELOOP);
	DIR *d = opendir(local);
	if (d == NULL)
		return cli_error(p->cli, local, -errno);
	int status = CLI_OK;
	struct dirent *de;
	char lchild[CLI_PATH_MAX], rchild[CLI_PATH_MAX];
	while (!cli_interrupted() && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		struct stat cst;
		if (cli_path_join(local, de->d_name, lchild, sizeof(lchild)) < 0 ||
		    cli_path_join(target, de->d_name, rchild, sizeof(rchild)) < 0) {
			status = cli_error(p->cli, local, -ENAMETOOLONG);
			continue;
		}
		if (lstat(lchild, &cst) < 0) {
			status = cli_error(p->cli, lchild, -errno);
			continue;
		}
		if (put_any(p, lchild, &cst, rchild, depth + 1) != CLI_OK)
			status = CLI_FAIL;
	}
	closedir(d);
	if (status == CLI_OK && p->o->preserve)
		status = remote_preserve(p->cli, target, lst, NULL);
	return status;
}

static int put_symlink(struct put_ctx *p, const char *local, const char *target)
{
	char link[CLI_PATH_MAX];
	ssize_t n = readlink(local, link, sizeof(link) - 1);
	if (n < 0)
		return cli_error(p->cli, local, -errno);
	link[n] = '\0';
	dfs_client *c = cli_client(p->cli);
	if (c == NULL)
		return CLI_FAIL;
	if (p->o->force)
		dfs_unlink(c, target);
	int rc = dfs_symlink(c, link, target);
	return rc < 0 ? cli_error(p->cli, target, rc) : CLI_OK;
}

static int put_any(struct put_ctx *p, const char *local, const struct stat *lst,
		   const char *target, int depth)
{
	if (S_ISDIR(lst->st_mode))
		return put_tree(p, local, lst, target, depth);
	if (S_ISLNK(lst->st_mode))
		return put_symlink(p, local, target);
	if (!S_ISREG(lst->st_mode) && depth > 0) {
		fprintf(stderr, "dfs: %s: %s: skipping special file\n", p->cli->cmd, local);
		return CLI_OK;
	}
	return put_file(p, local, lst, target);
}

/* 1 if a destination argument ends in '/', i.e. must name a directory. */
static int wants_dir(const char *arg)
{
	size_t n = strlen(arg);
	return n > 1 && arg[n - 1] == '/';
}

/* Stats the remote destination: *is_dir; -ENOENT is fine (new name). */
static int dest_is_dir(struct cli *cli, const char *dest, int *is_dir)
{
	struct dfs_stat st;
	dfs_client *c = cli_client(cli);
	*is_dir = 0;
	if (c == NULL)
		return CLI_FAIL;
	int rc = dfs_stat(c, dest, &st);
	if (rc == 0)
		*is_dir = S_ISDIR(st.mode);
	else if (rc != -ENOENT)
		return cli_error(cli, dest, rc);
	return CLI_OK;
}

int cmd_put(struct cli *cli, int argc, char **argv)
{
	struct copy_opts o;
	int first = copy_parse(cli, argc, argv, &o);
	if (first < 0)
		return CLI_USAGE;
	char dest[CLI_PATH_MAX], target[CLI_PATH_MAX];
	int is_dir;
	if (cli_remote(cli, argv[argc - 1], dest) != CLI_OK ||
	    dest_is_dir(cli, dest, &is_dir) != CLI_OK)
		return CLI_FAIL;
	if ((argc - 1 - first > 1 || wants_dir(argv[argc - 1])) && !is_dir)
		return cli_error(cli, dest, -ENOTDIR);
	struct put_ctx p = {.cli = cli, .o = &o};
	int status = CLI_OK;
	for (int i = first; i < argc - 1 && !cli_interrupted(); i++) {
		struct stat lst;
		int is_stdin = strcmp(argv[i], "-") == 0;
		if (is_stdin && is_dir) {
			status = cli_error(cli, dest, -EISDIR);
			continue;
		}
		if ((is_stdin ? fstat(STDIN_FILENO, &lst) : stat(argv[i], &lst)) < 0) {
			status = cli_error(cli, argv[i], -errno);
			continue;
		}
		int rc = copy_target(dest, is_dir, argv[i], target);
		if (rc < 0)
			rc = cli_error(cli, dest, rc);
		else
			rc = put_any(&p, argv[i], &lst, target, 0);
		if (rc != CLI_OK)
			status = CLI_FAIL;
	}
	return status;
}

/* ---- get ---- */

struct get_ctx {
	struct cli *cli;
	const struct copy_opts *o;
	const char *root;  /* remote root of a tree copy */
	const char *lroot; /* its local counterpart */
};

/* Copies the open remote file to the open local fd. */
static int get_stream(struct cli *cli, const char *remote, const struct dfs_stat *st, int fd,
		      const char *local, const char *label)
{
	dfs_client *c = cli_client(cli);
	if (c == NULL)
		return CLI_FAIL;
	dfs_file *f = NULL;
	int rc = dfs_open(c, remote, O_RDONLY, 0, &f);
	if (rc < 0)
		return cli_error(cli, remote, rc);
	struct endpoint src = {.fd = -1, .f = f}, dst = {.fd = fd, .f = NULL};
	enum copy_side side;
	int64_t n = copy_stream(cli, &src, &dst, st->size, label, &side);
	dfs_close(f);
	if (n < 0)
		return cli_error(cli, side == COPY_SRC ? remote : local, (int)n);
	return CLI_OK;
}

/* Copies a remote regular file to a local path; removes the partial local
 * file on failure. */
static int get_file(struct get_ctx *g, const char *remote, const struct dfs_stat *st,
		    const char *local)
{
	if (strcmp(local, "-") == 0)
		return get_stream(g->cli, remote, st, STDOUT_FILENO, "stdout", remote);
	int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (g->o->force ? O_TRUNC : O_EXCL);
	mode_t mode = g->o->preserve ? st->mode & 07777 : 0666;
	int fd = open(local, flags, mode);
	if (fd < 0)
		return cli_error(g->cli, local, -errno);
	int rc = get_stream(g->cli, remote, st, fd, local, local);
	if (close(fd) < 0 && rc == CLI_OK)
		rc = cli_error(g->cli, local, -errno);
	if (rc != CLI_OK) {
		unlink(local);
		return rc;
	}
	if (g->o->preserve) {
		struct timespec t[2] = {st->atime, st->mtime};
		if (fchmodat(AT_FDCWD, local, st->mode & 07777, 0) < 0 ||
		    utimensat(AT_FDCWD, local, t, 0) < 0)
			return cli_error(g->cli, local, -errno);
	}
	return CLI_OK;
}

static int get_symlink(struct get_ctx *g, const char *remote, const char *local)
{
	char target[CLI_PATH_MAX];
	int n = dfs_readlink(cli_client(g->cli), 0, remote, target, sizeof(target));
	if (n < 0)
		return cli_error(g->cli, remote, n);
	if (g->o->force)
		unlink(local);
	if (symlink(target, local) < 0)
		return cli_error(g->cli, local, -errno);
	return CLI_OK;
}

/* Walk callback of a tree get: mirrors each entry under lroot. */
static int get_entry(struct cli *cli, const char *path, const struct dfs_stat *st, void *arg)
{
	struct get_ctx *g = arg;
	char local[CLI_PATH_MAX];
	const char *rel = path + strlen(g->root);
	if (cli_path_join(g->lroot, rel, local, sizeof(local)) < 0) {
		cli_error(cli, path, -ENAMETOOLONG);
		return CLI_WALK_FAILED;
	}
	int rc;
	if (S_ISDIR(st->mode)) {
		struct stat lst;
		rc = CLI_OK;
		if (mkdir(local, (st->mode & 07777) | 0700) < 0 &&
		    (errno != EEXIST || stat(local, &lst) < 0 || !S_ISDIR(lst.st_mode)))
			rc = cli_error(cli, local, errno == EEXIST ? -ENOTDIR : -errno);
	} else if (S_ISLNK(st->mode)) {
		rc = get_symlink(g, path, local);
	} else if (S_ISREG(st->mode)) {
		rc = get_file(g, path, st, local);
	} else {
		fprintf(stderr, "dfs: %s: %s: skipping special file\n", cli->cmd, path);
		rc = CLI_OK;
	}
	return rc == CLI_OK ? CLI_WALK_OK : CLI_WALK_FAILED;
}

static int get_one(struct cli *cli, const struct copy_opts *o, const char *arg,
		   const char *local)
{
	struct dfs_stat st;
	char remote[CLI_PATH_MAX];
	int rc = cli_resolve(cli, arg, remote, &st);
	if (rc < 0)
		return cli_error(cli, arg, rc);
	struct get_ctx g = {.cli = cli, .o = o, .root = remote, .lroot = local};
	if (S_ISDIR(st.mode)) {
		if (strcmp(local, "-") == 0)
			return cli_error(cli, arg, -EISDIR);
		return cli_walk(cli, remote, &st, get_entry, &g);
	}
	return get_file(&g, remote, &st, local);
}

int cmd_get(struct cli *cli, int argc, char **argv)
{
	struct copy_opts o;
	int first = copy_parse(cli, argc, argv, &o);
	if (first < 0)
		return CLI_USAGE;
	const char *dest = argv[argc - 1];
	struct stat lst;
	int is_dir = strcmp(dest, "-") != 0 && stat(dest, &lst) == 0 && S_ISDIR(lst.st_mode);
	if ((argc - 1 - first > 1 || wants_dir(dest)) && !is_dir && strcmp(dest, "-") != 0)
		return cli_error(cli, dest, -ENOTDIR);
	int status = CLI_OK;
	char remote[CLI_PATH_MAX], local[CLI_PATH_MAX];
	for (int i = first; i < argc - 1; i++) {
		if (cli_remote(cli, argv[i], remote) != CLI_OK) {
			status = CLI_FAIL;
			continue;
		}
		int rc = copy_target(dest, is_dir, remote, local);
		if (rc < 0)
			rc = cli_error(cli, dest, rc);
		else
			rc = get_one(cli, &o, remote, local);
		if (rc != CLI_OK)
			status = CLI_FAIL;
	}
	return status;
}

/* ---- cp ---- */

struct cp_ctx {
	struct cli *cli;
	const struct copy_opts *o;
	const char *root;  /* source root */
	const char *droot; /* destination root */
};

static int cp_file(struct cp_ctx *x, const char *src, const struct dfs_stat *st,
		   const char *target)
{
	dfs_client *c = cli_client(x->cli);
	dfs_file *f = NULL;
	int rc = dfs_open(c, src, O_RDONLY, 0, &f);
	if (rc < 0)
		return cli_error(x->cli, src, rc);
	struct endpoint in = {.fd = -1, .f = f};
	struct store_req req = {
		.target = target, .src = &in, .src_name = src, .total = st->size,
		.mode = x->o->preserve ? st->mode & 07777 : 0666 & ~x->cli->umask,
		.replication = x->o->preserve ? st->replication : x->o->replication,
		.block_size = x->o->preserve ? st->block_size : x->o->block_size,
		.force = x->o->force, .direct = x->o->direct,
	};
	if (x->o->replication != 0)
		req.replication = x->o->replication;
	if (x->o->block_size != 0)
		req.block_size = x->o->block_size;
	rc = remote_store(x->cli, &req);
	dfs_close(f);
	if (rc == CLI_OK && x->o->preserve)
		rc = remote_preserve(x->cli, target, NULL, st);
	return rc;
}

static int cp_entry(struct cli *cli, const char *path, const struct dfs_stat *st, void *arg)
{
	struct cp_ctx *x = arg;
	dfs_client *c = cli_client(cli);
	char target[CLI_PATH_MAX], link[CLI_PATH_MAX];
	if (cli_path_join(x->droot, path + strlen(x->root), target, sizeof(target)) < 0) {
		cli_error(cli, path, -ENAMETOOLONG);
		return CLI_WALK_FAILED;
	}
	int rc = CLI_OK;
	if (S_ISDIR(st->mode)) {
		int e = dfs_mkdir(c, target, (st->mode & 07777) | 0700, DFS_MKDIR_PARENTS);
		if (e < 0)
			rc = cli_error(cli, target, e);
	} else if (S_ISLNK(st->mode)) {
		int n = dfs_readlink(c, 0, path, link, sizeof(link));
		if (n >= 0 && x->o->force)
			dfs_unlink(c, target);
		n = n < 0 ? n : dfs_symlink(c, link, target);
		if (n < 0)
			rc = cli_error(cli, target, n);
	} else if (S_ISREG(st->mode)) {
		rc = cp_file(x, path, st, target);
	} else {
		fprintf(stderr, "dfs: %s: %s: skipping special file\n", cli->cmd, path);
	}
	return rc == CLI_OK ? CLI_WALK_OK : CLI_WALK_FAILED;
}

static int cp_one(struct cli *cli, const struct copy_opts *o, const char *arg, const char *dest,
		  int is_dir)
{
	char src[CLI_PATH_MAX], target[CLI_PATH_MAX];
	struct dfs_stat st;
	int rc = cli_resolve(cli, arg, src, &st);
	if (rc < 0)
		return cli_error(cli, arg, rc);
	rc = copy_target(dest, is_dir, src, target);
	if (rc < 0)
		return cli_error(cli, dest, rc);
	size_t sl = strlen(src);
	if (S_ISDIR(st.mode) && strncmp(target, src, sl) == 0 &&
	    (target[sl] == '/' || target[sl] == '\0' || sl == 1)) {
		return cli_errorf(cli, "cannot copy a directory, '%s', into itself, '%s'", src,
				  target);
	}
	struct cp_ctx x = {.cli = cli, .o = o, .root = src, .droot = target};
	if (S_ISDIR(st.mode))
		return cli_walk(cli, src, &st, cp_entry, &x);
	return cp_file(&x, src, &st, target);
}

int cmd_cp(struct cli *cli, int argc, char **argv)
{
	struct copy_opts o;
	int first = copy_parse(cli, argc, argv, &o);
	if (first < 0)
		return CLI_USAGE;
	char dest[CLI_PATH_MAX];
	int is_dir;
	if (cli_remote(cli, argv[argc - 1], dest) != CLI_OK ||
	    dest_is_dir(cli, dest, &is_dir) != CLI_OK)
		return CLI_FAIL;
	if ((argc - 1 - first > 1 || wants_dir(argv[argc - 1])) && !is_dir)
		return cli_error(cli, dest, -ENOTDIR);
	int status = CLI_OK;
	for (int i = first; i < argc - 1; i++)
		if (cp_one(cli, &o, argv[i], dest, is_dir) != CLI_OK)
			status = CLI_FAIL;
	return status;
}

/* ---- cat ---- */

int cmd_cat(struct cli *cli, int argc, char **argv)
{
	if (argc < 2)
		return cli_usage(cli, "missing operand");
	if (cli_client(cli) == NULL)
		return CLI_FAIL;
	int status = CLI_OK;
	for (int i = 1; i < argc; i++) {
		char path[CLI_PATH_MAX];
		struct dfs_stat st;
		int rc = cli_resolve(cli, argv[i], path, &st);
		if (rc == 0 && S_ISDIR(st.mode))
			rc = -EISDIR;
		if (rc < 0) {
			status = cli_error(cli, argv[i], rc);
			continue;
		}
		if (get_stream(cli, path, &st, STDOUT_FILENO, "stdout", NULL) != CLI_OK)
			status = CLI_FAIL;
	}
	return status;
}
