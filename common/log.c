/* log.c: formats and writes daemon log lines (see log.h). One write(2) per
 * line so lines from several threads never interleave. */
#include "common/log.h"
#include "common/errors.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

int dfs_log_min_level = DFS_LOG_INFO;
static char log_ident[64] = "dfs";
static int log_fd = 2;

static const char *const level_names[] = { "DEBUG", "INFO", "NOTICE", "WARN", "ERR" };

int dfs_log_init(const char *ident, int min_level, const char *path)
{
	snprintf(log_ident, sizeof(log_ident), "%s", ident);
	dfs_log_min_level = min_level;
	if (path != NULL && path[0] != '\0') {
		int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd < 0)
			return -errno;
		log_fd = fd;
	}
	return 0;
}

int dfs_log_level_parse(const char *name)
{
	for (int i = 0; i <= DFS_LOG_ERR; i++)
		if (strcasecmp(name, level_names[i]) == 0)
			return i;
	if (strcasecmp(name, "warning") == 0)
		return DFS_LOG_WARN;
	if (strcasecmp(name, "error") == 0)
		return DFS_LOG_ERR;
	return -EINVAL;
}

void dfs_log_write(int level, int err, const char *fmt, ...)
{
	char line[2048];
	struct timeval tv;
	struct tm tm;
	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	if (level < DFS_LOG_DEBUG || level > DFS_LOG_ERR)
		level = DFS_LOG_ERR;
	int n = snprintf(line, sizeof(line), "%04d-%02d-%02d %02d:%02d:%02d.%03d %s[%d] %s ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			 tm.tm_sec, (int)(tv.tv_usec / 1000), log_ident, (int)getpid(),
			 level_names[level]);
	va_list ap;
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	if (err != 0) {
		n += snprintf(line + n, sizeof(line) - (size_t)n, ": %s", dfs_strerror(err));
		if (n > (int)sizeof(line) - 2)
			n = (int)sizeof(line) - 2;
	}
	line[n++] = '\n';
	ssize_t w = write(log_fd, line, (size_t)n);
	(void)w;
}
