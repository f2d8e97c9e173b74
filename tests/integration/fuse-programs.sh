#!/bin/bash
# fuse-programs: programs we did not write run inside a real dfs-fuse mount:
# rsync -a of a directory tree in and out (diff -r and a sha256 list of
# every file agree), a tar -c / -x round trip (tar -d agrees, and the
# namenode has the modes and mtimes tar set), git init / add / commit /
# fsck, a SQLite database filled with 10,000 rows in 100 transactions
# (integrity_check ok, row count right), and flock(1) / fcntl locks between
# two processes on the mount (dfs-fuse implements no lock ops, so the kernel
# keeps the locks locally; a second locker must be refused).
. "$(dirname "$0")/lib.sh"
. "$DFS_SRCDIR/tests/fuse/lib-fuse.sh"

for p in rsync git sqlite3 flock python3 tar; do
	command -v "$p" >/dev/null 2>&1 || skip "$p is not installed"
done

fuse_setup
cluster_up --datanodes 3 --replication 2 --block-size 1M
M=$T/mnt
fuse_mount "$M"
TO="timeout 300" # no single program may hang the test

# sha_list DIR: "sha256  relative/path" of every regular file, sorted.
sha_list() {
	(cd "$1" && find . -type f -print0 | sort -z | xargs -0 -r sha256sum)
}

# --- the source tree: headers, a few binary files, symlinks, modes ---
SRC=$T/tree
mkdir -p "$SRC/bin" "$SRC/empty-dir"
cp -a /usr/include/linux "$SRC/linux"
gen_data "$SEED-bin1" 3000000 >"$SRC/bin/blob1"
gen_data "$SEED-bin2" 1048576 >"$SRC/bin/blob2" # exactly one block
gen_data "$SEED-bin3" 1 >"$SRC/bin/tiny"
: >"$SRC/bin/empty"
chmod 751 "$SRC/bin/blob1"
ln -s ../linux/fs.h "$SRC/bin/link-to-fs.h"
touch -d "2005-06-07 08:09:10 UTC" "$SRC/bin/blob2"
want_list=$(sha_list "$SRC")
nfiles=$(wc -l <<<"$want_list")
log "tree: $nfiles files"

# --- rsync -a in and out ---
start=$SECONDS
check $TO rsync -a "$SRC/" "$M/rs/"
check $TO diff -r "$SRC" "$M/rs"
expect_eq "sha256 list of the tree rsynced in" "$want_list" "$(sha_list "$M/rs")"
expect_eq "mode kept by rsync -a" 751 "$(stat -c %a "$M/rs/bin/blob1")"
expect_eq "mtime kept by rsync -a" "$(stat -c %Y "$SRC/bin/blob2")" "$(stat -c %Y "$M/rs/bin/blob2")"
expect_eq "symlink kept by rsync -a" ../linux/fs.h "$(readlink "$M/rs/bin/link-to-fs.h")"
# A second rsync has nothing to send (sizes and mtimes all match).
sent=$($TO rsync -a --itemize-changes "$SRC/" "$M/rs/" | grep -c '^[<>]' || true)
expect_eq "files a second rsync sends" 0 "$sent"
check $TO rsync -a "$M/rs/" "$T/rs-back/"
check $TO diff -r "$SRC" "$T/rs-back"
expect_eq "sha256 list of the tree rsynced out" "$want_list" "$(sha_list "$T/rs-back")"
log "rsync in and out: $((SECONDS - start))s"

# --- tar -c / -x round trip, both directions ---
start=$SECONDS
check $TO tar -C "$SRC" -cf "$M/tree.tar" .
check mkdir "$M/untar"
check $TO tar -C "$M/untar" -xf "$M/tree.tar"
check $TO diff -r "$SRC" "$M/untar"
check $TO tar -C "$M/untar" -df "$M/tree.tar" # modes, owners, mtimes too
# What tar set on each file (utimes, chown, chmod before close, kept for
# the close's COMPLETE) is in the namespace, not only in this mount's cache.
files=$(cd "$SRC" && find . -type f | sort | sed 's|^\./||')
want_attrs=$(cd "$SRC" && xargs stat -c '%n %a %u:%g %Y' <<<"$files")
nn_attrs=$(sed 's|^|/untar/|' <<<"$files" | xargs $DFS stat -c '%n %a %u:%g %Y' |
	sed 's|^/untar/||')
expect_eq "modes, owners and mtimes tar set, as the namenode has them" "$want_attrs" "$nn_attrs"
check $TO tar -C "$M/untar" -cf "$T/back.tar" .
check mkdir "$T/untar-back"
check $TO tar -C "$T/untar-back" -xf "$T/back.tar"
expect_eq "sha256 list after tar through the mount" "$want_list" "$(sha_list "$T/untar-back")"
log "tar round trip: $((SECONDS - start))s"

# --- git init / add / commit / fsck inside the mount ---
start=$SECONDS
G=$M/repo
check mkdir "$G"
check cp -a "$SRC/linux" "$G/linux"
export GIT_AUTHOR_NAME=dfs GIT_AUTHOR_EMAIL=dfs@example.invalid
export GIT_COMMITTER_NAME=dfs GIT_COMMITTER_EMAIL=dfs@example.invalid
export GIT_CONFIG_NOSYSTEM=1 HOME=$T
check $TO git -C "$G" init -q
check $TO git -C "$G" add -A
check $TO git -C "$G" commit -q -m "first"
echo "changed" >>"$G/linux/fs.h"
check $TO git -C "$G" commit -q -a -m "second"
check $TO git -C "$G" gc -q
check $TO git -C "$G" fsck --full --strict
expect_eq "commits in the repository" 2 "$($TO git -C "$G" rev-list --count HEAD)"
check $TO git clone -q "$G" "$T/clone"
expect_eq "clone of the mount's repo" "$(sha "$G/linux/fs.h")" "$(sha "$T/clone/linux/fs.h")"
log "git: $((SECONDS - start))s"

# --- SQLite: 10,000 rows in 100 transactions ---
start=$SECONDS
DB=$M/db.sqlite
{
	echo "CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT, v BLOB);"
	echo "CREATE INDEX t_k ON t (k);"
	for tx in $(seq 0 99); do
		echo "BEGIN;"
		for r in $(seq 0 99); do
			i=$((tx * 100 + r))
			echo "INSERT INTO t (id, k, v) VALUES ($i, 'key-$i', randomblob(200));"
		done
		echo "COMMIT;"
	done
	echo "DELETE FROM t WHERE id % 10 = 3;"
	echo "UPDATE t SET k = 'upd-' || id WHERE id % 10 = 5;"
} >"$T/load.sql"
check $TO sqlite3 -bail "$DB" ".read $T/load.sql"
expect_eq "PRAGMA integrity_check" ok "$($TO sqlite3 "$DB" 'PRAGMA integrity_check;')"
expect_eq "rows" 9000 "$($TO sqlite3 "$DB" 'SELECT count(*) FROM t;')"
expect_eq "updated rows" 1000 "$($TO sqlite3 "$DB" "SELECT count(*) FROM t WHERE k LIKE 'upd-%';")"
# The same database in WAL mode, then read again from a copy off the mount.
check $TO sqlite3 -bail "$DB" "PRAGMA journal_mode=WAL; INSERT INTO t (id, k) VALUES (100000, 'wal');"
check $TO sqlite3 -bail "$DB" "PRAGMA wal_checkpoint(TRUNCATE);"
check cp "$DB" "$T/db-copy.sqlite"
expect_eq "integrity_check of the copy" ok "$($TO sqlite3 "$T/db-copy.sqlite" 'PRAGMA integrity_check;')"
expect_eq "rows of the copy" 9001 "$($TO sqlite3 "$T/db-copy.sqlite" 'SELECT count(*) FROM t;')"
log "sqlite: $((SECONDS - start))s"

# --- flock(1) and fcntl locks between two processes on the mount ---
L=$M/lockfile
echo lock >"$L"
# holder: takes the lock, says so through a FIFO, holds it until released.
mkfifo "$T/held" "$T/release"
hold_lock() { # CMD... run in the background; it must write to $T/held
	"$@" &
	HOLDER=$!
	TEST_PIDS+=("$HOLDER")
	timeout 30 head -c 5 "$T/held" >/dev/null || fail "lock holder never took the lock"
}
release_lock() {
	echo go >"$T/release" &
	TEST_PIDS+=($!)
	timeout 30 tail --pid="$HOLDER" -f /dev/null || fail "lock holder did not exit"
	wait "$HOLDER" || fail "lock holder failed"
}

# (flock is the background process, killed by the trap; its child ends
# within 60 s on its own.)
hold_lock flock -x "$L" timeout 60 sh -c "echo held >'$T/held'; read x <'$T/release'"
# flock -n exits 1, silently, when the lock is taken (-E picks the code).
timeout 30 flock -n -E 42 -x "$L" true
expect_eq "flock -n -x on a held lock (exit code)" 42 $?
timeout 30 flock -n -E 42 -s "$L" true
expect_eq "flock -n -s on a held lock (exit code)" 42 $?
release_lock
check timeout 30 flock -n -x "$L" true

cat >"$T/lockf.py" <<'EOF'
import fcntl, os, signal, sys
signal.alarm(60)  # never outlive the test by much
mode, path = sys.argv[1], sys.argv[2]
fd = os.open(path, os.O_RDWR)
if mode == "hold":
    fcntl.lockf(fd, fcntl.LOCK_EX, 100, 0)   # bytes 0..99
    open(sys.argv[3], "w").write("held\n")
    open(sys.argv[4]).read()
    sys.exit(0)
start = int(sys.argv[3])
try:
    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 10, start)
except OSError as e:
    print("refused", e.errno)
    sys.exit(0)
print("granted")
EOF
hold_lock python3 "$T/lockf.py" hold "$L" "$T/held" "$T/release"
expect_eq "fcntl lock on a held range" "refused 11" \
	"$(timeout 30 python3 "$T/lockf.py" try "$L" 50 2>&1 | sed 's/refused 13/refused 11/')"
expect_eq "fcntl lock on a free range" granted "$(timeout 30 python3 "$T/lockf.py" try "$L" 200)"
release_lock
expect_eq "fcntl lock after release" granted "$(timeout 30 python3 "$T/lockf.py" try "$L" 50)"

# --- what the mount wrote is what the CLI reads ---
check timeout 120 "$DFS" get /rs/bin/blob1 "$T/blob1.cli"
expect_eq "CLI reads the rsynced blob" "$(sha "$SRC/bin/blob1")" "$(sha "$T/blob1.cli")"
fuse_umount "$M"
log PASS
