#!/bin/bash
# quickstart.sh: from a fresh Debian 12 checkout to a running local dfs
# cluster (three Raft namenodes, three datanodes) in ./.dfs-local, mounted
# at ./mnt through dfs-fuse.
#   ./quickstart.sh          install missing packages, build, start, mount
#   ./quickstart.sh stop     unmount and stop the cluster
#   ./quickstart.sh status   show what is running
set -u
cd "$(dirname "$0")" || exit 1
. scripts/deps.sh
DIR=./.dfs-local
MNT=./mnt

# Unmounts ./mnt if dfs-fuse is mounted there; waits for the unmount.
unmount_mnt() {
	mountpoint -q "$MNT" 2>/dev/null || return 0
	fusermount3 -u "$MNT" 2>/dev/null || fusermount3 -uz "$MNT"
}

# Mounts the cluster at ./mnt (when FUSE is available and it is not
# mounted yet); prints the line to try, or why there is no mount.
mount_mnt() {
	if mountpoint -q "$MNT" 2>/dev/null; then
		echo "  ls $MNT                 # already mounted"
		return 0
	fi
	if [ ! -e /dev/fuse ] || ! command -v fusermount3 >/dev/null 2>&1; then
		echo "  (no /dev/fuse or fusermount3 here: no mount at $MNT)"
		return 0
	fi
	mkdir -p "$MNT"
	if fuse/dfs-fuse "$MNT" -o "conf=$ABS/dfs.conf,log_file=$ABS/logs/fuse.log"; then
		echo "  ls $MNT                 # the cluster, mounted with dfs-fuse"
	else
		echo "  (dfs-fuse could not mount $MNT; see $ABS/logs/fuse.log)"
	fi
}

case ${1:-up} in
stop | down)
	unmount_mnt
	exec tools/dfs-cluster down --dir "$DIR"
	;;
status)
	exec tools/dfs-cluster status --dir "$DIR"
	;;
up | start) ;;
*)
	echo "usage: $0 [up|stop|status]" >&2
	exit 2
	;;
esac

dfs_install_deps || { echo "quickstart: installing packages failed" >&2; exit 1; }
dfs_build || { echo "quickstart: build failed" >&2; exit 1; }
export DFS_BUILDDIR=$PWD
out=$(tools/dfs-cluster up --dir "$DIR") || {
	echo "quickstart: the cluster did not start; logs are in $DIR/logs" >&2
	exit 1
}
ABS=$(cd "$DIR" && pwd)
mounted=$(mount_mnt)
cat <<EOM

dfs is running: three namenodes (a Raft group) and three datanodes on
127.0.0.1, state in $ABS (logs in $ABS/logs). Try:

$mounted
  $out
  export PATH=$PWD/tools:\$PATH
  dfs ls /
  dfs put README.md /readme.md
  dfs cat /readme.md
  dfs admin report

Stop it with: ./quickstart.sh stop        More in README.md and man/dfs.1.
EOM
