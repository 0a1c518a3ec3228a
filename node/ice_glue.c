/* SPDX-License-Identifier: MIT */
/*
 * libnice agents for the engine (node_int.h, nat/ice.h, docs/ICE.md): the
 * engine decides when a peer's agent starts, stops, and what SDP it gets;
 * this file builds the agent's configuration (host addresses, the relay's
 * STUN service, TURN servers) and turns its callbacks into engine events.
 */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "common/err.h"
#include "nat/ice.h"
#include "node/node_int.h"

static struct cn_node *node_of(struct cn_peer *p)
{
	return ((struct node_peer_io *)p->io)->n;
}

static void ice_local_sdp(void *arg, const char *sdp)
{
	struct cn_peer *p = arg;

	cn_engine_ice_local_sdp(node_of(p)->eng, p, cn_clock_ms(), sdp);
}

static void ice_local_done(void *arg)
{
	struct cn_peer *p = arg;

	cn_engine_ice_local_done(node_of(p)->eng, p, cn_clock_ms());
}

static void ice_selected(void *arg, enum cn_ice_path path, int fd, const struct sockaddr *remote,
			 socklen_t remote_len, const char *local_type, const char *remote_type)
{
	struct cn_peer *p = arg;
	struct cn_node *n = node_of(p);
	struct sockaddr_storage local;
	socklen_t llen = sizeof(local);
	struct cn_addr ra;
	char type[32];

	if (path == CN_ICE_TURN) {
		cn_engine_ice_turn(n->eng, p, cn_clock_ms());
		return;
	}
	if (cn_addr_set(&ra, remote, remote_len) != 0)
		return;
	snprintf(type, sizeof(type), "%s-%s", local_type, remote_type);
	if (node_direct_adopt(n, p, fd) != 0)
		return;
	if (getsockname(fd, (struct sockaddr *)&local, &llen) != 0)
		memset(&local, 0, sizeof(local));
	cn_engine_ice_direct(n->eng, p, cn_clock_ms(), &ra,
			     (uint16_t)cn_addr_port((const struct sockaddr *)&local), type);
}

static void ice_failed(void *arg, const char *why)
{
	struct cn_peer *p = arg;

	cn_engine_ice_failed(node_of(p)->eng, p, cn_clock_ms(), why);
}

static void ice_recv(void *arg, const uint8_t *buf, size_t len)
{
	struct cn_peer *p = arg;
	struct cn_node *n = node_of(p);

	if (len > sizeof(n->buf))
		return;
	memcpy(n->buf, buf, len);
	cn_engine_receive(n->eng, cn_clock_ms(), p, CN_CTL_PATH_TURN, -1, n->buf, len, NULL);
}

/* Interface addresses for host candidates: not loopback, not the overlay. */
static unsigned int local_addrs(struct cn_node *n, char addrs[][64], unsigned int max)
{
	struct ifaddrs *ifa = NULL;
	unsigned int count = 0;

	if (n->cfg.nice_ifaddrs) {
		for (unsigned int i = 0; i < n->cfg.nice_ifaddrs && i < max; i++)
			snprintf(addrs[count++], 64, "%s", n->cfg.ice_ifaddrs[i]);
		return count;
	}
	if (getifaddrs(&ifa) != 0)
		return 0;
	for (struct ifaddrs *i = ifa; i && count < max; i = i->ifa_next) {
		if (!i->ifa_addr || !(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK) ||
		    strcmp(i->ifa_name, n->tun_name) == 0)
			continue;
		if (i->ifa_addr->sa_family == AF_INET) {
			inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr,
				  addrs[count++], 64);
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			const struct in6_addr *a = &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;

			if (IN6_IS_ADDR_LINKLOCAL(a))
				continue;
			inet_ntop(AF_INET6, a, addrs[count++], 64);
		}
	}
	freeifaddrs(ifa);
	return count;
}

int node_ice_start(void *ctx, struct cn_peer *p, bool controlling)
{
	struct cn_node *n = ctx;
	struct node_peer_io *io = node_peer_io(n, p);
	struct cn_ice_config ic = {0};
	static const struct cn_ice_cbs cbs = {ice_local_sdp, ice_local_done, ice_selected,
					      ice_failed, ice_recv};
	char addrs[CN_NODE_MAX_IFADDRS][64];
	const char *addr_ptrs[CN_NODE_MAX_IFADDRS];
	struct cn_errbuf e = {{0}};
	struct node_relay *r = node_relay_first_up(n);

	if (!io || !n->glib)
		return -CN_ESTATE;
	node_ice_stop(n, p);
	if (r && r->have_addr && r->stun_port) {
		/* The relay's STUN service gives the server-reflexive candidate. */
		char a[CN_ADDR_TEXT_MAX];

		cn_addr_format((const struct sockaddr *)&r->addr.ss, a);
		if (r->addr.ss.ss_family == AF_INET6) {
			snprintf(ic.stun.host, sizeof(ic.stun.host), "%s", a + 1);
			*strrchr(ic.stun.host, ']') = '\0';
		} else {
			snprintf(ic.stun.host, sizeof(ic.stun.host), "%s", a);
			*strrchr(ic.stun.host, ':') = '\0';
		}
		ic.stun.port = r->stun_port;
	}
	for (unsigned int i = 0; i < n->cfg.nturn && i < 2; i++) {
		snprintf(ic.turn[i].host, sizeof(ic.turn[i].host), "%s", n->cfg.turn[i].host);
		ic.turn[i].port = n->cfg.turn[i].port;
		snprintf(ic.turn[i].user, sizeof(ic.turn[i].user), "%s", n->cfg.turn[i].username);
		snprintf(ic.turn[i].pass, sizeof(ic.turn[i].pass), "%s", n->cfg.turn[i].password);
		ic.nturn++;
	}
	ic.nlocal_addrs = local_addrs(n, addrs, CN_NODE_MAX_IFADDRS);
	for (unsigned int i = 0; i < ic.nlocal_addrs; i++)
		addr_ptrs[i] = addrs[i];
	ic.local_addrs = addr_ptrs;
	io->ice = cn_ice_new(n->glib, &ic, controlling, &cbs, p, &e);
	if (!io->ice) {
		cn_log_warn("peer %s: cannot start ICE: %s", p->name, e.msg);
		return -CN_EIO;
	}
	return 0;
}

void node_ice_stop(void *ctx, struct cn_peer *p)
{
	struct node_peer_io *io = p->io;

	(void)ctx;
	if (io && io->ice) {
		cn_ice_free(io->ice);
		io->ice = NULL;
	}
}

int node_ice_remote_sdp(void *ctx, struct cn_peer *p, const char *sdp)
{
	struct node_peer_io *io = p->io;

	(void)ctx;
	return io && io->ice ? cn_ice_set_remote_sdp(io->ice, sdp) : -CN_ESTATE;
}

void node_ice_remote_done(void *ctx, struct cn_peer *p)
{
	struct node_peer_io *io = p->io;

	(void)ctx;
	if (io && io->ice)
		cn_ice_set_remote_done(io->ice);
}

int node_ice_send(void *ctx, struct cn_peer *p, const uint8_t *msg, size_t len)
{
	struct node_peer_io *io = p->io;

	(void)ctx;
	return io && io->ice ? cn_ice_send(io->ice, msg, len) : -CN_ESTATE;
}
