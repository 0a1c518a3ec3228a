/* SPDX-License-Identifier: MIT */
/*
 * The peer engine: cairn-node's per-peer state machine with no I/O of its
 * own. It takes `now` (monotonic ms) and inputs - a packet read from the
 * TUN, a session message from a path, the timer, ICE and relay events, a
 * new peer list - and acts only through the ops table: send on a path,
 * write to the device, start or stop ICE, log. The shells around it
 * (tun_io.c, direct.c, ice_glue.c, relays.c, timers.c ...) own libevent,
 * sockets, the TUN and libnice. Two engines can therefore run in one
 * process against fake paths and a fake clock (tests/unit/node/test_engine.c).
 *
 * Every peer in the signed list (but this node) has a struct cn_peer: its
 * sessions (a keyring: current, previous, next), the packets staged while no
 * session exists, and its paths:
 *   - relay: through any relay link that is up; used first, so nobody
 *     waits for hole punching;
 *   - direct: a UDP socket (the shell's) towards dremote, taken over from
 *     ICE, restored from the endpoints file, or found by birthday probing
 *     or a port mapping (engine_bday.c; d_shared: the node-wide socket);
 *     up once an authenticated packet arrived over it;
 *   - TURN: ICE's relayed pair.
 * A session is bound to keys, not to a path: packets of one session may
 * arrive over any path, and the engine sends over the best path up.
 *
 * Trust: a packet counts only after its session authenticated it; the path
 * it came by (relay source key, direct socket) must belong to the same peer;
 * a decrypted IP packet whose source is not the peer's overlay address is
 * dropped (cryptokey routing). Bad input is dropped, counted and logged
 * with a rate limit; it never touches other peers.
 *
 * The engine's files: engine.c (life, peer table, list updates, status
 * snapshot), engine_send.c (staging, encryption, path choice, handshake
 * initiation, ICMP), engine_recv.c (one function per message type),
 * engine_ctl.c (node-to-node control messages, ICE signalling),
 * engine_timers.c (every per-peer deadline), engine_watch.c (fast failure
 * of a direct path under traffic, network changes), engine_pmtu.c (each
 * path's MTU, TCP MSS clamping), engine_bday.c (hard NATs: birthday
 * probing, and port-mapping candidates over the node-wide socket),
 * engine_batch.c (the batch inputs of the fast data path: many packets
 * per call, sealed and opened through ops.parallel, sent per peer in runs).
 */
#ifndef CN_NODE_ENGINE_H
#define CN_NODE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "common/log.h"
#include "common/pathwatch.h"
#include "common/u32map.h"
#include "crypto/cookie.h"
#include "crypto/handshake.h"
#include "crypto/keyring.h"
#include "crypto/peerlist.h"
#include "nat/birthday.h"
#include "node/ctlmsg.h"
#include "node/pmtu.h"

struct cn_engine;
struct cn_peer;
struct cn_engine_tx;

enum {
	CN_ENGINE_MAX_RELAYS = 32, /* bits of cn_peer.present */
	CN_ENGINE_STAGED_MAX = 64,
	CN_ENGINE_PKT_MAX = 65535,
	CN_ENGINE_BATCH_MAX = 256, /* items sealed or opened per ops.parallel call */
	CN_ENGINE_BATCH_KEYS = 8,  /* sessions per such call (more: the batch is cut) */
	/* Timers (engine_timers.c has what each does). */
	CN_ENGINE_HANDSHAKE_RETRY_MS = 5000,
	CN_ENGINE_HANDSHAKE_GIVEUP_MS = 90000,
	CN_ENGINE_HANDSHAKE_RESEND_MIN_MS = 100,
	CN_ENGINE_PASSIVE_KEEPALIVE_MS = 10000,
	/*
	 * An idle direct path: a keepalive each way every 10 s keeps the NAT
	 * mappings (30 s and more) and lets each side count the other's, so a
	 * path silent for 3 intervals is dead. Traffic is watched far closer
	 * (engine_watch.c); an idle board wakes rarely.
	 */
	CN_ENGINE_DIRECT_KEEPALIVE_MS = 10000,
	CN_ENGINE_DIRECT_DEAD_MS = 30000,
	/* engine_watch.c: a silent direct path under traffic (common/pathwatch.h). */
	CN_ENGINE_DIRECT_QUIET_MS = CN_PATHWATCH_QUIET_MS,
	CN_ENGINE_DIRECT_ANSWER_MS = CN_PATHWATCH_ANSWER_MS,
	CN_ENGINE_DIRECT_PROBE_MS = CN_PATHWATCH_BOUND_MS,
	/* engine_watch.c: traffic from a peer that stops is probed, at most once a second. */
	CN_ENGINE_RX_QUIET_INTERVAL_MS = 1000,
	CN_ENGINE_ICE_START_DELAY_MS = 200,
	CN_ENGINE_ICE_BACKOFF_MIN_MS = 2000,
	CN_ENGINE_ICE_BACKOFF_MAX_MS = 60000,
	CN_ENGINE_PROBE_INTERVAL_MS = 10000,
	CN_ENGINE_ICMP_PER_SECOND = 10,
	CN_ENGINE_RETRY_LATER_MS = 250,
	CN_ENGINE_CHALLENGE_INTERVAL_MS = 1000, /* at most one path challenge per peer per second */
	/*
	 * Path MTU (engine_pmtu.c): the size every path is assumed to carry
	 * before its probes say more. Below the 1280 of node/pmtu.h so that a
	 * relayed packet still fits a path of 1280-byte IP packets (IPv6's
	 * minimum, and the lab's small-MTU site): a relayed packet adds 32
	 * (session) + 33 (SEND) + 32 (relay link session) + 48 (UDP, IPv6)
	 * bytes (docs/CONFIG.md "MTU"), 1100 + 145 = 1245.
	 */
	CN_ENGINE_PMTU_BASE = 1100,
	/* A peer's mapped address is checked this often, this many times. */
	CN_ENGINE_MAPPED_CHECK_MS = 1000,
	CN_ENGINE_MAPPED_CHECKS = 5,
	/* Birthday attempts (engine_bday.c): again after a failure, doubling. */
	CN_ENGINE_BDAY_RETRY_MIN_MS = 30000,
	CN_ENGINE_BDAY_RETRY_MAX_MS = 600000,
};

/*
 * How this node's NAT maps the node-wide UDP socket (the shell's natsock.c
 * learns it with STUN to a relay's two UDP ports): NONE, a public address;
 * EASY, one external port whatever the destination; HARD, a new one per
 * destination (symmetric).
 */
enum cn_nat_kind { CN_NAT_UNKNOWN, CN_NAT_NONE, CN_NAT_EASY, CN_NAT_HARD };

/* The shell's side. ctx is cn_engine_config.ctx. */
struct cn_engine_ops {
	/* A session message to p over its direct socket, to `to`. */
	int (*send_direct)(void *ctx, struct cn_peer *p, const struct cn_addr *to,
			   const uint8_t *msg, size_t len);
	/* A session message to p over ICE's TURN pair. */
	int (*send_turn)(void *ctx, struct cn_peer *p, const uint8_t *msg, size_t len);
	/* A session message for the peer with Ed25519 key `key` through relay slot `relay`. */
	int (*send_relay)(void *ctx, unsigned int relay, const uint8_t key[CN_KEY_LEN],
			  const uint8_t *msg, size_t len);
	/* An IP packet for the local stack. */
	int (*tun_write)(void *ctx, const uint8_t *pkt, size_t len);
	/*
	 * Batch data path (engine_batch.c); each may be NULL.
	 * send_direct_batch: the sealed datagrams dg[0..n) (buf, len) to p over
	 * its direct socket, to `to`, in order; *sent = how many the socket
	 * took (the engine sends the rest through a relay). NULL: send_direct
	 * per datagram.
	 */
	int (*send_direct_batch)(void *ctx, struct cn_peer *p, const struct cn_addr *to,
				 struct cn_engine_tx *const *dg, size_t n, size_t *sent);
	/*
	 * send_relay_batch: the sealed datagrams dg[0..n) (buf, len) for the
	 * peer with Ed25519 key `key` through relay slot `relay`, in order;
	 * *sent = how many the link took (the engine sends the rest one by one
	 * over its paths). NULL: send_relay per datagram.
	 */
	int (*send_relay_batch)(void *ctx, unsigned int relay, const uint8_t key[CN_KEY_LEN],
				struct cn_engine_tx *const *dg, size_t n, size_t *sent);
	/*
	 * tun_queue: as tun_write, but pkt stays valid until tun_flush, which
	 * the engine calls before cn_engine_receive_batch returns: the shell
	 * may hold packets to coalesce them (daemon-side GRO). NULL: tun_write.
	 */
	int (*tun_queue)(void *ctx, const uint8_t *pkt, size_t len);
	void (*tun_flush)(void *ctx);
	/*
	 * parallel: runs fn(arg, items[i]) once for every i, on any threads,
	 * concurrently, and returns when all are done (crypto workers). fn
	 * touches only its item and reads arg. NULL: the engine runs them.
	 */
	void (*parallel)(void *ctx, void (*fn)(void *arg, void *item), void *arg,
			 void *const *items, size_t n);
	/* ICE: start an agent for p (controlling or not); stop it; feed the peer's SDP / done. */
	int (*ice_start)(void *ctx, struct cn_peer *p, bool controlling);
	void (*ice_stop)(void *ctx, struct cn_peer *p);
	int (*ice_remote_sdp)(void *ctx, struct cn_peer *p, const char *sdp);
	void (*ice_remote_done)(void *ctx, struct cn_peer *p);
	/* p leaves the list: free what the shell holds for it (direct socket, ICE). */
	void (*peer_gone)(void *ctx, struct cn_peer *p);
	/* A PROBE_REPLY with this id came back from p (cairn ping). */
	void (*probe_reply)(void *ctx, struct cn_peer *p, uint64_t id, enum cn_ctl_path there,
			    enum cn_ctl_path back);
	/* The direct endpoints worth remembering changed. */
	void (*endpoints_changed)(void *ctx);
	/* The engine needs cn_engine_tick at `when` (monotonic ms) or earlier. */
	void (*wake_at)(void *ctx, uint64_t when);
	/* Microseconds on the monotonic clock, for RTT probes only. */
	uint64_t (*now_us)(void *ctx);
	/* Wall-clock time, for handshake timestamps and "last handshake". */
	void (*wall_clock)(void *ctx, uint64_t *sec, uint32_t *nsec);
	/*
	 * Keep this TAI64N label (node/tai_floor.h) where the next start finds
	 * it (cn_engine_set_tai_floor), before the initiation that needs it is
	 * sent: 0 when kept. NULL: never kept (timestamps are then monotonic
	 * within this process only).
	 */
	int (*persist_floor)(void *ctx, const uint8_t floor[CN_TAI64N_LEN]);
	/*
	 * The node-wide UDP socket (natsock.c): a session message to `to`.
	 * Birthday, hard side (engine_bday.c): open p's socket number `index`
	 * and send msg from it to `to`; send from that socket; make it p's
	 * direct socket and close the others; close them all.
	 */
	int (*send_shared)(void *ctx, const struct cn_addr *to, const uint8_t *msg, size_t len);
	int (*bday_open)(void *ctx, struct cn_peer *p, uint16_t index, const struct cn_addr *to,
			 const uint8_t *msg, size_t len);
	int (*bday_send)(void *ctx, struct cn_peer *p, uint16_t index, const struct cn_addr *to,
			 const uint8_t *msg, size_t len);
	void (*bday_adopt)(void *ctx, struct cn_peer *p, uint16_t index);
	void (*bday_close)(void *ctx, struct cn_peer *p);
	/* One log line; ratelimited for what a remote party can trigger. */
	void (*log)(void *ctx, enum cn_log_level level, bool ratelimited, const char *msg);
};

struct cn_engine_config {
	const struct cn_engine_ops *ops;
	void *ctx;
	const struct cn_identity *id; /* borrowed; outlives the engine */
	bool ice;		      /* look for direct paths with ICE */
	/* Handshakes per second past which a direct-path initiator must show a
	 * cookie (mac2); 0: CN_COOKIE_LOAD_DEFAULT. */
	uint32_t cookie_load;
	/*
	 * The TUN's MTU: the largest packet the overlay sends and the top of
	 * each path's MTU search (engine_pmtu.c). 0: no probing; every path
	 * is taken to carry it and TCP MSS is not clamped.
	 */
	uint16_t mtu;
	/* Hard-NAT traversal (engine_bday.c); bday.enabled false: off. */
	struct cn_bday_limits bday;
};

struct cn_staged {
	size_t len;
	uint8_t data[];
};

/*
 * A peer's hard-NAT traversal and port-mapping state (engine_bday.c),
 * allocated the first time it has something to keep. bday: the birthday
 * attempt, its next step, when another may start; peer_refl: the
 * reflexive address of the peer's node-wide socket it announced (its NAT
 * is easy); bday_hard_ip: the hard side's external address (easy side).
 * peer_mapped: the address the peer's gateway maps to its node-wide socket
 * (CANDIDATE 1-3), checked from ours with a PROBE that only the peer can
 * answer (nat_challenge_*), a few times.
 */
struct cn_peer_nat {
	struct cn_bday bday;
	uint64_t bday_next_ms, bday_retry_ms, bday_backoff_ms;
	struct cn_addr peer_refl, bday_hard_ip;
	struct cn_addr peer_mapped, nat_challenge_addr;
	uint64_t nat_challenge_id, nat_challenge_ms;
	unsigned int nat_challenges;
};

struct cn_peer {
	struct cn_engine *e;
	const struct cn_pl_peer *pl; /* its record in the list in force */
	uint8_t key[CN_KEY_LEN];
	char name[CN_NAME_MAX + 1];
	struct cn_handshake_peer hs_peer; /* as responder: x_pk, last timestamp */
	struct cn_keyring keys;
	uint64_t hs_sent_ms, hs_first_ms;
	/*
	 * While packets wait for the session, the initiation in flight is sent
	 * again (the same bytes) after hs_resend_ms, doubling from
	 * HANDSHAKE_RESEND_MIN_MS, until the regular retry makes a new one.
	 */
	uint8_t hs_msg[CN_HANDSHAKE_INITIATION_LEN];
	uint64_t hs_resent_ms, hs_resend_ms;
	/* The cookie the peer gave us under load: our messages to it carry mac2. */
	struct cn_cookie_jar jar;
	struct cn_staged **staged; /* NULL, or CN_ENGINE_STAGED_MAX slots (nstaged used) */
	unsigned int nstaged;
	/* Relay path. */
	int relay_hint;	  /* the relay slot that last delivered from it, -1: none */
	uint32_t present; /* bit i: relay slot i says the peer is connected to it */
	/* Direct path: the shell owns the socket, the engine its endpoint and state. */
	bool dsock; /* a direct socket is open */
	struct cn_addr dremote;
	uint16_t dlocal_port;
	bool direct_up;
	uint64_t d_last_rx_ms, d_last_tx_ms;
	struct cn_pathwatch dwatch; /* the fast-failure watch of the direct path (engine_watch.c) */
	/*
	 * Traffic from the peer (engine_watch.c): when its last IP packet
	 * came, whether it came in a stream (less than the quiet bound after
	 * the one before), and when such a stream's stopping was last probed.
	 */
	uint64_t rx_ip_ms, rx_quiet_probe_ms;
	bool rx_stream;
	uint64_t restrict_log_ms; /* clock rule 3: its next log line (engine_restrict.c) */
	char d_type[32];
	bool d_shared; /* the direct path is the node-wide socket's (send_shared) */
	/*
	 * Path validation (as QUIC's): an authentic packet from another address
	 * moves nothing by itself; a PROBE with a fresh id goes there and the
	 * endpoint moves when its reply comes back from there.
	 */
	uint64_t challenge_id, challenge_sent_ms;
	struct cn_addr challenge_addr;
	/*
	 * Path MTU (RFC 8899), one search per path, indexed by enum
	 * cn_ctl_path (relay, direct; TURN is not probed). The probe ids on
	 * the wire are the state machine's plus a random salt per search, so
	 * an ack names its path. pmtu_relay: the relay slot probed.
	 */
	struct cn_pmtu pmtu[2];
	uint64_t pmtu_next_ms[2]; /* 0: nothing due */
	uint32_t pmtu_salt[2];
	int pmtu_relay;
	/* Hard-NAT traversal and port mapping (engine_bday.c); NULL until needed. */
	struct cn_peer_nat *nat;
	/* ICE. */
	bool ice; /* an agent runs */
	uint32_t ice_gen, ice_remote_gen;
	bool ice_turn_up;
	uint64_t ice_next_ms, ice_backoff_ms;
	/* Accounting. */
	uint64_t last_rx_ms, last_tx_ms, last_probe_ms, probe_id, probe_sent_us, rtt_us;
	uint64_t rx_bytes, tx_bytes, handshakes;
	int64_t last_handshake_unix;
	bool removed;
	void *io; /* the shell's per-peer state */
};

struct cn_engine_metrics {
	uint64_t drop_no_peer, drop_bad_src, drop_bad_packet, drop_no_path, drop_staged_full;
	uint64_t drop_no_session, drop_replay, icmp_sent, handshakes_ok, handshakes_refused;
	uint64_t path_changes, path_fallbacks, path_challenges, rx_quiet_probes;
	uint64_t cookie_replies_sent, cookies_received, handshakes_dropped;
	uint64_t drop_restricted; /* packets and initiations refused under clock rule 3 */
};

/* What `cairn status` and the metrics show of one peer, from one snapshot. */
struct cn_peer_status {
	bool session;	       /* established and not expired */
	enum cn_ctl_path path; /* valid when session and has_path */
	bool has_path;	       /* a path is up to send on */
	int relay;	       /* the relay slot used, -1 when none */
	bool live;	       /* for group answers */
	uint16_t mtu;	       /* the largest packet the path in use carries (0: no probing) */
	uint16_t mtu_relay, mtu_direct; /* each path's (0: not up or no probing) */
};

/* ---- life ---- */
struct cn_engine *cn_engine_new(const struct cn_engine_config *cfg, struct cn_errbuf *e);
void cn_engine_free(struct cn_engine *e);
/*
 * Makes pl (borrowed: the caller keeps it alive until the next call or
 * cn_engine_free) the list in force; the handshake prologue binds its
 * network (which never changes after the first list). Keeps the state of
 * peers that stay, drops removed peers' sessions and paths at once,
 * creates new peers. self: this node's record in pl (may be NULL).
 */
int cn_engine_set_list(struct cn_engine *e, const struct cn_peerlist *pl,
		       const struct cn_pl_peer *self, uint64_t now);

/*
 * The timestamp floor loaded at start (tai_floor.h): every initiation from
 * now on carries a timestamp above it, whatever the wall clock says.
 */
struct cn_tai_floor;
void cn_engine_set_tai_floor(struct cn_engine *e, const struct cn_tai_floor *f);
/*
 * A timestamp for an initiation this node sends outside the engine (its
 * relay links): from the same floor as the peers' initiations, above every
 * timestamp sent before, in this run or an earlier one. A relay that saw
 * the last one does not refuse the next after a restart with the clock
 * behind, nor one of two links opened within the same 2^24 ns tick.
 */
void cn_engine_timestamp(struct cn_engine *e, uint8_t ts[CN_TAI64N_LEN]);
/* Unix seconds this node's clock has certainly shown (the floor less its lead), 0: none. */
int64_t cn_engine_floor_seconds(const struct cn_engine *e);

/* ---- lookups ---- */
/* "relay", "direct" or "turn". */
const char *cn_engine_path_name(enum cn_ctl_path path);
size_t cn_engine_npeers(const struct cn_engine *e);
struct cn_peer *cn_engine_peer(const struct cn_engine *e, size_t i); /* list order */
struct cn_peer *cn_engine_find_key(const struct cn_engine *e, const uint8_t key[CN_KEY_LEN]);
struct cn_peer *cn_engine_find_name(const struct cn_engine *e, const char *name);
struct cn_peer *cn_engine_find_pl(const struct cn_engine *e, const struct cn_pl_peer *pp);
const struct cn_engine_metrics *cn_engine_metrics(const struct cn_engine *e);
void cn_engine_peer_status(const struct cn_engine *e, const struct cn_peer *p, uint64_t now,
			   struct cn_peer_status *out);
/* Up right now for group answers: connected to a relay, or heard from lately. */
bool cn_peer_is_live(const struct cn_peer *p, uint64_t now);
/* Whether p has a session to send on at now. */
bool cn_peer_has_session(const struct cn_peer *p, uint64_t now);

/* ---- inputs ---- */
/* An IP packet read from the TUN (pkt may be modified). */
void cn_engine_tun_packet(struct cn_engine *e, uint64_t now, uint8_t *pkt, size_t len);
/*
 * A session message (handshake or data; msg is decrypted in place) that
 * came over path `via`: from_peer is the peer the path names (a relay's
 * RECV source, the peer's direct socket or TURN pair); relay is the relay
 * slot for via == relay (else -1); src the datagram's source for direct.
 */
void cn_engine_receive(struct cn_engine *e, uint64_t now, struct cn_peer *from_peer,
		       enum cn_ctl_path via, int relay, uint8_t *msg, size_t len,
		       const struct cn_addr *src);
/*
 * Batch inputs (engine_batch.c): the same rules as the single-packet calls
 * above, per packet (routing, staging, cryptokey routing, replay window,
 * path validation), with the crypto of a batch done in one ops.parallel
 * call and the datagrams to one peer sent in one ops.send_direct_batch.
 * Per peer the order is kept; bookkeeping is per batch.
 *
 * A send item: the IP packet read from the TUN lies at
 * buf + CN_ENGINE_TX_HEADROOM, len bytes; buf holds cap bytes in all, so
 * the datagram is sealed in place (cap >= len + CN_ENGINE_TX_OVERHEAD, or
 * the packet takes the single-packet path). The other fields are the
 * engine's.
 */
enum { CN_ENGINE_TX_HEADROOM = 16, CN_ENGINE_TX_OVERHEAD = 32 };

struct cn_engine_tx {
	uint8_t *buf;
	size_t len; /* in: IP packet bytes; sealed: datagram bytes */
	size_t cap;
	/* The engine's. */
	struct cn_peer *p;
	uint64_t counter;
	size_t pt_len;
	unsigned int key;
	int ret;
};

/* A receive item: one datagram (decrypted in place) and where it came from. */
struct cn_engine_rx {
	uint8_t *msg;
	size_t len;
	struct cn_addr src;
	/* The engine's. */
	struct cn_peer *p;
	uint32_t index;
	uint64_t counter;
	size_t pt_len;
	unsigned int key;
	int ret;
};

/* Packets read from the TUN: tx[0..n) (any n; buffers may be modified). */
void cn_engine_tun_batch(struct cn_engine *e, uint64_t now, struct cn_engine_tx *tx, size_t n);
/* Datagrams that came over one path (as cn_engine_receive, for each in order). */
void cn_engine_receive_batch(struct cn_engine *e, uint64_t now, struct cn_peer *from_peer,
			     enum cn_ctl_path via, int relay, struct cn_engine_rx *rx, size_t n);

/* Runs every deadline due at now; returns the next one (monotonic ms). */
uint64_t cn_engine_tick(struct cn_engine *e, uint64_t now);

/* Relay slots (0 .. CN_ENGINE_MAX_RELAYS-1), named for logs. */
void cn_engine_relay_add(struct cn_engine *e, unsigned int relay, const char *name);
void cn_engine_relay_del(struct cn_engine *e, unsigned int relay);
void cn_engine_relay_up(struct cn_engine *e, unsigned int relay, uint64_t now);
void cn_engine_relay_down(struct cn_engine *e, unsigned int relay);
bool cn_engine_relay_is_up(const struct cn_engine *e, unsigned int relay);
const char *cn_engine_relay_name(const struct cn_engine *e, unsigned int relay);
/* The first relay slot up other than `not_this` (-1 for none), or -1. */
int cn_engine_first_relay(const struct cn_engine *e, int not_this);
/* The relay says the peer is (not) connected to it; a peer that arrives gets a
 * waiting initiation at once. */
void cn_engine_relay_presence(struct cn_engine *e, unsigned int relay,
			      const uint8_t key[CN_KEY_LEN], bool here, uint64_t now);
void cn_engine_relay_not_here(struct cn_engine *e, unsigned int relay,
			      const uint8_t key[CN_KEY_LEN]);

/* Direct path events from the shell. */
/* A direct socket (local port) towards remote was opened from the endpoints file. */
void cn_engine_direct_restored(struct cn_engine *e, struct cn_peer *p, uint64_t now,
			       const struct cn_addr *remote, uint16_t local_port);
/* ICE selected a direct pair; the shell took its socket over. */
void cn_engine_ice_direct(struct cn_engine *e, struct cn_peer *p, uint64_t now,
			  const struct cn_addr *remote, uint16_t local_port, const char *type);
/* ICE selected a TURN pair. */
void cn_engine_ice_turn(struct cn_engine *e, struct cn_peer *p, uint64_t now);
void cn_engine_ice_failed(struct cn_engine *e, struct cn_peer *p, uint64_t now, const char *why);
void cn_engine_ice_local_sdp(struct cn_engine *e, struct cn_peer *p, uint64_t now, const char *sdp);
void cn_engine_ice_local_done(struct cn_engine *e, struct cn_peer *p, uint64_t now);

/*
 * The shell saw the underlay change (an address or route came or went, not
 * on the TUN): direct paths are probed at once (lost within the probe bound
 * if they broke), and peers without one gather candidates again now.
 */
void cn_engine_network_changed(struct cn_engine *e, uint64_t now);

/*
 * Clock rule 3 (engine_restrict.c, docs/NODE.md "Clock"): the shell says
 * whether its peer list is past the grace period of its expiry, after
 * every judgement of the list. Turning on closes every peer session; while
 * on, no session is started or accepted and packets for peers are dropped
 * (drop_restricted). Turning off (a newer valid list) lifts it at once.
 */
void cn_engine_set_restricted(struct cn_engine *e, bool restricted, uint64_t now);
bool cn_engine_restricted(const struct cn_engine *e);

/*
 * The largest overlay packet that path carries now (engine_pmtu.c): its
 * probed PLPMTU, CN_ENGINE_PMTU_BASE until probes say more, cfg.mtu when
 * probing is off.
 */
uint16_t cn_engine_path_mtu(const struct cn_peer *p, enum cn_ctl_path path);

/*
 * The node-wide socket (natsock.c): its NAT's kind and the reflexive
 * address STUN saw (NULL: unknown). Easy nodes announce the address to
 * their peers; a hard node starts birthday attempts toward easy peers.
 */
void cn_engine_nat_kind(struct cn_engine *e, uint64_t now, enum cn_nat_kind kind,
			const struct cn_addr *reflexive);
/*
 * The gateway maps `external` to the node-wide socket (proto: enum
 * cn_ctl_cand 1-3), or no longer (external NULL): announced to every peer.
 */
void cn_engine_mapped(struct cn_engine *e, uint64_t now, const struct cn_addr *external,
		      enum cn_ctl_cand proto);
/*
 * A session message that arrived on the node-wide socket (p NULL, index
 * -1) or on birthday socket `index` of p, from src.
 */
void cn_engine_receive_nat(struct cn_engine *e, uint64_t now, struct cn_peer *p, int index,
			   uint8_t *msg, size_t len, const struct cn_addr *src);

/* cairn ping: sends a PROBE with this id; the reply comes back through ops.probe_reply. */
void cn_engine_probe(struct cn_engine *e, struct cn_peer *p, uint64_t now, uint64_t id);

#endif
