/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the IP packet helpers (node/ippkt.h): the parser on
 * arbitrary bytes, and, when a packet parses, the ICMP unreachable built for
 * it, re-parsed and checked field by field (addresses, length, quote,
 * checksums). An answer must never itself be answered, and a buffer one byte
 * short must be refused without a write. Any disagreement aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "node/ippkt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
	if (!cond)
		abort();
}

static void check_answer(const uint8_t *orig, const struct cn_ip_info *oi, const uint8_t *src,
			 const uint8_t *out, size_t len)
{
	struct cn_ip_info ai;
	size_t l4, quote;
	uint32_t sum;

	check(cn_ip_parse(out, len, &ai) == 0);
	check(ai.version == oi->version && ai.total_len == len);
	check(memcmp(ai.src, src, ai.addr_len) == 0);
	check(memcmp(ai.dst, oi->src, ai.addr_len) == 0);
	l4 = len - ai.hdr_len;
	quote = l4 - CN_ICMP_HDR_LEN;
	check(quote <= oi->total_len);
	check(memcmp(out + ai.hdr_len + CN_ICMP_HDR_LEN, orig, quote) == 0);
	if (ai.version == 4) {
		check(len <= CN_ICMP4_ERROR_MAX);
		/* Whole orig, or the 576-byte cap (always past its header and 8 bytes). */
		check(quote == oi->total_len || len == CN_ICMP4_ERROR_MAX);
		check(ai.proto == CN_IPPROTO_ICMP && ai.hdr_len == CN_IP4_HDR_MIN);
		check(out[ai.hdr_len] == 3 && out[ai.hdr_len + 1] == 1);
		check(cn_ip_csum_fold(cn_ip_csum_add(0, out, ai.hdr_len)) == 0);
		sum = cn_ip_csum_add(0, out + ai.hdr_len, l4);
	} else {
		check(len <= CN_ICMP6_ERROR_MAX);
		check(quote == oi->total_len || len == CN_ICMP6_ERROR_MAX);
		check(ai.proto == CN_IPPROTO_ICMPV6);
		check(out[ai.hdr_len] == 1 && out[ai.hdr_len + 1] == 3);
		sum = cn_ip_csum_pseudo(&ai, CN_IPPROTO_ICMPV6, (uint32_t)l4);
		sum = cn_ip_csum_add(sum, out + ai.hdr_len, l4);
	}
	check(cn_ip_csum_fold(sum) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[CN_ICMP_UNREACH_MAX], again[CN_ICMP_UNREACH_MAX];
	struct cn_ip_info oi;
	uint8_t src[16];
	size_t len = 1, len2 = 1;
	int ret;

	ret = cn_ip_parse(data, size, &oi);
	if (ret) {
		check(ret == -CN_ESHORT || ret == -CN_EFORMAT);
		check(oi.version == 0 && oi.src == NULL);
		memset(src, 1, sizeof(src));
		check(cn_icmp_unreachable(data, size, src, out, sizeof(out), &len) == ret);
		check(len == 0);
		return 0;
	}
	check(oi.version == 4 || oi.version == 6);
	check(oi.addr_len == (oi.version == 4 ? 4 : 16));
	check(oi.hdr_len <= oi.total_len && oi.total_len <= size);
	check(oi.src >= data && oi.src + oi.addr_len <= data + oi.hdr_len);
	check(oi.dst >= data && oi.dst + oi.addr_len <= data + oi.hdr_len);

	/* Our address: the packet's destination, as the node answers. */
	memcpy(src, oi.dst, oi.addr_len);
	ret = cn_icmp_unreachable(data, size, src, out, sizeof(out), &len);
	if (ret) {
		check(ret == -CN_EINVAL && len == 0);
		return 0;
	}
	check(len > 0 && len <= sizeof(out));
	check_answer(data, &oi, src, out, len);

	/* No error about an error. */
	check(cn_icmp_unreachable(out, len, src, again, sizeof(again), &len2) == -CN_EINVAL);
	check(len2 == 0);

	/* One byte short: refused, nothing written. */
	memset(again, 0xa5, sizeof(again));
	len2 = 1;
	check(cn_icmp_unreachable(data, size, src, again, len - 1, &len2) == -CN_ETOOBIG);
	check(len2 == 0 && again[0] == 0xa5 && again[len - 2] == 0xa5);
	return 0;
}
