# raft/local.mk - the pure Raft core (libraft.a, no I/O) and its
# write-ahead log (libraftwal.a, the only raft code that touches disks).

noinst_LIBRARIES += raft/libraft.a
raft_libraft_a_SOURCES = \
	raft/raft.h \
	raft/raft_int.h \
	raft/raft.c \
	raft/log.c \
	raft/election.c \
	raft/replication.c \
	raft/membership.c \
	raft/read_index.c \
	raft/snapshot.c

# The WAL is the only raft code that does I/O; it uses libraft's types and
# config encoding, so link it before raft/libraft.a.
noinst_LIBRARIES += raft/libraftwal.a
raft_libraftwal_a_SOURCES = raft/wal.h raft/wal.c
raft_libraftwal_a_CFLAGS = $(AM_CFLAGS) $(ISAL_CFLAGS)

EXTRA_DIST += raft/README.md
