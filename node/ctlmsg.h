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
 *   5 CANDIDATE    kind (1: enum cn_ctl_cand) | port (u16, not 0) | family (1: 4 or 6) |
 *                  addr (4 or 16)
 *   6 BDAY_HARD    token (u64) | sockets (u16) | port_lo (u16) | port_hi (u16) |
 *                  rate (u16, probes/s) | duration_ms (u32) | family (1) | addr (4 or 16)
 *   7 BDAY_PROBE   token (u64) | seq (u32) | port (u16): the port it was sent to
 *   8 BDAY_ACK     token (u64) | seq (u32) | port (u16): echo of the probe
 *   9 PMTU_PROBE   id (u32) | size (u16) | zero padding: the whole message is size bytes
 *  10 PMTU_ACK     id (u32) | size (u16): the size of the probe that arrived
 *
 * ICE_SDP: gen names the sender's ICE agent; seen is the gen of the
 * receiver's agent that the sender has paired with (0: none yet). That is
 * enough to start, answer and restart ICE from either side without loops
 * (node/node.c, ice_on_sdp).
 *
 * CANDIDATE announces one more address the peer may try (a port mapping
 * the gateway granted, nat/portmap.h); the unspecified address, multicast
 * and port 0 are refused. The family byte fixes the message length, so a
 * cut message is never a shorter valid one.
 *
 * Birthday coordination (nat/birthday.h): the hard side (address- and
 * port-dependent mapping) sends BDAY_HARD: its observed external address,
 * that it opened `sockets` sockets (each sent toward the easy side, so
 * each has a mapping), and asks the easy side to probe ports of that
 * address in [port_lo, port_hi] at `rate` per second for duration_ms. The
 * easy side sends BDAY_PROBEs (inside the session, so they authenticate
 * themselves) to random ports; the hard side answers the first with a
 * BDAY_ACK through the socket it arrived on. token ties the three
 * together (a new token per attempt; 0 is refused). Bounds: sockets
 * 1..CN_CTL_BDAY_SOCKETS_MAX, rate 1..CN_CTL_BDAY_RATE_MAX, duration
 * 1..CN_CTL_BDAY_DURATION_MAX ms, 1 <= port_lo <= port_hi.
 *
 * PLPMTUD (RFC 8899, node/pmtu.h): a PMTU_PROBE is padded with zeros so
 * that the whole control message is `size` bytes (the size field must
 * equal the message length; padding must be zero, so a probe cannot carry
 * anything else); PMTU_ACK names the id and size of the probe received.
 * Sizes CN_CTL_PMTU_MIN..CN_CTL_MSG_MAX.
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
	CN_CTL_CANDIDATE = 5,
	CN_CTL_BDAY_HARD = 6,
	CN_CTL_BDAY_PROBE = 7,
	CN_CTL_BDAY_ACK = 8,
	CN_CTL_PMTU_PROBE = 9,
	CN_CTL_PMTU_ACK = 10,
	CN_CTL_TYPE_LAST = CN_CTL_PMTU_ACK,
};

/* Where an announced candidate comes from. */
enum cn_ctl_cand {
	CN_CTL_CAND_PCP = 1,
	CN_CTL_CAND_NATPMP = 2,
	CN_CTL_CAND_UPNP = 3,
	/* The server-reflexive address of the sender's node-wide socket, whose
	 * NAT maps it to one port whatever the destination (birthday's easy side). */
	CN_CTL_CAND_REFLEXIVE = 4,
	CN_CTL_CAND_MAX_ = CN_CTL_CAND_REFLEXIVE,
};

enum cn_ctl_path {
	CN_CTL_PATH_RELAY = 0,
	CN_CTL_PATH_DIRECT = 1,
	CN_CTL_PATH_TURN = 2,
};

enum {
	CN_CTL_SDP_MAX = 4096,
	CN_CTL_MSG_MAX = 1 + 4 + 4 + CN_CTL_SDP_MAX,
	CN_CTL_BDAY_SOCKETS_MAX = 1024,
	CN_CTL_BDAY_RATE_MAX = 1000,
	CN_CTL_BDAY_DURATION_MAX = 60000,
	CN_CTL_PMTU_MIN = 1 + 4 + 2,
};

struct cn_ctl_msg {
	enum cn_ctl_type type;
	uint32_t gen, seen; /* ICE_SDP; gen also ICE_DONE */
	const char *sdp;    /* ICE_SDP: into the input, not NUL-terminated */
	size_t sdp_len;
	uint64_t id;	       /* PROBE, PROBE_REPLY */
	enum cn_ctl_path path; /* PROBE_REPLY */
	/* CANDIDATE, BDAY_HARD: addr_len 4 or 16 bytes of addr, network order */
	enum cn_ctl_cand cand;
	uint8_t addr[16];
	uint8_t addr_len;
	uint16_t port; /* CANDIDATE; BDAY_PROBE/ACK: the probed port */
	/* BDAY_* */
	uint64_t token;
	uint32_t seq;
	uint16_t sockets, port_lo, port_hi, rate;
	uint32_t duration_ms;
	/* PMTU_*: id, and size = the probe's whole length */
	uint32_t pmtu_id;
	uint16_t size;
};

/* True if a session plaintext is a control message (not empty, not IP). */
static inline int cn_ctl_is_control(const uint8_t *pt, size_t len)
{
	return len > 0 && pt[0] < 0x40;
}

/* 0, -CN_ESHORT, -CN_ETOOBIG or -CN_EFORMAT (type, path, SDP bytes, a
 * field out of its bounds above, trailing bytes). */
int cn_ctl_decode(const uint8_t *buf, size_t len, struct cn_ctl_msg *m);
/* 0, -CN_EINVAL (bad fields) or -CN_ETOOBIG (cap). */
int cn_ctl_encode(const struct cn_ctl_msg *m, uint8_t *out, size_t cap, size_t *out_len);

#endif
