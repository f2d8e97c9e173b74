#!/bin/bash
# fuse-nn-loss: a dfs-fuse mount whose namenodes go away. With every
# namenode of the group SIGKILLed, each kind of call through the mount
# (stat of an uncached name, ls, create, reading blocks an open file has
# not located yet, open, a buffered write whose close must reach the
# namenode) fails with EIO or ENOTCONN within the mount's retry bound
# (rpc_timeout_ms / retry_total_ms) plus slack, dfs-fuse logs a line
# naming each failed operation, and the mount stays mounted and answering.
# With the namenodes frozen (SIGSTOP: connections open, nobody replies) a
# call fails the same way. Once the namenodes are back (same dirs, same
# ports) the same mount works again: old data reads back byte-identical,
# new files can be written. Finally a mount whose namenodes are gone
# unmounts within a bound.
#
# The time bounds are hang checks, not speed checks: each is the retry
# bound plus 20 s of slack.
. "$(dirname "$0")/lib.sh"
. "$DFS_SRCDIR/tests/fuse/lib-fuse.sh"

RPC_MS=1000
RETRY_MS=3000
# One request gives up after retry_total_ms plus the attempt under way
# (rpc_timeout_ms to connect, rpc_timeout_ms for the reply); a program may
# make two calls that each wait (touch: open, then utimensat).
BOUND_S=$(((2 * (RETRY_MS + 2 * RPC_MS) + 999) / 1000 + 20))
HANG_S=$((BOUND_S + 30)) # timeout(1) of each call: only a hang reaches it
ERRNO_RE='Input/output error|Transport endpoint is not connected'

fuse_setup
cluster_up --namenodes 3 --datanodes 3 --replication 2 --block-size 1M
# lib-fuse.sh mounts with -o namenodes=$(nn_addr), the single namenode's:
# give the group's list (dfs-fuse takes "a:1,b:2,c:3" although libfuse
# cuts -o lists at commas).
nn_addr() { sed -n 's/^namenodes = //p' "$CLUSTER/dfs.conf"; }
nn_ids() { awk '{print $1}' "$CLUSTER/nn-peers"; }
nn_pid_of() { cat "$CLUSTER/pids/nn$1.pid"; }

# now_ms: monotonic enough for elapsed times of seconds.
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# The line dfs-fuse logs for an operation that failed for want of a
# namenode: "WARN: lookup(1, keep): namenodes unreachable (Connection
# refused); replying Input/output error".
FAIL_LINE_RE='WARN: [a-z]+\([0-9]+(, [^)]*)?\): namenodes( or datanodes)? unreachable \(.+\); replying (Input/output error|Transport endpoint is not connected)$'

# expect_unreachable WHAT CMD...: CMD must fail with EIO or ENOTCONN (its
# stderr says which) within BOUND_S, and not hang; dfs-fuse must have
# logged why. Sets LAST_ERR and LAST_LOG (its new log lines).
LAST_ERR=
LAST_LOG=
expect_unreachable() {
	local what=$1 t0 rc ms lines
	shift
	lines=$(wc -l <"$FUSE_LOG")
	t0=$(now_ms)
	LAST_ERR=$(timeout -k 5 "$HANG_S" "$@" 2>&1 >/dev/null)
	rc=$?
	ms=$(($(now_ms) - t0))
	[ $rc -ne 124 ] && [ $rc -ne 137 ] || fail "$what hung: killed after ${HANG_S}s"
	[ $rc -ne 0 ] || fail "$what succeeded with no namenode"
	grep -qE "$ERRNO_RE" <<<"$LAST_ERR" ||
		fail "$what: expected EIO or ENOTCONN, got (exit $rc): $LAST_ERR"
	[ $ms -le $((BOUND_S * 1000)) ] || fail "$what took $ms ms (bound ${BOUND_S}s)"
	LAST_LOG=$(tail -n +$((lines + 1)) "$FUSE_LOG")
	grep -qE "$FAIL_LINE_RE" <<<"$LAST_LOG" ||
		fail "$what: dfs-fuse logged no line saying why: $LAST_LOG"
	log "$what failed after $ms ms: $LAST_ERR"
	log "  dfs-fuse: $(grep -E "$FAIL_LINE_RE" <<<"$LAST_LOG" | head -n 1 | cut -d' ' -f4-)"
}

# logged_last RE: one of the lines of the last failed call matches RE.
logged_last() {
	grep -qE -- "$1" <<<"$LAST_LOG" || fail "dfs-fuse logged no line matching /$1/: $LAST_LOG"
}

# Reads 1 MiB at 19 MiB from fd 7; writes a file to fd 8 and closes it,
# saying which of the two failed.
PREAD_FD7='import os; os.pread(7, 1 << 20, 19 << 20)'
WRITE_CLOSE_FD8='import os, sys
data = open(sys.argv[1], "rb").read()
try:
    os.write(8, data)
except OSError as e:
    sys.exit("write: " + e.strerror)
try:
    os.close(8)
except OSError as e:
    sys.exit("close: " + e.strerror)'

# mount_alive MNT PID: MNT still in the mount table, its dfs-fuse running.
mount_alive() {
	fuse_in_mountinfo "$1" || fail "$1 is no longer mounted"
	pid_alive "$2" || fail "dfs-fuse of $1 (pid $2) died"
}

kill_namenodes() {
	local i pids=()
	for i in $(nn_ids); do
		pids+=("$(nn_pid_of "$i")")
	done
	kill -KILL "${pids[@]}" || fail "kill namenodes ${pids[*]}"
	for i in "${pids[@]}"; do
		wait_until 10 eval "! pid_alive $i" || fail "namenode pid $i survived SIGKILL"
	done
	log "SIGKILLed every namenode (${pids[*]})"
}

start_namenodes() {
	local i
	for i in $(nn_ids); do
		"$DFS_CLUSTER" start "nn$i" --dir "$CLUSTER" >/dev/null || fail "dfs-cluster start nn$i"
	done
	log "namenodes started again"
}

# M: no kernel caches, so every stat, ls and create reaches dfs-fuse.
# C: attributes and names cached for an hour, so that reads and writes
# of open files reach dfs-fuse's read and write paths (with attributes
# that time out, the kernel would ask getattr first and fail there).
BOUNDS="rpc_timeout_ms=$RPC_MS,retry_total_ms=$RETRY_MS"
M=$T/mnt
fuse_mount "$M" -o "$BOUNDS,attr_timeout=0,entry_timeout=0,negative_timeout=0"
M_PID=$FUSE_PID M_LOG=$T/fuse-0.log
C=$T/mnt-cached
fuse_mount "$C" -o "$BOUNDS,attr_timeout=3600,entry_timeout=3600"
C_PID=$FUSE_PID C_LOG=$T/fuse-1.log

# The mount(8) helper with the namenode list as its source (the man page's
# "mount -t fuse.dfs nn1:8020,nn2:8020 /mnt/dfs").
H=$T/mnt-helper
mkdir -p "$H"
FUSE_MNTS+=("$H")
DFS_FUSE="$DFS_FUSE" timeout 60 "$DFS_SRCDIR/fuse/mount.fuse.dfs" "$(nn_addr)" "$H" \
	-o "_netdev,log_file=$T/fuse-helper.log" >"$T/helper.out" 2>&1 ||
	fail "mount.fuse.dfs $(nn_addr) failed: $(cat "$T/helper.out")"
check stat "$H/."
check timeout 30 fusermount3 -u "$H"
log "mounted and unmounted through mount.fuse.dfs $(nn_addr)"

# --- before: data written through the mount ---
gen_data "$SEED" 3500000 >"$T/keep"
gen_data "$SEED-big" $((24 * 1048576)) >"$T/big"
gen_data "$SEED-small" 100000 >"$T/small"
check timeout 120 cp "$T/keep" "$M/keep"
check timeout 120 cp "$T/big" "$M/big"
check mkdir "$M/d" "$M/w"
check touch "$M/d/a" "$M/d/b"
# Through C: an open reader that has located the first 16 blocks only
# (1 MiB blocks), an open writer with nothing written (in w/: a create
# makes the kernel ask for its directory's attributes again), and keep
# looked up and held open, so that its name stays cached (an unused
# entry may be reclaimed, and then an open starts with a lookup).
exec 7<"$C/big"
check timeout 60 dd bs=64k count=1 status=none of=/dev/null <&7
exec 8>"$C/w/wfile"
exec 6<"$C/keep"

# --- every namenode SIGKILLed: each call fails in bounded time ---
kill_namenodes
FUSE_LOG=$M_LOG
expect_unreachable "stat of an uncached name" stat "$M/keep"
expect_unreachable "ls" ls -l "$M/d"
expect_unreachable "create" touch "$M/newfile"
FUSE_LOG=$C_LOG
# (python: dd and most tools fstat their files first, which asks getattr,
# because the kernel marks atime stale after every read)
expect_unreachable "read of blocks not located yet" python3 -c "$PREAD_FD7"
logged_last 'WARN: read\([0-9]+\): namenodes or datanodes unreachable'
expect_unreachable "open" cat "$C/keep"
logged_last 'WARN: open\([0-9]+\): namenodes unreachable'
exec 6<&-
# 100 kB fit in dfs-fuse's write buffer: the write succeeds, the close
# (FUSE flush) needs the namenode and must report the failure.
expect_unreachable "write then close" python3 -c "$WRITE_CLOSE_FD8" "$T/small"
# Every process that inherited fd 8 flushes it when it exits (each time
# EIO at once, the handle's write failed): no more of those.
{ exec 8>&-; } 2>/dev/null
grep -q "^close: " <<<"$LAST_ERR" || fail "the failure did not come from close(2): $LAST_ERR"
logged_last 'WARN: flush\([0-9]+\): namenodes or datanodes unreachable'
logged_last 'WARN: libdfs: [A-Z_]+: namenodes unreachable for [0-9]+ ms'
mount_alive "$M" "$M_PID"
mount_alive "$C" "$C_PID"

# --- the namenodes come back: the same mounts work again ---
start_namenodes
wait_until 90 stat "$M/keep" || fail "the mount did not recover after the namenodes restarted"
mount_alive "$M" "$M_PID"
mount_alive "$C" "$C_PID"
expect_eq "sha256 of a file written before the outage" "$(sha "$T/keep")" \
	"$(timeout 120 sha256sum <"$M/keep" | cut -d' ' -f1)"
expect_eq "sha256 through the other mount" "$(sha "$T/keep")" \
	"$(timeout 120 sha256sum <"$C/keep" | cut -d' ' -f1)"
expect_eq "the open reader reads the blocks it could not before" \
	"$(tail -c +$((19 * 1048576 + 1)) "$T/big" | head -c 1048576 | sha256sum)" \
	"$(timeout 60 python3 -c 'import os, sys
sys.stdout.buffer.write(os.pread(7, 1 << 20, 19 << 20))' | sha256sum)"
exec 7<&-
gen_data "$SEED-after" 2500000 >"$T/after"
check timeout 120 cp "$T/after" "$M/after"
expect_eq "sha256 of a file written after the outage" "$(sha "$T/after")" \
	"$(timeout 120 sha256sum <"$M/after" | cut -d' ' -f1)"
check timeout 120 cp "$T/after" "$C/after-c"
check timeout 60 "$DFS" get /after-c "$T/after.cli"
expect_eq "the CLI reads a file written after the outage" "$(sha "$T/after")" \
	"$(sha "$T/after.cli")"
log "both mounts work again: old files intact, new files written"

# --- frozen namenodes (accept, never reply): bounded by rpc_timeout_ms ---
for i in $(nn_ids); do
	"$DFS_CLUSTER" stop "nn$i" --dir "$CLUSTER" >/dev/null || fail "dfs-cluster stop nn$i"
done
log "SIGSTOPped every namenode"
FUSE_LOG=$M_LOG
expect_unreachable "stat with frozen namenodes" stat "$M/keep"
expect_unreachable "create with frozen namenodes" touch "$M/frozen"
mount_alive "$M" "$M_PID"
for i in $(nn_ids); do
	"$DFS_CLUSTER" cont "nn$i" --dir "$CLUSTER" >/dev/null || fail "dfs-cluster cont nn$i"
done
wait_until 90 stat "$M/keep" || fail "the mount did not recover after the namenodes thawed"
check timeout 60 touch "$M/thawed"
log "the mount works again after the thaw"

# --- unmounting mounts whose namenodes are gone ---
kill_namenodes
for m in "$M:$M_PID" "$C:$C_PID"; do
	t0=$(now_ms)
	timeout -k 5 "$HANG_S" fusermount3 -u "${m%:*}" || fail "fusermount3 -u ${m%:*} failed"
	wait_until "$BOUND_S" eval "! pid_alive ${m##*:}" ||
		fail "dfs-fuse still running ${BOUND_S}s after unmounting ${m%:*}"
	! fuse_in_mountinfo "${m%:*}" || fail "${m%:*} still mounted"
	log "unmounted ${m%:*} with no namenode in $(($(now_ms) - t0)) ms"
done
log PASS
