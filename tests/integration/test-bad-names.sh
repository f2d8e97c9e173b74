#!/bin/bash
# test-bad-names: names the namespace must refuse (empty, ".", "..", "/" or
# NUL inside a name, over 255 bytes) get clear errors and lose nothing;
# a 255-byte name works. The *_at cases go through the bad-names-at helper
# (libdfs), the rest through the CLI.
. "$(dirname "$0")/lib.sh"

cluster_up --datanodes 3
dfs() { "$DFS" "$@"; }

n255=$(printf 'n%.0s' $(seq 255))
n256=${n255}x
echo keep >"$T/keep"

check dfs mkdir -p /d/sub
check dfs put "$T/keep" /d/keep
snapshot() { dfs ls -R / 2>&1; }
before=$(snapshot)

# 255 bytes: allowed, as a directory and as a file, and listed back.
check dfs mkdir "/d/$n255"
check dfs put "$T/keep" "/d/sub/$n255"
expect_eq "255-byte file content" keep "$(dfs cat "/d/sub/$n255")"
dfs ls /d/sub | grep -q "$n255" || fail "ls does not show the 255-byte name"

# 256 bytes: File name too long, from every command that creates.
expect_fail "^dfs: mkdir: /d/$n256: File name too long$" dfs mkdir "/d/$n256"
expect_fail "^dfs: put: /d/$n256: File name too long$" dfs put "$T/keep" "/d/$n256"
expect_fail "^dfs: touch: /d/$n256: File name too long$" dfs touch "/d/$n256"
expect_fail "File name too long" dfs mv /d/keep "/d/$n256"
expect_fail "File name too long" dfs ln -s /d/keep "/d/$n256"
expect_fail "File name too long" dfs cp /d/keep "/d/$n256"
expect_fail "^dfs: stat: /d/$n256: (File name too long|No such file or directory)$" dfs stat "/d/$n256"
dfs test -e /d/keep || fail "failed mv lost /d/keep"

# Empty names, "." and "..": clear errors, nothing created or removed.
expect_fail '^dfs: mkdir: ' dfs mkdir ""
expect_fail '^dfs: put: ' dfs put "$T/keep" ""
expect_fail '^dfs: mkdir: ' dfs mkdir /d/.
expect_fail '^dfs: mkdir: ' dfs mkdir /d/..
expect_fail '^dfs: rm: ' dfs rm -r /d/..   # would be the root
expect_fail '^dfs: rm: ' dfs rm -r /
expect_fail '^dfs: rmdir: ' dfs rmdir /d/sub/..
expect_fail '^dfs: mv: ' dfs mv /d /d/sub/inside # a directory under itself
dfs test -d /d/sub || fail "/d/sub lost"
expect_eq "/d/keep after the refused calls" keep "$(dfs cat /d/keep)"

# The *_at calls see names exactly as given (no path normalisation).
# Its failures are reported at the end, after the checks below have run.
at_failed=
[ -x "$DFS_BUILDDIR/tests/integration/bad-names-at" ] ||
	fail "$DFS_BUILDDIR/tests/integration/bad-names-at is not built"
"$DFS_BUILDDIR/tests/integration/bad-names-at" || at_failed=1

# Everything from before is still there.
after=$(snapshot)
while IFS= read -r line; do
	grep -qxF -- "$line" <<<"$after" || fail "lost after bad names: '$line'"
done <<<"$before"
all_alive || fail "a daemon died"
[ -z "$at_failed" ] || fail "bad-names-at: some *_at calls accepted a bad name (see above)"
log PASS
