/* SPDX-License-Identifier: MIT */
/*
 * Handshake flood for tests/bench/run_flood_bench.sh: sends, at a bounded
 * rate for a bounded time, UDP datagrams to one or more targets from many
 * source addresses: valid-mac1 initiations from strangers' keys (each costs
 * the target two X25519 before Noise refuses the unknown key) mixed with
 * garbage (random bytes, and initiation-sized messages with a wrong mac1).
 * Counts what comes back to the sources. A benchmark tool, never a test:
 * it prints figures.
 *
 *   cn_flood --pubkey KEY --network NAME --src-base IP --src-count N
 *            --rate PPS --seconds S [--garbage PERCENT] TARGET:PORT...
 *
 * KEY: the target's Ed25519 public key (text, as in the peer list). The
 * sources must be addresses of this host (the script adds them); 256
 * different initiations are made up front (making one costs the flooder
 * two X25519 as well) and sent round robin with fresh sender indexes.
 * Output, one line: key=value pairs (sent, sent_bytes, init, garbage,
 * recv, recv_bytes, seconds).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "common/addr.h"
#include "crypto/handshake.h"
#include "crypto/keys.h"

enum {
	MSGS = 256,
	MAX_SRC = 1024,
	MAX_TARGETS = 16,
	MAX_SECONDS = 600,
	MAX_RATE = 200000,
};

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void usage(void)
{
	fputs("usage: cn_flood --pubkey KEY --network NAME --src-base IP --src-count N\n"
	      "                --rate PPS --seconds S [--garbage PERCENT] TARGET:PORT...\n",
	      stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"pubkey", required_argument, NULL, 'k'},
		{"network", required_argument, NULL, 'n'},
		{"src-base", required_argument, NULL, 'b'},
		{"src-count", required_argument, NULL, 'c'},
		{"rate", required_argument, NULL, 'r'},
		{"seconds", required_argument, NULL, 's'},
		{"garbage", required_argument, NULL, 'g'},
		{NULL, 0, NULL, 0},
	};
	static uint8_t msgs[MSGS][CN_HANDSHAKE_INITIATION_LEN];
	const char *pubkey = NULL, *network = NULL, *src_base = NULL;
	long nsrc = 0, rate = 0, seconds = 0, garbage = 0;
	struct cn_addr targets[MAX_TARGETS];
	int fds[MAX_SRC], ntargets = 0, c;
	uint8_t ed[CN_KEY_LEN], x[CN_KEY_LEN], buf[2048];
	struct in_addr base;
	uint64_t sent = 0, sent_bytes = 0, inits = 0, junk = 0, recvd = 0, recv_bytes = 0;
	uint64_t t0, end, next;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			pubkey = optarg;
			break;
		case 'n':
			network = optarg;
			break;
		case 'b':
			src_base = optarg;
			break;
		case 'c':
			nsrc = strtol(optarg, NULL, 10);
			break;
		case 'r':
			rate = strtol(optarg, NULL, 10);
			break;
		case 's':
			seconds = strtol(optarg, NULL, 10);
			break;
		case 'g':
			garbage = strtol(optarg, NULL, 10);
			break;
		default:
			usage();
		}
	}
	if (!pubkey || !network || !src_base || nsrc < 1 || nsrc > MAX_SRC || rate < 1 ||
	    rate > MAX_RATE || seconds < 1 || seconds > MAX_SECONDS || garbage < 0 ||
	    garbage > 100 || optind >= argc || inet_pton(AF_INET, src_base, &base) != 1)
		usage();
	for (; optind < argc && ntargets < MAX_TARGETS; optind++)
		if (cn_addr_parse(argv[optind], &targets[ntargets++]) != 0)
			usage();
	if (sodium_init() < 0 || cn_key_from_text(pubkey, strlen(pubkey), ed) ||
	    cn_key_ed_to_x(ed, x)) {
		fprintf(stderr, "cn_flood: bad key\n");
		return 2;
	}
	/* Strangers' initiations: valid Noise and mac1, keys the target does not know. */
	for (int i = 0; i < MSGS; i++) {
		struct cn_identity *id = NULL;
		struct cn_handshake_local local;
		struct cn_handshake hs;
		uint8_t ts[CN_TAI64N_LEN];

		if (cn_identity_generate(&id) || cn_handshake_local_init(&local, id, network)) {
			fprintf(stderr, "cn_flood: key generation failed\n");
			return 1;
		}
		cn_handshake_tai64n(ts, (uint64_t)time(NULL), (uint32_t)i << 24);
		if (cn_handshake_create_initiation(&hs, &local, x, randombytes_random(), ts, NULL,
						   msgs[i])) {
			fprintf(stderr, "cn_flood: initiation failed\n");
			return 1;
		}
		cn_handshake_wipe(&hs);
		cn_identity_free(id);
	}
	for (long i = 0; i < nsrc; i++) {
		struct sockaddr_in s = {.sin_family = AF_INET};

		s.sin_addr.s_addr = htonl(ntohl(base.s_addr) + (uint32_t)i);
		fds[i] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		if (fds[i] < 0 || bind(fds[i], (struct sockaddr *)&s, sizeof(s)) != 0) {
			fprintf(stderr, "cn_flood: source %ld: %s\n", i, strerror(errno));
			return 1;
		}
	}
	t0 = now_ns();
	end = t0 + (uint64_t)seconds * 1000000000u;
	next = t0;
	while (now_ns() < end) {
		uint64_t gap = 1000000000u / (uint64_t)rate;

		/* Send what is due (at most 64 at once), then collect answers. */
		for (int k = 0; k < 64 && now_ns() >= next; k++, next += gap) {
			int fd = fds[sent % (uint64_t)nsrc];
			const struct cn_addr *t = &targets[sent % (uint64_t)ntargets];
			size_t len;

			if ((long)randombytes_uniform(100) < garbage) {
				len = CN_HANDSHAKE_INITIATION_LEN;
				randombytes_buf(buf, len);
				if (randombytes_uniform(2)) {
					/* initiation-shaped, wrong mac1: one hash to refuse */
					buf[0] = CN_MSG_INITIATION;
					buf[1] = buf[2] = buf[3] = 0;
				} else {
					len = 1 + randombytes_uniform(200);
				}
				junk++;
			} else {
				memcpy(buf, msgs[sent % MSGS], CN_HANDSHAKE_INITIATION_LEN);
				/* A fresh sender_index; mac1 recomputed over it. */
				randombytes_buf(buf + 4, 4);
				cn_handshake_mac1(
					x, buf, CN_HANDSHAKE_INITIATION_LEN - CN_HANDSHAKE_MAC_LEN,
					buf + CN_HANDSHAKE_INITIATION_LEN - CN_HANDSHAKE_MAC_LEN);
				len = CN_HANDSHAKE_INITIATION_LEN;
				inits++;
			}
			if (sendto(fd, buf, len, 0, (const struct sockaddr *)&t->ss, t->len) ==
			    (ssize_t)len)
				sent_bytes += len;
			sent++;
		}
		for (long i = 0; i < nsrc; i++) {
			ssize_t r;

			while ((r = recv(fds[i], buf, sizeof(buf), 0)) > 0) {
				recvd++;
				recv_bytes += (uint64_t)r;
			}
		}
		if (now_ns() < next) {
			uint64_t wait = next - now_ns();

			if (wait > 1000000)
				wait = 1000000;
			usleep((useconds_t)(wait / 1000));
		}
	}
	/* Late answers. */
	usleep(300000);
	for (long i = 0; i < nsrc; i++) {
		ssize_t r;

		while ((r = recv(fds[i], buf, sizeof(buf), 0)) > 0) {
			recvd++;
			recv_bytes += (uint64_t)r;
		}
		close(fds[i]);
	}
	printf("sent=%llu sent_bytes=%llu init=%llu garbage=%llu recv=%llu recv_bytes=%llu "
	       "seconds=%.2f\n",
	       (unsigned long long)sent, (unsigned long long)sent_bytes, (unsigned long long)inits,
	       (unsigned long long)junk, (unsigned long long)recvd, (unsigned long long)recv_bytes,
	       (double)(now_ns() - t0) / 1e9);
	return 0;
}
