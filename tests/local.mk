# tests/: unit tests of the common layer (cmocka), integration tests that run
# real daemons (bash), and the local-cluster tool they and quickstart.sh use.

# dfs-cluster: brings a local cluster up and down (tools/dfs-cluster, bash).
bin_SCRIPTS += tools/dfs-cluster
dist_man_MANS += man/dfs-cluster.1
EXTRA_DIST += tools/dfs-cluster scripts/deps.sh

# ---- unit tests ----
check_PROGRAMS += tests/unit/test-common tests/unit/test-daemon
TESTS += tests/unit/test-common tests/unit/test-daemon

tests_unit_test_common_SOURCES = tests/unit/test-common.c
tests_unit_test_common_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(PROTOBUF_C_CFLAGS)
tests_unit_test_common_LDADD = common/libdfscommon.la $(CMOCKA_LIBS) $(PROTOBUF_C_LIBS) $(ISAL_LIBS)

tests_unit_test_daemon_SOURCES = tests/unit/test-daemon.c
tests_unit_test_daemon_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(PROTOBUF_C_CFLAGS)
tests_unit_test_daemon_LDADD = common/libdfscommon.la $(CMOCKA_LIBS) $(PROTOBUF_C_LIBS) $(ISAL_LIBS)

# ---- integration tests (real processes; see tests/integration/lib.sh) ----
# The slowest first, so that `make -j2 check` overlaps it with the rest.
INTEGRATION_TESTS = \
	tests/integration/test-put-get-200m.sh \
	tests/integration/test-cli.sh \
	tests/integration/test-bad-names.sh \
	tests/integration/test-garbage.sh \
	tests/integration/test-dfs-cluster.sh \
	tests/integration/test-rereplicate.sh \
	tests/integration/test-pipeline-kill.sh \
	tests/integration/test-write-faults.sh \
	tests/integration/test-corrupt-read.sh \
	tests/integration/test-scanner.sh \
	tests/integration/test-disk-fail.sh \
	tests/integration/test-journal-replay.sh \
	tests/integration/test-enospc.sh
TESTS += $(INTEGRATION_TESTS)
# The namenode Raft group: failover, restart, identical states.
INTEGRATION_TESTS += tests/integration/test-raft-basic.sh
EXTRA_DIST += tests/integration/lib.sh $(INTEGRATION_TESTS)
EXTRA_DIST += tests/integration/lib-durability.sh

# Helper of test-bad-names.sh: the *_at calls and a raw NUL-in-name request.
check_PROGRAMS += tests/integration/bad-names-at
tests_integration_bad_names_at_SOURCES = tests/integration/bad-names-at.c
tests_integration_bad_names_at_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS)
# common first: the frame/net helpers come from the static archive, whatever
# libdfs.so chooses to export.
tests_integration_bad_names_at_LDADD = common/libdfscommon.la libdfs/libdfs.la \
	$(PROTOBUF_C_LIBS) $(ISAL_LIBS) -lpthread

# Helper of the namenode failover tests (test-raft-*.sh): concurrent creates
# with a log of every acknowledged one, the check of that log, a tree dump.
check_PROGRAMS += tests/integration/raft-writer
tests_integration_raft_writer_SOURCES = tests/integration/raft-writer.c
tests_integration_raft_writer_LDADD = libdfs/libdfs.la -lpthread

# The namenode heals the cluster (dead datanodes, safe mode, decommission).
HEAL_TESTS = \
	tests/integration/test-heal-dead-dn.sh \
	tests/integration/test-heal-two-dead.sh \
	tests/integration/test-safemode.sh \
	tests/integration/test-decommission.sh
TESTS += $(HEAL_TESTS)
EXTRA_DIST += tests/integration/heal-lib.sh $(HEAL_TESTS)

# Namenode Raft group tests (three namenodes; tests/integration/raft-lib.sh).
RAFT_TESTS = \
	tests/integration/test-raft-catchup.sh \
	tests/integration/test-raft-failover.sh \
	tests/integration/test-raft-unrecorded.sh \
	tests/integration/test-raft-membership.sh \
	tests/integration/test-raft-membership-leader.sh \
	tests/integration/test-raft-sigstop.sh \
	tests/integration/test-raft-partition.sh \
	tests/integration/test-raft-restart-all.sh
TESTS += $(RAFT_TESTS)
EXTRA_DIST += tests/integration/raft-lib.sh $(RAFT_TESTS)
