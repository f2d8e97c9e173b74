#!/bin/bash
# test-garbage: malformed input on the namenode and datanode ports (random
# bytes, a valid magic with huge lengths, truncated frames, undecodable
# protobuf, unknown methods, out-of-order data-transfer frames, a client
# stuck mid-frame) never crashes or wedges a daemon: a frame with a bad
# header gets the connection closed, and afterwards every daemon is alive
# and a put/get round trip still works. Plain bash (/dev/tcp), no python.
. "$(dirname "$0")/lib.sh"

cluster_up --datanodes 3 --replication 3 --block-size 1M
dfs() { "$DFS" "$@"; }

# hexbytes HEX: writes the bytes of a hex string on stdout.
hexbytes() { printf "$(sed 's/../\\x&/g' <<<"$1")"; }
u32() { printf '%08x' "$1"; }
u64() { printf '%016x' "$1"; }
MAGIC=44465331
# header METHOD PROTO_LEN DATA_LEN CALL_ID (as hex)
header() { echo "$MAGIC$(u32 "$1")$(u32 "$2")$(u32 "$3")$(u64 "${4:-1}")"; }

# expect_close ADDR FILE: sends FILE and requires the peer to close the
# connection within 10 s (it must reject the frame and hang up).
expect_close() {
	local host=${1%:*} port=${1##*:} rc
	timeout 10 bash -c "exec 3<>/dev/tcp/$host/$port || exit 99
		cat '$2' >&3 2>/dev/null
		cat <&3 >/dev/null 2>&1
		exit 0"
	rc=$?
	[ $rc -eq 99 ] && fail "cannot connect to $1"
	[ $rc -ne 124 ] || fail "$1 kept the connection open after $(basename "$2")"
}

# send_and_hang_up ADDR FILE: sends FILE and closes at once.
send_and_hang_up() {
	local host=${1%:*} port=${1##*:}
	bash -c "exec 3<>/dev/tcp/$host/$port && cat '$2' >&3" 2>/dev/null ||
		fail "cannot connect to $1"
}

G=$T/garbage
mkdir -p "$G"
gen_data "$SEED" 65536 >"$G/random"
printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' >"$G/http"
hexbytes "$(header 1 4294967295 4294967295)" >"$G/huge-both"
hexbytes "$(header 1 4294967295 0)" >"$G/huge-proto"
hexbytes "$(header 61 0 4294967295)" >"$G/huge-data"
hexbytes "$(header 1 $(((16 << 20) + 1)) 0)" >"$G/proto-over-max"
hexbytes "${MAGIC}0000" >"$G/short-header"
{ hexbytes "$(header 1 100 0)"; head -c 10 "$G/random"; } >"$G/truncated-proto"
{ hexbytes "$(header 61 0 1000)"; head -c 10 "$G/random"; } >"$G/truncated-data"
for m in 1 2 3 6 7 15 17 18 20 40 41 42 60 61 63 65 0 99 127 128 4000000000; do
	{ hexbytes "$(header $m 16 0)"; head -c 16 "$G/random"; } >"$G/undecodable-$m"
done
# protobuf with a 4 GiB length-delimited field, and a wrong wire type
{ hexbytes "$(header 1 6 0)"; hexbytes 0affffffff0f; } >"$G/pb-huge-field"
{ hexbytes "$(header 2 5 0)"; hexbytes 0d01020304; } >"$G/pb-wire-type"
# a WRITE_PACKET with data but no WRITE_BLOCK before it
{ hexbytes "$(header 61 0 4096)"; head -c 4096 "$G/random"; } >"$G/packet-out-of-order"
# a READ_BLOCK for a block that does not exist (empty request)
hexbytes "$(header 63 0 0)" >"$G/read-nothing"
# many valid empty frames in a row
for i in $(seq 200); do hexbytes "$(header 22 0 0 "$i")"; done >"$G/ping-flood"

addrs=("$(nn_addr)" "$(dn_addr 1)" "$(dn_addr 2)" "$(dn_addr 3)")
log "garbage to ${addrs[*]}"
for a in "${addrs[@]}"; do
	# a bad header must end the connection
	for f in random http huge-both huge-proto huge-data proto-over-max; do
		expect_close "$a" "$G/$f"
	done
	for f in short-header truncated-proto truncated-data "$G"/undecodable-* pb-huge-field \
		pb-wire-type packet-out-of-order read-nothing ping-flood; do
		send_and_hang_up "$a" "$G/$(basename "$f")"
	done
	# connections opened and dropped without a byte
	for i in $(seq 50); do
		bash -c "exec 3<>/dev/tcp/${a%:*}/${a##*:}" 2>/dev/null || fail "connect $a"
	done
	all_alive || fail "a daemon died after garbage to $a"
done

# Clients stuck mid-frame must not block anyone else: hold some open.
held=()
for a in "${addrs[@]}"; do
	exec {fd}<>"/dev/tcp/${a%:*}/${a##*:}" || fail "connect $a"
	hexbytes "$(header 2 100 0)" >&"$fd"
	held+=("$fd")
done

gen_data "$((SEED + 1))" 3500000 >"$T/src"
check dfs put "$T/src" /after-garbage
check dfs get /after-garbage "$T/back"
cmp "$T/src" "$T/back" || fail "data differs after the garbage"
for fd in "${held[@]}"; do exec {fd}>&-; done
all_alive || fail "a daemon died"
out=$(dfs admin report) || fail "admin report"
for i in 1 2 3; do
	grep -qF "$(dn_addr "$i")" <<<"$out" || fail "datanode $i missing from the report: $out"
done
log PASS
