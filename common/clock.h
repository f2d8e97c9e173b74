/* clock.h: the monotonic clock in milliseconds, for deadlines and ages
 * (header only, so dfs-fuse, which links libdfs's public symbols alone,
 * shares it too). */
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

#endif
