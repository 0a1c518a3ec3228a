/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: node-to-node control messages. What decodes must re-encode
 * to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "node/ctlmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[CN_CTL_MSG_MAX];
	struct cn_ctl_msg m;
	size_t len = 0;

	if (cn_ctl_decode(data, size, &m) != 0)
		return 0;
	if (cn_ctl_encode(&m, out, sizeof(out), &len) != 0 || len != size ||
	    memcmp(out, data, size) != 0)
		abort();
	return 0;
}
