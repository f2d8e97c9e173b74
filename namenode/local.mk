# namenode/: dfs-namenode, its namespace store (LevelDB, libnamespace.a),
# its soft state and RPC loop (libnamenode.a) and their unit tests
# (tests/unit/test-namespace.c, tests/unit/test-blockmgr.c).
noinst_LIBRARIES += namenode/libnamespace.a
namenode_libnamespace_a_SOURCES = \
	namenode/ns.h namenode/ns_txn.h \
	namenode/ns_store.c namenode/ns_record.c namenode/ns_path.c \
	namenode/ns_apply.c namenode/ns_modify.c namenode/ns_delete.c \
	namenode/ns_rename.c namenode/ns_read.c namenode/ns_retry.c namenode/ns_cache.c \
	namenode/ns_effects.c
namenode_libnamespace_a_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS)

noinst_LIBRARIES += namenode/libnamenode.a
namenode_libnamenode_a_SOURCES = \
	namenode/nn.h \
	namenode/rpc_server.h namenode/rpc_server.c namenode/rpc_handlers.c namenode/block_alloc.c \
	namenode/dnmgr.h namenode/dnmgr.c namenode/blockmap.c namenode/placement.c \
	namenode/replmon.c namenode/wire_check.h namenode/wire_check.c \
	namenode/raft_node.h namenode/raft_node.c namenode/raft_transport.c namenode/raft_effects.c \
	namenode/raft_snapshot.c namenode/wal_syncer.h namenode/wal_syncer.c
namenode_libnamenode_a_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS)

NAMENODE_LIBS = namenode/libnamenode.a namenode/libnamespace.a raft/libraftwal.a \
	raft/libraft.a common/libdfscommon.la $(LEVELDB_LIBS) $(PROTOBUF_C_LIBS) $(ISAL_LIBS)

sbin_PROGRAMS += namenode/dfs-namenode
namenode_dfs_namenode_SOURCES = namenode/main.c
namenode_dfs_namenode_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS)
namenode_dfs_namenode_LDADD = $(NAMENODE_LIBS)

check_PROGRAMS += tests/unit/test-namespace
TESTS += tests/unit/test-namespace
tests_unit_test_namespace_SOURCES = tests/unit/test-namespace.c
tests_unit_test_namespace_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_namespace_LDADD = namenode/libnamespace.a common/libdfscommon.la \
	$(LEVELDB_LIBS) $(PROTOBUF_C_LIBS) $(ISAL_LIBS) $(CMOCKA_LIBS)

check_PROGRAMS += tests/unit/test-blockmgr
TESTS += tests/unit/test-blockmgr
tests_unit_test_blockmgr_SOURCES = tests/unit/test-blockmgr.c
tests_unit_test_blockmgr_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_blockmgr_LDADD = $(NAMENODE_LIBS) $(CMOCKA_LIBS)

# the namenode heals the cluster: safe mode, decommission, fsck support
namenode_libnamespace_a_SOURCES += namenode/ns_decom.h namenode/ns_decom.c
namenode_libnamenode_a_SOURCES += namenode/safemode.h namenode/safemode.c \
	namenode/heal.h namenode/decommission.c namenode/admin_handlers.c

# extended attributes (user.*): x/<ino> records
namenode_libnamespace_a_SOURCES += namenode/ns_xattr.c
