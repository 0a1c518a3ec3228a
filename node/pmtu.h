/* SPDX-License-Identifier: MIT */
/*
 * Packetization Layer Path MTU Discovery (RFC 8899) for one path to a
 * peer: the state machine that decides which probe sizes to send, when,
 * and what packet size the path is known to carry (the PLPMTU).
 *
 * Sizes are overlay packet sizes: the plaintext of one transport message,
 * which is what a PMTU_PROBE control message of `size` bytes occupies
 * (node/ctlmsg.h) and what an IP packet read from the TUN occupies. The
 * engine sets base = 1280 (the IPv6 minimum, so the overlay's IPv6 always
 * works) and max = the overlay MTU it could use on a perfect path.
 *
 *   DISABLED         nothing sent, PLPMTU = base
 *   BASE             confirming base (a probe of base bytes)
 *   SEARCHING        probing up: first max, then a binary search between
 *                    the largest size acked and the smallest that failed,
 *                    until they are within CN_PMTU_STEP bytes
 *   SEARCH_COMPLETE  PLPMTU found; a confirmation probe of PLPMTU every
 *                    CONFIRM interval, and a new search every RAISE interval
 *   ERROR            base itself was not acked: PLPMTU stays base (nothing
 *                    smaller is useful) and base is probed again now and then
 *
 * A size fails after CN_PMTU_MAX_PROBES consecutive unacked probes, each
 * waited for CN_PMTU_PROBE_TIMER_MS (RFC 8899 5.1.1/5.1.2: MAX_PROBES 3,
 * PROBE_TIMER above 1 s, PMTU_RAISE_TIMER 600 s, CONFIRMATION_TIMER 600 s).
 * Black holes: a failed confirmation, or the engine's report that bulk
 * packets above base are being lost (cn_pmtu_on_black_hole), falls back to
 * base at once and searches again; a Packet Too Big hint of a size below
 * PLPMTU (and not below base) does the same, with the search capped there.
 * Probe loss never lowers PLPMTU while searching (RFC 8899 4.1: a probe is
 * not data).
 *
 * Pure: no sockets, no clock (`now` in monotonic ms), no logging.
 */
#ifndef CN_NODE_PMTU_H
#define CN_NODE_PMTU_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

enum {
	CN_PMTU_BASE = 1280,
	CN_PMTU_STEP = 16,
	CN_PMTU_MAX_PROBES = 3,
	CN_PMTU_PROBE_TIMER_MS = 1500,
	CN_PMTU_RAISE_MS = 600000,
	CN_PMTU_CONFIRM_MS = 600000,
	CN_PMTU_ERROR_RETRY_MS = 30000,
};

enum cn_pmtu_state {
	CN_PMTU_DISABLED,
	CN_PMTU_BASE_STATE,
	CN_PMTU_SEARCHING,
	CN_PMTU_SEARCH_COMPLETE,
	CN_PMTU_ERROR,
};

struct cn_pmtu {
	enum cn_pmtu_state state;
	uint16_t base, max;
	uint16_t plpmtu; /* the size the path is known to carry */
	uint16_t lo, hi; /* SEARCHING: lo acked, hi not yet failed */
	bool tried_max;
	/* the probe in flight */
	bool outstanding;
	uint16_t probed;
	uint32_t id;
	uint8_t probe_count; /* consecutive losses of this size */
	uint64_t timer_ms;   /* probe timeout, or when to send the next probe */
	uint64_t raise_ms, confirm_ms;
};

/* What to send now. */
struct cn_pmtu_probe {
	bool send;
	uint32_t id;
	uint16_t size;
};

/* Starts in BASE (probing base first). max < base is taken as base;
 * base 0 starts DISABLED. */
void cn_pmtu_init(struct cn_pmtu *p, uint16_t base, uint16_t max, uint64_t now_ms);
void cn_pmtu_disable(struct cn_pmtu *p);

/*
 * Advances timers and says whether to send a probe now (then send a
 * PMTU_PROBE of out->size bytes with out->id). Returns the next deadline
 * (0: none). Call whenever that deadline passes.
 */
uint64_t cn_pmtu_next(struct cn_pmtu *p, uint64_t now_ms, struct cn_pmtu_probe *out);

/* A PMTU_ACK: 0 if it acks the probe in flight, -CN_EUNKNOWN otherwise
 * (stale, forged size: ignored). */
int cn_pmtu_on_ack(struct cn_pmtu *p, uint32_t id, uint16_t size, uint64_t now_ms);

/* The engine saw bulk packets above base lost (retransmissions, silence
 * after large packets while small ones pass): fall back to base. */
void cn_pmtu_on_black_hole(struct cn_pmtu *p, uint64_t now_ms);

/* An ICMP Packet Too Big / Fragmentation Needed, converted to overlay
 * size by the engine: a hint, acted on only if it lowers PLPMTU. */
void cn_pmtu_on_ptb(struct cn_pmtu *p, uint16_t size, uint64_t now_ms);

static inline uint16_t cn_pmtu_current(const struct cn_pmtu *p)
{
	return p->plpmtu;
}

#endif
