#!/bin/bash
# test-raft-restart-all: every namenode SIGKILLed at once and started
# again: the namespace is intact (same tree, every acknowledged create
# there), dfs-cluster status shows one leader and two followers, and the
# group takes writes again.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/raft-lib.sh"

raft_up
check "$DFS" mkdir -p /keep/a/b
gen_data "$SEED" 100000 >"$T/data"
check "$DFS" put "$T/data" /keep/a/data
check "$DFS" mv /keep/a/b /keep/b
writer_start -t 4 -n 300
writer_wait
"$RW" tree / | sort >"$T/before" || fail "tree before"

for i in $(awk '{print $1}' "$CLUSTER/nn-peers"); do
	kill -KILL "$(nn_pid_of "$i")"
done
for i in $(awk '{print $1}' "$CLUSTER/nn-peers"); do
	wait_until 10 eval "! pid_alive $(nn_pid_of "$i")" || fail "nn$i survived SIGKILL"
done
log "killed every namenode"
for i in $(awk '{print $1}' "$CLUSTER/nn-peers"); do
	dc start "nn$i"
done
wait_until 30 eval '[ -n "$(leader_id)" ]' || fail "no leader after the restart: $(raft_status)"
log "leader after restart: nn$(leader_id)"
st=$("$DFS_CLUSTER" status --dir "$CLUSTER" 2>&1) || fail "dfs-cluster status: $st"
expect_eq "leaders in dfs-cluster status" 1 "$(grep -c 'role=leader' <<<"$st")"
wait_until 30 eval '[ "$("$DFS_CLUSTER" status --dir "$CLUSTER" | grep -c role=follower)" = 2 ]' ||
	fail "dfs-cluster status does not show two followers: $("$DFS_CLUSTER" status --dir "$CLUSTER")"

"$RW" tree / | sort >"$T/after" || fail "tree after"
diff "$T/before" "$T/after" >"$T/diff" || fail "namespace changed: $(head "$T/diff")"
ledger_check
"$DFS" get /keep/a/data "$T/back" || fail "get after restart"
expect_eq "file content" "$(sha "$T/data")" "$(sha "$T/back")"
check "$DFS" mkdir /after-restart
log "$(wc -l <"$T/after") entries intact"
log PASS
