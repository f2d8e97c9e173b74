#!/bin/bash
# test-heal-two-dead: five datanodes, replication 3. Two of the three
# datanodes holding a block die while the namenode is held in manual safe
# mode (so no copy can race the checks): reads still work from the last
# replica, fsck reports the blocks UNDER-REPLICATED (exit 0: no data is
# lost) and mutations are refused. After `safemode leave` the namenode
# heals everything from the single survivors and fsck says HEALTHY.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/heal-lib.sh"

NDN=5
cluster_up --datanodes $NDN --replication 3 --block-size 1M --set-nn safemode_extension_ms=200
gen_data "$SEED" 6M >"$T/src"
check dfs put "$T/src" /f
wait_until 30 fsck_clean || { dfs fsck /; fail "not healthy after the write"; }

mapfile -t reps < <(dfs blocks /f | head -n1 | grep -oE '([0-9]{1,3}\.){3}[0-9]{1,3}:[0-9]+')
[ ${#reps[@]} = 3 ] || fail "block 0 has ${#reps[@]} replicas, expected 3"
check dfs admin safemode enter
dfs admin safemode get | grep -q 'Safe mode is ON (manual)' || fail "safemode get: $(dfs admin safemode get)"
expect_fail 'safe mode' dfs mkdir /refused
for a in "${reps[0]}" "${reps[1]}"; do
	i=$(dn_index "$a") || fail "$a is none of ours"
	log "SIGKILL datanode $i ($a)"
	kill_dn "$i"
done
check dfs get /f "$T/back1"
expect_eq "sha256 with two replicas dead" "$(sha "$T/src")" "$(sha "$T/back1")"
wait_until 30 dn_is "${reps[0]}" dead || fail "not declared dead"
wait_until 30 dn_is "${reps[1]}" dead || fail "not declared dead"
out=$(dfs fsck /) || fail "fsck failed (exit $?) with every block still readable: $out"
grep -q "/f: block=0 .* UNDER-REPLICATED good=1/3" <<<"$out" || fail "fsck did not see it: $out"
grep -qx 'Status: HEALTHY' <<<"$out" || fail "fsck: $out"
t0=$(now_ms)
check dfs admin safemode leave
healed() { replicas_elsewhere /f 3 "${reps[0]}" "${reps[1]}" && fsck_clean; }
wait_until 60 healed || { dfs fsck -v /; fail "not healed 60s after leaving safe mode"; }
log "heal time from one replica left: $(($(now_ms) - t0)) ms (6 blocks)"
check dfs mkdir /allowed
check dfs get /f "$T/back2"
expect_eq "sha256 after healing" "$(sha "$T/src")" "$(sha "$T/back2")"
log PASS
