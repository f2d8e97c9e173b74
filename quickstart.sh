#!/bin/bash
# quickstart.sh: from a fresh Debian 12 checkout to a running local dfs
# cluster (one namenode, three datanodes) in ./.dfs-local.
#   ./quickstart.sh          install missing packages, build, start
#   ./quickstart.sh stop     stop the cluster
#   ./quickstart.sh status   show what is running
set -u
cd "$(dirname "$0")" || exit 1
. scripts/deps.sh
DIR=./.dfs-local

case ${1:-up} in
stop | down)
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
cat <<EOM

dfs is running: one namenode and three datanodes on 127.0.0.1, state in $ABS
(logs in $ABS/logs). Try:

  $out
  export PATH=$PWD/tools:\$PATH
  dfs ls /
  dfs put README.md /readme.md
  dfs cat /readme.md
  dfs admin report

Stop it with: ./quickstart.sh stop        More in README.md and man/dfs.1.
EOM
