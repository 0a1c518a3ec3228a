/* SPDX-License-Identifier: MIT */
/*
 * Port Control Protocol (RFC 6887) codec: the MAP request a client sends to
 * its gateway (UDP port 5351), the MAP and ANNOUNCE responses it gets back,
 * and the epoch check (RFC 6887 8.5) that tells a client its gateway lost
 * its mappings (rebooted) and every mapping must be made again.
 *
 * All integers big-endian. Addresses are 16 bytes; IPv4 addresses are
 * IPv4-mapped IPv6 (::ffff:a.b.c.d), as RFC 6887 5 requires.
 *
 *   request header (24)   version=2 | R=0,opcode (1) | reserved (2) |
 *                         requested lifetime (u32) | client IP (16)
 *   response header (24)  version=2 | R=1,opcode (1) | reserved (1) |
 *                         result code (1) | lifetime (u32) | epoch (u32) |
 *                         reserved (12)
 *   MAP body (36)         nonce (12) | protocol (1) | reserved (3) |
 *                         internal port (u16) | external port (u16) |
 *                         external IP (16)
 *   option (4 + pad4(n))  code (1) | reserved (1) | length n (u16) | data
 *
 * A message is a multiple of 4 bytes and at most 1100 (RFC 6887 7). The
 * decoders walk options (checking their lengths, padding and that they fill
 * the message exactly) and count them without keeping them: this client
 * sends none and needs none back. An error response (result != 0) may
 * carry no MAP body; a success response must. ANNOUNCE has no body.
 *
 * Pure: no sockets, no clock, no logging. Answers come from the gateway,
 * which is on the path but not trusted: nothing here reads past `len`.
 */
#ifndef CN_NAT_PCP_H
#define CN_NAT_PCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

enum {
	CN_PCP_VERSION = 2,
	CN_PCP_SERVER_PORT = 5351,
	CN_PCP_CLIENT_PORT = 5350, /* where ANNOUNCEs are multicast (224.0.0.1) */
	CN_PCP_HDR_LEN = 24,
	CN_PCP_MAP_LEN = 36,
	CN_PCP_NONCE_LEN = 12,
	CN_PCP_MAP_MSG_LEN = CN_PCP_HDR_LEN + CN_PCP_MAP_LEN, /* 60 */
	CN_PCP_MSG_MAX = 1100,
};
_Static_assert(CN_PCP_MAP_MSG_LEN == 60, "PCP MAP message size");
_Static_assert(CN_PCP_MSG_MAX % 4 == 0, "PCP messages are multiples of 4");

enum cn_pcp_opcode {
	CN_PCP_OP_ANNOUNCE = 0,
	CN_PCP_OP_MAP = 1,
};

/* RFC 6887 7.4 result codes. */
enum cn_pcp_result {
	CN_PCP_SUCCESS = 0,
	CN_PCP_UNSUPP_VERSION = 1,
	CN_PCP_NOT_AUTHORIZED = 2,
	CN_PCP_MALFORMED_REQUEST = 3,
	CN_PCP_UNSUPP_OPCODE = 4,
	CN_PCP_UNSUPP_OPTION = 5,
	CN_PCP_MALFORMED_OPTION = 6,
	CN_PCP_NETWORK_FAILURE = 7,
	CN_PCP_NO_RESOURCES = 8,
	CN_PCP_UNSUPP_PROTOCOL = 9,
	CN_PCP_USER_EX_QUOTA = 10,
	CN_PCP_CANNOT_PROVIDE_EXTERNAL = 11,
	CN_PCP_ADDRESS_MISMATCH = 12,
	CN_PCP_EXCESSIVE_REMOTE_PEERS = 13,
	CN_PCP_RESULT_MAX_ = CN_PCP_EXCESSIVE_REMOTE_PEERS,
};

/* The MAP body, request or response. */
struct cn_pcp_map {
	uint8_t nonce[CN_PCP_NONCE_LEN];
	uint8_t protocol; /* IANA protocol number: 17 UDP; 0 "all" is refused */
	uint16_t internal_port;
	uint16_t external_port; /* suggested (request) or assigned (response) */
	uint8_t external_ip[16];
};

struct cn_pcp_request {
	enum cn_pcp_opcode opcode; /* only MAP is encoded */
	uint32_t lifetime;	   /* seconds; 0 deletes the mapping */
	uint8_t client_ip[16];
	struct cn_pcp_map map;
	unsigned n_options; /* decode only: options seen and skipped */
};

struct cn_pcp_response {
	enum cn_pcp_opcode opcode;
	uint8_t result;	   /* enum cn_pcp_result, or an unknown code > MAX */
	uint32_t lifetime; /* granted (success) or how long the error holds */
	uint32_t epoch;	   /* server's seconds since it lost state */
	bool has_map;	   /* MAP: the body is present (always on success) */
	struct cn_pcp_map map;
	unsigned n_options; /* options seen and skipped */
};

/*
 * Writes a MAP request. Returns 0 and *out_len (60), or -CN_EINVAL (opcode
 * not MAP, protocol 0, internal port 0) or -CN_ETOOBIG (cap).
 */
int cn_pcp_request_encode(const struct cn_pcp_request *rq, uint8_t *out, size_t cap,
			  size_t *out_len);
/*
 * Reads a request (for tests and fuzzing: this client never serves PCP).
 * 0, -CN_ESHORT, -CN_ETOOBIG (over 1100) or -CN_EFORMAT (length not a
 * multiple of 4, version, R bit set, opcode, protocol 0, bad option).
 */
int cn_pcp_request_decode(const uint8_t *buf, size_t len, struct cn_pcp_request *rq);

/*
 * Writes a response (tests' fake gateways and fuzzing). -CN_EINVAL for an
 * opcode other than MAP/ANNOUNCE or a success MAP without body.
 */
int cn_pcp_response_encode(const struct cn_pcp_response *rs, uint8_t *out, size_t cap,
			   size_t *out_len);
/*
 * Reads a response. 0, -CN_ESHORT, -CN_ETOOBIG, or -CN_EFORMAT: length not
 * a multiple of 4, version not 2 (a NAT-PMP-only gateway answers version 0:
 * see cn_pcp_is_natpmp_reply), R bit clear, unknown opcode, a success MAP
 * without body, an ANNOUNCE with a body, a bad option. *rs is cleared first.
 */
int cn_pcp_response_decode(const uint8_t *buf, size_t len, struct cn_pcp_response *rs);

/* True if a datagram on the PCP socket is a NAT-PMP reply (version 0):
 * the gateway speaks only NAT-PMP (RFC 6887 9). */
static inline bool cn_pcp_is_natpmp_reply(const uint8_t *buf, size_t len)
{
	return len >= 2 && buf[0] == 0;
}

/* IPv4 (4 bytes, network order) <-> IPv4-mapped IPv6. */
void cn_pcp_addr_from_v4(uint8_t out[static 16], const uint8_t v4[static 4]);
/* True and out set if a is IPv4-mapped. */
bool cn_pcp_addr_to_v4(const uint8_t a[static 16], uint8_t out[static 4]);

/*
 * Epoch check (RFC 6887 8.5; NAT-PMP RFC 6886 3.6 is the same rule): the
 * client keeps the last server epoch and its own clock (seconds, monotonic)
 * when it was received. A server epoch that went back more than 1 s, or
 * that moved faster or slower than the client's clock by more than 1/16
 * plus 2 s, means the server lost its mappings.
 * All-zero is "no epoch seen yet".
 */
struct cn_pcp_epoch {
	bool valid;
	uint32_t server;
	uint64_t client_s;
};

/* Records (server, now_s). Returns true if the server kept its state, false
 * if it lost it (the caller maps everything again); the first call is true. */
bool cn_pcp_epoch_update(struct cn_pcp_epoch *e, uint32_t server, uint64_t now_s);

#endif
