/* SPDX-License-Identifier: MIT */
/*
 * The index map against a reference array, through growth and
 * backward-shift deletion in every order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "common/err.h"
#include "common/u32map.h"

enum { N = 5000 };

static uint32_t rng = 12345;

static uint32_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

static void test_against_reference(void **state)
{
	static uint32_t keys[N];
	static int present[N];
	struct cn_u32map m = {0};

	(void)state;
	for (int i = 0; i < N; i++) {
		keys[i] = next() | 1;
		for (int j = 0; j < i; j++)
			if (keys[j] == keys[i])
				keys[i] = next() | 1, j = -1;
	}
	for (int round = 0; round < 4; round++) {
		for (int i = 0; i < N; i++) {
			if (next() % 3 == 0 && present[i]) {
				assert_ptr_equal(cn_u32map_del(&m, keys[i]), &keys[i]);
				present[i] = 0;
			} else if (!present[i]) {
				assert_int_equal(cn_u32map_put(&m, keys[i], &keys[i]), 0);
				present[i] = 1;
			} else {
				assert_int_equal(cn_u32map_put(&m, keys[i], &keys[i]), -CN_EEXIST);
			}
		}
		size_t count = 0;

		for (int i = 0; i < N; i++) {
			assert_ptr_equal(cn_u32map_get(&m, keys[i]), present[i] ? &keys[i] : NULL);
			count += (size_t)present[i];
		}
		assert_int_equal(m.len, count);
	}
	assert_int_equal(cn_u32map_put(&m, 0, keys), -CN_EINVAL);
	assert_null(cn_u32map_get(&m, 0));
	assert_null(cn_u32map_del(&m, 0));
	cn_u32map_free(&m);
	assert_null(cn_u32map_get(&m, keys[0]));
}

static void test_colliding_keys(void **state)
{
	struct cn_u32map m = {0};
	int v[64];

	(void)state;
	/* Keys that share a home slot in a small table, deleted from the middle. */
	for (uint32_t k = 1; k <= 64; k++)
		assert_int_equal(cn_u32map_put(&m, k << 16, &v[k - 1]), 0);
	for (uint32_t k = 1; k <= 64; k += 2)
		assert_ptr_equal(cn_u32map_del(&m, k << 16), &v[k - 1]);
	for (uint32_t k = 1; k <= 64; k++)
		assert_ptr_equal(cn_u32map_get(&m, k << 16), k % 2 ? NULL : &v[k - 1]);
	cn_u32map_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_against_reference),
		cmocka_unit_test(test_colliding_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
