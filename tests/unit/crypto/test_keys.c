/* SPDX-License-Identifier: MIT */
/*
 * Identity keys, text form, signatures and key files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "crypto/keys.h"

/* RFC 8032 section 7.1, TEST 1 (empty message). */
static const char rfc_seed[] = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
static const char rfc_pk[] = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
static const char rfc_sig[] = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
			      "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";

static void hex(const char *h, uint8_t *out, size_t n)
{
	size_t len = 0;

	assert_int_equal(sodium_hex2bin(out, n, h, strlen(h), NULL, &len, NULL), 0);
	assert_int_equal(len, n);
}

static void test_rfc8032_vector(void **state)
{
	uint8_t seed[32], pk[32], sig[64], got[64], x[32];
	struct cn_identity *id = NULL;

	(void)state;
	hex(rfc_seed, seed, 32);
	hex(rfc_pk, pk, 32);
	hex(rfc_sig, sig, 64);
	assert_int_equal(cn_identity_from_seed(seed, &id), 0);
	assert_memory_equal(id->ed_pk, pk, 32);
	assert_int_equal(cn_identity_sign(id, (const uint8_t *)"", 0, got), 0);
	assert_memory_equal(got, sig, 64);
	assert_int_equal(cn_sig_verify(pk, (const uint8_t *)"", 0, sig), 0);
	/* The X25519 half matches the conversion of the public key. */
	assert_int_equal(cn_key_ed_to_x(pk, x), 0);
	assert_memory_equal(x, id->x_pk, 32);
	cn_identity_free(id);
}

static void test_generate_distinct(void **state)
{
	struct cn_identity *a = NULL, *b = NULL;

	(void)state;
	assert_int_equal(cn_identity_generate(&a), 0);
	assert_int_equal(cn_identity_generate(&b), 0);
	assert_false(cn_key_equal(a->ed_pk, b->ed_pk));
	assert_true(cn_key_equal(a->ed_pk, a->ed_pk));
	cn_identity_free(a);
	cn_identity_free(b);
	cn_identity_free(NULL);
}

static void test_signature_tamper(void **state)
{
	struct cn_identity *id = NULL, *other = NULL;
	uint8_t msg[100], sig[64];

	(void)state;
	memset(msg, 0x5a, sizeof(msg));
	assert_int_equal(cn_identity_generate(&id), 0);
	assert_int_equal(cn_identity_generate(&other), 0);
	assert_int_equal(cn_identity_sign(id, msg, sizeof(msg), sig), 0);
	assert_int_equal(cn_sig_verify(id->ed_pk, msg, sizeof(msg), sig), 0);
	assert_int_equal(cn_sig_verify(other->ed_pk, msg, sizeof(msg), sig), -CN_ESIG);
	for (size_t i = 0; i < sizeof(msg) * 8; i += 7) {
		msg[i / 8] ^= (uint8_t)(1u << (i % 8));
		assert_int_equal(cn_sig_verify(id->ed_pk, msg, sizeof(msg), sig), -CN_ESIG);
		msg[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	for (size_t i = 0; i < sizeof(sig) * 8; i++) {
		sig[i / 8] ^= (uint8_t)(1u << (i % 8));
		assert_int_equal(cn_sig_verify(id->ed_pk, msg, sizeof(msg), sig), -CN_ESIG);
		sig[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	cn_identity_free(id);
	cn_identity_free(other);
}

static void test_key_text(void **state)
{
	uint8_t pk[32], back[32];
	char text[CN_KEY_TEXT_LEN + 1], fpr[CN_KEY_FPR_LEN + 1], bad[64];
	/* The identity point and an all-zero encoding: small order, refused. */
	static const char identity_point[] = "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
	static const char zero_point[] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

	(void)state;
	hex(rfc_pk, pk, 32);
	cn_key_to_text(pk, text);
	assert_int_equal(strlen(text), CN_KEY_TEXT_LEN);
	assert_string_equal(text, "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
	assert_int_equal(cn_key_from_text(text, strlen(text), back), 0);
	assert_memory_equal(pk, back, 32);
	cn_key_fingerprint(pk, fpr);
	assert_string_equal(fpr, "11qYAYKx");

	assert_int_equal(cn_key_from_text(text, 43, back), -CN_EKEY);
	snprintf(bad, sizeof(bad), "%s ", text);
	assert_int_equal(cn_key_from_text(bad, strlen(bad), back), -CN_EKEY);
	snprintf(bad, sizeof(bad), "%s", text);
	bad[10] = '*';
	assert_int_equal(cn_key_from_text(bad, strlen(bad), back), -CN_EKEY);
	snprintf(bad, sizeof(bad), "%s", text);
	bad[43] = 'A'; /* no padding: 44 chars but not valid padded base64 */
	assert_int_equal(cn_key_from_text(bad, strlen(bad), back), -CN_EKEY);
	/* libsodium 1.0.18 reads bytes >= 0x80 as '/': one key, one spelling. */
	snprintf(bad, sizeof(bad), "%s", text);
	for (size_t i = 0; i < CN_KEY_TEXT_LEN; i++) {
		if (bad[i] == '/') {
			bad[i] = (char)('/' | 0x80);
			break;
		}
	}
	if (strchr(text, '/'))
		assert_int_equal(cn_key_from_text(bad, strlen(bad), back), -CN_EKEY);
	assert_false(cn_b64_canonical("AB\xaf"
				      "C",
				      4));
	assert_false(cn_b64_canonical("AB=C", 4));
	assert_false(cn_b64_canonical("A===", 4));
	assert_true(cn_b64_canonical("AB+/", 4));
	assert_int_equal(cn_key_from_text(identity_point, 44, back), -CN_EKEY);
	assert_int_equal(cn_key_from_text(zero_point, 44, back), -CN_EKEY);
	assert_int_equal(cn_key_from_text("", 0, back), -CN_EKEY);
}

static char dir[64];

static int setup_dir(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/cn_test_keys.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

static void write_file(const char *path, const char *data, mode_t mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(data, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

/*
 * fsync, wrapped at link time (-Wl,--wrap=fsync, tests/CMakeLists.txt):
 * counts the fsyncs of the key directory, then does the real one.
 */
int __real_fsync(int fd);
int __wrap_fsync(int fd);
static struct stat watched_dir;
static unsigned int dir_syncs;

int __wrap_fsync(int fd)
{
	struct stat st;

	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) && st.st_dev == watched_dir.st_dev &&
	    st.st_ino == watched_dir.st_ino)
		dir_syncs++;
	return __real_fsync(fd);
}

/* A new key file's name is made durable too: its directory is fsynced, creating or replacing. */
static void test_keyfile_syncs_its_directory(void **state)
{
	struct cn_identity *id = NULL;
	struct cn_errbuf e = {{0}};
	char path[128];

	(void)state;
	snprintf(path, sizeof(path), "%s/d.key", dir);
	assert_int_equal(stat(dir, &watched_dir), 0);
	assert_int_equal(cn_identity_generate(&id), 0);
	dir_syncs = 0;
	assert_int_equal(cn_keyfile_write(path, id, false, &e), 0);
	assert_int_equal(dir_syncs, 1);
	assert_int_equal(cn_keyfile_write(path, id, true, &e), 0);
	assert_int_equal(dir_syncs, 2);
	/* A refused write syncs nothing. */
	assert_int_equal(cn_keyfile_write(path, id, false, &e), -CN_EEXIST);
	assert_int_equal(dir_syncs, 2);
	cn_identity_free(id);
}

static void test_keyfile_roundtrip(void **state)
{
	struct cn_identity *id = NULL, *back = NULL;
	struct cn_errbuf e = {{0}};
	char path[128];
	struct stat st;

	(void)state;
	snprintf(path, sizeof(path), "%s/a.key", dir);
	assert_int_equal(cn_identity_generate(&id), 0);
	assert_int_equal(cn_keyfile_write(path, id, false, &e), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, CN_KEY_TEXT_LEN + 1);
	assert_int_equal(cn_keyfile_read(path, &back, &e), 0);
	assert_memory_equal(id->ed_pk, back->ed_pk, 32);
	assert_memory_equal(id->x_sk, back->x_sk, 32);
	cn_identity_free(back);
	back = NULL;

	/* Never silently replaced. */
	assert_int_equal(cn_keyfile_write(path, id, false, &e), -CN_EEXIST);
	assert_non_null(strstr(e.msg, "refusing to overwrite"));
	assert_int_equal(cn_keyfile_write(path, id, true, &e), 0);
	cn_identity_free(id);
}

static void test_keyfile_refusals(void **state)
{
	struct cn_identity *id = NULL;
	struct cn_errbuf e = {{0}};
	char path[128], link_path[128];
	static const char good[] = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=\n";

	(void)state;
	snprintf(path, sizeof(path), "%s/b.key", dir);
	write_file(path, good, 0600);
	assert_int_equal(cn_keyfile_read(path, &id, &e), 0);
	/* That text is the RFC 8032 seed. */
	{
		uint8_t pk[32];

		hex(rfc_pk, pk, 32);
		assert_memory_equal(id->ed_pk, pk, 32);
	}
	cn_identity_free(id);
	id = NULL;

	chmod(path, 0640);
	assert_int_equal(cn_keyfile_read(path, &id, &e), -CN_EPERM);
	assert_null(id);
	assert_non_null(strstr(e.msg, "chmod 600"));
	chmod(path, 0604);
	assert_int_equal(cn_keyfile_read(path, &id, &e), -CN_EPERM);
	chmod(path, 0620);
	assert_int_equal(cn_keyfile_read(path, &id, &e), -CN_EPERM);

	write_file(path, "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A", 0600);
	assert_int_equal(cn_keyfile_read(path, &id, &e), -CN_EFORMAT);
	write_file(path, "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=\n\n", 0600);
	assert_int_equal(cn_keyfile_read(path, &id, &e), -CN_EFORMAT);
	write_file(path, "", 0600);
	assert_int_equal(cn_keyfile_read(path, &id, &e), -CN_EFORMAT);
	write_file(
		path,
		"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ"
		"AAAAAAAAABAAAAMwAAAAtzc2gtZWQyNTUxOQAAACDd\n-----END OPENSSH PRIVATE KEY-----\n",
		0600);
	assert_int_equal(cn_keyfile_read(path, &id, &e), -CN_EFORMAT);
	assert_non_null(strstr(e.msg, "not a cairn key file"));
	assert_null(id);

	/* A symlink is not followed; a missing file names the path. */
	write_file(path, good, 0600);
	snprintf(link_path, sizeof(link_path), "%s/link.key", dir);
	assert_int_equal(symlink(path, link_path), 0);
	assert_int_not_equal(cn_keyfile_read(link_path, &id, &e), 0);
	assert_int_equal(cn_keyfile_read("/nonexistent/x.key", &id, &e), -CN_EIO);
	assert_non_null(strstr(e.msg, "/nonexistent/x.key"));
	assert_int_equal(cn_keyfile_read(dir, &id, &e), -CN_EPERM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc8032_vector),
		cmocka_unit_test(test_generate_distinct),
		cmocka_unit_test(test_signature_tamper),
		cmocka_unit_test(test_key_text),
		cmocka_unit_test(test_keyfile_roundtrip),
		cmocka_unit_test(test_keyfile_refusals),
		cmocka_unit_test(test_keyfile_syncs_its_directory),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
