/* SPDX-License-Identifier: MIT */
/*
 * The crypto workers' load gate (common/loadgate.h): the rule over CPU
 * samples (share only while the daemon uses a whole core and another core
 * has time to spare, stable both ways, nothing decided on a short or
 * backwards sample) and the /proc/stat "cpu" line parser, malformed input
 * included.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/err.h"
#include "common/loadgate.h"

enum { WIN_US = CN_LOADGATE_WINDOW_MS * 1000, HZ = 10000 }; /* fine ticks: exact percentages */

/* A 2-CPU machine: each step is one window in which the daemon used
 * busy_pct of one core and the machine idled idle_pct of one core. */
struct machine {
	struct cn_loadgate g;
	struct cn_loadgate_sample s;
};

static bool step(struct machine *m, unsigned int busy_pct, unsigned int idle_pct)
{
	m->s.wall_us += WIN_US;
	m->s.self_us += (uint64_t)WIN_US * busy_pct / 100;
	m->s.total_ticks += 2ULL * HZ * CN_LOADGATE_WINDOW_MS / 1000;
	m->s.idle_ticks += (uint64_t)HZ * CN_LOADGATE_WINDOW_MS / 1000 * idle_pct / 100;
	return cn_loadgate_update(&m->g, &m->s);
}

static void start(struct machine *m)
{
	memset(m, 0, sizeof(*m));
	cn_loadgate_init(&m->g, 2);
	m->s = (struct cn_loadgate_sample){1000000, 5000, 100, 1000};
	assert_false(cn_loadgate_update(&m->g, &m->s)); /* the first sample decides nothing */
}

static void test_saturated_loop_with_an_idle_core_shares(void **state)
{
	struct machine m;

	(void)state;
	start(&m);
	/* The loop alone at 100%, the other core idle: share. */
	assert_true(step(&m, 100, 95));
	assert_int_equal(m.g.busy_pct, 100);
	assert_int_equal(m.g.spare_pct, 95);
	/* Sharing: 130% busy, 55% idle left; spare = 55 + 30: stays on. */
	for (int i = 0; i < 10; i++)
		assert_true(step(&m, 130, 55));
	assert_int_equal(m.g.spare_pct, 85);
	assert_int_equal(m.g.windows_shared, 11);
	assert_int_equal(m.g.windows_alone, 0);
}

static void test_loop_not_saturated_stays_alone(void **state)
{
	struct machine m;

	(void)state;
	start(&m);
	/* Two nodes and iperf3 on two cores: 87-94% busy, some idle. */
	assert_false(step(&m, 88, 25));
	assert_false(step(&m, 94, 30));
	assert_false(step(&m, 96, 100));
	assert_int_equal(m.g.windows_alone, 3);
}

static void test_no_spare_core_stays_alone(void **state)
{
	struct machine m;

	(void)state;
	start(&m);
	/* Saturated, but the other core is the application's. */
	assert_false(step(&m, 100, 10));
	assert_false(step(&m, 99, 49));
	/* It frees up: share; it fills again (the workers only squeeze): stop. */
	assert_true(step(&m, 100, 60));
	assert_false(step(&m, 110, 20));
	assert_int_equal(m.g.spare_pct, 30);
}

static void test_load_ends_stops_sharing(void **state)
{
	struct machine m;

	(void)state;
	start(&m);
	assert_true(step(&m, 100, 90));
	assert_false(step(&m, 20, 160));
	assert_false(step(&m, 0, 200));
}

static void test_short_or_backwards_samples_change_nothing(void **state)
{
	struct machine m;
	struct cn_loadgate_sample s;

	(void)state;
	start(&m);
	assert_true(step(&m, 100, 90));
	/* A tenth of a window later: too short to tell, the decision holds. */
	s = m.s;
	s.wall_us += WIN_US / 10;
	s.total_ticks += 5;
	assert_true(cn_loadgate_update(&m.g, &s));
	assert_int_equal(m.g.windows_shared, 1);
	/* No tick went by: nothing to compute. */
	s = m.s;
	s.wall_us += WIN_US;
	assert_true(cn_loadgate_update(&m.g, &s));
	assert_int_equal(m.g.windows_shared, 1);
	/* A counter went backwards: start over from there, decision kept. */
	s = m.s;
	s.wall_us += WIN_US;
	s.total_ticks -= 1;
	assert_true(cn_loadgate_update(&m.g, &s));
	m.s = s;
	assert_false(step(&m, 50, 150));
	/* More idle than total (counters read at different moments): capped. */
	s = m.s;
	s.wall_us += WIN_US;
	s.self_us += WIN_US;
	s.total_ticks += 10;
	s.idle_ticks += 50;
	assert_true(cn_loadgate_update(&m.g, &s));
	assert_int_equal(m.g.spare_pct, 200);
}

static void test_parse_stat(void **state)
{
	const char *text = "cpu  22929 0 22854 198059 745 0 2834 1147 7 3\n"
			   "cpu0 11000 0 11000 99000 300 0 1400 500 0 0\nintr 1 2 3\n";
	uint64_t idle = 0, total = 0;

	(void)state;
	assert_int_equal(cn_loadgate_parse_stat(text, strlen(text), &idle, &total), 0);
	assert_int_equal(idle, 198059 + 745);
	/* guest and guest_nice are inside user and nice: not added again */
	assert_int_equal(total, 22929 + 22854 + 198059 + 745 + 2834 + 1147);
	/* Old kernels: the four first fields only. */
	assert_int_equal(cn_loadgate_parse_stat("cpu 1 2 3 4\n", 12, &idle, &total), 0);
	assert_int_equal(idle, 4);
	assert_int_equal(total, 10);
}

static void test_parse_stat_malformed(void **state)
{
	static const char *bad[] = {
		"",
		"cpu",
		"cpu0 1 2 3 4\n", /* a per-CPU line, not the sum */
		"cpux 1 2 3 4\n",
		"intr 1 2 3 4\n",
		"cpu  1 2 3\n",	   /* too few fields */
		"cpu  1 2 3 4",	   /* cut short: no end of line */
		"cpu  1 2 -3 4\n", /* not a decimal */
		"cpu  1 2 3x 4\n",
		"cpu  1 2 3 4\t5\n",
		"cpu  18446744073709551616 0 0 0\n",	    /* over 64 bits */
		"cpu  18446744073709551615 1 0 0\n",	    /* the sum over 64 bits */
		"cpu  1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1\n", /* more than 16 fields */
	};
	uint64_t idle = 7, total = 9;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(cn_loadgate_parse_stat(bad[i], strlen(bad[i]), &idle, &total),
				 -CN_EFORMAT);
		assert_int_equal(idle, 7);
		assert_int_equal(total, 9);
	}
	/* The length is honoured: no read past it, a cut line is refused. */
	assert_int_equal(cn_loadgate_parse_stat("cpu  1 2 3 4\n", 11, &idle, &total), -CN_EFORMAT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_saturated_loop_with_an_idle_core_shares),
		cmocka_unit_test(test_loop_not_saturated_stays_alone),
		cmocka_unit_test(test_no_spare_core_stays_alone),
		cmocka_unit_test(test_load_ends_stops_sharing),
		cmocka_unit_test(test_short_or_backwards_samples_change_nothing),
		cmocka_unit_test(test_parse_stat),
		cmocka_unit_test(test_parse_stat_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
