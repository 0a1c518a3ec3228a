/* SPDX-License-Identifier: MIT */
/*
 * The anti-replay window: in-order, reordered, duplicate, too old, window
 * jumps that must clear reused ring bits, the counter limits, and a long
 * pseudo-random run against a plain reference model.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/err.h"
#include "crypto/replay.h"

static void test_fresh_and_duplicate(void **state)
{
	struct cn_replay r;

	(void)state;
	cn_replay_init(&r);
	assert_int_equal(cn_replay_check(&r, 0), 0);
	assert_int_equal(cn_replay_check(&r, 0), -CN_EREPLAY);
	assert_int_equal(cn_replay_check(&r, 1), 0);
	assert_int_equal(cn_replay_check(&r, 1), -CN_EREPLAY);
	assert_int_equal(cn_replay_check(&r, 0), -CN_EREPLAY);
	/* A zeroed struct is an empty window too. */
	memset(&r, 0, sizeof(r));
	assert_int_equal(cn_replay_check(&r, 12345), 0);
	assert_int_equal(cn_replay_check(&r, 12345), -CN_EREPLAY);
	assert_int_equal(cn_replay_check(&r, 12344), 0);
}

static void test_in_order(void **state)
{
	struct cn_replay r;

	(void)state;
	cn_replay_init(&r);
	for (uint64_t c = 0; c < 3 * CN_REPLAY_BITS; c++)
		assert_int_equal(cn_replay_check(&r, c), 0);
	/* Everything still inside the window is a duplicate, the rest too old. */
	for (uint64_t c = 0; c < 3 * CN_REPLAY_BITS; c++)
		assert_int_equal(cn_replay_check(&r, c), -CN_EREPLAY);
}

static void test_reorder_inside_window(void **state)
{
	struct cn_replay r;
	const uint64_t top = 10000;

	(void)state;
	cn_replay_init(&r);
	assert_int_equal(cn_replay_check(&r, top), 0);
	/* Every counter of the window, newest first, each accepted once. */
	for (uint64_t c = top - 1; c > top - CN_REPLAY_WINDOW; c--)
		assert_int_equal(cn_replay_check(&r, c), 0);
	for (uint64_t c = top; c > top - CN_REPLAY_WINDOW; c--)
		assert_int_equal(cn_replay_check(&r, c), -CN_EREPLAY);
	/* Odd-even interleaving just below a new top. */
	for (uint64_t c = top + 2; c < top + 200; c += 2)
		assert_int_equal(cn_replay_check(&r, c), 0);
	for (uint64_t c = top + 1; c < top + 200; c += 2)
		assert_int_equal(cn_replay_check(&r, c), 0);
}

static void test_window_edge(void **state)
{
	struct cn_replay r;
	const uint64_t top = 50000;

	(void)state;
	cn_replay_init(&r);
	assert_int_equal(cn_replay_check(&r, top), 0);
	/* The oldest counter the window still holds, and the one below it. */
	assert_int_equal(cn_replay_check(&r, top - (CN_REPLAY_WINDOW - 1)), 0);
	assert_int_equal(cn_replay_check(&r, top - CN_REPLAY_WINDOW), -CN_EREPLAY);
	assert_int_equal(cn_replay_check(&r, 0), -CN_EREPLAY);
	/* Moving one forward pushes the oldest out. */
	assert_int_equal(cn_replay_check(&r, top + 1), 0);
	assert_int_equal(cn_replay_check(&r, top + 1 - CN_REPLAY_WINDOW), -CN_EREPLAY);
	assert_int_equal(cn_replay_check(&r, top + 2 - CN_REPLAY_WINDOW), 0);
	assert_true(CN_REPLAY_WINDOW >= 2048);
}

/* Ring bits reused after a jump must not look seen. */
static void test_jumps_clear_ring(void **state)
{
	struct cn_replay r;

	(void)state;
	cn_replay_init(&r);
	for (uint64_t c = 0; c < CN_REPLAY_BITS; c++)
		assert_int_equal(cn_replay_check(&r, c), 0);
	/* Same ring positions as 100..199, one lap later: not seen yet. */
	assert_int_equal(cn_replay_check(&r, CN_REPLAY_BITS + 200), 0);
	for (uint64_t c = CN_REPLAY_BITS; c < CN_REPLAY_BITS + 200; c++)
		assert_int_equal(cn_replay_check(&r, c), 0);
	/* A jump of many laps clears every word. */
	assert_int_equal(cn_replay_check(&r, 1000 * CN_REPLAY_BITS + 5), 0);
	for (uint64_t c = 1000 * CN_REPLAY_BITS + 5 - (CN_REPLAY_WINDOW - 1);
	     c < 1000 * CN_REPLAY_BITS + 5; c++)
		assert_int_equal(cn_replay_check(&r, c), 0);
	assert_int_equal(cn_replay_check(&r, 1000 * CN_REPLAY_BITS + 5 - CN_REPLAY_WINDOW),
			 -CN_EREPLAY);
}

static void test_limits(void **state)
{
	struct cn_replay r;

	(void)state;
	cn_replay_init(&r);
	assert_int_equal(cn_replay_check(&r, UINT64_MAX), -CN_EREPLAY);
	assert_int_equal(cn_replay_check(&r, UINT64_MAX - 1), 0);
	assert_int_equal(cn_replay_check(&r, UINT64_MAX - 1), -CN_EREPLAY);
	assert_int_equal(cn_replay_check(&r, UINT64_MAX - 2), 0);
	assert_int_equal(cn_replay_check(&r, UINT64_MAX - CN_REPLAY_WINDOW), 0);
	assert_int_equal(cn_replay_check(&r, UINT64_MAX - 1 - CN_REPLAY_WINDOW), -CN_EREPLAY);
	assert_int_equal(cn_replay_check(&r, 0), -CN_EREPLAY);
	assert_int_equal(cn_replay_check(&r, UINT64_MAX), -CN_EREPLAY);
}

/* xorshift64*: deterministic, so a failure reproduces. */
static uint64_t rng(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * UINT64_C(2685821657736338717);
}

/* The set of accepted counters for the model: open addressing, key + 1. */
enum { SET_SLOTS = 1 << 20 };

static bool set_has_or_add(uint64_t *set, uint64_t c, bool add)
{
	size_t i = (size_t)((c * UINT64_C(0x9e3779b97f4a7c15)) >> 44) & (SET_SLOTS - 1);

	while (set[i] != 0) {
		if (set[i] == c + 1)
			return true;
		i = (i + 1) & (SET_SLOTS - 1);
	}
	if (add)
		set[i] = c + 1;
	return false;
}

/*
 * Reference model: every accepted counter remembered exactly, plus the
 * greatest. Accept iff not seen and greater than max - WINDOW.
 */
static void test_against_model(void **state)
{
	enum { ROUNDS = 400000 };
	uint64_t *set = calloc(SET_SLOTS, sizeof(*set));
	struct cn_replay r;
	uint64_t s = 0x9e3779b97f4a7c15u, max = 0, accepted = 0, dup = 0, old = 0;
	bool any = false;

	(void)state;
	assert_non_null(set);
	cn_replay_init(&r);
	for (int i = 0; i < ROUNDS; i++) {
		uint64_t x = rng(&s), back = (x >> 8) % (CN_REPLAY_WINDOW + 300), c;
		bool want;

		/* Mostly a little behind the top, sometimes ahead, sometimes far behind. */
		switch (x % 16) {
		case 0: /* now and then a jump of up to three ring laps */
			c = max + 1 + ((x >> 4) % 32 == 0 ? (x >> 8) % (3 * CN_REPLAY_BITS) : 0);
			break;
		case 1:
		case 2:
			c = max + 1 + (x >> 8) % 64;
			break;
		case 3:
			c = (x >> 8) % (max + 1);
			break;
		case 4:
		case 5:
		case 6:
		case 7:
		case 8:
		case 9:
			c = max + 32 > back % 256 ? max + 32 - back % 256 : 0;
			break;
		default:
			c = max + 32 > back ? max + 32 - back : 0;
			break;
		}
		bool seen = set_has_or_add(set, c, false);
		bool inside = !any || c > max || max - c < CN_REPLAY_WINDOW;

		want = !seen && inside;
		dup += seen && inside;
		old += !inside;
		assert_int_equal(cn_replay_check(&r, c), want ? 0 : -CN_EREPLAY);
		if (want) {
			set_has_or_add(set, c, true);
			accepted++;
			if (!any || c > max)
				max = c;
			any = true;
		}
	}
	free(set);
	/* The run must have exercised both outcomes heavily. */
	print_message("accepted %llu, duplicates %llu, too old %llu\n",
		      (unsigned long long)accepted, (unsigned long long)dup,
		      (unsigned long long)old);
	assert_true(accepted > ROUNDS / 10);
	assert_true(dup > ROUNDS / 50);
	assert_true(old > ROUNDS / 50);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fresh_and_duplicate),   cmocka_unit_test(test_in_order),
		cmocka_unit_test(test_reorder_inside_window), cmocka_unit_test(test_window_edge),
		cmocka_unit_test(test_jumps_clear_ring),      cmocka_unit_test(test_limits),
		cmocka_unit_test(test_against_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
