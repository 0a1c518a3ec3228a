/* SPDX-License-Identifier: MIT */
/* The nameserver lines of resolv.conf (resolvconf.h). Pure. */
#include "node/resolvconf.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* One line: "nameserver ADDR" with optional surrounding blanks. */
static bool line_nameserver(const char *s, size_t n, struct cn_nameserver *out)
{
	static const char kw[] = "nameserver";
	size_t i = 0, start, alen;
	char a[INET6_ADDRSTRLEN];

	while (i < n && is_space(s[i]))
		i++;
	if (n - i < sizeof(kw) - 1 || memcmp(s + i, kw, sizeof(kw) - 1) != 0)
		return false;
	i += sizeof(kw) - 1;
	if (i == n || !is_space(s[i]))
		return false;
	while (i < n && is_space(s[i]))
		i++;
	start = i;
	while (i < n && !is_space(s[i]) && s[i] != '#' && s[i] != ';')
		i++;
	alen = i - start;
	if (alen == 0 || alen >= sizeof(a))
		return false;
	memcpy(a, s + start, alen);
	a[alen] = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, a, out->addr) == 1)
		out->family = AF_INET;
	else if (inet_pton(AF_INET6, a, out->addr) == 1)
		out->family = AF_INET6;
	else
		return false;
	memcpy(out->text, a, alen + 1);
	return true;
}

size_t cn_resolvconf_scan(const char *text, size_t len, struct cn_nameserver *out, size_t max)
{
	size_t count = 0, pos = 0;

	while (pos < len && count < max) {
		const char *line = text + pos, *nl = memchr(line, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - line) : len - pos;

		if (!memchr(line, '\0', n) && line_nameserver(line, n, &out[count]))
			count++;
		pos += n + 1;
	}
	return count;
}
