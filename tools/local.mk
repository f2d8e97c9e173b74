# tools/: the dfs command-line tool. It sees only the public API <dfs.h>
# and links the installed client library, libdfs.la.
# Unit tests of the pure helpers (no cluster needed).
check_PROGRAMS += tests/unit/test-cli-util
TESTS += tests/unit/test-cli-util
tests_unit_test_cli_util_SOURCES = tests/unit/test-cli-util.c tools/util.c tools/util.h \
	tools/progress.c tools/progress.h
tests_unit_test_cli_util_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_cli_util_LDADD = $(CMOCKA_LIBS)
