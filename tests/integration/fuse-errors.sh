#!/bin/bash
# fuse-errors: calls through the mount that must fail do so with the errno
# POSIX gives, never a generic EIO: ENOENT, EEXIST, ENOTDIR, EISDIR,
# ENOTEMPTY, EINVAL, EPERM, ENAMETOOLONG (a 256-byte name; 255 works),
# EROFS on a read-only mount (which still reads), and ENOSPC when the only
# datanode's disk (a 64 MiB tmpfs) is full, after which the mount, the
# datanode and the earlier files are fine. Device nodes and sockets are
# namespace entries whose I/O stays on this machine: a character device
# made in the mount (-o dev) opens as the local /dev/null, and a socket
# bound in it carries data.
. "$(dirname "$0")/lib.sh"
. "$DFS_SRCDIR/tests/fuse/lib-fuse.sh"

fuse_setup
cluster_up --datanodes 1 --replication 1 --block-size 8M --set-dn scan_bytes_per_s=0
dn_onto_tmpfs 1 64M
M=$T/m
fuse_mount "$M" -o dev
TO="timeout 120"

# --- each errno, from one process ---
$TO python3 - "$M" <<'PY' || fail "a call through the mount failed with the wrong errno"
import errno, os, socket, stat, sys
m = sys.argv[1]
bad = 0
def expect(what, err, fn, *args):
    global bad
    try:
        fn(*args)
        got = 0
    except OSError as e:
        got = e.errno
    ok = got == err
    print(("ok   " if ok else "FAIL ") + "%s: %s (want %s)" % (
        what, errno.errorcode.get(got, got) if got else "success",
        errno.errorcode.get(err, err) if err else "success"))
    bad += not ok
def check(what, ok):
    global bad
    print(("ok   " if ok else "FAIL ") + what)
    bad += not ok
def p(*parts):
    return os.path.join(m, *parts)
def creat(path, flags=os.O_WRONLY | os.O_CREAT):
    os.close(os.open(path, flags, 0o644))
os.mkdir(p("d"))
creat(p("d", "f"))
os.mkdir(p("e"))
creat(p("g"))
expect("open of a missing file", errno.ENOENT, os.open, p("nope"), os.O_RDONLY)
expect("create in a missing directory", errno.ENOENT, creat, p("nodir", "f"))
expect("unlink of a missing name", errno.ENOENT, os.unlink, p("nope"))
expect("rename of a missing source", errno.ENOENT, os.rename, p("nope"), p("x"))
expect("O_EXCL over a file", errno.EEXIST, creat, p("g"), os.O_WRONLY | os.O_CREAT | os.O_EXCL)
expect("mkdir over a file", errno.EEXIST, os.mkdir, p("g"))
expect("mkdir over a directory", errno.EEXIST, os.mkdir, p("d"))
expect("symlink over a file", errno.EEXIST, os.symlink, "t", p("g"))
expect("link over a file", errno.EEXIST, os.link, p("d", "f"), p("g"))
expect("mkfifo over a file", errno.EEXIST, os.mkfifo, p("g"))
expect("a file used as a directory", errno.ENOTDIR, os.stat, p("g", "x"))
expect("create under a file", errno.ENOTDIR, creat, p("g", "x"))
expect("rmdir of a file", errno.ENOTDIR, os.rmdir, p("g"))
expect("rename of a directory over a file", errno.ENOTDIR, os.rename, p("e"), p("g"))
expect("open of a directory for writing", errno.EISDIR, os.open, p("d"), os.O_WRONLY)
expect("unlink of a directory", errno.EISDIR, os.unlink, p("e"))
expect("rename of a file over a directory", errno.EISDIR, os.rename, p("g"), p("e"))
expect("rmdir of a non-empty directory", errno.ENOTEMPTY, os.rmdir, p("d"))
expect("rename over a non-empty directory", errno.ENOTEMPTY, os.rename, p("e"), p("d"))
expect("rename of a directory into itself", errno.EINVAL, os.rename, p("d"), p("d", "sub"))
expect("hard link to a directory", errno.EPERM, os.link, p("d"), p("dl"))
long = "n" * 256
expect("create of a 256-byte name", errno.ENAMETOOLONG, creat, p(long))
expect("mkdir of a 256-byte name", errno.ENAMETOOLONG, os.mkdir, p(long))
expect("rename to a 256-byte name", errno.ENAMETOOLONG, os.rename, p("g"), p(long))
expect("symlink of a 256-byte name", errno.ENAMETOOLONG, os.symlink, "t", p(long))
expect("link to a 256-byte name", errno.ENAMETOOLONG, os.link, p("g"), p(long))
expect("stat of a 256-byte name", errno.ENAMETOOLONG, os.stat, p(long))
expect("create of a 255-byte name", 0, creat, p("n" * 255))
check("the 255-byte name is listed", "n" * 255 in os.listdir(m))
check("nothing failed half-way (names: %s)" % sorted(n for n in os.listdir(m) if len(n) < 255),
      sorted(n for n in os.listdir(m) if len(n) < 255) == ["d", "e", "g"])
# device nodes and sockets: entries here, I/O local
os.mknod(p("null"), stat.S_IFCHR | 0o666, os.makedev(1, 3))
st = os.stat(p("null"))
check("a character device keeps its type and numbers (mode %o, rdev %x)" % (st.st_mode, st.st_rdev),
      stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3))
fd = os.open(p("null"), os.O_RDWR)
check("writing it takes the bytes", os.write(fd, b"gone") == 4)
check("reading it gives end of file, as /dev/null", os.read(fd, 10) == b"")
os.close(fd)
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(p("sock"))
srv.listen(1)
check("a bound socket is a socket entry", stat.S_ISSOCK(os.stat(p("sock")).st_mode))
cli = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
cli.settimeout(30)
cli.connect(p("sock"))
conn, _ = srv.accept()
cli.sendall(b"ping")
conn.settimeout(30)
check("it carries data", conn.recv(4) == b"ping")
for s in (conn, cli, srv):
    s.close()
sys.exit(1 if bad else 0)
PY

# --- a read-only mount reads, and refuses every change with EROFS ---
echo "kept" >"$M/kept"
R=$T/ro
fuse_mount "$R" -o ro
EROFS="Read-only file system"
expect_eq "a read-only mount reads" kept "$($TO cat "$R/kept")"
expect_fail "$EROFS" touch "$R/new"
expect_fail "$EROFS" mkdir "$R/newdir"
expect_fail "$EROFS" rm "$R/kept"
expect_fail "$EROFS" mv "$R/kept" "$R/moved"
expect_fail "$EROFS" chmod 600 "$R/kept"
expect_fail "$EROFS" sh -c "echo more >>'$R/kept'"
expect_fail "$EROFS" truncate -s 0 "$R/kept"
expect_fail "$EROFS" ln -s x "$R/link"
expect_eq "the file after all that" kept "$($TO cat "$M/kept")"

# --- a full disk: ENOSPC through the mount, and nothing else hurt ---
gen_data "$SEED" 5M >"$T/small"
check $TO cp "$T/small" "$M/small"
gen_data $((SEED + 1)) 100M >"$T/big"
expect_fail "No space left on device" $TO cp "$T/big" "$M/big"
pid_alive "$DN_TMPFS_PID" || fail "the datanode died of a full disk"
expect_eq "sha256 of the earlier file" "$(sha "$T/small")" "$(sha "$M/small")"
check rm -f "$M/big"
# the mount writes again once the datanode has deleted the blocks of big
small2_fits() { $TO cp "$T/small" "$M/small2" 2>/dev/null; }
wait_until 60 small2_fits || fail "no file fits after the full disk was emptied"
expect_eq "sha256 of a file written after" "$(sha "$T/small")" "$(sha "$M/small2")"
log PASS
