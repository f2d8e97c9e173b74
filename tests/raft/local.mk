# tests/raft/local.mk - the Raft simulator, unit tests and purity check.

check_PROGRAMS += tests/raft/raft-sim
tests_raft_raft_sim_SOURCES = \
	tests/raft/sim.h \
	tests/raft/sim.c \
	tests/raft/sim_check.c
tests_raft_raft_sim_LDADD = raft/libraft.a

# raft-sim with no arguments runs 500 seeds of 3000 ticks each.
TESTS += tests/raft/raft-sim tests/raft/check-purity.sh
EXTRA_DIST += tests/raft/check-purity.sh

# make soak SEEDS=N [FIRST=S] [STEPS=K]: a long simulator run.
SEEDS ?= 5000
FIRST ?= 1
STEPS ?= 3000
.PHONY: soak-raft
soak: soak-raft
soak-raft: tests/raft/raft-sim$(EXEEXT)
	./tests/raft/raft-sim$(EXEEXT) --seeds=$(SEEDS) --first=$(FIRST) \
		--steps=$(STEPS)
