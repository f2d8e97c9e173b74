#!/bin/bash
# run-tests.sh: installs missing packages, builds, runs `make check`; on a
# failure prints the test-suite log and the log of every failed test.
# Exit status: that of make check.
set -u
cd "$(dirname "$0")" || exit 1
. scripts/deps.sh
jobs=${DFS_MAKE_JOBS:-2}

dfs_install_deps || { echo "run-tests: installing packages failed" >&2; exit 1; }
dfs_build || { echo "run-tests: build failed" >&2; exit 1; }

start=$SECONDS
make -j"$jobs" check
rc=$?
echo "run-tests: make check exited $rc after $((SECONDS - start))s"
if [ $rc -ne 0 ]; then
	[ -f test-suite.log ] && cat test-suite.log
	for trs in $(find . -name '*.trs' 2>/dev/null); do
		if grep -qE '^:test-result: (FAIL|ERROR|XPASS)' "$trs"; then
			log=${trs%.trs}.log
			echo "===== $log ====="
			cat "$log"
		fi
	done
fi
exit $rc
