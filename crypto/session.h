/* SPDX-License-Identifier: MIT */
/*
 * Transport sessions: the keys a completed handshake produced, and cairn's
 * data message (type 4) built on them. Byte order little-endian:
 *
 *   offset size  field
 *        0    1  type = 4 (CN_MSG_DATA)
 *        1    3  reserved, zero (refused otherwise)
 *        4    4  receiver_index, u32le: the index the receiver chose
 *        8    8  counter, u64le: per-direction message number from 0
 *       16    n  ChaCha20-Poly1305 (IETF) ciphertext of the n-byte payload
 *     16+n   16  Poly1305 tag
 *
 * nonce = 4 zero bytes || counter (u64le), i.e. Noise's ChaChaPoly nonce
 * with the counter sent explicitly; AD = the 16-byte header, so a flipped
 * type, reserved byte, index or counter fails the tag. (The pure Noise
 * transport of the test vectors uses an empty AD and implicit nonces:
 * cn_noise_cipher_*; this file is cairn's framing on the same keys.)
 * An empty payload is a keepalive.
 *
 * Lifetime (WireGuard's constants and rules): a session is refused for
 * sending and receiving CN_SESSION_REJECT_AFTER_TIME_MS after it was made,
 * and after CN_SESSION_REJECT_AFTER_MESSAGES messages in a direction
 * (-CN_EEXHAUSTED: never reuse a nonce). The predicates tell the caller to
 * start a new handshake before that: after CN_SESSION_REKEY_AFTER_MESSAGES
 * messages, or after CN_SESSION_REKEY_AFTER_TIME_MS on the initiator's side
 * (only the initiator rekeys on time, so both ends do not race).
 *
 * Key confirmation: the responder's session is CN_SESSION_UNCONFIRMED and
 * refuses to send until it has decrypted one packet from the initiator
 * (the initiator sends a keepalive at once if it has no data). Before that
 * the responder cannot know the initiator completed the handshake.
 *
 * `now` is a monotonic clock in milliseconds, supplied by the caller: pure
 * code reads no clock. No allocation per packet; the caller owns buffers.
 */
#ifndef CN_CRYPTO_SESSION_H
#define CN_CRYPTO_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/noise.h"
#include "crypto/replay.h"

enum {
	CN_SESSION_HEADER_LEN = 16,
	CN_SESSION_OVERHEAD = CN_SESSION_HEADER_LEN + CN_NOISE_TAG_LEN, /* 32 */
};

#define CN_SESSION_REKEY_AFTER_MESSAGES	 (UINT64_C(1) << 60)
#define CN_SESSION_REJECT_AFTER_MESSAGES (UINT64_MAX - CN_REPLAY_BITS) /* 2^64 - 2^13 - 1 */
#define CN_SESSION_REKEY_AFTER_TIME_MS	 UINT64_C(120000)
#define CN_SESSION_REJECT_AFTER_TIME_MS	 UINT64_C(180000)
#define CN_SESSION_REKEY_TIMEOUT_MS	 UINT64_C(5000)
#define CN_SESSION_KEEPALIVE_TIMEOUT_MS	 UINT64_C(10000)
/* Initiator rekeys on receive this late, so a fresh session is up before reject. */
#define CN_SESSION_REKEY_ON_RECEIVE_MS                                       \
	(CN_SESSION_REJECT_AFTER_TIME_MS - CN_SESSION_KEEPALIVE_TIMEOUT_MS - \
	 CN_SESSION_REKEY_TIMEOUT_MS)

enum cn_session_state {
	CN_SESSION_EMPTY = 0,	/* zeroed or wiped: refuses everything */
	CN_SESSION_UNCONFIRMED, /* responder before the first packet: receive only */
	CN_SESSION_ESTABLISHED, /* send and receive */
};

/* Caller storage (about 1.2 KiB); holds keys: cn_session_wipe when done. */
struct cn_session {
	enum cn_session_state state;
	bool initiator;
	uint32_t local_index;  /* receiver_index the peer puts in packets to us */
	uint32_t remote_index; /* receiver_index we put in packets to the peer */
	uint64_t created_ms;
	uint64_t send_counter; /* counter of the next packet sent */
	uint8_t send_key[CN_NOISE_CIPHER_KEY_LEN];
	uint8_t recv_key[CN_NOISE_CIPHER_KEY_LEN];
	struct cn_replay replay;
};

/*
 * Sets up a session from Split's keys (copied). The initiator's session is
 * established at once, the responder's unconfirmed. now_ms: creation time.
 */
void cn_session_init(struct cn_session *s, const uint8_t send_key[static CN_NOISE_CIPHER_KEY_LEN],
		     const uint8_t recv_key[static CN_NOISE_CIPHER_KEY_LEN], uint32_t local_index,
		     uint32_t remote_index, bool initiator, uint64_t now_ms);
void cn_session_wipe(struct cn_session *s);

/*
 * Builds a data message for pt into out (pt_len + CN_SESSION_OVERHEAD
 * bytes; *out_len). pt may be exactly out + CN_SESSION_HEADER_LEN (in
 * place) or disjoint from out. Errors: -CN_ESTATE (empty or unconfirmed),
 * -CN_EEXPIRED (older than REJECT_AFTER_TIME), -CN_EEXHAUSTED (counter at
 * REJECT_AFTER_MESSAGES; the counter is not advanced), -CN_EINVAL (out_cap
 * too small).
 */
int cn_session_encrypt(struct cn_session *s, uint64_t now_ms, const uint8_t *pt, size_t pt_len,
		       uint8_t *out, size_t out_cap, size_t *out_len);

/*
 * Checks and decrypts a data message into pt (len - CN_SESSION_OVERHEAD
 * bytes; *pt_len). pt may be exactly msg + CN_SESSION_HEADER_LEN (in place;
 * msg's buffer must then be writable) or disjoint. Order: length, header
 * (type, reserved), receiver index, counter limit, age, tag, then the
 * replay window - a counter is recorded only after its tag verified.
 * Errors: -CN_ESTATE, -CN_ESHORT, -CN_EFORMAT (type or reserved bytes),
 * -CN_EUNKNOWN (receiver_index is not ours), -CN_EEXHAUSTED (counter at or
 * past REJECT_AFTER_MESSAGES), -CN_EEXPIRED, -CN_EINVAL (pt_cap),
 * -CN_EDECRYPT, -CN_EREPLAY (duplicate or older than the window; the
 * plaintext written is wiped). On success an unconfirmed session becomes
 * established.
 */
int cn_session_decrypt(struct cn_session *s, uint64_t now_ms, const uint8_t *msg, size_t len,
		       uint8_t *pt, size_t pt_cap, size_t *pt_len);

/* Past REJECT_AFTER_TIME or out of send counters: replace it. */
bool cn_session_expired(const struct cn_session *s, uint64_t now_ms);
/* After a send: start a handshake (message count; initiator also by age). */
bool cn_session_should_rekey_on_send(const struct cn_session *s, uint64_t now_ms);
/* After a receive: the initiator's session is near REJECT_AFTER_TIME. */
bool cn_session_should_rekey_on_receive(const struct cn_session *s, uint64_t now_ms);

#endif
