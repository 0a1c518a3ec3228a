/* SPDX-License-Identifier: MIT */
/*
 * The engine's receiving side (engine.h): one function per message type,
 * the direct path's liveness and roaming, and the delivery of decrypted
 * IP packets with the cryptokey-routing check.
 */
#include "node/engine.h"

#include <string.h>

#include "common/err.h"
#include "crypto/rand.h"
#include "crypto/session.h"
#include "node/engine_int.h"
#include "node/ippkt.h"

void eng_direct_up(struct cn_peer *p, uint64_t now, const char *why)
{
	char a[CN_ADDR_TEXT_MAX];

	if (p->direct_up)
		return;
	p->direct_up = true;
	eng_watch_heard(p, now); /* a watch from before the path last went ends too */
	eng_pmtu_start(p, CN_CTL_PATH_DIRECT, now);
	p->e->m.path_changes++;
	p->e->ops->endpoints_changed(p->e->ctx);
	cn_addr_format((const struct sockaddr *)&p->dremote.ss, a);
	eng_log(p->e, CN_LOG_INFO, false, "peer %s: path is now direct via %s (%s)", p->name, a,
		why);
	eng_peer_changed(p, now);
}

void eng_direct_down(struct cn_peer *p, uint64_t now, const char *why)
{
	if (!p->direct_up)
		return;
	p->direct_up = false;
	p->e->m.path_changes++;
	eng_pmtu_stop(p, CN_CTL_PATH_DIRECT);
	/* The socket stays open: the peer may come back to it (restart). */
	p->ice_backoff_ms = p->ice_backoff_ms ? p->ice_backoff_ms : CN_ENGINE_ICE_BACKOFF_MIN_MS;
	p->ice_next_ms = now + eng_jitter(p->ice_backoff_ms);
	eng_log(p->e, CN_LOG_INFO, false,
		"peer %s: direct path lost (%s); using the relay, ICE again in %llu ms", p->name,
		why, (unsigned long long)p->ice_backoff_ms);
	eng_peer_changed(p, now);
}

/* A session came up (either side): the ICE search for a direct path starts soon. */
static void session_up(struct cn_peer *p, uint64_t now)
{
	uint64_t sec = 0;
	uint32_t nsec = 0;

	p->e->ops->wall_clock(p->e->ctx, &sec, &nsec);
	p->last_handshake_unix = (int64_t)sec;
	p->handshakes++;
	p->e->m.handshakes_ok++;
	if (p->pmtu[CN_CTL_PATH_RELAY].state == CN_PMTU_DISABLED)
		eng_pmtu_start(p, CN_CTL_PATH_RELAY, now);
	eng_bday_session_up(p, now);
	if (!p->ice && !p->direct_up && p->ice_next_ms == 0)
		p->ice_next_ms = now + CN_ENGINE_ICE_START_DELAY_MS;
}

static struct cn_handshake_peer *lookup_x(void *ctx, const uint8_t x_pk[CN_KEY_LEN])
{
	struct cn_engine *e = ctx;
	struct cn_peer *p = e->pl ? cn_engine_find_pl(e, cn_peerlist_find_xkey(e->pl, x_pk)) : NULL;

	return p ? &p->hs_peer : NULL;
}

static void rx_initiation(struct cn_engine *e, uint64_t now, struct cn_peer *from_peer,
			  enum cn_ctl_path via, int relay, const uint8_t *msg, size_t len,
			  const struct cn_addr *src)
{
	struct cn_handshake hs;
	struct cn_handshake_peer *hp = NULL;
	uint8_t resp[CN_HANDSHAKE_RESPONSE_MAC2_LEN];
	struct cn_peer *p;
	uint32_t index;
	size_t rlen;
	int ret;

	ret = cn_handshake_consume_initiation(&hs, &e->local, msg, len, lookup_x, e, &hp);
	if (ret) {
		e->m.handshakes_refused++;
		eng_log(e, CN_LOG_WARN, true, "handshake initiation via %s refused: %s",
			cn_engine_path_names[via], cn_strerror(ret));
		return;
	}
	p = (struct cn_peer *)((char *)hp - offsetof(struct cn_peer, hs_peer));
	if (from_peer && from_peer != p) {
		cn_handshake_wipe(&hs);
		e->m.handshakes_refused++;
		return;
	}
	if (eng_restricted(p, now, "initiation not answered")) {
		cn_handshake_wipe(&hs);
		return;
	}
	index = eng_fresh_index(e);
	if (cn_u32map_put(&e->index, index, p) != 0) {
		cn_handshake_wipe(&hs);
		return;
	}
	if (cn_keyring_respond(&p->keys, &hs, index, now, resp) != 0) {
		cn_u32map_del(&e->index, index);
		return;
	}
	rlen = cn_cookie_jar_stamp(&p->jar, resp, CN_HANDSHAKE_RESPONSE_LEN, sizeof(resp), now);
	/* Answer the way the initiation came. */
	if (via == CN_CTL_PATH_DIRECT && from_peer && src)
		eng_direct_send(p, now, src, resp, rlen);
	else if (via == CN_CTL_PATH_TURN && p->ice)
		e->ops->send_turn(e->ctx, p, resp, rlen);
	else if (relay >= 0 && e->relays[relay].up)
		e->ops->send_relay(e->ctx, (unsigned int)relay, p->key, resp, rlen);
	else
		eng_relay_send(p, resp, rlen);
	p->last_tx_ms = now;
	eng_log(e, CN_LOG_DEBUG, false, "peer %s: handshake answered via %s", p->name,
		cn_engine_path_names[via]);
	eng_peer_changed(p, now);
}

static void rx_response(struct cn_engine *e, uint64_t now, struct cn_peer *from_peer,
			enum cn_ctl_path via, uint32_t index, const uint8_t *msg, size_t len)
{
	struct cn_peer *p = cn_u32map_get(&e->index, index);

	if (!p || p->keys.hs_index != index || (from_peer && from_peer != p) ||
	    eng_restricted(p, now, "response not taken"))
		return;
	if (cn_keyring_consume_response(&p->keys, msg, len, now) != 0) {
		e->m.handshakes_refused++;
		return;
	}
	session_up(p, now);
	/* An authenticated answer over the direct socket proves the path. */
	if (via == CN_CTL_PATH_DIRECT && from_peer)
		eng_direct_up(p, now, "handshake answered");
	eng_log(e, CN_LOG_INFO, false, "peer %s: session established via %s", p->name,
		cn_engine_path_names[via]);
	if (p->nstaged)
		eng_flush_staged(p, now);
	else
		eng_send_pt(p, now, NULL, 0); /* confirms the session to the responder */
	eng_peer_changed(p, now);
}

/* A decrypted IP packet from p for the local stack. */
static void deliver_ip(struct cn_peer *p, uint64_t now, const uint8_t *pt, size_t len)
{
	struct cn_engine *e = p->e;
	struct cn_ip_info ip;

	if (cn_ip_parse(pt, len, &ip) != 0) {
		e->m.drop_bad_packet++;
		return;
	}
	/* Cryptokey routing: the peer may only speak for its own addresses. */
	if ((ip.version == 4 && memcmp(ip.src, p->pl->ip4, 4) != 0) ||
	    (ip.version == 6 && memcmp(ip.src, p->pl->ip6, 16) != 0)) {
		e->m.drop_bad_src++;
		eng_log(e, CN_LOG_WARN, true,
			"peer %s: dropped a packet with a source address not its own", p->name);
		(void)now;
		return;
	}
	if ((e->rx_batch && e->ops->tun_queue ? e->ops->tun_queue
					      : e->ops->tun_write)(e->ctx, pt, ip.total_len) != 0)
		e->m.drop_bad_packet++;
}

/* Asks src to prove it is p: a PROBE that only the peer there can answer from there. */
static void challenge(struct cn_peer *p, uint64_t now, const struct cn_addr *src)
{
	struct cn_ctl_msg m = {.type = CN_CTL_PROBE};

	if (p->challenge_id && now - p->challenge_sent_ms < CN_ENGINE_CHALLENGE_INTERVAL_MS)
		return;
	do {
		p->challenge_id = cn_rand_u64();
	} while (p->challenge_id == 0);
	m.id = p->challenge_id;
	p->challenge_sent_ms = now;
	p->challenge_addr = *src;
	p->e->m.path_challenges++;
	eng_send_ctl_to(p, now, &m, src);
}

static void rx_data(struct cn_engine *e, uint64_t now, struct cn_peer *from_peer,
		    enum cn_ctl_path via, int relay, uint32_t index, uint8_t *msg, size_t len,
		    const struct cn_addr *src)
{
	struct cn_peer *p = cn_u32map_get(&e->index, index);
	struct cn_session *s = p ? cn_keyring_find(&p->keys, index) : NULL;
	uint8_t *pt = msg + CN_SESSION_HEADER_LEN;
	size_t pt_len = 0;
	uint64_t counter = 0, next_before;
	bool newest;
	int ret;

	/* A reserved initiation index names a peer but no session. */
	if (!s || (from_peer && p != from_peer)) {
		e->m.drop_no_session++;
		return;
	}
	for (int i = 15; i >= 8; i--)
		counter = counter << 8 | msg[i]; /* little-endian; classify checked the length */
	next_before = s->replay.next;
	ret = cn_session_decrypt(s, now, msg, len, pt, len - CN_SESSION_HEADER_LEN, &pt_len);
	if (ret) {
		if (ret == -CN_EREPLAY)
			e->m.drop_replay++;
		else
			e->m.drop_bad_packet++;
		eng_log(e, CN_LOG_DEBUG, true, "peer %s: packet via %s dropped: %s", p->name,
			cn_engine_path_names[via], cn_strerror(ret));
		return;
	}
	newest = counter >= next_before;
	eng_rx_data_after(p, s, now, via, relay, pt, pt_len, src, newest, true);
}

void eng_rx_data_after(struct cn_peer *p, struct cn_session *s, uint64_t now, enum cn_ctl_path via,
		       int relay, uint8_t *pt, size_t pt_len, const struct cn_addr *src,
		       bool newest, bool changed)
{
	if (cn_keyring_received(&p->keys, s)) {
		/* The initiator's first packet confirms the session we answered. */
		session_up(p, now);
		eng_log(p->e, CN_LOG_INFO, false, "peer %s: session established via %s", p->name,
			cn_engine_path_names[via]);
		if (p->nstaged)
			eng_flush_staged(p, now);
		changed = true;
	}
	p->last_rx_ms = now;
	p->rx_bytes += pt_len;
	if (via == CN_CTL_PATH_DIRECT && src &&
	    !cn_addr_equal((const struct sockaddr *)&p->dremote.ss,
			   (const struct sockaddr *)&src->ss)) {
		/*
		 * From another address: the peer may have roamed, or an on-path
		 * box (or the relay, which holds every packet sent through it)
		 * replays one we had not seen yet. Nothing moves until that
		 * address answers a challenge; a packet older than the newest
		 * one received does not even start one.
		 */
		if (newest)
			challenge(p, now, src);
	} else if (via == CN_CTL_PATH_DIRECT) {
		eng_watch_heard(p, now);
		eng_direct_up(p, now, "authenticated packet");
	} else if (via == CN_CTL_PATH_RELAY && relay >= 0) {
		p->relay_hint = relay;
	}
	if (s == p->keys.cur && s->initiator && !cn_keyring_pending(&p->keys) &&
	    cn_session_should_rekey_on_receive(s, now))
		eng_initiate(p, now);
	if (changed)
		eng_peer_changed(p, now);
	if (pt_len == 0)
		return; /* keepalive */
	if (cn_ctl_is_control(pt, pt_len))
		eng_handle_ctl(p, now, pt, pt_len, via, src);
	else {
		/* Not from an address still to be validated: that one stays to the challenge. */
		if (via != CN_CTL_PATH_DIRECT || !src ||
		    cn_addr_equal((const struct sockaddr *)&p->dremote.ss,
				  (const struct sockaddr *)&src->ss))
			eng_watch_received(p, now);
		deliver_ip(p, now, pt, pt_len);
	}
}

/* A cookie reply: the peer is under load; our next message to it carries mac2. */
static void rx_cookie_reply(struct cn_engine *e, uint64_t now, struct cn_peer *from_peer,
			    const uint8_t *msg, size_t len)
{
	uint32_t index;
	struct cn_peer *p;

	if (cn_cookie_reply_classify(msg, len, &index) != 0 ||
	    !(p = cn_u32map_get(&e->index, index)) || (from_peer && from_peer != p) ||
	    cn_cookie_consume_reply(&p->jar, msg, len, now) != 0) {
		e->m.drop_bad_packet++;
		return;
	}
	e->m.cookies_received++;
	eng_log(e, CN_LOG_INFO, true, "peer %s: under load, asks for a cookie; answering with it",
		p->name);
	/* The initiation in flight again, now with mac2: nothing waits for the retry. */
	eng_send_initiation(p, now);
}

void cn_engine_receive(struct cn_engine *e, uint64_t now, struct cn_peer *from_peer,
		       enum cn_ctl_path via, int relay, uint8_t *msg, size_t len,
		       const struct cn_addr *src)
{
	enum cn_msg_type type;
	uint32_t index;

	if (e->pl && len && msg[0] == CN_MSG_COOKIE_REPLY) {
		rx_cookie_reply(e, now, from_peer, msg, len);
		return;
	}
	if (!e->pl || cn_handshake_classify(msg, len, &type, &index) != 0) {
		e->m.drop_bad_packet++;
		return;
	}
	/*
	 * A handshake message over a direct socket comes from an address
	 * anyone can forge: before any X25519, its mac1 and, under load, its
	 * mac2 (else a cookie reply, smaller than the message) and the
	 * source's rate. Relayed ones come with the key the relay
	 * authenticated, and the relay limits each link.
	 */
	if (type != CN_MSG_DATA && via == CN_CTL_PATH_DIRECT && src) {
		uint8_t reply[CN_COOKIE_REPLY_LEN];

		switch (cn_hsguard_admit(e->guard, msg, len, (const struct sockaddr *)&src->ss,
					 false, now, reply)) {
		case CN_COOKIE_OK:
			break;
		case CN_COOKIE_SEND_REPLY:
			if (from_peer &&
			    eng_direct_send(from_peer, now, src, reply, sizeof(reply)) == 0)
				e->m.cookie_replies_sent++;
			return;
		case CN_COOKIE_DROP:
			e->m.handshakes_dropped++;
			return;
		}
	}
	switch (type) {
	case CN_MSG_INITIATION:
		rx_initiation(e, now, from_peer, via, relay, msg, len, src);
		return;
	case CN_MSG_RESPONSE:
		rx_response(e, now, from_peer, via, index, msg, len);
		return;
	case CN_MSG_DATA:
		rx_data(e, now, from_peer, via, relay, index, msg, len, src);
		return;
	}
}
