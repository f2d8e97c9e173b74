#!/bin/sh
# test-xfer.sh: starts three real dfs-datanode processes (no namenode) and
# drives them with dn-probe: a 3-node write pipeline, reads from every
# node, an in-place rewrite with a new genstamp (old one then stale), a
# packet with a bad CRC, garbage bytes, a dead downstream node, and a
# restart that must find the replica again.
set -u
B=${DFS_BUILDDIR:-$(pwd)}
DN=$B/datanode/dfs-datanode
PROBE=$B/datanode/dn-probe
T=$(mktemp -d "${TMPDIR:-/tmp}/dfs-xfer-XXXXXX")
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	for p in $PIDS; do wait "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT INT TERM
fail() { echo "FAIL: $*"; for i in 1 2 3; do tail -5 "$T/log$i" 2>/dev/null; done; exit 1; }

# start_dn N: starts datanode N, sets P<N> to its host:port
start_dn() {
	rm -f "$T/port$1"
	"$DN" -s data_dirs="$T/d$1" -s port=0 -s namenodes= -s log_level=debug \
		--port-file "$T/port$1" 2>>"$T/log$1" &
	eval "PID$1=$!"
	PIDS="$PIDS $!"
	i=0
	while [ ! -s "$T/port$1" ]; do
		i=$((i + 1))
		[ $i -gt 100 ] && fail "datanode $1 did not start"
		sleep 0.1
	done
	eval "P$1=$(cat "$T/port$1")"
}

start_dn 1; start_dn 2; start_dn 3
head -c 5000000 /dev/urandom > "$T/a"
head -c 777 /dev/urandom >> "$T/a"

"$PROBE" write "$P1,$P2,$P3" 42 1 "$T/a" 2>/dev/null || fail "pipeline write"
for p in "$P1" "$P2" "$P3"; do
	"$PROBE" read "$p" 42 1 0 99999999 > "$T/out" || fail "read from $p"
	cmp -s "$T/out" "$T/a" || fail "data read from $p differs"
done
# a range in the middle, unaligned
"$PROBE" read "$P2" 42 1 4097 10000 > "$T/out" || fail "range read"
dd if="$T/a" bs=1 skip=4097 count=10000 2>/dev/null | cmp -s - "$T/out" || fail "range differs"

# rewrite 3000 bytes at 10000 with genstamp 2 on two nodes
head -c 3000 /dev/urandom > "$T/p"
"$PROBE" write "$P1,$P2" 42 2 "$T/p" 10000 1 2>/dev/null || fail "rewrite"
"$PROBE" read "$P1" 42 1 0 10 > /dev/null 2>&1 && fail "stale genstamp read succeeded"
"$PROBE" read "$P3" 42 2 0 10 > /dev/null 2>&1 && fail "node 3 has genstamp 2"
"$PROBE" read "$P2" 42 2 0 99999999 > "$T/out" || fail "read after rewrite"
dd if="$T/p" of="$T/a" bs=1 seek=10000 conv=notrunc 2>/dev/null
cmp -s "$T/out" "$T/a" || fail "rewritten data differs"

# bad CRC: ack status -DFS_ECHECKSUM (-1002)
[ "$("$PROBE" badcrc "$P1" 43 1 2>/dev/null | tail -1)" = "-1002" ] || fail "bad crc not refused"
"$PROBE" info "$P1" 43 | grep -q '^-2 ' || fail "replica with bad crc kept"

# garbage must not hurt the process
"$PROBE" garbage "$P1"
"$PROBE" garbage "$P1"
"$PROBE" info "$P1" 42 | grep -q '^0 2 ' || fail "datanode 1 unwell after garbage"

# dead downstream: the ack names it, the first node still stores the data
kill "$PID3"; wait "$PID3" 2>/dev/null
"$PROBE" write "$P1,$P3" 44 1 "$T/p" > "$T/ack" 2>/dev/null && fail "write to dead downstream ok"
grep -q 'statuses: 0 -' "$T/ack" || fail "ack does not blame downstream: $(cat "$T/ack")"

# restart: the replicas are found again
kill "$PID1"; wait "$PID1" 2>/dev/null
start_dn 1
"$PROBE" info "$P1" 42 | grep -q "^0 2 5000777\$" || fail "replica lost at restart"
"$PROBE" read "$P1" 42 2 0 99999999 > "$T/out" || fail "read after restart"
cmp -s "$T/out" "$T/a" || fail "data differs after restart"
# a block file cut behind the datanode's back: no crash, no bogus data
f=$(find "$T/d1/current" -name blk_42)
truncate -s 5000 "$f"
"$PROBE" read "$P1" 42 2 0 99999999 > "$T/out" 2>/dev/null
[ "$(wc -c < "$T/out")" -le 5000 ] || fail "read past a cut block file"
"$PROBE" info "$P1" 42 | grep -q '^0 2 ' || fail "datanode 1 unwell after a cut file"
echo "PASS: datanode data transfer"
exit 0
