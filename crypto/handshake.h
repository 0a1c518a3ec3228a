/* SPDX-License-Identifier: MIT */
/*
 * cairn's handshake messages: Noise IK (crypto/noise.h) framed with a type,
 * the session indexes and a mac1, producing a transport session
 * (crypto/session.h). docs/PROTOCOL.md has the full description. All
 * integers little-endian.
 *
 * Prologue (bound into h by both sides, never sent):
 *   "cairn v1" (8 bytes) || 0x00 || network name (1..63 bytes, no NUL)
 * A peer with another protocol version or network fails the handshake.
 *
 * Type 1, initiation, initiator -> responder, 132 bytes:
 *   offset size  field
 *        0    1  type = 1
 *        1    3  reserved, zero
 *        4    4  sender_index (u32le): the initiator's index for this session
 *        8   32  Noise "e": initiator ephemeral public key
 *       40   48  Noise "s": initiator static public key, encrypted, + tag
 *       88   28  Noise payload: TAI64N timestamp (12 bytes), encrypted, + tag
 *      116   16  mac1 = BLAKE2b-128(key = mac1_key(responder), bytes 0..115)
 *      132   16  mac2, only when the initiator holds a cookie (148 bytes)
 *
 * Type 2, response, responder -> initiator, 76 bytes:
 *        0    1  type = 2
 *        1    3  reserved, zero
 *        4    4  sender_index (u32le): the responder's index for this session
 *        8    4  receiver_index (u32le): the initiation's sender_index
 *       12   32  Noise "e": responder ephemeral public key
 *       44   16  Noise payload: empty, so only its tag
 *       60   16  mac1 = BLAKE2b-128(key = mac1_key(initiator), bytes 0..59)
 *       76   16  mac2, only when the responder holds a cookie (92 bytes)
 *
 * mac2 and the cookie reply (type 3) are crypto/cookie.h's: the functions
 * here accept both lengths and ignore mac2, and write messages without it.
 *
 * mac1_key(pk) = BLAKE2b-256("cairn mac1 v1" || pk), pk the receiver's
 * X25519 static public key. mac1 is no secret (every peer-list holder can
 * compute it); it is a first-line filter: a receiver drops anything whose
 * mac1 is wrong with one hash instead of an X25519 operation, and random
 * scans get no reaction. Authentication comes from Noise alone.
 *
 * Replay of initiations: the payload is a TAI64N timestamp. The responder
 * keeps, per peer, the greatest timestamp it accepted, and refuses
 * (-CN_EREPLAY) an initiation whose timestamp is not strictly greater. The
 * stored value changes only after the whole message verified. Timestamps
 * are whitened (nanoseconds rounded down to 2^24 ns), which also caps the
 * initiations a responder accepts from one peer at about 60 per second.
 *
 * Pure: the caller passes the wall-clock time, `now` (monotonic ms, for
 * the session's lifetime) and indexes; no clock reads, no logging, no
 * allocation. Every function leaves its handshake unchanged on failure.
 */
#ifndef CN_CRYPTO_HANDSHAKE_H
#define CN_CRYPTO_HANDSHAKE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/keys.h"
#include "crypto/noise.h"

struct cn_session;

/* The first byte of every cairn session message. */
enum cn_msg_type {
	CN_MSG_INITIATION = 1,
	CN_MSG_RESPONSE = 2,
	/* 3 is the cookie reply, CN_MSG_COOKIE_REPLY in crypto/cookie.h. */
	CN_MSG_DATA = 4,
};

#define CN_HANDSHAKE_PROLOGUE_PREFIX "cairn v1"
#define CN_HANDSHAKE_MAC1_LABEL	     "cairn mac1 v1"

enum {
	CN_TAI64N_LEN = 12,
	CN_HANDSHAKE_MAC_LEN = 16,
	CN_HANDSHAKE_NETWORK_MAX = 63,
	CN_HANDSHAKE_PROLOGUE_MAX =
		sizeof(CN_HANDSHAKE_PROLOGUE_PREFIX) /* with its NUL */ + CN_HANDSHAKE_NETWORK_MAX,
	CN_HANDSHAKE_INITIATION_LEN =
		8 + CN_NOISE_MSG1_OVERHEAD + CN_TAI64N_LEN + CN_HANDSHAKE_MAC_LEN,	/* 132 */
	CN_HANDSHAKE_RESPONSE_LEN = 12 + CN_NOISE_MSG2_OVERHEAD + CN_HANDSHAKE_MAC_LEN, /* 76 */
	/* The same with mac2 appended (crypto/cookie.h). */
	CN_HANDSHAKE_INITIATION_MAC2_LEN = CN_HANDSHAKE_INITIATION_LEN + CN_HANDSHAKE_MAC_LEN,
	CN_HANDSHAKE_RESPONSE_MAC2_LEN = CN_HANDSHAKE_RESPONSE_LEN + CN_HANDSHAKE_MAC_LEN,
};

/*
 * What this node needs to run handshakes: its identity (borrowed; must
 * outlive this struct), the prologue for its network and its own mac1 key.
 * Holds no secret of its own.
 */
struct cn_handshake_local {
	const struct cn_identity *id;
	uint8_t prologue[CN_HANDSHAKE_PROLOGUE_MAX];
	size_t prologue_len;
	uint8_t mac1_key[32];
};

/*
 * The handshake state a responder keeps per peer (embedded in the caller's
 * peer object, found through the lookup callback).
 */
struct cn_handshake_peer {
	uint8_t x_pk[CN_KEY_LEN];	/* the peer's X25519 static public key */
	uint8_t last_ts[CN_TAI64N_LEN]; /* greatest initiation timestamp accepted */
};

/*
 * One handshake in progress, caller storage. Holds secrets: cn_handshake_wipe
 * it when abandoned (the functions that finish a handshake wipe it).
 */
struct cn_handshake {
	struct cn_noise_hs noise;
	uint32_t local_index;		/* our sender_index */
	uint32_t remote_index;		/* the peer's sender_index (responder side) */
	struct cn_handshake_peer *peer; /* responder side: the lookup's answer */
};

/*
 * Returns the record of the peer whose static X25519 key is x_pk, or NULL if
 * no such peer is allowed. Called only with an authenticated key.
 */
typedef struct cn_handshake_peer *(*cn_handshake_lookup_fn)(void *ctx,
							    const uint8_t x_pk[CN_KEY_LEN]);

/*
 * Fills local for identity id in network `network` (a NUL-terminated name
 * of 1..CN_HANDSHAKE_NETWORK_MAX bytes; -CN_EINVAL otherwise).
 */
int cn_handshake_local_init(struct cn_handshake_local *local, const struct cn_identity *id,
			    const char *network);

/* A record for a peer with X25519 static key x_pk, no timestamp seen yet. */
void cn_handshake_peer_init(struct cn_handshake_peer *peer, const uint8_t x_pk[static CN_KEY_LEN]);

/*
 * TAI64N label for unix time unix_sec + nsec (nsec < 10^9; larger values
 * are clamped), whitened: nanoseconds rounded down to a multiple of 2^24.
 */
void cn_handshake_tai64n(uint8_t out[static CN_TAI64N_LEN], uint64_t unix_sec, uint32_t nsec);

/*
 * mac1 of data under the receiver's key (see above); exposed so a relay or
 * a fuzzer can compute or check it. data is the message minus its mac1.
 */
void cn_handshake_mac1(const uint8_t receiver_x_pk[static CN_KEY_LEN], const uint8_t *data,
		       size_t len, uint8_t mac[static CN_HANDSHAKE_MAC_LEN]);

/*
 * Initiator: starts a handshake with the peer whose X25519 static key is
 * peer_x_pk and writes the initiation to out. sender_index: an index the
 * caller chose, unique among its live sessions and handshakes (it comes
 * back as receiver_index). ts: cn_handshake_tai64n of the wall clock.
 * e_sk: NULL (fresh ephemeral) except in tests. Replaces whatever hs held.
 * Errors: -CN_EKEY (peer_x_pk low order), -CN_ENOMEM (libsodium init).
 */
int cn_handshake_create_initiation(struct cn_handshake *hs, const struct cn_handshake_local *local,
				   const uint8_t peer_x_pk[static CN_KEY_LEN],
				   uint32_t sender_index, const uint8_t ts[static CN_TAI64N_LEN],
				   const uint8_t *e_sk,
				   uint8_t out[static CN_HANDSHAKE_INITIATION_LEN]);

/*
 * Responder: checks an initiation. On success hs (scratch storage; its old
 * contents are replaced) is ready for cn_handshake_create_response,
 * *peer_out is the record lookup returned, and that record's last_ts holds
 * the new timestamp. On failure hs, every record and *peer_out (NULL) are
 * unchanged. Errors, in the order checked: -CN_ESHORT/-CN_ETOOBIG (length
 * is neither 132 nor 148; mac2 is not checked here), -CN_EFORMAT (type,
 * reserved bytes), -CN_EDECRYPT
 * (mac1 or a Noise tag), -CN_EKEY (low-order ephemeral), -CN_EUNKNOWN
 * (lookup knows no such peer), -CN_EREPLAY (timestamp not newer).
 */
int cn_handshake_consume_initiation(struct cn_handshake *hs, const struct cn_handshake_local *local,
				    const uint8_t *msg, size_t len, cn_handshake_lookup_fn lookup,
				    void *ctx, struct cn_handshake_peer **peer_out);

/*
 * Responder: writes the response to out and sets up *session (indexes:
 * local = sender_index, remote = the initiation's sender_index; created at
 * now_ms; unconfirmed until the initiator's first packet). Wipes hs.
 * *session is written only on success.
 * Errors: -CN_ESTATE (no initiation consumed), -CN_EKEY.
 */
int cn_handshake_create_response(struct cn_handshake *hs, uint32_t sender_index,
				 const uint8_t *e_sk, uint64_t now_ms,
				 uint8_t out[static CN_HANDSHAKE_RESPONSE_LEN],
				 struct cn_session *session);

/*
 * Initiator: checks the response and sets up *session (local = our
 * sender_index, remote = the response's sender_index; written only on
 * success). Wipes hs on success;
 * leaves it unchanged on failure, so a forged response does not stop the
 * genuine one. Errors: -CN_ESTATE (no initiation pending), -CN_ESHORT/
 * -CN_ETOOBIG (neither 76 nor 92 bytes), -CN_EFORMAT, -CN_EUNKNOWN (receiver_index is not ours),
 * -CN_EDECRYPT, -CN_EKEY.
 */
int cn_handshake_consume_response(struct cn_handshake *hs, const uint8_t *msg, size_t len,
				  uint64_t now_ms, struct cn_session *session);

void cn_handshake_wipe(struct cn_handshake *hs);

/*
 * Demultiplexing help for a receive path: the type of msg and, for
 * responses and data, its receiver_index (0 for an initiation). Checks only
 * the length a type requires (for handshakes exactly with or without mac2,
 * at least the overhead for data) and the reserved bytes. -CN_EFORMAT for
 * anything else, cookie replies included (cn_cookie_reply_classify).
 */
int cn_handshake_classify(const uint8_t *msg, size_t len, enum cn_msg_type *type,
			  uint32_t *receiver_index);

#endif
