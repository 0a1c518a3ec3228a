/* SPDX-License-Identifier: MIT */
/*
 * PCP (RFC 6887) codec and epoch check, with hostile gateway answers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "nat/pcp.h"

static const uint8_t client4[4] = {192, 168, 1, 10};
static const uint8_t ext4[4] = {203, 0, 113, 10};

static struct cn_pcp_request sample_request(void)
{
	struct cn_pcp_request rq = {.opcode = CN_PCP_OP_MAP, .lifetime = 7200};

	cn_pcp_addr_from_v4(rq.client_ip, client4);
	for (int i = 0; i < CN_PCP_NONCE_LEN; i++)
		rq.map.nonce[i] = (uint8_t)(0xa0 + i);
	rq.map.protocol = 17;
	rq.map.internal_port = 41641;
	rq.map.external_port = 41641;
	cn_pcp_addr_from_v4(rq.map.external_ip, (const uint8_t[4]){0});
	return rq;
}

static size_t sample_response(uint8_t *buf, uint8_t result, uint32_t lifetime)
{
	struct cn_pcp_request rq = sample_request();
	struct cn_pcp_response rs = {.opcode = CN_PCP_OP_MAP,
				     .result = result,
				     .lifetime = lifetime,
				     .epoch = 1000,
				     .has_map = true,
				     .map = rq.map};
	size_t len = 0;

	cn_pcp_addr_from_v4(rs.map.external_ip, ext4);
	rs.map.external_port = 50000;
	assert_int_equal(cn_pcp_response_encode(&rs, buf, CN_PCP_MSG_MAX, &len), 0);
	assert_int_equal(len, CN_PCP_MAP_MSG_LEN);
	return len;
}

static void test_request(void **state)
{
	struct cn_pcp_request rq = sample_request(), back;
	uint8_t buf[CN_PCP_MSG_MAX + 4];
	size_t len = 0;

	(void)state;
	assert_int_equal(cn_pcp_request_encode(&rq, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, CN_PCP_MAP_MSG_LEN);
	/* Byte layout: version, opcode, lifetime, client IP, nonce, protocol, ports. */
	assert_int_equal(buf[0], 2);
	assert_int_equal(buf[1], 1);
	assert_int_equal(buf[4] << 24 | buf[5] << 16 | buf[6] << 8 | buf[7], 7200);
	assert_int_equal(buf[18], 0xff);
	assert_memory_equal(buf + 20, client4, 4);
	assert_int_equal(buf[24], 0xa0);
	assert_int_equal(buf[36], 17);
	assert_int_equal(buf[40] << 8 | buf[41], 41641);
	assert_int_equal(cn_pcp_request_decode(buf, len, &back), 0);
	assert_memory_equal(&back.map, &rq.map, sizeof(rq.map));
	assert_int_equal(back.lifetime, 7200);
	/* Short, long, unaligned, wrong version, R bit, ANNOUNCE. */
	for (size_t cut = 0; cut < len; cut++)
		assert_int_not_equal(cn_pcp_request_decode(buf, cut, &back), 0);
	assert_int_equal(cn_pcp_request_decode(buf, len + 1, &back), -CN_EFORMAT);
	buf[0] = 1;
	assert_int_equal(cn_pcp_request_decode(buf, len, &back), -CN_EFORMAT);
	buf[0] = 2;
	buf[1] = 0x81;
	assert_int_equal(cn_pcp_request_decode(buf, len, &back), -CN_EFORMAT);
	buf[1] = 0;
	assert_int_equal(cn_pcp_request_decode(buf, len, &back), -CN_EFORMAT);
	/* Encoder refusals. */
	rq.map.protocol = 0;
	assert_int_equal(cn_pcp_request_encode(&rq, buf, sizeof(buf), &len), -CN_EINVAL);
	rq = sample_request();
	rq.map.internal_port = 0;
	assert_int_equal(cn_pcp_request_encode(&rq, buf, sizeof(buf), &len), -CN_EINVAL);
	rq = sample_request();
	assert_int_equal(cn_pcp_request_encode(&rq, buf, 59, &len), -CN_ETOOBIG);
	assert_int_equal(len, 0);
}

static void test_response(void **state)
{
	uint8_t buf[CN_PCP_MSG_MAX + 8];
	struct cn_pcp_response rs;
	uint8_t v4[4];
	size_t len;

	(void)state;
	len = sample_response(buf, CN_PCP_SUCCESS, 3600);
	assert_int_equal(cn_pcp_response_decode(buf, len, &rs), 0);
	assert_int_equal(rs.opcode, CN_PCP_OP_MAP);
	assert_int_equal(rs.result, 0);
	assert_int_equal(rs.lifetime, 3600);
	assert_int_equal(rs.epoch, 1000);
	assert_true(rs.has_map);
	assert_int_equal(rs.map.external_port, 50000);
	assert_true(cn_pcp_addr_to_v4(rs.map.external_ip, v4));
	assert_memory_equal(v4, ext4, 4);
	/* Every strict prefix fails; any trailing byte fails. */
	for (size_t cut = 0; cut < len; cut++)
		assert_int_not_equal(cn_pcp_response_decode(buf, cut, &rs), 0);
	memset(buf + len, 0, 4);
	assert_int_equal(cn_pcp_response_decode(buf, len + 1, &rs), -CN_EFORMAT);
	assert_int_equal(cn_pcp_response_decode(buf, len + 2, &rs), -CN_EFORMAT);
	/* One option: 4 bytes header, 1 byte data padded to 4. */
	buf[len] = 0x80;
	buf[len + 3] = 1;
	assert_int_equal(cn_pcp_response_decode(buf, len + 8, &rs), 0);
	assert_int_equal(rs.n_options, 1);
	/* ... whose length overruns the message. */
	buf[len + 3] = 5;
	assert_int_equal(cn_pcp_response_decode(buf, len + 8, &rs), -CN_EFORMAT);
	/* Over 1100 bytes. */
	assert_int_equal(cn_pcp_response_decode(buf, CN_PCP_MSG_MAX + 4, &rs), -CN_ETOOBIG);
	/* Version 1, version 0 (a NAT-PMP gateway), R bit clear, opcode 2. */
	buf[0] = 1;
	assert_int_equal(cn_pcp_response_decode(buf, len, &rs), -CN_EFORMAT);
	buf[0] = 0;
	assert_int_equal(cn_pcp_response_decode(buf, len, &rs), -CN_EFORMAT);
	assert_true(cn_pcp_is_natpmp_reply(buf, 8));
	buf[0] = 2;
	assert_false(cn_pcp_is_natpmp_reply(buf, len));
	buf[1] = 0x01;
	assert_int_equal(cn_pcp_response_decode(buf, len, &rs), -CN_EFORMAT);
	buf[1] = 0x82;
	assert_int_equal(cn_pcp_response_decode(buf, len, &rs), -CN_EFORMAT);
	buf[1] = 0x81;
	/* A success without a body, or with half a body. */
	assert_int_equal(cn_pcp_response_decode(buf, CN_PCP_HDR_LEN, &rs), -CN_ESHORT);
	assert_int_equal(cn_pcp_response_decode(buf, CN_PCP_HDR_LEN + 16, &rs), -CN_ESHORT);
	/* An error may come with just the header; its result and lifetime count. */
	len = sample_response(buf, CN_PCP_NO_RESOURCES, 30);
	assert_int_equal(cn_pcp_response_decode(buf, CN_PCP_HDR_LEN, &rs), 0);
	assert_int_equal(rs.result, CN_PCP_NO_RESOURCES);
	assert_int_equal(rs.lifetime, 30);
	assert_false(rs.has_map);
	assert_int_equal(cn_pcp_response_decode(buf, len, &rs), 0);
	assert_true(rs.has_map);
	/* ... but not with part of one. */
	assert_int_equal(cn_pcp_response_decode(buf, CN_PCP_HDR_LEN + 16, &rs), -CN_EFORMAT);
	/* Unknown result codes decode (the caller treats them as failures). */
	len = sample_response(buf, 200, 0);
	assert_int_equal(cn_pcp_response_decode(buf, len, &rs), 0);
	assert_int_equal(rs.result, 200);
	/* A success naming protocol 0 or internal port 0 is nonsense. */
	len = sample_response(buf, CN_PCP_SUCCESS, 10);
	buf[CN_PCP_HDR_LEN + 12] = 0;
	assert_int_equal(cn_pcp_response_decode(buf, len, &rs), -CN_EFORMAT);
	/* Not an IPv4-mapped address. */
	memset(v4, 0, sizeof(v4));
	assert_false(cn_pcp_addr_to_v4((const uint8_t[16]){0x20, 0x01, 0x0d, 0xb8}, v4));
}

static void test_announce(void **state)
{
	struct cn_pcp_response rs = {.opcode = CN_PCP_OP_ANNOUNCE, .epoch = 0};
	uint8_t buf[64];
	size_t len = 0;

	(void)state;
	assert_int_equal(cn_pcp_response_encode(&rs, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, CN_PCP_HDR_LEN);
	assert_int_equal(buf[1], 0x80);
	assert_int_equal(cn_pcp_response_decode(buf, len, &rs), 0);
	assert_int_equal(rs.opcode, CN_PCP_OP_ANNOUNCE);
	assert_int_equal(rs.epoch, 0);
	/* ANNOUNCE with 36 stray bytes is a malformed option area. */
	memset(buf + len, 0, 36);
	assert_int_equal(cn_pcp_response_decode(buf, len + 36, &rs), 0); /* 9 empty options */
	assert_int_equal(rs.n_options, 9);
	buf[len + 3] = 200;
	assert_int_equal(cn_pcp_response_decode(buf, len + 36, &rs), -CN_EFORMAT);
	/* The encoder refuses a body on ANNOUNCE and an unknown opcode. */
	rs = (struct cn_pcp_response){.opcode = CN_PCP_OP_ANNOUNCE, .has_map = true};
	assert_int_equal(cn_pcp_response_encode(&rs, buf, sizeof(buf), &len), -CN_EINVAL);
	rs = (struct cn_pcp_response){.opcode = 5};
	assert_int_equal(cn_pcp_response_encode(&rs, buf, sizeof(buf), &len), -CN_EINVAL);
	rs = (struct cn_pcp_response){.opcode = CN_PCP_OP_MAP, .result = 0};
	assert_int_equal(cn_pcp_response_encode(&rs, buf, sizeof(buf), &len), -CN_EINVAL);
}

static void test_epoch(void **state)
{
	struct cn_pcp_epoch e = {0};

	(void)state;
	assert_true(cn_pcp_epoch_update(&e, 5000, 100));  /* first: valid */
	assert_true(cn_pcp_epoch_update(&e, 5010, 110));  /* in step */
	assert_true(cn_pcp_epoch_update(&e, 5009, 110));  /* back 1 s: delay */
	assert_false(cn_pcp_epoch_update(&e, 5007, 110)); /* back 2 s: rebooted */
	/* Rebooted 57 s into a 60 s gap: its epoch grew by 3 s only. */
	e = (struct cn_pcp_epoch){0};
	assert_true(cn_pcp_epoch_update(&e, 100, 200));
	assert_false(cn_pcp_epoch_update(&e, 103, 260));
	/* Server clock within 1/16 of the client's: fine; beyond: state lost. */
	e = (struct cn_pcp_epoch){0};
	assert_true(cn_pcp_epoch_update(&e, 1000, 300));
	assert_true(cn_pcp_epoch_update(&e, 1000 + 3800, 300 + 3600));
	assert_false(cn_pcp_epoch_update(&e, 4800 + 3900, 3900 + 3600));
	e = (struct cn_pcp_epoch){0};
	assert_true(cn_pcp_epoch_update(&e, 9000, 8000));
	assert_false(cn_pcp_epoch_update(&e, 9000 + 10, 8000 + 100));
	/* Epoch 0 after a long run: the ANNOUNCE a restarted server multicasts. */
	e = (struct cn_pcp_epoch){0};
	assert_true(cn_pcp_epoch_update(&e, 50000, 9000));
	assert_false(cn_pcp_epoch_update(&e, 0, 9001));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request),
		cmocka_unit_test(test_response),
		cmocka_unit_test(test_announce),
		cmocka_unit_test(test_epoch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
