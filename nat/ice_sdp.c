/* SPDX-License-Identifier: MIT */
/*
 * The remote SDP check (ice_sdp.h): a line scanner over the whole text,
 * then one token scanner per candidate line. Pure; reads only the bytes
 * before the NUL and at most CN_ICE_SDP_MAX + 1 of them.
 */
#include "nat/ice_sdp.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "common/dec.h"

struct tok {
	const char *p;
	size_t n;
};

static bool tok_is(struct tok t, const char *s)
{
	return t.n == strlen(s) && memcmp(t.p, s, t.n) == 0;
}

static bool is_ice_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/';
}

static bool ice_chars(const char *p, size_t n, size_t min, size_t max)
{
	if (n < min || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_ice_char(p[i]))
			return false;
	return true;
}

/* Decimal without sign or leading junk, at most max_digits, value <= max. */
static bool number(struct tok t, size_t max_digits, uint64_t min, uint64_t max)
{
	uint64_t v;

	return cn_dec_parse(t.p, t.n, max_digits, max, CN_DEC_ANY, &v) && v >= min;
}

static bool ip_literal(struct tok t, bool allow_unspecified)
{
	return cn_ice_sdp_ip_literal(t.p, t.n, allow_unspecified);
}

bool cn_ice_sdp_ip_literal(const char *p, size_t n, bool allow_unspecified)
{
	struct tok t = {p, n};
	char buf[INET6_ADDRSTRLEN];
	struct in_addr a4;
	struct in6_addr a6;

	if (t.n == 0 || t.n >= sizeof(buf))
		return false;
	memcpy(buf, t.p, t.n);
	buf[t.n] = '\0';
	if (inet_pton(AF_INET, buf, &a4) == 1) {
		uint32_t h = ntohl(a4.s_addr);

		if (IN_MULTICAST(h) || h == INADDR_BROADCAST)
			return false;
		return allow_unspecified || h != INADDR_ANY;
	}
	if (inet_pton(AF_INET6, buf, &a6) == 1) {
		if (IN6_IS_ADDR_MULTICAST(&a6))
			return false;
		return allow_unspecified || !IN6_IS_ADDR_UNSPECIFIED(&a6);
	}
	return false;
}

/* "<foundation> 1 UDP <prio> <ip> <port> typ <type> [raddr <ip> rport <port>]" */
static bool candidate_ok(const char *p, size_t n)
{
	static const char *const types[] = {"host", "srflx", "prflx", "relay"};
	struct tok t[12];
	size_t nt = 0, start = 0;
	bool type_ok = false;

	if (n > CN_ICE_SDP_LINE_MAX)
		return false;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && p[i] != ' ')
			continue;
		if (i == start || nt == sizeof(t) / sizeof(t[0]))
			return false; /* empty token (double or edge space), or too many */
		t[nt++] = (struct tok){p + start, i - start};
		start = i + 1;
	}
	if (nt != 8 && nt != 12)
		return false;
	if (!ice_chars(t[0].p, t[0].n, 1, 32) || !tok_is(t[1], "1") || t[2].n != 3 ||
	    strncasecmp(t[2].p, "UDP", 3) != 0 || !number(t[3], 10, 1, UINT32_MAX) ||
	    !ip_literal(t[4], false) || !number(t[5], 5, 1, 65535) || !tok_is(t[6], "typ"))
		return false;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		type_ok |= tok_is(t[7], types[i]);
	if (!type_ok)
		return false;
	if (nt == 12 && (!tok_is(t[8], "raddr") || !ip_literal(t[9], true) ||
			 !tok_is(t[10], "rport") || !number(t[11], 5, 0, 65535)))
		return false;
	return true;
}

static bool has_prefix(const char *p, size_t n, const char *prefix)
{
	size_t k = strlen(prefix);

	return n >= k && memcmp(p, prefix, k) == 0;
}

int cn_ice_sdp_check(const char *sdp, unsigned int *ncand)
{
	unsigned int nufrag = 0, npwd = 0, ncands = 0;
	const char *p, *end;
	size_t len;

	if (ncand)
		*ncand = 0;
	if (!sdp)
		return -CN_EINVAL;
	len = strnlen(sdp, CN_ICE_SDP_MAX + 1);
	if (len > CN_ICE_SDP_MAX)
		return -CN_ETOOBIG;
	for (size_t i = 0; i < len; i++)
		if (sdp[i] != '\n' && (sdp[i] < 0x20 || sdp[i] > 0x7e))
			return -CN_EFORMAT;

	for (p = sdp, end = sdp + len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (n == 0)
			return -CN_EFORMAT;
		if (has_prefix(p, n, "a=ice-ufrag:")) {
			if (nufrag++ || !ice_chars(p + 12, n - 12, 4, 256))
				return -CN_EFORMAT;
		} else if (has_prefix(p, n, "a=ice-pwd:")) {
			if (npwd++ || !ice_chars(p + 10, n - 10, 22, 256))
				return -CN_EFORMAT;
		} else if (has_prefix(p, n, "a=candidate:")) {
			if (++ncands > CN_ICE_MAX_CANDIDATES || !candidate_ok(p + 12, n - 12))
				return -CN_EFORMAT;
		} else {
			return -CN_EFORMAT;
		}
		p += n + (nl ? 1 : 0);
	}
	if (nufrag != 1 || npwd != 1 || ncands == 0)
		return -CN_EFORMAT;
	if (ncand)
		*ncand = ncands;
	return 0;
}

bool cn_ice_sdp_candidate_line_ok(const char *line, size_t n)
{
	return has_prefix(line, n, "a=candidate:") && candidate_ok(line + 12, n - 12);
}
