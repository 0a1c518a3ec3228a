/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the data message decoder and the replay window.
 * A session pair comes from a handshake between two fixed-seed identities
 * with fixed ephemerals, so it is the same in every run; every input
 * starts from fresh copies of it.
 *
 * Input: byte 0 is a mode, the rest depends on it.
 *   mode bit 0 clear: the rest is one packet, fed to cn_session_decrypt on
 *     both sessions, into a separate buffer and in place. Mode bit 1 makes
 *     `now` lie past REJECT_AFTER_TIME. Invariants: a refused packet
 *     changes no session state and yields no plaintext; an accepted one
 *     is refused the second time (replay).
 *   mode bit 0 set: the rest is a list of 4-byte steps (op, arg u24le)
 *     that pick send counters; each step encrypts a packet with that
 *     counter and decrypts it on the peer, and the outcome must match a
 *     plain model of the replay window and the counter limit.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/bytes.h"
#include "common/err.h"
#include "crypto/handshake.h"
#include "crypto/keys.h"
#include "crypto/session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum {
	FUZZ_INDEX_A = 0x0a0a0a0a,
	FUZZ_INDEX_B = 0x0b0b0b0b,
	FUZZ_MAX = 4096,
	MAX_STEPS = FUZZ_MAX / 4,
};

static const uint64_t fuzz_now = 1000;

struct fixture {
	struct cn_session a; /* initiator, established */
	struct cn_session b; /* responder, unconfirmed */
};

static void check(bool ok)
{
	if (!ok)
		abort();
}

static struct cn_identity *fixed_identity(uint8_t fill)
{
	uint8_t seed[CN_SEED_LEN];
	struct cn_identity *id = NULL;

	memset(seed, fill, sizeof(seed));
	check(cn_identity_from_seed(seed, &id) == 0);
	return id;
}

static struct cn_handshake_peer *lookup(void *ctx, const uint8_t x_pk[CN_KEY_LEN])
{
	struct cn_handshake_peer *known = ctx;

	return cn_key_equal(known->x_pk, x_pk) ? known : NULL;
}

static const struct fixture *fixture(void)
{
	static struct fixture f;
	static bool ready;
	struct cn_identity *a, *b;
	struct cn_handshake_local la, lb;
	struct cn_handshake_peer known, *peer;
	struct cn_handshake hi, hr;
	uint8_t m1[CN_HANDSHAKE_INITIATION_LEN], m2[CN_HANDSHAKE_RESPONSE_LEN];
	uint8_t ts[CN_TAI64N_LEN], e_a[32], e_b[32];

	if (ready)
		return &f;
	a = fixed_identity(0xa1);
	b = fixed_identity(0xb2);
	memset(e_a, 0xea, sizeof(e_a));
	memset(e_b, 0xeb, sizeof(e_b));
	cn_handshake_tai64n(ts, 1700000000, 0);
	check(cn_handshake_local_init(&la, a, "fuzz") == 0);
	check(cn_handshake_local_init(&lb, b, "fuzz") == 0);
	cn_handshake_peer_init(&known, a->x_pk);
	check(cn_handshake_create_initiation(&hi, &la, b->x_pk, FUZZ_INDEX_A, ts, e_a, m1) == 0);
	check(cn_handshake_consume_initiation(&hr, &lb, m1, sizeof(m1), lookup, &known, &peer) ==
	      0);
	check(cn_handshake_create_response(&hr, FUZZ_INDEX_B, e_b, fuzz_now, m2, &f.b) == 0);
	check(cn_handshake_consume_response(&hi, m2, sizeof(m2), fuzz_now, &f.a) == 0);
	cn_identity_free(a);
	cn_identity_free(b);
	ready = true;
	return &f;
}

/* One packet against one session, out of place then in place. */
static void fuzz_packet_on(const struct cn_session *tmpl, const uint8_t *pkt, size_t len,
			   uint64_t now)
{
	struct cn_session s, s2;
	uint8_t *pt = malloc(len ? len : 1), *buf = malloc(len ? len : 1);
	size_t n = 1, n2 = 1;
	int ret, ret2;

	check(pt && buf);
	memcpy(&s, tmpl, sizeof(s));
	ret = cn_session_decrypt(&s, now, pkt, len, pt, len, &n);
	if (ret) {
		check(n == 0);
		check(memcmp(&s, tmpl, sizeof(s)) == 0);
	} else {
		check(n == len - CN_SESSION_OVERHEAD);
		check(s.state == CN_SESSION_ESTABLISHED);
	}
	/* In place on a fresh copy: the same verdict and plaintext. */
	memcpy(&s2, tmpl, sizeof(s2));
	memcpy(buf, pkt, len);
	if (len >= CN_SESSION_HEADER_LEN)
		ret2 = cn_session_decrypt(&s2, now, buf, len, buf + CN_SESSION_HEADER_LEN,
					  len - CN_SESSION_HEADER_LEN, &n2);
	else
		ret2 = cn_session_decrypt(&s2, now, buf, len, pt, len, &n2);
	check(ret2 == ret);
	if (ret == 0) {
		check(n2 == n && memcmp(buf + CN_SESSION_HEADER_LEN, pt, n) == 0);
		/* Accepted once: the second time is a replay. */
		check(cn_session_decrypt(&s, now, pkt, len, pt, len, &n) == -CN_EREPLAY);
		check(n == 0);
	}
	free(pt);
	free(buf);
}

static void fuzz_counters(const struct fixture *f, const uint8_t *p, size_t len)
{
	static uint64_t accepted[MAX_STEPS];
	struct cn_session a, b;
	uint8_t pkt[CN_SESSION_OVERHEAD + 1], pt[1];
	uint64_t cur = 0, max = 0;
	size_t naccepted = 0, n;
	bool any = false;
	struct cn_rd r;

	memcpy(&a, &f->a, sizeof(a));
	memcpy(&b, &f->b, sizeof(b));
	cn_rd_init(&r, p, len);
	while (cn_rd_left(&r) >= 4) {
		uint32_t step = cn_rd_u32le(&r), arg = step >> 8;
		bool seen = false, want;
		uint64_t c;
		int ret;

		switch (step & 3) {
		case 0: /* a little ahead */
			c = cur + 1 + arg % 64;
			break;
		case 1: /* back, often inside the window */
			c = cur - (cur < arg % (CN_REPLAY_WINDOW + 256)
					   ? cur
					   : arg % (CN_REPLAY_WINDOW + 256));
			break;
		case 2: /* a jump */
			c = cur + (uint64_t)arg * 64;
			break;
		default: /* around the counter limit */
			c = CN_SESSION_REJECT_AFTER_MESSAGES - 4 + arg % 8;
			break;
		}
		if (c < cur && ((step & 3) == 0 || (step & 3) == 2)) /* wrapped: stay at the top */
			c = UINT64_MAX;
		cur = c;
		a.send_counter = c;
		ret = cn_session_encrypt(&a, fuzz_now, (const uint8_t *)"c", 1, pkt, sizeof(pkt),
					 &n);
		if (c >= CN_SESSION_REJECT_AFTER_MESSAGES) {
			check(ret == -CN_EEXHAUSTED && a.send_counter == c);
			continue;
		}
		check(ret == 0 && n == sizeof(pkt));
		for (size_t i = 0; i < naccepted; i++)
			seen |= accepted[i] == c;
		want = !seen && (!any || c > max || max - c < CN_REPLAY_WINDOW);
		ret = cn_session_decrypt(&b, fuzz_now, pkt, n, pt, sizeof(pt), &n);
		check(ret == (want ? 0 : -CN_EREPLAY));
		if (want) {
			check(n == 1 && pt[0] == 'c');
			accepted[naccepted++] = c;
			if (!any || c > max)
				max = c;
			any = true;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct fixture *f = fixture();
	uint8_t *pkt;
	size_t len;
	uint64_t now;

	if (size < 1 || size > FUZZ_MAX)
		return 0;
	if (data[0] & 1) {
		fuzz_counters(f, data + 1, size - 1);
		return 0;
	}
	now = (data[0] & 2) ? fuzz_now + CN_SESSION_REJECT_AFTER_TIME_MS : fuzz_now;
	len = size - 1;
	pkt = malloc(len ? len : 1); /* exactly len bytes, for ASan */
	check(pkt != NULL);
	memcpy(pkt, data + 1, len);
	fuzz_packet_on(&f->a, pkt, len, now);
	fuzz_packet_on(&f->b, pkt, len, now);
	free(pkt);
	return 0;
}
