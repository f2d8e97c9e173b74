#!/bin/bash
# test-raft-unrecorded: the Raft leader hands out a writer's blocks without
# a log entry and the writer's COMPLETE records them (namenode/
# block_alloc.c). A file of 1 MiB blocks is streamed into `dfs put -`
# through a FIFO; while a block's stream is open the leader is SIGKILLed,
# so that block was handed out by the old leader and is recorded by a
# COMPLETE the new leader takes, after the datanodes reported it there.
# Then datanode 3 is killed while another block's stream is open: its
# pipeline recovers with NSF_UNRECORDED through the new leader. The file must read
# back whole and, once datanode 3 is back, every block have 3 good
# replicas: none was deleted as an orphan.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-durability.sh"
. "$(dirname "$0")/raft-lib.sh"

BS=1048576
NB=16
cluster_up --namenodes 3 --datanodes 3 --replication 3 --block-size 1M
gen_data "$SEED" $((NB * BS)) >"$T/src"
mkfifo "$T/fifo"
"$DFS" -v put - /f <"$T/fifo" >"$T/put.out" 2>&1 &
put_pid=$!
TEST_PIDS+=("$put_pid")
exec 3>"$T/fifo"
# part KB_FROM KB_COUNT: those KiB of the source into the put
part() { dd if="$T/src" bs=1024 skip="$1" count="$2" status=none >&3; }
# stream_open I: datanode I holds a whole block still being written (its
# stream open: the writer has not moved past it yet)
stream_open() {
	find "$CLUSTER/dn$1/data/rbw" -name 'blk_*[0-9]' -size 1024k 2>/dev/null | grep -q .
}

# `dfs put` reads 4 MiB at a time and 1 MiB blocks go as one packet
# each: blocks 0-2 are recorded (before the next block is handed out),
# block 3 is sent, its stream open and the block unrecorded
part 0 4096
wait_until 30 stream_open 1 || fail "block 3 was not sent"
old=$(leader_id)
[ -n "$old" ] || fail "no leader"
kill -KILL "$(nn_pid_of "$old")" || fail "kill nn$old"
log "killed leader nn$old while block 3 was handed out and unrecorded"
wait_until 30 has_leader_other_than "$old" || fail "no new leader after killing nn$old"
part 4096 4096
wait_until 30 stream_open 3 || fail "block 7 was not sent"
# every pipeline has datanode 3: block 7's stream, open and unrecorded,
# fails at its end and recovers through the new leader
kill_dn 3
log "killed datanode 3 while block 7's stream was open"
part 8192 $((NB * 1024 - 8192))
exec 3>&-
wait "$put_pid" || { cat "$T/put.out"; fail "dfs put failed"; }
grep -q "recovering the pipeline" "$T/put.out" || { cat "$T/put.out"; fail "no pipeline recovery"; }
log "put done: $(grep -c "recovering the pipeline" "$T/put.out") pipeline recovery(ies)"
dc start dn3

check "$DFS" get /f "$T/back"
expect_eq "sha256 of the file written across the failovers" "$(sha "$T/src")" "$(sha "$T/back")"
DURA_DATANODES=3
all_good() {
	local b
	for b in $(seq 0 $((NB - 1))); do replicas_good /f "$b" "$T/src" $BS 3 || return 1; done
}
wait_until 60 all_good || {
	"$DFS" blocks /f
	fail "blocks not back at 3 good replicas"
}
log PASS
