/* SPDX-License-Identifier: MIT */
/*
 * The deploy manifest codec and its signature (manifest.h). Pure: bytes in,
 * bytes out; the caller reads files and clocks.
 */
#include "deploy/manifest.h"

#include <string.h>

#include <sodium.h>

#include "common/bytes.h"

enum {
	CONTEXT_LEN = sizeof(CN_DEPLOY_MANIFEST_CONTEXT), /* with its NUL */
	SIGNED_MAX = CONTEXT_LEN + CN_DEPLOY_MANIFEST_MAX - CN_SIG_LEN,
};

bool cn_deploy_app_valid(const char *s)
{
	size_t n = strnlen(s, CN_DEPLOY_APP_MAX + 1);

	if (n == 0 || n > CN_DEPLOY_APP_MAX || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

bool cn_deploy_version_valid(const char *s)
{
	size_t n = strnlen(s, CN_DEPLOY_VERSION_MAX + 1);

	if (n == 0 || n > CN_DEPLOY_VERSION_MAX || s[0] == '.' || s[0] == '-')
		return false;
	/* Names the store uses beside the versions of an app. */
	if (!strcmp(s, "current") || (n >= 4 && !strcmp(s + n - 4, ".tmp")))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '+' || c == '-'))
			return false;
	}
	return true;
}

static bool fields_valid(const struct cn_deploy_manifest *m)
{
	return cn_deploy_app_valid(m->app) && cn_deploy_version_valid(m->version) && m->size > 0 &&
	       m->size <= CN_DEPLOY_SIZE_MAX && m->time > 0;
}

/* The body: every field but the signature. */
static int encode_body(const struct cn_deploy_manifest *m, const uint8_t key[static CN_KEY_LEN],
		       struct cn_wr *w)
{
	size_t an = strlen(m->app), vn = strlen(m->version);

	cn_wr_u8(w, CN_DEPLOY_MANIFEST_FORMAT);
	cn_wr_u8(w, (uint8_t)an);
	cn_wr_bytes(w, m->app, an);
	cn_wr_u8(w, (uint8_t)vn);
	cn_wr_bytes(w, m->version, vn);
	cn_wr_u64be(w, m->size);
	cn_wr_bytes(w, m->hash, CN_DEPLOY_HASH_LEN);
	cn_wr_u64be(w, (uint64_t)m->time);
	cn_wr_bytes(w, key, CN_KEY_LEN);
	return cn_wr_ok(w) ? 0 : -CN_ETOOBIG;
}

int cn_deploy_manifest_sign(const struct cn_deploy_manifest *m, const struct cn_identity *id,
			    uint8_t *out, size_t cap, size_t *len)
{
	uint8_t msg[SIGNED_MAX];
	struct cn_wr w;
	int ret;

	*len = 0;
	if (!fields_valid(m))
		return -CN_EINVAL;
	cn_wr_init(&w, out, cap);
	ret = encode_body(m, id->ed_pk, &w);
	if (ret)
		return ret;
	if (w.n < CN_SIG_LEN)
		return -CN_ETOOBIG;
	memcpy(msg, CN_DEPLOY_MANIFEST_CONTEXT, CONTEXT_LEN);
	memcpy(msg + CONTEXT_LEN, out, w.len);
	ret = cn_identity_sign(id, msg, CONTEXT_LEN + w.len, out + w.len);
	if (ret)
		return ret;
	*len = w.len + CN_SIG_LEN;
	return 0;
}

static bool rd_string(struct cn_rd *r, char *out, size_t max)
{
	size_t n = cn_rd_u8(r);

	if (!cn_rd_ok(r) || n == 0 || n > max)
		return false;
	if (!cn_rd_bytes(r, out, n))
		return false;
	out[n] = '\0';
	/* An embedded NUL would make the string shorter than its length. */
	return strlen(out) == n;
}

int cn_deploy_manifest_decode(const uint8_t *buf, size_t len, struct cn_deploy_manifest *m)
{
	struct cn_rd r;

	memset(m, 0, sizeof(*m));
	if (len < CN_DEPLOY_MANIFEST_FIXED + 2)
		return -CN_ESHORT;
	if (len > CN_DEPLOY_MANIFEST_MAX)
		return -CN_EFORMAT;
	cn_rd_init(&r, buf, len);
	if (cn_rd_u8(&r) != CN_DEPLOY_MANIFEST_FORMAT)
		goto bad;
	if (!rd_string(&r, m->app, CN_DEPLOY_APP_MAX) ||
	    !rd_string(&r, m->version, CN_DEPLOY_VERSION_MAX))
		goto bad;
	m->size = cn_rd_u64be(&r);
	cn_rd_bytes(&r, m->hash, CN_DEPLOY_HASH_LEN);
	m->time = (int64_t)cn_rd_u64be(&r);
	cn_rd_bytes(&r, m->key, CN_KEY_LEN);
	if (!cn_rd_take(&r, CN_SIG_LEN))
		goto short_;
	if (cn_rd_left(&r) != 0 || !fields_valid(m))
		goto bad;
	return 0;
short_:
	memset(m, 0, sizeof(*m));
	return -CN_ESHORT;
bad:
	memset(m, 0, sizeof(*m));
	return -CN_EFORMAT;
}

int cn_deploy_manifest_verify(const uint8_t *buf, size_t len, const uint8_t pk[static CN_KEY_LEN],
			      struct cn_deploy_manifest *m)
{
	uint8_t msg[SIGNED_MAX];
	size_t body;
	int ret;

	ret = cn_deploy_manifest_decode(buf, len, m);
	if (ret)
		return ret;
	ret = -CN_ESIG;
	if (!cn_key_equal(m->key, pk))
		goto out;
	body = len - CN_SIG_LEN;
	memcpy(msg, CN_DEPLOY_MANIFEST_CONTEXT, CONTEXT_LEN);
	memcpy(msg + CONTEXT_LEN, buf, body);
	if (cn_sig_verify(pk, msg, CONTEXT_LEN + body, buf + body) != 0)
		goto out;
	ret = 0;
out:
	if (ret)
		memset(m, 0, sizeof(*m));
	return ret;
}

void cn_deploy_hash_hex(const uint8_t hash[static CN_DEPLOY_HASH_LEN],
			char out[static CN_DEPLOY_HASH_HEX_LEN + 1])
{
	sodium_bin2hex(out, CN_DEPLOY_HASH_HEX_LEN + 1, hash, CN_DEPLOY_HASH_LEN);
}
