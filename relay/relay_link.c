/* SPDX-License-Identifier: MIT */
/*
 * Links (relay_int.h): their index slots, the handshake that opens them,
 * the data messages that authenticate them, confirmation, and close.
 *
 * Every session of a link has a local index (generation << SLOT_BITS) |
 * slot: the slot finds the link in O(1), the link's key ring (crypto/
 * keyring.h: current, previous, the answered next) finds the session. A
 * rekey over TCP answers into `next` under a fresh generation, so packets
 * still in flight under the old session keep decrypting with it.
 *
 * A UDP link stays at the address its handshake came from until another
 * address proves it receives (relay_path.c).
 *
 * Abuse limits here: the per-source token bucket runs before any X25519
 * (cn_handshake_consume_initiation does two), the cap on pending links
 * before any allocation; a TCP connection that fails authentication is cut
 * (nobody but the peer writes into its stream), bad UDP input is dropped
 * and counted (UDP sources can be spoofed).
 */
#include "relay/relay_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <sodium.h>

#include "common/clock.h"
#include "crypto/keys.h"
#include "crypto/session.h"

struct relay_peer *cn_relay_peer_of(struct cn_handshake_peer *hs)
{
	return (struct relay_peer *)hs; /* hs is the first member */
}

/* A local index for a new session of l: its slot, a generation it does not use. */
static uint32_t new_index(const struct relay_link *l)
{
	uint32_t gen, index;

	do {
		gen = randombytes_uniform(1u << (32 - CN_RELAY_INDEX_SLOT_BITS));
		index = (gen << CN_RELAY_INDEX_SLOT_BITS) | l->slot;
	} while (index == 0 || cn_keyring_owns(&l->keys, index));
	return index;
}

struct relay_link *cn_relay_link_new(struct cn_relay *r, enum cn_relay_link_kind kind,
				     const struct sockaddr *sa, socklen_t salen)
{
	struct relay_link *l;
	struct cn_addr addr;

	if (r->nfree == 0 || cn_addr_set(&addr, sa, salen) != 0)
		return NULL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->slot = r->free_slots[--r->nfree];
	l->id = new_index(l);
	r->slots[l->slot] = l;
	cn_keyring_init(&l->keys, NULL, NULL); /* the slot stays the link's: nothing to release */
	TAILQ_INIT(&l->waiters);
	l->r = r;
	l->kind = kind;
	l->state = CN_RELAY_LINK_NEW;
	l->addr = addr;
	cn_addr_format(sa, l->addr_text);
	l->created_ms = l->last_rx_ms = cn_clock_ms();
	TAILQ_INSERT_TAIL(&r->links, l, entry);
	r->nlinks++;
	r->npending++;
	return l;
}

struct relay_link *cn_relay_link_by_index(struct cn_relay *r, uint32_t index)
{
	uint32_t slot = index & CN_RELAY_SLOT_MASK;
	struct relay_link *l;

	if (slot >= r->nslots)
		return NULL;
	l = r->slots[slot];
	return l && cn_keyring_owns(&l->keys, index) ? l : NULL;
}

bool cn_relay_link_alive(struct cn_relay *r, const struct relay_link *l, uint32_t slot, uint32_t id)
{
	return slot < r->nslots && r->slots[slot] == l && l->id == id;
}

void cn_relay_link_close(struct relay_link *l, const char *why)
{
	struct cn_relay *r = l->r;
	bool was_up = l->state == CN_RELAY_LINK_UP;
	struct relay_peer *p = l->peer;

	if (why)
		cn_log_info("link %s%s%s: closed: %s", l->addr_text, p ? " " : "", p ? p->name : "",
			    why);
	if (p) {
		if (p->tcp == l)
			p->tcp = NULL;
		if (p->udp == l)
			p->udp = NULL;
		if (was_up && !p->admin && !p->tcp && !p->udp && !r->closing)
			cn_relay_presence_broadcast(r, p->key, false);
	}
	cn_relay_forward_release_waiters(l);
	if (l->watch)
		TAILQ_REMOVE(&r->watchers, l, watch_entry);
	if (l->waiting_on)
		TAILQ_REMOVE(&l->waiting_on->waiters, l, wait_entry);
	if (l->bev)
		bufferevent_free(l->bev);
	cn_relay_list_upload_drop(l);
	cn_relay_path_drop(l);
	r->slots[l->slot] = NULL;
	r->free_slots[r->nfree++] = l->slot;
	TAILQ_REMOVE(&r->links, l, entry);
	r->nlinks--;
	if (!was_up)
		r->npending--;
	cn_keyring_clear(&l->keys);
	free(l);
}

static void reap_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cn_relay *r = arg;
	struct relay_link *l, *tmp;

	(void)fd;
	(void)what;
	TAILQ_FOREACH_SAFE (l, &r->links, entry, tmp)
		if (l->doomed)
			cn_relay_link_close(
				l, "does not read what it asked for (output over the cap)");
}

int cn_relay_link_start(struct cn_relay *r, struct cn_errbuf *e)
{
	r->reap = event_new(r->base, -1, 0, reap_cb, r);
	if (!r->reap) {
		cn_errbuf_set(e, "out of memory");
		return -CN_ENOMEM;
	}
	return 0;
}

/*
 * l's output would pass the cap: a peer that asks for answers (PING,
 * WATCH, HAVE_LIST) and does not read them. Closing it here would free it
 * under its callers (a PING handler, a presence loop over watchers), so it
 * is only marked and stops being read; the reap event closes it right
 * after the current callback.
 */
static void doom(struct relay_link *l)
{
	struct cn_relay *r = l->r;

	if (l->doomed)
		return;
	l->doomed = true;
	r->m.links_closed_overflow++;
	bufferevent_disable(l->bev, EV_READ);
	if (r->reap)
		event_active(r->reap, EV_TIMEOUT, 0);
}

int cn_relay_link_write(struct relay_link *l, size_t len, bool control)
{
	struct cn_relay *r = l->r;
	size_t cap = r->cfg.limits.max_buffered, queued, frame = CN_TCP_FRAME_HDR + len;

	if (l->kind == CN_RELAY_LINK_UDP)
		return cn_relay_udp_write(l, len);
	if (l->doomed)
		return -CN_ETOOBIG;
	queued = evbuffer_get_length(bufferevent_get_output(l->bev));
	if (!control && queued + frame > cap - cap / 8) {
		r->m.drop_buffer_full++;
		return -CN_ETOOBIG;
	}
	if (queued + frame > cap) {
		doom(l);
		return -CN_ETOOBIG;
	}
	cn_tcp_frame_header(len, r->out);
	if (bufferevent_write(l->bev, r->out, frame) != 0)
		return -CN_EIO;
	if (queued + frame > r->m.tcp_queue_peak)
		r->m.tcp_queue_peak = queued + frame;
	return 0;
}

int cn_relay_link_seal(struct relay_link *l, const struct cn_link_msg *m, size_t *out_len)
{
	struct cn_relay *r = l->r;
	uint8_t *body = r->out + CN_TCP_FRAME_HDR;
	uint64_t now = cn_clock_ms();
	struct cn_session *s;
	size_t pt_len = 0, len = 0;
	int ret;

	*out_len = 0;
	if (l->state != CN_RELAY_LINK_UP)
		return -CN_ESTATE;
	s = cn_keyring_sending(&l->keys, now);
	/* Plaintext in place after the session header: no copy. */
	ret = s ? cn_link_encode(m, body + CN_SESSION_HEADER_LEN,
				 CN_TCP_FRAME_MAX - CN_SESSION_OVERHEAD, &pt_len)
		: -CN_ESTATE;
	if (ret == 0)
		ret = cn_session_encrypt(s, now, body + CN_SESSION_HEADER_LEN, pt_len, body,
					 CN_TCP_FRAME_MAX, &len);
	if (ret) {
		r->m.drop_no_session++;
		return ret;
	}
	*out_len = len;
	return 0;
}

int cn_relay_link_send(struct relay_link *l, const struct cn_link_msg *m, bool control)
{
	size_t len = 0;
	int ret = cn_relay_link_seal(l, m, &len);

	return ret ? ret : cn_relay_link_write(l, len, control);
}

/* The link's first authenticated packet: it replaces the peer's older link. */
static void link_confirm(struct relay_link *l)
{
	struct cn_relay *r = l->r;
	struct relay_peer *p = l->peer;
	struct relay_link **slot = l->kind == CN_RELAY_LINK_TCP ? &p->tcp : &p->udp;
	bool was_here = p->tcp || p->udp;
	char fpr[CN_KEY_FPR_LEN + 1];

	l->state = CN_RELAY_LINK_UP;
	r->npending--;
	if (*slot && *slot != l) {
		r->m.links_closed_replaced++;
		cn_relay_link_close(*slot, "replaced by a newer link");
	}
	*slot = l;
	cn_key_fingerprint(p->key, fpr);
	cn_log_info("link %s: %s %s (%s...) up over %s", l->addr_text, p->admin ? "admin" : "peer",
		    p->name, fpr, l->kind == CN_RELAY_LINK_TCP ? "TCP" : "UDP");
	if (!was_here && !p->admin)
		cn_relay_presence_broadcast(r, p->key, true);
}

static void count_handshake_failure(struct cn_relay *r, int ret)
{
	switch (ret) {
	case -CN_EUNKNOWN:
		r->m.handshake_fail_unknown++;
		break;
	case -CN_EREPLAY:
		r->m.handshake_fail_replay++;
		break;
	case -CN_EDECRYPT:
	case -CN_EKEY:
		r->m.handshake_fail_auth++;
		break;
	default:
		r->m.handshake_fail_format++;
		break;
	}
}

void cn_relay_link_initiation(struct cn_relay *r, struct relay_link *l, struct relay_udp *u,
			      const struct sockaddr *sa, socklen_t salen, const uint8_t *msg,
			      size_t len)
{
	struct cn_handshake hs;
	struct cn_handshake_peer *hp = NULL;
	uint8_t *resp = r->out + CN_TCP_FRAME_HDR, reply[CN_COOKIE_REPLY_LEN];
	bool rekey = l && l->state != CN_RELAY_LINK_NEW;
	uint64_t now = cn_clock_ms();
	int ret;

	/*
	 * The cheap checks first: nothing here has cost an X25519 yet. mac1;
	 * under load (or with pending handshakes three quarters full) a valid
	 * mac2 for sa, else a 64-byte cookie reply, smaller than the
	 * initiation; then sa's token bucket.
	 */
	switch (cn_hsguard_admit(&r->guard, msg, len, sa,
				 r->npending >= r->cfg.limits.max_pending_handshakes / 4 * 3, now,
				 reply)) {
	case CN_COOKIE_OK:
		break;
	case CN_COOKIE_SEND_REPLY:
		r->m.handshake_cookie_replies++;
		if (l) {
			memcpy(r->out + CN_TCP_FRAME_HDR, reply, sizeof(reply));
			cn_relay_link_write(l, sizeof(reply), true);
		} else if (u) {
			sendto(u->fd, reply, sizeof(reply), MSG_DONTWAIT, sa, salen);
		}
		return;
	case CN_COOKIE_DROP:
		r->m.handshake_ratelimited++;
		return;
	}
	if (!l && r->npending >= r->cfg.limits.max_pending_handshakes) {
		r->m.handshake_pending_full++;
		return;
	}
	ret = cn_handshake_consume_initiation(&hs, &r->local, msg, len, cn_relay_lookup_xkey, r,
					      &hp);
	if (ret) {
		char a[CN_ADDR_TEXT_MAX];

		count_handshake_failure(r, ret);
		cn_addr_format(sa, a);
		cn_log_ratelimited(&r->log_rl, now, CN_LOG_WARN, "handshake from %s refused: %s", a,
				   ret == -CN_EUNKNOWN ? "key not in the peer list"
						       : cn_strerror(ret));
		if (l && l->kind == CN_RELAY_LINK_TCP && l->state == CN_RELAY_LINK_NEW) {
			r->m.links_closed_garbage++;
			cn_relay_link_close(l, NULL);
		}
		return;
	}
	if (rekey && cn_relay_peer_of(hp) != l->peer) {
		/* Another identity on an authenticated TCP connection: refuse. */
		cn_handshake_wipe(&hs);
		r->m.handshake_fail_auth++;
		cn_relay_link_close(l, "a different key tried to take over the connection");
		return;
	}
	if (!l) {
		l = cn_relay_link_new(r, CN_RELAY_LINK_UDP, sa, salen);
		if (!l) {
			cn_handshake_wipe(&hs);
			r->m.handshake_pending_full++;
			return;
		}
		l->udp = u;
	}
	/* The first session takes the link's id as its index; a rekey a fresh one. */
	ret = cn_keyring_respond(&l->keys, &hs, rekey ? new_index(l) : l->id, now, resp);
	if (ret) {
		r->m.handshake_fail_format++;
		if (!rekey)
			cn_relay_link_close(l, NULL);
		return;
	}
	if (!rekey)
		l->state = CN_RELAY_LINK_RESPONDED;
	l->peer = cn_relay_peer_of(hp);
	r->m.handshakes_ok++;
	cn_relay_link_write(l, CN_HANDSHAKE_RESPONSE_LEN, true);
}

void cn_relay_link_data(struct relay_link *l, uint8_t *msg, size_t len, const struct sockaddr *sa,
			socklen_t salen)
{
	struct cn_relay *r = l->r;
	uint32_t index = len >= 8 ? (uint32_t)msg[4] | (uint32_t)msg[5] << 8 |
					    (uint32_t)msg[6] << 16 | (uint32_t)msg[7] << 24
				  : 0;
	struct cn_session *s = cn_keyring_find(&l->keys, index);
	size_t pt_len = 0;
	uint64_t now = cn_clock_ms();
	int ret;

	ret = s ? cn_session_decrypt(s, now, msg, len, msg + CN_SESSION_HEADER_LEN,
				     len - CN_SESSION_HEADER_LEN, &pt_len)
		: -CN_EDECRYPT;
	if (ret) {
		r->m.drop_bad_packet++;
		if (l->kind == CN_RELAY_LINK_TCP && ret != -CN_EREPLAY) {
			/* Nobody but the peer writes into its TCP stream. */
			r->m.links_closed_garbage++;
			cn_relay_link_close(l, "packet failed authentication");
		}
		return;
	}
	/* The first packet under an answered session confirms it. */
	cn_keyring_received(&l->keys, s);
	if (l->state == CN_RELAY_LINK_RESPONDED)
		link_confirm(l);
	l->last_rx_ms = now;
	/*
	 * From another address (NAT rebinding, roaming, or a copy of an
	 * authentic datagram sent with a forged source): the link does not
	 * follow until that address answers a challenge (relay_path.c).
	 */
	if (sa && !cn_addr_equal((const struct sockaddr *)&l->addr.ss, sa))
		cn_relay_path_seen(l, sa, salen, len, now);
	cn_relay_forward_message(l, msg + CN_SESSION_HEADER_LEN, pt_len, sa, salen);
}
