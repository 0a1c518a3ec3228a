/* SPDX-License-Identifier: MIT */
/*
 * `cairn status` (node_int.h): the node, its relays and each peer's path,
 * as JSON (the "status" command; the CLI and tests read it) and as a table
 * ("status text"). Both render the same snapshot of each peer
 * (cn_engine_peer_status), so they never disagree. MTU is the largest
 * packet the path in use carries (engine_pmtu.c); JSON also has each path's.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "common/clock.h"
#include "node/node_int.h"
#include "relay/relay_client.h"

/* One peer as both renderings show it. */
struct peer_view {
	const struct cn_peer *p;
	struct cn_peer_status st;
	const char *path; /* "direct", "turn", "relay", or NULL: none */
	char endpoint[CN_ADDR_TEXT_MAX + CN_NAME_MAX + 8];
};

static void view_of(struct cn_node *n, const struct cn_peer *p, uint64_t now, bool text,
		    struct peer_view *v)
{
	memset(v, 0, sizeof(*v));
	v->p = p;
	cn_engine_peer_status(n->eng, p, now, &v->st);
	if (v->st.session && v->st.has_path)
		v->path = cn_engine_path_name(v->st.path);
	if (v->path && v->st.path == CN_CTL_PATH_DIRECT)
		cn_addr_format((const struct sockaddr *)&p->dremote.ss, v->endpoint);
	else if (v->path && v->st.path == CN_CTL_PATH_RELAY)
		snprintf(v->endpoint, sizeof(v->endpoint), text ? "relay %s" : "relay:%s",
			 cn_engine_relay_name(n->eng, (unsigned int)v->st.relay));
	else
		snprintf(v->endpoint, sizeof(v->endpoint), "-");
}

/* Appends v as one line of JSON to b and releases it. */
void node_json_send(struct evbuffer *b, json_t *v)
{
	char *text = v ? json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

	if (text) {
		evbuffer_add_printf(b, "%s\n", text);
		free(text);
	} else {
		evbuffer_add_printf(b, "{\"ok\":false,\"error\":\"out of memory\"}\n");
	}
	json_decref(v);
}

static json_t *relays_json(struct cn_node *n)
{
	json_t *a = json_array();
	struct node_relay *r;

	TAILQ_FOREACH (r, &n->relays, entry)
		json_array_append_new(
			a,
			json_pack("{s:s, s:b, s:s, s:I}", "name", r->name, "up", r->up, "transport",
				  r->use_tcp ? "tcp" : "udp", "rtt_us",
				  (json_int_t)(r->c && r->up ? cn_relay_client_rtt_us(r->c) : 0)));
	return a;
}

static json_t *peers_json(struct cn_node *n, uint64_t now)
{
	char a4[INET_ADDRSTRLEN], a6[INET6_ADDRSTRLEN];
	json_t *a = json_array();

	for (size_t i = 0; i < cn_engine_npeers(n->eng); i++) {
		const struct cn_peer *p = cn_engine_peer(n->eng, i);
		struct peer_view v;

		view_of(n, p, now, false, &v);
		inet_ntop(AF_INET, p->pl->ip4, a4, sizeof(a4));
		inet_ntop(AF_INET6, p->pl->ip6, a6, sizeof(a6));
		json_array_append_new(
			a,
			json_pack(
				"{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:i, s:i, s:i}",
				"name", p->name, "ipv4", a4, "ipv6", a6, "path",
				v.path ? v.path : "none", "endpoint", v.endpoint, "rtt_us",
				(json_int_t)p->rtt_us, "rx_bytes", (json_int_t)p->rx_bytes,
				"tx_bytes", (json_int_t)p->tx_bytes, "last_handshake",
				(json_int_t)p->last_handshake_unix, "handshakes",
				(json_int_t)p->handshakes, "mtu", v.path ? (int)v.st.mtu : 0,
				"mtu_relay", (int)v.st.mtu_relay, "mtu_direct",
				(int)v.st.mtu_direct));
	}
	return a;
}

void node_status_json(struct cn_node *n, struct evbuffer *b)
{
	char a4[INET_ADDRSTRLEN], a6[INET6_ADDRSTRLEN];
	const struct cn_engine_metrics *m = cn_engine_metrics(n->eng);
	uint64_t now = cn_clock_ms();

	inet_ntop(AF_INET, n->self_ip4, a4, sizeof(a4));
	inet_ntop(AF_INET6, n->self_ip6, a6, sizeof(a6));
	node_json_send(
		b, json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:b, s:b, s:I, s:I, s:s, s:o, "
			     "s:o, s:{s:I, s:I, s:I, s:I, "
			     "s:I, s:I, s:I}, s:I, s:I, s:I, s:I, s:I}",
			     "node", n->self ? n->self_name : "", "ipv4", a4, "ipv6", a6, "network",
			     n->pl->network, "domain", n->pl->domain, "peer_list_serial",
			     (json_int_t)n->pl->serial, "list_expires", (json_int_t)n->pl->expires,
			     "list_expired", n->lc_last.verdict != CN_LIST_OK, "list_restricted",
			     n->lc_last.verdict == CN_LIST_RESTRICTED, "list_grace_left_s",
			     (json_int_t)(n->lc_last.grace_left_ms / 1000), "trusted_time",
			     (json_int_t)n->lc_last.trusted_now, "tun", n->tun_name, "relays",
			     relays_json(n), "peers", peers_json(n, now), "drops", "no_peer",
			     (json_int_t)m->drop_no_peer, "bad_source", (json_int_t)m->drop_bad_src,
			     "bad_packet", (json_int_t)m->drop_bad_packet, "no_path",
			     (json_int_t)m->drop_no_path, "replay", (json_int_t)m->drop_replay,
			     "no_session", (json_int_t)m->drop_no_session, "staged_full",
			     (json_int_t)m->drop_staged_full, "handshakes_refused",
			     (json_int_t)m->handshakes_refused, "path_changes",
			     (json_int_t)m->path_changes, "path_fallbacks",
			     (json_int_t)m->path_fallbacks, "path_challenges",
			     (json_int_t)m->path_challenges, "cookie_replies",
			     (json_int_t)m->cookie_replies_sent));
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

void node_status_text(struct cn_node *n, struct evbuffer *b)
{
	char a4[INET_ADDRSTRLEN], a6[INET6_ADDRSTRLEN], rx[16], tx[16], rtt[16], hs[24], mtu[8];
	struct node_relay *r;
	uint64_t now = cn_clock_ms(), wall = 0;
	uint32_t nsec = 0;

	cn_clock_wall(&wall, &nsec);
	inet_ntop(AF_INET, n->self_ip4, a4, sizeof(a4));
	inet_ntop(AF_INET6, n->self_ip6, a6, sizeof(a6));
	evbuffer_add_printf(b, "node %s  %s  %s  network %s  peer list serial %" PRId64 "\n",
			    n->self_name, a4, a6, n->pl->network, n->pl->serial);
	if (n->lc_last.verdict == CN_LIST_GRACE)
		evbuffer_add_printf(b,
				    "peer list EXPIRED at %" PRId64 " (trusted time %" PRId64
				    "): fix the clock or publish a newer list; peer sessions stop "
				    "in %" PRIu64 " h\n",
				    n->pl->expires, n->lc_last.trusted_now,
				    n->lc_last.grace_left_ms / 3600000);
	else if (n->lc_last.verdict == CN_LIST_RESTRICTED)
		evbuffer_add_printf(b,
				    "peer list EXPIRED at %" PRId64 " (trusted time %" PRId64
				    "), grace period over: publish a newer list or fix the clock\n",
				    n->pl->expires, n->lc_last.trusted_now);
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
	evbuffer_add_printf(b, "\n%-16s %-15s %-7s %-28s %5s %9s %10s %10s %s\n", "PEER", "ADDRESS",
			    "PATH", "ENDPOINT", "MTU", "RTT", "RX", "TX", "HANDSHAKE");
	for (size_t i = 0; i < cn_engine_npeers(n->eng); i++) {
		const struct cn_peer *p = cn_engine_peer(n->eng, i);
		struct peer_view v;

		view_of(n, p, now, true, &v);
		inet_ntop(AF_INET, p->pl->ip4, a4, sizeof(a4));
		if (p->rtt_us)
			snprintf(rtt, sizeof(rtt), "%.1f ms", (double)p->rtt_us / 1000);
		else
			snprintf(rtt, sizeof(rtt), "-");
		if (p->last_handshake_unix)
			snprintf(hs, sizeof(hs), "%" PRId64 " s ago",
				 (int64_t)wall - p->last_handshake_unix);
		else
			snprintf(hs, sizeof(hs), "never");
		human_bytes(p->rx_bytes, rx);
		human_bytes(p->tx_bytes, tx);
		if (v.path && v.st.mtu)
			snprintf(mtu, sizeof(mtu), "%u", v.st.mtu);
		else
			snprintf(mtu, sizeof(mtu), "-");
		evbuffer_add_printf(b, "%-16s %-15s %-7s %-28s %5s %9s %10s %10s %s\n", p->name, a4,
				    v.path ? v.path : "-", v.endpoint, mtu, rtt, rx, tx, hs);
	}
}
