/* SPDX-License-Identifier: MIT */
/*
 * The peer engine's private state, shared by engine*.c only (engine.h is
 * the API the shells use).
 */
#ifndef CN_NODE_ENGINE_INT_H
#define CN_NODE_ENGINE_INT_H

#include "crypto/session_batch.h"
#include "node/engine.h"
#include "node/tai_floor.h"
#include "relay/hsguard.h"

struct cn_engine_relay {
	bool used, up;
	char name[CN_NAME_MAX + 1];
};

struct cn_engine {
	struct cn_engine_config cfg;
	const struct cn_engine_ops *ops;
	void *ctx;
	struct cn_handshake_local local;
	bool local_ready; /* local is bound to the first list's network */
	const struct cn_peerlist *pl;
	const struct cn_pl_peer *self;
	struct cn_peer **peers; /* list order, without self */
	size_t npeers;
	struct cn_peer **by_pl; /* by index in pl->peers; NULL for self */
	struct cn_u32map index; /* local index -> peer (sessions and initiations) */
	/* Admission of direct-path handshake messages before any X25519 (cookies, limits). */
	struct cn_hsguard *guard;
	struct cn_engine_relay relays[CN_ENGINE_MAX_RELAYS];
	struct cn_engine_metrics m;
	uint64_t icmp_window_ms;
	unsigned int icmp_count;
	uint64_t wake;		   /* the earliest deadline the shell was told of */
	struct cn_tai_floor floor; /* initiation timestamps: never below it (tai_floor.h) */
	enum cn_nat_kind nat_kind;
	struct cn_addr nat_refl; /* the node-wide socket's reflexive address */
	struct cn_addr mapped;	 /* what the gateway maps to it (len 0: none) */
	enum cn_ctl_cand mapped_proto;
	uint8_t out[CN_ENGINE_PKT_MAX + 64];
	/* Batch crypto (engine_batch.c): key snapshots of one parallel call. */
	struct cn_session_seal_key skeys[CN_ENGINE_BATCH_KEYS];
	struct cn_session_open_key okeys[CN_ENGINE_BATCH_KEYS];
	struct cn_session *ksess[CN_ENGINE_BATCH_KEYS];
	void *items[CN_ENGINE_BATCH_MAX];
	bool rx_batch;	 /* deliveries go through ops.tun_queue */
	bool restricted; /* clock rule 3 (engine_restrict.c) */
};

extern const char *const cn_engine_path_names[3];

/* engine.c */
void eng_log(struct cn_engine *e, enum cn_log_level level, bool ratelimited, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
uint32_t eng_fresh_index(struct cn_engine *e);
/* p's state changed at now: its next deadline may be earlier than the shell's timer. */
void eng_peer_changed(struct cn_peer *p, uint64_t now);

/* engine_send.c */
/* The peer an IP packet from the TUN goes to (*len: its IP length), or NULL (dropped, ICMP). */
struct cn_peer *eng_route(struct cn_engine *e, uint64_t now, uint8_t *pkt, size_t *len);
int eng_path_send(struct cn_peer *p, uint64_t now, const uint8_t *msg, size_t len);
int eng_direct_send(struct cn_peer *p, uint64_t now, const struct cn_addr *to, const uint8_t *msg,
		    size_t len);
/* The relay slot p's packets go through (its hint when up, else the first up), or -1. */
int eng_relay_slot(const struct cn_peer *p);
int eng_relay_send(struct cn_peer *p, const uint8_t *msg, size_t len);
void eng_send_pt(struct cn_peer *p, uint64_t now, const uint8_t *pt, size_t len);
void eng_send_ctl(struct cn_peer *p, uint64_t now, const struct cn_ctl_msg *m);
/* A control message to one direct address only (path challenges). */
void eng_send_ctl_to(struct cn_peer *p, uint64_t now, const struct cn_ctl_msg *m,
		     const struct cn_addr *to);
void eng_initiate(struct cn_peer *p, uint64_t now);
/* (Re)sends the initiation in flight over every path; true when one took it. */
bool eng_send_initiation(struct cn_peer *p, uint64_t now);
void eng_flush_staged(struct cn_peer *p, uint64_t now);
void eng_drop_staged(struct cn_peer *p);

/* engine_recv.c */
/*
 * What follows an authenticated data message from p in session s (counter
 * already in the replay window; newest: it was the highest yet): session
 * confirmation, path bookkeeping, rekey, then delivery of pt.
 * changed: tell the shell about p's deadlines now (else the caller does).
 */
void eng_rx_data_after(struct cn_peer *p, struct cn_session *s, uint64_t now, enum cn_ctl_path via,
		       int relay, uint8_t *pt, size_t pt_len, const struct cn_addr *src,
		       bool newest, bool changed);
void eng_direct_up(struct cn_peer *p, uint64_t now, const char *why);
void eng_direct_down(struct cn_peer *p, uint64_t now, const char *why);

/* engine_ctl.c */
/* A PROBE whose reply also measures the RTT: *m gets a fresh id, p when it left. */
void eng_probe_arm(struct cn_peer *p, uint64_t now, struct cn_ctl_msg *m);
void eng_handle_ctl(struct cn_peer *p, uint64_t now, const uint8_t *pt, size_t len,
		    enum cn_ctl_path via, const struct cn_addr *src);
void eng_ice_start(struct cn_peer *p, uint64_t now);
void eng_ice_stop(struct cn_peer *p);

/* engine_watch.c */
/* A packet went to p (over its direct path when up): probe it if it has been silent. */
void eng_watch_sent(struct cn_peer *p, uint64_t now);
/* An IP packet came from p (over a validated path): a stream's stop will be probed. */
void eng_watch_received(struct cn_peer *p, uint64_t now);
/* Something authentic came over the direct path: it is alive, any watch of it ends. */
void eng_watch_heard(struct cn_peer *p, uint64_t now);
uint64_t eng_watch_deadline(const struct cn_peer *p);
void eng_watch_tick(struct cn_peer *p, uint64_t now);
/* engine_restrict.c */
/* Under clock rule 3: counts the refusal of `what`, logs it (once an hour per peer), true. */
bool eng_restricted(struct cn_peer *p, uint64_t now, const char *what);
/* engine_pmtu.c */
void eng_pmtu_start(struct cn_peer *p, enum cn_ctl_path path, uint64_t now);
void eng_pmtu_stop(struct cn_peer *p, enum cn_ctl_path path);
uint64_t eng_pmtu_deadline(const struct cn_peer *p);
void eng_pmtu_tick(struct cn_peer *p, uint64_t now);
void eng_pmtu_on_probe(struct cn_peer *p, uint64_t now, const struct cn_ctl_msg *m,
		       enum cn_ctl_path via, const struct cn_addr *src);
void eng_pmtu_on_ack(struct cn_peer *p, uint64_t now, const struct cn_ctl_msg *m);
/* Lowers the MSS of a TCP SYN in pkt to what the path in use carries. */
void eng_pmtu_clamp(struct cn_peer *p, uint8_t *pkt, size_t len, int ip_version);

/* engine_bday.c */
void eng_bday_session_up(struct cn_peer *p, uint64_t now);
void eng_bday_on_ctl(struct cn_peer *p, uint64_t now, const struct cn_ctl_msg *m);
void eng_bday_stop(struct cn_peer *p);
/* Stops it and frees the peer's traversal state (the peer goes). */
void eng_bday_free(struct cn_peer *p);
uint64_t eng_bday_deadline(const struct cn_peer *p);
void eng_bday_tick(struct cn_peer *p, uint64_t now);

/* engine_timers.c */
uint64_t eng_peer_deadline(const struct cn_peer *p, uint64_t now);
void eng_peer_tick(struct cn_peer *p, uint64_t now);
uint64_t eng_jitter(uint64_t ms);

#endif
