#!/bin/bash
# fuse-small-files: a client that has been creating files with data asks
# the CREATE for the new file's first block (NSF_ALLOC_BLOCK), so a small
# file's close writes at once with no ADD_BLOCK; one that has been
# creating empty files stops asking. Through a mount:
#  - 20 files of 1 B .. 300 KiB copied in (chain above 256 KiB) read back
#    byte for byte on the mount and through another client (dfs get);
#  - from the fifth file on, the namenode logged a block allocated with
#    the file's create, and that block is the one the file holds (the
#    writer used it: `dfs blocks` shows the same id);
#  - after a run of 20 empty files (O_EXCL creates), the last five
#    allocated none.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-durability.sh"
. "$DFS_SRCDIR/tests/fuse/lib-fuse.sh"

fuse_setup
cluster_up --datanodes 3 --replication 3 --set-nn log_level=debug
M=$T/m
fuse_mount "$M"
NN_LOG=$CLUSTER/logs/namenode.log
N=20

# allocated_id INO: the block id the namenode allocated with inode INO's
# create ("" if none).
allocated_id() {
	sed -nE "s/.*inode $1: block 0 allocated with its create: id=([0-9]+).*/\1/p" "$NN_LOG"
}

mkdir "$M/d"
for i in $(seq 1 $N); do
	gen_data $((SEED + i)) $(((i * i * i * 37 + 1) % 307201)) >"$T/src$i"
	check cp "$T/src$i" "$M/d/f$i"
done
for i in $(seq 1 $N); do
	expect_eq "f$i through the mount" "$(sha "$T/src$i")" "$(sha "$M/d/f$i")"
	check "$DFS" get "/d/f$i" "$T/back$i"
	expect_eq "f$i through another client" "$(sha "$T/src$i")" "$(sha "$T/back$i")"
done
# The mount learns at each file's release, which the kernel sends after
# close returns: the next cp's create may come first, so the first few
# files may go without; from the fifth on every one must have its block.
for i in $(seq 2 $N); do
	ino=$(stat -c %i "$M/d/f$i")
	want=$(allocated_id "$ino")
	if [ -z "$want" ]; then
		[ "$i" -lt 5 ] || fail "f$i (inode $ino): no block allocated with its create"
		continue
	fi
	got=$(block_id "/d/f$i" 0)
	expect_eq "f$i holds the block allocated with its create" "$want" "$got"
done
log "files 5..$N (at least) were written into the blocks their creates allocated"

# create_empty PATH: an exclusive create closed at once (the mount bench's).
create_empty() {
	python3 -c 'import os, sys
os.close(os.open(sys.argv[1], os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))' "$1"
}
for i in $(seq 1 $N); do
	check create_empty "$M/d/e$i"
done
for i in $(seq $((N - 4)) $N); do
	ino=$(stat -c %i "$M/d/e$i")
	[ -z "$(allocated_id "$ino")" ] ||
		fail "empty e$i (inode $ino) still got a block with its create"
done
log "after $N empty files, creates ask for no block"

fuse_umount "$M"
log PASS
