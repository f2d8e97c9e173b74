# tests/raft/local.mk - the Raft simulator, unit tests and purity check.

check_PROGRAMS += tests/raft/raft-sim
tests_raft_raft_sim_SOURCES = \
	tests/raft/sim.h \
	tests/raft/sim.c \
	tests/raft/sim_check.c
tests_raft_raft_sim_LDADD = raft/libraft.a

check_PROGRAMS += tests/raft/test-raft-core
tests_raft_test_raft_core_SOURCES = tests/raft/test-raft-core.c
tests_raft_test_raft_core_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_raft_test_raft_core_LDADD = raft/libraft.a $(CMOCKA_LIBS)
TESTS += tests/raft/test-raft-core

check_PROGRAMS += tests/raft/test-wal
tests_raft_test_wal_SOURCES = tests/raft/test-wal.c
tests_raft_test_wal_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_raft_test_wal_LDADD = raft/libraftwal.a raft/libraft.a \
	$(CMOCKA_LIBS) $(ISAL_LIBS)
TESTS += tests/raft/test-wal

# raft-sim with no arguments runs 500 seeds of 3000 ticks each.
TESTS += tests/raft/raft-sim tests/raft/check-purity.sh
EXTRA_DIST += tests/raft/check-purity.sh

# make soak SEEDS=N [FIRST=S] [STEPS=K]: a long simulator run.  The
# defaults live in raft-prefixed variables so other soak targets may give
# SEEDS their own meaning.
RAFT_SOAK_SEEDS = $(if $(SEEDS),$(SEEDS),5000)
RAFT_SOAK_FIRST = $(if $(FIRST),$(FIRST),1)
RAFT_SOAK_STEPS = $(if $(STEPS),$(STEPS),3000)
.PHONY: soak-raft
soak: soak-raft
soak-raft: tests/raft/raft-sim$(EXEEXT)
	./tests/raft/raft-sim$(EXEEXT) --seeds=$(RAFT_SOAK_SEEDS) \
		--first=$(RAFT_SOAK_FIRST) --steps=$(RAFT_SOAK_STEPS)
