/* SPDX-License-Identifier: MIT */
/*
 * STUN Binding codec: see stun.h for the wire format and the answer policy.
 *
 * Pure and bounded: every read goes through the cn_rd cursor, every write
 * through cn_wr, nothing is allocated, and the work per message is linear in
 * its length. Input comes from anyone on the Internet; a message we do not
 * like is an error code, never an abort. Must not grow sockets, clocks or
 * logging: the relay and the node do I/O and log what this returns.
 */
#include "nat/stun.h"

#include <string.h>

#include "common/bytes.h"
#include "common/err.h"

enum {
	TYPE_RESERVED_BITS = 0xC000, /* top two bits of the message type */
	ATTR_OPTIONAL = 0x8000,	     /* attribute types >= this may be ignored */
	MI_LEN = 20,		     /* MESSAGE-INTEGRITY: HMAC-SHA1 */
	MI256_MIN = 16,		     /* MESSAGE-INTEGRITY-SHA256: 16..32, x4 */
	MI256_MAX = 32,
	CHANGE_LEN = 4,	  /* CHANGE-REQUEST: u32 flags */
	PRIORITY_LEN = 4, /* PRIORITY: u32 */
	ERR_CLASS = 4,	  /* 420 = class 4, number 20 */
	ERR_NUMBER = 20,
	ERR_HDR_LEN = 4, /* ERROR-CODE: 2 reserved, class, number, then reason */
};

static const char reason_unknown[] = "Unknown Attribute";

static size_t pad4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

/* Largest message each encoder writes; all fit CN_STUN_MSG_MAX. */
enum {
	SOFTWARE_ATTR_MAX = CN_STUN_ATTR_HDR_LEN + CN_STUN_SOFTWARE_MAX,
	FINGERPRINT_ATTR = CN_STUN_ATTR_HDR_LEN + CN_STUN_FINGERPRINT_LEN,
	SUCCESS_MAX = CN_STUN_HDR_LEN + CN_STUN_ATTR_HDR_LEN + CN_STUN_ADDR6_LEN +
		      SOFTWARE_ATTR_MAX + FINGERPRINT_ATTR,
	REQUEST_MAX = CN_STUN_HDR_LEN + SOFTWARE_ATTR_MAX + FINGERPRINT_ATTR,
	/* reason padded to 4, and one extra slot for CHANGE-REQUEST */
	ERROR_MAX = CN_STUN_HDR_LEN + CN_STUN_ATTR_HDR_LEN + ERR_HDR_LEN + 20 +
		    CN_STUN_ATTR_HDR_LEN + 2 * (CN_STUN_MAX_UNKNOWN + 1) + 2 + SOFTWARE_ATTR_MAX +
		    FINGERPRINT_ATTR,
};

_Static_assert(CN_STUN_HDR_LEN == 2 + 2 + 4 + CN_STUN_TID_LEN, "header: type, length, cookie, id");
_Static_assert(CN_STUN_CLASSIC_ID_LEN == 4 + CN_STUN_TID_LEN, "classic id covers the cookie");
_Static_assert(CN_STUN_ADDR4_LEN == 1 + 1 + 2 + 4, "reserved, family, port, IPv4");
_Static_assert(CN_STUN_ADDR6_LEN == 1 + 1 + 2 + 16, "reserved, family, port, IPv6");
_Static_assert(CN_STUN_SOFTWARE_MAX % 4 == 0, "SOFTWARE cap needs no padding");
_Static_assert(sizeof(CN_STUN_CLIENT_SOFTWARE) - 1 == 20,
	       "the client SOFTWARE covers an IPv6 answer");
_Static_assert(sizeof(reason_unknown) - 1 <= 20, "reason fits its padded slot");
_Static_assert(2 * (CN_STUN_MAX_UNKNOWN + 1) % 4 == 2, "ERROR_MAX pads the list by 2");
_Static_assert((int)SUCCESS_MAX <= (int)CN_STUN_MSG_MAX, "success response fits");
_Static_assert((int)REQUEST_MAX <= (int)CN_STUN_MSG_MAX, "request fits");
_Static_assert((int)ERROR_MAX <= (int)CN_STUN_MSG_MAX, "error response fits");
_Static_assert(CN_STUN_MSG_MAX <= UINT16_MAX, "length field is 16 bits");

/*
 * CRC-32 as zlib computes it (reflected polynomial 0xEDB88320, initial and
 * final value all ones), four bits at a time from a 16-entry table.
 */
static uint32_t crc32(const uint8_t *p, size_t n)
{
	static const uint32_t t[16] = {
		0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac, 0x76dc4190, 0x6b6b51f4,
		0x4db26158, 0x5005713c, 0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c,
		0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
	};
	uint32_t c = 0xffffffffu;

	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		c = (c >> 4) ^ t[c & 0xf];
		c = (c >> 4) ^ t[c & 0xf];
	}
	return c ^ 0xffffffffu;
}

static uint32_t load_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

bool cn_stun_is_stun(const uint8_t *buf, size_t len)
{
	size_t body;

	if (!buf || len < CN_STUN_HDR_LEN || (buf[0] & 0xC0) != 0)
		return false;
	if (load_be32(buf + 4) != CN_STUN_COOKIE)
		return false;
	body = ((size_t)buf[2] << 8) | buf[3];
	return body % 4 == 0 && body == len - CN_STUN_HDR_LEN;
}

/* One message: its header fields and a cursor over its attributes. */
struct msg {
	const uint8_t *start;
	uint16_t type;
	uint8_t id[CN_STUN_CLASSIC_ID_LEN];
	bool classic;
	struct cn_rd attrs;
};

/*
 * Header checks, in order: long enough for a header, top two type bits
 * zero, length a multiple of 4, length equal to what follows the header
 * (more is -CN_ESHORT, fewer means trailing bytes: -CN_EFORMAT).
 */
static int parse_header(const uint8_t *buf, size_t len, struct msg *m)
{
	struct cn_rd r;
	uint16_t body;

	if (!buf || len < CN_STUN_HDR_LEN)
		return -CN_ESHORT;
	cn_rd_init(&r, buf, len);
	m->start = buf;
	m->type = cn_rd_u16be(&r);
	body = cn_rd_u16be(&r);
	cn_rd_bytes(&r, m->id, sizeof(m->id));
	if (!cn_rd_ok(&r))
		return -CN_ESHORT;
	if (m->type & TYPE_RESERVED_BITS)
		return -CN_EFORMAT;
	if (body % 4 != 0)
		return -CN_EFORMAT;
	if (cn_rd_left(&r) < body)
		return -CN_ESHORT;
	if (cn_rd_left(&r) > body)
		return -CN_EFORMAT;
	m->classic = load_be32(m->id) != CN_STUN_COOKIE;
	m->attrs = r;
	return 0;
}

struct attr {
	const uint8_t *hdr; /* where the attribute starts in the message */
	uint16_t type;
	uint16_t len;
	const uint8_t *val;
};

/*
 * Takes the next attribute and its padding. Returns 1 with *a set, 0 at the
 * end of the message, -CN_EFORMAT if the value or padding runs past the end.
 * The padding's contents are not checked (RFC 8489 section 14: ignored).
 */
static int next_attr(struct cn_rd *r, struct attr *a)
{
	if (cn_rd_left(r) == 0)
		return cn_rd_ok(r) ? 0 : -CN_EFORMAT;
	a->hdr = cn_rd_take(r, CN_STUN_ATTR_HDR_LEN);
	if (!a->hdr)
		return -CN_EFORMAT;
	a->type = (uint16_t)((a->hdr[0] << 8) | a->hdr[1]);
	a->len = (uint16_t)((a->hdr[2] << 8) | a->hdr[3]);
	a->val = cn_rd_take(r, a->len);
	if (!a->val || !cn_rd_take(r, pad4(a->len) - a->len))
		return -CN_EFORMAT;
	return 1;
}

/*
 * FINGERPRINT: exactly 4 bytes, the last attribute, and the CRC-32 of the
 * message before it (whose length field already counts it) XOR "STUN".
 */
static int check_fingerprint(const struct msg *m, const struct attr *a)
{
	uint32_t want;

	if (a->len != CN_STUN_FINGERPRINT_LEN || cn_rd_left(&m->attrs) != 0)
		return -CN_EFORMAT;
	want = crc32(m->start, (size_t)(a->hdr - m->start)) ^ CN_STUN_FINGERPRINT_XOR;
	return load_be32(a->val) == want ? 0 : -CN_EFORMAT;
}

/*
 * Message integrity attributes are not checked (no credentials here), only
 * sized. RFC 8489 section 14.5: after MESSAGE-INTEGRITY only
 * MESSAGE-INTEGRITY-SHA256 and FINGERPRINT count; after
 * MESSAGE-INTEGRITY-SHA256 only FINGERPRINT. *skip tracks that.
 */
enum skip { SKIP_NONE, SKIP_AFTER_MI, SKIP_AFTER_MI256 };

/* Returns 1 if a was an integrity attribute (consumed), 0 if not, <0 bad. */
static int integrity_attr(const struct attr *a, enum skip *skip)
{
	switch (a->type) {
	case CN_STUN_ATTR_MESSAGE_INTEGRITY:
		if (a->len != MI_LEN)
			return -CN_EFORMAT;
		*skip = SKIP_AFTER_MI;
		return 1;
	case CN_STUN_ATTR_MESSAGE_INTEGRITY_SHA256:
		if (a->len < MI256_MIN || a->len > MI256_MAX || a->len % 4 != 0)
			return -CN_EFORMAT;
		*skip = SKIP_AFTER_MI256;
		return 1;
	}
	return 0;
}

static bool skipped(const struct attr *a, enum skip skip)
{
	switch (skip) {
	case SKIP_NONE:
		return false;
	case SKIP_AFTER_MI:
		return a->type != CN_STUN_ATTR_MESSAGE_INTEGRITY_SHA256;
	case SKIP_AFTER_MI256:
		return true;
	}
	return true;
}

static void note_unknown(struct cn_stun_request *req, uint16_t type)
{
	unsigned kept = req->n_unknown < CN_STUN_MAX_UNKNOWN ? req->n_unknown : CN_STUN_MAX_UNKNOWN;

	for (unsigned i = 0; i < kept; i++)
		if (req->unknown[i] == type)
			return;
	if (req->n_unknown < CN_STUN_MAX_UNKNOWN)
		req->unknown[req->n_unknown] = type;
	req->n_unknown++;
}

int cn_stun_decode_request(const uint8_t *buf, size_t len, struct cn_stun_request *out)
{
	struct cn_stun_request req;
	struct msg m;
	struct attr a;
	enum skip skip = SKIP_NONE;
	bool have_change = false;
	int got, mi;
	int ret;

	memset(out, 0, sizeof(*out));
	memset(&req, 0, sizeof(req));
	ret = parse_header(buf, len, &m);
	if (ret)
		goto out;
	ret = -CN_EFORMAT;
	if (m.type != CN_STUN_BINDING_REQUEST)
		goto out;
	while ((got = next_attr(&m.attrs, &a)) > 0) {
		if (a.type == CN_STUN_ATTR_FINGERPRINT) {
			if (check_fingerprint(&m, &a))
				goto out;
			req.fingerprint = true;
			continue;
		}
		if (skipped(&a, skip))
			continue;
		mi = integrity_attr(&a, &skip);
		if (mi < 0)
			goto out;
		if (mi)
			continue;
		switch (a.type) {
		case CN_STUN_ATTR_CHANGE_REQUEST:
			if (a.len != CHANGE_LEN)
				goto out;
			if (!have_change)
				req.change = load_be32(a.val) &
					     (CN_STUN_CHANGE_IP | CN_STUN_CHANGE_PORT);
			have_change = true;
			break;
		case CN_STUN_ATTR_PRIORITY:
			if (a.len != PRIORITY_LEN)
				goto out;
			break;
		case CN_STUN_ATTR_USE_CANDIDATE:
			if (a.len != 0)
				goto out;
			break;
		case CN_STUN_ATTR_USERNAME:
			break;
		default:
			if (a.type < ATTR_OPTIONAL)
				note_unknown(&req, a.type);
			break;
		}
	}
	if (got < 0)
		goto out;
	memcpy(req.id, m.id, sizeof(req.id));
	req.classic = m.classic;
	*out = req;
	ret = 0;
out:
	return ret;
}

enum cn_stun_reply cn_stun_request_reply(const struct cn_stun_request *req)
{
	if (req->change == 0 && req->n_unknown == 0)
		return CN_STUN_REPLY_SUCCESS;
	if (req->classic)
		return CN_STUN_REPLY_NONE;
	return CN_STUN_REPLY_UNKNOWN;
}

/* *n = strlen(software) (0 for NULL); -CN_EINVAL over CN_STUN_SOFTWARE_MAX. */
static int software_len(const char *software, size_t *n)
{
	*n = 0;
	if (!software)
		return 0;
	while (software[*n] != '\0') {
		if (*n == CN_STUN_SOFTWARE_MAX)
			return -CN_EINVAL;
		(*n)++;
	}
	return 0;
}

/* Writes an attribute header, value and zero padding. */
static void put_attr(struct cn_wr *w, uint16_t type, const void *val, size_t len)
{
	static const uint8_t zero[3];

	cn_wr_u16be(w, type);
	cn_wr_u16be(w, (uint16_t)len);
	cn_wr_bytes(w, val, len);
	cn_wr_bytes(w, zero, pad4(len) - len);
}

static int addr_len(const struct cn_stun_addr *a, size_t *n)
{
	switch (a->family) {
	case CN_STUN_FAMILY_IPV4:
		*n = 4;
		return 0;
	case CN_STUN_FAMILY_IPV6:
		*n = 16;
		return 0;
	}
	return -CN_EINVAL;
}

/*
 * Address attribute. key NULL: MAPPED-ADDRESS layout. Otherwise XOR form:
 * key is cookie || transaction id (16 bytes), the port is XORed with its
 * first two bytes and the address with its first 4 or 16.
 */
static void put_addr(struct cn_wr *w, uint16_t type, const struct cn_stun_addr *a,
		     const uint8_t *key)
{
	size_t n = a->family == CN_STUN_FAMILY_IPV4 ? 4 : 16;
	uint16_t port = a->port;

	if (key)
		port ^= (uint16_t)((key[0] << 8) | key[1]);
	cn_wr_u16be(w, type);
	cn_wr_u16be(w, (uint16_t)(4 + n));
	cn_wr_u8(w, 0);
	cn_wr_u8(w, a->family);
	cn_wr_u16be(w, port);
	for (size_t i = 0; i < n; i++)
		cn_wr_u8(w, (uint8_t)(a->ip[i] ^ (key ? key[i] : 0)));
}

/* Header with a zero length; finish() fills it in. */
static uint8_t *put_header(struct cn_wr *w, uint16_t type, const uint8_t id[CN_STUN_CLASSIC_ID_LEN])
{
	uint8_t *lenp;

	cn_wr_u16be(w, type);
	lenp = cn_wr_take(w, 2);
	cn_wr_bytes(w, id, CN_STUN_CLASSIC_ID_LEN);
	return lenp;
}

/*
 * Sets the length field and, if fingerprint, appends FINGERPRINT (its CRC
 * covers the length field counting the FINGERPRINT attribute itself).
 */
static int finish(struct cn_wr *w, uint8_t *start, uint8_t *lenp, bool fingerprint, size_t *out_len)
{
	size_t body;

	if (!cn_wr_ok(w) || !lenp)
		return -CN_ETOOBIG;
	body = w->len - CN_STUN_HDR_LEN + (fingerprint ? FINGERPRINT_ATTR : 0);
	lenp[0] = (uint8_t)(body >> 8);
	lenp[1] = (uint8_t)body;
	if (fingerprint) {
		uint32_t crc = crc32(start, w->len) ^ CN_STUN_FINGERPRINT_XOR;

		cn_wr_u16be(w, CN_STUN_ATTR_FINGERPRINT);
		cn_wr_u16be(w, CN_STUN_FINGERPRINT_LEN);
		cn_wr_u32be(w, crc);
		if (!cn_wr_ok(w))
			return -CN_ETOOBIG;
	}
	*out_len = w->len;
	return 0;
}

int cn_stun_encode_binding_response(const struct cn_stun_request *req,
				    const struct cn_stun_addr *mapped, const char *software,
				    uint8_t *out, size_t cap, size_t *out_len)
{
	struct cn_wr w;
	uint8_t *lenp;
	size_t alen, n;
	int ret;

	*out_len = 0;
	ret = addr_len(mapped, &alen);
	if (ret)
		goto out;
	ret = software_len(software, &n);
	if (ret)
		goto out;
	cn_wr_init(&w, out, cap);
	lenp = put_header(&w, CN_STUN_BINDING_SUCCESS, req->id);
	if (req->classic) {
		/* RFC 3489: MAPPED-ADDRESS, nothing a classic parser may trip on. */
		put_addr(&w, CN_STUN_ATTR_MAPPED_ADDRESS, mapped, NULL);
		ret = finish(&w, out, lenp, false, out_len);
		goto out;
	}
	put_addr(&w, CN_STUN_ATTR_XOR_MAPPED_ADDRESS, mapped, req->id);
	if (software)
		put_attr(&w, CN_STUN_ATTR_SOFTWARE, software, n);
	ret = finish(&w, out, lenp, true, out_len);
out:
	return ret;
}

int cn_stun_encode_unknown_response(const struct cn_stun_request *req, const char *software,
				    uint8_t *out, size_t cap, size_t *out_len)
{
	uint8_t list[2 * (CN_STUN_MAX_UNKNOWN + 1)];
	uint8_t err[ERR_HDR_LEN + sizeof(reason_unknown) - 1];
	unsigned kept = req->n_unknown < CN_STUN_MAX_UNKNOWN ? req->n_unknown : CN_STUN_MAX_UNKNOWN;
	size_t k = 0, n;
	struct cn_wr w;
	uint8_t *lenp;
	int ret = -CN_EINVAL;

	*out_len = 0;
	if (req->classic)
		goto out;
	for (unsigned i = 0; i < kept; i++) {
		list[k++] = (uint8_t)(req->unknown[i] >> 8);
		list[k++] = (uint8_t)req->unknown[i];
	}
	if (req->change) {
		list[k++] = CN_STUN_ATTR_CHANGE_REQUEST >> 8;
		list[k++] = CN_STUN_ATTR_CHANGE_REQUEST & 0xff;
	}
	if (k == 0)
		goto out;
	ret = software_len(software, &n);
	if (ret)
		goto out;
	err[0] = 0;
	err[1] = 0;
	err[2] = ERR_CLASS;
	err[3] = ERR_NUMBER;
	memcpy(err + ERR_HDR_LEN, reason_unknown, sizeof(reason_unknown) - 1);
	cn_wr_init(&w, out, cap);
	lenp = put_header(&w, CN_STUN_BINDING_ERROR, req->id);
	put_attr(&w, CN_STUN_ATTR_ERROR_CODE, err, sizeof(err));
	put_attr(&w, CN_STUN_ATTR_UNKNOWN_ATTRIBUTES, list, k);
	if (software)
		put_attr(&w, CN_STUN_ATTR_SOFTWARE, software, n);
	ret = finish(&w, out, lenp, true, out_len);
out:
	return ret;
}

int cn_stun_encode_binding_request(const uint8_t tid[static CN_STUN_TID_LEN], const char *software,
				   uint8_t *out, size_t cap, size_t *out_len)
{
	uint8_t id[CN_STUN_CLASSIC_ID_LEN];
	struct cn_wr w;
	uint8_t *lenp;
	size_t n;
	int ret;

	*out_len = 0;
	ret = software_len(software, &n);
	if (ret)
		goto out;
	id[0] = (uint8_t)(CN_STUN_COOKIE >> 24);
	id[1] = (uint8_t)(CN_STUN_COOKIE >> 16);
	id[2] = (uint8_t)(CN_STUN_COOKIE >> 8);
	id[3] = (uint8_t)CN_STUN_COOKIE;
	memcpy(id + 4, tid, CN_STUN_TID_LEN);
	cn_wr_init(&w, out, cap);
	lenp = put_header(&w, CN_STUN_BINDING_REQUEST, id);
	if (software)
		put_attr(&w, CN_STUN_ATTR_SOFTWARE, software, n);
	ret = finish(&w, out, lenp, true, out_len);
out:
	return ret;
}

/*
 * Address attribute value: reserved byte (ignored), family, port, address;
 * 8 bytes for IPv4, 20 for IPv6, nothing else. key as in put_addr.
 */
static int get_addr(const struct attr *a, const uint8_t *key, struct cn_stun_addr *out)
{
	struct cn_rd r;
	size_t n;

	memset(out, 0, sizeof(*out));
	cn_rd_init(&r, a->val, a->len);
	cn_rd_u8(&r);
	out->family = cn_rd_u8(&r);
	out->port = cn_rd_u16be(&r);
	if (out->family == CN_STUN_FAMILY_IPV4 && a->len == CN_STUN_ADDR4_LEN)
		n = 4;
	else if (out->family == CN_STUN_FAMILY_IPV6 && a->len == CN_STUN_ADDR6_LEN)
		n = 16;
	else
		return -CN_EFORMAT;
	cn_rd_bytes(&r, out->ip, n);
	if (!cn_rd_ok(&r) || cn_rd_left(&r) != 0)
		return -CN_EFORMAT;
	if (key) {
		out->port ^= (uint16_t)((key[0] << 8) | key[1]);
		for (size_t i = 0; i < n; i++)
			out->ip[i] ^= key[i];
	}
	return 0;
}

/*
 * Both response decoders. classic: XOR-MAPPED-ADDRESS is rejected like any
 * unknown comprehension-required attribute: RFC 3489 does not define
 * 0x0020 and without a cookie its XOR key is undefined.
 */
static int decode_response(const uint8_t *buf, size_t len, const uint8_t id[CN_STUN_CLASSIC_ID_LEN],
			   bool classic, struct cn_stun_addr *out)
{
	struct cn_stun_addr xor_addr, plain;
	bool have_xor = false, have_plain = false;
	enum skip skip = SKIP_NONE;
	struct msg m;
	struct attr a;
	int got, mi;
	int ret;

	memset(out, 0, sizeof(*out));
	memset(&xor_addr, 0, sizeof(xor_addr));
	memset(&plain, 0, sizeof(plain));
	ret = parse_header(buf, len, &m);
	if (ret)
		goto out;
	ret = -CN_EFORMAT;
	if (m.type != CN_STUN_BINDING_SUCCESS)
		goto out;
	if (memcmp(m.id, id, sizeof(m.id)) != 0) {
		ret = -CN_ENOTFOUND;
		goto out;
	}
	while ((got = next_attr(&m.attrs, &a)) > 0) {
		if (a.type == CN_STUN_ATTR_FINGERPRINT) {
			if (check_fingerprint(&m, &a))
				goto out;
			continue;
		}
		if (skipped(&a, skip))
			continue;
		mi = integrity_attr(&a, &skip);
		if (mi < 0)
			goto out;
		if (mi)
			continue;
		switch (a.type) {
		case CN_STUN_ATTR_XOR_MAPPED_ADDRESS:
			if (classic)
				goto out;
			if (!have_xor && get_addr(&a, m.id, &xor_addr))
				goto out;
			have_xor = true;
			break;
		case CN_STUN_ATTR_MAPPED_ADDRESS:
			if (!have_plain && get_addr(&a, NULL, &plain))
				goto out;
			have_plain = true;
			break;
		case CN_STUN_ATTR_SOURCE_ADDRESS:
		case CN_STUN_ATTR_CHANGED_ADDRESS:
			/* RFC 3489 servers add them; we have no use for them. */
			break;
		default:
			if (a.type < ATTR_OPTIONAL)
				goto out;
			break;
		}
	}
	if (got < 0)
		goto out;
	if (have_xor)
		*out = xor_addr;
	else if (have_plain)
		*out = plain;
	else
		goto out;
	ret = 0;
out:
	return ret;
}

int cn_stun_decode_binding_response(const uint8_t *buf, size_t len,
				    const uint8_t tid[static CN_STUN_TID_LEN],
				    struct cn_stun_addr *mapped)
{
	uint8_t id[CN_STUN_CLASSIC_ID_LEN];

	id[0] = (uint8_t)(CN_STUN_COOKIE >> 24);
	id[1] = (uint8_t)(CN_STUN_COOKIE >> 16);
	id[2] = (uint8_t)(CN_STUN_COOKIE >> 8);
	id[3] = (uint8_t)CN_STUN_COOKIE;
	memcpy(id + 4, tid, CN_STUN_TID_LEN);
	return decode_response(buf, len, id, false, mapped);
}

int cn_stun_decode_classic_binding_response(const uint8_t *buf, size_t len,
					    const uint8_t id[static CN_STUN_CLASSIC_ID_LEN],
					    struct cn_stun_addr *mapped)
{
	return decode_response(buf, len, id, true, mapped);
}
