#!/bin/bash
# test-dfs-cluster: the local-cluster tool itself: up, a second up that
# changes nothing, status, a lost datanode brought back by up, down that
# leaves no process behind, and a restart on the same directory that keeps
# the namespace (no second format).
. "$(dirname "$0")/lib.sh"

cluster_up --datanodes 2 --replication 2
dfs() { "$DFS" "$@"; }
pids_before=$(cat "$CLUSTER"/pids/*.pid | sort | xargs)
expect_eq "pid files" 3 "$(ls "$CLUSTER"/pids/*.pid | wc -l)"

out=$("$DFS_CLUSTER" up --dir "$CLUSTER" --datanodes 2 2>&1) || fail "second up failed: $out"
grep -q "already up" <<<"$out" || fail "second up did not say so: $out"
expect_eq "pids after a second up" "$pids_before" "$(cat "$CLUSTER"/pids/*.pid | sort | xargs)"

out=$("$DFS_CLUSTER" status --dir "$CLUSTER" 2>&1) || fail "status: $out"
grep -qF "$(nn_addr)" <<<"$out" || fail "status lacks the namenode address: $out"
grep -qF "$(dn_addr 2)" <<<"$out" || fail "status lacks datanode 2: $out"

echo persist >"$T/p"
check dfs put "$T/p" /persist

# A datanode that died is started again by up; the others are untouched.
nn=$(nn_pid)
kill_dn 1
out=$("$DFS_CLUSTER" up --dir "$CLUSTER" --datanodes 2 2>&1) || fail "up after a lost datanode: $out"
pid_alive "$(dn_pid 1)" || fail "datanode 1 was not restarted"
expect_eq "namenode pid kept" "$nn" "$(nn_pid)"

# down stops everything, by PID.
all=$(cat "$CLUSTER"/pids/*.pid)
check "$DFS_CLUSTER" down --dir "$CLUSTER"
for p in $all; do
	pid_alive "$p" && fail "pid $p still runs after down"
done
[ -z "$(ls "$CLUSTER"/pids/ 2>/dev/null)" ] || fail "pid files left: $(ls "$CLUSTER"/pids)"
"$DFS_CLUSTER" status --dir "$CLUSTER" >/dev/null 2>&1
expect_eq "status exit when down" 3 $?

# up again on the same directory: same namespace, no re-format.
out=$("$DFS_CLUSTER" up --dir "$CLUSTER" --datanodes 2 2>&1) || fail "restart: $out"
grep -q formatting <<<"$out" && fail "restart formatted the namespace again: $out"
wait_until 30 dfs cat /persist || fail "/persist unreadable after restart"
expect_eq "content after restart" persist "$(dfs cat /persist)"
log PASS
