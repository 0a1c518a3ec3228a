/* SPDX-License-Identifier: MIT */
/*
 * The engine's fast failure detection on the direct path, and its answer
 * to a network change the shell saw (engine.h). Part of the engine: pure,
 * no clock, acts through eng_* and the ops.
 *
 * A direct path carrying traffic that hears nothing back for
 * max(DIRECT_QUIET_MS, 2 RTT) gets a PROBE at once (another half way); when
 * nothing authentic arrives over it within max(DIRECT_PROBE_MS, 3 RTT) of
 * the first, the path is declared lost then, not after DIRECT_DEAD_MS:
 * traffic goes through the relay, which also lets a peer whose NAT was
 * renumbered answer from its new address (and be followed there through
 * path validation). An idle direct path keeps the DIRECT_DEAD_MS rule.
 */
#include "node/engine.h"

#include <stdio.h>

#include <sodium.h>

#include "node/engine_int.h"

static uint64_t at_least(uint64_t floor_ms, uint64_t rtts, const struct cn_peer *p)
{
	uint64_t ms = rtts * (p->rtt_us / 1000);

	return ms > floor_ms ? ms : floor_ms;
}

static void probe_send(struct cn_peer *p, uint64_t now)
{
	struct cn_engine *e = p->e;
	struct cn_ctl_msg m = {.type = CN_CTL_PROBE};

	/* The RTT probe's id: its reply also measures the path. */
	p->last_probe_ms = now;
	p->probe_id = m.id = ((uint64_t)randombytes_random() << 32) | randombytes_random();
	p->probe_sent_us = e->ops->now_us(e->ctx);
	eng_send_ctl_to(p, now, &m, &p->dremote);
}

static void probe_start(struct cn_peer *p, uint64_t now)
{
	p->dprobe_ms = now;
	p->dprobe_again = true;
	probe_send(p, now);
	eng_peer_changed(p, now);
}

void eng_watch_sent(struct cn_peer *p, uint64_t now)
{
	if (!p->direct_up || p->dprobe_ms ||
	    now - p->d_last_rx_ms < at_least(CN_ENGINE_DIRECT_QUIET_MS, 2, p))
		return;
	probe_start(p, now);
}

uint64_t eng_watch_deadline(const struct cn_peer *p)
{
	uint64_t bound = at_least(CN_ENGINE_DIRECT_PROBE_MS, 3, p);

	if (!p->dprobe_ms)
		return UINT64_MAX;
	return p->dprobe_ms + (p->dprobe_again ? bound / 2 : bound);
}

void eng_watch_tick(struct cn_peer *p, uint64_t now)
{
	uint64_t bound = at_least(CN_ENGINE_DIRECT_PROBE_MS, 3, p);
	char why[96];

	if (!p->dprobe_ms)
		return;
	if (!p->direct_up || p->d_last_rx_ms > p->dprobe_ms) {
		p->dprobe_ms = 0; /* answered (or the path went otherwise) */
		return;
	}
	if (p->dprobe_again) {
		if (now - p->dprobe_ms < bound / 2)
			return;
		p->dprobe_again = false;
		probe_send(p, now);
		return;
	}
	if (now - p->dprobe_ms < bound)
		return;
	snprintf(why, sizeof(why), "no answer to a probe within %llu ms while carrying traffic",
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
				probe_start(p, now);
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
