/* SPDX-License-Identifier: MIT */
/*
 * The artifact store with injected failures: short writes, a full disk,
 * wrong hashes, interrupted uploads resumed, and a crash at every single
 * file-system step of a push (after the crash nothing more reaches the
 * disk; the store is reopened and must show the old version or the new
 * one, never half of one, and no temporary file).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
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

#include "deploy/manifest.h"
#include "deploy/store.h"

/* ---- the fault plan ------------------------------------------------------------------------ */

static struct {
	long crash_after; /* mutating calls allowed before everything fails; -1: never */
	long calls;
	size_t short_write; /* cap per write() call; 0: none */
	long enospc_after;  /* bytes written before ENOSPC; -1: never */
	long written;
} plan;

static void plan_reset(void)
{
	memset(&plan, 0, sizeof(plan));
	plan.crash_after = -1;
	plan.enospc_after = -1;
}

static bool crashed(void)
{
	if (plan.crash_after >= 0 && plan.calls++ >= plan.crash_after) {
		errno = EIO;
		return true;
	}
	return false;
}

static int f_open(const char *p, int flags, mode_t mode)
{
	/* Opening for reading changes nothing on disk. */
	if ((flags & (O_WRONLY | O_RDWR | O_CREAT)) && crashed())
		return -1;
	return open(p, flags, mode);
}

static ssize_t f_write(int fd, const void *buf, size_t n)
{
	if (crashed())
		return -1;
	if (plan.short_write && n > plan.short_write)
		n = plan.short_write;
	if (plan.enospc_after >= 0) {
		long room = plan.enospc_after - plan.written;

		if (room <= 0) {
			errno = ENOSPC;
			return -1;
		}
		if ((long)n > room)
			n = (size_t)room;
	}
	ssize_t w = write(fd, buf, n);

	if (w > 0)
		plan.written += w;
	return w;
}

static int f_fsync(int fd)
{
	return crashed() ? -1 : fsync(fd);
}

static int f_close(int fd)
{
	close(fd); /* the descriptor goes away even in a crash */
	return 0;
}

static int f_ftruncate(int fd, off_t len)
{
	return crashed() ? -1 : ftruncate(fd, len);
}

static int f_rename(const char *a, const char *b)
{
	return crashed() ? -1 : rename(a, b);
}

static int f_unlink(const char *p)
{
	return crashed() ? -1 : unlink(p);
}

static int f_link(const char *a, const char *b)
{
	return crashed() ? -1 : link(a, b);
}

static int f_symlink(const char *a, const char *b)
{
	return crashed() ? -1 : symlink(a, b);
}

static int f_mkdir(const char *p, mode_t m)
{
	return crashed() ? -1 : mkdir(p, m);
}

static int f_rmdir(const char *p)
{
	return crashed() ? -1 : rmdir(p);
}

static const struct cn_store_ops faulty = {
	.open = f_open,
	.write = f_write,
	.fsync = f_fsync,
	.close = f_close,
	.ftruncate = f_ftruncate,
	.rename = f_rename,
	.unlink = f_unlink,
	.link = f_link,
	.symlink = f_symlink,
	.mkdir = f_mkdir,
	.rmdir = f_rmdir,
};

/* ---- helpers ------------------------------------------------------------------------------- */

static struct cn_identity *id;
static char dir[256];
static uint8_t data1[100000], data2[150000];

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

static int setup(void **state)
{
	(void)state;
	if (sodium_init() < 0 || cn_identity_generate(&id))
		return -1;
	randombytes_buf(data1, sizeof(data1));
	randombytes_buf(data2, sizeof(data2));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	cn_identity_free(id);
	return 0;
}

static int each_setup(void **state)
{
	(void)state;
	plan_reset();
	snprintf(dir, sizeof(dir), "/tmp/cn_store_test.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int each_teardown(void **state)
{
	(void)state;
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

static struct cn_store *open_store(const struct cn_store_ops *ops, unsigned int keep)
{
	struct cn_store *s = NULL;
	struct cn_errbuf e = {{0}};
	char sub[300];

	snprintf(sub, sizeof(sub), "%s/state/deploy", dir);
	if (cn_store_open(sub, ops, keep, &s, &e))
		fail_msg("open: %s", e.msg);
	return s;
}

static void manifest(struct cn_deploy_manifest *m, const char *version, const uint8_t *data,
		     size_t len, int64_t t, uint8_t *signed_buf, size_t *signed_len)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->app, sizeof(m->app), "web");
	snprintf(m->version, sizeof(m->version), "%s", version);
	m->size = len;
	m->time = t;
	crypto_generichash(m->hash, sizeof(m->hash), data, len, NULL, 0);
	memcpy(m->key, id->ed_pk, CN_KEY_LEN);
	assert_int_equal(
		cn_deploy_manifest_sign(m, id, signed_buf, CN_DEPLOY_MANIFEST_MAX, signed_len), 0);
}

/* A whole push: upload in chunks of `chunk`, install, activate. */
static int push(struct cn_store *s, const char *version, const uint8_t *data, size_t len, int64_t t,
		bool activate)
{
	struct cn_deploy_manifest m;
	struct cn_store_upload *u = NULL;
	struct cn_errbuf e = {{0}};
	uint8_t sm[CN_DEPLOY_MANIFEST_MAX];
	size_t smlen;
	uint64_t off;
	char prev[80];
	int ret;

	manifest(&m, version, data, len, t, sm, &smlen);
	ret = cn_store_upload_begin(s, &m, &u, &off, &e);
	if (ret)
		return ret;
	while (off < len) {
		size_t n = len - off < 4096 ? len - off : 4096;

		ret = cn_store_upload_write(u, data + off, n, &e);
		if (ret) {
			cn_store_upload_abort(u, false);
			return ret;
		}
		off += n;
	}
	ret = cn_store_upload_finish(u, &e);
	if (!ret)
		ret = cn_store_install(s, &m, sm, smlen, &e);
	if (!ret && activate)
		ret = cn_store_activate(s, "web", version, prev, sizeof(prev), &e);
	if (!ret)
		ret = cn_store_prune(s, "web", &e);
	return ret;
}

static size_t count_dir(const char *sub)
{
	char p[400];
	DIR *d;
	struct dirent *de;
	size_t n = 0;

	snprintf(p, sizeof(p), "%s/state/deploy/%s", dir, sub);
	d = opendir(p);
	if (!d)
		return 0;
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.' || strlen(de->d_name) > 2;
	closedir(d);
	return n;
}

/* True when any name below the store ends in ".tmp" or starts with ".tmp-". */
static bool found_tmp;
static int tmp_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	const char *b = p + f->base;
	size_t n = strlen(b);

	(void)st;
	(void)flag;
	if (!strncmp(b, ".tmp-", 5) || (n > 4 && !strcmp(b + n - 4, ".tmp")))
		found_tmp = true;
	return 0;
}

static bool any_tmp(void)
{
	found_tmp = false;
	nftw(dir, tmp_one, 16, FTW_PHYS);
	return found_tmp;
}

/* The current artifact of "web" has these bytes. */
static void assert_current(struct cn_store *s, const char *version, const uint8_t *data, size_t len)
{
	char ver[80], p[CN_STORE_PATH_MAX];
	uint8_t *buf = malloc(len + 1);
	FILE *f;

	assert_int_equal(cn_store_current(s, "web", ver, sizeof(ver)), 0);
	assert_string_equal(ver, version);
	assert_int_equal(cn_store_artifact_path(s, "web", ver, p, sizeof(p)), 0);
	f = fopen(p, "rb");
	assert_non_null(f);
	assert_int_equal(fread(buf, 1, len + 1, f), len);
	fclose(f);
	assert_memory_equal(buf, data, len);
	free(buf);
}

/* ---- tests --------------------------------------------------------------------------------- */

static void test_push_list_prune_rollback(void **state)
{
	struct cn_store *s = open_store(NULL, 2);
	struct cn_store_entry v[8];
	struct cn_errbuf e = {{0}};
	char ver[80];
	size_t n;

	(void)state;
	assert_int_equal(cn_store_current(s, "web", ver, sizeof(ver)), -CN_ENOTFOUND);
	assert_int_equal(push(s, "1", data1, sizeof(data1), 100, true), 0);
	assert_current(s, "1", data1, sizeof(data1));
	assert_int_equal(push(s, "2", data2, sizeof(data2), 200, true), 0);
	assert_current(s, "2", data2, sizeof(data2));
	assert_int_equal(cn_store_previous(s, "web", ver, sizeof(ver), &e), 0);
	assert_string_equal(ver, "1");
	assert_int_equal(cn_store_list(s, NULL, v, 8, &n, &e), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].version, "2");
	assert_true(v[0].current && !v[1].current);
	assert_true(v[1].m.size == sizeof(data1));
	/* Version 3 has the same bytes as 1: one object, two versions. */
	assert_int_equal(push(s, "3", data1, sizeof(data1), 300, true), 0);
	assert_int_equal(cn_store_list(s, "web", v, 8, &n, &e), 0);
	assert_int_equal(n, 2); /* keep = 2: version 1 pruned */
	assert_int_equal(count_dir("objects"), 2);
	/* Rollback to 2, then a push of 4 keeps the current (2) and the newest. */
	assert_int_equal(cn_store_previous(s, "web", ver, sizeof(ver), &e), 0);
	assert_string_equal(ver, "2");
	assert_int_equal(cn_store_activate(s, "web", "2", ver, sizeof(ver), &e), 0);
	assert_string_equal(ver, "3");
	assert_int_equal(push(s, "4", data2, sizeof(data2), 400, false), 0);
	assert_current(s, "2", data2, sizeof(data2));
	assert_int_equal(cn_store_list(s, "web", v, 8, &n, &e), 0);
	assert_int_equal(n, 3); /* 4, 3 (the newest two) and 2 (current) */
	assert_int_equal(cn_store_previous(s, "web", ver, sizeof(ver), &e), -CN_ENOTFOUND);
	/* Versions are immutable. */
	assert_int_equal(push(s, "4", data1, sizeof(data1), 500, false), -CN_EEXIST);
	/* Same version, same bytes again: accepted, no upload needed. */
	assert_int_equal(push(s, "4", data2, sizeof(data2), 600, true), 0);
	assert_current(s, "4", data2, sizeof(data2));
	assert_int_equal(cn_store_deactivate(s, "web", &e), 0);
	assert_int_equal(cn_store_current(s, "web", ver, sizeof(ver)), -CN_ENOTFOUND);
	assert_int_equal(cn_store_activate(s, "web", "9", ver, sizeof(ver), &e), -CN_ENOTFOUND);
	assert_false(any_tmp());
	cn_store_free(s);
}

static void test_short_writes(void **state)
{
	struct cn_store *s = open_store(&faulty, 3);

	(void)state;
	plan.short_write = 7;
	assert_int_equal(push(s, "1", data1, sizeof(data1), 100, true), 0);
	assert_current(s, "1", data1, sizeof(data1));
	cn_store_free(s);
}

static void test_enospc(void **state)
{
	struct cn_store *s = open_store(&faulty, 3);

	(void)state;
	assert_int_equal(push(s, "1", data1, sizeof(data1), 100, true), 0);
	plan.written = 0;
	plan.enospc_after = 50000;
	assert_int_equal(push(s, "2", data2, sizeof(data2), 200, true), -CN_EIO);
	plan_reset();
	assert_current(s, "1", data1, sizeof(data1));
	assert_int_equal(count_dir("partial"), 0);
	assert_int_equal(count_dir("objects"), 1);
	assert_int_equal(count_dir("apps/web"), 2); /* 1 and current */
	assert_false(any_tmp());
	cn_store_free(s);
}

static void test_wrong_hash(void **state)
{
	struct cn_store *s = open_store(NULL, 3);
	struct cn_deploy_manifest m;
	struct cn_store_upload *u;
	struct cn_errbuf e = {{0}};
	uint8_t sm[CN_DEPLOY_MANIFEST_MAX];
	size_t smlen;
	uint64_t off;

	(void)state;
	assert_int_equal(push(s, "1", data1, sizeof(data1), 100, true), 0);
	manifest(&m, "2", data2, sizeof(data2), 200, sm, &smlen);
	data2[77] ^= 1; /* tampered in transit */
	assert_int_equal(cn_store_upload_begin(s, &m, &u, &off, &e), 0);
	assert_int_equal(cn_store_upload_write(u, data2, sizeof(data2), &e), 0);
	assert_int_equal(cn_store_upload_finish(u, &e), -CN_EDECRYPT);
	data2[77] ^= 1;
	assert_non_null(strstr(e.msg, "hash"));
	assert_int_equal(count_dir("partial"), 0);
	assert_int_equal(cn_store_install(s, &m, sm, smlen, &e), -CN_ENOTFOUND);
	assert_current(s, "1", data1, sizeof(data1));
	/* Too many bytes are refused before they are written. */
	assert_int_equal(cn_store_upload_begin(s, &m, &u, &off, &e), 0);
	assert_int_equal(cn_store_upload_write(u, data2, sizeof(data2) - 1, &e), 0);
	assert_int_equal(cn_store_upload_write(u, data2, 2, &e), -CN_ETOOBIG);
	cn_store_upload_abort(u, false);
	assert_int_equal(count_dir("partial"), 0);
	cn_store_free(s);
}

static void test_resume(void **state)
{
	struct cn_store *s = open_store(NULL, 3);
	struct cn_deploy_manifest m;
	struct cn_store_upload *u;
	struct cn_errbuf e = {{0}};
	uint8_t sm[CN_DEPLOY_MANIFEST_MAX];
	size_t smlen;
	uint64_t off;
	char p[400];

	(void)state;
	manifest(&m, "1", data2, sizeof(data2), 100, sm, &smlen);
	assert_int_equal(cn_store_upload_begin(s, &m, &u, &off, &e), 0);
	assert_true(off == 0);
	assert_int_equal(cn_store_upload_write(u, data2, 60000, &e), 0);
	cn_store_upload_abort(u, true); /* the connection dropped */
	assert_int_equal(count_dir("partial"), 1);
	/* A partial upload is not a version, also after a restart. */
	cn_store_free(s);
	s = open_store(NULL, 3);
	{
		struct cn_store_entry v[2];
		size_t n;

		assert_int_equal(cn_store_list(s, NULL, v, 2, &n, &e), 0);
		assert_int_equal(n, 0);
	}
	assert_int_equal(cn_store_upload_begin(s, &m, &u, &off, &e), 0);
	assert_true(off == 60000);
	assert_true(cn_store_upload_have(u) == 60000);
	assert_int_equal(cn_store_upload_write(u, data2 + off, sizeof(data2) - off, &e), 0);
	assert_int_equal(cn_store_upload_finish(u, &e), 0);
	assert_int_equal(cn_store_install(s, &m, sm, smlen, &e), 0);
	/* Once stored, nothing is sent again. */
	assert_int_equal(cn_store_upload_begin(s, &m, &u, &off, &e), 0);
	assert_true(off == sizeof(data2));
	assert_int_equal(cn_store_upload_finish(u, &e), 0);
	/* A corrupted partial resumes, then fails the hash and starts over next time. */
	manifest(&m, "2", data1, sizeof(data1), 200, sm, &smlen);
	assert_int_equal(cn_store_upload_begin(s, &m, &u, &off, &e), 0);
	data1[5] ^= 0x80;
	assert_int_equal(cn_store_upload_write(u, data1, 1000, &e), 0);
	data1[5] ^= 0x80;
	cn_store_upload_abort(u, true);
	assert_int_equal(cn_store_upload_begin(s, &m, &u, &off, &e), 0);
	assert_true(off == 1000);
	assert_int_equal(cn_store_upload_write(u, data1 + off, sizeof(data1) - off, &e), 0);
	assert_int_equal(cn_store_upload_finish(u, &e), -CN_EDECRYPT);
	assert_int_equal(cn_store_upload_begin(s, &m, &u, &off, &e), 0);
	assert_true(off == 0);
	cn_store_upload_abort(u, false);
	/* A partial longer than the artifact is thrown away. */
	{
		char hex[CN_DEPLOY_HASH_HEX_LEN + 1];
		FILE *f;

		cn_deploy_hash_hex(m.hash, hex);
		snprintf(p, sizeof(p), "%s/state/deploy/partial/%s", dir, hex);
		f = fopen(p, "wb");
		assert_non_null(f);
		assert_int_equal(fwrite(data2, 1, sizeof(data2), f), sizeof(data2));
		fclose(f);
	}
	assert_int_equal(cn_store_upload_begin(s, &m, &u, &off, &e), 0);
	assert_true(off == 0);
	cn_store_upload_abort(u, false);
	assert_int_equal(count_dir("partial"), 0);
	cn_store_free(s);
}

/*
 * A crash after every possible number of file-system changes in a push of
 * version 2 over version 1: after reopening, version 1 is current and
 * intact, or version 2 is (only when the activation completed); version 2
 * is listed only whole; nothing temporary is left.
 */
static void test_crash_everywhere(void **state)
{
	bool completed = false;
	long k;

	(void)state;
	for (k = 0; !completed && k < 200; k++) {
		struct cn_store *s;
		struct cn_store_entry v[8];
		struct cn_errbuf e = {{0}};
		char ver[80];
		size_t n;
		int ret;

		each_teardown(NULL);
		assert_int_equal(mkdir(dir, 0700), 0);
		plan_reset();
		s = open_store(&faulty, 3);
		assert_int_equal(push(s, "1", data1, sizeof(data1), 100, true), 0);
		plan.crash_after = k;
		ret = push(s, "2", data2, sizeof(data2), 200, true);
		completed = ret == 0;
		cn_store_free(s);
		plan_reset();
		s = open_store(NULL, 3); /* the restart */
		assert_int_equal(cn_store_current(s, "web", ver, sizeof(ver)), 0);
		if (!strcmp(ver, "2"))
			assert_current(s, "2", data2, sizeof(data2));
		else
			assert_current(s, "1", data1, sizeof(data1));
		assert_int_equal(cn_store_list(s, "web", v, 8, &n, &e), 0);
		assert_true(n == 1 || n == 2);
		if (n == 2) {
			/* Version 2 is listed only with its whole artifact. */
			char p[CN_STORE_PATH_MAX];
			struct stat st;

			assert_int_equal(cn_store_artifact_path(s, "web", "2", p, sizeof(p)), 0);
			assert_int_equal(stat(p, &st), 0);
			assert_true((size_t)st.st_size == sizeof(data2));
		}
		if (completed)
			assert_string_equal(ver, "2");
		assert_false(any_tmp());
		/* Whatever happened, the next push goes through. */
		assert_int_equal(push(s, "2", data2, sizeof(data2), 300, true), 0);
		assert_current(s, "2", data2, sizeof(data2));
		cn_store_free(s);
	}
	assert_true(completed);
	print_message("crashed at each of %ld steps\n", k - 1);
}

static void test_bad_names(void **state)
{
	struct cn_store *s = open_store(NULL, 3);
	struct cn_errbuf e = {{0}};
	char p[CN_STORE_PATH_MAX];

	(void)state;
	assert_int_equal(cn_store_artifact_path(s, "..", "1", p, sizeof(p)), -CN_EINVAL);
	assert_int_equal(cn_store_artifact_path(s, "web", "../x", p, sizeof(p)), -CN_EINVAL);
	assert_int_equal(cn_store_activate(s, "web", "..", p, sizeof(p), &e), -CN_EINVAL);
	assert_int_equal(cn_store_current(s, "../web", p, sizeof(p)), -CN_EINVAL);
	cn_store_free(s);
	assert_int_not_equal(cn_store_open("/tmp/x", NULL, 0, &s, &e), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_push_list_prune_rollback, each_setup,
						each_teardown),
		cmocka_unit_test_setup_teardown(test_short_writes, each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(test_enospc, each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(test_wrong_hash, each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(test_resume, each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(test_crash_everywhere, each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(test_bad_names, each_setup, each_teardown),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
