#!/bin/bash
# test-raft-catchup: a follower namenode is down while 50,000 namespace
# operations happen (16 clients making directories); the leader compacts
# its log meanwhile, so the follower, started again, catches up through a
# snapshot (its log says so), and its namespace then equals the leader's,
# key for key (dfs-namenode --dump-namespace of both, once stopped).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/raft-lib.sh"

THREADS=16
PER_THREAD=3125 # 16 x 3125 = 50,000 mkdirs
raft_up --set-nn snapshot_entries=5000
ldr=$(leader_id)
[ -n "$ldr" ] || fail "no leader"
f=$(awk -v i="$ldr" '$1 != i {print $1; exit}' "$CLUSTER/nn-peers")
dc kill "nn$f"
log "stopped follower nn$f"
start=$SECONDS
writer_start -m -t $THREADS -n $PER_THREAD -p /c
writer_wait
log "50,000 operations in $((SECONDS - start)) s"
expect_eq "acknowledged mkdirs" 50000 "$(acked)"

lines=$(wc -l <"$CLUSTER/logs/nn$f.log")
dc start "nn$f"
wait_until 60 caught_up "$f" || fail "nn$f did not catch up: $(raft_status)"
tail -n +"$lines" "$CLUSTER/logs/nn$f.log" | grep -q "installed snapshot" ||
	fail "nn$f caught up without installing a snapshot"
log "nn$f caught up: $(tail -n +"$lines" "$CLUSTER/logs/nn$f.log" | grep -m1 "installed snapshot")"
ledger_check -t $THREADS -p /c
ldr=$(leader_id)

"$DFS_CLUSTER" down --dir "$CLUSTER" >/dev/null 2>&1 || fail "dfs-cluster down"
nn=$DFS_BUILDDIR/namenode/dfs-namenode
"$nn" --dump-namespace="$CLUSTER/nn$ldr/name" >"$T/dump-$ldr" 2>"$T/dump.err" ||
	fail "dump of nn$ldr: $(cat "$T/dump.err")"
"$nn" --dump-namespace="$CLUSTER/nn$f/name" >"$T/dump-$f" 2>"$T/dump.err" ||
	fail "dump of nn$f: $(cat "$T/dump.err")"
[ "$(wc -l <"$T/dump-$f")" -gt 50000 ] || fail "dump of nn$f has only $(wc -l <"$T/dump-$f") keys"
cmp -s "$T/dump-$ldr" "$T/dump-$f" ||
	fail "namespaces differ: $(diff "$T/dump-$ldr" "$T/dump-$f" | head -n 4 | cut -c 1-120)"
log "namespaces equal ($(wc -l <"$T/dump-$f") keys)"
log PASS
