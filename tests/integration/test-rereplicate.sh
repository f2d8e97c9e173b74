#!/bin/bash
# test-rereplicate: with 4 datanodes and replication 3, SIGKILL a datanode
# holding replicas; once the namenode declares it dead (datanode_dead_ms =
# 3000 here), every block must be back at 3 replicas on live datanodes, and
# the file must read back identical with a second datanode gone too.
. "$(dirname "$0")/lib.sh"

cluster_up --datanodes 4 --replication 3 --block-size 4M
dfs() { "$DFS" "$@"; }
gen_data "$SEED" 20M >"$T/src"
check dfs put "$T/src" /f

# replicas_ok EXCLUDED_ADDR: every block has 3 distinct replicas, none on
# EXCLUDED_ADDR.
replicas_ok() {
	local out line addrs n=0
	out=$(dfs blocks /f) || return 1
	while IFS= read -r line; do
		addrs=$(grep -oE '([0-9]{1,3}\.){3}[0-9]{1,3}:[0-9]+' <<<"$line" | sort -u)
		[ "$(wc -l <<<"$addrs")" = 3 ] || return 1
		grep -qxF "$1" <<<"$addrs" && return 1
		n=$((n + 1))
	done <<<"$out"
	[ $n = 5 ]
}

# the victim: the first replica of block 0
victim=$(dfs blocks /f | head -n1 | grep -oE '([0-9]{1,3}\.){3}[0-9]{1,3}:[0-9]+' | head -n1)
for i in 1 2 3 4; do [ "$(dn_addr $i)" = "$victim" ] && vi=$i; done
[ -n "${vi:-}" ] || fail "replica $victim is none of our datanodes"
log "SIGKILL datanode $vi ($victim)"
kill_dn "$vi"
wait_until 60 replicas_ok "$victim" || {
	dfs blocks /f
	dfs admin report
	fail "blocks not back at 3 live replicas 60s after datanode $vi died"
}
log "re-replicated: $(dfs blocks /f | tr '\n' ' ')"

# a second loss: the data is still all there
for i in 1 2 3 4; do [ "$i" != "$vi" ] && { vj=$i; break; }; done
kill_dn "$vj"
check dfs get /f "$T/back"
expect_eq "sha256 with two datanodes lost" "$(sha "$T/src")" "$(sha "$T/back")"
log PASS
