#!/bin/bash
# test-raft-failover: the leader namenode is SIGKILLed while four clients
# create files; a new leader takes over, every acknowledged create is there
# and none was applied twice (a retried create answered EEXIST would be).
# Then the old leader comes back and the new one is killed too. Prints the
# time from each kill to the next acknowledged create ("failover: N ms").
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/raft-lib.sh"

raft_up
writer_start -t 4
wait_until 30 acked_at_least 200 || fail "no progress before the kill: $(acked) acked"
# with four clients waiting the leader goes on while a thread runs its
# fsync (unsynced=): the creates checked below went that way
leader_wrote_ahead() { raft_status | awk '/role=leader/ && / unsynced=[1-9]/ {ok = 1} END {exit !ok}'; }
wait_until 30 leader_wrote_ahead || fail "the leader never wrote ahead of its fsync: $(raft_status)"

# kill_leader: SIGKILLs the leader, waits for the next acknowledged create,
# prints the failover time. Sets KILLED.
kill_leader() {
	local l kill_ms first n0 pid
	l=$(leader_id)
	[ -n "$l" ] || fail "no leader"
	n0=$(acked)
	pid=$(nn_pid_of "$l")
	kill -KILL "$pid" || fail "kill nn$l"
	kill_ms=$(date +%s%3N) # no create acknowledged after this is the old leader's
	wait_until 10 eval "! pid_alive $pid" || fail "nn$l survived SIGKILL"
	KILLED=$l
	log "killed leader nn$l at $n0 acked"
	wait_until 30 has_leader_other_than "$l" || fail "no new leader after killing nn$l"
	wait_until 30 acked_at_least $((n0 + 200)) || fail "writes did not resume: $(acked) acked"
	# the first create both sent and acknowledged after the kill (a reply
	# the old leader sent just before it died may still arrive after it)
	first=$(cat "$T"/rw/ack.* | awk -v k="$kill_ms" '$2 > k && (m == "" || $3 < m) {m = $3}
		END {print m}')
	[ -n "$first" ] || fail "no create acknowledged after the kill"
	log "new leader nn$(leader_id)"
	echo "failover: $((first - kill_ms)) ms"
}

kill_leader
first_killed=$KILLED
dc start "nn$first_killed"
target=$(leader_applied)
wait_until 30 caught_up "$first_killed" "$target" ||
	fail "nn$first_killed did not catch up after restart: $(raft_status)"
kill_leader
writer_stop
ledger_check
n=$(acked)
[ "$n" -ge 600 ] || fail "only $n creates acknowledged"
log PASS
