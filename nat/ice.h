/* SPDX-License-Identifier: MIT */
/*
 * One ICE session with one peer (libnice; one stream, one component, UDP
 * only, RFC 5245 with aggressive nomination), run on the libevent loop
 * through nat/glib_event.h. docs/ICE.md explains the design.
 *
 * libnice is used for connectivity only: gather (host, server-reflexive via
 * the relay's STUN, relayed via TURN), check, nominate. When a pair is
 * selected whose local candidate is not relayed, the session takes the
 * socket over: the caller gets a dup of the UDP fd (same local port,
 * non-blocking, close-on-exec) and libnice is freed, so nothing else reads
 * or writes that socket again (no STUN keepalives, no consent checks). For
 * a relayed local candidate the agent stays and carries data
 * (cn_ice_send / recv).
 *
 * ICE-TCP, UPnP, trickle and consent freshness are off. Signalling is two
 * texts per side, both carried by the caller's authenticated channel:
 * local_sdp -> peer's cn_ice_set_remote_sdp, local_done -> peer's
 * cn_ice_set_remote_done.
 *
 * Why "done": the side whose checks finish first must keep answering the
 * peer's checks until the peer has finished too, or the peer's last checks
 * meet a socket nobody answers STUN on and the peer fails. So a direct pair
 * is handed over only once the peer said done (or the linger timer ran
 * out); until then libnice keeps answering.
 *
 * Timers (one libevent timer per session, armed to the earliest of):
 *  - gather: gather_timeout_ms (CN_ICE_GATHER_TIMEOUT_MS) from cn_ice_new.
 *    If libnice has not finished gathering by then (STUN or TURN server
 *    silent), the candidates gathered so far are signalled; with none,
 *    `failed`.
 *  - check: check_timeout_ms (CN_ICE_CHECK_TIMEOUT_MS) from the earlier of
 *    local_sdp and cn_ice_set_remote_sdp, until libnice reports READY;
 *    then `failed`. (A peer that never answers our SDP ends here too.)
 *  - linger: linger_ms (CN_ICE_LINGER_MS) from READY on a direct pair
 *    until the peer's done; then the socket is taken over anyway.
 *  - release (6 s backstop): with TURN configured, a direct handover first
 *    waits for libnice to deallocate (the allocation may share the socket):
 *    normally 1 RTT plus 20 ms pacing; libnice gives up by itself after
 *    ~5 s. If even the backstop passes, `failed`.
 * libnice's own timers (Ta pacing 20 ms, STUN RTO 500 ms with 3
 * retransmissions, idle-timeout 5 s, TURN refreshes, 25 s keepalives) run
 * on the GMainContext until the agent is freed.
 *
 * Freeing a session (or its failure) also deallocates its TURN allocations
 * in the background; cn_glib_loop_free waits (bounded) for that.
 *
 * Callbacks run from libevent callbacks, never inside glib dispatch, and
 * never from inside a cn_ice_* call, except `recv`, which runs inside
 * glib dispatch. cn_ice_free is allowed in every callback (including
 * recv); no callback of that session follows it. After `selected`
 * (DIRECT) or `failed` no further callback comes; free the session.
 */
#ifndef CN_NAT_ICE_H
#define CN_NAT_ICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/err.h"
#include "nat/ice_sdp.h"

struct cn_glib_loop;
struct cn_ice;

enum {
	CN_ICE_GATHER_TIMEOUT_MS = 5000, /* libnice's STUN gives up after ~4.5 s */
	CN_ICE_CHECK_TIMEOUT_MS = 10000,
	CN_ICE_LINGER_MS = 3000,
	CN_ICE_MAX_DATAGRAM = 65507 - 36, /* UDP payload minus a TURN ChannelData/Send */
};

struct cn_ice_server {
	char host[64]; /* IP literal (no DNS here: resolve first); "" = none */
	uint16_t port;
	char user[64], pass[64]; /* TURN long-term credentials; unused for STUN */
};

struct cn_ice_config {
	struct cn_ice_server stun; /* the relay's STUN service; host "" = none */
	struct cn_ice_server turn[2];
	unsigned int nturn;
	/* 0: any; else bind every host candidate to this port (fails if taken). */
	uint16_t local_port;
	/* Restrict host candidates to these interface addresses (IP literals,
	 * borrowed for the call); 0 = every interface but loopback. */
	const char *const *local_addrs;
	unsigned int nlocal_addrs;
	bool force_relay; /* only relayed candidates (tests, privacy) */
	/* 0 = the CN_ICE_* default. */
	unsigned int gather_timeout_ms, check_timeout_ms, linger_ms;
};

enum cn_ice_path {
	CN_ICE_DIRECT,
	CN_ICE_TURN,
};

struct cn_ice_cbs {
	/* Gathering finished (or timed out with some candidates): send this text
	 * (borrowed, NUL-terminated, at most CN_ICE_SDP_MAX bytes) to the peer. */
	void (*local_sdp)(void *arg, const char *sdp);
	/* Optional. Our checks are complete: tell the peer, which then calls
	 * cn_ice_set_remote_done. Without it the peer waits out its linger. */
	void (*local_done)(void *arg);
	/* A pair was selected. DIRECT (host/srflx/prflx local candidate): fd is a
	 * dup'd UDP socket now owned by the callee (bound to the same local port,
	 * O_NONBLOCK, FD_CLOEXEC), remote is the peer's address; the agent is
	 * gone and libnice will not touch the socket again. STUN may still
	 * arrive: the peer's Binding Indications (every 25 s if its side is on
	 * TURN), and checks or answers that were in flight at the takeover:
	 * drop datagrams whose first two bits are 0 and that carry the magic
	 * cookie 0x2112A442 at offset 4. TURN: fd = -1; data goes through
	 * cn_ice_send and arrives via recv. remote and the type strings ("host",
	 * "srflx", "prflx", "relay") are borrowed for the call. */
	void (*selected)(void *arg, enum cn_ice_path path, int fd, const struct sockaddr *remote,
			 socklen_t remote_len, const char *local_type, const char *remote_type);
	/* No pair (why: one line); the agent and its sockets are already gone. */
	void (*failed)(void *arg, const char *why);
	/* A datagram libnice received from the peer (buf borrowed): every datagram
	 * on the TURN path; on a direct path only the few that arrive before the
	 * takeover (a peer that finished first may already send). Optional. Not
	 * authenticated by ICE: the caller's protocol must authenticate it. */
	void (*recv)(void *arg, const uint8_t *buf, size_t len);
};

/*
 * Creates the agent and starts gathering; controlling is the caller's role
 * decision (the two peers must disagree). NULL and e says why on bad config
 * (not an IP literal, too many servers) or when gathering cannot start (no
 * usable address, local_port taken). g, cbs' functions and arg are
 * borrowed and must outlive the session; cfg and its strings are read
 * during the call only.
 */
struct cn_ice *cn_ice_new(struct cn_glib_loop *g, const struct cn_ice_config *cfg, bool controlling,
			  const struct cn_ice_cbs *cbs, void *arg, struct cn_errbuf *e);

/*
 * The peer's local_sdp text (borrowed). Checked with cn_ice_sdp_check before
 * libnice sees it; a refused text changes nothing, so a good one may follow.
 * Allowed once, before selection: -CN_ESTATE otherwise. Returns 0,
 * -CN_EINVAL, -CN_ETOOBIG, -CN_EFORMAT or -CN_ESTATE.
 */
int cn_ice_set_remote_sdp(struct cn_ice *ice, const char *sdp);

/* The peer's local_done arrived. Idempotent; 0, or -CN_EINVAL on NULL. */
int cn_ice_set_remote_done(struct cn_ice *ice);

/*
 * Sends one datagram on the TURN path (non-blocking). 0; -CN_ESTATE unless
 * `selected` reported TURN; -CN_EINVAL for an empty or too large buffer;
 * -CN_EIO if libnice could not send it now (drop it, like a full socket).
 */
int cn_ice_send(struct cn_ice *ice, const uint8_t *buf, size_t len);

/*
 * Frees the session, its agent and its sockets (not an fd already handed
 * over). Safe from inside any callback of any session, including this
 * one's (the release then finishes when the callback returns, or from the
 * loop if it was recv). NULL is a no-op.
 */
void cn_ice_free(struct cn_ice *ice);

#endif
