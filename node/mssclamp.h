/* SPDX-License-Identifier: MIT */
/*
 * TCP MSS clamping for packets entering the overlay: lowers the Maximum
 * Segment Size option of a TCP SYN or SYN-ACK (RFC 9293 3.7.1) so that
 * both ends send segments that fit the overlay path's packet size (the
 * PLPMTU of node/pmtu.h) without fragmentation or a black hole. The engine
 * calls it on every packet read from the TUN, before encryption, with
 *   mss_max = PLPMTU - 40 (IPv4: 20 IP + 20 TCP) or PLPMTU - 60 (IPv6).
 *
 * Only the two MSS bytes and the TCP checksum change; the checksum is
 * updated incrementally (RFC 1624, eqn. 3), so a packet whose checksum was
 * wrong stays exactly as wrong. Packets that are not a first fragment of a
 * TCP SYN with an MSS option above mss_max are left untouched, as is
 * anything malformed: options that run past the header, a header that runs
 * past the packet, an IPv6 extension header chain that does (hop-by-hop,
 * routing, destination options and fragment headers are walked; anything
 * else ends the walk).
 *
 * Pure: no allocation, no I/O; never reads or writes past `len`.
 */
#ifndef CN_NODE_MSSCLAMP_H
#define CN_NODE_MSSCLAMP_H

#include <stddef.h>
#include <stdint.h>

/* 1 if the MSS was lowered, 0 if the packet was left alone (not a SYN, no
 * MSS option, MSS already small enough, not TCP, malformed). */
int cn_mss_clamp(uint8_t *pkt, size_t len, uint16_t mss_max);

#endif
