/* SPDX-License-Identifier: MIT */
/*
 * The peer list's values as text: names and domains, relay hosts, prefixes
 * and member addresses (peerlist_int.h). Pure checks on strings.
 */
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "common/dec.h"
#include "crypto/peerlist.h"
#include "crypto/peerlist_int.h"

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_lower(char c)
{
	return c >= 'a' && c <= 'z';
}

static bool is_alpha(char c)
{
	return is_lower(c) || (c >= 'A' && c <= 'Z');
}

/* One DNS label under cn_peerlist_name_valid's rules, s[0..n). */
static bool label_valid(const char *s, size_t n)
{
	if (n == 0 || n > CN_NAME_MAX || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_lower(s[i]) && !is_digit(s[i]) && s[i] != '-')
			return false;
	return true;
}

bool cn_peerlist_name_valid(const char *name)
{
	if (!name)
		return false;
	return label_valid(name, strnlen(name, CN_NAME_MAX + 1));
}

bool cn_pl_domain_valid(const char *s)
{
	size_t n, start = 0;

	if (!s)
		return false;
	n = strnlen(s, CN_DOMAIN_MAX + 1);
	if (n == 0 || n > CN_DOMAIN_MAX)
		return false;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '.')
			continue;
		if (!label_valid(s + start, i - start))
			return false;
		start = i + 1;
	}
	return true;
}

bool cn_pl_host_valid(const char *s)
{
	uint8_t a[16];
	size_t n, lab = 0;
	bool numeric = true;
	char prev = '.';

	if (!s)
		return false;
	n = strnlen(s, CN_HOST_MAX + 1);
	if (n == 0 || n > CN_HOST_MAX)
		return false;
	if (inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1)
		return true;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '.') {
			if (lab == 0 || prev == '-')
				return false;
			lab = 0;
			numeric = true;
		} else {
			/* '_' starts SRV labels ("_cairn._udp.example.net"), then a letter or
			 * digit. */
			if (!is_alpha(c) && !is_digit(c) && c != '-' &&
			    !(c == '_' && lab == 0 && i + 1 < n &&
			      (is_alpha(s[i + 1]) || is_digit(s[i + 1]))))
				return false;
			if ((lab == 0 && c == '-') || ++lab > CN_NAME_MAX)
				return false;
			if (!is_digit(c))
				numeric = false;
		}
		prev = c;
	}
	/*
	 * No empty or trailing label, and an all-digit last label is a
	 * mistyped IPv4 literal ("10.0.1"), which resolvers would read as a
	 * different address.
	 */
	return lab != 0 && prev != '-' && !numeric;
}

const char *cn_pl_shown(const char *s, char out[static CN_PL_SHOWN_LEN])
{
	enum { KEEP = CN_PL_SHOWN_LEN - 4 };
	size_t i;

	for (i = 0; s && s[i] && i < KEEP; i++)
		out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (s && s[i]) {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = '\0';
	return out;
}

/* ---- prefixes and addresses --------------------------------------------- */

/* The network mask byte i of a prefix of length plen. */
static uint8_t mask_byte(unsigned int plen, size_t i)
{
	if (plen >= 8 * (i + 1))
		return 0xff;
	if (plen <= 8 * i)
		return 0;
	return (uint8_t)(0xff << (8 - (plen - 8 * i)));
}

const char *cn_pl_prefix_parse(int af, const char *s, uint8_t *addr, unsigned int *len)
{
	char a[INET6_ADDRSTRLEN];
	uint8_t tmp[16];
	const char *slash, *p;
	size_t bytes = af == AF_INET ? 4 : 16;
	unsigned int lo = af == AF_INET ? CN_PL_PREFIX4_MIN : CN_PL_PREFIX6_MIN;
	unsigned int hi = af == AF_INET ? CN_PL_PREFIX4_MAX : CN_PL_PREFIX6_MAX;
	uint64_t v;

	slash = strchr(s, '/');
	if (!slash)
		return "is not of the form address/length";
	if (slash == s || (size_t)(slash - s) >= sizeof(a))
		return "has an invalid address";
	memcpy(a, s, (size_t)(slash - s));
	a[slash - s] = '\0';
	if (inet_pton(af, a, tmp) != 1)
		return af == AF_INET ? "has an invalid IPv4 address"
				     : "has an invalid IPv6 address";
	p = slash + 1;
	/* Decimal, no sign, no leading zero: one spelling per length. */
	if (!cn_dec_parse(p, strlen(p), 3, 128, CN_DEC_CANONICAL, &v))
		return "has an invalid length";
	if (v < lo || v > hi)
		return af == AF_INET ? "has a length outside 8 to 30"
				     : "has a length outside 48 to 120";
	for (size_t i = 0; i < bytes; i++)
		if (tmp[i] & (uint8_t)~mask_byte((unsigned int)v, i))
			return "has host bits set";
	memcpy(addr, tmp, bytes);
	*len = (unsigned int)v;
	return NULL;
}

void cn_pl_prefix_text(int af, const uint8_t *addr, unsigned int len,
		       char out[static CN_PL_PREFIX_TEXT])
{
	char a[INET6_ADDRSTRLEN];

	if (!inet_ntop(af, addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	snprintf(out, CN_PL_PREFIX_TEXT, "%s/%u", a, len);
}

/* Shared by the IPv4 and IPv6 checks; bcast is false for IPv6. */
static const char *host_check(const uint8_t *a, const uint8_t *prefix, unsigned int plen,
			      size_t bytes, bool bcast)
{
	bool zero = true, ones = true;

	for (size_t i = 0; i < bytes; i++) {
		uint8_t m = mask_byte(plen, i);

		if ((a[i] & m) != prefix[i])
			return "is outside the prefix";
		if (a[i] & (uint8_t)~m)
			zero = false;
		if ((a[i] | m) != 0xff)
			ones = false;
	}
	if (zero)
		return "is the network address of the prefix";
	if (bcast && ones)
		return "is the broadcast address of the prefix";
	return NULL;
}

const char *cn_pl_ip4_parse(const struct cn_peerlist *pl, const char *s, uint8_t ip4[4])
{
	uint8_t a[4];
	const char *why;

	if (strnlen(s, INET_ADDRSTRLEN) >= INET_ADDRSTRLEN || inet_pton(AF_INET, s, a) != 1)
		return "is not an IPv4 address";
	why = host_check(a, pl->prefix4, pl->prefix4_len, 4, true);
	if (!why)
		memcpy(ip4, a, 4);
	return why;
}

const char *cn_pl_ip6_parse(const struct cn_peerlist *pl, const char *s, uint8_t ip6[16])
{
	uint8_t a[16];
	const char *why;

	if (strnlen(s, INET6_ADDRSTRLEN) >= INET6_ADDRSTRLEN || inet_pton(AF_INET6, s, a) != 1)
		return "is not an IPv6 address";
	why = host_check(a, pl->prefix6, pl->prefix6_len, 16, false);
	if (!why)
		memcpy(ip6, a, 16);
	return why;
}
