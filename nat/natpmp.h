/* SPDX-License-Identifier: MIT */
/*
 * NAT Port Mapping Protocol (RFC 6886) codec: the external address and
 * UDP/TCP mapping requests a client sends to its gateway (UDP port 5351)
 * and their responses. The epoch check is PCP's (nat/pcp.h
 * cn_pcp_epoch_update): RFC 6886 3.6 is the same rule.
 *
 * All integers big-endian, exact lengths:
 *
 *   ext addr request (2)    version=0 | opcode=0
 *   mapping request (12)    version=0 | opcode (1 UDP, 2 TCP) | reserved (2) |
 *                           internal port (u16) | suggested ext port (u16) |
 *                           lifetime (u32)
 *   ext addr response (12)  version=0 | opcode=128 | result (u16) |
 *                           epoch (u32) | external IPv4 (4)
 *   mapping response (16)   version=0 | opcode=128+op | result (u16) |
 *                           epoch (u32) | internal port (u16) |
 *                           mapped ext port (u16) | lifetime (u32)
 *   error response (8)      version=0 | opcode | result (u16, not 0) | epoch
 *
 * A response with a non-zero result may be the 8-byte form or the full
 * form (RFC 6886 3.5: the other fields then mean nothing); a success has
 * the full form. Nothing else is accepted, not even trailing padding.
 *
 * Pure: no sockets, no clock, no logging.
 */
#ifndef CN_NAT_NATPMP_H
#define CN_NAT_NATPMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

enum {
	CN_NATPMP_VERSION = 0,
	CN_NATPMP_PORT = 5351,
	CN_NATPMP_ADDR_REQ_LEN = 2,
	CN_NATPMP_MAP_REQ_LEN = 12,
	CN_NATPMP_ERR_LEN = 8,
	CN_NATPMP_ADDR_RESP_LEN = 12,
	CN_NATPMP_MAP_RESP_LEN = 16,
	CN_NATPMP_MSG_MAX = CN_NATPMP_MAP_RESP_LEN,
	CN_NATPMP_RESP_BIT = 128,
};

enum cn_natpmp_opcode {
	CN_NATPMP_OP_ADDR = 0,
	CN_NATPMP_OP_MAP_UDP = 1,
	CN_NATPMP_OP_MAP_TCP = 2,
};

/* RFC 6886 3.5 result codes. */
enum cn_natpmp_result {
	CN_NATPMP_SUCCESS = 0,
	CN_NATPMP_UNSUPP_VERSION = 1,
	CN_NATPMP_REFUSED = 2,
	CN_NATPMP_NETWORK_FAILURE = 3,
	CN_NATPMP_NO_RESOURCES = 4,
	CN_NATPMP_UNSUPP_OPCODE = 5,
};

struct cn_natpmp_request {
	enum cn_natpmp_opcode opcode;
	uint16_t internal_port;	 /* mapping: not 0 */
	uint16_t suggested_port; /* mapping: 0 = any */
	uint32_t lifetime;	 /* mapping: seconds; 0 deletes (RFC 6886 3.4) */
};

struct cn_natpmp_response {
	enum cn_natpmp_opcode opcode; /* the request's (without the 128 bit) */
	uint16_t result;
	uint32_t epoch;
	bool full;		/* the body below is present */
	uint8_t external_ip[4]; /* ADDR */
	uint16_t internal_port; /* MAP_* */
	uint16_t external_port; /* MAP_* */
	uint32_t lifetime;	/* MAP_* */
};

/* 0 and *out_len, -CN_EINVAL (opcode, mapping with internal port 0) or -CN_ETOOBIG. */
int cn_natpmp_request_encode(const struct cn_natpmp_request *rq, uint8_t *out, size_t cap,
			     size_t *out_len);
/* For tests' fake gateways and fuzzing. 0, -CN_ESHORT or -CN_EFORMAT
 * (version, opcode, reserved not 0, internal port 0, length). */
int cn_natpmp_request_decode(const uint8_t *buf, size_t len, struct cn_natpmp_request *rq);
/* -CN_EINVAL for an unknown opcode or a success without body. */
int cn_natpmp_response_encode(const struct cn_natpmp_response *rs, uint8_t *out, size_t cap,
			      size_t *out_len);
/*
 * 0, -CN_ESHORT, or -CN_EFORMAT (version, opcode without the 128 bit or
 * unknown, a length that is neither 8 with an error nor the full form, a
 * success mapping with internal port 0). *rs is cleared first.
 */
int cn_natpmp_response_decode(const uint8_t *buf, size_t len, struct cn_natpmp_response *rs);

#endif
