/* SPDX-License-Identifier: MIT */
/*
 * relay/ratelimit.c: token buckets per source address refill with time and
 * refuse past the burst; byte credit comes only from what an address sent
 * and is spent by answers, never shared with another address.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "relay/ratelimit.h"

static struct cn_ratelimiter rl;

static struct sockaddr_in v4(const char *ip, uint16_t port)
{
	struct sockaddr_in s = {.sin_family = AF_INET, .sin_port = htons(port)};

	inet_pton(AF_INET, ip, &s.sin_addr);
	return s;
}

static void test_bucket(void **state)
{
	struct sockaddr_in a = v4("192.0.2.1", 1), a2 = v4("192.0.2.1", 2), b = v4("192.0.2.2", 1);
	int ok = 0;

	(void)state;
	cn_ratelimit_init(&rl, 10, 5);
	for (int i = 0; i < 20; i++)
		ok += cn_ratelimit_allow(&rl, (struct sockaddr *)&a, 1000);
	assert_int_equal(ok, 5);
	/* The port does not matter; another address has its own bucket. */
	assert_false(cn_ratelimit_allow(&rl, (struct sockaddr *)&a2, 1000));
	assert_true(cn_ratelimit_allow(&rl, (struct sockaddr *)&b, 1000));
	/* 100 ms refill one token at 10/s. */
	assert_true(cn_ratelimit_allow(&rl, (struct sockaddr *)&a, 1100));
	assert_false(cn_ratelimit_allow(&rl, (struct sockaddr *)&a, 1100));
}

static void test_credit(void **state)
{
	struct sockaddr_in a = v4("192.0.2.1", 1), b = v4("192.0.2.2", 1);

	(void)state;
	cn_ratelimit_init(&rl, 1024, 1024);
	/* Nothing sent, nothing answered; time adds nothing. */
	assert_false(cn_ratelimit_credit_take(&rl, (struct sockaddr *)&a, 0, 1));
	assert_false(cn_ratelimit_credit_take(&rl, (struct sockaddr *)&a, 500, 1));
	cn_ratelimit_credit_add(&rl, (struct sockaddr *)&a, 600, 20);
	assert_false(cn_ratelimit_credit_take(&rl, (struct sockaddr *)&a, 600, 32));
	cn_ratelimit_credit_add(&rl, (struct sockaddr *)&a, 700, 20);
	assert_true(cn_ratelimit_credit_take(&rl, (struct sockaddr *)&a, 700, 32));
	assert_false(cn_ratelimit_credit_take(&rl, (struct sockaddr *)&a, 700, 9));
	assert_true(cn_ratelimit_credit_take(&rl, (struct sockaddr *)&a, 700, 8));
	/* b cannot spend a's credit; the cap holds. */
	cn_ratelimit_credit_add(&rl, (struct sockaddr *)&a, 800, 5000);
	assert_false(cn_ratelimit_credit_take(&rl, (struct sockaddr *)&b, 800, 1));
	assert_false(cn_ratelimit_credit_take(&rl, (struct sockaddr *)&a, 800, 1025));
	assert_true(cn_ratelimit_credit_take(&rl, (struct sockaddr *)&a, 800, 1024));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket),
		cmocka_unit_test(test_credit),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
