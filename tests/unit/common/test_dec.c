/* SPDX-License-Identifier: MIT */
/*
 * The decimal field parser (common/dec.h): values at every bound, the
 * digit cap, leading zeros in both forms, anything not a digit, lengths
 * that stop before a terminator, and no overflow at UINT64_MAX.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/dec.h"

enum { SENTINEL = 4242 };

/* The whole string s (strlen) with the cap and the bound; *v untouched on failure. */
static bool dec(const char *s, size_t digits, uint64_t max, enum cn_dec_form f, uint64_t *v)
{
	uint64_t got = SENTINEL;
	bool ok = cn_dec_parse(s, strlen(s), digits, max, f, &got);

	if (!ok)
		assert_int_equal(got, SENTINEL);
	*v = got;
	return ok;
}

static void test_values_up_to_the_bound(void **state)
{
	uint64_t v;

	(void)state;
	assert_true(dec("0", 5, 65535, CN_DEC_ANY, &v));
	assert_int_equal(v, 0);
	assert_true(dec("443", 5, 65535, CN_DEC_ANY, &v));
	assert_int_equal(v, 443);
	assert_true(dec("65535", 5, 65535, CN_DEC_ANY, &v));
	assert_int_equal(v, 65535);
	assert_false(dec("65536", 5, 65535, CN_DEC_ANY, &v));
	assert_false(dec("99999", 5, 65535, CN_DEC_ANY, &v));
	assert_true(dec("255", 3, 255, CN_DEC_CANONICAL, &v));
	assert_false(dec("256", 3, 255, CN_DEC_CANONICAL, &v));
	assert_true(dec("4294967295", 10, UINT32_MAX, CN_DEC_ANY, &v));
	assert_int_equal(v, UINT32_MAX);
	assert_false(dec("4294967296", 10, UINT32_MAX, CN_DEC_ANY, &v));
	/* A bound of 0 takes only zero. */
	assert_true(dec("0", 1, 0, CN_DEC_ANY, &v));
	assert_false(dec("1", 1, 0, CN_DEC_ANY, &v));
}

static void test_digit_cap_counts_leading_zeros(void **state)
{
	uint64_t v;

	(void)state;
	assert_true(dec("128", 3, 128, CN_DEC_CANONICAL, &v));
	assert_false(dec("0128", 4, 128, CN_DEC_CANONICAL, &v)); /* canonical refuses it */
	assert_true(dec("0128", 4, 128, CN_DEC_ANY, &v));
	assert_int_equal(v, 128);
	assert_false(dec("0128", 3, 128, CN_DEC_ANY, &v)); /* over the cap, small value or not */
	assert_false(dec("00000", 4, 65535, CN_DEC_ANY, &v));
}

static void test_canonical_refuses_leading_zeros(void **state)
{
	uint64_t v;

	(void)state;
	assert_true(dec("0", 3, 255, CN_DEC_CANONICAL, &v));
	assert_int_equal(v, 0);
	assert_false(dec("00", 3, 255, CN_DEC_CANONICAL, &v));
	assert_false(dec("01", 3, 255, CN_DEC_CANONICAL, &v));
	assert_false(dec("010", 3, 255, CN_DEC_CANONICAL, &v));
	assert_true(dec("10", 3, 255, CN_DEC_CANONICAL, &v));
	assert_int_equal(v, 10);
	assert_true(dec("007", 3, 255, CN_DEC_ANY, &v));
	assert_int_equal(v, 7);
}

static void test_anything_but_digits_is_refused(void **state)
{
	static const char *const bad[] = {
		"", " 1", "1 ", "+1", "-1", "1a", "a1", "0x10", "1.0", "1\n", "١", "/", ":",
	};
	uint64_t v;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(dec(bad[i], 20, UINT64_MAX, CN_DEC_ANY, &v));
		assert_false(dec(bad[i], 20, UINT64_MAX, CN_DEC_CANONICAL, &v));
	}
	/* A NUL inside the length is a byte like any other. */
	v = SENTINEL;
	assert_false(cn_dec_parse("1\0002", 3, 5, 65535, CN_DEC_ANY, &v));
	assert_int_equal(v, SENTINEL);
}

static void test_only_the_given_length_counts(void **state)
{
	uint64_t v = 0;

	(void)state;
	/* Only the n bytes count: the field may sit inside a longer line. */
	assert_true(cn_dec_parse("3478 typ host", 4, 5, 65535, CN_DEC_ANY, &v));
	assert_int_equal(v, 3478);
	assert_false(cn_dec_parse("3478 typ host", 5, 5, 65535, CN_DEC_ANY, &v));
	assert_false(cn_dec_parse("12", 0, 5, 65535, CN_DEC_ANY, &v));
}

static void test_no_overflow_up_to_uint64_max(void **state)
{
	uint64_t v;

	(void)state;
	assert_true(dec("18446744073709551615", 20, UINT64_MAX, CN_DEC_ANY, &v));
	assert_true(v == UINT64_MAX);
	/* One more wraps to 0 in a naive parser; refused here. */
	assert_false(dec("18446744073709551616", 20, UINT64_MAX, CN_DEC_ANY, &v));
	assert_false(dec("99999999999999999999", 20, UINT64_MAX, CN_DEC_ANY, &v));
	/* 2^64 + 7 wraps to 7, under a small bound, in a parser that checks only at the end. */
	assert_false(dec("18446744073709551623", 30, 65535, CN_DEC_ANY, &v));
	assert_false(dec("000000000000000000000000000000000000000018446744073709551616", 80,
			 UINT64_MAX, CN_DEC_ANY, &v));
	assert_true(dec("0000000000000000000000000000000000000000000000000000000000000042", 80,
			UINT64_MAX, CN_DEC_ANY, &v));
	assert_int_equal(v, 42);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values_up_to_the_bound),
		cmocka_unit_test(test_digit_cap_counts_leading_zeros),
		cmocka_unit_test(test_canonical_refuses_leading_zeros),
		cmocka_unit_test(test_anything_but_digits_is_refused),
		cmocka_unit_test(test_only_the_given_length_counts),
		cmocka_unit_test(test_no_overflow_up_to_uint64_max),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
