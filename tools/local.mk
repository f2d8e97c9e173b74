# tools/: the dfs command-line tool. It sees only the public API <dfs.h>
# and links the installed client library, libdfs.la.
bin_PROGRAMS += tools/dfs
tools_dfs_SOURCES = \
	tools/cli.h tools/util.h tools/copy_io.h tools/progress.h \
	tools/dfs.c \
	tools/cli.c \
	tools/util.c \
	tools/walk.c \
	tools/progress.c \
	tools/copy_io.c \
	tools/cmd_copy.c \
	tools/cmd_ls.c \
	tools/cmd_ns.c \
	tools/cmd_attr.c \
	tools/cmd_stat.c \
	tools/cmd_admin.c \
	tools/cmd_raft.c \
	tools/cmd_fsck.c \
	tools/cmd_safemode.c \
	tools/cmd_xattr.c
tools_dfs_LDADD = libdfs/libdfs.la

# Unit tests of the pure helpers (no cluster needed).
check_PROGRAMS += tests/unit/test-cli-util
TESTS += tests/unit/test-cli-util
tests_unit_test_cli_util_SOURCES = tests/unit/test-cli-util.c tools/util.c tools/util.h \
	tools/progress.c tools/progress.h
tests_unit_test_cli_util_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_cli_util_LDADD = $(CMOCKA_LIBS)
