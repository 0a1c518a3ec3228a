/* SPDX-License-Identifier: MIT */
/*
 * cairn-relay's daemon core: the I/O shell around the pure codecs. It owns
 * the sockets (TCP and UDP node links, STUN, metrics HTTP), the links and
 * their Noise sessions, the signed peer list it admits keys from and
 * distributes, and the limits that keep one abusive client from hurting
 * the others. docs/RELAY.md describes the behaviour; relay/main.c is the
 * thin executable around it.
 */
#ifndef CN_RELAY_RELAY_H
#define CN_RELAY_RELAY_H

#include <stdint.h>

#include "common/err.h"

struct event_base;
struct cn_relay;
struct cn_relay_config;

/* Counters, exported as Prometheus metrics (cairn_relay_*). */
struct cn_relay_metrics {
	uint64_t links_tcp, links_udp, links_pending; /* gauges */
	uint64_t tcp_accepted, tcp_refused;
	uint64_t handshakes_ok;
	uint64_t handshake_fail_format, handshake_fail_auth, handshake_fail_unknown;
	uint64_t handshake_fail_replay, handshake_ratelimited, handshake_pending_full;
	uint64_t handshake_cookie_replies; /* answered with a cookie under load */
	uint64_t packets_forwarded, bytes_forwarded;
	uint64_t packets_not_here, backpressure_pauses;
	uint64_t drop_buffer_full, drop_bad_packet, drop_bad_message, drop_no_session;
	uint64_t links_closed_idle, links_closed_stalled, links_closed_garbage,
		links_closed_removed, links_closed_replaced, links_closed_overflow;
	uint64_t tcp_queue_peak; /* gauge: the most bytes ever queued to one TCP link */
	uint64_t stun_requests, stun_bad;
	uint64_t stun_ratelimited, stun_no_credit; /* requests over the rate; answers withheld */
	uint64_t path_challenges, path_moves;	   /* UDP path validation: sent, completed */
	uint64_t lists_accepted, lists_refused, list_chunks_sent;
	uint64_t uploads, uploads_refused; /* gauge: in progress; counter: refused at a limit */
	int64_t list_serial;
};

/*
 * Creates the relay from a validated configuration: reads the identity key
 * and the peer list (the newer of the configured file and the copy in the
 * state directory), binds every listener. On failure returns NULL and e
 * says why in one line.
 */
struct cn_relay *cn_relay_new(struct event_base *base, const struct cn_relay_config *cfg,
			      struct cn_errbuf *e);
/*
 * What --check does: reads the identity key and the peer list exactly as
 * cn_relay_new would, binds nothing. 0, or an error with e saying why.
 */
int cn_relay_check(const struct cn_relay_config *cfg, struct cn_errbuf *e);
/* Closes every link and socket and frees everything; NULL is a no-op. */
void cn_relay_free(struct cn_relay *r);

/*
 * Re-reads the configured peer list file (SIGHUP). A newer valid list is
 * adopted at once: removed keys lose their links; connected nodes get it.
 * Returns 0 if adopted or unchanged, an error (logged) otherwise.
 */
int cn_relay_reload(struct cn_relay *r);

/* Counters, with the link gauges brought up to date. */
const struct cn_relay_metrics *cn_relay_get_metrics(struct cn_relay *r);

/* The local port of the first listener of each kind (tests bind port 0). */
int cn_relay_tcp_port(const struct cn_relay *r);
int cn_relay_udp_port(const struct cn_relay *r);
int cn_relay_stun_port(const struct cn_relay *r);
int cn_relay_metrics_port(const struct cn_relay *r);

#endif
