# scripts/deps.sh: installs the Debian packages dfs needs to build and test,
# only those missing, and builds the tree. Sourced by quickstart.sh and
# run-tests.sh (bash), from the repository root.

DFS_DEB_PACKAGES="build-essential autoconf automake libtool pkg-config libfuse3-dev fuse3
libssl-dev libleveldb-dev libcmocka-dev libprotobuf-c-dev protobuf-c-compiler libisal-dev
rsync git sqlite3 fio attr"

# Prints the packages of DFS_DEB_PACKAGES that are not installed.
dfs_missing_packages() {
	local p status
	for p in $DFS_DEB_PACKAGES; do
		status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)
		[ "$status" = installed ] || echo "$p"
	done
}

# Installs what is missing (apt-get update once, first). Needs root only
# when something is missing.
dfs_install_deps() {
	local missing sudo=
	if ! command -v dpkg-query >/dev/null 2>&1; then
		echo "deps: not a Debian system; install the equivalents of: $DFS_DEB_PACKAGES" >&2
		return 0
	fi
	missing=$(dfs_missing_packages | tr '\n' ' ')
	[ -n "${missing// /}" ] || return 0
	if [ "$(id -u)" != 0 ]; then
		command -v sudo >/dev/null 2>&1 || {
			echo "deps: missing packages ($missing) and not root: run as root or install them" >&2
			return 1
		}
		sudo=sudo
	fi
	echo "deps: installing $missing" >&2
	$sudo apt-get update -q || return 1
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q $missing || return 1
}

# Builds in the repository root: autoreconf if there is no configure,
# configure if there is no Makefile, then make -jN.
dfs_build() {
	local jobs=${DFS_MAKE_JOBS:-2}
	if [ ! -x configure ]; then
		autoreconf -fi || return 1
	fi
	if [ ! -f Makefile ]; then
		./configure -q || return 1
	fi
	make -j"$jobs" || return 1
}
