/* SPDX-License-Identifier: MIT */
/*
 * The fast-failure watch (common/pathwatch.h): when a watch starts, the
 * wait for the packet's own answer, the two probes, the lost bound, each
 * scaled by the RTT, the answer that ends it, and a watch started with
 * its probe at once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/pathwatch.h"

/* Ticks every millisecond from `from` to `to`; returns the time of the first act that is not WAIT.
 */
static uint64_t next_act(struct cn_pathwatch *w, uint64_t from, uint64_t to, uint64_t rtt,
			 enum cn_pathwatch_act *act)
{
	for (uint64_t t = from; t <= to; t++) {
		*act = cn_pathwatch_tick(w, t, rtt);
		if (*act != CN_PATHWATCH_WAIT)
			return t;
	}
	*act = CN_PATHWATCH_WAIT;
	return UINT64_MAX;
}

static void test_starts_only_after_quiet(void **state)
{
	struct cn_pathwatch w = {0};

	(void)state;
	assert_false(cn_pathwatch_sent(&w, 10249, 10000, 0)); /* heard 249 ms ago */
	assert_false(w.on);
	assert_int_equal(cn_pathwatch_deadline(&w, 0), UINT64_MAX);
	assert_true(cn_pathwatch_sent(&w, 10250, 10000, 0));
	assert_true(w.on);
	assert_false(cn_pathwatch_sent(&w, 10260, 10000, 0)); /* one watch at a time */
	assert_int_equal(w.start_ms, 10250);
	/* With a 200 ms RTT the quiet bound is 2 RTT. */
	w = (struct cn_pathwatch){0};
	assert_false(cn_pathwatch_sent(&w, 10399, 10000, 200));
	assert_true(cn_pathwatch_sent(&w, 10400, 10000, 200));
	assert_int_equal(cn_pathwatch_quiet(0), CN_PATHWATCH_QUIET_MS);
	assert_int_equal(cn_pathwatch_quiet(200), 400);
}

static void test_answer_wait_probes_then_lost(void **state)
{
	struct cn_pathwatch w = {0};
	enum cn_pathwatch_act act;

	(void)state;
	assert_true(cn_pathwatch_sent(&w, 1000, 0, 0));
	assert_int_equal(cn_pathwatch_deadline(&w, 0), 1000 + CN_PATHWATCH_ANSWER_MS);
	assert_int_equal(next_act(&w, 1000, 2000, 0, &act), 1000 + CN_PATHWATCH_ANSWER_MS);
	assert_int_equal(act, CN_PATHWATCH_PROBE);
	assert_int_equal(next_act(&w, 1051, 2000, 0, &act), 1000 + CN_PATHWATCH_BOUND_MS / 2);
	assert_int_equal(act, CN_PATHWATCH_PROBE);
	assert_int_equal(next_act(&w, 1151, 2000, 0, &act), 1000 + CN_PATHWATCH_BOUND_MS);
	assert_int_equal(act, CN_PATHWATCH_LOST);
	assert_false(w.on);
	assert_int_equal(cn_pathwatch_tick(&w, 5000, 0), CN_PATHWATCH_WAIT);
	assert_int_equal(cn_pathwatch_deadline(&w, 0), UINT64_MAX);
}

static void test_rtt_scales_every_step(void **state)
{
	struct cn_pathwatch w = {0};
	enum cn_pathwatch_act act;

	(void)state;
	/* 200 ms: the bound is 3 RTT (600), the wait 2 RTT capped at a third of it. */
	assert_true(cn_pathwatch_sent(&w, 1000, 0, 200));
	assert_int_equal(next_act(&w, 1000, 3000, 200, &act), 1200);
	assert_int_equal(next_act(&w, 1201, 3000, 200, &act), 1300);
	assert_int_equal(next_act(&w, 1301, 3000, 200, &act), 1600);
	assert_int_equal(act, CN_PATHWATCH_LOST);
	assert_int_equal(cn_pathwatch_bound(200), 600);
	/* 30 ms: the wait is 2 RTT (60), above its 50 ms floor and under the cap. */
	assert_true(cn_pathwatch_sent(&w, 5000, 0, 30));
	assert_int_equal(next_act(&w, 5000, 6000, 30, &act), 5060);
	assert_int_equal(cn_pathwatch_bound(30), CN_PATHWATCH_BOUND_MS);
}

static void test_answer_ends_it(void **state)
{
	struct cn_pathwatch w = {0};
	enum cn_pathwatch_act act;

	(void)state;
	/* Answered before the wait ends: no probe at all. */
	assert_true(cn_pathwatch_sent(&w, 1000, 0, 0));
	assert_int_equal(cn_pathwatch_tick(&w, 1049, 0), CN_PATHWATCH_WAIT);
	cn_pathwatch_end(&w);
	assert_int_equal(next_act(&w, 1049, 3000, 0, &act), UINT64_MAX);
	/* Answered after the first probe: nothing more. */
	assert_true(cn_pathwatch_sent(&w, 4000, 1000, 0));
	assert_int_equal(next_act(&w, 4000, 5000, 0, &act), 4050);
	cn_pathwatch_end(&w);
	assert_int_equal(next_act(&w, 4051, 6000, 0, &act), UINT64_MAX);
}

static void test_probed_at_once(void **state)
{
	struct cn_pathwatch w = {0};
	enum cn_pathwatch_act act;

	(void)state;
	cn_pathwatch_start_probed(&w, 7000);
	assert_true(w.on);
	/* The caller sent the first; the second goes half way, lost at the bound. */
	assert_int_equal(next_act(&w, 7000, 9000, 0, &act), 7000 + CN_PATHWATCH_BOUND_MS / 2);
	assert_int_equal(act, CN_PATHWATCH_PROBE);
	assert_int_equal(next_act(&w, 7151, 9000, 0, &act), 7000 + CN_PATHWATCH_BOUND_MS);
	assert_int_equal(act, CN_PATHWATCH_LOST);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_starts_only_after_quiet),
		cmocka_unit_test(test_answer_wait_probes_then_lost),
		cmocka_unit_test(test_rtt_scales_every_step),
		cmocka_unit_test(test_answer_ends_it),
		cmocka_unit_test(test_probed_at_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
