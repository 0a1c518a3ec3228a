/* SPDX-License-Identifier: MIT */
/*
 * cairn-node's daemon core (node.h, docs/NODE.md).
 *
 * Every peer in the signed list (but this node) has a struct node_peer:
 * its sessions (current for sending, previous and next for receiving while
 * keys change, as in WireGuard), its handshake in flight, the packets staged
 * while no session exists, and its paths:
 *   - relay: SEND/RECV through any connected relay; always available while
 *     one relay link is up; used first, so nobody waits for hole punching;
 *   - direct: a UDP socket taken over from libnice after ICE selected a
 *     host or server-reflexive pair, carrying the same session messages;
 *   - TURN: ICE's relayed pair, through libnice's send path.
 * A session is bound to keys, not to a path: packets of one session may
 * arrive over any path, and the node sends over the best path up.
 *
 * Timers (one tick every TICK_MS walks every peer; a per-peer timer would
 * save nothing at these numbers):
 *   handshake retry      HANDSHAKE_RETRY_MS (+ jitter), give up after
 *                        HANDSHAKE_GIVEUP_MS and drop the staged packets;
 *   rekey                when the session says so (crypto/session.h);
 *   passive keepalive    PASSIVE_KEEPALIVE_MS after receiving without sending;
 *   direct keepalive     DIRECT_KEEPALIVE_MS without sending on the direct path;
 *   direct dead          DIRECT_DEAD_MS without receiving on it: back to the
 *                        relay, ICE again after a backoff (ICE_BACKOFF_*);
 *   RTT probe            PROBE_INTERVAL_MS while a session is up;
 *   relay reconnect      RELAY_BACKOFF_* with jitter;
 *   control pings        CONTROL_PING_TIMEOUT_MS.
 *
 * Trust: a packet counts only after its session authenticated it; the path
 * it came by (relay source key, direct socket) must belong to the same peer;
 * a decrypted IP packet whose source is not the peer's overlay address is
 * dropped (cryptokey routing). Bad input is dropped, counted and logged
 * with a rate limit; it never stops the node or touches other peers.
 */
#include "node/node.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <inttypes.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <sodium.h>

#include "common/addr.h"
#include "common/clock.h"
#include "common/file.h"
#include "common/log.h"
#include "common/queue_compat.h"
#include "common/u32map.h"
#include "crypto/handshake.h"
#include "crypto/keys.h"
#include "crypto/peerlist.h"
#include "crypto/session.h"
#include "deploy/server.h"
#include "nat/glib_event.h"
#include "nat/ice.h"
#include "node/ctlmsg.h"
#include "node/dns.h"
#include "node/dns_io.h"
#include "node/ippkt.h"
#include "node/netlink.h"
#include "node/node_config.h"
#include "node/resolver.h"
#include "node/tun.h"
#include "relay/link.h"
#include "relay/relay_client.h"

enum {
	TICK_MS = 250,
	HANDSHAKE_RETRY_MS = 5000,
	HANDSHAKE_GIVEUP_MS = 90000,
	STAGED_MAX = 64,
	PASSIVE_KEEPALIVE_MS = 10000,
	DIRECT_KEEPALIVE_MS = 2000,
	DIRECT_DEAD_MS = 6000,
	ICE_START_DELAY_MS = 200,
	ICE_BACKOFF_MIN_MS = 2000,
	ICE_BACKOFF_MAX_MS = 60000,
	PROBE_INTERVAL_MS = 10000,
	RELAY_BACKOFF_MIN_MS = 1000,
	RELAY_BACKOFF_MAX_MS = 30000,
	RELAY_UP_TIMEOUT_MS = 5000,
	CONTROL_PING_TIMEOUT_MS = 2000,
	CONTROL_MAX_CLIENTS = 16,
	ICMP_PER_SECOND = 10,
	BATCH = 32,
	PKT_MAX = 65535,
	DGRAM_MAX = 2048,
};

#define STATE_LIST_FILE	     "peers.conf"
#define STATE_ENDPOINTS_FILE "endpoints"

struct cn_node;
struct node_peer;

/* One session, findable by its local index. */
struct node_sess {
	struct cn_session s;
	struct node_peer *peer;
};

struct staged {
	size_t len;
	uint8_t data[];
};

struct node_relay {
	struct cn_node *n;
	unsigned int idx; /* bit in node_peer.present, stable while the relay is listed */
	char name[CN_NAME_MAX + 1];
	uint8_t key[CN_KEY_LEN];
	char host[CN_HOST_MAX + 1];
	uint16_t port, stun_port;
	struct cn_addr addr; /* where the link goes (and its STUN service) */
	bool literal;	     /* host is an IP address: addr was set once */
	bool have_addr;	     /* addr is set */
	struct cn_relay_client *c;
	bool up, use_tcp;
	uint64_t next_try_ms, backoff_ms, started_ms;
	uint8_t *list; /* list chunks being received */
	uint32_t list_total, list_got;
	uint64_t list_serial;
	bool client_dead; /* the link went down: free the client at the next tick */
	bool resolving;	  /* its host name is being resolved */
	TAILQ_ENTRY(node_relay) entry;
};

struct node_peer {
	struct cn_node *n;
	const struct cn_pl_peer *pl;
	uint8_t key[CN_KEY_LEN];
	char name[CN_NAME_MAX + 1];
	struct cn_handshake_peer hs_peer; /* as responder: x_pk, last timestamp */
	/* As initiator: the handshake and the session slot its index names. */
	struct cn_handshake hs;
	struct node_sess *hs_slot;
	bool hs_pending;
	uint64_t hs_sent_ms, hs_first_ms;
	/* Sessions. */
	struct node_sess *cur, *prev, *next;
	struct staged *staged[STAGED_MAX];
	unsigned int nstaged;
	/* Paths. */
	struct node_relay *relay_hint; /* the relay that last delivered from it */
	int dfd;		       /* direct socket, -1: none */
	struct event *dev;
	struct cn_addr dremote;
	uint16_t dlocal_port;
	bool direct_up;
	uint64_t d_last_rx_ms, d_last_tx_ms;
	char d_type[32];
	struct cn_ice *ice;
	uint32_t ice_gen, ice_remote_gen;
	bool ice_turn_up;
	uint64_t ice_next_ms, ice_backoff_ms;
	/* Accounting. */
	uint64_t last_rx_ms, last_tx_ms, last_probe_ms, probe_id, probe_sent_us, rtt_us;
	uint64_t rx_bytes, tx_bytes, handshakes;
	int64_t last_handshake_unix;
	uint32_t present; /* bit i: relay idx i says the peer is connected to it */
	bool removed;
};

struct control_client {
	struct cn_node *n;
	struct bufferevent *bev;
	uint64_t ping_id, ping_sent_us, ping_deadline_ms;
	struct node_peer *ping_peer;
	bool ping_sent_direct;
	LIST_ENTRY(control_client) entry;
};

struct node_metrics {
	uint64_t drop_no_peer, drop_bad_src, drop_bad_packet, drop_no_path, drop_staged_full;
	uint64_t drop_no_session, drop_replay, icmp_sent, handshakes_ok, handshakes_refused;
	uint64_t path_changes, lists_adopted, path_fallbacks;
};

struct cn_node {
	struct event_base *base;
	struct cn_node_config cfg;
	struct cn_identity *id;
	struct cn_handshake_local local;
	struct cn_peerlist *pl;
	char *pl_text;
	size_t pl_len;
	const struct cn_pl_peer *self;
	char self_name[CN_NAME_MAX + 1];
	uint8_t self_ip4[4], self_ip6[16];
	struct node_peer **peers; /* list order, without self */
	size_t npeers;
	struct node_peer **by_pl; /* by index in pl->peers; NULL for self */
	struct cn_u32map sessions;
	TAILQ_HEAD(, node_relay) relays;
	int tun_fd;
	char tun_name[IFNAMSIZ];
	struct event *tun_ev, *tick;
	struct cn_glib_loop *glib;
	struct evconnlistener *control;
	struct evhttp *http;
	struct cn_resolver *resolver;
	struct cn_dns_zone zone;
	struct cn_dns_server *dns;
	struct cn_deployd *deployd; /* deploy listener (docs/DEPLOY.md), NULL when off */
	LIST_HEAD(, control_client) clients;
	unsigned int nclients;
	struct node_metrics m;
	struct cn_ratelimit rl_log;
	uint64_t icmp_window_ms;
	unsigned int icmp_count;
	bool endpoints_dirty;
	uint8_t buf[PKT_MAX + 64];
	uint8_t out[PKT_MAX + 64];
	uint8_t bufs[BATCH][DGRAM_MAX];
	struct sockaddr_storage from[BATCH];
};

static const char *const path_names[] = {"relay", "direct", "turn"};

/* Adds up to a quarter of ms at random. */
static uint64_t jitter(uint64_t ms)
{
	return ms + randombytes_uniform((uint32_t)(ms / 4 + 1));
}

static void peer_send_pt(struct node_peer *p, const uint8_t *pt, size_t len);
static void peer_initiate(struct node_peer *p);
static void direct_close(struct node_peer *p);
static void ice_stop(struct node_peer *p);
static void control_ping_reply(struct cn_node *n, struct node_peer *p, uint64_t id,
			       enum cn_ctl_path there, enum cn_ctl_path back);

/* ---- sessions ------------------------------------------------------------ */

static struct node_sess *sess_new(struct node_peer *p)
{
	struct node_sess *ns = calloc(1, sizeof(*ns));

	if (ns)
		ns->peer = p;
	return ns;
}

/* A fresh local index, unused by any session or handshake of this node. */
static uint32_t fresh_index(struct cn_node *n)
{
	uint32_t idx;

	do {
		idx = randombytes_random();
	} while (idx == 0 || cn_u32map_get(&n->sessions, idx));
	return idx;
}

static void sess_free(struct cn_node *n, struct node_sess *ns)
{
	if (!ns)
		return;
	if (ns->s.local_index && cn_u32map_get(&n->sessions, ns->s.local_index) == ns)
		cn_u32map_del(&n->sessions, ns->s.local_index);
	cn_session_wipe(&ns->s);
	free(ns);
}

static void peer_drop_sessions(struct node_peer *p)
{
	struct cn_node *n = p->n;

	sess_free(n, p->cur);
	sess_free(n, p->prev);
	sess_free(n, p->next);
	p->cur = p->prev = p->next = NULL;
	if (p->hs_pending) {
		sess_free(n, p->hs_slot);
		p->hs_slot = NULL;
		cn_handshake_wipe(&p->hs);
		p->hs_pending = false;
	}
}

static void peer_drop_staged(struct node_peer *p)
{
	for (unsigned int i = 0; i < p->nstaged; i++)
		free(p->staged[i]);
	p->nstaged = 0;
}

static void peer_free(struct node_peer *p)
{
	if (!p)
		return;
	peer_drop_sessions(p);
	peer_drop_staged(p);
	ice_stop(p);
	direct_close(p);
	free(p);
}

/* ---- relays ---------------------------------------------------------------- */

static struct node_relay *first_up_relay(struct cn_node *n, const struct node_relay * not )
{
	struct node_relay *r;

	TAILQ_FOREACH (r, &n->relays, entry)
		if (r->up && r != not )
			return r;
	return NULL;
}

static int relay_send(struct node_peer *p, const uint8_t *pkt, size_t len)
{
	struct node_relay *r =
		p->relay_hint && p->relay_hint->up ? p->relay_hint : first_up_relay(p->n, NULL);

	if (!r)
		return -CN_ESTATE;
	return cn_relay_client_send_packet(r->c, p->key, pkt, len);
}

/* ---- paths ----------------------------------------------------------------- */

static int direct_send(struct node_peer *p, const uint8_t *pkt, size_t len)
{
	if (p->dfd < 0)
		return -CN_ESTATE;
	if (sendto(p->dfd, pkt, len, MSG_DONTWAIT, (const struct sockaddr *)&p->dremote.ss,
		   p->dremote.len) < 0)
		return -CN_EIO;
	p->d_last_tx_ms = cn_clock_ms();
	return 0;
}

/* Sends a session message (handshake or data) to p over its best path. */
static int path_send(struct node_peer *p, const uint8_t *pkt, size_t len)
{
	int ret = -CN_ESTATE;

	if (p->direct_up)
		ret = direct_send(p, pkt, len);
	else if (p->ice_turn_up && p->ice)
		ret = cn_ice_send(p->ice, pkt, len);
	if (ret && (p->direct_up || p->ice_turn_up))
		p->n->m.path_fallbacks++; /* the best path refused it (full socket buffer) */
	if (ret)
		ret = relay_send(p, pkt, len);
	/* No relay either: a remembered direct endpoint is worth a try. */
	if (ret && !p->direct_up && p->dfd >= 0)
		ret = direct_send(p, pkt, len);
	if (ret)
		p->n->m.drop_no_path++;
	else
		p->last_tx_ms = cn_clock_ms();
	return ret;
}

/* ---- handshakes ------------------------------------------------------------ */

static void peer_initiate(struct node_peer *p)
{
	struct cn_node *n = p->n;
	uint8_t msg[CN_HANDSHAKE_INITIATION_LEN], ts[CN_TAI64N_LEN];
	struct timespec wall;
	uint64_t now = cn_clock_ms();
	bool sent = false;

	if (p->hs_pending) {
		sess_free(n, p->hs_slot);
		p->hs_slot = NULL;
		cn_handshake_wipe(&p->hs);
		p->hs_pending = false;
	} else {
		p->hs_first_ms = now;
	}
	clock_gettime(CLOCK_REALTIME, &wall);
	cn_handshake_tai64n(ts, (uint64_t)wall.tv_sec, (uint32_t)wall.tv_nsec);
	/*
	 * The index is reserved by an empty session slot (it refuses every
	 * data message) so the response finds this peer; the session is then
	 * built in the slot.
	 */
	p->hs_slot = sess_new(p);
	if (!p->hs_slot)
		return;
	p->hs_slot->s.local_index = fresh_index(n);
	if (cn_handshake_create_initiation(&p->hs, &n->local, p->hs_peer.x_pk,
					   p->hs_slot->s.local_index, ts, NULL, msg) != 0 ||
	    cn_u32map_put(&n->sessions, p->hs_slot->s.local_index, p->hs_slot) != 0) {
		cn_handshake_wipe(&p->hs);
		free(p->hs_slot);
		p->hs_slot = NULL;
		return;
	}
	p->hs_pending = true;
	p->hs_sent_ms = now;
	/* Over every path that may reach the peer; the copy that arrives second
	 * is refused as a replay, which is harmless. */
	if (p->dfd >= 0 && direct_send(p, msg, sizeof(msg)) == 0)
		sent = true;
	if (relay_send(p, msg, sizeof(msg)) == 0)
		sent = true;
	if (sent)
		p->last_tx_ms = now;
	cn_log_debug("peer %s: handshake initiation sent", p->name);
}

static void peer_session_up(struct node_peer *p, struct node_sess *ns)
{
	struct timespec wall;

	sess_free(p->n, p->prev);
	p->prev = p->cur;
	p->cur = ns;
	clock_gettime(CLOCK_REALTIME, &wall);
	p->last_handshake_unix = wall.tv_sec;
	p->handshakes++;
	p->n->m.handshakes_ok++;
	if (!p->ice && !p->direct_up && p->ice_next_ms == 0)
		p->ice_next_ms = cn_clock_ms() + ICE_START_DELAY_MS;
}

static void peer_flush_staged(struct node_peer *p)
{
	unsigned int n = p->nstaged;
	struct staged *list[STAGED_MAX];

	memcpy(list, p->staged, n * sizeof(list[0]));
	p->nstaged = 0;
	for (unsigned int i = 0; i < n; i++) {
		peer_send_pt(p, list[i]->data, list[i]->len);
		free(list[i]);
	}
}

static struct node_peer *peer_by_pl(struct cn_node *n, const struct cn_pl_peer *pp);

static struct cn_handshake_peer *lookup_x(void *ctx, const uint8_t x_pk[CN_KEY_LEN])
{
	struct cn_node *n = ctx;
	struct node_peer *p = n->pl ? peer_by_pl(n, cn_peerlist_find_xkey(n->pl, x_pk)) : NULL;

	return p ? &p->hs_peer : NULL;
}

static struct node_peer *peer_of_hs(struct cn_handshake_peer *hp)
{
	return (struct node_peer *)((char *)hp - offsetof(struct node_peer, hs_peer));
}

/* ---- sending ---------------------------------------------------------------- */

static void peer_stage(struct node_peer *p, const uint8_t *pt, size_t len)
{
	struct staged *s;

	if (p->nstaged == STAGED_MAX) {
		p->n->m.drop_staged_full++;
		free(p->staged[0]);
		memmove(p->staged, p->staged + 1, (STAGED_MAX - 1) * sizeof(p->staged[0]));
		p->nstaged--;
	}
	s = malloc(sizeof(*s) + len);
	if (!s)
		return;
	s->len = len;
	memcpy(s->data, pt, len);
	p->staged[p->nstaged++] = s;
}

/* Encrypts pt (IP packet, control message or empty keepalive) and sends it. */
static void peer_send_pt(struct node_peer *p, const uint8_t *pt, size_t len)
{
	struct cn_node *n = p->n;
	uint64_t now = cn_clock_ms();
	size_t out_len = 0;
	int ret;

	if (!p->cur || p->cur->s.state != CN_SESSION_ESTABLISHED ||
	    cn_session_expired(&p->cur->s, now)) {
		if (len)
			peer_stage(p, pt, len);
		if (!p->hs_pending)
			peer_initiate(p);
		return;
	}
	ret = cn_session_encrypt(&p->cur->s, now, pt, len, n->out, sizeof(n->out), &out_len);
	if (ret) {
		if (len)
			peer_stage(p, pt, len);
		if (!p->hs_pending)
			peer_initiate(p);
		return;
	}
	if (path_send(p, n->out, out_len) == 0)
		p->tx_bytes += len;
	if (!p->hs_pending && p->cur->s.initiator &&
	    cn_session_should_rekey_on_send(&p->cur->s, now))
		peer_initiate(p);
}

static void peer_send_ctl(struct node_peer *p, const struct cn_ctl_msg *m)
{
	uint8_t buf[CN_CTL_MSG_MAX];
	size_t len = 0;

	if (cn_ctl_encode(m, buf, sizeof(buf), &len) == 0)
		peer_send_pt(p, buf, len);
}

/* ---- receiving ---------------------------------------------------------------- */

static void deliver_ip(struct node_peer *p, uint8_t *pt, size_t len)
{
	struct cn_node *n = p->n;
	struct cn_ip_info ip;

	if (cn_ip_parse(pt, len, &ip) != 0) {
		n->m.drop_bad_packet++;
		return;
	}
	/* Cryptokey routing: the peer may only speak for its own addresses. */
	if ((ip.version == 4 && memcmp(ip.src, p->pl->ip4, 4) != 0) ||
	    (ip.version == 6 && memcmp(ip.src, p->pl->ip6, 16) != 0)) {
		n->m.drop_bad_src++;
		cn_log_ratelimited(&n->rl_log, cn_clock_ms(), CN_LOG_WARN,
				   "peer %s: dropped a packet with a source address not its own",
				   p->name);
		return;
	}
	if (write(n->tun_fd, pt, ip.total_len) < 0)
		n->m.drop_bad_packet++;
}

static void handle_ctl(struct node_peer *p, const uint8_t *pt, size_t len, enum cn_ctl_path via);

static void deliver(struct node_peer *p, uint8_t *pt, size_t len, enum cn_ctl_path via)
{
	if (len == 0)
		return; /* keepalive */
	if (cn_ctl_is_control(pt, len))
		handle_ctl(p, pt, len, via);
	else
		deliver_ip(p, pt, len);
}

static void direct_became_up(struct node_peer *p, const char *why)
{
	char a[CN_ADDR_TEXT_MAX];

	if (p->direct_up)
		return;
	p->direct_up = true;
	p->d_last_rx_ms = cn_clock_ms();
	p->n->m.path_changes++;
	p->n->endpoints_dirty = true;
	cn_addr_format((const struct sockaddr *)&p->dremote.ss, a);
	cn_log_info("peer %s: path is now direct via %s (%s)", p->name, a, why);
}

/*
 * One session message for this node from `from_peer` (known when the path
 * names it: a relay's RECV source, a peer's direct socket; NULL for TURN).
 */
static void node_rx(struct cn_node *n, struct node_peer *from_peer, enum cn_ctl_path via,
		    struct node_relay *relay, uint8_t *msg, size_t len, const struct sockaddr *sa,
		    socklen_t salen)
{
	enum cn_msg_type type;
	uint32_t index;
	uint64_t now = cn_clock_ms();
	struct node_peer *p;
	struct node_sess *ns;
	size_t pt_len = 0;
	int ret;

	if (cn_handshake_classify(msg, len, &type, &index) != 0) {
		n->m.drop_bad_packet++;
		return;
	}
	switch (type) {
	case CN_MSG_INITIATION: {
		struct cn_handshake hs;
		struct cn_handshake_peer *hp = NULL;
		uint8_t resp[CN_HANDSHAKE_RESPONSE_LEN];

		ret = cn_handshake_consume_initiation(&hs, &n->local, msg, len, lookup_x, n, &hp);
		if (ret) {
			n->m.handshakes_refused++;
			cn_log_ratelimited(&n->rl_log, now, CN_LOG_WARN,
					   "handshake initiation via %s refused: %s",
					   path_names[via], cn_strerror(ret));
			return;
		}
		p = peer_of_hs(hp);
		if (from_peer && from_peer != p) {
			cn_handshake_wipe(&hs);
			n->m.handshakes_refused++;
			return;
		}
		ns = sess_new(p);
		if (!ns) {
			cn_handshake_wipe(&hs);
			return;
		}
		ret = cn_handshake_create_response(&hs, fresh_index(n), NULL, now, resp, &ns->s);
		cn_handshake_wipe(&hs);
		if (ret || cn_u32map_put(&n->sessions, ns->s.local_index, ns) != 0) {
			cn_session_wipe(&ns->s);
			free(ns);
			return;
		}
		sess_free(n, p->next);
		p->next = ns;
		/* Answer the way the initiation came. */
		if (via == CN_CTL_PATH_DIRECT && from_peer && sa) {
			if (sendto(p->dfd, resp, sizeof(resp), MSG_DONTWAIT, sa, salen) == 0)
				p->d_last_tx_ms = now;
		} else if (via == CN_CTL_PATH_TURN && p->ice) {
			cn_ice_send(p->ice, resp, sizeof(resp));
		} else if (relay && relay->up) {
			cn_relay_client_send_packet(relay->c, p->key, resp, sizeof(resp));
		} else {
			relay_send(p, resp, sizeof(resp));
		}
		p->last_tx_ms = now;
		cn_log_debug("peer %s: handshake answered via %s", p->name, path_names[via]);
		return;
	}
	case CN_MSG_RESPONSE: {
		struct node_sess *fresh;

		ns = cn_u32map_get(&n->sessions, index);
		if (!ns)
			return;
		p = ns->peer;
		if (!p->hs_pending || ns != p->hs_slot || (from_peer && from_peer != p))
			return;
		ret = cn_handshake_consume_response(&p->hs, msg, len, now, &ns->s);
		if (ret) {
			n->m.handshakes_refused++;
			return;
		}
		fresh = ns;
		p->hs_slot = NULL;
		p->hs_pending = false;
		peer_session_up(p, fresh);
		/* An authenticated answer over the direct socket proves the path. */
		if (via == CN_CTL_PATH_DIRECT && from_peer)
			direct_became_up(p, "handshake answered");
		cn_log_info("peer %s: session established via %s", p->name, path_names[via]);
		if (p->nstaged)
			peer_flush_staged(p);
		else
			peer_send_pt(p, NULL, 0); /* confirms the session to the responder */
		return;
	}
	case CN_MSG_DATA:
		break;
	}
	ns = cn_u32map_get(&n->sessions, index);
	/* Reserved handshake indexes point at peers: tell them apart. */
	if (!ns || (from_peer && ns->peer != from_peer)) {
		n->m.drop_no_session++;
		return;
	}
	p = ns->peer;
	ret = cn_session_decrypt(&ns->s, now, msg, len, msg + CN_SESSION_HEADER_LEN,
				 len - CN_SESSION_HEADER_LEN, &pt_len);
	if (ret) {
		if (ret == -CN_EREPLAY)
			n->m.drop_replay++;
		else
			n->m.drop_bad_packet++;
		cn_log_ratelimited(&n->rl_log, now, CN_LOG_DEBUG,
				   "peer %s: packet via %s dropped: %s", p->name, path_names[via],
				   cn_strerror(ret));
		return;
	}
	if (ns == p->next) {
		/* The initiator's first packet confirms the session we answered. */
		p->next = NULL;
		peer_session_up(p, ns);
		cn_log_info("peer %s: session established via %s", p->name, path_names[via]);
		if (p->nstaged)
			peer_flush_staged(p);
	}
	p->last_rx_ms = now;
	p->rx_bytes += pt_len;
	if (via == CN_CTL_PATH_DIRECT) {
		p->d_last_rx_ms = now;
		if (sa && !cn_addr_equal((const struct sockaddr *)&p->dremote.ss, sa)) {
			char a[CN_ADDR_TEXT_MAX];

			/* Roaming: the peer's address changed and a packet proved it. */
			memcpy(&p->dremote.ss, sa, salen);
			p->dremote.len = salen;
			cn_addr_format(sa, a);
			cn_log_info("peer %s: direct endpoint moved to %s", p->name, a);
			n->endpoints_dirty = true;
		}
		direct_became_up(p, "authenticated packet");
	} else if (via == CN_CTL_PATH_RELAY && relay) {
		p->relay_hint = relay;
	}
	if (p->cur == ns && p->cur->s.initiator && !p->hs_pending &&
	    cn_session_should_rekey_on_receive(&ns->s, now))
		peer_initiate(p);
	deliver(p, msg + CN_SESSION_HEADER_LEN, pt_len, via);
}

/* ---- TUN ------------------------------------------------------------------------ */

static struct node_peer *peer_by_pl(struct cn_node *n, const struct cn_pl_peer *pp)
{
	return pp ? n->by_pl[pp - n->pl->peers] : NULL;
}

/*
 * Whether p is up right now, for the names service's group answers: it is
 * connected to a relay (presence), or it talked to us within the session
 * lifetime.
 */
static bool peer_is_live(const struct node_peer *p, uint64_t now)
{
	if (p->present)
		return true;
	return p->cur && p->cur->s.state == CN_SESSION_ESTABLISHED &&
	       !cn_session_expired(&p->cur->s, now) && p->last_rx_ms &&
	       now - p->last_rx_ms < CN_SESSION_REJECT_AFTER_TIME_MS;
}

static void send_icmp_unreachable(struct cn_node *n, const uint8_t *pkt, size_t len,
				  const uint8_t *dst)
{
	uint8_t icmp[1280];
	size_t icmp_len = 0;
	uint64_t now = cn_clock_ms();

	if (now - n->icmp_window_ms >= 1000) {
		n->icmp_window_ms = now;
		n->icmp_count = 0;
	}
	if (n->icmp_count >= ICMP_PER_SECOND)
		return;
	/*
	 * From the unreachable address itself: the kernel drops an ICMPv4 error
	 * whose source is one of its own addresses (a martian).
	 */
	if (cn_icmp_unreachable(pkt, len, dst, icmp, sizeof(icmp), &icmp_len) == 0 &&
	    write(n->tun_fd, icmp, icmp_len) > 0) {
		n->icmp_count++;
		n->m.icmp_sent++;
	}
}

static void tun_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cn_node *n = arg;

	(void)what;
	for (int i = 0; i < BATCH; i++) {
		ssize_t r = read(fd, n->buf, sizeof(n->buf));
		struct cn_ip_info ip;
		const struct cn_pl_peer *pp;
		struct node_peer *p;

		if (r <= 0)
			return;
		if (cn_ip_parse(n->buf, (size_t)r, &ip) != 0)
			continue;
		pp = ip.version == 4 ? cn_peerlist_find_ip4(n->pl, ip.dst)
				     : cn_peerlist_find_ip6(n->pl, ip.dst);
		p = peer_by_pl(n, pp);
		if (!p) {
			n->m.drop_no_peer++;
			if (pp != n->self || !n->self)
				send_icmp_unreachable(n, n->buf, ip.total_len, ip.dst);
			continue;
		}
		peer_send_pt(p, n->buf, ip.total_len);
	}
}

/* ---- direct path ---------------------------------------------------------------- */

static void direct_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct node_peer *p = arg;
	struct cn_node *n = p->n;
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	int got;

	(void)what;
	memset(msgs, 0, sizeof(msgs));
	for (int i = 0; i < BATCH; i++) {
		iov[i].iov_base = n->bufs[i];
		iov[i].iov_len = DGRAM_MAX;
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_name = &n->from[i];
		msgs[i].msg_hdr.msg_namelen = sizeof(n->from[i]);
	}
	got = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
	for (int i = 0; i < got; i++) {
		uint8_t *b = n->bufs[i];
		size_t len = msgs[i].msg_len;

		/* STUN (libnice's last checks, stray probes) is not ours. */
		if (len == 0 || b[0] < CN_MSG_INITIATION || (msgs[i].msg_hdr.msg_flags & MSG_TRUNC))
			continue;
		node_rx(n, p, CN_CTL_PATH_DIRECT, NULL, b, len,
			(const struct sockaddr *)&n->from[i], msgs[i].msg_hdr.msg_namelen);
		/* node_rx may have replaced this peer's socket (never freed p). */
		if (p->dfd != fd)
			return;
	}
}

static void direct_close(struct node_peer *p)
{
	if (p->dev)
		event_free(p->dev);
	p->dev = NULL;
	if (p->dfd >= 0)
		close(p->dfd);
	p->dfd = -1;
	p->direct_up = false;
}

/* Takes fd (owned from now on) as p's direct socket towards remote. */
static int direct_adopt(struct node_peer *p, int fd, const struct sockaddr *remote,
			socklen_t remote_len)
{
	struct sockaddr_storage local;
	socklen_t llen = sizeof(local);
	int bufsz = 4 << 20;

	direct_close(p);
	p->dfd = fd;
	memcpy(&p->dremote.ss, remote, remote_len);
	p->dremote.len = remote_len;
	if (getsockname(fd, (struct sockaddr *)&local, &llen) == 0)
		p->dlocal_port = (uint16_t)cn_addr_port((const struct sockaddr *)&local);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bufsz, sizeof(bufsz)) != 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bufsz, sizeof(bufsz)) != 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof(bufsz));
	evutil_make_socket_nonblocking(fd);
	p->dev = event_new(p->n->base, fd, EV_READ | EV_PERSIST, direct_read_cb, p);
	if (!p->dev || event_add(p->dev, NULL) != 0) {
		direct_close(p);
		return -CN_ENOMEM;
	}
	return 0;
}

static void direct_became_down(struct node_peer *p, const char *why)
{
	if (!p->direct_up)
		return;
	p->direct_up = false;
	p->n->m.path_changes++;
	/* The socket stays open: the peer may come back to it (restart). */
	p->ice_backoff_ms = p->ice_backoff_ms ? p->ice_backoff_ms : ICE_BACKOFF_MIN_MS;
	p->ice_next_ms = cn_clock_ms() + jitter(p->ice_backoff_ms);
	cn_log_info("peer %s: direct path lost (%s); using the relay, ICE again in %" PRIu64 " ms",
		    p->name, why, p->ice_backoff_ms);
}

/* state_dir/endpoints: "name local_port remote" per peer with a direct path. */
static void endpoints_save(struct cn_node *n)
{
	char path[CN_NODE_PATH_MAX + 32], *text = NULL;
	size_t len = 0, cap = 0;
	struct cn_errbuf e = {{0}};
	FILE *f = open_memstream(&text, &cap);

	if (!f)
		return;
	fprintf(f, "# cairn-node: last working direct endpoints, rewritten by the node\n");
	for (size_t i = 0; i < n->npeers; i++) {
		struct node_peer *p = n->peers[i];
		char a[CN_ADDR_TEXT_MAX];

		if (p->dfd < 0 || !p->dlocal_port)
			continue;
		cn_addr_format((const struct sockaddr *)&p->dremote.ss, a);
		fprintf(f, "%s %u %s\n", p->name, p->dlocal_port, a);
	}
	fclose(f);
	len = strlen(text);
	snprintf(path, sizeof(path), "%s/%s", n->cfg.state_dir, STATE_ENDPOINTS_FILE);
	if (cn_file_write_atomic(path, text, len, 0600, &e))
		cn_log_warn("cannot save direct endpoints: %s", e.msg);
	free(text);
	n->endpoints_dirty = false;
}

/*
 * Re-opens the direct sockets of the last run on their old local ports and
 * says hello to the old remote endpoints, so peers reachable directly come
 * back even with every relay down.
 */
static void endpoints_restore(struct cn_node *n)
{
	char path[CN_NODE_PATH_MAX + 32], *text = NULL, *save = NULL;
	size_t len = 0;
	struct cn_errbuf e = {{0}};

	snprintf(path, sizeof(path), "%s/%s", n->cfg.state_dir, STATE_ENDPOINTS_FILE);
	if (cn_file_read(path, 64 * 1024, &text, &len, &e) != 0)
		return;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[CN_NAME_MAX + 1], remote[CN_ADDR_TEXT_MAX];
		unsigned int port;
		struct cn_addr ra, la;
		const struct cn_pl_peer *pp;
		struct node_peer *p;
		int fd;

		if (line[0] == '#' || sscanf(line, "%63s %u %63s", name, &port, remote) != 3 ||
		    port > 65535 || cn_addr_parse(remote, &ra) != 0)
			continue;
		pp = cn_peerlist_find_name(n->pl, name);
		p = peer_by_pl(n, pp);
		if (!p || p->dfd >= 0)
			continue;
		memset(&la, 0, sizeof(la));
		la.ss.ss_family = ra.ss.ss_family;
		if (ra.ss.ss_family == AF_INET) {
			((struct sockaddr_in *)&la.ss)->sin_port = htons((uint16_t)port);
			la.len = sizeof(struct sockaddr_in);
		} else {
			((struct sockaddr_in6 *)&la.ss)->sin6_port = htons((uint16_t)port);
			la.len = sizeof(struct sockaddr_in6);
		}
		fd = socket(ra.ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		/* The same local port keeps the NAT mapping the peer knows. */
		if (bind(fd, (const struct sockaddr *)&la.ss, la.len) != 0)
			cn_log_info("peer %s: old local port %u is taken; trying another", name,
				    port);
		if (direct_adopt(p, fd, (const struct sockaddr *)&ra.ss, ra.len) == 0) {
			cn_log_info("peer %s: trying the last direct endpoint %s", name, remote);
			peer_initiate(p);
		}
	}
	free(text);
}

/* ---- ICE -------------------------------------------------------------------------- */

static void ice_stop(struct node_peer *p)
{
	if (p->ice)
		cn_ice_free(p->ice);
	p->ice = NULL;
	p->ice_turn_up = false;
	p->ice_gen = p->ice_remote_gen = 0;
}

static void ice_local_sdp(void *arg, const char *sdp)
{
	struct node_peer *p = arg;
	struct cn_ctl_msg m = {.type = CN_CTL_ICE_SDP,
			       .gen = p->ice_gen,
			       .seen = p->ice_remote_gen,
			       .sdp = sdp,
			       .sdp_len = strlen(sdp)};

	peer_send_ctl(p, &m);
}

static void ice_local_done(void *arg)
{
	struct node_peer *p = arg;
	struct cn_ctl_msg m = {.type = CN_CTL_ICE_DONE, .gen = p->ice_gen};

	peer_send_ctl(p, &m);
}

static void ice_selected(void *arg, enum cn_ice_path path, int fd, const struct sockaddr *remote,
			 socklen_t remote_len, const char *local_type, const char *remote_type)
{
	struct node_peer *p = arg;

	p->ice_backoff_ms = 0;
	if (path == CN_ICE_TURN) {
		p->ice_turn_up = true;
		p->n->m.path_changes++;
		cn_log_info("peer %s: path is now TURN (ICE relayed pair)", p->name);
		return;
	}
	snprintf(p->d_type, sizeof(p->d_type), "%s-%s", local_type, remote_type);
	if (direct_adopt(p, fd, remote, remote_len) != 0)
		return;
	direct_became_up(p, p->d_type);
	/* The agent has handed its socket over; it has nothing left to do. */
	cn_ice_free(p->ice);
	p->ice = NULL;
	/* Prove the path at once (the peer learns it too). */
	peer_send_pt(p, NULL, 0);
}

static void ice_failed(void *arg, const char *why)
{
	struct node_peer *p = arg;

	cn_log_info("peer %s: ICE found no direct path (%s); staying on the relay", p->name, why);
	ice_stop(p);
	p->ice_backoff_ms = p->ice_backoff_ms ? p->ice_backoff_ms * 2 : ICE_BACKOFF_MIN_MS;
	if (p->ice_backoff_ms > ICE_BACKOFF_MAX_MS)
		p->ice_backoff_ms = ICE_BACKOFF_MAX_MS;
	p->ice_next_ms = cn_clock_ms() + jitter(p->ice_backoff_ms);
}

static void ice_recv(void *arg, const uint8_t *buf, size_t len)
{
	struct node_peer *p = arg;
	struct cn_node *n = p->n;

	if (len > sizeof(n->buf))
		return;
	memcpy(n->buf, buf, len);
	node_rx(n, p, CN_CTL_PATH_TURN, NULL, n->buf, len, NULL, 0);
}

/* Interface addresses for host candidates: not loopback, not the overlay. */
static unsigned int ice_local_addrs(struct cn_node *n, char addrs[][64], unsigned int max)
{
	struct ifaddrs *ifa = NULL;
	unsigned int count = 0;

	if (n->cfg.nice_ifaddrs) {
		for (unsigned int i = 0; i < n->cfg.nice_ifaddrs && i < max; i++)
			snprintf(addrs[count++], 64, "%s", n->cfg.ice_ifaddrs[i]);
		return count;
	}
	if (getifaddrs(&ifa) != 0)
		return 0;
	for (struct ifaddrs *i = ifa; i && count < max; i = i->ifa_next) {
		if (!i->ifa_addr || !(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK) ||
		    strcmp(i->ifa_name, n->tun_name) == 0)
			continue;
		if (i->ifa_addr->sa_family == AF_INET) {
			inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr,
				  addrs[count++], 64);
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			const struct in6_addr *a = &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;

			if (IN6_IS_ADDR_LINKLOCAL(a))
				continue;
			inet_ntop(AF_INET6, a, addrs[count++], 64);
		}
	}
	freeifaddrs(ifa);
	return count;
}

static int ice_start(struct node_peer *p)
{
	struct cn_node *n = p->n;
	struct cn_ice_config ic = {0};
	static const struct cn_ice_cbs cbs = {ice_local_sdp, ice_local_done, ice_selected,
					      ice_failed, ice_recv};
	char addrs[CN_NODE_MAX_IFADDRS][64];
	const char *addr_ptrs[CN_NODE_MAX_IFADDRS];
	struct cn_errbuf e = {{0}};
	struct node_relay *r = first_up_relay(n, NULL);
	bool controlling = memcmp(n->id->ed_pk, p->key, CN_KEY_LEN) < 0;

	ice_stop(p);
	if (r && r->have_addr && r->stun_port) {
		/* The relay's STUN service gives the server-reflexive candidate. */
		char a[CN_ADDR_TEXT_MAX];

		cn_addr_format((const struct sockaddr *)&r->addr.ss, a);
		if (r->addr.ss.ss_family == AF_INET6) {
			snprintf(ic.stun.host, sizeof(ic.stun.host), "%s", a + 1);
			*strrchr(ic.stun.host, ']') = '\0';
		} else {
			snprintf(ic.stun.host, sizeof(ic.stun.host), "%s", a);
			*strrchr(ic.stun.host, ':') = '\0';
		}
		ic.stun.port = r->stun_port;
	}
	for (unsigned int i = 0; i < n->cfg.nturn && i < 2; i++) {
		snprintf(ic.turn[i].host, sizeof(ic.turn[i].host), "%s", n->cfg.turn[i].host);
		ic.turn[i].port = n->cfg.turn[i].port;
		snprintf(ic.turn[i].user, sizeof(ic.turn[i].user), "%s", n->cfg.turn[i].username);
		snprintf(ic.turn[i].pass, sizeof(ic.turn[i].pass), "%s", n->cfg.turn[i].password);
		ic.nturn++;
	}
	ic.nlocal_addrs = ice_local_addrs(n, addrs, CN_NODE_MAX_IFADDRS);
	for (unsigned int i = 0; i < ic.nlocal_addrs; i++)
		addr_ptrs[i] = addrs[i];
	ic.local_addrs = addr_ptrs;
	do {
		p->ice_gen = randombytes_random();
	} while (p->ice_gen == 0);
	p->ice_remote_gen = 0;
	p->ice = cn_ice_new(n->glib, &ic, controlling, &cbs, p, &e);
	if (!p->ice) {
		cn_log_warn("peer %s: cannot start ICE: %s", p->name, e.msg);
		p->ice_gen = 0;
		return -CN_EIO;
	}
	cn_log_debug("peer %s: ICE started (%s)", p->name,
		     controlling ? "controlling" : "controlled");
	return 0;
}

/*
 * An ICE_SDP from the peer: start, answer or restart our agent. gen names
 * the peer's agent, seen the agent of ours it paired with (0: none).
 */
static void ice_on_sdp(struct node_peer *p, const struct cn_ctl_msg *m)
{
	char sdp[CN_CTL_SDP_MAX + 1];

	if (!p->n->cfg.ice || p->direct_up)
		return;
	memcpy(sdp, m->sdp, m->sdp_len);
	sdp[m->sdp_len] = '\0';
	if (p->ice && m->seen == p->ice_gen) {
		/* The peer answers our current agent. */
		if (p->ice_remote_gen == 0 && cn_ice_set_remote_sdp(p->ice, sdp) == 0)
			p->ice_remote_gen = m->gen;
		return;
	}
	if (p->ice && p->ice_remote_gen == 0) {
		/* Both sides started at once, or the peer starts fresh. */
		if (cn_ice_set_remote_sdp(p->ice, sdp) == 0)
			p->ice_remote_gen = m->gen;
		return;
	}
	if (p->ice && p->ice_remote_gen == m->gen)
		return; /* a repeat */
	/* No agent, or one paired with an older agent of the peer: start anew. */
	if (ice_start(p) == 0 && cn_ice_set_remote_sdp(p->ice, sdp) == 0)
		p->ice_remote_gen = m->gen;
}

/* ---- control messages between nodes ------------------------------------------------ */

static void handle_ctl(struct node_peer *p, const uint8_t *pt, size_t len, enum cn_ctl_path via)
{
	struct cn_ctl_msg m;

	if (cn_ctl_decode(pt, len, &m) != 0) {
		p->n->m.drop_bad_packet++;
		return;
	}
	switch (m.type) {
	case CN_CTL_ICE_SDP:
		ice_on_sdp(p, &m);
		break;
	case CN_CTL_ICE_DONE:
		if (p->ice && m.gen == p->ice_remote_gen)
			cn_ice_set_remote_done(p->ice);
		break;
	case CN_CTL_PROBE: {
		struct cn_ctl_msg reply = {.type = CN_CTL_PROBE_REPLY, .id = m.id, .path = via};

		peer_send_ctl(p, &reply);
		break;
	}
	case CN_CTL_PROBE_REPLY:
		if (m.id == p->probe_id && p->probe_sent_us) {
			p->rtt_us = cn_clock_us() - p->probe_sent_us;
			p->probe_sent_us = 0;
		}
		control_ping_reply(p->n, p, m.id, m.path, via);
		break;
	}
}

/* ---- relay links -------------------------------------------------------------------- */

static void relay_up(struct cn_relay_client *c, void *arg)
{
	struct node_relay *r = arg;

	(void)c;
	r->up = true;
	r->backoff_ms = 0;
	cn_log_info("relay %s: link up over %s", r->name, r->use_tcp ? "TCP" : "UDP");
	/* Peers waiting for any path get their handshakes out now. */
	for (size_t i = 0; i < r->n->npeers; i++) {
		struct node_peer *p = r->n->peers[i];

		if (p->hs_pending || p->nstaged)
			peer_initiate(p);
	}
}

static void relay_schedule(struct node_relay *r)
{
	r->backoff_ms = r->backoff_ms ? r->backoff_ms * 2 : RELAY_BACKOFF_MIN_MS;
	if (r->backoff_ms > RELAY_BACKOFF_MAX_MS)
		r->backoff_ms = RELAY_BACKOFF_MAX_MS;
	r->next_try_ms = cn_clock_ms() + jitter(r->backoff_ms);
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
	relay_schedule(r);
	for (size_t i = 0; i < r->n->npeers; i++) {
		if (r->n->peers[i]->relay_hint == r)
			r->n->peers[i]->relay_hint = NULL;
		/* What this relay said about presence no longer holds. */
		r->n->peers[i]->present &= ~(1u << r->idx);
	}
}

static int adopt_list(struct cn_node *n, struct cn_peerlist *pl, char *text, size_t len,
		      const char *source);
static void zone_update(struct cn_node *n);

static void relay_list_chunk(struct node_relay *r, const struct cn_link_msg *m)
{
	struct cn_node *n = r->n;
	struct cn_peerlist *pl = NULL;
	struct cn_errbuf e = {{0}};
	int ret;

	if (m->total > CN_PEERLIST_MAX_BYTES)
		return;
	if (m->offset == 0) {
		free(r->list);
		r->list = malloc(m->total);
		r->list_total = m->total;
		r->list_got = 0;
		r->list_serial = m->serial;
	}
	if (!r->list || m->offset != r->list_got || m->total != r->list_total ||
	    m->serial != r->list_serial)
		return;
	memcpy(r->list + r->list_got, m->data, m->data_len);
	r->list_got += (uint32_t)m->data_len;
	if (r->list_got < r->list_total)
		return;
	ret = cn_peerlist_load(r->list, r->list_total, n->cfg.root_key, n->pl->serial,
			       (int64_t)time(NULL), &pl, &e);
	if (ret == 0 && pl->serial > n->pl->serial) {
		char *text = (char *)r->list;

		r->list = NULL;
		char label[CN_NAME_MAX + 16];

		snprintf(label, sizeof(label), "relay %s", r->name);
		adopt_list(n, pl, text, r->list_total, label);
		return;
	}
	if (ret && ret != -CN_EROLLBACK)
		cn_log_warn("relay %s: peer list refused: %s", r->name, e.msg);
	cn_peerlist_free(pl);
	free(r->list);
	r->list = NULL;
}

static void relay_msg(struct cn_relay_client *c, void *arg, const struct cn_link_msg *m)
{
	struct node_relay *r = arg;
	struct cn_node *n = r->n;
	struct node_peer *p;

	(void)c;
	switch (m->type) {
	case CN_LINK_RECV:
		p = peer_by_pl(n, cn_peerlist_find_key(n->pl, m->key));
		if (!p || m->data_len > sizeof(n->buf)) {
			n->m.drop_no_peer++;
			return;
		}
		memcpy(n->buf, m->data, m->data_len);
		node_rx(n, p, CN_CTL_PATH_RELAY, r, n->buf, m->data_len, NULL, 0);
		break;
	case CN_LINK_PRESENCE:
		p = peer_by_pl(n, cn_peerlist_find_key(n->pl, m->key));
		if (p && m->flag)
			p->present |= 1u << r->idx;
		else if (p)
			p->present &= ~(1u << r->idx);
		break;
	case CN_LINK_NOT_HERE:
		p = peer_by_pl(n, cn_peerlist_find_key(n->pl, m->key));
		if (p && (p->relay_hint == r || !p->relay_hint))
			p->relay_hint = first_up_relay(n, r);
		break;
	case CN_LINK_LIST_CHUNK:
		relay_list_chunk(r, m);
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
			relay_schedule(r);
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
			relay_schedule(r);
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
		relay_schedule(r);
	}
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
		relay_schedule(r);
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
		relay_schedule(r);
		return;
	}
	r->resolving = true;
}

static struct node_relay *relay_new(struct cn_node *n, const struct cn_pl_relay *pr)
{
	struct node_relay *r = calloc(1, sizeof(*r)), *o;
	char text[CN_HOST_MAX + 16];
	uint8_t ip[16];
	uint32_t used = 0;

	if (!r)
		return NULL;
	TAILQ_FOREACH (o, &n->relays, entry)
		used |= 1u << o->idx;
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
	return r;
}

static void relay_free(struct cn_node *n, struct node_relay *r)
{
	TAILQ_REMOVE(&n->relays, r, entry);
	for (size_t i = 0; i < n->npeers; i++) {
		if (n->peers[i]->relay_hint == r)
			n->peers[i]->relay_hint = NULL;
		n->peers[i]->present &= ~(1u << r->idx);
	}
	cn_relay_client_free(r->c);
	free(r->list);
	free(r);
}

/* ---- the peer list ------------------------------------------------------------------ */

/*
 * Makes pl (owned from now on, with its signed text) the list in force:
 * keeps the state of peers that stay, drops removed peers' sessions and
 * paths at once, creates new peers, reconciles the relays.
 */
static int adopt_list(struct cn_node *n, struct cn_peerlist *pl, char *text, size_t len,
		      const char *source)
{
	const struct cn_pl_peer *self = cn_peerlist_find_key(pl, n->id->ed_pk);
	struct node_peer **peers = NULL, **by_pl = NULL;
	size_t np = 0, total = pl->npeers;
	struct node_relay *r, *rt;
	char path[CN_NODE_PATH_MAX + 32];
	struct cn_errbuf e = {{0}};

	peers = calloc(total ? total : 1, sizeof(*peers));
	by_pl = calloc(total ? total : 1, sizeof(*by_pl));
	if (!peers || !by_pl) {
		free(peers);
		free(by_pl);
		cn_peerlist_free(pl);
		free(text);
		return -CN_ENOMEM;
	}
	for (size_t i = 0; i < pl->npeers; i++) {
		const struct cn_pl_peer *pp = &pl->peers[i];
		/* The old list's record of the same key, if any (n->pl is still the old list). */
		struct cn_handshake_peer *hp = lookup_x(n, pp->x_key);
		struct node_peer *p;

		if (pp == self)
			continue;
		if (hp) {
			p = peer_of_hs(hp);
		} else {
			p = calloc(1, sizeof(*p));
			if (!p)
				continue;
			p->n = n;
			p->dfd = -1;
			memcpy(p->key, pp->key, CN_KEY_LEN);
			cn_handshake_peer_init(&p->hs_peer, pp->x_key);
			if (n->pl)
				cn_log_info("peer %s: added by the new list", pp->name);
		}
		p->pl = pp;
		p->removed = false;
		snprintf(p->name, sizeof(p->name), "%s", pp->name);
		by_pl[i] = p;
		peers[np++] = p;
	}
	/* Whoever is not in the new list goes now. */
	for (size_t i = 0; i < n->npeers; i++)
		n->peers[i]->removed = true;
	for (size_t i = 0; i < np; i++)
		peers[i]->removed = false;
	for (size_t i = 0; i < n->npeers; i++) {
		if (!n->peers[i]->removed)
			continue;
		cn_log_info("peer %s: removed from the peer list; its sessions are dropped",
			    n->peers[i]->name);
		peer_free(n->peers[i]);
	}
	free(n->peers);
	free(n->by_pl);
	n->peers = peers;
	n->by_pl = by_pl;
	n->npeers = np;
	/* Relays: keep links to relays that stay, drop the others, add new ones. */
	TAILQ_FOREACH_SAFE (r, &n->relays, entry, rt) {
		const struct cn_pl_relay *pr = cn_peerlist_find_relay_key(pl, r->key);

		if (!pr) {
			cn_log_info("relay %s: removed from the peer list", r->name);
			relay_free(n, r);
		} else if (strcmp(pr->host, r->host) != 0 || pr->port != r->port ||
			   pr->stun_port != r->stun_port) {
			/* Same key, new place: the loop below makes it again. */
			cn_log_info("relay %s: moved to %s port %u", r->name, pr->host, pr->port);
			relay_free(n, r);
		}
	}
	for (size_t i = 0; i < pl->nrelays; i++) {
		bool have = false;

		TAILQ_FOREACH (r, &n->relays, entry)
			if (cn_key_equal(r->key, pl->relays[i].key))
				have = true;
		if (!have)
			relay_new(n, &pl->relays[i]);
	}
	cn_peerlist_free(n->pl);
	free(n->pl_text);
	n->pl = pl;
	n->pl_text = text;
	n->pl_len = len;
	n->self = self;
	if (!self) {
		cn_log_err("%s: this node's key is not in peer list serial %" PRId64
			   "; no peer will talk to it",
			   source, pl->serial);
	} else {
		snprintf(n->self_name, sizeof(n->self_name), "%s", self->name);
		memcpy(n->self_ip4, self->ip4, 4);
		memcpy(n->self_ip6, self->ip6, 16);
	}
	snprintf(path, sizeof(path), "%s/%s", n->cfg.state_dir, STATE_LIST_FILE);
	if (cn_file_write_atomic(path, text, len, 0644, &e))
		cn_log_warn("cannot keep the peer list in the state directory: %s", e.msg);
	n->m.lists_adopted++;
	zone_update(n);
	cn_log_info("%s: peer list serial %" PRId64 " in force: %zu peers, %zu relays", source,
		    pl->serial, np, pl->nrelays);
	return 0;
}

/* Loads a signed list from a file if it is newer than the one in force. */
static int load_list_file(struct cn_node *n, const char *path, bool quiet_missing,
			  struct cn_errbuf *e)
{
	struct cn_peerlist *pl = NULL;
	struct cn_errbuf pe = {{0}};
	char *text = NULL;
	size_t len = 0;
	int ret;

	ret = cn_file_read(path, CN_PEERLIST_MAX_BYTES, &text, &len, &pe);
	if (ret) {
		if (!quiet_missing)
			cn_errbuf_set(e, "%s", pe.msg);
		return ret;
	}
	ret = cn_peerlist_load((const uint8_t *)text, len, n->cfg.root_key,
			       n->pl ? n->pl->serial : 0, (int64_t)time(NULL), &pl, &pe);
	if (ret) {
		cn_errbuf_set(e, "%s: %s", path, pe.msg);
		free(text);
		return ret;
	}
	if (n->pl && pl->serial == n->pl->serial) {
		cn_peerlist_free(pl);
		free(text);
		return 0;
	}
	if (n->pl && strcmp(pl->network, n->pl->network) != 0) {
		cn_errbuf_set(e, "%s: network '%s' is not this node's network '%s'", path,
			      pl->network, n->pl->network);
		cn_peerlist_free(pl);
		free(text);
		return -CN_EFORMAT;
	}
	return adopt_list(n, pl, text, len, path);
}

int cn_node_reload(struct cn_node *n)
{
	struct cn_errbuf e = {{0}};
	int64_t before = n->pl->serial;
	int ret = load_list_file(n, n->cfg.peer_list, false, &e);

	if (ret)
		cn_log_warn("reload: %s; keeping serial %" PRId64, e.msg, n->pl->serial);
	else if (n->pl->serial == before)
		cn_log_info("reload: %s has serial %" PRId64 ", already in force", n->cfg.peer_list,
			    before);
	return ret;
}

/* ---- control socket ------------------------------------------------------------------- */

static void client_free(struct control_client *c)
{
	LIST_REMOVE(c, entry);
	c->n->nclients--;
	bufferevent_free(c->bev);
	free(c);
}

static void client_done_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	client_free(arg);
}

/* Sends the reply and closes once it is written. */
static void client_reply(struct control_client *c, struct evbuffer *b)
{
	bufferevent_write_buffer(c->bev, b);
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_setcb(c->bev, NULL, client_done_cb, NULL, c);
}

static void json_str(struct evbuffer *b, const char *s)
{
	evbuffer_add(b, "\"", 1);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			evbuffer_add_printf(b, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			evbuffer_add_printf(b, "\\u%04x", (unsigned char)*s);
		else
			evbuffer_add(b, s, 1);
	}
	evbuffer_add(b, "\"", 1);
}

static void status_json(struct cn_node *n, struct evbuffer *b)
{
	char a4[INET_ADDRSTRLEN], a6[INET6_ADDRSTRLEN], ep[CN_ADDR_TEXT_MAX + CN_NAME_MAX];
	struct node_relay *r;
	bool first = true;
	uint64_t now = cn_clock_ms();

	evbuffer_add_printf(b, "{\"node\":");
	json_str(b, n->self ? n->self_name : "");
	inet_ntop(AF_INET, n->self_ip4, a4, sizeof(a4));
	inet_ntop(AF_INET6, n->self_ip6, a6, sizeof(a6));
	evbuffer_add_printf(b,
			    ",\"ipv4\":\"%s\",\"ipv6\":\"%s\",\"network\":\"%s\",\"domain\":\"%s\","
			    "\"peer_list_serial\":%" PRId64 ",\"tun\":\"%s\",\"relays\":[",
			    a4, a6, n->pl->network, n->pl->domain, n->pl->serial, n->tun_name);
	TAILQ_FOREACH (r, &n->relays, entry) {
		evbuffer_add_printf(b, "%s{\"name\":", first ? "" : ",");
		json_str(b, r->name);
		evbuffer_add_printf(b, ",\"up\":%s,\"transport\":\"%s\",\"rtt_us\":%" PRIu64 "}",
				    r->up ? "true" : "false", r->use_tcp ? "tcp" : "udp",
				    r->c && r->up ? cn_relay_client_rtt_us(r->c) : 0);
		first = false;
	}
	evbuffer_add_printf(b, "],\"peers\":[");
	for (size_t i = 0; i < n->npeers; i++) {
		struct node_peer *p = n->peers[i];
		bool session = p->cur && p->cur->s.state == CN_SESSION_ESTABLISHED &&
			       !cn_session_expired(&p->cur->s, now);
		const char *path = !session		     ? "none"
				   : p->direct_up	     ? "direct"
				   : p->ice_turn_up	     ? "turn"
				   : first_up_relay(n, NULL) ? "relay"
							     : "none";

		inet_ntop(AF_INET, p->pl->ip4, a4, sizeof(a4));
		inet_ntop(AF_INET6, p->pl->ip6, a6, sizeof(a6));
		if (session && p->direct_up)
			cn_addr_format((const struct sockaddr *)&p->dremote.ss, ep);
		else if (session && !p->ice_turn_up && (p->relay_hint || first_up_relay(n, NULL)))
			snprintf(ep, sizeof(ep), "relay:%s",
				 (p->relay_hint ? p->relay_hint : first_up_relay(n, NULL))->name);
		else
			snprintf(ep, sizeof(ep), "-");
		evbuffer_add_printf(b, "%s{\"name\":", i ? "," : "");
		json_str(b, p->name);
		evbuffer_add_printf(b,
				    ",\"ipv4\":\"%s\",\"ipv6\":\"%s\",\"path\":\"%s\","
				    "\"endpoint\":\"%s\",\"rtt_us\":%" PRIu64
				    ",\"rx_bytes\":%" PRIu64 ",\"tx_bytes\":%" PRIu64
				    ",\"last_handshake\":%" PRId64 ",\"handshakes\":%" PRIu64 "}",
				    a4, a6, path, ep, p->rtt_us, p->rx_bytes, p->tx_bytes,
				    p->last_handshake_unix, p->handshakes);
	}
	evbuffer_add_printf(b,
			    "],\"drops\":{\"no_peer\":%" PRIu64 ",\"bad_source\":%" PRIu64
			    ",\"bad_packet\":%" PRIu64 ",\"no_path\":%" PRIu64
			    ",\"replay\":%" PRIu64 ",\"no_session\":%" PRIu64
			    ",\"staged_full\":%" PRIu64 "},\"handshakes_refused\":%" PRIu64
			    ",\"path_changes\":%" PRIu64 ",\"path_fallbacks\":%" PRIu64 "}\n",
			    n->m.drop_no_peer, n->m.drop_bad_src, n->m.drop_bad_packet,
			    n->m.drop_no_path, n->m.drop_replay, n->m.drop_no_session,
			    n->m.drop_staged_full, n->m.handshakes_refused, n->m.path_changes,
			    n->m.path_fallbacks);
}

static void human_bytes(uint64_t v, char out[16])
{
	if (v < 1024)
		snprintf(out, 16, "%" PRIu64 " B", v);
	else if (v < 1024 * 1024)
		snprintf(out, 16, "%.1f KiB", (double)v / 1024);
	else if (v < (uint64_t)1024 * 1024 * 1024)
		snprintf(out, 16, "%.1f MiB", (double)v / (1024 * 1024));
	else
		snprintf(out, 16, "%.2f GiB", (double)v / (1024.0 * 1024 * 1024));
}

static void status_table(struct cn_node *n, struct evbuffer *b)
{
	char a4[INET_ADDRSTRLEN], a6[INET6_ADDRSTRLEN], ep[CN_ADDR_TEXT_MAX + CN_NAME_MAX];
	char rx[16], tx[16];
	char rtt[16], hs[24];
	struct node_relay *r;
	struct timespec wall;
	uint64_t now = cn_clock_ms();

	clock_gettime(CLOCK_REALTIME, &wall);
	inet_ntop(AF_INET, n->self_ip4, a4, sizeof(a4));
	inet_ntop(AF_INET6, n->self_ip6, a6, sizeof(a6));
	evbuffer_add_printf(b, "node %s  %s  %s  network %s  peer list serial %" PRId64 "\n",
			    n->self_name, a4, a6, n->pl->network, n->pl->serial);
	TAILQ_FOREACH (r, &n->relays, entry) {
		if (r->up && r->c && cn_relay_client_rtt_us(r->c))
			evbuffer_add_printf(b, "relay %s: up over %s, rtt %.1f ms\n", r->name,
					    r->use_tcp ? "TCP" : "UDP",
					    (double)cn_relay_client_rtt_us(r->c) / 1000);
		else
			evbuffer_add_printf(b, "relay %s: %s\n", r->name,
					    r->up ? (r->use_tcp ? "up over TCP" : "up over UDP")
						  : "down");
	}
	evbuffer_add_printf(b, "\n%-16s %-15s %-7s %-28s %9s %10s %10s %s\n", "PEER", "ADDRESS",
			    "PATH", "ENDPOINT", "RTT", "RX", "TX", "HANDSHAKE");
	for (size_t i = 0; i < n->npeers; i++) {
		struct node_peer *p = n->peers[i];
		bool session = p->cur && p->cur->s.state == CN_SESSION_ESTABLISHED &&
			       !cn_session_expired(&p->cur->s, now);
		struct node_relay *via = p->relay_hint ? p->relay_hint : first_up_relay(n, NULL);
		const char *path = !session	    ? "-"
				   : p->direct_up   ? "direct"
				   : p->ice_turn_up ? "turn"
				   : via	    ? "relay"
						    : "-";

		inet_ntop(AF_INET, p->pl->ip4, a4, sizeof(a4));
		if (session && p->direct_up)
			cn_addr_format((const struct sockaddr *)&p->dremote.ss, ep);
		else if (session && via && !p->ice_turn_up)
			snprintf(ep, sizeof(ep), "relay %s", via->name);
		else
			snprintf(ep, sizeof(ep), "-");
		if (p->rtt_us)
			snprintf(rtt, sizeof(rtt), "%.1f ms", (double)p->rtt_us / 1000);
		else
			snprintf(rtt, sizeof(rtt), "-");
		if (p->last_handshake_unix)
			snprintf(hs, sizeof(hs), "%" PRId64 " s ago",
				 (int64_t)wall.tv_sec - p->last_handshake_unix);
		else
			snprintf(hs, sizeof(hs), "never");
		human_bytes(p->rx_bytes, rx);
		human_bytes(p->tx_bytes, tx);
		evbuffer_add_printf(b, "%-16s %-15s %-7s %-28s %9s %10s %10s %s\n", p->name, a4,
				    path, ep, rtt, rx, tx, hs);
	}
}

static void control_ping_reply(struct cn_node *n, struct node_peer *p, uint64_t id,
			       enum cn_ctl_path there, enum cn_ctl_path back)
{
	struct control_client *c;

	LIST_FOREACH (c, &n->clients, entry) {
		struct evbuffer *b;

		if (c->ping_peer != p || c->ping_id != id)
			continue;
		b = evbuffer_new();
		if (!b)
			return;
		evbuffer_add_printf(b,
				    "{\"ok\":true,\"peer\":\"%s\",\"path\":\"%s\","
				    "\"reply_path\":\"%s\",\"rtt_us\":%" PRIu64 "}\n",
				    p->name, path_names[there], path_names[back],
				    cn_clock_us() - c->ping_sent_us);
		c->ping_peer = NULL;
		client_reply(c, b);
		evbuffer_free(b);
		return;
	}
}

static void control_command(struct control_client *c, char *line)
{
	struct cn_node *n = c->n;
	struct evbuffer *b = evbuffer_new();

	if (!b)
		return;
	if (strcmp(line, "status") == 0) {
		status_json(n, b);
		client_reply(c, b);
	} else if (strcmp(line, "status text") == 0) {
		status_table(n, b);
		client_reply(c, b);
	} else if (strncmp(line, "ping ", 5) == 0) {
		struct node_peer *p = peer_by_pl(n, cn_peerlist_find_name(n->pl, line + 5));
		struct cn_ctl_msg m = {.type = CN_CTL_PROBE};

		if (!p) {
			evbuffer_add_printf(b, "{\"ok\":false,\"error\":\"no peer named ");
			json_str(b, line + 5);
			evbuffer_add_printf(b, " in the peer list\"}\n");
			client_reply(c, b);
		} else {
			m.id = ((uint64_t)randombytes_random() << 32) | randombytes_random();
			c->ping_peer = p;
			c->ping_id = m.id;
			c->ping_sent_us = cn_clock_us();
			c->ping_deadline_ms = cn_clock_ms() + CONTROL_PING_TIMEOUT_MS;
			peer_send_ctl(p, &m);
		}
	} else {
		evbuffer_add_printf(b, "{\"ok\":false,\"error\":\"unknown command\"}\n");
		client_reply(c, b);
	}
	evbuffer_free(b);
}

static void control_read_cb(struct bufferevent *bev, void *arg)
{
	struct control_client *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len = 0;
	char *line;

	if (evbuffer_get_length(in) > 512) {
		client_free(c);
		return;
	}
	line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF);
	if (!line)
		return;
	bufferevent_disable(bev, EV_READ);
	control_command(c, line);
	free(line);
}

static void control_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		client_free(arg);
}

static void control_accept_cb(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa,
			      int salen, void *arg)
{
	struct cn_node *n = arg;
	struct control_client *c;
	struct ucred cred;
	socklen_t clen = sizeof(cred);

	(void)lis;
	(void)sa;
	(void)salen;
	/* Root only (the socket's mode says so too). */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) != 0 ||
	    (cred.uid != 0 && cred.uid != geteuid()) || n->nclients >= CONTROL_MAX_CLIENTS) {
		evutil_closesocket(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		evutil_closesocket(fd);
		return;
	}
	c->n = n;
	c->bev = bufferevent_socket_new(n->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!c->bev) {
		evutil_closesocket(fd);
		free(c);
		return;
	}
	LIST_INSERT_HEAD(&n->clients, c, entry);
	n->nclients++;
	bufferevent_setcb(c->bev, control_read_cb, NULL, control_event_cb, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

static int control_open(struct cn_node *n, struct cn_errbuf *e)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	char dir[sizeof(sun.sun_path)], *slash;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", n->cfg.control_socket);
	snprintf(dir, sizeof(dir), "%s", n->cfg.control_socket);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
			cn_errbuf_set(e, "control socket directory %s: %s", dir, strerror(errno));
			return -CN_EIO;
		}
	}
	unlink(sun.sun_path);
	n->control = evconnlistener_new_bind(n->base, control_accept_cb, n,
					     LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 16,
					     (struct sockaddr *)&sun, sizeof(sun));
	if (!n->control) {
		cn_errbuf_set(e, "control socket %s: %s", sun.sun_path, strerror(errno));
		return -CN_EIO;
	}
	chmod(sun.sun_path, 0600);
	return 0;
}

/* ---- names ---------------------------------------------------------------------------- */

static bool host_of(const struct cn_pl_peer *pp, struct cn_dns_host *out)
{
	if (!pp)
		return false;
	out->name = pp->name;
	memcpy(out->ip4, pp->ip4, 4);
	memcpy(out->ip6, pp->ip6, 16);
	out->ref = pp;
	return true;
}

static bool zone_by_name(void *ctx, const char *name, struct cn_dns_host *out)
{
	struct cn_node *n = ctx;

	return host_of(cn_peerlist_find_name(n->pl, name), out);
}

static bool zone_by_ip4(void *ctx, const uint8_t ip4[4], struct cn_dns_host *out)
{
	struct cn_node *n = ctx;

	return host_of(cn_peerlist_find_ip4(n->pl, ip4), out);
}

static bool zone_by_ip6(void *ctx, const uint8_t ip6[16], struct cn_dns_host *out)
{
	struct cn_node *n = ctx;

	return host_of(cn_peerlist_find_ip6(n->pl, ip6), out);
}

static bool zone_group_next(void *ctx, const char *group, size_t *cursor, struct cn_dns_host *out)
{
	struct cn_node *n = ctx;

	for (size_t i = *cursor; i < n->pl->npeers; i++) {
		if (cn_peer_in_group(&n->pl->peers[i], group)) {
			*cursor = i + 1;
			return host_of(&n->pl->peers[i], out);
		}
	}
	*cursor = n->pl->npeers;
	return false;
}

/* A group's member counts when it is up: this node itself, or a live peer. */
static bool zone_is_live(void *ctx, const struct cn_dns_host *h)
{
	struct cn_node *n = ctx;
	const struct cn_pl_peer *pp = h->ref;
	struct node_peer *p;

	if (pp == n->self)
		return true;
	p = peer_by_pl(n, pp);
	return p && peer_is_live(p, cn_clock_ms());
}

/* The zone follows the list in force (called whenever it changes). */
static void zone_update(struct cn_node *n)
{
	n->zone.domain = n->pl->domain;
	n->zone.self = n->self ? n->self->name : "";
	n->zone.serial = (uint32_t)n->pl->serial;
	memcpy(n->zone.prefix4, n->pl->prefix4, 4);
	n->zone.prefix4_len = n->pl->prefix4_len;
	memcpy(n->zone.prefix6, n->pl->prefix6, 16);
	n->zone.prefix6_len = n->pl->prefix6_len;
	n->zone.ctx = n;
	n->zone.by_name = zone_by_name;
	n->zone.by_ip4 = zone_by_ip4;
	n->zone.by_ip6 = zone_by_ip6;
	n->zone.group_next = zone_group_next;
	n->zone.is_live = zone_is_live;
}

/*
 * Upstream servers for names outside the overlay: the configured ones, or
 * those of /etc/resolv.conf without this node's own listeners (a host that
 * points its resolver at the node must not make it forward to itself).
 */
static void upstream_servers(struct cn_node *n, char *csv, size_t cap)
{
	char *text = NULL, *save = NULL;
	size_t len = 0, used = 0;
	struct cn_errbuf e = {{0}};

	csv[0] = '\0';
	if (n->cfg.dns_upstream[0]) {
		snprintf(csv, cap, "%s", n->cfg.dns_upstream);
		return;
	}
	if (cn_file_read("/etc/resolv.conf", 64 * 1024, &text, &len, &e) != 0)
		return;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char ip[INET6_ADDRSTRLEN + 1], self4[INET_ADDRSTRLEN];
		bool ours = false;
		uint8_t bin[16];

		if (sscanf(line, " nameserver %46s", ip) != 1)
			continue;
		inet_ntop(AF_INET, n->self_ip4, self4, sizeof(self4));
		if (strcmp(ip, self4) == 0)
			ours = true;
		for (unsigned int i = 0; i < n->cfg.ndns_listen; i++) {
			char a[CN_ADDR_TEXT_MAX];

			cn_addr_format((const struct sockaddr *)&n->cfg.dns_listen[i].ss, a);
			if (strncmp(a, ip, strlen(ip)) == 0 && a[strlen(ip)] == ':')
				ours = true;
		}
		if (ours) {
			cn_log_info("upstream DNS: skipping %s from /etc/resolv.conf (this node)",
				    ip);
			continue;
		}
		if (used + strlen(ip) + 8 >= cap)
			break;
		if (inet_pton(AF_INET, ip, bin) == 1)
			used += (size_t)snprintf(csv + used, cap - used, "%s%s:53", used ? "," : "",
						 ip);
		else if (inet_pton(AF_INET6, ip, bin) == 1)
			used += (size_t)snprintf(csv + used, cap - used, "%s[%s]:53",
						 used ? "," : "", ip);
	}
	free(text);
}

static int names_open(struct cn_node *n, struct cn_errbuf *e)
{
	char csv[512];
	struct cn_errbuf re = {{0}};

	zone_update(n);
	upstream_servers(n, csv, sizeof(csv));
	/* Also resolves relay host names; without servers those stay unresolved. */
	n->resolver = cn_resolver_new(n->base, csv[0] ? csv : "127.0.0.1:1", 0, 0, &re);
	if (!n->resolver)
		cn_log_warn("no DNS resolver (%s): relay host names and outside names will "
			    "not resolve",
			    re.msg);
	else if (!csv[0])
		cn_log_warn("no upstream DNS server besides this node: outside names get SERVFAIL");
	if (!n->cfg.dns)
		return 0;
	n->dns = cn_dns_server_new(n->base, &n->zone, csv[0] ? n->resolver : NULL);
	if (!n->dns) {
		cn_errbuf_set(e, "out of memory");
		return -CN_ENOMEM;
	}
	for (unsigned int i = 0; i < n->cfg.ndns_listen; i++)
		if (cn_dns_server_listen(n->dns, &n->cfg.dns_listen[i], e))
			return -CN_EIO;
	if (n->cfg.dns_overlay) {
		struct cn_addr a = {.len = sizeof(struct sockaddr_in)};
		struct sockaddr_in *s4 = (struct sockaddr_in *)&a.ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(53);
		memcpy(&s4->sin_addr, n->self_ip4, 4);
		if (cn_dns_server_listen(n->dns, &a, e))
			return -CN_EIO;
	}
	return 0;
}

/* ---- metrics ------------------------------------------------------------------------- */

static void http_metrics(struct evhttp_request *req, void *arg)
{
	struct cn_node *n = arg;
	struct evbuffer *b = evbuffer_new();
	uint64_t paths[3] = {0}, none = 0, rx = 0, tx = 0, hs = 0, live = 0, now = cn_clock_ms();
	struct node_relay *r;

	if (!b) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	for (size_t i = 0; i < n->npeers; i++) {
		struct node_peer *p = n->peers[i];
		bool session = p->cur && p->cur->s.state == CN_SESSION_ESTABLISHED &&
			       !cn_session_expired(&p->cur->s, now);

		if (!session)
			none++;
		else if (p->direct_up)
			paths[CN_CTL_PATH_DIRECT]++;
		else if (p->ice_turn_up)
			paths[CN_CTL_PATH_TURN]++;
		else
			paths[CN_CTL_PATH_RELAY]++;
		rx += p->rx_bytes;
		tx += p->tx_bytes;
		hs += p->handshakes;
		live += peer_is_live(p, now);
	}
	evbuffer_add_printf(b,
			    "# HELP cairn_node_peers Peers by the path their traffic takes.\n"
			    "# TYPE cairn_node_peers gauge\n"
			    "cairn_node_peers{path=\"direct\"} %" PRIu64 "\n"
			    "cairn_node_peers{path=\"relay\"} %" PRIu64 "\n"
			    "cairn_node_peers{path=\"turn\"} %" PRIu64 "\n"
			    "cairn_node_peers{path=\"none\"} %" PRIu64 "\n"
			    "# HELP cairn_node_peers_live Peers connected to a relay or heard from "
			    "lately.\n"
			    "# TYPE cairn_node_peers_live gauge\n"
			    "cairn_node_peers_live %" PRIu64 "\n",
			    paths[CN_CTL_PATH_DIRECT], paths[CN_CTL_PATH_RELAY],
			    paths[CN_CTL_PATH_TURN], none, live);
	evbuffer_add_printf(
		b,
		"# HELP cairn_node_rx_bytes_total Payload bytes received from peers.\n"
		"# TYPE cairn_node_rx_bytes_total counter\n"
		"cairn_node_rx_bytes_total %" PRIu64 "\n"
		"# HELP cairn_node_tx_bytes_total Payload bytes sent to peers.\n"
		"# TYPE cairn_node_tx_bytes_total counter\n"
		"cairn_node_tx_bytes_total %" PRIu64 "\n"
		"# HELP cairn_node_handshakes_total Sessions established.\n"
		"# TYPE cairn_node_handshakes_total counter\n"
		"cairn_node_handshakes_total %" PRIu64 "\n"
		"# HELP cairn_node_handshakes_refused_total Handshake messages refused.\n"
		"# TYPE cairn_node_handshakes_refused_total counter\n"
		"cairn_node_handshakes_refused_total %" PRIu64 "\n"
		"# HELP cairn_node_path_changes_total Direct paths gained or lost.\n"
		"# TYPE cairn_node_path_changes_total counter\n"
		"cairn_node_path_changes_total %" PRIu64 "\n"
		"# HELP cairn_node_peer_list_serial Serial of the peer list in force.\n"
		"# TYPE cairn_node_peer_list_serial gauge\n"
		"cairn_node_peer_list_serial %" PRId64 "\n",
		rx, tx, hs, n->m.handshakes_refused, n->m.path_changes, n->pl->serial);
	evbuffer_add_printf(
		b,
		"# HELP cairn_node_drops_total Packets dropped, by reason.\n"
		"# TYPE cairn_node_drops_total counter\n"
		"cairn_node_drops_total{reason=\"no_peer\"} %" PRIu64 "\n"
		"cairn_node_drops_total{reason=\"bad_source\"} %" PRIu64 "\n"
		"cairn_node_drops_total{reason=\"malformed\"} %" PRIu64 "\n"
		"cairn_node_drops_total{reason=\"no_path\"} %" PRIu64 "\n"
		"cairn_node_drops_total{reason=\"replay\"} %" PRIu64 "\n"
		"cairn_node_drops_total{reason=\"no_session\"} %" PRIu64 "\n"
		"cairn_node_drops_total{reason=\"queue_full\"} %" PRIu64 "\n"
		"# HELP cairn_node_path_fallbacks_total Packets the direct or TURN path "
		"refused, sent through a relay instead.\n"
		"# TYPE cairn_node_path_fallbacks_total counter\n"
		"cairn_node_path_fallbacks_total %" PRIu64 "\n",
		n->m.drop_no_peer, n->m.drop_bad_src, n->m.drop_bad_packet, n->m.drop_no_path,
		n->m.drop_replay, n->m.drop_no_session, n->m.drop_staged_full, n->m.path_fallbacks);
	evbuffer_add_printf(b, "# HELP cairn_node_relay_up Relay links up (1) or down (0).\n"
			       "# TYPE cairn_node_relay_up gauge\n");
	TAILQ_FOREACH (r, &n->relays, entry)
		evbuffer_add_printf(b, "cairn_node_relay_up{relay=\"%s\"} %d\n", r->name,
				    r->up ? 1 : 0);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "text/plain; version=0.0.4");
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}

static int metrics_open(struct cn_node *n, struct cn_errbuf *e)
{
	const struct sockaddr *sa = (const struct sockaddr *)&n->cfg.metrics.ss;
	char text[CN_ADDR_TEXT_MAX], host[CN_ADDR_TEXT_MAX];

	cn_addr_format(sa, text);
	snprintf(host, sizeof(host), "%s", sa->sa_family == AF_INET6 ? text + 1 : text);
	*strrchr(host, sa->sa_family == AF_INET6 ? ']' : ':') = '\0';
	n->http = evhttp_new(n->base);
	if (!n->http ||
	    !evhttp_bind_socket_with_handle(n->http, host, (uint16_t)cn_addr_port(sa))) {
		cn_errbuf_set(e, "metrics %s: cannot listen: %s", text, strerror(errno));
		return -CN_EIO;
	}
	evhttp_set_allowed_methods(n->http, EVHTTP_REQ_GET);
	evhttp_set_cb(n->http, "/metrics", http_metrics, n);
	cn_log_info("metrics on http://%s/metrics", text);
	return 0;
}

/* ---- the tick ----------------------------------------------------------------------- */

static void peer_tick(struct node_peer *p, uint64_t now)
{
	struct cn_node *n = p->n;
	bool session = p->cur && p->cur->s.state == CN_SESSION_ESTABLISHED &&
		       !cn_session_expired(&p->cur->s, now);

	if (p->hs_pending && now - p->hs_sent_ms >= HANDSHAKE_RETRY_MS) {
		if (now - p->hs_first_ms >= HANDSHAKE_GIVEUP_MS) {
			cn_log_info("peer %s: no handshake answer for %d s; dropping %u queued "
				    "packets",
				    p->name, HANDSHAKE_GIVEUP_MS / 1000, p->nstaged);
			peer_drop_staged(p);
			sess_free(n, p->hs_slot);
			p->hs_slot = NULL;
			cn_handshake_wipe(&p->hs);
			p->hs_pending = false;
		} else {
			peer_initiate(p);
		}
	}
	if (p->prev && cn_session_expired(&p->prev->s, now)) {
		sess_free(n, p->prev);
		p->prev = NULL;
	}
	if (!session)
		return;
	if (p->direct_up) {
		if (now - p->d_last_rx_ms >= DIRECT_DEAD_MS)
			direct_became_down(p, "no packets");
		else if (now - p->d_last_tx_ms >= DIRECT_KEEPALIVE_MS)
			peer_send_pt(p, NULL, 0);
	} else if (p->last_rx_ms > p->last_tx_ms && now - p->last_tx_ms >= PASSIVE_KEEPALIVE_MS) {
		peer_send_pt(p, NULL, 0);
	}
	if (n->cfg.ice && !p->direct_up && !p->ice && p->ice_next_ms && now >= p->ice_next_ms) {
		p->ice_next_ms = 0;
		ice_start(p);
	}
	if (now - p->last_probe_ms >= PROBE_INTERVAL_MS) {
		struct cn_ctl_msg m = {.type = CN_CTL_PROBE};

		p->last_probe_ms = now;
		p->probe_id = m.id = ((uint64_t)randombytes_random() << 32) | randombytes_random();
		p->probe_sent_us = cn_clock_us();
		peer_send_ctl(p, &m);
	}
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cn_node *n = arg;
	struct node_relay *r;
	struct control_client *c, *ct;
	uint64_t now = cn_clock_ms();

	(void)fd;
	(void)what;
	TAILQ_FOREACH (r, &n->relays, entry) {
		if (r->client_dead) {
			cn_relay_client_free(r->c);
			r->c = NULL;
			r->client_dead = false;
		}
		if (!r->c && now >= r->next_try_ms) {
			relay_connect(r);
		} else if (r->c && !r->up && n->cfg.relay_transport == CN_RELAY_AUTO &&
			   now - r->started_ms >= RELAY_UP_TIMEOUT_MS) {
			/* No answer over this transport: try the other. */
			cn_log_info("relay %s: no answer over %s; trying %s", r->name,
				    r->use_tcp ? "TCP" : "UDP", r->use_tcp ? "UDP" : "TCP");
			r->use_tcp = !r->use_tcp;
			relay_connect(r);
		}
	}
	for (size_t i = 0; i < n->npeers; i++)
		peer_tick(n->peers[i], now);
	for (c = LIST_FIRST(&n->clients); c; c = ct) {
		ct = LIST_NEXT(c, entry);
		if (c->ping_peer && now >= c->ping_deadline_ms) {
			struct evbuffer *b = evbuffer_new();

			c->ping_peer = NULL;
			if (!b)
				continue;
			evbuffer_add_printf(b,
					    "{\"ok\":false,\"error\":\"no reply within %d ms\"}\n",
					    CONTROL_PING_TIMEOUT_MS);
			client_reply(c, b);
			evbuffer_free(b);
		}
	}
	if (n->endpoints_dirty)
		endpoints_save(n);
}

/* ---- deploy ------------------------------------------------------------------------------ */

/*
 * Who is behind a TCP connection to the deploy listener: the overlay source
 * address names the peer (cryptokey routing: only that peer's session may
 * send from it); it may deploy when one of its groups is configured.
 */
static int deploy_auth(void *ctx, const struct sockaddr *sa, socklen_t len,
		       struct cn_deployd_peer *out)
{
	struct cn_node *n = ctx;
	const struct cn_pl_peer *pp = NULL;

	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in))
		pp = cn_peerlist_find_ip4(
			n->pl, (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr);
	else if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6))
		pp = cn_peerlist_find_ip6(n->pl,
					  ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr);
	if (!pp)
		return -CN_ENOTFOUND;
	snprintf(out->name, sizeof(out->name), "%s", pp->name);
	memcpy(out->key, pp->key, CN_KEY_LEN);
	for (unsigned int i = 0; i < n->cfg.ndeploy_groups; i++)
		out->allowed |= cn_peer_in_group(pp, n->cfg.deploy_groups[i]);
	return 0;
}

/* The deploy listener on this node's overlay IPv4 address, once the TUN is up. */
static int deploy_open(struct cn_node *n, struct cn_errbuf *e)
{
	struct cn_deployd_config dc;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&dc.listen.ss;

	memset(&dc, 0, sizeof(dc));
	dc.listen.len = sizeof(*s4);
	s4->sin_family = AF_INET;
	s4->sin_port = htons((uint16_t)n->cfg.deploy_port);
	memcpy(&s4->sin_addr, n->self_ip4, 4);
	if (n->cfg.deploy_dir[0])
		snprintf(dc.dir, sizeof(dc.dir), "%s", n->cfg.deploy_dir);
	else if (snprintf(dc.dir, sizeof(dc.dir), "%s/deploy", n->cfg.state_dir) >=
		 (int)sizeof(dc.dir)) {
		cn_errbuf_set(e, "deploy: state directory name too long");
		return -CN_EINVAL;
	}
	snprintf(dc.hook, sizeof(dc.hook), "%s", n->cfg.deploy_hook);
	snprintf(dc.ifname, sizeof(dc.ifname), "%s", n->tun_name);
	snprintf(dc.self, sizeof(dc.self), "%s", n->self_name);
	dc.keep = n->cfg.deploy_keep;
	dc.max_size = (uint64_t)n->cfg.deploy_max_mb << 20;
	dc.hook_timeout_s = n->cfg.deploy_hook_timeout;
	n->deployd = cn_deployd_new(n->base, &dc, deploy_auth, n, e);
	return n->deployd ? 0 : -CN_EIO;
}

/* ---- life cycle ------------------------------------------------------------------------ */

struct cn_node *cn_node_new(struct event_base *base, const struct cn_node_config *cfg,
			    struct cn_errbuf *e)
{
	struct cn_node *n;
	struct cn_errbuf fe = {{0}};
	struct timeval tv = {0, TICK_MS * 1000};
	char state_list[CN_NODE_PATH_MAX + 32], fpr[CN_KEY_FPR_LEN + 1];
	int ret_file;

	n = calloc(1, sizeof(*n));
	if (!n) {
		cn_errbuf_set(e, "out of memory");
		return NULL;
	}
	n->base = base;
	n->cfg = *cfg;
	n->tun_fd = -1;
	TAILQ_INIT(&n->relays);
	LIST_INIT(&n->clients);
	if (cn_keyfile_read(cfg->identity_key, &n->id, e))
		goto fail;
	if (mkdir(cfg->state_dir, 0700) != 0 && errno != EEXIST) {
		cn_errbuf_set(e, "state directory %s: %s", cfg->state_dir, strerror(errno));
		goto fail;
	}
	/* The newer of the configured file and the copy kept from relays. */
	ret_file = load_list_file(n, cfg->peer_list, false, &fe);
	snprintf(state_list, sizeof(state_list), "%s/%s", cfg->state_dir, STATE_LIST_FILE);
	{
		struct cn_errbuf se = {{0}};
		int ret_state = load_list_file(n, state_list, true, &se);

		if (ret_state && se.msg[0] && ret_state != -CN_EROLLBACK)
			cn_log_warn("%s", se.msg);
	}
	if (!n->pl) {
		cn_errbuf_set(e, "no valid peer list: %s", fe.msg);
		goto fail;
	}
	if (ret_file && ret_file != -CN_EROLLBACK)
		cn_log_warn("%s", fe.msg);
	cn_key_fingerprint(n->id->ed_pk, fpr);
	if (!n->self) {
		cn_errbuf_set(e,
			      "this node's key %s... is not in the peer list (serial %" PRId64
			      "); add it with 'cairn peers add'",
			      fpr, n->pl->serial);
		goto fail;
	}
	if (cn_handshake_local_init(&n->local, n->id, n->pl->network)) {
		cn_errbuf_set(e, "network name unusable");
		goto fail;
	}
	if (cn_tun_open(cfg->tun_name, n->tun_name, &n->tun_fd, e))
		goto fail;
	if (cn_netlink_configure(n->tun_name, cfg->mtu, n->self_ip4, n->pl->prefix4_len,
				 n->self_ip6, n->pl->prefix6_len, e)) {
		/* A host with IPv6 disabled still gets the IPv4 overlay. */
		cn_log_warn("%s; continuing with IPv4 only", e->msg);
		if (cn_netlink_configure(n->tun_name, cfg->mtu, n->self_ip4, n->pl->prefix4_len,
					 NULL, 0, e))
			goto fail;
	}
	n->tun_ev = event_new(base, n->tun_fd, EV_READ | EV_PERSIST, tun_read_cb, n);
	if (!n->tun_ev || event_add(n->tun_ev, NULL) != 0) {
		cn_errbuf_set(e, "cannot watch the TUN device");
		goto fail;
	}
	if (cfg->ice) {
		n->glib = cn_glib_loop_new(base);
		if (!n->glib) {
			cn_errbuf_set(e, "cannot start the ICE event adapter");
			goto fail;
		}
	}
	if (control_open(n, e))
		goto fail;
	if (cfg->metrics_on && metrics_open(n, e))
		goto fail;
	if (names_open(n, e))
		goto fail;
	if (cfg->deploy && deploy_open(n, e))
		goto fail;
	n->tick = event_new(base, -1, EV_PERSIST, tick_cb, n);
	if (!n->tick || event_add(n->tick, &tv) != 0) {
		cn_errbuf_set(e, "cannot start the timer");
		goto fail;
	}
	cn_log_info("node %s (%s...) up: %s, network %s, %zu peers, %zu relays", n->self_name, fpr,
		    n->tun_name, n->pl->network, n->npeers, n->pl->nrelays);
	endpoints_restore(n);
	tick_cb(-1, 0, n); /* connect to the relays now */
	return n;
fail:
	cn_node_free(n);
	return NULL;
}

void cn_node_free(struct cn_node *n)
{
	struct node_relay *r;
	struct control_client *c;

	if (!n)
		return;
	if (n->endpoints_dirty && n->pl)
		endpoints_save(n);
	while ((c = LIST_FIRST(&n->clients)) != NULL)
		client_free(c);
	if (n->control) {
		evconnlistener_free(n->control);
		unlink(n->cfg.control_socket);
	}
	if (n->http)
		evhttp_free(n->http);
	/* The resolver first: then no forwarded query calls back into the server. */
	cn_resolver_free(n->resolver);
	cn_dns_server_free(n->dns);
	cn_deployd_free(n->deployd);
	while ((r = TAILQ_FIRST(&n->relays)) != NULL)
		relay_free(n, r);
	for (size_t i = 0; i < n->npeers; i++)
		peer_free(n->peers[i]);
	free(n->peers);
	free(n->by_pl);
	cn_u32map_free(&n->sessions);
	if (n->glib)
		cn_glib_loop_free(n->glib);
	if (n->tick)
		event_free(n->tick);
	if (n->tun_ev)
		event_free(n->tun_ev);
	if (n->tun_fd >= 0)
		close(n->tun_fd);
	cn_peerlist_free(n->pl);
	free(n->pl_text);
	cn_identity_free(n->id);
	sodium_memzero(&n->local, sizeof(n->local));
	free(n);
}
