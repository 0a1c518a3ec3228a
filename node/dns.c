/* SPDX-License-Identifier: MIT */
/*
 * The overlay DNS responder; API and rules in dns.h, the name scheme in
 * docs/DNS.md. Pure: no sockets, clock, logging or allocation.
 *
 * Order of work for a query: header checks (drop, NOTIMP), full decode
 * (FORMERR), EDNS version (BADVERS), which zone the name is in (forward
 * when none), class and type (REFUSED), then the records.
 *
 * Replies are written straight into the caller's buffer through a cn_wr
 * cursor whose room is the reply limit minus the OPT record kept for the
 * end, so no record can push a message past the limit; a record that does
 * not fit is rolled back whole (the struct reply is copied before it).
 *
 * Names in replies: every answer is owned by the question name (a pointer
 * to offset 12); the zone's domain is written once - it is already in the
 * question for forward-zone names - and pointed to afterwards; the SOA of a
 * negative answer is owned by a suffix of the question name.
 *
 * Attacker input is the query only. Compression pointers must go strictly
 * backwards, each before the previous target, so decoding a name ends after
 * at most one visit of each byte; counts are bounded by the bytes present.
 */
#include "node/dns.h"

#include <string.h>

#include "common/bytes.h"
#include "common/dec.h"
#include "common/err.h"

enum {
	OPCODE_SHIFT = 11,
	OPCODE_MASK = 0xf,
	OPCODE_QUERY = 0,
	RCODE_MASK = 0xf,
	PTR_BITS = 0xc0,      /* top two bits of a length byte: 11 pointer, 01/10 unused */
	PTR_OFF_MAX = 0x3fff, /* the furthest offset a pointer reaches */
	OPT_LEN = 11,	      /* root owner, type, class, TTL, RDLENGTH 0 */
	LABELS_MAX = 127,     /* labels in a 255-byte name */
	SOA_REFRESH = 3600,   /* no secondaries exist; values only look sane */
	SOA_RETRY = 600,
	SOA_EXPIRE = 86400,
};

_Static_assert(CN_DNS_HDR_LEN + CN_DNS_NAME_MAX + 4 + OPT_LEN <= CN_DNS_UDP_MIN,
	       "header, any question and an OPT fit the smallest reply");

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, size_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint8_t lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + ('a' - 'A')) : c;
}

static bool name_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

/* ASCII case-insensitive; length bytes (< 64) are never letters. */
static bool bytes_eq_nocase(const uint8_t *a, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (lower(a[i]) != lower(b[i]))
			return false;
	return true;
}

/* Decoding */

/*
 * Reads the name at r's position in msg (the whole message, msg_len bytes)
 * into out, uncompressed, and moves r past it (past its first pointer). A
 * pointer must land after the header, before itself and before every
 * target followed so far, so a loop is refused at its second turn.
 */
static bool read_name(struct cn_rd *r, const uint8_t *msg, size_t msg_len,
		      uint8_t out[static CN_DNS_NAME_MAX], size_t *out_len)
{
	size_t start, p, end = 0, limit = msg_len, n = 0;

	if (!cn_rd_ok(r))
		return false;
	start = p = (size_t)(r->p - msg);
	for (;;) {
		uint8_t c;

		if (p >= msg_len)
			return false;
		c = msg[p];
		if ((c & PTR_BITS) == PTR_BITS) {
			size_t t;

			if (msg_len - p < 2)
				return false;
			t = (size_t)(c & ~PTR_BITS) << 8 | msg[p + 1];
			if (t < CN_DNS_HDR_LEN || t >= p || t >= limit)
				return false;
			if (!end)
				end = p + 2;
			limit = p = t;
			continue;
		}
		if (c & PTR_BITS) /* 01, 10: extended label types (RFC 6891 5) */
			return false;
		if (n + 1 + c > CN_DNS_NAME_MAX || msg_len - p < 1 + (size_t)c)
			return false;
		memcpy(out + n, msg + p, 1 + (size_t)c);
		n += 1 + (size_t)c;
		p += 1 + (size_t)c;
		if (c == 0)
			break;
	}
	if (!end)
		end = p;
	cn_rd_take(r, end - start);
	*out_len = n;
	return true;
}

/* EDNS options: code, length, data; they must fill RDATA exactly. */
static bool options_valid(const uint8_t *p, size_t n)
{
	struct cn_rd r;

	cn_rd_init(&r, p, n);
	while (cn_rd_left(&r)) {
		cn_rd_u16be(&r);
		cn_rd_take(&r, cn_rd_u16be(&r));
	}
	return cn_rd_ok(&r);
}

/* One resource record of the answer, authority or additional section. */
static bool read_rr(struct cn_rd *r, const uint8_t *msg, size_t msg_len, bool additional,
		    struct cn_dns_query *q)
{
	uint8_t name[CN_DNS_NAME_MAX];
	size_t name_len;
	uint16_t type, rclass, rdlen;
	uint32_t ttl;
	const uint8_t *rdata;

	if (!read_name(r, msg, msg_len, name, &name_len))
		return false;
	type = cn_rd_u16be(r);
	rclass = cn_rd_u16be(r);
	ttl = cn_rd_u32be(r);
	rdlen = cn_rd_u16be(r);
	rdata = cn_rd_take(r, rdlen);
	if (!rdata)
		return false;
	if (type != CN_DNS_TYPE_OPT)
		return true;
	/* RFC 6891 6.1.1: one OPT, in the additional section, owned by the root. */
	if (!additional || q->edns || name_len != 1)
		return false;
	q->edns = true;
	q->edns_size = rclass;
	q->edns_version = (uint8_t)(ttl >> 16);
	return options_valid(rdata, rdlen);
}

int cn_dns_query_decode(const uint8_t *msg, size_t len, struct cn_dns_query *q)
{
	struct cn_rd r;
	uint16_t qd;
	size_t an, ns, ar;
	int ret = -CN_EFORMAT;

	*q = (struct cn_dns_query){0};
	if (len < CN_DNS_HDR_LEN)
		return -CN_ESHORT;
	if (len > CN_DNS_TCP_MAX)
		return -CN_ETOOBIG;
	cn_rd_init(&r, msg, len);
	q->id = cn_rd_u16be(&r);
	q->flags = cn_rd_u16be(&r);
	qd = cn_rd_u16be(&r);
	an = cn_rd_u16be(&r);
	ns = cn_rd_u16be(&r);
	ar = cn_rd_u16be(&r);
	if (qd != 1)
		goto out;
	if (!read_name(&r, msg, len, q->qname, &q->qname_len))
		goto out;
	q->qtype = cn_rd_u16be(&r);
	q->qclass = cn_rd_u16be(&r);
	/* Each record takes at least 11 bytes, so this ends with the input. */
	for (size_t i = 0; i < an + ns + ar && cn_rd_ok(&r); i++)
		if (!read_rr(&r, msg, len, i >= an + ns, q))
			goto out;
	if (!cn_rd_ok(&r) || cn_rd_left(&r) != 0)
		goto out;
	ret = 0;
out:
	if (ret)
		*q = (struct cn_dns_query){.id = q->id, .flags = q->flags};
	return ret;
}

size_t cn_dns_reply_limit(const struct cn_dns_query *q, enum cn_dns_transport t)
{
	if (t == CN_DNS_TCP)
		return CN_DNS_TCP_MAX;
	if (!q->edns || q->edns_size <= CN_DNS_UDP_MIN)
		return CN_DNS_UDP_MIN;
	return q->edns_size < CN_DNS_UDP_MAX ? q->edns_size : CN_DNS_UDP_MAX;
}

/* The zone */

struct zone {
	const struct cn_dns_zone *z;
	uint8_t dom[CN_DNS_NAME_MAX]; /* the domain in wire form, root included */
	size_t dom_len;
	size_t dom_labels;
};

static bool text_label_ok(const char *s, size_t n)
{
	if (n < 1 || n > CN_DNS_LABEL_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!name_char((uint8_t)s[i]))
			return false;
	return true;
}

static int zone_prepare(const struct cn_dns_zone *z, struct zone *zw)
{
	const char *s;

	if (!z || !z->domain || !z->self || z->prefix4_len > 32 || z->prefix6_len > 128)
		return -CN_EINVAL;
	if (!text_label_ok(z->self, strnlen(z->self, CN_DNS_LABEL_MAX + 1)))
		return -CN_EINVAL;
	zw->z = z;
	zw->dom_len = zw->dom_labels = 0;
	for (s = z->domain;;) {
		const char *dot = strchr(s, '.');
		size_t n = dot ? (size_t)(dot - s) : strnlen(s, CN_DNS_NAME_MAX);

		/* The label, its length byte and the root must still fit. */
		if (!text_label_ok(s, n) || zw->dom_len + 1 + n + 1 > CN_DNS_NAME_MAX)
			return -CN_EINVAL;
		zw->dom[zw->dom_len++] = (uint8_t)n;
		memcpy(zw->dom + zw->dom_len, s, n);
		zw->dom_len += n;
		zw->dom_labels++;
		if (!dot)
			break;
		s = dot + 1;
	}
	zw->dom[zw->dom_len++] = 0;
	return 0;
}

int cn_dns_zone_check(const struct cn_dns_zone *z)
{
	struct zone zw;

	return zone_prepare(z, &zw);
}

/* What the zone holds at the question name. */
struct node {
	bool exists;	/* else NXDOMAIN */
	bool apex;	/* SOA and NS live here */
	size_t apex_at; /* the zone apex in the reply: a suffix of the question */
	size_t dom_at;	/* the domain in the reply, 0 when the question lacks it */
	bool has_host;	/* A, AAAA */
	struct cn_dns_host host;
	bool has_ptr; /* PTR -> ptr.name.domain. */
	struct cn_dns_host ptr;
	bool group; /* A, AAAA of the live members */
	char group_name[CN_DNS_LABEL_MAX + 1];
};

/* Offsets of the labels of an uncompressed name; returns how many (root excluded). */
static size_t name_labels(const uint8_t *name, size_t len, size_t off[static LABELS_MAX])
{
	size_t n = 0;

	for (size_t p = 0; p < len && name[p] && n < LABELS_MAX; p += 1 + (size_t)name[p])
		off[n++] = p;
	return n;
}

/* The label at name + off, lowercased into buf, if it can be a peer or group name. */
static bool label_text(const uint8_t *name, size_t off, char buf[static CN_DNS_LABEL_MAX + 1])
{
	size_t n = name[off];

	for (size_t i = 0; i < n; i++) {
		buf[i] = (char)lower(name[off + 1 + i]);
		if (!name_char((uint8_t)buf[i]))
			return false;
	}
	buf[n] = '\0';
	return n > 0;
}

static bool host_named(const struct cn_dns_host *h)
{
	return h->name && text_label_ok(h->name, strnlen(h->name, CN_DNS_LABEL_MAX + 1));
}

/*
 * <peer>.D, group.D (a peer of that name, else an empty non-terminal),
 * <group>.group.D, D itself; anything else under D does not exist.
 */
static void classify_forward(const struct zone *zw, const struct cn_dns_query *q, const size_t *off,
			     size_t n, struct node *nd)
{
	const struct cn_dns_zone *z = zw->z;
	size_t k = n - zw->dom_labels, cursor = 0;
	char l0[CN_DNS_LABEL_MAX + 1], l1[CN_DNS_LABEL_MAX + 1];
	struct cn_dns_host h;

	nd->apex_at = nd->dom_at = CN_DNS_HDR_LEN + off[k];
	nd->exists = true;
	if (k == 0) {
		nd->apex = true;
		return;
	}
	if (!label_text(q->qname, off[0], l0)) {
		nd->exists = false;
		return;
	}
	if (k == 1) {
		if (z->by_name && z->by_name(z->ctx, l0, &nd->host))
			nd->has_host = true;
		else if (strcmp(l0, "group") != 0)
			nd->exists = false;
		return;
	}
	if (k == 2 && label_text(q->qname, off[1], l1) && strcmp(l1, "group") == 0 &&
	    z->group_next && z->group_next(z->ctx, l0, &cursor, &h)) {
		nd->group = true;
		memcpy(nd->group_name, l0, sizeof(l0));
		return;
	}
	nd->exists = false;
}

/* A reverse zone: in-addr.arpa (8 bits a label) or ip6.arpa (4). */
struct rev {
	const uint8_t *suffix; /* wire form, root included */
	size_t suffix_len;
	unsigned int unit; /* bits a label */
	unsigned int addr_len;
};

static const uint8_t in_addr_arpa[] = "\7in-addr\4arpa"; /* the string's NUL is the root */
static const uint8_t ip6_arpa[] = "\3ip6\4arpa";
static const struct rev rev4 = {in_addr_arpa, sizeof(in_addr_arpa), 8, 4};
static const struct rev rev6 = {ip6_arpa, sizeof(ip6_arpa), 4, 16};

/* A label's value: canonical decimal 0-255 (unit 8) or one hex digit (unit 4); -1 if not. */
static int rev_label(const uint8_t *lab, unsigned int unit)
{
	size_t n = lab[0];
	uint64_t v;

	if (unit == 4) {
		uint8_t c = n == 1 ? lower(lab[1]) : 0;

		if (c >= '0' && c <= '9')
			return c - '0';
		if (c >= 'a' && c <= 'f')
			return c - 'a' + 10;
		return -1;
	}
	return cn_dec_parse((const char *)lab + 1, n, 3, 255, CN_DEC_CANONICAL, &v) ? (int)v : -1;
}

static bool prefix_match(const uint8_t *a, const uint8_t *prefix, unsigned int len)
{
	unsigned int bytes = len / 8, bits = len % 8;
	uint8_t mask = (uint8_t)(0xff << (8 - bits));

	if (memcmp(a, prefix, bytes) != 0)
		return false;
	return bits == 0 || ((a[bytes] ^ prefix[bytes]) & mask) == 0;
}

/*
 * The reverse zone of a prefix of len bits is cut at label boundaries: its
 * apexes are the names of ceil(len / unit) labels inside the prefix (one
 * apex for a /16, 16 for a /20). Names above them are not ours (forwarded);
 * below, full addresses have a PTR when a peer owns them, shorter names are
 * empty non-terminals, anything else does not exist.
 */
static bool classify_reverse(const struct zone *zw, const struct cn_dns_query *q, const size_t *off,
			     size_t n, const struct rev *rv, const uint8_t *prefix,
			     unsigned int len, struct node *nd)
{
	const struct cn_dns_zone *z = zw->z;
	size_t units = rv->addr_len * 8 / rv->unit, apex_units = (len + rv->unit - 1) / rv->unit;
	size_t j; /* labels before the suffix */
	uint8_t addr[16] = {0};
	bool found = false;

	if (len == 0 || n < 2 || q->qname_len - off[n - 2] != rv->suffix_len ||
	    !bytes_eq_nocase(q->qname + off[n - 2], rv->suffix, rv->suffix_len))
		return false;
	j = n - 2;
	if (j < apex_units)
		return false;
	for (size_t i = 0; i < j && i < units; i++) {
		int v = rev_label(q->qname + off[j - 1 - i], rv->unit);

		if (v < 0 && i < apex_units)
			return false; /* not a name inside our apexes */
		if (v < 0) {
			nd->exists = false;
			goto located;
		}
		if (rv->unit == 8)
			addr[i] = (uint8_t)v;
		else
			addr[i / 2] |= (uint8_t)(i % 2 ? v : v << 4);
		if (i + 1 == apex_units && !prefix_match(addr, prefix, len))
			return false;
	}
	nd->exists = j <= units;
	if (j == units) {
		if (rv->addr_len == 4 && z->by_ip4)
			found = z->by_ip4(z->ctx, addr, &nd->ptr);
		else if (rv->addr_len == 16 && z->by_ip6)
			found = z->by_ip6(z->ctx, addr, &nd->ptr);
		nd->has_ptr = found && host_named(&nd->ptr);
		nd->exists = nd->has_ptr || j == apex_units;
	}
located:
	nd->apex = j == apex_units;
	nd->apex_at = CN_DNS_HDR_LEN + off[j - apex_units];
	return true;
}

/* True if the question name is in one of our zones; *nd says what is there. */
static bool classify(const struct zone *zw, const struct cn_dns_query *q, struct node *nd)
{
	const struct cn_dns_zone *z = zw->z;
	size_t off[LABELS_MAX];
	size_t n = name_labels(q->qname, q->qname_len, off);

	*nd = (struct node){0};
	if (n >= zw->dom_labels && q->qname_len - off[n - zw->dom_labels] == zw->dom_len &&
	    bytes_eq_nocase(q->qname + off[n - zw->dom_labels], zw->dom, zw->dom_len)) {
		classify_forward(zw, q, off, n, nd);
		return true;
	}
	return classify_reverse(zw, q, off, n, &rev4, z->prefix4, z->prefix4_len, nd) ||
	       classify_reverse(zw, q, off, n, &rev6, z->prefix6, z->prefix6_len, nd);
}

/* Encoding */

struct reply {
	uint8_t *msg;
	struct cn_wr w;	  /* room: the limit minus opt_len */
	size_t opt_len;	  /* kept for the closing OPT record */
	bool question;	  /* QDCOUNT 1 */
	uint16_t an, ns;  /* records written */
	size_t dom_at;	  /* the domain in the reply, 0: not written yet */
	const char *self; /* NS and SOA MNAME label */
	uint32_t serial;
};

/* Header (filled by reply_finish) and, if question, the question as received. */
static bool reply_begin(struct reply *rp, uint8_t *out, size_t limit, const struct cn_dns_query *q,
			bool question)
{
	*rp = (struct reply){.msg = out, .question = question};
	rp->opt_len = question && q->edns ? OPT_LEN : 0;
	if (limit < CN_DNS_HDR_LEN + rp->opt_len)
		return false;
	cn_wr_init(&rp->w, out, limit - rp->opt_len);
	cn_wr_take(&rp->w, CN_DNS_HDR_LEN);
	if (question) {
		cn_wr_bytes(&rp->w, q->qname, q->qname_len);
		cn_wr_u16be(&rp->w, q->qtype);
		cn_wr_u16be(&rp->w, q->qclass);
	}
	return cn_wr_ok(&rp->w);
}

/* Adds the OPT record and the header; returns the reply's length. */
static size_t reply_finish(struct reply *rp, const struct cn_dns_query *q, uint16_t flags,
			   unsigned int rcode)
{
	uint16_t keep = (uint16_t)(OPCODE_MASK << OPCODE_SHIFT) | CN_DNS_F_RD | CN_DNS_F_CD;

	rp->w.n += rp->opt_len;
	if (rp->opt_len) {
		/* RFC 6891 6.1.3: upper 8 bits of the RCODE, version 0, no DO. */
		cn_wr_u8(&rp->w, 0);
		cn_wr_u16be(&rp->w, CN_DNS_TYPE_OPT);
		cn_wr_u16be(&rp->w, CN_DNS_UDP_MAX);
		cn_wr_u32be(&rp->w, (uint32_t)(rcode >> 4) << 24);
		cn_wr_u16be(&rp->w, 0);
	}
	put16(rp->msg, q->id);
	put16(rp->msg + 2,
	      CN_DNS_F_QR | (q->flags & keep) | CN_DNS_F_RA | flags | (rcode & RCODE_MASK));
	put16(rp->msg + 4, rp->question);
	put16(rp->msg + 6, rp->an);
	put16(rp->msg + 8, rp->ns);
	put16(rp->msg + 10, rp->opt_len ? 1 : 0);
	return rp->w.len;
}

static void put_ptr(struct reply *rp, size_t at)
{
	cn_wr_u16be(&rp->w, (uint16_t)(PTR_BITS << 8 | at));
}

/*
 * label (NULL: none) then the zone's domain: a pointer when the domain is
 * already in the reply, else in full, remembered for the next names.
 */
static void put_dname(struct reply *rp, const struct zone *zw, const char *label)
{
	size_t at;

	if (label) {
		size_t n = strlen(label);

		cn_wr_u8(&rp->w, (uint8_t)n);
		cn_wr_bytes(&rp->w, label, n);
	}
	if (rp->dom_at) {
		put_ptr(rp, rp->dom_at);
		return;
	}
	at = rp->w.len;
	if (cn_wr_bytes(&rp->w, zw->dom, zw->dom_len) && at <= PTR_OFF_MAX)
		rp->dom_at = at;
}

/*
 * One record owned by the name at offset owner; h gives A/AAAA/PTR data.
 * False, with *rp as before, if it does not fit (the bytes that did fit
 * stay in the buffer past the reply's end, inside the limit).
 */
static bool add_record(struct reply *rp, const struct zone *zw, size_t owner, uint16_t type,
		       uint32_t ttl, const struct cn_dns_host *h, bool authority)
{
	struct reply save = *rp;
	size_t rdlen_at;

	put_ptr(rp, owner);
	cn_wr_u16be(&rp->w, type);
	cn_wr_u16be(&rp->w, CN_DNS_CLASS_IN);
	cn_wr_u32be(&rp->w, ttl);
	rdlen_at = rp->w.len;
	cn_wr_u16be(&rp->w, 0);
	switch (type) {
	case CN_DNS_TYPE_A:
		cn_wr_bytes(&rp->w, h->ip4, sizeof(h->ip4));
		break;
	case CN_DNS_TYPE_AAAA:
		cn_wr_bytes(&rp->w, h->ip6, sizeof(h->ip6));
		break;
	case CN_DNS_TYPE_PTR:
		put_dname(rp, zw, h->name);
		break;
	case CN_DNS_TYPE_NS:
		put_dname(rp, zw, rp->self);
		break;
	case CN_DNS_TYPE_SOA:
		put_dname(rp, zw, rp->self);
		put_dname(rp, zw, "hostmaster");
		cn_wr_u32be(&rp->w, rp->serial);
		cn_wr_u32be(&rp->w, SOA_REFRESH);
		cn_wr_u32be(&rp->w, SOA_RETRY);
		cn_wr_u32be(&rp->w, SOA_EXPIRE);
		cn_wr_u32be(&rp->w, CN_DNS_TTL_ZONE);
		break;
	default:
		break;
	}
	if (!cn_wr_ok(&rp->w)) {
		*rp = save;
		return false;
	}
	put16(rp->msg + rdlen_at, rp->w.len - rdlen_at - 2);
	if (authority)
		rp->ns++;
	else
		rp->an++;
	return true;
}

/* One record of type for each live member of the group. */
static bool add_group(struct reply *rp, const struct zone *zw, const struct node *nd, uint16_t type)
{
	const struct cn_dns_zone *z = zw->z;
	size_t cursor = 0, prev;
	struct cn_dns_host h;

	for (;;) {
		prev = cursor;
		if (!z->group_next(z->ctx, nd->group_name, &cursor, &h) || cursor <= prev)
			return true;
		if (z->is_live && !z->is_live(z->ctx, &h))
			continue;
		if (!add_record(rp, zw, CN_DNS_HDR_LEN, type, CN_DNS_TTL_GROUP, &h, false))
			return false;
	}
}

/*
 * The records for the question; a negative answer gets the SOA in the
 * authority section (RFC 2308). False when a record did not fit.
 */
static bool add_answers(struct reply *rp, const struct zone *zw, const struct cn_dns_query *q,
			const struct node *nd, unsigned int *rcode)
{
	const size_t owner = CN_DNS_HDR_LEN;
	uint16_t t = q->qtype;
	bool any = t == CN_DNS_TYPE_ANY;

	*rcode = CN_DNS_NOERROR;
	if (nd->apex && (any || t == CN_DNS_TYPE_SOA) &&
	    !add_record(rp, zw, owner, CN_DNS_TYPE_SOA, CN_DNS_TTL_ZONE, NULL, false))
		return false;
	if (nd->apex && (any || t == CN_DNS_TYPE_NS) &&
	    !add_record(rp, zw, owner, CN_DNS_TYPE_NS, CN_DNS_TTL_ZONE, NULL, false))
		return false;
	if (nd->has_host && (any || t == CN_DNS_TYPE_A) &&
	    !add_record(rp, zw, owner, CN_DNS_TYPE_A, CN_DNS_TTL_PEER, &nd->host, false))
		return false;
	if (nd->has_host && (any || t == CN_DNS_TYPE_AAAA) &&
	    !add_record(rp, zw, owner, CN_DNS_TYPE_AAAA, CN_DNS_TTL_PEER, &nd->host, false))
		return false;
	if (nd->has_ptr && (any || t == CN_DNS_TYPE_PTR) &&
	    !add_record(rp, zw, owner, CN_DNS_TYPE_PTR, CN_DNS_TTL_PEER, &nd->ptr, false))
		return false;
	if (nd->group && (any || t == CN_DNS_TYPE_A) && !add_group(rp, zw, nd, CN_DNS_TYPE_A))
		return false;
	if (nd->group && (any || t == CN_DNS_TYPE_AAAA) && !add_group(rp, zw, nd, CN_DNS_TYPE_AAAA))
		return false;
	if (rp->an)
		return true;
	if (!nd->exists)
		*rcode = CN_DNS_NXDOMAIN;
	return add_record(rp, zw, nd->apex_at, CN_DNS_TYPE_SOA, CN_DNS_TTL_ZONE, NULL, true);
}

/* A reply without records: header only (question false), or header, question, OPT. */
static enum cn_dns_action reply_empty(const struct cn_dns_query *q, bool question,
				      unsigned int rcode, uint16_t flags, uint8_t *out,
				      size_t limit, size_t *out_len)
{
	struct reply rp;

	if (!reply_begin(&rp, out, limit, q, question))
		return CN_DNS_DROP;
	*out_len = reply_finish(&rp, q, flags, rcode);
	return CN_DNS_ANSWER;
}

enum cn_dns_action cn_dns_respond(const struct cn_dns_zone *z, const uint8_t *query, size_t qlen,
				  enum cn_dns_transport t, uint8_t *out, size_t cap,
				  size_t *out_len)
{
	struct cn_dns_query q;
	struct zone zw;
	struct node nd;
	struct reply rp, after_question;
	unsigned int rcode = CN_DNS_NOERROR;
	uint16_t flags = CN_DNS_F_AA;
	size_t limit;
	int ret;

	if (!out_len)
		return CN_DNS_DROP;
	*out_len = 0;
	if (!query || !out || zone_prepare(z, &zw) != 0)
		return CN_DNS_DROP;
	ret = cn_dns_query_decode(query, qlen, &q);
	if (ret == -CN_ESHORT || ret == -CN_ETOOBIG || (q.flags & CN_DNS_F_QR))
		return CN_DNS_DROP;
	limit = ret ? cap : cn_dns_reply_limit(&q, t);
	if (limit > cap)
		limit = cap;
	/* RFC 6891 7: an OPT in the query gets one back, or EDNS looks broken. */
	if ((q.flags >> OPCODE_SHIFT & OPCODE_MASK) != OPCODE_QUERY)
		return reply_empty(&q, ret == 0, CN_DNS_NOTIMP, 0, out, limit, out_len);
	if (ret || (t == CN_DNS_UDP && !q.edns && qlen > CN_DNS_UDP_MIN))
		return reply_empty(&q, false, CN_DNS_FORMERR, 0, out, limit, out_len);
	if (q.edns && q.edns_version != 0)
		return reply_empty(&q, true, CN_DNS_BADVERS, 0, out, limit, out_len);
	if (!classify(&zw, &q, &nd))
		return CN_DNS_FORWARD;
	if ((q.qclass != CN_DNS_CLASS_IN && q.qclass != CN_DNS_CLASS_ANY) ||
	    q.qtype == CN_DNS_TYPE_AXFR || q.qtype == CN_DNS_TYPE_IXFR)
		return reply_empty(&q, true, CN_DNS_REFUSED, 0, out, limit, out_len);

	if (!reply_begin(&rp, out, limit, &q, true))
		return CN_DNS_DROP;
	rp.dom_at = nd.dom_at;
	rp.self = z->self;
	rp.serial = z->serial;
	after_question = rp;
	if (!add_answers(&rp, &zw, &q, &nd, &rcode) && (t == CN_DNS_UDP || rp.an == 0)) {
		/* RFC 2181 9: no partial RRsets; the client retries by TCP. */
		rp = after_question;
		rcode = CN_DNS_NOERROR;
		flags |= CN_DNS_F_TC;
	}
	*out_len = reply_finish(&rp, &q, flags, rcode);
	return CN_DNS_ANSWER;
}

int cn_dns_encode_empty(const struct cn_dns_query *q, unsigned int rcode, bool tc, uint8_t *out,
			size_t cap, size_t *out_len)
{
	if (out_len)
		*out_len = 0;
	if (!q || !out || !out_len || rcode > RCODE_MASK || q->qname_len < 1 ||
	    q->qname_len > CN_DNS_NAME_MAX)
		return -CN_EINVAL;
	if (reply_empty(q, true, rcode, tc ? CN_DNS_F_TC : 0, out, cap, out_len) != CN_DNS_ANSWER)
		return -CN_ETOOBIG;
	return 0;
}

/* Forwarder and listener helpers */

int cn_dns_id_get(const uint8_t *msg, size_t len, uint16_t *id)
{
	*id = 0;
	if (len < CN_DNS_HDR_LEN)
		return -CN_ESHORT;
	*id = get16(msg);
	return 0;
}

int cn_dns_id_set(uint8_t *msg, size_t len, uint16_t id)
{
	if (len < CN_DNS_HDR_LEN)
		return -CN_ESHORT;
	put16(msg, id);
	return 0;
}

int cn_dns_tcp_frame_encode(size_t len, uint8_t out[static 2])
{
	if (len > CN_DNS_TCP_MAX)
		return -CN_ETOOBIG;
	put16(out, len);
	return 0;
}

int cn_dns_tcp_frame_decode(const uint8_t *buf, size_t len, const uint8_t **msg, size_t *msg_len,
			    size_t *used)
{
	size_t n;

	*msg = NULL;
	*msg_len = *used = 0;
	if (len < 2)
		return -CN_ESHORT;
	n = get16(buf);
	if (n < CN_DNS_HDR_LEN)
		return -CN_EFORMAT;
	if (len - 2 < n)
		return -CN_ESHORT;
	*msg = buf + 2;
	*msg_len = n;
	*used = 2 + n;
	return 0;
}
