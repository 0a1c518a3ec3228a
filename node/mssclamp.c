/* SPDX-License-Identifier: MIT */
/*
 * TCP MSS clamping; contract in mssclamp.h.
 */
#include "node/mssclamp.h"

#include <stdbool.h>

#include "node/ippkt.h"

enum {
	TCP_HDR_MIN = 20,
	TCP_FLAG_SYN = 0x02,
	OPT_EOL = 0,
	OPT_NOP = 1,
	OPT_MSS = 2,
	OPT_MSS_LEN = 4,
	V6_EXT_MAX = 8, /* extension headers walked at most */
};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Offset of the TCP header in an IPv6 packet, or 0 if there is none we may
 * touch: walks hop-by-hop (0), routing (43), destination options (60) and
 * fragment (44, first fragment only) headers. */
static size_t tcp_offset6(const uint8_t *pkt, size_t len, uint8_t nh)
{
	size_t off = CN_IP6_HDR_LEN;

	for (int i = 0; i < V6_EXT_MAX; i++) {
		switch (nh) {
		case CN_IPPROTO_TCP:
			return off;
		case 0:
		case 43:
		case 60:
			if (len - off < 8)
				return 0;
			nh = pkt[off];
			off += ((size_t)pkt[off + 1] + 1) * 8;
			break;
		case 44:
			if (len - off < 8 || (get16(pkt + off + 2) & 0xfff8) != 0)
				return 0; /* short, or not the first fragment */
			nh = pkt[off];
			off += 8;
			break;
		default:
			return 0;
		}
		if (off > len)
			return 0;
	}
	return 0;
}

/*
 * One's complement sum arithmetic on the checksum field (RFC 1624 eqn. 3:
 * HC' = ~(~HC + ~m + m')), for a 16-bit value at `at` bytes from the start
 * of the checksummed region: at an odd offset its bytes fall into two
 * different words, which is the same as adding it byte-swapped.
 */
static void csum_replace(uint8_t *csum, size_t at, uint16_t old, uint16_t new)
{
	uint32_t sum;

	if (at & 1) {
		old = (uint16_t)(old << 8 | old >> 8);
		new = (uint16_t)(new << 8 | new >> 8);
	}
	sum = (uint16_t)~get16(csum);
	sum += (uint16_t)~old;
	sum += new;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	sum = (uint16_t)~sum;
	csum[0] = (uint8_t)(sum >> 8);
	csum[1] = (uint8_t)sum;
}

int cn_mss_clamp(uint8_t *pkt, size_t len, uint16_t mss_max)
{
	struct cn_ip_info ip;
	size_t tcp, doff, i;
	uint8_t *t;

	if (!pkt || cn_ip_parse(pkt, len, &ip) != 0)
		return 0;
	len = ip.total_len; /* link padding is not packet */
	if (ip.version == 4) {
		if (ip.proto != CN_IPPROTO_TCP || (get16(pkt + 6) & 0x1fff) != 0)
			return 0; /* not TCP, or not the first fragment */
		tcp = ip.hdr_len;
	} else {
		tcp = tcp_offset6(pkt, len, ip.proto);
		if (tcp == 0)
			return 0;
	}
	if (len < tcp || len - tcp < TCP_HDR_MIN)
		return 0;
	t = pkt + tcp;
	if (!(t[13] & TCP_FLAG_SYN))
		return 0;
	doff = (size_t)(t[12] >> 4) * 4;
	if (doff < TCP_HDR_MIN || doff > len - tcp)
		return 0;
	for (i = TCP_HDR_MIN; i < doff;) {
		uint8_t kind = t[i], olen;

		if (kind == OPT_EOL)
			return 0;
		if (kind == OPT_NOP) {
			i++;
			continue;
		}
		if (doff - i < 2)
			return 0;
		olen = t[i + 1];
		if (olen < 2 || olen > doff - i)
			return 0;
		if (kind == OPT_MSS) {
			uint16_t mss;

			if (olen != OPT_MSS_LEN)
				return 0;
			mss = get16(t + i + 2);
			if (mss <= mss_max)
				return 0;
			t[i + 2] = (uint8_t)(mss_max >> 8);
			t[i + 3] = (uint8_t)mss_max;
			csum_replace(t + 16, i + 2, mss, mss_max);
			return 1;
		}
		i += olen;
	}
	return 0;
}
