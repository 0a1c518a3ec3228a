/* SPDX-License-Identifier: MIT */
/*
 * Cookies: proof that an initiator owns its source address, demanded only
 * when a responder is under load (WireGuard's whitepaper section 5.4.7).
 * docs/PROTOCOL.md section 7 has the full description; all integers
 * little-endian.
 *
 * Why: a valid mac1 needs only the responder's public key, which every
 * holder of the peer list has, so mac1 alone does not stop a flood of
 * initiations from forged sources; each costs the responder two X25519
 * (about 160 us) before it is refused. Under load the responder answers an
 * initiation that lacks a valid mac2 with a cookie reply instead of running
 * Noise; only a sender that receives at its source address can read the
 * cookie and prove it with mac2 on its next initiation.
 *
 * mac2 is optional on the wire: a message carries it only when its sender
 * holds a fresh cookie, so the initiation is 132 bytes (mac1 only, what
 * every older node sends) or 148 (mac1 then mac2); the response 76 or 92.
 * A node without cookie support never receives a 148-byte initiation: it
 * never sends a cookie reply, so nobody holds a cookie for it.
 *
 *   cookie_secret     32 random bytes, replaced every 2 minutes
 *   cookie(src)       BLAKE2b-128(key = cookie_secret, addr16 || port16be)
 *                     addr16: IPv6 address, IPv4 as ::ffff:a.b.c.d
 *   mac2              BLAKE2b-128(key = cookie, message bytes before mac2,
 *                     mac1 included)
 *   reply_key(pk)     BLAKE2b-256("cairn cookie v1" || pk), pk the static
 *                     X25519 public key of the peer sending the reply
 *
 * Type 3, cookie reply, 64 bytes (less than either message it answers):
 *   offset size  field
 *        0    1  type = 3
 *        1    3  reserved, zero
 *        4    4  receiver_index (u32le): the answered message's sender_index
 *        8   24  nonce, random
 *       32   32  XChaCha20-Poly1305(key = reply_key(replier), nonce,
 *                AD = the answered message's mac1, plaintext = cookie)
 *
 * Binding the reply to the mac1 the initiator sent (as AD) means a reply
 * forged by someone who did not see that initiation fails its tag.
 *
 * Pure: `now` is monotonic milliseconds; randomness comes from libsodium;
 * no sockets, clock or logging. The caller's order on each initiation (or
 * response) is: cn_cookie_check -> per-source rate limit -> Noise.
 */
#ifndef CN_CRYPTO_COOKIE_H
#define CN_CRYPTO_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "crypto/handshake.h"
#include "crypto/keys.h"

/*
 * The cookie reply's type byte. Not (yet) in enum cn_msg_type: the node's
 * and the relay's receive switches list every enumerator (-Wswitch); the
 * enumerator moves there when they handle it.
 */
#define CN_MSG_COOKIE_REPLY 3
#define CN_COOKIE_LABEL	    "cairn cookie v1"

enum {
	CN_COOKIE_LEN = 16,
	CN_COOKIE_NONCE_LEN = 24,
	CN_COOKIE_SECRET_LEN = 32,
	CN_COOKIE_REPLY_LEN = 8 + CN_COOKIE_NONCE_LEN + CN_COOKIE_LEN + 16, /* 64 */
	/* The responder replaces its secret this often (a cookie lives this long). */
	CN_COOKIE_SECRET_AGE_MS = 120 * 1000,
	/* The initiator stops using a cookie this much earlier (transit, clock skew). */
	CN_COOKIE_LATENCY_MS = 5 * 1000,
};

_Static_assert(CN_COOKIE_REPLY_LEN == 64, "docs/PROTOCOL.md");
_Static_assert((int)CN_COOKIE_REPLY_LEN < (int)CN_HANDSHAKE_RESPONSE_LEN,
	       "a reply never amplifies");

/* What cn_cookie_check decided about one handshake message. */
enum cn_cookie_verdict {
	CN_COOKIE_OK = 0,	  /* go on: rate limit per source, then Noise */
	CN_COOKIE_SEND_REPLY = 1, /* under load without a valid mac2: cn_cookie_reply_create */
	CN_COOKIE_DROP = 2,	  /* wrong length, type or mac1: no answer */
};

/*
 * The responder side, one per daemon (caller storage; wipe with
 * cn_cookie_checker_wipe). Holds the secret.
 */
struct cn_cookie_checker {
	uint8_t x_pk[CN_KEY_LEN];	      /* our static X25519 key: mac1 */
	uint8_t reply_key[32];		      /* reply_key(our key) */
	uint8_t secret[CN_COOKIE_SECRET_LEN]; /* cookie_secret */
	uint64_t secret_ms;		      /* when it was drawn */
	bool have_secret;
};

/*
 * The initiator side, one per peer we start handshakes with (caller
 * storage; an all-zero jar after cn_cookie_jar_init holds no cookie).
 */
struct cn_cookie_jar {
	uint8_t reply_key[32]; /* reply_key(peer's key) */
	uint8_t cookie[CN_COOKIE_LEN];
	uint64_t cookie_ms; /* when the reply arrived */
	bool have_cookie;
	uint8_t last_mac1[CN_HANDSHAKE_MAC_LEN]; /* of the last message sent to this peer */
	uint32_t last_index;			 /* its sender_index */
	bool have_sent;
};

/*
 * Load detection, the "under load" input of cn_cookie_check: counts the
 * handshake messages that went on to Noise (the expensive ones) per
 * second; under load from the moment a one-second window passes
 * `threshold` until one second after the last window that did
 * (hysteresis, so the state does not flap at the edge). Under load only
 * messages with a valid mac2 reach Noise, so a forged-source flood cannot
 * keep more than `threshold` X25519 pairs per second busy.
 */
struct cn_cookie_load {
	uint32_t threshold; /* messages per second; 0 = CN_COOKIE_LOAD_DEFAULT */
	uint32_t count;	    /* in the current window */
	uint64_t window_ms; /* start of the current window */
	uint64_t until_ms;  /* under load before this time */
};

enum {
	/*
	 * Far above legitimate traffic (each peer starts a handshake every 2
	 * minutes, so 64/s is 7680 peers rekeying), far below what a core
	 * absorbs (about 6000 initiations/s at 160 us each).
	 */
	CN_COOKIE_LOAD_DEFAULT = 64,
};

/* The checker for a responder whose static X25519 public key is x_pk. */
void cn_cookie_checker_init(struct cn_cookie_checker *ck, const uint8_t x_pk[static CN_KEY_LEN]);
void cn_cookie_checker_wipe(struct cn_cookie_checker *ck);

/*
 * Responder, on each handshake message (type 1 or 2) before anything else:
 * checks its length (132/148 or 76/92 bytes), header and mac1, and when
 * under_load its mac2 for the cookie of src (draws or replaces the secret
 * as `now` requires). Not under load, mac2 is ignored. Constant-time
 * compares. src: the datagram's source (or TCP peer); an address family
 * other than AF_INET/AF_INET6 gets DROP under load.
 */
enum cn_cookie_verdict cn_cookie_check(struct cn_cookie_checker *ck, const uint8_t *msg, size_t len,
				       const struct sockaddr *src, bool under_load, uint64_t now);

/*
 * Responder: the cookie reply to msg (which cn_cookie_check answered with
 * SEND_REPLY) from src, written to out. 0, or -CN_EFORMAT if msg is not a
 * handshake message with a valid length, -CN_EINVAL for an unknown family.
 */
int cn_cookie_reply_create(struct cn_cookie_checker *ck, const uint8_t *msg, size_t len,
			   const struct sockaddr *src, uint64_t now,
			   uint8_t out[static CN_COOKIE_REPLY_LEN]);

/*
 * Demultiplexing help: the receiver_index of a cookie reply (exact length,
 * type, reserved bytes), or -CN_EFORMAT.
 */
int cn_cookie_reply_classify(const uint8_t *msg, size_t len, uint32_t *receiver_index);

/* The jar for handshakes with the peer whose static X25519 key is peer_x_pk. */
void cn_cookie_jar_init(struct cn_cookie_jar *jar, const uint8_t peer_x_pk[static CN_KEY_LEN]);
void cn_cookie_jar_wipe(struct cn_cookie_jar *jar);

/*
 * Initiator (or responder sending its response): msg holds a freshly made
 * 132-byte initiation or 76-byte response in a buffer of cap bytes.
 * Remembers its mac1 and sender_index (for the reply that may come) and,
 * if the jar holds a cookie younger than CN_COOKIE_SECRET_AGE_MS -
 * CN_COOKIE_LATENCY_MS, appends mac2. Returns the length to send (len or
 * len + 16); len unchanged if msg is not such a message or cap is short.
 */
size_t cn_cookie_jar_stamp(struct cn_cookie_jar *jar, uint8_t *msg, size_t len, size_t cap,
			   uint64_t now);

/*
 * Initiator: a cookie reply arrived for the peer of this jar. Stores the
 * cookie (so the next message carries mac2). Errors, nothing stored:
 * -CN_EFORMAT (length, header), -CN_ESTATE (we sent nothing), -CN_EUNKNOWN
 * (receiver_index is not the last sender_index we used), -CN_EDECRYPT
 * (tag: forged, or for an older message).
 */
int cn_cookie_consume_reply(struct cn_cookie_jar *jar, const uint8_t *msg, size_t len,
			    uint64_t now);

/* Whether the daemon is under load at `now` (see struct cn_cookie_load). */
bool cn_cookie_under_load(const struct cn_cookie_load *load, uint64_t now);
/* Notes one handshake message that goes on to Noise at `now`. */
void cn_cookie_load_note(struct cn_cookie_load *load, uint64_t now);

#endif
