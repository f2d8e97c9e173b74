/* copy.c: re-replication (COPY command): this datanode acts as the client
 * of a WRITE_BLOCK pipeline to the targets, sending its replica in
 * packets with a bounded window of unacked packets. Each chunk is checked
 * against its stored CRC first so a rotten replica is never spread; a
 * rotten one is marked corrupt and reported (BAD_REPLICA, "copy"). */
#include "datanode/commands.h"
#include "datanode/replica_read.h"
#include "datanode/scanner.h"
#include "common/crc32c.h"
#include "common/errors.h"
#include "common/frame.h"
#include "common/log.h"
#include "common/net.h"
#include "common/proto/datanode.pb-c.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define COPY_PACKET_SIZE (1u << 20)
#define COPY_WINDOW 8

struct copy_stream {
	int fd;
	size_t n_targets;
	uint64_t acked; /* acks received */
	struct dfs_frame f;
};

/* Reads one ack; it must be for `seqno` with every status 0. */
static int read_ack(struct copy_stream *c, uint64_t seqno)
{
	int rc = dfs_frame_recv(c->fd, &c->f);
	if (rc < 0)
		return rc;
	Dfs__WriteAck *a = NULL;
	if (c->f.h.method == DFS_M_WRITE_ACK)
		a = (Dfs__WriteAck *)dfs_frame_unpack(&c->f, &dfs__write_ack__descriptor);
	if (a == NULL)
		return -DFS_EPROTOCOL;
	rc = a->seqno == seqno && a->n_statuses == c->n_targets ? 0 : -DFS_EPROTOCOL;
	for (size_t i = 0; i < a->n_statuses; i++)
		if (a->statuses[i] != 0)
			rc = a->statuses[i];
	protobuf_c_message_free_unpacked(&a->base, NULL);
	c->acked++;
	return rc;
}

static int check_crcs(const struct dn_reader *r, uint64_t off, const uint8_t *buf, size_t n,
		      const uint32_t *crcs)
{
	for (size_t i = 0; i * DFS_CHUNK_SIZE < n; i++) {
		size_t len = n - i * DFS_CHUNK_SIZE < DFS_CHUNK_SIZE ? n - i * DFS_CHUNK_SIZE
								      : DFS_CHUNK_SIZE;
		if (dfs_crc32c(0, buf + i * DFS_CHUNK_SIZE, len) != crcs[i]) {
			DFS_WARN("blk_%" PRIu64 ": local replica corrupt at offset %" PRIu64, r->id,
				 off + i * DFS_CHUNK_SIZE);
			return -DFS_ECHECKSUM;
		}
	}
	return 0;
}

static int send_header(struct copy_stream *c, const struct dn_reader *r,
		       Dfs__DatanodeId **targets, size_t n)
{
	Dfs__WriteBlockHeader h = DFS__WRITE_BLOCK_HEADER__INIT;
	Dfs__BlockRef b = DFS__BLOCK_REF__INIT;
	b.block_id = r->id;
	b.genstamp = r->genstamp;
	b.length = r->length;
	h.block = &b;
	h.downstream = targets + 1;
	h.n_downstream = n - 1;
	h.create = 1;
	h.client_name = "datanode-copy";
	return dfs_frame_send(c->fd, DFS_M_WRITE_BLOCK, 0, &h.base, NULL, 0);
}

/* Sends every packet, keeping at most COPY_WINDOW unacked. */
static int send_packets(struct datanode *dn, struct copy_stream *c, struct dn_reader *r,
			uint8_t *buf, uint32_t *crcs)
{
	uint64_t off = 0, seqno = 0;
	int rc = 0;
	do {
		ssize_t n = 0;
		if (off < r->length) {
			n = dn_reader_read(r, off, buf, COPY_PACKET_SIZE, crcs);
			if (n < 0)
				return (int)n;
			rc = check_crcs(r, off, buf, (size_t)n, crcs);
			if (rc < 0) {
				dn_scanner_condemn(dn, r->id, r->genstamp, r->length, "copy");
				return rc;
			}
		}
		Dfs__WritePacket p = DFS__WRITE_PACKET__INIT;
		p.seqno = seqno;
		p.offset = off;
		p.checksums = crcs;
		p.n_checksums = (size_t)((n + DFS_CHUNK_SIZE - 1) / DFS_CHUNK_SIZE);
		off += (uint64_t)n;
		p.last = off >= r->length;
		rc = dfs_frame_send(c->fd, DFS_M_WRITE_PACKET, 0, &p.base, buf, (size_t)n);
		seqno++;
		if (rc == 0 && seqno - c->acked > COPY_WINDOW)
			rc = read_ack(c, c->acked);
	} while (rc == 0 && off < r->length);
	while (rc == 0 && c->acked < seqno)
		rc = read_ack(c, c->acked);
	return rc;
}

int dn_copy_block(struct datanode *dn, uint64_t id, uint64_t genstamp,
		  Dfs__DatanodeId **targets, size_t n)
{
	struct dn_reader r;
	struct copy_stream c = { .fd = -1, .n_targets = n };
	int rc = dn_reader_open(&dn->store, id, genstamp, &r);
	if (rc < 0)
		return rc;
	uint8_t *buf = malloc(COPY_PACKET_SIZE);
	uint32_t *crcs = malloc(sizeof(uint32_t) * (COPY_PACKET_SIZE / DFS_CHUNK_SIZE));
	if (buf == NULL || crcs == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	c.fd = dfs_net_connect(targets[0]->host, (uint16_t)targets[0]->port,
			       (int)dn->cfg.connect_timeout_ms);
	if (c.fd < 0) {
		rc = c.fd;
		goto out;
	}
	dfs_net_set_timeouts(c.fd, (int)dn->cfg.io_timeout_ms);
	dfs_net_set_buffers(c.fd, (int)dn->cfg.socket_buffer_size);
	rc = send_header(&c, &r, targets, n);
	if (rc == 0)
		rc = send_packets(dn, &c, &r, buf, crcs);
out:
	if (c.fd >= 0)
		close(c.fd);
	dfs_frame_release(&c.f);
	free(buf);
	free(crcs);
	dn_reader_close(&r);
	return rc;
}
