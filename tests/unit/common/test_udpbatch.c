/* SPDX-License-Identifier: MIT */
/*
 * Batched UDP I/O (common/udpbatch.h) on loopback sockets (127.0.0.1 only):
 * a GSO send of N datagrams arrives as N datagrams, or as one GRO read that
 * is split back into N; a mixed batch (sizes, destinations) keeps its order;
 * GSO off; a GSO message the kernel refuses is resent datagram by datagram;
 * a refused datagram does not stop the rest; truncated reads are dropped;
 * argument checks. Kernels without UDP_SEGMENT/UDP_GRO still pass the
 * non-offload parts (the offload checks are then skipped with a message).
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/err.h"
#include "common/udpbatch.h"

enum { NBUF = 16, WAIT_MS = 2000 };

struct sock {
	int fd;
	struct sockaddr_in addr;
	struct cn_udpbatch_caps caps;
	struct cn_udpbatch b;
};

static uint8_t rbuf[NBUF][CN_UDPBATCH_GRO_BUF];
static uint8_t *rptr[NBUF];
static struct cn_udpbatch_rx rx[NBUF * CN_UDPBATCH_GRO_SEGS];
static uint8_t payload[CN_UDPBATCH_MAX][2000];
static uint8_t kept[2 * CN_UDPBATCH_MAX][2000]; /* received bytes, out of the reused buffers */

static void sock_open(struct sock *s, bool gro)
{
	socklen_t l = sizeof(s->addr);

	memset(s, 0, sizeof(*s));
	s->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(s->fd >= 0);
	s->addr.sin_family = AF_INET;
	s->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&s->addr, sizeof(s->addr)), 0);
	assert_int_equal(getsockname(s->fd, (struct sockaddr *)&s->addr, &l), 0);
	assert_int_equal(cn_udpbatch_setup(s->fd, 1 << 20, gro, &s->caps), 0);
	cn_udpbatch_init(&s->b, &s->caps);
}

static void fill(void)
{
	for (int i = 0; i < CN_UDPBATCH_MAX; i++)
		for (int j = 0; j < 2000; j++)
			payload[i][j] = (uint8_t)(i * 31 + j);
}

static struct cn_udpbatch_msg msg(int i, size_t len, const struct sock *to)
{
	struct cn_udpbatch_msg m = {payload[i], len, (const struct sockaddr *)&to->addr,
				    sizeof(to->addr)};
	return m;
}

/* Receives until want datagrams arrived (or WAIT_MS); returns how many. */
static size_t recv_all(struct sock *s, size_t want)
{
	size_t total = 0, n;
	struct pollfd p = {.fd = s->fd, .events = POLLIN};

	while (total < want && poll(&p, 1, WAIT_MS) == 1) {
		n = 0;
		assert_int_equal(cn_udpbatch_recv(&s->b, s->fd, rptr, CN_UDPBATCH_GRO_BUF, NBUF,
						  rx + total, NBUF * CN_UDPBATCH_GRO_SEGS - total,
						  &n),
				 0);
		/* The next call reuses the buffers: keep these bytes. */
		for (size_t k = total; k < total + n; k++) {
			assert_true(k < 2 * CN_UDPBATCH_MAX && rx[k].len <= sizeof(kept[k]));
			memcpy(kept[k], rx[k].p, rx[k].len);
			rx[k].p = kept[k];
		}
		total += n;
	}
	return total;
}

static void assert_dgram(size_t k, int i, size_t len, const struct sock *from)
{
	const struct sockaddr_in *f = (const struct sockaddr_in *)rx[k].from;

	assert_int_equal(rx[k].len, len);
	assert_memory_equal(rx[k].p, payload[i], len);
	assert_int_equal(rx[k].fromlen, sizeof(*f));
	assert_int_equal(f->sin_port, from->addr.sin_port);
}

static int setup(void **state)
{
	(void)state;
	for (int i = 0; i < NBUF; i++)
		rptr[i] = rbuf[i];
	fill();
	return 0;
}

static void test_setup_caps(void **state)
{
	struct cn_udpbatch_caps caps;
	struct sock s;
	int t;

	(void)state;
	sock_open(&s, true);
	printf("info: gso %d gro %d rcvbuf %d sndbuf %d forced %d\n", s.caps.gso, s.caps.gro,
	       s.caps.rcvbuf, s.caps.sndbuf, s.caps.forced);
	/* Linux reports twice the size set; capped by rmem_max when not forced. */
	assert_true(s.caps.rcvbuf > 0 && s.caps.sndbuf > 0);
	if (s.caps.forced)
		assert_true(s.caps.rcvbuf >= 1 << 20);
	assert_int_equal(cn_udpbatch_gso(&s.b), s.caps.gso);
	cn_udpbatch_set_gso(&s.b, false);
	assert_false(cn_udpbatch_gso(&s.b));
	cn_udpbatch_set_gso(&s.b, true);
	assert_int_equal(cn_udpbatch_gso(&s.b), s.caps.gso);
	close(s.fd);
	/* Not a UDP socket. */
	t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(cn_udpbatch_setup(t, 0, true, &caps), -CN_EIO);
	close(t);
	assert_int_equal(cn_udpbatch_setup(-1, 0, true, &caps), -CN_EINVAL);
	assert_int_equal(cn_udpbatch_setup(0, -1, true, &caps), -CN_EINVAL);
}

/* N equal datagrams (last shorter) in one GSO message; the receiver without GRO sees N. */
static void test_gso_to_plain_receiver(void **state)
{
	struct cn_udpbatch_msg m[10];
	struct sock tx, rcv;
	size_t sent = 0;

	(void)state;
	sock_open(&tx, false);
	sock_open(&rcv, false);
	for (int i = 0; i < 10; i++)
		m[i] = msg(i, i == 9 ? 500 : 1000, &rcv);
	assert_int_equal(cn_udpbatch_send(&tx.b, tx.fd, m, 10, &sent), 0);
	assert_int_equal(sent, 10);
	assert_int_equal(tx.b.stats.send_calls, 1);
	assert_int_equal(tx.b.stats.gso_msgs, tx.caps.gso ? 1 : 0);
	assert_int_equal(recv_all(&rcv, 10), 10);
	for (int i = 0; i < 10; i++)
		assert_dgram((size_t)i, i, i == 9 ? 500 : 1000, &tx);
	assert_int_equal(rcv.b.stats.gro_msgs, 0);
	close(tx.fd);
	close(rcv.fd);
}

/* With UDP_GRO on the receiver, the same arrives as one read, split back into 10. */
static void test_gso_to_gro_receiver(void **state)
{
	struct cn_udpbatch_msg m[10];
	struct sock tx, rcv;
	size_t sent = 0;

	(void)state;
	sock_open(&tx, false);
	sock_open(&rcv, true);
	if (!tx.caps.gso || !rcv.caps.gro) {
		printf("info: no UDP GSO/GRO here, skipped\n");
		close(tx.fd);
		close(rcv.fd);
		return;
	}
	for (int i = 0; i < 10; i++)
		m[i] = msg(i, i == 9 ? 700 : 1300, &rcv);
	assert_int_equal(cn_udpbatch_send(&tx.b, tx.fd, m, 10, &sent), 0);
	/* One read: ten views into the first buffer, no copy. */
	{
		struct pollfd p = {.fd = rcv.fd, .events = POLLIN};
		size_t n = 0;

		assert_int_equal(poll(&p, 1, WAIT_MS), 1);
		assert_int_equal(cn_udpbatch_recv(&rcv.b, rcv.fd, rptr, CN_UDPBATCH_GRO_BUF, NBUF,
						  rx, NBUF * CN_UDPBATCH_GRO_SEGS, &n),
				 0);
		assert_int_equal(n, 10);
		for (int i = 0; i < 10; i++)
			assert_ptr_equal(rx[i].p, rbuf[0] + i * 1300);
	}
	assert_int_equal(rcv.b.stats.recv_calls, 1);
	assert_int_equal(rcv.b.stats.gro_msgs, 1);
	for (int i = 0; i < 10; i++)
		assert_dgram((size_t)i, i, i == 9 ? 700 : 1300, &tx);
	close(tx.fd);
	close(rcv.fd);
}

/* Runs break on size and destination; order within each destination is kept. */
static void test_mixed_batch(void **state)
{
	static const size_t len[9] = {1000, 1000, 500, 1000, 1200, 1200, 1200, 10, 1200};
	static const int to_b[9] = {0, 0, 0, 0, 0, 1, 1, 0, 0};
	struct cn_udpbatch_msg m[9];
	struct sock tx, ra, rb;
	size_t sent = 0, ka = 0, kb = 0, na, nb;

	(void)state;
	sock_open(&tx, false);
	sock_open(&ra, false);
	sock_open(&rb, false);
	for (int i = 0; i < 9; i++)
		m[i] = msg(i, len[i], to_b[i] ? &rb : &ra);
	assert_int_equal(cn_udpbatch_send(&tx.b, tx.fd, m, 9, &sent), 0);
	assert_int_equal(sent, 9);
	assert_int_equal(tx.b.stats.send_calls, 1);
	/* Messages: {1000 1000 500} {1000} {1200} {1200 1200}->B {10} {1200}. */
	if (tx.caps.gso)
		assert_int_equal(tx.b.stats.gso_msgs, 2); /* {0,1,2} and {5,6} */
	na = recv_all(&ra, 7);
	assert_int_equal(na, 7);
	for (int i = 0; i < 9; i++)
		if (!to_b[i])
			assert_dgram(ka++, i, len[i], &tx);
	nb = recv_all(&rb, 2);
	assert_int_equal(nb, 2);
	for (int i = 0; i < 9; i++)
		if (to_b[i])
			assert_dgram(kb++, i, len[i], &tx);
	close(tx.fd);
	close(ra.fd);
	close(rb.fd);
}

/* Grouping by destination: stable per destination, then GSO gets runs out of interleaving. */
static void test_group(void **state)
{
	struct cn_udpbatch_msg m[12];
	struct sock tx, ra, rb, rc;
	size_t sent = 0;
	struct sock *dest[12];
	int want[12], w = 0;

	(void)state;
	sock_open(&tx, false);
	sock_open(&ra, false);
	sock_open(&rb, false);
	sock_open(&rc, false);
	for (int i = 0; i < 12; i++) {
		dest[i] = i % 3 == 0 ? &ra : i % 3 == 1 ? &rb : &rc; /* A B C A B C ... */
		m[i] = msg(i, 1000, dest[i]);
	}
	m[11].to = NULL; /* one for the connected peer (none here): its own group */
	cn_udpbatch_group(m, 12);
	/* A's in order, then B's, then C's, then the NULL one. */
	for (int g = 0; g < 3; g++)
		for (int i = g; i < 11; i += 3)
			want[w++] = i;
	want[w++] = 11;
	for (int i = 0; i < 12; i++)
		assert_ptr_equal(m[i].p, payload[want[i]]);
	cn_udpbatch_group(m, 0);
	cn_udpbatch_group(m, 1);
	/* Sent grouped (the NULL one left out: nothing connected): three GSO messages. */
	assert_int_equal(cn_udpbatch_send(&tx.b, tx.fd, m, 11, &sent), 0);
	assert_int_equal(sent, 11);
	if (tx.caps.gso)
		assert_int_equal(tx.b.stats.gso_msgs, 3);
	assert_int_equal(recv_all(&ra, 4), 4);
	for (int k = 0; k < 4; k++)
		assert_dgram((size_t)k, 3 * k, 1000, &tx);
	assert_int_equal(recv_all(&rc, 3), 3);
	for (int k = 0; k < 3; k++)
		assert_dgram((size_t)k, 3 * k + 2, 1000, &tx);
	close(tx.fd);
	close(ra.fd);
	close(rb.fd);
	close(rc.fd);
}

/* The runtime switch: GSO off sends the same datagrams without UDP_SEGMENT. */
static void test_gso_off(void **state)
{
	struct cn_udpbatch_msg m[CN_UDPBATCH_MAX + 6];
	struct sock tx, rcv;
	size_t sent = 0;

	(void)state;
	sock_open(&tx, false);
	sock_open(&rcv, true);
	cn_udpbatch_set_gso(&tx.b, false);
	for (int i = 0; i < CN_UDPBATCH_MAX + 6; i++)
		m[i] = msg(i % CN_UDPBATCH_MAX, 1000, &rcv);
	assert_int_equal(cn_udpbatch_send(&tx.b, tx.fd, m, CN_UDPBATCH_MAX + 6, &sent), 0);
	assert_int_equal(sent, CN_UDPBATCH_MAX + 6);
	assert_int_equal(tx.b.stats.gso_msgs, 0);
	assert_int_equal(tx.b.stats.send_calls, 2); /* chunks of CN_UDPBATCH_MAX */
	assert_int_equal(recv_all(&rcv, CN_UDPBATCH_MAX + 6), CN_UDPBATCH_MAX + 6);
	for (int i = 0; i < CN_UDPBATCH_MAX + 6; i++)
		assert_dgram((size_t)i, i % CN_UDPBATCH_MAX, 1000, &tx);
	close(tx.fd);
	close(rcv.fd);
}

/* SO_NO_CHECK makes the kernel refuse GSO (EINVAL): resent one by one, GSO stays on. */
static void test_gso_refused_falls_back(void **state)
{
	struct cn_udpbatch_msg m[8];
	struct sock tx, rcv;
	size_t sent = 0;
	int one = 1;

	(void)state;
	sock_open(&tx, false);
	sock_open(&rcv, false);
	if (!tx.caps.gso) {
		printf("info: no UDP GSO here, skipped\n");
		close(tx.fd);
		close(rcv.fd);
		return;
	}
	assert_int_equal(setsockopt(tx.fd, SOL_SOCKET, SO_NO_CHECK, &one, sizeof(one)), 0);
	for (int i = 0; i < 8; i++)
		m[i] = msg(i, 900, &rcv);
	assert_int_equal(cn_udpbatch_send(&tx.b, tx.fd, m, 8, &sent), 0);
	assert_int_equal(sent, 8);
	assert_int_equal(tx.b.stats.gso_msgs, 0);
	assert_int_equal(tx.b.stats.send_calls, 2);
	assert_true(cn_udpbatch_gso(&tx.b)); /* EINVAL is about this message, not the socket */
	assert_int_equal(recv_all(&rcv, 8), 8);
	for (int i = 0; i < 8; i++)
		assert_dgram((size_t)i, i, 900, &tx);
	close(tx.fd);
	close(rcv.fd);
}

/* A datagram the kernel refuses is dropped and counted; the others still go. */
static void test_refused_datagram(void **state)
{
	struct sockaddr_in6 six = {.sin6_family = AF_INET6, .sin6_port = htons(9)};
	struct cn_udpbatch_msg m[3];
	struct sock tx, rcv;
	size_t sent = 9;

	(void)state;
	sock_open(&tx, false);
	sock_open(&rcv, false);
	cn_udpbatch_set_gso(&tx.b, false);
	m[0] = msg(0, 100, &rcv);
	m[1] = msg(1, 100, &rcv);
	m[1].to = (const struct sockaddr *)&six; /* IPv6 on an IPv4 socket */
	m[1].tolen = sizeof(six);
	m[2] = msg(2, 100, &rcv);
	assert_int_equal(cn_udpbatch_send(&tx.b, tx.fd, m, 3, &sent), -CN_EIO);
	assert_int_equal(sent, 2);
	assert_int_equal(tx.b.stats.send_failed, 1);
	assert_int_equal(recv_all(&rcv, 2), 2);
	assert_dgram(0, 0, 100, &tx);
	assert_dgram(1, 2, 100, &tx);
	/* Bad arguments: nothing sent. */
	m[0].len = 0;
	assert_int_equal(cn_udpbatch_send(&tx.b, tx.fd, m, 1, &sent), -CN_EINVAL);
	assert_int_equal(sent, 0);
	m[0].len = 65508;
	assert_int_equal(cn_udpbatch_send(&tx.b, tx.fd, m, 1, &sent), -CN_EINVAL);
	m[0].len = 100;
	m[0].tolen = sizeof(struct sockaddr_storage) + 1; /* would overrun the copy */
	assert_int_equal(cn_udpbatch_send(&tx.b, tx.fd, m, 1, &sent), -CN_EINVAL);
	assert_int_equal(cn_udpbatch_send(&tx.b, tx.fd, NULL, 1, &sent), -CN_EINVAL);
	assert_int_equal(cn_udpbatch_send(&tx.b, tx.fd, NULL, 0, &sent), 0);
	close(tx.fd);
	close(rcv.fd);
}

/* A read longer than its buffer is dropped, never handed back cut; an empty one is kept. */
static void test_truncated_and_empty(void **state)
{
	struct cn_udpbatch_msg m;
	struct sock tx, rcv;
	struct pollfd p;
	size_t n = 9;

	(void)state;
	sock_open(&tx, false);
	sock_open(&rcv, false);
	/* Nothing waiting: 0, nothing handed back. */
	assert_int_equal(cn_udpbatch_recv(&rcv.b, rcv.fd, rptr, 100, NBUF, rx, NBUF, &n), 0);
	assert_int_equal(n, 0);
	m = msg(0, 1000, &rcv);
	assert_int_equal(sendto(tx.fd, m.p, 1000, 0, m.to, m.tolen), 1000);
	assert_int_equal(sendto(tx.fd, m.p, 50, 0, m.to, m.tolen), 50);
	assert_int_equal(sendto(tx.fd, m.p, 0, 0, m.to, m.tolen), 0);
	p.fd = rcv.fd;
	p.events = POLLIN;
	assert_int_equal(poll(&p, 1, WAIT_MS), 1);
	usleep(20000); /* let all three queue so one call sees them */
	assert_int_equal(cn_udpbatch_recv(&rcv.b, rcv.fd, rptr, 100, NBUF, rx, NBUF, &n), 0);
	assert_int_equal(rcv.b.stats.truncated, 1);
	assert_int_equal(n, 2);
	assert_dgram(0, 0, 50, &tx);
	assert_int_equal(rx[1].len, 0);
	/* out_cap below one GRO read's worth: refused. */
	{
		struct sock g;

		sock_open(&g, true);
		if (g.caps.gro)
			assert_int_equal(cn_udpbatch_recv(&g.b, g.fd, rptr, CN_UDPBATCH_GRO_BUF,
							  NBUF, rx, CN_UDPBATCH_GRO_SEGS - 1, &n),
					 -CN_EINVAL);
		close(g.fd);
	}
	assert_int_equal(cn_udpbatch_recv(&rcv.b, rcv.fd, rptr, 0, NBUF, rx, NBUF, &n), -CN_EINVAL);
	assert_int_equal(cn_udpbatch_recv(&rcv.b, -1, rptr, 100, NBUF, rx, NBUF, &n), -CN_EIO);
	close(tx.fd);
	close(rcv.fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_setup_caps),
		cmocka_unit_test(test_gso_to_plain_receiver),
		cmocka_unit_test(test_gso_to_gro_receiver),
		cmocka_unit_test(test_mixed_batch),
		cmocka_unit_test(test_group),
		cmocka_unit_test(test_gso_off),
		cmocka_unit_test(test_gso_refused_falls_back),
		cmocka_unit_test(test_refused_datagram),
		cmocka_unit_test(test_truncated_and_empty),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
