/* SPDX-License-Identifier: MIT */
/*
 * The enrolment token `cairn invite` prints and `cairn join` reads: what a
 * new node needs to find its network and trust it, and nothing secret (a
 * token seen by anyone else lets them join nothing: only a key the admin
 * put in the signed list can authenticate to a relay).
 *
 * Text: "cairn1:" then base64url without padding (RFC 4648 section 5) of
 *
 *   u8  nlen, network name (nlen bytes, a peer-list name)
 *   32  root public key (Ed25519)
 *   u64be serial: the list the admin signed for this node; join refuses older
 *   u8  nrelays (1..CN_TOKEN_MAX_RELAYS), then per relay:
 *       u8 namelen, name | 32 key | u8 hostlen, host | u16be port
 *   4   check: the first 4 bytes of BLAKE2b-256 over everything before it
 *
 * The check catches a token cut short or mistyped in a copy (a wrong root
 * key would otherwise only show as "signature does not match" later); it is
 * not a security measure. Pure: no I/O.
 */
#ifndef CN_NODE_CLI_TOKEN_H
#define CN_NODE_CLI_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/keys.h"

#define CN_TOKEN_PREFIX "cairn1:"

enum {
	CN_TOKEN_MAX_RELAYS = 4,
	CN_TOKEN_NAME_MAX = 63,
	CN_TOKEN_HOST_MAX = 253,
	CN_TOKEN_CHECK_LEN = 4,
	/* Largest binary: all fields at their caps. */
	CN_TOKEN_BIN_MAX = 1 + CN_TOKEN_NAME_MAX + CN_KEY_LEN + 8 + 1 +
			   CN_TOKEN_MAX_RELAYS * (1 + CN_TOKEN_NAME_MAX + CN_KEY_LEN + 1 +
						  CN_TOKEN_HOST_MAX + 2) +
			   CN_TOKEN_CHECK_LEN,
	/* Its text, NUL included: prefix + ceil(4/3 * BIN_MAX) + 1. */
	CN_TOKEN_TEXT_MAX = 7 + (CN_TOKEN_BIN_MAX * 4 + 2) / 3 + 1,
};

struct cn_token_relay {
	char name[CN_TOKEN_NAME_MAX + 1];
	uint8_t key[CN_KEY_LEN];
	char host[CN_TOKEN_HOST_MAX + 1];
	uint16_t port;
};

struct cn_token {
	char network[CN_TOKEN_NAME_MAX + 1];
	uint8_t root_key[CN_KEY_LEN];
	uint64_t serial;
	struct cn_token_relay relays[CN_TOKEN_MAX_RELAYS];
	size_t nrelays;
};

/*
 * Writes t as NUL-terminated text into out (cap bytes; CN_TOKEN_TEXT_MAX is
 * always enough). -CN_EINVAL when a field breaks the rules decode checks
 * (so every encoded token decodes), -CN_ETOOBIG when cap is short.
 */
int cn_token_encode(const struct cn_token *t, char *out, size_t cap);

/*
 * Parses len bytes of text (surrounding spaces and newlines are ignored).
 * -CN_EFORMAT: wrong prefix, bad base64, a field out of its rules, trailing
 * bytes; -CN_ESHORT: cut short; -CN_EDECRYPT: the check does not match;
 * -CN_ETOOBIG: longer than any token. *out is zeroed first and complete
 * only on 0.
 */
int cn_token_decode(const char *text, size_t len, struct cn_token *out);

#endif
