/* SPDX-License-Identifier: MIT */
/*
 * The node's Prometheus metrics (node_int.h, docs/NODE.md): GET /metrics on
 * the configured address, rendered from the engine's counters and the
 * same per-peer snapshot `cairn status` uses.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "common/clock.h"
#include "common/err.h"
#include "node/node_int.h"

static void http_metrics(struct evhttp_request *req, void *arg)
{
	struct cn_node *n = arg;
	const struct cn_engine_metrics *m = cn_engine_metrics(n->eng);
	struct evbuffer *b = evbuffer_new();
	uint64_t paths[3] = {0}, none = 0, rx = 0, tx = 0, hs = 0, live = 0, now = cn_clock_ms();
	struct node_relay *r;

	if (!b) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	for (size_t i = 0; i < cn_engine_npeers(n->eng); i++) {
		const struct cn_peer *p = cn_engine_peer(n->eng, i);
		struct cn_peer_status st;

		cn_engine_peer_status(n->eng, p, now, &st);
		if (!st.session)
			none++;
		else if (st.path == CN_CTL_PATH_DIRECT || st.path == CN_CTL_PATH_TURN)
			paths[st.path]++;
		else
			paths[CN_CTL_PATH_RELAY]++;
		rx += p->rx_bytes;
		tx += p->tx_bytes;
		hs += p->handshakes;
		live += st.live;
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
		rx, tx, hs, m->handshakes_refused, m->path_changes, n->pl->serial);
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
		m->drop_no_peer, m->drop_bad_src, m->drop_bad_packet, m->drop_no_path,
		m->drop_replay, m->drop_no_session, m->drop_staged_full, m->path_fallbacks);
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

int node_metrics_open(struct cn_node *n, struct cn_errbuf *e)
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
