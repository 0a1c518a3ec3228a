/* SPDX-License-Identifier: MIT */
/*
 * The node's upstream DNS servers from /etc/resolv.conf text, without the
 * node's own addresses: a host that points its resolver at its node must
 * not make the node forward to itself. Pure: the caller reads the file
 * (bounded) and logs; no allocation, no I/O.
 *
 * Read: lines "nameserver ADDR" (blanks before and between allowed; after
 * ADDR only blanks or a '#' or ';' comment), ADDR an IPv4 or IPv6 literal
 * without a zone. Every other line is ignored, as the C library ignores
 * it. A NUL ends the text. Servers are written as "ip:53" or "[ip6]:53",
 * comma-separated, in file order, duplicates once, whole entries only:
 * the list ends before the first server that does not fit in cap or
 * would be number CN_RESOLV_CONF_SERVERS_MAX + 1.
 */
#ifndef CN_NODE_RESOLV_CONF_H
#define CN_NODE_RESOLV_CONF_H

#include <stddef.h>

#include "common/addr.h"

enum {
	CN_RESOLV_CONF_LINE_MAX = 1024,	 /* longer lines are ignored whole */
	CN_RESOLV_CONF_SERVERS_MAX = 16, /* servers kept; later ones are ignored */
};

/*
 * Scans len bytes of text. self[0..nself) are the node's own addresses
 * (ports ignored); a nameserver equal to one is skipped and counted in
 * *nskipped (may be NULL), and, when skipped is not NULL, appended to it
 * as text (comma-separated, whole entries that fit skipped_cap). Writes
 * the servers to csv (cap >= 1; "" when none) and returns their number.
 */
unsigned int cn_resolv_conf_upstreams(const char *text, size_t len, const struct cn_addr *self,
				      size_t nself, char *csv, size_t cap, char *skipped,
				      size_t skipped_cap, unsigned int *nskipped);

#endif
