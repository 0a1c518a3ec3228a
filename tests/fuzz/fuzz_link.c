/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: relay link messages and TCP framing. A decoded message must
 * re-encode to the same bytes (the codec has one encoding per message).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "relay/link.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[CN_LINK_MSG_MAX];
	struct cn_link_msg m;
	const uint8_t *msg;
	size_t out_len, msg_len, used, off = 0;

	if (cn_link_decode(data, size, &m) == 0) {
		if (cn_link_encode(&m, out, sizeof(out), &out_len) != 0 || out_len != size ||
		    memcmp(out, data, size) != 0)
			abort();
	}
	/* The same bytes as a TCP stream: walk every whole frame. */
	while (off < size && cn_tcp_frame_next(data + off, size - off, CN_TCP_FRAME_MAX, &msg,
					       &msg_len, &used) == 0) {
		if (used != msg_len + CN_TCP_FRAME_HDR || used > size - off)
			abort();
		(void)cn_link_decode(msg, msg_len, &m);
		off += used;
	}
	return 0;
}
