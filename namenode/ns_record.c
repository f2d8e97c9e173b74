/* ns_record.c: encoding of the namespace records (inodes, directory
 * entries, blocks) on top of a transaction, and the reply helpers that
 * copy them out. */
#include "namenode/ns_txn.h"

#include "common/errors.h"

#include <stdlib.h>
#include <string.h>

#define INODE_HDR 9 /* u8 version + be64 parent */
#define ATTR_PACKED_MAX 128

int ns_inode_get(struct ns_txn *t, uint64_t ino, struct ns_inode *out)
{
	struct ns_key k;
	char *v;
	size_t vl;
	ns_key_inode(&k, ino);
	bool staged = ns_txn_staged(t, &k);
	int rc = staged ? 1 : ns_cache_get_inode(t->ns, k.b, k.len, out);
	if (rc <= 0)
		return rc;
	rc = ns_txn_get(t, &k, &v, &vl);
	if (rc < 0)
		return rc;
	Dfs__Attr *a = NULL;
	if (vl > INODE_HDR && v[0] == 1)
		a = dfs__attr__unpack(NULL, vl - INODE_HDR, (const uint8_t *)v + INODE_HDR);
	if (!a) {
		free(v);
		return -EIO;
	}
	out->parent = ns_get_be64(v + 1);
	out->a = *a;
	out->a.base = (ProtobufCMessage)PROTOBUF_C_MESSAGE_INIT(&dfs__attr__descriptor);
	dfs__attr__free_unpacked(a, NULL);
	free(v);
	if (!staged)
		ns_cache_put_inode(t->ns, k.b, k.len, out);
	return 0;
}

void ns_inode_put(struct ns_txn *t, const struct ns_inode *in)
{
	char buf[INODE_HDR + ATTR_PACKED_MAX];
	struct ns_key k;
	Dfs__Attr a = in->a;
	a.base = (ProtobufCMessage)PROTOBUF_C_MESSAGE_INIT(&dfs__attr__descriptor);
	buf[0] = 1;
	ns_put_be64(buf + 1, in->parent);
	size_t n = dfs__attr__pack(&a, (uint8_t *)buf + INODE_HDR);
	ns_key_inode(&k, in->a.ino);
	ns_txn_put(t, &k, buf, INODE_HDR + n);
}

int ns_dirent_get(struct ns_txn *t, uint64_t parent, const char *name, uint64_t *ino,
		  uint32_t *type)
{
	struct ns_key k;
	char *v;
	size_t vl;
	ns_key_dirent(&k, parent, name);
	int rc = ns_txn_get(t, &k, &v, &vl);
	if (rc < 0)
		return rc;
	if (vl != 9) {
		free(v);
		return -EIO;
	}
	*ino = ns_get_be64(v);
	if (type)
		*type = (uint8_t)v[8];
	free(v);
	return 0;
}

void ns_dirent_put(struct ns_txn *t, uint64_t parent, const char *name, uint64_t ino,
		   uint32_t type)
{
	struct ns_key k;
	char v[9];
	ns_key_dirent(&k, parent, name);
	ns_put_be64(v, ino);
	v[8] = (char)type;
	ns_txn_put(t, &k, v, sizeof(v));
}

void ns_dirent_del(struct ns_txn *t, uint64_t parent, const char *name)
{
	struct ns_key k;
	ns_key_dirent(&k, parent, name);
	ns_txn_del(t, &k);
}

int ns_dir_nonempty(struct ns_txn *t, uint64_t dir)
{
	struct ns_key k;
	ns_key_dir_prefix(&k, dir);
	leveldb_iterator_t *it = leveldb_create_iterator(t->ns->db, t->ns->ropts);
	int found = 0;
	for (leveldb_iter_seek(it, k.b, k.len); leveldb_iter_valid(it); leveldb_iter_next(it)) {
		size_t kl;
		const char *key = leveldb_iter_key(it, &kl);
		if (kl < k.len || memcmp(key, k.b, k.len) != 0)
			break;
		/* an entry removed earlier in this command does not count */
		struct ns_key ek = {.len = kl};
		memcpy(ek.b, key, kl < NS_KEY_MAX ? kl : NS_KEY_MAX);
		char *v;
		size_t vl;
		if (kl <= NS_KEY_MAX && ns_txn_get(t, &ek, &v, &vl) == -ENOENT)
			continue;
		if (kl <= NS_KEY_MAX)
			free(v);
		found = 1;
		break;
	}
	leveldb_iter_destroy(it);
	return found;
}

int ns_block_get(struct ns_txn *t, uint64_t ino, uint64_t index, Dfs__BlockRef *out)
{
	struct ns_key k;
	char *v;
	size_t vl;
	ns_key_block(&k, ino, index);
	int rc = ns_txn_get(t, &k, &v, &vl);
	if (rc < 0)
		return rc;
	Dfs__BlockRef *b = dfs__block_ref__unpack(NULL, vl, (const uint8_t *)v);
	free(v);
	if (!b)
		return -EIO;
	dfs__block_ref__init(out);
	out->block_id = b->block_id;
	out->genstamp = b->genstamp;
	out->length = b->length;
	dfs__block_ref__free_unpacked(b, NULL);
	return 0;
}

void ns_block_put(struct ns_txn *t, uint64_t ino, uint64_t index, const Dfs__BlockRef *b)
{
	uint8_t buf[64];
	struct ns_key k;
	size_t n = dfs__block_ref__pack(b, buf);
	ns_key_block(&k, ino, index);
	ns_txn_put(t, &k, buf, n);
	char v[16];
	ns_put_be64(v, ino);
	ns_put_be64(v + 8, index);
	ns_key_blkidx(&k, b->block_id);
	ns_txn_put(t, &k, v, sizeof(v));
}

int ns_blocks_free_from(struct ns_txn *t, uint64_t ino, uint64_t from)
{
	struct ns_key k, start;
	ns_key_block_prefix(&k, ino);
	ns_key_block(&start, ino, from);
	if (!t->aux_it)
		t->aux_it = leveldb_create_iterator(t->ns->db, t->ns->ropts);
	leveldb_iterator_t *it = t->aux_it;
	int rc = 0;
	for (leveldb_iter_seek(it, start.b, start.len); leveldb_iter_valid(it);
	     leveldb_iter_next(it)) {
		size_t kl, vl;
		const char *key = leveldb_iter_key(it, &kl);
		if (kl != k.len + 8 || memcmp(key, k.b, k.len) != 0)
			break;
		const char *v = leveldb_iter_value(it, &vl);
		Dfs__BlockRef *b = dfs__block_ref__unpack(NULL, vl, (const uint8_t *)v);
		if (!b) {
			rc = -EIO;
			break;
		}
		struct ns_key bk = {.len = kl};
		memcpy(bk.b, key, kl);
		ns_txn_del(t, &bk);
		rc = ns_txn_free_block(t, b->block_id, b->genstamp);
		dfs__block_ref__free_unpacked(b, NULL);
		if (rc < 0)
			break;
	}
	return rc;
}

/* ---- replies ---- */

static int attr_copy(Dfs__Attr **to, const Dfs__Attr *a)
{
	if (!*to) {
		*to = malloc(sizeof(**to));
		if (!*to)
			return -ENOMEM;
	}
	**to = *a;
	(*to)->base = (ProtobufCMessage)PROTOBUF_C_MESSAGE_INIT(&dfs__attr__descriptor);
	return 0;
}

int ns_reply_attr(Dfs__NsReply *r, const Dfs__Attr *a)
{
	return attr_copy(&r->attr, a);
}

void ns_reply_dir(Dfs__NsReply *r, const Dfs__Attr *dir, bool new_dir)
{
	(void)attr_copy(new_dir ? &r->new_dir_attr : &r->dir_attr, dir);
}

int ns_reply_block(Dfs__NsReply *r, uint64_t index, const Dfs__BlockRef *b)
{
	Dfs__LocatedBlock *lb = malloc(sizeof(*lb));
	Dfs__BlockRef *br = malloc(sizeof(*br));
	if (!lb || !br) {
		free(lb);
		free(br);
		return -ENOMEM;
	}
	dfs__located_block__init(lb);
	dfs__block_ref__init(br);
	br->block_id = b->block_id;
	br->genstamp = b->genstamp;
	br->length = b->length;
	lb->index = index;
	lb->block = br;
	r->block = lb;
	return 0;
}

void ns_reply_clear(Dfs__NsReply *r)
{
	free(r->attr);
	free(r->dir_attr);
	free(r->new_dir_attr);
	for (size_t i = 0; i < r->n_entries; i++) {
		free(r->entries[i]->name);
		free(r->entries[i]->attr);
		free(r->entries[i]);
	}
	free(r->entries);
	free(r->target);
	for (size_t i = 0; i < r->n_blocks; i++)
		protobuf_c_message_free_unpacked(&r->blocks[i]->base, NULL);
	free(r->blocks);
	if (r->block)
		protobuf_c_message_free_unpacked(&r->block->base, NULL);
	free(r->statfs);
	for (size_t i = 0; i < r->n_datanodes; i++)
		protobuf_c_message_free_unpacked(&r->datanodes[i]->base, NULL);
	free(r->datanodes);
	free(r->leader);
	free(r->message);
	free(r->safemode);
	ns_xattr_reply_clear(r);
	dfs__ns_reply__init(r);
}
