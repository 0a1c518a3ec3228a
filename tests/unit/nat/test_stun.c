/* SPDX-License-Identifier: MIT */
/*
 * STUN Binding codec: RFC 5769 vectors, the classic request Debian's `stun`
 * 0.97 and libnice 0.1.21 send, round trips, the answer policy and
 * malformed input. Messages for the malformed cases are built here with an
 * independent (bitwise) CRC-32 so each breaks exactly one rule.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/err.h"
#include "nat/stun.h"

/* RFC 5769 section 2.1: request with SOFTWARE, PRIORITY, ICE-CONTROLLED,
 * USERNAME, MESSAGE-INTEGRITY (password VOkJxbRl1RmTxUk/WvJxBt), FINGERPRINT. */
static const char v_request[] = "000100582112a442b7e7a701bc34d686fa87dfae"
				"802200105354554e20746573742063"
				"6c69656e74002400046e0001ff80290008932ff9b151263b36"
				"000600096576746a3a68367659202020"
				"000800149aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a2"
				"80280004e57a3bcf";
/* 2.2: IPv4 response, XOR-MAPPED-ADDRESS 192.0.2.1:32853. */
static const char v_ipv4[] = "0101003c2112a442b7e7a701bc34d686fa87dfae"
			     "8022000b7465737420766563746f7220"
			     "002000080001a147e112a643"
			     "000800142b91f599fd9e90c38c7489f92af9ba53f06be7d7"
			     "80280004c07d4c96";
/* 2.3: IPv6 response, 2001:db8:1234:5678:11:2233:4455:6677 port 32853. */
static const char v_ipv6[] = "010100482112a442b7e7a701bc34d686fa87dfae"
			     "8022000b7465737420766563746f7220"
			     "002000140002a1470113a9faa5d3f179bc25f4b5bed2b9d9"
			     "00080014a382954e4be67bf11784c97c8292c275bfe3ed41"
			     "80280004c8fb0b4c";
static const uint8_t v_tid[CN_STUN_TID_LEN] = {0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
					       0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae};
static const uint8_t v_ip6[16] = {0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34, 0x56, 0x78,
				  0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77};

/* Test I of Debian's `stun` 0.97 (captured): classic Binding Request, id[0]
 * = test number, CHANGE-REQUEST 0. */
static const char v_stund[] = "0001000801576d44619bf45b07910c0ccf349814"
			      "0003000400000000";
/* Its test II: CHANGE-REQUEST change-IP. */
static const char v_stund_change_ip[] = "0001000802083d25765cf04ebc06042978b50268"
					"0003000400000004";
/* libnice 0.1.21 server-reflexive discovery (captured): no cookie, no attributes. */
static const char v_nice[] = "000100003c64def3ac32e05fc1036fe404c4d19a";

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

/* Bitwise CRC-32, independent of the codec's table. */
static uint32_t ref_crc32(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffu;

	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0xedb88320u : c >> 1;
	}
	return ~c;
}

static void assert_addr_equal(const struct cn_stun_addr *x, const struct cn_stun_addr *y)
{
	assert_int_equal(x->family, y->family);
	assert_int_equal(x->port, y->port);
	assert_memory_equal(x->ip, y->ip, sizeof(x->ip));
}

/* A message under construction; length fixed up by fin(). */
struct b {
	uint8_t p[1024];
	size_t n;
};

static void put16(struct b *b, unsigned v)
{
	b->p[b->n++] = (uint8_t)(v >> 8);
	b->p[b->n++] = (uint8_t)v;
}

static void put32(struct b *b, uint32_t v)
{
	put16(b, v >> 16);
	put16(b, v & 0xffff);
}

static void start(struct b *b, unsigned type, bool cookie)
{
	static const uint8_t id[16] = {0x21, 0x12, 0xa4, 0x42, 1, 2,  3,  4,
				       5,    6,	   7,	 8,    9, 10, 11, 12};

	memset(b, 0, sizeof(*b));
	put16(b, type);
	put16(b, 0);
	memcpy(b->p + b->n, id, 16);
	if (!cookie)
		b->p[b->n] = 0x77;
	b->n += 16;
}

/* Attribute with len value bytes (0xab) and padding bytes pad_byte. */
static void attr(struct b *b, unsigned type, size_t len, uint8_t pad_byte)
{
	put16(b, type);
	put16(b, (unsigned)len);
	memset(b->p + b->n, 0xab, len);
	b->n += len;
	while (b->n % 4)
		b->p[b->n++] = pad_byte;
}

static void attr_bytes(struct b *b, unsigned type, const void *v, size_t len)
{
	put16(b, type);
	put16(b, (unsigned)len);
	memcpy(b->p + b->n, v, len);
	b->n += len;
	while (b->n % 4)
		b->p[b->n++] = 0;
}

static void fix_len(struct b *b)
{
	b->p[2] = (uint8_t)((b->n - 20) >> 8);
	b->p[3] = (uint8_t)(b->n - 20);
}

/* Appends a correct FINGERPRINT and fixes the length. */
static void fingerprint(struct b *b)
{
	size_t at = b->n;

	b->n += 8;
	fix_len(b);
	b->n = at;
	put16(b, CN_STUN_ATTR_FINGERPRINT);
	put16(b, 4);
	put32(b, ref_crc32(b->p, at) ^ 0x5354554eu);
}

static int req_of(const struct b *b, struct cn_stun_request *r)
{
	return cn_stun_decode_request(b->p, b->n, r);
}

static void test_crc_known_value(void **state)
{
	/* The check value of CRC-32/ISO-HDLC. */
	(void)state;
	assert_int_equal(ref_crc32((const uint8_t *)"123456789", 9), 0xcbf43926u);
}

static void test_rfc5769_request(void **state)
{
	uint8_t m[256];
	size_t n = hex(v_request, m, sizeof(m));
	struct cn_stun_request r;

	(void)state;
	assert_true(cn_stun_is_stun(m, n));
	assert_int_equal(cn_stun_decode_request(m, n, &r), 0);
	assert_false(r.classic);
	assert_true(r.fingerprint);
	assert_int_equal(r.change, 0);
	/* PRIORITY is understood, ICE-CONTROLLED optional: nothing unknown. */
	assert_int_equal(r.n_unknown, 0);
	assert_memory_equal(r.id, m + 4, 16);
	assert_int_equal(cn_stun_request_reply(&r), CN_STUN_REPLY_SUCCESS);

	/* MESSAGE-INTEGRITY is not checked, but FINGERPRINT covers it. */
	m[n - 20] ^= 1;
	assert_int_equal(cn_stun_decode_request(m, n, &r), -CN_EFORMAT);
	m[n - 20] ^= 1;
	/* And a flipped bit in the FINGERPRINT value itself. */
	m[n - 1] ^= 0x80;
	assert_int_equal(cn_stun_decode_request(m, n, &r), -CN_EFORMAT);
	m[n - 1] ^= 0x80;
	assert_int_equal(cn_stun_decode_request(m, n, &r), 0);
}

static void test_rfc5769_ipv4_response(void **state)
{
	uint8_t m[256], other[CN_STUN_TID_LEN];
	size_t n = hex(v_ipv4, m, sizeof(m));
	struct cn_stun_addr a;
	struct cn_stun_request r;

	(void)state;
	assert_true(cn_stun_is_stun(m, n));
	assert_int_equal(cn_stun_decode_binding_response(m, n, v_tid, &a), 0);
	assert_int_equal(a.family, CN_STUN_FAMILY_IPV4);
	assert_int_equal(a.port, 32853);
	assert_memory_equal(a.ip, ((const uint8_t[]){192, 0, 2, 1}), 4);

	memcpy(other, v_tid, sizeof(other));
	other[11] ^= 1;
	assert_int_equal(cn_stun_decode_binding_response(m, n, other, &a), -CN_ENOTFOUND);
	assert_int_equal(a.family, 0);
	/* A response is not a request. */
	assert_int_equal(cn_stun_decode_request(m, n, &r), -CN_EFORMAT);
	/* Fingerprint: flip a byte of SOFTWARE, of the padding, of MESSAGE-INTEGRITY. */
	for (size_t i = 24; i < n - 8; i++) {
		m[i] ^= 0x01;
		assert_int_equal(cn_stun_decode_binding_response(m, n, v_tid, &a), -CN_EFORMAT);
		m[i] ^= 0x01;
	}
	assert_int_equal(cn_stun_decode_binding_response(m, n, v_tid, &a), 0);
}

static void test_rfc5769_ipv6_response(void **state)
{
	uint8_t m[256];
	size_t n = hex(v_ipv6, m, sizeof(m));
	struct cn_stun_addr a;

	(void)state;
	assert_int_equal(cn_stun_decode_binding_response(m, n, v_tid, &a), 0);
	assert_int_equal(a.family, CN_STUN_FAMILY_IPV6);
	assert_int_equal(a.port, 32853);
	assert_memory_equal(a.ip, v_ip6, 16);
	m[n - 4] ^= 0xff;
	assert_int_equal(cn_stun_decode_binding_response(m, n, v_tid, &a), -CN_EFORMAT);
}

/* Our encoder produces the vectors' XOR-MAPPED-ADDRESS bytes. */
static void test_encode_matches_vectors(void **state)
{
	uint8_t v[256], out[CN_STUN_MSG_MAX];
	struct cn_stun_request r;
	struct cn_stun_addr a = {
		.family = CN_STUN_FAMILY_IPV4, .port = 32853, .ip = {192, 0, 2, 1}};
	size_t len, vn;

	(void)state;
	vn = hex(v_request, v, sizeof(v));
	assert_int_equal(cn_stun_decode_request(v, vn, &r), 0);
	assert_int_equal(cn_stun_encode_binding_response(&r, &a, NULL, out, sizeof(out), &len), 0);
	assert_int_equal(len, 20 + 12 + 8);
	hex(v_ipv4, v, sizeof(v));
	assert_memory_equal(out + 4, v + 4, 16);   /* cookie and transaction id */
	assert_memory_equal(out + 20, v + 36, 12); /* XOR-MAPPED-ADDRESS */
	assert_int_equal(out[0] << 8 | out[1], 0x0101);
	assert_int_equal(out[2] << 8 | out[3], 20);
	assert_memory_equal(out + 32, ((const uint8_t[]){0x80, 0x28, 0, 4}), 4);
	assert_int_equal((uint32_t)out[36] << 24 | (uint32_t)out[37] << 16 | out[38] << 8 | out[39],
			 ref_crc32(out, 32) ^ 0x5354554eu);

	a.family = CN_STUN_FAMILY_IPV6;
	memcpy(a.ip, v_ip6, 16);
	assert_int_equal(cn_stun_encode_binding_response(&r, &a, NULL, out, sizeof(out), &len), 0);
	hex(v_ipv6, v, sizeof(v));
	assert_int_equal(len, 20 + 24 + 8);
	assert_memory_equal(out + 20, v + 36, 24);
}

static void test_stund_classic_request(void **state)
{
	uint8_t m[64], out[CN_STUN_MSG_MAX];
	size_t n = hex(v_stund, m, sizeof(m)), len;
	struct cn_stun_request r;
	struct cn_stun_addr a = {
		.family = CN_STUN_FAMILY_IPV4, .port = 29572, .ip = {127, 0, 0, 1}};
	struct cn_stun_addr got;
	uint8_t want[64];
	size_t wn;

	(void)state;
	assert_false(cn_stun_is_stun(m, n));
	assert_int_equal(cn_stun_decode_request(m, n, &r), 0);
	assert_true(r.classic);
	assert_false(r.fingerprint);
	assert_int_equal(r.change, 0);
	assert_memory_equal(r.id, m + 4, 16);
	assert_int_equal(cn_stun_request_reply(&r), CN_STUN_REPLY_SUCCESS);
	/* Software is not sent to classic clients. */
	assert_int_equal(cn_stun_encode_binding_response(&r, &a, "cairn", out, sizeof(out), &len),
			 0);
	/* What `stun` 0.97 accepted: header, the 16-byte id, MAPPED-ADDRESS. */
	wn = hex("0101000c01576d44619bf45b07910c0ccf349814"
		 "00010008000173847f000001",
		 want, sizeof(want));
	assert_int_equal(len, wn);
	assert_memory_equal(out, want, wn);
	assert_int_equal(cn_stun_decode_classic_binding_response(out, len, r.id, &got), 0);
	assert_addr_equal(&got, &a);
	/* Not an RFC 8489 response: no cookie in it. */
	assert_int_equal(cn_stun_decode_binding_response(out, len, r.id + 4, &got), -CN_ENOTFOUND);

	/* Test II asks for another address: no answer at all. */
	n = hex(v_stund_change_ip, m, sizeof(m));
	assert_int_equal(cn_stun_decode_request(m, n, &r), 0);
	assert_true(r.classic);
	assert_int_equal(r.change, CN_STUN_CHANGE_IP);
	assert_int_equal(cn_stun_request_reply(&r), CN_STUN_REPLY_NONE);
	assert_int_equal(cn_stun_encode_unknown_response(&r, NULL, out, sizeof(out), &len),
			 -CN_EINVAL);
}

static void test_libnice_classic_request(void **state)
{
	uint8_t m[64], out[CN_STUN_MSG_MAX];
	size_t n = hex(v_nice, m, sizeof(m)), len;
	struct cn_stun_request r;
	struct cn_stun_addr a = {.family = CN_STUN_FAMILY_IPV6, .port = 1, .ip = {0xfd, [15] = 2}};
	struct cn_stun_addr got;

	(void)state;
	assert_int_equal(n, 20);
	assert_false(cn_stun_is_stun(m, n));
	assert_int_equal(cn_stun_decode_request(m, n, &r), 0);
	assert_true(r.classic);
	assert_int_equal(cn_stun_request_reply(&r), CN_STUN_REPLY_SUCCESS);
	assert_int_equal(cn_stun_encode_binding_response(&r, &a, NULL, out, sizeof(out), &len), 0);
	assert_int_equal(len, 20 + 4 + 20);
	assert_int_equal(cn_stun_decode_classic_binding_response(out, len, r.id, &got), 0);
	assert_addr_equal(&got, &a);
}

static void test_round_trip(void **state)
{
	static const char *const sw[] = {NULL, "", "a", "ab", "abc", "abcd", "cairn-relay 0.1"};
	uint8_t tid[CN_STUN_TID_LEN], req[CN_STUN_MSG_MAX], resp[CN_STUN_MSG_MAX];
	struct cn_stun_request r;
	struct cn_stun_addr a, got;
	size_t qlen, plen;

	(void)state;
	for (unsigned i = 0; i < 64; i++) {
		const char *s = sw[i % (sizeof(sw) / sizeof(sw[0]))];

		for (unsigned k = 0; k < sizeof(tid); k++)
			tid[k] = (uint8_t)(i * 31 + k * 7);
		memset(&a, 0, sizeof(a));
		a.family = (i & 1) ? CN_STUN_FAMILY_IPV6 : CN_STUN_FAMILY_IPV4;
		a.port = (uint16_t)(i * 1021);
		for (unsigned k = 0; k < (a.family == CN_STUN_FAMILY_IPV4 ? 4u : 16u); k++)
			a.ip[k] = (uint8_t)(i + k * 13);

		assert_int_equal(cn_stun_encode_binding_request(tid, s, req, sizeof(req), &qlen),
				 0);
		assert_true(cn_stun_is_stun(req, qlen));
		assert_int_equal(cn_stun_decode_request(req, qlen, &r), 0);
		assert_false(r.classic);
		assert_true(r.fingerprint);
		assert_memory_equal(r.id + 4, tid, sizeof(tid));
		assert_int_equal(cn_stun_request_reply(&r), CN_STUN_REPLY_SUCCESS);

		assert_int_equal(
			cn_stun_encode_binding_response(&r, &a, s, resp, sizeof(resp), &plen), 0);
		assert_true(cn_stun_is_stun(resp, plen));
		assert_int_equal(cn_stun_decode_binding_response(resp, plen, tid, &got), 0);
		assert_addr_equal(&got, &a);
		/* The response is not a request, the request not a response. */
		assert_int_equal(cn_stun_decode_request(resp, plen, &r), -CN_EFORMAT);
		assert_int_equal(cn_stun_decode_binding_response(req, qlen, tid, &got),
				 -CN_EFORMAT);
	}
}

static void test_is_stun(void **state)
{
	uint8_t m[256];
	size_t n = hex(v_request, m, sizeof(m));

	(void)state;
	assert_true(cn_stun_is_stun(m, n));
	assert_false(cn_stun_is_stun(m, n - 1));
	assert_false(cn_stun_is_stun(m, 19));
	assert_false(cn_stun_is_stun(NULL, 0));
	m[n] = 0;
	assert_false(cn_stun_is_stun(m, n + 1));
	m[0] |= 0x40;
	assert_false(cn_stun_is_stun(m, n));
	m[0] &= 0x3f;
	m[7] ^= 1;
	assert_false(cn_stun_is_stun(m, n));
	/* A cairn handshake initiation starts 01 00 00 00. */
	memset(m, 0, sizeof(m));
	m[0] = 1;
	assert_false(cn_stun_is_stun(m, 148));
}

static void test_malformed_header(void **state)
{
	uint8_t m[256];
	size_t n = hex(v_request, m, sizeof(m));
	struct cn_stun_request r;

	(void)state;
	/* Truncated: every length below the header, then inside the body. */
	for (size_t i = 0; i < 20; i++)
		assert_int_equal(cn_stun_decode_request(m, i, &r), -CN_ESHORT);
	for (size_t i = 20; i < n; i++)
		assert_int_equal(cn_stun_decode_request(m, i, &r), -CN_ESHORT);
	assert_int_equal(cn_stun_decode_request(NULL, 0, &r), -CN_ESHORT);
	/* Trailing bytes after the message. */
	m[n] = 0;
	assert_int_equal(cn_stun_decode_request(m, n + 1, &r), -CN_EFORMAT);
	m[n + 1] = m[n + 2] = m[n + 3] = 0;
	assert_int_equal(cn_stun_decode_request(m, n + 4, &r), -CN_EFORMAT);
	/* Trailing bytes after a message without FINGERPRINT (zeros would
	 * otherwise read as one more attribute). */
	{
		uint8_t c[64];
		size_t cn = hex(v_stund, c, sizeof(c));

		memset(c + cn, 0, 8);
		assert_int_equal(cn_stun_decode_request(c, cn, &r), 0);
		assert_int_equal(cn_stun_decode_request(c, cn + 4, &r), -CN_EFORMAT);
		assert_int_equal(cn_stun_decode_request(c, cn + 8, &r), -CN_EFORMAT);
	}
	/* Top two bits. */
	m[0] = 0x80;
	assert_int_equal(cn_stun_decode_request(m, n, &r), -CN_EFORMAT);
	m[0] = 0x40;
	assert_int_equal(cn_stun_decode_request(m, n, &r), -CN_EFORMAT);
	m[0] = 0;
	/* Length not a multiple of 4, and longer than the datagram. */
	m[3] = 0x59;
	assert_int_equal(cn_stun_decode_request(m, n, &r), -CN_EFORMAT);
	m[3] = 0x5c;
	assert_int_equal(cn_stun_decode_request(m, n, &r), -CN_ESHORT);
	m[2] = 0xff;
	m[3] = 0xfc;
	assert_int_equal(cn_stun_decode_request(m, n, &r), -CN_ESHORT);
	m[2] = 0;
	m[3] = 0x58;
	assert_int_equal(cn_stun_decode_request(m, n, &r), 0);
	/* Output cleared on failure. */
	m[0] = 0x80;
	memset(&r, 0xee, sizeof(r));
	assert_int_equal(cn_stun_decode_request(m, n, &r), -CN_EFORMAT);
	assert_int_equal(r.n_unknown, 0);
	assert_false(r.classic);
}

static void test_wrong_class_or_method(void **state)
{
	static const unsigned types[] = {
		0x0011, /* Binding indication */
		0x0101, /* Binding success */
		0x0111, /* Binding error */
		0x0003, /* Allocate request (TURN) */
		0x0002, /* Shared Secret (RFC 3489) */
		0x0000, 0x0ee1, 0x3fff,
	};
	struct cn_stun_request r;
	struct b b;

	(void)state;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		start(&b, types[i], true);
		fingerprint(&b);
		assert_int_equal(req_of(&b, &r), -CN_EFORMAT);
	}
	start(&b, CN_STUN_BINDING_REQUEST, true);
	fingerprint(&b);
	assert_int_equal(req_of(&b, &r), 0);
	assert_true(r.fingerprint);
}

static void test_malformed_attributes(void **state)
{
	struct cn_stun_request r;
	struct b b;

	(void)state;
	/* Zero-length message: fine. Zero-length attribute: fine. */
	start(&b, 1, true);
	fix_len(&b);
	assert_int_equal(req_of(&b, &r), 0);
	assert_false(r.fingerprint);
	attr(&b, CN_STUN_ATTR_USERNAME, 0, 0);
	fix_len(&b);
	assert_int_equal(req_of(&b, &r), 0);

	/* Attribute value running past the end (length 8 in a 4-byte body). */
	start(&b, 1, true);
	put16(&b, CN_STUN_ATTR_USERNAME);
	put16(&b, 8);
	put32(&b, 0);
	fix_len(&b);
	assert_int_equal(req_of(&b, &r), -CN_EFORMAT);
	/* Huge attribute length. */
	b.p[22] = 0xff;
	b.p[23] = 0xff;
	assert_int_equal(req_of(&b, &r), -CN_EFORMAT);
	/* A lone attribute header cut short: 2 bytes left is a bad length first. */
	start(&b, 1, true);
	put16(&b, CN_STUN_ATTR_USERNAME);
	fix_len(&b);
	assert_int_equal(req_of(&b, &r), -CN_EFORMAT);

	/* Last attribute without its padding: the length is not a multiple of 4. */
	start(&b, 1, true);
	attr(&b, CN_STUN_ATTR_USERNAME, 5, 0);
	b.n -= 3;
	fix_len(&b);
	assert_int_equal(req_of(&b, &r), -CN_EFORMAT);
	/* Same with the padding: fine, whatever the padding bytes are. */
	start(&b, 1, true);
	attr(&b, CN_STUN_ATTR_USERNAME, 5, 0x20);
	fingerprint(&b);
	assert_int_equal(req_of(&b, &r), 0);

	/* Fixed-size attributes with other sizes. */
	start(&b, 1, true);
	attr(&b, CN_STUN_ATTR_CHANGE_REQUEST, 8, 0);
	fix_len(&b);
	assert_int_equal(req_of(&b, &r), -CN_EFORMAT);
	start(&b, 1, true);
	attr(&b, CN_STUN_ATTR_MESSAGE_INTEGRITY, 16, 0);
	fix_len(&b);
	assert_int_equal(req_of(&b, &r), -CN_EFORMAT);
	start(&b, 1, true);
	attr(&b, CN_STUN_ATTR_MESSAGE_INTEGRITY_SHA256, 36, 0);
	fix_len(&b);
	assert_int_equal(req_of(&b, &r), -CN_EFORMAT);
	start(&b, 1, true);
	attr(&b, CN_STUN_ATTR_PRIORITY, 2, 0);
	fix_len(&b);
	assert_int_equal(req_of(&b, &r), -CN_EFORMAT);
	start(&b, 1, true);
	attr(&b, CN_STUN_ATTR_USE_CANDIDATE, 4, 0);
	fix_len(&b);
	assert_int_equal(req_of(&b, &r), -CN_EFORMAT);
}

static void test_fingerprint_rules(void **state)
{
	struct cn_stun_request r;
	struct b b;

	(void)state;
	/* Wrong value. */
	start(&b, 1, true);
	attr(&b, CN_STUN_ATTR_USERNAME, 3, 0);
	fingerprint(&b);
	assert_int_equal(req_of(&b, &r), 0);
	b.p[b.n - 1] ^= 1;
	assert_int_equal(req_of(&b, &r), -CN_EFORMAT);
	/* Not last, with a CRC that matches the final length field. */
	start(&b, 1, true);
	b.p[3] = 8 + 8;
	put16(&b, CN_STUN_ATTR_FINGERPRINT);
	put16(&b, 4);
	put32(&b, ref_crc32(b.p, 20) ^ 0x5354554eu);
	attr(&b, CN_STUN_ATTR_USERNAME, 4, 0);
	assert_int_equal(b.n, 20 + 16);
	assert_int_equal(req_of(&b, &r), -CN_EFORMAT);
	b.n -= 8; /* the same without the USERNAME after it is fine */
	fix_len(&b);
	b.p[3] = 8;
	b.n -= 4;
	put32(&b, ref_crc32(b.p, 20) ^ 0x5354554eu);
	assert_int_equal(req_of(&b, &r), 0);
	/* Twice. */
	start(&b, 1, true);
	fingerprint(&b);
	fingerprint(&b);
	assert_int_equal(req_of(&b, &r), -CN_EFORMAT);
	/* Wrong size. */
	start(&b, 1, true);
	attr(&b, CN_STUN_ATTR_FINGERPRINT, 8, 0);
	fix_len(&b);
	assert_int_equal(req_of(&b, &r), -CN_EFORMAT);
	/* Computed before the length was fixed (length field not covered). */
	start(&b, 1, true);
	put16(&b, CN_STUN_ATTR_FINGERPRINT);
	put16(&b, 4);
	put32(&b, ref_crc32(b.p, 20) ^ 0x5354554eu);
	fix_len(&b);
	assert_int_equal(req_of(&b, &r), -CN_EFORMAT);
	/* Classic messages follow the same rule. */
	start(&b, 1, false);
	fingerprint(&b);
	assert_int_equal(req_of(&b, &r), 0);
	assert_true(r.classic);
	b.p[b.n - 2] ^= 4;
	assert_int_equal(req_of(&b, &r), -CN_EFORMAT);
}

static void test_unknown_attributes(void **state)
{
	uint8_t out[CN_STUN_MSG_MAX];
	struct cn_stun_request r;
	size_t len;
	struct b b;

	(void)state;
	/* Comprehension-optional: ignored. */
	start(&b, 1, true);
	attr(&b, 0x8030, 6, 0);
	attr(&b, 0xffff, 0, 0);
	fingerprint(&b);
	assert_int_equal(req_of(&b, &r), 0);
	assert_int_equal(r.n_unknown, 0);

	/* Comprehension-required: listed once each, in order. */
	start(&b, 1, true);
	attr(&b, 0x0030, 4, 0);
	attr(&b, 0x0002, 8, 0); /* RESPONSE-ADDRESS: not supported */
	attr(&b, 0x0030, 4, 0);
	attr(&b, CN_STUN_ATTR_CHANGE_REQUEST, 4, 0); /* 0xabababab: change port */
	fingerprint(&b);
	assert_int_equal(req_of(&b, &r), 0);
	assert_int_equal(r.n_unknown, 2);
	assert_int_equal(r.unknown[0], 0x0030);
	assert_int_equal(r.unknown[1], 0x0002);
	assert_int_equal(r.change, CN_STUN_CHANGE_PORT);
	assert_int_equal(cn_stun_request_reply(&r), CN_STUN_REPLY_UNKNOWN);
	assert_int_equal(cn_stun_encode_unknown_response(&r, "x", out, sizeof(out), &len), 0);
	/* 420: header, ERROR-CODE, UNKNOWN-ATTRIBUTES (3 types, padded), SOFTWARE, FP. */
	assert_int_equal(len, 20 + (4 + 24) + (4 + 8) + (4 + 4) + 8);
	assert_true(cn_stun_is_stun(out, len));
	assert_int_equal(out[0] << 8 | out[1], 0x0111);
	assert_memory_equal(out + 4, r.id, 16);
	assert_memory_equal(out + 20, ((const uint8_t[]){0, 9, 0, 21, 0, 0, 4, 20}), 8);
	assert_memory_equal(out + 28, "Unknown Attribute", 17);
	assert_memory_equal(
		out + 48, ((const uint8_t[]){0, 0x0a, 0, 6, 0, 0x30, 0, 0x02, 0, 0x03, 0, 0}), 12);
	assert_memory_equal(out + 60, ((const uint8_t[]){0x80, 0x22, 0, 1, 'x', 0, 0, 0}), 8);
	assert_int_equal((uint32_t)out[len - 4] << 24 | (uint32_t)out[len - 3] << 16 |
				 out[len - 2] << 8 | out[len - 1],
			 ref_crc32(out, len - 8) ^ 0x5354554eu);

	/* Unknown attributes after MESSAGE-INTEGRITY do not count. */
	start(&b, 1, true);
	attr(&b, CN_STUN_ATTR_MESSAGE_INTEGRITY, 20, 0);
	attr(&b, 0x0030, 4, 0);
	attr(&b, CN_STUN_ATTR_CHANGE_REQUEST, 4, 0);
	fingerprint(&b);
	assert_int_equal(req_of(&b, &r), 0);
	assert_int_equal(r.n_unknown, 0);
	assert_int_equal(r.change, 0);
	assert_int_equal(cn_stun_request_reply(&r), CN_STUN_REPLY_SUCCESS);
	assert_int_equal(cn_stun_encode_unknown_response(&r, NULL, out, sizeof(out), &len),
			 -CN_EINVAL);

	/* More than CN_STUN_MAX_UNKNOWN: counted, the first ones kept. */
	start(&b, 1, true);
	for (unsigned t = 0x40; t < 0x40 + 20; t++)
		attr(&b, t, 0, 0);
	fingerprint(&b);
	assert_int_equal(req_of(&b, &r), 0);
	assert_int_equal(r.n_unknown, 20);
	assert_int_equal(r.unknown[CN_STUN_MAX_UNKNOWN - 1], 0x40 + CN_STUN_MAX_UNKNOWN - 1);
	assert_int_equal(cn_stun_encode_unknown_response(&r, NULL, out, sizeof(out), &len), 0);
	assert_int_equal(len, 20 + (4 + 24) + (4 + 2 * CN_STUN_MAX_UNKNOWN) + 8);

	/* Classic with an unknown attribute: no answer. */
	start(&b, 1, false);
	attr(&b, 0x0002, 8, 0);
	fix_len(&b);
	assert_int_equal(req_of(&b, &r), 0);
	assert_int_equal(cn_stun_request_reply(&r), CN_STUN_REPLY_NONE);
}

static void test_change_request(void **state)
{
	uint8_t out[CN_STUN_MSG_MAX];
	struct cn_stun_request r;
	size_t len;
	struct b b;
	uint8_t v[4] = {0, 0, 0, CN_STUN_CHANGE_PORT};

	(void)state;
	start(&b, 1, true);
	attr_bytes(&b, CN_STUN_ATTR_CHANGE_REQUEST, v, 4);
	fingerprint(&b);
	assert_int_equal(req_of(&b, &r), 0);
	assert_int_equal(r.change, CN_STUN_CHANGE_PORT);
	assert_int_equal(r.n_unknown, 0);
	assert_int_equal(cn_stun_request_reply(&r), CN_STUN_REPLY_UNKNOWN);
	assert_int_equal(cn_stun_encode_unknown_response(&r, NULL, out, sizeof(out), &len), 0);
	assert_memory_equal(out + 48, ((const uint8_t[]){0, 0x0a, 0, 2, 0, 3, 0, 0}), 8);
	/* Reserved bits alone are no change request. */
	v[3] = 0x01;
	v[0] = 0x80;
	start(&b, 1, true);
	attr_bytes(&b, CN_STUN_ATTR_CHANGE_REQUEST, v, 4);
	fix_len(&b);
	assert_int_equal(req_of(&b, &r), 0);
	assert_int_equal(r.change, 0);
	assert_int_equal(cn_stun_request_reply(&r), CN_STUN_REPLY_SUCCESS);
	/* The first of two counts. */
	start(&b, 1, false);
	v[0] = 0;
	v[3] = 0;
	attr_bytes(&b, CN_STUN_ATTR_CHANGE_REQUEST, v, 4);
	v[3] = CN_STUN_CHANGE_IP;
	attr_bytes(&b, CN_STUN_ATTR_CHANGE_REQUEST, v, 4);
	fix_len(&b);
	assert_int_equal(req_of(&b, &r), 0);
	assert_int_equal(r.change, 0);
}

/* Responses built by hand for the client decoder. */
static void resp_start(struct b *b)
{
	start(b, CN_STUN_BINDING_SUCCESS, true);
}

static void put_addr_attr(struct b *b, unsigned type, uint8_t family, uint16_t port,
			  const uint8_t *ip, size_t iplen)
{
	uint8_t v[20] = {0, family, (uint8_t)(port >> 8), (uint8_t)port};

	memcpy(v + 4, ip, iplen);
	attr_bytes(b, type, v, 4 + iplen);
}

static void test_response_decoding(void **state)
{
	static const uint8_t tid[CN_STUN_TID_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
	static const uint8_t ip[4] = {198, 51, 100, 7};
	uint8_t xip[4];
	struct cn_stun_addr a;
	struct b b;

	(void)state;
	for (int i = 0; i < 4; i++)
		xip[i] = ip[i] ^ (uint8_t)(0x2112a442u >> (24 - 8 * i));

	/* MAPPED-ADDRESS only: the fallback. */
	resp_start(&b);
	put_addr_attr(&b, CN_STUN_ATTR_MAPPED_ADDRESS, 1, 4000, ip, 4);
	fingerprint(&b);
	assert_int_equal(cn_stun_decode_binding_response(b.p, b.n, tid, &a), 0);
	assert_int_equal(a.port, 4000);
	assert_memory_equal(a.ip, ip, 4);

	/* Both: XOR wins, whichever comes first. */
	resp_start(&b);
	put_addr_attr(&b, CN_STUN_ATTR_MAPPED_ADDRESS, 1, 1111, (const uint8_t[]){10, 0, 0, 1}, 4);
	put_addr_attr(&b, CN_STUN_ATTR_XOR_MAPPED_ADDRESS, 1, 5000 ^ 0x2112, xip, 4);
	put_addr_attr(&b, CN_STUN_ATTR_SOURCE_ADDRESS, 1, 3478, ip, 4);
	put_addr_attr(&b, CN_STUN_ATTR_CHANGED_ADDRESS, 1, 3479, ip, 4);
	attr(&b, 0x802c, 8, 0); /* OTHER-ADDRESS: optional, ignored */
	fix_len(&b);
	assert_int_equal(cn_stun_decode_binding_response(b.p, b.n, tid, &a), 0);
	assert_int_equal(a.family, CN_STUN_FAMILY_IPV4);
	assert_int_equal(a.port, 5000);
	assert_memory_equal(a.ip, ip, 4);
	/* The classic decoder refuses XOR-MAPPED-ADDRESS. */
	assert_int_equal(cn_stun_decode_classic_binding_response(b.p, b.n, b.p + 4, &a),
			 -CN_EFORMAT);

	/* No address at all. */
	resp_start(&b);
	fingerprint(&b);
	assert_int_equal(cn_stun_decode_binding_response(b.p, b.n, tid, &a), -CN_EFORMAT);
	/* Unknown comprehension-required attribute. */
	resp_start(&b);
	put_addr_attr(&b, CN_STUN_ATTR_XOR_MAPPED_ADDRESS, 1, 5000, xip, 4);
	attr(&b, 0x0031, 4, 0);
	fix_len(&b);
	assert_int_equal(cn_stun_decode_binding_response(b.p, b.n, tid, &a), -CN_EFORMAT);
	/* Bad family, family and length disagreeing. */
	resp_start(&b);
	put_addr_attr(&b, CN_STUN_ATTR_XOR_MAPPED_ADDRESS, 3, 5000, xip, 4);
	fix_len(&b);
	assert_int_equal(cn_stun_decode_binding_response(b.p, b.n, tid, &a), -CN_EFORMAT);
	resp_start(&b);
	put_addr_attr(&b, CN_STUN_ATTR_XOR_MAPPED_ADDRESS, 2, 5000, xip, 4);
	fix_len(&b);
	assert_int_equal(cn_stun_decode_binding_response(b.p, b.n, tid, &a), -CN_EFORMAT);
	resp_start(&b);
	put_addr_attr(&b, CN_STUN_ATTR_MAPPED_ADDRESS, 1, 5000, v_ip6, 16);
	fix_len(&b);
	assert_int_equal(cn_stun_decode_binding_response(b.p, b.n, tid, &a), -CN_EFORMAT);
	/* Error response. */
	start(&b, CN_STUN_BINDING_ERROR, true);
	attr(&b, CN_STUN_ATTR_ERROR_CODE, 8, 0);
	fingerprint(&b);
	assert_int_equal(cn_stun_decode_binding_response(b.p, b.n, tid, &a), -CN_EFORMAT);
	/* Truncated and trailing. */
	resp_start(&b);
	put_addr_attr(&b, CN_STUN_ATTR_XOR_MAPPED_ADDRESS, 1, 5000, xip, 4);
	fingerprint(&b);
	assert_int_equal(cn_stun_decode_binding_response(b.p, b.n, tid, &a), 0);
	assert_int_equal(cn_stun_decode_binding_response(b.p, b.n - 1, tid, &a), -CN_ESHORT);
	assert_int_equal(cn_stun_decode_binding_response(b.p, b.n + 4, tid, &a), -CN_EFORMAT);
	assert_int_equal(a.family, 0);
}

static void test_encode_errors(void **state)
{
	char sw[CN_STUN_SOFTWARE_MAX + 2];
	uint8_t out[CN_STUN_MSG_MAX], tid[CN_STUN_TID_LEN] = {0};
	struct cn_stun_request r;
	struct cn_stun_addr a = {.family = CN_STUN_FAMILY_IPV6, .port = 9};
	size_t len, full;

	(void)state;
	assert_int_equal(cn_stun_encode_binding_request(tid, NULL, out, sizeof(out), &len), 0);
	assert_int_equal(cn_stun_decode_request(out, len, &r), 0);

	/* SOFTWARE cap: 128 bytes fit, 129 do not. */
	memset(sw, 's', sizeof(sw));
	sw[CN_STUN_SOFTWARE_MAX] = '\0';
	assert_int_equal(cn_stun_encode_binding_response(&r, &a, sw, out, sizeof(out), &full), 0);
	assert_true(full <= CN_STUN_MSG_MAX);
	assert_int_equal(full, 20 + 24 + 4 + CN_STUN_SOFTWARE_MAX + 8);
	sw[CN_STUN_SOFTWARE_MAX] = 's';
	sw[CN_STUN_SOFTWARE_MAX + 1] = '\0';
	assert_int_equal(cn_stun_encode_binding_response(&r, &a, sw, out, sizeof(out), &len),
			 -CN_EINVAL);
	assert_int_equal(len, 0);
	assert_int_equal(cn_stun_encode_binding_request(tid, sw, out, sizeof(out), &len),
			 -CN_EINVAL);
	sw[CN_STUN_SOFTWARE_MAX] = '\0';

	/* Every short buffer fails cleanly. */
	for (size_t cap = 0; cap < full; cap++) {
		len = 99;
		assert_int_equal(cn_stun_encode_binding_response(&r, &a, sw, out, cap, &len),
				 -CN_ETOOBIG);
		assert_int_equal(len, 0);
	}
	for (size_t cap = 0; cap < 28; cap++)
		assert_int_equal(cn_stun_encode_binding_request(tid, NULL, out, cap, &len),
				 -CN_ETOOBIG);
	assert_int_equal(cn_stun_encode_binding_request(tid, NULL, out, 28, &len), 0);

	/* Family. */
	a.family = 0;
	assert_int_equal(cn_stun_encode_binding_response(&r, &a, NULL, out, sizeof(out), &len),
			 -CN_EINVAL);
	a.family = 4;
	assert_int_equal(cn_stun_encode_binding_response(&r, &a, NULL, out, sizeof(out), &len),
			 -CN_EINVAL);
}

/*
 * CN_STUN_CLIENT_SOFTWARE makes our request at least as long as the
 * relay's answer to it (no SOFTWARE in answers), for IPv4 and IPv6, so a
 * relay that answers no more than it was sent answers at once. Without
 * it the answer is longer than the request.
 */
static void test_client_request_covers_answer(void **state)
{
	static const uint8_t tid[CN_STUN_TID_LEN] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2};
	uint8_t req[CN_STUN_MSG_MAX], resp[CN_STUN_MSG_MAX];
	struct cn_stun_request r;
	struct cn_stun_addr a;
	size_t qlen, plen;

	(void)state;
	for (int fam = 0; fam < 2; fam++) {
		memset(&a, 0, sizeof(a));
		a.family = fam ? CN_STUN_FAMILY_IPV6 : CN_STUN_FAMILY_IPV4;
		a.port = 4242;
		a.ip[0] = fam ? 0x20 : 203;
		for (int with = 0; with < 2; with++) {
			assert_int_equal(cn_stun_encode_binding_request(
						 tid, with ? CN_STUN_CLIENT_SOFTWARE : NULL, req,
						 sizeof(req), &qlen),
					 0);
			assert_int_equal(cn_stun_decode_request(req, qlen, &r), 0);
			assert_int_equal(cn_stun_encode_binding_response(&r, &a, NULL, resp,
									 sizeof(resp), &plen),
					 0);
			if (with)
				assert_true(plen <= qlen);
			else
				assert_true(plen > qlen);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_client_request_covers_answer),
		cmocka_unit_test(test_crc_known_value),
		cmocka_unit_test(test_rfc5769_request),
		cmocka_unit_test(test_rfc5769_ipv4_response),
		cmocka_unit_test(test_rfc5769_ipv6_response),
		cmocka_unit_test(test_encode_matches_vectors),
		cmocka_unit_test(test_stund_classic_request),
		cmocka_unit_test(test_libnice_classic_request),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_is_stun),
		cmocka_unit_test(test_malformed_header),
		cmocka_unit_test(test_wrong_class_or_method),
		cmocka_unit_test(test_malformed_attributes),
		cmocka_unit_test(test_fingerprint_rules),
		cmocka_unit_test(test_unknown_attributes),
		cmocka_unit_test(test_change_request),
		cmocka_unit_test(test_response_decoding),
		cmocka_unit_test(test_encode_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
