/* SPDX-License-Identifier: MIT */
/*
 * The engine's fast failure detection on the direct path, and its answer
 * to a network change the shell saw (engine.h). Part of the engine: pure,
 * no clock, acts through eng_* and the ops.
 *
 * A direct path carrying traffic that hears nothing back for
 * max(DIRECT_QUIET_MS, 2 RTT) is watched from the next packet out: that
 * packet's own answer (a ping's reply, a TCP ACK) is waited for
 * max(DIRECT_ANSWER_MS, 2 RTT), at most a third of the bound below, so a
 * request after a quiet spell costs no extra datagram; without one a
 * PROBE goes (another half way); when nothing authentic arrives over it
 * within max(DIRECT_PROBE_MS, 3 RTT) of that packet, the path is declared
 * lost then, not after DIRECT_DEAD_MS:
 * traffic goes through the relay, which also lets a peer whose NAT was
 * renumbered answer from its new address (and be followed there through
 * path validation). An idle direct path keeps the DIRECT_DEAD_MS rule.
 *
 * The receiving side watches too. A peer's IP packets that came in a
 * stream (each less than max(DIRECT_QUIET_MS, 2 RTT) after the one before)
 * and then stop for that long get one PROBE, on the direct path (the
 * probe above, so the path is also lost when it goes unanswered) or
 * through the relay; at most one per RX_QUIET_INTERVAL_MS. The stream
 * may just have ended (the probe is answered, nothing moves), but when
 * this node's NAT was renumbered nothing else would leave it before its
 * next keepalive (10 s direct, 5 s on a relay link), and nothing can reach
 * it until something does: the probe leaves through the new mapping, the
 * peer follows it there by path validation (the relay by its own), and
 * traffic resumes within about the quiet bound plus a round trip.
 */
#include "node/engine.h"

#include <stdio.h>

#include "node/engine_int.h"

static uint64_t at_least(uint64_t floor_ms, uint64_t rtts, const struct cn_peer *p)
{
	uint64_t ms = rtts * (p->rtt_us / 1000);

	return ms > floor_ms ? ms : floor_ms;
}

static void probe_send(struct cn_peer *p, uint64_t now)
{
	struct cn_ctl_msg m;

	eng_probe_arm(p, now, &m);
	eng_send_ctl_to(p, now, &m, &p->dremote);
}

/* The wait for an answer before the first PROBE: never past the second's time. */
static uint64_t answer_wait(const struct cn_peer *p)
{
	uint64_t wait = at_least(CN_ENGINE_DIRECT_ANSWER_MS, 2, p),
		 cap = at_least(CN_ENGINE_DIRECT_PROBE_MS, 3, p) / 3;

	return wait < cap ? wait : cap;
}

/* Starts the watch of a silent direct path: the first PROBE now, or after answer_wait. */
static void probe_start(struct cn_peer *p, uint64_t now, bool at_once)
{
	p->dprobe_ms = now;
	p->dprobe_sent = 0;
	if (at_once) {
		p->dprobe_sent = 1;
		probe_send(p, now);
	}
	eng_peer_changed(p, now);
}

void eng_watch_sent(struct cn_peer *p, uint64_t now)
{
	if (!p->direct_up || p->dprobe_ms ||
	    now - p->d_last_rx_ms < at_least(CN_ENGINE_DIRECT_QUIET_MS, 2, p))
		return;
	probe_start(p, now, false);
}

void eng_watch_heard(struct cn_peer *p, uint64_t now)
{
	p->d_last_rx_ms = now;
	p->dprobe_ms = 0; /* answered, even within the millisecond the watch began */
}

void eng_watch_received(struct cn_peer *p, uint64_t now)
{
	bool was = p->rx_stream;

	p->rx_stream = p->rx_ip_ms && now - p->rx_ip_ms < at_least(CN_ENGINE_DIRECT_QUIET_MS, 2, p);
	p->rx_ip_ms = now;
	if (p->rx_stream && !was)
		eng_peer_changed(p, now);
}

/* When a stream from the peer that stopped is to be probed (UINT64_MAX: none). */
static uint64_t rx_quiet_deadline(const struct cn_peer *p)
{
	uint64_t t = p->last_rx_ms + at_least(CN_ENGINE_DIRECT_QUIET_MS, 2, p),
		 again = p->rx_quiet_probe_ms + CN_ENGINE_RX_QUIET_INTERVAL_MS;

	if (!p->rx_stream)
		return UINT64_MAX;
	return p->rx_quiet_probe_ms && again > t ? again : t;
}

uint64_t eng_watch_deadline(const struct cn_peer *p)
{
	uint64_t bound = at_least(CN_ENGINE_DIRECT_PROBE_MS, 3, p), t = rx_quiet_deadline(p);

	if (!p->dprobe_ms)
		return t;
	switch (p->dprobe_sent) {
	case 0:
		bound = p->dprobe_ms + answer_wait(p);
		break;
	case 1:
		bound = p->dprobe_ms + bound / 2;
		break;
	default:
		bound += p->dprobe_ms;
		break;
	}
	return bound < t ? bound : t;
}

static void rx_quiet_tick(struct cn_peer *p, uint64_t now)
{
	struct cn_engine *e = p->e;
	struct cn_ctl_msg m;

	if (now < rx_quiet_deadline(p))
		return;
	p->rx_stream = false;
	p->rx_quiet_probe_ms = now;
	e->m.rx_quiet_probes++;
	eng_log(e, CN_LOG_DEBUG, false, "peer %s: its traffic stopped %llu ms ago; probing the %s",
		p->name, (unsigned long long)(now - p->last_rx_ms),
		p->direct_up ? "direct path" : "relay path");
	if (p->direct_up) {
		if (!p->dprobe_ms)
			probe_start(p, now, true);
		return;
	}
	eng_probe_arm(p, now, &m);
	eng_send_ctl(p, now, &m);
	eng_peer_changed(p, now);
}

void eng_watch_tick(struct cn_peer *p, uint64_t now)
{
	uint64_t bound = at_least(CN_ENGINE_DIRECT_PROBE_MS, 3, p);
	char why[96];

	rx_quiet_tick(p, now);
	if (!p->dprobe_ms)
		return;
	if (!p->direct_up) {
		p->dprobe_ms = 0; /* the path went otherwise (answers end it in eng_watch_heard) */
		return;
	}
	if (p->dprobe_sent < 2) {
		if (now - p->dprobe_ms < (p->dprobe_sent ? bound / 2 : answer_wait(p)))
			return;
		p->dprobe_sent++;
		probe_send(p, now);
		return;
	}
	if (now - p->dprobe_ms < bound)
		return;
	snprintf(why, sizeof(why), "nothing back within %llu ms while carrying traffic and probes",
		 (unsigned long long)(now - p->dprobe_ms));
	p->dprobe_ms = 0;
	eng_direct_down(p, now, why);
	/* Found fast, so try again fast: the first ICE attempt without backoff. */
	p->ice_next_ms = now + CN_ENGINE_ICE_START_DELAY_MS;
}

void cn_engine_network_changed(struct cn_engine *e, uint64_t now)
{
	for (size_t i = 0; i < e->npeers; i++) {
		struct cn_peer *p = e->peers[i];

		if (!cn_peer_has_session(p, now))
			continue;
		if (p->direct_up) {
			/* Still there? The answer (or its absence) says within the bound. */
			if (!p->dprobe_ms)
				probe_start(p, now, true);
			continue;
		}
		/* Gather again with the new addresses, now. */
		if (p->ice)
			eng_ice_stop(p);
		p->ice_backoff_ms = 0;
		if (e->cfg.ice)
			p->ice_next_ms = now;
		eng_peer_changed(p, now);
	}
}
