/* SPDX-License-Identifier: MIT */
/*
 * Socket address text: "192.0.2.1:443", "[2001:db8::1]:443". Literal
 * addresses only (names are resolved with c-ares elsewhere).
 */
#ifndef CN_COMMON_ADDR_H
#define CN_COMMON_ADDR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

enum { CN_ADDR_TEXT_MAX = 64 }; /* "[" v6 "]:" port and a NUL */

struct cn_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

/* Parses "ip:port" or "[ip6]:port" (port 0..65535). 0 or -CN_EFORMAT. */
int cn_addr_parse(const char *text, struct cn_addr *out);
/* Formats an AF_INET/AF_INET6 address as above; "?" for anything else. */
void cn_addr_format(const struct sockaddr *sa, char out[static CN_ADDR_TEXT_MAX]);
int cn_addr_port(const struct sockaddr *sa);
/* Same family, address and port. */
int cn_addr_equal(const struct sockaddr *a, const struct sockaddr *b);

#endif
