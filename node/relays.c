/* SPDX-License-Identifier: MIT */
/*
 * Relay links (node_int.h, relay/relay_client.h): one per relay in the
 * list, resolved (c-ares: SRV for names starting with '_', A/AAAA
 * otherwise, again before a new attempt so a moved relay is found),
 * connected over UDP, TCP, or with transport = auto both at once (happy
 * eyeballs: UDP is kept when it answers, TCP carries traffic meanwhile and
 * takes over when UDP goes), retried with jittered backoff per transport
 * (a link that had been up is retried at once first: the engine meanwhile
 * sends through another relay that is up).
 * What a link delivers goes to the engine (RECV, PRESENCE, NOT_HERE) or to
 * list.c (LIST_CHUNK).
 */
#include <arpa/inet.h>
#include <ifaddrs.h>
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

enum { UDP = 0, TCP = 1 };

static const char *const tr_names[2] = {"UDP", "TCP"};

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

int node_relay_send_batch(void *ctx, unsigned int relay, const uint8_t key[CN_KEY_LEN],
			  struct cn_engine_tx *const *dg, size_t n, size_t *sent)
{
	struct node_relay *r = by_idx(ctx, relay);
	struct cn_relay_client_pkt pk[CN_ENGINE_BATCH_MAX];

	*sent = 0;
	if (!r || !r->up || !r->c || n > CN_ENGINE_BATCH_MAX)
		return -CN_ESTATE;
	for (size_t i = 0; i < n; i++)
		pk[i] = (struct cn_relay_client_pkt){dg[i]->buf, dg[i]->len};
	return cn_relay_client_send_packets(r->c, key, pk, n, sent);
}

/* Whether transport tr should have a link now. */
static bool wanted(const struct node_relay *r, int tr)
{
	switch (r->n->cfg.relay_transport) {
	case CN_RELAY_UDP:
		return tr == UDP;
	case CN_RELAY_TCP:
		return tr == TCP;
	case CN_RELAY_AUTO:
		return tr == UDP || !r->t[UDP].up;
	}
	return false;
}

static int transport_of(const struct node_relay *r, const struct cn_relay_client *c)
{
	return r->t[TCP].c == c ? TCP : UDP;
}

static void schedule(struct node_relay *r, int tr)
{
	struct node_relay_link *t = &r->t[tr];

	t->backoff_ms = t->backoff_ms ? t->backoff_ms * 2 : NODE_RELAY_BACKOFF_MIN_MS;
	if (t->backoff_ms > NODE_RELAY_BACKOFF_MAX_MS)
		t->backoff_ms = NODE_RELAY_BACKOFF_MAX_MS;
	t->next_try_ms = cn_clock_ms() + jittered(t->backoff_ms);
	node_timer_wake(r->n, t->next_try_ms);
}

/* The link in use: UDP when up, else TCP; tells the engine when the relay comes or goes. */
static void update_in_use(struct node_relay *r)
{
	bool was_up = r->up;
	int tr = r->t[UDP].up ? UDP : TCP;

	r->up = r->t[tr].up;
	r->c = r->up ? r->t[tr].c : NULL;
	if (r->up)
		r->use_tcp = tr == TCP;
	if (r->up && !was_up) {
		cn_engine_relay_up(r->n->eng, r->idx, cn_clock_ms());
		node_natsock_relay_up(r->n);
	} else if (!r->up && was_up)
		cn_engine_relay_down(r->n->eng, r->idx);
}

/* Ends transport tr's link (freed at the next tick: this may run inside its callback). */
static void link_end(struct node_relay *r, int tr)
{
	struct node_relay_link *t = &r->t[tr];

	if (!t->c)
		return;
	t->up = false;
	t->dead = true;
	node_timer_wake(r->n, cn_clock_ms());
}

static void relay_up(struct cn_relay_client *c, void *arg)
{
	struct node_relay *r = arg;
	int tr = transport_of(r, c);
	bool was_up = r->up;

	/*
	 * We ended it and its handshake finished before the tick freed it:
	 * marking it up would leave an up flag without a client once freed,
	 * which update_in_use would pick when UDP next fails (a relay shown
	 * up over TCP that sends nothing, instead of a relay down).
	 */
	if (r->t[tr].dead)
		return;
	if (!wanted(r, tr)) {
		/* auto: UDP came up while TCP was still connecting; TCP is not kept. */
		cn_log_info("relay %s: %s link up after UDP, not needed: closed", r->name,
			    tr_names[tr]);
		link_end(r, tr);
		return;
	}
	r->t[tr].up = true;
	r->t[tr].backoff_ms = 0;
	r->t[tr].up_ms = cn_clock_ms();
	if (!was_up)
		cn_log_info("relay %s: link up over %s", r->name, tr_names[tr]);
	else
		cn_log_info("relay %s: %s link up too", r->name, tr_names[tr]);
	/* auto: UDP answered, so TCP is no longer needed. */
	if (tr == UDP && r->t[TCP].c && !wanted(r, TCP)) {
		if (r->t[TCP].up)
			cn_log_info("relay %s: moving from TCP to UDP", r->name);
		link_end(r, TCP);
	}
	update_in_use(r);
}

static void relay_down(struct cn_relay_client *c, void *arg, const char *why)
{
	struct node_relay *r = arg;
	int tr = transport_of(r, c);
	bool was_up = r->t[tr].up;

	if (r->t[tr].dead)
		return; /* we ended it */
	if (was_up)
		cn_log_warn("relay %s: %s link down: %s", r->name, tr_names[tr], why);
	else
		cn_log_info("relay %s: cannot connect over %s: %s", r->name, tr_names[tr], why);
	link_end(r, tr);
	/*
	 * A link that had been up a while is tried again at once (a relay
	 * restarted, a NAT mapping lost, a probe under traffic that failed);
	 * the backoff starts from the second attempt. One that went down soon
	 * after coming up (a relay that refuses this key after the handshake)
	 * backs off, so it cannot loop.
	 */
	if (was_up && cn_clock_ms() - r->t[tr].up_ms >= NODE_RELAY_BACKOFF_MIN_MS) {
		r->t[tr].next_try_ms = cn_clock_ms();
		node_timer_wake(r->n, r->t[tr].next_try_ms);
	} else {
		schedule(r, tr);
	}
	update_in_use(r);
	if (r->up)
		cn_log_info("relay %s: staying on %s", r->name, r->use_tcp ? "TCP" : "UDP");
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

/* A relay link's initiation timestamp: the engine's floor (engine.h), as for peers. */
static void link_timestamp(void *arg, uint8_t ts[CN_TAI64N_LEN])
{
	struct cn_node *n = arg;

	cn_engine_timestamp(n->eng, ts);
}

/*
 * The RECVs of one read batch: each run from one sender goes to the engine
 * as one batch (opened together, one TUN flush), in arrival order.
 */
static void relay_recv_batch(struct cn_relay_client *c, void *arg, struct cn_relay_client_recv *m,
			     size_t n)
{
	struct node_relay *r = arg;
	struct cn_node *n_ = r->n;
	struct cn_engine_rx rx[CN_ENGINE_BATCH_MAX];
	uint64_t now = cn_clock_ms();
	size_t i = 0;

	(void)c;
	while (i < n) {
		const uint8_t *key = m[i].key;
		struct cn_peer *p = cn_engine_find_key(n_->eng, key);
		size_t k = 0;

		for (; i < n && k < CN_ENGINE_BATCH_MAX &&
		       sodium_memcmp(m[i].key, key, CN_KEY_LEN) == 0;
		     i++)
			rx[k++] = (struct cn_engine_rx){.msg = m[i].data, .len = m[i].len};
		/* A sender not in the list: dropped, as relay_msg does. */
		if (p)
			cn_engine_receive_batch(n_->eng, now, p, CN_CTL_PATH_RELAY, (int)r->idx, rx,
						k);
	}
}

/* Opens transport tr's link to r->addr, which is known. */
static void link_open(struct node_relay *r, int tr)
{
	struct cn_node *n = r->n;
	/* The fast data path (n->dp) gets the batch receive and GSO/GRO; the old one neither. */
	static const struct cn_relay_client_cbs cbs = {relay_up, relay_down, relay_msg, NULL},
						cbs_batch = {relay_up, relay_down, relay_msg,
							     relay_recv_batch};
	struct cn_relay_client_opts o = {.id = n->id,
					 .network = n->pl->network,
					 .udp = tr == UDP,
					 .offload = n->dp && n->cfg.udp_gso,
					 .watch = true,
					 .held_serial = (uint64_t)n->pl->serial,
					 .timestamp = link_timestamp,
					 .timestamp_arg = n};
	struct node_relay_link *t = &r->t[tr];
	struct cn_errbuf e = {{0}};

	memcpy(o.relay_key, r->key, CN_KEY_LEN);
	o.addr = r->addr;
	t->c = cn_relay_client_new(n->base, &o, n->dp ? &cbs_batch : &cbs, r, &e);
	t->started_ms = cn_clock_ms();
	t->up = t->dead = false;
	if (!t->c) {
		cn_log_warn("relay %s: %s", r->name, e.msg);
		schedule(r, tr);
		return;
	}
	node_timer_wake(n, t->started_ms + NODE_RELAY_UP_TIMEOUT_MS);
}

/* Opens every wanted transport whose retry is due. */
static void links_open(struct node_relay *r, uint64_t now)
{
	for (int tr = UDP; tr <= TCP; tr++)
		if (wanted(r, tr) && !r->t[tr].c && now >= r->t[tr].next_try_ms)
			link_open(r, tr);
}

/* A resolution in flight names its relay by key: the relay may be gone when it ends. */
struct relay_lookup {
	struct cn_node *n;
	uint8_t key[CN_KEY_LEN];
};

static void resolve_failed(struct node_relay *r, const char *what, int status)
{
	cn_log_warn("relay %s: %s %s: %s", r->name, what, r->host,
		    cn_strerror(status ? status : -CN_ENOTFOUND));
	r->resolving = false;
	r->next_resolve_ms = cn_clock_ms() + jittered(NODE_RELAY_BACKOFF_MIN_MS);
	node_timer_wake(r->n, r->next_resolve_ms);
}

static void relay_resolved(void *arg, int status, const struct cn_addr *addrs, size_t count)
{
	struct relay_lookup *lk = arg;
	struct node_relay *r;

	TAILQ_FOREACH (r, &lk->n->relays, entry) {
		if (!cn_key_equal(r->key, lk->key))
			continue;
		if (status || count == 0) {
			resolve_failed(r, "cannot resolve", status);
			break;
		}
		r->resolving = false;
		/* The first address (c-ares puts IPv6 first). */
		r->addr = addrs[0];
		r->have_addr = true;
		r->resolved_ms = cn_clock_ms();
		links_open(r, r->resolved_ms);
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
			resolve_failed(r, "no usable SRV target for", status);
			break;
		}
		cn_log_info("relay %s: %s -> %s port %u", r->name, r->host, srv[0].host,
			    srv[0].port);
		return; /* lk goes on to relay_resolved */
	}
	free(lk);
}

/* Resolves r's host name with c-ares (SRV for a name starting with '_', A/AAAA otherwise). */
static void resolve(struct node_relay *r)
{
	struct cn_node *n = r->n;
	struct relay_lookup *lk = calloc(1, sizeof(*lk));
	int ret;

	if (!lk || !n->resolver) {
		free(lk);
		resolve_failed(r, "cannot resolve", -CN_ESTATE);
		return;
	}
	lk->n = n;
	memcpy(lk->key, r->key, CN_KEY_LEN);
	r->resolving = true;
	ret = r->host[0] == '_'
		      ? cn_resolver_srv(n->resolver, r->host, relay_srv_resolved, lk)
		      : cn_resolver_addrs(n->resolver, r->host, r->port, relay_resolved, lk);
	if (ret) {
		free(lk);
		resolve_failed(r, "cannot resolve", ret);
	}
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
	for (int tr = UDP; tr <= TCP; tr++)
		cn_relay_client_free(r->t[tr].c);
	cn_listrx_wipe(&r->list);
	free(r);
}

static uint64_t earliest(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* One relay's links at now; returns its next deadline. */
static uint64_t relay_tick(struct node_relay *r, uint64_t now)
{
	uint64_t next = UINT64_MAX;
	bool any = false, due = false;

	for (int tr = UDP; tr <= TCP; tr++) {
		struct node_relay_link *t = &r->t[tr];

		if (t->dead) {
			cn_relay_client_free(t->c);
			t->c = NULL;
			t->up = t->dead = false; /* no client, never up */
		}
		if (t->c && !t->up && now - t->started_ms >= NODE_RELAY_UP_TIMEOUT_MS) {
			cn_log_info("relay %s: no answer over %s", r->name, tr_names[tr]);
			cn_relay_client_free(t->c);
			t->c = NULL;
			schedule(r, tr);
		}
		if (!wanted(r, tr) && t->c && !t->up) {
			cn_relay_client_free(t->c); /* auto: UDP is up, TCP still trying */
			t->c = NULL;
		}
		any |= t->c != NULL;
		due |= wanted(r, tr) && !t->c && now >= t->next_try_ms;
		if (t->c && !t->up)
			next = earliest(next, t->started_ms + NODE_RELAY_UP_TIMEOUT_MS);
		else if (wanted(r, tr) && !t->c)
			next = earliest(next, t->next_try_ms);
	}
	update_in_use(r);
	if (!due)
		return next;
	/*
	 * A host name is resolved again when no link is left (the relay may
	 * have moved); a link added beside a live one reuses the address.
	 */
	if (r->literal || (r->have_addr && any)) {
		links_open(r, now);
	} else if (!r->resolving && now >= r->next_resolve_ms) {
		resolve(r);
	} else if (!r->resolving) {
		next = earliest(next, r->next_resolve_ms);
	}
	return next;
}

/* Whether ip (an address with any port) is still one of this host's. */
static bool address_present(const struct ifaddrs *all, const struct cn_addr *a)
{
	const struct sockaddr *sa = (const struct sockaddr *)&a->ss;

	for (const struct ifaddrs *i = all; i; i = i->ifa_next) {
		const struct sockaddr *x = i->ifa_addr;

		if (!x || x->sa_family != sa->sa_family)
			continue;
		if (sa->sa_family == AF_INET &&
		    memcmp(&((const struct sockaddr_in *)x)->sin_addr,
			   &((const struct sockaddr_in *)sa)->sin_addr, 4) == 0)
			return true;
		if (sa->sa_family == AF_INET6 &&
		    memcmp(&((const struct sockaddr_in6 *)x)->sin6_addr,
			   &((const struct sockaddr_in6 *)sa)->sin6_addr, 16) == 0)
			return true;
	}
	return false;
}

void node_relays_local_check(struct cn_node *n)
{
	struct ifaddrs *all = NULL;
	struct node_relay *r;
	uint64_t now = cn_clock_ms();

	if (getifaddrs(&all) != 0)
		return;
	TAILQ_FOREACH (r, &n->relays, entry) {
		for (int tr = UDP; tr <= TCP; tr++) {
			struct node_relay_link *t = &r->t[tr];
			struct cn_addr local;
			char text[CN_ADDR_TEXT_MAX];

			if (!t->c || t->dead || cn_relay_client_local(t->c, &local) != 0 ||
			    address_present(all, &local))
				continue;
			cn_addr_format((const struct sockaddr *)&local.ss, text);
			cn_log_info("relay %s: local address %s is gone; reconnecting over %s",
				    r->name, text, tr_names[tr]);
			link_end(r, tr);
			t->next_try_ms = now;
			update_in_use(r);
		}
	}
	freeifaddrs(all);
	node_timer_wake(n, now);
}

uint64_t node_relays_tick(struct cn_node *n, uint64_t now)
{
	struct node_relay *r;
	uint64_t next = UINT64_MAX;

	TAILQ_FOREACH (r, &n->relays, entry)
		next = earliest(next, relay_tick(r, now));
	return next;
}
