/* SPDX-License-Identifier: MIT */
/*
 * Hard-NAT traversal (engine.h, nat/birthday.h): a direct path between a
 * node behind an endpoint-dependent ("hard", symmetric) NAT and one behind
 * an endpoint-independent ("easy") one, which ICE cannot find: the hard
 * side's NAT gives every destination a new port, so the easy side never
 * learns the port to punch to.
 *
 * Who is what: the shell classifies its node-wide UDP socket with STUN
 * (natsock.c) and reports it (cn_engine_nat_kind). An easy node announces
 * that socket's reflexive address to every peer with a session (CANDIDATE,
 * kind REFLEXIVE) when the session comes up. A hard node that gets such an
 * announcement and has no direct path to that peer starts an attempt at
 * once, alongside ICE (ICE takes about 10 s to give up, and between a hard
 * and an easy NAT its answer is known to be no; starting after it would
 * double the time to a direct path):
 *
 *   hard  opens up to 256 sockets, one packet from each to the easy
 *         address (its NAT makes a mapping per socket admitting packets
 *         from there), then BDAY_HARD over the session: its external IP,
 *         the port range, rate and duration;
 *   easy  sends BDAY_PROBEs (session-encrypted) from its node-wide socket
 *         to random ports of that IP, paced and bounded (birthday.h);
 *   hard  answers the first probe that arrives on one of its sockets with
 *         BDAY_ACK from that socket, makes it the peer's direct socket
 *         (closing the rest) and takes the path;
 *   easy  takes the path on the ACK: its node-wide socket toward the port
 *         that answered (d_shared).
 *
 * Either path is then an ordinary direct path: keepalives, the 6 s dead
 * rule, roaming by challenge. Bounds (birthday.h; the node sets the rate
 * to 500): 256 sockets, 500 packets per second, 2048 probes, 15 s per attempt; a failed attempt is
 * tried again after 30 s, doubling to 10 minutes; a direct path from ICE
 * ends an attempt. Both sides' cfg.bday.enabled is the off switch.
 *
 * Probes and acks authenticate as transport messages of the session, so
 * a stranger's packet on these sockets is dropped after one failed
 * decryption (counted, no answer); packets there that are not BDAY_* are
 * ignored until the path is taken.
 */
#include "node/engine.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "crypto/rand.h"
#include "crypto/session.h"
#include "node/engine_int.h"

static bool bday_on(const struct cn_engine *e)
{
	return e->cfg.bday.enabled && e->ops->send_shared && e->ops->bday_open;
}

static bool addr_set(const struct cn_addr *a)
{
	return a->len != 0;
}

static void addr_from_msg(struct cn_addr *a, const uint8_t *ip, uint8_t ip_len, uint16_t port)
{
	memset(a, 0, sizeof(*a));
	if (ip_len == 4) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&a->ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, ip, 4);
		a->len = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&a->ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		memcpy(&s6->sin6_addr, ip, 16);
		a->len = sizeof(*s6);
	}
}

/* The address bytes of a into m (addr, addr_len), and its port. */
static uint16_t addr_to_msg(const struct cn_addr *a, struct cn_ctl_msg *m)
{
	if (a->ss.ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)&a->ss;

		memcpy(m->addr, &s4->sin_addr, 4);
		m->addr_len = 4;
		return ntohs(s4->sin_port);
	}
	memcpy(m->addr, &((const struct sockaddr_in6 *)&a->ss)->sin6_addr, 16);
	m->addr_len = 16;
	return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
}

static void set_port(struct cn_addr *a, uint16_t port)
{
	if (a->ss.ss_family == AF_INET)
		((struct sockaddr_in *)&a->ss)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)&a->ss)->sin6_port = htons(port);
}

/* Encrypts a control message (NULL: a keepalive) into e->out. */
static int seal(struct cn_peer *p, uint64_t now, const struct cn_ctl_msg *m, size_t *out_len)
{
	struct cn_session *s = cn_keyring_sending(&p->keys, now);
	uint8_t buf[CN_CTL_MSG_MAX];
	size_t len = 0;

	if (!s || (m && cn_ctl_encode(m, buf, sizeof(buf), &len) != 0))
		return -CN_ESTATE;
	return cn_session_encrypt(s, now, buf, len, p->e->out, sizeof(p->e->out), out_len);
}

/*
 * p's traversal state, allocated the first time something is to be kept:
 * most peers of a large list never need it (a board holds every peer).
 */
static struct cn_peer_nat *nat_get(struct cn_peer *p)
{
	if (!p->nat)
		p->nat = calloc(1, sizeof(*p->nat));
	return p->nat;
}

void eng_bday_free(struct cn_peer *p)
{
	eng_bday_stop(p);
	free(p->nat);
	p->nat = NULL;
}

void eng_bday_stop(struct cn_peer *p)
{
	if (!p->nat || p->nat->bday.state == CN_BDAY_IDLE)
		return;
	if (p->nat->bday.role == CN_BDAY_HARD && p->e->ops->bday_close)
		p->e->ops->bday_close(p->e->ctx, p);
	cn_bday_stop(&p->nat->bday);
	p->nat->bday = (struct cn_bday){0};
	p->nat->bday_next_ms = 0;
}

static bool running(const struct cn_peer *p)
{
	return p->nat &&
	       (p->nat->bday.state == CN_BDAY_OPENING || p->nat->bday.state == CN_BDAY_WAITING ||
		p->nat->bday.state == CN_BDAY_PROBING);
}

/* The hard side starts if it can: easy peer known, no direct path, not too soon. */
static void maybe_start_hard(struct cn_peer *p, uint64_t now)
{
	struct cn_engine *e = p->e;
	uint64_t token;

	if (!bday_on(e) || e->nat_kind != CN_NAT_HARD || !addr_set(&e->nat_refl) || !p->nat ||
	    !addr_set(&p->nat->peer_refl) || p->direct_up || running(p) ||
	    now < p->nat->bday_retry_ms || !cn_peer_has_session(p, now))
		return;
	eng_bday_stop(p);
	do {
		token = cn_rand_u64();
	} while (token == 0);
	if (cn_bday_start_hard(&p->nat->bday, &e->cfg.bday, token, now) != 0)
		return;
	p->nat->bday_next_ms = now;
	eng_log(e, CN_LOG_INFO, false,
		"peer %s: its NAT is easy and ours hard: birthday attempt (%u sockets)", p->name,
		p->nat->bday.sockets);
	eng_peer_changed(p, now);
}

/* Tells p what the gateway maps to our node-wide socket. */
static void announce_mapped(struct cn_peer *p, uint64_t now)
{
	struct cn_engine *e = p->e;
	struct cn_ctl_msg m = {.type = CN_CTL_CANDIDATE, .cand = e->mapped_proto};

	if (!addr_set(&e->mapped) || p->direct_up)
		return;
	m.port = addr_to_msg(&e->mapped, &m);
	eng_send_ctl(p, now, &m);
}

/* A PROBE from our node-wide socket to `to`: the peer's answer from there proves the path. */
static void nat_challenge(struct cn_peer *p, uint64_t now, const struct cn_addr *to)
{
	struct cn_engine *e = p->e;
	struct cn_ctl_msg m = {.type = CN_CTL_PROBE};
	size_t len = 0;

	/* At most one a second per peer, answered or not: two nodes that keep
	 * answering each other's checks never loop. */
	if (!e->ops->send_shared || p->direct_up || !nat_get(p) ||
	    (p->nat->nat_challenge_ms &&
	     now - p->nat->nat_challenge_ms < CN_ENGINE_CHALLENGE_INTERVAL_MS))
		return;
	do {
		p->nat->nat_challenge_id = cn_rand_u64();
	} while (p->nat->nat_challenge_id == 0);
	m.id = p->nat->nat_challenge_id;
	p->nat->nat_challenge_ms = now;
	p->nat->nat_challenge_addr = *to;
	p->e->m.path_challenges++;
	if (seal(p, now, &m, &len) == 0)
		e->ops->send_shared(e->ctx, to, e->out, len);
	eng_peer_changed(p, now);
}

void cn_engine_mapped(struct cn_engine *e, uint64_t now, const struct cn_addr *external,
		      enum cn_ctl_cand proto)
{
	if (external) {
		e->mapped = *external;
		e->mapped_proto = proto;
	} else {
		memset(&e->mapped, 0, sizeof(e->mapped));
	}
	for (size_t i = 0; i < e->npeers; i++)
		if (cn_peer_has_session(e->peers[i], now))
			announce_mapped(e->peers[i], now);
}

void eng_bday_session_up(struct cn_peer *p, uint64_t now)
{
	struct cn_engine *e = p->e;
	struct cn_ctl_msg m = {.type = CN_CTL_CANDIDATE, .cand = CN_CTL_CAND_REFLEXIVE};

	announce_mapped(p, now);
	if (!bday_on(e) || p->direct_up)
		return;
	if (e->nat_kind == CN_NAT_EASY && addr_set(&e->nat_refl)) {
		m.port = addr_to_msg(&e->nat_refl, &m);
		eng_send_ctl(p, now, &m);
	}
	maybe_start_hard(p, now);
}

void cn_engine_nat_kind(struct cn_engine *e, uint64_t now, enum cn_nat_kind kind,
			const struct cn_addr *reflexive)
{
	bool changed = kind != e->nat_kind ||
		       (reflexive && !cn_addr_equal((const struct sockaddr *)&reflexive->ss,
						    (const struct sockaddr *)&e->nat_refl.ss));

	e->nat_kind = kind;
	if (reflexive)
		e->nat_refl = *reflexive;
	else
		memset(&e->nat_refl, 0, sizeof(e->nat_refl));
	if (!changed)
		return;
	for (size_t i = 0; i < e->npeers; i++)
		if (cn_peer_has_session(e->peers[i], now))
			eng_bday_session_up(e->peers[i], now);
}

/* The path is found: hard side on socket `index` toward src; easy side via the shared socket. */
static void take_path(struct cn_peer *p, uint64_t now, const struct cn_addr *to, bool shared,
		      const char *type, const char *why)
{
	p->dsock = true;
	p->d_shared = shared;
	p->dremote = *to;
	p->dlocal_port = 0;
	p->direct_up = false;
	if (p->nat)
		p->nat->bday_backoff_ms = 0;
	snprintf(p->d_type, sizeof(p->d_type), "%s", type);
	eng_direct_up(p, now, why);
	/* ICE is no longer needed; its socket (if any) is replaced. */
	eng_ice_stop(p);
}

static void give_up(struct cn_peer *p, uint64_t now)
{
	eng_log(p->e, CN_LOG_INFO, false, "peer %s: birthday attempt found no path (%u probes)",
		p->name, p->nat->bday.sent);
	eng_bday_stop(p);
	p->nat->bday_backoff_ms =
		p->nat->bday_backoff_ms ? p->nat->bday_backoff_ms * 2 : CN_ENGINE_BDAY_RETRY_MIN_MS;
	if (p->nat->bday_backoff_ms > CN_ENGINE_BDAY_RETRY_MAX_MS)
		p->nat->bday_backoff_ms = CN_ENGINE_BDAY_RETRY_MAX_MS;
	p->nat->bday_retry_ms = now + eng_jitter(p->nat->bday_backoff_ms);
}

void eng_bday_on_ctl(struct cn_peer *p, uint64_t now, const struct cn_ctl_msg *m)
{
	struct cn_engine *e = p->e;

	if ((m->type == CN_CTL_CANDIDATE || m->type == CN_CTL_BDAY_HARD) && !nat_get(p))
		return; /* out of memory: the relay path stays */

	if (m->type == CN_CTL_CANDIDATE && m->cand != CN_CTL_CAND_REFLEXIVE) {
		/* A port mapping of the peer's gateway: checked from our node-wide socket. */
		addr_from_msg(&p->nat->peer_mapped, m->addr, m->addr_len, m->port);
		p->nat->nat_challenges = 0;
		if (!p->direct_up && e->ops->send_shared) {
			p->nat->nat_challenges++;
			nat_challenge(p, now, &p->nat->peer_mapped);
		}
		return;
	}
	if (!bday_on(e))
		return;
	if (m->type == CN_CTL_CANDIDATE && m->cand == CN_CTL_CAND_REFLEXIVE) {
		addr_from_msg(&p->nat->peer_refl, m->addr, m->addr_len, m->port);
		maybe_start_hard(p, now);
	} else if (m->type == CN_CTL_BDAY_HARD) {
		struct cn_bday_announce ann = {.token = m->token,
					       .sockets = m->sockets,
					       .port_lo = m->port_lo,
					       .port_hi = m->port_hi,
					       .rate = m->rate,
					       .duration_ms = m->duration_ms};
		uint64_t seed = cn_rand_u64();

		/* A repeat of the attempt under way; or we are not the easy side. */
		if ((p->nat->bday.state == CN_BDAY_PROBING && p->nat->bday.token == m->token) ||
		    p->direct_up || (e->nat_kind != CN_NAT_EASY && e->nat_kind != CN_NAT_NONE))
			return;
		eng_bday_stop(p);
		if (cn_bday_start_easy(&p->nat->bday, &e->cfg.bday, &ann, seed, now) != 0)
			return;
		addr_from_msg(&p->nat->bday_hard_ip, m->addr, m->addr_len, 0);
		p->nat->bday_next_ms = now;
		eng_log(e, CN_LOG_INFO, false,
			"peer %s: its NAT is hard: probing %u ports at %u/s (birthday)", p->name,
			p->nat->bday.n, p->nat->bday.rate);
		eng_peer_changed(p, now);
	}
}

uint64_t eng_bday_deadline(const struct cn_peer *p)
{
	uint64_t t = UINT64_MAX;

	if (!p->nat)
		return t;
	if (addr_set(&p->nat->peer_mapped) && !p->direct_up &&
	    p->nat->nat_challenges < CN_ENGINE_MAPPED_CHECKS)
		t = p->nat->nat_challenge_ms + CN_ENGINE_MAPPED_CHECK_MS;

	if (p->nat->bday_next_ms)
		t = p->nat->bday_next_ms;
	if (p->nat->bday_retry_ms && !running(p) && !p->direct_up && addr_set(&p->nat->peer_refl) &&
	    p->e->nat_kind == CN_NAT_HARD && p->nat->bday_retry_ms < t)
		t = p->nat->bday_retry_ms;
	return t;
}

void eng_bday_tick(struct cn_peer *p, uint64_t now)
{
	struct cn_engine *e = p->e;

	if (!p->nat)
		return;
	if (addr_set(&p->nat->peer_mapped) && !p->direct_up &&
	    p->nat->nat_challenges < CN_ENGINE_MAPPED_CHECKS &&
	    now >= p->nat->nat_challenge_ms + CN_ENGINE_MAPPED_CHECK_MS) {
		p->nat->nat_challenges++;
		nat_challenge(p, now, &p->nat->peer_mapped);
	}
	if (p->nat->bday_retry_ms && now >= p->nat->bday_retry_ms && !running(p))
		maybe_start_hard(p, now);
	if (!p->nat->bday_next_ms || now < p->nat->bday_next_ms)
		return;
	p->nat->bday_next_ms = 0;
	/* The machine paces itself: each call yields at most one packet before NONE. */
	for (int guard = 0; guard < 8; guard++) {
		struct cn_bday_step st = cn_bday_next(&p->nat->bday, now);
		struct cn_addr to;
		size_t len = 0;

		switch (st.act) {
		case CN_BDAY_ACT_NONE:
			p->nat->bday_next_ms = st.deadline_ms;
			return;
		case CN_BDAY_ACT_OPEN:
			if (seal(p, now, NULL, &len) == 0)
				e->ops->bday_open(e->ctx, p, st.index, &p->nat->peer_refl, e->out,
						  len);
			break;
		case CN_BDAY_ACT_ANNOUNCE: {
			struct cn_bday_announce a;
			struct cn_ctl_msg m = {.type = CN_CTL_BDAY_HARD};

			cn_bday_announce(&p->nat->bday, &a);
			m.token = a.token;
			m.sockets = a.sockets;
			m.port_lo = a.port_lo;
			m.port_hi = a.port_hi;
			m.rate = a.rate;
			m.duration_ms = a.duration_ms;
			addr_to_msg(&e->nat_refl, &m);
			eng_send_ctl(p, now, &m);
			break;
		}
		case CN_BDAY_ACT_PROBE: {
			struct cn_ctl_msg m = {.type = CN_CTL_BDAY_PROBE,
					       .token = p->nat->bday.token,
					       .seq = st.seq,
					       .port = st.port};

			to = p->nat->bday_hard_ip;
			set_port(&to, st.port);
			if (seal(p, now, &m, &len) == 0)
				e->ops->send_shared(e->ctx, &to, e->out, len);
			break;
		}
		case CN_BDAY_ACT_DONE:
			return; /* the path was taken where the answer arrived */
		case CN_BDAY_ACT_GIVE_UP:
			give_up(p, now);
			return;
		}
	}
	p->nat->bday_next_ms = now + 1;
}

/*
 * Decrypts a transport message that arrived on a socket no path names yet;
 * the plaintext is left in place after the header. NULL: not ours.
 */
static struct cn_peer *open_msg(struct cn_engine *e, uint64_t now, uint8_t *msg, size_t len,
				size_t *pt_len)
{
	enum cn_msg_type type;
	uint32_t index;
	struct cn_peer *p;
	struct cn_session *s;

	if (!e->pl || cn_handshake_classify(msg, len, &type, &index) != 0 || type != CN_MSG_DATA) {
		e->m.drop_bad_packet++;
		return NULL;
	}
	p = cn_u32map_get(&e->index, index);
	s = p ? cn_keyring_find(&p->keys, index) : NULL;
	if (!s) {
		e->m.drop_no_session++;
		return NULL;
	}
	if (cn_session_decrypt(s, now, msg, len, msg + CN_SESSION_HEADER_LEN,
			       len - CN_SESSION_HEADER_LEN, pt_len) != 0) {
		e->m.drop_bad_packet++;
		return NULL;
	}
	return p;
}

void cn_engine_receive_nat(struct cn_engine *e, uint64_t now, struct cn_peer *p, int index,
			   uint8_t *msg, size_t len, const struct cn_addr *src)
{
	enum cn_msg_type type;
	uint32_t idx;
	struct cn_peer *owner;
	struct cn_ctl_msg m;
	size_t pt_len = 0;
	const uint8_t *pt = msg + CN_SESSION_HEADER_LEN;

	/* On the shared socket, the easy side's birthday path: an ordinary direct path. */
	if (index < 0 && e->pl && cn_handshake_classify(msg, len, &type, &idx) == 0 &&
	    (owner = cn_u32map_get(&e->index, idx)) && owner->d_shared &&
	    cn_addr_equal((const struct sockaddr *)&owner->dremote.ss,
			  (const struct sockaddr *)&src->ss)) {
		cn_engine_receive(e, now, owner, CN_CTL_PATH_DIRECT, -1, msg, len, src);
		return;
	}
	owner = open_msg(e, now, msg, len, &pt_len);
	if (!owner || (p && owner != p) || !cn_ctl_is_control(pt, pt_len) ||
	    cn_ctl_decode(pt, pt_len, &m) != 0)
		return;
	owner->last_rx_ms = now;
	if (index < 0 && m.type == CN_CTL_PROBE) {
		/* Back from the node-wide socket, the way it came; and check the way back. */
		struct cn_ctl_msg reply = {
			.type = CN_CTL_PROBE_REPLY, .id = m.id, .path = CN_CTL_PATH_DIRECT};
		size_t out_len = 0;

		if (seal(owner, now, &reply, &out_len) == 0)
			e->ops->send_shared(e->ctx, src, e->out, out_len);
		nat_challenge(owner, now, src);
	} else if (index < 0 && m.type == CN_CTL_PROBE_REPLY && owner->nat &&
		   owner->nat->nat_challenge_id && m.id == owner->nat->nat_challenge_id &&
		   cn_addr_equal((const struct sockaddr *)&src->ss,
				 (const struct sockaddr *)&owner->nat->nat_challenge_addr.ss)) {
		owner->nat->nat_challenge_id = 0;
		if (!owner->direct_up)
			take_path(owner, now, src, true, "mapped",
				  "node-wide socket, address validated");
	} else if (index >= 0 && m.type == CN_CTL_BDAY_PROBE && owner->nat &&
		   owner->nat->bday.role == CN_BDAY_HARD &&
		   cn_bday_on_probe(&owner->nat->bday, (uint16_t)index, m.token, m.seq, now) == 0) {
		struct cn_ctl_msg ack = {
			.type = CN_CTL_BDAY_ACK, .token = m.token, .seq = m.seq, .port = m.port};
		size_t out_len = 0;

		if (seal(owner, now, &ack, &out_len) == 0)
			e->ops->bday_send(e->ctx, owner, (uint16_t)index, src, e->out, out_len);
		e->ops->bday_adopt(e->ctx, owner, (uint16_t)index);
		owner->nat->bday = (struct cn_bday){0}; /* its sockets are the shell's now */
		owner->nat->bday_next_ms = 0;
		take_path(owner, now, src, false, "birthday", "birthday, hard side");
	} else if (index < 0 && m.type == CN_CTL_BDAY_ACK && owner->nat &&
		   owner->nat->bday.role == CN_BDAY_EASY &&
		   cn_bday_on_ack(&owner->nat->bday, m.token, m.seq, m.port) == 0) {
		/* The authenticated answer came from src: that is the path. */
		owner->nat->bday = (struct cn_bday){0};
		owner->nat->bday_next_ms = 0;
		take_path(owner, now, src, true, "birthday", "birthday, easy side");
	}
}
