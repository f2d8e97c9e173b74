/* bad-names-at.c: helper of test-bad-names.sh. Against the running cluster
 * named by $DFS_CONF, calls every *_at entry point of libdfs with names the
 * namespace must refuse ("", ".", "..", "a/b", 256 bytes) and checks the
 * exact error, then sends the namenode a raw MKDIR whose name holds a NUL
 * byte (which no C string can carry) and checks it is refused. Exit 0 when
 * every check held; each failure is printed. */
#include <dfs.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "common/frame.h"
#include "common/net.h"
#include "common/proto/namenode.pb-c.h"

static int failures;

#define EXPECT(call, want)                                                           \
	do {                                                                         \
		int rc_ = (call);                                                    \
		if (rc_ != (want)) {                                                 \
			fprintf(stderr, "FAIL %s:%d: %s = %d (%s), want %d (%s)\n",  \
				__FILE__, __LINE__, #call, rc_, dfs_strerror(rc_),   \
				(want), dfs_strerror(want));                         \
			failures++;                                                  \
		}                                                                    \
	} while (0)

static const char *bad_names[] = { "", ".", "..", "a/b", "/", "x/", "/y" };
#define N_BAD (sizeof(bad_names) / sizeof(bad_names[0]))

static void check_at_calls(dfs_client *c, uint64_t dir, uint64_t file_ino)
{
	struct dfs_stat st;
	char n256[257], n255[256];
	memset(n256, 'z', 256);
	n256[256] = '\0';
	memset(n255, 'w', 255);
	n255[255] = '\0';
	for (size_t i = 0; i < N_BAD; i++) {
		const char *n = bad_names[i];
		dfs_file *f = NULL;
		EXPECT(dfs_mkdir_at(c, dir, n, 0755, 0, &st), -EINVAL);
		EXPECT(dfs_create_at(c, dir, n, O_WRONLY, 0644, &f, &st), -EINVAL);
		EXPECT(dfs_mknod_at(c, dir, n, S_IFIFO | 0644, 0, &st), -EINVAL);
		EXPECT(dfs_symlink_at(c, "/target", dir, n, &st), -EINVAL);
		EXPECT(dfs_link_at(c, file_ino, dir, n, &st), -EINVAL);
		EXPECT(dfs_rename_at(c, dir, "file", dir, n, 0), -EINVAL);
		EXPECT(dfs_unlink_at(c, dir, n), -EINVAL);
		EXPECT(dfs_rmdir_at(c, dir, n), -EINVAL);
		if (f != NULL)
			dfs_close(f);
	}
	EXPECT(dfs_mkdir_at(c, dir, n256, 0755, 0, &st), -ENAMETOOLONG);
	EXPECT(dfs_symlink_at(c, "/t", dir, n256, &st), -ENAMETOOLONG);
	EXPECT(dfs_rename_at(c, dir, "file", dir, n256, 0), -ENAMETOOLONG);
	EXPECT(dfs_mkdir_at(c, dir, n255, 0755, 0, &st), 0);
	EXPECT(dfs_rmdir_at(c, dir, n255), 0);
	/* the file used as a source is intact */
	EXPECT(dfs_lookup(c, dir, "file", &st), 0);
	if (st.ino != file_ino) {
		fprintf(stderr, "FAIL: 'file' changed inode\n");
		failures++;
	}
}

/* Reads "namenodes = host:port" from the client config. */
static int namenode_addr(char *host, size_t host_len, uint16_t *port)
{
	const char *conf = getenv("DFS_CONF");
	FILE *f = conf != NULL ? fopen(conf, "r") : NULL;
	char line[512];
	int rc = -ENOENT;
	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		char *v = strchr(line, '=');
		if (strncmp(line, "namenodes", 9) != 0 || v == NULL)
			continue;
		v += 1 + strspn(v + 1, " ");
		v[strcspn(v, ",\n ")] = '\0';
		rc = dfs_net_parse_hostport(v, host, host_len, port);
		break;
	}
	if (f != NULL)
		fclose(f);
	return rc;
}

/* MKDIR (parent=dir, name="a\0b") straight to the namenode. */
static void check_nul_name(uint64_t dir)
{
	char host[DFS_HOST_MAX];
	uint16_t port;
	if (namenode_addr(host, sizeof(host), &port) < 0) {
		fprintf(stderr, "FAIL: no namenode address in $DFS_CONF\n");
		failures++;
		return;
	}
	int fd = dfs_net_connect(host, port, 5000);
	if (fd < 0 || dfs_net_set_timeouts(fd, 10000) < 0) {
		fprintf(stderr, "FAIL: connect %s:%u: %s\n", host, port, dfs_strerror(fd));
		failures++;
		return;
	}
	/* protobuf-c packs strings with strlen, so build the bytes by hand:
	 * field 2 (parent) varint, field 3 (name) = "a\0b", field 5 mode. */
	uint8_t buf[64];
	size_t n = 0;
	buf[n++] = 0x10;
	uint64_t v = dir;
	do {
		buf[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v != 0);
	buf[n++] = 0x1a;
	buf[n++] = 3;
	buf[n++] = 'a';
	buf[n++] = 0;
	buf[n++] = 'b';
	buf[n++] = 0x28;
	buf[n++] = 0xed; /* 040755 as a varint */
	buf[n++] = 0x83;
	buf[n++] = 0x01;
	uint8_t head[DFS_FRAME_HEADER_SIZE];
	struct dfs_frame_header h = { .method = DFS_M_MKDIR, .proto_len = (uint32_t)n,
				      .call_id = 7 };
	dfs_frame_header_encode(&h, head);
	struct dfs_frame fr;
	memset(&fr, 0, sizeof(fr));
	int rc = dfs_net_write_full(fd, head, sizeof(head));
	if (rc == 0)
		rc = dfs_net_write_full(fd, buf, n);
	if (rc == 0)
		rc = dfs_frame_recv(fd, &fr);
	if (rc < 0) {
		/* closing the connection on a malformed request is acceptable */
		fprintf(stderr, "note: NUL name: connection ended: %s\n", dfs_strerror(rc));
	} else {
		Dfs__NsReply *r = (Dfs__NsReply *)dfs_frame_unpack(&fr, &dfs__ns_reply__descriptor);
		if (r == NULL || r->status != -EINVAL) {
			fprintf(stderr, "FAIL: MKDIR of \"a\\0b\": status %d, want %d\n",
				r != NULL ? r->status : 0, -EINVAL);
			failures++;
		}
		if (r != NULL)
			protobuf_c_message_free_unpacked(&r->base, NULL);
	}
	dfs_frame_release(&fr);
	close(fd);
}

int main(void)
{
	dfs_client *c = NULL;
	int rc = dfs_connect(NULL, &c);
	if (rc < 0) {
		fprintf(stderr, "bad-names-at: connect: %s\n", dfs_strerror(rc));
		return 1;
	}
	struct dfs_stat dir, file;
	dfs_file *f = NULL;
	EXPECT(dfs_mkdir_at(c, DFS_ROOT_INO, "bn", 0755, 0, &dir), 0);
	EXPECT(dfs_create_at(c, dir.ino, "file", O_WRONLY, 0644, &f, &file), 0);
	if (f != NULL)
		EXPECT(dfs_close(f), 0);
	if (failures == 0) {
		check_at_calls(c, dir.ino, file.ino);
		check_nul_name(dir.ino);
		struct dfs_stat st;
		EXPECT(dfs_lookup(c, dir.ino, "a", &st), -ENOENT);
	}
	dfs_disconnect(c);
	if (failures > 0)
		fprintf(stderr, "bad-names-at: %d check(s) failed\n", failures);
	return failures > 0 ? 1 : 0;
}
