/* SPDX-License-Identifier: MIT */
/*
 * cairn's handshake messages: full handshakes both ways into working
 * sessions, the exact wire layout, wrong responder key, other network,
 * unknown initiator, every bit of every byte of both messages flipped,
 * truncated and oversized messages, the mac2 lengths, reserved bytes, replayed and stale
 * initiations, forged responses not disturbing the pending handshake, and
 * the state rules.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "common/err.h"
#include "crypto/handshake.h"
#include "crypto/keys.h"
#include "crypto/session.h"

enum { NODES = 3 };

/* Node 0 and 1 know each other; node 2 is a stranger to both. */
struct node {
	struct cn_identity *id;
	struct cn_handshake_local local;
	struct cn_handshake_peer known[NODES];
	size_t nknown;
	int lookups;
	uint8_t last_lookup[CN_KEY_LEN];
};

static struct node nodes[NODES];
static const uint64_t now = 5000;

static struct cn_handshake_peer *lookup(void *ctx, const uint8_t x_pk[CN_KEY_LEN])
{
	struct node *n = ctx;

	n->lookups++;
	memcpy(n->last_lookup, x_pk, CN_KEY_LEN);
	for (size_t i = 0; i < n->nknown; i++)
		if (cn_key_equal(n->known[i].x_pk, x_pk))
			return &n->known[i];
	return NULL;
}

static void know(struct node *n, const struct node *other)
{
	uint8_t x[CN_KEY_LEN];

	/* Peers' X25519 keys come from their Ed25519 keys, as from the peer list. */
	assert_int_equal(cn_key_ed_to_x(other->id->ed_pk, x), 0);
	assert_memory_equal(x, other->id->x_pk, CN_KEY_LEN);
	cn_handshake_peer_init(&n->known[n->nknown++], x);
}

static int setup(void **state)
{
	(void)state;
	for (int i = 0; i < NODES; i++) {
		uint8_t seed[CN_SEED_LEN];

		memset(seed, 0x40 + i, sizeof(seed));
		memset(&nodes[i], 0, sizeof(nodes[i]));
		assert_int_equal(cn_identity_from_seed(seed, &nodes[i].id), 0);
		assert_int_equal(cn_handshake_local_init(&nodes[i].local, nodes[i].id, "demo"), 0);
	}
	know(&nodes[0], &nodes[1]);
	know(&nodes[1], &nodes[0]);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (int i = 0; i < NODES; i++)
		cn_identity_free(nodes[i].id);
	return 0;
}

/* Resets timestamps and counters between tests. */
static int reset(void **state)
{
	(void)state;
	for (int i = 0; i < NODES; i++) {
		nodes[i].lookups = 0;
		for (size_t k = 0; k < nodes[i].nknown; k++)
			memset(nodes[i].known[k].last_ts, 0, CN_TAI64N_LEN);
	}
	return 0;
}

static void ts_at(uint8_t ts[CN_TAI64N_LEN], uint64_t sec)
{
	cn_handshake_tai64n(ts, 1700000000 + sec, 0);
}

static void initiate(int from, int to, uint32_t idx, uint64_t sec, struct cn_handshake *hs,
		     uint8_t msg[CN_HANDSHAKE_INITIATION_LEN])
{
	uint8_t ts[CN_TAI64N_LEN];

	ts_at(ts, sec);
	assert_int_equal(cn_handshake_create_initiation(hs, &nodes[from].local, nodes[to].id->x_pk,
							idx, ts, NULL, msg),
			 0);
}

static int consume_init(int at, const uint8_t *msg, size_t len, struct cn_handshake *hs,
			struct cn_handshake_peer **peer)
{
	return cn_handshake_consume_initiation(hs, &nodes[at].local, msg, len, lookup, &nodes[at],
					       peer);
}

/* Data both ways through a session pair; the responder waits for the first packet. */
static void check_sessions(struct cn_session *ini, struct cn_session *resp)
{
	uint8_t m[128], pt[128];
	size_t n = 0, pn = 0;

	assert_int_equal(
		cn_session_encrypt(resp, now, (const uint8_t *)"early", 5, m, sizeof(m), &n),
		-CN_ESTATE);
	assert_int_equal(cn_session_encrypt(ini, now, (const uint8_t *)"ping", 4, m, sizeof(m), &n),
			 0);
	assert_int_equal(cn_session_decrypt(resp, now, m, n, pt, sizeof(pt), &pn), 0);
	assert_int_equal(pn, 4);
	assert_memory_equal(pt, "ping", 4);
	assert_int_equal(
		cn_session_encrypt(resp, now, (const uint8_t *)"pong", 4, m, sizeof(m), &n), 0);
	assert_int_equal(cn_session_decrypt(ini, now, m, n, pt, sizeof(pt), &pn), 0);
	assert_memory_equal(pt, "pong", 4);
}

static void full_handshake(int a, int b)
{
	struct cn_handshake hi, hr;
	struct cn_handshake_peer *peer = NULL;
	struct cn_session si, sr;
	uint8_t m1[CN_HANDSHAKE_INITIATION_LEN], m2[CN_HANDSHAKE_RESPONSE_LEN];
	static const uint8_t zero[sizeof(struct cn_handshake)];

	memset(&hr, 0, sizeof(hr));
	initiate(a, b, 0x01020304, 1, &hi, m1);
	assert_int_equal(consume_init(b, m1, sizeof(m1), &hr, &peer), 0);
	assert_ptr_equal(peer, &nodes[b].known[0]);
	assert_memory_equal(peer->x_pk, nodes[a].id->x_pk, CN_KEY_LEN);
	assert_int_equal(hr.remote_index, 0x01020304);
	assert_int_equal(cn_handshake_create_response(&hr, 0xaabbccdd, NULL, now, m2, &sr), 0);
	assert_memory_equal(&hr, zero, sizeof(hr)); /* wiped */
	assert_int_equal(cn_handshake_consume_response(&hi, m2, sizeof(m2), now, &si), 0);
	assert_memory_equal(&hi, zero, sizeof(hi));
	assert_int_equal(si.local_index, 0x01020304);
	assert_int_equal(si.remote_index, 0xaabbccdd);
	assert_int_equal(sr.local_index, 0xaabbccdd);
	assert_int_equal(sr.remote_index, 0x01020304);
	assert_true(si.initiator);
	assert_false(sr.initiator);
	assert_memory_equal(si.send_key, sr.recv_key, 32);
	assert_memory_equal(si.recv_key, sr.send_key, 32);
	assert_memory_not_equal(si.send_key, si.recv_key, 32);
	assert_true(si.created_ms == now);
	check_sessions(&si, &sr);
	cn_session_wipe(&si);
	cn_session_wipe(&sr);
}

static void test_full_both_ways(void **state)
{
	(void)state;
	full_handshake(0, 1);
	reset(NULL);
	full_handshake(1, 0);
}

static void test_wire_layout(void **state)
{
	struct cn_handshake hi, hr;
	struct cn_handshake_peer *peer;
	struct cn_session si, sr;
	uint8_t m1[CN_HANDSHAKE_INITIATION_LEN], m2[CN_HANDSHAKE_RESPONSE_LEN];
	uint8_t mac[CN_HANDSHAKE_MAC_LEN], e[32];
	static const uint8_t e_sk[32] = {7, 7, 7};
	enum cn_msg_type type;
	uint32_t ridx = 1;

	(void)state;
	assert_int_equal(CN_HANDSHAKE_INITIATION_LEN, 132);
	assert_int_equal(CN_HANDSHAKE_RESPONSE_LEN, 76);
	initiate(0, 1, 0x11223344, 1, &hi, m1);
	assert_int_equal(m1[0], 1);
	assert_int_equal(m1[1] | m1[2] | m1[3], 0);
	assert_int_equal(m1[4], 0x44);
	assert_int_equal(m1[7], 0x11);
	assert_memory_equal(m1 + 8, hi.noise.e_pk, 32);
	cn_handshake_mac1(nodes[1].id->x_pk, m1, 116, mac);
	assert_memory_equal(m1 + 116, mac, 16);
	assert_int_equal(cn_handshake_classify(m1, sizeof(m1), &type, &ridx), 0);
	assert_int_equal(type, CN_MSG_INITIATION);
	assert_int_equal(ridx, 0);

	assert_int_equal(consume_init(1, m1, sizeof(m1), &hr, &peer), 0);
	assert_int_equal(cn_handshake_create_response(&hr, 0x55667788, e_sk, now, m2, &sr), 0);
	assert_int_equal(m2[0], 2);
	assert_int_equal(m2[1] | m2[2] | m2[3], 0);
	assert_int_equal(m2[4], 0x88); /* sender_index */
	assert_int_equal(m2[8], 0x44); /* receiver_index */
	assert_int_equal(m2[11], 0x11);
	assert_int_equal(crypto_scalarmult_base(e, e_sk), 0);
	assert_memory_equal(m2 + 12, e, 32); /* the injected ephemeral */
	cn_handshake_mac1(nodes[0].id->x_pk, m2, 60, mac);
	assert_memory_equal(m2 + 60, mac, 16);
	assert_int_equal(cn_handshake_classify(m2, sizeof(m2), &type, &ridx), 0);
	assert_int_equal(type, CN_MSG_RESPONSE);
	assert_int_equal(ridx, 0x11223344);
	assert_int_equal(cn_handshake_consume_response(&hi, m2, sizeof(m2), now, &si), 0);

	/* classify refuses wrong lengths, reserved bytes and unknown types. */
	assert_int_equal(cn_handshake_classify(m1, sizeof(m1) - 1, &type, &ridx), -CN_EFORMAT);
	assert_int_equal(cn_handshake_classify(m2, sizeof(m2) + 1, &type, &ridx), -CN_EFORMAT);
	m2[2] = 1;
	assert_int_equal(cn_handshake_classify(m2, sizeof(m2), &type, &ridx), -CN_EFORMAT);
	m2[0] = 3;
	assert_int_equal(cn_handshake_classify(m2, sizeof(m2), &type, &ridx), -CN_EFORMAT);
	assert_int_equal(cn_handshake_classify(m2, 0, &type, &ridx), -CN_EFORMAT);
	cn_session_wipe(&si);
	cn_session_wipe(&sr);
}

static void test_wrong_responder_key(void **state)
{
	struct cn_handshake hi, hr;
	struct cn_handshake_peer *peer = (void *)1;
	uint8_t m1[CN_HANDSHAKE_INITIATION_LEN], ts[CN_TAI64N_LEN];

	(void)state;
	/* 0 addresses node 2's key but the packet reaches node 1. */
	ts_at(ts, 1);
	assert_int_equal(cn_handshake_create_initiation(&hi, &nodes[0].local, nodes[2].id->x_pk, 9,
							ts, NULL, m1),
			 0);
	assert_int_equal(consume_init(1, m1, sizeof(m1), &hr, &peer), -CN_EDECRYPT);
	assert_null(peer);
	/* Even with a mac1 fixed up for node 1, Noise refuses (es differs). */
	cn_handshake_mac1(nodes[1].id->x_pk, m1, 116, m1 + 116);
	assert_int_equal(consume_init(1, m1, sizeof(m1), &hr, &peer), -CN_EDECRYPT);
	assert_int_equal(nodes[1].lookups, 0);
	cn_handshake_wipe(&hi);
}

static void test_other_network(void **state)
{
	struct cn_handshake hi, hr;
	struct cn_handshake_local other;
	struct cn_handshake_peer *peer;
	uint8_t m1[CN_HANDSHAKE_INITIATION_LEN], ts[CN_TAI64N_LEN];

	(void)state;
	assert_int_equal(cn_handshake_local_init(&other, nodes[0].id, "demo2"), 0);
	ts_at(ts, 1);
	assert_int_equal(
		cn_handshake_create_initiation(&hi, &other, nodes[1].id->x_pk, 9, ts, NULL, m1), 0);
	assert_int_equal(consume_init(1, m1, sizeof(m1), &hr, &peer), -CN_EDECRYPT);
	assert_int_equal(nodes[1].lookups, 0);
	/* Network names: 1..63 bytes. */
	assert_int_equal(cn_handshake_local_init(&other, nodes[0].id, ""), -CN_EINVAL);
	assert_int_equal(cn_handshake_local_init(&other, nodes[0].id,
						 "0123456789012345678901234567890123456789"
						 "01234567890123456789012"),
			 0);
	assert_int_equal(other.prologue_len, 9 + 63);
	assert_memory_equal(other.prologue, "cairn v1\0000123", 13);
	assert_int_equal(cn_handshake_local_init(&other, nodes[0].id,
						 "0123456789012345678901234567890123456789"
						 "012345678901234567890123"),
			 -CN_EINVAL);
	cn_handshake_wipe(&hi);
}

static void test_unknown_initiator(void **state)
{
	struct cn_handshake hi, hr;
	struct cn_handshake_peer *peer = (void *)1;
	uint8_t m1[CN_HANDSHAKE_INITIATION_LEN];

	(void)state;
	memset(&hr, 0x5a, sizeof(hr));
	initiate(2, 1, 9, 1, &hi, m1);
	assert_int_equal(consume_init(1, m1, sizeof(m1), &hr, &peer), -CN_EUNKNOWN);
	assert_null(peer);
	/* The lookup saw the stranger's authenticated key. */
	assert_int_equal(nodes[1].lookups, 1);
	assert_memory_equal(nodes[1].last_lookup, nodes[2].id->x_pk, CN_KEY_LEN);
	/* hs untouched on failure. */
	for (size_t i = 0; i < sizeof(hr); i++)
		assert_int_equal(((uint8_t *)&hr)[i], 0x5a);
	cn_handshake_wipe(&hi);
}

static void test_initiation_bit_flips(void **state)
{
	struct cn_handshake hi, hr;
	struct cn_handshake_peer *peer;
	uint8_t m1[CN_HANDSHAKE_INITIATION_LEN], bad[CN_HANDSHAKE_INITIATION_LEN];
	uint8_t ts_before[CN_TAI64N_LEN];

	(void)state;
	initiate(0, 1, 9, 1, &hi, m1);
	memcpy(ts_before, nodes[1].known[0].last_ts, CN_TAI64N_LEN);
	for (size_t i = 0; i < sizeof(m1); i++) {
		for (int bit = 0; bit < 8; bit++) {
			int ret;

			memcpy(bad, m1, sizeof(m1));
			bad[i] ^= (uint8_t)(1u << bit);
			peer = (void *)1;
			ret = consume_init(1, bad, sizeof(bad), &hr, &peer);
			if (i < 4)
				assert_int_equal(ret, -CN_EFORMAT);
			else
				assert_int_equal(ret, -CN_EDECRYPT); /* mac1 */
			assert_null(peer);
			/* And with mac1 recomputed, Noise itself must refuse. */
			if (i >= 8 && i < 116) {
				cn_handshake_mac1(nodes[1].id->x_pk, bad, 116, bad + 116);
				ret = consume_init(1, bad, sizeof(bad), &hr, &peer);
				assert_true(ret == -CN_EDECRYPT || ret == -CN_EKEY);
			}
			assert_memory_equal(nodes[1].known[0].last_ts, ts_before, CN_TAI64N_LEN);
		}
	}
	assert_int_equal(nodes[1].lookups, 0);
	/* The genuine message still goes through. */
	assert_int_equal(consume_init(1, m1, sizeof(m1), &hr, &peer), 0);
	cn_handshake_wipe(&hi);
	cn_handshake_wipe(&hr);
}

static void test_response_bit_flips(void **state)
{
	struct cn_handshake hi, hr, before;
	struct cn_handshake_peer *peer;
	struct cn_session si, sr;
	uint8_t m1[CN_HANDSHAKE_INITIATION_LEN], m2[CN_HANDSHAKE_RESPONSE_LEN];
	uint8_t bad[CN_HANDSHAKE_RESPONSE_LEN];

	(void)state;
	initiate(0, 1, 9, 1, &hi, m1);
	assert_int_equal(consume_init(1, m1, sizeof(m1), &hr, &peer), 0);
	assert_int_equal(cn_handshake_create_response(&hr, 10, NULL, now, m2, &sr), 0);
	memcpy(&before, &hi, sizeof(hi));
	for (size_t i = 0; i < sizeof(m2); i++) {
		for (int bit = 0; bit < 8; bit++) {
			int ret;

			memcpy(bad, m2, sizeof(m2));
			bad[i] ^= (uint8_t)(1u << bit);
			ret = cn_handshake_consume_response(&hi, bad, sizeof(bad), now, &si);
			if (i < 4)
				assert_int_equal(ret, -CN_EFORMAT);
			else if (i >= 8 && i < 12)
				assert_int_equal(ret, -CN_EUNKNOWN); /* receiver_index */
			else
				assert_int_equal(ret, -CN_EDECRYPT);
			if (i >= 12 && i < 60) {
				cn_handshake_mac1(nodes[0].id->x_pk, bad, 60, bad + 60);
				ret = cn_handshake_consume_response(&hi, bad, sizeof(bad), now,
								    &si);
				assert_true(ret == -CN_EDECRYPT || ret == -CN_EKEY);
			}
			/* The pending handshake is intact after every forgery. */
			assert_memory_equal(&hi, &before, sizeof(hi));
		}
	}
	/* sender_index (4..7) is covered by mac1 only: with mac1 fixed it passes. */
	memcpy(bad, m2, sizeof(m2));
	bad[4] ^= 1;
	cn_handshake_mac1(nodes[0].id->x_pk, bad, 60, bad + 60);
	memcpy(&hr, &hi, sizeof(hi));
	assert_int_equal(cn_handshake_consume_response(&hr, bad, sizeof(bad), now, &si), 0);
	assert_int_equal(si.remote_index, 10 ^ 1);
	/* The genuine response works. */
	assert_int_equal(cn_handshake_consume_response(&hi, m2, sizeof(m2), now, &si), 0);
	check_sessions(&si, &sr);
	cn_session_wipe(&si);
	cn_session_wipe(&sr);
}

static void test_lengths(void **state)
{
	struct cn_handshake hi, hr;
	struct cn_handshake_peer *peer;
	struct cn_session si, sr;
	uint8_t m1[CN_HANDSHAKE_INITIATION_LEN + 64], m2[CN_HANDSHAKE_RESPONSE_LEN + 64];

	(void)state;
	initiate(0, 1, 9, 1, &hi, m1);
	memset(m1 + CN_HANDSHAKE_INITIATION_LEN, 0, 64);
	for (size_t len = 0; len < CN_HANDSHAKE_INITIATION_LEN; len++)
		assert_int_equal(consume_init(1, m1, len, &hr, &peer), -CN_ESHORT);
	/* 132 or 148 (mac2 appended, crypto/cookie.h); nothing in between or longer. */
	for (size_t len = CN_HANDSHAKE_INITIATION_LEN + 1; len <= sizeof(m1); len++)
		if (len != CN_HANDSHAKE_INITIATION_MAC2_LEN)
			assert_int_equal(consume_init(1, m1, len, &hr, &peer), -CN_ETOOBIG);
	assert_int_equal(consume_init(1, m1, CN_HANDSHAKE_INITIATION_LEN, &hr, &peer), 0);
	assert_int_equal(cn_handshake_create_response(&hr, 10, NULL, now, m2, &sr), 0);
	memset(m2 + CN_HANDSHAKE_RESPONSE_LEN, 0, 64);
	for (size_t len = 0; len < CN_HANDSHAKE_RESPONSE_LEN; len++)
		assert_int_equal(cn_handshake_consume_response(&hi, m2, len, now, &si), -CN_ESHORT);
	for (size_t len = CN_HANDSHAKE_RESPONSE_LEN + 1; len <= sizeof(m2); len++)
		if (len != CN_HANDSHAKE_RESPONSE_MAC2_LEN)
			assert_int_equal(cn_handshake_consume_response(&hi, m2, len, now, &si),
					 -CN_ETOOBIG);
	assert_int_equal(
		cn_handshake_consume_response(&hi, m2, CN_HANDSHAKE_RESPONSE_LEN, now, &si), 0);
	cn_session_wipe(&si);
	cn_session_wipe(&sr);
}

/*
 * A message with mac2 appended (148 / 92 bytes) is the same handshake: Noise
 * and mac1 read the first 132 / 76 bytes, whatever the 16 after them hold
 * (mac2 is the cookie checker's). classify accepts both lengths, only them.
 */
static void test_mac2_lengths(void **state)
{
	struct cn_handshake hi, hr;
	struct cn_handshake_peer *peer;
	struct cn_session si, sr;
	uint8_t m1[CN_HANDSHAKE_INITIATION_MAC2_LEN], m2[CN_HANDSHAKE_RESPONSE_MAC2_LEN];
	enum cn_msg_type type;
	uint32_t idx;

	(void)state;
	initiate(0, 1, 9, 1, &hi, m1);
	memset(m1 + CN_HANDSHAKE_INITIATION_LEN, 0x5a, CN_HANDSHAKE_MAC_LEN);
	assert_int_equal(cn_handshake_classify(m1, sizeof(m1), &type, &idx), 0);
	assert_int_equal(type, CN_MSG_INITIATION);
	assert_int_equal(cn_handshake_classify(m1, sizeof(m1) - 1, &type, &idx), -CN_EFORMAT);
	assert_int_equal(consume_init(1, m1, sizeof(m1), &hr, &peer), 0);
	assert_ptr_equal(peer, &nodes[1].known[0]);
	assert_int_equal(cn_handshake_create_response(&hr, 10, NULL, now, m2, &sr), 0);
	memset(m2 + CN_HANDSHAKE_RESPONSE_LEN, 0xa5, CN_HANDSHAKE_MAC_LEN);
	assert_int_equal(cn_handshake_classify(m2, sizeof(m2), &type, &idx), 0);
	assert_int_equal(type, CN_MSG_RESPONSE);
	assert_int_equal(idx, 9);
	assert_int_equal(cn_handshake_classify(m2, sizeof(m2) + 0 - 2, &type, &idx), -CN_EFORMAT);
	assert_int_equal(cn_handshake_consume_response(&hi, m2, sizeof(m2), now, &si), 0);
	check_sessions(&si, &sr);
	cn_session_wipe(&si);
	cn_session_wipe(&sr);
}

/* Reserved bytes must be zero even when mac1 is valid for the change. */
static void test_reserved_bytes(void **state)
{
	struct cn_handshake hi, hr;
	struct cn_handshake_peer *peer;
	struct cn_session si, sr;
	uint8_t m1[CN_HANDSHAKE_INITIATION_LEN], m2[CN_HANDSHAKE_RESPONSE_LEN];

	(void)state;
	initiate(0, 1, 9, 1, &hi, m1);
	for (int i = 1; i < 4; i++) {
		m1[i] = 0x80;
		cn_handshake_mac1(nodes[1].id->x_pk, m1, 116, m1 + 116);
		assert_int_equal(consume_init(1, m1, sizeof(m1), &hr, &peer), -CN_EFORMAT);
		m1[i] = 0;
	}
	cn_handshake_mac1(nodes[1].id->x_pk, m1, 116, m1 + 116);
	assert_int_equal(consume_init(1, m1, sizeof(m1), &hr, &peer), 0);
	assert_int_equal(cn_handshake_create_response(&hr, 10, NULL, now, m2, &sr), 0);
	for (int i = 1; i < 4; i++) {
		m2[i] = 0x01;
		cn_handshake_mac1(nodes[0].id->x_pk, m2, 60, m2 + 60);
		assert_int_equal(cn_handshake_consume_response(&hi, m2, sizeof(m2), now, &si),
				 -CN_EFORMAT);
		m2[i] = 0;
	}
	cn_handshake_mac1(nodes[0].id->x_pk, m2, 60, m2 + 60);
	assert_int_equal(cn_handshake_consume_response(&hi, m2, sizeof(m2), now, &si), 0);
	cn_session_wipe(&si);
	cn_session_wipe(&sr);
}

static void test_replayed_initiation(void **state)
{
	struct cn_handshake hi, hr;
	struct cn_handshake_peer *peer;
	uint8_t m_old[CN_HANDSHAKE_INITIATION_LEN], m_new[CN_HANDSHAKE_INITIATION_LEN];
	uint8_t m_same[CN_HANDSHAKE_INITIATION_LEN], ts[CN_TAI64N_LEN];

	(void)state;
	initiate(0, 1, 9, 100, &hi, m_old);
	initiate(0, 1, 9, 200, &hi, m_new);
	initiate(0, 1, 10, 200, &hi, m_same); /* same timestamp, fresh ephemeral */
	assert_int_equal(consume_init(1, m_new, sizeof(m_new), &hr, &peer), 0);
	ts_at(ts, 200);
	assert_memory_equal(nodes[1].known[0].last_ts, ts, CN_TAI64N_LEN);
	/* Exact replay, equal timestamp, older timestamp: all refused. */
	assert_int_equal(consume_init(1, m_new, sizeof(m_new), &hr, &peer), -CN_EREPLAY);
	assert_null(peer);
	assert_int_equal(consume_init(1, m_same, sizeof(m_same), &hr, &peer), -CN_EREPLAY);
	assert_int_equal(consume_init(1, m_old, sizeof(m_old), &hr, &peer), -CN_EREPLAY);
	assert_memory_equal(nodes[1].known[0].last_ts, ts, CN_TAI64N_LEN);
	/* Newer by one whitening step (2^24 ns) is accepted. */
	cn_handshake_tai64n(ts, 1700000000 + 200, 1u << 24);
	assert_int_equal(cn_handshake_create_initiation(&hi, &nodes[0].local, nodes[1].id->x_pk, 11,
							ts, NULL, m_new),
			 0);
	assert_int_equal(consume_init(1, m_new, sizeof(m_new), &hr, &peer), 0);
	assert_memory_equal(nodes[1].known[0].last_ts, ts, CN_TAI64N_LEN);
	cn_handshake_wipe(&hi);
	cn_handshake_wipe(&hr);
}

static void test_tai64n(void **state)
{
	uint8_t ts[CN_TAI64N_LEN], ts2[CN_TAI64N_LEN];
	static const uint8_t epoch[CN_TAI64N_LEN] = {0x40, 0, 0, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0};
	static const uint8_t later[CN_TAI64N_LEN] = {0x40, 0,	 0,    0,    0x65, 0x53,
						     0xf1, 0x0a, 0x3b, 0x00, 0x00, 0x00};

	(void)state;
	cn_handshake_tai64n(ts, 0, 0);
	assert_memory_equal(ts, epoch, sizeof(ts));
	/* 1700000000 = 0x6553f100; 999999999 ns whitened to 0x3b000000. */
	cn_handshake_tai64n(ts, 1700000000, 999999999);
	assert_memory_equal(ts, later, sizeof(ts));
	cn_handshake_tai64n(ts2, 1700000000, 4000000000u); /* clamped */
	assert_memory_equal(ts2, later, sizeof(ts));
	/* Within one 2^24 ns step the label does not change. */
	cn_handshake_tai64n(ts, 1, (1u << 24) - 1);
	cn_handshake_tai64n(ts2, 1, 0);
	assert_memory_equal(ts, ts2, sizeof(ts));
}

static void test_states(void **state)
{
	static const uint8_t zero[CN_KEY_LEN];
	struct cn_handshake hi, hr, empty;
	struct cn_handshake_peer *peer;
	struct cn_session s;
	uint8_t m1[CN_HANDSHAKE_INITIATION_LEN], m2[CN_HANDSHAKE_RESPONSE_LEN];
	uint8_t ts[CN_TAI64N_LEN];

	(void)state;
	memset(&empty, 0, sizeof(empty));
	memset(m2, 0, sizeof(m2));
	assert_int_equal(cn_handshake_create_response(&empty, 1, NULL, now, m2, &s), -CN_ESTATE);
	assert_int_equal(cn_handshake_consume_response(&empty, m2, sizeof(m2), now, &s),
			 -CN_ESTATE);
	initiate(0, 1, 9, 1, &hi, m1);
	/* The initiator's handshake cannot answer; the responder's cannot consume a response. */
	assert_int_equal(cn_handshake_create_response(&hi, 1, NULL, now, m2, &s), -CN_ESTATE);
	assert_int_equal(consume_init(1, m1, sizeof(m1), &hr, &peer), 0);
	assert_int_equal(cn_handshake_consume_response(&hr, m2, sizeof(m2), now, &s), -CN_ESTATE);
	/* A response for another pending index is not ours. */
	assert_int_equal(cn_handshake_create_response(&hr, 1, NULL, now, m2, &s), 0);
	hi.local_index++;
	assert_int_equal(cn_handshake_consume_response(&hi, m2, sizeof(m2), now, &s), -CN_EUNKNOWN);
	hi.local_index--;
	assert_int_equal(cn_handshake_consume_response(&hi, m2, sizeof(m2), now, &s), 0);
	/* Spent: a second response is refused. */
	assert_int_equal(cn_handshake_consume_response(&hi, m2, sizeof(m2), now, &s), -CN_ESTATE);
	/* A low-order peer key is refused at creation. */
	ts_at(ts, 1);
	assert_int_equal(
		cn_handshake_create_initiation(&hi, &nodes[0].local, zero, 9, ts, NULL, m1),
		-CN_EKEY);
	cn_session_wipe(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_full_both_ways, reset),
		cmocka_unit_test_setup(test_wire_layout, reset),
		cmocka_unit_test_setup(test_wrong_responder_key, reset),
		cmocka_unit_test_setup(test_other_network, reset),
		cmocka_unit_test_setup(test_unknown_initiator, reset),
		cmocka_unit_test_setup(test_initiation_bit_flips, reset),
		cmocka_unit_test_setup(test_response_bit_flips, reset),
		cmocka_unit_test_setup(test_lengths, reset),
		cmocka_unit_test_setup(test_mac2_lengths, reset),
		cmocka_unit_test_setup(test_reserved_bytes, reset),
		cmocka_unit_test_setup(test_replayed_initiation, reset),
		cmocka_unit_test_setup(test_tai64n, reset),
		cmocka_unit_test_setup(test_states, reset),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, setup, teardown);
}
