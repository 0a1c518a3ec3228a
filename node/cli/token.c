/* SPDX-License-Identifier: MIT */
/*
 * Enrolment token codec (token.h has the format). Pure: bytes in, bytes
 * out. Encoding refuses what decoding would refuse, so a token the admin
 * was shown always parses on the board.
 */
#include "node/cli/token.h"

#include <string.h>

#include <sodium.h>

#include "common/bytes.h"
#include "common/err.h"
#include "crypto/peerlist.h"

_Static_assert(sizeof(CN_TOKEN_PREFIX) - 1 == 7, "CN_TOKEN_TEXT_MAX counts a 7-byte prefix");
_Static_assert((int)CN_TOKEN_NAME_MAX == (int)CN_NAME_MAX, "token names are peer-list names");
_Static_assert((int)CN_TOKEN_HOST_MAX == (int)CN_HOST_MAX, "token hosts are peer-list hosts");

/* Host text as the peer list may hold it: IP literal, DNS or SRV name. */
static bool host_valid(const char *h, size_t n)
{
	if (n == 0 || n > CN_TOKEN_HOST_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = h[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '-' || c == '_' || c == ':'))
			return false;
	}
	return true;
}

static bool key_valid(const uint8_t k[static CN_KEY_LEN])
{
	uint8_t x[CN_KEY_LEN];

	return cn_key_ed_to_x(k, x) == 0;
}

static bool name_ok(const char *s)
{
	return strlen(s) <= CN_TOKEN_NAME_MAX && cn_peerlist_name_valid(s);
}

static bool token_valid(const struct cn_token *t)
{
	if (!name_ok(t->network) || !key_valid(t->root_key) || t->serial == 0 ||
	    t->serial > INT64_MAX || t->nrelays == 0 || t->nrelays > CN_TOKEN_MAX_RELAYS)
		return false;
	for (size_t i = 0; i < t->nrelays; i++) {
		const struct cn_token_relay *r = &t->relays[i];

		if (!name_ok(r->name) || !key_valid(r->key) ||
		    !host_valid(r->host, strnlen(r->host, sizeof(r->host))) ||
		    strnlen(r->host, sizeof(r->host)) == sizeof(r->host) || r->port == 0)
			return false;
	}
	return true;
}

static void check_of(const uint8_t *p, size_t n, uint8_t out[CN_TOKEN_CHECK_LEN])
{
	uint8_t h[32];

	crypto_generichash(h, sizeof(h), p, n, NULL, 0);
	memcpy(out, h, CN_TOKEN_CHECK_LEN);
}

static bool wr_str(struct cn_wr *w, const char *s)
{
	size_t n = strlen(s);

	return cn_wr_u8(w, (uint8_t)n) && cn_wr_bytes(w, s, n);
}

int cn_token_encode(const struct cn_token *t, char *out, size_t cap)
{
	uint8_t bin[CN_TOKEN_BIN_MAX];
	struct cn_wr w;
	size_t n, need;

	if (cap)
		out[0] = '\0';
	if (!token_valid(t))
		return -CN_EINVAL;
	cn_wr_init(&w, bin, sizeof(bin));
	wr_str(&w, t->network);
	cn_wr_bytes(&w, t->root_key, CN_KEY_LEN);
	cn_wr_u64be(&w, t->serial);
	cn_wr_u8(&w, (uint8_t)t->nrelays);
	for (size_t i = 0; i < t->nrelays; i++) {
		wr_str(&w, t->relays[i].name);
		cn_wr_bytes(&w, t->relays[i].key, CN_KEY_LEN);
		wr_str(&w, t->relays[i].host);
		cn_wr_u16be(&w, t->relays[i].port);
	}
	if (!cn_wr_ok(&w) || w.n < CN_TOKEN_CHECK_LEN)
		return -CN_EINVAL; /* cannot happen: BIN_MAX holds every valid token */
	n = w.len;
	check_of(bin, n, bin + n);
	n += CN_TOKEN_CHECK_LEN;
	need = sizeof(CN_TOKEN_PREFIX) - 1 +
	       sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	if (cap < need)
		return -CN_ETOOBIG;
	memcpy(out, CN_TOKEN_PREFIX, sizeof(CN_TOKEN_PREFIX) - 1);
	sodium_bin2base64(out + sizeof(CN_TOKEN_PREFIX) - 1, cap - (sizeof(CN_TOKEN_PREFIX) - 1),
			  bin, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return 0;
}

/* A length-prefixed string of 1..max bytes into out (NUL-terminated). */
static bool rd_str(struct cn_rd *r, char *out, size_t max)
{
	size_t n = cn_rd_u8(r);
	const uint8_t *p;

	if (!cn_rd_ok(r) || n == 0 || n > max)
		return false;
	p = cn_rd_take(r, n);
	if (!p || memchr(p, '\0', n))
		return false;
	memcpy(out, p, n);
	out[n] = '\0';
	return true;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int cn_token_decode(const char *text, size_t len, struct cn_token *out)
{
	const size_t plen = sizeof(CN_TOKEN_PREFIX) - 1;
	uint8_t bin[CN_TOKEN_BIN_MAX], check[CN_TOKEN_CHECK_LEN];
	struct cn_token t;
	struct cn_rd r;
	size_t n = 0, body;
	const char *end;
	int ret = -CN_EFORMAT;

	memset(out, 0, sizeof(*out));
	memset(&t, 0, sizeof(t));
	while (len && is_space(text[0]))
		text++, len--;
	while (len && is_space(text[len - 1]))
		len--;
	if (len < plen || memcmp(text, CN_TOKEN_PREFIX, plen) != 0)
		return -CN_EFORMAT;
	text += plen;
	len -= plen;
	if (len > CN_TOKEN_TEXT_MAX)
		return -CN_ETOOBIG;
	if (sodium_base642bin(bin, sizeof(bin), text, len, NULL, &n, &end,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    end != text + len)
		return -CN_EFORMAT;
	if (n < CN_TOKEN_CHECK_LEN)
		return -CN_ESHORT;
	body = n - CN_TOKEN_CHECK_LEN;
	check_of(bin, body, check);
	if (sodium_memcmp(check, bin + body, CN_TOKEN_CHECK_LEN) != 0)
		return -CN_EDECRYPT;

	cn_rd_init(&r, bin, body);
	if (!rd_str(&r, t.network, CN_TOKEN_NAME_MAX) || !cn_rd_bytes(&r, t.root_key, CN_KEY_LEN))
		goto short_or_bad;
	t.serial = cn_rd_u64be(&r);
	t.nrelays = cn_rd_u8(&r);
	if (!cn_rd_ok(&r))
		goto short_or_bad;
	if (t.nrelays == 0 || t.nrelays > CN_TOKEN_MAX_RELAYS)
		goto out;
	for (size_t i = 0; i < t.nrelays; i++) {
		struct cn_token_relay *rl = &t.relays[i];

		if (!rd_str(&r, rl->name, CN_TOKEN_NAME_MAX) ||
		    !cn_rd_bytes(&r, rl->key, CN_KEY_LEN) ||
		    !rd_str(&r, rl->host, CN_TOKEN_HOST_MAX))
			goto short_or_bad;
		rl->port = cn_rd_u16be(&r);
		if (!cn_rd_ok(&r))
			goto short_or_bad;
	}
	if (cn_rd_left(&r) != 0 || !token_valid(&t))
		goto out;
	*out = t;
	ret = 0;
	goto out;
short_or_bad:
	ret = cn_rd_ok(&r) ? -CN_EFORMAT : -CN_ESHORT;
out:
	return ret;
}
