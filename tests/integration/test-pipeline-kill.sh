#!/bin/bash
# test-pipeline-kill: SIGKILL a datanode of the write pipeline in the middle
# of a large `dfs put` (4 datanodes, replication 3). Pipeline recovery must
# carry the write through (the file is byte-identical), then re-replication
# must bring every block back to 3 replicas on live datanodes.
. "$(dirname "$0")/lib.sh"

SIZE=${DFS_TEST_PIPELINE_SIZE:-400M}
cluster_up --datanodes 4 --replication 3 --block-size 32M
echo "pipeline_ack_timeout_ms = 2s" >>"$DFS_CONF"
dfs() { "$DFS" "$@"; }
gen_data "$SEED" "$SIZE" >"$T/src"

addrs_of() { grep -oE '([0-9]{1,3}\.){3}[0-9]{1,3}:[0-9]+' <<<"$1"; }

# replicas_ok VICTIM_ADDR: every block has 3 distinct replicas, none on VICTIM.
replicas_ok() {
	local out line addrs
	out=$(dfs blocks /f) || return 1
	[ -n "$out" ] || return 1
	while IFS= read -r line; do
		addrs=$(addrs_of "$line" | sort -u)
		[ "$(wc -l <<<"$addrs")" = 3 ] || return 1
		grep -qxF "$1" <<<"$addrs" && return 1
	done <<<"$out"
	return 0
}

# rbw_holders: the datanodes (numbers) with a replica being written.
rbw_holders() {
	local i
	for i in 1 2 3 4; do
		ls "$CLUSTER/dn$i/data/rbw/" 2>/dev/null | grep -q '^blk_[0-9]*$' && echo "$i"
	done
}
# pick_victim: sets vi to the second datanode found writing a replica, from
# one look at the datanodes (a block may end between two looks).
pick_victim() {
	local holders
	holders=$(rbw_holders)
	[ "$(wc -l <<<"$holders")" -ge 2 ] || return 1
	vi=$(sed -n 2p <<<"$holders")
}

t0=$SECONDS
"$DFS" -v put "$T/src" /f 2>"$T/put.err" &
put_pid=$!
TEST_PIDS+=("$put_pid")
vi=
wait_until 60 pick_victim || fail "no write pipeline ever appeared on the datanodes"
victim=$(dn_addr "$vi")
line="rbw: $(ls "$CLUSTER/dn$vi/data/rbw/" | tr '\n' ' ')"
log "SIGKILL datanode $vi ($victim) while writing: $line"
kill_dn "$vi"
t1=$SECONDS
if ! wait "$put_pid"; then
	cat "$T/put.err" >&2
	fail "dfs put failed after a datanode of its pipeline died"
fi
log "put finished $((SECONDS - t0))s after it started"
grep -i "recover" "$T/put.err" | head -n 5
grep -q "pipeline recovered" "$T/put.err" || {
	cat "$T/put.err" >&2
	fail "the writer never recovered its pipeline (was $victim in it?)"
}
check dfs get /f "$T/back"
expect_eq "sha256 after pipeline recovery" "$(sha "$T/src")" "$(sha "$T/back")"
[ "$(stat -c %s "$T/back")" = "$(stat -c %s "$T/src")" ] || fail "size differs"

wait_until 90 replicas_ok "$victim" || {
	dfs blocks /f
	fail "blocks not back at 3 live replicas 90s after the write"
}
log "full replication restored $((SECONDS - t1))s after the kill"
check dfs get /f "$T/back2"
expect_eq "sha256 after re-replication" "$(sha "$T/src")" "$(sha "$T/back2")"
log PASS
