/* wire_check.c: checks on the raw protobuf bytes of an NsRequest that the
 * decoded message cannot show: protobuf-c hands strings out NUL-terminated,
 * so a name with an embedded NUL ("a\0b") would silently become "a". The
 * wire bytes are walked here and such names are refused (-EINVAL). */
#include "namenode/wire_check.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#define VARINT_MAX_BYTES 10

/* Reads a varint at *p (< end); false if truncated or too long. */
static bool varint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
	uint64_t v = 0;
	for (int i = 0; i < VARINT_MAX_BYTES && *p < end; i++) {
		uint8_t b = *(*p)++;
		v |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			*out = v;
			return true;
		}
	}
	return false;
}

static bool is_name_field(uint64_t field)
{
	switch (field) {
	case 1:  /* path */
	case 3:  /* name */
	case 12: /* target */
	case 14: /* new_name */
	case 21: /* cookie */
	case 29: /* exclude_nodes */
	case 30: /* client_name */
	case 31: /* xattr_name */
		return true;
	default:
		return false;
	}
}

int nn_wire_check_names(const uint8_t *p, size_t len)
{
	const uint8_t *end = p + len;
	while (p < end) {
		uint64_t key, n;
		if (!varint(&p, end, &key))
			return 0; /* malformed: the decoder will say so */
		switch (key & 7) {
		case 0:
			if (!varint(&p, end, &n))
				return 0;
			break;
		case 1:
			p += 8;
			break;
		case 5:
			p += 4;
			break;
		case 2:
			if (!varint(&p, end, &n) || n > (uint64_t)(end - p))
				return 0;
			if (is_name_field(key >> 3) && memchr(p, 0, (size_t)n))
				return -EINVAL;
			p += n;
			break;
		default:
			return 0;
		}
	}
	return 0;
}
