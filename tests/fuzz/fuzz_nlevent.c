/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: rtnetlink notifications (node/nlevent.h). Any bytes either
 * decode (counts never above the messages seen, each message at least a
 * header long) or are refused with everything zeroed.
 */
#include <stdint.h>
#include <stdlib.h>

#include "common/err.h"
#include "node/nlevent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cn_nlevent ev;
	int ret = cn_nlevent_decode(data, size, size ? data[0] : 0, &ev);

	if (ret == 0) {
		if (ev.addr_changes + ev.route_changes > ev.messages ||
		    (size_t)ev.messages * CN_NLEVENT_HDR_LEN > size)
			abort();
	} else if (ret != -CN_EFORMAT || ev.messages || ev.addr_changes || ev.route_changes) {
		abort();
	}
	return 0;
}
