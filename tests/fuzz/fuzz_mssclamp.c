/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: TCP MSS clamping on packets from the TUN. The first two
 * bytes are the MSS limit, the rest the packet. A packet left alone is
 * unchanged; a clamped one differs in at most four bytes (the MSS value and
 * the checksum), has the same one's complement sum (so its TCP checksum is
 * as right or as wrong as before: the TCP header is at an even offset), and
 * clamping it again changes nothing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "node/ippkt.h"
#include "node/mssclamp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint16_t sum_of(const uint8_t *p, size_t n)
{
	uint16_t s = cn_ip_csum_fold(cn_ip_csum_add(0, p, n));

	return s == 0xffff ? 0 : s; /* +0 and -0 are the same sum */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t pkt[65536];
	uint16_t mss;
	size_t n, diff = 0;
	int r;

	if (size < 2 || size - 2 > sizeof(pkt))
		return 0;
	mss = (uint16_t)(data[0] << 8 | data[1]);
	n = size - 2;
	memcpy(pkt, data + 2, n);
	r = cn_mss_clamp(pkt, n, mss);
	if (r != 0 && r != 1)
		abort();
	for (size_t i = 0; i < n; i++)
		diff += pkt[i] != data[2 + i];
	if (r == 0 && diff != 0)
		abort();
	if (r == 1) {
		if (diff > 4 || sum_of(pkt, n) != sum_of(data + 2, n))
			abort();
		if (cn_mss_clamp(pkt, n, mss) != 0)
			abort();
	}
	return 0;
}
