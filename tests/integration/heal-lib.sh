# heal-lib.sh: helpers of the healing tests (sourced after lib.sh).

dfs() { "$DFS" "$@"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# fsck_clean: fsck / says HEALTHY with no under-replicated block.
fsck_clean() {
	local out
	out=$(dfs fsck /) || return 1
	grep -qx 'Status: HEALTHY' <<<"$out" && grep -qx 'Under-replicated blocks: 0' <<<"$out"
}

# dn_state ADDR: the state field of datanode ADDR in `dfs admin report`.
dn_state() {
	dfs admin report | grep -F "datanode=$1 " | grep -oE 'state=[a-z]+' | cut -d= -f2
}
dn_is() { [ "$(dn_state "$1")" = "$2" ]; }

# dn_index ADDR: which of our datanodes (1-based) listens on ADDR.
dn_index() {
	local i
	for i in $(seq 1 "$NDN"); do
		[ "$(dn_addr "$i")" = "$1" ] && { echo "$i"; return 0; }
	done
	return 1
}

# replicas_elsewhere PATH N ADDR...: every block of PATH lists at least N
# replicas on datanodes other than ADDR...
replicas_elsewhere() {
	local path=$1 n=$2 line a cnt out
	shift 2
	out=$(dfs blocks "$path") || return 1
	[ -n "$out" ] || return 1
	while IFS= read -r line; do
		cnt=0
		for a in $(grep -oE '([0-9]{1,3}\.){3}[0-9]{1,3}:[0-9]+' <<<"${line#*locations=}" | sort -u); do
			printf '%s\n' "$@" | grep -qxF "$a" || cnt=$((cnt + 1))
		done
		[ $cnt -ge "$n" ] || return 1
	done <<<"$out"
}

# block_files: replica files (not .meta) under every datanode's data dir.
block_files() {
	find "$CLUSTER"/dn*/data -name 'blk_*' ! -name '*.meta' 2>/dev/null | wc -l
}
