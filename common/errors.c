/* errors.c: dfs_strerror(), the one table of dfs-specific error texts. */
#include "common/errors.h"

#include <stdlib.h>
#include <string.h>

static const char *const dfs_error_texts[DFS_E_MAX - DFS_E_BASE] = {
	[0] = "Unknown dfs error",
	[DFS_ENOTLEADER - DFS_E_BASE] = "Namenode is not the leader",
	[DFS_ECHECKSUM - DFS_E_BASE] = "Checksum mismatch",
	[DFS_EPROTOCOL - DFS_E_BASE] = "Malformed or unexpected message",
	[DFS_ESTALE - DFS_E_BASE] = "Stale replica generation stamp",
	[DFS_ENODATANODES - DFS_E_BASE] = "Not enough live datanodes",
	[DFS_ESAFEMODE - DFS_E_BASE] = "Namenode is in safe mode",
	[DFS_ENOTFORMATTED - DFS_E_BASE] = "Storage directory is not formatted",
};

const char *dfs_strerror(int err)
{
	int e = abs(err);
	if (e >= DFS_E_BASE && e < DFS_E_MAX) {
		const char *s = dfs_error_texts[e - DFS_E_BASE];
		return s != NULL ? s : dfs_error_texts[0];
	}
	if (e == 0)
		return "Success";
	/* strerror() of glibc returns static text for known codes and a
	 * per-thread buffer for unknown ones. */
	return strerror(e);
}
