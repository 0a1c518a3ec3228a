/* SPDX-License-Identifier: MIT */
/*
 * The peer list's signature (peerlist.h): an Ed25519 signature by the
 * network's root key over the exact bytes of the body, in a last line.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/peerlist.h"

#include "common/cfg_guard.h"

#define SIG_MARK "cairn-signature:"

enum {
	SIG_PREFIX_LEN = sizeof(CN_PEERLIST_SIG_PREFIX) - 1,
	SIG_MARK_LEN = sizeof(SIG_MARK) - 1,
	CONTEXT_LEN = sizeof(CN_PEERLIST_SIG_CONTEXT), /* with its NUL, on purpose */
};

_Static_assert(CN_PEERLIST_SIG_LINE_LEN == 27 + 88 + 1, "signature line layout");

/* CN_PEERLIST_SIG_CONTEXT, its NUL, then body: the bytes Ed25519 signs. */
static uint8_t *signed_message(const uint8_t *body, size_t len)
{
	uint8_t *msg = malloc(CONTEXT_LEN + len);

	if (!msg)
		return NULL;
	memcpy(msg, CN_PEERLIST_SIG_CONTEXT, CONTEXT_LEN);
	if (len)
		memcpy(msg + CONTEXT_LEN, body, len);
	return msg;
}

int cn_peerlist_verify(const uint8_t *buf, size_t len, const uint8_t root_pk[static CN_KEY_LEN],
		       size_t *body_len, struct cn_errbuf *e)
{
	uint8_t sig[CN_SIG_LEN];
	uint8_t *msg = NULL;
	const uint8_t *mark, *b64, *nl;
	const char *b64_end = NULL;
	size_t start, sig_bin_len = 0;
	unsigned long line;
	int ret = -CN_ESIG;

	if (body_len)
		*body_len = 0;
	if (!buf || !root_pk || !body_len)
		return cn_cfg_fail(e, 0, -CN_EINVAL, "peer list verify: missing argument");
	if (len > CN_PEERLIST_MAX_BYTES)
		return cn_cfg_fail(e, 0, -CN_ETOOBIG, "peer list is %zu bytes; the limit is %d",
				   len, CN_PEERLIST_MAX_BYTES);
	mark = memmem(buf, len, SIG_MARK, SIG_MARK_LEN);
	if (!mark) {
		cn_cfg_fail(e, 0, ret, "no signature line (the last line must be '%s<signature>')",
			    CN_PEERLIST_SIG_PREFIX);
		goto out;
	}
	start = (size_t)(mark - buf);
	while (start > 0 && buf[start - 1] != '\n')
		start--;
	line = cn_cfg_line_at(buf, start);
	nl = memmem(mark + 1, len - (size_t)(mark + 1 - buf), SIG_MARK, SIG_MARK_LEN);
	if (nl) {
		cn_cfg_fail(
			e, cn_cfg_line_at(buf, (size_t)(nl - buf)), ret,
			"'%s' appears again (first on line %lu); a list has one signature line, "
			"the last",
			SIG_MARK, line);
		goto out;
	}
	if (len - start < SIG_PREFIX_LEN ||
	    memcmp(buf + start, CN_PEERLIST_SIG_PREFIX, SIG_PREFIX_LEN) != 0) {
		cn_cfg_fail(e, line, ret, "malformed signature line (must start with '%s')",
			    CN_PEERLIST_SIG_PREFIX);
		goto out;
	}
	if (start == 0) {
		cn_cfg_fail(e, line, ret, "signature line with no text before it");
		goto out;
	}
	b64 = buf + start + SIG_PREFIX_LEN;
	nl = memchr(b64, '\n', len - start - SIG_PREFIX_LEN);
	if (!nl) {
		cn_cfg_fail(e, line, ret, "signature line does not end with a newline");
		goto out;
	}
	if (nl - b64 != CN_SIG_TEXT_LEN) {
		cn_cfg_fail(e, line, ret, "signature is %zu characters; expected %d of base64",
			    (size_t)(nl - b64), CN_SIG_TEXT_LEN);
		goto out;
	}
	if ((size_t)(nl + 1 - buf) != len) {
		cn_cfg_fail(e, line, ret,
			    "%zu bytes follow the signature line; it must be the last line",
			    len - (size_t)(nl + 1 - buf));
		goto out;
	}
	/* libsodium checks padding and unused bits; b64_alphabet the characters. */
	if (!cn_b64_canonical((const char *)b64, CN_SIG_TEXT_LEN) ||
	    sodium_base642bin(sig, sizeof(sig), (const char *)b64, CN_SIG_TEXT_LEN, NULL,
			      &sig_bin_len, &b64_end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    sig_bin_len != CN_SIG_LEN || b64_end != (const char *)b64 + CN_SIG_TEXT_LEN) {
		cn_cfg_fail(e, line, ret, "signature is not valid base64");
		goto out;
	}
	msg = signed_message(buf, start);
	if (!msg) {
		ret = cn_cfg_fail(e, 0, -CN_ENOMEM,
				  "out of memory checking the peer list signature");
		goto out;
	}
	if (cn_sig_verify(root_pk, msg, CONTEXT_LEN + start, sig) != 0) {
		cn_cfg_fail(
			e, line, ret,
			"signature does not match the network root key (list altered, or signed "
			"by another key)");
		goto out;
	}
	*body_len = start;
	ret = 0;
out:
	free(msg);
	return ret;
}

int cn_peerlist_sign(const uint8_t *body, size_t len, const struct cn_identity *root, char **out,
		     size_t *out_len, struct cn_errbuf *e)
{
	uint8_t sig[CN_SIG_LEN];
	uint8_t *msg = NULL;
	const uint8_t *mark;
	char *text = NULL;
	int ret;

	if (out)
		*out = NULL;
	if (out_len)
		*out_len = 0;
	if (!body || !root || !out || !out_len)
		return cn_cfg_fail(e, 0, -CN_EINVAL, "peer list sign: missing argument");
	if (len == 0 || body[len - 1] != '\n')
		return cn_cfg_fail(e, 0, -CN_EFORMAT, "text to sign must end with a newline");
	if (len > CN_PEERLIST_MAX_BYTES - CN_PEERLIST_SIG_LINE_LEN)
		return cn_cfg_fail(e, 0, -CN_ETOOBIG,
				   "peer list is %zu bytes; signed, the limit is %d", len,
				   CN_PEERLIST_MAX_BYTES - CN_PEERLIST_SIG_LINE_LEN);
	mark = memmem(body, len, SIG_MARK, SIG_MARK_LEN);
	if (mark)
		return cn_cfg_fail(e, cn_cfg_line_at(body, (size_t)(mark - body)), -CN_EFORMAT,
				   "text to sign already holds '%s'", SIG_MARK);
	ret = -CN_ENOMEM;
	msg = signed_message(body, len);
	text = malloc(len + CN_PEERLIST_SIG_LINE_LEN + 1);
	if (!msg || !text) {
		cn_cfg_fail(e, 0, ret, "out of memory signing the peer list");
		goto out;
	}
	ret = cn_identity_sign(root, msg, CONTEXT_LEN + len, sig);
	if (ret) {
		cn_cfg_fail(e, 0, ret, "cannot sign with the root key");
		goto out;
	}
	memcpy(text, body, len);
	memcpy(text + len, CN_PEERLIST_SIG_PREFIX, SIG_PREFIX_LEN);
	sodium_bin2base64(text + len + SIG_PREFIX_LEN, CN_SIG_TEXT_LEN + 1, sig, sizeof(sig),
			  sodium_base64_VARIANT_ORIGINAL);
	text[len + CN_PEERLIST_SIG_LINE_LEN - 1] = '\n';
	text[len + CN_PEERLIST_SIG_LINE_LEN] = '\0';
	*out = text;
	*out_len = len + CN_PEERLIST_SIG_LINE_LEN;
	text = NULL;
	ret = 0;
out:
	free(msg);
	free(text);
	return ret;
}
