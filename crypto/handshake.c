/* SPDX-License-Identifier: MIT */
/*
 * cairn's handshake messages around the Noise IK core; formats and rules in
 * handshake.h and docs/PROTOCOL.md. Pure.
 *
 * Attacker model: anyone can send any bytes. A receiver checks, cheapest
 * first: exact length, header, mac1 (one hash), then Noise (X25519 and
 * AEAD). The initiator's identity is looked up only once Noise has
 * authenticated it, and a peer's stored timestamp changes only after the
 * whole initiation verified, so forged messages change no state.
 */
#include "crypto/handshake.h"

#include <sodium.h>
#include <string.h>

#include "common/bytes.h"
#include "common/err.h"
#include "crypto/session.h"

enum {
	RESERVED_LEN = 3,
	MAC1_KEY_LEN = 32,
	INIT_NOISE_LEN = CN_NOISE_MSG1_OVERHEAD + CN_TAI64N_LEN,
	RESP_NOISE_LEN = CN_NOISE_MSG2_OVERHEAD,
	TAI64N_WHITEN_MASK = (1 << 24) - 1,
	NSEC_PER_SEC = 1000000000,
};

_Static_assert(CN_HANDSHAKE_INITIATION_LEN == 132, "docs/PROTOCOL.md");
_Static_assert(CN_HANDSHAKE_RESPONSE_LEN == 76, "docs/PROTOCOL.md");
_Static_assert(CN_HANDSHAKE_INITIATION_MAC2_LEN == 148, "docs/PROTOCOL.md");
_Static_assert(CN_HANDSHAKE_RESPONSE_MAC2_LEN == 92, "docs/PROTOCOL.md");
_Static_assert(MAC1_KEY_LEN == sizeof(((struct cn_handshake_local *)0)->mac1_key), "mac1 key");

/* mac1_key(pk) = BLAKE2b-256(label || pk) */
static void mac1_key(uint8_t key[static MAC1_KEY_LEN], const uint8_t pk[static CN_KEY_LEN])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, MAC1_KEY_LEN);
	crypto_generichash_update(&st, (const uint8_t *)CN_HANDSHAKE_MAC1_LABEL,
				  sizeof(CN_HANDSHAKE_MAC1_LABEL) - 1);
	crypto_generichash_update(&st, pk, CN_KEY_LEN);
	crypto_generichash_final(&st, key, MAC1_KEY_LEN);
}

static void mac1_with_key(const uint8_t key[static MAC1_KEY_LEN], const uint8_t *data, size_t len,
			  uint8_t mac[static CN_HANDSHAKE_MAC_LEN])
{
	crypto_generichash(mac, CN_HANDSHAKE_MAC_LEN, data, len, key, MAC1_KEY_LEN);
}

void cn_handshake_mac1(const uint8_t receiver_x_pk[static CN_KEY_LEN], const uint8_t *data,
		       size_t len, uint8_t mac[static CN_HANDSHAKE_MAC_LEN])
{
	uint8_t key[MAC1_KEY_LEN];

	mac1_key(key, receiver_x_pk);
	mac1_with_key(key, data, len, mac);
}

/* The mac1 in the last 16 bytes of msg, checked in constant time. */
static bool mac1_ok(const uint8_t key[static MAC1_KEY_LEN], const uint8_t *msg, size_t len)
{
	uint8_t want[CN_HANDSHAKE_MAC_LEN];

	mac1_with_key(key, msg, len - CN_HANDSHAKE_MAC_LEN, want);
	return crypto_verify_16(want, msg + len - CN_HANDSHAKE_MAC_LEN) == 0;
}

/* type || 3 reserved zero bytes */
static void header_write(struct cn_wr *w, enum cn_msg_type type)
{
	/* One word: GCC 12 -O2 misreads a 3-byte copy here (-Wstringop-overflow). */
	cn_wr_u32be(w, (uint32_t)type << 24);
}

/* -CN_EFORMAT unless the next 4 bytes are type and three zero bytes. */
static int header_read(struct cn_rd *r, enum cn_msg_type type)
{
	uint8_t t = cn_rd_u8(r);
	const uint8_t *rsv = cn_rd_take(r, RESERVED_LEN);

	if (!rsv)
		return -CN_ESHORT;
	if (t != (uint8_t)type || (rsv[0] | rsv[1] | rsv[2]) != 0)
		return -CN_EFORMAT;
	return 0;
}

/*
 * A handshake message is `base` bytes, or base + 16 when its sender added
 * mac2 (crypto/cookie.h); mac2 is the cookie checker's business, Noise
 * reads the first base bytes.
 */
static int handshake_len(size_t len, size_t base)
{
	if (len < base)
		return -CN_ESHORT;
	return len == base || len == base + CN_HANDSHAKE_MAC_LEN ? 0 : -CN_ETOOBIG;
}

int cn_handshake_local_init(struct cn_handshake_local *local, const struct cn_identity *id,
			    const char *network)
{
	size_t n = strnlen(network, CN_HANDSHAKE_NETWORK_MAX + 1);
	struct cn_wr w;

	memset(local, 0, sizeof(*local));
	if (n == 0 || n > CN_HANDSHAKE_NETWORK_MAX)
		return -CN_EINVAL;
	if (sodium_init() < 0)
		return -CN_ENOMEM;
	cn_wr_init(&w, local->prologue, sizeof(local->prologue));
	/* "cairn v1" || 0x00 || network name */
	cn_wr_bytes(&w, CN_HANDSHAKE_PROLOGUE_PREFIX, sizeof(CN_HANDSHAKE_PROLOGUE_PREFIX));
	cn_wr_bytes(&w, network, n);
	if (!cn_wr_ok(&w))
		return -CN_EINVAL;
	local->prologue_len = w.len;
	local->id = id;
	mac1_key(local->mac1_key, id->x_pk);
	return 0;
}

void cn_handshake_peer_init(struct cn_handshake_peer *peer, const uint8_t x_pk[static CN_KEY_LEN])
{
	memset(peer, 0, sizeof(*peer));
	memcpy(peer->x_pk, x_pk, CN_KEY_LEN);
}

void cn_handshake_tai64n(uint8_t out[static CN_TAI64N_LEN], uint64_t unix_sec, uint32_t nsec)
{
	struct cn_wr w;

	if (nsec >= NSEC_PER_SEC)
		nsec = NSEC_PER_SEC - 1;
	nsec &= ~(uint32_t)TAI64N_WHITEN_MASK;
	cn_wr_init(&w, out, CN_TAI64N_LEN);
	/* TAI64 label 2^62 + TAI seconds; TAI = UTC + 10 s as in WireGuard */
	cn_wr_u64be(&w, (UINT64_C(1) << 62) + 10 + unix_sec);
	cn_wr_u32be(&w, nsec);
}

void cn_handshake_wipe(struct cn_handshake *hs)
{
	sodium_memzero(hs, sizeof(*hs));
}

int cn_handshake_create_initiation(struct cn_handshake *hs, const struct cn_handshake_local *local,
				   const uint8_t peer_x_pk[static CN_KEY_LEN],
				   uint32_t sender_index, const uint8_t ts[static CN_TAI64N_LEN],
				   const uint8_t *e_sk,
				   uint8_t out[static CN_HANDSHAKE_INITIATION_LEN])
{
	struct cn_handshake t;
	struct cn_wr w;
	uint8_t *p, *mac;
	size_t n = 0;
	int ret;

	memset(&t, 0, sizeof(t));
	ret = cn_noise_init_initiator(&t.noise, local->prologue, local->prologue_len,
				      local->id->x_sk, peer_x_pk);
	if (ret)
		goto out;
	cn_wr_init(&w, out, CN_HANDSHAKE_INITIATION_LEN);
	header_write(&w, CN_MSG_INITIATION);
	cn_wr_u32le(&w, sender_index);
	ret = -CN_EINVAL;
	p = cn_wr_take(&w, INIT_NOISE_LEN);
	mac = cn_wr_take(&w, CN_HANDSHAKE_MAC_LEN);
	if (!cn_wr_ok(&w) || !p || !mac)
		goto out;
	/* -> e, es, s, ss, payload = timestamp */
	ret = cn_noise_write_msg1(&t.noise, e_sk, ts, CN_TAI64N_LEN, p, INIT_NOISE_LEN, &n);
	if (ret)
		goto out;
	cn_handshake_mac1(peer_x_pk, out, CN_HANDSHAKE_INITIATION_LEN - CN_HANDSHAKE_MAC_LEN, mac);
	t.local_index = sender_index;
	cn_handshake_wipe(hs);
	*hs = t;
	ret = 0;
out:
	sodium_memzero(&t, sizeof(t));
	return ret;
}

int cn_handshake_consume_initiation(struct cn_handshake *hs, const struct cn_handshake_local *local,
				    const uint8_t *msg, size_t len, cn_handshake_lookup_fn lookup,
				    void *ctx, struct cn_handshake_peer **peer_out)
{
	struct cn_handshake t;
	struct cn_handshake_peer *peer;
	uint8_t ts[CN_TAI64N_LEN];
	struct cn_rd r;
	const uint8_t *p;
	uint32_t sender;
	size_t n = 0;
	int ret;

	*peer_out = NULL;
	memset(&t, 0, sizeof(t));
	ret = handshake_len(len, CN_HANDSHAKE_INITIATION_LEN);
	if (ret)
		goto out;
	len = CN_HANDSHAKE_INITIATION_LEN; /* mac2, if any, is not ours to check */
	cn_rd_init(&r, msg, len);
	ret = header_read(&r, CN_MSG_INITIATION);
	if (ret)
		goto out;
	sender = cn_rd_u32le(&r);
	p = cn_rd_take(&r, INIT_NOISE_LEN);
	ret = -CN_ESHORT;
	if (!cn_rd_ok(&r) || !p || cn_rd_left(&r) != CN_HANDSHAKE_MAC_LEN)
		goto out;
	ret = -CN_EDECRYPT;
	if (!mac1_ok(local->mac1_key, msg, len))
		goto out;
	ret = cn_noise_init_responder(&t.noise, local->prologue, local->prologue_len,
				      local->id->x_sk);
	if (ret)
		goto out;
	/* -> e, es, s, ss, payload: authenticates the initiator's static key */
	ret = cn_noise_read_msg1(&t.noise, p, INIT_NOISE_LEN, ts, sizeof(ts), &n);
	if (ret)
		goto out;
	ret = -CN_EUNKNOWN;
	peer = lookup(ctx, t.noise.rs);
	if (!peer || !cn_key_equal(peer->x_pk, t.noise.rs))
		goto out;
	/*
	 * Big-endian TAI64N compares as bytes. Not secret: the peer chose it.
	 * Equal is a replay too.
	 */
	ret = -CN_EREPLAY;
	if (n != CN_TAI64N_LEN || memcmp(ts, peer->last_ts, CN_TAI64N_LEN) <= 0)
		goto out;
	/* Everything verified: commit. */
	memcpy(peer->last_ts, ts, CN_TAI64N_LEN);
	t.remote_index = sender;
	t.peer = peer;
	cn_handshake_wipe(hs);
	*hs = t;
	*peer_out = peer;
	ret = 0;
out:
	sodium_memzero(&t, sizeof(t));
	sodium_memzero(ts, sizeof(ts));
	return ret;
}

int cn_handshake_create_response(struct cn_handshake *hs, uint32_t sender_index,
				 const uint8_t *e_sk, uint64_t now_ms,
				 uint8_t out[static CN_HANDSHAKE_RESPONSE_LEN],
				 struct cn_session *session)
{
	struct cn_noise_cipher send, recv;
	struct cn_wr w;
	uint8_t *p, *mac;
	size_t n = 0;
	int ret;

	memset(&send, 0, sizeof(send));
	memset(&recv, 0, sizeof(recv));
	ret = -CN_ESTATE;
	if (hs->noise.state != CN_NOISE_RESPONDER_RECEIVED)
		goto out;
	cn_wr_init(&w, out, CN_HANDSHAKE_RESPONSE_LEN);
	header_write(&w, CN_MSG_RESPONSE);
	cn_wr_u32le(&w, sender_index);
	cn_wr_u32le(&w, hs->remote_index);
	ret = -CN_EINVAL;
	p = cn_wr_take(&w, RESP_NOISE_LEN);
	mac = cn_wr_take(&w, CN_HANDSHAKE_MAC_LEN);
	if (!cn_wr_ok(&w) || !p || !mac)
		goto out;
	/* <- e, ee, se, empty payload */
	ret = cn_noise_write_msg2(&hs->noise, e_sk, NULL, 0, p, RESP_NOISE_LEN, &n);
	if (ret)
		goto out;
	cn_handshake_mac1(hs->noise.rs, out, CN_HANDSHAKE_RESPONSE_LEN - CN_HANDSHAKE_MAC_LEN, mac);
	ret = cn_noise_split(&hs->noise, &send, &recv, NULL);
	if (ret)
		goto out;
	cn_session_init(session, send.k, recv.k, sender_index, hs->remote_index, false, now_ms);
	cn_handshake_wipe(hs);
out:
	cn_noise_cipher_wipe(&send);
	cn_noise_cipher_wipe(&recv);
	return ret;
}

int cn_handshake_consume_response(struct cn_handshake *hs, const uint8_t *msg, size_t len,
				  uint64_t now_ms, struct cn_session *session)
{
	struct cn_noise_cipher send, recv;
	struct cn_noise_hs t;
	uint8_t key[MAC1_KEY_LEN];
	struct cn_rd r;
	const uint8_t *p;
	uint32_t sender, receiver;
	size_t n = 0;
	int ret;

	memset(&send, 0, sizeof(send));
	memset(&recv, 0, sizeof(recv));
	memset(&t, 0, sizeof(t));
	ret = -CN_ESTATE;
	if (hs->noise.state != CN_NOISE_INITIATOR_SENT)
		goto out;
	ret = handshake_len(len, CN_HANDSHAKE_RESPONSE_LEN);
	if (ret)
		goto out;
	len = CN_HANDSHAKE_RESPONSE_LEN;
	cn_rd_init(&r, msg, len);
	ret = header_read(&r, CN_MSG_RESPONSE);
	if (ret)
		goto out;
	sender = cn_rd_u32le(&r);
	receiver = cn_rd_u32le(&r);
	p = cn_rd_take(&r, RESP_NOISE_LEN);
	ret = -CN_ESHORT;
	if (!cn_rd_ok(&r) || !p || cn_rd_left(&r) != CN_HANDSHAKE_MAC_LEN)
		goto out;
	ret = -CN_EUNKNOWN;
	if (receiver != hs->local_index)
		goto out;
	ret = -CN_EDECRYPT;
	mac1_key(key, hs->noise.s_pk);
	if (!mac1_ok(key, msg, len))
		goto out;
	/* <- e, ee, se, empty payload; on a copy so hs survives a forgery */
	t = hs->noise;
	ret = cn_noise_read_msg2(&t, p, RESP_NOISE_LEN, NULL, 0, &n);
	if (ret)
		goto out;
	ret = cn_noise_split(&t, &send, &recv, NULL);
	if (ret)
		goto out;
	cn_session_init(session, send.k, recv.k, hs->local_index, sender, true, now_ms);
	cn_handshake_wipe(hs);
out:
	cn_noise_cipher_wipe(&send);
	cn_noise_cipher_wipe(&recv);
	cn_noise_hs_wipe(&t);
	return ret;
}

int cn_handshake_classify(const uint8_t *msg, size_t len, enum cn_msg_type *type,
			  uint32_t *receiver_index)
{
	struct cn_rd r;
	uint8_t t = len ? msg[0] : 0;

	*receiver_index = 0;
	cn_rd_init(&r, msg, len);
	switch (t) {
	case CN_MSG_INITIATION:
		if (handshake_len(len, CN_HANDSHAKE_INITIATION_LEN) ||
		    header_read(&r, CN_MSG_INITIATION) != 0)
			return -CN_EFORMAT;
		break;
	case CN_MSG_RESPONSE:
		if (handshake_len(len, CN_HANDSHAKE_RESPONSE_LEN) ||
		    header_read(&r, CN_MSG_RESPONSE) != 0)
			return -CN_EFORMAT;
		cn_rd_u32le(&r); /* sender_index */
		*receiver_index = cn_rd_u32le(&r);
		break;
	case CN_MSG_DATA:
		if (len < CN_SESSION_OVERHEAD || header_read(&r, CN_MSG_DATA) != 0)
			return -CN_EFORMAT;
		*receiver_index = cn_rd_u32le(&r);
		break;
	default:
		return -CN_EFORMAT;
	}
	*type = (enum cn_msg_type)t;
	return 0;
}
