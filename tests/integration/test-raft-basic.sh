#!/bin/bash
# test-raft-basic: a group of three namenodes (dfs-cluster --namenodes 3)
# and three datanodes. Files written through the leader; the leader is
# SIGKILLed: a new leader must be elected within a deadline, every
# acknowledged file must be there and new writes must work; the old leader
# comes back as a follower and catches up. Then every namenode is
# SIGKILLed and restarted: the namespace is intact, the followers apply
# new changes from the leader's effects, and once stopped the three
# LevelDB states are identical (dfs-namenode --dump-namespace).
. "$(dirname "$0")/lib.sh"

cluster_up --namenodes 3 --datanodes 3 --replication 3 --block-size 1M
dfs() { "$DFS" "$@"; }
NN=$DFS_BUILDDIR/namenode/dfs-namenode

# leader_id: the id of the node every reachable member calls leader.
leader_id() {
	dfs admin raft status 2>/dev/null | awk '/role=leader/ {for (i = 1; i <= NF; i++)
		if ($i ~ /^id=/) {sub("id=", "", $i); print $i; exit}}'
}
has_leader() { [ -n "$(leader_id)" ]; }
# nn_kill I: SIGKILL namenode I and wait until it is gone.
nn_kill() {
	local pid
	pid=$(cat "$CLUSTER/pids/nn$1.pid")
	kill -KILL "$pid" || fail "kill namenode $1"
	wait_until 10 eval "! pid_alive $pid" || fail "namenode $1 survived SIGKILL"
}

wait_until 30 has_leader || fail "no leader elected"
gen_data "$SEED" 3M >"$T/src"
check dfs mkdir -p /d/e
for i in $(seq 1 30); do check dfs touchz "/d/e/f$i"; done
check dfs put "$T/src" /d/data

old=$(leader_id)
log "leader is namenode $old: SIGKILL"
nn_kill "$old"
t0=$(date +%s%N)
new_leader() { local l; l=$(leader_id); [ -n "$l" ] && [ "$l" != "$old" ]; }
wait_until 15 new_leader || { dfs admin raft status; fail "no new leader 15 s after SIGKILL"; }
log "namenode $(leader_id) leads after $((($(date +%s%N) - t0) / 1000000)) ms"
check dfs mkdir /after-failover
expect_eq "files after failover" 30 "$(dfs ls /d/e | wc -l)"
check dfs get /d/data "$T/back"
expect_eq "data after failover" "$(sha "$T/src")" "$(sha "$T/back")"

# the old leader returns (dfs-cluster up restarts what is not running)
"$DFS_CLUSTER" up --dir "$CLUSTER" >/dev/null 2>&1 || fail "restart namenode $old"
caught_up() {
	dfs admin raft status | awk -v id="$old" '$1 == "id=" id && /role=follower/ && / lag=0 / {f = 1}
		END {exit !f}'
}
wait_until 30 caught_up || { dfs admin raft status; fail "namenode $old did not catch up"; }

# every namenode SIGKILLed, then restarted
for i in 1 2 3; do nn_kill "$i"; done
"$DFS_CLUSTER" up --dir "$CLUSTER" >/dev/null 2>&1 || fail "restart the group"
wait_until 30 has_leader || fail "no leader after the restart"
expect_eq "files after restart" 30 "$(dfs ls /d/e | wc -l)"
check dfs stat /after-failover
check dfs get /d/data "$T/back2"
expect_eq "data after restart" "$(sha "$T/src")" "$(sha "$T/back2")"
check dfs touchz /after-restart
all_applied() {
	dfs admin raft status | awk '/role=/ && !/ lag=0 / {bad = 1} END {exit bad}'
}
wait_until 30 all_applied || { dfs admin raft status; fail "members did not converge"; }
# followers apply from what the leader wrote (effects=, counted since the
# restart), and the dumps below show that this gives the same state
for i in $(seq 1 20); do check dfs mkdir "/fx$i"; done
check dfs mv /fx1 /fx0
check dfs rm -r /fx2
followers_used_effects() {
	dfs admin raft status | awk '/role=follower/ { n++; if ($0 !~ / effects=[1-9]/) bad = 1 }
		END {exit bad || n != 2}'
}
wait_until 30 followers_used_effects ||
	{ dfs admin raft status; fail "followers did not apply the leader's effects"; }
wait_until 30 all_applied || { dfs admin raft status; fail "members did not converge"; }

# a lone client's entries commit on the followers' copies while the leader
# syncs its own later; with one follower frozen the leader's copy has to
# count, so it syncs at once (within milliseconds, not at its next sync)
# (not namenode 1: a new client asks the first listed namenode first, and
# a frozen one would hold it for rpc_timeout_ms whatever the leader does)
l=$(leader_id)
f=2
[ "$f" = "$l" ] && f=3
fpid=$(cat "$CLUSTER/pids/nn$f.pid")
kill -STOP "$fpid" || fail "stop namenode $f"
t0=$(date +%s%3N)
for i in $(seq 1 20); do
	timeout 10 "$DFS" mkdir "/lone$i" >/dev/null 2>&1 ||
		{ kill -CONT "$fpid"; fail "a lone client's mkdir /lone$i with namenode $f stopped"; }
done
log "20 mkdirs from one client with namenode $f stopped: $(($(date +%s%3N) - t0)) ms"
kill -CONT "$fpid" || fail "resume namenode $f"
wait_until 30 all_applied || { dfs admin raft status; fail "members did not converge"; }

# stopped: the three states are byte for byte the same
for i in 1 2 3; do
	pid=$(cat "$CLUSTER/pids/nn$i.pid")
	kill -TERM "$pid"
	wait_until 20 eval "! pid_alive $pid" || fail "namenode $i did not stop"
done
for i in 1 2 3; do
	"$NN" --dump-namespace="$CLUSTER/nn$i/name" >"$T/dump$i" || fail "dump namenode $i"
done
[ -s "$T/dump1" ] || fail "empty namespace dump"
cmp -s "$T/dump1" "$T/dump2" && cmp -s "$T/dump1" "$T/dump3" || fail "namespaces differ"
log PASS
