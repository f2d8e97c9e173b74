#!/bin/bash
# test-raft-membership: while clients create files, a fourth namenode is
# started with --join and added as a voter (dfs admin raft add), then one
# of the first three followers is removed (dfs admin raft remove) and
# killed; the writes go on and every acknowledged create is there.
# (test-raft-membership-leader.sh moves the leadership to the new node.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/raft-lib.sh"

raft_up
writer_start -t 4
wait_until 30 acked_at_least 200 || fail "no progress: $(acked) acked"

out=$("$DFS_CLUSTER" add-namenode --dir "$CLUSTER" 2>&1) || fail "add-namenode: $out"
read -r id addr <<<"$(tail -n 1 <<<"$out")"
log "started nn$id at $addr"
check "$DFS" admin raft add "$id" "$addr"
target=$(leader_applied)
wait_until 30 caught_up "$id" "$target" || fail "nn$id did not catch up: $(raft_status)"
expect_eq "nn$id is a voter" 1 "$(member_field "$id" voter)"
expect_eq "voters" 4 "$(raft_status | grep -c 'voter=1')"
log "nn$id is a voter, $(acked) acked"

ldr=$(leader_id)
gone=$(awk -v l="$ldr" -v n="$id" '$1 != l && $1 != n {print $1; exit}' "$CLUSTER/nn-peers")
n0=$(acked)
check "$DFS" admin raft remove "$gone"
wait_until 30 acked_at_least $((n0 + 200)) || fail "writes did not go on after the removal"
expect_eq "leader after removing a follower" "$ldr" "$(leader_id)"
dc kill "nn$gone"
n0=$(acked)
wait_until 30 acked_at_least $((n0 + 100)) || fail "writes stopped when nn$gone died"
expect_eq "voters after removal" 3 "$(raft_status | grep -c 'voter=1')"
log "removed nn$gone, leader nn$(leader_id), $(acked) acked"
writer_stop
ledger_check
log PASS
