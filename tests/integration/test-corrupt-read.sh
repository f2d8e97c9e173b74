#!/bin/bash
# test-corrupt-read: flip one byte of a replica on disk. `dfs get` must
# still return the right bytes (the reader fails over to another replica)
# and report the bad one; within a bounded time the namenode must have
# replaced it: every listed replica good, 3 of them, the bad copy gone.
# The block scanner is off here: only the reader can find the damage.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-durability.sh"

BS=4194304
cluster_up --datanodes 4 --replication 3 --block-size 4M --set-dn scan_bytes_per_s=0
gen_data "$SEED" 12M >"$T/src"
check "$DFS" put "$T/src" /f
wait_until 30 replicas_good /f 1 "$T/src" $BS 3 || fail "block 1 not written to 3 replicas"

line=$(block_line /f 1)
id=$(block_id /f 1)
victim=$(addrs_of "$line" | head -n1) # the reader's first choice
vi=$(dn_of_addr "$victim") || fail "replica $victim is none of our datanodes"
f=$(replica_file "$vi" "$id")
[ -n "$f" ] || fail "no file of block $id on datanode $vi"
flip_byte "$f" 123457
log "flipped a byte of $f (block $id on datanode $vi, $victim)"

t0=$SECONDS
check "$DFS" -v get /f "$T/back"
expect_eq "sha256 read around a corrupt replica" "$(sha "$T/src")" "$(sha "$T/back")"
head -c $((2 * BS)) "$T/src" | tail -c $BS >"$T/good"
wait_until 60 eval 'replicas_good /f 1 "$T/src" $BS 3 && no_bad_copy $vi $id "$T/good"' || {
	"$DFS" blocks /f
	fail "corrupt replica of block $id not replaced 60s after the read"
}
log "healed: corrupt replica replaced $((SECONDS - t0))s after the read"
check "$DFS" get /f "$T/back2"
expect_eq "sha256 after healing" "$(sha "$T/src")" "$(sha "$T/back2")"
log PASS
