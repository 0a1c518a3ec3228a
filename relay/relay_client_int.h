/* SPDX-License-Identifier: MIT */
/*
 * The relay client's private parts, shared by relay_client.c (the link:
 * handshake, sending, receiving) and relay_client_live.c (whether the
 * relay is still there: the link timer, keepalives, the fast-failure
 * probe). Not for use outside relay_client*.c.
 */
#ifndef CN_RELAY_RELAY_CLIENT_INT_H
#define CN_RELAY_RELAY_CLIENT_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

#include "common/pathwatch.h"
#include "common/udpbatch.h"
#include "crypto/cookie.h"
#include "crypto/handshake.h"
#include "crypto/keyring.h"
#include "relay/link.h"
#include "relay/relay_client.h"

enum {
	/*
	 * The link's timer is armed to its next deadline (client_tick_arm), never more
	 * than KEEPALIVE_MS away and never closer than TICK_MIN_MS: an idle
	 * link wakes once per keepalive, not once a second.
	 */
	TICK_MIN_MS = 10,
	KEEPALIVE_MS = 5000,
	DEAD_MS = 15000,
	UDP_DGRAM_MAX = 2048,
	/* A UDP link's first initiation is sent again (fresh) after 250 ms, doubling. */
	HS_RETRY_MIN_MS = 250,
	/* UDP batches: reads per recvmmsg (GRO reads of up to 64 datagrams each),
	 * recvmmsg calls per readable event, SENDs sealed per sendmmsg. */
	RX_BUFS = 4,
	RX_ITEMS = RX_BUFS * CN_UDPBATCH_GRO_SEGS,
	RX_ROUNDS = 4,
	TX_BATCH = CN_UDPBATCH_MAX,
	SOCKBUF = 8 << 20,
};

/* UDP only: the batch state and buffers (~400 KiB, allocated with the socket). */
struct client_udp {
	struct cn_udpbatch ub_tx, ub_rx;
	uint8_t rxbuf[RX_BUFS][CN_UDPBATCH_GRO_BUF];
	struct cn_udpbatch_rx rx[RX_ITEMS];
	struct cn_relay_client_recv rq[RX_ITEMS]; /* RECVs waiting for recv_batch */
	size_t nrq;
	bool batching; /* in a read batch: RECVs are queued */
	uint8_t txbuf[TX_BATCH][UDP_DGRAM_MAX];
	struct cn_udpbatch_msg tx[TX_BATCH];
};

enum client_state {
	CLIENT_CONNECTING, /* TCP connect in progress */
	CLIENT_HANDSHAKE,  /* initiation sent, no session yet */
	CLIENT_UP,
	CLIENT_DOWN,
};

struct cn_relay_client {
	struct event_base *base;
	struct cn_relay_client_opts o;
	struct cn_relay_client_cbs cbs;
	void *arg;
	enum client_state state;
	struct cn_handshake_local local;
	uint8_t relay_x[CN_KEY_LEN];
	/* Sessions (current, previous for receiving) and the initiation in flight. */
	struct cn_keyring keys;
	uint64_t hs_sent_ms;
	/* A relay under load sends a cookie: our initiations then carry mac2. */
	struct cn_cookie_jar jar;
	struct bufferevent *bev; /* TCP */
	int fd;			 /* UDP */
	struct client_udp *u;	 /* UDP */
	struct event *udp_ev, *tick;
	uint64_t last_tx_ms, last_rx_ms;
	uint64_t ping_nonce, ping_sent_us, rtt_us;
	/* The fast-failure watch (common/pathwatch.h; its PINGs are the probes), its timer. */
	struct cn_pathwatch watch;
	bool probe_idle;      /* started by the keepalive, not by traffic */
	uint64_t hs_retry_ms; /* UDP, before the link is up: the next retry's delay */
	struct event *probe_ev;
	uint64_t drops, probe_failures, wakeups;
	bool overflow; /* control output passed its cap: the tick takes the link down */
	bool in_callback, free_pending;
	uint8_t out[CN_TCP_FRAME_HDR + CN_TCP_FRAME_MAX];
	uint8_t in[CN_TCP_FRAME_MAX];
};

/* relay_client.c */
/* Ends the link (once) and tells the owner why. */
void client_go_down(struct cn_relay_client *c, const char *why);
/* A fresh initiation (timestamp from opts.timestamp), stamped with mac2 under load. */
int client_send_initiation(struct cn_relay_client *c);

/* relay_client_live.c */
/* The one-shot timer c->probe_ev at `at` (ms, on the cn_clock_ms scale). */
void client_probe_arm(struct cn_relay_client *c, uint64_t at, uint64_t now);
/* Something authentic arrived: the relay is there, no probe is needed. */
void client_heard(struct cn_relay_client *c, uint64_t now);
/* After SENDs: probes the relay when nothing has come back for a while. */
void client_maybe_probe(struct cn_relay_client *c, uint64_t now);
/* c->tick at the link's next deadline. */
void client_tick_arm(struct cn_relay_client *c, uint64_t now);
void client_probe_cb(evutil_socket_t fd, short what, void *arg);
void client_tick_cb(evutil_socket_t fd, short what, void *arg);

#endif
