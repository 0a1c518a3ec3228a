/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the STUN codec (nat/stun.h): the server's request
 * decoder and the client's response decoders on arbitrary datagrams. When a
 * request decodes, the answer the policy picks is encoded and read back,
 * and the mapped address must survive the trip; any disagreement aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "nat/stun.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
	if (!cond)
		abort();
}

/* An address made from the input, so both families and odd ports show up. */
static int addr_equal(const struct cn_stun_addr *x, const struct cn_stun_addr *y)
{
	return x->family == y->family && x->port == y->port && memcmp(x->ip, y->ip, 16) == 0;
}

static void addr_from(const uint8_t *data, size_t size, struct cn_stun_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->family = (size & 1) ? CN_STUN_FAMILY_IPV6 : CN_STUN_FAMILY_IPV4;
	a->port = (uint16_t)(size * 2654435761u);
	for (size_t i = 0; i < (a->family == CN_STUN_FAMILY_IPV4 ? 4u : 16u); i++)
		a->ip[i] = size ? data[(i * 7) % size] : (uint8_t)i;
}

static void answer(const uint8_t *data, size_t size, const struct cn_stun_request *req)
{
	uint8_t out[CN_STUN_MSG_MAX];
	struct cn_stun_addr a, got;
	size_t len = 0;
	int ret;

	switch (cn_stun_request_reply(req)) {
	case CN_STUN_REPLY_NONE:
		check(req->classic && (req->change || req->n_unknown));
		return;
	case CN_STUN_REPLY_UNKNOWN:
		check(!req->classic);
		ret = cn_stun_encode_unknown_response(req, "fuzz", out, sizeof(out), &len);
		check(ret == 0 && len <= sizeof(out) && cn_stun_is_stun(out, len));
		/* An error response is no success response. */
		check(cn_stun_decode_binding_response(out, len, req->id + 4, &got) == -CN_EFORMAT);
		return;
	case CN_STUN_REPLY_SUCCESS:
		break;
	}
	addr_from(data, size, &a);
	ret = cn_stun_encode_binding_response(req, &a, size % 3 ? NULL : "cairn", out, sizeof(out),
					      &len);
	check(ret == 0 && len > 0 && len <= sizeof(out));
	if (req->classic)
		ret = cn_stun_decode_classic_binding_response(out, len, req->id, &got);
	else
		ret = cn_stun_decode_binding_response(out, len, req->id + 4, &got);
	check(ret == 0);
	check(addr_equal(&got, &a));
	check(cn_stun_is_stun(out, len) == !req->classic);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t fixed_tid[CN_STUN_TID_LEN] = {0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
							   0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae};
	struct cn_stun_request req;
	struct cn_stun_addr got;
	bool is_stun = cn_stun_is_stun(data, size);
	int ret;

	ret = cn_stun_decode_request(data, size, &req);
	if (ret == 0) {
		/* Every RFC 8489 request the decoder takes passes the cheap test. */
		check(is_stun == !req.classic);
		check(memcmp(req.id, data + 4, sizeof(req.id)) == 0);
		answer(data, size, &req);
	} else {
		check(ret == -CN_ESHORT || ret == -CN_EFORMAT);
		check(req.n_unknown == 0 && !req.classic);
	}

	/* Client side: the input's own transaction id, so responses match. */
	if (size >= CN_STUN_HDR_LEN) {
		ret = cn_stun_decode_binding_response(data, size, data + 8, &got);
		if (ret == 0)
			check(got.family == CN_STUN_FAMILY_IPV4 ||
			      got.family == CN_STUN_FAMILY_IPV6);
		else
			check(ret == -CN_ESHORT || ret == -CN_EFORMAT || ret == -CN_ENOTFOUND);
		ret = cn_stun_decode_classic_binding_response(data, size, data + 4, &got);
		if (ret == 0)
			check(got.family == CN_STUN_FAMILY_IPV4 ||
			      got.family == CN_STUN_FAMILY_IPV6);
	}
	ret = cn_stun_decode_binding_response(data, size, fixed_tid, &got);
	check(ret <= 0);
	return 0;
}
