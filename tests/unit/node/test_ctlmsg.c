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
	assert_int_equal(out.cand, in->cand);
	assert_int_equal(out.addr_len, in->addr_len);
	assert_memory_equal(out.addr, in->addr, sizeof(in->addr));
	assert_int_equal(out.port, in->port);
	assert_int_equal(out.token, in->token);
	assert_int_equal(out.seq, in->seq);
	assert_int_equal(out.sockets, in->sockets);
	assert_int_equal(out.port_lo, in->port_lo);
	assert_int_equal(out.port_hi, in->port_hi);
	assert_int_equal(out.rate, in->rate);
	assert_int_equal(out.duration_ms, in->duration_ms);
	assert_int_equal(out.pmtu_id, in->pmtu_id);
	assert_int_equal(out.size, in->size);
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
	roundtrip(&(struct cn_ctl_msg){.type = CN_CTL_CANDIDATE,
				       .cand = CN_CTL_CAND_PCP,
				       .port = 50000,
				       .addr = {203, 0, 113, 10},
				       .addr_len = 4});
	roundtrip(&(struct cn_ctl_msg){.type = CN_CTL_CANDIDATE,
				       .cand = CN_CTL_CAND_UPNP,
				       .port = 1,
				       .addr = {0x20, 0x01, 0x0d, 0xb8, [15] = 1},
				       .addr_len = 16});
	roundtrip(&(struct cn_ctl_msg){.type = CN_CTL_BDAY_HARD,
				       .token = 0x1122334455667788,
				       .sockets = 256,
				       .port_lo = 1024,
				       .port_hi = 65535,
				       .rate = 100,
				       .duration_ms = 30000,
				       .addr = {198, 51, 100, 20},
				       .addr_len = 4});
	roundtrip(&(struct cn_ctl_msg){
		.type = CN_CTL_BDAY_PROBE, .token = 9, .seq = 0, .port = 40000});
	roundtrip(&(struct cn_ctl_msg){
		.type = CN_CTL_BDAY_ACK, .token = 9, .seq = 0xffffffff, .port = 65535});
	roundtrip(&(struct cn_ctl_msg){.type = CN_CTL_PMTU_PROBE, .pmtu_id = 5, .size = 7});
	roundtrip(&(struct cn_ctl_msg){.type = CN_CTL_PMTU_PROBE, .pmtu_id = 6, .size = 1400});
	roundtrip(&(struct cn_ctl_msg){
		.type = CN_CTL_PMTU_PROBE, .pmtu_id = 7, .size = CN_CTL_MSG_MAX - 1});
	roundtrip(&(struct cn_ctl_msg){.type = CN_CTL_PMTU_ACK, .pmtu_id = 6, .size = 1400});
}

/* A BDAY_HARD body with every field set from arguments, address 192.0.2.7. */
static size_t bday_hard(uint8_t *b, uint64_t token, uint16_t sockets, uint16_t lo, uint16_t hi,
			uint16_t rate, uint32_t dur)
{
	size_t n = 0;

	b[n++] = CN_CTL_BDAY_HARD;
	for (int i = 7; i >= 0; i--)
		b[n++] = (uint8_t)(token >> (8 * i));
	b[n++] = (uint8_t)(sockets >> 8), b[n++] = (uint8_t)sockets;
	b[n++] = (uint8_t)(lo >> 8), b[n++] = (uint8_t)lo;
	b[n++] = (uint8_t)(hi >> 8), b[n++] = (uint8_t)hi;
	b[n++] = (uint8_t)(rate >> 8), b[n++] = (uint8_t)rate;
	for (int i = 3; i >= 0; i--)
		b[n++] = (uint8_t)(dur >> (8 * i));
	b[n++] = 4;
	b[n++] = 192, b[n++] = 0, b[n++] = 2, b[n++] = 7;
	return n;
}

static void test_hostile_new(void **state)
{
	uint8_t buf[CN_CTL_MSG_MAX + 8];
	struct cn_ctl_msg m;
	size_t len;

	(void)state;
	/* CANDIDATE: kinds 0 and 5, port 0, 0.0.0.0, multicast, ::, ff02::1, odd lengths. */
	uint8_t cand[] = {CN_CTL_CANDIDATE, CN_CTL_CAND_NATPMP, 0xc3, 0x50, 4, 203, 0, 113, 10};
	memcpy(buf, cand, sizeof(cand));
	assert_int_equal(cn_ctl_decode(buf, 9, &m), 0);
	assert_int_equal(m.cand, CN_CTL_CAND_NATPMP);
	assert_int_equal(m.port, 50000);
	buf[1] = 0;
	assert_int_equal(cn_ctl_decode(buf, 9, &m), -CN_EFORMAT);
	buf[1] = CN_CTL_CAND_REFLEXIVE;
	assert_int_equal(cn_ctl_decode(buf, 9, &m), 0);
	buf[1] = CN_CTL_CAND_REFLEXIVE + 1;
	assert_int_equal(cn_ctl_decode(buf, 9, &m), -CN_EFORMAT);
	buf[1] = 1;
	buf[2] = buf[3] = 0;
	assert_int_equal(cn_ctl_decode(buf, 9, &m), -CN_EFORMAT);
	memcpy(buf, cand, sizeof(cand));
	buf[4] = 5; /* family */
	assert_int_equal(cn_ctl_decode(buf, 9, &m), -CN_EFORMAT);
	buf[4] = 6; /* says IPv6, has 4 bytes */
	assert_int_equal(cn_ctl_decode(buf, 9, &m), -CN_ESHORT);
	buf[4] = 4;
	memset(buf + 5, 0, 4);
	assert_int_equal(cn_ctl_decode(buf, 9, &m), -CN_EFORMAT);
	buf[5] = 224;
	assert_int_equal(cn_ctl_decode(buf, 9, &m), -CN_EFORMAT);
	buf[4] = 6;
	memset(buf + 5, 0, 16);
	assert_int_equal(cn_ctl_decode(buf, 21, &m), -CN_EFORMAT);
	buf[5] = 0xff, buf[6] = 0x02, buf[20] = 1;
	assert_int_equal(cn_ctl_decode(buf, 21, &m), -CN_EFORMAT);
	buf[5] = 0x20;
	assert_int_equal(cn_ctl_decode(buf, 21, &m), 0);
	assert_int_equal(m.addr_len, 16);
	for (size_t n = 0; n < 24; n++)
		if (n != 21)
			assert_int_not_equal(cn_ctl_decode(buf, n, &m), 0);
	/* BDAY_HARD: each bound, just inside and just outside. */
	len = bday_hard(buf, 1, 256, 1024, 65535, 100, 30000);
	assert_int_equal(len, 26);
	assert_int_equal(cn_ctl_decode(buf, len, &m), 0);
	assert_int_equal(cn_ctl_decode(buf, bday_hard(buf, 0, 256, 1024, 65535, 100, 30000), &m),
			 -CN_EFORMAT);
	assert_int_equal(cn_ctl_decode(buf, bday_hard(buf, 1, 0, 1024, 65535, 100, 30000), &m),
			 -CN_EFORMAT);
	assert_int_equal(cn_ctl_decode(buf,
				       bday_hard(buf, 1, CN_CTL_BDAY_SOCKETS_MAX, 1, 1,
						 CN_CTL_BDAY_RATE_MAX, CN_CTL_BDAY_DURATION_MAX),
				       &m),
			 0);
	assert_int_equal(
		cn_ctl_decode(buf, bday_hard(buf, 1, CN_CTL_BDAY_SOCKETS_MAX + 1, 1, 1, 1, 1), &m),
		-CN_EFORMAT);
	assert_int_equal(cn_ctl_decode(buf, bday_hard(buf, 1, 1, 0, 1, 1, 1), &m), -CN_EFORMAT);
	assert_int_equal(cn_ctl_decode(buf, bday_hard(buf, 1, 1, 2, 1, 1, 1), &m), -CN_EFORMAT);
	assert_int_equal(cn_ctl_decode(buf, bday_hard(buf, 1, 1, 1, 1, 0, 1), &m), -CN_EFORMAT);
	assert_int_equal(
		cn_ctl_decode(buf, bday_hard(buf, 1, 1, 1, 1, CN_CTL_BDAY_RATE_MAX + 1, 1), &m),
		-CN_EFORMAT);
	assert_int_equal(cn_ctl_decode(buf, bday_hard(buf, 1, 1, 1, 1, 1, 0), &m), -CN_EFORMAT);
	assert_int_equal(
		cn_ctl_decode(buf, bday_hard(buf, 1, 1, 1, 1, 1, CN_CTL_BDAY_DURATION_MAX + 1), &m),
		-CN_EFORMAT);
	/* BDAY_PROBE/ACK: token 0, port 0. */
	memset(buf, 0, 15);
	buf[0] = CN_CTL_BDAY_PROBE;
	buf[14] = 1;
	assert_int_equal(cn_ctl_decode(buf, 15, &m), -CN_EFORMAT);
	buf[8] = 1;
	assert_int_equal(cn_ctl_decode(buf, 15, &m), 0);
	buf[14] = 0;
	assert_int_equal(cn_ctl_decode(buf, 15, &m), -CN_EFORMAT);
	/* PMTU_PROBE: size field not the length, non-zero padding, too short. */
	assert_int_equal(
		cn_ctl_encode(
			&(struct cn_ctl_msg){.type = CN_CTL_PMTU_PROBE, .pmtu_id = 1, .size = 100},
			buf, sizeof(buf), &len),
		0);
	assert_int_equal(len, 100);
	assert_int_equal(cn_ctl_decode(buf, 99, &m), -CN_EFORMAT);
	buf[50] = 1;
	assert_int_equal(cn_ctl_decode(buf, 100, &m), -CN_EFORMAT);
	assert_int_equal(cn_ctl_decode(buf, 6, &m), -CN_ESHORT);
	/* PMTU_ACK naming an impossible size. */
	uint8_t ack[] = {CN_CTL_PMTU_ACK, 0, 0, 0, 1, 0, 6};
	assert_int_equal(cn_ctl_decode(ack, sizeof(ack), &m), -CN_EFORMAT);
	ack[5] = 0xff;
	assert_int_equal(cn_ctl_decode(ack, sizeof(ack), &m), -CN_EFORMAT);
	/* Encoder refusals. */
	assert_int_equal(cn_ctl_encode(&(struct cn_ctl_msg){.type = CN_CTL_CANDIDATE,
							    .cand = CN_CTL_CAND_PCP,
							    .port = 1,
							    .addr_len = 4},
				       buf, sizeof(buf), &len),
			 -CN_EINVAL);
	assert_int_equal(cn_ctl_encode(&(struct cn_ctl_msg){.type = CN_CTL_CANDIDATE,
							    .cand = CN_CTL_CAND_PCP,
							    .port = 1,
							    .addr = {1},
							    .addr_len = 5},
				       buf, sizeof(buf), &len),
			 -CN_EINVAL);
	assert_int_equal(cn_ctl_encode(&(struct cn_ctl_msg){.type = CN_CTL_BDAY_HARD,
							    .token = 1,
							    .sockets = 1,
							    .port_lo = 1,
							    .port_hi = 1,
							    .rate = 1,
							    .duration_ms = 1,
							    .addr_len = 4},
				       buf, sizeof(buf), &len),
			 -CN_EINVAL);
	assert_int_equal(cn_ctl_encode(&(struct cn_ctl_msg){.type = CN_CTL_BDAY_ACK, .port = 1},
				       buf, sizeof(buf), &len),
			 -CN_EINVAL);
	assert_int_equal(cn_ctl_encode(&(struct cn_ctl_msg){.type = CN_CTL_PMTU_PROBE, .size = 6},
				       buf, sizeof(buf), &len),
			 -CN_EINVAL);
	assert_int_equal(cn_ctl_encode(&(struct cn_ctl_msg){.type = CN_CTL_PMTU_PROBE,
							    .size = CN_CTL_MSG_MAX + 1},
				       buf, sizeof(buf), &len),
			 -CN_EINVAL);
	assert_int_equal(
		cn_ctl_encode(&(struct cn_ctl_msg){.type = CN_CTL_PMTU_PROBE, .size = 1400}, buf,
			      1399, &len),
		-CN_ETOOBIG);
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
		if (t >= CN_CTL_ICE_SDP && t <= CN_CTL_TYPE_LAST)
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
		cmocka_unit_test(test_hostile_new),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
