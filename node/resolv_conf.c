/* SPDX-License-Identifier: MIT */
/*
 * resolv.conf's nameserver lines (resolv_conf.h). One pass over the text,
 * line by line; each line is looked at only within its own bounds (a
 * cursor, never a C string), so a missing final newline, a NUL or a very
 * long line changes nothing about the others.
 */
#include "node/resolv_conf.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static bool blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Appends "sep item" if it fits whole (with the NUL); false otherwise. */
static bool append(char *out, size_t cap, const char *item)
{
	size_t used = strlen(out), n = strlen(item) + (used ? 1 : 0);

	if (used + n + 1 > cap)
		return false;
	snprintf(out + used, cap - used, "%s%s", used ? "," : "", item);
	return true;
}

static bool in_list(int family, const uint8_t *ip, const struct cn_addr *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct sockaddr *sa = (const struct sockaddr *)&list[i].ss;

		if (sa->sa_family != family)
			continue;
		if (family == AF_INET &&
		    memcmp(&((const struct sockaddr_in *)sa)->sin_addr, ip, 4) == 0)
			return true;
		if (family == AF_INET6 &&
		    memcmp(&((const struct sockaddr_in6 *)sa)->sin6_addr, ip, 16) == 0)
			return true;
	}
	return false;
}

/* The address of a "nameserver ADDR" line into addr (NUL-terminated); false if not one. */
static bool nameserver_of(const char *p, size_t n, char addr[static INET6_ADDRSTRLEN])
{
	static const char kw[] = "nameserver";
	size_t i = 0, start;

	while (i < n && blank(p[i]))
		i++;
	if (n - i < sizeof(kw) - 1 || memcmp(p + i, kw, sizeof(kw) - 1) != 0)
		return false;
	i += sizeof(kw) - 1;
	if (i == n || !blank(p[i]))
		return false;
	while (i < n && blank(p[i]))
		i++;
	start = i;
	while (i < n && !blank(p[i]) && p[i] != '#' && p[i] != ';')
		i++;
	if (i == start || i - start >= INET6_ADDRSTRLEN)
		return false;
	memcpy(addr, p + start, i - start);
	addr[i - start] = '\0';
	while (i < n && blank(p[i]))
		i++;
	return i == n || p[i] == '#' || p[i] == ';';
}

unsigned int cn_resolv_conf_upstreams(const char *text, size_t len, const struct cn_addr *self,
				      size_t nself, char *csv, size_t cap, char *skipped,
				      size_t skipped_cap, unsigned int *nskipped)
{
	struct cn_addr found[CN_RESOLV_CONF_SERVERS_MAX];
	const char *end;
	unsigned int count = 0, nskip = 0;

	if (nskipped)
		*nskipped = 0;
	if (skipped && skipped_cap)
		skipped[0] = '\0';
	if (!csv || cap == 0)
		return 0;
	csv[0] = '\0';
	if (!text)
		return 0;
	end = memchr(text, '\0', len);
	if (end)
		len = (size_t)(end - text);
	for (size_t at = 0; at < len;) {
		const char *p = text + at, *nl = memchr(p, '\n', len - at);
		size_t n = nl ? (size_t)(nl - p) : len - at;
		char addr[INET6_ADDRSTRLEN], item[INET6_ADDRSTRLEN + 8];
		uint8_t ip[16];
		int family = 0;

		at += n + (nl ? 1 : 0);
		if (n > CN_RESOLV_CONF_LINE_MAX || !nameserver_of(p, n, addr))
			continue;
		if (inet_pton(AF_INET, addr, ip) == 1) {
			family = AF_INET;
			snprintf(item, sizeof(item), "%s:53", addr);
		} else if (inet_pton(AF_INET6, addr, ip) == 1) {
			family = AF_INET6;
			snprintf(item, sizeof(item), "[%s]:53", addr);
		} else {
			continue;
		}
		if (in_list(family, ip, self, nself)) {
			nskip++;
			if (skipped && skipped_cap)
				append(skipped, skipped_cap, addr);
			continue;
		}
		/* The same server twice (even spelt differently) is asked once. */
		if (in_list(family, ip, found, count))
			continue;
		/* Stop at the first that does not fit: the list stays in file order. */
		if (count == CN_RESOLV_CONF_SERVERS_MAX || !append(csv, cap, item))
			break;
		memset(&found[count], 0, sizeof(found[count]));
		if (family == AF_INET) {
			struct sockaddr_in *sin = (struct sockaddr_in *)&found[count].ss;

			sin->sin_family = AF_INET;
			memcpy(&sin->sin_addr, ip, 4);
		} else {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&found[count].ss;

			sin6->sin6_family = AF_INET6;
			memcpy(&sin6->sin6_addr, ip, 16);
		}
		count++;
	}
	if (nskipped)
		*nskipped = nskip;
	return count;
}
