/* SPDX-License-Identifier: MIT */
/*
 * Handshake admission (relay/hsguard.h): garbage and wrong mac1 are
 * dropped without taking a token; a source over its rate is dropped; when
 * the admitted rate passes the threshold (or the caller is busy) a message
 * without mac2 gets a cookie reply smaller than itself, and the same
 * initiator with the cookie's mac2 is admitted, still rate limited.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "crypto/cookie.h"
#include "crypto/handshake.h"
#include "crypto/keys.h"
#include "relay/hsguard.h"

static struct cn_identity *resp, *ini;
static struct cn_handshake_local ini_local;
static struct cn_hsguard *g;
static const uint64_t t0 = 50000;

static struct sockaddr_in src(uint32_t host)
{
	struct sockaddr_in s;

	memset(&s, 0, sizeof(s));
	s.sin_family = AF_INET;
	s.sin_port = htons(40000);
	s.sin_addr.s_addr = htonl(0xc6336400 | host); /* 198.51.100.x */
	return s;
}

static void initiation(uint32_t idx, uint8_t m[CN_HANDSHAKE_INITIATION_MAC2_LEN])
{
	struct cn_handshake hs;
	uint8_t ts[CN_TAI64N_LEN];

	cn_handshake_tai64n(ts, 1700000000 + idx, 0);
	assert_int_equal(
		cn_handshake_create_initiation(&hs, &ini_local, resp->x_pk, idx, ts, NULL, m), 0);
	cn_handshake_wipe(&hs);
}

static int setup(void **state)
{
	(void)state;
	if (sodium_init() < 0 || cn_identity_generate(&resp) || cn_identity_generate(&ini) ||
	    cn_handshake_local_init(&ini_local, ini, "demo"))
		return -1;
	g = malloc(sizeof(*g));
	return g ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	cn_hsguard_wipe(g);
	free(g);
	cn_identity_free(resp);
	cn_identity_free(ini);
	return 0;
}

static enum cn_cookie_verdict admit(const uint8_t *m, size_t len, uint32_t host, bool busy,
				    uint64_t now, uint8_t reply[CN_COOKIE_REPLY_LEN])
{
	struct sockaddr_in s = src(host);

	return cn_hsguard_admit(g, m, len, (const struct sockaddr *)&s, busy, now, reply);
}

static void test_garbage_takes_no_token(void **state)
{
	uint8_t m[CN_HANDSHAKE_INITIATION_MAC2_LEN], junk[CN_HANDSHAKE_INITIATION_LEN];
	uint8_t reply[CN_COOKIE_REPLY_LEN];

	(void)state;
	cn_hsguard_init(g, resp->x_pk, 10, 3, 1000);
	initiation(1, m);
	memcpy(junk, m, sizeof(junk));
	junk[100] ^= 1; /* mac1 no longer matches */
	for (int i = 0; i < 100; i++)
		assert_int_equal(admit(junk, sizeof(junk), 1, false, t0, reply), CN_COOKIE_DROP);
	assert_int_equal(admit(junk, 7, 1, false, t0, reply), CN_COOKIE_DROP);
	/* The burst is intact: 3 admitted, the 4th over the rate. */
	for (int i = 0; i < 3; i++)
		assert_int_equal(admit(m, CN_HANDSHAKE_INITIATION_LEN, 1, false, t0, reply),
				 CN_COOKIE_OK);
	assert_int_equal(admit(m, CN_HANDSHAKE_INITIATION_LEN, 1, false, t0, reply),
			 CN_COOKIE_DROP);
	/* Another source has its own bucket. */
	assert_int_equal(admit(m, CN_HANDSHAKE_INITIATION_LEN, 2, false, t0, reply), CN_COOKIE_OK);
	assert_int_equal(g->dropped_mac, 101);
	assert_int_equal(g->dropped_rate, 1);
	assert_int_equal(g->admitted, 4);
}

/* Busy (the caller says so): a cookie first, then mac2 passes. */
static void test_busy_cookie_round_trip(void **state)
{
	uint8_t m[CN_HANDSHAKE_INITIATION_MAC2_LEN], reply[CN_COOKIE_REPLY_LEN];
	struct cn_cookie_jar jar;
	size_t len;

	(void)state;
	cn_hsguard_init(g, resp->x_pk, 0, 0, 0);
	cn_cookie_jar_init(&jar, resp->x_pk);
	initiation(5, m);
	len = cn_cookie_jar_stamp(&jar, m, CN_HANDSHAKE_INITIATION_LEN, sizeof(m), t0);
	assert_int_equal(admit(m, len, 9, true, t0, reply), CN_COOKIE_SEND_REPLY);
	assert_true(sizeof(reply) < len);
	assert_int_equal(cn_cookie_consume_reply(&jar, reply, sizeof(reply), t0), 0);
	initiation(6, m);
	len = cn_cookie_jar_stamp(&jar, m, CN_HANDSHAKE_INITIATION_LEN, sizeof(m), t0 + 10);
	assert_int_equal(len, CN_HANDSHAKE_INITIATION_MAC2_LEN);
	assert_int_equal(admit(m, len, 9, true, t0 + 10, reply), CN_COOKIE_OK);
	/* From another address the same mac2 is worthless. */
	assert_int_equal(admit(m, len, 10, true, t0 + 10, reply), CN_COOKIE_SEND_REPLY);
	assert_int_equal(g->replies, 2);
	cn_cookie_jar_wipe(&jar);
}

/* Past the threshold of admitted messages per second the guard demands cookies by itself. */
static void test_load_from_many_sources(void **state)
{
	uint8_t m[CN_HANDSHAKE_INITIATION_MAC2_LEN], reply[CN_COOKIE_REPLY_LEN];

	(void)state;
	cn_hsguard_init(g, resp->x_pk, 0, 0, 5);
	initiation(7, m);
	for (uint32_t h = 1; h <= 5; h++)
		assert_int_equal(admit(m, CN_HANDSHAKE_INITIATION_LEN, h, false, t0, reply),
				 CN_COOKIE_OK);
	assert_false(cn_hsguard_under_load(g, t0));
	assert_int_equal(admit(m, CN_HANDSHAKE_INITIATION_LEN, 6, false, t0, reply), CN_COOKIE_OK);
	assert_true(cn_hsguard_under_load(g, t0));
	/* Forged sources now cost one hash and a 64-byte reply each, never Noise. */
	for (uint32_t h = 7; h < 200; h++)
		assert_int_equal(admit(m, CN_HANDSHAKE_INITIATION_LEN, h, false, t0 + 1, reply),
				 CN_COOKIE_SEND_REPLY);
	assert_int_equal(g->admitted, 6);
	/* A second after the last admission over the threshold, no cookie is needed. */
	assert_int_equal(admit(m, CN_HANDSHAKE_INITIATION_LEN, 300, false, t0 + 1000, reply),
			 CN_COOKIE_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_garbage_takes_no_token),
		cmocka_unit_test(test_busy_cookie_round_trip),
		cmocka_unit_test(test_load_from_many_sources),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
