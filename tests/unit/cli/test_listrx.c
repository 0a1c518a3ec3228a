/* SPDX-License-Identifier: MIT */
/*
 * Peer list reassembly: in order, restarts, and what a confused or hostile
 * relay may send (gaps, repeats, other serials, chunks past the total,
 * totals over the cap).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/err.h"
#include "crypto/peerlist.h"
#include "node/listrx.h"

static const uint8_t text[] = "version = 1;\nnetwork = \"demo\";\nserial = 7;\n";
#define N ((uint32_t)(sizeof(text) - 1))

static void test_in_order(void **state)
{
	struct cn_listrx rx = {0};
	uint8_t *out;
	size_t len;

	(void)state;
	assert_int_equal(cn_listrx_add(&rx, 7, N, 0, text, 10), 0);
	assert_int_equal(cn_listrx_add(&rx, 7, N, 10, text + 10, 20), 0);
	assert_int_equal(cn_listrx_add(&rx, 7, N, 30, text + 30, N - 30), 1);
	out = cn_listrx_take(&rx, &len);
	assert_non_null(out);
	assert_int_equal(len, N);
	assert_memory_equal(out, text, N);
	assert_null(rx.buf);
	free(out);
	/* One chunk holding the whole list. */
	assert_int_equal(cn_listrx_add(&rx, 8, N, 0, text, N), 1);
	out = cn_listrx_take(&rx, &len);
	assert_int_equal(len, N);
	free(out);
}

static void test_ignored(void **state)
{
	struct cn_listrx rx = {0};
	size_t len;

	(void)state;
	/* Nothing started: a chunk in the middle is ignored. */
	assert_int_equal(cn_listrx_add(&rx, 7, N, 10, text + 10, 5), 0);
	assert_null(rx.buf);
	assert_int_equal(cn_listrx_add(&rx, 7, N, 0, text, 10), 0);
	/* A gap, a repeat, another serial, another total, an empty chunk. */
	assert_int_equal(cn_listrx_add(&rx, 7, N, 20, text + 20, 5), 0);
	assert_int_equal(cn_listrx_add(&rx, 7, N, 5, text + 5, 5), 0);
	assert_int_equal(cn_listrx_add(&rx, 6, N, 10, text + 10, 5), 0);
	assert_int_equal(cn_listrx_add(&rx, 7, N + 1, 10, text + 10, 5), 0);
	assert_int_equal(cn_listrx_add(&rx, 7, N, 10, text + 10, 0), 0);
	assert_int_equal(rx.got, 10);
	/* Not complete: take gives nothing and empties. */
	assert_null(cn_listrx_take(&rx, &len));
	assert_int_equal(len, 0);
	assert_null(rx.buf);
}

static void test_restart(void **state)
{
	struct cn_listrx rx = {0};
	uint8_t *out;
	size_t len;

	(void)state;
	assert_int_equal(cn_listrx_add(&rx, 7, N, 0, text, 10), 0);
	/* The relay adopted serial 8 and starts over. */
	assert_int_equal(cn_listrx_add(&rx, 8, 12, 0, (const uint8_t *)"abcdef", 6), 0);
	assert_int_equal(cn_listrx_add(&rx, 7, N, 10, text + 10, 5), 0); /* old list: ignored */
	assert_int_equal(cn_listrx_add(&rx, 8, 12, 6, (const uint8_t *)"ghijkl", 6), 1);
	/* An empty chunk after completion changes nothing. */
	assert_int_equal(cn_listrx_add(&rx, 8, 12, 12, (const uint8_t *)"x", 0), 0);
	out = cn_listrx_take(&rx, &len);
	assert_int_equal(len, 12);
	assert_memory_equal(out, "abcdefghijkl", 12);
	free(out);
}

static void test_caps(void **state)
{
	struct cn_listrx rx = {0};

	(void)state;
	assert_int_equal(cn_listrx_add(&rx, 1, CN_PEERLIST_MAX_BYTES + 1u, 0, text, 1),
			 -CN_ETOOBIG);
	assert_null(rx.buf);
	/* Past the total, at any offset, however the sum would wrap. */
	assert_int_equal(cn_listrx_add(&rx, 1, 8, 0, text, 9), -CN_ETOOBIG);
	assert_int_equal(cn_listrx_add(&rx, 1, 8, 9, text, 1), -CN_ETOOBIG);
	assert_int_equal(cn_listrx_add(&rx, 1, 8, 0, text, 4), 0);
	assert_int_equal(cn_listrx_add(&rx, 1, 8, 4, text, 5), -CN_ETOOBIG);
	assert_int_equal(cn_listrx_add(&rx, 1, 8, UINT32_MAX, text, 2), -CN_ETOOBIG);
	assert_int_equal(rx.got, 4);
	cn_listrx_wipe(&rx);
	assert_null(rx.buf);
	cn_listrx_wipe(&rx); /* twice is fine */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_order),
		cmocka_unit_test(test_ignored),
		cmocka_unit_test(test_restart),
		cmocka_unit_test(test_caps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
