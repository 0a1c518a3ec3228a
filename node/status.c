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
#include <string.h>

#include <event2/buffer.h>

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

void node_json_str(struct evbuffer *b, const char *s)
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

void node_status_json(struct cn_node *n, struct evbuffer *b)
{
	char a4[INET_ADDRSTRLEN], a6[INET6_ADDRSTRLEN];
	const struct cn_engine_metrics *m = cn_engine_metrics(n->eng);
	struct node_relay *r;
	bool first = true;
	uint64_t now = cn_clock_ms();

	evbuffer_add_printf(b, "{\"node\":");
	node_json_str(b, n->self ? n->self_name : "");
	inet_ntop(AF_INET, n->self_ip4, a4, sizeof(a4));
	inet_ntop(AF_INET6, n->self_ip6, a6, sizeof(a6));
	evbuffer_add_printf(b,
			    ",\"ipv4\":\"%s\",\"ipv6\":\"%s\",\"network\":\"%s\",\"domain\":\"%s\","
			    "\"peer_list_serial\":%" PRId64 ",\"tun\":\"%s\",\"relays\":[",
			    a4, a6, n->pl->network, n->pl->domain, n->pl->serial, n->tun_name);
	TAILQ_FOREACH (r, &n->relays, entry) {
		evbuffer_add_printf(b, "%s{\"name\":", first ? "" : ",");
		node_json_str(b, r->name);
		evbuffer_add_printf(b, ",\"up\":%s,\"transport\":\"%s\",\"rtt_us\":%" PRIu64 "}",
				    r->up ? "true" : "false", r->use_tcp ? "tcp" : "udp",
				    r->c && r->up ? cn_relay_client_rtt_us(r->c) : 0);
		first = false;
	}
	evbuffer_add_printf(b, "],\"peers\":[");
	for (size_t i = 0; i < cn_engine_npeers(n->eng); i++) {
		struct peer_view v;
		const struct cn_peer *p = cn_engine_peer(n->eng, i);

		view_of(n, p, now, false, &v);
		inet_ntop(AF_INET, p->pl->ip4, a4, sizeof(a4));
		inet_ntop(AF_INET6, p->pl->ip6, a6, sizeof(a6));
		evbuffer_add_printf(b, "%s{\"name\":", i ? "," : "");
		node_json_str(b, p->name);
		evbuffer_add_printf(b,
				    ",\"ipv4\":\"%s\",\"ipv6\":\"%s\",\"path\":\"%s\","
				    "\"endpoint\":\"%s\",\"rtt_us\":%" PRIu64
				    ",\"rx_bytes\":%" PRIu64 ",\"tx_bytes\":%" PRIu64
				    ",\"last_handshake\":%" PRId64 ",\"handshakes\":%" PRIu64
				    ",\"mtu\":%u,\"mtu_relay\":%u,\"mtu_direct\":%u}",
				    a4, a6, v.path ? v.path : "none", v.endpoint, p->rtt_us,
				    p->rx_bytes, p->tx_bytes, p->last_handshake_unix, p->handshakes,
				    v.path ? v.st.mtu : 0, v.st.mtu_relay, v.st.mtu_direct);
	}
	evbuffer_add_printf(b,
			    "],\"drops\":{\"no_peer\":%" PRIu64 ",\"bad_source\":%" PRIu64
			    ",\"bad_packet\":%" PRIu64 ",\"no_path\":%" PRIu64
			    ",\"replay\":%" PRIu64 ",\"no_session\":%" PRIu64
			    ",\"staged_full\":%" PRIu64 "},\"handshakes_refused\":%" PRIu64
			    ",\"path_changes\":%" PRIu64 ",\"path_fallbacks\":%" PRIu64 "}\n",
			    m->drop_no_peer, m->drop_bad_src, m->drop_bad_packet, m->drop_no_path,
			    m->drop_replay, m->drop_no_session, m->drop_staged_full,
			    m->handshakes_refused, m->path_changes, m->path_fallbacks);
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
