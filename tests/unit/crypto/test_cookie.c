/* SPDX-License-Identifier: MIT */
/*
 * Cookies and mac2 (crypto/cookie.h): not under load mac1 suffices; under
 * load a message without a valid mac2 gets a cookie reply (never larger
 * than the message), the initiator's next message carries mac2 and
 * passes, also through Noise; stale cookies, a cookie of another address
 * or port, secret rotation, forged or replayed replies, the response path,
 * IPv6 and other families, and load detection. MAC compares are checked
 * to go through libsodium's constant-time crypto_verify_16 (linked with
 * --wrap) and to look at every byte.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/un.h>

#include <cmocka.h>
#include <sodium.h>

#include "common/err.h"
#include "crypto/cookie.h"
#include "crypto/handshake.h"
#include "crypto/keys.h"
#include "crypto/session.h"

/* The constant-time compare, counted (tests/CMakeLists.txt: -Wl,--wrap). */
int __real_crypto_verify_16(const unsigned char *x, const unsigned char *y);
int __wrap_crypto_verify_16(const unsigned char *x, const unsigned char *y);
static int verify_calls;

int __wrap_crypto_verify_16(const unsigned char *x, const unsigned char *y)
{
	verify_calls++;
	return __real_crypto_verify_16(x, y);
}

static struct cn_identity *ini_id, *resp_id, *other_id;
static struct cn_handshake_local ini_local, resp_local;
static struct cn_handshake_peer resp_knows_ini;
static struct sockaddr_in src_a, src_b, src_a_port;
static const uint64_t t0 = 1000000;

static struct cn_handshake_peer *lookup(void *ctx, const uint8_t x_pk[CN_KEY_LEN])
{
	(void)ctx;
	return cn_key_equal(x_pk, resp_knows_ini.x_pk) ? &resp_knows_ini : NULL;
}

static struct cn_identity *identity(uint8_t fill)
{
	uint8_t seed[CN_SEED_LEN];
	struct cn_identity *id = NULL;

	memset(seed, fill, sizeof(seed));
	assert_int_equal(cn_identity_from_seed(seed, &id), 0);
	return id;
}

static void sin_at(struct sockaddr_in *s, const char *ip, uint16_t port)
{
	memset(s, 0, sizeof(*s));
	s->sin_family = AF_INET;
	s->sin_port = htons(port);
	assert_int_equal(inet_pton(AF_INET, ip, &s->sin_addr), 1);
}

static int setup(void **state)
{
	(void)state;
	ini_id = identity(0x11);
	resp_id = identity(0x22);
	other_id = identity(0x33);
	assert_int_equal(cn_handshake_local_init(&ini_local, ini_id, "demo"), 0);
	assert_int_equal(cn_handshake_local_init(&resp_local, resp_id, "demo"), 0);
	sin_at(&src_a, "192.0.2.1", 4000);
	sin_at(&src_b, "192.0.2.2", 4000);
	sin_at(&src_a_port, "192.0.2.1", 4001);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	cn_identity_free(ini_id);
	cn_identity_free(resp_id);
	cn_identity_free(other_id);
	return 0;
}

static int reset(void **state)
{
	(void)state;
	cn_handshake_peer_init(&resp_knows_ini, ini_id->x_pk);
	return 0;
}

/* A fresh initiation from ini to resp (132 bytes) in a 148-byte buffer; ts in seconds. */
static void initiation(struct cn_handshake *hs, uint32_t idx, uint64_t sec,
		       uint8_t msg[CN_HANDSHAKE_INITIATION_MAC2_LEN])
{
	uint8_t ts[CN_TAI64N_LEN];

	cn_handshake_tai64n(ts, 1700000000 + sec, 0);
	assert_int_equal(
		cn_handshake_create_initiation(hs, &ini_local, resp_id->x_pk, idx, ts, NULL, msg),
		0);
}

static const struct sockaddr *sa(const struct sockaddr_in *s)
{
	return (const struct sockaddr *)s;
}

/* The initiator gets a cookie for src: initiation, reply, consume. */
static void get_cookie(struct cn_cookie_checker *ck, struct cn_cookie_jar *jar,
		       const struct sockaddr_in *src, uint64_t now)
{
	struct cn_handshake hs;
	uint8_t m[CN_HANDSHAKE_INITIATION_MAC2_LEN], reply[CN_COOKIE_REPLY_LEN];
	size_t len;

	initiation(&hs, 77, 1, m);
	len = cn_cookie_jar_stamp(jar, m, CN_HANDSHAKE_INITIATION_LEN, sizeof(m), now);
	assert_int_equal(cn_cookie_check(ck, m, len, sa(src), true, now), CN_COOKIE_SEND_REPLY);
	assert_int_equal(cn_cookie_reply_create(ck, m, len, sa(src), now, reply), 0);
	assert_int_equal(cn_cookie_consume_reply(jar, reply, sizeof(reply), now), 0);
	cn_handshake_wipe(&hs);
}

static void test_not_under_load(void **state)
{
	struct cn_cookie_checker ck;
	struct cn_handshake hs;
	uint8_t m[CN_HANDSHAKE_INITIATION_MAC2_LEN + 8];

	(void)state;
	cn_cookie_checker_init(&ck, resp_id->x_pk);
	initiation(&hs, 1, 1, m);
	assert_int_equal(
		cn_cookie_check(&ck, m, CN_HANDSHAKE_INITIATION_LEN, sa(&src_a), false, t0),
		CN_COOKIE_OK);
	/* mac2 is not looked at without load: garbage there passes. */
	memset(m + CN_HANDSHAKE_INITIATION_LEN, 0x77, CN_HANDSHAKE_MAC_LEN);
	assert_int_equal(
		cn_cookie_check(&ck, m, CN_HANDSHAKE_INITIATION_MAC2_LEN, sa(&src_a), false, t0),
		CN_COOKIE_OK);
	/* Any other length, a wrong type or reserved byte, a wrong mac1: dropped. */
	for (size_t len = 0; len <= sizeof(m); len++)
		if (len != CN_HANDSHAKE_INITIATION_LEN && len != CN_HANDSHAKE_INITIATION_MAC2_LEN)
			assert_int_equal(cn_cookie_check(&ck, m, len, sa(&src_a), false, t0),
					 CN_COOKIE_DROP);
	m[2] = 1;
	assert_int_equal(
		cn_cookie_check(&ck, m, CN_HANDSHAKE_INITIATION_LEN, sa(&src_a), false, t0),
		CN_COOKIE_DROP);
	m[2] = 0;
	m[0] = CN_MSG_DATA;
	assert_int_equal(
		cn_cookie_check(&ck, m, CN_HANDSHAKE_INITIATION_LEN, sa(&src_a), false, t0),
		CN_COOKIE_DROP);
	m[0] = CN_MSG_INITIATION;
	/* mac1 for someone else (another responder's checker). */
	cn_cookie_checker_init(&ck, other_id->x_pk);
	assert_int_equal(
		cn_cookie_check(&ck, m, CN_HANDSHAKE_INITIATION_LEN, sa(&src_a), false, t0),
		CN_COOKIE_DROP);
	cn_cookie_checker_wipe(&ck);
	cn_handshake_wipe(&hs);
}

/* The whole exchange: refused with a reply, then accepted with mac2 and through Noise. */
static void test_under_load_round_trip(void **state)
{
	struct cn_cookie_checker ck;
	struct cn_cookie_jar jar;
	struct cn_handshake hs, hr;
	struct cn_handshake_peer *peer = NULL;
	uint8_t m[CN_HANDSHAKE_INITIATION_MAC2_LEN], reply[CN_COOKIE_REPLY_LEN];
	size_t len;
	uint32_t idx = 0;

	(void)state;
	cn_cookie_checker_init(&ck, resp_id->x_pk);
	cn_cookie_jar_init(&jar, resp_id->x_pk);
	initiation(&hs, 0x01020304, 1, m);
	len = cn_cookie_jar_stamp(&jar, m, CN_HANDSHAKE_INITIATION_LEN, sizeof(m), t0);
	assert_int_equal(len, CN_HANDSHAKE_INITIATION_LEN); /* no cookie yet */
	assert_int_equal(cn_cookie_check(&ck, m, len, sa(&src_a), true, t0), CN_COOKIE_SEND_REPLY);
	assert_int_equal(cn_cookie_reply_create(&ck, m, len, sa(&src_a), t0, reply), 0);
	/* Never more bytes than the stranger sent (to either message it answers). */
	assert_true(sizeof(reply) < len);
	assert_true(sizeof(reply) < CN_HANDSHAKE_RESPONSE_LEN);
	assert_int_equal(reply[0], CN_MSG_COOKIE_REPLY);
	assert_int_equal(cn_cookie_reply_classify(reply, sizeof(reply), &idx), 0);
	assert_int_equal(idx, 0x01020304);
	/* Not a type the handshake demultiplexer hands on (the daemons' switches). */
	{
		enum cn_msg_type type;

		assert_int_equal(cn_handshake_classify(reply, sizeof(reply), &type, &idx),
				 -CN_EFORMAT);
	}
	assert_int_equal(cn_cookie_consume_reply(&jar, reply, sizeof(reply), t0 + 20), 0);
	/* The next initiation carries mac2 and passes under load. */
	initiation(&hs, 0x01020305, 2, m);
	len = cn_cookie_jar_stamp(&jar, m, CN_HANDSHAKE_INITIATION_LEN, sizeof(m), t0 + 40);
	assert_int_equal(len, CN_HANDSHAKE_INITIATION_MAC2_LEN);
	assert_int_equal(cn_cookie_check(&ck, m, len, sa(&src_a), true, t0 + 50), CN_COOKIE_OK);
	assert_int_equal(
		cn_handshake_consume_initiation(&hr, &resp_local, m, len, lookup, NULL, &peer), 0);
	assert_ptr_equal(peer, &resp_knows_ini);
	/* A buffer without room for mac2 gets none. */
	initiation(&hs, 0x01020306, 3, m);
	assert_int_equal(cn_cookie_jar_stamp(&jar, m, CN_HANDSHAKE_INITIATION_LEN,
					     CN_HANDSHAKE_INITIATION_LEN, t0 + 60),
			 CN_HANDSHAKE_INITIATION_LEN);
	cn_handshake_wipe(&hs);
	cn_handshake_wipe(&hr);
	cn_cookie_checker_wipe(&ck);
	cn_cookie_jar_wipe(&jar);
}

/* mac2 from another address or port, or wrong in any one byte: a reply, not OK. */
static void test_cookie_bound_to_address(void **state)
{
	struct cn_cookie_checker ck;
	struct cn_cookie_jar jar;
	struct cn_handshake hs;
	uint8_t m[CN_HANDSHAKE_INITIATION_MAC2_LEN];
	size_t len;

	(void)state;
	cn_cookie_checker_init(&ck, resp_id->x_pk);
	cn_cookie_jar_init(&jar, resp_id->x_pk);
	get_cookie(&ck, &jar, &src_a, t0);
	initiation(&hs, 5, 2, m);
	len = cn_cookie_jar_stamp(&jar, m, CN_HANDSHAKE_INITIATION_LEN, sizeof(m), t0);
	assert_int_equal(len, CN_HANDSHAKE_INITIATION_MAC2_LEN);
	assert_int_equal(cn_cookie_check(&ck, m, len, sa(&src_a), true, t0), CN_COOKIE_OK);
	assert_int_equal(cn_cookie_check(&ck, m, len, sa(&src_b), true, t0), CN_COOKIE_SEND_REPLY);
	assert_int_equal(cn_cookie_check(&ck, m, len, sa(&src_a_port), true, t0),
			 CN_COOKIE_SEND_REPLY);
	/* Constant-time compare of both macs, through crypto_verify_16. */
	verify_calls = 0;
	assert_int_equal(cn_cookie_check(&ck, m, len, sa(&src_a), true, t0), CN_COOKIE_OK);
	assert_int_equal(verify_calls, 2);
	/* Every byte of mac2 counts; a flipped mac1 byte drops before mac2. */
	for (size_t i = 0; i < CN_HANDSHAKE_MAC_LEN; i++) {
		m[CN_HANDSHAKE_INITIATION_LEN + i] ^= 0x80;
		assert_int_equal(cn_cookie_check(&ck, m, len, sa(&src_a), true, t0),
				 CN_COOKIE_SEND_REPLY);
		m[CN_HANDSHAKE_INITIATION_LEN + i] ^= 0x80;
		m[CN_HANDSHAKE_INITIATION_LEN - CN_HANDSHAKE_MAC_LEN + i] ^= 0x01;
		assert_int_equal(cn_cookie_check(&ck, m, len, sa(&src_a), true, t0),
				 CN_COOKIE_DROP);
		m[CN_HANDSHAKE_INITIATION_LEN - CN_HANDSHAKE_MAC_LEN + i] ^= 0x01;
	}
	assert_int_equal(cn_cookie_check(&ck, m, len, sa(&src_a), true, t0), CN_COOKIE_OK);
	cn_handshake_wipe(&hs);
	cn_cookie_checker_wipe(&ck);
	cn_cookie_jar_wipe(&jar);
}

/* The initiator stops using a cookie after 115 s; the responder's secret lives 120 s. */
static void test_stale_cookie_and_rotation(void **state)
{
	struct cn_cookie_checker ck;
	struct cn_cookie_jar jar;
	struct cn_handshake hs;
	uint8_t m[CN_HANDSHAKE_INITIATION_MAC2_LEN], secret[CN_COOKIE_SECRET_LEN];
	const uint64_t valid = CN_COOKIE_SECRET_AGE_MS - CN_COOKIE_LATENCY_MS;
	size_t len;

	(void)state;
	cn_cookie_checker_init(&ck, resp_id->x_pk);
	cn_cookie_jar_init(&jar, resp_id->x_pk);
	get_cookie(&ck, &jar, &src_a, t0);
	memcpy(secret, ck.secret, sizeof(secret));
	initiation(&hs, 6, 2, m);
	assert_int_equal(cn_cookie_jar_stamp(&jar, m, CN_HANDSHAKE_INITIATION_LEN, sizeof(m),
					     t0 + valid - 1),
			 CN_HANDSHAKE_INITIATION_MAC2_LEN);
	initiation(&hs, 7, 3, m);
	len = cn_cookie_jar_stamp(&jar, m, CN_HANDSHAKE_INITIATION_LEN, sizeof(m), t0 + valid);
	assert_int_equal(len, CN_HANDSHAKE_INITIATION_LEN);
	assert_int_equal(cn_cookie_check(&ck, m, len, sa(&src_a), true, t0 + valid),
			 CN_COOKIE_SEND_REPLY);
	/* Secret kept until 120 s, replaced at 120 s; an old cookie's mac2 then fails. */
	assert_memory_equal(ck.secret, secret, sizeof(secret));
	cn_cookie_jar_init(&jar, resp_id->x_pk);
	get_cookie(&ck, &jar, &src_a, t0 + 1000);
	initiation(&hs, 8, 4, m);
	len = cn_cookie_jar_stamp(&jar, m, CN_HANDSHAKE_INITIATION_LEN, sizeof(m), t0 + 1000);
	assert_int_equal(len, CN_HANDSHAKE_INITIATION_MAC2_LEN);
	assert_int_equal(
		cn_cookie_check(&ck, m, len, sa(&src_a), true, t0 + CN_COOKIE_SECRET_AGE_MS - 1),
		CN_COOKIE_OK);
	assert_memory_equal(ck.secret, secret, sizeof(secret));
	assert_int_equal(
		cn_cookie_check(&ck, m, len, sa(&src_a), true, t0 + CN_COOKIE_SECRET_AGE_MS),
		CN_COOKIE_SEND_REPLY);
	assert_memory_not_equal(ck.secret, secret, sizeof(secret));
	assert_int_equal(ck.secret_ms, t0 + CN_COOKIE_SECRET_AGE_MS);
	cn_handshake_wipe(&hs);
	cn_cookie_checker_wipe(&ck);
	cn_cookie_jar_wipe(&jar);
}

/* Replies the initiator must ignore, each leaving the jar without a cookie. */
static void test_forged_replies(void **state)
{
	struct cn_cookie_checker ck, other;
	struct cn_cookie_jar jar;
	struct cn_handshake hs;
	uint8_t m1[CN_HANDSHAKE_INITIATION_MAC2_LEN], m2[CN_HANDSHAKE_INITIATION_MAC2_LEN];
	uint8_t reply[CN_COOKIE_REPLY_LEN + 1], bad[CN_COOKIE_REPLY_LEN + 1];
	uint32_t idx;

	(void)state;
	cn_cookie_checker_init(&ck, resp_id->x_pk);
	cn_cookie_checker_init(&other, other_id->x_pk);
	cn_cookie_jar_init(&jar, resp_id->x_pk);
	initiation(&hs, 100, 1, m1);
	assert_int_equal(
		cn_cookie_reply_create(&ck, m1, CN_HANDSHAKE_INITIATION_LEN, sa(&src_a), t0, reply),
		0);
	/* Nothing sent yet: no reply is expected. */
	assert_int_equal(cn_cookie_consume_reply(&jar, reply, CN_COOKIE_REPLY_LEN, t0), -CN_ESTATE);
	cn_cookie_jar_stamp(&jar, m1, CN_HANDSHAKE_INITIATION_LEN, sizeof(m1), t0);
	/* Lengths and headers. */
	assert_int_equal(cn_cookie_consume_reply(&jar, reply, CN_COOKIE_REPLY_LEN - 1, t0),
			 -CN_EFORMAT);
	assert_int_equal(cn_cookie_consume_reply(&jar, reply, CN_COOKIE_REPLY_LEN + 1, t0),
			 -CN_EFORMAT);
	memcpy(bad, reply, sizeof(bad));
	bad[3] = 1;
	assert_int_equal(cn_cookie_reply_classify(bad, CN_COOKIE_REPLY_LEN, &idx), -CN_EFORMAT);
	assert_int_equal(cn_cookie_consume_reply(&jar, bad, CN_COOKIE_REPLY_LEN, t0), -CN_EFORMAT);
	/* A forged index: not the sender_index we used. */
	memcpy(bad, reply, sizeof(bad));
	bad[4] ^= 1;
	assert_int_equal(cn_cookie_consume_reply(&jar, bad, CN_COOKIE_REPLY_LEN, t0), -CN_EUNKNOWN);
	/* Any byte of nonce or sealed cookie changed. */
	for (size_t i = 8; i < CN_COOKIE_REPLY_LEN; i++) {
		memcpy(bad, reply, sizeof(bad));
		bad[i] ^= 0x04;
		assert_int_equal(cn_cookie_consume_reply(&jar, bad, CN_COOKIE_REPLY_LEN, t0),
				 -CN_EDECRYPT);
	}
	/* A reply sealed by another responder's key. */
	assert_int_equal(cn_cookie_reply_create(&other, m1, CN_HANDSHAKE_INITIATION_LEN, sa(&src_a),
						t0, bad),
			 0);
	assert_int_equal(cn_cookie_consume_reply(&jar, bad, CN_COOKIE_REPLY_LEN, t0), -CN_EDECRYPT);
	/* A reply to an older message (other mac1), same index: the AD does not match. */
	initiation(&hs, 100, 2, m2);
	cn_cookie_jar_stamp(&jar, m2, CN_HANDSHAKE_INITIATION_LEN, sizeof(m2), t0);
	assert_int_equal(cn_cookie_consume_reply(&jar, reply, CN_COOKIE_REPLY_LEN, t0),
			 -CN_EDECRYPT);
	assert_false(jar.have_cookie);
	/* The genuine reply to the last message works once; a copy changes nothing. */
	assert_int_equal(
		cn_cookie_reply_create(&ck, m2, CN_HANDSHAKE_INITIATION_LEN, sa(&src_a), t0, reply),
		0);
	assert_int_equal(cn_cookie_consume_reply(&jar, reply, CN_COOKIE_REPLY_LEN, t0 + 5), 0);
	assert_true(jar.have_cookie);
	assert_int_equal(cn_cookie_consume_reply(&jar, reply, CN_COOKIE_REPLY_LEN, t0 + 6),
			 -CN_ESTATE);
	assert_int_equal(jar.cookie_ms, t0 + 5);
	/* Replies to anything but a handshake message are not made. */
	m1[0] = CN_MSG_DATA;
	assert_int_equal(
		cn_cookie_reply_create(&ck, m1, CN_HANDSHAKE_INITIATION_LEN, sa(&src_a), t0, bad),
		-CN_EFORMAT);
	cn_handshake_wipe(&hs);
	cn_cookie_checker_wipe(&ck);
	cn_cookie_checker_wipe(&other);
	cn_cookie_jar_wipe(&jar);
}

/* The responder under load can demand a cookie from a response's sender too. */
static void test_response_path(void **state)
{
	struct cn_cookie_checker ini_ck;
	struct cn_cookie_jar resp_jar;
	struct cn_handshake hi, hr;
	struct cn_handshake_peer *peer = NULL;
	struct cn_session si, sr;
	uint8_t m1[CN_HANDSHAKE_INITIATION_MAC2_LEN], m2[CN_HANDSHAKE_RESPONSE_MAC2_LEN];
	uint8_t reply[CN_COOKIE_REPLY_LEN];
	size_t len;

	(void)state;
	cn_cookie_checker_init(&ini_ck, ini_id->x_pk);
	cn_cookie_jar_init(&resp_jar, ini_id->x_pk);
	initiation(&hi, 200, 1, m1);
	assert_int_equal(cn_handshake_consume_initiation(&hr, &resp_local, m1,
							 CN_HANDSHAKE_INITIATION_LEN, lookup, NULL,
							 &peer),
			 0);
	assert_int_equal(cn_handshake_create_response(&hr, 300, NULL, t0, m2, &sr), 0);
	len = cn_cookie_jar_stamp(&resp_jar, m2, CN_HANDSHAKE_RESPONSE_LEN, sizeof(m2), t0);
	assert_int_equal(len, CN_HANDSHAKE_RESPONSE_LEN);
	assert_int_equal(cn_cookie_check(&ini_ck, m2, len, sa(&src_b), true, t0),
			 CN_COOKIE_SEND_REPLY);
	assert_int_equal(cn_cookie_reply_create(&ini_ck, m2, len, sa(&src_b), t0, reply), 0);
	assert_true(sizeof(reply) < len);
	assert_int_equal(cn_cookie_consume_reply(&resp_jar, reply, sizeof(reply), t0), 0);
	/* The responder would answer the next initiation with mac2 on its response. */
	len = cn_cookie_jar_stamp(&resp_jar, m2, CN_HANDSHAKE_RESPONSE_LEN, sizeof(m2), t0);
	assert_int_equal(len, CN_HANDSHAKE_RESPONSE_MAC2_LEN);
	assert_int_equal(cn_cookie_check(&ini_ck, m2, len, sa(&src_b), true, t0), CN_COOKIE_OK);
	assert_int_equal(cn_handshake_consume_response(&hi, m2, len, t0, &si), 0);
	cn_session_wipe(&si);
	cn_session_wipe(&sr);
	cn_cookie_checker_wipe(&ini_ck);
	cn_cookie_jar_wipe(&resp_jar);
}

/* IPv6 sources have cookies; a source without an IP address is dropped under load. */
static void test_families(void **state)
{
	struct cn_cookie_checker ck;
	struct cn_handshake hs;
	struct sockaddr_in6 s6;
	struct sockaddr_un su;
	uint8_t m[CN_HANDSHAKE_INITIATION_MAC2_LEN], reply[CN_COOKIE_REPLY_LEN];

	(void)state;
	cn_cookie_checker_init(&ck, resp_id->x_pk);
	initiation(&hs, 9, 1, m);
	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	s6.sin6_port = htons(51820);
	assert_int_equal(inet_pton(AF_INET6, "2001:db8::1", &s6.sin6_addr), 1);
	assert_int_equal(cn_cookie_check(&ck, m, CN_HANDSHAKE_INITIATION_LEN,
					 (const struct sockaddr *)&s6, true, t0),
			 CN_COOKIE_SEND_REPLY);
	assert_int_equal(cn_cookie_reply_create(&ck, m, CN_HANDSHAKE_INITIATION_LEN,
						(const struct sockaddr *)&s6, t0, reply),
			 0);
	memset(&su, 0, sizeof(su));
	su.sun_family = AF_UNIX;
	assert_int_equal(cn_cookie_check(&ck, m, CN_HANDSHAKE_INITIATION_LEN,
					 (const struct sockaddr *)&su, true, t0),
			 CN_COOKIE_DROP);
	assert_int_equal(cn_cookie_check(&ck, m, CN_HANDSHAKE_INITIATION_LEN,
					 (const struct sockaddr *)&su, false, t0),
			 CN_COOKIE_OK);
	assert_int_equal(cn_cookie_reply_create(&ck, m, CN_HANDSHAKE_INITIATION_LEN,
						(const struct sockaddr *)&su, t0, reply),
			 -CN_EINVAL);
	cn_handshake_wipe(&hs);
	cn_cookie_checker_wipe(&ck);
}

/* Over the threshold within one second: under load until a second after. */
static void test_load(void **state)
{
	struct cn_cookie_load load = {.threshold = 3};

	(void)state;
	assert_false(cn_cookie_under_load(&load, t0));
	for (int i = 0; i < 3; i++)
		cn_cookie_load_note(&load, t0 + (uint64_t)i * 100);
	assert_false(cn_cookie_under_load(&load, t0 + 300));
	cn_cookie_load_note(&load, t0 + 300);
	assert_true(cn_cookie_under_load(&load, t0 + 300));
	assert_true(cn_cookie_under_load(&load, t0 + 1299));
	assert_false(cn_cookie_under_load(&load, t0 + 1300));
	/* A new window starts from zero: three in it are not load. */
	for (int i = 0; i < 3; i++)
		cn_cookie_load_note(&load, t0 + 2000 + (uint64_t)i);
	assert_false(cn_cookie_under_load(&load, t0 + 2005));
	/* The default threshold. */
	memset(&load, 0, sizeof(load));
	for (int i = 0; i < CN_COOKIE_LOAD_DEFAULT; i++)
		cn_cookie_load_note(&load, t0);
	assert_false(cn_cookie_under_load(&load, t0));
	cn_cookie_load_note(&load, t0);
	assert_true(cn_cookie_under_load(&load, t0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_not_under_load, reset),
		cmocka_unit_test_setup(test_under_load_round_trip, reset),
		cmocka_unit_test_setup(test_cookie_bound_to_address, reset),
		cmocka_unit_test_setup(test_stale_cookie_and_rotation, reset),
		cmocka_unit_test_setup(test_forged_replies, reset),
		cmocka_unit_test_setup(test_response_path, reset),
		cmocka_unit_test_setup(test_families, reset),
		cmocka_unit_test_setup(test_load, reset),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, setup, teardown);
}
