#!/bin/bash
# test-raft-sigstop: the leader namenode frozen with SIGSTOP is replaced
# while clients write; after SIGCONT it steps down, catches up (its applied
# index reaches the new leader's) and does not take the leadership back.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/raft-lib.sh"

raft_up
writer_start -t 4
wait_until 30 acked_at_least 200 || fail "no progress: $(acked) acked"
old=$(leader_id)
[ -n "$old" ] || fail "no leader"
dc stop "nn$old"
log "froze leader nn$old at $(acked) acked"
wait_until 30 has_leader_other_than "$old" || fail "no new leader while nn$old is frozen"
new=$(leader_id)
n0=$(acked)
wait_until 30 acked_at_least $((n0 + 200)) || fail "writes did not resume under nn$new"
log "new leader nn$new, $(acked) acked"

dc cont "nn$old"
target=$(leader_applied)
# poll until it caught up; the leader must stay nn$new all along
deadline=$((SECONDS + 30))
while :; do
	l=$(leader_id)
	[ -z "$l" ] || [ "$l" = "$new" ] || fail "leadership moved to nn$l after SIGCONT of nn$old"
	caught_up "$old" "$target" && break
	[ $SECONDS -lt $deadline ] || fail "nn$old did not catch up: $(raft_status)"
	sleep 0.2
done
expect_eq "role of nn$old" follower "$(member_field "$old" role)"
writer_stop
wait_until 30 caught_up "$old" || fail "nn$old not level with the leader at rest: $(raft_status)"
expect_eq "leader after catch-up" "$new" "$(leader_id)"
ledger_check
log PASS
