/* SPDX-License-Identifier: MIT */
/*
 * TUN offload (node/offload.h): segmentation of TCP (IPv4 with IP and TCP
 * options, IPv6) and UDP (USO) super-packets into MTU-sized packets with
 * every field and checksum checked here by an independent reference; the
 * virtio header's malformed cases; coalescing of a flow's segments back into
 * one super-packet, byte-exact round trips, and every reason to refuse a
 * merge; limits (64 KiB, segment counts, batch size, caller buffers).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include <cmocka.h>

#include "common/err.h"
#include "node/offload.h"

enum { SEG_CAP = 1500, NSEG = CN_OFFLOAD_SEGS_MAX, BIG = CN_VNET_HDR_LEN + 70000 };

static const uint8_t a4[4] = {10, 99, 0, 1}, b4[4] = {10, 99, 0, 7};
static const uint8_t a6[16] = {0xfd, 0x99, [15] = 1}, b6[16] = {0xfd, 0x99, [15] = 7};
static const uint8_t tcp_opts[12] = {1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2}; /* NOP NOP TS */

/* ---- an independent reference: byte-pair sums in 64 bits, folded at the end ---- */

static uint64_t ref_sum(uint64_t s, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		s += (i % 2 == 0) ? (uint64_t)p[i] << 8 : p[i];
	return s;
}

static uint16_t ref_fold(uint64_t s)
{
	while (s > 0xffff)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static uint64_t ref_pseudo(const uint8_t *ip, uint8_t proto, size_t l4len)
{
	uint64_t s = 0;

	if ((ip[0] >> 4) == 4)
		s = ref_sum(ref_sum(0, ip + 12, 4), ip + 16, 4);
	else
		s = ref_sum(ref_sum(0, ip + 8, 16), ip + 24, 16);
	return s + proto + l4len;
}

static unsigned g16(const uint8_t *p)
{
	return (unsigned)(p[0] << 8 | p[1]);
}

static uint32_t g32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void p16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void p32(uint8_t *p, uint32_t v)
{
	p16(p, v >> 16);
	p16(p + 2, v & 0xffff);
}

static size_t l3len(const uint8_t *ip)
{
	return (ip[0] >> 4) == 4 ? (size_t)(ip[0] & 15) * 4 : 40;
}

static uint8_t proto_of(const uint8_t *ip)
{
	return (ip[0] >> 4) == 4 ? ip[9] : ip[6];
}

/* A whole packet whose checksums (IPv4 header, TCP/UDP) all verify. */
static void assert_csums_ok(const uint8_t *ip, size_t len)
{
	size_t l3 = l3len(ip);
	uint8_t proto = proto_of(ip);

	if ((ip[0] >> 4) == 4) {
		assert_int_equal(g16(ip + 2), len);
		assert_int_equal(ref_fold(ref_sum(0, ip, l3)), 0xffff);
	} else {
		assert_int_equal(g16(ip + 4) + 40, len);
	}
	assert_int_equal(ref_fold(ref_sum(ref_pseudo(ip, proto, len - l3), ip + l3, len - l3)),
			 0xffff);
}

/* ---- packet builders ---- */

struct spec {
	int v;		     /* 4 or 6 */
	uint8_t proto;	     /* 6 or 17 */
	unsigned sport;	     /* dport is sport + 1 */
	uint32_t seq, ack;   /* TCP */
	uint8_t flags;	     /* TCP */
	unsigned win;	     /* TCP */
	const uint8_t *opts; /* TCP options, multiple of 4 */
	size_t optlen;
	const uint8_t *ipopts; /* IPv4 options, multiple of 4 */
	size_t ipoptlen;
	unsigned id; /* IPv4 */
	int df;	     /* IPv4 */
	int rsv;     /* IPv4 reserved flag */
	uint8_t res; /* TCP reserved bits (low nibble of the data offset byte) */
	uint8_t ttl, tos;
	uint32_t flow; /* IPv6 flow label */
};

static struct spec tcp(int v)
{
	struct spec s = {.v = v,
			 .proto = 6,
			 .sport = 40000,
			 .seq = 0xfffff000u, /* wraps inside the test payloads */
			 .ack = 77,
			 .flags = 0x10,
			 .win = 501,
			 .opts = tcp_opts,
			 .optlen = sizeof(tcp_opts),
			 .id = 0xfff0,
			 .df = 1,
			 .ttl = 64};
	return s;
}

static struct spec udp(int v)
{
	struct spec s = {.v = v, .proto = 17, .sport = 50000, .id = 0x1234, .df = 1, .ttl = 64};
	return s;
}

/* Fills payload bytes that differ per position so misplaced bytes show. */
static void fill(uint8_t *p, size_t n, unsigned salt)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 7 + salt + (i >> 8));
}

/* Builds an IP packet at out with finished checksums; returns its length. */
static size_t build(const struct spec *s, const uint8_t *payload, size_t n, uint8_t *out)
{
	size_t l3 = s->v == 4 ? 20 + s->ipoptlen : 40;
	size_t l4 = s->proto == 6 ? 20 + s->optlen : 8;
	size_t len = l3 + l4 + n;
	uint8_t *t = out + l3;

	memset(out, 0, l3 + l4);
	if (s->v == 4) {
		out[0] = (uint8_t)(0x40 | (l3 / 4));
		out[1] = s->tos;
		p16(out + 2, (unsigned)len);
		p16(out + 4, s->id);
		out[6] = (uint8_t)((s->df ? 0x40 : 0) | (s->rsv ? 0x80 : 0));
		out[8] = s->ttl;
		out[9] = s->proto;
		memcpy(out + 12, a4, 4);
		memcpy(out + 16, b4, 4);
		if (s->ipoptlen)
			memcpy(out + 20, s->ipopts, s->ipoptlen);
		p16(out + 10, (unsigned)(uint16_t)~ref_fold(ref_sum(0, out, l3)));
	} else {
		p32(out, 0x60000000u | (uint32_t)s->tos << 20 | (s->flow & 0xfffff));
		p16(out + 4, (unsigned)(len - 40));
		out[6] = s->proto;
		out[7] = s->ttl;
		memcpy(out + 8, a6, 16);
		memcpy(out + 24, b6, 16);
	}
	p16(t, s->sport);
	p16(t + 2, s->sport + 1);
	if (s->proto == 6) {
		p32(t + 4, s->seq);
		p32(t + 8, s->ack);
		t[12] = (uint8_t)((l4 / 4) << 4 | s->res);
		t[13] = s->flags;
		p16(t + 14, s->win);
		if (s->optlen)
			memcpy(t + 20, s->opts, s->optlen);
	} else {
		p16(t + 4, (unsigned)(l4 + n));
	}
	memcpy(t + l4, payload, n);
	{
		uint16_t c =
			(uint16_t)~ref_fold(ref_sum(ref_pseudo(out, s->proto, l4 + n), t, l4 + n));
		if (s->proto == 17 && c == 0)
			c = 0xffff;
		p16(t + (s->proto == 6 ? 16 : 6), c);
	}
	return len;
}

/* As the kernel hands it over: vnet header, then the packet with a partial checksum. */
static size_t make_super(const struct spec *s, const uint8_t *payload, size_t n, unsigned gso,
			 uint8_t *out)
{
	struct cn_vnet_hdr h = {0};
	uint8_t *ip = out + CN_VNET_HDR_LEN;
	size_t len = build(s, payload, n, ip), l3 = l3len(ip);
	size_t off = s->proto == 6 ? 16 : 6;

	p16(ip + l3 + off, (unsigned)ref_fold(ref_pseudo(ip, s->proto, len - l3)));
	h.flags = CN_VNET_F_NEEDS_CSUM;
	h.gso_type = (uint8_t)(s->proto == 17 ? CN_VNET_GSO_UDP_L4
			       : s->v == 4    ? CN_VNET_GSO_TCPV4
					      : CN_VNET_GSO_TCPV6);
	h.gso_size = (uint16_t)gso;
	h.hdr_len = (uint16_t)(l3 + (s->proto == 6 ? 20 + s->optlen : 8));
	h.csum_start = (uint16_t)l3;
	h.csum_offset = (uint16_t)off;
	cn_vnet_hdr_encode(&h, out);
	return CN_VNET_HDR_LEN + len;
}

struct segs {
	uint8_t buf[NSEG][SEG_CAP];
	uint8_t *ptr[NSEG];
	size_t len[NSEG];
	size_t n;
};

static struct segs *segs_new(void)
{
	struct segs *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	for (int i = 0; i < NSEG; i++)
		s->ptr[i] = s->buf[i];
	return s;
}

static int seg(struct segs *s, const uint8_t *in, size_t len, size_t cap, size_t max)
{
	s->n = 99;
	return cn_offload_segment(in, len, s->ptr, cap, max, s->len, &s->n);
}

/* ---- the virtio header ---- */

static void test_vnet_hdr_codec(void **state)
{
	static const uint8_t wire[10] = {1, 5, 0x34, 0x12, 0x5c, 0x05, 0x14, 0, 6, 0};
	struct cn_vnet_hdr h, h2;
	uint8_t out[10];

	(void)state;
	assert_int_equal(cn_vnet_hdr_decode(wire, sizeof(wire), &h), 0);
	assert_int_equal(h.flags, 1);
	assert_int_equal(h.gso_type, CN_VNET_GSO_UDP_L4);
	assert_int_equal(h.hdr_len, 0x1234); /* little-endian */
	assert_int_equal(h.gso_size, 1372);
	assert_int_equal(h.csum_start, 20);
	assert_int_equal(h.csum_offset, 6);
	cn_vnet_hdr_encode(&h, out);
	assert_memory_equal(out, wire, sizeof(wire));
	h2.flags = 9;
	assert_int_equal(cn_vnet_hdr_decode(wire, 9, &h2), -CN_ESHORT);
	assert_int_equal(h2.flags, 0);
}

/* ---- segmentation ---- */

/* Checks a segmentation of spec s (payload pl, n bytes, in gso pieces) field by field. */
static void check_segments(const struct spec *s, const struct segs *g, const uint8_t *pl, size_t n,
			   size_t gso)
{
	size_t l3 = s->v == 4 ? 20 + s->ipoptlen : 40;
	size_t l4 = s->proto == 6 ? 20 + s->optlen : 8, off = 0;
	size_t want = (n + gso - 1) / gso;

	assert_int_equal(g->n, want);
	for (size_t i = 0; i < g->n; i++) {
		const uint8_t *p = g->buf[i], *t = p + l3;
		size_t m = n - off < gso ? n - off : gso;

		assert_int_equal(g->len[i], l3 + l4 + m);
		assert_true(g->len[i] <= SEG_CAP);
		assert_csums_ok(p, g->len[i]);
		assert_memory_equal(t + l4, pl + off, m);
		if (s->v == 4) {
			assert_int_equal(g16(p + 4), (s->id + i) & 0xffff);
			assert_int_equal(p[8], s->ttl);
			if (s->ipoptlen)
				assert_memory_equal(p + 20, s->ipopts, s->ipoptlen);
		}
		if (s->proto == 6) {
			uint8_t fl = s->flags;

			assert_int_equal(g32(t + 4), (uint32_t)(s->seq + off));
			assert_int_equal(g32(t + 8), s->ack);
			if (i + 1 < g->n)
				fl &= (uint8_t)~0x09; /* FIN, PSH */
			if (i > 0)
				fl &= (uint8_t)~0x80; /* CWR */
			assert_int_equal(t[13], fl);
			if (s->optlen)
				assert_memory_equal(t + 20, s->opts, s->optlen);
		} else {
			assert_int_equal(g16(t + 4), 8 + m);
		}
		off += m;
	}
}

static void seg_case(struct spec s, size_t n, size_t gso)
{
	uint8_t *in = malloc(BIG), *pl = malloc(n);
	struct segs *g = segs_new();
	size_t len;

	fill(pl, n, (unsigned)n);
	len = make_super(&s, pl, n, (unsigned)gso, in);
	assert_int_equal(seg(g, in, len, SEG_CAP, NSEG), 0);
	check_segments(&s, g, pl, n, gso);
	free(in);
	free(pl);
	free(g);
}

static void test_segment_tcp4_options(void **state)
{
	static const uint8_t ipopt[4] = {1, 1, 1, 0}; /* NOP NOP NOP EOL */
	struct spec s = tcp(4);

	(void)state;
	s.flags = 0x10 | 0x08 | 0x01 | 0x80 | 0x40; /* ACK PSH FIN CWR ECE */
	seg_case(s, 10000, 1288);
	s.ipopts = ipopt;
	s.ipoptlen = sizeof(ipopt);
	s.df = 0;
	seg_case(s, 5 * 1288, 1288); /* an exact multiple */
	seg_case(s, 700, 1288);	     /* one segment */
}

static void test_segment_tcp6(void **state)
{
	struct spec s = tcp(6);

	(void)state;
	s.flags = 0x18;
	s.flow = 0x12345;
	seg_case(s, 20000, 1268);
	s.opts = NULL;
	s.optlen = 0;
	seg_case(s, 3 * 1440 + 1, 1440);
}

static void test_segment_udp(void **state)
{
	(void)state;
	seg_case(udp(4), 13720, 1372);
	seg_case(udp(6), 13000, 1372);
	seg_case(udp(4), 1, 1372);
}

/* The kernel's worst case: a 65535-byte IP packet, and one byte more. */
static void test_segment_size_limit(void **state)
{
	uint8_t *in = malloc(BIG), *pl = malloc(70000);
	struct segs *g = segs_new();
	struct spec s = tcp(4);
	size_t hdrs = 20 + 20 + sizeof(tcp_opts), len;

	(void)state;
	fill(pl, 70000, 3);
	len = make_super(&s, pl, 65535 - hdrs, 1288, in);
	assert_int_equal(len, CN_VNET_HDR_LEN + 65535);
	assert_int_equal(seg(g, in, len, SEG_CAP, NSEG), 0);
	check_segments(&s, g, pl, 65535 - hdrs, 1288);
	/* A segment count over what the caller offers: refused whole. */
	assert_int_equal(seg(g, in, len, SEG_CAP, g->n - 1), -CN_ETOOBIG);
	assert_int_equal(g->n, 0);
	/* Segments over the caller's buffer size (the MTU). */
	assert_int_equal(seg(g, in, len, hdrs + 1287, NSEG), -CN_ETOOBIG);
	/* Too small a gso_size for CN_OFFLOAD_SEGS_MAX segments. */
	in[4] = 100;
	in[5] = 0;
	assert_int_equal(seg(g, in, len, SEG_CAP, NSEG), -CN_ETOOBIG);
	/* Over 64 KiB of IP packet: refused before anything is parsed. */
	memset(in, 0, BIG);
	assert_int_equal(seg(g, in, CN_VNET_HDR_LEN + 65536, 70000, NSEG), -CN_ETOOBIG);
	free(in);
	free(pl);
	free(g);
}

/* gso_type NONE: finished checksum at any csum_start/csum_offset, or copied as is. */
static void test_segment_plain(void **state)
{
	uint8_t in[2000], pl[300], ref[2000];
	struct segs *g = segs_new();
	struct spec s = udp(4);
	size_t len;

	(void)state;
	fill(pl, sizeof(pl), 9);
	len = build(&s, pl, sizeof(pl), ref);
	/* Plain, no checksum work: bytes unchanged. */
	memset(in, 0, CN_VNET_HDR_LEN);
	memcpy(in + CN_VNET_HDR_LEN, ref, len);
	assert_int_equal(seg(g, in, CN_VNET_HDR_LEN + len, SEG_CAP, 1), 0);
	assert_int_equal(g->n, 1);
	assert_int_equal(g->len[0], len);
	assert_memory_equal(g->buf[0], ref, len);
	/* NEEDS_CSUM with the pseudo-header sum in place, UDP (offset 6). */
	len = make_super(&s, pl, sizeof(pl), 0, in);
	in[1] = CN_VNET_GSO_NONE;
	assert_int_equal(seg(g, in, len, SEG_CAP, 1), 0);
	assert_memory_equal(g->buf[0], ref, len - CN_VNET_HDR_LEN);
	assert_csums_ok(g->buf[0], g->len[0]);
	/* TCP (offset 16), IPv6. */
	s = tcp(6);
	len = make_super(&s, pl, sizeof(pl), 0, in);
	in[1] = CN_VNET_GSO_NONE;
	assert_int_equal(seg(g, in, len, SEG_CAP, 1), 0);
	assert_csums_ok(g->buf[0], g->len[0]);
	/* Too big for the caller's buffer. */
	assert_int_equal(seg(g, in, len, len - CN_VNET_HDR_LEN - 1, 1), -CN_ETOOBIG);
	/* Checksum position beyond the packet. */
	in[6] = (uint8_t)(len - CN_VNET_HDR_LEN - 1);
	in[7] = (uint8_t)((len - CN_VNET_HDR_LEN - 1) >> 8);
	in[8] = 0;
	assert_int_equal(seg(g, in, len, SEG_CAP, 1), -CN_EFORMAT);
	in[6] = 0;
	in[7] = 0x10;
	assert_int_equal(seg(g, in, len, SEG_CAP, 1), -CN_EFORMAT);
	/* Empty packet behind a header. */
	assert_int_equal(seg(g, in, CN_VNET_HDR_LEN, SEG_CAP, 1), -CN_ESHORT);
	free(g);
}

/* Every malformed virtio header / super-packet combination is refused without output. */
static void test_segment_malformed(void **state)
{
	uint8_t *in = malloc(BIG), *good = malloc(BIG), pl[5000];
	struct segs *g = segs_new();
	struct spec s = tcp(4), s6 = tcp(6), su = udp(4);
	size_t len, l3 = 20;

	(void)state;
	fill(pl, sizeof(pl), 1);
	len = make_super(&s, pl, sizeof(pl), 1288, good);
#define RESET() memcpy(in, good, len)
#define REFUSE(code, l)                                                   \
	do {                                                              \
		assert_int_equal(seg(g, in, (l), SEG_CAP, NSEG), (code)); \
		assert_int_equal(g->n, 0);                                \
	} while (0)

	RESET();
	assert_int_equal(seg(g, in, len, SEG_CAP, NSEG), 0);
	REFUSE(-CN_ESHORT, 9); /* no room for the header */
	RESET();
	in[0] = 4; /* unknown flag */
	REFUSE(-CN_EFORMAT, len);
	for (unsigned t = 2; t < 0x80; t++) { /* every gso_type but NONE, TCPV4/6, UDP_L4 */
		if (t == CN_VNET_GSO_TCPV4 || t == CN_VNET_GSO_TCPV6 || t == CN_VNET_GSO_UDP_L4)
			continue;
		RESET();
		in[1] = (uint8_t)t;
		REFUSE(-CN_EFORMAT, len);
	}
	RESET();
	in[1] = CN_VNET_GSO_TCPV6; /* wrong family */
	REFUSE(-CN_EFORMAT, len);
	RESET();
	in[1] = CN_VNET_GSO_UDP_L4; /* wrong protocol */
	REFUSE(-CN_EFORMAT, len);
	RESET();
	in[1] = CN_VNET_GSO_ECN; /* ECN without GSO */
	REFUSE(-CN_EFORMAT, len);
	RESET();
	in[4] = in[5] = 0; /* gso_size 0 */
	REFUSE(-CN_EFORMAT, len);
	RESET();
	in[6] = 40; /* csum_start past the IP header */
	REFUSE(-CN_EFORMAT, len);
	RESET();
	in[6] = 0xff;
	in[7] = 0xff; /* csum_start beyond the packet */
	REFUSE(-CN_EFORMAT, len);
	RESET();
	in[8] = 6; /* csum_offset of UDP on TCP */
	REFUSE(-CN_EFORMAT, len);
	RESET();
	in[CN_VNET_HDR_LEN + 3] -= 4; /* IPv4 total length below the bytes read */
	REFUSE(-CN_EFORMAT, len);
	RESET();
	REFUSE(-CN_ESHORT, len - 1); /* read shorter than the header says */
	RESET();
	in[CN_VNET_HDR_LEN + 6] |= 0x20; /* MF: a fragment */
	REFUSE(-CN_EFORMAT, len);
	RESET();
	in[CN_VNET_HDR_LEN] = 0x45 + 10; /* IHL past csum_start */
	REFUSE(-CN_EFORMAT, len);
	RESET();
	in[CN_VNET_HDR_LEN + l3 + 12] = 0x40; /* TCP data offset 4 */
	REFUSE(-CN_EFORMAT, len);
	RESET();
	in[CN_VNET_HDR_LEN] = 0x35; /* IP version 3 */
	REFUSE(-CN_EFORMAT, len);
	/* TCP data offset beyond the packet: a bare header super-packet. */
	len = make_super(&s, pl, 0, 1288, good);
	RESET();
	REFUSE(-CN_EFORMAT, len); /* no payload to segment */
	RESET();
	in[CN_VNET_HDR_LEN + l3 + 12] = 0xf0;
	REFUSE(-CN_ESHORT, len);
	/* hdr_len lies: ignored, the TCP data offset decides. */
	len = make_super(&s, pl, sizeof(pl), 1288, good);
	for (unsigned lie = 0; lie < 3; lie++) {
		static const uint16_t lies[3] = {0, 1, 0xffff};

		RESET();
		in[2] = (uint8_t)lies[lie];
		in[3] = (uint8_t)(lies[lie] >> 8);
		assert_int_equal(seg(g, in, len, SEG_CAP, NSEG), 0);
		check_segments(&s, g, pl, sizeof(pl), 1288);
	}
	/* gso_size above the payload: one segment, if the caller's buffer holds it. */
	RESET();
	in[4] = 0xff;
	in[5] = 0xff;
	assert_int_equal(seg(g, in, len, 6000, NSEG), 0);
	assert_int_equal(g->n, 1);
	REFUSE(-CN_ETOOBIG, len);
	/* IPv6 with an extension header (hop-by-hop) in front of TCP. */
	len = make_super(&s6, pl, 1000, 500, good);
	RESET();
	in[CN_VNET_HDR_LEN + 6] = 0;
	REFUSE(-CN_EFORMAT, len);
	RESET();
	in[1] = CN_VNET_GSO_TCPV4;
	REFUSE(-CN_EFORMAT, len);
	/* UDP length field disagreeing with the packet. */
	len = make_super(&su, pl, 3000, 1372, good);
	RESET();
	in[CN_VNET_HDR_LEN + l3 + 5] ^= 1;
	REFUSE(-CN_EFORMAT, len);
	RESET();
	in[1] |= CN_VNET_GSO_ECN; /* ECN is TCP only */
	REFUSE(-CN_EFORMAT, len);
	RESET();
	in[8] = 16;
	REFUSE(-CN_EFORMAT, len);
	/* NULL arguments. */
	assert_int_equal(cn_offload_segment(NULL, len, g->ptr, SEG_CAP, NSEG, g->len, &g->n),
			 -CN_EINVAL);
	assert_int_equal(cn_offload_segment(good, len, g->ptr, SEG_CAP, NSEG, g->len, NULL),
			 -CN_EINVAL);
#undef RESET
#undef REFUSE
	free(in);
	free(good);
	free(g);
}

/* ---- coalescing ---- */

struct gro_res {
	struct cn_gro g;
	uint8_t arena[CN_GRO_BATCH_MAX * (SEG_CAP + CN_VNET_HDR_LEN)];
	struct cn_gro_out out[CN_GRO_BATCH_MAX];
	size_t n;
};

static struct gro_res *gro_new(unsigned flags)
{
	struct gro_res *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	cn_gro_init(&r->g, flags);
	return r;
}

static void gro_flush(struct gro_res *r)
{
	r->n = 999;
	assert_int_equal(
		cn_gro_flush(&r->g, r->arena, sizeof(r->arena), r->out, CN_GRO_BATCH_MAX, &r->n),
		0);
}

static void decode(const struct gro_res *r, size_t i, struct cn_vnet_hdr *h)
{
	assert_true(i < r->n);
	assert_int_equal(cn_vnet_hdr_decode(r->out[i].p, r->out[i].len, h), 0);
}

/* A plain write: all-zero header, then exactly the packet. */
static void assert_plain(const struct gro_res *r, size_t i, const uint8_t *pkt, size_t len)
{
	struct cn_vnet_hdr h;

	decode(r, i, &h);
	assert_int_equal(h.flags | h.gso_type | h.gso_size | h.csum_start, 0);
	assert_int_equal(r->out[i].len, CN_VNET_HDR_LEN + len);
	assert_memory_equal(r->out[i].p + CN_VNET_HDR_LEN, pkt, len);
}

/* A super-packet write: header sane, checksum fields as the kernel wants them. */
static void assert_super(const struct gro_res *r, size_t i, size_t nseg, size_t gso)
{
	struct cn_vnet_hdr h;
	const uint8_t *ip = r->out[i].p + CN_VNET_HDR_LEN;
	size_t len = r->out[i].len - CN_VNET_HDR_LEN, l3 = l3len(ip);
	uint8_t proto = proto_of(ip);
	size_t l4 = proto == 6 ? (size_t)(ip[l3 + 12] >> 4) * 4 : 8;
	uint8_t tmp[CN_OFFLOAD_PKT_MAX];

	decode(r, i, &h);
	assert_int_equal(h.flags, CN_VNET_F_NEEDS_CSUM);
	assert_int_equal(h.gso_type, proto == 17 ? CN_VNET_GSO_UDP_L4
				     : l3 == 20	 ? CN_VNET_GSO_TCPV4
						 : CN_VNET_GSO_TCPV6);
	assert_int_equal(h.gso_size, gso);
	assert_int_equal(h.csum_start, l3);
	assert_int_equal(h.csum_offset, proto == 6 ? 16 : 6);
	assert_int_equal(h.hdr_len, l3 + l4);
	assert_int_equal((len - l3 - l4 + gso - 1) / gso, nseg);
	/* The L4 field holds the pseudo-header sum: finishing it as a NIC would verifies. */
	memcpy(tmp, ip, len);
	p16(tmp + l3 + h.csum_offset,
	    (unsigned)(uint16_t)~ref_fold(ref_sum(0, tmp + l3, len - l3)));
	assert_csums_ok(tmp, len);
}

/* Builds n segments of one flow by segmenting a super-packet, adds them all. */
static size_t add_flow(struct gro_res *r, struct segs *g, const struct spec *s, size_t n,
		       size_t gso)
{
	uint8_t *in = malloc(BIG), *pl = malloc(n);

	fill(pl, n, 5);
	assert_int_equal(seg(g, in, make_super(s, pl, n, (unsigned)gso, in), SEG_CAP, NSEG), 0);
	for (size_t i = 0; i < g->n; i++)
		assert_int_equal(cn_gro_add(&r->g, g->buf[i], g->len[i]), 0);
	free(in);
	free(pl);
	return g->n;
}

/* super -> segments -> coalesced -> segments: same bytes as the first segmentation. */
static void round_trip(struct spec s, size_t n, size_t gso, unsigned flags)
{
	struct gro_res *r = gro_new(flags);
	struct segs *g = segs_new(), *g2 = segs_new();
	uint8_t *in = malloc(BIG), *pl = malloc(n);
	size_t len, l3;

	fill(pl, n, 5);
	len = make_super(&s, pl, n, (unsigned)gso, in);
	assert_int_equal(add_flow(r, g, &s, n, gso), (n + gso - 1) / gso);
	gro_flush(r);
	assert_int_equal(r->n, 1);
	assert_super(r, 0, g->n, gso);
	/* The coalesced packet is the original super-packet but for its L4 checksum. */
	assert_int_equal(r->out[0].len, len);
	l3 = l3len(in + CN_VNET_HDR_LEN);
	{
		size_t ck = CN_VNET_HDR_LEN + l3 + (s.proto == 6 ? 16 : 6);
		size_t ipck = CN_VNET_HDR_LEN + 10;

		assert_memory_equal(r->out[0].p + CN_VNET_HDR_LEN, in + CN_VNET_HDR_LEN,
				    s.v == 4 ? 10 : ck - CN_VNET_HDR_LEN);
		if (s.v == 4)
			assert_memory_equal(r->out[0].p + ipck, in + ipck, ck - ipck);
		assert_memory_equal(r->out[0].p + ck + 2, in + ck + 2, len - ck - 2);
	}
	assert_int_equal(seg(g2, r->out[0].p, r->out[0].len, SEG_CAP, NSEG), 0);
	assert_int_equal(g2->n, g->n);
	for (size_t i = 0; i < g->n; i++) {
		assert_int_equal(g2->len[i], g->len[i]);
		assert_memory_equal(g2->buf[i], g->buf[i], g->len[i]);
	}
	free(in);
	free(pl);
	free(g);
	free(g2);
	free(r);
}

static void test_gro_round_trip(void **state)
{
	struct spec s = tcp(4);

	(void)state;
	s.flags = 0x18; /* PSH on the last only, carried back onto the super-packet */
	round_trip(s, 20000, 1288, CN_GRO_TCP);
	s.df = 0; /* IDs must run on */
	round_trip(s, 5000, 1000, CN_GRO_TCP);
	s = tcp(6);
	s.flow = 0xabcde;
	round_trip(s, 30001, 1268, CN_GRO_TCP);
	round_trip(udp(4), 13720, 1372, CN_GRO_UDP);
	round_trip(udp(6), 9000, 1200, CN_GRO_TCP | CN_GRO_UDP);
	/* A full 64 KiB super-packet survives both ways. */
	s = tcp(4);
	round_trip(s, 65535 - 52, 1288, CN_GRO_TCP);
}

/* Two packets that must stay apart: both written as they came, in order. */
static void refuse_pair(const struct spec *s1, const struct spec *s2, size_t n1, size_t n2,
			unsigned flags)
{
	struct gro_res *r = gro_new(flags);
	uint8_t p1[SEG_CAP], p2[SEG_CAP], pl[SEG_CAP];
	size_t l1, l2;

	fill(pl, sizeof(pl), 2);
	l1 = build(s1, pl, n1, p1);
	l2 = build(s2, pl, n2, p2);
	assert_int_equal(cn_gro_add(&r->g, p1, l1), 0);
	assert_int_equal(cn_gro_add(&r->g, p2, l2), 0);
	gro_flush(r);
	assert_int_equal(r->n, 2);
	assert_plain(r, 0, p1, l1);
	assert_plain(r, 1, p2, l2);
	free(r);
}

static void test_gro_merges_pair(void **state)
{
	struct spec s = tcp(4), t;
	struct gro_res *r = gro_new(CN_GRO_TCP);
	uint8_t p1[SEG_CAP], p2[SEG_CAP], pl[SEG_CAP];
	size_t l1, l2;

	(void)state;
	fill(pl, sizeof(pl), 2);
	t = s;
	t.seq += 1000;
	t.id += 1;
	l1 = build(&s, pl, 1000, p1);
	l2 = build(&t, pl, 1000, p2);
	assert_int_equal(cn_gro_add(&r->g, p1, l1), 0);
	assert_int_equal(cn_gro_add(&r->g, p2, l2), 0);
	assert_true(cn_gro_arena_need(&r->g) >= l1 + l2 + 2 * CN_VNET_HDR_LEN);
	gro_flush(r);
	assert_int_equal(r->n, 1);
	assert_super(r, 0, 2, 1000);
	free(r);
}

static void test_gro_refuses(void **state)
{
	static const uint8_t other_opts[12] = {1, 1, 8, 10, 0, 0, 0, 2, 0, 0, 0, 2};
	static const uint8_t ipopt[4] = {1, 1, 1, 0};
	struct spec s = tcp(4), t, u = udp(4), v;

	(void)state;
	t = s;
	t.seq += 1000;
	t.id += 1;
	/* The pair test_gro_merges_pair merges, with one thing changed each time. */
	v = t;
	v.seq += 1; /* a hole */
	refuse_pair(&s, &v, 1000, 1000, CN_GRO_TCP);
	v = t;
	v.seq -= 1; /* overlap */
	refuse_pair(&s, &v, 1000, 1000, CN_GRO_TCP);
	v = t;
	v.flags |= 0x40; /* ECE differs */
	refuse_pair(&s, &v, 1000, 1000, CN_GRO_TCP);
	v = t;
	v.ack += 1;
	refuse_pair(&s, &v, 1000, 1000, CN_GRO_TCP);
	v = t;
	v.win += 1;
	refuse_pair(&s, &v, 1000, 1000, CN_GRO_TCP);
	v = t;
	v.opts = other_opts; /* timestamp differs */
	refuse_pair(&s, &v, 1000, 1000, CN_GRO_TCP);
	v = t;
	v.opts = NULL; /* no options at all */
	v.optlen = 0;
	refuse_pair(&s, &v, 1000, 1000, CN_GRO_TCP);
	v = t;
	v.ttl = 63;
	refuse_pair(&s, &v, 1000, 1000, CN_GRO_TCP);
	v = t;
	v.tos = 4;
	refuse_pair(&s, &v, 1000, 1000, CN_GRO_TCP);
	v = t;
	v.df = 0;
	refuse_pair(&s, &v, 1000, 1000, CN_GRO_TCP);
	v = t;
	v.rsv = 1; /* the reserved flag would be copied onto every segment */
	refuse_pair(&s, &v, 1000, 1000, CN_GRO_TCP);
	v = t;
	v.res = 1; /* the AE (accurate ECN) bit differs */
	refuse_pair(&s, &v, 1000, 1000, CN_GRO_TCP);
	v = t;
	v.sport += 2; /* another flow: both stand alone */
	refuse_pair(&s, &v, 1000, 1000, CN_GRO_TCP);
	refuse_pair(&s, &t, 1000, 1001, CN_GRO_TCP); /* second larger than the first */
	refuse_pair(&s, &t, 1000, 1000, CN_GRO_UDP); /* TCP merging off */
	{
		struct spec a = s, b = t;

		a.df = b.df = 0;
		b.id += 1; /* IDs that do not run on, without DF */
		refuse_pair(&a, &b, 1000, 1000, CN_GRO_TCP);
		a.ipopts = b.ipopts = ipopt; /* IPv4 options: never merged */
		a.ipoptlen = b.ipoptlen = sizeof(ipopt);
		b.id = a.id + 1;
		refuse_pair(&a, &b, 1000, 1000, CN_GRO_TCP);
	}
	{
		struct spec a = s, b = t;

		a.flags |= 0x08; /* PSH on the first ends it */
		refuse_pair(&a, &b, 1000, 1000, CN_GRO_TCP);
		for (unsigned i = 0; i < 5; i++) {
			static const uint8_t lone[5] = {0x01, 0x02, 0x04, 0x20, 0x80};

			a = s;
			b = t;
			b.flags |= lone[i]; /* FIN SYN RST URG CWR stand alone */
			refuse_pair(&a, &b, 1000, 1000, CN_GRO_TCP);
			a.flags |= lone[i];
			b.flags = s.flags;
			refuse_pair(&a, &b, 1000, 1000, CN_GRO_TCP);
		}
	}
	refuse_pair(&s, &t, 0, 0, CN_GRO_TCP); /* pure ACKs */
	/* IPv6: flow label, traffic class, hop limit. */
	s = tcp(6);
	t = s;
	t.seq += 1000;
	v = t;
	v.flow = 1;
	refuse_pair(&s, &v, 1000, 1000, CN_GRO_TCP);
	v = t;
	v.tos = 1;
	refuse_pair(&s, &v, 1000, 1000, CN_GRO_TCP);
	v = t;
	v.ttl = 1;
	refuse_pair(&s, &v, 1000, 1000, CN_GRO_TCP);
	/* UDP: off by default, larger second, different ports. */
	v = u;
	v.id += 1;
	refuse_pair(&u, &v, 1000, 1000, CN_GRO_TCP);
	refuse_pair(&u, &v, 1000, 1001, CN_GRO_UDP);
	v.sport += 1;
	refuse_pair(&u, &v, 1000, 1000, CN_GRO_UDP);
	refuse_pair(&u, &v, 0, 0, CN_GRO_UDP); /* empty datagrams */
}

/* Bytes that are not one well-formed TCP/UDP packet pass through unchanged. */
static void test_gro_passthrough(void **state)
{
	struct gro_res *r = gro_new(CN_GRO_TCP | CN_GRO_UDP);
	uint8_t junk[64], zero[1] = {0}, mf[SEG_CAP], later[SEG_CAP], pl[100];
	struct spec s = tcp(4);
	size_t len;

	(void)state;
	/* Packets are referenced until the flush: one buffer each. */
	fill(junk, sizeof(junk), 0);
	fill(pl, sizeof(pl), 0);
	junk[0] = 0x45; /* total length field beyond the bytes */
	len = build(&s, pl, sizeof(pl), mf);
	memcpy(later, mf, len);
	mf[6] = 0x20;	 /* MF: a first fragment */
	later[7] = 0x10; /* offset: a later one */
	assert_int_equal(cn_gro_add(&r->g, junk, sizeof(junk)), 0);
	assert_int_equal(cn_gro_add(&r->g, zero, 1), 0);
	assert_int_equal(cn_gro_add(&r->g, mf, len), 0);
	assert_int_equal(cn_gro_add(&r->g, later, len), 0);
	assert_int_equal(cn_gro_add(&r->g, mf, 0), 0);
	gro_flush(r);
	assert_int_equal(r->n, 5);
	assert_plain(r, 0, junk, sizeof(junk));
	assert_plain(r, 1, zero, 1);
	assert_plain(r, 2, mf, len);
	assert_plain(r, 3, later, len);
	assert_plain(r, 4, mf, 0);
	free(r);
}

/* Flows interleave; each keeps its order; a lone packet of a flow closes its super-packet. */
static void test_gro_order(void **state)
{
	struct gro_res *r = gro_new(CN_GRO_TCP | CN_GRO_UDP);
	uint8_t p[6][SEG_CAP], pl[SEG_CAP];
	size_t l[6];
	struct spec a = tcp(4), b = udp(6), ack;

	(void)state;
	fill(pl, sizeof(pl), 8);
	l[0] = build(&a, pl, 1000, p[0]);
	l[1] = build(&b, pl, 900, p[1]);
	a.seq += 1000;
	a.id++;
	l[2] = build(&a, pl, 1000, p[2]);
	b.id++;
	l[3] = build(&b, pl, 900, p[3]);
	ack = a;
	ack.id++;
	l[4] = build(&ack, pl, 0, p[4]); /* same flow, no payload */
	a.seq += 1000;
	a.id += 2;
	l[5] = build(&a, pl, 1000, p[5]);
	for (int i = 0; i < 6; i++)
		assert_int_equal(cn_gro_add(&r->g, p[i], l[i]), 0);
	gro_flush(r);
	/* A(0,2), B(1,3), ack(4), A(5): contiguous with 2 but after the ack, so apart. */
	assert_int_equal(r->n, 4);
	assert_super(r, 0, 2, 1000);
	assert_super(r, 1, 2, 900);
	assert_plain(r, 2, p[4], l[4]);
	assert_plain(r, 3, p[5], l[5]);
	/* The flush reset the batch. */
	gro_flush(r);
	assert_int_equal(r->n, 0);
	free(r);
}

/* A short segment ends its super-packet: what follows starts another. */
static void test_gro_short_closes(void **state)
{
	struct gro_res *r = gro_new(CN_GRO_TCP | CN_GRO_UDP);
	uint8_t p[6][SEG_CAP], pl[SEG_CAP];
	size_t l[6];
	struct spec s = tcp(6), u = udp(4);

	(void)state;
	fill(pl, sizeof(pl), 6);
	l[0] = build(&s, pl, 1000, p[0]);
	s.seq += 1000;
	l[1] = build(&s, pl, 500, p[1]);
	s.seq += 500;
	l[2] = build(&s, pl, 500, p[2]); /* contiguous, but the 500 before it ended it */
	l[3] = build(&u, pl, 800, p[3]);
	u.id++;
	l[4] = build(&u, pl, 100, p[4]);
	u.id++;
	l[5] = build(&u, pl, 100, p[5]);
	for (int i = 0; i < 6; i++)
		assert_int_equal(cn_gro_add(&r->g, p[i], l[i]), 0);
	gro_flush(r);
	assert_int_equal(r->n, 4);
	assert_super(r, 0, 2, 1000);
	assert_plain(r, 1, p[2], l[2]);
	assert_super(r, 2, 2, 800);
	assert_plain(r, 3, p[5], l[5]);
	free(r);
}

/* A UDP checksum that computes to 0 is sent as 0xffff (0 would mean "none"). */
static void test_segment_udp_zero_csum(void **state)
{
	uint8_t *in = malloc(BIG), pl[2800];
	struct segs *g = segs_new();
	struct spec s = udp(4);
	size_t len, l3 = 20, n = sizeof(pl);
	uint64_t sum;

	(void)state;
	fill(pl, n, 11);
	/* Tune the last two payload bytes of the second segment so its sum is 0xffff. */
	pl[n - 2] = pl[n - 1] = 0;
	len = make_super(&s, pl, n, 1400, in);
	assert_int_equal(seg(g, in, len, SEG_CAP, NSEG), 0);
	assert_int_equal(g->n, 2);
	g->buf[1][l3 + 6] = g->buf[1][l3 + 7] = 0;
	sum = ref_fold(
		ref_sum(ref_pseudo(g->buf[1], 17, g->len[1] - l3), g->buf[1] + l3, g->len[1] - l3));
	pl[n - 2] = (uint8_t)((0xffff - sum) >> 8);
	pl[n - 1] = (uint8_t)(0xffff - sum);
	len = make_super(&s, pl, n, 1400, in);
	assert_int_equal(seg(g, in, len, SEG_CAP, NSEG), 0);
	assert_int_equal(g16(g->buf[1] + l3 + 6), 0xffff);
	assert_csums_ok(g->buf[1], g->len[1]);
	free(in);
	free(g);
}

/*
 * cn_gro_flush_iov: the same writes as cn_gro_flush, byte for byte, but the
 * payloads are iovecs pointing into the packets added (no copy); the batch
 * stays until the caller resets it; too small buffers are refused.
 */
static void test_gro_flush_iov(void **state)
{
	static uint8_t store[101][SEG_CAP];
	static uint8_t hdrs[CN_GRO_HDRS_MAX], cat[CN_OFFLOAD_PKT_MAX + CN_VNET_HDR_LEN];
	static struct iovec iov[CN_GRO_IOV_MAX];
	struct cn_gro_vec vec[CN_GRO_BATCH_MAX];
	struct gro_res *q = gro_new(CN_GRO_TCP), *ref = gro_new(CN_GRO_TCP);
	uint8_t pl[SEG_CAP];
	struct spec s = tcp(4);
	size_t len[101], n = 0, need;

	(void)state;
	fill(pl, sizeof(pl), 5);
	/* 100 contiguous segments (3 super-packets), then a bare ACK (a lone write). */
	for (int i = 0; i < 101; i++) {
		len[i] = build(&s, pl, i < 100 ? 1400 : 0, store[i]);
		assert_int_equal(cn_gro_add(&q->g, store[i], len[i]), 0);
		assert_int_equal(cn_gro_add(&ref->g, store[i], len[i]), 0);
		s.seq += i < 100 ? 1400 : 0;
		s.id++;
	}
	/* Too small: header room, iovecs, writes. */
	need = (size_t)q->g.ngroup;
	assert_int_equal(need, 4);
	assert_int_equal(cn_gro_flush_iov(&q->g, hdrs, need * CN_GRO_HDRS_ROOM - 1, iov,
					  CN_GRO_IOV_MAX, vec, CN_GRO_BATCH_MAX, &n),
			 -CN_ETOOBIG);
	assert_int_equal(cn_gro_flush_iov(&q->g, hdrs, sizeof(hdrs), iov, 101 + need - 1, vec,
					  CN_GRO_BATCH_MAX, &n),
			 -CN_ETOOBIG);
	assert_int_equal(
		cn_gro_flush_iov(&q->g, hdrs, sizeof(hdrs), iov, CN_GRO_IOV_MAX, vec, need - 1, &n),
		-CN_ETOOBIG);
	assert_int_equal(cn_gro_flush_iov(NULL, hdrs, sizeof(hdrs), iov, CN_GRO_IOV_MAX, vec,
					  CN_GRO_BATCH_MAX, &n),
			 -CN_EINVAL);
	assert_int_equal(cn_gro_flush_iov(&q->g, hdrs, sizeof(hdrs), iov, CN_GRO_IOV_MAX, vec,
					  CN_GRO_BATCH_MAX, &n),
			 0);
	assert_int_equal(n, 4);
	assert_int_equal(q->g.npkt, 101); /* not reset: the payloads are still referenced */
	gro_flush(ref);
	assert_int_equal(ref->n, 4);
	for (size_t w = 0, pk = 0; w < n; w++) {
		size_t at = 0;

		for (size_t j = vec[w].iov0; j < vec[w].iov0 + vec[w].niov; j++) {
			assert_true(at + iov[j].iov_len <= sizeof(cat));
			memcpy(cat + at, iov[j].iov_base, iov[j].iov_len);
			at += iov[j].iov_len;
		}
		assert_int_equal(at, vec[w].len);
		assert_int_equal(vec[w].len, ref->out[w].len);
		assert_memory_equal(cat, ref->out[w].p, at);
		/* Every piece after the headers is a packet's own bytes, in order. */
		for (size_t j = vec[w].iov0 + 1; j < vec[w].iov0 + vec[w].niov; j++, pk++) {
			const uint8_t *b = iov[j].iov_base;

			assert_true(b >= store[pk] && b + iov[j].iov_len == store[pk] + len[pk]);
		}
		assert_int_equal(vec[w].iov0 + vec[w].niov, w + 1 < n ? vec[w + 1].iov0 : 101 + n);
	}
	assert_int_equal(vec[0].niov, 1 + 46);
	assert_int_equal(vec[3].niov, 2);
	cn_gro_init(&q->g, CN_GRO_TCP);
	free(q);
	free(ref);
}

/* A short segment ends a super-packet; 64 KiB and the segment cap start a new one. */
static void test_gro_limits(void **state)
{
	uint8_t pkt[SEG_CAP] = {0}, pl[SEG_CAP];
	struct spec s = tcp(4);
	struct cn_gro_out one;
	size_t len, n = 0;

	(void)state;
	fill(pl, sizeof(pl), 4);
	/* 100 segments of 1400: 46 fit 64 KiB (20+32+46*1400 = 64452), so 3 writes. */
	{
		static uint8_t store[100][SEG_CAP];
		struct gro_res *q = gro_new(CN_GRO_TCP);

		s = tcp(4);
		for (int i = 0; i < 100; i++) {
			len = build(&s, pl, 1400, store[i]);
			assert_int_equal(cn_gro_add(&q->g, store[i], len), 0);
			s.seq += 1400;
			s.id++;
		}
		/* Too small an arena or output array: refused, batch kept. */
		assert_int_equal(cn_gro_flush(&q->g, q->arena, cn_gro_arena_need(&q->g) - 1, q->out,
					      CN_GRO_BATCH_MAX, &n),
				 -CN_ETOOBIG);
		assert_int_equal(cn_gro_flush(&q->g, q->arena, sizeof(q->arena), &one, 1, &n),
				 -CN_ETOOBIG);
		assert_int_equal(n, 0);
		gro_flush(q);
		assert_int_equal(q->n, 3);
		assert_super(q, 0, 46, 1400);
		assert_super(q, 1, 46, 1400);
		assert_super(q, 2, 8, 1400);
		for (size_t i = 0; i < q->n; i++)
			assert_true(q->out[i].len - CN_VNET_HDR_LEN <= CN_OFFLOAD_PKT_MAX);

		/* Batch full: the 129th add is refused. */
		s = tcp(4);
		for (int i = 0; i < CN_GRO_BATCH_MAX; i++) {
			static uint8_t tiny[CN_GRO_BATCH_MAX][80];

			len = build(&s, pl, 10, tiny[i]);
			assert_int_equal(cn_gro_add(&q->g, tiny[i], len), 0);
			s.seq += 10;
		}
		assert_int_equal(cn_gro_add(&q->g, pkt, len), -CN_ETOOBIG);
		gro_flush(q);
		/* CN_OFFLOAD_SEGS_MAX (128) segments in one: exactly one write. */
		assert_int_equal(q->n, 1);
		assert_super(q, 0, CN_GRO_BATCH_MAX, 10);
		assert_int_equal(cn_gro_add(&q->g, pkt, CN_OFFLOAD_PKT_MAX + 1), -CN_ETOOBIG);
		assert_int_equal(cn_gro_add(NULL, pkt, 1), -CN_EINVAL);
		free(q);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vnet_hdr_codec),
		cmocka_unit_test(test_segment_tcp4_options),
		cmocka_unit_test(test_segment_tcp6),
		cmocka_unit_test(test_segment_udp),
		cmocka_unit_test(test_segment_size_limit),
		cmocka_unit_test(test_segment_plain),
		cmocka_unit_test(test_segment_malformed),
		cmocka_unit_test(test_segment_udp_zero_csum),
		cmocka_unit_test(test_gro_merges_pair),
		cmocka_unit_test(test_gro_round_trip),
		cmocka_unit_test(test_gro_refuses),
		cmocka_unit_test(test_gro_passthrough),
		cmocka_unit_test(test_gro_order),
		cmocka_unit_test(test_gro_short_closes),
		cmocka_unit_test(test_gro_limits),
		cmocka_unit_test(test_gro_flush_iov),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
