/* SPDX-License-Identifier: MIT */
/*
 * What a link says (relay_int.h): the link messages a node sends, once its
 * data message authenticated. SEND is forwarded as a RECV carrying the
 * sender's authenticated key, on the receiver's freshest link, with
 * backpressure between TCP links; WATCH subscribes to PRESENCE notices;
 * PING is answered; HAVE_LIST and LIST_CHUNK go to relay_list.c.
 *
 * Backpressure: a TCP link whose packets go to a TCP link with more than
 * half of max_buffered queued stops being read (it waits on that link)
 * until the queue drains below a quarter (the write watermark).
 */
#include "relay/relay_int.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <sodium.h>

#include "common/clock.h"
#include "crypto/peerlist.h"

void cn_relay_presence_broadcast(struct cn_relay *r, const uint8_t key[CN_KEY_LEN], bool here)
{
	struct cn_link_msg m = {.type = CN_LINK_PRESENCE, .key = key, .flag = here ? 1 : 0};
	struct relay_link *l;

	TAILQ_FOREACH (l, &r->watchers, watch_entry)
		if (l->state == CN_RELAY_LINK_UP && l->peer &&
		    sodium_memcmp(l->peer->key, key, CN_KEY_LEN) != 0)
			cn_relay_link_send(l, &m, true);
}

void cn_relay_forward_release_waiters(struct relay_link *l)
{
	struct relay_link *w;

	while ((w = TAILQ_FIRST(&l->waiters)) != NULL) {
		TAILQ_REMOVE(&l->waiters, w, wait_entry);
		w->waiting_on = NULL;
		bufferevent_enable(w->bev, EV_READ);
	}
}

/* Forwards a SEND from l to the peer it names. */
static void handle_send(struct relay_link *l, const struct cn_link_msg *m)
{
	struct cn_relay *r = l->r;
	const struct cn_pl_peer *p = cn_peerlist_find_key(r->pl, m->key);
	struct relay_peer *dst = p ? &r->peers[p - r->pl->peers] : NULL;
	struct relay_link *out = NULL;
	struct cn_link_msg recv = {.type = CN_LINK_RECV,
				   .key = l->peer->key,
				   .data = m->data,
				   .data_len = m->data_len};

	/*
	 * A peer may hold a UDP and a TCP link; use the one it was last heard
	 * on (a node that lost UDP keeps its TCP link alive, and a UDP link
	 * whose node vanished goes quiet), UDP when both are equally fresh.
	 */
	if (dst) {
		out = dst->udp ? dst->udp : dst->tcp;
		if (dst->udp && dst->tcp && dst->tcp->last_rx_ms > dst->udp->last_rx_ms)
			out = dst->tcp;
	}
	if (!out) {
		struct cn_link_msg nh = {.type = CN_LINK_NOT_HERE, .key = m->key};

		r->m.packets_not_here++;
		cn_relay_link_send(l, &nh, false);
		return;
	}
	if (out->kind == CN_RELAY_LINK_TCP && l->kind == CN_RELAY_LINK_TCP && !l->waiting_on &&
	    evbuffer_get_length(bufferevent_get_output(out->bev)) >
		    r->cfg.limits.max_buffered / 2) {
		/* out is falling behind: stop reading from l until it catches up. */
		bufferevent_disable(l->bev, EV_READ);
		l->waiting_on = out;
		TAILQ_INSERT_TAIL(&out->waiters, l, wait_entry);
		r->m.backpressure_pauses++;
	}
	if (cn_relay_link_send(out, &recv, false) != 0) {
		/* That link could not take it at once: try the other one. */
		struct relay_link *other = out == dst->udp ? dst->tcp : dst->udp;

		if (!other || cn_relay_link_send(other, &recv, false) != 0)
			return;
	}
	r->m.packets_forwarded++;
	r->m.bytes_forwarded += m->data_len;
}

void cn_relay_forward_snapshot_pump(struct relay_link *l)
{
	struct cn_relay *r = l->r;
	unsigned int burst = 0;

	while (l->snap_sending && l->snap_next < r->npeers) {
		const struct relay_peer *p = &r->peers[l->snap_next];
		struct cn_link_msg pm = {.type = CN_LINK_PRESENCE, .key = p->key, .flag = 1};

		if (l->kind == CN_RELAY_LINK_TCP
			    ? evbuffer_get_length(bufferevent_get_output(l->bev)) >
				      r->cfg.limits.max_buffered / 4
			    : burst >= CN_RELAY_SNAP_UDP_BURST)
			return;
		if (p != l->peer && (p->udp || p->tcp)) {
			if (cn_relay_link_send(l, &pm, true))
				return; /* retried by the next pump */
			burst++;
		}
		l->snap_next++;
	}
	l->snap_sending = false;
}

/*
 * WATCH on: a snapshot of every peer here now, then every change. The
 * snapshot is paced (one PRESENCE per peer here: ~70 bytes each, more than
 * a TCP link's cap for a big network), changes are broadcast as they
 * happen; a peer table rebuilt meanwhile (a new list) may repeat or skip
 * a notice of the snapshot, never of a change.
 */
static void handle_watch(struct relay_link *l, const struct cn_link_msg *m)
{
	struct cn_relay *r = l->r;

	if (m->flag && !l->watch && !l->peer->admin) {
		TAILQ_INSERT_TAIL(&r->watchers, l, watch_entry);
		l->snap_sending = true;
		l->snap_next = 0;
	} else if (!m->flag && l->watch) {
		TAILQ_REMOVE(&r->watchers, l, watch_entry);
		l->snap_sending = false;
	}
	l->watch = m->flag && !l->peer->admin;
	cn_relay_forward_snapshot_pump(l);
}

void cn_relay_forward_message(struct relay_link *l, const uint8_t *pt, size_t len,
			      const struct sockaddr *sa, socklen_t salen)
{
	struct cn_relay *r = l->r;
	struct cn_link_msg m;
	int ret;

	if (len == 0)
		return; /* keepalive */
	ret = cn_link_decode(pt, len, &m);
	if (ret) {
		r->m.drop_bad_message++;
		cn_log_ratelimited(&r->log_rl, cn_clock_ms(), CN_LOG_WARN,
				   "link %s %s: malformed link message: %s", l->addr_text,
				   l->peer->name, cn_strerror(ret));
		return;
	}
	switch (m.type) {
	case CN_LINK_SEND:
		if (l->peer->admin)
			r->m.drop_bad_message++;
		else
			handle_send(l, &m);
		break;
	case CN_LINK_WATCH:
		handle_watch(l, &m);
		break;
	case CN_LINK_HAVE_LIST:
		l->have_serial = m.serial ? m.serial : 1;
		if (r->pl && (uint64_t)r->pl->serial > m.serial)
			cn_relay_list_send(l);
		break;
	case CN_LINK_LIST_CHUNK:
		cn_relay_list_chunk(l, &m);
		break;
	case CN_LINK_PING: {
		struct cn_link_msg pong = {.type = CN_LINK_PONG, .nonce = m.nonce};

		cn_relay_link_send(l, &pong, true);
		break;
	}
	case CN_LINK_PONG:
		break;
	case CN_LINK_PATH_RESPONSE:
		if (sa)
			cn_relay_path_response(l, &m, sa, salen);
		else
			r->m.drop_bad_message++; /* TCP has no path to validate */
		break;
	case CN_LINK_BYE:
		cn_relay_link_close(l, "closed by the node");
		break;
	case CN_LINK_RECV:
	case CN_LINK_NOT_HERE:
	case CN_LINK_PRESENCE:
	case CN_LINK_LIST_RESULT:
	case CN_LINK_PATH_CHALLENGE:
		r->m.drop_bad_message++; /* relay-to-node messages */
		break;
	}
}
