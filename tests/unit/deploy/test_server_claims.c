/* SPDX-License-Identifier: MIT */
/*
 * The deploy listener (deploy/server.h) in-process on 127.0.0.1, spoken to
 * with plain sockets and the protocol codecs, the auth callback standing in
 * for the node (every connection is the allowed peer "ci"):
 *   - a manifest signed by a key other than the connecting peer's is
 *     refused (bad-sig, by name); the same push signed by ci is accepted;
 *   - while one push holds the store, a second (another artifact) is
 *     answered busy; once the first connection goes, a push is accepted
 *     again (the lock was released, nothing half done);
 *   - CN_DEPLOYD_MAX_CONNS connections (of several deployers) are served,
 *     one more is answered busy at once, and a place freed is usable again.
 * Every wait is bounded in time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <sodium.h>

#include "common/addr.h"
#include "common/err.h"
#include "common/log.h"
#include "crypto/keys.h"
#include "deploy/manifest.h"
#include "deploy/proto.h"
#include "deploy/server.h"

static struct event_base *base;
static struct cn_deployd *d;
static struct cn_identity *ci, *other;
static char dir[64];
static uint16_t port;

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void pump(unsigned int ms)
{
	uint64_t end = mono_ms() + ms;

	while (mono_ms() < end)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep(500);
}

/*
 * Every connection is a deployer holding ci's key; its name comes from its
 * source address (127.0.0.N is "ciN"), so the connection cap can be filled
 * by several deployers (each may hold only CN_DEPLOYD_MAX_CONNS_PER_PEER).
 */
static int auth(void *ctx, const struct sockaddr *sa, socklen_t len, struct cn_deployd_peer *out)
{
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

	(void)ctx;
	(void)len;
	memset(out, 0, sizeof(*out));
	if ((ntohl(s4->sin_addr.s_addr) & 0xff) == 1)
		snprintf(out->name, sizeof(out->name), "ci");
	else
		snprintf(out->name, sizeof(out->name), "ci%u",
			 (unsigned int)(ntohl(s4->sin_addr.s_addr) & 0xff));
	memcpy(out->key, ci->ed_pk, CN_KEY_LEN);
	out->allowed = true;
	return 0;
}

static uint16_t free_tcp_port(void)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) != 0) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	close(fd);
	return ntohs(sin.sin_port);
}

static int setup(void **state)
{
	struct cn_deployd_config cfg;
	struct cn_errbuf e = {{0}};
	char addr[32];

	(void)state;
	cn_log_set_level(getenv("CN_TEST_DEBUG") ? CN_LOG_DEBUG : CN_LOG_ERR);
	snprintf(dir, sizeof(dir), "/tmp/cn_test_deployd.XXXXXX");
	if (!mkdtemp(dir) || cn_identity_generate(&ci) || cn_identity_generate(&other))
		return -1;
	base = event_base_new();
	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.dir, sizeof(cfg.dir), "%s/store", dir);
	cfg.keep = 3;
	cfg.max_size = 1 << 20;
	cfg.hook_timeout_s = 5;
	snprintf(cfg.self, sizeof(cfg.self), "board");
	/* A port picked by bind-0-then-release may be taken before we listen: retry. */
	for (int i = 0; i < 3 && !d; i++) {
		port = free_tcp_port();
		snprintf(addr, sizeof(addr), "127.0.0.1:%u", (unsigned int)port);
		if (port && cn_addr_parse(addr, &cfg.listen) == 0)
			d = cn_deployd_new(base, &cfg, auth, NULL, &e);
	}
	if (!d)
		fprintf(stderr, "deployd: %s\n", e.msg);
	return d ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	cn_deployd_free(d);
	d = NULL;
	event_base_free(base);
	cn_identity_free(ci);
	cn_identity_free(other);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

/* A connection from 127.0.0.`from` (1: the usual loopback address). */
static int dial_from(unsigned int from)
{
	struct sockaddr_in sin = {.sin_family = AF_INET,
				  .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct sockaddr_in src = {.sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(0x7f000000 | from)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&src, sizeof(src)), 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	pump(50); /* the listener accepts */
	return fd;
}

static int dial(void)
{
	return dial_from(1);
}

/* A push of version `version` (10 bytes) whose manifest `signer` signed. */
static void send_push(int fd, const struct cn_identity *signer, const char *version)
{
	struct cn_deploy_manifest m;
	struct cn_dproto_push p = {0};
	uint8_t man[CN_DEPLOY_MANIFEST_MAX], frame[CN_DPROTO_FRAME_MAX];
	size_t mlen = 0, flen = 0;

	memset(&m, 0, sizeof(m));
	snprintf(m.app, sizeof(m.app), "app");
	snprintf(m.version, sizeof(m.version), "%s", version);
	m.size = 10;
	memset(m.hash, version[0], sizeof(m.hash));
	m.time = 1700000000;
	assert_int_equal(cn_deploy_manifest_sign(&m, signer, man, sizeof(man), &mlen), 0);
	p.manifest = man;
	p.manifest_len = mlen;
	assert_int_equal(cn_dproto_push_encode(&p, frame, sizeof(frame), &flen), 0);
	assert_int_equal(send(fd, frame, flen, MSG_NOSIGNAL), (ssize_t)flen);
}

/*
 * Reads one frame into buf (pumping the loop, at most 3 s): its type, or
 * 0 on end of stream / reset, -1 if nothing came.
 */
static int read_frame(int fd, uint8_t *buf, size_t cap, size_t *plen)
{
	uint64_t end = mono_ms() + 3000;
	size_t got = 0;
	uint8_t type;

	while (mono_ms() < end) {
		ssize_t k = recv(fd, buf + got, cap - got, MSG_DONTWAIT);

		if (k == 0 || (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
			return 0;
		if (k > 0)
			got += (size_t)k;
		if (cn_dproto_peek(buf, got, &type, plen) == 0)
			return type;
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		usleep(500);
	}
	return -1;
}

static void expect_result(int fd, uint8_t status, const char *text)
{
	static uint8_t buf[CN_DPROTO_FRAME_MAX];
	struct cn_dproto_result r;
	size_t plen = 0;

	assert_int_equal(read_frame(fd, buf, sizeof(buf), &plen), CN_DPROTO_RESULT);
	assert_int_equal(cn_dproto_result_decode(buf + CN_DPROTO_HDR, plen, &r), 0);
	if (r.status != status || !strstr(r.msg, text))
		fail_msg("result %u \"%s\"; expected %u with \"%s\"", r.status, r.msg, status,
			 text);
}

static void expect_accept(int fd)
{
	static uint8_t buf[CN_DPROTO_FRAME_MAX];
	uint64_t offset = 99;
	size_t plen = 0;

	assert_int_equal(read_frame(fd, buf, sizeof(buf), &plen), CN_DPROTO_ACCEPT);
	assert_int_equal(cn_dproto_accept_decode(buf + CN_DPROTO_HDR, plen, &offset), 0);
	assert_int_equal(offset, 0);
}

static void test_other_key(void **state)
{
	int fd;

	(void)state;
	fd = dial();
	send_push(fd, other, "1.0");
	expect_result(fd, CN_DSTATUS_BAD_SIG, "not signed by ci's key");
	close(fd);
	/* The same push signed by ci's own key is taken. */
	fd = dial();
	send_push(fd, ci, "1.0");
	expect_accept(fd);
	close(fd);
	pump(100);
}

static void test_busy(void **state)
{
	int first, second, third;

	(void)state;
	first = dial();
	send_push(first, ci, "1.0");
	expect_accept(first); /* holds the store, sends no data */
	second = dial();
	send_push(second, ci, "2.0");
	expect_result(second, CN_DSTATUS_BUSY, "another push or rollback is running");
	close(second);
	/* The first pusher goes away: its lock with it. */
	close(first);
	pump(200);
	third = dial();
	send_push(third, ci, "2.0");
	expect_accept(third);
	close(third);
	pump(100);
}

static void test_connection_cap(void **state)
{
	int fds[CN_DEPLOYD_MAX_CONNS], extra, again;

	(void)state;
	/* Deployers 10, 10, 11, 11, ...: each within its own share. */
	for (int i = 0; i < CN_DEPLOYD_MAX_CONNS; i++)
		fds[i] = dial_from(10 + (unsigned int)i / CN_DEPLOYD_MAX_CONNS_PER_PEER);
	/* One more, from a deployer with no connection yet: told busy at once. */
	extra = dial_from(200);
	expect_result(extra, CN_DSTATUS_BUSY, "deploy connections are in use");
	close(extra);
	/* The first eight are served. */
	send_push(fds[0], other, "1.0");
	expect_result(fds[0], CN_DSTATUS_BAD_SIG, "not signed");
	send_push(fds[CN_DEPLOYD_MAX_CONNS - 1], other, "1.0");
	expect_result(fds[CN_DEPLOYD_MAX_CONNS - 1], CN_DSTATUS_BAD_SIG, "not signed");
	/* A place freed is usable again. */
	for (int i = 0; i < CN_DEPLOYD_MAX_CONNS; i++)
		close(fds[i]);
	pump(200);
	again = dial();
	send_push(again, other, "1.0");
	expect_result(again, CN_DSTATUS_BAD_SIG, "not signed");
	close(again);
	pump(100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_other_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_busy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connection_cap, setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
