/* cmd_xattr.c: extended attributes from the command line, shaped like
 * getfattr(1) / setfattr(1) and Hadoop's -getfattr / -setfattr:
 *   getfattr [-R] [-h] [-d | -n NAME] [-e text|hex|base64] [--only-values] PATH...
 *   setfattr [-h] {-n NAME [-v VALUE] | -x NAME} PATH...
 * Values print as getfattr prints them: text in double quotes (", \ and
 * unprintable bytes escaped as \", \\ and \ooo), 0x<hex> or 0s<base64>;
 * without -e, text when every byte is printable, else base64. setfattr -v
 * takes the same three spellings (quotes around text are optional). A
 * final symlink is followed unless -h is given (attributes live on
 * regular files and directories only). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tools/cli.h"

enum xattr_enc { ENC_AUTO, ENC_TEXT, ENC_HEX, ENC_BASE64 };

static const char b64_chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* ---- printing values ---- */

static void print_text(const unsigned char *v, size_t n)
{
	putchar('"');
	for (size_t i = 0; i < n; i++) {
		if (v[i] == '"' || v[i] == '\\')
			printf("\\%c", v[i]);
		else if (v[i] >= 0x20 && v[i] < 0x7f)
			putchar(v[i]);
		else
			printf("\\%03o", v[i]);
	}
	putchar('"');
}

static void print_hex(const unsigned char *v, size_t n)
{
	fputs("0x", stdout);
	for (size_t i = 0; i < n; i++)
		printf("%02x", v[i]);
}

static void print_base64(const unsigned char *v, size_t n)
{
	fputs("0s", stdout);
	for (size_t i = 0; i < n; i += 3) {
		uint32_t w = (uint32_t)v[i] << 16;
		if (i + 1 < n)
			w |= (uint32_t)v[i + 1] << 8;
		if (i + 2 < n)
			w |= v[i + 2];
		putchar(b64_chars[(w >> 18) & 63]);
		putchar(b64_chars[(w >> 12) & 63]);
		putchar(i + 1 < n ? b64_chars[(w >> 6) & 63] : '=');
		putchar(i + 2 < n ? b64_chars[w & 63] : '=');
	}
}

/* Text when every byte is printable (a trailing NUL allowed). */
static int looks_text(const unsigned char *v, size_t n)
{
	if (n > 0 && v[n - 1] == '\0')
		n--;
	for (size_t i = 0; i < n; i++)
		if ((v[i] < 0x20 && v[i] != '\t' && v[i] != '\n') || v[i] >= 0x7f)
			return 0;
	return 1;
}

static void print_value(const unsigned char *v, size_t n, enum xattr_enc enc)
{
	if (enc == ENC_AUTO)
		enc = looks_text(v, n) ? ENC_TEXT : ENC_BASE64;
	if (enc == ENC_HEX)
		print_hex(v, n);
	else if (enc == ENC_BASE64)
		print_base64(v, n);
	else
		print_text(v, n);
}

/* ---- parsing values (setfattr -v) ---- */

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int parse_hex(const char *s, unsigned char *out, size_t *n)
{
	size_t len = strlen(s);
	if (len % 2)
		return -EINVAL;
	for (size_t i = 0; i < len; i += 2) {
		int hi = hex_digit(s[i]), lo = hex_digit(s[i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[(*n)++] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

static int parse_base64(const char *s, unsigned char *out, size_t *n)
{
	uint32_t w = 0;
	int bits = 0;
	for (; *s && *s != '='; s++) {
		const char *p = strchr(b64_chars, *s);
		if (p == NULL)
			return -EINVAL;
		w = (w << 6) | (uint32_t)(p - b64_chars);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[(*n)++] = (unsigned char)(w >> bits);
		}
	}
	while (*s == '=')
		s++;
	return *s ? -EINVAL : 0;
}

/* A text value: quotes stripped, then \\, \" and \ooo decoded. */
static int parse_text(const char *s, unsigned char *out, size_t *n)
{
	size_t len = strlen(s);
	if (len < 2 || s[0] != '"' || s[len - 1] != '"') {
		memcpy(out, s, len);
		*n = len;
		return 0;
	}
	for (size_t i = 1; i < len - 1; i++) {
		if (s[i] != '\\' || i + 1 >= len - 1) {
			out[(*n)++] = (unsigned char)s[i];
		} else if (s[i + 1] >= '0' && s[i + 1] <= '7') {
			unsigned v = 0;
			int k = 0;
			for (; k < 3 && i + 1 < len - 1 && s[i + 1] >= '0' && s[i + 1] <= '7'; k++)
				v = v * 8 + (unsigned)(s[++i] - '0');
			if (v > 255)
				return -EINVAL;
			out[(*n)++] = (unsigned char)v;
		} else {
			out[(*n)++] = (unsigned char)s[++i];
		}
	}
	return 0;
}

/* Decodes a setfattr -v argument into out (room for strlen(s) bytes,
 * which every spelling fits in). */
static int parse_value(const char *s, unsigned char *out, size_t *n)
{
	*n = 0;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		return parse_hex(s + 2, out, n);
	if (s[0] == '0' && (s[1] == 's' || s[1] == 'S'))
		return parse_base64(s + 2, out, n);
	return parse_text(s, out, n);
}

/* ---- getfattr ---- */

struct getfattr_opts {
	int dump;            /* -d: every attribute */
	const char *name;    /* -n NAME */
	enum xattr_enc enc;  /* -e */
	int only_values;     /* --only-values */
	int no_follow;       /* -h */
	char *value;         /* DFS_XATTR_SIZE_MAX bytes */
	char *list;          /* DFS_XATTR_LIST_MAX bytes */
};

/* Prints attribute name of path (the "# file:" header first if *header
 * is 0). CLI_OK or CLI_FAIL after reporting. */
static int print_attr(struct cli *cli, const char *path, const char *name,
		      struct getfattr_opts *o, int *header)
{
	ssize_t n = dfs_getxattr(cli_client(cli), 0, path, name, o->value, DFS_XATTR_SIZE_MAX);
	if (n < 0)
		return cli_errorf(cli, "%s: %s: %s", path, name, dfs_strerror((int)n));
	if (o->only_values) {
		fwrite(o->value, 1, (size_t)n, stdout);
		return CLI_OK;
	}
	if (!*header) {
		printf("# file: %s\n", path);
		*header = 1;
	}
	fputs(name, stdout);
	putchar('=');
	print_value((const unsigned char *)o->value, (size_t)n, o->enc);
	putchar('\n');
	return CLI_OK;
}

static int getfattr_entry(struct cli *cli, const char *path, const struct dfs_stat *st,
			  void *arg)
{
	struct getfattr_opts *o = arg;
	int header = 0, status = CLI_OK;
	(void)st;
	if (o->name != NULL) {
		status = print_attr(cli, path, o->name, o, &header);
	} else {
		ssize_t n = dfs_listxattr(cli_client(cli), 0, path, o->list, DFS_XATTR_LIST_MAX);
		if (n < 0) {
			cli_error(cli, path, (int)n);
			return CLI_WALK_FAILED;
		}
		for (ssize_t i = 0; i < n; i += (ssize_t)strlen(o->list + i) + 1)
			if (print_attr(cli, path, o->list + i, o, &header) != CLI_OK)
				status = CLI_FAIL;
	}
	if (header)
		putchar('\n');
	return status == CLI_OK ? CLI_WALK_OK : CLI_WALK_FAILED;
}

/* Normalises arg and stats it, following a final symlink unless
 * no_follow. CLI_OK with path and st, or CLI_FAIL after reporting. */
static int operand(struct cli *cli, const char *arg, int no_follow, char path[CLI_PATH_MAX],
		   struct dfs_stat *st)
{
	char p[CLI_PATH_MAX];
	if (cli_remote(cli, arg, p) != CLI_OK)
		return CLI_FAIL;
	int rc;
	if (no_follow) {
		memcpy(path, p, CLI_PATH_MAX);
		rc = dfs_stat(cli_client(cli), path, st);
	} else {
		rc = cli_resolve(cli, p, path, st);
	}
	return rc < 0 ? cli_error(cli, arg, rc) : CLI_OK;
}

static int parse_enc(const char *s, enum xattr_enc *enc)
{
	if (strcmp(s, "text") == 0)
		*enc = ENC_TEXT;
	else if (strcmp(s, "hex") == 0)
		*enc = ENC_HEX;
	else if (strcmp(s, "base64") == 0)
		*enc = ENC_BASE64;
	else
		return -EINVAL;
	return 0;
}

static int getfattr_paths(struct cli *cli, int argc, char **argv, int recursive,
			  struct getfattr_opts *o)
{
	int status = CLI_OK;
	for (int i = optind; i < argc; i++) {
		char path[CLI_PATH_MAX];
		struct dfs_stat st;
		if (operand(cli, argv[i], o->no_follow, path, &st) != CLI_OK) {
			status = CLI_FAIL;
			continue;
		}
		int rc = recursive ? cli_walk(cli, path, &st, getfattr_entry, o)
				   : (getfattr_entry(cli, path, &st, o) == CLI_WALK_OK ? CLI_OK
										: CLI_FAIL);
		if (rc != CLI_OK)
			status = CLI_FAIL;
	}
	return status;
}

int cmd_getfattr(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"only-values", no_argument, NULL, 'V'},
		{"dump", no_argument, NULL, 'd'},
		{"name", required_argument, NULL, 'n'},
		{"encoding", required_argument, NULL, 'e'},
		{NULL, 0, NULL, 0},
	};
	struct getfattr_opts o = {0};
	int recursive = 0, ch;
	while ((ch = getopt_long(argc, argv, "Rhdn:e:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'R': recursive = 1; break;
		case 'h': o.no_follow = 1; break;
		case 'd': o.dump = 1; break;
		case 'n': o.name = optarg; break;
		case 'V': o.only_values = 1; break;
		case 'e':
			if (parse_enc(optarg, &o.enc) < 0)
				return cli_usage(cli, "unknown encoding '%s'", optarg);
			break;
		default: return cli_usage(cli, NULL);
		}
	}
	if (optind >= argc)
		return cli_usage(cli, "missing operand");
	if (o.dump && o.name)
		return cli_usage(cli, "-d and -n exclude each other");
	if (cli_client(cli) == NULL)
		return CLI_FAIL;
	o.value = malloc(DFS_XATTR_SIZE_MAX);
	o.list = malloc(DFS_XATTR_LIST_MAX);
	int status = o.value && o.list ? getfattr_paths(cli, argc, argv, recursive, &o)
				       : cli_error(cli, NULL, -ENOMEM);
	free(o.value);
	free(o.list);
	return status;
}

/* ---- setfattr ---- */

int cmd_setfattr(struct cli *cli, int argc, char **argv)
{
	const char *name = NULL, *remove = NULL, *varg = "";
	int no_follow = 0, ch;
	while ((ch = getopt(argc, argv, "hn:v:x:")) != -1) {
		switch (ch) {
		case 'h': no_follow = 1; break;
		case 'n': name = optarg; break;
		case 'v': varg = optarg; break;
		case 'x': remove = optarg; break;
		default: return cli_usage(cli, NULL);
		}
	}
	if (optind >= argc)
		return cli_usage(cli, "missing operand");
	if ((name == NULL) == (remove == NULL))
		return cli_usage(cli, "give one of -n NAME or -x NAME");
	unsigned char *value = malloc(strlen(varg) + 1);
	size_t vlen = 0;
	if (value == NULL)
		return cli_error(cli, NULL, -ENOMEM);
	if (parse_value(varg, value, &vlen) < 0) {
		free(value);
		return cli_usage(cli, "bad value '%s'", varg);
	}
	if (cli_client(cli) == NULL) {
		free(value);
		return CLI_FAIL;
	}
	int status = CLI_OK;
	for (int i = optind; i < argc; i++) {
		char path[CLI_PATH_MAX];
		struct dfs_stat st;
		if (operand(cli, argv[i], no_follow, path, &st) != CLI_OK) {
			status = CLI_FAIL;
			continue;
		}
		int rc = remove ? dfs_removexattr(cli_client(cli), 0, path, remove)
				: dfs_setxattr(cli_client(cli), 0, path, name, value, vlen, 0);
		if (rc < 0)
			status = cli_errorf(cli, "%s: %s: %s", argv[i], remove ? remove : name,
					    dfs_strerror(rc));
	}
	free(value);
	return status;
}
