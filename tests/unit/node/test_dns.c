/* SPDX-License-Identifier: MIT */
/*
 * The overlay DNS responder (node/dns.h) against a fake peer set: every
 * record type and answer of docs/DNS.md, EDNS, truncation, the forwarder and
 * TCP helpers, and hostile queries. Replies are read back by a decoder
 * written here, independently of the module (recursive name reading with
 * pointers checked to go backwards, names as dotted text), which also
 * checks that every reply is well formed, fits its limit and keeps the ID.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/err.h"
#include "node/dns.h"

/* The fake peer set */

struct fpeer {
	char name[64];
	uint8_t ip4[4];
	uint8_t ip6[16];
	char groups[64]; /* " web cloud " */
	bool live;
};

struct fake {
	struct fpeer *peers;
	size_t n;
	unsigned int calls; /* callback calls */
};

static bool is_lower_label(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > 63)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

static void fill(const struct fpeer *p, struct cn_dns_host *h)
{
	h->name = p->name;
	memcpy(h->ip4, p->ip4, 4);
	memcpy(h->ip6, p->ip6, 16);
	h->ref = p;
}

static bool f_by_name(void *ctx, const char *name, struct cn_dns_host *out)
{
	struct fake *f = ctx;

	f->calls++;
	assert_true(is_lower_label(name)); /* the responder lowercases and filters */
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->peers[i].name, name) == 0) {
			fill(&f->peers[i], out);
			return true;
		}
	return false;
}

static bool f_by_ip4(void *ctx, const uint8_t ip4[4], struct cn_dns_host *out)
{
	struct fake *f = ctx;

	f->calls++;
	for (size_t i = 0; i < f->n; i++)
		if (memcmp(f->peers[i].ip4, ip4, 4) == 0) {
			fill(&f->peers[i], out);
			return true;
		}
	return false;
}

static bool f_by_ip6(void *ctx, const uint8_t ip6[16], struct cn_dns_host *out)
{
	struct fake *f = ctx;

	f->calls++;
	for (size_t i = 0; i < f->n; i++)
		if (memcmp(f->peers[i].ip6, ip6, 16) == 0) {
			fill(&f->peers[i], out);
			return true;
		}
	return false;
}

static bool f_group_next(void *ctx, const char *group, size_t *cursor, struct cn_dns_host *out)
{
	struct fake *f = ctx;
	char key[70];

	f->calls++;
	assert_true(is_lower_label(group));
	snprintf(key, sizeof(key), " %s ", group);
	for (size_t i = *cursor; i < f->n; i++)
		if (strstr(f->peers[i].groups, key)) {
			fill(&f->peers[i], out);
			*cursor = i + 1;
			return true;
		}
	return false;
}

static bool f_is_live(void *ctx, const struct cn_dns_host *h)
{
	(void)ctx;
	return ((const struct fpeer *)h->ref)->live;
}

static struct fpeer base_peers[] = {
	{"board1", {10, 99, 0, 2}, {0xfd, 0x99, 0xca, 0xfe, [15] = 2}, " web boards ", true},
	{"board2", {10, 99, 0, 3}, {0xfd, 0x99, 0xca, 0xfe, [15] = 3}, " web boards dead ", false},
	{"cloud1", {10, 99, 0, 4}, {0xfd, 0x99, 0xca, 0xfe, [15] = 4}, " web cloud ", true},
	{"cloud2", {10, 99, 1, 9}, {0xfd, 0x99, 0xca, 0xfe, [14] = 1, 9}, " cloud ", true},
};

static struct fpeer work[4]; /* what tests see and change; reset by setup */
static struct fpeer *heap_peers;
static struct fake fk;
static struct cn_dns_zone zone;
static const char *exp_domain; /* the zone's domain in expected names */

static void zone_init(struct cn_dns_zone *z, struct fake *f)
{
	*z = (struct cn_dns_zone){
		.domain = "demo.cairn",
		.self = "board1",
		.serial = 7,
		.prefix4 = {10, 99, 0, 0},
		.prefix4_len = 16,
		.prefix6 = {0xfd, 0x99, 0xca, 0xfe},
		.prefix6_len = 64,
		.ctx = f,
		.by_name = f_by_name,
		.by_ip4 = f_by_ip4,
		.by_ip6 = f_by_ip6,
		.group_next = f_group_next,
		.is_live = f_is_live,
	};
}

static int setup(void **state)
{
	(void)state;
	_Static_assert(sizeof(work) == sizeof(base_peers), "work holds the base peers");
	memcpy(work, base_peers, sizeof(work));
	fk = (struct fake){.peers = work, .n = sizeof(work) / sizeof(work[0])};
	zone_init(&zone, &fk);
	exp_domain = "demo.cairn.";
	return 0;
}

/* n extra live members of group "many", after the base peers; free with teardown. */
static void add_many(size_t n, bool live)
{
	size_t nb = sizeof(base_peers) / sizeof(base_peers[0]);
	struct fpeer *p = calloc(nb + n, sizeof(*p));

	assert_non_null(p);
	memcpy(p, work, sizeof(work));
	for (size_t i = 0; i < n; i++) {
		struct fpeer *q = &p[nb + i];

		snprintf(q->name, sizeof(q->name), "m%zu", i);
		q->ip4[0] = 10;
		q->ip4[1] = 99;
		q->ip4[2] = (uint8_t)(2 + i / 250);
		q->ip4[3] = (uint8_t)(1 + i % 250);
		q->ip6[0] = 0xfd;
		q->ip6[1] = 0x99;
		q->ip6[14] = (uint8_t)(i >> 8);
		q->ip6[15] = (uint8_t)i;
		q->ip6[13] = 0x77;
		strcpy(q->groups, " many ");
		q->live = live;
	}
	free(heap_peers);
	heap_peers = fk.peers = p;
	fk.n = nb + n;
}

static int teardown(void **state)
{
	(void)state;
	free(heap_peers);
	heap_peers = NULL;
	return 0;
}

/* Query builder */

static size_t put_name(uint8_t *p, const char *name)
{
	size_t n = 0;

	while (*name && strcmp(name, ".") != 0) {
		const char *dot = strchr(name, '.');
		size_t l = dot ? (size_t)(dot - name) : strlen(name);

		p[n++] = (uint8_t)l;
		memcpy(p + n, name, l);
		n += l;
		name += l + (dot ? 1 : 0);
	}
	p[n++] = 0;
	return n;
}

static void w16(uint8_t *p, unsigned int v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t r16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t r32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static size_t hdr(uint8_t *b, unsigned int id, unsigned int flags, unsigned int qd, unsigned int an,
		  unsigned int ns, unsigned int ar)
{
	w16(b, id);
	w16(b + 2, flags);
	w16(b + 4, qd);
	w16(b + 6, an);
	w16(b + 8, ns);
	w16(b + 10, ar);
	return 12;
}

/* An OPT record: size, version, optional rdata. */
static size_t opt_rr(uint8_t *b, unsigned int size, unsigned int version, const uint8_t *rd,
		     size_t rdlen)
{
	b[0] = 0;
	w16(b + 1, CN_DNS_TYPE_OPT);
	w16(b + 3, size);
	b[5] = 0;
	b[6] = (uint8_t)version;
	w16(b + 7, 0x8000); /* DO: we must not echo it */
	w16(b + 9, (unsigned int)rdlen);
	if (rdlen)
		memcpy(b + 11, rd, rdlen);
	return 11 + rdlen;
}

/* edns < 0: no OPT record. */
static size_t query(uint8_t *b, unsigned int id, const char *name, unsigned int qtype,
		    unsigned int qclass, int edns)
{
	size_t n = hdr(b, id, CN_DNS_F_RD, 1, 0, 0, edns >= 0);

	n += put_name(b + n, name);
	w16(b + n, qtype);
	w16(b + n + 2, qclass);
	n += 4;
	if (edns >= 0)
		n += opt_rr(b + n, (unsigned int)edns, 0, NULL, 0);
	return n;
}

/* An independent reply decoder */

struct t_rr {
	char name[300];
	size_t owner_at; /* where the owner name starts */
	uint16_t type, rclass;
	uint32_t ttl;
	uint16_t rdlen;
	uint8_t rdata[16]; /* A, AAAA */
	char target[300];  /* PTR, NS target; SOA MNAME */
	char rname[300];   /* SOA RNAME */
	uint32_t soa[5];   /* serial, refresh, retry, expire, minimum */
};

struct t_msg {
	uint16_t id, flags, qd, an, ns, ar;
	char qname[300];
	uint8_t qname_wire[256];
	size_t qname_wire_len;
	uint16_t qtype, qclass;
	struct t_rr *rr; /* an + ns + ar records */
	bool opt;
	uint16_t opt_size;
	uint32_t opt_ttl;
};

/*
 * Appends the name at pos to out (dotted, trailing dot). Pointers must go
 * backwards; *wire counts uncompressed bytes. Returns the offset after the
 * name at pos (after its first pointer), or 0 on error.
 */
static size_t t_name(const uint8_t *m, size_t len, size_t pos, char *out, size_t *wire, int depth)
{
	if (depth > 64)
		return 0;
	for (;;) {
		if (pos >= len)
			return 0;
		if ((m[pos] & 0xc0) == 0xc0) {
			size_t target;

			if (pos + 1 >= len)
				return 0;
			target = (size_t)(m[pos] & 0x3f) * 256 + m[pos + 1];
			if (target >= pos || target < 12)
				return 0;
			if (!t_name(m, len, target, out, wire, depth + 1))
				return 0;
			return pos + 2;
		}
		if (m[pos] > 63)
			return 0;
		if (m[pos] == 0) {
			*wire += 1;
			if (*wire > 255)
				return 0;
			if (out[0] == '\0')
				strcpy(out, ".");
			return pos + 1;
		}
		if (pos + 1 + m[pos] > len)
			return 0;
		*wire += 1 + (size_t)m[pos];
		if (*wire > 255)
			return 0;
		strncat(out, (const char *)m + pos + 1, m[pos]);
		strcat(out, ".");
		pos += 1 + (size_t)m[pos];
	}
}

static void t_free(struct t_msg *t)
{
	free(t->rr);
	t->rr = NULL;
}

/* Decodes a whole reply; fails the test on any flaw. */
static void t_decode(const uint8_t *m, size_t len, struct t_msg *t)
{
	size_t pos = 12, wire = 0, total;

	memset(t, 0, sizeof(*t));
	assert_true(len >= 12);
	t->id = r16(m);
	t->flags = r16(m + 2);
	t->qd = r16(m + 4);
	t->an = r16(m + 6);
	t->ns = r16(m + 8);
	t->ar = r16(m + 10);
	assert_true(t->qd <= 1);
	if (t->qd) {
		size_t start = pos;

		pos = t_name(m, len, pos, t->qname, &wire, 0);
		assert_true(pos != 0);
		assert_true(pos + 4 <= len);
		assert_true(pos - start <= sizeof(t->qname_wire));
		memcpy(t->qname_wire, m + start, pos - start);
		t->qname_wire_len = pos - start;
		t->qtype = r16(m + pos);
		t->qclass = r16(m + pos + 2);
		pos += 4;
	}
	total = (size_t)t->an + t->ns + t->ar;
	t->rr = calloc(total ? total : 1, sizeof(*t->rr));
	assert_non_null(t->rr);
	for (size_t i = 0; i < total; i++) {
		struct t_rr *rr = &t->rr[i];
		size_t rd, rdend, w2 = 0;

		wire = 0;
		rr->owner_at = pos;
		pos = t_name(m, len, pos, rr->name, &wire, 0);
		assert_true(pos != 0);
		assert_true(pos + 10 <= len);
		rr->type = r16(m + pos);
		rr->rclass = r16(m + pos + 2);
		rr->ttl = r32(m + pos + 4);
		rr->rdlen = r16(m + pos + 8);
		rd = pos + 10;
		rdend = rd + rr->rdlen;
		assert_true(rdend <= len);
		switch (rr->type) {
		case CN_DNS_TYPE_A:
			assert_int_equal(rr->rdlen, 4);
			memcpy(rr->rdata, m + rd, 4);
			break;
		case CN_DNS_TYPE_AAAA:
			assert_int_equal(rr->rdlen, 16);
			memcpy(rr->rdata, m + rd, 16);
			break;
		case CN_DNS_TYPE_PTR:
		case CN_DNS_TYPE_NS:
			assert_int_equal(t_name(m, rdend, rd, rr->target, &w2, 0), rdend);
			break;
		case CN_DNS_TYPE_SOA: {
			size_t p = t_name(m, rdend, rd, rr->target, &w2, 0);

			assert_true(p != 0);
			w2 = 0;
			p = t_name(m, rdend, p, rr->rname, &w2, 0);
			assert_true(p != 0);
			assert_int_equal(p + 20, rdend);
			for (int k = 0; k < 5; k++)
				rr->soa[k] = r32(m + p + 4 * k);
			break;
		}
		case CN_DNS_TYPE_OPT:
			assert_true(i >= (size_t)t->an + t->ns);
			assert_false(t->opt);
			assert_string_equal(rr->name, ".");
			t->opt = true;
			t->opt_size = rr->rclass;
			t->opt_ttl = rr->ttl;
			break;
		default:
			fail_msg("unexpected record type %u", rr->type);
		}
		pos = rdend;
	}
	assert_int_equal(pos, len); /* nothing after the last record */
}

/* Asking */

static uint8_t qbuf[70000], rbuf[70000];
static size_t rlen;

/*
 * Runs the responder on q[0..qlen) and, for an answer, decodes it and
 * checks what every reply must hold.
 */
static enum cn_dns_action run(const uint8_t *q, size_t qlen, enum cn_dns_transport tr, size_t cap,
			      struct t_msg *t)
{
	enum cn_dns_action a;

	memset(rbuf, 0xa5, sizeof(rbuf));
	rlen = 12345;
	a = cn_dns_respond(&zone, q, qlen, tr, rbuf, cap, &rlen);
	memset(t, 0, sizeof(*t));
	if (a != CN_DNS_ANSWER) {
		assert_int_equal(rlen, 0);
		return a;
	}
	assert_true(rlen >= 12 && rlen <= cap);
	assert_true(rlen <= (tr == CN_DNS_UDP ? (size_t)CN_DNS_UDP_MAX : (size_t)CN_DNS_TCP_MAX));
	if (cap < sizeof(rbuf))
		assert_int_equal(rbuf[cap], 0xa5); /* nothing written past cap */
	t_decode(rbuf, rlen, t);
	assert_int_equal(t->id, r16(q));			  /* ID preserved */
	assert_true(t->flags & CN_DNS_F_QR);			  /* a response */
	assert_true(t->flags & CN_DNS_F_RA);			  /* we forward */
	assert_int_equal(t->flags & 0x7800, r16(q + 2) & 0x7800); /* opcode */
	assert_int_equal(t->flags & CN_DNS_F_RD, r16(q + 2) & CN_DNS_F_RD);
	assert_int_equal(t->flags & 0x0040, 0); /* Z */
	if (t->opt) {
		assert_int_equal(t->opt_size, CN_DNS_UDP_MAX);
		assert_int_equal(t->opt_ttl & 0x00ffffff, 0); /* version 0, no DO */
	}
	return a;
}

static enum cn_dns_action ask_t(const char *name, unsigned int qtype, int edns,
				enum cn_dns_transport tr, struct t_msg *t)
{
	size_t n = query(qbuf, 0xbeef, name, qtype, CN_DNS_CLASS_IN, edns);
	enum cn_dns_action a = run(qbuf, n, tr, sizeof(rbuf), t);

	if (a == CN_DNS_ANSWER && t->qd) {
		/* The question comes back byte for byte, case kept. */
		assert_int_equal(t->qname_wire_len, put_name(qbuf + 400, name));
		assert_memory_equal(t->qname_wire, qbuf + 400, t->qname_wire_len);
		assert_int_equal(t->qtype, qtype);
		assert_int_equal(t->qclass, CN_DNS_CLASS_IN);
		assert_int_equal(t->opt, edns >= 0);
		if (tr == CN_DNS_UDP)
			assert_true(rlen <= (edns < 0		     ? 512u
					     : edns < 512	     ? 512u
					     : edns > CN_DNS_UDP_MAX ? (unsigned)CN_DNS_UDP_MAX
								     : (unsigned)edns));
	}
	return a;
}

static enum cn_dns_action ask(const char *name, unsigned int qtype, struct t_msg *t)
{
	return ask_t(name, qtype, -1, CN_DNS_UDP, t);
}

static unsigned int rcode(const struct t_msg *t)
{
	return t->flags & 0xf;
}

static void check_soa(const struct t_rr *rr, const char *owner)
{
	char want[300];

	assert_int_equal(rr->type, CN_DNS_TYPE_SOA);
	assert_int_equal(rr->rclass, CN_DNS_CLASS_IN);
	assert_string_equal(rr->name, owner);
	snprintf(want, sizeof(want), "board1.%s", exp_domain);
	assert_string_equal(rr->target, want);
	snprintf(want, sizeof(want), "hostmaster.%s", exp_domain);
	assert_string_equal(rr->rname, want);
	assert_int_equal(rr->soa[0], 7);
	assert_int_equal(rr->soa[4], CN_DNS_TTL_ZONE);
	assert_int_equal(rr->ttl, CN_DNS_TTL_ZONE);
}

/* A negative answer: rc, AA, no answers, the zone's SOA in authority. */
static void check_negative(const struct t_msg *t, unsigned int rc, const char *apex)
{
	assert_int_equal(rcode(t), rc);
	assert_true(t->flags & CN_DNS_F_AA);
	assert_false(t->flags & CN_DNS_F_TC);
	assert_int_equal(t->an, 0);
	assert_int_equal(t->ns, 1);
	check_soa(&t->rr[0], apex);
}

static void check_a(const struct t_rr *rr, const char *owner, uint32_t ttl, uint8_t a, uint8_t b,
		    uint8_t c, uint8_t d)
{
	const uint8_t ip[4] = {a, b, c, d};

	assert_int_equal(rr->type, CN_DNS_TYPE_A);
	assert_int_equal(rr->rclass, CN_DNS_CLASS_IN);
	assert_string_equal(rr->name, owner);
	assert_int_equal(rr->ttl, ttl);
	assert_memory_equal(rr->rdata, ip, 4);
}

static void check_aaaa(const struct t_rr *rr, const char *owner, uint32_t ttl, const uint8_t ip[16])
{
	assert_int_equal(rr->type, CN_DNS_TYPE_AAAA);
	assert_string_equal(rr->name, owner);
	assert_int_equal(rr->ttl, ttl);
	assert_memory_equal(rr->rdata, ip, 16);
}

/* Forward zone */

static void test_a_aaaa_any(void **state)
{
	struct t_msg t;

	(void)state;
	assert_int_equal(ask("board1.demo.cairn", CN_DNS_TYPE_A, &t), CN_DNS_ANSWER);
	assert_int_equal(rcode(&t), CN_DNS_NOERROR);
	assert_true(t.flags & CN_DNS_F_AA);
	assert_int_equal(t.an, 1);
	assert_int_equal(t.ns + t.ar, 0);
	check_a(&t.rr[0], "board1.demo.cairn.", CN_DNS_TTL_PEER, 10, 99, 0, 2);
	/* The owner is a pointer to the question name. */
	assert_int_equal(r16(rbuf + t.rr[0].owner_at), 0xc00c);
	/* 12 header + 19 name + 4 + (2 + 10 + 4) */
	assert_int_equal(rlen, 12 + 19 + 4 + 16);
	t_free(&t);

	assert_int_equal(ask("board1.demo.cairn", CN_DNS_TYPE_AAAA, &t), CN_DNS_ANSWER);
	assert_int_equal(t.an, 1);
	check_aaaa(&t.rr[0], "board1.demo.cairn.", CN_DNS_TTL_PEER, base_peers[0].ip6);
	t_free(&t);

	assert_int_equal(ask("cloud2.demo.cairn", CN_DNS_TYPE_ANY, &t), CN_DNS_ANSWER);
	assert_int_equal(rcode(&t), CN_DNS_NOERROR);
	assert_int_equal(t.an, 2);
	check_a(&t.rr[0], "cloud2.demo.cairn.", CN_DNS_TTL_PEER, 10, 99, 1, 9);
	check_aaaa(&t.rr[1], "cloud2.demo.cairn.", CN_DNS_TTL_PEER, base_peers[3].ip6);
	t_free(&t);

	/* Class ANY is answered as IN. */
	{
		size_t n = query(qbuf, 1, "board2.demo.cairn", CN_DNS_TYPE_A, CN_DNS_CLASS_ANY, -1);

		assert_int_equal(run(qbuf, n, CN_DNS_UDP, sizeof(rbuf), &t), CN_DNS_ANSWER);
		assert_int_equal(t.an, 1);
		check_a(&t.rr[0], "board2.demo.cairn.", CN_DNS_TTL_PEER, 10, 99, 0, 3);
		t_free(&t);
	}
}

static void test_case_insensitive(void **state)
{
	struct t_msg t;

	(void)state;
	/* DNS 0x20: the answer keeps the question's case (ask_t checks the echo). */
	assert_int_equal(ask("BoArD1.DEMO.Cairn", CN_DNS_TYPE_A, &t), CN_DNS_ANSWER);
	assert_int_equal(t.an, 1);
	check_a(&t.rr[0], "BoArD1.DEMO.Cairn.", CN_DNS_TTL_PEER, 10, 99, 0, 2);
	t_free(&t);

	assert_int_equal(ask("WEB.Group.demo.CAIRN", CN_DNS_TYPE_A, &t), CN_DNS_ANSWER);
	assert_int_equal(t.an, 2);
	t_free(&t);

	assert_int_equal(ask("2.0.99.10.IN-ADDR.Arpa", CN_DNS_TYPE_PTR, &t), CN_DNS_ANSWER);
	assert_int_equal(t.an, 1);
	assert_string_equal(t.rr[0].target, "board1.demo.cairn.");
	t_free(&t);
}

static void test_nodata(void **state)
{
	struct t_msg t;

	(void)state;
	/* TXT (16) for a peer: NODATA with the SOA, owned by the domain. */
	assert_int_equal(ask("board1.demo.cairn", 16, &t), CN_DNS_ANSWER);
	check_negative(&t, CN_DNS_NOERROR, "demo.cairn.");
	/* The SOA owner and its names point into the question: no domain twice. */
	assert_int_equal(r16(rbuf + t.rr[0].owner_at), 0xc000 | (12 + 7));
	t_free(&t);

	assert_int_equal(ask("board1.demo.cairn", CN_DNS_TYPE_PTR, &t), CN_DNS_ANSWER);
	check_negative(&t, CN_DNS_NOERROR, "demo.cairn.");
	t_free(&t);

	/* The apex has no address. */
	assert_int_equal(ask("demo.cairn", CN_DNS_TYPE_A, &t), CN_DNS_ANSWER);
	check_negative(&t, CN_DNS_NOERROR, "demo.cairn.");
	t_free(&t);
	assert_int_equal(ask("demo.cairn", CN_DNS_TYPE_AAAA, &t), CN_DNS_ANSWER);
	check_negative(&t, CN_DNS_NOERROR, "demo.cairn.");
	t_free(&t);
}

static void test_nxdomain(void **state)
{
	static const char *const names[] = {
		"nope.demo.cairn",	  "x.board1.demo.cairn",     "_sip._udp.demo.cairn",
		"a.web.group.demo.cairn", "nosuch.group.demo.cairn", "board1.board1.demo.cairn",
		"*.demo.cairn",		  "bo_ard.demo.cairn",	     "web.group.group.demo.cairn",
	};
	struct t_msg t;

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_int_equal(ask(names[i], CN_DNS_TYPE_A, &t), CN_DNS_ANSWER);
		check_negative(&t, CN_DNS_NXDOMAIN, "demo.cairn.");
		t_free(&t);
	}
	/* A label with a NUL or a dot inside never reaches the lookups. */
	{
		uint8_t name[] = "\6bo\0rd1\4demo\5cairn";
		size_t n = hdr(qbuf, 9, 0, 1, 0, 0, 0);
		unsigned int calls = fk.calls;

		memcpy(qbuf + n, name, sizeof(name));
		n += sizeof(name);
		w16(qbuf + n, CN_DNS_TYPE_A);
		w16(qbuf + n + 2, CN_DNS_CLASS_IN);
		assert_int_equal(run(qbuf, n + 4, CN_DNS_UDP, sizeof(rbuf), &t), CN_DNS_ANSWER);
		check_negative(&t, CN_DNS_NXDOMAIN, "demo.cairn.");
		assert_int_equal(fk.calls, calls);
		t_free(&t);
	}
}

static void test_apex(void **state)
{
	struct t_msg t;

	(void)state;
	assert_int_equal(ask("demo.cairn", CN_DNS_TYPE_SOA, &t), CN_DNS_ANSWER);
	assert_int_equal(rcode(&t), CN_DNS_NOERROR);
	assert_true(t.flags & CN_DNS_F_AA);
	assert_int_equal(t.an, 1);
	assert_int_equal(t.ns, 0);
	check_soa(&t.rr[0], "demo.cairn.");
	assert_int_equal(t.rr[0].soa[1], 3600);
	assert_int_equal(t.rr[0].soa[2], 600);
	assert_int_equal(t.rr[0].soa[3], 86400);
	t_free(&t);

	assert_int_equal(ask("demo.cairn", CN_DNS_TYPE_NS, &t), CN_DNS_ANSWER);
	assert_int_equal(t.an, 1);
	assert_int_equal(t.rr[0].type, CN_DNS_TYPE_NS);
	assert_string_equal(t.rr[0].name, "demo.cairn.");
	assert_string_equal(t.rr[0].target, "board1.demo.cairn.");
	assert_int_equal(t.rr[0].ttl, CN_DNS_TTL_ZONE);
	/* NS target: one label and a pointer to the question's domain. */
	assert_int_equal(t.rr[0].rdlen, 7 + 2);
	t_free(&t);

	assert_int_equal(ask("Demo.Cairn", CN_DNS_TYPE_ANY, &t), CN_DNS_ANSWER);
	assert_int_equal(t.an, 2);
	assert_int_equal(t.rr[0].type, CN_DNS_TYPE_SOA);
	assert_int_equal(t.rr[1].type, CN_DNS_TYPE_NS);
	t_free(&t);

	/* The SOA serial is the zone's. */
	zone.serial = 0xfffffffe;
	assert_int_equal(ask("demo.cairn", CN_DNS_TYPE_SOA, &t), CN_DNS_ANSWER);
	assert_int_equal(t.rr[0].soa[0], 0xfffffffe);
	t_free(&t);
}

static void test_group(void **state)
{
	struct t_msg t;

	(void)state;
	/* web: board1 (live), board2 (dead), cloud1 (live). */
	assert_int_equal(ask("web.group.demo.cairn", CN_DNS_TYPE_A, &t), CN_DNS_ANSWER);
	assert_int_equal(rcode(&t), CN_DNS_NOERROR);
	assert_true(t.flags & CN_DNS_F_AA);
	assert_int_equal(t.an, 2);
	check_a(&t.rr[0], "web.group.demo.cairn.", CN_DNS_TTL_GROUP, 10, 99, 0, 2);
	check_a(&t.rr[1], "web.group.demo.cairn.", CN_DNS_TTL_GROUP, 10, 99, 0, 4);
	t_free(&t);

	assert_int_equal(ask("web.group.demo.cairn", CN_DNS_TYPE_AAAA, &t), CN_DNS_ANSWER);
	assert_int_equal(t.an, 2);
	check_aaaa(&t.rr[0], "web.group.demo.cairn.", CN_DNS_TTL_GROUP, base_peers[0].ip6);
	check_aaaa(&t.rr[1], "web.group.demo.cairn.", CN_DNS_TTL_GROUP, base_peers[2].ip6);
	t_free(&t);

	assert_int_equal(ask("web.group.demo.cairn", CN_DNS_TYPE_ANY, &t), CN_DNS_ANSWER);
	assert_int_equal(t.an, 4);
	assert_int_equal(t.rr[0].type, CN_DNS_TYPE_A);
	assert_int_equal(t.rr[1].type, CN_DNS_TYPE_A);
	assert_int_equal(t.rr[2].type, CN_DNS_TYPE_AAAA);
	assert_int_equal(t.rr[3].type, CN_DNS_TYPE_AAAA);
	t_free(&t);

	/* A member going down leaves the answer at once. */
	work[2].live = false;
	assert_int_equal(ask("web.group.demo.cairn", CN_DNS_TYPE_A, &t), CN_DNS_ANSWER);
	assert_int_equal(t.an, 1);
	check_a(&t.rr[0], "web.group.demo.cairn.", CN_DNS_TTL_GROUP, 10, 99, 0, 2);
	t_free(&t);

	/* Only dead members: NODATA, not NXDOMAIN (the group exists). */
	assert_int_equal(ask("dead.group.demo.cairn", CN_DNS_TYPE_A, &t), CN_DNS_ANSWER);
	check_negative(&t, CN_DNS_NOERROR, "demo.cairn.");
	t_free(&t);
	/* Other types for a group: NODATA. */
	assert_int_equal(ask("web.group.demo.cairn", 16, &t), CN_DNS_ANSWER);
	check_negative(&t, CN_DNS_NOERROR, "demo.cairn.");
	t_free(&t);
	/* No such group. */
	assert_int_equal(ask("nogroup.group.demo.cairn", CN_DNS_TYPE_A, &t), CN_DNS_ANSWER);
	check_negative(&t, CN_DNS_NXDOMAIN, "demo.cairn.");
	t_free(&t);

	/* Without a liveness predicate every member counts. */
	zone.is_live = NULL;
	assert_int_equal(ask("dead.group.demo.cairn", CN_DNS_TYPE_A, &t), CN_DNS_ANSWER);
	assert_int_equal(t.an, 1);
	check_a(&t.rr[0], "dead.group.demo.cairn.", CN_DNS_TTL_GROUP, 10, 99, 0, 3);
	t_free(&t);
}

/* A broken source that never moves its cursor must not hang the responder. */
static bool stuck_next(void *ctx, const char *group, size_t *cursor, struct cn_dns_host *out)
{
	(void)group;
	(void)cursor;
	fill(&((struct fake *)ctx)->peers[0], out);
	return true;
}

static void test_group_stuck_source(void **state)
{
	struct t_msg t;

	(void)state;
	zone.group_next = stuck_next;
	assert_int_equal(ask("web.group.demo.cairn", CN_DNS_TYPE_A, &t), CN_DNS_ANSWER);
	check_negative(&t, CN_DNS_NOERROR, "demo.cairn.");
	t_free(&t);
}

static void test_group_label(void **state)
{
	struct t_msg t;
	static struct fpeer with_group[5];

	(void)state;
	/* group.D without a peer of that name: an empty non-terminal. */
	assert_int_equal(ask("group.demo.cairn", CN_DNS_TYPE_A, &t), CN_DNS_ANSWER);
	check_negative(&t, CN_DNS_NOERROR, "demo.cairn.");
	t_free(&t);

	/* A peer named "group" owns group.D; groups still live below it. */
	memcpy(with_group, work, sizeof(work));
	with_group[4] = (struct fpeer){
		"group", {10, 99, 0, 9}, {0xfd, 0x99, 0xca, 0xfe, [15] = 9}, " web ", true};
	fk.peers = with_group;
	fk.n = 5;
	assert_int_equal(ask("group.demo.cairn", CN_DNS_TYPE_A, &t), CN_DNS_ANSWER);
	assert_int_equal(t.an, 1);
	check_a(&t.rr[0], "group.demo.cairn.", CN_DNS_TTL_PEER, 10, 99, 0, 9);
	t_free(&t);
	assert_int_equal(ask("9.0.99.10.in-addr.arpa", CN_DNS_TYPE_PTR, &t), CN_DNS_ANSWER);
	assert_string_equal(t.rr[0].target, "group.demo.cairn.");
	t_free(&t);
	assert_int_equal(ask("web.group.demo.cairn", CN_DNS_TYPE_A, &t), CN_DNS_ANSWER);
	assert_int_equal(t.an, 3);
	t_free(&t);
	/* A group called "group". */
	with_group[4].groups[0] = '\0';
	strcpy(with_group[1].groups, " group ");
	with_group[1].live = true;
	assert_int_equal(ask("group.group.demo.cairn", CN_DNS_TYPE_A, &t), CN_DNS_ANSWER);
	assert_int_equal(t.an, 1);
	check_a(&t.rr[0], "group.group.demo.cairn.", CN_DNS_TTL_GROUP, 10, 99, 0, 3);
	t_free(&t);
}

/* Reverse zones */

static void test_ptr_v4(void **state)
{
	static const char *const forwarded[] = {
		"1.1.168.192.in-addr.arpa", /* outside the prefix */
		"10.in-addr.arpa",	    /* above the zone */
		"in-addr.arpa",
		"2.0.98.10.in-addr.arpa",
		"x.98.10.in-addr.arpa", /* junk outside the zone */
		"99.010.in-addr.arpa",	/* not canonical: not our zone */
		"arpa",
	};
	struct t_msg t;

	(void)state;
	assert_int_equal(ask("2.0.99.10.in-addr.arpa", CN_DNS_TYPE_PTR, &t), CN_DNS_ANSWER);
	assert_int_equal(rcode(&t), CN_DNS_NOERROR);
	assert_true(t.flags & CN_DNS_F_AA);
	assert_int_equal(t.an, 1);
	assert_int_equal(t.rr[0].type, CN_DNS_TYPE_PTR);
	assert_string_equal(t.rr[0].name, "2.0.99.10.in-addr.arpa.");
	assert_string_equal(t.rr[0].target, "board1.demo.cairn.");
	assert_int_equal(t.rr[0].ttl, CN_DNS_TTL_PEER);
	t_free(&t);

	assert_int_equal(ask("9.1.99.10.in-addr.arpa", CN_DNS_TYPE_PTR, &t), CN_DNS_ANSWER);
	assert_string_equal(t.rr[0].target, "cloud2.demo.cairn.");
	t_free(&t);

	/* ANY at an address: the PTR. */
	assert_int_equal(ask("4.0.99.10.in-addr.arpa", CN_DNS_TYPE_ANY, &t), CN_DNS_ANSWER);
	assert_int_equal(t.an, 1);
	assert_string_equal(t.rr[0].target, "cloud1.demo.cairn.");
	t_free(&t);

	/* Unknown address in the prefix, junk under the zone: NXDOMAIN. */
	assert_int_equal(ask("77.0.99.10.in-addr.arpa", CN_DNS_TYPE_PTR, &t), CN_DNS_ANSWER);
	check_negative(&t, CN_DNS_NXDOMAIN, "99.10.in-addr.arpa.");
	t_free(&t);
	assert_int_equal(ask("02.0.99.10.in-addr.arpa", CN_DNS_TYPE_PTR, &t), CN_DNS_ANSWER);
	check_negative(&t, CN_DNS_NXDOMAIN, "99.10.in-addr.arpa.");
	t_free(&t);
	assert_int_equal(ask("2a.0.99.10.in-addr.arpa", CN_DNS_TYPE_PTR, &t), CN_DNS_ANSWER);
	check_negative(&t, CN_DNS_NXDOMAIN, "99.10.in-addr.arpa.");
	t_free(&t);
	/* 258 is not 2 (board1); long digit strings do not overflow (UBSan). */
	assert_int_equal(ask("258.0.99.10.in-addr.arpa", CN_DNS_TYPE_PTR, &t), CN_DNS_ANSWER);
	check_negative(&t, CN_DNS_NXDOMAIN, "99.10.in-addr.arpa.");
	t_free(&t);
	assert_int_equal(ask("99999999999999999999999.0.99.10.in-addr.arpa", CN_DNS_TYPE_PTR, &t),
			 CN_DNS_ANSWER);
	check_negative(&t, CN_DNS_NXDOMAIN, "99.10.in-addr.arpa.");
	t_free(&t);
	assert_int_equal(ask("256.0.99.10.in-addr.arpa", CN_DNS_TYPE_PTR, &t), CN_DNS_ANSWER);
	check_negative(&t, CN_DNS_NXDOMAIN, "99.10.in-addr.arpa.");
	t_free(&t);
	assert_int_equal(ask("x.2.0.99.10.in-addr.arpa", CN_DNS_TYPE_PTR, &t), CN_DNS_ANSWER);
	check_negative(&t, CN_DNS_NXDOMAIN, "99.10.in-addr.arpa.");
	t_free(&t);
	/* The network address has no peer. */
	assert_int_equal(ask("0.0.99.10.in-addr.arpa", CN_DNS_TYPE_PTR, &t), CN_DNS_ANSWER);
	check_negative(&t, CN_DNS_NXDOMAIN, "99.10.in-addr.arpa.");
	t_free(&t);

	/* Existing address, other type; and an empty non-terminal: NODATA. */
	assert_int_equal(ask("2.0.99.10.in-addr.arpa", CN_DNS_TYPE_A, &t), CN_DNS_ANSWER);
	check_negative(&t, CN_DNS_NOERROR, "99.10.in-addr.arpa.");
	t_free(&t);
	assert_int_equal(ask("0.99.10.in-addr.arpa", CN_DNS_TYPE_PTR, &t), CN_DNS_ANSWER);
	check_negative(&t, CN_DNS_NOERROR, "99.10.in-addr.arpa.");
	t_free(&t);

	/* The apex: SOA and NS. */
	assert_int_equal(ask("99.10.in-addr.arpa", CN_DNS_TYPE_SOA, &t), CN_DNS_ANSWER);
	assert_int_equal(t.an, 1);
	check_soa(&t.rr[0], "99.10.in-addr.arpa.");
	/* MNAME writes the domain once; RNAME points to it: 7 + 12 + 11 + 2 + 20. */
	assert_int_equal(t.rr[0].rdlen, 52);
	t_free(&t);
	assert_int_equal(ask("99.10.in-addr.arpa", CN_DNS_TYPE_NS, &t), CN_DNS_ANSWER);
	assert_int_equal(t.an, 1);
	assert_string_equal(t.rr[0].target, "board1.demo.cairn.");
	t_free(&t);

	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		assert_int_equal(ask(forwarded[i], CN_DNS_TYPE_PTR, &t), CN_DNS_FORWARD);

	/* No IPv4 reverse zone configured: forwarded. */
	zone.prefix4_len = 0;
	assert_int_equal(ask("2.0.99.10.in-addr.arpa", CN_DNS_TYPE_PTR, &t), CN_DNS_FORWARD);
}

static void test_ptr_v4_unaligned(void **state)
{
	struct t_msg t;

	(void)state;
	/* 10.99.0.0/20: sixteen /24 apexes, 0.99.10 to 15.99.10. */
	zone.prefix4_len = 20;
	assert_int_equal(ask("99.10.in-addr.arpa", CN_DNS_TYPE_SOA, &t), CN_DNS_FORWARD);
	assert_int_equal(ask("16.99.10.in-addr.arpa", CN_DNS_TYPE_SOA, &t), CN_DNS_FORWARD);
	assert_int_equal(ask("5.16.99.10.in-addr.arpa", CN_DNS_TYPE_PTR, &t), CN_DNS_FORWARD);
	assert_int_equal(ask("15.99.10.in-addr.arpa", CN_DNS_TYPE_SOA, &t), CN_DNS_ANSWER);
	check_soa(&t.rr[0], "15.99.10.in-addr.arpa.");
	t_free(&t);
	assert_int_equal(ask("9.1.99.10.in-addr.arpa", CN_DNS_TYPE_PTR, &t), CN_DNS_ANSWER);
	assert_string_equal(t.rr[0].target, "cloud2.demo.cairn.");
	t_free(&t);
	assert_int_equal(ask("8.1.99.10.in-addr.arpa", CN_DNS_TYPE_PTR, &t), CN_DNS_ANSWER);
	check_negative(&t, CN_DNS_NXDOMAIN, "1.99.10.in-addr.arpa.");
	t_free(&t);

	/* /30: every address is an apex of its own; an unused one has SOA, no PTR. */
	zone.prefix4_len = 30;
	assert_int_equal(ask("2.0.99.10.in-addr.arpa", CN_DNS_TYPE_ANY, &t), CN_DNS_ANSWER);
	assert_int_equal(t.an, 3);
	assert_int_equal(t.rr[0].type, CN_DNS_TYPE_SOA);
	assert_int_equal(t.rr[1].type, CN_DNS_TYPE_NS);
	assert_int_equal(t.rr[2].type, CN_DNS_TYPE_PTR);
	t_free(&t);
	assert_int_equal(ask("1.0.99.10.in-addr.arpa", CN_DNS_TYPE_PTR, &t), CN_DNS_ANSWER);
	check_negative(&t, CN_DNS_NOERROR, "1.0.99.10.in-addr.arpa.");
	t_free(&t);
	assert_int_equal(ask("4.0.99.10.in-addr.arpa", CN_DNS_TYPE_PTR, &t), CN_DNS_FORWARD);
}

/* fd99:cafe::2 and friends, nibble by nibble, low nibble first. */
static void rev6(char *out, const uint8_t ip[16], size_t nibbles, bool upper)
{
	static const char lo[] = "0123456789abcdef", up[] = "0123456789ABCDEF";

	out[0] = '\0';
	for (size_t i = nibbles; i-- > 0;) {
		unsigned int v = i % 2 ? ip[i / 2] & 0xf : ip[i / 2] >> 4;
		size_t n = strlen(out);

		out[n] = (upper ? up : lo)[v];
		out[n + 1] = '.';
		out[n + 2] = '\0';
	}
	strcat(out, "ip6.arpa");
}

static void test_ptr_v6(void **state)
{
	char name[128], apex[128];
	uint8_t ip[16];
	struct t_msg t;

	(void)state;
	rev6(name, base_peers[0].ip6, 32, false);
	assert_string_equal(name, "2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
				  "e.f.a.c.9.9.d.f.ip6.arpa");
	assert_int_equal(ask(name, CN_DNS_TYPE_PTR, &t), CN_DNS_ANSWER);
	assert_int_equal(rcode(&t), CN_DNS_NOERROR);
	assert_int_equal(t.an, 1);
	assert_string_equal(t.rr[0].target, "board1.demo.cairn.");
	t_free(&t);

	rev6(name, base_peers[3].ip6, 32, true);
	assert_int_equal(ask(name, CN_DNS_TYPE_PTR, &t), CN_DNS_ANSWER);
	assert_string_equal(t.rr[0].target, "cloud2.demo.cairn.");
	t_free(&t);

	rev6(apex, base_peers[0].ip6, 16, false);
	strcat(apex, ".");
	memcpy(ip, base_peers[0].ip6, 16);
	ip[15] = 0x55;
	rev6(name, ip, 32, false);
	assert_int_equal(ask(name, CN_DNS_TYPE_PTR, &t), CN_DNS_ANSWER);
	check_negative(&t, CN_DNS_NXDOMAIN, apex);
	t_free(&t);

	/* Junk nibble: NXDOMAIN; empty non-terminal: NODATA; apex: SOA. */
	strcpy(name, "g.");
	rev6(name + 2, base_peers[0].ip6, 31, false);
	assert_int_equal(ask(name, CN_DNS_TYPE_PTR, &t), CN_DNS_ANSWER);
	check_negative(&t, CN_DNS_NXDOMAIN, apex);
	t_free(&t);
	strcpy(name, "10.");
	rev6(name + 3, base_peers[0].ip6, 31, false);
	assert_int_equal(ask(name, CN_DNS_TYPE_PTR, &t), CN_DNS_ANSWER);
	check_negative(&t, CN_DNS_NXDOMAIN, apex);
	t_free(&t);
	rev6(name, base_peers[0].ip6, 20, false);
	assert_int_equal(ask(name, CN_DNS_TYPE_PTR, &t), CN_DNS_ANSWER);
	check_negative(&t, CN_DNS_NOERROR, apex);
	t_free(&t);
	rev6(name, base_peers[0].ip6, 16, false);
	assert_int_equal(ask(name, CN_DNS_TYPE_SOA, &t), CN_DNS_ANSWER);
	assert_int_equal(t.an, 1);
	check_soa(&t.rr[0], apex);
	t_free(&t);

	/* Above the apex, or another prefix: forwarded. */
	rev6(name, base_peers[0].ip6, 15, false);
	assert_int_equal(ask(name, CN_DNS_TYPE_SOA, &t), CN_DNS_FORWARD);
	ip[7] = 1;
	rev6(name, ip, 32, false);
	assert_int_equal(ask(name, CN_DNS_TYPE_PTR, &t), CN_DNS_FORWARD);
	assert_int_equal(ask("ip6.arpa", CN_DNS_TYPE_SOA, &t), CN_DNS_FORWARD);
	/* A 33rd nibble. */
	strcpy(name, "0.");
	rev6(name + 2, base_peers[0].ip6, 32, false);
	assert_int_equal(ask(name, CN_DNS_TYPE_PTR, &t), CN_DNS_ANSWER);
	check_negative(&t, CN_DNS_NXDOMAIN, apex);
	t_free(&t);
}

/* Forward, refuse */

static void test_forward(void **state)
{
	static const char *const names[] = {
		"example.com", "cairn", "demo.cairn.evil", "xdemo.cairn",
		"board1.demo", ".",	"localhost",	   "com",
	};
	struct t_msg t;

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_int_equal(ask(names[i], CN_DNS_TYPE_A, &t), CN_DNS_FORWARD);
		assert_int_equal(ask_t(names[i], CN_DNS_TYPE_AAAA, 4096, CN_DNS_TCP, &t),
				 CN_DNS_FORWARD);
	}
	/* Any class and type outside the zone is upstream's business. */
	{
		size_t n = query(qbuf, 3, "version.bind", 16, 3, -1);

		assert_int_equal(run(qbuf, n, CN_DNS_UDP, sizeof(rbuf), &t), CN_DNS_FORWARD);
		n = query(qbuf, 3, "example.com", CN_DNS_TYPE_AXFR, CN_DNS_CLASS_IN, -1);
		assert_int_equal(run(qbuf, n, CN_DNS_TCP, sizeof(rbuf), &t), CN_DNS_FORWARD);
	}
	/* A single-label domain. */
	zone.domain = "cairn";
	exp_domain = "cairn.";
	assert_int_equal(ask("board1.cairn", CN_DNS_TYPE_A, &t), CN_DNS_ANSWER);
	assert_int_equal(t.an, 1);
	t_free(&t);
	assert_int_equal(ask("board1.demo.cairn", CN_DNS_TYPE_A, &t), CN_DNS_ANSWER);
	check_negative(&t, CN_DNS_NXDOMAIN, "cairn.");
	assert_string_equal(t.rr[0].target, "board1.cairn.");
	t_free(&t);
	assert_int_equal(ask("demo.cairn", CN_DNS_TYPE_A, &t), CN_DNS_ANSWER);
	assert_string_equal(t.rr[0].target, "board1.cairn.");
	t_free(&t);
}

static void test_refused(void **state)
{
	struct t_msg t;
	size_t n;

	(void)state;
	n = query(qbuf, 0x1234, "board1.demo.cairn", CN_DNS_TYPE_A, 3 /* CH */, -1);
	assert_int_equal(run(qbuf, n, CN_DNS_UDP, sizeof(rbuf), &t), CN_DNS_ANSWER);
	assert_int_equal(rcode(&t), CN_DNS_REFUSED);
	assert_false(t.flags & CN_DNS_F_AA);
	assert_int_equal(t.qd, 1);
	assert_int_equal(t.an + t.ns + t.ar, 0);
	t_free(&t);

	n = query(qbuf, 0x1234, "demo.cairn", CN_DNS_TYPE_AXFR, CN_DNS_CLASS_IN, 1232);
	assert_int_equal(run(qbuf, n, CN_DNS_TCP, sizeof(rbuf), &t), CN_DNS_ANSWER);
	assert_int_equal(rcode(&t), CN_DNS_REFUSED);
	assert_true(t.opt);
	t_free(&t);
	n = query(qbuf, 0x1234, "demo.cairn", CN_DNS_TYPE_IXFR, CN_DNS_CLASS_IN, -1);
	assert_int_equal(run(qbuf, n, CN_DNS_TCP, sizeof(rbuf), &t), CN_DNS_ANSWER);
	assert_int_equal(rcode(&t), CN_DNS_REFUSED);
	t_free(&t);
}

/* EDNS and sizes */

static void test_edns(void **state)
{
	static const uint8_t cookie[] = {0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8};
	static const uint8_t bad_opts[] = {0, 10, 0, 9, 1, 2, 3, 4, 5, 6, 7, 8};
	struct t_msg t;
	size_t n;

	(void)state;
	assert_int_equal(ask_t("board1.demo.cairn", CN_DNS_TYPE_A, 4096, CN_DNS_UDP, &t),
			 CN_DNS_ANSWER);
	assert_true(t.opt);
	assert_int_equal(t.opt_size, 1232);
	assert_int_equal(t.opt_ttl, 0); /* ext RCODE 0, version 0, DO clear */
	assert_int_equal(t.an, 1);
	assert_int_equal(t.ar, 1);
	assert_int_equal(t.rr[1].type, CN_DNS_TYPE_OPT);
	t_free(&t);

	/* Options (a cookie) are accepted and not echoed; forward decisions too. */
	n = query(qbuf, 5, "board1.demo.cairn", CN_DNS_TYPE_A, CN_DNS_CLASS_IN, -1);
	w16(qbuf + 10, 1);
	n += opt_rr(qbuf + n, 1400, 0, cookie, sizeof(cookie));
	assert_int_equal(run(qbuf, n, CN_DNS_UDP, sizeof(rbuf), &t), CN_DNS_ANSWER);
	assert_true(t.opt);
	assert_int_equal(t.rr[t.an + t.ns].rdlen, 0);
	t_free(&t);

	/* Broken option TLVs: FORMERR. */
	n = query(qbuf, 5, "board1.demo.cairn", CN_DNS_TYPE_A, CN_DNS_CLASS_IN, -1);
	w16(qbuf + 10, 1);
	n += opt_rr(qbuf + n, 1400, 0, bad_opts, sizeof(bad_opts) - 1);
	assert_int_equal(run(qbuf, n, CN_DNS_UDP, sizeof(rbuf), &t), CN_DNS_ANSWER);
	assert_int_equal(rcode(&t), CN_DNS_FORMERR);
	t_free(&t);

	/* Version 1: BADVERS (16) = RCODE 0 + extended RCODE 1, even for other names. */
	n = query(qbuf, 6, "example.com", CN_DNS_TYPE_A, CN_DNS_CLASS_IN, -1);
	w16(qbuf + 10, 1);
	n += opt_rr(qbuf + n, 1400, 1, NULL, 0);
	assert_int_equal(run(qbuf, n, CN_DNS_UDP, sizeof(rbuf), &t), CN_DNS_ANSWER);
	assert_int_equal(rcode(&t), 0);
	assert_true(t.opt);
	assert_int_equal(t.opt_ttl >> 24, 1);
	assert_int_equal(t.an + t.ns, 0);
	t_free(&t);

	/* Two OPTs; an OPT in the answer section; an OPT not owned by the root. */
	n = query(qbuf, 7, "board1.demo.cairn", CN_DNS_TYPE_A, CN_DNS_CLASS_IN, 1232);
	w16(qbuf + 10, 2);
	n += opt_rr(qbuf + n, 1232, 0, NULL, 0);
	assert_int_equal(run(qbuf, n, CN_DNS_UDP, sizeof(rbuf), &t), CN_DNS_ANSWER);
	assert_int_equal(rcode(&t), CN_DNS_FORMERR);
	assert_int_equal(t.qd + t.an + t.ns + t.ar, 0);
	t_free(&t);
	n = query(qbuf, 7, "board1.demo.cairn", CN_DNS_TYPE_A, CN_DNS_CLASS_IN, 1232);
	w16(qbuf + 6, 1);
	w16(qbuf + 10, 0);
	assert_int_equal(run(qbuf, n, CN_DNS_UDP, sizeof(rbuf), &t), CN_DNS_ANSWER);
	assert_int_equal(rcode(&t), CN_DNS_FORMERR);
	t_free(&t);
	n = query(qbuf, 7, "board1.demo.cairn", CN_DNS_TYPE_A, CN_DNS_CLASS_IN, -1);
	w16(qbuf + 10, 1);
	qbuf[n++] = 1;
	qbuf[n++] = 'x';
	n += opt_rr(qbuf + n, 1232, 0, NULL, 0);
	assert_int_equal(run(qbuf, n, CN_DNS_UDP, sizeof(rbuf), &t), CN_DNS_ANSWER);
	assert_int_equal(rcode(&t), CN_DNS_FORMERR);
	t_free(&t);
}

static void test_truncation(void **state)
{
	struct t_msg t;
	size_t n;

	(void)state;
	add_many(200, true);

	/* 200 A records (16 bytes each) fit neither 512 nor 1232: TC, no records. */
	assert_int_equal(ask("many.group.demo.cairn", CN_DNS_TYPE_A, &t), CN_DNS_ANSWER);
	assert_true(t.flags & CN_DNS_F_TC);
	assert_true(t.flags & CN_DNS_F_AA);
	assert_int_equal(rcode(&t), CN_DNS_NOERROR);
	assert_int_equal(t.an + t.ns + t.ar, 0);
	assert_int_equal(t.qd, 1);
	t_free(&t);
	assert_int_equal(ask_t("many.group.demo.cairn", CN_DNS_TYPE_A, 4096, CN_DNS_UDP, &t),
			 CN_DNS_ANSWER);
	assert_true(t.flags & CN_DNS_F_TC);
	assert_int_equal(t.an + t.ns, 0);
	assert_true(t.opt);
	t_free(&t);

	/* By TCP: all of them. */
	assert_int_equal(ask_t("many.group.demo.cairn", CN_DNS_TYPE_ANY, -1, CN_DNS_TCP, &t),
			 CN_DNS_ANSWER);
	assert_false(t.flags & CN_DNS_F_TC);
	assert_int_equal(t.an, 400);
	for (size_t i = 0; i < 200; i++) {
		check_a(&t.rr[i], "many.group.demo.cairn.", CN_DNS_TTL_GROUP, 10, 99,
			(uint8_t)(2 + i / 250), (uint8_t)(1 + i % 250));
		assert_int_equal(t.rr[200 + i].type, CN_DNS_TYPE_AAAA);
		/* Every owner is the 2-byte pointer to the question. */
		assert_int_equal(r16(rbuf + t.rr[i].owner_at), 0xc00c);
	}
	t_free(&t);

	/* The limit follows the client's EDNS size: 600 fits 30 records, not 200... */
	assert_int_equal(ask_t("many.group.demo.cairn", CN_DNS_TYPE_A, 600, CN_DNS_UDP, &t),
			 CN_DNS_ANSWER);
	assert_true(t.flags & CN_DNS_F_TC);
	t_free(&t);
	/* ...and a smaller cap lowers it: web ANY is 2 A + 2 AAAA after 12 + 22 + 4. */
	n = query(qbuf, 8, "web.group.demo.cairn", CN_DNS_TYPE_ANY, CN_DNS_CLASS_IN, -1);
	assert_int_equal(run(qbuf, n, CN_DNS_UDP, 38 + 2 * 16 + 2 * 28, &t), CN_DNS_ANSWER);
	assert_int_equal(t.an, 4);
	assert_false(t.flags & CN_DNS_F_TC);
	assert_int_equal(rlen, 38 + 2 * 16 + 2 * 28);
	t_free(&t);
	assert_int_equal(run(qbuf, n, CN_DNS_UDP, 38 + 2 * 16 + 2 * 28 - 1, &t), CN_DNS_ANSWER);
	assert_true(t.flags & CN_DNS_F_TC);
	assert_int_equal(t.an, 0);
	assert_int_equal(rlen, 38);
	t_free(&t);
	/* The same cap over TCP keeps the records that fit. */
	assert_int_equal(run(qbuf, n, CN_DNS_TCP, 38 + 2 * 16 + 2 * 28 - 1, &t), CN_DNS_ANSWER);
	assert_false(t.flags & CN_DNS_F_TC);
	assert_int_equal(t.an, 3);
	t_free(&t);
	/* A cap below a header: dropped. */
	assert_int_equal(run(qbuf, n, CN_DNS_UDP, 11, &t), CN_DNS_DROP);
}

static void test_truncation_exact(void **state)
{
	struct t_msg t;
	size_t q;

	(void)state;
	/* The largest group that fits 512 exactly, then one more. */
	q = 12 + 23 + 4; /* "many.group.demo.cairn" is 23 bytes */
	add_many((512 - q) / 16, true);
	assert_int_equal(ask("many.group.demo.cairn", CN_DNS_TYPE_A, &t), CN_DNS_ANSWER);
	assert_false(t.flags & CN_DNS_F_TC);
	assert_int_equal(t.an, (512 - q) / 16);
	assert_true(rlen <= 512 && rlen > 512 - 16);
	t_free(&t);
	teardown(NULL);
	add_many((512 - q) / 16 + 1, true);
	assert_int_equal(ask("many.group.demo.cairn", CN_DNS_TYPE_A, &t), CN_DNS_ANSWER);
	assert_true(t.flags & CN_DNS_F_TC);
	assert_int_equal(t.an, 0);
	t_free(&t);
}

static void test_tcp_huge_group(void **state)
{
	struct t_msg t;

	(void)state;
	/* 5000 live members: 80 KB of A records. TCP keeps what fits 65535. */
	add_many(5000, true);
	assert_int_equal(ask_t("many.group.demo.cairn", CN_DNS_TYPE_A, -1, CN_DNS_TCP, &t),
			 CN_DNS_ANSWER);
	assert_false(t.flags & CN_DNS_F_TC);
	assert_int_equal(t.an, (65535 - (12 + 23 + 4)) / 16);
	assert_true(rlen <= 65535);
	t_free(&t);
}

/* Hostile input */

static void expect_formerr(const uint8_t *q, size_t n, enum cn_dns_transport tr)
{
	struct t_msg t;

	assert_int_equal(run(q, n, tr, sizeof(rbuf), &t), CN_DNS_ANSWER);
	assert_int_equal(rcode(&t), CN_DNS_FORMERR);
	assert_int_equal(rlen, 12); /* header only */
	assert_int_equal(t.qd + t.an + t.ns + t.ar, 0);
	assert_false(t.flags & CN_DNS_F_AA);
	t_free(&t);
}

/* Header + raw question bytes + type A class IN. */
static size_t raw_q(uint8_t *b, const uint8_t *name, size_t name_len)
{
	size_t n = hdr(b, 0x4242, CN_DNS_F_RD, 1, 0, 0, 0);

	memcpy(b + n, name, name_len);
	n += name_len;
	w16(b + n, CN_DNS_TYPE_A);
	w16(b + n + 2, CN_DNS_CLASS_IN);
	return n + 4;
}

static void test_hostile_names(void **state)
{
	static const uint8_t self_loop[] = {0xc0, 0x0c};
	static const uint8_t loop2[] = {1, 'a', 0xc0, 0x0c};
	static const uint8_t forward[] = {1, 'a', 0xc0, 0x20, 0};
	static const uint8_t past_end[] = {0xff, 0xff};
	static const uint8_t into_header[] = {0xc0, 0x04};
	static const uint8_t half_ptr[] = {1, 'a', 0xc0};
	static const uint8_t ext_label[] = {0x41, 'a', 0};
	static const uint8_t ext_label2[] = {0x80, 0};
	static const uint8_t cut[] = {5, 'a', 'b'};
	static const uint8_t no_root[] = {1, 'a'};
	/* A valid backward pointer into a label's bytes: \x04demo\x05cairn\0. */
	static const uint8_t embedded[] = {12,	4,   'd', 'e', 'm', 'o',  5, 'c',
					   'a', 'i', 'r', 'n', 0,   0xc0, 13};
	uint8_t name[400];
	struct t_msg t;
	size_t n, p;

	(void)state;
	expect_formerr(qbuf, raw_q(qbuf, self_loop, sizeof(self_loop)), CN_DNS_UDP);
	expect_formerr(qbuf, raw_q(qbuf, loop2, sizeof(loop2)), CN_DNS_UDP);
	expect_formerr(qbuf, raw_q(qbuf, forward, sizeof(forward)), CN_DNS_UDP);
	expect_formerr(qbuf, raw_q(qbuf, past_end, sizeof(past_end)), CN_DNS_UDP);
	expect_formerr(qbuf, raw_q(qbuf, into_header, sizeof(into_header)), CN_DNS_UDP);
	expect_formerr(qbuf, raw_q(qbuf, ext_label, sizeof(ext_label)), CN_DNS_UDP);
	expect_formerr(qbuf, raw_q(qbuf, ext_label2, sizeof(ext_label2)), CN_DNS_UDP);
	/* Cut inside the name. */
	n = hdr(qbuf, 1, 0, 1, 0, 0, 0);
	memcpy(qbuf + n, half_ptr, sizeof(half_ptr));
	expect_formerr(qbuf, n + sizeof(half_ptr), CN_DNS_UDP);
	memcpy(qbuf + n, cut, sizeof(cut));
	expect_formerr(qbuf, n + sizeof(cut), CN_DNS_UDP);
	memcpy(qbuf + n, no_root, sizeof(no_root));
	expect_formerr(qbuf, n + sizeof(no_root), CN_DNS_UDP);

	/* The pointer is followed: the name is <junk label>.demo.cairn. */
	n = raw_q(qbuf, embedded, sizeof(embedded));
	assert_int_equal(run(qbuf, n, CN_DNS_UDP, sizeof(rbuf), &t), CN_DNS_ANSWER);
	check_negative(&t, CN_DNS_NXDOMAIN, "demo.cairn.");
	assert_int_equal(t.qname_wire_len, 13 + 12); /* echoed uncompressed */
	t_free(&t);

	/* A label of 64; a name of 256 bytes; one of exactly 255 is fine. */
	p = 0;
	name[p++] = 64;
	memset(name + p, 'a', 64);
	p += 64;
	name[p++] = 0;
	expect_formerr(qbuf, raw_q(qbuf, name, p), CN_DNS_UDP);
	for (size_t len = 255; len <= 256; len++) {
		/* 63 + 63 + 63 + x labels (+ length bytes) + root = len */
		size_t last = len - 1 - 3 * 64 - 1;

		p = 0;
		for (int i = 0; i < 3; i++) {
			name[p++] = 63;
			memset(name + p, 'b', 63);
			p += 63;
		}
		name[p++] = (uint8_t)last;
		memset(name + p, 'c', last);
		p += last;
		name[p++] = 0;
		assert_int_equal(p, len);
		n = raw_q(qbuf, name, p);
		if (len == 255)
			assert_int_equal(run(qbuf, n, CN_DNS_UDP, sizeof(rbuf), &t),
					 CN_DNS_FORWARD);
		else
			expect_formerr(qbuf, n, CN_DNS_UDP);
	}
	/* 255 reached through pointers: a record whose owner points to the question adds. */
	n = hdr(qbuf, 1, 0, 1, 1, 0, 0);
	p = n;
	for (int i = 0; i < 3; i++) {
		qbuf[p++] = 63;
		memset(qbuf + p, 'd', 63);
		p += 63;
	}
	qbuf[p++] = 0; /* question: 193 bytes */
	w16(qbuf + p, 1);
	w16(qbuf + p + 2, 1);
	p += 4;
	qbuf[p++] = 63; /* answer owner: 64 + pointer to 193 = 257 */
	memset(qbuf + p, 'e', 63);
	p += 63;
	qbuf[p++] = 0xc0;
	qbuf[p++] = 12;
	memset(qbuf + p, 0, 10);
	w16(qbuf + p, 1);
	p += 10;
	expect_formerr(qbuf, p, CN_DNS_UDP);
}

static void test_hostile_messages(void **state)
{
	struct t_msg t;
	size_t n;

	(void)state;
	/* Shorter than a header: dropped, nothing to answer to. */
	n = query(qbuf, 0x1111, "board1.demo.cairn", CN_DNS_TYPE_A, CN_DNS_CLASS_IN, -1);
	for (size_t i = 0; i < 12; i++)
		assert_int_equal(run(qbuf, i, CN_DNS_UDP, sizeof(rbuf), &t), CN_DNS_DROP);
	/* Header but truncated question: FORMERR at every cut. */
	for (size_t i = 12; i < n; i++)
		expect_formerr(qbuf, i, CN_DNS_UDP);
	/* Trailing garbage. */
	qbuf[n] = 0;
	expect_formerr(qbuf, n + 1, CN_DNS_UDP);

	/* QDCOUNT 0 and 2. */
	w16(qbuf + 4, 0);
	expect_formerr(qbuf, n, CN_DNS_UDP);
	w16(qbuf + 4, 2);
	expect_formerr(qbuf, n, CN_DNS_UDP);
	n = hdr(qbuf, 0x2222, 0, 0, 0, 0, 0);
	expect_formerr(qbuf, n, CN_DNS_UDP);
	n = query(qbuf, 0x2222, "board1.demo.cairn", CN_DNS_TYPE_A, CN_DNS_CLASS_IN, -1);
	memcpy(qbuf + n, qbuf + 12, n - 12);
	w16(qbuf + 4, 2);
	expect_formerr(qbuf, 2 * n - 12, CN_DNS_UDP);

	/* A response: dropped (no reflection loops). */
	n = query(qbuf, 0x3333, "board1.demo.cairn", CN_DNS_TYPE_A, CN_DNS_CLASS_IN, -1);
	w16(qbuf + 2, CN_DNS_F_QR | CN_DNS_F_RD);
	assert_int_equal(run(qbuf, n, CN_DNS_UDP, sizeof(rbuf), &t), CN_DNS_DROP);
	w16(qbuf + 2, CN_DNS_F_QR | 5 << 11);
	assert_int_equal(run(qbuf, n, CN_DNS_TCP, sizeof(rbuf), &t), CN_DNS_DROP);

	/*
	 * Other opcodes: NOTIMP, opcode and RD copied; the question and OPT
	 * echoed when the message decodes (odd opcodes here, half with EDNS),
	 * header only when it does not (even ones: QDCOUNT 7).
	 */
	for (unsigned int op = 1; op < 16; op++) {
		int edns = op % 4 == 1 ? 1232 : -1;

		n = query(qbuf, 0x4000 + op, "board1.demo.cairn", CN_DNS_TYPE_A, CN_DNS_CLASS_IN,
			  edns);
		w16(qbuf + 2, op << 11 | CN_DNS_F_RD);
		w16(qbuf + 4, op & 1 ? 1 : 7);
		assert_int_equal(run(qbuf, n, CN_DNS_UDP, sizeof(rbuf), &t), CN_DNS_ANSWER);
		assert_int_equal(rcode(&t), CN_DNS_NOTIMP);
		assert_int_equal((t.flags >> 11) & 0xf, op);
		assert_false(t.flags & CN_DNS_F_AA);
		assert_int_equal(t.an + t.ns, 0);
		if (op & 1) {
			assert_int_equal(t.qd, 1);
			assert_string_equal(t.qname, "board1.demo.cairn.");
			assert_int_equal(t.opt, edns > 0);
			assert_int_equal(rlen, n); /* same shape as the query */
		} else {
			assert_int_equal(rlen, 12);
		}
		t_free(&t);
	}

	/* Over 512 bytes by UDP without EDNS: FORMERR; by TCP: answered. */
	n = query(qbuf, 0x5555, "board1.demo.cairn", CN_DNS_TYPE_A, CN_DNS_CLASS_IN, -1);
	w16(qbuf + 10, 1);
	qbuf[n++] = 0; /* root owner, type TXT, 500 bytes */
	w16(qbuf + n, 16);
	w16(qbuf + n + 2, 1);
	memset(qbuf + n + 4, 0, 4);
	w16(qbuf + n + 8, 500);
	n += 10;
	memset(qbuf + n, 'z', 500);
	n += 500;
	assert_true(n > 512);
	expect_formerr(qbuf, n, CN_DNS_UDP);
	assert_int_equal(run(qbuf, n, CN_DNS_TCP, sizeof(rbuf), &t), CN_DNS_ANSWER);
	assert_int_equal(rcode(&t), CN_DNS_NOERROR);
	assert_int_equal(t.an, 1);
	t_free(&t);
	/* Record data running past the end. */
	w16(qbuf + n - 502, 501);
	expect_formerr(qbuf, n, CN_DNS_TCP);

	/* Records in the answer and authority sections are checked and skipped. */
	n = query(qbuf, 0x6666, "board1.demo.cairn", CN_DNS_TYPE_A, CN_DNS_CLASS_IN, -1);
	w16(qbuf + 6, 1);
	w16(qbuf + 8, 1);
	for (int i = 0; i < 2; i++) {
		qbuf[n++] = 0xc0; /* owner: the question name */
		qbuf[n++] = 12;
		w16(qbuf + n, 1);
		w16(qbuf + n + 2, 1);
		memset(qbuf + n + 4, 0, 4);
		w16(qbuf + n + 8, 4);
		n += 14;
	}
	assert_int_equal(run(qbuf, n, CN_DNS_UDP, sizeof(rbuf), &t), CN_DNS_ANSWER);
	assert_int_equal(rcode(&t), CN_DNS_NOERROR);
	t_free(&t);
	/* ARCOUNT announcing more than there is. */
	w16(qbuf + 10, 1);
	expect_formerr(qbuf, n, CN_DNS_UDP);
	/* Huge counts on a short message end at the input's end. */
	n = query(qbuf, 0x6666, "board1.demo.cairn", CN_DNS_TYPE_A, CN_DNS_CLASS_IN, -1);
	w16(qbuf + 6, 0xffff);
	w16(qbuf + 8, 0xffff);
	w16(qbuf + 10, 0xffff);
	expect_formerr(qbuf, n, CN_DNS_TCP);

	/* Over 65535 bytes: dropped. */
	assert_int_equal(run(qbuf, 65536, CN_DNS_TCP, sizeof(rbuf), &t), CN_DNS_DROP);
}

static void test_flags_copied(void **state)
{
	struct t_msg t;
	size_t n;

	(void)state;
	/* RD clear, CD set, AD/Z set in the query: RD 0, CD 1, AD/Z 0 in the reply. */
	n = query(qbuf, 0xfffe, "board1.demo.cairn", CN_DNS_TYPE_A, CN_DNS_CLASS_IN, -1);
	w16(qbuf + 2, CN_DNS_F_CD | 0x0020 | 0x0040 | CN_DNS_F_TC | CN_DNS_F_AA | 0x5);
	assert_int_equal(run(qbuf, n, CN_DNS_UDP, sizeof(rbuf), &t), CN_DNS_ANSWER);
	assert_int_equal(t.id, 0xfffe);
	assert_int_equal(t.flags, CN_DNS_F_QR | CN_DNS_F_AA | CN_DNS_F_RA | CN_DNS_F_CD);
	assert_int_equal(t.an, 1);
	t_free(&t);
	/* ID 0 survives too. */
	n = query(qbuf, 0, "nope.demo.cairn", CN_DNS_TYPE_A, CN_DNS_CLASS_IN, -1);
	assert_int_equal(run(qbuf, n, CN_DNS_UDP, sizeof(rbuf), &t), CN_DNS_ANSWER);
	assert_int_equal(t.id, 0);
	t_free(&t);
}

/* Zone, decoder and helper API */

static void test_zone_check(void **state)
{
	static const char *const bad_domains[] = {
		"", "demo..cairn", "Demo.cairn", "demo.cairn.", ".demo", "de mo.cairn", "a_b.c",
	};
	struct cn_dns_zone z;
	char long_label[80], long_domain[300];
	struct t_msg t;
	size_t n;

	(void)state;
	zone_init(&z, &fk);
	assert_int_equal(cn_dns_zone_check(&z), 0);
	for (size_t i = 0; i < sizeof(bad_domains) / sizeof(bad_domains[0]); i++) {
		z.domain = bad_domains[i];
		assert_int_equal(cn_dns_zone_check(&z), -CN_EINVAL);
	}
	memset(long_label, 'a', 64);
	long_label[64] = '\0';
	z.domain = long_label;
	assert_int_equal(cn_dns_zone_check(&z), -CN_EINVAL);
	long_label[63] = '\0';
	assert_int_equal(cn_dns_zone_check(&z), 0);
	/* 253 characters is the longest domain (255 in wire form). */
	memset(long_domain, 'x', 253);
	long_domain[63] = long_domain[127] = long_domain[191] = '.';
	long_domain[253] = '\0';
	assert_int_equal(strlen(long_domain), 253);
	z.domain = long_domain;
	assert_int_equal(cn_dns_zone_check(&z), 0);
	strcat(long_domain, "a");
	assert_int_equal(cn_dns_zone_check(&z), -CN_EINVAL);
	z.domain = NULL;
	assert_int_equal(cn_dns_zone_check(&z), -CN_EINVAL);
	assert_int_equal(cn_dns_zone_check(NULL), -CN_EINVAL);

	zone_init(&z, &fk);
	z.self = NULL;
	assert_int_equal(cn_dns_zone_check(&z), -CN_EINVAL);
	z.self = "Board1";
	assert_int_equal(cn_dns_zone_check(&z), -CN_EINVAL);
	z.self = "board1.x";
	assert_int_equal(cn_dns_zone_check(&z), -CN_EINVAL);
	z.self = long_label;
	assert_int_equal(cn_dns_zone_check(&z), 0);
	zone_init(&z, &fk);
	z.prefix4_len = 33;
	assert_int_equal(cn_dns_zone_check(&z), -CN_EINVAL);
	z.prefix4_len = 32;
	z.prefix6_len = 129;
	assert_int_equal(cn_dns_zone_check(&z), -CN_EINVAL);

	/* A bad zone drops every query. */
	zone.domain = "demo..cairn";
	n = query(qbuf, 1, "board1.demo.cairn", CN_DNS_TYPE_A, CN_DNS_CLASS_IN, -1);
	assert_int_equal(run(qbuf, n, CN_DNS_UDP, sizeof(rbuf), &t), CN_DNS_DROP);

	/* A zone with no callbacks: names exist only at the apexes. */
	zone_init(&zone, &fk);
	zone.by_name = NULL;
	zone.by_ip4 = NULL;
	zone.by_ip6 = NULL;
	zone.group_next = NULL;
	zone.is_live = NULL;
	assert_int_equal(ask("board1.demo.cairn", CN_DNS_TYPE_A, &t), CN_DNS_ANSWER);
	check_negative(&t, CN_DNS_NXDOMAIN, "demo.cairn.");
	t_free(&t);
	assert_int_equal(ask("web.group.demo.cairn", CN_DNS_TYPE_A, &t), CN_DNS_ANSWER);
	check_negative(&t, CN_DNS_NXDOMAIN, "demo.cairn.");
	t_free(&t);
	assert_int_equal(ask("2.0.99.10.in-addr.arpa", CN_DNS_TYPE_PTR, &t), CN_DNS_ANSWER);
	check_negative(&t, CN_DNS_NXDOMAIN, "99.10.in-addr.arpa.");
	t_free(&t);
}

static void test_query_decode(void **state)
{
	struct cn_dns_query q;
	size_t n;

	(void)state;
	n = query(qbuf, 0xabcd, "Board1.Demo.Cairn", CN_DNS_TYPE_AAAA, CN_DNS_CLASS_IN, 4096);
	assert_int_equal(cn_dns_query_decode(qbuf, n, &q), 0);
	assert_int_equal(q.id, 0xabcd);
	assert_int_equal(q.flags, CN_DNS_F_RD);
	assert_int_equal(q.qname_len, 19);
	assert_memory_equal(q.qname, "\6Board1\4Demo\5Cairn", 19);
	assert_int_equal(q.qtype, CN_DNS_TYPE_AAAA);
	assert_int_equal(q.qclass, CN_DNS_CLASS_IN);
	assert_true(q.edns);
	assert_int_equal(q.edns_size, 4096);
	assert_int_equal(q.edns_version, 0);
	assert_int_equal(cn_dns_reply_limit(&q, CN_DNS_UDP), 1232);
	assert_int_equal(cn_dns_reply_limit(&q, CN_DNS_TCP), 65535);
	q.edns_size = 700;
	assert_int_equal(cn_dns_reply_limit(&q, CN_DNS_UDP), 700);
	q.edns_size = 0;
	assert_int_equal(cn_dns_reply_limit(&q, CN_DNS_UDP), 512);
	q.edns = false;
	q.edns_size = 4096;
	assert_int_equal(cn_dns_reply_limit(&q, CN_DNS_UDP), 512);

	/* Errors leave only ID and flags. */
	assert_int_equal(cn_dns_query_decode(qbuf, n - 1, &q), -CN_EFORMAT);
	assert_int_equal(q.id, 0xabcd);
	assert_int_equal(q.flags, CN_DNS_F_RD);
	assert_int_equal(q.qname_len, 0);
	assert_false(q.edns);
	assert_int_equal(cn_dns_query_decode(qbuf, 11, &q), -CN_ESHORT);
	assert_int_equal(q.id, 0);
	assert_int_equal(cn_dns_query_decode(qbuf, 65536, &q), -CN_ETOOBIG);
}

static void test_encode_empty(void **state)
{
	struct cn_dns_query q;
	struct t_msg t;
	size_t n, len;

	(void)state;
	n = query(qbuf, 0x7777, "example.com", CN_DNS_TYPE_A, CN_DNS_CLASS_IN, 1400);
	assert_int_equal(cn_dns_query_decode(qbuf, n, &q), 0);
	assert_int_equal(cn_dns_encode_empty(&q, CN_DNS_SERVFAIL, false, rbuf, sizeof(rbuf), &len),
			 0);
	t_decode(rbuf, len, &t);
	assert_int_equal(t.id, 0x7777);
	assert_int_equal(t.flags, CN_DNS_F_QR | CN_DNS_F_RD | CN_DNS_F_RA | CN_DNS_SERVFAIL);
	assert_string_equal(t.qname, "example.com.");
	assert_int_equal(t.an + t.ns, 0);
	assert_true(t.opt);
	assert_int_equal(len, n); /* same shape as the query */
	t_free(&t);

	assert_int_equal(cn_dns_encode_empty(&q, 0, true, rbuf, sizeof(rbuf), &len), 0);
	t_decode(rbuf, len, &t);
	assert_int_equal(t.flags, CN_DNS_F_QR | CN_DNS_F_RD | CN_DNS_F_RA | CN_DNS_F_TC);
	t_free(&t);

	len = 99;
	assert_int_equal(cn_dns_encode_empty(&q, 16, false, rbuf, sizeof(rbuf), &len), -CN_EINVAL);
	assert_int_equal(len, 0);
	assert_int_equal(cn_dns_encode_empty(&q, 2, false, rbuf, n - 1, &len), -CN_ETOOBIG);
	assert_int_equal(len, 0);
	assert_int_equal(cn_dns_encode_empty(&q, 2, false, rbuf, n, &len), 0);
	assert_int_equal(len, n);
	q.qname_len = 0;
	assert_int_equal(cn_dns_encode_empty(&q, 2, false, rbuf, n, &len), -CN_EINVAL);
}

static void test_id_and_tcp(void **state)
{
	uint8_t stream[200], pfx[2];
	const uint8_t *msg;
	size_t n, msg_len, used;
	uint16_t id;

	(void)state;
	n = query(qbuf, 0x0102, "board1.demo.cairn", CN_DNS_TYPE_A, CN_DNS_CLASS_IN, -1);
	assert_int_equal(cn_dns_id_get(qbuf, n, &id), 0);
	assert_int_equal(id, 0x0102);
	assert_int_equal(cn_dns_id_set(qbuf, n, 0xa0b0), 0);
	assert_int_equal(qbuf[0], 0xa0);
	assert_int_equal(qbuf[1], 0xb0);
	assert_int_equal(cn_dns_id_get(qbuf, n, &id), 0);
	assert_int_equal(id, 0xa0b0);
	assert_int_equal(cn_dns_id_get(qbuf, 11, &id), -CN_ESHORT);
	assert_int_equal(id, 0);
	assert_int_equal(cn_dns_id_set(qbuf, 11, 1), -CN_ESHORT);
	assert_int_equal(qbuf[0], 0xa0);

	/* Two framed messages in one stream buffer, read piece by piece. */
	assert_int_equal(cn_dns_tcp_frame_encode(n, pfx), 0);
	assert_int_equal(r16(pfx), n);
	memcpy(stream, pfx, 2);
	memcpy(stream + 2, qbuf, n);
	memcpy(stream + 2 + n, pfx, 2);
	memcpy(stream + 4 + n, qbuf, n);
	for (size_t have = 0; have < 2 + n; have++) {
		assert_int_equal(cn_dns_tcp_frame_decode(stream, have, &msg, &msg_len, &used),
				 -CN_ESHORT);
		assert_null(msg);
		assert_int_equal(used, 0);
	}
	assert_int_equal(cn_dns_tcp_frame_decode(stream, 2 * n + 4, &msg, &msg_len, &used), 0);
	assert_ptr_equal(msg, stream + 2);
	assert_int_equal(msg_len, n);
	assert_int_equal(used, n + 2);
	assert_int_equal(cn_dns_tcp_frame_decode(stream + used, n + 2, &msg, &msg_len, &used), 0);
	assert_memory_equal(msg, qbuf, n);

	/* A length below a header closes the connection. */
	w16(stream, 11);
	assert_int_equal(cn_dns_tcp_frame_decode(stream, 100, &msg, &msg_len, &used), -CN_EFORMAT);
	w16(stream, 0);
	assert_int_equal(cn_dns_tcp_frame_decode(stream, 100, &msg, &msg_len, &used), -CN_EFORMAT);
	assert_int_equal(cn_dns_tcp_frame_encode(65535, pfx), 0);
	assert_int_equal(r16(pfx), 65535);
	assert_int_equal(cn_dns_tcp_frame_encode(65536, pfx), -CN_ETOOBIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_a_aaaa_any, setup, teardown),
		cmocka_unit_test_setup_teardown(test_case_insensitive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nodata, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nxdomain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apex, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_label, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_stuck_source, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ptr_v4, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ptr_v4_unaligned, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ptr_v6, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forward, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_edns, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncation_exact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_huge_group, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_messages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flags_copied, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zone_check, setup, teardown),
		cmocka_unit_test_setup_teardown(test_query_decode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_encode_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_id_and_tcp, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
