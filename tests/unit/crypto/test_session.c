/* SPDX-License-Identifier: MIT */
/*
 * Transport sessions: the data message format, in-place use, header
 * authentication, replay and reordering, counter exhaustion near
 * REJECT_AFTER_MESSAGES, expiry by time, the rekey predicates and key
 * confirmation on the responder.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "common/bytes.h"
#include "common/err.h"
#include "crypto/handshake.h"
#include "crypto/session.h"

enum { BUF = 2048 };

#define IDX_A UINT32_C(0x11223344)
#define IDX_B UINT32_C(0xa0b0c0d0)

static const uint8_t key_ab[32] = {0xab, 1, 2, 3};
static const uint8_t key_ba[32] = {0xba, 3, 2, 1};
static const uint64_t t0 = 1000000;

/* a: initiator (established), b: responder (unconfirmed). */
static void make_pair(struct cn_session *a, struct cn_session *b)
{
	cn_session_init(a, key_ab, key_ba, IDX_A, IDX_B, true, t0);
	cn_session_init(b, key_ba, key_ab, IDX_B, IDX_A, false, t0);
}

static size_t enc(struct cn_session *s, uint64_t now, const char *text, uint8_t *out)
{
	size_t n = 0;

	assert_int_equal(
		cn_session_encrypt(s, now, (const uint8_t *)text, strlen(text), out, BUF, &n), 0);
	assert_int_equal(n, strlen(text) + CN_SESSION_OVERHEAD);
	return n;
}

static void dec_ok(struct cn_session *s, uint64_t now, const uint8_t *msg, size_t len,
		   const char *text)
{
	uint8_t pt[BUF];
	size_t n = 99;

	assert_int_equal(cn_session_decrypt(s, now, msg, len, pt, sizeof(pt), &n), 0);
	assert_int_equal(n, strlen(text));
	assert_memory_equal(pt, text, n);
}

static int dec(struct cn_session *s, uint64_t now, const uint8_t *msg, size_t len)
{
	uint8_t pt[BUF];
	size_t n = 99;
	int ret = cn_session_decrypt(s, now, msg, len, pt, sizeof(pt), &n);

	if (ret)
		assert_int_equal(n, 0);
	return ret;
}

static void test_roundtrip_and_format(void **state)
{
	struct cn_session a, b;
	uint8_t m[BUF], want[16] = {4, 0, 0, 0, 0xd0, 0xc0, 0xb0, 0xa0, 0, 0, 0, 0, 0, 0, 0, 0};
	size_t n;

	(void)state;
	make_pair(&a, &b);
	n = enc(&a, t0, "hello", m);
	assert_memory_equal(m, want, sizeof(want)); /* type, reserved, index LE, counter 0 */
	dec_ok(&b, t0, m, n, "hello");
	/* Counter 1 and a keepalive (empty payload) the other way. */
	n = enc(&a, t0, "second", m);
	want[8] = 1;
	assert_memory_equal(m, want, sizeof(want));
	dec_ok(&b, t0, m, n, "second");
	n = enc(&b, t0, "", m);
	assert_int_equal(n, CN_SESSION_OVERHEAD);
	assert_int_equal(m[4], 0x44); /* IDX_A little-endian */
	assert_int_equal(m[7], 0x11);
	dec_ok(&a, t0, m, n, "");
	/* Same plaintext and counter under the other direction's key differs. */
	assert_int_equal(a.send_counter, 2);
	assert_int_equal(b.send_counter, 1);
	cn_session_wipe(&a);
	cn_session_wipe(&b);
	assert_int_equal(a.state, CN_SESSION_EMPTY);
	assert_int_equal(dec(&a, t0, m, n), -CN_ESTATE);
}

/* The packet is header || AEAD(key, nonce(counter), AD = header, payload). */
static void test_ad_is_header(void **state)
{
	struct cn_session a, b;
	uint8_t m[BUF], want[BUF], pt[8];
	size_t n;

	(void)state;
	make_pair(&a, &b);
	a.send_counter = UINT64_C(0x0102030405060708);
	n = enc(&a, t0, "payload", m);
	memcpy(want, m, CN_SESSION_HEADER_LEN);
	assert_int_equal(want[8], 0x08);
	assert_int_equal(want[15], 0x01);
	cn_noise_encrypt(key_ab, UINT64_C(0x0102030405060708), want, CN_SESSION_HEADER_LEN,
			 (const uint8_t *)"payload", 7, want + CN_SESSION_HEADER_LEN);
	assert_memory_equal(m, want, n);
	/* Not the empty AD of the pure Noise transport. */
	cn_noise_encrypt(key_ab, UINT64_C(0x0102030405060708), NULL, 0, (const uint8_t *)"payload",
			 7, want + CN_SESSION_HEADER_LEN);
	assert_memory_not_equal(m + n - CN_NOISE_TAG_LEN, want + n - CN_NOISE_TAG_LEN,
				CN_NOISE_TAG_LEN);
	assert_int_equal(cn_noise_decrypt(key_ab, UINT64_C(0x0102030405060708), m,
					  CN_SESSION_HEADER_LEN, m + CN_SESSION_HEADER_LEN,
					  n - CN_SESSION_HEADER_LEN, pt),
			 0);
	assert_memory_equal(pt, "payload", 7);
}

static void test_in_place(void **state)
{
	struct cn_session a, b;
	uint8_t m[BUF];
	size_t n = 0, pn = 0;

	(void)state;
	make_pair(&a, &b);
	memcpy(m + CN_SESSION_HEADER_LEN, "in place!", 9);
	assert_int_equal(cn_session_encrypt(&a, t0, m + CN_SESSION_HEADER_LEN, 9, m, sizeof(m), &n),
			 0);
	assert_int_equal(n, 9 + CN_SESSION_OVERHEAD);
	assert_memory_not_equal(m + CN_SESSION_HEADER_LEN, "in place!", 9);
	assert_int_equal(cn_session_decrypt(&b, t0, m, n, m + CN_SESSION_HEADER_LEN,
					    sizeof(m) - CN_SESSION_HEADER_LEN, &pn),
			 0);
	assert_int_equal(pn, 9);
	assert_memory_equal(m + CN_SESSION_HEADER_LEN, "in place!", 9);
}

/* Key confirmation: the responder sends only after it received. */
static void test_responder_waits(void **state)
{
	struct cn_session a, b;
	uint8_t m[BUF];
	size_t n = 7;

	(void)state;
	make_pair(&a, &b);
	assert_int_equal(b.state, CN_SESSION_UNCONFIRMED);
	assert_int_equal(cn_session_encrypt(&b, t0, (const uint8_t *)"x", 1, m, sizeof(m), &n),
			 -CN_ESTATE);
	assert_int_equal(n, 0);
	assert_int_equal(b.send_counter, 0);
	/* A forged packet does not confirm. */
	n = enc(&a, t0, "", m);
	m[n - 1] ^= 1;
	assert_int_equal(dec(&b, t0, m, n), -CN_EDECRYPT);
	assert_int_equal(b.state, CN_SESSION_UNCONFIRMED);
	m[n - 1] ^= 1;
	dec_ok(&b, t0, m, n, "");
	assert_int_equal(b.state, CN_SESSION_ESTABLISHED);
	n = enc(&b, t0, "now", m);
	dec_ok(&a, t0, m, n, "now");
}

/* Every bit of every byte: refused, and the genuine packet still works. */
static void test_bit_flips(void **state)
{
	struct cn_session a, b, before;
	uint8_t m[BUF], bad[BUF];
	size_t n;

	(void)state;
	make_pair(&a, &b);
	n = enc(&a, t0, "integrity of header and body", m);
	memcpy(&before, &b, sizeof(b));
	for (size_t i = 0; i < n; i++) {
		for (int bit = 0; bit < 8; bit++) {
			int ret;

			memcpy(bad, m, n);
			bad[i] ^= (uint8_t)(1u << bit);
			ret = dec(&b, t0, bad, n);
			if (i == 0 || (i >= 1 && i < 4))
				assert_int_equal(ret, -CN_EFORMAT); /* type, reserved */
			else if (i < 8)
				assert_int_equal(ret, -CN_EUNKNOWN); /* receiver index */
			else
				assert_int_equal(ret, -CN_EDECRYPT); /* counter (AD), body, tag */
			assert_memory_equal(&b, &before, sizeof(b));
		}
	}
	dec_ok(&b, t0, m, n, "integrity of header and body");
}

static void test_lengths(void **state)
{
	struct cn_session a, b;
	uint8_t m[BUF], pt[BUF];
	size_t n, pn = 5;

	(void)state;
	make_pair(&a, &b);
	n = enc(&a, t0, "0123456789", m);
	for (size_t len = 0; len < CN_SESSION_OVERHEAD; len++)
		assert_int_equal(dec(&b, t0, m, len), -CN_ESHORT);
	/* Truncated or extended ciphertexts fail the tag. */
	for (size_t len = CN_SESSION_OVERHEAD; len < n; len++)
		assert_int_equal(dec(&b, t0, m, len), -CN_EDECRYPT);
	m[n] = 0;
	assert_int_equal(dec(&b, t0, m, n + 1), -CN_EDECRYPT);
	/* Output buffers one byte too small. */
	assert_int_equal(cn_session_decrypt(&b, t0, m, n, pt, 9, &pn), -CN_EINVAL);
	assert_int_equal(pn, 0);
	assert_int_equal(cn_session_encrypt(&a, t0, pt, 10, m, 10 + CN_SESSION_OVERHEAD - 1, &pn),
			 -CN_EINVAL);
	assert_int_equal(a.send_counter, 1);
	dec_ok(&b, t0, m, n, "0123456789");
}

static void test_replay_and_reorder(void **state)
{
	enum { N = 300 };
	static uint8_t pkts[N][64];
	size_t lens[N];
	struct cn_session a, b;
	uint8_t pt[BUF];
	size_t pn = 1;

	(void)state;
	make_pair(&a, &b);
	for (int i = 0; i < N; i++)
		lens[i] = enc(&a, t0, "pkt", pkts[i]);
	/* Reverse order: all accepted. */
	for (int i = N - 1; i >= 0; i--)
		dec_ok(&b, t0, pkts[i], lens[i], "pkt");
	/* Replays, in any order: all refused, plaintext wiped. */
	for (int i = 0; i < N; i++) {
		memset(pt, 0xee, sizeof(pt));
		assert_int_equal(cn_session_decrypt(&b, t0, pkts[i], lens[i], pt, sizeof(pt), &pn),
				 -CN_EREPLAY);
		assert_int_equal(pn, 0);
		assert_int_equal(pt[0], 0);
		assert_int_equal(pt[2], 0);
	}
}

static void test_too_old(void **state)
{
	struct cn_session a, b;
	uint8_t first[64], edge[64], m[64];
	size_t nf, ne, n;

	(void)state;
	make_pair(&a, &b);
	nf = enc(&a, t0, "old", first);
	a.send_counter = CN_REPLAY_WINDOW;
	n = enc(&a, t0, "new", m); /* counter WINDOW */
	a.send_counter = 1;
	ne = enc(&a, t0, "edge", edge); /* counter 1: the oldest still inside */
	dec_ok(&b, t0, m, n, "new");
	assert_int_equal(dec(&b, t0, first, nf), -CN_EREPLAY);
	dec_ok(&b, t0, edge, ne, "edge");
}

static void test_exhaustion(void **state)
{
	struct cn_session a, b;
	uint8_t m1[64], m2[64], m[64], forged[64];
	size_t n1, n2, n = 5;
	struct cn_wr w;

	(void)state;
	make_pair(&a, &b);
	a.send_counter = CN_SESSION_REJECT_AFTER_MESSAGES - 2;
	assert_false(cn_session_expired(&a, t0));
	n1 = enc(&a, t0, "last but one", m1);
	n2 = enc(&a, t0, "last", m2);
	assert_true(a.send_counter == CN_SESSION_REJECT_AFTER_MESSAGES);
	assert_int_equal(cn_session_encrypt(&a, t0, (const uint8_t *)"x", 1, m, sizeof(m), &n),
			 -CN_EEXHAUSTED);
	assert_int_equal(n, 0);
	assert_true(a.send_counter == CN_SESSION_REJECT_AFTER_MESSAGES); /* not advanced */
	assert_true(cn_session_expired(&a, t0));
	/* The receiver takes the last two valid counters, in any order. */
	dec_ok(&b, t0, m2, n2, "last");
	dec_ok(&b, t0, m1, n1, "last but one");
	/* A correctly encrypted packet with a counter past the limit is refused. */
	for (uint64_t c = CN_SESSION_REJECT_AFTER_MESSAGES; c != 0; c++) {
		cn_wr_init(&w, forged, sizeof(forged));
		cn_wr_u8(&w, CN_MSG_DATA);
		cn_wr_u8(&w, 0);
		cn_wr_u16be(&w, 0);
		cn_wr_u32le(&w, IDX_B);
		cn_wr_u64le(&w, c);
		cn_noise_encrypt(key_ab, c, forged, CN_SESSION_HEADER_LEN, NULL, 0,
				 forged + CN_SESSION_HEADER_LEN);
		assert_int_equal(dec(&b, t0, forged, CN_SESSION_OVERHEAD), -CN_EEXHAUSTED);
		if (c == CN_SESSION_REJECT_AFTER_MESSAGES + 3)
			c = UINT64_MAX - 3; /* also the very top of the range */
	}
}

static void test_expiry(void **state)
{
	struct cn_session a, b;
	uint8_t m[64], late[64], out[64];
	size_t n, nl;
	const uint64_t reject = t0 + CN_SESSION_REJECT_AFTER_TIME_MS;

	(void)state;
	make_pair(&a, &b);
	n = enc(&a, t0, "on time", m);
	nl = enc(&a, reject - 1, "just in time", late);
	assert_false(cn_session_expired(&a, reject - 1));
	assert_true(cn_session_expired(&a, reject));
	assert_int_equal(cn_session_encrypt(&a, reject, m, 1, out, sizeof(out), &n), -CN_EEXPIRED);
	n = enc(&a, t0, "on time", m);
	assert_int_equal(dec(&b, reject, m, n), -CN_EEXPIRED);
	assert_int_equal(dec(&b, reject + 1000000, m, n), -CN_EEXPIRED);
	dec_ok(&b, reject - 1, late, nl, "just in time");
	/* A clock before creation counts as age 0, not as a huge age. */
	assert_false(cn_session_expired(&a, 0));
	dec_ok(&b, 0, m, n, "on time");
}

static void test_rekey_predicates(void **state)
{
	struct cn_session a, b, empty;

	(void)state;
	make_pair(&a, &b);
	memset(&empty, 0, sizeof(empty));
	/* On send, by time: the initiator only. */
	assert_false(cn_session_should_rekey_on_send(&a, t0));
	assert_false(cn_session_should_rekey_on_send(&a, t0 + CN_SESSION_REKEY_AFTER_TIME_MS - 1));
	assert_true(cn_session_should_rekey_on_send(&a, t0 + CN_SESSION_REKEY_AFTER_TIME_MS));
	assert_false(cn_session_should_rekey_on_send(&b, t0 + CN_SESSION_REKEY_AFTER_TIME_MS));
	/* On send, by count: both. */
	a.send_counter = CN_SESSION_REKEY_AFTER_MESSAGES - 1;
	b.send_counter = CN_SESSION_REKEY_AFTER_MESSAGES;
	assert_false(cn_session_should_rekey_on_send(&a, t0));
	assert_true(cn_session_should_rekey_on_send(&b, t0));
	a.send_counter++;
	assert_true(cn_session_should_rekey_on_send(&a, t0));
	/* On receive: the initiator at 165 s. */
	assert_true(CN_SESSION_REKEY_ON_RECEIVE_MS == 165000);
	assert_false(cn_session_should_rekey_on_receive(&a, t0 + 164999));
	assert_true(cn_session_should_rekey_on_receive(&a, t0 + 165000));
	assert_false(cn_session_should_rekey_on_receive(&b, t0 + 179999));
	/* An empty session needs no rekey but is expired. */
	assert_false(cn_session_should_rekey_on_send(&empty, t0));
	assert_false(cn_session_should_rekey_on_receive(&empty, t0));
	assert_true(cn_session_expired(&empty, t0));
}

/* A receiver index that is not ours is refused before any crypto. */
static void test_wrong_session(void **state)
{
	struct cn_session a, b, c;
	uint8_t m[64];
	size_t n;

	(void)state;
	make_pair(&a, &b);
	cn_session_init(&c, key_ba, key_ab, IDX_B + 1, IDX_A, false, t0);
	n = enc(&a, t0, "for b", m);
	assert_int_equal(dec(&c, t0, m, n), -CN_EUNKNOWN);
	/* Same index, other keys: the tag fails. */
	cn_session_init(&c, key_ba, key_ba, IDX_B, IDX_A, false, t0);
	assert_int_equal(dec(&c, t0, m, n), -CN_EDECRYPT);
	dec_ok(&b, t0, m, n, "for b");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_and_format),
		cmocka_unit_test(test_ad_is_header),
		cmocka_unit_test(test_in_place),
		cmocka_unit_test(test_responder_waits),
		cmocka_unit_test(test_bit_flips),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_replay_and_reorder),
		cmocka_unit_test(test_too_old),
		cmocka_unit_test(test_exhaustion),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_rekey_predicates),
		cmocka_unit_test(test_wrong_session),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
