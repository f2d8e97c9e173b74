#!/bin/bash
# run-tests.sh: installs missing packages, builds, runs `make check`, then
# a sanitizer (ASan + UBSan) build of the same tree runs the unit tests and
# the hardest integration tests. On a failure it prints the log of every
# failed test.
# Exit status: 0 when both pass, else that of the failed step.
set -u
cd "$(dirname "$0")" || exit 1
. scripts/deps.sh
jobs=${DFS_MAKE_JOBS:-2}
SANITIZE_TESTS="tests/unit/test-common tests/unit/test-daemon tests/unit/test-namespace
tests/unit/test-blockmgr tests/unit/test-blockstore tests/unit/test-libdfs tests/unit/test-cli-util
tests/raft/test-raft-core tests/raft/test-wal datanode/test-xfer.sh
tests/integration/test-libdfs-io tests/integration/test-cli.sh tests/integration/test-garbage.sh
tests/integration/test-bad-names.sh tests/integration/test-raft-basic.sh
tests/integration/test-pipeline-kill.sh tests/integration/test-corrupt-read.sh
tests/integration/test-raft-failover.sh"

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
[ $rc -eq 0 ] || exit $rc

# The same code built with AddressSanitizer and UBSan (configure
# --enable-sanitize), from a copy of the distributed tree so it does not
# disturb the build above: the unit tests and the integration tests that
# drive the daemons hardest. Leak reports are off (test tools exit with
# buffers still allocated); memory errors and undefined behaviour fail.
# DFS_SANITIZE=0 skips it.
if [ "${DFS_SANITIZE:-1}" != 0 ]; then
	start=$SECONDS
	san=_sanitize
	rm -rf "$san"
	make -s distdir distdir="$san" >/dev/null || exit 1
	(
		cd "$san" &&
			./configure -q --enable-sanitize &&
			make -s -j"$jobs" >/dev/null &&
			ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 make -j"$jobs" check TESTS="$(echo $SANITIZE_TESTS)"
	)
	rc=$?
	echo "run-tests: sanitizer check exited $rc after $((SECONDS - start))s"
	if [ $rc -ne 0 ]; then
		for log in $(grep -lE '^:test-result: (FAIL|ERROR)' $(find "$san" -name '*.trs') 2>/dev/null); do
			echo "===== ${log%.trs}.log ====="
			cat "${log%.trs}.log"
		done
		exit $rc
	fi
	rm -rf "$san"
fi
exit 0
