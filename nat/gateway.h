/* SPDX-License-Identifier: MIT */
/*
 * The default IPv4 gateway, read from the text of /proc/net/route: the
 * router a port mapping request (PCP, NAT-PMP) goes to.
 *
 * Format (Linux net/ipv4/fib_trie.c fib_route_seq_show): a header line,
 * then one line per route, tab-separated: Iface, Destination, Gateway,
 * Flags, RefCnt, Use, Metric, Mask, MTU, Window, IRTT. Destination, Gateway
 * and Mask are the 32-bit network-order value printed with %08X, so the
 * parsed number is the in_addr's s_addr as stored on this machine; Flags is
 * hex (RTF_UP 0x1, RTF_GATEWAY 0x2).
 *
 * Pure: parses a buffer; the caller reads the file.
 */
#ifndef CN_NAT_GATEWAY_H
#define CN_NAT_GATEWAY_H

#include <net/if.h>
#include <netinet/in.h>
#include <stddef.h>

/*
 * Finds the default route (destination and mask 0, flags UP and GATEWAY)
 * with the lowest metric; ties go to the first. Lines that do not parse are
 * skipped (the file is the kernel's, but a reader must not trust it to be
 * whole). Returns 0 and sets *gw (and ifname, NUL-terminated, if not NULL),
 * or -CN_ENOTFOUND.
 */
int cn_gateway_parse_route(const char *text, size_t len, struct in_addr *gw,
			   char ifname[IF_NAMESIZE]);

#endif
