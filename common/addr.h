/* SPDX-License-Identifier: MIT */
/*
 * Socket address text: "192.0.2.1:443", "[2001:db8::1]:443". Literal
 * addresses only (names are resolved with c-ares elsewhere).
 */
#ifndef CN_COMMON_ADDR_H
#define CN_COMMON_ADDR_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

enum { CN_ADDR_TEXT_MAX = 64 }; /* "[" v6 "]:" port and a NUL */

/*
 * An IPv4 or IPv6 socket address, the family first as in every sockaddr:
 * 28 bytes where a sockaddr_storage takes 128 (a node keeps several per
 * peer, for every peer of its list). Used as `(struct sockaddr *)&a.ss`,
 * with `a.ss.ss_family`; cn_addr_set is the way in from a sockaddr.
 */
union cn_sockaddr {
	sa_family_t ss_family;
	struct sockaddr sa;
	struct sockaddr_in in4;
	struct sockaddr_in6 in6;
};

struct cn_addr {
	union cn_sockaddr ss;
	socklen_t len;
};

/* Copies sa (len bytes) into out. 0, or -CN_EINVAL when it is not AF_INET/AF_INET6 or does not fit.
 */
int cn_addr_set(struct cn_addr *out, const struct sockaddr *sa, socklen_t len);

/* Parses "ip:port" or "[ip6]:port" (port 0..65535). 0 or -CN_EFORMAT. */
int cn_addr_parse(const char *text, struct cn_addr *out);
/* Formats an AF_INET/AF_INET6 address as above; "?" for anything else. */
void cn_addr_format(const struct sockaddr *sa, char out[static CN_ADDR_TEXT_MAX]);
int cn_addr_port(const struct sockaddr *sa);
/* Same family, address and port. */
int cn_addr_equal(const struct sockaddr *a, const struct sockaddr *b);

#endif
