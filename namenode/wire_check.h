/* wire_check.h: checks on raw NsRequest bytes (see wire_check.c). Pure
 * functions, any thread. */
#ifndef DFS_NAMENODE_WIRE_CHECK_H
#define DFS_NAMENODE_WIRE_CHECK_H
#include <stddef.h>
#include <stdint.h>

/* -EINVAL if a string field of the NsRequest in p (path, name, target,
 * new_name, cookie, ...) contains a NUL byte; 0 otherwise (also for bytes
 * that do not parse: the protobuf decoder rejects those). */
int nn_wire_check_names(const uint8_t *p, size_t len);

#endif
