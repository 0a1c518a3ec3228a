/* SPDX-License-Identifier: MIT */
/*
 * The engine's sending side (engine.h): packets from the TUN to their
 * peer, staging while no session exists, encryption, the choice of path,
 * handshake initiations, and ICMP unreachable for addresses nobody has.
 */
#include "node/engine.h"

#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "crypto/session.h"
#include "node/engine_int.h"
#include "node/ippkt.h"

_Static_assert((int)CN_TAI_LEN == (int)CN_TAI64N_LEN, "a TAI floor label is a handshake timestamp");

int eng_relay_slot(const struct cn_peer *p)
{
	const struct cn_engine *e = p->e;

	return p->relay_hint >= 0 && e->relays[p->relay_hint].up ? p->relay_hint
								 : cn_engine_first_relay(e, -1);
}

int eng_relay_send(struct cn_peer *p, const uint8_t *msg, size_t len)
{
	struct cn_engine *e = p->e;
	int r = eng_relay_slot(p);

	if (r < 0)
		return -CN_ESTATE;
	return e->ops->send_relay(e->ctx, (unsigned int)r, p->key, msg, len);
}

int eng_direct_send(struct cn_peer *p, uint64_t now, const struct cn_addr *to, const uint8_t *msg,
		    size_t len)
{
	int ret;

	if (!p->dsock)
		return -CN_ESTATE;
	ret = p->d_shared ? p->e->ops->send_shared(p->e->ctx, to, msg, len)
			  : p->e->ops->send_direct(p->e->ctx, p, to, msg, len);
	if (ret == 0)
		p->d_last_tx_ms = now;
	return ret;
}

/* Sends a session message (handshake or data) to p over its best path. */
int eng_path_send(struct cn_peer *p, uint64_t now, const uint8_t *msg, size_t len)
{
	struct cn_engine *e = p->e;
	int ret = -CN_ESTATE;

	if (p->direct_up)
		ret = eng_direct_send(p, now, &p->dremote, msg, len);
	else if (p->ice_turn_up && p->ice)
		ret = e->ops->send_turn(e->ctx, p, msg, len);
	if (ret && (p->direct_up || p->ice_turn_up))
		e->m.path_fallbacks++; /* the best path refused it (full socket buffer) */
	if (ret)
		ret = eng_relay_send(p, msg, len);
	/* No relay either: a remembered direct endpoint is worth a try. */
	if (ret && !p->direct_up && p->dsock)
		ret = eng_direct_send(p, now, &p->dremote, msg, len);
	if (ret)
		e->m.drop_no_path++;
	else
		p->last_tx_ms = now;
	return ret;
}

/*
 * The timestamp for a new initiation (node/tai_floor.h): the wall clock,
 * but always a tick (2^24 ns, the whitening step) after the last one this
 * node sent, in this run or, through the persisted floor, an earlier one.
 * A clock that went back (a board without RTC) is then not refused as a
 * replay by peers (or relays: the shell takes its relay links' timestamps
 * from here too) that saw the old timestamps.
 */
void cn_engine_timestamp(struct cn_engine *e, uint8_t ts[CN_TAI64N_LEN])
{
	uint8_t clock[CN_TAI64N_LEN], floor[CN_TAI_LEN];
	uint64_t sec = 0;
	uint32_t nsec = 0;

	e->ops->wall_clock(e->ctx, &sec, &nsec);
	cn_handshake_tai64n(clock, sec, nsec);
	if (!cn_tai_floor_next(&e->floor, clock, ts, floor))
		return;
	/* Kept first, so every timestamp sent is at most what is on disk; if
	 * keeping fails (the shell logs it), send anyway: never a replay. */
	if (e->ops->persist_floor && e->ops->persist_floor(e->ctx, floor) == 0)
		cn_tai_floor_persisted(&e->floor, floor);
}

void cn_engine_set_tai_floor(struct cn_engine *e, const struct cn_tai_floor *f)
{
	e->floor = *f;
}

int64_t cn_engine_floor_seconds(const struct cn_engine *e)
{
	int64_t s = cn_tai_unix_seconds(e->floor.persisted);

	return s > CN_TAI_FLOOR_AHEAD_S ? s - CN_TAI_FLOOR_AHEAD_S : 0;
}

void eng_initiate(struct cn_peer *p, uint64_t now)
{
	struct cn_engine *e = p->e;
	uint8_t msg[CN_HANDSHAKE_INITIATION_LEN], ts[CN_TAI64N_LEN];
	uint32_t index;
	bool sent;

	if (eng_restricted(p, now, "no session started")) {
		eng_drop_staged(p);
		return;
	}
	if (!cn_keyring_pending(&p->keys))
		p->hs_first_ms = now;
	cn_engine_timestamp(e, ts);
	/*
	 * The index is reserved in the index table while the initiation is in
	 * flight, so the response finds this peer; the keyring releases it
	 * when the initiation is abandoned or replaced.
	 */
	cn_keyring_abandon(&p->keys);
	index = eng_fresh_index(e);
	if (cn_u32map_put(&e->index, index, p) != 0)
		return;
	if (cn_keyring_initiate(&p->keys, &e->local, p->hs_peer.x_pk, index, ts, msg) != 0) {
		cn_u32map_del(&e->index, index);
		return;
	}
	p->hs_sent_ms = p->hs_resent_ms = now;
	p->hs_resend_ms = CN_ENGINE_HANDSHAKE_RESEND_MIN_MS;
	memcpy(p->hs_msg, msg, sizeof(msg));
	sent = eng_send_initiation(p, now);
	eng_log(e, CN_LOG_DEBUG, false, "peer %s: handshake initiation %s", p->name,
		sent ? "sent" : "made (no path yet)");
	eng_peer_changed(p, now);
}

bool eng_send_initiation(struct cn_peer *p, uint64_t now)
{
	bool sent = false;
	uint8_t msg[CN_HANDSHAKE_INITIATION_MAC2_LEN];
	size_t len;

	if (!cn_keyring_pending(&p->keys) || p->e->restricted)
		return false;
	/* With mac2 when the peer gave us a cookie (it is under load). */
	memcpy(msg, p->hs_msg, sizeof(p->hs_msg));
	len = cn_cookie_jar_stamp(&p->jar, msg, sizeof(p->hs_msg), sizeof(msg), now);
	/* Over every path that may reach the peer; the copy that arrives second
	 * is refused as a replay, which is harmless. */
	if (p->dsock && eng_direct_send(p, now, &p->dremote, msg, len) == 0)
		sent = true;
	if (eng_relay_send(p, msg, len) == 0)
		sent = true;
	if (sent)
		p->last_tx_ms = now;
	return sent;
}

void eng_drop_staged(struct cn_peer *p)
{
	for (unsigned int i = 0; i < p->nstaged; i++)
		free(p->staged[i]);
	p->nstaged = 0;
	free(p->staged);
	p->staged = NULL;
}

/*
 * Keeps pt for when a session exists; the oldest goes when the queue is
 * full. The queue is allocated with its first packet: most peers of a
 * large list never wait for a session.
 */
static void stage(struct cn_peer *p, const uint8_t *pt, size_t len)
{
	struct cn_staged *s;

	if (!p->staged) {
		p->staged = calloc(CN_ENGINE_STAGED_MAX, sizeof(p->staged[0]));
		if (!p->staged)
			return;
	}
	if (p->nstaged == CN_ENGINE_STAGED_MAX) {
		p->e->m.drop_staged_full++;
		free(p->staged[0]);
		memmove(p->staged, p->staged + 1,
			(CN_ENGINE_STAGED_MAX - 1) * sizeof(p->staged[0]));
		p->nstaged--;
	}
	s = malloc(sizeof(*s) + len);
	if (!s)
		return;
	s->len = len;
	memcpy(s->data, pt, len);
	p->staged[p->nstaged++] = s;
}

void eng_flush_staged(struct cn_peer *p, uint64_t now)
{
	struct cn_staged **list = p->staged;
	unsigned int n = p->nstaged;

	/* Sending may stage again (no session after all): that starts a new queue. */
	p->staged = NULL;
	p->nstaged = 0;
	for (unsigned int i = 0; i < n; i++) {
		eng_send_pt(p, now, list[i]->data, list[i]->len);
		free(list[i]);
	}
	free(list);
}

/* Encrypts pt (IP packet, control message or empty keepalive) and sends it. */
void eng_send_pt(struct cn_peer *p, uint64_t now, const uint8_t *pt, size_t len)
{
	struct cn_engine *e = p->e;
	struct cn_session *s = cn_keyring_sending(&p->keys, now);
	size_t out_len = 0;

	if (!s || cn_session_encrypt(s, now, pt, len, e->out, sizeof(e->out), &out_len) != 0) {
		if (eng_restricted(p, now, "no session started"))
			return;
		if (len)
			stage(p, pt, len);
		if (!cn_keyring_pending(&p->keys))
			eng_initiate(p, now);
		return;
	}
	if (eng_path_send(p, now, e->out, out_len) == 0) {
		p->tx_bytes += len;
		if (len)
			eng_watch_sent(p, now);
	}
	if (!cn_keyring_pending(&p->keys) && s->initiator &&
	    cn_session_should_rekey_on_send(s, now))
		eng_initiate(p, now);
}

void eng_send_ctl(struct cn_peer *p, uint64_t now, const struct cn_ctl_msg *m)
{
	uint8_t buf[CN_CTL_MSG_MAX];
	size_t len = 0;

	if (cn_ctl_encode(m, buf, sizeof(buf), &len) == 0)
		eng_send_pt(p, now, buf, len);
}

void eng_send_ctl_to(struct cn_peer *p, uint64_t now, const struct cn_ctl_msg *m,
		     const struct cn_addr *to)
{
	struct cn_engine *e = p->e;
	struct cn_session *s = cn_keyring_sending(&p->keys, now);
	uint8_t buf[CN_CTL_MSG_MAX];
	size_t len = 0, out_len = 0;

	if (!s || cn_ctl_encode(m, buf, sizeof(buf), &len) != 0 ||
	    cn_session_encrypt(s, now, buf, len, e->out, sizeof(e->out), &out_len) != 0)
		return;
	eng_direct_send(p, now, to, e->out, out_len);
}

static void icmp_unreachable(struct cn_engine *e, uint64_t now, const uint8_t *pkt, size_t len,
			     const uint8_t *dst)
{
	uint8_t icmp[1280];
	size_t icmp_len = 0;

	if (now - e->icmp_window_ms >= 1000) {
		e->icmp_window_ms = now;
		e->icmp_count = 0;
	}
	if (e->icmp_count >= CN_ENGINE_ICMP_PER_SECOND)
		return;
	/*
	 * From the unreachable address itself: the kernel drops an ICMPv4 error
	 * whose source is one of its own addresses (a martian).
	 */
	if (cn_icmp_unreachable(pkt, len, dst, icmp, sizeof(icmp), &icmp_len) == 0 &&
	    e->ops->tun_write(e->ctx, icmp, icmp_len) == 0) {
		e->icmp_count++;
		e->m.icmp_sent++;
	}
}

struct cn_peer *eng_route(struct cn_engine *e, uint64_t now, uint8_t *pkt, size_t *len)
{
	struct cn_ip_info ip;
	const struct cn_pl_peer *pp;
	struct cn_peer *p;

	if (!e->pl || cn_ip_parse(pkt, *len, &ip) != 0)
		return NULL;
	pp = ip.version == 4 ? cn_peerlist_find_ip4(e->pl, ip.dst)
			     : cn_peerlist_find_ip6(e->pl, ip.dst);
	p = cn_engine_find_pl(e, pp);
	if (!p) {
		e->m.drop_no_peer++;
		if (pp != e->self || !e->self)
			icmp_unreachable(e, now, pkt, ip.total_len, ip.dst);
		return NULL;
	}
	eng_pmtu_clamp(p, pkt, ip.total_len, ip.version);
	*len = ip.total_len;
	return p;
}

void cn_engine_tun_packet(struct cn_engine *e, uint64_t now, uint8_t *pkt, size_t len)
{
	struct cn_peer *p = eng_route(e, now, pkt, &len);

	if (p)
		eng_send_pt(p, now, pkt, len);
}

void cn_engine_probe(struct cn_engine *e, struct cn_peer *p, uint64_t now, uint64_t id)
{
	struct cn_ctl_msg m = {.type = CN_CTL_PROBE, .id = id};

	(void)e;
	eng_send_ctl(p, now, &m);
}
