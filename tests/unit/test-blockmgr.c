/* test-blockmgr.c: the namenode's soft state (namenode/dnmgr.c,
 * blockmap.c, placement.c, replmon.c, rpc_handlers.c) driven through the
 * same entry points the RPC loop uses, on a real namespace: placement,
 * locations, dead datanodes, setrep up and down, orphans, stale
 * genstamps, freed blocks and the per-heartbeat command bound. Time is
 * passed to the monitor explicitly. */
#include "namenode/heal.h"
#include "namenode/nn.h"

#include "common/errors.h"
#include "common/frame.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define NDN 4
#define LATER_MS (10 * 60 * 1000) /* past every busy window */

struct fx {
	char dir[64];
	struct nn nn;
	Dfs__DatanodeId ids[NDN];
	char uuid[NDN][16];
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/test-blockmgr-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(ns_format(f->dir, "c", 1, 0, 0, 0), 0);
	assert_int_equal(ns_open(f->dir, &f->nn.ns), 0);
	assert_int_equal(dnmgr_init(&f->nn.dm, 10000), 0);
	f->nn.cfg.default_replication = 3;
	f->nn.cfg.default_block_size = 1 << 20;
	f->nn.superuser_uid = 0;
	for (int i = 0; i < NDN; i++) {
		dfs__datanode_id__init(&f->ids[i]);
		snprintf(f->uuid[i], sizeof(f->uuid[i]), "dn-%d", i);
		f->ids[i].uuid = f->uuid[i];
		f->ids[i].host = "127.0.0.1";
		f->ids[i].port = 9000 + (uint32_t)i;
	}
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;
	dnmgr_fini(&f->nn.dm);
	ns_close(f->nn.ns);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static int dn_of(const char *uuid) { return uuid[3] - '0'; }

/* Sends a packed datanode message; returns the reply (caller frees). */
static Dfs__DnReply *dn_msg(struct fx *f, uint32_t method, const ProtobufCMessage *m)
{
	uint8_t buf[65536];
	size_t n = protobuf_c_message_pack(m, buf);
	Dfs__DnReply *r = calloc(1, sizeof(*r));
	dfs__dn_reply__init(r);
	assert_int_equal(nn_handle_dn(&f->nn, method, buf, n, r), 0);
	return r;
}

static void reply_free(Dfs__DnReply *r)
{
	r->base.descriptor = &dfs__dn_reply__descriptor;
	protobuf_c_message_free_unpacked(&r->base, NULL);
}

static void reg(struct fx *f, int i, uint64_t remaining)
{
	Dfs__DnRegister m = DFS__DN_REGISTER__INIT;
	m.id = &f->ids[i];
	m.capacity = 1ull << 40;
	m.remaining = remaining << 20; /* MiB: room for 1 MiB blocks */
	Dfs__DnReply *r = dn_msg(f, DFS_M_DN_REGISTER, &m.base);
	assert_string_equal(r->cluster_id, "c");
	reply_free(r);
}

/* Heartbeat of datanode i; returns the reply with its commands. */
static Dfs__DnReply *hb(struct fx *f, int i)
{
	Dfs__DnHeartbeat m = DFS__DN_HEARTBEAT__INIT;
	m.id = &f->ids[i];
	m.capacity = 1ull << 40;
	m.remaining = 1ull << 30;
	return dn_msg(f, DFS_M_DN_HEARTBEAT, &m.base);
}

static void report(struct fx *f, int i, bool full, uint64_t id, uint64_t gs)
{
	Dfs__DnBlockReport m = DFS__DN_BLOCK_REPORT__INIT;
	Dfs__BlockRef b = DFS__BLOCK_REF__INIT, *bp = &b;
	b.block_id = id;
	b.genstamp = gs;
	b.length = 10;
	m.id = &f->ids[i];
	m.full = full;
	m.n_received = id ? 1 : 0;
	m.received = &bp;
	reply_free(dn_msg(f, DFS_M_DN_REPORT, &m.base));
}

static int ns(struct fx *f, uint32_t method, const char *path, uint32_t rep, Dfs__NsReply *r)
{
	Dfs__NsRequest q = DFS__NS_REQUEST__INIT;
	q.path = (char *)path;
	q.has_block_index = true;
	q.block_index = 0;
	q.has_replication = rep > 0;
	q.replication = rep;
	dfs__ns_reply__init(r);
	return nn_handle_ns(&f->nn, method, &q, r);
}

/* ADD_BLOCK of block `index` of path, leaving out the datanodes in ex. */
static int add_block_excluding(struct fx *f, const char *path, uint64_t index, char **ex,
			       size_t n_ex, Dfs__NsReply *r)
{
	Dfs__NsRequest q = DFS__NS_REQUEST__INIT;
	q.path = (char *)path;
	q.has_block_index = true;
	q.block_index = index;
	q.n_exclude_nodes = n_ex;
	q.exclude_nodes = ex;
	dfs__ns_reply__init(r);
	return nn_handle_ns(&f->nn, DFS_M_ADD_BLOCK, &q, r);
}

/* Number of locations of block 0 of path. */
static size_t nlocs(struct fx *f, const char *path)
{
	Dfs__NsReply r;
	assert_int_equal(ns(f, DFS_M_GET_BLOCKS, path, 0, &r), 0);
	size_t n = r.n_blocks ? r.blocks[0]->n_locations : 0;
	ns_reply_clear(&r);
	return n;
}

/* Creates path with one block written to its pipeline and reported. */
static Dfs__BlockRef written_block(struct fx *f, const char *path, uint32_t rep, int *targets)
{
	Dfs__NsReply r;
	assert_int_equal(ns(f, DFS_M_CREATE, path, rep, &r), 0);
	ns_reply_clear(&r);
	assert_int_equal(ns(f, DFS_M_ADD_BLOCK, path, 0, &r), 0);
	Dfs__BlockRef b = *r.block->block;
	assert_int_equal(r.block->n_locations, rep);
	for (size_t i = 0; i < r.block->n_locations; i++) {
		targets[i] = dn_of(r.block->locations[i]->uuid);
		report(f, targets[i], false, b.block_id, b.genstamp);
	}
	ns_reply_clear(&r);
	return b;
}

static int count_cmds(Dfs__DnReply *r, int kind)
{
	int n = 0;
	for (size_t i = 0; i < r->n_commands; i++)
		n += r->commands[i]->kind == (Dfs__DnCommand__Kind)kind;
	return n;
}

static void test_placement(void **state)
{
	struct fx *f = *state;
	Dfs__NsReply r;
	assert_int_equal(ns(f, DFS_M_CREATE, "/f", 0, &r), 0);
	ns_reply_clear(&r);
	/* no datanodes: refused before any block exists */
	assert_int_equal(ns(f, DFS_M_ADD_BLOCK, "/f", 0, &r), -DFS_ENODATANODES);
	ns_reply_clear(&r);
	assert_int_equal(f->nn.ns->c.blocks, 0);
	reg(f, 0, 100);
	reg(f, 1, 300);
	reg(f, 2, 200);
	assert_int_equal(ns(f, DFS_M_ADD_BLOCK, "/f", 0, &r), 0);
	assert_int_equal(r.block->n_locations, 3);
	assert_string_equal(r.block->locations[0]->uuid, "dn-1"); /* most space first */
	assert_string_equal(r.block->locations[1]->uuid, "dn-2");
	assert_string_equal(r.block->locations[2]->uuid, "dn-0");
	ns_reply_clear(&r);
	/* the pipeline is where readers find the block before any report */
	assert_int_equal(nlocs(f, "/f"), 3);
	/* exclude_nodes */
	char *ex[] = {"dn-1", "dn-0"};
	assert_int_equal(add_block_excluding(f, "/f", 1, ex, 2, &r), 0);
	assert_int_equal(r.block->n_locations, 1);
	assert_string_equal(r.block->locations[0]->uuid, "dn-2");
	ns_reply_clear(&r);
}

/* A cluster whose only datanode is full says so: ENOSPC, not "no
 * datanodes" (which it says when the full one is excluded anyway). */
static void test_placement_full(void **state)
{
	struct fx *f = *state;
	Dfs__NsReply r;
	assert_int_equal(ns(f, DFS_M_CREATE, "/f", 0, &r), 0);
	ns_reply_clear(&r);
	reg(f, 0, 0);
	assert_int_equal(ns(f, DFS_M_ADD_BLOCK, "/f", 0, &r), -ENOSPC);
	ns_reply_clear(&r);
	char *ex[] = {"dn-0"};
	assert_int_equal(add_block_excluding(f, "/f", 0, ex, 1, &r), -DFS_ENODATANODES);
	ns_reply_clear(&r);
	reg(f, 1, 100);
	assert_int_equal(ns(f, DFS_M_ADD_BLOCK, "/f", 0, &r), 0);
	assert_string_equal(r.block->locations[0]->uuid, "dn-1");
	ns_reply_clear(&r);
}

static void test_setrep_and_dead(void **state)
{
	struct fx *f = *state;
	int t[3];
	for (int i = 0; i < NDN; i++)
		reg(f, i, 1000);
	Dfs__BlockRef b = written_block(f, "/f", 3, t);
	int64_t now = nn_now_ms() + LATER_MS;
	replmon_run(&f->nn, now);
	for (int i = 0; i < NDN; i++) { /* fully replicated: nothing to do */
		Dfs__DnReply *r = hb(f, i);
		assert_int_equal(r->n_commands, 0);
		reply_free(r);
	}
	/* setrep 1: two DELETEs */
	Dfs__NsReply nr;
	assert_int_equal(ns(f, DFS_M_SETREP, "/f", 1, &nr), 0);
	ns_reply_clear(&nr);
	replmon_run(&f->nn, now);
	int deletes = 0;
	for (int i = 0; i < NDN; i++) {
		Dfs__DnReply *r = hb(f, i);
		deletes += count_cmds(r, DFS__DN_COMMAND__KIND__DELETE);
		reply_free(r);
	}
	assert_int_equal(deletes, 2);
	assert_int_equal(nlocs(f, "/f"), 1);
	/* setrep 3 and the last holder's peers: one COPY to two targets */
	assert_int_equal(ns(f, DFS_M_SETREP, "/f", 3, &nr), 0);
	ns_reply_clear(&nr);
	replmon_run(&f->nn, now);
	int copies = 0, holder = -1;
	for (int i = 0; i < NDN; i++) {
		Dfs__DnReply *r = hb(f, i);
		if (count_cmds(r, DFS__DN_COMMAND__KIND__COPY)) {
			copies++;
			holder = i;
			assert_int_equal(r->commands[0]->n_targets, 2);
			assert_int_equal(r->commands[0]->blocks[0]->block_id, b.block_id);
		}
		reply_free(r);
	}
	assert_int_equal(copies, 1);
	/* the holder dies: no locations; its heartbeat is told to re-register */
	for (int i = 0; i < NDN; i++)
		if (i != holder)
			f->nn.dm.dns[i].last_seen_ms = now;
	dnmgr_check_dead(&f->nn.dm, now);
	assert_false(f->nn.dm.dns[holder].live);
	assert_int_equal(nlocs(f, "/f"), 0);
	Dfs__DnReply *r = hb(f, holder);
	assert_int_equal(count_cmds(r, DFS__DN_COMMAND__KIND__REREGISTER), 1);
	reply_free(r);
}

static void test_orphans_stale_freed(void **state)
{
	struct fx *f = *state;
	int t[3];
	for (int i = 0; i < 3; i++)
		reg(f, i, 1000);
	Dfs__BlockRef b = written_block(f, "/f", 3, t);
	/* a replica of a block nobody knows */
	report(f, 0, false, 4242, 1);
	/* OPEN_BLOCK bumps the genstamp; only two replicas get the rewrite */
	Dfs__NsReply r;
	assert_int_equal(ns(f, DFS_M_OPEN_BLOCK, "/f", 0, &r), 0);
	assert_int_equal(r.block->n_locations, 3);
	uint64_t gs2 = r.block->block->genstamp;
	assert_true(gs2 > b.genstamp);
	ns_reply_clear(&r);
	report(f, t[0], false, b.block_id, gs2);
	report(f, t[1], false, b.block_id, gs2);
	report(f, t[2], false, b.block_id, b.genstamp); /* late, old: ignored */
	int64_t now = nn_now_ms() + LATER_MS;
	replmon_run(&f->nn, now); /* drops the expectation on t[2] */
	report(f, t[2], true, b.block_id, b.genstamp); /* full report: stale */
	replmon_run(&f->nn, now + LATER_MS); /* after the first COPY's pending time */
	int del_orphan = 0, del_stale = 0, copies = 0;
	for (int i = 0; i < 3; i++) {
		Dfs__DnReply *hr = hb(f, i);
		for (size_t k = 0; k < hr->n_commands; k++) {
			Dfs__DnCommand *c = hr->commands[k];
			for (size_t j = 0; c->kind == DFS__DN_COMMAND__KIND__DELETE && j < c->n_blocks;
			     j++) {
				del_orphan += c->blocks[j]->block_id == 4242 && i == 0;
				del_stale += c->blocks[j]->block_id == b.block_id &&
					     c->blocks[j]->genstamp == b.genstamp && i == t[2];
			}
			copies += c->kind == DFS__DN_COMMAND__KIND__COPY;
		}
		reply_free(hr);
	}
	assert_int_equal(del_orphan, 1);
	assert_int_equal(del_stale, 1);
	assert_int_equal(copies, 2); /* one per pass, each back to 3 good replicas */
	/* deleting the file deletes the replicas on their holders */
	assert_int_equal(ns(f, DFS_M_UNLINK, "/f", 0, &r), 0);
	ns_reply_clear(&r);
	int freed = 0;
	for (int i = 0; i < 3; i++) {
		Dfs__DnReply *hr = hb(f, i);
		freed += count_cmds(hr, DFS__DN_COMMAND__KIND__DELETE);
		reply_free(hr);
	}
	assert_int_equal(freed, 2);
}

/* "/f" written with 3 replicas (on t[0..2]) and then rewritten
 * (OPEN_BLOCK) on t[0] and t[1] only: returns the new genstamp; *b is the
 * block as first written. */
static uint64_t rewritten_by_two(struct fx *f, int *t, Dfs__BlockRef *b)
{
	for (int i = 0; i < 3; i++)
		reg(f, i, 1000);
	*b = written_block(f, "/f", 3, t);
	Dfs__NsReply r;
	assert_int_equal(ns(f, DFS_M_OPEN_BLOCK, "/f", 0, &r), 0);
	uint64_t gs2 = r.block->block->genstamp;
	ns_reply_clear(&r);
	report(f, t[0], false, b->block_id, gs2);
	report(f, t[1], false, b->block_id, gs2);
	return gs2;
}

/* A datanode's incremental report that carries both the copy it took at
 * the new genstamp and the deletion of the stale replica it held before
 * (one batch of report_delay_ms): the deletion names the old genstamp and
 * must not take the new replica off the map. It did, and the namenode then
 * sent that datanode copies it refused (it had the block) forever. */
static void test_deleted_old_keeps_new(void **state)
{
	struct fx *f = *state;
	int t[3];
	Dfs__BlockRef b;
	uint64_t gs2 = rewritten_by_two(f, t, &b);
	replmon_run(&f->nn, nn_now_ms() + LATER_MS); /* t[2]'s old replica: stale */
	assert_int_equal(nlocs(f, "/f"), 2);
	Dfs__DnBlockReport m = DFS__DN_BLOCK_REPORT__INIT;
	Dfs__BlockRef got = DFS__BLOCK_REF__INIT, gone = DFS__BLOCK_REF__INIT;
	Dfs__BlockRef *gotp = &got, *gonep = &gone;
	got.block_id = gone.block_id = b.block_id;
	got.genstamp = gs2;
	got.length = 10;
	gone.genstamp = b.genstamp;
	m.id = &f->ids[t[2]];
	m.n_received = 1;
	m.received = &gotp;
	m.n_deleted = 1;
	m.deleted = &gonep;
	reply_free(dn_msg(f, DFS_M_DN_REPORT, &m.base));
	assert_int_equal(nlocs(f, "/f"), 3);
	/* a deletion of the version it holds does take it off */
	gone.genstamp = gs2;
	m.n_received = 0;
	reply_free(dn_msg(f, DFS_M_DN_REPORT, &m.base));
	assert_int_equal(nlocs(f, "/f"), 2);
}

/* A late report of the old genstamp from the datanode a COPY is bound
 * for is not that copy arriving: the copy stays in flight, and no second
 * one goes out (it did, and the target refused it with EEXIST once the
 * first had landed). */
static void test_stale_report_is_not_the_copy(void **state)
{
	struct fx *f = *state;
	int t[3];
	Dfs__BlockRef b;
	uint64_t gs2 = rewritten_by_two(f, t, &b);
	int64_t now = nn_now_ms() + LATER_MS;
	replmon_run(&f->nn, now); /* t[2] never took gs2: a COPY to it */
	report(f, t[2], false, b.block_id, b.genstamp); /* its old replica, late */
	replmon_run(&f->nn, now + 1000);
	int copies = 0;
	for (int i = 0; i < 3; i++) {
		Dfs__DnReply *hr = hb(f, i);
		copies += count_cmds(hr, DFS__DN_COMMAND__KIND__COPY);
		reply_free(hr);
	}
	assert_int_equal(copies, 1);
	report(f, t[2], false, b.block_id, gs2); /* the copy landed */
	assert_int_equal(nlocs(f, "/f"), 3);
	assert_int_equal(bm_find(&f->nn.dm, b.block_id)->copy_src, -1); /* not in flight */
}

static void test_command_bound(void **state)
{
	struct fx *f = *state;
	reg(f, 0, 1000);
	for (int i = 0; i < DN_CMDS_PER_HEARTBEAT + 10; i++) {
		Dfs__DnCommand *c = malloc(sizeof(*c));
		dfs__dn_command__init(c);
		c->kind = DFS__DN_COMMAND__KIND__NONE;
		assert_int_equal(dnmgr_queue(&f->nn.dm, 0, c), 0);
	}
	Dfs__DnReply *r = hb(f, 0);
	assert_int_equal(r->n_commands, DN_CMDS_PER_HEARTBEAT);
	reply_free(r);
	r = hb(f, 0);
	assert_int_equal(r->n_commands, 10);
	reply_free(r);
	/* a malformed datanode message is refused, not crashed on */
	Dfs__DnReply bad = DFS__DN_REPLY__INIT;
	const uint8_t junk[] = {0xff, 0xff, 0xff};
	assert_int_equal(nn_handle_dn(&f->nn, DFS_M_DN_HEARTBEAT, junk, sizeof(junk), &bad),
			 -DFS_EPROTOCOL);
}

static void test_safemode_arithmetic(void **state)
{
	(void)state;
	struct safemode sm;
	double th;
	assert_int_equal(safemode_parse_threshold("0.999", &th), 0);
	assert_int_equal(safemode_parse_threshold("1.5", &th), -EINVAL);
	assert_int_equal(safemode_parse_threshold("x", &th), -EINVAL);
	safemode_start(&sm, 0.999, 1000, 2, 0);
	assert_true(sm.on);
	assert_true(safemode_update(&sm, 1000, 998, 3, 10));  /* 99.8% < 99.9% */
	assert_true(safemode_update(&sm, 1000, 999, 1, 20));  /* too few datanodes */
	assert_true(safemode_update(&sm, 1000, 999, 2, 30));  /* extension starts */
	assert_true(safemode_update(&sm, 1000, 999, 2, 1029));
	assert_false(safemode_update(&sm, 1000, 999, 2, 1030)); /* left */
	safemode_enter_manual(&sm, 2000);
	assert_true(safemode_update(&sm, 1000, 1000, 9, 999999)); /* only leave ends it */
	safemode_leave(&sm, 3000);
	assert_false(sm.on);
	safemode_start(&sm, 0.5, 0, 0, 0);
	assert_false(safemode_update(&sm, 0, 0, 0, 0)); /* empty namespace */
}

/* Holds commands of kind for every datanode: count per datanode in n[]. */
static void drain(struct fx *f, int kind, int *n)
{
	for (int i = 0; i < NDN; i++) {
		Dfs__DnReply *r = hb(f, i);
		n[i] = count_cmds(r, kind);
		reply_free(r);
	}
}

/* A reader reports the replica of b on datanode dn bad. */
static void report_bad(struct fx *f, Dfs__BlockRef *b, int dn)
{
	Dfs__BadReplicaReport m = DFS__BAD_REPLICA_REPORT__INIT;
	char *uu = f->uuid[dn];
	m.n_blocks = m.n_datanode_uuids = 1;
	m.blocks = &b;
	m.datanode_uuids = &uu;
	uint8_t buf[1024];
	size_t len = protobuf_c_message_pack(&m.base, buf);
	assert_int_equal(nn_handle_bad_replica(&f->nn, buf, len), 0);
}

static void test_corrupt_replica(void **state)
{
	struct fx *f = *state;
	int t[3], n[NDN];
	for (int i = 0; i < NDN; i++)
		reg(f, i, 1000);
	Dfs__BlockRef b = written_block(f, "/f", 3, t);
	int64_t now = nn_now_ms() + LATER_MS;
	report_bad(f, &b, t[0]);
	assert_int_equal(nlocs(f, "/f"), 2); /* never handed to readers */
	replmon_run(&f->nn, now);
	drain(f, DFS__DN_COMMAND__KIND__COPY, n);
	assert_int_equal(n[0] + n[1] + n[2] + n[3], 1);
	int spare = 0 + 1 + 2 + 3 - t[0] - t[1] - t[2];
	/* no DELETE of the bad one before the copy arrived */
	replmon_run(&f->nn, now + LATER_MS);
	drain(f, DFS__DN_COMMAND__KIND__DELETE, n);
	assert_int_equal(n[t[0]], 0);
	report(f, spare, false, b.block_id, b.genstamp);
	replmon_run(&f->nn, now + 2 * LATER_MS);
	drain(f, DFS__DN_COMMAND__KIND__DELETE, n);
	assert_int_equal(n[t[0]], 1);
	assert_int_equal(nlocs(f, "/f"), 3);
}

static void test_all_corrupt_kept(void **state)
{
	struct fx *f = *state;
	int t[3], n[NDN];
	for (int i = 0; i < 3; i++)
		reg(f, i, 1000);
	Dfs__BlockRef b = written_block(f, "/f", 3, t);
	for (int i = 0; i < 3; i++)
		assert_int_equal(bm_mark_corrupt(&f->nn.dm, b.block_id, b.genstamp, t[i]), 1);
	replmon_run(&f->nn, nn_now_ms() + LATER_MS);
	drain(f, DFS__DN_COMMAND__KIND__DELETE, n);
	assert_int_equal(n[0] + n[1] + n[2], 0); /* kept: the only copies */
	Dfs__NsReply r;
	assert_int_equal(ns(f, DFS_M_GET_BLOCKS, "/f", 0, &r), 0);
	assert_int_equal(r.blocks[0]->good_replicas, 0);
	assert_int_equal(r.blocks[0]->n_corrupt, 3);
	ns_reply_clear(&r);
	/* a full report keeps the mark of a replica still held */
	report(f, t[0], true, b.block_id, b.genstamp);
	assert_int_equal(ns(f, DFS_M_GET_BLOCKS, "/f", 0, &r), 0);
	assert_int_equal(r.blocks[0]->n_corrupt, 3);
	ns_reply_clear(&r);
}

static void test_priority_and_bound(void **state)
{
	struct fx *f = *state;
	int t[3], n[NDN];
	for (int i = 0; i < NDN; i++)
		reg(f, i, 1000);
	f->nn.cfg.max_copies_per_datanode = 1;
	Dfs__BlockRef b1 = written_block(f, "/one", 3, t);  /* will have 1 good */
	int keep = t[0];
	for (int i = 1; i < 3; i++)
		assert_int_equal(bm_mark_corrupt(&f->nn.dm, b1.block_id, b1.genstamp, t[i]), 1);
	Dfs__BlockRef b2 = written_block(f, "/two", 3, t);   /* will have 2 good */
	(void)b2;
	struct bm_block *bb = bm_find(&f->nn.dm, b2.block_id);
	bool keep_holds = false;
	for (uint32_t i = 0; i < bb->n; i++)
		keep_holds |= bb->r[i].dn == keep;
	int drop = keep_holds ? keep : t[0];
	assert_int_equal(bm_mark_corrupt(&f->nn.dm, b2.block_id, b2.genstamp, drop), 1);
	replmon_run(&f->nn, nn_now_ms() + LATER_MS);
	/* the block with one good replica is copied first; its source keeps
	 * one copy in flight at most */
	struct bm_block *b = bm_find(&f->nn.dm, b1.block_id);
	assert_int_equal(b->copy_src, keep);
	assert_int_equal(f->nn.dm.dns[keep].copies, 1);
	drain(f, DFS__DN_COMMAND__KIND__COPY, n);
	assert_int_equal(n[keep], 1);
}

static void test_decommission_states(void **state)
{
	struct fx *f = *state;
	int t[3], n[NDN];
	for (int i = 0; i < NDN; i++)
		reg(f, i, 1000);
	Dfs__BlockRef b = written_block(f, "/f", 3, t);
	for (int i = 0; i < NDN; i++)
		report(f, i, true, i == t[0] || i == t[1] || i == t[2] ? b.block_id : 0,
		       b.genstamp);
	Dfs__NsRequest q = DFS__NS_REQUEST__INIT;
	Dfs__NsReply r = DFS__NS_REPLY__INIT;
	char spec[32];
	snprintf(spec, sizeof(spec), "127.0.0.1:%u", 9000 + t[0]); /* by host:port */
	q.target = strdup(spec);
	assert_int_equal(nn_handle_ns(&f->nn, DFS_M_DECOMMISSION, &q, &r), 0);
	free(q.target);
	ns_reply_clear(&r);
	assert_int_equal(f->nn.dm.dns[t[0]].admin, DN_ADMIN_DECOMMISSIONING);
	int64_t now = nn_now_ms() + LATER_MS;
	replmon_run(&f->nn, now);
	assert_int_equal(f->nn.dm.dns[t[0]].admin, DN_ADMIN_DECOMMISSIONING);
	drain(f, DFS__DN_COMMAND__KIND__COPY, n);
	assert_int_equal(n[0] + n[1] + n[2] + n[3], 1);
	int spare = 0 + 1 + 2 + 3 - t[0] - t[1] - t[2];
	report(f, spare, false, b.block_id, b.genstamp);
	replmon_run(&f->nn, now + LATER_MS);
	assert_int_equal(f->nn.dm.dns[t[0]].admin, DN_ADMIN_DECOMMISSIONED);
	drain(f, DFS__DN_COMMAND__KIND__DELETE, n);
	assert_int_equal(n[t[0]], 0); /* its replica is kept, not counted */
	/* no new blocks go there */
	int t2[3];
	written_block(f, "/g", 3, t2);
	for (int i = 0; i < 3; i++)
		assert_int_not_equal(t2[i], t[0]);
	/* the list is namespace state: a fresh datanode table reloads it */
	f->nn.dm.dns[t[0]].admin = DN_ADMIN_NORMAL;
	f->nn.dm.decom_loaded_at = 0;
	decom_sync(&f->nn);
	assert_int_equal(f->nn.dm.dns[t[0]].admin, DN_ADMIN_DECOMMISSIONING);
	/* recommission by uuid */
	dfs__ns_request__init(&q);
	q.target = strdup(f->uuid[t[0]]);
	q.has_flags = true;
	q.flags = 1;
	assert_int_equal(nn_handle_ns(&f->nn, DFS_M_DECOMMISSION, &q, &r), 0);
	free(q.target);
	ns_reply_clear(&r);
	assert_int_equal(f->nn.dm.dns[t[0]].admin, DN_ADMIN_NORMAL);
}

/* Settled blocks are not examined again pass after pass: once every
 * block of a map larger than the monitor's slow slice is settled, a pass
 * examines one slice of them, and a block whose replicas change (a
 * corrupt mark) is examined at the next pass wherever the cycle is. */
static void test_settled_blocks_rest(void **state)
{
	struct fx *f = *state;
	enum { FILES = 3000 };
	int t[3], n[NDN];
	Dfs__BlockRef b = {0};
	for (int i = 0; i < NDN; i++)
		reg(f, i, 100000);
	for (int i = 0; i < FILES; i++) {
		char path[32];
		snprintf(path, sizeof(path), "/f%d", i);
		b = written_block(f, path, 3, t);
	}
	struct dnmgr *m = &f->nn.dm;
	int64_t now = nn_now_ms() + LATER_MS;
	replmon_run(&f->nn, now); /* the first cycle is a full one */
	assert_true(m->checks >= FILES);
	assert_int_equal(m->n_touched, 0); /* all settled */
	uint64_t before = m->checks;
	replmon_run(&f->nn, now + 1000);
	uint64_t slice = m->checks - before;
	printf("one pass over %d settled blocks examined %llu\n", FILES,
	       (unsigned long long)slice);
	assert_true(slice > 0 && slice < FILES / 2);
	report_bad(f, &b, t[0]);
	assert_int_equal(m->n_touched, 1);
	assert_int_equal(m->touched[0], b.block_id);
	replmon_run(&f->nn, now + 2000);
	drain(f, DFS__DN_COMMAND__KIND__COPY, n);
	assert_int_equal(n[0] + n[1] + n[2] + n[3], 1);
	assert_int_equal(m->n_touched, 1); /* short of replicas until the copy lands */
}

/* Decommission progress counts over a whole cycle: one that began while
 * the monitor walked its slow cycle starts a new one, or its first count
 * would cover only the rest of the old cycle. */
static void test_decommission_whole_cycle(void **state)
{
	struct fx *f = *state;
	enum { FILES = 3000 };
	int t[3];
	for (int i = 0; i < NDN; i++)
		reg(f, i, 100000);
	for (int i = 0; i < FILES; i++) {
		char path[32];
		snprintf(path, sizeof(path), "/f%d", i);
		written_block(f, path, 3, t);
	}
	for (int i = 0; i < NDN; i++) /* known from full reports (a condition) */
		f->nn.dm.dns[i].full_reported = true;
	int64_t now = nn_now_ms() + LATER_MS;
	replmon_run(&f->nn, now);        /* a full cycle: all settled */
	replmon_run(&f->nn, now + 1000); /* a slow slice: mid-cycle now */
	assert_int_not_equal(f->nn.dm.cycle_buckets, 0);
	Dfs__NsRequest q = DFS__NS_REQUEST__INIT;
	Dfs__NsReply r = DFS__NS_REPLY__INIT;
	q.target = f->uuid[0];
	assert_int_equal(nn_handle_ns(&f->nn, DFS_M_DECOMMISSION, &q, &r), 0);
	ns_reply_clear(&r);
	replmon_run(&f->nn, now + 2000);
	/* no copy has landed: every block on it is still short elsewhere */
	struct datanode *d = &f->nn.dm.dns[0];
	assert_int_equal(d->admin, DN_ADMIN_DECOMMISSIONING);
	assert_true(d->blocks > FILES / 2);
	assert_int_equal(d->decom_left, d->blocks);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
		T(test_placement), T(test_placement_full),
		T(test_setrep_and_dead),
		T(test_orphans_stale_freed),
		T(test_deleted_old_keeps_new),
		T(test_stale_report_is_not_the_copy),
		T(test_command_bound),
		T(test_safemode_arithmetic),
		T(test_corrupt_replica),
		T(test_all_corrupt_kept),
		T(test_priority_and_bound),
		T(test_decommission_states),
		T(test_settled_blocks_rest),
		T(test_decommission_whole_cycle),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
