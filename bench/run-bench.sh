#!/bin/bash
# run-bench.sh: `make bench`. Brings up a throwaway local cluster (one
# namenode, three datanodes) in a temporary directory on the same disk as
# the local-disk comparison, runs dfs-bench against both, prints the table,
# and takes the cluster down again, whatever happens.
#   BENCH_SIZE_MIB (1024)  BENCH_FILES (10000)  BENCH_REPLICATION (1,3)
set -euo pipefail
builddir=${DFS_BUILDDIR:-$(pwd)}
srcdir=${DFS_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
work=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/var/tmp}}/dfs-bench.XXXXXX")
cluster="$srcdir/tools/dfs-cluster"
[ -x "$builddir/tools/dfs-cluster" ] && cluster="$builddir/tools/dfs-cluster"

cleanup() {
	"$cluster" down --dir "$work/cluster" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

export PATH="$builddir/namenode:$builddir/datanode:$builddir/tools:$PATH"
echo "dfs-bench: cluster in $work/cluster, local disk in $work/local"
"$cluster" up --dir "$work/cluster" --datanodes 3 >"$work/cluster-up.log" 2>&1 ||
	{ cat "$work/cluster-up.log"; exit 1; }
mkdir -p "$work/local"
DFS_CONF="$work/cluster/dfs.conf" "$builddir/bench/dfs-bench" \
	--local-dir "$work/local" \
	--size "${BENCH_SIZE_MIB:-1024}" \
	--files "${BENCH_FILES:-10000}" \
	--replication "${BENCH_REPLICATION:-1,3}"
