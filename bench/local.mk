# bench/: benchmarks that print figures beside the local disk, never pass/fail.
# Built by make check so it never rots; run by make bench.
check_PROGRAMS += bench/dfs-bench
bench_dfs_bench_SOURCES = bench/dfs-bench.c
bench_dfs_bench_LDADD = libdfs/libdfs.la
EXTRA_DIST += bench/run-bench.sh

# The namespace state machine alone (no network, Raft or fsync): CPU per
# applied command; under callgrind, instructions per command.
check_PROGRAMS += bench/ns-bench
bench_ns_bench_SOURCES = bench/ns-bench.c
bench_ns_bench_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS)
bench_ns_bench_LDADD = namenode/libnamespace.a common/libdfscommon.la \
	$(LEVELDB_LIBS) $(PROTOBUF_C_LIBS) $(ISAL_LIBS)

# One majority-durable operation with none of dfs in the way: the floor
# under a namespace change on this machine's disk and loopback.
check_PROGRAMS += bench/commit-floor
bench_commit_floor_SOURCES = bench/commit-floor.c
bench_commit_floor_LDADD = -lpthread

bench: bench/dfs-bench bench/ns-bench bench/commit-floor
	./bench/ns-bench 10000
	./bench/commit-floor 3000
	DFS_BUILDDIR='$(abs_top_builddir)' DFS_SRCDIR='$(abs_top_srcdir)' \
		$(SHELL) $(srcdir)/bench/run-bench.sh
	$(MAKE) $(AM_MAKEFLAGS) bench-mount

# The dfs-fuse mount beside the local disk (fio, metadata, small files, untar).
EXTRA_DIST += bench/bench-mount.sh
bench-mount: fuse/dfs-fuse
	DFS_BUILDDIR='$(abs_top_builddir)' DFS_SRCDIR='$(abs_top_srcdir)' \
		$(SHELL) $(srcdir)/bench/bench-mount.sh
.PHONY: bench-mount
