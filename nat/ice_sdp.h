/* SPDX-License-Identifier: MIT */
/*
 * The check a peer's signalled ICE text (its local_sdp, nat/ice.h) must
 * pass before libnice parses it. Pure: libc only, no libnice, no logging;
 * split from nat/ice.c so that its unit tests and fuzz target run without
 * an agent. Why it exists: libnice's parser has sharp edges (a truncated
 * candidate line hands NULL to string functions, a second ice-ufrag leaks,
 * a bad line after good ones leaves half the candidates applied), and the
 * text, although it comes over an authenticated channel, is the peer's.
 */
#ifndef CN_NAT_ICE_SDP_H
#define CN_NAT_ICE_SDP_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

enum {
	CN_ICE_SDP_MAX = 4096,	    /* bytes of signalled text, without the NUL */
	CN_ICE_MAX_CANDIDATES = 24, /* per side; libnice keeps at most 25 remote */
	CN_ICE_SDP_LINE_MAX = 300,  /* one candidate line's body; libnice's are under 130 */
};

/*
 * Pure: checks a signalled text before libnice parses it. Accepted: lines
 * separated by "\n" (a final "\n" is optional), printable ASCII only, at
 * most CN_ICE_SDP_MAX bytes; exactly one "a=ice-ufrag:" (4..256 ice-chars)
 * and one "a=ice-pwd:" (22..256), and 1..CN_ICE_MAX_CANDIDATES lines
 * "a=candidate:<foundation> 1 UDP <priority> <ip> <port> typ
 * host|srflx|prflx|relay [raddr <ip> rport <port>]" with an IP literal that
 * is not unspecified or multicast; nothing else. *ncand (may be NULL) gets
 * the candidate count. 0, -CN_EINVAL (NULL), -CN_ETOOBIG, -CN_EFORMAT.
 */
int cn_ice_sdp_check(const char *sdp, unsigned int *ncand);

/* One "a=candidate:..." line (n bytes, no newline) as cn_ice_sdp_check wants it. */
bool cn_ice_sdp_candidate_line_ok(const char *line, size_t n);

/* An IPv4 or IPv6 literal of n bytes (no brackets, no zone), not multicast
 * or broadcast, and not unspecified unless allowed. */
bool cn_ice_sdp_ip_literal(const char *p, size_t n, bool allow_unspecified);

#endif
