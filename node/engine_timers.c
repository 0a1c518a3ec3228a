/* SPDX-License-Identifier: MIT */
/*
 * Every per-peer deadline of the engine, in one place (engine.h). The rest
 * of the engine reports events (eng_peer_changed) and this file says when
 * the next thing is due; the shell keeps one timer armed to the earliest.
 *
 *   handshake resend   while packets are staged: the same initiation again
 *                      after HANDSHAKE_RESEND_MIN_MS, doubling (a copy the
 *                      peer already has is refused as a replay; one that
 *                      was lost, say before the peer's relay link came
 *                      up, gets through);
 *   handshake retry    a new initiation HANDSHAKE_RETRY_MS after the last;
 *                      give up after HANDSHAKE_GIVEUP_MS and drop the
 *                      staged packets;
 *   previous session   dropped when it expires (REJECT_AFTER_TIME);
 *   passive keepalive  PASSIVE_KEEPALIVE_MS after receiving without sending;
 *   direct keepalive   DIRECT_KEEPALIVE_MS without sending on the direct path;
 *   direct dead        DIRECT_DEAD_MS without receiving on it: back to the
 *                      relay, ICE again after a backoff (ICE_BACKOFF_*);
 *   direct probe       under traffic, sooner (engine_watch.c): a silent
 *                      path is probed and lost within DIRECT_PROBE_MS;
 *   ICE start          ice_next_ms (after a session came up, a failure or a
 *                      lost direct path);
 *   RTT probe          PROBE_INTERVAL_MS while a session is up;
 *   path MTU probes    each path's search (engine_pmtu.c, node/pmtu.h);
 *   birthday           the attempt's next packet, a retry (engine_bday.c).
 */
#include "node/engine.h"

#include <sodium.h>

#include "crypto/session.h"
#include "node/engine_int.h"

/* Adds up to a quarter of ms at random. */
uint64_t eng_jitter(uint64_t ms)
{
	return ms + randombytes_uniform((uint32_t)(ms / 4 + 1));
}

static uint64_t earliest(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

uint64_t eng_peer_deadline(const struct cn_peer *p, uint64_t now)
{
	uint64_t t = UINT64_MAX;
	bool session = cn_peer_has_session(p, now);

	if (cn_keyring_pending(&p->keys))
		t = earliest(t, p->hs_sent_ms + CN_ENGINE_HANDSHAKE_RETRY_MS);
	if (cn_keyring_pending(&p->keys) && p->nstaged)
		t = earliest(t, p->hs_resent_ms + p->hs_resend_ms);
	if (p->keys.prev)
		t = earliest(t, p->keys.prev->created_ms + CN_SESSION_REJECT_AFTER_TIME_MS);
	if (!session)
		return t;
	t = earliest(t, eng_watch_deadline(p));
	if (p->direct_up) {
		t = earliest(t, p->d_last_rx_ms + CN_ENGINE_DIRECT_DEAD_MS);
		t = earliest(t, p->d_last_tx_ms + CN_ENGINE_DIRECT_KEEPALIVE_MS);
	} else if (p->last_rx_ms > p->last_tx_ms) {
		t = earliest(t, p->last_tx_ms + CN_ENGINE_PASSIVE_KEEPALIVE_MS);
	}
	if (p->e->cfg.ice && !p->direct_up && !p->ice && p->ice_next_ms)
		t = earliest(t, p->ice_next_ms);
	t = earliest(t, p->last_probe_ms + CN_ENGINE_PROBE_INTERVAL_MS);
	t = earliest(t, eng_pmtu_deadline(p));
	t = earliest(t, eng_bday_deadline(p));
	/* The session itself: when it expires, the next send initiates. */
	t = earliest(t, p->keys.cur->created_ms + CN_SESSION_REJECT_AFTER_TIME_MS);
	return t;
}

void eng_peer_tick(struct cn_peer *p, uint64_t now)
{
	struct cn_engine *e = p->e;
	bool session;

	if (cn_keyring_pending(&p->keys) && now - p->hs_sent_ms >= CN_ENGINE_HANDSHAKE_RETRY_MS) {
		if (now - p->hs_first_ms >= CN_ENGINE_HANDSHAKE_GIVEUP_MS) {
			eng_log(e, CN_LOG_INFO, false,
				"peer %s: no handshake answer for %d s; dropping %u queued packets",
				p->name, CN_ENGINE_HANDSHAKE_GIVEUP_MS / 1000, p->nstaged);
			eng_drop_staged(p);
			cn_keyring_abandon(&p->keys);
		} else {
			eng_initiate(p, now);
		}
	} else if (cn_keyring_pending(&p->keys) && p->nstaged &&
		   now - p->hs_resent_ms >= p->hs_resend_ms) {
		p->hs_resent_ms = now;
		p->hs_resend_ms *= 2;
		eng_send_initiation(p, now);
	}
	cn_keyring_expire(&p->keys, now);
	session = cn_peer_has_session(p, now);
	if (!session)
		return;
	eng_watch_tick(p, now);
	if (p->direct_up) {
		if (now - p->d_last_rx_ms >= CN_ENGINE_DIRECT_DEAD_MS)
			eng_direct_down(p, now, "no packets");
		else if (now - p->d_last_tx_ms >= CN_ENGINE_DIRECT_KEEPALIVE_MS)
			eng_send_pt(p, now, NULL, 0);
	} else if (p->last_rx_ms > p->last_tx_ms &&
		   now - p->last_tx_ms >= CN_ENGINE_PASSIVE_KEEPALIVE_MS) {
		eng_send_pt(p, now, NULL, 0);
	}
	if (e->cfg.ice && !p->direct_up && !p->ice && p->ice_next_ms && now >= p->ice_next_ms) {
		p->ice_next_ms = 0;
		eng_ice_start(p, now);
	}
	if (now - p->last_probe_ms >= CN_ENGINE_PROBE_INTERVAL_MS) {
		struct cn_ctl_msg m;

		eng_probe_arm(p, now, &m);
		eng_send_ctl(p, now, &m);
	}
	eng_pmtu_tick(p, now);
	eng_bday_tick(p, now);
}

uint64_t cn_engine_tick(struct cn_engine *e, uint64_t now)
{
	uint64_t next = UINT64_MAX;

	for (size_t i = 0; i < e->npeers; i++)
		eng_peer_tick(e->peers[i], now);
	for (size_t i = 0; i < e->npeers; i++)
		next = earliest(next, eng_peer_deadline(e->peers[i], now));
	/*
	 * A deadline still past after its tick is one whose action could not
	 * happen (no path to send a keepalive on): look again a little later
	 * rather than spin.
	 */
	if (next <= now)
		next = now + CN_ENGINE_RETRY_LATER_MS;
	e->wake = next;
	return next;
}
