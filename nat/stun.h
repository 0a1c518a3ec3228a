/* SPDX-License-Identifier: MIT */
/*
 * STUN Binding codec (RFC 8489, with RFC 3489 "classic" requests): the relay
 * answers Binding Requests so nodes learn their server-reflexive address,
 * and the node's netcheck sends requests and reads the answers.
 *
 * Pure: no sockets, no clock, no logging, no allocation. Inputs are one UDP
 * datagram (one STUN message; bytes after the message are an error), outputs
 * are bytes in caller buffers. Only the Binding method exists here; no
 * authentication (MESSAGE-INTEGRITY is bounds-checked and ignored), no TURN.
 *
 * Wire format, all integers big-endian (network order):
 *
 *   0      2      4                8                               20
 *   | type | length | magic cookie |   transaction id (12 bytes)   | attributes...
 *
 * type: the top two bits are zero; length counts the attribute bytes after
 * the 20-byte header and is a multiple of 4. A classic RFC 3489 message has
 * no cookie: bytes 4..19 are one 16-byte transaction id. Attributes are
 * type (2), length (2), value (length bytes), then zero to three padding
 * bytes up to a multiple of 4 whose contents are ignored. Types below
 * 0x8000 are comprehension-required, the rest comprehension-optional.
 *
 * Address attributes (MAPPED-ADDRESS, XOR-MAPPED-ADDRESS): one reserved
 * byte, family (1 = IPv4, 2 = IPv6), port (2), address (4 or 16). The XOR
 * form XORs the port with the top 16 bits of the cookie and the address
 * with the cookie (IPv4) or cookie || transaction id (IPv6).
 *
 * FINGERPRINT is CRC-32 (ISO-HDLC, the zlib one) of the message up to the
 * attribute, XORed with 0x5354554e; when present it must be the last
 * attribute and must match, else the message is rejected.
 */
#ifndef CN_NAT_STUN_H
#define CN_NAT_STUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Sizes, in bytes. */
enum {
	CN_STUN_HDR_LEN = 20,	     /* type, length, cookie, transaction id */
	CN_STUN_TID_LEN = 12,	     /* RFC 8489 transaction id */
	CN_STUN_CLASSIC_ID_LEN = 16, /* RFC 3489 transaction id: bytes 4..19 */
	CN_STUN_ATTR_HDR_LEN = 4,    /* attribute type and length */
	CN_STUN_ADDR4_LEN = 8,	     /* address attribute value, IPv4 */
	CN_STUN_ADDR6_LEN = 20,	     /* address attribute value, IPv6 */
	CN_STUN_FINGERPRINT_LEN = 4, /* FINGERPRINT value */
	CN_STUN_SOFTWARE_MAX = 128,  /* our cap on a SOFTWARE value we send */
	CN_STUN_MAX_UNKNOWN = 8,     /* unknown attribute types kept per request */
	CN_STUN_MSG_MAX = 256,	     /* every message the encoders write fits this */
};

/* Both fit an int; on the wire they are big-endian u32. */
enum {
	CN_STUN_COOKIE = 0x2112A442,	      /* bytes 4..7 of an RFC 8489 message */
	CN_STUN_FINGERPRINT_XOR = 0x5354554e, /* "STUN", XORed into the CRC-32 */
};

/* Message types (method Binding = 1, class in bits 4 and 8). */
enum {
	CN_STUN_BINDING_REQUEST = 0x0001,
	CN_STUN_BINDING_INDICATION = 0x0011,
	CN_STUN_BINDING_SUCCESS = 0x0101,
	CN_STUN_BINDING_ERROR = 0x0111,
};

/* Attribute types this codec reads or writes. */
enum {
	CN_STUN_ATTR_MAPPED_ADDRESS = 0x0001,
	CN_STUN_ATTR_CHANGE_REQUEST = 0x0003,  /* RFC 3489 / RFC 5780, value u32 flags */
	CN_STUN_ATTR_SOURCE_ADDRESS = 0x0004,  /* RFC 3489 responses, ignored */
	CN_STUN_ATTR_CHANGED_ADDRESS = 0x0005, /* RFC 3489 responses, ignored */
	CN_STUN_ATTR_USERNAME = 0x0006,	       /* ignored */
	CN_STUN_ATTR_MESSAGE_INTEGRITY = 0x0008,
	CN_STUN_ATTR_ERROR_CODE = 0x0009,
	CN_STUN_ATTR_UNKNOWN_ATTRIBUTES = 0x000A,
	CN_STUN_ATTR_MESSAGE_INTEGRITY_SHA256 = 0x001C,
	CN_STUN_ATTR_XOR_MAPPED_ADDRESS = 0x0020,
	CN_STUN_ATTR_PRIORITY = 0x0024,	     /* ICE (RFC 8445), ignored */
	CN_STUN_ATTR_USE_CANDIDATE = 0x0025, /* ICE, ignored */
	CN_STUN_ATTR_SOFTWARE = 0x8022,
	CN_STUN_ATTR_FINGERPRINT = 0x8028,
};

/* CHANGE-REQUEST flags (value is a big-endian u32). */
enum {
	CN_STUN_CHANGE_IP = 0x4,
	CN_STUN_CHANGE_PORT = 0x2,
};

/* Address family, the wire values. */
enum {
	CN_STUN_FAMILY_IPV4 = 0x01,
	CN_STUN_FAMILY_IPV6 = 0x02,
};

/*
 * A transport address. All zero is the empty value. ip is in network order;
 * an IPv4 address uses ip[0..3] and leaves the rest zero. port is host order.
 */
struct cn_stun_addr {
	uint8_t family; /* CN_STUN_FAMILY_*, 0 = none */
	uint16_t port;
	uint8_t ip[16];
};

/* What the server learnt from a Binding Request. */
struct cn_stun_request {
	/*
	 * Bytes 4..19 of the header, echoed in the response: the cookie and
	 * the 12-byte transaction id, or a classic client's 16-byte id.
	 */
	uint8_t id[CN_STUN_CLASSIC_ID_LEN];
	bool classic;	  /* no magic cookie: an RFC 3489 client */
	bool fingerprint; /* carried a FINGERPRINT (it matched) */
	uint32_t change;  /* CHANGE-REQUEST flags, 0 if absent */
	/*
	 * Comprehension-required attribute types this server does not
	 * understand (RFC 8489 says answer 420), the first CN_STUN_MAX_UNKNOWN
	 * of them; n_unknown counts them all.
	 */
	uint16_t unknown[CN_STUN_MAX_UNKNOWN];
	unsigned n_unknown;
};

/*
 * Cheap demultiplexing test for a socket shared with other protocols: true
 * if buf looks like an RFC 8489 message (top two bits zero, magic cookie,
 * length field a multiple of 4 and equal to the bytes after the header).
 * Checks no attribute.
 *
 * Classic RFC 3489 requests have no cookie and return false, and they are
 * not rare: libnice 0.1.21 (NICE_COMPATIBILITY_RFC5245) gathers its
 * server-reflexive candidate with a bare 20-byte classic request. Every
 * Binding Request, classic or not, starts with the byte 0x00 (type 0x0001):
 * a socket whose other protocol never sends 0x00 as its first byte can hand
 * all those datagrams to cn_stun_decode_request.
 */
bool cn_stun_is_stun(const uint8_t *buf, size_t len);

/*
 * Server side. Parses one datagram as a Binding Request, RFC 8489 (magic
 * cookie) or RFC 3489 (no cookie). Returns 0 and fills *req, or:
 *   -CN_ESHORT   shorter than the header or than its length field says;
 *   -CN_EFORMAT  anything else wrong: top bits set, length not a multiple
 *                of 4, bytes after the message, an attribute running past
 *                the end, a bad length for a fixed-size attribute, a
 *                FINGERPRINT that is not last or does not match, or a
 *                well-formed STUN message that is not a Binding Request.
 * The server sends nothing for an error. Attributes after
 * MESSAGE-INTEGRITY other than MESSAGE-INTEGRITY-SHA256 and FINGERPRINT are
 * skipped unread (RFC 8489 section 14.5); repeated attributes: the first
 * counts. *req is zeroed on entry.
 */
int cn_stun_decode_request(const uint8_t *buf, size_t len, struct cn_stun_request *req);

/* How the server answers a decoded request. */
enum cn_stun_reply {
	CN_STUN_REPLY_NONE,    /* send nothing */
	CN_STUN_REPLY_SUCCESS, /* cn_stun_encode_binding_response */
	CN_STUN_REPLY_UNKNOWN, /* cn_stun_encode_unknown_response: 420 */
};

/*
 * The answer policy, for a server with one address and port:
 *  - no unknown attributes and no change flags: a success response;
 *  - an RFC 8489 request with unknown comprehension-required attributes or
 *    CHANGE-REQUEST flags set (it cannot answer from another address): a
 *    420 Unknown Attribute error response listing them;
 *  - a classic request with unknown attributes or change flags: nothing.
 *    RFC 3489 clients count any answer carrying the test's transaction id
 *    as a pass, without looking at the message class or where it came
 *    from: answering its change-IP and change-port tests from the same
 *    address makes Debian's `stun` 0.97 print "Primary: Open" on loopback
 *    instead of "Primary: Firewall". Silence is the only honest reply.
 */
enum cn_stun_reply cn_stun_request_reply(const struct cn_stun_request *req);

/*
 * Writes the Binding Success Response to req for a client seen at `mapped`
 * (the datagram's source address and port) into out (cap bytes; cap >=
 * CN_STUN_MSG_MAX always suffices) and sets *out_len.
 * RFC 8489 request: XOR-MAPPED-ADDRESS, SOFTWARE if software is not NULL,
 * FINGERPRINT. Classic request: MAPPED-ADDRESS only, the one attribute both
 * classic clients we tried read (Debian's `stun` 0.97, libnice 0.1.21).
 * No SOFTWARE: `stun` 0.97 reads 0x8022 as a "ServerName" string whose
 * length must be a multiple of 4 and fails to parse the message otherwise
 * ("Bad length string 10"). No FINGERPRINT: RFC 3489 has none. No
 * SOURCE-ADDRESS or CHANGED-ADDRESS although RFC 3489 asks for them: the
 * server has no second address, and without CHANGED-ADDRESS `stun` simply
 * skips its "test I(2)".
 * software: NUL-terminated, at most CN_STUN_SOFTWARE_MAX bytes.
 * -CN_EINVAL for a bad family or software, -CN_ETOOBIG if cap is short.
 */
int cn_stun_encode_binding_response(const struct cn_stun_request *req,
				    const struct cn_stun_addr *mapped, const char *software,
				    uint8_t *out, size_t cap, size_t *out_len);

/*
 * Writes a 420 (Unknown Attribute) Binding Error Response to an RFC 8489
 * request: ERROR-CODE, UNKNOWN-ATTRIBUTES listing req->unknown and, if change
 * flags were set, CHANGE-REQUEST; SOFTWARE if not NULL; FINGERPRINT.
 * -CN_EINVAL for a classic request or one with nothing to list.
 */
int cn_stun_encode_unknown_response(const struct cn_stun_request *req, const char *software,
				    uint8_t *out, size_t cap, size_t *out_len);

/*
 * The SOFTWARE value of cairn's own Binding Requests (the node's NAT
 * classification, netcheck). Its 20 bytes make the request (52 with
 * FINGERPRINT) as long as a cairn relay's answer to it, XOR-MAPPED-ADDRESS
 * and FINGERPRINT, even for IPv6 (20 + 24 + 8): the relay answers an
 * address with no more bytes than it sent (relay/relay_stun.c), so a
 * shorter request gets its answer only on the retransmission.
 */
#define CN_STUN_CLIENT_SOFTWARE "cairn-node nat check"

/*
 * Client side (netcheck, the node-wide socket). Writes a Binding Request with the caller's
 * transaction id: SOFTWARE if not NULL, then FINGERPRINT. tid must come from
 * a CSPRNG (randombytes_buf), fresh per request: it is all that ties an
 * answer to the request, so a guessable one lets an off-path sender feed
 * netcheck a false mapped address.
 */
int cn_stun_encode_binding_request(const uint8_t tid[static CN_STUN_TID_LEN], const char *software,
				   uint8_t *out, size_t cap, size_t *out_len);

/*
 * Parses a Binding Success Response to the request with transaction id tid
 * and sets *mapped from XOR-MAPPED-ADDRESS, or MAPPED-ADDRESS if there is no
 * XOR-MAPPED-ADDRESS. Returns 0, or:
 *   -CN_ESHORT, -CN_EFORMAT  as for requests, also: not a Binding Success
 *                Response (an error response included), no address,
 *                a bad address family or length, or an unknown
 *                comprehension-required attribute (RFC 8489 section 7.3.3);
 *   -CN_ENOTFOUND  a Binding Success Response with another transaction
 *                id (checked before its attributes, which are not read).
 * *mapped is zeroed on entry.
 */
int cn_stun_decode_binding_response(const uint8_t *buf, size_t len,
				    const uint8_t tid[static CN_STUN_TID_LEN],
				    struct cn_stun_addr *mapped);

/*
 * The same for a classic RFC 3489 response (no cookie), matched on the
 * 16-byte id the request carried; reads MAPPED-ADDRESS only. Used to check
 * what the relay sends classic clients.
 */
int cn_stun_decode_classic_binding_response(const uint8_t *buf, size_t len,
					    const uint8_t id[static CN_STUN_CLASSIC_ID_LEN],
					    struct cn_stun_addr *mapped);

#endif
