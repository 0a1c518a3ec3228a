/* SPDX-License-Identifier: MIT */
/*
 * Dropping privileges (common/privdrop.h), each case in a forked child so
 * the test process keeps its own: as root, cn_privdrop_to "nobody" keeping
 * CAP_NET_ADMIN leaves exactly that capability (permitted, effective,
 * bounding), nothing inheritable or ambient, no_new_privs, not dumpable,
 * uid and gid changed in all three slots, no way back to root, a root-owned
 * 0600 file unreadable; cn_privdrop_child leaves nothing at all; an
 * unprivileged process can only lower its sets; a process with a second
 * thread is refused before any change. Lookups of users that do
 * not exist fail cleanly (no root needed); the rest skips without root.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/err.h"
#include "common/privdrop.h"

static char secret[64];

/* Runs fn in a child; its exit status (0 = every check held). */
static int in_child(int (*fn)(void))
{
	pid_t pid = fork();
	int status = 0;

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fn());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 100;
}

/* Bounding set as a mask, from prctl. */
static uint64_t bounding(void)
{
	uint64_t m = 0;

	for (int c = 0; c < 64; c++) {
		int in = prctl(PR_CAPBSET_READ, c, 0, 0, 0);

		if (in < 0)
			break;
		if (in)
			m |= CN_CAP(c);
	}
	return m;
}

static int drop_keep_net_admin(void)
{
	struct cn_errbuf e = {{0}};
	uint64_t eff = 0, prm = 0;
	uid_t uid, r, ef, s;
	gid_t gid, rg, eg, sg, groups[4];

	if (cn_privdrop_lookup("nobody", &uid, &gid, &e) != 0)
		return 1;
	if (cn_privdrop_to(uid, gid, CN_CAP(CAP_NET_ADMIN), &e) != 0) {
		fprintf(stderr, "%s\n", e.msg);
		return 2;
	}
	if (cn_privdrop_caps(&eff, &prm) || eff != CN_CAP(CAP_NET_ADMIN) ||
	    prm != CN_CAP(CAP_NET_ADMIN))
		return 3;
	if (bounding() != CN_CAP(CAP_NET_ADMIN))
		return 4;
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1 || prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)
		return 5;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_NET_ADMIN, 0, 0) != 0)
		return 6;
	if (getresuid(&r, &ef, &s) || r != uid || ef != uid || s != uid)
		return 7;
	if (getresgid(&rg, &eg, &sg) || rg != gid || eg != gid || sg != gid)
		return 8;
	if (getgroups(4, groups) != 1 || groups[0] != gid)
		return 9;
	if (setuid(0) != -1 || open(secret, O_RDONLY) != -1 || errno != EACCES)
		return 10;
	return 0;
}

static int child_drop(void)
{
	uint64_t eff = 1, prm = 1;
	uid_t uid;
	gid_t gid;
	struct cn_errbuf e = {{0}};

	if (cn_privdrop_lookup("nobody", &uid, &gid, &e) != 0)
		return 1;
	if (cn_privdrop_child(uid, gid) != 0)
		return 2;
	if (cn_privdrop_caps(&eff, &prm) || eff || prm || bounding() != 0)
		return 3;
	if (getuid() != uid || getgid() != gid || prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return 4;
	if (open(secret, O_RDONLY) != -1)
		return 5;
	return 0;
}

/* Unprivileged: lowering works, becoming someone else does not. */
static int unprivileged_lowers(void)
{
	struct cn_errbuf e = {{0}};
	uint64_t eff = 1, prm = 1;
	uid_t uid;
	gid_t gid;

	if (cn_privdrop_lookup("nobody", &uid, &gid, &e) != 0 || cn_privdrop_child(uid, gid))
		return 1;
	if (cn_privdrop_to(0, 0, 0, &e) != -CN_EPERM)
		return 2;
	if (cn_privdrop_to(uid, gid, CN_CAP(CAP_NET_ADMIN), &e) != 0)
		return 3;
	/* Not gained: it was not held. */
	if (cn_privdrop_caps(&eff, &prm) || eff || prm)
		return 4;
	return 0;
}

static void *sleeper(void *arg)
{
	(void)arg;
	pause();
	return NULL;
}

/* A second thread would keep its capabilities: refused before any change. */
static int threaded_refused(void)
{
	struct cn_errbuf e = {{0}};
	uint64_t eff = 0, prm = 0, eff2 = 0, prm2 = 0;
	pthread_t t;

	if (pthread_create(&t, NULL, sleeper, NULL) != 0)
		return 1;
	cn_privdrop_caps(&eff, &prm);
	if (cn_privdrop_to(getuid(), getgid(), 0, &e) != -CN_ESTATE || !strstr(e.msg, "threads"))
		return 2;
	if (cn_privdrop_caps(&eff2, &prm2) || eff2 != eff || prm2 != prm ||
	    prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 0)
		return 3;
	return 0;
}

static void test_threads_refused(void **state)
{
	(void)state;
	assert_int_equal(in_child(threaded_refused), 0);
}

static void test_lookup(void **state)
{
	struct cn_errbuf e = {{0}};
	uid_t uid = 7;
	gid_t gid = 7;

	(void)state;
	assert_int_equal(cn_privdrop_lookup("no-such-user-cairn-test", &uid, &gid, &e),
			 -CN_ENOTFOUND);
	assert_non_null(strstr(e.msg, "no-such-user-cairn-test"));
	assert_int_equal(cn_privdrop_lookup("", &uid, &gid, &e), -CN_EINVAL);
	assert_int_equal(cn_privdrop_lookup("root", &uid, &gid, &e), 0);
	assert_int_equal(uid, 0);
}

static void test_drop(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	assert_int_equal(in_child(drop_keep_net_admin), 0);
	assert_int_equal(in_child(child_drop), 0);
	assert_int_equal(in_child(unprivileged_lowers), 0);
}

static int setup(void **state)
{
	int fd;

	(void)state;
	snprintf(secret, sizeof(secret), "/tmp/cairn-test-privdrop.XXXXXX");
	fd = mkstemp(secret);
	if (fd < 0 || write(fd, "key\n", 4) != 4 || fchmod(fd, 0600) != 0)
		return -1;
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(secret);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_drop),
		cmocka_unit_test(test_threads_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
