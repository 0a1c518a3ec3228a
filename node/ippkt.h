/* SPDX-License-Identifier: MIT */
/*
 * IP packet helpers for the node's data plane: read the addresses out of a
 * packet taken from the TUN or decrypted from a peer, internet checksums,
 * and the ICMP "destination unreachable" the node writes back into the TUN
 * when a packet is addressed to an overlay address with no reachable peer.
 *
 * Pure: no sockets, no clock, no logging, no allocation. Inputs are whole IP
 * packets as the TUN (IFF_TUN|IFF_NO_PI, no vnet header) carries them;
 * outputs are bytes in caller buffers. Packets come from local programs and,
 * after decryption, from authenticated but not trusted peers: nothing here
 * reads past `len` or aborts on malformed input.
 *
 * Wire formats are RFC 791 (IPv4) and RFC 8200 (IPv6), all integers
 * big-endian. Checksums are the RFC 1071 internet checksum.
 */
#ifndef CN_NODE_IPPKT_H
#define CN_NODE_IPPKT_H

#include <stddef.h>
#include <stdint.h>

/* Sizes, in bytes. */
enum {
	CN_IP4_HDR_MIN = 20,	   /* IPv4 header without options (IHL 5) */
	CN_IP4_HDR_MAX = 60,	   /* IHL 15 */
	CN_IP6_HDR_LEN = 40,	   /* IPv6 fixed header */
	CN_ICMP_HDR_LEN = 8,	   /* type, code, checksum, 4 bytes unused/MTU */
	CN_ICMP4_ERROR_MAX = 576,  /* RFC 1812 4.3.2.3: whole ICMPv4 error datagram */
	CN_ICMP6_ERROR_MAX = 1280, /* RFC 4443 2.4(c): the IPv6 minimum MTU */
	/* A buffer of this size always fits what cn_icmp_unreachable writes. */
	CN_ICMP_UNREACH_MAX = CN_ICMP6_ERROR_MAX,
};

/* Protocol numbers this module names (IANA "Assigned Internet Protocol Numbers"). */
enum {
	CN_IPPROTO_ICMP = 1,
	CN_IPPROTO_TCP = 6,
	CN_IPPROTO_UDP = 17,
	CN_IPPROTO_ICMPV6 = 58,
};

/*
 * What cn_ip_parse found. Pointers point into the parsed packet and are valid
 * as long as it is. All-zero means "nothing parsed".
 */
struct cn_ip_info {
	uint8_t version;    /* 4 or 6 */
	uint8_t addr_len;   /* 4 or 16: bytes at src and at dst */
	uint8_t proto;	    /* v4 protocol; v6 next header of the fixed header
			     * (may be an extension header) */
	const uint8_t *src; /* source address, network order */
	const uint8_t *dst; /* destination address, network order */
	size_t hdr_len;	    /* v4: IHL * 4 (options included); v6: 40 */
	size_t total_len;   /* the packet's real size from its header, <= len;
			     * bytes after it are link padding, not packet */
};

/*
 * Parses the fixed header of an IPv4 or IPv6 packet: version 4 or 6; v4 with
 * IHL >= 5 and IHL * 4 <= total length; v6 payload length. Does not check the
 * IPv4 header checksum (the kernel checks it on TUN write and computes it on
 * TUN read) nor walk IPv6 extension headers.
 * Returns 0, -CN_ESHORT (header or the length it announces is longer than
 * len) or -CN_EFORMAT (bad version, bad IHL, total length below the header).
 * *out is cleared first and set only on success.
 */
int cn_ip_parse(const uint8_t *pkt, size_t len, struct cn_ip_info *out);

/*
 * Internet checksum (RFC 1071) in two steps. cn_ip_csum_add adds p[0..n) as
 * big-endian 16-bit words to a running sum (start with 0) and returns the new
 * sum; an odd n pads with a zero byte, so only the last piece of a chain may
 * have odd length. cn_ip_csum_fold turns a sum into the value to store in a
 * checksum field (one's complement of the folded sum). Summing a region that
 * already holds a correct checksum folds to 0. Note that UDP stores a computed
 * 0 as 0xffff (0 means "no checksum" over IPv4, RFC 768).
 */
uint32_t cn_ip_csum_add(uint32_t sum, const uint8_t *p, size_t n);
uint16_t cn_ip_csum_fold(uint32_t sum);

/*
 * The pseudo-header sum for an upper-layer checksum (TCP, UDP, ICMPv6) of a
 * parsed packet: source, destination, proto and l4_len (RFC 793 for IPv4,
 * RFC 8200 8.1 for IPv6). Add the upper-layer bytes with cn_ip_csum_add, then
 * fold. ICMPv4 has no pseudo-header.
 */
uint32_t cn_ip_csum_pseudo(const struct cn_ip_info *ip, uint8_t proto, uint32_t l4_len);

/*
 * Builds the ICMP error the node sends back when `orig` (one packet as read
 * from the TUN) cannot be delivered: ICMPv4 type 3 code 1 "host unreachable"
 * or ICMPv6 type 1 code 3 "address unreachable", from `src` (4 or 16 bytes,
 * the family of orig) to orig's source. It quotes orig (without padding) up to
 * a whole datagram of 576 bytes for IPv4 (RFC 1812 4.3.2.3; at least the
 * header and 8 bytes as RFC 792 requires) and 1280 bytes for IPv6 (RFC 4443
 * 3.1). IPv4: TOS 0xc0, TTL 64, ID 0 with DF (an atomic datagram, RFC 6864),
 * no options. IPv6: traffic class and flow label 0, hop limit 64.
 *
 * Refuses, writing nothing, with -CN_EINVAL when no ICMP error may be sent
 * (RFC 1122 3.2.2, RFC 1812 4.3.2.7, RFC 4443 2.4(e)): orig is an ICMP error
 * (v4 types other than echo, timestamp, information, address mask, router
 * advertisement/solicitation; v6 types below 128) or an ICMP message too
 * short to tell; orig is a non-first fragment; orig's IPv6 extension headers
 * run past its end; orig's source or destination is not one unicast host
 * (v4: 0/8, 127/8, 224/4 multicast, 240/4 including 255.255.255.255; v6: ::,
 * ::1, ff00::/8). Also -CN_EINVAL for NULL arguments.
 *
 * Returns 0 and sets *out_len, or the error of cn_ip_parse on a malformed
 * orig, or -CN_ETOOBIG when cap is short of the answer (CN_ICMP_UNREACH_MAX
 * always suffices). *out_len is 0 on every error. out must not overlap orig.
 *
 * Which src: a Linux kernel drops an IPv4 packet written into the TUN whose
 * source is one of its own addresses (fib_validate_source: "martian source",
 * unless the TUN has accept_local=1); IPv6 has no such check. Packets the
 * local host sent have the node's own overlay address as source, so an
 * ICMPv4 answer from that address never reaches the sender. Pass orig's
 * destination (cn_ip_info.dst: "this host is unreachable"), which the kernel
 * accepts for both families; tests/lab/test_tun.sh checks both behaviours.
 */
int cn_icmp_unreachable(const uint8_t *orig, size_t orig_len, const uint8_t *src, uint8_t *out,
			size_t cap, size_t *out_len);

#endif
