/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the DNS responder (node/dns.h): arbitrary bytes as a
 * query, over UDP and TCP, with a full buffer and with a cap taken from the
 * input, against a fixed fake zone (peers, a live/dead group, a group too
 * big for UDP, both reverse zones). Every reply is re-read by a checker
 * written here: well formed to the last byte, pointers backwards, names
 * <= 255, within the limit (cap, 512 or the EDNS size by UDP), ID, opcode
 * and question kept, QR set; the decision agrees with the decoder; a reply
 * fed back in is dropped (QR). The ID and TCP framing helpers run on the
 * same bytes. Any disagreement aborts.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "node/dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
	if (!cond)
		abort();
}

/* The fake zone */

enum { NBASE = 4, NMANY = 100, NPEERS = NBASE + NMANY };

struct fpeer {
	char name[16];
	uint8_t ip4[4];
	uint8_t ip6[16];
	unsigned int groups; /* bit 0 web, 1 cloud, 2 many */
	bool live;
};

static struct fpeer peers[NPEERS];
static const char *const group_names[] = {"web", "cloud", "many"};

static void peers_init(void)
{
	static const char *const names[NBASE] = {"board1", "board2", "cloud1", "group"};

	if (peers[0].name[0])
		return;
	for (size_t i = 0; i < NPEERS; i++) {
		struct fpeer *p = &peers[i];

		if (i < NBASE)
			snprintf(p->name, sizeof(p->name), "%s", names[i]);
		else
			snprintf(p->name, sizeof(p->name), "m%zu", i);
		p->ip4[0] = 10;
		p->ip4[1] = 99;
		p->ip4[2] = (uint8_t)(i / 200);
		p->ip4[3] = (uint8_t)(2 + i % 200);
		p->ip6[0] = 0xfd;
		p->ip6[1] = 0x99;
		p->ip6[2] = 0xca;
		p->ip6[3] = 0xfe;
		p->ip6[15] = (uint8_t)(2 + i);
		p->groups = i < NBASE ? (i == 2 ? 3u : 1u) : 4u;
		p->live = i != 1;
	}
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
	(void)ctx;
	for (size_t i = 0; i < NPEERS; i++)
		if (strcmp(peers[i].name, name) == 0) {
			fill(&peers[i], out);
			return true;
		}
	return false;
}

static bool f_by_ip4(void *ctx, const uint8_t ip4[4], struct cn_dns_host *out)
{
	(void)ctx;
	for (size_t i = 0; i < NPEERS; i++)
		if (memcmp(peers[i].ip4, ip4, 4) == 0) {
			fill(&peers[i], out);
			return true;
		}
	return false;
}

static bool f_by_ip6(void *ctx, const uint8_t ip6[16], struct cn_dns_host *out)
{
	(void)ctx;
	for (size_t i = 0; i < NPEERS; i++)
		if (memcmp(peers[i].ip6, ip6, 16) == 0) {
			fill(&peers[i], out);
			return true;
		}
	return false;
}

static bool f_group_next(void *ctx, const char *group, size_t *cursor, struct cn_dns_host *out)
{
	unsigned int bit = 0;

	(void)ctx;
	for (size_t g = 0; g < sizeof(group_names) / sizeof(group_names[0]); g++)
		if (strcmp(group_names[g], group) == 0)
			bit = 1u << g;
	for (size_t i = *cursor; bit && i < NPEERS; i++)
		if (peers[i].groups & bit) {
			fill(&peers[i], out);
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

static const struct cn_dns_zone zone = {
	.domain = "demo.cairn",
	.self = "board1",
	.serial = 7,
	.prefix4 = {10, 99, 0, 0},
	.prefix4_len = 16,
	.prefix6 = {0xfd, 0x99, 0xca, 0xfe},
	.prefix6_len = 64,
	.by_name = f_by_name,
	.by_ip4 = f_by_ip4,
	.by_ip6 = f_by_ip6,
	.group_next = f_group_next,
	.is_live = f_is_live,
};

/* An independent reply checker */

static uint16_t r16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/*
 * Walks the name at *pos, pointers strictly backwards and past the header,
 * at most 255 bytes uncompressed. Copies it (uncompressed) to out if not
 * NULL. Moves *pos past it; false if malformed.
 */
static bool walk_name(const uint8_t *m, size_t end, size_t *pos, uint8_t *out, size_t *out_len)
{
	size_t p = *pos, total = 0, next = 0;
	int hops = 0;

	for (;;) {
		if (p >= end)
			return false;
		if ((m[p] & 0xc0) == 0xc0) {
			size_t t;

			if (p + 2 > end || ++hops > 128)
				return false;
			t = (size_t)(m[p] & 0x3f) << 8 | m[p + 1];
			if (t >= p || t < 12)
				return false;
			if (!next)
				next = p + 2;
			p = t;
			continue;
		}
		if (m[p] > 63 || p + 1 + m[p] > end || total + 1 + m[p] > 255)
			return false;
		if (out)
			memcpy(out + total, m + p, 1 + (size_t)m[p]);
		total += 1 + (size_t)m[p];
		if (m[p] == 0)
			break;
		p += 1 + (size_t)m[p];
	}
	*pos = next ? next : p + 1;
	if (out_len)
		*out_len = total;
	return true;
}

struct seen {
	uint16_t flags, qd, an, ns, ar;
	uint8_t qname[255];
	size_t qname_len;
	uint16_t qtype, qclass;
	bool opt;
};

static void check_reply(const uint8_t *m, size_t len, struct seen *s)
{
	size_t pos = 12, total;

	memset(s, 0, sizeof(*s));
	check(len >= 12);
	s->flags = r16(m + 2);
	s->qd = r16(m + 4);
	s->an = r16(m + 6);
	s->ns = r16(m + 8);
	s->ar = r16(m + 10);
	check(s->qd <= 1);
	check(s->ar <= 1);
	if (s->qd) {
		check(walk_name(m, len, &pos, s->qname, &s->qname_len));
		check(pos + 4 <= len);
		s->qtype = r16(m + pos);
		s->qclass = r16(m + pos + 2);
		pos += 4;
	}
	total = (size_t)s->an + s->ns + s->ar;
	for (size_t i = 0; i < total; i++) {
		uint16_t type, rdlen;
		size_t rd, owner_len;

		check(walk_name(m, len, &pos, NULL, &owner_len));
		check(pos + 10 <= len);
		type = r16(m + pos);
		rdlen = r16(m + pos + 8);
		rd = pos + 10;
		check(rd + rdlen <= len);
		if (i >= (size_t)s->an + s->ns) {
			/* The only additional record is our OPT: root, 1232, no data. */
			check(type == CN_DNS_TYPE_OPT && owner_len == 1 && rdlen == 0);
			check(r16(m + pos + 2) == CN_DNS_UDP_MAX);
			check((m[pos + 5] | m[pos + 6] | m[pos + 7]) == 0);
			s->opt = true;
		} else {
			size_t p = rd;

			check(r16(m + pos + 2) == CN_DNS_CLASS_IN);
			switch (type) {
			case CN_DNS_TYPE_A:
				check(rdlen == 4);
				break;
			case CN_DNS_TYPE_AAAA:
				check(rdlen == 16);
				break;
			case CN_DNS_TYPE_NS:
			case CN_DNS_TYPE_PTR:
				check(walk_name(m, rd + rdlen, &p, NULL, NULL) && p == rd + rdlen);
				break;
			case CN_DNS_TYPE_SOA:
				check(walk_name(m, rd + rdlen, &p, NULL, NULL));
				check(walk_name(m, rd + rdlen, &p, NULL, NULL));
				check(p + 20 == rd + rdlen);
				/* Authority only holds the SOA of a negative answer. */
				break;
			default:
				check(0);
			}
			check(i < s->an || type == CN_DNS_TYPE_SOA);
		}
		pos = rd + rdlen;
	}
	check(pos == len);
}

static void one(const uint8_t *data, size_t size, const struct cn_dns_query *q, int dec,
		enum cn_dns_transport t, size_t cap)
{
	static uint8_t out[CN_DNS_TCP_MAX + 16], again[CN_DNS_TCP_MAX];
	size_t len = 1, len2 = 1, limit;
	enum cn_dns_action a;
	struct seen s;

	check(cap <= sizeof(out));
	out[cap] = 0x5a;
	a = cn_dns_respond(&zone, data, size, t, out, cap, &len);
	check(out[cap] == 0x5a);
	if (dec == -CN_ESHORT || dec == -CN_ETOOBIG || (q->flags & CN_DNS_F_QR)) {
		check(a == CN_DNS_DROP);
		check(len == 0);
		return;
	}
	if (a != CN_DNS_ANSWER) {
		check(len == 0);
		/* Forward only a well-formed, ordinary query. */
		if (a == CN_DNS_FORWARD)
			check(dec == 0 && (q->flags & 0x7800) == 0);
		else
			check(cap < 12 + q->qname_len + 4 + (q->edns ? 11 : 0));
		return;
	}
	check(len >= 12 && len <= cap);
	limit = dec == 0 ? cn_dns_reply_limit(q, t) : CN_DNS_HDR_LEN;
	check(len <= limit);
	check_reply(out, len, &s);
	check(r16(out) == r16(data));			       /* ID */
	check(s.flags & CN_DNS_F_QR && s.flags & CN_DNS_F_RA); /* response, RA */
	check((s.flags & 0x7900) == (r16(data + 2) & 0x7900)); /* opcode, RD */
	if (q->flags & 0x7800) {
		/* NOTIMP: the question and OPT back if it decoded, else header only. */
		check((s.flags & 0xf) == CN_DNS_NOTIMP && s.an == 0 && s.ns == 0);
		check(dec == 0 ? s.qd == 1 && s.opt == q->edns : len == 12);
	} else if (dec != 0 || (t == CN_DNS_UDP && !q->edns && size > CN_DNS_UDP_MIN)) {
		/* FORMERR: header only. */
		check(len == 12 && (s.flags & 0xf) == CN_DNS_FORMERR);
	} else {
		check(s.qd == 1);
		check(s.qname_len == q->qname_len && memcmp(s.qname, q->qname, s.qname_len) == 0);
		check(s.qtype == q->qtype && s.qclass == q->qclass);
		check(s.opt == q->edns);
		/* TC: no records; by TCP only when cap, not 65535, was short. */
		if (s.flags & CN_DNS_F_TC)
			check(s.an == 0 && s.ns == 0 && (t == CN_DNS_UDP || cap < CN_DNS_TCP_MAX));
	}
	/* Replies are never answered. */
	check(cn_dns_respond(&zone, out, len, t, again, sizeof(again), &len2) == CN_DNS_DROP);
	check(len2 == 0);
	/* Same input, same answer. */
	check(cn_dns_respond(&zone, data, size, t, again, cap, &len2) == a);
	check(len2 == len && memcmp(again, out, len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t copy[CN_DNS_TCP_MAX];
	struct cn_dns_query q;
	const uint8_t *msg;
	size_t msg_len, used, cap;
	uint16_t id;
	int dec;

	peers_init();
	dec = cn_dns_query_decode(data, size, &q);
	check(dec == 0 || dec == -CN_ESHORT || dec == -CN_ETOOBIG || dec == -CN_EFORMAT);
	if (dec == 0)
		check(q.qname_len >= 1 && q.qname_len <= CN_DNS_NAME_MAX &&
		      q.qname[q.qname_len - 1] == 0);

	one(data, size, &q, dec, CN_DNS_UDP, CN_DNS_UDP_MAX);
	one(data, size, &q, dec, CN_DNS_TCP, CN_DNS_TCP_MAX);
	/* A cap from the input: the last byte picks 12 to 522. */
	cap = size ? 12 + (size_t)data[size - 1] * 2 : 12;
	one(data, size, &q, dec, CN_DNS_UDP, cap);
	one(data, size, &q, dec, CN_DNS_TCP, cap);

	/* The forwarder's helpers. */
	if (size >= CN_DNS_HDR_LEN && size <= sizeof(copy)) {
		memcpy(copy, data, size);
		uint16_t other;

		check(cn_dns_id_get(copy, size, &id) == 0 && id == r16(data));
		other = (uint16_t)(id ^ 0xffff);
		check(cn_dns_id_set(copy, size, other) == 0);
		check(r16(copy) == other && memcmp(copy + 2, data + 2, size - 2) == 0);
	} else if (size < CN_DNS_HDR_LEN) {
		check(cn_dns_id_get(data, size, &id) == -CN_ESHORT);
	}
	if (dec == 0) {
		static uint8_t out[CN_DNS_TCP_MAX];
		struct seen s;
		size_t len;

		check(cn_dns_encode_empty(&q, CN_DNS_SERVFAIL, true, out, sizeof(out), &len) == 0);
		check_reply(out, len, &s);
		check((s.flags & 0xf) == CN_DNS_SERVFAIL && (s.flags & CN_DNS_F_TC));
		check(s.an == 0 && s.ns == 0 && s.opt == q.edns);
		check(len <= CN_DNS_HDR_LEN + CN_DNS_NAME_MAX + 4 + 11);
	}
	switch (cn_dns_tcp_frame_decode(data, size, &msg, &msg_len, &used)) {
	case 0:
		check(msg == data + 2 && used == msg_len + 2 && used <= size);
		check(msg_len >= CN_DNS_HDR_LEN && msg_len == r16(data));
		break;
	case -CN_ESHORT:
		check(size < 2 || (size_t)r16(data) + 2 > size);
		break;
	case -CN_EFORMAT:
		check(size >= 2 && r16(data) < CN_DNS_HDR_LEN);
		break;
	default:
		check(0);
	}
	return 0;
}
