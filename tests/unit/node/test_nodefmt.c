/* SPDX-License-Identifier: MIT */
/*
 * node/endpoints_fmt.c: the endpoints file's lines, with malformed input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "common/err.h"
#include "node/endpoints_fmt.h"

static int parse(const char *line, struct cn_endpoint_line *l)
{
	return cn_endpoint_line_parse(line, strlen(line), l);
}

static void test_endpoint_lines(void **state)
{
	struct cn_endpoint_line l, again;
	char buf[128];
	int n;

	(void)state;
	assert_int_equal(parse("board1 40000 192.0.2.7:51820", &l), 0);
	assert_string_equal(l.name, "board1");
	assert_int_equal(l.local_port, 40000);
	assert_int_equal(cn_addr_port((const struct sockaddr *)&l.remote.ss), 51820);
	n = cn_endpoint_line_format(&l, buf, sizeof(buf));
	assert_int_equal(n, (int)strlen("board1 40000 192.0.2.7:51820\n"));
	assert_string_equal(buf, "board1 40000 192.0.2.7:51820\n");
	assert_int_equal(cn_endpoint_line_parse(buf, (size_t)n - 1, &again), 0);
	assert_int_equal(parse("  cloud1  5000  [2001:db8::1]:443  ", &l), 0);
	assert_int_equal(l.remote.ss.ss_family, AF_INET6);
	/* Comments and blank lines are not entries. */
	assert_int_equal(parse("# cairn-node: last working direct endpoints", &l), 1);
	assert_int_equal(parse("", &l), 1);
	assert_int_equal(parse("   ", &l), 1);
	/* A formatted line too long for the buffer is refused, not cut. */
	assert_int_equal(cn_endpoint_line_format(&again, buf, 8), -CN_ETOOBIG);
}

static void test_endpoint_lines_malformed(void **state)
{
	static const char *const bad[] = {
		"board1",		      /* fields missing */
		"board1 40000",		      /* no address */
		"board1 0 192.0.2.7:1",	      /* port 0 */
		"board1 65536 192.0.2.7:1",   /* port too big */
		"board1 040000 192.0.2.7:1",  /* leading zero */
		"board1 4x 192.0.2.7:1",      /* not a number */
		"board1 -1 192.0.2.7:1",      /* sign */
		"Board1 1 192.0.2.7:1",	      /* not a peer name */
		"-board 1 192.0.2.7:1",	      /* not a peer name */
		"board1 1 192.0.2.7",	      /* no port */
		"board1 1 192.0.2.7:0",	      /* remote port 0 */
		"board1 1 example.net:443",   /* a name, not an address */
		"board1 1 192.0.2.7:1 extra", /* trailing field */
		"board1\t1\t192.0.2.7:1",     /* tabs are not separators */
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 1 1.2.3.4:5",
	};
	struct cn_endpoint_line l;
	char nul[] = "board1 1 192.0.2.7:1";

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse(bad[i], &l) != -CN_EFORMAT)
			fail_msg("accepted: '%s'", bad[i]);
	nul[6] = '\0';
	assert_int_equal(cn_endpoint_line_parse(nul, sizeof(nul) - 1, &l), -CN_EFORMAT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_endpoint_lines),
		cmocka_unit_test(test_endpoint_lines_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
