#!/bin/bash
# test-scanner: flip one byte of a replica on disk and read nothing: the
# datanode's block scanner (fast here) must find it, stop serving it and
# report it; within a bounded time the namenode must have replaced it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-durability.sh"

BS=4194304
cluster_up --datanodes 4 --replication 3 --block-size 4M \
	--set-dn scan_bytes_per_s=64M --set-dn scan_period_ms=300
gen_data "$SEED" 12M >"$T/src"
check "$DFS" put "$T/src" /f
wait_until 30 replicas_good /f 2 "$T/src" $BS 3 || fail "block 2 not written to 3 replicas"

line=$(block_line /f 2)
id=$(block_id /f 2)
victim=$(addrs_of "$line" | sed -n 2p)
vi=$(dn_of_addr "$victim") || fail "replica $victim is none of our datanodes"
f=$(replica_file "$vi" "$id")
[ -n "$f" ] || fail "no file of block $id on datanode $vi"
flip_byte "$f" 4000000
log "flipped a byte of $f (block $id on datanode $vi, $victim)"
t0=$SECONDS
found() { grep -q "blk_$id genstamp .* is corrupt (scanner)" "$CLUSTER/logs/dn$vi.log"; }
wait_until 30 found || fail "the scanner of datanode $vi did not find the corrupt replica"
log "scanner found it after $((SECONDS - t0))s"
head -c $((3 * BS)) "$T/src" | tail -c $BS >"$T/good"
wait_until 60 eval 'replicas_good /f 2 "$T/src" $BS 3 && no_bad_copy $vi $id "$T/good"' || {
	"$DFS" blocks /f
	fail "corrupt replica of block $id not replaced 60s after the scanner found it"
}
log "healed: corrupt replica replaced $((SECONDS - t0))s after the damage"
check "$DFS" get /f "$T/back"
expect_eq "sha256 after healing" "$(sha "$T/src")" "$(sha "$T/back")"
log PASS
