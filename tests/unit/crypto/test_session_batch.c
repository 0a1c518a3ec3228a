/* SPDX-License-Identifier: MIT */
/*
 * Data messages sealed and opened in batches (crypto/session_batch.h)
 * against the one-packet path (crypto/session.h): the same bytes on the
 * wire for the same counters, each side opening the other's messages,
 * reordered batches accepted once and replays refused, every state, age and
 * counter-limit refusal, and malformed messages refused before the window.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "common/err.h"
#include "crypto/session.h"
#include "crypto/session_batch.h"

enum { IA = 0x11111111, IB = 0x22222222, N = 40, LEN = 1300 };

static uint8_t k1[CN_NOISE_CIPHER_KEY_LEN], k2[CN_NOISE_CIPHER_KEY_LEN];

/* a initiates (established), b responds (unconfirmed). */
static void pair(struct cn_session *a, struct cn_session *b)
{
	cn_session_init(a, k1, k2, IA, IB, true, 1000);
	cn_session_init(b, k2, k1, IB, IA, false, 1000);
}

static void fill(uint8_t *p, size_t n, unsigned salt)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 3 + salt);
}

static void test_seal_matches_encrypt(void **state)
{
	static uint8_t pt[N][LEN], one[N][LEN + CN_SESSION_OVERHEAD],
		bat[N][LEN + CN_SESSION_OVERHEAD];
	struct cn_session a, a2, b;
	struct cn_session_seal_key sk;
	uint64_t first = 99;
	size_t len;

	(void)state;
	pair(&a, &b);
	a.send_counter = 5;
	a2 = a;
	for (int i = 0; i < N; i++) {
		fill(pt[i], LEN, (unsigned)i);
		assert_int_equal(
			cn_session_encrypt(&a2, 2000, pt[i], LEN, one[i], sizeof(one[i]), &len), 0);
	}
	assert_int_equal(cn_session_batch_reserve(&a, 2000, N, &first, &sk), 0);
	assert_int_equal(first, 5);
	assert_int_equal(a.send_counter, 5 + N);
	/* Sealed in reverse order, in place: the same bytes as one at a time. */
	for (int i = N - 1; i >= 0; i--) {
		memcpy(bat[i] + CN_SESSION_HEADER_LEN, pt[i], LEN);
		assert_int_equal(cn_session_batch_seal(&sk, first + (uint64_t)i,
						       bat[i] + CN_SESSION_HEADER_LEN, LEN, bat[i],
						       sizeof(bat[i]), &len),
				 0);
		assert_int_equal(len, LEN + CN_SESSION_OVERHEAD);
		assert_memory_equal(bat[i], one[i], len);
	}
	assert_int_equal(cn_session_batch_seal(&sk, 0, pt[0], LEN, bat[0], LEN + 31, &len),
			 -CN_EINVAL);
	assert_int_equal(len, 0);
	cn_session_batch_seal_key_wipe(&sk);
	assert_true(sodium_is_zero(sk.key, sizeof(sk.key)));
	/* The one-packet path goes on after the reserved counters. */
	assert_int_equal(cn_session_encrypt(&a, 2000, pt[0], LEN, one[0], sizeof(one[0]), &len), 0);
	assert_int_equal(one[0][8], 5 + N);
	cn_session_wipe(&a);
	cn_session_wipe(&a2);
	cn_session_wipe(&b);
}

static void test_open_accept_reordered(void **state)
{
	static uint8_t pt[N][LEN], msg[N][LEN + CN_SESSION_OVERHEAD], out[LEN];
	struct cn_session a, b, b2;
	struct cn_session_open_key ok;
	uint64_t counter;
	size_t len, plen;
	bool newest = true;

	(void)state;
	pair(&a, &b);
	for (int i = 0; i < N; i++) {
		fill(pt[i], LEN, (unsigned)i + 9);
		assert_int_equal(
			cn_session_encrypt(&a, 2000, pt[i], LEN, msg[i], sizeof(msg[i]), &len), 0);
	}
	b2 = b;
	assert_int_equal(cn_session_batch_open_key(&b, 2000, &ok), 0);
	/* Workers may finish in any order: open odd ones first, then even. */
	for (int pass = 0; pass < 2; pass++) {
		for (int i = pass ? 0 : 1; i < N; i += 2) {
			assert_int_equal(cn_session_batch_open(&ok, msg[i], sizeof(msg[i]), out,
							       sizeof(out), &plen, &counter),
					 0);
			assert_int_equal(counter, (uint64_t)i);
			assert_int_equal(plen, LEN);
			assert_memory_equal(out, pt[i], LEN);
			assert_int_equal(cn_session_batch_accept(&b, counter, &newest), 0);
			assert_int_equal(b.state, CN_SESSION_ESTABLISHED);
			/* Odd ones first: each is the newest; the even ones after are not. */
			assert_int_equal(newest, pass == 0);
		}
	}
	/* Replays are refused at accept; the one-packet path agrees on the same input. */
	assert_int_equal(cn_session_batch_open(&ok, msg[3], sizeof(msg[3]), out, sizeof(out), &plen,
					       &counter),
			 0);
	newest = true;
	assert_int_equal(cn_session_batch_accept(&b, counter, &newest), -CN_EREPLAY);
	assert_false(newest);
	assert_int_equal(
		cn_session_decrypt(&b, 2000, msg[3], sizeof(msg[3]), out, sizeof(out), &plen),
		-CN_EREPLAY);
	/* Batch-sealed messages open with cn_session_decrypt. */
	{
		struct cn_session_seal_key sk;
		uint64_t first;

		assert_int_equal(cn_session_batch_reserve(&a, 2000, 2, &first, &sk), 0);
		assert_int_equal(cn_session_batch_seal(&sk, first + 1, pt[1], LEN, msg[1],
						       sizeof(msg[1]), &len),
				 0);
		assert_int_equal(
			cn_session_decrypt(&b2, 2000, msg[1], len, out, sizeof(out), &plen), 0);
		assert_memory_equal(out, pt[1], LEN);
		assert_int_equal(b2.state, CN_SESSION_ESTABLISHED);
		cn_session_batch_seal_key_wipe(&sk);
	}
	cn_session_batch_open_key_wipe(&ok);
	assert_true(sodium_is_zero(ok.key, sizeof(ok.key)));
	/* A session wiped while its batch was out: accept refuses. */
	cn_session_wipe(&b);
	assert_int_equal(cn_session_batch_accept(&b, 7, NULL), -CN_ESTATE);
	cn_session_wipe(&a);
	cn_session_wipe(&b2);
}

static void test_reserve_refusals(void **state)
{
	struct cn_session a, b, e;
	struct cn_session_seal_key sk;
	struct cn_session_open_key ok;
	uint64_t first = 1;

	(void)state;
	pair(&a, &b);
	memset(&e, 0, sizeof(e));
	assert_int_equal(cn_session_batch_reserve(&b, 2000, 1, &first, &sk), -CN_ESTATE);
	assert_int_equal(first, 0);
	assert_true(sodium_is_zero(sk.key, sizeof(sk.key)));
	assert_int_equal(cn_session_batch_reserve(&e, 2000, 1, &first, &sk), -CN_ESTATE);
	assert_int_equal(cn_session_batch_reserve(&a, 2000, 0, &first, &sk), -CN_EINVAL);
	assert_int_equal(cn_session_batch_reserve(&a, 1000 + CN_SESSION_REJECT_AFTER_TIME_MS, 1,
						  &first, &sk),
			 -CN_EEXPIRED);
	/* The counter limit: exactly up to it, not one past; nothing reserved on refusal. */
	a.send_counter = CN_SESSION_REJECT_AFTER_MESSAGES - 3;
	assert_int_equal(cn_session_batch_reserve(&a, 2000, 4, &first, &sk), -CN_EEXHAUSTED);
	assert_int_equal(a.send_counter, CN_SESSION_REJECT_AFTER_MESSAGES - 3);
	assert_int_equal(cn_session_batch_reserve(&a, 2000, 3, &first, &sk), 0);
	assert_int_equal(first, CN_SESSION_REJECT_AFTER_MESSAGES - 3);
	assert_int_equal(cn_session_batch_reserve(&a, 2000, 1, &first, &sk), -CN_EEXHAUSTED);
	assert_true(cn_session_expired(&a, 2000));
	/* Open keys: empty and expired refused; unconfirmed may receive. */
	assert_int_equal(cn_session_batch_open_key(&e, 2000, &ok), -CN_ESTATE);
	assert_int_equal(cn_session_batch_open_key(&b, 1000 + CN_SESSION_REJECT_AFTER_TIME_MS, &ok),
			 -CN_EEXPIRED);
	assert_int_equal(cn_session_batch_open_key(&b, 2000, &ok), 0);
	assert_int_equal(ok.local_index, IB);
	cn_session_wipe(&a);
	cn_session_wipe(&b);
}

static void test_open_malformed(void **state)
{
	static uint8_t pt[100], msg[100 + CN_SESSION_OVERHEAD], bad[sizeof(msg)], out[100];
	struct cn_session a, b;
	struct cn_session_open_key ok;
	uint64_t counter = 5;
	size_t len, plen = 5;

	(void)state;
	pair(&a, &b);
	fill(pt, sizeof(pt), 1);
	assert_int_equal(cn_session_encrypt(&a, 2000, pt, sizeof(pt), msg, sizeof(msg), &len), 0);
	assert_int_equal(cn_session_batch_open_key(&b, 2000, &ok), 0);
#define OPEN(m, l) cn_session_batch_open(&ok, (m), (l), out, sizeof(out), &plen, &counter)
	assert_int_equal(OPEN(msg, CN_SESSION_OVERHEAD - 1), -CN_ESHORT);
	assert_int_equal(plen, 0);
	assert_int_equal(counter, 0);
	memcpy(bad, msg, len);
	bad[0] = 3;
	assert_int_equal(OPEN(bad, len), -CN_EFORMAT);
	memcpy(bad, msg, len);
	bad[2] = 1;
	assert_int_equal(OPEN(bad, len), -CN_EFORMAT);
	memcpy(bad, msg, len);
	bad[4] ^= 1;
	assert_int_equal(OPEN(bad, len), -CN_EUNKNOWN);
	memcpy(bad, msg, len);
	memset(bad + 8, 0xff, 8);
	assert_int_equal(OPEN(bad, len), -CN_EEXHAUSTED);
	memcpy(bad, msg, len);
	bad[9] ^= 1; /* counter is authenticated */
	assert_int_equal(OPEN(bad, len), -CN_EDECRYPT);
	memcpy(bad, msg, len);
	bad[len - 1] ^= 1;
	assert_int_equal(OPEN(bad, len), -CN_EDECRYPT);
	assert_int_equal(
		cn_session_batch_open(&ok, msg, len, out, sizeof(out) - 1, &plen, &counter),
		-CN_EINVAL);
	assert_int_equal(b.state, CN_SESSION_UNCONFIRMED); /* nothing moved */
	assert_int_equal(OPEN(msg, len), 0);
#undef OPEN
	cn_session_batch_open_key_wipe(&ok);
	cn_session_wipe(&a);
	cn_session_wipe(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seal_matches_encrypt),
		cmocka_unit_test(test_open_accept_reordered),
		cmocka_unit_test(test_reserve_refusals),
		cmocka_unit_test(test_open_malformed),
	};

	if (sodium_init() < 0)
		return 1;
	randombytes_buf(k1, sizeof(k1));
	randombytes_buf(k2, sizeof(k2));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
