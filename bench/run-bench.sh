#!/bin/bash
# run-bench.sh: `make bench`. Brings up throwaway local clusters in a
# temporary directory on the same disk as the local-disk comparison, runs
# dfs-bench against them, prints the tables, and takes the clusters down
# again, whatever happens:
#   - one namenode, three datanodes: the sequential part, then on a fresh
#     cluster the metadata rates from 1 and from 8 concurrent clients (the
#     datanodes are still deleting the sequential part's blocks after it,
#     which slowed the first metadata pass to a third);
#   - a Raft group of three namenodes, three datanodes: the metadata rates
#     again (every create, rename and delete is then replicated).
# The sequential part runs BENCH_ROUNDS times, local disk and dfs
# interleaved, and prints the medians with each round's ratio: this
# shared disk's own rate moves by half from one minute to the next.
#   BENCH_SIZE_MIB (1024)  BENCH_FILES (10000)  BENCH_REPLICATION (1,3)
#   BENCH_THREADS (1,8)    BENCH_NAMENODES (1,3: the cluster sizes to run)
#   BENCH_ROUNDS (3)
set -euo pipefail
builddir=${DFS_BUILDDIR:-$(pwd)}
srcdir=${DFS_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
work=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/var/tmp}}/dfs-bench.XXXXXX")
cluster="$srcdir/tools/dfs-cluster"
[ -x "$builddir/tools/dfs-cluster" ] && cluster="$builddir/tools/dfs-cluster"
running=

cleanup() {
	[ -n "$running" ] && "$cluster" down --dir "$running" >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

export PATH="$builddir/namenode:$builddir/datanode:$builddir/tools:$PATH"
mkdir -p "$work/local"

# bench_on N ARGS...: dfs-bench against a fresh cluster of N namenodes.
bench_on() {
	local n=$1 dir=$work/cluster-$1
	shift
	echo
	echo "dfs-bench: $n namenode(s): cluster in $dir, local disk in $work/local"
	running=$dir
	"$cluster" up --dir "$dir" --namenodes "$n" --datanodes 3 >"$work/up-$n.log" 2>&1 ||
		{ cat "$work/up-$n.log"; return 1; }
	DFS_CONF="$dir/dfs.conf" "$builddir/bench/dfs-bench" \
		--local-dir "$work/local" \
		--size "${BENCH_SIZE_MIB:-1024}" \
		--files "${BENCH_FILES:-10000}" \
		--replication "${BENCH_REPLICATION:-1,3}" \
		--threads "${BENCH_THREADS:-1,8}" \
		--rounds "${BENCH_ROUNDS:-3}" \
		--label "$n nn" "$@"
	"$cluster" down --dir "$dir" >/dev/null 2>&1
	running=
	rm -rf "$dir"
}

for n in $(echo "${BENCH_NAMENODES:-1,3}" | tr , ' '); do
	if [ "$n" = 1 ]; then
		bench_on 1 --only seq
		bench_on 1 --only meta
	else
		bench_on "$n" --only meta
	fi
done
