/* SPDX-License-Identifier: MIT */
/*
 * Key rotation for one Noise peer: the current, previous and next
 * transport sessions (WireGuard's keypairs) and the initiation in flight.
 * The node (per peer), the relay client (per relay link) and the relay
 * (per link) all keep their sessions in one of these, so the rules of a
 * rekey are written once:
 *   - initiator: cn_keyring_initiate reserves an index and builds the
 *     initiation; cn_keyring_consume_response turns the answer into the
 *     current session (the old current becomes previous);
 *   - responder: cn_keyring_respond answers an initiation into `next`,
 *     which refuses to send; the initiator's first packet decrypted under
 *     it (cn_keyring_received) makes it current;
 *   - previous stays for receiving until it expires (cn_keyring_expire),
 *     so packets in flight across a rekey are not lost.
 *
 * Pure: no clock (now is a parameter), no I/O, no log. Sessions live on the
 * heap and are wiped and freed here, as is the handshake in flight. Each local index the ring stops
 * using (a session dropped, an initiation abandoned) is passed to the release callback, so the
 * owner can take it out of its index table. An all-zero ring is empty.
 */
#ifndef CN_CRYPTO_KEYRING_H
#define CN_CRYPTO_KEYRING_H

#include <stdbool.h>
#include <stdint.h>

#include "crypto/handshake.h"
#include "crypto/session.h"

/* Called with each local index the ring no longer uses. */
typedef void (*cn_keyring_release_fn)(void *ctx, uint32_t index);

struct cn_keyring {
	struct cn_session *cur;	 /* sends and receives */
	struct cn_session *prev; /* receive only, until it expires */
	struct cn_session *next; /* responder: answered, unconfirmed */
	/*
	 * Initiator: the handshake in flight (heap, only while one is: a
	 * responder-only ring, such as a relay link's, stays a few pointers)
	 * and the index it reserved.
	 */
	struct cn_handshake *hs;
	uint32_t hs_index; /* 0: no initiation pending */
	cn_keyring_release_fn release;
	void *release_ctx;
};

/* An empty ring; release (may be NULL) hears of every index it gives up. */
void cn_keyring_init(struct cn_keyring *k, cn_keyring_release_fn release, void *ctx);
/* Drops every session and the handshake in flight (wiped); the ring stays usable. */
void cn_keyring_clear(struct cn_keyring *k);

/* The session of this ring whose local index is `index`, or NULL. */
struct cn_session *cn_keyring_find(const struct cn_keyring *k, uint32_t index);
/* Whether `index` is taken in this ring (a session or the pending initiation). */
bool cn_keyring_owns(const struct cn_keyring *k, uint32_t index);
/* The session to send with, or NULL (none, unconfirmed or expired at now_ms). */
struct cn_session *cn_keyring_sending(const struct cn_keyring *k, uint64_t now_ms);
bool cn_keyring_pending(const struct cn_keyring *k);

/*
 * Initiator: replaces any initiation in flight with a new one to the peer
 * whose static key is peer_x_pk, naming `index` (the caller's choice, unique
 * among its live sessions; not 0), and writes it to out.
 */
int cn_keyring_initiate(struct cn_keyring *k, const struct cn_handshake_local *local,
			const uint8_t peer_x_pk[static CN_KEY_LEN], uint32_t index,
			const uint8_t ts[static CN_TAI64N_LEN],
			uint8_t out[static CN_HANDSHAKE_INITIATION_LEN]);
/* Initiator: gives up the initiation in flight. */
void cn_keyring_abandon(struct cn_keyring *k);
/*
 * Initiator: the response to the initiation in flight. On success the new
 * session is current (the old current becomes previous, the old previous
 * goes). Errors: -CN_ESTATE (nothing pending), -CN_ENOMEM, and those of
 * cn_handshake_consume_response (the initiation stays pending: a forged
 * response does not stop the genuine one).
 */
int cn_keyring_consume_response(struct cn_keyring *k, const uint8_t *msg, size_t len,
				uint64_t now_ms);
/*
 * Responder: answers the initiation consumed into hs (wiped here on every
 * path) with local index `index`, writes the response to out and keeps the
 * session as `next` (replacing an older unconfirmed one).
 */
int cn_keyring_respond(struct cn_keyring *k, struct cn_handshake *hs, uint32_t index,
		       uint64_t now_ms, uint8_t out[static CN_HANDSHAKE_RESPONSE_LEN]);
/*
 * A packet decrypted under s (a session of this ring). Returns true when
 * that confirmed `next`, which is now current (the old current becomes
 * previous): the session is established on the responder's side.
 */
bool cn_keyring_received(struct cn_keyring *k, struct cn_session *s);
/* Drops the previous session once it has expired at now_ms. */
void cn_keyring_expire(struct cn_keyring *k, uint64_t now_ms);

#endif
