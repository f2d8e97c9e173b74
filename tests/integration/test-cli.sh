#!/bin/bash
# test-cli: every dfs subcommand at least once against a real cluster, with
# its effect checked (not just its exit status), the Hadoop spellings, and
# the error format `dfs: CMD: PATH: message` with a non-zero exit.
. "$(dirname "$0")/lib.sh"

cluster_up --datanodes 3 --replication 3 --block-size 1M
dfs() { "$DFS" "$@"; }

L=$T/local
mkdir -p "$L/tree/sub/deeper" "$L/out"
gen_data "$SEED" 3000000 >"$L/data" # 3 blocks of 1 MiB
echo hello >"$L/tree/a.txt"
echo world >"$L/tree/sub/b.txt"
gen_data "$((SEED + 1))" 70000 >"$L/tree/sub/deeper/c.bin"
: >"$L/tree/empty"

# ---- mkdir, ls ----
check dfs mkdir -p /a/b/c
check dfs mkdir -p /a/b/c # -p: no error if it exists
check dfs test -d /a/b/c
expect_fail '^dfs: mkdir: /x/y(/z)?: No such file or directory$' dfs mkdir /x/y/z
expect_fail '^dfs: mkdir: /a: File exists$' dfs mkdir /a
check dfs mkdir /m1 /m2
out=$(dfs ls /) || fail "ls /"
for n in a m1 m2; do grep -qw "$n" <<<"$out" || fail "ls / lacks $n: $out"; done
out=$(dfs ls -R /a) || fail "ls -R"
grep -q 'c' <<<"$out" && grep -q 'b' <<<"$out" || fail "ls -R /a lacks b or c: $out"
grep -qE '(^|/| )c$' <<<"$out" || fail "ls -R /a does not list c: $out"

# ---- put / get / cat, stdin and stdout ----
check dfs put "$L/data" /a/data
dfs get /a/data "$L/out/data" || fail "get"
cmp "$L/data" "$L/out/data" || fail "get returned different bytes"
expect_eq "cat" "$(sha "$L/data")" "$(dfs cat /a/data | sha256sum | cut -d' ' -f1)"
printf 'from stdin\n' | dfs put - /a/stdin.txt || fail "put - (stdin)"
expect_eq "put from stdin" "from stdin" "$(dfs cat /a/stdin.txt)"
expect_eq "get to stdout" "from stdin" "$(dfs get /a/stdin.txt -)"
out=$(dfs ls -l /a) || fail "ls -l"
grep -E '^-' <<<"$out" | grep -qw 3000000 || fail "ls -l /a: no 3000000-byte file: $out"
grep -qE '^d' <<<"$out" || fail "ls -l /a: no directory line: $out"
out=$(dfs ls -l -h /a) || fail "ls -l -h"
grep -qE '2\.9M|2\.8M|3\.0M|2\.9 ?Mi?B?|3M' <<<"$out" || fail "ls -l -h shows no human size: $out"

# -f: overwrite refused without it, done with it (remote and local)
echo new >"$L/new"
expect_fail '^dfs: put: /a/stdin.txt: File exists$' dfs put "$L/new" /a/stdin.txt
expect_eq "refused put kept the old content" "from stdin" "$(dfs cat /a/stdin.txt)"
check dfs put -f "$L/new" /a/stdin.txt
expect_eq "put -f overwrote" "new" "$(dfs cat /a/stdin.txt)"
expect_fail "^dfs: get: .*$L/out/data.*: File exists$" dfs get /a/data "$L/out/data"
check dfs get -f /a/stdin.txt "$L/out/data"
expect_eq "get -f overwrote" "new" "$(cat "$L/out/data")"
expect_fail '^dfs: put: /nodir/x: No such file or directory$|^dfs: put: /nodir: No such file or directory$' \
	dfs put "$L/new" /nodir/x
expect_fail '^dfs: get: /nope: No such file or directory$' dfs get /nope "$L/out/nope"
[ ! -e "$L/out/nope" ] || fail "failed get left a local file"
expect_fail '^dfs: cat: /nope: No such file or directory$' dfs cat /nope

# directories
check dfs put -r "$L/tree" /t
check dfs get -r /t "$L/out/tree"
diff -r "$L/tree" "$L/out/tree" || fail "put -r / get -r tree differs"
out=$(dfs ls -R /t) || fail "ls -R /t"
grep -q 'c.bin' <<<"$out" || fail "ls -R /t lacks c.bin: $out"

# ---- cp, mv ----
check dfs cp /a/data /a/data2
expect_eq "cp" "$(sha "$L/data")" "$(dfs cat /a/data2 | sha256sum | cut -d' ' -f1)"
check dfs cp -r /t /t2
expect_eq "cp -r" "world" "$(dfs cat /t2/sub/b.txt)"
check dfs mv /a/data2 /m1/moved
dfs test -e /a/data2 && fail "mv left the source"
expect_eq "mv" "$(sha "$L/data")" "$(dfs cat /m1/moved | sha256sum | cut -d' ' -f1)"
check dfs mv /t2 /m2/t3
expect_eq "mv dir" "hello" "$(dfs cat /m2/t3/a.txt)"
expect_fail '^dfs: mv: /nope: No such file or directory$' dfs mv /nope /x

# ---- stat, du, df ----
out=$(dfs stat /a/data) || fail "stat"
grep -qw 3000000 <<<"$out" || fail "stat shows no size 3000000: $out"
expect_fail '^dfs: stat: /nope: No such file or directory$' dfs stat /nope
expect_eq "stat -c %s" 3000000 "$(dfs stat -c %s /a/data)"
expect_eq "stat -c %F of a directory" directory "$(dfs stat -c %F /a)"
out=$(dfs ls -d /a) || fail "ls -d"
expect_eq "ls -d lists the directory itself" 1 "$(grep -c . <<<"$out")"
out=$(dfs du -s /t) || fail "du -s"
want=$((6 + 6 + 70000))
grep -qw "$want" <<<"$out" || fail "du -s /t: expected $want bytes: $out"
out=$(dfs du /t) || fail "du"
grep -q 'sub' <<<"$out" || fail "du /t does not list sub: $out"
check dfs du -s -h /t
out=$(dfs df) || fail "df"
grep -qE '[0-9]' <<<"$out" || fail "df prints no numbers: $out"
check dfs df -h

# ---- chmod, chown ----
check dfs chmod 600 /a/stdin.txt
dfs ls -l /a | grep 'stdin.txt' | grep -q '^-rw-------' || fail "chmod 600: $(dfs ls -l /a)"
check dfs chmod -R 700 /t
dfs ls -l /t/sub | grep 'b.txt' | grep -q '^-rwx------' || fail "chmod -R 700: $(dfs ls -l /t/sub)"
check dfs chmod u+x,g+r /a/stdin.txt
dfs ls -l /a | grep 'stdin.txt' | grep -q '^-rwxr-----' || fail "chmod u+x,g+r: $(dfs ls -l /a)"
check dfs chown 1234:5678 /a/stdin.txt
dfs ls -l -n /a | grep 'stdin.txt' | grep -w 1234 | grep -qw 5678 ||
	fail "chown 1234:5678: $(dfs ls -l -n /a)"
check dfs chown -R 4321 /t
dfs ls -l -n /t/sub | grep 'b.txt' | grep -qw 4321 || fail "chown -R: $(dfs ls -l -n /t/sub)"

# ---- setrep -w, blocks ----
count_replicas() { # prints the replica count of each block line of PATH
	dfs blocks "$1" | while IFS= read -r line; do
		n=$(grep -oE '([0-9]{1,3}\.){3}[0-9]{1,3}:[0-9]+' <<<"$line" | sort -u | wc -l)
		[ "$n" -gt 0 ] && echo "$n"
	done
}
expect_eq "replicas before setrep" "3 3 3" "$(count_replicas /a/data | xargs)"
check dfs setrep -w 2 /a/data
wait_until 20 eval '[ "$(count_replicas /a/data | xargs)" = "2 2 2" ]' ||
	fail "setrep -w 2: blocks still show $(count_replicas /a/data | xargs)"
expect_eq "data after setrep" "$(sha "$L/data")" "$(dfs cat /a/data | sha256sum | cut -d' ' -f1)"

# ---- touch, truncate ----
check dfs touchz /a/z
dfs test -z /a/z || fail "touchz made a non-empty file"
dfs test -f /a/z || fail "test -f on a file failed"
expect_fail '^dfs: touchz: /a/data: ' dfs touchz /a/data
check dfs touch /a/touched
check dfs test -e /a/touched
dfs test -s /a/touched && fail "touch made a non-empty file"
check dfs touch /a/stdin.txt
expect_eq "touch keeps content" "new" "$(dfs cat /a/stdin.txt)"
check dfs truncate -s 10 /a/data
expect_eq "truncate -s 10" "$(head -c 10 "$L/data" | sha256sum)" "$(dfs cat /a/data | sha256sum)"
check dfs truncate -s 5000 /a/data
{ head -c 10 "$L/data"; head -c 4990 /dev/zero; } >"$L/want"
expect_eq "truncate extends with zeros" "$(sha "$L/want")" "$(dfs cat /a/data | sha256sum | cut -d' ' -f1)"

# ---- ln -s ----
check dfs ln -s /m1/moved /a/link
dfs ls -l /a | grep 'link' | grep -q -- '-> /m1/moved' || fail "ls -l shows no symlink target: $(dfs ls -l /a)"
dfs ls -l /a | grep 'link' | grep -q '^l' || fail "ls -l: link is not type l"
expect_eq "cat through a symlink" "$(sha "$L/data")" "$(dfs cat /a/link | sha256sum | cut -d' ' -f1)"

# ---- rm ----
expect_fail '^dfs: rm: /t: Is a directory$' dfs rm /t
check dfs rm /a/touched
dfs test -e /a/touched && fail "rm left the file"
check dfs rm -r /t
dfs test -e /t && fail "rm -r left the tree"
expect_fail '^dfs: rm: /nope: No such file or directory$' dfs rm /nope
check dfs rm -f /nope
check dfs rmdir /a/b/c
expect_fail '^dfs: rmdir: /a: Directory not empty$' dfs rmdir /a

# ---- admin report ----
out=$(dfs admin report) || fail "admin report"
for i in 1 2 3; do
	grep -qF "$(dn_addr "$i")" <<<"$out" || fail "admin report lacks datanode $(dn_addr "$i"): $out"
done

# ---- Hadoop spellings ----
out=$(dfs -ls /) || fail "dfs -ls /"
grep -qw m1 <<<"$out" || fail "dfs -ls / lacks m1: $out"
check dfs -put "$L/new" /hadoop.txt
expect_eq "dfs -cat" "new" "$(dfs -cat /hadoop.txt)"
check dfs -test -e /hadoop.txt
dfs -test -e /nope && fail "-test -e /nope succeeded"
dfs -test -d /hadoop.txt && fail "-test -d on a file succeeded"
check dfs -mkdir -p /h/i
check dfs -rm -r /h

# ---- usage errors exit non-zero ----
dfs frobnicate >/dev/null 2>&1 && fail "unknown command succeeded"
dfs truncate /a/data >/dev/null 2>&1 && fail "truncate without -s succeeded"
all_alive || fail "a daemon died during the CLI test"
log PASS
