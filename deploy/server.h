/* SPDX-License-Identifier: MIT */
/*
 * The node's deploy listener (docs/DEPLOY.md): a TCP server on the node's
 * overlay address that receives signed pushes into the artifact store,
 * switches `current`, runs the activation hook and answers list and
 * rollback requests. An I/O shell over deploy/proto.h and deploy/store.h:
 * it owns the listener, the connections, the hook child process and their
 * timers on the caller's libevent base.
 *
 * Who may deploy is the node's decision, through the auth callback: given
 * the TCP peer's address (on the overlay, cryptokey routing makes it the
 * authenticated peer's own), it returns that peer's name, Ed25519 key and
 * whether one of its groups may deploy. A push's manifest must be signed
 * by that same key.
 *
 * The peer is authorised when its connection is accepted, before a byte
 * is read: an address that names no peer is closed at once, a peer that
 * may not deploy gets its REFUSED result at once (then its input is
 * drained for CN_DEPLOYD_REFUSE_LINGER_S so the answer is not lost to a
 * reset). Only deployers take one of the CN_DEPLOYD_MAX_CONNS slots, and
 * at most CN_DEPLOYD_MAX_CONNS_PER_PEER each (a push and its resume), so
 * no one peer, listed or not, can keep the others out.
 *
 * Timers: per connection an idle timeout (CN_DEPLOYD_IDLE_S without a
 * byte while a request or data is expected) and a frame deadline (each
 * frame must be complete cfg.frame_timeout_s after the previous one was,
 * or after accept: a peer that trickles bytes into a large frame loses the
 * connection); per hook a poll of its exit status every 100 ms and a kill
 * after cfg.hook_timeout_s.
 */
#ifndef CN_DEPLOY_SERVER_H
#define CN_DEPLOY_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/addr.h"
#include "common/err.h"
#include "crypto/keys.h"

struct event_base;
struct cn_deployd;

enum {
	CN_DEPLOYD_IDLE_S = 60,
	CN_DEPLOYD_MAX_CONNS = 8,	   /* deployers' connections, all together */
	CN_DEPLOYD_MAX_CONNS_PER_PEER = 2, /* a push and the connection that resumes it */
	CN_DEPLOYD_MAX_REFUSING = 8,	   /* refused connections waiting to close */
	CN_DEPLOYD_REFUSE_LINGER_S = 5,
	CN_DEPLOYD_FRAME_S = 30, /* default frame deadline: 64 KiB at 20 kbit/s */
	CN_DEPLOYD_PATH_MAX = 1024,
};

struct cn_deployd_peer {
	char name[64];
	uint8_t key[CN_KEY_LEN];
	bool allowed; /* in a group this node lets deploy */
};

/* 0 and *out filled for a known peer; -CN_ENOTFOUND otherwise. */
typedef int (*cn_deployd_auth_fn)(void *ctx, const struct sockaddr *sa, socklen_t len,
				  struct cn_deployd_peer *out);

struct cn_deployd_config {
	struct cn_addr listen;		/* the overlay address and port */
	char dir[CN_DEPLOYD_PATH_MAX];	/* the store */
	char hook[CN_DEPLOYD_PATH_MAX]; /* "" = no hook */
	unsigned int keep;		/* versions kept per app */
	uint64_t max_size;		/* bytes per artifact */
	unsigned int hook_timeout_s;	/* then SIGKILL to its process group */
	unsigned int frame_timeout_s;	/* 0 = CN_DEPLOYD_FRAME_S */
	/*
	 * The hook's user, resolved at cn_deployd_new; "" = whichever user
	 * the daemon is when the hook starts (after its privilege drop). The hook never has a
	 * capability; running it as another user needs CAP_SETUID and CAP_SETGID in the daemon's
	 * permitted set (root has them; a dropped node keeps them only then).
	 */
	char hook_user[64];
	char self[64];	 /* this node's name, for the hook and logs */
	char ifname[16]; /* "" or the TUN device: accept only what it delivers */
};

/* Opens the store and starts listening; NULL (e says why) on failure. */
struct cn_deployd *cn_deployd_new(struct event_base *base, const struct cn_deployd_config *cfg,
				  cn_deployd_auth_fn auth, void *ctx, struct cn_errbuf *e);
/* Closes every connection (partial uploads kept), kills a running hook. NULL ok. */
void cn_deployd_free(struct cn_deployd *d);

#endif
