/* SPDX-License-Identifier: MIT */
/*
 * The port mapping shell against a fake gateway on loopback (same event
 * loop): PCP granted, NAT-PMP after a NAT-PMP-only answer, garbage before
 * the real answer, an epoch reset, a renewal, deletes on free, and a
 * gateway with no server at all. UPnP is covered by the lab test
 * (tests/lab/test_portmap.sh) against a real miniupnpd.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <event2/event.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nat/natpmp.h"
#include "nat/pcp.h"
#include "nat/portmap.h"

enum mode {
	PCP_OK,	       /* answers PCP */
	NATPMP_ONLY,   /* answers PCP with a NAT-PMP "unsupported version" */
	GARBAGE_FIRST, /* three bad answers before each good one */
	FLOOD	       /* only random datagrams, many, some with a valid header */
};

struct fake {
	enum mode mode;
	int fd;
	uint16_t port;
	struct event *ev;
	struct sockaddr_in client;
	uint32_t epoch;
	uint32_t grant; /* lifetime granted */
	unsigned pcp_maps, pcp_deletes, natpmp_addrs, natpmp_maps, natpmp_deletes;
	uint8_t nonce[CN_PCP_NONCE_LEN];
};

struct seen {
	unsigned events, lost;
	struct cn_portmap_event last;
	struct event_base *base;
	unsigned stop_after; /* events */
};

static const uint8_t ext4[4] = {203, 0, 113, 10};

static void reply(struct fake *f, const void *b, size_t n)
{
	assert_int_equal(sendto(f->fd, b, n, 0, (struct sockaddr *)&f->client, sizeof(f->client)),
			 (ssize_t)n);
}

static void garbage(struct fake *f, const struct cn_pcp_request *rq)
{
	uint8_t b[CN_PCP_MSG_MAX];
	struct cn_pcp_response rs = {.opcode = CN_PCP_OP_MAP, .has_map = true, .map = rq->map};
	size_t n;

	memset(b, 0xee, sizeof(b));
	reply(f, b, 7); /* unknown version */
	b[0] = 2;
	reply(f, b, 61);      /* PCP, unaligned */
	rs.map.nonce[0] ^= 1; /* someone else's nonce */
	rs.lifetime = 100;
	cn_pcp_addr_from_v4(rs.map.external_ip, (const uint8_t[4]){192, 0, 2, 66});
	rs.map.external_port = 1;
	assert_int_equal(cn_pcp_response_encode(&rs, b, sizeof(b), &n), 0);
	reply(f, b, n);
	b[0] = 0;
	reply(f, b, 3); /* NAT-PMP, short */
}

/* 300 random datagrams: random sizes, version byte 0 or 2, sometimes a
 * real header (R bit, MAP, success) or our nonce with random fields. */
static void flood(struct fake *f, const struct cn_pcp_request *rq)
{
	static uint64_t x = 0x9e3779b97f4a7c15ULL;
	uint8_t b[CN_PCP_MSG_MAX + 8];

	for (int i = 0; i < 300; i++) {
		size_t n;

		for (size_t k = 0; k < sizeof(b); k++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			b[k] = (uint8_t)x;
		}
		n = (size_t)(x % 80);
		b[0] = (x >> 20) & 1 ? 2 : 0;
		if ((x >> 21) & 1) {
			b[1] = (x >> 22) & 1 ? 0x81 : 0x80 | (b[0] == 0 ? 1 : 0);
			b[3] = 0;
			n &= ~(size_t)3;
		}
		if ((x >> 23) & 1 && n >= CN_PCP_MAP_MSG_LEN)
			memcpy(b + CN_PCP_HDR_LEN, rq->map.nonce, CN_PCP_NONCE_LEN);
		reply(f, b, n);
	}
}

static void on_fake(evutil_socket_t fd, short what, void *arg)
{
	struct fake *f = arg;
	uint8_t b[CN_PCP_MSG_MAX + 4], o[CN_PCP_MSG_MAX];
	socklen_t sl = sizeof(f->client);
	ssize_t n;
	size_t on;

	(void)what;
	n = recvfrom(fd, b, sizeof(b), 0, (struct sockaddr *)&f->client, &sl);
	if (n <= 0)
		return;
	if (b[0] == 2) {
		struct cn_pcp_request rq;
		struct cn_pcp_response rs = {.opcode = CN_PCP_OP_MAP, .epoch = f->epoch};

		assert_int_equal(cn_pcp_request_decode(b, (size_t)n, &rq), 0);
		/* The client's address is its socket's, IPv4-mapped. */
		uint8_t v4[4];
		assert_true(cn_pcp_addr_to_v4(rq.client_ip, v4));
		assert_memory_equal(v4, &f->client.sin_addr, 4);
		if (rq.lifetime == 0) {
			f->pcp_deletes++;
			return;
		}
		f->pcp_maps++;
		memcpy(f->nonce, rq.map.nonce, sizeof(f->nonce));
		if (f->mode == NATPMP_ONLY) {
			struct cn_natpmp_response e = {.opcode = CN_NATPMP_OP_MAP_UDP,
						       .result = CN_NATPMP_UNSUPP_VERSION,
						       .epoch = f->epoch};

			assert_int_equal(cn_natpmp_response_encode(&e, o, sizeof(o), &on), 0);
			reply(f, o, on);
			return;
		}
		if (f->mode == FLOOD) {
			flood(f, &rq);
			return;
		}
		if (f->mode == GARBAGE_FIRST)
			garbage(f, &rq);
		rs.lifetime = f->grant;
		rs.has_map = true;
		rs.map = rq.map;
		rs.map.external_port = 50000;
		cn_pcp_addr_from_v4(rs.map.external_ip, ext4);
		assert_int_equal(cn_pcp_response_encode(&rs, o, sizeof(o), &on), 0);
		reply(f, o, on);
		return;
	}
	struct cn_natpmp_request rq;
	struct cn_natpmp_response rs = {.epoch = f->epoch, .full = true};

	assert_int_equal(cn_natpmp_request_decode(b, (size_t)n, &rq), 0);
	if (f->mode == FLOOD) {
		flood(f, &(struct cn_pcp_request){0});
		return;
	}
	rs.opcode = rq.opcode;
	if (rq.opcode == CN_NATPMP_OP_ADDR) {
		f->natpmp_addrs++;
		memcpy(rs.external_ip, ext4, 4);
	} else {
		if (rq.lifetime == 0) {
			assert_int_equal(rq.suggested_port, 0);
			f->natpmp_deletes++;
			return;
		}
		f->natpmp_maps++;
		rs.internal_port = rq.internal_port;
		rs.external_port = 50001;
		rs.lifetime = f->grant;
	}
	assert_int_equal(cn_natpmp_response_encode(&rs, o, sizeof(o), &on), 0);
	reply(f, o, on);
}

static void fake_open(struct fake *f, struct event_base *base, enum mode mode)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);

	memset(f, 0, sizeof(*f));
	f->mode = mode;
	f->epoch = 1000;
	f->grant = 3600;
	f->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	assert_true(f->fd >= 0);
	assert_int_equal(bind(f->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(f->fd, (struct sockaddr *)&sa, &sl), 0);
	f->port = ntohs(sa.sin_port);
	f->ev = event_new(base, f->fd, EV_READ | EV_PERSIST, on_fake, f);
	event_add(f->ev, NULL);
}

static void fake_close(struct fake *f)
{
	event_free(f->ev);
	close(f->fd);
}

static void on_event(void *arg, const struct cn_portmap_event *ev)
{
	struct seen *s = arg;

	s->events++;
	if (ev->lost)
		s->lost++;
	s->last = *ev;
	if (s->stop_after && s->events >= s->stop_after)
		event_base_loopexit(s->base, NULL);
}

/* Runs the loop until the callback stops it or `ms` pass. */
static void run(struct event_base *base, unsigned ms)
{
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

static struct cn_portmap *start(struct event_base *base, struct fake *f, struct seen *s,
				unsigned protocols, uint16_t server_port)
{
	struct cn_portmap_config cfg = {.local_port = 41641,
					.protocols = protocols,
					.server_port = server_port ? server_port : f->port};
	struct cn_portmap *pm;

	cfg.gateway.s_addr = htonl(INADDR_LOOPBACK);
	memset(s, 0, sizeof(*s));
	s->base = base;
	s->stop_after = 1;
	pm = cn_portmap_new(base, &cfg, on_event, s);
	assert_non_null(pm);
	return pm;
}

static void drain(struct event_base *base)
{
	/* Lets the fake read what free sent. */
	event_base_loop(base, EVLOOP_NONBLOCK);
	usleep(20000);
	event_base_loop(base, EVLOOP_NONBLOCK);
}

static void test_pcp(void **state)
{
	struct event_base *base = event_base_new();
	struct fake f;
	struct seen s;
	struct cn_portmap *pm;
	struct cn_portmap_event cur;
	char ip[INET_ADDRSTRLEN];

	(void)state;
	fake_open(&f, base, PCP_OK);
	pm = start(base, &f, &s, CN_PORTMAP_USE_PCP | CN_PORTMAP_USE_NATPMP, 0);
	run(base, 5000);
	assert_int_equal(s.events, 1);
	assert_int_equal(s.last.proto, CN_PORTMAP_PCP);
	assert_false(s.last.lost);
	inet_ntop(AF_INET, &s.last.external.sin_addr, ip, sizeof(ip));
	assert_string_equal(ip, "203.0.113.10");
	assert_int_equal(ntohs(s.last.external.sin_port), 50000);
	assert_int_equal(s.last.lifetime_s, 3600);
	assert_true(cn_portmap_current(pm, &cur));
	assert_int_equal(f.natpmp_maps, 0);
	/* The gateway restarts: an ANNOUNCE with epoch 0. The client maps
	 * again (a second MAP) and reports the loss, then the mapping. */
	{
		struct cn_pcp_response an = {.opcode = CN_PCP_OP_ANNOUNCE, .epoch = 0};
		uint8_t b[64];
		size_t n;

		assert_int_equal(cn_pcp_response_encode(&an, b, sizeof(b), &n), 0);
		f.epoch = 0;
		reply(&f, b, n);
	}
	s.stop_after = 3;
	run(base, 8000); /* the remap waits 0.5..5 s (RFC 6887 14.1.3) */
	assert_int_equal(f.pcp_maps, 2);
	assert_int_equal(s.lost, 1);
	assert_int_equal(s.events, 3);
	assert_int_equal(s.last.proto, CN_PORTMAP_PCP);
	/* Free deletes: one MAP with lifetime 0. */
	cn_portmap_free(pm);
	drain(base);
	assert_int_equal(f.pcp_deletes, 1);
	fake_close(&f);
	event_base_free(base);
}

static void test_natpmp_fallback(void **state)
{
	struct event_base *base = event_base_new();
	struct fake f;
	struct seen s;
	struct cn_portmap *pm;

	(void)state;
	fake_open(&f, base, NATPMP_ONLY);
	pm = start(base, &f, &s, 0 /* all, UPnP last */, 0);
	run(base, 5000);
	assert_int_equal(s.events, 1);
	assert_int_equal(s.last.proto, CN_PORTMAP_NATPMP);
	assert_int_equal(ntohs(s.last.external.sin_port), 50001);
	assert_int_equal(f.pcp_maps, 1);
	assert_int_equal(f.natpmp_addrs, 1);
	assert_int_equal(f.natpmp_maps, 1);
	cn_portmap_free(pm);
	drain(base);
	assert_int_equal(f.natpmp_deletes, 1);
	assert_int_equal(f.pcp_deletes, 0);
	fake_close(&f);
	event_base_free(base);
}

static void test_garbage_and_renew(void **state)
{
	struct event_base *base = event_base_new();
	struct fake f;
	struct seen s;
	struct cn_portmap *pm;

	(void)state;
	fake_open(&f, base, GARBAGE_FIRST);
	f.grant = 2; /* renewed after 1..1.25 s */
	pm = start(base, &f, &s, CN_PORTMAP_USE_PCP, 0);
	run(base, 5000);
	assert_int_equal(s.events, 1);
	assert_int_equal(s.last.proto, CN_PORTMAP_PCP);
	assert_int_equal(ntohs(s.last.external.sin_port), 50000); /* not the forged 1 */
	/* The renewal goes out (same nonce) and changes nothing to report. */
	s.stop_after = 0;
	f.epoch += 2;
	run(base, 1600);
	assert_int_equal(f.pcp_maps, 2);
	assert_int_equal(s.events, 1);
	cn_portmap_free(pm);
	fake_close(&f);
	event_base_free(base);
}

static void test_no_server(void **state)
{
	struct event_base *base = event_base_new();
	struct fake f;
	struct seen s;
	struct cn_portmap *pm;
	struct cn_portmap_event cur;

	(void)state;
	/* The fake's port, closed: ICMP port unreachable for every request. */
	fake_open(&f, base, PCP_OK);
	fake_close(&f);
	pm = start(base, &f, &s, CN_PORTMAP_USE_PCP | CN_PORTMAP_USE_NATPMP, f.port);
	run(base, 500);
	assert_int_equal(s.events, 0);
	assert_false(cn_portmap_current(pm, &cur));
	cn_portmap_free(pm);
	event_base_free(base);
}

static void test_flood(void **state)
{
	struct event_base *base = event_base_new();
	struct fake f;
	struct seen s;
	struct cn_portmap *pm;

	(void)state;
	/* A broken or hostile gateway: no crash (ASan in the test build), and
	 * whatever it maps is only ever a unicast address with a port. */
	fake_open(&f, base, FLOOD);
	pm = start(base, &f, &s, CN_PORTMAP_USE_PCP | CN_PORTMAP_USE_NATPMP, 0);
	s.stop_after = 0;
	run(base, 1500);
	if (s.events && !s.last.lost) {
		uint8_t a[4];

		memcpy(a, &s.last.external.sin_addr, 4);
		assert_true(a[0] != 0 && a[0] != 127 && a[0] < 224);
		assert_int_not_equal(s.last.external.sin_port, 0);
	}
	cn_portmap_free(pm);
	fake_close(&f);
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pcp),
		cmocka_unit_test(test_natpmp_fallback),
		cmocka_unit_test(test_garbage_and_renew),
		cmocka_unit_test(test_no_server),
		cmocka_unit_test(test_flood),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
