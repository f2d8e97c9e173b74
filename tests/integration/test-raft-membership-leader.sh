#!/bin/bash
# test-raft-membership-leader: while clients create files, a fourth
# namenode is started with --join and added as a voter, leadership is
# handed to it (dfs admin raft transfer), and the old leader is removed:
# it steps down, the writes go on under the new node, and every
# acknowledged create is there. The clients were configured before the new
# node existed: they must follow the NOT_LEADER hint to an address that is
# not in their namenodes list.
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

gone=$(leader_id)
check "$DFS" admin raft transfer "$id"
expect_eq "leader after transfer" "$id" "$(leader_id)"
n0=$(acked)
wait_until 30 acked_at_least $((n0 + 200)) || fail "writes did not go on under nn$id"
n0=$(acked)
check "$DFS" admin raft remove "$gone"
wait_until 30 has_leader_other_than "$gone" || fail "no leader after removing nn$gone"
wait_until 30 acked_at_least $((n0 + 200)) || fail "writes did not go on after the removal"
dc kill "nn$gone"
n0=$(acked)
wait_until 30 acked_at_least $((n0 + 100)) || fail "writes stopped when nn$gone died"
expect_eq "voters after removal" 3 "$(raft_status | grep -c 'voter=1')"
log "removed nn$gone, leader nn$(leader_id), $(acked) acked"
writer_stop
ledger_check
log PASS
