/* SPDX-License-Identifier: MIT */
/*
 * Node-to-node control messages, with hostile input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "node/ctlmsg.h"

static const char sdp[] = "v=0\r\nm=- 9 ICE/SDP\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:abcd\r\n"
			  "a=ice-pwd:0123456789abcdef012345\r\na=candidate:1 1 UDP 2013266431 "
			  "192.0.2.1 40000 typ host\r\n";

static void roundtrip(const struct cn_ctl_msg *in)
{
	uint8_t buf[CN_CTL_MSG_MAX];
	struct cn_ctl_msg out;
	size_t len = 0;

	assert_int_equal(cn_ctl_encode(in, buf, sizeof(buf), &len), 0);
	assert_true(cn_ctl_is_control(buf, len));
	assert_int_equal(cn_ctl_decode(buf, len, &out), 0);
	assert_int_equal(out.type, in->type);
	assert_int_equal(out.gen, in->gen);
	assert_int_equal(out.seen, in->seen);
	assert_int_equal(out.id, in->id);
	assert_int_equal(out.path, in->path);
	assert_int_equal(out.sdp_len, in->sdp_len);
	if (in->sdp_len)
		assert_memory_equal(out.sdp, in->sdp, in->sdp_len);
	/* Every strict prefix of a fixed-size message is refused. */
	if (in->type != CN_CTL_ICE_SDP)
		for (size_t cut = 0; cut < len; cut++)
			assert_int_not_equal(cn_ctl_decode(buf, cut, &out), 0);
	/* One byte more is refused for fixed-size messages. */
	if (in->type != CN_CTL_ICE_SDP) {
		buf[len] = 0;
		assert_int_equal(cn_ctl_decode(buf, len + 1, &out), -CN_EFORMAT);
	}
}

static void test_roundtrips(void **state)
{
	(void)state;
	roundtrip(&(struct cn_ctl_msg){
		.type = CN_CTL_ICE_SDP, .gen = 7, .seen = 0, .sdp = sdp, .sdp_len = strlen(sdp)});
	roundtrip(&(struct cn_ctl_msg){
		.type = CN_CTL_ICE_SDP, .gen = 0xffffffff, .seen = 9, .sdp = "x", .sdp_len = 1});
	roundtrip(&(struct cn_ctl_msg){.type = CN_CTL_PROBE, .id = 0x0102030405060708});
	roundtrip(&(struct cn_ctl_msg){
		.type = CN_CTL_PROBE_REPLY, .id = 3, .path = CN_CTL_PATH_DIRECT});
	roundtrip(&(struct cn_ctl_msg){
		.type = CN_CTL_PROBE_REPLY, .id = 3, .path = CN_CTL_PATH_TURN});
	roundtrip(&(struct cn_ctl_msg){.type = CN_CTL_ICE_DONE, .gen = 77});
}

static void test_hostile(void **state)
{
	uint8_t buf[CN_CTL_MSG_MAX + 8];
	struct cn_ctl_msg m;
	size_t len;

	(void)state;
	/* An IP packet is not control; empty is a keepalive, not control. */
	buf[0] = 0x45;
	assert_false(cn_ctl_is_control(buf, 20));
	buf[0] = 0x60;
	assert_false(cn_ctl_is_control(buf, 40));
	assert_false(cn_ctl_is_control(buf, 0));
	assert_int_equal(cn_ctl_decode(buf, 0, &m), -CN_ESHORT);
	/* Unknown types. */
	for (int t = 0; t < 0x40; t++) {
		if (t >= CN_CTL_ICE_SDP && t <= CN_CTL_ICE_DONE)
			continue;
		memset(buf, 0, 20);
		buf[0] = (uint8_t)t;
		assert_int_equal(cn_ctl_decode(buf, 10, &m), -CN_EFORMAT);
	}
	/* SDP: gen 0, empty, control bytes, 8-bit bytes, oversized. */
	memset(buf, 0, sizeof(buf));
	buf[0] = CN_CTL_ICE_SDP;
	buf[4] = 1;
	memcpy(buf + 9, "abc", 3);
	assert_int_equal(cn_ctl_decode(buf, 12, &m), 0);
	buf[4] = 0;
	assert_int_equal(cn_ctl_decode(buf, 12, &m), -CN_EFORMAT);
	buf[4] = 1;
	assert_int_equal(cn_ctl_decode(buf, 9, &m), -CN_EFORMAT);
	buf[10] = 0x01;
	assert_int_equal(cn_ctl_decode(buf, 12, &m), -CN_EFORMAT);
	buf[10] = 0xc3;
	assert_int_equal(cn_ctl_decode(buf, 12, &m), -CN_EFORMAT);
	memset(buf + 9, 'a', CN_CTL_SDP_MAX + 1);
	assert_int_equal(cn_ctl_decode(buf, 9 + CN_CTL_SDP_MAX, &m), 0);
	assert_int_equal(cn_ctl_decode(buf, 9 + CN_CTL_SDP_MAX + 1, &m), -CN_ETOOBIG);
	/* PROBE_REPLY with an unknown path. */
	memset(buf, 0, 10);
	buf[0] = CN_CTL_PROBE_REPLY;
	buf[9] = 3;
	assert_int_equal(cn_ctl_decode(buf, 10, &m), -CN_EFORMAT);
	/* ICE_DONE of gen 0 names no agent. */
	memset(buf, 0, 5);
	buf[0] = CN_CTL_ICE_DONE;
	assert_int_equal(cn_ctl_decode(buf, 5, &m), -CN_EFORMAT);
	/* Encoder refusals. */
	assert_int_equal(cn_ctl_encode(&(struct cn_ctl_msg){.type = CN_CTL_ICE_SDP,
							    .gen = 0,
							    .sdp = "a",
							    .sdp_len = 1},
				       buf, sizeof(buf), &len),
			 -CN_EINVAL);
	assert_int_equal(cn_ctl_encode(&(struct cn_ctl_msg){.type = CN_CTL_ICE_SDP,
							    .gen = 1,
							    .sdp = "a\001",
							    .sdp_len = 2},
				       buf, sizeof(buf), &len),
			 -CN_EINVAL);
	assert_int_equal(cn_ctl_encode(&(struct cn_ctl_msg){.type = CN_CTL_PROBE}, buf, 5, &len),
			 -CN_ETOOBIG);
	assert_int_equal(cn_ctl_encode(&(struct cn_ctl_msg){.type = 9}, buf, sizeof(buf), &len),
			 -CN_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrips),
		cmocka_unit_test(test_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
