/* SPDX-License-Identifier: MIT */
/*
 * The deploy listener's slots (deploy/server.h), in process on 127.0.0.x
 * with an auth callback: a listed peer that may not deploy, holding many
 * connections inside announced 64 KiB frames, gets REFUSED at once and
 * keeps no deployer out; a deployer may hold only its share; a frame
 * trickled byte by byte loses its connection at the frame deadline even
 * though bytes keep coming; an address that names no peer is closed
 * without an answer. As root: the hook runs as the configured user with no
 * capability in any set and cannot read a root-owned 0600 key file.
 *
 *   127.0.0.1  "intruder", listed, not in a deploy group
 *   127.0.0.2  "ci", may deploy
 *   127.0.0.3  "ci2", may deploy
 *   other      not a peer
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>
#include <sodium.h>

#include "common/log.h"
#include "crypto/keys.h"
#include "deploy/manifest.h"
#include "deploy/proto.h"
#include "deploy/server.h"

static struct event_base *base;
static struct cn_deployd *d;
static char dir[64], hookdir[64];
static uint16_t port;
static struct cn_identity *ci_id; /* "ci"'s key: it signs the pushes */

static int auth(void *ctx, const struct sockaddr *sa, socklen_t len, struct cn_deployd_peer *out)
{
	const struct sockaddr_in *s = (const struct sockaddr_in *)sa;
	uint32_t ip = ntohl(s->sin_addr.s_addr);

	(void)ctx;
	(void)len;
	memset(out, 0, sizeof(*out));
	if (ip == 0x7f000001)
		snprintf(out->name, sizeof(out->name), "intruder");
	else if (ip == 0x7f000002 || ip == 0x7f000003)
		snprintf(out->name, sizeof(out->name), ip == 0x7f000002 ? "ci" : "ci2");
	else
		return -1;
	out->allowed = ip != 0x7f000001;
	if (ci_id)
		memcpy(out->key, ci_id->ed_pk, CN_KEY_LEN);
	return 0;
}

/* Runs the server's loop for about ms milliseconds. */
static void spin(int ms)
{
	for (int i = 0; i < ms / 5; i++) {
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		usleep(5000);
	}
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int start(unsigned int frame_timeout_s, const char *hook, const char *hook_user)
{
	struct cn_deployd_config c;
	struct cn_errbuf e = {{0}};
	struct sockaddr_in *l = (struct sockaddr_in *)&c.listen.ss;

	memset(&c, 0, sizeof(c));
	snprintf(dir, sizeof(dir), "/tmp/cairn-test-deployd.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	l->sin_family = AF_INET;
	l->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* A port of our own: the kernel picks a free one for a probe socket. */
	{
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in a = {.sin_family = AF_INET,
					.sin_addr.s_addr = htonl(0x7f000001)};
		socklen_t al = sizeof(a);

		if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) ||
		    getsockname(fd, (struct sockaddr *)&a, &al))
			return -1;
		port = ntohs(a.sin_port);
		close(fd);
	}
	l->sin_port = htons(port);
	c.listen.len = sizeof(*l);
	snprintf(c.dir, sizeof(c.dir), "%s", dir);
	snprintf(c.self, sizeof(c.self), "target");
	c.keep = 3;
	c.frame_timeout_s = frame_timeout_s;
	c.hook_timeout_s = 10;
	if (hook)
		snprintf(c.hook, sizeof(c.hook), "%s", hook);
	if (hook_user)
		snprintf(c.hook_user, sizeof(c.hook_user), "%s", hook_user);
	base = event_base_new();
	d = cn_deployd_new(base, &c, auth, NULL, &e);
	if (!d)
		fprintf(stderr, "%s\n", e.msg);
	return d ? 0 : -1;
}

static int setup_default(void **state)
{
	(void)state;
	return start(0, NULL, NULL);
}

static int setup_short_frames(void **state)
{
	(void)state;
	return start(1, NULL, NULL);
}

/*
 * A hook that reports who it is and what it may do, and tries the key:
 * a root-owned 0600 file, like /etc/cairn/node.key.
 */
static int setup_hook(void **state)
{
	char path[128], key[128];
	FILE *f;

	(void)state;
	if (geteuid() != 0)
		return 0; /* the test skips */
	snprintf(hookdir, sizeof(hookdir), "/tmp/cairn-test-hook.XXXXXX");
	if (!mkdtemp(hookdir) || chmod(hookdir, 0755) != 0)
		return -1;
	snprintf(key, sizeof(key), "%s/node.key", hookdir);
	f = fopen(key, "w");
	if (!f || fputs("secret\n", f) < 0 || fclose(f) != 0 || chmod(key, 0600) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/hook", hookdir);
	f = fopen(path, "w");
	if (!f ||
	    fprintf(f,
		    "#!/bin/sh\n"
		    "grep -E '^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs):' "
		    "/proc/self/status\n"
		    "if cat %s >/dev/null 2>&1; then echo key=read; else echo key=refused; fi\n"
		    "ls -l /proc/self/fd | grep -c -- '->' | sed 's/^/fds=/'\n",
		    key) < 0 ||
	    fclose(f) != 0 || chmod(path, 0755) != 0)
		return -1;
	if (cn_identity_generate(&ci_id) != 0)
		return -1;
	return start(0, path, "nobody");
}

static int teardown(void **state)
{
	(void)state;
	cn_deployd_free(d);
	event_base_free(base);
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	return 0;
}

static int teardown_hook(void **state)
{
	if (geteuid() != 0)
		return 0;
	teardown(state);
	nftw(hookdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	cn_identity_free(ci_id);
	ci_id = NULL;
	return 0;
}

/* A connection from 127.0.0.<host> to the listener (on 127.0.0.1). */
static int connect_from(int host)
{
	struct sockaddr_in me = {.sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(0x7f000000 | host)};
	struct sockaddr_in to = {.sin_family = AF_INET,
				 .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(0x7f000001)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&me, sizeof(me)), 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&to, sizeof(to)), 0);
	return fd;
}

/* Announces a 64 KiB DATA frame and sends its first byte. */
static void hold(int fd)
{
	uint8_t hdr[CN_DPROTO_HDR + 1];

	cn_dproto_header(hdr, CN_DPROTO_DATA, CN_DPROTO_DATA_MAX);
	hdr[CN_DPROTO_HDR] = 'x';
	assert_int_equal(send(fd, hdr, sizeof(hdr), MSG_NOSIGNAL), (ssize_t)sizeof(hdr));
}

static void send_list(int fd)
{
	struct cn_dproto_req q;
	uint8_t buf[CN_DPROTO_HDR + sizeof(q) + 8];
	size_t len = 0;

	memset(&q, 0, sizeof(q));
	assert_int_equal(cn_dproto_list_encode(&q, buf, sizeof(buf), &len), 0);
	assert_int_equal(send(fd, buf, len, MSG_NOSIGNAL), (ssize_t)len);
}

/*
 * What the server sent on fd: the type of its first frame (a RESULT's
 * status in *status), 0 for a closed connection without a byte, -1 for
 * nothing yet.
 */
static int answer(int fd, uint8_t *status)
{
	uint8_t buf[CN_DPROTO_FRAME_MAX];
	struct cn_dproto_result r;
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	size_t plen = 0;
	uint8_t type = 0;

	if (n < 0)
		return errno == ECONNRESET ? 0 : -1;
	if (n == 0)
		return 0;
	assert_int_equal(cn_dproto_peek(buf, (size_t)n, &type, &plen), 0);
	if (type == CN_DPROTO_RESULT) {
		assert_int_equal(cn_dproto_result_decode(buf + CN_DPROTO_HDR, plen, &r), 0);
		*status = r.status;
	}
	return type;
}

/* True once the server closed fd (EOF or reset after any answer bytes). */
static bool closed(int fd)
{
	uint8_t buf[CN_DPROTO_FRAME_MAX];
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		;
	return n == 0 || (n < 0 && errno == ECONNRESET);
}

/* The audit's attack: a non-deployer on every slot; deployers still get answers. */
static void test_non_deployer_takes_no_slot(void **state)
{
	int fds[2 * CN_DEPLOYD_MAX_CONNS], dep;
	uint8_t status = 0xff;

	(void)state;
	for (int i = 0; i < 2 * CN_DEPLOYD_MAX_CONNS; i++) {
		fds[i] = connect_from(1);
		hold(fds[i]);
	}
	spin(300);
	/* Refused at accept, with the reason, before it sent a whole request. */
	assert_int_equal(answer(fds[0], &status), CN_DPROTO_RESULT);
	assert_int_equal(status, CN_DSTATUS_REFUSED);
	for (int round = 0; round < 2; round++) {
		dep = connect_from(2);
		send_list(dep);
		spin(300);
		assert_int_equal(answer(dep, &status), CN_DPROTO_LIST_REPLY);
		close(dep);
		for (int i = 0; i < 2 * CN_DEPLOYD_MAX_CONNS; i++)
			send(fds[i], "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	/* The refused connections are gone after the linger, trickle or not. */
	spin((CN_DEPLOYD_REFUSE_LINGER_S + 1) * 1000);
	assert_true(closed(fds[1]));
	for (int i = 0; i < 2 * CN_DEPLOYD_MAX_CONNS; i++)
		close(fds[i]);
}

/* One deployer holds at most its share; another deployer is still served. */
static void test_per_peer_cap(void **state)
{
	int held[CN_DEPLOYD_MAX_CONNS_PER_PEER], extra, other;
	uint8_t status = 0xff;

	(void)state;
	for (int i = 0; i < CN_DEPLOYD_MAX_CONNS_PER_PEER; i++) {
		held[i] = connect_from(2);
		hold(held[i]);
	}
	spin(200);
	assert_int_equal(answer(held[0], &status), -1); /* still inside its frame */
	extra = connect_from(2);
	send_list(extra);
	spin(200);
	assert_int_equal(answer(extra, &status), CN_DPROTO_RESULT);
	assert_int_equal(status, CN_DSTATUS_BUSY);
	other = connect_from(3);
	send_list(other);
	spin(200);
	assert_int_equal(answer(other, &status), CN_DPROTO_LIST_REPLY);
	close(extra);
	close(other);
	for (int i = 0; i < CN_DEPLOYD_MAX_CONNS_PER_PEER; i++)
		close(held[i]);
}

/* An address that names no peer: closed at once, not a byte of answer. */
static void test_stranger_closed(void **state)
{
	int fd = connect_from(9);
	uint8_t status = 0xff;

	(void)state;
	spin(200);
	assert_int_equal(answer(fd, &status), 0);
	close(fd);
}

/* A byte every 100 ms never trips the 60 s idle timer; the 1 s frame deadline does. */
static void test_frame_deadline(void **state)
{
	int fd = connect_from(2), ok;
	uint8_t status = 0xff;
	bool gone = false;

	(void)state;
	hold(fd);
	for (int i = 0; i < 25 && !gone; i++) {
		spin(100);
		send(fd, "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		gone = closed(fd);
	}
	assert_true(gone);
	/* A request that arrives whole in time is served as always. */
	ok = connect_from(3);
	send_list(ok);
	spin(200);
	assert_int_equal(answer(ok, &status), CN_DPROTO_LIST_REPLY);
	close(fd);
	close(ok);
}

/* The value of "Name:" in the hook's output, or NULL. */
static const char *field(const char *out, const char *name, char *val, size_t cap)
{
	const char *p = strstr(out, name);
	size_t n = 0;

	if (!p)
		return NULL;
	p += strlen(name);
	while (*p == ' ' || *p == '\t')
		p++;
	while (p[n] && p[n] != '\n' && n + 1 < cap)
		n++;
	while (n > 0 && p[n - 1] == ' ')
		n--;
	memcpy(val, p, n);
	val[n] = 0;
	return val;
}

static void test_hook_unprivileged(void **state)
{
	static const char body[] = "artifact bytes\n";
	uint8_t man[CN_DEPLOY_MANIFEST_MAX], buf[CN_DPROTO_FRAME_MAX];
	struct cn_deploy_manifest m;
	struct cn_dproto_push push;
	struct cn_dproto_result r;
	char out[CN_DPROTO_TAIL_MAX + 1], v[64], want_uid[64];
	size_t mlen = 0, len = 0, have = 0, plen = 0;
	uint8_t type = 0;
	int fd;

	(void)state;
	if (geteuid() != 0)
		skip();
	memset(&m, 0, sizeof(m));
	snprintf(m.app, sizeof(m.app), "app");
	snprintf(m.version, sizeof(m.version), "1.0");
	m.size = sizeof(body) - 1;
	crypto_generichash(m.hash, CN_DEPLOY_HASH_LEN, (const uint8_t *)body, m.size, NULL, 0);
	m.time = 1700000000;
	assert_int_equal(cn_deploy_manifest_sign(&m, ci_id, man, sizeof(man), &mlen), 0);
	push.activate = true;
	push.manifest = man;
	push.manifest_len = mlen;
	assert_int_equal(cn_dproto_push_encode(&push, buf, sizeof(buf), &len), 0);
	fd = connect_from(2);
	assert_int_equal(send(fd, buf, len, MSG_NOSIGNAL), (ssize_t)len);
	cn_dproto_header(buf, CN_DPROTO_DATA, m.size);
	memcpy(buf + CN_DPROTO_HDR, body, m.size);
	assert_int_equal(send(fd, buf, CN_DPROTO_HDR + m.size, MSG_NOSIGNAL),
			 (ssize_t)(CN_DPROTO_HDR + m.size));
	/* ACCEPT, then the RESULT once the hook exited; bounded wait. */
	for (int i = 0; i < 100; i++) {
		ssize_t n;

		spin(50);
		n = recv(fd, buf + have, sizeof(buf) - have, MSG_DONTWAIT);
		if (n > 0)
			have += (size_t)n;
		if (have >= CN_DPROTO_HDR && cn_dproto_peek(buf, have, &type, &plen) == 0 &&
		    type == CN_DPROTO_ACCEPT) {
			memmove(buf, buf + CN_DPROTO_HDR + plen, have - CN_DPROTO_HDR - plen);
			have -= CN_DPROTO_HDR + plen;
		}
		if (have >= CN_DPROTO_HDR && cn_dproto_peek(buf, have, &type, &plen) == 0 &&
		    type == CN_DPROTO_RESULT)
			break;
	}
	assert_int_equal(type, CN_DPROTO_RESULT);
	assert_int_equal(cn_dproto_result_decode(buf + CN_DPROTO_HDR, plen, &r), 0);
	memcpy(out, r.tail, r.tail_len);
	out[r.tail_len] = 0;
	print_message("hook said:\n%s", out);
	assert_true(r.hook_ran);
	assert_int_equal(r.hook_exit, 0);
	/* The configured user, no capability in any set, no way to gain one. */
	snprintf(want_uid, sizeof(want_uid), "65534\t65534\t65534\t65534");
	assert_non_null(field(out, "Uid:", v, sizeof(v)));
	assert_string_equal(v, want_uid);
	assert_non_null(field(out, "Groups:", v, sizeof(v)));
	assert_string_equal(v, "65534");
	for (size_t i = 0; i < 5; i++) {
		static const char *const sets[] = {
			"CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:"};

		assert_non_null(field(out, sets[i], v, sizeof(v)));
		assert_string_equal(v, "0000000000000000");
	}
	assert_non_null(field(out, "NoNewPrivs:", v, sizeof(v)));
	assert_string_equal(v, "1");
	assert_non_null(strstr(out, "key=refused"));
	/* ls's own 0, 1, 2 and its directory: nothing of the node's leaked. */
	assert_non_null(strstr(out, "fds=4\n"));
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_non_deployer_takes_no_slot, setup_default,
						teardown),
		cmocka_unit_test_setup_teardown(test_per_peer_cap, setup_default, teardown),
		cmocka_unit_test_setup_teardown(test_stranger_closed, setup_default, teardown),
		cmocka_unit_test_setup_teardown(test_frame_deadline, setup_short_frames, teardown),
		cmocka_unit_test_setup_teardown(test_hook_unprivileged, setup_hook, teardown_hook),
	};

	signal(SIGPIPE, SIG_IGN);
	if (sodium_init() < 0)
		return 1;
	cn_log_set_level(CN_LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
