/* SPDX-License-Identifier: MIT */
/*
 * NAT-PMP (RFC 6886) codec, with hostile gateway answers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "nat/natpmp.h"

static void test_requests(void **state)
{
	struct cn_natpmp_request rq = {.opcode = CN_NATPMP_OP_MAP_UDP,
				       .internal_port = 41641,
				       .suggested_port = 41642,
				       .lifetime = 7200},
				 back;
	static const uint8_t want[12] = {0, 1, 0, 0, 0xa2, 0xa9, 0xa2, 0xaa, 0, 0, 0x1c, 0x20};
	uint8_t buf[32];
	size_t len = 0;

	(void)state;
	assert_int_equal(cn_natpmp_request_encode(&rq, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, 12);
	assert_memory_equal(buf, want, 12);
	assert_int_equal(cn_natpmp_request_decode(buf, len, &back), 0);
	assert_int_equal(back.opcode, rq.opcode);
	assert_int_equal(back.internal_port, 41641);
	assert_int_equal(back.suggested_port, 41642);
	assert_int_equal(back.lifetime, 7200);
	for (size_t cut = 0; cut < len; cut++)
		assert_int_not_equal(cn_natpmp_request_decode(buf, cut, &back), 0);
	assert_int_equal(cn_natpmp_request_decode(buf, len + 1, &back), -CN_EFORMAT);
	buf[2] = 1; /* reserved */
	assert_int_equal(cn_natpmp_request_decode(buf, len, &back), -CN_EFORMAT);
	buf[2] = 0;
	buf[0] = 2;
	assert_int_equal(cn_natpmp_request_decode(buf, len, &back), -CN_EFORMAT);
	buf[0] = 0;
	buf[1] = 3;
	assert_int_equal(cn_natpmp_request_decode(buf, len, &back), -CN_EFORMAT);
	/* External address request: exactly two bytes. */
	rq = (struct cn_natpmp_request){.opcode = CN_NATPMP_OP_ADDR};
	assert_int_equal(cn_natpmp_request_encode(&rq, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, 2);
	assert_int_equal(buf[0], 0);
	assert_int_equal(buf[1], 0);
	assert_int_equal(cn_natpmp_request_decode(buf, 2, &back), 0);
	assert_int_equal(cn_natpmp_request_decode(buf, 3, &back), -CN_EFORMAT);
	assert_int_equal(cn_natpmp_request_decode(buf, 1, &back), -CN_ESHORT);
	/* Encoder refusals. */
	rq = (struct cn_natpmp_request){.opcode = CN_NATPMP_OP_MAP_UDP};
	assert_int_equal(cn_natpmp_request_encode(&rq, buf, sizeof(buf), &len), -CN_EINVAL);
	rq = (struct cn_natpmp_request){.opcode = 7, .internal_port = 1};
	assert_int_equal(cn_natpmp_request_encode(&rq, buf, sizeof(buf), &len), -CN_EINVAL);
	rq = (struct cn_natpmp_request){.opcode = CN_NATPMP_OP_MAP_UDP, .internal_port = 1};
	assert_int_equal(cn_natpmp_request_encode(&rq, buf, 11, &len), -CN_ETOOBIG);
	assert_int_equal(len, 0);
}

static void test_responses(void **state)
{
	struct cn_natpmp_response rs = {.opcode = CN_NATPMP_OP_MAP_UDP,
					.epoch = 77,
					.full = true,
					.internal_port = 41641,
					.external_port = 50000,
					.lifetime = 3600},
				  back;
	uint8_t buf[32];
	size_t len = 0;

	(void)state;
	assert_int_equal(cn_natpmp_response_encode(&rs, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, 16);
	assert_int_equal(buf[1], 129);
	assert_int_equal(cn_natpmp_response_decode(buf, len, &back), 0);
	assert_int_equal(back.opcode, CN_NATPMP_OP_MAP_UDP);
	assert_int_equal(back.result, 0);
	assert_int_equal(back.epoch, 77);
	assert_true(back.full);
	assert_int_equal(back.internal_port, 41641);
	assert_int_equal(back.external_port, 50000);
	assert_int_equal(back.lifetime, 3600);
	/* Short of the full form (but not the 8-byte error form), trailing bytes. */
	for (size_t cut = 0; cut < len; cut++)
		assert_int_not_equal(cn_natpmp_response_decode(buf, cut, &back), 0);
	assert_int_equal(cn_natpmp_response_decode(buf, 17, &back), -CN_EFORMAT);
	/* A success cut to 8 bytes is not an error response. */
	assert_int_equal(cn_natpmp_response_decode(buf, 8, &back), -CN_ESHORT);
	/* Version, request opcode (no 128 bit), unknown opcode. */
	buf[0] = 2;
	assert_int_equal(cn_natpmp_response_decode(buf, len, &back), -CN_EFORMAT);
	buf[0] = 0;
	buf[1] = 1;
	assert_int_equal(cn_natpmp_response_decode(buf, len, &back), -CN_EFORMAT);
	buf[1] = 131;
	assert_int_equal(cn_natpmp_response_decode(buf, len, &back), -CN_EFORMAT);
	buf[1] = 129;
	/* A success naming internal port 0. */
	buf[8] = buf[9] = 0;
	assert_int_equal(cn_natpmp_response_decode(buf, len, &back), -CN_EFORMAT);
	/* Errors: 8-byte form and full form both decode, result kept. */
	rs = (struct cn_natpmp_response){
		.opcode = CN_NATPMP_OP_MAP_UDP, .result = CN_NATPMP_REFUSED, .epoch = 5};
	assert_int_equal(cn_natpmp_response_encode(&rs, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, 8);
	assert_int_equal(cn_natpmp_response_decode(buf, len, &back), 0);
	assert_int_equal(back.result, CN_NATPMP_REFUSED);
	assert_false(back.full);
	assert_int_equal(cn_natpmp_response_decode(buf, 9, &back), -CN_ESHORT);
	memset(buf + 8, 0, 8);
	assert_int_equal(cn_natpmp_response_decode(buf, 16, &back), 0);
	assert_true(back.full);
	/* External address. */
	rs = (struct cn_natpmp_response){.opcode = CN_NATPMP_OP_ADDR,
					 .epoch = 9,
					 .full = true,
					 .external_ip = {203, 0, 113, 10}};
	assert_int_equal(cn_natpmp_response_encode(&rs, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, 12);
	assert_int_equal(buf[1], 128);
	assert_int_equal(cn_natpmp_response_decode(buf, len, &back), 0);
	assert_memory_equal(back.external_ip, rs.external_ip, 4);
	assert_int_equal(cn_natpmp_response_decode(buf, 16, &back), -CN_EFORMAT);
	assert_int_equal(cn_natpmp_response_decode(buf, 11, &back), -CN_ESHORT);
	/* Encoder: a success needs its body. */
	rs = (struct cn_natpmp_response){.opcode = CN_NATPMP_OP_ADDR};
	assert_int_equal(cn_natpmp_response_encode(&rs, buf, sizeof(buf), &len), -CN_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_responses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
