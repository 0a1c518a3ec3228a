/* SPDX-License-Identifier: MIT */
/*
 * Identity keys. Every node, relay and network root has one Ed25519 key
 * pair; nodes and relays use its X25519 conversion as the Noise static key,
 * so one key file and one public key name an entity everywhere.
 *
 * Public keys travel as text in one encoding: standard base64 with padding
 * (44 characters), encoded and decoded with libsodium's constant-time codec.
 * Key files hold the 32-byte Ed25519 seed the same way, mode 0600.
 */
#ifndef CN_CRYPTO_KEYS_H
#define CN_CRYPTO_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

enum {
	CN_KEY_LEN = 32,      /* Ed25519 or X25519 public key, X25519 private key */
	CN_SEED_LEN = 32,     /* Ed25519 seed, what a key file stores */
	CN_SIG_LEN = 64,      /* Ed25519 signature */
	CN_KEY_TEXT_LEN = 44, /* base64 of 32 bytes with padding, without NUL */
	CN_SIG_TEXT_LEN = 88, /* base64 of 64 bytes with padding, without NUL */
	CN_KEY_FPR_LEN = 8,   /* characters of key text shown in logs */
};

/* Lives in sodium_malloc memory (guard pages, wiped on free). */
struct cn_identity {
	uint8_t ed_sk[64]; /* Ed25519 secret key (seed || public) */
	uint8_t ed_pk[CN_KEY_LEN];
	uint8_t x_sk[CN_KEY_LEN]; /* X25519 static private key for Noise */
	uint8_t x_pk[CN_KEY_LEN];
};

/* Both return a new identity in *out (caller frees with cn_identity_free). */
int cn_identity_generate(struct cn_identity **out);
int cn_identity_from_seed(const uint8_t seed[static CN_SEED_LEN], struct cn_identity **out);
/* Wipes and frees; NULL is a no-op. */
void cn_identity_free(struct cn_identity *id);

int cn_identity_sign(const struct cn_identity *id, const uint8_t *msg, size_t len,
		     uint8_t sig[static CN_SIG_LEN]);
/* 0 if sig is a valid signature of msg by pk, else -CN_ESIG. */
int cn_sig_verify(const uint8_t pk[static CN_KEY_LEN], const uint8_t *msg, size_t len,
		  const uint8_t sig[static CN_SIG_LEN]);

/*
 * Converts an Ed25519 public key to its X25519 form. Fails with -CN_EKEY
 * for encodings that are not valid points or are of small order.
 */
int cn_key_ed_to_x(const uint8_t ed_pk[static CN_KEY_LEN], uint8_t x_pk[static CN_KEY_LEN]);

/* Writes the 44-character text form and a NUL. */
void cn_key_to_text(const uint8_t key[static CN_KEY_LEN], char out[static CN_KEY_TEXT_LEN + 1]);
/*
 * Parses the text form of a public key (exactly 44 characters, no spaces)
 * and checks it is a usable Ed25519 public key. -CN_EKEY otherwise.
 */
int cn_key_from_text(const char *s, size_t len, uint8_t key[static CN_KEY_LEN]);
/* The first CN_KEY_FPR_LEN characters of the text form and a NUL: for logs. */
void cn_key_fingerprint(const uint8_t key[static CN_KEY_LEN], char out[static CN_KEY_FPR_LEN + 1]);
/*
 * True if s holds only standard base64 characters, with '=' only as
 * trailing padding (at most two). Checked before sodium_base642bin, which
 * in libsodium 1.0.18 decodes every byte >= 0x80 as '/': without this check
 * one key or signature would have many spellings.
 */
bool cn_b64_canonical(const char *s, size_t n);
/* Constant-time equality of two public keys. */
bool cn_key_equal(const uint8_t a[static CN_KEY_LEN], const uint8_t b[static CN_KEY_LEN]);

/*
 * Key files. cn_keyfile_write creates `path` with mode 0600 (the directory
 * must exist); it refuses to replace an existing file unless `overwrite`.
 * It writes a temporary file, fsyncs it, renames (or links) it into place
 * and fsyncs the directory, so a crash leaves the old file or the new
 * one, never half of one, and a power cut does not take a new key back.
 *
 * cn_keyfile_read refuses (-CN_EPERM) a file readable or writable by group
 * or others, or not a regular file; -CN_EFORMAT for bad contents. `e` gets a
 * one-line reason naming the path. Secrets read are wiped from every buffer.
 */
int cn_keyfile_write(const char *path, const struct cn_identity *id, bool overwrite,
		     struct cn_errbuf *e);
int cn_keyfile_read(const char *path, struct cn_identity **out, struct cn_errbuf *e);

#endif
