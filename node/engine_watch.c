/* SPDX-License-Identifier: MIT */
/*
 * The engine's fast failure detection on the direct path, and its answer
 * to a network change the shell saw (engine.h). Part of the engine: pure,
 * no clock, acts through eng_* and the ops.
 *
 * A direct path carrying traffic that hears nothing back is watched by
 * common/pathwatch.h (as relay links are): the next packet's own answer
 * is waited for, then a PROBE goes (another half way), and when nothing
 * authentic arrives within max(DIRECT_PROBE_MS, 3 RTT) of that packet the
 * path is declared lost then, not after DIRECT_DEAD_MS:
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

static void probe_send(struct cn_peer *p, uint64_t now)
{
	struct cn_ctl_msg m;

	eng_probe_arm(p, now, &m);
	eng_send_ctl_to(p, now, &m, &p->dremote);
}

static uint64_t rtt_ms(const struct cn_peer *p)
{
	return p->rtt_us / 1000;
}

/* Watches the direct path from now with its first PROBE at once. */
static void probe_at_once(struct cn_peer *p, uint64_t now)
{
	cn_pathwatch_start_probed(&p->dwatch, now);
	probe_send(p, now);
	eng_peer_changed(p, now);
}

void eng_watch_sent(struct cn_peer *p, uint64_t now)
{
	if (p->direct_up && cn_pathwatch_sent(&p->dwatch, now, p->d_last_rx_ms, rtt_ms(p)))
		eng_peer_changed(p, now);
}

void eng_watch_heard(struct cn_peer *p, uint64_t now)
{
	p->d_last_rx_ms = now;
	cn_pathwatch_end(&p->dwatch); /* answered, even within the millisecond it began */
}

void eng_watch_received(struct cn_peer *p, uint64_t now)
{
	bool was = p->rx_stream;

	p->rx_stream = p->rx_ip_ms && now - p->rx_ip_ms < cn_pathwatch_quiet(rtt_ms(p));
	p->rx_ip_ms = now;
	if (p->rx_stream && !was)
		eng_peer_changed(p, now);
}

/* When a stream from the peer that stopped is to be probed (UINT64_MAX: none). */
static uint64_t rx_quiet_deadline(const struct cn_peer *p)
{
	uint64_t t = p->last_rx_ms + cn_pathwatch_quiet(rtt_ms(p)),
		 again = p->rx_quiet_probe_ms + CN_ENGINE_RX_QUIET_INTERVAL_MS;

	if (!p->rx_stream)
		return UINT64_MAX;
	return p->rx_quiet_probe_ms && again > t ? again : t;
}

uint64_t eng_watch_deadline(const struct cn_peer *p)
{
	uint64_t t = rx_quiet_deadline(p), d = cn_pathwatch_deadline(&p->dwatch, rtt_ms(p));

	return d < t ? d : t;
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
		if (!p->dwatch.on)
			probe_at_once(p, now);
		return;
	}
	eng_probe_arm(p, now, &m);
	eng_send_ctl(p, now, &m);
	eng_peer_changed(p, now);
}

void eng_watch_tick(struct cn_peer *p, uint64_t now)
{
	uint64_t since = now - p->dwatch.start_ms;
	char why[96];

	rx_quiet_tick(p, now);
	if (!p->dwatch.on)
		return;
	if (!p->direct_up) {
		cn_pathwatch_end(&p->dwatch); /* the path went otherwise */
		return;
	}
	switch (cn_pathwatch_tick(&p->dwatch, now, rtt_ms(p))) {
	case CN_PATHWATCH_WAIT:
		return;
	case CN_PATHWATCH_PROBE:
		probe_send(p, now);
		return;
	case CN_PATHWATCH_LOST:
		break;
	}
	snprintf(why, sizeof(why),
		 "nothing back within %llu ms while carrying traffic, probes included",
		 (unsigned long long)since);
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
			if (!p->dwatch.on)
				probe_at_once(p, now);
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
