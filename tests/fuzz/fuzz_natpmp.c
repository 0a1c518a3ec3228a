/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: NAT-PMP (RFC 6886) messages. What decodes re-encodes to the
 * same bytes (the format has no optional parts).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nat/natpmp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t out[CN_NATPMP_MSG_MAX];
	struct cn_natpmp_response rs;
	struct cn_natpmp_request rq;
	size_t len = 0;

	if (cn_natpmp_response_decode(data, size, &rs) == 0) {
		if (cn_natpmp_response_encode(&rs, out, sizeof(out), &len) != 0 || len != size ||
		    memcmp(out, data, size) != 0)
			abort();
	}
	if (cn_natpmp_request_decode(data, size, &rq) == 0) {
		if (cn_natpmp_request_encode(&rq, out, sizeof(out), &len) != 0 || len != size ||
		    memcmp(out, data, size) != 0)
			abort();
	}
	return 0;
}
