/* log.h: daemon log lines a person can read:
 *   2026-11-26 14:30:01.123 dfs-namenode[4242] INFO datanode 127.0.0.1:9866 registered
 * The level is checked before the arguments are evaluated. Libraries (raft,
 * libdfs) never call this: they report through callbacks. Any thread. */
#ifndef DFS_COMMON_LOG_H
#define DFS_COMMON_LOG_H
#include <stdio.h>

enum dfs_log_level {
	DFS_LOG_DEBUG = 0,
	DFS_LOG_INFO,
	DFS_LOG_NOTICE,
	DFS_LOG_WARN,
	DFS_LOG_ERR,
};

extern int dfs_log_min_level;

/* Sets the program name shown in each line, the lowest level written and
 * the file (NULL: stderr). Returns 0 or -errno if path cannot be opened. */
int dfs_log_init(const char *ident, int min_level, const char *path);

/* Parses "debug", "info", "notice", "warn", "err"; -EINVAL otherwise. */
int dfs_log_level_parse(const char *name);

/* err: 0, or a negative errno / DFS_E* code appended as ": <strerror>". */
void dfs_log_write(int level, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define dfs_log(level, ...)                                         \
	do {                                                        \
		if ((level) >= dfs_log_min_level)                   \
			dfs_log_write((level), 0, __VA_ARGS__);     \
	} while (0)

#define dfs_log_err(level, err, ...)                                \
	do {                                                        \
		if ((level) >= dfs_log_min_level)                   \
			dfs_log_write((level), (err), __VA_ARGS__); \
	} while (0)

#define DFS_DEBUG(...) dfs_log(DFS_LOG_DEBUG, __VA_ARGS__)
#define DFS_INFO(...) dfs_log(DFS_LOG_INFO, __VA_ARGS__)
#define DFS_NOTICE(...) dfs_log(DFS_LOG_NOTICE, __VA_ARGS__)
#define DFS_WARN(...) dfs_log(DFS_LOG_WARN, __VA_ARGS__)
#define DFS_ERR(...) dfs_log(DFS_LOG_ERR, __VA_ARGS__)

#endif
