/* SPDX-License-Identifier: MIT */
/*
 * Control messages between two nodes, carried inside their end-to-end
 * session (docs/PROTOCOL.md, "Inner payloads"). A session's plaintext is
 * either empty (keepalive), an IP packet (first byte 0x4X or 0x6X), or one
 * of these, whose first byte is below 0x40 so it can never be mistaken for
 * an IP packet:
 *
 *   type           body (big-endian)
 *   1 ICE_SDP      gen (u32) | seen (u32) | sdp (1..CN_CTL_SDP_MAX bytes, printable ASCII)
 *   2 PROBE        id (u64)
 *   3 PROBE_REPLY  id (u64) | path (1: enum cn_ctl_path the probe arrived by)
 *   4 ICE_DONE     gen (u32): the sender's agent gen finished its checks
 *
 * ICE_SDP: gen names the sender's ICE agent; seen is the gen of the
 * receiver's agent that the sender has paired with (0: none yet). That is
 * enough to start, answer and restart ICE from either side without loops
 * (node/node.c, ice_on_sdp).
 *
 * Pure: no sockets, no clock, no logging.
 */
#ifndef CN_NODE_CTLMSG_H
#define CN_NODE_CTLMSG_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

enum cn_ctl_type {
	CN_CTL_ICE_SDP = 1,
	CN_CTL_PROBE = 2,
	CN_CTL_PROBE_REPLY = 3,
	CN_CTL_ICE_DONE = 4,
};

enum cn_ctl_path {
	CN_CTL_PATH_RELAY = 0,
	CN_CTL_PATH_DIRECT = 1,
	CN_CTL_PATH_TURN = 2,
};

enum {
	CN_CTL_SDP_MAX = 4096,
	CN_CTL_MSG_MAX = 1 + 4 + 4 + CN_CTL_SDP_MAX,
};

struct cn_ctl_msg {
	enum cn_ctl_type type;
	uint32_t gen, seen; /* ICE_SDP; gen also ICE_DONE */
	const char *sdp;    /* ICE_SDP: into the input, not NUL-terminated */
	size_t sdp_len;
	uint64_t id;	       /* PROBE, PROBE_REPLY */
	enum cn_ctl_path path; /* PROBE_REPLY */
};

/* True if a session plaintext is a control message (not empty, not IP). */
static inline int cn_ctl_is_control(const uint8_t *pt, size_t len)
{
	return len > 0 && pt[0] < 0x40;
}

/* 0, -CN_ESHORT, -CN_ETOOBIG or -CN_EFORMAT (type, path, SDP bytes, trailing). */
int cn_ctl_decode(const uint8_t *buf, size_t len, struct cn_ctl_msg *m);
/* 0, -CN_EINVAL (bad fields) or -CN_ETOOBIG (cap). */
int cn_ctl_encode(const struct cn_ctl_msg *m, uint8_t *out, size_t cap, size_t *out_len);

#endif
