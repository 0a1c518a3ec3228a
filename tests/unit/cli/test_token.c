/* SPDX-License-Identifier: MIT */
/*
 * The enrolment token: round trips, and every way a copied token goes
 * wrong (cut short, mistyped, padded, foreign prefix, fields out of their
 * rules, trailing bytes).
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
#include "node/cli/token.h"

static void valid_key(uint8_t k[CN_KEY_LEN], uint8_t seed)
{
	uint8_t s[crypto_sign_SEEDBYTES], sk[crypto_sign_SECRETKEYBYTES];

	memset(s, seed, sizeof(s));
	crypto_sign_seed_keypair(k, sk, s);
}

static void sample(struct cn_token *t, size_t nrelays)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->network, sizeof(t->network), "demo");
	valid_key(t->root_key, 1);
	t->serial = 0x0102030405060708ull;
	t->nrelays = nrelays;
	for (size_t i = 0; i < nrelays; i++) {
		snprintf(t->relays[i].name, sizeof(t->relays[i].name), "relay%zu", i + 1);
		valid_key(t->relays[i].key, (uint8_t)(2 + i));
		snprintf(t->relays[i].host, sizeof(t->relays[i].host), "203.0.113.%zu", 100 + i);
		t->relays[i].port = (uint16_t)(443 + i);
	}
}

/* The binary inside a token: base64url without padding, check recomputed. */
static char *wrap(const uint8_t *bin, size_t n, bool fix_check, char *out, size_t cap)
{
	uint8_t b[CN_TOKEN_BIN_MAX + 64], h[32];

	assert_true(n + CN_TOKEN_CHECK_LEN <= sizeof(b));
	memcpy(b, bin, n);
	if (fix_check) {
		crypto_generichash(h, sizeof(h), b, n, NULL, 0);
		memcpy(b + n, h, CN_TOKEN_CHECK_LEN);
		n += CN_TOKEN_CHECK_LEN;
	}
	memcpy(out, CN_TOKEN_PREFIX, 7);
	sodium_bin2base64(out + 7, cap - 7, b, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return out;
}

/* Wraps bin (as wrap) and decodes it. */
static int decode_bin(const uint8_t *bin, size_t n, bool fix_check)
{
	char text[2 * CN_TOKEN_TEXT_MAX];
	struct cn_token u;

	wrap(bin, n, fix_check, text, sizeof(text));
	return cn_token_decode(text, strlen(text), &u);
}

static size_t unwrap(const char *text, uint8_t *bin, size_t cap)
{
	size_t n = 0;

	assert_int_equal(sodium_base642bin(bin, cap, text + 7, strlen(text + 7), NULL, &n, NULL,
					   sodium_base64_VARIANT_URLSAFE_NO_PADDING),
			 0);
	return n;
}

static void test_roundtrip(void **state)
{
	struct cn_token t, u;
	char text[CN_TOKEN_TEXT_MAX];

	(void)state;
	for (size_t nr = 1; nr <= CN_TOKEN_MAX_RELAYS; nr++) {
		sample(&t, nr);
		assert_int_equal(cn_token_encode(&t, text, sizeof(text)), 0);
		assert_memory_equal(text, "cairn1:", 7);
		assert_int_equal(cn_token_decode(text, strlen(text), &u), 0);
		assert_memory_equal(&t, &u, sizeof(t));
	}
	/* What a terminal adds around a pasted token is ignored. */
	{
		char padded[CN_TOKEN_TEXT_MAX + 8];

		sample(&t, 1);
		assert_int_equal(cn_token_encode(&t, text, sizeof(text)), 0);
		snprintf(padded, sizeof(padded), "  %s\r\n", text);
		assert_int_equal(cn_token_decode(padded, strlen(padded), &u), 0);
		assert_memory_equal(&t, &u, sizeof(t));
	}
}

static void test_short_for_one_relay(void **state)
{
	struct cn_token t;
	char text[CN_TOKEN_TEXT_MAX];

	(void)state;
	sample(&t, 1);
	assert_int_equal(cn_token_encode(&t, text, sizeof(text)), 0);
	/* A name of 4, a relay with a 15-byte address: a line a person can copy. */
	assert_true(strlen(text) < 170);
}

static void test_largest_fits(void **state)
{
	struct cn_token t, u;
	char text[CN_TOKEN_TEXT_MAX];

	(void)state;
	sample(&t, CN_TOKEN_MAX_RELAYS);
	memset(t.network, 'a', CN_TOKEN_NAME_MAX);
	t.network[CN_TOKEN_NAME_MAX] = '\0';
	for (size_t i = 0; i < t.nrelays; i++) {
		memset(t.relays[i].name, 'r', CN_TOKEN_NAME_MAX);
		t.relays[i].name[CN_TOKEN_NAME_MAX] = '\0';
		memset(t.relays[i].host, 'h', CN_TOKEN_HOST_MAX);
		t.relays[i].host[CN_TOKEN_HOST_MAX] = '\0';
	}
	assert_int_equal(cn_token_encode(&t, text, sizeof(text)), 0);
	assert_true(strlen(text) + 1 <= CN_TOKEN_TEXT_MAX);
	assert_int_equal(cn_token_decode(text, strlen(text), &u), 0);
	assert_memory_equal(&t, &u, sizeof(t));
	/* One byte short of room. */
	assert_int_equal(cn_token_encode(&t, text, strlen(text)), -CN_ETOOBIG);
}

static void test_encode_refuses_invalid(void **state)
{
	struct cn_token t;
	char text[CN_TOKEN_TEXT_MAX];

	(void)state;
	sample(&t, 1);
	t.nrelays = 0;
	assert_int_equal(cn_token_encode(&t, text, sizeof(text)), -CN_EINVAL);
	sample(&t, 1);
	t.serial = 0;
	assert_int_equal(cn_token_encode(&t, text, sizeof(text)), -CN_EINVAL);
	sample(&t, 1);
	snprintf(t.network, sizeof(t.network), "Bad_Name");
	assert_int_equal(cn_token_encode(&t, text, sizeof(text)), -CN_EINVAL);
	sample(&t, 1);
	snprintf(t.relays[0].host, sizeof(t.relays[0].host), "a host");
	assert_int_equal(cn_token_encode(&t, text, sizeof(text)), -CN_EINVAL);
	sample(&t, 1);
	t.relays[0].port = 0;
	assert_int_equal(cn_token_encode(&t, text, sizeof(text)), -CN_EINVAL);
	sample(&t, 1);
	memset(t.relays[0].key, 0, CN_KEY_LEN); /* the identity point: unusable */
	assert_int_equal(cn_token_encode(&t, text, sizeof(text)), -CN_EINVAL);
}

static void test_malformed_text(void **state)
{
	struct cn_token t, u;
	char text[CN_TOKEN_TEXT_MAX], bad[CN_TOKEN_TEXT_MAX + 8];
	size_t len;

	(void)state;
	sample(&t, 2);
	assert_int_equal(cn_token_encode(&t, text, sizeof(text)), 0);
	len = strlen(text);
	assert_int_equal(cn_token_decode("", 0, &u), -CN_EFORMAT);
	assert_int_equal(cn_token_decode("cairn1:", 7, &u), -CN_ESHORT);
	assert_int_equal(cn_token_decode("cairn2:AAAA", 11, &u), -CN_EFORMAT);
	assert_int_equal(cn_token_decode(text + 1, len - 1, &u), -CN_EFORMAT);
	/* Standard base64's alphabet and padding are not base64url. */
	snprintf(bad, sizeof(bad), "%s", text);
	bad[10] = '+';
	assert_int_equal(cn_token_decode(bad, len, &u), -CN_EFORMAT);
	snprintf(bad, sizeof(bad), "%s==", text);
	assert_int_equal(cn_token_decode(bad, strlen(bad), &u), -CN_EFORMAT);
	/* A space inside. */
	snprintf(bad, sizeof(bad), "%s", text);
	bad[20] = ' ';
	assert_int_equal(cn_token_decode(bad, len, &u), -CN_EFORMAT);
	/* Cut anywhere: never accepted, and *out stays zero. */
	for (size_t cut = 8; cut < len; cut++) {
		assert_int_not_equal(cn_token_decode(text, cut, &u), 0);
		assert_int_equal(u.nrelays, 0);
		assert_int_equal(u.network[0], '\0');
	}
	/* One character changed anywhere after the prefix: the check catches it. */
	for (size_t i = 7; i < len; i++) {
		snprintf(bad, sizeof(bad), "%s", text);
		bad[i] = bad[i] == 'A' ? 'B' : 'A';
		assert_int_not_equal(cn_token_decode(bad, len, &u), 0);
	}
	/* Longer than any token. */
	{
		static char big[CN_TOKEN_TEXT_MAX + 16];

		memcpy(big, "cairn1:", 7);
		memset(big + 7, 'A', sizeof(big) - 8);
		assert_int_equal(cn_token_decode(big, strlen(big), &u), -CN_ETOOBIG);
	}
}

/* Correct checks over wrong contents: the field rules still apply. */
static void test_malformed_fields(void **state)
{
	struct cn_token t;
	char text[CN_TOKEN_TEXT_MAX];
	uint8_t bin[CN_TOKEN_BIN_MAX + 16];
	size_t n, body;

	(void)state;
	sample(&t, 1);
	assert_int_equal(cn_token_encode(&t, text, sizeof(text)), 0);
	n = unwrap(text, bin, sizeof(bin));
	body = n - CN_TOKEN_CHECK_LEN;
	/* Unchanged, with the check recomputed: accepted (the helper is right). */
	assert_int_equal(decode_bin(bin, body, true), 0);
	/* A trailing byte after the last relay. */
	bin[body] = 0;
	assert_int_equal(decode_bin(bin, body + 1, true), -CN_EFORMAT);
	/* Every shorter body with a valid check: short or malformed, never accepted. */
	for (size_t cut = 0; cut < body; cut++)
		assert_int_not_equal(decode_bin(bin, cut, true), 0);
	/* Network name length 0, and longer than the rest. */
	n = unwrap(text, bin, sizeof(bin));
	bin[0] = 0;
	assert_int_not_equal(decode_bin(bin, body, true), 0);
	bin[0] = 200;
	assert_int_not_equal(decode_bin(bin, body, true), 0);
	/* An upper-case network name. */
	n = unwrap(text, bin, sizeof(bin));
	bin[1] = 'D';
	assert_int_equal(decode_bin(bin, body, true), -CN_EFORMAT);
	/* A NUL inside the network name. */
	bin[1] = '\0';
	assert_int_equal(decode_bin(bin, body, true), -CN_EFORMAT);
	/* Serial 0 (offset: 1 + 4 + 32). */
	n = unwrap(text, bin, sizeof(bin));
	memset(bin + 37, 0, 8);
	assert_int_equal(decode_bin(bin, body, true), -CN_EFORMAT);
	/* Serial above INT64_MAX: the peer list cannot hold it. */
	bin[37] = 0x80;
	assert_int_equal(decode_bin(bin, body, true), -CN_EFORMAT);
	/* No relays, and more than the maximum. */
	n = unwrap(text, bin, sizeof(bin));
	bin[45] = 0;
	assert_int_equal(decode_bin(bin, body, true), -CN_EFORMAT);
	bin[45] = CN_TOKEN_MAX_RELAYS + 1;
	assert_int_equal(decode_bin(bin, body, true), -CN_EFORMAT);
	/* Two relays announced, one present: short. */
	bin[45] = 2;
	assert_int_equal(decode_bin(bin, body, true), -CN_ESHORT);
	/* Port 0 (the last two bytes of the body). */
	n = unwrap(text, bin, sizeof(bin));
	bin[body - 1] = 0;
	bin[body - 2] = 0;
	assert_int_equal(decode_bin(bin, body, true), -CN_EFORMAT);
	/* A root key that is not a usable point. */
	n = unwrap(text, bin, sizeof(bin));
	memset(bin + 5, 0, CN_KEY_LEN);
	assert_int_equal(decode_bin(bin, body, true), -CN_EFORMAT);
	/* The check itself missing or wrong. */
	n = unwrap(text, bin, sizeof(bin));
	assert_int_equal(decode_bin(bin, body, false), -CN_EDECRYPT);
	assert_int_equal(decode_bin(bin, 3, false), -CN_ESHORT);
	(void)n;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_short_for_one_relay),
		cmocka_unit_test(test_largest_fits),
		cmocka_unit_test(test_encode_refuses_invalid),
		cmocka_unit_test(test_malformed_text),
		cmocka_unit_test(test_malformed_fields),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
