# raft-lib.sh: helpers of the namenode-group tests (test-raft-*.sh), sourced
# after lib.sh: a cluster of three namenodes, the group's status through
# `dfs admin raft status`, one namenode killed / frozen / restarted through
# dfs-cluster, and the raft-writer load with its ledger.
#
#   raft_up [dfs-cluster options]   group of 3 namenodes, 1 datanode
#   leader_id                       id of the leader (empty if none)
#   member_field ID FIELD           e.g. member_field 2 applied
#   caught_up ID [TARGET]           ID's applied index reached TARGET
#   nn_addr_of ID                   host:port of namenode ID
#   dc CMD NAME                     dfs-cluster kill|stop|cont|start NAME
#   writer_start ARGS...            raft-writer write in the background
#   writer_stop                     ends it (stop file), fails on duplicates
#   acked                           acknowledged creates so far
RW=$DFS_BUILDDIR/tests/integration/raft-writer
WRITER_PID=
STOPFILE=

raft_up() {
	[ -x "$RW" ] || fail "$RW is not built"
	cluster_up --namenodes 3 --datanodes 1 --replication 1 "$@"
	STOPFILE=$T/stop-writer
	mkdir -p "$T/rw"
}

# With short timeouts: a frozen namenode must not stall every poll.
raft_status() {
	{ cat "$CLUSTER/dfs.conf"; printf 'rpc_timeout_ms = 1000\nretry_total_ms = 3000\n'; } \
		>"$T/status.conf"
	DFS_CONF=$T/status.conf "$DFS" admin raft status 2>/dev/null
}

# The reachable member that calls itself leader in the highest term.
leader_id() {
	raft_status | awk '/role=leader/ && !/unreachable/ {
		for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
		if (f["term"] + 0 >= best) { best = f["term"] + 0; id = f["id"] } }
		END { if (id != "") print id }'
}

# member_field ID FIELD: FIELD of member ID in the status (empty if absent).
member_field() {
	raft_status | awk -v id="$1" -v k="$2" '$1 == "id=" id {
		for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) print kv[2] } }'
}

nn_addr_of() { awk -v i="$1" '$1 == i {print $2}' "$CLUSTER/nn-peers"; }
nn_pid_of() { cat "$CLUSTER/pids/nn$1.pid"; }

dc() { "$DFS_CLUSTER" "$1" "$2" --dir "$CLUSTER" >/dev/null || fail "dfs-cluster $1 $2"; }

# has_leader_other_than ID: a leader exists and it is not ID.
has_leader_other_than() {
	local l
	l=$(leader_id)
	[ -n "$l" ] && [ "$l" != "$1" ]
}

# caught_up ID [TARGET]: ID is a follower whose applied index reached
# TARGET (without TARGET: equals the leader's, for a group at rest).
caught_up() {
	local l a b
	l=$(leader_id)
	[ -n "$l" ] && [ "$l" != "$1" ] || return 1
	a=${2:-$(member_field "$l" applied)}
	b=$(member_field "$1" applied)
	[ -n "$a" ] && [ -n "$b" ] && [ "$b" -ge "$a" ] && [ -n "${2:-}" -o "$a" = "$b" ]
}

# leader_applied: the leader's applied index now.
leader_applied() { member_field "$(leader_id)" applied; }

acked() { cat "$T"/rw/ack.* 2>/dev/null | wc -l; }
acked_at_least() { [ "$(acked)" -ge "$1" ]; }

# writer_start ARGS...: raft-writer write -l $T/rw -s STOPFILE ARGS...
writer_start() {
	rm -f "$STOPFILE"
	"$RW" write -l "$T/rw" -s "$STOPFILE" "$@" >"$T/writer.out" 2>&1 &
	WRITER_PID=$!
	TEST_PIDS+=("$WRITER_PID")
}

# writer_wait: the writer finished by itself (deadline 120 s); fails on
# duplicates or errors.
writer_wait() {
	local rc
	wait_until 120 eval "! pid_alive $WRITER_PID" || fail "raft-writer did not finish"
	wait "$WRITER_PID"
	rc=$?
	log "writer: $(cat "$T/writer.out")"
	[ $rc = 3 ] && fail "a create was applied twice (EEXIST): $(grep -h EEXIST "$T"/rw/err.*)"
	[ $rc = 0 ] || fail "raft-writer failed (exit $rc)"
}

writer_stop() {
	touch "$STOPFILE"
	writer_wait
}

# ledger_check [ARGS]: every acknowledged create is present exactly once.
ledger_check() {
	local out
	out=$("$RW" check -l "$T/rw" "$@" 2>&1) || fail "ledger check: $out"
	log "ledger: $(tail -n 1 <<<"$out")"
}
