/* ns_decom.c: the decommission list kept in the namespace (see
 * ns_decom.h): the DECOMMISSION mutation and reading the list back. */
#include "namenode/ns_decom.h"
#include "namenode/ns_txn.h"

#include "common/errors.h"

#include <stdlib.h>
#include <string.h>

#define NS_DECOM_PREFIX "x/"
#define NS_DECOM_RECOMMISSION 1u

static int decom_key(struct ns_key *k, const char *uuid)
{
	size_t len = uuid ? strlen(uuid) : 0;
	if (len == 0 || len >= NS_DECOM_UUID_MAX || memchr(uuid, '/', len))
		return -EINVAL;
	memcpy(k->b, NS_DECOM_PREFIX, 2);
	memcpy(k->b + 2, uuid, len);
	k->len = 2 + len;
	return 0;
}

static size_t decom_count(struct ns *ns)
{
	char (*l)[NS_DECOM_UUID_MAX] = NULL;
	size_t n = 0;
	if (ns_decom_list(ns, &l, &n) < 0)
		n = 0;
	free(l);
	return n;
}

int ns_op_decommission(struct ns_txn *t, const Dfs__NsRequest *req, const struct ns_cred *cr,
		       Dfs__NsReply *r)
{
	(void)r;
	struct ns_key k;
	if (cr->check && cr->uid != 0)
		return -EPERM;
	if (decom_key(&k, req->target) < 0)
		return -EINVAL;
	if (req->flags & NS_DECOM_RECOMMISSION) {
		ns_txn_del_blind(t, &k);
		return t->err;
	}
	if (decom_count(t->ns) >= NS_DECOM_MAX)
		return -ENOSPC;
	ns_txn_put(t, &k, "", 0);
	return t->err;
}

int ns_decom_list(struct ns *ns, char (**out)[NS_DECOM_UUID_MAX], size_t *n)
{
	size_t cap = 0;
	*out = NULL;
	*n = 0;
	leveldb_iterator_t *it = leveldb_create_iterator(ns->db, ns->ropts);
	int rc = 0;
	for (leveldb_iter_seek(it, NS_DECOM_PREFIX, 2); leveldb_iter_valid(it) && *n < NS_DECOM_MAX;
	     leveldb_iter_next(it)) {
		size_t kl;
		const char *k = leveldb_iter_key(it, &kl);
		if (kl < 2 || memcmp(k, NS_DECOM_PREFIX, 2) != 0)
			break;
		if (kl - 2 >= NS_DECOM_UUID_MAX)
			continue;
		if (*n == cap) {
			cap = cap ? 2 * cap : 16;
			void *p = realloc(*out, cap * sizeof(**out));
			if (!p) {
				rc = -ENOMEM;
				break;
			}
			*out = p;
		}
		memcpy((*out)[*n], k + 2, kl - 2);
		(*out)[(*n)++][kl - 2] = '\0';
	}
	char *err = NULL;
	leveldb_iter_get_error(it, &err);
	if (err) {
		leveldb_free(err);
		rc = -EIO;
	}
	leveldb_iter_destroy(it);
	if (rc < 0) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return rc;
}
