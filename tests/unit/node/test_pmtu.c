/* SPDX-License-Identifier: MIT */
/*
 * PLPMTUD state machine on simulated paths: the search converges below the
 * path MTU, a black hole (failed confirmation or the engine's report) falls
 * back to base, Packet Too Big hints, stale and forged acks, a path that
 * does not even carry base, and the periodic re-probe.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "node/pmtu.h"

struct path {
	uint16_t mtu; /* largest probe that gets through */
	unsigned probes, acks;
};

/* Runs the machine on `path` until `until`; acks arrive at once. */
static uint64_t drive(struct cn_pmtu *p, struct path *path, uint64_t now, uint64_t until)
{
	for (int guard = 0; guard < 100000; guard++) {
		struct cn_pmtu_probe pr;
		uint64_t next = cn_pmtu_next(p, now, &pr);

		if (pr.send) {
			path->probes++;
			assert_true(pr.size >= p->base && pr.size <= p->max);
			if (pr.size <= path->mtu) {
				assert_int_equal(cn_pmtu_on_ack(p, pr.id, pr.size, now), 0);
				path->acks++;
			}
			continue;
		}
		if (next == 0 || next > until)
			return until;
		assert_true(next > now);
		now = next;
	}
	fail_msg("no progress");
	return now;
}

static void test_converges(void **state)
{
	static const uint16_t mtus[] = {1280, 1281, 1300, 1339, 1340, 1400, 1452, 1500};
	struct cn_pmtu p;

	(void)state;
	for (size_t i = 0; i < sizeof(mtus) / sizeof(mtus[0]); i++) {
		struct path path = {.mtu = mtus[i]};

		cn_pmtu_init(&p, CN_PMTU_BASE, 1500, 0);
		assert_int_equal(cn_pmtu_current(&p), 1280);
		drive(&p, &path, 0, 120000);
		assert_int_equal(p.state, CN_PMTU_SEARCH_COMPLETE);
		assert_true(cn_pmtu_current(&p) <= mtus[i]);
		assert_true(cn_pmtu_current(&p) + CN_PMTU_STEP > mtus[i] ||
			    cn_pmtu_current(&p) == 1500);
		/* Binary search: a handful of sizes, each lost at most 3 times. */
		assert_true(path.probes <= 40);
	}
	/* A path that carries max: one probe of base, one of max. */
	struct path big = {.mtu = 9000};
	cn_pmtu_init(&p, CN_PMTU_BASE, 1500, 0);
	drive(&p, &big, 0, 10000);
	assert_int_equal(cn_pmtu_current(&p), 1500);
	assert_int_equal(big.probes, 2);
}

static void test_black_hole(void **state)
{
	struct cn_pmtu p;
	struct path path = {.mtu = 1500};
	uint64_t now;

	(void)state;
	cn_pmtu_init(&p, CN_PMTU_BASE, 1500, 0);
	now = drive(&p, &path, 0, 60000);
	assert_int_equal(cn_pmtu_current(&p), 1500);
	/* The path shrinks; the confirmation (after CONFIRM_MS) fails three
	 * times, PLPMTU drops to base, and the search finds the new size. */
	path.mtu = 1300;
	now = drive(&p, &path, now, now + CN_PMTU_CONFIRM_MS + 10 * CN_PMTU_PROBE_TIMER_MS);
	assert_true(cn_pmtu_current(&p) <= 1300);
	now = drive(&p, &path, now, now + 120000);
	assert_int_equal(p.state, CN_PMTU_SEARCH_COMPLETE);
	assert_true(cn_pmtu_current(&p) <= 1300 && cn_pmtu_current(&p) > 1300 - CN_PMTU_STEP);
	/* The engine reports bulk loss: base at once. */
	cn_pmtu_on_black_hole(&p, now);
	assert_int_equal(cn_pmtu_current(&p), 1280);
	assert_int_equal(p.state, CN_PMTU_BASE_STATE);
	now = drive(&p, &path, now, now + 120000);
	assert_true(cn_pmtu_current(&p) > 1300 - CN_PMTU_STEP);
	/* The periodic re-probe finds a path that grew back. */
	path.mtu = 1500;
	now = drive(&p, &path, now, now + CN_PMTU_RAISE_MS + 60000);
	assert_int_equal(cn_pmtu_current(&p), 1500);
}

static void test_hints_and_forgeries(void **state)
{
	struct cn_pmtu p;
	struct cn_pmtu_probe pr;
	struct path path = {.mtu = 1500};
	uint64_t now;

	(void)state;
	cn_pmtu_init(&p, CN_PMTU_BASE, 1500, 0);
	/* Acks for nothing in flight, a wrong id, a wrong size. */
	assert_int_equal(cn_pmtu_on_ack(&p, 1, 1280, 0), -CN_EUNKNOWN);
	cn_pmtu_next(&p, 0, &pr);
	assert_true(pr.send);
	assert_int_equal(pr.size, 1280);
	assert_int_equal(cn_pmtu_on_ack(&p, pr.id + 1, 1280, 1), -CN_EUNKNOWN);
	assert_int_equal(cn_pmtu_on_ack(&p, pr.id, 1500, 1), -CN_EUNKNOWN);
	assert_int_equal(cn_pmtu_on_ack(&p, pr.id, 1280, 1), 0);
	assert_int_equal(cn_pmtu_on_ack(&p, pr.id, 1280, 1), -CN_EUNKNOWN); /* twice */
	now = drive(&p, &path, 1, 60000);
	assert_int_equal(cn_pmtu_current(&p), 1500);
	/* PTB below base or at PLPMTU: ignored. */
	cn_pmtu_on_ptb(&p, 1000, now);
	cn_pmtu_on_ptb(&p, 1500, now);
	assert_int_equal(cn_pmtu_current(&p), 1500);
	/* PTB 1400: base now, and the search never goes above 1400. */
	cn_pmtu_on_ptb(&p, 1400, now);
	assert_int_equal(cn_pmtu_current(&p), 1280);
	now = drive(&p, &path, now, now + 60000);
	assert_int_equal(cn_pmtu_current(&p), 1400);
}

static void test_error_and_disabled(void **state)
{
	struct cn_pmtu p;
	struct cn_pmtu_probe pr;
	struct path path = {.mtu = 1000}; /* not even base */
	uint64_t now;

	(void)state;
	cn_pmtu_init(&p, CN_PMTU_BASE, 1500, 0);
	now = drive(&p, &path, 0, 60000);
	assert_int_equal(p.state, CN_PMTU_ERROR);
	assert_int_equal(cn_pmtu_current(&p), 1280);
	/* Base probed again now and then: about 60 s / 30 s retries of 3. */
	assert_true(path.probes >= 3 && path.probes <= 12);
	path.mtu = 1500;
	now = drive(&p, &path, now, now + 60000);
	assert_int_equal(cn_pmtu_current(&p), 1500);
	/* Disabled: nothing sent, base reported. */
	cn_pmtu_disable(&p);
	assert_int_equal(cn_pmtu_next(&p, now + 1, &pr), 0);
	assert_false(pr.send);
	assert_int_equal(cn_pmtu_current(&p), 1280);
	cn_pmtu_init(&p, 0, 1500, 0);
	assert_int_equal(p.state, CN_PMTU_DISABLED);
	/* max below base is base: complete after one probe. */
	path.probes = 0;
	cn_pmtu_init(&p, CN_PMTU_BASE, 1200, 0);
	drive(&p, &path, 0, 10000);
	assert_int_equal(p.state, CN_PMTU_SEARCH_COMPLETE);
	assert_int_equal(cn_pmtu_current(&p), 1280);
	assert_int_equal(path.probes, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_converges),
		cmocka_unit_test(test_black_hole),
		cmocka_unit_test(test_hints_and_forgeries),
		cmocka_unit_test(test_error_and_disabled),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
