/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: deploy protocol frames. The input is a stream of frames;
 * each whole frame's payload goes to its type's decoder, and what decodes
 * must re-encode to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "deploy/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* *olen is read here, after the re-encoder ran (argument order is unspecified). */
static void same(const uint8_t *frame, size_t flen, const uint8_t *out, const size_t *olen, int ret)
{
	if (ret != 0 || *olen != flen || memcmp(out, frame, flen) != 0)
		abort();
}

static void one(const uint8_t *f, uint8_t type, size_t plen)
{
	static uint8_t out[CN_DPROTO_FRAME_MAX];
	static struct cn_dproto_result r;
	static struct cn_dproto_entry e[CN_DPROTO_LIST_MAX];
	const uint8_t *p = f + CN_DPROTO_HDR;
	size_t flen = CN_DPROTO_HDR + plen, olen = 0, n;
	struct cn_dproto_push push;
	struct cn_dproto_req q;
	uint64_t off;

	switch ((enum cn_dproto_type)type) {
	case CN_DPROTO_PUSH:
		if (cn_dproto_push_decode(p, plen, &push) == 0)
			same(f, flen, out, &olen,
			     cn_dproto_push_encode(&push, out, sizeof(out), &olen));
		break;
	case CN_DPROTO_ACCEPT:
		if (cn_dproto_accept_decode(p, plen, &off) == 0)
			same(f, flen, out, &olen,
			     cn_dproto_accept_encode(off, out, sizeof(out), &olen));
		break;
	case CN_DPROTO_DATA:
		break;
	case CN_DPROTO_RESULT:
		if (cn_dproto_result_decode(p, plen, &r) == 0)
			same(f, flen, out, &olen,
			     cn_dproto_result_encode(&r, out, sizeof(out), &olen));
		break;
	case CN_DPROTO_LIST:
		if (cn_dproto_list_decode(p, plen, &q) == 0)
			same(f, flen, out, &olen,
			     cn_dproto_list_encode(&q, out, sizeof(out), &olen));
		break;
	case CN_DPROTO_LIST_REPLY:
		if (cn_dproto_list_reply_decode(p, plen, e, CN_DPROTO_LIST_MAX, &n) == 0)
			same(f, flen, out, &olen,
			     cn_dproto_list_reply_encode(e, n, out, sizeof(out), &olen));
		break;
	case CN_DPROTO_ROLLBACK:
		if (cn_dproto_rollback_decode(p, plen, &q) == 0)
			same(f, flen, out, &olen,
			     cn_dproto_rollback_encode(&q, out, sizeof(out), &olen));
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t type;
	size_t plen;

	while (cn_dproto_peek(data, size, &type, &plen) == 0) {
		one(data, type, plen);
		data += CN_DPROTO_HDR + plen;
		size -= CN_DPROTO_HDR + plen;
	}
	return 0;
}
