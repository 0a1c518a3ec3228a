/* SPDX-License-Identifier: MIT */
/*
 * Relay link message codec and TCP framing, with hostile input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "relay/link.h"

static uint8_t key[32];
static uint8_t pkt[CN_LINK_PACKET_MAX + 1];

static void roundtrip(const struct cn_link_msg *in)
{
	static uint8_t buf[CN_LINK_MSG_MAX];
	struct cn_link_msg out;
	size_t len = 0;

	assert_int_equal(cn_link_encode(in, buf, sizeof(buf), &len), 0);
	assert_int_equal(cn_link_decode(buf, len, &out), 0);
	assert_int_equal(out.type, in->type);
	assert_int_equal(out.data_len, in->data_len);
	if (in->data_len)
		assert_memory_equal(out.data, in->data, in->data_len);
	if (in->key)
		assert_memory_equal(out.key, in->key, 32);
	assert_int_equal(out.flag, in->flag);
	assert_int_equal(out.serial, in->serial);
	assert_int_equal(out.total, in->total);
	assert_int_equal(out.offset, in->offset);
	assert_int_equal(out.nonce, in->nonce);
	if (in->token)
		assert_memory_equal(out.token, in->token, CN_LINK_TOKEN_LEN);
	else
		assert_null(out.token);
	/*
	 * Every prefix shorter than the fixed part is refused; fixed-size
	 * messages also refuse every strict prefix and one extra byte.
	 */
	bool variable = in->type == CN_LINK_SEND || in->type == CN_LINK_RECV ||
			in->type == CN_LINK_LIST_CHUNK;
	size_t fixed = in->type == CN_LINK_LIST_CHUNK ? CN_LINK_CHUNK_HDR : variable ? 1 + 32 : len;
	for (size_t cut = 0; cut <= fixed && cut < len; cut++)
		assert_int_not_equal(cn_link_decode(buf, cut, &out), 0);
	if (len < sizeof(buf) && !variable) {
		buf[len] = 0;
		assert_int_equal(cn_link_decode(buf, len + 1, &out), -CN_EFORMAT);
	}
}

static void test_roundtrip_all_types(void **state)
{
	(void)state;
	memset(key, 0xab, sizeof(key));
	for (size_t i = 0; i < sizeof(pkt); i++)
		pkt[i] = (uint8_t)i;
	roundtrip(&(struct cn_link_msg){
		.type = CN_LINK_SEND, .key = key, .data = pkt, .data_len = 1});
	roundtrip(&(struct cn_link_msg){
		.type = CN_LINK_SEND, .key = key, .data = pkt, .data_len = CN_LINK_PACKET_MAX});
	roundtrip(&(struct cn_link_msg){
		.type = CN_LINK_RECV, .key = key, .data = pkt, .data_len = 1400});
	roundtrip(&(struct cn_link_msg){.type = CN_LINK_NOT_HERE, .key = key});
	roundtrip(&(struct cn_link_msg){.type = CN_LINK_PRESENCE, .key = key, .flag = 1});
	roundtrip(&(struct cn_link_msg){.type = CN_LINK_PRESENCE, .key = key, .flag = 0});
	roundtrip(&(struct cn_link_msg){.type = CN_LINK_WATCH, .flag = 1});
	roundtrip(&(struct cn_link_msg){.type = CN_LINK_LIST_CHUNK,
					.serial = 0x0102030405060708,
					.total = 5000,
					.offset = 4000,
					.data = pkt,
					.data_len = 1000});
	roundtrip(&(struct cn_link_msg){
		.type = CN_LINK_LIST_RESULT, .serial = 77, .flag = CN_LINK_LIST_OLDER});
	roundtrip(&(struct cn_link_msg){.type = CN_LINK_PING, .nonce = 0xdeadbeefcafef00d});
	roundtrip(&(struct cn_link_msg){.type = CN_LINK_PONG, .nonce = 1});
	roundtrip(&(struct cn_link_msg){.type = CN_LINK_HAVE_LIST, .serial = 42});
	roundtrip(&(struct cn_link_msg){.type = CN_LINK_BYE});
	roundtrip(&(struct cn_link_msg){.type = CN_LINK_PATH_CHALLENGE, .token = pkt});
	roundtrip(&(struct cn_link_msg){.type = CN_LINK_PATH_RESPONSE, .token = key});
}

static void test_encode_refusals(void **state)
{
	uint8_t buf[64];
	size_t len;

	(void)state;
	assert_int_equal(cn_link_encode(&(struct cn_link_msg){.type = CN_LINK_SEND,
							      .key = key,
							      .data = pkt,
							      .data_len = 0},
					buf, sizeof(buf), &len),
			 -CN_EINVAL);
	assert_int_equal(cn_link_encode(&(struct cn_link_msg){.type = CN_LINK_SEND,
							      .key = key,
							      .data = pkt,
							      .data_len = CN_LINK_PACKET_MAX + 1},
					buf, sizeof(buf), &len),
			 -CN_ETOOBIG);
	/* Output buffer too small. */
	assert_int_equal(cn_link_encode(&(struct cn_link_msg){.type = CN_LINK_SEND,
							      .key = key,
							      .data = pkt,
							      .data_len = 100},
					buf, sizeof(buf), &len),
			 -CN_ETOOBIG);
	assert_int_equal(cn_link_encode(&(struct cn_link_msg){.type = 0}, buf, sizeof(buf), &len),
			 -CN_EINVAL);
	/* A path challenge or response without its token. */
	assert_int_equal(cn_link_encode(&(struct cn_link_msg){.type = CN_LINK_PATH_CHALLENGE}, buf,
					sizeof(buf), &len),
			 -CN_EINVAL);
	assert_int_equal(cn_link_encode(&(struct cn_link_msg){.type = CN_LINK_PATH_RESPONSE}, buf,
					sizeof(buf), &len),
			 -CN_EINVAL);
	assert_int_equal(cn_link_encode(&(struct cn_link_msg){.type = CN_LINK_WATCH, .flag = 2},
					buf, sizeof(buf), &len),
			 -CN_EINVAL);
	assert_int_equal(cn_link_encode(&(struct cn_link_msg){.type = CN_LINK_LIST_CHUNK,
							      .total = 10,
							      .offset = 5,
							      .data = pkt,
							      .data_len = 6},
					buf, sizeof(buf), &len),
			 -CN_EINVAL);
}

static void test_decode_hostile(void **state)
{
	uint8_t buf[128] = {0};
	struct cn_link_msg m;

	(void)state;
	assert_int_equal(cn_link_decode(buf, 0, &m), -CN_ESHORT);
	/* Unknown types. */
	for (int t = 0; t < 256; t++) {
		if (t >= CN_LINK_SEND && t <= CN_LINK_PATH_RESPONSE)
			continue;
		buf[0] = (uint8_t)t;
		assert_int_equal(cn_link_decode(buf, 40, &m), -CN_EFORMAT);
	}
	/* SEND with a key and no packet. */
	memset(buf, 0, sizeof(buf));
	buf[0] = CN_LINK_SEND;
	assert_int_equal(cn_link_decode(buf, 33, &m), -CN_EFORMAT);
	/* PRESENCE / WATCH flags other than 0 and 1. */
	buf[0] = CN_LINK_PRESENCE;
	buf[33] = 2;
	assert_int_equal(cn_link_decode(buf, 34, &m), -CN_EFORMAT);
	buf[0] = CN_LINK_WATCH;
	buf[1] = 0xff;
	assert_int_equal(cn_link_decode(buf, 2, &m), -CN_EFORMAT);
	/* LIST_CHUNK: offset past total, data past total, zero total. */
	memset(buf, 0, sizeof(buf));
	buf[0] = CN_LINK_LIST_CHUNK;
	buf[12] = 10; /* total = 10 */
	buf[16] = 10; /* offset = 10 */
	assert_int_equal(cn_link_decode(buf, 18, &m), -CN_EFORMAT);
	buf[16] = 5;
	assert_int_equal(cn_link_decode(buf, 17 + 5, &m), 0);
	assert_int_equal(cn_link_decode(buf, 17 + 6, &m), -CN_EFORMAT);
	buf[12] = 0;
	buf[16] = 0;
	assert_int_equal(cn_link_decode(buf, 18, &m), -CN_EFORMAT);
	/* LIST_RESULT status out of range. */
	buf[0] = CN_LINK_LIST_RESULT;
	buf[9] = CN_LINK_LIST_TOOBIG + 1;
	assert_int_equal(cn_link_decode(buf, 10, &m), -CN_EFORMAT);
	/* Oversized input. */
	assert_int_equal(cn_link_decode(pkt, CN_LINK_MSG_MAX + 1, &m), -CN_ETOOBIG);
}

static void test_tcp_framing(void **state)
{
	uint8_t buf[8] = {0, 3, 'a', 'b', 'c', 0, 0, 9};
	const uint8_t *msg;
	size_t msg_len, used;
	uint8_t hdr[2];

	(void)state;
	assert_int_equal(cn_tcp_frame_next(buf, 0, 65535, &msg, &msg_len, &used), -CN_ESHORT);
	assert_int_equal(cn_tcp_frame_next(buf, 1, 65535, &msg, &msg_len, &used), -CN_ESHORT);
	assert_int_equal(cn_tcp_frame_next(buf, 4, 65535, &msg, &msg_len, &used), -CN_ESHORT);
	assert_int_equal(cn_tcp_frame_next(buf, 5, 65535, &msg, &msg_len, &used), 0);
	assert_int_equal(msg_len, 3);
	assert_int_equal(used, 5);
	assert_memory_equal(msg, "abc", 3);
	/* The next frame has length 0: refused, the connection is cut. */
	assert_int_equal(cn_tcp_frame_next(buf + 5, 3, 65535, &msg, &msg_len, &used), -CN_EFORMAT);
	/* Announced length over the cap. */
	assert_int_equal(cn_tcp_frame_next(buf, 5, 2, &msg, &msg_len, &used), -CN_ETOOBIG);
	assert_int_equal(cn_tcp_frame_header(300, hdr), 0);
	assert_int_equal(hdr[0], 1);
	assert_int_equal(hdr[1], 44);
	assert_int_equal(cn_tcp_frame_header(0, hdr), -CN_EINVAL);
	assert_int_equal(cn_tcp_frame_header(65536, hdr), -CN_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_all_types),
		cmocka_unit_test(test_encode_refusals),
		cmocka_unit_test(test_decode_hostile),
		cmocka_unit_test(test_tcp_framing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
