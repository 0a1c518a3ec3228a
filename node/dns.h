/* SPDX-License-Identifier: MIT */
/*
 * The node's DNS responder for the overlay domain (docs/DNS.md): decodes a
 * query, decides whether the node answers it (names under the peer list's
 * domain and the overlay reverse zones), forwards it (every other name) or
 * drops it, and writes the answer.
 *
 * Pure: no sockets, no clock, no logging, no allocation, and no peer list.
 * The zone's data comes through the lookup callbacks of struct cn_dns_zone,
 * so the node backs them with its peer list and session table, and tests
 * and the fuzzer with a fake peer set. The listener (UDP and TCP on the
 * overlay address and a loopback address) and the upstream forwarder
 * (c-ares) live in the node's I/O shell; the helpers at the end of this
 * file are what they need: message IDs, TCP framing, reply size limits,
 * and the SERVFAIL/truncated answers a forwarder writes itself.
 *
 * Wire format: RFC 1035 (messages, names, compression), RFC 3596 (AAAA,
 * ip6.arpa), RFC 6891 (EDNS0: one OPT record, version 0, no options
 * answered), RFC 2308 (negative answers carry the zone's SOA). All integers
 * big-endian. Queries come from any program on the host and any peer on the
 * overlay: nothing here reads past a length, loops on a compression
 * pointer, or writes past cap.
 */
#ifndef CN_NODE_DNS_H
#define CN_NODE_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Sizes, in bytes. */
enum {
	CN_DNS_HDR_LEN = 12,   /* ID, flags, four counts */
	CN_DNS_NAME_MAX = 255, /* a name in wire form, length bytes and root included */
	CN_DNS_LABEL_MAX = 63,
	CN_DNS_UDP_MIN = 512,	/* UDP payload without EDNS (RFC 1035 4.2.1) */
	CN_DNS_UDP_MAX = 1232,	/* our EDNS UDP payload size (DNS flag day 2020) */
	CN_DNS_TCP_MAX = 65535, /* TCP: the 2-byte length prefix's limit */
};

/* TTLs, in seconds. Short: the peer list and liveness change under them. */
enum {
	CN_DNS_TTL_PEER = 5,  /* A/AAAA of a peer, PTR */
	CN_DNS_TTL_GROUP = 1, /* A/AAAA of a group's live members */
	CN_DNS_TTL_ZONE = 5,  /* SOA, NS; also SOA MINIMUM, the negative-caching TTL */
};

enum cn_dns_rcode {
	CN_DNS_NOERROR = 0,
	CN_DNS_FORMERR = 1,
	CN_DNS_SERVFAIL = 2,
	CN_DNS_NXDOMAIN = 3,
	CN_DNS_NOTIMP = 4,
	CN_DNS_REFUSED = 5,
	CN_DNS_BADVERS = 16, /* extended RCODE, only in an OPT record */
};

enum {
	CN_DNS_TYPE_A = 1,
	CN_DNS_TYPE_NS = 2,
	CN_DNS_TYPE_SOA = 6,
	CN_DNS_TYPE_PTR = 12,
	CN_DNS_TYPE_AAAA = 28,
	CN_DNS_TYPE_OPT = 41,
	CN_DNS_TYPE_IXFR = 251,
	CN_DNS_TYPE_AXFR = 252,
	CN_DNS_TYPE_ANY = 255,
	CN_DNS_CLASS_IN = 1,
	CN_DNS_CLASS_ANY = 255,
};

/* Header flag bits (the 16-bit word after the ID). */
enum {
	CN_DNS_F_QR = 0x8000,
	CN_DNS_F_AA = 0x0400,
	CN_DNS_F_TC = 0x0200,
	CN_DNS_F_RD = 0x0100,
	CN_DNS_F_RA = 0x0080,
	CN_DNS_F_CD = 0x0010,
};

enum cn_dns_transport {
	CN_DNS_UDP,
	CN_DNS_TCP,
};

enum cn_dns_action {
	CN_DNS_DROP,	/* no answer: not a query, or unreadable */
	CN_DNS_ANSWER,	/* send out[0..*out_len) back */
	CN_DNS_FORWARD, /* not ours: send the query upstream, relay the answer */
};

/* A decoded query. All-zero is "nothing decoded". */
struct cn_dns_query {
	uint16_t id;
	uint16_t flags;			/* as received: QR, opcode, AA, TC, RD, ... RCODE */
	uint8_t qname[CN_DNS_NAME_MAX]; /* wire form, uncompressed, case as received */
	size_t qname_len;		/* bytes in qname, the root's 0 included */
	uint16_t qtype;
	uint16_t qclass;
	bool edns;	      /* an OPT record was present */
	uint16_t edns_size;   /* its UDP payload size, as sent */
	uint8_t edns_version; /* as sent; we speak version 0 */
};

/*
 * One peer as the zone sees it. Pointers belong to the lookup source and
 * must stay valid for the cn_dns_respond call that received them.
 */
struct cn_dns_host {
	const char *name; /* a DNS label, lowercase, without the domain */
	uint8_t ip4[4];
	uint8_t ip6[16];
	const void *ref; /* the source's own handle, e.g. a struct cn_pl_peer * */
};

/*
 * The overlay zone: the peer list's domain and prefixes, plus lookups.
 * Each callback may be NULL ("nothing found"). Callbacks must not call back
 * into this module's responder for the same output buffer.
 */
struct cn_dns_zone {
	const char *domain; /* "demo.cairn": labels of [a-z0-9-], no trailing dot */
	const char *self;   /* this node's peer name: SOA MNAME and NS are <self>.<domain> */
	uint32_t serial;    /* SOA serial: the peer list serial, modulo 2^32 */
	uint8_t prefix4[4];
	unsigned int prefix4_len; /* 0: no IPv4 reverse zone; else 1 to 32 */
	uint8_t prefix6[16];
	unsigned int prefix6_len; /* 0: no IPv6 reverse zone; else 1 to 128 */
	void *ctx;		  /* first argument of every callback */
	/* The peer called name (a lowercase label). True and *out filled if found. */
	bool (*by_name)(void *ctx, const char *name, struct cn_dns_host *out);
	bool (*by_ip4)(void *ctx, const uint8_t ip4[4], struct cn_dns_host *out);
	bool (*by_ip6)(void *ctx, const uint8_t ip6[16], struct cn_dns_host *out);
	/*
	 * Walks the members of group (a lowercase label): *cursor starts at 0;
	 * each call fills *out with the next member, moves *cursor forward (the
	 * source's own position, e.g. an index into the peer array) and returns
	 * true; false when there are no more. A cursor that does not grow ends
	 * the walk.
	 */
	bool (*group_next)(void *ctx, const char *group, size_t *cursor, struct cn_dns_host *out);
	/* True if the node has a live session with h (NULL: every member is live). */
	bool (*is_live)(void *ctx, const struct cn_dns_host *h);
};

/*
 * Checks a zone once, when it is set up: domain and self as documented,
 * prefix lengths in range. 0 or -CN_EINVAL. cn_dns_respond drops every
 * query for a zone that fails this check.
 */
int cn_dns_zone_check(const struct cn_dns_zone *z);

/*
 * Decodes a query (or any message with the same layout): the header, exactly
 * one question, then every record of the other sections, which are checked
 * and skipped except an OPT record (at most one, in the additional section,
 * owner the root). Compression pointers must point backwards, past the
 * header, each before the last; labels <= 63 bytes, names <= 255; no bytes
 * after the last record. Does not look at QR or the opcode.
 * Returns 0; -CN_ESHORT if len < CN_DNS_HDR_LEN (nothing readable);
 * -CN_ETOOBIG over CN_DNS_TCP_MAX; -CN_EFORMAT when malformed (q->id and
 * q->flags are then still set). *q is cleared first.
 */
int cn_dns_query_decode(const uint8_t *msg, size_t len, struct cn_dns_query *q);

/*
 * The largest reply the client of q accepts: TCP CN_DNS_TCP_MAX; UDP
 * CN_DNS_UDP_MIN without EDNS, else its EDNS size clamped to
 * [CN_DNS_UDP_MIN, CN_DNS_UDP_MAX].
 */
size_t cn_dns_reply_limit(const struct cn_dns_query *q, enum cn_dns_transport t);

/*
 * Answers one query received over t. Writes the reply into out (cap bytes;
 * CN_DNS_UDP_MAX for UDP and CN_DNS_TCP_MAX for TCP always suffice, a
 * smaller cap lowers the limit; out must not overlap query) and sets
 * *out_len for CN_DNS_ANSWER, 0 otherwise. Bytes of out past *out_len (up
 * to cap) may have been overwritten.
 *
 * - shorter than a header, over CN_DNS_TCP_MAX, QR set: CN_DNS_DROP
 * - opcode other than QUERY: NOTIMP, with the question and OPT when the
 *   message decodes, else header only.
 * - malformed (cn_dns_query_decode), or over 512 bytes by UDP without
 *   EDNS: FORMERR, header only.
 * - EDNS version other than 0: BADVERS.
 * - a name outside the zone's domain and reverse zones: CN_DNS_FORWARD
 * - inside, class not IN or ANY, or AXFR/IXFR: REFUSED; else the answer of
 *   docs/DNS.md with AA set.
 * Every reply copies the ID, opcode, RD and CD, sets QR and RA, echoes the
 * question (case kept) and, if the query had one, returns an OPT record
 * with size CN_DNS_UDP_MAX. An answer over cn_dns_reply_limit (or cap) is
 * sent without records and with TC by UDP; by TCP it keeps the records that
 * fit (only a group of thousands of live members can be that large).
 */
enum cn_dns_action cn_dns_respond(const struct cn_dns_zone *z, const uint8_t *query, size_t qlen,
				  enum cn_dns_transport t, uint8_t *out, size_t cap,
				  size_t *out_len);

/*
 * An answer without records to a decoded query, for the forwarder: rcode
 * (0 to 15; SERVFAIL when upstream fails) and, when tc, the TC bit (an
 * upstream answer larger than cn_dns_reply_limit). Header, question and,
 * if the query had one, an OPT record; RA set, AA clear. 0; -CN_EINVAL for
 * an rcode over 15; -CN_ETOOBIG if cap is too small. *out_len is 0 on error.
 */
int cn_dns_encode_empty(const struct cn_dns_query *q, unsigned int rcode, bool tc, uint8_t *out,
			size_t cap, size_t *out_len);

/*
 * The message ID of a raw message (the forwarder sends queries upstream
 * under its own ID and puts the client's back on the answer). 0, or
 * -CN_ESHORT when len < CN_DNS_HDR_LEN.
 */
int cn_dns_id_get(const uint8_t *msg, size_t len, uint16_t *id);
int cn_dns_id_set(uint8_t *msg, size_t len, uint16_t id);

/*
 * DNS over TCP (RFC 1035 4.2.2, RFC 7766): each message follows a 2-byte
 * big-endian length. cn_dns_tcp_frame_encode writes the prefix for a
 * message of len bytes (-CN_ETOOBIG over CN_DNS_TCP_MAX).
 * cn_dns_tcp_frame_decode looks at the start of a stream buffer: 0 with
 * *msg, *msg_len (the message) and *used (prefix plus message: what to
 * consume) when a whole message is there; -CN_ESHORT when more bytes are
 * needed; -CN_EFORMAT for a length below CN_DNS_HDR_LEN (close the
 * connection). Out-params are cleared first.
 */
int cn_dns_tcp_frame_encode(size_t len, uint8_t out[static 2]);
int cn_dns_tcp_frame_decode(const uint8_t *buf, size_t len, const uint8_t **msg, size_t *msg_len,
			    size_t *used);

#endif
