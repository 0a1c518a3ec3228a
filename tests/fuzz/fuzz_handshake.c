/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the handshake decoders: arbitrary bytes into
 * cn_handshake_classify, cn_handshake_consume_initiation (as node B, who
 * knows A and not C) and cn_handshake_consume_response (as node A, with one
 * initiation to B pending). Deterministic: identities from fixed seeds, fixed ephemerals,
 * index and timestamp; every input starts from the same state.
 *
 * Input: byte 0 is a mode, the rest the message.
 *   mode bit 0: recompute the message's mac1 for the receiver first, so
 *               mutations get past the cheap filter into Noise (at bytes
 *               116 / 60 in a 148 / 92-byte message that carries mac2).
 *
 * Checked invariants (abort on violation): a refused message changes no
 * state (the pending handshake, the peer's timestamp) and sets no peer;
 * an accepted initiation names A's record and a replay of it is refused;
 * a response the responder built is accepted by the genuine initiator.
 * tests/fuzz/corpus/fuzz_handshake/ holds valid messages built with these
 * keys (mode byte first) and edge cases.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/err.h"
#include "crypto/handshake.h"
#include "crypto/keys.h"
#include "crypto/session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum {
	FUZZ_INDEX_A = 0x0a0a0a0a,
	FUZZ_INDEX_B = 0x0b0b0b0b,
	FUZZ_MAX = 4096,
};

static const uint64_t fuzz_now = 1000;

struct fixture {
	struct cn_identity *a, *b, *c;
	struct cn_handshake_local la, lb, lc;
	struct cn_handshake_peer b_knows_a; /* B's record of A, timestamp zero */
	struct cn_handshake pending;	    /* A's initiation to B */
	uint8_t e_a[32], e_b[32], e_c[32];
	uint8_t ts[CN_TAI64N_LEN];
};

static struct cn_identity *fixed_identity(uint8_t fill)
{
	uint8_t seed[CN_SEED_LEN];
	struct cn_identity *id = NULL;

	memset(seed, fill, sizeof(seed));
	if (cn_identity_from_seed(seed, &id) != 0)
		abort();
	return id;
}

static const struct fixture *fixture(void)
{
	static struct fixture f;
	static bool ready;
	uint8_t msg[CN_HANDSHAKE_INITIATION_LEN];

	if (ready)
		return &f;
	f.a = fixed_identity(0xa1);
	f.b = fixed_identity(0xb2);
	f.c = fixed_identity(0xc3);
	if (cn_handshake_local_init(&f.la, f.a, "fuzz") != 0 ||
	    cn_handshake_local_init(&f.lb, f.b, "fuzz") != 0 ||
	    cn_handshake_local_init(&f.lc, f.c, "fuzz") != 0)
		abort();
	cn_handshake_peer_init(&f.b_knows_a, f.a->x_pk);
	memset(f.e_a, 0xea, sizeof(f.e_a));
	memset(f.e_b, 0xeb, sizeof(f.e_b));
	memset(f.e_c, 0xec, sizeof(f.e_c));
	cn_handshake_tai64n(f.ts, 1700000000, 0);
	if (cn_handshake_create_initiation(&f.pending, &f.la, f.b->x_pk, FUZZ_INDEX_A, f.ts, f.e_a,
					   msg) != 0)
		abort();
	ready = true;
	return &f;
}

static struct cn_handshake_peer *lookup(void *ctx, const uint8_t x_pk[CN_KEY_LEN])
{
	struct cn_handshake_peer *known = ctx;

	return cn_key_equal(known->x_pk, x_pk) ? known : NULL;
}

static void check(bool ok)
{
	if (!ok)
		abort();
}

/* Where mac1 sits: before mac2 in a message of the with-mac2 length, else last. */
static size_t mac1_at(size_t len, size_t mac2_len)
{
	return len == mac2_len ? len - 2 * CN_HANDSHAKE_MAC_LEN : len - CN_HANDSHAKE_MAC_LEN;
}

static void fuzz_initiation(const struct fixture *f, uint8_t *msg, size_t len, bool fix_mac)
{
	struct cn_handshake_peer known = f->b_knows_a, *peer = (void *)1;
	struct cn_handshake hr, hr_before, hi;
	struct cn_session sr, si;
	uint8_t resp[CN_HANDSHAKE_RESPONSE_LEN];
	int ret;

	if (fix_mac && len >= CN_HANDSHAKE_MAC_LEN) {
		size_t at = mac1_at(len, CN_HANDSHAKE_INITIATION_MAC2_LEN);

		cn_handshake_mac1(f->b->x_pk, msg, at, msg + at);
	}
	memset(&hr, 0x33, sizeof(hr));
	memcpy(&hr_before, &hr, sizeof(hr));
	ret = cn_handshake_consume_initiation(&hr, &f->lb, msg, len, lookup, &known, &peer);
	if (ret) {
		check(peer == NULL);
		check(memcmp(&hr, &hr_before, sizeof(hr)) == 0);
		check(memcmp(&known, &f->b_knows_a, sizeof(known)) == 0);
		return;
	}
	check(peer == &known &&
	      (len == CN_HANDSHAKE_INITIATION_LEN || len == CN_HANDSHAKE_INITIATION_MAC2_LEN));
	check(memcmp(known.last_ts, f->b_knows_a.last_ts, CN_TAI64N_LEN) > 0);
	/* The same message again is a replay. */
	memcpy(&hi, &hr, sizeof(hr));
	check(cn_handshake_consume_initiation(&hi, &f->lb, msg, len, lookup, &known, &peer) ==
	      -CN_EREPLAY);
	check(peer == NULL);
	check(cn_handshake_create_response(&hr, FUZZ_INDEX_B, f->e_b, fuzz_now, resp, &sr) == 0);
	/* If this was A's own initiation, A completes the handshake. */
	memcpy(&hi, &f->pending, sizeof(hi));
	ret = cn_handshake_consume_response(&hi, resp, sizeof(resp), fuzz_now, &si);
	if (memcmp(msg + 8, f->pending.noise.e_pk, CN_KEY_LEN) == 0 &&
	    memcmp(msg + 4, "\x0a\x0a\x0a\x0a", 4) == 0)
		check(ret == 0);
	if (ret == 0) {
		check(memcmp(si.send_key, sr.recv_key, sizeof(si.send_key)) == 0);
		cn_session_wipe(&si);
	}
	cn_handshake_wipe(&hi);
	cn_session_wipe(&sr);
}

static void fuzz_response(const struct fixture *f, uint8_t *msg, size_t len, bool fix_mac)
{
	struct cn_handshake hi;
	struct cn_session si;
	uint8_t pkt[64], pt[64];
	size_t n = 0;
	int ret;

	if (fix_mac && len >= CN_HANDSHAKE_MAC_LEN) {
		size_t at = mac1_at(len, CN_HANDSHAKE_RESPONSE_MAC2_LEN);

		cn_handshake_mac1(f->a->x_pk, msg, at, msg + at);
	}
	memcpy(&hi, &f->pending, sizeof(hi));
	ret = cn_handshake_consume_response(&hi, msg, len, fuzz_now, &si);
	if (ret) {
		check(memcmp(&hi, &f->pending, sizeof(hi)) == 0);
		cn_handshake_wipe(&hi);
		return;
	}
	check((len == CN_HANDSHAKE_RESPONSE_LEN || len == CN_HANDSHAKE_RESPONSE_MAC2_LEN) &&
	      si.local_index == FUZZ_INDEX_A);
	check(cn_session_encrypt(&si, fuzz_now, (const uint8_t *)"k", 1, pkt, sizeof(pkt), &n) ==
	      0);
	/* Our own packet is not for us: its receiver index is the peer's. */
	ret = cn_session_decrypt(&si, fuzz_now, pkt, n, pt, sizeof(pt), &n);
	check(ret != 0);
	cn_session_wipe(&si);
}

/* The demultiplexer: its verdict must agree with the lengths it promises. */
static void fuzz_classify(const uint8_t *msg, size_t len)
{
	enum cn_msg_type type;
	uint32_t idx = 1;

	if (cn_handshake_classify(msg, len, &type, &idx) != 0)
		return;
	switch (type) {
	case CN_MSG_INITIATION:
		check((len == CN_HANDSHAKE_INITIATION_LEN ||
		       len == CN_HANDSHAKE_INITIATION_MAC2_LEN) &&
		      idx == 0);
		break;
	case CN_MSG_RESPONSE:
		check(len == CN_HANDSHAKE_RESPONSE_LEN || len == CN_HANDSHAKE_RESPONSE_MAC2_LEN);
		break;
	case CN_MSG_DATA:
		check(len >= CN_SESSION_OVERHEAD);
		break;
	}
	check(msg[0] == (uint8_t)type && (msg[1] | msg[2] | msg[3]) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct fixture *f = fixture();
	uint8_t *msg;
	size_t len;
	bool fix_mac;

	if (size < 1 || size > FUZZ_MAX)
		return 0;
	fix_mac = data[0] & 1;
	len = size - 1;
	/* A private copy of exactly len bytes (ASan sees overreads; mac1 fix-up writes). */
	msg = malloc(len ? len : 1);
	if (!msg)
		return 0;
	memcpy(msg, data + 1, len);
	fuzz_classify(msg, len);
	fuzz_initiation(f, msg, len, fix_mac);
	memcpy(msg, data + 1, len);
	fuzz_response(f, msg, len, fix_mac);
	free(msg);
	return 0;
}
