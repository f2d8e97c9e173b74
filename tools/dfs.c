/* dfs.c: main() of the dfs command-line tool: the global flags
 * (-c CONF, -n NAMENODES, -v, --help, --version), the table of
 * subcommands with their usage lines, Hadoop spellings (`dfs -ls /`) and
 * the dispatch to cmd_*.c. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tools/cli.h"

struct command {
	const char *name;
	int (*fn)(struct cli *cli, int argc, char **argv);
	const char *usage;   /* after "dfs " */
	const char *summary; /* for `dfs help` */
};

static const struct command commands[] = {
	{"ls", cmd_ls, "ls [-l] [-n] [-R] [-h] [-d] [PATH...]", "list directory contents"},
	{"mkdir", cmd_mkdir, "mkdir [-p] [-m MODE] PATH...", "make directories"},
	{"put", cmd_put,
	 "put [-f] [-p] [-d] [-r] [--replication N] [--block-size SIZE] LOCAL... DEST",
	 "copy local files or directories (- for stdin) into the cluster"},
	{"get", cmd_get, "get [-f] [-r] [-p] REMOTE... LOCAL",
	 "copy files or directories out of the cluster (- for stdout)"},
	{"cat", cmd_cat, "cat PATH...", "print files on stdout"},
	{"cp", cmd_cp, "cp [-f] [-p] [-d] [-r] SRC... DEST", "copy within the cluster"},
	{"mv", cmd_mv, "mv SRC... DEST", "move or rename"},
	{"rm", cmd_rm, "rm [-r] [-f] PATH...", "remove files or directory trees"},
	{"rmdir", cmd_rmdir, "rmdir PATH...", "remove empty directories"},
	{"ln", cmd_ln, "ln [-s] TARGET LINK", "make a symbolic (-s) or hard link"},
	{"stat", cmd_stat, "stat [-c FORMAT] PATH...", "print all attributes"},
	{"touch", cmd_touch, "touch [-c] PATH...", "set times to now, creating missing files"},
	{"touchz", cmd_touchz, "touchz PATH...", "create empty files (error if non-empty)"},
	{"truncate", cmd_truncate, "truncate -s SIZE PATH...", "set file sizes"},
	{"chmod", cmd_chmod, "chmod [-R] MODE PATH...", "change permissions (octal or u+x)"},
	{"chown", cmd_chown, "chown [-R] USER[:GROUP] PATH...", "change owner and group"},
	{"getfattr", cmd_getfattr,
	 "getfattr [-R] [-h] [-d | -n NAME] [-e text|hex|base64] [--only-values] PATH...",
	 "print extended attributes (user.*)"},
	{"setfattr", cmd_setfattr, "setfattr [-h] {-n NAME [-v VALUE] | -x NAME} PATH...",
	 "set (-n) or remove (-x) an extended attribute"},
	{"setrep", cmd_setrep, "setrep [-R] [-w] [-t SECONDS] N PATH...",
	 "set the replication factor (-w: wait until done)"},
	{"du", cmd_du, "du [-s] [-h] [PATH...]", "space used by files and directories"},
	{"df", cmd_df, "df [-h]", "cluster capacity and usage"},
	{"blocks", cmd_blocks, "blocks PATH...", "print the blocks of a file and their replicas"},
	{"test", cmd_test, "test -e|-d|-f|-s|-z PATH", "exit status 0 if the test holds"},
	{"fsck", cmd_fsck, "fsck [-v] [PATH]",
	 "missing, corrupt and under-replicated blocks (exit 1: data lost)"},
	{"admin", cmd_admin,
	 "admin report [-h] | admin raft status|add ID HOST:PORT|remove ID|transfer [ID] | "
	 "admin safemode get|enter|leave|wait [-t S] | admin decommission|recommission DATANODE...",
	 "datanode report; namenode Raft group; safe mode; decommission"},
	{"help", NULL, "help [COMMAND]", "show help"},
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

const char *cli_usage_of(const char *cmd)
{
	const struct command *c = find_command(cmd);
	return c != NULL ? c->usage : NULL;
}

static void print_short_usage(void)
{
	fprintf(stderr, "usage: dfs [-c CONF] [-n HOST:PORT,...] [-v] COMMAND [ARGS...]\n"
			"('dfs help' lists the commands)\n");
}

static void print_help(FILE *f)
{
	fprintf(f, "usage: dfs [-c CONF] [-n HOST:PORT,...] [-v] COMMAND [ARGS...]\n"
		   "       dfs -COMMAND [ARGS...]   (Hadoop spelling: dfs -ls /)\n\n"
		   "commands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nSee dfs(1) for details.\n");
}

static int cmd_help(int argc, char **argv)
{
	if (argc < 2) {
		print_help(stdout);
		return CLI_OK;
	}
	const struct command *c = find_command(argv[1]);
	if (c == NULL) {
		fprintf(stderr, "dfs: help: unknown command '%s'\n", argv[1]);
		return CLI_USAGE;
	}
	printf("usage: dfs %s\n  %s\n", c->usage, c->summary);
	return CLI_OK;
}

/* Parses the global flags; returns the index of the command word, or -1
 * (with *status set) when main should exit. */
static int parse_globals(struct cli *cli, int argc, char **argv, int *status)
{
	int i = 1;
	for (; i < argc; i++) {
		const char *a = argv[i];
		if ((strcmp(a, "-c") == 0 || strcmp(a, "--conf") == 0 ||
		     strcmp(a, "-n") == 0 || strcmp(a, "--namenodes") == 0) && i + 1 < argc) {
			if (a[1] == 'c' || a[2] == 'c')
				cli->conf_path = argv[++i];
			else
				cli->namenodes = argv[++i];
		} else if (strncmp(a, "--conf=", 7) == 0) {
			cli->conf_path = a + 7;
		} else if (strncmp(a, "--namenodes=", 12) == 0) {
			cli->namenodes = a + 12;
		} else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
			cli->verbose = 1;
		} else if (strcmp(a, "--version") == 0 || strcmp(a, "-version") == 0) {
			printf("dfs (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION);
			*status = CLI_OK;
			return -1;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0 ||
			   strcmp(a, "-help") == 0) {
			print_help(stdout);
			*status = CLI_OK;
			return -1;
		} else if (strcmp(a, "-c") == 0 || strcmp(a, "--conf") == 0 ||
			   strcmp(a, "-n") == 0 || strcmp(a, "--namenodes") == 0) {
			fprintf(stderr, "dfs: option '%s' needs an argument\n", a);
			print_short_usage();
			*status = CLI_USAGE;
			return -1;
		} else if (strcmp(a, "--") == 0) {
			i++;
			break;
		} else if (a[0] == '-' && (a[1] == '\0' || a[2] == '\0' || a[1] == '-')) {
			fprintf(stderr, "dfs: unknown option '%s'\n", a);
			print_short_usage();
			*status = CLI_USAGE;
			return -1;
		} else {
			break; /* the command word, maybe "-ls" */
		}
	}
	if (i >= argc) {
		fprintf(stderr, "dfs: missing command\n");
		print_short_usage();
		*status = CLI_USAGE;
		return -1;
	}
	return i;
}

/* Builds the argv a command sees: "dfs: NAME" (so that getopt's own
 * messages read "dfs: ls: invalid option -- 'Z'"), then an implied flag
 * of a Hadoop spelling (-rmr -> -r), then the user's arguments. */
static char **command_argv(const char *prog, const char *flag, int argc, char **argv,
			   int *out_argc)
{
	char **v = calloc((size_t)argc + 3, sizeof(*v));
	if (v == NULL)
		return NULL;
	int n = 0;
	v[n++] = (char *)prog;
	if (flag != NULL)
		v[n++] = (char *)flag;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "-skipTrash") != 0) /* Hadoop: no trash here */
			v[n++] = argv[i];
	v[n] = NULL;
	*out_argc = n;
	return v;
}

static int run(struct cli *cli, int argc, char **argv)
{
	const char *word = argv[0];
	const char *flag = NULL;
	const char *hname = cli_hadoop_command(word, &flag);
	cli->hadoop = hname != NULL;
	const char *name = hname != NULL ? hname : word;
	if (strcmp(name, "help") == 0 || strcmp(name, "usage") == 0)
		return cmd_help(argc, argv);
	const struct command *c = find_command(name);
	if (c == NULL || c->fn == NULL) {
		fprintf(stderr, "dfs: unknown command '%s'\n", word);
		print_short_usage();
		return CLI_USAGE;
	}
	int cargc;
	char prog[64];
	snprintf(prog, sizeof(prog), "dfs: %s", c->name);
	char **cargv = command_argv(prog, flag, argc, argv, &cargc);
	if (cargv == NULL)
		return cli_error(cli, NULL, -ENOMEM);
	cli->cmd = c->name;
	cli_getopt_reset();
	int rc = c->fn(cli, cargc, cargv);
	free(cargv);
	return rc;
}

int main(int argc, char **argv)
{
	struct cli cli;
	memset(&cli, 0, sizeof(cli));
	cli.cmd = "dfs";
	mode_t um = umask(022);
	umask(um);
	cli.umask = (uint32_t)um;
	int status = CLI_OK;
	int i = parse_globals(&cli, argc, argv, &status);
	if (i < 0)
		return status;
	cli_signals_install();
	status = run(&cli, argc - i, argv + i);
	if (cli_interrupted())
		status = 128 + cli_interrupted();
	if (fflush(stdout) != 0 && status == CLI_OK)
		status = cli_error(&cli, "stdout", -errno);
	dfs_disconnect(cli.client);
	free(cli.buf);
	return status;
}
