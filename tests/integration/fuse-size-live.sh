#!/bin/bash
# fuse-size-live: the size of a file being written through a pipe into a
# mount, as other processes see it through the same mount (stat, and the
# listing of ls -l), never goes back, and the final size shows at once
# when the writer has closed, there and through a second mount.
#
# dfs-fuse holds written bytes until close, so the namenode's size of a
# file being written lags (0 for a new file). The kernel takes the size
# of every attribute reply as the file's: lookups after entry_timeout
# used to carry the namenode's size and set it back to 0 mid-write. Short
# kernel cache times make such lookups frequent here.
. "$(dirname "$0")/lib.sh"
. "$DFS_SRCDIR/tests/fuse/lib-fuse.sh"

ROUNDS=3
CHUNKS=60
CHUNK=100000
SAMPLES_MIN=20 # per watcher and round, or the round proved nothing

fuse_setup
cluster_up --datanodes 3 --replication 2 --block-size 1M
M=$T/mnt
fuse_mount "$M" -o attr_timeout=0.2,entry_timeout=0.2,negative_timeout=0.2
O=$T/mnt-other
fuse_mount "$O"

# watch KIND FILE OUT: until $T/stop exists, appends the size of FILE as
# stat (KIND stat) or ls -l of its directory (KIND ls) shows it.
watch() {
	local kind=$1 f=$2 out=$3 s
	: >"$out"
	while [ ! -e "$T/stop" ]; do
		if [ "$kind" = stat ]; then
			s=$(stat -c %s "$f" 2>/dev/null) || continue
		else
			s=$(ls -l "$(dirname "$f")" 2>/dev/null |
				awk -v n="$(basename "$f")" '$NF == n {print $5}')
			[ -n "$s" ] || continue
		fi
		echo "$s" >>"$out"
	done
}

# backwards OUT: prints the first place where the sizes in OUT go back.
backwards() {
	awk 'NR > 1 && $1 < prev {print "sample " NR ": " prev " -> " $1; exit} {prev = $1}' "$1"
}

want=$((CHUNKS * CHUNK))
for r in $(seq 1 $ROUNDS); do
	f=$M/f$r
	rm -f "$T/stop"
	(for i in $(seq 1 $CHUNKS); do head -c $CHUNK /dev/urandom; sleep 0.02; done) |
		timeout 300 cat >"$f" &
	writer=$!
	TEST_PIDS+=("$writer")
	watchers=()
	for k in stat stat ls; do
		watch "$k" "$f" "$T/sizes.$r.${#watchers[@]}.$k" &
		watchers+=($!)
		TEST_PIDS+=($!)
	done
	wait "$writer" || fail "round $r: the writer failed"
	# close-to-open: the size is there at once, here and on the other mount
	expect_eq "round $r: stat right after the writer closed" "$want" "$(stat -c %s "$f")"
	expect_eq "round $r: stat through another mount" "$want" "$(stat -c %s "$O/f$r")"
	touch "$T/stop"
	wait "${watchers[@]}"
	for out in "$T"/sizes.$r.*; do
		n=$(wc -l <"$out")
		[ "$n" -ge $SAMPLES_MIN ] || fail "$(basename "$out"): only $n samples"
		b=$(backwards "$out")
		[ -z "$b" ] || fail "$(basename "$out"): the size went back: $b"
		[ "$(tail -n 1 "$out")" -le "$want" ] || fail "$(basename "$out"): past the end"
	done
	log "round $r: $(cat "$T"/sizes.$r.* | wc -l) sizes seen while writing, none went back"
done
log PASS
