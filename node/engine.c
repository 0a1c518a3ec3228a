/* SPDX-License-Identifier: MIT */
/*
 * The peer engine's life, its peer table and list updates, relay slots,
 * and what status and metrics read (engine.h). No I/O: everything leaves
 * through cfg.ops.
 */
#include "node/engine.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/err.h"
#include "crypto/keys.h"
#include "crypto/session.h"
#include "node/engine_int.h"

const char *const cn_engine_path_names[3] = {"relay", "direct", "turn"};

const char *cn_engine_path_name(enum cn_ctl_path path)
{
	return (unsigned int)path < 3 ? cn_engine_path_names[path] : "?";
}

void eng_log(struct cn_engine *e, enum cn_log_level level, bool ratelimited, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (level > cn_log_get_level())
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	e->ops->log(e->ctx, level, ratelimited, line);
}

/* A fresh local index, unused by any session or initiation of this node. */
uint32_t eng_fresh_index(struct cn_engine *e)
{
	uint32_t idx;

	do {
		idx = randombytes_random();
	} while (idx == 0 || cn_u32map_get(&e->index, idx));
	return idx;
}

void eng_peer_changed(struct cn_peer *p, uint64_t now)
{
	struct cn_engine *e = p->e;
	uint64_t t = eng_peer_deadline(p, now);

	if (t < e->wake || e->wake <= now) {
		e->wake = t;
		e->ops->wake_at(e->ctx, t);
	}
}

/* The keyring gave up an index: it no longer names this peer. */
static void index_released(void *ctx, uint32_t index)
{
	struct cn_peer *p = ctx;

	if (cn_u32map_get(&p->e->index, index) == p)
		cn_u32map_del(&p->e->index, index);
}

static struct cn_peer *peer_new(struct cn_engine *e, const struct cn_pl_peer *pp)
{
	struct cn_peer *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->e = e;
	p->relay_hint = -1;
	memcpy(p->key, pp->key, CN_KEY_LEN);
	cn_handshake_peer_init(&p->hs_peer, pp->x_key);
	cn_cookie_jar_init(&p->jar, pp->x_key);
	cn_keyring_init(&p->keys, index_released, p);
	return p;
}

static void peer_free(struct cn_peer *p)
{
	if (!p)
		return;
	cn_keyring_clear(&p->keys);
	eng_drop_staged(p);
	eng_ice_stop(p);
	eng_bday_free(p);
	p->e->ops->peer_gone(p->e->ctx, p);
	sodium_memzero(p, sizeof(*p));
	free(p);
}

struct cn_engine *cn_engine_new(const struct cn_engine_config *cfg, struct cn_errbuf *e)
{
	struct cn_engine *eng = calloc(1, sizeof(*eng));

	if (!eng) {
		cn_errbuf_set(e, "out of memory");
		return NULL;
	}
	eng->cfg = *cfg;
	eng->ops = cfg->ops;
	eng->ctx = cfg->ctx;
	eng->guard = calloc(1, sizeof(*eng->guard));
	if (!eng->guard) {
		free(eng);
		cn_errbuf_set(e, "out of memory");
		return NULL;
	}
	cn_hsguard_init(eng->guard, cfg->id->x_pk, 0, 0, cfg->cookie_load);
	return eng;
}

void cn_engine_free(struct cn_engine *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->npeers; i++)
		peer_free(e->peers[i]);
	free(e->peers);
	free(e->by_pl);
	cn_u32map_free(&e->index);
	if (e->guard)
		cn_hsguard_wipe(e->guard);
	free(e->guard);
	sodium_memzero(&e->local, sizeof(e->local));
	free(e);
}

int cn_engine_set_list(struct cn_engine *e, const struct cn_peerlist *pl,
		       const struct cn_pl_peer *self, uint64_t now)
{
	struct cn_peer **peers = NULL, **by_pl = NULL;
	size_t np = 0, total = pl->npeers;

	if (!e->local_ready) {
		if (cn_handshake_local_init(&e->local, e->cfg.id, pl->network) != 0)
			return -CN_EINVAL;
		e->local_ready = true;
	}
	peers = calloc(total ? total : 1, sizeof(*peers));
	by_pl = calloc(total ? total : 1, sizeof(*by_pl));
	if (!peers || !by_pl) {
		free(peers);
		free(by_pl);
		return -CN_ENOMEM;
	}
	for (size_t i = 0; i < e->npeers; i++)
		e->peers[i]->removed = true;
	for (size_t i = 0; i < pl->npeers; i++) {
		const struct cn_pl_peer *pp = &pl->peers[i];
		/* The old list's record of the same key, if any (e->pl is still the old list). */
		struct cn_peer *p = e->pl ? cn_engine_find_key(e, pp->key) : NULL;

		if (pp == self)
			continue;
		if (!p) {
			p = peer_new(e, pp);
			if (!p)
				continue;
			if (e->pl)
				eng_log(e, CN_LOG_INFO, false, "peer %s: added by the new list",
					pp->name);
		}
		p->pl = pp;
		p->removed = false;
		snprintf(p->name, sizeof(p->name), "%s", pp->name);
		by_pl[i] = p;
		peers[np++] = p;
	}
	/* Whoever is not in the new list goes now. */
	for (size_t i = 0; i < e->npeers; i++) {
		if (!e->peers[i]->removed)
			continue;
		eng_log(e, CN_LOG_INFO, false,
			"peer %s: removed from the peer list; its sessions are dropped",
			e->peers[i]->name);
		peer_free(e->peers[i]);
	}
	free(e->peers);
	free(e->by_pl);
	e->peers = peers;
	e->by_pl = by_pl;
	e->npeers = np;
	e->pl = pl;
	e->self = self;
	for (size_t i = 0; i < np; i++)
		eng_peer_changed(peers[i], now);
	return 0;
}

size_t cn_engine_npeers(const struct cn_engine *e)
{
	return e->npeers;
}

struct cn_peer *cn_engine_peer(const struct cn_engine *e, size_t i)
{
	return i < e->npeers ? e->peers[i] : NULL;
}

struct cn_peer *cn_engine_find_pl(const struct cn_engine *e, const struct cn_pl_peer *pp)
{
	return pp && e->pl ? e->by_pl[pp - e->pl->peers] : NULL;
}

struct cn_peer *cn_engine_find_key(const struct cn_engine *e, const uint8_t key[CN_KEY_LEN])
{
	return e->pl ? cn_engine_find_pl(e, cn_peerlist_find_key(e->pl, key)) : NULL;
}

struct cn_peer *cn_engine_find_name(const struct cn_engine *e, const char *name)
{
	return e->pl ? cn_engine_find_pl(e, cn_peerlist_find_name(e->pl, name)) : NULL;
}

const struct cn_engine_metrics *cn_engine_metrics(const struct cn_engine *e)
{
	return &e->m;
}

bool cn_peer_has_session(const struct cn_peer *p, uint64_t now)
{
	return cn_keyring_sending(&p->keys, now) != NULL;
}

bool cn_peer_is_live(const struct cn_peer *p, uint64_t now)
{
	if (p->present)
		return true;
	return cn_peer_has_session(p, now) && p->last_rx_ms &&
	       now - p->last_rx_ms < CN_SESSION_REJECT_AFTER_TIME_MS;
}

void cn_engine_peer_status(const struct cn_engine *e, const struct cn_peer *p, uint64_t now,
			   struct cn_peer_status *out)
{
	int via = p->relay_hint >= 0 && e->relays[p->relay_hint].up ? p->relay_hint
								    : cn_engine_first_relay(e, -1);

	memset(out, 0, sizeof(*out));
	out->session = cn_peer_has_session(p, now);
	out->live = cn_peer_is_live(p, now);
	out->relay = -1;
	if (p->direct_up) {
		out->path = CN_CTL_PATH_DIRECT;
		out->has_path = true;
	} else if (p->ice_turn_up) {
		out->path = CN_CTL_PATH_TURN;
		out->has_path = true;
	} else if (via >= 0) {
		out->path = CN_CTL_PATH_RELAY;
		out->has_path = true;
		out->relay = via;
	}
	if (e->cfg.mtu) {
		out->mtu_relay = via >= 0 ? cn_engine_path_mtu(p, CN_CTL_PATH_RELAY) : 0;
		out->mtu_direct = p->direct_up ? cn_engine_path_mtu(p, CN_CTL_PATH_DIRECT) : 0;
		out->mtu = out->has_path ? cn_engine_path_mtu(p, out->path) : 0;
	}
}

/* ---- relay slots ---- */

void cn_engine_relay_add(struct cn_engine *e, unsigned int relay, const char *name)
{
	if (relay >= CN_ENGINE_MAX_RELAYS)
		return;
	e->relays[relay].used = true;
	e->relays[relay].up = false;
	snprintf(e->relays[relay].name, sizeof(e->relays[relay].name), "%s", name);
}

/* What a relay said about peers no longer holds. */
static void relay_forget(struct cn_engine *e, unsigned int relay)
{
	for (size_t i = 0; i < e->npeers; i++) {
		if (e->peers[i]->relay_hint == (int)relay)
			e->peers[i]->relay_hint = -1;
		e->peers[i]->present &= ~(1u << relay);
	}
}

void cn_engine_relay_del(struct cn_engine *e, unsigned int relay)
{
	if (relay >= CN_ENGINE_MAX_RELAYS)
		return;
	relay_forget(e, relay);
	memset(&e->relays[relay], 0, sizeof(e->relays[relay]));
}

void cn_engine_relay_up(struct cn_engine *e, unsigned int relay, uint64_t now)
{
	if (relay >= CN_ENGINE_MAX_RELAYS)
		return;
	e->relays[relay].up = true;
	/* Peers waiting for any path get their handshakes out now. */
	for (size_t i = 0; i < e->npeers; i++) {
		struct cn_peer *p = e->peers[i];

		if (cn_keyring_pending(&p->keys) || p->nstaged)
			eng_initiate(p, now);
	}
}

void cn_engine_relay_down(struct cn_engine *e, unsigned int relay)
{
	if (relay >= CN_ENGINE_MAX_RELAYS)
		return;
	e->relays[relay].up = false;
	relay_forget(e, relay);
}

bool cn_engine_relay_is_up(const struct cn_engine *e, unsigned int relay)
{
	return relay < CN_ENGINE_MAX_RELAYS && e->relays[relay].up;
}

const char *cn_engine_relay_name(const struct cn_engine *e, unsigned int relay)
{
	return relay < CN_ENGINE_MAX_RELAYS ? e->relays[relay].name : "";
}

int cn_engine_first_relay(const struct cn_engine *e, int not_this)
{
	for (int i = 0; i < CN_ENGINE_MAX_RELAYS; i++)
		if (e->relays[i].up && i != not_this)
			return i;
	return -1;
}

void cn_engine_relay_presence(struct cn_engine *e, unsigned int relay,
			      const uint8_t key[CN_KEY_LEN], bool here, uint64_t now)
{
	struct cn_peer *p = cn_engine_find_key(e, key);

	if (!p || relay >= CN_ENGINE_MAX_RELAYS)
		return;
	if (here && !(p->present & (1u << relay)) && cn_keyring_pending(&p->keys) && p->nstaged) {
		/* It just reached this relay: what it may have missed goes now. */
		p->present |= 1u << relay;
		p->relay_hint = (int)relay;
		eng_send_initiation(p, now);
	}
	if (here)
		p->present |= 1u << relay;
	else
		p->present &= ~(1u << relay);
}

void cn_engine_relay_not_here(struct cn_engine *e, unsigned int relay,
			      const uint8_t key[CN_KEY_LEN])
{
	struct cn_peer *p = cn_engine_find_key(e, key);

	if (p && (p->relay_hint == (int)relay || p->relay_hint < 0))
		p->relay_hint = cn_engine_first_relay(e, (int)relay);
}
