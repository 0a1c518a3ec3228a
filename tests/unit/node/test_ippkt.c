/* SPDX-License-Identifier: MIT */
/*
 * IP packet helpers (node/ippkt.h): the parser on packets a Linux 6.18 TUN
 * really produced (captured with IFF_TUN|IFF_NO_PI from 10.99.0.1/16 and
 * fd99::1/64 to .7 and ::7) and on malformed ones; checksums against an
 * independent reference; the ICMP unreachable builder's output, re-read field
 * by field with checksums recomputed here, and every refusal.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/err.h"
#include "node/ippkt.h"

/* Captured from the TUN (see the file comment). */
static const char v4_udp[] = "450000270db84000401118410a6300010a630007"
			     "b4d71e61001398fb68656c6c6f20636169726e";
static const char v4_tcp_syn[] = "4500003ca2fa4000400682f40a6300010a630007"
				 "a4de00500927b9f100000000a002fb40ee720000"
				 "0204053c0402080acea1130b000000000103030a";
static const char v4_icmp_echo[] = "4500005430a140004001f53a0a6300010a630007"
				   "08000dd71234000108090a0b0c0d0e0f10111213"
				   "1415161718191a1b1c1d1e1f2021222324252627"
				   "28292a2b2c2d2e2f303132333435363738393a3b"
				   "3c3d3e3f";
static const char v6_icmp_echo[] = "6005d56d00403a40fd9900000000000000000000"
				   "00000001fd990000000000000000000000000007"
				   "80009a201234000108090a0b0c0d0e0f10111213"
				   "1415161718191a1b1c1d1e1f2021222324252627"
				   "28292a2b2c2d2e2f303132333435363738393a3b"
				   "3c3d3e3f";
static const char v6_udp[] = "6002b49000131140fd9900000000000000000000"
			     "00000001fd990000000000000000000000000007"
			     "ce461e610013991e68656c6c6f20636169726e";
static const char v6_tcp_syn[] = "6005667b00280640fd9900000000000000000000"
				 "00000001fd990000000000000000000000000007"
				 "dd2c01bb1f2d04b300000000a002fca81d400000"
				 "020405280402080af67f3a1d000000000103030a";

static const uint8_t me4[4] = {10, 99, 0, 1};
static const uint8_t peer4[4] = {10, 99, 0, 7};
static const uint8_t me6[16] = {0xfd, 0x99, [15] = 1};
static const uint8_t peer6[16] = {0xfd, 0x99, [15] = 7};

static size_t hex(const char *h, uint8_t *out, size_t cap)
{
	size_t n = strlen(h) / 2;

	assert_true(strlen(h) % 2 == 0);
	assert_true(n <= cap);
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		assert_int_equal(sscanf(h + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return n;
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void wr16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/*
 * Reference one's complement sum, written differently from the module's:
 * high and low bytes summed apart, carries folded at the end. Returns the
 * 16-bit sum (not complemented); a region with a correct checksum gives 0xffff.
 */
static uint16_t ref_sum(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
	uint64_t hi = 0, lo = 0, s;

	for (size_t i = 0; i < an; i++)
		*(i % 2 ? &lo : &hi) += a[i];
	for (size_t i = 0; i < bn; i++)
		*(i % 2 ? &lo : &hi) += b[i];
	s = (hi << 8) + lo;
	while (s > 0xffff)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* The pseudo-header as bytes, for ref_sum. */
static size_t ref_pseudo(const uint8_t *pkt, int version, uint8_t proto, uint32_t l4_len,
			 uint8_t out[40])
{
	if (version == 4) {
		memcpy(out, pkt + 12, 8);
		out[8] = 0;
		out[9] = proto;
		wr16(out + 10, l4_len);
		return 12;
	}
	memcpy(out, pkt + 8, 32);
	out[32] = (uint8_t)(l4_len >> 24);
	out[33] = (uint8_t)(l4_len >> 16);
	out[34] = (uint8_t)(l4_len >> 8);
	out[35] = (uint8_t)l4_len;
	out[36] = out[37] = out[38] = 0;
	out[39] = proto;
	return 40;
}

/* The upper-layer checksum of a packet verifies with the reference sum. */
static void assert_l4_csum_ref(const uint8_t *pkt, int version, size_t hl, size_t total,
			       uint8_t proto)
{
	uint8_t ph[40];
	size_t phl = ref_pseudo(pkt, version, proto, (uint32_t)(total - hl), ph);

	assert_int_equal(ref_sum(ph, phl, pkt + hl, total - hl), 0xffff);
}

/* The same through the module's helpers. */
static void assert_l4_csum_mod(const uint8_t *pkt, size_t len)
{
	struct cn_ip_info ip;
	uint32_t sum;

	assert_int_equal(cn_ip_parse(pkt, len, &ip), 0);
	sum = cn_ip_csum_pseudo(&ip, ip.proto, (uint32_t)(ip.total_len - ip.hdr_len));
	sum = cn_ip_csum_add(sum, pkt + ip.hdr_len, ip.total_len - ip.hdr_len);
	assert_int_equal(cn_ip_csum_fold(sum), 0);
}

/* ---- parser ---- */

static void check_v4(const char *h, uint8_t proto)
{
	uint8_t p[256];
	size_t n = hex(h, p, sizeof(p));
	struct cn_ip_info ip;

	assert_int_equal(cn_ip_parse(p, n, &ip), 0);
	assert_int_equal(ip.version, 4);
	assert_int_equal(ip.addr_len, 4);
	assert_int_equal(ip.proto, proto);
	assert_int_equal(ip.hdr_len, 20);
	assert_int_equal(ip.total_len, n);
	assert_ptr_equal(ip.src, p + 12);
	assert_ptr_equal(ip.dst, p + 16);
	assert_memory_equal(ip.src, me4, 4);
	assert_memory_equal(ip.dst, peer4, 4);
	/* The kernel's own checksums verify, both ways. */
	assert_int_equal(ref_sum(p, 20, NULL, 0), 0xffff);
	assert_int_equal(cn_ip_csum_fold(cn_ip_csum_add(0, p, 20)), 0);
	if (proto == CN_IPPROTO_ICMP) {
		assert_int_equal(ref_sum(p + 20, n - 20, NULL, 0), 0xffff);
	} else {
		assert_l4_csum_ref(p, 4, 20, n, proto);
		assert_l4_csum_mod(p, n);
	}
}

static void check_v6(const char *h, uint8_t proto)
{
	uint8_t p[256];
	size_t n = hex(h, p, sizeof(p));
	struct cn_ip_info ip;

	assert_int_equal(cn_ip_parse(p, n, &ip), 0);
	assert_int_equal(ip.version, 6);
	assert_int_equal(ip.addr_len, 16);
	assert_int_equal(ip.proto, proto);
	assert_int_equal(ip.hdr_len, 40);
	assert_int_equal(ip.total_len, n);
	assert_ptr_equal(ip.src, p + 8);
	assert_ptr_equal(ip.dst, p + 24);
	assert_memory_equal(ip.src, me6, 16);
	assert_memory_equal(ip.dst, peer6, 16);
	assert_l4_csum_ref(p, 6, 40, n, proto);
	assert_l4_csum_mod(p, n);
}

static void test_parse_real(void **state)
{
	(void)state;
	check_v4(v4_udp, CN_IPPROTO_UDP);
	check_v4(v4_tcp_syn, CN_IPPROTO_TCP);
	check_v4(v4_icmp_echo, CN_IPPROTO_ICMP);
	check_v6(v6_udp, CN_IPPROTO_UDP);
	check_v6(v6_tcp_syn, CN_IPPROTO_TCP);
	check_v6(v6_icmp_echo, CN_IPPROTO_ICMPV6);
}

static void test_parse_padding(void **state)
{
	uint8_t p[256];
	size_t n = hex(v4_udp, p, sizeof(p));
	struct cn_ip_info ip;

	(void)state;
	memset(p + n, 0xee, 7);
	assert_int_equal(cn_ip_parse(p, n + 7, &ip), 0);
	assert_int_equal(ip.total_len, n);

	n = hex(v6_udp, p, sizeof(p));
	memset(p + n, 0xee, 3);
	assert_int_equal(cn_ip_parse(p, n + 3, &ip), 0);
	assert_int_equal(ip.total_len, n);

	/* IPv6 with payload length 0 (next header 59): just the header. */
	wr16(p + 4, 0);
	p[6] = 59;
	assert_int_equal(cn_ip_parse(p, n, &ip), 0);
	assert_int_equal(ip.total_len, 40);
}

/* Parses p[0..n) expecting err, and checks *out was cleared. */
static void parse_fails(const uint8_t *p, size_t n, int err)
{
	struct cn_ip_info ip;

	memset(&ip, 0xa5, sizeof(ip));
	assert_int_equal(cn_ip_parse(p, n, &ip), err);
	assert_int_equal(ip.version, 0);
	assert_null(ip.src);
	assert_null(ip.dst);
	assert_int_equal(ip.total_len, 0);
}

static void test_parse_malformed(void **state)
{
	uint8_t p[256], q[256];
	size_t n = hex(v4_udp, p, sizeof(p));
	size_t n6;

	(void)state;
	parse_fails(p, 0, -CN_ESHORT);
	parse_fails(NULL, 0, -CN_ESHORT);
	parse_fails(p, 1, -CN_ESHORT);
	parse_fails(p, 19, -CN_ESHORT);
	parse_fails(p, n - 1, -CN_ESHORT); /* total length 39 > 38 bytes */
	assert_int_equal(cn_ip_parse(p, n, NULL), -CN_EINVAL);

	memcpy(q, p, n);
	q[0] = 0x55; /* version 5 */
	parse_fails(q, n, -CN_EFORMAT);
	q[0] = 0x05; /* version 0 */
	parse_fails(q, n, -CN_EFORMAT);
	q[0] = 0xf5;
	parse_fails(q, n, -CN_EFORMAT);
	q[0] = 0x44; /* IHL 4 */
	parse_fails(q, n, -CN_EFORMAT);
	q[0] = 0x40; /* IHL 0 */
	parse_fails(q, n, -CN_EFORMAT);
	q[0] = 0x4f; /* IHL 15 = 60 bytes > total length 39 */
	parse_fails(q, n, -CN_EFORMAT);
	q[0] = 0x45;
	wr16(q + 2, 19); /* total length below the header */
	parse_fails(q, n, -CN_EFORMAT);
	wr16(q + 2, 0);
	parse_fails(q, n, -CN_EFORMAT);
	wr16(q + 2, 0xffff); /* far past the buffer */
	parse_fails(q, n, -CN_ESHORT);
	wr16(q + 2, (unsigned)n + 1);
	parse_fails(q, n, -CN_ESHORT);
	wr16(q + 2, 20); /* header only: valid */
	assert_int_equal(cn_ip_parse(q, n, &(struct cn_ip_info){0}), 0);

	n6 = hex(v6_udp, p, sizeof(p));
	parse_fails(p, 39, -CN_ESHORT);
	parse_fails(p, n6 - 1, -CN_ESHORT);
	memcpy(q, p, n6);
	wr16(q + 4, rd16(p + 4) + 1); /* payload length one more than present */
	parse_fails(q, n6, -CN_ESHORT);
	wr16(q + 4, 0xffff);
	parse_fails(q, n6, -CN_ESHORT);
	q[0] = 0x70; /* version 7 */
	wr16(q + 4, rd16(p + 4));
	parse_fails(q, n6, -CN_EFORMAT);
}

/* ---- checksums ---- */

static void test_csum(void **state)
{
	/* RFC 1071 section 3: the sum of these words is 0xddf2. */
	static const uint8_t rfc[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
	static const uint8_t odd[] = {0x01, 0x02, 0x03};
	uint8_t big[4000];
	struct cn_ip_info ip;
	uint8_t p[256];
	size_t n;

	(void)state;
	assert_int_equal(cn_ip_csum_add(0, rfc, sizeof(rfc)), 0xddf2);
	assert_int_equal(cn_ip_csum_fold(0xddf2), 0x220d);
	/* Chained in even pieces, the same. */
	assert_int_equal(cn_ip_csum_add(cn_ip_csum_add(0, rfc, 2), rfc + 2, 6), 0xddf2);
	/* Odd tail padded with zero: 0x0102 + 0x0300. */
	assert_int_equal(cn_ip_csum_add(0, odd, 3), 0x0402);
	assert_int_equal(cn_ip_csum_fold(0), 0xffff);
	assert_int_equal(cn_ip_csum_fold(0xffff), 0);
	assert_int_equal(cn_ip_csum_fold(0x1fffe), 0);

	/* Long all-0xff input: every carry folds. */
	memset(big, 0xff, sizeof(big));
	assert_int_equal(cn_ip_csum_add(0, big, sizeof(big)), ref_sum(big, sizeof(big), NULL, 0));
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 131 + 7);
	assert_int_equal(cn_ip_csum_add(0, big, sizeof(big)), ref_sum(big, sizeof(big), NULL, 0));
	assert_int_equal(cn_ip_csum_add(0, big, 3999), ref_sum(big, 3999, NULL, 0));
	/* Every length and alignment up to a few words, and chains split at even offsets. */
	for (size_t off = 0; off < 8; off++) {
		for (size_t len = 0; len < 100; len++) {
			uint32_t chained = 0;

			assert_int_equal(cn_ip_csum_add(0, big + off, len),
					 ref_sum(big + off, len, NULL, 0));
			for (size_t at = 0; at < len; at += 6)
				chained = cn_ip_csum_add(chained, big + off + at,
							 len - at < 6 ? len - at : 6);
			assert_int_equal(chained, ref_sum(big + off, len, NULL, 0));
		}
	}
	/* A running sum carried in: the same as summing everything at once. */
	assert_int_equal(cn_ip_csum_add(cn_ip_csum_add(0, big, 1000), big + 1000, 2999),
			 ref_sum(big, 3999, NULL, 0));
	memset(big, 0, sizeof(big));
	assert_int_equal(cn_ip_csum_add(0, big, sizeof(big)), 0); /* all zero stays 0 */

	/* Pseudo-headers against the reference bytes, both families. */
	n = hex(v4_udp, p, sizeof(p));
	assert_int_equal(cn_ip_parse(p, n, &ip), 0);
	{
		uint8_t ph[40];
		size_t phl = ref_pseudo(p, 4, 17, 19, ph);

		assert_int_equal(cn_ip_csum_pseudo(&ip, 17, 19), ref_sum(ph, phl, NULL, 0));
	}
	n = hex(v6_udp, p, sizeof(p));
	assert_int_equal(cn_ip_parse(p, n, &ip), 0);
	{
		uint8_t ph[40];
		size_t phl = ref_pseudo(p, 6, 17, 70000, ph);

		assert_int_equal(cn_ip_csum_pseudo(&ip, 17, 70000), ref_sum(ph, phl, NULL, 0));
	}
	/* A corrupted captured packet no longer verifies. */
	p[45] ^= 0x10;
	assert_int_equal(cn_ip_parse(p, n, &ip), 0);
	assert_int_not_equal(
		cn_ip_csum_fold(cn_ip_csum_add(cn_ip_csum_pseudo(&ip, 17, (uint32_t)(n - 40)),
					       p + 40, n - 40)),
		0);
}

/* ---- ICMP unreachable ---- */

/*
 * Checks an IPv4 answer to orig[0..olen) field by field with the reference
 * checksum; returns how many bytes of orig it quotes.
 */
static size_t check_answer4(const uint8_t *out, size_t len, const uint8_t *orig, size_t olen,
			    const uint8_t *src)
{
	size_t quote = len - 28;

	assert_true(len >= 28 + 20 + 8 || len == 28 + olen);
	assert_true(len <= 576);
	assert_int_equal(out[0], 0x45);
	assert_int_equal(rd16(out + 2), len);
	assert_int_equal(rd16(out + 6), 0x4000); /* DF, offset 0 */
	assert_int_equal(out[8], 64);
	assert_int_equal(out[9], 1);
	assert_memory_equal(out + 12, src, 4);
	assert_memory_equal(out + 16, orig + 12, 4); /* to orig's source */
	assert_int_equal(ref_sum(out, 20, NULL, 0), 0xffff);
	assert_int_equal(out[20], 3);
	assert_int_equal(out[21], 1);
	assert_int_equal(ref_sum(out + 20, len - 20, NULL, 0), 0xffff);
	assert_memory_equal(out + 24, "\0\0\0\0", 4);
	assert_true(quote <= olen);
	assert_memory_equal(out + 28, orig, quote);
	return quote;
}

static size_t check_answer6(const uint8_t *out, size_t len, const uint8_t *orig, size_t olen,
			    const uint8_t *src)
{
	size_t quote = len - 48;
	uint8_t ph[40];
	size_t phl;

	assert_true(len <= 1280);
	assert_int_equal(out[0], 0x60);
	assert_memory_equal(out + 1, "\0\0\0", 3);
	assert_int_equal(rd16(out + 4), len - 40);
	assert_int_equal(out[6], 58);
	assert_int_equal(out[7], 64);
	assert_memory_equal(out + 8, src, 16);
	assert_memory_equal(out + 24, orig + 8, 16);
	assert_int_equal(out[40], 1);
	assert_int_equal(out[41], 3);
	phl = ref_pseudo(out, 6, 58, (uint32_t)(len - 40), ph);
	assert_int_equal(ref_sum(ph, phl, out + 40, len - 40), 0xffff);
	assert_memory_equal(out + 44, "\0\0\0\0", 4);
	assert_true(quote <= olen);
	assert_memory_equal(out + 48, orig, quote);
	return quote;
}

static void test_unreach_v4(void **state)
{
	const char *pkts[] = {v4_udp, v4_tcp_syn, v4_icmp_echo};
	uint8_t p[256], out[CN_ICMP_UNREACH_MAX];
	size_t n, len;

	(void)state;
	for (size_t i = 0; i < sizeof(pkts) / sizeof(pkts[0]); i++) {
		n = hex(pkts[i], p, sizeof(p));
		len = 99;
		assert_int_equal(cn_icmp_unreachable(p, n, peer4, out, sizeof(out), &len), 0);
		assert_int_equal(len, 28 + n);
		assert_int_equal(check_answer4(out, len, p, n, peer4), n);
	}
	/* Padding after the packet is not quoted. */
	n = hex(v4_udp, p, sizeof(p));
	memset(p + n, 0xee, 9);
	assert_int_equal(cn_icmp_unreachable(p, n + 9, me4, out, sizeof(out), &len), 0);
	assert_int_equal(len, 28 + n);
	check_answer4(out, len, p, n, me4);
}

static void test_unreach_v4_options_and_limit(void **state)
{
	uint8_t p[1400], out[CN_ICMP_UNREACH_MAX];
	size_t n, len;

	(void)state;
	/* IHL 6 (one option word, NOP NOP NOP EOL): the quote keeps it. */
	n = hex(v4_udp, p, sizeof(p));
	memmove(p + 24, p + 20, n - 20);
	memcpy(p + 20, "\x01\x01\x01\x00", 4);
	p[0] = 0x46;
	wr16(p + 2, (unsigned)n + 4);
	assert_int_equal(cn_icmp_unreachable(p, n + 4, peer4, out, sizeof(out), &len), 0);
	assert_int_equal(check_answer4(out, len, p, n + 4, peer4), n + 4);

	/* A 1380-byte datagram: the answer is exactly 576 bytes, quoting 548. */
	n = hex(v4_udp, p, sizeof(p));
	for (size_t i = 20; i < 1380; i++)
		p[i] = (uint8_t)i;
	wr16(p + 2, 1380);
	assert_int_equal(cn_icmp_unreachable(p, 1380, peer4, out, sizeof(out), &len), 0);
	assert_int_equal(len, 576);
	assert_int_equal(check_answer4(out, len, p, 1380, peer4), 548);

	/* cap: exactly enough works; one short writes nothing. */
	assert_int_equal(cn_icmp_unreachable(p, 1380, peer4, out, 576, &len), 0);
	memset(out, 0x5a, sizeof(out));
	len = 7;
	assert_int_equal(cn_icmp_unreachable(p, 1380, peer4, out, 575, &len), -CN_ETOOBIG);
	assert_int_equal(len, 0);
	for (size_t i = 0; i < sizeof(out); i++)
		assert_int_equal(out[i], 0x5a);
	assert_int_equal(cn_icmp_unreachable(p, 1380, peer4, out, 0, &len), -CN_ETOOBIG);
}

static void test_unreach_v6(void **state)
{
	const char *pkts[] = {v6_udp, v6_tcp_syn, v6_icmp_echo};
	uint8_t p[1400], out[CN_ICMP_UNREACH_MAX];
	size_t n, len;

	(void)state;
	for (size_t i = 0; i < sizeof(pkts) / sizeof(pkts[0]); i++) {
		n = hex(pkts[i], p, sizeof(p));
		assert_int_equal(cn_icmp_unreachable(p, n, peer6, out, sizeof(out), &len), 0);
		assert_int_equal(len, 48 + n);
		assert_int_equal(check_answer6(out, len, p, n, peer6), n);
	}
	/* 1380 bytes: the answer is the IPv6 minimum MTU, quoting 1232. */
	n = hex(v6_udp, p, sizeof(p));
	for (size_t i = 40; i < 1380; i++)
		p[i] = (uint8_t)(i * 3);
	wr16(p + 4, 1340);
	assert_int_equal(cn_icmp_unreachable(p, 1380, me6, out, sizeof(out), &len), 0);
	assert_int_equal(len, 1280);
	assert_int_equal(check_answer6(out, len, p, 1380, me6), 1232);
	assert_int_equal(cn_icmp_unreachable(p, 1380, me6, out, 1279, &len), -CN_ETOOBIG);
	assert_int_equal(len, 0);
	assert_int_equal(cn_icmp_unreachable(p, 1380, me6, out, 1280, &len), 0);
}

/* Expects a refusal that writes nothing. */
static void refused(const uint8_t *p, size_t n, const uint8_t *src)
{
	uint8_t out[CN_ICMP_UNREACH_MAX];
	size_t len = 5;

	memset(out, 0x5a, sizeof(out));
	assert_int_equal(cn_icmp_unreachable(p, n, src, out, sizeof(out), &len), -CN_EINVAL);
	assert_int_equal(len, 0);
	for (size_t i = 0; i < sizeof(out); i++)
		assert_int_equal(out[i], 0x5a);
}

static void answered(const uint8_t *p, size_t n, const uint8_t *src)
{
	uint8_t out[CN_ICMP_UNREACH_MAX];
	size_t len;

	assert_int_equal(cn_icmp_unreachable(p, n, src, out, sizeof(out), &len), 0);
	assert_true(len > 0);
}

static void test_refuse_icmp_errors(void **state)
{
	uint8_t p[256], q[CN_ICMP_UNREACH_MAX];
	size_t n, len;
	static const uint8_t errors4[] = {3, 4, 5, 11, 12, 42, 255};
	static const uint8_t queries4[] = {0, 8, 13, 14, 17, 18};

	(void)state;
	/* Our own answers are ICMP errors: never answered. */
	n = hex(v4_udp, p, sizeof(p));
	assert_int_equal(cn_icmp_unreachable(p, n, peer4, q, sizeof(q), &len), 0);
	refused(q, len, me4);
	n = hex(v6_udp, p, sizeof(p));
	assert_int_equal(cn_icmp_unreachable(p, n, peer6, q, sizeof(q), &len), 0);
	refused(q, len, me6);

	/* ICMPv4 by type (checksum does not matter for the decision). */
	n = hex(v4_icmp_echo, p, sizeof(p));
	for (size_t i = 0; i < sizeof(errors4); i++) {
		p[20] = errors4[i];
		refused(p, n, peer4);
	}
	for (size_t i = 0; i < sizeof(queries4); i++) {
		p[20] = queries4[i];
		answered(p, n, peer4);
	}
	/* ICMP with no type byte: cannot tell, refused. */
	wr16(p + 2, 20);
	refused(p, 20, peer4);

	/* ICMPv6 types below 128 are errors (2 = packet too big, 4 = parameter problem). */
	n = hex(v6_icmp_echo, p, sizeof(p));
	answered(p, n, peer6);
	p[40] = 2;
	refused(p, n, peer6);
	p[40] = 127;
	refused(p, n, peer6);
	p[40] = 135; /* neighbour solicitation: informational */
	answered(p, n, peer6);
	wr16(p + 4, 0); /* ICMPv6 without a type byte */
	refused(p, 40, peer6);
}

/* Builds an IPv6 packet from v6_udp with ext (whole extension headers) in front. */
static size_t v6_with_ext(uint8_t *p, size_t cap, uint8_t first_nh, const uint8_t *ext,
			  size_t ext_len, const uint8_t *l4, size_t l4_len)
{
	uint8_t base[256];

	hex(v6_udp, base, sizeof(base));
	assert_true(40 + ext_len + l4_len <= cap);
	memcpy(p, base, 40);
	p[6] = first_nh;
	if (ext_len)
		memcpy(p + 40, ext, ext_len);
	if (l4_len)
		memcpy(p + 40 + ext_len, l4, l4_len);
	wr16(p + 4, (unsigned)(ext_len + l4_len));
	return 40 + ext_len + l4_len;
}

static void test_refuse_fragments_and_ext(void **state)
{
	uint8_t p[512], b[256];
	size_t n;
	/* Hop-by-hop (8 bytes, PadN) -> ICMPv6 */
	static const uint8_t hbh_icmp[] = {58, 0, 1, 4, 0, 0, 0, 0};
	/* Hop-by-hop -> destination options (16 bytes) -> ICMPv6 */
	static const uint8_t hbh_dst[] = {60, 0, 1, 4, 0, 0, 0, 0, 58, 1, 1, 12,
					  0,  0, 0, 0, 0, 0, 0, 0, 0,  0, 0, 0};
	/* Fragment header, offset 0, M = 1 -> UDP / ICMPv6; offset 8 -> UDP */
	static const uint8_t frag_first_udp[] = {17, 0, 0x00, 0x01, 0, 0, 0, 42};
	static const uint8_t frag_first_icmp[] = {58, 0, 0x00, 0x01, 0, 0, 0, 42};
	static const uint8_t frag_later[] = {17, 0, 0x00, 0x08, 0, 0, 0, 42};
	/* AH (payload len 4: 24 bytes) -> ICMPv6 */
	static const uint8_t ah_icmp[] = {58, 4, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1,
					  0,  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
	static const uint8_t icmp_err[] = {1, 4, 0, 0, 0, 0, 0, 0};
	static const uint8_t icmp_echo[] = {128, 0, 0, 0, 0, 1, 0, 1};
	static const uint8_t udp[] = {0x12, 0x34, 0x1e, 0x61, 0, 8, 0, 0};

	(void)state;
	/* IPv4: offset != 0 refused, first fragment (MF only) answered. */
	n = hex(v4_udp, b, sizeof(b));
	wr16(b + 6, 0x2000); /* MF, offset 0 */
	answered(b, n, peer4);
	wr16(b + 6, 0x2001); /* MF, offset 8 */
	refused(b, n, peer4);
	wr16(b + 6, 0x0001); /* last fragment */
	refused(b, n, peer4);
	wr16(b + 6, 0x5fff);
	refused(b, n, peer4);

	/* IPv6 extension header walks. */
	n = v6_with_ext(p, sizeof(p), 0, hbh_icmp, sizeof(hbh_icmp), icmp_err, 8);
	refused(p, n, peer6);
	n = v6_with_ext(p, sizeof(p), 0, hbh_icmp, sizeof(hbh_icmp), icmp_echo, 8);
	answered(p, n, peer6);
	n = v6_with_ext(p, sizeof(p), 0, hbh_dst, sizeof(hbh_dst), icmp_err, 8);
	refused(p, n, peer6);
	n = v6_with_ext(p, sizeof(p), 0, hbh_dst, sizeof(hbh_dst), icmp_echo, 8);
	answered(p, n, peer6);
	n = v6_with_ext(p, sizeof(p), 51, ah_icmp, sizeof(ah_icmp), icmp_err, 8);
	refused(p, n, peer6);
	n = v6_with_ext(p, sizeof(p), 51, ah_icmp, sizeof(ah_icmp), icmp_echo, 8);
	answered(p, n, peer6);
	n = v6_with_ext(p, sizeof(p), 44, frag_first_udp, 8, udp, 8);
	answered(p, n, peer6);
	n = v6_with_ext(p, sizeof(p), 44, frag_first_icmp, 8, icmp_err, 8);
	refused(p, n, peer6);
	n = v6_with_ext(p, sizeof(p), 44, frag_later, 8, udp, 8);
	refused(p, n, peer6);
	/* Chain running past the packet: the dst-options header claims 16 bytes. */
	n = v6_with_ext(p, sizeof(p), 0, hbh_dst, 16, NULL, 0);
	refused(p, n, peer6);
	/* Hop-by-hop header cut in half. */
	n = v6_with_ext(p, sizeof(p), 0, hbh_icmp, 4, NULL, 0);
	refused(p, n, peer6);
	/* ESP and "no next header" are not ICMP: answered. */
	n = v6_with_ext(p, sizeof(p), 50, udp, 8, NULL, 0);
	answered(p, n, peer6);
	n = v6_with_ext(p, sizeof(p), 59, NULL, 0, NULL, 0);
	answered(p, n, peer6);
}

static void test_refuse_addresses(void **state)
{
	static const uint8_t bad4[][4] = {
		{0, 0, 0, 0},	  {0, 1, 2, 3},		{127, 0, 0, 1}, {224, 0, 0, 1},
		{224, 0, 0, 251}, {239, 255, 255, 250}, {240, 0, 0, 1}, {255, 255, 255, 255},
	};
	static const uint8_t bad6[][16] = {
		{0},				  /* :: */
		{[15] = 1},			  /* ::1 */
		{0xff, 0x02, [15] = 1},		  /* ff02::1 */
		{0xff, 0x02, [15] = 2},		  /* ff02::2 */
		{0xff, 0x0e, [14] = 1, [15] = 1}, /* global multicast */
	};
	uint8_t p[256], q[256];
	size_t n;

	(void)state;
	n = hex(v4_udp, p, sizeof(p));
	for (size_t i = 0; i < sizeof(bad4) / sizeof(bad4[0]); i++) {
		memcpy(q, p, n);
		memcpy(q + 12, bad4[i], 4); /* source */
		refused(q, n, peer4);
		memcpy(q, p, n);
		memcpy(q + 16, bad4[i], 4); /* destination */
		refused(q, n, peer4);
	}
	/* A subnet-style address is still one host as far as we can tell. */
	memcpy(q, p, n);
	memcpy(q + 16, "\x0a\x63\xff\xff", 4);
	answered(q, n, peer4);

	n = hex(v6_udp, p, sizeof(p));
	for (size_t i = 0; i < sizeof(bad6) / sizeof(bad6[0]); i++) {
		memcpy(q, p, n);
		memcpy(q + 8, bad6[i], 16);
		refused(q, n, peer6);
		memcpy(q, p, n);
		memcpy(q + 24, bad6[i], 16);
		refused(q, n, peer6);
	}
	/* Link-local unicast is one host. */
	memcpy(q, p, n);
	memcpy(q + 8, "\xfe\x80\0\0\0\0\0\0\0\0\0\0\0\0\0\x09", 16);
	answered(q, n, peer6);
}

static void test_unreach_bad_input(void **state)
{
	uint8_t p[256], out[CN_ICMP_UNREACH_MAX];
	size_t n = hex(v4_udp, p, sizeof(p));
	size_t len = 3;

	(void)state;
	assert_int_equal(cn_icmp_unreachable(p, n - 1, peer4, out, sizeof(out), &len), -CN_ESHORT);
	assert_int_equal(len, 0);
	p[0] = 0x35;
	len = 3;
	assert_int_equal(cn_icmp_unreachable(p, n, peer4, out, sizeof(out), &len), -CN_EFORMAT);
	assert_int_equal(len, 0);
	p[0] = 0x45;
	assert_int_equal(cn_icmp_unreachable(NULL, n, peer4, out, sizeof(out), &len), -CN_EINVAL);
	assert_int_equal(cn_icmp_unreachable(p, n, NULL, out, sizeof(out), &len), -CN_EINVAL);
	assert_int_equal(cn_icmp_unreachable(p, n, peer4, NULL, sizeof(out), &len), -CN_EINVAL);
	assert_int_equal(cn_icmp_unreachable(p, n, peer4, out, sizeof(out), NULL), -CN_EINVAL);
	assert_int_equal(cn_icmp_unreachable(p, 0, peer4, out, sizeof(out), &len), -CN_ESHORT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_real),
		cmocka_unit_test(test_parse_padding),
		cmocka_unit_test(test_parse_malformed),
		cmocka_unit_test(test_csum),
		cmocka_unit_test(test_unreach_v4),
		cmocka_unit_test(test_unreach_v4_options_and_limit),
		cmocka_unit_test(test_unreach_v6),
		cmocka_unit_test(test_refuse_icmp_errors),
		cmocka_unit_test(test_refuse_fragments_and_ext),
		cmocka_unit_test(test_refuse_addresses),
		cmocka_unit_test(test_unreach_bad_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
