/* SPDX-License-Identifier: MIT */
/*
 * Peer list: signature, strict parsing with precise messages, lookups,
 * edits and canonical text. Keys come from fixed seeds so every run is the
 * same; each refusal is checked by code and by a fragment of its message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>

#include "crypto/keys.h"
#include "crypto/peerlist.h"

/* ---- helpers ------------------------------------------------------------ */

enum {
	ROOT_SEED = 100000,
	OTHER_ROOT_SEED = 100001,
};

/* Identity number n: a fixed seed holding n, so keys are stable across runs. */
static struct cn_identity *make_id(uint32_t n)
{
	uint8_t seed[CN_SEED_LEN];
	struct cn_identity *id = NULL;

	memset(seed, 0x42, sizeof(seed));
	for (int i = 0; i < 4; i++)
		seed[i] = (uint8_t)(n >> (8 * i));
	assert_int_equal(cn_identity_from_seed(seed, &id), 0);
	return id;
}

static void pub_of(uint32_t n, uint8_t pk[CN_KEY_LEN])
{
	struct cn_identity *id = make_id(n);

	memcpy(pk, id->ed_pk, CN_KEY_LEN);
	cn_identity_free(id);
}

static void key_text(uint32_t n, bool flip_sign, char out[CN_KEY_TEXT_LEN + 1])
{
	uint8_t pk[CN_KEY_LEN];

	pub_of(n, pk);
	if (flip_sign)
		pk[31] ^= 0x80; /* -P: another Ed25519 key, the same X25519 key */
	cn_key_to_text(pk, out);
}

/*
 * Copies tmpl, replacing $K<n>$ with the key text of identity n and
 * $F<n>$ with that key's sign-flipped twin. Caller frees.
 */
static char *expand(const char *tmpl)
{
	size_t cap = strlen(tmpl) * 2 + 1024, len = 0;
	char *out = malloc(cap);

	assert_non_null(out);
	for (const char *p = tmpl; *p;) {
		if (p[0] == '$' && (p[1] == 'K' || p[1] == 'F')) {
			char *end;
			unsigned long n = strtoul(p + 2, &end, 10);
			char k[CN_KEY_TEXT_LEN + 1];

			assert_true(*end == '$');
			key_text((uint32_t)n, p[1] == 'F', k);
			if (len + CN_KEY_TEXT_LEN + 1 > cap) {
				cap *= 2;
				out = realloc(out, cap);
				assert_non_null(out);
			}
			memcpy(out + len, k, CN_KEY_TEXT_LEN);
			len += CN_KEY_TEXT_LEN;
			p = end + 1;
			continue;
		}
		if (len + 2 > cap) {
			cap *= 2;
			out = realloc(out, cap);
			assert_non_null(out);
		}
		out[len++] = *p++;
	}
	out[len] = '\0';
	return out;
}

/* Line numbers below are part of the tests: keep this layout. */
#define BASE_TOP                                  \
	"version = 1;\n"		  /* 1 */ \
	"network = \"demo\";\n"		  /* 2 */ \
	"serial = 7;\n"			  /* 3 */ \
	"domain = \"demo.cairn\";\n"	  /* 4 */ \
	"prefix4 = \"10.99.0.0/16\";\n"	  /* 5 */ \
	"prefix6 = \"fd99:cafe::/64\";\n" /* 6 */
#define BASE_RELAYS                                                                     \
	"relays = (\n" /* 7 */                                                          \
	"  { name = \"relay1\"; key = \"$K50$\"; host = \"203.0.113.10\"; port = 443; " \
	"stun_port = 3478; }\n" /* 8 */                                                 \
	");\n"			/* 9 */
#define BASE_PEERS                                                                               \
	"peers = (\n" /* 10 */                                                                   \
	"  { name = \"board1\"; key = \"$K1$\"; ipv4 = \"10.99.0.2\"; ipv6 = \"fd99:cafe::2\"; " \
	"groups = [ \"boards\" ]; },\n" /* 11 */                                                 \
	"  { name = \"board2\"; key = \"$K2$\"; ipv4 = \"10.99.0.3\"; ipv6 = \"fd99:cafe::3\"; " \
	"groups = [ \"boards\", \"arm\" ]; },\n" /* 12 */                                        \
	"  { name = \"cloud1\"; key = \"$K3$\"; ipv4 = \"10.99.0.4\"; ipv6 = \"fd99:cafe::4\"; " \
	"}\n"  /* 13 */                                                                          \
	");\n" /* 14 */

static const char BASE[] = BASE_TOP BASE_RELAYS BASE_PEERS;

/* BASE with the first occurrence of find replaced by repl, keys expanded. */
static char *variant(const char *find, const char *repl)
{
	const char *at = strstr(BASE, find);
	size_t n = strlen(BASE) + strlen(repl) + 1;
	char *tmpl = malloc(n), *out;

	assert_non_null(at);
	assert_non_null(tmpl);
	snprintf(tmpl, n, "%.*s%s%s", (int)(at - BASE), BASE, repl, at + strlen(find));
	out = expand(tmpl);
	free(tmpl);
	return out;
}

static void expect_err(int ret, int code, const struct cn_errbuf *e, const char *frag)
{
	if (ret != code || !strstr(e->msg, frag))
		fail_msg("got %d (%s) \"%s\"; want %d with \"%s\"", ret, cn_strerror(ret), e->msg,
			 code, frag);
}

static struct cn_peerlist *parse_ok(const char *text)
{
	struct cn_peerlist *pl = NULL;
	struct cn_errbuf e = {{0}};
	int ret = cn_peerlist_parse((const uint8_t *)text, strlen(text), &pl, &e);

	if (ret)
		fail_msg("parse failed: %d %s", ret, e.msg);
	assert_non_null(pl);
	return pl;
}

/* Parses BASE with one change and expects the refusal code and message. */
static void check_fail(const char *find, const char *repl, int code, const char *frag)
{
	struct cn_peerlist *pl = NULL;
	struct cn_errbuf e = {{0}};
	char *text = variant(find, repl);
	int ret = cn_peerlist_parse((const uint8_t *)text, strlen(text), &pl, &e);

	expect_err(ret, code, &e, frag);
	assert_null(pl);
	free(text);
}

static struct cn_peerlist *check_ok(const char *find, const char *repl)
{
	char *text = variant(find, repl);
	struct cn_peerlist *pl = parse_ok(text);

	free(text);
	return pl;
}

static char *sign_text(const char *body, uint32_t root_seed, size_t *len)
{
	struct cn_identity *root = make_id(root_seed);
	struct cn_errbuf e = {{0}};
	char *out = NULL;
	int ret = cn_peerlist_sign((const uint8_t *)body, strlen(body), root, &out, len, &e);

	if (ret)
		fail_msg("sign failed: %d %s", ret, e.msg);
	cn_identity_free(root);
	return out;
}

static char *signed_base(size_t *len)
{
	char *body = expand(BASE);
	char *s = sign_text(body, ROOT_SEED, len);

	free(body);
	return s;
}

static int load(const char *buf, size_t len, int64_t held, int64_t now, struct cn_peerlist **pl,
		struct cn_errbuf *e)
{
	uint8_t root[CN_KEY_LEN];

	pub_of(ROOT_SEED, root);
	return cn_peerlist_load((const uint8_t *)buf, len, root, held, now, pl, e);
}

static int verify(const char *buf, size_t len, size_t *body_len, struct cn_errbuf *e)
{
	uint8_t root[CN_KEY_LEN];

	pub_of(ROOT_SEED, root);
	return cn_peerlist_verify((const uint8_t *)buf, len, root, body_len, e);
}

/* ---- signature ---------------------------------------------------------- */

static void test_sign_verify_roundtrip(void **state)
{
	struct cn_peerlist *pl = NULL, *plain;
	struct cn_errbuf e = {{0}};
	char *body = expand(BASE);
	size_t len = 0, body_len = 0;
	char *s = sign_text(body, ROOT_SEED, &len);

	(void)state;
	assert_int_equal(len, strlen(body) + CN_PEERLIST_SIG_LINE_LEN);
	assert_int_equal(strlen(s), len);
	assert_memory_equal(s, body, strlen(body));
	assert_memory_equal(s + strlen(body), CN_PEERLIST_SIG_PREFIX,
			    strlen(CN_PEERLIST_SIG_PREFIX));
	assert_int_equal(s[len - 1], '\n');
	assert_int_equal(verify(s, len, &body_len, &e), 0);
	assert_int_equal(body_len, strlen(body));
	assert_int_equal(load(s, len, 0, 1000, &pl, &e), 0);
	assert_non_null(pl);
	/* parse() reads the signed file too: the signature line is a comment. */
	plain = parse_ok(s);
	assert_true(cn_peerlist_equal(pl, plain));
	assert_int_equal(pl->serial, 7);
	cn_peerlist_free(pl);
	cn_peerlist_free(plain);
	free(s);
	free(body);
}

/*
 * The wire format, rebuilt here from its definition rather than through
 * the code under test: Ed25519 over "cairn peerlist signature v1" with its
 * NUL, then the body; the line is the prefix, base64 (standard, padded), \n.
 */
static void test_signature_known_layout(void **state)
{
	static const char context[] = "cairn peerlist signature v1";
	struct cn_identity *root = make_id(ROOT_SEED);
	char *body = expand(BASE), *s, *line;
	size_t blen = strlen(body), len = 0;
	uint8_t *msg = malloc(sizeof(context) + blen), sig[CN_SIG_LEN];
	char b64[CN_SIG_TEXT_LEN + 1];

	(void)state;
	assert_non_null(msg);
	assert_int_equal(sizeof(context), 28);
	memcpy(msg, context, sizeof(context)); /* 27 characters and the NUL */
	memcpy(msg + sizeof(context), body, blen);
	assert_int_equal(cn_identity_sign(root, msg, sizeof(context) + blen, sig), 0);
	/* Standard base64 with padding, by hand: 64 bytes = 21 triples + 1 byte. */
	{
		static const char al[] =
			"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
		size_t o = 0;

		for (size_t i = 0; i + 3 <= CN_SIG_LEN; i += 3) {
			uint32_t v =
				((uint32_t)sig[i] << 16) | ((uint32_t)sig[i + 1] << 8) | sig[i + 2];

			for (int j = 3; j >= 0; j--)
				b64[o++] = al[(v >> (6 * j)) & 63];
		}
		b64[o++] = al[sig[63] >> 2];
		b64[o++] = al[(sig[63] & 3) << 4];
		b64[o++] = '=';
		b64[o++] = '=';
		b64[o] = '\0';
		assert_int_equal(o, CN_SIG_TEXT_LEN);
	}
	s = sign_text(body, ROOT_SEED, &len);
	line = s + blen;
	assert_memory_equal(line, "# cairn-signature: ed25519 ", 27);
	assert_memory_equal(line + 27, b64, CN_SIG_TEXT_LEN);
	assert_int_equal(line[27 + CN_SIG_TEXT_LEN], '\n');
	assert_int_equal(len, blen + 27 + CN_SIG_TEXT_LEN + 1);
	cn_identity_free(root);
	free(msg);
	free(s);
	free(body);
}

/* Changing any one byte of the signed file, body or signature line, is refused. */
static void test_every_byte_flip_refused(void **state)
{
	struct cn_peerlist *pl = NULL;
	struct cn_errbuf e = {{0}};
	size_t len = 0, body_len;
	char *s = signed_base(&len);

	(void)state;
	for (size_t i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit += 7) {
			s[i] ^= (char)(1 << bit);
			if (verify(s, len, &body_len, &e) != -CN_ESIG)
				fail_msg("flip of bit %d at byte %zu accepted", bit, i);
			if (load(s, len, 0, 0, &pl, &e) != -CN_ESIG || pl)
				fail_msg("load accepted a flip at byte %zu", i);
			s[i] ^= (char)(1 << bit);
		}
	}
	assert_int_equal(verify(s, len, &body_len, &e), 0);
	free(s);
}

static void test_other_root_refused(void **state)
{
	struct cn_peerlist *pl = NULL;
	struct cn_errbuf e = {{0}};
	char *body = expand(BASE);
	size_t len = 0;
	char *s = sign_text(body, OTHER_ROOT_SEED, &len);

	(void)state;
	expect_err(load(s, len, 0, 0, &pl, &e), -CN_ESIG, &e,
		   "line 15: signature does not match the network root key");
	assert_null(pl);
	free(s);
	free(body);
}

static void test_signature_line_shape(void **state)
{
	struct cn_errbuf e = {{0}};
	size_t len = 0, body_len = 0, blen;
	char *s = signed_base(&len), *body = expand(BASE), *buf;
	const char *sig = s + strlen(body);

	(void)state;
	blen = strlen(body);
	buf = malloc(len * 3);
	assert_non_null(buf);

	/* Missing. */
	expect_err(verify(body, blen, &body_len, &e), -CN_ESIG, &e, "no signature line");
	assert_int_equal(body_len, 0);

	/* Malformed: wrong algorithm word, short, bad base64, no space. */
	snprintf(buf, len * 3, "%s# cairn-signature: rsa %s", body, sig + 27);
	expect_err(verify(buf, strlen(buf), &body_len, &e), -CN_ESIG, &e,
		   "line 15: malformed signature line");
	snprintf(buf, len * 3, "%s#cairn-signature: ed25519 %s", body, sig + 27);
	expect_err(verify(buf, strlen(buf), &body_len, &e), -CN_ESIG, &e,
		   "malformed signature line");
	snprintf(buf, len * 3, "%s%sAAAA\n", body, CN_PEERLIST_SIG_PREFIX);
	expect_err(verify(buf, strlen(buf), &body_len, &e), -CN_ESIG, &e,
		   "signature is 4 characters; expected 88");
	snprintf(buf, len * 3, "%s%s%.87s!\n", body, CN_PEERLIST_SIG_PREFIX, sig + 27);
	expect_err(verify(buf, strlen(buf), &body_len, &e), -CN_ESIG, &e,
		   "signature is not valid base64");
	/* Not indented, not after other text on the line. */
	snprintf(buf, len * 3, "%s %s", body, sig);
	expect_err(verify(buf, strlen(buf), &body_len, &e), -CN_ESIG, &e,
		   "malformed signature line");

	/* Duplicated: the line twice, or the marker anywhere in the body. */
	snprintf(buf, len * 3, "%s%s%s", body, sig, sig);
	expect_err(verify(buf, strlen(buf), &body_len, &e), -CN_ESIG, &e,
		   "line 16: 'cairn-signature:' appears again (first on line 15)");
	snprintf(buf, len * 3, "# cairn-signature: here too\n%s", s);
	expect_err(verify(buf, strlen(buf), &body_len, &e), -CN_ESIG, &e, "appears again");

	/* Trailing bytes, a missing final newline, CRLF. */
	snprintf(buf, len * 3, "%s\n", s);
	expect_err(verify(buf, strlen(buf), &body_len, &e), -CN_ESIG, &e,
		   "1 bytes follow the signature line");
	snprintf(buf, len * 3, "%s# more\n", s);
	expect_err(verify(buf, strlen(buf), &body_len, &e), -CN_ESIG, &e,
		   "7 bytes follow the signature line");
	expect_err(verify(s, len - 1, &body_len, &e), -CN_ESIG, &e,
		   "signature line does not end with a newline");
	snprintf(buf, len * 3, "%.*s\r\n", (int)(len - 1), s);
	expect_err(verify(buf, strlen(buf), &body_len, &e), -CN_ESIG, &e,
		   "signature is 89 characters");

	/* Nothing signed before it. */
	expect_err(verify(sig, strlen(sig), &body_len, &e), -CN_ESIG, &e,
		   "signature line with no text before it");

	assert_int_equal(verify(s, len, &body_len, &e), 0);
	free(buf);
	free(body);
	free(s);
}

static void test_sign_refusals(void **state)
{
	struct cn_identity *root = make_id(ROOT_SEED);
	struct cn_errbuf e = {{0}};
	char *out = (char *)1;
	size_t len = 1;
	const char *no_nl = "version = 1;";
	const char *marked = "version = 1;\n# cairn-signature: x\n";

	(void)state;
	expect_err(cn_peerlist_sign((const uint8_t *)no_nl, strlen(no_nl), root, &out, &len, &e),
		   -CN_EFORMAT, &e, "must end with a newline");
	assert_null(out);
	assert_int_equal(len, 0);
	expect_err(cn_peerlist_sign((const uint8_t *)marked, strlen(marked), root, &out, &len, &e),
		   -CN_EFORMAT, &e, "line 2: text to sign already holds 'cairn-signature:'");
	cn_identity_free(root);
}

static void test_size_cap(void **state)
{
	struct cn_peerlist *pl = NULL;
	struct cn_errbuf e = {{0}};
	size_t n = CN_PEERLIST_MAX_BYTES + 1, body_len;
	char *big = malloc(n);

	(void)state;
	assert_non_null(big);
	memset(big, '\n', n);
	expect_err(cn_peerlist_parse((const uint8_t *)big, n, &pl, &e), -CN_ETOOBIG, &e,
		   "the limit is 4194304");
	expect_err(verify(big, n, &body_len, &e), -CN_ETOOBIG, &e, "the limit is 4194304");
	free(big);
}

/* ---- what libconfig must never see -------------------------------------- */

static void test_nul_byte_refused(void **state)
{
	struct cn_peerlist *pl = NULL;
	struct cn_errbuf e = {{0}};
	char *base = expand(BASE), *body, *s;
	size_t blen = strlen(base) + 6, len = 0, body_len = 0;
	struct cn_identity *root = make_id(ROOT_SEED);

	(void)state;
	/* A signed list with a NUL in a trailing comment: the signature is fine. */
	body = malloc(blen);
	assert_non_null(body);
	memcpy(body, base, strlen(base));
	memcpy(body + strlen(base), "# a\0b\n", 6);
	assert_int_equal(cn_peerlist_sign((const uint8_t *)body, blen, root, &s, &len, &e), 0);
	assert_int_equal(verify(s, len, &body_len, &e), 0);
	expect_err(load(s, len, 0, 0, &pl, &e), -CN_EFORMAT, &e, "line 15: NUL byte");
	assert_null(pl);
	expect_err(cn_peerlist_parse((const uint8_t *)body, blen, &pl, &e), -CN_EFORMAT, &e,
		   "line 15: NUL byte");
	/* A NUL right after the settings would hide the rest from libconfig. */
	expect_err(cn_peerlist_parse((const uint8_t *)"version = 1;\0junk", 17, &pl, &e),
		   -CN_EFORMAT, &e, "line 1: NUL byte");
	cn_identity_free(root);
	free(s);
	free(body);
	free(base);
}

static void test_include_refused(void **state)
{
	struct cn_peerlist *pl = NULL;
	struct cn_errbuf e = {{0}};
	size_t len = 0;
	char *body, *s;

	(void)state;
	check_fail("peers = (", "@include \"/etc/passwd\"\npeers = (", -CN_EFORMAT,
		   "line 10: '@include' is not allowed");
	/* Anywhere: in a comment, in a string, in any case. */
	check_fail("serial = 7;", "serial = 7; # @include \"x\"", -CN_EFORMAT,
		   "line 3: '@include' is not allowed");
	check_fail("\"demo.cairn\"", "\"@include\"", -CN_EFORMAT, "'@include' is not allowed");
	check_fail("peers = (", "  @INCLUDE \"/etc/passwd\"\npeers = (", -CN_EFORMAT,
		   "'@include' is not allowed");
	/* Signed: still refused after the signature checks out. */
	body = variant("peers = (", "@include \"/etc/passwd\"\npeers = (");
	s = sign_text(body, ROOT_SEED, &len);
	expect_err(load(s, len, 0, 0, &pl, &e), -CN_EFORMAT, &e, "'@include' is not allowed");
	assert_null(pl);
	free(s);
	free(body);
}

static void test_libconfig_guards(void **state)
{
	struct cn_peerlist *pl;
	char many[2048];
	size_t n = 0;

	(void)state;
	/* libconfig 1.5 wraps plain integers outside int32: 4294967297 reads as 1. */
	check_fail("serial = 7;", "serial = 4294967297;", -CN_EFORMAT,
		   "line 3: integer '4294967297' is out of the 32-bit range; write '4294967297L'");
	check_fail("serial = 7;", "serial = -2147483649;", -CN_EFORMAT, "out of the 32-bit range");
	check_fail("serial = 7;", "serial = 0x80000000;", -CN_EFORMAT, "out of the 32-bit range");
	check_fail("serial = 7;", "serial = 99999999999999999999L;", -CN_EFORMAT,
		   "line 3: integer '99999999999999999999L' is out of the 64-bit range");
	check_fail("serial = 7;", "serial = 0xFFFFFFFFFFFFFFFFL;", -CN_EFORMAT,
		   "out of the 64-bit range");
	pl = check_ok("serial = 7;", "serial = 4294967297L;");
	assert_int_equal(pl->serial, 4294967297LL);
	cn_peerlist_free(pl);
	pl = check_ok("serial = 7;", "serial = 2147483647;");
	assert_int_equal(pl->serial, 2147483647LL);
	cn_peerlist_free(pl);
	pl = check_ok("serial = 7;", "serial = 0x7fffffffffffffffL;");
	assert_int_equal(pl->serial, INT64_MAX);
	cn_peerlist_free(pl);
	/* Numbers in comments and strings are not numbers; floats are not integers. */
	pl = check_ok("serial = 7;", "serial = 7; # was 99999999999999999999\n/* 4294967297 */");
	cn_peerlist_free(pl);
	check_fail("serial = 7;", "serial = 4294967297.5;", -CN_EFORMAT,
		   "line 3: 'serial' must be an integer");
	check_fail("serial = 7;", "serial = 1e10;", -CN_EFORMAT, "'serial' must be an integer");

	check_fail("peers = (", "/* never closed\npeers = (", -CN_EFORMAT,
		   "line 10: unterminated /* comment");
	check_fail("serial = 7;", "serial = 7; x = ((((((((((1))))))))));", -CN_EFORMAT,
		   "line 3: nested more than 8 levels deep");
	for (int i = 0; i < 40; i++)
		n += (size_t)snprintf(many + n, sizeof(many) - n, "x%d = 1;\n", i);
	check_fail("peers = (", many, -CN_EFORMAT, "more than 32 settings in one group");

	/* A string where libconfig takes none (it would leak it): refused first. */
	check_fail("serial = 7;", "serial = 7, \"x\";", -CN_EFORMAT,
		   "line 3: syntax error (unexpected string)");
	check_fail("port = 443;", "port = 443 \"x\";", -CN_EFORMAT,
		   "line 8: syntax error (unexpected string)");
	pl = check_ok("\"demo.cairn\"", "\"demo\" /* glued */ \".cairn\"");
	assert_string_equal(pl->domain, "demo.cairn");
	cn_peerlist_free(pl);

	/* libconfig's own errors come with its line. */
	check_fail("serial = 7;", "serial 7;", -CN_EFORMAT, "line 3: syntax error");
	check_fail("serial = 7;", "serial = 7; serial = 8;", -CN_EFORMAT,
		   "line 3: duplicate setting name");
}

/* ---- load: rollback, expiry, root key ----------------------------------- */

static void test_rollback(void **state)
{
	struct cn_peerlist *pl = NULL;
	struct cn_errbuf e = {{0}};
	size_t len = 0;
	char *s = signed_base(&len);

	(void)state;
	expect_err(load(s, len, 8, 0, &pl, &e), -CN_EROLLBACK, &e,
		   "serial 7 is lower than serial 8 already held");
	assert_null(pl);
	assert_int_equal(load(s, len, 7, 0, &pl, &e), 0);
	cn_peerlist_free(pl);
	assert_int_equal(load(s, len, 6, 0, &pl, &e), 0);
	cn_peerlist_free(pl);
	free(s);
}

static void test_expiry(void **state)
{
	struct cn_peerlist *pl = NULL;
	struct cn_errbuf e = {{0}};
	size_t len = 0;
	char *body = variant("serial = 7;\n", "serial = 7;\nexpires = 1800000000;\n");
	char *s = sign_text(body, ROOT_SEED, &len);

	(void)state;
	expect_err(load(s, len, 0, 1800000000, &pl, &e), -CN_EEXPIRED, &e,
		   "expired at 1800000000 (unix time); now is 1800000000");
	assert_null(pl);
	expect_err(load(s, len, 0, 1900000000, &pl, &e), -CN_EEXPIRED, &e, "expired");
	assert_int_equal(load(s, len, 0, 1799999999, &pl, &e), 0);
	assert_int_equal(pl->expires, 1800000000);
	cn_peerlist_free(pl);
	free(s);
	free(body);
	/* expires = 0 never expires. */
	body = variant("serial = 7;\n", "serial = 7;\nexpires = 0;\n");
	s = sign_text(body, ROOT_SEED, &len);
	assert_int_equal(load(s, len, 0, INT64_MAX, &pl, &e), 0);
	assert_int_equal(pl->expires, 0);
	cn_peerlist_free(pl);
	free(s);
	free(body);
}

static void test_root_key_as_member_refused(void **state)
{
	struct cn_peerlist *pl = NULL;
	struct cn_errbuf e = {{0}};
	size_t len = 0;
	char tmpl[32], *body, *s;

	(void)state;
	snprintf(tmpl, sizeof(tmpl), "$K%d$", ROOT_SEED);
	body = variant("$K3$", tmpl);
	s = sign_text(body, ROOT_SEED, &len);
	expect_err(load(s, len, 0, 0, &pl, &e), -CN_EKEY, &e,
		   "line 13: peer 'cloud1': key is the network root key");
	free(s);
	free(body);
	body = variant("$K50$", tmpl);
	s = sign_text(body, ROOT_SEED, &len);
	expect_err(load(s, len, 0, 0, &pl, &e), -CN_EKEY, &e,
		   "line 8: relay 'relay1': key is the network root key");
	assert_null(pl);
	free(s);
	free(body);
}

/* ---- validation rules, one refusal each --------------------------------- */

static void test_top_level_rules(void **state)
{
	struct cn_peerlist *pl;
	char long_name[80];

	(void)state;
	check_fail("version = 1;\n", "", -CN_EFORMAT, "missing setting 'version'");
	check_fail("version = 1;", "version = 2; future = 1;", -CN_EFORMAT,
		   "line 1: unsupported version 2 (this build reads 1)");
	check_fail("version = 1;", "version = \"1\";", -CN_EFORMAT,
		   "line 1: 'version' must be an integer");
	check_fail("serial = 7;\n", "serial = 7;\nserail = 8;\n", -CN_EFORMAT,
		   "line 4: unknown setting 'serail'");

	check_fail("network = \"demo\";\n", "", -CN_EFORMAT, "missing setting 'network'");
	check_fail("\"demo\";", "\"Demo\";", -CN_EFORMAT,
		   "line 2: network name 'Demo' is not valid");
	check_fail("\"demo\";", "\"-demo\";", -CN_EFORMAT, "network name '-demo' is not valid");
	check_fail("\"demo\";", "\"de mo\";", -CN_EFORMAT, "network name 'de mo' is not valid");
	memset(long_name, 'a', 64);
	long_name[64] = '\0';
	{
		char repl[100];

		snprintf(repl, sizeof(repl), "\"%s\";", long_name);
		check_fail("\"demo\";", repl, -CN_EFORMAT, "is not valid");
		snprintf(repl, sizeof(repl), "\"%.63s\";", long_name);
		pl = check_ok("\"demo\";", repl);
		assert_int_equal(strlen(pl->network), 63);
		cn_peerlist_free(pl);
	}
	check_fail("network = \"demo\";", "network = 5;", -CN_EFORMAT,
		   "line 2: 'network' must be a string");

	check_fail("serial = 7;\n", "", -CN_EFORMAT, "missing setting 'serial'");
	check_fail("serial = 7;", "serial = 0;", -CN_EFORMAT,
		   "line 3: serial 0 must be greater than 0");
	check_fail("serial = 7;", "serial = -3;", -CN_EFORMAT, "serial -3 must be greater than 0");
	check_fail("serial = 7;", "serial = \"7\";", -CN_EFORMAT, "'serial' must be an integer");
	check_fail("serial = 7;\n", "serial = 7;\nexpires = -1;\n", -CN_EFORMAT,
		   "line 4: expires -1 must be 0 (never)");
	check_fail("serial = 7;\n", "serial = 7;\nexpires = true;\n", -CN_EFORMAT,
		   "line 4: 'expires' must be an integer");

	check_fail("domain = \"demo.cairn\";\n", "", -CN_EFORMAT, "missing setting 'domain'");
	check_fail("\"demo.cairn\"", "\"demo..cairn\"", -CN_EFORMAT,
		   "line 4: domain 'demo..cairn' is not a valid DNS name");
	check_fail("\"demo.cairn\"", "\"Demo.cairn\"", -CN_EFORMAT, "is not a valid DNS name");
	check_fail("\"demo.cairn\"", "\"demo.cairn.\"", -CN_EFORMAT, "is not a valid DNS name");
	check_fail("\"demo.cairn\"", "\"demo.-x\"", -CN_EFORMAT, "is not a valid DNS name");
	pl = check_ok("\"demo.cairn\"", "\"cairn\"");
	cn_peerlist_free(pl);

	check_fail("prefix4 = \"10.99.0.0/16\";\n", "", -CN_EFORMAT, "missing setting 'prefix4'");
	check_fail("\"10.99.0.0/16\"", "\"10.99.0.1/16\"", -CN_EFORMAT,
		   "line 5: prefix4 '10.99.0.1/16' has host bits set");
	check_fail("\"10.99.0.0/16\"", "\"10.99.0.0/31\"", -CN_EFORMAT,
		   "prefix4 '10.99.0.0/31' has a length outside 8 to 30");
	check_fail("\"10.99.0.0/16\"", "\"10.0.0.0/7\"", -CN_EFORMAT, "length outside 8 to 30");
	check_fail("\"10.99.0.0/16\"", "\"10.99.0.0\"", -CN_EFORMAT,
		   "is not of the form address/length");
	check_fail("\"10.99.0.0/16\"", "\"10.99.0.0/016\"", -CN_EFORMAT, "has an invalid length");
	check_fail("\"10.99.0.0/16\"", "\"10.99.0.0/16x\"", -CN_EFORMAT, "has an invalid length");
	check_fail("\"10.99.0.0/16\"", "\"10.999.0.0/16\"", -CN_EFORMAT,
		   "has an invalid IPv4 address");
	check_fail("prefix4 = \"10.99.0.0/16\"", "prefix4 = [ \"10.99.0.0/16\" ]", -CN_EFORMAT,
		   "line 5: 'prefix4' must be a string");

	check_fail("prefix6 = \"fd99:cafe::/64\";\n", "", -CN_EFORMAT, "missing setting 'prefix6'");
	check_fail("\"fd99:cafe::/64\"", "\"fd99:cafe::1/64\"", -CN_EFORMAT,
		   "line 6: prefix6 'fd99:cafe::1/64' has host bits set");
	check_fail("\"fd99:cafe::/64\"", "\"fd99::/47\"", -CN_EFORMAT, "length outside 48 to 120");
	check_fail("\"fd99:cafe::/64\"", "\"fd99:cafe::/121\"", -CN_EFORMAT,
		   "length outside 48 to 120");
	check_fail("\"fd99:cafe::/64\"", "\"fd99:cafe:::/64\"", -CN_EFORMAT,
		   "has an invalid IPv6 address");

	/* relays and peers are optional. */
	{
		const char *min = "version = 1; network = \"n\"; serial = 1; domain = \"n\";\n"
				  "prefix4 = \"10.0.0.0/8\"; prefix6 = \"fd00::/48\";\n";

		pl = parse_ok(min);
		assert_int_equal(pl->nrelays, 0);
		assert_int_equal(pl->npeers, 0);
		assert_null(cn_peerlist_find_name(pl, "x"));
		cn_peerlist_free(pl);
	}
}

static void test_relay_rules(void **state)
{
	struct cn_peerlist *pl;
	char seventeen[8192];
	size_t n = 0;

	(void)state;
	check_fail("relays = (", "relays = {", -CN_EFORMAT, "syntax error");
	check_fail(BASE_RELAYS, "relays = [ ];\n\n\n", -CN_EFORMAT,
		   "line 7: 'relays' must be a list of groups");
	check_fail("relays = (\n  {", "relays = (\n  \"x\", {", -CN_EFORMAT,
		   "line 8: relay #1 must be a group");
	check_fail("port = 443;", "prot = 443;", -CN_EFORMAT,
		   "line 8: relay 'relay1': unknown setting 'prot'");
	check_fail("name = \"relay1\"; ", "", -CN_EFORMAT,
		   "line 8: relay #1: missing setting 'name'");
	check_fail("\"relay1\"", "\"Relay1\"", -CN_EFORMAT,
		   "line 8: relay #1: name 'Relay1' is not valid");
	check_fail("key = \"$K50$\"; ", "", -CN_EFORMAT,
		   "line 8: relay 'relay1': missing setting 'key'");
	check_fail("\"$K50$\"", "\"abc\"", -CN_EKEY,
		   "line 8: relay 'relay1': key is 3 characters; expected 44");
	/* 32 zero bytes: a small-order point, refused by the X25519 conversion. */
	check_fail("\"$K50$\"", "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"", -CN_EKEY,
		   "relay 'relay1': key 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=' is not a "
		   "usable");
	check_fail("host = \"203.0.113.10\"; ", "", -CN_EFORMAT,
		   "relay 'relay1': missing setting 'host'");
	check_fail("\"203.0.113.10\"", "\"bad host!\"", -CN_EFORMAT,
		   "line 8: relay 'relay1': host 'bad host!' is not an IP address or a hostname");
	check_fail("\"203.0.113.10\"", "\"10.0.1\"", -CN_EFORMAT, "host '10.0.1' is not an IP");
	check_fail("\"203.0.113.10\"", "\"-relay.example\"", -CN_EFORMAT, "is not an IP");
	check_fail("\"203.0.113.10\"", "\"relay..example\"", -CN_EFORMAT, "is not an IP");
	check_fail("\"203.0.113.10\"", "\"bad\\nhost\"", -CN_EFORMAT, "host 'bad?host'");
	check_fail("port = 443;", "port = 0;", -CN_EFORMAT,
		   "line 8: relay 'relay1': port 0 is out of range (1 to 65535)");
	check_fail("port = 443;", "port = 65536;", -CN_EFORMAT, "port 65536 is out of range");
	check_fail("port = 443;", "port = \"443\";", -CN_EFORMAT,
		   "relay 'relay1': 'port' must be an integer");
	check_fail("stun_port = 3478;", "stun_port = 70000;", -CN_EFORMAT,
		   "relay 'relay1': stun_port 70000 is out of range");

	pl = check_ok("port = 443; stun_port = 3478; ", "");
	assert_int_equal(pl->relays[0].port, 443);
	assert_int_equal(pl->relays[0].stun_port, 3478);
	cn_peerlist_free(pl);
	pl = check_ok("\"203.0.113.10\"; port = 443;", "\"Relay-1.example.COM\"; port = 0x1bb;");
	assert_string_equal(pl->relays[0].host, "Relay-1.example.COM");
	assert_int_equal(pl->relays[0].port, 443);
	cn_peerlist_free(pl);
	pl = check_ok("\"203.0.113.10\"", "\"2001:db8::1\"");
	cn_peerlist_free(pl);

	n += (size_t)snprintf(seventeen, sizeof(seventeen), "relays = (\n");
	for (int i = 0; i < 16; i++) /* and relay1: 17 */
		n += (size_t)snprintf(
			seventeen + n, sizeof(seventeen) - n,
			"{ name = \"r%d\"; key = \"$K%d$\"; host = \"r.example\"; },\n", i, 60 + i);
	check_fail("relays = (\n", seventeen, -CN_ETOOBIG, "line 7: 17 relays; at most 16");

	check_fail("stun_port = 3478; }\n",
		   "stun_port = 3478; },\n  { name = \"relay1\"; key = \"$K51$\"; host = "
		   "\"x.example\"; }\n",
		   -CN_EEXIST, "line 9: relay 'relay1' is listed twice (first on line 8)");
	check_fail("stun_port = 3478; }\n",
		   "stun_port = 3478; },\n  { name = \"relay2\"; key = \"$K50$\"; host = "
		   "\"x.example\"; }\n",
		   -CN_EEXIST, "line 9: relay 'relay2': key already used by relay 'relay1'");
	check_fail("\"$K50$\"", "\"$K2$\"", -CN_EEXIST,
		   "line 12: peer 'board2': key already used by relay 'relay1'");
	check_fail("\"$K50$\"", "\"$F2$\"", -CN_EEXIST,
		   "line 12: peer 'board2': key has the same X25519 form as the key of relay "
		   "'relay1'");
}

static void test_peer_rules(void **state)
{
	char groups[1024];
	size_t n = 0;

	(void)state;
	check_fail(BASE_PEERS, "peers = [ ];\n", -CN_EFORMAT,
		   "line 10: 'peers' must be a list of groups");
	check_fail("  { name = \"cloud1\"", "  5, { name = \"cloud1\"", -CN_EFORMAT,
		   "peer #3 must be a group");
	check_fail("ipv4 = \"10.99.0.2\";", "ip4 = \"10.99.0.2\";", -CN_EFORMAT,
		   "line 11: peer 'board1': unknown setting 'ip4'");
	check_fail("name = \"board1\"; ", "", -CN_EFORMAT,
		   "line 11: peer #1: missing setting 'name'");
	check_fail("\"board1\"", "\"Board1\"", -CN_EFORMAT,
		   "line 11: peer #1: name 'Board1' is not valid");
	check_fail("\"board1\"", "\"board_1\"", -CN_EFORMAT, "name 'board_1' is not valid");
	check_fail("\"board1\"", "\"board1-\"", -CN_EFORMAT, "name 'board1-' is not valid");
	check_fail("\"board1\"", "\"\"", -CN_EFORMAT, "peer #1: name '' is not valid");
	check_fail("name = \"board1\"", "name = board1", -CN_EFORMAT, "syntax error");
	check_fail("key = \"$K1$\"; ", "", -CN_EFORMAT,
		   "line 11: peer 'board1': missing setting 'key'");
	check_fail("key = \"$K1$\"", "key = 5", -CN_EFORMAT,
		   "line 11: peer 'board1': 'key' must be a string");
	check_fail("\"$K1$\"", "\"not-base64-not-base64-not-base64-not-base64!\"", -CN_EKEY,
		   "peer 'board1': key 'not-base64-not-base64-not-base64-not-base64!' is not a "
		   "usable Ed25519 public key");

	check_fail("ipv4 = \"10.99.0.2\"; ", "", -CN_EFORMAT,
		   "line 11: peer 'board1': missing setting 'ipv4'");
	check_fail("\"10.99.0.2\"", "\"10.98.0.2\"", -CN_EFORMAT,
		   "line 11: peer 'board1': ipv4 '10.98.0.2' is outside the prefix 10.99.0.0/16");
	check_fail("\"10.99.0.2\"", "\"10.99.0.0\"", -CN_EFORMAT,
		   "ipv4 '10.99.0.0' is the network address of the prefix");
	check_fail("\"10.99.0.2\"", "\"10.99.255.255\"", -CN_EFORMAT,
		   "ipv4 '10.99.255.255' is the broadcast address of the prefix");
	check_fail("\"10.99.0.2\"", "\"10.99.0.256\"", -CN_EFORMAT,
		   "ipv4 '10.99.0.256' is not an IPv4 address");
	check_fail("\"10.99.0.2\"", "\"fd99:cafe::2\"", -CN_EFORMAT, "is not an IPv4 address");
	check_fail("\"10.99.0.2\"", "2", -CN_EFORMAT, "peer 'board1': 'ipv4' must be a string");
	check_fail("ipv6 = \"fd99:cafe::2\"; ", "", -CN_EFORMAT,
		   "line 11: peer 'board1': missing setting 'ipv6'");
	check_fail("\"fd99:cafe::2\"", "\"fd98:cafe::2\"", -CN_EFORMAT,
		   "ipv6 'fd98:cafe::2' is outside the prefix fd99:cafe::/64");
	check_fail("\"fd99:cafe::2\"", "\"fd99:cafe::\"", -CN_EFORMAT,
		   "ipv6 'fd99:cafe::' is the network address of the prefix");
	check_fail("\"fd99:cafe::2\"", "\"fd99:cafe::g\"", -CN_EFORMAT,
		   "ipv6 'fd99:cafe::g' is not an IPv6 address");

	check_fail("groups = [ \"boards\" ]", "groups = \"boards\"", -CN_EFORMAT,
		   "line 11: peer 'board1': 'groups' must be an array of names");
	check_fail("groups = [ \"boards\" ]", "groups = ( \"boards\" )", -CN_EFORMAT,
		   "'groups' must be an array of names");
	check_fail("groups = [ \"boards\" ]", "groups = [ 1, 2 ]", -CN_EFORMAT,
		   "'groups' must be an array of names");
	check_fail("[ \"boards\" ]", "[ \"Boards\" ]", -CN_EFORMAT,
		   "line 11: peer 'board1': group name 'Boards' is not valid");
	check_fail("[ \"boards\", \"arm\" ]", "[ \"boards\", \"arm\", \"boards\" ]", -CN_EEXIST,
		   "line 12: peer 'board2': group 'boards' is listed twice");
	n += (size_t)snprintf(groups + n, sizeof(groups) - n, "[ \"g0\"");
	for (int i = 1; i < 17; i++)
		n += (size_t)snprintf(groups + n, sizeof(groups) - n, ", \"g%d\"", i);
	snprintf(groups + n, sizeof(groups) - n, " ]");
	check_fail("[ \"boards\" ]", groups, -CN_ETOOBIG,
		   "line 11: peer 'board1': 17 groups; at most 16");

	/* Duplicates across peers: the later entry is named, with its line. */
	check_fail("\"board2\"", "\"board1\"", -CN_EEXIST,
		   "line 12: peer 'board1' is listed twice (first on line 11)");
	check_fail("\"$K2$\"", "\"$K1$\"", -CN_EEXIST,
		   "line 12: peer 'board2': key already used by peer 'board1'");
	check_fail("\"$K3$\"", "\"$K1$\"", -CN_EEXIST,
		   "line 13: peer 'cloud1': key already used by peer 'board1'");
	check_fail("\"$K2$\"", "\"$F1$\"", -CN_EEXIST,
		   "line 12: peer 'board2': key has the same X25519 form as the key of peer "
		   "'board1'");
	check_fail("\"10.99.0.3\"", "\"10.99.0.2\"", -CN_EEXIST,
		   "line 12: peer 'board2': ipv4 10.99.0.2 already used by peer 'board1'");
	check_fail("\"fd99:cafe::4\"", "\"fd99:cafe::2\"", -CN_EEXIST,
		   "line 13: peer 'cloud1': ipv6 fd99:cafe::2 already used by peer 'board1'");
}

/* libsodium 1.0.18 decodes bytes >= 0x80 as '/': such key text must not pass. */
static void test_key_text_high_byte(void **state)
{
	char k[CN_KEY_TEXT_LEN + 1], find[8], *slash;
	struct cn_peerlist *pl = NULL;
	struct cn_errbuf e = {{0}};
	char *text;
	uint32_t n;

	(void)state;
	for (n = 200; n < 400; n++) {
		key_text(n, false, k);
		if (strchr(k, '/'))
			break;
	}
	assert_true(n < 400);
	snprintf(find, sizeof(find), "$K%u$", n);
	text = variant("$K3$", find);
	pl = parse_ok(text);
	cn_peerlist_free(pl);
	pl = NULL;
	slash = strchr(strstr(text, "cloud1"), '/');
	assert_non_null(slash);
	*slash = (char)0xaf;
	expect_err(cn_peerlist_parse((const uint8_t *)text, strlen(text), &pl, &e), -CN_EKEY, &e,
		   "line 13: peer 'cloud1': key '");
	assert_null(pl);
	free(text);
}

static void test_peer_count_cap(void **state)
{
	struct cn_peerlist *pl = NULL;
	struct cn_errbuf e = {{0}};
	const char *head = "version = 1; network = \"n\"; serial = 1; domain = \"n\";\n"
			   "prefix4 = \"10.0.0.0/8\"; prefix6 = \"fd00::/48\";\npeers = (\n";
	size_t n = CN_PEERLIST_MAX_PEERS + 1, len = 0;
	char *buf = malloc(strlen(head) + 3 * n + 8);

	(void)state;
	assert_non_null(buf);
	len += (size_t)sprintf(buf, "%s", head);
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(buf + len, "{}%s", i + 1 < n ? "," : "");
	len += (size_t)sprintf(buf + len, ");\n");
	expect_err(cn_peerlist_parse((const uint8_t *)buf, len, &pl, &e), -CN_ETOOBIG, &e,
		   "line 3: list of more than 16384 entries");
	free(buf);
}

/* ---- lookups ------------------------------------------------------------ */

static void test_lookups(void **state)
{
	char *text = expand(BASE);
	struct cn_peerlist *pl = parse_ok(text);
	const struct cn_pl_peer *members[4], *p;
	uint8_t k[CN_KEY_LEN], ip4[4], ip6[16];

	(void)state;
	assert_string_equal(pl->network, "demo");
	assert_string_equal(pl->domain, "demo.cairn");
	assert_int_equal(pl->prefix4_len, 16);
	assert_int_equal(pl->prefix6_len, 64);
	assert_int_equal(pl->npeers, 3);
	assert_int_equal(pl->nrelays, 1);

	pub_of(2, k);
	p = cn_peerlist_find_key(pl, k);
	assert_non_null(p);
	assert_string_equal(p->name, "board2");
	{
		uint8_t x[CN_KEY_LEN];
		struct cn_identity *id = make_id(2);

		assert_int_equal(cn_key_ed_to_x(k, x), 0);
		assert_memory_equal(p->x_key, x, CN_KEY_LEN);
		assert_memory_equal(p->x_key, id->x_pk, CN_KEY_LEN);
		assert_ptr_equal(cn_peerlist_find_xkey(pl, id->x_pk), p);
		cn_identity_free(id);
	}
	pub_of(4, k);
	assert_null(cn_peerlist_find_key(pl, k));
	pub_of(50, k);
	assert_null(cn_peerlist_find_key(pl, k)); /* a relay, not a peer */
	assert_non_null(cn_peerlist_find_relay_key(pl, k));
	assert_string_equal(cn_peerlist_find_relay_key(pl, k)->name, "relay1");
	assert_ptr_equal(cn_peerlist_find_relay_name(pl, "relay1"), &pl->relays[0]);
	assert_null(cn_peerlist_find_relay_name(pl, "relay2"));

	p = cn_peerlist_find_name(pl, "cloud1");
	assert_non_null(p);
	assert_int_equal(p->ngroups, 0);
	assert_null(cn_peerlist_find_name(pl, "cloud2"));
	assert_null(cn_peerlist_find_name(pl, ""));

	inet_pton(AF_INET, "10.99.0.3", ip4);
	assert_ptr_equal(cn_peerlist_find_ip4(pl, ip4), cn_peerlist_find_name(pl, "board2"));
	inet_pton(AF_INET, "10.99.0.5", ip4);
	assert_null(cn_peerlist_find_ip4(pl, ip4));
	inet_pton(AF_INET6, "fd99:cafe::4", ip6);
	assert_ptr_equal(cn_peerlist_find_ip6(pl, ip6), cn_peerlist_find_name(pl, "cloud1"));
	inet_pton(AF_INET6, "fd99:cafe::5", ip6);
	assert_null(cn_peerlist_find_ip6(pl, ip6));

	assert_int_equal(cn_peerlist_group_members(pl, "boards", members, 4), 2);
	assert_string_equal(members[0]->name, "board1");
	assert_string_equal(members[1]->name, "board2");
	assert_int_equal(cn_peerlist_group_members(pl, "boards", members, 1), 2);
	assert_int_equal(cn_peerlist_group_members(pl, "arm", members, 4), 1);
	assert_string_equal(members[0]->name, "board2");
	assert_int_equal(cn_peerlist_group_members(pl, "nobody", members, 4), 0);
	assert_true(cn_peer_in_group(cn_peerlist_find_name(pl, "board2"), "arm"));
	assert_false(cn_peer_in_group(cn_peerlist_find_name(pl, "board1"), "arm"));

	assert_true(cn_peerlist_name_valid("a"));
	assert_true(cn_peerlist_name_valid("0-9"));
	assert_false(cn_peerlist_name_valid(NULL));
	assert_false(cn_peerlist_name_valid("a.b"));
	cn_peerlist_free(pl);
	cn_peerlist_free(NULL);
	free(text);
}

/* 2000 peers: parse, sign, load, and every lookup lands on the right peer. */
static void test_many_peers(void **state)
{
	enum { N = 2000 };
	const char *head = "version = 1;\nnetwork = \"big\";\nserial = 1;\ndomain = \"big\";\n"
			   "prefix4 = \"10.64.0.0/12\";\nprefix6 = \"fd64::/64\";\npeers = (\n";
	size_t cap = strlen(head) + (size_t)N * 200 + 16, len = 0, slen = 0;
	char *buf = malloc(cap), *s;
	uint8_t(*keys)[CN_KEY_LEN] = malloc((size_t)N * CN_KEY_LEN);
	struct cn_peerlist *pl = NULL, *loaded = NULL;
	struct cn_errbuf e = {{0}};

	(void)state;
	assert_non_null(buf);
	assert_non_null(keys);
	len += (size_t)snprintf(buf, cap, "%s", head);
	for (uint32_t i = 0; i < N; i++) {
		char k[CN_KEY_TEXT_LEN + 1];
		uint32_t h = i + 1;

		pub_of(i + 1, keys[i]);
		cn_key_to_text(keys[i], k);
		len += (size_t)snprintf(buf + len, cap - len,
					"{ name = \"n%u\"; key = \"%s\"; ipv4 = \"10.64.%u.%u\"; "
					"ipv6 = \"fd64::%x\"; groups = [ \"%s\" ]; }%s\n",
					i, k, h >> 8, h & 0xff, h, i % 2 ? "odd" : "even",
					i + 1 < N ? "," : "");
	}
	len += (size_t)snprintf(buf + len, cap - len, ");\n");
	pl = parse_ok(buf);
	assert_int_equal(pl->npeers, N);
	for (uint32_t i = 0; i < N; i++) {
		char name[16];
		uint8_t ip4[4], ip6[16];
		uint32_t h = i + 1;
		const struct cn_pl_peer *p = &pl->peers[i];

		snprintf(name, sizeof(name), "n%u", i);
		ip4[0] = 10;
		ip4[1] = 64;
		ip4[2] = (uint8_t)(h >> 8);
		ip4[3] = (uint8_t)h;
		memset(ip6, 0, sizeof(ip6));
		ip6[0] = 0xfd;
		ip6[1] = 0x64;
		ip6[14] = (uint8_t)(h >> 8);
		ip6[15] = (uint8_t)h;
		assert_ptr_equal(cn_peerlist_find_key(pl, keys[i]), p);
		assert_ptr_equal(cn_peerlist_find_xkey(pl, p->x_key), p);
		assert_ptr_equal(cn_peerlist_find_name(pl, name), p);
		assert_ptr_equal(cn_peerlist_find_ip4(pl, ip4), p);
		assert_ptr_equal(cn_peerlist_find_ip6(pl, ip6), p);
	}
	assert_int_equal(cn_peerlist_group_members(pl, "odd", NULL, 0), N / 2);
	s = sign_text(buf, ROOT_SEED, &slen);
	assert_int_equal(load(s, slen, 1, 0, &loaded, &e), 0);
	assert_true(cn_peerlist_equal(pl, loaded));
	cn_peerlist_free(loaded);
	cn_peerlist_free(pl);
	free(s);
	free(keys);
	free(buf);
}

/* ---- editing ------------------------------------------------------------ */

static struct cn_peerlist *new_list(const char *p4, const char *p6)
{
	struct cn_peerlist *pl = NULL;
	struct cn_errbuf e = {{0}};

	if (cn_peerlist_new("demo", "demo.cairn", p4, p6, &pl, &e))
		fail_msg("new: %s", e.msg);
	return pl;
}

static void add(struct cn_peerlist *pl, const char *name, uint32_t key, const char *ip4,
		const char *ip6)
{
	struct cn_errbuf e = {{0}};
	uint8_t k[CN_KEY_LEN];

	pub_of(key, k);
	if (cn_peerlist_add_peer(pl, name, k, NULL, 0, ip4, ip6, &e))
		fail_msg("add %s: %s", name, e.msg);
}

static void expect_addr(const struct cn_peerlist *pl, const char *name, const char *ip4,
			const char *ip6)
{
	const struct cn_pl_peer *p = cn_peerlist_find_name(pl, name);
	char a4[INET_ADDRSTRLEN], a6[INET6_ADDRSTRLEN];

	assert_non_null(p);
	inet_ntop(AF_INET, p->ip4, a4, sizeof(a4));
	inet_ntop(AF_INET6, p->ip6, a6, sizeof(a6));
	assert_string_equal(a4, ip4);
	assert_string_equal(a6, ip6);
}

static void test_new_refusals(void **state)
{
	struct cn_peerlist *pl = (struct cn_peerlist *)1;
	struct cn_errbuf e = {{0}};

	(void)state;
	expect_err(cn_peerlist_new("Demo", "d", "10.0.0.0/8", "fd00::/48", &pl, &e), -CN_EFORMAT,
		   &e, "network name 'Demo' is not valid");
	assert_null(pl);
	expect_err(cn_peerlist_new("d", "d..x", "10.0.0.0/8", "fd00::/48", &pl, &e), -CN_EFORMAT,
		   &e, "domain 'd..x'");
	expect_err(cn_peerlist_new("d", "d", "10.0.0.1/8", "fd00::/48", &pl, &e), -CN_EFORMAT, &e,
		   "prefix4 '10.0.0.1/8' has host bits set");
	expect_err(cn_peerlist_new("d", "d", "10.0.0.0/8", "fd00::/32", &pl, &e), -CN_EFORMAT, &e,
		   "prefix6 'fd00::/32' has a length outside 48 to 120");
	pl = new_list("10.0.0.0/8", "fd00::/48");
	assert_int_equal(pl->serial, 1);
	assert_int_equal(pl->expires, 0);
	cn_peerlist_free(pl);
}

static void test_auto_assign(void **state)
{
	struct cn_peerlist *pl = new_list("10.99.0.0/16", "fd99:cafe::/64");

	(void)state;
	add(pl, "a", 1, NULL, NULL);
	add(pl, "b", 2, NULL, NULL);
	add(pl, "c", 3, NULL, NULL);
	expect_addr(pl, "a", "10.99.0.1", "fd99:cafe::1");
	expect_addr(pl, "b", "10.99.0.2", "fd99:cafe::2");
	expect_addr(pl, "c", "10.99.0.3", "fd99:cafe::3");
	/* One given: the other follows its host number. */
	add(pl, "d", 4, "10.99.0.10", NULL);
	expect_addr(pl, "d", "10.99.0.10", "fd99:cafe::a");
	add(pl, "e", 5, NULL, "fd99:cafe::20");
	expect_addr(pl, "e", "10.99.0.32", "fd99:cafe::20");
	/* Host 4 taken in v4 only, 5 in v6 only: the next shared number is 6... */
	add(pl, "f", 6, "10.99.0.4", "fd99:cafe::5");
	add(pl, "g", 7, NULL, NULL);
	expect_addr(pl, "g", "10.99.0.6", "fd99:cafe::6");
	/* ...and a removed peer's number is reused. */
	assert_int_equal(cn_peerlist_remove_peer(pl, "b", NULL), 0);
	assert_null(cn_peerlist_find_name(pl, "b"));
	add(pl, "h", 8, NULL, NULL);
	expect_addr(pl, "h", "10.99.0.2", "fd99:cafe::2");
	/* Insertion order is kept: b's slot is gone, h is last. */
	assert_string_equal(pl->peers[0].name, "a");
	assert_string_equal(pl->peers[1].name, "c");
	assert_string_equal(pl->peers[pl->npeers - 1].name, "h");
	cn_peerlist_free(pl);
}

static void test_auto_assign_small_prefix(void **state)
{
	struct cn_peerlist *pl = new_list("10.0.0.0/30", "fd00::/120");
	struct cn_errbuf e = {{0}};
	uint8_t k[CN_KEY_LEN];

	(void)state;
	/* /30: hosts 1 and 2 only. With v6 ::2 taken, no shared number is left. */
	add(pl, "a", 1, "10.0.0.1", "fd00::2");
	add(pl, "b", 2, NULL, NULL);
	expect_addr(pl, "b", "10.0.0.2", "fd00::1");
	pub_of(3, k);
	expect_err(cn_peerlist_add_peer(pl, "c", k, NULL, 0, NULL, NULL, &e), -CN_EEXHAUSTED, &e,
		   "prefix4 10.0.0.0/30 has no free address");
	expect_err(cn_peerlist_add_peer(pl, "c", k, NULL, 0, "10.0.0.3", NULL, &e), -CN_EFORMAT, &e,
		   "peer 'c': ipv4 '10.0.0.3' is the broadcast address of the prefix");
	assert_int_equal(pl->npeers, 2);
	cn_peerlist_free(pl);
}

/* Every refused edit leaves the list as it was, text and lookups included. */
static void test_edit_refusals_leave_list_unchanged(void **state)
{
	struct cn_peerlist *pl = new_list("10.99.0.0/16", "fd99:cafe::/64");
	struct cn_errbuf e = {{0}};
	const char *bad_groups[] = {"ok", "Bad"};
	const char *dup_groups[] = {"ok", "ok"};
	uint8_t k1[CN_KEY_LEN], k9[CN_KEY_LEN], k50[CN_KEY_LEN], flipped[CN_KEY_LEN];
	uint8_t zero[CN_KEY_LEN] = {0};
	char *before, *after;
	size_t blen, alen;

	(void)state;
	pub_of(1, k1);
	pub_of(9, k9);
	pub_of(50, k50);
	memcpy(flipped, k1, CN_KEY_LEN);
	flipped[31] ^= 0x80;
	add(pl, "a", 1, NULL, NULL);
	assert_int_equal(cn_peerlist_add_relay(pl, "r1", k50, "relay.example", 0, 0, &e), 0);
	assert_int_equal(cn_peerlist_format(pl, &before, &blen), 0);

	expect_err(cn_peerlist_add_peer(pl, "a", k9, NULL, 0, NULL, NULL, &e), -CN_EEXIST, &e,
		   "peer 'a' already exists");
	expect_err(cn_peerlist_add_peer(pl, "A", k9, NULL, 0, NULL, NULL, &e), -CN_EFORMAT, &e,
		   "peer name 'A' is not valid");
	expect_err(cn_peerlist_add_peer(pl, "b", k1, NULL, 0, NULL, NULL, &e), -CN_EEXIST, &e,
		   "peer 'b': key already used by peer 'a'");
	expect_err(cn_peerlist_add_peer(pl, "b", flipped, NULL, 0, NULL, NULL, &e), -CN_EEXIST, &e,
		   "peer 'b': key has the same X25519 form as the key of peer 'a'");
	expect_err(cn_peerlist_add_peer(pl, "b", k50, NULL, 0, NULL, NULL, &e), -CN_EEXIST, &e,
		   "peer 'b': key already used by relay 'r1'");
	expect_err(cn_peerlist_add_peer(pl, "b", zero, NULL, 0, NULL, NULL, &e), -CN_EKEY, &e,
		   "peer 'b': key is not a usable Ed25519 public key");
	expect_err(cn_peerlist_add_peer(pl, "b", k9, bad_groups, 2, NULL, NULL, &e), -CN_EFORMAT,
		   &e, "peer 'b': group name 'Bad' is not valid");
	expect_err(cn_peerlist_add_peer(pl, "b", k9, dup_groups, 2, NULL, NULL, &e), -CN_EEXIST, &e,
		   "peer 'b': group 'ok' is listed twice");
	expect_err(cn_peerlist_add_peer(pl, "b", k9, NULL, 0, "10.99.0.1", NULL, &e), -CN_EEXIST,
		   &e, "peer 'b': ipv4 10.99.0.1 already used by peer 'a'");
	expect_err(cn_peerlist_add_peer(pl, "b", k9, NULL, 0, NULL, "fd99:cafe::1", &e), -CN_EEXIST,
		   &e, "peer 'b': ipv6 fd99:cafe::1 already used by peer 'a'");
	expect_err(cn_peerlist_add_peer(pl, "b", k9, NULL, 0, "10.98.0.1", NULL, &e), -CN_EFORMAT,
		   &e, "peer 'b': ipv4 '10.98.0.1' is outside the prefix 10.99.0.0/16");
	expect_err(cn_peerlist_add_peer(pl, "b", k9, NULL, 0, NULL, "fd99:cafe::", &e), -CN_EFORMAT,
		   &e, "is the network address");
	expect_err(cn_peerlist_remove_peer(pl, "zz", &e), -CN_ENOTFOUND, &e, "no peer named 'zz'");

	expect_err(cn_peerlist_add_relay(pl, "r1", k9, "x.example", 0, 0, &e), -CN_EEXIST, &e,
		   "relay 'r1' already exists");
	expect_err(cn_peerlist_add_relay(pl, "r2", k50, "x.example", 0, 0, &e), -CN_EEXIST, &e,
		   "relay 'r2': key already used by relay 'r1'");
	expect_err(cn_peerlist_add_relay(pl, "r2", k1, "x.example", 0, 0, &e), -CN_EEXIST, &e,
		   "relay 'r2': key already used by peer 'a'");
	expect_err(cn_peerlist_add_relay(pl, "r2", k9, "x..example", 0, 0, &e), -CN_EFORMAT, &e,
		   "relay 'r2': host 'x..example' is not an IP address or a hostname");
	expect_err(cn_peerlist_add_relay(pl, "R2", k9, "x.example", 0, 0, &e), -CN_EFORMAT, &e,
		   "relay name 'R2' is not valid");
	/* SRV names: '_' may start a label, nowhere else. */
	expect_err(cn_peerlist_add_relay(pl, "r2", k9, "_cairn.x_y.example", 0, 0, &e), -CN_EFORMAT,
		   &e, "host '_cairn.x_y.example' is not an IP address or a hostname");
	expect_err(cn_peerlist_add_relay(pl, "r2", k9, "a._", 0, 0, &e), -CN_EFORMAT, &e,
		   "is not an IP address or a hostname");
	expect_err(cn_peerlist_remove_relay(pl, "r9", &e), -CN_ENOTFOUND, &e,
		   "no relay named 'r9'");

	assert_int_equal(cn_peerlist_format(pl, &after, &alen), 0);
	assert_int_equal(alen, blen);
	assert_string_equal(after, before);
	assert_int_equal(pl->npeers, 1);
	assert_non_null(cn_peerlist_find_key(pl, k1));
	free(after);
	free(before);

	/* And the successful relay edits. */
	assert_int_equal(cn_peerlist_add_relay(pl, "r2", k9, "2001:db8::7", 8443, 3479, &e), 0);
	assert_int_equal(pl->nrelays, 2);
	assert_int_equal(pl->relays[1].port, 8443);
	assert_int_equal(pl->relays[1].stun_port, 3479);
	assert_int_equal(pl->relays[0].port, 443);
	assert_int_equal(pl->relays[0].stun_port, 3478);
	assert_int_equal(cn_peerlist_remove_relay(pl, "r1", &e), 0);
	assert_int_equal(pl->nrelays, 1);
	assert_string_equal(pl->relays[0].name, "r2");
	assert_int_equal(cn_peerlist_remove_relay(pl, "r2", &e), 0);
	assert_int_equal(pl->nrelays, 0);
	assert_int_equal(cn_peerlist_remove_peer(pl, "a", &e), 0);
	assert_int_equal(pl->npeers, 0);
	assert_null(cn_peerlist_find_key(pl, k1));
	cn_peerlist_free(pl);
}

/* ---- canonical text ----------------------------------------------------- */

static void test_format_roundtrip(void **state)
{
	struct cn_peerlist *pl = new_list("10.99.0.0/16", "fd99:cafe::/64"), *back = NULL;
	struct cn_errbuf e = {{0}};
	const char *groups[] = {"boards", "arm"};
	uint8_t k[CN_KEY_LEN];
	char *text = NULL, *again = NULL, *s;
	size_t len = 0, len2 = 0, slen = 0;

	(void)state;
	pl->serial = 4294967297LL; /* needs the L suffix */
	pl->expires = 1800000000;
	pub_of(50, k);
	assert_int_equal(cn_peerlist_add_relay(pl, "relay1", k, "relay.example.com", 0, 0, &e), 0);
	pub_of(51, k);
	assert_int_equal(cn_peerlist_add_relay(pl, "relay2", k, "2001:db8::1", 8443, 0, &e), 0);
	pub_of(1, k);
	assert_int_equal(cn_peerlist_add_peer(pl, "board1", k, groups, 2, NULL, NULL, &e), 0);
	add(pl, "cloud1", 2, "10.99.200.7", NULL);
	add(pl, "zeta", 3, NULL, NULL);
	add(pl, "alpha", 4, NULL, NULL); /* insertion order, not sorted */

	assert_int_equal(cn_peerlist_format(pl, &text, &len), 0);
	assert_int_equal(strlen(text), len);
	assert_non_null(strstr(text, "serial = 4294967297L;\n"));
	assert_non_null(strstr(text, "expires = 1800000000;\n"));
	assert_non_null(strstr(text, "groups = [ \"boards\", \"arm\" ];"));
	assert_true(strstr(text, "\"zeta\"") < strstr(text, "\"alpha\""));
	back = parse_ok(text);
	assert_true(cn_peerlist_equal(pl, back));
	/* Deterministic: the parsed copy formats to the same bytes. */
	assert_int_equal(cn_peerlist_format(back, &again, &len2), 0);
	assert_string_equal(again, text);
	/* And signed, it loads. */
	s = sign_text(text, ROOT_SEED, &slen);
	cn_peerlist_free(back);
	back = NULL;
	assert_int_equal(load(s, slen, 4294967297LL, 1700000000, &back, &e), 0);
	assert_true(cn_peerlist_equal(pl, back));
	/* Equality notices a change. */
	back->peers[1].ip4[3] ^= 1;
	assert_false(cn_peerlist_equal(pl, back));
	back->peers[1].ip4[3] ^= 1;
	assert_true(cn_peerlist_equal(pl, back));
	back->peers[0].groups[1][0] = 'b'; /* "arm" -> "brm" */
	assert_false(cn_peerlist_equal(pl, back));

	/* A list changed by hand into something unparseable is not written. */
	free(again);
	again = NULL;
	pl->serial = 0;
	assert_int_equal(cn_peerlist_format(pl, &again, &len2), -CN_EFORMAT);
	assert_null(again);
	pl->serial = 1;
	memcpy(pl->peers[0].name, "x\"y", 4);
	assert_int_equal(cn_peerlist_format(pl, &again, &len2), -CN_EFORMAT);

	cn_peerlist_free(back);
	cn_peerlist_free(pl);
	free(s);
	free(text);
}

static void test_format_of_parsed_base(void **state)
{
	char *text = expand(BASE), *out = NULL;
	struct cn_peerlist *pl = parse_ok(text), *back;
	size_t len = 0;

	(void)state;
	assert_int_equal(cn_peerlist_format(pl, &out, &len), 0);
	back = parse_ok(out);
	assert_true(cn_peerlist_equal(pl, back));
	cn_peerlist_free(back);
	cn_peerlist_free(pl);
	free(out);
	free(text);
}

/* cn_peerlist_load_update: the node's and the relay's one rule. */
static void test_load_update(void **state)
{
	struct cn_peerlist *held = NULL, *pl = NULL;
	struct cn_errbuf e = {{0}};
	uint8_t root[CN_KEY_LEN];
	size_t len = 0, len8 = 0, lenx = 0;
	char *s = signed_base(&len);
	char *b8 = variant("serial = 7;\n", "serial = 8;\n"), *s8 = sign_text(b8, ROOT_SEED, &len8);
	char *bx = variant("network = \"demo\";\n", "network = \"other\";\n"), *sx;

	(void)state;
	strstr(bx, "serial = 7;")[9] = '9';
	sx = sign_text(bx, ROOT_SEED, &lenx);
	pub_of(ROOT_SEED, root);
	/* Nothing held: any network. */
	assert_int_equal(cn_peerlist_load_update((const uint8_t *)s, len, root, NULL, 0, &held, &e),
			 0);
	assert_non_null(held);
	/* The same serial again: nothing new, no list. */
	assert_int_equal(cn_peerlist_load_update((const uint8_t *)s, len, root, held, 0, &pl, &e),
			 0);
	assert_null(pl);
	/* Newer: replaces. */
	assert_int_equal(cn_peerlist_load_update((const uint8_t *)s8, len8, root, held, 0, &pl, &e),
			 0);
	assert_non_null(pl);
	assert_int_equal(pl->serial, 8);
	cn_peerlist_free(held);
	held = pl;
	/* Older: rollback, nothing out. */
	expect_err(cn_peerlist_load_update((const uint8_t *)s, len, root, held, 0, &pl, &e),
		   -CN_EROLLBACK, &e, "lower than serial 8");
	assert_null(pl);
	/* Another network, newer and validly signed: refused. */
	expect_err(cn_peerlist_load_update((const uint8_t *)sx, lenx, root, held, 0, &pl, &e),
		   -CN_EFORMAT, &e, "network 'other' is not this network 'demo'");
	assert_null(pl);
	cn_peerlist_free(held);
	free(s);
	free(b8);
	free(s8);
	free(bx);
	free(sx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sign_verify_roundtrip),
		cmocka_unit_test(test_signature_known_layout),
		cmocka_unit_test(test_every_byte_flip_refused),
		cmocka_unit_test(test_other_root_refused),
		cmocka_unit_test(test_signature_line_shape),
		cmocka_unit_test(test_sign_refusals),
		cmocka_unit_test(test_size_cap),
		cmocka_unit_test(test_nul_byte_refused),
		cmocka_unit_test(test_include_refused),
		cmocka_unit_test(test_libconfig_guards),
		cmocka_unit_test(test_rollback),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_load_update),
		cmocka_unit_test(test_root_key_as_member_refused),
		cmocka_unit_test(test_top_level_rules),
		cmocka_unit_test(test_relay_rules),
		cmocka_unit_test(test_peer_rules),
		cmocka_unit_test(test_key_text_high_byte),
		cmocka_unit_test(test_peer_count_cap),
		cmocka_unit_test(test_lookups),
		cmocka_unit_test(test_many_peers),
		cmocka_unit_test(test_new_refusals),
		cmocka_unit_test(test_auto_assign),
		cmocka_unit_test(test_auto_assign_small_prefix),
		cmocka_unit_test(test_edit_refusals_leave_list_unchanged),
		cmocka_unit_test(test_format_roundtrip),
		cmocka_unit_test(test_format_of_parsed_base),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
