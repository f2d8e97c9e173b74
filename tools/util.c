/* util.c: the pure helpers of the dfs tool (see util.h): remote paths,
 * sizes, mode strings, chmod mode parsing and Hadoop command spellings. No
 * I/O and no libdfs calls, so tests/unit/test-cli-util.c covers it all. */
#include "tools/util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* ---- paths ---- */

/* Appends the component [s, s+n) to out (length *len), handling "." and
 * "..". */
static int path_push(char *out, size_t out_len, size_t *len, const char *s, size_t n)
{
	if (n == 1 && s[0] == '.')
		return 0;
	if (n == 2 && s[0] == '.' && s[1] == '.') {
		while (*len > 0 && out[*len - 1] != '/')
			(*len)--;
		if (*len > 0)
			(*len)--; /* drop the slash too */
		out[*len] = '\0';
		return 0;
	}
	if (*len + 1 + n + 1 > out_len)
		return -ENAMETOOLONG;
	out[(*len)++] = '/';
	memcpy(out + *len, s, n);
	*len += n;
	out[*len] = '\0';
	return 0;
}

int cli_path_normalize(const char *in, char *out, size_t out_len)
{
	if (in == NULL || *in == '\0')
		return -EINVAL;
	if (out_len < 2)
		return -ENAMETOOLONG;
	if (strncmp(in, "dfs://", 6) == 0) {
		const char *p = strchr(in + 6, '/');
		in = p != NULL ? p : "/";
	}
	size_t len = 0;
	out[0] = '\0';
	const char *s = in;
	while (*s != '\0') {
		while (*s == '/')
			s++;
		const char *e = s;
		while (*e != '\0' && *e != '/')
			e++;
		if (e > s) {
			int rc = path_push(out, out_len, &len, s, (size_t)(e - s));
			if (rc < 0)
				return rc;
		}
		s = e;
	}
	if (len == 0) {
		out[0] = '/';
		out[1] = '\0';
	}
	return 0;
}

int cli_path_join(const char *dir, const char *name, char *out, size_t out_len)
{
	size_t dl = strlen(dir);
	while (dl > 0 && dir[dl - 1] == '/')
		dl--;
	while (*name == '/')
		name++;
	size_t nl = strlen(name);
	int root_only = dl == 0 && dir[0] == '/';
	size_t need = dl + (nl > 0 || root_only || dl == 0 ? 1 : 0) + nl + 1;
	if (need > out_len)
		return -ENAMETOOLONG;
	memcpy(out, dir, dl);
	size_t len = dl;
	if (nl > 0 || root_only)
		out[len++] = '/';
	memcpy(out + len, name, nl);
	out[len + nl] = '\0';
	return 0;
}

int cli_path_basename(const char *path, char *out, size_t out_len)
{
	size_t end = strlen(path);
	while (end > 1 && path[end - 1] == '/')
		end--;
	size_t start = end;
	while (start > 0 && path[start - 1] != '/')
		start--;
	if (start == end && end > 0) /* only slashes */
		start = end - 1;
	size_t n = end - start;
	if (n + 1 > out_len)
		return -ENAMETOOLONG;
	memcpy(out, path + start, n);
	out[n] = '\0';
	return 0;
}

/* ---- sizes ---- */

void cli_human_size(uint64_t n, char *out, size_t out_len)
{
	static const char units[] = "KMGTPE";
	if (n < 1024) {
		snprintf(out, out_len, "%llu", (unsigned long long)n);
		return;
	}
	unsigned long u = 0;
	long double v = (long double)n / 1024.0L;
	while (v >= 1024.0L && u + 1 < sizeof(units) - 1) {
		v /= 1024.0L;
		u++;
	}
	/* Round up like coreutils: one decimal below 10, none above. */
	unsigned long long tenths = (unsigned long long)(v * 10.0L);
	if ((long double)tenths < v * 10.0L)
		tenths++;
	if (tenths < 100) {
		snprintf(out, out_len, "%llu.%llu%c", tenths / 10, tenths % 10, units[u]);
		return;
	}
	unsigned long long whole = (unsigned long long)v;
	if ((long double)whole < v)
		whole++;
	if (whole >= 1024 && u + 1 < sizeof(units) - 1) {
		snprintf(out, out_len, "1.0%c", units[u + 1]);
		return;
	}
	snprintf(out, out_len, "%llu%c", whole, units[u]);
}

/* Multiplier for a size suffix, 0 if unknown. */
static uint64_t size_suffix(const char *s)
{
	static const char letters[] = "KMGTP";
	if (*s == '\0')
		return 1;
	const char *p = strchr(letters, s[0] == 'k' ? 'K' : s[0]);
	if (p == NULL || s[0] == '\0')
		return 0;
	if (s[1] != '\0' && strcmp(s + 1, "B") != 0 && strcmp(s + 1, "iB") != 0)
		return 0;
	uint64_t m = 1;
	for (const char *q = letters; q <= p; q++)
		m *= 1024;
	return m;
}

int cli_parse_size(const char *s, uint64_t *out)
{
	if (s == NULL || *s < '0' || *s > '9')
		return -EINVAL;
	uint64_t v = 0;
	while (*s >= '0' && *s <= '9') {
		uint64_t d = (uint64_t)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
		s++;
	}
	uint64_t m = size_suffix(s);
	if (m == 0)
		return -EINVAL;
	if (v != 0 && m > UINT64_MAX / v)
		return -ERANGE;
	*out = v * m;
	return 0;
}

/* ---- modes ---- */

static char type_letter(uint32_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFDIR: return 'd';
	case S_IFLNK: return 'l';
	case S_IFIFO: return 'p';
	case S_IFSOCK: return 's';
	case S_IFCHR: return 'c';
	case S_IFBLK: return 'b';
	default: return '-';
	}
}

void cli_mode_string(uint32_t mode, char out[11])
{
	static const char rwx[] = "rwxrwxrwx";
	out[0] = type_letter(mode);
	for (int i = 0; i < 9; i++)
		out[i + 1] = (mode & (0400u >> i)) ? rwx[i] : '-';
	if (mode & S_ISUID)
		out[3] = (mode & S_IXUSR) ? 's' : 'S';
	if (mode & S_ISGID)
		out[6] = (mode & S_IXGRP) ? 's' : 'S';
	if (mode & S_ISVTX)
		out[9] = (mode & S_IXOTH) ? 't' : 'T';
	out[10] = '\0';
}

const char *cli_type_name(uint32_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFDIR: return "directory";
	case S_IFLNK: return "symbolic link";
	case S_IFIFO: return "fifo";
	case S_IFSOCK: return "socket";
	case S_IFCHR: return "character device";
	case S_IFBLK: return "block device";
	default: return "regular file";
	}
}

static int mode_parse_octal(const char *spec, uint32_t *out)
{
	uint32_t v = 0;
	for (const char *p = spec; *p != '\0'; p++) {
		if (*p < '0' || *p > '7' || p - spec >= 5)
			return -EINVAL;
		v = v * 8 + (uint32_t)(*p - '0');
	}
	if (v > 07777)
		return -EINVAL;
	*out = v;
	return 0;
}

/* The bits a "who" set covers (u/g/o/a letters as a mask of 4/2/1). */
static uint32_t who_bits(unsigned who)
{
	uint32_t b = 0;
	if (who & 4)
		b |= S_ISUID | S_IRWXU;
	if (who & 2)
		b |= S_ISGID | S_IRWXG;
	if (who & 1)
		b |= S_ISVTX | S_IRWXO;
	return b;
}

/* Permission bits named after an operator, as rwx bits in all three
 * triplets plus s/t; sets *end past them. */
static uint32_t perm_bits(const char *p, const char **end, uint32_t cur, int is_dir)
{
	uint32_t b = 0;
	if (*p == 'u' || *p == 'g' || *p == 'o') { /* copy from a class */
		int shift = *p == 'u' ? 6 : *p == 'g' ? 3 : 0;
		uint32_t t = (cur >> shift) & 7;
		*end = p + 1;
		return t << 6 | t << 3 | t;
	}
	for (; *p != '\0'; p++) {
		if (*p == 'r')
			b |= 0444;
		else if (*p == 'w')
			b |= 0222;
		else if (*p == 'x')
			b |= 0111;
		else if (*p == 'X')
			b |= (is_dir || (cur & 0111)) ? 0111 : 0;
		else if (*p == 's')
			b |= S_ISUID | S_ISGID;
		else if (*p == 't')
			b |= S_ISVTX;
		else
			break;
	}
	*end = p;
	return b;
}

/* Parses one clause [ugoa]*([-+=]perms)+ starting at *pp. */
static int mode_clause(const char **pp, uint32_t *cur, int is_dir)
{
	const char *p = *pp;
	unsigned who = 0;
	for (; *p == 'u' || *p == 'g' || *p == 'o' || *p == 'a'; p++)
		who |= *p == 'u' ? 4 : *p == 'g' ? 2 : *p == 'o' ? 1 : 7;
	if (who == 0)
		who = 7;
	uint32_t mask = who_bits(who);
	if (*p != '+' && *p != '-' && *p != '=')
		return -EINVAL;
	while (*p == '+' || *p == '-' || *p == '=') {
		char op = *p++;
		const char *end;
		uint32_t bits = perm_bits(p, &end, *cur, is_dir) & mask;
		p = end;
		if (op == '+')
			*cur |= bits;
		else if (op == '-')
			*cur &= ~bits;
		else
			*cur = (*cur & ~mask) | bits;
	}
	*pp = p;
	return 0;
}

int cli_mode_parse(const char *spec, uint32_t old_mode, uint32_t *out)
{
	if (spec == NULL || *spec == '\0')
		return -EINVAL;
	if (*spec >= '0' && *spec <= '7')
		return mode_parse_octal(spec, out);
	int is_dir = S_ISDIR(old_mode);
	uint32_t cur = old_mode & 07777;
	const char *p = spec;
	for (;;) {
		int rc = mode_clause(&p, &cur, is_dir);
		if (rc < 0)
			return rc;
		if (*p == '\0')
			break;
		if (*p != ',' || p[1] == '\0')
			return -EINVAL;
		p++;
	}
	*out = cur;
	return 0;
}

/* ---- Hadoop spellings ---- */

struct hadoop_name {
	const char *hadoop;
	const char *dfs;
	const char *flag;
};

static const struct hadoop_name hadoop_names[] = {
	{"-copyFromLocal", "put", NULL},
	{"-copyToLocal", "get", NULL},
	{"-touchz", "touchz", NULL},
	{"-rmr", "rm", "-r"},
	{"-lsr", "ls", "-R"},
	{"-dus", "du", "-s"},
	{"-text", "cat", NULL},
};

const char *cli_hadoop_command(const char *argv0, const char **implied_flag)
{
	*implied_flag = NULL;
	if (argv0 == NULL || argv0[0] != '-' || argv0[1] == '-' || argv0[1] == '\0' ||
	    argv0[2] == '\0')
		return NULL; /* "-x" single letters are global flags, "--x" long ones */
	for (size_t i = 0; i < sizeof(hadoop_names) / sizeof(hadoop_names[0]); i++) {
		if (strcmp(argv0, hadoop_names[i].hadoop) == 0) {
			*implied_flag = hadoop_names[i].flag;
			return hadoop_names[i].dfs;
		}
	}
	return argv0 + 1; /* "-ls" -> "ls"; the dispatcher checks it exists */
}
