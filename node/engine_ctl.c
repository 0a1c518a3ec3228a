/* SPDX-License-Identifier: MIT */
/*
 * Node-to-node control messages inside the session (engine.h, ctlmsg.h):
 * ICE signalling (SDP, done) with agent generations, RTT probes and their
 * replies; and the engine's side of ICE events from the shell.
 *
 * Generations: each side names its agent with a random non-zero gen; an
 * SDP carries the sender's gen and the gen of ours it paired with (seen,
 * 0: none), so restarts on either side are told apart from repeats.
 */
#include "node/engine.h"

#include <string.h>

#include <sodium.h>

#include "common/err.h"
#include "crypto/rand.h"
#include "node/engine_int.h"

void eng_ice_stop(struct cn_peer *p)
{
	if (p->ice)
		p->e->ops->ice_stop(p->e->ctx, p);
	p->ice = false;
	p->ice_turn_up = false;
	p->ice_gen = p->ice_remote_gen = 0;
}

void eng_ice_start(struct cn_peer *p, uint64_t now)
{
	struct cn_engine *e = p->e;
	bool controlling = memcmp(e->cfg.id->ed_pk, p->key, CN_KEY_LEN) < 0;

	(void)now;
	eng_ice_stop(p);
	do {
		p->ice_gen = randombytes_random();
	} while (p->ice_gen == 0);
	p->ice_remote_gen = 0;
	if (e->ops->ice_start(e->ctx, p, controlling) != 0) {
		p->ice_gen = 0;
		return;
	}
	p->ice = true;
	eng_log(e, CN_LOG_DEBUG, false, "peer %s: ICE started (%s)", p->name,
		controlling ? "controlling" : "controlled");
}

/*
 * An ICE_SDP from the peer: start, answer or restart our agent. gen names
 * the peer's agent, seen the agent of ours it paired with (0: none).
 */
static void on_sdp(struct cn_peer *p, uint64_t now, const struct cn_ctl_msg *m)
{
	struct cn_engine *e = p->e;
	char sdp[CN_CTL_SDP_MAX + 1];

	/*
	 * While our direct path is up too: the peer looks for one, so it does
	 * not see ours (it may be a replayer's address). Answer it.
	 */
	if (!e->cfg.ice)
		return;
	memcpy(sdp, m->sdp, m->sdp_len);
	sdp[m->sdp_len] = '\0';
	if (p->ice && (m->seen == p->ice_gen || p->ice_remote_gen == 0)) {
		/* The peer answers our current agent, or both sides started at once. */
		if (p->ice_remote_gen == 0 && e->ops->ice_remote_sdp(e->ctx, p, sdp) == 0)
			p->ice_remote_gen = m->gen;
		return;
	}
	if (p->ice && p->ice_remote_gen == m->gen)
		return; /* a repeat */
	/* No agent, or one paired with an older agent of the peer: start anew. */
	eng_ice_start(p, now);
	if (p->ice && e->ops->ice_remote_sdp(e->ctx, p, sdp) == 0)
		p->ice_remote_gen = m->gen;
}

/* The reply to a path challenge came back from the challenged address: move there. */
static void challenge_answered(struct cn_peer *p, uint64_t now)
{
	char a[CN_ADDR_TEXT_MAX];

	p->dremote = p->challenge_addr;
	p->challenge_id = 0;
	eng_watch_heard(p, now);
	cn_addr_format((const struct sockaddr *)&p->dremote.ss, a);
	eng_log(p->e, CN_LOG_INFO, false, "peer %s: direct endpoint moved to %s", p->name, a);
	p->e->ops->endpoints_changed(p->e->ctx);
	eng_direct_up(p, now, "address validated");
}

void eng_probe_arm(struct cn_peer *p, uint64_t now, struct cn_ctl_msg *m)
{
	*m = (struct cn_ctl_msg){.type = CN_CTL_PROBE, .id = cn_rand_u64()};
	p->last_probe_ms = now;
	p->probe_id = m->id;
	p->probe_sent_us = p->e->ops->now_us(p->e->ctx);
}

void eng_handle_ctl(struct cn_peer *p, uint64_t now, const uint8_t *pt, size_t len,
		    enum cn_ctl_path via, const struct cn_addr *src)
{
	struct cn_engine *e = p->e;
	struct cn_ctl_msg m;

	if (cn_ctl_decode(pt, len, &m) != 0) {
		e->m.drop_bad_packet++;
		return;
	}
	switch (m.type) {
	case CN_CTL_ICE_SDP:
		on_sdp(p, now, &m);
		break;
	case CN_CTL_ICE_DONE:
		if (p->ice && m.gen == p->ice_remote_gen)
			e->ops->ice_remote_done(e->ctx, p);
		break;
	case CN_CTL_PROBE: {
		struct cn_ctl_msg reply = {.type = CN_CTL_PROBE_REPLY, .id = m.id, .path = via};

		/* Back the way it came: that is what a path challenge tests. */
		if (via == CN_CTL_PATH_DIRECT && src)
			eng_send_ctl_to(p, now, &reply, src);
		else
			eng_send_ctl(p, now, &reply);
		break;
	}
	case CN_CTL_PROBE_REPLY:
		if (p->challenge_id && m.id == p->challenge_id) {
			if (via == CN_CTL_PATH_DIRECT && src &&
			    cn_addr_equal((const struct sockaddr *)&src->ss,
					  (const struct sockaddr *)&p->challenge_addr.ss))
				challenge_answered(p, now);
			break;
		}
		if (m.id == p->probe_id && p->probe_sent_us) {
			p->rtt_us = e->ops->now_us(e->ctx) - p->probe_sent_us;
			p->probe_sent_us = 0;
		}
		e->ops->probe_reply(e->ctx, p, m.id, m.path, via);
		break;
	case CN_CTL_PMTU_PROBE:
		eng_pmtu_on_probe(p, now, &m, via, src);
		break;
	case CN_CTL_PMTU_ACK:
		eng_pmtu_on_ack(p, now, &m);
		break;
	case CN_CTL_CANDIDATE:
	case CN_CTL_BDAY_HARD:
		eng_bday_on_ctl(p, now, &m);
		break;
	case CN_CTL_BDAY_PROBE:
	case CN_CTL_BDAY_ACK:
		break; /* count only on the birthday sockets (cn_engine_receive_nat) */
	}
}

/* ---- ICE events from the shell ---- */

void cn_engine_ice_local_sdp(struct cn_engine *e, struct cn_peer *p, uint64_t now, const char *sdp)
{
	struct cn_ctl_msg m = {.type = CN_CTL_ICE_SDP,
			       .gen = p->ice_gen,
			       .seen = p->ice_remote_gen,
			       .sdp = sdp,
			       .sdp_len = strlen(sdp)};

	(void)e;
	eng_send_ctl(p, now, &m);
}

void cn_engine_ice_local_done(struct cn_engine *e, struct cn_peer *p, uint64_t now)
{
	struct cn_ctl_msg m = {.type = CN_CTL_ICE_DONE, .gen = p->ice_gen};

	(void)e;
	eng_send_ctl(p, now, &m);
}

void cn_engine_ice_direct(struct cn_engine *e, struct cn_peer *p, uint64_t now,
			  const struct cn_addr *remote, uint16_t local_port, const char *type)
{
	(void)e;
	p->ice_backoff_ms = 0;
	p->dsock = true;
	p->d_shared = false;
	p->dremote = *remote;
	p->dlocal_port = local_port;
	p->direct_up = false;
	eng_bday_stop(p);
	snprintf(p->d_type, sizeof(p->d_type), "%s", type);
	eng_direct_up(p, now, p->d_type);
	/* The agent has handed its socket over; it has nothing left to do. */
	eng_ice_stop(p);
	/* Prove the path at once (the peer learns it too). */
	eng_send_pt(p, now, NULL, 0);
}

void cn_engine_ice_turn(struct cn_engine *e, struct cn_peer *p, uint64_t now)
{
	p->ice_backoff_ms = 0;
	p->ice_turn_up = true;
	e->m.path_changes++;
	eng_log(e, CN_LOG_INFO, false, "peer %s: path is now TURN (ICE relayed pair)", p->name);
	eng_peer_changed(p, now);
}

void cn_engine_ice_failed(struct cn_engine *e, struct cn_peer *p, uint64_t now, const char *why)
{
	eng_log(e, CN_LOG_INFO, false,
		"peer %s: ICE found no direct path (%s); staying on the relay", p->name, why);
	eng_ice_stop(p);
	p->ice_backoff_ms =
		p->ice_backoff_ms ? p->ice_backoff_ms * 2 : CN_ENGINE_ICE_BACKOFF_MIN_MS;
	if (p->ice_backoff_ms > CN_ENGINE_ICE_BACKOFF_MAX_MS)
		p->ice_backoff_ms = CN_ENGINE_ICE_BACKOFF_MAX_MS;
	p->ice_next_ms = now + eng_jitter(p->ice_backoff_ms);
	eng_peer_changed(p, now);
}

void cn_engine_direct_restored(struct cn_engine *e, struct cn_peer *p, uint64_t now,
			       const struct cn_addr *remote, uint16_t local_port)
{
	(void)e;
	p->dsock = true;
	p->d_shared = false;
	p->dremote = *remote;
	p->dlocal_port = local_port;
	eng_initiate(p, now);
}
