/* SPDX-License-Identifier: MIT */
/*
 * Differential libFuzzer target: cn_session_batch_open + _accept
 * (crypto/session_batch.h) against cn_session_decrypt (crypto/session.h) on
 * the same message and two copies of one receiving session. Verdicts,
 * plaintexts and the sessions afterwards (state, replay window) must be
 * identical. The receiver has already accepted counters 0, 5 and 9000.
 *
 * Input: byte 0 is a mode.
 *   bit 0 clear: the rest is the message.
 *   bit 0 set: bytes 1..8 are a counter (u64le), byte 9 a position and byte
 *     10 a mask; the rest is a payload sealed by cn_session_batch_seal with
 *     that counter, then byte (position - 1) is XORed with the mask unless
 *     position is 0, so authentic and almost-authentic messages are tried.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/err.h"
#include "crypto/session.h"
#include "crypto/session_batch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { IA = 0xa, IB = 0xb, MAXP = 4096 };

static void check(int cond)
{
	if (!cond)
		abort();
}

static void seal_into(struct cn_session *rx, const struct cn_session_seal_key *sk, uint64_t c)
{
	uint8_t msg[CN_SESSION_OVERHEAD + 4], pt[4] = {1, 2, 3, 4}, out[4];
	size_t len, plen;

	check(cn_session_batch_seal(sk, c, pt, sizeof(pt), msg, sizeof(msg), &len) == 0);
	check(cn_session_decrypt(rx, 1000, msg, len, out, sizeof(out), &plen) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t msg[MAXP + CN_SESSION_OVERHEAD], p1[MAXP + CN_SESSION_OVERHEAD],
		p2[MAXP + CN_SESSION_OVERHEAD];
	uint8_t ka[CN_NOISE_CIPHER_KEY_LEN], kb[CN_NOISE_CIPHER_KEY_LEN];
	struct cn_session a, b1, b2;
	struct cn_session_seal_key sk = {{0}, 0};
	struct cn_session_open_key ok;
	size_t len = 0, l1 = 1, l2 = 1;
	uint64_t counter = 0, c2 = 1;
	uint64_t next_before;
	bool newest = false;
	int r1, r2;

	if (size < 1 || size > MAXP || sodium_init() < 0)
		return 0;
	memset(ka, 0x5a, sizeof(ka));
	memset(kb, 0xa5, sizeof(kb));
	cn_session_init(&a, ka, kb, IA, IB, true, 1000);
	cn_session_init(&b1, kb, ka, IB, IA, false, 1000);
	memcpy(sk.key, ka, sizeof(ka));
	sk.remote_index = IB;
	seal_into(&b1, &sk, 0);
	seal_into(&b1, &sk, 5);
	seal_into(&b1, &sk, 9000);
	b2 = b1;
	next_before = b1.replay.next;

	if (data[0] & 1) {
		if (size < 11)
			return 0;
		for (int i = 8; i >= 1; i--)
			counter = (counter << 8) | data[i];
		if (cn_session_batch_seal(&sk, counter, data + 11, size - 11, msg, sizeof(msg),
					  &len))
			abort();
		if (data[9])
			msg[(data[9] - 1) % len] ^= data[10];
	} else {
		len = size - 1;
		memcpy(msg, data + 1, len);
	}

	r1 = cn_session_decrypt(&b1, 1000, msg, len, p1, sizeof(p1), &l1);
	r2 = cn_session_batch_open_key(&b2, 1000, &ok);
	check(r2 == 0);
	r2 = cn_session_batch_open(&ok, msg, len, p2, sizeof(p2), &l2, &c2);
	if (r2 == 0) {
		r2 = cn_session_batch_accept(&b2, c2, &newest);
		if (r2)
			sodium_memzero(p2, l2);
	} else {
		check(l2 == 0 && c2 == 0);
	}
	check(r1 == r2);
	if (r1 == 0) {
		check(l1 == l2 && memcmp(p1, p2, l1) == 0);
		/* Accepted once: the second time is a replay on both paths. */
		check(newest == (c2 >= next_before));
		check(cn_session_batch_accept(&b2, c2, NULL) == -CN_EREPLAY);
		check(cn_session_decrypt(&b1, 1000, msg, len, p1, sizeof(p1), &l1) == -CN_EREPLAY);
	}
	check(b1.state == b2.state && memcmp(&b1.replay, &b2.replay, sizeof(b1.replay)) == 0);
	cn_session_batch_open_key_wipe(&ok);
	cn_session_wipe(&a);
	cn_session_wipe(&b1);
	cn_session_wipe(&b2);
	return 0;
}
