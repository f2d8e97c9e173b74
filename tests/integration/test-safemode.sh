#!/bin/bash
# test-safemode: restart the whole cluster. The restarted namenode starts in
# safe mode and holds back every COPY and DELETE until the datanodes have
# reported (here: all three datanodes, safemode_min_datanodes=3, then a
# 1.5 s extension); no replica is deleted by mistake (block files on disk
# are counted before and after). Then manual enter/leave: namespace
# changes are refused while in manual safe mode.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/heal-lib.sh"

NDN=3
SETS=(--datanodes $NDN --replication 2 --block-size 1M --set-nn safemode_min_datanodes=3
	--set-nn safemode_extension_ms=1500)
cluster_up "${SETS[@]}"
gen_data "$SEED" 5M >"$T/src"
check dfs put "$T/src" /f
check dfs put "$T/src" /g
wait_until 30 fsck_clean || { dfs fsck /; fail "not healthy after the writes"; }
before=$(block_files)
log "block files before the restart: $before"

"$DFS_CLUSTER" down --dir "$CLUSTER" >/dev/null 2>&1 || fail "dfs-cluster down"
nnlog=$CLUSTER/logs/namenode.log
start_line=$(($(wc -l <"$nnlog") + 1))
out=$("$DFS_CLUSTER" up --dir "$CLUSTER" "${SETS[@]}" \
	--set-nn datanode_dead_ms=3000 --set-nn replication_check_ms=500 \
	--set-dn heartbeat_ms=300 2>&1) || { printf '%s\n' "$out"; fail "restart failed"; }
off() { dfs admin safemode get | grep -q 'Safe mode is OFF'; }
wait_until 60 off || fail "safe mode still on: $(dfs admin safemode get)"
log "after restart: $(dfs admin safemode get)"
run=$(tail -n +"$start_line" "$nnlog")
grep -q 'safe mode ON' <<<"$run" || fail "no 'safe mode ON' in the namenode log"
on_to_off=$(sed -n '/safe mode ON/,/safe mode OFF/p' <<<"$run")
grep -q 'safe mode OFF' <<<"$on_to_off" || fail "no 'safe mode OFF' in the log"
if grep -E 'copy from|deleting' <<<"$on_to_off"; then
	fail "copies or deletions ordered during safe mode"
fi
wait_until 30 fsck_clean || { dfs fsck /; fail "not healthy after the restart"; }
after=$(block_files)
expect_eq "block files on disk after the restart" "$before" "$after"

check dfs admin safemode enter
dfs admin safemode get | grep -q 'Safe mode is ON (manual)' || fail "manual safe mode not on"
expect_fail 'safe mode' dfs mkdir /d
expect_fail 'safe mode' dfs rm /f
check dfs cat /f >/dev/null
check dfs admin safemode leave
off || fail "safe mode not off after leave"
check dfs mkdir /d
check dfs get /g "$T/back"
expect_eq "sha256 after the restart" "$(sha "$T/src")" "$(sha "$T/back")"
log PASS
