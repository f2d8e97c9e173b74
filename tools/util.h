/* util.h: pure helpers of the dfs command-line tool: remote path
 * normalisation and joining, human-readable sizes, size parsing, mode
 * strings and chmod-style mode parsing, and the translation of Hadoop
 * command spellings (`dfs -put`). Nothing here talks to a cluster, so all of
 * it is unit-tested (tests/unit/test-cli-util.c).
 *
 * Contract: functions return 0 or a negative errno and never allocate
 * unless stated; output buffers are always NUL-terminated on success. Any
 * thread. */
#ifndef DFS_TOOLS_UTIL_H
#define DFS_TOOLS_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Longest remote path the tool builds (bytes, with the NUL). */
#define CLI_PATH_MAX 4096

/* Normalises a remote path into out: strips a "dfs://authority" prefix,
 * makes it absolute (a relative path starts at the root), folds repeated
 * slashes, resolves "." and ".." (".." at the root stays at the root) and
 * drops a trailing slash. -EINVAL on an empty path, -ENAMETOOLONG when out
 * is too small. */
int cli_path_normalize(const char *in, char *out, size_t out_len);

/* Joins dir and name with exactly one '/' between them ("/" + "a" = "/a").
 * -ENAMETOOLONG when out is too small. */
int cli_path_join(const char *dir, const char *name, char *out, size_t out_len);

/* The last component of path, trailing slashes ignored, copied into out
 * ("/a/b/" -> "b", "/" -> "/", "-" -> "-"). -ENAMETOOLONG if it does not
 * fit. */
int cli_path_basename(const char *path, char *out, size_t out_len);

/* Formats n bytes like `ls -h`: "999", "1.5K", "12M", "1.0G" (powers of
 * 1024, rounded up, one decimal below 10). out_len >= 8 always fits. */
void cli_human_size(uint64_t n, char *out, size_t out_len);

/* Parses a size: decimal digits with an optional suffix K, M, G, T, P
 * (powers of 1024; "k", "KiB" and "KB" also mean 1024). -EINVAL on
 * anything else, -ERANGE on overflow. */
int cli_parse_size(const char *s, uint64_t *out);

/* Writes the 10-character `ls -l` mode string of st_mode (type letter,
 * rwx triplets with s/S/t/T) into out, which must hold 11 bytes. */
void cli_mode_string(uint32_t mode, char out[11]);

/* A one-word-or-two description of the file type: "directory",
 * "regular file", "symbolic link", "fifo", "socket", "character device",
 * "block device" (static string). */
const char *cli_type_name(uint32_t mode);

/* Applies a chmod mode spec to old_mode (permission bits and S_IFMT type
 * bits; only the 07777 bits change) and stores the new permission bits in
 * *out. spec is octal ("644", "1777") or symbolic clauses separated by
 * commas: [ugoa]*([-+=]([rwxXst]*|[ugo]))+ as in chmod(1); no umask is
 * applied. -EINVAL on a malformed spec. */
int cli_mode_parse(const char *spec, uint32_t old_mode, uint32_t *out);

/* Hadoop spelling translation. If argv0 is a Hadoop-style command
 * ("-ls", "-copyFromLocal", "-rmr", "-touchz", ...), returns the dfs
 * command name ("ls", "put", "rm", ...) and sets *implied_flag to a flag
 * the spelling implies ("-r" for -rmr, "-R" for -lsr) or NULL. Returns
 * NULL when argv0 is not a Hadoop spelling. */
const char *cli_hadoop_command(const char *argv0, const char **implied_flag);

#endif
