# lib.sh: shared harness of the integration tests (sourced, not run).
# Gives each test a temp dir, a real local cluster started through
# dfs-cluster, polling waits with deadlines, assertions that print what went
# wrong, and a trap that always stops the cluster, kills what the test
# started and removes the temp dir (kept with DFS_TEST_KEEP=1).
#
# Variables a test can use after `cluster_up`:
#   T        temp dir of the test          CLUSTER  dfs-cluster --dir
#   DFS      the dfs CLI                   DFS_CONF client config (exported)
#   SEED     seed of the random data (DFS_TEST_SEED overrides it)
set -u
set -o pipefail

TEST_NAME=$(basename "$0" .sh)
LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DFS_SRCDIR=${DFS_SRCDIR:-$(cd "$LIB_DIR/../.." && pwd)}
DFS_BUILDDIR=${DFS_BUILDDIR:-$DFS_SRCDIR}
export DFS_BUILDDIR DFS_SRCDIR
DFS=$DFS_BUILDDIR/tools/dfs
DFS_CLUSTER=$DFS_SRCDIR/tools/dfs-cluster
SEED=${DFS_TEST_SEED:-424242}
export DFS_CLUSTER_TIMEOUT=${DFS_CLUSTER_TIMEOUT:-60}
T=
CLUSTER=
TEST_PIDS=()
TEST_TMPFS=() # tmpfs mounts of dn_onto_tmpfs, unmounted by cleanup
FAILED=0

log() { echo "[$TEST_NAME $(date +%T)] $*"; }

# Prints the tail of every daemon log of the cluster.
dump_logs() {
	local f
	[ -n "$CLUSTER" ] && [ -d "$CLUSTER/logs" ] || return 0
	for f in "$CLUSTER"/logs/*.log; do
		[ -e "$f" ] || continue
		echo "----- tail of $f -----"
		tail -n 40 "$f"
	done
}

cleanup() {
	local rc=$? pid
	trap - EXIT INT TERM
	for pid in ${TEST_PIDS[@]+"${TEST_PIDS[@]}"}; do
		kill -KILL "$pid" 2>/dev/null
	done
	if [ $rc -ne 0 ] && [ $rc -ne 77 ]; then
		log "FAILED (exit $rc); seed=$SEED (rerun with DFS_TEST_SEED=$SEED)"
		dump_logs
	fi
	if [ -n "$CLUSTER" ] && [ -d "$CLUSTER" ]; then
		"$DFS_CLUSTER" down --dir "$CLUSTER" >/dev/null 2>&1
	fi
	local dir
	for dir in ${TEST_TMPFS[@]+"${TEST_TMPFS[@]}"}; do
		umount -l "$dir" 2>/dev/null
	done
	if [ -n "$T" ] && [ -d "$T" ]; then
		if [ "${DFS_TEST_KEEP:-0}" = 1 ]; then
			log "kept $T"
		else
			rm -rf "$T"
		fi
	fi
	exit $rc
}

fail() {
	log "FAIL: $*" >&2
	exit 1
}

skip() {
	log "SKIP: $*"
	exit 77
}

# wait_until TIMEOUT_S CMD...: polls CMD until it succeeds; 1 on timeout.
wait_until() {
	local timeout=$1 deadline
	shift
	deadline=$((SECONDS + timeout))
	while ! "$@" >/dev/null 2>&1; do
		[ $SECONDS -lt $deadline ] || return 1
		sleep 0.1
	done
	return 0
}

# check CMD...: CMD must succeed.
check() {
	local out
	if ! out=$("$@" 2>&1); then
		printf '%s\n' "$out" >&2
		fail "command failed: $*"
	fi
}

# expect_fail REGEX CMD...: CMD must fail and print REGEX (grep -E) on stderr.
expect_fail() {
	local re=$1 err rc
	shift
	err=$("$@" 2>&1 >/dev/null)
	rc=$?
	[ $rc -ne 0 ] || fail "expected failure, got success: $*"
	grep -qE -- "$re" <<<"$err" || fail "'$*' printed '$err', expected /$re/"
}

# expect_eq WHAT EXPECTED ACTUAL
expect_eq() {
	[ "$2" = "$3" ] || fail "$1: expected '$2', got '$3'"
}

# gen_data SEED BYTES: deterministic pseudo-random bytes on stdout.
# (openssl dies of SIGPIPE when head has enough: not an error here.)
gen_data() {
	{ openssl enc -aes-128-ctr -pass "pass:$1" -nosalt -md sha256 </dev/zero 2>/dev/null ||
		true; } | head -c "$2"
}

sha() { sha256sum "$1" | cut -d' ' -f1; }

# need_built: the daemons and CLI must exist; their absence is a failure.
need_built() {
	local p
	for p in "$DFS_BUILDDIR/namenode/dfs-namenode" "$DFS_BUILDDIR/datanode/dfs-datanode" "$DFS"; do
		[ -x "$p" ] || fail "$p is not built"
	done
}

# setup: temp dir and trap. Called by cluster_up, or alone.
setup() {
	[ -n "$T" ] && return 0
	T=$(mktemp -d "${TMPDIR:-/tmp}/dfs-$TEST_NAME.XXXXXX") || fail "mktemp"
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	log "temp dir $T, seed=$SEED"
}

# cluster_up [dfs-cluster options]: starts namenode + datanodes (3 by default)
# with short failure-detection times, and exports DFS_CONF.
cluster_up() {
	need_built
	setup
	CLUSTER=$T/cluster
	local out
	# one namenode unless the test asks for a group (--namenodes N)
	out=$("$DFS_CLUSTER" up --dir "$CLUSTER" --namenodes 1 \
		--set-nn datanode_dead_ms=3000 --set-nn replication_check_ms=500 \
		--set-dn heartbeat_ms=300 "$@" 2>&1) || {
		printf '%s\n' "$out"
		fail "dfs-cluster up failed"
	}
	export DFS_CONF=$CLUSTER/dfs.conf
	log "cluster up: namenodes $(grep -h . "$CLUSTER"/ports/n*.port | xargs)"
}

# dn_pid I / dn_addr I: PID and host:port of datanode I (1-based).
dn_pid() { cat "$CLUSTER/pids/dn$1.pid"; }
dn_addr() { cat "$CLUSTER/ports/dn$1.port"; }
nn_pid() { cat "$CLUSTER/pids/namenode.pid"; }
nn_addr() { cat "$CLUSTER/ports/namenode.port"; }

# pid_alive PID: running and not a zombie (a zombie still answers kill -0).
pid_alive() {
	local state
	state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# all_alive: every daemon of the cluster is still running.
all_alive() {
	local f
	for f in "$CLUSTER"/pids/*.pid; do
		pid_alive "$(cat "$f")" || return 1
	done
}

# dn_onto_tmpfs I SIZE: restarts datanode I with its data dir (VERSION too:
# the same uuid) on a new tmpfs of SIZE, for tests of a full disk. Skips
# (77) without root or where no tmpfs can be mounted; cleanup unmounts it.
# Sets DN_TMPFS (the new data dir) and DN_TMPFS_PID.
dn_onto_tmpfs() {
	local i=$1 dir=$T/tmpfs-dn$1
	[ "$(id -u)" = 0 ] || skip "mounting a tmpfs needs root"
	mkdir -p "$dir"
	mount -t tmpfs -o "size=$2" "dfs-test-$TEST_NAME" "$dir" 2>/dev/null ||
		skip "cannot mount a tmpfs here"
	TEST_TMPFS+=("$dir")
	kill_dn "$i"
	cp -a "$CLUSTER/dn$i/data/." "$dir/"
	rm -f "$CLUSTER/ports/dn$i.port"
	"$DFS_BUILDDIR/datanode/dfs-datanode" -c "$CLUSTER/dn$i/datanode.conf" -s port=0 \
		-s "data_dirs=$dir" --port-file "$CLUSTER/ports/dn$i.port" \
		>>"$CLUSTER/logs/dn$i.log" 2>&1 &
	DN_TMPFS_PID=$!
	DN_TMPFS=$dir
	TEST_PIDS+=("$DN_TMPFS_PID")
	echo "$DN_TMPFS_PID" >"$CLUSTER/pids/dn$i.pid"
	wait_until 30 test -s "$CLUSTER/ports/dn$i.port" || fail "datanode $i did not restart"
}

# kill_dn I: SIGKILLs datanode I and waits for it to be gone.
kill_dn() {
	local pid
	pid=$(dn_pid "$1")
	kill -KILL "$pid" || fail "kill datanode $1"
	wait_until 10 eval "! pid_alive $pid" || fail "datanode $1 (pid $pid) survived SIGKILL"
}
