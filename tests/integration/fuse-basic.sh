#!/bin/bash
# fuse-basic: a real dfs-fuse mount over a real local cluster behaves like a
# POSIX directory for everyday tools: cp, mkdir/rmdir, mv (also over an
# existing target), ln / ln -s with link counts, chmod, touch -d, stat,
# truncate, sparse holes, append, dd into the middle of a file, 16 writers
# on one file at once, ls, find,
# du, df, tar of a source tree with diff -r, and files written through the
# mount are what the dfs CLI reads (and the other way round). Also mounts
# through the mount.fuse.dfs helper (daemonized) and checks that a mount
# with no cluster fails fast.
. "$(dirname "$0")/lib.sh"
. "$DFS_SRCDIR/tests/fuse/lib-fuse.sh"

fuse_setup
cluster_up --datanodes 3 --replication 2 --block-size 1M
M=$T/mnt
fuse_mount "$M"
TO="timeout 120" # no single tool may hang the test

# --- cp in and out, identical bytes (several blocks, not block-aligned) ---
gen_data "$SEED" 3500000 >"$T/src"
want=$(sha "$T/src")
check $TO cp "$T/src" "$M/file1"
expect_eq "size through the mount" 3500000 "$(stat -c %s "$M/file1")"
check $TO cp "$M/file1" "$T/back"
expect_eq "sha256 after cp in and out" "$want" "$(sha "$T/back")"

# --- the CLI reads what the mount wrote, and the other way round ---
check $TO "$DFS" get /file1 "$T/viacli"
expect_eq "sha256 of dfs get of a file written through the mount" "$want" "$(sha "$T/viacli")"
gen_data "$SEED-cli" 1234567 >"$T/cli-src"
check $TO "$DFS" put "$T/cli-src" /fromcli
expect_eq "sha256 through the mount of a file put by the CLI" \
	"$(sha "$T/cli-src")" "$(sha "$M/fromcli")"
echo "hello from the mount" >"$M/hello.txt"
expect_eq "dfs cat of a file written through the mount" "hello from the mount" \
	"$($TO "$DFS" cat /hello.txt)"

# --- mkdir, rmdir, ENOTEMPTY ---
check mkdir -p "$M/d1/d2/d3"
echo x >"$M/d1/d2/f"
expect_fail "not empty|Directory not empty" rmdir "$M/d1/d2"
check rm "$M/d1/d2/f"
check rmdir "$M/d1/d2/d3"
check rmdir "$M/d1/d2"
[ ! -e "$M/d1/d2" ] || fail "d1/d2 still exists after rmdir"
expect_fail "exists" mkdir "$M/d1"

# --- mv of files and directories, also over existing targets ---
echo one >"$M/a"
echo two >"$M/b"
check mv "$M/a" "$M/b"
expect_eq "content after mv over an existing file" one "$(cat "$M/b")"
[ ! -e "$M/a" ] || fail "mv left the source behind"
check mkdir -p "$M/src/sub" "$M/dst"
echo deep >"$M/src/sub/f"
check mv "$M/src" "$M/dst/moved"
expect_eq "file inside a moved directory" deep "$(cat "$M/dst/moved/sub/f")"
check mkdir "$M/emptydir"
check mv "$M/dst/moved" "$M/emptydir" # into an existing directory
expect_eq "mv into a directory" deep "$(cat "$M/emptydir/moved/sub/f")"
check mkdir "$M/e2"
check mv -T "$M/e2" "$M/dst" # over an existing empty directory
[ -d "$M/dst" ] && [ ! -e "$M/e2" ] || fail "mv -T over an empty directory"
expect_fail "." mv -T "$M/dst" "$M/emptydir" # target not empty
check mv -n "$M/b" "$M/hello.txt" # RENAME_NOREPLACE: leaves both alone
expect_eq "mv -n did not replace" "hello from the mount" "$(cat "$M/hello.txt")"

# --- hard links and symlinks ---
echo linked >"$M/orig"
check ln "$M/orig" "$M/hard"
expect_eq "nlink after ln" 2 "$(stat -c %h "$M/orig")"
expect_eq "same inode through a hard link" "$(stat -c %i "$M/orig")" "$(stat -c %i "$M/hard")"
check ln -s orig "$M/soft"
expect_eq "readlink" orig "$(readlink "$M/soft")"
expect_eq "read through a symlink" linked "$(cat "$M/soft")"
expect_eq "symlink type" "symbolic link" "$(stat -c %F "$M/soft")"
check rm "$M/orig"
expect_eq "nlink after removing one name" 1 "$(stat -c %h "$M/hard")"
expect_eq "content via the remaining link" linked "$(cat "$M/hard")"
[ -L "$M/soft" ] && [ ! -e "$M/soft" ] || fail "dangling symlink should stay a symlink"

# --- chmod, touch -d, stat ---
check chmod 640 "$M/hard"
expect_eq "mode after chmod" 640 "$(stat -c %a "$M/hard")"
check touch -d "2001-02-03 04:05:06 UTC" "$M/hard"
expect_eq "mtime after touch -d" 981173106 "$(stat -c %Y "$M/hard")"
check touch "$M/newempty"
expect_eq "touch creates an empty file" 0 "$(stat -c %s "$M/newempty")"
check mkfifo "$M/fifo"
expect_eq "mkfifo type" "fifo" "$(stat -c %F "$M/fifo")"

# --- a directory's attributes after changes in it: the kernel re-reads
# them after each one, and dfs-fuse answers from the change's reply ---
check mkdir -m 755 "$M/da"
check touch "$M/da/f1"
check mkdir "$M/da/sub"
expect_eq "nlink after a mkdir inside" 3 "$(stat -c %h "$M/da")"
check chmod 700 "$M/da"
check touch "$M/da/f2"
expect_eq "mode after chmod, then a create inside" 700 "$(stat -c %a "$M/da")"
check mv "$M/da/sub" "$M/da-sub"
expect_eq "nlink after a subdirectory moved out" 2 "$(stat -c %h "$M/da")"
check rm "$M/da/f1"
expect_eq "directory as the namenode has it" "$($TO "$DFS" stat -c '%Y %h %a %u' /da)" \
	"$(stat -c '%Y %h %a %u' "$M/da")"
check rm -r "$M/da" "$M/da-sub"

# --- truncate grow and shrink, sparse holes read as zeros ---
printf 'abcdefgh' >"$M/t"
check truncate -s 3 "$M/t"
expect_eq "after truncate shrink" abc "$(cat "$M/t")"
check truncate -s 3000000 "$M/t"
expect_eq "size after truncate grow" 3000000 "$(stat -c %s "$M/t")"
expect_eq "grown part reads as zeros" "$( (printf abc; head -c 2999997 /dev/zero) | sha256sum | cut -d' ' -f1)" "$(sha "$M/t")"
check $TO dd if=/dev/urandom of="$M/sparse" bs=4096 count=1 seek=700 status=none
expect_eq "sparse size" $((701 * 4096)) "$(stat -c %s "$M/sparse")"
zeros=$(head -c $((700 * 4096)) "$M/sparse" | tr -d '\0' | wc -c)
expect_eq "non-zero bytes in the hole" 0 "$zeros"

# --- append ---
echo line1 >"$M/log"
echo line2 >>"$M/log"
echo line3 >>"$M/log"
expect_eq "appended file" "line1 line2 line3" "$(tr '\n' ' ' <"$M/log" | sed 's/ $//')"

# --- dd with seek into the middle of a file (random write) ---
cp "$T/src" "$T/local-rw"
check cp "$T/src" "$M/rw"
head -c 100000 /dev/urandom >"$T/patch"
for off in 1 777777 1048570 2500001; do
	check $TO dd if="$T/patch" of="$M/rw" oflag=seek_bytes seek=$off conv=notrunc status=none
	check dd if="$T/patch" of="$T/local-rw" oflag=seek_bytes seek=$off conv=notrunc status=none
done
expect_eq "sha256 after random writes" "$(sha "$T/local-rw")" "$(sha "$M/rw")"
check $TO "$DFS" get /rw "$T/rw-cli"
expect_eq "CLI sees the random writes" "$(sha "$T/local-rw")" "$(sha "$T/rw-cli")"

# --- 16 writers on one file at once, each its own region across blocks:
# the mount shares one write pipeline per inode, so none makes another's
# stale (each used to reopen the block with a newer genstamp: EIO) ---
REGION=300000
for i in $(seq 0 15); do
	gen_data "$SEED-w$i" $REGION >"$T/w$i"
	dd if="$T/w$i" of="$T/shared-want" bs=4096 seek=$((i * REGION)) oflag=seek_bytes \
		conv=notrunc status=none
done
: >"$M/shared"
wpids=()
for i in $(seq 0 15); do
	$TO dd if="$T/w$i" of="$M/shared" bs=4096 seek=$((i * REGION)) oflag=seek_bytes \
		conv=notrunc status=none 2>"$T/w$i.err" &
	wpids+=($!)
done
for i in $(seq 0 15); do
	wait "${wpids[$i]}" || fail "writer $i of 16 failed: $(cat "$T/w$i.err")"
done
expect_eq "sha256 of a file 16 processes wrote at once" \
	"$(sha "$T/shared-want")" "$(sha "$M/shared")"
check $TO "$DFS" get /shared "$T/shared-cli"
expect_eq "sha256 through the CLI of the file 16 processes wrote" \
	"$(sha "$T/shared-want")" "$(sha "$T/shared-cli")"

# --- unlink of an open file: the open descriptor keeps working ---
gen_data "$SEED-open" 200000 >"$T/ou-src"
check cp "$T/ou-src" "$M/open-unlinked"
exec 7<"$M/open-unlinked"
check rm "$M/open-unlinked"
[ ! -e "$M/open-unlinked" ] || fail "unlinked name still there"
expect_eq "read of an unlinked open file" "$(sha "$T/ou-src")" "$(sha256sum <&7 | cut -d' ' -f1)"
exec 7<&-
hidden_gone() { ! ls -A "$M" | grep -q '^\.dfs_hidden\.'; }
wait_until 20 hidden_gone || fail "hidden name left after the last close: $(ls -A "$M")"

# --- ls -la, find, du, df ---
out=$(ls -la "$M") || fail "ls -la"
grep -q ' file1$' <<<"$out" || fail "ls -la misses file1: $out"
grep -q ' soft -> orig$' <<<"$out" || fail "ls -la misses the symlink: $out"
grep -qE '^d.* \.$' <<<"$out" || fail "ls -la misses '.': $out"
expect_eq "find" "$M/emptydir/moved/sub/f" "$(find "$M/emptydir" -type f)"
du_k=$(du -sk "$M/file1" | cut -f1)
[ "$du_k" -ge 3400 ] || fail "du of a 3.5 MB file says ${du_k}K"
df_out=$(df -P "$M" | tail -1)
cap_k=$(awk '{print $2}' <<<"$df_out")
[ "$cap_k" -gt 0 ] || fail "df shows no capacity: $df_out"
log "df: $df_out"

# --- many files in one directory (readdir paging) ---
check mkdir "$M/many"
for i in $(seq 1 300); do : >"$M/many/f$i"; done
expect_eq "entries listed" 300 "$(ls "$M/many" | wc -l)"
expect_eq "entries found" 300 "$(find "$M/many" -type f | wc -l)"

# --- tar a source tree in and out, diff -r identical ---
SRC_TREE=/usr/include/linux
[ -d "$SRC_TREE" ] || SRC_TREE=$DFS_SRCDIR
check $TO tar -C "$(dirname "$SRC_TREE")" -cf "$T/tree.tar" "$(basename "$SRC_TREE")"
check mkdir "$M/tree"
start=$SECONDS
check timeout 300 tar -C "$M/tree" -xf "$T/tree.tar"
log "tar -x of $(tar -tf "$T/tree.tar" | wc -l) entries in $((SECONDS - start))s"
check timeout 300 diff -r "$SRC_TREE" "$M/tree/$(basename "$SRC_TREE")"
# tar sets each file's mtime and mode after writing it, before close: the
# close must not stamp a new mtime over it.
meta_list() { (cd "$1" && find . -printf '%y %m %T@ %p\n' | sort -k4); }
expect_eq "type, mode and mtime of every entry after tar -x" \
	"$(meta_list "$SRC_TREE")" "$(meta_list "$M/tree/$(basename "$SRC_TREE")")"
check mkdir "$T/tree-out"
check timeout 300 bash -c 'tar -C "$1" -cf - . | tar -C "$2" -xf -' _ "$M/tree" "$T/tree-out"
check timeout 300 diff -r "$SRC_TREE" "$T/tree-out/$(basename "$SRC_TREE")"
check rm -rf "$M/tree"
[ ! -e "$M/tree" ] || fail "rm -rf left the tree"

# --- remount: everything is still there ---
fuse_umount "$M"
fuse_mount "$M"
expect_eq "sha256 after remount" "$want" "$(sha "$M/file1")"

# --- the mount(8) helper: background mount, then unmount ---
M2=$T/mnt2
mkdir -p "$M2"
FUSE_MNTS+=("$M2")
# Output to a file, not a pipe: a daemon must not keep our pipe open anyway.
DFS_FUSE="$DFS_FUSE" timeout 60 "$DFS_SRCDIR/fuse/mount.fuse.dfs" dfs "$M2" \
	-o "namenodes=$(nn_addr),_netdev,log_file=$T/fuse-helper.log" >"$T/helper.out" 2>&1 ||
	fail "mount.fuse.dfs failed: $(cat "$T/helper.out")"
mountpoint -q "$M2" || fail "mount.fuse.dfs returned 0 but $M2 is not mounted"
expect_eq "sha256 through the helper's mount" "$want" "$(sha "$M2/file1")"
check timeout 30 fusermount3 -u "$M2"
! mountpoint -q "$M2" || fail "$M2 still mounted"

# --- no cluster: fail fast, non-zero ---
M3=$T/mnt3
mkdir -p "$M3"
start=$SECONDS
if timeout 30 "$DFS_FUSE" "$M3" -f -o namenodes=127.0.0.1:1 2>"$T/nocluster.err"; then
	fail "dfs-fuse with no cluster exited 0"
fi
[ $((SECONDS - start)) -le 15 ] || fail "dfs-fuse with no cluster took $((SECONDS - start))s"
grep -q "cannot reach" "$T/nocluster.err" || fail "no clear message: $(cat "$T/nocluster.err")"
! mountpoint -q "$M3" || fail "$M3 mounted without a cluster"

log PASS
