/* SPDX-License-Identifier: MIT */
/*
 * The deploy wire codec: every message round trips, frames are peeked
 * correctly from a stream, and malformed payloads (short, long, bad
 * fields, trailing bytes, lengths over the caps) are refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "deploy/proto.h"

static uint8_t frame[CN_DPROTO_FRAME_MAX];

/* Peeks a frame, checks its type, and returns its payload length. */
static size_t peeked(size_t len, uint8_t want_type)
{
	uint8_t type;
	size_t plen;

	assert_int_equal(cn_dproto_peek(frame, len, &type, &plen), 0);
	assert_int_equal(type, want_type);
	assert_int_equal(plen + CN_DPROTO_HDR, len);
	/* Any shorter prefix asks for more. */
	for (size_t n = 0; n < len; n += (len / 7) + 1)
		assert_int_equal(cn_dproto_peek(frame, n, &type, &plen), -CN_ESHORT);
	return plen;
}

static void test_push(void **state)
{
	uint8_t man[100];
	struct cn_dproto_push p = {.activate = true, .manifest = man, .manifest_len = sizeof(man)},
			      got;
	size_t len, plen;

	(void)state;
	memset(man, 0xab, sizeof(man));
	assert_int_equal(cn_dproto_push_encode(&p, frame, sizeof(frame), &len), 0);
	plen = peeked(len, CN_DPROTO_PUSH);
	assert_int_equal(cn_dproto_push_decode(frame + CN_DPROTO_HDR, plen, &got), 0);
	assert_true(got.activate);
	assert_int_equal(got.manifest_len, sizeof(man));
	assert_memory_equal(got.manifest, man, sizeof(man));
	/* Truncated, trailing, bad version, unknown flag, zero manifest. */
	for (size_t n = 0; n < plen; n++)
		assert_int_not_equal(cn_dproto_push_decode(frame + CN_DPROTO_HDR, n, &got), 0);
	assert_int_equal(cn_dproto_push_decode(frame + CN_DPROTO_HDR, plen + 1, &got), -CN_EFORMAT);
	frame[CN_DPROTO_HDR] = 2;
	assert_int_equal(cn_dproto_push_decode(frame + CN_DPROTO_HDR, plen, &got), -CN_EFORMAT);
	frame[CN_DPROTO_HDR] = 1;
	frame[CN_DPROTO_HDR + 1] = 3;
	assert_int_equal(cn_dproto_push_decode(frame + CN_DPROTO_HDR, plen, &got), -CN_EFORMAT);
	p.manifest_len = 0;
	assert_int_equal(cn_dproto_push_encode(&p, frame, sizeof(frame), &len), -CN_EINVAL);
	p.manifest_len = CN_DEPLOY_MANIFEST_MAX + 1;
	assert_int_equal(cn_dproto_push_encode(&p, frame, sizeof(frame), &len), -CN_EINVAL);
	p.manifest_len = 10;
	assert_int_equal(cn_dproto_push_encode(&p, frame, 10, &len), -CN_ETOOBIG);
}

static void test_accept_data(void **state)
{
	uint64_t off;
	size_t len, plen;
	uint8_t type;

	(void)state;
	assert_int_equal(cn_dproto_accept_encode(0x0102030405060708ull, frame, sizeof(frame), &len),
			 0);
	plen = peeked(len, CN_DPROTO_ACCEPT);
	assert_int_equal(cn_dproto_accept_decode(frame + CN_DPROTO_HDR, plen, &off), 0);
	assert_true(off == 0x0102030405060708ull);
	assert_int_equal(cn_dproto_accept_decode(frame + CN_DPROTO_HDR, 7, &off), -CN_ESHORT);
	assert_int_equal(cn_dproto_accept_decode(frame + CN_DPROTO_HDR, 9, &off), -CN_EFORMAT);
	/* ACCEPT's length is fixed; DATA's is capped; unknown types refused. */
	cn_dproto_header(frame, CN_DPROTO_ACCEPT, 9);
	assert_int_equal(cn_dproto_peek(frame, 20, &type, &plen), -CN_ETOOBIG);
	cn_dproto_header(frame, CN_DPROTO_DATA, CN_DPROTO_DATA_MAX);
	assert_int_equal(cn_dproto_peek(frame, CN_DPROTO_HDR + CN_DPROTO_DATA_MAX, &type, &plen),
			 0);
	cn_dproto_header(frame, CN_DPROTO_DATA, CN_DPROTO_DATA_MAX + 1);
	assert_int_equal(cn_dproto_peek(frame, 5, &type, &plen), -CN_ETOOBIG);
	cn_dproto_header(frame, CN_DPROTO_DATA, 0xffffffffu);
	assert_int_equal(cn_dproto_peek(frame, 5, &type, &plen), -CN_ETOOBIG);
	cn_dproto_header(frame, 0, 1);
	assert_int_equal(cn_dproto_peek(frame, 6, &type, &plen), -CN_EFORMAT);
	cn_dproto_header(frame, 99, 1);
	assert_int_equal(cn_dproto_peek(frame, 6, &type, &plen), -CN_EFORMAT);
}

static void test_result(void **state)
{
	static struct cn_dproto_result r, got;
	size_t len, plen;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.status = CN_DSTATUS_HOOK;
	r.hook_ran = true;
	r.hook_exit = -3;
	cn_dproto_result_set_msg(&r, "hook failed\n\x01 badly");
	assert_string_equal(r.msg, "hook failed?? badly");
	r.tail_len = CN_DPROTO_TAIL_MAX;
	memset(r.tail, '\n', r.tail_len);
	assert_int_equal(cn_dproto_result_encode(&r, frame, sizeof(frame), &len), 0);
	plen = peeked(len, CN_DPROTO_RESULT);
	assert_int_equal(cn_dproto_result_decode(frame + CN_DPROTO_HDR, plen, &got), 0);
	assert_int_equal(got.status, CN_DSTATUS_HOOK);
	assert_true(got.hook_ran);
	assert_int_equal(got.hook_exit, -3);
	assert_string_equal(got.msg, r.msg);
	assert_int_equal(got.tail_len, r.tail_len);
	assert_memory_equal(got.tail, r.tail, r.tail_len);
	for (size_t n = 0; n < plen; n += 97)
		assert_int_not_equal(cn_dproto_result_decode(frame + CN_DPROTO_HDR, n, &got), 0);
	assert_int_not_equal(cn_dproto_result_decode(frame + CN_DPROTO_HDR, plen + 1, &got), 0);
	frame[CN_DPROTO_HDR] = CN_DSTATUS_MAX_;
	assert_int_equal(cn_dproto_result_decode(frame + CN_DPROTO_HDR, plen, &got), -CN_EFORMAT);
	frame[CN_DPROTO_HDR] = 0;
	frame[CN_DPROTO_HDR + 1] = 2; /* hook_ran */
	assert_int_equal(cn_dproto_result_decode(frame + CN_DPROTO_HDR, plen, &got), -CN_EFORMAT);
	frame[CN_DPROTO_HDR + 1] = 1;
	frame[CN_DPROTO_HDR + 8] = '\n'; /* unprintable message byte */
	assert_int_equal(cn_dproto_result_decode(frame + CN_DPROTO_HDR, plen, &got), -CN_EFORMAT);
	r.tail_len = CN_DPROTO_TAIL_MAX + 1;
	assert_int_equal(cn_dproto_result_encode(&r, frame, sizeof(frame), &len), -CN_EINVAL);
	assert_int_equal(cn_dproto_status_name(CN_DSTATUS_OK)[0], 'o');
	assert_string_equal(cn_dproto_status_name(200), "unknown");
}

static void test_requests(void **state)
{
	struct cn_dproto_req q = {.app = "web"}, got;
	size_t len, plen;

	(void)state;
	assert_int_equal(cn_dproto_list_encode(&q, frame, sizeof(frame), &len), 0);
	plen = peeked(len, CN_DPROTO_LIST);
	assert_int_equal(cn_dproto_list_decode(frame + CN_DPROTO_HDR, plen, &got), 0);
	assert_string_equal(got.app, "web");
	assert_int_equal(cn_dproto_list_decode(frame + CN_DPROTO_HDR, plen - 1, &got), -CN_ESHORT);
	assert_int_equal(cn_dproto_list_decode(frame + CN_DPROTO_HDR, plen + 1, &got), -CN_EFORMAT);
	frame[CN_DPROTO_HDR + 2] = '/';
	assert_int_equal(cn_dproto_list_decode(frame + CN_DPROTO_HDR, plen, &got), -CN_EFORMAT);
	q.app[0] = '\0'; /* all apps */
	assert_int_equal(cn_dproto_list_encode(&q, frame, sizeof(frame), &len), 0);
	assert_int_equal(cn_dproto_list_decode(frame + CN_DPROTO_HDR, len - CN_DPROTO_HDR, &got),
			 0);
	assert_string_equal(got.app, "");

	strcpy(q.app, "web");
	strcpy(q.version, "1.0");
	assert_int_equal(cn_dproto_rollback_encode(&q, frame, sizeof(frame), &len), 0);
	plen = peeked(len, CN_DPROTO_ROLLBACK);
	assert_int_equal(cn_dproto_rollback_decode(frame + CN_DPROTO_HDR, plen, &got), 0);
	assert_string_equal(got.version, "1.0");
	for (size_t n = 0; n < plen; n++)
		assert_int_not_equal(cn_dproto_rollback_decode(frame + CN_DPROTO_HDR, n, &got), 0);
	frame[CN_DPROTO_HDR + 6] = '.'; /* version ".." */
	frame[CN_DPROTO_HDR + 7] = '.';
	frame[CN_DPROTO_HDR + 5] = 2;
	assert_int_not_equal(cn_dproto_rollback_decode(frame + CN_DPROTO_HDR, plen - 1, &got), 0);
	q.version[0] = '\0';
	assert_int_equal(cn_dproto_rollback_encode(&q, frame, sizeof(frame), &len), 0);
	assert_int_equal(
		cn_dproto_rollback_decode(frame + CN_DPROTO_HDR, len - CN_DPROTO_HDR, &got), 0);
	assert_string_equal(got.version, "");
	q.app[0] = '\0'; /* rollback needs an app */
	assert_int_equal(cn_dproto_rollback_encode(&q, frame, sizeof(frame), &len), -CN_EINVAL);
}

static void test_list_reply(void **state)
{
	static struct cn_dproto_entry e[CN_DPROTO_LIST_MAX], got[CN_DPROTO_LIST_MAX];
	size_t len, plen, n;

	(void)state;
	for (size_t i = 0; i < CN_DPROTO_LIST_MAX; i++) {
		memset(e[i].app, 'a', CN_DEPLOY_APP_MAX);
		memset(e[i].version, 'v', CN_DEPLOY_VERSION_MAX);
		e[i].size = i + 1;
		e[i].time = (int64_t)i;
		e[i].hash[0] = (uint8_t)i;
		e[i].current = i == 3;
	}
	assert_int_equal(
		cn_dproto_list_reply_encode(e, CN_DPROTO_LIST_MAX, frame, sizeof(frame), &len), 0);
	assert_int_equal(len, CN_DPROTO_HDR + 2 + CN_DPROTO_LIST_MAX * CN_DPROTO_ENTRY_MAX);
	plen = peeked(len, CN_DPROTO_LIST_REPLY);
	assert_int_equal(cn_dproto_list_reply_decode(frame + CN_DPROTO_HDR, plen, got,
						     CN_DPROTO_LIST_MAX, &n),
			 0);
	assert_int_equal(n, CN_DPROTO_LIST_MAX);
	assert_true(got[3].current && !got[4].current);
	assert_true(got[9].size == 10);
	assert_int_equal(cn_dproto_list_reply_decode(frame + CN_DPROTO_HDR, plen, got, 5, &n),
			 -CN_ETOOBIG);
	assert_int_equal(cn_dproto_list_reply_decode(frame + CN_DPROTO_HDR, plen - 1, got,
						     CN_DPROTO_LIST_MAX, &n),
			 -CN_ESHORT);
	assert_int_equal(cn_dproto_list_reply_encode(e, 1, frame, sizeof(frame), &len), 0);
	plen = len - CN_DPROTO_HDR;
	frame[len - 1] = 2; /* unknown flag */
	assert_int_equal(cn_dproto_list_reply_decode(frame + CN_DPROTO_HDR, plen, got,
						     CN_DPROTO_LIST_MAX, &n),
			 -CN_EFORMAT);
	frame[CN_DPROTO_HDR] = 0xff; /* count over the cap */
	assert_int_equal(cn_dproto_list_reply_decode(frame + CN_DPROTO_HDR, plen, got,
						     CN_DPROTO_LIST_MAX, &n),
			 -CN_EFORMAT);
	assert_int_equal(
		cn_dproto_list_reply_encode(e, CN_DPROTO_LIST_MAX + 1, frame, sizeof(frame), &len),
		-CN_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_push),	   cmocka_unit_test(test_accept_data),
		cmocka_unit_test(test_result),	   cmocka_unit_test(test_requests),
		cmocka_unit_test(test_list_reply),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
