/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the resolv.conf scan (node/resolv_conf.h). Whatever the
 * text, the output is a NUL-terminated list inside its buffer of as many
 * "ip:53" / "[ip6]:53" entries as returned, each one parsing as an address
 * that is neither one of the node's own nor given twice; at most
 * CN_RESOLV_CONF_SERVERS_MAX. A smaller buffer gives a prefix of the list.
 */
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "node/resolv_conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
	if (!cond)
		abort();
}

static bool same_ip(const struct cn_addr *a, const struct cn_addr *b)
{
	const struct sockaddr *x = (const struct sockaddr *)&a->ss;
	const struct sockaddr *y = (const struct sockaddr *)&b->ss;

	if (x->sa_family != y->sa_family)
		return false;
	if (x->sa_family == AF_INET)
		return memcmp(&((const struct sockaddr_in *)x)->sin_addr,
			      &((const struct sockaddr_in *)y)->sin_addr, 4) == 0;
	return memcmp(&((const struct sockaddr_in6 *)x)->sin6_addr,
		      &((const struct sockaddr_in6 *)y)->sin6_addr, 16) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cn_addr self[3];
	static bool init;
	char csv[1024], small[64], skipped[256];
	struct cn_addr got[CN_RESOLV_CONF_SERVERS_MAX];
	unsigned int n, m, nskip = 0;
	size_t at = 0;

	if (!init) {
		check(cn_addr_parse("127.0.0.99:53", &self[0]) == 0);
		check(cn_addr_parse("10.99.0.2:0", &self[1]) == 0);
		check(cn_addr_parse("[fd99:1ab::2]:0", &self[2]) == 0);
		init = true;
	}
	memset(csv, 'x', sizeof(csv));
	n = cn_resolv_conf_upstreams((const char *)data, size, self, 3, csv, sizeof(csv), skipped,
				     sizeof(skipped), &nskip);
	check(memchr(csv, '\0', sizeof(csv)) != NULL);
	check(memchr(skipped, '\0', sizeof(skipped)) != NULL);
	check(n <= CN_RESOLV_CONF_SERVERS_MAX);
	check((n == 0) == (csv[0] == '\0'));
	for (unsigned int i = 0; i < n; i++) {
		char entry[CN_ADDR_TEXT_MAX];
		size_t k = strcspn(csv + at, ",");

		check(k > 0 && k < sizeof(entry));
		memcpy(entry, csv + at, k);
		entry[k] = '\0';
		check(cn_addr_parse(entry, &got[i]) == 0);
		check(cn_addr_port((const struct sockaddr *)&got[i].ss) == 53);
		for (unsigned int j = 0; j < 3; j++)
			check(!same_ip(&got[i], &self[j]));
		for (unsigned int j = 0; j < i; j++)
			check(!same_ip(&got[i], &got[j]));
		at += k;
		check(csv[at] == (i + 1 < n ? ',' : '\0'));
		at++;
	}
	m = cn_resolv_conf_upstreams((const char *)data, size, self, 3, small, sizeof(small), NULL,
				     0, NULL);
	check(m <= n && strncmp(csv, small, strlen(small)) == 0);
	return 0;
}
