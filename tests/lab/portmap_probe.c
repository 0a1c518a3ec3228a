/* SPDX-License-Identifier: MIT */
/*
 * Test helper for tests/lab/test_portmap.sh, run on a host behind the
 * lab's "upnp" router (a real miniupnpd): maps one UDP port with
 * nat/portmap using only the protocol named on the command line, and
 * listens on that port so the script can send to the mapping from outside.
 *
 *   portmap_probe pcp|natpmp|upnp PORT DIR
 *
 * Prints (stdout, one line each, flushed):
 *   mapped PROTO IP:PORT    when the gateway granted the mapping
 *   recv TEXT               for every datagram the port receives
 *   deleted                 after cn_portmap_free (the file DIR/release appeared)
 * and exits when DIR/exit appears, or after 60 s whatever happens. Exit 1
 * with "FAIL: ..." when the mapping is lost or reported for another
 * protocol.
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/log.h"
#include "nat/portmap.h"

enum { MAX_SECONDS = 60 };

struct probe {
	struct event_base *base;
	struct cn_portmap *pm;
	enum cn_portmap_proto want;
	const char *name;
	const char *dir;
	int fd, rc;
	bool deleted;
};

static bool exists(const char *dir, const char *name)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return access(p, F_OK) == 0;
}

static void on_map(void *arg, const struct cn_portmap_event *ev)
{
	struct probe *p = arg;
	char ip[INET_ADDRSTRLEN];

	if (ev->lost || ev->proto != p->want) {
		printf("FAIL: mapping %s (protocol %d)\n",
		       ev->lost ? "lost" : "by another protocol", ev->proto);
		p->rc = 1;
		event_base_loopexit(p->base, NULL);
		return;
	}
	inet_ntop(AF_INET, &ev->external.sin_addr, ip, sizeof(ip));
	printf("mapped %s %s:%u\n", p->name, ip, ntohs(ev->external.sin_port));
	fflush(stdout);
}

static void on_recv(evutil_socket_t fd, short what, void *arg)
{
	char buf[256];
	ssize_t n;

	(void)what;
	(void)arg;
	while ((n = recv(fd, buf, sizeof(buf) - 1, 0)) > 0) {
		buf[n] = '\0';
		buf[strcspn(buf, "\r\n")] = '\0';
		printf("recv %s\n", buf);
		fflush(stdout);
	}
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct probe *p = arg;

	(void)fd;
	(void)what;
	if (!p->deleted && exists(p->dir, "release")) {
		cn_portmap_free(p->pm);
		p->pm = NULL;
		p->deleted = true;
		printf("deleted\n");
		fflush(stdout);
	}
	if (exists(p->dir, "exit"))
		event_base_loopexit(p->base, NULL);
}

int main(int argc, char **argv)
{
	struct probe p = {.fd = -1};
	struct cn_portmap_config cfg = {.lifetime_s = 600, .upnp_discover_ms = 1500};
	struct sockaddr_in sa = {.sin_family = AF_INET};
	struct timeval tick = {0, 100000}, limit = {MAX_SECONDS, 0};
	struct event *rd, *tk;

	if (argc != 4) {
		fprintf(stderr, "usage: portmap_probe pcp|natpmp|upnp PORT DIR\n");
		return 2;
	}
	if (strcmp(argv[1], "pcp") == 0) {
		p.want = CN_PORTMAP_PCP;
		cfg.protocols = CN_PORTMAP_USE_PCP;
	} else if (strcmp(argv[1], "natpmp") == 0) {
		p.want = CN_PORTMAP_NATPMP;
		cfg.protocols = CN_PORTMAP_USE_NATPMP;
	} else if (strcmp(argv[1], "upnp") == 0) {
		p.want = CN_PORTMAP_UPNP;
		cfg.protocols = CN_PORTMAP_USE_UPNP;
	} else {
		fprintf(stderr, "unknown protocol %s\n", argv[1]);
		return 2;
	}
	p.name = argv[1];
	cfg.local_port = (uint16_t)atoi(argv[2]);
	p.dir = argv[3];
	cn_log_set_level(CN_LOG_DEBUG);
	p.base = event_base_new();
	p.fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	sa.sin_port = htons(cfg.local_port);
	if (!p.base || p.fd < 0 || bind(p.fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		printf("FAIL: cannot listen on UDP port %u\n", cfg.local_port);
		return 1;
	}
	rd = event_new(p.base, p.fd, EV_READ | EV_PERSIST, on_recv, &p);
	tk = event_new(p.base, -1, EV_PERSIST, on_tick, &p);
	event_add(rd, NULL);
	event_add(tk, &tick);
	p.pm = cn_portmap_new(p.base, &cfg, on_map, &p);
	if (!p.pm) {
		printf("FAIL: cn_portmap_new\n");
		return 1;
	}
	event_base_loopexit(p.base, &limit);
	event_base_dispatch(p.base);
	cn_portmap_free(p.pm);
	event_free(rd);
	event_free(tk);
	close(p.fd);
	event_base_free(p.base);
	return p.rc;
}
