#!/bin/bash
# test-put-get-200m: a 200 MiB file at replication 3 in 32 MiB blocks comes
# back byte-identical, every block sits on 3 distinct live datanodes, and it
# still comes back identical after one datanode is SIGKILLed.
. "$(dirname "$0")/lib.sh"

BLOCK=32M
SIZE_MB=200
NBLOCKS=$(((SIZE_MB + 31) / 32))
cluster_up --datanodes 3 --replication 3 --block-size $BLOCK

gen_data "$SEED" "${SIZE_MB}M" >"$T/src" || fail "generating data"
want=$(sha "$T/src")
log "source sha256 $want"

start=$SECONDS
check "$DFS" put "$T/src" /big
log "put ${SIZE_MB} MiB in $((SECONDS - start))s"

start=$SECONDS
check "$DFS" get /big "$T/out1"
log "get in $((SECONDS - start))s"
expect_eq "sha256 after get" "$want" "$(sha "$T/out1")"
rm -f "$T/out1"

# Block map: each line naming replicas must list 3 distinct datanodes of ours.
dns=" $(dn_addr 1) $(dn_addr 2) $(dn_addr 3) "
check "$DFS" blocks /big
"$DFS" blocks /big >"$T/blocks" 2>&1
cat "$T/blocks"
nlines=0
while IFS= read -r line; do
	addrs=$(grep -oE '([0-9]{1,3}\.){3}[0-9]{1,3}:[0-9]+|localhost:[0-9]+' <<<"$line" | sort -u)
	[ -n "$addrs" ] || continue
	nlines=$((nlines + 1))
	n=$(wc -l <<<"$addrs")
	expect_eq "distinct replicas in '$line'" 3 "$n"
	for a in $addrs; do
		[[ "$dns" == *" $a "* ]] || fail "replica $a in '$line' is not one of our datanodes:$dns"
	done
done <"$T/blocks"
expect_eq "blocks of a ${SIZE_MB} MiB file in $BLOCK blocks" "$NBLOCKS" "$nlines"
total=$(grep -oE 'length=[0-9]+' "$T/blocks" | cut -d= -f2 | awk "{s += \$1} END {print s}")
expect_eq "sum of block lengths" $((SIZE_MB << 20)) "$total"

log "SIGKILL datanode 2 ($(dn_addr 2))"
kill_dn 2
start=$SECONDS
check "$DFS" get /big "$T/out2"
log "get with a dead datanode in $((SECONDS - start))s"
expect_eq "sha256 after get with a dead datanode" "$want" "$(sha "$T/out2")"
log PASS
