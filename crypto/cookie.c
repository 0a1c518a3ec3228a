/* SPDX-License-Identifier: MIT */
/*
 * Cookies and mac2 (cookie.h, docs/PROTOCOL.md section 7). Pure.
 *
 * Attacker model: anyone sends any bytes from any source address, and may
 * see (but not stop) some of our traffic. What a forged source buys: under
 * load, nothing beyond one hash and a 64-byte reply to that (forged)
 * address, smaller than what it sent. A reply is authenticated by the mac1
 * of our own last message, so an attacker who did not see that message
 * cannot plant a cookie; one who did (on path) can only make our next
 * message carry a wrong mac2, which costs a round trip.
 */
#include "crypto/cookie.h"

#include <netinet/in.h>
#include <sodium.h>
#include <string.h>

#include "common/bytes.h"
#include "common/err.h"

enum {
	REPLY_KEY_LEN = 32,
	ADDR_INPUT_LEN = 16 + 2, /* addr16 || port16be */
	REPLY_SEALED_LEN = CN_COOKIE_LEN + crypto_aead_xchacha20poly1305_ietf_ABYTES,
	LOAD_WINDOW_MS = 1000,
};

_Static_assert(CN_COOKIE_NONCE_LEN == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, "nonce");
_Static_assert(REPLY_KEY_LEN == crypto_aead_xchacha20poly1305_ietf_KEYBYTES, "reply key");
_Static_assert(CN_COOKIE_REPLY_LEN == 8 + CN_COOKIE_NONCE_LEN + REPLY_SEALED_LEN, "layout");
_Static_assert(CN_COOKIE_LEN >= crypto_generichash_KEYBYTES_MIN, "mac2 key");
_Static_assert(CN_COOKIE_SECRET_LEN <= crypto_generichash_KEYBYTES_MAX, "cookie key");
_Static_assert((int)CN_HANDSHAKE_MAC_LEN == (int)CN_COOKIE_LEN, "mac2 is as long as mac1");

/* reply_key(pk) = BLAKE2b-256(label || pk) */
static void reply_key(uint8_t key[static REPLY_KEY_LEN], const uint8_t pk[static CN_KEY_LEN])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, REPLY_KEY_LEN);
	crypto_generichash_update(&st, (const uint8_t *)CN_COOKIE_LABEL,
				  sizeof(CN_COOKIE_LABEL) - 1);
	crypto_generichash_update(&st, pk, CN_KEY_LEN);
	crypto_generichash_final(&st, key, REPLY_KEY_LEN);
}

/*
 * Where a handshake message's macs are: *base is its length without mac2
 * (mac1 is the 16 bytes before base), *has_mac2 whether mac2 follows.
 * -CN_EFORMAT for any other type, length or reserved bytes.
 */
static int layout(const uint8_t *msg, size_t len, size_t *base, bool *has_mac2)
{
	size_t b;

	if (len < 4 || (msg[1] | msg[2] | msg[3]) != 0)
		return -CN_EFORMAT;
	if (msg[0] == CN_MSG_INITIATION)
		b = CN_HANDSHAKE_INITIATION_LEN;
	else if (msg[0] == CN_MSG_RESPONSE)
		b = CN_HANDSHAKE_RESPONSE_LEN;
	else
		return -CN_EFORMAT;
	if (len != b && len != b + CN_HANDSHAKE_MAC_LEN)
		return -CN_EFORMAT;
	*base = b;
	*has_mac2 = len != b;
	return 0;
}

/* addr16 || port16be; -CN_EINVAL for a family without one. */
static int addr_input(const struct sockaddr *sa, uint8_t out[static ADDR_INPUT_LEN])
{
	memset(out, 0, ADDR_INPUT_LEN);
	if (sa && sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		out[10] = 0xff;
		out[11] = 0xff;
		memcpy(out + 12, &s4->sin_addr, 4);
		memcpy(out + 16, &s4->sin_port, 2); /* network order already */
		return 0;
	}
	if (sa && sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		memcpy(out, &s6->sin6_addr, 16);
		memcpy(out + 16, &s6->sin6_port, 2);
		return 0;
	}
	return -CN_EINVAL;
}

/* cookie(src) under the current secret, replacing it first when it is too old. */
static int make_cookie(struct cn_cookie_checker *ck, const struct sockaddr *src, uint64_t now,
		       uint8_t cookie[static CN_COOKIE_LEN])
{
	uint8_t in[ADDR_INPUT_LEN];

	if (addr_input(src, in))
		return -CN_EINVAL;
	if (!ck->have_secret ||
	    (now >= ck->secret_ms && now - ck->secret_ms >= CN_COOKIE_SECRET_AGE_MS)) {
		randombytes_buf(ck->secret, sizeof(ck->secret));
		ck->secret_ms = now;
		ck->have_secret = true;
	}
	crypto_generichash(cookie, CN_COOKIE_LEN, in, sizeof(in), ck->secret, sizeof(ck->secret));
	return 0;
}

/* mac2 = BLAKE2b-128(key = cookie, msg[0..base)) */
static void mac2_of(const uint8_t cookie[static CN_COOKIE_LEN], const uint8_t *msg, size_t base,
		    uint8_t mac[static CN_HANDSHAKE_MAC_LEN])
{
	crypto_generichash(mac, CN_HANDSHAKE_MAC_LEN, msg, base, cookie, CN_COOKIE_LEN);
}

void cn_cookie_checker_init(struct cn_cookie_checker *ck, const uint8_t x_pk[static CN_KEY_LEN])
{
	memset(ck, 0, sizeof(*ck));
	memcpy(ck->x_pk, x_pk, CN_KEY_LEN);
	reply_key(ck->reply_key, x_pk);
}

void cn_cookie_checker_wipe(struct cn_cookie_checker *ck)
{
	sodium_memzero(ck, sizeof(*ck));
}

enum cn_cookie_verdict cn_cookie_check(struct cn_cookie_checker *ck, const uint8_t *msg, size_t len,
				       const struct sockaddr *src, bool under_load, uint64_t now)
{
	uint8_t want[CN_HANDSHAKE_MAC_LEN], cookie[CN_COOKIE_LEN];
	enum cn_cookie_verdict v = CN_COOKIE_DROP;
	bool has_mac2;
	size_t base;

	if (layout(msg, len, &base, &has_mac2))
		goto out;
	cn_handshake_mac1(ck->x_pk, msg, base - CN_HANDSHAKE_MAC_LEN, want);
	if (crypto_verify_16(want, msg + base - CN_HANDSHAKE_MAC_LEN) != 0)
		goto out;
	v = CN_COOKIE_OK;
	if (!under_load)
		goto out;
	v = CN_COOKIE_DROP;
	if (make_cookie(ck, src, now, cookie))
		goto out;
	v = CN_COOKIE_SEND_REPLY;
	if (!has_mac2)
		goto out;
	mac2_of(cookie, msg, base, want);
	if (crypto_verify_16(want, msg + base) == 0)
		v = CN_COOKIE_OK;
out:
	sodium_memzero(cookie, sizeof(cookie));
	return v;
}

int cn_cookie_reply_create(struct cn_cookie_checker *ck, const uint8_t *msg, size_t len,
			   const struct sockaddr *src, uint64_t now,
			   uint8_t out[static CN_COOKIE_REPLY_LEN])
{
	uint8_t cookie[CN_COOKIE_LEN];
	uint8_t *nonce, *sealed;
	unsigned long long sealed_len = 0;
	struct cn_rd r;
	struct cn_wr w;
	uint32_t sender;
	bool has_mac2;
	size_t base;
	int ret;

	memset(cookie, 0, sizeof(cookie));
	ret = layout(msg, len, &base, &has_mac2);
	if (ret)
		goto out;
	cn_rd_init(&r, msg + 4, 4);
	sender = cn_rd_u32le(&r);
	ret = make_cookie(ck, src, now, cookie);
	if (ret)
		goto out;
	cn_wr_init(&w, out, CN_COOKIE_REPLY_LEN);
	cn_wr_u32be(&w, (uint32_t)CN_MSG_COOKIE_REPLY << 24); /* type || 3 zero bytes */
	cn_wr_u32le(&w, sender);
	nonce = cn_wr_take(&w, CN_COOKIE_NONCE_LEN);
	sealed = cn_wr_take(&w, REPLY_SEALED_LEN);
	ret = -CN_EINVAL;
	if (!cn_wr_ok(&w) || !nonce || !sealed)
		goto out;
	randombytes_buf(nonce, CN_COOKIE_NONCE_LEN);
	/* AD: the mac1 of the message answered, which only its sender (and its path) saw. */
	crypto_aead_xchacha20poly1305_ietf_encrypt(
		sealed, &sealed_len, cookie, CN_COOKIE_LEN, msg + base - CN_HANDSHAKE_MAC_LEN,
		CN_HANDSHAKE_MAC_LEN, NULL, nonce, ck->reply_key);
	ret = sealed_len == REPLY_SEALED_LEN ? 0 : -CN_EINVAL;
out:
	sodium_memzero(cookie, sizeof(cookie));
	return ret;
}

int cn_cookie_reply_classify(const uint8_t *msg, size_t len, uint32_t *receiver_index)
{
	struct cn_rd r;
	uint32_t hdr;

	*receiver_index = 0;
	if (len != CN_COOKIE_REPLY_LEN)
		return -CN_EFORMAT;
	cn_rd_init(&r, msg, len);
	hdr = cn_rd_u32be(&r);
	if (hdr != (uint32_t)CN_MSG_COOKIE_REPLY << 24)
		return -CN_EFORMAT;
	*receiver_index = cn_rd_u32le(&r);
	return 0;
}

void cn_cookie_jar_init(struct cn_cookie_jar *jar, const uint8_t peer_x_pk[static CN_KEY_LEN])
{
	memset(jar, 0, sizeof(*jar));
	reply_key(jar->reply_key, peer_x_pk);
}

void cn_cookie_jar_wipe(struct cn_cookie_jar *jar)
{
	sodium_memzero(jar, sizeof(*jar));
}

size_t cn_cookie_jar_stamp(struct cn_cookie_jar *jar, uint8_t *msg, size_t len, size_t cap,
			   uint64_t now)
{
	struct cn_rd r;
	bool has_mac2;
	size_t base;

	if (layout(msg, len, &base, &has_mac2) || has_mac2)
		return len;
	memcpy(jar->last_mac1, msg + base - CN_HANDSHAKE_MAC_LEN, CN_HANDSHAKE_MAC_LEN);
	cn_rd_init(&r, msg + 4, 4);
	jar->last_index = cn_rd_u32le(&r);
	jar->have_sent = true;
	if (!jar->have_cookie || cap < base + CN_HANDSHAKE_MAC_LEN || now < jar->cookie_ms ||
	    now - jar->cookie_ms >= CN_COOKIE_SECRET_AGE_MS - CN_COOKIE_LATENCY_MS)
		return len;
	mac2_of(jar->cookie, msg, base, msg + base);
	return base + CN_HANDSHAKE_MAC_LEN;
}

int cn_cookie_consume_reply(struct cn_cookie_jar *jar, const uint8_t *msg, size_t len, uint64_t now)
{
	uint8_t cookie[CN_COOKIE_LEN];
	unsigned long long n = 0;
	uint32_t receiver;
	int ret;

	memset(cookie, 0, sizeof(cookie));
	ret = cn_cookie_reply_classify(msg, len, &receiver);
	if (ret)
		goto out;
	ret = -CN_ESTATE;
	if (!jar->have_sent)
		goto out;
	ret = -CN_EUNKNOWN;
	if (receiver != jar->last_index)
		goto out;
	ret = -CN_EDECRYPT;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(
		    cookie, &n, NULL, msg + 8 + CN_COOKIE_NONCE_LEN, REPLY_SEALED_LEN,
		    jar->last_mac1, CN_HANDSHAKE_MAC_LEN, msg + 8, jar->reply_key) != 0 ||
	    n != CN_COOKIE_LEN)
		goto out;
	memcpy(jar->cookie, cookie, CN_COOKIE_LEN);
	jar->cookie_ms = now;
	jar->have_cookie = true;
	/* One reply per message sent: a copy of this one changes nothing. */
	jar->have_sent = false;
	ret = 0;
out:
	sodium_memzero(cookie, sizeof(cookie));
	return ret;
}

bool cn_cookie_under_load(const struct cn_cookie_load *load, uint64_t now)
{
	return now < load->until_ms;
}

void cn_cookie_load_note(struct cn_cookie_load *load, uint64_t now)
{
	uint32_t threshold = load->threshold ? load->threshold : CN_COOKIE_LOAD_DEFAULT;

	if (now < load->window_ms || now - load->window_ms >= LOAD_WINDOW_MS) {
		load->window_ms = now;
		load->count = 0;
	}
	if (load->count < UINT32_MAX)
		load->count++;
	if (load->count > threshold)
		load->until_ms = now + LOAD_WINDOW_MS;
}
