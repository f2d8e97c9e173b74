# lib-fuse.sh: helpers of the dfs-fuse integration tests (sourced after
# tests/integration/lib.sh, before cluster_up).
#
#   fuse_setup            skip (77) without /dev/fuse or fusermount3; makes the
#                         temp dir and installs a trap that unmounts every
#                         mount of the test BEFORE lib.sh's cleanup stops the
#                         cluster
#   fuse_mount MNT [-o opts...]   dfs-fuse -f in the background, waits (with a
#                         deadline) until MNT is a mount point; FUSE_PID
#   fuse_umount MNT       fusermount3 -u (falls back to -uz), waits for dfs-fuse
#                         to exit
# A watchdog SIGKILLs every dfs-fuse of the test after FUSE_TEST_DEADLINE
# seconds (default 1200): a hung mount then fails each pending call with
# ENOTCONN instead of hanging `make check` (plain cat/stat/echo cannot all
# be wrapped in timeout).
# Mounts are listed in FUSE_MNTS; dfs-fuse logs to $T/fuse-<n>.log.

DFS_FUSE=${DFS_FUSE:-$DFS_BUILDDIR/fuse/dfs-fuse}
FUSE_MOUNT_TIMEOUT=${FUSE_MOUNT_TIMEOUT:-30}
FUSE_MNTS=()
FUSE_PIDS=()
FUSE_PID=
FUSE_TEST_DEADLINE=${FUSE_TEST_DEADLINE:-1200}
FUSE_WATCHDOG_PID=

fuse_available() {
	[ -c /dev/fuse ] || return 1
	command -v fusermount3 >/dev/null 2>&1 || return 1
	# /dev/fuse must be openable (a container may list it yet deny it).
	{ exec 9<>/dev/fuse; } 2>/dev/null || return 1
	exec 9>&-
	return 0
}

# fuse_in_mountinfo MNT: MNT is a mount point, asked of the kernel's
# table. mountpoint(1) stats MNT, which fails while the daemon answers
# EIO (no namenode) or is gone (ENOTCONN), so it calls such a mount "not
# a mount point".
fuse_in_mountinfo() {
	local dir
	dir=$(cd "$(dirname "$1")" 2>/dev/null && pwd -P) || return 1
	awk -v m="$dir/$(basename "$1")" '$5 == m {f = 1} END {exit !f}' /proc/self/mountinfo
}

# Unmounts MNT: lazily if the plain unmount fails (busy, dead daemon).
fuse_unmount_one() {
	local mnt=$1
	fuse_in_mountinfo "$mnt" || return 0
	timeout 30 fusermount3 -u "$mnt" 2>/dev/null ||
		timeout 10 fusermount3 -uz "$mnt" 2>/dev/null ||
		log "could not unmount $mnt"
}

# The watchdog is one process (bash's read -t on a FIFO, no sleep child),
# so killing it leaves nothing behind.
fuse_watchdog_start() {
	mkfifo "$T/watchdog.fifo" || fail "mkfifo"
	(
		read -r -t "$FUSE_TEST_DEADLINE" _ <>"$T/watchdog.fifo"
		log "watchdog: ${FUSE_TEST_DEADLINE}s deadline passed; killing dfs-fuse" >&2
		for f in "$T"/fuse-*.pid; do
			[ -e "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null
		done
	) &
	FUSE_WATCHDOG_PID=$!
}

fuse_cleanup() {
	local rc=$? i pid
	[ -n "$FUSE_WATCHDOG_PID" ] && kill -KILL "$FUSE_WATCHDOG_PID" 2>/dev/null
	for i in ${FUSE_MNTS[@]+"${!FUSE_MNTS[@]}"}; do
		fuse_unmount_one "${FUSE_MNTS[$i]}"
	done
	for pid in ${FUSE_PIDS[@]+"${FUSE_PIDS[@]}"}; do
		wait_until 10 eval "! pid_alive $pid" || kill -KILL "$pid" 2>/dev/null
	done
	if [ $rc -ne 0 ] && [ $rc -ne 77 ]; then
		for f in "$T"/fuse-*.log; do
			[ -e "$f" ] || continue
			echo "----- tail of $f -----"
			tail -n 40 "$f"
		done
	fi
	(exit $rc)
	cleanup
}

fuse_setup() {
	[ -x "$DFS_FUSE" ] || fail "$DFS_FUSE is not built"
	fuse_available || skip "no usable /dev/fuse or fusermount3"
	setup
	trap fuse_cleanup EXIT
	fuse_watchdog_start
}

# fuse_mount MNT [dfs-fuse args...]: mounts with the cluster's namenode.
fuse_mount() {
	local mnt=$1 n=${#FUSE_MNTS[@]}
	shift
	mkdir -p "$mnt"
	"$DFS_FUSE" "$mnt" -f -o "namenodes=$(nn_addr)" "$@" >"$T/fuse-$n.log" 2>&1 &
	FUSE_PID=$!
	echo "$FUSE_PID" >"$T/fuse-$n.pid"
	FUSE_PIDS+=("$FUSE_PID")
	FUSE_MNTS+=("$mnt")
	wait_until "$FUSE_MOUNT_TIMEOUT" fuse_mounted "$mnt" "$FUSE_PID"
	if ! mountpoint -q "$mnt"; then
		cat "$T/fuse-$n.log" >&2
		pid_alive "$FUSE_PID" || fail "dfs-fuse exited before mounting $mnt"
		fail "$mnt not mounted after ${FUSE_MOUNT_TIMEOUT}s"
	fi
	log "mounted $mnt (dfs-fuse pid $FUSE_PID)"
}

# fuse_mounted MNT PID: MNT is mounted, or fails hard once PID died.
fuse_mounted() {
	mountpoint -q "$1" && return 0
	pid_alive "$2" || return 0 # stop waiting; fuse_mount reports it
	return 1
}

# fuse_umount MNT: unmounts and waits for its dfs-fuse to exit cleanly.
fuse_umount() {
	local mnt=$1 i pid=
	for i in "${!FUSE_MNTS[@]}"; do
		[ "${FUSE_MNTS[$i]}" = "$mnt" ] && pid=${FUSE_PIDS[$i]:-}
	done
	timeout 30 fusermount3 -u "$mnt" || fail "fusermount3 -u $mnt failed"
	if [ -n "$pid" ]; then
		wait_until 20 eval "! pid_alive $pid" || fail "dfs-fuse $pid still running after unmount"
	fi
	! mountpoint -q "$mnt" || fail "$mnt still mounted"
}
