/* SPDX-License-Identifier: MIT */
/*
 * The remote SDP check (nat/ice_sdp.h) on its own: the text libnice's own
 * parser would mishandle (truncated, repeated or unknown lines, hostnames,
 * special addresses, out-of-range numbers, stray bytes), every cap at its
 * edge (total bytes, candidates, ufrag/pwd and foundation lengths,
 * numbers), and that *ncand is 0 after every refusal.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "nat/ice_sdp.h"

#define HEAD "a=ice-ufrag:abcd\na=ice-pwd:abcdefghijklmnopqrstuv\n"

static const char good_sdp[] =
	"a=ice-ufrag:abcd\n"
	"a=ice-pwd:abcdefghijklmnopqrstuv\n"
	"a=candidate:1 1 UDP 2013266431 127.0.0.1 40000 typ host\n"
	"a=candidate:2 1 udp 1677721855 203.0.113.7 41000 typ srflx raddr 192.168.1.2 rport 40000\n"
	"a=candidate:3 1 UDP 16777215 2001:db8::1 3478 typ relay raddr 0.0.0.0 rport 9\n";

static void test_refused(void **state)
{
	static const char *const bad[] = {
		"", "a=ice-ufrag:abcd\na=ice-pwd:abcdefghijklmnopqrstuv\n", /* no candidate */
		"a=ice-pwd:abcdefghijklmnopqrstuv\na=candidate:1 1 UDP 1 127.0.0.1 1 typ host",
		"a=ice-ufrag:abcd\na=candidate:1 1 UDP 1 127.0.0.1 1 typ host",
		"a=ice-ufrag:abcd\na=ice-ufrag:abce\na=ice-pwd:abcdefghijklmnopqrstuv\n"
		"a=candidate:1 1 UDP 1 127.0.0.1 1 typ host",
		"a=ice-ufrag:abc\na=ice-pwd:abcdefghijklmnopqrstuv\n"
		"a=candidate:1 1 UDP 1 127.0.0.1 1 typ host", /* ufrag too short */
		"a=ice-ufrag:ab-d\na=ice-pwd:abcdefghijklmnopqrstuv\n"
		"a=candidate:1 1 UDP 1 127.0.0.1 1 typ host", /* not an ice-char */
		"a=ice-ufrag:abcd\na=ice-pwd:short\na=candidate:1 1 UDP 1 127.0.0.1 1 typ host",
		/* truncated candidate (libnice would pass NULL to strcasecmp) */
		"a=ice-ufrag:abcd\na=ice-pwd:abcdefghijklmnopqrstuv\na=candidate:1 1 UDP",
		"a=ice-ufrag:abcd\na=ice-pwd:abcdefghijklmnopqrstuv\n"
		"a=candidate:1 2 UDP 1 127.0.0.1 1 typ host", /* component 2 */
		"a=ice-ufrag:abcd\na=ice-pwd:abcdefghijklmnopqrstuv\n"
		"a=candidate:1 1 TCP 1 127.0.0.1 1 typ host tcptype passive",
		"a=ice-ufrag:abcd\na=ice-pwd:abcdefghijklmnopqrstuv\n"
		"a=candidate:1 1 UDP 1 relay.example.com 1 typ host", /* hostname */
		"a=ice-ufrag:abcd\na=ice-pwd:abcdefghijklmnopqrstuv\n"
		"a=candidate:1 1 UDP 1 0.0.0.0 1 typ host", /* unspecified */
		"a=ice-ufrag:abcd\na=ice-pwd:abcdefghijklmnopqrstuv\n"
		"a=candidate:1 1 UDP 1 224.0.0.1 1 typ host", /* multicast */
		"a=ice-ufrag:abcd\na=ice-pwd:abcdefghijklmnopqrstuv\n"
		"a=candidate:1 1 UDP 1 127.0.0.1 0 typ host", /* port 0 */
		"a=ice-ufrag:abcd\na=ice-pwd:abcdefghijklmnopqrstuv\n"
		"a=candidate:1 1 UDP 1 127.0.0.1 65536 typ host",
		"a=ice-ufrag:abcd\na=ice-pwd:abcdefghijklmnopqrstuv\n"
		"a=candidate:1 1 UDP 4294967296 127.0.0.1 1 typ host", /* priority > 2^32-1 */
		"a=ice-ufrag:abcd\na=ice-pwd:abcdefghijklmnopqrstuv\n"
		"a=candidate:1 1 UDP -1 127.0.0.1 1 typ host",
		"a=ice-ufrag:abcd\na=ice-pwd:abcdefghijklmnopqrstuv\n"
		"a=candidate:1 1 UDP 1 127.0.0.1 1 typ bogus",
		"a=ice-ufrag:abcd\na=ice-pwd:abcdefghijklmnopqrstuv\n"
		"a=candidate:1 1 UDP 1 127.0.0.1 1 typ host raddr 1.2.3.4", /* half raddr */
		"a=ice-ufrag:abcd\na=ice-pwd:abcdefghijklmnopqrstuv\n"
		"a=candidate:1  1 UDP 1 127.0.0.1 1 typ host", /* double space */
		"a=ice-ufrag:abcd\na=ice-pwd:abcdefghijklmnopqrstuv\n"
		"a=candidate:1 1 UDP 1 127.0.0.1 1 typ host ", /* trailing space */
		"a=ice-ufrag:abcd\na=ice-pwd:abcdefghijklmnopqrstuv\n\n"
		"a=candidate:1 1 UDP 1 127.0.0.1 1 typ host", /* empty line */
		"a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuv\r\n"
		"a=candidate:1 1 UDP 1 127.0.0.1 1 typ host", /* CR */
		"a=ice-ufrag:abcd\na=ice-pwd:abcdefghijklmnopqrstuv\n"
		"a=candidate:1 1 UDP 1 127.0.0.1 1 typ host\tx",
		"a=ice-ufrag:abcd\na=ice-pwd:abcdefghijklmnopqrstuv\n"
		"a=candidate:1 1 UDP 1 127.0.0.1 1 typ host\n"
		"m=audio 9 RTP/AVP 0", /* anything else */
		"a=ice-ufrag:abcd\na=ice-pwd:abcdefghijklmnopqrstuv\n"
		"a=candidate:1 1 UDP 1 127.0.0.1 1 typ host\n"
		"a=ice-ufrag:\xc3\xa9t\xc3\xa9", /* non-ASCII */
	};
	char big[CN_ICE_SDP_MAX + 64], many[CN_ICE_SDP_MAX + 1];
	unsigned int n = 99;
	size_t len;

	(void)state;
	assert_int_equal(cn_ice_sdp_check(good_sdp, &n), 0);
	assert_int_equal(n, 3);
	/* Without the final newline too. */
	memcpy(big, good_sdp, sizeof(good_sdp));
	big[strlen(big) - 1] = '\0';
	assert_int_equal(cn_ice_sdp_check(big, NULL), 0);

	assert_int_equal(cn_ice_sdp_check(NULL, &n), -CN_EINVAL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = 99;
		if (cn_ice_sdp_check(bad[i], &n) != -CN_EFORMAT)
			fail_msg("accepted bad SDP #%zu: %s", i, bad[i]);
		assert_int_equal(n, 0);
	}

	/* Over the cap: refused on size, before any parsing. */
	len = strlen(good_sdp);
	memcpy(big, good_sdp, len);
	memset(big + len, 'x', sizeof(big) - len - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(cn_ice_sdp_check(big, &n), -CN_ETOOBIG);

	/* More candidates than CN_ICE_MAX_CANDIDATES, within the byte cap. */
	len = (size_t)snprintf(many, sizeof(many), "a=ice-ufrag:abcd\na=ice-pwd:%s\n",
			       "abcdefghijklmnopqrstuv");
	for (unsigned int i = 0; i <= CN_ICE_MAX_CANDIDATES; i++)
		len += (size_t)snprintf(many + len, sizeof(many) - len,
					"a=candidate:%u 1 UDP 1 127.0.0.1 %u typ host\n", i,
					1000 + i);
	assert_true(len < sizeof(many) - 1);
	assert_int_equal(cn_ice_sdp_check(many, &n), -CN_EFORMAT);
}

static void test_edges(void **state)
{
	char buf[CN_ICE_SDP_MAX + 2], line[CN_ICE_SDP_LINE_MAX + 64], fnd[40], frag[300];
	unsigned int n = 99;
	size_t len;

	(void)state;
	/* Exactly CN_ICE_MAX_CANDIDATES candidates: accepted. */
	len = (size_t)snprintf(buf, sizeof(buf), HEAD);
	for (unsigned int i = 0; i < CN_ICE_MAX_CANDIDATES; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len,
					"a=candidate:%u 1 UDP 1 127.0.0.1 %u typ host\n", i,
					1000 + i);
	assert_true(len < CN_ICE_SDP_MAX);
	assert_int_equal(cn_ice_sdp_check(buf, &n), 0);
	assert_int_equal(n, CN_ICE_MAX_CANDIDATES);

	/* Exactly CN_ICE_SDP_MAX bytes: accepted; one more: too big. Twenty
	 * long candidates (longest foundation, priority, IPv6 literals and
	 * ports), a 256-byte ufrag, and a pwd whose length makes up the rest. */
	{
		char cands[CN_ICE_SDP_MAX], pwd[257];
		size_t clen = 0, plen;

		for (unsigned int i = 0; i < 20; i++)
			clen += (size_t)snprintf(
				cands + clen, sizeof(cands) - clen,
				"a=candidate:%032u 1 UDP 4294967295 "
				"2001:db8:ffff:ffff:ffff:ffff:255.255.255.255 %u typ srflx raddr "
				"2001:db8:ffff:ffff:ffff:ffff:255.255.255.255 rport 65535\n",
				i, 60000 + i);
		plen = CN_ICE_SDP_MAX - (12 + 256 + 1) - (10 + 1) - clen;
		assert_true(plen >= 22 && plen <= 256);
		memset(pwd, 'p', plen);
		pwd[plen] = '\0';
		memset(frag, 'u', sizeof(frag));
		len = (size_t)snprintf(buf, sizeof(buf), "a=ice-ufrag:%.256s\na=ice-pwd:%s\n%s",
				       frag, pwd, cands);
		assert_int_equal(len, CN_ICE_SDP_MAX);
		assert_int_equal(cn_ice_sdp_check(buf, &n), 0);
		assert_int_equal(n, 20);
		buf[len] = '\n';
		buf[len + 1] = '\0';
		assert_int_equal(cn_ice_sdp_check(buf, &n), -CN_ETOOBIG);
		assert_int_equal(n, 0);
	}

	/* Foundation: 32 ice-chars accepted, 33 refused. */
	memset(fnd, 'f', sizeof(fnd));
	snprintf(buf, sizeof(buf), HEAD "a=candidate:%.32s 1 UDP 1 127.0.0.1 1 typ host", fnd);
	assert_int_equal(cn_ice_sdp_check(buf, NULL), 0);
	snprintf(buf, sizeof(buf), HEAD "a=candidate:%.33s 1 UDP 1 127.0.0.1 1 typ host", fnd);
	assert_int_equal(cn_ice_sdp_check(buf, NULL), -CN_EFORMAT);

	/* ufrag 256 accepted, 257 refused; pwd 21 refused, 22 accepted. */
	memset(frag, 'u', sizeof(frag));
	snprintf(buf, sizeof(buf),
		 "a=ice-ufrag:%.256s\na=ice-pwd:abcdefghijklmnopqrstuv\n"
		 "a=candidate:1 1 UDP 1 127.0.0.1 1 typ host",
		 frag);
	assert_int_equal(cn_ice_sdp_check(buf, NULL), 0);
	snprintf(buf, sizeof(buf),
		 "a=ice-ufrag:%.257s\na=ice-pwd:abcdefghijklmnopqrstuv\n"
		 "a=candidate:1 1 UDP 1 127.0.0.1 1 typ host",
		 frag);
	assert_int_equal(cn_ice_sdp_check(buf, NULL), -CN_EFORMAT);
	snprintf(buf, sizeof(buf),
		 "a=ice-ufrag:abcd\na=ice-pwd:%.21s\na=candidate:1 1 UDP 1 127.0.0.1 1 typ host",
		 frag);
	assert_int_equal(cn_ice_sdp_check(buf, NULL), -CN_EFORMAT);

	/* Numbers at their edges: priority 2^32-1, port 65535, rport 0. */
	assert_int_equal(cn_ice_sdp_check(HEAD "a=candidate:1 1 UDP 4294967295 127.0.0.1 65535 "
					       "typ srflx raddr 10.0.0.1 rport 0",
					  NULL),
			 0);
	/* Leading zeros beyond the digit cap. */
	assert_int_equal(
		cn_ice_sdp_check(HEAD "a=candidate:1 1 UDP 1 127.0.0.1 000001 typ host", NULL),
		-CN_EFORMAT);
	/* A candidate line over CN_ICE_SDP_LINE_MAX (the tokens' own caps keep
	 * a valid line far shorter, so this is the backstop's case). */
	len = (size_t)snprintf(line, sizeof(line), "1 1 UDP 1 127.0.0.1 1 typ host");
	memset(line + len, ' ', CN_ICE_SDP_LINE_MAX + 1 - len);
	line[CN_ICE_SDP_LINE_MAX + 1] = '\0';
	snprintf(buf, sizeof(buf), HEAD "a=candidate:%s", line);
	assert_int_equal(cn_ice_sdp_check(buf, &n), -CN_EFORMAT);
	assert_int_equal(n, 0);
	/* IPv6 with zone or brackets: not an IP literal here. */
	assert_int_equal(
		cn_ice_sdp_check(HEAD "a=candidate:1 1 UDP 1 fe80::1%eth0 1 typ host", NULL),
		-CN_EFORMAT);
	assert_int_equal(
		cn_ice_sdp_check(HEAD "a=candidate:1 1 UDP 1 [2001:db8::1] 1 typ host", NULL),
		-CN_EFORMAT);
	/* A NUL ends the text: what follows is not looked at. */
	memcpy(buf, HEAD "a=candidate:1 1 UDP 1 127.0.0.1 1 typ host\0garbage",
	       sizeof(HEAD "a=candidate:1 1 UDP 1 127.0.0.1 1 typ host\0garbage"));
	assert_int_equal(cn_ice_sdp_check(buf, &n), 0);
	assert_int_equal(n, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_edges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
