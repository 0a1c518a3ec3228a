/* SPDX-License-Identifier: MIT */
/*
 * The fast-failure watch of one path under traffic, shared by the node's
 * direct paths (node/engine_watch.c) and its relay links
 * (relay/relay_client_live.c). Pure: the caller says what it sent and
 * heard, asks when to come back, and does what a tick says.
 *
 * A path that carries traffic and has heard nothing back for
 * max(QUIET_MS, 2 RTT) is watched from the next packet out. That packet's
 * own answer (a ping's reply, a TCP ACK after the 40 ms delayed-ACK
 * minimum) is waited for max(ANSWER_MS, 2 RTT), at most a third of the
 * bound, so a request after a quiet spell costs no extra datagram; then a
 * probe goes, another half way, and the path is lost when nothing
 * authentic has come within max(BOUND_MS, 3 RTT) of that packet. A watch
 * started with its probe at once (a network change, an idle link's
 * keepalive) skips the wait.
 */
#ifndef CN_COMMON_PATHWATCH_H
#define CN_COMMON_PATHWATCH_H

#include <stdbool.h>
#include <stdint.h>

enum {
	CN_PATHWATCH_QUIET_MS = 250,
	CN_PATHWATCH_ANSWER_MS = 50,
	CN_PATHWATCH_BOUND_MS = 300,
};

struct cn_pathwatch {
	bool on;
	unsigned int probes; /* sent so far: 0 (waiting for the answer), 1, 2 */
	uint64_t start_ms;   /* the watch began then */
};

enum cn_pathwatch_act {
	CN_PATHWATCH_WAIT,  /* nothing due (come back at cn_pathwatch_deadline) */
	CN_PATHWATCH_PROBE, /* send a probe now */
	CN_PATHWATCH_LOST,  /* nothing came back within the bound: the watch ended */
};

/*
 * A packet went out over the path at now; last_rx_ms: when anything
 * authentic last came over it; rtt_ms: its round trip (0: unknown).
 * Starts the watch when the path has been quiet; true if it did.
 */
bool cn_pathwatch_sent(struct cn_pathwatch *w, uint64_t now, uint64_t last_rx_ms, uint64_t rtt_ms);

/* Starts the watch at now with its first probe, which the caller sends now. */
void cn_pathwatch_start_probed(struct cn_pathwatch *w, uint64_t now);

/* The watch, if any, ends: something authentic came over the path, or the path went. */
void cn_pathwatch_end(struct cn_pathwatch *w);

/* When the next tick is due (UINT64_MAX: no watch). */
uint64_t cn_pathwatch_deadline(const struct cn_pathwatch *w, uint64_t rtt_ms);

/* What is due at now; after LOST the watch is off. */
enum cn_pathwatch_act cn_pathwatch_tick(struct cn_pathwatch *w, uint64_t now, uint64_t rtt_ms);

/* The lost bound, max(BOUND_MS, 3 RTT), for log lines. */
uint64_t cn_pathwatch_bound(uint64_t rtt_ms);

/* The quiet bound, max(QUIET_MS, 2 RTT): silence longer than this starts a watch. */
uint64_t cn_pathwatch_quiet(uint64_t rtt_ms);

#endif
