#!/bin/bash
# test-write-faults: writes of files around the fan-out limit (256 KiB: a
# new block written whole by one packet goes to its three datanodes at once,
# libdfs/block_writer.c; larger ones go down a chain) must come back byte
# for byte with 3 replicas. With a datanode SIGKILLed, and then one
# SIGSTOPped, while the namenode still lists it, every put must recover its
# pipeline without that datanode (connect refused; no ack, which the node
# just above the frozen one in a chain reports) and the files must be whole;
# once the datanodes are back, every block returns to 3 replicas.
. "$(dirname "$0")/lib.sh"

# the killed datanode stays a target: the namenode would drop it after 3 s
cluster_up --datanodes 3 --replication 3 --set-nn datanode_dead_ms=60000
echo "pipeline_ack_timeout_ms = 4s" >>"$DFS_CONF"

SIZES="1 4096 65536 262143 262144 262145 1048576"

# put_files TAG: one file per size, each from its own seed.
put_files() {
	local tag=$1 s i=0
	for s in $SIZES; do
		i=$((i + 1))
		gen_data "$((SEED + i))" "$s" >"$T/$tag.$s"
		"$DFS" -v put "$T/$tag.$s" "/$tag.$s" 2>"$T/$tag.$s.err" || {
			cat "$T/$tag.$s.err" >&2
			fail "put of $s bytes ($tag) failed"
		}
	done
}

# check_files TAG: every file of TAG reads back byte for byte.
check_files() {
	local tag=$1 s
	for s in $SIZES; do
		rm -f "$T/$tag.$s.back"
		check "$DFS" get "/$tag.$s" "$T/$tag.$s.back"
		expect_eq "sha256 of $s bytes ($tag)" "$(sha "$T/$tag.$s")" "$(sha "$T/$tag.$s.back")"
	done
}

# expect_recovered TAG: every put of TAG recovered its pipeline.
expect_recovered() {
	local tag=$1 s
	for s in $SIZES; do
		grep -q "pipeline recovered" "$T/$tag.$s.err" || {
			cat "$T/$tag.$s.err" >&2
			fail "put of $s bytes ($tag) never recovered its pipeline"
		}
	done
}

# replicas PATH: the number of distinct datanodes holding its one block.
replicas() {
	"$DFS" blocks "$1" | grep -oE '([0-9]{1,3}\.){3}[0-9]{1,3}:[0-9]+' | sort -u | wc -l
}

all_replicated() {
	local tag s
	for tag in healthy killed frozen; do
		for s in $SIZES; do
			[ "$(replicas "/$tag.$s")" = 3 ] || return 1
		done
	done
}

put_files healthy
check_files healthy
for s in $SIZES; do
	expect_eq "replicas of $s bytes right after the put" 3 "$(replicas "/healthy.$s")"
done
log "healthy: every size written with 3 replicas"

kill_dn 2
log "SIGKILLed datanode 2 ($(dn_addr 2)), still listed by the namenode"
put_files killed
expect_recovered killed
check_files killed
log "killed: every put recovered without datanode 2"

# A frozen datanode is found by the ack that never comes: fan-out knows
# whose ack it waits for; in a chain each node waits a step less than the
# one above it (WriteBlockHeader.ack_timeout_ms), so the node just above
# the frozen one reports it and the client drops that one, not its first.
check "$DFS_CLUSTER" start dn2 --dir "$CLUSTER"
check "$DFS_CLUSTER" stop dn3 --dir "$CLUSTER"
log "restarted datanode 2, froze datanode 3 ($(dn_addr 3))"
put_files frozen
check "$DFS_CLUSTER" cont dn3 --dir "$CLUSTER"
expect_recovered frozen
check_files frozen
log "frozen: every put recovered after its ack timeout"

wait_until 90 all_replicated || {
	for tag in healthy killed frozen; do
		for s in $SIZES; do
			[ "$(replicas "/$tag.$s")" = 3 ] || "$DFS" blocks "/$tag.$s"
		done
	done
	fail "blocks not back at 3 replicas 90 s after the datanodes returned"
}
check_files killed
log PASS
