#!/bin/bash
# run-bench.sh: `make bench`. Brings up throwaway local clusters in a
# temporary directory on the same disk as the local-disk comparison, runs
# dfs-bench against them, prints the tables, and takes the clusters down
# again, whatever happens:
#   - one namenode, three datanodes: sequential write and read, local disk
#     and dfs interleaved, BENCH_ROUNDS times; medians and each round's
#     ratio (this shared disk's own rate moves by half from one minute to
#     the next);
#   - fresh clusters of each size in BENCH_NAMENODES (one namenode, and a
#     Raft group of three), all up at once: the metadata rates from 1 and
#     from 8 concurrent clients, the sizes one after the other in each of
#     BENCH_ROUNDS rounds; medians, and the largest size over the smallest
#     (every create, rename and delete is replicated on three).
#   BENCH_SIZE_MIB (1024)  BENCH_FILES (10000)  BENCH_REPLICATION (1,3)
#   BENCH_THREADS (1,8)    BENCH_NAMENODES (1,3)  BENCH_ROUNDS (3)
set -euo pipefail
builddir=${DFS_BUILDDIR:-$(pwd)}
srcdir=${DFS_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
work=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/var/tmp}}/dfs-bench.XXXXXX")
cluster="$srcdir/tools/dfs-cluster"
[ -x "$builddir/tools/dfs-cluster" ] && cluster="$builddir/tools/dfs-cluster"
running=

cleanup() {
	for d in $running; do "$cluster" down --dir "$d" >/dev/null 2>&1; done
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

export PATH="$builddir/namenode:$builddir/datanode:$builddir/tools:$PATH"
mkdir -p "$work/local"

# up N DIR: a fresh cluster of N namenodes and three datanodes in DIR.
up() {
	running="$running $2"
	"$cluster" up --dir "$2" --namenodes "$1" --datanodes 3 >"$work/up-$1.log" 2>&1 ||
		{ cat "$work/up-$1.log"; return 1; }
}

down() {
	"$cluster" down --dir "$1" >/dev/null 2>&1
	running=${running/ $1/}
	rm -rf "$1"
}

bench() { # DIR ARGS...: dfs-bench against the cluster in DIR
	local dir=$1
	shift
	DFS_CONF="$dir/dfs.conf" "$builddir/bench/dfs-bench" --local-dir "$work/local" \
		--size "${BENCH_SIZE_MIB:-1024}" --files "${BENCH_FILES:-10000}" \
		--replication "${BENCH_REPLICATION:-1,3}" --threads "${BENCH_THREADS:-1,8}" "$@"
}

rounds=${BENCH_ROUNDS:-3}
echo
echo "dfs-bench: sequential, 1 namenode: cluster and local disk under $work"
up 1 "$work/seq"
bench "$work/seq" --only seq --rounds "$rounds"
down "$work/seq"

# Metadata: every cluster size up at once on fresh clusters, and each
# round runs them one after the other, so the ratio of two sizes is taken
# a minute apart, not five; the table shows medians and each round's ratio.
sizes=$(echo "${BENCH_NAMENODES:-1,3}" | tr , ' ')
for n in $sizes; do up "$n" "$work/meta-$n"; done
for r in $(seq 1 "$rounds"); do
	for n in $sizes; do
		bench "$work/meta-$n" --only meta --dfs-dir "/bench-r$r" |
			awk -v n="$n" -v r="$r" 'NR > 1 { sub(/ \(ops\/s\)/, ""); d = $(NF - 1)
				l = $(NF - 2); $NF = ""; $(NF - 1) = ""; $(NF - 2) = ""; sub(/ +$/, "")
				print r "\t" n "\t" $0 "\t" d; print r "\tlocal-" n "\t" $0 "\t" l }' \
			>>"$work/meta.tsv"
	done
	echo "dfs-bench: metadata round $r of $rounds done" >&2
done
for n in $sizes; do down "$work/meta-$n"; done
echo
echo "dfs-bench: metadata ops/s, median of $rounds rounds (local disk: beside the smallest"
echo "cluster); last columns: the largest cluster over the smallest, of the medians and of"
echo "each round"
awk -F '\t' -v sizes="$sizes" '
	{ key = $3; if (!(key in seen)) { seen[key] = 1; order[++nk] = key }
	  v[key, $2, $1] = $4; if ($1 > nr) nr = $1 }
	function med(key, n,   i, j, a, t, m) {
		m = 0; for (i = 1; i <= nr; i++) if ((key, n, i) in v) a[++m] = v[key, n, i]
		for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
		return m == 0 ? 0 : (m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2) }
	END {
		ns = split(sizes, s, " "); lo = s[1]; hi = s[ns]
		printf "%-34s %10s", "workload", "local disk"
		for (i = 1; i <= ns; i++) printf " %9s", s[i] " nn"
		printf " %9s  %s\n", hi "/" lo, "rounds"
		for (k = 1; k <= nk; k++) {
			key = order[k]; printf "%-34s %10.0f", key, med(key, "local-" lo)
			for (i = 1; i <= ns; i++) printf " %9.0f", med(key, s[i])
			a = med(key, lo); b = med(key, hi)
			printf " %8.0f%%  ", (a > 0 ? 100 * b / a : 0)
			for (r = 1; r <= nr; r++)
				printf "%s%.0f", (r > 1 ? "/" : ""), (v[key, lo, r] > 0 ? 100 * v[key, hi, r] / v[key, lo, r] : 0)
			printf "%%\n" } }' "$work/meta.tsv"
