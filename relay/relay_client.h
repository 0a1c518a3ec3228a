/* SPDX-License-Identifier: MIT */
/*
 * The node's side of a relay link (docs/RELAY.md): connects to one relay
 * over TCP or UDP, runs the Noise IK handshake against the relay's pinned
 * key, keeps the link alive and rekeys it, and carries link messages both
 * ways. Used by cairn-node, by `cairn peers publish` and by the tests and
 * benchmark. Runs on the caller's libevent loop.
 *
 * The client does not reconnect on its own: when the link goes down the
 * `down` callback says why and the owner decides (backoff, another relay).
 *
 * TCP output is capped: a SEND that would queue more than
 * CN_RELAY_CLIENT_TCP_DATA_MAX bytes is dropped and counted (a relay that
 * stops reading must not make the node buffer without limit); control
 * messages (handshakes, PINGs, a published list) may use up to
 * CN_RELAY_CLIENT_TCP_QUEUE_MAX, past which the link goes down.
 *
 * Timers: handshake retry after CN_SESSION_REKEY_TIMEOUT_MS (a fresh
 * initiation each time, so the relay's replay check never refuses it), and
 * for a UDP link that is not up yet also after 250, 500, 1000 and 2000 ms
 * (a lost first datagram must not cost 5 s);
 * a PING after KEEPALIVE_MS without sending; the link is declared dead after
 * DEAD_MS without receiving anything; rekey when the session says so.
 * While SENDs go out and nothing has come back for max(250 ms, 2 RTT), the
 * next SEND's answer is waited for max(50 ms, 2 RTT), then a PING goes (a
 * second half way); when nothing at all arrives within max(300 ms, 3 RTT)
 * of that SEND, the link goes down ("nothing back within ... while
 * carrying traffic, probes included"; common/pathwatch.h), so a relay that
 * died or is blackholed under traffic is found in well under a second. An idle UDP
 * link's keepalive PING starts the same probe, so a relay that restarted
 * (and drops the forgotten session's messages) or went silent is found
 * within KEEPALIVE_MS plus that bound, not DEAD_MS (over TCP a restart
 * resets the connection). RTT is that of the last answered PING.
 */
#ifndef CN_RELAY_RELAY_CLIENT_H
#define CN_RELAY_RELAY_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "common/err.h"
#include "crypto/handshake.h"
#include "crypto/keys.h"

enum {
	CN_RELAY_CLIENT_TCP_DATA_MAX = 1 << 20,
	/* Room for the largest list a `cairn peers publish` sends at once. */
	CN_RELAY_CLIENT_TCP_QUEUE_MAX = CN_RELAY_CLIENT_TCP_DATA_MAX + (5 << 20),
};

struct event_base;
struct cn_identity;
struct cn_link_msg;
struct cn_relay_client;

/* One RECV of a batch (cbs.recv_batch). */
struct cn_relay_client_recv {
	const uint8_t *key; /* the sender's Ed25519 key, CN_KEY_LEN bytes */
	uint8_t *data;
	size_t len;
};

/* One packet of a batch SEND (cn_relay_client_send_packets). */
struct cn_relay_client_pkt {
	const uint8_t *data;
	size_t len;
};

struct cn_relay_client_cbs {
	/* The link is authenticated and can carry messages. */
	void (*up)(struct cn_relay_client *c, void *arg);
	/* The link is gone (why: one line); the client must be freed. */
	void (*down)(struct cn_relay_client *c, void *arg, const char *why);
	/* A link message from the relay (PING, PONG and PATH_CHALLENGE are handled inside). */
	void (*msg)(struct cn_relay_client *c, void *arg, const struct cn_link_msg *m);
	/*
	 * May be NULL. The RECVs of one UDP read batch, in arrival order, in
	 * place of one msg call each: r[i].data points into the client's
	 * receive buffers (writable, valid until the callback returns). Any
	 * other message is delivered (msg) after the RECVs that came before it.
	 */
	void (*recv_batch)(struct cn_relay_client *c, void *arg, struct cn_relay_client_recv *r,
			   size_t n);
};

struct cn_relay_client_opts {
	const struct cn_identity *id;  /* borrowed; must outlive the client */
	const char *network;	       /* the peer list's network name */
	uint8_t relay_key[CN_KEY_LEN]; /* the relay's Ed25519 key from the peer list */
	struct cn_addr addr;	       /* where the relay listens */
	bool udp;		       /* UDP link; TCP otherwise */
	bool watch;		       /* ask for PRESENCE notices */
	uint64_t held_serial;	       /* announce this list serial (0: do not) */
	/*
	 * The TAI64N timestamp of each initiation (the node: its engine's
	 * floor, so a clock that went back is not refused as a replay); NULL:
	 * the wall clock.
	 */
	void (*timestamp)(void *arg, uint8_t ts[CN_TAI64N_LEN]);
	void *timestamp_arg;
	/* UDP: UDP GSO on sends and GRO on reads where the kernel has them. */
	bool offload;
};

/* Starts connecting; NULL (and e says why) on immediate failure. */
struct cn_relay_client *cn_relay_client_new(struct event_base *base,
					    const struct cn_relay_client_opts *o,
					    const struct cn_relay_client_cbs *cbs, void *arg,
					    struct cn_errbuf *e);
void cn_relay_client_free(struct cn_relay_client *c);

/* Sends one link message: 0, -CN_ESTATE before `up`, or a send error. */
int cn_relay_client_send(struct cn_relay_client *c, const struct cn_link_msg *m);
/* SEND of an end-to-end packet to the peer with Ed25519 key dst. */
int cn_relay_client_send_packet(struct cn_relay_client *c, const uint8_t dst[static CN_KEY_LEN],
				const uint8_t *packet, size_t len);
/*
 * SENDs of pk[0..n) to the peer with key dst, in order, over a UDP link:
 * the link frames are sealed as a batch and leave in one sendmmsg (UDP GSO
 * runs of equal-size datagrams when opts.offload). *sent = how many the
 * socket took (always set); returns 0 when all were, else the error that
 * stopped the rest (-CN_ESTATE on a TCP link, which takes none: send
 * those one by one, so the data cap drops and counts per frame).
 */
int cn_relay_client_send_packets(struct cn_relay_client *c, const uint8_t dst[static CN_KEY_LEN],
				 const struct cn_relay_client_pkt *pk, size_t n, size_t *sent);
/* Uploads a signed peer list in chunks; the result arrives as LIST_RESULT. */
int cn_relay_client_publish(struct cn_relay_client *c, const uint8_t *list, size_t len,
			    uint64_t serial);

bool cn_relay_client_is_up(const struct cn_relay_client *c);
/* The link's local address (getsockname); 0, or -CN_ESTATE before it has one. */
int cn_relay_client_local(const struct cn_relay_client *c, struct cn_addr *out);
/* Round-trip time of the last answered PING in microseconds, 0 if none yet. */
uint64_t cn_relay_client_rtt_us(const struct cn_relay_client *c);
/* Sends a PING now (the RTT is updated when its PONG arrives). */
int cn_relay_client_ping(struct cn_relay_client *c);
/* Links this client ended because a probe under traffic went unanswered (0 or 1). */
uint64_t cn_relay_client_probe_failures(const struct cn_relay_client *c);
/* How often the link's timer has fired: an idle link about once per keepalive (5 s). */
uint64_t cn_relay_client_timer_wakeups(const struct cn_relay_client *c);
/* SEND packets dropped because the TCP output queue was full. */
uint64_t cn_relay_client_drops(const struct cn_relay_client *c);
/* Bytes waiting in the TCP output queue (0 over UDP). */
size_t cn_relay_client_queued(const struct cn_relay_client *c);

#endif
