# fuse/: dfs-fuse, the FUSE client (libfuse3 low-level API over libdfs),
# its mount helper, man page and tests.
sbin_PROGRAMS += fuse/dfs-fuse
fuse_dfs_fuse_SOURCES = \
	fuse/dfs_fuse.h \
	fuse/logger.h \
	fuse/logger.c \
	fuse/handles.h \
	fuse/handles.c \
	fuse/reply.c \
	fuse/ops_entry.c \
	fuse/ops_file.c \
	fuse/ops_dir.c \
	fuse/ops_xattr.c \
	fuse/lookahead.h \
	fuse/lookahead.c \
	fuse/main.c
fuse_dfs_fuse_CFLAGS = $(AM_CFLAGS) $(FUSE_CFLAGS)
fuse_dfs_fuse_LDADD = libdfs/libdfs.la $(FUSE_LIBS) -lpthread

# `mount -t fuse.dfs` runs /sbin/mount.fuse.dfs (link it there when the
# prefix is not /).
mounthelperdir = $(sbindir)
dist_mounthelper_SCRIPTS = fuse/mount.fuse.dfs

dist_man_MANS += man/dfs-fuse.8

# Tests: a real mount over a real local cluster.
check_PROGRAMS += tests/fuse/fsx-dfs
tests_fuse_fsx_dfs_SOURCES = tests/fuse/fsx-dfs.c
TESTS += tests/integration/fuse-basic.sh tests/integration/fuse-fsx.sh
EXTRA_DIST += tests/integration/fuse-basic.sh tests/integration/fuse-fsx.sh tests/fuse/lib-fuse.sh

# Real programs (rsync, tar, git, sqlite3, flock) inside a mount.
TESTS += tests/integration/fuse-programs.sh
EXTRA_DIST += tests/integration/fuse-programs.sh
# Two mounts of one cluster: close-to-open and name changes both ways.
TESTS += tests/integration/fuse-two-mounts.sh
EXTRA_DIST += tests/integration/fuse-two-mounts.sh
# An unprivileged uid on an allow_other mount: EACCES / EPERM per POSIX.
TESTS += tests/integration/fuse-perms.sh
EXTRA_DIST += tests/integration/fuse-perms.sh
# A datanode SIGKILLed while a 200 MiB file is written through the mount.
TESTS += tests/integration/fuse-dn-kill.sh
EXTRA_DIST += tests/integration/fuse-dn-kill.sh
# user.* extended attributes: setfattr/getfattr, cp -a, rsync -X, another
# uid, two mounts, and a leader failover with a snapshot catch-up.
TESTS += tests/integration/fuse-xattr.sh
EXTRA_DIST += tests/integration/fuse-xattr.sh
# Every namenode SIGKILLed, then frozen, under two mounts: each call fails
# with EIO in bounded time, is logged, and works again afterwards.
TESTS += tests/integration/fuse-nn-loss.sh
EXTRA_DIST += tests/integration/fuse-nn-loss.sh
# A scan's lookups answered from names listed ahead, never staler than the
# kernel's own caches: another mount's change, the same mount's change.
TESTS += tests/integration/fuse-lookahead.sh
EXTRA_DIST += tests/integration/fuse-lookahead.sh
TESTS += tests/integration/fuse-lookahead-random.sh
EXTRA_DIST += tests/integration/fuse-lookahead-random.sh
# Small files written into the block their create allocated; a client
# creating empty files stops asking for one.
TESTS += tests/integration/fuse-small-files.sh
EXTRA_DIST += tests/integration/fuse-small-files.sh
# The size of a file being written through a pipe, as stat and ls -l show
# it through the same mount: never back, final at once after close.
TESTS += tests/integration/fuse-size-live.sh
EXTRA_DIST += tests/integration/fuse-size-live.sh
# A file created write-only (direct_io): a reader on the same mount sees
# every write at once, and the mtime moves with each and never goes back.
TESTS += tests/integration/fuse-write-visible.sh
EXTRA_DIST += tests/integration/fuse-write-visible.sh
# Failing calls through the mount get POSIX's errno (ENOENT ... ENAMETOOLONG,
# EROFS on a read-only mount, ENOSPC on a full datanode); device nodes and
# sockets made in the mount do their I/O on this machine.
TESTS += tests/integration/fuse-errors.sh
EXTRA_DIST += tests/integration/fuse-errors.sh
