#!/bin/bash
# fuse-dn-kill: a datanode is SIGKILLed while a 200 MiB file is being
# written through a dfs-fuse mount (replication 3 on 3 datanodes, so the
# dead one is in the pipeline of the block being written). libdfs's
# pipeline recovery carries on with the survivors: the writer's dd and
# close succeed and the file reads back byte-identical, through the mount
# (after a remount, so nothing comes from the kernel's cache) and through
# the CLI.
. "$(dirname "$0")/lib.sh"
. "$DFS_SRCDIR/tests/fuse/lib-fuse.sh"

SIZE_MIB=${DFS_FUSE_KILL_MIB:-200}
HALF=$((SIZE_MIB / 2 * 1048576))

fuse_setup
cluster_up --datanodes 3 --replication 3 --block-size 32M
M=$T/mnt
fuse_mount "$M"

gen_data "$SEED-kill" $((SIZE_MIB * 1048576)) >"$T/src"
want=$(sha "$T/src")

# The writer sends the first half, says so, waits for "go" on a FIFO,
# then sends the rest, all through one open file: the kill lands in the
# middle of a block that is streaming. (When head is done, dd has taken
# all but a pipe buffer and one 1 MiB block of the first half.)
mkfifo "$T/go"
(
	head -c $HALF "$T/src"
	: >"$T/half-sent"
	timeout 120 sh -c "read x <'$T/go'" || exit 1
	tail -c +$((HALF + 1)) "$T/src"
) | timeout 600 dd of="$M/big" bs=1M iflag=fullblock status=none 2>"$T/dd.err" &
WRITER=$!
TEST_PIDS+=("$WRITER")

wait_until 300 test -e "$T/half-sent" || fail "the writer never sent the first half"
timeout 30 sh -c "echo go >'$T/go'" || fail "the writer is not waiting for go"
kill_dn 2
log "datanode 2 killed while writing"

wait "$WRITER" || fail "the write through the mount failed after the datanode died: $(cat "$T/dd.err")"
# The kill must have hit the pipeline (else this test proved nothing).
grep -q "recovering the pipeline" "$T/fuse-0.log" ||
	fail "dfs-fuse logged no pipeline recovery: the kill missed the write"
expect_eq "size through the mount" $((SIZE_MIB * 1048576)) "$(stat -c %s "$M/big")"
expect_eq "sha256 through the mount" "$want" "$(timeout 300 sha256sum <"$M/big" | cut -d' ' -f1)"
fuse_umount "$M"
fuse_mount "$M"
expect_eq "sha256 after a remount" "$want" "$(timeout 300 sha256sum <"$M/big" | cut -d' ' -f1)"
check timeout 300 "$DFS" get /big "$T/back"
expect_eq "sha256 through the CLI" "$want" "$(sha "$T/back")"
all_alive_but() { # the others kept running
	pid_alive "$(dn_pid 1)" && pid_alive "$(dn_pid 3)" && pid_alive "$(nn_pid)"
}
all_alive_but || fail "another daemon died"
fuse_umount "$M"
log PASS
