/* SPDX-License-Identifier: MIT */
/*
 * Test helper for tests/lab/test_fastpath.sh: the data-plane pieces wired
 * together the way the node's send and receive files will wire them, as a
 * two-host overlay without a handshake (fixed test keys, sessions set up
 * directly). It is the reference for that wiring, and the lab test shows
 * the pieces compose on the real kernel:
 *
 *   send:    TUN read (super-packet) -> cn_offload_segment into datagram
 *            buffers -> cn_session_batch_reserve -> cn_workpool_run seals ->
 *            cn_udpbatch_send (GSO runs)
 *   receive: cn_udpbatch_recv (GRO split) -> cn_session_batch_open_key ->
 *            cn_workpool_run opens -> cn_session_batch_accept ->
 *            cn_gro_add -> cn_gro_flush -> TUN writes
 *
 *   usage: fastpath_probe SIDE(a|b) LOCAL_IP PEER_IP WORKERS SECONDS
 * Overlay: 10.202.0.1/24 and fd92::1/64 (a), .2 and ::2 (b), MTU 1400, UDP port
 * 7400. Prints "ready", runs until SECONDS passed or stdin closes, then one
 * "stats ..." line. One batch at a time, as in the node.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/udpbatch.h"
#include "common/workpool.h"
#include "crypto/session.h"
#include "crypto/session_batch.h"
#include "node/netlink.h"
#include "node/offload.h"
#include "node/tun.h"

enum {
	MTU = 1400,
	PORT = 7400,
	NITEM = 256,   /* datagrams per batch */
	TUN_READS = 8, /* TUN reads per send batch at most */
	NRBUF = 8,     /* GRO receive buffers */
	DGRAM_CAP = CN_SESSION_OVERHEAD + MTU,
	RD_CAP = CN_VNET_HDR_LEN + CN_OFFLOAD_PKT_MAX,
};

struct item {
	uint8_t *dgram; /* send: own buffer; receive: inside a GRO buffer */
	size_t len;	/* datagram length (send: after sealing) */
	size_t pt_len;
	uint64_t counter;
	int ret;
};

struct batch {
	bool send;
	size_t n;
	struct item it[NITEM];
	void *ptr[NITEM];
	struct cn_session_seal_key sk;
	struct cn_session_open_key ok;
};

static struct cn_session sess;
static struct batch sendb, recvb;
static uint8_t sendbuf[NITEM][DGRAM_CAP], tunrd[RD_CAP];
static uint8_t rbuf[NRBUF][CN_UDPBATCH_GRO_BUF], arena[NITEM * (MTU + CN_VNET_HDR_LEN)];
static struct cn_udpbatch_rx rx[NITEM];
static struct cn_udpbatch ub;
static struct cn_gro gro;
static struct sockaddr_in peer;
static unsigned long st_reads, st_supers, st_segs, st_dgrams_out, st_dgrams_in, st_writes,
	st_coalesced, st_drops;

__attribute__((format(printf, 1, 2), noreturn)) static void die(const char *fmt, ...)
{
	va_list ap;

	printf("FAIL: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	exit(1);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Worker side: one item, nothing shared but read-only keys. */
static void work(void *ctx, void *vitem)
{
	struct batch *b = ctx;
	struct item *it = vitem;

	if (b->send) {
		it->ret = cn_session_batch_seal(&b->sk, it->counter,
						it->dgram + CN_SESSION_HEADER_LEN, it->pt_len,
						it->dgram, DGRAM_CAP, &it->len);
	} else {
		it->ret = cn_session_batch_open(&b->ok, it->dgram, it->len,
						it->dgram + CN_SESSION_HEADER_LEN, MTU, &it->pt_len,
						&it->counter);
	}
}

static void complete(struct batch *b, int ufd, int tfd);

/* Reads TUN super-packets and segments them into the send batch; seals and sends it. */
static void tun_to_batch(int tfd, int ufd, struct cn_workpool *pool)
{
	struct batch *b = &sendb;
	uint8_t *segp[CN_OFFLOAD_SEGS_MAX];
	size_t seglen[CN_OFFLOAD_SEGS_MAX], nseg;
	uint64_t first;
	int ret;

	b->n = 0;
	for (int r = 0; r < TUN_READS && NITEM - b->n >= CN_OFFLOAD_SEGS_MAX; r++) {
		ssize_t n = read(tfd, tunrd, sizeof(tunrd));
		size_t room = CN_OFFLOAD_SEGS_MAX; /* the loop condition keeps this much free */

		if (n < 0)
			break;
		st_reads++;
		/* Segment straight into datagram buffers, after the session header. */
		for (size_t i = 0; i < room; i++)
			segp[i] = sendbuf[b->n + i] + CN_SESSION_HEADER_LEN;
		ret = cn_offload_segment(tunrd, (size_t)n, segp, MTU, room, seglen, &nseg);
		if (ret) {
			st_drops++; /* the node logs this once, rate-limited */
			continue;
		}
		if (nseg > 1 || tunrd[1] != CN_VNET_GSO_NONE)
			st_supers++;
		for (size_t i = 0; i < nseg; i++) {
			b->it[b->n].dgram = sendbuf[b->n];
			b->it[b->n].pt_len = seglen[i];
			b->n++;
		}
		st_segs += nseg;
	}
	if (b->n == 0)
		return;
	/* Counters in order, on the loop thread; workers only seal. */
	if (cn_session_batch_reserve(&sess, now_ms(), b->n, &first, &b->sk))
		die("reserve");
	for (size_t i = 0; i < b->n; i++) {
		b->it[i].counter = first + i;
		b->ptr[i] = &b->it[i];
	}
	b->send = true;
	if (cn_workpool_run(pool, work, b, b->ptr, b->n))
		die("run send");
	complete(b, ufd, tfd);
}

static void udp_to_batch(int ufd, int tfd, struct cn_workpool *pool)
{
	struct batch *b = &recvb;
	uint8_t *rp[NRBUF];
	size_t n = 0;

	for (int i = 0; i < NRBUF; i++)
		rp[i] = rbuf[i];
	/* out_cap NITEM: recvmmsg asks for no more reads than their split fits. */
	if (cn_udpbatch_recv(&ub, ufd, rp, CN_UDPBATCH_GRO_BUF, NRBUF, rx, NITEM, &n) || n == 0)
		return;
	b->n = 0;
	for (size_t i = 0; i < n; i++) {
		b->it[b->n].dgram = rx[i].p;
		b->it[b->n].len = rx[i].len;
		b->ptr[b->n] = &b->it[b->n];
		b->n++;
	}
	st_dgrams_in += n;
	if (cn_session_batch_open_key(&sess, now_ms(), &b->ok))
		die("open key");
	b->send = false;
	if (cn_workpool_run(pool, work, b, b->ptr, b->n))
		die("run recv");
	complete(b, ufd, tfd);
}

static void complete(struct batch *b, int ufd, int tfd)
{
	struct cn_udpbatch_msg m[NITEM];
	struct cn_gro_out out[NITEM];
	size_t sent = 0, nout = 0, k = 0;

	if (b->send) {
		for (size_t i = 0; i < b->n; i++) {
			if (b->it[i].ret)
				continue;
			m[k++] = (struct cn_udpbatch_msg){b->it[i].dgram, b->it[i].len,
							  (const struct sockaddr *)&peer,
							  sizeof(peer)};
		}
		cn_udpbatch_send(&ub, ufd, m, k, &sent);
		st_dgrams_out += sent;
		cn_session_batch_seal_key_wipe(&b->sk);
	} else {
		cn_gro_init(&gro, CN_GRO_TCP | CN_GRO_UDP);
		for (size_t i = 0; i < b->n; i++) {
			struct item *it = &b->it[i];

			if (it->ret || cn_session_batch_accept(&sess, it->counter, NULL) ||
			    it->pt_len == 0)
				continue;
			cn_gro_add(&gro, it->dgram + CN_SESSION_HEADER_LEN, it->pt_len);
			k++;
		}
		if (cn_gro_flush(&gro, arena, sizeof(arena), out, NITEM, &nout))
			die("gro flush");
		for (size_t i = 0; i < nout; i++)
			if (write(tfd, out[i].p, out[i].len) == (ssize_t)out[i].len)
				st_writes++;
		st_coalesced += k - nout;
		cn_session_batch_open_key_wipe(&b->ok);
	}
}

int main(int argc, char **argv)
{
	uint8_t ka[CN_NOISE_CIPHER_KEY_LEN], kb[CN_NOISE_CIPHER_KEY_LEN], me[4] = {10, 202, 0, 1};
	uint8_t me6[16] = {0xfd, 0x92, [15] = 1};
	struct sockaddr_in local = {.sin_family = AF_INET, .sin_port = htons(PORT)};
	struct cn_udpbatch_caps caps;
	struct cn_workpool *pool = NULL;
	enum cn_tun_offload got;
	struct cn_errbuf e = {{0}};
	char name[CN_TUN_NAME_MAX];
	bool a;
	int tfd, ufd;
	uint64_t end;

	if (argc != 6)
		die("usage: fastpath_probe a|b LOCAL_IP PEER_IP WORKERS SECONDS");
	setvbuf(stdout, NULL, _IOLBF, 0);
	a = strcmp(argv[1], "a") == 0;
	me[3] = a ? 1 : 2;
	me6[15] = me[3];
	memset(ka, 0x11, sizeof(ka));
	memset(kb, 0x22, sizeof(kb));
	/* Both ends established at once: a test shortcut for a finished handshake. */
	cn_session_init(&sess, a ? ka : kb, a ? kb : ka, a ? 1 : 2, a ? 2 : 1, true, now_ms());
	peer.sin_family = AF_INET;
	peer.sin_port = htons(PORT);
	if (inet_pton(AF_INET, argv[2], &local.sin_addr) != 1 ||
	    inet_pton(AF_INET, argv[3], &peer.sin_addr) != 1)
		die("bad address");
	if (cn_tun_open_offload("cnfp%d", name, &tfd, &got, &e))
		die("tun: %s", e.msg);
	if (cn_netlink_configure(name, MTU, me, 24, me6, 64, &e) ||
	    cn_tun_set_txqlen(name, 4096, &e))
		die("configure: %s", e.msg);
	ufd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (ufd < 0 || bind(ufd, (struct sockaddr *)&local, sizeof(local)) ||
	    cn_udpbatch_setup(ufd, 8 << 20, true, &caps))
		die("udp: %s", strerror(errno));
	cn_udpbatch_init(&ub, &caps);
	if (cn_workpool_new((unsigned)atoi(argv[4]), &pool))
		die("workpool");
	printf("ready %s offload %s gso %d gro %d workers %u\n", name, cn_tun_offload_name(got),
	       caps.gso, caps.gro, cn_workpool_threads(pool));
	end = now_ms() + (uint64_t)atoi(argv[5]) * 1000;
	while (now_ms() < end) {
		struct pollfd p[3] = {{.fd = tfd, .events = POLLIN},
				      {.fd = ufd, .events = POLLIN},
				      {.fd = 0, .events = POLLIN}};

		if (poll(p, 3, 200) < 0 && errno != EINTR)
			die("poll");
		if (p[2].revents)
			break; /* stdin closed or written: stop */
		if (p[0].revents & POLLIN)
			tun_to_batch(tfd, ufd, pool);
		if (p[1].revents & POLLIN)
			udp_to_batch(ufd, tfd, pool);
	}
	printf("stats tun_reads %lu super_packets %lu segments %lu dgrams_out %lu gso_msgs %lu "
	       "dgrams_in %lu gro_reads %lu tun_writes %lu coalesced %lu drops %lu\n",
	       st_reads, st_supers, st_segs, st_dgrams_out, (unsigned long)ub.stats.gso_msgs,
	       st_dgrams_in, (unsigned long)ub.stats.gro_msgs, st_writes, st_coalesced, st_drops);
	cn_workpool_free(pool);
	cn_session_wipe(&sess);
	close(ufd);
	close(tfd);
	return 0;
}
