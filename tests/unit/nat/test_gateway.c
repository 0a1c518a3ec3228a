/* SPDX-License-Identifier: MIT */
/*
 * Default gateway from /proc/net/route text, including text that is not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "common/err.h"
#include "nat/gateway.h"

#define HDR "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"

static int parse(const char *text, char *gw, char *ifn)
{
	struct in_addr a = {0};
	int ret = cn_gateway_parse_route(text, strlen(text), &a, ifn);

	inet_ntop(AF_INET, &a, gw, INET_ADDRSTRLEN);
	return ret;
}

static void test_routes(void **state)
{
	char gw[INET_ADDRSTRLEN], ifn[IF_NAMESIZE];

	(void)state;
	/* A typical table: a LAN route and the default route via 192.168.1.1. */
	assert_int_equal(parse(HDR "eth0\t0001A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
				   "eth0\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n",
			       gw, ifn),
			 0);
	assert_string_equal(gw, "192.168.1.1");
	assert_string_equal(ifn, "eth0");
	/* Two defaults: the lower metric wins, whatever the order. */
	assert_int_equal(parse(HDR "wlan0\t00000000\t0102A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0\n"
				   "eth0\t00000000\t010010AC\t0003\t0\t0\t100\t00000000\t0\t0\t0\n",
			       gw, ifn),
			 0);
	assert_string_equal(gw, "172.16.0.1");
	assert_string_equal(ifn, "eth0");
	/* No trailing newline. */
	assert_int_equal(
		parse(HDR "eth0\t00000000\t0101A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0", gw, ifn),
		0);
	assert_string_equal(gw, "192.168.1.1");
}

static void test_not_routes(void **state)
{
	char gw[INET_ADDRSTRLEN], ifn[IF_NAMESIZE];

	(void)state;
	/* Empty, header only, header treated as data never. */
	assert_int_equal(parse("", gw, ifn), -CN_ENOTFOUND);
	assert_int_equal(parse(HDR, gw, ifn), -CN_ENOTFOUND);
	assert_int_equal(parse("eth0\t00000000\t0101A8C0\t0003\t0\t0\t0\t00000000\n", gw, ifn),
			 -CN_ENOTFOUND);
	/* A default route without RTF_GATEWAY, one that is down, gateway 0. */
	assert_int_equal(
		parse(HDR "eth0\t00000000\t0101A8C0\t0001\t0\t0\t0\t00000000\t0\t0\t0\n", gw, ifn),
		-CN_ENOTFOUND);
	assert_int_equal(
		parse(HDR "eth0\t00000000\t0101A8C0\t0002\t0\t0\t0\t00000000\t0\t0\t0\n", gw, ifn),
		-CN_ENOTFOUND);
	assert_int_equal(
		parse(HDR "eth0\t00000000\t00000000\t0003\t0\t0\t0\t00000000\t0\t0\t0\n", gw, ifn),
		-CN_ENOTFOUND);
	/* A route with a mask is not the default. */
	assert_int_equal(
		parse(HDR "eth0\t00000000\t0101A8C0\t0003\t0\t0\t0\t000000FF\t0\t0\t0\n", gw, ifn),
		-CN_ENOTFOUND);
	/* Garbage: bad hex, a hex too long, a metric over 32 bits, a cut
	 * line, an interface name too long; then one good line. */
	assert_int_equal(
		parse(HDR "eth0\t00000000\t0101A8CZ\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
			  "eth0\t00000000\t0101A8C000\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
			  "eth0\t00000000\t0101A8C0\t0003\t0\t0\t99999999999\t00000000\t0\t0\t0\n"
			  "eth0\t00000000\t0101A8C0\t0003\n"
			  "averyveryverylongname0\t00000000\t0101A8C0\t0003\t0\t0\t0\t00000000\n",
		      gw, ifn),
		-CN_ENOTFOUND);
	assert_int_equal(parse(HDR "eth0\t00000000\t0101A8CZ\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
				   "eth1\t00000000\t0201A8C0\t0003\t0\t0\t5\t00000000\t0\t0\t0\n",
			       gw, ifn),
			 0);
	assert_string_equal(gw, "192.168.1.2");
	/* Embedded NUL bytes are just bad characters. */
	{
		static const char nul[] = HDR "eth0\t00000000\t01\0"
					      "1A8C0\t0003\t0\t0\t0\t00000000\n";
		struct in_addr a;

		assert_int_equal(cn_gateway_parse_route(nul, sizeof(nul) - 1, &a, NULL),
				 -CN_ENOTFOUND);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_routes),
		cmocka_unit_test(test_not_routes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
