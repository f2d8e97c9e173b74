#!/bin/bash
# fuse-write-visible: a file created write-only through a mount (as tar,
# cp and a shell's redirection make theirs) is written with direct_io,
# past the page cache. Another process on the same mount must still see
# each write at once: bytes appended, bytes overwritten in place (after
# it read and cached them), and an mtime that moves with every write and
# never goes back, across an fsync and the close. After the close a
# second mount sees the file whole (close-to-open).
. "$(dirname "$0")/lib.sh"
. "$DFS_SRCDIR/tests/fuse/lib-fuse.sh"

fuse_setup
cluster_up --datanodes 3 --replication 2
M=$T/m
fuse_mount "$M"
O=$T/other
fuse_mount "$O"

python3 - "$M/f" <<'EOF' || fail "the same mount showed a file being written wrongly"
import os, sys
p = sys.argv[1]
def check(what, ok):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        sys.exit(1)
w = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
os.write(w, b"a" * 5000)          # ends inside a page
r = os.open(p, os.O_RDONLY)
check("reader sees the first 5000 bytes", os.read(r, 1 << 20) == b"a" * 5000)
os.write(w, b"b" * 3000)          # fills that page's cached tail
check("reader sees the appended bytes", os.pread(r, 1 << 20, 5000) == b"b" * 3000)
os.pwrite(w, b"c" * 100, 10)      # over bytes the reader has cached
check("reader sees bytes overwritten in place", os.pread(r, 100, 10) == b"c" * 100)
m = [os.stat(p).st_mtime_ns]
for i in range(3):
    os.write(w, b"d" * 10)
    m.append(os.fstat(r).st_mtime_ns)
check("mtime moves with every write: %s" % m, all(a < b for a, b in zip(m, m[1:])))
os.fsync(w)
m.append(os.stat(p).st_mtime_ns)
os.write(w, b"e" * 10)
m.append(os.stat(p).st_mtime_ns)
check("mtime moves past the fsync's: %s" % m[-3:], m[-3] <= m[-2] < m[-1])
os.close(w)
m.append(os.stat(p).st_mtime_ns)
check("mtime does not go back at close: %s" % m[-2:], m[-2] <= m[-1])
data = os.pread(r, 1 << 20, 0)
check("reader sees the whole file (%d bytes)" % len(data),
      data == b"a" * 10 + b"c" * 100 + b"a" * 4890 + b"b" * 3000 + b"d" * 30 + b"e" * 10)
os.close(r)
EOF

want=$(python3 -c 'import sys; sys.stdout.write("a" * 10 + "c" * 100 + "a" * 4890 + "b" * 3000 + "d" * 30 + "e" * 10)' | sha256sum | cut -d" " -f1)
expect_eq "the file through another mount" "$want" "$(sha "$O/f")"
log PASS
