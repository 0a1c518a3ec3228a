/* SPDX-License-Identifier: MIT */
/*
 * crypto/keyring.c: the rules of a rekey, run between two rings in memory:
 * initiation, response, confirmation by the first packet, rotation of
 * current into previous, expiry, and the release of every index given up.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "common/err.h"
#include "crypto/keyring.h"
#include "crypto/keys.h"

struct side {
	struct cn_identity *id;
	struct cn_handshake_local local;
	struct cn_handshake_peer peer; /* the other side, as a responder sees it */
	struct cn_keyring k;
	uint32_t released[16];
	unsigned int nreleased;
};

static struct side a, b;
static uint64_t ts_sec = 1000;

static void release(void *ctx, uint32_t index)
{
	struct side *s = ctx;

	assert_true(s->nreleased < 16);
	s->released[s->nreleased++] = index;
}

static struct cn_handshake_peer *lookup(void *ctx, const uint8_t x_pk[CN_KEY_LEN])
{
	struct side *s = ctx;

	return memcmp(x_pk, s->peer.x_pk, CN_KEY_LEN) == 0 ? &s->peer : NULL;
}

static int setup(void **state)
{
	uint8_t seed[CN_SEED_LEN];

	(void)state;
	memset(seed, 1, sizeof(seed));
	assert_int_equal(cn_identity_from_seed(seed, &a.id), 0);
	memset(seed, 2, sizeof(seed));
	assert_int_equal(cn_identity_from_seed(seed, &b.id), 0);
	assert_int_equal(cn_handshake_local_init(&a.local, a.id, "demo"), 0);
	assert_int_equal(cn_handshake_local_init(&b.local, b.id, "demo"), 0);
	cn_handshake_peer_init(&a.peer, b.id->x_pk);
	cn_handshake_peer_init(&b.peer, a.id->x_pk);
	cn_keyring_init(&a.k, release, &a);
	cn_keyring_init(&b.k, release, &b);
	a.nreleased = b.nreleased = 0;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	cn_keyring_clear(&a.k);
	cn_keyring_clear(&b.k);
	cn_identity_free(a.id);
	cn_identity_free(b.id);
	return 0;
}

/* One handshake from `from` to `to` with the given local indexes; returns the response. */
static void handshake(struct side *from, struct side *to, uint32_t from_index, uint32_t to_index,
		      uint64_t now, uint8_t resp[CN_HANDSHAKE_RESPONSE_LEN])
{
	uint8_t init[CN_HANDSHAKE_INITIATION_LEN], ts[CN_TAI64N_LEN];
	struct cn_handshake hs;
	struct cn_handshake_peer *hp = NULL;

	cn_handshake_tai64n(ts, ts_sec++, 0);
	assert_int_equal(cn_keyring_initiate(&from->k, &from->local,
					     to == &a ? a.id->x_pk : b.id->x_pk, from_index, ts,
					     init),
			 0);
	assert_true(cn_keyring_pending(&from->k));
	assert_true(cn_keyring_owns(&from->k, from_index));
	assert_int_equal(cn_handshake_consume_initiation(&hs, &to->local, init, sizeof(init),
							 lookup, to, &hp),
			 0);
	assert_int_equal(cn_keyring_respond(&to->k, &hs, to_index, now, resp), 0);
	assert_non_null(to->k.next);
	/* The responder may not send on it before the initiator's first packet. */
	assert_true(cn_keyring_sending(&to->k, now) != to->k.next);
}

/* from sends one packet on its current session; to decrypts it. Returns the session used. */
static struct cn_session *packet(struct side *from, struct side *to, uint64_t now)
{
	uint8_t msg[64], pt[64];
	size_t len = 0, pt_len = 0;
	uint32_t index;
	struct cn_session *s = cn_keyring_sending(&from->k, now), *r;

	assert_non_null(s);
	assert_int_equal(
		cn_session_encrypt(s, now, (const uint8_t *)"hi", 2, msg, sizeof(msg), &len), 0);
	index = (uint32_t)msg[4] | (uint32_t)msg[5] << 8 | (uint32_t)msg[6] << 16 |
		(uint32_t)msg[7] << 24;
	r = cn_keyring_find(&to->k, index);
	assert_non_null(r);
	assert_int_equal(cn_session_decrypt(r, now, msg, len, pt, sizeof(pt), &pt_len), 0);
	assert_int_equal(pt_len, 2);
	return r;
}

static void test_first_handshake(void **state)
{
	uint8_t resp[CN_HANDSHAKE_RESPONSE_LEN];

	(void)state;
	handshake(&a, &b, 11, 21, 0, resp);
	assert_int_equal(cn_keyring_consume_response(&a.k, resp, sizeof(resp), 0), 0);
	assert_false(cn_keyring_pending(&a.k));
	assert_non_null(cn_keyring_sending(&a.k, 0));
	assert_int_equal(a.k.cur->local_index, 11);
	/* The first packet confirms next into current. */
	assert_true(cn_keyring_received(&b.k, packet(&a, &b, 1)));
	assert_null(b.k.next);
	assert_int_equal(b.k.cur->local_index, 21);
	assert_non_null(cn_keyring_sending(&b.k, 1));
	/* A second packet confirms nothing new. */
	assert_false(cn_keyring_received(&b.k, packet(&a, &b, 2)));
	packet(&b, &a, 3);
	assert_int_equal(a.nreleased + b.nreleased, 0);
}

static void test_rekey_keeps_previous_until_expiry(void **state)
{
	uint8_t resp[CN_HANDSHAKE_RESPONSE_LEN];
	uint64_t later = CN_SESSION_REKEY_AFTER_TIME_MS;

	(void)state;
	handshake(&a, &b, 11, 21, 0, resp);
	assert_int_equal(cn_keyring_consume_response(&a.k, resp, sizeof(resp), 0), 0);
	cn_keyring_received(&b.k, packet(&a, &b, 1));
	/* Rekey, the other way round this time. */
	handshake(&b, &a, 22, 12, later, resp);
	assert_int_equal(cn_keyring_consume_response(&b.k, resp, sizeof(resp), later), 0);
	assert_int_equal(b.k.cur->local_index, 22);
	assert_int_equal(b.k.prev->local_index, 21);
	/* a still sends on the old session until b's first packet on the new one. */
	assert_int_equal(cn_keyring_sending(&a.k, later)->local_index, 11);
	packet(&a, &b, later); /* old session: b still has it as previous */
	assert_true(cn_keyring_received(&a.k, packet(&b, &a, later)));
	assert_int_equal(a.k.cur->local_index, 12);
	assert_int_equal(a.k.prev->local_index, 11);
	/* Previous goes when it expires, and its index is released. */
	cn_keyring_expire(&a.k, later + 1);
	assert_non_null(a.k.prev);
	cn_keyring_expire(&a.k, CN_SESSION_REJECT_AFTER_TIME_MS + 1);
	assert_null(a.k.prev);
	assert_int_equal(a.nreleased, 1);
	assert_int_equal(a.released[0], 11);
	assert_null(cn_keyring_find(&a.k, 11));
}

static void test_forged_response_keeps_initiation(void **state)
{
	uint8_t resp[CN_HANDSHAKE_RESPONSE_LEN], bad[CN_HANDSHAKE_RESPONSE_LEN];

	(void)state;
	handshake(&a, &b, 11, 21, 0, resp);
	memcpy(bad, resp, sizeof(bad));
	bad[40] ^= 1;
	assert_int_not_equal(cn_keyring_consume_response(&a.k, bad, sizeof(bad), 0), 0);
	assert_true(cn_keyring_pending(&a.k));
	assert_null(a.k.cur);
	assert_int_equal(cn_keyring_consume_response(&a.k, resp, sizeof(resp), 0), 0);
	/* A replayed response finds nothing pending. */
	assert_int_equal(cn_keyring_consume_response(&a.k, resp, sizeof(resp), 0), -CN_ESTATE);
}

static void test_indexes_released(void **state)
{
	uint8_t resp[CN_HANDSHAKE_RESPONSE_LEN], init[CN_HANDSHAKE_INITIATION_LEN],
		ts[CN_TAI64N_LEN];

	(void)state;
	/* A new initiation abandons the old one and releases its index. */
	cn_handshake_tai64n(ts, ts_sec++, 0);
	assert_int_equal(cn_keyring_initiate(&a.k, &a.local, b.id->x_pk, 5, ts, init), 0);
	assert_int_equal(cn_keyring_initiate(&a.k, &a.local, b.id->x_pk, 0, ts, init), -CN_EINVAL);
	assert_int_equal(a.nreleased, 1);
	assert_int_equal(a.released[0], 5);
	assert_false(cn_keyring_pending(&a.k));
	/* A second unconfirmed answer replaces the first and releases it. */
	handshake(&a, &b, 11, 21, 0, resp);
	handshake(&a, &b, 13, 23, 0, resp);
	assert_int_equal(a.released[1], 11);
	assert_int_equal(b.nreleased, 1);
	assert_int_equal(b.released[0], 21);
	assert_int_equal(cn_keyring_consume_response(&a.k, resp, sizeof(resp), 0), 0);
	/* Clearing releases everything left. */
	cn_keyring_clear(&a.k);
	assert_int_equal(a.released[a.nreleased - 1], 13);
	cn_keyring_clear(&b.k);
	assert_int_equal(b.released[b.nreleased - 1], 23);
	assert_null(cn_keyring_find(&b.k, 23));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_first_handshake, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rekey_keeps_previous_until_expiry, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_forged_response_keeps_initiation, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_indexes_released, setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
