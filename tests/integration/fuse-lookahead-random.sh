#!/bin/bash
# fuse-lookahead-random: the lookahead window (fuse/lookahead.c) never
# hides a change made through its own mount. A seeded random sequence of
# changes in one directory (create, write, truncate, chmod, mkdir, rmdir,
# symlink, hard link, mknod, unlink, rename, also over an existing name)
# runs against a model of what the directory holds. After every few
# changes the kernel's cached names are dropped (drop_caches), so that
# every name is looked up again, and each of the 48 possible names is
# checked against the model: present or missing, type, size, mode and
# link count. The lookups go in name order or in random order, so that
# both kinds of window are listed (after a name, and the whole directory)
# and then answered from, with the changes since their listing; the
# unmount line must show lookups answered from windows, found and
# missing. The first difference fails with the seed (DFS_TEST_SEED).
. "$(dirname "$0")/lib.sh"
. "$DFS_SRCDIR/tests/fuse/lib-fuse.sh"

[ -w /proc/sys/vm/drop_caches ] || skip "drop_caches is not writable (needs root)"
fuse_setup
cluster_up --datanodes 1 --replication 1
M=$T/m
fuse_mount "$M"
M_LOG=$T/fuse-0.log
ROUNDS=${FUSE_LA_ROUNDS:-60}

log "seed $SEED, $ROUNDS rounds"
python3 - "$M/d" "$SEED" "$ROUNDS" <<'EOF' || fail "the mount differed from the model (seed $SEED)"
import os, random, stat, sys

d, seed, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
rng = random.Random(seed)
os.mkdir(d)
NAMES = ["n%02d" % i for i in range(48)]
# model: name -> node; a node is a dict shared by the names linking it
model = {}


def path(n):
    return os.path.join(d, n)


def drop():
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("2\n")


def nlink(node):
    return sum(1 for v in model.values() if v is node)


def change(step):
    n = rng.choice(NAMES)
    m = rng.choice(NAMES)
    node = model.get(n)
    op = rng.choice(["create", "create", "write", "truncate", "chmod", "mkdir", "rmdir",
                     "symlink", "link", "mknod", "unlink", "unlink", "rename", "rename"])
    desc = "%s %s %s" % (op, n, m)
    if op == "create" and node is None:
        size = rng.randrange(0, 3000)
        with open(path(n), "wb") as f:
            f.write(os.urandom(size))
        model[n] = {"type": "reg", "size": size, "mode": 0o644}
    elif op == "write" and node is not None and node["type"] == "reg":
        add = rng.randrange(1, 500)
        with open(path(n), "ab") as f:
            f.write(os.urandom(add))
        node["size"] += add
    elif op == "truncate" and node is not None and node["type"] == "reg":
        size = rng.randrange(0, 5000)
        os.truncate(path(n), size)
        node["size"] = size
    elif op == "chmod" and node is not None and node["type"] in ("reg", "dir"):
        mode = rng.choice([0o600, 0o640, 0o755, 0o700])
        os.chmod(path(n), mode)
        node["mode"] = mode
    elif op == "mkdir" and node is None:
        os.mkdir(path(n), 0o755)
        model[n] = {"type": "dir", "size": None, "mode": 0o755}
    elif op == "rmdir" and node is not None and node["type"] == "dir":
        os.rmdir(path(n))
        del model[n]
    elif op == "symlink" and node is None:
        os.symlink("target-" + m, path(n))
        model[n] = {"type": "lnk", "size": len("target-" + m), "mode": None}
    elif op == "link" and node is not None and node["type"] == "reg" and m not in model:
        os.link(path(n), path(m))
        model[m] = node
    elif op == "mknod" and node is None:
        os.mkfifo(path(n), 0o644)
        model[n] = {"type": "fifo", "size": 0, "mode": 0o644}
    elif op == "unlink" and node is not None and node["type"] != "dir":
        os.unlink(path(n))
        del model[n]
    elif op == "rename" and node is not None and n != m:
        target = model.get(m)
        if target is node:
            return None  # rename between links of one inode: a no-op
        if node["type"] == "dir" and target is not None and target["type"] != "dir":
            return None
        if node["type"] != "dir" and target is not None and target["type"] == "dir":
            return None
        if target is not None and target["type"] == "dir":
            return None  # only empty directories could be replaced: skip
        os.rename(path(n), path(m))
        model[m] = node
        del model[n]
    else:
        return None
    return desc


def kind(st):
    for t, f in (("reg", stat.S_ISREG), ("dir", stat.S_ISDIR), ("lnk", stat.S_ISLNK),
                 ("fifo", stat.S_ISFIFO)):
        if f(st.st_mode):
            return t
    return "other"


def check(rnd, history):
    names = list(NAMES)
    order = "name order"
    if rng.random() < 0.5:
        rng.shuffle(names)
        order = "random order"
    for n in names:
        node = model.get(n)
        try:
            st = os.lstat(path(n))
        except FileNotFoundError:
            st = None
        want = None
        got = None
        if node is not None:
            want = (node["type"], node["size"], node["mode"], nlink(node))
        if st is not None:
            t = kind(st)
            got = (t, None if t == "dir" else st.st_size,
                   None if t == "lnk" else stat.S_IMODE(st.st_mode),
                   nlink(node) if node is not None and t == "dir" else st.st_nlink)
        if got != want:
            print("round %d (%s), name %s: mount %s, model %s (type, size, mode, nlink)"
                  % (rnd, order, n, got, want), file=sys.stderr)
            print("changes of this round: %s" % "; ".join(history), file=sys.stderr)
            print("seed %s" % seed, file=sys.stderr)
            sys.exit(1)


for rnd in range(rounds):
    history = []
    while len(history) < rng.randrange(1, 8):
        desc = change(rnd)
        if desc:
            history.append(desc)
    drop()
    check(rnd, history)
print("%d rounds, %d names at the end" % (rounds, len(model)))
EOF

fuse_umount "$M"
line=$(grep "lookups answered from" "$M_LOG") || fail "no unmount line in $M_LOG"
log "${line#*INFO: }"
hits=$(sed -E 's/.*; ([0-9]+) lookups answered from ([0-9]+) lookahead listings, ([0-9]+) of them missing.*/\1/' <<<"$line")
misses=$(sed -E 's/.*; ([0-9]+) lookups answered from ([0-9]+) lookahead listings, ([0-9]+) of them missing.*/\3/' <<<"$line")
[ "$misses" -ge 100 ] && [ $((hits - misses)) -ge 100 ] ||
	fail "the checks were not answered from windows ($hits lookups, $misses of them missing names)"
log PASS
