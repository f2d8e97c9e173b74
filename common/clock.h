/* clock.h: the monotonic clock in milliseconds, for deadlines and ages,
 * and condition-variable deadlines (header only, so dfs-fuse, which links
 * libdfs's public symbols alone, shares it too). */
#ifndef DFS_COMMON_CLOCK_H
#define DFS_COMMON_CLOCK_H
#include <stdint.h>
#include <time.h>

static inline int64_t dfs_mono_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* *out = ms milliseconds from now on the realtime clock: the deadline
 * pthread_cond_timedwait takes (a condition variable's default clock). */
static inline void dfs_cond_deadline(struct timespec *out, int64_t ms)
{
	clock_gettime(CLOCK_REALTIME, out);
	out->tv_sec += ms / 1000;
	out->tv_nsec += (ms % 1000) * 1000000L;
	if (out->tv_nsec >= 1000000000L) {
		out->tv_sec++;
		out->tv_nsec -= 1000000000L;
	}
}

#endif
