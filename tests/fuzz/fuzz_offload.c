/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the TUN offload (node/offload.h). The first byte picks:
 *
 *  even: the rest is one TUN read (virtio header + packet) segmented into
 *        buffers of a size taken from the second byte. Every segment must fit
 *        its buffer; a GSO input's segments must parse with the right length
 *        and verifying checksums and carry the super-packet's payload in
 *        order. Then the segments are coalesced and the result segmented
 *        again: the same packets, byte for byte, must come out.
 *  odd:  the rest is packets with 2-byte big-endian length prefixes, coalesced
 *        as one receive batch. Every write must have a sane header and fit
 *        64 KiB; splitting every write again must give back every input
 *        packet exactly once (checksum fields aside, which a merge rewrites,
 *        and IPv4 IDs of DF packets, which it renumbers).
 *
 * Any disagreement aborts.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "common/err.h"
#include "node/ippkt.h"
#include "node/offload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { NSEG = CN_OFFLOAD_SEGS_MAX, CAP = 1500 };

static uint8_t seg_buf[NSEG][CN_OFFLOAD_PKT_MAX];
static uint8_t seg2_buf[NSEG][CN_OFFLOAD_PKT_MAX];
static uint8_t arena[CN_GRO_BATCH_MAX * (CN_OFFLOAD_PKT_MAX + CN_VNET_HDR_LEN)];
static struct cn_gro gro;
static struct cn_gro_out outs[CN_GRO_BATCH_MAX];
static uint8_t ghdrs[CN_GRO_HDRS_MAX];
static struct iovec iov[CN_GRO_IOV_MAX];
static struct cn_gro_vec vec[CN_GRO_BATCH_MAX];

static void check(int cond)
{
	if (!cond)
		abort();
}

static void ptrs(uint8_t (*buf)[CN_OFFLOAD_PKT_MAX], uint8_t **p)
{
	for (int i = 0; i < NSEG; i++)
		p[i] = buf[i];
}

static size_t l4_csum_at(const struct cn_ip_info *in)
{
	return in->hdr_len + (in->proto == CN_IPPROTO_TCP ? 16 : 6);
}

/* A segment of a GSO packet: well-formed, every checksum verifies. */
static void check_segment(const uint8_t *p, size_t len, uint8_t proto)
{
	struct cn_ip_info ip;
	uint32_t sum;

	check(cn_ip_parse(p, len, &ip) == 0 && ip.total_len == len && ip.proto == proto);
	if (ip.version == 4)
		check(cn_ip_csum_fold(cn_ip_csum_add(0, p, ip.hdr_len)) == 0);
	sum = cn_ip_csum_pseudo(&ip, proto, (uint32_t)(len - ip.hdr_len));
	check(cn_ip_csum_fold(cn_ip_csum_add(sum, p + ip.hdr_len, len - ip.hdr_len)) == 0);
}

/* Splits every write of the flushed batch; returns the packet count, in p/len. */
static size_t resegment(size_t n_out, uint8_t **p, size_t *len)
{
	size_t total = 0, n;

	for (size_t i = 0; i < n_out; i++) {
		check(outs[i].len >= CN_VNET_HDR_LEN &&
		      outs[i].len - CN_VNET_HDR_LEN <= CN_OFFLOAD_PKT_MAX);
		check(total < NSEG);
		n = 0;
		check(cn_offload_segment(outs[i].p, outs[i].len, p + total, CN_OFFLOAD_PKT_MAX,
					 NSEG - total, len + total, &n) == 0 ||
		      outs[i].len == CN_VNET_HDR_LEN);
		total += n;
	}
	return total;
}

static void fuzz_segment(const uint8_t *data, size_t size)
{
	uint8_t *p[NSEG], *p2[NSEG];
	size_t len[NSEG], len2[NSEG], n = 0, n2, n_out = 0, cap, off = 0, l4;
	struct cn_vnet_hdr h;
	struct cn_ip_info ip;
	int ret;

	if (size < 1)
		return;
	cap = 68 + (size_t)data[0] * 6; /* 68 .. 1598 */
	data++;
	size--;
	ptrs(seg_buf, p);
	ptrs(seg2_buf, p2);
	ret = cn_offload_segment(data, size, p, cap, NSEG, len, &n);
	if (ret) {
		check(n == 0);
		check(ret == -CN_ESHORT || ret == -CN_EFORMAT || ret == -CN_ETOOBIG);
		return;
	}
	check(n >= 1 && n <= NSEG);
	check(cn_vnet_hdr_decode(data, size, &h) == 0);
	for (size_t i = 0; i < n; i++)
		check(len[i] >= 1 && len[i] <= cap);
	if ((h.gso_type & 0x7f) != CN_VNET_GSO_NONE) {
		check(cn_ip_parse(data + CN_VNET_HDR_LEN, size - CN_VNET_HDR_LEN, &ip) == 0);
		l4 = ip.proto == CN_IPPROTO_TCP
			     ? (size_t)(data[CN_VNET_HDR_LEN + ip.hdr_len + 12] >> 4) * 4
			     : 8;
		for (size_t i = 0; i < n; i++) {
			size_t hdrs = ip.hdr_len + l4;

			check_segment(p[i], len[i], ip.proto);
			check(len[i] > hdrs);
			check(i + 1 == n || len[i] - hdrs == h.gso_size);
			check(memcmp(p[i] + hdrs, data + CN_VNET_HDR_LEN + hdrs + off,
				     len[i] - hdrs) == 0);
			off += len[i] - hdrs;
		}
		check(ip.hdr_len + l4 + off == size - CN_VNET_HDR_LEN);
	} else {
		check(n == 1 && len[0] == size - CN_VNET_HDR_LEN);
	}

	/* Coalesce and split again: nothing may change. */
	cn_gro_init(&gro, CN_GRO_TCP | CN_GRO_UDP);
	for (size_t i = 0; i < n; i++)
		check(cn_gro_add(&gro, p[i], len[i]) == 0);
	check(cn_gro_flush(&gro, arena, sizeof(arena), outs, CN_GRO_BATCH_MAX, &n_out) == 0);
	check(n_out >= 1 && n_out <= n);
	n2 = resegment(n_out, p2, len2);
	check(n2 == n);
	for (size_t i = 0; i < n; i++)
		check(len2[i] == len[i] && memcmp(p2[i], p[i], len[i]) == 0);
}

/* Equal but for the checksum fields a merge rewrites. */
static int same_mod_csum(const uint8_t *a, const uint8_t *b, size_t len)
{
	static uint8_t x[CN_OFFLOAD_PKT_MAX], y[CN_OFFLOAD_PKT_MAX];
	struct cn_ip_info ia;
	size_t at;

	if (memcmp(a, b, len) == 0)
		return 1;
	if (cn_ip_parse(a, len, &ia) || (ia.proto != CN_IPPROTO_TCP && ia.proto != CN_IPPROTO_UDP))
		return 0;
	at = l4_csum_at(&ia);
	if (at + 2 > len)
		return 0;
	memcpy(x, a, len);
	memcpy(y, b, len);
	x[at] = x[at + 1] = y[at] = y[at + 1] = 0;
	if (ia.version == 4)
		x[10] = x[11] = y[10] = y[11] = 0;
	/* With DF the IPv4 ID means nothing (RFC 6864); a merge renumbers it. */
	if (ia.version == 4 && (a[6] & 0x40))
		x[4] = x[5] = y[4] = y[5] = 0;
	return memcmp(x, y, len) == 0;
}

static void fuzz_coalesce(const uint8_t *data, size_t size)
{
	const uint8_t *in[CN_GRO_BATCH_MAX];
	size_t in_len[CN_GRO_BATCH_MAX], nin = 0, n_out = 0, len2[NSEG], n2, n;
	uint8_t *p2[NSEG];
	int used[CN_GRO_BATCH_MAX] = {0};
	unsigned flags;

	if (size < 1)
		return;
	flags = data[0] & 3;
	data++;
	size--;
	cn_gro_init(&gro, flags);
	while (size >= 2 && nin < CN_GRO_BATCH_MAX) {
		n = (size_t)(data[0] << 8 | data[1]);
		data += 2;
		size -= 2;
		if (n > size)
			n = size;
		check(cn_gro_add(&gro, data, n) == 0);
		in[nin] = data;
		in_len[nin++] = n;
		data += n;
		size -= n;
	}
	check(cn_gro_arena_need(&gro) <= sizeof(arena));
	/* The writev form first (it keeps the batch): headers in hdrs, the rest inside inputs. */
	check(cn_gro_flush_iov(&gro, ghdrs, sizeof(ghdrs), iov, CN_GRO_IOV_MAX, vec,
			       CN_GRO_BATCH_MAX, &n_out) == 0);
	for (size_t i = 0; i < n_out; i++) {
		size_t tot = 0;

		check(vec[i].niov >= 2 && vec[i].iov0 + vec[i].niov <= CN_GRO_IOV_MAX);
		for (size_t j = vec[i].iov0; j < vec[i].iov0 + vec[i].niov; j++) {
			const uint8_t *b = iov[j].iov_base;
			bool inside = false;

			tot += iov[j].iov_len;
			if (j == vec[i].iov0) {
				check(b >= ghdrs && b + iov[j].iov_len <= ghdrs + sizeof(ghdrs));
				continue;
			}
			for (size_t k = 0; k < nin && !inside; k++)
				inside = b >= in[k] && b + iov[j].iov_len <= in[k] + in_len[k];
			check(inside);
		}
		check(tot == vec[i].len);
	}
	check(cn_gro_flush(&gro, arena, sizeof(arena), outs, CN_GRO_BATCH_MAX, &n_out) == 0);
	check(n_out <= nin);
	ptrs(seg2_buf, p2);
	/* Plain writes carry the packet as it came, even garbage; supers re-split. */
	n2 = 0;
	for (size_t i = 0; i < n_out; i++) {
		struct cn_vnet_hdr h;

		check(cn_vnet_hdr_decode(outs[i].p, outs[i].len, &h) == 0);
		check(outs[i].len - CN_VNET_HDR_LEN <= CN_OFFLOAD_PKT_MAX);
		if (h.gso_type == CN_VNET_GSO_NONE) {
			check(h.flags == 0 && h.gso_size == 0 && h.csum_start == 0);
			check(n2 < NSEG);
			len2[n2] = outs[i].len - CN_VNET_HDR_LEN;
			memcpy(p2[n2], outs[i].p + CN_VNET_HDR_LEN, len2[n2]);
			n2++;
			continue;
		}
		check(h.flags == CN_VNET_F_NEEDS_CSUM && h.gso_size > 0);
		n = 0;
		check(cn_offload_segment(outs[i].p, outs[i].len, p2 + n2, CN_OFFLOAD_PKT_MAX,
					 NSEG - n2, len2 + n2, &n) == 0);
		check(n >= 2);
		n2 += n;
	}
	check(n2 == nin);
	/* Each input exactly once; writes keep the order of each one's first packet. */
	for (size_t i = 0; i < n2; i++) {
		size_t j;

		for (j = 0; j < nin; j++)
			if (!used[j] && in_len[j] == len2[i] &&
			    same_mod_csum(in[j], p2[i], len2[i]))
				break;
		check(j < nin);
		used[j] = 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		fuzz_coalesce(data + 1, size - 1);
	else
		fuzz_segment(data + 1, size - 1);
	return 0;
}
