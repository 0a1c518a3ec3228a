/* SPDX-License-Identifier: MIT */
/*
 * TCP MSS clamping: IPv4 and IPv6 SYN and SYN-ACK, odd option offsets,
 * checksums kept right (and wrong ones kept exactly as wrong), and every
 * kind of packet that must be left alone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "node/ippkt.h"
#include "node/mssclamp.h"

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* TCP checksum over the packet as it is: 0 when right. */
static uint16_t tcp_check(const uint8_t *pkt, size_t tcp, size_t len)
{
	struct cn_ip_info ip;
	uint32_t sum;

	assert_int_equal(cn_ip_parse(pkt, len, &ip), 0);
	sum = cn_ip_csum_pseudo(&ip, CN_IPPROTO_TCP, (uint32_t)(len - tcp));
	return cn_ip_csum_fold(cn_ip_csum_add(sum, pkt + tcp, len - tcp));
}

static void set_tcp_csum(uint8_t *pkt, size_t tcp, size_t len)
{
	put16(pkt + tcp + 16, 0);
	put16(pkt + tcp + 16, tcp_check(pkt, tcp, len));
	assert_int_equal(tcp_check(pkt, tcp, len), 0);
}

/* IPv4 TCP packet with `opts` (padded to 4) and flags; returns length. */
static size_t pkt4(uint8_t *p, uint8_t flags, const uint8_t *opts, size_t olen)
{
	size_t pad = (olen + 3) & ~(size_t)3, len = 20 + 20 + pad + 3; /* 3 data bytes */

	memset(p, 0, len);
	p[0] = 0x45;
	put16(p + 2, (uint16_t)len);
	p[8] = 64;
	p[9] = CN_IPPROTO_TCP;
	p[12] = 10, p[13] = 99, p[15] = 1;
	p[16] = 10, p[17] = 99, p[19] = 2;
	put16(p + 20, 40000);
	put16(p + 22, 443);
	p[32] = (uint8_t)((20 + pad) / 4 << 4);
	p[33] = flags;
	memcpy(p + 40, opts, olen);
	memcpy(p + 40 + pad, "abc", 3);
	put16(p + 10, cn_ip_csum_fold(cn_ip_csum_add(0, p, 20)));
	set_tcp_csum(p, 20, len);
	return len;
}

static const uint8_t mss1460[] = {2, 4, 0x05, 0xb4, 1, 3, 3, 7};
static const uint8_t odd_mss[] = {1, 2, 4, 0x05, 0xb4, 1, 1, 1}; /* value at offset 23 */

static void test_v4(void **state)
{
	uint8_t p[128], before[128];
	size_t len;

	(void)state;
	len = pkt4(p, 0x02, mss1460, sizeof(mss1460));
	memcpy(before, p, len);
	assert_int_equal(cn_mss_clamp(p, len, 1300), 1);
	assert_int_equal(p[42] << 8 | p[43], 1300);
	assert_int_equal(tcp_check(p, 20, len), 0);
	/* Only the MSS value and the checksum changed. */
	for (size_t i = 0; i < len; i++)
		if (i != 42 && i != 43 && i != 36 && i != 37)
			assert_int_equal(p[i], before[i]);
	/* Again: already small enough. */
	assert_int_equal(cn_mss_clamp(p, len, 1300), 0);
	assert_int_equal(cn_mss_clamp(p, len, 1400), 0);
	/* SYN-ACK; odd offset. */
	len = pkt4(p, 0x12, odd_mss, sizeof(odd_mss));
	assert_int_equal(cn_mss_clamp(p, len, 1220), 1);
	assert_int_equal(p[43] << 8 | p[44], 1220);
	assert_int_equal(tcp_check(p, 20, len), 0);
	/* A wrong checksum stays exactly as wrong. */
	len = pkt4(p, 0x02, mss1460, sizeof(mss1460));
	p[37] ^= 0x10;
	{
		uint16_t bad = tcp_check(p, 20, len);

		assert_int_equal(cn_mss_clamp(p, len, 1000), 1);
		assert_int_equal(tcp_check(p, 20, len), bad);
	}
	/* Not a SYN: an ACK, and a FIN. */
	len = pkt4(p, 0x10, mss1460, sizeof(mss1460));
	assert_int_equal(cn_mss_clamp(p, len, 1000), 0);
	/* No MSS option; MSS after EOL is not an option. */
	len = pkt4(p, 0x02, (const uint8_t[]){1, 1, 1, 1}, 4);
	assert_int_equal(cn_mss_clamp(p, len, 1000), 0);
	len = pkt4(p, 0x02, (const uint8_t[]){0, 2, 4, 5, 0xb4}, 5);
	assert_int_equal(cn_mss_clamp(p, len, 1000), 0);
}

static void test_v4_malformed(void **state)
{
	uint8_t p[128], before[128];
	size_t len;

	(void)state;
	/* Option lengths 0, 1, past the header; MSS of length 3. */
	const uint8_t *bad[] = {(const uint8_t[]){3, 0, 2, 4, 5, 0xb4, 1, 1},
				(const uint8_t[]){3, 1, 2, 4, 5, 0xb4, 1, 1},
				(const uint8_t[]){3, 9, 2, 4, 5, 0xb4, 1, 1},
				(const uint8_t[]){2, 3, 5, 1, 1, 1, 1, 1},
				(const uint8_t[]){1, 1, 1, 1, 1, 1, 1, 2}};
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		len = pkt4(p, 0x02, bad[k], 8);
		memcpy(before, p, len);
		assert_int_equal(cn_mss_clamp(p, len, 1000), 0);
		assert_memory_equal(p, before, len);
	}
	/* Data offset past the packet; below 5. */
	len = pkt4(p, 0x02, mss1460, sizeof(mss1460));
	p[32] = 0xf0;
	assert_int_equal(cn_mss_clamp(p, len, 1000), 0);
	p[32] = 0x40;
	assert_int_equal(cn_mss_clamp(p, len, 1000), 0);
	/* A later fragment; UDP; a cut packet; garbage. */
	len = pkt4(p, 0x02, mss1460, sizeof(mss1460));
	p[7] = 1;
	assert_int_equal(cn_mss_clamp(p, len, 1000), 0);
	len = pkt4(p, 0x02, mss1460, sizeof(mss1460));
	p[9] = CN_IPPROTO_UDP;
	assert_int_equal(cn_mss_clamp(p, len, 1000), 0);
	len = pkt4(p, 0x02, mss1460, sizeof(mss1460));
	for (size_t cut = 0; cut < 44; cut++) {
		memcpy(before, p, len);
		assert_int_equal(cn_mss_clamp(p, cut, 1000), 0);
		assert_memory_equal(p, before, len);
	}
	assert_int_equal(cn_mss_clamp(NULL, 40, 1000), 0);
	/* Link padding after the packet is not part of it. */
	len = pkt4(p, 0x02, mss1460, sizeof(mss1460));
	memset(p + len, 0xff, 8);
	assert_int_equal(cn_mss_clamp(p, len + 8, 1000), 1);
	assert_int_equal(tcp_check(p, 20, len), 0);
}

/* IPv6 SYN behind `ext` (extension headers, first next-header nh0). */
static size_t pkt6(uint8_t *p, uint8_t nh0, const uint8_t *ext, size_t elen)
{
	size_t tcp = 40 + elen, len = tcp + 20 + sizeof(mss1460);

	memset(p, 0, len);
	p[0] = 0x60;
	put16(p + 4, (uint16_t)(len - 40));
	p[6] = nh0;
	p[7] = 64;
	p[8] = 0xfd, p[23] = 1;
	p[24] = 0xfd, p[39] = 2;
	if (elen)
		memcpy(p + 40, ext, elen);
	p[tcp + 12] = (uint8_t)((20 + sizeof(mss1460)) / 4 << 4);
	p[tcp + 13] = 0x02;
	memcpy(p + tcp + 20, mss1460, sizeof(mss1460));
	set_tcp_csum(p, tcp, len);
	return len;
}

static void test_v6(void **state)
{
	uint8_t p[256];
	size_t len;
	/* hop-by-hop (8 bytes: next TCP, len 0, PadN) */
	static const uint8_t hbh[8] = {CN_IPPROTO_TCP, 0, 1, 4, 0, 0, 0, 0};
	/* destination options (16 bytes) then a first fragment */
	static const uint8_t dst_frag[24] = {44, 1, 1, 12, [16] = CN_IPPROTO_TCP, [19] = 1};
	static const uint8_t later_frag[8] = {CN_IPPROTO_TCP, 0, 0, 0x08};

	(void)state;
	len = pkt6(p, CN_IPPROTO_TCP, NULL, 0);
	assert_int_equal(cn_mss_clamp(p, len, 1220), 1);
	assert_int_equal(p[62] << 8 | p[63], 1220);
	assert_int_equal(tcp_check(p, 40, len), 0);
	len = pkt6(p, 0, hbh, sizeof(hbh));
	assert_int_equal(cn_mss_clamp(p, len, 1220), 1);
	assert_int_equal(tcp_check(p, 48, len), 0);
	len = pkt6(p, 60, dst_frag, sizeof(dst_frag));
	assert_int_equal(cn_mss_clamp(p, len, 1220), 1);
	assert_int_equal(tcp_check(p, 64, len), 0);
	/* Not the first fragment; an unknown header; a header past the end. */
	len = pkt6(p, 44, later_frag, sizeof(later_frag));
	assert_int_equal(cn_mss_clamp(p, len, 1220), 0);
	len = pkt6(p, 50, hbh, sizeof(hbh)); /* ESP */
	assert_int_equal(cn_mss_clamp(p, len, 1220), 0);
	len = pkt6(p, 0, (const uint8_t[8]){CN_IPPROTO_TCP, 30}, 8);
	assert_int_equal(cn_mss_clamp(p, len, 1220), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v4),
		cmocka_unit_test(test_v4_malformed),
		cmocka_unit_test(test_v6),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
