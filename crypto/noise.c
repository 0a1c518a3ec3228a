/* SPDX-License-Identifier: MIT */
/*
 * Noise_IK_25519_ChaChaPoly_BLAKE2b on libsodium. Section numbers refer to
 * the Noise specification, revision 34. Pure: see noise.h.
 *
 * Pitfalls this file exists to get right (NOTES-deps.md section 5):
 * - HMAC-BLAKE2b is RFC 2104 HMAC over unkeyed BLAKE2b-512 (block 128,
 *   output 64), built by hand; BLAKE2b's keyed mode gives other bytes.
 * - HKDF is Noise's chained form without salt or info.
 * - HASHLEN (64) exceeds the cipher key (32): temp_k is truncated to 32 in
 *   MixKey and Split; ck and h stay 64 bytes.
 * - The protocol name (33 bytes) fits in HASHLEN, so h starts as the name
 *   zero-padded to 64 bytes, not as its hash.
 * - crypto_scalarmult fails on an all-zero output (low-order point): that
 *   is a handshake failure, never a key.
 */
#include "crypto/noise.h"

#include <sodium.h>
#include <string.h>

#include "common/bytes.h"
#include "common/err.h"

enum {
	HMAC_BLOCK_LEN = 128, /* BLAKE2b block length */
	NAME_LEN = sizeof(CN_NOISE_PROTOCOL_NAME) - 1,
};

_Static_assert(CN_NOISE_HASH_LEN == crypto_generichash_BYTES_MAX, "HASH is BLAKE2b-512");
_Static_assert(CN_NOISE_CIPHER_KEY_LEN == crypto_aead_chacha20poly1305_ietf_KEYBYTES, "key");
_Static_assert(CN_NOISE_TAG_LEN == crypto_aead_chacha20poly1305_ietf_ABYTES, "tag");
_Static_assert(CN_NOISE_NONCE_LEN == crypto_aead_chacha20poly1305_ietf_NPUBBYTES, "nonce");
_Static_assert((int)CN_KEY_LEN == crypto_scalarmult_BYTES, "DHLEN");
_Static_assert((int)CN_KEY_LEN == crypto_scalarmult_SCALARBYTES, "X25519 private key");
_Static_assert((int)NAME_LEN <= (int)CN_NOISE_HASH_LEN, "protocol name is padded, not hashed");

/* The operations each state allows; see transition_ok. */
enum step {
	STEP_WRITE_MSG1,
	STEP_READ_MSG1,
	STEP_WRITE_MSG2,
	STEP_READ_MSG2,
	STEP_SPLIT,
};

/* The one table of which step each state allows (no default: -Wswitch). */
static bool transition_ok(enum cn_noise_state state, enum step step)
{
	switch (state) {
	case CN_NOISE_EMPTY:
		return false;
	case CN_NOISE_INITIATOR_START:
		return step == STEP_WRITE_MSG1;
	case CN_NOISE_INITIATOR_SENT:
		return step == STEP_READ_MSG2;
	case CN_NOISE_RESPONDER_START:
		return step == STEP_READ_MSG1;
	case CN_NOISE_RESPONDER_RECEIVED:
		return step == STEP_WRITE_MSG2;
	case CN_NOISE_INITIATOR_DONE:
	case CN_NOISE_RESPONDER_DONE:
		return step == STEP_SPLIT;
	}
	return false;
}

/* HASH(a || b): BLAKE2b-512, unkeyed. out may alias a or b. */
static void hash2(uint8_t out[static CN_NOISE_HASH_LEN], const uint8_t *a, size_t a_len,
		  const uint8_t *b, size_t b_len)
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, CN_NOISE_HASH_LEN);
	crypto_generichash_update(&st, a, a_len);
	crypto_generichash_update(&st, b, b_len);
	crypto_generichash_final(&st, out, CN_NOISE_HASH_LEN);
	sodium_memzero(&st, sizeof(st));
}

/*
 * HMAC-HASH(key, a || b) per RFC 2104 with HASH = BLAKE2b-512 (section 4.3).
 * Every key Noise feeds HMAC here is HASHLEN bytes, below the block length,
 * so it is only zero-padded.
 */
static void hmac(uint8_t out[static CN_NOISE_HASH_LEN], const uint8_t key[static CN_NOISE_HASH_LEN],
		 const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len)
{
	uint8_t pad[HMAC_BLOCK_LEN];
	uint8_t inner[CN_NOISE_HASH_LEN];
	crypto_generichash_state st;

	memset(pad, 0x36, sizeof(pad));
	for (size_t i = 0; i < CN_NOISE_HASH_LEN; i++)
		pad[i] ^= key[i];
	crypto_generichash_init(&st, NULL, 0, CN_NOISE_HASH_LEN);
	crypto_generichash_update(&st, pad, sizeof(pad));
	crypto_generichash_update(&st, a, a_len);
	crypto_generichash_update(&st, b, b_len);
	crypto_generichash_final(&st, inner, sizeof(inner));

	memset(pad, 0x5c, sizeof(pad));
	for (size_t i = 0; i < CN_NOISE_HASH_LEN; i++)
		pad[i] ^= key[i];
	crypto_generichash_init(&st, NULL, 0, CN_NOISE_HASH_LEN);
	crypto_generichash_update(&st, pad, sizeof(pad));
	crypto_generichash_update(&st, inner, sizeof(inner));
	crypto_generichash_final(&st, out, CN_NOISE_HASH_LEN);

	sodium_memzero(pad, sizeof(pad));
	sodium_memzero(inner, sizeof(inner));
	sodium_memzero(&st, sizeof(st));
}

/*
 * HKDF(chaining_key, ikm, 2) (section 4.3): temp = HMAC(ck, ikm),
 * o1 = HMAC(temp, 0x01), o2 = HMAC(temp, o1 || 0x02). IK without PSK never
 * needs a third output.
 */
static void hkdf2(uint8_t o1[static CN_NOISE_HASH_LEN], uint8_t o2[static CN_NOISE_HASH_LEN],
		  const uint8_t ck[static CN_NOISE_HASH_LEN], const uint8_t *ikm, size_t ikm_len)
{
	static const uint8_t one = 0x01, two = 0x02;
	uint8_t temp[CN_NOISE_HASH_LEN];

	hmac(temp, ck, ikm, ikm_len, NULL, 0);
	hmac(o1, temp, &one, 1, NULL, 0);
	hmac(o2, temp, o1, CN_NOISE_HASH_LEN, &two, 1);
	sodium_memzero(temp, sizeof(temp));
}

static void nonce_encode(uint8_t nonce[static CN_NOISE_NONCE_LEN], uint64_t n)
{
	struct cn_wr w;

	cn_wr_init(&w, nonce, CN_NOISE_NONCE_LEN);
	cn_wr_u32le(&w, 0);
	cn_wr_u64le(&w, n);
}

void cn_noise_encrypt(const uint8_t k[static CN_NOISE_CIPHER_KEY_LEN], uint64_t n,
		      const uint8_t *ad, size_t ad_len, const uint8_t *pt, size_t pt_len,
		      uint8_t *ct)
{
	uint8_t nonce[CN_NOISE_NONCE_LEN];

	nonce_encode(nonce, n);
	crypto_aead_chacha20poly1305_ietf_encrypt(ct, NULL, pt, pt_len, ad, ad_len, NULL, nonce, k);
}

int cn_noise_decrypt(const uint8_t k[static CN_NOISE_CIPHER_KEY_LEN], uint64_t n, const uint8_t *ad,
		     size_t ad_len, const uint8_t *ct, size_t ct_len, uint8_t *pt)
{
	uint8_t nonce[CN_NOISE_NONCE_LEN];

	if (ct_len < CN_NOISE_TAG_LEN)
		return -CN_ESHORT;
	nonce_encode(nonce, n);
	if (crypto_aead_chacha20poly1305_ietf_decrypt(pt, NULL, NULL, ct, ct_len, ad, ad_len, nonce,
						      k) != 0)
		return -CN_EDECRYPT;
	return 0;
}

void cn_noise_cipher_init(struct cn_noise_cipher *c,
			  const uint8_t k[static CN_NOISE_CIPHER_KEY_LEN])
{
	memcpy(c->k, k, CN_NOISE_CIPHER_KEY_LEN);
	c->n = 0;
	c->has_key = true;
}

void cn_noise_cipher_wipe(struct cn_noise_cipher *c)
{
	sodium_memzero(c, sizeof(*c));
}

int cn_noise_cipher_encrypt(struct cn_noise_cipher *c, const uint8_t *ad, size_t ad_len,
			    const uint8_t *pt, size_t pt_len, uint8_t *ct)
{
	if (!c->has_key)
		return -CN_ESTATE;
	if (c->n == UINT64_MAX) /* section 5.1: 2^64-1 is reserved */
		return -CN_EEXHAUSTED;
	cn_noise_encrypt(c->k, c->n, ad, ad_len, pt, pt_len, ct);
	c->n++;
	return 0;
}

int cn_noise_cipher_decrypt(struct cn_noise_cipher *c, const uint8_t *ad, size_t ad_len,
			    const uint8_t *ct, size_t ct_len, uint8_t *pt)
{
	int ret;

	if (!c->has_key)
		return -CN_ESTATE;
	if (c->n == UINT64_MAX)
		return -CN_EEXHAUSTED;
	ret = cn_noise_decrypt(c->k, c->n, ad, ad_len, ct, ct_len, pt);
	if (ret == 0)
		c->n++;
	return ret;
}

/* MixHash(data): h = HASH(h || data). */
static void mix_hash(struct cn_noise_symmetric *ss, const uint8_t *data, size_t len)
{
	hash2(ss->h, ss->h, sizeof(ss->h), data, len);
}

/* MixKey(ikm): ck, temp_k = HKDF(ck, ikm, 2); InitializeKey(temp_k[0:32]). */
static void mix_key(struct cn_noise_symmetric *ss, const uint8_t *ikm, size_t len)
{
	uint8_t ck[CN_NOISE_HASH_LEN], temp_k[CN_NOISE_HASH_LEN];

	hkdf2(ck, temp_k, ss->ck, ikm, len);
	memcpy(ss->ck, ck, sizeof(ss->ck));
	cn_noise_cipher_init(&ss->cs, temp_k); /* truncated to the first 32 bytes */
	sodium_memzero(ck, sizeof(ck));
	sodium_memzero(temp_k, sizeof(temp_k));
}

/* MixKey(DH(sk, pk)). -CN_EKEY if pk is a low-order point. */
static int mix_dh(struct cn_noise_symmetric *ss, const uint8_t sk[static CN_KEY_LEN],
		  const uint8_t pk[static CN_KEY_LEN])
{
	uint8_t dh[CN_KEY_LEN];
	int ret = -CN_EKEY;

	if (crypto_scalarmult(dh, sk, pk) != 0)
		goto out;
	mix_key(ss, dh, sizeof(dh));
	ret = 0;
out:
	sodium_memzero(dh, sizeof(dh));
	return ret;
}

/*
 * EncryptAndHash(pt) into ct (pt_len, plus a tag once a key is set; IK
 * always has one by then). ct must not overlap pt.
 */
static int encrypt_and_hash(struct cn_noise_symmetric *ss, const uint8_t *pt, size_t pt_len,
			    uint8_t *ct)
{
	int ret;

	if (!ss->cs.has_key) {
		memcpy(ct, pt, pt_len);
		mix_hash(ss, ct, pt_len);
		return 0;
	}
	ret = cn_noise_cipher_encrypt(&ss->cs, ss->h, sizeof(ss->h), pt, pt_len, ct);
	if (ret == 0)
		mix_hash(ss, ct, pt_len + CN_NOISE_TAG_LEN);
	return ret;
}

/* DecryptAndHash(ct) into pt. pt must not overlap ct: MixHash needs ct after. */
static int decrypt_and_hash(struct cn_noise_symmetric *ss, const uint8_t *ct, size_t ct_len,
			    uint8_t *pt)
{
	int ret;

	if (!ss->cs.has_key) {
		memcpy(pt, ct, ct_len);
		mix_hash(ss, ct, ct_len);
		return 0;
	}
	ret = cn_noise_cipher_decrypt(&ss->cs, ss->h, sizeof(ss->h), ct, ct_len, pt);
	if (ret == 0)
		mix_hash(ss, ct, ct_len);
	return ret;
}

/* InitializeSymmetric, MixHash(prologue), s_pk from s_sk. */
static int init_common(struct cn_noise_hs *hs, const uint8_t *prologue, size_t prologue_len,
		       const uint8_t s_sk[static CN_KEY_LEN])
{
	sodium_memzero(hs, sizeof(*hs));
	if (sodium_init() < 0)
		return -CN_ENOMEM;
	memcpy(hs->ss.h, CN_NOISE_PROTOCOL_NAME, NAME_LEN); /* rest stays zero: padding */
	memcpy(hs->ss.ck, hs->ss.h, sizeof(hs->ss.ck));
	mix_hash(&hs->ss, prologue, prologue_len);
	memcpy(hs->s_sk, s_sk, CN_KEY_LEN);
	if (crypto_scalarmult_base(hs->s_pk, hs->s_sk) != 0) {
		sodium_memzero(hs, sizeof(*hs));
		return -CN_EKEY;
	}
	return 0;
}

int cn_noise_init_initiator(struct cn_noise_hs *hs, const uint8_t *prologue, size_t prologue_len,
			    const uint8_t s_sk[static CN_KEY_LEN],
			    const uint8_t rs[static CN_KEY_LEN])
{
	int ret = init_common(hs, prologue, prologue_len, s_sk);

	if (ret)
		return ret;
	/* Pre-message "<- s": the responder's static key is known in advance. */
	memcpy(hs->rs, rs, CN_KEY_LEN);
	mix_hash(&hs->ss, hs->rs, CN_KEY_LEN);
	hs->state = CN_NOISE_INITIATOR_START;
	return 0;
}

int cn_noise_init_responder(struct cn_noise_hs *hs, const uint8_t *prologue, size_t prologue_len,
			    const uint8_t s_sk[static CN_KEY_LEN])
{
	int ret = init_common(hs, prologue, prologue_len, s_sk);

	if (ret)
		return ret;
	mix_hash(&hs->ss, hs->s_pk, CN_KEY_LEN); /* pre-message "<- s" */
	hs->state = CN_NOISE_RESPONDER_START;
	return 0;
}

/* Token "e" on the writing side: new (or injected) ephemeral, MixHash(e.pub). */
static int write_e(struct cn_noise_hs *hs, const uint8_t *e_sk, struct cn_wr *w)
{
	uint8_t *p;

	if (e_sk)
		memcpy(hs->e_sk, e_sk, CN_KEY_LEN);
	else
		randombytes_buf(hs->e_sk, CN_KEY_LEN);
	if (crypto_scalarmult_base(hs->e_pk, hs->e_sk) != 0)
		return -CN_EKEY;
	p = cn_wr_take(w, CN_KEY_LEN);
	if (!p)
		return -CN_EINVAL;
	memcpy(p, hs->e_pk, CN_KEY_LEN);
	mix_hash(&hs->ss, hs->e_pk, CN_KEY_LEN);
	return 0;
}

/* Token "e" on the reading side: re = next 32 bytes, MixHash(re). */
static int read_e(struct cn_noise_hs *hs, struct cn_rd *r)
{
	if (!cn_rd_bytes(r, hs->re, CN_KEY_LEN))
		return -CN_ESHORT;
	mix_hash(&hs->ss, hs->re, CN_KEY_LEN);
	return 0;
}

/* EncryptAndHash(payload) into the next payload_len + tag bytes of w. */
static int write_payload(struct cn_noise_hs *hs, const uint8_t *payload, size_t payload_len,
			 struct cn_wr *w)
{
	uint8_t *p = cn_wr_take(w, payload_len + CN_NOISE_TAG_LEN);

	if (!p)
		return -CN_EINVAL;
	return encrypt_and_hash(&hs->ss, payload, payload_len, p);
}

/* The payload, which must be the rest of the message: plen bytes and the tag. */
static int read_payload(struct cn_noise_hs *hs, struct cn_rd *r, size_t plen, uint8_t *payload)
{
	const uint8_t *p = cn_rd_take(r, plen + CN_NOISE_TAG_LEN);

	if (!p || cn_rd_left(r) != 0)
		return -CN_ESHORT;
	return decrypt_and_hash(&hs->ss, p, plen + CN_NOISE_TAG_LEN, payload);
}

/* Checks sizes shared by both writers; returns the message length in *need. */
static int write_sizes(size_t overhead, size_t payload_len, size_t out_cap, size_t *need)
{
	if (payload_len > CN_NOISE_MAX_MSG_LEN - overhead)
		return -CN_ETOOBIG;
	*need = overhead + payload_len;
	return out_cap < *need ? -CN_EINVAL : 0;
}

/* Checks sizes shared by both readers; returns the payload length in *plen. */
static int read_sizes(size_t overhead, size_t len, size_t payload_cap, size_t *plen)
{
	if (len < overhead)
		return -CN_ESHORT;
	if (len > CN_NOISE_MAX_MSG_LEN)
		return -CN_ETOOBIG;
	*plen = len - overhead;
	return payload_cap < *plen ? -CN_EINVAL : 0;
}

int cn_noise_write_msg1(struct cn_noise_hs *hs, const uint8_t *e_sk, const uint8_t *payload,
			size_t payload_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	struct cn_noise_hs t;
	struct cn_wr w;
	uint8_t *p;
	size_t need = 0;
	int ret;

	*out_len = 0;
	if (!transition_ok(hs->state, STEP_WRITE_MSG1))
		return -CN_ESTATE;
	ret = write_sizes(CN_NOISE_MSG1_OVERHEAD, payload_len, out_cap, &need);
	if (ret)
		return ret;
	t = *hs;
	cn_wr_init(&w, out, need);
	/* -> e */
	ret = write_e(&t, e_sk, &w);
	if (ret)
		goto out;
	/* es */
	ret = mix_dh(&t.ss, t.e_sk, t.rs);
	if (ret)
		goto out;
	/* s */
	ret = -CN_EINVAL;
	p = cn_wr_take(&w, CN_KEY_LEN + CN_NOISE_TAG_LEN);
	if (!p)
		goto out;
	ret = encrypt_and_hash(&t.ss, t.s_pk, CN_KEY_LEN, p);
	if (ret)
		goto out;
	/* ss */
	ret = mix_dh(&t.ss, t.s_sk, t.rs);
	if (ret)
		goto out;
	ret = write_payload(&t, payload, payload_len, &w);
	if (ret)
		goto out;
	t.state = CN_NOISE_INITIATOR_SENT;
	*hs = t;
	*out_len = w.len;
out:
	sodium_memzero(&t, sizeof(t));
	return ret;
}

int cn_noise_read_msg1(struct cn_noise_hs *hs, const uint8_t *msg, size_t len, uint8_t *payload,
		       size_t payload_cap, size_t *payload_len)
{
	struct cn_noise_hs t;
	struct cn_rd r;
	const uint8_t *p;
	size_t plen = 0;
	int ret;

	*payload_len = 0;
	if (!transition_ok(hs->state, STEP_READ_MSG1))
		return -CN_ESTATE;
	ret = read_sizes(CN_NOISE_MSG1_OVERHEAD, len, payload_cap, &plen);
	if (ret)
		return ret;
	t = *hs;
	cn_rd_init(&r, msg, len);
	/* -> e */
	ret = read_e(&t, &r);
	if (ret)
		goto out;
	/* es: the responder's side of DH(e, rs) */
	ret = mix_dh(&t.ss, t.s_sk, t.re);
	if (ret)
		goto out;
	/* s */
	ret = -CN_ESHORT;
	p = cn_rd_take(&r, CN_KEY_LEN + CN_NOISE_TAG_LEN);
	if (!p)
		goto out;
	ret = decrypt_and_hash(&t.ss, p, CN_KEY_LEN + CN_NOISE_TAG_LEN, t.rs);
	if (ret)
		goto out;
	/* ss */
	ret = mix_dh(&t.ss, t.s_sk, t.rs);
	if (ret)
		goto out;
	ret = read_payload(&t, &r, plen, payload);
	if (ret)
		goto out;
	t.state = CN_NOISE_RESPONDER_RECEIVED;
	*hs = t;
	*payload_len = plen;
out:
	sodium_memzero(&t, sizeof(t));
	return ret;
}

int cn_noise_write_msg2(struct cn_noise_hs *hs, const uint8_t *e_sk, const uint8_t *payload,
			size_t payload_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	struct cn_noise_hs t;
	struct cn_wr w;
	size_t need = 0;
	int ret;

	*out_len = 0;
	if (!transition_ok(hs->state, STEP_WRITE_MSG2))
		return -CN_ESTATE;
	ret = write_sizes(CN_NOISE_MSG2_OVERHEAD, payload_len, out_cap, &need);
	if (ret)
		return ret;
	t = *hs;
	cn_wr_init(&w, out, need);
	/* <- e */
	ret = write_e(&t, e_sk, &w);
	if (ret)
		goto out;
	/* ee */
	ret = mix_dh(&t.ss, t.e_sk, t.re);
	if (ret)
		goto out;
	/* se: the responder's side of DH(s_initiator, e_responder) */
	ret = mix_dh(&t.ss, t.e_sk, t.rs);
	if (ret)
		goto out;
	ret = write_payload(&t, payload, payload_len, &w);
	if (ret)
		goto out;
	t.state = CN_NOISE_RESPONDER_DONE;
	*hs = t;
	*out_len = w.len;
out:
	sodium_memzero(&t, sizeof(t));
	return ret;
}

int cn_noise_read_msg2(struct cn_noise_hs *hs, const uint8_t *msg, size_t len, uint8_t *payload,
		       size_t payload_cap, size_t *payload_len)
{
	struct cn_noise_hs t;
	struct cn_rd r;
	size_t plen = 0;
	int ret;

	*payload_len = 0;
	if (!transition_ok(hs->state, STEP_READ_MSG2))
		return -CN_ESTATE;
	ret = read_sizes(CN_NOISE_MSG2_OVERHEAD, len, payload_cap, &plen);
	if (ret)
		return ret;
	t = *hs;
	cn_rd_init(&r, msg, len);
	/* <- e */
	ret = read_e(&t, &r);
	if (ret)
		goto out;
	/* ee */
	ret = mix_dh(&t.ss, t.e_sk, t.re);
	if (ret)
		goto out;
	/* se: the initiator's side */
	ret = mix_dh(&t.ss, t.s_sk, t.re);
	if (ret)
		goto out;
	ret = read_payload(&t, &r, plen, payload);
	if (ret)
		goto out;
	t.state = CN_NOISE_INITIATOR_DONE;
	*hs = t;
	*payload_len = plen;
out:
	sodium_memzero(&t, sizeof(t));
	return ret;
}

int cn_noise_split(struct cn_noise_hs *hs, struct cn_noise_cipher *send,
		   struct cn_noise_cipher *recv, uint8_t *hash)
{
	uint8_t k1[CN_NOISE_HASH_LEN], k2[CN_NOISE_HASH_LEN];
	bool initiator = hs->state == CN_NOISE_INITIATOR_DONE;

	if (!transition_ok(hs->state, STEP_SPLIT))
		return -CN_ESTATE;
	/* temp_k1, temp_k2 = HKDF(ck, zerolen, 2), each truncated to 32 bytes */
	hkdf2(k1, k2, hs->ss.ck, NULL, 0);
	/* c1 carries initiator -> responder, c2 the reverse. */
	cn_noise_cipher_init(send, initiator ? k1 : k2);
	cn_noise_cipher_init(recv, initiator ? k2 : k1);
	if (hash)
		memcpy(hash, hs->ss.h, CN_NOISE_HASH_LEN);
	sodium_memzero(k1, sizeof(k1));
	sodium_memzero(k2, sizeof(k2));
	cn_noise_hs_wipe(hs);
	return 0;
}

void cn_noise_hs_wipe(struct cn_noise_hs *hs)
{
	sodium_memzero(hs, sizeof(*hs));
}
