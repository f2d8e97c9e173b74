#!/bin/bash
# fuse-fsx: tests/fuse/fsx-dfs runs a seeded random sequence of writes,
# pwrites at random offsets, truncates, reads, close/reopens, mmap reads
# and shared writable mmap writes (msync'ed or left to writeback)
# (100,000 ops by default, as the FUSE issue asks; 5 to 11 minutes on a
# shared 2-core machine, so it may take up to 1100 s) against
# a file in a dfs-fuse mount and a local reference file; any difference
# fails with the seed. The cluster uses
# 1 MiB blocks so operations cross block boundaries all the time.
. "$(dirname "$0")/lib.sh"
. "$DFS_SRCDIR/tests/fuse/lib-fuse.sh"

FSX=$DFS_BUILDDIR/tests/fuse/fsx-dfs
FSX_OPS=${DFS_FSX_OPS:-100000}
[ -x "$FSX" ] || fail "$FSX is not built"

fuse_setup
cluster_up --datanodes 3 --replication 2 --block-size 1M
M=$T/mnt
fuse_mount "$M"

fsx_seed=$(( $(cksum <<<"$SEED" | cut -d' ' -f1) % 1000000 + 1 ))
start=$SECONDS
if ! timeout 1100 "$FSX" -S "$fsx_seed" -N "$FSX_OPS" -l $((5 * 1024 * 1024)) -o $((192 * 1024)) \
	"$M/fsx.file" "$T/fsx.ref"; then
	fail "fsx-dfs failed (fsx seed $fsx_seed; rerun: $FSX -S $fsx_seed -N $FSX_OPS -l 5242880 -o 196608 FILE REF)"
fi
log "fsx-dfs: $FSX_OPS ops in $((SECONDS - start))s"

# What the mount left behind is what the CLI reads.
check timeout 120 "$DFS" get /fsx.file "$T/fsx.cli"
expect_eq "sha256 of the fsx file through the CLI" "$(sha "$T/fsx.ref")" "$(sha "$T/fsx.cli")"
log PASS
