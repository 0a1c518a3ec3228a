/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the cookie code (crypto/cookie.h): arbitrary bytes
 * into cn_cookie_reply_classify and cn_cookie_consume_reply (as an
 * initiator that sent one fixed initiation), and into cn_cookie_check and
 * cn_cookie_reply_create (as a responder under load and not). Deterministic
 * keys and messages; every input starts from the same state.
 *
 * Input: byte 0 is a mode, the rest the message.
 *   mode bit 0: reseal: treat bytes 8..31 as the nonce and 32..47 as a
 *               cookie and seal them with the right key and AD, so
 *               mutations of index and lengths reach the accepting path.
 *   mode bit 1: recompute mac1 (responder's key) of a message of a
 *               handshake length, so cn_cookie_check reaches mac2.
 *
 * Checked invariants (abort on violation): a refused reply leaves the jar
 * unchanged; an accepted one has the right length, header and index and
 * stores exactly the sealed cookie; cn_cookie_check drops every length but
 * 76/92/132/148; a cookie reply is never longer than the message it answers.
 * tests/fuzz/corpus/fuzz_cookie/ holds valid replies and edge cases.
 */
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/err.h"
#include "crypto/cookie.h"
#include "crypto/handshake.h"
#include "crypto/keys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum {
	FUZZ_INDEX = 0x0a0a0a0a,
	FUZZ_MAX = 4096,
};

static const uint64_t fuzz_now = 5000;

struct fixture {
	struct cn_identity *a, *b;
	struct cn_handshake_local la;
	struct cn_cookie_jar jar; /* A's jar for B, one initiation sent */
	uint8_t e_a[32];
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
	if (cn_identity_from_seed(seed, &id) != 0)
		abort();
	return id;
}

static const struct fixture *fixture(void)
{
	static struct fixture f;
	static bool ready;
	struct cn_handshake hs;
	uint8_t msg[CN_HANDSHAKE_INITIATION_MAC2_LEN], ts[CN_TAI64N_LEN];

	if (ready)
		return &f;
	if (sodium_init() < 0)
		abort();
	f.a = fixed_identity(0xa1);
	f.b = fixed_identity(0xb2);
	if (cn_handshake_local_init(&f.la, f.a, "fuzz") != 0)
		abort();
	memset(f.e_a, 0xea, sizeof(f.e_a));
	cn_handshake_tai64n(ts, 1700000000, 0);
	if (cn_handshake_create_initiation(&hs, &f.la, f.b->x_pk, FUZZ_INDEX, ts, f.e_a, msg) != 0)
		abort();
	cn_cookie_jar_init(&f.jar, f.b->x_pk);
	check(cn_cookie_jar_stamp(&f.jar, msg, CN_HANDSHAKE_INITIATION_LEN, sizeof(msg),
				  fuzz_now) == CN_HANDSHAKE_INITIATION_LEN);
	cn_handshake_wipe(&hs);
	ready = true;
	return &f;
}

static void fuzz_reply(const struct fixture *f, uint8_t *msg, size_t len, bool reseal)
{
	struct cn_cookie_jar jar = f->jar;
	uint8_t cookie[CN_COOKIE_LEN] = {0};
	uint32_t idx = 0;
	int ret, cls;

	if (reseal && len >= CN_COOKIE_REPLY_LEN) {
		unsigned long long n = 0;

		memcpy(cookie, msg + 32, CN_COOKIE_LEN);
		crypto_aead_xchacha20poly1305_ietf_encrypt(msg + 32, &n, cookie, CN_COOKIE_LEN,
							   f->jar.last_mac1, CN_HANDSHAKE_MAC_LEN,
							   NULL, msg + 8, f->jar.reply_key);
	}
	cls = cn_cookie_reply_classify(msg, len, &idx);
	ret = cn_cookie_consume_reply(&jar, msg, len, fuzz_now);
	if (ret) {
		check(memcmp(&jar, &f->jar, sizeof(jar)) == 0);
		return;
	}
	check(cls == 0 && len == CN_COOKIE_REPLY_LEN && msg[0] == CN_MSG_COOKIE_REPLY);
	check(idx == FUZZ_INDEX && jar.have_cookie && !jar.have_sent);
	check(jar.cookie_ms == fuzz_now);
	/* Only our own sealing can pass, and then it carries that cookie. */
	check(reseal && memcmp(jar.cookie, cookie, CN_COOKIE_LEN) == 0);
	cn_cookie_jar_wipe(&jar);
}

static void fuzz_check(const struct fixture *f, uint8_t *msg, size_t len, bool fix_mac)
{
	struct cn_cookie_checker ck;
	struct sockaddr_in src;
	uint8_t reply[CN_COOKIE_REPLY_LEN];
	enum cn_cookie_verdict v;
	bool hs_len = len == CN_HANDSHAKE_INITIATION_LEN || len == CN_HANDSHAKE_RESPONSE_LEN ||
		      len == CN_HANDSHAKE_INITIATION_MAC2_LEN ||
		      len == CN_HANDSHAKE_RESPONSE_MAC2_LEN;

	if (fix_mac && hs_len && len >= 4 && (msg[0] == 1 || msg[0] == 2)) {
		size_t base = msg[0] == 1 ? CN_HANDSHAKE_INITIATION_LEN : CN_HANDSHAKE_RESPONSE_LEN;

		if (len >= base)
			cn_handshake_mac1(f->b->x_pk, msg, base - CN_HANDSHAKE_MAC_LEN,
					  msg + base - CN_HANDSHAKE_MAC_LEN);
	}
	memset(&src, 0, sizeof(src));
	src.sin_family = AF_INET;
	src.sin_port = htons(4000);
	src.sin_addr.s_addr = htonl(0xc0000201);
	cn_cookie_checker_init(&ck, f->b->x_pk);
	v = cn_cookie_check(&ck, msg, len, (const struct sockaddr *)&src, false, fuzz_now);
	if (!hs_len)
		check(v == CN_COOKIE_DROP);
	v = cn_cookie_check(&ck, msg, len, (const struct sockaddr *)&src, true, fuzz_now);
	if (!hs_len)
		check(v == CN_COOKIE_DROP);
	if (v == CN_COOKIE_SEND_REPLY) {
		check(cn_cookie_reply_create(&ck, msg, len, (const struct sockaddr *)&src, fuzz_now,
					     reply) == 0);
		check(sizeof(reply) < len);
	}
	cn_cookie_checker_wipe(&ck);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct fixture *f = fixture();
	uint8_t *msg;
	size_t len;

	if (size < 1 || size > FUZZ_MAX)
		return 0;
	len = size - 1;
	/* A private copy of exactly len bytes (ASan sees overreads; the fix-ups write). */
	msg = malloc(len ? len : 1);
	if (!msg)
		return 0;
	memcpy(msg, data + 1, len);
	fuzz_reply(f, msg, len, data[0] & 1);
	memcpy(msg, data + 1, len);
	fuzz_check(f, msg, len, data[0] & 2);
	free(msg);
	return 0;
}
