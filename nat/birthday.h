/* SPDX-License-Identifier: MIT */
/*
 * The birthday technique for a direct path to a peer behind a NAT with
 * endpoint-dependent mapping (a "hard" NAT: a new external port per
 * destination), as Tailscale describes it ("How NAT traversal works",
 * section "The birthday paradox"):
 *
 *   - the hard side opens `sockets` UDP sockets (256 by default) and sends
 *     one packet from each toward the easy side's known external address,
 *     so its NAT opens that many mappings, each admitting packets from that
 *     address; then it tells the easy side (BDAY_HARD, node/ctlmsg.h) its
 *     external IP and which ports to try;
 *   - the easy side (endpoint-independent mapping) sends probes, from its
 *     one socket, to random ports of that IP; a probe that hits one of the
 *     open mappings gets through. With k mappings among n ports, p probes
 *     succeed with probability 1 - (1 - k/n)^p (256 of 64512 ports: 1024
 *     probes give 98%);
 *   - both stop on the first authenticated answer (BDAY_ACK), or when time
 *     or the probe budget runs out.
 *
 * This file is the planning math and the state machine of one attempt on
 * either side. The engine owns the sockets and the timer: it calls
 * cn_bday_next(now) whenever the returned deadline passes (or sooner) and
 * carries out the one action it gets, and reports the peer's messages.
 *
 * Hard bounds (whatever the peer asks): at most CN_BDAY_SOCKETS_MAX
 * sockets, CN_BDAY_RATE_MAX packets per second (probes on the easy side;
 * socket openings, each with one packet, on the hard side; never a burst:
 * consecutive packets are at least 1/rate apart, however late next() is
 * called), CN_BDAY_BUDGET_MAX probes, CN_BDAY_DURATION_MAX_MS per attempt.
 * `enabled` false is the off switch: nothing starts.
 *
 * Pure: no sockets, no clock (`now` in monotonic ms is a parameter), no
 * logging; the random source is a seed the caller passes.
 */
#ifndef CN_NAT_BIRTHDAY_H
#define CN_NAT_BIRTHDAY_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

enum {
	CN_BDAY_SOCKETS_MAX = 256,
	CN_BDAY_RATE_MAX = 1000,	  /* packets per second */
	CN_BDAY_BUDGET_MAX = 8192,	  /* probes per attempt */
	CN_BDAY_DURATION_MAX_MS = 60000,  /* per attempt */
	CN_BDAY_ANNOUNCE_TRIES = 3,	  /* BDAY_HARD sent up to this often */
	CN_BDAY_ANNOUNCE_EVERY_MS = 1000, /* until a probe arrives */
};

enum cn_bday_role { CN_BDAY_HARD, CN_BDAY_EASY };

enum cn_bday_state {
	CN_BDAY_IDLE,	 /* nothing started (all-zero struct) */
	CN_BDAY_OPENING, /* hard: opening sockets */
	CN_BDAY_WAITING, /* hard: sockets open, announced, waiting for a probe */
	CN_BDAY_PROBING, /* easy: sending probes */
	CN_BDAY_DONE,	 /* found: found_port / found_seq */
	CN_BDAY_FAILED,	 /* out of time or budget, or stopped */
};

struct cn_bday_limits {
	bool enabled;	      /* the off switch */
	uint16_t sockets;     /* hard: sockets to open (1..CN_BDAY_SOCKETS_MAX) */
	uint16_t rate;	      /* packets per second (1..CN_BDAY_RATE_MAX) */
	uint32_t budget;      /* easy: probes (1..CN_BDAY_BUDGET_MAX) */
	uint32_t duration_ms; /* per attempt (1..CN_BDAY_DURATION_MAX_MS) */
	uint16_t port_lo;     /* hard: the range to announce (1..port_hi) */
	uint16_t port_hi;
};

/* The defaults the engine uses: 256 sockets, 200 packets/s, 2048 probes,
 * 15 s, ports 1024-65535. */
void cn_bday_limits_default(struct cn_bday_limits *l);

enum cn_bday_act {
	CN_BDAY_ACT_NONE,     /* nothing now; call again at `deadline_ms` */
	CN_BDAY_ACT_OPEN,     /* hard: open socket number `index`, send one packet
			       * from it to the easy side's address */
	CN_BDAY_ACT_ANNOUNCE, /* hard: send BDAY_HARD (cn_bday_announce fills it) */
	CN_BDAY_ACT_PROBE,    /* easy: send BDAY_PROBE token/seq to port `port` */
	CN_BDAY_ACT_DONE,     /* found: use found_port (easy) / socket found_index (hard) */
	CN_BDAY_ACT_GIVE_UP,  /* failed: close the sockets, fall back (relay) */
};

struct cn_bday_step {
	enum cn_bday_act act;
	uint16_t index;	      /* OPEN */
	uint16_t port;	      /* PROBE */
	uint32_t seq;	      /* PROBE */
	uint64_t deadline_ms; /* NONE: when to call again (0: never) */
};

struct cn_bday {
	enum cn_bday_role role;
	enum cn_bday_state state;
	uint64_t token;
	uint16_t sockets, rate, port_lo, port_hi;
	uint32_t budget, duration_ms;
	uint64_t end_ms;  /* give up at */
	uint64_t next_ms; /* next packet not before */
	uint16_t opened;  /* hard */
	unsigned announced;
	uint32_t sent; /* easy: probes sent */
	/* easy: probe i goes to lo + walk(i), walk a keyed permutation of
	 * [0, n) (a Feistel network on half_bits * 2 bits, cycle-walked), so
	 * no port is probed twice and the order has no arithmetic in it */
	uint32_t n, half_bits;
	uint64_t key;
	uint16_t found_port;  /* easy: the hard side's port that answered */
	uint16_t found_index; /* hard: the socket a probe arrived on */
	uint32_t found_seq;
};

/* What BDAY_HARD announces (node/ctlmsg.h fields). */
struct cn_bday_announce {
	uint64_t token;
	uint16_t sockets, port_lo, port_hi, rate;
	uint32_t duration_ms;
};

/*
 * Starts the hard side. -CN_ESTATE when disabled, -CN_EINVAL for limits
 * out of bounds or token 0. The first step (cn_bday_next) opens socket 0.
 */
int cn_bday_start_hard(struct cn_bday *b, const struct cn_bday_limits *lim, uint64_t token,
		       uint64_t now_ms);
void cn_bday_announce(const struct cn_bday *b, struct cn_bday_announce *out);

/*
 * Starts the easy side on a received BDAY_HARD. The peer's asks are clamped
 * to our own limits: the lower rate, the shorter duration, our budget; the
 * range must be valid. seed picks the order of ports. -CN_ESTATE when
 * disabled, -CN_EINVAL for a bad announcement or limits.
 */
int cn_bday_start_easy(struct cn_bday *b, const struct cn_bday_limits *lim,
		       const struct cn_bday_announce *peer, uint64_t seed, uint64_t now_ms);

/* The next action at `now`; call again at deadline_ms after ACT_NONE. */
struct cn_bday_step cn_bday_next(struct cn_bday *b, uint64_t now_ms);

/*
 * Hard side: an authenticated BDAY_PROBE arrived on socket `index`. The
 * first with our token ends the attempt (DONE; answer with BDAY_ACK
 * token/seq/port from that socket). -CN_EUNKNOWN for another token,
 * -CN_EINVAL for an index we never opened, -CN_ESTATE when not waiting.
 */
int cn_bday_on_probe(struct cn_bday *b, uint16_t index, uint64_t token, uint32_t seq,
		     uint64_t now_ms);
/*
 * Easy side: an authenticated BDAY_ACK. Ours if the token matches, seq is
 * one we sent and port is in the range: DONE, found_port = port.
 * -CN_EUNKNOWN, -CN_EINVAL or -CN_ESTATE otherwise.
 */
int cn_bday_on_ack(struct cn_bday *b, uint64_t token, uint32_t seq, uint16_t port);

/* Stops the attempt (FAILED) unless it is already DONE. */
void cn_bday_stop(struct cn_bday *b);

/* 1 - (1 - k/n)^p: the chance that p distinct random probes among n ports
 * hit one of k open mappings (p <= CN_BDAY_BUDGET_MAX), in parts per
 * million. */
uint32_t cn_bday_success_ppm(uint32_t k, uint32_t n, uint32_t p);

#endif
