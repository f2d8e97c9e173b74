#!/bin/bash
# fuse-lookahead: a scan of a directory's names (stat of each in order) is
# answered from names listed ahead (fuse/lookahead.c), and that window
# never shows more staleness than the kernel's own caches:
#  - a change made on another mount just after the scan shows within the
#    entry/attribute timeout (1 s; waited for with a 3 s deadline: a
#    window served past its age would show the old state until unmount);
#  - a change made on the same mount shows at once, even when the kernel
#    dropped its cached names and must ask again (drop_caches);
#  - close-to-open: a file another mount replaced (rename over the name)
#    is read whole right away, whether the name came from the window or
#    from the kernel's cache (the stale inode's open answers ESTALE and the
#    kernel looks the name up again);
#  - names another mount creates where this one was told from a window
#    that nothing is (a loop creating files lists the names after its
#    last one) show within negative_timeout (1 s; 3 s deadline);
#  - the mount's unmount line counts lookups answered from listings,
#    and missing names among them.
. "$(dirname "$0")/lib.sh"
. "$DFS_SRCDIR/tests/fuse/lib-fuse.sh"

fuse_setup
cluster_up --datanodes 1 --replication 1
A=$T/a
B=$T/b
fuse_mount "$A"
fuse_mount "$B"
B_LOG=$T/fuse-1.log
N=300

# scan DIR [COUNT]: stats the first COUNT (all N) fNNNN of DIR in name
# order (one process).
scan() {
	python3 - "$1" "${2:-$N}" <<'EOF'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    try:
        os.stat("%s/f%04d" % (d, i))
    except FileNotFoundError:
        pass
EOF
}

# make_dir NAME: N small files in $A/NAME.
make_dir() {
	check mkdir "$A/$1"
	python3 - "$A/$1" "$N" <<'EOF'
import sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    with open("%s/f%04d" % (d, i), "w") as f:
        f.write("%d\n" % i)
EOF
}

# changed DIR: the changes below are all visible in DIR.
changed() {
	[ "$(stat -c %a "$1/f0150")" = 600 ] &&
		[ "$(stat -c %s "$1/f0151")" = $((4 + 6)) ] &&
		[ ! -e "$1/f0152" ] && [ ! -e "$1/f0153" ] && [ -e "$1/g0153" ]
}

# change DIR: chmod, append, unlink and rename of four scanned names.
change() {
	check chmod 600 "$1/f0150"
	check sh -c "echo extra >>'$1/f0151'"
	check rm "$1/f0152"
	check mv "$1/f0153" "$1/g0153"
}

# --- another mount's change shows within the timeouts ---
make_dir d1
scan "$B/d1"
change "$A/d1"
wait_until 3 changed "$B/d1" || {
	stat "$B/d1/f0150" "$B/d1/f0151" "$B/d1/f0152" "$B/d1/f0153" >&2
	fail "B still shows the state before A's change 3 s later"
}
log "a change on A showed on B within the timeout"

# --- a change on the same mount shows at once ---
make_dir d2
scan "$B/d2"
change "$B/d2"
if echo 2 >/proc/sys/vm/drop_caches 2>/dev/null; then
	changed "$B/d2" || {
		stat "$B/d2/f0150" "$B/d2/f0151" >&2
		fail "B's own change did not show on B after its names were dropped"
	}
	log "B's own change showed at once after drop_caches"
else
	changed "$B/d2" || fail "B's own change did not show on B"
	log "no drop_caches here: checked through the kernel's cache only"
fi
[ "$(cat "$B/d2/f0299")" = 299 ] || fail "an unchanged file reads wrong after the changes"

# --- close-to-open for names replaced on the other mount ---
make_dir d3
scan "$B/d3" 100 # the window now holds names B never looked up, f0100 on
for f in f0200 f0050; do
	echo "new $f" >"$A/d3/.tmp"
	check mv "$A/d3/.tmp" "$A/d3/$f"
done
expect_eq "B reads A's replacement of a name listed ahead" "new f0200" "$(cat "$B/d3/f0200")"
expect_eq "B reads A's replacement of a name in its cache" "new f0050" "$(cat "$B/d3/f0050")"
log "B read both replacements right away"

# --- a name another mount creates shows although B was told it is missing ---
check mkdir "$A/d4"
python3 - "$B/d4" <<'PYEOF'
import os, sys
d = sys.argv[1]
for i in range(200):  # B fills d4 in name order: the names after are missing
    os.close(os.open("%s/g%04d" % (d, i), os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o644))
PYEOF
[ ! -e "$B/d4/g0500" ] || fail "g0500 exists before anyone made it"
echo new >"$A/d4/g0500"
wait_until 3 test -e "$B/d4/g0500" ||
	fail "B still says g0500 is missing 3 s after A created it"
expect_eq "B reads the file A created" "new" "$(cat "$B/d4/g0500")"
log "a name A created showed on B within the timeout"

# --- the scans were answered from listings ---
fuse_umount "$B"
line=$(grep "lookups answered from" "$B_LOG") || fail "no unmount line in $B_LOG"
log "B: ${line#*INFO: }"
hits=$(sed -E 's/.*; ([0-9]+) lookups answered from ([0-9]+) lookahead.*/\1/' <<<"$line")
windows=$(sed -E 's/.*; ([0-9]+) lookups answered from ([0-9]+) lookahead.*/\2/' <<<"$line")
misses=$(sed -E 's/.*, ([0-9]+) of them missing names.*/\1/' <<<"$line")
[ "$windows" -ge 1 ] && [ "$hits" -ge $((N / 2)) ] ||
	fail "the scans were not answered from listings ($hits lookups from $windows listings)"
[ "$misses" -ge 150 ] ||
	fail "B's creates in d4 were not told missing from a listing ($misses)"
log PASS
