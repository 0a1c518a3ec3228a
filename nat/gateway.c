/* SPDX-License-Identifier: MIT */
/*
 * Default gateway from /proc/net/route text; format in gateway.h.
 */
#include "nat/gateway.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "common/dec.h"
#include "common/err.h"

enum { RTF_UP_ = 0x1, RTF_GATEWAY_ = 0x2, FIELDS = 8 };

/* Hex without prefix, 1..8 digits, the whole field. */
static bool parse_hex(const char *s, size_t n, uint32_t *out)
{
	uint32_t v = 0;

	if (n == 0 || n > 8)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		unsigned d;

		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			return false;
		v = (v << 4) | d;
	}
	*out = v;
	return true;
}

static bool parse_dec(const char *s, size_t n, uint32_t *out)
{
	uint64_t v;

	if (!cn_dec_parse(s, n, 10, UINT32_MAX, CN_DEC_ANY, &v))
		return false;
	*out = (uint32_t)v;
	return true;
}

/* Splits one line into its first FIELDS fields (tabs or spaces). */
static size_t split(const char *p, size_t n, const char *f[FIELDS], size_t fl[FIELDS])
{
	size_t k = 0, i = 0;

	while (i < n && k < FIELDS) {
		while (i < n && (p[i] == '\t' || p[i] == ' '))
			i++;
		if (i == n)
			break;
		f[k] = p + i;
		while (i < n && p[i] != '\t' && p[i] != ' ')
			i++;
		fl[k] = (size_t)(p + i - f[k]);
		k++;
	}
	return k;
}

int cn_gateway_parse_route(const char *text, size_t len, struct in_addr *gw,
			   char ifname[IF_NAMESIZE])
{
	bool found = false, first = true;
	uint32_t best_metric = 0, best_gw = 0;
	char best_if[IF_NAMESIZE] = "";
	size_t pos = 0;

	while (pos < len) {
		const char *line = text + pos, *f[FIELDS];
		const char *nl = memchr(line, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - line) : len - pos, fl[FIELDS];
		uint32_t dst, gwv, flags, metric, mask;

		pos += n + (nl ? 1 : 0);
		if (first) { /* the header line */
			first = false;
			continue;
		}
		if (split(line, n, f, fl) < FIELDS)
			continue;
		if (fl[0] >= IF_NAMESIZE || !parse_hex(f[1], fl[1], &dst) ||
		    !parse_hex(f[2], fl[2], &gwv) || !parse_hex(f[3], fl[3], &flags) ||
		    !parse_dec(f[6], fl[6], &metric) || !parse_hex(f[7], fl[7], &mask))
			continue;
		if (dst != 0 || mask != 0 || gwv == 0 ||
		    (flags & (RTF_UP_ | RTF_GATEWAY_)) != (RTF_UP_ | RTF_GATEWAY_))
			continue;
		if (found && metric >= best_metric)
			continue;
		found = true;
		best_metric = metric;
		best_gw = gwv;
		memcpy(best_if, f[0], fl[0]);
		best_if[fl[0]] = '\0';
	}
	if (!found)
		return -CN_ENOTFOUND;
	gw->s_addr = best_gw;
	if (ifname)
		memcpy(ifname, best_if, IF_NAMESIZE);
	return 0;
}
