#!/bin/bash
# test-heal-dead-dn: four datanodes, replication 3; one datanode is killed
# for good. Every block must be back at three good replicas on live
# datanodes within a bound, `dfs fsck /` must then say HEALTHY (exit 0),
# and the data must read back intact. Prints the measured heal time.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/heal-lib.sh"

NDN=4
cluster_up --datanodes $NDN --replication 3 --block-size 1M --set-nn safemode_extension_ms=200
gen_data "$SEED" 12M >"$T/src"
check dfs put "$T/src" /f
wait_until 30 fsck_clean || { dfs fsck /; fail "not healthy after the write"; }

victim=$(dfs blocks /f | head -n1 | grep -oE '([0-9]{1,3}\.){3}[0-9]{1,3}:[0-9]+' | tail -n1)
vi=$(dn_index "$victim") || fail "replica $victim is none of our datanodes"
log "SIGKILL datanode $vi ($victim)"
t0=$(now_ms)
kill_dn "$vi"
wait_until 30 dn_is "$victim" dead || fail "datanode $vi not declared dead"
t1=$(now_ms)
healed() { replicas_elsewhere /f 3 "$victim" && fsck_clean; }
wait_until 60 healed || {
	dfs fsck -v /
	dfs admin report
	fail "blocks not back at 3 live replicas 60s after datanode $vi was declared dead"
}
t2=$(now_ms)
log "heal time: $((t2 - t1)) ms after the dead declaration, $((t2 - t0)) ms after the kill" \
	"(12 blocks, datanode_dead_ms=3000)"
out=$(dfs fsck /) || fail "fsck exit status $? on a healthy cluster: $out"
grep -qx 'Status: HEALTHY' <<<"$out" || fail "fsck: $out"
check dfs get /f "$T/back"
expect_eq "sha256 after healing" "$(sha "$T/src")" "$(sha "$T/back")"
log PASS
