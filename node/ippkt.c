/* SPDX-License-Identifier: MIT */
/*
 * IP packet helpers: see ippkt.h for what each function accepts and refuses.
 *
 * Pure and bounded: reads go through the cn_rd cursor or are checked against
 * the parsed total length first, writes go through cn_wr, nothing is
 * allocated, and the work is linear in the packet. Packets come from local
 * programs and from peers; a packet we do not like is an error code, never an
 * abort. Must not grow sockets, clocks or logging: the node does the TUN I/O
 * and counts what this refuses.
 */
#include "node/ippkt.h"

#include <stdbool.h>
#include <string.h>

#include "common/bytes.h"
#include "common/err.h"

/* Field offsets and values, RFC 791 and RFC 8200. */
enum {
	IP4_TOTLEN_OFF = 2,
	IP4_FRAG_OFF = 6, /* flags (3 bits) and fragment offset (13 bits) */
	IP4_FRAG_MASK = 0x1fff,
	IP4_DF = 0x4000,
	IP4_PROTO_OFF = 9,
	IP4_CSUM_OFF = 10,
	IP4_SRC_OFF = 12,
	IP4_DST_OFF = 16,
	IP6_PLEN_OFF = 4,
	IP6_NH_OFF = 6,
	IP6_SRC_OFF = 8,
	IP6_DST_OFF = 24,
	IP_TOTAL_MAX = 0xffff, /* v4 total length, v6 payload length: u16 */
	ICMP_CSUM_OFF = 2,
	/* What we put in the headers we write. */
	OUT_TTL = 64,
	OUT_TOS = 0xc0, /* precedence "internetwork control", as Linux sends ICMP errors */
};

/* IPv6 extension headers we walk to find an ICMPv6 message (RFC 8200 4). */
enum {
	NH_HOPOPTS = 0,
	NH_ROUTING = 43,
	NH_FRAGMENT = 44,
	NH_AH = 51, /* RFC 4302: length in 4-byte units minus 2 */
	NH_DSTOPTS = 60,
	FRAG_HDR_LEN = 8,
	FRAG_OFF_MASK = 0xfff8,
};

/* ICMP types that matter here. */
enum {
	ICMP4_UNREACH = 3,
	ICMP4_UNREACH_HOST = 1,
	ICMP6_UNREACH = 1,
	ICMP6_UNREACH_ADDR = 3,
	ICMP6_INFO_MIN = 128, /* RFC 4443 2.1: types 0..127 are errors */
};

_Static_assert(CN_ICMP_HDR_LEN == 1 + 1 + 2 + 4, "type, code, checksum, unused");
_Static_assert(CN_ICMP4_ERROR_MAX > CN_IP4_HDR_MAX + CN_ICMP_HDR_LEN + CN_IP4_HDR_MAX + 8,
	       "a v4 answer can quote a header with options and 64 bits");
_Static_assert(CN_ICMP_UNREACH_MAX >= CN_ICMP4_ERROR_MAX, "one buffer fits both families");
_Static_assert(CN_ICMP_UNREACH_MAX >= CN_ICMP6_ERROR_MAX, "one buffer fits both families");

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static int parse4(const uint8_t *pkt, size_t len, struct cn_ip_info *ip)
{
	size_t hl, total;

	if (len < CN_IP4_HDR_MIN)
		return -CN_ESHORT;
	hl = (size_t)(pkt[0] & 0x0f) * 4;
	total = get16(pkt + IP4_TOTLEN_OFF);
	if (hl < CN_IP4_HDR_MIN || total < hl)
		return -CN_EFORMAT;
	if (total > len)
		return -CN_ESHORT;
	ip->version = 4;
	ip->addr_len = 4;
	ip->proto = pkt[IP4_PROTO_OFF];
	ip->src = pkt + IP4_SRC_OFF;
	ip->dst = pkt + IP4_DST_OFF;
	ip->hdr_len = hl;
	ip->total_len = total;
	return 0;
}

static int parse6(const uint8_t *pkt, size_t len, struct cn_ip_info *ip)
{
	size_t total;

	if (len < CN_IP6_HDR_LEN)
		return -CN_ESHORT;
	/*
	 * Payload length 0 is a packet without payload (next header 59) or a
	 * jumbogram (RFC 2675), which no TUN MTU allows; both count as 40.
	 */
	total = CN_IP6_HDR_LEN + (size_t)get16(pkt + IP6_PLEN_OFF);
	if (total > len)
		return -CN_ESHORT;
	ip->version = 6;
	ip->addr_len = 16;
	ip->proto = pkt[IP6_NH_OFF];
	ip->src = pkt + IP6_SRC_OFF;
	ip->dst = pkt + IP6_DST_OFF;
	ip->hdr_len = CN_IP6_HDR_LEN;
	ip->total_len = total;
	return 0;
}

int cn_ip_parse(const uint8_t *pkt, size_t len, struct cn_ip_info *out)
{
	struct cn_ip_info ip = {0};
	int ret;

	if (!out)
		return -CN_EINVAL;
	memset(out, 0, sizeof(*out));
	if (!pkt || len < 1)
		return -CN_ESHORT;
	switch (pkt[0] >> 4) {
	case 4:
		ret = parse4(pkt, len, &ip);
		break;
	case 6:
		ret = parse6(pkt, len, &ip);
		break;
	default:
		return -CN_EFORMAT;
	}
	if (ret == 0)
		*out = ip;
	return ret;
}

/*
 * The data plane sums every byte it segments, so this reads 8 bytes at a
 * time in host order and turns the folded result into network order at the
 * end: the ones' complement sum is byte-order independent up to a swap of
 * its two bytes (RFC 1071 section 2(B)), including its 0 / 0xffff.
 */
uint32_t cn_ip_csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	uint64_t a = 0, b = 0, acc;
	size_t i = 0;

	for (; i + 16 <= n; i += 16) {
		uint64_t w1, w2;

		memcpy(&w1, p + i, 8);
		memcpy(&w2, p + i + 8, 8);
		a += (w1 & 0xffffffffu) + (w1 >> 32);
		b += (w2 & 0xffffffffu) + (w2 >> 32);
	}
	for (; i + 2 <= n; i += 2) {
		uint16_t w;

		memcpy(&w, p + i, 2);
		a += w;
	}
	acc = a + (b & 0xffffffffu) + (b >> 32); /* no overflow below 2^60 bytes */
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	acc = ((acc & 0xff) << 8) | (acc >> 8);
#endif
	if (n & 1)
		acc += (uint32_t)p[n - 1] << 8;
	acc += sum;
	/* Fold to 16 bits so chained calls never overflow. */
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint32_t)acc;
}

uint16_t cn_ip_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

uint32_t cn_ip_csum_pseudo(const struct cn_ip_info *ip, uint8_t proto, uint32_t l4_len)
{
	uint8_t tail[8] = {0};
	uint32_t sum = 0;

	sum = cn_ip_csum_add(sum, ip->src, ip->addr_len);
	sum = cn_ip_csum_add(sum, ip->dst, ip->addr_len);
	if (ip->version == 4) {
		/* zero, protocol, TCP/UDP length (16 bits) */
		tail[1] = proto;
		put16(tail + 2, (uint16_t)l4_len);
		return cn_ip_csum_add(sum, tail, 4);
	}
	/* upper-layer length (32 bits), three zero bytes, next header */
	tail[0] = (uint8_t)(l4_len >> 24);
	tail[1] = (uint8_t)(l4_len >> 16);
	tail[2] = (uint8_t)(l4_len >> 8);
	tail[3] = (uint8_t)l4_len;
	tail[7] = proto;
	return cn_ip_csum_add(sum, tail, 8);
}

/* Not one unicast host: RFC 1122 3.2.1.3 and 3.2.2, RFC 1112 (224/4). */
static bool v4_not_host(const uint8_t *a)
{
	return a[0] == 0 || a[0] == 127 || a[0] >= 224;
}

/* Unspecified, loopback, multicast (RFC 4291 2.5.2, 2.5.3, 2.7). */
static bool v6_not_host(const uint8_t *a)
{
	static const uint8_t zero[15];

	return a[0] == 0xff || (memcmp(a, zero, 15) == 0 && (a[15] == 0 || a[15] == 1));
}

/* ICMPv4 types we may answer with an error: the query messages. */
static bool icmp4_is_query(uint8_t type)
{
	switch (type) {
	case 0:	 /* echo reply */
	case 8:	 /* echo */
	case 9:	 /* router advertisement */
	case 10: /* router solicitation */
	case 13: /* timestamp */
	case 14: /* timestamp reply */
	case 15: /* information request */
	case 16: /* information reply */
	case 17: /* address mask request */
	case 18: /* address mask reply */
		return true;
	}
	/* Errors (3, 4, 5, 11, 12) and types we do not know: stay silent, as Linux does. */
	return false;
}

/* RFC 1122 3.2.2, RFC 1812 4.3.2.7: may an ICMPv4 error answer this packet? */
static bool may_answer4(const uint8_t *pkt, const struct cn_ip_info *ip)
{
	if (v4_not_host(ip->src) || v4_not_host(ip->dst))
		return false;
	if (get16(pkt + IP4_FRAG_OFF) & IP4_FRAG_MASK)
		return false; /* non-first fragment */
	if (ip->proto == CN_IPPROTO_ICMP) {
		if (ip->total_len < ip->hdr_len + 1)
			return false;
		return icmp4_is_query(pkt[ip->hdr_len]);
	}
	return true;
}

/*
 * RFC 4443 2.4(e): may an ICMPv6 error answer this packet? Walks the
 * extension headers to the upper layer to see whether it is an ICMPv6
 * error and whether this is a non-first fragment. Every step advances by at
 * least 8 bytes, so the walk is bounded by the packet.
 */
static bool may_answer6(const uint8_t *pkt, const struct cn_ip_info *ip)
{
	struct cn_rd r;
	uint8_t nh = ip->proto;

	if (v6_not_host(ip->src) || v6_not_host(ip->dst))
		return false;
	cn_rd_init(&r, pkt + ip->hdr_len, ip->total_len - ip->hdr_len);
	for (;;) {
		uint8_t next, hlen;

		switch (nh) {
		case NH_HOPOPTS:
		case NH_ROUTING:
		case NH_DSTOPTS:
			next = cn_rd_u8(&r);
			hlen = cn_rd_u8(&r);
			cn_rd_take(&r, (size_t)hlen * 8 + 6);
			break;
		case NH_AH:
			next = cn_rd_u8(&r);
			hlen = cn_rd_u8(&r);
			cn_rd_take(&r, (size_t)hlen * 4 + 6);
			break;
		case NH_FRAGMENT:
			next = cn_rd_u8(&r);
			cn_rd_u8(&r); /* reserved */
			if (cn_rd_u16be(&r) & FRAG_OFF_MASK)
				return false; /* non-first fragment */
			cn_rd_take(&r, FRAG_HDR_LEN - 4);
			break;
		case CN_IPPROTO_ICMPV6:
			/* Too short to tell is refused with the errors. */
			return cn_rd_u8(&r) >= ICMP6_INFO_MIN && cn_rd_ok(&r);
		default:
			/* Any other upper layer, ESP, or no next header. */
			return true;
		}
		if (!cn_rd_ok(&r))
			return false; /* chain runs past the packet */
		nh = next;
	}
}

static int build4(const uint8_t *orig, const struct cn_ip_info *ip, const uint8_t *src,
		  uint8_t *out, size_t cap, size_t *out_len)
{
	size_t quote = ip->total_len;
	size_t need;
	struct cn_wr w;

	if (quote > CN_ICMP4_ERROR_MAX - CN_IP4_HDR_MIN - CN_ICMP_HDR_LEN)
		quote = CN_ICMP4_ERROR_MAX - CN_IP4_HDR_MIN - CN_ICMP_HDR_LEN;
	need = CN_IP4_HDR_MIN + CN_ICMP_HDR_LEN + quote;
	if (cap < need)
		return -CN_ETOOBIG;

	cn_wr_init(&w, out, cap);
	cn_wr_u8(&w, 0x45); /* version 4, IHL 5 */
	cn_wr_u8(&w, OUT_TOS);
	cn_wr_u16be(&w, (uint16_t)need);
	cn_wr_u16be(&w, 0); /* ID: atomic datagram */
	cn_wr_u16be(&w, IP4_DF);
	cn_wr_u8(&w, OUT_TTL);
	cn_wr_u8(&w, CN_IPPROTO_ICMP);
	cn_wr_u16be(&w, 0); /* header checksum, below */
	cn_wr_bytes(&w, src, 4);
	cn_wr_bytes(&w, ip->src, 4);
	cn_wr_u8(&w, ICMP4_UNREACH);
	cn_wr_u8(&w, ICMP4_UNREACH_HOST);
	cn_wr_u16be(&w, 0); /* checksum, below */
	cn_wr_u32be(&w, 0); /* unused */
	cn_wr_bytes(&w, orig, quote);
	if (!cn_wr_ok(&w) || w.len != need)
		return -CN_ETOOBIG;

	put16(out + IP4_CSUM_OFF, cn_ip_csum_fold(cn_ip_csum_add(0, out, CN_IP4_HDR_MIN)));
	put16(out + CN_IP4_HDR_MIN + ICMP_CSUM_OFF,
	      cn_ip_csum_fold(cn_ip_csum_add(0, out + CN_IP4_HDR_MIN, need - CN_IP4_HDR_MIN)));
	*out_len = need;
	return 0;
}

static int build6(const uint8_t *orig, const struct cn_ip_info *ip, const uint8_t *src,
		  uint8_t *out, size_t cap, size_t *out_len)
{
	size_t quote = ip->total_len;
	size_t need, plen;
	struct cn_ip_info me = {0};
	uint32_t sum;
	struct cn_wr w;

	if (quote > CN_ICMP6_ERROR_MAX - CN_IP6_HDR_LEN - CN_ICMP_HDR_LEN)
		quote = CN_ICMP6_ERROR_MAX - CN_IP6_HDR_LEN - CN_ICMP_HDR_LEN;
	plen = CN_ICMP_HDR_LEN + quote;
	need = CN_IP6_HDR_LEN + plen;
	if (cap < need)
		return -CN_ETOOBIG;

	cn_wr_init(&w, out, cap);
	cn_wr_u32be(&w, 0x60000000); /* version 6, traffic class 0, flow label 0 */
	cn_wr_u16be(&w, (uint16_t)plen);
	cn_wr_u8(&w, CN_IPPROTO_ICMPV6);
	cn_wr_u8(&w, OUT_TTL);
	cn_wr_bytes(&w, src, 16);
	cn_wr_bytes(&w, ip->src, 16);
	cn_wr_u8(&w, ICMP6_UNREACH);
	cn_wr_u8(&w, ICMP6_UNREACH_ADDR);
	cn_wr_u16be(&w, 0); /* checksum, below */
	cn_wr_u32be(&w, 0); /* unused */
	cn_wr_bytes(&w, orig, quote);
	if (!cn_wr_ok(&w) || w.len != need)
		return -CN_ETOOBIG;

	me.version = 6;
	me.addr_len = 16;
	me.src = out + IP6_SRC_OFF;
	me.dst = out + IP6_DST_OFF;
	sum = cn_ip_csum_pseudo(&me, CN_IPPROTO_ICMPV6, (uint32_t)plen);
	sum = cn_ip_csum_add(sum, out + CN_IP6_HDR_LEN, plen);
	put16(out + CN_IP6_HDR_LEN + ICMP_CSUM_OFF, cn_ip_csum_fold(sum));
	*out_len = need;
	return 0;
}

int cn_icmp_unreachable(const uint8_t *orig, size_t orig_len, const uint8_t *src, uint8_t *out,
			size_t cap, size_t *out_len)
{
	struct cn_ip_info ip;
	int ret;

	if (!out_len)
		return -CN_EINVAL;
	*out_len = 0;
	if (!orig || !src || !out)
		return -CN_EINVAL;
	ret = cn_ip_parse(orig, orig_len, &ip);
	if (ret)
		return ret;
	if (ip.version == 4) {
		if (!may_answer4(orig, &ip))
			return -CN_EINVAL;
		return build4(orig, &ip, src, out, cap, out_len);
	}
	if (!may_answer6(orig, &ip))
		return -CN_EINVAL;
	return build6(orig, &ip, src, out, cap, out_len);
}
