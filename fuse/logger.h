/* logger.h: dfs-fuse's stderr logger with levels.
 *
 * Lines look like "2024-01-01 12:00:00.123 dfs-fuse[pid] WARN: message".
 * The level is checked before the arguments are evaluated. The logger is
 * process-global (the one allowed mutable global besides libfuse's own
 * session); every function may be called from any thread.
 */
#ifndef DFS_FUSE_LOGGER_H
#define DFS_FUSE_LOGGER_H

#include <stdarg.h>

enum dfsf_level {
	DFSF_DEBUG = 0,
	DFSF_INFO = 1,
	DFSF_NOTICE = 2,
	DFSF_WARN = 3,
	DFSF_ERR = 4,
};

/* Lines below min_level are dropped. Default DFSF_INFO. */
void dfsf_log_set_level(enum dfsf_level min_level);
enum dfsf_level dfsf_log_get_level(void);
/* Parses "debug", "info", "notice", "warn", "err"/"error"; -1 if unknown. */
int dfsf_log_parse_level(const char *name);
/* Appends to path instead of stderr (after daemonizing). 0 or -errno. */
int dfsf_log_open_file(const char *path);

void dfsf_log_write(enum dfsf_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Like dfsf_log_write and appends ": <description of err>"; err is a
 * negative errno or DFS_E* code as libdfs returns it. */
void dfsf_log_err(enum dfsf_level level, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define DFSF_LOG(level, ...)                                                   \
	do {                                                                   \
		if ((level) >= dfsf_log_get_level())                           \
			dfsf_log_write((level), __VA_ARGS__);                  \
	} while (0)
#define DFSF_DEBUG_LOG(...) DFSF_LOG(DFSF_DEBUG, __VA_ARGS__)

#endif
