/* SPDX-License-Identifier: MIT */
/*
 * Data messages sealed and opened off the event loop (crypto worker
 * threads, common/workpool.h), on the wire byte for byte what
 * cn_session_encrypt / cn_session_decrypt produce and accept (session.h).
 *
 * The session's mutable state (send counter, replay window, confirmation)
 * stays with the loop thread; workers get a key snapshot:
 *
 *   loop:    cn_session_batch_reserve(s, now, n, &first, &sk)   counters first..first+n-1
 *   workers: cn_session_batch_seal(&sk, first + i, ...)         any order, any thread
 *   loop:    send in order; cn_session_batch_key_wipe(&sk)
 *
 *   loop:    cn_session_batch_open_key(s, now, &ok)
 *   workers: cn_session_batch_open(&ok, msg, ...) -> counter    tag verified, no window
 *   loop:    cn_session_batch_accept(s, counter)                replay window, confirmation
 *
 * The snapshot is a copy, so a session rekeyed or wiped on the loop while a
 * batch is in flight takes nothing from under a worker; wipe it when the
 * batch completes. Pure: no allocation, no clock, no threads of its own;
 * every function touching a struct cn_session runs on one thread.
 */
#ifndef CN_CRYPTO_SESSION_BATCH_H
#define CN_CRYPTO_SESSION_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/noise.h"

struct cn_session;

/* What sealing needs: the send key and the peer's receiver index. Holds a key. */
struct cn_session_seal_key {
	uint8_t key[CN_NOISE_CIPHER_KEY_LEN];
	uint32_t remote_index;
};

/* What opening needs: the receive key and our receiver index. Holds a key. */
struct cn_session_open_key {
	uint8_t key[CN_NOISE_CIPHER_KEY_LEN];
	uint32_t local_index;
};

/*
 * Loop thread. Reserves n (>= 1) consecutive send counters, *first the
 * lowest, and snapshots the send key into *k. The same checks as
 * cn_session_encrypt, once for the batch: -CN_ESTATE (empty or
 * unconfirmed), -CN_EEXPIRED, -CN_EEXHAUSTED (the n counters would reach
 * REJECT_AFTER_MESSAGES: nothing reserved), -CN_EINVAL (n == 0).
 * On error *first is 0 and *k zeroed.
 */
int cn_session_batch_reserve(struct cn_session *s, uint64_t now_ms, size_t n, uint64_t *first,
			     struct cn_session_seal_key *k);

/*
 * Any thread. Builds the data message with this counter (one of the
 * reserved ones, each used once) for pt into out, as cn_session_encrypt
 * does (pt may be out + CN_SESSION_HEADER_LEN: in place). Returns 0 or
 * -CN_EINVAL (out_cap short).
 */
int cn_session_batch_seal(const struct cn_session_seal_key *k, uint64_t counter, const uint8_t *pt,
			  size_t pt_len, uint8_t *out, size_t out_cap, size_t *out_len);

/*
 * Loop thread. Snapshots the receive key for a batch: -CN_ESTATE (empty),
 * -CN_EEXPIRED (past REJECT_AFTER_TIME), else 0.
 */
int cn_session_batch_open_key(const struct cn_session *s, uint64_t now_ms,
			      struct cn_session_open_key *k);

/*
 * Any thread. Checks and decrypts a data message as cn_session_decrypt does
 * (length, type, reserved, receiver index, counter limit, tag) but without
 * the replay window: *counter is the authenticated counter to hand to
 * cn_session_batch_accept. Errors: -CN_ESHORT, -CN_EFORMAT, -CN_EUNKNOWN,
 * -CN_EEXHAUSTED, -CN_EINVAL (pt_cap), -CN_EDECRYPT; *pt_len and *counter
 * are 0 on error.
 */
int cn_session_batch_open(const struct cn_session_open_key *k, const uint8_t *msg, size_t len,
			  uint8_t *pt, size_t pt_cap, size_t *pt_len, uint64_t *counter);

/*
 * Loop thread, for each opened message (any order within the 8128-packet
 * window): records the counter in s's replay window and confirms an
 * unconfirmed session. *newest (may be NULL) tells whether it is the
 * highest counter so far, which is when a node may follow a peer's new
 * source address (roaming), as with cn_session_decrypt. Returns 0,
 * -CN_EREPLAY (seen or too old: drop the plaintext, wipe it), -CN_ESTATE
 * (s was wiped meanwhile: drop); *newest is false on error.
 */
int cn_session_batch_accept(struct cn_session *s, uint64_t counter, bool *newest);

/* Wipes a key snapshot (when its batch completed). */
void cn_session_batch_seal_key_wipe(struct cn_session_seal_key *k);
void cn_session_batch_open_key_wipe(struct cn_session_open_key *k);

#endif
