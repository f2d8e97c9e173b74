#!/bin/bash
# bench-mount.sh: `make bench-mount` (and the mount part of `make bench`).
# Brings up a throwaway cluster (3 namenodes, 3 datanodes, replication 3) in
# a temp dir, mounts it with dfs-fuse, and runs each workload on the mount
# and on a local-disk directory of the same disk, then prints
#   workload | local | dfs | dfs/local | CPU of all dfs processes
# The CPU column sums utime+stime (/proc/PID/stat) of the namenode, the
# datanodes and dfs-fuse over the workload: per GiB for the sequential
# parts, per operation for the others. Figures only, never pass/fail.
#   BENCH_SIZE_MIB (1024)  size of the sequential file
#   BENCH_RAND_S (30)      seconds of each random 4 KiB run
#   BENCH_RAND_DEPTHS (1,16) concurrent requests (fio psync jobs)
#   BENCH_FILES (10000)    files for create/stat/unlink
#   BENCH_SMALL (2000)     64 KiB files written and read
#   BENCH_DIR              where the temp dir goes (default /var/tmp)
#   BENCH_NAMENODES (3)    namenodes: 3, so that every create is durable on a
#                          majority of them, as the issue's targets ask
set -euo pipefail
builddir=${DFS_BUILDDIR:-$(pwd)}
srcdir=${DFS_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
SIZE_MIB=${BENCH_SIZE_MIB:-1024}
RAND_S=${BENCH_RAND_S:-30}
DEPTHS=${BENCH_RAND_DEPTHS:-1,16}
NFILES=${BENCH_FILES:-10000}
NSMALL=${BENCH_SMALL:-2000}
MOUNT_TIMEOUT_S=30
UMOUNT_TIMEOUT_S=60
cluster="$srcdir/tools/dfs-cluster"
fuse="$builddir/fuse/dfs-fuse"

for p in fio python3 fusermount3; do
	command -v "$p" >/dev/null 2>&1 || { echo "bench-mount: $p is not installed; skipped"; exit 0; }
done
[ -c /dev/fuse ] || { echo "bench-mount: no /dev/fuse; skipped"; exit 0; }
[ -x "$fuse" ] || { echo "bench-mount: $fuse is not built" >&2; exit 1; }

work=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/var/tmp}}/dfs-bench-mount.XXXXXX")
mnt=$work/mnt
fuse_pid=
up=

cleanup() {
	set +e
	if mountpoint -q "$mnt" 2>/dev/null; then
		timeout "$UMOUNT_TIMEOUT_S" fusermount3 -u "$mnt" ||
			timeout 10 fusermount3 -uz "$mnt"
	fi
	if [ -n "$fuse_pid" ]; then
		for _ in $(seq 1 100); do kill -0 "$fuse_pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$fuse_pid" 2>/dev/null
	fi
	[ -n "$up" ] && "$cluster" down --dir "$work/cluster" >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

export PATH="$builddir/namenode:$builddir/datanode:$builddir/tools:$PATH"
mkdir -p "$work/local" "$mnt"
echo
echo "bench-mount: ${BENCH_NAMENODES:-3} namenodes, 3 datanodes, replication 3; cluster and local disk under $work (sequential ${SIZE_MIB} MiB)"
up=1
"$cluster" up --dir "$work/cluster" --namenodes "${BENCH_NAMENODES:-3}" --datanodes 3 \
	>"$work/up.log" 2>&1 ||
	{ cat "$work/up.log"; exit 1; }
"$fuse" "$mnt" -f -o "namenodes=$(sed -n 's/^namenodes = //p' "$work/cluster/dfs.conf")" \
	>"$work/fuse.log" 2>&1 &
fuse_pid=$!
for _ in $(seq 1 $((MOUNT_TIMEOUT_S * 10))); do
	mountpoint -q "$mnt" && break
	kill -0 "$fuse_pid" 2>/dev/null || break
	sleep 0.1
done
mountpoint -q "$mnt" || { cat "$work/fuse.log"; echo "bench-mount: mount failed" >&2; exit 1; }

HZ=$(getconf CLK_TCK)
# cpu_ticks: utime+stime of every dfs process (daemons and dfs-fuse).
cpu_ticks() {
	local f pids=$fuse_pid
	for f in "$work"/cluster/pids/*.pid; do pids="$pids $(cat "$f")"; done
	# field 2 (comm) has no spaces for our programs
	for p in $pids; do awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0; done |
		awk '{s += $1} END {print s + 0}'
}
drop_caches() {
	sync
	[ -w /proc/sys/vm/drop_caches ] && echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
}
now() { date +%s.%N; }

# fio_run DIR NAME RW BS SIZE_MIB JOBS RUNTIME_S: prints MiB/s and IOPS.
fio_run() {
	local dir=$1 name=$2 rw=$3 bs=$4 size=$5 jobs=$6 rt=$7 extra=()
	[ "$rt" -gt 0 ] && extra=(--time_based --runtime="$rt")
	fio --name="$name" --directory="$dir" --filename=seq.dat --rw="$rw" --bs="$bs" \
		--size="${size}M" --ioengine=psync --numjobs="$jobs" --thread --group_reporting \
		--end_fsync=1 --fallocate=none --output-format=json "${extra[@]}" >"$work/fio.json" \
		2>>"$work/fio.err" || { echo "failed failed 0"; return 0; }
	python3 - "$work/fio.json" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))["jobs"][0]
bw = (j["read"]["bw_bytes"] + j["write"]["bw_bytes"]) / 1048576.0
iops = j["read"]["iops"] + j["write"]["iops"]
ops = j["read"]["total_ios"] + j["write"]["total_ios"]
print("%.1f %.0f %d" % (bw, iops, ops))
EOF
}

# meta_run DIR: create / stat / unlink of NFILES, then NSMALL 64 KiB files
# written (closed) and read back; prints "create/s stat/s unlink/s w/s r/s".
meta_run() {
	python3 - "$1" "$NFILES" "$NSMALL" <<'EOF'
import os, sys, time
d, n, ns = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
os.makedirs(d + "/m", exist_ok=True)
names = ["%s/m/f%06d" % (d, i) for i in range(n)]
rates = []
t = time.time()
for p in names:
    os.close(os.open(p, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o644))
rates.append(n / (time.time() - t))
t = time.time()
for p in names:
    os.stat(p)
rates.append(n / (time.time() - t))
t = time.time()
for p in names:
    os.unlink(p)
rates.append(n / (time.time() - t))
os.makedirs(d + "/s", exist_ok=True)
buf = os.urandom(65536)
t = time.time()
for i in range(ns):
    fd = os.open("%s/s/f%05d" % (d, i), os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
    os.write(fd, buf)
    os.close(fd)
rates.append(ns / (time.time() - t))
open(d + "/s/.written", "w").close()
print(" ".join("%.0f" % r for r in rates))
EOF
}
small_read() {
	python3 - "$1" "$NSMALL" <<'EOF'
import os, sys, time
d, ns = sys.argv[1], int(sys.argv[2])
t = time.time()
for i in range(ns):
    with open("%s/s/f%05d" % (d, i), "rb") as f:
        assert len(f.read()) == 65536
print("%.0f" % (ns / (time.time() - t)))
EOF
}

declare -A R CPU
# measure KEY DIR CMD...: runs CMD, stores its first output word in R[KEY@dir]
# and the dfs CPU seconds it cost (on the mount) in CPU[KEY].
measure() {
	local key=$1 dir=$2 where=local c0 c1 out
	shift 2
	[ "$dir" = "$mnt" ] && where=dfs
	c0=$(cpu_ticks)
	out=$("$@")
	c1=$(cpu_ticks)
	R[$key@$where]=$out
	[ $where = dfs ] && CPU[$key]=$(awk -v a="$c0" -v b="$c1" -v hz="$HZ" 'BEGIN{printf "%.3f", (b-a)/hz}')
	return 0
}
untar_run() {
	local dir=$1 t0 t1
	mkdir -p "$dir/untar"
	t0=$(now)
	tar -C "$dir/untar" -xf "$work/include.tar"
	sync -f "$dir/untar" 2>/dev/null || true
	t1=$(now)
	awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f\n", b-a}'
}

tar -C /usr -cf "$work/include.tar" include 2>/dev/null || true
tar_files=$(tar -tf "$work/include.tar" | wc -l)

for dir in "$work/local" "$mnt"; do
	echo "  running on $dir"
	measure seqw "$dir" fio_run "$dir" seqw write 1M "$SIZE_MIB" 1 0
	drop_caches
	measure seqr "$dir" fio_run "$dir" seqr read 1M "$SIZE_MIB" 1 0
	for qd in $(echo "$DEPTHS" | tr , ' '); do
		drop_caches
		measure "randr$qd" "$dir" fio_run "$dir" randr randread 4k "$SIZE_MIB" "$qd" "$RAND_S"
		measure "randw$qd" "$dir" fio_run "$dir" randw randwrite 4k "$SIZE_MIB" "$qd" "$RAND_S"
	done
	measure meta "$dir" meta_run "$dir"
	drop_caches
	measure smallr "$dir" small_read "$dir"
	measure untar "$dir" untar_run "$dir"
	# No cleanup between the two sides: ext4 without a journal does not
	# reuse an inode in the 60-360 s after it was freed, so deleting the
	# local side's 20,000 files here made every file the datanodes created
	# next slower (1,500 files of 64 KiB: 638/s before such a delete,
	# 485/s after). Everything goes with $work at exit.
done

word() { echo "$1" | awk -v n="$2" '{print $n}'; }
line() { # name local dfs unit cpu
	awk -v n="$1" -v l="$2" -v d="$3" -v u="$4" -v c="$5" \
		'BEGIN{r = (l + 0 > 0 && d + 0 > 0) ? sprintf("%.2f", d / l) : "-";
		printf "%-28s %12s %12s %8s  %-8s %s\n", n, l, d, r, u, c}'
}
gib=$(awk -v m="$SIZE_MIB" 'BEGIN{print m / 1024}')
per_gib() { awk -v c="$1" -v g="$gib" 'BEGIN{printf "%.2f CPU-s/GiB", c / g}'; }
per_op() { awk -v c="$1" -v n="$2" 'BEGIN{printf "%.0f us CPU/op", (n > 0) ? c * 1e6 / n : 0}'; }

echo
printf "%-28s %12s %12s %8s  %-8s %s\n" workload local dfs dfs/local unit "dfs CPU (all processes)"
line "sequential write ${SIZE_MIB} MiB" "$(word "${R[seqw@local]}" 1)" "$(word "${R[seqw@dfs]}" 1)" MiB/s "$(per_gib "${CPU[seqw]}")"
line "sequential read ${SIZE_MIB} MiB" "$(word "${R[seqr@local]}" 1)" "$(word "${R[seqr@dfs]}" 1)" MiB/s "$(per_gib "${CPU[seqr]}")"
for qd in $(echo "$DEPTHS" | tr , ' '); do
	line "random 4k read, $qd in flight" "$(word "${R[randr$qd@local]}" 2)" "$(word "${R[randr$qd@dfs]}" 2)" IOPS \
		"$(per_op "${CPU[randr$qd]}" "$(word "${R[randr$qd@dfs]}" 3)")"
	line "random 4k write, $qd in flight" "$(word "${R[randw$qd@local]}" 2)" "$(word "${R[randw$qd@dfs]}" 2)" IOPS \
		"$(per_op "${CPU[randw$qd]}" "$(word "${R[randw$qd@dfs]}" 3)")"
done
meta_ops=$((3 * NFILES + NSMALL))
line "create ($NFILES files)" "$(word "${R[meta@local]}" 1)" "$(word "${R[meta@dfs]}" 1)" ops/s \
	"$(per_op "${CPU[meta]}" "$meta_ops") (create+stat+unlink+64k writes)"
line "stat" "$(word "${R[meta@local]}" 2)" "$(word "${R[meta@dfs]}" 2)" ops/s ""
line "unlink" "$(word "${R[meta@local]}" 3)" "$(word "${R[meta@dfs]}" 3)" ops/s ""
line "64 KiB files written ($NSMALL)" "$(word "${R[meta@local]}" 4)" "$(word "${R[meta@dfs]}" 4)" files/s ""
line "64 KiB files read" "${R[smallr@local]}" "${R[smallr@dfs]}" files/s "$(per_op "${CPU[smallr]}" "$NSMALL")"
line "untar /usr/include ($tar_files)" "${R[untar@local]}" "${R[untar@dfs]}" s \
	"$(per_op "${CPU[untar]}" "$tar_files") (per entry)"
if grep -q . "$work/fio.err" 2>/dev/null; then
	echo "fio errors ($(grep -c . "$work/fio.err") lines), first: $(head -n 1 "$work/fio.err")"
fi
if grep -qE "WARN|ERR" "$work/fuse.log"; then
	echo "dfs-fuse warnings: $(grep -cE "WARN|ERR" "$work/fuse.log"), first ones:"
	grep -E "WARN|ERR" "$work/fuse.log" | head -n 3 || true
fi
echo "(local = $work/local on the same disk; dfs = dfs-fuse mount, replication 3; ratio dfs/local, for untar lower is better)"
