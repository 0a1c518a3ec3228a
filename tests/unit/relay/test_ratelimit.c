/* SPDX-License-Identifier: MIT */
/*
 * The per-source handshake limiter (relay/ratelimit.h), shared by the relay
 * and the node: a burst then the rate, refill over time, sources kept
 * apart, the port ignored (one host, one bucket), IPv6.
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

static struct sockaddr_in v4(const char *ip, uint16_t port)
{
	struct sockaddr_in s;

	memset(&s, 0, sizeof(s));
	s.sin_family = AF_INET;
	s.sin_port = htons(port);
	assert_int_equal(inet_pton(AF_INET, ip, &s.sin_addr), 1);
	return s;
}

static void test_burst_and_refill(void **state)
{
	struct cn_ratelimiter *rl = malloc(sizeof(*rl));
	struct sockaddr_in a = v4("192.0.2.1", 1), a2 = v4("192.0.2.1", 2), b = v4("192.0.2.2", 1);
	const struct sockaddr *sa = (const struct sockaddr *)&a;
	struct sockaddr_in6 s6;

	(void)state;
	assert_non_null(rl);
	cn_ratelimit_init(rl, 10, 5);
	for (int i = 0; i < 5; i++)
		assert_true(cn_ratelimit_allow(rl, sa, 1000));
	assert_false(cn_ratelimit_allow(rl, sa, 1000));
	/* Another port of the same host shares the bucket; another host does not. */
	assert_false(cn_ratelimit_allow(rl, (const struct sockaddr *)&a2, 1000));
	assert_true(cn_ratelimit_allow(rl, (const struct sockaddr *)&b, 1000));
	/* 10 per second: one more token after 100 ms, not before. */
	assert_false(cn_ratelimit_allow(rl, sa, 1099));
	assert_true(cn_ratelimit_allow(rl, sa, 1100));
	assert_false(cn_ratelimit_allow(rl, sa, 1100));
	/* Refilled to the burst, no more. */
	for (int i = 0; i < 5; i++)
		assert_true(cn_ratelimit_allow(rl, sa, 60000));
	assert_false(cn_ratelimit_allow(rl, sa, 60000));
	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, "2001:db8::1", &s6.sin6_addr), 1);
	for (int i = 0; i < 5; i++)
		assert_true(cn_ratelimit_allow(rl, (const struct sockaddr *)&s6, 1000));
	assert_false(cn_ratelimit_allow(rl, (const struct sockaddr *)&s6, 1000));
	free(rl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_and_refill),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
