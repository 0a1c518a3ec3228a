/* SPDX-License-Identifier: MIT */
/*
 * Identity keys, their text form and key files. No clock, no sockets, no
 * logging: errors come back as codes plus a one-line reason.
 */
#include "crypto/keys.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/durable.h"

enum { KEYFILE_MAX = 128 }; /* 44 characters and a newline; anything bigger is not ours */

static int identity_alloc(struct cn_identity **out)
{
	struct cn_identity *id;

	*out = NULL;
	if (sodium_init() < 0)
		return -CN_ENOMEM;
	id = sodium_malloc(sizeof(*id));
	if (!id)
		return -CN_ENOMEM;
	sodium_memzero(id, sizeof(*id));
	*out = id;
	return 0;
}

/* Fills the X25519 half from the Ed25519 half. */
static int identity_derive(struct cn_identity *id)
{
	if (crypto_sign_ed25519_sk_to_curve25519(id->x_sk, id->ed_sk) != 0)
		return -CN_EKEY;
	if (crypto_scalarmult_base(id->x_pk, id->x_sk) != 0)
		return -CN_EKEY;
	return 0;
}

int cn_identity_from_seed(const uint8_t seed[static CN_SEED_LEN], struct cn_identity **out)
{
	struct cn_identity *id = NULL;
	int ret;

	ret = identity_alloc(&id);
	if (ret)
		return ret;
	ret = -CN_EKEY;
	if (crypto_sign_seed_keypair(id->ed_pk, id->ed_sk, seed) != 0)
		goto out;
	ret = identity_derive(id);
	if (ret)
		goto out;
	*out = id;
	id = NULL;
out:
	cn_identity_free(id);
	return ret;
}

int cn_identity_generate(struct cn_identity **out)
{
	uint8_t seed[CN_SEED_LEN];
	int ret;

	*out = NULL;
	if (sodium_init() < 0)
		return -CN_ENOMEM;
	randombytes_buf(seed, sizeof(seed));
	ret = cn_identity_from_seed(seed, out);
	sodium_memzero(seed, sizeof(seed));
	return ret;
}

void cn_identity_free(struct cn_identity *id)
{
	if (id)
		sodium_free(id); /* sodium_free wipes before unmapping */
}

int cn_identity_sign(const struct cn_identity *id, const uint8_t *msg, size_t len,
		     uint8_t sig[static CN_SIG_LEN])
{
	if (crypto_sign_detached(sig, NULL, msg, len, id->ed_sk) != 0)
		return -CN_EKEY;
	return 0;
}

int cn_sig_verify(const uint8_t pk[static CN_KEY_LEN], const uint8_t *msg, size_t len,
		  const uint8_t sig[static CN_SIG_LEN])
{
	return crypto_sign_verify_detached(sig, msg, len, pk) == 0 ? 0 : -CN_ESIG;
}

int cn_key_ed_to_x(const uint8_t ed_pk[static CN_KEY_LEN], uint8_t x_pk[static CN_KEY_LEN])
{
	/* libsodium refuses non-canonical and small-order points here. */
	if (crypto_sign_ed25519_pk_to_curve25519(x_pk, ed_pk) != 0)
		return -CN_EKEY;
	return 0;
}

void cn_key_to_text(const uint8_t key[static CN_KEY_LEN], char out[static CN_KEY_TEXT_LEN + 1])
{
	sodium_bin2base64(out, CN_KEY_TEXT_LEN + 1, key, CN_KEY_LEN,
			  sodium_base64_VARIANT_ORIGINAL);
}

bool cn_b64_canonical(const char *s, size_t n)
{
	size_t pad = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '=') {
			pad++;
			continue;
		}
		if (pad || !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			     (c >= '0' && c <= '9') || c == '+' || c == '/'))
			return false;
	}
	return pad <= 2;
}

/* Decodes exactly CN_KEY_TEXT_LEN characters of base64 into 32 bytes. */
static int key_decode(const char *s, size_t len, uint8_t key[static CN_KEY_LEN])
{
	size_t bin_len = 0;
	const char *end = NULL;

	if (len != CN_KEY_TEXT_LEN || !cn_b64_canonical(s, len))
		return -CN_EKEY;
	if (sodium_base642bin(key, CN_KEY_LEN, s, len, NULL, &bin_len, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    bin_len != CN_KEY_LEN || end != s + len)
		return -CN_EKEY;
	return 0;
}

int cn_key_from_text(const char *s, size_t len, uint8_t key[static CN_KEY_LEN])
{
	uint8_t k[CN_KEY_LEN], x[CN_KEY_LEN];
	int ret;

	ret = key_decode(s, len, k);
	if (ret == 0)
		ret = cn_key_ed_to_x(k, x);
	if (ret == 0)
		memcpy(key, k, CN_KEY_LEN);
	return ret;
}

void cn_key_fingerprint(const uint8_t key[static CN_KEY_LEN], char out[static CN_KEY_FPR_LEN + 1])
{
	char text[CN_KEY_TEXT_LEN + 1];

	cn_key_to_text(key, text);
	memcpy(out, text, CN_KEY_FPR_LEN);
	out[CN_KEY_FPR_LEN] = '\0';
}

bool cn_key_equal(const uint8_t a[static CN_KEY_LEN], const uint8_t b[static CN_KEY_LEN])
{
	return sodium_memcmp(a, b, CN_KEY_LEN) == 0;
}

int cn_keyfile_write(const char *path, const struct cn_identity *id, bool overwrite,
		     struct cn_errbuf *e)
{
	char tmp[PATH_MAX];
	char text[CN_KEY_TEXT_LEN + 2];
	struct stat st;
	int fd = -1, ret = -CN_EIO;
	bool tmp_made = false;

	if (!overwrite && lstat(path, &st) == 0) {
		cn_errbuf_set(e, "%s: exists; refusing to overwrite a key file", path);
		return -CN_EEXIST;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp)) {
		cn_errbuf_set(e, "%s: path too long", path);
		return -CN_EINVAL;
	}
	/* The seed is the first half of libsodium's secret key. */
	sodium_bin2base64(text, sizeof(text), id->ed_sk, CN_SEED_LEN,
			  sodium_base64_VARIANT_ORIGINAL);
	text[CN_KEY_TEXT_LEN] = '\n';
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		cn_errbuf_set(e, "%s: cannot create: %s", tmp, strerror(errno));
		goto out;
	}
	tmp_made = true;
	/* The umask may only remove bits; make 0600 explicit anyway. */
	if (fchmod(fd, 0600) != 0 || cn_write_all(fd, text, CN_KEY_TEXT_LEN + 1) != 0 ||
	    fsync(fd) != 0) {
		cn_errbuf_set(e, "%s: cannot write: %s", tmp, strerror(errno));
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		cn_errbuf_set(e, "%s: cannot write: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (!overwrite && link(tmp, path) != 0) {
		/* link() fails if path appeared meanwhile: never replace silently. */
		cn_errbuf_set(e, "%s: cannot create: %s", path, strerror(errno));
		ret = errno == EEXIST ? -CN_EEXIST : -CN_EIO;
		goto out;
	}
	if (overwrite && rename(tmp, path) != 0) {
		cn_errbuf_set(e, "%s: cannot rename into place: %s", path, strerror(errno));
		goto out;
	}
	if (overwrite)
		tmp_made = false;
	cn_dirsync(path); /* the new name itself: a fresh key must survive a power cut */
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	if (tmp_made)
		unlink(tmp);
	sodium_memzero(text, sizeof(text));
	return ret;
}

int cn_keyfile_read(const char *path, struct cn_identity **out, struct cn_errbuf *e)
{
	char buf[KEYFILE_MAX];
	uint8_t seed[CN_SEED_LEN];
	struct stat st;
	size_t len = 0, bin_len = 0;
	const char *end = NULL;
	int fd, ret = -CN_EIO;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		cn_errbuf_set(e, "%s: cannot open key file: %s", path, strerror(errno));
		return -CN_EIO;
	}
	if (fstat(fd, &st) != 0) {
		cn_errbuf_set(e, "%s: cannot stat key file: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		cn_errbuf_set(e, "%s: not a regular file", path);
		ret = -CN_EPERM;
		goto out;
	}
	if (st.st_mode & 077) {
		cn_errbuf_set(e,
			      "%s: key file mode %03o is accessible by group or others; "
			      "run chmod 600 on it",
			      path, (unsigned int)(st.st_mode & 0777));
		ret = -CN_EPERM;
		goto out;
	}
	for (;;) {
		ssize_t r = read(fd, buf + len, sizeof(buf) - len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			cn_errbuf_set(e, "%s: cannot read key file: %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len == sizeof(buf)) {
			cn_errbuf_set(e, "%s: not a cairn key file (too long)", path);
			ret = -CN_EFORMAT;
			goto out;
		}
	}
	/* Exactly the base64 seed, optionally followed by one newline. */
	if (len == CN_KEY_TEXT_LEN + 1 && buf[CN_KEY_TEXT_LEN] == '\n')
		len--;
	ret = -CN_EFORMAT;
	if (len != CN_KEY_TEXT_LEN || !cn_b64_canonical(buf, len) ||
	    sodium_base642bin(seed, sizeof(seed), buf, len, NULL, &bin_len, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    bin_len != CN_SEED_LEN || end != buf + len) {
		cn_errbuf_set(e, "%s: not a cairn key file (expected one line of base64)", path);
		goto out;
	}
	ret = cn_identity_from_seed(seed, out);
	if (ret)
		cn_errbuf_set(e, "%s: unusable key", path);
out:
	close(fd);
	sodium_memzero(buf, sizeof(buf));
	sodium_memzero(seed, sizeof(seed));
	return ret;
}
