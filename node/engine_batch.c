/* SPDX-License-Identifier: MIT */
/*
 * The engine's batch inputs (engine.h): the fast data path. A batch of
 * packets read from the TUN, or of datagrams read from one socket, is
 * decided packet by packet on the calling (loop) thread - routing, session,
 * counters, replay window, path validation, exactly as the single-packet
 * calls do - while the crypto of the whole batch runs in one ops.parallel
 * call (crypto workers, or inline). Only session-independent work runs
 * there: each item is sealed or opened with a key snapshot
 * (crypto/session_batch.h) and its own counter; nothing else is shared.
 *
 * Send: packets for a peer with a direct path up and a session are sealed
 * in the batch and sent per peer in one ops.send_direct_batch (UDP GSO
 * runs in the shell); so are those of a peer whose path is a relay, sent
 * per peer in one ops.send_relay_batch when the shell has it; every other
 * packet (no session yet, TURN path, no peer) takes the single-packet path
 * at once, in order.
 * Receive: consecutive data messages are gathered and opened together;
 * any other message first completes what was gathered, so the order of
 * effects is the order of arrival. Deliveries go through ops.tun_queue and
 * one ops.tun_flush per batch (daemon-side GRO in the shell).
 */
#include "node/engine.h"

#include <string.h>

#include <sodium.h>

#include "common/err.h"
#include "crypto/session.h"
#include "crypto/session_batch.h"
#include "node/engine_int.h"
#include "node/ippkt.h"

_Static_assert((int)CN_ENGINE_TX_HEADROOM == (int)CN_SESSION_HEADER_LEN,
	       "headroom is the data header");
_Static_assert((int)CN_ENGINE_TX_OVERHEAD == (int)CN_SESSION_OVERHEAD,
	       "overhead is header and tag");

static void run_parallel(struct cn_engine *e, void (*fn)(void *, void *), size_t n)
{
	if (n == 0)
		return;
	if (e->ops->parallel) {
		e->ops->parallel(e->ctx, fn, e, e->items, n);
		return;
	}
	for (size_t i = 0; i < n; i++)
		fn(e, e->items[i]);
}

/* ---- send ---- */

/* On any thread: seals one item in place with its batch's key snapshot. */
static void seal_one(void *arg, void *item)
{
	const struct cn_engine *e = arg;
	struct cn_engine_tx *t = item;

	t->ret =
		cn_session_batch_seal(&e->skeys[t->key], t->counter, t->buf + CN_SESSION_HEADER_LEN,
				      t->pt_len, t->buf, t->cap, &t->len);
}

/*
 * Reserves the next counter of s for one packet; the key snapshot is taken
 * once per session and batch. Returns the key slot, -1 (the session
 * refuses: the packet takes the single-packet path, which stages it and
 * starts a handshake) or -2 (no slot left: the batch is cut here).
 */
static int reserve(struct cn_engine *e, struct cn_session *s, uint64_t now, unsigned int *nkeys,
		   uint64_t *counter)
{
	struct cn_session_seal_key tmp;
	unsigned int k;

	for (k = 0; k < *nkeys; k++)
		if (e->ksess[k] == s)
			break;
	if (k == *nkeys) {
		if (k == CN_ENGINE_BATCH_KEYS)
			return -2;
		if (cn_session_batch_reserve(s, now, 1, counter, &e->skeys[k]) != 0)
			return -1;
		e->ksess[k] = s;
		(*nkeys)++;
		return (int)k;
	}
	if (cn_session_batch_reserve(s, now, 1, counter, &tmp) != 0)
		return -1;
	cn_session_batch_seal_key_wipe(&tmp);
	return (int)k;
}

/*
 * The sealed datagrams of a peer whose path is a relay, in order: in one
 * ops.send_relay_batch; what the link did not take goes one by one over the
 * peer's paths (another relay, a remembered direct endpoint), as the
 * single-packet path would.
 */
static void send_run_relay(struct cn_engine *e, struct cn_peer *p, uint64_t now, int relay,
			   struct cn_engine_tx *const *dg, size_t n)
{
	size_t sent = 0;
	uint64_t bytes = 0;

	if (relay >= 0)
		e->ops->send_relay_batch(e->ctx, (unsigned int)relay, p->key, dg, n, &sent);
	if (sent > n)
		sent = n;
	for (size_t i = 0; i < sent; i++)
		bytes += dg[i]->pt_len;
	for (size_t i = sent; i < n; i++)
		if (eng_path_send(p, now, dg[i]->buf, dg[i]->len) == 0)
			bytes += dg[i]->pt_len;
	if (bytes) {
		p->last_tx_ms = now;
		p->tx_bytes += bytes;
		eng_watch_sent(p, now);
	}
}

/* The sealed datagrams of one peer, in order: direct in one call, the rest through a relay. */
static void send_run(struct cn_engine *e, struct cn_peer *p, uint64_t now,
		     struct cn_engine_tx *const *dg, size_t n)
{
	size_t sent = 0;
	uint64_t bytes = 0;

	if (!p->direct_up || !p->dsock) {
		send_run_relay(e, p, now, eng_relay_slot(p), dg, n);
		return;
	}
	if (e->ops->send_direct_batch) {
		e->ops->send_direct_batch(e->ctx, p, &p->dremote, dg, n, &sent);
	} else {
		while (sent < n && e->ops->send_direct(e->ctx, p, &p->dremote, dg[sent]->buf,
						       dg[sent]->len) == 0)
			sent++;
	}
	for (size_t i = 0; i < sent; i++)
		bytes += dg[i]->pt_len;
	if (sent) {
		p->d_last_tx_ms = p->last_tx_ms = now;
		p->tx_bytes += bytes;
		/* Data went out on the direct path: it is watched for an answer (engine_watch.c).
		 */
		eng_watch_sent(p, now);
	}
	/* The socket refused the rest (full buffer): the session is not bound to a path. */
	for (size_t i = sent; i < n; i++) {
		e->m.path_fallbacks++;
		if (eng_relay_send(p, dg[i]->buf, dg[i]->len) == 0) {
			p->last_tx_ms = now;
			p->tx_bytes += dg[i]->pt_len;
		} else {
			e->m.drop_no_path++;
		}
	}
}

/* Returns how many of tx[0..n) it took (fewer when the key slots ran out). */
static size_t tx_chunk(struct cn_engine *e, uint64_t now, struct cn_engine_tx *tx, size_t n)
{
	struct cn_engine_tx *run[CN_ENGINE_BATCH_MAX];
	unsigned int nkeys = 0;
	size_t nj = 0, i;

	for (i = 0; i < n; i++) {
		struct cn_engine_tx *t = &tx[i];
		uint8_t *pkt = t->buf + CN_SESSION_HEADER_LEN;
		struct cn_session *s;
		struct cn_peer *p;
		size_t len = t->len;
		int k;

		t->p = NULL;
		p = eng_route(e, now, pkt, &len);
		if (!p)
			continue;
		/*
		 * Sealed in the batch: a direct path up, or (no TURN pair) a
		 * relay up and a shell that sends to relays in batches.
		 */
		s = (p->direct_up && p->dsock) ||
				    (!p->direct_up && !p->ice_turn_up && e->ops->send_relay_batch &&
				     eng_relay_slot(p) >= 0)
			    ? cn_keyring_sending(&p->keys, now)
			    : NULL;
		k = s && t->cap >= len + CN_SESSION_OVERHEAD
			    ? reserve(e, s, now, &nkeys, &t->counter)
			    : -1;
		if (k == -2)
			break; /* this packet starts the next chunk */
		if (k < 0) {
			eng_send_pt(p, now, pkt, len);
			continue;
		}
		t->p = p;
		t->key = (unsigned int)k;
		t->pt_len = len;
		e->items[nj++] = t;
	}
	run_parallel(e, seal_one, nj);
	for (unsigned int k = 0; k < nkeys; k++)
		cn_session_batch_seal_key_wipe(&e->skeys[k]);
	/* Per peer, in order of first appearance; each peer's datagrams in order. */
	for (size_t a = 0; a < nj; a++) {
		struct cn_engine_tx *first = e->items[a];
		struct cn_peer *p = first->p;
		struct cn_session *s;
		size_t nrun = 0;

		if (!p)
			continue;
		for (size_t j = a; j < nj; j++) {
			struct cn_engine_tx *t = e->items[j];

			if (t->p != p)
				continue;
			t->p = NULL;
			if (t->ret == 0)
				run[nrun++] = t;
		}
		send_run(e, p, now, run, nrun);
		/* Rekey bookkeeping once per peer and batch. */
		s = cn_keyring_sending(&p->keys, now);
		if (s && !cn_keyring_pending(&p->keys) && s->initiator &&
		    cn_session_should_rekey_on_send(s, now))
			eng_initiate(p, now);
	}
	return i;
}

void cn_engine_tun_batch(struct cn_engine *e, uint64_t now, struct cn_engine_tx *tx, size_t n)
{
	while (n) {
		size_t k = tx_chunk(e, now, tx, n < CN_ENGINE_BATCH_MAX ? n : CN_ENGINE_BATCH_MAX);

		tx += k;
		n -= k;
	}
}

/* ---- receive ---- */

/* On any thread: opens one data message in place (tag, index, limit; no window). */
static void open_one(void *arg, void *item)
{
	const struct cn_engine *e = arg;
	struct cn_engine_rx *r = item;

	r->ret = cn_session_batch_open(&e->okeys[r->key], r->msg, r->len,
				       r->msg + CN_SESSION_HEADER_LEN,
				       r->len - CN_SESSION_HEADER_LEN, &r->pt_len, &r->counter);
}

struct rx_state {
	struct cn_engine *e;
	uint64_t now;
	struct cn_peer *from_peer;
	enum cn_ctl_path via;
	int relay;
	unsigned int nkeys;
	size_t nj;
};

/* Opens what was gathered, then, in arrival order, what the single-packet path does after
 * decryption. */
static void rx_complete(struct rx_state *st)
{
	struct cn_engine *e = st->e;

	run_parallel(e, open_one, st->nj);
	for (unsigned int k = 0; k < st->nkeys; k++)
		cn_session_batch_open_key_wipe(&e->okeys[k]);
	for (size_t i = 0; i < st->nj; i++) {
		struct cn_engine_rx *r = e->items[i];
		struct cn_engine_rx *next = i + 1 < st->nj ? e->items[i + 1] : NULL;
		/* Looked up again: an earlier packet of the batch may have rotated the keyring. */
		struct cn_peer *p = cn_u32map_get(&e->index, r->index);
		struct cn_session *s = p == r->p ? cn_keyring_find(&p->keys, r->index) : NULL;
		bool newest = false;
		int ret = r->ret;

		if (!ret && !s)
			ret = -CN_ESTATE;
		if (!ret)
			ret = cn_session_batch_accept(s, r->counter, &newest);
		if (ret) {
			if (ret == -CN_EREPLAY)
				e->m.drop_replay++;
			else if (ret == -CN_ESTATE)
				e->m.drop_no_session++;
			else
				e->m.drop_bad_packet++;
			eng_log(e, CN_LOG_DEBUG, true, "peer %s: packet via %s dropped: %s",
				r->p->name, cn_engine_path_names[st->via], cn_strerror(ret));
			sodium_memzero(r->msg, r->len);
			continue;
		}
		eng_rx_data_after(p, s, st->now, st->via, st->relay, r->msg + CN_SESSION_HEADER_LEN,
				  r->pt_len, st->via == CN_CTL_PATH_DIRECT ? &r->src : NULL, newest,
				  !next || next->p != p);
	}
	st->nj = 0;
	st->nkeys = 0;
}

/* Gathers one data message for opening; false when it is not one (or cannot be gathered now). */
static bool rx_gather(struct rx_state *st, struct cn_engine_rx *r)
{
	struct cn_engine *e = st->e;
	enum cn_msg_type type;
	struct cn_session *s;
	unsigned int k;

	if (!e->pl || r->len == 0 || r->msg[0] != CN_MSG_DATA ||
	    cn_handshake_classify(r->msg, r->len, &type, &r->index) != 0 || type != CN_MSG_DATA)
		return false;
	r->p = cn_u32map_get(&e->index, r->index);
	s = r->p ? cn_keyring_find(&r->p->keys, r->index) : NULL;
	if (!s || (st->from_peer && r->p != st->from_peer)) {
		e->m.drop_no_session++;
		r->p = NULL;
		return true; /* handled: dropped */
	}
	for (k = 0; k < st->nkeys; k++)
		if (e->ksess[k] == s)
			break;
	if (k == st->nkeys) {
		if (k == CN_ENGINE_BATCH_KEYS) {
			rx_complete(st);
			k = 0;
		}
		if (cn_session_batch_open_key(s, st->now, &e->okeys[k]) != 0) {
			e->m.drop_bad_packet++;
			r->p = NULL;
			return true;
		}
		e->ksess[k] = s;
		st->nkeys = k + 1;
	}
	r->key = k;
	e->items[st->nj++] = r;
	if (st->nj == CN_ENGINE_BATCH_MAX)
		rx_complete(st);
	return true;
}

void cn_engine_receive_batch(struct cn_engine *e, uint64_t now, struct cn_peer *from_peer,
			     enum cn_ctl_path via, int relay, struct cn_engine_rx *rx, size_t n)
{
	struct rx_state st = {
		.e = e, .now = now, .from_peer = from_peer, .via = via, .relay = relay};

	e->rx_batch = true;
	for (size_t i = 0; i < n; i++) {
		if (rx_gather(&st, &rx[i]))
			continue;
		/* Anything else acts in its place in the order. */
		rx_complete(&st);
		cn_engine_receive(e, now, from_peer, via, relay, rx[i].msg, rx[i].len,
				  via == CN_CTL_PATH_DIRECT ? &rx[i].src : NULL);
	}
	rx_complete(&st);
	e->rx_batch = false;
	if (e->ops->tun_queue && e->ops->tun_flush)
		e->ops->tun_flush(e->ctx);
}
