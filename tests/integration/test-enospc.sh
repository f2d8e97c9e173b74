#!/bin/bash
# test-enospc: the only datanode's data dir is a 64 MiB tmpfs. A small
# file fits; a 100 MiB put must fail with "No space left on device" (not
# an I/O error), the datanode must stay up, the small file stay intact,
# and no half-written replica be left in rbw/.
. "$(dirname "$0")/lib.sh"

cluster_up --datanodes 1 --replication 1 --block-size 8M --set-dn scan_bytes_per_s=0
dn_onto_tmpfs 1 64M
small_ok() { "$DFS" put -f "$T/a" /a; }
gen_data "$SEED" 5M >"$T/a"
wait_until 30 small_ok || fail "a 5 MiB file does not fit on a 64 MiB disk"

gen_data $((SEED + 1)) 100M >"$T/big"
expect_fail "No space left on device" "$DFS" put "$T/big" /big
pid_alive "$DN_TMPFS_PID" || fail "the datanode died of a full disk"
left=$(ls "$DN_TMPFS/rbw" | grep -c '^blk_' || true)
expect_eq "half-written replicas left in rbw/" 0 "$left"
check "$DFS" get /a "$T/a.back"
expect_eq "sha256 of the earlier file" "$(sha "$T/a")" "$(sha "$T/a.back")"
log "df of the full disk: $(df -h "$DN_TMPFS" | tail -n1)"
log PASS
