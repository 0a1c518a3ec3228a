/* SPDX-License-Identifier: MIT */
/*
 * The relay's counters over HTTP (relay_int.h): GET /metrics in the
 * Prometheus text format (cairn_relay_*), GET /health one line. Read-only:
 * nothing here changes a link; the listener is meant for 127.0.0.1 or a
 * monitoring network (docs/RELAY.md).
 */
#include "relay/relay_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "crypto/peerlist.h"

void cn_relay_metrics_links(struct cn_relay *r)
{
	struct relay_link *l;

	r->m.uploads = r->nuploads;
	r->m.links_tcp = r->m.links_udp = r->m.links_pending = 0;
	TAILQ_FOREACH (l, &r->links, entry) {
		if (l->state != CN_RELAY_LINK_UP)
			r->m.links_pending++;
		else if (l->kind == CN_RELAY_LINK_TCP)
			r->m.links_tcp++;
		else
			r->m.links_udp++;
	}
}

static void http_metrics(struct evhttp_request *req, void *arg)
{
	struct cn_relay *r = arg;
	struct evbuffer *b = evbuffer_new();
	const struct cn_relay_metrics *m = &r->m;

	if (!b) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	cn_relay_metrics_links(r);
#define G(name, help, v)                                                                     \
	evbuffer_add_printf(b,                                                               \
			    "# HELP cairn_relay_" name " " help "\n# TYPE cairn_relay_" name \
			    " gauge\ncairn_relay_" name " %" PRIu64 "\n",                    \
			    (uint64_t)(v))
#define C(name, help, v)                                                                     \
	evbuffer_add_printf(b,                                                               \
			    "# HELP cairn_relay_" name " " help "\n# TYPE cairn_relay_" name \
			    " counter\ncairn_relay_" name " %" PRIu64 "\n",                  \
			    (uint64_t)(v))
	G("links", "Authenticated links by transport.", 0);
	evbuffer_add_printf(b, "cairn_relay_links{transport=\"tcp\"} %" PRIu64 "\n", m->links_tcp);
	evbuffer_add_printf(b, "cairn_relay_links{transport=\"udp\"} %" PRIu64 "\n", m->links_udp);
	G("links_pending", "Links not yet authenticated.", m->links_pending);
	G("peer_list_serial", "Serial of the peer list in force.", m->list_serial);
	G("peer_list_peers", "Peers in the list in force.", r->npeers);
	C("tcp_accepted_total", "TCP connections accepted.", m->tcp_accepted);
	C("tcp_refused_total", "TCP connections refused at a limit.", m->tcp_refused);
	C("handshakes_total", "Handshakes completed.", m->handshakes_ok);
	evbuffer_add_printf(b, "# HELP cairn_relay_handshake_failures_total Handshakes refused, by "
			       "reason.\n# TYPE cairn_relay_handshake_failures_total counter\n");
	evbuffer_add_printf(
		b,
		"cairn_relay_handshake_failures_total{reason=\"format\"} %" PRIu64 "\n"
		"cairn_relay_handshake_failures_total{reason=\"auth\"} %" PRIu64 "\n"
		"cairn_relay_handshake_failures_total{reason=\"unknown_key\"} %" PRIu64 "\n"
		"cairn_relay_handshake_failures_total{reason=\"replay\"} %" PRIu64 "\n"
		"cairn_relay_handshake_failures_total{reason=\"rate_limited\"} %" PRIu64 "\n"
		"cairn_relay_handshake_failures_total{reason=\"pending_full\"} %" PRIu64 "\n",
		m->handshake_fail_format, m->handshake_fail_auth, m->handshake_fail_unknown,
		m->handshake_fail_replay, m->handshake_ratelimited, m->handshake_pending_full);
	C("handshake_cookie_replies_total",
	  "Initiations answered with a cookie reply under load (no X25519 spent).",
	  m->handshake_cookie_replies);
	C("packets_forwarded_total", "Packets forwarded between nodes.", m->packets_forwarded);
	C("bytes_forwarded_total", "Payload bytes forwarded between nodes.", m->bytes_forwarded);
	C("backpressure_pauses_total", "Times a TCP link was paused for a slow receiver.",
	  m->backpressure_pauses);
	C("not_here_total", "Packets for peers without a link (answered NOT_HERE).",
	  m->packets_not_here);
	evbuffer_add_printf(b, "# HELP cairn_relay_drops_total Packets dropped, by reason.\n"
			       "# TYPE cairn_relay_drops_total counter\n");
	evbuffer_add_printf(b,
			    "cairn_relay_drops_total{reason=\"buffer_full\"} %" PRIu64 "\n"
			    "cairn_relay_drops_total{reason=\"bad_packet\"} %" PRIu64 "\n"
			    "cairn_relay_drops_total{reason=\"bad_message\"} %" PRIu64 "\n"
			    "cairn_relay_drops_total{reason=\"no_session\"} %" PRIu64 "\n",
			    m->drop_buffer_full, m->drop_bad_packet, m->drop_bad_message,
			    m->drop_no_session);
	evbuffer_add_printf(b, "# HELP cairn_relay_links_closed_total Links closed, by reason.\n"
			       "# TYPE cairn_relay_links_closed_total counter\n");
	evbuffer_add_printf(b,
			    "cairn_relay_links_closed_total{reason=\"idle\"} %" PRIu64 "\n"
			    "cairn_relay_links_closed_total{reason=\"stalled\"} %" PRIu64 "\n"
			    "cairn_relay_links_closed_total{reason=\"garbage\"} %" PRIu64 "\n"
			    "cairn_relay_links_closed_total{reason=\"removed\"} %" PRIu64 "\n"
			    "cairn_relay_links_closed_total{reason=\"replaced\"} %" PRIu64 "\n"
			    "cairn_relay_links_closed_total{reason=\"overflow\"} %" PRIu64 "\n",
			    m->links_closed_idle, m->links_closed_stalled, m->links_closed_garbage,
			    m->links_closed_removed, m->links_closed_replaced,
			    m->links_closed_overflow);
	G("tcp_queue_peak_bytes", "Most bytes ever queued to one TCP link.", m->tcp_queue_peak);
	C("path_challenges_total", "Path challenges sent to a new address of a UDP link.",
	  m->path_challenges);
	C("path_moves_total", "UDP links moved to an address that answered a challenge.",
	  m->path_moves);
	C("stun_requests_total", "STUN binding requests answered or ignored by policy.",
	  m->stun_requests);
	C("stun_malformed_total", "Malformed STUN requests ignored.", m->stun_bad);
	C("stun_ratelimited_total", "STUN requests over the per-source rate, unanswered.",
	  m->stun_ratelimited);
	C("stun_no_credit_total",
	  "STUN answers withheld: larger than what the source had sent (answered on a retry).",
	  m->stun_no_credit);
	C("peer_lists_accepted_total", "Uploaded peer lists adopted.", m->lists_accepted);
	C("peer_lists_refused_total", "Uploaded peer lists refused.", m->lists_refused);
	G("uploads", "Peer list uploads in progress.", m->uploads);
	C("uploads_refused_total", "Peer list uploads refused (all slots taken, or one per peer).",
	  m->uploads_refused);
#undef G
#undef C
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "text/plain; version=0.0.4");
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}

static void http_health(struct evhttp_request *req, void *arg)
{
	struct cn_relay *r = arg;
	struct evbuffer *b = evbuffer_new();

	if (!b) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	evbuffer_add_printf(b, "ok network=%s serial=%" PRId64 " links=%u\n", r->network,
			    r->pl ? r->pl->serial : 0, r->nlinks);
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}

int cn_relay_metrics_start(struct cn_relay *r, struct cn_errbuf *e)
{
	char host[CN_ADDR_TEXT_MAX], text[CN_ADDR_TEXT_MAX];
	const struct sockaddr *sa = (const struct sockaddr *)&r->cfg.metrics.ss;

	cn_addr_format(sa, text);
	r->http = evhttp_new(r->base);
	if (!r->http) {
		cn_errbuf_set(e, "metrics: out of memory");
		return -CN_ENOMEM;
	}
	/* evhttp wants the host without brackets or port. */
	if (sa->sa_family == AF_INET6) {
		snprintf(host, sizeof(host), "%s", text + 1);
		*strrchr(host, ']') = '\0';
	} else {
		snprintf(host, sizeof(host), "%s", text);
		*strrchr(host, ':') = '\0';
	}
	r->http_sock = evhttp_bind_socket_with_handle(r->http, host, (uint16_t)cn_addr_port(sa));
	if (!r->http_sock) {
		cn_errbuf_set(e, "metrics %s: cannot listen: %s", text, strerror(errno));
		return -CN_EIO;
	}
	evhttp_set_cb(r->http, "/metrics", http_metrics, r);
	evhttp_set_cb(r->http, "/health", http_health, r);
	evhttp_set_allowed_methods(r->http, EVHTTP_REQ_GET);
	cn_log_info("metrics on http://%s/metrics", text);
	return 0;
}
