# lib-durability.sh: helpers of the durability tests (sourced after lib.sh).
# Find a block's replica files on the datanodes' disks, damage them, and
# check that every replica the namenode lists holds the right bytes.

addrs_of() { grep -oE '([0-9]{1,3}\.){3}[0-9]{1,3}:[0-9]+' <<<"$1"; }

# dn_of_addr ADDR: the datanode number listening on ADDR.
dn_of_addr() {
	local i
	for i in $(seq 1 "${DURA_DATANODES:-4}"); do
		[ "$(dn_addr "$i")" = "$1" ] && { echo "$i"; return 0; }
	done
	return 1
}

# block_line PATH INDEX: the `dfs blocks` line of block INDEX.
block_line() { "$DFS" blocks "$1" | grep -E "^block=$2 "; }
block_id() { block_line "$1" "$2" | sed -E 's/.* id=([0-9]+).*/\1/'; }

# replica_file I ID: the finalized data file of block ID on datanode I.
replica_file() {
	find "$CLUSTER/dn$1/" -path '*/current/*' -name "blk_$2" -type f 2>/dev/null | head -n1
}

# flip_byte FILE OFFSET: inverts one byte in place.
flip_byte() {
	local b
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf "\\x$(printf %02x $((b ^ 0xff)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# replicas_good PATH INDEX SRC BLOCK_SIZE WANT: block INDEX of PATH has WANT
# replicas listed, and each listed datanode holds exactly the source's bytes.
replicas_good() {
	local line id addr i f n=0
	line=$(block_line "$1" "$2") || return 1
	id=$(sed -E 's/.* id=([0-9]+).*/\1/' <<<"$line")
	head -c $(($4 * ($2 + 1))) "$3" | tail -c "$4" >"$T/expect.$2"
	for addr in $(addrs_of "$line" | sort -u); do
		i=$(dn_of_addr "$addr") || return 1
		f=$(replica_file "$i" "$id")
		[ -n "$f" ] && cmp -s "$f" "$T/expect.$2" || return 1
		n=$((n + 1))
	done
	[ "$n" = "$5" ]
}

# no_bad_copy DN ID: datanode DN no longer holds a corrupt file of block ID
# (it was deleted, or replaced by a good one).
no_bad_copy() {
	local f
	f=$(replica_file "$1" "$2")
	[ -z "$f" ] || cmp -s "$f" "$3"
}
