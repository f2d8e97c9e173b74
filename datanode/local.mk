# datanode/: dfs-datanode (block store, data-transfer server, namenode link)
# and its unit test. The code lives in a convenience library so that tests
# link the same objects the daemon runs.
noinst_LIBRARIES += datanode/libdatanode.a
datanode_libdatanode_a_SOURCES = \
	datanode/blockmeta.c datanode/blockmeta.h \
	datanode/blockscan.c datanode/blockscan.h \
	datanode/blockstore.c datanode/blockstore.h \
	datanode/journal.c datanode/journal.h \
	datanode/replica_write.c datanode/replica_write.h \
	datanode/replica_read.c datanode/replica_read.h \
	datanode/datanode.h \
	datanode/xfer_server.c datanode/xfer_server.h \
	datanode/write_pipeline.c datanode/read_handler.c \
	datanode/local_read.c datanode/local_read.h \
	datanode/nn_link.c datanode/nn_link.h \
	datanode/commands.c datanode/commands.h datanode/copy.c \
	datanode/volumes.c datanode/volumes.h \
	datanode/scanner.c datanode/scanner.h
datanode_libdatanode_a_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS)

DATANODE_LIBS = datanode/libdatanode.a common/libdfscommon.la $(PROTOBUF_C_LIBS) $(ISAL_LIBS)

sbin_PROGRAMS += datanode/dfs-datanode
datanode_dfs_datanode_SOURCES = datanode/main.c
datanode_dfs_datanode_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS)
datanode_dfs_datanode_LDADD = $(DATANODE_LIBS)

check_PROGRAMS += tests/unit/test-blockstore
TESTS += tests/unit/test-blockstore
tests_unit_test_blockstore_SOURCES = tests/unit/test-blockstore.c tests/unit/replica-check.h
tests_unit_test_blockstore_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(PROTOBUF_C_CFLAGS)
tests_unit_test_blockstore_LDADD = $(DATANODE_LIBS) $(CMOCKA_LIBS)

check_PROGRAMS += tests/unit/test-journal
TESTS += tests/unit/test-journal
tests_unit_test_journal_SOURCES = tests/unit/test-journal.c tests/unit/replica-check.h
tests_unit_test_journal_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(PROTOBUF_C_CFLAGS)
tests_unit_test_journal_LDADD = $(DATANODE_LIBS) $(CMOCKA_LIBS)

# A throwaway data-transfer client for datanode tests (not installed).
check_PROGRAMS += datanode/dn-probe
datanode_dn_probe_SOURCES = datanode/dn-probe.c
datanode_dn_probe_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS)
datanode_dn_probe_LDADD = common/libdfscommon.la $(PROTOBUF_C_LIBS) $(ISAL_LIBS)
TESTS += datanode/test-xfer.sh
EXTRA_DIST += datanode/test-xfer.sh
