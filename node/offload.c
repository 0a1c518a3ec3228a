/* SPDX-License-Identifier: MIT */
/*
 * TUN segmentation and coalescing offload (see offload.h). Pure: must not do
 * I/O, allocate or log. Every offset into a packet is checked against its
 * length before use; header fields are read and written with explicit
 * big-endian helpers, never through a struct cast.
 */
#include "node/offload.h"

#include <stdint.h>
#include <string.h>
#include <sys/uio.h>

#include "common/bytes.h"
#include "common/err.h"
#include "node/ippkt.h"

/* Offsets inside the headers (RFC 791, RFC 8200, RFC 9293, RFC 768). */
enum {
	IP4_TOS = 1,
	IP4_TOTLEN = 2,
	IP4_ID = 4,
	IP4_FRAG = 6,
	IP4_TTL = 8,
	IP4_CSUM = 10,
	IP4_DF = 0x40,	     /* in byte IP4_FRAG */
	IP4_MF_OFF = 0x3fff, /* MF and fragment offset */
	IP6_PLEN = 4,
	IP6_HLIM = 7,
	TCP_SEQ = 4,
	TCP_ACK = 8,
	TCP_DOFF = 12,
	TCP_FLAGS = 13,
	TCP_WIN = 14,
	TCP_CSUM = 16,
	TCP_URP = 18,
	TCP_HDR_MIN = 20,
	UDP_LEN = 4,
	UDP_CSUM = 6,
	UDP_HDR_LEN = 8,
	TCP_FIN = 0x01,
	TCP_SYN = 0x02,
	TCP_RST = 0x04,
	TCP_PSH = 0x08,
	TCP_URG = 0x20,
	TCP_CWR = 0x80,
};

_Static_assert(CN_OFFLOAD_PKT_MAX <= UINT16_MAX, "lengths fit the IPv4 total length");
_Static_assert(CN_GRO_BATCH_MAX < UINT16_MAX, "packet indices fit 16 bits with a sentinel");
_Static_assert(CN_GRO_BATCH_MAX <= CN_OFFLOAD_SEGS_MAX, "one batch never overfills a super-packet");
_Static_assert(CN_VNET_HDR_LEN == 1 + 1 + 2 + 2 + 2 + 2, "virtio_net_hdr layout");

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* The L4 protocol of a packet classify() accepted (IPv6: no extension headers). */
static uint8_t l4proto(const uint8_t *ip)
{
	return (ip[0] >> 4) == 4 ? ip[9] : ip[6];
}

static void put16le(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

/* Two reads in sequence (the order of operands inside one expression is unspecified). */
static uint16_t rd16le(struct cn_rd *r)
{
	uint16_t lo = cn_rd_u8(r);
	uint16_t hi = cn_rd_u8(r);

	return (uint16_t)(lo | hi << 8);
}

int cn_vnet_hdr_decode(const uint8_t *p, size_t n, struct cn_vnet_hdr *h)
{
	struct cn_rd r;

	memset(h, 0, sizeof(*h));
	if (!p || n < CN_VNET_HDR_LEN)
		return -CN_ESHORT;
	cn_rd_init(&r, p, CN_VNET_HDR_LEN);
	h->flags = cn_rd_u8(&r);
	h->gso_type = cn_rd_u8(&r);
	h->hdr_len = rd16le(&r);
	h->gso_size = rd16le(&r);
	h->csum_start = rd16le(&r);
	h->csum_offset = rd16le(&r);
	return 0;
}

void cn_vnet_hdr_encode(const struct cn_vnet_hdr *h, uint8_t out[static CN_VNET_HDR_LEN])
{
	out[0] = h->flags;
	out[1] = h->gso_type;
	put16le(out + 2, h->hdr_len);
	put16le(out + 4, h->gso_size);
	put16le(out + 6, h->csum_start);
	put16le(out + 8, h->csum_offset);
}

/* The value to store for a checksum over a region whose field is zero (or a partial sum). */
static uint16_t finish(uint32_t sum, bool zero_is_ffff)
{
	uint16_t c = cn_ip_csum_fold(sum);

	return (c == 0 && zero_is_ffff) ? 0xffff : c;
}

static void ip4_fix_csum(uint8_t *ip, size_t hl)
{
	put16(ip + IP4_CSUM, 0);
	put16(ip + IP4_CSUM, cn_ip_csum_fold(cn_ip_csum_add(0, ip, hl)));
}

/* gso_type NONE: one packet, its partial checksum finished if asked. */
static int segment_plain(const struct cn_vnet_hdr *h, const uint8_t *pkt, size_t len, uint8_t *seg,
			 size_t seg_cap, size_t *seg_len)
{
	size_t at;

	if (len == 0)
		return -CN_ESHORT;
	if (len > seg_cap)
		return -CN_ETOOBIG;
	if ((h->flags & CN_VNET_F_NEEDS_CSUM) &&
	    ((size_t)h->csum_start + h->csum_offset + 2 > len || h->csum_start >= len))
		return -CN_EFORMAT;
	memcpy(seg, pkt, len);
	if (h->flags & CN_VNET_F_NEEDS_CSUM) {
		/* The field holds the pseudo-header sum: summing over it finishes the job. */
		at = (size_t)h->csum_start + h->csum_offset;
		put16(seg + at,
		      finish(cn_ip_csum_add(0, seg + h->csum_start, len - h->csum_start), true));
	}
	*seg_len = len;
	return 0;
}

int cn_offload_segment(const uint8_t *in, size_t len, uint8_t *const segs[], size_t seg_cap,
		       size_t max_segs, size_t seg_len[], size_t *n_segs)
{
	struct cn_vnet_hdr h;
	struct cn_ip_info ip;
	const uint8_t *pkt;
	size_t plen, l3, l4, hdrs, payload, nseg, i, off, n;
	uint8_t gso, proto, *s;
	uint32_t seq0 = 0, sum;
	uint16_t id0 = 0;
	int ret;

	if (!in || !segs || !seg_len || !n_segs)
		return -CN_EINVAL;
	*n_segs = 0;
	if (cn_vnet_hdr_decode(in, len, &h))
		return -CN_ESHORT;
	pkt = in + CN_VNET_HDR_LEN;
	plen = len - CN_VNET_HDR_LEN;
	if (plen > CN_OFFLOAD_PKT_MAX)
		return -CN_ETOOBIG;
	if (h.flags & ~(CN_VNET_F_NEEDS_CSUM | CN_VNET_F_DATA_VALID))
		return -CN_EFORMAT;
	if (max_segs == 0)
		return -CN_ETOOBIG;
	gso = h.gso_type & (uint8_t)~CN_VNET_GSO_ECN;
	if (gso == CN_VNET_GSO_NONE) {
		if (h.gso_type & CN_VNET_GSO_ECN)
			return -CN_EFORMAT;
		ret = segment_plain(&h, pkt, plen, segs[0], seg_cap, &seg_len[0]);
		if (ret == 0)
			*n_segs = 1;
		return ret;
	}

	/* A GSO super-packet: check everything before writing anything. */
	switch (gso) {
	case CN_VNET_GSO_TCPV4:
	case CN_VNET_GSO_TCPV6:
		proto = CN_IPPROTO_TCP;
		break;
	case CN_VNET_GSO_UDP_L4:
		if (h.gso_type & CN_VNET_GSO_ECN)
			return -CN_EFORMAT;
		proto = CN_IPPROTO_UDP;
		break;
	default:
		return -CN_EFORMAT; /* UFO and unknown types */
	}
	ret = cn_ip_parse(pkt, plen, &ip);
	if (ret)
		return ret;
	if (ip.total_len != plen || ip.proto != proto)
		return -CN_EFORMAT;
	if ((gso == CN_VNET_GSO_TCPV4 && ip.version != 4) ||
	    (gso == CN_VNET_GSO_TCPV6 && ip.version != 6))
		return -CN_EFORMAT;
	if (ip.version == 4 && (get16(pkt + IP4_FRAG) & IP4_MF_OFF))
		return -CN_EFORMAT;
	l3 = ip.hdr_len;
	if (h.csum_start != l3 || h.gso_size == 0)
		return -CN_EFORMAT;
	if ((h.flags & CN_VNET_F_NEEDS_CSUM) &&
	    h.csum_offset != (proto == CN_IPPROTO_TCP ? TCP_CSUM : UDP_CSUM))
		return -CN_EFORMAT;
	if (proto == CN_IPPROTO_TCP) {
		if (l3 + TCP_HDR_MIN > plen)
			return -CN_ESHORT;
		l4 = (size_t)(pkt[l3 + TCP_DOFF] >> 4) * 4;
		if (l4 < TCP_HDR_MIN)
			return -CN_EFORMAT;
		if (l3 + l4 > plen)
			return -CN_ESHORT;
		seq0 = get32(pkt + l3 + TCP_SEQ);
	} else {
		l4 = UDP_HDR_LEN;
		if (l3 + l4 > plen)
			return -CN_ESHORT;
		if (get16(pkt + l3 + UDP_LEN) != plen - l3)
			return -CN_EFORMAT;
	}
	hdrs = l3 + l4;
	payload = plen - hdrs;
	if (payload == 0)
		return -CN_EFORMAT;
	nseg = (payload + h.gso_size - 1) / h.gso_size;
	if (nseg > max_segs || nseg > CN_OFFLOAD_SEGS_MAX)
		return -CN_ETOOBIG;
	if (hdrs + (payload < h.gso_size ? payload : h.gso_size) > seg_cap)
		return -CN_ETOOBIG;
	if (ip.version == 4)
		id0 = get16(pkt + IP4_ID);

	for (i = 0, off = 0; i < nseg; i++, off += n) {
		n = payload - off < h.gso_size ? payload - off : h.gso_size;
		s = segs[i];
		memcpy(s, pkt, hdrs);
		memcpy(s + hdrs, pkt + hdrs + off, n);
		if (ip.version == 4) {
			put16(s + IP4_TOTLEN, (uint16_t)(hdrs + n));
			put16(s + IP4_ID, (uint16_t)(id0 + i));
			ip4_fix_csum(s, l3);
		} else {
			put16(s + IP6_PLEN, (uint16_t)(hdrs - CN_IP6_HDR_LEN + n));
		}
		/* The pseudo-header's addresses are the same for every segment. */
		sum = cn_ip_csum_pseudo(&ip, proto, (uint32_t)(l4 + n));
		if (proto == CN_IPPROTO_TCP) {
			put32(s + l3 + TCP_SEQ, seq0 + (uint32_t)off);
			if (i + 1 < nseg)
				s[l3 + TCP_FLAGS] &= (uint8_t) ~(TCP_FIN | TCP_PSH);
			if (i > 0)
				s[l3 + TCP_FLAGS] &= (uint8_t)~TCP_CWR;
			put16(s + l3 + TCP_CSUM, 0);
			put16(s + l3 + TCP_CSUM,
			      finish(cn_ip_csum_add(sum, s + l3, l4 + n), false));
		} else {
			put16(s + l3 + UDP_LEN, (uint16_t)(l4 + n));
			put16(s + l3 + UDP_CSUM, 0);
			put16(s + l3 + UDP_CSUM, finish(cn_ip_csum_add(sum, s + l3, l4 + n), true));
		}
		seg_len[i] = hdrs + n;
	}
	*n_segs = nseg;
	return 0;
}

/* ---- receive side: coalescing ---- */

enum {
	NO_NEXT = UINT16_MAX,
	KIND_LONE = 0, /* no flow: written alone, closes nothing */
	KIND_KEYED,    /* a flow's packet that may not merge: closes the flow's super-packet */
	KIND_MERGE,    /* may start or join a super-packet */
};

void cn_gro_init(struct cn_gro *g, unsigned flags)
{
	g->flags = flags;
	g->npkt = 0;
	g->ngroup = 0;
	g->bytes = 0;
}

/* Fills l3, l4 (for KEYED/MERGE), seq and returns the kind. */
static uint8_t classify(const struct cn_gro *g, struct cn_gro_pkt *k)
{
	struct cn_ip_info ip;
	const uint8_t *p = k->p;
	size_t len = k->len, l3, l4;
	uint8_t fl;
	bool merge = true;

	if (cn_ip_parse(p, len, &ip) || ip.total_len != len)
		return KIND_LONE;
	l3 = ip.hdr_len;
	if (ip.proto != CN_IPPROTO_TCP && ip.proto != CN_IPPROTO_UDP)
		return KIND_LONE;
	if (ip.version == 4) {
		/* A fragment carries no ports (or not the whole datagram). */
		if (get16(p + IP4_FRAG) & IP4_MF_OFF)
			return KIND_LONE;
		if (l3 != CN_IP4_HDR_MIN)
			merge = false;
	}
	if (l3 + 4 > len)
		return KIND_LONE;
	k->l3 = (uint16_t)l3;
	if (ip.proto == CN_IPPROTO_TCP) {
		if (l3 + TCP_HDR_MIN > len)
			return KIND_KEYED;
		l4 = (size_t)(p[l3 + TCP_DOFF] >> 4) * 4;
		if (l4 < TCP_HDR_MIN || l3 + l4 >= len)
			return KIND_KEYED; /* malformed or no payload */
		fl = p[l3 + TCP_FLAGS];
		if (fl & (TCP_SYN | TCP_FIN | TCP_RST | TCP_URG | TCP_CWR))
			merge = false;
		k->seq = get32(p + l3 + TCP_SEQ);
	} else {
		l4 = UDP_HDR_LEN;
		if (!(g->flags & CN_GRO_UDP) || l3 + l4 >= len ||
		    get16(p + l3 + UDP_LEN) != len - l3)
			merge = false;
	}
	if (ip.proto == CN_IPPROTO_TCP && !(g->flags & CN_GRO_TCP))
		merge = false;
	k->l4 = (uint16_t)l4;
	return merge ? KIND_MERGE : KIND_KEYED;
}

/* Same flow: version, protocol, addresses and ports. */
static bool same_flow(const struct cn_gro_pkt *a, const struct cn_gro_pkt *b)
{
	const uint8_t *p = a->p, *q = b->p;

	if ((p[0] >> 4) != (q[0] >> 4))
		return false;
	if ((p[0] >> 4) == 4) {
		if (p[9] != q[9] || memcmp(p + 12, q + 12, 8) != 0)
			return false;
	} else if (p[6] != q[6] || memcmp(p + 8, q + 8, 32) != 0) {
		return false;
	}
	return memcmp(p + a->l3, q + b->l3, 4) == 0;
}

/* May k follow the group's last packet? Everything but length, ID, seq, PSH equal. */
static bool can_join(const struct cn_gro *g, const struct cn_gro_group *grp,
		     const struct cn_gro_pkt *k)
{
	const struct cn_gro_pkt *f = &g->pkt[grp->first];
	const uint8_t *p = f->p, *q = k->p;
	size_t payload = (size_t)k->len - k->l3 - k->l4;

	if (grp->closed || f->l3 != k->l3 || f->l4 != k->l4)
		return false;
	/* No count check: a batch holds no more packets than a super-packet may have. */
	if (payload > grp->gso_size || grp->total + payload > CN_OFFLOAD_PKT_MAX)
		return false;
	if ((p[0] >> 4) == 4) {
		/* The whole flags byte: DF and the reserved bit (no MF, offset 0 here). */
		if (p[IP4_TOS] != q[IP4_TOS] || p[IP4_TTL] != q[IP4_TTL] ||
		    p[IP4_FRAG] != q[IP4_FRAG])
			return false;
		/* Without DF the IDs must run on, as the kernel will renumber them. */
		if (!(p[IP4_FRAG] & IP4_DF) &&
		    get16(q + IP4_ID) != (uint16_t)(get16(p + IP4_ID) + grp->count))
			return false;
	} else if (memcmp(p, q, 4) != 0 || p[IP6_HLIM] != q[IP6_HLIM]) {
		return false;
	}
	if (l4proto(p) == CN_IPPROTO_UDP)
		return true;
	p += f->l3;
	q += k->l3;
	if (k->seq != grp->next_seq || get32(p + TCP_ACK) != get32(q + TCP_ACK) ||
	    p[TCP_DOFF] != q[TCP_DOFF] || get16(p + TCP_WIN) != get16(q + TCP_WIN) ||
	    get16(p + TCP_URP) != get16(q + TCP_URP) ||
	    ((p[TCP_FLAGS] ^ q[TCP_FLAGS]) & (uint8_t)~TCP_PSH) != 0)
		return false;
	/* The first packet may not carry PSH: it would have closed the group. */
	return memcmp(p + TCP_HDR_MIN, q + TCP_HDR_MIN, f->l4 - TCP_HDR_MIN) == 0;
}

static void group_start(struct cn_gro *g, uint16_t idx, bool closed)
{
	struct cn_gro_group *grp = &g->group[g->ngroup++];
	const struct cn_gro_pkt *k = &g->pkt[idx];
	size_t payload = (size_t)k->len - k->l3 - k->l4;

	grp->first = grp->last = idx;
	grp->count = 1;
	grp->total = k->len;
	grp->gso_size = (uint16_t)payload;
	grp->next_seq = k->seq + (uint32_t)payload;
	grp->closed = closed;
	if (!closed && l4proto(k->p) == CN_IPPROTO_TCP && (k->p[k->l3 + TCP_FLAGS] & TCP_PSH))
		grp->closed = true;
}

int cn_gro_add(struct cn_gro *g, const uint8_t *pkt, size_t len)
{
	struct cn_gro_pkt *k;
	struct cn_gro_group *grp = NULL;
	size_t payload;
	uint16_t idx;
	int i;

	if (!g || !pkt)
		return -CN_EINVAL;
	if (g->npkt >= CN_GRO_BATCH_MAX || len > CN_OFFLOAD_PKT_MAX)
		return -CN_ETOOBIG;
	idx = g->npkt;
	k = &g->pkt[idx];
	memset(k, 0, sizeof(*k));
	k->p = pkt;
	k->len = (uint16_t)len;
	k->next = NO_NEXT;
	k->kind = classify(g, k);
	g->npkt++;
	g->bytes += CN_VNET_HDR_LEN + len;
	if (k->kind == KIND_LONE) {
		group_start(g, idx, true);
		return 0;
	}
	/* The newest group of this flow: only it may grow, to keep the flow's order. */
	for (i = (int)g->ngroup - 1; i >= 0; i--) {
		const struct cn_gro_pkt *f = &g->pkt[g->group[i].first];

		if (f->kind != KIND_LONE && same_flow(f, k)) {
			grp = &g->group[i];
			break;
		}
	}
	if (k->kind == KIND_MERGE && grp && g->pkt[grp->first].kind == KIND_MERGE &&
	    can_join(g, grp, k)) {
		payload = (size_t)k->len - k->l3 - k->l4;
		g->pkt[grp->last].next = idx;
		grp->last = idx;
		grp->count++;
		grp->total += (uint32_t)payload;
		grp->next_seq += (uint32_t)payload;
		if (payload < grp->gso_size)
			grp->closed = true;
		if (l4proto(k->p) == CN_IPPROTO_TCP && (k->p[k->l3 + TCP_FLAGS] & TCP_PSH))
			grp->closed = true;
		return 0;
	}
	/*
	 * Start anew. The flow's older super-packet is never found again (the
	 * search stops at the newest), so nothing later can jump ahead of k.
	 */
	group_start(g, idx, k->kind != KIND_MERGE);
	return 0;
}

size_t cn_gro_arena_need(const struct cn_gro *g)
{
	return g ? g->bytes : 0;
}

/*
 * The virtio header and the first packet's IP and L4 headers, fixed up, of
 * a group of two or more packets as one GSO super-packet, at out; returns
 * the header bytes written. The payloads follow in the caller's iovecs.
 */
static size_t write_super_hdrs(const struct cn_gro *g, const struct cn_gro_group *grp, uint8_t *out)
{
	const struct cn_gro_pkt *f = &g->pkt[grp->first];
	struct cn_vnet_hdr h = {0};
	struct cn_ip_info ip;
	uint8_t *ipp = out + CN_VNET_HDR_LEN, *l4p;
	size_t hdrs = (size_t)f->l3 + f->l4, at = grp->total;
	uint8_t proto;
	uint32_t sum;

	memcpy(ipp, f->p, hdrs);
	l4p = ipp + f->l3;
	proto = l4proto(ipp);
	if ((ipp[0] >> 4) == 4) {
		put16(ipp + IP4_TOTLEN, (uint16_t)at);
		ip4_fix_csum(ipp, f->l3);
		h.gso_type = proto == CN_IPPROTO_TCP ? CN_VNET_GSO_TCPV4 : CN_VNET_GSO_UDP_L4;
	} else {
		put16(ipp + IP6_PLEN, (uint16_t)(at - CN_IP6_HDR_LEN));
		h.gso_type = proto == CN_IPPROTO_TCP ? CN_VNET_GSO_TCPV6 : CN_VNET_GSO_UDP_L4;
	}
	/* Re-parse for the pseudo-header (fixed header only); the lengths were just made
	 * consistent. */
	(void)cn_ip_parse(ipp, at, &ip);
	sum = cn_ip_csum_pseudo(&ip, proto, (uint32_t)(at - f->l3));
	if (proto == CN_IPPROTO_TCP) {
		l4p[TCP_FLAGS] |= g->pkt[grp->last].p[f->l3 + TCP_FLAGS] & TCP_PSH;
		/* NEEDS_CSUM: the field holds the folded pseudo-header sum, uncomplemented. */
		put16(l4p + TCP_CSUM, (uint16_t)~cn_ip_csum_fold(sum));
		h.csum_offset = TCP_CSUM;
	} else {
		put16(l4p + UDP_LEN, (uint16_t)(at - f->l3));
		put16(l4p + UDP_CSUM, (uint16_t)~cn_ip_csum_fold(sum));
		h.csum_offset = UDP_CSUM;
	}
	h.flags = CN_VNET_F_NEEDS_CSUM;
	h.hdr_len = (uint16_t)hdrs;
	h.gso_size = grp->gso_size;
	h.csum_start = f->l3;
	cn_vnet_hdr_encode(&h, out);
	return CN_VNET_HDR_LEN + hdrs;
}

int cn_gro_flush_iov(struct cn_gro *g, uint8_t *hdrs, size_t hdrs_cap, struct iovec *iov,
		     size_t iov_cap, struct cn_gro_vec *out, size_t out_cap, size_t *n_out)
{
	static const struct cn_vnet_hdr plain;
	const struct cn_gro_group *grp;
	const struct cn_gro_pkt *f, *k;
	size_t hat = 0, v = 0, n;
	uint16_t i, idx;

	if (!g || !n_out || (!hdrs && g->ngroup) || (!iov && g->ngroup) || (!out && g->ngroup))
		return -CN_EINVAL;
	*n_out = 0;
	if (hdrs_cap < (size_t)g->ngroup * CN_GRO_HDRS_ROOM || out_cap < g->ngroup ||
	    iov_cap < (size_t)g->npkt + g->ngroup)
		return -CN_ETOOBIG;
	for (i = 0; i < g->ngroup; i++) {
		grp = &g->group[i];
		f = &g->pkt[grp->first];
		out[i].iov0 = v;
		if (grp->count == 1) {
			cn_vnet_hdr_encode(&plain, hdrs + hat);
			iov[v++] = (struct iovec){hdrs + hat, CN_VNET_HDR_LEN};
			iov[v++] = (struct iovec){(void *)(uintptr_t)f->p, f->len};
			out[i].len = CN_VNET_HDR_LEN + (size_t)f->len;
		} else {
			size_t h = (size_t)f->l3 + f->l4;

			n = write_super_hdrs(g, grp, hdrs + hat);
			iov[v++] = (struct iovec){hdrs + hat, n};
			/* The payloads where the packets lie: no copy. */
			for (idx = grp->first; idx != NO_NEXT; idx = k->next) {
				k = &g->pkt[idx];
				iov[v++] = (struct iovec){(void *)(uintptr_t)(k->p + h),
							  (size_t)k->len - h};
			}
			out[i].len = CN_VNET_HDR_LEN + (size_t)grp->total;
		}
		out[i].niov = v - out[i].iov0;
		hat += CN_GRO_HDRS_ROOM;
	}
	*n_out = g->ngroup;
	/* g is reset by the caller once the writes are done (the packets stay referenced). */
	return 0;
}

int cn_gro_flush(struct cn_gro *g, uint8_t *arena, size_t cap, struct cn_gro_out *out,
		 size_t out_cap, size_t *n_out)
{
	uint8_t hdrs[CN_GRO_HDRS_MAX];
	struct iovec iov[CN_GRO_IOV_MAX];
	struct cn_gro_vec vec[CN_GRO_BATCH_MAX];
	size_t at = 0, nv = 0;
	int ret;

	if (!g || !n_out || (!arena && g->npkt) || (!out && g->ngroup))
		return -CN_EINVAL;
	*n_out = 0;
	if (cap < g->bytes || out_cap < g->ngroup)
		return -CN_ETOOBIG;
	ret = cn_gro_flush_iov(g, hdrs, sizeof(hdrs), iov, CN_GRO_IOV_MAX, vec, CN_GRO_BATCH_MAX,
			       &nv);
	if (ret)
		return ret;
	for (size_t i = 0; i < nv; i++) {
		out[i].p = arena + at;
		for (size_t j = vec[i].iov0; j < vec[i].iov0 + vec[i].niov; j++) {
			memcpy(arena + at, iov[j].iov_base, iov[j].iov_len);
			at += iov[j].iov_len;
		}
		out[i].len = vec[i].len;
	}
	*n_out = nv;
	cn_gro_init(g, g->flags);
	return 0;
}
