#!/bin/bash
# test-journal-replay: small files are acked once their replicas are in each
# datanode's journal, before the replicas' own files are synced. Datanode 1
# is SIGKILLed right after the writes and every replica file it holds is
# deleted, which is what a power cut does to files never synced. On
# restart it must replay its journal (log line with the count) and serve
# every file alone, byte for byte, with the other two datanodes killed.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-durability.sh"

NFILES=24
cluster_up --datanodes 3 --replication 3
for i in $(seq 1 $NFILES); do
	gen_data $((SEED + i)) $((i * 4099)) >"$T/src$i"
done
# one put per file: each is its own create stream with a last packet
for i in $(seq 1 $NFILES); do
	check "$DFS" put "$T/src$i" "/f$i"
done
all_listed() {
	local i
	for i in $(seq 1 $NFILES); do
		[ "$(addrs_of "$(block_line "/f$i" 0)" | sort -u | wc -l)" -eq 3 ] || return 1
	done
}
wait_until 30 all_listed || fail "files not listed with 3 replicas"

kill_dn 1
n=$(find "$CLUSTER/dn1/data/current" -type f -name 'blk_*' | wc -l)
[ "$n" -eq $((2 * NFILES)) ] || fail "datanode 1 holds $n replica files, expected $((2 * NFILES))"
find "$CLUSTER/dn1/data/current" -type f -name 'blk_*' -delete
log "datanode 1 killed, its $n replica files deleted"

check "$DFS_CLUSTER" start dn1 --dir "$CLUSTER"
wait_until 30 grep -q "replayed $NFILES journaled replicas" "$CLUSTER/logs/dn1.log" ||
	fail "datanode 1 did not replay its $NFILES journaled replicas"
n=$(find "$CLUSTER/dn1/data/current" -type f -name 'blk_*' | wc -l)
[ "$n" -eq $((2 * NFILES)) ] || fail "after the replay datanode 1 holds $n replica files"

# datanode 1 alone must now serve every file
wait_until 30 eval '"$DFS" admin report 2>/dev/null | grep -qE "^total .* live=3"' ||
	fail "datanode 1 did not come back"
kill_dn 2
kill_dn 3
for i in $(seq 1 $NFILES); do
	check "$DFS" get "/f$i" "$T/back$i"
	expect_eq "sha256 of /f$i from datanode 1 alone" "$(sha "$T/src$i")" "$(sha "$T/back$i")"
done
log PASS
