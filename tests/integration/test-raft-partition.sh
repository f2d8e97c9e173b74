#!/bin/bash
# test-raft-partition: the leader cut off from both other namenodes (the
# raft drop-peers fault hook) cannot commit: a client that only knows it
# cannot create, and what it tried never appears; the majority elects a new
# leader and keeps taking writes; after healing, the old leader follows.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/raft-lib.sh"

raft_up
writer_start -t 2
wait_until 30 acked_at_least 100 || fail "no progress: $(acked) acked"
iso=$(leader_id)
[ -n "$iso" ] || fail "no leader"
others=$(awk -v i="$iso" '$1 != i {print $1}' "$CLUSTER/nn-peers" | xargs)
check "$DFS" admin raft drop-peers "$(nn_addr_of "$iso")" $others
log "isolated leader nn$iso from $others"

# A client that knows only the isolated node, with short timeouts.
printf 'namenodes = %s\nrpc_timeout_ms = 1000\nretry_total_ms = 4000\n' \
	"$(nn_addr_of "$iso")" >"$T/iso.conf"
DFS_CONF=$T/iso.conf "$DFS" mkdir /minority 2>"$T/iso.err" &&
	fail "the isolated nn$iso committed a mkdir"
log "isolated client: $(head -n 1 "$T/iso.err")"

wait_until 30 has_leader_other_than "$iso" || fail "the majority elected no leader"
n0=$(acked)
wait_until 30 acked_at_least $((n0 + 100)) || fail "the majority takes no writes"
log "majority leader nn$(leader_id), $(acked) acked"
DFS_CONF=$T/iso.conf "$DFS" mkdir /minority2 2>/dev/null &&
	fail "the isolated nn$iso committed a mkdir after the election"

check "$DFS" admin raft drop-peers "$(nn_addr_of "$iso")"
target=$(leader_applied)
wait_until 30 caught_up "$iso" "$target" || fail "nn$iso did not rejoin: $(raft_status)"
writer_stop
"$DFS" test -e /minority && fail "/minority, refused to the client, exists"
"$DFS" test -e /minority2 && fail "/minority2, refused to the client, exists"
ledger_check -t 2
log PASS
