/* SPDX-License-Identifier: MIT */
/*
 * Segmentation and coalescing offload for a TUN opened with IFF_VNET_HDR
 * (node/tun.h cn_tun_open_offload): every packet read or written there has a
 * 10-byte struct virtio_net_hdr in front.
 *
 * Send side: the kernel hands the node TCP (TSO) and UDP (USO) "super-packets"
 * of up to 64 KiB whose checksums are partial; cn_offload_segment splits one
 * into MTU-sized IP packets with every checksum finished, ready to encrypt.
 * Receive side: cn_gro_add/cn_gro_flush coalesce the decrypted packets of one
 * receive batch, per flow, into super-packets the kernel accepts in one TUN
 * write (GRO done by the daemon); whatever must not be merged is written as it
 * came, behind a header that says "nothing to do".
 *
 * Pure: no sockets, no clock, no logging, no allocation. The caller supplies
 * every buffer. Input comes from the local kernel (send side) and from
 * authenticated but untrusted peers (receive side): nothing here reads or
 * writes past a length it was given, and a malformed packet is refused or
 * passed through unmerged, never half-processed.
 *
 * Wire formats: the virtio_net_hdr (virtio 1.x spec 5.1.6; Linux
 * include/uapi/linux/virtio_net.h) in little-endian byte order (the TUN is put
 * in little-endian mode with TUNSETVNETLE, so this holds on every host), then
 * an IPv4 (RFC 791) or IPv6 (RFC 8200) packet, big-endian, with TCP (RFC 9293)
 * or UDP (RFC 768).
 *
 *   virtio_net_hdr (10 bytes, little-endian):
 *     0  u8   flags        1 = NEEDS_CSUM, 2 = DATA_VALID
 *     1  u8   gso_type     0 NONE, 1 TCPV4, 3 UDP (UFO, refused), 4 TCPV6,
 *                          5 UDP_L4 (USO); | 0x80 ECN
 *     2  u16  hdr_len      length of IP + L4 headers (a hint, not trusted)
 *     4  u16  gso_size     payload bytes per segment
 *     6  u16  csum_start   offset of the L4 header from the IP header
 *     8  u16  csum_offset  offset of the checksum field from csum_start
 */
#ifndef CN_NODE_OFFLOAD_H
#define CN_NODE_OFFLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	CN_VNET_HDR_LEN = 10,	    /* struct virtio_net_hdr without num_buffers */
	CN_OFFLOAD_PKT_MAX = 65535, /* a super-packet's IP bytes (IPv4 total length) */
	CN_OFFLOAD_SEGS_MAX = 128,  /* segments of one super-packet, either way */
	CN_GRO_BATCH_MAX = 128,	    /* packets one cn_gro holds before a flush */
	/* cn_gro_flush_iov: header bytes per write (virtio, IPv6 40, TCP 60: 110) */
	CN_GRO_HDRS_ROOM = 128,
	CN_GRO_HDRS_MAX = CN_GRO_BATCH_MAX * CN_GRO_HDRS_ROOM,
	CN_GRO_IOV_MAX = 2 * CN_GRO_BATCH_MAX, /* iovecs of one flush, at most */
};

/* virtio_net_hdr flags and gso_type values (Debian 12's uapi lacks UDP_L4). */
enum {
	CN_VNET_F_NEEDS_CSUM = 1,
	CN_VNET_F_DATA_VALID = 2,
	CN_VNET_GSO_NONE = 0,
	CN_VNET_GSO_TCPV4 = 1,
	CN_VNET_GSO_UDP = 3, /* UFO: IP fragmentation, never produced with our offloads */
	CN_VNET_GSO_TCPV6 = 4,
	CN_VNET_GSO_UDP_L4 = 5,
	CN_VNET_GSO_ECN = 0x80,
};

/* A decoded virtio_net_hdr, fields in host order. All-zero is "plain packet". */
struct cn_vnet_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
};

/*
 * Reads / writes the 10-byte header. decode returns 0 or -CN_ESHORT (n below
 * CN_VNET_HDR_LEN; *h cleared). It checks nothing else: validity depends on
 * the packet behind it (cn_offload_segment checks that).
 */
int cn_vnet_hdr_decode(const uint8_t *p, size_t n, struct cn_vnet_hdr *h);
void cn_vnet_hdr_encode(const struct cn_vnet_hdr *h, uint8_t out[static CN_VNET_HDR_LEN]);

/*
 * Splits one read from an IFF_VNET_HDR TUN (`in`: the header, then one IP
 * packet; len is the read's return value) into IP packets with finished
 * checksums, written to segs[0], segs[1], ... (max_segs buffers of seg_cap
 * bytes each, caller-owned, e.g. pointing past the transport header inside
 * datagram buffers); seg_len[i] receives each length, *n_segs the count.
 *
 *  - gso_type NONE: one packet, copied; with NEEDS_CSUM the checksum over
 *    [csum_start, end) is finished at csum_start + csum_offset (any L4).
 *  - TCPV4 / TCPV6 (ECN bit allowed): the payload after the IP and TCP
 *    headers (options kept) is cut into gso_size pieces. Per segment: IPv4
 *    total length, ID (first + i) and header checksum, or IPv6 payload
 *    length; TCP sequence advanced by the bytes before it; FIN and PSH only
 *    on the last segment, CWR only on the first; TCP checksum computed whole.
 *  - UDP_L4 (USO): the same with UDP length and checksum (0 stored as 0xffff).
 *
 * GSO packets must be: IPv4 without fragmentation (options allowed) or IPv6
 * whose next header is the L4 protocol (no extension headers); csum_start ==
 * the IP header length; the IP length fields equal to the bytes read;
 * gso_type matching version and protocol; gso_size >= 1; with NEEDS_CSUM,
 * csum_offset 16 (TCP) or 6 (UDP). hdr_len is not trusted (the kernel sets it
 * to whole packets on some paths): the TCP data offset decides.
 *
 * Returns 0; -CN_ESHORT (shorter than the headers it announces);
 * -CN_EFORMAT (any rule above broken, unknown gso_type or flags, UFO);
 * -CN_ETOOBIG (more than max_segs segments, a segment over seg_cap, or an
 * IP packet over CN_OFFLOAD_PKT_MAX); -CN_EINVAL (NULL arguments). On error
 * *n_segs is 0; segs may hold partial bytes the caller must ignore.
 */
int cn_offload_segment(const uint8_t *in, size_t len, uint8_t *const segs[], size_t seg_cap,
		       size_t max_segs, size_t seg_len[], size_t *n_segs);

/* What cn_gro may merge (cn_gro_init flags): TCP always possible; UDP needs USO on the TUN. */
enum {
	CN_GRO_TCP = 1,
	CN_GRO_UDP = 2,
};

/* One TUN write produced by cn_gro_flush: virtio header + IP packet. */
struct cn_gro_out {
	uint8_t *p;
	size_t len;
};

/*
 * One TUN write produced by cn_gro_flush_iov: iov[iov0 .. iov0 + niov) of
 * the caller's array, len bytes in all (virtio header + IP packet).
 */
struct cn_gro_vec {
	size_t iov0, niov;
	size_t len;
};

struct iovec;

/* Internal per-packet and per-group state; fields are private to offload.c. */
struct cn_gro_pkt {
	const uint8_t *p;
	uint16_t len;
	uint16_t l3;   /* IP header length */
	uint16_t l4;   /* L4 header length, 0 = pass through */
	uint16_t next; /* next packet of the same group, or UINT16_MAX */
	uint8_t kind;  /* lone (no flow), lone with a flow key, mergeable */
	uint32_t seq;  /* TCP sequence */
};

struct cn_gro_group {
	uint16_t first, last; /* packet indices */
	uint16_t count;	      /* packets */
	uint16_t gso_size;    /* payload of the first packet */
	uint32_t total;	      /* IP bytes when written */
	uint32_t next_seq;    /* TCP: sequence the next segment must have */
	bool closed;	      /* nothing more may join */
};

/*
 * A receive batch being coalesced. Caller storage (~6 KiB; keep one per
 * receive loop, not on a small stack); cn_gro_init before first use and
 * after each flush resets it. Packets handed to cn_gro_add are referenced,
 * not copied: they must stay unchanged until cn_gro_flush returns.
 */
struct cn_gro {
	unsigned flags;
	uint16_t npkt, ngroup;
	struct cn_gro_pkt pkt[CN_GRO_BATCH_MAX];
	struct cn_gro_group group[CN_GRO_BATCH_MAX];
	size_t bytes; /* what flush needs in the arena, worst case */
};

void cn_gro_init(struct cn_gro *g, unsigned flags);

/*
 * Adds one IP packet (decrypted, no virtio header). It joins the newest open
 * super-packet of its flow when everything but the sequence/ID matches
 * (addresses, ports, IPv4 TOS, TTL, DF and no options; IPv6 first word and
 * hop limit; TCP ack, window, data offset, option bytes and flags, PSH
 * excepted), it continues that flow's bytes exactly (TCP sequence, IPv4 ID
 * + 1 unless DF), its payload is at most the first one's (smaller ends the
 * super-packet, as does PSH), and the total stays within CN_OFFLOAD_PKT_MAX
 * bytes and CN_OFFLOAD_SEGS_MAX segments. Otherwise it starts a new one;
 * packets that are never merged (not TCP/UDP, fragments, IPv6 extension
 * headers, TCP without payload or with SYN, FIN, RST, URG or CWR, UDP when
 * CN_GRO_UDP is off, anything malformed) stand alone. Merged packets'
 * checksums are not re-verified: like WireGuard, the node trusts what the
 * AEAD authenticated (a lone packet keeps its checksum for the kernel).
 *
 * Returns 0, or -CN_ETOOBIG when the batch already holds CN_GRO_BATCH_MAX
 * packets or len > CN_OFFLOAD_PKT_MAX (nothing added), -CN_EINVAL for NULL.
 */
int cn_gro_add(struct cn_gro *g, const uint8_t *pkt, size_t len);

/* Arena bytes cn_gro_flush needs for what was added (always enough). */
size_t cn_gro_arena_need(const struct cn_gro *g);

/*
 * Writes the batch into arena (cap bytes, caller-owned) as TUN writes, in
 * the order their first packets were added: within a flow the byte order is
 * kept, flows may interleave differently. Super-packets of two or more
 * packets get gso_type TCPV4/TCPV6/UDP_L4, gso_size = first payload,
 * NEEDS_CSUM with the pseudo-header sum in the L4 checksum field, fresh IP
 * length (and IPv4 header checksum), and TCP PSH if the last one had it; a
 * single packet is copied unchanged behind an all-zero header. out[] gets
 * up to out_cap entries pointing into arena, *n_out the count; then g is
 * reset (cn_gro_init with the same flags).
 * Returns 0, -CN_ETOOBIG (cap below cn_gro_arena_need or out_cap below the
 * number of writes; nothing written, g kept), -CN_EINVAL for NULL.
 */
int cn_gro_flush(struct cn_gro *g, uint8_t *arena, size_t cap, struct cn_gro_out *out,
		 size_t out_cap, size_t *n_out);

/*
 * The same writes as cn_gro_flush, without copying a payload: each write is
 * a run of iovecs (for writev) - its headers, built in hdrs (hdrs_cap >=
 * CN_GRO_HDRS_ROOM per write, CN_GRO_HDRS_MAX always enough), then every
 * packet's payload where it lies (for a single packet: an all-zero header
 * and the packet). iov needs npkt + nwrites entries (CN_GRO_IOV_MAX always
 * enough). The packets stay referenced: unlike cn_gro_flush, g is NOT reset;
 * the caller does the writes, then cn_gro_init (same flags).
 * Returns 0, -CN_ETOOBIG (a buffer too small; nothing written), -CN_EINVAL.
 */
int cn_gro_flush_iov(struct cn_gro *g, uint8_t *hdrs, size_t hdrs_cap, struct iovec *iov,
		     size_t iov_cap, struct cn_gro_vec *out, size_t out_cap, size_t *n_out);

#endif
