/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the nameserver scan of resolv.conf (node/resolvconf.c).
 * Every address found is a literal that parses back to the same bytes.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "node/resolvconf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cn_nameserver ns[4];
	size_t n = cn_resolvconf_scan((const char *)data, size, ns, 4);
	uint8_t bin[16];

	if (n > 4)
		abort();
	for (size_t i = 0; i < n; i++) {
		if (ns[i].family != AF_INET && ns[i].family != AF_INET6)
			abort();
		if (inet_pton(ns[i].family, ns[i].text, bin) != 1 ||
		    memcmp(bin, ns[i].addr, ns[i].family == AF_INET ? 4 : 16) != 0)
			abort();
	}
	return 0;
}
