/* SPDX-License-Identifier: MIT */
/*
 * node/resolver.c against a python3 DNS stub (dns_stub.py) on 127.0.0.1:
 * A and AAAA together, one family only, the address cap, literals without
 * DNS, NXDOMAIN, SRV order (RFC 2782), a silent server ending in a timeout
 * within its bound, raw forwarding returning the stub's bytes with the
 * client's ID, the pending-query cap, and freeing the resolver with queries
 * pending and from inside a callback (ASan checks for leaks and misuse).
 *
 * The stub is spawned once for the whole group and killed by its PID.
 * Every wait is bounded in time.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <event2/event.h>
#include <netinet/in.h>

#include "common/addr.h"
#include "common/err.h"
#include "node/resolver.h"

#define DNS_STUB CN_TEST_DATA "/../unit/node/dns_stub.py"

struct res {
	int calls;
	int status;
	struct cn_addr addrs[CN_RESOLVER_MAX_ADDRS];
	struct cn_srv srv[CN_RESOLVER_MAX_SRV];
	uint8_t answer[4096];
	size_t n;
	uint64_t done_ms;
	struct cn_resolver **free_me; /* freed from inside the callback */
};

static struct event_base *base;
static pid_t stub_pid = -1;
static char servers[64];
static char log_path[64];
static int silent_fd = -1; /* a bound UDP socket nobody reads */
static char silent_servers[64];

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	*(bool *)arg = true;
}

/* Runs the loop until every res in rs has been called back, or max_ms. */
static bool run_until_done(struct res *const *rs, size_t n, unsigned int max_ms)
{
	struct timeval tv = {.tv_sec = max_ms / 1000, .tv_usec = (max_ms % 1000) * 1000};
	struct event *t;
	bool expired = false, all = false;
	size_t i;

	t = evtimer_new(base, on_deadline, &expired);
	assert_non_null(t);
	assert_int_equal(evtimer_add(t, &tv), 0);
	while (!expired) {
		for (all = true, i = 0; i < n; i++)
			all = all && rs[i]->calls > 0;
		if (all)
			break;
		event_base_loop(base, EVLOOP_ONCE);
	}
	event_free(t);
	return all;
}

static void run_for(unsigned int ms)
{
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
	struct event *t;
	bool expired = false;

	t = evtimer_new(base, on_deadline, &expired);
	assert_non_null(t);
	assert_int_equal(evtimer_add(t, &tv), 0);
	while (!expired)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(t);
}

static void called(struct res *r, int status)
{
	r->calls++;
	r->status = status;
	r->done_ms = mono_ms();
	if (r->free_me && *r->free_me) {
		cn_resolver_free(*r->free_me);
		*r->free_me = NULL;
	}
}

static void addr_cb(void *arg, int status, const struct cn_addr *addrs, size_t n)
{
	struct res *r = arg;

	assert_true(n <= CN_RESOLVER_MAX_ADDRS);
	assert_true(status ? (!addrs && !n) : (addrs && n));
	if (n)
		memcpy(r->addrs, addrs, n * sizeof(*addrs));
	r->n = n;
	called(r, status);
}

static void srv_cb(void *arg, int status, const struct cn_srv *srv, size_t n)
{
	struct res *r = arg;

	assert_true(n <= CN_RESOLVER_MAX_SRV);
	assert_true(status ? (!srv && !n) : (srv && n));
	if (n)
		memcpy(r->srv, srv, n * sizeof(*srv));
	r->n = n;
	called(r, status);
}

static void raw_cb(void *arg, int status, const uint8_t *answer, size_t len)
{
	struct res *r = arg;

	assert_true(status ? (!answer && !len) : (answer && len >= 12));
	assert_true(len <= sizeof(r->answer));
	if (len)
		memcpy(r->answer, answer, len);
	r->n = len;
	called(r, status);
}

static struct cn_resolver *new_resolver(const char *csv, unsigned int timeout_ms,
					unsigned int tries)
{
	struct cn_errbuf e = {{0}};
	struct cn_resolver *r = cn_resolver_new(base, csv, timeout_ms, tries, &e);

	if (!r)
		fail_msg("cn_resolver_new: %s", e.msg);
	return r;
}

static void assert_addr(const struct cn_addr *a, const char *want)
{
	char text[CN_ADDR_TEXT_MAX];

	cn_addr_format((const struct sockaddr *)&a->ss, text);
	assert_string_equal(text, want);
}

/* A query message: header (RD set) and one IN question. */
static size_t build_query(uint8_t *buf, uint16_t id, const char *name, uint16_t qtype)
{
	size_t pos = 12;
	const char *p = name, *dot;

	memset(buf, 0, 12);
	buf[0] = (uint8_t)(id >> 8);
	buf[1] = (uint8_t)id;
	buf[2] = 0x01; /* RD */
	buf[5] = 1;    /* QDCOUNT */
	while (*p) {
		dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);
		buf[pos++] = (uint8_t)len;
		memcpy(buf + pos, p, len);
		pos += len;
		p += len + (dot ? 1 : 0);
	}
	buf[pos++] = 0;
	buf[pos++] = (uint8_t)(qtype >> 8);
	buf[pos++] = (uint8_t)qtype;
	buf[pos++] = 0;
	buf[pos++] = 1; /* IN */
	return pos;
}

static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;
	unsigned int b;

	while (s[0] && s[1] && s[0] != '\n' && n < cap && sscanf(s, "%2x", &b) == 1) {
		out[n++] = (uint8_t)b;
		s += 2;
	}
	return n;
}

/* The last "Q"/"R" pair the stub logged for raw.test. */
static void stub_log_last(uint8_t *q, size_t *qlen, uint8_t *a, size_t *alen)
{
	char line[8192];
	FILE *f = fopen(log_path, "r");

	assert_non_null(f);
	*qlen = *alen = 0;
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == 'Q')
			*qlen = unhex(line + 2, q, 4096);
		else if (line[0] == 'R')
			*alen = unhex(line + 2, a, 4096);
	}
	fclose(f);
}

static int group_setup(void **state)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t slen = sizeof(sin);
	struct pollfd pfd;
	char line[32] = {0};
	size_t got = 0;
	int fds[2], fd;
	ssize_t k;

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	base = event_base_new();
	if (!base)
		return -1;

	snprintf(log_path, sizeof(log_path), "/tmp/cn_dns_stub.XXXXXX");
	fd = mkstemp(log_path);
	if (fd < 0)
		return -1;
	close(fd);

	if (pipe(fds) < 0)
		return -1;
	stub_pid = fork();
	if (stub_pid < 0)
		return -1;
	if (stub_pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		execlp("python3", "python3", DNS_STUB, "--log", log_path, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	pfd.fd = fds[0];
	pfd.events = POLLIN;
	while (got < sizeof(line) - 1 && !strchr(line, '\n')) {
		if (poll(&pfd, 1, 10000) <= 0)
			break;
		k = read(fds[0], line + got, sizeof(line) - 1 - got);
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	close(fds[0]);
	if (!strchr(line, '\n') || atoi(line) <= 0) {
		fprintf(stderr, "dns_stub.py (python3) did not start: '%s'\n", line);
		return -1;
	}
	snprintf(servers, sizeof(servers), "127.0.0.1:%d", atoi(line));

	silent_fd = socket(AF_INET, SOCK_DGRAM, 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (silent_fd < 0 || bind(silent_fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    getsockname(silent_fd, (struct sockaddr *)&sin, &slen) < 0)
		return -1;
	snprintf(silent_servers, sizeof(silent_servers), "127.0.0.1:%u", ntohs(sin.sin_port));
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	if (stub_pid > 0) {
		kill(stub_pid, SIGTERM);
		waitpid(stub_pid, NULL, 0);
	}
	if (silent_fd >= 0)
		close(silent_fd);
	unlink(log_path);
	if (base)
		event_base_free(base);
	return 0;
}

static void test_addrs_both_families(void **state)
{
	struct res a = {0};
	struct res *all[] = {&a};
	struct cn_resolver *r = new_resolver(servers, 500, 2);

	(void)state;
	assert_int_equal(cn_resolver_addrs(r, "host.test", 51820, addr_cb, &a), 0);
	assert_int_equal(a.calls, 0);
	assert_true(run_until_done(all, 1, 3000));
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.status, 0);
	assert_int_equal(a.n, 3);
	/* IPv6 first, then IPv4 in the server's order; the port on each. */
	assert_addr(&a.addrs[0], "[2001:db8::10]:51820");
	assert_addr(&a.addrs[1], "192.0.2.10:51820");
	assert_addr(&a.addrs[2], "192.0.2.11:51820");
	/* Case does not matter, a trailing dot is allowed. */
	memset(&a, 0, sizeof(a));
	assert_int_equal(cn_resolver_addrs(r, "HOST.test.", 7, addr_cb, &a), 0);
	assert_true(run_until_done(all, 1, 3000));
	assert_int_equal(a.status, 0);
	assert_int_equal(a.n, 3);
	assert_addr(&a.addrs[2], "192.0.2.11:7");
	run_for(50);
	assert_int_equal(a.calls, 1);
	cn_resolver_free(r);
}

static void test_addrs_one_family_and_cap(void **state)
{
	struct res v4 = {0}, v6 = {0}, many = {0};
	struct res *all[] = {&v4, &v6, &many};
	struct cn_resolver *r = new_resolver(servers, 500, 2);

	(void)state;
	assert_int_equal(cn_resolver_addrs(r, "v4only.test", 1, addr_cb, &v4), 0);
	assert_int_equal(cn_resolver_addrs(r, "v6only.test", 2, addr_cb, &v6), 0);
	assert_int_equal(cn_resolver_addrs(r, "many.test", 3, addr_cb, &many), 0);
	assert_true(run_until_done(all, 3, 3000));
	assert_int_equal(v4.status, 0);
	assert_int_equal(v4.n, 1);
	assert_addr(&v4.addrs[0], "192.0.2.20:1");
	assert_int_equal(v6.status, 0);
	assert_int_equal(v6.n, 1);
	assert_addr(&v6.addrs[0], "[2001:db8::20]:2");
	assert_int_equal(many.status, 0);
	assert_int_equal(many.n, CN_RESOLVER_MAX_ADDRS);
	assert_addr(&many.addrs[0], "198.51.100.1:3");
	assert_addr(&many.addrs[CN_RESOLVER_MAX_ADDRS - 1], "198.51.100.16:3");
	cn_resolver_free(r);
}

/* Literals need no DNS: answered at once even with a server that never replies. */
static void test_literals(void **state)
{
	struct res v4 = {0}, v6 = {0}, lo = {0};
	struct res *all[] = {&v4, &v6, &lo};
	struct cn_resolver *r = new_resolver(silent_servers, 5000, 2);

	(void)state;
	assert_int_equal(cn_resolver_addrs(r, "192.0.2.7", 443, addr_cb, &v4), 0);
	assert_int_equal(cn_resolver_addrs(r, "2001:db8::7", 443, addr_cb, &v6), 0);
	assert_int_equal(cn_resolver_addrs(r, "localhost", 80, addr_cb, &lo), 0);
	/* Never from inside the submitting call. */
	assert_int_equal(v4.calls + v6.calls + lo.calls, 0);
	/* Done before the silent server's first 5 s timeout could have ended a
	 * query: no query was sent (not a speed check; it takes ~1 ms). */
	assert_true(run_until_done(all, 3, 4000));
	assert_int_equal(v4.status, 0);
	assert_int_equal(v4.n, 1);
	assert_addr(&v4.addrs[0], "192.0.2.7:443");
	assert_int_equal(v6.n, 1);
	assert_addr(&v6.addrs[0], "[2001:db8::7]:443");
	assert_int_equal(lo.n, 2);
	assert_addr(&lo.addrs[0], "[::1]:80");
	assert_addr(&lo.addrs[1], "127.0.0.1:80");
	cn_resolver_free(r);
}

static void test_nxdomain(void **state)
{
	struct res a = {0}, s = {0}, none = {0}, nodata = {0};
	struct res *all[] = {&a, &s, &none, &nodata};
	struct cn_resolver *r = new_resolver(servers, 500, 2);

	(void)state;
	assert_int_equal(cn_resolver_addrs(r, "nx.test", 1, addr_cb, &a), 0);
	assert_int_equal(cn_resolver_srv(r, "_cairn._udp.nx.test", srv_cb, &s), 0);
	assert_int_equal(cn_resolver_srv(r, "_none._udp.test", srv_cb, &none), 0);
	assert_int_equal(cn_resolver_srv(r, "host.test", srv_cb, &nodata), 0);
	assert_true(run_until_done(all, 4, 3000));
	assert_int_equal(a.status, -CN_ENOTFOUND);
	assert_int_equal(a.n, 0);
	assert_int_equal(s.status, -CN_ENOTFOUND);
	assert_int_equal(none.status, -CN_ENOTFOUND); /* lone target "." */
	assert_int_equal(nodata.status, -CN_ENOTFOUND);
	cn_resolver_free(r);
}

static void test_srv(void **state)
{
	struct res s = {0};
	struct res *all[] = {&s};
	struct cn_resolver *r = new_resolver(servers, 500, 2);
	unsigned int first_a = 0, i;

	(void)state;
	for (i = 0; i < 30; i++) {
		memset(&s, 0, sizeof(s));
		assert_int_equal(cn_resolver_srv(r, "_cairn._udp.test", srv_cb, &s), 0);
		assert_true(run_until_done(all, 1, 3000));
		assert_int_equal(s.status, 0);
		assert_int_equal(s.n, 4);
		assert_int_equal(s.srv[0].priority, 10);
		assert_int_equal(s.srv[1].priority, 10);
		assert_int_equal(s.srv[2].priority, 20);
		assert_int_equal(s.srv[3].priority, 30);
		/* a.test (weight 60) and b.test (weight 40) in either order. */
		assert_true(!strcmp(s.srv[0].host, "a.test") || !strcmp(s.srv[0].host, "b.test"));
		assert_string_not_equal(s.srv[0].host, s.srv[1].host);
		first_a += !strcmp(s.srv[0].host, "a.test");
		for (unsigned int k = 0; k < 2; k++)
			assert_int_equal(s.srv[k].port,
					 !strcmp(s.srv[k].host, "a.test") ? 5001 : 5002);
		assert_string_equal(s.srv[2].host, "c.test");
		assert_int_equal(s.srv[2].port, 5003);
		assert_string_equal(s.srv[3].host, "d.test");
		assert_int_equal(s.srv[3].port, 5004);
		assert_int_equal(s.srv[3].weight, 0);
	}
	/* P(a first) = 60/101; all 30 the same way would be a broken shuffle (~2e-7). */
	assert_true(first_a > 0 && first_a < 30);
	cn_resolver_free(r);
}

struct seq {
	const uint32_t *v;
	size_t i;
	uint32_t bounds[8];
};

static uint32_t seq_rnd(void *arg, uint32_t bound)
{
	struct seq *s = arg;

	s->bounds[s->i] = bound;
	return s->v[s->i++];
}

static void set_srv(struct cn_srv *s, const char *host, uint16_t prio, uint16_t weight)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->host, sizeof(s->host), "%s", host);
	s->priority = prio;
	s->weight = weight;
}

static void test_srv_order(void **state)
{
	struct cn_srv s[4];
	static const uint32_t picks0[] = {0, 25};
	static const uint32_t picks1[] = {11, 1};
	struct seq q = {.v = picks0};
	unsigned int counts[3] = {0}, i;

	(void)state;
	/* Priority first; a pick of 0 takes a zero-weight record first. */
	set_srv(&s[0], "x", 2, 0);
	set_srv(&s[1], "w30", 1, 30);
	set_srv(&s[2], "z0", 1, 0);
	set_srv(&s[3], "w10", 1, 10);
	cn_resolver_srv_order(s, 4, seq_rnd, &q);
	assert_int_equal(q.i, 2); /* one pick per position but the last in a priority */
	assert_int_equal(q.bounds[0], 40);
	assert_int_equal(q.bounds[1], 40);
	/* Then w10 (running sum 10) and w30 (40): a pick of 25 falls in w30. */
	assert_string_equal(s[0].host, "z0");
	assert_string_equal(s[1].host, "w30");
	assert_string_equal(s[2].host, "w10");
	assert_string_equal(s[3].host, "x");

	/* A pick above w10's running sum goes to w30; a pick > 0 never takes a zero weight. */
	set_srv(&s[0], "w30", 1, 30);
	set_srv(&s[1], "w10", 1, 10);
	set_srv(&s[2], "z0", 1, 0);
	q = (struct seq){.v = picks1};
	cn_resolver_srv_order(s, 3, seq_rnd, &q);
	assert_string_equal(s[0].host, "w30");
	assert_int_equal(q.bounds[0], 40);
	assert_int_equal(q.bounds[1], 10);
	assert_string_equal(s[1].host, "w10");
	assert_string_equal(s[2].host, "z0");

	/* With arc4random: a pick in [0, 100] selects a for 0..10, b for 11..40, c for 41..100. */
	for (i = 0; i < 20000; i++) {
		set_srv(&s[0], "a", 5, 10);
		set_srv(&s[1], "b", 5, 30);
		set_srv(&s[2], "c", 5, 60);
		cn_resolver_srv_order(s, 3, NULL, NULL);
		counts[s[0].host[0] - 'a']++;
	}
	/* Expected 10.9/29.7/59.4 %: 2178/5941/11881 of 20000; the ranges are > 5 sigma wide. */
	assert_in_range(counts[0], 1800, 2600);
	assert_in_range(counts[1], 5500, 6500);
	assert_in_range(counts[2], 11500, 12500);
}

/* A server that never answers: bounded timeout, 200 + 400 ms for 2 tries (not
 * before that; the upper bound only catches a hang). */
static void test_timeout(void **state)
{
	struct res a = {0}, s = {0}, raw = {0};
	struct res *all[] = {&a, &s, &raw};
	struct cn_resolver *r = new_resolver(servers, 200, 2);
	uint8_t msg[512];
	size_t len = build_query(msg, 0x1234, "drop-raw.test", 1);
	uint64_t t0 = mono_ms();

	(void)state;
	assert_int_equal(cn_resolver_addrs(r, "drop1.test", 1, addr_cb, &a), 0);
	assert_int_equal(cn_resolver_srv(r, "drop2.test", srv_cb, &s), 0);
	assert_int_equal(cn_resolver_raw(r, msg, len, raw_cb, &raw), 0);
	assert_true(run_until_done(all, 3, 5000));
	assert_int_equal(a.status, -CN_ETIMEDOUT);
	assert_int_equal(s.status, -CN_ETIMEDOUT);
	assert_int_equal(raw.status, -CN_ETIMEDOUT);
	assert_in_range(a.done_ms - t0, 550, 4500);
	assert_in_range(s.done_ms - t0, 550, 4500);
	assert_in_range(raw.done_ms - t0, 550, 4500);
	cn_resolver_free(r);
}

static void test_raw_forward(void **state)
{
	struct res a = {0}, nx = {0};
	struct res *all[] = {&a};
	struct cn_resolver *r = new_resolver(servers, 500, 2);
	uint8_t msg[512], sq[4096], sa[4096];
	size_t len = build_query(msg, 0xBEEF, "raw.test", 1), sqlen, salen;

	(void)state;
	assert_int_equal(cn_resolver_raw(r, msg, len, raw_cb, &a), 0);
	assert_int_equal(a.calls, 0);
	assert_true(run_until_done(all, 1, 3000));
	assert_int_equal(a.status, 0);
	/* The client's ID comes back ... */
	assert_int_equal(a.answer[0], 0xBE);
	assert_int_equal(a.answer[1], 0xEF);
	stub_log_last(sq, &sqlen, sa, &salen);
	/* ... the stub saw the query unchanged but for the ID ... */
	assert_int_equal(sqlen, len);
	assert_memory_equal(sq + 2, msg + 2, len - 2);
	/* ... and the answer is the stub's bytes, but for the ID (which matched upstream's). */
	assert_int_equal(salen, a.n);
	assert_memory_equal(sa + 2, a.answer + 2, a.n - 2);
	assert_memory_equal(sa, sq, 2);
	assert_int_equal(a.answer[3] & 0x0f, 0); /* NOERROR */

	/* NXDOMAIN is an answer to forward, not an error. */
	all[0] = &nx;
	len = build_query(msg, 0x0102, "nx.test", 28);
	assert_int_equal(cn_resolver_raw(r, msg, len, raw_cb, &nx), 0);
	assert_true(run_until_done(all, 1, 3000));
	assert_int_equal(nx.status, 0);
	assert_int_equal(nx.answer[0], 0x01);
	assert_int_equal(nx.answer[1], 0x02);
	assert_int_equal(nx.answer[3] & 0x0f, 3);
	cn_resolver_free(r);
}

static void test_bad_args(void **state)
{
	struct cn_errbuf e = {{0}};
	struct res a = {0};
	struct cn_resolver *r = new_resolver(servers, 0, 0);
	char longname[300];
	uint8_t msg[512];
	size_t len = build_query(msg, 1, "raw.test", 1);

	(void)state;
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(cn_resolver_addrs(r, NULL, 1, addr_cb, &a), -CN_EINVAL);
	assert_int_equal(cn_resolver_addrs(r, "", 1, addr_cb, &a), -CN_EINVAL);
	assert_int_equal(cn_resolver_addrs(r, ".", 1, addr_cb, &a), -CN_EINVAL);
	assert_int_equal(cn_resolver_addrs(r, longname, 1, addr_cb, &a), -CN_EINVAL);
	assert_int_equal(cn_resolver_addrs(r, "host.test", 1, NULL, &a), -CN_EINVAL);
	assert_int_equal(cn_resolver_srv(r, longname, srv_cb, &a), -CN_EINVAL);
	assert_int_equal(cn_resolver_raw(r, msg, 11, raw_cb, &a), -CN_EINVAL);
	msg[2] |= 0x80; /* a response, not a query */
	assert_int_equal(cn_resolver_raw(r, msg, len, raw_cb, &a), -CN_EINVAL);
	msg[2] &= 0x7f;
	msg[5] = 2; /* two questions */
	assert_int_equal(cn_resolver_raw(r, msg, len, raw_cb, &a), -CN_EINVAL);
	run_for(50);
	assert_int_equal(a.calls, 0);
	cn_resolver_free(r);
	cn_resolver_free(NULL);

	assert_null(cn_resolver_new(base, "not-an-address", 0, 0, &e));
	assert_true(e.msg[0] != '\0');
	e.msg[0] = '\0';
	assert_null(cn_resolver_new(base, "", 0, 0, &e));
	assert_true(e.msg[0] != '\0');
	e.msg[0] = '\0';
	assert_null(cn_resolver_new(base, servers, CN_RESOLVER_MAX_TIMEOUT_MS + 1, 1, &e));
	assert_true(e.msg[0] != '\0');
	assert_null(cn_resolver_new(NULL, servers, 0, 0, &e));
	/* IPv6 servers in c-ares's CSV form are accepted. */
	r = new_resolver("[::1]:53,127.0.0.1", 0, 0);
	cn_resolver_free(r);
}

/* Pending (in c-ares) and completed-but-undelivered queries: no callback, no leak. */
static void test_free_pending(void **state)
{
	struct res a = {0}, s = {0}, raw = {0}, lit = {0}, many = {0};
	struct cn_resolver *r = new_resolver(servers, 200, 2);
	uint8_t msg[512];
	size_t len = build_query(msg, 7, "drop-raw.test", 1);
	unsigned int i;
	int ret;

	(void)state;
	assert_int_equal(cn_resolver_addrs(r, "drop1.test", 1, addr_cb, &a), 0);
	assert_int_equal(cn_resolver_srv(r, "drop2.test", srv_cb, &s), 0);
	assert_int_equal(cn_resolver_raw(r, msg, len, raw_cb, &raw), 0);
	assert_int_equal(cn_resolver_addrs(r, "192.0.2.1", 1, addr_cb, &lit), 0);
	/* The cap: CN_RESOLVER_MAX_PENDING outstanding, then -CN_EEXHAUSTED. */
	for (i = 4; i < CN_RESOLVER_MAX_PENDING; i++) {
		ret = cn_resolver_addrs(r, "drop-many.test", 1, addr_cb, &many);
		assert_int_equal(ret, 0);
	}
	assert_int_equal(cn_resolver_addrs(r, "drop-more.test", 1, addr_cb, &many), -CN_EEXHAUSTED);
	assert_int_equal(cn_resolver_addrs(r, "192.0.2.2", 1, addr_cb, &many), -CN_EEXHAUSTED);
	cn_resolver_free(r);
	run_for(800); /* past the 600 ms timeout: nothing may fire */
	assert_int_equal(a.calls + s.calls + raw.calls + lit.calls + many.calls, 0);
}

static void test_free_in_callback(void **state)
{
	struct cn_resolver *r;
	struct res first = {0}, second = {0}, pending = {0}, after = {0};
	struct res *all[] = {&first};

	(void)state;
	/* Two completions delivered in the same batch: the first frees, the second never runs. */
	r = new_resolver(servers, 200, 2);
	first.free_me = &r;
	assert_int_equal(cn_resolver_addrs(r, "192.0.2.1", 1, addr_cb, &first), 0);
	assert_int_equal(cn_resolver_addrs(r, "192.0.2.2", 1, addr_cb, &second), 0);
	assert_int_equal(cn_resolver_addrs(r, "drop1.test", 1, addr_cb, &pending), 0);
	assert_true(run_until_done(all, 1, 2000));
	assert_null(r);
	run_for(800);
	assert_int_equal(first.calls, 1);
	assert_int_equal(second.calls + pending.calls, 0);

	/* An answer from the network frees the resolver while another query waits in c-ares. */
	memset(&first, 0, sizeof(first));
	memset(&pending, 0, sizeof(pending));
	r = new_resolver(servers, 200, 2);
	first.free_me = &r;
	assert_int_equal(cn_resolver_srv(r, "drop2.test", srv_cb, &pending), 0);
	assert_int_equal(cn_resolver_addrs(r, "host.test", 1, addr_cb, &first), 0);
	assert_int_equal(cn_resolver_raw(r,
					 (const uint8_t[]){0, 1, 1,   0,   0,	1,   0, 0, 0, 0, 0,
							   0, 4, 'd', 'r', 'o', 'p', 0, 0, 1, 0, 1},
					 22, raw_cb, &after),
			 0);
	assert_true(run_until_done(all, 1, 2000));
	assert_int_equal(first.status, 0);
	assert_null(r);
	run_for(800);
	assert_int_equal(first.calls, 1);
	assert_int_equal(pending.calls + after.calls, 0);
}

/* Names are queried as given: no resolv.conf search list (LOCALDOMAIN), no HOSTALIASES. */
static void test_no_search_no_aliases(void **state)
{
	struct res bare = {0}, alias = {0};
	struct res *all[] = {&bare, &alias};
	struct cn_resolver *r;
	char aliases[64];
	FILE *f;
	int fd;

	(void)state;
	snprintf(aliases, sizeof(aliases), "/tmp/cn_hostaliases.XXXXXX");
	fd = mkstemp(aliases);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fprintf(f, "myalias host.test\n");
	fclose(f);
	setenv("LOCALDOMAIN", "test", 1); /* c-ares reads it as the search list */
	setenv("HOSTALIASES", aliases, 1);
	r = new_resolver(servers, 500, 2);
	unsetenv("LOCALDOMAIN");
	assert_int_equal(cn_resolver_addrs(r, "host", 1, addr_cb, &bare), 0);
	/* c-ares reads HOSTALIASES when a query starts. */
	assert_int_equal(cn_resolver_addrs(r, "myalias", 1, addr_cb, &alias), 0);
	unsetenv("HOSTALIASES");
	unlink(aliases);
	assert_true(run_until_done(all, 2, 3000));
	/* With search, "host" would become host.test, and myalias would resolve. */
	assert_int_equal(bare.status, -CN_ENOTFOUND);
	assert_int_equal(alias.status, -CN_ENOTFOUND);
	cn_resolver_free(r);
}

struct chain {
	struct cn_resolver *r;
	struct res inner;
	int outer_calls;
	int submit_ret;
};

static void chain_cb(void *arg, int status, const struct cn_addr *addrs, size_t n)
{
	struct chain *c = arg;

	(void)addrs;
	(void)n;
	assert_int_equal(status, 0);
	c->outer_calls++;
	c->submit_ret = cn_resolver_addrs(c->r, "v4only.test", 9, addr_cb, &c->inner);
	/* Not even a literal's callback runs inside this call. */
	assert_int_equal(c->inner.calls, 0);
}

/* Submitting from inside a callback works and is delivered later. */
static void test_submit_in_callback(void **state)
{
	struct chain c = {0};
	struct res *all[] = {&c.inner};

	(void)state;
	c.r = new_resolver(servers, 500, 2);
	assert_int_equal(cn_resolver_addrs(c.r, "::1", 1, chain_cb, &c), 0);
	assert_true(run_until_done(all, 1, 3000));
	assert_int_equal(c.outer_calls, 1);
	assert_int_equal(c.submit_ret, 0);
	assert_int_equal(c.inner.status, 0);
	assert_addr(&c.inner.addrs[0], "192.0.2.20:9");
	cn_resolver_free(c.r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addrs_both_families),
		cmocka_unit_test(test_addrs_one_family_and_cap),
		cmocka_unit_test(test_literals),
		cmocka_unit_test(test_nxdomain),
		cmocka_unit_test(test_srv),
		cmocka_unit_test(test_srv_order),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_raw_forward),
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_free_pending),
		cmocka_unit_test(test_free_in_callback),
		cmocka_unit_test(test_submit_in_callback),
		cmocka_unit_test(test_no_search_no_aliases),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
