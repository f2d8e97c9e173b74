# libdfs/: the client library (libdfs.so, <dfs.h>, dfs.pc) and its tests.
# The sources are compiled once into a convenience library that both the
# installed libdfs.la (which exports only the dfs.h functions) and the unit tests
# (which reach the internal dfsc_* functions) link.
include_HEADERS += libdfs/include/dfs.h
# The exported ABI: exactly the functions of dfs.h (keep in sync).
EXTRA_DIST += libdfs/libdfs.sym
EXTRA_libdfs_libdfs_la_DEPENDENCIES = libdfs/libdfs.sym

noinst_LTLIBRARIES += libdfs/libdfsclient.la
libdfs_libdfsclient_la_SOURCES = \
	libdfs/internal.h \
	libdfs/settings.c \
	libdfs/pipeline_recovery.c \
	libdfs/bad_replica.c \
	libdfs/attr.c \
	libdfs/rpc.c \
	libdfs/client.c \
	libdfs/namespace.c \
	libdfs/dir.c \
	libdfs/cluster.c \
	libdfs/admin_raft.c \
	libdfs/file.c \
	libdfs/file_write.c \
	libdfs/block_writer.c \
	libdfs/file_read.c \
	libdfs/block_reader.c \
	libdfs/dir_attrs.c \
	libdfs/local_read.c
libdfs_libdfsclient_la_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS) $(ISAL_CFLAGS)
libdfs_libdfsclient_la_LIBADD = common/libdfscommon.la

lib_LTLIBRARIES += libdfs/libdfs.la
libdfs_libdfs_la_SOURCES =
libdfs_libdfs_la_LIBADD = libdfs/libdfsclient.la $(PROTOBUF_C_LIBS) $(ISAL_LIBS) -lpthread
libdfs_libdfs_la_LDFLAGS = $(AM_LDFLAGS) -version-info 0:0:0 -export-symbols $(srcdir)/libdfs/libdfs.sym

# Unit tests: what can be checked without a cluster.
check_PROGRAMS += tests/unit/test-libdfs
TESTS += tests/unit/test-libdfs
tests_unit_test_libdfs_SOURCES = tests/unit/test-libdfs.c
tests_unit_test_libdfs_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(PROTOBUF_C_CFLAGS)
tests_unit_test_libdfs_LDADD = libdfs/libdfsclient.la $(CMOCKA_LIBS) $(PROTOBUF_C_LIBS) \
	$(ISAL_LIBS) -lpthread

# Integration: real namenode + three datanodes, the whole data path.
check_PROGRAMS += tests/integration/test-libdfs-io
TESTS += tests/integration/test-libdfs-io
tests_integration_test_libdfs_io_SOURCES = tests/integration/test-libdfs-io.c
tests_integration_test_libdfs_io_CFLAGS = $(AM_CFLAGS)
tests_integration_test_libdfs_io_LDADD = libdfs/libdfs.la -lpthread

# cluster health admin calls (safe mode, decommission, fsck)
libdfs_libdfsclient_la_SOURCES += libdfs/admin_health.c

# extended attributes (user.*)
libdfs_libdfsclient_la_SOURCES += libdfs/xattr.c

# How long a call takes to fail when the namenodes stop answering.
check_PROGRAMS += tests/unit/test-libdfs-bounds
TESTS += tests/unit/test-libdfs-bounds
tests_unit_test_libdfs_bounds_SOURCES = tests/unit/test-libdfs-bounds.c
tests_unit_test_libdfs_bounds_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(PROTOBUF_C_CFLAGS)
tests_unit_test_libdfs_bounds_LDADD = libdfs/libdfsclient.la $(CMOCKA_LIBS) $(PROTOBUF_C_LIBS) \
	$(ISAL_LIBS) -lpthread
