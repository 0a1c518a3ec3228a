/* SPDX-License-Identifier: MIT */
/*
 * The deploy manifest: what a pusher signs about one artifact (app name,
 * version, size, BLAKE2b-256 hash, time, the pusher's Ed25519 key). Binary,
 * big-endian, byte by byte in docs/DEPLOY.md:
 *
 *   u8  format (1)
 *   u8  app length (1..63)        app bytes      [a-z0-9-], a DNS label
 *   u8  version length (1..64)    version bytes  [A-Za-z0-9._+-], no leading '.' or '-'
 *   u64 size (1..CN_DEPLOY_SIZE_MAX)
 *   32  BLAKE2b-256 of the artifact
 *   i64 time (unix seconds, > 0)
 *   32  pusher's Ed25519 public key
 *   64  Ed25519 signature over CN_DEPLOY_MANIFEST_CONTEXT (with its NUL)
 *       followed by every byte above
 *
 * Pure: no I/O, no clock, no logging. App and version rules make both safe
 * as single path components (no '/', no "..", no leading '.').
 */
#ifndef CN_DEPLOY_MANIFEST_H
#define CN_DEPLOY_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "crypto/keys.h"

#define CN_DEPLOY_MANIFEST_CONTEXT "cairn deploy manifest v1" /* signed with its NUL */

enum {
	CN_DEPLOY_MANIFEST_FORMAT = 1,
	CN_DEPLOY_APP_MAX = 63,
	CN_DEPLOY_VERSION_MAX = 64,
	CN_DEPLOY_HASH_LEN = 32,
	CN_DEPLOY_HASH_HEX_LEN = 64,
	/* format, two lengths, size, hash, time, key, signature */
	CN_DEPLOY_MANIFEST_FIXED = 1 + 1 + 1 + 8 + CN_DEPLOY_HASH_LEN + 8 + CN_KEY_LEN + CN_SIG_LEN,
	CN_DEPLOY_MANIFEST_MAX =
		CN_DEPLOY_MANIFEST_FIXED + CN_DEPLOY_APP_MAX + CN_DEPLOY_VERSION_MAX,
};

/* A hard cap whatever the node's configuration says: 64 GiB. */
#define CN_DEPLOY_SIZE_MAX ((uint64_t)64 << 30)

_Static_assert(CN_DEPLOY_MANIFEST_MAX == 274, "manifest size");

struct cn_deploy_manifest {
	char app[CN_DEPLOY_APP_MAX + 1];
	char version[CN_DEPLOY_VERSION_MAX + 1];
	uint64_t size;
	uint8_t hash[CN_DEPLOY_HASH_LEN];
	int64_t time;
	uint8_t key[CN_KEY_LEN]; /* the pusher's Ed25519 public key */
};

/* [a-z0-9-]{1,63}, no leading or trailing '-'. */
bool cn_deploy_app_valid(const char *s);
/* [A-Za-z0-9._+-]{1,64}, not starting with '.' or '-', not "current" or "*.tmp". */
bool cn_deploy_version_valid(const char *s);

/*
 * Writes m's fields with id's public key (m->key is ignored) and a
 * signature into out. -CN_EINVAL for invalid fields, -CN_ETOOBIG if cap is
 * short (CN_DEPLOY_MANIFEST_MAX always suffices).
 */
int cn_deploy_manifest_sign(const struct cn_deploy_manifest *m, const struct cn_identity *id,
			    uint8_t *out, size_t cap, size_t *len);

/*
 * Parses a signed manifest without checking the signature (listing what a
 * store holds). -CN_ESHORT, -CN_EFORMAT (bad field, trailing bytes).
 */
int cn_deploy_manifest_decode(const uint8_t *buf, size_t len, struct cn_deploy_manifest *m);

/*
 * Parses and checks: the key field equals pk (constant time) and the
 * signature is pk's. -CN_ESIG otherwise; *m is cleared on every error.
 */
int cn_deploy_manifest_verify(const uint8_t *buf, size_t len, const uint8_t pk[static CN_KEY_LEN],
			      struct cn_deploy_manifest *m);

/* Lowercase hex of a hash and a NUL. */
void cn_deploy_hash_hex(const uint8_t hash[static CN_DEPLOY_HASH_LEN],
			char out[static CN_DEPLOY_HASH_HEX_LEN + 1]);

#endif
