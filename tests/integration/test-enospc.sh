#!/bin/bash
# test-enospc: the only datanode's data dir is a 64 MiB tmpfs. A small
# file fits; a 100 MiB put must fail with "No space left on device" (not
# an I/O error), the datanode must stay up, the small file stay intact,
# and no half-written replica be left in rbw/.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip "mounting a tmpfs needs root"
setup
MNT=$T/small
mkdir -p "$MNT"
mount -t tmpfs -o size=64M dfs-test-enospc "$MNT" 2>/dev/null || skip "cannot mount a tmpfs here"
trap 'rc=$?; umount -l "$MNT" 2>/dev/null; (exit $rc); cleanup' EXIT

cluster_up --datanodes 1 --replication 1 --block-size 8M --set-dn scan_bytes_per_s=0
# datanode 1 moves onto the tmpfs (its VERSION too: same uuid)
kill_dn 1
cp -a "$CLUSTER/dn1/data/." "$MNT/"
rm -f "$CLUSTER/ports/dn1.port"
"$DFS_BUILDDIR/datanode/dfs-datanode" -c "$CLUSTER/dn1/datanode.conf" -s port=0 \
	-s "data_dirs=$MNT" --port-file "$CLUSTER/ports/dn1.port" >>"$CLUSTER/logs/dn1.log" 2>&1 &
dnpid=$!
TEST_PIDS+=("$dnpid")
echo "$dnpid" >"$CLUSTER/pids/dn1.pid"
wait_until 30 test -s "$CLUSTER/ports/dn1.port" || fail "datanode 1 did not restart"
small_ok() { "$DFS" put -f "$T/a" /a; }
gen_data "$SEED" 5M >"$T/a"
wait_until 30 small_ok || fail "a 5 MiB file does not fit on a 64 MiB disk"

gen_data $((SEED + 1)) 100M >"$T/big"
expect_fail "No space left on device" "$DFS" put "$T/big" /big
pid_alive "$dnpid" || fail "the datanode died of a full disk"
left=$(ls "$MNT/rbw" | grep -c '^blk_' || true)
expect_eq "half-written replicas left in rbw/" 0 "$left"
check "$DFS" get /a "$T/a.back"
expect_eq "sha256 of the earlier file" "$(sha "$T/a")" "$(sha "$T/a.back")"
log "df of the full disk: $(df -h "$MNT" | tail -n1)"
log PASS
