/* SPDX-License-Identifier: MIT */
/*
 * cairn-relay's internals, shared by the daemon's files and nothing else
 * (relay.h is the public face). One concept per file, as WireGuard's
 * drivers/net/wireguard/ does, each calling the others through the narrow
 * functions declared here:
 *
 *   relay.c          life cycle: new, free, check, reload, ports, the sweep
 *   relay_link.c     links: index slots, handshakes, data, confirm, close
 *   relay_forward.c  link messages: SEND/RECV with backpressure, WATCH, PING
 *   relay_list.c     the peer list: install, load, save, pump, uploads
 *   relay_path.c     UDP path validation: a link moves only to an address that answers
 *   relay_tcp.c      TCP links: accept, framing, write/event callbacks
 *   relay_udp.c      UDP links: recvmmsg+GRO, the sendmmsg+GSO batch, STUN demux
 *   relay_stun.c     STUN Binding answers
 *   relay_metrics.c  Prometheus /metrics and /health over evhttp
 *
 * What a link is: one authenticated Noise session between a node (the
 * initiator) and this relay, over a TCP connection or over UDP from one
 * address. A peer may hold one TCP and one UDP link at a time; a newer link
 * of the same kind replaces the older once its first packet confirms it.
 * The admin link of the network's root key may only upload peer lists.
 *
 * What the relay cannot do: read or alter forwarded packets. A SEND carries
 * a node-to-node packet already encrypted end to end; the relay re-wraps it
 * in the receiver's link session with the sender's authenticated key.
 */
#ifndef CN_RELAY_RELAY_INT_H
#define CN_RELAY_RELAY_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/addr.h"
#include "common/log.h"
#include "common/queue_compat.h"
#include "common/udpbatch.h"
#include "crypto/handshake.h"
#include "crypto/keyring.h"
#include "crypto/peerlist.h"
#include "relay/hsguard.h"
#include "relay/link.h"
#include "relay/ratelimit.h"
#include "relay/relay.h"
#include "relay/relay_config.h"

struct bufferevent;
struct event;
struct event_base;
struct evconnlistener;
struct evhttp;
struct evhttp_bound_socket;
struct cn_identity;
struct cn_link_msg;

enum {
	CN_RELAY_SWEEP_MS = 1000,
	CN_RELAY_UDP_READS = 8, /* recvmmsg reads per call (each a GRO read of many datagrams) */
	CN_RELAY_UDP_ITEMS = CN_RELAY_UDP_READS * CN_UDPBATCH_GRO_SEGS,
	CN_RELAY_UDP_BUF = 65536,
	CN_RELAY_UDP_DGRAM_MAX = 2048, /* node link datagrams are MTU-sized; larger: dropped */
	CN_RELAY_MAX_UPLOADS = 4,
	CN_RELAY_LIST_UDP_BURST = 256,	    /* list chunks per link per sweep over UDP (~300 KB) */
	CN_RELAY_SNAP_UDP_BURST = 1024,	    /* PRESENCE per link per sweep over UDP (~70 KB) */
	CN_RELAY_SEND_BATCH = 64,	    /* UDP datagrams queued before a sendmmsg */
	CN_RELAY_UPLOAD_TIMEOUT_MS = 30000, /* an upload must finish within this */
	CN_RELAY_UPLOAD_STALL_MS = 5000,    /* ... and never wait this long for a chunk */
	CN_RELAY_INDEX_SLOT_BITS = 20,	    /* max_connections <= 2^20 */
};
_Static_assert(1000000 < (1u << CN_RELAY_INDEX_SLOT_BITS), "slot bits cover max_connections");

#define CN_RELAY_SLOT_MASK ((1u << CN_RELAY_INDEX_SLOT_BITS) - 1)

enum cn_relay_link_kind {
	CN_RELAY_LINK_TCP,
	CN_RELAY_LINK_UDP,
};

enum cn_relay_link_state {
	CN_RELAY_LINK_NEW,	 /* TCP connected, no initiation yet */
	CN_RELAY_LINK_RESPONDED, /* response sent, waiting for the first packet */
	CN_RELAY_LINK_UP,	 /* authenticated */
};

struct relay_peer;
struct relay_udp;
struct relay_path;

struct relay_link {
	struct cn_relay *r;
	enum cn_relay_link_kind kind;
	enum cn_relay_link_state state;
	/*
	 * The index slot this link holds (r->slots); every local index of its
	 * sessions is (generation << SLOT_BITS) | slot, so a packet finds its
	 * link in O(1) and its session in the ring.
	 */
	uint32_t slot;
	uint32_t id; /* the first session's index: tells a reused slot apart */
	struct bufferevent *bev;
	struct relay_udp *udp; /* UDP: the socket it uses */
	struct cn_addr addr;   /* remote address */
	char addr_text[CN_ADDR_TEXT_MAX];
	/* Sessions: pointers only; a session is allocated when it exists. */
	struct cn_keyring keys;
	struct relay_peer *peer; /* who authenticated; NULL before */
	bool watch;
	TAILQ_ENTRY(relay_link) watch_entry; /* on r->watchers while watch */
	/* The WATCH snapshot, paced like the list: next index into r->peers. */
	bool snap_sending;
	uint32_t snap_next;
	/* Sending the list in force, paced (list pump): next offset, or
	 * sending false. */
	bool list_sending;
	uint32_t list_off;
	uint64_t list_serial;
	uint64_t have_serial; /* the list serial the node said it holds */
	uint64_t created_ms, last_rx_ms, partial_since_ms;
	/* Its output would have passed the cap: closed at the next reap (never read again). */
	bool doomed;
	/* UDP: the challenge out to a new address (heap, only while one is). */
	struct relay_path *path;
	uint8_t *upload;
	uint32_t upload_total, upload_got;
	uint64_t upload_serial, upload_started_ms, upload_last_ms;
	TAILQ_ENTRY(relay_link) entry;
	/*
	 * Backpressure between TCP links: a TCP link whose packets go to a
	 * TCP link with a full output queue stops being read (it waits on
	 * that link) until the queue drains below a quarter of the cap.
	 */
	struct relay_link *waiting_on;
	TAILQ_HEAD(, relay_link) waiters;
	TAILQ_ENTRY(relay_link) wait_entry;
};
TAILQ_HEAD(relay_link_list, relay_link);

struct relay_peer {
	struct cn_handshake_peer hs; /* first: the lookup returns &hs */
	uint8_t key[CN_KEY_LEN];     /* Ed25519, as in the list */
	char name[CN_NAME_MAX + 1];
	bool admin;		      /* the network's root key */
	struct relay_link *tcp, *udp; /* authenticated links */
};

struct relay_udp {
	struct cn_relay *r;
	int fd;
	bool stun_only;
	struct event *ev;
	/* Batch I/O state: GRO on link sockets' reads, GSO runs on sends. */
	struct cn_udpbatch ub_tx, ub_rx;
};

/* One UDP datagram waiting for the next sendmmsg. */
struct relay_udp_out {
	struct relay_udp *u;
	struct sockaddr_storage to;
	socklen_t tolen;
	size_t len;
	uint8_t data[CN_RELAY_UDP_DGRAM_MAX];
};

struct cn_relay {
	struct event_base *base;
	struct cn_relay_config cfg;
	struct cn_identity *id;
	struct cn_handshake_local local;
	char network[CN_NAME_MAX + 1];
	/* The list in force, its signed text (what nodes get), and per-peer
	 * state in the list's order plus the root's admin record. */
	struct cn_peerlist *pl;
	char *pl_text;
	size_t pl_len;
	struct relay_peer *peers;
	size_t npeers;
	struct relay_peer admin;
	/* Links: all of them, and by index slot. */
	struct relay_link_list links;
	TAILQ_HEAD(, relay_link) watchers; /* links that asked for presence */
	struct relay_link **slots;
	uint32_t nslots, *free_slots, nfree;
	uint32_t nlinks, npending, nuploads;
	struct cn_hsguard guard; /* handshakes: mac1, cookies under load, per-source rate */
	struct cn_ratelimiter stun_rl, stun_credit; /* STUN per source: requests, bytes */
	struct evconnlistener *tcp_listeners[CN_RELAY_MAX_LISTEN];
	unsigned int ntcp;
	struct relay_udp udps[2 * CN_RELAY_MAX_LISTEN];
	unsigned int nudp;
	struct evhttp *http;
	struct evhttp_bound_socket *http_sock;
	struct event *sweep;
	struct event *reap; /* closes doomed links, right after the callback that doomed them */
	/*
	 * UDP datagrams to send, flushed with one sendmmsg per socket by an
	 * event activated when the first one is queued: it runs right after
	 * the callback that queued them, so nothing waits longer than that.
	 */
	struct relay_udp_out sq[CN_RELAY_SEND_BATCH];
	unsigned int nsq;
	struct event *flush;
	struct cn_relay_metrics m;
	struct cn_ratelimit log_rl;
	/* Scratch buffers for one packet in and out. */
	uint8_t in[CN_RELAY_UDP_BUF];
	uint8_t out[CN_TCP_FRAME_HDR + CN_TCP_FRAME_MAX];
	/* UDP reads (GRO reads hold many datagrams) and the datagrams split from them. */
	uint8_t bufs[CN_RELAY_UDP_READS][CN_UDPBATCH_GRO_BUF];
	struct cn_udpbatch_rx rx[CN_RELAY_UDP_ITEMS];
	struct cn_udpbatch_msg tx[CN_RELAY_SEND_BATCH];
	bool closing; /* shutting down: no presence notices */
};

/* relay_link.c */
/* A new pending link holding a free index slot; NULL when none is free. */
struct relay_link *cn_relay_link_new(struct cn_relay *r, enum cn_relay_link_kind kind,
				     const struct sockaddr *sa, socklen_t salen);
/* The link one of whose sessions has local index `index`, or NULL. */
struct relay_link *cn_relay_link_by_index(struct cn_relay *r, uint32_t index);
/* Whether l (maybe freed since) is still the link of its slot with that id. */
bool cn_relay_link_alive(struct cn_relay *r, const struct relay_link *l, uint32_t slot,
			 uint32_t id);
/* Closes and frees l; why (may be NULL) is logged at info level. */
void cn_relay_link_close(struct relay_link *l, const char *why);
/*
 * An initiation arrived: on l (TCP) or, for UDP, from sa on u. Runs the
 * limits, the handshake and sends the response.
 */
void cn_relay_link_initiation(struct cn_relay *r, struct relay_link *l, struct relay_udp *u,
			      const struct sockaddr *sa, socklen_t salen, const uint8_t *msg,
			      size_t len);
/* A data message for l (decrypted in place); sa: the UDP source, or NULL. */
void cn_relay_link_data(struct relay_link *l, uint8_t *msg, size_t len, const struct sockaddr *sa,
			socklen_t salen);
/*
 * Sends len bytes at r->out + CN_TCP_FRAME_HDR on l. Every byte queued to a
 * TCP link counts against limits.max_buffered: a data packet (control
 * false) is dropped and counted when it would leave less than an eighth of
 * the cap free (that eighth is for control messages), and a control
 * message that would pass the cap dooms the link: it is read no more and
 * closed by the next reap (-CN_ETOOBIG either way). l stays valid until
 * the current callback returns.
 */
int cn_relay_link_write(struct relay_link *l, size_t len, bool control);
/* Encodes and encrypts m for l into r->out + CN_TCP_FRAME_HDR; *out_len its length. */
int cn_relay_link_seal(struct relay_link *l, const struct cn_link_msg *m, size_t *out_len);
/* Encodes, encrypts and sends m on l (cn_relay_link_write's rules). */
int cn_relay_link_send(struct relay_link *l, const struct cn_link_msg *m, bool control);
/* Creates the event that closes doomed links. */
int cn_relay_link_start(struct cn_relay *r, struct cn_errbuf *e);
/* The peer record behind a handshake lookup result. */
struct relay_peer *cn_relay_peer_of(struct cn_handshake_peer *hs);

/* relay_forward.c */
/*
 * One decrypted link message from l (empty: a keepalive), from sa (UDP) or
 * NULL (TCP). l may be freed.
 */
void cn_relay_forward_message(struct relay_link *l, const uint8_t *pt, size_t len,
			      const struct sockaddr *sa, socklen_t salen);
/* Tells every watcher but key's own links that key is here or gone. */
void cn_relay_presence_broadcast(struct cn_relay *r, const uint8_t key[CN_KEY_LEN], bool here);
/* Lets every link paused on l read again. */
void cn_relay_forward_release_waiters(struct relay_link *l);
/*
 * Continues l's WATCH snapshot: over TCP while its queue is below a
 * quarter of max_buffered (the write callback continues), over UDP
 * CN_RELAY_SNAP_UDP_BURST notices per call (the sweep continues).
 */
void cn_relay_forward_snapshot_pump(struct relay_link *l);

/* relay_list.c */
/* The handshake's key lookup (cn_handshake_lookup_fn) over the list and the root. */
struct cn_handshake_peer *cn_relay_lookup_xkey(void *ctx, const uint8_t x_pk[CN_KEY_LEN]);
/*
 * Loads a signed list from buf (ownership taken) and installs it if it may
 * replace the one held (cn_peerlist_load_update); source names it in e.
 */
int cn_relay_list_load(struct cn_relay *r, char *buf, size_t len, const char *source,
		       struct cn_errbuf *e);
/* Keeps the list in force in the state directory (atomically). */
void cn_relay_list_save(struct cn_relay *r);
/* Starts sending the list in force to l, from the beginning. */
void cn_relay_list_send(struct relay_link *l);
/* Continues sending the list to l as far as its pacing allows. */
void cn_relay_list_pump(struct relay_link *l);
/* A LIST_CHUNK of an upload arrived on l; l may be closed and freed (its key left). */
void cn_relay_list_chunk(struct relay_link *l, const struct cn_link_msg *m);
/* Drops l's upload in progress (timed out or the link goes). */
void cn_relay_list_upload_drop(struct relay_link *l);
/* Whether l's upload is past its deadline or stalled at now. */
bool cn_relay_list_upload_late(const struct relay_link *l, uint64_t now);
/* The state directory's copy of the list. */
#define CN_RELAY_STATE_LIST_FILE "peers.conf"

/* relay_path.c */
/*
 * An authenticated datagram of len bytes for UDP link l came from sa, not
 * from l's address: challenge sa (paced), unless a challenge to it is out.
 */
void cn_relay_path_seen(struct relay_link *l, const struct sockaddr *sa, socklen_t salen,
			size_t len, uint64_t now);
/* A PATH_RESPONSE from sa: the link moves there if it answers the challenge out. */
void cn_relay_path_response(struct relay_link *l, const struct cn_link_msg *m,
			    const struct sockaddr *sa, socklen_t salen);
/* Forgets l's challenge (the link goes). */
void cn_relay_path_drop(struct relay_link *l);

/* relay_tcp.c */
int cn_relay_tcp_listen(struct cn_relay *r, const struct cn_addr *a, struct cn_errbuf *e);

/* relay_udp.c */
int cn_relay_udp_open(struct cn_relay *r, const struct cn_addr *a, bool stun_only,
		      struct cn_errbuf *e);
/* Queues len bytes at r->out + CN_TCP_FRAME_HDR for l's address (sent in the batch). */
int cn_relay_udp_write(struct relay_link *l, size_t len);
/* The same to another address than l's (a path challenge). */
int cn_relay_udp_write_to(struct relay_link *l, size_t len, const struct sockaddr *to,
			  socklen_t tolen);
/*
 * Handles n datagrams received on u (views into one read batch), in
 * order, each under every per-packet rule, then flushes what they queued.
 */
void cn_relay_udp_batch(struct relay_udp *u, const struct cn_udpbatch_rx *rx, size_t n);
/* Sends every queued UDP datagram now. */
void cn_relay_udp_flush(struct cn_relay *r);
/* Creates the event that flushes the batch after the callback that queued it. */
int cn_relay_udp_start(struct cn_relay *r, struct cn_errbuf *e);

/* relay_stun.c */
/* Sets up the STUN limiters (relay_stun.c's header says why). */
int cn_relay_stun_init(struct cn_relay *r);
/* Answers (or not) one datagram that looks like STUN, from sa on fd. */
void cn_relay_stun_answer(struct cn_relay *r, int fd, const uint8_t *buf, size_t len,
			  const struct sockaddr *sa, socklen_t salen);

/* relay_metrics.c */
/* Serves /metrics and /health on cfg.metrics. */
int cn_relay_metrics_start(struct cn_relay *r, struct cn_errbuf *e);
/* Brings the link and upload gauges up to date. */
void cn_relay_metrics_links(struct cn_relay *r);

#endif
