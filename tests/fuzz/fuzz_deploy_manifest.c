/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: deploy manifests. Whatever decodes has valid names and
 * sizes; verification against a fixed key (RFC 8032 test 1; the seeds
 * signed_* are signed with it by tests/fuzz/gen_manifest_seeds.py) never
 * accepts what decode refused; what verifies carries that key, decodes to
 * the same fields, and stops verifying when a bit of its hash or of its
 * signature changes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "deploy/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool fields_ok(const struct cn_deploy_manifest *m)
{
	return cn_deploy_app_valid(m->app) && cn_deploy_version_valid(m->version) && m->size != 0 &&
	       m->size <= CN_DEPLOY_SIZE_MAX && m->time > 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t pk[CN_KEY_LEN] = {0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5,
					       0x4b, 0xfe, 0xd3, 0xc9, 0x64, 0x07, 0x3a, 0x0e, 0xe1,
					       0x72, 0xf3, 0xda, 0xa6, 0x23, 0x25, 0xaf, 0x02, 0x1a,
					       0x68, 0xf7, 0x07, 0x51, 0x1a}; /* RFC 8032 test 1 */
	static uint8_t copy[CN_DEPLOY_MANIFEST_MAX];
	struct cn_deploy_manifest m, v;
	int dec = cn_deploy_manifest_decode(data, size, &m);

	if (dec == 0 && !fields_ok(&m))
		abort();
	if (cn_deploy_manifest_verify(data, size, pk, &v) != 0)
		return 0;
	/* Verified. */
	if (dec != 0 || !fields_ok(&v) || memcmp(v.key, pk, CN_KEY_LEN) != 0 ||
	    memcmp(&v, &m, sizeof(v)) != 0 || size > sizeof(copy))
		abort();
	/* A bit of the hash, then of the signature, flipped: refused (the
	 * layout is known here because decode accepted it). */
	{
		size_t hash_at = 3 + strlen(v.app) + strlen(v.version) + 8;
		size_t sig_at = size - CN_SIG_LEN;
		uint8_t bit = (uint8_t)(1u << (data[size - 1] % 8));

		memcpy(copy, data, size);
		copy[hash_at + data[size - 1] % CN_DEPLOY_HASH_LEN] ^= bit;
		if (cn_deploy_manifest_verify(copy, size, pk, &v) == 0)
			abort();
		memcpy(copy, data, size);
		copy[sig_at + data[size - 2] % CN_SIG_LEN] ^= bit;
		if (cn_deploy_manifest_verify(copy, size, pk, &v) == 0)
			abort();
	}
	return 0;
}
