/* SPDX-License-Identifier: MIT */
/*
 * Test helper for tests/lab/test_dns_bind.sh, run as root inside a network
 * namespace: opens a TUN (cn_tun_open), gives it 10.99.0.1/24
 * (cn_netlink_configure) and serves DNS (node/dns_io.h, an empty zone
 * "lab.cairn", no upstream) on 10.99.0.1:53, bound to the TUN
 * (cn_dns_server_listen_on with the TUN's name, as the node must call it)
 * or not ("unbound", the old behaviour). Prints "ready", then after 300 ms
 * writes one DNS query into the TUN as a peer's packet from 10.99.0.5
 * would arrive, and prints "tun-answer" when the answer comes back out of
 * the TUN. Exits after SECONDS.
 *   usage: dns_bind_probe bound|unbound SECONDS
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/addr.h"
#include "common/err.h"
#include "common/log.h"
#include "node/dns.h"
#include "node/dns_io.h"
#include "node/ippkt.h"
#include "node/netlink.h"
#include "node/tun.h"

static int tun_fd = -1;
static bool answered;

static bool no_host(void *ctx, const char *name, struct cn_dns_host *out)
{
	(void)ctx;
	(void)name;
	(void)out;
	return false;
}

static bool no_ip4(void *ctx, const uint8_t ip4[4], struct cn_dns_host *out)
{
	(void)ctx;
	(void)ip4;
	(void)out;
	return false;
}

static bool no_ip6(void *ctx, const uint8_t ip6[16], struct cn_dns_host *out)
{
	(void)ctx;
	(void)ip6;
	(void)out;
	return false;
}

static bool no_group(void *ctx, const char *group, size_t *cursor, struct cn_dns_host *out)
{
	(void)ctx;
	(void)group;
	(void)cursor;
	(void)out;
	return false;
}

/* An IPv4/UDP packet 10.99.0.5:5300 -> 10.99.0.1:53 asking "x.lab.cairn" A. */
static size_t query_packet(uint8_t *b)
{
	static const uint8_t q[] = {0x12, 0x34, 0x01, 0x00, 0, 1,   0,	 0,   0, 0,
				    0,	  0,	1,    'x',  3, 'l', 'a', 'b', 5, 'c',
				    'a',  'i',	'r',  'n',  0, 0,   1,	 0,   1};
	size_t udp_len = 8 + sizeof(q), tot = 20 + udp_len;
	uint32_t sum = 0;

	memset(b, 0, 28);
	b[0] = 0x45;
	b[2] = (uint8_t)(tot >> 8);
	b[3] = (uint8_t)tot;
	b[8] = 64;
	b[9] = IPPROTO_UDP;
	inet_pton(AF_INET, "10.99.0.5", b + 12);
	inet_pton(AF_INET, "10.99.0.1", b + 16);
	for (int i = 0; i < 20; i += 2)
		sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	{
		uint16_t c = cn_ip_csum_fold(sum);

		b[10] = (uint8_t)(c >> 8);
		b[11] = (uint8_t)c;
	}
	b[20] = 5300 >> 8;
	b[21] = 5300 & 0xff;
	b[23] = 53;
	b[24] = (uint8_t)(udp_len >> 8);
	b[25] = (uint8_t)udp_len;
	/* UDP checksum 0: none, allowed for IPv4. */
	memcpy(b + 28, q, sizeof(q));
	return tot;
}

static void inject_cb(evutil_socket_t fd, short what, void *arg)
{
	uint8_t pkt[128];
	size_t n = query_packet(pkt);

	(void)fd;
	(void)what;
	(void)arg;
	if (write(tun_fd, pkt, n) != (ssize_t)n)
		fprintf(stderr, "probe: TUN write: %s\n", strerror(errno));
}

static void tun_cb(evutil_socket_t fd, short what, void *arg)
{
	uint8_t b[2048];
	ssize_t n;

	(void)what;
	(void)arg;
	while ((n = read(fd, b, sizeof(b))) > 0) {
		/* UDP from 10.99.0.1:53 to 10.99.0.5:5300 with our ID. */
		if (n >= 30 && (b[0] >> 4) == 4 && b[9] == IPPROTO_UDP && b[20] == 0 &&
		    b[21] == 53 && b[28] == 0x12 && b[29] == 0x34 && !answered) {
			answered = true;
			printf("tun-answer\n");
			fflush(stdout);
		}
	}
}

int main(int argc, char **argv)
{
	struct cn_dns_zone zone = {
		.domain = "lab.cairn",
		.self = "a",
		.serial = 1,
		.prefix4 = {10, 99, 0, 0},
		.prefix4_len = 24,
		.by_name = no_host,
		.by_ip4 = no_ip4,
		.by_ip6 = no_ip6,
		.group_next = no_group,
	};
	static const uint8_t ip4[4] = {10, 99, 0, 1};
	char name[CN_TUN_NAME_MAX];
	struct cn_errbuf e = {{0}};
	struct event_base *base;
	struct cn_dns_server *dns;
	struct event *ev_tun, *ev_inject;
	struct timeval inject = {0, 300000}, end;
	struct cn_addr a;
	bool bound;

	if (argc != 3 || (strcmp(argv[1], "bound") && strcmp(argv[1], "unbound"))) {
		fprintf(stderr, "usage: dns_bind_probe bound|unbound SECONDS\n");
		return 2;
	}
	bound = !strcmp(argv[1], "bound");
	end.tv_sec = atoi(argv[2]);
	end.tv_usec = 0;
	cn_log_set_level(CN_LOG_WARN);
	if (cn_tun_open("cnbind0", name, &tun_fd, &e) ||
	    cn_netlink_configure(name, 1400, ip4, 24, NULL, 0, &e)) {
		fprintf(stderr, "probe: %s\n", e.msg);
		return 1;
	}
	if (cn_addr_parse("10.99.0.1:53", &a) != 0)
		return 1;
	base = event_base_new();
	dns = base ? cn_dns_server_new(base, &zone, NULL) : NULL;
	if (!dns || cn_dns_server_listen_on(dns, &a, bound ? name : NULL, &e)) {
		fprintf(stderr, "probe: %s\n", e.msg);
		return 1;
	}
	ev_tun = event_new(base, tun_fd, EV_READ | EV_PERSIST, tun_cb, NULL);
	ev_inject = evtimer_new(base, inject_cb, NULL);
	if (!ev_tun || !ev_inject || event_add(ev_tun, NULL) || event_add(ev_inject, &inject))
		return 1;
	printf("ready %s\n", name);
	fflush(stdout);
	event_base_loopexit(base, &end);
	event_base_dispatch(base);
	event_free(ev_tun);
	event_free(ev_inject);
	cn_dns_server_free(dns);
	event_base_free(base);
	close(tun_fd);
	return 0;
}
