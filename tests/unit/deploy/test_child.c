/* SPDX-License-Identifier: MIT */
/*
 * cn_child (deploy/child.h), with /bin/sh as the program: the exit status
 * and the output's tail reach the callback; only the last
 * CN_CHILD_TAIL_MAX bytes are kept; the deadline kills the whole group;
 * an exec failure is refused at start with nothing left running; the
 * child sees only the environment given, runs in the directory given and
 * inherits no descriptor; freeing a running child kills and reaps it.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "common/log.h"
#include "deploy/child.h"

struct outcome {
	bool done;
	int status;
	bool killed;
	char tail[CN_CHILD_TAIL_MAX + 1];
	size_t tail_len;
	struct cn_child *free_me; /* freed in the callback, as server.c does */
};

static void on_done(void *arg, int status, bool killed, const uint8_t *tail, size_t tail_len)
{
	struct outcome *o = arg;

	o->done = true;
	o->status = status;
	o->killed = killed;
	memcpy(o->tail, tail, tail_len);
	o->tail[tail_len] = '\0';
	o->tail_len = tail_len;
	cn_child_free(o->free_me);
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Runs sh -c script (environment env, or just PATH) to its end, at most limit_s. */
static void run(const char *script, char *const *env, unsigned int timeout_s, double limit_s,
		struct outcome *o)
{
	static char path_env[] = "PATH=/usr/bin:/bin";
	char *const def_env[] = {path_env, NULL};
	char sh[] = "/bin/sh", dash_c[] = "-c", *scr = strdup(script);
	char *const argv[] = {sh, dash_c, scr, NULL};
	struct cn_child_spec s = {.path = "/bin/sh",
				  .argv = argv,
				  .envp = env ? env : def_env,
				  .dir = "/",
				  .uid = geteuid(),
				  .gid = getegid(),
				  .timeout_s = timeout_s,
				  .what = "test child"};
	struct event_base *base = event_base_new();
	struct cn_errbuf e = {{0}};
	struct timeval tick = {0, 20000};
	double t0 = now_s();

	assert_non_null(scr);
	assert_non_null(base);
	memset(o, 0, sizeof(*o));
	assert_int_equal(cn_child_start(base, &s, on_done, o, &o->free_me, &e), 0);
	assert_true(cn_child_pid(o->free_me) > 0);
	while (!o->done && now_s() - t0 < limit_s) {
		event_base_loopexit(base, &tick);
		event_base_dispatch(base);
	}
	assert_true(o->done);
	event_base_free(base);
	free(scr);
}

static void test_status_and_output(void **state)
{
	struct outcome o;

	(void)state;
	run("echo hello; echo err >&2; exit 3", NULL, 10, 10, &o);
	assert_false(o.killed);
	assert_true(WIFEXITED(o.status));
	assert_int_equal(WEXITSTATUS(o.status), 3);
	assert_string_equal(o.tail, "hello\nerr\n");
}

/* 10,000 bytes of output then END: the tail is the last 4096, ending in END. */
static void test_tail_is_the_last_bytes(void **state)
{
	struct outcome o;

	(void)state;
	run("i=0; while [ $i -lt 100 ]; do printf '%0100d' $i; i=$((i+1)); done; printf END", NULL,
	    10, 10, &o);
	assert_true(WIFEXITED(o.status));
	assert_int_equal(WEXITSTATUS(o.status), 0);
	assert_int_equal(o.tail_len, CN_CHILD_TAIL_MAX);
	assert_memory_equal(o.tail + CN_CHILD_TAIL_MAX - 3, "END", 3);
	/* The bytes before END are the end of record 99 ("...0099"). */
	assert_memory_equal(o.tail + CN_CHILD_TAIL_MAX - 7, "0099", 4);
}

/* Whether pid is gone or a zombie (killed, not yet reaped by its new parent), within 2 s. */
static bool dies(pid_t pid)
{
	char path[64], buf[256];
	double t0 = now_s();

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	while (now_s() - t0 < 2) {
		FILE *f = fopen(path, "r");
		const char *paren;

		if (!f)
			return true;
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = '\0';
		fclose(f);
		paren = strrchr(buf, ')');
		if (paren && paren[1] == ' ' && (paren[2] == 'Z' || paren[2] == 'X'))
			return true;
		usleep(20000);
	}
	return false;
}

/* A child that outlives the deadline is killed with its own children (the group). */
static void test_deadline_kills_the_group(void **state)
{
	struct outcome o;
	double t0 = now_s();
	long bg;

	(void)state;
	run("sleep 30 & echo $!; wait", NULL, 1, 10, &o);
	assert_true(o.killed);
	assert_true(WIFSIGNALED(o.status));
	assert_int_equal(WTERMSIG(o.status), SIGKILL);
	assert_true(now_s() - t0 < 5);
	bg = strtol(o.tail, NULL, 10);
	assert_true(bg > 1);
	assert_true(dies((pid_t)bg)); /* the background sleep too */
}

static void test_exec_failure_refused(void **state)
{
	char prog[] = "/nonexistent/cairn-test-hook";
	char *const argv[] = {prog, NULL};
	char *const envp[] = {NULL};
	struct cn_child_spec s = {.path = prog,
				  .argv = argv,
				  .envp = envp,
				  .dir = "/",
				  .uid = geteuid(),
				  .gid = getegid(),
				  .timeout_s = 5,
				  .what = "hook x for app 1"};
	struct event_base *base = event_base_new();
	struct cn_errbuf e = {{0}};
	struct cn_child *c = (struct cn_child *)1;
	int st;

	(void)state;
	assert_int_equal(cn_child_start(base, &s, on_done, NULL, &c, &e), -CN_EIO);
	assert_null(c);
	assert_non_null(strstr(e.msg, "cannot run hook x for app 1: No such file"));
	/* Reaped already: no child of ours is left. */
	assert_int_equal(waitpid(-1, &st, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
	/* Bad arguments. */
	s.dir = NULL;
	assert_int_equal(cn_child_start(base, &s, on_done, NULL, &c, &e), -CN_EINVAL);
	event_base_free(base);
}

/* Only the environment given; the directory given; no descriptor of ours. */
static void test_environment_dir_descriptors(void **state)
{
	char a[] = "CAIRN_TEST=1", path_env[] = "PATH=/usr/bin:/bin";
	char *const env[] = {a, path_env, NULL};
	struct outcome o;
	int fd = open("/dev/null", O_RDONLY); /* no O_CLOEXEC: would be inherited */

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(dup2(fd, 50), 50);
	setenv("CAIRN_TEST_LEAK", "1", 1);
	run("echo \"$CAIRN_TEST ${CAIRN_TEST_LEAK:-unset} ${HOME:-unset}\"; pwd; "
	    "[ -e /proc/self/fd/50 ] && echo fd50 open || echo fd50 closed",
	    env, 10, 10, &o);
	close(50);
	close(fd);
	unsetenv("CAIRN_TEST_LEAK");
	assert_int_equal(WEXITSTATUS(o.status), 0);
	assert_string_equal(o.tail, "1 unset unset\n/\nfd50 closed\n");
}

/* Freed while it runs: killed and reaped at once, no callback. */
static void test_free_kills_and_reaps(void **state)
{
	static char path_env[] = "PATH=/usr/bin:/bin";
	char sh[] = "/bin/sh", dash_c[] = "-c", scr[] = "sleep 30";
	char *const argv[] = {sh, dash_c, scr, NULL};
	char *const envp[] = {path_env, NULL};
	struct cn_child_spec s = {.path = sh,
				  .argv = argv,
				  .envp = envp,
				  .dir = "/",
				  .uid = geteuid(),
				  .gid = getegid(),
				  .timeout_s = 60};
	struct event_base *base = event_base_new();
	struct cn_errbuf e = {{0}};
	struct outcome o = {0};
	struct cn_child *c = NULL;
	double t0 = now_s();
	pid_t pid;
	int st;

	(void)state;
	assert_int_equal(cn_child_start(base, &s, on_done, &o, &c, &e), 0);
	pid = cn_child_pid(c);
	cn_child_free(c);
	assert_false(o.done);
	assert_true(now_s() - t0 < 5);
	assert_int_equal(kill(pid, 0), -1);
	assert_int_equal(errno, ESRCH);
	assert_int_equal(waitpid(-1, &st, WNOHANG), -1);
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_and_output),
		cmocka_unit_test(test_tail_is_the_last_bytes),
		cmocka_unit_test(test_deadline_kills_the_group),
		cmocka_unit_test(test_exec_failure_refused),
		cmocka_unit_test(test_environment_dir_descriptors),
		cmocka_unit_test(test_free_kills_and_reaps),
	};

	cn_log_set_level(CN_LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
