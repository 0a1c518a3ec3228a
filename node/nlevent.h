/* SPDX-License-Identifier: MIT */
/*
 * rtnetlink notifications (RTMGRP_IPV4_IFADDR, RTMGRP_IPV6_IFADDR,
 * RTMGRP_IPV4_ROUTE, RTMGRP_IPV6_ROUTE), judged for whether they change the
 * underlay the node's paths run on. Pure: bytes in, a count out; no socket
 * (node/netwatch.c reads them).
 *
 * One datagram holds one or more messages, each a struct nlmsghdr (16 bytes,
 * host byte order: u32 length including the header, u16 type, u16 flags,
 * u32 sequence, u32 port id) then its payload, padded to 4 bytes:
 *   RTM_NEWADDR / RTM_DELADDR   struct ifaddrmsg (8 bytes: u8 family,
 *                               prefixlen, flags, scope, u32 ifindex), attributes
 *   RTM_NEWROUTE / RTM_DELROUTE struct rtmsg (12 bytes: u8 family, dst_len,
 *                               src_len, tos, table, protocol, scope, type,
 *                               u32 flags), then rtattrs (u16 length, u16 type,
 *                               value, padded to 4); RTA_OIF is a u32 ifindex,
 *                               RTA_TABLE a u32 table
 *   NLMSG_NOOP, NLMSG_DONE, NLMSG_ERROR, anything else: not a change.
 * A change counts unless it is about the ignored interface (the overlay's
 * TUN: the overlay must never react to itself), an address of host or link
 * scope (loopback, IPv6 link-local: never candidates), or a route outside
 * the main table (the local table follows addresses, already counted).
 *
 * Malformed input (a length below the header or past the datagram, a
 * payload shorter than its fixed part, a bad attribute length) is refused
 * whole: -CN_EFORMAT, out zeroed.
 */
#ifndef CN_NODE_NLEVENT_H
#define CN_NODE_NLEVENT_H

#include <stddef.h>
#include <stdint.h>

enum {
	CN_NLEVENT_HDR_LEN = 16,
	CN_NLEVENT_IFADDR_LEN = 8,
	CN_NLEVENT_RTMSG_LEN = 12,
	CN_NLEVENT_RTA_HDR_LEN = 4,
};

struct cn_nlevent {
	unsigned int addr_changes;  /* addresses added or removed */
	unsigned int route_changes; /* main-table routes added or removed */
	unsigned int messages;	    /* every message seen, counted or not */
};

/* Decodes one datagram (see above); 0 or -CN_EFORMAT. */
int cn_nlevent_decode(const uint8_t *buf, size_t len, uint32_t ignore_ifindex,
		      struct cn_nlevent *out);

#endif
