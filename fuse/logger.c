/* logger.c: dfs-fuse's stderr logger (see logger.h). */
#include "fuse/logger.h"

#include <dfs.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* The logger's state: the minimum level and the output fd (stderr until
 * dfsf_log_open_file). Written at startup, read by every thread. */
static volatile int log_min_level = DFSF_INFO;
static volatile int log_fd = STDERR_FILENO;

static const char *const level_names[] = {"DEBUG", "INFO", "NOTICE", "WARN", "ERR"};

void dfsf_log_set_level(enum dfsf_level min_level)
{
	log_min_level = min_level;
}

enum dfsf_level dfsf_log_get_level(void)
{
	return (enum dfsf_level)log_min_level;
}

int dfsf_log_parse_level(const char *name)
{
	static const struct {
		const char *name;
		int level;
	} table[] = {{"debug", DFSF_DEBUG}, {"info", DFSF_INFO}, {"notice", DFSF_NOTICE},
		     {"warn", DFSF_WARN},   {"warning", DFSF_WARN}, {"err", DFSF_ERR},
		     {"error", DFSF_ERR}};
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (strcasecmp(name, table[i].name) == 0)
			return table[i].level;
	return -1;
}

int dfsf_log_open_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	log_fd = fd;
	return 0;
}

static void log_emit(enum dfsf_level level, const char *msg, const char *suffix)
{
	char line[2048];
	struct timeval tv;
	struct tm tm;
	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	unsigned li = (unsigned)level < 5 ? (unsigned)level : 4;
	int n = snprintf(line, sizeof(line), "%04d-%02d-%02d %02d:%02d:%02d.%03d dfs-fuse[%d] %s: %s%s%s\n",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			 tm.tm_sec, (int)(tv.tv_usec / 1000), (int)getpid(), level_names[li], msg,
			 suffix ? ": " : "", suffix ? suffix : "");
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	/* One write per line so threads never interleave inside a line. */
	ssize_t w = write(log_fd, line, (size_t)n);
	(void)w;
}

void dfsf_log_write(enum dfsf_level level, const char *fmt, ...)
{
	char msg[1536];
	va_list ap;
	if ((int)level < log_min_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_emit(level, msg, NULL);
}

void dfsf_log_err(enum dfsf_level level, int err, const char *fmt, ...)
{
	char msg[1536];
	va_list ap;
	if ((int)level < log_min_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_emit(level, msg, dfs_strerror(err));
}
