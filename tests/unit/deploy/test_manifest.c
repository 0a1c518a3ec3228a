/* SPDX-License-Identifier: MIT */
/*
 * Deploy manifests: round trip, name rules, and every way a manifest must
 * be refused (wrong signer, flipped bits, truncation, trailing bytes,
 * invalid fields, another context).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "deploy/manifest.h"

static struct cn_identity *id1, *id2;

static int setup(void **state)
{
	(void)state;
	if (sodium_init() < 0 || cn_identity_generate(&id1) || cn_identity_generate(&id2))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	cn_identity_free(id1);
	cn_identity_free(id2);
	return 0;
}

static void sample(struct cn_deploy_manifest *m)
{
	memset(m, 0, sizeof(*m));
	strcpy(m->app, "web-app");
	strcpy(m->version, "1.2.3+build_7");
	m->size = 52428800;
	for (int i = 0; i < CN_DEPLOY_HASH_LEN; i++)
		m->hash[i] = (uint8_t)(i * 7);
	m->time = 1700000000;
}

static void test_roundtrip(void **state)
{
	struct cn_deploy_manifest m, got;
	uint8_t buf[CN_DEPLOY_MANIFEST_MAX];
	size_t len;

	(void)state;
	sample(&m);
	assert_int_equal(cn_deploy_manifest_sign(&m, id1, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, CN_DEPLOY_MANIFEST_FIXED + strlen(m.app) + strlen(m.version));
	assert_int_equal(cn_deploy_manifest_verify(buf, len, id1->ed_pk, &got), 0);
	assert_string_equal(got.app, m.app);
	assert_string_equal(got.version, m.version);
	assert_true(got.size == m.size);
	assert_true(got.time == m.time);
	assert_memory_equal(got.hash, m.hash, CN_DEPLOY_HASH_LEN);
	assert_memory_equal(got.key, id1->ed_pk, CN_KEY_LEN);
	assert_int_equal(cn_deploy_manifest_decode(buf, len, &got), 0);
	/* Longest names fit CN_DEPLOY_MANIFEST_MAX exactly. */
	memset(m.app, 'a', CN_DEPLOY_APP_MAX);
	m.app[CN_DEPLOY_APP_MAX] = '\0';
	memset(m.version, '9', CN_DEPLOY_VERSION_MAX);
	m.version[CN_DEPLOY_VERSION_MAX] = '\0';
	assert_int_equal(cn_deploy_manifest_sign(&m, id1, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, CN_DEPLOY_MANIFEST_MAX);
	assert_int_equal(cn_deploy_manifest_verify(buf, len, id1->ed_pk, &got), 0);
	assert_int_equal(cn_deploy_manifest_sign(&m, id1, buf, len - 1, &len), -CN_ETOOBIG);
}

static void test_names(void **state)
{
	(void)state;
	assert_true(cn_deploy_app_valid("a"));
	assert_true(cn_deploy_app_valid("web-1"));
	assert_false(cn_deploy_app_valid(""));
	assert_false(cn_deploy_app_valid("-a"));
	assert_false(cn_deploy_app_valid("a-"));
	assert_false(cn_deploy_app_valid("Web"));
	assert_false(cn_deploy_app_valid("a.b"));
	assert_false(cn_deploy_app_valid("a/b"));
	assert_false(cn_deploy_app_valid(".."));
	assert_false(cn_deploy_app_valid(
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
	assert_true(cn_deploy_version_valid("1.0"));
	assert_true(cn_deploy_version_valid("v2_rc-1+g1234"));
	assert_false(cn_deploy_version_valid(""));
	assert_false(cn_deploy_version_valid("."));
	assert_false(cn_deploy_version_valid(".."));
	assert_false(cn_deploy_version_valid(".hidden"));
	assert_false(cn_deploy_version_valid("-x"));
	assert_false(cn_deploy_version_valid("a/b"));
	assert_false(cn_deploy_version_valid("../x"));
	assert_false(cn_deploy_version_valid("a b"));
	assert_false(cn_deploy_version_valid("current"));
	assert_false(cn_deploy_version_valid("1.0.tmp"));
}

static void test_refused(void **state)
{
	struct cn_deploy_manifest m, got;
	uint8_t buf[CN_DEPLOY_MANIFEST_MAX + 8], msg[300];
	size_t len;

	(void)state;
	sample(&m);
	assert_int_equal(cn_deploy_manifest_sign(&m, id1, buf, sizeof(buf), &len), 0);
	/* Another key: the key field differs, and a forged key field fails the signature. */
	assert_int_equal(cn_deploy_manifest_verify(buf, len, id2->ed_pk, &got), -CN_ESIG);
	assert_int_equal(got.size, 0);
	memcpy(buf + len - CN_SIG_LEN - CN_KEY_LEN, id2->ed_pk, CN_KEY_LEN);
	assert_int_equal(cn_deploy_manifest_verify(buf, len, id2->ed_pk, &got), -CN_ESIG);
	/* Every single flipped bit is refused. */
	assert_int_equal(cn_deploy_manifest_sign(&m, id1, buf, sizeof(buf), &len), 0);
	for (size_t i = 0; i < len * 8; i++) {
		buf[i / 8] ^= (uint8_t)(1u << (i % 8));
		assert_int_not_equal(cn_deploy_manifest_verify(buf, len, id1->ed_pk, &got), 0);
		buf[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	/* Truncated, or with a trailing byte. */
	for (size_t n = 0; n < len; n++)
		assert_int_not_equal(cn_deploy_manifest_verify(buf, n, id1->ed_pk, &got), 0);
	buf[len] = 0;
	assert_int_equal(cn_deploy_manifest_decode(buf, len + 1, &got), -CN_EFORMAT);
	/* Signed without the context string (as another protocol would). */
	{
		size_t body = len - CN_SIG_LEN;

		memcpy(msg, buf, body);
		assert_int_equal(cn_identity_sign(id1, msg, body, buf + body), 0);
		assert_int_equal(cn_deploy_manifest_verify(buf, len, id1->ed_pk, &got), -CN_ESIG);
	}
	/* Invalid fields are refused when signing. */
	sample(&m);
	strcpy(m.version, "../../etc");
	assert_int_equal(cn_deploy_manifest_sign(&m, id1, buf, sizeof(buf), &len), -CN_EINVAL);
	sample(&m);
	m.size = 0;
	assert_int_equal(cn_deploy_manifest_sign(&m, id1, buf, sizeof(buf), &len), -CN_EINVAL);
	sample(&m);
	m.size = CN_DEPLOY_SIZE_MAX + 1;
	assert_int_equal(cn_deploy_manifest_sign(&m, id1, buf, sizeof(buf), &len), -CN_EINVAL);
	sample(&m);
	m.time = 0;
	assert_int_equal(cn_deploy_manifest_sign(&m, id1, buf, sizeof(buf), &len), -CN_EINVAL);
}

/* Hand-made bodies with bad fields: decode refuses them before any signature check. */
static void test_malformed(void **state)
{
	struct cn_deploy_manifest m, got;
	uint8_t buf[CN_DEPLOY_MANIFEST_MAX + 8];
	size_t len;

	(void)state;
	sample(&m);
	strcpy(m.app, "ab");
	strcpy(m.version, "12");
	assert_int_equal(cn_deploy_manifest_sign(&m, id1, buf, sizeof(buf), &len), 0);
	assert_int_equal(cn_deploy_manifest_decode(buf, len, &got), 0);
	buf[0] = 2; /* format */
	assert_int_equal(cn_deploy_manifest_decode(buf, len, &got), -CN_EFORMAT);
	buf[0] = 1;
	buf[2] = 'A'; /* app "Ab" */
	assert_int_equal(cn_deploy_manifest_decode(buf, len, &got), -CN_EFORMAT);
	buf[2] = 0; /* embedded NUL */
	assert_int_equal(cn_deploy_manifest_decode(buf, len, &got), -CN_EFORMAT);
	buf[2] = 'a';
	buf[5] = '/'; /* version "1/" */
	assert_int_equal(cn_deploy_manifest_decode(buf, len, &got), -CN_EFORMAT);
	buf[5] = '2';
	buf[1] = 0; /* app length 0 */
	assert_int_equal(cn_deploy_manifest_decode(buf, len, &got), -CN_EFORMAT);
	buf[1] = 200; /* app length over the cap */
	assert_int_equal(cn_deploy_manifest_decode(buf, len, &got), -CN_EFORMAT);
	buf[1] = 2;
	assert_int_equal(cn_deploy_manifest_decode(buf, len, &got), 0);
	assert_int_not_equal(cn_deploy_manifest_decode(buf, CN_DEPLOY_MANIFEST_MAX + 1, &got), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
