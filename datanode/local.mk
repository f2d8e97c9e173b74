# datanode/: dfs-datanode (block store, data-transfer server, namenode link)
# and its unit test. The code lives in a convenience library so that tests
# link the same objects the daemon runs.
noinst_LIBRARIES += datanode/libdatanode.a
datanode_libdatanode_a_SOURCES = \
	datanode/blockmeta.c datanode/blockmeta.h \
	datanode/blockscan.c datanode/blockscan.h \
	datanode/blockstore.c datanode/blockstore.h \
	datanode/replica_write.c datanode/replica_write.h \
	datanode/replica_read.c datanode/replica_read.h
datanode_libdatanode_a_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS)

DATANODE_LIBS = datanode/libdatanode.a common/libdfscommon.la $(PROTOBUF_C_LIBS) $(ISAL_LIBS)

check_PROGRAMS += tests/unit/test-blockstore
TESTS += tests/unit/test-blockstore
tests_unit_test_blockstore_SOURCES = tests/unit/test-blockstore.c
tests_unit_test_blockstore_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(PROTOBUF_C_CFLAGS)
tests_unit_test_blockstore_LDADD = $(DATANODE_LIBS) $(CMOCKA_LIBS)
