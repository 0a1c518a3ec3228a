/* SPDX-License-Identifier: MIT */
/*
 * Socket address text and the compact cn_addr: parse and format round
 * trips, malformed text refused, and cn_addr_set refusing what does not
 * fit (a sockaddr longer than IPv6's, another family, a short length).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>
#include <sys/un.h>

#include <cmocka.h>

#include "common/addr.h"
#include "common/err.h"

static void test_round_trip(void **state)
{
	static const char *const good[] = {"192.0.2.1:443", "0.0.0.0:0", "[2001:db8::1]:65535",
					   "[::ffff:192.0.2.7]:80"};
	char text[CN_ADDR_TEXT_MAX];
	struct cn_addr a;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(cn_addr_parse(good[i], &a), 0);
		assert_true(a.len <= sizeof(a.ss));
		cn_addr_format((const struct sockaddr *)&a.ss, text);
		assert_string_equal(text, good[i]);
	}
	assert_int_equal(cn_addr_parse("[2001:db8::1]:443", &a), 0);
	assert_int_equal(a.ss.ss_family, AF_INET6);
	assert_int_equal(cn_addr_port((const struct sockaddr *)&a.ss), 443);
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {"",
					  ":",
					  "192.0.2.1",
					  "192.0.2.1:",
					  "192.0.2.1:65536",
					  "192.0.2.1:-1",
					  "192.0.2.1:44a",
					  "192.0.2.256:1",
					  "[2001:db8::1]443",
					  "[2001:db8::1:443",
					  "[]:443",
					  "2001:db8::1:443",
					  "[192.0.2.1]:443",
					  "host.example:443",
					  "192.0.2.1:000443"};
	struct cn_addr a;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(cn_addr_parse(bad[i], &a), -CN_EFORMAT);
}

static void test_set(void **state)
{
	struct sockaddr_in s4 = {.sin_family = AF_INET, .sin_port = htons(7)};
	struct sockaddr_in6 s6 = {.sin6_family = AF_INET6, .sin6_port = htons(9)};
	struct sockaddr_storage big = {.ss_family = AF_INET6};
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	struct cn_addr a, b;

	(void)state;
	s6.sin6_addr.s6_addr[15] = 1;
	assert_int_equal(cn_addr_set(&a, (struct sockaddr *)&s4, sizeof(s4)), 0);
	assert_int_equal(a.len, sizeof(s4));
	assert_int_equal(cn_addr_port((struct sockaddr *)&a.ss), 7);
	assert_int_equal(cn_addr_set(&b, (struct sockaddr *)&s6, sizeof(s6)), 0);
	assert_int_equal(b.len, sizeof(s6));
	assert_memory_equal(&b.ss.in6, &s6, sizeof(s6));
	assert_false(cn_addr_equal((struct sockaddr *)&a.ss, (struct sockaddr *)&b.ss));
	/* What does not fit or is not IP is refused, and nothing is half copied. */
	memset(&a, 0xa5, sizeof(a));
	assert_int_equal(cn_addr_set(&a, (struct sockaddr *)&big, sizeof(big)), -CN_EINVAL);
	assert_int_equal(cn_addr_set(&a, (struct sockaddr *)&un, sizeof(un)), -CN_EINVAL);
	assert_int_equal(cn_addr_set(&a, (struct sockaddr *)&s4, sizeof(s4) - 1), -CN_EINVAL);
	assert_int_equal(cn_addr_set(&a, (struct sockaddr *)&s6, sizeof(s4)), -CN_EINVAL);
	assert_int_equal(cn_addr_set(&a, NULL, 0), -CN_EINVAL);
	assert_int_equal(a.len, 0xa5a5a5a5u);
	/* Small, as a node keeps several per peer of its list. */
	assert_true(sizeof(struct cn_addr) <= 32);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_set),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
