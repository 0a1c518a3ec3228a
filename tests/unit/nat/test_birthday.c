/* SPDX-License-Identifier: MIT */
/*
 * Birthday technique: bounds, pacing, the off switch, the permutation of
 * probed ports, authentication of the answers, and a simulated hard NAT.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "nat/birthday.h"

static void test_bounds_and_off(void **state)
{
	struct cn_bday_limits l;
	struct cn_bday b;
	struct cn_bday_announce a = {.token = 1,
				     .sockets = 256,
				     .port_lo = 1024,
				     .port_hi = 65535,
				     .rate = 100,
				     .duration_ms = 1000};

	(void)state;
	cn_bday_limits_default(&l);
	l.enabled = false;
	assert_int_equal(cn_bday_start_hard(&b, &l, 1, 0), -CN_ESTATE);
	assert_int_equal(cn_bday_start_easy(&b, &l, &a, 1, 0), -CN_ESTATE);
	assert_int_equal(cn_bday_next(&b, 0).act, CN_BDAY_ACT_NONE); /* IDLE */
	cn_bday_limits_default(&l);
	assert_int_equal(cn_bday_start_hard(&b, &l, 0, 0), -CN_EINVAL);
	l.sockets = CN_BDAY_SOCKETS_MAX + 1;
	assert_int_equal(cn_bday_start_hard(&b, &l, 1, 0), -CN_EINVAL);
	cn_bday_limits_default(&l);
	l.rate = CN_BDAY_RATE_MAX + 1;
	assert_int_equal(cn_bday_start_hard(&b, &l, 1, 0), -CN_EINVAL);
	cn_bday_limits_default(&l);
	l.duration_ms = CN_BDAY_DURATION_MAX_MS + 1;
	assert_int_equal(cn_bday_start_hard(&b, &l, 1, 0), -CN_EINVAL);
	cn_bday_limits_default(&l);
	l.port_lo = 2000;
	l.port_hi = 1999;
	assert_int_equal(cn_bday_start_hard(&b, &l, 1, 0), -CN_EINVAL);
	cn_bday_limits_default(&l);
	l.budget = CN_BDAY_BUDGET_MAX + 1;
	assert_int_equal(cn_bday_start_easy(&b, &l, &a, 1, 0), -CN_EINVAL);
	cn_bday_limits_default(&l);
	a.token = 0;
	assert_int_equal(cn_bday_start_easy(&b, &l, &a, 1, 0), -CN_EINVAL);
	a.token = 1;
	a.rate = 0;
	assert_int_equal(cn_bday_start_easy(&b, &l, &a, 1, 0), -CN_EINVAL);
	a.rate = 100;
	a.port_lo = 0;
	assert_int_equal(cn_bday_start_easy(&b, &l, &a, 1, 0), -CN_EINVAL);
}

static void test_hard_side(void **state)
{
	struct cn_bday_limits l;
	struct cn_bday b;
	struct cn_bday_step s;
	struct cn_bday_announce a;
	uint64_t now = 1000, last_open = 0;
	unsigned opens = 0, announces = 0, calls = 0;

	(void)state;
	cn_bday_limits_default(&l);
	l.rate = 100; /* 10 ms apart */
	l.duration_ms = 10000;
	assert_int_equal(cn_bday_start_hard(&b, &l, 42, now), 0);
	/* Drive it like the engine: act, or sleep to the deadline. */
	for (;;) {
		assert_true(++calls < 10000);
		s = cn_bday_next(&b, now);
		if (s.act == CN_BDAY_ACT_NONE) {
			assert_true(s.deadline_ms > now);
			now = s.deadline_ms;
			continue;
		}
		if (s.act == CN_BDAY_ACT_OPEN) {
			assert_int_equal(s.index, opens);
			if (opens)
				assert_true(now - last_open >= 10);
			last_open = now;
			opens++;
			/* A caller that is very late gets one packet, not a burst. */
			if (opens == 100) {
				now += 5000;
				s = cn_bday_next(&b, now);
				assert_int_equal(s.act, CN_BDAY_ACT_OPEN);
				opens++;
				s = cn_bday_next(&b, now);
				assert_int_equal(s.act, CN_BDAY_ACT_NONE);
				assert_int_equal(s.deadline_ms, now + 10);
				last_open = now;
			}
			continue;
		}
		if (s.act == CN_BDAY_ACT_ANNOUNCE) {
			announces++;
			continue;
		}
		break;
	}
	assert_int_equal(opens, 256);
	assert_int_equal(announces, CN_BDAY_ANNOUNCE_TRIES);
	assert_int_equal(s.act, CN_BDAY_ACT_GIVE_UP);
	assert_int_equal(now, 1000 + 10000); /* gave up at the end, not later */
	assert_int_equal(b.state, CN_BDAY_FAILED);
	assert_int_equal(cn_bday_on_probe(&b, 0, 42, 0, now), -CN_ESTATE);

	/* Again, and a probe arrives while waiting. */
	now = 0;
	assert_int_equal(cn_bday_start_hard(&b, &l, 42, now), 0);
	cn_bday_announce(&b, &a);
	assert_int_equal(a.token, 42);
	assert_int_equal(a.sockets, 256);
	assert_int_equal(a.rate, 100);
	for (int i = 0; i < 3; i++) {
		s = cn_bday_next(&b, now);
		assert_int_equal(s.act, CN_BDAY_ACT_OPEN);
		now += 10;
	}
	assert_int_equal(cn_bday_on_probe(&b, 3, 42, 7, now), -CN_EINVAL); /* never opened */
	assert_int_equal(cn_bday_on_probe(&b, 1, 43, 7, now), -CN_EUNKNOWN);
	assert_int_equal(cn_bday_on_probe(&b, 1, 42, 7, now), 0);
	assert_int_equal(b.found_index, 1);
	assert_int_equal(b.found_seq, 7);
	assert_int_equal(cn_bday_next(&b, now).act, CN_BDAY_ACT_DONE);
	assert_int_equal(cn_bday_on_probe(&b, 2, 42, 8, now), -CN_ESTATE);
	cn_bday_stop(&b); /* DONE stays DONE */
	assert_int_equal(b.state, CN_BDAY_DONE);
}

static void test_easy_side(void **state)
{
	static uint8_t seen[65536];
	struct cn_bday_limits l;
	struct cn_bday b;
	struct cn_bday_step s;
	struct cn_bday_announce a = {.token = 9,
				     .sockets = 256,
				     .port_lo = 30000,
				     .port_hi = 30999,
				     .rate = 900,
				     .duration_ms = 60000};
	uint64_t now = 0, times[2000];
	uint32_t probes = 0;

	(void)state;
	cn_bday_limits_default(&l);
	l.rate = 250;	      /* lower than the peer asks: ours wins */
	l.budget = 5000;      /* more than the range: capped at 1000 ports */
	l.duration_ms = 8000; /* shorter than the peer asks */
	assert_int_equal(cn_bday_start_easy(&b, &l, &a, 12345, now), 0);
	assert_int_equal(b.rate, 250);
	assert_int_equal(b.budget, 1000);
	memset(seen, 0, sizeof(seen));
	for (;;) {
		s = cn_bday_next(&b, now);
		if (s.act == CN_BDAY_ACT_NONE) {
			now = s.deadline_ms;
			continue;
		}
		if (s.act != CN_BDAY_ACT_PROBE)
			break;
		assert_true(s.port >= 30000 && s.port <= 30999);
		assert_int_equal(seen[s.port], 0); /* never the same port twice */
		seen[s.port] = 1;
		assert_int_equal(s.seq, probes);
		times[probes++] = now;
	}
	assert_int_equal(s.act, CN_BDAY_ACT_GIVE_UP);
	/* 8 s at 250/s is 2000 probes, but the range has 1000 ports. */
	assert_int_equal(probes, 1000);
	assert_int_equal(now, 8000);
	/* Never more than `rate` probes in any second. */
	for (uint32_t i = 250; i < probes; i++)
		assert_true(times[i] - times[i - 250] >= 1000);
	/* Answers: only ours, for a probe we sent, naming its port. */
	assert_int_equal(cn_bday_on_ack(&b, 9, 1, 30000), -CN_ESTATE); /* gave up */
	assert_int_equal(cn_bday_start_easy(&b, &l, &a, 12345, 0), 0);
	s = cn_bday_next(&b, 0);
	assert_int_equal(s.act, CN_BDAY_ACT_PROBE);
	assert_int_equal(cn_bday_on_ack(&b, 8, 0, s.port), -CN_EUNKNOWN);
	assert_int_equal(cn_bday_on_ack(&b, 9, 1, s.port), -CN_EINVAL); /* seq 1 not sent */
	assert_int_equal(cn_bday_on_ack(&b, 9, 0, s.port == 30000 ? 30001 : 30000), -CN_EINVAL);
	assert_int_equal(cn_bday_on_ack(&b, 9, 0, s.port), 0);
	assert_int_equal(b.found_port, s.port);
	assert_int_equal(cn_bday_next(&b, 1).act, CN_BDAY_ACT_DONE);
	/* Stop. */
	assert_int_equal(cn_bday_start_easy(&b, &l, &a, 1, 0), 0);
	cn_bday_stop(&b);
	assert_int_equal(cn_bday_next(&b, 1).act, CN_BDAY_ACT_GIVE_UP);
}

static uint64_t rng(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* A hard side that announces the whole port range at the highest rate, for the longest attempt. */
static const struct cn_bday_announce full_range = {.token = 5,
						   .sockets = 256,
						   .port_lo = 1024,
						   .port_hi = 65535,
						   .rate = CN_BDAY_RATE_MAX,
						   .duration_ms = CN_BDAY_DURATION_MAX_MS};

/* One easy-side attempt from seed against the ports open_port marks: whether a probe hit one (its
 * ack taken). */
static bool attempt_hits(const struct cn_bday_limits *l, const struct cn_bday_announce *a,
			 const uint8_t *open_port, uint64_t seed)
{
	struct cn_bday b;
	uint64_t now = 0;

	assert_int_equal(cn_bday_start_easy(&b, l, a, seed, now), 0);
	for (;;) {
		struct cn_bday_step s = cn_bday_next(&b, now);

		if (s.act == CN_BDAY_ACT_NONE) {
			now = s.deadline_ms;
			continue;
		}
		if (s.act != CN_BDAY_ACT_PROBE)
			return false;
		if (open_port[s.port]) {
			assert_int_equal(cn_bday_on_ack(&b, a->token, s.seq, s.port), 0);
			return true;
		}
	}
}

/* A simulated hard NAT: 256 random ports mapped; the easy side's probes,
 * budget 1024, hit one in about 98% of attempts (the planning math). */
static void test_simulated(void **state)
{
	static uint8_t open_port[65536];
	struct cn_bday_limits l;
	const struct cn_bday_announce a = full_range;
	uint64_t x = 88172645463325252ULL;
	unsigned wins = 0, trials = 200;
	uint32_t ppm = cn_bday_success_ppm(256, 64512, 1024);

	(void)state;
	assert_true(ppm > 980000 && ppm < 986000);
	assert_int_equal(cn_bday_success_ppm(0, 100, 10), 0);
	assert_int_equal(cn_bday_success_ppm(10, 10, 1), 1000000);
	assert_int_equal(cn_bday_success_ppm(1, 2, 2), 1000000);
	cn_bday_limits_default(&l);
	l.rate = 1000;
	l.budget = 1024;
	l.duration_ms = 60000;
	for (unsigned t = 0; t < trials; t++) {
		memset(open_port, 0, sizeof(open_port));
		for (int i = 0; i < 256;) {
			uint16_t p = (uint16_t)(1024 + rng(&x) % 64512);

			if (!open_port[p]) {
				open_port[p] = 1;
				i++;
			}
		}
		wins += attempt_hits(&l, &a, open_port, rng(&x));
	}
	/* 98.3% expected; 200 trials below 93% would be a 1-in-10^4 event. */
	assert_true(wins >= trials * 93 / 100);
}

/* Every range size is walked whole and each port once, the full one included. */
static void test_walk_is_a_permutation(void **state)
{
	static const uint16_t his[] = {1024, 1025, 1026, 1028, 1279, 1280, 5119, 65535};
	static uint8_t seen[65536];
	struct cn_bday_limits l;
	struct cn_bday b;
	struct cn_bday_step s;

	(void)state;
	cn_bday_limits_default(&l);
	l.budget = CN_BDAY_BUDGET_MAX;
	l.rate = CN_BDAY_RATE_MAX;
	l.duration_ms = CN_BDAY_DURATION_MAX_MS;
	for (size_t i = 0; i < sizeof(his) / sizeof(his[0]); i++) {
		struct cn_bday_announce a = {.token = 3,
					     .sockets = 256,
					     .port_lo = 1024,
					     .port_hi = his[i],
					     .rate = CN_BDAY_RATE_MAX,
					     .duration_ms = CN_BDAY_DURATION_MAX_MS};
		uint32_t n = (uint32_t)his[i] - 1024 + 1, want = n < l.budget ? n : l.budget;
		uint32_t probes = 0;
		uint64_t now = 0;

		memset(seen, 0, sizeof(seen));
		assert_int_equal(cn_bday_start_easy(&b, &l, &a, 77 + i, now), 0);
		while ((s = cn_bday_next(&b, now)).act == CN_BDAY_ACT_PROBE ||
		       s.act == CN_BDAY_ACT_NONE) {
			if (s.act == CN_BDAY_ACT_NONE) {
				if (probes == want)
					break; /* budget spent: it waits out the attempt */
				now = s.deadline_ms;
				continue;
			}
			assert_true(s.port >= 1024 && s.port <= his[i]);
			assert_int_equal(seen[s.port], 0);
			seen[s.port] = 1;
			probes++;
		}
		assert_int_equal(probes, want);
	}
}

/*
 * The probes' order has no arithmetic a NAT's allocator shares: against
 * 256 ports handed out in a run of fixed step (1 or 2, as a sequential
 * NAT does, or 97), an attempt's 2,048 probes miss about as often as a
 * random order would (e^-8: 0.6 in 2,000 attempts). A walk with a fixed
 * stride missed about 53 of 2,000 (2.6%) against each.
 */
static void test_order_beats_sequential_nats(void **state)
{
	static const uint16_t steps[] = {1, 2, 97};
	static uint8_t open_port[65536];
	struct cn_bday_limits l;
	const struct cn_bday_announce a = full_range;

	(void)state;
	cn_bday_limits_default(&l);
	l.rate = CN_BDAY_RATE_MAX;
	l.duration_ms = CN_BDAY_DURATION_MAX_MS;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		unsigned int misses = 0;

		memset(open_port, 0, sizeof(open_port));
		for (unsigned int k = 0; k < 256; k++)
			open_port[20000 + k * steps[i]] = 1;
		for (uint64_t seed = 1; seed <= 2000; seed++)
			misses += !attempt_hits(&l, &a, open_port, seed);
		print_message("# step %u: %u of 2000 attempts missed\n", steps[i], misses);
		assert_true(misses <= 8);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bounds_and_off),
		cmocka_unit_test(test_hard_side),
		cmocka_unit_test(test_easy_side),
		cmocka_unit_test(test_simulated),
		cmocka_unit_test(test_walk_is_a_permutation),
		cmocka_unit_test(test_order_beats_sequential_nats),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
