/* SPDX-License-Identifier: MIT */
/*
 * Micro-benchmark of the data plane's pieces, one thread, no root, loopback
 * only. Prints figures and ratios; never passes or fails on them.
 *
 *   1. the internet checksum over 64 KiB (what segmentation pays per byte);
 *   2. cn_offload_segment of a 64 KiB TCP super-packet into 1288-byte
 *      segments, and cn_gro_add/cn_gro_flush of those back into one;
 *   3. UDP on 127.0.0.1, 1340-byte datagrams: one sendto per datagram vs
 *      cn_udpbatch_send without GSO (sendmmsg) vs with GSO, each received
 *      by the same thread with cn_udpbatch_recv (GRO on for the last), so a
 *      figure is a send and a receive of every datagram.
 *
 *   usage: bench_offload [--seconds S]   (S per figure, default 0.5)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/udpbatch.h"
#include "node/ippkt.h"
#include "node/offload.h"

enum { SEG = 1288, DGRAM = 1340, BATCH = 64, NBUF = 8 };

static double secs = 0.5;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* A 64 KiB IPv4 TCP super-packet with timestamps, as a TSO read gives it. */
static size_t make_super(uint8_t *out)
{
	static const uint8_t opts[12] = {1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2};
	struct cn_vnet_hdr h = {.flags = CN_VNET_F_NEEDS_CSUM,
				.gso_type = CN_VNET_GSO_TCPV4,
				.hdr_len = 52,
				.gso_size = SEG,
				.csum_start = 20,
				.csum_offset = 16};
	uint8_t *ip = out + CN_VNET_HDR_LEN;
	size_t len = CN_OFFLOAD_PKT_MAX;

	memset(ip, 0, len);
	ip[0] = 0x45;
	put16(ip + 2, (unsigned)len);
	ip[6] = 0x40;
	ip[8] = 64;
	ip[9] = 6;
	ip[12] = 10, ip[15] = 1, ip[16] = 10, ip[19] = 7;
	put16(ip + 20, 40000);
	put16(ip + 22, 5201);
	ip[32] = 8 << 4;
	ip[33] = 0x10;
	put16(ip + 34, 500);
	memcpy(ip + 40, opts, sizeof(opts));
	for (size_t i = 52; i < len; i++)
		ip[i] = (uint8_t)(i * 7);
	cn_vnet_hdr_encode(&h, out);
	return CN_VNET_HDR_LEN + len;
}

static void bench_csum(void)
{
	static uint8_t buf[65536];
	double t0 = now_s(), t;
	unsigned long n = 0;
	volatile uint32_t sink = 0;

	memset(buf, 0x5a, sizeof(buf));
	do {
		for (int i = 0; i < 64; i++)
			sink += cn_ip_csum_add(0, buf, sizeof(buf));
		n += 64;
		t = now_s() - t0;
	} while (t < secs);
	printf("checksum (cn_ip_csum_add, 64 KiB):        %8.2f Gbit/s\n",
	       (double)n * sizeof(buf) * 8 / t / 1e9);
	(void)sink;
}

static void bench_offload(void)
{
	static uint8_t in[CN_VNET_HDR_LEN + CN_OFFLOAD_PKT_MAX];
	static uint8_t seg[CN_OFFLOAD_SEGS_MAX][1500], arena[CN_GRO_BATCH_MAX * 1510];
	static struct cn_gro g;
	uint8_t *segp[CN_OFFLOAD_SEGS_MAX];
	size_t seglen[CN_OFFLOAD_SEGS_MAX], nseg = 0, len = make_super(in), nout = 0;
	struct cn_gro_out out[CN_GRO_BATCH_MAX];
	double t0, t;
	unsigned long n = 0;

	for (int i = 0; i < CN_OFFLOAD_SEGS_MAX; i++)
		segp[i] = seg[i];
	t0 = now_s();
	do {
		for (int i = 0; i < 16; i++)
			if (cn_offload_segment(in, len, segp, 1500, CN_OFFLOAD_SEGS_MAX, seglen,
					       &nseg))
				abort();
		n += 16;
		t = now_s() - t0;
	} while (t < secs);
	printf("segment 64 KiB TSO -> %zu x %d:            %8.2f Gbit/s  %8.0f k segments/s\n",
	       nseg, SEG, (double)n * (len - CN_VNET_HDR_LEN) * 8 / t / 1e9,
	       (double)n * (double)nseg / t / 1e3);
	n = 0;
	cn_gro_init(&g, CN_GRO_TCP);
	t0 = now_s();
	do {
		for (int i = 0; i < 16; i++) {
			for (size_t k = 0; k < nseg; k++)
				cn_gro_add(&g, seg[k], seglen[k]);
			if (cn_gro_flush(&g, arena, sizeof(arena), out, CN_GRO_BATCH_MAX, &nout) ||
			    nout != 1)
				abort();
		}
		n += 16;
		t = now_s() - t0;
	} while (t < secs);
	printf("coalesce %zu segments -> 1 TUN write:      %8.2f Gbit/s  %8.0f k segments/s\n",
	       nseg, (double)n * (len - CN_VNET_HDR_LEN) * 8 / t / 1e9,
	       (double)n * (double)nseg / t / 1e3);
}

struct pair {
	int tx, rx;
	struct sockaddr_in to;
	struct cn_udpbatch btx, brx;
	struct cn_udpbatch_caps ctx, crx;
};

static void pair_open(struct pair *p, bool gro)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t l = sizeof(p->to);

	memset(p, 0, sizeof(*p));
	p->tx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	p->rx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (p->tx < 0 || p->rx < 0 || bind(p->rx, (struct sockaddr *)&a, sizeof(a)) ||
	    getsockname(p->rx, (struct sockaddr *)&p->to, &l) ||
	    cn_udpbatch_setup(p->tx, 8 << 20, false, &p->ctx) ||
	    cn_udpbatch_setup(p->rx, 8 << 20, gro, &p->crx)) {
		perror("socket setup");
		exit(1);
	}
	cn_udpbatch_init(&p->btx, &p->ctx);
	cn_udpbatch_init(&p->brx, &p->crx);
}

/* mode 0: sendto each; 1: sendmmsg; 2: sendmmsg + GSO (GRO receive). Returns datagrams/s. */
static double bench_udp(int mode, unsigned long *lost)
{
	static uint8_t pl[BATCH][DGRAM], rbuf[NBUF][CN_UDPBATCH_GRO_BUF];
	static struct cn_udpbatch_rx rx[NBUF * CN_UDPBATCH_GRO_SEGS];
	uint8_t *rptr[NBUF];
	struct cn_udpbatch_msg m[BATCH];
	struct pair p;
	unsigned long sent_total = 0, recv_total = 0;
	double t0, t;
	size_t sent, got;

	pair_open(&p, mode == 2);
	cn_udpbatch_set_gso(&p.btx, mode == 2);
	for (int i = 0; i < NBUF; i++)
		rptr[i] = rbuf[i];
	for (int i = 0; i < BATCH; i++) {
		memset(pl[i], i, DGRAM);
		m[i] = (struct cn_udpbatch_msg){pl[i], DGRAM, (const struct sockaddr *)&p.to,
						sizeof(p.to)};
	}
	t0 = now_s();
	do {
		if (mode == 0) {
			for (int i = 0; i < BATCH; i++)
				if (sendto(p.tx, pl[i], DGRAM, 0, (struct sockaddr *)&p.to,
					   sizeof(p.to)) == DGRAM)
					sent_total++;
		} else {
			sent = 0;
			cn_udpbatch_send(&p.btx, p.tx, m, BATCH, &sent);
			sent_total += sent;
		}
		/* Drain what arrived (same thread: a figure is send plus receive). */
		do {
			got = 0;
			if (cn_udpbatch_recv(&p.brx, p.rx, rptr, CN_UDPBATCH_GRO_BUF, NBUF, rx,
					     NBUF * CN_UDPBATCH_GRO_SEGS, &got))
				break;
			recv_total += got;
		} while (got > 0);
		t = now_s() - t0;
	} while (t < secs);
	*lost = sent_total - recv_total;
	close(p.tx);
	close(p.rx);
	return (double)recv_total / t;
}

int main(int argc, char **argv)
{
	static const char *const names[3] = {"sendto per datagram", "sendmmsg (GSO off)",
					     "sendmmsg + UDP GSO/GRO"};
	double rate[3];
	unsigned long lost;

	if (argc == 3 && strcmp(argv[1], "--seconds") == 0) {
		secs = atof(argv[2]);
	} else if (argc != 1) {
		fprintf(stderr, "usage: bench_offload [--seconds S]\n");
		return 2;
	}
	if (secs <= 0 || secs > 10)
		secs = 0.5;
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("bench_offload: one thread, %.2f s per figure (figures only, never pass/fail)\n",
	       secs);
	bench_csum();
	bench_offload();
	for (int mode = 0; mode < 3; mode++) {
		rate[mode] = bench_udp(mode, &lost);
		printf("UDP loopback %d B, %-24s %8.0f k datagrams/s  %6.2f Gbit/s  "
		       "(lost %lu)\n",
		       DGRAM, names[mode], rate[mode] / 1e3, rate[mode] * DGRAM * 8 / 1e9, lost);
	}
	printf("ratios vs sendto: sendmmsg %.2fx, GSO/GRO %.2fx\n", rate[1] / rate[0],
	       rate[2] / rate[0]);
	return 0;
}
