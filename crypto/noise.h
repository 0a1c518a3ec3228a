/* SPDX-License-Identifier: MIT */
/*
 * Noise_IK_25519_ChaChaPoly_BLAKE2b (Noise Protocol Framework, revision 34):
 * CipherState, SymmetricState and the IK HandshakeState, nothing else.
 *
 *   IK:  <- s
 *        ...
 *        -> e, es, s, ss      (message 1, initiator to responder)
 *        <- e, ee, se         (message 2, responder to initiator)
 *
 * This is the pure Noise layer: byte-exact with the Noise test vectors
 * (tests/unit/crypto/test_noise_vectors.c). It knows nothing of cairn's
 * message headers, indexes, timestamps or peers; crypto/handshake.c wraps it
 * in cairn's wire format and crypto/session.c carries the transport keys.
 *
 * Pure: no clock, no sockets, no logging, no allocation. The only outside
 * input is libsodium's randombytes for ephemeral keys, and the caller may
 * inject the ephemeral private key instead (test vectors; never in
 * production).
 *
 * Failure semantics: every function that reads or writes a message works
 * on a private copy of the state and commits it only on success, so a
 * forged or corrupted message leaves the handshake exactly as it was (an
 * attacker cannot kill a pending handshake with garbage) and a genuine
 * message can still be processed afterwards. Every secret on the stack is
 * wiped on every path.
 */
#ifndef CN_CRYPTO_NOISE_H
#define CN_CRYPTO_NOISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/keys.h" /* CN_KEY_LEN: X25519 public and private keys */

#define CN_NOISE_PROTOCOL_NAME "Noise_IK_25519_ChaChaPoly_BLAKE2b"

enum {
	CN_NOISE_CIPHER_KEY_LEN = 32, /* ChaCha20-Poly1305 key */
	CN_NOISE_HASH_LEN = 64,	      /* BLAKE2b-512: h, ck */
	CN_NOISE_TAG_LEN = 16,	      /* Poly1305 tag */
	CN_NOISE_NONCE_LEN = 12,      /* 4 zero bytes || 64-bit little-endian n */
	CN_NOISE_MAX_MSG_LEN = 65535, /* Noise section 3 */
	/* e || encrypted s || tag of s || tag of payload */
	CN_NOISE_MSG1_OVERHEAD = CN_KEY_LEN + CN_KEY_LEN + CN_NOISE_TAG_LEN + CN_NOISE_TAG_LEN,
	/* e || tag of payload */
	CN_NOISE_MSG2_OVERHEAD = CN_KEY_LEN + CN_NOISE_TAG_LEN,
};

/* Noise CipherState. All-zero: no key. */
struct cn_noise_cipher {
	uint8_t k[CN_NOISE_CIPHER_KEY_LEN];
	uint64_t n;
	bool has_key;
};

/* Noise SymmetricState. */
struct cn_noise_symmetric {
	struct cn_noise_cipher cs;
	uint8_t ck[CN_NOISE_HASH_LEN];
	uint8_t h[CN_NOISE_HASH_LEN];
};

enum cn_noise_state {
	CN_NOISE_EMPTY = 0,	     /* zeroed or wiped */
	CN_NOISE_INITIATOR_START,    /* next: cn_noise_write_msg1 */
	CN_NOISE_INITIATOR_SENT,     /* next: cn_noise_read_msg2 */
	CN_NOISE_INITIATOR_DONE,     /* next: cn_noise_split */
	CN_NOISE_RESPONDER_START,    /* next: cn_noise_read_msg1 */
	CN_NOISE_RESPONDER_RECEIVED, /* rs is known; next: cn_noise_write_msg2 */
	CN_NOISE_RESPONDER_DONE,     /* next: cn_noise_split */
};

/*
 * Noise HandshakeState for IK. Caller storage; holds secrets (s_sk, e_sk,
 * the chaining key), so wipe it with cn_noise_hs_wipe when abandoning it.
 * cn_noise_split wipes it itself. The fields are readable (rs after
 * message 1 on the responder) but only the functions below change them.
 */
struct cn_noise_hs {
	enum cn_noise_state state;
	struct cn_noise_symmetric ss;
	uint8_t s_sk[CN_KEY_LEN]; /* local static */
	uint8_t s_pk[CN_KEY_LEN];
	uint8_t e_sk[CN_KEY_LEN]; /* local ephemeral */
	uint8_t e_pk[CN_KEY_LEN];
	uint8_t rs[CN_KEY_LEN]; /* remote static */
	uint8_t re[CN_KEY_LEN]; /* remote ephemeral */
};

/*
 * Noise ENCRYPT(k, n, ad, plaintext) / DECRYPT for ChaChaPoly: IETF
 * ChaCha20-Poly1305 with nonce 4 zero bytes || n as 64-bit little-endian.
 * ct has pt_len + CN_NOISE_TAG_LEN bytes. ct == pt (in place) is allowed;
 * any other overlap is not. Decrypt: -CN_ESHORT if ct_len is below the
 * tag length, -CN_EDECRYPT if the tag is wrong (pt is then untouched).
 */
void cn_noise_encrypt(const uint8_t k[static CN_NOISE_CIPHER_KEY_LEN], uint64_t n,
		      const uint8_t *ad, size_t ad_len, const uint8_t *pt, size_t pt_len,
		      uint8_t *ct);
int cn_noise_decrypt(const uint8_t k[static CN_NOISE_CIPHER_KEY_LEN], uint64_t n, const uint8_t *ad,
		     size_t ad_len, const uint8_t *ct, size_t ct_len, uint8_t *pt);

/*
 * CipherState EncryptWithAd/DecryptWithAd: use n and increment it (only on
 * success). -CN_ESTATE without a key, -CN_EEXHAUSTED once n reached
 * 2^64-1 (reserved by Noise). These are the pure Noise transport of the
 * test vectors; cairn's data messages use crypto/session.h instead.
 */
void cn_noise_cipher_init(struct cn_noise_cipher *c,
			  const uint8_t k[static CN_NOISE_CIPHER_KEY_LEN]);
int cn_noise_cipher_encrypt(struct cn_noise_cipher *c, const uint8_t *ad, size_t ad_len,
			    const uint8_t *pt, size_t pt_len, uint8_t *ct);
int cn_noise_cipher_decrypt(struct cn_noise_cipher *c, const uint8_t *ad, size_t ad_len,
			    const uint8_t *ct, size_t ct_len, uint8_t *pt);
void cn_noise_cipher_wipe(struct cn_noise_cipher *c);

/*
 * Initialize(IK, initiator, prologue, s, rs) / Initialize(IK, responder,
 * prologue, s): h = protocol name padded to 64, ck = h, MixHash(prologue),
 * then the pre-message MixHash(responder's static public key). s_sk is
 * copied into hs. -CN_EKEY if s_sk gives no usable public key.
 */
int cn_noise_init_initiator(struct cn_noise_hs *hs, const uint8_t *prologue, size_t prologue_len,
			    const uint8_t s_sk[static CN_KEY_LEN],
			    const uint8_t rs[static CN_KEY_LEN]);
int cn_noise_init_responder(struct cn_noise_hs *hs, const uint8_t *prologue, size_t prologue_len,
			    const uint8_t s_sk[static CN_KEY_LEN]);

/*
 * Message 1 (e, es, s, ss, payload): CN_NOISE_MSG1_OVERHEAD + payload_len
 * bytes. Message 2 (e, ee, se, payload): CN_NOISE_MSG2_OVERHEAD +
 * payload_len bytes. e_sk is the ephemeral private key to use, or NULL to
 * generate one (production). *out_len is set on success, 0 otherwise.
 * Errors: -CN_ESTATE (wrong state), -CN_EINVAL (out_cap too small),
 * -CN_ETOOBIG (message over 65535 bytes), -CN_EKEY (a DH gave the all-zero
 * output: low-order remote key). On error hs is unchanged.
 */
int cn_noise_write_msg1(struct cn_noise_hs *hs, const uint8_t *e_sk, const uint8_t *payload,
			size_t payload_len, uint8_t *out, size_t out_cap, size_t *out_len);
int cn_noise_write_msg2(struct cn_noise_hs *hs, const uint8_t *e_sk, const uint8_t *payload,
			size_t payload_len, uint8_t *out, size_t out_cap, size_t *out_len);

/*
 * Reads message 1 (responder; hs->rs holds the initiator's static key on
 * success) or message 2 (initiator). The payload goes to payload, which
 * must not overlap msg; *payload_len is set on success, 0 otherwise.
 * Errors: -CN_ESTATE, -CN_ESHORT (shorter than the overhead), -CN_ETOOBIG
 * (over 65535), -CN_EINVAL (payload_cap too small), -CN_EKEY (low-order
 * remote key), -CN_EDECRYPT (a tag failed). On error hs is unchanged.
 */
int cn_noise_read_msg1(struct cn_noise_hs *hs, const uint8_t *msg, size_t len, uint8_t *payload,
		       size_t payload_cap, size_t *payload_len);
int cn_noise_read_msg2(struct cn_noise_hs *hs, const uint8_t *msg, size_t len, uint8_t *payload,
		       size_t payload_cap, size_t *payload_len);

/*
 * Split(): the two transport CipherStates (c1 initiator->responder, c2
 * responder->initiator) handed out as send/recv from this side's point of
 * view, and the 64-byte handshake hash h (may be NULL). Wipes hs.
 * -CN_ESTATE unless both messages are done.
 */
int cn_noise_split(struct cn_noise_hs *hs, struct cn_noise_cipher *send,
		   struct cn_noise_cipher *recv, uint8_t *hash);

/* Wipes every secret; hs is CN_NOISE_EMPTY afterwards. */
void cn_noise_hs_wipe(struct cn_noise_hs *hs);

#endif
