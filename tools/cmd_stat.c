/* cmd_stat.c: `dfs stat [-c FORMAT] PATH...`: every attribute of an entry
 * as "Key: value" lines, or a FORMAT with %-sequences in the manner of
 * stat(1). The Hadoop spelling `dfs -stat [FORMAT] PATH` follows Hadoop's
 * sequences (%b is the size, %u the user name, %y UTC, %Y milliseconds)
 * and defaults to "%y". */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "tools/cli.h"

struct stat_item {
	struct cli *cli;
	const char *path; /* as given */
	const char *full; /* normalised */
	const struct dfs_stat *st;
};

static uint64_t block_count(const struct dfs_stat *st)
{
	if (!S_ISREG(st->mode) || st->block_size == 0)
		return 0;
	return (st->size + st->block_size - 1) / st->block_size;
}

static void print_utc(const struct timespec *ts)
{
	struct tm tm;
	char buf[32];
	time_t t = ts->tv_sec;
	if (gmtime_r(&t, &tm) != NULL && strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm) > 0)
		fputs(buf, stdout);
}

/* Hadoop's -stat sequences; returns 0 if ch is not one of them. */
static int stat_hadoop_seq(const struct stat_item *it, char ch)
{
	const struct dfs_stat *st = it->st;
	char buf[CLI_PATH_MAX];
	switch (ch) {
	case 'b': printf("%llu", (unsigned long long)st->size); return 1;
	case 'n':
		cli_path_basename(it->full, buf, sizeof(buf));
		fputs(buf, stdout);
		return 1;
	case 'u': cli_user_name(it->cli, st->uid, buf, sizeof(buf)); fputs(buf, stdout); return 1;
	case 'g': cli_group_name(it->cli, st->gid, buf, sizeof(buf)); fputs(buf, stdout); return 1;
	case 'y': print_utc(&st->mtime); return 1;
	case 'x': print_utc(&st->atime); return 1;
	case 'Y':
		printf("%lld", (long long)st->mtime.tv_sec * 1000 + st->mtime.tv_nsec / 1000000);
		return 1;
	case 'X':
		printf("%lld", (long long)st->atime.tv_sec * 1000 + st->atime.tv_nsec / 1000000);
		return 1;
	case 'F': fputs(S_ISDIR(st->mode) ? "directory" : cli_type_name(st->mode), stdout); return 1;
	case 'A': {
		char m[11];
		cli_mode_string(st->mode, m);
		fputs(m + 1, stdout);
		return 1;
	}
	default: return 0;
	}
}

/* The dfs (stat(1)-like) sequences; returns 0 if ch is unknown. */
static int stat_seq(const struct stat_item *it, char ch)
{
	const struct dfs_stat *st = it->st;
	char buf[CLI_PATH_MAX];
	switch (ch) {
	case 'n': fputs(it->path, stdout); return 1;
	case 's': printf("%llu", (unsigned long long)st->size); return 1;
	case 'b': printf("%llu", (unsigned long long)block_count(st)); return 1;
	case 'o': printf("%llu", (unsigned long long)st->block_size); return 1;
	case 'r': printf("%u", st->replication); return 1;
	case 'i': printf("%llu", (unsigned long long)st->ino); return 1;
	case 'a': printf("%o", st->mode & 07777); return 1;
	case 'A': cli_mode_string(st->mode, buf); fputs(buf, stdout); return 1;
	case 'F': fputs(cli_type_name(st->mode), stdout); return 1;
	case 'h': printf("%u", st->nlink); return 1;
	case 'u': printf("%u", st->uid); return 1;
	case 'g': printf("%u", st->gid); return 1;
	case 'U': cli_user_name(it->cli, st->uid, buf, sizeof(buf)); fputs(buf, stdout); return 1;
	case 'G': cli_group_name(it->cli, st->gid, buf, sizeof(buf)); fputs(buf, stdout); return 1;
	case 'x': cli_time_full(&st->atime, buf, sizeof(buf)); fputs(buf, stdout); return 1;
	case 'y': cli_time_full(&st->mtime, buf, sizeof(buf)); fputs(buf, stdout); return 1;
	case 'z': cli_time_full(&st->ctime, buf, sizeof(buf)); fputs(buf, stdout); return 1;
	case 'X': printf("%lld", (long long)st->atime.tv_sec); return 1;
	case 'Y': printf("%lld", (long long)st->mtime.tv_sec); return 1;
	case 'Z': printf("%lld", (long long)st->ctime.tv_sec); return 1;
	default: return 0;
	}
}

/* Prints fmt for one entry, then a newline. */
static void stat_format(const struct stat_item *it, const char *fmt, int hadoop)
{
	for (const char *p = fmt; *p != '\0'; p++) {
		if (*p == '\\' && p[1] != '\0') {
			p++;
			putchar(*p == 'n' ? '\n' : *p == 't' ? '\t' : *p);
			continue;
		}
		if (*p != '%' || p[1] == '\0') {
			putchar(*p);
			continue;
		}
		p++;
		if (*p == '%')
			putchar('%');
		else if (!(hadoop ? stat_hadoop_seq(it, *p) || stat_seq(it, *p) : stat_seq(it, *p)))
			printf("%%%c", *p);
	}
	putchar('\n');
}

static void stat_default(const struct stat_item *it)
{
	const struct dfs_stat *st = it->st;
	char m[11], u[64], g[64], a[48], mt[48], ct[48], target[CLI_PATH_MAX];
	cli_mode_string(st->mode, m);
	cli_user_name(it->cli, st->uid, u, sizeof(u));
	cli_group_name(it->cli, st->gid, g, sizeof(g));
	cli_time_full(&st->atime, a, sizeof(a));
	cli_time_full(&st->mtime, mt, sizeof(mt));
	cli_time_full(&st->ctime, ct, sizeof(ct));
	printf("File: %s", it->path);
	if (S_ISLNK(st->mode) &&
	    dfs_readlink(cli_client(it->cli), st->ino, it->full, target, sizeof(target)) >= 0)
		printf(" -> %s", target);
	printf("\nType: %s\nSize: %llu\nInode: %llu\nLinks: %u\n"
	       "Mode: %04o (%s)\nUid: %u (%s)\nGid: %u (%s)\n",
	       cli_type_name(st->mode), (unsigned long long)st->size,
	       (unsigned long long)st->ino, st->nlink, st->mode & 07777, m, st->uid, u, st->gid, g);
	printf("Replication: %u\nBlock size: %llu\nBlocks: %llu\n", st->replication,
	       (unsigned long long)st->block_size, (unsigned long long)block_count(st));
	printf("Access: %s\nModify: %s\nChange: %s\n", a, mt, ct);
}

int cmd_stat(struct cli *cli, int argc, char **argv)
{
	const char *fmt = NULL;
	int ch;
	while ((ch = getopt(argc, argv, "c:")) != -1) {
		if (ch != 'c')
			return cli_usage(cli, NULL);
		fmt = optarg;
	}
	if (cli->hadoop && fmt == NULL && argc - optind >= 2 && strchr(argv[optind], '%'))
		fmt = argv[optind++];
	if (cli->hadoop && fmt == NULL)
		fmt = "%y";
	if (optind >= argc)
		return cli_usage(cli, "missing operand");
	dfs_client *c = cli_client(cli);
	if (c == NULL)
		return CLI_FAIL;
	int status = CLI_OK;
	for (int i = optind; i < argc; i++) {
		char full[CLI_PATH_MAX];
		struct dfs_stat st;
		int rc = cli_path_normalize(argv[i], full, sizeof(full));
		if (rc == 0)
			rc = dfs_stat(c, full, &st);
		if (rc < 0) {
			status = cli_error(cli, argv[i], rc);
			continue;
		}
		struct stat_item it = {.cli = cli, .path = argv[i], .full = full, .st = &st};
		if (fmt != NULL) {
			stat_format(&it, fmt, cli->hadoop);
		} else {
			if (i > optind)
				putchar('\n');
			stat_default(&it);
		}
	}
	return status;
}
