/* SPDX-License-Identifier: MIT */
/*
 * ICE sessions on loopback (127.0.0.1 only), two per test in one process and
 * one libevent loop: SDP and "done" are signalled through the callbacks;
 * both sides must select a direct pair, after which datagrams go both ways
 * with plain sendto/recv on the taken-over sockets and libnice is gone
 * (one fd per socket, same port, no STUN but the peer's one in-flight
 * indication). Also: refusals of a remote SDP that change nothing (the
 * check itself is tested in test_ice_sdp.c), bad configurations, a dead remote port (failed when
 * the check timer ends), a silent STUN server (gather timer), a late SDP on the controlled side
 * (the reason for "done"), the linger without "done", cn_ice_free inside callbacks and mid-check;
 * and with a coturn the test starts and kills by pid (a missing turnserver fails the TURN cases:
 * deploy/scripts/install-deps.sh installs coturn): TURN
 * relay-relay with data through cn_ice_send/recv, TURN configured but a
 * host pair (deallocation before the handover), STUN, and a mixed pair.
 * Timings are printed as "# ..." lines.
 *
 * Callbacks only record; assertions run in the test bodies (a longjmp out
 * of a libevent callback would leave the loop marked running). Every wait
 * is bounded in time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "nat/glib_event.h"
#include "nat/ice.h"

extern char **environ;

struct side {
	const char *name;
	struct cn_ice *ice;
	struct side *peer;
	bool controlling;
	bool auto_sdp;		   /* forward local_sdp to the peer from the callback */
	unsigned int sdp_delay_ms; /* ... after this long */
	bool free_in_local_sdp, free_in_selected, free_in_failed;
	unsigned int free_after_recv; /* cn_ice_free inside recv at this count */
	bool freed;
	unsigned int after_free; /* callbacks after cn_ice_free: must stay 0 */

	char sdp[CN_ICE_SDP_MAX + 1];
	bool got_sdp, done, selected, failed;
	int set_remote_ret;
	enum cn_ice_path path;
	int fd;
	struct sockaddr_storage remote;
	socklen_t remote_len;
	char ltype[8], rtype[8], why[128];
	uint64_t t0, t_sdp, t_done, t_sel, t_fail;
	unsigned int nrecv, stray_stun;
	uint8_t last[256];
	size_t last_len;
	struct event *delay_ev;
};

static struct event_base *base;
static struct cn_glib_loop *gl;
static struct event *tick;
static const char *const lo[] = {"127.0.0.1"};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

/* The tick (every 5 ms) makes EVLOOP_ONCE return, so the deadline is checked. */
#define RUN_UNTIL(cond, max_ms)                             \
	do {                                                \
		uint64_t end_ = mono_ms() + (max_ms);       \
		while (!(cond) && mono_ms() < end_)         \
			event_base_loop(base, EVLOOP_ONCE); \
	} while (0)

static void run_for(unsigned int ms)
{
	RUN_UNTIL(false, ms);
}

static void deliver_sdp(struct side *s)
{
	struct side *p = s->peer;

	if (p && p->ice)
		p->set_remote_ret = cn_ice_set_remote_sdp(p->ice, s->sdp);
}

static void on_delay(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	deliver_sdp(arg);
}

static bool gone(struct side *s)
{
	if (s->freed)
		s->after_free++;
	return s->freed;
}

static void free_side(struct side *s)
{
	cn_ice_free(s->ice);
	s->ice = NULL;
	s->freed = true;
}

static void cb_local_sdp(void *arg, const char *sdp)
{
	struct side *s = arg;

	if (gone(s))
		return;
	snprintf(s->sdp, sizeof(s->sdp), "%s", sdp);
	s->got_sdp = true;
	s->t_sdp = mono_ms();
	if (s->free_in_local_sdp) {
		free_side(s);
		return;
	}
	if (!s->auto_sdp)
		return;
	if (s->sdp_delay_ms) {
		struct timeval tv = {0, (suseconds_t)s->sdp_delay_ms * 1000};

		s->delay_ev = evtimer_new(base, on_delay, s);
		evtimer_add(s->delay_ev, &tv);
	} else {
		deliver_sdp(s);
	}
}

static void cb_local_done(void *arg)
{
	struct side *s = arg;

	if (gone(s))
		return;
	s->done = true;
	s->t_done = mono_ms();
	if (s->peer && s->peer->ice)
		cn_ice_set_remote_done(s->peer->ice);
}

static void cb_selected(void *arg, enum cn_ice_path path, int fd, const struct sockaddr *remote,
			socklen_t remote_len, const char *local_type, const char *remote_type)
{
	struct side *s = arg;

	if (gone(s)) {
		if (fd >= 0)
			close(fd);
		return;
	}
	s->selected = true;
	s->t_sel = mono_ms();
	s->path = path;
	s->fd = fd;
	if (remote_len <= sizeof(s->remote)) {
		memcpy(&s->remote, remote, remote_len);
		s->remote_len = remote_len;
	}
	snprintf(s->ltype, sizeof(s->ltype), "%s", local_type);
	snprintf(s->rtype, sizeof(s->rtype), "%s", remote_type);
	if (s->free_in_selected)
		free_side(s);
}

static void cb_failed(void *arg, const char *why)
{
	struct side *s = arg;

	if (gone(s))
		return;
	s->failed = true;
	s->t_fail = mono_ms();
	snprintf(s->why, sizeof(s->why), "%s", why);
	if (s->free_in_failed)
		free_side(s);
}

static void cb_recv(void *arg, const uint8_t *buf, size_t len)
{
	struct side *s = arg;

	if (gone(s))
		return;
	s->nrecv++;
	s->last_len = len < sizeof(s->last) ? len : sizeof(s->last);
	memcpy(s->last, buf, s->last_len);
	if (s->free_after_recv && s->nrecv == s->free_after_recv)
		free_side(s);
}

static const struct cn_ice_cbs cbs = {
	.local_sdp = cb_local_sdp,
	.local_done = cb_local_done,
	.selected = cb_selected,
	.failed = cb_failed,
	.recv = cb_recv,
};

static struct cn_ice_config lo_config(void)
{
	struct cn_ice_config c = {.local_addrs = lo, .nlocal_addrs = 1};

	return c;
}

static void side_init(struct side *s, const char *name, bool controlling, struct side *peer)
{
	memset(s, 0, sizeof(*s));
	s->name = name;
	s->controlling = controlling;
	s->peer = peer;
	s->fd = -1;
	s->auto_sdp = true;
}

/*
 * A fixed local_port comes from a bind-0-then-release, which another
 * process may take before libnice binds it: then up to two more ports are
 * tried (cfg->local_port is updated, the test checks the port kept).
 */
static uint16_t free_udp_port(void);

static void side_start(struct side *s, struct cn_ice_config *cfg, const struct cn_ice_cbs *c)
{
	struct cn_errbuf e = {{0}};

	for (int i = 0; i < 3; i++) {
		s->t0 = mono_ms();
		s->ice = cn_ice_new(gl, cfg, s->controlling, c, s, &e);
		if (s->ice || !cfg->local_port)
			break;
		fprintf(stderr, "cn_ice_new(%s) on port %u: %s; another port\n", s->name,
			(unsigned int)cfg->local_port, e.msg);
		cfg->local_port = free_udp_port();
	}
	if (!s->ice)
		fprintf(stderr, "cn_ice_new(%s): %s\n", s->name, e.msg);
	assert_non_null(s->ice);
}

static void side_cleanup(struct side *s)
{
	if (s->ice)
		cn_ice_free(s->ice);
	s->ice = NULL;
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	if (s->delay_ev)
		event_free(s->delay_ev);
	s->delay_ev = NULL;
}

static uint16_t sa_port(const struct sockaddr_storage *ss)
{
	return ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

static uint16_t local_port_of(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	return sa_port(&ss);
}

/* A port nothing listens on (bound, read, closed: a short race at worst). */
static uint16_t free_udp_port(void)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd);
	return ntohs(sin.sin_port);
}

/* How many of our fds refer to the same socket as fd (1: libnice closed its own). */
static unsigned int fds_on_same_socket(int fd)
{
	char path[64], target[128], mine[128];
	unsigned int n = 0;
	struct dirent *d;
	DIR *dir;
	ssize_t k;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	k = readlink(path, mine, sizeof(mine) - 1);
	assert_true(k > 0);
	mine[k] = '\0';
	dir = opendir("/proc/self/fd");
	assert_non_null(dir);
	while ((d = readdir(dir))) {
		k = readlinkat(dirfd(dir), d->d_name, target, sizeof(target) - 1);
		if (k <= 0)
			continue;
		target[k] = '\0';
		n += strcmp(target, mine) == 0;
	}
	closedir(dir);
	return n;
}

static bool is_stun(const uint8_t *b, size_t n)
{
	return n >= 20 && (b[0] & 0xc0) == 0 && b[4] == 0x21 && b[5] == 0x12 && b[6] == 0xa4 &&
	       b[7] == 0x42;
}

/* Sends count datagrams "<from>-><to> <i>" on a taken-over socket. */
static void send_fd(struct side *from, const char *to, unsigned int count)
{
	for (unsigned int i = 0; i < count; i++) {
		char msg[64];
		int n = snprintf(msg, sizeof(msg), "%s->%s %u", from->name, to, i);

		assert_int_equal(sendto(from->fd, msg, (size_t)n, 0,
					(const struct sockaddr *)&from->remote, from->remote_len),
				 n);
	}
}

/*
 * Reads count datagrams "<from>-><to> <i>" in order from a taken-over
 * socket, dropping STUN as the caller must (ice.h); the loop keeps running.
 */
static void recv_fd(struct side *to, const char *from, unsigned int count)
{
	uint64_t end = mono_ms() + 3000;
	unsigned int got = 0;

	while (got < count && mono_ms() < end) {
		uint8_t buf[2048];
		char want[64];
		ssize_t n;

		while ((n = recv(to->fd, buf, sizeof(buf), 0)) > 0) {
			if (is_stun(buf, (size_t)n)) {
				/* A peer's agent sends a Binding Indication (0x0011) when
				 * its pair is selected (and every 25 s while it lives);
				 * one sent before its takeover may land after ours. So
				 * may, on a loaded machine, a check or its answer that
				 * was in flight at the takeover (Request 0x0001, Success
				 * 0x0101, Error 0x0111). Nothing but Binding (method 1,
				 * the class bits masked out) may come. */
				assert_int_equal((buf[0] << 8 | buf[1]) & 0x3eef, 0x0001);
				to->stray_stun++;
				continue;
			}
			snprintf(want, sizeof(want), "%s->%s %u", from, to->name, got);
			assert_int_equal((size_t)n, strlen(want));
			assert_memory_equal(buf, want, (size_t)n);
			got++;
		}
		assert_true(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
		if (got < count)
			run_for(2);
	}
	assert_int_equal(got, count);
}

static void exchange(struct side *from, struct side *to, unsigned int count)
{
	send_fd(from, to->name, count);
	recv_fd(to, from->name, count);
}

/* Nothing at all (no STUN from a leftover agent) arrives for ms. */
static void expect_silence(int fd, unsigned int ms)
{
	uint64_t end = mono_ms() + ms;

	while (mono_ms() < end) {
		struct pollfd p = {.fd = fd, .events = POLLIN};

		run_for(5); /* let glib run too: a leftover agent would send from there */
		assert_int_equal(poll(&p, 1, 20), 0);
	}
}

static void check_taken_over(struct side *s)
{
	int fl;

	assert_true(s->selected);
	assert_int_equal(s->path, CN_ICE_DIRECT);
	assert_true(s->fd >= 0);
	fl = fcntl(s->fd, F_GETFL);
	assert_true(fl >= 0 && (fl & O_NONBLOCK));
	assert_true(fcntl(s->fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(fds_on_same_socket(s->fd), 1);
	assert_int_equal(s->remote.ss_family, AF_INET);
	assert_int_equal(s->after_free, 0);
}

/* ---- fixtures ---- */

static int setup(void **state)
{
	struct timeval tv = {0, 5000};

	(void)state;
	base = event_base_new();
	gl = base ? cn_glib_loop_new(base) : NULL;
	tick = base ? event_new(base, -1, EV_PERSIST, on_tick, NULL) : NULL;
	if (!gl || !tick || event_add(tick, &tv) != 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	cn_glib_loop_free(gl);
	gl = NULL;
	/* Everything the adapter and the sessions registered is gone: only the tick. */
	assert_int_equal(event_base_get_num_events(base, EVENT_BASE_COUNT_ADDED), 1);
	event_free(tick);
	event_base_free(base);
	return 0;
}

/* ---- tests ---- */

static void test_bad_config(void **state)
{
	struct cn_ice_config c = lo_config();
	struct cn_errbuf e = {{0}};
	static const char *const name[] = {"localhost"};
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t slen = sizeof(sin);
	struct side s;
	int fd;

	(void)state;
	side_init(&s, "x", true, NULL);
	snprintf(c.stun.host, sizeof(c.stun.host), "stun.example.com");
	c.stun.port = 3478;
	assert_null(cn_ice_new(gl, &c, true, &cbs, &s, &e));
	assert_non_null(strstr(e.msg, "not an IP address"));

	c = lo_config();
	c.nturn = 3;
	assert_null(cn_ice_new(gl, &c, true, &cbs, &s, &e));

	c = lo_config();
	c.force_relay = true;
	assert_null(cn_ice_new(gl, &c, true, &cbs, &s, &e));

	c = lo_config();
	c.nturn = 1;
	snprintf(c.turn[0].host, sizeof(c.turn[0].host), "127.0.0.1");
	c.turn[0].port = 3478;
	assert_null(cn_ice_new(gl, &c, true, &cbs, &s, &e)); /* no credentials */
	assert_non_null(strstr(e.msg, "user"));

	c = lo_config();
	c.local_addrs = name;
	assert_null(cn_ice_new(gl, &c, true, &cbs, &s, &e));

	/* local_port already taken. */
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &slen), 0);
	c = lo_config();
	c.local_port = ntohs(sin.sin_port);
	assert_null(cn_ice_new(gl, &c, true, &cbs, &s, &e));
	printf("# local_port in use: %s\n", e.msg);
	close(fd);
	run_for(20);
	assert_false(s.got_sdp || s.selected || s.failed);
}

/*
 * Host to host. A is controlling with a fixed local port; the SDPs are
 * delivered by hand so malformed ones can be refused first; both sessions
 * are freed inside `selected`, as the node will do.
 */
static void test_direct(void **state)
{
	struct cn_ice_config ca = lo_config(), cb = lo_config();
	struct side a, b;
	const char *bad = "a=ice-ufrag:abcd\na=ice-pwd:abcdefghijklmnopqrstuv\na=candidate:1 1 UDP";

	(void)state;
	side_init(&a, "A", true, &b);
	side_init(&b, "B", false, &a);
	a.auto_sdp = b.auto_sdp = false;
	a.free_in_selected = b.free_in_selected = true;
	ca.local_port = free_udp_port();
	side_start(&a, &ca, &cbs);
	side_start(&b, &cb, &cbs);
	assert_int_equal(cn_ice_send(a.ice, (const uint8_t *)"x", 1), -CN_ESTATE);

	RUN_UNTIL(a.got_sdp && b.got_sdp, 2000);
	assert_true(a.got_sdp && b.got_sdp);
	assert_int_equal(cn_ice_sdp_check(a.sdp, NULL), 0);
	assert_int_equal(cn_ice_sdp_check(b.sdp, NULL), 0);
	printf("# gathering: A %llu ms, B %llu ms; A's SDP (%zu bytes):\n%s",
	       (unsigned long long)(a.t_sdp - a.t0), (unsigned long long)(b.t_sdp - b.t0),
	       strlen(a.sdp), a.sdp);

	/* Refusals leave no trace: the good SDP is still accepted afterwards. */
	assert_int_equal(cn_ice_set_remote_sdp(b.ice, NULL), -CN_EINVAL);
	assert_int_equal(cn_ice_set_remote_sdp(b.ice, bad), -CN_EFORMAT);
	assert_int_equal(cn_ice_set_remote_sdp(b.ice, "a=ice-ufrag:abcd\x01"), -CN_EFORMAT);
	assert_int_equal(cn_ice_set_remote_sdp(a.ice, "garbage"), -CN_EFORMAT);
	a.t0 = b.t0 = mono_ms(); /* time the checks from here (gathering measured above) */
	assert_int_equal(cn_ice_set_remote_sdp(a.ice, b.sdp), 0);
	assert_int_equal(cn_ice_set_remote_sdp(b.ice, a.sdp), 0);
	assert_int_equal(cn_ice_set_remote_sdp(b.ice, a.sdp), -CN_ESTATE);

	RUN_UNTIL(a.selected && b.selected, 5000);
	assert_false(a.failed || b.failed);
	check_taken_over(&a);
	check_taken_over(&b);
	assert_null(a.ice);
	assert_null(b.ice);
	assert_string_equal(a.ltype, "host");
	assert_string_equal(a.rtype, "host");
	printf("# direct host-host: remote SDP set -> selected: A %llu ms, B %llu ms "
	       "(done after %llu / %llu ms)\n",
	       (unsigned long long)(a.t_sel - a.t0), (unsigned long long)(b.t_sel - b.t0),
	       (unsigned long long)(a.t_done - a.t0), (unsigned long long)(b.t_done - b.t0));

	/* Same local port as the candidate, as the peer sees it. */
	assert_int_equal(local_port_of(a.fd), ca.local_port);
	assert_int_equal(sa_port(&b.remote), ca.local_port);
	assert_int_equal(sa_port(&a.remote), local_port_of(b.fd));

	exchange(&a, &b, 200);
	exchange(&b, &a, 200);
	printf("# stray STUN Binding messages after takeover: A %u, B %u\n", a.stray_stun,
	       b.stray_stun);
	assert_true(a.stray_stun + b.stray_stun <= 2);
	/* libnice is gone on both sides: nothing more, not even keepalives. */
	expect_silence(a.fd, 300);
	expect_silence(b.fd, 0);
	side_cleanup(&a);
	side_cleanup(&b);
}

/* Signalling from the callbacks; the whole run from cn_ice_new timed. */
static void test_direct_timing(void **state)
{
	struct cn_ice_config c = lo_config();
	struct side a, b;
	uint64_t best = UINT64_MAX, worst = 0;

	(void)state;
	for (int round = 0; round < 5; round++) {
		side_init(&a, "A", round % 2 == 0, &b);
		side_init(&b, "B", round % 2 != 0, &a);
		side_start(&a, &c, &cbs);
		side_start(&b, &c, &cbs);
		RUN_UNTIL(a.selected && b.selected, 5000);
		check_taken_over(&a);
		check_taken_over(&b);
		for (struct side *s = &a; s; s = s == &a ? &b : NULL) {
			uint64_t t = s->t_sel - a.t0;

			best = t < best ? t : best;
			worst = t > worst ? t : worst;
		}
		exchange(&a, &b, 10);
		exchange(&b, &a, 10);
		side_cleanup(&a);
		side_cleanup(&b);
	}
	printf("# direct host-host, cn_ice_new -> selected (5 rounds, both sides): "
	       "%llu..%llu ms\n",
	       (unsigned long long)best, (unsigned long long)worst);
}

/*
 * The controlled side gets the controlling side's SDP 500 ms late, so the
 * controlling side is READY long before the controlled side has checked
 * anything: it must keep answering until B says done.
 */
static void test_late_sdp(void **state)
{
	struct cn_ice_config c = lo_config();
	struct side a, b;

	(void)state;
	side_init(&a, "A", true, &b);
	side_init(&b, "B", false, &a);
	a.sdp_delay_ms = 500;
	side_start(&a, &c, &cbs);
	side_start(&b, &c, &cbs);
	RUN_UNTIL(a.selected && b.selected, 5000);
	assert_false(a.failed || b.failed);
	check_taken_over(&a);
	check_taken_over(&b);
	printf("# late SDP: A done %llu ms, B done %llu ms, A selected %llu ms, "
	       "B selected %llu ms\n",
	       (unsigned long long)(a.t_done - a.t0), (unsigned long long)(b.t_done - a.t0),
	       (unsigned long long)(a.t_sel - a.t0), (unsigned long long)(b.t_sel - a.t0));
	/* A waited for B's done, not for its linger. */
	assert_true(a.t_sel >= b.t_done);
	assert_true(a.t_sel - a.t0 < CN_ICE_LINGER_MS);
	exchange(&a, &b, 20);
	exchange(&b, &a, 20);
	side_cleanup(&a);
	side_cleanup(&b);
}

/* No "done" signalling: each side takes over when its linger ends. */
static void test_linger(void **state)
{
	struct cn_ice_config c = lo_config();
	struct cn_ice_cbs no_done = cbs;
	struct side a, b;

	(void)state;
	no_done.local_done = NULL;
	c.linger_ms = 300;
	side_init(&a, "A", false, &b);
	side_init(&b, "B", true, &a);
	side_start(&a, &c, &no_done);
	side_start(&b, &c, &no_done);
	RUN_UNTIL(a.selected && b.selected, 5000);
	check_taken_over(&a);
	check_taken_over(&b);
	assert_true(a.t_sel - a.t0 >= 300);
	printf("# linger 300 ms without done: selected after %llu / %llu ms\n",
	       (unsigned long long)(a.t_sel - a.t0), (unsigned long long)(b.t_sel - b.t0));
	exchange(&a, &b, 10);
	exchange(&b, &a, 10);
	side_cleanup(&a);
	side_cleanup(&b);
}

/* The remote SDP points at a dead port: `failed` when the check timer ends. */
static void test_dead_port(void **state)
{
	struct cn_ice_config c = lo_config();
	struct side a;
	char sdp[256];
	uint64_t t_set, took;

	(void)state;
	side_init(&a, "A", true, NULL);
	a.free_in_failed = true;
	c.check_timeout_ms = 1500;
	side_start(&a, &c, &cbs);
	RUN_UNTIL(a.got_sdp, 2000);
	assert_true(a.got_sdp);
	snprintf(sdp, sizeof(sdp),
		 "a=ice-ufrag:dead\na=ice-pwd:abcdefghijklmnopqrstuv\n"
		 "a=candidate:1 1 UDP 2013266431 127.0.0.1 %u typ host\n",
		 (unsigned int)free_udp_port());
	/* The check timer started with local_sdp; it is not restarted. */
	t_set = mono_ms();
	assert_int_equal(cn_ice_set_remote_sdp(a.ice, sdp), 0);
	RUN_UNTIL(a.failed, 5000);
	assert_true(a.failed);
	assert_false(a.selected);
	took = a.t_fail - a.t_sdp;
	printf("# dead port: failed \"%s\" %llu ms after local_sdp (%llu after remote SDP)\n",
	       a.why, (unsigned long long)took, (unsigned long long)(a.t_fail - t_set));
	assert_true(took >= 1450 && took < 2500);
	assert_null(a.ice);
	run_for(100);
	assert_int_equal(a.after_free, 0);
}

/*
 * A's STUN server never answers: after gather_timeout_ms A signals its host
 * candidate anyway (libnice is still retrying) and ICE completes; the agent
 * is released with its STUN discovery still in flight.
 */
static void test_gather_timeout(void **state)
{
	struct cn_ice_config ca = lo_config(), cb = lo_config();
	struct side a, b;

	(void)state;
	snprintf(ca.stun.host, sizeof(ca.stun.host), "127.0.0.1");
	ca.stun.port = free_udp_port();
	ca.gather_timeout_ms = 300;
	side_init(&a, "A", true, &b);
	side_init(&b, "B", false, &a);
	side_start(&a, &ca, &cbs);
	side_start(&b, &cb, &cbs);
	RUN_UNTIL(a.selected && b.selected, 5000);
	assert_false(a.failed || b.failed);
	printf("# silent STUN server: A's SDP after %llu ms, selected after %llu / %llu ms\n",
	       (unsigned long long)(a.t_sdp - a.t0), (unsigned long long)(a.t_sel - a.t0),
	       (unsigned long long)(b.t_sel - b.t0));
	assert_true(a.t_sdp - a.t0 >= 300 && a.t_sdp - a.t0 < 1000);
	check_taken_over(&a);
	check_taken_over(&b);
	exchange(&a, &b, 10);
	exchange(&b, &a, 10);
	side_cleanup(&a);
	side_cleanup(&b);
}

/* cn_ice_free inside local_sdp, and from outside while checks run. */
static void test_free_midway(void **state)
{
	struct cn_ice_config c = lo_config();
	struct side a, b, d;

	(void)state;
	side_init(&d, "D", true, NULL);
	d.free_in_local_sdp = true;
	side_start(&d, &c, &cbs);
	RUN_UNTIL(d.got_sdp, 2000);
	assert_true(d.got_sdp);
	assert_null(d.ice);

	side_init(&a, "A", true, &b);
	side_init(&b, "B", false, &a);
	a.auto_sdp = b.auto_sdp = false;
	side_start(&a, &c, &cbs);
	side_start(&b, &c, &cbs);
	RUN_UNTIL(a.got_sdp && b.got_sdp, 2000);
	assert_int_equal(cn_ice_set_remote_sdp(a.ice, b.sdp), 0);
	assert_int_equal(cn_ice_set_remote_sdp(b.ice, a.sdp), 0);
	run_for(2); /* checks under way */
	free_side(&a);
	free_side(&b);
	run_for(300);
	assert_false(a.selected || a.failed || b.selected || b.failed);
	assert_int_equal(a.after_free + b.after_free + d.after_free, 0);
}

/* ---- TURN through coturn ---- */

struct turn {
	pid_t pid;
	char dir[64];
	uint16_t port;
	uint16_t min_port, max_port; /* relayed addresses */
};
static struct turn turn;

static bool turn_ready(uint16_t port)
{
	static const uint8_t req[20] = {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 1,  2,
					3,    4,    5,	  6,	7,    8,    9,	  10,	11, 12};
	struct sockaddr_in sin = {.sin_family = AF_INET,
				  .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	uint64_t end = mono_ms() + 5000;
	bool ok = false;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return false;
	while (!ok && mono_ms() < end) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		uint8_t buf[512];

		(void)sendto(fd, req, sizeof(req), 0, (struct sockaddr *)&sin, sizeof(sin));
		if (poll(&p, 1, 100) == 1 && recv(fd, buf, sizeof(buf), 0) >= 20 &&
		    buf[0] == 0x01 && buf[1] == 0x01)
			ok = true;
	}
	close(fd);
	return ok;
}

static void turn_stop(void)
{
	uint64_t end;
	int st;

	if (turn.pid > 0) {
		kill(turn.pid, SIGTERM);
		end = mono_ms() + 3000;
		while (waitpid(turn.pid, &st, WNOHANG) == 0) {
			if (mono_ms() > end) {
				kill(turn.pid, SIGKILL);
				waitpid(turn.pid, &st, 0);
				break;
			}
			usleep(10000);
		}
		turn.pid = 0;
	}
	if (turn.dir[0]) {
		DIR *d = opendir(turn.dir);
		struct dirent *de;

		/* coturn may add a date to the log name: remove whatever is there. */
		while (d && (de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			unlinkat(dirfd(d), de->d_name, 0);
		}
		if (d)
			closedir(d);
		rmdir(turn.dir);
		turn.dir[0] = '\0';
	}
}

/*
 * 0 when coturn answers on turn.port. The listening port comes from a
 * bind-0-then-release, which another process may take before coturn binds
 * it (the caller retries). The relayed ports are a random 64-port block
 * below the kernel's ephemeral range (32768-60999 by default), so other
 * programs' ephemeral sockets never sit in it, and parallel runs of this
 * test rarely share a block (coturn skips a port that is taken anyway).
 */
static int turn_start(void)
{
	char port[8], minp[8], maxp[8], db[96], log[96], pidf[96], out[96];
	posix_spawn_file_actions_t fa;
	int err;

	snprintf(turn.dir, sizeof(turn.dir), "/tmp/cn_test_ice.XXXXXX");
	if (!mkdtemp(turn.dir)) {
		turn.dir[0] = '\0';
		return -1;
	}
	turn.port = free_udp_port();
	turn.min_port = (uint16_t)(20000 + 64 * (getpid() % 190));
	turn.max_port = (uint16_t)(turn.min_port + 63);
	snprintf(port, sizeof(port), "%u", (unsigned int)turn.port);
	snprintf(minp, sizeof(minp), "%u", (unsigned int)turn.min_port);
	snprintf(maxp, sizeof(maxp), "%u", (unsigned int)turn.max_port);
	snprintf(db, sizeof(db), "%s/turndb", turn.dir);
	snprintf(log, sizeof(log), "%s/turn.log", turn.dir);
	snprintf(pidf, sizeof(pidf), "%s/turn.pid", turn.dir);
	snprintf(out, sizeof(out), "%s/out.log", turn.dir);
	const char *const args[] = {"turnserver",
				    "-n",
				    "-L",
				    "127.0.0.1",
				    "-E",
				    "127.0.0.1",
				    "-p",
				    port,
				    "--min-port",
				    minp,
				    "--max-port",
				    maxp,
				    "-a",
				    "-u",
				    "u:p",
				    "-r",
				    "test",
				    "--no-tls",
				    "--no-dtls",
				    "--no-tcp",
				    "--allow-loopback-peers",
				    "--no-cli",
				    "--max-allocate-lifetime=600",
				    "--userdb",
				    db,
				    "--log-file",
				    log,
				    "--simple-log",
				    "--pidfile",
				    pidf};
	enum { NARGS = sizeof(args) / sizeof(args[0]) };
	char *argv[NARGS + 1];

	for (size_t i = 0; i < NARGS; i++)
		argv[i] = strdup(args[i]);
	argv[NARGS] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	err = posix_spawnp(&turn.pid, "turnserver", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	for (size_t i = 0; i < NARGS; i++)
		free(argv[i]);
	if (err) {
		turn.pid = 0;
		fprintf(stderr, "cannot start turnserver: %s%s\n", strerror(err),
			err == ENOENT ? " (coturn is not installed; deploy/scripts/install-deps.sh "
					"installs it)"
				      : "");
		return -1;
	}
	if (!turn_ready(turn.port)) {
		fprintf(stderr, "turnserver (pid %d) did not answer STUN within 5 s\n",
			(int)turn.pid);
		return -1;
	}
	return 0;
}

static int setup_turn(void **state)
{
	if (setup(state) != 0)
		return -1;
	/* Up to three tries: the picked port may be taken before coturn binds it. */
	for (int i = 0; i < 3; i++) {
		memset(&turn, 0, sizeof(turn));
		if (turn_start() == 0)
			return 0;
		turn_stop();
	}
	return -1;
}

static int teardown_turn(void **state)
{
	int r = teardown(state);

	turn_stop();
	return r;
}

static struct cn_ice_config turn_config(bool force_relay)
{
	struct cn_ice_config c = lo_config();

	c.force_relay = force_relay;
	c.nturn = 1;
	snprintf(c.turn[0].host, sizeof(c.turn[0].host), "127.0.0.1");
	c.turn[0].port = turn.port;
	snprintf(c.turn[0].user, sizeof(c.turn[0].user), "u");
	snprintf(c.turn[0].pass, sizeof(c.turn[0].pass), "p");
	return c;
}

/* Both sides relay only: data through cn_ice_send / recv; a free inside recv. */
static void test_turn(void **state)
{
	struct cn_ice_config c;
	struct side a, b;
	uint8_t msg[100];

	(void)state;
	c = turn_config(true);
	side_init(&a, "A", true, &b);
	side_init(&b, "B", false, &a);
	a.free_after_recv = 50; /* cn_ice_free inside recv (glib dispatch) */
	side_start(&a, &c, &cbs);
	side_start(&b, &c, &cbs);
	RUN_UNTIL(a.selected && b.selected, 8000);
	assert_false(a.failed || b.failed);
	assert_true(a.selected && b.selected);
	assert_int_equal(a.path, CN_ICE_TURN);
	assert_int_equal(b.path, CN_ICE_TURN);
	assert_int_equal(a.fd, -1);
	assert_int_equal(b.fd, -1);
	assert_string_equal(a.ltype, "relay");
	assert_string_equal(a.rtype, "relay");
	printf("# TURN relay-relay: gathering %llu / %llu ms, cn_ice_new -> selected "
	       "%llu / %llu ms\n",
	       (unsigned long long)(a.t_sdp - a.t0), (unsigned long long)(b.t_sdp - b.t0),
	       (unsigned long long)(a.t_sel - a.t0), (unsigned long long)(b.t_sel - b.t0));

	for (unsigned int i = 0; i < 50; i++) {
		memset(msg, (int)i, sizeof(msg));
		assert_int_equal(cn_ice_send(a.ice, msg, sizeof(msg)), 0);
	}
	RUN_UNTIL(b.nrecv == 50, 3000);
	assert_int_equal(b.nrecv, 50);
	assert_int_equal(b.last_len, sizeof(msg));
	assert_int_equal(b.last[0], 49);
	assert_int_equal(cn_ice_send(b.ice, msg, 0), -CN_EINVAL);
	for (unsigned int i = 0; i < 60; i++) {
		memset(msg, (int)i, sizeof(msg));
		assert_int_equal(cn_ice_send(b.ice, msg, sizeof(msg)), 0);
	}
	RUN_UNTIL(a.freed, 3000);
	assert_true(a.freed);
	assert_int_equal(a.nrecv, 50);
	run_for(200);
	assert_int_equal(a.after_free, 0);
	side_cleanup(&a);
	side_cleanup(&b);
}

/*
 * TURN configured but a host pair wins: each side deallocates its TURN
 * allocation (which shares the host socket) before the handover.
 */
static void test_turn_direct(void **state)
{
	struct cn_ice_config c;
	struct side a, b;

	(void)state;
	c = turn_config(false);
	/* The same server as STUN: skipped (ice.c stun_is_turn), no 2 s wait. */
	snprintf(c.stun.host, sizeof(c.stun.host), "127.0.0.1");
	c.stun.port = turn.port;
	side_init(&a, "A", true, &b);
	side_init(&b, "B", false, &a);
	side_start(&a, &c, &cbs);
	side_start(&b, &c, &cbs);
	RUN_UNTIL(a.selected && b.selected, 5000);
	assert_false(a.failed || b.failed);
	check_taken_over(&a);
	check_taken_over(&b);
	assert_string_equal(a.ltype, "host");
	printf("# TURN configured, host pair: cn_ice_new -> selected %llu / %llu ms "
	       "(done at %llu / %llu ms; the rest is TURN deallocation)\n",
	       (unsigned long long)(a.t_sel - a.t0), (unsigned long long)(b.t_sel - b.t0),
	       (unsigned long long)(a.t_done - a.t0), (unsigned long long)(b.t_done - b.t0));
	exchange(&a, &b, 50);
	exchange(&b, &a, 50);
	assert_true(a.stray_stun + b.stray_stun <= 2);
	expect_silence(a.fd, 300);
	expect_silence(b.fd, 0);
	side_cleanup(&a);
	side_cleanup(&b);
}

/* coturn as a plain STUN server: server-reflexive discovery answers. */
static void test_stun(void **state)
{
	struct cn_ice_config c = lo_config();
	struct side a, b;

	(void)state;
	snprintf(c.stun.host, sizeof(c.stun.host), "127.0.0.1");
	c.stun.port = turn.port;
	c.gather_timeout_ms = 4000;
	side_init(&a, "A", true, &b);
	side_init(&b, "B", false, &a);
	side_start(&a, &c, &cbs);
	side_start(&b, &c, &cbs);
	RUN_UNTIL(a.selected && b.selected, 8000);
	assert_false(a.failed || b.failed);
	printf("# STUN: gathering %llu / %llu ms, selected %llu / %llu ms; A's SDP:\n%s",
	       (unsigned long long)(a.t_sdp - a.t0), (unsigned long long)(b.t_sdp - b.t0),
	       (unsigned long long)(a.t_sel - a.t0), (unsigned long long)(b.t_sel - b.t0), a.sdp);
	/*
	 * Answered: gathering ended before the 4 s gather timer, which is what
	 * ends it when the server is silent (not a speed check: typically 25 ms).
	 */
	assert_true(a.t_sdp - a.t0 < 4000);
	check_taken_over(&a);
	check_taken_over(&b);
	exchange(&a, &b, 10);
	side_cleanup(&a);
	side_cleanup(&b);
}

/*
 * A is relay only, B may use its host socket: A gets TURN, B a direct
 * path from its host socket to A's relayed address.
 */
static void test_turn_mixed(void **state)
{
	struct cn_ice_config ca, cb;
	struct side a, b;

	(void)state;
	ca = turn_config(true);
	cb = turn_config(false);
	side_init(&a, "A", true, &b);
	side_init(&b, "B", false, &a);
	side_start(&a, &ca, &cbs);
	side_start(&b, &cb, &cbs);
	RUN_UNTIL(a.selected && b.selected, 5000);
	assert_false(a.failed || b.failed);
	assert_int_equal(a.path, CN_ICE_TURN);
	assert_string_equal(a.ltype, "relay");
	check_taken_over(&b);
	assert_string_equal(b.rtype, "relay");
	printf("# mixed: A TURN %s->%s at %llu ms, B direct %s->%s at %llu ms\n", a.ltype, a.rtype,
	       (unsigned long long)(a.t_sel - a.t0), b.ltype, b.rtype,
	       (unsigned long long)(b.t_sel - b.t0));

	/* B -> A: B's socket to A's relay, coturn, A's libnice, recv. */
	send_fd(&b, "A", 20);
	RUN_UNTIL(a.nrecv == 20, 3000);
	assert_int_equal(a.nrecv, 20);
	assert_int_equal(a.last_len, strlen("B->A 19"));
	assert_memory_equal(a.last, "B->A 19", a.last_len);
	/* A -> B: cn_ice_send, coturn, B's taken-over socket. */
	for (unsigned int i = 0; i < 20; i++) {
		char msg[64];
		int n = snprintf(msg, sizeof(msg), "A->B %u", i);

		assert_int_equal(cn_ice_send(a.ice, (const uint8_t *)msg, (size_t)n), 0);
	}
	recv_fd(&b, "A", 20);
	side_cleanup(&a);
	side_cleanup(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bad_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_direct, setup, teardown),
		cmocka_unit_test_setup_teardown(test_direct_timing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_late_sdp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_linger, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dead_port, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gather_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_midway, setup, teardown),
		cmocka_unit_test_setup_teardown(test_turn, setup_turn, teardown_turn),
		cmocka_unit_test_setup_teardown(test_turn_direct, setup_turn, teardown_turn),
		cmocka_unit_test_setup_teardown(test_stun, setup_turn, teardown_turn),
		cmocka_unit_test_setup_teardown(test_turn_mixed, setup_turn, teardown_turn),
	};

	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (getenv("CN_TEST_DEBUG"))
		cn_log_set_level(CN_LOG_DEBUG);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
