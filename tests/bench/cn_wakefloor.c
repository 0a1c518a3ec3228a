/* SPDX-License-Identifier: MIT */
/*
 * The wake-up floor for tests/bench/run_node_bench.sh: what this machine
 * charges for handing one datagram from one sleeping process to another
 * and back, with no overlay at all. Two processes on loopback (a client
 * and an echoer it forks) pass a 1-byte UDP datagram there and back,
 * COUNT times, GAP_US apart: each round trip is two wake-ups, the echoer's
 * and the client's. A ping over a userspace overlay makes four (the
 * board's daemon, the cloud's, the board's again, then ping) where the
 * raw path makes none, so twice this round trip is the least any pair of
 * daemons can add to a ping at that cadence on this machine.
 *
 *   cn_wakefloor COUNT GAP_US [CPU]
 *
 * CPU: pin both processes to it (one CPU: no wake-up crosses CPUs).
 * Output, one line: count=N lost=N avg_us=X median_us=X min_us=X max_us=X.
 * A benchmark tool, never a test: it prints figures. Every receive waits
 * at most 1 s (a lost datagram counts and the round is skipped), so a run
 * ends within COUNT * (GAP_US + 1 s).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/dec.h"

enum { COUNT_MAX = 100000, WAIT_MS = 1000 };

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* An argument: decimal digits only (common/dec.h), lo..hi. */
static bool parse_num(const char *s, long lo, long hi, long *out)
{
	uint64_t v;

	if (!cn_dec_parse(s, strlen(s), 9, (uint64_t)hi, CN_DEC_ANY, &v) || v < (uint64_t)lo)
		return false;
	*out = (long)v;
	return true;
}

static int bound_socket(struct sockaddr_in *a)
{
	socklen_t len = sizeof(*a);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a->sin_port = 0;
	if (fd < 0 || bind(fd, (struct sockaddr *)a, sizeof(*a)) != 0 ||
	    getsockname(fd, (struct sockaddr *)a, &len) != 0) {
		perror("cn_wakefloor: socket");
		exit(1);
	}
	return fd;
}

/* One datagram within WAIT_MS (the wait sleeps in poll, as a daemon does). */
static bool recv_one(int fd, struct sockaddr_in *from)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	socklen_t len = sizeof(*from);
	uint8_t b[16];

	return poll(&p, 1, WAIT_MS) == 1 &&
	       recvfrom(fd, b, sizeof(b), 0, (struct sockaddr *)from, &len) == 1;
}

static void pin(long cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET((int)cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) != 0) {
		perror("cn_wakefloor: sched_setaffinity");
		exit(1);
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_in ca, ea, from;
	long count, gap_us, cpu = -1, lost = 0;
	uint64_t *rt, sum = 0;
	int cfd, efd, status;
	size_t n = 0;
	pid_t echo;

	if ((argc != 3 && argc != 4) || !parse_num(argv[1], 1, COUNT_MAX, &count) ||
	    !parse_num(argv[2], 0, 500000, &gap_us) ||
	    (argc == 4 && !parse_num(argv[3], 0, CPU_SETSIZE - 1, &cpu))) {
		fprintf(stderr, "usage: cn_wakefloor COUNT(1..%d) GAP_US(0..500000) [CPU]\n",
			COUNT_MAX);
		return 2;
	}
	rt = calloc((size_t)count, sizeof(*rt));
	if (!rt)
		return 1;
	cfd = bound_socket(&ca);
	efd = bound_socket(&ea);
	pin(cpu);
	echo = fork();
	if (echo < 0) {
		perror("cn_wakefloor: fork");
		return 1;
	}
	if (echo == 0) {
		/* The echoer: answers each datagram; ends when the client goes quiet. */
		close(cfd);
		while (recv_one(efd, &from))
			(void)sendto(efd, "e", 1, 0, (struct sockaddr *)&from, sizeof(from));
		_exit(0);
	}
	close(efd);
	for (long i = 0; i < count; i++) {
		uint64_t t0;

		if (gap_us)
			usleep((useconds_t)gap_us);
		t0 = now_ns();
		if (sendto(cfd, "c", 1, 0, (struct sockaddr *)&ea, sizeof(ea)) != 1 ||
		    !recv_one(cfd, &from)) {
			lost++;
			continue;
		}
		rt[n] = now_ns() - t0;
		sum += rt[n++];
	}
	kill(echo, SIGTERM);
	waitpid(echo, &status, 0);
	if (!n) {
		printf("count=%ld lost=%ld\n", count, lost);
		return 1;
	}
	qsort(rt, n, sizeof(*rt), cmp_u64);
	printf("count=%ld lost=%ld avg_us=%.1f median_us=%.1f min_us=%.1f max_us=%.1f\n", count,
	       lost, (double)sum / (double)n / 1000.0, (double)rt[n / 2] / 1000.0,
	       (double)rt[0] / 1000.0, (double)rt[n - 1] / 1000.0);
	free(rt);
	return 0;
}
