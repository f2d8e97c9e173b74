/* errors.h: error conventions shared by every component. Functions return
 * 0 or a negative errno; dfs-specific conditions use the DFS_E* codes of
 * <dfs.h> (outside the errno range). dfs_strerror() covers both. */
#ifndef DFS_COMMON_ERRORS_H
#define DFS_COMMON_ERRORS_H
#include <dfs.h>
#include <errno.h>

/* Negative errno of the failed syscall, for `return DFS_ERRNO();`. */
#define DFS_ERRNO() (-(errno != 0 ? errno : EIO))

#endif
