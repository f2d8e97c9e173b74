#!/bin/bash
# test-decommission: decommission a datanode (by host:port) while a writer
# keeps adding files. The datanode must become `decommissioned`, get no new
# replicas, and afterwards every block must have its three replicas on the
# other datanodes: switching it off leaves nothing under-replicated.
# Recommission puts it back to `live`.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/heal-lib.sh"

NDN=5
cluster_up --datanodes $NDN --replication 3 --block-size 1M --set-nn safemode_extension_ms=200
gen_data "$SEED" 8M >"$T/src"
check dfs put "$T/src" /base
check dfs mkdir /load
(
	i=0
	while [ $i -lt 200 ] && [ ! -e "$T/stop" ]; do
		"$DFS" put "$T/src" "/load/f$i" >/dev/null 2>&1 || exit 1
		i=$((i + 1))
	done
) &
writer=$!
TEST_PIDS+=("$writer")

victim=$(dfs blocks /base | head -n1 | grep -oE '([0-9]{1,3}\.){3}[0-9]{1,3}:[0-9]+' | head -n1)
vi=$(dn_index "$victim") || fail "replica $victim is none of ours"
t0=$(now_ms)
check dfs admin decommission "$victim"
leaving() { dn_is "$victim" decommissioning || dn_is "$victim" decommissioned; }
wait_until 10 leaving || fail "state after decommission: $(dn_state "$victim")"
wait_until 90 dn_is "$victim" decommissioned || {
	dfs admin report
	fail "datanode $vi not decommissioned after 90s"
}
log "decommissioned in $(($(now_ms) - t0)) ms under a write load"
touch "$T/stop"
wait "$writer" || fail "the writer failed"
all_elsewhere() {
	local f
	for f in /base $(dfs ls /load | grep -oE '/load/f[0-9]+'); do
		replicas_elsewhere "$f" 3 "$victim" || return 1
	done
}
wait_until 60 all_elsewhere || { dfs fsck -v /; fail "blocks without 3 replicas elsewhere"; }
kill_dn "$vi"
wait_until 30 dn_is "$victim" decommissioned || fail "state: $(dn_state "$victim")"
out=$(dfs fsck /) || fail "fsck after switching it off: $out"
grep -qx 'Under-replicated blocks: 0' <<<"$out" || fail "under-replicated: $out"
check dfs get /base "$T/back"
expect_eq "sha256 without the decommissioned datanode" "$(sha "$T/src")" "$(sha "$T/back")"
check dfs admin recommission "$(dfs admin report | grep -F "datanode=$victim " |
	grep -oE 'uuid=[^ ]+' | cut -d= -f2)"
expect_fail 'No such' dfs admin decommission 127.0.0.1:1
log PASS
