/* SPDX-License-Identifier: MIT */
/*
 * Relay links (node_int.h, relay/relay_client.h): one per relay in the
 * list, resolved (c-ares: SRV for names starting with '_', A/AAAA
 * otherwise, again on every attempt so a moved relay is found), connected
 * over UDP or TCP, retried with jittered backoff; `transport = auto`
 * alternates the two until one answers. What a link delivers goes to the
 * engine (RECV, PRESENCE, NOT_HERE) or to list.c (LIST_CHUNK).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/clock.h"
#include "common/err.h"
#include "crypto/keys.h"
#include "node/node_int.h"
#include "node/resolver.h"
#include "relay/link.h"
#include "relay/relay_client.h"

/* Adds up to a quarter of ms at random, so nodes do not retry in step. */
static uint64_t jittered(uint64_t ms)
{
	return ms + randombytes_uniform((uint32_t)(ms / 4 + 1));
}

struct node_relay *node_relay_first_up(struct cn_node *n)
{
	struct node_relay *r;

	TAILQ_FOREACH (r, &n->relays, entry)
		if (r->up)
			return r;
	return NULL;
}

static struct node_relay *by_idx(struct cn_node *n, unsigned int idx)
{
	struct node_relay *r;

	TAILQ_FOREACH (r, &n->relays, entry)
		if (r->idx == idx)
			return r;
	return NULL;
}

int node_relay_send(void *ctx, unsigned int relay, const uint8_t key[CN_KEY_LEN],
		    const uint8_t *msg, size_t len)
{
	struct node_relay *r = by_idx(ctx, relay);

	if (!r || !r->up || !r->c)
		return -CN_ESTATE;
	return cn_relay_client_send_packet(r->c, key, msg, len);
}

static void schedule(struct node_relay *r)
{
	r->backoff_ms = r->backoff_ms ? r->backoff_ms * 2 : NODE_RELAY_BACKOFF_MIN_MS;
	if (r->backoff_ms > NODE_RELAY_BACKOFF_MAX_MS)
		r->backoff_ms = NODE_RELAY_BACKOFF_MAX_MS;
	r->next_try_ms = cn_clock_ms() + jittered(r->backoff_ms);
	node_timer_wake(r->n, r->next_try_ms);
}

static void relay_up(struct cn_relay_client *c, void *arg)
{
	struct node_relay *r = arg;

	(void)c;
	r->up = true;
	r->backoff_ms = 0;
	cn_log_info("relay %s: link up over %s", r->name, r->use_tcp ? "TCP" : "UDP");
	cn_engine_relay_up(r->n->eng, r->idx, cn_clock_ms());
}

static void relay_down(struct cn_relay_client *c, void *arg, const char *why)
{
	struct node_relay *r = arg;

	(void)c;
	if (r->up)
		cn_log_warn("relay %s: link down: %s", r->name, why);
	else
		cn_log_info("relay %s: cannot connect over %s: %s", r->name,
			    r->use_tcp ? "TCP" : "UDP", why);
	r->up = false;
	/* auto: alternate transports until one works. */
	if (r->n->cfg.relay_transport == CN_RELAY_AUTO)
		r->use_tcp = !r->use_tcp;
	/* Freed at the next tick: this runs inside the client's own callback. */
	r->client_dead = true;
	schedule(r);
	node_timer_wake(r->n, cn_clock_ms());
	cn_engine_relay_down(r->n->eng, r->idx);
}

static void relay_msg(struct cn_relay_client *c, void *arg, const struct cn_link_msg *m)
{
	struct node_relay *r = arg;
	struct cn_node *n = r->n;
	struct cn_peer *p;

	(void)c;
	switch (m->type) {
	case CN_LINK_RECV:
		p = cn_engine_find_key(n->eng, m->key);
		if (!p || m->data_len > sizeof(n->buf))
			return;
		memcpy(n->buf, m->data, m->data_len);
		cn_engine_receive(n->eng, cn_clock_ms(), p, CN_CTL_PATH_RELAY, (int)r->idx, n->buf,
				  m->data_len, NULL);
		break;
	case CN_LINK_PRESENCE:
		cn_engine_relay_presence(n->eng, r->idx, m->key, m->flag, cn_clock_ms());
		break;
	case CN_LINK_NOT_HERE:
		cn_engine_relay_not_here(n->eng, r->idx, m->key);
		break;
	case CN_LINK_LIST_CHUNK:
		node_list_chunk(r, m);
		break;
	default:
		break;
	}
}

static void relay_open(struct node_relay *r);

/* A resolution in flight names its relay by key: the relay may be gone when it ends. */
struct relay_lookup {
	struct cn_node *n;
	uint8_t key[CN_KEY_LEN];
};

static void relay_resolved(void *arg, int status, const struct cn_addr *addrs, size_t count)
{
	struct relay_lookup *lk = arg;
	struct node_relay *r;

	TAILQ_FOREACH (r, &lk->n->relays, entry) {
		if (!cn_key_equal(r->key, lk->key))
			continue;
		r->resolving = false;
		if (status || count == 0) {
			cn_log_warn("relay %s: cannot resolve %s: %s", r->name, r->host,
				    cn_strerror(status ? status : -CN_ENOTFOUND));
			schedule(r);
			break;
		}
		/* The first address (c-ares puts IPv6 first). */
		r->addr = addrs[0];
		r->have_addr = true;
		relay_open(r);
		break;
	}
	free(lk);
}

/* An SRV name ("_cairn._udp.example.net") found its targets: resolve the first. */
static void relay_srv_resolved(void *arg, int status, const struct cn_srv *srv, size_t count)
{
	struct relay_lookup *lk = arg;
	struct node_relay *r;

	TAILQ_FOREACH (r, &lk->n->relays, entry) {
		if (!cn_key_equal(r->key, lk->key))
			continue;
		if (status || count == 0 || !lk->n->resolver ||
		    cn_resolver_addrs(lk->n->resolver, srv[0].host, srv[0].port, relay_resolved,
				      lk) != 0) {
			cn_log_warn("relay %s: no usable SRV target for %s: %s", r->name, r->host,
				    cn_strerror(status ? status : -CN_ENOTFOUND));
			r->resolving = false;
			schedule(r);
			break;
		}
		cn_log_info("relay %s: %s -> %s port %u", r->name, r->host, srv[0].host,
			    srv[0].port);
		return; /* lk goes on to relay_resolved */
	}
	free(lk);
}

/* Opens the link to r->addr, which is known. */
static void relay_open(struct node_relay *r)
{
	struct cn_node *n = r->n;
	static const struct cn_relay_client_cbs cbs = {relay_up, relay_down, relay_msg};
	struct cn_relay_client_opts o = {.id = n->id,
					 .network = n->pl->network,
					 .udp = !r->use_tcp,
					 .watch = true,
					 .held_serial = (uint64_t)n->pl->serial};
	struct cn_errbuf e = {{0}};

	memcpy(o.relay_key, r->key, CN_KEY_LEN);
	o.addr = r->addr;
	cn_relay_client_free(r->c);
	r->c = cn_relay_client_new(n->base, &o, &cbs, r, &e);
	r->started_ms = cn_clock_ms();
	if (!r->c) {
		cn_log_warn("relay %s: %s", r->name, e.msg);
		schedule(r);
		return;
	}
	if (n->cfg.relay_transport == CN_RELAY_AUTO)
		node_timer_wake(n, r->started_ms + NODE_RELAY_UP_TIMEOUT_MS);
}

/*
 * Connects to r: at once for an IP literal; a host name is resolved first,
 * on every attempt (a moved relay is found again), with c-ares: SRV for a
 * name starting with '_', A/AAAA otherwise. relay_resolved opens the link.
 */
static void relay_connect(struct node_relay *r)
{
	struct cn_node *n = r->n;
	struct relay_lookup *lk;
	int ret;

	if (r->literal) {
		relay_open(r);
		return;
	}
	if (r->resolving)
		return;
	lk = calloc(1, sizeof(*lk));
	if (!lk || !n->resolver) {
		free(lk);
		cn_log_warn("relay %s: cannot resolve %s now", r->name, r->host);
		schedule(r);
		return;
	}
	lk->n = n;
	memcpy(lk->key, r->key, CN_KEY_LEN);
	ret = r->host[0] == '_'
		      ? cn_resolver_srv(n->resolver, r->host, relay_srv_resolved, lk)
		      : cn_resolver_addrs(n->resolver, r->host, r->port, relay_resolved, lk);
	if (ret) {
		free(lk);
		cn_log_warn("relay %s: cannot resolve %s now", r->name, r->host);
		schedule(r);
		return;
	}
	r->resolving = true;
}

struct node_relay *node_relay_new(struct cn_node *n, const struct cn_pl_relay *pr)
{
	struct node_relay *r, *o;
	char text[CN_HOST_MAX + 16];
	uint8_t ip[16];
	uint32_t used = 0;

	TAILQ_FOREACH (o, &n->relays, entry)
		used |= 1u << o->idx;
	if (used == UINT32_MAX)
		return NULL; /* CN_ENGINE_MAX_RELAYS; the list allows fewer */
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	while (used & (1u << r->idx))
		r->idx++;
	r->n = n;
	snprintf(r->name, sizeof(r->name), "%s", pr->name);
	memcpy(r->key, pr->key, CN_KEY_LEN);
	snprintf(r->host, sizeof(r->host), "%s", pr->host);
	r->port = pr->port;
	r->stun_port = pr->stun_port;
	r->use_tcp = n->cfg.relay_transport == CN_RELAY_TCP;
	/* An IP literal is parsed once here; a host name waits for c-ares. */
	if (inet_pton(AF_INET, r->host, ip) == 1)
		snprintf(text, sizeof(text), "%s:%u", r->host, r->port);
	else
		snprintf(text, sizeof(text), "[%s]:%u", r->host, r->port);
	if (cn_addr_parse(text, &r->addr) == 0)
		r->literal = r->have_addr = true;
	TAILQ_INSERT_TAIL(&n->relays, r, entry);
	cn_engine_relay_add(n->eng, r->idx, r->name);
	node_timer_wake(n, cn_clock_ms());
	return r;
}

void node_relay_free(struct cn_node *n, struct node_relay *r)
{
	TAILQ_REMOVE(&n->relays, r, entry);
	cn_engine_relay_del(n->eng, r->idx);
	cn_relay_client_free(r->c);
	free(r->list);
	free(r);
}

uint64_t node_relays_tick(struct cn_node *n, uint64_t now)
{
	struct node_relay *r;
	uint64_t next = UINT64_MAX;

	TAILQ_FOREACH (r, &n->relays, entry) {
		if (r->client_dead) {
			cn_relay_client_free(r->c);
			r->c = NULL;
			r->client_dead = false;
		}
		if (!r->c && !r->resolving && now >= r->next_try_ms) {
			relay_connect(r);
		} else if (r->c && !r->up && n->cfg.relay_transport == CN_RELAY_AUTO &&
			   now - r->started_ms >= NODE_RELAY_UP_TIMEOUT_MS) {
			/* No answer over this transport: try the other. */
			cn_log_info("relay %s: no answer over %s; trying %s", r->name,
				    r->use_tcp ? "TCP" : "UDP", r->use_tcp ? "UDP" : "TCP");
			r->use_tcp = !r->use_tcp;
			relay_connect(r);
		}
		if (!r->c && !r->resolving && r->next_try_ms > now && r->next_try_ms < next)
			next = r->next_try_ms;
		if (r->c && !r->up && n->cfg.relay_transport == CN_RELAY_AUTO &&
		    r->started_ms + NODE_RELAY_UP_TIMEOUT_MS < next)
			next = r->started_ms + NODE_RELAY_UP_TIMEOUT_MS;
	}
	return next;
}
