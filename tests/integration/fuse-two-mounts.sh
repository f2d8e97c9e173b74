#!/bin/bash
# fuse-two-mounts: two dfs-fuse mounts of the same cluster (two clients).
# Close-to-open both ways: a file written and closed on one mount is seen
# whole by an open on the other right away, also when the reader had the
# old contents cached (overwrite, grow, shrink, append). Names: create,
# rename (also over an existing target), unlink, mkdir/rmdir done on one
# mount show on the other once the kernel's entry/attribute caches expire
# (1 s by default): waited for with a deadline, never a fixed sleep.
. "$(dirname "$0")/lib.sh"
. "$DFS_SRCDIR/tests/fuse/lib-fuse.sh"

fuse_setup
cluster_up --datanodes 3 --replication 2 --block-size 1M
A=$T/a
B=$T/b
fuse_mount "$A"
fuse_mount "$B"
TO="timeout 120"
VIS=10 # seconds a name change may take to show on the other mount

# same_file FILE1 FILE2 WHAT: sha256 of both must match.
same_file() {
	expect_eq "$3" "$(sha "$1")" "$($TO sha256sum <"$2" | cut -d' ' -f1)"
}

# --- close-to-open, A -> B, multi-block file ---
gen_data "$SEED-1" 3500000 >"$T/v1"
check $TO cp "$T/v1" "$A/f"
same_file "$T/v1" "$B/f" "B reads what A wrote and closed"
# --- and back: B overwrites with a larger file, A (which cached v1) reads ---
gen_data "$SEED-2" 4200000 >"$T/v2"
check $TO cp "$T/v2" "$B/f"
same_file "$T/v2" "$A/f" "A reads B's larger overwrite"
# shrink on A, B had the larger one cached
gen_data "$SEED-3" 123457 >"$T/v3"
check $TO cp "$T/v3" "$A/f"
same_file "$T/v3" "$B/f" "B reads A's shrinking overwrite"
# append on B, read on A
gen_data "$SEED-4" 999999 >"$T/v4"
check sh -c "cat '$T/v4' >>'$B/f'"
cat "$T/v3" "$T/v4" >"$T/v34"
same_file "$T/v34" "$A/f" "A reads B's append"
# rewrite in the middle (same size) on A, read on B
cp "$T/v34" "$T/v34x"
head -c 70000 /dev/urandom >"$T/patch"
check dd if="$T/patch" of="$T/v34x" bs=1 seek=100000 conv=notrunc status=none
check $TO dd if="$T/patch" of="$A/f" oflag=seek_bytes seek=100000 conv=notrunc status=none
same_file "$T/v34x" "$B/f" "B reads A's same-size rewrite"
# many small rounds, alternating writer, each read right after the close
for i in $(seq 1 20); do
	printf 'round %d %s\n' "$i" "$(head -c $((i * 37)) /dev/zero | tr '\0' x)" >"$T/small"
	if [ $((i % 2)) = 0 ]; then w=$A r=$B; else w=$B r=$A; fi
	check cp "$T/small" "$w/small"
	same_file "$T/small" "$r/small" "round $i: the other mount reads the small file"
done

# --- a file created on A shows on B (no negative cache hit: B never looked) ---
echo fresh >"$A/fresh"
expect_eq "new file from the other mount" fresh "$(cat "$B/fresh")"
# B looked up a missing name; once A creates it B sees it within the timeout
[ ! -e "$B/late" ] || fail "late exists too early"
echo late >"$A/late"
wait_until $VIS test -e "$B/late" || fail "B does not see A's new file after ${VIS}s"
expect_eq "late file content on B" late "$(cat "$B/late")"

# --- rename on A, seen by B ---
check mv "$A/f" "$A/g"
wait_until $VIS eval "[ ! -e '$B/f' ] && [ -e '$B/g' ]" ||
	fail "B does not see A's rename after ${VIS}s"
same_file "$T/v34x" "$B/g" "content under the new name on B"
# --- rename over an existing target on B, seen by A ---
gen_data "$SEED-5" 54321 >"$T/v5"
check cp "$T/v5" "$B/tmp.new"
check mv "$B/tmp.new" "$B/g"
wait_until $VIS eval "[ ! -e '$A/tmp.new' ] && [ \$(stat -c %s '$A/g') = 54321 ]" ||
	fail "A does not see B's rename over g after ${VIS}s"
same_file "$T/v5" "$A/g" "A reads the renamed-over file"
# --- unlink on B, seen by A ---
check rm "$B/g"
wait_until $VIS eval "[ ! -e '$A/g' ]" || fail "A still sees g ${VIS}s after B removed it"
# --- directories: mkdir on A, files from B, rename dir on B, rmdir on A ---
check mkdir "$A/d"
wait_until $VIS test -d "$B/d" || fail "B does not see A's mkdir"
echo inside >"$B/d/x"
expect_eq "file made on B inside A's dir, read on A" inside "$(cat "$A/d/x")"
check mv "$B/d" "$B/d2"
wait_until $VIS eval "[ ! -e '$A/d' ] && [ -e '$A/d2/x' ]" || fail "A does not see B's dir rename"
check rm "$A/d2/x"
check rmdir "$A/d2"
wait_until $VIS eval "[ ! -e '$B/d2' ]" || fail "B still sees d2 after A's rmdir"
# --- a name replaced on B while C holds it in its entry cache: C's stat
# must find the new file, not report the old, deleted inode as a missing
# name (C caches names for an hour and attributes not at all, so its stat
# asks about the inode it looked up before) ---
C=$T/c
fuse_mount "$C" -o entry_timeout=3600,attr_timeout=0
printf 'old contents\n' >"$B/swap"
expect_eq "C sees the first file" 13 "$(stat -c %s "$C/swap")"
printf 'the new, longer contents\n' >"$B/swap.new"
check mv "$B/swap.new" "$B/swap"
expect_eq "C's stat after B replaced the name" 25 "$($TO stat -c %s "$C/swap" 2>&1)"
expect_eq "C reads the new file" "the new, longer contents" "$($TO cat "$C/swap")"
fuse_umount "$C"

# --- listings agree ---
expect_eq "listings of both mounts" "$(ls -la --time-style=+ "$A" | awk '{print $1,$5,$NF}')" \
	"$(ls -la --time-style=+ "$B" | awk '{print $1,$5,$NF}')"

fuse_umount "$A"
fuse_umount "$B"
log PASS
