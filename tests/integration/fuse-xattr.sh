#!/bin/bash
# fuse-xattr: user.* extended attributes through dfs-fuse mounts of a group
# of three namenodes. setfattr/getfattr set, get, list (sorted) and remove;
# XATTR_CREATE / XATTR_REPLACE give EEXIST / ENODATA; a buffer too small
# gives ERANGE and size 0 the length (getxattr and listxattr); a binary
# value with every byte comes back intact on the other mount; a 64 KiB
# value fits and a larger one is E2BIG; other namespaces cannot be set
# (EOPNOTSUPP) and read as absent (ENODATA); symlinks carry none.
# Changes show on a second mount at once and in `dfs getfattr`; they
# survive a remount; they go with the file (a file made again under the
# same name has none). cp -a and rsync -aX into the mount keep them, cp -a
# out of it too, quietly. As root: an unprivileged uid gets EACCES on a
# file it cannot write (through the kernel and, by the CLI, from the
# namenode itself) and EPERM on a sticky directory it does not own.
# Raft: the leader is SIGKILLed and the attributes are all there on the
# new one; attributes set while it is down reach it through a snapshot
# once it is back (it is then made leader and serves them), and at the
# end the three namespaces are identical key for key.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/raft-lib.sh"
. "$DFS_SRCDIR/tests/fuse/lib-fuse.sh"

for p in setfattr getfattr python3 rsync; do
	command -v "$p" >/dev/null 2>&1 || skip "$p is not installed"
done

SNAP_ENTRIES=50 # small, so that a follower down for a while needs a snapshot
fuse_setup
cluster_up --namenodes 3 --datanodes 3 --replication 2 --block-size 1M \
	--set-nn snapshot_entries=$SNAP_ENTRIES
# lib-fuse.sh mounts with nn_addr, the single namenode's: give the group.
nn_addr() { sed -n 's/^namenodes = //; s/,/\\,/gp' "$CLUSTER/dfs.conf"; }
NN_LIST=$(sed -n 's/^namenodes = //p' "$CLUSTER/dfs.conf")
ROOT=0
[ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1 && ROOT=1
MOUNT_OPTS=()
if [ $ROOT = 1 ]; then
	chmod 711 "$T" # nobody must reach the mount points
	MOUNT_OPTS=(-o allow_other)
fi
A=$T/a
B=$T/b
fuse_mount "$A" "${MOUNT_OPTS[@]}"
fuse_mount "$B"
ENOTSUP_MSG="Operation not supported"
ENODATA_MSG="No such attribute"

# xa CMD ARGS...: the raw calls (python's os.*xattr and ctypes for the
# size arguments); prints the result or the errno's name.
cat >"$T/xa.py" <<'EOF'
import ctypes, errno, hashlib, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.getxattr.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_size_t]
libc.getxattr.restype = ctypes.c_ssize_t
libc.listxattr.argtypes = [ctypes.c_char_p, ctypes.c_void_p, ctypes.c_size_t]
libc.listxattr.restype = ctypes.c_ssize_t
BIN = bytes(range(256)) * 4
def raw(n):
    return str(n) if n >= 0 else errno.errorcode[ctypes.get_errno()]
def main(cmd, path, *a):
    flags = {"create": os.XATTR_CREATE, "replace": os.XATTR_REPLACE}
    try:
        if cmd == "set":   # set PATH NAME VALUE [create|replace]
            os.setxattr(path, a[0], a[1].encode(), flags[a[2]] if len(a) > 2 else 0)
            return "ok"
        if cmd == "setbig":  # setbig PATH NAME BYTES
            os.setxattr(path, a[0], b"x" * int(a[1]))
            return "ok"
        if cmd == "setbin":
            os.setxattr(path, "user.bin", BIN)
            return "ok"
        if cmd == "get":
            return os.getxattr(path, a[0]).decode(errors="replace")
        if cmd == "getlen":
            return str(len(os.getxattr(path, a[0])))
        if cmd == "checkbin":
            return "same" if os.getxattr(path, "user.bin") == BIN else "differs"
        if cmd == "list":
            return ",".join(os.listxattr(path))
        if cmd == "remove":
            os.removexattr(path, a[0])
            return "ok"
    except OSError as e:
        return errno.errorcode[e.errno]
    buf = ctypes.create_string_buffer(65536)
    size = int(a[-1])
    if cmd == "rawget":  # rawget PATH NAME SIZE: getxattr(2) with a SIZE buffer
        return raw(libc.getxattr(path.encode(), a[0].encode(), buf if size else None, size))
    if cmd == "rawlist":  # rawlist PATH SIZE
        return raw(libc.listxattr(path.encode(), buf if size else None, size))
    sys.exit("xa.py: unknown command " + cmd)
print(main(*sys.argv[1:]))
EOF
xa() { timeout 60 python3 "$T/xa.py" "$@"; }
# value FILE NAME: the value getfattr prints (its own encoding).
value() { getfattr --absolute-names -n "$2" "$1" 2>&1 | sed -n "s/^$2=//p"; }
# names FILE: the attribute names getfattr lists, one per line.
names() { getfattr --absolute-names -m - "$1" | grep -v '^#' | grep . ; }

# --- set, get, list, remove with the attr tools ---
echo data >"$A/f"
check setfattr -n user.greeting -v hello "$A/f"
expect_eq "value just set" hello "$(getfattr --absolute-names --only-values -n user.greeting "$A/f")"
check setfattr -n user.empty "$A/f"
check setfattr -n user.hex -v 0x00ff7f "$A/f"
expect_eq "a value with NUL and 0xff bytes" 0x00ff7f \
	"$(getfattr --absolute-names -e hex -n user.hex "$A/f" | sed -n 's/^user.hex=//p')"
expect_eq "names, sorted" "user.empty user.greeting user.hex" "$(names "$A/f" | xargs)"
expect_eq "getfattr -d" "# file: $A/f
user.empty=\"\"
user.greeting=\"hello\"
user.hex=0sAP9/" "$(getfattr -d --absolute-names "$A/f")"
check setfattr -x user.greeting "$A/f"
expect_fail "$ENODATA_MSG" getfattr --absolute-names -n user.greeting "$A/f"
expect_fail "$ENODATA_MSG" setfattr -x user.greeting "$A/f"
expect_eq "names after a remove" "user.empty user.hex" "$(names "$A/f" | xargs)"
check mkdir "$A/d"
check setfattr -n user.dir -v yes "$A/d"
expect_eq "a directory's attribute" '"yes"' "$(value "$A/d" user.dir)"

# --- flags, sizes, errors: the system calls themselves ---
expect_eq "XATTR_CREATE of an existing one" EEXIST "$(xa set "$A/f" user.empty v create)"
expect_eq "XATTR_REPLACE of a missing one" ENODATA "$(xa set "$A/f" user.nope v replace)"
expect_eq "XATTR_REPLACE of an existing one" ok "$(xa set "$A/f" user.empty v2 replace)"
expect_eq "XATTR_CREATE of a new one" ok "$(xa set "$A/f" user.new nv create)"
expect_eq "getxattr size 0: the length" 2 "$(xa rawget "$A/f" user.empty 0)"
expect_eq "getxattr, buffer too small" ERANGE "$(xa rawget "$A/f" user.empty 1)"
expect_eq "getxattr, buffer just big enough" 2 "$(xa rawget "$A/f" user.empty 2)"
# "user.empty\0user.hex\0user.new\0"
expect_eq "listxattr size 0: the length" 29 "$(xa rawlist "$A/f" 0)"
expect_eq "listxattr, buffer too small" ERANGE "$(xa rawlist "$A/f" 28)"
expect_eq "listxattr, buffer just big enough" 29 "$(xa rawlist "$A/f" 29)"
expect_eq "removexattr of a missing one" ENODATA "$(xa remove "$A/f" user.nope)"
expect_eq "1 KiB with every byte value" ok "$(xa setbin "$A/f")"
expect_eq "binary value read back on the other mount" same "$(xa checkbin "$B/f")"
expect_eq "a 64 KiB value" ok "$(xa setbig "$A/f" user.big 65536)"
expect_eq "a 64 KiB value read back" 65536 "$(xa getlen "$B/f" user.big)"
expect_eq "a value over 64 KiB" E2BIG "$(xa setbig "$A/f" user.big2 65537)"
check xa remove "$A/f" user.big
long=user.$(printf 'n%.0s' $(seq 250)) # 255 bytes
expect_eq "a 255-byte name" ok "$(xa set "$A/f" "$long" v)"
expect_eq "a 256-byte name" ERANGE "$(xa set "$A/f" "${long}n" v)"
check xa remove "$A/f" "$long"
expect_fail "$ENOTSUP_MSG" setfattr -n trusted.x -v 1 "$A/f"
expect_eq "security.* cannot be set (EOPNOTSUPP)" ENOTSUP "$(xa set "$A/f" security.x v)"
expect_eq "security.capability reads as absent" ENODATA "$(xa get "$A/f" security.capability)"
expect_eq "system.posix_acl_access reads as absent" ENODATA \
	"$(xa get "$A/f" system.posix_acl_access)"
check ln -s f "$A/l"
expect_eq "symlinks carry none (EPERM, as on Linux)" EPERM \
	"$(timeout 60 python3 -c 'import os, sys
try:
    os.setxattr(sys.argv[1], "user.x", b"1", follow_symlinks=False); print("ok")
except OSError as e:
    print(__import__("errno").errorcode[e.errno])' "$A/l")"
expect_eq "getfattr follows the symlink" '"v2"' "$(value "$A/l" user.empty)"

# --- another mount sees every change at once, and so does the CLI ---
expect_eq "value on the other mount" '"v2"' "$(value "$B/f" user.empty)"
check setfattr -n user.fromb -v bee "$B/f"
expect_eq "B's new attribute on A" '"bee"' "$(value "$A/f" user.fromb)"
check setfattr -x user.fromb "$B/f"
expect_fail "$ENODATA_MSG" getfattr --absolute-names -n user.fromb "$A/f"
expect_eq "dfs getfattr" v2 "$(timeout 60 "$DFS" getfattr --only-values -n user.empty /f)"
check timeout 60 "$DFS" setfattr -n user.cli -v 0x636c69 /f
expect_eq "set by the CLI, read through the mount" cli \
	"$(getfattr --absolute-names --only-values -n user.cli "$A/f")"
expect_eq "dfs getfattr -d" "# file: /f
user.bin=0s$(python3 -c 'import base64; print(base64.b64encode(bytes(range(256)) * 4).decode())')
user.cli=\"cli\"
user.empty=\"v2\"
user.hex=0sAP9/
user.new=\"nv\"" "$(timeout 60 "$DFS" getfattr -d /f)"

# --- a remount keeps them ---
fuse_umount "$A"
fuse_mount "$A" "${MOUNT_OPTS[@]}"
expect_eq "after a remount" '"v2"' "$(value "$A/f" user.empty)"
expect_eq "binary value after a remount" same "$(xa checkbin "$A/f")"

# --- they go with the file ---
check ln "$A/f" "$A/f2"
expect_eq "a hard link shares them" '"v2"' "$(value "$A/f2" user.empty)"
check rm "$A/f"
expect_eq "still there through the other link" '"v2"' "$(value "$A/f2" user.empty)"
check rm "$A/f2"
echo again >"$A/f"
expect_eq "a new file of the same name has none" "" "$(xa list "$A/f")"
# B may still hold the old name for entry_timeout (1 s): wait for the new inode
wait_until 10 eval '[ "$(stat -c %i "$B/f")" = "$(stat -c %i "$A/f")" ]' ||
	fail "the other mount does not see the new file"
expect_eq "... seen from the other mount too" "" "$(xa list "$B/f")"
check rmdir "$A/d"
check mkdir "$A/d"
expect_eq "a new directory of the same name has none" "" "$(xa list "$A/d")"

# --- cp -a and rsync -aX keep them, both ways, without complaints ---
SRC=$T/src
mkdir -p "$SRC/sub"
echo one >"$SRC/sub/file"
setfattr -n user.origin -v local "$SRC/sub/file" &&
	setfattr -n user.raw -v 0x0001fe "$SRC/sub/file" &&
	setfattr -n user.dir -v yes "$SRC/sub" ||
	fail "the local file system in $T takes no user.* attributes"
err=$(timeout 120 cp -a "$SRC" "$A/cpa" 2>&1) || fail "cp -a into the mount: $err"
expect_eq "cp -a into the mount is quiet" "" "$err"
expect_eq "cp -a: a file's attribute" '"local"' "$(value "$A/cpa/sub/file" user.origin)"
expect_eq "cp -a: a binary attribute" 0x0001fe \
	"$(getfattr --absolute-names -e hex -n user.raw "$A/cpa/sub/file" | sed -n 's/^user.raw=//p')"
expect_eq "cp -a: a directory's attribute" '"yes"' "$(value "$A/cpa/sub" user.dir)"
err=$(timeout 120 rsync -aX "$SRC/" "$A/rs/" 2>&1) || fail "rsync -aX into the mount: $err"
expect_eq "rsync -aX: a file's attributes" "user.origin user.raw" \
	"$(names "$A/rs/sub/file" | xargs)"
expect_eq "rsync -aX: a directory's attribute" '"yes"' "$(value "$A/rs/sub" user.dir)"
err=$(timeout 120 cp -a "$A/cpa" "$T/back" 2>&1) || fail "cp -a out of the mount: $err"
expect_eq "cp -a out of the mount is quiet" "" "$err"
expect_eq "cp -a out of the mount" '"local"' "$(value "$T/back/sub/file" user.origin)"
err=$(ls -l "$A/cpa/sub" 2>&1 >/dev/null)
expect_eq "ls -l is quiet" "" "$err"

# --- another uid: EACCES without write permission, EPERM on a sticky dir ---
if [ $ROOT = 1 ]; then
	NOBODY=65534
	as_nobody() { timeout 60 setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups "$@"; }
	echo pub >"$A/pub" && chmod 644 "$A/pub"
	check setfattr -n user.owner -v root "$A/pub"
	expect_fail "Permission denied" as_nobody setfattr -n user.x -v 1 "$A/pub"
	expect_fail "Permission denied" as_nobody setfattr -x user.owner "$A/pub"
	expect_eq "nobody reads a readable file's attribute" root \
		"$(as_nobody getfattr --absolute-names --only-values -n user.owner "$A/pub")"
	# the namenode checks too, without the kernel in between (the CLI)
	expect_fail "Permission denied" as_nobody env -u DFS_CONF "$DFS" -n "$NN_LIST" \
		setfattr -n user.x -v 1 /pub
	check chmod 600 "$A/pub"
	expect_fail "Permission denied" as_nobody getfattr -n user.owner "$A/pub"
	expect_fail "Permission denied" as_nobody env -u DFS_CONF "$DFS" -n "$NN_LIST" \
		getfattr -n user.owner /pub
	check mkdir -m 1777 "$A/sticky"
	expect_fail "Operation not permitted" as_nobody setfattr -n user.x -v 1 "$A/sticky"
	echo open >"$A/open" && chmod 666 "$A/open"
	check as_nobody setfattr -n user.nobody -v was-here "$A/open"
	expect_eq "nobody sets one on a file it may write" '"was-here"' \
		"$(value "$A/open" user.nobody)"
else
	log "not root: skipping the other-uid checks"
fi

# --- Raft: the leader dies; attributes set meanwhile reach it again ---
echo raft >"$A/r"
check setfattr -n user.before -v 1 "$A/r"
L1=$(leader_id)
[ -n "$L1" ] || fail "no leader"
pid=$(nn_pid_of "$L1")
kill -KILL "$pid" || fail "kill nn$L1"
wait_until 10 eval "! pid_alive $pid" || fail "nn$L1 survived SIGKILL"
log "killed leader nn$L1"
wait_until 30 has_leader_other_than "$L1" || fail "no new leader after killing nn$L1"
expect_eq "set before the failover, read after" '"1"' "$(value "$A/r" user.before)"
# more changes than snapshot_entries while nn$L1 is down: it needs a snapshot
for i in $(seq 1 $((SNAP_ENTRIES + 20))); do
	setfattr -n "user.during$((i % 10))" -v "$i" "$A/r" || fail "setfattr $i after the failover"
done
check setfattr -n user.after -v 2 "$B/r"
check setfattr -x user.before "$B/r"
lines=$(wc -l <"$CLUSTER/logs/nn$L1.log")
dc start "nn$L1"
wait_until 60 caught_up "$L1" || fail "nn$L1 did not catch up: $(raft_status)"
tail -n +"$lines" "$CLUSTER/logs/nn$L1.log" | grep -q "installed snapshot" ||
	fail "nn$L1 caught up without installing a snapshot"
check timeout 60 "$DFS" admin raft transfer "$L1"
wait_until 30 eval '[ "$(leader_id)" = "$L1" ]' || fail "nn$L1 did not become leader"
log "nn$L1 is leader again"
expect_eq "set while nn$L1 was down, served by it" '"2"' "$(value "$A/r" user.after)"
expect_eq "the last of the loop" "\"$((SNAP_ENTRIES + 20))\"" \
	"$(value "$A/r" "user.during$(((SNAP_ENTRIES + 20) % 10))")"
expect_fail "$ENODATA_MSG" getfattr --absolute-names -n user.before "$B/r"

# --- the three namespaces hold the same attributes, key for key ---
target=$(leader_applied)
for id in $(awk '{print $1}' "$CLUSTER/nn-peers"); do
	[ "$id" = "$L1" ] || wait_until 30 caught_up "$id" "$target" ||
		fail "nn$id did not catch up: $(raft_status)"
done
fuse_umount "$B"
fuse_umount "$A"
"$DFS_CLUSTER" down --dir "$CLUSTER" >/dev/null 2>&1 || fail "dfs-cluster down"
nn=$DFS_BUILDDIR/namenode/dfs-namenode
first=
for id in $(awk '{print $1}' "$CLUSTER/nn-peers"); do
	"$nn" --dump-namespace="$CLUSTER/nn$id/name" >"$T/dump-$id" 2>"$T/dump.err" ||
		fail "dump of nn$id: $(cat "$T/dump.err")"
	# x/<ino> keys: "x/" is 782f in hex
	n=$(grep -c '^782f' "$T/dump-$id")
	[ "$n" -ge 5 ] || fail "nn$id holds only $n attribute records"
	if [ -z "$first" ]; then
		first=$id
	else
		cmp -s "$T/dump-$first" "$T/dump-$id" ||
			fail "namespaces of nn$first and nn$id differ: $(diff "$T/dump-$first" "$T/dump-$id" | head -5)"
	fi
done
log "three namespaces identical, $n attribute records each"
log PASS
