/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: deploy manifests. Whatever decodes has valid names and
 * sizes; verification against a fixed key never accepts what decode
 * refused.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "deploy/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t pk[CN_KEY_LEN] = {0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5,
					       0x4b, 0xfe, 0xd3, 0xc9, 0x64, 0x07, 0x3a, 0x0e, 0xe1,
					       0x72, 0xf3, 0xda, 0xa6, 0x23, 0x25, 0xaf, 0x02, 0x1a,
					       0x68, 0xf7, 0x07, 0x51, 0x1a}; /* RFC 8032 test 1 */
	struct cn_deploy_manifest m;
	int dec = cn_deploy_manifest_decode(data, size, &m);

	if (dec == 0 && (!cn_deploy_app_valid(m.app) || !cn_deploy_version_valid(m.version) ||
			 m.size == 0 || m.size > CN_DEPLOY_SIZE_MAX || m.time <= 0))
		abort();
	if (cn_deploy_manifest_verify(data, size, pk, &m) == 0 && dec != 0)
		abort();
	return 0;
}
