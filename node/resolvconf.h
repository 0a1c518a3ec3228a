/* SPDX-License-Identifier: MIT */
/*
 * The nameserver lines of /etc/resolv.conf (pure): what the node forwards
 * names outside the overlay to when no upstream is configured. The file is
 * outside the node's control (a DHCP client writes it), so it is parsed as
 * untrusted text (tests/fuzz/fuzz_resolvconf.c).
 */
#ifndef CN_NODE_RESOLVCONF_H
#define CN_NODE_RESOLVCONF_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

struct cn_nameserver {
	int family; /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	char text[INET6_ADDRSTRLEN]; /* as written in the file, validated */
};

/*
 * Finds up to max "nameserver ADDRESS" lines in text[0..len) (any other
 * line, and an address that is not an IPv4 or IPv6 literal, is skipped).
 * Returns how many were stored in out.
 */
size_t cn_resolvconf_scan(const char *text, size_t len, struct cn_nameserver *out, size_t max);

#endif
