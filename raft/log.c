/*
 * raft/log.c - the core's in-memory log.
 *
 * Owns: the entries after the snapshot point (offset), their payload
 * copies, and the "stable" mark (last index the embedder reported durable).
 * Entries above stable are the unstable tail handed out in ready.entries.
 * No I/O: persistence is the embedder's job (see raft/wal.h).
 */
#include "raft/raft_int.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

void raft_log_init(struct raft_log *l)
{
	memset(l, 0, sizeof(*l));
}

void raft_entry_free_data(struct raft_entry *e)
{
	free(e->data.base);
	e->data.base = NULL;
	e->data.len = 0;
}

/* Deep copy: dst gets its own payload buffer.  -ENOMEM leaves dst empty. */
int raft_entry_copy(struct raft_entry *dst, const struct raft_entry *src)
{
	*dst = *src;
	dst->data.base = NULL;
	if (src->data.len == 0)
		return 0;
	dst->data.base = malloc(src->data.len);
	if (dst->data.base == NULL) {
		dst->data.len = 0;
		return -ENOMEM;
	}
	memcpy(dst->data.base, src->data.base, src->data.len);
	return 0;
}

void raft_log_free(struct raft_log *l)
{
	for (size_t k = 0; k < l->n; k++)
		raft_entry_free_data(&l->ents[k]);
	free(l->ents);
	raft_log_init(l);
}

raft_index raft_log_last_index(const struct raft_log *l)
{
	return l->offset + l->n;
}

raft_term raft_log_last_term(const struct raft_log *l)
{
	return l->n ? l->ents[l->n - 1].term : l->offset_term;
}

raft_term raft_log_term(const struct raft_log *l, raft_index i)
{
	if (i == l->offset)
		return l->offset_term;
	if (i < l->offset || i > raft_log_last_index(l))
		return 0;
	return l->ents[i - l->offset - 1].term;
}

struct raft_entry *raft_log_get(const struct raft_log *l, raft_index i)
{
	if (i <= l->offset || i > raft_log_last_index(l))
		return NULL;
	return &l->ents[i - l->offset - 1];
}

int raft_log_append_copy(struct raft_log *l, const struct raft_entry *e)
{
	assert(e->index == raft_log_last_index(l) + 1);
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct raft_entry *p = realloc(l->ents, cap * sizeof(*p));
		if (p == NULL)
			return -ENOMEM;
		l->ents = p;
		l->cap = cap;
	}
	int rv = raft_entry_copy(&l->ents[l->n], e);
	if (rv != 0)
		return rv;
	l->n++;
	return 0;
}

void raft_log_truncate(struct raft_log *l, raft_index i)
{
	assert(i > l->offset);
	while (raft_log_last_index(l) >= i) {
		raft_entry_free_data(&l->ents[l->n - 1]);
		l->n--;
	}
	if (l->stable >= i)
		l->stable = i - 1;
	if (l->durable >= i)
		l->durable = i - 1;
}

void raft_log_compact(struct raft_log *l, raft_index i, raft_term t,
		 const struct raft_config *c)
{
	assert(i >= l->offset && i <= raft_log_last_index(l));
	size_t drop = (size_t)(i - l->offset);
	for (size_t k = 0; k < drop; k++)
		raft_entry_free_data(&l->ents[k]);
	memmove(l->ents, l->ents + drop, (l->n - drop) * sizeof(*l->ents));
	l->n -= drop;
	l->offset = i;
	l->offset_term = t;
	l->snap_conf = *c;
	if (l->stable < i)
		l->stable = i;
	if (l->durable < i)
		l->durable = i;
}

void raft_log_reset(struct raft_log *l, raft_index i, raft_term t,
	       const struct raft_config *c)
{
	for (size_t k = 0; k < l->n; k++)
		raft_entry_free_data(&l->ents[k]);
	l->n = 0;
	l->offset = i;
	l->offset_term = t;
	l->snap_conf = *c;
	l->stable = i;
	l->durable = i;
}

/* Raft paper 5.4.1: a candidate's log (last, term) is at least as
 * up-to-date as ours if its last term is later, or equal with an index at
 * least as large. */
bool raft_log_is_up_to_date(const struct raft_log *l, raft_index last,
		       raft_term term)
{
	raft_term our = raft_log_last_term(l);
	return term > our || (term == our && last >= raft_log_last_index(l));
}
