#!/bin/bash
# fuse-perms: access checks for an unprivileged uid (nobody, 65534, through
# setpriv with no supplementary groups) on a dfs-fuse mount made by root
# with allow_other: EACCES reading a 0600 file of root, writing a 0644 one,
# creating or removing in a 0755 root directory, traversing a 0700 one;
# EPERM for chmod / chown / utimes of another's file and for removing
# another's file in a sticky directory; group permission bits honoured;
# success (with the right owner) in a 0777 directory; a file its owner
# makes read-only while writing it still closes with its data. A second mount
# without allow_other refuses the other uid altogether.
. "$(dirname "$0")/lib.sh"
. "$DFS_SRCDIR/tests/fuse/lib-fuse.sh"

[ "$(id -u)" = 0 ] || skip "needs root (to mount with allow_other and switch uid)"
command -v setpriv >/dev/null 2>&1 || skip "no setpriv"

fuse_setup
cluster_up --datanodes 3 --replication 2 --block-size 1M
chmod 711 "$T" # nobody must reach the mount points
M=$T/mnt
fuse_mount "$M" -o allow_other
NOBODY=65534

# as_nobody CMD...: runs CMD as uid/gid 65534 without supplementary groups.
as_nobody() {
	timeout 60 setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups "$@"
}
EACCES="Permission denied"
EPERM="Operation not permitted"

# --- what root sets up ---
echo secret >"$M/secret" && chmod 600 "$M/secret"
echo public >"$M/public" && chmod 644 "$M/public"
check mkdir -m 755 "$M/rootdir"
echo keep >"$M/rootdir/keep"
check mkdir -m 700 "$M/private"
echo hidden >"$M/private/f" && chmod 644 "$M/private/f"
check mkdir -m 777 "$M/open"
check mkdir -m 1777 "$M/sticky"
echo roots >"$M/sticky/roots" && chmod 666 "$M/sticky/roots"
echo group >"$M/grp" && chmod 640 "$M/grp" && chown 0:$NOBODY "$M/grp"
echo nogroup >"$M/nogrp" && chmod 604 "$M/nogrp" && chown 0:$NOBODY "$M/nogrp"

# --- EACCES where POSIX says so ---
expect_fail "$EACCES" as_nobody cat "$M/secret"
expect_eq "public file readable" public "$(as_nobody cat "$M/public")"
expect_fail "$EACCES" as_nobody sh -c "echo x >>'$M/public'"
expect_fail "$EACCES" as_nobody truncate -s 0 "$M/public"
expect_fail "$EACCES" as_nobody touch "$M/rootdir/new"
expect_fail "$EACCES" as_nobody mkdir "$M/rootdir/newdir"
expect_fail "$EACCES" as_nobody rm -f "$M/rootdir/keep"
expect_fail "$EACCES" as_nobody mv "$M/rootdir/keep" "$M/open/stolen"
expect_fail "$EACCES" as_nobody ln -s x "$M/rootdir/link"
expect_fail "$EACCES" as_nobody ls "$M/private"
expect_fail "$EACCES" as_nobody cat "$M/private/f"
expect_eq "group read bit for a member" group "$(as_nobody cat "$M/grp")"
# owner class > group class > other: group bits 0 deny even though other may read
expect_fail "$EACCES" as_nobody cat "$M/nogrp"
expect_eq "rootdir unchanged" keep "$(ls "$M/rootdir")"
[ "$(cat "$M/public")" = public ] || fail "public file changed"

# --- EPERM: changing another's file ---
expect_fail "$EPERM" as_nobody chmod 666 "$M/public"
expect_fail "$EPERM" as_nobody chown $NOBODY "$M/public"
# utimensat: explicit times need ownership (EPERM); "now" needs write
# access (EACCES). (touch -c: no open(2) first, straight to utimensat.)
expect_fail "$EPERM" as_nobody touch -c -d "2001-01-01" "$M/public"
expect_fail "$EACCES" as_nobody touch -c "$M/public"
expect_fail "$EPERM" as_nobody rm -f "$M/sticky/roots"
expect_eq "mode unchanged" 644 "$(stat -c %a "$M/public")"
[ -e "$M/sticky/roots" ] || fail "nobody removed root's file from a sticky dir"

# --- success in a 0777 directory, owned by the caller ---
check as_nobody sh -c "echo mine >'$M/open/mine'"
expect_eq "owner of a file made by nobody" "$NOBODY:$NOBODY" "$(stat -c %u:%g "$M/open/mine")"
expect_eq "read back as nobody" mine "$(as_nobody cat "$M/open/mine")"
check as_nobody chmod 600 "$M/open/mine"
expect_eq "chmod of an own file" 600 "$(stat -c %a "$M/open/mine")"
check as_nobody touch -d "2002-03-04 05:06:07 UTC" "$M/open/mine"
expect_eq "utimes of an own file" 1015218367 "$(stat -c %Y "$M/open/mine")"
expect_fail "$EPERM" as_nobody chown 0 "$M/open/mine" # giving away: EPERM
check as_nobody mkdir "$M/open/sub"
check as_nobody mv "$M/open/mine" "$M/open/sub/mine2"
expect_eq "root still reads nobody's 0600 file" mine "$(cat "$M/open/sub/mine2")"
check as_nobody sh -c "echo s >'$M/sticky/nobodys'"
check as_nobody rm "$M/sticky/nobodys" # own file in a sticky dir: fine
check as_nobody rm "$M/open/sub/mine2"
check as_nobody rmdir "$M/open/sub"
# a file its owner makes read-only while writing it keeps its data (the
# close must still publish it): cp of a read-only file, and bytes written
# through an fd opened before a chmod 400
printf 'read-only source\n' >"$T/ro-src" && chmod 444 "$T/ro-src"
check as_nobody cp "$T/ro-src" "$M/open/ro-copy"
expect_eq "cp of a read-only file" "read-only source" "$(cat "$M/open/ro-copy")"
expect_eq "its mode" 444 "$(stat -c %a "$M/open/ro-copy")"
head -c 300000 /dev/urandom >"$T/ro-data" && chmod 644 "$T/ro-data"
check as_nobody sh -c "exec 3>'$M/open/ro-late' && chmod 400 '$M/open/ro-late' &&
	cat '$T/ro-data' >&3 && exec 3>&-"
expect_eq "written after chmod 400" "$(sha256sum <"$T/ro-data")" \
	"$(sha256sum <"$M/open/ro-late")"
expect_fail "$EACCES" as_nobody sh -c "echo x >>'$M/open/ro-late'"
# a 0700 directory of nobody is closed to ... nobody else but root
check as_nobody mkdir -m 700 "$M/open/nb"
check ls "$M/open/nb"

# --- without allow_other another uid cannot use the mount at all ---
M2=$T/mnt2
fuse_mount "$M2"
expect_fail "$EACCES" as_nobody stat "$M2/public"
expect_eq "root uses the mount without allow_other" public "$(cat "$M2/public")"

fuse_umount "$M2"
fuse_umount "$M"
log PASS
