#!/bin/bash
# test-disk-fail: datanode 1 gets a second data dir; once it holds replicas
# there, that dir's current/ is replaced by a plain file (a dead disk: we
# run as root, so chmod would not do). The datanode must take the dir out
# of service (WARN naming it), keep serving from the other, report the
# lost replicas so that every block is back at 3 good replicas. Then the
# last dir fails too: below min_data_dirs the datanode exits with an error.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-durability.sh"

BS=1048576
NB=24
cluster_up --datanodes 4 --replication 3 --block-size 1M \
	--set-dn disk_check_ms=300 --set-dn scan_bytes_per_s=0
dn1_live() { "$DFS" admin report 2>/dev/null | grep -qE "^total .* live=4"; }

# datanode 1 restarts with data dirs data,data2 (started here: dfs-cluster
# would rewrite its config)
kill_dn 1
rm -f "$CLUSTER/ports/dn1.port"
"$DFS_BUILDDIR/datanode/dfs-datanode" -c "$CLUSTER/dn1/datanode.conf" -s port=0 \
	-s "data_dirs=$CLUSTER/dn1/data,$CLUSTER/dn1/data2" \
	--port-file "$CLUSTER/ports/dn1.port" >>"$CLUSTER/logs/dn1.log" 2>&1 &
TEST_PIDS+=($!)
echo $! >"$CLUSTER/pids/dn1.pid"
wait_until 30 test -s "$CLUSTER/ports/dn1.port" || fail "datanode 1 did not restart"
wait_until 30 dn1_live || fail "datanode 1 did not come back"

gen_data "$SEED" $((NB * BS)) >"$T/src"
check "$DFS" put "$T/src" /f
all_good() {
	local b
	for b in $(seq 0 $((NB - 1))); do replicas_good /f "$b" "$T/src" $BS 3 || return 1; done
}
wait_until 30 all_good || fail "the file was not written with 3 good replicas per block"
n2=$(find "$CLUSTER/dn1/data2/current" -name 'blk_*[0-9]' | wc -l)
[ "$n2" -gt 0 ] || fail "datanode 1 put no replica in its second dir"
log "datanode 1 holds $n2 replicas in data2; its current/ becomes a file"

t0=$SECONDS
rm -rf "$CLUSTER/dn1/data2/current"
touch "$CLUSTER/dn1/data2/current"
wait_until 20 grep -q "data dir $CLUSTER/dn1/data2 failed" "$CLUSTER/logs/dn1.log" ||
	fail "datanode 1 did not notice its failed dir"
log "dir failure detected after $((SECONDS - t0))s"
pid_alive "$(dn_pid 1)" || fail "datanode 1 died with one dir left"
wait_until 60 all_good || {
	"$DFS" blocks /f
	fail "blocks not back at 3 good replicas 60s after the dir failed"
}
log "healed: every block at 3 good replicas $((SECONDS - t0))s after the dir failed"
check "$DFS" get /f "$T/back"
expect_eq "sha256 after a failed dir" "$(sha "$T/src")" "$(sha "$T/back")"

# the last dir goes too: datanode 1 must stop, saying why
rm -rf "$CLUSTER/dn1/data/current"
touch "$CLUSTER/dn1/data/current"
pid=$(dn_pid 1)
wait_until 20 eval "! pid_alive $pid" || fail "datanode 1 runs on with no data dir"
grep -q "min_data_dirs" "$CLUSTER/logs/dn1.log" || fail "datanode 1 exit not explained"
check "$DFS" get /f "$T/back2"
expect_eq "sha256 with datanode 1 gone" "$(sha "$T/src")" "$(sha "$T/back2")"
log PASS
