/* SPDX-License-Identifier: MIT */
/*
 * The TAI64N floor: timestamps increase across a simulated reboot with a
 * clock that went back to 1970, the file is rewritten only when passed,
 * hostile file contents, and the list-expiry rule against such clocks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/handshake.h"
#include "node/listclock.h"
#include "node/tai_floor.h"

static void clock_label(uint8_t out[CN_TAI_LEN], uint64_t sec, uint32_t nsec)
{
	cn_handshake_tai64n(out, sec, nsec);
}

static void test_monotonic_across_reboot(void **state)
{
	struct cn_tai_floor f;
	uint8_t clk[CN_TAI_LEN], ts[CN_TAI_LEN], prev[CN_TAI_LEN], fl[CN_TAI_LEN];
	char file[CN_TAI_FLOOR_TEXT_LEN + 1];
	unsigned writes = 0;

	(void)state;
	cn_tai_floor_init(&f);
	/* A sane clock: 1000 initiations over ~2 hours, two or three writes. */
	for (int i = 0; i < 1000; i++) {
		clock_label(clk, 1800000000 + (uint64_t)i * 7, 0);
		if (cn_tai_floor_next(&f, clk, ts, fl)) {
			writes++;
			cn_tai_floor_format(fl, file);
			cn_tai_floor_persisted(&f, fl);
		}
		if (i)
			assert_true(memcmp(ts, prev, CN_TAI_LEN) > 0);
		assert_memory_equal(ts, clk, CN_TAI_LEN);	       /* clock ahead: used as is */
		assert_true(memcmp(ts, f.persisted, CN_TAI_LEN) <= 0); /* never past the disk */
		memcpy(prev, ts, CN_TAI_LEN);
	}
	assert_true(writes >= 2 && writes <= 3);
	/* Reboot; the board's clock says 1970. */
	assert_int_equal(cn_tai_floor_parse(&f, file, strlen(file)), 0);
	writes = 0;
	for (int i = 0; i < 300000; i++) {
		clock_label(clk, 5 + (uint64_t)i / 1000, 0);
		if (cn_tai_floor_next(&f, clk, ts, fl)) {
			writes++;
			cn_tai_floor_persisted(&f, fl);
		}
		assert_true(memcmp(ts, prev, CN_TAI_LEN) > 0);
		assert_true(memcmp(ts, f.persisted, CN_TAI_LEN) <= 0);
		memcpy(prev, ts, CN_TAI_LEN);
	}
	/* One tick per initiation: an hour of ticks is ~214,000 of them. */
	assert_int_equal(writes, 2);
	assert_true(cn_tai_unix_seconds(prev) > 1800000000);
	/* A failed write: the next label still increases; the write is asked again. */
	clock_label(clk, 5, 0);
	uint8_t persisted_before[CN_TAI_LEN];
	memcpy(persisted_before, f.persisted, CN_TAI_LEN);
	for (int i = 0; i < 400000; i++)
		if (cn_tai_floor_next(&f, clk, ts, fl))
			break; /* not persisted */
	assert_true(cn_tai_floor_next(&f, clk, ts, fl));
	assert_memory_equal(f.persisted, persisted_before, CN_TAI_LEN);
}

static void test_ticks_and_carry(void **state)
{
	struct cn_tai_floor f;
	uint8_t clk[CN_TAI_LEN], ts[CN_TAI_LEN], fl[CN_TAI_LEN], want[CN_TAI_LEN];

	(void)state;
	cn_tai_floor_init(&f);
	clock_label(clk, 100, 999999999); /* rounds to 59 ticks */
	(void)cn_tai_floor_next(&f, clk, ts, fl);
	(void)cn_tai_floor_next(&f, clk, ts, fl); /* same clock: one tick up, carries */
	clock_label(want, 101, 0);
	assert_memory_equal(ts, want, CN_TAI_LEN);
	(void)cn_tai_floor_next(&f, clk, ts, fl);
	clock_label(want, 101, CN_TAI_TICK_NS);
	assert_memory_equal(ts, want, CN_TAI_LEN);
	/* The floor to write is the label plus an hour. */
	assert_int_equal(cn_tai_unix_seconds(fl), 101 + CN_TAI_FLOOR_AHEAD_S);
}

static void test_file(void **state)
{
	struct cn_tai_floor f;
	uint8_t l[CN_TAI_LEN];
	char text[CN_TAI_FLOOR_TEXT_LEN + 1];

	(void)state;
	clock_label(l, 1800000000, 5 << 24);
	cn_tai_floor_format(l, text);
	assert_int_equal(strlen(text), 25);
	assert_int_equal(cn_tai_floor_parse(&f, text, 25), 0);
	assert_memory_equal(f.persisted, l, CN_TAI_LEN);
	assert_int_equal(cn_tai_floor_parse(&f, text, 24), 0); /* no newline */
	assert_int_equal(cn_tai_floor_parse(&f, text, 23), -CN_EFORMAT);
	assert_int_equal(cn_tai_floor_parse(&f, "", 0), -CN_EFORMAT);
	text[3] = 'G';
	assert_int_equal(cn_tai_floor_parse(&f, text, 25), -CN_EFORMAT);
	text[3] = 'A'; /* uppercase is not what we write */
	assert_int_equal(cn_tai_floor_parse(&f, text, 25), -CN_EFORMAT);
	/* Nanoseconds >= 10^9; a label before 1970; the top bit set. */
	assert_int_equal(cn_tai_floor_parse(&f,
					    "4000000000000010"
					    "3b9aca00\n",
					    25),
			 -CN_EFORMAT);
	assert_int_equal(cn_tai_floor_parse(&f,
					    "3fffffffffffffff"
					    "00000000\n",
					    25),
			 -CN_EFORMAT);
	assert_int_equal(cn_tai_floor_parse(&f,
					    "c000000000000010"
					    "00000000\n",
					    25),
			 -CN_EFORMAT);
	assert_int_equal(cn_tai_floor_parse(&f,
					    "400000000000000a"
					    "00000000\n",
					    25),
			 0);
	assert_int_equal(cn_tai_floor_parse(&f,
					    "400000000000000a"
					    "00000000\n\n",
					    26),
			 -CN_EFORMAT);
}

static void test_list_expiry(void **state)
{
	struct cn_listclock s = {0};
	struct cn_listclock_result r;
	const int64_t exp = 1800000000;

	(void)state;
	/* No expiry; not yet expired. */
	r = cn_listclock_check(&s, 0, 1900000000, 0, 0);
	assert_int_equal(r.verdict, CN_LIST_OK);
	r = cn_listclock_check(&s, exp, exp - 1, 0, 0);
	assert_int_equal(r.verdict, CN_LIST_OK);
	/* A board at 1970 whose floor says it was past the expiry: expired. */
	r = cn_listclock_check(&s, exp, 5, exp + 100, 1000);
	assert_int_equal(r.verdict, CN_LIST_GRACE);
	assert_true(r.warn);
	assert_int_equal(r.trusted_now, exp + 100);
	assert_int_equal(r.grace_left_ms, CN_LISTCLOCK_GRACE_MS);
	/* Warned once, then hourly. */
	r = cn_listclock_check(&s, exp, 5, exp + 100, 1000 + 60000);
	assert_false(r.warn);
	r = cn_listclock_check(&s, exp, 5, exp + 100, 1000 + CN_LISTCLOCK_WARN_MS);
	assert_true(r.warn);
	/* The wall clock jumping around does not restart the grace. */
	r = cn_listclock_check(&s, exp, exp + 999999, 0, 1000 + CN_LISTCLOCK_GRACE_MS - 1);
	assert_int_equal(r.verdict, CN_LIST_GRACE);
	assert_int_equal(r.grace_left_ms, 1);
	r = cn_listclock_check(&s, exp, exp + 5, 0, 1000 + CN_LISTCLOCK_GRACE_MS);
	assert_int_equal(r.verdict, CN_LIST_RESTRICTED);
	/* A newer list, valid at the trusted time, ends it at once. */
	r = cn_listclock_check(&s, exp + 86400 * 30, exp + 5, 0, 1000 + CN_LISTCLOCK_GRACE_MS + 1);
	assert_int_equal(r.verdict, CN_LIST_OK);
	assert_false(s.expired);
	/* Expiry equal to now is expired (docs/PEERLIST.md: expires <= now). */
	r = cn_listclock_check(&s, exp, exp, 0, 5);
	assert_int_equal(r.verdict, CN_LIST_GRACE);
	assert_int_equal(cn_listclock_trusted_now(10, 0), 10);
	assert_int_equal(cn_listclock_trusted_now(10, 20), 20);
}

/* A shorter grace period (the test-only CN_TEST_LIST_GRACE_S) survives a valid list. */
static void test_list_grace_knob(void **state)
{
	struct cn_listclock s = {.grace_ms = 5000};
	struct cn_listclock_result r;
	const int64_t exp = 1800000000;

	(void)state;
	r = cn_listclock_check(&s, exp, exp + 1, 0, 100);
	assert_int_equal(r.verdict, CN_LIST_GRACE);
	assert_int_equal(r.grace_left_ms, 5000);
	r = cn_listclock_check(&s, exp, exp + 1, 0, 5099);
	assert_int_equal(r.verdict, CN_LIST_GRACE);
	r = cn_listclock_check(&s, exp, exp + 1, 0, 5100);
	assert_int_equal(r.verdict, CN_LIST_RESTRICTED);
	r = cn_listclock_check(&s, exp + 86400, exp + 1, 0, 5200);
	assert_int_equal(r.verdict, CN_LIST_OK);
	assert_int_equal(s.grace_ms, 5000);
	r = cn_listclock_check(&s, exp + 86400, exp + 86400, 0, 6000);
	assert_int_equal(r.grace_left_ms, 5000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_monotonic_across_reboot),
		cmocka_unit_test(test_ticks_and_carry),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_list_expiry),
		cmocka_unit_test(test_list_grace_knob),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
