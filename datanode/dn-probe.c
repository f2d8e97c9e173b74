/* dn-probe.c: a minimal data-transfer client for testing dfs-datanode
 * without a namenode or libdfs (check program, not installed).
 *
 *   dn-probe write PIPELINE ID GS FILE [OFFSET [PREV_GS [TRUNCATE]]]
 *       PIPELINE = host:port[,host:port...]; PREV_GS given: rewrite
 *       (create = false); prints the statuses of a failed ack and exits 1
 *   dn-probe badcrc HOST:PORT ID GS   one packet with a wrong CRC: prints
 *       the ack status (expects DFS_ECHECKSUM)
 *   dn-probe read HOST:PORT ID GS OFFSET LENGTH   bytes to stdout, CRCs
 *       verified; exits 1 with the status on error
 *   dn-probe info HOST:PORT ID        prints "status genstamp length"
 *   dn-probe garbage HOST:PORT        sends junk bytes and closes */
#include "common/crc32c.h"
#include "common/errors.h"
#include "common/frame.h"
#include "common/net.h"
#include "common/proto/datanode.pb-c.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PROBE_PACKET (1u << 20)
#define PROBE_WINDOW 16
#define PROBE_NODES_MAX 8

static int connect_to(const char *hostport)
{
	char host[DFS_HOST_MAX];
	uint16_t port;
	if (dfs_net_parse_hostport(hostport, host, sizeof(host), &port) < 0)
		return -EINVAL;
	int fd = dfs_net_connect(host, port, 3000);
	if (fd >= 0) {
		dfs_net_set_timeouts(fd, 30000);
		dfs_net_set_buffers(fd, 4 << 20);
	}
	return fd;
}

static int read_ack(int fd, struct dfs_frame *f, uint64_t seqno)
{
	int rc = dfs_frame_recv(fd, f);
	if (rc < 0) {
		fprintf(stderr, "dn-probe: ack %" PRIu64 ": %s\n", seqno, dfs_strerror(rc));
		return rc;
	}
	Dfs__WriteAck *a = (Dfs__WriteAck *)dfs_frame_unpack(f, &dfs__write_ack__descriptor);
	if (a == NULL)
		return -DFS_EPROTOCOL;
	rc = a->seqno == seqno ? 0 : -DFS_EPROTOCOL;
	for (size_t i = 0; i < a->n_statuses; i++)
		if (a->statuses[i] != 0)
			rc = a->statuses[i];
	if (rc != 0) {
		printf("ack %" PRIu64 " statuses:", a->seqno);
		for (size_t i = 0; i < a->n_statuses; i++)
			printf(" %d", a->statuses[i]);
		printf("\n");
	}
	protobuf_c_message_free_unpacked(&a->base, NULL);
	return rc;
}

static size_t parse_pipeline(char *s, Dfs__DatanodeId *ids, Dfs__DatanodeId **ptrs)
{
	size_t n = 0;
	for (char *t = strtok(s, ","); t != NULL && n < PROBE_NODES_MAX; t = strtok(NULL, ",")) {
		static char hosts[PROBE_NODES_MAX][DFS_HOST_MAX];
		uint16_t port = 0;
		dfs_net_parse_hostport(t, hosts[n], DFS_HOST_MAX, &port);
		dfs__datanode_id__init(&ids[n]);
		ids[n].uuid = "probe";
		ids[n].host = hosts[n];
		ids[n].port = port;
		ptrs[n] = &ids[n];
		n++;
	}
	return n;
}

static int send_header(int fd, uint64_t id, uint64_t gs, Dfs__DatanodeId **down, size_t n_down,
		       int rewrite, uint64_t prev)
{
	Dfs__WriteBlockHeader h = DFS__WRITE_BLOCK_HEADER__INIT;
	Dfs__BlockRef b = DFS__BLOCK_REF__INIT;
	b.block_id = id;
	b.genstamp = gs;
	h.block = &b;
	h.downstream = down;
	h.n_downstream = n_down;
	h.create = !rewrite;
	h.has_prev_genstamp = rewrite;
	h.prev_genstamp = prev;
	return dfs_frame_send(fd, DFS_M_WRITE_BLOCK, 1, &h.base, NULL, 0);
}

static int cmd_write(int argc, char **argv)
{
	Dfs__DatanodeId ids[PROBE_NODES_MAX], *ptrs[PROBE_NODES_MAX];
	char *first = strdup(argv[2]);
	size_t n = parse_pipeline(argv[2], ids, ptrs);
	uint64_t id = strtoull(argv[3], NULL, 0), gs = strtoull(argv[4], NULL, 0);
	uint64_t off = argc > 6 ? strtoull(argv[6], NULL, 0) : 0;
	int rewrite = argc > 7;
	uint64_t prev = rewrite ? strtoull(argv[7], NULL, 0) : 0;
	int in = open(argv[5], O_RDONLY);
	*strchrnul(first, ',') = '\0';
	int fd = connect_to(first);
	free(first);
	if (in < 0 || fd < 0 || n == 0)
		return 2;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int rc = send_header(fd, id, gs, ptrs + 1, n - 1, rewrite, prev);
	uint8_t *buf = malloc(PROBE_PACKET);
	uint32_t crcs[PROBE_PACKET / DFS_CHUNK_SIZE + 2];
	struct dfs_frame f = { 0 };
	uint64_t seqno = 0, acked = 0, total = 0;
	int last = 0;
	while (rc == 0 && !last) {
		ssize_t got = read(in, buf, PROBE_PACKET - (off % DFS_CHUNK_SIZE));
		if (got < 0)
			return 2;
		last = got == 0 || (size_t)got < PROBE_PACKET - (off % DFS_CHUNK_SIZE);
		Dfs__WritePacket p = DFS__WRITE_PACKET__INIT;
		p.seqno = seqno++;
		p.offset = off;
		p.n_checksums = got > 0 ? dfs_crc32c_chunks(off, buf, (size_t)got, crcs) : 0;
		p.checksums = crcs;
		p.last = last;
		p.has_truncate = argc > 8 && p.seqno == 0;
		p.truncate = p.has_truncate ? strtoull(argv[8], NULL, 0) : 0;
		rc = dfs_frame_send(fd, DFS_M_WRITE_PACKET, 1, &p.base, buf, (size_t)got);
		off += (uint64_t)got;
		total += (uint64_t)got;
		while (rc == 0 && seqno - acked > PROBE_WINDOW)
			rc = read_ack(fd, &f, acked++);
	}
	while (rc == 0 && acked < seqno)
		rc = read_ack(fd, &f, acked++);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	fprintf(stderr, "dn-probe: wrote %" PRIu64 " bytes in %.3f s (%.1f MB/s): %s\n", total, s,
		(double)total / s / 1e6, rc == 0 ? "ok" : dfs_strerror(rc));
	dfs_frame_release(&f);
	free(buf);
	close(in);
	close(fd);
	return rc == 0 ? 0 : 1;
}

static int cmd_badcrc(char **argv)
{
	int fd = connect_to(argv[2]);
	if (fd < 0)
		return 2;
	uint8_t data[5000] = { 7 };
	uint32_t crcs[2];
	dfs_crc32c_chunks(0, data, sizeof(data), crcs);
	crcs[1] ^= 1;
	int rc = send_header(fd, strtoull(argv[3], NULL, 0), strtoull(argv[4], NULL, 0), NULL, 0, 0,
			     0);
	Dfs__WritePacket p = DFS__WRITE_PACKET__INIT;
	p.checksums = crcs;
	p.n_checksums = 2;
	p.last = 1;
	if (rc == 0)
		rc = dfs_frame_send(fd, DFS_M_WRITE_PACKET, 1, &p.base, data, sizeof(data));
	struct dfs_frame f = { 0 };
	if (rc == 0)
		rc = read_ack(fd, &f, 0);
	printf("%d\n", rc);
	return 0;
}

static int read_packets(int fd, uint64_t want_off, uint64_t want_len)
{
	struct dfs_frame f = { 0 };
	for (;;) {
		int rc = dfs_frame_recv(fd, &f);
		if (rc < 0)
			return rc;
		Dfs__ReadPacket *p =
			(Dfs__ReadPacket *)dfs_frame_unpack(&f, &dfs__read_packet__descriptor);
		if (p == NULL)
			return -DFS_EPROTOCOL;
		rc = p->status;
		uint32_t crcs[PROBE_PACKET / DFS_CHUNK_SIZE * 8 + 1];
		size_t n = f.h.data_len > 0 ? dfs_crc32c_chunks(p->offset, f.data, f.h.data_len, crcs)
					    : 0;
		if (rc == 0 && (n != p->n_checksums || memcmp(crcs, p->checksums, n * 4) != 0))
			rc = -DFS_ECHECKSUM;
		uint64_t s = p->offset, e = p->offset + f.h.data_len;
		uint64_t ws = want_off > s ? want_off : s;
		uint64_t we = want_off + want_len < e ? want_off + want_len : e;
		if (rc == 0 && we > ws)
			fwrite(f.data + (ws - s), 1, we - ws, stdout);
		int last = p->last;
		protobuf_c_message_free_unpacked(&p->base, NULL);
		if (rc != 0 || last)
			return rc;
	}
}

static int cmd_read(char **argv)
{
	int fd = connect_to(argv[2]);
	if (fd < 0)
		return 2;
	Dfs__ReadBlockRequest q = DFS__READ_BLOCK_REQUEST__INIT;
	Dfs__BlockRef b = DFS__BLOCK_REF__INIT;
	b.block_id = strtoull(argv[3], NULL, 0);
	b.genstamp = strtoull(argv[4], NULL, 0);
	q.block = &b;
	q.offset = strtoull(argv[5], NULL, 0);
	q.length = strtoull(argv[6], NULL, 0);
	int rc = dfs_frame_send(fd, DFS_M_READ_BLOCK, 2, &q.base, NULL, 0);
	if (rc == 0)
		rc = read_packets(fd, q.offset, q.length);
	if (rc != 0)
		fprintf(stderr, "dn-probe: read: %d %s\n", rc, dfs_strerror(rc));
	return rc == 0 ? 0 : 1;
}

static int cmd_info(char **argv)
{
	int fd = connect_to(argv[2]);
	if (fd < 0)
		return 2;
	Dfs__BlockInfoRequest q = DFS__BLOCK_INFO_REQUEST__INIT;
	q.block_id = strtoull(argv[3], NULL, 0);
	struct dfs_frame f = { 0 };
	int rc = dfs_frame_send(fd, DFS_M_BLOCK_INFO, 3, &q.base, NULL, 0);
	if (rc == 0)
		rc = dfs_frame_recv(fd, &f);
	if (rc < 0)
		return 1;
	Dfs__BlockInfoReply *r =
		(Dfs__BlockInfoReply *)dfs_frame_unpack(&f, &dfs__block_info_reply__descriptor);
	if (r == NULL)
		return 1;
	printf("%d %" PRIu64 " %" PRIu64 "\n", r->status, r->block ? r->block->genstamp : 0,
	       r->block ? r->block->length : 0);
	return 0;
}

static int cmd_garbage(char **argv)
{
	int fd = connect_to(argv[2]);
	if (fd < 0)
		return 2;
	uint8_t junk[4096];
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 131 + 7);
	dfs_net_write_full(fd, junk, sizeof(junk));
	/* a valid header announcing a write, then a bogus packet */
	send_header(fd, 1, 1, NULL, 0, 0, 0);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 6 && strcmp(argv[1], "write") == 0)
		return cmd_write(argc, argv);
	if (argc >= 5 && strcmp(argv[1], "badcrc") == 0)
		return cmd_badcrc(argv);
	if (argc >= 7 && strcmp(argv[1], "read") == 0)
		return cmd_read(argv);
	if (argc >= 4 && strcmp(argv[1], "info") == 0)
		return cmd_info(argv);
	if (argc >= 3 && strcmp(argv[1], "garbage") == 0)
		return cmd_garbage(argv);
	fprintf(stderr, "usage: see the header of datanode/dn-probe.c\n");
	return 2;
}
