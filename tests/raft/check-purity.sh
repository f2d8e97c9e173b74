#!/bin/sh
# tests/raft/check-purity.sh - the Raft core (raft/libraft.a) must not do
# I/O, read clocks or draw randomness: fail if its objects reference any
# of these symbols.  Also check that raft/ includes nothing outside raft/.
set -u
build=${DFS_BUILDDIR:-.}
src=${DFS_SRCDIR:-$(dirname "$0")/../..}
lib=$build/raft/libraft.a
if [ ! -f "$lib" ]; then
	echo "check-purity: $lib not found" >&2
	exit 1
fi
forbidden="time clock_gettime gettimeofday rand random srand getrandom
socket connect send recv read write open fsync printf fprintf"
status=0
undef=$(nm -u "$lib" | awk 'NF >= 2 { print $2 }' | sed 's/@.*//' | sort -u)
for sym in $forbidden; do
	if echo "$undef" | grep -qx "$sym"; then
		echo "check-purity: raft core references $sym" >&2
		status=1
	fi
done
# Core files may only include themselves and the C library.
for f in "$src"/raft/*.c "$src"/raft/*.h; do
	case $f in */wal.c|*/wal.h) continue ;; esac
	if grep -n '^#include "' "$f" | grep -v '"raft/' >/dev/null; then
		echo "check-purity: $f includes outside raft/" >&2
		status=1
	fi
done
[ $status -eq 0 ] && echo "check-purity: raft core is pure"
exit $status
